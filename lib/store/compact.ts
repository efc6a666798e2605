// lib/store/compact.ts: compaction of a tree's levels, in bounded steps
// (docs/storage.md, "Memtables and checkpoints").
//
// When a level holds more tables than its capacity (tree.ts levelCapacity),
// one of its tables (L0: the oldest; deeper: round robin by key) is merged
// into the next level:
//   - if it overlaps no table there, it is moved: the descriptor changes
//     level and no block is read or written. Keys that only grow (the
//     transfers tree's timestamps) always take this path, so their
//     "compaction" is free;
//   - otherwise it is merged with the tables it overlaps there; where both
//     hold a key the upper table's record, the newer, wins. The output is new
//     tables of at most tableRecordsMax records, which replace the inputs in
//     the next level once the merge is complete; until then readers see the
//     inputs, untouched.
// compactStep(budget) writes at most `budget` blocks, so the caller spreads
// a merge over many batches. Inputs are read through the cache like any read
// (the step answers COMPACT_WAIT after wanting blocks; the caller has them
// delivered and steps again) and copied into the compaction's own buffers, so
// no pin outlives the step. The blocks of the inputs are held as the merge
// leaves each input table (readers still see it) and released (staged: free
// once no checkpoint a boot may use refers to them) when the merge finishes. The worst case of blocks the output can take is reserved before the
// merge starts: a full grid is answered (COMPACT_FULL) before anything
// changes. A checkpoint is taken between compactions (manifest.ts asserts
// it), so a checkpoint never names half a merge.

import { cachePeek, cacheWant } from "./cache";
import { blockBody, blockRecords, BLOCK_BYTES } from "./block";
import { freeSetReleaseHeld, freeSetReserve, freeSetUnreserve } from "./freeset";
import { keyCompare, KEY_BYTES_MAX } from "./keys";
import { writeQueueRoom } from "./writes";
import {
  builderAdd, builderBegin, builderFinish, builderWriteData, builderWritesBeforeAdd, Compaction, desc, descFree, descOverlaps, descRelease,
  DESC_INDEX_ADDRESS, DESC_INDEX_CHECKSUM, DESC_KEY_MAX, DESC_KEY_MIN, DESC_RECORDS, entryAddress, entryChecksum, levelCapacity,
  levelCount, levelInsert, levelRemove, levelSeek, levelTable, tableHoldIndexed, Tree, TREE_FULL,
} from "./tree";

export const COMPACT_IDLE: i32 = 0; // no level is over its capacity
export const COMPACT_DONE: i32 = 1; // a table was moved, or a merge completed
export const COMPACT_BUSY: i32 = 2; // the budget is spent: step again
export const COMPACT_WAIT: i32 = 3; // input blocks were wanted: deliver them and step again
export const COMPACT_FULL: i32 = TREE_FULL; // storage_full: the merge cannot start; nothing changed
export const COMPACT_CACHE_FULL: i32 = -2; // every cache slot is pinned: end the prefetch epoch first
// The least budget that always makes progress: finishing a table writes 3 blocks.
export const COMPACT_BUDGET_MIN: u32 = 3;

const NEED: usize = <usize>-1; // a cursor wanted a block
const NO_SLOT: usize = <usize>-2; // a cursor found no cache slot for its block
const READAHEAD_MAX: u32 = 4;

// Cursor (16 bytes): u32 input table position, u32 entry, u32 record, u8 index loaded, u8 data loaded.
// @ts-ignore: decorator
@inline function cursor(c: Compaction, k: u32): usize { return c.cursors + <usize>k * 16; }
// @ts-ignore: decorator
@inline function cursorIndex(c: Compaction, k: u32): usize { return c.buffers + <usize>(2 * k) * BLOCK_BYTES; }
// @ts-ignore: decorator
@inline function cursorData(c: Compaction, k: u32): usize { return c.buffers + <usize>(2 * k + 1) * BLOCK_BYTES; }

/** Input table `p` of cursor `k` (0: the upper table, 1: the lower ones), or -1 past the last. */
function inputTable(t: Tree, k: u32, p: u32): i32 {
  const c = t.compaction;
  assert(k < 2, "compact: no such cursor");
  if (k == 0) return p == 0 ? <i32>c.a : -1;
  return p < c.bCount ? <i32>levelTable(t, c.level + 1, c.bStart + p) : -1;
}

/** Wants data blocks e.. of the cursor's index (e, then up to READAHEAD_MAX - 1 after it); NEED, or NO_SLOT when not even e fits. */
function want(t: Tree, index: usize, e: u32, level: u32): usize {
  const n = blockRecords(index);
  const ahead = min(READAHEAD_MAX, max<u32>(1, t.cache.slots / 4));
  for (let i = e; i < n && i < e + ahead; i++) {
    if (cachePeek(t.cache, entryAddress(t, index, i), entryChecksum(t, index, i)) != 0) continue;
    if (!cacheWant(t.cache, entryAddress(t, index, i), entryChecksum(t, index, i), t.id, <u8>level, false)) return i == e ? NO_SLOT : NEED;
  }
  assert(e < n, "compact: wanting past the last data block");
  return NEED;
}

/** The record at cursor k's head; 0 when its inputs are exhausted; NEED or NO_SLOT. */
function cursorHead(t: Tree, k: u32): usize {
  const c = t.compaction;
  const s = cursor(c, k);
  const level = c.level + k;
  while (true) {
    const id = inputTable(t, k, load<u32>(s));
    if (id < 0) return 0;
    if (load<u8>(s + 12) == 0) {
      const d = desc(t, <u32>id);
      const b = cachePeek(t.cache, load<u64>(d + DESC_INDEX_ADDRESS), d + DESC_INDEX_CHECKSUM);
      if (b == 0) return cacheWant(t.cache, load<u64>(d + DESC_INDEX_ADDRESS), d + DESC_INDEX_CHECKSUM, t.id, <u8>level, false) ? NEED : NO_SLOT;
      memory.copy(cursorIndex(c, k), b, BLOCK_BYTES);
      store<u32>(s + 4, 0);
      store<u8>(s + 12, 1);
      store<u8>(s + 13, 0);
    }
    const index = cursorIndex(c, k);
    const e = load<u32>(s + 4);
    if (e >= blockRecords(index)) {
      // The merge is past this input table, but readers see it until the merge is complete: held till then.
      tableHoldIndexed(t, <u32>id, index);
      store<u32>(s, load<u32>(s) + 1);
      store<u8>(s + 12, 0);
      continue;
    }
    if (load<u8>(s + 13) == 0) {
      const b = cachePeek(t.cache, entryAddress(t, index, e), entryChecksum(t, index, e));
      if (b == 0) return want(t, index, e, level);
      memory.copy(cursorData(c, k), b, BLOCK_BYTES);
      store<u32>(s + 8, 0);
      store<u8>(s + 13, 1);
    }
    const data = cursorData(c, k);
    const r = load<u32>(s + 8);
    if (r < blockRecords(data)) return blockBody(data) + <usize>r * t.recordBytes;
    store<u32>(s + 4, e + 1);
    store<u8>(s + 13, 0);
  }
  assert(false, "compact: unreachable");
  return 0;
}

function cursorAdvance(t: Tree, k: u32): void {
  const s = cursor(t.compaction, k);
  assert(load<u8>(s + 13) == 1, "compact: advancing a cursor without a block");
  store<u32>(s + 8, load<u32>(s + 8) + 1);
}

/** The table of `level` to compact next: the oldest in L0, round robin by key below. */
function pick(t: Tree, level: u32): u32 {
  if (level == 0) return 0;
  const last = t.levelCursors + <usize>level * KEY_BYTES_MAX;
  const n = levelCount(t, level);
  let p: u32 = 0;
  while (p < n && keyCompare(desc(t, levelTable(t, level, p)) + DESC_KEY_MIN, last, t.keyBytes) <= 0) p++;
  if (p == n) p = 0;
  memory.copy(last, desc(t, levelTable(t, level, p)) + DESC_KEY_MAX, t.keyBytes);
  assert(p < n, "compact: picked past the level");
  return p;
}

/** Blocks the merge's output may take at most: its data blocks, index and filter blocks, with a table's slack. */
function outputBlocksMax(t: Tree, records: u64): u64 {
  const tables = (records + <u64>t.tableRecordsMax - 1) / <u64>t.tableRecordsMax + 1;
  const data = (records + <u64>t.recordsPerBlock - 1) / <u64>t.recordsPerBlock + tables;
  assert(records > 0, "compact: a merge of nothing");
  return data + 2 * tables;
}

/** Starts the next compaction: COMPACT_IDLE, COMPACT_DONE (a move), COMPACT_FULL, or COMPACT_BUSY (a merge begun). */
function start(t: Tree): i32 {
  const c = t.compaction;
  assert(!c.active, "compact: a compaction is already running");
  for (let level: u32 = 0; level + 1 < t.levels; level++) {
    if (levelCount(t, level) <= levelCapacity(t, level)) continue;
    const p = pick(t, level);
    const a = levelTable(t, level, p);
    const lo = desc(t, a) + DESC_KEY_MIN, hi = desc(t, a) + DESC_KEY_MAX;
    const bStart = levelSeek(t, level + 1, lo);
    let bCount: u32 = 0;
    let records = <u64>load<u32>(desc(t, a) + DESC_RECORDS);
    while (bStart + bCount < levelCount(t, level + 1) && descOverlaps(t, levelTable(t, level + 1, bStart + bCount), lo, hi)) {
      records += <u64>load<u32>(desc(t, levelTable(t, level + 1, bStart + bCount)) + DESC_RECORDS);
      bCount++;
    }
    if (bCount == 0) {
      // Nothing below overlaps: the table moves down as it is.
      levelRemove(t, level, p, 1);
      levelInsert(t, level + 1, bStart, a);
      return COMPACT_DONE;
    }
    const blocks = outputBlocksMax(t, records);
    if (descFree(t) < bCount + 2 || !freeSetReserve(t.freeSet, blocks)) return COMPACT_FULL;
    c.active = true;
    c.level = level;
    c.a = a;
    c.bStart = bStart;
    c.bCount = bCount;
    c.reserved = blocks;
    c.outputCount = 0;
    memory.fill(c.cursors, 0, 32);
    return COMPACT_BUSY;
  }
  return COMPACT_IDLE;
}

/** The merge is complete: the outputs replace the inputs, and the unused reservation goes back. */
function finish(t: Tree, written: u64): void {
  const c = t.compaction;
  assert(inputTable(t, 0, load<u32>(cursor(c, 0))) < 0 && inputTable(t, 1, load<u32>(cursor(c, 1))) < 0, "compact: finishing with inputs left");
  let p: u32 = 0;
  while (levelTable(t, c.level, p) != c.a) p++;
  levelRemove(t, c.level, p, 1);
  descRelease(t, c.a);
  for (let i: u32 = 0; i < c.bCount; i++) descRelease(t, levelTable(t, c.level + 1, c.bStart + i));
  freeSetReleaseHeld(t.freeSet, c.held); // no reader sees the inputs any more
  levelRemove(t, c.level + 1, c.bStart, c.bCount);
  for (let i: u32 = 0; i < c.outputCount; i++) levelInsert(t, c.level + 1, c.bStart + i, load<u32>(c.outputs + (<usize>i << 2)));
  assert(written <= c.reserved, "compact: wrote more blocks than reserved");
  freeSetUnreserve(t.freeSet, c.reserved - written);
  c.active = false;
}

/**
 * Does at most `budget` block writes of compaction (queued in t.writes);
 * after COMPACT_WAIT, call again with the same budget: the step resumes.
 * COMPACT_IDLE, COMPACT_DONE, COMPACT_BUSY, COMPACT_WAIT, COMPACT_FULL or COMPACT_CACHE_FULL.
 */
export function compactStep(t: Tree, budget: u32): i32 {
  assert(budget >= COMPACT_BUDGET_MIN && writeQueueRoom(t.writes) >= budget, "compact: a budget below 3 blocks or above the write queue's room");
  const c = t.compaction;
  if (!c.active) {
    const r = start(t);
    if (r != COMPACT_BUSY) return r;
    c.written = 0;
    c.stepWritten = 0;
  }
  const b = t.compactBuilder;
  // A step that answered COMPACT_WAIT resumes here with the rest of its budget, so where the step
  // stops depends on the budget alone, not on which blocks happened to be cached.
  while (true) {
    const ha = cursorHead(t, 0);
    if (ha == NEED || ha == NO_SLOT) return ha == NEED ? COMPACT_WAIT : COMPACT_CACHE_FULL;
    const hb = cursorHead(t, 1);
    if (hb == NEED || hb == NO_SLOT) return hb == NEED ? COMPACT_WAIT : COMPACT_CACHE_FULL;
    if (ha == 0 && hb == 0) {
      if (b.active) {
        if (c.stepWritten + COMPACT_BUDGET_MIN > budget) return stepEnd(c);
        const before = t.writes.count;
        addOutput(t, builderFinish(t, b));
        c.stepWritten += t.writes.count - before;
        c.written += <u64>(t.writes.count - before);
      }
      finish(t, c.written);
      c.stepWritten = 0;
      return COMPACT_DONE;
    }
    const need = b.active ? builderWritesBeforeAdd(t, b) : 0;
    if (c.stepWritten + need > budget) return stepEnd(c);
    const before = t.writes.count;
    if (need == 3) addOutput(t, builderFinish(t, b));
    else if (need == 1) builderWriteData(t, b);
    c.stepWritten += t.writes.count - before;
    c.written += <u64>(t.writes.count - before);
    if (!b.active) builderBegin(t, b, <u8>(c.level + 1));
    // The upper table is newer: on equal keys its record wins and the lower one is dropped.
    const order = ha == 0 ? 1 : hb == 0 ? -1 : keyCompare(ha, hb, t.keyBytes);
    builderAdd(t, b, order <= 0 ? ha : hb);
    if (order <= 0) cursorAdvance(t, 0);
    if (order >= 0) cursorAdvance(t, 1);
  }
  assert(false, "compact: unreachable");
  return COMPACT_IDLE;
}

/** The step's budget is spent: the next call begins a new step. */
function stepEnd(c: Compaction): i32 {
  assert(c.active, "compact: ending a step with no merge");
  c.stepWritten = 0;
  return COMPACT_BUSY;
}

function addOutput(t: Tree, id: u32): void {
  const c = t.compaction;
  assert(c.outputCount <= c.bCount + 1, "compact: more output tables than the inputs can fill");
  store<u32>(c.outputs + (<usize>c.outputCount << 2), id);
  c.outputCount++;
}

/** Whether a merge is running (a checkpoint waits until it is not). */
export function treeCompacting(t: Tree): bool {
  assert(t.compaction.outputs != 0, "compact: tree not created");
  return t.compaction.active;
}
