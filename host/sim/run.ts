// host/sim/run.ts: runs seeds and prints what `qenex sim` and the sim tests
// print: the trace (optional), one result line per seed, and `summary:` lines.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate, KNOWN_ISSUES, type SimResult } from './world.ts';
import { simImage } from './image.ts';
import type { ParsedImage } from '../image.ts';

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
  try {
    for (const seed of o.seeds) {
      const r = await simulate({ seed, steps: o.steps, image, imageBytes: bytes, dataDir: join(dir, `seed-${seed}`), bug: o.bug, trace: o.trace ? o.out : undefined });
      totals.results.push(r);
      totals.crashes += r.crashes;
      totals.acknowledged += r.acknowledged;
      for (const [k, v] of r.faults) totals.faults.set(k, (totals.faults.get(k) ?? 0) + v);
      o.out(`seed ${seed}: ${!r.ok ? `FAIL ${r.failure}` : r.known !== null ? `known issue ${r.known}` : 'ok'}; steps ${r.steps}, crashes ${r.crashes}, acknowledged ${r.acknowledged}/${r.sent}, state ${r.stateHash || '-'}, trace ${r.traceSha256.slice(0, 16)} (${r.traceLines} lines)`);
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
  o.out(`summary: sim${o.bug ? ` (bug ${o.bug})` : ''}: ${totals.results.length} seeds run, ${totals.failed.length} failed, ${totals.crashes} crashes survived, ${totals.acknowledged} acknowledged transfers, ${lost}`);
  o.out(`summary: sim faults injected: ${faults}`);
  const known = new Map<string, number[]>();
  for (const r of totals.results) if (r.known !== null) known.set(r.known, [...(known.get(r.known) ?? []), r.seed]);
  for (const [k, seeds] of known) o.out(`summary: sim KNOWN ISSUE ${k} (${KNOWN_ISSUES[k]}): seeds ${seeds.join(' ')}`);
  return totals;
}
