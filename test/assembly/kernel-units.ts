// test/assembly/kernel-units.ts: a test-only entry that exposes the kernel's
// scheduler, pools, rings, timers and reply tokens to JavaScript
// (test/unit/kernel-units.test.ts).
//
// Each export is a thin wrapper over the kernel function it names, so the
// tests run exactly the code the kernel runs, compiled the way the kernel is
// (--runtime stub, -O3, assertions on). The kernel modules keep their state in
// module globals and can be set up only once, so a test instantiates a fresh
// module for every scenario, then: *_setup (reserves memory), seal_now, drive.
//
// Messages pushed by the tests carry a test-chosen id in the descriptor's
// token word; pick() answers which service got the next message and
// picked_id() which message it was.

import { MSG_KIND_MESSAGE, RING_HEAD, RING_TAIL } from "../../hal/abi";
import { Pool, POOL_EMPTY, poolInit, reserve, seal, checkSealed } from "../../kernel/base/mem";
import { servicesInit, serviceAdd, service } from "../../kernel/services";
import { messagesInit, descriptors, msgSet, msgAt, msgToken, inboxPush, msgRelease } from "../../kernel/msg";
import { schedInit, schedPick, schedWake, schedCurrent, rounds, readyServices } from "../../kernel/sched";
import { ringCreate, ringPush, ringPeek, ringPop, ringUsed, ringFree, ringHead, ringTail, descTag } from "../../kernel/base/ring";
import { timersInit, timerAdd, timerDue, timerService, timerTag, timerRemove, timersActive, earliestNs, NO_TIMER } from "../../kernel/timers";
import {
  tokensInit, clientTokenNew, serviceTokenNew, tokenResolve, tokenFree,
  tokenOrigin, tokenConn, tokenRequestId, tokenLive, clientTokens, serviceTokens,
} from "../../kernel/tokens";

// ---- the allocator seal ----

export function seal_now(): void {
  seal();
}

export function check_sealed(): bool {
  return checkSealed();
}

// A reservation, as boot makes them; traps once sealed.
export function reserve_bytes(bytes: u32): usize {
  return reserve(<usize>bytes, "test reservation");
}

// An allocation behind the seal's back: the negative control for check_sealed.
export function alloc_bytes(bytes: u32): usize {
  return heap.alloc(<usize>bytes);
}

// ---- scheduler ----

let pickedId: u32 = 0;

// `serviceTotal` services, priority 0 and budget 16 until service_set says
// otherwise; `descriptorCount` message descriptors; one message slot (the
// scheduler tests carry no payloads).
export function sched_setup(serviceTotal: u32, descriptorCount: u32): void {
  const fits = servicesInit() && messagesInit(descriptorCount, 1, 256);
  assert(fits, "sched_setup: reservations do not fit");
  for (let i: u32 = 0; i < serviceTotal; i++) serviceAdd(0, 0).budget = 16;
  schedInit();
}

export function service_set(index: u32, priority: u32, budget: u32): void {
  const s = service(index);
  s.priority = priority;
  s.budget = budget;
}

// Queues message `id` for service `index` the way the kernel does (inbox,
// then wake). False when the descriptor pool is empty.
export function push(index: u32, id: u32): bool {
  const desc = descriptors.take();
  if (desc == POOL_EMPTY) return false;
  msgSet(desc, MSG_KIND_MESSAGE, 0, id, 0, 0, POOL_EMPTY, 0);
  inboxPush(service(index), desc);
  schedWake(service(index));
  return true;
}

// The service that gets the next message, or -1 when every inbox is empty.
// The descriptor is released at once, as the kernel does after delivery.
export function pick(): i32 {
  const index = schedPick();
  if (index == POOL_EMPTY) return -1;
  pickedId = msgToken(msgAt(index));
  msgRelease(index);
  return <i32>schedCurrent();
}

export function picked_id(): u32 {
  return pickedId;
}

export function sched_rounds(): u32 {
  return <u32>rounds;
}

export function ready_services(): u32 {
  return readyServices;
}

export function inbox_len(index: u32): u32 {
  return service(index).inboxLen;
}

export function descriptors_in_use(): u32 {
  return descriptors.inUse;
}

// ---- a pool of its own ----

const pool = new Pool();

export function pool_setup(slotBytes: u32, count: u32): bool {
  return poolInit(pool, "test pool", slotBytes, count);
}

export function pool_take(): u32 {
  return pool.take();
}

export function pool_give(index: u32): void {
  pool.give(index);
}

export function pool_in_use(): u32 {
  return pool.inUse;
}

export function pool_high_water(): u32 {
  return pool.highWater;
}

export function pool_exhausted(): u32 {
  return pool.exhausted;
}

// Writes `value` into the first word of slot `index`, as a user of the slot would.
export function pool_write(index: u32, value: u32): void {
  store<u32>(pool.slot(index), value);
}

export function pool_read(index: u32): u32 {
  return load<u32>(pool.slot(index));
}

// ---- a ring of its own ----

let ring: usize = 0;

export function ring_setup(capacity: u32): void {
  ring = ringCreate(capacity, "test ring");
  assert(ring != 0, "ring_setup: reservation does not fit");
}

// Moves the free-running indices, e.g. near 2^32 to cross the wrap.
export function ring_set_indices(head: u32, tail: u32): void {
  store<u32>(ring + RING_HEAD, head);
  store<u32>(ring + RING_TAIL, tail);
}

export function ring_push(tag: u32): bool {
  return ringPush(ring, 1, 0, tag, 0, 0, 0, 0);
}

// The tag at the tail, or -1 when the ring is empty.
export function ring_peek(): i64 {
  const d = ringPeek(ring);
  return d == 0 ? -1 : <i64>descTag(d);
}

export function ring_pop(): void {
  ringPop(ring);
}

export function ring_used(): u32 { return ringUsed(ring); }
export function ring_free(): u32 { return ringFree(ring); }
export function ring_head(): u32 { return ringHead(ring); }
export function ring_tail(): u32 { return ringTail(ring); }

// ---- timers ----

export function timers_setup(count: u32): bool {
  return timersInit(count);
}

export function timer_add(serviceIndex: u32, deadlineNs: u64, tag: u64): bool {
  return timerAdd(serviceIndex, deadlineNs, tag);
}

export function timer_due(nowNs: u64): i32 { return timerDue(nowNs); }
export function timer_service(i: i32): u32 { return timerService(i); }
export function timer_tag(i: i32): u64 { return timerTag(i); }
export function timer_remove(i: i32): void { timerRemove(i); }
export function timers_active(): u32 { return timersActive(); }
// What the kernel publishes in REG_DEADLINE_NS: 0 when no timer is set.
export function timer_earliest(): u64 { return earliestNs == NO_TIMER ? 0 : earliestNs; }

// ---- reply tokens ----

export function tokens_setup(clientCount: u32, serviceCount: u32): bool {
  return tokensInit(clientCount, serviceCount);
}

export function client_token(holder: u32, conn: u64, requestId: u32, live: bool): u32 {
  return clientTokenNew(holder, conn, requestId, live);
}

export function service_token(origin: u32, holder: u32): u32 {
  return serviceTokenNew(origin, holder);
}

export function token_resolves(token: u32, holder: u32): bool {
  return tokenResolve(token, holder) != 0;
}

// Fields of a token that resolves for `holder` (the caller checked it does).
export function token_origin(token: u32, holder: u32): u32 { return tokenOrigin(resolved(token, holder)); }
export function token_conn(token: u32, holder: u32): u64 { return tokenConn(resolved(token, holder)); }
export function token_request_id(token: u32, holder: u32): u32 { return tokenRequestId(resolved(token, holder)); }
export function token_live(token: u32, holder: u32): bool { return tokenLive(resolved(token, holder)); }

function resolved(token: u32, holder: u32): usize {
  const p = tokenResolve(token, holder);
  assert(p != 0, "token does not resolve");
  return p;
}

export function token_free(token: u32): void {
  tokenFree(token);
}

export function client_tokens_in_use(): u32 { return clientTokens.inUse; }
export function service_tokens_in_use(): u32 { return serviceTokens.inUse; }
