// Checkpoints of a ledger on its grid (issue 16): the machine snapshot of a
// service that keeps a grid records only the pages of its memory that changed
// (host/snapshot-pages.ts) and refers to its grid's blocks, which the kernel's
// checkpoint messages keep from being reused while a snapshot may need them
// (kernel/snapshot.ts). A real `qenex boot` with a snapshot every 2 log
// entries, driven over the binary protocol, is killed (SIGKILL) twice in the
// middle of its work; each boot restores the newest snapshot, keeps the grid,
// replays only the log after it, and answers for the oldest and newest
// transfers, an account's whole history and the oldest ids (`exists`); a full
// replay of the log into a scratch grid reaches the same state hash. Then a
// snapshot put back after its grid moved on (the log is two checkpoints past
// it) is skipped as stale and the boot replays the log from its first entry.
//
// Run: node --import tsx test/integration/ledger-checkpoint.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { account, type LedgerClient } from '../../host/client/ledger.ts';
import { gridFileName } from '../../host/devices/grid.ts';
import { event, removeDir, runCli, Server, type TestImage } from '../support/helpers.ts';
import { checkHistory, gridLedgerImage, serveLedger, workloadBatch } from '../support/grid-ledger.ts';

const BATCH = 4000;
const INTERVAL = 2;
let img: TestImage;

test.before(() => {
  img = gridLedgerImage('ledger-checkpoint', { transfers_max: 8192, history_max: 65536, cache_blocks: 64 }, INTERVAL);
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

async function createBatches(ledger: LedgerClient, from: number, count: number): Promise<void> {
  for (let b = 0; b < count; b++) {
    const results = await ledger.createTransfers(workloadBatch(1 + (from + b) * BATCH, BATCH));
    assert.ok(results.every((r) => r.result === 0), `batch ${from + b} created`);
  }
}

/** The snapshot_written lines once there are at least `n` (a snapshot is written while the machine serves on). */
interface Written { page_bytes: number; paged_state_bytes: number; entries: number }
async function snapshotsWritten(server: Server, n: number): Promise<Written[]> {
  for (let i = 0; i < 600; i++) {
    const w = server.events.filter((e) => e.event === 'snapshot_written') as unknown as Written[];
    if (w.length >= n) return w;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${n} snapshots written in 30 s: ${JSON.stringify(server.events.filter((e) => String(e.event).startsWith('snapshot')))} ${server.stderr}`);
}

function snapshotFiles(data: string): string[] {
  return readdirSync(join(data, 'snapshots')).filter((n) => !n.endsWith('.tmp')).sort();
}

test('a ledger on its grid restores from incremental snapshots after kill -9, and a stale one is refused', async () => {
  const data = join(img.dir, 'data');
  const saved = join(img.dir, 'saved');
  let { server, frames, ledger } = await serveLedger(img, data);
  const accounts = await ledger.createAccounts(Array.from({ length: 8 }, (_, i) => account({ id: BigInt(i + 1), ledger: 1, code: 1 })));
  assert.ok(accounts.every((r) => r.result === 0), 'accounts created');
  await createBatches(ledger, 0, 5);
  // A snapshot due while the one before is still being written waits for it, so how many a run takes
  // depends on the disk's pace: two at least (after entry 2, and at a later multiple of 2).
  const written = await snapshotsWritten(server, 2);
  assert.ok(written.length >= 2, `snapshots were written (${written.length})`);
  // The first writes every page of the ledger's hot state, a later one what changed.
  const newest = written.at(-1)!;
  assert.ok(newest.page_bytes < newest.paged_state_bytes, `incremental: ${newest.page_bytes} of ${newest.paged_state_bytes} bytes of pages written`);
  // Keep the newest snapshot and its pages for the stale check below.
  mkdirSync(saved, { recursive: true });
  for (const n of readdirSync(join(data, 'snapshots'))) copyFileSync(join(data, 'snapshots', n), join(saved, n));
  const gridBefore = statSync(join(data, gridFileName('ledger'))).size;
  frames.close();
  await server.kill('SIGKILL');

  // Boot 2: the newest snapshot, the grid as it was, only the log's tail.
  ({ server, frames, ledger } = await serveLedger(img, data));
  const loaded = await server.waitFor('snapshot_loaded') as { entries: number };
  assert.ok(loaded.entries >= written.at(-1)!.entries, 'the newest snapshot was restored');
  await checkHistory(ledger, 5 * BATCH, 'after the first kill'); // the older half is on the grid alone
  assert.ok(statSync(join(data, gridFileName('ledger'))).size >= gridBefore, 'the grid was kept, not written again');
  await createBatches(ledger, 5, 5);
  frames.close();
  await server.kill('SIGKILL');

  // Boot 3, then a clean stop: the live state hash.
  ({ server, frames, ledger } = await serveLedger(img, data));
  await server.waitFor('snapshot_loaded');
  await checkHistory(ledger, 10 * BATCH, 'after the second kill');
  frames.close();
  await server.kill('SIGTERM');
  const stopped = await server.waitFor('stopped');

  // A full replay (scratch grid, cold cache, no snapshot) reaches the same state.
  const r = runCli(['replay', '--data', data, '--trust', img.pubPath]);
  assert.is(r.code, 0, r.stderr);
  const replayed = event(r.events, 'replay') as { state_hash: string; entries: number; snapshot_entries: number } | undefined;
  assert.equal([replayed?.state_hash, replayed?.entries, replayed?.snapshot_entries], [stopped.state_hash, stopped.entries, 0], 'the full replay reaches the live state');

  // The snapshot saved after boot 1 is many checkpoints behind the grid now:
  // put back alone, it is refused as stale and the log replayed from its start.
  for (const n of snapshotFiles(data)) rmSync(join(data, 'snapshots', n));
  for (const n of readdirSync(saved)) copyFileSync(join(saved, n), join(data, 'snapshots', n));
  ({ server, frames, ledger } = await serveLedger(img, data));
  const stale = await server.waitFor('snapshot_skipped') as { file: string; reason: string };
  assert.ok(stale.file.endsWith('.qxs') && stale.reason.startsWith('stale:'), `the stale snapshot is named: ${JSON.stringify(stale)}`);
  assert.not.ok(server.events.some((e) => e.event === 'snapshot_loaded'), 'no snapshot restored: the log replayed from its first entry');
  // The grid is written again from the log: no snapshot taken before may be restored later.
  assert.ok(server.events.some((e) => e.event === 'snapshot_dropped'), 'the snapshots of the old grid are dropped');
  await checkHistory(ledger, 10 * BATCH, 'after a stale snapshot');
  frames.close();
  await server.kill('SIGTERM');
  const again = await server.waitFor('stopped');
  assert.is(again.state_hash, runReplayHash(data), 'the boot that refused the stale snapshot reaches the replay state');
});

function runReplayHash(data: string): unknown {
  const r = runCli(['replay', '--data', data, '--trust', img.pubPath]);
  assert.is(r.code, 0, r.stderr);
  return (event(r.events, 'replay') as { state_hash: string } | undefined)?.state_hash;
}

test.run();
