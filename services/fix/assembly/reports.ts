// Execution reports (8) and order cancel rejects (9), written into an OUT
// item from an order-table entry (or, for an order that never entered the
// table, from what its message asked). ExecIDs count the service's reports
// from 1, replayed alike.

import * as P from "../protocol";
import { u128Add, u128DivU64, u128MulU64, u128SetU64 } from "../../sdk/money";
import { outBegin, outBytes, outSend, outText } from "./out";
import { entry, O_CLORD, O_CLORD_LENGTH, O_CUM, O_ID, O_INSTRUMENT, O_NOTIONAL, O_PRICE, O_QTY, O_SIDE, O_SLOT } from "./table";

const MT_EXECUTION_REPORT: u8 = 0x38; // 8
const MT_CANCEL_REJECT: u8 = 0x39; // 9
export const EXEC_NEW: u8 = 0x30; // 0
export const EXEC_CANCELED: u8 = 0x34; // 4
export const EXEC_REPLACED: u8 = 0x35; // 5
export const EXEC_REJECTED: u8 = 0x38; // 8
export const EXEC_EXPIRED: u8 = 0x43; // C
export const EXEC_TRADE: u8 = 0x46; // F
export const STATUS_NEW: u8 = 0x30;
export const STATUS_PARTIAL: u8 = 0x31;
export const STATUS_FILLED: u8 = 0x32;
export const STATUS_CANCELED: u8 = 0x34;
export const STATUS_REJECTED: u8 = 0x38;
export const STATUS_EXPIRED: u8 = 0x43;
let execIds: u64 = 0;
const scratch = memory.data(16, 8);

/** A fill of `qty` at `price` added to entry `i`'s CumQty and notional. */
export function entryFill(i: u32, price: u64, qty: u64): void {
  const e = entry(i);
  assert(qty > 0, "a fill");
  store<u64>(e + O_CUM, load<u64>(e + O_CUM) + qty);
  u128SetU64(scratch, price);
  u128MulU64(scratch, scratch, qty);
  u128Add(e + O_NOTIONAL, e + O_NOTIONAL, scratch);
}

/** The OrdStatus of an entry with `leaves` open: new, partially filled or filled. */
export function liveStatus(i: u32, leaves: u64): u8 {
  const cum = load<u64>(entry(i) + O_CUM);
  assert(cum <= load<u64>(entry(i) + O_QTY), "fills within the order");
  return leaves == 0 ? STATUS_FILLED : cum == 0 ? STATUS_NEW : STATUS_PARTIAL;
}

/** An ExecutionReport of entry `i` (to its session): `execType`, `status`, `leaves`; the last fill when lastQty > 0. */
export function reportEntry(i: u32, execType: u8, status: u8, leaves: u64, lastQty: u64, lastPx: u64, now: u64): usize {
  const e = entry(i);
  const o = outBegin(<u32>load<u16>(e + O_SLOT), MT_EXECUTION_REPORT);
  assert(o != 0, "an item");
  execIds++;
  const b = o + P.OUT_BODY;
  store<u64>(b + P.EXEC_ORDER, load<u64>(e + O_ID));
  store<u64>(b + P.EXEC_ID, execIds);
  store<u8>(b + P.EXEC_TYPE, execType);
  store<u8>(b + P.EXEC_STATUS, status);
  store<u8>(b + P.EXEC_SIDE, load<u8>(e + O_SIDE));
  store<u32>(b + P.EXEC_INSTRUMENT, load<u32>(e + O_INSTRUMENT));
  store<u64>(b + P.EXEC_PRICE, load<u64>(e + O_PRICE));
  store<u64>(b + P.EXEC_QTY, load<u64>(e + O_QTY));
  store<u64>(b + P.EXEC_LEAVES, leaves);
  const cum = load<u64>(e + O_CUM);
  store<u64>(b + P.EXEC_CUM, cum);
  store<u64>(b + P.EXEC_LAST_QTY, lastQty);
  store<u64>(b + P.EXEC_LAST_PX, lastPx);
  if (cum > 0) {
    memory.copy(scratch, e + O_NOTIONAL, 16);
    u128DivU64(scratch, scratch, cum);
    store<u64>(b + P.EXEC_AVG_PX, load<u64>(scratch));
  }
  outBytes(P.OUT_ID, P.OUT_ID_LENGTH, e + O_CLORD, <u32>load<u8>(e + O_CLORD_LENGTH), P.ID_MAX);
  return o;
}

/** Sends the item reportEntry (or reportRefused) began, with OrigClOrdID (p, n) when n > 0 and a Text when not "". */
export function reportSend(origP: usize, origN: u32, text: string, now: u64): void {
  assert(origN <= <u32>P.ID_MAX, "an id");
  if (origN > 0) outBytes(P.OUT_ID2, P.OUT_ID2_LENGTH, origP, origN, P.ID_MAX);
  if (text.length > 0) outText(text);
  outSend(now);
}

/**
 * Begins an ExecutionReport rejecting a NewOrderSingle that never rested (no
 * entry): what the order asked, OrderID the trading service's (0: "NONE");
 * reportSend sends it.
 */
export function reportRejected(slot: u32, orderId: u64, side: u8, instrument: u32, price: u64, qty: u64, clP: usize, clN: u32, reason: u8): usize {
  const o = outBegin(slot, MT_EXECUTION_REPORT);
  assert(clN <= <u32>P.ID_MAX, "a ClOrdID");
  execIds++;
  const b = o + P.OUT_BODY;
  store<u64>(b + P.EXEC_ORDER, orderId);
  store<u64>(b + P.EXEC_ID, execIds);
  store<u8>(b + P.EXEC_TYPE, EXEC_REJECTED);
  store<u8>(b + P.EXEC_STATUS, STATUS_REJECTED);
  store<u8>(b + P.EXEC_SIDE, side);
  store<u8>(b + P.EXEC_REJ_REASON, reason);
  store<u32>(b + P.EXEC_INSTRUMENT, instrument);
  store<u64>(b + P.EXEC_PRICE, price);
  store<u64>(b + P.EXEC_QTY, qty);
  outBytes(P.OUT_ID, P.OUT_ID_LENGTH, clP, clN, P.ID_MAX);
  return o;
}

/** Begins an OrderCancelReject (9): `responseTo` 1 (cancel) or 2 (replace), `reason` CxlRejReason, the order's status; reportSend sends it. */
export function cancelRejectBegin(slot: u32, orderId: u64, status: u8, responseTo: u8, reason: u32, clP: usize, clN: u32): usize {
  const o = outBegin(slot, MT_CANCEL_REJECT);
  assert(responseTo == 1 || responseTo == 2, "CxlRejResponseTo");
  store<u64>(o + P.OUT_BODY + P.EXEC_ORDER, orderId);
  store<u8>(o + P.OUT_BODY + P.EXEC_STATUS, status);
  store<u8>(o + P.OUT_C, responseTo);
  store<u32>(o + P.OUT_D, reason);
  outBytes(P.OUT_ID, P.OUT_ID_LENGTH, clP, clN, P.ID_MAX);
  return o;
}
