// search: a normalised name against the lists in force.
//
// The query's distinct keys (blocking.ts) give the candidates: the names of
// a list in force holding one of them, each seen once a search (a stamp per
// name says this search saw it) with a hit mask: the query tokens whose keys
// it holds, and its own tokens holding them. A candidate is scored when its
// type passes the filter and the query tokens it holds keys of may reach the
// threshold (enoughHits: those it holds none of are taken as unpaired, and
// each of its own tokens pairs one at most), or when it has tokens past
// those the index takes keys from. The keys of the query's most common
// tokens that cannot admit a name alone (commonTokens) only add to the masks
// of names the others found. The matcher
// (match.ts) scores it (or tells that it cannot reach the threshold: it is
// then not kept, as it would not be with its score). An entry's score is its best name's (ties: the first
// name of the list); entries at or over the threshold are kept, and the
// reply has the best `limit` of them, best first, ties by list, then by
// entity id (shorter first, then byte by byte, so numeric ids sort as
// numbers). The reply header says, at +8, u32 the names scored and u32 the
// entries at or over the threshold (count is at most `limit` of them).
//
// The stamps are one counter for every search; when it wraps around every
// stamp is cleared, so a stale one never passes for this search's.

import * as P from "../protocol";
import { namesMax, thresholdDefault } from "./config";
import { IndexArea, indexStampsClear, nameAt, postingCount, postingsOf, POSTING_SHIFT, tokenKeys } from "./blocking";
import { matchInit, nameScore, querySet, queryTokenAt, queryTokenCount, queryTokenLength, QUERY_MISS, QUERY_TOKENS } from "./match";
import { listArea, listVersionWord } from "./lists";
import { refuse, replyRecords, replySend } from "./reply";

let stamp: u32 = 0;
// A query token's keys: prefix, suffix, and ends of three lengths; and for a token of SWAPPED characters those of
// the token with its first two, and with its last two, characters swapped (swappedKeys).
const TOKEN_KEYS: u32 = 5 + 2 * 3;
const SWAPPED: u32 = 4;
const QUERY_KEYS: u32 = QUERY_TOKENS * TOKEN_KEYS;
const swapped = memory.data(<i32>SWAPPED);
// The query's keys by hash (keySlot): u32 a slot, its generation (the query it is of) << 8 | the key's number.
const KEY_SLOTS_BITS: u32 = 9;
const KEY_SLOTS: u32 = 1 << KEY_SLOTS_BITS;
const keySlots = memory.data(<i32>(KEY_SLOTS * 4), 4);
let keyGeneration: u32 = 0;
let queryKeys: usize = 0; // the query's distinct keys
let queryKeyTokens: usize = 0; // u32 per key: the query tokens (a bit each) that have it
let tokenKeyScratch: usize = 0; // one query token's keys
let candidates: usize = 0; // the names of one list this search saw, u32 each, in the order first seen
let hitsMin: u32 = 0; // enoughHits' bar for this search: the fewest characters of query tokens a name must hold keys of
const tokenLength = memory.data(<i32>QUERY_TOKENS); // the query's tokens' lengths
const byLength = memory.data(<i32>QUERY_TOKENS); // the query's tokens, longest first (ties: in query order)
const tokenPostings = memory.data(<i32>QUERY_TOKENS * 4, 4); // commonTokens: each query token's keys' postings in a list
let hits: usize = 0; // entries at or over the threshold: u32 list | u32 entry, in the order first seen
let hitCount: u32 = 0;
let top: usize = 0; // the best `limit` hits, best first, in the same form
let scored: u32 = 0;

/** The search's tables, from the heap (once, at init). */
export function searchInit(): void {
  assert(hits == 0, "searchInit: once");
  matchInit();
  queryKeys = heap.alloc(<usize>QUERY_KEYS << 2);
  queryKeyTokens = heap.alloc(<usize>QUERY_KEYS << 2);
  tokenKeyScratch = heap.alloc(<usize>TOKEN_KEYS << 2);
  candidates = heap.alloc(<usize>namesMax << 2);
  hits = heap.alloc(<usize>P.LISTS * <usize>namesMax << 3);
  top = heap.alloc(<usize>P.MATCHES_MAX << 3);
}

/** The next stamp (clearing every list's stamps when the counter wraps). */
function nextStamp(): u32 {
  stamp++;
  if (stamp == 0) {
    for (let list: u32 = 1; list <= <u32>P.LISTS; list++) {
      const a = listArea(list);
      if (a !== null) indexStampsClear(a);
    }
    stamp = 1;
  }
  assert(stamp != 0, "a stamp no stamp array holds");
  return stamp;
}

/**
 * Adds to the `n` keys at tokenKeyScratch those of the token `len` (SWAPPED) bytes at `at` with characters i and
 * i + 1 swapped; the new count. A word of four letters with its first two or its last two swapped ("agsu" for
 * "agus") shares no prefix, suffix or ends with the listed one, yet Jaro-Winkler pairs them (0.917 or more); a
 * longer word keeps one of its keys through any one swap, and in a shorter one a swap leaves Jaro under 0.7.
 */
function swappedKeys(n: u32, at: usize, len: u32, i: u32): u32 {
  assert(len == SWAPPED && i + 1 < len, "a swap in a short token");
  memory.copy(swapped, at, len);
  store<u8>(swapped + i, load<u8>(at + i + 1));
  store<u8>(swapped + i + 1, load<u8>(at + i));
  return tokenKeys(tokenKeyScratch, n, TOKEN_KEYS, swapped, len, false);
}

/**
 * The number of `key` among the `n` keys of the query so far (keySlots, by hash), or `n` when it is new (then taken
 * as number n): a key is looked up in a few steps, not by a pass over the query's keys.
 */
function keySlot(key: u32, n: u32): u32 {
  assert(n < 256 && QUERY_KEYS < 256 && KEY_SLOTS >= 2 * QUERY_KEYS, "a key's number fits a slot's byte; the table at most half full");
  let slot = (key * 0x9e3779b1) >> (32 - KEY_SLOTS_BITS);
  for (let v = load<u32>(keySlots + (<usize>slot << 2)); v >> 8 == keyGeneration; v = load<u32>(keySlots + (<usize>slot << 2))) {
    if (load<u32>(queryKeys + (<usize>(v & 0xff) << 2)) == key) return v & 0xff;
    slot = (slot + 1) & (KEY_SLOTS - 1);
  }
  store<u32>(keySlots + (<usize>slot << 2), keyGeneration << 8 | n);
  return n;
}

/** The query's distinct keys, into queryKeys, and the tokens having each, into queryKeyTokens; their count. */
function queryKeysOf(): u32 {
  keyGeneration = (keyGeneration + 1) & 0xffffff;
  if (keyGeneration == 0) { memory.fill(keySlots, 0, KEY_SLOTS << 2); keyGeneration = 1; }
  const tokens = queryTokenCount();
  assert(tokens * TOKEN_KEYS <= QUERY_KEYS && tokens <= 16, "the query's keys fit their table; a token is a bit of a u16");
  let n: u32 = 0;
  for (let t: u32 = 0; t < tokens; t++) {
    const at = queryTokenAt(t);
    const len = queryTokenLength(t);
    let own = tokenKeys(tokenKeyScratch, 0, TOKEN_KEYS, at, len, true);
    if (len == SWAPPED) own = swappedKeys(swappedKeys(own, at, len, 0), at, len, len - 2);
    for (let j: u32 = 0; j < own; j++) {
      const key = load<u32>(tokenKeyScratch + (<usize>j << 2));
      const k = keySlot(key, n);
      if (k == n) { store<u32>(queryKeys + (<usize>n << 2), key); store<u32>(queryKeyTokens + (<usize>n << 2), 0); n++; }
      const mask = queryKeyTokens + (<usize>k << 2);
      store<u32>(mask, load<u32>(mask) | (1 << t));
    }
  }
  return n;
}

/**
 * enoughHits' bar for `threshold` T (millionths). A name that pairs query tokens of H characters in all, of Q, scores
 * at most H / (H + 0.5 (Q - H)) (each pair's jw at most one, an unpaired query character costing QUERY_MISS, the
 * name's unpaired tokens taken as costing nothing), which is under T exactly when
 * H (ONE (ONE - T) + T QUERY_MISS) < T QUERY_MISS Q: hitsMin is the least H that is not.
 */
function hitsBar(threshold: u32): void {
  const t = <u64>min(threshold, <u32>P.SCORE_ONE);
  const one = <u64>P.SCORE_ONE;
  const tokens = queryTokenCount();
  let q: u64 = 0;
  for (let i: u32 = 0; i < tokens; i++) {
    const len = queryTokenLength(i);
    q += <u64>len;
    store<u8>(tokenLength + i, <u8>len);
    let at = i;
    for (; at > 0 && <u32>load<u8>(tokenLength + <usize>load<u8>(byLength + at - 1)) < len; at--) store<u8>(byLength + at, load<u8>(byLength + at - 1));
    store<u8>(byLength + at, <u8>i);
  }
  const weight = one * (one - t) + t * QUERY_MISS;
  const needed = t * QUERY_MISS * q;
  assert(weight > 0 && q <= <u64>P.NORMALIZED_MAX, "a bar a name may pass");
  hitsMin = <u32>((needed + weight - 1) / weight);
}

/**
 * Whether a name holding keys of the query tokens `mask` (bits 0..15) with its tokens `mask` >> 16 may reach the
 * threshold (hitsBar), taking a query token whose keys it holds none of as unpaired: blocking's keys are how a search
 * finds a token's likes at all (a typo at either end, or in between, keeps one), so a name is not scored on the
 * strength of words it does not share. Each of its tokens pairs one query token at most, so with k of them holding
 * keys, at most the k longest of those query tokens are paired ("muhammad" holds keys of "mujahid" too: a name of
 * one "muhammad" pairs one of the two).
 */
// @ts-ignore: decorator
@inline function enoughHits(mask: u32): bool {
  const held = mask & 0xffff;
  assert(held != 0 && (mask >> 16) != 0, "a candidate holds some query token's keys in some token");
  let h: u32 = 0;
  for (let m = held; m != 0; m &= m - 1) h += <u32>load<u8>(tokenLength + ctz(m));
  if (h < hitsMin) return false;
  let k = popcnt(mask >> 16);
  if (k >= popcnt(held)) return true;
  h = 0;
  for (let i: u32 = 0; k > 0; i++) {
    const q = <u32>load<u8>(byLength + i);
    if ((held & (1 << q)) == 0) continue;
    h += <u32>load<u8>(tokenLength + q);
    k--;
  }
  return h >= hitsMin;
}

/** Scores name `i` of list `list` and keeps its entry's best when at or over `threshold`. */
// @ts-ignore: decorator
@inline function candidate(a: IndexArea, list: u32, i: u32, type: u32, threshold: u32): void {
  assert(i < a.count, "a name of the list");
  const r = nameAt(a.names, i);
  if (type != 0 && <u32>load<u8>(r + P.NAME_TYPE) != type) return;
  if (load<u8>(a.nameLong + i) == 0 && !enoughHits(load<u32>(a.nameHits + (<usize>i << 2)))) return;
  scored++;
  const score = nameScore(r + P.NAME_NORMALIZED, <u32>load<u8>(r + P.NAME_NORMALIZED_LENGTH), threshold);
  if (score < threshold) return;
  const e = load<u32>(a.nameEntity + (<usize>i << 2));
  const es = a.entityStamp + (<usize>e << 2);
  const best = a.entityBest + (<usize>e << 2);
  const bestName = a.entityBestName + (<usize>e << 2);
  if (load<u32>(es) != stamp) {
    store<u32>(es, stamp);
    store<u64>(hits + (<usize>hitCount << 3), <u64>list | (<u64>e << 32));
    hitCount++;
  } else if (score < load<u32>(best) || (score == load<u32>(best) && i > load<u32>(bestName))) {
    return;
  }
  store<u32>(best, score);
  store<u32>(bestName, i);
}

/** The best name's record of hit `h` (u32 list | u32 entry). */
export function hitName(h: u64): usize {
  const a = listArea(<u32>h)!;
  const e = <u32>(h >> 32);
  assert(e < a.entities, "an entry of the list");
  return nameAt(a.names, load<u32>(a.entityBestName + (<usize>e << 2)));
}

export function hitScore(h: u64): u32 {
  const a = listArea(<u32>h)!;
  assert(<u32>(h >> 32) < a.entities, "an entry of the list");
  return load<u32>(a.entityBest + (<usize>(h >> 32) << 2));
}

/** Whether hit x goes before hit y: the higher score, then the lower list, then the lower entity id (shorter first). */
function before(x: u64, y: u64): bool {
  const sx = hitScore(x);
  const sy = hitScore(y);
  if (sx != sy) return sx > sy;
  if (<u32>x != <u32>y) return <u32>x < <u32>y;
  const rx = hitName(x);
  const ry = hitName(y);
  const lx = <u32>load<u8>(rx + P.NAME_ID_LENGTH);
  const ly = <u32>load<u8>(ry + P.NAME_ID_LENGTH);
  if (lx != ly) return lx < ly;
  assert(lx <= <u32>P.ENTITY_ID_MAX, "an id of its slot");
  return memory.compare(rx + P.NAME_ID, ry + P.NAME_ID, lx) < 0;
}

/** The best `limit` hits into `top`, best first (insertion into a sorted array of at most `limit`); how many. */
function selectTop(limit: u32): u32 {
  assert(limit >= 1 && limit <= <u32>P.MATCHES_MAX, "a limit in range");
  let n: u32 = 0;
  for (let i: u32 = 0; i < hitCount; i++) {
    const h = load<u64>(hits + (<usize>i << 3));
    if (n == limit && !before(h, load<u64>(top + (<usize>(n - 1) << 3)))) continue;
    let at = n < limit ? n : n - 1;
    while (at > 0 && before(h, load<u64>(top + (<usize>(at - 1) << 3)))) {
      store<u64>(top + (<usize>at << 3), load<u64>(top + (<usize>(at - 1) << 3)));
      at--;
    }
    store<u64>(top + (<usize>at << 3), h);
    if (n < limit) n++;
  }
  return n;
}

/** Writes match record `i` of the reply from hit `h`. */
function matchRecord(i: u32, h: u64): void {
  const m = replyRecords() + <usize>i * P.MATCH_BYTES;
  const r = hitName(h);
  const list = <u32>h;
  assert(i < <u32>P.MATCHES_MAX && list >= 1 && list <= <u32>P.LISTS, "a match of the reply");
  memory.fill(m, 0, P.MATCH_BYTES);
  store<u8>(m + P.MATCH_LIST, <u8>list);
  store<u8>(m + P.MATCH_TYPE, load<u8>(r + P.NAME_TYPE));
  store<u8>(m + P.MATCH_ID_LENGTH, load<u8>(r + P.NAME_ID_LENGTH));
  store<u8>(m + P.MATCH_DISPLAY_LENGTH, load<u8>(r + P.NAME_DISPLAY_LENGTH));
  store<u32>(m + P.MATCH_SCORE, hitScore(h));
  memory.copy(m + P.MATCH_ID, r + P.NAME_ID, P.ENTITY_ID_MAX);
  memory.copy(m + P.MATCH_DISPLAY, r + P.NAME_DISPLAY, P.DISPLAY_MAX);
  store<u32>(m + P.MATCH_VERSION, listVersionWord(list));
  store<u8>(m + P.MATCH_FLAGS, load<u8>(r + P.NAME_FLAGS));
}

/**
 * The query tokens (a mask) whose keys alone cannot give a name enoughHits, the most common in list area `a` first:
 * each token in order of its keys' postings, most first (ties: the first token), is taken while the lengths taken stay
 * under hitsMin. A name holding keys of these tokens only is never scored (unless nameLong), so gather does not add it.
 */
function commonTokens(a: IndexArea, keys: u32): u32 {
  const tokens = queryTokenCount();
  assert(tokens <= QUERY_TOKENS, "a query's tokens");
  memory.fill(tokenPostings, 0, <usize>QUERY_TOKENS << 2);
  for (let k: u32 = 0; k < keys; k++) {
    const c = postingCount(a, load<u32>(queryKeys + (<usize>k << 2)));
    for (let m = load<u32>(queryKeyTokens + (<usize>k << 2)); m != 0; m &= m - 1) {
      const at = tokenPostings + (<usize>ctz(m) << 2);
      store<u32>(at, load<u32>(at) + c);
    }
  }
  let common: u32 = 0;
  let seen: u32 = 0;
  let sum: u32 = 0;
  for (let round: u32 = 0; round < tokens; round++) {
    let t: u32 = 0;
    let most: i64 = -1;
    for (let q: u32 = 0; q < tokens; q++) {
      const c = <i64>load<u32>(tokenPostings + (<usize>q << 2));
      if ((seen & (1 << q)) == 0 && c > most) { most = c; t = q; }
    }
    seen |= 1 << t;
    const len = <u32>load<u8>(tokenLength + t);
    if (sum + len < hitsMin) { common |= 1 << t; sum += len; }
  }
  return common;
}

/**
 * Key `k` of the query (queryKeysOf) in list area `a`: each name holding it gets the key's query tokens and its own
 * token holding it in its hit mask; a name not seen yet this search is added to `candidates` (at `n`) when `add` or
 * when it has words past those with keys (nameLong: enoughHits cannot rule it out), else left unseen. The new count
 * of candidates.
 */
// @ts-ignore: decorator
@inline function scanKey(a: IndexArea, k: u32, add: bool, n: u32): u32 {
  const key = load<u32>(queryKeys + (<usize>k << 2));
  const tokens = load<u32>(queryKeyTokens + (<usize>k << 2));
  const first = postingsOf(a, key);
  const count = postingCount(a, key);
  assert(n <= a.count, "candidates are names of the list, each once");
  for (let p: u32 = 0; p < count; p++) {
    const v = load<u32>(first + (<usize>p << 2));
    const i = v >> POSTING_SHIFT;
    const mask = tokens | (<u32>1 << (16 + (v & ((1 << POSTING_SHIFT) - 1))));
    const st = a.nameStamp + (<usize>i << 2);
    const hit = a.nameHits + (<usize>i << 2);
    if (load<u32>(st) == stamp) { store<u32>(hit, load<u32>(hit) | mask); continue; }
    if (!add && load<u8>(a.nameLong + i) == 0) continue;
    store<u32>(st, stamp);
    store<u32>(hit, mask);
    store<u32>(candidates + (<usize>n << 2), i);
    n++;
  }
  return n;
}

/**
 * The names of list area `a` holding a key of the query (queryKeysOf's `keys`) that may have enoughHits, into
 * `candidates` with their hit masks; how many. The keys of a token outside commonTokens first, adding the names they
 * find; then those of common tokens alone, only adding to the masks of names already found (and adding long ones).
 */
function gather(a: IndexArea, keys: u32): u32 {
  assert(a.count <= namesMax, "the candidates fit their table");
  const common = commonTokens(a, keys);
  let n: u32 = 0;
  for (let k: u32 = 0; k < keys; k++) {
    if ((load<u32>(queryKeyTokens + (<usize>k << 2)) & ~common) != 0) n = scanKey(a, k, true, n);
  }
  for (let k: u32 = 0; k < keys; k++) {
    if ((load<u32>(queryKeyTokens + (<usize>k << 2)) & ~common) == 0) n = scanKey(a, k, false, n);
  }
  return n;
}

/** Scores the query (querySet) against the lists in force, names of `type` (0: any): the hits at or over `threshold`. */
function run(type: u32, threshold: u32): void {
  const keys = queryKeysOf();
  hitsBar(threshold);
  nextStamp();
  hitCount = 0;
  scored = 0;
  for (let list: u32 = 1; list <= <u32>P.LISTS; list++) {
    const a = listArea(list);
    if (a === null) continue;
    const n = gather(a, keys);
    for (let c: u32 = 0; c < n; c++) candidate(a, list, load<u32>(candidates + (<usize>c << 2)), type, threshold);
  }
  assert(hitCount <= <u32>P.LISTS * namesMax, "hits are entries of the lists");
}

/** search: the checked search record at `rec`, answered. */
export function search(token: u32, rec: usize): void {
  const len = <u32>load<u8>(rec + P.SEARCH_NORMALIZED_LENGTH);
  if (!querySet(rec + P.SEARCH_NORMALIZED, len)) { refuse(token, P.REFUSED_MALFORMED, "compliance: a search of more than SEARCH_TOKENS_MAX words"); return; }
  const given = load<u32>(rec + P.SEARCH_THRESHOLD);
  run(<u32>load<u8>(rec + P.SEARCH_TYPE), given == 0 ? thresholdDefault : given);
  const n = selectTop(<u32>load<u8>(rec + P.SEARCH_LIMIT));
  for (let i: u32 = 0; i < n; i++) matchRecord(i, load<u64>(top + (<usize>i << 3)));
  assert(n <= hitCount, "the reply's matches are hits");
  replySend(token, n, <u64>scored | (<u64>hitCount << 32), n * <u32>P.MATCH_BYTES);
}

/**
 * A payment party's screening: the best hit (u32 list | u32 entry; 0: none)
 * of the normalised name at `name` (checked: valid, at most
 * SEARCH_TOKENS_MAX words) at or over `threshold`, any type, as a search of
 * limit 1 answers it.
 */
export function screenBest(name: usize, len: u32, threshold: u32): u64 {
  const taken = querySet(name, len);
  assert(taken, "a checked name");
  run(0, threshold);
  if (hitCount == 0) return 0;
  selectTop(1);
  return load<u64>(top);
}
