// hold_release (protocol.ts "holds"): the payments the compliance service
// held, released or rejected once their cases are closed. A held payment's
// transfer is pending: RELEASE posts it (a pain.001's stays pending, now
// awaiting its clearing's status), REJECT voids it. The gateway sends this
// after the compliance service closed the case (docs/compliance.md): the
// same outcome again (a retry after a crash between the two) is answered
// with the payment as it is; another outcome, a payment never held, or none
// at all is refused line by line (NARR, NOOR) and changes nothing.

import * as P from "../protocol";
import * as C from "../../compliance/protocol";
import { ACT_POST, ACT_VOID, NO_MESSAGE, addWork, begin, flightBusy, header, lineResult, paymentAt, paymentsRecorded, refuse, sendNextBatch } from "./payments";
import { paymentEvent } from "./events";

/** The reason a release record at `x` is malformed, or null. */
function releaseError(x: usize): string | null {
  assert(x != 0, "a release record");
  const outcome = load<u8>(x + P.RELEASE_OUTCOME);
  if (outcome != <u8>C.OUTCOME_RELEASE && outcome != <u8>C.OUTCOME_REJECT) return "payments: a release's outcome is not release or reject";
  if (load<u8>(x + 9) != 0 || load<u16>(x + 10) != 0) return "payments: a release's reserved bytes are not zero";
  const reason = load<u32>(x + P.RELEASE_REASON);
  if (outcome == <u8>C.OUTCOME_RELEASE && reason != 0) return "payments: a release gives no reason";
  for (let i: u32 = 0; i < 4 && reason != 0; i++) {
    const c = <u32>((reason >> (8 * i)) & 0xff);
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39))) return "payments: a rejection's reason is not four letters or digits";
  }
  return null;
}

/** The status a payment that was held shows once its case was decided. */
function statusOf(state: u8): u32 {
  assert(state != <u8>P.STATE_HELD && state != <u8>P.STATE_SUBMITTED, "a decided hold");
  return state == <u8>P.STATE_REJECTED ? P.STATUS_RJCT : state == <u8>P.STATE_PENDING ? P.STATUS_ACCP : P.STATUS_ACSC;
}

/** One line: payment `id` released or rejected (work for the ledger), or answered as it is. */
function releaseLine(t: u32, id: u64, outcome: u8, reason: u32): void {
  assert(outcome == <u8>C.OUTCOME_RELEASE || outcome == <u8>C.OUTCOME_REJECT, "a checked outcome");
  if (id == 0 || id > <u64>paymentsRecorded()) { lineResult(t, P.STATUS_RJCT, P.REASON_NOOR, 0, 0, 0, 0); return; }
  const n = <u32>(id - 1);
  const p = paymentAt(n);
  const state = load<u8>(p + P.PAY_STATE);
  if (state == <u8>P.STATE_HELD) {
    if (outcome == <u8>C.OUTCOME_REJECT) { addWork(n, t, ACT_VOID, reason != 0 ? reason : P.REASON_RR04); return; }
    if (load<u8>(p + P.PAY_SOURCE) != <u8>P.SOURCE_PAIN001) { addWork(n, t, ACT_POST, 0); return; }
    store<u8>(p + P.PAY_STATE, <u8>P.STATE_PENDING); // a pain.001 released: it waits for its clearing's status
    paymentEvent(p);
    lineResult(t, P.STATUS_ACCP, 0, p, 0, 0, 0);
    return;
  }
  const wasHeld = load<u8>(p + P.PAY_COMPLIANCE) == <u8>C.ACTION_HOLD;
  const rejected = state == <u8>P.STATE_REJECTED;
  if (wasHeld && rejected == (outcome == <u8>C.OUTCOME_REJECT)) { lineResult(t, statusOf(state), rejected ? load<u32>(p + P.PAY_REASON) : 0, p, 0, 0, 0); return; }
  lineResult(t, P.STATUS_RJCT, P.REASON_NARR, p, 0, 0, 0);
}

/** hold_release: `count` release records at `r` + HEADER_BYTES, each a line of the answer. */
export function holdRelease(token: u32, r: usize, len: u32): void {
  assert(len >= <u32>P.HEADER_BYTES, "a header to read");
  if (flightBusy()) { refuse(token, P.REFUSED_BUSY, "payments: busy: a request is waiting for the ledger (the gateway sends one at a time)"); return; }
  const count = load<u32>(r + P.HEADER_COUNT);
  if (count == 0 || count > <u32>P.GET_MAX || <u64>len != <u64>P.HEADER_BYTES + <u64>count * P.RELEASE_BYTES) {
    refuse(token, P.REFUSED_MALFORMED, "payments: hold_release length does not match its count");
    return;
  }
  for (let t: u32 = 0; t < count; t++) {
    const why = releaseError(r + P.HEADER_BYTES + <usize>t * P.RELEASE_BYTES);
    if (why !== null) { refuse(token, P.REFUSED_MALFORMED, why); return; }
  }
  begin(token, <u8>P.Op.hold_release, 0, 0, count, NO_MESSAGE);
  header(count, 0, 0);
  for (let t: u32 = 0; t < count; t++) {
    const x = r + P.HEADER_BYTES + <usize>t * P.RELEASE_BYTES;
    releaseLine(t, load<u64>(x + P.RELEASE_PAYMENT), load<u8>(x + P.RELEASE_OUTCOME), load<u32>(x + P.RELEASE_REASON));
  }
  sendNextBatch();
}
