// A full disk: the data directory on a small tmpfs, the ledger driven until
// the command log can grow no more. Proves: the host refuses new work with a
// clear error (a storage_failed event naming the failure, the request
// answered with FRAME_E_STORAGE or the connection closed, the process exits
// non-zero with a message), `qenex replay` still reads the log on the full
// disk, and after space is added the reboot has every acknowledged transfer
// exactly once with debits = credits and the reboot hash = replay.
// Needs mount privileges (root) for the tmpfs; without them the test says
// so and is skipped (nothing else in the suite depends on it).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { mkdirSync, rmdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as abi from '../../hal/abi.ts';
import { directLedgerManifest, makeImage, removeDir, Server, type TestImage } from '../support/helpers.ts';
import { Book, createAccounts, envInt, prng, replayHash, serve, verify } from './support.ts';

const SEED = envInt('QENEX_CRASH_SEED', 1);
let img: TestImage;
let mountPoint = '';
let mounted = false;

function mount(args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('mount', args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr ?? '') + (r.error?.message ?? '') };
}

test.before(() => {
  const manifest = directLedgerManifest();
  // Small preallocation steps, so the log grows (and hits the wall) during the run.
  manifest.kernel.log_preallocate_bytes = 64 * 1024;
  img = makeImage('disk-full', manifest);
  mountPoint = join(img.dir, 'tmpfs');
  mkdirSync(mountPoint);
  // Room for the image copy and about a few hundred KiB of log.
  const size = Math.ceil((img.bytes.length + 512 * 1024) / 4096) * 4096;
  const r = mount(['-t', 'tmpfs', '-o', `size=${size}`, 'qenex-disk-full', mountPoint]);
  mounted = r.ok;
  if (!mounted) console.log(`\nsummary: disk full: SKIPPED, cannot mount a tmpfs here (${r.err.trim()})`);
});
test.after(async () => {
  await Server.killAll();
  if (mounted) spawnSync('umount', [mountPoint]);
  try { rmdirSync(mountPoint); } catch { /* not empty or gone */ }
  removeDir(img.dir);
});

test('the log hits a full disk: new work refused with a clear error, nothing acknowledged lost', async () => {
  if (!mounted) return;
  const data = join(mountPoint, 'data');
  const random = prng(SEED);
  const book = new Book();
  const conn = await serve(img, data);
  await createAccounts(conn.ledger);
  let refusal = '';
  for (let b = 0; b < 10_000 && refusal === ''; b++) {
    const batch = book.batch(random, 50 + Math.floor(random() * 50));
    try {
      const r = await conn.frames.request('ledger', (await import('../../host/client/ledger.ts')).encodeTransfers(batch));
      if (r.status === abi.FRAME_OK) {
        const results = (await import('../../host/client/ledger.ts')).decodeCreateResults(r.payload);
        results.forEach((x, i) => { assert.is(x.result, 0); book.acked.add(batch[i].id); });
      } else {
        assert.is(r.status, abi.FRAME_E_STORAGE, `refused with the storage status, got ${r.status}: ${r.payload.toString('utf8')}`);
        refusal = `status ${r.status}: ${r.payload.toString('utf8')}`;
      }
    } catch (e) {
      refusal = (e as Error).message; // the connection closed as the host stopped
    }
  }
  assert.ok(refusal !== '', 'the disk filled up within the run');
  const code = await conn.server.exited;
  assert.is.not(code, 0, 'the host exits non-zero');
  const failed = conn.server.events.find((e) => e.event === 'storage_failed');
  assert.ok(failed, `a storage_failed event is reported; stderr: ${conn.server.stderr}`);
  assert.match(String(failed!.message), /durable/);
  assert.match(conn.server.stderr + JSON.stringify(conn.server.events), /ENOSPC|no space/i, 'the error names the full disk');
  assert.ok(book.acked.size > 0, 'some work was acknowledged before the disk filled');
  // The full disk still replays (read-only).
  const fullReplay = replayHash(data);
  // Add space, reboot: everything acknowledged is there.
  const r = mount(['-o', 'remount,size=64m', mountPoint]);
  assert.ok(r.ok, `remount with more space: ${r.err}`);
  const again = await serve(img, data);
  const ready = await again.server.waitFor('ready');
  assert.is(ready.state_hash, fullReplay, 'the reboot state = the replay on the full disk');
  const { found } = await verify(again.ledger, book);
  assert.ok(found >= book.acked.size);
  // New work is taken again once there is room.
  assert.ok(await book.send(again.ledger, book.batch(random, 5)), 'accepts work after space was added');
  again.frames.close();
  await again.server.kill('SIGTERM');
  const stopped = again.server.events.find((e) => e.event === 'stopped');
  assert.is(stopped?.state_hash, replayHash(data), 'stop hash = replay hash');
  console.log(`\nsummary: disk full: refused new work (${refusal.slice(0, 80)}), ${book.acked.size} acknowledged transfers kept`);
});

test.run();
