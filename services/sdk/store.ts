// services/sdk/store.ts: the glue between a service's storage engine
// (lib/store, docs/storage.md) and its grid (syscall storage, capability
// "storage", hal/devices/grid.ts). The engine does no I/O: it queues the
// blocks it seals and lists the blocks it misses; these calls hand both to
// the kernel and take the blocks it delivers back.
//
// A service's message, the way a read goes (the prefetch step):
//   if (kind == KIND_BLOCK) { status = storeOnBlock(cache, inbox, len); remember a failure; return; }
//   if a block of this message failed: reply cacheErrorMessage(cache, tree name); cacheEpochEnd; return
//   if (treePrefetch(tree, key) == TREE_WAIT && storeAsk(cache) > 0) return; // delivered again with the blocks
//   treeGet(tree, key, out); cacheEpochEnd(cache); reply
// and a checkpoint (KIND_CHECKPOINT, from the kernel): storeCheckpoint(freeSet);
// and a write: treeFlush (or a compaction step), then storeDrain until it
// answers 0, one message at a time (the kernel takes at most
// STORAGE_WRITES_PER_MESSAGE writes a message), and storeSync where what was
// written must be durable before what follows.
//
// Not in index.ts: a service without a grid should not carry the engine.

import { OK, E_FULL, storage, storageWrite, storageSync, storageRead } from "./qenex";
import {
  GRID_BLOCK_BYTES, STORAGE_OK, STORAGE_CORRUPT, STORAGE_READS_PER_MESSAGE, STORAGE_WRITES_PER_MESSAGE, BLOCK_MSG_ADDRESS, BLOCK_MSG_STATUS,
  BLOCK_MSG_HEADER_BYTES,
} from "../../hal/devices/grid";
import { WriteQueue, writeQueueEntry, writeQueueTake } from "../../lib/store/writes";
import { FreeSet, freeSetCheckpoint, freeSetCheckpointDurable } from "../../lib/store/freeset";
import { Cache, cacheFill, cacheFillFailed, cacheMissAddress, cacheMissCount, cacheMissesTake } from "../../lib/store/cache";

/**
 * The kernel's checkpoint message (KIND_CHECKPOINT): the blocks released
 * before the previous checkpoint are free now (no snapshot a boot may restore
 * refers to them any more), and those released since are set aside until the
 * next one. The kernel sends it at the same points live and in every replay,
 * so which blocks are free is part of the service's state like any other.
 */
export function storeCheckpoint(f: FreeSet): void {
  freeSetCheckpointDurable(f);
  freeSetCheckpoint(f);
}

const asked: usize = memory.data(<i32>STORAGE_READS_PER_MESSAGE * 8, 16);

/**
 * Hands the oldest queued blocks to the kernel, at most
 * STORAGE_WRITES_PER_MESSAGE (fewer when this message already wrote some:
 * the kernel's E_FULL, decided by the count alone, ends the drain), and
 * removes them from the queue. Returns how many are still queued: drain
 * again in a later message until 0. Any other refusal is a bug of the
 * service (no "storage" capability, no message being handled): it traps.
 */
export function storeDrain(q: WriteQueue): u32 {
  const n = q.count < <u32>STORAGE_WRITES_PER_MESSAGE ? q.count : <u32>STORAGE_WRITES_PER_MESSAGE;
  let written: u32 = 0;
  while (written < n) {
    const r = storageWrite(writeQueueEntry(q, written));
    if (r == E_FULL) break;
    assert(r == OK, "store: the kernel refused a block write (capability storage? a message being handled?)");
    written++;
  }
  writeQueueTake(q, written);
  return q.count;
}

/** Every block written before is durable before any storage request after. Traps when refused (a bug). */
export function storeSync(): void {
  const r = storageSync();
  assert(r == OK, "store: the kernel refused a sync (capability storage? a message being handled?)");
}

/**
 * Asks the kernel for the blocks the cache misses, oldest first, at most
 * STORAGE_READS_PER_MESSAGE; the rest stay listed for the next round (the
 * message is delivered again, prefetches again and asks for them). Returns
 * how many were asked: 0, nothing to wait for. Call it once per message,
 * never while a block is delivered (the kernel's E_CONTEXT): refused, it traps.
 */
export function storeAsk(c: Cache): u32 {
  const misses = cacheMissCount(c);
  const n = misses < <u32>STORAGE_READS_PER_MESSAGE ? misses : <u32>STORAGE_READS_PER_MESSAGE;
  if (n == 0) return 0;
  for (let i: u32 = 0; i < n; i++) store<u64>(asked + (<usize>i << 3), cacheMissAddress(c, i));
  const r = storageRead(asked, n);
  assert(r == OK, "store: the kernel refused a block read (asked twice in a message, or while a block is delivered?)");
  // Which blocks were asked for follows what the cache held: not state (ABI.md qx_cache_area).
  memory.fill(asked, 0, <usize>n << 3);
  cacheMissesTake(c, n);
  return n;
}

/**
 * The grid is corrupt beyond retrying (a block failed its checks again and
 * again): `len` bytes of text at `text` name it, and the machine stops
 * (STORAGE_CORRUPT). Whatever the service does after this is not kept.
 */
export function storeCorrupt(text: usize, len: u32): void {
  const r = storage(<u32>STORAGE_CORRUPT, text, len);
  assert(r == OK, "store: the kernel refused a corrupt report (no capability storage?)");
}

/**
 * A KIND_BLOCK message of `len` bytes at `inbox` (u64 address | i32 status |
 * u32 0 | block): the block goes through cacheFill. Returns BLOCK_OK (0); a
 * BLOCK_E_* (> 0) when the block is not the one its referrer expects; or the
 * device's STORAGE_E_IO / STORAGE_E_RANGE (< 0) when it could not be read.
 * Either failure is named by cacheErrorMessage and leaves the block uncached
 * (a later prefetch asks again). A message of another shape is the kernel's
 * bug: it traps.
 */
export function storeOnBlock(c: Cache, inbox: usize, len: u32): i32 {
  assert(len >= <u32>BLOCK_MSG_HEADER_BYTES, "store: a block message shorter than its header");
  const address = load<u64>(inbox + BLOCK_MSG_ADDRESS);
  const status = load<i32>(inbox + BLOCK_MSG_STATUS);
  if (status != STORAGE_OK) {
    assert(len == <u32>BLOCK_MSG_HEADER_BYTES && status < 0, "store: a failed block message carries no block");
    return cacheFillFailed(c, address, status);
  }
  assert(len == <u32>(BLOCK_MSG_HEADER_BYTES + GRID_BLOCK_BYTES), "store: a block message without a whole block");
  return cacheFill(c, address, inbox + BLOCK_MSG_HEADER_BYTES);
}
