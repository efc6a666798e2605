// lib/store/reads.ts: point lookups and range scans of a tree, in the two
// steps of the prefetch protocol (docs/storage.md, "Deterministic reads").
//
// treePrefetch / treeScanPrefetch walk the tree as the read will, and for
// every block the read needs that is not cached they call cacheWant and
// answer "not ready" (TREE_WAIT). The caller has the blocks delivered
// (cacheFill) and asks again, until TREE_READY; every block touched is pinned
// for the prefetch epoch. treeGet / treeScan then run from memory only: a
// block they need and do not find cached is a bug of the prefetch, and
// traps.
//
// A lookup reads, newest first, the memtable, the L0 tables that may hold the
// key (by key range, then bloom filter), then in each deeper level the one
// table whose range holds it. A table costs its index block, then one data
// block: a lookup that ends in a table takes two rounds, after one more the
// first time that table's filter is needed after boot. A filter says "no"
// for all but about 1 in 120 absent keys, so a new id, the common case,
// costs no read at all.
//
// A scan merges the memtable and every table whose range meets [lo, hi],
// newest version of a key first. Its prefetch cannot know where the merge
// will stop, so it takes, from each source, the blocks that hold that
// source's first `limit` records in range: a superset, in two rounds (index
// blocks, then data blocks), never a round per block.

import { Cache, cacheGet, cachePeek, cacheWant } from "./cache";
import { blockBody, blockRecords } from "./block";
import { keyCompare } from "./keys";
import { memtableFind, memtableLowerBound, memtableRanked, memtableSort } from "./memtable";
import {
  dataLowerBound, dataRecord, desc, descFilter, descOverlaps, DESC_FILTER_ADDRESS, DESC_FILTER_CHECKSUM, DESC_FILTER_LOADED,
  DESC_INDEX_ADDRESS, DESC_INDEX_CHECKSUM, DESC_KEY_MAX, DESC_KEY_MIN, DESC_RECORDS, entryAddress, entryChecksum, entryKey, entryRecords, filterMayContain, indexSeek,
  levelCount, levelSeek, levelTable, Tree, TREE_SOURCE_BYTES,
} from "./tree";

export const TREE_READY: i32 = 1;
export const TREE_WAIT: i32 = 0; // blocks were wanted: deliver them and ask again
export const TREE_CACHE_FULL: i32 = -2; // every cache slot is pinned by this epoch: the cache is too small for the batch

// What visiting one table answered.
const NEXT: i32 = 0; // not here: go on to older tables
const FOUND: i32 = 1;
const WAIT: i32 = 2;
const CACHE_FULL: i32 = 3;
// Phases of a lookup's walk.
const PHASE_FILTERS: i32 = 0;
const PHASE_PROBE: i32 = 1;
const PHASE_GET: i32 = 2;

/** The cached block, or 0 after wanting it (or -1 as usize when the cache has no slot for it). */
function need(c: Cache, t: Tree, address: u64, checksum: usize, level: u32): usize {
  const b = cacheGet(c, address, checksum);
  if (b != 0) return b;
  assert(address != 0, "tree: a block at address 0");
  return cacheWant(c, address, checksum, t.id, <u8>level) ? 0 : <usize>-1;
}

/** Loads table `id`'s filter into memory if it is cached; WAIT after wanting it. */
function visitFilter(t: Tree, id: u32, level: u32): i32 {
  const d = desc(t, id);
  if (t.filterBytes == 0 || load<u8>(d + DESC_FILTER_LOADED) == 1) return NEXT;
  // Copied into memory at once: the block need not stay pinned.
  const b = cachePeek(t.cache, load<u64>(d + DESC_FILTER_ADDRESS), d + DESC_FILTER_CHECKSUM);
  if (b == 0) return cacheWant(t.cache, load<u64>(d + DESC_FILTER_ADDRESS), d + DESC_FILTER_CHECKSUM, t.id, <u8>level, false) ? WAIT : CACHE_FULL;
  assert(blockRecords(b) == load<u32>(d + DESC_RECORDS), "tree: a filter block that is not its table's");
  memory.copy(descFilter(t, id), blockBody(b), t.filterBytes);
  store<u8>(d + DESC_FILTER_LOADED, 1);
  return NEXT;
}

/** Looks for `key` in table `id`: FOUND (value copied to `out` when PHASE_GET), NEXT, WAIT or CACHE_FULL. */
function visitTable(t: Tree, id: u32, level: u32, key: usize, phase: i32, out: usize): i32 {
  if (!filterMayContain(t, id, key)) return NEXT;
  const d = desc(t, id);
  const index = need(t.cache, t, load<u64>(d + DESC_INDEX_ADDRESS), d + DESC_INDEX_CHECKSUM, level);
  if (index == <usize>-1) return CACHE_FULL;
  assert(index != 0 || phase != PHASE_GET, "tree: get found an index block uncached (a prefetch bug)");
  if (index == 0) return WAIT;
  const e = indexSeek(t, index, key);
  if (e < 0) return NEXT;
  const data = need(t.cache, t, entryAddress(t, index, <u32>e), entryChecksum(t, index, <u32>e), level);
  if (data == <usize>-1) return CACHE_FULL;
  assert(data != 0 || phase != PHASE_GET, "tree: get found a data block uncached (a prefetch bug)");
  if (data == 0) return WAIT;
  const i = dataLowerBound(t, data, key);
  if (i == blockRecords(data) || keyCompare(dataRecord(t, data, i), key, t.keyBytes) != 0) return NEXT;
  if (phase == PHASE_GET) memory.copy(out, dataRecord(t, data, i) + t.keyBytes, t.valueBytes);
  return FOUND;
}

function visit(t: Tree, id: u32, level: u32, key: usize, phase: i32, out: usize): i32 {
  assert(phase >= PHASE_FILTERS && phase <= PHASE_GET, "tree: no such phase");
  return phase == PHASE_FILTERS ? visitFilter(t, id, level) : visitTable(t, id, level, key, phase, out);
}

/** Visits, newest first, every table that may hold `key`, until one answers other than NEXT. */
function walk(t: Tree, key: usize, phase: i32, out: usize): i32 {
  let waiting = false;
  for (let i = <i32>levelCount(t, 0) - 1; i >= 0; i--) {
    const id = levelTable(t, 0, <u32>i);
    if (!descOverlaps(t, id, key, key)) continue;
    const r = visit(t, id, 0, key, phase, out);
    // Filters are wanted for every table at once: they cost one round, whatever their number
    // (or as many as the cache has room for: the next round takes the rest).
    if (r == WAIT && phase == PHASE_FILTERS) { waiting = true; continue; }
    if (r == CACHE_FULL && waiting) return WAIT;
    if (r != NEXT) return r;
  }
  for (let level: u32 = 1; level < t.levels; level++) {
    const p = levelSeek(t, level, key);
    if (p == levelCount(t, level) || !descOverlaps(t, levelTable(t, level, p), key, key)) continue;
    const r = visit(t, levelTable(t, level, p), level, key, phase, out);
    if (r == WAIT && phase == PHASE_FILTERS) { waiting = true; continue; }
    if (r == CACHE_FULL && waiting) return WAIT;
    if (r != NEXT) return r;
  }
  assert(!waiting || phase == PHASE_FILTERS, "tree: waiting outside the filter phase");
  return waiting ? WAIT : NEXT;
}

/** Step one of a lookup: TREE_READY when treeGet(key) will find every block it needs cached; TREE_WAIT or TREE_CACHE_FULL. */
export function treePrefetch(t: Tree, key: usize): i32 {
  assert(key != 0, "tree: a key at address 0");
  if (memtableFind(t.memtable, key) != 0) return TREE_READY;
  let r = walk(t, key, PHASE_FILTERS, 0);
  if (r == NEXT) r = walk(t, key, PHASE_PROBE, 0);
  if (r == CACHE_FULL) return TREE_CACHE_FULL;
  return r == WAIT ? TREE_WAIT : TREE_READY;
}

/** Step two: copies the newest value of `key` to `out` and returns true, or false when the tree does not hold it. */
export function treeGet(t: Tree, key: usize, out: usize): bool {
  assert(key != 0 && out != 0, "tree: get at address 0");
  const r = memtableFind(t.memtable, key);
  if (r != 0) {
    memory.copy(out, r + t.keyBytes, t.valueBytes);
    return true;
  }
  return walk(t, key, PHASE_GET, out) == FOUND;
}

// ---- scans ----

// Records of the prefetched blocks known to be in range, across the tables
// of one level (scanPrefetchTable adds to it).
let scanCounted: u32 = 0;

/**
 * Wants the data blocks holding table `id`'s first records in [lo, hi] until
 * scanCounted reaches `limit`. In the first table of a source (`first`) the
 * block holding the range's start may hold no record in range, so it is not
 * counted; a later table of the same level lies wholly past the start.
 */
function scanPrefetchTable(t: Tree, id: u32, level: u32, lo: usize, hi: usize, limit: u32, ascending: bool, first: bool): i32 {
  const d = desc(t, id);
  const index = need(t.cache, t, load<u64>(d + DESC_INDEX_ADDRESS), d + DESC_INDEX_CHECKSUM, level);
  if (index == <usize>-1) return CACHE_FULL;
  if (index == 0) return WAIT;
  const n = <i32>blockRecords(index);
  let s = indexSeek(t, index, ascending ? lo : hi);
  if (s < 0) s = 0;
  let waiting = false;
  for (let e = s; e >= 0 && e < n; e += ascending ? 1 : -1) {
    // Stop at the first block wholly outside the range: keys of block e are below block e + 1's first key.
    if (ascending && e > s && keyCompare(entryKey(t, index, <u32>e), hi, t.keyBytes) > 0) break;
    if (!ascending && e < s && keyCompare(entryKey(t, index, <u32>(e + 1)), lo, t.keyBytes) <= 0) break;
    const b = need(t.cache, t, entryAddress(t, index, <u32>e), entryChecksum(t, index, <u32>e), level);
    if (b == <usize>-1) return CACHE_FULL;
    if (b == 0) waiting = true;
    if (e != s || !first || startInRange(t, id, index, e, lo, hi, ascending)) scanCounted += entryRecords(t, index, <u32>e);
    if (scanCounted >= limit) break;
  }
  assert(n > 0, "tree: an index block without entries");
  return waiting ? WAIT : NEXT;
}

/**
 * Whether every record of the start block `e` is on the range's near side
 * (at or above lo ascending, at or below hi descending), so it may be
 * counted; records past the far end may be counted too: the scan stops there
 * without reading further.
 */
function startInRange(t: Tree, id: u32, index: usize, e: i32, lo: usize, hi: usize, ascending: bool): bool {
  assert(e >= 0 && e < <i32>blockRecords(index), "tree: a start block outside the index");
  if (ascending) return keyCompare(entryKey(t, index, <u32>e), lo, t.keyBytes) >= 0;
  return e == <i32>blockRecords(index) - 1 && keyCompare(desc(t, id) + DESC_KEY_MAX, hi, t.keyBytes) <= 0;
}

/** The position in `level` (L1 and below) where a scan starts: the first table meeting the range in its direction, or -1. */
function levelStart(t: Tree, level: u32, lo: usize, hi: usize, ascending: bool): i32 {
  const n = levelCount(t, level);
  let p = <i32>levelSeek(t, level, ascending ? lo : hi);
  if (!ascending && (p == <i32>n || keyCompare(desc(t, levelTable(t, level, <u32>p)) + DESC_KEY_MIN, hi, t.keyBytes) > 0)) p--;
  if (p < 0 || p >= <i32>n || !descOverlaps(t, levelTable(t, level, <u32>p), lo, hi)) return -1;
  assert(level > 0, "tree: L0 is not sorted by key");
  return p;
}

/** Prefetches one level (L1 and below): its tables in the scan's direction, until `limit` records are counted. */
function scanPrefetchLevel(t: Tree, level: u32, lo: usize, hi: usize, limit: u32, ascending: bool): i32 {
  let p = levelStart(t, level, lo, hi, ascending);
  scanCounted = 0;
  let waiting = false;
  for (let first = true; p >= 0 && p < <i32>levelCount(t, level); p += ascending ? 1 : -1, first = false) {
    const id = levelTable(t, level, <u32>p);
    if (!descOverlaps(t, id, lo, hi)) break;
    const r = scanPrefetchTable(t, id, level, lo, hi, limit, ascending, first);
    if (r == CACHE_FULL) return CACHE_FULL;
    if (r == WAIT) waiting = true;
    // The next table's index is wanted only once this one's blocks are counted.
    if (waiting || scanCounted >= limit) break;
  }
  assert(scanCounted <= 0xFFFFFFFF, "tree: a count beyond a u32");
  return waiting ? WAIT : NEXT;
}

/**
 * Step one of a scan of at most `limit` records with keys in [lo, hi],
 * ascending or descending: TREE_READY when treeScan will find every block it
 * needs cached; TREE_WAIT or TREE_CACHE_FULL.
 */
export function treeScanPrefetch(t: Tree, lo: usize, hi: usize, limit: u32, ascending: bool): i32 {
  assert(keyCompare(lo, hi, t.keyBytes) <= 0 && limit > 0, "tree: an empty scan range");
  memtableSort(t.memtable);
  let waiting = false;
  for (let i: u32 = 0; i < levelCount(t, 0); i++) {
    const id = levelTable(t, 0, i);
    if (!descOverlaps(t, id, lo, hi)) continue;
    scanCounted = 0;
    const r = scanPrefetchTable(t, id, 0, lo, hi, limit, ascending, true);
    if (r == CACHE_FULL) return TREE_CACHE_FULL;
    if (r == WAIT) waiting = true;
  }
  for (let level: u32 = 1; level < t.levels; level++) {
    const r = scanPrefetchLevel(t, level, lo, hi, limit, ascending);
    if (r == CACHE_FULL) return TREE_CACHE_FULL;
    if (r == WAIT) waiting = true;
  }
  return waiting ? TREE_WAIT : TREE_READY;
}

// A scan source (TREE_SOURCE_BYTES): u32 table id (0xFFFFFFFF: the memtable),
// i32 entry, i32 record position, u32 done, usize index block, u32 level,
// usize data block, i32 position in the level. An L0 table is a source of
// its own; each deeper level is one source that moves from table to table.
const MEMTABLE: u32 = 0xFFFFFFFF;
// @ts-ignore: decorator
@inline function src(t: Tree, s: u32): usize { return t.sources + <usize>s * TREE_SOURCE_BYTES; }

/** The data block of entry `e` of a source's index, which the prefetch must have cached. */
function sourceBlock(t: Tree, index: usize, e: i32): usize {
  const b = cacheGet(t.cache, entryAddress(t, index, <u32>e), entryChecksum(t, index, <u32>e));
  assert(b != 0, "tree: a scan found a data block uncached (a prefetch bug)");
  return b;
}

function sourceOpenTable(t: Tree, s: usize, level: u32, p: i32, lo: usize, hi: usize, ascending: bool): void {
  const id = levelTable(t, level, <u32>p);
  const d = desc(t, id);
  const index = cacheGet(t.cache, load<u64>(d + DESC_INDEX_ADDRESS), d + DESC_INDEX_CHECKSUM);
  assert(index != 0, "tree: a scan found an index block uncached (a prefetch bug)");
  let e = indexSeek(t, index, ascending ? lo : hi);
  if (e < 0) e = 0;
  const data = sourceBlock(t, index, e);
  let pos = <i32>dataLowerBound(t, data, ascending ? lo : hi);
  if (!ascending && (pos == <i32>blockRecords(data) || keyCompare(dataRecord(t, data, pos), hi, t.keyBytes) != 0)) pos--;
  store<u32>(s, id);
  store<i32>(s + 4, e);
  store<i32>(s + 8, pos);
  store<u32>(s + 12, 0);
  store<usize>(s + 16, index);
  store<u32>(s + 20, level);
  store<usize>(s + 24, data);
  store<i32>(s + 28, p);
}

function sourceOpenMemtable(t: Tree, s: usize, lo: usize, hi: usize, ascending: bool): void {
  const m = t.memtable;
  let rank = <i32>memtableLowerBound(m, ascending ? lo : hi);
  if (!ascending && (rank == <i32>m.count || keyCompare(memtableRanked(m, rank), hi, t.keyBytes) != 0)) rank--;
  store<u32>(s, MEMTABLE);
  store<i32>(s + 8, rank);
  store<u32>(s + 12, 0);
  assert(rank >= -1 && rank <= <i32>m.count, "tree: a memtable rank out of range");
}

/** The record at a source's head, or 0 when it has no more in [lo, hi]. Moves to the next data block or table when needed. */
function sourceHead(t: Tree, s: usize, lo: usize, hi: usize, ascending: bool): usize {
  if (load<u32>(s + 12) != 0) return 0;
  let r: usize = 0;
  const pos = load<i32>(s + 8);
  if (load<u32>(s) == MEMTABLE) {
    if (pos >= 0 && pos < <i32>t.memtable.count) r = memtableRanked(t.memtable, <u32>pos);
  } else {
    r = tableHead(t, s, lo, hi, ascending);
  }
  if (r != 0 && (ascending ? keyCompare(r, hi, t.keyBytes) > 0 : keyCompare(r, lo, t.keyBytes) < 0)) r = 0;
  if (r == 0) store<u32>(s + 12, 1);
  assert(r == 0 || load<u32>(s + 12) == 0, "tree: a source with a head is done");
  return r;
}

function tableHead(t: Tree, s: usize, lo: usize, hi: usize, ascending: bool): usize {
  while (true) {
    const index = load<usize>(s + 16);
    const data = load<usize>(s + 24);
    const pos = load<i32>(s + 8);
    if (pos >= 0 && pos < <i32>blockRecords(data)) return dataRecord(t, data, <u32>pos);
    // The next block in the scan's direction, unless it lies wholly outside the range (never prefetched then).
    const e = load<i32>(s + 4) + (ascending ? 1 : -1);
    if (e >= 0 && e < <i32>blockRecords(index)) {
      if (ascending && keyCompare(entryKey(t, index, <u32>e), hi, t.keyBytes) > 0) return 0;
      if (!ascending && keyCompare(entryKey(t, index, <u32>(e + 1)), lo, t.keyBytes) <= 0) return 0;
      const next = sourceBlock(t, index, e);
      store<i32>(s + 4, e);
      store<i32>(s + 8, ascending ? 0 : <i32>blockRecords(next) - 1);
      store<usize>(s + 24, next);
      continue;
    }
    // The table is done: in L1 and below, the level's next table, if it meets the range.
    const level = load<u32>(s + 20);
    const p = load<i32>(s + 28) + (ascending ? 1 : -1);
    if (level == 0 || p < 0 || p >= <i32>levelCount(t, level) || !descOverlaps(t, levelTable(t, level, <u32>p), lo, hi)) return 0;
    sourceOpenTable(t, s, level, p, lo, hi, ascending);
  }
  assert(false, "tree: unreachable");
  return 0;
}

/** Opens the memtable, every L0 table meeting [lo, hi] and each deeper level as sources, newest first; returns their count. */
function sourcesOpen(t: Tree, lo: usize, hi: usize, ascending: bool): u32 {
  let n: u32 = 1;
  sourceOpenMemtable(t, src(t, 0), lo, hi, ascending);
  for (let i = <i32>levelCount(t, 0) - 1; i >= 0; i--) {
    if (descOverlaps(t, levelTable(t, 0, <u32>i), lo, hi)) sourceOpenTable(t, src(t, n++), 0, i, lo, hi, ascending);
  }
  for (let level: u32 = 1; level < t.levels; level++) {
    const p = levelStart(t, level, lo, hi, ascending);
    if (p >= 0) sourceOpenTable(t, src(t, n++), level, p, lo, hi, ascending);
  }
  assert(n <= t.tablesMax + 1, "tree: more scan sources than tables");
  return n;
}
/**
 * Step two of a scan: writes at most `limit` records (key | value) with keys
 * in [lo, hi] to `out`, in ascending or descending key order, the newest
 * version of each key; returns how many. To page, scan again from the key
 * after the last one returned (keyIncrement / keyDecrement).
 */
export function treeScan(t: Tree, lo: usize, hi: usize, limit: u32, ascending: bool, out: usize): u32 {
  assert(keyCompare(lo, hi, t.keyBytes) <= 0 && out != 0, "tree: an empty scan range");
  const sources = sourcesOpen(t, lo, hi, ascending);
  let count: u32 = 0;
  while (count < limit) {
    let best: usize = 0;
    for (let i: u32 = 0; i < sources; i++) {
      const h = sourceHead(t, src(t, i), lo, hi, ascending);
      if (h == 0) continue;
      // Strictly better only: on a tie the earlier source, the newer, wins.
      if (best == 0 || (ascending ? keyCompare(h, best, t.keyBytes) < 0 : keyCompare(h, best, t.keyBytes) > 0)) best = h;
    }
    if (best == 0) break;
    const at = out + <usize>count * t.recordBytes;
    memory.copy(at, best, t.recordBytes);
    count++;
    // Every source at this key moves past it: older versions are hidden by the one taken.
    for (let i: u32 = 0; i < sources; i++) {
      const s = src(t, i);
      const h = sourceHead(t, s, lo, hi, ascending);
      if (h != 0 && keyCompare(h, at, t.keyBytes) == 0) store<i32>(s + 8, load<i32>(s + 8) + (ascending ? 1 : -1));
    }
  }
  // The sources point into the cache: nothing of them may outlive the scan, or
  // what the cache held would show in the tree's memory (the state digest
  // skips only the cache: services/sdk/ABI.md).
  memory.fill(t.sources, 0, <usize>sources * TREE_SOURCE_BYTES);
  return count;
}
