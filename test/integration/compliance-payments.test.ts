// test/integration/compliance-payments.test.ts: compliance in the path of
// every payment, through a booted bank image over real TCP (issue 18). The
// image as shipped (payments "checks": true) with a rule set of ledger 1 in
// the compliance config and the UN list imported. Proves: a JSON payment to a
// listed person (the name in the body) is held — ACCP, the payment `held`
// with its compliance decision and alert, its amount pending on the ledger,
// nothing posted; one over the amount threshold is held too, one over the
// per-payment maximum is refused AM02 and moves nothing, a clean one
// settles; the parties of an ISO 20022 pacs.008 (Dbtr/Cdtr Nm and Ctry) are
// screened the same way (a listed creditor name in the real CBPR+ sample
// holds it); bad party fields are refused 400 before the log; and a replay of
// the log reaches the same state hash, so every decision is made again the
// same. POST /v1/compliance/rescreen screens the directory's account owners:
// a listed owner marks the account (an alert), a payment to it holds though
// its message names no one, and a list load rescreens (the same mark, no new
// alert); a teller may not rescreen.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall, bankManifestUnlimited, event, makeImage, removeDir, runCli, Server, stopAndReplay, type TestImage } from '../support/helpers.ts';

const FIXTURES = join(new URL('..', import.meta.url).pathname, 'fixtures');
const UN = join(FIXTURES, 'sanctions', 'un', 'UN_consolidated.xml');
const LISTED = 'AMIN MUHAMMAD UL HAQ SAAM KHAN'; // the UN list's QDi.002, as its FIRST..FOURTH_NAME read

let img: TestImage;
let server: Server;
let base = '';
let data = '';
const keys: Record<string, string> = {};

const ALICE = 1001n;
const CAROL = 1005n; // an account whose owner the directory names as a listed person
const BOB = 1002n;
const FUNDING = 1003n;
const NOSTRO_GBP = 4001n;
const CUSTOMER_GBP = 4002n;
const GBP = 4;

function cliKey(args: string[]): string {
  const r = runCli(['keys', 'create', '--data', data, ...args]);
  assert.is(r.code, 0, r.stderr);
  return (event(r.events, 'key_created') as { key: string }).key;
}

const call = (method: string, path: string, key: string | null, body?: unknown, contentType?: string) => apiCall(base, method, path, key, body, contentType);

async function balance(id: bigint): Promise<{ credits: bigint; pending: bigint }> {
  const r = await call('POST', '/v1/accounts/lookup', keys.operator, { ids: [String(id)] });
  assert.is(r.status, 200, r.text);
  return { credits: BigInt(r.json[0].credits_posted), pending: BigInt(r.json[0].credits_pending) };
}

test.before(async () => {
  const manifest = bankManifestUnlimited();
  const compliance = manifest.services.find((s) => s.name === 'compliance')!;
  compliance.config = { ...compliance.config, rules: [{ ledger: 1, amount_threshold: 50000, payment_max: 500000, hold: ['amount', 'sanctions'] }] };
  const payments = manifest.services.find((s) => s.name === 'payments')!;
  payments.config = { ...payments.config, ledgers: [1, GBP] };
  manifest.gateway = { ...manifest.gateway, ledgers: [{ ledger: 1, asset_scale: 2, currency: 'USD' }, { ledger: GBP, asset_scale: 2, currency: 'GBP' }] };
  img = makeImage('compliance-payments', manifest);
  data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  keys.operator = cliKey(['--role', 'operator']);
  keys.teller = cliKey(['--role', 'teller', '--ledger', `1,${GBP}`]);
  keys.officer = cliKey(['--role', 'compliance_officer']);
  const imported = runCli(['lists', 'import', '--data', data, '--trust', img.pubPath, '--list', 'un', '--file', UN]);
  assert.is(imported.code, 0, imported.stderr);
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  base = `http://127.0.0.1:${(await server.address()).port}`;
  const accounts = await call('POST', '/v1/accounts', keys.operator, [
    { id: String(ALICE), ledger: 1, code: 1 }, { id: String(BOB), ledger: 1, code: 1 }, { id: String(FUNDING), ledger: 1, code: 1 },
    { id: String(CAROL), ledger: 1, code: 1 },
    { id: String(NOSTRO_GBP), ledger: GBP, code: 1 }, { id: String(CUSTOMER_GBP), ledger: GBP, code: 1 },
  ]);
  assert.is(accounts.status, 200, accounts.text);
  const funded = await call('POST', '/v1/transfers', keys.operator, [
    { id: '1', debit_account_id: String(FUNDING), credit_account_id: String(ALICE), amount: '1000000', ledger: 1, code: 1 },
  ]);
  assert.is(funded.json[0].result, 'created', funded.text);
  const put = await call('POST', '/v1/payment-accounts', keys.operator, { accounts: [
    { iban: 'GB33BUKB20201555555555', ledger: 1, account: String(ALICE), name: 'Alice Example' },
    { iban: 'DE89370400440532013000', ledger: 1, account: String(BOB) },
    { bic: 'CBRLGB2LXXX', ledger: GBP, account: String(NOSTRO_GBP) },
    { account_id: '65479512', ledger: GBP, account: String(CUSTOMER_GBP) },
  ] });
  assert.is(put.status, 200, put.text);
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

const pay = (e2e: string, amount: string, creditor: Record<string, string> = {}) => call('POST', '/v1/payments', keys.teller, {
  debtor: { iban: 'GB33BUKB20201555555555', name: 'Alice Example', country: 'GB' },
  creditor: { iban: 'DE89370400440532013000', ...creditor }, amount, currency: 'USD', end_to_end_id: e2e,
});

test('JSON payments: a listed creditor is held (pending, an alert), over the threshold held, over the maximum refused AM02, a clean one settles', async () => {
  const before = await balance(BOB);
  const listed = await pay('C-1', '10.00', { name: LISTED, country: 'PK' });
  assert.is(listed.status, 200, listed.text);
  assert.is(listed.json.transactions[0].status, 'ACCP', listed.text);
  const id = listed.json.transactions[0].payment_id;
  const got = await call('GET', `/v1/payments/${id}`, keys.teller);
  assert.is(got.status, 200, got.text);
  assert.equal([got.json.state, got.json.compliance], ['held', 'hold'], got.text);
  assert.ok(got.json.alert_id >= 1, 'the alert it raised');
  const large = await pay('C-2', '600.00', { name: 'Bob Example' });
  assert.is(large.json.transactions[0].status, 'ACCP', large.text);
  const refused = await pay('C-3', '5000.01', { name: 'Bob Example' });
  assert.equal([refused.json.transactions[0].status, refused.json.transactions[0].reason], ['RJCT', 'AM02'], refused.text);
  const clean = await pay('C-4', '12.34', { name: 'Bob Example', country: 'DE' });
  assert.is(clean.json.transactions[0].status, 'ACSC', clean.text);
  const after = await balance(BOB);
  assert.is(after.credits - before.credits, 1234n, 'only the clean payment posted');
  assert.is(after.pending - before.pending, 1000n + 60000n, 'the held ones are reserved, pending');
  const bad = await pay('C-5', '1.00', { name: 'x'.repeat(513) });
  assert.is(bad.status, 400, bad.text);
  const badCountry = await pay('C-6', '1.00', { country: 'Germany' });
  assert.is(badCountry.status, 400, badCountry.text);
});

test('pacs.008: the parties of the real CBPR+ sample are screened; a listed creditor name holds it', async () => {
  const original = readFileSync(join(FIXTURES, 'iso20022', 'cbprplus_c.105.1.1_pacs.008_AtoB.xml'), 'utf8');
  const listed = original.replace('<pacs:Nm>A Tate</pacs:Nm>', `<pacs:Nm>${LISTED}</pacs:Nm>`).replaceAll('pacs008bzmsgid-1', 'compliance-1');
  assert.ok(listed.includes(LISTED) && listed.includes('compliance-1'), 'the sample has a creditor name and a MsgId to replace');
  const r = await call('POST', '/v1/payments/iso20022', keys.operator, listed, 'application/xml');
  assert.is(r.status, 200, r.text);
  assert.is(r.json.transactions[0].status, 'ACCP', r.text);
  const got = await call('GET', `/v1/payments/${r.json.transactions[0].payment_id}`, keys.operator);
  assert.equal([got.json.state, got.json.compliance], ['held', 'hold'], got.text);
  assert.is((await balance(CUSTOMER_GBP)).pending, 245000n, 'GBP 2450 reserved for the creditor, nothing posted');
  assert.is((await balance(CUSTOMER_GBP)).credits, 0n);
  const clean = await call('POST', '/v1/payments/iso20022', keys.operator, original.replaceAll('pacs008bzmsgid-1', 'compliance-2')
    .replace('7a562c67-ca16-48ba-b074-65581be6f001', '7a562c67-ca16-48ba-b074-65581be6f002'), 'application/xml');
  assert.is(clean.json.transactions[0].status, 'ACSC', clean.text);
  assert.is((await balance(CUSTOMER_GBP)).credits, 245000n, 'the sample as it is settles');
});

test('account owners: a rescreen marks a listed owner\'s account (an alert), its payments hold whatever they name; a list load rescreens; tellers may not', async () => {
  const put = await call('POST', '/v1/payment-accounts', keys.operator, { accounts: [
    { iban: 'NL91ABNA0417164300', ledger: 1, account: String(CAROL), name: 'Amin Muhammad ul-Haq' },
  ] });
  assert.is(put.status, 200, put.text);
  assert.is((await call('POST', '/v1/compliance/rescreen', keys.teller, {})).status, 403, 'a teller may not');
  const r = await call('POST', '/v1/compliance/rescreen', keys.officer, {});
  assert.is(r.status, 200, r.text);
  assert.equal([r.json.event, r.json.owners_screened, r.json.owners_listed, r.json.alerts], ['rescreened', 2, 1, 1], r.text);
  assert.is(r.json.owners_unnamed, 3, 'the entries without an owner\'s name');
  const toCarol = await call('POST', '/v1/payments', keys.teller, {
    debtor: { iban: 'GB33BUKB20201555555555' }, creditor: { iban: 'NL91ABNA0417164300' }, amount: '1.00', currency: 'USD', end_to_end_id: 'C-9',
  });
  assert.is(toCarol.json.transactions[0].status, 'ACCP', toCarol.text);
  const got = await call('GET', `/v1/payments/${toCarol.json.transactions[0].payment_id}`, keys.teller);
  assert.is(got.json.state, 'held', 'no name in the message: the account\'s mark holds it');
  const again = runCli(['lists', 'import', '--url', base, '--key', keys.operator, '--list', 'un', '--file', UN]);
  assert.is(again.code, 0, again.stderr);
  const line = event(again.events, 'list_imported') as any;
  assert.equal([line.owners_screened, line.owners_listed, line.marks_changed, line.alerts], [2, 1, 0, 0], 'the same list again: the same mark, no new alert');
});

test('replay: the log replays every decision to the same state hash', async () => {
  const { stopped, replayed } = await stopAndReplay(server, data);
  assert.is(replayed, stopped);
});

test.run();
