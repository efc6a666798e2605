// test/unit/payments-service.test.ts: the payments service (services/payments)
// against the SDK's fake kernel, wired to a real ledger service (both
// harnesses; what the payments service sends to "ledger" is delivered to the
// ledger and its answer back). Proves: the directory's upserts and refusals;
// a pacs.008's transactions settle on the ledger (the agent's settlement
// account debited, the creditor's credited) or are refused with the ISO
// reason (AC01 unknown account, AC04 closed, AM03 another ledger, AM04
// insufficient funds from the ledger's exceeds_credits, AM05 duplicate UETR);
// the same message again gets the original answer and moves nothing; other
// bytes under a used MsgId are refused whole; a pain.001 leaves pending
// transfers, and a status report (pacs.002) posts (ACSC) or voids (RJCT)
// them, once, NOOR for a payment it did not send, NARR for a status that
// contradicts a final state; a return (pacs.004) of a settled payment moves
// the amount back once (AM09 over the original, AM05 a second time); a ledger abort rejects the batch; malformed
// requests are refused; a statement pages through more than a ledger batch
// of transfers and its totals at both ends are the ledger's; with "events",
// each payment a request created or changed is emitted once, as stored, in
// records the syscall area takes, and a repeated message emits nothing; and
// the same inputs give the same memory.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as L from '../../services/ledger/protocol.ts';
import * as abi from '../../hal/abi.ts';
import * as P from '../../services/payments/protocol.ts';
import {
  creditTransfersRequest, creditTransfersResults, directoryGetEntries, directoryGetRequest, directoryPutRequest, directoryPutResults,
  inParts, partTaken, paymentGetRequest, paymentMessagesReply, paymentMessagesRequest, paymentRecords, PaymentsRefusal, returnsRequest,
  statementReply, statementRequest, statusReportsRequest, type CreditTransfersRequest, type ReturnLine,
  type StatusLine, type DirectoryEntry, type TxRecord,
} from '../../host/payments/records.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const GATEWAY = 1; // in the payments harness: [payments, gateway, ledger]
const LEDGER = 2;
const FROM_PAYMENTS = 1; // in the ledger harness: [ledger, payments]

const NOSTRO = 10n; // BANK A's settlement account with us
const ALICE = 20n;
const BOB = 30n;
const CAROL = 40n; // closed in the directory
const CLEARING = 50n; // the clearing agent's settlement account (pain.001 out)
const ALICE_IBAN = 'GB33BUKB20201555555555';
const BOB_IBAN = 'DE89370400440532013000';
const CAROL_IBAN = 'FR1420041010050500013M02606';

interface Pair { payments: ServiceHarness; ledger: ServiceHarness }

function u128(b: Buffer, at: number, v: bigint): void {
  b.writeBigUInt64LE(v & 0xffffffffffffffffn, at);
  b.writeBigUInt64LE(v >> 64n, at + 8);
}

function ledgerRequest(op: number, records: Buffer[]): Buffer {
  const h = Buffer.alloc(L.HEADER_BYTES);
  h[L.HEADER_OPERATION] = op;
  h.writeUInt32LE(records.length, L.HEADER_COUNT);
  return Buffer.concat([h, ...records]);
}

function account(id: bigint, flags = 0): Buffer {
  const r = Buffer.alloc(L.RECORD_BYTES);
  u128(r, L.ACCOUNT_ID, id);
  r.writeUInt32LE(1, L.ACCOUNT_LEDGER);
  r.writeUInt16LE(1, L.ACCOUNT_CODE);
  r.writeUInt16LE(flags, L.ACCOUNT_FLAGS);
  return r;
}

function transfer(id: bigint, debit: bigint, credit: bigint, amount: bigint): Buffer {
  const r = Buffer.alloc(L.RECORD_BYTES);
  u128(r, L.TRANSFER_ID, id);
  u128(r, L.TRANSFER_DEBIT_ACCOUNT_ID, debit);
  u128(r, L.TRANSFER_CREDIT_ACCOUNT_ID, credit);
  u128(r, L.TRANSFER_AMOUNT, amount);
  r.writeUInt32LE(1, L.TRANSFER_LEDGER);
  r.writeUInt16LE(1, L.TRANSFER_CODE);
  return r;
}

function balances(ledger: ServiceHarness, id: bigint): { debitsPosted: bigint; creditsPosted: bigint; debitsPending: bigint } {
  const ids = Buffer.alloc(L.ID_BYTES);
  u128(ids, 0, id);
  const r = ledger.request(ledgerRequest(L.Operation.lookup_accounts, [ids]));
  assert.ok(r !== null && r.status === 0, 'lookup answered');
  const b = r!.payload;
  assert.is(b.readUInt32LE(L.REPLY_COUNT), 1, `account ${id} exists`);
  const at = L.HEADER_BYTES;
  return {
    debitsPosted: b.readBigUInt64LE(at + L.ACCOUNT_DEBITS_POSTED), creditsPosted: b.readBigUInt64LE(at + L.ACCOUNT_CREDITS_POSTED),
    debitsPending: b.readBigUInt64LE(at + L.ACCOUNT_DEBITS_PENDING),
  };
}

/** `events`: the payments service emits payment events (config "events", capability "emit") within a syscall area of that many bytes. */
async function pair(transfersMax = 1024, events?: { messageBytesMax: number }): Promise<Pair> {
  const ledger = await ServiceHarness.load(join(ROOT, 'build/services/ledger.wasm'), {
    name: 'ledger', peers: ['payments'], caps: ['log', 'time'], memoryPagesMax: 4096, messageBytesMax: 2 << 20,
  });
  ledger.init({ accounts_max: 64, transfers_max: transfersMax, pending_max: 64, history_max: 64, prefault: false });
  const payments = await ServiceHarness.load(join(ROOT, 'build/services/payments.wasm'), {
    name: 'payments', peers: ['gateway', 'ledger'], caps: ['log', 'time', 'send:ledger', ...(events ? ['emit'] : [])], memoryPagesMax: 2048,
    messageBytesMax: events?.messageBytesMax ?? 16 << 20,
  });
  payments.init({ ledgers: [1], directory_max: 64, payments_max: 256, messages_max: 64, transfer_code: 7, ...(events ? { events: true } : {}) });
  const created = ledger.request(ledgerRequest(L.Operation.create_accounts, [
    account(NOSTRO), account(ALICE, L.AccountFlags.debits_must_not_exceed_credits), account(BOB), account(CAROL), account(CLEARING),
  ]));
  assert.ok(created !== null && created.status === 0 && created.payload.every((x) => x === 0) === false, 'accounts created');
  const funded = ledger.request(ledgerRequest(L.Operation.create_transfers, [transfer(1n, NOSTRO, ALICE, 100_00n)]));
  assert.is(funded!.payload.readUInt32LE(0), 0, 'Alice funded with 100.00');
  const put = payments.message(GATEWAY, directoryPutRequest(directory()));
  assert.equal(directoryPutResults(put!.payload), directory().map(() => P.DIR_R_CREATED), 'the directory is made');
  return { payments, ledger };
}

function directory(): DirectoryEntry[] {
  return [
    { key: { kind: 'agent', text: 'BANKGB2LXXX' }, ledger: 1, account: NOSTRO, name: 'Bank A nostro' },
    { key: { kind: 'agent', text: 'CLRGDEFF' }, ledger: 1, account: CLEARING },
    { key: { kind: 'iban', text: ALICE_IBAN }, ledger: 1, account: ALICE, name: 'Alice' },
    { key: { kind: 'iban', text: BOB_IBAN }, ledger: 1, account: BOB },
    { key: { kind: 'iban', text: CAROL_IBAN }, ledger: 1, account: CAROL, closed: true },
  ];
}

/** Sends a request as the gateway, delivers whatever the service sends the ledger, and returns the answer. */
function call(p: Pair, request: Buffer, abortLedger = false): { status: number; payload: Buffer; ledgerCalls: number } {
  const token = p.payments.messageLater(GATEWAY, request);
  let ledgerCalls = 0;
  while (p.payments.sent.length > 0) {
    const s = p.payments.sent.shift()!;
    assert.is(s.peer, LEDGER, 'the payments service talks to the ledger only');
    ledgerCalls++;
    if (abortLedger) { p.payments.peerFailed(LEDGER); continue; }
    const r = p.ledger.message(FROM_PAYMENTS, s.payload);
    assert.ok(r !== null && r.status === 0, 'the ledger answered');
    p.payments.peerReply(LEDGER, r!.payload);
  }
  const r = p.payments.takeReply(token);
  assert.ok(r !== null, 'the payments service answered');
  return { ...r!, ledgerCalls };
}

function pacs008(msgId: string, txs: Partial<TxRecord>[], original = `<Document>${msgId}</Document>`): CreditTransfersRequest {
  const bytes = Buffer.from(original);
  return {
    source: 'pacs.008', msgId, agent: 'BANKGB2LXXX', digest: createHash('sha256').update(bytes).digest(), original: bytes,
    transactions: txs.map((t, i) => ({ endToEndId: `E2E-${msgId}-${i}`, ledger: 1, amount: 1n, creditor: { kind: 'iban', text: BOB_IBAN }, ...t })),
  };
}

test('the directory: entries made, updated, read back; bad entries refused with their reason', async () => {
  const { payments } = await pair();
  const again = payments.message(GATEWAY, directoryPutRequest([{ key: { kind: 'iban', text: BOB_IBAN }, ledger: 1, account: BOB, blocked: true }]));
  assert.equal(directoryPutResults(again!.payload), [P.DIR_R_UPDATED]);
  const bad = payments.message(GATEWAY, directoryPutRequest([
    { key: { kind: 'iban', text: 'X' }, ledger: 2, account: 1n },
    { key: { kind: 'iban', text: 'GB00X' }, ledger: 1, account: 0n },
    { key: { kind: 'agent', text: 'bank1234' }, ledger: 1, account: 5n },
  ]));
  assert.equal(directoryPutResults(bad!.payload), [P.DIR_R_UNKNOWN_LEDGER, P.DIR_R_ACCOUNT_ZERO, P.DIR_R_INVALID_TEXT]);
  const got = directoryGetEntries(payments.message(GATEWAY, directoryGetRequest([
    { kind: 'iban', text: BOB_IBAN }, { kind: 'iban', text: 'NL91ABNA0417164300' }, { kind: 'agent', text: 'BANKGB2LXXX' },
  ]))!.payload);
  assert.equal(got[0], { key: { kind: 'iban', text: BOB_IBAN }, ledger: 1, account: BOB, closed: false, blocked: true });
  assert.is(got[1], null, 'an unknown IBAN: no entry');
  assert.is(got[2]!.name, 'Bank A nostro');
});

test('pacs.008: settled transactions move money on the ledger, refused ones carry their ISO reason and move nothing', async () => {
  const p = await pair();
  const r = call(p, creditTransfersRequest(pacs008('MSG-1', [
    { amount: 25_50n, uetr: '8a562c67-ca16-48ba-b074-65581be6f011' },
    { amount: 1n, creditor: { kind: 'iban', text: 'NL91ABNA0417164300' } },
    { amount: 1n, creditor: { kind: 'iban', text: CAROL_IBAN } },
  ])));
  assert.is(r.status, 0);
  assert.is(r.ledgerCalls, 1, 'one create_transfers for the message');
  const { repeated, results } = creditTransfersResults(r.payload);
  assert.not.ok(repeated);
  assert.equal(results.map((x) => [x.status, x.reason]), [['ACSC', undefined], ['RJCT', 'AC01'], ['RJCT', 'AC04']]);
  assert.is(results[0].transfer >> 64n, BigInt(P.PAYMENT_TRANSFER_ID_HI), 'the transfer id is in the payments range');
  assert.ok(results[0].timestamp > 0n, 'the ledger timestamp comes back');
  assert.is(results[1].transfer, 0n, 'nothing made for a refused one');
  assert.is(balances(p.ledger, BOB).creditsPosted, 25_50n, 'Bob credited');
  assert.is(balances(p.ledger, NOSTRO).debitsPosted, 100_00n + 25_50n, 'the sending bank\'s settlement account debited');
  const [rec] = paymentRecords(call(p, paymentGetRequest([results[0].payment])).payload);
  assert.is(rec!.state, 'settled');
  assert.is(rec!.uetr, '8a562c67-ca16-48ba-b074-65581be6f011');
  assert.is(rec!.debit, NOSTRO);
  assert.is(rec!.credit, BOB);
  assert.is(rec!.agent, 'BANKGB2LXXX');
  assert.is(rec!.endToEndId, 'E2E-MSG-1-0');
});

test('the same message again gets the original answer and moves nothing; other bytes under its MsgId are AM05 whole', async () => {
  const p = await pair();
  const request = creditTransfersRequest(pacs008('MSG-2', [{ amount: 3_00n }, { amount: 4_00n, creditor: { kind: 'iban', text: 'XX' } }]));
  const first = creditTransfersResults(call(p, request).payload);
  const again = call(p, request);
  assert.is(again.ledgerCalls, 0, 'nothing sent to the ledger the second time');
  const second = creditTransfersResults(again.payload);
  assert.ok(second.repeated, 'flagged as the same message again');
  assert.equal(second.results, first.results, 'the original answer');
  const other = call(p, creditTransfersRequest(pacs008('MSG-2', [{ amount: 5_00n }], '<Document>another</Document>')));
  assert.is(other.ledgerCalls, 0);
  assert.equal(creditTransfersResults(other.payload).results.map((x) => [x.status, x.reason, x.payment]), [['RJCT', 'AM05', 0n]]);
  assert.is(balances(p.ledger, BOB).creditsPosted, 3_00n, 'moved once');
});

test('a UETR seen before is a duplicate (AM05) in a new message; the rest of that message settles', async () => {
  const p = await pair();
  const uetr = 'eb6305c9-1f7f-49de-aed0-16487c27b42d';
  call(p, creditTransfersRequest(pacs008('MSG-3', [{ amount: 1_00n, uetr }])));
  const r = creditTransfersResults(call(p, creditTransfersRequest(pacs008('MSG-4', [{ amount: 1_00n, uetr }, { amount: 2_00n }]))).payload);
  assert.equal(r.results.map((x) => [x.status, x.reason]), [['RJCT', 'AM05'], ['ACSC', undefined]]);
  assert.is(balances(p.ledger, BOB).creditsPosted, 3_00n);
});

test('pain.001: debtor to the creditor agent\'s settlement account, pending; the ledger\'s exceeds_credits is AM04', async () => {
  const p = await pair();
  const bytes = Buffer.from('<Document>pain</Document>');
  const r = call(p, creditTransfersRequest({
    source: 'pain.001', msgId: 'PAIN-1', digest: createHash('sha256').update(bytes).digest(), original: bytes,
    transactions: [
      { endToEndId: 'E1', ledger: 1, amount: 60_00n, debtor: { kind: 'iban', text: ALICE_IBAN }, creditorAgent: 'CLRGDEFF' },
      { endToEndId: 'E2', ledger: 1, amount: 60_00n, debtor: { kind: 'iban', text: ALICE_IBAN }, creditorAgent: 'CLRGDEFF' },
      { endToEndId: 'E3', ledger: 1, amount: 1n, debtor: { kind: 'iban', text: ALICE_IBAN }, creditorAgent: 'NOTKNOWN' },
    ],
  }));
  const { results } = creditTransfersResults(r.payload);
  assert.equal(results.map((x) => [x.status, x.reason]), [['ACCP', undefined], ['RJCT', 'AM04'], ['RJCT', 'RC01']]);
  assert.is(results[1].ledgerResult, L.TransferResult.exceeds_credits);
  assert.is(balances(p.ledger, ALICE).debitsPending, 60_00n, 'reserved, not posted');
  const [rec] = paymentRecords(call(p, paymentGetRequest([results[0].payment])).payload);
  assert.is(rec!.state, 'pending');
  assert.is(rec!.credit, CLEARING);
});

function report(msgId: string, lines: StatusLine[]): Buffer {
  const bytes = Buffer.from(`<Document>${msgId}</Document>`);
  return statusReportsRequest({ msgId, agent: 'CLRGDEFF', digest: createHash('sha256').update(bytes).digest(), lines, original: bytes });
}

test('status reports: ACSC posts a pending payment, RJCT voids one with its reason, once; NOOR and NARR change nothing', async () => {
  const p = await pair();
  const bytes = Buffer.from('<Document>pain-2</Document>');
  const sent = creditTransfersResults(call(p, creditTransfersRequest({
    source: 'pain.001', msgId: 'PAIN-2', digest: createHash('sha256').update(bytes).digest(), original: bytes,
    transactions: ['A', 'B'].map((e) => ({ endToEndId: e, ledger: 1, amount: 30_00n, debtor: { kind: 'iban' as const, text: ALICE_IBAN }, creditorAgent: 'CLRGDEFF' })),
  })).payload).results;
  assert.equal(sent.map((r) => r.status), ['ACCP', 'ACCP']);
  assert.is(balances(p.ledger, ALICE).debitsPending, 60_00n);
  const first = call(p, report('STS-1', [
    { endToEndId: 'A', status: 'ACSC' }, { endToEndId: 'B', status: 'RJCT', reason: 'AC04' }, { endToEndId: 'Z', status: 'ACSC' },
  ]));
  assert.is(first.ledgerCalls, 1, 'the post and the void in one batch');
  const r = creditTransfersResults(first.payload).results;
  assert.equal(r.map((x) => [x.status, x.reason]), [['ACSC', undefined], ['RJCT', 'AC04'], ['RJCT', 'NOOR']]);
  assert.is(r[0].transfer >> 64n, BigInt(P.PAYMENT_POST_ID_HI), 'the post transfer\'s id');
  assert.is(r[1].transfer >> 64n, BigInt(P.PAYMENT_VOID_ID_HI), 'the void transfer\'s id');
  const alice = balances(p.ledger, ALICE);
  assert.is(alice.debitsPending, 0n, 'nothing left reserved');
  assert.is(alice.debitsPosted, 30_00n, 'A posted, B released');
  assert.is(balances(p.ledger, CLEARING).creditsPosted, 30_00n);
  const again = call(p, report('STS-1', [
    { endToEndId: 'A', status: 'ACSC' }, { endToEndId: 'B', status: 'RJCT', reason: 'AC04' }, { endToEndId: 'Z', status: 'ACSC' },
  ]));
  assert.is(again.ledgerCalls, 0, 'the same report again moves nothing');
  assert.ok(creditTransfersResults(again.payload).repeated);
  const contradicting = creditTransfersResults(call(p, report('STS-2', [{ endToEndId: 'A', status: 'RJCT', reason: 'AM04' }])).payload).results;
  assert.equal(contradicting.map((x) => [x.status, x.reason]), [['ACSC', 'NARR']], 'a settled payment stays settled');
  const [a] = paymentRecords(call(p, paymentGetRequest([sent[0].payment, sent[1].payment])).payload);
  assert.is(a!.state, 'settled');
  // The pain.001 again gets its original answer (both ACCP, dated as first), not the payments' state now.
  const painAgain = creditTransfersResults(call(p, creditTransfersRequest({
    source: 'pain.001', msgId: 'PAIN-2', digest: createHash('sha256').update(bytes).digest(), original: bytes,
    transactions: ['A', 'B'].map((e) => ({ endToEndId: e, ledger: 1, amount: 30_00n, debtor: { kind: 'iban' as const, text: ALICE_IBAN }, creditorAgent: 'CLRGDEFF' })),
  })).payload);
  assert.ok(painAgain.repeated);
  assert.equal(painAgain.results.map((x) => [x.status, x.reason]), [['ACCP', undefined], ['ACCP', undefined]]);
  // Each payment names the messages about it: the pain.001 it came in and the report that settled or voided it.
  const read = paymentMessagesReply(call(p, paymentMessagesRequest(sent[1].payment)).payload)!;
  assert.equal(read.messages.map((m) => [m.role, m.msgId, m.count]), [['origin', 'PAIN-2', 2], ['status', 'STS-1', 3]]);
  assert.is(read.messages[0].time, painAgain.time, 'the message\'s time, in its answer and in its record');
  assert.equal(read.results.map((x) => x.status), ['ACCP', 'ACCP'], 'its message\'s answer as first given');
  assert.equal([read.payment.state, read.payment.reason], ['rejected', 'AC04']);
  assert.is(paymentMessagesReply(call(p, paymentMessagesRequest(999n)).payload), null, 'no such payment');
  const inbound = creditTransfersResults(call(p, creditTransfersRequest(pacs008('MSG-11', [{ amount: 1n }]))).payload).results;
  const notOurs = creditTransfersResults(call(p, report('STS-3', [{ endToEndId: 'E2E-MSG-11-0', status: 'ACSC' }])).payload).results;
  assert.is(inbound[0].status, 'ACSC');
  assert.equal(notOurs.map((x) => x.reason), ['NOOR'], 'a pacs.008 QENEX received is not one a status report is about');
});

function returned(msgId: string, lines: ReturnLine[]): Buffer {
  const bytes = Buffer.from(`<Document>${msgId}</Document>`);
  return returnsRequest({ msgId, agent: 'CLRGDEFF', digest: createHash('sha256').update(bytes).digest(), lines, original: bytes });
}

test('returns: a settled payment is returned once, at most its amount; pending, unknown and repeated ones move nothing', async () => {
  const p = await pair();
  const bytes = Buffer.from('<Document>pain-3</Document>');
  const sent = creditTransfersResults(call(p, creditTransfersRequest({
    source: 'pain.001', msgId: 'PAIN-3', digest: createHash('sha256').update(bytes).digest(), original: bytes,
    transactions: ['R1', 'R2'].map((e) => ({ endToEndId: e, ledger: 1, amount: 30_00n, debtor: { kind: 'iban' as const, text: ALICE_IBAN }, creditorAgent: 'CLRGDEFF' })),
  })).payload).results;
  call(p, report('STS-R', [{ endToEndId: 'R1', status: 'ACSC' }]));
  const first = call(p, returned('RTR-1', [
    { endToEndId: 'R1', ledger: 1, amount: 40_00n, reason: 'AC04' }, { endToEndId: 'R2', ledger: 1, amount: 1n }, { endToEndId: 'NONE', ledger: 1, amount: 1n },
  ]));
  assert.is(first.ledgerCalls, 0, 'nothing to return: over the amount, pending, unknown');
  assert.equal(creditTransfersResults(first.payload).results.map((x) => [x.status, x.reason]), [['RJCT', 'AM09'], ['RJCT', 'NARR'], ['RJCT', 'NOOR']]);
  const clearing = balances(p.ledger, CLEARING).creditsPosted;
  const ok = call(p, returned('RTR-2', [{ endToEndId: 'R1', ledger: 1, amount: 25_00n, reason: 'AC04' }]));
  assert.is(ok.ledgerCalls, 1);
  const [r] = creditTransfersResults(ok.payload).results;
  assert.equal([r.status, r.reason], ['ACSC', undefined]);
  assert.is(r.transfer >> 64n, BigInt(P.PAYMENT_RETURN_ID_HI));
  assert.is(balances(p.ledger, CLEARING).debitsPosted, 25_00n, 'the clearing account gives back 25.00');
  assert.is(balances(p.ledger, ALICE).creditsPosted, 100_00n + 25_00n, 'to the debtor');
  assert.is(clearing, 30_00n);
  const again = call(p, returned('RTR-2', [{ endToEndId: 'R1', ledger: 1, amount: 25_00n, reason: 'AC04' }]));
  assert.is(again.ledgerCalls, 0);
  assert.ok(creditTransfersResults(again.payload).repeated);
  const second = call(p, returned('RTR-3', [{ endToEndId: 'R1', ledger: 1, amount: 1n }]));
  assert.equal(creditTransfersResults(second.payload).results.map((x) => [x.status, x.reason]), [['RJCT', 'AM05']], 'returned once');
  const [rec] = paymentRecords(call(p, paymentGetRequest([sent[0].payment])).payload);
  assert.is(rec!.state, 'returned');
  assert.is(rec!.reason, 'AC04');
});

test('a statement over more transfers than one ledger page: totals at both ends are the ledger\'s, the period\'s transfers counted', async () => {
  const p = await pair(16384);
  let id = 100n;
  const stamps: bigint[] = [];
  for (const batch of [4000, 4189, 1000]) {
    const r = p.ledger.request(ledgerRequest(L.Operation.create_transfers, Array.from({ length: batch }, () => transfer(id++, NOSTRO, BOB, 3n))));
    assert.ok(r!.payload.every((x, i) => i % 16 >= 8 || x === 0), 'all created');
    stamps.push(r!.payload.readBigUInt64LE(8), r!.payload.readBigUInt64LE((batch - 1) * 16 + 8));
    p.ledger.timeNs += 1_000_000n;
  }
  // The period: from the second batch's first transfer to its last (4189 transfers), with 5,000 + 1 funding around it.
  const s = statementReply(call(p, statementRequest({ kind: 'iban', text: BOB_IBAN }, stamps[2], stamps[3], 100)).payload);
  const bob = balances(p.ledger, BOB);
  assert.is(s.closing.creditsPosted, 4000n * 3n + 4189n * 3n, 'the totals at the end of the period: now less the last batch');
  assert.is(s.opening.creditsPosted, 4000n * 3n, 'at its start: the first batch');
  assert.is(bob.creditsPosted, (4000n + 4189n + 1000n) * 3n);
  assert.equal([s.entriesInPeriod, s.transfers.length, s.truncated], [4189, 100, true]);
  const open = statementReply(call(p, statementRequest({ kind: 'iban', text: BOB_IBAN }, 0n, 0n, 2048)).payload);
  assert.is(open.closing.creditsPosted, bob.creditsPosted, 'to now: the ledger\'s totals');
  assert.equal([open.opening.creditsPosted, open.entriesInPeriod], [0n, 9189]);
  assert.throws(() => statementReply(call(p, statementRequest({ kind: 'iban', text: 'XX00UNKNOWN' }, 0n, 0n, 1)).payload),
    (e: Error) => e instanceof PaymentsRefusal && e.code === P.REFUSED_NOT_FOUND);
});

test('a ledger abort rejects the batch (NARR) and nothing moved; the service goes on serving', async () => {
  const p = await pair();
  const r = creditTransfersResults(call(p, creditTransfersRequest(pacs008('MSG-5', [{ amount: 1_00n }])), true).payload);
  assert.equal(r.results.map((x) => [x.status, x.reason]), [['RJCT', 'NARR']]);
  assert.is(balances(p.ledger, BOB).creditsPosted, 0n);
  const next = creditTransfersResults(call(p, creditTransfersRequest(pacs008('MSG-6', [{ amount: 1_00n }]))).payload);
  assert.is(next.results[0].status, 'ACSC');
});

test('malformed requests are refused with a reason, and nothing is recorded', async () => {
  const p = await pair();
  const good = creditTransfersRequest(pacs008('MSG-7', [{ amount: 1n }]));
  const cases: [Buffer, RegExp][] = [
    [good.subarray(0, 10), /shorter than its header/],
    [good.subarray(0, good.length - 1), /length does not match/],
    [Buffer.concat([good, Buffer.of(0)]), /length does not match/],
    [(() => { const b = Buffer.from(good); b[1] = 9; return b; })(), /unknown source/],
    [(() => { const b = Buffer.from(good); b.writeUInt32LE(0, 4); return b; })(), /count out of range/],
    [(() => { const b = Buffer.from(good); b.fill(0, P.HEADER_BYTES + P.MESSAGE_AGENT, P.HEADER_BYTES + P.MESSAGE_AGENT + 12); return b; })(), /names its sending agent/],
    [(() => { const b = Buffer.from(good); b.fill(0, P.HEADER_BYTES + P.MESSAGE_BYTES + P.TX_AMOUNT, P.HEADER_BYTES + P.MESSAGE_BYTES + P.TX_AMOUNT + 16); return b; })(), /amount is zero/],
    [(() => { const b = Buffer.from(good); b[P.HEADER_BYTES + P.MESSAGE_BYTES + P.TX_END_TO_END_ID] = 40; return b; })(), /not Max35Text/],
    [(() => { const b = Buffer.from(good); b[0] = 99; return b; })(), /reserved header bytes|unknown operation/],
  ];
  for (const [bytes, why] of cases) {
    const r = call(p, bytes);
    assert.is(r.status, 0, 'a refusal is in band');
    assert.throws(() => creditTransfersResults(r.payload), (e: Error) => e instanceof PaymentsRefusal && why.test(e.message), `refused: ${why}`);
    assert.is(r.ledgerCalls, 0);
  }
  const [none] = paymentRecords(call(p, paymentGetRequest([1n])).payload);
  assert.is(none, null, 'no payment was recorded');
});

test('a request while another waits for the ledger is refused busy, and the first completes', async () => {
  const p = await pair();
  const token = p.payments.messageLater(GATEWAY, creditTransfersRequest(pacs008('MSG-9', [{ amount: 1_00n }])));
  assert.is(p.payments.sent.length, 1, 'the first request\'s transfers are out');
  const second = p.payments.message(GATEWAY, creditTransfersRequest(pacs008('MSG-10', [{ amount: 1_00n }])));
  assert.throws(() => creditTransfersResults(second!.payload), (e: Error) => e instanceof PaymentsRefusal && /busy/.test(e.message));
  const out = p.payments.sent.shift()!;
  p.payments.peerReply(LEDGER, p.ledger.message(FROM_PAYMENTS, out.payload)!.payload);
  const first = p.payments.takeReply(token);
  assert.equal(creditTransfersResults(first!.payload).results.map((x) => x.status), ['ACSC']);
  assert.is(balances(p.ledger, BOB).creditsPosted, 1_00n, 'only the first moved money');
});

test('a read with a scope answers only what the scope\'s ledgers hold; a scope on a write is refused', async () => {
  const p = await pair();
  const [r] = creditTransfersResults(call(p, creditTransfersRequest(pacs008('MSG-S', [{ amount: 1_00n }]))).payload).results;
  const scoped = (request: Buffer, ...ledgers: number[]) => {
    const b = Buffer.concat([request, Buffer.alloc(ledgers.length * 4)]);
    b.writeUInt16LE(ledgers.length, P.HEADER_SCOPE);
    ledgers.forEach((l, i) => b.writeUInt32LE(l, request.length + i * 4));
    return b;
  };
  assert.is(paymentRecords(call(p, scoped(paymentGetRequest([r.payment]), 1)).payload)[0]!.id, r.payment, 'ledger 1 granted: seen');
  assert.is(paymentRecords(call(p, scoped(paymentGetRequest([r.payment]), 7, 8)).payload)[0], null, 'other ledgers only: as if it did not exist');
  assert.equal(directoryGetEntries(call(p, scoped(directoryGetRequest([{ kind: 'iban', text: BOB_IBAN }]), 2)).payload), [null]);
  const write = call(p, scoped(creditTransfersRequest(pacs008('MSG-T', [{ amount: 1n }])), 1));
  assert.throws(() => creditTransfersResults(write.payload), /reserved header bytes|length does not match/, 'a write carries no scope');
  assert.is(write.ledgerCalls, 0);
});

test('a request larger than one message, in parts: assembled in order, two at once, refused out of order or short', async () => {
  const p = await pair();
  const big = (msgId: string) => creditTransfersRequest(pacs008(msgId, [{ amount: 1n }, { amount: 2n }], `<Document>${msgId}${' '.repeat(1_200_000)}</Document>`));
  const refusedWith = (r: { payload: Buffer }, why: RegExp) =>
    assert.throws(() => creditTransfersResults(r.payload), (e: Error) => e instanceof PaymentsRefusal && why.test(e.message));
  const [a0, a1] = inParts(big('PART-A'));
  const [b0, b1] = inParts(big('PART-B'));
  const [c0] = inParts(big('PART-C'));
  assert.is(inParts(big('PART-A')).length, 2, 'a request of 1.2 MB goes in two parts');
  assert.is(inParts(creditTransfersRequest(pacs008('SMALL', [{}]))).length, 1, 'a small one goes whole');
  refusedWith(call(p, a1), /out of order, or of no assembly in progress/);
  assert.ok(partTaken(call(p, a0).payload), 'part 0 taken: the next one is asked for');
  assert.ok(partTaken(call(p, b0).payload), 'a second request assembled beside the first');
  const whole = call(p, b1);
  assert.is(whole.ledgerCalls, 1, 'the last part runs the whole request');
  assert.equal(creditTransfersResults(whole.payload).results.map((r) => r.status), ['ACSC', 'ACSC']);
  assert.ok(partTaken(call(p, c0).payload));
  assert.ok(partTaken(call(p, b0).payload), 'B again: a third assembly, beside A and C');
  refusedWith(call(p, a1), /out of order, or of no assembly in progress/); // A, the oldest, was dropped for B
  const bAgain = creditTransfersResults(call(p, b1).payload);
  assert.ok(bAgain.repeated, 'the same request in parts again: its original answer');
  // A last part a byte short of the length the lead record gives: refused, the assembly dropped.
  assert.ok(partTaken(call(p, a0).payload));
  const short = a1.subarray(0, a1.length - 1);
  refusedWith(call(p, short), /do not add up to the request's length/);
  refusedWith(call(p, a1), /out of order, or of no assembly in progress/);
  // A part of a count out of range is refused before anything is assembled.
  const many = Buffer.from(a0);
  many.writeUInt32LE(P.PARTS_MAX + 1, P.HEADER_BYTES + P.PART_COUNT);
  refusedWith(call(p, many), /index or count out of range/);
  assert.is(paymentRecords(call(p, paymentGetRequest([1n, 2n, 3n, 4n, 5n])).payload).filter((x) => x !== null).length, 2, 'only B made payments');
});

/** The payment records emitted since `from` (every record EVT_PAYMENT), and each record's item count. */
function emittedSince(p: Pair, from: number): { records: Buffer; counts: number[] } {
  const got = p.payments.emitted.slice(from);
  for (const e of got) assert.is(e.type, abi.EVT_PAYMENT, 'payment events only');
  for (const e of got) assert.is(e.payload.length, e.count * abi.EVENT_PAYMENT_BYTES, 'items of a payment record each');
  return { records: Buffer.concat(got.map((e) => e.payload)), counts: got.map((e) => e.count) };
}

/** The stored records of payments `ids` (payment_get, one a request: a small syscall area holds its answer), back to back. */
function stored(p: Pair, ids: bigint[]): Buffer {
  return Buffer.concat(ids.map((id) => call(p, paymentGetRequest([id])).payload.subarray(P.REPLY_HEADER_BYTES)));
}

test('payment events: every payment a message recorded, as stored; the lines that changed one; nothing for a repeated message', async () => {
  assert.is(abi.EVENT_PAYMENT_BYTES, P.PAYMENT_BYTES, 'an event item is a payment record');
  const p = await pair(1024, { messageBytesMax: 16 << 20 });
  const inbound = pacs008('EV-1', [{ amount: 1_00n }, { amount: 1n, creditor: { kind: 'iban', text: 'NL91ABNA0417164300' } }, { amount: 1n, creditor: { kind: 'iban', text: CAROL_IBAN } }]);
  const r = creditTransfersResults(call(p, creditTransfersRequest(inbound)).payload).results;
  const ev = emittedSince(p, 0);
  assert.equal(ev.counts, [3], 'one record: the settled one and the two rejected');
  assert.ok(ev.records.equals(stored(p, r.map((x) => x.payment))), 'the records as stored, in order');
  let mark = p.payments.emitted.length;
  call(p, creditTransfersRequest(inbound));
  call(p, creditTransfersRequest(pacs008('EV-1', [{ amount: 2n }], '<Document>other bytes</Document>')));
  assert.is(p.payments.emitted.length, mark, 'the same message again, and another under its MsgId: no event');
  const bytes = Buffer.from('<Document>ev-pain</Document>');
  const sent = creditTransfersResults(call(p, creditTransfersRequest({
    source: 'pain.001', msgId: 'EV-PAIN', digest: createHash('sha256').update(bytes).digest(), original: bytes,
    transactions: ['A', 'B'].map((e) => ({ endToEndId: e, ledger: 1, amount: 30_00n, debtor: { kind: 'iban' as const, text: ALICE_IBAN }, creditorAgent: 'CLRGDEFF' })),
  })).payload).results;
  const pending = emittedSince(p, mark);
  assert.equal(pending.counts, [2]);
  assert.equal(paymentRecords(Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.alloc(12), pending.records])).map((x) => x!.state), ['pending', 'pending']);
  mark = p.payments.emitted.length;
  // A posted, B voided; an unknown line and a second post of A (the ledger refuses it: it exists) change nothing.
  const lines: StatusLine[] = [{ endToEndId: 'A', status: 'ACSC' }, { endToEndId: 'B', status: 'RJCT', reason: 'AC04' }, { endToEndId: 'Z', status: 'ACSC' },
    { endToEndId: 'A', status: 'ACSC' }];
  const statuses = creditTransfersResults(call(p, report('EV-STS', lines)).payload).results;
  assert.equal(statuses.map((x) => [x.status, x.reason]), [['ACSC', undefined], ['RJCT', 'AC04'], ['RJCT', 'NOOR'], ['ACSC', 'NARR']]);
  const changed = emittedSince(p, mark);
  assert.equal(changed.counts, [2], 'the post and the void, once each');
  assert.ok(changed.records.equals(stored(p, sent.map((x) => x.payment))), 'A settled, B rejected, as stored');
  mark = p.payments.emitted.length;
  call(p, report('EV-STS', lines));
  call(p, report('EV-STS-2', [{ endToEndId: 'A', status: 'RJCT' }]));
  call(p, returned('EV-RTR-1', [{ endToEndId: 'A', ledger: 1, amount: 40_00n }, { endToEndId: 'B', ledger: 1, amount: 1n }]));
  assert.is(p.payments.emitted.length, mark, 'a repeated report, a contradicting status and refused returns: no event');
  call(p, returned('EV-RTR-2', [{ endToEndId: 'A', ledger: 1, amount: 10_00n, reason: 'AC04' }]));
  const back = emittedSince(p, mark);
  assert.equal(back.counts, [1]);
  assert.ok(back.records.equals(stored(p, [sent[0].payment])));
  assert.is(back.records[P.PAY_STATE], P.STATE_RETURNED);
  assert.equal(p.payments.denied, []);
  const quiet = await pair();
  call(quiet, creditTransfersRequest(inbound));
  assert.equal([quiet.payments.emitted.length, quiet.payments.denied], [0, []], 'without "events": nothing emitted, nothing denied');
});

test('payment events fit the syscall area: a record the kernel finds too large is halved, and the size kept', async () => {
  // 1024 bytes hold 4 payment records: 6 are emitted as 3 and 3, the next 7 as 3, 3 and 1.
  const p = await pair(1024, { messageBytesMax: 1024 });
  const six = creditTransfersResults(call(p, creditTransfersRequest(pacs008('EV-C1', Array.from({ length: 6 }, () => ({ amount: 1n }))))).payload).results;
  assert.equal(six.map((x) => x.status), Array(6).fill('ACSC'));
  const first = emittedSince(p, 0);
  assert.equal(first.counts, [3, 3]);
  assert.ok(first.records.equals(stored(p, six.map((x) => x.payment))));
  const mark = p.payments.emitted.length;
  const seven = creditTransfersResults(call(p, creditTransfersRequest(pacs008('EV-C2', Array.from({ length: 7 }, () => ({ amount: 1n }))))).payload).results;
  const second = emittedSince(p, mark);
  assert.equal(second.counts, [3, 3, 1]);
  assert.ok(second.records.equals(stored(p, seven.map((x) => x.payment))));
});

test('the same inputs give the same memory', async () => {
  const digests = [];
  for (let run = 0; run < 2; run++) {
    const p = await pair();
    call(p, creditTransfersRequest(pacs008('MSG-8', [{ amount: 1_00n }, { amount: 2n, creditor: { kind: 'iban', text: 'XX' } }])));
    digests.push(p.payments.stateDigest().toString('hex'));
  }
  assert.is(digests[0], digests[1]);
});

test.run();
