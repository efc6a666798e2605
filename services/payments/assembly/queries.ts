// Reads of the payments table: by id (payment_get) and a filtered page in id
// order (payment_list). Nothing changes.

import * as P from "../protocol";
import { reply } from "../../sdk/qenex";
import { paymentAt, paymentsRecorded, refuse, replyArea } from "./payments";
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
