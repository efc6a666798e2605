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
//     refused;
//   - POST /v1/accounts/query and /v1/transfers/query over HTTP, answered as
//     reads (bank image) and logged and relayed (the same image with a
//     ledger that takes no reads) alike: TigerBeetle's QueryFilter, a teller
//     limited to ledger 1 gets `limit` records of ledger 1 where ledger 2's
//     interleave, a bad field is 400 with its code, and a non-zero account
//     `reserved` is answered reserved_field.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { FrameClient } from '../../host/client/frames.ts';
import {
  LedgerClient, account, transfer, accountFilter, id, encodeTransfers, encodeLookupAccounts, AccountFlags, CreateTransferResult,
  queryFilter, QueryFilterFlags,
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
    queried: await logged.queryTransfers(queryFilter({ limit: 7, flags: QueryFilterFlags.reversed })),
    accountsQueried: await logged.queryAccounts(queryFilter({ code: 1 })),
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
    assert.equal(await readsAgain.queryTransfers(queryFilter({ limit: 7, flags: QueryFilterFlags.reversed })), fromLog.queried);
    assert.equal(await readsAgain.queryAccounts(queryFilter({ code: 1 })), fromLog.accountsQueried);
  }
  assert.is(fromLog.transfers.length, 30, 'every transfer found, the unknown id not');
  assert.equal(fromLog.queried.map((t) => t.id), transfers.slice(-7).reverse(), 'the newest seven, newest first');
  assert.is(fromLog.accountsQueried.length, 3);
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
  assert.match(create.payload.toString('utf8'), /a read is lookup_accounts, lookup_transfers, get_account_transfers, get_account_balances, query_accounts or query_transfers/);
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

test('HTTP queries: TigerBeetle\'s filter, a teller\'s scope inside the scan, as reads and as logged requests', async () => {
  // Proves POST /v1/accounts/query and /v1/transfers/query end to end, on the bank image (the queries
  // are reads, scoped by the kernel's appended grants) and on the same image whose ledger takes no
  // reads (logged, relayed by the gateway, which appends the grants itself): the filter fields, order
  // and limit; the records are those the lookups return; a teller granted ledger 1 asking for 2
  // records where ledger 2's interleave gets 2 of ledger 1 (a filter on the reply would have left 1 or
  // 0), and pages through all of its own, and its lookups answer only ledger 1's records; an unknown
  // JSON field is 400 unknown_field; an account with
  // reserved 1 is answered reserved_field and not created.
  const logged = bankManifest();
  const ledger = logged.services.find((x) => x.name === 'ledger')!;
  ledger.caps = ledger.caps.filter((c) => c !== 'read');
  for (const [label, manifest] of [['reads', bankManifest()], ['logged', logged]] as const) {
    const img2 = makeImage(`queries-${label}`, manifest);
    try {
      const data = join(img2.dir, 'data');
      const args = ['boot', img2.imagePath, '--data', data, '--trust', img2.pubPath];
      assert.is(runCli([...args, '--once']).code, 0);
      const keyOf = (extra: string[]) => {
        const made = runCli(['keys', 'create', '--data', data, '--trust', img2.pubPath, ...extra]);
        assert.is(made.code, 0, made.stderr);
        return (event(made.events, 'key_created') as { key: string }).key;
      };
      const admin = keyOf(['--role', 'admin']);
      const teller = keyOf(['--role', 'teller', '--ledger', '1']);
      const server = Server.start([...args, '--listen', '127.0.0.1:0']);
      const { port } = await server.address();
      const call = async (key: string, path: string, body: unknown) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const json = await res.json() as any;
        return { status: res.status, json };
      };
      const ok = async (key: string, path: string, body: unknown) => {
        const r = await call(key, path, body);
        assert.is(r.status, 200, `${label} ${path}: ${JSON.stringify(r.json)}`);
        return r.json as any[];
      };
      // Accounts 1..6 alternate ledgers 1 and 2; transfers 11..16 alternate them too (1 -> 3 on ledger 1, 2 -> 4 on ledger 2).
      const accounts = [1, 2, 3, 4, 5, 6].map((n) => ({ id: String(n), ledger: n % 2 === 1 ? 1 : 2, code: n <= 4 ? 10 : 20, user_data_64: String(n % 3) }));
      assert.ok((await ok(admin, '/v1/accounts', accounts)).every((r) => r.result === 'created'));
      const transfers = [11, 12, 13, 14, 15, 16].map((n) => ({
        id: String(n), debit_account_id: n % 2 === 1 ? '1' : '2', credit_account_id: n % 2 === 1 ? '3' : '4', amount: String(n), ledger: n % 2 === 1 ? 1 : 2, code: n,
      }));
      assert.ok((await ok(admin, '/v1/transfers', transfers)).every((r) => r.result === 'created'));
      const ids = (records: any[]) => records.map((r) => r.id);
      // The filter, for a key with every ledger.
      assert.equal(ids(await ok(admin, '/v1/accounts/query', {})), ['1', '2', '3', '4', '5', '6']);
      assert.equal(ids(await ok(admin, '/v1/accounts/query', { ledger: 2, code: 10 })), ['2', '4']);
      assert.equal(ids(await ok(admin, '/v1/accounts/query', { user_data_64: '1', flags: ['reversed'] })), ['4', '1']);
      assert.equal(await ok(admin, '/v1/accounts/query', { code: 20 }), await ok(admin, '/v1/accounts/lookup', { ids: ['5', '6'] }));
      const all = await ok(admin, '/v1/transfers/query', { flags: ['reversed'], limit: 3 });
      assert.equal(ids(all), ['16', '15', '14']);
      assert.equal(all, await ok(admin, '/v1/transfers/lookup', { ids: ['16', '15', '14'] }));
      assert.equal(ids(await ok(admin, '/v1/transfers/query', { timestamp_min: all[2].timestamp, timestamp_max: all[1].timestamp })), ['14', '15']);
      assert.equal(ids(await ok(admin, '/v1/transfers/query', { ledger: 2, flags: 1 })), ['16', '14', '12']);
      // The teller's scope, inside the scan: two of its own where the unscoped first two hold both ledgers.
      assert.equal(ids(await ok(admin, '/v1/transfers/query', { limit: 2 })), ['11', '12']);
      const mine = await ok(teller, '/v1/transfers/query', { limit: 2 });
      assert.equal([ids(mine), mine.map((t) => t.ledger)], [['11', '13'], [1, 1]]);
      const next = await ok(teller, '/v1/transfers/query', { limit: 2, timestamp_min: String(BigInt(mine[1].timestamp) + 1n) });
      assert.equal(ids(next), ['15'], 'the next page holds the rest of ledger 1');
      assert.equal(ids(await ok(teller, '/v1/accounts/query', { limit: 2, flags: ['reversed'] })), ['5', '3']);
      assert.equal(await ok(teller, '/v1/transfers/query', { ledger: 2 }), [], 'another ledger: nothing');
      // Lookups too are limited by the ledger on both paths (the gateway or the kernel appends the grants).
      assert.equal(ids(await ok(teller, '/v1/accounts/lookup', { ids: ['1', '2', '3'] })), ['1', '3']);
      assert.equal(ids(await ok(teller, '/v1/transfers/lookup', { ids: ['11', '12'] })), ['11']);
      // A bad field and a reserved account field.
      const bad = await call(teller, '/v1/transfers/query', { account_id: '1' });
      assert.equal([bad.status, bad.json.error.code], [400, 'unknown_field']);
      const flag = await call(admin, '/v1/accounts/query', { flags: ['debits'] });
      assert.equal([flag.status, flag.json.error.code], [400, 'unknown_flag']);
      const reserved = await ok(admin, '/v1/accounts', [{ id: '7', ledger: 1, code: 1, reserved: 1 }]);
      assert.is(reserved[0].result, 'reserved_field');
      assert.equal(await ok(admin, '/v1/accounts/lookup', { ids: ['7'] }), [], 'not created');
      await server.kill('SIGTERM');
    } finally {
      removeDir(img2.dir);
    }
  }
});

test.run();
