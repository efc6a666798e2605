// test/bench/ledger/e2e.ts: the ledger end to end: the real CLI booted with
// --listen on loopback, transfers sent over TCP in the frame protocol, each
// reply sent only after its request's batch is fdatasync'd (the command
// log's group commit). Next to it, in the same run and on the same file
// system, the p50 of one 128-byte write + fdatasync.
//
// Setup (untimed): a signed image whose ledger holds TRANSFERS_MAX transfers
// (./image.ts), the workload's accounts and funding, WARMUP_BATCHES batches.
// Then for each pattern: `batches` requests of BATCH_EVENTS transfers, at
// most `inFlight` outstanding on one connection; transfers/s is created
// transfers over the wall time from the first send to the last reply. Then
// single-transfer requests with one in flight, through LedgerClient, for
// latency. Last, every account is read back: debits and credits must agree,
// and must have moved by exactly the acknowledged transfers.
//
// Where the server's time goes: QX_BENCH_SERVER_NODE_ARGS adds node options to
// the server's command line (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"; node
// refuses --cpu-prof in NODE_OPTIONS), and each phase records the server's
// CPU time (Throughput.serverCpuMs), so its cost per transfer can be compared
// between runs whatever else the machine's cores were doing.
//
// The throughput phase sends requests encoded before the clock starts, with
// FrameClient directly: LedgerClient.createTransfers would encode 8189
// Transfer objects of bigints per request on the client's share of this
// machine's two cores, which measures the client. The bytes are the codec's
// (workload.ts checkEncoder) and replies are read with the codec's layout.

import { spawnSync } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../../../hal/abi.ts';
import { FrameClient } from '../../../host/client/frames.ts';
import { LedgerClient, transfer } from '../../../host/client/ledger.ts';
import { CLI, CHILD_TIMEOUT_MS, walkLog } from '../support.ts';
import { start, type Child } from './children.ts';
import { benchManifest, writeBenchImage } from './image.ts';
import {
  ACCOUNTS, BATCH_BYTES, BATCH_EVENTS, CODE, LEDGER, LEDGER_ACCOUNTS, OPENING_MINOR, Rng, allocPairs, countFailed,
  encodeBatch, eventCount, failedCodes, fillPairs, setupRequests, sumAmounts, type Pairs, type Pattern,
} from './workload.ts';

/** The ledger's transfer table: the most the service accepts (services/ledger README), ~3.4 M are used. */
export const TRANSFERS_MAX = 4_194_304;
// The ledger allocates 176 B per transfer at this size and ~370 B per
// account at boot, 0.75 GB in all: 16384 pages (1 GiB) hold it. (Its stub
// allocator would like to double past that; it falls back to what it needs.)
const LEDGER_MEMORY_PAGES_MAX = 16_384;
// Room for every entry the phase writes (~0.45 GB) without growing the file.
const LOG_PREALLOCATE_BYTES = 1024 * 1024 * 1024;
// Enough to keep the whole working set of warm-up's pages and JIT hot.
export const WARMUP_BATCHES = 8;
const BASELINE_RECORD_BYTES = 128;
const BASELINE_SYNCS = 2_000;
const BASELINE_MS_MAX = 2_000;
const SERVICE = 'ledger';
const GATEWAY_SERVICE = 'gateway';
// host/machine.ts LOG_FILE; not imported, so that this file does not load the machine.
const LOG_FILE = 'log.qxl';
const REQUEST_TIMEOUT_MS = 60_000;

export interface E2ePlan {
  batchesPerPattern: number;
  inFlight: number;
  singleRequests: number;
  singleMsMax: number;
  patterns: readonly Pattern[];
  seedOf: (pattern: Pattern) => number;
  /** Uniform batches sent through the gateway (authenticated binary protocol), after the direct patterns. */
  gatewayBatches: number;
}

export interface Throughput {
  transfers: number;
  failed: number;
  elapsedMs: number;
  latenciesMs: number[];
  /** Distinct log batches the phase wrote: each is one write + one fdatasync (kernel/log.ts). */
  fdatasyncs: number;
  /**
   * CPU time the server process used over the phase (user + system, all its
   * threads), or null where /proc is not there: what a transfer costs the
   * server whatever the load generator and other processes took of the cores.
   */
  serverCpuMs: number | null;
}

export interface E2eResult {
  fdatasyncMs: number[];
  patterns: Map<Pattern, Throughput>;
  singleMs: number[];
  singleFailed: number;
  /** The uniform pattern again, through the gateway on a connection that presented an operator key. */
  gateway: Throughput | null;
  serverExitCode: number | null;
  notes: string[];
}

/** For each record: write BASELINE_RECORD_BYTES at the end of a file, then fdatasync (timed). */
export function fdatasyncBaseline(path: string): number[] {
  const fd = openSync(path, 'w');
  try {
    const record = Buffer.alloc(BASELINE_RECORD_BYTES, 0x5a);
    const syncMs: number[] = [];
    const started = performance.now();
    for (let offset = 0; syncMs.length < BASELINE_SYNCS && performance.now() - started < BASELINE_MS_MAX; offset += record.length) {
      if (writeSync(fd, record, 0, record.length, offset) !== record.length) throw new Error(`short write to ${path}`);
      const t0 = performance.now();
      fdatasyncSync(fd);
      syncMs.push(performance.now() - t0);
    }
    return syncMs;
  } finally {
    closeSync(fd);
  }
}

/** An operator key put into the fresh data directory's log (`qenex boot --once`, then `qenex keys create --data`). */
function operatorKey(imagePath: string, pubPath: string, dataDir: string): string {
  const run = (args: string[]): string => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
    if (r.status !== 0) throw new Error(`qenex ${args[0]}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  run(['boot', imagePath, '--data', dataDir, '--trust', pubPath, '--once']);
  const out = run(['keys', 'create', '--data', dataDir, '--trust', pubPath, '--role', 'operator']);
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as { event?: string; key?: string };
    if (e.event === 'key_created' && typeof e.key === 'string') return e.key;
  }
  throw new Error(`qenex keys create printed no key: ${out}`);
}

/** Boots the CLI and resolves with the address from its ready line. */
async function boot(imagePath: string, pubPath: string, dataDir: string): Promise<{ server: Child; host: string; port: number }> {
  const nodeOptions = (process.env.QX_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = start('qenex boot', process.execPath,
    [...nodeOptions, CLI, 'boot', imagePath, '--data', dataDir, '--trust', pubPath, '--listen', '127.0.0.1:0']);
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`qenex boot: no ready line within ${CHILD_TIMEOUT_MS} ms; stderr: ${server.stderr}`)), CHILD_TIMEOUT_MS);
    server.onLine((line) => {
      if (!line.startsWith('{')) return;
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        if (e.event === 'ready' && typeof e.listen === 'string') { clearTimeout(timer); resolve(e); }
      } catch { /* not an event line */ }
    });
    void server.exited.then((code) => { clearTimeout(timer); reject(new Error(`qenex boot exited (${code}) before ready; stderr: ${server.stderr}`)); });
  });
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(String(ready.listen));
  if (m === null) throw new Error(`ready line has no listen address: ${JSON.stringify(ready)}`);
  return { server, host: m[1], port: Number(m[2]) };
}

async function callChecked(frames: FrameClient, request: Uint8Array, what: string): Promise<void> {
  const reply = await frames.call(SERVICE, request, REQUEST_TIMEOUT_MS);
  const failed = countFailed(reply, eventCount(request));
  if (failed !== 0) throw new Error(`${what}: ${failed} events failed: ${JSON.stringify([...failedCodes(reply)])}`);
}

// /proc/<pid>/stat counts CPU time in clock ticks of 1/USER_HZ s; Linux fixes USER_HZ at 100 for user space.
const PROC_TICKS_PER_S = 100;

/** CPU time of process `pid` so far (user + system, ms), or null without Linux's /proc. */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces, so the last ')' ends it): utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? (ticks * 1000) / PROC_TICKS_PER_S : null;
}

/** Sends every request with at most `inFlight` outstanding; counts created transfers. */
async function sendBatches(frames: FrameClient, requests: Uint8Array[], inFlight: number, failures: Map<number, number>, service = SERVICE): Promise<Throughput> {
  const result: Throughput = { transfers: 0, failed: 0, elapsedMs: 0, latenciesMs: [], fdatasyncs: 0, serverCpuMs: null };
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++];
      const t0 = performance.now();
      const reply = await frames.request(service, request, REQUEST_TIMEOUT_MS);
      if (reply.status !== abi.FRAME_OK) {
        // Never retried: a refused batch is a finding, and the server has applied nothing of it.
        failures.set(-reply.status, (failures.get(-reply.status) ?? 0) + 1);
        continue;
      }
      result.latenciesMs.push(performance.now() - t0);
      const events = eventCount(request);
      const failed = countFailed(reply.payload, events);
      if (failed > 0) for (const [code, n] of failedCodes(reply.payload)) failures.set(code, (failures.get(code) ?? 0) + n);
      result.transfers += events - failed;
      result.failed += failed;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, requests.length) }, worker));
  result.elapsedMs = performance.now() - started;
  return result;
}

class Phase {
  /** High u64 of the next request's transfer ids (0 is the funding's). */
  private request = 1;
  /** Minor units moved by every transfer acknowledged as created, funding included. */
  moved = BigInt(ACCOUNTS) * OPENING_MINOR;
  /** Results other than ok (negative: a frame status for a whole request). */
  readonly failures = new Map<number, number>();

  constructor(readonly frames: FrameClient, readonly logPath: string, readonly serverPid: number | undefined) {}

  /** `batches` full requests of `pattern`, encoded now. */
  encode(pattern: Pattern, seed: number, batches: number): { requests: Uint8Array[]; pairs: Pairs } {
    const pairs = allocPairs(batches * BATCH_EVENTS);
    fillPairs(pattern, new Rng(seed), pairs, 0, pairs.debit.length);
    const requests = Array.from({ length: batches }, (_, b) =>
      encodeBatch(new Uint8Array(BATCH_BYTES), this.request++, pairs, b * BATCH_EVENTS, BATCH_EVENTS));
    return { requests, pairs };
  }

  /** `via`: another connection and service name (the gateway, authenticated) instead of the ledger directly. */
  async send(pattern: Pattern, seed: number, batches: number, inFlight: number, via?: { frames: FrameClient; service: string }): Promise<Throughput> {
    const { requests, pairs } = this.encode(pattern, seed, batches);
    const before = walkLog(this.logPath);
    const cpuBefore = processCpuMs(this.serverPid);
    const r = await sendBatches(via?.frames ?? this.frames, requests, inFlight, this.failures, via?.service);
    const cpuAfter = processCpuMs(this.serverPid);
    r.serverCpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
    r.fdatasyncs = walkLog(this.logPath, before.endOffset).batches;
    // When something failed the exact sum is unknown here; verify() then checks balance only.
    this.moved = r.failed === 0 && r.transfers === pairs.debit.length ? this.moved + BigInt(sumAmounts(pairs)) : -1n;
    return r;
  }

  /** One transfer per request, one in flight, through LedgerClient; latencies of the created ones. */
  async singles(pattern: Pattern, seed: number, count: number, msMax: number): Promise<{ ms: number[]; failed: number }> {
    const client = new LedgerClient(this.frames, SERVICE);
    const pairs = allocPairs(count);
    fillPairs(pattern, new Rng(seed), pairs, 0, count);
    const ms: number[] = [];
    let failed = 0;
    const started = performance.now();
    for (let i = 0; i < count && performance.now() - started < msMax; i++) {
      const t = transfer({
        id: (BigInt(this.request++) << 64n) | 1n, debit_account_id: BigInt(pairs.debit[i]),
        credit_account_id: BigInt(pairs.credit[i]), amount: BigInt(pairs.amount[i]), ledger: LEDGER, code: CODE,
      });
      const t0 = performance.now();
      const [r] = await client.createTransfers([t]);
      const elapsed = performance.now() - t0;
      if (r.result !== 0) { failed++; this.failures.set(r.result, (this.failures.get(r.result) ?? 0) + 1); continue; }
      ms.push(elapsed);
      if (this.moved >= 0n) this.moved += t.amount;
    }
    return { ms, failed };
  }

  /** Reads every account back: Σ debits = Σ credits, and they moved by what was acknowledged. */
  async verify(): Promise<string | null> {
    const client = new LedgerClient(this.frames, SERVICE);
    let debits = 0n;
    let credits = 0n;
    for (let first = 1; first <= LEDGER_ACCOUNTS; first += BATCH_EVENTS) {
      const ids = Array.from({ length: Math.min(BATCH_EVENTS, LEDGER_ACCOUNTS - first + 1) }, (_, i) => BigInt(first + i));
      const accounts = await client.lookupAccounts(ids);
      if (accounts.length !== ids.length) return `lookup_accounts returned ${accounts.length} of ${ids.length} accounts`;
      for (const a of accounts) { debits += a.debits_posted; credits += a.credits_posted; }
    }
    if (debits !== credits) return `after the run, Σ debits_posted ${debits} ≠ Σ credits_posted ${credits}`;
    if (this.moved >= 0n && debits !== this.moved) return `after the run, Σ debits_posted ${debits} ≠ acknowledged ${this.moved}`;
    return null;
  }
}

async function phases(frames: FrameClient, gateway: FrameClient, logPath: string, serverPid: number | undefined, plan: E2ePlan,
  result: E2eResult): Promise<void> {
  const phase = new Phase(frames, logPath, serverPid);
  const setup = setupRequests();
  for (const r of setup.accounts) await callChecked(frames, r, 'create_accounts');
  for (const r of setup.funding) await callChecked(frames, r, 'funding transfers');
  // Untimed: JIT on both sides, the log's first pages, the ledger's tables.
  await phase.send('uniform', 0x2545f491, WARMUP_BATCHES, plan.inFlight);
  for (const pattern of plan.patterns) {
    result.patterns.set(pattern, await phase.send(pattern, plan.seedOf(pattern), plan.batchesPerPattern, plan.inFlight));
  }
  if (plan.gatewayBatches > 0) {
    result.gateway = await phase.send('uniform', 0x27d4eb2f, plan.gatewayBatches, plan.inFlight, { frames: gateway, service: GATEWAY_SERVICE });
  }
  const singles = await phase.singles('uniform', 0x6c078965, plan.singleRequests, plan.singleMsMax);
  result.singleMs = singles.ms;
  result.singleFailed = singles.failed;
  const broken = await phase.verify();
  if (broken !== null) throw new Error(broken);
  if (phase.failures.size > 0) {
    const parts = [...phase.failures].map(([code, n]) => (code < 0 ? `${n} requests refused with frame status ${-code}` : `${n} × result ${code}`));
    result.notes.push(`e2e: not created: ${parts.join(', ')} (not counted)`);
  }
}

/** The whole end-to-end phase in `dir` (a benchmark temp dir). */
export async function runE2e(dir: string, plan: E2ePlan): Promise<E2eResult> {
  const batchesTotal = WARMUP_BATCHES + plan.patterns.length * plan.batchesPerPattern + plan.gatewayBatches;
  const transfersNeeded = ACCOUNTS + batchesTotal * BATCH_EVENTS + plan.singleRequests;
  if (transfersNeeded > TRANSFERS_MAX) throw new Error(`e2e needs ${transfersNeeded} transfers, the ledger holds ${TRANSFERS_MAX}`);
  const result: E2eResult = { fdatasyncMs: [], patterns: new Map(), singleMs: [], singleFailed: 0, gateway: null, serverExitCode: null, notes: [] };
  mkdirSync(join(dir, 'image'));
  result.fdatasyncMs = fdatasyncBaseline(join(dir, 'fdatasync-baseline.dat'));
  const manifest = benchManifest({
    ledgerConfig: { accounts_max: LEDGER_ACCOUNTS, transfers_max: TRANSFERS_MAX, pending_max: 1, history_max: 1 },
    ledgerMemoryPagesMax: LEDGER_MEMORY_PAGES_MAX, logPreallocateBytes: LOG_PREALLOCATE_BYTES,
  });
  const { imagePath, pubPath } = writeBenchImage(join(dir, 'image'), manifest);
  const dataDir = join(dir, 'data');
  const key = operatorKey(imagePath, pubPath, dataDir);
  const { server, host, port } = await boot(imagePath, pubPath, dataDir);
  try {
    const frames = await FrameClient.connect(host, port);
    const gateway = await FrameClient.connect(host, port);
    try {
      await gateway.authenticate(key);
      await phases(frames, gateway, join(dataDir, LOG_FILE), server.proc.pid, plan, result);
    } finally {
      frames.close();
      gateway.close();
    }
  } finally {
    result.serverExitCode = await server.stop('SIGTERM');
  }
  return result;
}

