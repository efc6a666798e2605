// test/assembly/store-lib.ts: a test-only entry that exposes lib/store (the
// storage engine) to JavaScript (test/unit/store.test.ts).
//
// One engine at a time: setup() creates a free set, a cache, a write queue
// and one tree (id 1, named "transfers.id" in errors) from the test's sizes;
// a test that wants other sizes calls setup() again (the stub runtime never
// frees, so each setup costs its memory; tests keep them small). The test
// plays the kernel: it drains the write queue into a fake grid, answers the
// cache's misses with fill(), and keeps the "superblock" (the manifest head
// and the free set's blocks) to reopen from a checkpoint.

import { checksum, CHECKSUM_BYTES } from "../../lib/store/checksum";
import { blockChecksum, blockErrorMessage, blockSeal, blockVerify, blockBody, BLOCK_BYTES, BLOCK_KIND_FREE_SET, BLOCK_OK } from "../../lib/store/block";
import {
  Cache, cacheCreate, cacheEpochEnd, cacheErrorMessage, cacheFill, cacheMissAddress, cacheMissCount, cacheMissesTaken, cacheReset,
} from "../../lib/store/cache";
import {
  FreeSet, freeSetAcquire, freeSetCheckpoint, freeSetCheckpointDurable, freeSetCreate, freeSetDecode, freeSetEncode, freeSetEncodedBlocks,
  freeSetInUse, freeSetOpened, freeSetRelease, freeSetReserve, freeSetReset, freeSetUnreserve,
} from "../../lib/store/freeset";
import {
  WriteQueue, writeQueueAddress, writeQueueBlock, writeQueueCreate, writeQueueDrained, writeQueueEntry, writeQueuePush, writeQueueTake,
} from "../../lib/store/writes";
import { levelCount, Tree, TreeConfig, treeCreate, treeFlush, treePut, treeReset, TREE_OK } from "../../lib/store/tree";
import { treeGet, treePrefetch, treeScan, treeScanPrefetch } from "../../lib/store/reads";
import { compactStep, treeCompacting } from "../../lib/store/compact";
import { treeManifestWrite, treeOpenBegin, treeOpenStep } from "../../lib/store/manifest";

export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

export function checksum_of(ptr: usize, len: u32, out: usize): void {
  checksum(ptr, <usize>len, out);
}
export function block_bytes(): u32 {
  return <u32>BLOCK_BYTES;
}

let fs: FreeSet = changetype<FreeSet>(0);
let cache: Cache = changetype<Cache>(0);
let writes: WriteQueue = changetype<WriteQueue>(0);
let tree: Tree = changetype<Tree>(0);
// The free set's blocks of the last checkpoint (the test's superblock holds their checksums).
let fsBlocks: usize = 0;
let fsBlockCount: u32 = 0;
let fsBuffer: usize = 0;

export function setup(gridBlocks: u32, cacheSlots: u32, writesMax: u32, keyBytes: u32, valueBytes: u32, memtableMax: u32,
  levels: u32, growth: u32, l0Max: u32, tableRecordsMax: u32, tablesMax: u32): void {
  fs = freeSetCreate(<u64>gridBlocks);
  cache = cacheCreate(cacheSlots);
  writes = writeQueueCreate(writesMax);
  const config = new TreeConfig();
  config.keyBytes = keyBytes;
  config.valueBytes = valueBytes;
  config.memtableMax = memtableMax;
  config.levels = levels;
  config.growth = growth;
  config.l0Max = l0Max;
  config.tableRecordsMax = tableRecordsMax;
  config.tablesMax = tablesMax;
  tree = treeCreate(config, cache, fs, writes);
  fsBlocks = heap.alloc(<usize>freeSetEncodedBlocks(fs) * 8);
  fsBlockCount = 0;
  fsBuffer = heap.alloc(BLOCK_BYTES);
}

/** Back to an empty engine with the same sizes (a new grid). */
export function reset(): void {
  freeSetReset(fs);
  cacheReset(cache);
  writeQueueDrained(writes);
  treeReset(tree);
  tree.sequence = 0;
  fsBlockCount = 0;
}

// ---- the tree ----
export function put(key: usize, value: usize): bool { return treePut(tree, key, value); }
export function prefetch(key: usize): i32 { return treePrefetch(tree, key); }
export function get(key: usize, out: usize): bool { return treeGet(tree, key, out); }
export function scan_prefetch(lo: usize, hi: usize, limit: u32, ascending: bool): i32 { return treeScanPrefetch(tree, lo, hi, limit, ascending); }
export function scan(lo: usize, hi: usize, limit: u32, ascending: bool, out: usize): u32 { return treeScan(tree, lo, hi, limit, ascending, out); }
export function flush(): i32 { return treeFlush(tree); }
export function compact_step(budget: u32): i32 { return compactStep(tree, budget); }
export function compacting(): bool { return treeCompacting(tree); }
export function level_count(level: u32): u32 { return levelCount(tree, level); }
export function memtable_count(): u32 { return tree.memtable.count; }

// ---- the cache ----
export function epoch_end(): void { cacheEpochEnd(cache); }
export function miss_count(): u32 { return cacheMissCount(cache); }
export function miss_address(i: u32): u64 { return cacheMissAddress(cache, i); }
export function misses_taken(): void { cacheMissesTaken(cache); }
export function fill(address: u64, block: usize): i32 { return cacheFill(cache, address, block); }
export function error_message(): string { return cacheErrorMessage(cache, "transfers.id"); }
export function cache_fills(): u64 { return cache.fills; }

// ---- the write queue ----
export function write_count(): u32 { return writes.count; }
export function write_address(i: u32): u64 { return writeQueueAddress(writes, i); }
export function write_block(i: u32): usize { return writeQueueBlock(writes, i); }
export function writes_drained(): void { writeQueueDrained(writes); }
export function write_entry(i: u32): usize { return writeQueueEntry(writes, i); }
export function writes_take(n: u32): void { writeQueueTake(writes, n); }

// ---- the free set ----
export function fs_reserve(n: u32): bool { return freeSetReserve(fs, <u64>n); }
export function fs_unreserve(n: u32): void { freeSetUnreserve(fs, <u64>n); }
export function fs_acquire(): u64 { return freeSetAcquire(fs); }
export function fs_release(address: u64): void { freeSetRelease(fs, address); }
export function fs_in_use(address: u64): bool { return freeSetInUse(fs, address); }
export function fs_free(): u64 { return fs.free - fs.reserved; }
export function fs_checkpoint(): void { freeSetCheckpoint(fs); }
export function fs_durable(): void { freeSetCheckpointDurable(fs); }
export function fs_reset(): void { freeSetReset(fs); }

// ---- checkpoints ----

/**
 * Takes a checkpoint: flushes the memtable, writes the manifest, then the
 * free set (its own new blocks in use, the previous ones dropped). The test
 * drains the writes, then calls checkpoint_durable(). TREE_FULL when the
 * grid cannot take it.
 */
export function checkpoint(): i32 {
  assert(!treeCompacting(tree), "store-lib: a checkpoint during a merge");
  tree.sequence++;
  let r = treeFlush(tree);
  if (r != TREE_OK) return r;
  r = treeManifestWrite(tree);
  if (r != TREE_OK) return r;
  const n = freeSetEncodedBlocks(fs);
  if (!freeSetReserve(fs, <u64>n)) return -1;
  for (let i: u32 = 0; i < fsBlockCount; i++) freeSetRelease(fs, load<u64>(fsBlocks + <usize>i * 8));
  for (let i: u32 = 0; i < n; i++) store<u64>(fsBlocks + <usize>i * 8, freeSetAcquire(fs));
  fsBlockCount = n;
  freeSetCheckpoint(fs);
  for (let i: u32 = 0; i < n; i++) {
    const used = freeSetEncode(fs, i, blockBody(fsBuffer));
    const address = load<u64>(fsBlocks + <usize>i * 8);
    blockSeal(fsBuffer, address, tree.sequence, BLOCK_KIND_FREE_SET, 0, 0, i, used);
    writeQueuePush(writes, address, fsBuffer);
  }
  return TREE_OK;
}
export function checkpoint_durable(): void { freeSetCheckpointDurable(fs); }
export function manifest_address(): u64 { return tree.manifestAddress; }
export function manifest_checksum(): usize { return tree.manifestChecksum; }
export function fs_block_count(): u32 { return fsBlockCount; }
export function fs_block_address(i: u32): u64 { return load<u64>(fsBlocks + <usize>i * 8); }

/** Reopening after a crash: forget the cache, the tree and the free set. */
export function reopen_begin(manifestAddress: u64, manifestChecksum: usize): void {
  cacheReset(cache);
  freeSetReset(fs);
  writeQueueDrained(writes);
  treeOpenBegin(tree, manifestAddress, manifestChecksum);
  fsBlockCount = 0;
}
let lastError: string = "";
/** Loads free set block `i` read from `address`, whose checksum the superblock kept; 0 or a BLOCK_E_* (see last_error). */
export function reopen_free_set(i: u32, address: u64, block: usize, expected: usize): i32 {
  const status = blockVerify(block, address, expected);
  if (status != BLOCK_OK) { lastError = blockErrorMessage(status, address, "free set", 0); return status; }
  freeSetDecode(fs, i, blockBody(block));
  store<u64>(fsBlocks + <usize>i * 8, address);
  fsBlockCount = i + 1;
  return BLOCK_OK;
}
export function reopen_free_set_done(): void { freeSetOpened(fs); }
export function open_step(): i32 { return treeOpenStep(tree); }
export function last_error(): string { return lastError; }
export function checksum_bytes(): u32 { return <u32>CHECKSUM_BYTES; }
export function block_checksum(block: usize): usize { return blockChecksum(block); }
