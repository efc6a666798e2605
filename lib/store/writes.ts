// lib/store/writes.ts: blocks waiting to be written to the grid.
//
// The engine does no I/O: it seals blocks into this queue, and the service
// drains it through the storage syscall (STORAGE_WRITE, at most
// STORAGE_WRITES_PER_MESSAGE per message) before anything it wrote can be
// read back. Its capacity is the caller's: the most blocks one engine call
// may write (a flush, a compaction step's budget, a manifest).
//
// An entry is laid out as the STORAGE_WRITE request itself, u64 address |
// block (WRITE_ENTRY_BYTES), so a drain hands writeQueueEntry(q, i) to the
// kernel without a copy. Entries leave in the order queued: writeQueueTake
// removes a prefix (what one message could write) and moves the rest down.

import { BLOCK_BYTES } from "./block";

/** One queued write: u64 address, then the block. */
export const WRITE_ENTRY_BYTES: usize = 8 + BLOCK_BYTES;

// @ts-ignore: decorator
@unmanaged
export class WriteQueue {
  capacity: u32 = 0;
  count: u32 = 0;
  /** capacity × WRITE_ENTRY_BYTES; entry i at entries + i × WRITE_ENTRY_BYTES. */
  entries: usize = 0;
}

export function writeQueueCreate(capacity: u32): WriteQueue {
  assert(capacity > 0 && capacity <= 0x4000, "writes: capacity out of range");
  const q = new WriteQueue();
  q.capacity = capacity;
  // 16-aligned, as the blocks were: the block of each entry follows its 8-byte address.
  q.entries = heap.alloc(<usize>capacity * WRITE_ENTRY_BYTES);
  return q;
}

/** Adds a copy of the sealed block at `block`, to be written at `address`. */
export function writeQueuePush(q: WriteQueue, address: u64, block: usize): void {
  assert(q.count < q.capacity, "writes: the queue is full (drain it after every engine call)");
  const e = q.entries + <usize>q.count * WRITE_ENTRY_BYTES;
  store<u64>(e, address);
  memory.copy(e + 8, block, BLOCK_BYTES);
  q.count++;
}

/** The room left: the blocks one call may still write. */
export function writeQueueRoom(q: WriteQueue): u32 {
  assert(q.count <= q.capacity, "writes: more queued than the capacity");
  return q.capacity - q.count;
}

/** Entry `i` (0 is the oldest): u64 address | block, a STORAGE_WRITE request as it stands. */
export function writeQueueEntry(q: WriteQueue, i: u32): usize {
  assert(i < q.count, "writes: no such write");
  return q.entries + <usize>i * WRITE_ENTRY_BYTES;
}

export function writeQueueAddress(q: WriteQueue, i: u32): u64 {
  return load<u64>(writeQueueEntry(q, i));
}

export function writeQueueBlock(q: WriteQueue, i: u32): usize {
  return writeQueueEntry(q, i) + 8;
}

/** The caller has handed the `n` oldest entries to the kernel: the rest move to the front, in order. */
export function writeQueueTake(q: WriteQueue, n: u32): void {
  assert(n <= q.count, "writes: taking more than is queued");
  const rest = q.count - n;
  if (rest > 0 && n > 0) memory.copy(q.entries, q.entries + <usize>n * WRITE_ENTRY_BYTES, <usize>rest * WRITE_ENTRY_BYTES);
  q.count = rest;
}

/** The caller has handed every queued block to the kernel. */
export function writeQueueDrained(q: WriteQueue): void {
  writeQueueTake(q, q.count);
}
