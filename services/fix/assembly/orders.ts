// The application: NewOrderSingle (D), OrderCancelRequest (F),
// OrderCancelReplaceRequest (G) and OrderMassCancelRequest (q) become the
// trading service's order operations (services/trading/protocol.ts), many
// messages of many sessions in one orders request; its answer becomes the
// ExecutionReports (8), OrderCancelRejects (9) and OrderMassCancelReports
// (r), to the session whose order it is: a NewOrderSingle is answered New,
// then a Trade per fill, then Canceled for what an IOC (or self-trade
// prevention) left; a resting order of a FIX session that another order
// of this request filled gets its Trade report too.
//
// A ClOrdID is its session's: a NewOrderSingle whose ClOrdID names a live
// order of the session is rejected (OrdRejReason 6, duplicate); a cancel or
// replace finds the order by OrigClOrdID, and an accepted one renames it to
// its own ClOrdID.

import * as P from "../protocol";
import * as T from "../../trading/protocol";
import { send } from "../../sdk/qenex";
import {
  findByClOrd, findById, entry, liveOrders, orderAdd, orderRemove, orderRename, O_ACCOUNT, O_CUM, O_ID, O_INSTRUMENT, O_LIVE, O_PRICE, O_QTY, O_SIDE, O_SLOT,
} from "./table";
import { ordersMax } from "./config";
import {
  cancelRejectBegin, entryFill, EXEC_CANCELED, EXEC_EXPIRED, EXEC_NEW, EXEC_REPLACED, EXEC_TRADE, liveStatus, reportEntry, reportRejected, reportSend,
  STATUS_CANCELED, STATUS_EXPIRED, STATUS_REJECTED,
} from "./reports";
import { outBegin, outBytes, outSend } from "./out";
import { marketTrade } from "./market";

const MT_D: u8 = 0x44;
const MT_F: u8 = 0x46;
const MT_G: u8 = 0x47;
const MT_Q: u8 = 0x71;
const MT_MASS_REPORT: u8 = 0x72; // r
// What each operation of the request in flight was asked by (CTX_BYTES each).
const CTX_BYTES: u32 = 128;
const C_SLOT: u32 = 0; // u16
const C_MSG: u32 = 2; // u8
const C_ID_LENGTH: u32 = 3;
const C_ID2_LENGTH: u32 = 4;
const C_MASS_TYPE: u32 = 5;
const C_ENTRY: u32 = 8; // i32: F, G: the order's entry
const C_ID: u32 = 16;
const C_ID2: u32 = 56;
const ctx = heap.alloc(<usize>T.OPS_PER_REQUEST * CTX_BYTES);
const request = heap.alloc(<usize>T.HEADER_BYTES + <usize>T.OPS_PER_REQUEST * T.OP_BYTES);
let count: u32 = 0;
let clientRefs: u64 = 0;
export let tradingPeer: i32 = -1;

/** The trading service's index (negative: none in the image; every order is then rejected). */
export function ordersInit(peer: i32): void {
  assert(count == 0, "ordersInit: before any order");
  tradingPeer = peer;
}

/** Operations gathered, not yet sent. */
export function ordersPending(): u32 {
  assert(count <= <u32>T.OPS_PER_REQUEST, "within a request");
  return count;
}

function opAt(i: u32): usize {
  assert(i < <u32>T.OPS_PER_REQUEST, "an operation");
  return request + T.HEADER_BYTES + <usize>i * T.OP_BYTES;
}

function ctxAt(i: u32): usize {
  assert(i < <u32>T.OPS_PER_REQUEST, "an operation");
  return ctx + <usize>i * CTX_BYTES;
}

const TEXTS: StaticArray<string> = [
  "", "unknown instrument", "invalid price", "invalid quantity", "price outside the band", "post-only order would trade",
  "time in force not allowed", "unknown order", "book full", "no liquidity", "fill or kill not filled", "quantity not above filled",
  "unsupported side, type or time in force", "busy: send again", "insufficient funds or position", "no reference price", "forbidden",
  "refused by pre-trade risk", "duplicate order",
];

function reasonText(rj: u8): string {
  assert(TEXTS.length == 19, "a text per RJ_*");
  return <i32>rj < TEXTS.length ? TEXTS[<i32>rj] : "rejected";
}

function ordRejReason(rj: u8): u8 {
  assert(<u32>rj < 64, "a trading RJ_* code");
  if (rj == <u8>T.RJ_INSTRUMENT) return 1;
  if (rj == <u8>T.RJ_RISK || rj == <u8>T.RJ_QTY) return 3;
  if (rj == <u8>T.RJ_DUPLICATE) return 6;
  if (rj == <u8>T.RJ_UNKNOWN_ORDER) return 5;
  return 99;
}

/** The input's ids into the operation's context. */
function remember(i: u32, slot: u32, rec: usize, entryIndex: i32): void {
  const c = ctxAt(i);
  assert(slot >= 1, "a session");
  store<u16>(c + C_SLOT, <u16>slot);
  store<u8>(c + C_MSG, load<u8>(rec + P.IN_MSG_TYPE));
  store<u8>(c + C_ID_LENGTH, load<u8>(rec + P.IN_ID_LENGTH));
  store<u8>(c + C_ID2_LENGTH, load<u8>(rec + P.IN_ID2_LENGTH));
  store<u8>(c + C_MASS_TYPE, load<u8>(rec + P.IN_BODY + P.ORD_MASS_TYPE));
  store<u8>(c + C_MASS_LAST, 0);
  store<i32>(c + C_ENTRY, entryIndex);
  memory.copy(c + C_ID, rec + P.IN_ID, P.ID_MAX);
  memory.copy(c + C_ID2, rec + P.IN_ID2, P.ID_MAX);
}

export const ORDER_TAKEN: u32 = 0;
const MT_MASS_MEMBER: u8 = 0x01; // a cancel a mass cancel made (its context, not a message)
const C_MASS_LAST: u32 = 6; // u8: the last cancel of its mass cancel: the report follows it
let massCancelled: u64 = 0;
export const ORDER_FLUSH_FIRST: u32 = 1; // send what is gathered, then offer the message again

/** An application order message (D, F, G, q) of `slot` in sequence: gathered as an operation, or answered now. */
export function orderIn(slot: u32, rec: usize, now: u64): u32 {
  const msg = load<u8>(rec + P.IN_MSG_TYPE);
  assert(msg == MT_D || msg == MT_F || msg == MT_G || msg == MT_Q, "an order message");
  if (load<u8>(rec + P.IN_VERDICT) == <u8>P.V_BAD_ORDER || tradingPeer < 0) { refuseNow(slot, rec, -1, now); return ORDER_TAKEN; }
  if (count == <u32>T.OPS_PER_REQUEST) return ORDER_FLUSH_FIRST;
  const body = rec + P.IN_BODY;
  const op = opAt(count);
  memory.fill(op, 0, T.OP_BYTES);
  let e: i32 = -1;
  if (msg == MT_D) {
    const why: i32 = findByClOrd(slot, rec + P.IN_ID, <u32>load<u8>(rec + P.IN_ID_LENGTH)) >= 0 ? -2 : liveOrders + count >= ordersMax ? -4 : 0;
    if (why != 0 && count > 0) return ORDER_FLUSH_FIRST; // answered now, after the gathered ones
    if (why != 0) { refuseNow(slot, rec, why, now); return ORDER_TAKEN; }
    store<u8>(op + T.OP_KIND, <u8>T.OP_NEW);
    store<u8>(op + T.OP_SIDE, load<u8>(body + P.ORD_SIDE));
    store<u8>(op + T.OP_TYPE, load<u8>(body + P.ORD_TYPE));
    store<u8>(op + T.OP_TIF, load<u8>(body + P.ORD_TIF));
    store<u8>(op + T.OP_FLAGS, load<u8>(body + P.ORD_FLAGS));
    store<u32>(op + T.OP_INSTRUMENT, load<u32>(body + P.ORD_INSTRUMENT));
    store<u64>(op + T.OP_PRICE, load<u64>(body + P.ORD_PRICE));
    store<u64>(op + T.OP_QTY, load<u64>(body + P.ORD_QTY));
    memory.copy(op + T.OP_ACCOUNT, body + P.ORD_ACCOUNT, 16);
    memory.copy(op + T.OP_ASSET_ACCOUNT, body + P.ORD_ASSET_ACCOUNT, 16);
    clientRefs++;
    store<u64>(op + T.OP_CLIENT_REF, clientRefs);
  } else if (msg == MT_Q) {
    return massIn(slot, rec, now);
  } else {
    e = findByClOrd(slot, rec + P.IN_ID2, <u32>load<u8>(rec + P.IN_ID2_LENGTH));
    if (e < 0 && count > 0) return ORDER_FLUSH_FIRST; // it may be an order of the gathered ones
    if (e < 0) { refuseNow(slot, rec, -1, now); return ORDER_TAKEN; }
    const x = entry(<u32>e);
    store<u8>(op + T.OP_KIND, <u8>(msg == MT_F ? T.OP_CANCEL : T.OP_REPLACE));
    store<u8>(op + T.OP_SIDE, load<u8>(x + O_SIDE)); // the trading service names a cancel's or replace's order with its side
    store<u32>(op + T.OP_INSTRUMENT, load<u32>(x + O_INSTRUMENT));
    store<u64>(op + T.OP_ORDER, load<u64>(x + O_ID));
    memory.copy(op + T.OP_ACCOUNT, x + O_ACCOUNT, 16);
    if (msg == MT_G) { store<u64>(op + T.OP_PRICE, load<u64>(body + P.ORD_PRICE)); store<u64>(op + T.OP_QTY, load<u64>(body + P.ORD_QTY)); }
  }
  remember(count, slot, rec, e);
  count++;
  return ORDER_TAKEN;
}

/**
 * Answers an order message without the trading service: `why` -1 an unknown
 * order (or the front end's text, or no trading service), -2 a duplicate
 * ClOrdID, -3 an unsupported mass cancel type, -4 the order table full.
 */
function refuseNow(slot: u32, rec: usize, why: i32, now: u64): void {
  const msg = load<u8>(rec + P.IN_MSG_TYPE);
  const body = rec + P.IN_BODY;
  const idN = <u32>load<u8>(rec + P.IN_ID_LENGTH);
  const frontText = <u32>load<u8>(rec + P.IN_TEXT_LENGTH) > 0;
  const text = tradingPeer < 0 ? "no trading service in this image" : why == -2 ? "duplicate ClOrdID" : why == -3 ? "unsupported MassCancelRequestType"
    : why == -4 ? "the FIX service's order table is full" : frontText ? "" : "unknown order";
  assert(why < 0, "a refusal");
  const cancelOrReplace = msg != MT_D && msg != MT_Q;
  if (msg == MT_D) {
    reportRejected(slot, 0, load<u8>(body + P.ORD_SIDE), load<u32>(body + P.ORD_INSTRUMENT), load<u64>(body + P.ORD_PRICE), load<u64>(body + P.ORD_QTY),
      rec + P.IN_ID, idN, why == -2 ? 6 : 99);
  } else if (msg == MT_Q) {
    const o = outBegin(slot, MT_MASS_REPORT);
    store<u8>(o + P.OUT_C, load<u8>(body + P.ORD_MASS_TYPE));
    store<u32>(o + P.OUT_D, 0); // MassCancelResponse 0: rejected
    outBytes(P.OUT_ID, P.OUT_ID_LENGTH, rec + P.IN_ID, idN, P.ID_MAX);
  } else {
    const reason: u32 = why == -1 && !frontText && tradingPeer >= 0 ? 1 : 99; // 1: unknown order
    cancelRejectBegin(slot, 0, STATUS_REJECTED, msg == MT_F ? 1 : 2, reason, rec + P.IN_ID, idN);
  }
  // The front end's own words when it gave some (reportSend keeps a Text already there when given "").
  if (frontText) outBytes(P.OUT_TEXT, P.OUT_TEXT_LENGTH, rec + P.IN_TEXT, <u32>load<u8>(rec + P.IN_TEXT_LENGTH), P.OUT_TEXT_MAX);
  reportSend(cancelOrReplace ? rec + P.IN_ID2 : 0, cancelOrReplace ? <u32>load<u8>(rec + P.IN_ID2_LENGTH) : 0, text, now);
}

/** Sends the operations gathered to the trading service; false when there were none (or it could not take them: answered as failed). */
export function ordersSend(now: u64): bool {
  assert(count <= <u32>T.OPS_PER_REQUEST, "within a request");
  if (count == 0) return false;
  memory.fill(request, 0, T.HEADER_BYTES);
  store<u8>(request + T.HEADER_OP, <u8>T.Op.orders);
  store<u32>(request + T.HEADER_COUNT, count);
  if (send(<u32>tradingPeer, request, <u32>T.HEADER_BYTES + count * <u32>T.OP_BYTES) < 0) { ordersFailed(now); return false; }
  return true;
}

/** The trading service failed the request (or could not take it): every operation refused, nothing applied. */
export function ordersFailed(now: u64): void {
  assert(count <= <u32>T.OPS_PER_REQUEST, "within a request");
  for (let i: u32 = 0; i < count; i++) failOne(i, now);
  count = 0;
}

function failOne(i: u32, now: u64): void {
  const c = ctxAt(i);
  const op = opAt(i);
  const slot = <u32>load<u16>(c + C_SLOT);
  const msg = load<u8>(c + C_MSG);
  assert(slot >= 1, "an operation of a session");
  const idN = <u32>load<u8>(c + C_ID_LENGTH);
  const id2N = <u32>load<u8>(c + C_ID2_LENGTH);
  if (msg == MT_D) {
    reportRejected(slot, 0, load<u8>(op + T.OP_SIDE), load<u32>(op + T.OP_INSTRUMENT), load<u64>(op + T.OP_PRICE), load<u64>(op + T.OP_QTY), c + C_ID, idN, 99);
    reportSend(0, 0, "trading service unavailable", now);
  } else if (msg == MT_MASS_MEMBER) {
    if (load<u8>(c + C_MASS_LAST) != 0) massReport(slot, c, 0, massCancelled, now); // MassCancelResponse 0: rejected
  } else {
    cancelRejectBegin(slot, load<u64>(op + T.OP_ORDER), STATUS_REJECTED, msg == MT_F ? 1 : 2, 99, c + C_ID, idN);
    reportSend(c + C_ID2, id2N, "trading service unavailable", now);
  }
}

function massReport(slot: u32, c: usize, response: u32, cancelled: u64, now: u64): void {
  const o = outBegin(slot, MT_MASS_REPORT);
  assert(response <= 7, "a MassCancelResponse");
  store<u32>(o + P.OUT_A, <u32>min<u64>(cancelled, 0xffffffff));
  store<u8>(o + P.OUT_C, load<u8>(c + C_MASS_TYPE));
  store<u32>(o + P.OUT_D, response);
  outBytes(P.OUT_ID, P.OUT_ID_LENGTH, c + C_ID, <u32>load<u8>(c + C_ID_LENGTH), P.ID_MAX);
  outSend(now);
}

/** The trading service answered the orders request in flight: every operation's reports, in order. */
export function ordersReplied(r: usize, len: u32, now: u64): void {
  const n = len >= <u32>T.REPLY_HEADER_BYTES ? load<u32>(r) : 0;
  if (len < <u32>T.REPLY_HEADER_BYTES || (load<u32>(r + 4) & <u32>T.REPLY_F_REFUSED) != 0 || n != count) { ordersFailed(now); return; }
  const events = load<u32>(r + 8);
  const expired = load<u32>(r + 12);
  if (<u64>len < <u64>T.REPLY_HEADER_BYTES + <u64>n * T.RESULT_BYTES + <u64>events * T.EVENT_BYTES || expired > events) { ordersFailed(now); return; }
  const results = r + T.REPLY_HEADER_BYTES;
  let ev = results + <usize>n * T.RESULT_BYTES;
  for (let k: u32 = 0; k < expired; k++) { restingEvent(ev, now); ev += T.EVENT_BYTES; }
  let left = events - expired;
  for (let i: u32 = 0; i < n; i++) {
    const res = results + <usize>i * T.RESULT_BYTES;
    const own = min(load<u32>(res + T.RES_EVENTS), left);
    operationDone(i, res, ev, own, now);
    ev += <usize>own * T.EVENT_BYTES;
    left -= own;
  }
  count = 0;
}

/** An event that touches a resting order only (an expiry, a cancel by another's operation): its session told. */
function restingEvent(ev: usize, now: u64): void {
  const kind = load<u8>(ev + T.EV_KIND);
  assert(ev != 0, "an event");
  if (kind == <u8>T.EV_KIND_TRADE) { tradeEvent(ev, 0, now); return; }
  const e = findById(load<u64>(ev + T.EV_MAKER));
  if (e < 0) return;
  reportEntry(<u32>e, kind == <u8>T.EV_KIND_EXPIRE ? EXEC_EXPIRED : EXEC_CANCELED, kind == <u8>T.EV_KIND_EXPIRE ? STATUS_EXPIRED : STATUS_CANCELED, 0, 0, 0, now);
  reportSend(0, 0, "", now);
  orderRemove(<u32>e);
}

/** A trade: the resting order's report (if a FIX session's), and the taker's unless it is `takerEntry`'s caller's to report. */
function tradeEvent(ev: usize, reportTaker: i32, now: u64): void {
  const price = load<u64>(ev + T.EV_PRICE);
  const qty = load<u64>(ev + T.EV_QTY);
  assert(load<u8>(ev + T.EV_KIND) == <u8>T.EV_KIND_TRADE, "a trade");
  marketTrade(ev, now);
  const m = findById(load<u64>(ev + T.EV_MAKER));
  if (m >= 0) fillReport(<u32>m, price, qty, load<u64>(ev + T.EV_MAKER_LEAVES), now);
  if (reportTaker == 0) return;
  const t = findById(load<u64>(ev + T.EV_TAKER));
  if (t >= 0) fillReport(<u32>t, price, qty, load<u64>(ev + T.EV_TAKER_LEAVES), now);
}

function fillReport(i: u32, price: u64, qty: u64, leaves: u64, now: u64): void {
  assert(qty > 0, "a fill");
  entryFill(i, price, qty);
  reportEntry(i, EXEC_TRADE, liveStatus(i, leaves), leaves, qty, price, now);
  reportSend(0, 0, "", now);
  if (leaves == 0) orderRemove(i);
}

function eventsOf(ev: usize, n: u32, now: u64): void {
  assert(n <= <u32>T.EVENTS_PER_REPLY, "a reply's events");
  for (let k: u32 = 0; k < n; k++) {
    const p = ev + <usize>k * T.EVENT_BYTES;
    if (load<u8>(p + T.EV_KIND) == <u8>T.EV_KIND_TRADE) tradeEvent(p, 1, now);
    else restingEvent(p, now);
  }
}

/** Whether entry `e` is still the live order `id` (an earlier operation may have filled or cancelled it). */
function stillLive(e: i32, id: u64): bool {
  assert(id != 0 || e < 0, "an order");
  return e >= 0 && findById(id) == e;
}

/** The order's end that its own operation caused (an IOC's rest, self-trade prevention, an expiry): reported, removed. */
function ended(e: i32, id: u64, status: u8, now: u64): void {
  assert(e >= -1, "an entry or none");
  if (!stillLive(e, id)) return;
  if (status != <u8>T.ST_CANCELLED && status != <u8>T.ST_EXPIRED) return;
  const expired = status == <u8>T.ST_EXPIRED;
  reportEntry(<u32>e, expired ? EXEC_EXPIRED : EXEC_CANCELED, expired ? STATUS_EXPIRED : STATUS_CANCELED, 0, 0, 0, now);
  reportSend(0, 0, "", now);
  orderRemove(<u32>e);
}

/** Operation i's result `res` and its `n` events at `ev`: its session's reports. */
function operationDone(i: u32, res: usize, ev: usize, n: u32, now: u64): void {
  const c = ctxAt(i);
  const op = opAt(i);
  const slot = <u32>load<u16>(c + C_SLOT);
  const msg = load<u8>(c + C_MSG);
  const status = load<u8>(res + T.RES_STATUS);
  const reason = load<u8>(res + T.RES_REASON);
  const id = load<u64>(res + T.RES_ORDER);
  assert(slot >= 1, "an operation of a session");
  if (msg == MT_D) { newDone(slot, c, op, res, ev, n, now); return; }
  if (msg == MT_MASS_MEMBER) { eventsOf(ev, n, now); massMemberDone(i, res, now); return; }
  const e = load<i32>(c + C_ENTRY);
  const orderId = load<u64>(op + T.OP_ORDER);
  const idN = <u32>load<u8>(c + C_ID_LENGTH);
  const id2N = <u32>load<u8>(c + C_ID2_LENGTH);
  if (status == <u8>T.ST_REJECTED || !stillLive(e, orderId)) {
    const st = stillLive(e, orderId) ? liveStatus(<u32>e, load<u64>(entry(<u32>e) + O_QTY) - load<u64>(entry(<u32>e) + O_CUM)) : STATUS_REJECTED;
    cancelRejectBegin(slot, orderId, st, msg == MT_F ? 1 : 2, reason == <u8>T.RJ_UNKNOWN_ORDER ? 1 : 99, c + C_ID, idN);
    reportSend(c + C_ID2, id2N, reasonText(reason), now);
    eventsOf(ev, n, now);
    return;
  }
  const x = entry(<u32>e);
  if (msg == MT_F) {
    eventsOf(ev, n, now);
    if (!stillLive(e, orderId)) return;
    orderRename(<u32>e, c + C_ID, idN);
    reportEntry(<u32>e, EXEC_CANCELED, STATUS_CANCELED, 0, 0, 0, now);
    reportSend(c + C_ID2, id2N, "", now);
    orderRemove(<u32>e);
    return;
  }
  store<u64>(x + O_PRICE, load<u64>(op + T.OP_PRICE));
  store<u64>(x + O_QTY, load<u64>(res + T.RES_QTY));
  orderRename(<u32>e, c + C_ID, idN);
  const leaves = load<u64>(res + T.RES_LEAVES);
  reportEntry(<u32>e, EXEC_REPLACED, liveStatus(<u32>e, leaves), leaves, 0, 0, now);
  reportSend(c + C_ID2, id2N, "", now);
  eventsOf(ev, n, now);
  ended(e, orderId, status, now);
}

function newDone(slot: u32, c: usize, op: usize, res: usize, ev: usize, n: u32, now: u64): void {
  const status = load<u8>(res + T.RES_STATUS);
  const id = load<u64>(res + T.RES_ORDER);
  const idN = <u32>load<u8>(c + C_ID_LENGTH);
  assert(slot >= 1, "a session");
  if (status == <u8>T.ST_REJECTED || id == 0) {
    const reason = load<u8>(res + T.RES_REASON);
    reportRejected(slot, id, load<u8>(op + T.OP_SIDE), load<u32>(op + T.OP_INSTRUMENT), load<u64>(op + T.OP_PRICE), load<u64>(op + T.OP_QTY),
      c + C_ID, idN, ordRejReason(reason));
    reportSend(0, 0, reasonText(reason), now);
    return;
  }
  const e = orderAdd(id, slot, c + C_ID, idN);
  assert(e >= 0, "room kept for every gathered order (orderIn)");
  const x = entry(<u32>e);
  store<u8>(x + O_SIDE, load<u8>(op + T.OP_SIDE));
  store<u32>(x + O_INSTRUMENT, load<u32>(op + T.OP_INSTRUMENT));
  store<u64>(x + O_PRICE, load<u64>(op + T.OP_PRICE));
  store<u64>(x + O_QTY, load<u64>(res + T.RES_QTY));
  memory.copy(x + O_ACCOUNT, op + T.OP_ACCOUNT, 16);
  reportEntry(<u32>e, EXEC_NEW, 0x30, load<u64>(res + T.RES_QTY), 0, 0, now);
  reportSend(0, 0, "", now);
  eventsOf(ev, n, now);
  ended(e, id, status, now);
}

/** The trading service's notice (fix_reports): the events of another's orders request, reported to the sessions whose orders they touch. */
export function ordersNotice(events: usize, len: u32, now: u64): void {
  assert(events != 0, "the inbox");
  const n = len / <u32>T.EVENT_BYTES;
  for (let k: u32 = 0; k < n; k++) restingEvent(events + <usize>k * T.EVENT_BYTES, now);
}

/**
 * An OrderMassCancelRequest (q): a cancel of each of the session's live orders
 * (of the instrument, for type 1) gathered, the report (r) after the last.
 * FIX 4.4's q names no account: it is the session's orders the service knows.
 */
function massIn(slot: u32, rec: usize, now: u64): u32 {
  const body = rec + P.IN_BODY;
  const type = load<u8>(body + P.ORD_MASS_TYPE);
  const instrument = load<u32>(body + P.ORD_INSTRUMENT);
  assert(slot >= 1, "a session");
  if (count > 0) return ORDER_FLUSH_FIRST; // a mass cancel goes alone: after what was gathered, its report after its cancels
  if (type != 1 && type != 7) { refuseNow(slot, rec, -3, now); return ORDER_TAKEN; }
  for (let i: u32 = 0; i < ordersMax && count < <u32>T.OPS_PER_REQUEST; i++) {
    const x = entry(i);
    if (load<u8>(x + O_LIVE) == 0 || <u32>load<u16>(x + O_SLOT) != slot || (type == 1 && load<u32>(x + O_INSTRUMENT) != instrument)) continue;
    const op = opAt(count);
    memory.fill(op, 0, T.OP_BYTES);
    store<u8>(op + T.OP_KIND, <u8>T.OP_CANCEL);
    store<u8>(op + T.OP_SIDE, load<u8>(x + O_SIDE));
    store<u32>(op + T.OP_INSTRUMENT, load<u32>(x + O_INSTRUMENT));
    store<u64>(op + T.OP_ORDER, load<u64>(x + O_ID));
    memory.copy(op + T.OP_ACCOUNT, x + O_ACCOUNT, 16);
    remember(count, slot, rec, <i32>i);
    store<u8>(ctxAt(count) + C_MSG, MT_MASS_MEMBER);
    count++;
  }
  massCancelled = 0;
  if (count == 0) { massReport(slot, ctxOf(slot, rec), <u32>type, 0, now); return ORDER_TAKEN; }
  store<u8>(ctxAt(count - 1) + C_MASS_LAST, 1);
  return ORDER_TAKEN;
}

/** The context of an input answered without an operation (a mass cancel of no orders): written in the spare slot after the last. */
function ctxOf(slot: u32, rec: usize): usize {
  assert(count == 0, "no operation gathered");
  remember(0, slot, rec, -1);
  return ctxAt(0);
}

/** A cancel of a mass cancel answered: its order's report, and after the last, the mass cancel's. */
function massMemberDone(i: u32, res: usize, now: u64): void {
  const c = ctxAt(i);
  const e = load<i32>(c + C_ENTRY);
  const id = load<u64>(opAt(i) + T.OP_ORDER);
  assert(load<u8>(c + C_MSG) == MT_MASS_MEMBER, "a mass cancel's cancel");
  if (load<u8>(res + T.RES_STATUS) == <u8>T.ST_CANCELLED && stillLive(e, id)) {
    reportEntry(<u32>e, EXEC_CANCELED, STATUS_CANCELED, 0, 0, 0, now);
    reportSend(0, 0, "", now);
    orderRemove(<u32>e);
    massCancelled++;
  }
  if (load<u8>(c + C_MASS_LAST) != 0) massReport(<u32>load<u16>(c + C_SLOT), c, <u32>load<u8>(c + C_MASS_TYPE), massCancelled, now);
}
