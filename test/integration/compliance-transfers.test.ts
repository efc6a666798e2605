// test/integration/compliance-transfers.test.ts: the ledger's own
// create_transfers checked by the compliance service before the ledger (the
// bank image's gateway config "transfer_checks": true, a rule set's
// "transfers": true), through a booted bank image over real TCP (issue 18).
// Proves: on a checked ledger, JSON POST /v1/transfers answers a transfer
// over a limit with compliance_limit and one a holding rule fires on with
// compliance_rule, the rest of a refused event's linked chain with
// linked_event_failed, and creates the others, in the request's order;
// balances move by exactly the created transfers; the binary protocol is
// checked the same way; a ledger whose rule set does not check transfers is
// not checked; a retry of a created transfer is answered `exists` (not
// refused, not counted twice); the decisions name the transfers; and a
// replay of the log reaches the same state.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { FrameClient } from '../../host/client/frames.ts';
import { LedgerClient, transfer, CreateTransferResult } from '../../host/client/ledger.ts';
import { apiCall, bankManifestUnlimited, event, makeImage, removeDir, runCli, Server, stopAndReplay, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let data: string;
let server: Server;
let base: string;
let host: string;
let port: number;
const keys: Record<string, string> = {};
const FUNDING = 200n;
const ALICE = 201n;
const BOB = 202n;
const YEN_A = 301n;
const YEN_B = 302n;
// Ledger 1 (USD, scale 2) checks its transfers: 1,000.00 a transfer, 800.00 and over holds a payment (refuses a transfer).
// Ledger 2 (JPY) has a rule set that does not check transfers.
const RULES = { rules: [
  { ledger: 1, transfers: true, payment_max: '1000.00', amount_threshold: '800.00', hold: ['amount'] },
  { ledger: 2, payment_max: '1' },
] };

function cliKey(args: string[]): string {
  const r = runCli(['keys', 'create', '--data', data, ...args]);
  assert.is(r.code, 0, r.stderr);
  return (event(r.events, 'key_created') as { key: string }).key;
}

const call = (method: string, path: string, key: string | null, body?: unknown) => apiCall(base, method, path, key, body);

async function balances(ids: bigint[]): Promise<[bigint, bigint][]> {
  const r = await call('POST', '/v1/accounts/lookup', keys.operator, { ids: ids.map(String) });
  assert.is(r.status, 200, r.text);
  return r.json.map((a: { debits_posted: string; credits_posted: string }) => [BigInt(a.debits_posted), BigInt(a.credits_posted)]);
}

// Amounts in minor units (cents), as the ledger's JSON takes them.
const usd = (id: number, debit: bigint, credit: bigint, amount: string, flags: string[] = []) =>
  ({ id: String(id), debit_account_id: String(debit), credit_account_id: String(credit), amount, ledger: 1, code: 1, flags });

test.before(async () => {
  img = makeImage('compliance-transfers', bankManifestUnlimited());
  data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  keys.operator = cliKey(['--role', 'operator']);
  keys.officer = cliKey(['--role', 'compliance_officer']);
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  ({ host, port } = await server.address());
  base = `http://${host}:${port}`;
  const accounts = await call('POST', '/v1/accounts', keys.operator, [
    { id: String(FUNDING), ledger: 1, code: 1 }, { id: String(ALICE), ledger: 1, code: 1 }, { id: String(BOB), ledger: 1, code: 1 },
    { id: String(YEN_A), ledger: 2, code: 1 }, { id: String(YEN_B), ledger: 2, code: 1 },
  ]);
  assert.is(accounts.status, 200, accounts.text);
  const put = await call('PUT', '/v1/compliance/rules', keys.operator, RULES);
  assert.is(put.status, 200, put.text);
  assert.equal(put.json.rules.map((r: { transfers: boolean }) => r.transfers), [true, false]);
});
test.after(async () => { await Server.killAll(); if (img !== undefined) removeDir(img.dir); });

test('JSON create_transfers on a checked ledger: refused events answered with their compliance result, their chains failed, the rest created in order', async () => {
  const before = await balances([FUNDING, ALICE, BOB]);
  const r = await call('POST', '/v1/transfers', keys.operator, [
    usd(1, FUNDING, ALICE, '50000'), // allowed
    usd(2, FUNDING, ALICE, '120000'), // over payment_max
    usd(3, FUNDING, BOB, '10000', ['linked']), // a chain whose second event a holding rule fires on
    usd(4, FUNDING, BOB, '90000'),
    usd(5, ALICE, BOB, '5000', ['linked']), // a chain wholly allowed
    usd(6, ALICE, BOB, '2500'),
  ]);
  assert.is(r.status, 200, r.text);
  assert.equal(r.json.map((x: { result: string }) => x.result),
    ['created', 'compliance_limit', 'linked_event_failed', 'compliance_rule', 'created', 'created']);
  const after = await balances([FUNDING, ALICE, BOB]);
  // Exactly 1, 5 and 6 moved: FUNDING -500.00, ALICE +500.00 -75.00, BOB +75.00.
  assert.equal(after.map(([d, c], i) => [d - before[i][0], c - before[i][1]]), [[50000n, 0n], [7500n, 50000n], [0n, 7500n]]);
  const looked = await call('POST', '/v1/transfers/lookup', keys.operator, { ids: ['2', '3', '4'] });
  assert.equal(looked.json, [], 'the refused events never reached the ledger');
  // The retry of a created transfer is the ledger's to answer (exists), not refused again nor counted twice.
  const retry = await call('POST', '/v1/transfers', keys.operator, [usd(1, FUNDING, ALICE, '50000')]);
  assert.equal(retry.json.map((x: { result: string }) => x.result), ['exists']);
  const decisions = await call('GET', '/v1/compliance/decisions?limit=100', keys.officer);
  assert.is(decisions.status, 200, decisions.text);
  const byTransfer = decisions.json.decisions.filter((d: { transfer_id: string | null }) => d.transfer_id !== null)
    .map((d: { transfer_id: string; action: string; decided_by: string | null }) => [d.transfer_id, d.action, d.decided_by]);
  assert.equal(byTransfer, [['1', 'allow', null], ['2', 'refuse', 'payment_max'], ['3', 'allow', null], ['4', 'refuse', 'amount'], ['5', 'allow', null], ['6', 'allow', null]]);
});

test('binary create_transfers is checked the same way; a ledger whose rule set does not check transfers is not', async () => {
  const c = await FrameClient.connect(host, port);
  await c.authenticate(keys.operator);
  const ledger = new LedgerClient(c, 'gateway');
  const results = await ledger.createTransfers([
    transfer({ id: 11n, debit_account_id: FUNDING, credit_account_id: ALICE, amount: 150000n, ledger: 1, code: 1 }),
    transfer({ id: 12n, debit_account_id: FUNDING, credit_account_id: ALICE, amount: 100n, ledger: 1, code: 1 }),
    transfer({ id: 13n, debit_account_id: YEN_A, credit_account_id: YEN_B, amount: 5000n, ledger: 2, code: 1 }),
  ]);
  c.close();
  assert.equal(results.map((x) => x.result), [CreateTransferResult.compliance_limit, CreateTransferResult.created, CreateTransferResult.created]);
});

test('replay: the log with the checked batches reaches the state the machine stopped in', async () => {
  const { stopped, replayed } = await stopAndReplay(server, data);
  assert.is(replayed, stopped);
});

test.run();
