// host/sim/run.ts: runs seeds and prints what `qenex sim` and the sim tests
// print: the trace (optional), one result line per seed, and `summary:` lines.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileDurably } from '../base/durable.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate, KNOWN_ISSUES, type SimResult } from './world.ts';
import { simImage } from './image.ts';
import type { ParsedImage } from '../image.ts';
import type { SimChecker } from './checker.ts';

export interface RunOptions {
  seeds: number[];
  steps: number;
  buildDir: string;
  /** The image to run (default: simImage(buildDir), read once). */
  image?: { image: ParsedImage; bytes: Uint8Array };
  bug?: 'ack-before-flush';
  /** Print every trace line (one seed: `qenex sim --seed N`). */
  trace: boolean;
  out: (line: string) => void;
  /** Stop at the first failing seed. */
  stopOnFailure?: boolean;
  /** The checkers of each seed's world (default: the ledger's). */
  checkers?: () => SimChecker[];
  /**
   * A progress file: seeds that already passed at these steps with this very
   * image (same kernel and services) are skipped, and each seed's outcome is
   * added as it ends, so a long run stopped anywhere goes on where it stopped.
   */
  progressFile?: string;
}

/** What a progress file holds (JSON). */
export interface Progress {
  /** SHA-256 of the simulated image: another build is another program, and starts over. */
  image: string;
  steps: number;
  /** Seeds that passed, as sorted inclusive ranges. */
  passed: [number, number][];
  failed: { seed: number; failure: string }[];
  /** Seeds passed times steps: the figure the README records. */
  seed_steps: number;
  crashes: number;
  acknowledged: number;
}

function loadProgress(file: string, image: string, steps: number): Progress {
  const fresh: Progress = { image, steps, passed: [], failed: [], seed_steps: 0, crashes: 0, acknowledged: 0 };
  if (!existsSync(file)) return fresh;
  const p = JSON.parse(readFileSync(file, 'utf8')) as Progress;
  return p.image === image && p.steps === steps ? p : fresh;
}

function hasPassed(p: Progress, seed: number): boolean {
  return p.passed.some(([a, b]) => seed >= a && seed <= b);
}

function addPassed(p: Progress, seed: number): void {
  const ranges = [...p.passed, [seed, seed] as [number, number]].sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  p.passed = merged;
}

export interface RunTotals {
  results: SimResult[];
  failed: SimResult[];
  faults: Map<string, number>;
  crashes: number;
  acknowledged: number;
}

export async function runSeeds(o: RunOptions): Promise<RunTotals> {
  const { image, bytes } = o.image ?? simImage(o.buildDir);
  const dir = mkdtempSync(join(tmpdir(), 'qenex-sim-'));
  const totals: RunTotals = { results: [], failed: [], faults: new Map(), crashes: 0, acknowledged: 0 };
  const progress = o.progressFile === undefined ? null
    : loadProgress(o.progressFile, createHash('sha256').update(bytes).digest('hex'), o.steps);
  if (progress !== null) mkdirSync(dirname(o.progressFile!), { recursive: true });
  let skipped = 0;
  try {
    for (const seed of o.seeds) {
      if (progress !== null && hasPassed(progress, seed)) { skipped++; continue; }
      const r = await simulate({ seed, steps: o.steps, image, imageBytes: bytes, dataDir: join(dir, `seed-${seed}`), bug: o.bug, trace: o.trace ? o.out : undefined, checkers: o.checkers?.() });
      totals.results.push(r);
      totals.crashes += r.crashes;
      totals.acknowledged += r.acknowledged;
      for (const [k, v] of r.faults) totals.faults.set(k, (totals.faults.get(k) ?? 0) + v);
      const verdict = !r.ok ? `FAIL ${r.failure}` : r.known !== null ? `known issue ${r.known}` : 'ok';
      o.out(`seed ${seed}: ${verdict}; steps ${r.steps}, crashes ${r.crashes}, acknowledged ${r.acknowledged}/${r.sent}, `
        + `state ${r.stateHash || '-'}, trace ${r.traceSha256.slice(0, 16)} (${r.traceLines} lines)`);
      if (progress !== null) {
        if (r.ok) { addPassed(progress, seed); progress.seed_steps += o.steps; progress.crashes += r.crashes; progress.acknowledged += r.acknowledged; }
        else progress.failed = [...progress.failed.filter((f) => f.seed !== seed), { seed, failure: r.failure ?? '' }];
        writeFileDurably(o.progressFile!, JSON.stringify(progress, null, 1) + '\n');
      }
      if (!r.ok) {
        totals.failed.push(r);
        if (o.stopOnFailure) break;
      }
      rmSync(join(dir, `seed-${seed}`), { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const faults = [...totals.faults].sort().map(([k, v]) => `${k}=${v}`).join(' ');
  const lost = totals.failed.length === 0 ? '0 lost' : `failing seeds: ${totals.failed.map((r) => r.seed).join(' ')}`;
  const stepsRun = totals.results.reduce((a, r) => a + r.steps, 0);
  o.out(`summary: sim${o.bug ? ` (bug ${o.bug})` : ''}: ${totals.results.length} seeds run (${stepsRun} steps), ${totals.failed.length} failed, `
    + `${totals.crashes} crashes survived, ${totals.acknowledged} acknowledged transfers, ${lost}`);
  if (progress !== null) {
    const ranges = progress.passed.map(([a, b]) => (a === b ? `${a}` : `${a}..${b}`)).join(',');
    o.out(`summary: sim progress ${o.progressFile}: ${skipped} seeds skipped (passed before); in all ${progress.seed_steps} seed-steps passed `
      + `at ${o.steps} steps (seeds ${ranges}), ${progress.failed.length} failing`);
  }
  o.out(`summary: sim faults injected: ${faults}`);
  const known = new Map<string, number[]>();
  for (const r of totals.results) if (r.known !== null) known.set(r.known, [...(known.get(r.known) ?? []), r.seed]);
  for (const [k, seeds] of known) o.out(`summary: sim KNOWN ISSUE ${k} (${KNOWN_ISSUES[k]}): seeds ${seeds.join(' ')}`);
  return totals;
}
