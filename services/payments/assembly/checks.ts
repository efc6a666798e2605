// Compliance checks (docs/compliance.md "Checks in the payment path"): with
// config "checks": true, every payment a credit transfers request would
// move goes to the compliance service (capability send:compliance) before
// the ledger: its amount, accounts, parties' names and countries and the
// debit account's owner, as a check record (services/compliance/protocol.ts).
// The service answers a decision each, in order:
//   ALLOW: the payment goes on as it would have;
//   HOLD: its transfer is made pending and the payment HELD until the case
//     is closed (hold_release, holds in payments.ts);
//   REFUSE: the payment is REJECTED and nothing moves, with the ISO reason of
//     the rule that decided (reasonOf).
// The decision and the alert it raised are kept in the payment record
// (PAY_COMPLIANCE, PAY_ALERT). When the compliance service refuses a check
// request or faults on it, its payments are REJECTED (NARR): no money moves
// unchecked.
//
// The check records are written while the request's transactions are
// recorded (the inbox they come from is overwritten by the next message) into
// one buffer of TX_MAX, and sent in batches of CHECKS_PER_REQUEST, each
// batch's header written over the tail of the batch before it (already sent).

import * as P from "../protocol";
import * as C from "../../compliance/protocol";
import { lookup, logText, send } from "../../sdk/qenex";
import { checksOn } from "./config";

// A transaction's party names go into check records whole: one slot size, the compliance protocol's.
// @ts-ignore: ERROR is AssemblyScript's compile-time error
if (P.TX_NAME_MAX != C.NORMALIZED_MAX) ERROR("services/payments/protocol.ts TX_NAME_MAX must be services/compliance/protocol.ts NORMALIZED_MAX");

let peer: i32 = -1;
let buffer: usize = 0; // HEADER_BYTES of room, then TX_MAX check records
let numbers: usize = 0; // u32 the payment number of each check record
let total: u32 = 0;
let next: u32 = 0; // the first record not yet answered
let out: u32 = 0; // records of the batch out (0: none)

export function checksInit(): void {
  assert(buffer == 0, "checksInit: once");
  if (!checksOn) return;
  peer = lookup(changetype<usize>(String.UTF8.encode("compliance")), 10);
  if (peer < 0) { logText("payments config: checks is true but the image has no compliance service"); unreachable(); }
  buffer = heap.alloc(<usize>C.HEADER_BYTES + <usize>P.TX_MAX * C.CHECK_BYTES);
  numbers = heap.alloc(<usize>P.TX_MAX << 2);
}

/** The compliance service's index (-1: checks are off). */
export function compliancePeer(): i32 {
  assert(peer < 0 || buffer != 0, "a peer has its buffers");
  return peer;
}

/** A new request's checks: none yet. */
export function checksBegin(): void {
  assert(out == 0, "no batch out");
  total = 0;
  next = 0;
}

function slotCopy(dst: usize, src: usize, max: u32): void {
  const len = <u32>load<u8>(src);
  assert(len <= max, "a checked slot");
  store<u8>(dst, <u8>len);
  memory.copy(dst + 1, src + 1, len);
}

/**
 * The check of payment number `n` (recorded from transaction `x`, SUBMITTED):
 * its debit and credit directory entries `debit`, `credit`, whether each is a
 * customer's (not an agent's settlement account).
 */
export function checkAdd(n: u32, p: usize, x: usize, debit: usize, debitCustomer: bool, creditCustomer: bool): void {
  if (buffer == 0) return;
  assert(total < <u32>P.TX_MAX && debit != 0, "room for the check of a resolved payment");
  store<u32>(numbers + (<usize>total << 2), n);
  const c = buffer + C.HEADER_BYTES + <usize>total * C.CHECK_BYTES;
  total++;
  memory.fill(c, 0, C.CHECK_BYTES);
  store<u64>(c + C.CHECK_PAYMENT, load<u64>(p + P.PAY_ID));
  store<u32>(c + C.CHECK_LEDGER, load<u32>(p + P.PAY_LEDGER));
  store<u8>(c + C.CHECK_SOURCE, load<u8>(p + P.PAY_SOURCE));
  store<u8>(c + C.CHECK_FLAGS, <u8>((debitCustomer ? C.CHECK_F_DEBIT_CUSTOMER : 0) | (creditCustomer ? C.CHECK_F_CREDIT_CUSTOMER : 0)));
  memory.copy(c + C.CHECK_AMOUNT, p + P.PAY_AMOUNT, 16);
  memory.copy(c + C.CHECK_DEBIT, p + P.PAY_DEBIT, 16);
  memory.copy(c + C.CHECK_CREDIT, p + P.PAY_CREDIT, 16);
  store<u16>(c + C.CHECK_DEBTOR_COUNTRY, load<u16>(x + P.TX_DEBTOR_COUNTRY));
  store<u16>(c + C.CHECK_CREDITOR_COUNTRY, load<u16>(x + P.TX_CREDITOR_COUNTRY));
  store<u8>(c + C.CHECK_DEBTOR_LENGTH, load<u8>(x + P.TX_DEBTOR_NAME_LENGTH));
  store<u8>(c + C.CHECK_CREDITOR_LENGTH, load<u8>(x + P.TX_CREDITOR_NAME_LENGTH));
  memory.copy(c + C.CHECK_DEBTOR_NAME, x + P.TX_DEBTOR_NAME, P.TX_NAME_MAX);
  memory.copy(c + C.CHECK_CREDITOR_NAME, x + P.TX_CREDITOR_NAME, P.TX_NAME_MAX);
  if (debitCustomer) slotCopy(c + C.CHECK_CUSTOMER, debit + P.ENTRY_NAME, C.CUSTOMER_MAX);
}

// checksSend's answers.
export const CHECKS_DONE: i32 = 0; // every check is answered (or there were none)
export const CHECKS_OUT: i32 = 1; // a batch is out: its answer comes as a reply
export const CHECKS_UNSENT: i32 = 2; // a batch could not be sent (no queue room): out, but no answer will come

/** Sends the next batch of checks. */
export function checksSend(): i32 {
  assert(out == 0 && next <= total, "no batch out");
  if (next == total) return CHECKS_DONE;
  const n = min(total - next, <u32>C.CHECKS_PER_REQUEST);
  const h = buffer + <usize>next * C.CHECK_BYTES; // the header room, or the tail of the batch answered before
  memory.fill(h, 0, C.HEADER_BYTES);
  store<u8>(h + C.HEADER_OP, <u8>C.Op.check);
  store<u32>(h + C.HEADER_COUNT, n);
  out = n;
  return send(<u32>peer, h, <u32>C.HEADER_BYTES + n * <u32>C.CHECK_BYTES) == 0 ? CHECKS_OUT : CHECKS_UNSENT;
}

/** The records of the batch out (0: none out). */
export function checksOut(): u32 {
  assert(out <= <u32>C.CHECKS_PER_REQUEST, "a batch at most");
  return out;
}

/** The ISO reason a refusal decided by rule `by` gives the payment. */
export function reasonOf(by: u32): u32 {
  assert(by != 0, "a refusal is decided by a rule");
  if (by == <u32>C.RULE_FRAUD) return P.REASON_FRAD;
  if (by == <u32>C.RULE_CAPACITY) return P.REASON_NARR; // the service could not keep its case: not a regulatory finding
  if (by == <u32>C.RULE_PAYMENT_MAX) return P.REASON_AM02;
  if ((by & <u32>C.RULES_LIMITS) != 0) return P.REASON_AM14;
  return P.REASON_RR04;
}

/** The number of the payment of record `i` of the batch out. */
export function checkedNumber(i: u32): u32 {
  assert(i < out, "a record of the batch out");
  return load<u32>(numbers + (<usize>(next + i) << 2));
}

/**
 * The records of the batch out the reply at `r` answers: n when it is the
 * batch's n decisions, 0 when the service refused it (the caller rejects its
 * payments). Either way the batch is no longer out once the caller calls
 * checksNext().
 */
export function checksAnswered(r: usize, len: u32): u32 {
  assert(out != 0, "a batch out");
  const refused = len < <u32>C.REPLY_HEADER_BYTES || (load<u32>(r + 4) & C.REPLY_F_REFUSED) != 0;
  if (refused || load<u32>(r) != out || <u64>len != <u64>C.REPLY_HEADER_BYTES + <u64>out * C.DECISION_BYTES) return 0;
  return out;
}

/** The batch out is dealt with: the next one may go. */
export function checksNext(): void {
  assert(out != 0 && next + out <= total, "a batch out");
  next += out;
  out = 0;
}
