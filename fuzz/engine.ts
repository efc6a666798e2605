// fuzz/engine.ts: the coverage-guided loop, run in a worker thread of
// fuzz/main.ts against one target of the instrumented bundle.
//
// The queue starts as the target's corpus (fuzz/corpus/<target>, in the
// repo) plus what earlier runs found (build/fuzz/queue/<target>). Each
// round takes the next queue entry and runs mutations of it; a child that
// reaches an edge, or an edge's hit count in a new power-of-two bucket, that
// no input reached before joins the queue and is saved. A check that throws
// is a finding: the worker reports it with its input and stops. The current
// input is kept in shared memory before each run, so when a run never
// returns the main thread still knows which input hung.
//
// At the end the queue is minimised (smallest inputs first, each kept only
// if it adds an edge bucket the kept ones miss) and written back as the
// target's corpus.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsCoverage, MAP_BYTES, type CoverageTables } from './cov.ts';
import { mutate, Rng, type MutateContext } from './mutate.ts';
import type { FuzzTarget } from './target.ts';

/** Shared with the main thread: [0] executions (wrapping), [1] current input length; then the input. */
export const SHARED_HEADER_BYTES = 8;

export interface LoopOptions {
  target: FuzzTarget;
  corpusDir: string;
  queueDir: string;
  /** Stop after this many executions (this run). */
  execs: number;
  /** Stop after this many seconds. */
  seconds: number;
  seed: number;
  shared: SharedArrayBuffer;
  /** Called about once a second and at the end. */
  progress(p: Progress): void;
  /** Replaces the corpus with the minimised queue at the end (false: leave the corpus alone). */
  writeCorpus: boolean;
  /** The target's own site ids (its sources'): only these count as its coverage; default every site reached. */
  ownSites?: readonly number[];
}

export interface Progress {
  execs: number;
  queue: number;
  edges: number;
  /** Site ids reached (a sorted list is sent at the end only). */
  sitesHit: number;
  corpus?: number;
  sites?: number[];
  finding?: { message: string; input: Uint8Array };
}

// AFL's hit-count buckets: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+.
const BUCKET = new Uint8Array(256);
for (let v = 1; v < 256; v++) BUCKET[v] = v === 1 ? 1 : v === 2 ? 2 : v === 3 ? 4 : v < 8 ? 8 : v < 16 ? 16 : v < 32 ? 32 : v < 128 ? 64 : 128;

interface Entry { bytes: Uint8Array; name: string }

export function inputName(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex').slice(0, 20);
}

export function readInputs(dir: string): Entry[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => !n.startsWith('.') && !n.endsWith('.md')).sort()
    .map((n) => ({ name: n, bytes: new Uint8Array(readFileSync(join(dir, n))) }));
}

export async function fuzzLoop(o: LoopOptions): Promise<void> {
  const t = o.target;
  await t.setup?.();
  // What setup ran (fixtures, key generation) is not the target's coverage.
  jsCoverage.edges.fill(0);
  jsCoverage.sites.fill(0);
  jsCoverage.reset();
  const rng = new Rng(o.seed);
  const virgin = new Uint8Array(MAP_BYTES).fill(0xff);
  const sitesSeen = new Uint8Array(MAP_BYTES);
  // A parser's run also reaches sites of other instrumented files it calls
  // (an HTTP body goes through the JSON parser): only its own are counted.
  const own = new Uint8Array(MAP_BYTES).fill(o.ownSites === undefined ? 1 : 0);
  for (const id of o.ownSites ?? []) own[id] = 1;
  let sitesHit = 0;
  let edges = 0;
  const sharedHead = new Int32Array(o.shared, 0, 2);
  const sharedInput = new Uint8Array(o.shared, SHARED_HEADER_BYTES);
  const tables = (): CoverageTables => t.coverage?.() ?? jsCoverage;
  let execs = 0;

  // One run: true when it reached something new. Throws the check's error.
  const run = (input: Uint8Array): boolean => {
    sharedInput.set(input.subarray(0, sharedInput.length));
    Atomics.store(sharedHead, 1, input.length);
    Atomics.add(sharedHead, 0, 1);
    execs++;
    jsCoverage.reset();
    t.check(input);
    const c = tables();
    const n = c.touchedCount();
    let fresh = false;
    for (let k = 0; k < n; k++) {
      const i = c.touched[k];
      const bucket = BUCKET[c.edges[i]];
      c.edges[i] = 0;
      const v = virgin[i];
      if ((v & bucket) !== 0) {
        if (v === 0xff) edges++;
        virgin[i] = v & ~bucket;
        fresh = true;
      }
    }
    c.reset();
    if (fresh) {
      // A new edge may be a new site: fold the run's sites in (rare, so a full scan is fine).
      const s = c.sites;
      for (let id = 0; id < MAP_BYTES; id++) if (s[id] !== 0 && sitesSeen[id] === 0 && own[id] !== 0) { sitesSeen[id] = 1; sitesHit++; }
    }
    return fresh;
  };

  const queue: Entry[] = [];
  const known = new Set<string>();
  const add = (bytes: Uint8Array, name: string, save: boolean): void => {
    if (known.has(name)) return;
    known.add(name);
    queue.push({ bytes, name });
    if (save) writeFileSync(join(o.queueDir, name), bytes);
  };
  mkdirSync(o.queueDir, { recursive: true });

  const report = (extra: Partial<Progress> = {}): void => o.progress({ execs, queue: queue.length, edges, sitesHit, ...extra });
  const fail = (e: unknown, input: Uint8Array): void => {
    const err = e as Error;
    const message = err instanceof Error ? `${err.name}: ${err.message}\n${(err.stack ?? '').split('\n').slice(1, 8).join('\n')}` : String(e);
    report({ finding: { message, input: input.slice() } });
  };

  // The corpus and earlier finds: every one runs (a crash among them is a finding too).
  const initial = [...readInputs(o.corpusDir), ...readInputs(o.queueDir)];
  if (initial.length === 0) initial.push({ name: inputName(new Uint8Array(0)), bytes: new Uint8Array(0) });
  for (const e of initial) {
    try {
      run(e.bytes);
    } catch (err) {
      fail(err, e.bytes);
      return;
    }
    add(e.bytes, e.name, false);
  }

  const dictionary = (t.dictionary ?? []).map((d) => (typeof d === 'string' ? new Uint8Array(Buffer.from(d, 'latin1')) : d));
  const child = new Uint8Array(t.maxLen);
  const ctx: MutateContext = { rng, maxLen: t.maxLen, dictionary, other: () => queue[rng.below(queue.length)].bytes };
  const started = performance.now();
  let lastReport = started;
  let cursor = 0;
  outer: while (execs < o.execs) {
    const index = cursor++ % queue.length;
    const parent = queue[index];
    // The newest entries (found last, usually the deepest) get more children.
    const energy = index >= queue.length - 8 ? 1024 : 256;
    for (let k = 0; k < energy; k++) {
      const len = mutate(parent.bytes, child, ctx);
      const input = child.subarray(0, len);
      let fresh: boolean;
      try {
        fresh = run(input);
      } catch (err) {
        fail(err, input);
        return;
      }
      if (fresh) {
        const copy = input.slice();
        add(copy, inputName(copy), true);
      }
      if ((execs & 1023) === 0) {
        const now = performance.now();
        if (now - lastReport >= 1000) { report(); lastReport = now; }
        if (now - started >= o.seconds * 1000 || execs >= o.execs) break outer;
      }
    }
  }

  let corpus: number | undefined;
  if (o.writeCorpus) corpus = minimiseInto(queue, o, tables);
  const sites: number[] = [];
  for (let id = 0; id < MAP_BYTES; id++) if (sitesSeen[id] !== 0) sites.push(id);
  report({ corpus, sites });
}

// Keeps the smallest inputs that together reach every edge bucket the queue
// reached; writes them as the corpus and empties the queue directory.
function minimiseInto(queue: Entry[], o: LoopOptions, tables: () => CoverageTables): number {
  const covered = new Uint8Array(MAP_BYTES);
  const kept: Entry[] = [];
  for (const e of [...queue].sort((a, b) => a.bytes.length - b.bytes.length || (a.name < b.name ? -1 : 1))) {
    // Re-run with coverage read by hand (run() would clear it).
    const t = o.target;
    jsCoverage.reset();
    t.check(e.bytes);
    const c = tables();
    const n = c.touchedCount();
    let adds = false;
    for (let k = 0; k < n; k++) {
      const i = c.touched[k];
      const bucket = BUCKET[c.edges[i]];
      c.edges[i] = 0;
      if ((covered[i] & bucket) === 0) { covered[i] |= bucket; adds = true; }
    }
    c.reset();
    if (adds) kept.push(e);
  }
  mkdirSync(o.corpusDir, { recursive: true });
  const keep = new Set(kept.map((e) => e.name));
  for (const name of readdirSync(o.corpusDir)) if (!keep.has(name) && !name.endsWith('.md')) rmSync(join(o.corpusDir, name));
  for (const e of kept) if (!existsSync(join(o.corpusDir, e.name))) writeFileSync(join(o.corpusDir, e.name), e.bytes);
  rmSync(o.queueDir, { recursive: true, force: true });
  return kept.length;
}
