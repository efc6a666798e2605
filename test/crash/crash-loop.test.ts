// Crash loop with a real process: boots the real host (dist/qenex.js) on a
// real data directory, drives ledger load over real TCP, SIGKILLs it at a
// seeded random moment, and reboots, again and again. Proves, after every
// kill: `qenex replay` of the data directory and the rebooted host's ready
// line report the same state hash (both start from the newest valid
// snapshot, taken every SNAPSHOT_INTERVAL_ENTRIES); every transfer acknowledged in any
// earlier life is present exactly once with the amounts sent; every account
// balance is exactly the sum of the transfers present (nothing applied
// twice or partly); debits = credits per ledger, posted and pending.
//
// QENEX_CRASH_ITERATIONS (default 3; `make test-crash` runs 1,000) and
// QENEX_CRASH_SEED (default 1) choose the run; a failure names its seed and
// iteration, so it replays with the same choices.

import { test } from 'uvu';
import { makeImage, removeDir, Server, type TestImage } from '../support/helpers.ts';
import { crashLoop, crashManifest, envInt } from './support.ts';

const ITERATIONS = envInt('QENEX_CRASH_ITERATIONS', 3);
const SEED = envInt('QENEX_CRASH_SEED', 1);

let img: TestImage;
// Snapshots as a long-running machine takes them: a kill lands before,
// during or after one, and each reboot restores the newest valid one and
// replays the log after it (without them, a thousand kills replay an ever
// longer log: hours of the run).
const SNAPSHOT_INTERVAL_ENTRIES = 2000;
// A life sends about 1,900 transfers, and every id sent may have been
// logged: room for 3,000 ids a life (up to the ledger's ceiling).
const TRANSFERS_MAX = Math.min(1 << 22, Math.max(400_000, ITERATIONS * 3000));
// Every id sent is looked up again every FULL_CHECK_EVERY lives and after
// the last; in between, the ids of the life just ended (see verify).
const FULL_CHECK_EVERY = 25;

test.before(() => {
  const m = crashManifest(TRANSFERS_MAX);
  m.kernel.snapshot_interval_entries = SNAPSHOT_INTERVAL_ENTRIES;
  img = makeImage('crash-loop', m);
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

test(`SIGKILL under load, ${ITERATIONS} times (seed ${SEED}): nothing acknowledged is lost, invariants hold, reboot = replay`, async () => {
  await crashLoop(img, { seed: SEED, iterations: ITERATIONS, fullCheckEvery: FULL_CHECK_EVERY, name: 'crash loop' });
});

test.run();
