// kernel/msg.ts: messages waiting in service inboxes.
//
// A message is a descriptor from the "message descriptors" pool. Its payload
// lives either in a command-log batch buffer (inputs from the log: no copy)
// or in a slot of the "message slots" pool (service-to-service sends, whose
// bytes must outlive the sender's syscall), or inline in the descriptor
// (timer tags). Descriptor layout (MSG_DESC_BYTES):
//
//   +0  u32 next      inbox link / free-list link
//   +4  u32 len
//   +8  u32 addr      payload address in kernel memory
//   +12 u16 kind      MSG_KIND_*
//   +14 u16 sender    service index, SENDER_CLIENT or SENDER_KERNEL
//   +16 u32 token     reply token (0 = none)
//   +20 u32 slot      message slot holding the payload, or POOL_EMPTY
//   +24 u64 time      logical time of the message
//   +32 [16] inline payload (timer tags)

import { Pool, POOL_EMPTY, poolInit } from "./base/mem";
import { MSG_KIND_FAILED, MSG_KIND_CHECKPOINT } from "../hal/abi";
import { Service } from "./services";

export const MSG_DESC_BYTES: u32 = 48;
export const MSG_INLINE_BYTES: u32 = 16;

export const descriptors = new Pool();
export const slots = new Pool();

export function messagesInit(descriptorCount: u32, slotCount: u32, slotBytes: u32): bool {
  assert(MSG_DESC_BYTES >= 32 + MSG_INLINE_BYTES, "a message descriptor holds its header and inline payload");
  assert(descriptors.count == 0 && slots.count == 0, "messagesInit: the pools are built once");
  return poolInit(descriptors, "message descriptors", MSG_DESC_BYTES, descriptorCount)
    && poolInit(slots, "message slots", slotBytes, slotCount);
}

@inline export function msgAt(index: u32): usize { return descriptors.slot(index); }
@inline export function msgNext(m: usize): u32 { return load<u32>(m); }
@inline export function msgLen(m: usize): u32 { return load<u32>(m, 4); }
@inline export function msgAddr(m: usize): usize { return <usize>load<u32>(m, 8); }
@inline export function msgKind(m: usize): u32 { return <u32>load<u16>(m, 12); }
@inline export function msgSender(m: usize): u32 { return <u32>load<u16>(m, 14); }
@inline export function msgToken(m: usize): u32 { return load<u32>(m, 16); }
@inline export function msgSlot(m: usize): u32 { return load<u32>(m, 20); }
@inline export function msgTime(m: usize): u64 { return load<u64>(m, 24); }
@inline export function msgInline(m: usize): usize { return m + 32; }

// Fills descriptor `index`. `slot` is POOL_EMPTY unless the payload is in a message slot.
export function msgSet(index: u32, kind: u32, sender: u32, token: u32, addr: usize, len: u32, slot: u32, timeNs: u64): void {
  assert((kind <= <u32>MSG_KIND_FAILED || kind == <u32>MSG_KIND_CHECKPOINT) && sender <= 0xffff, "msgSet: unknown kind, or a sender wider than 16 bits");
  assert(len == 0 || addr != 0, "msgSet: payload bytes at address 0");
  assert(slot == POOL_EMPTY || (slot < slots.count && len <= slots.slotBytes), "msgSet: payload larger than its message slot");
  const m = msgAt(index);
  store<u32>(m, POOL_EMPTY);
  store<u32>(m, len, 4);
  store<u32>(m, <u32>addr, 8);
  store<u16>(m, <u16>kind, 12);
  store<u16>(m, <u16>sender, 14);
  store<u32>(m, token, 16);
  store<u32>(m, slot, 20);
  store<u64>(m, timeNs, 24);
}

export function inboxPush(s: Service, index: u32): void {
  assert((s.inboxLen == 0) == (s.inboxTail == POOL_EMPTY), "inbox: the tail is set exactly when the inbox holds messages");
  store<u32>(msgAt(index), POOL_EMPTY);
  if (s.inboxLen == 0) {
    s.inboxHead = index;
  } else {
    store<u32>(msgAt(s.inboxTail), index);
  }
  s.inboxTail = index;
  s.inboxLen++;
  assert(s.inboxLen <= descriptors.inUse, "inbox: more messages queued than descriptors in use");
}

export function inboxPop(s: Service): u32 {
  assert(s.inboxLen > 0, "pop from empty inbox");
  const index = s.inboxHead;
  s.inboxHead = msgNext(msgAt(index));
  s.inboxLen--;
  if (s.inboxLen == 0) s.inboxTail = POOL_EMPTY;
  assert(s.inboxLen == 0 || s.inboxHead != POOL_EMPTY, "inbox: messages left but no head");
  return index;
}

// Returns a delivered message's descriptor (and its slot) to their pools.
export function msgRelease(index: u32): void {
  const slot = msgSlot(msgAt(index));
  assert(slot == POOL_EMPTY || slots.inUse > 0, "msgRelease: a slot-backed message while no slot is in use");
  if (slot != POOL_EMPTY) slots.give(slot);
  descriptors.give(index);
}
