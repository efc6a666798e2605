// The live orders that FIX sessions placed: for each, its session and its
// current ClOrdID (what cancels and replaces name it by), its fills so far
// (an ExecutionReport's CumQty and AvgPx) and what a cancel must say to the
// trading service (its account). Two indexes by open addressing: the
// trading service's order id (a fill names the resting order by it) and
// (slot, ClOrdID). An order leaves the table when it is done (filled,
// cancelled, expired); a removed key leaves a tombstone, and the index is
// rebuilt when tombstones take a quarter of it. Entries come from a free
// list. All in the order of the log, so a replay builds the same table.

import * as P from "../protocol";
import { ordersMax } from "./config";

export const LIVE_ORDER_BYTES: u32 = 128;
export const O_ID: u32 = 0; // the trading service's order id
export const O_SLOT: u32 = 8; // u16
export const O_SIDE: u32 = 10; // u8
export const O_LIVE: u32 = 11; // u8: 1 in the table
export const O_INSTRUMENT: u32 = 12;
export const O_PRICE: u32 = 16;
export const O_QTY: u32 = 24;
export const O_CUM: u32 = 32;
export const O_NOTIONAL: u32 = 40; // u128: Σ price × quantity of its fills (AvgPx)
export const O_ACCOUNT: u32 = 56; // u128
export const O_NEXT_FREE: u32 = 72;
export const O_CLORD_LENGTH: u32 = 76; // u8
export const O_CLORD: u32 = 80; // [ID_MAX]

const EMPTY: u32 = 0;
const TOMB: u32 = 0xffffffff;
let entries: usize = 0;
let byId: usize = 0;
let byClOrd: usize = 0;
let mask: u32 = 0;
let freeHead: u32 = 0; // entry index + 1; 0: none
let tombs: u32 = 0;
export let liveOrders: u32 = 0;

export function tableInit(): void {
  assert(entries == 0 && O_CLORD + <u32>P.ID_MAX <= LIVE_ORDER_BYTES, "tableInit: once; an entry holds a ClOrdID");
  entries = heap.alloc(<usize>ordersMax * LIVE_ORDER_BYTES);
  let size: u32 = 16;
  while (size < ordersMax * 2) size <<= 1;
  mask = size - 1;
  byId = heap.alloc(<usize>size * 4);
  byClOrd = heap.alloc(<usize>size * 4);
  memory.fill(byId, 0, <usize>size * 4);
  memory.fill(byClOrd, 0, <usize>size * 4);
  for (let i: u32 = 0; i < ordersMax; i++) store<u32>(entry(i) + O_NEXT_FREE, i + 2 <= ordersMax ? i + 2 : 0);
  freeHead = 1;
}

export function entry(i: u32): usize {
  assert(i < ordersMax, "an entry");
  return entries + <usize>i * LIVE_ORDER_BYTES;
}

function hashId(id: u64): u32 {
  assert(mask != 0, "after tableInit");
  const h = id * 0x9e3779b97f4a7c15;
  return <u32>(h >> 32) & mask;
}

function hashClOrd(slot: u32, p: usize, n: u32): u32 {
  assert(n <= <u32>P.ID_MAX, "an id");
  let h: u32 = 2166136261 ^ slot;
  for (let i: u32 = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + i)) * 16777619;
  return (h ^ (h >> 15)) & mask;
}

function sameClOrd(e: usize, slot: u32, p: usize, n: u32): bool {
  assert(n <= <u32>P.ID_MAX, "an id");
  if (<u32>load<u16>(e + O_SLOT) != slot || <u32>load<u8>(e + O_CLORD_LENGTH) != n) return false;
  for (let i: u32 = 0; i < n; i++) if (load<u8>(e + O_CLORD + i) != load<u8>(p + i)) return false;
  return true;
}

/** The entry of live order `id`, or -1. */
export function findById(id: u64): i32 {
  assert(id != 0, "an order id");
  for (let h = hashId(id), probes: u32 = 0; probes <= mask; h = (h + 1) & mask, probes++) {
    const v = load<u32>(byId + (<usize>h << 2));
    if (v == EMPTY) return -1;
    if (v != TOMB && load<u64>(entry(v - 1) + O_ID) == id) return <i32>(v - 1);
  }
  return -1;
}

/** The entry of the live order whose current ClOrdID on `slot` is the `n` bytes at `p`, or -1. */
export function findByClOrd(slot: u32, p: usize, n: u32): i32 {
  assert(slot >= 1, "a session");
  for (let h = hashClOrd(slot, p, n), probes: u32 = 0; probes <= mask; h = (h + 1) & mask, probes++) {
    const v = load<u32>(byClOrd + (<usize>h << 2));
    if (v == EMPTY) return -1;
    if (v != TOMB && sameClOrd(entry(v - 1), slot, p, n)) return <i32>(v - 1);
  }
  return -1;
}

function put(index: usize, h: u32, value: u32): void {
  assert(value != EMPTY && value != TOMB, "an entry");
  for (let probes: u32 = 0; probes <= mask; h = (h + 1) & mask, probes++) {
    const v = load<u32>(index + (<usize>h << 2));
    if (v == EMPTY || v == TOMB) { if (v == TOMB) tombs--; store<u32>(index + (<usize>h << 2), value); return; }
  }
  assert(false, "an index twice the table always has room");
}

function drop(index: usize, h: u32, value: u32): void {
  assert(value != EMPTY, "an entry");
  for (let probes: u32 = 0; probes <= mask; h = (h + 1) & mask, probes++) {
    const v = load<u32>(index + (<usize>h << 2));
    if (v == EMPTY) return;
    if (v == value) { store<u32>(index + (<usize>h << 2), TOMB); tombs++; return; }
  }
}

/** A new entry for order `id` of `slot` with ClOrdID (p, n); -1 when the table is full. */
export function orderAdd(id: u64, slot: u32, p: usize, n: u32): i32 {
  assert(id != 0 && n <= <u32>P.ID_MAX, "an order and its ClOrdID");
  if (freeHead == 0) return -1;
  const i = freeHead - 1;
  const e = entry(i);
  freeHead = load<u32>(e + O_NEXT_FREE);
  memory.fill(e, 0, LIVE_ORDER_BYTES);
  store<u64>(e + O_ID, id);
  store<u16>(e + O_SLOT, <u16>slot);
  store<u8>(e + O_LIVE, 1);
  store<u8>(e + O_CLORD_LENGTH, <u8>n);
  memory.copy(e + O_CLORD, p, n);
  put(byId, hashId(id), i + 1);
  put(byClOrd, hashClOrd(slot, p, n), i + 1);
  liveOrders++;
  return <i32>i;
}

/** The entry's ClOrdID becomes (p, n) (a cancel/replace accepted names the order by its new ClOrdID). */
export function orderRename(i: u32, p: usize, n: u32): void {
  const e = entry(i);
  assert(load<u8>(e + O_LIVE) == 1 && n <= <u32>P.ID_MAX, "a live order");
  const slot = <u32>load<u16>(e + O_SLOT);
  drop(byClOrd, hashClOrd(slot, e + O_CLORD, <u32>load<u8>(e + O_CLORD_LENGTH)), i + 1);
  store<u8>(e + O_CLORD_LENGTH, <u8>n);
  memory.copy(e + O_CLORD, p, n);
  put(byClOrd, hashClOrd(slot, p, n), i + 1);
  maybeRebuild();
}

/** The order is done: out of the table. */
export function orderRemove(i: u32): void {
  const e = entry(i);
  assert(load<u8>(e + O_LIVE) == 1, "a live order");
  drop(byId, hashId(load<u64>(e + O_ID)), i + 1);
  drop(byClOrd, hashClOrd(<u32>load<u16>(e + O_SLOT), e + O_CLORD, <u32>load<u8>(e + O_CLORD_LENGTH)), i + 1);
  store<u8>(e + O_LIVE, 0);
  store<u32>(e + O_NEXT_FREE, freeHead);
  freeHead = i + 1;
  liveOrders--;
  maybeRebuild();
}

function maybeRebuild(): void {
  assert(tombs <= (mask + 1) * 2, "tombstones within both indexes");
  if (tombs < (mask + 1) / 4) return;
  memory.fill(byId, 0, <usize>(mask + 1) * 4);
  memory.fill(byClOrd, 0, <usize>(mask + 1) * 4);
  tombs = 0;
  for (let i: u32 = 0; i < ordersMax; i++) {
    const e = entry(i);
    if (load<u8>(e + O_LIVE) == 0) continue;
    put(byId, hashId(load<u64>(e + O_ID)), i + 1);
    put(byClOrd, hashClOrd(<u32>load<u16>(e + O_SLOT), e + O_CLORD, <u32>load<u8>(e + O_CLORD_LENGTH)), i + 1);
  }
}
