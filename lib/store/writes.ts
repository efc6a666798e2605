// lib/store/writes.ts: blocks waiting to be written to the grid.
//
// The engine does no I/O: it seals blocks into this queue, and the service
// drains it through the storage syscall (STORAGE_WRITE, at most
// STORAGE_WRITES_PER_MESSAGE per message) before anything it wrote can be
// read back. Its capacity is the caller's: the most blocks one engine call
// may write (a flush, a compaction step's budget, a manifest).

import { BLOCK_BYTES } from "./block";

// @ts-ignore: decorator
@unmanaged
export class WriteQueue {
  capacity: u32 = 0;
  count: u32 = 0;
  addresses: usize = 0;
  blocks: usize = 0;
}

export function writeQueueCreate(capacity: u32): WriteQueue {
  assert(capacity > 0 && capacity <= 0x4000, "writes: capacity out of range");
  const q = new WriteQueue();
  q.capacity = capacity;
  q.addresses = heap.alloc(<usize>capacity * 8);
  q.blocks = heap.alloc(<usize>capacity * BLOCK_BYTES);
  return q;
}

/** Adds a copy of the sealed block at `block`, to be written at `address`. */
export function writeQueuePush(q: WriteQueue, address: u64, block: usize): void {
  assert(q.count < q.capacity, "writes: the queue is full (drain it after every engine call)");
  store<u64>(q.addresses + <usize>q.count * 8, address);
  memory.copy(q.blocks + <usize>q.count * BLOCK_BYTES, block, BLOCK_BYTES);
  q.count++;
}

/** The room left: the blocks one call may still write. */
export function writeQueueRoom(q: WriteQueue): u32 {
  assert(q.count <= q.capacity, "writes: more queued than the capacity");
  return q.capacity - q.count;
}

export function writeQueueAddress(q: WriteQueue, i: u32): u64 {
  assert(i < q.count, "writes: no such write");
  return load<u64>(q.addresses + <usize>i * 8);
}

export function writeQueueBlock(q: WriteQueue, i: u32): usize {
  assert(i < q.count, "writes: no such write");
  return q.blocks + <usize>i * BLOCK_BYTES;
}

/** The caller has handed every queued block to the kernel. */
export function writeQueueDrained(q: WriteQueue): void {
  assert(q.count <= q.capacity, "writes: more queued than the capacity");
  q.count = 0;
}
