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
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { makeImage, removeDir, Server, type TestImage } from '../support/helpers.ts';
import { Book, crashManifest, createAccounts, drive, envInt, prng, replayHash, serve, verify } from './support.ts';

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
  const random = prng(SEED);
  const data = join(img.dir, 'data');
  const book = new Book();
  let conn = await serve(img, data);
  await createAccounts(conn.ledger);
  let killed = 0;
  let batchesAcked = 0;
  for (let it = 0; it < ITERATIONS; it++) {
    const where = `seed ${SEED} iteration ${it}`;
    // A kill after a seeded number of acknowledged batches plus a seeded delay,
    // so it lands at random points: mid-batch, mid-flush, between batches.
    const afterBatches = 1 + Math.floor(random() * 12);
    const delayMs = Math.floor(random() * 40);
    const inFlight = 1 + Math.floor(random() * 8);
    let kill: Promise<unknown> | null = null;
    const driving = drive(conn.ledger, book, random, inFlight, () => kill !== null);
    // Count acknowledgements as they come, then pull the plug.
    const batchesBefore = book.batchesAcked;
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (book.batchesAcked - batchesBefore >= afterBatches) {
          clearInterval(poll);
          setTimeout(() => { kill = conn.server.kill('SIGKILL'); resolve(); }, delayMs);
        }
      }, 1);
      // A host that dies on its own is a failure, not something to wait for.
      void conn.server.exited.then((code) => {
        if (kill !== null) return;
        clearInterval(poll);
        reject(new Error(`${where}: the host exited (${code}) before the kill; stderr: ${conn.server.stderr}`));
      });
    });
    await kill;
    batchesAcked += await driving;
    conn.frames.close();
    killed++;
    // Replay (read-only) first, then the reboot must land on the same state.
    const replayed = replayHash(data);
    conn = await serve(img, data);
    const ready = await conn.server.waitFor('ready');
    assert.is(ready.state_hash, replayed, `${where}: reboot hash = replay hash`);
    const { found } = await verify(conn.ledger, book, it % FULL_CHECK_EVERY === FULL_CHECK_EVERY - 1 || it === ITERATIONS - 1);
    assert.ok(found >= book.acked.size, `${where}: ${found} transfers present, ${book.acked.size} acknowledged`);
    console.log(`${where}: killed after ${afterBatches}+ batches (+${delayMs} ms, ${inFlight} in flight); ${book.acked.size} acknowledged, ${found} present`);
  }
  conn.frames.close();
  await conn.server.kill('SIGTERM');
  const stopped = conn.server.events.find((e) => e.event === 'stopped');
  assert.ok(stopped, 'the last life stops cleanly');
  assert.is(stopped!.state_hash, replayHash(data), 'the clean stop hash = replay hash');
  console.log(`\nsummary: crash loop seed ${SEED}: ${killed} SIGKILLs survived, ${book.acked.size} transfers acknowledged in ${batchesAcked} batches, ${book.sent.size} sent, 0 lost`);
});

test.run();
