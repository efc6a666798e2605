// test/services/kvstore: a test-only service that keeps a lib/store tree of
// (u64 key -> 64-byte value) on its grid through services/sdk/store.ts, for
// test/unit/sdk-store.test.ts. Its cache is one region exported as
// qx_cache_area/qx_cache_bytes (the host's state digest skips it). No
// compaction and no checkpoints: tables pile up in L0 (at most tablesMax).
//
// A get or scan is the prefetch step: prefetch; when blocks are missing, ask
// for them (storeAsk) and return; the kernel delivers each (storeOnBlock)
// and then the request again, which prefetches again, until the read runs
// from the cache. A block that fails its check, or the device, is named in
// the reply, never answered from. Writes queued and not yet handed to the
// kernel are drained first by every request that reads or flushes; a read
// never runs while some remain (they could be the blocks it needs).
//
// Config (qx_init, binary, each u32; absent: defaults): memtable records,
// cache slots, tablesMax, grid blocks, write queue capacity in blocks.
// Requests (little-endian), op at +0:
//   1 put       +8 u64 key, +16 [64] value        -> empty; error memtable_full
//   2 flush     +1 u8 hold (1: queue the table, hand nothing to the kernel)
//                                                 -> i32 tree result, u32 blocks still queued
//   3 get       +8 u64 key                        -> u8 found, [64] value
//   4 scan      +8 u64 lo, +16 u64 hi, +24 u32 limit (1..64), +28 u8 ascending -> n × (u64 key, [64] value)
//   5 put many  +8 u64 first key, +16 u32 count, +20 u32 seed -> u32 records put
//               (value word w of key k: u32(k) * 0x9e3779b1 ^ seed ^ w * 0x85ebca6b)
//   6 stats                                       -> u64 cache fills, u64 cache hits, u32 queued, u32 L0 tables
//   7 forget    empties the cache (as a restart with a cold cache would) -> empty

import { reply, replyError, KIND_REQUEST, KIND_BLOCK } from "../../../services/sdk/qenex";
import { storeAsk, storeDrain, storeOnBlock } from "../../../services/sdk/store";
import { GRID_BLOCK_BYTES, BLOCK_MSG_HEADER_BYTES } from "../../../hal/devices/grid";
import { BLOCK_BODY_BYTES, BLOCK_OK } from "../../../lib/store/block";
import { Cache, cacheBytes, cacheCreateIn, cacheEpochEnd, cacheErrorMessage, cacheReset } from "../../../lib/store/cache";
import { FreeSet, freeSetCreate } from "../../../lib/store/freeset";
import { WriteQueue, writeQueueCreate } from "../../../lib/store/writes";
import { levelCount, Tree, TreeConfig, treeCreate, treeFlush, treePut } from "../../../lib/store/tree";
import { treeGet, treePrefetch, treeScan, treeScanPrefetch, TREE_CACHE_FULL, TREE_WAIT } from "../../../lib/store/reads";

const INBOX_BYTES: u32 = <u32>(BLOCK_MSG_HEADER_BYTES + GRID_BLOCK_BYTES);
const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);
const VALUE_BYTES: u32 = 64;
const RECORD_BYTES: u32 = 8 + VALUE_BYTES;
const SCAN_MAX: u32 = 64;
const out: usize = memory.data(<i32>(SCAN_MAX * RECORD_BYTES), 16);
const key: usize = memory.data(16, 16); // lo, hi

let tree: Tree = changetype<Tree>(0);
let cache: Cache = changetype<Cache>(0);
let writes: WriteQueue = changetype<WriteQueue>(0);
let freeSet: FreeSet = changetype<FreeSet>(0);
let cacheRegionBytes: u32 = 0;
// The first block of the request being prefetched that failed (BLOCK_E_* or STORAGE_E_*); 0: none.
let failed: i32 = BLOCK_OK;

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }
export function qx_cache_area(): usize { return changetype<usize>(cache); }
export function qx_cache_bytes(): u32 { return cacheRegionBytes; }

function configWord(len: u32, i: u32, otherwise: u32): u32 {
  return len >= (i + 1) * 4 ? load<u32>(inbox + (<usize>i << 2)) : otherwise;
}

export function qx_init(len: u32): void {
  const config = new TreeConfig();
  config.keyBytes = 8;
  config.valueBytes = VALUE_BYTES;
  config.memtableMax = configWord(len, 0, 64);
  config.tableRecordsMax = config.memtableMax;
  config.tablesMax = configWord(len, 2, 64);
  const slots = configWord(len, 1, 5);
  const recordsPerBlock = <u32>(BLOCK_BODY_BYTES / <usize>RECORD_BYTES);
  const flushBlocks = (config.memtableMax + recordsPerBlock - 1) / recordsPerBlock + 2;
  freeSet = freeSetCreate(<u64>configWord(len, 3, 4096));
  cacheRegionBytes = <u32>cacheBytes(slots);
  cache = cacheCreateIn(slots, heap.alloc(<usize>cacheRegionBytes));
  writes = writeQueueCreate(configWord(len, 4, flushBlocks));
  tree = treeCreate(config, cache, freeSet, writes);
  assert(qx_cache_area() != 0, "kvstore: a cache");
}

/** Hands queued writes to the kernel; false (and the request answered) when some are still queued. */
function drainFirst(token: u32): bool {
  if (writes.count == 0 || storeDrain(writes) == 0) return true;
  replyError(token, "storage_busy: blocks still queued, ask again");
  return false;
}

/** The end of a read's prefetch: false after answering a failure or asking for blocks (the request comes again). */
function ready(token: u32, prefetched: i32): bool {
  if (failed != BLOCK_OK) {
    failed = BLOCK_OK;
    cacheEpochEnd(cache);
    replyError(token, cacheErrorMessage(cache, "kv"));
    return false;
  }
  if (prefetched == TREE_CACHE_FULL) {
    cacheEpochEnd(cache);
    replyError(token, "cache_full: the read needs more blocks than the cache holds");
    return false;
  }
  if (prefetched != TREE_WAIT) return true;
  const asked = storeAsk(cache);
  assert(asked > 0, "kvstore: a prefetch that waits for nothing");
  return false;
}

function get(token: u32): void {
  if (!drainFirst(token)) return;
  if (!ready(token, treePrefetch(tree, inbox + 8))) return;
  const found = treeGet(tree, inbox + 8, out + 1);
  cacheEpochEnd(cache);
  store<u8>(out, found ? 1 : 0);
  reply(token, 0, out, 1 + VALUE_BYTES);
}

function scan(token: u32): void {
  if (!drainFirst(token)) return;
  const limit = load<u32>(inbox + 24);
  const ascending = load<u8>(inbox + 28) != 0;
  memory.copy(key, inbox + 8, 16);
  if (limit == 0 || limit > SCAN_MAX || load<u64>(key) > load<u64>(key + 8)) { replyError(token, "bad scan"); return; }
  if (!ready(token, treeScanPrefetch(tree, key, key + 8, limit, ascending))) return;
  const n = treeScan(tree, key, key + 8, limit, ascending, out);
  cacheEpochEnd(cache);
  reply(token, 0, out, n * RECORD_BYTES);
}

function flush(token: u32): void {
  const hold = load<u8>(inbox + 1) != 0;
  if (!hold && !drainFirst(token)) return;
  store<i32>(out, treeFlush(tree));
  store<u32>(out + 4, hold ? writes.count : storeDrain(writes));
  reply(token, 0, out, 8);
}

function putMany(token: u32): void {
  const first = load<u64>(inbox + 8);
  const count = load<u32>(inbox + 16);
  const seed = load<u32>(inbox + 20);
  let done: u32 = 0;
  for (; done < count; done++) {
    const k = first + <u64>done;
    store<u64>(key, k);
    for (let w: u32 = 0; w < VALUE_BYTES / 4; w++) store<u32>(out + (<usize>w << 2), (<u32>k * 0x9e3779b1) ^ seed ^ (w * 0x85ebca6b));
    if (!treePut(tree, key, out)) break;
  }
  store<u32>(out, done);
  reply(token, 0, out, 4);
}

function stats(token: u32): void {
  store<u64>(out, cache.fills);
  store<u64>(out + 8, cache.hits);
  store<u32>(out + 16, writes.count);
  store<u32>(out + 20, levelCount(tree, 0));
  reply(token, 0, out, 24);
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  if (kind == KIND_BLOCK) {
    const status = storeOnBlock(cache, inbox, len);
    if (status != BLOCK_OK && failed == BLOCK_OK) failed = status;
    return;
  }
  if (kind != KIND_REQUEST || len == 0) return;
  const op = load<u8>(inbox);
  if (op == 1) {
    if (treePut(tree, inbox + 8, inbox + 16)) reply(token, 0, out, 0);
    else replyError(token, "memtable_full: flush first");
  } else if (op == 2) flush(token);
  else if (op == 3) get(token);
  else if (op == 4) scan(token);
  else if (op == 5) putMany(token);
  else if (op == 6) stats(token);
  else if (op == 7) { cacheReset(cache); reply(token, 0, out, 0); }
  else replyError(token, "unknown op");
}
