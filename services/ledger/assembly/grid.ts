// The ledger on its grid (docs/storage.md, stage 2): the transfer table is
// a window of the newest transfers, a ring, and everything older lives in
// LSM trees on the service's grid (lib/store, through services/sdk/store.ts).
// Only the edges of the window know about the grid: eviction (this file),
// the cold lookups a batch or a query prefetches (finds.ts, cold.ts), and
// the message's storage steps (index.ts). The apply path is unchanged.
//
// Trees (keys are little-endian unsigned integers compared from their last
// word down, lib/store/keys.ts):
//   transfers          timestamp → the 128-byte transfer
//   transfers.id       id → timestamp (TS_ORPHAN: the id of a transient failure)
//   account_transfers  (timestamp, account slot) → nothing: an account's transfers by time
//   account_balances   (timestamp, account slot) → the four balances after that transfer
//   transfers.pending  timestamp of a pending transfer → how it resolved (PENDING_*)
//   transfers.user_data_128, .user_data_64, .user_data_32, .code, .ledger
//                      (timestamp, field) → nothing: query_transfers' indexes
//
// Eviction moves the oldest transfers out of the ring before a batch that
// would not fit (a function of the state and the batch's size, so replay
// evicts the same). A transfer still pending then moves to the side table
// after the ring (state.ts): the id table and the expiry heap follow it, and
// it leaves the side table (its outcome written to transfers.pending) at an
// eviction after it resolves. Every message drains the blocks its trees
// queued (at most STORAGE_WRITES_PER_MESSAGE), so a read never meets a block
// not yet written.

import { CACHE_BLOCKS_MIN, NONE, PENDING_MAX_LIMIT } from "./constants";
import { A_DEBITS_PENDING, AM_HISTORY_FIRST, AM_HISTORY_LAST, AM_TRANSFERS_FIRST, AM_TRANSFERS_LAST, H_ACCOUNT_SLOT,
  H_BALANCES, H_NEXT, H_PREV, H_TIMESTAMP, H_TRANSFER_SLOT, PENDING_PENDING, T_CODE, T_FLAGS, T_ID, T_LEDGER, T_TIMESTAMP,
  T_USER_DATA_128, T_USER_DATA_32, T_USER_DATA_64, TF_PENDING,
  TM_AUX, TM_BYTES, TM_CREDIT_SLOT, TM_DEBIT_SLOT, TM_STATUS, X_SLOT } from "./layout";
import { S, accountMetaAt, historyAt, physicalOf, recordAt, recordMetaAt, transferAt, transferMetaAt } from "./state";
import { idFind, idRemove } from "./idtable";
import { linkOffset } from "./lists";
import { expiryEntryAt } from "./expiry";
import { storeDrain, storeCheckpoint } from "../../sdk/store";
import { STORAGE_WRITES_PER_MESSAGE } from "../../../hal/devices/grid";
import { Cache, cacheBytes, cacheCreateIn, cacheEpochEnd, cacheSlotsFitting } from "../../../lib/store/cache";
import { FreeSet, freeSetCreate } from "../../../lib/store/freeset";
import { WriteQueue, writeQueueCreate } from "../../../lib/store/writes";
import { Tree, TreeConfig, TREE_OK, treeCreate, treeFlush, treePut } from "../../../lib/store/tree";
import { compactStep, COMPACT_BUDGET_MIN, COMPACT_BUSY, COMPACT_CACHE_FULL, COMPACT_DONE, COMPACT_WAIT } from "../../../lib/store/compact";
import { storeAsk } from "../../sdk/store";

export const TREE_TRANSFERS: u8 = 1;
export const TREE_IDS: u8 = 2;
export const TREE_ACCOUNT_TRANSFERS: u8 = 3;
export const TREE_BALANCES: u8 = 4;
export const TREE_PENDING: u8 = 5;
// The query indexes (query_transfers over the whole history): (field, timestamp) of every evicted
// transfer whose field is not zero (zero never filters), a set of keys.
export const TREE_BY_USER_DATA_128: u8 = 6;
export const TREE_BY_USER_DATA_64: u8 = 7;
export const TREE_BY_USER_DATA_32: u8 = 8;
export const TREE_BY_CODE: u8 = 9;
export const TREE_BY_LEDGER: u8 = 10;
/** Trees of the ledger, ids 1..TREE_COUNT. */
export const TREE_COUNT: u32 = 10;

/** transfers.id's value for the id of a transient failure: past every timestamp (u63). */
export const TS_ORPHAN: u64 = 0x8000000000000000;

/**
 * Records a memtable holds: what one eviction puts (a window's worth at
 * most; account_transfers and account_balances take two a transfer,
 * transfers.id a batch's orphans too), up to what a table's filter block
 * covers. A small window flushes small tables often, so its history reaches
 * the disk soon (the tests' tiny windows).
 */
const MEMTABLE_RECORDS_MAX: u32 = 16384;
const MEMTABLE_RECORDS_PER_SIDE_MAX: u32 = 24576;
/**
 * Tables a tree may have. A tree without filters costs some 180 bytes of
 * memory a table (its descriptor, its places in the levels, a scan source),
 * so it may have 2^15: 400M records and more, room for 100M transfers and
 * their two account_transfers keys each with the levels' slack. A tree with
 * filters (transfers.id) costs a filter of 32 KiB a table more, so it has
 * 2^13: 8192 tables of 16,384 ids, 134M ids, and 256 MiB of filters at most,
 * of which only the tables in use are ever touched.
 */
const TABLES_MAX: u32 = 32768;
const TABLES_MAX_FILTERED: u32 = 8192;
/** Levels whose written blocks are cached (cachePut): L0 to L2, some 500 blocks of account_transfers. */
const CACHE_WRITES_BELOW: u32 = 3;

// @ts-ignore: decorator
@unmanaged
export class Grid {
  cache: Cache = changetype<Cache>(0);
  /** Where the cache's allocation starts, its size word included (the stub allocator's, before it). */
  cacheRegion: usize = 0;
  freeSet: FreeSet = changetype<FreeSet>(0);
  writes: WriteQueue = changetype<WriteQueue>(0);
  transfers: Tree = changetype<Tree>(0);
  ids: Tree = changetype<Tree>(0);
  accountTransfers: Tree = changetype<Tree>(0);
  balances: Tree = changetype<Tree>(0);
  pending: Tree = changetype<Tree>(0);
  byUserData128: Tree = changetype<Tree>(0);
  byUserData64: Tree = changetype<Tree>(0);
  byUserData32: Tree = changetype<Tree>(0);
  byCode: Tree = changetype<Tree>(0);
  byLedger: Tree = changetype<Tree>(0);
  /** Side table: free record indexes (a stack) and those resolved, to leave at the next eviction. */
  sideFree: usize = 0;
  sideFreeCount: u32 = 0;
  sideResolved: usize = 0;
  sideResolvedCount: u32 = 0;
  /**
   * Compaction of the batch being prepared (gridCompact): the tree the
   * batch's first step goes to (round robin), the tree being stepped, the
   * block writes the batch may still make, those of the step in progress
   * (across the deliveries a step waits for), how many trees in a row had
   * nothing due, and the batch (state) it was worked out for.
   */
  compactNext: u32 = 0;
  compactTree: u32 = 0;
  compactLeft: u32 = 0;
  compactStepWrites: u32 = 0;
  compactIdle: u32 = 0;
  compactedAt: u64 = 0;
  compactedCount: u32 = 0;
  compactWaiting: bool = false;
  /** Blocks the flushes of this batch's eviction queued (gridMakeRoom): the rest of a message's writes are compaction's. */
  flushWrites: u32 = 0;
  /** The batch (state) gridMakeRoom last made room for: the message delivered again releases no more side-table entries. */
  roomAt: u64 = 0;
  roomCount: u32 = 0;
  /** Key and value scratch for puts. */
  key: usize = 0;
  value: usize = 0;
  /** Transfers evicted so far, and the timestamp of the newest one (0: none). */
  evicted: u64 = 0;
  evictedTimestampLast: u64 = 0;
}

export const G: Grid = changetype<Grid>(heap.alloc(offsetof<Grid>()));
memory.fill(changetype<usize>(G), 0, offsetof<Grid>());

/**
 * A tree of the ledger. Only transfers.id has bloom filters: its lookups are
 * of ids in no order, most of them new. The timestamp trees (transfers,
 * transfers.pending) are looked up by keys that only grow, so their tables
 * never overlap and the one table whose key range holds a key is the only
 * one that may; the per-account trees and the query indexes are only scanned.
 */
function tree(id: u8, keyBytes: u32, valueBytes: u32, memtable: u32, filter: bool): Tree {
  const config = new TreeConfig();
  config.id = id;
  config.keyBytes = keyBytes;
  config.valueBytes = valueBytes;
  config.memtableMax = memtable;
  config.tableRecordsMax = memtable;
  config.levels = 5;
  config.growth = 8;
  config.l0Max = 4;
  config.filter = filter;
  config.tablesMax = filter ? TABLES_MAX_FILTERED : TABLES_MAX;
  // Trees whose tables are merged (keys in no order) keep what they write to L0-L2 in the cache:
  // those tables are merged again within batches, and reading them back was most of the grid's reads.
  config.cacheWritesBelow = id == TREE_TRANSFERS || id == TREE_PENDING ? 0 : CACHE_WRITES_BELOW;
  // The cache comes last (gridCacheInit); the tree learns it then.
  return treeCreate(config, changetype<Cache>(0), G.freeSet, G.writes);
}

/** The trees, cache and free set of a ledger on a grid of `gridBlocks` blocks with `cacheBlocks` cached. */
export function gridInit(gridBlocks: u64): void {
  assert(!S.grid && gridBlocks > 0, "gridInit: once, with a grid");
  S.grid = true;
  G.freeSet = freeSetCreate(gridBlocks);
  G.writes = writeQueueCreate(<u32>STORAGE_WRITES_PER_MESSAGE);
  const window = S.transfersMax;
  G.transfers = tree(TREE_TRANSFERS, 8, 128, min<u32>(window, MEMTABLE_RECORDS_MAX), false);
  G.ids = tree(TREE_IDS, 16, 8, min<u32>(2 * window, MEMTABLE_RECORDS_MAX), true);
  G.accountTransfers = tree(TREE_ACCOUNT_TRANSFERS, 16, 0, min<u32>(2 * window, MEMTABLE_RECORDS_PER_SIDE_MAX), false);
  G.balances = tree(TREE_BALANCES, 16, 64, min<u32>(2 * window, MEMTABLE_RECORDS_PER_SIDE_MAX), false);
  G.pending = tree(TREE_PENDING, 8, 8, min<u32>(window + S.pendingMax, MEMTABLE_RECORDS_MAX), false);
  const evicted = min<u32>(window, MEMTABLE_RECORDS_MAX);
  G.byUserData128 = tree(TREE_BY_USER_DATA_128, 24, 0, evicted, false);
  G.byUserData64 = tree(TREE_BY_USER_DATA_64, 16, 0, evicted, false);
  G.byUserData32 = tree(TREE_BY_USER_DATA_32, 16, 0, evicted, false);
  G.byCode = tree(TREE_BY_CODE, 16, 0, evicted, false);
  G.byLedger = tree(TREE_BY_LEDGER, 16, 0, evicted, false);
  G.key = heap.alloc(32);
  G.value = heap.alloc(128);
  assert(S.pendingMax <= PENDING_MAX_LIMIT, "gridInit: pending_max bounded");
  G.sideFree = heap.alloc(<usize>S.pendingMax << 2);
  G.sideResolved = heap.alloc(<usize>S.pendingMax << 2);
  for (let i: u32 = 0; i < S.pendingMax; i++) store<u32>(G.sideFree + (<usize>i << 2), S.transfersMax + S.pendingMax - 1 - i);
  G.sideFreeCount = S.pendingMax;
}

/**
 * The block cache, allocated after everything else the ledger allocates:
 * its size is the one thing that differs between two ledgers that cache
 * more or less, so the rest of their memory (and the state digest, which
 * skips the cache) is byte for byte the same.
 */
export function gridCacheInit(cacheBlocks: u32): void {
  assert(S.grid && cacheBlocks >= CACHE_BLOCKS_MIN && changetype<usize>(G.cache) == 0, "gridCacheInit: once, last, with a grid");
  const bytes = cacheBytes(cacheBlocks);
  const raw = heap.alloc(bytes + 15);
  G.cacheRegion = raw - 4;
  G.cache = cacheCreateIn(cacheBlocks, (raw + 15) & ~<usize>15);
  for (let i: u32 = 0; i < TREE_COUNT; i++) treeOf(i).cache = G.cache;
}

/** The kernel's checkpoint message: blocks released before the previous one are free (services/sdk/store.ts). */
export function gridCheckpoint(): void {
  storeCheckpoint(G.freeSet);
}

/**
 * After a restore from a machine snapshot, which leaves the cache's blocks
 * out (they are not state): forgets every block. `bytes` is the region's
 * size as gridCacheBytes said when the snapshot was taken; the slot count is
 * worked out from it, since it is kept nowhere else.
 */
export function gridCacheReset(bytes: usize): void {
  const lead = changetype<usize>(G.cache) - G.cacheRegion;
  assert(bytes > lead, "gridCacheReset: the region holds the cache");
  G.cache = cacheCreateIn(cacheSlotsFitting(bytes - lead), changetype<usize>(G.cache));
}

/**
 * The cache region the state digest skips: the allocation's size word, then
 * the cache (its size is kept in the region only, so it is not state).
 */
export function gridCacheBytes(): usize {
  return changetype<usize>(G.cache) + cacheBytes(G.cache.slots) - G.cacheRegion;
}

/** Hands every queued block to the kernel. A message writes at most what it may (see reserveWrites). */
export function gridDrain(): void {
  if (G.writes.count == 0) return;
  const left = storeDrain(G.writes);
  assert(left == 0, "ledger grid: a message queued more blocks than it may write");
}

/**
 * Clears the key and value scratch: the last key a cold lookup built follows
 * the order the cache let lookups resolve in, which is not state (the digest
 * must not see it).
 */
export function gridScratchClear(): void {
  memory.fill(G.key, 0, 32);
  memory.fill(G.value, 0, 128);
}

/** Names the tree of `id` for errors. */
export function treeName(id: u8): string {
  if (id == TREE_TRANSFERS) return "transfers";
  if (id == TREE_IDS) return "transfers.id";
  if (id == TREE_ACCOUNT_TRANSFERS) return "account_transfers";
  if (id == TREE_BALANCES) return "account_balances";
  if (id == TREE_PENDING) return "transfers.pending";
  if (id == TREE_BY_USER_DATA_128) return "transfers.user_data_128";
  if (id == TREE_BY_USER_DATA_64) return "transfers.user_data_64";
  if (id == TREE_BY_USER_DATA_32) return "transfers.user_data_32";
  if (id == TREE_BY_CODE) return "transfers.code";
  assert(id == TREE_BY_LEDGER, "treeName: a tree of the ledger");
  return "transfers.ledger";
}

// ---- keys ----

/** The 8-byte key of a timestamp, in G.key. */
export function keyTimestamp(timestamp: u64): usize {
  store<u64>(G.key, timestamp);
  return G.key;
}

/** The 16-byte key (timestamp, account slot), in G.key. */
export function keyAccount(timestamp: u64, accountSlot: u32): usize {
  store<u64>(G.key, timestamp);
  store<u64>(G.key + 8, <u64>accountSlot);
  return G.key;
}

/**
 * The key (timestamp, field) of a query index, in G.key: the field is the
 * most significant part (keys.ts), so one field value's keys are a range in
 * timestamp order. `hi` is the upper half of a 128-bit field (0 otherwise).
 */
export function keyIndexed(timestamp: u64, lo: u64, hi: u64): usize {
  store<u64>(G.key, timestamp);
  store<u64>(G.key + 8, lo);
  store<u64>(G.key + 16, hi);
  return G.key;
}

/** An evicted transfer's keys in the query indexes (fields that are zero filter nothing and are left out). */
function putIndexed(record: usize, timestamp: u64): void {
  const u128lo = load<u64>(record + T_USER_DATA_128);
  const u128hi = load<u64>(record + T_USER_DATA_128 + 8);
  if ((u128lo | u128hi) != 0) put(G.byUserData128, keyIndexed(timestamp, u128lo, u128hi), 0);
  const u64v = load<u64>(record + T_USER_DATA_64);
  if (u64v != 0) put(G.byUserData64, keyIndexed(timestamp, u64v, 0), 0);
  const u32v = <u64>load<u32>(record + T_USER_DATA_32);
  if (u32v != 0) put(G.byUserData32, keyIndexed(timestamp, u32v, 0), 0);
  const code = <u64>load<u16>(record + T_CODE);
  if (code != 0) put(G.byCode, keyIndexed(timestamp, code, 0), 0);
  const ledger = <u64>load<u32>(record + T_LEDGER);
  if (ledger != 0) put(G.byLedger, keyIndexed(timestamp, ledger, 0), 0);
}

function put(t: Tree, key: usize, value: usize): void {
  const ok = treePut(t, key, value);
  // ensureRoom flushed every memtable that could not take what is evicted next.
  assert(ok, "ledger grid: a memtable full during eviction");
}

// ---- before a batch: room in the ring, the history ring and the memtables ----

/**
 * Makes room for a batch of `count` transfers: flushes memtables short of
 * room, evicts the oldest transfers until the batch fits the ring (and
 * their balance records the history ring), takes the side table's resolved
 * entries out, then compacts with what the message may still write, and
 * queues it all. False when the grid is full: nothing was evicted.
 */
/** Whether a batch of `count` transfers can fit the windows at all, however much is evicted. */
export function gridBatchFits(count: u32): bool {
  return count <= S.transfersMax && <u64>count * 4 + <u64>S.historyReserved <= <u64>S.historyMax;
}

export function gridMakeRoom(count: u32): bool {
  assert(S.grid && gridBatchFits(count), "gridMakeRoom: a batch that fits the windows");
  const evict = toEvict(count);
  // Side-table transfers that resolved leave a memtable's worth at a time (the rest stay in memory, found there),
  // once a batch: were the message delivered again after its blocks to release more, what a batch
  // does would depend on how many deliveries the cache made it take, and its writes could pass a message's.
  const again = G.roomAt == S.lastTimestamp && G.roomCount == S.transferCount;
  const resolved = again ? 0 : min<u32>(G.sideResolvedCount, G.pending.memtable.capacity - evict);
  G.roomAt = S.lastTimestamp;
  G.roomCount = S.transferCount;
  const queued = G.writes.count;
  if (!ensureRoom(evict, count, resolved)) return false;
  G.flushWrites = G.writes.count - queued;
  releaseResolved(resolved);
  for (let i: u32 = 0; i < evict; i++) evictOldest();
  assert(S.transferCount - S.transferFirst + count <= S.transfersMax, "gridMakeRoom: the batch fits the ring");
  // A pending transfer takes two records and promises two more (transfers.ts checkCapacity).
  assert(<u64>S.historyCount - <u64>S.historyFirst + <u64>S.historyReserved + <u64>count * 4 <= <u64>S.historyMax,
    "gridMakeRoom: the batch's balance records fit the history ring");
  return true;
}

/**
 * How many of the oldest transfers must leave for `count` more to fit the
 * ring. The history ring then has room too: a transfer in the ring holds at
 * most two balance records, a pending one promises two more, and config.ts
 * sizes history_max for that (historyWindowMin).
 */
function toEvict(count: u32): u32 {
  const inRing = S.transferCount - S.transferFirst;
  const evict: u32 = inRing + count > S.transfersMax ? inRing + count - S.transfersMax : 0;
  assert(evict <= inRing && evict <= count, "toEvict: at most a batch, out of the ring");
  return evict;
}

/**
 * Flushes every memtable that could not take what `evict` transfers put (two
 * account keys and up to two balance records each), a batch of `count`
 * orphans, and `resolved` outcomes of side-table transfers.
 */
function ensureRoom(evict: u32, count: u32, resolved: u32): bool {
  return flushIfShort(G.transfers, evict) && flushIfShort(G.ids, evict + count)
    && flushIfShort(G.accountTransfers, evict * 2) && flushIfShort(G.balances, evict * 2) && flushIfShort(G.pending, evict + resolved)
    && flushIfShort(G.byUserData128, evict) && flushIfShort(G.byUserData64, evict) && flushIfShort(G.byUserData32, evict)
    && flushIfShort(G.byCode, evict) && flushIfShort(G.byLedger, evict);
}

function flushIfShort(t: Tree, puts: u32): bool {
  const m = t.memtable;
  assert(puts <= m.capacity, "ledger grid: more to put than a memtable holds");
  if (m.capacity - m.count >= puts) return true;
  return treeFlush(t) == TREE_OK;
}

/**
 * The batch's compaction: every block write the message has left after the
 * eviction's flushes (STORAGE_WRITES_PER_MESSAGE less flushWrites), spent on
 * the trees that have compaction due, one after another from a tree that
 * turns with each batch, until the writes are spent or no tree has any due.
 * Moves cost nothing and are all made at once (compact.ts), so trees whose
 * keys only grow never fall behind; merges get the whole room of every
 * message that has it, so a level over its capacity is brought back as soon
 * as the writes allow rather than one small step per tree every fifth batch
 * (which let the trees pile up tables and every lookup walk them).
 *
 * A step that waits for its input blocks is asked for them and goes on when
 * the message comes again, with the same budget, so where each step stops
 * depends on the state alone, never on what the cache held: replay with any
 * cache size builds the same trees. False: blocks were asked.
 */
export function gridCompact(): bool {
  const mark = S.lastTimestamp;
  if (G.compactedAt == mark && G.compactedCount == S.transferCount && !G.compactWaiting) return true;
  if (G.compactedAt != mark || G.compactedCount != S.transferCount) {
    G.compactedAt = mark;
    G.compactedCount = S.transferCount;
    G.compactTree = G.compactNext;
    G.compactNext = (G.compactNext + 1) % TREE_COUNT;
    assert(G.flushWrites <= <u32>STORAGE_WRITES_PER_MESSAGE, "gridCompact: the flushes fit a message");
    G.compactLeft = <u32>STORAGE_WRITES_PER_MESSAGE - G.flushWrites;
    G.compactStepWrites = 0;
    G.compactIdle = 0;
  }
  G.compactWaiting = false;
  while (G.compactLeft >= COMPACT_BUDGET_MIN && G.compactIdle < TREE_COUNT) {
    const t = treeOf(G.compactTree);
    const r = compactTreeStep(t);
    if (r == COMPACT_WAIT) {
      G.compactWaiting = true;
      // What the step wrote before it waited goes now: the next delivery may write a message's worth again.
      gridDrain();
      return storeAsk(G.cache) == 0;
    }
    G.compactLeft -= G.compactStepWrites;
    G.compactStepWrites = 0;
    // The budget ran out inside a merge: it goes on in the next batch.
    if (r == COMPACT_BUSY) break;
    // A tree that moved or finished a merge may have more due; one with nothing due (or a full grid) passes the turn.
    if (r == COMPACT_DONE) {
      G.compactIdle = 0;
    } else {
      G.compactIdle++;
      G.compactTree = (G.compactTree + 1) % TREE_COUNT;
    }
  }
  return true;
}

/** One compactStep of tree `t` with what the batch has left; its writes are added to compactStepWrites. */
function compactTreeStep(t: Tree): i32 {
  const before = G.writes.count;
  let r = compactStep(t, G.compactLeft);
  if (r == COMPACT_CACHE_FULL) {
    // Pins of earlier lookups fill the cache: they are done with; the step goes on.
    cacheEpochEnd(G.cache);
    r = compactStep(t, G.compactLeft);
    assert(r != COMPACT_CACHE_FULL, "ledger grid: the cache cannot hold a compaction step's blocks (cache_blocks too small)");
  }
  G.compactStepWrites += G.writes.count - before;
  assert(G.compactStepWrites <= G.compactLeft, "ledger grid: a compaction step wrote past its budget");
  return r;
}

/** The tree of id i + 1. */
function treeOf(i: u32): Tree {
  assert(i < TREE_COUNT, "treeOf: one of the ledger's trees");
  switch (i) {
    case 0: return G.transfers;
    case 1: return G.ids;
    case 2: return G.accountTransfers;
    case 3: return G.balances;
    case 4: return G.pending;
    case 5: return G.byUserData128;
    case 6: return G.byUserData64;
    case 7: return G.byUserData32;
    case 8: return G.byCode;
    default: return G.byLedger;
  }
}

// ---- eviction ----

/** Moves the oldest transfer in the ring to the trees (a pending one to the side table too). */
function evictOldest(): void {
  const seq = S.transferFirst;
  assert(seq < S.transferCount, "evictOldest: a transfer in the ring");
  const record = transferAt(seq);
  const meta = transferMetaAt(seq);
  const timestamp = load<u64>(record + T_TIMESTAMP);
  put(G.transfers, keyTimestamp(timestamp), record);
  putIndexed(record, timestamp);
  store<u64>(G.value, timestamp);
  put(G.ids, record + T_ID, G.value);
  const debitSlot = load<u32>(meta + TM_DEBIT_SLOT);
  const creditSlot = load<u32>(meta + TM_CREDIT_SLOT);
  put(G.accountTransfers, keyAccount(timestamp, debitSlot), 0);
  put(G.accountTransfers, keyAccount(timestamp, creditSlot), 0);
  listDropHead(debitSlot, seq);
  listDropHead(creditSlot, seq);
  while (S.historyFirst < S.historyCount && load<u32>(historyAt(S.historyFirst) + H_TRANSFER_SLOT) == seq) evictHistory();
  const pending = (load<u16>(record + T_FLAGS) & TF_PENDING) != 0;
  if (pending && load<u8>(meta + TM_STATUS) == PENDING_PENDING) {
    toSide(seq);
  } else {
    if (pending) {
      store<u64>(G.value, <u64>load<u8>(meta + TM_STATUS));
      put(G.pending, keyTimestamp(timestamp), G.value);
    }
    idRemove(S.transferIds, load<u64>(record + T_ID), load<u64>(record + T_ID + 8));
  }
  memory.fill(meta, 0, TM_BYTES);
  S.transferFirst = seq + 1;
  G.evicted++;
  G.evictedTimestampLast = timestamp;
}

/** The oldest transfer leaves its account's list: it is the list's head. */
function listDropHead(accountSlot: u32, seq: u32): void {
  const head = accountMetaAt(accountSlot);
  assert(load<u32>(head + AM_TRANSFERS_FIRST) == seq, "eviction of a transfer that is not its account's oldest");
  const meta = transferMetaAt(seq);
  const next = load<u32>(meta + linkOffset(meta, accountSlot, 4));
  store<u32>(head + AM_TRANSFERS_FIRST, next);
  if (next == NONE) {
    store<u32>(head + AM_TRANSFERS_LAST, NONE);
  } else {
    const nextMeta = transferMetaAt(next);
    store<u32>(nextMeta + linkOffset(nextMeta, accountSlot, 0), NONE);
  }
}

/** The oldest balance record goes to account_balances; it is its account's oldest. */
function evictHistory(): void {
  const index = S.historyFirst;
  const record = historyAt(index);
  const accountSlot = load<u32>(record + H_ACCOUNT_SLOT);
  put(G.balances, keyAccount(load<u64>(record + H_TIMESTAMP), accountSlot), record + H_BALANCES);
  const head = accountMetaAt(accountSlot);
  assert(load<u32>(head + AM_HISTORY_FIRST) == index, "eviction of a balance record that is not its account's oldest");
  const next = load<u32>(record + H_NEXT);
  store<u32>(head + AM_HISTORY_FIRST, next);
  if (next == NONE) store<u32>(head + AM_HISTORY_LAST, NONE);
  else store<u32>(historyAt(next) + H_PREV, NONE);
  memory.fill(record, 0, 96);
  S.historyFirst = index + 1;
}

/** A pending transfer outlives its place in the ring: its record moves to the side table. */
function toSide(seq: u32): void {
  assert(G.sideFreeCount > 0, "side table full: pending_max bounds the pending transfers");
  G.sideFreeCount--;
  const side = load<u32>(G.sideFree + (<usize>G.sideFreeCount << 2));
  const from = physicalOf(seq);
  memory.copy(recordAt(side), recordAt(from), 128);
  memory.copy(recordMetaAt(side), recordMetaAt(from), TM_BYTES);
  const record = recordAt(side);
  // The id table entry now names the side record (idFind leaves its probe at the entry).
  const found = idFind(S.transferIds, load<u64>(record + T_ID), load<u64>(record + T_ID + 8));
  assert(found == from + 1, "side: the id table named another record");
  store<u32>(S.transferIds.entries + (<usize>S.transferIds.probe << 3), side + 1);
  const position = load<u32>(recordMetaAt(side) + TM_AUX);
  if (position != NONE) {
    assert(load<u32>(expiryEntryAt(position) + X_SLOT) == from, "side: the expiry heap named another record");
    store<u32>(expiryEntryAt(position) + X_SLOT, side);
  }
  // Not in any account's list any more: account_transfers holds it.
  store<u32>(recordMetaAt(side) + 8, NONE);
  store<u32>(recordMetaAt(side) + 12, NONE);
  store<u32>(recordMetaAt(side) + 16, NONE);
  store<u32>(recordMetaAt(side) + 20, NONE);
}

/** Whether record index `physical` is in the side table. */
// @ts-ignore: decorator
@inline export function isSide(physical: u32): bool {
  return S.grid && physical >= S.transfersMax;
}

/** A side-table transfer resolved (post, void, expiry): it leaves at the next eviction unless a rollback restores it. */
export function sideResolved(physical: u32): void {
  assert(isSide(physical) && G.sideResolvedCount < S.pendingMax, "sideResolved: a side record, within pending_max");
  store<u32>(G.sideResolved + (<usize>G.sideResolvedCount << 2), physical);
  G.sideResolvedCount++;
}

function releaseResolved(n: u32): void {
  assert(n <= G.sideResolvedCount, "releaseResolved: of those resolved");
  for (let i: u32 = 0; i < n; i++) {
    const side = load<u32>(G.sideResolved + (<usize>i << 2));
    const meta = recordMetaAt(side);
    const status = load<u8>(meta + TM_STATUS);
    // A rollback put it back to pending: it stays (and may resolve again, and be listed again).
    if (status == PENDING_PENDING || load<u64>(recordAt(side)) == 0 && load<u64>(recordAt(side) + 8) == 0) continue;
    const record = recordAt(side);
    store<u64>(G.value, <u64>status);
    put(G.pending, keyTimestamp(load<u64>(record + T_TIMESTAMP)), G.value);
    idRemove(S.transferIds, load<u64>(record + T_ID), load<u64>(record + T_ID + 8));
    memory.fill(record, 0, 128);
    memory.fill(meta, 0, TM_BYTES);
    store<u32>(G.sideFree + (<usize>G.sideFreeCount << 2), side);
    G.sideFreeCount++;
  }
  const rest = G.sideResolvedCount - n;
  if (rest > 0) memory.copy(G.sideResolved, G.sideResolved + (<usize>n << 2), <usize>rest << 2);
  G.sideResolvedCount = rest;
}

/** The id of a transient failure, remembered in transfers.id. */
export function gridOrphan(id: usize): void {
  store<u64>(G.value, TS_ORPHAN);
  put(G.ids, id, G.value);
}

/** Timestamp of the newest transfer that ever left memory (0: none). */
export function evictedTimestampLast(): u64 {
  return G.evictedTimestampLast;
}
