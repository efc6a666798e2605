// kernel/base/ring.ts: the kernel's side of the virtqueue-style rings (layout in
// hal/abi.ts). The kernel produces on a device's SQ and consumes its CQ; the
// host does the opposite. Indices run free and wrap at 2^32, so "used" is
// always head - tail in u32 arithmetic.

import {
  RING_HEADER_BYTES, RING_HEAD, RING_TAIL, RING_CAPACITY, DESC_BYTES,
  DESC_OP, DESC_FLAGS, DESC_STATUS, DESC_TAG, DESC_LEN, DESC_ADDR, DESC_CAP, DESC_ARG,
} from "../../hal/abi";
import { reserve } from "./mem";

export function ringCreate(capacity: u32, name: string): usize {
  assert(capacity > 0 && (capacity & (capacity - 1)) == 0, "ring capacity must be a power of two");
  const ring = reserve(<usize>RING_HEADER_BYTES + <usize>capacity * <usize>DESC_BYTES, name);
  if (ring != 0) store<u32>(ring + RING_CAPACITY, capacity);
  assert(ring == 0 || (ringUsed(ring) == 0 && ringCapacity(ring) == capacity), "ringCreate: a new ring is empty and knows its capacity");
  return ring;
}

@inline export function ringHead(ring: usize): u32 { return load<u32>(ring + RING_HEAD); }
@inline export function ringTail(ring: usize): u32 { return load<u32>(ring + RING_TAIL); }
@inline export function ringCapacity(ring: usize): u32 {
  assert(ring != 0, "ring: no ring at address 0");
  return load<u32>(ring + RING_CAPACITY);
}
@inline export function ringUsed(ring: usize): u32 { return ringHead(ring) - ringTail(ring); }
@inline export function ringFree(ring: usize): u32 {
  const used = ringUsed(ring);
  assert(used <= ringCapacity(ring), "ring indices corrupt: more used than capacity");
  return ringCapacity(ring) - used;
}

@inline function slotOf(ring: usize, index: u32): usize {
  const capacity = ringCapacity(ring);
  assert(capacity != 0 && (capacity & (capacity - 1)) == 0, "ring capacity corrupt: not a power of two");
  return ring + RING_HEADER_BYTES + <usize>(index & (ringCapacity(ring) - 1)) * DESC_BYTES;
}

// Producer side (SQ): returns false when full; the caller holds the request.
export function ringPush(ring: usize, op: u32, flags: u32, tag: u32, addr: usize, len: u32, cap: u32, arg: u64): bool {
  // The host moves the tail; a tail moved past the head would make "free"
  // wrap and let the kernel overwrite unread descriptors.
  assert(ringUsed(ring) <= ringCapacity(ring), "ring indices corrupt: more used than capacity");
  assert(op <= 0xffff && flags <= 0xffff, "ring push: op and flags are 16-bit fields");
  if (ringFree(ring) == 0) return false;
  const head = ringHead(ring);
  const d = slotOf(ring, head);
  store<u16>(d + DESC_OP, <u16>op);
  store<u16>(d + DESC_FLAGS, <u16>flags);
  store<i32>(d + DESC_STATUS, 0);
  store<u32>(d + DESC_TAG, tag);
  store<u32>(d + DESC_LEN, len);
  store<u32>(d + DESC_ADDR, <u32>addr);
  store<u32>(d + DESC_CAP, cap);
  store<u64>(d + DESC_ARG, arg);
  store<u32>(ring + RING_HEAD, head + 1);
  assert(ringUsed(ring) > 0 && ringUsed(ring) <= ringCapacity(ring), "ring push: used within 1..capacity after a push");
  return true;
}

// Consumer side (CQ): the descriptor at the tail, or 0 when empty. The caller
// reads it and then calls ringPop.
export function ringPeek(ring: usize): usize {
  if (ringUsed(ring) == 0) return 0;
  const used = ringUsed(ring);
  assert(used <= ringCapacity(ring), "ring indices corrupt: more used than capacity");
  return slotOf(ring, ringTail(ring));
}

export function ringPop(ring: usize): void {
  assert(ringUsed(ring) > 0, "ring pop on empty ring");
  store<u32>(ring + RING_TAIL, ringTail(ring) + 1);
  assert(ringUsed(ring) < ringCapacity(ring), "ring pop: less than capacity used after a pop");
}

@inline export function descOp(d: usize): u16 {
  assert(d != 0 && (d & 15) == 0, "descOp: not a ring descriptor");
  return load<u16>(d + DESC_OP);
}
@inline export function descFlags(d: usize): u16 {
  assert(d != 0 && (d & 15) == 0, "descFlags: not a ring descriptor");
  return load<u16>(d + DESC_FLAGS);
}
@inline export function descStatus(d: usize): i32 {
  assert(d != 0 && (d & 15) == 0, "descStatus: not a ring descriptor");
  return load<i32>(d + DESC_STATUS);
}
@inline export function descTag(d: usize): u32 {
  assert(d != 0 && (d & 15) == 0, "descTag: not a ring descriptor");
  return load<u32>(d + DESC_TAG);
}
@inline export function descLen(d: usize): u32 {
  assert(d != 0 && (d & 15) == 0, "descLen: not a ring descriptor");
  return load<u32>(d + DESC_LEN);
}
@inline export function descAddr(d: usize): usize {
  assert(d != 0 && (d & 15) == 0, "descAddr: not a ring descriptor");
  return <usize>load<u32>(d + DESC_ADDR);
}
@inline export function descCap(d: usize): u32 {
  assert(d != 0 && (d & 15) == 0, "descCap: not a ring descriptor");
  return load<u32>(d + DESC_CAP);
}
@inline export function descArg(d: usize): u64 {
  assert(d != 0 && (d & 15) == 0, "descArg: not a ring descriptor");
  return load<u64>(d + DESC_ARG);
}
