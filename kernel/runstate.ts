// kernel/runstate.ts: the run loop's state (kernel/main.ts), in one place so
// the steps the loop calls (kernel/apply.ts, ingress.ts, staging.ts,
// recovered.ts, snapshot.ts, stats.ts) read the same values, and a snapshot
// restore resets all of it at once (runStateRestored). Every change goes
// through a function here; the other files only read.

import { BOOT_LIVE, BOOT_REPLAY } from "../hal/abi";
import { FUEL_MAX } from "./base/constants";
import { POOL_EMPTY } from "./base/mem";
import { serviceCount } from "./services";

// Internal result of a step: work was queued or state moved; look again.
export const STEP_AGAIN: u32 = 100;

export let bootMode: u32 = BOOT_LIVE;
export let initNext: u32 = 0; // the next service whose qx_init is called
export let dispatched: u32 = POOL_EMPTY; // descriptor handed to the host by the last ACT_CALL
export let readyReported: bool = false;
export let preallocatedBytes: u64 = 0;
export let stagedInputs: u32 = 0; // client inputs logged but not yet applied
export let applyingBuffer: i32 = -1;
export let recoveredGroups: u64 = 0;
// The message being handled, as kernel/supervise.ts needs it if it faults.
export let dispatchFuel: u64 = 0; // fuel budget the host gives this message
export let dispatchToken: u32 = 0;
export let dispatchTimeNs: u64 = 0;
export let dispatchInit: bool = false;
// The read (hal/frames.ts FRAME_F_READ) at the head of the net CQ, held
// until the host answered it (kernel/ingress.ts).
export let readHeld: bool = false;
export let readTag: u32 = 0;
export let readConn: u64 = 0;
export let readRequestId: u32 = 0;
export let readTarget: u32 = 0;
export let readPayload: usize = 0;
export let readLen: u32 = 0;
// A read of the admission authority's route (ADM_ROUTE_F_READ): answered in
// its reply format, naming the key admission found.
export let readGateway: bool = false;
export let readKeyId: u32 = 0;
export let readRole: u32 = 0;
export let readsAnswered: u64 = 0; // by this boot (kernel_stat STAT_READS_ANSWERED)

export function setBootMode(mode: u32): void {
  assert(mode == BOOT_LIVE || mode == BOOT_REPLAY, "setBootMode: a live or a replay boot");
  bootMode = mode;
}

export function initCalled(): void {
  assert(initNext < serviceCount, "initCalled: one qx_init per service");
  initNext++;
}

export function setDispatched(index: u32): void {
  assert((dispatched == POOL_EMPTY) != (index == POOL_EMPTY), "setDispatched: one message with the host at a time");
  dispatched = index;
}

export function setReadyReported(): void {
  assert(!readyReported, "setReadyReported: readiness is reported once");
  readyReported = true;
}

export function setPreallocatedBytes(bytes: u64): void {
  preallocatedBytes = bytes;
}

export function inputStaged(): void {
  stagedInputs++;
}

export function inputApplied(): void {
  assert(stagedInputs > 0, "staged input count");
  stagedInputs--;
}

export function setApplyingBuffer(b: i32): void {
  assert((applyingBuffer < 0) != (b < 0), "setApplyingBuffer: one buffer applied at a time");
  applyingBuffer = b;
}

export function groupRecovered(): void {
  recoveredGroups++;
}

export function noteDispatch(fuel: u64, token: u32, timeNs: u64, init: bool): void {
  assert(fuel <= FUEL_MAX && (!init || token == 0), "noteDispatch: fuel within bounds; qx_init has no reply token");
  dispatchFuel = fuel;
  dispatchToken = token;
  dispatchTimeNs = timeNs;
  dispatchInit = init;
}

// Holds the read at the head of the net CQ (kernel/ingress.ts): `gateway`
// when it is an authority route's, answered in the authority's reply format.
export function readHold(tag: u32, conn: u64, requestId: u32, target: u32, payload: usize, len: u32,
  gateway: bool = false, keyId: u32 = 0, role: u32 = 0): void {
  assert(!readHeld && target < serviceCount && (payload != 0 || len == 0), "readHold: one read at a time, for a service in the table");
  readGateway = gateway;
  readKeyId = keyId;
  readRole = role;
  readHeld = true;
  readTag = tag;
  readConn = conn;
  readRequestId = requestId;
  readTarget = target;
  readPayload = payload;
  readLen = len;
}

export function readRelease(): void {
  assert(readHeld, "readRelease: a read was held");
  readHeld = false;
  readsAnswered++;
}
// After a snapshot restore (kernel/snapshot.ts): nothing dispatched, staged or applying; every qx_init long done.
export function runStateRestored(mode: u32, services: u32): void {
  setBootMode(mode);
  initNext = services;
  dispatched = POOL_EMPTY;
  readyReported = false;
  stagedInputs = 0;
  applyingBuffer = -1;
  recoveredGroups = 0;
  preallocatedBytes = 0;
  readHeld = false; // the read the old host held died with its connection
  readsAnswered = 0;
  noteDispatch(0, 0, 0, false);
}
