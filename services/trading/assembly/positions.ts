// Each trader's position in each instrument (config "pretrade": the
// compliance service's position limit needs it): the net quantity bought
// less sold from its trades, in quantity units, signed. Kept in an
// open-addressing table of positions_max entries (at most half full), one
// per (cash account, instrument) that ever had an order checked; never
// removed, so an entry found stays found. An order of an account with no
// entry when the table is full is refused before it is checked.

import * as P from "../protocol";
import { positionsMax } from "./config";

const POSITION_BYTES: u32 = 32; // +0 u128 account +16 u32 instrument +20 u32 used +24 i64 position
let table: usize = 0;
let mask: u32 = 0;
let count: u32 = 0;

export function positionsInit(): void {
  assert(table == 0 && positionsMax > 0, "positionsInit: once, after the config");
  let n: u32 = 16;
  while (n < positionsMax * 2) n <<= 1;
  table = heap.alloc(<usize>n * POSITION_BYTES);
  memory.fill(table, 0, <usize>n * POSITION_BYTES);
  mask = n - 1;
}

function home(account: usize, instrument: u32): u32 {
  assert(table != 0, "the table taken");
  let h = (load<u64>(account) ^ (load<u64>(account + 8) * 0x9e3779b97f4a7c15) ^ (<u64>instrument << 40)) * 0xff51afd7ed558ccd;
  h ^= h >> 33;
  return <u32>h & mask;
}

/** The entry of `account` (16 bytes at a pointer) in `instrument`, made when `make` and there is room; else 0. */
export function positionEntry(account: usize, instrument: u32, make: bool): usize {
  for (let i = home(account, instrument); ; i = (i + 1) & mask) {
    const e = table + <usize>i * POSITION_BYTES;
    if (load<u32>(e + 20) == 0) {
      if (!make || count >= positionsMax) return 0;
      memory.copy(e, account, 16);
      store<u32>(e + 16, instrument);
      store<u32>(e + 20, 1);
      store<i64>(e + 24, 0);
      count++;
      return e;
    }
    if (load<u32>(e + 16) == instrument && load<u64>(e) == load<u64>(account) && load<u64>(e + 8) == load<u64>(account + 8)) return e;
  }
  return 0;
}

/** The position of an entry (0 for none). */
export function positionOf(e: usize): i64 {
  assert(e == 0 || load<u32>(e + 20) != 0, "an entry in use");
  return e == 0 ? 0 : load<i64>(e + 24);
}

/** A trade of `qty` moves the buyer's position up and the seller's down (entries made when missing and room is left). */
export function positionsTrade(buyer: usize, seller: usize, instrument: u32, qty: u64): void {
  assert(qty != 0 && qty <= <u64>i64.MAX_VALUE, "a trade's quantity");
  const b = positionEntry(buyer, instrument, true);
  if (b != 0) store<i64>(b + 24, load<i64>(b + 24) + <i64>qty);
  const s = positionEntry(seller, instrument, true);
  if (s != 0) store<i64>(s + 24, load<i64>(s + 24) - <i64>qty);
  assert(P.SIDE_BUY != P.SIDE_SELL, "two sides");
}
