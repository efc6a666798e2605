// Matching: an incoming order (the taker) against the resting orders of the
// other side, best price first and, at one price, oldest first; each trade
// at the resting order's price. Self-trade prevention acts when the taker
// meets a resting order of its own account. Every trade, and every resting
// order cancelled by it, is an event of the operation (reply.ts).

import * as P from "../protocol";
import { eventAdd } from "./reply";
import { releaseLeaves, settleTrade } from "./settle";
import { pretradeOn } from "./config";
import { positionsTrade } from "./positions";
import {
  B_LAST, L_HEAD, L_TOTAL, L_PRICE, LEVEL_BYTES, O_ACCOUNT, O_DAY_NEXT, O_DAY_PREV, O_FILLED, O_ID, O_INSTRUMENT, O_LEAVES, O_NEXT, O_PRICE,
  levelReduce, O_SIDE, O_STP, O_TIF, orderUnindex, sideCount, sideLevels, slotAt, slotFree, unlink,
} from "./book";

/** Why matching stopped with the taker still open. */
export const STOP_NONE: u32 = 0; // no more to trade at its price (or filled)
export const STOP_STP: u32 = 1; // self-trade prevention cancels the taker
export const STOP_FILLS: u32 = 2; // FILLS_PER_ORDER_MAX events in this operation

let trades: u64 = 0; // trade ids given so far
/** Events of the operation being applied (trades and cancels of resting orders). */
export let opEvents: u32 = 0;
// The DAY orders resting, oldest first (slot refs).
export let dayHead: u32 = 0;
let dayTail: u32 = 0;

export function opBegin(): void {
  assert(opEvents <= <u32>P.MASS_CANCEL_MAX, "the last operation's events were bounded");
  opEvents = 0;
}

@inline function sameAccount(a: usize, b: usize): bool {
  return load<u64>(a + O_ACCOUNT) == load<u64>(b + O_ACCOUNT) && load<u64>(a + O_ACCOUNT + 8) == load<u64>(b + O_ACCOUNT + 8);
}

/** Links DAY order `ref` (resting) at the end of the DAY list. */
export function dayLink(ref: u32): void {
  const o = slotAt(ref);
  assert(load<u8>(o + O_TIF) == <u8>P.TIF_DAY, "a DAY order");
  store<u32>(o + O_DAY_PREV, dayTail);
  store<u32>(o + O_DAY_NEXT, 0);
  if (dayTail != 0) store<u32>(slotAt(dayTail) + O_DAY_NEXT, ref);
  else dayHead = ref;
  dayTail = ref;
}

export function dayUnlink(ref: u32): void {
  const o = slotAt(ref);
  assert(load<u8>(o + O_TIF) == <u8>P.TIF_DAY, "a DAY order");
  const prev = load<u32>(o + O_DAY_PREV);
  const next = load<u32>(o + O_DAY_NEXT);
  if (prev != 0) store<u32>(slotAt(prev) + O_DAY_NEXT, next);
  else dayHead = next;
  if (next != 0) store<u32>(slotAt(next) + O_DAY_PREV, prev);
  else dayTail = prev;
}

/** Ends order `ref`, indexed but in no level (a replace taken out): off the DAY list, unindexed, its slot freed. */
export function retireOut(ref: u32): void {
  const o = slotAt(ref);
  assert(load<u64>(o + O_ID) != 0, "an order that was given its id");
  if (load<u8>(o + O_TIF) == <u8>P.TIF_DAY) dayUnlink(ref);
  orderUnindex(load<u64>(o + O_ID));
  slotFree(ref);
}

/** Takes resting order `ref` out of book `b` (level `l`) for good: unlinked, unindexed, its slot freed. */
export function retire(b: usize, l: usize, ref: u32): void {
  assert(b != 0 && l != 0, "a book and the level of the order");
  const o = slotAt(ref);
  unlink(b, <u32>load<u8>(o + O_SIDE), l, ref);
  if (load<u8>(o + O_TIF) == <u8>P.TIF_DAY) dayUnlink(ref);
  orderUnindex(load<u64>(o + O_ID));
  slotFree(ref);
}

/** An event about resting order `m` cancelled or expired (`kind`), with what was open. */
export function restingEvent(kind: u32, m: usize): void {
  assert(kind == P.EV_KIND_CANCEL || kind == P.EV_KIND_EXPIRE, "a cancel or an expiry");
  const e = eventAdd(kind);
  store<u32>(e + P.EV_INSTRUMENT, load<u32>(m + O_INSTRUMENT));
  store<u64>(e + P.EV_MAKER, load<u64>(m + O_ID));
  store<u64>(e + P.EV_PRICE, load<u64>(m + O_PRICE));
  store<u64>(e + P.EV_QTY, load<u64>(m + O_LEAVES));
  opEvents++;
  releaseLeaves(m, load<u64>(m + O_LEAVES));
}

function tradeEvent(t: usize, m: usize, price: u64, qty: u64): void {
  assert(qty != 0 && t != m, "a trade of something between two orders");
  const e = eventAdd(P.EV_KIND_TRADE);
  trades++;
  store<u8>(e + P.EV_TAKER_SIDE, load<u8>(t + O_SIDE));
  store<u32>(e + P.EV_INSTRUMENT, load<u32>(t + O_INSTRUMENT));
  store<u64>(e + P.EV_TRADE, trades);
  store<u64>(e + P.EV_TAKER, load<u64>(t + O_ID));
  store<u64>(e + P.EV_MAKER, load<u64>(m + O_ID));
  store<u64>(e + P.EV_PRICE, price);
  store<u64>(e + P.EV_QTY, qty);
  store<u64>(e + P.EV_MAKER_LEAVES, load<u64>(m + O_LEAVES));
  store<u64>(e + P.EV_TAKER_LEAVES, load<u64>(t + O_LEAVES));
  opEvents++;
  settleTrade(t, m, price, qty, trades);
  if (pretradeOn) {
    const takerBuys = load<u8>(t + O_SIDE) == <u8>P.SIDE_BUY;
    positionsTrade((takerBuys ? t : m) + O_ACCOUNT, (takerBuys ? m : t) + O_ACCOUNT, load<u32>(t + O_INSTRUMENT), qty);
  }
}

/** Whether a taker on `side` at `limit` may trade at `price`. */
@inline function acceptable(side: u32, price: u64, limit: u64): bool { return side == P.SIDE_BUY ? price <= limit : price >= limit; }

/** Whether book `b`'s best price on the side opposite `side` is one an order at `limit` on `side` would trade at. */
export function crosses(b: usize, side: u32, limit: u64): bool {
  assert(side == P.SIDE_BUY || side == P.SIDE_SELL, "a side");
  const other = side == P.SIDE_BUY ? P.SIDE_SELL : P.SIDE_BUY;
  const n = sideCount(b, other);
  if (n == 0) return false;
  return acceptable(side, load<u64>(sideLevels(b, other) + <usize>(n - 1) * LEVEL_BYTES + L_PRICE), limit);
}

/**
 * Whether taker `t` (leaves set) could fill whole at `limit` now, without
 * trading: the same walk the match makes, self-trade prevention and the
 * bound on events included, counting instead of trading.
 */
export function fillable(b: usize, t: usize, limit: u64): bool {
  assert(load<u64>(t + O_LEAVES) != 0, "a taker with something to fill");
  const side = <u32>load<u8>(t + O_SIDE);
  const other = side == P.SIDE_BUY ? P.SIDE_SELL : P.SIDE_BUY;
  const levels = sideLevels(b, other);
  const stp = <u32>load<u8>(t + O_STP);
  let need = load<u64>(t + O_LEAVES);
  let events: u32 = 0;
  for (let i = <i32>sideCount(b, other) - 1; i >= 0; i--) {
    const l = levels + <usize>i * LEVEL_BYTES;
    if (!acceptable(side, load<u64>(l + L_PRICE), limit)) return false;
    for (let ref = load<u32>(l + L_HEAD); ref != 0; ref = load<u32>(slotAt(ref) + O_NEXT)) {
      if (events == <u32>P.FILLS_PER_ORDER_MAX) return false;
      const m = slotAt(ref);
      events++;
      if (sameAccount(t, m)) {
        if (stp != P.STP_CANCEL_MAKER) return false;
        continue;
      }
      const leaves = load<u64>(m + O_LEAVES);
      if (leaves >= need) return true;
      need -= leaves;
    }
  }
  return false;
}

/**
 * Trades taker `t` (not resting; leaves set) against book `b` while it has
 * leaves and the best opposite price is within `limit`. Why it stopped.
 */
export function match(b: usize, t: usize, limit: u64): u32 {
  assert(b != 0 && load<u64>(t + O_LEAVES) != 0, "a taker with something to trade");
  const side = <u32>load<u8>(t + O_SIDE);
  const other = side == P.SIDE_BUY ? P.SIDE_SELL : P.SIDE_BUY;
  const stp = <u32>load<u8>(t + O_STP);
  while (load<u64>(t + O_LEAVES) != 0) {
    const n = sideCount(b, other);
    if (n == 0) return STOP_NONE;
    const l = sideLevels(b, other) + <usize>(n - 1) * LEVEL_BYTES;
    const price = load<u64>(l + L_PRICE);
    if (!acceptable(side, price, limit)) return STOP_NONE;
    // The level may go (its last order filled or cancelled): read the next ref before each removal.
    let ref = load<u32>(l + L_HEAD);
    while (ref != 0 && load<u64>(t + O_LEAVES) != 0) {
      if (opEvents >= <u32>P.FILLS_PER_ORDER_MAX) return STOP_FILLS;
      const m = slotAt(ref);
      const next = load<u32>(m + O_NEXT);
      if (sameAccount(t, m)) {
        if (stp != P.STP_CANCEL_TAKER) { restingEvent(P.EV_KIND_CANCEL, m); retire(b, l, ref); }
        if (stp != P.STP_CANCEL_MAKER) return STOP_STP;
        ref = next;
        continue;
      }
      const leaves = load<u64>(m + O_LEAVES);
      assert(leaves != 0, "a resting order has leaves");
      const taker = load<u64>(t + O_LEAVES);
      const q = leaves < taker ? leaves : taker;
      store<u64>(m + O_LEAVES, leaves - q);
      store<u64>(m + O_FILLED, load<u64>(m + O_FILLED) + q);
      store<u64>(t + O_LEAVES, taker - q);
      store<u64>(t + O_FILLED, load<u64>(t + O_FILLED) + q);
      levelReduce(b, <u32>load<u8>(m + O_SIDE), l, q);
      store<u64>(b + B_LAST, price);
      tradeEvent(t, m, price, q);
      if (leaves == q) retire(b, l, ref);
      ref = next;
    }
  }
  return STOP_NONE;
}
