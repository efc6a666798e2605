// drivers/grid/grid.ts: the kernel's grid driver (hal/devices/grid.ts). It
// owns the grid rings and the block buffers: one per read a message may ask
// for (STORAGE_READS_PER_MESSAGE), each with room for the MSG_KIND_BLOCK
// header in front so the block is delivered where it was read, and two
// messages' worth of write buffers (STORAGE_WRITES_PER_MESSAGE each), so a
// message that writes rarely waits for the one before it. kernel/storage.ts
// decides what goes on the ring and what a completion means.
//
// Tag of a descriptor: service << GRID_TAG_SERVICE_SHIFT | slot, where slot
// is a read buffer (0 .. READ_SLOTS-1), a write buffer (READ_SLOTS ..
// READ_SLOTS+WRITE_SLOTS-1) or SLOT_SYNC. The host performs each grid's
// requests in the order they were pushed.

import { DEV_GRID, OP_GRID_READ, OP_GRID_WRITE, OP_GRID_SYNC, GRID_BLOCK_BYTES, GRID_TAG_SERVICE_SHIFT,
  STORAGE_READS_PER_MESSAGE, STORAGE_WRITES_PER_MESSAGE, BLOCK_MSG_HEADER_BYTES } from "../../hal/abi";
import { ringCreate, ringPush, ringPeek, ringPop } from "../../kernel/base/ring";
import { halSetRings } from "../../kernel/base/hal";
import { reserve } from "../../kernel/base/mem";

export const READ_SLOTS: u32 = <u32>STORAGE_READS_PER_MESSAGE;
export const WRITE_SLOTS: u32 = 2 * <u32>STORAGE_WRITES_PER_MESSAGE;
export const SLOT_SYNC: u32 = 0xffff;
export const READ_SLOT_BYTES: usize = <usize>(BLOCK_MSG_HEADER_BYTES + GRID_BLOCK_BYTES);
// Every buffer in flight at once, and a sync after each write: the SQ is never full.
const RING_GRID: u32 = 1024;

let sq: usize = 0;
let cq: usize = 0;
let readBuffers: usize = 0;
let writeBuffers: usize = 0;

// Reserved only when some service holds "storage": 4 MiB of reads, 16 MiB of writes.
export function gridInit(): bool {
  assert(sq == 0 && READ_SLOTS + WRITE_SLOTS < SLOT_SYNC, "gridInit: reserved once; slots and the sync tag fit 16 bits");
  assert(RING_GRID >= 2 * (READ_SLOTS + WRITE_SLOTS) && (RING_GRID & (RING_GRID - 1)) == 0, "gridInit: the SQ holds every request in flight");
  sq = ringCreate(RING_GRID, "grid rings");
  cq = ringCreate(RING_GRID, "grid rings");
  if (sq == 0 || cq == 0) return false;
  readBuffers = reserve(READ_SLOT_BYTES * <usize>READ_SLOTS, "grid read buffers");
  writeBuffers = reserve(<usize>GRID_BLOCK_BYTES * <usize>WRITE_SLOTS, "grid write buffers");
  if (readBuffers == 0 || writeBuffers == 0) return false;
  halSetRings(DEV_GRID, sq, cq);
  return true;
}

export function gridReady(): bool { return sq != 0; }

/** Read slot's buffer: the block message header, then the block. */
export function gridReadSlot(slot: u32): usize {
  assert(readBuffers != 0 && slot < READ_SLOTS, "gridReadSlot: a read slot of an initialised driver");
  return readBuffers + <usize>slot * READ_SLOT_BYTES;
}

/** Write slot's buffer (slot numbered from 0 among the write slots). */
export function gridWriteSlot(slot: u32): usize {
  assert(writeBuffers != 0 && slot < WRITE_SLOTS, "gridWriteSlot: a write slot of an initialised driver");
  return writeBuffers + <usize>slot * <usize>GRID_BLOCK_BYTES;
}

function tagOf(service: u32, slot: u32): u32 {
  assert(service < 0x10000 && slot <= SLOT_SYNC, "grid tag: service and slot fit 16 bits each");
  return (service << <u32>GRID_TAG_SERVICE_SHIFT) | slot;
}

function push(op: u32, tag: u32, addr: usize, len: u32, address: u64): void {
  const pushed = ringPush(sq, op, 0, tag, addr, len, len, address);
  assert(pushed, "grid SQ full: more requests in flight than the driver has buffers");
}

export function gridRead(service: u32, slot: u32, address: u64): void {
  push(OP_GRID_READ, tagOf(service, slot), gridReadSlot(slot) + <usize>BLOCK_MSG_HEADER_BYTES, <u32>GRID_BLOCK_BYTES, address);
}

export function gridWrite(service: u32, slot: u32, address: u64): void {
  push(OP_GRID_WRITE, tagOf(service, READ_SLOTS + slot), gridWriteSlot(slot), <u32>GRID_BLOCK_BYTES, address);
}

export function gridSync(service: u32): void {
  push(OP_GRID_SYNC, tagOf(service, SLOT_SYNC), 0, 0, 0);
}

/** The next completion descriptor, or 0; call gridDone after reading it. */
export function gridCompletion(): usize {
  return cq == 0 ? 0 : ringPeek(cq);
}

export function gridDone(): void {
  assert(cq != 0, "gridDone before gridInit");
  ringPop(cq);
}
