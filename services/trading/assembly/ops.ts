// The order operations (protocol.ts "order operation"), each applied in the
// request's order and answered with a result: new (limit or market; GTC,
// IOC, FOK, DAY; post-only), cancel, cancel/replace and mass cancel.
//
// A replace that lowers the quantity at the same price keeps the order's
// place in time; any other change (a new price, more quantity) takes it out
// and enters it again at the back, where it may trade like a new order. A
// FOK order is first walked without trading (match.ts fillable): it trades
// whole or not at all. A market order trades what it can at once (IOC or
// FOK); nothing rests without a price.

import * as P from "../protocol";
import { nowNs } from "../../sdk/qenex";
import { instrumentCount } from "./config";
import {
  B_INSTRUMENT, B_LAST, bookAt, bookFor, bookIndexOf, L_HEAD, L_TOTAL, LEVEL_BYTES, levelOf, O_ACCOUNT, O_CLIENT_REF, O_DAY, O_ENTERED, O_FILLED,
  O_FLAGS, O_ID, O_INSTRUMENT, O_LEAVES, O_NEXT, O_PRICE, O_QTY, O_SIDE, O_STP, O_TIF, O_RESERVE_PRICE, O_ASSET_ACCOUNT, orderFind, orderIndex, rest, sideCount, sideLevels, slotAt,
  levelReduce, slotFree, slotTake, unlink,
} from "./book";
import { crosses, dayHead, dayLink, fillable, match, restingEvent, retire, retireOut, STOP_NONE } from "./match";
import { settlementOn } from "./config";
import {
  OPR_PRICE, OPR_RESULT, OPR_STATE, opReserve, releaseLeaves, replaceFunds, reserveFor, reserveNone, reserveOf, RISK_UNCHECKED, riskOf, RS_FAILED,
} from "./settle";
import { u128Cmp, u128SetU64, u128Sub } from "../../sdk/money";
import { scopeAllows } from "./scope";
import { refFind, refRemember } from "./refs";

export const DAY_NS: u64 = 86400 * 1000000000;
let nextOrder: u64 = 0; // order ids given so far

/** The result at `r` of the operation at `op`: what the order is after it. */
export function resultOf(r: usize, op: usize, status: u32, reason: u32, o: usize): void {
  memory.fill(r, 0, P.RESULT_BYTES);
  store<u8>(r + P.RES_STATUS, <u8>status);
  store<u8>(r + P.RES_REASON, <u8>reason);
  store<u64>(r + P.RES_CLIENT_REF, load<u64>(op + P.OP_CLIENT_REF));
  if (o == 0) return;
  assert(status != P.ST_REJECTED || reason == P.RJ_POST_ONLY || reason == P.RJ_REPLACE_QTY || reason == P.RJ_PRICE || reason == P.RJ_QTY
    || reason == P.RJ_BAND || reason == P.RJ_FULL || reason == P.RJ_FUNDS, "a rejection that names its order: a replace's");
  store<u64>(r + P.RES_ORDER, load<u64>(o + O_ID));
  store<u64>(r + P.RES_LEAVES, load<u64>(o + O_LEAVES));
  store<u64>(r + P.RES_CUM, load<u64>(o + O_FILLED));
  store<u64>(r + P.RES_QTY, load<u64>(o + O_QTY));
}

/** The reason the operation's fields are malformed for its kind (RJ_MALFORMED), or 0. */
export function opMalformed(op: usize): u32 {
  assert(op != 0, "an operation");
  const kind = <u32>load<u8>(op + P.OP_KIND);
  if (kind < <u32>P.OP_NEW || kind > <u32>P.OP_MASS_CANCEL) return P.RJ_MALFORMED;
  const side = <u32>load<u8>(op + P.OP_SIDE);
  if (side > <u32>P.SIDE_SELL || (side == 0 && kind != <u32>P.OP_MASS_CANCEL)) return P.RJ_MALFORMED;
  if (load<u16>(op + 6) != 0 || load<u32>(op + 12) != 0) return P.RJ_MALFORMED;
  for (let i: u32 = P.OP_ASSET_ACCOUNT + 16; i < <u32>P.OP_BYTES; i += 8) if (load<u64>(op + i) != 0) return P.RJ_MALFORMED;
  if (kind != <u32>P.OP_NEW) return load<u64>(op + P.OP_ASSET_ACCOUNT) == 0 && load<u64>(op + P.OP_ASSET_ACCOUNT + 8) == 0 ? 0 : P.RJ_MALFORMED;
  const type = <u32>load<u8>(op + P.OP_TYPE);
  const tif = <u32>load<u8>(op + P.OP_TIF);
  if (type < <u32>P.TYPE_LIMIT || type > <u32>P.TYPE_MARKET || tif < <u32>P.TIF_GTC || tif > <u32>P.TIF_DAY) return P.RJ_MALFORMED;
  if ((<u32>load<u8>(op + P.OP_FLAGS) & ~(<u32>P.OF_KNOWN)) != 0 || <u32>load<u8>(op + P.OP_STP) > <u32>P.STP_MAX) return P.RJ_MALFORMED;
  return 0;
}

/** Whether last × band / 10000 (a band's width in price units) passes 2^64: every price is then within it. */
function bandOverflows(last: u64, band: u64): bool {
  assert(band != 0, "a band");
  return last / 10000 > u64.MAX_VALUE / band;
}

/** last × band / 10000, rounded down, computed without overflow (bandOverflows is false). */
function bandWidth(last: u64, band: u64): u64 {
  assert(!bandOverflows(last, band), "a width below 2^64");
  return (last / 10000) * band + ((last % 10000) * band) / 10000;
}

/** Whether `price` is within book `b`'s band around its last trade (no band, or no trade yet: any price). */
function inBand(b: usize, price: u64): bool {
  const band = <u64>load<u32>(load<usize>(b + B_INSTRUMENT) + P.INST_BAND);
  const last = load<u64>(b + B_LAST);
  if (band == 0 || last == 0 || bandOverflows(last, band)) return true;
  const diff = price > last ? price - last : last - price;
  return diff <= bandWidth(last, band);
}

/** The reason a limit price or a quantity is refused for book `b`, or 0. */
function priceQtyReason(b: usize, price: u64, qty: u64): u32 {
  assert(b != 0, "a book");
  const inst = load<usize>(b + B_INSTRUMENT);
  if (price == 0 || price % load<u64>(inst + P.INST_TICK) != 0) return P.RJ_PRICE;
  if (qty == 0 || qty % load<u64>(inst + P.INST_LOT) != 0 || qty > load<u64>(inst + P.INST_QTY_MAX)) return P.RJ_QTY;
  return inBand(b, price) ? 0 : P.RJ_BAND;
}

/** Rests taker `ref` (book `b`) after matching, or ends it: the status it is answered with. */
function settleTaker(b: usize, ref: u32, stop: u32, now: u64): u32 {
  assert(stop <= 2, "a reason matching stopped");
  const o = slotAt(ref);
  const leaves = load<u64>(o + O_LEAVES);
  assert(load<u64>(o + O_FILLED) + leaves == load<u64>(o + O_QTY), "filled and open make the order");
  if (leaves == 0) { slotFree(ref); return P.ST_FILLED; }
  const tif = <u32>load<u8>(o + O_TIF);
  const restable = (tif == <u32>P.TIF_GTC || tif == <u32>P.TIF_DAY) && stop == STOP_NONE && load<u64>(o + O_PRICE) != 0;
  if (!restable || !rest(b, ref)) {
    // An IOC remainder, a taker stopped by self-trade prevention or the fills bound, or no level left for it: cancelled.
    releaseLeaves(o, leaves);
    store<u64>(o + O_LEAVES, 0);
    slotFree(ref);
    return P.ST_CANCELLED;
  }
  orderIndex(load<u64>(o + O_ID), ref);
  if (tif == <u32>P.TIF_DAY) { store<u64>(o + O_DAY, now / DAY_NS); dayLink(ref); }
  return load<u64>(o + O_FILLED) == 0 ? P.ST_NEW : P.ST_PARTIAL;
}

/** A new order: checked, matched, rested or ended. */
export function opNew(op: usize, r: usize, now: u64, i: u32): void {
  assert(load<u8>(op + P.OP_KIND) == <u8>P.OP_NEW, "a new order");
  const clientRef = load<u64>(op + P.OP_CLIENT_REF);
  const first = clientRef == 0 ? 0 : refFind(op + P.OP_ACCOUNT, clientRef);
  if (first != 0) {
    resultOf(r, op, P.ST_REJECTED, P.RJ_DUPLICATE, 0);
    store<u64>(r + P.RES_ORDER, first);
    return;
  }
  const b = bookFor(load<u32>(op + P.OP_INSTRUMENT));
  if (b == 0) { resultOf(r, op, P.ST_REJECTED, P.RJ_INSTRUMENT, 0); return; }
  const side = <u32>load<u8>(op + P.OP_SIDE);
  const market = load<u8>(op + P.OP_TYPE) == <u8>P.TYPE_MARKET;
  const tif = <u32>load<u8>(op + P.OP_TIF);
  const postOnly = (load<u8>(op + P.OP_FLAGS) & <u8>P.OF_POST_ONLY) != 0;
  const price = load<u64>(op + P.OP_PRICE);
  const qty = load<u64>(op + P.OP_QTY);
  let why: u32 = market ? (price != 0 || postOnly ? P.RJ_PRICE : 0) : priceQtyReason(b, price, qty);
  if (why == 0 && market) {
    const inst = load<usize>(b + B_INSTRUMENT);
    if (qty == 0 || qty % load<u64>(inst + P.INST_LOT) != 0 || qty > load<u64>(inst + P.INST_QTY_MAX)) why = P.RJ_QTY;
    else if (tif != <u32>P.TIF_IOC && tif != <u32>P.TIF_FOK) why = P.RJ_TIF;
  }
  // With settlement a market buy trades up to the band's top it reserved at (0: it had no reference price).
  const protection: u64 = settlementOn && market && side == P.SIDE_BUY ? load<u64>(opReserve(i) + OPR_PRICE) : u64.MAX_VALUE;
  if (why == 0 && protection == 0) why = P.RJ_NO_REFERENCE;
  const limit: u64 = market ? (side == P.SIDE_BUY ? protection : 0) : price;
  if (why == 0 && postOnly && crosses(b, side, limit)) why = P.RJ_POST_ONLY;
  if (why == 0 && market && !crosses(b, side, limit)) why = P.RJ_NO_LIQUIDITY;
  if (why != 0) { resultOf(r, op, P.ST_REJECTED, why, 0); return; }
  const ref = slotTake();
  if (ref == 0) { resultOf(r, op, P.ST_REJECTED, P.RJ_FULL, 0); return; }
  const o = slotAt(ref);
  store<u64>(o + O_PRICE, price);
  store<u64>(o + O_LEAVES, qty);
  store<u64>(o + O_QTY, qty);
  store<u64>(o + O_CLIENT_REF, load<u64>(op + P.OP_CLIENT_REF));
  store<u32>(o + O_INSTRUMENT, load<u32>(op + P.OP_INSTRUMENT));
  store<u8>(o + O_SIDE, <u8>side);
  store<u8>(o + O_TIF, <u8>tif);
  store<u8>(o + O_FLAGS, load<u8>(op + P.OP_FLAGS));
  store<u8>(o + O_STP, load<u8>(op + P.OP_STP));
  store<u64>(o + O_ENTERED, now);
  memory.copy(o + O_ACCOUNT, op + P.OP_ACCOUNT, 16);
  memory.copy(o + O_ASSET_ACCOUNT, op + P.OP_ASSET_ACCOUNT, 16);
  store<u64>(o + O_RESERVE_PRICE, side == P.SIDE_BUY ? limit : 0);
  if (tif == <u32>P.TIF_FOK && !fillable(b, o, limit)) {
    slotFree(ref);
    resultOf(r, op, P.ST_REJECTED, P.RJ_FOK, 0);
    return;
  }
  nextOrder++;
  store<u64>(o + O_ID, nextOrder);
  if (clientRef != 0) refRemember(op + P.OP_ACCOUNT, clientRef, nextOrder);
  const stop = match(b, o, limit);
  const status = settleTaker(b, ref, stop, now);
  resultOf(r, op, status, 0, o);
}

/** The live order the operation names, when it is its account's; else 0. */
export function ownOrder(op: usize): u32 {
  const ref = orderFind(load<u64>(op + P.OP_ORDER));
  if (ref == 0) return 0;
  const o = slotAt(ref);
  assert(load<u64>(o + O_LEAVES) != 0, "a live order has leaves");
  const same = load<u64>(o + O_ACCOUNT) == load<u64>(op + P.OP_ACCOUNT) && load<u64>(o + O_ACCOUNT + 8) == load<u64>(op + P.OP_ACCOUNT + 8);
  return same && load<u32>(o + O_INSTRUMENT) == load<u32>(op + P.OP_INSTRUMENT) && load<u8>(o + O_SIDE) == load<u8>(op + P.OP_SIDE) ? ref : 0;
}

export function opCancel(op: usize, r: usize): void {
  const ref = ownOrder(op);
  if (ref == 0) { resultOf(r, op, P.ST_REJECTED, P.RJ_UNKNOWN_ORDER, 0); return; }
  const o = slotAt(ref);
  const b = bookFor(load<u32>(o + O_INSTRUMENT));
  assert(b != 0, "a live order's book");
  releaseLeaves(o, load<u64>(o + O_LEAVES));
  retire(b, levelOf(b, <u32>load<u8>(o + O_SIDE), load<u64>(o + O_PRICE)), ref);
  // The slot is free but not yet reused: its fields answer the cancel.
  store<u64>(o + O_LEAVES, 0);
  resultOf(r, op, P.ST_CANCELLED, 0, o);
  assert(load<u64>(r + P.RES_ORDER) != 0, "the cancelled order named");
}

/** A cancel/replace: the same price and less open keeps the order's place; anything else enters it again at the back. */
export function opReplace(op: usize, r: usize, now: u64, i: u32): void {
  assert(load<u8>(op + P.OP_KIND) == <u8>P.OP_REPLACE, "a replace");
  const ref = ownOrder(op);
  if (ref == 0) { resultOf(r, op, P.ST_REJECTED, P.RJ_UNKNOWN_ORDER, 0); return; }
  const o = slotAt(ref);
  const b = bookFor(load<u32>(o + O_INSTRUMENT));
  const side = <u32>load<u8>(o + O_SIDE);
  const price = load<u64>(op + P.OP_PRICE);
  const qty = load<u64>(op + P.OP_QTY);
  let why = priceQtyReason(b, price, qty);
  if (why == P.RJ_BAND && price == load<u64>(o + O_PRICE)) why = 0; // the band is for new prices: less at the same price is always allowed
  if (why == 0 && qty <= load<u64>(o + O_FILLED)) why = P.RJ_REPLACE_QTY;
  const leaves = qty - load<u64>(o + O_FILLED);
  const keeps = price == load<u64>(o + O_PRICE) && leaves <= load<u64>(o + O_LEAVES);
  if (why == 0 && !keeps && (load<u8>(o + O_FLAGS) & <u8>P.OF_POST_ONLY) != 0 && crosses(b, side, price)) why = P.RJ_POST_ONLY;
  if (why == 0 && settlementOn) {
    // What the order will hold against what it holds and this operation reserved (the rest is released).
    const inst = load<usize>(b + B_INSTRUMENT);
    if (!replaceFunds(i, o, inst, side == P.SIDE_BUY ? price : 0, load<u64>(o + O_LEAVES), leaves)) why = P.RJ_FUNDS;
  }
  if (why != 0) { resultOf(r, op, P.ST_REJECTED, why, o); return; }
  const l = levelOf(b, side, load<u64>(o + O_PRICE));
  store<u64>(o + O_CLIENT_REF, load<u64>(op + P.OP_CLIENT_REF));
  if (keeps) {
    levelReduce(b, side, l, load<u64>(o + O_LEAVES) - leaves);
    store<u64>(o + O_LEAVES, leaves);
    store<u64>(o + O_QTY, qty);
    assert(load<u64>(o + O_FILLED) + leaves == qty, "filled and open make the order");
    resultOf(r, op, load<u64>(o + O_FILLED) == 0 ? P.ST_NEW : P.ST_PARTIAL, 0, o);
    return;
  }
  unlink(b, side, l, ref);
  store<u64>(o + O_PRICE, price);
  store<u64>(o + O_QTY, qty);
  store<u64>(o + O_LEAVES, leaves);
  store<u64>(o + O_ENTERED, now);
  const stop = match(b, o, price);
  let status: u32 = load<u64>(o + O_FILLED) == 0 ? P.ST_NEW : P.ST_PARTIAL;
  if (load<u64>(o + O_LEAVES) == 0) status = P.ST_FILLED;
  else if (stop != STOP_NONE || !rest(b, ref)) { releaseLeaves(o, load<u64>(o + O_LEAVES)); store<u64>(o + O_LEAVES, 0); status = P.ST_CANCELLED; }
  if (status == P.ST_FILLED || status == P.ST_CANCELLED) retireOut(ref);
  resultOf(r, op, status, 0, o);
}

/** Cancels the account's resting orders (of one instrument, or every one; one side, or both), at most MASS_CANCEL_MAX. */
export function opMassCancel(op: usize, r: usize): void {
  assert(load<u8>(op + P.OP_KIND) == <u8>P.OP_MASS_CANCEL, "a mass cancel");
  const instrument = load<u32>(op + P.OP_INSTRUMENT);
  const side = <u32>load<u8>(op + P.OP_SIDE);
  let cancelled: u64 = 0;
  const first: u32 = instrument == 0 ? 0 : bookIndexOf(instrument);
  const last: u32 = instrument == 0 ? instrumentCount : first + 1;
  if (instrument != 0 && first == u32.MAX_VALUE) { resultOf(r, op, P.ST_REJECTED, P.RJ_INSTRUMENT, 0); return; }
  for (let i = first; i < last && cancelled < <u64>P.MASS_CANCEL_MAX; i++) {
    if (!scopeAllows(load<usize>(bookAt(i) + B_INSTRUMENT))) continue;
    for (let s: u32 = P.SIDE_BUY; s <= <u32>P.SIDE_SELL; s++) {
      if (side == 0 || side == s) cancelled += cancelSide(bookAt(i), s, op + P.OP_ACCOUNT, <u64>P.MASS_CANCEL_MAX - cancelled);
    }
  }
  resultOf(r, op, P.ST_DONE, 0, 0);
  store<u64>(r + P.RES_LEAVES, cancelled);
}

/** Cancels up to `most` resting orders of the account at `account` on `side` of book `b`, best levels first; how many. */
function cancelSide(b: usize, side: u32, account: usize, most: u64): u64 {
  assert(most != 0, "room to cancel");
  let n: u64 = 0;
  // From the best level down: removing an emptied level moves only the levels after it, already done.
  for (let i = <i32>sideCount(b, side) - 1; i >= 0 && n < most; i--) {
    const l = sideLevels(b, side) + <usize>i * LEVEL_BYTES;
    let ref = load<u32>(l + L_HEAD);
    while (ref != 0 && n < most) {
      const o = slotAt(ref);
      const next = load<u32>(o + O_NEXT);
      if (load<u64>(o + O_ACCOUNT) == load<u64>(account) && load<u64>(o + O_ACCOUNT + 8) == load<u64>(account + 8)) {
        restingEvent(P.EV_KIND_CANCEL, o);
        retire(b, l, ref);
        n++;
      }
      ref = next;
    }
  }
  return n;
}

/** Expires the DAY orders of days before `now`'s, at most `most`; how many. */
export function expireDays(now: u64, most: u32): u32 {
  const today = now / DAY_NS;
  let n: u32 = 0;
  while (dayHead != 0 && n < most && load<u64>(slotAt(dayHead) + O_DAY) < today) {
    const ref = dayHead;
    const o = slotAt(ref);
    const b = bookFor(load<u32>(o + O_INSTRUMENT));
    assert(b != 0, "a live order's book");
    restingEvent(P.EV_KIND_EXPIRE, o);
    retire(b, levelOf(b, <u32>load<u8>(o + O_SIDE), load<u64>(o + O_PRICE)), ref);
    n++;
  }
  assert(n <= most, "at most the room given");
  return n;
}

/** Whether a DAY order of a day before `now`'s still rests. */
export function expiryDue(now: u64): bool {
  assert(now >= 0, "a logical time");
  return dayHead != 0 && load<u64>(slotAt(dayHead) + O_DAY) < now / DAY_NS;
}

/** Whether new order `op` repeats a client reference its account gave an order before (RJ_DUPLICATE at apply). */
export function isDuplicate(op: usize): bool {
  assert(load<u8>(op + P.OP_KIND) == <u8>P.OP_NEW, "a new order");
  const ref = load<u64>(op + P.OP_CLIENT_REF);
  return ref != 0 && refFind(op + P.OP_ACCOUNT, ref) != 0;
}

/** A market buy's band top from book `b`'s last trade, down to the tick: what it reserves at and trades up to (0: no band or no trade). */
export function bandTop(b: usize): u64 {
  const inst = load<usize>(b + B_INSTRUMENT);
  const band = <u64>load<u32>(inst + P.INST_BAND);
  const last = load<u64>(b + B_LAST);
  if (band == 0 || last == 0) return 0;
  if (bandOverflows(last, band)) return u64.MAX_VALUE - u64.MAX_VALUE % load<u64>(inst + P.INST_TICK);
  const top = last + bandWidth(last, band);
  assert(top >= last, "the band's top is over the last trade");
  return top - top % load<u64>(inst + P.INST_TICK);
}

/**
 * What operation `i` at `op` reserves before the request is applied
 * (settlement on): a new order its cash or quantity, a replace what it adds
 * over what its order holds now (settle.ts reserveFor). An operation the
 * apply will refuse by its own fields reserves nothing.
 */
export function planReserve(i: u32, op: usize): void {
  assert(i < <u32>P.OPS_PER_REQUEST, "an operation of the request");
  reserveNone(i);
  if (riskOf(i) != 0) return; // refused by the pre-trade check: nothing to reserve
  const kind = <u32>load<u8>(op + P.OP_KIND);
  if (opMalformed(op) != 0 || (kind != <u32>P.OP_NEW && kind != <u32>P.OP_REPLACE)) return;
  const b = bookFor(load<u32>(op + P.OP_INSTRUMENT));
  if (b == 0 || !scopeAllows(load<usize>(b + B_INSTRUMENT))) return;
  const inst = load<usize>(b + B_INSTRUMENT);
  const side = <u32>load<u8>(op + P.OP_SIDE);
  const qty = load<u64>(op + P.OP_QTY);
  if (qty == 0 || qty % load<u64>(inst + P.INST_LOT) != 0 || qty > load<u64>(inst + P.INST_QTY_MAX)) return;
  const scratch = memory.data(32, 16);
  if (kind == <u32>P.OP_NEW) {
    if (isDuplicate(op)) return; // refused at apply, naming its first order: nothing to reserve
    const market = load<u8>(op + P.OP_TYPE) == <u8>P.TYPE_MARKET;
    let price = load<u64>(op + P.OP_PRICE);
    if (market) price = side == P.SIDE_BUY ? bandTop(b) : 0;
    else if (price == 0 || price % load<u64>(inst + P.INST_TICK) != 0) return;
    if (market && side == P.SIDE_BUY && price == 0) return; // no reference price: refused at apply
    reserveOf(inst, side, price, qty, scratch);
    reserveFor(i, inst, side, op + P.OP_ACCOUNT, op + P.OP_ASSET_ACCOUNT, scratch, price);
    return;
  }
  const ref = ownOrder(op);
  const price = load<u64>(op + P.OP_PRICE);
  if (ref == 0 || price == 0 || price % load<u64>(inst + P.INST_TICK) != 0) return;
  const o = slotAt(ref);
  if (qty <= load<u64>(o + O_FILLED)) return;
  reserveOf(inst, side, price, qty - load<u64>(o + O_FILLED), scratch);
  reserveOf(inst, side, load<u64>(o + O_RESERVE_PRICE), load<u64>(o + O_LEAVES), scratch + 16);
  if (u128Cmp(scratch, scratch + 16) > 0) u128Sub(scratch, scratch, scratch + 16);
  else u128SetU64(scratch, 0);
  reserveFor(i, inst, side, o + O_ACCOUNT, o + O_ASSET_ACCOUNT, scratch, price);
}

/** Whether operation `i`'s reservation was refused by the ledger: its result then says why. */
export function reserveRefused(i: u32, r: usize, op: usize): bool {
  assert(r != 0 && op != 0, "a result and its operation");
  if (!settlementOn) return false;
  const risk = riskOf(i);
  if (risk != 0) {
    resultOf(r, op, P.ST_REJECTED, P.RJ_RISK, 0);
    store<u32>(r + P.RES_RISK_RULES, risk == RISK_UNCHECKED ? 0 : risk);
    return true;
  }
  const rs = opReserve(i);
  if (load<u8>(rs + OPR_STATE) != RS_FAILED) return false;
  resultOf(r, op, P.ST_REJECTED, P.RJ_FUNDS, 0);
  store<u16>(r + P.RES_LEDGER_RESULT, load<u16>(rs + OPR_RESULT));
  return true;
}
