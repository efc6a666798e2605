// Power loss: the command log cut at a random offset (what a machine that
// lost power before the disk wrote everything can leave, with or without the
// preallocated zeros behind the cut). A real host writes accounts and
// transfer batches one at a time and stops; then, for seeded random offsets,
// the log is cut and the host rebooted. Proves: boot recovers exactly the
// valid prefix: every batch whose log entry lies wholly before the cut is
// present (with exactly its transfers, balances equal to their sum, debits
// = credits), no batch after the cut is, and the reboot hash equals
// `qenex replay` afterwards. QENEX_CRASH_CUTS (default 3) sets the number of
// offsets, QENEX_CRASH_SEED the seed. With QENEX_LOG_SEGMENT_BYTES (`make
// test-crash` runs it with 4 KiB too) the log is in many segment files and a
// cut ends the segment it falls in and empties or removes those after it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { cpSync, openSync, ftruncateSync, closeSync, rmSync, statSync } from 'node:fs';
import { makeImage, removeDir, Server, type TestImage } from '../support/helpers.ts';
import { readAuditLog } from '../../host/audit/log.ts';
import { entryPadded } from '../../host/base/log-entry.ts';
import { listSegments } from '../../host/devices/segmented-log.ts';
import { Book, accountIds, crashManifest, createAccounts, envInt, prng, replayHash, serve, verify } from './support.ts';
import type { Transfer } from '../../host/client/ledger.ts';

const CUTS = envInt('QENEX_CRASH_CUTS', 3);
const SEED = envInt('QENEX_CRASH_SEED', 1);
const BATCHES = 12;
import { ENTRY_INPUT } from '../../hal/log.ts';

let img: TestImage;
let pristine: string;
const batches: Transfer[][] = [];
let inputEnds: number[] = []; // end offset of each input entry: accounts, then batch 0, 1, ...

test.before(async () => {
  const manifest = crashManifest();
  // Segments of a few KiB: preallocate four ahead, not 256 MiB of them (thousands of files to copy per cut).
  const segmentBytes = Number(process.env.QENEX_LOG_SEGMENT_BYTES ?? 0);
  if (segmentBytes > 0) manifest.kernel.log_preallocate_bytes = 4 * segmentBytes;
  img = makeImage('power-loss', manifest);
  pristine = join(img.dir, 'pristine');
  const random = prng(SEED);
  const book = new Book();
  const conn = await serve(img, pristine);
  await createAccounts(conn.ledger);
  for (let b = 0; b < BATCHES; b++) {
    const batch = book.batch(random, 1 + Math.floor(random() * 50));
    assert.ok(await book.send(conn.ledger, batch), `batch ${b} acknowledged`);
    batches.push(batch);
  }
  conn.frames.close();
  await conn.server.kill('SIGTERM');
  inputEnds = readAuditLog(pristine).entries.filter((e) => e.type === ENTRY_INPUT).map((e) => e.offset + entryPadded(e.total));
  assert.is(inputEnds.length, BATCHES + 1, 'one input entry per request');
});

// What power loss leaves: the log's bytes up to `cut`, then nothing or (the
// preallocated tail) zeros up to where the log ended, in whatever segment
// files hold them (host/devices/segmented-log.ts; one file when the log fits one).
function cutLog(data: string, cut: number, keepTail: boolean): void {
  for (const s of listSegments(data)) {
    const path = join(data, s.name);
    const length = statSync(path).size;
    if (s.firstBytes > 0 && s.firstBytes >= cut && !keepTail) { rmSync(path); continue; }
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, Math.max(0, Math.min(length, cut - s.firstBytes)));
    if (keepTail) ftruncateSync(fd, length); // reads as zeros
    closeSync(fd);
  }
}
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

test(`the log cut at ${CUTS} seeded offsets (seed ${SEED}): the valid prefix and nothing else`, async () => {
  const random = prng(SEED * 7919 + 1);
  const lastEnd = inputEnds.at(-1)!;
  for (let c = 0; c < CUTS; c++) {
    // Offsets anywhere up to a little past the last entry; half keep the zeroed preallocated tail.
    const cut = Math.floor(random() * (lastEnd + 200));
    const keepTail = random() < 0.5;
    const where = `seed ${SEED} cut ${c} at ${cut}${keepTail ? ' (zeros after)' : ''}`;
    const data = join(img.dir, `cut-${c}`);
    cpSync(pristine, data, { recursive: true });
    cutLog(data, cut, keepTail);
    const whole = inputEnds.filter((end) => end <= cut).length; // input entries that survive
    // Replay of the cut log (read-only) and the reboot that cuts it agree.
    const replayed = replayHash(data);
    const conn = await serve(img, data);
    const ready = await conn.server.waitFor('ready');
    assert.is(ready.state_hash, replayed, `${where}: reboot hash = replay hash`);
    const book = new Book();
    batches.forEach((batch, b) => batch.forEach((t) => {
      book.sent.set(t.id, t);
      if (b < whole - 1) book.acked.add(t.id);
    }));
    if (whole === 0) {
      assert.is((await conn.ledger.lookupAccounts(accountIds().map((a) => a.id))).length, 0, `${where}: no accounts survive a cut inside their entry`);
      assert.is((await conn.ledger.lookupTransfers([...book.sent.keys()])).length, 0, `${where}: no transfers`);
    } else {
      const { found } = await verify(conn.ledger, book);
      assert.is(found, book.acked.size, `${where}: exactly the ${whole - 1} batches before the cut are present`);
    }
    conn.frames.close();
    await conn.server.kill('SIGTERM');
    const stopped = conn.server.events.find((e) => e.event === 'stopped');
    assert.ok(stopped, `${where}: stops cleanly`);
    // The lookups were logged too, so the stop hash is compared, not the ready hash.
    assert.is(replayHash(data), stopped!.state_hash, `${where}: the stop hash = replay hash`);
    removeDir(data);
  }
  console.log(`\nsummary: power loss seed ${SEED}: ${CUTS} log cuts recovered, 0 acknowledged-before-cut entries lost`);
});

test.run();
