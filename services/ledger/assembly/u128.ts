// Checked u128 arithmetic over little-endian (lo, hi) u64 pairs in memory.
//
// Money never wraps. Sums report overflow to the caller, which turns it into
// a result code; subtractions that would borrow are invariant violations and
// trap. Results of the pure helpers land in `sumLo`/`sumHi` (AssemblyScript
// has no multiple returns), read them right after the call.

export let sumLo: u64 = 0;
export let sumHi: u64 = 0;

// @ts-ignore: decorator
@inline export function isZero128(p: usize): bool {
  return (load<u64>(p) | load<u64>(p, 8)) == 0;
}

// @ts-ignore: decorator
@inline export function isMax128(p: usize): bool {
  return (load<u64>(p) & load<u64>(p, 8)) == 0xFFFFFFFFFFFFFFFF;
}

// @ts-ignore: decorator
@inline export function equal128(a: usize, b: usize): bool {
  return ((load<u64>(a) ^ load<u64>(b)) | (load<u64>(a, 8) ^ load<u64>(b, 8))) == 0;
}

// @ts-ignore: decorator
@inline export function lessThan128(aLo: u64, aHi: u64, bLo: u64, bHi: u64): bool {
  return aHi < bHi || (aHi == bHi && aLo < bLo);
}

/** sum = a + b; returns true (and leaves sum undefined) when it overflows u128. */
// @ts-ignore: decorator
@inline export function addOverflows128(aLo: u64, aHi: u64, bLo: u64, bHi: u64): bool {
  const lo = aLo + bLo;
  const carry: u64 = lo < aLo ? 1 : 0;
  const hi1 = aHi + bHi;
  const hi2 = hi1 + carry;
  sumLo = lo;
  sumHi = hi2;
  return hi1 < aHi || hi2 < hi1;
}

/** sum = a - b saturating at zero (TigerBeetle's `-|`). */
// @ts-ignore: decorator
@inline export function subSaturating128(aLo: u64, aHi: u64, bLo: u64, bHi: u64): void {
  if (lessThan128(aLo, aHi, bLo, bHi)) {
    sumLo = 0;
    sumHi = 0;
  } else {
    sumLo = aLo - bLo;
    sumHi = aHi - bHi - (aLo < bLo ? 1 : 0);
  }
  assert(!lessThan128(aLo, aHi, sumLo, sumHi), "saturating difference above the minuend");
}

/**
 * Is a - b exactly (lo, hi), with a >= b? For postconditions on balances: a
 * balance read before and after a change moved by exactly the amount.
 */
// @ts-ignore: decorator
@inline export function differenceIs128(aLo: u64, aHi: u64, bLo: u64, bHi: u64, lo: u64, hi: u64): bool {
  const borrow: u64 = aLo < bLo ? 1 : 0;
  return !lessThan128(aLo, aHi, bLo, bHi) && aLo - bLo == lo && aHi - bHi - borrow == hi;
}

/** *p += (lo, hi). The caller has checked that it cannot overflow. */
// @ts-ignore: decorator
@inline export function addInPlaceChecked128(p: usize, lo: u64, hi: u64): void {
  const overflowed = addOverflows128(load<u64>(p), load<u64>(p, 8), lo, hi);
  assert(!overflowed, "balance overflow after the overflow checks passed");
  store<u64>(p, sumLo);
  store<u64>(p, sumHi, 8);
}

/** *p -= (lo, hi). Balances never go negative: a borrow is a broken invariant. */
// @ts-ignore: decorator
@inline export function subInPlaceChecked128(p: usize, lo: u64, hi: u64): void {
  const aLo = load<u64>(p);
  const aHi = load<u64>(p, 8);
  assert(!lessThan128(aLo, aHi, lo, hi), "balance would go negative");
  store<u64>(p, aLo - lo);
  store<u64>(p, aHi - hi - (aLo < lo ? 1 : 0), 8);
}

// @ts-ignore: decorator
@inline export function copy128(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src));
  store<u64>(dst, load<u64>(src, 8), 8);
}

/**
 * Copies one 128-byte record. Inline u64 moves: the engine's memory.copy is
 * a runtime call, much slower than this for a record-sized copy.
 */
// @ts-ignore: decorator
@inline export function copyRecord128(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src));
  store<u64>(dst, load<u64>(src, 8), 8);
  store<u64>(dst, load<u64>(src, 16), 16);
  store<u64>(dst, load<u64>(src, 24), 24);
  store<u64>(dst, load<u64>(src, 32), 32);
  store<u64>(dst, load<u64>(src, 40), 40);
  store<u64>(dst, load<u64>(src, 48), 48);
  store<u64>(dst, load<u64>(src, 56), 56);
  store<u64>(dst, load<u64>(src, 64), 64);
  store<u64>(dst, load<u64>(src, 72), 72);
  store<u64>(dst, load<u64>(src, 80), 80);
  store<u64>(dst, load<u64>(src, 88), 88);
  store<u64>(dst, load<u64>(src, 96), 96);
  store<u64>(dst, load<u64>(src, 104), 104);
  store<u64>(dst, load<u64>(src, 112), 112);
  store<u64>(dst, load<u64>(src, 120), 120);
}
