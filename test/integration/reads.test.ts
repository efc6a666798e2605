// Reads (hal/frames.ts FRAME_F_READ) over real TCP, against a ledger with
// the capabilities net and read. Proves:
//   - reads answer lookups and account queries with the same bytes the
//     logged requests do, and write no log entry: a run of nothing but
//     reads leaves the log (entries, state hash) as an idle run does;
//   - reads are linearizable: a transfer acknowledged on one connection is
//     found by a read sent after it on another, every time;
//   - what a read cannot be is refused with a specific error and nothing
//     logged: a create sent as a read (the ledger's message), a read to a
//     service without capability read (FRAME_E_DENIED), unknown request
//     flags (FRAME_E_MALFORMED);
//   - in the bank image the gateway's lookup and query routes are reads
//     (ADM_ROUTE_F_READ): HTTP lookups write no log entry, see every write
//     acknowledged before them, and an explicit read of a create route is
//     refused.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { FrameClient } from '../../host/client/frames.ts';
import {
  LedgerClient, account, transfer, accountFilter, id, encodeTransfers, encodeLookupAccounts, AccountFlags, CreateTransferResult,
} from '../../host/client/ledger.ts';
import { bankManifest, directLedgerManifest, makeImage, removeDir, runCli, event, Server, type TestImage } from '../support/helpers.ts';

let img: TestImage;
test.before(() => {
  const manifest = directLedgerManifest();
  const ledger = manifest.services.find((s) => s.name === 'ledger')!;
  if (!ledger.caps.includes('read')) ledger.caps = [...ledger.caps, 'read'];
  img = makeImage('reads', manifest);
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

function bootArgs(data: string): string[] {
  return ['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0'];
}

async function serve(data: string): Promise<{ server: Server; frames: FrameClient }> {
  const server = Server.start(bootArgs(data));
  const { host, port } = await server.address();
  return { server, frames: await FrameClient.connect(host, port) };
}

function replay(data: string): { entries: number; hash: string } {
  const r = runCli(['replay', '--data', data, '--trust', img.pubPath]);
  assert.is(r.code, 0, r.stderr);
  const e = event(r.events, 'replay') as { entries: number; state_hash: string };
  return { entries: e.entries, hash: e.state_hash };
}

test('reads answer as logged lookups do, and write no log entry', async () => {
  const data = join(img.dir, 'same');
  // An idle run: what a boot and a clean stop add to the log by themselves.
  let s = await serve(data);
  s.frames.close();
  await s.server.kill('SIGTERM');
  const idle0 = replay(data);
  s = await serve(data);
  s.frames.close();
  await s.server.kill('SIGTERM');
  const idle = replay(data).entries - idle0.entries;

  s = await serve(data);
  const logged = new LedgerClient(s.frames, 'ledger');
  const accounts = [id(), id(), id()];
  await logged.createAccounts(accounts.map((a) => account({ id: a, ledger: 1, code: 1, flags: AccountFlags.history })));
  const transfers: bigint[] = [];
  for (let i = 0; i < 30; i++) {
    const t = id();
    transfers.push(t);
    const [r] = await logged.createTransfers([transfer({ id: t, debit_account_id: accounts[i % 3], credit_account_id: accounts[(i + 1) % 3], amount: BigInt(i + 1), ledger: 1, code: 1 })]);
    assert.is(r.result, CreateTransferResult.ok);
  }
  const filter = accountFilter({ account_id: accounts[0], limit: 100, flags: 3 });
  const fromLog = {
    accounts: await logged.lookupAccounts(accounts), transfers: await logged.lookupTransfers([...transfers, id()]),
    history: await logged.getAccountTransfers(filter), balances: await logged.getAccountBalances(filter),
  };
  s.frames.close();
  await s.server.kill('SIGTERM');
  const written = replay(data);

  s = await serve(data);
  const readsAgain = new LedgerClient(s.frames, 'ledger', true);
  for (let i = 0; i < 50; i++) {
    assert.equal(await readsAgain.lookupAccounts(accounts), fromLog.accounts);
    assert.equal(await readsAgain.lookupTransfers([...transfers, id()]), fromLog.transfers);
    assert.equal(await readsAgain.getAccountTransfers(filter), fromLog.history);
    assert.equal(await readsAgain.getAccountBalances(filter), fromLog.balances);
  }
  assert.is(fromLog.transfers.length, 30, 'every transfer found, the unknown id not');
  s.frames.close();
  await s.server.kill('SIGTERM');
  const after = replay(data);
  assert.is(after.entries, written.entries + idle, `200 reads wrote no entry (${written.entries} -> ${after.entries}, an idle run adds ${idle})`);
});

test('a transfer acknowledged on one connection is found by a read sent after it on another', async () => {
  const data = join(img.dir, 'linear');
  const { server, frames } = await serve(data);
  const { host, port } = await server.address();
  const other = await FrameClient.connect(host, port);
  const writer = new LedgerClient(frames, 'ledger');
  const reader = new LedgerClient(other, 'ledger', true);
  const [a, b] = [id(), id()];
  await writer.createAccounts([account({ id: a, ledger: 1, code: 1 }), account({ id: b, ledger: 1, code: 1 })]);
  for (let i = 0; i < 200; i++) {
    const t = id();
    // Reads of older transfers keep the reader busy while the write is in flight.
    const write = writer.createTransfers([transfer({ id: t, debit_account_id: a, credit_account_id: b, amount: 1n, ledger: 1, code: 1 })]);
    void reader.lookupAccounts([a]);
    const [r] = await write;
    assert.is(r.result, CreateTransferResult.ok);
    const found = await reader.lookupTransfers([t]);
    assert.is(found.length, 1, `transfer ${i} acknowledged, then not found by a read`);
  }
  const [acc] = await reader.lookupAccounts([a]);
  assert.is(acc.debits_posted, 200n, 'the read sees every acknowledged transfer in the balance');
  other.close();
  frames.close();
  await server.kill('SIGTERM');
});

test('a create as a read, a read to a service without the capability, and unknown flags are refused', async () => {
  const data = join(img.dir, 'refused');
  const { server, frames } = await serve(data);
  const create = await frames.request('ledger', encodeTransfers([transfer({ id: id(), debit_account_id: 1n, credit_account_id: 2n, amount: 1n, ledger: 1, code: 1 })]), 30_000, abi.FRAME_F_READ);
  assert.is(create.status, abi.FRAME_E_SERVICE);
  assert.match(create.payload.toString('utf8'), /a read is lookup_accounts, lookup_transfers, get_account_transfers or get_account_balances/);
  const echo = await frames.request('echo', Buffer.from('x'), 30_000, abi.FRAME_F_READ);
  assert.is(echo.status, abi.FRAME_E_DENIED);
  assert.match(echo.payload.toString('utf8'), /takes no reads/);
  // Flags other than FRAME_F_READ: a raw frame with flags = 4.
  const bad = await frames.request('ledger', encodeLookupAccounts([1n]), 30_000, 4);
  assert.is(bad.status, abi.FRAME_E_MALFORMED);
  assert.match(bad.payload.toString('utf8'), /unknown request flags/);
  // Nothing of it was applied: the ledger still answers, and has no transfer.
  const [none] = [await new LedgerClient(frames, 'ledger', true).lookupAccounts([1n, 2n])];
  assert.equal(none, []);
  frames.close();
  await server.kill('SIGTERM');
});

test('bank image: HTTP lookups are reads: no log entry, and they see every acknowledged write', async () => {
  const bank = makeImage('reads-bank', bankManifest());
  try {
    const data = join(bank.dir, 'data');
    const args = ['boot', bank.imagePath, '--data', data, '--trust', bank.pubPath];
    assert.is(runCli([...args, '--once']).code, 0);
    const made = runCli(['keys', 'create', '--data', data, '--trust', bank.pubPath, '--role', 'operator', '--rate', '100000', '--burst', '100000']);
    assert.is(made.code, 0, made.stderr);
    const key = (event(made.events, 'key_created') as { key: string }).key;
    const entries = () => {
      const r = runCli(['replay', '--data', data, '--trust', bank.pubPath]);
      assert.is(r.code, 0, r.stderr);
      return (event(r.events, 'replay') as { entries: number }).entries;
    };
    const serve = async () => {
      const server = Server.start([...args, '--listen', '127.0.0.1:0']);
      const { port } = await server.address();
      const call = async (path: string, body: unknown) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: res.status, json: await res.json() as any };
      };
      return { server, call };
    };
    // Idle run, then writes with a read after each acknowledged one.
    let s = await serve();
    await s.server.kill('SIGTERM');
    const e0 = entries();
    s = await serve();
    await s.server.kill('SIGTERM');
    const idle = entries() - e0;
    s = await serve();
    assert.is((await s.call('/v1/accounts', [{ id: '1', ledger: 1, code: 1 }, { id: '2', ledger: 1, code: 1 }])).status, 200);
    for (let i = 1; i <= 50; i++) {
      const w = await s.call('/v1/transfers', [{ id: String(100 + i), debit_account_id: '1', credit_account_id: '2', amount: '1', ledger: 1, code: 1 }]);
      assert.equal(w.json.map((r: any) => r.result), ['created']);
      const r = await s.call('/v1/transfers/lookup', { ids: [String(100 + i)] });
      assert.is(r.status, 200);
      assert.is(r.json.length, 1, `transfer ${i} acknowledged, then not found by a lookup`);
    }
    await s.server.kill('SIGTERM');
    const written = entries();
    s = await serve();
    for (let i = 0; i < 100; i++) {
      const r = await s.call('/v1/accounts/lookup', { ids: ['1', '2'] });
      assert.equal(r.json.map((a: any) => a.debits_posted), ['50', '0']);
    }
    await s.server.kill('SIGTERM');
    assert.is(entries(), written + idle, '100 HTTP lookups wrote no log entry');
  } finally {
    removeDir(bank.dir);
  }
});

test.run();
