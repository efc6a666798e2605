// Payments: credit transfers in (pacs.008, MT103, JSON) and out (pain.001),
// each a payment record and a ledger transfer, decided here so that replay
// decides the same (docs/payments.md).
//
// One credit_transfers request at a time: its transactions are checked
// (duplicates, the directory on both sides), recorded as payments, checked
// by the compliance service when the config says so (checks.ts: allowed,
// held or refused), and those that may move money are sent to the ledger as
// one create_transfers (in
// batches of the ledger's 8189 for a larger message); each answer settles,
// leaves pending or rejects its payments, and when the last is back the
// request is answered with one result per transaction, in order. The
// gateway relays one request at a time to this service (its relay keeps one
// in flight), so a request that arrives while another waits for the ledger
// is refused as busy, never queued here.
//
// Duplicates:
//   - the message: (source, sending agent, MsgId). The same bytes again
//     (their SHA-256, which the host puts in the lead record) get the
//     original answer, rebuilt from the payments; other bytes under the same
//     identifier are refused whole, AM05 for every transaction, nothing
//     recorded or moved.
//   - a transaction: its UETR when it has one, else (sending agent,
//     EndToEndId) unless that is NOTPROVIDED: one payment per identifier,
//     another is refused AM05 (and recorded, rejected).

import * as P from "../protocol";
import { countryValid } from "../../sdk/iso";
import * as L from "../../ledger/protocol";
import { lookup, send, reply, nowNs } from "../../sdk/qenex";
import { messagesMax, paymentsMax, transferCode, ledgerAllowed } from "./config";
import { fingerprint, hashIndexCreate, hashInsert, hashNext, hashRecord, HashIndex } from "./hashindex";
import { directoryFind, directoryFindAgent, entryRefusal, keyValid } from "./directory";
import { bicValid, notProvided, textEmpty, textValid } from "./text";
import { paymentEvent, paymentEventsFlush } from "./events";
import { CHECKS_DONE, CHECKS_OUT, checkAdd, checkedNumber, checksAnswered, checksBegin, checksNext, checksOut, checksSend, reasonOf } from "./checks";
import * as C from "../../compliance/protocol";

// Message record (internal, 128 bytes): +0 u8 source, +1 [12] agent BIC slot, +13 u8[3] 0,
// +16 [36] MsgId, +52 [32] digest of the original bytes, +84 u32 transactions, +88 u64 first payment id
// (credit transfers), +96 u64 the logical time it was recorded.
const MSG_RECORD_BYTES: u32 = 128;
const MSG_KEY_BYTES: u32 = 52; // source, agent and MsgId: what makes a message the same one
const MSG_DIGEST: u32 = 52;
const MSG_COUNT: u32 = 84;
const MSG_FIRST: u32 = 88;
const MSG_TIME: u32 = 96;
// Transaction identity keys (internal, 52 bytes): u8 kind (1 UETR, 2 agent + EndToEndId), then the parts.
const TXKEY_BYTES: u32 = 52;

let payments: usize = 0;
let paymentCount: u32 = 0;
let messages: usize = 0;
let messageCount: u32 = 0;
let messageIndex: HashIndex = changetype<HashIndex>(0);
let txIndex: HashIndex = changetype<HashIndex>(0);
let ledgerPeer: i32 = -1;

// The request in flight (at most one): its token and kind, its first payment and count (credit
// transfers: answered from the payments), and its work: the lines that need the ledger, each a
// payment, an action (CREATE its transfer, POST or VOID its pending one), its line in the request
// and the reason a void carries; those in [workNext - batchCount, workNext) are out at the ledger.
export const ACT_CREATE: u8 = 1;
export const ACT_POST: u8 = 2;
export const ACT_VOID: u8 = 3;
export const ACT_RETURN: u8 = 4;
let busy = false;
let flightToken: u32 = 0;
let flightOp: u8 = 0;
let flightSource: u8 = 0;
let flightFirst: u32 = 0;
let flightCount: u32 = 0;
let flightMessage: u32 = 0; // the number of the message in flight (its record, its time)
let work: usize = 0; // WORK_BYTES a line: u32 payment, u32 line, u32 reason, u8 action, u8[3], u128 amount (a return's)
const WORK_BYTES: u32 = 32;
let workCount: u32 = 0;
let workNext: u32 = 0;
let batchCount: u32 = 0;
let ledgerRequest: usize = 0;
let replyBuf: usize = 0;
let scratch: usize = 0; // a message or transaction identity key
let keyScratch: usize = 0; // an agent's account key

/** The tables, from the heap at init: zeroed memory WebAssembly gives, never touched at boot. */
export function paymentsInit(): void {
  assert(payments == 0, "paymentsInit: once");
  payments = heap.alloc(<usize>paymentsMax * P.PAYMENT_BYTES);
  messages = heap.alloc(<usize>messagesMax * MSG_RECORD_BYTES);
  messageIndex = hashIndexCreate(messagesMax);
  txIndex = hashIndexCreate(paymentsMax);
  work = heap.alloc(<usize>P.TX_MAX * WORK_BYTES);
  ledgerRequest = heap.alloc(<usize>L.HEADER_BYTES + <usize>L.BATCH_EVENTS_MAX * L.RECORD_BYTES);
  // The largest reply: payment_messages' (its record, its messages, its first message's TX_MAX results).
  replyBuf = heap.alloc(<usize>P.REPLY_HEADER_BYTES + <usize>P.PAYMENT_BYTES + <usize>P.PAYMENT_MESSAGES_MAX * P.MESSAGE_INFO_BYTES
    + <usize>P.TX_MAX * P.RESULT_BYTES);
  scratch = heap.alloc(64);
  keyScratch = heap.alloc(P.ACCOUNT_KEY_BYTES);
  ledgerPeer = lookup(changetype<usize>(String.UTF8.encode("ledger")), 6);
}

/** The ledger's service index (-1: the image has none; every payment is then refused busy). */
export function paymentsLedgerPeer(): i32 { return ledgerPeer; }

/** Payment number `i` (its id is i + 1). */
export function paymentAt(i: u32): usize {
  assert(i < paymentsMax, "a payment of the table");
  return payments + <usize>i * P.PAYMENT_BYTES;
}

/** The number of the payment record at `p`. */
export function paymentNumber(p: usize): u32 {
  assert(p >= payments && (p - payments) % P.PAYMENT_BYTES == 0, "a payment record");
  return <u32>((p - payments) / P.PAYMENT_BYTES);
}

/** Payments recorded so far. */
export function paymentsRecorded(): u32 {
  assert(paymentCount <= paymentsMax, "the payments table holds what was recorded");
  return paymentCount;
}

/** The reply being built: REPLY_HEADER_BYTES, then a request's results or records (REPLY area of TX_MAX results). */
export function replyArea(): usize {
  assert(replyBuf != 0, "replyArea: after paymentsInit");
  return replyBuf;
}

/** Whether a request waits for the ledger (the next one is refused busy). */
export function flightBusy(): bool { return busy; }

/** The request in flight's operation and token. */
export function flightOperation(): u8 {
  assert(flightOp <= <u8>P.Op.hold_release, "an operation the service has");
  return flightOp;
}
export function flightTokenOf(): u32 {
  assert(flightToken != 0, "a request's token (the kernel's are never 0)");
  return flightToken;
}

/** The request in flight is over (a statement answers itself). */
export function flightEnd(): void {
  assert(busy, "a request in flight");
  busy = false;
}

/** The ledger's service index (-1: none). */
export function ledgerIndex(): i32 {
  assert(payments != 0, "ledgerIndex: after paymentsInit");
  return ledgerPeer;
}
// @ts-ignore: decorator
@inline function messageAt(i: u32): usize { return messages + <usize>i * MSG_RECORD_BYTES; }

/** Builds the identity key of a transaction in `scratch`: its UETR, or (agent, EndToEndId); false when it has neither. */
export function txKey(uetr: usize, agent: usize, e2e: usize): bool {
  memory.fill(scratch, 0, TXKEY_BYTES);
  if ((load<u64>(uetr) | load<u64>(uetr + 8)) != 0) {
    store<u8>(scratch, 1);
    memory.copy(scratch + 4, uetr, 16);
    return true;
  }
  if (textEmpty(e2e) || notProvided(e2e)) return false;
  store<u8>(scratch, 2);
  memory.copy(scratch + 4, agent, P.BIC_BYTES);
  memory.copy(scratch + 16, e2e, P.SLOT_BYTES);
  assert(<u32>16 + <u32>P.SLOT_BYTES <= TXKEY_BYTES, "a transaction key fits");
  return true;
}

/** Whether a payment holds the identity in `scratch` (txKey). */
function paymentHasKey(p: usize): bool {
  if (load<u8>(scratch) == 1) return memory.compare(p + P.PAY_UETR, scratch + 4, 16) == 0;
  assert(load<u8>(scratch) == 2, "a transaction key");
  return (load<u64>(p + P.PAY_UETR) | load<u64>(p + P.PAY_UETR + 8)) == 0
    && memory.compare(p + P.PAY_AGENT, scratch + 4, P.BIC_BYTES) == 0
    && memory.compare(p + P.PAY_END_TO_END_ID, scratch + 16, P.SLOT_BYTES) == 0;
}

/** The payment holding the identity in `scratch` (txKey), or -1. */
export function txFind(): i32 {
  assert(load<u8>(scratch) == 1 || load<u8>(scratch) == 2, "a transaction key was built");
  const fp = fingerprint(scratch, TXKEY_BYTES);
  for (let s = hashNext(txIndex, fp, -1); s >= 0; s = hashNext(txIndex, fp, s)) {
    const i = hashRecord(txIndex, s);
    if (paymentHasKey(paymentAt(i))) return <i32>i;
  }
  return -1;
}

/** The message record with the key at `key` (MSG_KEY_BYTES), or -1. */
function messageFind(key: usize): i32 {
  assert(messageIndex.count == messageCount, "every message is indexed");
  const fp = fingerprint(key, MSG_KEY_BYTES);
  for (let s = hashNext(messageIndex, fp, -1); s >= 0; s = hashNext(messageIndex, fp, s)) {
    const m = hashRecord(messageIndex, s);
    if (memory.compare(messageAt(m), key, MSG_KEY_BYTES) == 0) return <i32>m;
  }
  return -1;
}

/**
 * The framing every request about a message shares: its count (1..TX_MAX;
 * `badCount` otherwise), reserved header bytes, a length of header, message
 * record, `count` records of `recordBytes` and the original, a MsgId, a
 * sending agent's BIC slot, reserved message bytes. An error text, or null.
 */
export function messageFramingError(r: usize, len: u32, recordBytes: u32, badCount: string): string | null {
  assert(len >= <u32>(P.HEADER_BYTES + P.MESSAGE_BYTES), "messageFramingError: a header and a message record to read");
  const count = load<u32>(r + P.HEADER_COUNT);
  if (count == 0 || count > <u32>P.TX_MAX) return badCount;
  if (load<u16>(r + 2) != 0 || load<u32>(r + 12) != 0) return "payments: reserved header bytes not zero";
  const want = <u64>P.HEADER_BYTES + <u64>P.MESSAGE_BYTES + <u64>count * recordBytes + <u64>load<u32>(r + P.HEADER_ORIGINAL_BYTES);
  if (want != <u64>len) return "payments: request length does not match its counts";
  const m = r + P.HEADER_BYTES;
  if (!textValid(m + P.MESSAGE_ID, P.SLOT_BYTES, P.TEXT_MAX) || textEmpty(m + P.MESSAGE_ID)) return "payments: MsgId is not a Max35Text";
  if (!bicValid(m + P.MESSAGE_AGENT)) return "payments: the sending agent is not a BIC";
  for (let i: u32 = 80; i < <u32>P.MESSAGE_BYTES; i++) if (load<u8>(m + i) != 0) return "payments: reserved message bytes not zero";
  return null;
}


/** The framing of a transaction's parties (names, countries, reserved bytes): an error text, or null. The compliance service reads the names. */
function partiesError(x: usize): string | null {
  assert(P.TX_CREDITOR_NAME + P.TX_NAME_MAX <= P.TX_BYTES, "the names fit the record");
  const dl = <u32>load<u8>(x + P.TX_DEBTOR_NAME_LENGTH);
  const cl = <u32>load<u8>(x + P.TX_CREDITOR_NAME_LENGTH);
  if (dl > <u32>P.TX_NAME_MAX || cl > <u32>P.TX_NAME_MAX) return "payments: a party's name is longer than TX_NAME_MAX";
  for (let i: u32 = dl; i < <u32>P.TX_NAME_MAX; i++) if (load<u8>(x + P.TX_DEBTOR_NAME + i) != 0) return "payments: bytes after a party's name are not zero";
  for (let i: u32 = cl; i < <u32>P.TX_NAME_MAX; i++) if (load<u8>(x + P.TX_CREDITOR_NAME + i) != 0) return "payments: bytes after a party's name are not zero";
  if (!countryValid(x + P.TX_DEBTOR_COUNTRY) || !countryValid(x + P.TX_CREDITOR_COUNTRY)) return "payments: a party's country is not two upper-case letters";
  if (load<u16>(x + 254) != 0) return "payments: reserved transaction bytes not zero";
  for (let i: u32 = P.TX_CREDITOR_NAME + P.TX_NAME_MAX; i < <u32>P.TX_BYTES; i++) if (load<u8>(x + i) != 0) return "payments: reserved transaction bytes not zero";
  return null;
}

/** The framing of a credit_transfers request of `len` bytes at `r`: an error text, or null. */
function framingError(r: usize, len: u32): string | null {
  assert(len >= <u32>(P.HEADER_BYTES + P.MESSAGE_BYTES), "framingError: a header and a message record to read");
  const source = load<u8>(r + P.HEADER_SOURCE);
  if (source < <u8>P.SOURCE_PACS008 || source > <u8>P.SOURCE_JSON) return "payments: unknown source";
  const framing = messageFramingError(r, len, P.TX_BYTES, "payments: transaction count out of range");
  if (framing !== null) return framing;
  const count = load<u32>(r + P.HEADER_COUNT);
  const m = r + P.HEADER_BYTES;
  const agentNeeded = source == <u8>P.SOURCE_PACS008 || source == <u8>P.SOURCE_MT103;
  if (agentNeeded == textEmpty(m + P.MESSAGE_AGENT)) return "payments: a pacs.008 or MT103 names its sending agent, nothing else does";
  for (let t: u32 = 0; t < count; t++) {
    const x = m + P.MESSAGE_BYTES + <usize>t * P.TX_BYTES;
    if (!textValid(x + P.TX_INSTR_ID, P.SLOT_BYTES, P.TEXT_MAX) || !textValid(x + P.TX_END_TO_END_ID, P.SLOT_BYTES, P.TEXT_MAX)
      || !textValid(x + P.TX_TX_ID, P.SLOT_BYTES, P.TEXT_MAX) || textEmpty(x + P.TX_END_TO_END_ID)) return "payments: a transaction's identifiers are not Max35Text";
    if ((load<u64>(x + P.TX_AMOUNT) | load<u64>(x + P.TX_AMOUNT + 8)) == 0) return "payments: a transaction's amount is zero";
    if (!bicValid(x + P.TX_DEBTOR_AGENT) || !bicValid(x + P.TX_CREDITOR_AGENT)) return "payments: an agent is not a BIC";
    const debtorNeeded = source == <u8>P.SOURCE_PAIN001 || source == <u8>P.SOURCE_JSON;
    if (debtorNeeded && !keyValid(x + P.TX_DEBTOR)) return "payments: a transaction's debtor account is not an account key";
    const creditorByAgent = source == <u8>P.SOURCE_PAIN001;
    if (creditorByAgent ? textEmpty(x + P.TX_CREDITOR_AGENT) : !keyValid(x + P.TX_CREDITOR)) return "payments: a transaction's creditor side is missing";
    const why = partiesError(x);
    if (why !== null) return why;
  }
  return null;
}

/** Handles a credit_transfers request of `len` bytes at `r` (the inbox), answering under `token`. */
export function creditTransfers(token: u32, r: usize, len: u32): void {
  if (busy) { refuse(token, P.REFUSED_BUSY, "payments: busy: a request is waiting for the ledger (the gateway sends one at a time)"); return; }
  if (len < <u32>(P.HEADER_BYTES + P.MESSAGE_BYTES)) { refuse(token, P.REFUSED_MALFORMED, "payments: request shorter than its header and message"); return; }
  const framing = framingError(r, len);
  if (framing !== null) { refuse(token, P.REFUSED_MALFORMED, framing); return; }
  const source = load<u8>(r + P.HEADER_SOURCE);
  const count = load<u32>(r + P.HEADER_COUNT);
  const m = r + P.HEADER_BYTES;
  // A message seen before is answered as it was even when the table is full; a new one needs room for all its payments.
  const seen = messageAdmit(token, source, m, count, paymentsMax - paymentCount < count);
  if (seen == MSG_ANSWERED) return;
  if (seen >= 0) {
    const rec = messageAt(<u32>seen);
    answerFromPayments(token, <u32>(load<u64>(rec + MSG_FIRST) - 1), count, P.REPLY_F_REPEATED, load<u64>(rec + MSG_TIME));
    return;
  }
  const first = paymentCount;
  store<u64>(messageAt(messageCount - 1) + MSG_FIRST, <u64>first + 1);
  begin(token, <u8>P.Op.credit_transfers, source, first, count, messageCount - 1);
  checksBegin();
  for (let t: u32 = 0; t < count; t++) record(source, m, m + P.MESSAGE_BYTES + <usize>t * P.TX_BYTES, messageCount - 1);
  checksGo();
}

/** Sends the checks (checks.ts) until a batch is out, or moves the money when every check is answered. */
function checksGo(): void {
  assert(busy && flightOp == <u8>P.Op.credit_transfers, "a credit transfers request in flight");
  for (;;) {
    const r = checksSend();
    if (r == CHECKS_OUT) return;
    if (r == CHECKS_DONE) { moveChecked(); return; }
    checksReject(); // not sent: no answer will come
  }
}

/** The payments of the batch of checks out are rejected (NARR): the compliance service did not decide them. */
function checksReject(): void {
  const n = checksOut();
  assert(n != 0 && busy, "a batch out");
  for (let i: u32 = 0; i < n; i++) {
    const p = paymentAt(checkedNumber(i));
    store<u8>(p + P.PAY_STATE, <u8>P.STATE_REJECTED);
    store<u32>(p + P.PAY_REASON, P.REASON_NARR);
  }
  checksNext();
}

/** The compliance service's answer to the batch of checks out: each decision applied to its payment; then on. */
export function checksReplied(r: usize, len: u32): void {
  if (checksOut() == 0) return; // nothing of ours out: not an answer to this service
  const n = checksAnswered(r, len);
  if (n == 0) { checksReject(); checksGo(); return; }
  for (let i: u32 = 0; i < n; i++) {
    const p = paymentAt(checkedNumber(i));
    const d = r + C.REPLY_HEADER_BYTES + <usize>i * C.DECISION_BYTES;
    assert(load<u64>(d + C.DEC_PAYMENT) == load<u64>(p + P.PAY_ID), "decisions in the order of the checks");
    const action = load<u8>(d + C.DEC_ACTION);
    store<u8>(p + P.PAY_COMPLIANCE, action);
    store<u32>(p + P.PAY_ALERT, load<u32>(d + C.DEC_ALERT));
    if (action == <u8>C.ACTION_REFUSE) {
      store<u8>(p + P.PAY_STATE, <u8>P.STATE_REJECTED);
      store<u32>(p + P.PAY_REASON, reasonOf(load<u32>(d + C.DEC_DECIDED_BY)));
    }
  }
  checksNext();
  checksGo();
}

/** The kernel aborted the batch of checks out (the compliance service faulted on it): its payments are rejected; then on. */
export function checksFailed(): void {
  assert(checksOut() <= <u32>C.CHECKS_PER_REQUEST, "a batch at most");
  if (checksOut() == 0) return;
  checksReject();
  checksGo();
}

/** Every payment of the credit transfers in flight still SUBMITTED (checked, when checks are on) goes to the ledger. */
function moveChecked(): void {
  assert(busy && flightOp == <u8>P.Op.credit_transfers && workCount == 0, "a credit transfers request, no work yet");
  for (let t: u32 = 0; t < flightCount; t++) {
    if (load<u8>(paymentAt(flightFirst + t) + P.PAY_STATE) == <u8>P.STATE_SUBMITTED) addWork(flightFirst + t, t, ACT_CREATE, 0);
  }
  sendNextBatch();
}

// messageAdmit's answers besides a message number (the same message seen before).
export const MSG_NEW: i32 = -1; // recorded now, as messages[messageCount - 1]
export const MSG_ANSWERED: i32 = -2; // answered here: another message under a used MsgId (AM05 whole), or messages_full

/**
 * A message's identity (source, sending agent, MsgId) against those seen:
 * the number of the same message seen before (the same bytes: its SHA-256),
 * MSG_NEW when it is new (then recorded), or MSG_ANSWERED when it was
 * answered here (other bytes under a used MsgId: every line AM05, nothing
 * recorded; or the message table is full, or `noRoom`: the payments table
 * has no room for a new message's payments).
 */
export function messageAdmit(token: u32, source: u8, m: usize, count: u32, noRoom: bool = false): i32 {
  assert(count >= 1 && count <= <u32>P.TX_MAX, "a framed count");
  memory.fill(scratch, 0, MSG_KEY_BYTES);
  store<u8>(scratch, source);
  memory.copy(scratch + 1, m + P.MESSAGE_AGENT, P.BIC_BYTES);
  memory.copy(scratch + 16, m + P.MESSAGE_ID, P.SLOT_BYTES);
  const seen = messageFind(scratch);
  if (seen >= 0) {
    const rec = messageAt(<u32>seen);
    if (memory.compare(rec + MSG_DIGEST, m + P.MESSAGE_DIGEST, 32) == 0 && load<u32>(rec + MSG_COUNT) == count) return seen;
    answerRefusedWhole(token, count, P.REASON_AM05);
    return MSG_ANSWERED;
  }
  if (messageCount == messagesMax) { refuse(token, P.REFUSED_FULL, "payments: messages_full: nothing was recorded"); return MSG_ANSWERED; }
  if (noRoom) { refuse(token, P.REFUSED_FULL, "payments: payments_full: nothing was recorded"); return MSG_ANSWERED; }
  const msg = messageAt(messageCount);
  memory.copy(msg, scratch, MSG_KEY_BYTES);
  memory.copy(msg + MSG_DIGEST, m + P.MESSAGE_DIGEST, 32);
  store<u32>(msg + MSG_COUNT, count);
  store<u64>(msg + MSG_TIME, nowNs());
  const inserted = hashInsert(messageIndex, fingerprint(msg, MSG_KEY_BYTES), messageCount);
  assert(inserted, "the index holds messages_max messages");
  messageCount++;
  return MSG_NEW;
}

export const NO_MESSAGE: u32 = 0xffffffff;

/** Starts the request in flight about message number `message` (NO_MESSAGE: a statement): nothing of it is out yet. */
export function begin(token: u32, op: u8, source: u8, first: u32, count: u32, message: u32): void {
  assert(!busy && count <= <u32>P.TX_MAX && (message == NO_MESSAGE || message < messageCount), "one request at a time, within TX_MAX lines, about a recorded message");
  flightMessage = message;
  busy = true;
  flightToken = token;
  flightOp = op;
  flightSource = source;
  flightFirst = first;
  flightCount = count;
  workCount = 0;
  workNext = 0;
  batchCount = 0;
}

export function addWork(payment: u32, line: u32, action: u8, reason: u32, amount: usize = 0): void {
  assert(busy && workCount < <u32>P.TX_MAX && payment < paymentCount, "work of the request in flight");
  const w = work + <usize>workCount * WORK_BYTES;
  store<u32>(w, payment);
  store<u32>(w + 4, line);
  store<u32>(w + 8, reason);
  store<u8>(w + 12, action);
  if (amount != 0) memory.copy(w + 16, amount, 16);
  else memory.fill(w + 16, 0, 16);
  workCount++;
}

/** Records transaction `x` as a payment: resolved through the directory, checked for a duplicate; SUBMITTED or REJECTED. */
function record(source: u8, m: usize, x: usize, msgNumber: u32): void {
  const p = paymentAt(paymentCount);
  const id = <u64>paymentCount + 1;
  paymentCount++;
  store<u64>(p + P.PAY_ID, id);
  store<u8>(p + P.PAY_SOURCE, source);
  const ledger = load<u32>(x + P.TX_LEDGER);
  store<u32>(p + P.PAY_LEDGER, ledger);
  store<u32>(p + P.PAY_MESSAGE, msgNumber);
  memory.copy(p + P.PAY_AMOUNT, x + P.TX_AMOUNT, 16);
  store<u64>(p + P.PAY_CREATED, nowNs());
  memory.copy(p + P.PAY_UETR, x + P.TX_UETR, 16);
  memory.copy(p + P.PAY_END_TO_END_ID, x + P.TX_END_TO_END_ID, P.SLOT_BYTES);
  memory.copy(p + P.PAY_INSTR_ID, x + P.TX_INSTR_ID, P.SLOT_BYTES);
  memory.copy(p + P.PAY_TX_ID, x + P.TX_TX_ID, P.SLOT_BYTES);
  memory.copy(p + P.PAY_AGENT, m + P.MESSAGE_AGENT, P.BIC_BYTES);
  let reason: u32 = ledgerAllowed(ledger) ? 0 : P.REASON_AM03;
  const keyed = txKey(x + P.TX_UETR, m + P.MESSAGE_AGENT, x + P.TX_END_TO_END_ID);
  if (reason == 0 && keyed && txFind() >= 0) reason = P.REASON_AM05;
  // Both sides through the directory: agents' settlement accounts where the message names an agent.
  const byAgentDebit = source == <u8>P.SOURCE_PACS008 || source == <u8>P.SOURCE_MT103;
  const byAgentCredit = source == <u8>P.SOURCE_PAIN001;
  const debit = byAgentDebit ? directoryFindAgent(m + P.MESSAGE_AGENT, keyScratch) : directoryFind(x + P.TX_DEBTOR);
  if (reason == 0) reason = entryRefusal(debit, byAgentDebit, ledger);
  const credit = byAgentCredit ? directoryFindAgent(x + P.TX_CREDITOR_AGENT, keyScratch) : directoryFind(x + P.TX_CREDITOR);
  if (reason == 0) reason = entryRefusal(credit, byAgentCredit, ledger);
  if (reason == 0 && memory.compare(debit + P.ENTRY_ACCOUNT, credit + P.ENTRY_ACCOUNT, 16) == 0) reason = P.REASON_AC01;
  if (debit != 0) memory.copy(p + P.PAY_DEBIT, debit + P.ENTRY_ACCOUNT, 16);
  if (credit != 0) memory.copy(p + P.PAY_CREDIT, credit + P.ENTRY_ACCOUNT, 16);
  if (keyed && reason != P.REASON_AM05) {
    const inserted = hashInsert(txIndex, fingerprint(scratch, TXKEY_BYTES), paymentCount - 1);
    assert(inserted, "the index holds payments_max payments");
  }
  if (reason != 0) {
    store<u8>(p + P.PAY_STATE, <u8>P.STATE_REJECTED);
    store<u32>(p + P.PAY_REASON, reason);
  } else {
    store<u8>(p + P.PAY_STATE, <u8>P.STATE_SUBMITTED);
    checkAdd(paymentCount - 1, p, x, debit, !byAgentDebit, !byAgentCredit);
  }
}

/** Sends the next ledger batch of the request in flight's work, or answers it when none is left. */
export function sendNextBatch(): void {
  assert(busy && batchCount == 0, "a request in flight, nothing of it out");
  const events = ledgerRequest + L.HEADER_BYTES;
  while (workNext < workCount && batchCount < <u32>L.BATCH_EVENTS_MAX) {
    const w = work + <usize>workNext * WORK_BYTES;
    workNext++;
    const p = paymentAt(load<u32>(w));
    const action = load<u8>(w + 12);
    const e = events + <usize>batchCount * L.RECORD_BYTES;
    memory.fill(e, 0, L.RECORD_BYTES);
    const id = load<u64>(p + P.PAY_ID);
    store<u64>(e + L.TRANSFER_ID, id);
    store<u64>(e + L.TRANSFER_ID + 8, transferHi(action));
    // A return goes back: from the account the payment credited to the one it debited, of the returned amount.
    const back = action == ACT_RETURN;
    memory.copy(e + L.TRANSFER_DEBIT_ACCOUNT_ID, p + (back ? P.PAY_CREDIT : P.PAY_DEBIT), 16);
    memory.copy(e + L.TRANSFER_CREDIT_ACCOUNT_ID, p + (back ? P.PAY_DEBIT : P.PAY_CREDIT), 16);
    memory.copy(e + L.TRANSFER_AMOUNT, back ? w + 16 : p + P.PAY_AMOUNT, 16);
    if (action == ACT_POST || action == ACT_VOID) memory.copy(e + L.TRANSFER_PENDING_ID, p + P.PAY_TRANSFER, 16);
    // The UETR (or nothing) in user_data_128 and the payment's id in user_data_64: the ledger's queries find a payment's transfers.
    memory.copy(e + L.TRANSFER_USER_DATA_128, p + P.PAY_UETR, 16);
    store<u64>(e + L.TRANSFER_USER_DATA_64, id);
    store<u32>(e + L.TRANSFER_USER_DATA_32, <u32>load<u8>(p + P.PAY_SOURCE));
    store<u32>(e + L.TRANSFER_LEDGER, load<u32>(p + P.PAY_LEDGER));
    store<u16>(e + L.TRANSFER_CODE, transferCode);
    const pending = action == ACT_CREATE && (load<u8>(p + P.PAY_SOURCE) == <u8>P.SOURCE_PAIN001 || load<u8>(p + P.PAY_COMPLIANCE) == <u8>C.ACTION_HOLD);
    store<u16>(e + L.TRANSFER_FLAGS, pending ? <u16>L.TransferFlags.pending
      : action == ACT_POST ? <u16>L.TransferFlags.post_pending_transfer : action == ACT_VOID ? <u16>L.TransferFlags.void_pending_transfer : 0);
    batchCount++;
  }
  if (batchCount == 0) { finish(); return; }
  store<u8>(ledgerRequest + L.HEADER_OPERATION, <u8>L.Operation.create_transfers);
  store<u8>(ledgerRequest + 1, 0);
  store<u16>(ledgerRequest + L.HEADER_SCOPE_COUNT, 0);
  store<u32>(ledgerRequest + L.HEADER_COUNT, batchCount);
  const r = ledgerPeer < 0 ? -1 : send(<u32>ledgerPeer, ledgerRequest, <u32>L.HEADER_BYTES + batchCount * <u32>L.RECORD_BYTES);
  if (r != 0) failBatch();
}

/** The high 64 bits of the id of the transfer an action makes (its low 64 bits: the payment's id). */
function transferHi(action: u8): u64 {
  assert(action >= ACT_CREATE && action <= ACT_RETURN, "an action");
  return action == ACT_CREATE ? P.PAYMENT_TRANSFER_ID_HI : action == ACT_POST ? P.PAYMENT_POST_ID_HI
    : action == ACT_VOID ? P.PAYMENT_VOID_ID_HI : P.PAYMENT_RETURN_ID_HI;
}

/** The work line `k` of the batch out (0 .. batchCount - 1). */
// @ts-ignore: decorator
@inline function batchWork(k: u32): usize { return work + <usize>(workNext - batchCount + k) * WORK_BYTES; }

/** The ledger's answer to the batch out: one result per transfer, in order. */
export function ledgerReplied(r: usize, len: u32): void {
  if (!busy || batchCount == 0) return; // nothing of ours out: not an answer to this service
  if (<u64>len != <u64>batchCount * L.RESULT_BYTES) { failBatch(); return; }
  assert(batchCount <= <u32>L.BATCH_EVENTS_MAX && workNext >= batchCount, "a batch the ledger takes, from the work list");
  for (let k: u32 = 0; k < batchCount; k++) {
    const w = batchWork(k);
    const p = paymentAt(load<u32>(w));
    const action = load<u8>(w + 12);
    const result = load<u32>(r + <usize>k * L.RESULT_BYTES + L.RESULT_CODE);
    const timestamp = load<u64>(r + <usize>k * L.RESULT_BYTES + L.RESULT_TIMESTAMP);
    if (result == <u32>L.TransferResult.created) {
      if (action == ACT_CREATE) {
        const held = load<u8>(p + P.PAY_COMPLIANCE) == <u8>C.ACTION_HOLD;
        store<u8>(p + P.PAY_STATE, <u8>(held ? P.STATE_HELD : load<u8>(p + P.PAY_SOURCE) == <u8>P.SOURCE_PAIN001 ? P.STATE_PENDING : P.STATE_SETTLED));
        store<u64>(p + P.PAY_TRANSFER, load<u64>(p + P.PAY_ID));
        store<u64>(p + P.PAY_TRANSFER + 8, P.PAYMENT_TRANSFER_ID_HI);
      } else if (action == ACT_RETURN) {
        store<u8>(p + P.PAY_STATE, <u8>P.STATE_RETURNED);
        store<u32>(p + P.PAY_REASON, load<u32>(w + 8));
        store<u32>(p + P.PAY_RETURN_MESSAGE, flightMessage + 1);
        lineResult(load<u32>(w + 4), P.STATUS_ACSC, 0, p, transferHi(action), 0, timestamp);
      } else {
        store<u8>(p + P.PAY_STATE, <u8>(action == ACT_POST ? P.STATE_SETTLED : P.STATE_REJECTED));
        if (action == ACT_VOID) store<u32>(p + P.PAY_REASON, load<u32>(w + 8));
        store<u32>(p + P.PAY_STATUS_MESSAGE, flightMessage + 1);
      }
      if (action != ACT_RETURN) store<u64>(p + P.PAY_TIMESTAMP, timestamp);
      if (action == ACT_POST || action == ACT_VOID) statusLine(load<u32>(w + 4), p, 0, transferHi(action), 0, timestamp);
    } else if (action == ACT_CREATE) {
      store<u8>(p + P.PAY_STATE, <u8>P.STATE_REJECTED);
      store<u32>(p + P.PAY_REASON, ledgerReason(result));
      store<u32>(p + P.PAY_LEDGER_RESULT, result);
    } else if (action == ACT_RETURN) {
      lineResult(load<u32>(w + 4), P.STATUS_RJCT, P.REASON_NARR, p, 0, result, 0); // the return was refused: the payment is as it was
    } else {
      statusLine(load<u32>(w + 4), p, P.REASON_NARR, 0, result, 0); // the post or void was refused: the payment is as it was
    }
  }
  batchCount = 0;
  sendNextBatch();
}

/** The kernel aborted the batch out (the ledger faulted on it, rolled back): nothing of it moved. */
export function ledgerFailed(): void {
  if (!busy || batchCount == 0) return;
  assert(workNext >= batchCount, "a batch out was taken from the work list");
  failBatch();
}

/** Nothing of the batch out moved: its new payments are rejected (NARR), its posts and voids changed nothing; the rest goes on. */
function failBatch(): void {
  assert(busy && batchCount > 0, "a batch out");
  for (let k: u32 = 0; k < batchCount; k++) {
    const w = batchWork(k);
    const p = paymentAt(load<u32>(w));
    const action = load<u8>(w + 12);
    if (action == ACT_CREATE) {
      store<u8>(p + P.PAY_STATE, <u8>P.STATE_REJECTED);
      store<u32>(p + P.PAY_REASON, P.REASON_NARR);
    } else if (action == ACT_RETURN) {
      lineResult(load<u32>(w + 4), P.STATUS_RJCT, P.REASON_NARR, p, 0, 0, 0);
    } else {
      statusLine(load<u32>(w + 4), p, P.REASON_NARR, 0, 0, 0);
    }
  }
  batchCount = 0;
  sendNextBatch();
}

/** The ISO reason of a ledger refusal. */
function ledgerReason(result: u32): u32 {
  assert(result != <u32>L.TransferResult.created, "a refusal");
  if (result == <u32>L.TransferResult.exceeds_credits || result == <u32>L.TransferResult.exceeds_debits) return P.REASON_AM04;
  if (result == <u32>L.TransferResult.debit_account_not_found || result == <u32>L.TransferResult.credit_account_not_found) return P.REASON_AC01;
  if (result == <u32>L.TransferResult.debit_account_already_closed || result == <u32>L.TransferResult.credit_account_already_closed) return P.REASON_AC04;
  if (result == <u32>L.TransferResult.accounts_must_have_the_same_ledger || result == <u32>L.TransferResult.transfer_must_have_the_same_ledger_as_accounts) return P.REASON_AM03;
  if (result >= <u32>L.TransferResult.exists_with_different_flags && result <= <u32>L.TransferResult.exists) return P.REASON_AM05;
  return P.REASON_NARR;
}

/** The request in flight is complete: credit transfers answered from their payments, status reports from their lines. */
function finish(): void {
  assert(busy && batchCount == 0 && workNext == workCount, "a request whose work is all back");
  busy = false;
  emitChanged();
  if (flightOp == <u8>P.Op.credit_transfers) answerFromPayments(flightToken, flightFirst, flightCount, 0, load<u64>(messageAt(flightMessage) + MSG_TIME));
  else reply(flightToken, 0, replyBuf, <u32>P.REPLY_HEADER_BYTES + flightCount * <u32>P.RESULT_BYTES);
}

/**
 * The complete request's payment events (events.ts): every payment a credit
 * transfers request recorded, rejected ones too; for a status report or a
 * return, each payment a line of its work changed: the line's result names
 * the post, void or return the ledger made (lineResult), a refused one the
 * payment's own transfer. The same message again (REPLY_F_REPEATED) never
 * gets here with work, and so emits nothing.
 */
function emitChanged(): void {
  assert(!busy && batchCount == 0 && workNext == workCount, "a request whose work is all back");
  if (flightOp == <u8>P.Op.credit_transfers) {
    for (let t: u32 = 0; t < flightCount; t++) paymentEvent(paymentAt(flightFirst + t));
  } else {
    for (let k: u32 = 0; k < workCount; k++) {
      const w = work + <usize>k * WORK_BYTES;
      assert(load<u32>(w + 4) < flightCount, "a work line names a line of the request");
      const o = replyBuf + P.REPLY_HEADER_BYTES + <usize>load<u32>(w + 4) * P.RESULT_BYTES;
      if (load<u64>(o + P.RESULT_TRANSFER + 8) == transferHi(load<u8>(w + 12))) paymentEvent(paymentAt(load<u32>(w)));
    }
  }
  paymentEventsFlush();
}

/** Writes line `line`'s result of a status report or a return: `status`, `reason`, the payment (0: none), the transfer made (its high bits; 0: the payment's). */
export function lineResult(line: u32, status: u32, reason: u32, p: usize, hi: u64, ledgerResult: u32, timestamp: u64): void {
  assert(line < flightCount && flightOp != <u8>P.Op.credit_transfers, "a line of the status report or return in flight");
  const o = replyBuf + P.REPLY_HEADER_BYTES + <usize>line * P.RESULT_BYTES;
  memory.fill(o, 0, P.RESULT_BYTES);
  store<u32>(o + P.RESULT_STATUS, status);
  store<u32>(o + P.RESULT_REASON, reason);
  store<u32>(o + P.RESULT_LEDGER, ledgerResult);
  if (p == 0) return;
  store<u64>(o + P.RESULT_PAYMENT, load<u64>(p + P.PAY_ID));
  if (hi != 0) {
    store<u64>(o + P.RESULT_TRANSFER, load<u64>(p + P.PAY_ID));
    store<u64>(o + P.RESULT_TRANSFER + 8, hi);
  } else {
    memory.copy(o + P.RESULT_TRANSFER, p + P.PAY_TRANSFER, 16);
  }
  store<u64>(o + P.RESULT_TIMESTAMP, timestamp != 0 ? timestamp : load<u64>(p + P.PAY_TIMESTAMP));
}

/** A status report's or hold release's line: the payment's state after (0: none found, RJCT), why nothing changed, the post or void made. */
export function statusLine(line: u32, p: usize, reason: u32, hi: u64, ledgerResult: u32, timestamp: u64): void {
  assert(flightOp == <u8>P.Op.status_reports || flightOp == <u8>P.Op.hold_release, "a line of a status report or a hold release");
  if (p == 0) { lineResult(line, P.STATUS_RJCT, reason, 0, 0, 0, 0); return; }
  const state = load<u8>(p + P.PAY_STATE);
  const status = state == <u8>P.STATE_REJECTED ? P.STATUS_RJCT : state == <u8>P.STATE_PENDING || state == <u8>P.STATE_HELD ? P.STATUS_ACCP : P.STATUS_ACSC;
  lineResult(line, status, reason != 0 ? reason : state == <u8>P.STATE_REJECTED ? load<u32>(p + P.PAY_REASON) : 0, p, hi, ledgerResult, timestamp);
}

/**
 * Answers `token` with the results of payments first .. first + count - 1 as
 * first answered (resultAsAnswered): the same message again gets the same answer.
 */
function answerFromPayments(token: u32, first: u32, count: u32, flags: u32, time: u64): void {
  assert(first + count <= paymentCount && count <= <u32>P.TX_MAX, "payments that exist");
  header(count, flags, time);
  for (let t: u32 = 0; t < count; t++) resultAsAnswered(paymentAt(first + t), replyBuf + P.REPLY_HEADER_BYTES + <usize>t * P.RESULT_BYTES);
  reply(token, 0, replyBuf, <u32>P.REPLY_HEADER_BYTES + count * <u32>P.RESULT_BYTES);
}

/**
 * Writes at `o` payment `p`'s result as its message was first answered: RJCT
 * and the reason when it was refused then (rejected, and no status report
 * nor hold release voided it since), ACCP when it came from a pain.001 or
 * compliance held it (pending then, whatever happened since), else ACSC
 * (settled then, returned or not since).
 */
export function resultAsAnswered(p: usize, o: usize): void {
  const state = load<u8>(p + P.PAY_STATE);
  assert(state != <u8>P.STATE_SUBMITTED, "every payment answered has the ledger's answer");
  const held = load<u8>(p + P.PAY_COMPLIANCE) == <u8>C.ACTION_HOLD;
  const refused = state == <u8>P.STATE_REJECTED && load<u32>(p + P.PAY_STATUS_MESSAGE) == 0 && !held;
  memory.fill(o, 0, P.RESULT_BYTES);
  store<u32>(o + P.RESULT_STATUS, refused ? P.STATUS_RJCT : held || load<u8>(p + P.PAY_SOURCE) == <u8>P.SOURCE_PAIN001 ? P.STATUS_ACCP : P.STATUS_ACSC);
  store<u32>(o + P.RESULT_REASON, refused ? load<u32>(p + P.PAY_REASON) : 0);
  store<u64>(o + P.RESULT_PAYMENT, load<u64>(p + P.PAY_ID));
  memory.copy(o + P.RESULT_TRANSFER, p + P.PAY_TRANSFER, 16);
  store<u32>(o + P.RESULT_LEDGER, load<u32>(p + P.PAY_LEDGER_RESULT));
  store<u64>(o + P.RESULT_TIMESTAMP, load<u64>(p + P.PAY_TIMESTAMP));
}

/** Messages recorded so far. */
export function messagesRecorded(): u32 {
  assert(messageCount <= messagesMax, "the message table holds what was recorded");
  return messageCount;
}

/** The logical time message number `n` was recorded. */
export function messageTime(n: u32): u64 {
  assert(n < messageCount, "a recorded message");
  return load<u64>(messageAt(n) + MSG_TIME);
}

/** Writes at `o` the MESSAGE_INFO_BYTES record of message number `n` in `role`. */
export function messageInfo(n: u32, role: u8, o: usize): void {
  assert(n < messageCount && role >= <u8>P.MSG_ROLE_ORIGIN && role <= <u8>P.MSG_ROLE_RETURN, "a recorded message in a role");
  const rec = messageAt(n);
  memory.fill(o, 0, P.MESSAGE_INFO_BYTES);
  store<u8>(o + P.INFO_SOURCE, load<u8>(rec));
  store<u8>(o + P.INFO_ROLE, role);
  store<u32>(o + P.INFO_COUNT, load<u32>(rec + MSG_COUNT));
  store<u64>(o + P.INFO_TIME, load<u64>(rec + MSG_TIME));
  memory.copy(o + P.INFO_MSG_ID, rec + 16, P.SLOT_BYTES);
  memory.copy(o + P.INFO_AGENT, rec + 1, P.BIC_BYTES);
  memory.copy(o + P.INFO_DIGEST, rec + MSG_DIGEST, 32);
  store<u64>(o + P.INFO_FIRST, load<u64>(rec + MSG_FIRST));
  store<u32>(o + P.INFO_NUMBER, n);
}

/** A message refused whole (another message under a MsgId already used): every transaction `reason`, nothing recorded. */
export function answerRefusedWhole(token: u32, count: u32, reason: u32): void {
  assert(reason != 0, "a reason for the refusal");
  header(count, 0);
  for (let t: u32 = 0; t < count; t++) {
    const o = replyBuf + P.REPLY_HEADER_BYTES + <usize>t * P.RESULT_BYTES;
    memory.fill(o, 0, P.RESULT_BYTES);
    store<u32>(o + P.RESULT_STATUS, P.STATUS_RJCT);
    store<u32>(o + P.RESULT_REASON, reason);
  }
  reply(token, 0, replyBuf, <u32>P.REPLY_HEADER_BYTES + count * <u32>P.RESULT_BYTES);
}

export function header(count: u32, flags: u32, time: u64 = 0): void {
  assert(count <= <u32>P.TX_MAX, "a reply within TX_MAX results");
  store<u32>(replyBuf, count);
  store<u32>(replyBuf + 4, flags);
  store<u64>(replyBuf + P.REPLY_TIME, time);
}

/** Refuses a request whole: REPLY_F_REFUSED and the reason (an ASCII literal), nothing recorded. */
export function refuse(token: u32, code: u32, why: string): void {
  assert(why.length > 0 && <u32>why.length <= <u32>P.TX_MAX * <u32>P.RESULT_BYTES, "a reason that fits the reply");
  header(0, P.REPLY_F_REFUSED);
  store<u32>(replyBuf + P.REPLY_REFUSED, code);
  for (let i = 0; i < why.length; i++) store<u8>(replyBuf + P.REPLY_HEADER_BYTES + <usize>i, <u8>why.charCodeAt(i));
  reply(token, 0, replyBuf, <u32>P.REPLY_HEADER_BYTES + <u32>why.length);
}
