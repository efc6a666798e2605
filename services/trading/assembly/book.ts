// The books: resting orders and their price levels, and the index from an
// order id to its slot. Everything is taken from the heap once, at init,
// from the config's sizes; nothing is allocated while a request is handled.
//
// An order lives in a slot of ORDER_SLOT_BYTES (its first 80 bytes are the
// protocol's ORDER_OUT layout, so order_get copies them out) from the time
// it rests until it is filled, cancelled or expired; free slots are a stack.
// A slot is named by its number + 1 (0: none) in links.
//
// Each side of a book is an array of levels sorted so that the best price is
// the last: bids by rising price, asks by falling price. Taking the best
// level, the common case, is reading the last; a new level is inserted at
// its place by binary search, moving the worse ones down by one. Each level
// holds its orders in time order as a doubly linked list (head: the oldest).
//
// The id index is open addressing with linear probing over 16-byte entries
// (u64 id, u32 slot + 1), at most half full, and deletes by shifting the
// entries after a removed one back (no tombstones), so probes stay short
// however many orders came and went.

import * as P from "../protocol";
import { INSTRUMENT_ID_MAX, instrumentCount, instruments, levelsMax, ordersMax } from "./config";

// ---- order slots ----
export const ORDER_SLOT_BYTES: u32 = 128;
export const O_ID: u32 = P.OO_ORDER;
export const O_PRICE: u32 = P.OO_PRICE;
export const O_LEAVES: u32 = P.OO_LEAVES;
export const O_FILLED: u32 = P.OO_FILLED;
export const O_CLIENT_REF: u32 = P.OO_CLIENT_REF;
export const O_INSTRUMENT: u32 = P.OO_INSTRUMENT;
export const O_SIDE: u32 = P.OO_SIDE;
export const O_TIF: u32 = P.OO_TIF;
export const O_FLAGS: u32 = P.OO_FLAGS;
export const O_STP: u32 = P.OO_STP;
export const O_QTY: u32 = P.OO_QTY;
export const O_ENTERED: u32 = P.OO_ENTERED;
export const O_ACCOUNT: u32 = P.OO_ACCOUNT;
export const O_NEXT: u32 = 80; // the next order of its level (newer), slot + 1
export const O_PREV: u32 = 84;
export const O_DAY_NEXT: u32 = 88; // the DAY orders' list
export const O_DAY_PREV: u32 = 92;
export const O_DAY: u32 = 96; // u64: the logical day it was entered (DAY orders)
export const O_RESERVE_PRICE: u32 = 104; // u64, settlement: a buy's price its cash is reserved at (its limit; a market buy's band top)
export const O_ASSET_ACCOUNT: u32 = 112; // u128, settlement: the trader's asset account
export const O_OUT_BYTES: u32 = 80; // the bytes that are ORDER_OUT's

// ---- levels ----
export const LEVEL_BYTES: u32 = 32;
export const L_PRICE: u32 = 0;
export const L_TOTAL: u32 = 8;
export const L_HEAD: u32 = 16;
export const L_TAIL: u32 = 20;
export const L_COUNT: u32 = 24;

// ---- books: one per instrument, in the config's order ----
//   +0 usize bids   +8 u32 bid levels   +16 usize asks   +24 u32 ask levels   +32 u64 last trade price (0: none)
//   +40 usize the instrument's record
export const BOOK_BYTES: u32 = 48;
export const B_BIDS: u32 = 0;
export const B_BID_COUNT: u32 = 8;
export const B_ASKS: u32 = 16;
export const B_ASK_COUNT: u32 = 24;
export const B_LAST: u32 = 32;
export const B_INSTRUMENT: u32 = 40;

export let slots: usize = 0;
let freeStack: usize = 0;
let freeCount: u32 = 0;
let books: usize = 0;
let bookOf: usize = 0; // u16 per instrument id: book index + 1 (0: none)
let index: usize = 0;
let indexMask: u32 = 0;
let indexShift: u32 = 0;
export let liveOrders: u32 = 0;
// The price levels the orders request being applied changed (book, side, price), for the depth on the event stream
// (events.ts); kept only with config "events" (depthInit), at most DEPTH_CHANGES_MAX a request.
const CHANGE_BYTES: u32 = 24;
let changes: usize = 0;
export let changeCount: u32 = 0;

export function depthInit(): void {
  assert(changes == 0, "depthInit: once");
  changes = heap.alloc(<usize>P.DEPTH_CHANGES_MAX * CHANGE_BYTES);
}

/** Level `price` of `side` in book `b` changed (a rest, a fill, a cancel, a replace). */
@inline function changed(b: usize, side: u32, price: u64): void {
  if (changes == 0 || changeCount == <u32>P.DEPTH_CHANGES_MAX) return;
  const c = changes + <usize>changeCount * CHANGE_BYTES;
  store<u64>(c, <u64>b);
  store<u64>(c + 8, <u64>side);
  store<u64>(c + 16, price);
  changeCount++;
}

/** The i-th level changed: its book, side and price. */
export function changeAt(i: u32): usize {
  assert(i < changeCount, "a change");
  return changes + <usize>i * CHANGE_BYTES;
}

/** The changes were reported: the next request starts with none. */
export function changesClear(): void {
  assert(changeCount <= <u32>P.DEPTH_CHANGES_MAX, "within the bound");
  changeCount = 0;
}

/** A level's open quantity went down by a fill or a replace (match.ts, ops.ts): its total and the change noted. */
export function levelReduce(b: usize, side: u32, l: usize, q: u64): void {
  assert(load<u64>(l + L_TOTAL) >= q, "a level holds what is taken from it");
  store<u64>(l + L_TOTAL, load<u64>(l + L_TOTAL) - q);
  changed(b, side, load<u64>(l + L_PRICE));
}

export function bookInit(): void {
  assert(slots == 0, "bookInit: once, after the config");
  slots = heap.alloc(<usize>ordersMax * ORDER_SLOT_BYTES);
  freeStack = heap.alloc(<usize>ordersMax * 4);
  for (let i: u32 = 0; i < ordersMax; i++) store<u32>(freeStack + (<usize>i << 2), ordersMax - 1 - i);
  freeCount = ordersMax;
  let n: u32 = 16;
  indexShift = 60;
  while (n < ordersMax * 2) { n <<= 1; indexShift--; }
  index = heap.alloc(<usize>n << 4);
  memory.fill(index, 0, <usize>n << 4);
  indexMask = n - 1;
  bookOf = heap.alloc(<usize>(INSTRUMENT_ID_MAX + 1) * 2);
  memory.fill(bookOf, 0, <usize>(INSTRUMENT_ID_MAX + 1) * 2);
  books = heap.alloc(<usize>max<u32>(instrumentCount, 1) * BOOK_BYTES);
  for (let i: u32 = 0; i < instrumentCount; i++) {
    const b = books + <usize>i * BOOK_BYTES;
    const inst = instruments + <usize>i * P.INSTRUMENT_BYTES;
    store<usize>(b + B_BIDS, heap.alloc(<usize>levelsMax * LEVEL_BYTES));
    store<u32>(b + B_BID_COUNT, 0);
    store<usize>(b + B_ASKS, heap.alloc(<usize>levelsMax * LEVEL_BYTES));
    store<u32>(b + B_ASK_COUNT, 0);
    store<u64>(b + B_LAST, 0);
    store<usize>(b + B_INSTRUMENT, inst);
    store<u16>(bookOf + (<usize>load<u32>(inst + P.INST_ID) << 1), <u16>(i + 1));
  }
}

/** The book of instrument `id`, or 0. */
export function bookFor(id: u32): usize {
  if (id == 0 || id > INSTRUMENT_ID_MAX) return 0;
  const n = <u32>load<u16>(bookOf + (<usize>id << 1));
  assert(n <= instrumentCount, "a book of the config");
  return n == 0 ? 0 : books + <usize>(n - 1) * BOOK_BYTES;
}

/** The index of instrument `id`'s book, or u32.MAX_VALUE. */
export function bookIndexOf(id: u32): u32 {
  if (id == 0 || id > INSTRUMENT_ID_MAX) return u32.MAX_VALUE;
  const n = <u32>load<u16>(bookOf + (<usize>id << 1));
  assert(n <= instrumentCount, "a book of the config");
  return n == 0 ? u32.MAX_VALUE : n - 1;
}

export function bookAt(i: u32): usize {
  assert(i < instrumentCount, "a configured book");
  return books + <usize>i * BOOK_BYTES;
}

// ---- slots ----

@inline export function slotAt(ref: u32): usize { return slots + <usize>(ref - 1) * ORDER_SLOT_BYTES; }

/** A free slot's ref (slot + 1), or 0 when every slot holds a live order. */
export function slotTake(): u32 {
  if (freeCount == 0) return 0;
  freeCount--;
  liveOrders++;
  const ref = load<u32>(freeStack + (<usize>freeCount << 2)) + 1;
  assert(ref >= 1 && ref <= ordersMax, "a slot of the table");
  memory.fill(slotAt(ref), 0, ORDER_SLOT_BYTES);
  return ref;
}

export function slotFree(ref: u32): void {
  assert(ref >= 1 && ref <= ordersMax && freeCount < ordersMax, "a slot in use");
  store<u32>(freeStack + (<usize>freeCount << 2), ref - 1);
  freeCount++;
  liveOrders--;
}

export function slotsFree(): u32 {
  assert(freeCount <= ordersMax, "free slots within the table");
  return freeCount;
}

// ---- the id index ----

@inline function home(id: u64): u32 { return <u32>((id * 0x9e3779b97f4a7c15) >> indexShift) & indexMask; }

/** The ref of live order `id`, or 0. */
export function orderFind(id: u64): u32 {
  assert(index != 0, "the index taken");
  if (id == 0) return 0;
  for (let i = home(id); ; i = (i + 1) & indexMask) {
    const e = index + (<usize>i << 4);
    const ref = load<u32>(e + 8);
    if (ref == 0) return 0;
    if (load<u64>(e) == id) return ref;
  }
  return 0;
}

export function orderIndex(id: u64, ref: u32): void {
  assert(id != 0 && ref != 0, "an id and its slot");
  let i = home(id);
  while (load<u32>(index + (<usize>i << 4) + 8) != 0) i = (i + 1) & indexMask;
  store<u64>(index + (<usize>i << 4), id);
  store<u32>(index + (<usize>i << 4) + 8, ref);
}

/** Removes `id` (present), shifting back the entries after it that probed past its place. */
export function orderUnindex(id: u64): void {
  let i = home(id);
  while (load<u64>(index + (<usize>i << 4)) != id || load<u32>(index + (<usize>i << 4) + 8) == 0) i = (i + 1) & indexMask;
  assert(load<u32>(index + (<usize>i << 4) + 8) != 0, "the id was indexed");
  let j = i;
  while (true) {
    j = (j + 1) & indexMask;
    const e = index + (<usize>j << 4);
    if (load<u32>(e + 8) == 0) break;
    const h = home(load<u64>(e));
    // The entry at j may move to the hole at i when its home is not within (i, j] (cyclically).
    const stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
    if (stays) continue;
    memory.copy(index + (<usize>i << 4), e, 16);
    i = j;
  }
  store<u64>(index + (<usize>i << 4), 0);
  store<u32>(index + (<usize>i << 4) + 8, 0);
}

// ---- levels ----

/** The levels of `side` of book `b`, and how many. */
@inline export function sideLevels(b: usize, side: u32): usize { return load<usize>(b + (side == P.SIDE_BUY ? B_BIDS : B_ASKS)); }
@inline export function sideCount(b: usize, side: u32): u32 { return load<u32>(b + (side == P.SIDE_BUY ? B_BID_COUNT : B_ASK_COUNT)); }
@inline function setSideCount(b: usize, side: u32, n: u32): void { store<u32>(b + (side == P.SIDE_BUY ? B_BID_COUNT : B_ASK_COUNT), n); }

/** Whether `a` is a better price than `b` on `side` (higher for bids, lower for asks). */
@inline export function better(side: u32, a: u64, b: u64): bool { return side == P.SIDE_BUY ? a > b : a < b; }

/** The position of `price` in `side`'s levels: the level holding it, or where it would go; and whether it is there. */
function levelSearch(b: usize, side: u32, price: u64): i64 {
  const levels = sideLevels(b, side);
  let lo: i32 = 0;
  let hi: i32 = <i32>sideCount(b, side);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = load<u64>(levels + <usize>mid * LEVEL_BYTES + L_PRICE);
    if (p == price) return <i64>mid | (<i64>1 << 32);
    // Sorted worst first: a level worse than `price` comes before it.
    if (better(side, price, p)) lo = mid + 1;
    else hi = mid;
  }
  assert(lo >= 0 && <u32>lo <= sideCount(b, side), "a position within the levels");
  return <i64>lo;
}

/** The level of `price` on `side`, or 0. */
export function levelOf(b: usize, side: u32, price: u64): usize {
  assert(b != 0 && (side == P.SIDE_BUY || side == P.SIDE_SELL), "a book and a side");
  const at = levelSearch(b, side, price);
  if ((at >> 32) == 0) return 0;
  return sideLevels(b, side) + <usize>(<u32>at) * LEVEL_BYTES;
}

/** Appends order `ref` (its price, side and leaves set) at the back of its level, the level made when new; false when the side is full. */
export function rest(b: usize, ref: u32): bool {
  const o = slotAt(ref);
  assert(load<u64>(o + O_LEAVES) != 0 && load<u64>(o + O_PRICE) != 0, "an order rests with a price and leaves");
  const side = <u32>load<u8>(o + O_SIDE);
  const price = load<u64>(o + O_PRICE);
  const at = levelSearch(b, side, price);
  const levels = sideLevels(b, side);
  let l: usize;
  if ((at >> 32) != 0) {
    l = levels + <usize>(<u32>at) * LEVEL_BYTES;
  } else {
    const n = sideCount(b, side);
    if (n == levelsMax) return false;
    l = levels + <usize>(<u32>at) * LEVEL_BYTES;
    memory.copy(l + LEVEL_BYTES, l, <usize>(n - <u32>at) * LEVEL_BYTES);
    memory.fill(l, 0, LEVEL_BYTES);
    store<u64>(l + L_PRICE, price);
    setSideCount(b, side, n + 1);
  }
  const tail = load<u32>(l + L_TAIL);
  store<u32>(o + O_PREV, tail);
  store<u32>(o + O_NEXT, 0);
  if (tail != 0) store<u32>(slotAt(tail) + O_NEXT, ref);
  else store<u32>(l + L_HEAD, ref);
  store<u32>(l + L_TAIL, ref);
  store<u32>(l + L_COUNT, load<u32>(l + L_COUNT) + 1);
  store<u64>(l + L_TOTAL, load<u64>(l + L_TOTAL) + load<u64>(o + O_LEAVES));
  changed(b, side, price);
  return true;
}

/** Takes resting order `ref` out of level `l` of `side` (its leaves still counted in the level's total); an emptied level goes. */
export function unlink(b: usize, side: u32, l: usize, ref: u32): void {
  const o = slotAt(ref);
  const prev = load<u32>(o + O_PREV);
  const next = load<u32>(o + O_NEXT);
  if (prev != 0) store<u32>(slotAt(prev) + O_NEXT, next);
  else store<u32>(l + L_HEAD, next);
  if (next != 0) store<u32>(slotAt(next) + O_PREV, prev);
  else store<u32>(l + L_TAIL, prev);
  store<u64>(l + L_TOTAL, load<u64>(l + L_TOTAL) - load<u64>(o + O_LEAVES));
  changed(b, side, load<u64>(l + L_PRICE));
  const count = load<u32>(l + L_COUNT) - 1;
  store<u32>(l + L_COUNT, count);
  if (count != 0) return;
  assert(load<u64>(l + L_TOTAL) == 0, "an empty level holds nothing");
  const levels = sideLevels(b, side);
  const n = sideCount(b, side);
  const at = <u32>((l - levels) / LEVEL_BYTES);
  memory.copy(l, l + LEVEL_BYTES, <usize>(n - at - 1) * LEVEL_BYTES);
  setSideCount(b, side, n - 1);
}
