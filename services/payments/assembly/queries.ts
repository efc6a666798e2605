// Reads of the payments table: by id (payment_get), a filtered page in id
// order (payment_list), a payment with the messages about it
// (payment_messages). Nothing changes.

import * as P from "../protocol";
import { reply } from "../../sdk/qenex";
import { messageInfo, paymentAt, paymentsRecorded, refuse, replyArea, resultAsAnswered } from "./payments";
import { scopeAllows } from "./scope";

/** payment_get: `count` u64 ids at `ids` → the records (zeros for an unknown id). */
export function paymentGet(token: u32, ids: usize, count: u32): void {
  assert(count <= <u32>P.GET_MAX, "a framed count");
  store<u32>(replyArea(), count);
  store<u32>(replyArea() + 4, 0);
  store<u64>(replyArea() + 8, 0);
  for (let k: u32 = 0; k < count; k++) {
    const id = load<u64>(ids + (<usize>k << 3));
    const o = replyArea() + P.REPLY_HEADER_BYTES + <usize>k * P.PAYMENT_BYTES;
    if (id == 0 || id > <u64>paymentsRecorded() || !scopeAllows(load<u32>(paymentAt(<u32>(id - 1)) + P.PAY_LEDGER))) memory.fill(o, 0, P.PAYMENT_BYTES);
    else memory.copy(o, paymentAt(<u32>(id - 1)), P.PAYMENT_BYTES);
  }
  reply(token, 0, replyArea(), <u32>P.REPLY_HEADER_BYTES + count * <u32>P.PAYMENT_BYTES);
}

/** payment_list: the payments after a given id that match the filter at `f`, in id order, at most LIST_SCAN_MAX looked at. */
export function paymentList(token: u32, f: usize): void {
  const after = load<u64>(f + P.LIST_AFTER);
  const limit = load<u32>(f + P.LIST_LIMIT);
  const state = load<u8>(f + P.LIST_STATE);
  const source = load<u8>(f + P.LIST_SOURCE);
  const ledger = load<u32>(f + P.LIST_LEDGER);
  let reserved = load<u16>(f + 14) != 0;
  for (let i: u32 = 20; i < <u32>P.LIST_FILTER_BYTES; i++) reserved = reserved || load<u8>(f + i) != 0;
  if (limit == 0 || limit > <u32>P.GET_MAX || reserved || state > <u8>P.STATE_SUBMITTED || source > <u8>P.SOURCE_CAMT054) {
    refuse(token, P.REFUSED_MALFORMED, "payments: a list filter out of range");
    return;
  }
  let n: u32 = 0;
  let last = after;
  const end = <u64>paymentsRecorded();
  const stop = after + <u64>P.LIST_SCAN_MAX < end ? after + <u64>P.LIST_SCAN_MAX : end;
  for (let id = after + 1; id <= stop && n < limit; id++) {
    last = id;
    const p = paymentAt(<u32>(id - 1));
    if (state != 0 && load<u8>(p + P.PAY_STATE) != state) continue;
    if (source != 0 && load<u8>(p + P.PAY_SOURCE) != source) continue;
    if (ledger != 0 && load<u32>(p + P.PAY_LEDGER) != ledger) continue;
    if (!scopeAllows(load<u32>(p + P.PAY_LEDGER))) continue;
    memory.copy(replyArea() + P.REPLY_HEADER_BYTES + <usize>n * P.PAYMENT_BYTES, p, P.PAYMENT_BYTES);
    n++;
  }
  assert(n <= limit && last <= end, "a page within its limit and the payments");
  store<u32>(replyArea(), n);
  store<u32>(replyArea() + 4, 0);
  store<u64>(replyArea() + P.REPLY_LAST, last);
  reply(token, 0, replyArea(), <u32>P.REPLY_HEADER_BYTES + n * <u32>P.PAYMENT_BYTES);
}

/**
 * payment_messages: payment `id`'s record, the messages about it (the one it
 * came in, the status report and the return that changed it) and its first
 * message's answer, result by result as first answered. Count 0: no such
 * payment in the read's scope.
 */
export function paymentMessages(token: u32, id: u64): void {
  const out = replyArea();
  memory.fill(out, 0, P.REPLY_HEADER_BYTES);
  if (id == 0 || id > <u64>paymentsRecorded() || !scopeAllows(load<u32>(paymentAt(<u32>(id - 1)) + P.PAY_LEDGER))) {
    reply(token, 0, out, <u32>P.REPLY_HEADER_BYTES);
    return;
  }
  const p = paymentAt(<u32>(id - 1));
  memory.copy(out + P.REPLY_HEADER_BYTES, p, P.PAYMENT_BYTES);
  let o = out + P.REPLY_HEADER_BYTES + P.PAYMENT_BYTES;
  const origin = load<u32>(p + P.PAY_MESSAGE);
  messageInfo(origin, <u8>P.MSG_ROLE_ORIGIN, o);
  const transactions = load<u32>(o + P.INFO_COUNT);
  const first = load<u64>(o + P.INFO_FIRST);
  let n: u32 = 1;
  o += P.MESSAGE_INFO_BYTES;
  const status = load<u32>(p + P.PAY_STATUS_MESSAGE);
  if (status != 0) { messageInfo(status - 1, <u8>P.MSG_ROLE_STATUS, o); o += P.MESSAGE_INFO_BYTES; n++; }
  const returned = load<u32>(p + P.PAY_RETURN_MESSAGE);
  if (returned != 0) { messageInfo(returned - 1, <u8>P.MSG_ROLE_RETURN, o); o += P.MESSAGE_INFO_BYTES; n++; }
  assert(first >= 1 && first - 1 + <u64>transactions <= <u64>paymentsRecorded() && transactions <= <u32>P.TX_MAX, "a credit transfer message's payments");
  for (let t: u32 = 0; t < transactions; t++) resultAsAnswered(paymentAt(<u32>(first - 1) + t), o + <usize>t * P.RESULT_BYTES);
  assert(n <= <u32>P.PAYMENT_MESSAGES_MAX && o == out + P.REPLY_HEADER_BYTES + P.PAYMENT_BYTES + <usize>n * P.MESSAGE_INFO_BYTES, "the messages read fill their records");
  store<u32>(out, n);
  reply(token, 0, out, <u32>(o - out) + transactions * <u32>P.RESULT_BYTES);
}
