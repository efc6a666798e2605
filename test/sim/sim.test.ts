// The deterministic simulator (host/sim) on the real kernel.wasm and ledger
// module. Proves:
//   - determinism: seed 42 run twice prints byte-identical traces and the
//     same state hash (what `qenex sim --seed 42` prints);
//   - the CI seed budget (seeds 1..QENEX_SIM_SEEDS, default 200, of
//     QENEX_SIM_STEPS steps, default 250; this file runs the first half,
//     sim-seeds.test.ts the second, so two processes share the work) passes: under disk latency, lost/reordered/torn unsynced
//     sectors, bit flips, network delay/drop/duplicate/truncate/disconnect,
//     clock jumps and crashes, nothing acknowledged is lost, debits =
//     credits, reboot = replay, and read corruption is never silent;
//   - the simulator can fail: with the test-only bug "acknowledge before the
//     flush" turned on, some seed in the budget fails with an acknowledged
//     transfer missing;
//   - every seed that ever failed stays a regression seed (REGRESSION_SEEDS).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { runSeeds } from '../../host/sim/run.ts';
import { simImage } from '../../host/sim/image.ts';
import { ROOT } from '../support/helpers.ts';

const BUILD = join(ROOT, 'build');
// Read once: every run in this file boots the very same bytes.
const IMAGE = simImage(BUILD);
const SEEDS = Number(process.env.QENEX_SIM_SEEDS ?? 200);
const HALF = Math.ceil(SEEDS / 2);
const STEPS = Number(process.env.QENEX_SIM_STEPS ?? 250);
// Seeds that once found a bug, run on every `make test` (none yet).
const REGRESSION_SEEDS: number[] = [];

async function run(seeds: number[], opts: { trace?: boolean; bug?: 'ack-before-flush'; steps?: number } = {}) {
  const lines: string[] = [];
  const totals = await runSeeds({ seeds, steps: opts.steps ?? STEPS, buildDir: BUILD, image: IMAGE, bug: opts.bug, trace: opts.trace ?? false, out: (l) => lines.push(l) });
  return { totals, lines };
}

test('seed 42 twice: byte-identical traces and state', async () => {
  const a = await run([42], { trace: true });
  const b = await run([42], { trace: true });
  assert.ok(a.lines.length > 100, `a real trace (${a.lines.length} lines)`);
  assert.is(a.lines.join('\n'), b.lines.join('\n'), 'identical output');
  assert.ok(a.totals.results[0].ok, a.totals.results[0].failure ?? '');
  assert.ok(a.totals.results[0].stateHash.length === 64);
});

test(`seeds 1..${HALF} of ${STEPS} steps: no failure`, async () => {
  const seeds = [...REGRESSION_SEEDS, ...Array.from({ length: HALF }, (_, i) => i + 1)];
  const { totals, lines } = await run(seeds);
  for (const l of lines) if (l.startsWith('summary:')) console.log(`\n${l}`);
  const failed = totals.failed.map((r) => `seed ${r.seed}: ${r.failure}`);
  assert.equal(failed, [], `failing seeds (rerun: qenex sim --seed N --steps ${STEPS}):\n${failed.join('\n')}`);
  assert.ok(totals.crashes > 0, 'crashes were injected');
  assert.ok((totals.faults.get('disk_torn_write') ?? 0) + (totals.faults.get('disk_lost_unsynced_sector') ?? 0) > 0, 'disk faults were injected');
  assert.ok((totals.faults.get('net_duplicate') ?? 0) > 0 && (totals.faults.get('net_truncate') ?? 0) > 0, 'network faults were injected');
});

test('a deliberate bug (acknowledge before the flush) is caught within the seed budget', async () => {
  const { totals, lines } = await run(Array.from({ length: Math.min(SEEDS, 20) }, (_, i) => i + 1), { bug: 'ack-before-flush' });
  const caught = totals.failed.filter((r) => /acknowledged transfer \d+ is missing/.test(r.failure ?? ''));
  assert.ok(caught.length > 0, `the simulator caught the bug:\n${lines.join('\n')}`);
  console.log(`\nsummary: sim bug ack-before-flush caught by ${caught.length} of ${totals.results.length} seeds (first: seed ${caught[0].seed})`);
});

test.run();
