// The requests: orders (the operations, in order), and the reads
// (instruments_get, book, order_get) answered from the books as they stand.

import { fixNoticeAnswer } from "./fixnotice";
import * as P from "../protocol";
import { nowNs } from "../../sdk/qenex";
import { instrumentCount, instruments, INSTRUMENTS_MAX } from "./config";
import { B_INSTRUMENT, bookFor, L_COUNT, L_PRICE, L_TOTAL, LEVEL_BYTES, O_INSTRUMENT, O_OUT_BYTES, orderFind, sideCount, sideLevels, slotAt } from "./book";
import { opBegin, opEvents } from "./match";
import { expireDays, expiryDue, opCancel, opMalformed, opMassCancel, opNew, opReplace, reserveRefused, resultOf } from "./ops";
import { releaseOp } from "./settle";
import { scopeAllows } from "./scope";
import { tradingEventsEmit } from "./events";
import { eventsAt, eventsBegin, eventsCount, eventsRoom, readRecords, readSend, refuse, replyRecords, replySend } from "./reply";

/**
 * Applies `count` operations at `recs` in order at logical time `now`: a
 * result each into the reply, then the events (the day's expiries first).
 * With settlement, each operation's reservation was asked before (flow.ts):
 * a refused one is answered RJ_FUNDS, and what a rejected one reserved goes
 * back. How many expired.
 */
export function applyOps(count: u32, recs: usize, now: u64): u32 {
  assert(count >= 1 && count <= <u32>P.OPS_PER_REQUEST, "a framed count");
  eventsBegin(count);
  // Orders of a day gone expire before anything trades; when more than half a reply's events expire, the operations
  // wait for the next request (answered RJ_BATCH_FULL) and the expiries go on there.
  const expired = expireDays(now, <u32>P.EVENTS_PER_REPLY / 2);
  const waiting = expiryDue(now);
  for (let i: u32 = 0; i < count; i++) {
    const op = recs + <usize>i * P.OP_BYTES;
    const r = replyRecords() + <usize>i * P.RESULT_BYTES;
    const kind = <u32>load<u8>(op + P.OP_KIND);
    const need: u32 = kind == <u32>P.OP_MASS_CANCEL ? <u32>P.MASS_CANCEL_MAX : <u32>P.FILLS_PER_ORDER_MAX;
    const malformed = opMalformed(op);
    if (waiting || eventsRoom() < need) resultOf(r, op, P.ST_REJECTED, P.RJ_BATCH_FULL, 0);
    else if (malformed != 0) resultOf(r, op, P.ST_REJECTED, malformed, 0);
    else if (!opInScope(op)) resultOf(r, op, P.ST_REJECTED, P.RJ_FORBIDDEN, 0);
    else if (!reserveRefused(i, r, op)) {
      opBegin();
      if (kind == <u32>P.OP_NEW) opNew(op, r, now, i);
      else if (kind == <u32>P.OP_CANCEL) opCancel(op, r);
      else if (kind == <u32>P.OP_REPLACE) opReplace(op, r, now, i);
      else opMassCancel(op, r);
      store<u32>(r + P.RES_EVENTS, opEvents);
    }
    // What a refused new order or replace reserved goes back (nothing when it had no reservation, or the ledger refused it).
    if (load<u8>(r + P.RES_STATUS) == <u8>P.ST_REJECTED) releaseRejected(i, op);
  }
  return expired;
}

/** Whether the request's scope allows the operation's instrument (a mass cancel of every instrument: always; it cancels only the allowed). */
function opInScope(op: usize): bool {
  const id = load<u32>(op + P.OP_INSTRUMENT);
  if (id == 0) return true;
  const b = bookFor(id);
  assert(b == 0 || load<usize>(b + B_INSTRUMENT) != 0, "a book's instrument");
  return b == 0 || scopeAllows(load<usize>(b + B_INSTRUMENT)); // an unknown instrument is rejected as such
}

function releaseRejected(i: u32, op: usize): void {
  const b = bookFor(load<u32>(op + P.OP_INSTRUMENT));
  assert(i < <u32>P.OPS_PER_REQUEST, "an operation of the request");
  if (b != 0) releaseOp(i, load<usize>(b + B_INSTRUMENT));
}

/** Answers an orders request applied: its `count` results and the events. */
export function ordersAnswer(token: u32, count: u32, expired: u32): void {
  const events = eventsCount();
  assert(expired <= events, "the expiries are events of the reply");
  tradingEventsEmit(eventsAt(), events);
  fixNoticeAnswer(token, eventsAt(), events);
  replySend(token, count, events, expired, count * <u32>P.RESULT_BYTES + events * <u32>P.EVENT_BYTES);
}

/** orders without settlement: applied and answered at once. */
export function orders(token: u32, count: u32, recs: usize): void {
  assert(count >= 1, "operations");
  const expired = applyOps(count, recs, nowNs());
  ordersAnswer(token, count, expired);
}

export function instrumentsGet(token: u32): void {
  assert(instrumentCount <= INSTRUMENTS_MAX, "the instruments fit the reply");
  memory.copy(readRecords(), instruments, <usize>instrumentCount * P.INSTRUMENT_BYTES);
  readSend(token, instrumentCount, 0, instrumentCount * <u32>P.INSTRUMENT_BYTES);
}

/** book: the best `depth` levels of each side, bids then asks, best first; +8 the bid levels. */
export function book(token: u32, q: usize): void {
  assert(q != 0, "a query");
  const b = bookFor(load<u32>(q + P.BQ_INSTRUMENT));
  const depth = load<u32>(q + P.BQ_DEPTH);
  if (b == 0) { refuse(token, "trading: no such instrument"); return; }
  if (depth == 0 || depth > <u32>P.DEPTH_MAX || load<u64>(q + 8) != 0) { refuse(token, "trading: a depth of 1..DEPTH_MAX, reserved bytes zero"); return; }
  let n: u32 = 0;
  let bids: u32 = 0;
  for (let side: u32 = P.SIDE_BUY; side <= <u32>P.SIDE_SELL; side++) {
    const levels = sideLevels(b, side);
    const count = sideCount(b, side);
    for (let k: u32 = 0; k < depth && k < count; k++) {
      const l = levels + <usize>(count - 1 - k) * LEVEL_BYTES;
      const out = readRecords() + <usize>n * P.LEVEL_OUT_BYTES;
      memory.fill(out, 0, P.LEVEL_OUT_BYTES);
      store<u64>(out + P.LO_PRICE, load<u64>(l + L_PRICE));
      store<u64>(out + P.LO_QTY, load<u64>(l + L_TOTAL));
      store<u32>(out + P.LO_ORDERS, load<u32>(l + L_COUNT));
      n++;
    }
    if (side == P.SIDE_BUY) bids = n;
  }
  readSend(token, n, bids, n * <u32>P.LEVEL_OUT_BYTES);
}

/** order_get: the live orders of the ids asked, in the order asked (ids not live are left out). */
export function orderGet(token: u32, count: u32, ids: usize): void {
  assert(count >= 1 && count <= <u32>P.LOOKUPS_MAX, "a framed count");
  let n: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const ref = orderFind(load<u64>(ids + (<usize>i << 3)));
    if (ref == 0 || !scopeAllows(load<usize>(bookFor(load<u32>(slotAt(ref) + O_INSTRUMENT)) + B_INSTRUMENT))) continue;
    const out = readRecords() + <usize>n * P.ORDER_OUT_BYTES;
    memory.copy(out, slotAt(ref), O_OUT_BYTES);
    memory.fill(out + O_OUT_BYTES, 0, <u32>P.ORDER_OUT_BYTES - O_OUT_BYTES);
    n++;
  }
  readSend(token, n, 0, n * <u32>P.ORDER_OUT_BYTES);
}
