// test/integration/payments.test.ts: payments through a booted bank image
// over real TCP (issue 17): the directory managed by an operator (a teller
// may not), a real CBPR+ pacs.008 sample settled on the ledger with its
// pacs.002 (itself XSD-valid), the same message again answered as before
// with nothing moved, a message whose agent or account the directory does
// not know refused with its ISO reason, the schema-invalid pain.001 sample
// and hostile XML refused 400 (FF01) before the log, a wrong Content-Type
// 415, a JSON payment and its record, an MT103 sample mapped and applied,
// reads of a key granted ledgers limited to them, every message in and out of
// a payment retrievable byte for byte (and again after a restart), and a
// replay of the log that reaches the same state hash.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { apiCall, bankManifestUnlimited, event, makeImage, removeDir, runCli, Server, stopAndReplay, type TestImage } from '../support/helpers.ts';
import { validateIsoMessage } from '../../host/payments/xsd.ts';
import { pain001 } from '../support/payments.ts';
import { writeIsoMessageText } from '../../host/payments/iso20022.ts';
import { readMt103 } from '../../host/payments/mt103.ts';

const FIXTURES = join(new URL('..', import.meta.url).pathname, 'fixtures');
const sample = (name: string) => readFileSync(join(FIXTURES, 'iso20022', name), 'utf8');

let img: TestImage;
let server: Server;
let base = '';
let data = '';
const keys: Record<string, string> = {};

// Ledger 1 USD, 4 GBP, 5 RON (scale 2 each); ledger accounts 100.. on each.
const GBP = 4;
const NOSTRO_CBRL = 4001n; // CBRLGB2LXXX's settlement account with us
const CUSTOMER_GBP = 4002n; // account "65479512" in the directory
const ALICE_USD = 1001n;
const BOB_USD = 1002n;
const FUNDING_USD = 1003n;
const CLEARING_USD = 1004n; // the clearing agent CLRGUS33's settlement account (pain.001 out)

function cliKey(args: string[]): string {
  const r = runCli(['keys', 'create', '--data', data, ...args]);
  assert.is(r.code, 0, r.stderr);
  return (event(r.events, 'key_created') as { key: string }).key;
}

test.before(async () => {
  const manifest = bankManifestUnlimited();
  manifest.services.find((s) => s.name === 'payments')!.config = { ledgers: [1, GBP, 5], directory_max: 64, payments_max: 8192, messages_max: 64 };
  manifest.gateway = { ...manifest.gateway, ledgers: [
    { ledger: 1, asset_scale: 2, currency: 'USD' }, { ledger: GBP, asset_scale: 2, currency: 'GBP' }, { ledger: 5, asset_scale: 2, currency: 'RON' },
  ] };
  img = makeImage('payments', manifest);
  data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  keys.admin = cliKey(['--role', 'admin']);
  keys.operator = cliKey(['--role', 'operator']);
  keys.teller = cliKey(['--role', 'teller', '--ledger', '1']);
  keys.auditor = cliKey(['--role', 'auditor']);
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  base = `http://127.0.0.1:${(await server.address()).port}`;
  const accounts = await call('POST', '/v1/accounts', keys.operator, [
    { id: String(NOSTRO_CBRL), ledger: GBP, code: 1 }, { id: String(CUSTOMER_GBP), ledger: GBP, code: 1 },
    { id: String(ALICE_USD), ledger: 1, code: 1, flags: ['debits_must_not_exceed_credits'] }, { id: String(BOB_USD), ledger: 1, code: 1 },
    { id: String(FUNDING_USD), ledger: 1, code: 1 }, { id: String(CLEARING_USD), ledger: 1, code: 1 },
  ]);
  assert.is(accounts.status, 200, accounts.text);
  const funded = await call('POST', '/v1/transfers', keys.operator, [
    { id: '1', debit_account_id: String(FUNDING_USD), credit_account_id: String(ALICE_USD), amount: '10000', ledger: 1, code: 1 },
  ]);
  assert.is(funded.json[0].result, 'created', funded.text);
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

const call = (method: string, path: string, key: string | null, body?: unknown, contentType?: string) => apiCall(base, method, path, key, body, contentType);

async function balance(id: bigint): Promise<{ credits: bigint; debits: bigint }> {
  const r = await call('POST', '/v1/accounts/lookup', keys.operator, { ids: [String(id)] });
  assert.is(r.status, 200, r.text);
  return { credits: BigInt(r.json[0].credits_posted), debits: BigInt(r.json[0].debits_posted) };
}

test('the directory: an operator adds entries, anyone reads them, a teller may not add', async () => {
  const put = await call('POST', '/v1/payment-accounts', keys.operator, { accounts: [
    { bic: 'CBRLGB2LXXX', ledger: GBP, account: String(NOSTRO_CBRL), name: 'CBRL nostro' },
    { account_id: '65479512', ledger: GBP, account: String(CUSTOMER_GBP) },
    { iban: 'GB33 BUKB 2020 1555 5555 55', ledger: 1, account: String(ALICE_USD) },
    { iban: 'DE89370400440532013000', ledger: 1, account: String(BOB_USD) },
    { bic: 'CLRGUS33', ledger: 1, account: String(CLEARING_USD) },
  ] });
  assert.is(put.status, 200, put.text);
  assert.equal(put.json.results, ['created', 'created', 'created', 'created', 'created']);
  const teller = await call('POST', '/v1/payment-accounts', keys.teller, { accounts: [{ iban: 'DE89370400440532013000', ledger: 1, account: '5' }] });
  assert.is(teller.status, 403, teller.text);
  const badIban = await call('POST', '/v1/payment-accounts', keys.operator, { accounts: [{ iban: 'GB34BUKB20201555555555', ledger: 1, account: '5' }] });
  assert.is(badIban.status, 400, badIban.text);
  assert.match(badIban.json.error.message, /mod 97/);
  const got = await call('POST', '/v1/payment-accounts/lookup', keys.operator, { accounts: [{ iban: 'GB33BUKB20201555555555' }, { bic: 'NOPEGB2L' }] });
  assert.is(got.status, 200, got.text);
  assert.is(got.json.accounts[0].account, String(ALICE_USD));
  assert.is(got.json.accounts[1], null);
});

test('a CBPR+ pacs.008 settles on the ledger and is answered with an XSD-valid pacs.002; the same message again moves nothing', async () => {
  const bytes = sample('cbprplus_c.105.1.1_pacs.008_AtoB.xml');
  const before = await balance(CUSTOMER_GBP);
  const r = await call('POST', '/v1/payments/iso20022', keys.operator, bytes, 'application/xml');
  assert.is(r.status, 200, r.text);
  assert.is(r.json.msg_id, 'pacs008bzmsgid-1');
  assert.is(r.json.repeated, false);
  assert.is(r.json.transactions[0].status, 'ACSC', r.text);
  assert.is(r.json.transactions[0].uetr, '7a562c67-ca16-48ba-b074-65581be6f001');
  assert.is((await balance(CUSTOMER_GBP)).credits - before.credits, 245000n, 'GBP 2450 credited in pence');
  const verdict = validateIsoMessage(Buffer.from(r.json.pacs002));
  assert.ok(verdict.ok, `the pacs.002 is XSD-valid: ${JSON.stringify(verdict)}`);
  assert.match(r.json.pacs002, /<TxSts>ACSC<\/TxSts>/);
  const again = await call('POST', '/v1/payments/iso20022', keys.operator, bytes, 'application/xml');
  assert.is(again.status, 200, again.text);
  assert.is(again.json.repeated, true);
  assert.is(again.json.transactions[0].payment_id, r.json.transactions[0].payment_id);
  assert.is((await balance(CUSTOMER_GBP)).credits - before.credits, 245000n, 'moved once');
  const payment = await call('GET', `/v1/payments/${r.json.transactions[0].payment_id}`, keys.operator);
  assert.is(payment.status, 200, payment.text);
  assert.is(payment.json.state, 'settled');
  assert.is(payment.json.amount_decimal, '2450.00');
  assert.is(payment.json.agent, 'CBRLGB2LXXX');
  assert.is((await call('GET', '/v1/payments/99999', keys.operator)).status, 404);
});

test('another message under a MsgId already used is a duplicate (AM05) whole; an agent the directory does not know is RC01', async () => {
  // The c.106 sample reuses c.105's MsgId and UETR with other content: refused whole, nothing moved.
  const before = await balance(CUSTOMER_GBP);
  const dup = await call('POST', '/v1/payments/iso20022', keys.operator, sample('cbprplus_c.106.2.1.a_pacs.008_AtoB.xml'), 'application/xml');
  assert.is(dup.status, 200, dup.text);
  assert.equal(dup.json.transactions.map((t: any) => [t.status, t.reason]), [['RJCT', 'AM05']]);
  assert.ok(validateIsoMessage(Buffer.from(dup.json.pacs002)).ok);
  // The c.105 sample as if from another bank: a new MsgId, UETR and instructing agent.
  const other = sample('cbprplus_c.105.1.1_pacs.008_AtoB.xml').replaceAll('pacs008bzmsgid-1', 'pacs008bzmsgid-9')
    .replaceAll('7a562c67-ca16-48ba-b074-65581be6f001', '0b7c3f5e-2d41-4e8a-9c3b-5f6a7d8e9f00').replaceAll('CBRLGB2LXXX', 'UNKNGB2LXXX');
  const r = await call('POST', '/v1/payments/iso20022', keys.operator, other, 'application/xml');
  assert.is(r.status, 200, r.text);
  assert.equal(r.json.transactions.map((t: any) => [t.status, t.reason]), [['RJCT', 'RC01']]);
  assert.match(r.json.pacs002, /<Cd>RC01<\/Cd>/);
  assert.ok(validateIsoMessage(Buffer.from(r.json.pacs002)).ok);
  assert.equal(await balance(CUSTOMER_GBP), before, 'nothing moved');
});

test('invalid and hostile XML is refused 400 (FF01) before the log; a wrong Content-Type is 415', async () => {
  const invalid = await call('POST', '/v1/payments/iso20022', keys.operator, sample('mt101-to-pain.001_pn.01.1.1_A_B.xml'), 'application/xml');
  assert.is(invalid.status, 400, invalid.text);
  assert.is(invalid.json.error.code, 'invalid_message');
  assert.match(invalid.json.error.message, /^FF01: .*TwnNm/);
  const xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">&x;</Document>';
  const refused = await call('POST', '/v1/payments/iso20022', keys.operator, xxe, 'application/xml');
  assert.is(refused.status, 400, refused.text);
  assert.match(refused.json.error.message, /FF01/);
  assert.not.match(refused.text, /root:/, 'no file content leaks');
  const laughs = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Document>&b;</Document>';
  assert.is((await call('POST', '/v1/payments/iso20022', keys.operator, laughs, 'application/xml')).status, 400);
  assert.is((await call('POST', '/v1/payments/iso20022', keys.operator, '<Document><unclosed></Document>', 'application/xml')).status, 400);
  const json = await call('POST', '/v1/payments/iso20022', keys.operator, sample('cbprplus_c.105.1.1_pacs.008_AtoB.xml'), 'application/json');
  assert.is(json.status, 415, json.text);
  const anon = await call('POST', '/v1/payments/iso20022', null, sample('cbprplus_c.105.1.1_pacs.008_AtoB.xml'), 'application/xml');
  assert.is(anon.status, 401, anon.text);
});

test('a pain.001 from a customer: pending transfers to the clearing agent\'s account (ACCP), AM04 past the balance', async () => {
  const before = await call('POST', '/v1/accounts/lookup', keys.operator, { ids: [String(ALICE_USD)] });
  const pendingBefore = BigInt(before.json[0].debits_pending);
  const xml = pain001('PAIN-1', 3, { debtorIban: 'GB33BUKB20201555555555', creditorIban: 'DE89370400440532013000', creditorAgent: 'CLRGUS33', currency: 'USD', amount: '40.00' });
  const r = await call('POST', '/v1/payments/iso20022', keys.teller, xml, 'application/xml');
  assert.is(r.status, 200, r.text);
  assert.equal(r.json.transactions.map((t: any) => [t.status, t.reason]), [['ACCP', undefined], ['ACCP', undefined], ['RJCT', 'AM04']]);
  painRound.pain001 = { xml, answer: r.json };
  assert.ok(validateIsoMessage(Buffer.from(r.json.pacs002)).ok, 'the pacs.002 is XSD-valid');
  const after = await call('POST', '/v1/accounts/lookup', keys.operator, { ids: [String(ALICE_USD)] });
  assert.is(BigInt(after.json[0].debits_pending) - pendingBefore, 8000n, 'two of 40.00 reserved, not posted');
  const p = await call('GET', `/v1/payments/${r.json.transactions[0].payment_id}`, keys.operator);
  assert.is(p.json.state, 'pending');
  assert.is(p.json.credit_account_id, String(CLEARING_USD));
  assert.ok(validateIsoMessage(Buffer.from(r.json.pacs008)).ok, 'the outbound pacs.008 is XSD-valid');
  assert.match(r.json.pacs008, /<NbOfTxs>2<\/NbOfTxs>/, 'it carries the two accepted transactions');
  assert.is(r.json.mt103.length, 2, 'and the same two as MT103s');
  const fin = readMt103(r.json.mt103[0].fin, { receivedAt: '2026-12-07T10:00:00' });
  assert.equal([fin.transactions[0].amount, fin.transactions[0].endToEndId], [{ currency: 'USD', value: '40.00' }, 'PAIN-1-0']);
  // The clearing answers with a pacs.002: the first settled, the second rejected.
  const report = writeIsoMessageText({
    kind: 'pacs.002', header: { msgId: 'CLRG-STS-1', creationDateTime: '2026-12-07T10:05:00Z', instructingAgent: { bic: 'CLRGUS33' } },
    original: { msgId: 'QX-unknown', msgNameId: 'pacs.008.001.08' },
    transactions: [
      { originalEndToEndId: 'PAIN-1-0', status: 'ACSC' },
      { originalEndToEndId: 'PAIN-1-1', status: 'RJCT', reasons: [{ code: 'AC04' }] },
      { originalEndToEndId: 'NOT-OURS', status: 'ACSC' },
    ],
  });
  const applied = await call('POST', '/v1/payments/iso20022', keys.operator, report, 'application/xml');
  assert.is(applied.status, 200, applied.text);
  painRound.report = report;
  assert.equal(applied.json.statuses.map((s: any) => [s.payment_state, s.reason]), [['ACSC', undefined], ['RJCT', 'AC04'], ['RJCT', 'NOOR']]);
  const settled = await call('POST', '/v1/accounts/lookup', keys.operator, { ids: [String(ALICE_USD)] });
  assert.is(BigInt(settled.json[0].debits_pending), pendingBefore, 'nothing left reserved');
  assert.is(BigInt(settled.json[0].debits_posted) - BigInt(after.json[0].debits_posted), 4000n, 'the settled one posted, the rejected one released');
  assert.is((await call('GET', `/v1/payments/${r.json.transactions[1].payment_id}`, keys.operator)).json.state, 'rejected');
  const again = await call('POST', '/v1/payments/iso20022', keys.operator, report, 'application/xml');
  assert.is(again.json.repeated, true, 'the same report again moves nothing');
  // The creditor's bank returns 25.00 of the settled one (pacs.004): back to the debtor, once.
  const ret = (msgId: string, value: string) => writeIsoMessageText({
    kind: 'pacs.004',
    header: { msgId, creationDateTime: '2026-12-07T11:00:00Z', numberOfTransactions: '1', settlementMethod: 'INDA', instructingAgent: { bic: 'CLRGUS33' } },
    transactions: [{ originalEndToEndId: 'PAIN-1-0', returnedAmount: { currency: 'USD', value }, reason: { code: 'AC04' }, chargeBearer: 'SHAR' }],
  });
  const tooMuch = await call('POST', '/v1/payments/iso20022', keys.operator, ret('RTR-1', '40.01'), 'application/xml');
  assert.equal(tooMuch.json.returns.map((x: any) => [x.status, x.reason]), [['RJCT', 'AM09']], tooMuch.text);
  const back = await call('POST', '/v1/payments/iso20022', keys.operator, ret('RTR-2', '25.00'), 'application/xml');
  assert.equal(back.json.returns.map((x: any) => [x.status, x.reason]), [['ACSC', undefined]], back.text);
  painRound.returned = ret('RTR-2', '25.00');
  const returned = await call('POST', '/v1/accounts/lookup', keys.operator, { ids: [String(ALICE_USD)] });
  assert.is(BigInt(returned.json[0].credits_posted) - BigInt(settled.json[0].credits_posted), 2500n, 'the debtor got 25.00 back');
  const twice = await call('POST', '/v1/payments/iso20022', keys.operator, ret('RTR-3', '1.00'), 'application/xml');
  assert.equal(twice.json.returns.map((x: any) => [x.status, x.reason]), [['RJCT', 'AM05']], 'returned once');
  assert.is((await call('GET', `/v1/payments/${r.json.transactions[0].payment_id}`, keys.operator)).json.state, 'returned');
  // The correspondent's notification (camt.054) of our account: each entry matched to a payment, or not.
  const entry = (reference: string, value: string, details: { endToEndId?: string; uetr?: string }) => ({
    reference, amount: { currency: 'USD', value }, creditDebit: 'DBIT' as const, status: 'BOOK', details: [details],
  });
  const notification = writeIsoMessageText({
    kind: 'camt.054', header: { msgId: 'NTFCTN-1', creationDateTime: '2026-12-07T12:00:00Z' },
    reports: [{
      id: 'N1', account: { iban: 'US12CLRG0000000000001' }, accountServicer: { bic: 'CLRGUS33' }, balances: [],
      entries: [entry('E1', '40.00', { endToEndId: 'PAIN-1-0' }), entry('E2', '39.00', { endToEndId: 'PAIN-1-0' }), entry('E3', '5.00', { endToEndId: 'SOMEONE-ELSE' })],
    }],
  });
  const recon = await call('POST', '/v1/payments/iso20022', keys.operator, notification, 'application/xml');
  assert.is(recon.status, 200, recon.text);
  assert.equal(recon.json.entries.map((e: any) => e.result), ['matched', 'differs', 'unmatched'], recon.text);
  assert.equal([recon.json.matched, recon.json.differs, recon.json.unmatched], [1, 1, 1]);
  assert.is(recon.json.entries[0].payment_id, r.json.transactions[0].payment_id);
  const wrongSum = xml.replace('<NbOfTxs>3</NbOfTxs><InitgPty>', '<NbOfTxs>3</NbOfTxs><CtrlSum>1.00</CtrlSum><InitgPty>').replace('PAIN-1', 'PAIN-2');
  const refused = await call('POST', '/v1/payments/iso20022', keys.teller, wrongSum, 'application/xml');
  assert.is(refused.status, 400, refused.text);
  assert.match(refused.json.error.message, /CtrlSum 1\.00 but the amounts add up to 120/);
});

// What the pain.001 round trip sent and was answered, for the test of its messages after it.
const painRound: { pain001?: { xml: string; answer: any }; report?: string; returned?: string } = {};

/** A payment's document as the API serves it: status, media type, text. */
async function document(id: string, name: string, key = keys.operator): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${base}/v1/payments/${id}/message?name=${name}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** Every document a payment lists, fetched: name → text. */
async function documents(id: string): Promise<Map<string, string>> {
  const p = await call('GET', `/v1/payments/${id}`, keys.auditor);
  assert.is(p.status, 200, p.text);
  const out = new Map<string, string>();
  for (const m of p.json.messages) {
    const d = await document(id, m.name, keys.auditor);
    assert.is(d.status, 200, `${m.name}: ${d.text}`);
    out.set(m.name, d.text);
  }
  return out;
}

test('a payment\'s messages in and out: listed, each retrievable byte for byte as first received or produced', async () => {
  const { pain001: sent, report, returned } = painRound;
  assert.ok(sent !== undefined && report !== undefined && returned !== undefined, 'the pain.001 round trip ran first');
  const settledId = sent.answer.transactions[0].payment_id;
  const p = await call('GET', `/v1/payments/${settledId}`, keys.operator);
  assert.is(p.status, 200, p.text);
  assert.equal(p.json.messages.map((m: any) => [m.name, m.direction, m.type]), [
    ['original', 'in', 'pain.001.001.09'], ['pacs002', 'out', 'pacs.002.001.10'], ['pacs008', 'out', 'pacs.008.001.08'], ['mt103', 'out', 'MT103'],
    ['status_report', 'in', 'pacs.002.001.10'], ['return', 'in', 'pacs.004.001.09'],
  ], p.text);
  assert.is(p.json.messages[0].sha256, createHash('sha256').update(sent.xml).digest('hex'), 'the original is named by its digest');
  assert.is(p.json.messages[0].href, `/v1/payments/${settledId}/message?name=original`);
  const original = await document(settledId, 'original');
  assert.equal([original.status, original.type, original.text], [200, 'application/xml; charset=utf-8', sent.xml], 'the original, byte for byte');
  assert.is((await document(settledId, 'pacs002')).text, sent.answer.pacs002, 'the pacs.002 as first answered');
  assert.is((await document(settledId, 'pacs008')).text, sent.answer.pacs008, 'the outbound pacs.008 as first produced');
  const mt = await document(settledId, 'mt103');
  assert.equal([mt.type, mt.text], ['text/plain; charset=utf-8', sent.answer.mt103[0].fin], 'its MT103 as first produced');
  assert.is((await document(settledId, 'status_report')).text, report, 'the clearing\'s pacs.002 that settled it');
  assert.is((await document(settledId, 'return')).text, returned, 'the pacs.004 that returned it');
  // The rejected one (AM04) went nowhere: no pacs.008, no MT103; its pacs.002 is the message's, with its RJCT.
  const rejectedId = sent.answer.transactions[2].payment_id;
  const rejected = await call('GET', `/v1/payments/${rejectedId}`, keys.operator);
  assert.equal(rejected.json.messages.map((m: any) => m.name), ['original', 'pacs002']);
  assert.equal((await document(rejectedId, 'pacs008')).status, 404);
  assert.is((await document(rejectedId, 'pacs002')).text, sent.answer.pacs002);
  // Names outside the list, ids that are no payment, a key granted another ledger: refused.
  assert.is((await document(settledId, 'nonsense')).status, 400);
  assert.is((await document('999999', 'original')).status, 404);
  const gbp = (await call('GET', `/v1/payments?ledger=${GBP}&limit=1`, keys.operator)).json.payments[0];
  assert.ok(gbp !== undefined, 'a GBP payment (the pacs.008 sample)');
  assert.is((await document(gbp.id, 'original', keys.operator)).status, 200);
  assert.is((await document(gbp.id, 'original', keys.teller)).status, 404, 'a GBP payment is not a key granted ledger 1 only to read');
});

test('a pain.001 of 3,000 transactions, more than one message holds, goes in parts and is applied as one message', async () => {
  const funded = await call('POST', '/v1/transfers', keys.operator, [
    { id: '77', debit_account_id: String(FUNDING_USD), credit_account_id: String(ALICE_USD), amount: '10000', ledger: 1, code: 1 },
  ]);
  assert.is(funded.json[0].result, 'created', funded.text);
  const bulk = (msgId: string) => pain001(msgId, 3000, {
    debtorIban: 'GB33BUKB20201555555555', creditorIban: 'DE89370400440532013000', creditorAgent: 'CLRGUS33', currency: 'USD', amount: '0.01',
  });
  const one = bulk('BULK-1');
  assert.ok(one.length > 800_000, 'the original alone is most of a message; with its records it is more than one');
  const tellers = await call('POST', '/v1/payments/iso20022', keys.teller, one, 'application/xml');
  assert.is(tellers.status, 403, `a key limited to ledgers sends a message that fits one frame only: ${tellers.text.slice(0, 300)}`);
  // Two at once from two connections: their parts interleave at the service, each assembled on its own.
  const [r, r2] = await Promise.all([
    call('POST', '/v1/payments/iso20022', keys.operator, one, 'application/xml'),
    call('POST', '/v1/payments/iso20022', keys.operator, bulk('BULK-2'), 'application/xml'),
  ]);
  for (const x of [r, r2]) {
    assert.is(x.status, 200, x.text.slice(0, 300));
    assert.is(x.json.repeated, false);
    assert.is(x.json.transactions.length, 3000);
    assert.ok(x.json.transactions.every((t: any) => t.status === 'ACCP'), 'every transaction pending at the clearing');
    const ids = x.json.transactions.map((t: any) => BigInt(t.payment_id));
    assert.ok(ids.every((id: bigint, i: number) => id === ids[0] + BigInt(i)), 'one message: its payments in a row');
    assert.match(x.json.pacs008, /<NbOfTxs>3000<\/NbOfTxs>/);
    assert.ok(validateIsoMessage(Buffer.from(x.json.pacs008)).ok, 'the outbound pacs.008 of 3,000 is XSD-valid');
  }
  const again = await call('POST', '/v1/payments/iso20022', keys.operator, one, 'application/xml');
  assert.is(again.json?.repeated, true, `the same message again: the original answer, nothing moved: ${again.text.slice(0, 300)}`);
  assert.equal(again.json.transactions.map((t: any) => t.payment_id), r.json.transactions.map((t: any) => t.payment_id));
  const original = await document(r.json.transactions[1234].payment_id, 'original');
  assert.is(original.text, one, 'its original, whole');
});

test('JSON payments: settled between directory accounts, AM04 on insufficient funds, over-precise amounts refused', async () => {
  const ok = await call('POST', '/v1/payments', keys.teller, {
    debtor: { iban: 'GB33BUKB20201555555555' }, creditor: { iban: 'DE89370400440532013000' }, amount: '12.34', currency: 'USD', end_to_end_id: 'J-1',
  });
  assert.is(ok.status, 200, ok.text);
  assert.is(ok.json.transactions[0].status, 'ACSC', ok.text);
  assert.is((await balance(BOB_USD)).credits, 1234n);
  const poor = await call('POST', '/v1/payments', keys.teller, {
    debtor: { iban: 'GB33BUKB20201555555555' }, creditor: { iban: 'DE89370400440532013000' }, amount: '1000.00', currency: 'USD', end_to_end_id: 'J-2',
  });
  assert.is(poor.json.transactions[0].status, 'RJCT', poor.text);
  assert.is(poor.json.transactions[0].reason, 'AM04');
  const precise = await call('POST', '/v1/payments', keys.teller, {
    debtor: { iban: 'GB33BUKB20201555555555' }, creditor: { iban: 'DE89370400440532013000' }, amount: '1.001', currency: 'USD', end_to_end_id: 'J-3',
  });
  assert.is(precise.status, 400, precise.text);
  assert.is(precise.json.error.code, 'amount_not_exact');
  const otherLedger = await call('POST', '/v1/payments', keys.teller, {
    debtor: { account_id: '65479512' }, creditor: { iban: 'DE89370400440532013000' }, amount: '1.00', currency: 'GBP', end_to_end_id: 'J-4',
  });
  assert.is(otherLedger.status, 403, 'a teller of ledger 1 may not pay on the GBP ledger');
});

test('an MT103 sample is parsed, mapped to pacs.008 and answered (its sender is not in the directory: RC01)', async () => {
  const mt = readFileSync(join(FIXTURES, 'swift-mt', 'mt103_out-ack_msg02.fin'), 'utf8');
  const r = await call('POST', '/v1/payments/swift-mt', keys.operator, mt, 'text/plain');
  assert.is(r.status, 200, r.text);
  assert.is(r.json.transactions.length, 1);
  assert.is(r.json.transactions[0].status, 'RJCT');
  const bad = await call('POST', '/v1/payments/swift-mt', keys.operator, '{1:F01BANKBEBBAXXX0000000000}{2:I202BANKDEFFXXXXN}{4:\n:20:X\n-}', 'text/plain');
  assert.is(bad.status, 400, bad.text);
});

test('a statement of a directory account: totals at both ends equal the ledger\'s, its transfers in between, an XSD-valid camt.053 and camt.054', async () => {
  const ledgerNow = await call('POST', '/v1/accounts/lookup', keys.operator, { ids: [String(ALICE_USD)] });
  const all = await call('POST', '/v1/payment-accounts/statement', keys.auditor, { account: { iban: 'GB33BUKB20201555555555' } });
  assert.is(all.status, 200, all.text);
  assert.equal([all.json.opening.debits_posted, all.json.opening.credits_posted], ['0', '0'], 'nothing before the first transfer');
  assert.equal([all.json.closing.debits_posted, all.json.closing.credits_posted], [ledgerNow.json[0].debits_posted, ledgerNow.json[0].credits_posted],
    'the closing totals are the ledger\'s');
  assert.ok(all.json.transfers.length >= 4 && all.json.entries_in_period === all.json.transfers.length);
  const camt = validateIsoMessage(Buffer.from(all.json.camt053));
  assert.ok(camt.ok, `the camt.053 is XSD-valid: ${JSON.stringify(camt)}`);
  assert.match(all.json.camt053, /<Cd>OPBD<\/Cd>[\s\S]*<Cd>CLBD<\/Cd>/);
  // The same period as a debit/credit notification (camt.054): the same entries, no balances; XSD-valid.
  const notification = validateIsoMessage(Buffer.from(all.json.camt054));
  assert.ok(notification.ok, `the camt.054 is XSD-valid: ${JSON.stringify(notification)}`);
  assert.is(notification.ok && notification.definition, 'camt.054.001.08');
  assert.not.match(all.json.camt054, /<Bal>/, 'a notification carries no balances');
  assert.is(all.json.camt054.match(/<Ntry>/g)?.length, all.json.transfers.length, 'an entry per transfer of the period');
  assert.is(all.json.camt053.match(/<Ntry>/g)?.length, all.json.transfers.length);
  // From just after the funding transfer: the opening totals are the funding.
  const funding = await call('POST', '/v1/transfers/lookup', keys.operator, { ids: ['1'] });
  const after = await call('POST', '/v1/payment-accounts/statement', keys.operator, {
    account: { iban: 'GB33BUKB20201555555555' }, from_ns: String(BigInt(funding.json[0].timestamp) + 1n), limit: 2,
  });
  assert.equal([after.json.opening.debits_posted, after.json.opening.credits_posted], ['0', '10000'], 'opening: the 100.00 funding');
  assert.is(after.json.opening.amount_decimal, '100.00');
  assert.is(after.json.closing.debits_posted, ledgerNow.json[0].debits_posted);
  assert.equal([after.json.transfers.length, after.json.truncated], [2, true], 'at most limit listed, the rest counted');
  const none = await call('POST', '/v1/payment-accounts/statement', keys.operator, { account: { iban: 'NL91ABNA0417164300' } });
  assert.is(none.status, 404, none.text);
});

test('payments are listed in id order, filtered and paged', async () => {
  const all = await call('GET', '/v1/payments?limit=1024', keys.operator);
  assert.is(all.status, 200, all.text);
  const ids = all.json.payments.map((p: any) => BigInt(p.id));
  assert.ok(ids.length >= 8 && ids.every((id: bigint, i: number) => i === 0 || id > ids[i - 1]), 'every payment, in id order');
  const settled = await call('GET', '/v1/payments?state=settled&source=json', keys.auditor);
  assert.ok(settled.json.payments.length >= 1 && settled.json.payments.every((p: any) => p.state === 'settled' && p.source === 'json'), settled.text);
  const first = await call('GET', '/v1/payments?limit=2', keys.operator);
  const next = await call('GET', `/v1/payments?limit=2&after=${first.json.next_after}`, keys.operator);
  assert.equal([...first.json.payments, ...next.json.payments].map((p: any) => p.id), all.json.payments.slice(0, 4).map((p: any) => p.id), 'pages follow each other');
  const bad = await call('GET', '/v1/payments?state=lost', keys.operator);
  assert.is(bad.status, 400, bad.text);
  assert.is(bad.json.error.code, 'invalid_query');
});

/** Every payment a key may see, page after page. */
async function listAll(key: string): Promise<any[]> {
  const out: any[] = [];
  for (let after = '0'; ;) {
    const page = await call('GET', `/v1/payments?after=${after}&limit=1024`, key);
    assert.is(page.status, 200, page.text);
    out.push(...page.json.payments);
    if (page.json.next_after === after) return out;
    after = page.json.next_after;
  }
}

test('a key granted ledgers reads only what they hold: payments, the list, the directory, statements', async () => {
  const all = await listAll(keys.operator);
  const usd = all.find((p: any) => p.ledger === 1);
  const gbp = all.find((p: any) => p.ledger === GBP);
  assert.ok(usd !== undefined && gbp !== undefined, 'payments on both ledgers');
  assert.is((await call('GET', `/v1/payments/${usd.id}`, keys.teller)).status, 200);
  assert.is((await call('GET', `/v1/payments/${gbp.id}`, keys.teller)).status, 404, 'another ledger\'s payment is as if it did not exist');
  const listed = await listAll(keys.teller);
  assert.ok(listed.length > 0 && listed.every((p: any) => p.ledger === 1), 'the list holds ledger 1 only');
  assert.is(listed.length, all.filter((p: any) => p.ledger === 1).length);
  const dir = await call('POST', '/v1/payment-accounts/lookup', keys.teller, { accounts: [{ account_id: '65479512' }, { iban: 'GB33BUKB20201555555555' }] });
  assert.is(dir.json.accounts[0], null, 'a GBP entry is not shown');
  assert.is(dir.json.accounts[1].account, String(ALICE_USD));
  assert.is((await call('POST', '/v1/payment-accounts/statement', keys.teller, { account: { account_id: '65479512' } })).status, 404);
  assert.is((await call('POST', '/v1/payment-accounts/statement', keys.teller, { account: { iban: 'GB33BUKB20201555555555' } })).status, 200);
});

test('after a restart every payment\'s documents are the same bytes (the originals archive reopened, outbound made again)', async () => {
  const ids = [painRound.pain001!.answer.transactions[0].payment_id, painRound.pain001!.answer.transactions[2].payment_id];
  const before = await Promise.all(ids.map(documents));
  await server.kill('SIGTERM');
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  base = `http://127.0.0.1:${(await server.address()).port}`;
  const after = await Promise.all(ids.map(documents));
  assert.equal(after.map((m) => [...m.entries()]), before.map((m) => [...m.entries()]));
});

test('replay of the log reaches the same state hash: payments are decided again, the same', async () => {
  const { stopped, replayed } = await stopAndReplay(server, data);
  assert.is(replayed, stopped);
});

test.run();
