// The ledger inside the booted bank image, over real TCP with the binary
// batch protocol, the way a client reaches it: an API key presented once per
// connection, every request relayed by the gateway service. Accounts and
// transfers applied with TigerBeetle results, queries answered, malformed
// requests refused with nothing applied, and under SIGKILL no acknowledged
// transfer is lost while debits = credits.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { FrameClient } from '../../host/client/frames.ts';
import {
  LedgerClient, account, transfer, accountFilter, id, CreateTransferResult, CreateAccountResult,
  AccountFlags, TransferFlags, type Account,
} from '../../host/client/ledger.ts';
import { makeImage, removeDir, runCli, event, Server, type TestImage } from '../support/helpers.ts';

let img: TestImage;
test.before(() => { img = makeImage('ledger-e2e'); });
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

function bootArgs(data: string, extra: string[] = []): string[] {
  return ['boot', img.imagePath, '--data', data, '--trust', img.pubPath, ...extra];
}

// An operator key per data directory, put into its log before the first
// serving boot (`qenex keys create --data`), as an institution would.
const operatorKeys = new Map<string, string>();
function operatorKey(data: string): string {
  let key = operatorKeys.get(data);
  if (key !== undefined) return key;
  const first = runCli(bootArgs(data, ['--once']));
  assert.is(first.code, 0, first.stderr);
  const made = runCli(['keys', 'create', '--data', data, '--trust', img.pubPath, '--role', 'operator']);
  assert.is(made.code, 0, made.stderr);
  key = (event(made.events, 'key_created') as { key: string }).key;
  operatorKeys.set(data, key);
  return key;
}

async function serve(data: string): Promise<{ server: Server; frames: FrameClient; ledger: LedgerClient }> {
  const key = operatorKey(data);
  const server = Server.start(bootArgs(data, ['--listen', '127.0.0.1:0']));
  const { host, port } = await server.address();
  const frames = await FrameClient.connect(host, port);
  await frames.authenticate(key);
  return { server, frames, ledger: new LedgerClient(frames, 'gateway') };
}

function sums(accounts: Account[]): Map<number, { dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }> {
  const byLedger = new Map<number, { dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }>();
  for (const a of accounts) {
    const s = byLedger.get(a.ledger) ?? { dp: 0n, dpo: 0n, cp: 0n, cpo: 0n };
    s.dp += a.debits_pending; s.dpo += a.debits_posted; s.cp += a.credits_pending; s.cpo += a.credits_posted;
    byLedger.set(a.ledger, s);
  }
  return byLedger;
}

test('accounts, posted and two-phase transfers, and queries work end to end', async () => {
  // Proves the whole path for the ledger: results per event in order, balances
  // moved exactly, a pending transfer posted, history queries answered.
  const { server, frames, ledger } = await serve(join(img.dir, 'basic'));
  const [a, b] = [id(), id()];
  const created = await ledger.createAccounts([
    account({ id: a, ledger: 1, code: 10, flags: AccountFlags.history }),
    account({ id: b, ledger: 1, code: 10, flags: AccountFlags.debits_must_not_exceed_credits | AccountFlags.history }),
    account({ id: a, ledger: 1, code: 10, flags: AccountFlags.history }),
  ]);
  assert.equal(created.map((r) => r.result), [CreateAccountResult.ok, CreateAccountResult.ok, CreateAccountResult.exists]);
  assert.ok(created[0].timestamp > 0n && created[1].timestamp > created[0].timestamp, 'timestamps strictly increase');
  const [t1, t2, t3] = [id(), id(), id()];
  const results = await ledger.createTransfers([
    transfer({ id: t1, debit_account_id: a, credit_account_id: b, amount: 1050n, ledger: 1, code: 1 }),
    transfer({ id: t2, debit_account_id: b, credit_account_id: a, amount: 5000n, ledger: 1, code: 1 }),
    transfer({ id: t3, debit_account_id: a, credit_account_id: b, amount: 200n, ledger: 1, code: 1, flags: TransferFlags.pending }),
  ]);
  assert.equal(results.map((r) => r.result), [CreateTransferResult.ok, CreateTransferResult.exceeds_credits, CreateTransferResult.ok]);
  const post = await ledger.createTransfers([transfer({ id: id(), pending_id: t3, amount: 200n, ledger: 1, code: 1, flags: TransferFlags.post_pending_transfer })]);
  assert.is(post[0].result, CreateTransferResult.ok);
  const [accA, accB] = await ledger.lookupAccounts([a, b]);
  assert.is(accA.debits_posted, 1250n);
  assert.is(accB.credits_posted, 1250n);
  assert.is(accA.debits_pending, 0n);
  const found = await ledger.lookupTransfers([t1, t2, t3]);
  assert.equal(found.map((t) => t.id), [t1, t3], 'the failed transfer does not exist');
  const history = await ledger.getAccountTransfers(accountFilter({ account_id: a }));
  assert.is(history.length, 3, 'pending, its post, and the posted transfer');
  const balances = await ledger.getAccountBalances(accountFilter({ account_id: a }));
  assert.is(balances.at(-1)!.debits_posted, 1250n);
  frames.close();
  await server.kill('SIGTERM');
});

test('malformed ledger requests are refused over TCP and nothing is applied', async () => {
  // Proves: wrong lengths, unknown operations and zero counts are refused as
  // malformed (FRAME_E_MALFORMED: by the gateway, or by the host for an
  // operation that is no ledger operation) with a specific message, and the
  // accounts named in them do not exist afterwards.
  const { server, frames, ledger } = await serve(join(img.dir, 'bad'));
  const good = await ledger.createAccounts([account({ id: 77n, ledger: 1, code: 1 })]);
  assert.is(good[0].result, 0);
  const truncated = Buffer.from((await import('../../host/client/ledger.ts')).encodeAccounts([account({ id: 78n })]).subarray(0, 100));
  const unknownOp = Buffer.alloc(8 + 128); unknownOp.writeUInt8(99, 0); unknownOp.writeUInt32LE(1, 4);
  const zeroCount = Buffer.alloc(8); zeroCount.writeUInt8(1, 0);
  for (const [payload, pattern] of [[truncated, /length does not match its count/], [unknownOp, /operation, 1\.\.8/], [zeroCount, /count out of range/]] as const) {
    const r = await frames.request('gateway', payload);
    assert.is(r.status, abi.FRAME_E_MALFORMED, r.payload.toString());
    assert.match(r.payload.toString(), pattern);
  }
  assert.equal(await ledger.lookupAccounts([78n]), []);
  assert.is((await ledger.lookupAccounts([77n])).length, 1, 'the connection and the ledger are still fine');
  frames.close();
  await server.kill('SIGTERM');
});

test('transfers under load survive SIGKILL: every acknowledged transfer exists once, debits = credits', async () => {
  // Proves durability for the ledger: batches acknowledged before a SIGKILL
  // are all present after reboot (looked up by id), the money invariant
  // holds per ledger (posted and pending), and the rebooted hash equals
  // replay.
  const data = join(img.dir, 'crash');
  let { server, frames, ledger } = await serve(data);
  const accounts = Array.from({ length: 100 }, (_, i) => BigInt(1000 + i));
  await ledger.createAccounts(accounts.map((a) => account({ id: a, ledger: 1, code: 1 })));
  const acked: bigint[] = [];
  let next = 1n;
  const inFlight = new Set<Promise<void>>();
  const started = Date.now();
  while (Date.now() - started < 800 || acked.length < 2000) {
    while (inFlight.size < 8) {
      const batch = Array.from({ length: 100 }, () => {
        const tid = 10_000_000n + next++;
        const d = accounts[Number(tid % 100n)];
        const c = accounts[Number((tid * 7n + 3n) % 100n)];
        return transfer({ id: tid, debit_account_id: d, credit_account_id: c === d ? accounts[(Number(tid) + 1) % 100] : c, amount: tid % 1000n + 1n, ledger: 1, code: 1 });
      });
      const p = ledger.createTransfers(batch).then((rs) => {
        rs.forEach((r, i) => { if (r.result === 0) acked.push(batch[i].id); });
      }, () => {});
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await Promise.race(inFlight);
  }
  server.child.kill('SIGKILL');
  await server.exited;
  await Promise.allSettled([...inFlight]);
  frames.close();
  assert.ok(acked.length >= 2000, `${acked.length} transfers acknowledged before the kill`);

  const reboot = runCli(bootArgs(data, ['--once']));
  assert.is(reboot.code, 0, reboot.stderr);
  const replay = runCli(['replay', '--data', data]);
  assert.is(event(replay.events, 'replay')!.state_hash, event(reboot.events, 'ready')!.state_hash);

  ({ server, frames, ledger } = await serve(data));
  for (let i = 0; i < acked.length; i += 8000) {
    const ids = acked.slice(i, i + 8000);
    const found = await ledger.lookupTransfers(ids);
    assert.is(found.length, ids.length, 'every acknowledged transfer is present');
  }
  const all = await ledger.lookupAccounts(accounts);
  const s = sums(all).get(1)!;
  assert.is(s.dpo, s.cpo, 'posted debits = posted credits');
  assert.is(s.dp, s.cp, 'pending debits = pending credits');
  assert.ok(s.dpo > 0n);
  frames.close();
  await server.kill('SIGTERM');
});

let adminKey = '';

/** One HTTP/1.1 request with a JSON body over a fresh connection, with the admin key. */
async function http(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

test('HTTP/JSON on the same listener: accounts, transfers with amount_decimal, lookups, refusals', async () => {
  // Proves the JSON contract end to end through the booted image: results by
  // TigerBeetle name, u128 as decimal strings, amount_decimal scaled by the
  // manifest's asset scale (USD 2, JPY 0), inexact or conflicting amounts and
  // invalid JSON refused with 400 and nothing applied, and the binary
  // protocol sees what HTTP wrote.
  // The gateway needs a key: the data directory is created, an admin key is
  // added through its command log, then the system serves.
  const data = join(img.dir, 'http');
  assert.is(runCli(bootArgs(data, ['--once'])).code, 0);
  const keyCreated = runCli(['keys', 'create', '--data', data, '--role', 'admin']);
  assert.is(keyCreated.code, 0, keyCreated.stderr);
  adminKey = (event(keyCreated.events, 'key_created') as { key: string }).key;
  const { server, frames, ledger } = await serve(data);
  const { port } = await server.address();
  const created = await http(port, 'POST', '/v1/accounts', [
    { id: '501', ledger: 1, code: 1 },
    { id: '502', ledger: 1, code: 1, flags: ['debits_must_not_exceed_credits', 'history'] },
    { id: '601', ledger: 2, code: 1 },
    { id: '602', ledger: 2, code: 1 },
    { id: '503', ledger: 1, code: 1, flags: 1 << 15 },
  ]);
  assert.is(created.status, 200);
  assert.equal(created.json.map((r: any) => r.result), ['created', 'created', 'created', 'created', 'reserved_flag']);
  const moved = await http(port, 'POST', '/v1/transfers', [
    { id: '5001', debit_account_id: '501', credit_account_id: '502', amount_decimal: '10.50', ledger: 1, code: 1 },
    { id: '5002', debit_account_id: '502', credit_account_id: '501', amount: '99999', ledger: 1, code: 1 },
    { id: '6001', debit_account_id: '601', credit_account_id: '602', amount_decimal: '1500', ledger: 2, code: 1 },
  ]);
  assert.is(moved.status, 200);
  assert.equal(moved.json.map((r: any) => r.result), ['created', 'exceeds_credits', 'created']);
  assert.match(moved.json[0].timestamp, /^[1-9][0-9]*$/);

  const refusals: [unknown, string][] = [
    [[{ id: '5003', debit_account_id: '501', credit_account_id: '502', amount_decimal: '1.001', ledger: 1, code: 1 }], 'amount_not_exact'],
    [[{ id: '5004', debit_account_id: '501', credit_account_id: '502', amount: '100', amount_decimal: '1.01', ledger: 1, code: 1 }], 'amount_mismatch'],
    [[{ id: '5005', debit_account_id: '501', credit_account_id: '502', amount: '12abc', ledger: 1, code: 1 }], 'invalid_field'],
    ['[{"id":"5006",', 'invalid_json'],
  ];
  for (const [body, code] of refusals) {
    const r = await http(port, 'POST', '/v1/transfers', body);
    assert.is(r.status, 400, JSON.stringify(body));
    assert.is(r.json.error.code, code, JSON.stringify(r.json));
    assert.type(r.json.error.message, 'string');
  }
  const looked = await http(port, 'POST', '/v1/transfers/lookup', { ids: ['5001', '5003', '5004', '5005', '6001'] });
  assert.equal(looked.json.map((t: any) => [t.id, t.amount]), [['5001', '1050'], ['6001', '1500']], 'refused requests applied nothing');
  const [a501] = await ledger.lookupAccounts([501n]);
  assert.is(a501.debits_posted, 1050n, 'the binary protocol sees the HTTP transfer');
  const history = await http(port, 'POST', '/v1/accounts/502/transfers', { limit: 10, flags: ['debits', 'credits'] });
  assert.equal(history.json.map((t: any) => t.id), ['5001']);
  assert.equal((await http(port, 'GET', '/v1/health')).json, { status: 'ok' });
  frames.close();
  await server.kill('SIGTERM');
});

test.run();
