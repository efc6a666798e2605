// lib/store/memtable.ts: a tree's mutable table: the records put since the
// last flush, in memory, at most `capacity` of them (the caller's size).
//
// Records (key | value) are appended in arrival order and found by key
// through an open-addressing table, so a put and a point lookup cost O(1),
// and a put of a key already here replaces its value in place (upsert). The
// key order (`order`, record indexes) is kept sorted lazily: a put of a key
// above every key so far (the common case for timestamps, which only grow)
// keeps it sorted for free; any other put marks it unsorted, and the next
// reader that needs order (a scan, the flush) sorts it once, by merge sort
// with a scratch array of the same size. Keeping it sorted on every put
// would move O(capacity) bytes per random-id put instead.

import { keyCompare, keyHash } from "./keys";

// @ts-ignore: decorator
@unmanaged
export class Memtable {
  keyBytes: u32 = 0;
  recordBytes: u32 = 0;
  capacity: u32 = 0;
  count: u32 = 0;
  records: usize = 0;
  /** Record indexes in key order, when `sorted`. */
  order: usize = 0;
  scratch: usize = 0;
  sorted: bool = true;
  /** u32 record index + 1 (0: empty); linear probing. */
  map: usize = 0;
  mapBits: u32 = 0;
}

// @ts-ignore: decorator
@inline export function memtableRecord(m: Memtable, index: u32): usize { return m.records + <usize>index * m.recordBytes; }
// @ts-ignore: decorator
@inline function orderAt(base: usize, i: u32): u32 { return load<u32>(base + (<usize>i << 2)); }

export function memtableCreate(keyBytes: u32, recordBytes: u32, capacity: u32): Memtable {
  assert(capacity > 0 && capacity <= 0x1000000 && recordBytes >= keyBytes, "memtable: size out of range");
  const m = new Memtable();
  m.keyBytes = keyBytes;
  m.recordBytes = recordBytes;
  m.capacity = capacity;
  m.records = heap.alloc(<usize>capacity * recordBytes);
  m.order = heap.alloc(<usize>capacity * 4);
  m.scratch = heap.alloc(<usize>capacity * 4);
  let bits: u32 = 4;
  while ((<u32>1 << bits) < capacity * 2) bits++;
  m.mapBits = bits;
  m.map = heap.alloc(<usize>4 << bits);
  memtableClear(m);
  return m;
}

export function memtableClear(m: Memtable): void {
  assert(m.capacity > 0, "memtable: not created");
  memory.fill(m.map, 0, <usize>4 << m.mapBits);
  m.count = 0;
  m.sorted = true;
}

/** The map entry holding `key`, or the empty entry where it would go. */
function mapFind(m: Memtable, key: usize): usize {
  const mask = (<u32>1 << m.mapBits) - 1;
  let i = <u32>(keyHash(key, m.keyBytes) >> (64 - <u64>m.mapBits));
  // At most half full, so an empty entry ends every probe run.
  for (let probes: u32 = 0; probes <= mask; probes++) {
    const at = m.map + (<usize>i << 2);
    const v = load<u32>(at);
    if (v == 0 || keyCompare(memtableRecord(m, v - 1), key, m.keyBytes) == 0) return at;
    i = (i + 1) & mask;
  }
  assert(false, "memtable: the key map is full");
  return 0;
}

/** The record with `key`, or 0. */
export function memtableFind(m: Memtable, key: usize): usize {
  const v = load<u32>(mapFind(m, key));
  assert(v <= m.count, "memtable: a map entry beyond the records");
  return v == 0 ? 0 : memtableRecord(m, v - 1);
}

/** Puts the record (key | value) at `record`; false, and nothing changed, when the table is full and the key new. */
export function memtablePut(m: Memtable, record: usize): bool {
  const at = mapFind(m, record);
  const v = load<u32>(at);
  if (v != 0) {
    memory.copy(memtableRecord(m, v - 1), record, m.recordBytes);
    return true;
  }
  if (m.count == m.capacity) return false;
  const index = m.count;
  memory.copy(memtableRecord(m, index), record, m.recordBytes);
  store<u32>(at, index + 1);
  if (m.sorted && index > 0) {
    const last = orderAt(m.order, index - 1);
    m.sorted = keyCompare(memtableRecord(m, last), record, m.keyBytes) < 0;
  }
  store<u32>(m.order + (<usize>index << 2), index);
  m.count = index + 1;
  assert(m.count <= m.capacity, "memtable: more records than the capacity");
  return true;
}

/** Sorts `order` by key if a put left it unsorted (bottom-up merge sort). */
export function memtableSort(m: Memtable): void {
  if (m.sorted) return;
  const n = m.count;
  for (let i: u32 = 0; i < n; i++) store<u32>(m.order + (<usize>i << 2), i);
  let from = m.order, to = m.scratch;
  for (let width: u32 = 1; width < n; width <<= 1) {
    for (let lo: u32 = 0; lo < n; lo += width * 2) {
      mergeRuns(m, from, to, lo, min(lo + width, n), min(lo + width * 2, n));
    }
    const t = from; from = to; to = t;
  }
  if (from != m.order) memory.copy(m.order, from, <usize>n << 2);
  m.sorted = true;
  assert(n < 2 || keyCompare(memtableRecord(m, orderAt(m.order, 0)), memtableRecord(m, orderAt(m.order, n - 1)), m.keyBytes) < 0, "memtable: sort failed");
}

function mergeRuns(m: Memtable, from: usize, to: usize, lo: u32, mid: u32, hi: u32): void {
  assert(lo <= mid && mid <= hi, "memtable: a merge of runs out of order");
  let i = lo, j = mid, k = lo;
  while (i < mid && j < hi) {
    const a = orderAt(from, i), b = orderAt(from, j);
    if (keyCompare(memtableRecord(m, a), memtableRecord(m, b), m.keyBytes) <= 0) { store<u32>(to + (<usize>k << 2), a); i++; }
    else { store<u32>(to + (<usize>k << 2), b); j++; }
    k++;
  }
  while (i < mid) { store<u32>(to + (<usize>k << 2), orderAt(from, i)); i++; k++; }
  while (j < hi) { store<u32>(to + (<usize>k << 2), orderAt(from, j)); j++; k++; }
}

/** The record of rank `rank` in key order (after memtableSort). */
export function memtableRanked(m: Memtable, rank: u32): usize {
  assert(m.sorted && rank < m.count, "memtable: rank out of range or unsorted");
  return memtableRecord(m, orderAt(m.order, rank));
}

/** The rank of the first record whose key is >= `key` (count when none), after memtableSort. */
export function memtableLowerBound(m: Memtable, key: usize): u32 {
  assert(m.sorted, "memtable: searched unsorted");
  let lo: u32 = 0, hi = m.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyCompare(memtableRecord(m, orderAt(m.order, mid)), key, m.keyBytes) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
