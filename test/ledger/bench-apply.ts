// Apply-rate benchmark of the ledger service (not a test; prints numbers).
//
// 10,000 accounts, then batches of 8189 simple posted transfers between
// pseudo-random account pairs until transfers_max is used up. The timed part
// is the kernel's work per batch: copy the request into the inbox, call
// qx_handle (validate + apply + write results), take the reply. Encoding the
// batches happens before timing.
//
//   node --import tsx test/ledger/bench-apply.ts [transfers_max]
//
// Comparing builds (say, a change against the build before it):
//
//   node --import tsx test/ledger/bench-apply.ts --compare before.wasm after.wasm [more.wasm...]
//
// boots one ledger per build and hands each batch to every one of them in
// turn (the order alternating), so that whatever else runs on the machine
// slows all builds alike; it prints each build's rate per wall second and per
// CPU second of this process (user + system, which other processes on the
// machine's cores do not stretch), and each build's rate relative to the first.

import { readFileSync } from 'node:fs';
import { Ledger } from './harness.ts';
import { account, encodeAccounts, decodeCreateResults, HEADER_BYTES, RECORD_BYTES, Operation } from '../../host/client/ledger.ts';

const ACCOUNTS = Number(process.env.ACCOUNTS ?? 10_000);
const BATCH = 8189;
const compare = process.argv[2] === '--compare' ? process.argv.slice(3) : [];
const transfersMax = compare.length > 0 ? 2_000_000 : Number(process.argv[2] ?? 2_000_000);
const batches = Math.floor(transfersMax / BATCH);

function boot(wasm?: WebAssembly.Module): Ledger {
  const ledger = new Ledger({ accounts_max: ACCOUNTS, transfers_max: transfersMax, pending_max: 1, history_max: 1 }, wasm);
  for (let start = 0; start < ACCOUNTS; start += BATCH) {
    const count = Math.min(BATCH, ACCOUNTS - start);
    const accounts = Array.from({ length: count }, (_, i) => account({ id: BigInt(start + i + 1) }));
    const results = decodeCreateResults(ledger.send(encodeAccounts(accounts)).bytes);
    if (results.some((r) => r.result !== 0)) throw new Error('account creation failed');
  }
  return ledger;
}

// xorshift32: reproducible account pairs.
let seed = 0x9e3779b9;
function next(): number {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed;
}

function encodeBatch(batchIndex: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + BATCH * RECORD_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, Operation.create_transfers);
  view.setUint32(4, BATCH, true);
  for (let i = 0; i < BATCH; i++) {
    const at = HEADER_BYTES + i * RECORD_BYTES;
    const debit = (next() % ACCOUNTS) + 1;
    let credit = (next() % ACCOUNTS) + 1;
    if (credit === debit) credit = (credit % ACCOUNTS) + 1;
    // A time-ordered id: high 64 bits batch, low 64 bits index (ids like TigerBeetle's ULIDs).
    view.setUint32(at + 0, i + 1, true);
    view.setUint32(at + 8, batchIndex + 1, true);
    view.setUint32(at + 16, debit, true);
    view.setUint32(at + 32, credit, true);
    view.setUint32(at + 48, 1 + (i % 1000), true);
    view.setUint32(at + 112, 1, true); // ledger
    view.setUint16(at + 116, 1, true); // code
  }
  return bytes;
}

/** Sends one batch; returns [wall ns of qx_handle, CPU µs of the send]. Throws unless every transfer was created. */
function sendBatch(ledger: Ledger, request: Uint8Array): [number, number] {
  const cpuBefore = process.cpuUsage();
  const reply = ledger.send(request);
  const cpu = process.cpuUsage(cpuBefore);
  const view = new DataView(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength);
  for (let i = 0; i < BATCH; i++) if (view.getUint32(i * 16, true) !== 0) throw new Error(`transfer ${i} was not created`);
  ledger.nowNs += 1_000_000n;
  return [ledger.lastHandleNs, cpu.user + cpu.system];
}

const rate = (transfers: number, seconds: number) => Math.round(transfers / seconds).toLocaleString('en-US');

if (compare.length > 0) {
  // The first batches of each build run while V8 tiers its code up: not counted.
  const WARMUP = 8;
  const ledgers = compare.map((path) => boot(new WebAssembly.Module(readFileSync(path))));
  const wallNs = compare.map(() => 0);
  const cpuUs = compare.map(() => 0);
  for (let b = 0; b < batches; b++) {
    const request = encodeBatch(b);
    const order = compare.map((_, i) => i);
    if (b % 2 === 1) order.reverse();
    for (const i of order) {
      const [ns, us] = sendBatch(ledgers[i], request);
      if (b >= WARMUP) { wallNs[i] += ns; cpuUs[i] += us; }
    }
  }
  const counted = (batches - WARMUP) * BATCH;
  console.log(`transfers: ${counted} per build, in batches of ${BATCH}, accounts: ${ACCOUNTS}, builds interleaved batch by batch`);
  compare.forEach((path, i) => {
    if (ledgers[i].checkInvariants() !== 0) throw new Error(`${path}: invariants broken`);
    console.log(`${path}: ${rate(counted, wallNs[i] / 1e9)} transfers/s (wall), ${rate(counted, cpuUs[i] / 1e6)} transfers/s (CPU), ` +
      `× ${(cpuUs[0] / cpuUs[i]).toFixed(2)} of the first (CPU)`);
  });
} else {
  const ledger = boot();
  const requests = Array.from({ length: batches }, (_, b) => encodeBatch(b));
  const started = process.hrtime.bigint();
  const perBatchNs: number[] = [];
  const handleNs: number[] = [];
  for (const request of requests) {
    const t0 = process.hrtime.bigint();
    sendBatch(ledger, request);
    perBatchNs.push(Number(process.hrtime.bigint() - t0));
    handleNs.push(ledger.lastHandleNs);
  }
  const elapsedNs = Number(process.hrtime.bigint() - started);
  perBatchNs.sort((a, b) => a - b);
  handleNs.sort((a, b) => a - b);
  const total = batches * BATCH;
  if (ledger.checkInvariants() !== 0) throw new Error('invariants broken');
  console.log(`transfers: ${total} in ${batches} batches of ${BATCH}, accounts: ${ACCOUNTS}`);
  console.log(`apply rate: ${rate(total, elapsedNs / 1e9)} transfers/s (including result checks)`);
  const median = perBatchNs[Math.floor(perBatchNs.length / 2)];
  console.log(`median batch: ${(median / 1e6).toFixed(2)} ms = ${rate(BATCH, median / 1e9)} transfers/s`);
  const handleMedian = handleNs[Math.floor(handleNs.length / 2)];
  console.log(`in-service (qx_handle only), median batch: ${(handleMedian / 1e6).toFixed(2)} ms = ${rate(BATCH, handleMedian / 1e9)} transfers/s, best: ${rate(BATCH, handleNs[0] / 1e9)} transfers/s`);
  console.log(`fastest batch: ${(perBatchNs[0] / 1e6).toFixed(2)} ms, slowest: ${(perBatchNs.at(-1)! / 1e6).toFixed(2)} ms`);
}
