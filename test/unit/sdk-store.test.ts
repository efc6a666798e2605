// test/unit/sdk-store.test.ts: the SDK's storage glue (services/sdk/store.ts)
// and the harness's grid (services/sdk/harness.ts, capability "storage"),
// through the test-only services kvstore (a lib/store tree on the grid) and
// gridprobe (the grid's raw calls, as test/integration/grid.test.ts drives
// them in a whole machine). Proves:
//   - a tree kept on the grid through storeDrain/storeAsk/storeOnBlock answers
//     random puts, flushes, gets and scans as a model does, with a cache so
//     small that its reads really go through the grid and the prefetch step;
//   - writes beyond one message's STORAGE_WRITES_PER_MESSAGE are drained over
//     several messages, FIFO, and misses beyond STORAGE_READS_PER_MESSAGE are
//     asked over several rounds;
//   - a corrupted block, or a read the device fails, is named in the reply,
//     never answered from, and a later read of the healed block succeeds;
//   - the harness keeps the kernel's rules: per-message limits, no read while
//     a block is delivered, zeros for blocks never written, STORAGE_E_RANGE
//     past the grid, E_DENIED without the capability;
//   - the state digest skips the exported block cache: a read that refilled a
//     forgotten cache leaves the digest as it was.
//
// Run: node --import tsx test/unit/sdk-store.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import * as abi from '../../hal/abi.ts';
import { prepareModule } from '../../host/fuel.ts';
import { ServiceHarness, type Reply } from '../../services/sdk/harness.ts';
import { buildTestService } from '../services/build.ts';

const KV_PAGES = 1024;
const kvPrepared = await prepareModule(new Uint8Array(readFileSync(buildTestService('kvstore'))), { memoryPagesMax: KV_PAGES });
const PROBE_WASM = buildTestService('gridprobe');
const VALUE = 64;
const RECORD = 8 + VALUE;

interface KvConfig { memtable: number; slots: number; tables: number; gridBlocks?: number; writes?: number }
async function kvstore(c: KvConfig, caps = ['storage']): Promise<ServiceHarness> {
  const svc = await ServiceHarness.load(kvPrepared, { caps, prepared: true, memoryPagesMax: KV_PAGES });
  const config = Buffer.alloc(20);
  config.writeUInt32LE(c.memtable, 0);
  config.writeUInt32LE(c.slots, 4);
  config.writeUInt32LE(c.tables, 8);
  config.writeUInt32LE(c.gridBlocks ?? 4096, 12);
  const recordsPerBlock = Math.floor((abi.GRID_BLOCK_BYTES - 64) / RECORD);
  config.writeUInt32LE(c.writes ?? Math.ceil(c.memtable / recordsPerBlock) + 2, 16);
  svc.init(config);
  return svc;
}

function call(svc: ServiceHarness, q: Buffer): Reply {
  const r = svc.request(q);
  assert.ok(r !== null, 'kvstore answers every request in the message that asked (or its delivery again)');
  return r!;
}
function okCall(svc: ServiceHarness, q: Buffer): Buffer {
  const r = call(svc, q);
  assert.is(r.status, 0, r.payload.toString());
  return r.payload;
}

function value(seed: number): Buffer {
  const v = Buffer.alloc(VALUE);
  for (let w = 0; w < VALUE / 4; w++) v.writeUInt32LE((Math.imul(seed, 0x9e3779b1) ^ Math.imul(w + 1, 0x85ebca6b)) >>> 0, w * 4);
  return v;
}
function manyValue(k: bigint, seed: number): Buffer {
  const v = Buffer.alloc(VALUE);
  for (let w = 0; w < VALUE / 4; w++) v.writeUInt32LE(((Math.imul(Number(k & 0xffffffffn), 0x9e3779b1) ^ seed ^ Math.imul(w, 0x85ebca6b)) >>> 0), w * 4);
  return v;
}
function put(svc: ServiceHarness, key: bigint, v: Buffer): Reply {
  const q = Buffer.alloc(16 + VALUE);
  q.writeUInt8(1, 0);
  q.writeBigUInt64LE(key, 8);
  v.copy(q, 16);
  return call(svc, q);
}
function flush(svc: ServiceHarness, hold = false): { result: number; queued: number } {
  const p = okCall(svc, Buffer.from([2, hold ? 1 : 0]));
  return { result: p.readInt32LE(0), queued: p.readUInt32LE(4) };
}
function getReq(key: bigint): Buffer {
  const q = Buffer.alloc(16);
  q.writeUInt8(3, 0);
  q.writeBigUInt64LE(key, 8);
  return q;
}
function get(svc: ServiceHarness, key: bigint): Buffer | null {
  const p = okCall(svc, getReq(key));
  return p[0] === 1 ? p.subarray(1, 1 + VALUE) : null;
}
function scan(svc: ServiceHarness, lo: bigint, hi: bigint, limit: number, ascending: boolean): [bigint, Buffer][] {
  const q = Buffer.alloc(32);
  q.writeUInt8(4, 0);
  q.writeBigUInt64LE(lo, 8);
  q.writeBigUInt64LE(hi, 16);
  q.writeUInt32LE(limit, 24);
  q.writeUInt8(ascending ? 1 : 0, 28);
  const p = okCall(svc, q);
  const out: [bigint, Buffer][] = [];
  for (let o = 0; o < p.length; o += RECORD) out.push([p.readBigUInt64LE(o), Buffer.from(p.subarray(o + 8, o + RECORD))]);
  return out;
}
function putMany(svc: ServiceHarness, first: bigint, count: number, seed: number): number {
  const q = Buffer.alloc(24);
  q.writeUInt8(5, 0);
  q.writeBigUInt64LE(first, 8);
  q.writeUInt32LE(count, 16);
  q.writeUInt32LE(seed, 20);
  return okCall(svc, q).readUInt32LE(0);
}
function stats(svc: ServiceHarness): { fills: bigint; hits: bigint; queued: number; l0: number } {
  const p = okCall(svc, Buffer.from([6]));
  return { fills: p.readBigUInt64LE(0), hits: p.readBigUInt64LE(8), queued: p.readUInt32LE(16), l0: p.readUInt32LE(20) };
}
const forget = (svc: ServiceHarness): void => { okCall(svc, Buffer.from([7])); };

type Op =
  | { op: 'put'; key: number; seed: number }
  | { op: 'flush' }
  | { op: 'get'; key: number }
  | { op: 'scan'; lo: number; span: number; limit: number; ascending: boolean }
  | { op: 'forget' };

function ops(keys: number, withScans: boolean): fc.Arbitrary<Op[]> {
  const choices: fc.Arbitrary<Op>[] = [
    fc.record({ op: fc.constant('put' as const), key: fc.nat(keys), seed: fc.nat() }),
    fc.record({ op: fc.constant('put' as const), key: fc.nat(keys), seed: fc.nat() }),
    fc.constant({ op: 'flush' as const }),
    fc.record({ op: fc.constant('get' as const), key: fc.nat(keys) }),
    fc.record({ op: fc.constant('get' as const), key: fc.nat(keys) }),
    fc.constant({ op: 'forget' as const }),
  ];
  if (withScans) choices.push(fc.record({ op: fc.constant('scan' as const), lo: fc.nat(keys), span: fc.nat(keys), limit: fc.integer({ min: 1, max: 64 }), ascending: fc.boolean() }));
  return fc.array(fc.oneof(...choices), { minLength: 40, maxLength: 100 });
}

/** Runs `list` against kvstore and a Map; returns the harness for its counters. */
async function runModel(list: Op[], config: KvConfig, flushesMax: number): Promise<ServiceHarness> {
  const svc = await kvstore(config);
  const model = new Map<bigint, Buffer>();
  let flushes = 0;
  for (const o of list) {
    if (o.op === 'put') {
      let r = put(svc, BigInt(o.key), value(o.seed));
      if (r.status !== 0) {
        assert.match(r.payload.toString(), /^memtable_full/);
        assert.is(flush(svc).result, 0);
        flushes++;
        r = put(svc, BigInt(o.key), value(o.seed));
      }
      assert.is(r.status, 0, r.payload.toString());
      model.set(BigInt(o.key), value(o.seed));
    } else if (o.op === 'flush') {
      if (flushes >= flushesMax) continue;
      const f = flush(svc);
      assert.equal(f, { result: 0, queued: 0 }, 'a flush of one small memtable fits one message');
      flushes++;
    } else if (o.op === 'get') {
      const got = get(svc, BigInt(o.key));
      const want = model.get(BigInt(o.key)) ?? null;
      assert.equal(got === null ? null : got.toString('hex'), want === null ? null : want.toString('hex'), `get ${o.key}`);
    } else if (o.op === 'scan') {
      const lo = BigInt(o.lo);
      const hi = lo + BigInt(o.span);
      const keys = [...model.keys()].filter((k) => k >= lo && k <= hi).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (!o.ascending) keys.reverse();
      const want = keys.slice(0, o.limit).map((k) => `${k}:${model.get(k)!.toString('hex')}`);
      const got = scan(svc, lo, hi, o.limit, o.ascending).map(([k, v]) => `${k}:${v.toString('hex')}`);
      assert.equal(got, want, `scan [${lo}, ${hi}] limit ${o.limit} ${o.ascending ? 'up' : 'down'}`);
    } else {
      forget(svc);
    }
  }
  return svc;
}

test('a tree on the grid through services/sdk/store.ts answers puts, flushes and gets as a model (6-slot cache)', async () => {
  // Proves storeDrain/storeAsk/storeOnBlock carry a tree's blocks to the grid
  // and back: with 6 cache slots and tables piling up in L0, gets read their
  // index and data blocks through the harness's grid (blocksRead, rounds > 0)
  // and every answer is the model's.
  let read = 0;
  let rounds = 0;
  await fc.assert(fc.asyncProperty(ops(60, false), async (list) => {
    const svc = await runModel(list, { memtable: 64, slots: 6, tables: 64 }, 40);
    read += svc.blocksRead;
    rounds += svc.rounds;
    assert.is(svc.pending.length, 0, 'every request was answered');
  }), { numRuns: 20, seed: 16 });
  assert.ok(read >= 50 && rounds >= 25, `reads went through the grid (${read} blocks, ${rounds} rounds)`);
});

test('the same with range scans, ascending and descending, over up to 10 tables (40-slot cache)', async () => {
  // Proves treeScanPrefetch's misses (index blocks, then data blocks) go
  // through storeAsk and the scan answers as the model's sorted slice.
  let read = 0;
  await fc.assert(fc.asyncProperty(ops(100, true), async (list) => {
    const svc = await runModel(list, { memtable: 256, slots: 40, tables: 64 }, 10);
    read += svc.blocksRead;
  }), { numRuns: 10, seed: 61 });
  assert.ok(read >= 50, `scans read through the grid (${read} blocks)`);
});

test('queued writes beyond one message drain over several, oldest first; a read waits for them', async () => {
  // Proves storeDrain's bound and order: five tables queued at once (a
  // checkpoint flushing several memtables) are more blocks than
  // STORAGE_WRITES_PER_MESSAGE, so the next request hands exactly 128 to the
  // kernel and answers storage_busy rather than reading blocks not yet
  // written; the one after hands the rest, and every record reads back.
  const svc = await kvstore({ memtable: 26000, slots: 6, tables: 16, writes: 160 });
  const perTable = Math.ceil(26000 / Math.floor((abi.GRID_BLOCK_BYTES - 64) / RECORD)) + 2;
  for (let t = 0; t < 5; t++) {
    assert.is(putMany(svc, BigInt(t) * 100_000n, 26000, t + 1), 26000);
    assert.equal(flush(svc, true), { result: 0, queued: (t + 1) * perTable });
  }
  assert.ok(5 * perTable > abi.STORAGE_WRITES_PER_MESSAGE);
  const busy = call(svc, getReq(7n));
  assert.is(busy.status, 1);
  assert.match(busy.payload.toString(), /^storage_busy/);
  assert.is(svc.blocksWritten, abi.STORAGE_WRITES_PER_MESSAGE, 'one message wrote exactly the most it may');
  assert.equal(get(svc, 7n), manyValue(7n, 1));
  assert.is(svc.blocksWritten, 5 * perTable);
  assert.is(stats(svc).queued, 0);
  for (const k of [0n, 25999n, 100_000n + 12345n, 400_000n + 25999n]) assert.equal(get(svc, k), manyValue(k, Number(k / 100_000n) + 1), `key ${k}`);
  assert.is(get(svc, 26000n), null);
});

test('more misses than one message may ask for are asked over several rounds', async () => {
  // Proves storeAsk's bound: a scan over 70 L0 tables wants 70 index blocks
  // at once, more than STORAGE_READS_PER_MESSAGE; the harness refuses a 65th
  // (as the kernel does), so the scan answers only because storeAsk asks 64,
  // leaves the rest listed, and the next delivery asks for them.
  const svc = await kvstore({ memtable: 4, slots: 160, tables: 80 });
  for (let t = 0; t < 70; t++) {
    assert.is(put(svc, BigInt(t), value(t)).status, 0);
    assert.equal(flush(svc), { result: 0, queued: 0 });
  }
  forget(svc);
  const before = { read: svc.blocksRead, rounds: svc.rounds };
  const got = scan(svc, 0n, 100n, 64, true);
  assert.equal(got.map(([k, v]) => [k, v.toString('hex')]), Array.from({ length: 64 }, (_, i) => [BigInt(i), value(i).toString('hex')]));
  assert.ok(svc.blocksRead - before.read > abi.STORAGE_READS_PER_MESSAGE, 'more blocks than one message may ask for');
  assert.ok(svc.rounds - before.rounds >= 3, `rounds: ${svc.rounds - before.rounds}`);
});

test('a corrupted block or a failed read is named in the reply, never answered from; healed, it reads', async () => {
  // Proves storeOnBlock's statuses: a block whose bytes changed on the grid
  // fails cacheFill and the get answers storage_corrupt naming its block and
  // tree; a read the device fails (STORAGE_E_IO) answers storage_io; neither
  // leaves a slot waiting, so once healed the same get answers the value.
  const svc = await kvstore({ memtable: 64, slots: 6, tables: 64 });
  for (let k = 0; k < 10; k++) assert.is(put(svc, BigInt(k), value(k)).status, 0);
  assert.equal(flush(svc), { result: 0, queued: 0 });
  const addresses = [...svc.grid.keys()];
  assert.is(addresses.length, 3, 'one data block, its index and its filter');
  const saved = new Map([...svc.grid].map(([a, b]) => [a, Buffer.from(b)]));
  for (const b of svc.grid.values()) b[100] ^= 1;
  const bad = call(svc, getReq(3n));
  assert.is(bad.status, 1);
  assert.match(bad.payload.toString(), /^storage_corrupt: block \d+ of tree kv, level 0, checksum mismatch/);
  for (const [a, b] of saved) svc.grid.set(a, b);
  assert.equal(get(svc, 3n), value(3));
  forget(svc);
  for (const a of addresses) svc.failRead(a);
  const io = call(svc, getReq(4n));
  assert.is(io.status, 1);
  assert.match(io.payload.toString(), /^storage_io: block \d+ of tree kv, level 0, the device could not read it/);
  for (const a of addresses) svc.failRead(a, false);
  assert.equal(get(svc, 4n), value(4));
});

test('the state digest skips the exported cache: the same get from a cold or a warm cache leaves the same state', async () => {
  // Proves qx_cache_area/qx_cache_bytes and stateDigestOf (host/services.ts,
  // shared by the harness): a get answered through the grid (cold cache), the
  // same get again answered from the cache, and again after the cache was
  // emptied, leave one state digest, while the digest that counts the cache
  // tells all three apart (its epoch, fill and hit counters moved).
  const svc = await kvstore({ memtable: 64, slots: 6, tables: 64 });
  for (let k = 0; k < 10; k++) assert.is(put(svc, BigInt(k), value(k)).status, 0);
  assert.equal(flush(svc), { result: 0, queued: 0 });
  forget(svc);
  let read = svc.blocksRead;
  assert.equal(get(svc, 5n), value(5));
  assert.ok(svc.blocksRead > read, 'cold: the get read through the grid');
  const cold = [svc.stateDigest(), svc.stateDigest(false)];
  read = svc.blocksRead;
  assert.equal(get(svc, 5n), value(5));
  assert.is(svc.blocksRead, read, 'warm: the get read nothing');
  const warm = [svc.stateDigest(), svc.stateDigest(false)];
  forget(svc);
  assert.equal(get(svc, 5n), value(5));
  assert.ok(svc.blocksRead > read, 'cold again: the get read through the grid');
  const again = [svc.stateDigest(), svc.stateDigest(false)];
  assert.ok(warm[0].equals(cold[0]) && again[0].equals(cold[0]), 'one state, however warm the cache');
  assert.not.ok(warm[1].equals(cold[1]) || again[1].equals(cold[1]) || again[1].equals(warm[1]), 'counted, the cache tells them apart');
});

test('the harness keeps the kernel\'s storage rules (as test/integration/grid.test.ts finds them in a machine)', async () => {
  // Proves the fake kernel matches kernel/storage.ts on gridprobe: blocks
  // round-trip in the order asked; unwritten blocks read as zeros; an address
  // past GRID_ADDRESS_MAX is STORAGE_E_RANGE in its block message; 129 writes
  // in a message meet E_FULL at the 129th, 65 reads E_FULL; a read while a
  // block is delivered is E_CONTEXT while the blocks still arrive; without
  // the capability the calls are E_DENIED and recorded.
  const probe = await ServiceHarness.load(PROBE_WASM, { caps: ['storage'], memoryPagesMax: 16 });
  probe.init({});
  const w = (address: number, seed: number): number => {
    const q = Buffer.alloc(20);
    q.writeUInt8(1, 0); q.writeBigUInt64LE(BigInt(address), 8); q.writeUInt32LE(seed, 16);
    return probe.request(q)!.payload.readInt32LE(0);
  };
  const read = (addresses: bigint[], flags = 0): { result: number; inner: number; blocks: [bigint, number][] } => {
    const q = Buffer.alloc(8 + addresses.length * 8);
    q.writeUInt8(3, 0); q.writeUInt8(addresses.length, 1); q.writeUInt8(flags, 2);
    addresses.forEach((a, i) => q.writeBigUInt64LE(a, 8 + i * 8));
    const p = probe.request(q)!.payload;
    const blocks: [bigint, number][] = [];
    for (let o = 8; o + 16 <= p.length; o += 16) blocks.push([p.readBigUInt64LE(o), p.readInt32LE(o + 8)]);
    return { result: p.readInt32LE(0), inner: p.readInt32LE(4), blocks };
  };
  assert.is(w(4, 40), abi.SYS_OK);
  assert.is(probe.request(Buffer.from([2]))!.payload.readInt32LE(0), abi.SYS_OK);
  assert.is(probe.syncs, 1);
  const far = BigInt(abi.GRID_ADDRESS_MAX) + 1n;
  const r = read([4n, far, 1000n]);
  assert.equal(r.blocks, [[4n, abi.STORAGE_OK], [far, abi.STORAGE_E_RANGE], [1000n, abi.STORAGE_OK]]);
  assert.is(probe.rounds, 1);
  const many = Buffer.alloc(16);
  many.writeUInt8(4, 0); many.writeUInt8(abi.STORAGE_WRITES_PER_MESSAGE + 1, 1); many.writeBigUInt64LE(100n, 8);
  const wr = probe.request(many)!.payload;
  assert.equal([wr.readUInt32LE(0), wr.readInt32LE(4)], [abi.STORAGE_WRITES_PER_MESSAGE, abi.SYS_E_FULL]);
  assert.is(read(Array.from({ length: abi.STORAGE_READS_PER_MESSAGE + 1 }, (_, i) => BigInt(200 + i))).result, abi.SYS_E_FULL);
  const inner = read([100n, 131n], 2);
  assert.is(inner.inner, abi.SYS_E_CONTEXT);
  assert.equal(inner.blocks, [[100n, 0], [131n, 0]]);
  const nogrid = await ServiceHarness.load(PROBE_WASM, { caps: [], memoryPagesMax: 16 });
  nogrid.init({});
  const q = Buffer.alloc(20);
  q.writeUInt8(1, 0);
  assert.is(nogrid.request(q)!.payload.readInt32LE(0), abi.SYS_E_DENIED);
  assert.equal(nogrid.denied, ['storage']);
  assert.is(nogrid.grid.size, 0);
});

test.run();
