// The second half of the simulator's CI seed budget (the first half and
// what the budget proves: sim.test.ts). Seeds HALF+1..QENEX_SIM_SEEDS
// (default 101..200) of QENEX_SIM_STEPS steps (default 250) must all pass:
// nothing acknowledged lost, debits = credits, reboot = replay, live =
// replay at checkpoints, read corruption never silent.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { runSeeds } from '../../host/sim/run.ts';
import { simImage } from '../../host/sim/image.ts';
import { ROOT } from '../support/helpers.ts';

const BUILD = join(ROOT, 'build');
const SEEDS = Number(process.env.QENEX_SIM_SEEDS ?? 200);
const STEPS = Number(process.env.QENEX_SIM_STEPS ?? 250);
const HALF = Math.ceil(SEEDS / 2);

test(`seeds ${HALF + 1}..${SEEDS} of ${STEPS} steps: no failure`, async () => {
  const lines: string[] = [];
  const seeds = Array.from({ length: SEEDS - HALF }, (_, i) => HALF + 1 + i);
  const totals = await runSeeds({ seeds, steps: STEPS, buildDir: BUILD, image: simImage(BUILD), trace: false, out: (l) => lines.push(l) });
  for (const l of lines) if (l.startsWith('summary:')) console.log(`\n${l}`);
  const failed = totals.failed.map((r) => `seed ${r.seed}: ${r.failure}`);
  assert.equal(failed, [], `failing seeds (rerun: qenex sim --seed N --steps ${STEPS}):\n${failed.join('\n')}`);
  assert.ok(totals.crashes > 0, 'crashes were injected');
});

test.run();
