// test/bench/support.ts: what the benchmarks share: the Bench interface the
// runner (test/bench/run.ts) drives, statistics, timed child processes,
// temp dirs and servers that are always cleaned up, and a command log walker.
//
// Every child process and temp dir made through this module is registered;
// `cleanup()` kills the children (SIGKILL) and removes the dirs. The runner
// calls it after each benchmark, and once more on exit or on a signal, so a
// benchmark that throws halfway leaves nothing behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import * as abi from '../../hal/abi.ts';
import { ENTRY_MAGIC, ENTRY_HEADER_BYTES, ENTRY_TOTAL, ENTRY_BATCH } from '../../hal/log.ts';
import { entryPadded } from '../../host/base/log-entry.ts';
import { openSegmentedLog } from '../../host/devices/segmented-log.ts';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const CLI = join(ROOT, 'dist/qenex.js');
export const IMAGE = join(ROOT, 'build/bank.qxi');
/** The demo image (images/demo): the bank's services plus echo and counter, which take frames without a key. */
export const DEMO_IMAGE = join(ROOT, 'build/demo.qxi');
export const TRUST = join(ROOT, 'var/keys/signing.pub');
/** What every benchmark that boots the machine needs (built by `make build image`). */
export const MACHINE_FILES = [CLI, IMAGE, DEMO_IMAGE, TRUST];

// A child that neither becomes ready nor exits within this is stuck: the run
// reports it as an error instead of hanging `make bench`.
export const CHILD_TIMEOUT_MS = 60_000;

// ---- the interface between a benchmark module and the runner ----

/**
 * One figure a benchmark reports. The printed table has one line per `row`
 * and one column per `col`; the JSON file keys figures by `key`, whose last
 * part is the unit (`_ms`, `_per_s`, `_ratio`, `_count`).
 */
export interface FigureSpec {
  key: string;
  row: string;
  col: string;
}

export type Figures = Record<string, number | null>;

export interface BenchOutput {
  figures: Figures;
  /** What was measured with what sizes (runs, entries, payload bytes). */
  params: Record<string, number | string>;
  /** Anything a reader needs to judge the figures: skipped parts, errors, estimates. */
  notes: string[];
}

export interface Bench {
  /** build/bench/<name>.json */
  name: string;
  title: string;
  /** Declared up front so that a run that fails still writes every key (as null). */
  figures: FigureSpec[];
  /** Files that must exist; when one is missing the runner skips the run and says why. */
  requires: string[];
  run(): Promise<BenchOutput>;
}

export function nullFigures(specs: FigureSpec[]): Figures {
  return Object.fromEntries(specs.map((s) => [s.key, null]));
}

export function missingFiles(paths: string[]): string[] {
  return paths.filter((p) => !existsSync(p));
}

// ---- statistics ----

/** Nearest-rank percentile (p in 0..100) of unsorted samples; null when there are none. */
export function percentile(samples: number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function median(samples: number[]): number | null {
  return percentile(samples, 50);
}

/** a / b, or null when either is missing or b is zero. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}

/** Rounds to `digits` significant digits so the JSON stays readable. */
export function round(value: number | null, digits = 4): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  return Number(value.toPrecision(digits));
}

// ---- cleanup registry ----

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `qenex-bench-${prefix}-`));
  dirs.add(dir);
  return dir;
}

/** Kills every child still running, waits for them, removes every temp dir. */
export async function cleanup(): Promise<void> {
  const exits = [...children].map((c) => new Promise<void>((res) => {
    if (c.exitCode !== null || c.signalCode !== null) return res();
    c.once('exit', () => res());
    c.kill('SIGKILL');
  }));
  await Promise.all(exits);
  children.clear();
  cleanupSync();
}

/** For process 'exit': no waiting possible, so kill and remove synchronously. */
export function cleanupSync(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

// ---- timed child processes ----

export interface ChildRun {
  /** spawn() call → the first stdout line with "event":`readyEvent` (null when none came). */
  readyMs: number | null;
  /** spawn() call → 'exit'. */
  exitMs: number;
  code: number | null;
  events: Record<string, unknown>[];
  stderr: string;
}

function track(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function parseEvent(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try { return JSON.parse(line) as Record<string, unknown>; } catch { return null; }
}

/**
 * Spawns `node <args>` and times it to the `readyEvent` line and to exit.
 * Every command a benchmark compares is spawned through here, so they pay
 * the same spawn and pipe costs.
 */
export function timeChild(args: string[], readyEvent: string | null = null): Promise<ChildRun> {
  const started = performance.now();
  const child = track(args);
  const events: Record<string, unknown>[] = [];
  let readyMs: number | null = null;
  let stderr = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const e = parseEvent(line);
    if (e === null) return;
    if (readyMs === null && readyEvent !== null && e.event === readyEvent) readyMs = performance.now() - started;
    events.push(e);
  });
  child.stderr!.on('data', (d) => { stderr += d; });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); rej(new Error(`node ${args.join(' ')}: no exit within ${CHILD_TIMEOUT_MS} ms`)); }, CHILD_TIMEOUT_MS);
    child.once('error', (e) => { clearTimeout(timer); rej(e); });
    // 'close' (not 'exit') so that every stdout line has been read.
    child.once('close', (code) => {
      clearTimeout(timer);
      res({ readyMs, exitMs: performance.now() - started, code, events, stderr });
    });
  });
}

/** A `qenex boot --listen` process that serves until stop(). */
export class Server {
  private stderr = '';
  private readonly exited: Promise<number | null>;
  private readonly ready: Promise<Record<string, unknown>>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((res) => child.once('exit', (code) => res(code)));
    child.stderr!.on('data', (d) => { this.stderr += d; });
    this.ready = new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`server: no ready line within ${CHILD_TIMEOUT_MS} ms; stderr: ${this.stderr}`)), CHILD_TIMEOUT_MS);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const e = parseEvent(line);
        if (e?.event === 'ready') { clearTimeout(timer); res(e); }
      });
      void this.exited.then((code) => { clearTimeout(timer); rej(new Error(`server exited (${code}) before ready; stderr: ${this.stderr}`)); });
    });
  }

  /** Boots `image` (build/bank.qxi, signed by `trust`) on `dataDir`, listening on a port the OS picks. */
  static start(dataDir: string, image = IMAGE, trust = TRUST): Server {
    return new Server(track([CLI, 'boot', image, '--data', dataDir, '--trust', trust, '--listen', '127.0.0.1:0']));
  }

  async address(): Promise<{ host: string; port: number }> {
    const ready = await this.ready;
    const m = /^(.*):(\d+)$/.exec(String(ready.listen));
    if (m === null) throw new Error(`ready line has no listen address: ${JSON.stringify(ready)}`);
    return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
  }

  /** SIGTERM (a clean stop that flushes); SIGKILL if it has not exited in 10 s. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

// ---- the command log file (entry layout: hal/log.ts) ----
// Larger than any entry (message_bytes_max 64 KiB + header), so an entry
// never straddles more than one refill.
const WALK_CHUNK_BYTES = 1 << 20;

export interface LogWalk {
  endOffset: number;
  entries: number;
  /** Distinct batch numbers: each batch is one block write with one fdatasync. */
  batches: number;
}

/**
 * Walks entries from `fromOffset` until the first byte that is not an entry
 * header (the zeros of the preallocated tail). Only magic and length are
 * checked: this counts, it does not verify. The file may be read while the
 * server appends; a batch caught mid-write ends the walk early, which moves
 * at most one batch from one count to the next. `path`: the log's first
 * segment (`<data>/log.qxl`); the walk reads on across the segments after it.
 */
export function walkLog(path: string, fromOffset = 0): LogWalk {
  const log = openSegmentedLog(dirname(path), { create: false, lock: false, readOnly: true, notice: () => {} });
  const buf = Buffer.alloc(WALK_CHUNK_BYTES);
  const batches = new Set<bigint>();
  let pos = fromOffset;
  let entries = 0;
  try {
    for (;;) {
      const n = log.readAt(pos, buf);
      let off = 0;
      while (off + ENTRY_HEADER_BYTES <= n && buf.readUInt32LE(off) === ENTRY_MAGIC) {
        const padded = entryPadded(buf.readUInt32LE(off + ENTRY_TOTAL));
        if (padded < ENTRY_HEADER_BYTES || off + padded > n) break;
        batches.add(buf.readBigUInt64LE(off + ENTRY_BATCH));
        entries++;
        off += padded;
      }
      pos += off;
      // No progress means the walk reached the end (or a torn entry).
      if (off === 0) break;
    }
  } finally {
    log.close();
  }
  return { endOffset: pos, entries, batches: batches.size };
}

// ---- many requests in flight on one connection ----

// The bank image admits requests_in_flight_max = 1024 and answers BUSY past
// it; staying under leaves room for another client without a retry storm.
export const IN_FLIGHT_MAX = 1000;

// A request answered BUSY this many times in a row is counted as failed:
// a server that stays full is a finding, not something to spin on.
const RETRY_ATTEMPTS_MAX = 100;

export interface SendResult {
  /** Requests answered with FRAME_OK. */
  ok: number;
  /** Count of each non-OK status seen (status → count). */
  failed: Map<number, number>;
  /** Per request, send → reply, of the OK replies. */
  latenciesMs: number[];
  elapsedMs: number;
}

export interface Requester {
  request(service: string, payload: Uint8Array, timeoutMs?: number): Promise<{ status: number }>;
}

export interface SendPlan {
  service: string;
  /** Requests to send, at most. */
  total: number;
  /** Outstanding requests, at most (1..IN_FLIGHT_MAX). */
  inFlight: number;
  payload: (i: number) => Uint8Array;
  /** Stop sending new requests after this long (the count sent is in the result). */
  maxMs?: number;
  /** Send a request again when its reply has this status (to build a log, never while timing). */
  retryStatus?: number;
}

/**
 * Sends requests on one connection with at most `inFlight` outstanding: one
 * worker per slot, each waiting for its reply before sending the next.
 */
export async function sendWindowed(client: Requester, plan: SendPlan): Promise<SendResult> {
  if (!(plan.inFlight >= 1 && plan.inFlight <= IN_FLIGHT_MAX)) throw new Error(`inFlight must be 1..${IN_FLIGHT_MAX}, got ${plan.inFlight}`);
  const result: SendResult = { ok: 0, failed: new Map(), latenciesMs: [], elapsedMs: 0 };
  const started = performance.now();
  const deadline = started + (plan.maxMs ?? Infinity);
  let issued = 0;
  const worker = async () => {
    while (issued < plan.total && performance.now() < deadline) {
      const bytes = plan.payload(issued++);
      for (let attempt = 1; ; attempt++) {
        const t0 = performance.now();
        const r = await client.request(plan.service, bytes);
        if (r.status === abi.FRAME_OK) { result.ok++; result.latenciesMs.push(performance.now() - t0); break; }
        if (r.status === plan.retryStatus && attempt < RETRY_ATTEMPTS_MAX) continue;
        result.failed.set(r.status, (result.failed.get(r.status) ?? 0) + 1);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(plan.inFlight, plan.total) }, worker));
  result.elapsedMs = performance.now() - started;
  return result;
}

export function describeFailures(what: string, r: SendResult): string | null {
  if (r.failed.size === 0) return null;
  const parts = [...r.failed].map(([status, n]) => `${n} × status ${status}`);
  return `${what}: ${parts.join(', ')} (not counted as inputs)`;
}
