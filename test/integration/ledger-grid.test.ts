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
import { account } from '../../host/client/ledger.ts';
import { gridFileName } from '../../host/devices/grid.ts';
import { event, removeDir, runCli, Server, type TestImage } from '../support/helpers.ts';
import { checkHistory, gridLedgerImage, serveLedger, workloadBatch } from '../support/grid-ledger.ts';

const BATCH = 8189;
const BATCHES = 6;
let img: TestImage;

test.before(() => {
  img = gridLedgerImage('ledger-grid', { transfers_max: 16384, history_max: 65536, cache_blocks: 64 });
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

test('a ledger on its grid keeps every transfer past its memory, across a kill and a replay', async () => {
  const data = join(img.dir, 'data');
  let { server, frames, ledger } = await serveLedger(img, data);
  const accounts = await ledger.createAccounts(Array.from({ length: 8 }, (_, i) => account({ id: BigInt(i + 1), ledger: 1, code: 1 })));
  assert.ok(accounts.every((r) => r.result === 0), 'accounts created');
  for (let b = 0; b < BATCHES; b++) {
    const results = await ledger.createTransfers(workloadBatch(1 + b * BATCH, BATCH));
    assert.ok(results.every((r) => r.result === 0), `batch ${b} created`);
  }
  const last = BATCHES * BATCH;
  await checkHistory(ledger, last, 'live');
  const grid = join(data, gridFileName('ledger'));
  assert.ok(statSync(grid).size > 64 * 65536, 'the transfers that left memory are on the grid');
  frames.close();
  await server.kill('SIGKILL');

  ({ server, frames, ledger } = await serveLedger(img, data));
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
