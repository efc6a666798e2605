// A few long seeds in every `make test` (the long budget is `make sim`:
// 1,000 seeds of 10,000 steps). Every seed once failed near step 1,850
// (a reply larger than a message left the checker waiting forever:
// test/integration/undeliverable.test.ts); seeds of 2,500 steps go past that
// depth, through dozens of crashes and heals with the liveness check.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { runSeeds } from '../../host/sim/run.ts';
import { ROOT } from '../support/helpers.ts';

const BUILD = join(ROOT, 'build');
const STEPS = Number(process.env.QENEX_SIM_LONG_STEPS ?? 2500);

test(`seeds 42 and 43 of ${STEPS} steps: no failure, every heal at rest`, async () => {
  const lines: string[] = [];
  const totals = await runSeeds({ seeds: [42, 43], steps: STEPS, buildDir: BUILD, trace: false, out: (l) => lines.push(l) });
  for (const l of lines) if (l.startsWith('summary:')) console.log(`\n${l}`);
  assert.equal(totals.failed.map((r) => `seed ${r.seed}: ${r.failure}`), [], lines.join('\n'));
  assert.ok(totals.results.every((r) => r.steps === STEPS), 'each seed ran its whole length');
  assert.ok(totals.crashes >= 20, `${totals.crashes} crashes survived`);
});

test.run();
