// Requests about payments QENEX sent or holds, line by line (docs/payments.md):
// status reports (pacs.002: post or void a pending payment), returns
// (pacs.004: a transfer back, once) and reconciliation (camt.053/054: each
// entry matched to a payment, nothing changed). Each line's result is built
// in the reply as it is decided; lines that need the ledger go on the
// request's work list (payments.ts) and are filled in when it answers.

import * as P from "../protocol";
import { reply } from "../../sdk/qenex";
import { u128Cmp } from "../../sdk/money";
import {
  ACT_POST, ACT_RETURN, ACT_VOID, MSG_ANSWERED, addWork, begin, flightBusy, header, lineResult, messageAdmit, messageFramingError, paymentAt,
  paymentNumber,
  messagesRecorded, messageTime, paymentsRecorded, refuse, replyArea, sendNextBatch, statusLine, txFind, txKey,
} from "./payments";
import { textValid } from "./text";
import { paymentsMax } from "./config";

// An agent's BIC slot for the identity lookups (empty: payments QENEX sent have no sending agent).
const agentSlot: usize = memory.data(<i32>P.BIC_BYTES, 4);

/**
 * The framing of a request about payments QENEX sent (status_reports,
 * returns): `source`, `recordBytes` per line whose text slot at 0 is an
 * EndToEndId and whose bytes from `reservedFrom` are zero. An error text, or null.
 */
function linesFramingError(r: usize, len: u32, source: u8, recordBytes: u32, reservedFrom: u32): string | null {
  assert(len >= <u32>(P.HEADER_BYTES + P.MESSAGE_BYTES) && reservedFrom <= recordBytes, "linesFramingError: a header and a message record to read");
  if (load<u8>(r + P.HEADER_SOURCE) != source) return "payments: the source does not match the operation";
  const framing = messageFramingError(r, len, recordBytes, "payments: line count out of range");
  if (framing !== null) return framing;
  const count = load<u32>(r + P.HEADER_COUNT);
  const m = r + P.HEADER_BYTES;
  for (let t: u32 = 0; t < count; t++) {
    const x = m + P.MESSAGE_BYTES + <usize>t * recordBytes;
    if (!textValid(x, P.SLOT_BYTES, P.TEXT_MAX)) return "payments: an original EndToEndId is not Max35Text";
    for (let i = reservedFrom; i < recordBytes; i++) if (load<u8>(x + i) != 0) return "payments: reserved line bytes not zero";
  }
  return null;
}

/** The payment QENEX sent (pain.001) with the UETR at `uetr`, else the EndToEndId at `e2e`; 0 when none. */
function sentPayment(uetr: usize, e2e: usize): usize {
  assert(paymentsRecorded() <= paymentsMax, "sentPayment: the payments table");
  memory.fill(agentSlot, 0, P.BIC_BYTES); // payments QENEX sent have no sending agent
  const found = txKey(uetr, agentSlot, e2e) ? txFind() : -1;
  if (found < 0) return 0;
  const p = paymentAt(<u32>found);
  return load<u8>(p + P.PAY_SOURCE) == <u8>P.SOURCE_PAIN001 ? p : 0;
}

/**
 * Admits the message of a status report or a return and starts it in flight
 * with its reply header (dated by the message's time): 1 when it is the same
 * message again, 0 when new, -1 when messageAdmit answered it already.
 */
function beginLines(token: u32, op: u8, source: u8, m: usize, count: u32): i32 {
  assert(op == <u8>P.Op.status_reports || op == <u8>P.Op.returns, "a request of lines about payments QENEX sent");
  const seen = messageAdmit(token, source, m, count);
  if (seen == MSG_ANSWERED) return -1;
  const repeated = seen >= 0;
  const number = repeated ? <u32>seen : messagesRecorded() - 1;
  begin(token, op, source, 0, count, number);
  header(count, repeated ? P.REPLY_F_REPEATED : 0, messageTime(number));
  return repeated ? 1 : 0;
}

/**
 * Handles a status_reports request (a pacs.002 about payments QENEX sent):
 * each line posts or voids its payment's pending transfer, or says why not.
 * The same report again is answered from the payments as they are now
 * (nothing more moves); another under its MsgId is refused whole (AM05).
 */
export function statusReports(token: u32, r: usize, len: u32): void {
  if (flightBusy()) { refuse(token, P.REFUSED_BUSY, "payments: busy: a request is waiting for the ledger (the gateway sends one at a time)"); return; }
  if (len < <u32>(P.HEADER_BYTES + P.MESSAGE_BYTES)) { refuse(token, P.REFUSED_MALFORMED, "payments: request shorter than its header and message"); return; }
  const framing = linesFramingError(r, len, <u8>P.SOURCE_PACS002, P.STATUS_BYTES, 60);
  if (framing !== null) { refuse(token, P.REFUSED_MALFORMED, framing); return; }
  const count = load<u32>(r + P.HEADER_COUNT);
  const m = r + P.HEADER_BYTES;
  const admitted = beginLines(token, <u8>P.Op.status_reports, <u8>P.SOURCE_PACS002, m, count);
  if (admitted < 0) return;
  const repeated = admitted == 1;
  for (let t: u32 = 0; t < count; t++) {
    const x = m + P.MESSAGE_BYTES + <usize>t * P.STATUS_BYTES;
    const p = sentPayment(x + P.STATUS_UETR, x + P.STATUS_END_TO_END_ID);
    if (p == 0) { statusLine(t, 0, P.REASON_NOOR, 0, 0, 0); continue; }
    const status = load<u32>(x + P.STATUS_STATUS);
    const settles = status == P.STATUS_ACSC || status == P.STATUS_ACCC;
    const state = load<u8>(p + P.PAY_STATE);
    if (state == <u8>P.STATE_PENDING && !repeated && (settles || status == P.STATUS_RJCT)) {
      const reason = load<u32>(x + P.STATUS_REASON);
      addWork(paymentNumber(p), t, settles ? ACT_POST : ACT_VOID, reason != 0 ? reason : P.REASON_NARR);
      continue;
    }
    // No change: still pending (ACSP, PDNG, ...), or already final; a status that contradicts a final state is NARR.
    // A held payment waits for its compliance case, not the clearing: a status for it changes nothing and is NARR.
    const contradicts = (state == <u8>P.STATE_SETTLED && status == P.STATUS_RJCT) || ((state == <u8>P.STATE_REJECTED || state == <u8>P.STATE_RETURNED) && settles)
      || state == <u8>P.STATE_HELD;
    statusLine(t, p, contradicts ? P.REASON_NARR : 0, 0, 0, 0);
  }
  sendNextBatch();
}

/**
 * Handles a returns request (a pacs.004 about payments QENEX sent): each
 * settled payment is returned once, by a transfer back of the returned
 * amount; the result says ACSC and that transfer, or RJCT and why not.
 */
export function returns(token: u32, r: usize, len: u32): void {
  if (flightBusy()) { refuse(token, P.REFUSED_BUSY, "payments: busy: a request is waiting for the ledger (the gateway sends one at a time)"); return; }
  if (len < <u32>(P.HEADER_BYTES + P.MESSAGE_BYTES)) { refuse(token, P.REFUSED_MALFORMED, "payments: request shorter than its header and message"); return; }
  const framing = linesFramingError(r, len, <u8>P.SOURCE_PACS004, P.RETURN_BYTES, 80);
  if (framing !== null) { refuse(token, P.REFUSED_MALFORMED, framing); return; }
  const count = load<u32>(r + P.HEADER_COUNT);
  const m = r + P.HEADER_BYTES;
  assert(count >= 1 && count <= <u32>P.TX_MAX, "a framed count of returns");
  for (let t: u32 = 0; t < count; t++) {
    const x = m + P.MESSAGE_BYTES + <usize>t * P.RETURN_BYTES;
    if (load<u32>(x + 60) != 0 || (load<u64>(x + P.RETURN_AMOUNT) | load<u64>(x + P.RETURN_AMOUNT + 8)) == 0) {
      refuse(token, P.REFUSED_MALFORMED, "payments: a return's amount is zero or its reserved bytes are not");
      return;
    }
  }
  const admitted = beginLines(token, <u8>P.Op.returns, <u8>P.SOURCE_PACS004, m, count);
  if (admitted < 0) return;
  const repeated = admitted == 1;
  for (let t: u32 = 0; t < count; t++) {
    const x = m + P.MESSAGE_BYTES + <usize>t * P.RETURN_BYTES;
    const p = sentPayment(x + P.RETURN_UETR, x + P.RETURN_END_TO_END_ID);
    if (p == 0) { lineResult(t, P.STATUS_RJCT, P.REASON_NOOR, 0, 0, 0, 0); continue; }
    const state = load<u8>(p + P.PAY_STATE);
    // The same message again: the return it made (or why it made none) is read from the payment.
    if (state == <u8>P.STATE_RETURNED) {
      if (repeated) lineResult(t, P.STATUS_ACSC, 0, p, P.PAYMENT_RETURN_ID_HI, 0, 0);
      else lineResult(t, P.STATUS_RJCT, P.REASON_AM05, p, 0, 0, 0);
      continue;
    }
    let reason: u32 = 0;
    if (state != <u8>P.STATE_SETTLED) reason = P.REASON_NARR;
    else if (load<u32>(x + P.RETURN_LEDGER) != load<u32>(p + P.PAY_LEDGER)) reason = P.REASON_AM03;
    else if (u128Cmp(x + P.RETURN_AMOUNT, p + P.PAY_AMOUNT) > 0) reason = P.REASON_AM09;
    // The same message again moves nothing: a return it did not make (refused, or by the ledger) stays unmade.
    if (reason == 0 && repeated) reason = P.REASON_NARR;
    if (reason != 0) { lineResult(t, P.STATUS_RJCT, reason, p, 0, 0, 0); continue; }
    addWork(paymentNumber(p), t, ACT_RETURN, load<u32>(x + P.RETURN_REASON), x + P.RETURN_AMOUNT);
  }
  sendNextBatch();
}

/**
 * Handles a reconcile request (a camt.053 or camt.054 about our account at a
 * correspondent): each entry matched to a payment, or not. Changes nothing.
 */
export function reconcile(token: u32, r: usize, len: u32): void {
  if (flightBusy()) { refuse(token, P.REFUSED_BUSY, "payments: busy: a request is waiting for the ledger (the gateway sends one at a time)"); return; }
  if (len < <u32>(P.HEADER_BYTES + P.MESSAGE_BYTES)) { refuse(token, P.REFUSED_MALFORMED, "payments: request shorter than its header and message"); return; }
  const source = load<u8>(r + P.HEADER_SOURCE);
  if (source != <u8>P.SOURCE_CAMT053 && source != <u8>P.SOURCE_CAMT054) { refuse(token, P.REFUSED_MALFORMED, "payments: the source does not match the operation"); return; }
  const framing = linesFramingError(r, len, source, P.ENTRY_BYTES, 80);
  if (framing !== null) { refuse(token, P.REFUSED_MALFORMED, framing); return; }
  const count = load<u32>(r + P.HEADER_COUNT);
  const m = r + P.HEADER_BYTES;
  assert(count >= 1 && count <= <u32>P.TX_MAX, "a framed count of entries");
  header(count, 0);
  for (let t: u32 = 0; t < count; t++) {
    const x = m + P.MESSAGE_BYTES + <usize>t * P.ENTRY_BYTES;
    const o = replyArea() + P.REPLY_HEADER_BYTES + <usize>t * P.RESULT_BYTES;
    memory.fill(o, 0, P.RESULT_BYTES);
    let p = sentPayment(x + P.ENTRY_UETR, x + P.ENTRY_END_TO_END_ID);
    if (p == 0) p = receivedPayment(x + P.ENTRY_UETR, m + P.MESSAGE_AGENT, x + P.ENTRY_END_TO_END_ID);
    if (p == 0) { store<u32>(o + P.RESULT_STATUS, P.MATCH_UNMATCHED); continue; }
    const state = load<u8>(p + P.PAY_STATE);
    const same = load<u32>(x + P.ENTRY_LEDGER_OF) == load<u32>(p + P.PAY_LEDGER) && u128Cmp(x + P.ENTRY_AMOUNT, p + P.PAY_AMOUNT) == 0
      && (state == <u8>P.STATE_SETTLED || state == <u8>P.STATE_RETURNED);
    store<u32>(o + P.RESULT_STATUS, same ? P.MATCH_MATCHED : P.MATCH_DIFFERS);
    store<u64>(o + P.RESULT_PAYMENT, load<u64>(p + P.PAY_ID));
    memory.copy(o + P.RESULT_TRANSFER, p + P.PAY_TRANSFER, 16);
    store<u64>(o + P.RESULT_TIMESTAMP, load<u64>(p + P.PAY_TIMESTAMP));
  }
  reply(token, 0, replyArea(), <u32>P.REPLY_HEADER_BYTES + count * <u32>P.RESULT_BYTES);
}

/** A payment `agent` sent QENEX with the UETR at `uetr`, else the EndToEndId at `e2e` (any payment by UETR); 0 when none. */
function receivedPayment(uetr: usize, agent: usize, e2e: usize): usize {
  assert(load<u8>(agent) <= 11, "a BIC slot");
  const found = txKey(uetr, agent, e2e) ? txFind() : -1;
  return found < 0 ? 0 : paymentAt(<u32>found);
}

