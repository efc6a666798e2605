// The crash loop (support.ts crashLoop) with the ledger on its grid: a window
// of 256 transfers, so every batch evicts into the trees and compaction runs
// all the time, and a machine snapshot every 4 log entries, so kills land
// before, during and after checkpoints (the ledger's pages written, the grid
// synced, the snapshot file renamed) and in the middle of compactions. Each
// reboot restores the newest snapshot with the grid it refers to (or, when
// the log went two checkpoints past it, replays from the first entry) and
// must reach the state of a full replay (`qenex replay` of a grid machine
// replays every entry into a scratch grid), with every acknowledged transfer
// present once, debits = credits.
//
// QENEX_CRASH_ITERATIONS (default 3; `make test-crash` runs more) and
// QENEX_CRASH_SEED (default 1) choose the run.

import { test } from 'uvu';
import { makeImage, removeDir, Server, type TestImage } from '../support/helpers.ts';
import { crashLoop, crashManifest, envInt } from './support.ts';
import { ledgerOnGrid } from '../support/grid-ledger.ts';

const ITERATIONS = envInt('QENEX_CRASH_ITERATIONS', 3);
const SEED = envInt('QENEX_CRASH_SEED', 1);
const WINDOW = 256; // batches here are at most 120 transfers
// A fifth of what a life sends stays pending for good: the side table holds them all.
const PENDING_MAX = Math.max(16_384, 2 ** Math.ceil(Math.log2(ITERATIONS * 600)));

let img: TestImage;

test.before(() => {
  const m = crashManifest();
  m.kernel.snapshot_interval_entries = 4;
  // history_max: at least 2 × window + 2 × pending + 2 × min(window, 8189), a power of two (docs/storage.md).
  const historyMax = 2 ** Math.ceil(Math.log2(4 * WINDOW + 2 * PENDING_MAX));
  img = makeImage('crash-grid', ledgerOnGrid(m, {
    accounts_max: 1000, transfers_max: WINDOW, pending_max: PENDING_MAX, history_max: historyMax, grid_blocks: 65536, cache_blocks: 64,
  }));
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

test(`ledger on its grid: SIGKILL under load, ${ITERATIONS} times (seed ${SEED}): nothing acknowledged is lost, reboot from a checkpoint = full replay`, async () => {
  await crashLoop(img, { seed: SEED, iterations: ITERATIONS, fullCheckEvery: 10, name: 'grid crash loop' });
});

test.run();
