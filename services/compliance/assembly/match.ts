// The matcher: how alike a query and one name are, as a score in millionths
// (0 .. P.SCORE_ONE). Both are normalised text (lower-case a-z 0-9 tokens,
// one space between them; the host's normaliser made them so), compared
// token by token; nothing here depends on Unicode, and the arithmetic is
// integers only, so the same two texts score the same everywhere, on replay
// too (test/unit/tidy.test.ts keeps floating point off the kernel side; the
// fractions below are exact integer divisions, each rounded down).
//
// The score, step by step:
//
//   1. Each pair (query token q, name token n) gets the Jaro-Winkler
//      similarity jw(q, n) in millionths:
//        m  characters of q that match a character of n no further than
//           max(|q|, |n|) / 2 - 1 positions away (each character of n used once)
//        t2 matched characters that are out of order (the transpositions, twice)
//        jaro = (m/|q| + m/|n| + (2m - t2)/(2m)) / 3            (0 when m = 0)
//        jw   = jaro + l * (1 - jaro) / 10, l the common prefix (at most 4),
//               when jaro >= 0.7 (Winkler's boost), else jw = jaro
//   2. Pairing: the best pair of all is taken, then the best of the pairs
//      whose query token and name token are both still free, and so on
//      (ties: the lower query token, then the lower name token), while the
//      best left is at least PAIR_FLOOR (0.7: below it Jaro-Winkler says
//      nothing but "two words"). So word order is free, each query token is
//      matched to one name token and each name token to one query token.
//   3. Each token weighs its length in characters (an initial weighs 1, a
//      surname of 8 weighs 8), and
//        score = sum over pairs of |q| * jw(q, n)
//                / ( sum over pairs of |q|
//                  + QUERY_MISS * sum of |q| over query tokens left unpaired
//                  + NAME_MISS  * sum of |n| over name tokens left unpaired )
//      A name token the query lacks (a middle name left out) costs a little
//      (NAME_MISS 0.1 of its length); a query token the name lacks costs
//      more (QUERY_MISS 0.5): the name on the list is then not the one asked
//      about, only a part of it. The same text scores exactly 1.
//
// Figures (tests): "john smith" / "john william smith" 0.928; "jon smyth" /
// "john smith" 0.908; "john william smith" / "john smith" 0.72; "john
// brown" / "john smith" 0.571.
//
// A search computes exactly that, with less work (docs/compliance.md
// "Computing it"): each distinct name token's row of jw against the query's
// tokens is memoised for the search; a row is first of bounds (jwBound: from
// the characters the two tokens share; 0 when the pair cannot reach
// PAIR_FLOOR, where its value pairs nothing), a name whose bound of the
// score is under the threshold is not paired at all, and only the rows of
// the names that may reach it are made exact (exactRow), then paired.

import * as P from "../protocol";

/** Query tokens a search may have (a longer query is refused): bounds the pairing work of every candidate. */
export const QUERY_TOKENS: u32 = P.SEARCH_TOKENS_MAX;
/** Tokens a name may have: one-letter tokens and single spaces in NORMALIZED_MAX bytes. */
export const NAME_TOKENS: u32 = (<u32>P.NORMALIZED_MAX + 1) / 2;
const PAIR_FLOOR: u32 = 700000;
const BOOST_FROM: u32 = 700000;
export const QUERY_MISS: u64 = 500000;
const NAME_MISS: u64 = 100000;
const ONE: u64 = <u64>P.SCORE_ONE;

// The query (querySet): its bytes and its tokens' offsets and lengths.
let queryPtr: usize = 0;
let queryTokens: u32 = 0;
const qStart = memory.data(<i32>QUERY_TOKENS);
const qLen = memory.data(<i32>QUERY_TOKENS);
// The name being scored: its tokens' offsets and lengths.
const nStart = memory.data(<i32>NAME_TOKENS);
const nLen = memory.data(<i32>NAME_TOKENS);
// Pair scores, QUERY_TOKENS rows of NAME_TOKENS u32; and which were paired.
const pairs = memory.data(<i32>(QUERY_TOKENS * NAME_TOKENS * 4), 4);
const qUsed = memory.data(<i32>QUERY_TOKENS);
const nUsed = memory.data(<i32>NAME_TOKENS);
// Jaro's matched characters, of each side.
const aFlags = memory.data(<i32>P.NORMALIZED_MAX);
const bFlags = memory.data(<i32>P.NORMALIZED_MAX);
// Tokens of at most BITS_MAX characters are matched with bit masks: posMask holds, for each byte value, its
// positions in the name token being compared (zero between tokens).
const BITS_MAX: u32 = 64;
const posMask = memory.data(128 * 8, 8);
// The memo of a search: each distinct name token met (open addressing by its hash; a slot is this search's when
// its stamp is memoStamp) with its jw against every query token. Slot (32 bytes): u32 stamp, u32 length (| MEMO_EXACT),
// u32 address of the token's bytes (in a names table, unchanged during the search), u32 its row's largest bound, u64 u64 its first 16 bytes
// (zero after its end); its row: QUERY_TOKENS u32.
const MEMO_SLOTS: u32 = 8192;
const MEMO_MASK: u32 = MEMO_SLOTS - 1;
const MEMO_FILL: u32 = MEMO_SLOTS / 4 * 3;
let memoKeys: usize = 0;
let memoRows: usize = 0;
let memoStamp: u32 = 0;
let memoUsed: u32 = 0;
const MEMO_EXACT: u32 = 0x80000000; // in a slot's length word: its row is exact (else bounds: boundRow)
// Rows of the tokens of the name being scored that the full memo had no room for (exact), by name token.
const spareRows = memory.data(<i32>(NAME_TOKENS * QUERY_TOKENS * 4), 16);
// Each query token's best bound over the name's tokens (pairBounds).
const qBest = memory.data(<i32>(QUERY_TOKENS * 4), 16);
// The memo slot of each token of the name being scored (MEMO_SLOTS: none, its column is exact).
const nSlot = memory.data(<i32>(NAME_TOKENS * 4), 4);
// For each byte value, a u8 lane per query token (tokens 0..7 in the first u64, 8..15 in the second): 1 when the
// token has that character (querySet).
const qChars = memory.data(128 * 16, 16);
// Each query token's length as a u32 lane (255 for lanes past the query's tokens: no count passes for them), and
// the counts of one name token (boundRow).
const qLens = memory.data(QUERY_TOKENS * 4, 16);
const qCommon = memory.data(QUERY_TOKENS, 16);

/** Whether `len` bytes at `ptr` are normalised text: [a-z0-9] tokens, one space between them. */
export function normalizedValid(ptr: usize, len: u32): bool {
  assert(len <= <u32>P.NORMALIZED_MAX, "normalizedValid: a length the slot holds");
  if (len == 0 || load<u8>(ptr) == 32 || load<u8>(ptr + len - 1) == 32) return false;
  for (let i: u32 = 0; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    if (c == 32) { if (load<u8>(ptr + i - 1) == 32) return false; continue; }
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57))) return false;
  }
  return true;
}

/** Whether `len` bytes at `ptr` are normalised text a search takes: valid, at most SEARCH_TOKENS_MAX words. */
export function screenableValid(ptr: usize, len: u32): bool {
  if (!normalizedValid(ptr, len)) return false;
  let words: u32 = 1;
  for (let i: u32 = 0; i < len; i++) if (load<u8>(ptr + i) == 0x20) words++;
  assert(words >= 1, "a valid text has a word");
  return words <= <u32>P.SEARCH_TOKENS_MAX;
}

/** Splits valid normalised text into tokens (u8 offsets and lengths); their count, or -1 beyond `max`. */
export function tokenize(ptr: usize, len: u32, starts: usize, lens: usize, max: u32): i32 {
  assert(len > 0 && len <= <u32>P.NORMALIZED_MAX, "tokenize: normalised text");
  let n: u32 = 0;
  let from: u32 = 0;
  for (let i: u32 = 0; i <= len; i++) {
    if (i < len && load<u8>(ptr + i) != 32) continue;
    if (n == max) return -1;
    store<u8>(starts + n, <u8>from);
    store<u8>(lens + n, <u8>(i - from));
    n++;
    from = i + 1;
  }
  return <i32>n;
}

/** The memo's tables, from the heap (once, at init). */
export function matchInit(): void {
  assert(memoKeys == 0, "matchInit: once");
  memoKeys = heap.alloc(<usize>MEMO_SLOTS << 5);
  memoRows = heap.alloc(<usize>MEMO_SLOTS * QUERY_TOKENS << 2);
  memory.fill(memoKeys, 0, <usize>MEMO_SLOTS << 5);
}

/**
 * tokenize of a name (valid normalised text at a name's slot: zeros after it to the slot's end, a multiple of 8
 * bytes) into nStart / nLen, 8 bytes at a time: xored with spaces, a space is a zero byte and every other byte of the
 * slot is 0x10 .. 0x5a, so the zero-byte test (x - 0x01..) & ~x & 0x80.. marks the spaces and nothing else (the
 * borrow out of a zero byte leaves the next byte, 0x0e or more, without its high bit). The count of tokens.
 */
// @ts-ignore: decorator
@inline function nameTokens(ptr: usize, len: u32): u32 {
  assert(len > 0 && len <= <u32>P.NORMALIZED_MAX && P.NORMALIZED_MAX % 8 == 0, "nameTokens: a name in its slot");
  let n: u32 = 0;
  let from: u32 = 0;
  for (let at: u32 = 0; at < len; at += 8) {
    const x = load<u64>(ptr + at) ^ 0x2020202020202020;
    let spaces = (x - 0x0101010101010101) & ~x & 0x8080808080808080;
    while (spaces != 0) {
      const i = at + (<u32>ctz(spaces) >> 3);
      store<u8>(nStart + n, <u8>from);
      store<u8>(nLen + n, <u8>(i - from));
      n++;
      from = i + 1;
      spaces &= spaces - 1;
    }
  }
  store<u8>(nStart + n, <u8>from);
  store<u8>(nLen + n, <u8>(len - from));
  return n + 1;
}

/** Takes the query the next nameScore calls score against (an empty memo); false when it has more than QUERY_TOKENS tokens. */
export function querySet(ptr: usize, len: u32): bool {
  const n = tokenize(ptr, len, qStart, qLen, QUERY_TOKENS);
  assert(n != 0 && memoKeys != 0, "a query has a token; the memo is there");
  if (n < 0) return false;
  queryPtr = ptr;
  queryTokens = <u32>n;
  memory.fill(qChars, 0, 128 * 16);
  for (let q: u32 = 0; q < QUERY_TOKENS; q++) store<u32>(qLens + (<usize>q << 2), q < queryTokens ? <u32>load<u8>(qLen + q) : 255);
  for (let q: u32 = 0; q < queryTokens; q++) {
    const lane = <u64>1 << (<u64>(q & 7) << 3);
    for (let i: u32 = 0; i < <u32>load<u8>(qLen + q); i++) {
      const at = qChars + (<usize>load<u8>(ptr + <usize>load<u8>(qStart + q) + i) << 4) + (<usize>(q >> 3) << 3);
      store<u64>(at, load<u64>(at) | lane);
    }
  }
  memoStamp++;
  if (memoStamp == 0) { memory.fill(memoKeys, 0, <usize>MEMO_SLOTS << 5); memoStamp = 1; }
  memoUsed = 0;
  return true;
}

/** The query's tokens (querySet), for the candidate index: count, and each one's bytes. */
export function queryTokenCount(): u32 { assert(queryTokens > 0 && queryTokens <= QUERY_TOKENS, "a query set"); return queryTokens; }
export function queryTokenAt(i: u32): usize { assert(i < queryTokens, "a query token"); return queryPtr + <usize>load<u8>(qStart + i); }
export function queryTokenLength(i: u32): u32 { assert(i < queryTokens, "a query token"); return <u32>load<u8>(qLen + i); }

/** Jaro's matched characters and transpositions (twice) of a and b: m | t2 << 16 (any lengths: flag bytes). */
function jaroCounts(a: usize, alen: u32, b: usize, blen: u32): u32 {
  assert(alen > 0 && blen > 0 && alen <= <u32>P.NORMALIZED_MAX && blen <= <u32>P.NORMALIZED_MAX, "jaro: two tokens");
  const longer = alen > blen ? alen : blen;
  const window: u32 = longer / 2 > 0 ? longer / 2 - 1 : 0;
  memory.fill(aFlags, 0, alen);
  memory.fill(bFlags, 0, blen);
  let m: u32 = 0;
  for (let i: u32 = 0; i < alen; i++) {
    const lo: u32 = i > window ? i - window : 0;
    const hi: u32 = i + window + 1 < blen ? i + window + 1 : blen;
    const c = load<u8>(a + i);
    for (let j = lo; j < hi; j++) {
      if (load<u8>(bFlags + j) != 0 || load<u8>(b + j) != c) continue;
      store<u8>(aFlags + i, 1);
      store<u8>(bFlags + j, 1);
      m++;
      break;
    }
  }
  let t2: u32 = 0;
  let j: u32 = 0;
  for (let i: u32 = 0; i < alen; i++) {
    if (load<u8>(aFlags + i) == 0) continue;
    while (load<u8>(bFlags + j) == 0) j++;
    if (load<u8>(a + i) != load<u8>(b + j)) t2++;
    j++;
  }
  return m | (t2 << 16);
}

/** The bits lo .. hi - 1 of a u64 (none when lo >= hi; hi at most 64). */
// @ts-ignore: decorator
@inline function bitRange(lo: u32, hi: u32): u64 {
  assert(hi <= 64, "a range of a u64");
  if (lo >= hi) return 0;
  const upto: u64 = hi == 64 ? <u64>-1 : (<u64>1 << <u64>hi) - 1;
  return upto & ~((<u64>1 << <u64>lo) - 1);
}

/**
 * jaroCounts of a and b, both at most BITS_MAX long, with bit masks: the same matching (each character of a, in
 * order, takes the first free equal character of b in its window: the lowest bit of the free positions of that
 * character there), and the same transpositions. `b`'s positions of each character are in posMask (tokenMasks).
 */
function jaroCountsBits(a: usize, alen: u32, b: usize, blen: u32): u32 {
  assert(alen > 0 && blen > 0 && alen <= BITS_MAX && blen <= BITS_MAX, "jaro bits: two short tokens");
  const longer = alen > blen ? alen : blen;
  const window: u32 = longer / 2 > 0 ? longer / 2 - 1 : 0;
  let am: u64 = 0;
  let bm: u64 = 0;
  let m: u32 = 0;
  for (let i: u32 = 0; i < alen; i++) {
    const lo: u32 = i > window ? i - window : 0;
    const hi: u32 = i + window + 1 < blen ? i + window + 1 : blen;
    const free = load<u64>(posMask + (<usize>load<u8>(a + i) << 3)) & ~bm & bitRange(lo, hi);
    if (free == 0) continue;
    bm |= free & (~free + 1);
    am |= <u64>1 << <u64>i;
    m++;
  }
  let t2: u32 = 0;
  while (am != 0) {
    if (load<u8>(a + <usize>ctz(am)) != load<u8>(b + <usize>ctz(bm))) t2++;
    am &= am - 1;
    bm &= bm - 1;
  }
  return m | (t2 << 16);
}

/** posMask: each character's positions in the token b (at most BITS_MAX long); `set` false clears them back to zero. */
function tokenMasks(b: usize, blen: u32, set: bool): void {
  assert(blen > 0 && blen <= BITS_MAX, "masks of a short token");
  for (let j: u32 = 0; j < blen; j++) {
    const at = posMask + (<usize>load<u8>(b + j) << 3);
    store<u64>(at, set ? load<u64>(at) | (<u64>1 << <u64>j) : 0);
  }
}

/** Jaro-Winkler in millionths from Jaro's counts of a and b (the formula above). */
function jaroWinklerOf(counts: u32, a: usize, alen: u32, b: usize, blen: u32): u32 {
  const m = <u64>(counts & 0xffff);
  const t2 = <u64>(counts >> 16);
  if (m == 0) return 0;
  const la = <u64>alen;
  const lb = <u64>blen;
  // (m/a + m/b + (2m - t2)/(2m)) / 3 over the common denominator 6abm.
  const jaro = <u32>((2 * m * m * lb + 2 * m * m * la + (2 * m - t2) * la * lb) * ONE / (6 * la * lb * m));
  assert(jaro <= <u32>P.SCORE_ONE && t2 <= m, "Jaro is at most one");
  if (jaro < BOOST_FROM) return jaro;
  let l: u32 = 0;
  while (l < 4 && l < alen && l < blen && load<u8>(a + l) == load<u8>(b + l)) l++;
  return jaro + <u32>(<u64>l * (ONE - <u64>jaro) / 10);
}

/** Jaro-Winkler similarity of two tokens in millionths (the formula above). */
export function jaroWinkler(a: usize, alen: u32, b: usize, blen: u32): u32 {
  assert(alen > 0 && blen > 0, "two tokens");
  return jaroWinklerOf(jaroCounts(a, alen, b, blen), a, alen, b, blen);
}

/**
 * A bound of jw(query token q, name token b): 0 when jw is certainly below PAIR_FLOOR (it then pairs nothing, as 0
 * would not), else at least jw. `common`, the characters of b that q has, bounds Jaro's m (a matched character of b
 * is one of q's); Jaro grows with m and is largest with no transposition, and Winkler's boost grows with Jaro.
 */
// @ts-ignore: decorator
@inline function jwBound(q: u32, b: usize, blen: u32, common: u32): u32 {
  const a = queryPtr + <usize>load<u8>(qStart + q);
  const alen = <u32>load<u8>(qLen + q);
  assert(alen > 0 && blen > 0 && PAIR_FLOOR == 700000 && BOOST_FROM == PAIR_FLOOR, "jwBound: two tokens; 0.7 below");
  const m = <u64>min(common, min(alen, blen));
  const la = <u64>alen;
  const lb = <u64>blen;
  // Jaro at most (m/a + m/b + 1) / 3 < 0.7 (PAIR_FLOOR, BOOST_FROM): 10m(a + b) < 11ab, without a division.
  if (10 * m * (la + lb) < 11 * la * lb) return 0;
  const jaro = <u32>((2 * m * m * lb + 2 * m * m * la + 2 * m * la * lb) * ONE / (6 * la * lb * m));
  if (jaro < BOOST_FROM) return jaro < PAIR_FLOOR ? 0 : jaro;
  let l: u32 = 0;
  while (l < 4 && l < alen && l < blen && load<u8>(a + l) == load<u8>(b + l)) l++;
  return jaro + <u32>(<u64>l * (ONE - <u64>jaro) / 10);
}

/** Whether some query token may pass jwBound's first test with `common` (four u32 lanes of counts) at lanes k*4 .. k*4+3. */
// @ts-ignore: decorator
@inline function lanesMayPair(common: v128, k: u32, lb: v128): v128 {
  const la = v128.load(qLens + (<usize>k << 4));
  return i32x4.ge_u(i32x4.mul(i32x4.mul(common, i32x4.splat(10)), i32x4.add(la, lb)), i32x4.mul(i32x4.mul(la, i32x4.splat(11)), lb));
}

/**
 * The bounds (jwBound) of every query token with the name token b, into the u32 row at `row` (query token q at +4q);
 * the largest. Each query token's count of b's characters it has is a u8 lane (qChars, summed); when no lane passes
 * jwBound's first test (10 m (a + b) >= 11 a b with m at most the count), the row is zeros without a query token's loop.
 */
function boundRow(b: usize, blen: u32, row: usize): u32 {
  assert(queryTokens > 0 && blen > 0 && blen <= <u32>P.NORMALIZED_MAX, "boundRow: a query and a token");
  let acc = i8x16.splat(0);
  let j: u32 = 0;
  for (; j + 1 < blen; j += 2) {
    acc = i8x16.add(acc, v128.load(qChars + (<usize>load<u8>(b + j) << 4)));
    acc = i8x16.add(acc, v128.load(qChars + (<usize>load<u8>(b + j + 1) << 4)));
  }
  if (j < blen) acc = i8x16.add(acc, v128.load(qChars + (<usize>load<u8>(b + j) << 4)));
  const lb = i32x4.splat(<i32>blen);
  const w0 = i16x8.extend_low_i8x16_u(acc);
  const w1 = i16x8.extend_high_i8x16_u(acc);
  const may = v128.or(v128.or(lanesMayPair(i32x4.extend_low_i16x8_u(w0), 0, lb), lanesMayPair(i32x4.extend_high_i16x8_u(w0), 1, lb)),
    v128.or(lanesMayPair(i32x4.extend_low_i16x8_u(w1), 2, lb), lanesMayPair(i32x4.extend_high_i16x8_u(w1), 3, lb)));
  if (!v128.any_true(may)) {
    const zero = i32x4.splat(0);
    v128.store(row, zero);
    v128.store(row, zero, 16);
    v128.store(row, zero, 32);
    v128.store(row, zero, 48);
    return 0;
  }
  v128.store(qCommon, acc);
  let best: u32 = 0;
  for (let q: u32 = 0; q < queryTokens; q++) {
    const bound = jwBound(q, b, blen, <u32>load<u8>(qCommon + q));
    store<u32>(row + (<usize>q << 2), bound);
    best = max(best, bound);
  }
  return best;
}

/** The row of bounds of the name token b made exact: jw of each query token whose bound may pair (the others stay 0). */
function exactRow(b: usize, blen: u32, row: usize): void {
  assert(queryTokens > 0 && blen > 0, "exactRow: a query and a token");
  const bits = blen <= BITS_MAX;
  if (bits) tokenMasks(b, blen, true);
  for (let q: u32 = 0; q < queryTokens; q++) {
    if (load<u32>(row + (<usize>q << 2)) < PAIR_FLOOR) continue;
    const a = queryPtr + <usize>load<u8>(qStart + q);
    const alen = <u32>load<u8>(qLen + q);
    const counts = bits && alen <= BITS_MAX ? jaroCountsBits(a, alen, b, blen) : jaroCounts(a, alen, b, blen);
    store<u32>(row + (<usize>q << 2), jaroWinklerOf(counts, a, alen, b, blen));
  }
  if (bits) tokenMasks(b, blen, false);
}

/** Word `i` (8 bytes) of the token at `ptr`, `len` bytes: the bytes after its end zeroed (a name's slot holds them). */
// @ts-ignore: decorator
@inline function tokenWord(ptr: usize, len: u32, i: u32): u64 {
  assert(i << 3 < len || i == 0 || i == 1, "a word of the token (or one of the first two)");
  if (i << 3 >= len) return 0;
  const w = load<u64>(ptr + (<usize>i << 3));
  const rest = len - (i << 3);
  return rest >= 8 ? w : w & ((<u64>1 << (<u64>rest << 3)) - 1);
}

/** Whether memo slot `k` (of this search) is the token b (`blen` bytes, its first 16 in w0 and w1). */
// @ts-ignore: decorator
@inline function memoSame(k: usize, b: usize, blen: u32, w0: u64, w1: u64): bool {
  assert(load<u32>(k) == memoStamp, "a slot of this search");
  return (load<u32>(k + 4) & 0xff) == blen && load<u64>(k + 16) == w0 && load<u64>(k + 24) == w1
    && (blen <= 16 || memory.compare(<usize>load<u32>(k + 8) + 16, b + 16, blen - 16) == 0);
}

/**
 * The memo slot of the name token b, its row of bounds made on first sight this search (boundRow); MEMO_SLOTS when
 * the memo is full (the caller makes the row itself: the same values). A slot keeps the token's first 16 bytes.
 */
// @ts-ignore: decorator
@inline function memoSlot(b: usize, blen: u32): u32 {
  assert(memoKeys != 0 && blen > 0 && blen <= <u32>P.NORMALIZED_MAX, "memoSlot: the memo, a token");
  const w0 = tokenWord(b, blen, 0);
  const w1 = tokenWord(b, blen, 1);
  let h: u64 = (<u64>blen ^ w0) * 0x100000001b3;
  h = (h ^ w1) * 0x100000001b3;
  for (let i: u32 = 2; i << 3 < blen; i++) h = (h ^ tokenWord(b, blen, i)) * 0x100000001b3;
  let slot = <u32>(h ^ (h >> 29)) & MEMO_MASK;
  // The first probe before the loop: most tokens are met again, in their own slot.
  if (load<u32>(memoKeys + (<usize>slot << 5)) == memoStamp && memoSame(memoKeys + (<usize>slot << 5), b, blen, w0, w1)) return slot;
  for (let probe: u32 = 0; probe < MEMO_SLOTS; probe++) {
    const k = memoKeys + (<usize>slot << 5);
    if (load<u32>(k) != memoStamp) {
      if (memoUsed >= MEMO_FILL) return MEMO_SLOTS;
      memoUsed++;
      store<u32>(k, memoStamp);
      store<u32>(k + 4, blen);
      store<u32>(k + 8, <u32>b);
      store<u64>(k + 16, w0);
      store<u64>(k + 24, w1);
      store<u32>(k + 12, boundRow(b, blen, memoRows + (<usize>slot * QUERY_TOKENS << 2)));
      return slot;
    }
    if (memoSame(k, b, blen, w0, w1)) return slot;
    slot = (slot + 1) & MEMO_MASK;
  }
  assert(false, "the memo is never full: at most MEMO_FILL slots of a search");
  return MEMO_SLOTS;
}

/** Column n of the pair table from the u32 row at `row`. */
// @ts-ignore: decorator
@inline function pairColumn(n: u32, row: usize): void {
  assert(n < NAME_TOKENS, "a name token");
  for (let q: u32 = 0; q < queryTokens; q++) store<u32>(pairs + ((<usize>q * NAME_TOKENS + n) << 2), load<u32>(row + (<usize>q << 2)));
}

/**
 * The memo slots of the name's tokens into nSlot (a token the full memo has no room for: MEMO_SLOTS, its row exact at
 * once in spareRows), and whether the name may score `threshold` or more (mayReach's bound, from the rows of bounds:
 * each query token's best over the name's tokens, four lanes at a time, and each name token's best, its slot's).
 */
function pairBounds(name: usize, names: u32, threshold: u32): bool {
  assert(queryTokens > 0 && names > 0 && names <= NAME_TOKENS && QUERY_TOKENS == 16, "pairBounds: tokens on both sides, rows of 4 v128");
  const t = <i64>threshold;
  let bound: i64 = 0;
  let b0 = i32x4.splat(0);
  let b1 = b0;
  let b2 = b0;
  let b3 = b0;
  for (let n: u32 = 0; n < names; n++) {
    const b = name + <usize>load<u8>(nStart + n);
    const blen = <u32>load<u8>(nLen + n);
    const slot = memoSlot(b, blen);
    store<u32>(nSlot + (<usize>n << 2), slot);
    let row = memoRows + (<usize>slot * QUERY_TOKENS << 2);
    let best: u32 = 0;
    if (slot < MEMO_SLOTS) best = load<u32>(memoKeys + (<usize>slot << 5) + 12);
    else { row = spareRows + (<usize>n * QUERY_TOKENS << 2); best = boundRow(b, blen, row); exactRow(b, blen, row); }
    // A row whose best is below PAIR_FLOOR pairs nothing: it costs its token, and leaves every q's best as it is.
    if (best < PAIR_FLOOR) { bound -= t * <i64>NAME_MISS * <i64>blen; continue; }
    b0 = i32x4.max_u(b0, v128.load(row));
    b1 = i32x4.max_u(b1, v128.load(row, 16));
    b2 = i32x4.max_u(b2, v128.load(row, 32));
    b3 = i32x4.max_u(b3, v128.load(row, 48));
  }
  v128.store(qBest, b0);
  v128.store(qBest, b1, 16);
  v128.store(qBest, b2, 32);
  v128.store(qBest, b3, 48);
  const miss = -t * <i64>QUERY_MISS;
  for (let q: u32 = 0; q < queryTokens; q++) {
    const best = load<u32>(qBest + (<usize>q << 2));
    const pair = best >= PAIR_FLOOR ? (<i64>best - t) * <i64>ONE : miss;
    bound += <i64>load<u8>(qLen + q) * (pair > miss ? pair : miss);
  }
  return bound >= 0;
}

/** The pair table's bounds made exact: jw of every query token with every name token (below PAIR_FLOOR: 0 or jw). */
function pairExact(name: usize, names: u32): void {
  assert(queryTokens > 0 && names > 0 && names <= NAME_TOKENS, "pairExact: tokens on both sides");
  for (let n: u32 = 0; n < names; n++) {
    const slot = load<u32>(nSlot + (<usize>n << 2));
    if (slot == MEMO_SLOTS) { pairColumn(n, spareRows + (<usize>n * QUERY_TOKENS << 2)); continue; }
    const k = memoKeys + (<usize>slot << 5);
    const row = memoRows + (<usize>slot * QUERY_TOKENS << 2);
    const word = load<u32>(k + 4);
    if ((word & MEMO_EXACT) == 0) {
      exactRow(name + <usize>load<u8>(nStart + n), <u32>load<u8>(nLen + n), row);
      store<u32>(k + 4, word | MEMO_EXACT);
    }
    pairColumn(n, row);
  }
}

/** Pairs tokens greedily, best pair first (ties: lower query token, then lower name token); the sum of |q| * jw of the pairs. */
function pairGreedy(names: u32): u64 {
  assert(queryTokens <= QUERY_TOKENS && names <= NAME_TOKENS, "pairGreedy: tokens in their tables");
  memory.fill(qUsed, 0, queryTokens);
  memory.fill(nUsed, 0, names);
  let sum: u64 = 0;
  for (let round: u32 = 0; round < queryTokens; round++) {
    let best: u32 = 0;
    let bq: u32 = 0;
    let bn: u32 = 0;
    for (let q: u32 = 0; q < queryTokens; q++) {
      if (load<u8>(qUsed + q) != 0) continue;
      const row = pairs + (<usize>q * NAME_TOKENS << 2);
      for (let n: u32 = 0; n < names; n++) {
        const s = load<u32>(row + (<usize>n << 2));
        if (s > best && load<u8>(nUsed + n) == 0) { best = s; bq = q; bn = n; }
      }
    }
    if (best < PAIR_FLOOR) break;
    store<u8>(qUsed + bq, 1);
    store<u8>(nUsed + bn, 1);
    sum += <u64>load<u8>(qLen + bq) * <u64>best;
  }
  return sum;
}

/**
 * Whether the name (its pair table filled) may score `threshold` or more: false only when it cannot. With T the
 * threshold, score >= T exactly when num * ONE - T * den >= 0, which is
 *   sum over pairs of |q| * (jw - T) * ONE - T * QUERY_MISS * (|q| unpaired) - T * NAME_MISS * (|n| unpaired);
 * a paired q's jw is at most its best in the table (bq, at least PAIR_FLOOR to be paired), and a name token whose
 * best is below PAIR_FLOOR is left unpaired, so the sum of each q's larger term and those name tokens' cost bounds it.
 */
function mayReach(names: u32, threshold: u32): bool {
  assert(names > 0 && names <= NAME_TOKENS && queryTokens > 0, "mayReach: tokens on both sides");
  const t = <i64>threshold;
  let bound: i64 = 0;
  for (let n: u32 = 0; n < names; n++) {
    let best: u32 = 0;
    for (let q: u32 = 0; q < queryTokens; q++) best = max(best, load<u32>(pairs + ((<usize>q * NAME_TOKENS + n) << 2)));
    if (best < PAIR_FLOOR) bound -= t * <i64>NAME_MISS * <i64>load<u8>(nLen + n);
  }
  for (let q: u32 = 0; q < queryTokens; q++) {
    const row = pairs + (<usize>q * NAME_TOKENS << 2);
    let best: u32 = 0;
    for (let n: u32 = 0; n < names; n++) best = max(best, load<u32>(row + (<usize>n << 2)));
    const miss = -t * <i64>QUERY_MISS;
    const pair = best >= PAIR_FLOOR ? (<i64>best - t) * <i64>ONE : miss;
    bound += <i64>load<u8>(qLen + q) * (pair > miss ? pair : miss);
  }
  return bound >= 0;
}

/**
 * The score of the name (normalised text, `len` bytes at `ptr`) against the query set: the formula above; or 0 when
 * it is certainly below `threshold` (mayReach; 0 .. 1 asks for the score always).
 */
export function nameScore(ptr: usize, len: u32, threshold: u32 = 0): u32 {
  const names = nameTokens(ptr, len);
  assert(names > 0 && names <= NAME_TOKENS && queryTokens > 0, "a name and a query of some tokens");
  if (!pairBounds(ptr, <u32>names, threshold) && threshold > 1) return 0;
  pairExact(ptr, <u32>names);
  if (threshold > 1 && !mayReach(<u32>names, threshold)) return 0;
  const num = pairGreedy(<u32>names);
  let den: u64 = 0;
  for (let q: u32 = 0; q < queryTokens; q++) den += <u64>load<u8>(qLen + q) * (load<u8>(qUsed + q) != 0 ? ONE : QUERY_MISS);
  for (let n: u32 = 0; n < <u32>names; n++) if (load<u8>(nUsed + n) == 0) den += <u64>load<u8>(nLen + n) * NAME_MISS;
  const score = <u32>(num * ONE / den);
  assert(score <= <u32>P.SCORE_ONE, "a score is at most one");
  return score;
}
