// kernel/services.ts: the service table. Filled once at boot from the
// manifest; afterwards only counters and queue links change.
//
// Capabilities are a bit set of flags plus a 64-bit mask of peers the service
// may send to (SERVICES_MAX is 64 so one u64 covers every peer).

import { SERVICES_MAX } from "./base/constants";
import { reserve } from "./base/mem";
import * as hs from "../hal/services";

// The capability bits (hal/services.ts), typed for the kernel.
export const CAP_NET: u32 = hs.CAP_NET;
export const CAP_LOG: u32 = hs.CAP_LOG;
export const CAP_TIME: u32 = hs.CAP_TIME;
export const CAP_RANDOM: u32 = hs.CAP_RANDOM;
export const CAP_TIMER: u32 = hs.CAP_TIMER;
export const CAP_EMIT: u32 = hs.CAP_EMIT;
export const CAP_SYSTEM: u32 = hs.CAP_SYSTEM;
export const CAP_ADMIT: u32 = hs.CAP_ADMIT;
export const CAP_READ: u32 = hs.CAP_READ;

export const NO_SERVICE: u32 = 0xffff;

@unmanaged
export class Service {
  nameAddr: usize = 0; // UTF-8 name in reserved memory
  nameLen: u32 = 0;
  index: u32 = 0;
  priority: u32 = 0;
  budget: u32 = 0;
  caps: u32 = 0;
  sendMask: u64 = 0;
  configAddr: usize = 0; // the service's "config" JSON (inside the boot area)
  configLen: u32 = 0;
  inboxBytes: u32 = 0; // the service's inbox size, reported by the host at load
  // Inbox: FIFO of message descriptors linked through their `next` word.
  inboxHead: u32 = 0xffffffff;
  inboxTail: u32 = 0xffffffff;
  inboxLen: u32 = 0;
  readyNext: u32 = NO_SERVICE; // link in its priority class's ready queue
  ready: bool = false;
  delivered: u64 = 0;
  denied: u64 = 0;
  // Resource limits and supervision (kernel/supervise.ts), from the manifest.
  fuelPerMessage: u64 = 0; // fuel units a message may burn (function entries + loop iterations)
  fuelInit: u64 = 0; // fuel for qx_init
  memoryPagesMax: u32 = 0; // enforced by the host when it prepares the module
  restartsMax: u32 = 0; // restarts allowed within one window; one more fault fails the service
  restartWindowNs: u64 = 0; // the window, in logical time
  windowStartNs: u64 = 0;
  windowFaults: u32 = 0;
  faults: u64 = 0;
  restarts: u64 = 0;
  failed: bool = false; // restart policy exhausted: every message to it is refused
  // Live load (kernel/liveload.ts).
  version: u32 = 1; // 1 at boot or load; +1 per upgrade
  live: bool = false; // loaded into the running system (not from the image)
  unloaded: bool = false; // unloaded: no name, every message to it is refused
}

// The table itself: SERVICES_MAX entries reserved at boot.
let table: usize = 0;
export let serviceCount: u32 = 0;

export function servicesInit(): bool {
  assert(table == 0 && serviceCount == 0, "servicesInit: the table is reserved once, before any service");
  table = reserve(<usize>SERVICES_MAX * offsetof<Service>(), "service table");
  return table != 0;
}

@inline export function service(index: u32): Service {
  assert(index < SERVICES_MAX && table != 0, "service: index past the service table");
  return changetype<Service>(table + <usize>index * offsetof<Service>());
}

export function serviceAdd(nameAddr: usize, nameLen: u32): Service {
  assert(serviceCount < SERVICES_MAX, "service table full");
  const s = service(serviceCount);
  s.index = serviceCount;
  s.nameAddr = nameAddr;
  s.nameLen = nameLen;
  s.inboxHead = 0xffffffff;
  s.inboxTail = 0xffffffff;
  s.readyNext = NO_SERVICE;
  // The entry was never used, or serviceDropLast cleared it.
  assert(s.inboxLen == 0 && !s.ready && !s.failed && s.delivered == 0, "serviceAdd: a new entry holds nothing");
  serviceCount++;
  return s;
}

// Takes back the last entry (kernel/liveload.ts: a load that failed before
// anything could refer to it).
export function serviceDropLast(): void {
  assert(serviceCount > 0, "no service to drop");
  const last = service(serviceCount - 1);
  assert(last.inboxLen == 0 && !last.ready, "serviceDropLast: messages or the scheduler still refer to the entry");
  serviceCount--;
  memory.fill(changetype<usize>(service(serviceCount)), 0, offsetof<Service>());
}

// Service index by UTF-8 name bytes, or NO_SERVICE.
export function serviceFind(nameAddr: usize, nameLen: u32): u32 {
  assert(nameAddr != 0 || nameLen == 0, "serviceFind: name bytes at address 0");
  for (let i: u32 = 0; i < serviceCount; i++) {
    const s = service(i);
    if (!s.unloaded && s.nameLen == nameLen && memory.compare(s.nameAddr, nameAddr, nameLen) == 0) return i;
  }
  return NO_SERVICE;
}

export function hasCap(s: Service, cap: u32): bool {
  assert(cap != 0 && (cap & (cap - 1)) == 0, "hasCap: one capability at a time");
  return (s.caps & cap) != 0;
}

export function maySend(s: Service, peer: u32): bool {
  // Boot refuses send:<itself> and a loaded service gets no send mask.
  assert(s.index >= 64 || (s.sendMask & (<u64>1 << <u64>s.index)) == 0, "maySend: a service may never send to itself");
  return peer < 64 && (s.sendMask & (<u64>1 << <u64>peer)) != 0;
}
