// kernel/deliver.ts: queueing a message for a service: a slot for the
// payload, a descriptor in the service's inbox, and a wake-up. Syscall send
// and reply queue what a service sent (kernel/syscalls.ts); supervision
// tells a service that a message it sent was aborted (kernel/supervise.ts).
// Below both, so neither needs the other.

import { MSG_KIND_FAILED, SENDER_KERNEL, SYS_OK, SYS_E_FULL, SYS_E_TOO_LARGE } from "../hal/abi";
import { POOL_EMPTY } from "./base/mem";
import { service, serviceCount } from "./services";
import { QUEUE_DEPTH_MAX } from "./base/constants";
import { descriptors, slots, msgAt, msgInline, msgSet, inboxPush } from "./msg";
import { schedWake } from "./sched";
import { tokenFree, tokenIsService } from "./tokens";

let queueDepth: u32 = 0;

/** The inbox depth of every service (the manifest's kernel.queue_depth). */
export function deliverInit(depth: u32): void {
  assert(depth > 0 && depth <= QUEUE_DEPTH_MAX, "deliver: a queue holds 1..QUEUE_DEPTH_MAX messages");
  queueDepth = depth;
}

/** Queues `len` bytes at `src` for service `to`, copied into a slot; SYS_OK or why not. */
export function enqueue(to: u32, kind: u32, from: u32, token: u32, src: usize, len: u32, timeNs: u64): i32 {
  assert(queueDepth > 0, "deliver: not initialised");
  assert(to < serviceCount && (src != 0 || len == 0), "enqueue: no such service, or payload at address 0");
  const target = service(to);
  if (len > target.inboxBytes) return SYS_E_TOO_LARGE;
  if (target.inboxLen >= queueDepth) return SYS_E_FULL;
  const slot = slots.take();
  if (slot == POOL_EMPTY) return SYS_E_FULL;
  const desc = descriptors.take();
  if (desc == POOL_EMPTY) { slots.give(slot); return SYS_E_FULL; }
  const addr = slots.slot(slot);
  memory.copy(addr, src, len);
  msgSet(desc, kind, from, token, addr, len, slot, timeNs);
  inboxPush(target, desc);
  schedWake(target);
  assert(target.inboxLen <= queueDepth, "enqueue: an inbox deeper than the queue depth");
  return SYS_OK;
}

/**
 * Queues a message from the kernel for service `to` whose payload is one u64
 * inline in its descriptor (a timer's tag, a checkpoint's number). Never
 * refused, unlike enqueue: no slot, no queue depth, and the pool of
 * descriptors is sized for these (kernel/reserve.ts); the log's entries
 * imply them, so a replay must see every one.
 */
export function deliverKernelU64(to: u32, kind: u32, value: u64, timeNs: u64): void {
  assert(to < serviceCount, "deliverKernelU64: no such service");
  const desc = descriptors.take();
  assert(desc != POOL_EMPTY, "descriptor pool sized below a batch, its timers and its checkpoint messages");
  const m = msgAt(desc);
  store<u64>(msgInline(m), value);
  msgSet(desc, kind, SENDER_KERNEL, 0, msgInline(m), 8, POOL_EMPTY, timeNs);
  inboxPush(service(to), desc);
  schedWake(service(to));
}

// Tells `origin` that the message it sent to `from` was aborted (a fault or
// a failed peer): a MSG_KIND_FAILED message with no payload. Dropped when
// origin's queue is full or origin has failed itself; the token is freed.
export function abortServiceToken(token: u32, origin: u32, from: u32, timeNs: u64): void {
  assert(tokenIsService(token) && origin != from, "abortServiceToken: a service token, between two services");
  if (!service(origin).failed) enqueue(origin, MSG_KIND_FAILED, from, 0, 0, 0, timeNs);
  tokenFree(token);
}
