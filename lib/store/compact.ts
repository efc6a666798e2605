// lib/store/compact.ts: compaction of a tree's levels, in bounded steps
// (docs/storage.md, "Memtables and checkpoints").
//
// When a level holds more tables than its capacity (tree.ts levelCapacity),
// one of its tables (L0: the oldest; deeper: round robin by key) goes to
// the next level (of the levels over capacity, the one most over it first):
//   - if it overlaps no table there, it is moved: the descriptor changes
//     level and no block is read or written. Keys that only grow (the
//     transfers tree's timestamps) always take this path, so their
//     "compaction" is free, and every move due is made at once;
//   - otherwise it is merged with the tables it overlaps there; where both
//     hold a key the upper table's record, the newer, wins. From L0 the
//     merge takes the oldest tables together (up to COMPACT_UPPER_MAX): an
//     L0 table of keys across the whole range overlaps every table of L1,
//     so merging them one at a time would rewrite L1 once per table. The
//     output is new tables of at most tableRecordsMax records, which replace
//     the inputs in the next level once the merge is complete; until then
//     readers see the inputs, untouched.
// compactStep(budget) writes at most `budget` blocks, so the caller spreads
// a merge over many batches. Inputs are read through the cache like any read
// (the step answers COMPACT_WAIT after wanting blocks; the caller has them
// delivered and steps again) and copied into the compaction's own buffers, so
// no pin outlives the step. The blocks of the inputs are held as the merge
// leaves each input table (readers still see it) and released (staged: free
// once no checkpoint a boot may use refers to them) when the merge finishes.
// The worst case of blocks the output can take is reserved before the
// merge starts: a full grid is answered (COMPACT_FULL) before the merge
// changes anything (moves made before it stand: they need no block). A checkpoint is taken between compactions (manifest.ts asserts
// it), so a checkpoint never names half a merge.

import { cachePeek, cacheWant } from "./cache";
import { blockBody, blockRecords, BLOCK_BYTES } from "./block";
import { freeSetReleaseHeld, freeSetReserve, freeSetUnreserve } from "./freeset";
import { keyCompare, KEY_BYTES_MAX } from "./keys";
import { writeQueueRoom } from "./writes";
import {
  builderAdd, builderBegin, builderFinish, builderFull, builderWriteData, builderWritesBeforeAdd, Compaction, desc, descFree, descOverlaps, descRelease,
  DESC_INDEX_ADDRESS, DESC_INDEX_CHECKSUM, DESC_KEY_MAX, DESC_KEY_MIN, DESC_RECORDS, entryAddress, entryChecksum, levelCapacity,
  COMPACT_UPPER_MAX, levelCount, levelInsert, levelRemove, levelSeek, levelTable, tableMetaBlocks, tableHoldIndexed, Tree, TREE_FULL,
} from "./tree";

export const COMPACT_IDLE: i32 = 0; // no level is over its capacity
export const COMPACT_DONE: i32 = 1; // a table was moved, or a merge completed
export const COMPACT_BUSY: i32 = 2; // the budget is spent: step again
export const COMPACT_WAIT: i32 = 3; // input blocks were wanted: deliver them and step again
export const COMPACT_FULL: i32 = TREE_FULL; // storage_full: the merge cannot start; nothing of it changed (moves before it stand)
export const COMPACT_CACHE_FULL: i32 = -2; // every cache slot is pinned: end the prefetch epoch first
// The least budget that always makes progress: finishing a table writes 3 blocks.
export const COMPACT_BUDGET_MIN: u32 = 3;

const NEED: usize = <usize>-1; // a cursor wanted a block
const NO_SLOT: usize = <usize>-2; // a cursor found no cache slot for its block
// Data blocks a cursor wants ahead in one round (a quarter of a small cache at most): every round
// is a trip through the kernel, and a step of a message's worth of writes reads about as many blocks.
const READAHEAD_MAX: u32 = 16;

// Cursor (16 bytes): u32 input table position, u32 entry, u32 record, u8 index loaded, u8 data loaded.
// Cursors 0 .. aCount-1 read one upper table each, newest first; cursor aCount the lower tables in key order.
// @ts-ignore: decorator
@inline function cursor(c: Compaction, k: u32): usize { return c.cursors + <usize>k * 16; }
// @ts-ignore: decorator
@inline function cursorIndex(c: Compaction, k: u32): usize { return c.buffers + <usize>(2 * k) * BLOCK_BYTES; }
// @ts-ignore: decorator
@inline function cursorData(c: Compaction, k: u32): usize { return c.buffers + <usize>(2 * k + 1) * BLOCK_BYTES; }

/** Input table `p` of cursor `k` (below aCount: an upper table; aCount: the lower ones), or -1 past the last. */
function inputTable(t: Tree, k: u32, p: u32): i32 {
  const c = t.compaction;
  assert(k <= c.aCount, "compact: no such cursor");
  if (k < c.aCount) return p == 0 ? <i32>load<u32>(c.aTables + (<usize>k << 2)) : -1;
  return p < c.bCount ? <i32>levelTable(t, c.level + 1, c.bStart + p) : -1;
}

// @ts-ignore: decorator
@inline function cursorLevel(c: Compaction, k: u32): u32 { return k < c.aCount ? c.level : c.level + 1; }

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
  const level = cursorLevel(c, k);
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

// The heads of the step in progress (compactStep): scratch of one call, pointers into the
// compaction's own buffers, and DONE for a cursor past its last input.
const heads: usize = heap.alloc(<usize>(COMPACT_UPPER_MAX + 1) * sizeof<usize>());
const DONE: usize = <usize>-3;

/** Moves every cursor whose head has the key of `record` past it (the newest version was taken). */
function advancePast(t: Tree, record: usize): void {
  const c = t.compaction;
  // `record` lies in one cursor's own buffer, which moving a cursor (a record index) leaves as it is.
  for (let k: u32 = 0; k <= c.aCount; k++) {
    const at = heads + (<usize>k << alignof<usize>());
    const h = load<usize>(at);
    assert(h != 0 && h != NEED && h != NO_SLOT, "compact: a cursor without a head within a step");
    if (h != DONE && keyCompare(h, record, t.keyBytes) == 0) {
      cursorAdvance(t, k);
      store<usize>(at, 0);
    }
  }
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
  return data + <u64>tableMetaBlocks(t) * tables;
}

/** Tables of the level below `level` that table `id` overlaps. */
function overlapsBelow(t: Tree, level: u32, id: u32): u32 {
  assert(level + 1 < t.levels, "compact: no level below the last");
  const lo = desc(t, id) + DESC_KEY_MIN, hi = desc(t, id) + DESC_KEY_MAX;
  const start = levelSeek(t, level + 1, lo);
  let n: u32 = 0;
  while (start + n < levelCount(t, level + 1) && descOverlaps(t, levelTable(t, level + 1, start + n), lo, hi)) n++;
  return n;
}

// The key range of the upper tables of the merge being started (keyWiden).
const rangeLo: usize = heap.alloc(KEY_BYTES_MAX);
const rangeHi: usize = heap.alloc(KEY_BYTES_MAX);

/** Widens [rangeLo, rangeHi] to table `id`'s range (`first`: starts it there). */
function keyWiden(t: Tree, first: bool, id: u32): void {
  const d = desc(t, id);
  if (first || keyCompare(d + DESC_KEY_MIN, rangeLo, t.keyBytes) < 0) memory.copy(rangeLo, d + DESC_KEY_MIN, t.keyBytes);
  if (first || keyCompare(d + DESC_KEY_MAX, rangeHi, t.keyBytes) > 0) memory.copy(rangeHi, d + DESC_KEY_MAX, t.keyBytes);
  assert(keyCompare(rangeLo, rangeHi, t.keyBytes) <= 0, "compact: an empty key range");
}

/**
 * The level to compact next, or -1: of the levels over their capacity
 * (the last has none), the one most over it for its size (tables beyond
 * the capacity per table of capacity; the upper on a tie). A level left over
 * its capacity while the one above keeps merging into it makes each of those
 * merges rewrite more of it (an L0 table of keys across the whole range
 * merges with every table of L1), so the fullest goes first.
 */
function levelDue(t: Tree): i32 {
  let due: i32 = -1;
  let overDue: u64 = 0, capacityDue: u64 = 1;
  for (let level: u32 = 0; level + 1 < t.levels; level++) {
    const count = <u64>levelCount(t, level), capacity = <u64>levelCapacity(t, level);
    if (count <= capacity) continue;
    // (count - capacity) / capacity > overDue / capacityDue, in integers.
    if (due < 0 || (count - capacity) * capacityDue > overDue * capacity) {
      due = <i32>level;
      overDue = count - capacity;
      capacityDue = capacity;
    }
  }
  assert(due < <i32>t.levels - 1, "compact: the last level is never due");
  return due;
}

/**
 * Starts the next compaction: every move that is due first (they cost no
 * block, so they take none of the budget: a tree whose keys only grow never
 * lets a level stay over its capacity), then a merge if one is due.
 * COMPACT_IDLE (nothing was due), COMPACT_DONE (only moves), COMPACT_FULL,
 * or COMPACT_BUSY (a merge begun).
 */
function start(t: Tree): i32 {
  const c = t.compaction;
  assert(!c.active, "compact: a compaction is already running");
  let moved = false;
  while (true) {
    const due = levelDue(t);
    if (due < 0) break;
    const level = <u32>due;
    const p = pick(t, level);
    const a = levelTable(t, level, p);
    if (overlapsBelow(t, level, a) == 0) {
      // Nothing below overlaps: the table moves down as it is, and the level is looked at again.
      levelRemove(t, level, p, 1);
      levelInsert(t, level + 1, levelSeek(t, level + 1, desc(t, a) + DESC_KEY_MIN), a);
      moved = true;
      continue;
    }
    // From L0 the oldest tables go together (p is 0 there); below, the one picked.
    const aCount = level == 0 ? min<u32>(levelCount(t, 0), COMPACT_UPPER_MAX) : 1;
    let records: u64 = 0;
    for (let i: u32 = 0; i < aCount; i++) {
      // Newest first: the upper table at cursor 0 wins a key that several hold.
      const id = levelTable(t, level, p + aCount - 1 - i);
      store<u32>(c.aTables + (<usize>i << 2), id);
      records += <u64>load<u32>(desc(t, id) + DESC_RECORDS);
      keyWiden(t, i == 0, id);
    }
    const bStart = levelSeek(t, level + 1, rangeLo);
    let bCount: u32 = 0;
    while (bStart + bCount < levelCount(t, level + 1) && descOverlaps(t, levelTable(t, level + 1, bStart + bCount), rangeLo, rangeHi)) {
      records += <u64>load<u32>(desc(t, levelTable(t, level + 1, bStart + bCount)) + DESC_RECORDS);
      bCount++;
    }
    assert(bCount > 0, "compact: a merge with nothing below");
    const blocks = outputBlocksMax(t, records);
    if (descFree(t) < bCount + aCount + 1 || !freeSetReserve(t.freeSet, blocks)) return COMPACT_FULL;
    c.active = true;
    c.level = level;
    c.aCount = aCount;
    c.bStart = bStart;
    c.bCount = bCount;
    c.reserved = blocks;
    c.outputCount = 0;
    memory.fill(c.cursors, 0, <usize>(aCount + 1) * 16);
    return COMPACT_BUSY;
  }
  return moved ? COMPACT_DONE : COMPACT_IDLE;
}

/** The merge is complete: the outputs replace the inputs, and the unused reservation goes back. */
function finish(t: Tree, written: u64): void {
  const c = t.compaction;
  for (let k: u32 = 0; k <= c.aCount; k++) assert(inputTable(t, k, load<u32>(cursor(c, k))) < 0, "compact: finishing with inputs left");
  for (let i: u32 = 0; i < c.aCount; i++) {
    // By id: flushes during the merge appended to L0, so positions may have moved.
    const id = load<u32>(c.aTables + (<usize>i << 2));
    let p: u32 = 0;
    while (levelTable(t, c.level, p) != id) p++;
    levelRemove(t, c.level, p, 1);
    descRelease(t, id);
  }
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
  const r = step(t, budget);
  // The heads are pointers of one call: nothing of them may stay in memory (the state).
  memory.fill(heads, 0, <usize>(COMPACT_UPPER_MAX + 1) * sizeof<usize>());
  assert(r >= COMPACT_CACHE_FULL && r <= COMPACT_WAIT, "compact: an answer not among COMPACT_*");
  return r;
}

function step(t: Tree, budget: u32): i32 {
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
  // Each cursor's head, looked up again only once the cursor moved (heads[k] == 0: look it up).
  while (true) {
    // The smallest key at the cursors' heads; on equal keys the lowest cursor, the newest, wins.
    let best: usize = 0;
    let wanted = false, noSlot = false;
    for (let k: u32 = 0; k <= c.aCount; k++) {
      let h = load<usize>(heads + (<usize>k << alignof<usize>()));
      if (h == 0) {
        h = cursorHead(t, k);
        if (h == NEED) { wanted = true; continue; }
        if (h == NO_SLOT) { noSlot = true; continue; }
        store<usize>(heads + (<usize>k << alignof<usize>()), h == 0 ? DONE : h);
      }
      if (h != 0 && h != DONE && (best == 0 || keyCompare(h, best, t.keyBytes) < 0)) best = h;
    }
    // Every cursor's block is wanted in the same round; a cursor that found no slot for its
    // block wants it in a later round, once the others' blocks are copied out and their slots free.
    if (wanted) return COMPACT_WAIT;
    if (noSlot) return COMPACT_CACHE_FULL;
    if (best == 0) {
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
    if (b.active && builderFull(t, b)) addOutput(t, builderFinish(t, b));
    else if (need == 1) builderWriteData(t, b);
    c.stepWritten += t.writes.count - before;
    c.written += <u64>(t.writes.count - before);
    if (!b.active) builderBegin(t, b, <u8>(c.level + 1));
    builderAdd(t, b, best);
    // Every cursor at this key moves past it: the older versions are dropped.
    advancePast(t, best);
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
  assert(c.outputCount <= c.bCount + c.aCount, "compact: more output tables than the inputs can fill");
  store<u32>(c.outputs + (<usize>c.outputCount << 2), id);
  c.outputCount++;
}

/** Whether a merge is running (a checkpoint waits until it is not). */
export function treeCompacting(t: Tree): bool {
  assert(t.compaction.outputs != 0, "compact: tree not created");
  return t.compaction.active;
}
