// lib/store/manifest.ts: a tree's manifest: the list of its tables, written
// at each checkpoint and read at boot (docs/storage.md, "Recovery and boot").
//
// The manifest is what a tree is on disk: for every table, its level and
// position in the level, its key range, record and block counts, and the
// address and checksum of its index and filter blocks. Opening a tree reads
// the manifest and nothing else: no data, index or filter block (filters are
// read when a lookup first needs them), so boot costs the manifest's few
// blocks whatever the history's size.
//
// Manifest block body (kind BLOCK_KIND_MANIFEST, records = its entries):
//    0 u64  previous manifest block's address (0: this is the first; block 0
//           is the superblock's, never a manifest's)
//    8 [16] previous manifest block's checksum
//   24 u32  entries in this block, 28 u32 reserved
//   32      each level's compaction cursor (the key max of the table it
//           compacted last), KEY_BYTES_MAX × TREE_LEVELS_MAX bytes: compaction
//           after a reopen picks the tables it would have picked without one,
//           so replay lays out the grid as the original run did
//  288      entries, manifestEntryBytes (64 + 2 × key_bytes) each:
//      0 u8 level, 1 [3] zero, 4 u32 position in the level,
//      8 u32 records, 12 u32 data blocks,
//     16 u64 index address, 24 [16] index checksum,
//     40 u64 filter address, 48 [16] filter checksum,
//     64 key min, 64 + key_bytes key max.
// Blocks are chained from the last written, the head, back to the first: the
// head's address and checksum are what the superblock keeps for the tree.
// Each checkpoint writes a whole new manifest and releases the previous one's
// blocks (staged, like any release). At most a few blocks: about 500 tables
// per block.

import { cachePeek, cacheWant } from "./cache";
import { blockBody, blockChecksum, blockRecords, blockSeal, BLOCK_BODY_BYTES, BLOCK_KIND_MANIFEST } from "./block";
import { CHECKSUM_BYTES } from "./checksum";
import { KEY_BYTES_MAX } from "./keys";
import { freeSetAcquire, freeSetRelease, freeSetReserve } from "./freeset";
import { writeQueuePush, writeQueueRoom } from "./writes";
import { treeCompacting } from "./compact";
import { TREE_CACHE_FULL, TREE_READY, TREE_WAIT } from "./reads";
import {
  desc, descAllocOpened, DESC_BLOCKS, DESC_FILTER_ADDRESS, DESC_FILTER_CHECKSUM, DESC_INDEX_ADDRESS, DESC_INDEX_CHECKSUM, DESC_KEY_MAX,
  DESC_KEY_MIN, DESC_RECORDS, levelCount, levelPlace, levelTable, manifestEntryBytes, MANIFEST_HEADER_BYTES, Tree, treeReset, TREE_FULL, TREE_OK,
} from "./tree";

function entriesPerBlock(t: Tree): u32 {
  const per = (<u32>BLOCK_BODY_BYTES - MANIFEST_HEADER_BYTES) / manifestEntryBytes(t);
  assert(per > 0, "manifest: an entry larger than a block");
  return per;
}

function tableCount(t: Tree): u32 {
  let n: u32 = 0;
  for (let level: u32 = 0; level < t.levels; level++) n += levelCount(t, level);
  assert(n <= t.tablesMax, "manifest: more tables than descriptors");
  return n;
}

function encodeEntry(t: Tree, at: usize, level: u32, position: u32): void {
  const d = desc(t, levelTable(t, level, position));
  assert(level < 256, "manifest: a level beyond a byte");
  store<u32>(at, level);
  store<u32>(at + 4, position);
  store<u32>(at + 8, load<u32>(d + DESC_RECORDS));
  store<u32>(at + 12, load<u32>(d + DESC_BLOCKS));
  store<u64>(at + 16, load<u64>(d + DESC_INDEX_ADDRESS));
  memory.copy(at + 24, d + DESC_INDEX_CHECKSUM, CHECKSUM_BYTES);
  store<u64>(at + 40, load<u64>(d + DESC_FILTER_ADDRESS));
  memory.copy(at + 48, d + DESC_FILTER_CHECKSUM, CHECKSUM_BYTES);
  memory.copy(at + 64, d + DESC_KEY_MIN, t.keyBytes);
  memory.copy(at + 64 + t.keyBytes, d + DESC_KEY_MAX, t.keyBytes);
}

/** Seals the manifest block being built in `b` and queues it, chained to the previous one. */
function writeBlock(t: Tree, b: usize, entries: u32): void {
  const address = freeSetAcquire(t.freeSet);
  const body = blockBody(b);
  store<u64>(body, t.manifestAddress);
  memory.copy(body + 8, t.manifestChecksum, CHECKSUM_BYTES);
  store<u32>(body + 24, entries);
  store<u32>(body + 28, 0);
  memory.fill(body + 32, 0, MANIFEST_HEADER_BYTES - 32);
  memory.copy(body + 32, t.levelCursors, <usize>t.levels * KEY_BYTES_MAX);
  blockSeal(b, address, t.sequence, BLOCK_KIND_MANIFEST, t.id, 0, entries, MANIFEST_HEADER_BYTES + entries * manifestEntryBytes(t));
  writeQueuePush(t.writes, address, b);
  assert(t.manifestCount < t.manifestCapacity, "manifest: more blocks than the largest manifest takes");
  store<u64>(t.manifestBlocks + <usize>t.manifestCount * 8, address);
  t.manifestCount++;
  t.manifestAddress = address;
  memory.copy(t.manifestChecksum, blockChecksum(b), CHECKSUM_BYTES);
}

/**
 * Writes the tree's manifest (queued in t.writes) and releases the previous
 * one's blocks; t.manifestAddress / t.manifestChecksum name the new head.
 * TREE_FULL, and nothing changed, when the grid cannot take it. Called at a
 * checkpoint, after the flush and between compactions.
 */
export function treeManifestWrite(t: Tree): i32 {
  assert(!treeCompacting(t), "manifest: a checkpoint in the middle of a merge");
  const per = entriesPerBlock(t);
  const tables = tableCount(t);
  const blocks = max<u32>(1, (tables + per - 1) / per);
  assert(writeQueueRoom(t.writes) >= blocks, "manifest: the write queue was not drained");
  if (!freeSetReserve(t.freeSet, <u64>blocks)) return TREE_FULL;
  for (let i: u32 = 0; i < t.manifestCount; i++) freeSetRelease(t.freeSet, load<u64>(t.manifestBlocks + <usize>i * 8));
  t.manifestCount = 0;
  t.manifestAddress = 0;
  memory.fill(t.manifestChecksum, 0, CHECKSUM_BYTES);
  // The flush builder's data buffer is free between flushes.
  const b = t.flushBuilder.data;
  let entries: u32 = 0;
  for (let level: u32 = 0; level < t.levels; level++) {
    for (let p: u32 = 0; p < levelCount(t, level); p++) {
      if (entries == per) { writeBlock(t, b, entries); entries = 0; }
      encodeEntry(t, blockBody(b) + MANIFEST_HEADER_BYTES + <usize>entries * manifestEntryBytes(t), level, p);
      entries++;
    }
  }
  writeBlock(t, b, entries);
  assert(t.manifestCount == blocks, "manifest: wrote other blocks than reserved");
  return TREE_OK;
}

/** Starts opening the tree from the manifest whose head is at `address` (0: an empty tree) with `checksum`. */
export function treeOpenBegin(t: Tree, address: u64, checksum: usize): void {
  assert(checksum != 0, "manifest: open without a checksum");
  treeReset(t);
  t.openNext = address;
  memory.copy(t.openChecksum, checksum, CHECKSUM_BYTES);
  t.manifestAddress = address;
  memory.copy(t.manifestChecksum, checksum, CHECKSUM_BYTES);
  t.openPlaced = 0;
}

function decodeEntry(t: Tree, at: usize): void {
  const id = descAllocOpened(t);
  const d = desc(t, id);
  store<u32>(d + DESC_RECORDS, load<u32>(at + 8));
  store<u32>(d + DESC_BLOCKS, load<u32>(at + 12));
  store<u64>(d + DESC_INDEX_ADDRESS, load<u64>(at + 16));
  memory.copy(d + DESC_INDEX_CHECKSUM, at + 24, CHECKSUM_BYTES);
  store<u64>(d + DESC_FILTER_ADDRESS, load<u64>(at + 40));
  memory.copy(d + DESC_FILTER_CHECKSUM, at + 48, CHECKSUM_BYTES);
  memory.copy(d + DESC_KEY_MIN, at + 64, t.keyBytes);
  memory.copy(d + DESC_KEY_MAX, at + 64 + t.keyBytes, t.keyBytes);
  assert(load<u32>(at + 8) > 0 && load<u32>(at + 12) > 0, "manifest: an entry for an empty table");
  levelPlace(t, load<u32>(at), load<u32>(at + 4), id);
  t.openPlaced++;
}

/**
 * Reads the manifest chain through the cache: TREE_WAIT after wanting the
 * next block (deliver it and step again), TREE_READY once every table is
 * placed, or TREE_CACHE_FULL.
 */
export function treeOpenStep(t: Tree): i32 {
  while (t.openNext != 0) {
    // Decoded at once: the block need not stay pinned.
    const b = cachePeek(t.cache, t.openNext, t.openChecksum);
    if (b == 0) return cacheWant(t.cache, t.openNext, t.openChecksum, t.id, 0, false) ? TREE_WAIT : TREE_CACHE_FULL;
    const body = blockBody(b);
    const entries = load<u32>(body + 24);
    assert(entries == blockRecords(b) && entries <= entriesPerBlock(t), "manifest: a block's entry count is not its header's");
    // The head, read first, holds the cursors as they were at the checkpoint.
    if (t.manifestCount == 0) memory.copy(t.levelCursors, body + 32, <usize>t.levels * KEY_BYTES_MAX);
    for (let i: u32 = 0; i < entries; i++) decodeEntry(t, body + MANIFEST_HEADER_BYTES + <usize>i * manifestEntryBytes(t));
    assert(t.manifestCount < t.manifestCapacity, "manifest: a chain longer than the largest manifest");
    store<u64>(t.manifestBlocks + <usize>t.manifestCount * 8, t.openNext);
    t.manifestCount++;
    t.openNext = load<u64>(body);
    memory.copy(t.openChecksum, body + 8, CHECKSUM_BYTES);
  }
  // Every level's positions are filled: no entry lost, none twice.
  let placed: u32 = 0;
  for (let level: u32 = 0; level < t.levels; level++) placed += levelCount(t, level);
  assert(placed == t.openPlaced, "manifest: a level with a hole (a lost or repeated entry)");
  return TREE_READY;
}
