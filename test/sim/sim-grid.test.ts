// The simulator with the ledger on its grid (host/sim/image.ts
// simGridManifest): a 64-transfer window, so most of each run's history
// lives in the grid's trees, under the same faults as sim.test.ts (disk
// latency, lost/torn/reordered unsynced sectors, bit flips on write and on
// read, network faults, clock jumps, crashes). Snapshots every 16 entries:
// a reboot restores the newest one (its pages and the grid it refers to, on
// the same faulty disk) or, when it is stale or damaged, replays the log into
// a fresh grid; a replay reads a scratch grid
// on the faulty disk: a block that fails its checks is read again, and only
// one that keeps failing stops the machine, so a transient bit flip never
// changes a replayed state. Proves: nothing acknowledged is lost, debits =
// credits, reboot = replay, live = replay at checkpoints, read corruption
// never silent.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { runSeeds } from '../../host/sim/run.ts';
import { simGridManifest, simImage } from '../../host/sim/image.ts';
import { ROOT } from '../support/helpers.ts';

const BUILD = join(ROOT, 'build');
const SEEDS = Number(process.env.QENEX_SIM_GRID_SEEDS ?? 24);
const STEPS = Number(process.env.QENEX_SIM_STEPS ?? 250);

test(`grid ledger: seeds 1..${SEEDS} of ${STEPS} steps: no failure`, async () => {
  const lines: string[] = [];
  const seeds = Array.from({ length: SEEDS }, (_, i) => 1 + i);
  const totals = await runSeeds({ seeds, steps: STEPS, buildDir: BUILD, image: simImage(BUILD, simGridManifest()), trace: true, out: (l) => lines.push(l) });
  for (const l of lines) if (l.startsWith('summary:')) console.log(`\n${l}`);
  const failed = totals.failed.map((r) => `seed ${r.seed}: ${r.failure}`);
  assert.equal(failed, [], `failing seeds:\n${failed.join('\n')}`);
  assert.ok(totals.crashes > 0 && totals.acknowledged > 0, 'crashes were injected and transfers acknowledged');
  const restored = lines.filter((l) => / live snapshot_loaded entries=\d+$/.test(l)).length;
  assert.ok(restored >= SEEDS / 4, `reboots restored a snapshot of the grid ledger (${restored})`);
});

test.run();
