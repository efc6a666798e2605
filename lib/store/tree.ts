// lib/store/tree.ts: an LSM tree of fixed-size records over the grid
// (docs/storage.md#trees): its state, its tables and how they are written.
// Reads are in reads.ts, compaction in compact.ts, the manifest in
// manifest.ts; all of them work on the Tree declared here.
//
// A record is key | value, both of a size fixed per tree (keys.ts: key_bytes
// 8..32, compared as one little-endian unsigned integer; value_bytes 0 to
// TREE_VALUE_BYTES_MAX: 0 makes a set of keys, as an index by (account,
// timestamp) is). New records go to the memtable; treeFlush writes it
// as a new level-0 table. A table is immutable:
//   - data blocks: records packed in key order, as many as fit a block body;
//   - one index block: for each data block, its first key, address,
//     checksum and record count (entryBytes = key_bytes + 32), so a table has
//     at most `entriesPerIndex` data blocks;
//   - one filter block: the table's bloom filter (below), in a tree that
//     has filters;
//   - a descriptor in memory (key min/max, the index and filter blocks'
//     addresses and checksums, counts), which is what the manifest persists.
// Levels: L0 holds tables in the order flushed (they may overlap; the newest
// wins); L1.. hold tables sorted by key that never overlap. A level over its
// capacity (l0Max tables for L0, growth^i for Li) is compacted into the next
// (compact.ts). The last level is unbounded but for the descriptor count.
//
// Bloom filters: one per table, FILTER_PROBES probes into a power-of-two bit
// array of at least TREE_FILTER_BITS_PER_KEY bits per record of a full table
// (tableRecordsMax), so a false positive costs one table in about 120.
// They live in memory, tablesMax × filterBytes (about 10 to 20 bits per key
// of history, by how full tables are), and on disk in the table's filter
// block, read once after boot, when a lookup first needs it. A tree whose
// point lookups the key ranges already answer (keys that only grow, such as
// timestamps: tables never overlap, and a key in a table's range is in it)
// or that is only scanned has none (TreeConfig.filter false): no filter
// memory, no filter block, and a table may then be as large as one index
// block can name.
//
// Everything is allocated at treeCreate from the caller's sizes; nothing
// after (the stub runtime never frees).

import { Cache, cachePut } from "./cache";
import { blockChecksum, blockRecords, blockSeal, BLOCK_BODY_BYTES, BLOCK_BYTES, BLOCK_HEADER_BYTES, blockBody, BLOCK_KIND_DATA, BLOCK_KIND_FILTER, BLOCK_KIND_INDEX } from "./block";
import { CHECKSUM_BYTES } from "./checksum";
import { FreeHold, FreeSet, freeHoldClear, freeHoldCreate, freeSetAcquire, freeSetHold, freeSetReserve } from "./freeset";
import { keyCompare, keyHash, KEY_BYTES_MAX } from "./keys";
import { Memtable, memtableClear, memtableCreate, memtablePut, memtableRanked, memtableSort } from "./memtable";
import { WriteQueue, writeQueuePush, writeQueueRoom } from "./writes";

export const TREE_VALUE_BYTES_MAX: u32 = 128;
export const TREE_LEVELS_MAX: u32 = 8;
export const TREE_FILTER_BITS_PER_KEY: u32 = 10;
export const TREE_SOURCE_BYTES: usize = 32; // one source of a scan (reads.ts)
const FILTER_PROBES: u64 = 7; // near the optimum, ln 2 × bits per key
const FILTER_BYTES_MAX: u32 = 32768; // a power of two that fits a block body

// Answers of the tree's calls that may be refused.
export const TREE_OK: i32 = 0;
export const TREE_FULL: i32 = -1; // storage_full: the grid (or the descriptors) cannot hold what this needs; nothing changed

// Table descriptor (TABLE_DESC_BYTES), in memory:
//    0 [32] key min          32 [32] key max
//   64 u64 index address     72 [16] index checksum
//   88 u64 filter address    96 [16] filter checksum
//  112 u32 records          116 u32 data blocks
//  120 u8 in use, 121 u8 filter loaded
const TABLE_DESC_BYTES: usize = 128;
export const DESC_KEY_MIN: usize = 0;
export const DESC_KEY_MAX: usize = 32;
export const DESC_INDEX_ADDRESS: usize = 64;
export const DESC_INDEX_CHECKSUM: usize = 72;
export const DESC_FILTER_ADDRESS: usize = 88;
export const DESC_FILTER_CHECKSUM: usize = 96;
export const DESC_RECORDS: usize = 112;
export const DESC_BLOCKS: usize = 116;
const DESC_IN_USE: usize = 120;
export const DESC_FILTER_LOADED: usize = 121;

// One table being written: its data block and index block in the making.
// @ts-ignore: decorator
@unmanaged
export class Builder {
  data: usize = 0;
  index: usize = 0;
  desc: u32 = 0;
  level: u8 = 0;
  active: bool = false;
  dataRecords: u32 = 0;
  entries: u32 = 0;
  tableRecords: u32 = 0;
}

// Upper tables one merge takes at most: L0's oldest, all at once (compact.ts).
export const COMPACT_UPPER_MAX: u32 = 8;

// A compaction in progress (compact.ts): `aCount` tables of level `level`
// (descriptor ids in `aTables`, newest first) merged with `bCount` tables of
// level + 1 from position `bStart`.
// @ts-ignore: decorator
@unmanaged
export class Compaction {
  active: bool = false;
  level: u32 = 0;
  aTables: usize = 0;
  aCount: u32 = 0;
  bStart: u32 = 0;
  bCount: u32 = 0;
  reserved: u64 = 0;
  /** Blocks the merge has written so far, across steps. */
  written: u64 = 0;
  /** Blocks written by the step in progress: a step that waited for blocks resumes with what is left of its budget. */
  stepWritten: u32 = 0;
  outputs: usize = 0; // u32 descriptor ids, in key order
  outputCount: u32 = 0;
  /** Input cursors (0 .. aCount-1: the upper tables, newest first; aCount: the b tables in order): table (a position among the inputs), entry, record. */
  cursors: usize = 0;
  /** Private copies of each cursor's index block and data block (2 blocks a cursor). */
  buffers: usize = 0;
  /** The blocks of the input tables the merge is past: released when it finishes (readers see the inputs until then). */
  held: FreeHold = changetype<FreeHold>(0);
}

// @ts-ignore: decorator
@unmanaged
export class Tree {
  id: u8 = 0;
  keyBytes: u32 = 0;
  valueBytes: u32 = 0;
  recordBytes: u32 = 0;
  recordsPerBlock: u32 = 0;
  entryBytes: u32 = 0;
  entriesPerIndex: u32 = 0;
  levels: u32 = 0;
  growth: u32 = 0;
  l0Max: u32 = 0;
  tableRecordsMax: u32 = 0;
  tablesMax: u32 = 0;
  /** Bytes of a table's bloom filter; 0: the tree has no filters. */
  filterBytes: u32 = 0;
  /** Blocks written at levels below this are cached as they are written (TreeConfig.cacheWritesBelow). */
  cacheWritesBelow: u32 = 0;
  /** Descriptors not in use (descAlloc and descRelease keep it, so a flush need not count them), and none below descHint is. */
  descsFree: u32 = 0;
  descHint: u32 = 0;
  /** The checkpoint sequence written into block headers. */
  sequence: u64 = 0;
  memtable: Memtable = changetype<Memtable>(0);
  cache: Cache = changetype<Cache>(0);
  freeSet: FreeSet = changetype<FreeSet>(0);
  writes: WriteQueue = changetype<WriteQueue>(0);
  descs: usize = 0;
  filters: usize = 0;
  /** levels × tablesMax u32 descriptor ids, and levels u32 counts. */
  levelTables: usize = 0;
  levelCounts: usize = 0;
  /** Per level, the key max of the table compacted last (round robin). */
  levelCursors: usize = 0;
  flushBuilder: Builder = changetype<Builder>(0);
  compactBuilder: Builder = changetype<Builder>(0);
  compaction: Compaction = changetype<Compaction>(0);
  /** The current manifest: its blocks' addresses (u64), their count, and its head's address and checksum. */
  manifestBlocks: usize = 0;
  manifestCount: u32 = 0;
  manifestCapacity: u32 = 0;
  manifestAddress: u64 = 0;
  manifestChecksum: usize = 0;
  /** While opening (manifest.ts): the next manifest block to read, and the tables placed so far. */
  openNext: u64 = 0;
  openChecksum: usize = 0;
  openPlaced: u32 = 0;
  /** A record assembled by treePut, and key scratch for the readers. */
  scratch: usize = 0;
  /** The sources of a scan (reads.ts): the memtable and every table, SOURCE_BYTES each. */
  sources: usize = 0;
}

// ---- descriptors ----

// @ts-ignore: decorator
@inline export function desc(t: Tree, id: u32): usize { return t.descs + <usize>id * TABLE_DESC_BYTES; }
// @ts-ignore: decorator
@inline export function descFilter(t: Tree, id: u32): usize { return t.filters + <usize>id * t.filterBytes; }

/** The lowest descriptor not in use (the lowest, so which one a table gets depends on the calls alone). */
function descAlloc(t: Tree): u32 {
  assert(t.descsFree > 0, "tree: no free table descriptor (descFree checked first)");
  for (let id = t.descHint; id < t.tablesMax; id++) {
    const d = desc(t, id);
    if (load<u8>(d + DESC_IN_USE) == 0) {
      memory.fill(d, 0, TABLE_DESC_BYTES);
      store<u8>(d + DESC_IN_USE, 1);
      t.descsFree--;
      t.descHint = id + 1;
      return id;
    }
  }
  assert(false, "tree: no free table descriptor (descsFree counted wrong)");
  return 0;
}

/** Table descriptors not in use. */
export function descFree(t: Tree): u32 {
  assert(t.descsFree <= t.tablesMax, "tree: more free descriptors than exist");
  return t.descsFree;
}

export function descRelease(t: Tree, id: u32): void {
  assert(id < t.tablesMax && load<u8>(desc(t, id) + DESC_IN_USE) == 1, "tree: releasing a descriptor not in use");
  store<u8>(desc(t, id) + DESC_IN_USE, 0);
  t.descsFree++;
  if (id < t.descHint) t.descHint = id;
}

/** A descriptor for a table read from the manifest; the caller fills it. */
export function descAllocOpened(t: Tree): u32 {
  assert(descFree(t) > 0, "tree: the manifest lists more tables than tablesMax");
  return descAlloc(t);
}

// ---- levels ----

// @ts-ignore: decorator
@inline export function levelCount(t: Tree, level: u32): u32 { return load<u32>(t.levelCounts + (<usize>level << 2)); }
// @ts-ignore: decorator
@inline function levelSlot(t: Tree, level: u32, i: u32): usize { return t.levelTables + ((<usize>level * t.tablesMax + i) << 2); }
// @ts-ignore: decorator
@inline export function levelTable(t: Tree, level: u32, i: u32): u32 { return load<u32>(levelSlot(t, level, i)); }

export function levelInsert(t: Tree, level: u32, at: u32, id: u32): void {
  const n = levelCount(t, level);
  assert(level < t.levels && at <= n && n < t.tablesMax, "tree: a level insert out of range");
  memory.copy(levelSlot(t, level, at + 1), levelSlot(t, level, at), <usize>(n - at) << 2);
  store<u32>(levelSlot(t, level, at), id);
  store<u32>(t.levelCounts + (<usize>level << 2), n + 1);
}

export function levelRemove(t: Tree, level: u32, at: u32, count: u32): void {
  const n = levelCount(t, level);
  assert(level < t.levels && at + count <= n, "tree: a level removal out of range");
  memory.copy(levelSlot(t, level, at), levelSlot(t, level, at + count), <usize>(n - at - count) << 2);
  store<u32>(t.levelCounts + (<usize>level << 2), n - count);
}

/** Puts table `id` at position `at` of `level` when opening (the manifest's entries come in any order). */
export function levelPlace(t: Tree, level: u32, at: u32, id: u32): void {
  assert(level < t.levels && at < t.tablesMax, "tree: a manifest entry outside the levels");
  store<u32>(levelSlot(t, level, at), id);
  if (at >= levelCount(t, level)) store<u32>(t.levelCounts + (<usize>level << 2), at + 1);
}

/** Tables a level may hold before it is compacted into the next. */
export function levelCapacity(t: Tree, level: u32): u32 {
  assert(level < t.levels, "tree: no such level");
  if (level == 0) return t.l0Max;
  let c: u32 = 1;
  for (let i: u32 = 0; i < level && c < t.tablesMax; i++) c *= t.growth;
  return c;
}

/** The first position in `level` (L1 and below) whose table's key max is >= `key`. */
export function levelSeek(t: Tree, level: u32, key: usize): u32 {
  assert(level > 0, "tree: L0 is not sorted by key");
  let lo: u32 = 0, hi = levelCount(t, level);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyCompare(desc(t, levelTable(t, level, mid)) + DESC_KEY_MAX, key, t.keyBytes) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether table `id` may hold keys in [lo, hi]. */
export function descOverlaps(t: Tree, id: u32, lo: usize, hi: usize): bool {
  const d = desc(t, id);
  assert(load<u8>(d + DESC_IN_USE) == 1, "tree: a table not in use");
  return keyCompare(d + DESC_KEY_MIN, hi, t.keyBytes) <= 0 && keyCompare(d + DESC_KEY_MAX, lo, t.keyBytes) >= 0;
}

// ---- bloom filters ----

/** Probe positions: double hashing of one 64-bit hash, the second hash odd so the probes differ. */
export function filterAdd(t: Tree, id: u32, key: usize): void {
  assert(t.filterBytes > 0, "tree: adding to the filter of a tree without filters");
  const f = descFilter(t, id);
  const mask = <u64>t.filterBytes * 8 - 1;
  const h = keyHash(key, t.keyBytes);
  const step = rotl<u64>(h, 32) | 1;
  for (let i: u64 = 0; i < FILTER_PROBES; i++) {
    const bit = (h + i * step) & mask;
    const at = f + <usize>(bit >> 3);
    store<u8>(at, load<u8>(at) | <u8>(1 << <u8>(bit & 7)));
  }
  assert(load<u8>(desc(t, id) + DESC_FILTER_LOADED) == 1, "tree: adding to a filter not in memory");
}

/** False when table `id` surely does not hold `key` (a tree without filters: always true). */
export function filterMayContain(t: Tree, id: u32, key: usize): bool {
  if (t.filterBytes == 0) return true;
  assert(load<u8>(desc(t, id) + DESC_FILTER_LOADED) == 1, "tree: a filter not in memory");
  const f = descFilter(t, id);
  const mask = <u64>t.filterBytes * 8 - 1;
  const h = keyHash(key, t.keyBytes);
  const step = rotl<u64>(h, 32) | 1;
  for (let i: u64 = 0; i < FILTER_PROBES; i++) {
    const bit = (h + i * step) & mask;
    if ((load<u8>(f + <usize>(bit >> 3)) & <u8>(1 << <u8>(bit & 7))) == 0) return false;
  }
  return true;
}

// ---- blocks of a table ----

// @ts-ignore: decorator
@inline export function dataRecord(t: Tree, block: usize, i: u32): usize { return blockBody(block) + <usize>i * t.recordBytes; }
// @ts-ignore: decorator
@inline export function entryKey(t: Tree, index: usize, e: u32): usize { return blockBody(index) + <usize>e * t.entryBytes; }
// @ts-ignore: decorator
@inline export function entryAddress(t: Tree, index: usize, e: u32): u64 { return load<u64>(entryKey(t, index, e) + t.keyBytes); }
// @ts-ignore: decorator
@inline export function entryChecksum(t: Tree, index: usize, e: u32): usize { return entryKey(t, index, e) + t.keyBytes + 8; }
// @ts-ignore: decorator
@inline export function entryRecords(t: Tree, index: usize, e: u32): u32 { return load<u32>(entryKey(t, index, e) + t.keyBytes + 24); }

/** The first record of the data block at `block` whose key is >= `key` (its record count when none). */
export function dataLowerBound(t: Tree, block: usize, key: usize): u32 {
  let lo: u32 = 0, hi = blockRecords(block);
  assert(hi <= t.recordsPerBlock, "tree: a data block with more records than fit");
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyCompare(dataRecord(t, block, mid), key, t.keyBytes) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The entry of the index block whose data block would hold `key`: the last whose first key is <= key (-1: before the first). */
export function indexSeek(t: Tree, index: usize, key: usize): i32 {
  let lo: u32 = 0, hi = blockRecords(index);
  assert(hi > 0 && hi <= t.entriesPerIndex, "tree: an index block with no entries or too many");
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyCompare(entryKey(t, index, mid), key, t.keyBytes) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return <i32>lo - 1;
}

// ---- creation ----

/** A tree's sizes, from the caller (the service's manifest). */
// @ts-ignore: decorator
@unmanaged
export class TreeConfig {
  id: u8 = 1;
  keyBytes: u32 = 16;
  valueBytes: u32 = 16;
  memtableMax: u32 = 1024;
  levels: u32 = 4;
  growth: u32 = 8;
  l0Max: u32 = 4;
  tableRecordsMax: u32 = 16384;
  tablesMax: u32 = 64;
  /** Whether tables have bloom filters: a tree whose keys only grow, or that is only scanned, needs none. */
  filter: bool = true;
  /** Blocks written at levels below this one also go into the cache (cachePut): their tables are merged again soon. 0: none. */
  cacheWritesBelow: u32 = 0;
}

export function treeCreate(config: TreeConfig, cache: Cache, freeSet: FreeSet, writes: WriteQueue): Tree {
  const t = new Tree();
  treeSizes(t, config);
  t.memtable = memtableCreate(t.keyBytes, t.recordBytes, config.memtableMax);
  t.cache = cache;
  t.freeSet = freeSet;
  t.writes = writes;
  t.descs = heap.alloc(<usize>t.tablesMax * TABLE_DESC_BYTES);
  // Only what the tree uses: a tree without filters allocates none.
  t.filters = t.filterBytes > 0 ? heap.alloc(<usize>t.tablesMax * t.filterBytes) : 0;
  t.levelTables = heap.alloc(<usize>t.levels * t.tablesMax * 4);
  t.levelCounts = heap.alloc(<usize>t.levels * 4);
  t.levelCursors = heap.alloc(<usize>t.levels * KEY_BYTES_MAX);
  t.flushBuilder = builderCreate();
  t.compactBuilder = builderCreate();
  const c = new Compaction();
  c.outputs = heap.alloc(<usize>t.tablesMax * 4);
  c.aTables = heap.alloc(<usize>COMPACT_UPPER_MAX * 4);
  c.cursors = heap.alloc(<usize>(COMPACT_UPPER_MAX + 1) * 16);
  c.buffers = heap.alloc(<usize>(COMPACT_UPPER_MAX + 1) * 2 * BLOCK_BYTES);
  c.held = freeHoldCreate(freeSet);
  t.compaction = c;
  t.manifestCapacity = manifestBlocksMax(t);
  t.manifestBlocks = heap.alloc(<usize>t.manifestCapacity * 8);
  t.manifestChecksum = heap.alloc(CHECKSUM_BYTES);
  t.openChecksum = heap.alloc(CHECKSUM_BYTES);
  t.scratch = heap.alloc(4 * BLOCK_HEADER_BYTES + <usize>t.recordBytes);
  t.sources = heap.alloc(<usize>(t.tablesMax + 1) * TREE_SOURCE_BYTES);
  // A flush writes the whole memtable's table in one call.
  assert(writeQueueRoomMax(writes) >= tableBlocksMax(t, config.memtableMax), "tree: the write queue cannot hold one flush");
  treeReset(t);
  return t;
}

function writeQueueRoomMax(q: WriteQueue): u32 {
  assert(q.capacity > 0, "tree: a write queue not created");
  return q.capacity;
}

function treeSizes(t: Tree, config: TreeConfig): void {
  assert(config.keyBytes >= 8 && config.keyBytes <= KEY_BYTES_MAX && (config.keyBytes & 7) == 0, "tree: key_bytes is not 8, 16, 24 or 32");
  assert(config.valueBytes <= TREE_VALUE_BYTES_MAX, "tree: value_bytes above TREE_VALUE_BYTES_MAX");
  assert(config.levels >= 2 && config.levels <= TREE_LEVELS_MAX && config.growth >= 2 && config.l0Max >= 1, "tree: levels, growth or l0Max out of range");
  t.id = config.id;
  t.keyBytes = config.keyBytes;
  t.valueBytes = config.valueBytes;
  t.recordBytes = config.keyBytes + config.valueBytes;
  t.recordsPerBlock = <u32>(BLOCK_BODY_BYTES / <usize>t.recordBytes);
  t.entryBytes = config.keyBytes + 32;
  t.entriesPerIndex = <u32>(BLOCK_BODY_BYTES / <usize>t.entryBytes);
  t.levels = config.levels;
  t.growth = config.growth;
  t.l0Max = config.l0Max;
  t.tableRecordsMax = config.tableRecordsMax;
  t.tablesMax = config.tablesMax;
  t.cacheWritesBelow = config.cacheWritesBelow;
  let bytes: u32 = 0;
  if (config.filter) {
    bytes = 64;
    while (bytes * 8 < config.tableRecordsMax * TREE_FILTER_BITS_PER_KEY) bytes <<= 1;
    assert(bytes <= FILTER_BYTES_MAX, "tree: tableRecordsMax too large for one filter block");
  }
  t.filterBytes = bytes;
  assert(config.memtableMax <= config.tableRecordsMax, "tree: a flushed memtable must fit one table");
  assert(tableBlocksMax(t, config.tableRecordsMax) - tableMetaBlocks(t) <= t.entriesPerIndex, "tree: a table's data blocks must fit one index block");
  assert(config.tablesMax >= config.l0Max + config.levels * 2 && config.tablesMax <= 0x10000, "tree: tablesMax out of range");
}

/** Blocks a table of `records` records takes: its data blocks, index and filter (if the tree has filters). */
export function tableBlocksMax(t: Tree, records: u32): u32 {
  assert(t.recordsPerBlock > 0, "tree: sizes not set");
  return (records + t.recordsPerBlock - 1) / t.recordsPerBlock + tableMetaBlocks(t);
}

/** Blocks of a table besides its data: the index block, and the filter block in a tree with filters. */
// @ts-ignore: decorator
@inline export function tableMetaBlocks(t: Tree): u32 { return t.filterBytes > 0 ? 2 : 1; }

/** Manifest blocks the largest manifest takes (manifest.ts's entry size). */
export function manifestEntryBytes(t: Tree): u32 {
  assert(t.keyBytes > 0, "tree: sizes not set");
  return 64 + 2 * t.keyBytes;
}
// The manifest block's header: the chain link and count (32 bytes), then each
// level's round-robin compaction cursor (manifest.ts).
export const MANIFEST_HEADER_BYTES: u32 = 32 + TREE_LEVELS_MAX * KEY_BYTES_MAX;
function manifestBlocksMax(t: Tree): u32 {
  const per = (<u32>BLOCK_BODY_BYTES - MANIFEST_HEADER_BYTES) / manifestEntryBytes(t);
  assert(per > 0, "tree: a manifest entry larger than a block");
  return (t.tablesMax + per - 1) / per + 1;
}

function builderCreate(): Builder {
  const b = new Builder();
  b.data = heap.alloc(BLOCK_BYTES);
  b.index = heap.alloc(BLOCK_BYTES);
  assert(b.data != 0 && b.index != 0, "tree: builder buffers");
  return b;
}

/** An empty tree: no tables, an empty memtable, no compaction, no manifest. */
export function treeReset(t: Tree): void {
  assert(t.descs != 0, "tree: not created");
  memtableClear(t.memtable);
  memory.fill(t.descs, 0, <usize>t.tablesMax * TABLE_DESC_BYTES);
  t.descsFree = t.tablesMax;
  t.descHint = 0;
  memory.fill(t.levelCounts, 0, <usize>t.levels * 4);
  memory.fill(t.levelCursors, 0, <usize>t.levels * KEY_BYTES_MAX);
  t.compaction.active = false;
  freeHoldClear(t.freeSet, t.compaction.held);
  t.flushBuilder.active = false;
  t.compactBuilder.active = false;
  t.manifestCount = 0;
  t.manifestAddress = 0;
  memory.fill(t.manifestChecksum, 0, CHECKSUM_BYTES);
}

// ---- writing tables ----

/** Starts a table of `level` (its descriptor and an empty filter in memory). */
export function builderBegin(t: Tree, b: Builder, level: u8): void {
  assert(!b.active, "tree: a table begun twice");
  b.desc = descAlloc(t);
  b.level = level;
  b.active = true;
  b.dataRecords = 0;
  b.entries = 0;
  b.tableRecords = 0;
  if (t.filterBytes > 0) {
    memory.fill(descFilter(t, b.desc), 0, t.filterBytes);
    store<u8>(desc(t, b.desc) + DESC_FILTER_LOADED, 1);
  }
}

/** Whether the table being written is full: the next record begins another. */
// @ts-ignore: decorator
@inline export function builderFull(t: Tree, b: Builder): bool { return b.tableRecords == t.tableRecordsMax; }

/** Block writes the next builderAdd may need first: a full data block, or a full table (data, index, filter if any). */
export function builderWritesBeforeAdd(t: Tree, b: Builder): u32 {
  assert(b.active, "tree: no table being written");
  if (builderFull(t, b)) return 1 + tableMetaBlocks(t);
  return b.dataRecords == t.recordsPerBlock ? 1 : 0;
}

/** Appends a record (keys strictly ascending); the caller has written the block builderWritesBeforeAdd named. */
export function builderAdd(t: Tree, b: Builder, record: usize): void {
  assert(b.active && b.dataRecords < t.recordsPerBlock && b.tableRecords < t.tableRecordsMax, "tree: a record added to a full block or table");
  const d = desc(t, b.desc);
  // The key max is written with each data block (builderWriteData): the block's last record.
  const previous = b.dataRecords > 0 ? dataRecord(t, b.data, b.dataRecords - 1) : d + DESC_KEY_MAX;
  if (b.tableRecords == 0) memory.copy(d + DESC_KEY_MIN, record, t.keyBytes);
  else assert(keyCompare(previous, record, t.keyBytes) < 0, "tree: records not in ascending key order");
  memory.copy(dataRecord(t, b.data, b.dataRecords), record, t.recordBytes);
  if (t.filterBytes > 0) filterAdd(t, b.desc, record);
  b.dataRecords++;
  b.tableRecords++;
}

/** Seals the data block in the making and queues it; its index entry keeps the checksum. */
export function builderWriteData(t: Tree, b: Builder): void {
  assert(b.dataRecords > 0 && b.entries < t.entriesPerIndex, "tree: an empty data block, or an index block full");
  memory.copy(desc(t, b.desc) + DESC_KEY_MAX, dataRecord(t, b.data, b.dataRecords - 1), t.keyBytes);
  const address = freeSetAcquire(t.freeSet);
  blockSeal(b.data, address, t.sequence, BLOCK_KIND_DATA, t.id, b.level, b.dataRecords, b.dataRecords * t.recordBytes);
  writeQueuePush(t.writes, address, b.data);
  cacheWritten(t, address, b.data, b.level);
  const e = entryKey(t, b.index, b.entries);
  memory.copy(e, dataRecord(t, b.data, 0), t.keyBytes);
  store<u64>(e + t.keyBytes, address);
  memory.copy(e + t.keyBytes + 8, blockChecksum(b.data), CHECKSUM_BYTES);
  store<u64>(e + t.keyBytes + 24, <u64>b.dataRecords);
  b.entries++;
  b.dataRecords = 0;
}

/** Writes the rest of the table (its last data block, index and filter); returns its descriptor. */
export function builderFinish(t: Tree, b: Builder): u32 {
  assert(b.active && b.tableRecords > 0, "tree: finishing an empty table");
  if (b.dataRecords > 0) builderWriteData(t, b);
  const d = desc(t, b.desc);
  const index = freeSetAcquire(t.freeSet);
  blockSeal(b.index, index, t.sequence, BLOCK_KIND_INDEX, t.id, b.level, b.entries, b.entries * t.entryBytes);
  writeQueuePush(t.writes, index, b.index);
  cacheWritten(t, index, b.index, b.level);
  store<u64>(d + DESC_INDEX_ADDRESS, index);
  memory.copy(d + DESC_INDEX_CHECKSUM, blockChecksum(b.index), CHECKSUM_BYTES);
  if (t.filterBytes > 0) {
    // The filter block is built in the data buffer, now free.
    const filter = freeSetAcquire(t.freeSet);
    memory.copy(blockBody(b.data), descFilter(t, b.desc), t.filterBytes);
    blockSeal(b.data, filter, t.sequence, BLOCK_KIND_FILTER, t.id, b.level, b.tableRecords, t.filterBytes);
    writeQueuePush(t.writes, filter, b.data);
    store<u64>(d + DESC_FILTER_ADDRESS, filter);
    memory.copy(d + DESC_FILTER_CHECKSUM, blockChecksum(b.data), CHECKSUM_BYTES);
  }
  store<u32>(d + DESC_RECORDS, b.tableRecords);
  store<u32>(d + DESC_BLOCKS, b.entries);
  b.active = false;
  return b.desc;
}

/** A block just written goes into the cache too when its level's tables are merged again soon (cacheWritesBelow). */
function cacheWritten(t: Tree, address: u64, block: usize, level: u8): void {
  assert(t.writes.count > 0, "tree: a block cached before it was queued");
  if (<u32>level >= t.cacheWritesBelow || changetype<usize>(t.cache) == 0) return;
  cachePut(t.cache, address, blockChecksum(block), block, t.id, level);
}

/**
 * A merge is past a table whose data block addresses are in its index block
 * at `index`: its blocks are held by the compaction (readers still see the
 * table until the merge finishes) and released with the rest when it does.
 */
export function tableHoldIndexed(t: Tree, id: u32, index: usize): void {
  const d = desc(t, id);
  const n = blockRecords(index);
  const h = t.compaction.held;
  assert(n == load<u32>(d + DESC_BLOCKS), "tree: an index block that is not its table's");
  for (let e: u32 = 0; e < n; e++) freeSetHold(t.freeSet, h, entryAddress(t, index, e));
  freeSetHold(t.freeSet, h, load<u64>(d + DESC_INDEX_ADDRESS));
  if (t.filterBytes > 0) freeSetHold(t.freeSet, h, load<u64>(d + DESC_FILTER_ADDRESS));
}

// ---- the memtable ----

/** Puts (key, value): a later put of the same key replaces it. False when the memtable is full (flush first). */
export function treePut(t: Tree, key: usize, value: usize): bool {
  assert(key != 0 && (value != 0 || t.valueBytes == 0), "tree: put at address 0");
  memory.copy(t.scratch, key, t.keyBytes);
  memory.copy(t.scratch + t.keyBytes, value, t.valueBytes);
  return memtablePut(t.memtable, t.scratch);
}

/**
 * Writes the memtable as a new L0 table (at a checkpoint, or when it is
 * full), queued in t.writes; TREE_FULL, and nothing changed, when the grid
 * or the descriptors cannot take it.
 */
export function treeFlush(t: Tree): i32 {
  const m = t.memtable;
  if (m.count == 0) return TREE_OK;
  const blocks = tableBlocksMax(t, m.count);
  assert(writeQueueRoom(t.writes) >= blocks, "tree: the write queue was not drained before a flush");
  if (descFree(t) == 0 || levelCount(t, 0) == t.tablesMax) return TREE_FULL;
  if (!freeSetReserve(t.freeSet, <u64>blocks)) return TREE_FULL;
  memtableSort(m);
  const b = t.flushBuilder;
  builderBegin(t, b, 0);
  const queued0 = t.writes.count;
  for (let i: u32 = 0; i < m.count; i++) {
    if (builderWritesBeforeAdd(t, b) > 0) builderWriteData(t, b);
    builderAdd(t, b, memtableRanked(m, i));
  }
  const id = builderFinish(t, b);
  assert(t.writes.count - queued0 == blocks, "tree: a flush wrote other blocks than it reserved");
  levelInsert(t, 0, levelCount(t, 0), id);
  memtableClear(m);
  return TREE_OK;
}
