// The candidate index of a list in force ("blocking"): a search scores only
// the names that share a key with the query, not every name of the list.
//
// Keys of a token (normalised: a-z 0-9, each character a digit 1..36 base 37):
//   prefix  its first three characters (the whole token when shorter),
//   suffix  its last three characters, for a token longer than three, and
//   ends    its first and last characters and its length (at most ENDS_LENGTH),
//           for a token longer than one; a query token looks up its length
//           and one less and one more (a letter dropped or added),
// so a typo in the first letters of a word is still found by its last ones,
// one in the last letters by its first ones, and one in between by its ends
// ("smyth" and "smith" share no three letters at either end; a name of
// several words is found by any of them). A key is a number below KEYS
// (prefix keys, then suffix keys, then ends keys: kind * 37^3 + the
// characters), so the index is a table addressed by it, no hashing: keyStart
// [KEYS + 1] u32, and postings, the names holding each key in name order:
// the names of key k are postings[keyStart[k] .. keyStart[k + 1]), each as
// name << 4 | the token holding the key (a name is there once for each of its
// tokens that holds it), so a search knows how many of a name's words its
// keys met, not only how many of its own. A name's first TOKENS_INDEXED
// tokens are indexed (each token's distinct keys once); every token is
// scored. Built at commit, from the staged names in order, so the same list
// gives the same index.
//
// Beside it, the list's entries: each name's entry number (names of one
// entity id are one entry, and must be of one type), each entry's first
// name, and the search's working fields (search.ts): a stamp per name and per
// entry (the search that last saw it) and the entry's best score and name.

import * as P from "../protocol";
import { tokenize, NAME_TOKENS } from "./match";

const KEY_SPACE: u32 = 37 * 37 * 37;
const ENDS_LENGTH: u32 = 31;
/** Keys: prefix keys, then suffix keys, then ends keys (two characters and a length). */
export const KEYS: u32 = 2 * KEY_SPACE + 37 * 37 * (ENDS_LENGTH + 1);
const TOKENS_INDEXED: u32 = 12;
/** The keys of one name (or one query): three per token indexed. */
export const KEYS_PER_NAME: u32 = 3 * TOKENS_INDEXED;
/** A posting: name << POSTING_SHIFT | its token holding the key (below TOKENS_INDEXED). */
export const POSTING_SHIFT: u32 = 4;

// @ts-ignore: decorator
@unmanaged
export class IndexArea {
  keyStart: usize = 0;
  postings: usize = 0;
  nameEntity: usize = 0;
  nameStamp: usize = 0;
  /**
   * u32 per name, valid when its stamp is this search's: the query tokens (bits 0..15) whose keys the name holds, and
   * its tokens (bits 16..27) holding them.
   */
  nameHits: usize = 0;
  /** u8 per name: 1 when it has more than TOKENS_INDEXED tokens (those past them hold no key, so any may pair). */
  nameLong: usize = 0;
  entityFirst: usize = 0;
  entityBest: usize = 0;
  entityBestName: usize = 0;
  entityStamp: usize = 0;
  /** The names table it indexes (the bank it was built from). */
  names: usize = 0;
  count: u32 = 0;
  entities: u32 = 0;
  capacity: u32 = 0;
}

// A name's tokens (keys of) and a name's distinct keys.
const kStart = memory.data(<i32>NAME_TOKENS);
const kLen = memory.data(<i32>NAME_TOKENS);
// One token's keys.
const kOwn = memory.data(3 * 4, 4);
// The tokens of the text textKeys last took.
let textTokens: u32 = 0;
// The entity ids seen while building: open addressing, u32 entry + 1 (0: empty); from the heap at init.
let entityIndex: usize = 0;
let entityMask: u32 = 0;

/** An index area for `capacity` names, from the heap (zeroed memory, untouched until a list is built into it). */
export function indexAreaCreate(capacity: u32): IndexArea {
  assert(capacity > 0 && capacity <= 0x1000000, "index: capacity out of range");
  const a = changetype<IndexArea>(heap.alloc(offsetof<IndexArea>()));
  const words = <usize>capacity << 2;
  a.keyStart = heap.alloc((<usize>KEYS + 1) << 2);
  a.postings = heap.alloc(words * KEYS_PER_NAME);
  a.nameEntity = heap.alloc(words);
  a.nameStamp = heap.alloc(words);
  a.nameHits = heap.alloc(words);
  a.nameLong = heap.alloc(capacity);
  a.entityFirst = heap.alloc(words);
  a.entityBest = heap.alloc(words);
  a.entityBestName = heap.alloc(words);
  a.entityStamp = heap.alloc(words);
  a.names = 0;
  a.count = 0;
  a.entities = 0;
  a.capacity = capacity;
  if (entityIndex == 0) {
    let n: u32 = 16;
    while (n < capacity * 2) n <<= 1;
    entityIndex = heap.alloc(<usize>n << 2);
    entityMask = n - 1;
  }
  assert(entityMask + 1 >= capacity * 2, "the entity index is at most half full");
  return a;
}

/** A character of normalised text as a digit 1..36. */
// @ts-ignore: decorator
@inline function digit(c: u32): u32 {
  assert((c >= 97 && c <= 122) || (c >= 48 && c <= 57), "a character of normalised text");
  return c >= 97 ? c - 96 : c - 48 + 27;
}

/** The prefix key of a token. */
export function prefixKey(ptr: usize, len: u32): u32 {
  assert(len > 0, "a token");
  let k: u32 = 0;
  for (let i: u32 = 0; i < 3; i++) k = k * 37 + (i < len ? digit(<u32>load<u8>(ptr + i)) : 0);
  return k;
}

/** The suffix key of a token longer than three characters. */
export function suffixKey(ptr: usize, len: u32): u32 {
  assert(len > 3, "a suffix key is of a token longer than its prefix");
  let k: u32 = 0;
  for (let i: u32 = len - 3; i < len; i++) k = k * 37 + digit(<u32>load<u8>(ptr + i));
  return KEY_SPACE + k;
}

/** The ends key of a token of two characters or more, with the length `length` (its own, or one less or more). */
function endsKey(ptr: usize, len: u32, length: u32): u32 {
  assert(len > 1 && length > 0, "an ends key is of a token of two characters or more");
  const l = min(length, ENDS_LENGTH);
  return 2 * KEY_SPACE + (digit(<u32>load<u8>(ptr)) * 37 + digit(<u32>load<u8>(ptr + len - 1))) * (ENDS_LENGTH + 1) + l;
}

/**
 * Adds the keys of a token to the `n` keys at `keys` (each once; the table holds `room`); the new count.
 * A query's token (`query`) has the ends keys of its length and one less and one more; a name's token its own.
 */
export function tokenKeys(keys: usize, n: u32, room: u32, at: usize, len: u32, query: bool): u32 {
  assert(n + (query ? 5 : 3) <= room, "room for a token's keys");
  n = keyAdd(keys, n, prefixKey(at, len));
  if (len > 3) n = keyAdd(keys, n, suffixKey(at, len));
  if (len > 1) {
    n = keyAdd(keys, n, endsKey(at, len, len));
    if (query && len > 2) n = keyAdd(keys, n, endsKey(at, len, len - 1));
    if (query) n = keyAdd(keys, n, endsKey(at, len, len + 1));
  }
  return n;
}

/** Adds `key` to the `n` keys at `keys` unless there; the new count. */
function keyAdd(keys: usize, n: u32, key: u32): u32 {
  assert(key < KEYS, "a key");
  for (let i: u32 = 0; i < n; i++) if (load<u32>(keys + (<usize>i << 2)) == key) return n;
  store<u32>(keys + (<usize>n << 2), key);
  return n + 1;
}

/**
 * The keys of the first TOKENS_INDEXED tokens of normalised text, into `keys`, each as key << POSTING_SHIFT | its token
 * (each token's distinct keys once; two tokens with one key, both); their count.
 */
export function textKeys(ptr: usize, len: u32, keys: usize): u32 {
  const tokens = tokenize(ptr, len, kStart, kLen, NAME_TOKENS);
  assert(tokens > 0 && TOKENS_INDEXED <= 1 << POSTING_SHIFT, "normalised text has a token; a token fits its bits of a posting");
  const indexed = min(<u32>tokens, TOKENS_INDEXED);
  textTokens = <u32>tokens;
  let n: u32 = 0;
  for (let t: u32 = 0; t < indexed; t++) {
    const own = tokenKeys(kOwn, 0, 3, ptr + <usize>load<u8>(kStart + t), <u32>load<u8>(kLen + t), false);
    for (let j: u32 = 0; j < own; j++) store<u32>(keys + (<usize>(n + j) << 2), load<u32>(kOwn + (<usize>j << 2)) << POSTING_SHIFT | t);
    n += own;
  }
  assert(n <= KEYS_PER_NAME, "the keys fit their table");
  return n;
}

/** The names of `key`: the first posting's address, and how many. */
export function postingsOf(a: IndexArea, key: u32): usize {
  assert(key < KEYS, "a key");
  return a.postings + (<usize>load<u32>(a.keyStart + (<usize>key << 2)) << 2);
}
export function postingCount(a: IndexArea, key: u32): u32 {
  assert(key < KEYS, "a key");
  return load<u32>(a.keyStart + (<usize>(key + 1) << 2)) - load<u32>(a.keyStart + (<usize>key << 2));
}

/** Name record number `i` of the table at `names`. */
export function nameAt(names: usize, i: u32): usize {
  assert(names != 0, "a names table");
  return names + <usize>i * P.NAME_BYTES;
}

/** The postings of the `count` names at `names` (counting sort by key: each key's names in name order). */
function buildPostings(a: IndexArea, names: usize, count: u32, keys: usize): void {
  assert(count <= a.capacity, "the names fit the index");
  const starts = a.keyStart;
  memory.fill(starts, 0, (<usize>KEYS + 1) << 2);
  for (let i: u32 = 0; i < count; i++) {
    const r = nameAt(names, i);
    const n = textKeys(r + P.NAME_NORMALIZED, <u32>load<u8>(r + P.NAME_NORMALIZED_LENGTH), keys);
    for (let j: u32 = 0; j < n; j++) {
      const at = starts + (<usize>((load<u32>(keys + (<usize>j << 2)) >> POSTING_SHIFT) + 1) << 2);
      store<u32>(at, load<u32>(at) + 1);
    }
  }
  for (let k: u32 = 1; k <= KEYS; k++) store<u32>(starts + (<usize>k << 2), load<u32>(starts + (<usize>k << 2)) + load<u32>(starts + (<usize>(k - 1) << 2)));
  assert(load<u32>(starts + (<usize>KEYS << 2)) <= count * KEYS_PER_NAME, "the postings fit their table");
  // Fill: each key's cursor moves from its start to the next key's start; then shifted back one key.
  for (let i: u32 = 0; i < count; i++) {
    const r = nameAt(names, i);
    const n = textKeys(r + P.NAME_NORMALIZED, <u32>load<u8>(r + P.NAME_NORMALIZED_LENGTH), keys);
    store<u8>(a.nameLong + i, textTokens > TOKENS_INDEXED ? 1 : 0);
    for (let j: u32 = 0; j < n; j++) {
      const e = load<u32>(keys + (<usize>j << 2));
      const at = starts + (<usize>(e >> POSTING_SHIFT) << 2);
      const p = load<u32>(at);
      store<u32>(a.postings + (<usize>p << 2), i << POSTING_SHIFT | (e & ((1 << POSTING_SHIFT) - 1)));
      store<u32>(at, p + 1);
    }
  }
  for (let k = KEYS; k > 0; k--) store<u32>(starts + (<usize>k << 2), load<u32>(starts + (<usize>(k - 1) << 2)));
  store<u32>(starts, 0);
}

/** FNV-1a, 32-bit, of an entity id. */
function idHash(ptr: usize, len: u32): u32 {
  assert(len > 0 && len <= <u32>P.ENTITY_ID_MAX, "an entity id");
  let h: u32 = 0x811c9dc5;
  for (let i: u32 = 0; i < len; i++) { h ^= <u32>load<u8>(ptr + i); h *= 0x01000193; }
  return h;
}

/** Whether name records x and y have the same entity id. */
export function sameId(x: usize, y: usize): bool {
  const len = <u32>load<u8>(x + P.NAME_ID_LENGTH);
  assert(len <= <u32>P.ENTITY_ID_MAX, "an id of its slot");
  return len == <u32>load<u8>(y + P.NAME_ID_LENGTH) && memory.compare(x + P.NAME_ID, y + P.NAME_ID, len) == 0;
}

/** Numbers the entries of the names (by entity id, in order of first name); an error, or null. */
function buildEntities(a: IndexArea, names: usize, count: u32): string | null {
  assert(count <= a.capacity && (entityMask + 1) >= count * 2, "the entries fit the index");
  memory.fill(entityIndex, 0, (<usize>entityMask + 1) << 2);
  let entities: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const r = nameAt(names, i);
    let slot = idHash(r + P.NAME_ID, <u32>load<u8>(r + P.NAME_ID_LENGTH)) & entityMask;
    let e: i32 = -1;
    for (let v = load<u32>(entityIndex + (<usize>slot << 2)); v != 0; v = load<u32>(entityIndex + (<usize>slot << 2))) {
      if (sameId(r, nameAt(names, load<u32>(a.entityFirst + (<usize>(v - 1) << 2))))) { e = <i32>(v - 1); break; }
      slot = (slot + 1) & entityMask;
    }
    if (e < 0) {
      e = <i32>entities;
      entities++;
      store<u32>(a.entityFirst + (<usize>e << 2), i);
      store<u32>(entityIndex + (<usize>slot << 2), <u32>e + 1);
    } else if (load<u8>(nameAt(names, load<u32>(a.entityFirst + (<usize>e << 2))) + P.NAME_TYPE) != load<u8>(r + P.NAME_TYPE)) {
      return "compliance: the names of one entity id are of two types";
    }
    store<u32>(a.nameEntity + (<usize>i << 2), <u32>e);
  }
  a.entities = entities;
  return null;
}

/** Builds the index of the `count` names at `names` into `a`, `keys` a scratch of KEYS_PER_NAME u32; an error, or null. */
export function indexBuild(a: IndexArea, names: usize, count: u32, keys: usize): string | null {
  assert(count <= a.capacity, "the names fit the index");
  a.names = names;
  a.count = count;
  const e = buildEntities(a, names, count);
  if (e !== null) return e;
  buildPostings(a, names, count, keys);
  return null;
}

/** The stamp arrays of `a` back to zeros (the search stamp wrapped around). */
export function indexStampsClear(a: IndexArea): void {
  assert(a.capacity > 0, "an index area");
  memory.fill(a.nameStamp, 0, <usize>a.capacity << 2);
  memory.fill(a.entityStamp, 0, <usize>a.capacity << 2);
}
