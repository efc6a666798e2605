// test/bench/storage/drive.ts: the parts of the storage benchmark that drive
// a machine (test/bench/storage.bench.ts says what is measured): an image
// whose ledger is on its grid (or all in memory, for the peer), a `qenex
// boot --listen` child on it, the workload's transfers sent in batches of
// BATCH_EVENTS with several in flight and encoded as they go (100 M
// transfers would not fit in memory encoded ahead), the time of every reply,
// the server's peak resident set, and one-per-request lookups of old ids.

import { readFileSync } from 'node:fs';
import * as abi from '../../../hal/abi.ts';
import { FrameClient } from '../../../host/client/frames.ts';
import { LedgerClient } from '../../../host/client/ledger.ts';
import { type Manifest } from '../../../host/manifest.ts';
import { CLI } from '../support.ts';
import { start, type Child } from '../ledger/children.ts';
import { bankManifest } from '../ledger/image.ts';
import {
  BATCH_BYTES, BATCH_EVENTS, Rng, allocPairs, countFailed, encodeBatch, eventCount, failedCodes, fillPairs,
  setupRequests,
} from '../ledger/workload.ts';

const SERVICE = 'ledger';
const REQUEST_TIMEOUT_MS = 600_000;

export interface LedgerShape {
  /** The ledger's config (the service's "config" object). */
  config: Record<string, number | boolean>;
  memoryPagesMax: number;
  /** On its grid: caps without "read" and with "storage" (a ledger on a grid answers through the log). */
  grid: boolean;
  logPreallocateBytes: number;
  /** kernel.snapshot_interval_entries: machine snapshots, the grid ledger's checkpoints (0: none). */
  snapshotIntervalEntries: number;
}

/** The bank manifest with the ledger shaped as asked and reachable directly ("net"), like the ledger e2e bench's. */
export function storageManifest(shape: LedgerShape): Manifest {
  return bankManifest((json, service) => {
    const ledger = service(SERVICE);
    ledger.config = shape.config;
    let caps = ledger.caps ?? [];
    if (!caps.includes('net')) caps = ['net', ...caps];
    if (shape.grid) caps = [...caps.filter((c) => c !== 'read'), 'storage'];
    ledger.caps = caps;
    ledger.memory_pages_max = shape.memoryPagesMax;
    json.kernel.log_preallocate_bytes = shape.logPreallocateBytes;
    json.kernel.snapshot_interval_entries = shape.snapshotIntervalEntries;
  });
}

/** Spawns `qenex boot` with `extra` (--listen or --once) and resolves at its ready line; the child and spawn → ready ms. */
export async function bootToReady(imagePath: string, pubPath: string, dataDir: string, extra: string[], timeoutMs: number):
  Promise<{ server: Child; readyMs: number; ready: Record<string, unknown> }> {
  const t0 = performance.now();
  // QX_STORAGE_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it exits (where the machine's time goes).
  const prof = process.env.QX_STORAGE_CPU_PROF;
  const node = prof === undefined || prof === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`];
  const server = start('qenex boot', process.execPath, [...node, CLI, 'boot', imagePath, '--data', dataDir, '--trust', pubPath, ...extra]);
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`qenex boot: no ready line within ${timeoutMs} ms; stderr: ${server.stderr.slice(-2000)}`)), timeoutMs);
    server.onLine((line) => {
      if (!line.startsWith('{')) return;
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        if (e.event === 'ready') { clearTimeout(timer); resolve(e); }
      } catch { /* not an event line */ }
    });
    void server.exited.then((code) => { clearTimeout(timer); reject(new Error(`qenex boot exited (${code}) before ready; stderr: ${server.stderr.slice(-2000)}`)); });
  });
  return { server, readyMs: performance.now() - t0, ready };
}

export function listenAddress(ready: Record<string, unknown>): { host: string; port: number } {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(String(ready.listen));
  if (m === null) throw new Error(`ready line has no listen address: ${JSON.stringify(ready)}`);
  return { host: m[1], port: Number(m[2]) };
}

/** VmRSS of process `pid` in bytes (Linux /proc), or null. */
export function vmRssBytes(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/** The accounts and their funding (untimed), each request checked. */
export async function setUp(frames: FrameClient): Promise<void> {
  const setup = setupRequests();
  for (const r of [...setup.accounts, ...setup.funding]) {
    const reply = await frames.call(SERVICE, r, REQUEST_TIMEOUT_MS);
    const failed = countFailed(reply, eventCount(r));
    if (failed !== 0) throw new Error(`setup: ${failed} events failed: ${JSON.stringify([...failedCodes(reply)])}`);
  }
}

export interface Run {
  transfers: number;
  failed: number;
  failures: Map<number, number>;
  elapsedMs: number;
  /** After each reply, in reply order: created transfers so far and ms since the first send. */
  doneAt: Float64Array;
  createdAt: Float64Array;
  replies: number;
  /** Each request's send → reply, ms. */
  latenciesMs: number[];
  /** Highest VmRSS of the server sampled over the run (every SAMPLE_MS and at the end). */
  peakRssBytes: number | null;
  /** Requests sent: request s (1-based) carries ids (s << 64) | (i + 1), i < events of request s. */
  requests: number;
  lastRequestEvents: number;
}

const SAMPLE_MS = 1_000;

/**
 * Sends `transfers` uniform transfers in requests of BATCH_EVENTS (the last
 * one shorter), at most `inFlight` outstanding, each encoded just before it
 * is sent; `progress` is called about every `progressEvery` transfers.
 */
export async function sendTransfers(frames: FrameClient, transfers: number, inFlight: number, seed: number, serverPid: number | undefined,
  progress: (created: number, ms: number) => void, progressEvery = 1_000_000): Promise<Run> {
  const requests = Math.ceil(transfers / BATCH_EVENTS);
  const run: Run = {
    transfers: 0, failed: 0, failures: new Map(), elapsedMs: 0, doneAt: new Float64Array(requests), createdAt: new Float64Array(requests),
    replies: 0, latenciesMs: [], peakRssBytes: vmRssBytes(serverPid), requests, lastRequestEvents: transfers - (requests - 1) * BATCH_EVENTS,
  };
  const rng = new Rng(seed);
  const pairs = allocPairs(BATCH_EVENTS);
  let next = 0;
  let nextProgress = progressEvery;
  const sample = () => {
    const rss = vmRssBytes(serverPid);
    if (rss !== null) run.peakRssBytes = Math.max(run.peakRssBytes ?? 0, rss);
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  const started = performance.now();
  const worker = async () => {
    while (next < requests) {
      const s = next++;
      const events = Math.min(BATCH_EVENTS, transfers - s * BATCH_EVENTS);
      fillPairs('uniform', rng, pairs, 0, events);
      const request = encodeBatch(new Uint8Array(BATCH_BYTES), s + 1, pairs, 0, events);
      const t0 = performance.now();
      const reply = await frames.request(SERVICE, request, REQUEST_TIMEOUT_MS);
      run.latenciesMs.push(performance.now() - t0);
      if (reply.status !== abi.FRAME_OK) {
        // Never retried: a refused batch is a finding, and the server applied nothing of it.
        run.failures.set(-reply.status, (run.failures.get(-reply.status) ?? 0) + 1);
        run.failed += events;
      } else {
        const failed = countFailed(reply.payload, events);
        if (failed > 0) for (const [code, n] of failedCodes(reply.payload)) run.failures.set(code, (run.failures.get(code) ?? 0) + n);
        run.transfers += events - failed;
        run.failed += failed;
      }
      const ms = performance.now() - started;
      run.doneAt[run.replies] = ms;
      run.createdAt[run.replies] = run.transfers + run.failed;
      run.replies++;
      if (run.transfers + run.failed >= nextProgress) { nextProgress += progressEvery; progress(run.transfers, ms); }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(inFlight, requests) }, worker));
  } finally {
    clearInterval(sampler);
  }
  run.elapsedMs = performance.now() - started;
  sample();
  return run;
}

/** ms since the first send at which `count` transfers had been answered (the first reply that reached it). */
export function answeredBy(run: Run, count: number): number {
  for (let i = 0; i < run.replies; i++) if (run.createdAt[i] >= count) return run.doneAt[i];
  return run.elapsedMs;
}

/**
 * Looks up `count` random transfers created before `newestOldRequest`
 * (request numbers 1..newestOldRequest, all full), one id per request, one
 * in flight; the latency of each, in ms. Throws if one is not found.
 */
export async function coldLookups(frames: FrameClient, count: number, newestOldRequest: number, seed: number): Promise<number[]> {
  if (newestOldRequest < 1) throw new Error('cold lookups: no transfer is older than the window');
  const client = new LedgerClient(frames, SERVICE);
  const rng = new Rng(seed);
  const ms: number[] = [];
  for (let k = 0; k < count; k++) {
    const id = (BigInt(1 + rng.below(newestOldRequest)) << 64n) | BigInt(1 + rng.below(BATCH_EVENTS));
    const t0 = performance.now();
    const found = await client.lookupTransfers([id]);
    ms.push(performance.now() - t0);
    if (found.length !== 1 || found[0].id !== id) throw new Error(`cold lookup of transfer ${id.toString(16)}: ${found.length} found`);
  }
  return ms;
}
