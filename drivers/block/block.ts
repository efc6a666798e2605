// drivers/block/block.ts: the kernel's block driver. The kernel's only
// storage is one log device; requests go on the SQ in order and the host
// performs them in order, so a preallocation submitted before a write is
// done before that write. Completions come back with the tag given here.

import { DEV_BLOCK, DESC_F_FLUSH, OP_BLK_READ, OP_BLK_WRITE, OP_BLK_TRUNCATE, OP_BLK_PREALLOCATE, OP_BLK_SNAPSHOT, SNAP_REC_BYTES } from "../../hal/abi";
import { RING_BLOCK } from "../../kernel/base/constants";
import { ringCreate, ringPush, ringPeek, ringPop, ringHead, ringTail } from "../../kernel/base/ring";
import { halSetRings } from "../../kernel/base/hal";

export const TAG_LOG_WRITE: u32 = 1;
export const TAG_RECOVERY_READ: u32 = 2;
export const TAG_TRUNCATE: u32 = 3;
export const TAG_PREALLOCATE: u32 = 4;
export const TAG_SNAPSHOT: u32 = 5;

let sq: usize = 0;
let cq: usize = 0;
export let inFlight: u32 = 0;

export function blockInit(): bool {
  assert(sq == 0 && inFlight == 0, "blockInit: the rings are reserved once");
  sq = ringCreate(RING_BLOCK, "block rings");
  cq = ringCreate(RING_BLOCK, "block rings");
  if (sq == 0 || cq == 0) return false;
  halSetRings(DEV_BLOCK, sq, cq);
  return true;
}

function submit(op: u32, flags: u32, tag: u32, addr: usize, len: u32, offsetBytes: u64): void {
  assert(sq != 0 && tag >= TAG_LOG_WRITE && tag <= TAG_SNAPSHOT, "block submit: a known request on an initialised ring");
  // The kernel keeps at most a handful of block requests in flight (one write,
  // one read, a truncate or a preallocation), far below the ring's capacity.
  const pushed = ringPush(sq, op, flags, tag, addr, len, len, offsetBytes);
  assert(pushed, "block SQ full: more requests in flight than the driver allows");
  inFlight++;
  assert(inFlight <= RING_BLOCK, "block submit: more requests in flight than the ring holds");
}

export function blockRead(addr: usize, len: u32, offsetBytes: u64): void {
  assert(addr != 0 && len > 0, "blockRead: a read into a buffer with room");
  submit(OP_BLK_READ, 0, TAG_RECOVERY_READ, addr, len, offsetBytes);
}

export function blockWriteDurable(addr: usize, len: u32, offsetBytes: u64): void {
  assert(addr != 0 && len > 0 && (offsetBytes & 7) == 0 && (len & 7) == 0, "blockWriteDurable: whole padded entries at an entry boundary");
  submit(OP_BLK_WRITE, DESC_F_FLUSH, TAG_LOG_WRITE, addr, len, offsetBytes);
}

export function blockTruncate(lengthBytes: u64): void {
  assert((lengthBytes & 7) == 0, "blockTruncate: the log is cut at an entry boundary");
  submit(OP_BLK_TRUNCATE, 0, TAG_TRUNCATE, 0, 0, lengthBytes);
}

export function blockPreallocate(lengthBytes: u64): void {
  assert(lengthBytes > 0, "blockPreallocate: room for at least one byte");
  submit(OP_BLK_PREALLOCATE, 0, TAG_PREALLOCATE, 0, 0, lengthBytes);
}

// Asks the host for a snapshot (kernel/snapshot.ts); returns the SQ index
// used, which the host has consumed once the SQ tail has passed it.
export function blockSnapshot(record: usize, entries: u64): u32 {
  assert(record != 0 && entries > 0, "blockSnapshot: a snapshot record covering some entries");
  const index = ringHead(sq);
  submit(OP_BLK_SNAPSHOT, 0, TAG_SNAPSHOT, record, SNAP_REC_BYTES, entries);
  assert(ringHead(sq) == index + 1, "blockSnapshot: the request went in at the index returned");
  return index;
}

export function blockSqTail(): u32 {
  assert(sq != 0, "blockSqTail before blockInit");
  return ringTail(sq);
}

// After a snapshot restore: the old host's requests are gone (rings reset by
// kernel/snapshot.ts).
export function blockReset(): void { inFlight = 0; }

// The next completion descriptor, or 0. Call blockDone after reading it.
export function blockCompletion(): usize {
  assert(inFlight <= RING_BLOCK, "blockCompletion: more requests in flight than the ring holds");
  return ringPeek(cq);
}

export function blockDone(): void {
  ringPop(cq);
  assert(inFlight > 0, "block completion without a request");
  inFlight--;
}
