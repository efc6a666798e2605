// lib/store/keys.ts: the order of a tree's keys, and their hash.
//
// A key is one unsigned little-endian integer of key_bytes bytes (8, 16, 24
// or 32), compared word by word from its most significant u64, the last one,
// down. A u128 id stored as the ledger stores it compares as the number it
// is. A composite key puts its most significant part last: (account u64,
// timestamp u64) ordered by account, then timestamp, is stored as
// timestamp at +0, account at +8. Comparing whole words keeps the compare a
// handful of instructions, and byte order never needs swapping.

export const KEY_BYTES_MAX: u32 = 32;

/** -1, 0 or 1 as the key at `a` is below, equal to or above the key at `b`. */
export function keyCompare(a: usize, b: usize, bytes: u32): i32 {
  assert(bytes >= 8 && bytes <= KEY_BYTES_MAX && (bytes & 7) == 0, "keys: key size is not 8, 16, 24 or 32 bytes");
  let i = <usize>bytes;
  while (i > 0) {
    i -= 8;
    const x = load<u64>(a + i), y = load<u64>(b + i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Adds one to the key at `k`; false (and the key wrapped to zero) when it was the largest. */
export function keyIncrement(k: usize, bytes: u32): bool {
  assert(bytes >= 8 && bytes <= KEY_BYTES_MAX, "keys: key size out of range");
  for (let i: usize = 0; i < <usize>bytes; i += 8) {
    const w = load<u64>(k + i) + 1;
    store<u64>(k + i, w);
    if (w != 0) return true;
  }
  return false;
}

/** Subtracts one from the key at `k`; false (and the key wrapped to all ones) when it was zero. */
export function keyDecrement(k: usize, bytes: u32): bool {
  assert(bytes >= 8 && bytes <= KEY_BYTES_MAX, "keys: key size out of range");
  for (let i: usize = 0; i < <usize>bytes; i += 8) {
    const w = load<u64>(k + i);
    store<u64>(k + i, w - 1);
    if (w != 0) return true;
  }
  return false;
}

const MIX: u64 = 0x9E3779B97F4A7C15;
const MIX2: u64 = 0xC2B2AE3D27D4EB4F;

/** A 64-bit hash of the key (the memtable's table and the bloom filters): every key bit reaches every hash bit. */
export function keyHash(k: usize, bytes: u32): u64 {
  assert(bytes >= 8 && bytes <= KEY_BYTES_MAX, "keys: key size out of range");
  let h: u64 = <u64>bytes * MIX;
  for (let i: usize = 0; i < <usize>bytes; i += 8) h = rotl<u64>((h ^ load<u64>(k + i)) * MIX, 29) * MIX2;
  h ^= h >> 32;
  h *= MIX;
  return h ^ (h >> 29);
}
