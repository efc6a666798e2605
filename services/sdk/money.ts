// services/sdk/money.ts: checked u128 arithmetic for amounts of money.
//
// Amounts are unsigned integers of minor units, 128 bits, stored
// little-endian in 16 bytes (low u64 at +0, high u64 at +8) exactly as the
// ledger's records and the wire carry them. Every operation takes pointers
// to 16-byte values, allocates nothing, and is checked: an overflow or a
// result below zero returns false (MONEY_* below says why through
// moneyError) and leaves the destination untouched. Wrapping arithmetic has
// no place here.
//
//   const a = memory.data(16), b = memory.data(16), sum = memory.data(16);
//   u128SetU64(a, 1050); u128SetU64(b, 250);
//   if (!u128Add(sum, a, b)) replyError(token, "amount overflows u128");

export const MONEY_OK: u32 = 0;
export const MONEY_OVERFLOW: u32 = 1; // the result needs more than 128 bits
export const MONEY_UNDERFLOW: u32 = 2; // the result would be below zero
export const MONEY_DIVIDE_BY_ZERO: u32 = 3;

export let moneyError: u32 = MONEY_OK;

// @ts-ignore: decorator
@inline export function u128Lo(p: usize): u64 { return load<u64>(p); }
// @ts-ignore: decorator
@inline export function u128Hi(p: usize): u64 { return load<u64>(p, 8); }
// @ts-ignore: decorator
@inline function put(p: usize, lo: u64, hi: u64): void { store<u64>(p, lo); store<u64>(p, hi, 8); }

export function u128SetU64(p: usize, value: u64): void { put(p, value, 0); }
export function u128Set(p: usize, lo: u64, hi: u64): void { put(p, lo, hi); }
export function u128Copy(dst: usize, src: usize): void { put(dst, u128Lo(src), u128Hi(src)); }
export function u128IsZero(p: usize): bool { return (u128Lo(p) | u128Hi(p)) == 0; }

// -1, 0 or 1 as a < b, a == b, a > b.
export function u128Cmp(a: usize, b: usize): i32 {
  const ah = u128Hi(a), bh = u128Hi(b);
  if (ah != bh) return ah < bh ? -1 : 1;
  const al = u128Lo(a), bl = u128Lo(b);
  if (al == bl) return 0;
  return al < bl ? -1 : 1;
}

// dst = a + b; false on overflow (dst unchanged).
export function u128Add(dst: usize, a: usize, b: usize): bool {
  const lo = u128Lo(a) + u128Lo(b);
  const carry: u64 = lo < u128Lo(a) ? 1 : 0;
  const hi1 = u128Hi(a) + u128Hi(b);
  const hi = hi1 + carry;
  if (hi1 < u128Hi(a) || hi < hi1) { moneyError = MONEY_OVERFLOW; return false; }
  // Without overflow a sum is at least each addend (checked before dst, which may be a or b, changes).
  assert((hi > u128Hi(a) || (hi == u128Hi(a) && lo >= u128Lo(a))) && (hi > u128Hi(b) || (hi == u128Hi(b) && lo >= u128Lo(b))),
    "u128 sum below an addend");
  put(dst, lo, hi);
  moneyError = MONEY_OK;
  return true;
}

// dst = a - b; false when b > a (dst unchanged).
export function u128Sub(dst: usize, a: usize, b: usize): bool {
  if (u128Cmp(a, b) < 0) { moneyError = MONEY_UNDERFLOW; return false; }
  const lo = u128Lo(a) - u128Lo(b);
  const borrow: u64 = u128Lo(a) < u128Lo(b) ? 1 : 0;
  const hi = u128Hi(a) - u128Hi(b) - borrow;
  // b <= a, so the difference is at most a: no borrow escaped the top.
  assert(hi < u128Hi(a) || (hi == u128Hi(a) && lo <= u128Lo(a)), "u128 difference above the minuend");
  put(dst, lo, hi);
  moneyError = MONEY_OK;
  return true;
}

// 64x64 -> 128 multiplication of two u64 values, as (lo, hi).
let mulHi: u64 = 0;
function mul64(a: u64, b: u64): u64 {
  const a0 = a & 0xffffffff, a1 = a >> 32, b0 = b & 0xffffffff, b1 = b >> 32;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const middle = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  mulHi = p11 + (p01 >> 32) + (p10 >> 32) + (middle >> 32);
  const lo = (middle << 32) | (p00 & 0xffffffff);
  // The low half is the wrapping product, and a * b < a * 2^64 bounds the high half.
  assert(lo == a * b && (a == 0 || mulHi < a) && (b == 0 || mulHi < b), "64x64 multiplication halves disagree");
  return lo;
}

// dst = a * factor (e.g. a unit price times a quantity); false on overflow.
export function u128MulU64(dst: usize, a: usize, factor: u64): bool {
  const lo = mul64(u128Lo(a), factor);
  const carry = mulHi;
  const hiLo = mul64(u128Hi(a), factor);
  if (mulHi != 0) { moneyError = MONEY_OVERFLOW; return false; }
  const hi = hiLo + carry;
  if (hi < hiLo) { moneyError = MONEY_OVERFLOW; return false; }
  // Without overflow a product by a nonzero factor is at least a.
  assert(factor == 0 || hi > u128Hi(a) || (hi == u128Hi(a) && lo >= u128Lo(a)), "u128 product below its multiplicand");
  put(dst, lo, hi);
  moneyError = MONEY_OK;
  return true;
}

// dst = a / divisor, rounded down; returns the remainder (u64), or sets
// MONEY_DIVIDE_BY_ZERO and returns 0 with dst unchanged.
export function u128DivU64(dst: usize, a: usize, divisor: u64): u64 {
  if (divisor == 0) { moneyError = MONEY_DIVIDE_BY_ZERO; return 0; }
  let hi = u128Hi(a) / divisor;
  let rem = u128Hi(a) % divisor;
  let lo: u64 = 0;
  // Long division of the low half, one bit at a time (64 steps, bounded).
  const low = u128Lo(a);
  for (let bit: i32 = 63; bit >= 0; bit--) {
    const top = rem >> 63;
    rem = (rem << 1) | ((low >> <u64>bit) & 1);
    lo <<= 1;
    if (top != 0 || rem >= divisor) { rem -= divisor; lo |= 1; }
  }
  // Long division leaves a remainder below the divisor and a quotient no larger than a.
  assert(rem < divisor && hi <= u128Hi(a) && (hi < u128Hi(a) || lo <= u128Lo(a)), "u128 division out of bounds");
  put(dst, lo, hi);
  moneyError = MONEY_OK;
  return rem;
}

// Writes the decimal digits of the value at p to out (room for 39 bytes);
// returns how many were written. For logs and text replies.
export function u128ToDecimal(p: usize, out: usize): u32 {
  const digits = memory.data(40);
  const work = memory.data(16);
  u128Copy(work, p);
  let n: u32 = 0;
  do {
    const d = u128DivU64(work, work, 10);
    assert(d < 10, "decimal digit out of range");
    store<u8>(digits + <usize>n, <u8>(48 + d));
    n++;
  } while (!u128IsZero(work) && n < 39);
  // 2^128 - 1 has 39 decimal digits, so every value ends before the cap.
  assert(u128IsZero(work), "u128 longer than 39 decimal digits");
  for (let i: u32 = 0; i < n; i++) store<u8>(out + <usize>i, load<u8>(digits + <usize>(n - 1 - i)));
  return n;
}
