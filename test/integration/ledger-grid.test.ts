// The ledger on its grid, end to end (issue 16's acceptance): a real
// `qenex boot` of an image whose ledger keeps a window of 16,384 transfers in
// memory and everything older in LSM trees on its grid (grid-ledger.qxg,
// read through the kernel's prefetch step), driven over the binary protocol.
// It takes three windows' worth of transfers, answers for the oldest and the
// newest alike, pages through one account's whole history and refuses the
// oldest ids again as `exists`; then it is killed (SIGKILL) and booted again
// (the log is replayed into a fresh grid) and answers the same, and a replay
// of its log (into a scratch grid, with a cold cache) reaches the state hash
// the live machine stopped with.
//
// Run: node --import tsx test/integration/ledger-grid.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { FrameClient } from '../../host/client/frames.ts';
import { LedgerClient, account, accountFilter, transfer, createTransferResultName, type Transfer } from '../../host/client/ledger.ts';
import { gridFileName } from '../../host/devices/grid.ts';
import { directLedgerManifest, event, makeImage, removeDir, runCli, Server, type TestImage } from '../support/helpers.ts';

const BATCH = 8189;
const BATCHES = 6;
let img: TestImage;

test.before(() => {
  const manifest = directLedgerManifest();
  const ledger = manifest.services.find((s) => s.name === 'ledger')!;
  // A ledger on a grid answers through the log (no "read"); its grid needs "storage".
  ledger.caps = [...ledger.caps.filter((c) => c !== 'read'), 'storage'];
  ledger.memory_pages_max = 32768;
  ledger.config = {
    accounts_max: 1024, transfers_max: 16384, pending_max: 1024, history_max: 65536,
    grid_blocks: 65536, cache_blocks: 64, prefault: false, events: true,
  };
  img = makeImage('ledger-grid', manifest);
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

async function serve(data: string): Promise<{ server: Server; frames: FrameClient; ledger: LedgerClient }> {
  const server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  const { host, port } = await server.address();
  const frames = await FrameClient.connect(host, port);
  return { server, frames, ledger: new LedgerClient(frames) };
}

function debitOf(n: number): bigint { return BigInt(1 + (n % 8)); }
function creditOf(n: number): bigint { return BigInt(1 + ((n + 3) % 8)); }

function batch(first: number): Transfer[] {
  return Array.from({ length: BATCH }, (_, i) => {
    const n = first + i;
    return transfer({ id: BigInt(n), debit_account_id: debitOf(n), credit_account_id: creditOf(n), amount: BigInt(1 + (n % 500)), ledger: 1, code: 7, user_data_64: BigInt(n) });
  });
}

/** Every transfer of account 2, by paging 1000 at a time oldest first. */
async function historyOf(ledger: LedgerClient): Promise<bigint[]> {
  const ids: bigint[] = [];
  let from = 0n;
  for (;;) {
    const page = await ledger.getAccountTransfers(accountFilter({ account_id: 2n, limit: 1000, timestamp_min: from }));
    ids.push(...page.map((t) => t.id));
    if (page.length < 1000) return ids;
    from = page[page.length - 1].timestamp + 1n;
  }
}

async function checkHistory(ledger: LedgerClient, last: number, where: string): Promise<void> {
  const [oldest, newest] = await ledger.lookupTransfers([1n, BigInt(last)]);
  assert.equal([oldest?.id, oldest?.user_data_64, oldest?.amount], [1n, 1n, 2n], `${where}: the oldest transfer`);
  assert.equal([newest?.id, newest?.user_data_64], [BigInt(last), BigInt(last)], `${where}: the newest transfer`);
  const expected: bigint[] = [];
  for (let n = 1; n <= last; n++) if (debitOf(n) === 2n || creditOf(n) === 2n) expected.push(BigInt(n));
  assert.equal(await historyOf(ledger), expected, `${where}: account 2's whole history, in order`);
  const again = await ledger.createTransfers(batch(1).slice(0, 3));
  assert.equal(again.map((r) => createTransferResultName(r.result)), ['exists', 'exists', 'exists'], `${where}: the oldest ids`);
}

test('a ledger on its grid keeps every transfer past its memory, across a kill and a replay', async () => {
  const data = join(img.dir, 'data');
  let { server, frames, ledger } = await serve(data);
  const accounts = await ledger.createAccounts(Array.from({ length: 8 }, (_, i) => account({ id: BigInt(i + 1), ledger: 1, code: 1 })));
  assert.ok(accounts.every((r) => r.result === 0), 'accounts created');
  for (let b = 0; b < BATCHES; b++) {
    const results = await ledger.createTransfers(batch(1 + b * BATCH));
    assert.ok(results.every((r) => r.result === 0), `batch ${b} created`);
  }
  const last = BATCHES * BATCH;
  await checkHistory(ledger, last, 'live');
  const grid = join(data, gridFileName('ledger'));
  assert.ok(statSync(grid).size > 64 * 65536, 'the transfers that left memory are on the grid');
  frames.close();
  await server.kill('SIGKILL');

  ({ server, frames, ledger } = await serve(data));
  await checkHistory(ledger, last, 'after kill -9 and boot');
  frames.close();
  await server.kill('SIGTERM');
  const stopped = await server.waitFor('stopped');

  // The replay's cache never held what the live one did (it read other blocks, at other times):
  // the state hash skips the cache, so the two agree.
  const r = runCli(['replay', '--data', data, '--trust', img.pubPath]);
  assert.is(r.code, 0, r.stderr);
  const replayed = event(r.events, 'replay') as { state_hash: string; entries: number } | undefined;
  assert.equal([replayed?.state_hash, replayed?.entries], [stopped.state_hash, stopped.entries], 'the replay reaches the live state');
});

test.run();
