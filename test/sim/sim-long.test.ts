// A few long seeds in every `make test` (the long budget is `make sim`:
// 1,000 seeds of 10,000 steps). Every seed once failed near step 1,850
// (a reply larger than a message left the checker waiting forever:
// test/integration/undeliverable.test.ts); seeds of 2,500 steps go past that
// depth, through dozens of crashes and heals with the liveness check.
// They also prove that the simulated machine keeps snapshots on the
// simulated disk and recovers from them: snapshots are written, replays and
// reboots after crashes start from one, and the full replays (every tenth
// heal, and the end) agree with the live state.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { runSeeds } from '../../host/sim/run.ts';
import { ROOT } from '../support/helpers.ts';

const BUILD = join(ROOT, 'build');
const STEPS = Number(process.env.QENEX_SIM_LONG_STEPS ?? 2500);

test(`seeds 42 and 43 of ${STEPS} steps: no failure, every heal at rest`, async () => {
  const lines: string[] = [];
  const totals = await runSeeds({ seeds: [42, 43], steps: STEPS, buildDir: BUILD, trace: true, out: (l) => lines.push(l) });
  for (const l of lines) if (l.startsWith('summary:')) console.log(`\n${l}`);
  const results = lines.filter((l) => /^seed \d+:/.test(l));
  assert.equal(totals.failed.map((r) => `seed ${r.seed}: ${r.failure}`), [], results.join('\n'));
  assert.ok(totals.results.every((r) => r.steps === STEPS), 'each seed ran its whole length');
  assert.ok(totals.crashes >= 20, `${totals.crashes} crashes survived`);
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  assert.ok(count(/ live snapshot_written entries=\d+$/) >= 2, 'the live machines wrote snapshots');
  assert.ok(count(/ replay snapshot_loaded entries=\d+$/) >= 10, 'replays after crashes and at heals started from a snapshot');
  assert.ok(count(/ live snapshot_loaded entries=\d+$/) >= 5, 'reboots after crashes started from a snapshot');
  assert.ok(count(/ checkpoint: full replay = live /) >= 2, 'replays of the whole log agreed with the live state');
});

test.run();
