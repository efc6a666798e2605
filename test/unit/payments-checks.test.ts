// test/unit/payments-checks.test.ts: the payments service with compliance
// checks on ("checks": true), wired to a real ledger service and a real
// compliance service (three harnesses; what payments sends each peer is
// delivered and the answer brought back). Proves: every payment that would
// move money is checked first, with its parties' names and countries and the
// debit account's owner; an allowed payment settles as before; a refused one
// is REJECTED with the ISO reason of the rule that decided (RR04 sanctions,
// AM02 per-payment maximum, AM14 a day's limit) and moves nothing; a held one
// makes a pending transfer, is HELD, answered ACCP, and its money moves only
// when hold_release posts it (SETTLED) or voids it (REJECTED, RR04 or the
// reason given), exactly; the same release again is answered as it stands, a
// different one or a payment never held is NARR, an unknown id NOOR; a
// compliance refusal or fault rejects the payments it did not decide (NARR),
// fail closed; a pain.001 held is released to PENDING; a message repeated
// after its hold was decided is answered as first answered; and the whole
// exchange replays to the same memory on all three services. directory_list
// pages through the directory in the order entries were made.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as L from '../../services/ledger/protocol.ts';
import * as P from '../../services/payments/protocol.ts';
import * as C from '../../services/compliance/protocol.ts';
import {
  creditTransfersRequest, creditTransfersResults, directoryListReply, directoryListRequest, directoryPutRequest, holdReleaseRequest, holdReleaseResults, paymentGetRequest, paymentRecords,
  type CreditTransfersRequest, type ReleaseLine, type TxRecord,
} from '../../host/payments/records.ts';
import { beginRequest, commitRequest, namesRequests } from '../../host/compliance/records.ts';
import { account, encodeAccounts, encodeLookupAccounts, readAccount } from '../../host/client/ledger.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BANK = JSON.parse(readFileSync(join(ROOT, 'images/bank/manifest.json'), 'utf8')).services.find((s: { name: string }) => s.name === 'compliance');
// In the payments harness: [payments, gateway, ledger, compliance]; the peers see payments as 1.
const GATEWAY = 1;
const LEDGER = 2;
const COMPLIANCE = 3;
const FROM_PAYMENTS = 1;

const NOSTRO = 10n;
const ALICE = 20n;
const BOB = 30n;
const CLEARING = 50n;
const ALICE_IBAN = 'GB33BUKB20201555555555';
const BOB_IBAN = 'DE89370400440532013000';

interface Trio { payments: ServiceHarness; ledger: ServiceHarness; compliance: ServiceHarness }

function balances(ledger: ServiceHarness, id: bigint): { debitsPosted: bigint; creditsPosted: bigint; creditsPending: bigint; debitsPending: bigint } {
  const b = ledger.request(encodeLookupAccounts([id]))!.payload;
  assert.is(b.readUInt32LE(L.REPLY_COUNT), 1, `account ${id} exists`);
  const a = readAccount(new DataView(b.buffer, b.byteOffset, b.length), L.HEADER_BYTES);
  return { debitsPosted: a.debits_posted, creditsPosted: a.credits_posted, creditsPending: a.credits_pending, debitsPending: a.debits_pending };
}

/** A check request the compliance service refuses (no records): what a service that could not decide answers. */
function malformedCheck(): Buffer {
  const h = Buffer.alloc(C.HEADER_BYTES);
  h[C.HEADER_OP] = C.Op.check;
  return h;
}

async function trio(): Promise<Trio> {
  const ledger = await ServiceHarness.load(join(ROOT, 'build/services/ledger.wasm'), {
    name: 'ledger', peers: ['payments'], caps: ['log', 'time'], memoryPagesMax: 4096, messageBytesMax: 2 << 20,
  });
  ledger.init({ accounts_max: 64, transfers_max: 1024, pending_max: 64, history_max: 64, prefault: false });
  const compliance = await ServiceHarness.load(join(ROOT, 'build/services/compliance.wasm'), {
    name: 'compliance', peers: ['payments'], caps: ['log', 'time'], memoryPagesMax: BANK.memory_pages_max, messageBytesMax: 2 << 20,
  });
  // The rule set of ledger 1 (the config's, in minor units): amount_threshold and sanctions hold; payment_max and
  // account_daily_max refuse; an exact list name refuses.
  compliance.init({
    names_max: 100, accounts_max: 100, alerts_max: 100, decisions_max: 100,
    rules: [{ ledger: 1, hold: ['amount', 'sanctions'], amount_threshold: 500_00, payment_max: 5000_00, account_daily_max: 6000_00, screen_refuse: 990000 }],
  });
  const version = createHash('sha256').update('sdn').digest();
  const sdn = [{ type: C.TYPE_INDIVIDUAL, alias: false, weak: false, entityId: '2001', normalized: 'viktor petrovich bout', display: 'BOUT, Viktor Petrovich' }];
  compliance.request(beginRequest({ list: C.LIST_OFAC_SDN, version, entries: 1, names: 1 }));
  for (const r of namesRequests(sdn, C.LIST_OFAC_SDN, 10)) compliance.request(r);
  compliance.request(commitRequest({ list: C.LIST_OFAC_SDN, version, entries: 1, names: 1 }));
  const payments = await ServiceHarness.load(join(ROOT, 'build/services/payments.wasm'), {
    name: 'payments', peers: ['gateway', 'ledger', 'compliance'], caps: ['log', 'time', 'send:ledger', 'send:compliance'], memoryPagesMax: 2048,
    messageBytesMax: 16 << 20,
  });
  payments.init({ ledgers: [1], directory_max: 64, payments_max: 256, messages_max: 64, transfer_code: 7, checks: true });
  ledger.request(encodeAccounts([NOSTRO, ALICE, BOB, CLEARING].map((id) => account({ id }))));
  payments.message(GATEWAY, directoryPutRequest([
    { key: { kind: 'agent', text: 'BANKGB2LXXX' }, ledger: 1, account: NOSTRO, name: 'Bank A nostro' },
    { key: { kind: 'agent', text: 'CLRGDEFF' }, ledger: 1, account: CLEARING },
    { key: { kind: 'iban', text: ALICE_IBAN }, ledger: 1, account: ALICE, name: 'Alice Example' },
    { key: { kind: 'iban', text: BOB_IBAN }, ledger: 1, account: BOB, name: 'Bob Example' },
  ]));
  return { payments, ledger, compliance };
}

interface Faults { refuseChecks?: boolean; faultChecks?: boolean }

/** Sends a request as the gateway, delivers what payments sends its peers, and returns the answer and what was sent to each. */
function call(t: Trio, request: Buffer, faults: Faults = {}): { status: number; payload: Buffer; checks: Buffer[]; ledgerCalls: number } {
  const token = t.payments.messageLater(GATEWAY, request);
  const checks: Buffer[] = [];
  let ledgerCalls = 0;
  while (t.payments.sent.length > 0) {
    const s = t.payments.sent.shift()!;
    if (s.peer === COMPLIANCE) {
      checks.push(s.payload);
      if (faults.faultChecks) { t.payments.peerFailed(COMPLIANCE); continue; }
      const payload = faults.refuseChecks ? malformedCheck() : s.payload;
      const r = t.compliance.message(FROM_PAYMENTS, payload);
      assert.ok(r !== null && r.status === 0, 'compliance answered');
      t.payments.peerReply(COMPLIANCE, r!.payload);
      continue;
    }
    assert.is(s.peer, LEDGER, 'the ledger or compliance');
    ledgerCalls++;
    const r = t.ledger.message(FROM_PAYMENTS, s.payload);
    t.payments.peerReply(LEDGER, r!.payload);
  }
  const r = t.payments.takeReply(token);
  assert.ok(r !== null, 'the payments service answered');
  return { ...r!, checks, ledgerCalls };
}

function json(msgId: string, txs: Partial<TxRecord>[]): CreditTransfersRequest {
  const bytes = Buffer.from(`{"msg":"${msgId}"}`);
  return {
    source: 'json', msgId, digest: createHash('sha256').update(bytes).digest(), original: bytes,
    transactions: txs.map((x, i) => ({
      endToEndId: `E2E-${msgId}-${i}`, ledger: 1, amount: 1n, debtor: { kind: 'iban', text: ALICE_IBAN }, creditor: { kind: 'iban', text: BOB_IBAN }, ...x,
    })),
  };
}

function release(t: Trio, lines: ReleaseLine[]): ReturnType<typeof holdReleaseResults> {
  const r = call(t, holdReleaseRequest(lines));
  assert.is(r.status, 0);
  return holdReleaseResults(r.payload);
}

function state(t: Trio, id: bigint): { state: string; reason?: string; compliance?: string; alert: number } {
  const [rec] = paymentRecords(call(t, paymentGetRequest([id])).payload);
  return { state: rec!.state, reason: rec!.reason, compliance: rec!.compliance, alert: rec!.alert };
}

test('each payment is checked with its parties, decided, and moves as decided: allowed settles, refused carries its reason, held waits pending', async () => {
  const t = await trio();
  const r = call(t, creditTransfersRequest(json('M-1', [
    { amount: 100_00n, debtorName: 'alice example', creditorName: 'bob example', debtorCountry: 'GB', creditorCountry: 'DE' },
    { amount: 600_00n },
    { amount: 5001_00n },
    { amount: 10_00n, creditorName: 'viktor petrovich bout' },
    { amount: 10_00n, creditorName: 'viktor bout' },
  ])));
  assert.is(r.checks.length, 1, 'one check request for the message');
  const check = r.checks[0];
  assert.is(check.readUInt32LE(C.HEADER_COUNT), 5, 'every payment that could move, checked');
  const first = C.HEADER_BYTES;
  assert.is(check.toString('latin1', first + C.CHECK_CREDITOR_NAME, first + C.CHECK_CREDITOR_NAME + check[first + C.CHECK_CREDITOR_LENGTH]), 'bob example');
  assert.is(check.toString('latin1', first + C.CHECK_DEBTOR_COUNTRY, first + C.CHECK_DEBTOR_COUNTRY + 2), 'GB');
  assert.is(check.toString('latin1', first + C.CHECK_CUSTOMER + 1, first + C.CHECK_CUSTOMER + 1 + check[first + C.CHECK_CUSTOMER]), 'Alice Example', 'the debit account\'s owner');
  assert.is(check[first + C.CHECK_FLAGS], C.CHECK_F_DEBIT_CUSTOMER | C.CHECK_F_CREDIT_CUSTOMER, 'both are customers\' accounts in a JSON payment');
  const res = creditTransfersResults(r.payload).results;
  assert.equal(res.map((x) => [x.status, x.reason]), [['ACSC', undefined], ['ACCP', undefined], ['RJCT', 'AM02'], ['RJCT', 'RR04'], ['ACCP', undefined]]);
  assert.equal([1, 2, 3, 4, 5].map((i) => state(t, BigInt(i)).state), ['settled', 'held', 'rejected', 'rejected', 'held']);
  assert.equal([1, 2, 3, 4, 5].map((i) => state(t, BigInt(i)).compliance), ['allow', 'hold', 'refuse', 'refuse', 'hold']);
  assert.ok(state(t, 2n).alert > 0 && state(t, 5n).alert > 0 && state(t, 1n).alert === 0, 'holds carry their alert');
  const bob = balances(t.ledger, BOB);
  assert.is(bob.creditsPosted, 100_00n, 'only the allowed payment is posted');
  assert.is(bob.creditsPending, 610_00n, 'the held ones are reserved, pending');
});

test('hold_release: release posts, reject voids (RR04 or the reason given), exactly; again is as it stands; contradictions are NARR, unknown NOOR', async () => {
  const t = await trio();
  call(t, creditTransfersRequest(json('M-2', [{ amount: 600_00n }, { amount: 700_00n }, { amount: 800_00n }, { amount: 1_00n }])));
  const results = release(t, [{ payment: 1n, outcome: 'release' }, { payment: 2n, outcome: 'reject' }, { payment: 3n, outcome: 'reject', reason: 'FRAD' }]);
  assert.equal(results.map((x) => [x.status, x.reason]), [['ACSC', undefined], ['RJCT', 'RR04'], ['RJCT', 'FRAD']]);
  assert.is(results[0].transfer >> 64n, BigInt(P.PAYMENT_POST_ID_HI), 'the post\'s transfer');
  assert.is(results[1].transfer >> 64n, BigInt(P.PAYMENT_VOID_ID_HI), 'the void\'s transfer');
  assert.equal([state(t, 1n).state, state(t, 2n).state, state(t, 3n).state], ['settled', 'rejected', 'rejected']);
  assert.equal([state(t, 2n).reason, state(t, 3n).reason], ['RR04', 'FRAD']);
  const bob = balances(t.ledger, BOB);
  assert.is(bob.creditsPosted, 600_00n + 1_00n, 'the released one and the allowed one');
  assert.is(bob.creditsPending, 0n, 'nothing left reserved');
  assert.is(balances(t.ledger, ALICE).debitsPosted, 601_00n);
  const again = release(t, [
    { payment: 1n, outcome: 'release' }, { payment: 2n, outcome: 'reject' }, { payment: 1n, outcome: 'reject' }, { payment: 4n, outcome: 'release' },
    { payment: 99n, outcome: 'release' },
  ]);
  assert.equal(again.map((x) => [x.status, x.reason]), [['ACSC', undefined], ['RJCT', 'RR04'], ['RJCT', 'NARR'], ['RJCT', 'NARR'], ['RJCT', 'NOOR']]);
  assert.is(balances(t.ledger, BOB).creditsPosted, 601_00n, 'nothing moved again');
});

test('a message repeated after its hold was decided gets its first answer (ACCP), and moves nothing', async () => {
  const t = await trio();
  const req = creditTransfersRequest(json('M-3', [{ amount: 600_00n }]));
  const first = creditTransfersResults(call(t, req).payload).results;
  release(t, [{ payment: 1n, outcome: 'reject' }]);
  const again = call(t, req);
  assert.is(again.checks.length + again.ledgerCalls, 0, 'neither checked nor moved again');
  // The transfer's timestamp is the payment's latest (its void's), as for a pain.001 a status report settled since.
  const strip = (rs: typeof first) => rs.map(({ timestamp: _, ...x }) => x);
  assert.equal(strip(creditTransfersResults(again.payload).results), strip(first), 'the first answer: ACCP, the pending transfer');
});

test('fail closed: a check the compliance service refuses or faults on rejects its payments (NARR); nothing moves', async () => {
  for (const faults of [{ refuseChecks: true }, { faultChecks: true }]) {
    const t = await trio();
    const r = call(t, creditTransfersRequest(json('M-4', [{ amount: 1_00n }, { amount: 2_00n }])), faults);
    assert.equal(creditTransfersResults(r.payload).results.map((x) => [x.status, x.reason]), [['RJCT', 'NARR'], ['RJCT', 'NARR']], JSON.stringify(faults));
    assert.is(r.ledgerCalls, 0, 'the ledger was not asked');
    assert.is(balances(t.ledger, BOB).creditsPosted + balances(t.ledger, BOB).creditsPending, 0n);
  }
});

test('pain.001: a held payment out is released to PENDING (awaiting its clearing); a pacs.008 in is checked with the agent\'s account not a customer\'s', async () => {
  const t = await trio();
  const bytes = Buffer.from('<pain/>');
  const pain: CreditTransfersRequest = {
    source: 'pain.001', msgId: 'P-1', digest: createHash('sha256').update(bytes).digest(), original: bytes,
    transactions: [{ endToEndId: 'E-1', ledger: 1, amount: 700_00n, debtor: { kind: 'iban', text: ALICE_IBAN }, creditorAgent: 'CLRGDEFF' }],
  };
  call(t, creditTransfersRequest(pain));
  assert.is(state(t, 1n).state, 'held');
  assert.equal(release(t, [{ payment: 1n, outcome: 'release' }]).map((x) => x.status), ['ACCP']);
  assert.is(state(t, 1n).state, 'pending', 'released: awaiting its clearing\'s status');
  assert.is(balances(t.ledger, CLEARING).creditsPending, 700_00n, 'still the one pending transfer');
  const pacsBytes = Buffer.from('<pacs/>');
  const pacs: CreditTransfersRequest = {
    source: 'pacs.008', msgId: 'I-1', agent: 'BANKGB2LXXX', digest: createHash('sha256').update(pacsBytes).digest(), original: pacsBytes,
    transactions: [{ endToEndId: 'E-2', ledger: 1, amount: 1_00n, creditor: { kind: 'iban', text: BOB_IBAN } }],
  };
  const r = call(t, creditTransfersRequest(pacs));
  assert.is(r.checks[0][C.HEADER_BYTES + C.CHECK_FLAGS], C.CHECK_F_CREDIT_CUSTOMER, 'the debit side is the agent\'s settlement account');
  assert.is(r.checks[0][C.HEADER_BYTES + C.CHECK_CUSTOMER], 0, 'no customer');
});

test('directory_list: every entry, page by page in the order made, for the screening of account owners', async () => {
  const t = await trio();
  const first = directoryListReply(t.payments.message(GATEWAY, directoryListRequest(0, 3))!.payload);
  assert.equal(first.entries.map((e) => e.name ?? ''), ['Bank A nostro', '', 'Alice Example']);
  assert.is(first.last, 3);
  const second = directoryListReply(t.payments.message(GATEWAY, directoryListRequest(first.last, 3))!.payload);
  assert.equal([second.entries.map((e) => e.account), second.last], [[BOB], 4]);
  const end = directoryListReply(t.payments.message(GATEWAY, directoryListRequest(second.last, 3))!.payload);
  assert.equal([end.entries.length, end.last], [0, 4], 'the end: an empty page');
  assert.throws(() => directoryListReply(t.payments.message(GATEWAY, Buffer.concat([directoryListRequest(0, 1), Buffer.alloc(4)]))!.payload), /directory_list/);
});

test('replay: the same exchange on fresh services gives the same memory on all three', async () => {
  const run = async () => {
    const t = await trio();
    call(t, creditTransfersRequest(json('R-1', [{ amount: 100_00n }, { amount: 600_00n }, { amount: 10_00n, creditorName: 'viktor bout' }])));
    release(t, [{ payment: 2n, outcome: 'release' }, { payment: 3n, outcome: 'reject' }]);
    call(t, creditTransfersRequest(json('R-2', [{ amount: 5000_00n }, { amount: 2000_00n }])));
    return [t.payments, t.ledger, t.compliance].map((s) => s.stateDigest().toString('hex'));
  };
  assert.equal(await run(), await run());
});

test.run();
