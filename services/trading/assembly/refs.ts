// The client references orders were given (protocol.ts RJ_DUPLICATE): a new
// order whose account gave the same reference before is refused, naming the
// first order. The newest REFS_REMEMBERED references are remembered, in an
// open-addressing table of twice as many slots, each with the sequence
// number it was remembered under; an entry older than the newest
// REFS_REMEMBERED is stale and may be taken over. A lookup probes at most
// PROBES slots past an entry's home and stops at a slot never used; an
// insert takes the first stale or unused slot of those, else the oldest.
// Everything is a function of the log, so replay remembers the same.

import * as P from "../protocol";

const PROBES: u32 = 32;
const REF_BYTES: u32 = 48; // +0 u128 account +16 u64 reference +24 u64 order +32 u64 sequence (0: never used) +40 u64 0
const SLOTS: u32 = 2 * <u32>P.REFS_REMEMBERED;
let table: usize = 0;
let sequence: u64 = 0;

export function refsInit(): void {
  assert(table == 0 && (SLOTS & (SLOTS - 1)) == 0, "refsInit: once; a power of two");
  table = heap.alloc(<usize>SLOTS * REF_BYTES);
  memory.fill(table, 0, <usize>SLOTS * REF_BYTES);
}

function home(account: usize, ref: u64): u32 {
  assert(table != 0, "the table taken");
  let h = (load<u64>(account) * 0x9e3779b97f4a7c15) ^ load<u64>(account + 8) ^ (ref * 0xc2b2ae3d27d4eb4f);
  h ^= h >> 29;
  return <u32>h & (SLOTS - 1);
}

@inline function live(seq: u64): bool { return seq != 0 && sequence - seq < <u64>P.REFS_REMEMBERED; }

/** The order `account` (16 bytes at a pointer) gave reference `ref`, when remembered; else 0. */
export function refFind(account: usize, ref: u64): u64 {
  assert(ref != 0, "a reference");
  const h = home(account, ref);
  for (let i: u32 = 0; i < PROBES; i++) {
    const e = table + <usize>((h + i) & (SLOTS - 1)) * REF_BYTES;
    const seq = load<u64>(e + 32);
    if (seq == 0) return 0;
    if (live(seq) && load<u64>(e + 16) == ref && load<u64>(e) == load<u64>(account) && load<u64>(e + 8) == load<u64>(account + 8)) return load<u64>(e + 24);
  }
  return 0;
}

/** Remembers that `account` gave reference `ref` to `order`. */
export function refRemember(account: usize, ref: u64, order: u64): void {
  assert(ref != 0 && order != 0, "a reference and its order");
  const h = home(account, ref);
  sequence++;
  let at: usize = 0;
  let oldest: u64 = u64.MAX_VALUE;
  for (let i: u32 = 0; i < PROBES; i++) {
    const e = table + <usize>((h + i) & (SLOTS - 1)) * REF_BYTES;
    const seq = load<u64>(e + 32);
    if (!live(seq)) { at = e; break; }
    if (seq < oldest) { oldest = seq; at = e; }
  }
  memory.copy(at, account, 16);
  store<u64>(at + 16, ref);
  store<u64>(at + 24, order);
  store<u64>(at + 32, sequence);
}
