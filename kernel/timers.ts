// kernel/timers.ts: timers on the logical clock.
//
// A service asks for a timer message after a delay of logical time. Timers
// fire while a batch is applied, before the first entry whose time reaches
// their deadline, in (deadline, creation order) order, so replay fires them
// at exactly the same point. The earliest deadline is published in
// REG_DEADLINE_NS; when wall time passes it and no input is pending, the
// kernel logs a TICK entry so time moves on without client traffic.
//
// Entry layout (TIMER_BYTES): u64 deadline | u64 seq | u64 tag | u32 service | u32 active

import { reserve } from "./base/mem";

const TIMER_BYTES: u32 = 32;
let table: usize = 0;
let capacity: u32 = 0;
let active: u32 = 0;
let nextSeq: u64 = 1;
// Earliest deadline, NO_TIMER when none (0 is a valid deadline: a timer set
// in qx_init runs at logical time 0).
export const NO_TIMER: u64 = u64.MAX_VALUE;
export let earliestNs: u64 = NO_TIMER;

export function timersInit(count: u32): bool {
  assert(table == 0 && active == 0, "timersInit: the table is reserved once");
  capacity = count;
  table = reserve(<u64>count * TIMER_BYTES, "timers");
  return table != 0 || count == 0;
}

@inline function at(i: u32): usize {
  assert(i < capacity, "timer index out of range");
  return table + <usize>i * TIMER_BYTES;
}

export function timersActive(): u32 {
  assert(active <= capacity, "timers: more active than the table holds");
  return active;
}

// Returns false when the table is full.
export function timerAdd(service: u32, deadlineNs: u64, tag: u64): bool {
  for (let i: u32 = 0; i < capacity; i++) {
    const t = at(i);
    if (load<u32>(t, 28) != 0) continue;
    store<u64>(t, deadlineNs, 0);
    store<u64>(t, nextSeq++, 8);
    store<u64>(t, tag, 16);
    store<u32>(t, service, 24);
    store<u32>(t, 1, 28);
    active++;
    if (deadlineNs < earliestNs) earliestNs = deadlineNs;
    assert(active <= capacity && earliestNs <= deadlineNs, "timerAdd: counted, and the earliest deadline covers it");
    return true;
  }
  assert(active == capacity, "timerAdd: no free entry while the table is not full");
  return false;
}

// Index of the next timer due at or before nowNs, or -1.
export function timerDue(nowNs: u64): i32 {
  if (active == 0 || earliestNs == NO_TIMER || earliestNs > nowNs) return -1;
  let best: i32 = -1;
  let bestDeadline: u64 = 0;
  let bestSeq: u64 = 0;
  for (let i: u32 = 0; i < capacity; i++) {
    const t = at(i);
    if (load<u32>(t, 28) == 0) continue;
    const d = load<u64>(t, 0);
    const s = load<u64>(t, 8);
    if (d > nowNs) continue;
    if (best < 0 || d < bestDeadline || (d == bestDeadline && s < bestSeq)) {
      best = <i32>i; bestDeadline = d; bestSeq = s;
    }
  }
  // earliestNs is the smallest active deadline, and it is due.
  assert(best >= 0 && bestDeadline == earliestNs, "timerDue: the earliest timer is due but was not found");
  return best;
}

export function timerService(i: i32): u32 {
  assert(i >= 0 && load<u32>(at(<u32>i), 28) != 0, "timerService: not an active timer");
  return load<u32>(at(<u32>i), 24);
}
export function timerTag(i: i32): u64 {
  assert(i >= 0 && load<u32>(at(<u32>i), 28) != 0, "timerTag: not an active timer");
  return load<u64>(at(<u32>i), 16);
}

export function timerRemove(i: i32): void {
  const t = at(<u32>i);
  assert(load<u32>(t, 28) != 0, "removing an inactive timer");
  assert(active > 0, "timerRemove: no timer is active");
  store<u32>(t, 0, 28);
  active--;
  recomputeEarliest();
}

function recomputeEarliest(): void {
  earliestNs = NO_TIMER;
  for (let i: u32 = 0; i < capacity; i++) {
    const t = at(i);
    if (load<u32>(t, 28) == 0) continue;
    const d = load<u64>(t, 0);
    if (d < earliestNs) earliestNs = d;
  }
  assert(active != 0 || earliestNs == NO_TIMER, "recomputeEarliest: a deadline without an active timer");
}

// Cancels every timer of `service` (kernel/liveload.ts: an unloaded service,
// or one whose load failed after its qx_init set a timer). Returns how many.
export function timersCancel(service: u32): u32 {
  let n: u32 = 0;
  for (let i: u32 = 0; i < capacity && active > 0; i++) {
    const t = at(i);
    if (load<u32>(t, 28) == 0 || load<u32>(t, 24) != service) continue;
    store<u32>(t, 0, 28);
    active--;
    n++;
  }
  if (n > 0) recomputeEarliest();
  assert(active <= capacity, "timersCancel: more active than the table holds");
  return n;
}
