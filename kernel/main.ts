// kernel/main.ts: the kernel's entry points (exports of kernel.wasm) and its
// run loop.
//
// The host calls kernel_boot once, then kernel_run in a loop: each call
// returns an action (hal/abi.ts ACT_*). The kernel alone decides what runs
// next; the host copies bytes and performs device I/O. Life of a boot:
//   INIT     each service's qx_init gets its config
//   RECOVER  the command log is read, checked and applied batch by batch
//   SERVE    (live boot) inputs are logged, made durable, then applied
// A replay boot (BOOT_REPLAY) halts after RECOVER and never writes.
//
// The steps the loop takes live in files of one job each: kernel/apply.ts
// (applying entries), kernel/ingress.ts (client frames in), kernel/staging.ts
// (ticks, entropy, checkpoints, batch writes), kernel/recovered.ts (the end
// of recovery), kernel/failure.ts (failing), kernel/snapshot.ts (snapshots
// and restore); the loop's state is in kernel/runstate.ts. Everything below
// the loop is an export the host calls, delegating to its subsystem.

import {
  ACT_IDLE, ACT_CALL, ACT_READY, ACT_HALT, ACT_SERVICE, ACT_READ, BOOT_LIVE, BOOT_REPLAY,
  KSTATE_COLD, KSTATE_RECOVERING, KSTATE_READY, KSTATE_DRAINING, KSTATE_HALTED, KSTATE_FAILED,
  KERR_MANIFEST, KERR_POOL, MSG_KIND_INIT, SENDER_KERNEL, FRAME_E_FAULT,
} from "../hal/abi";
import { BOOT_AREA_BYTES, BOOT_DIGEST_BYTES, DISPATCH_SCAN_MAX, SERVICES_MAX, FUEL_MAX } from "./base/constants";
import { halTable, setKernelState, kernelState, setDispatch } from "./base/hal";
import { seal, checkSealed, isSealed, reservedTotal, failedReservation, POOL_EMPTY } from "./base/mem";
import { descTag, descLen, descStatus } from "./base/ring";
import { parseManifest, config, bootError, bootArea, admissionAuthority } from "./boot";
import { admissionArea, admissionCheckArea, admissionStat, keysGeneration } from "./admission";
import { servicesInit, service, serviceCount, NO_SERVICE } from "./services";
import { descriptors, msgAt, msgKind, msgAddr, msgLen, msgSender, msgToken, msgTime, msgRelease } from "./msg";
import { schedInit, schedPick, schedCurrent } from "./sched";
import { earliestNs, NO_TIMER } from "./timers";
import { sysArea, sysAreaBytes, sysSend, sysReply, sysTime, sysLog, sysRandom, sysTimer, sysLookup, sysHsm, sysEmit, sysAdmission, sysStorageCall } from "./syscalls";
import { systemPending, systemStep, systemDone, activeService, activeTime, refuseUnloaded, commandsDone } from "./liveload";
import { serviceFaulted, refuseMessage, faultCodeValid } from "./supervise";
import { reserveAll } from "./reserve";
import { applyEntries } from "./apply";
import { pollNet, readWaiting, readDone } from "./ingress";
import { maybeTick, stageCheckpoint, submitWrite } from "./staging";
import { recoveryDone } from "./recovered";
import { failBoot, bootFailLine, recoveryFailed, storageFailed, gridFailed, gridCorrupt } from "./failure";
import { storageStep, storageDispatch, storageMessageEnd, storageFaulted, storagePoll, storageIdle, storageEnabled, storageReadEnd,
  storageCorrupt, storageCorruptText, storageCorruptLen,
  faultToken, faultInit, faultRead, STORAGE_NONE } from "./storage";
import { stateDigest } from "./digest";
import { kernelStat } from "./stats";
import * as rs from "./runstate";
import * as log from "./log";
import * as rec from "./recovery";
import * as audit from "./audit";
import * as hsm from "./hsm";
import * as snap from "./snapshot";
import * as st from "./state";
import { consoleInit, conBegin, conStr, conU64, conEnd } from "../drivers/console/console";
import { blockCompletion, blockDone, inFlight, TAG_LOG_WRITE, TAG_RECOVERY_READ, TAG_SNAPSHOT } from "../drivers/block/block";
import { entropyPoll } from "../drivers/entropy/entropy";
import { FRAME_HEADER_BYTES } from "../drivers/net/net";
import { eventsEmitted, eventsDropped } from "../drivers/events/events";
import { clockNow, clockWakeAt } from "../drivers/clock/clock";

export function hal_table(): usize { return halTable; }
export function boot_area(): usize { return bootArea; }
export function boot_area_bytes(): u32 { return BOOT_AREA_BYTES; }
export function sys_area(): usize { return sysArea(); }
export function sys_area_bytes(): u32 { return sysAreaBytes(); }

// ---- boot ----

// The boot area holds the image digest (32 bytes) then the manifest JSON.
export function kernel_boot(manifestLen: u32, mode: u32): i32 {
  assert(kernelState() == KSTATE_COLD, "kernel_boot called twice");
  if (!consoleInit() || !servicesInit()) return failBoot(KERR_POOL);
  if (manifestLen > BOOT_AREA_BYTES - BOOT_DIGEST_BYTES || (mode != BOOT_LIVE && mode != BOOT_REPLAY)) {
    return bootFailLine(KERR_MANIFEST, "manifest larger than the boot area, or unknown boot mode");
  }
  rs.setBootMode(mode);
  if (!parseManifest(bootArea + BOOT_DIGEST_BYTES, manifestLen)) return bootFailLine(KERR_MANIFEST, bootError);
  if (!reserveAll()) return bootFailLine(KERR_POOL, "memory pool does not fit: " + failedReservation);
  if (!hsm.hsmInit()) return bootFailLine(KERR_POOL, "memory pool does not fit: " + failedReservation);
  schedInit();
  seal();
  snap.snapshotConfigure(config.snapshotIntervalEntries);
  setKernelState(KSTATE_RECOVERING);
  st.setPhase(st.PHASE_INIT);
  assert(isSealed() && serviceCount > 0 && kernelState() == KSTATE_RECOVERING, "kernel_boot: a booted kernel is sealed, has services and recovers next");
  if (conBegin()) {
    conStr("{\"event\":\"kernel_boot\",\"services\":"); conU64(serviceCount);
    conStr(",\"reserved_bytes\":"); conU64(reservedTotal());
    conEnd(false);
  }
  return 0;
}

// ---- the run loop ----

export function kernel_interrupt(irq: u32): void {
  pollDevices();
}

export function kernel_shutdown(): void {
  if (st.phase == st.PHASE_SERVE && kernelState() == KSTATE_READY) setKernelState(KSTATE_DRAINING);
  else if (st.phase != st.PHASE_SERVE && kernelState() != KSTATE_FAILED) {
    setKernelState(KSTATE_HALTED);
    st.setPhase(st.PHASE_STOPPED);
  }
  assert(kernelState() != KSTATE_HALTED || st.phase == st.PHASE_STOPPED, "kernel_shutdown: a halted kernel has stopped");
}

export function kernel_run(): u32 {
  releaseDispatched();
  const state = kernelState();
  // Stopped exactly when halted or failed: every path that ends the kernel sets both.
  assert((state == KSTATE_FAILED || state == KSTATE_HALTED) == (st.phase == st.PHASE_STOPPED), "kernel_run: the phase and the state agree on stopping");
  if (state == KSTATE_FAILED || state == KSTATE_HALTED) return ACT_HALT;
  // A service found its grid corrupt: nothing more runs (kernel/failure.ts).
  if (storageCorrupt()) {
    gridCorrupt(storageCorruptText(), storageCorruptLen());
    return ACT_HALT;
  }
  // A service waiting for its blocks goes first, and nothing else is dispatched or applied
  // meanwhile (kernel/storage.ts). Frames still come in and are staged and written to the log
  // while it waits for the host: the log's order is the order of staging whatever the disk
  // does, and a client whose frame sat half-read through a long wait would be cut off.
  const storage = storageStep();
  if (storage != STORAGE_NONE) {
    if (storage == ACT_IDLE && st.phase == st.PHASE_SERVE) ingress();
    return storage;
  }
  if (st.phase == st.PHASE_INIT) return runInit();
  pollDevices();
  if (kernelState() == KSTATE_FAILED) return ACT_HALT;
  for (let i: u32 = 0; i < DISPATCH_SCAN_MAX; i++) {
    // A service command (kernel/liveload.ts) goes first, between messages.
    if (systemPending()) {
      if (systemStep()) {
        rs.noteDispatch(service(activeService()).fuelInit, 0, activeTime(), true);
        return ACT_SERVICE;
      }
      continue;
    }
    // A read runs between two messages (kernel/ingress.ts), before the next one.
    if (st.phase == st.PHASE_SERVE && readWaiting()) return ACT_READ;
    if (dispatchNext()) return ACT_CALL;
    const act = st.phase == st.PHASE_RECOVER ? recoverStep() : serveStep();
    if (act != rs.STEP_AGAIN) return act;
  }
  return ACT_IDLE; // bounded: the host calls again after servicing devices
}

function releaseDispatched(): void {
  // A message that asked for blocks is kept, to be delivered again once they are in.
  const waits = storageMessageEnd(rs.dispatched);
  if (rs.dispatched != POOL_EMPTY) {
    assert(descriptors.inUse > 0, "releaseDispatched: the message handed out holds a descriptor");
    if (!waits) msgRelease(rs.dispatched);
    rs.setDispatched(POOL_EMPTY);
  }
  st.setCaller(NO_SERVICE, 0);
}

function runInit(): u32 {
  const next = rs.initNext;
  assert(st.phase == st.PHASE_INIT && next <= serviceCount, "runInit: each service's qx_init once, in the INIT phase");
  if (next < serviceCount) {
    const s = service(next);
    if (s.configLen > s.inboxBytes) {
      if (conBegin()) {
        conStr("{\"event\":\"boot_failed\",\"message\":\"a service's config is larger than its inbox\",\"service\":");
        conU64(next);
        conEnd(true);
      }
      failBoot(KERR_MANIFEST);
      return ACT_HALT;
    }
    st.setCaller(next, 0);
    storageDispatch(next, true);
    setDispatch(next, MSG_KIND_INIT, s.configAddr, s.configLen, SENDER_KERNEL, 0, 0);
    rs.noteDispatch(s.fuelInit, 0, 0, true);
    rs.initCalled();
    return ACT_CALL;
  }
  st.setPhase(st.PHASE_RECOVER);
  return kernel_run();
}

// Messages for a failed service are refused here, in scheduler order, so a
// replay refuses the same ones. Bounded; false also when the bound is hit.
function dispatchNext(): bool {
  for (let i: u32 = 0; i < DISPATCH_SCAN_MAX; i++) {
    const index = schedPick();
    if (index == POOL_EMPTY) return false;
    const m = msgAt(index);
    const s = schedCurrent();
    const target = service(s);
    if (target.unloaded) {
      st.setCaller(s, msgTime(m));
      refuseUnloaded(target, msgKind(m), msgToken(m));
      st.setCaller(NO_SERVICE, 0);
      msgRelease(index);
      continue;
    }
    if (target.failed) {
      st.setCaller(s, msgTime(m));
      refuseMessage(target, msgKind(m), msgToken(m));
      st.setCaller(NO_SERVICE, 0);
      msgRelease(index);
      continue;
    }
    assert(rs.dispatched == POOL_EMPTY && s < serviceCount, "dispatchNext: one message with the host at a time, for a service in the table");
    setDispatch(s, msgKind(m), msgAddr(m), msgLen(m), msgSender(m), msgToken(m), msgTime(m));
    st.setCaller(s, msgTime(m));
    storageDispatch(s, false);
    rs.noteDispatch(target.fuelPerMessage, msgToken(m), msgTime(m), false);
    target.delivered++;
    rs.setDispatched(index);
    return true;
  }
  return false;
}

function recoverStep(): u32 {
  assert(st.phase == st.PHASE_RECOVER, "recoverStep: only while recovering");
  const r = rec.recoveryStep();
  if (r == rec.R_NEED_IO) return rec.recoveryWaiting() ? ACT_IDLE : rs.STEP_AGAIN;
  if (r == rec.R_GROUP) {
    applyEntries(rec.groupAddr(), rec.groupBytes(), false, rec.groupOffset());
    rec.recoveryGroupApplied();
    rs.groupRecovered();
    return rs.STEP_AGAIN; // dispatch the batch; recovery goes on when it is applied
  }
  if (r == rec.R_FAILED) {
    recoveryFailed();
    return ACT_HALT;
  }
  return recoveryDone();
}

function serveStep(): u32 {
  assert(st.phase == st.PHASE_SERVE, "serveStep: only while serving");
  if (rs.applyingBuffer >= 0) {
    log.logRelease(rs.applyingBuffer);
    rs.setApplyingBuffer(-1);
  }
  ingress();
  const b = log.logNextDurable();
  if (b >= 0) {
    log.logMarkApplying(b);
    rs.setApplyingBuffer(b);
    applyEntries(log.bufAddr[b], log.bufLen[b], true, log.bufOffset[b]);
    return rs.STEP_AGAIN;
  }
  snap.maybeSnapshot();
  clockWakeAt(earliestNs == NO_TIMER ? 0 : earliestNs);
  if (!rs.readyReported && st.appliedSeq > 0 && inFlight == 0) {
    rs.setReadyReported();
    setKernelState(KSTATE_READY);
    return ACT_READY;
  }
  if (kernelState() == KSTATE_DRAINING && !log.logBusy() && inFlight == 0 && !audit.auditBusy() && !hsm.hsmBusy() && !rs.readHeld && storageIdle()) {
    setKernelState(KSTATE_HALTED);
    st.setPhase(st.PHASE_STOPPED);
    return ACT_HALT;
  }
  // A read pollNet held goes to the host before the loop rests (kernel_run, ACT_READ).
  return rs.readHeld ? rs.STEP_AGAIN : ACT_IDLE;
}

/**
 * What comes in and goes to the log without running anything: client frames
 * staged, a due tick, the HSM's answers, a signed checkpoint, the next log
 * write. Applying a durable batch (it hands messages to services) is
 * serveStep's alone.
 */
function ingress(): void {
  assert(st.phase == st.PHASE_SERVE, "ingress: only while serving");
  pollNet();
  maybeTick();
  hsm.hsmStage(clockNow());
  stageCheckpoint();
  submitWrite();
}

function pollDevices(): void {
  entropyPoll();
  hsm.hsmPoll();
  const grid = storagePoll();
  if (grid < 0) { gridFailed(grid); return; }
  for (let d = blockCompletion(); d != 0; d = blockCompletion()) {
    const tag = descTag(d);
    const status = descStatus(d);
    const len = descLen(d);
    blockDone();
    if (tag == TAG_SNAPSHOT) { snap.snapshotCompleted(status); continue; }
    if (status < 0) { storageFailed(status); return; }
    if (tag == TAG_LOG_WRITE) log.logWriteDone();
    else if (tag == TAG_RECOVERY_READ) rec.recoveryReadDone(len);
  }
}

// ---- admission for the host (hal/abi.ts "admission") ----

export function admission_area(): usize { return admissionArea(); }
// ADM_MODE_PEEK or ADM_MODE_TAKE on the header in the area; the HTTP status (200: admitted).
export function admission_check(mode: u32): u32 {
  assert(admissionAuthority != NO_SERVICE, "admission_check without an admission authority");
  return admissionCheckArea(mode, clockNow());
}
export function admission_stat(id: u32): u64 { return admissionAuthority == NO_SERVICE ? 0 : admissionStat(id); }
export function admission_keys_generation(): u32 { return keysGeneration; }
export function admission_authority(): u32 {
  assert(admissionAuthority == NO_SERVICE || admissionAuthority < serviceCount, "admission_authority: a service in the table, or none");
  return admissionAuthority;
}

// ---- state digest and statistics ----

// SHA-256 over the applied state of the kernel (kernel/digest.ts). The host
// combines it with each service's memory.
export function kernel_digest(): usize { return stateDigest(); }

// The host reports each instance's inbox size after instantiating it; no
// message longer than that is ever delivered to the service.
export function service_set_inbox(index: u32, bytes: u32): void {
  assert(index < serviceCount, "service_set_inbox: no such service");
  service(index).inboxBytes = bytes;
}

// ---- supervision (kernel/supervise.ts) ----

// The host's answer to ACT_READ: `len` reply bytes at sys_area() with
// frame status `status`; the read's service then serves the next frame
// (kernel/ingress.ts readDone).
export function kernel_read_done(status: u32, len: u32): void {
  assert(len <= sysAreaBytes(), "kernel_read_done: a reply no larger than the syscall area");
  // A read that asked for blocks is answered once they are in (kernel/storage.ts).
  if (storageReadEnd(status == <u32>FRAME_E_FAULT)) return;
  readDone(status, sysArea() - FRAME_HEADER_BYTES, len, sysAreaBytes());
}

// A fault on a block a held read waited for: the read is answered now.
const READ_FAULT_TEXT = "service fault: the service trapped taking a block this read asked for; the read was not answered";

function answerFaultedRead(): void {
  const n = READ_FAULT_TEXT.length;
  assert(<u32>n <= sysAreaBytes(), "answerFaultedRead: the text fits the syscall area");
  for (let i = 0; i < n; i++) store<u8>(sysArea() + <usize>i, <u8>READ_FAULT_TEXT.charCodeAt(i));
  readDone(FRAME_E_FAULT, sysArea() - FRAME_HEADER_BYTES, <u32>n, sysAreaBytes());
}
// Fuel budget of the message the last ACT_CALL or ACT_READ named (the host sets the service's fuel counter to it).
export function dispatch_fuel(): u64 {
  assert(rs.dispatchFuel <= FUEL_MAX, "dispatch_fuel: within the fuel bounds");
  return rs.dispatchFuel;
}

// The host reports that the message the last ACT_CALL named trapped or ran
// out of fuel (FAULT_*). 1: restore the service; 0: it has failed, drop it.
export function service_fault(code: u32): u32 {
  assert(faultCodeValid(code), "service_fault: unknown fault code");
  const caller = st.caller;
  assert(caller != NO_SERVICE && caller < serviceCount, "service_fault outside a dispatched message");
  const s = service(caller);
  // A fault on a delivered block aborts the message that waited for it (kernel/storage.ts).
  storageFaulted(rs.dispatchToken, rs.dispatchInit);
  const restore = serviceFaulted(s, code, faultToken, rs.dispatchTimeNs, faultInit);
  if (faultRead) answerFaultedRead();
  return restore ? 1 : 0;
}

export function service_failed(index: u32): bool { return index < serviceCount && service(index).failed; }

// ---- live load (kernel/liveload.ts) ----

// The host's answer to ACT_SERVICE: SVC_OK or SVC_E_*, and the (new)
// instance's inbox size. The kernel commits or undoes and replies to the sender.
export function service_action_done(result: u32, inboxBytes: u32): void { systemDone(result, inboxBytes); }
export function service_version(index: u32): u32 { return index < serviceCount ? service(index).version : 0; }
export function service_unloaded(index: u32): bool { return index < serviceCount && service(index).unloaded; }
export function service_live(index: u32): bool { return index < serviceCount && service(index).live; }
export function service_caps(index: u32): u32 { return index < serviceCount ? service(index).caps : 0; }
export function service_memory_pages_max(index: u32): u32 { return index < serviceCount ? service(index).memoryPagesMax : 0; }
export function service_commands(): u64 { return commandsDone; }
export function service_faults(index: u32): u64 { return index < serviceCount ? service(index).faults : 0; }
export function service_restarts(index: u32): u64 { return index < serviceCount ? service(index).restarts : 0; }

export function kernel_chain_head(): usize { return st.appliedChain; }
export function kernel_check_sealed(): bool { return checkSealed(); }
export function service_count(): u32 {
  assert(serviceCount <= SERVICES_MAX, "service_count: within the table");
  return serviceCount;
}
export function service_name(index: u32): usize {
  assert(index < serviceCount, "service_name: no such service");
  return service(index).nameAddr;
}
export function service_name_len(index: u32): u32 {
  assert(index < serviceCount, "service_name_len: no such service");
  return service(index).nameLen;
}

// Statistics by id (hal/kernel.ts STAT_*; kernel/stats.ts).
export function kernel_stat(id: u32): u64 { return kernelStat(id); }

// ---- syscalls (called by the host's "qenex" import shim) ----

export function sys_send(peer: u32, len: u32): i32 { return sysSend(peer, len); }
export function sys_reply(token: u32, status: u32, len: u32): i32 { return sysReply(token, status, len); }
export function sys_time(): i64 { return sysTime(); }
export function sys_log(len: u32): i32 { return sysLog(len); }
export function sys_random(len: u32): i32 { return sysRandom(len); }
export function sys_timer(delayNs: i64, tag: i64): i32 { return sysTimer(delayNs, tag); }
export function sys_lookup(len: u32): i32 { return sysLookup(len); }
export function sys_hsm(op: u32, len: u32): i32 { return sysHsm(op, len); }
export function sys_emit(type: u32, count: u32, len: u32): i32 { return sysEmit(type, count, len); }
export function sys_admission(op: u32, len: u32): i32 { return sysAdmission(op, len); }
export function sys_storage(op: u32, len: u32): i32 { return sysStorageCall(op, len); }

// ---- event stream (drivers/events) ----

// Event ids handed out so far (the next id is this + 1).
export function events_emitted(): u64 { return eventsEmitted(); }
export function events_dropped(): u64 { return eventsDropped; }

// ---- audit checkpoints (kernel/audit.ts) ----

export function audit_configure(everyEntries: u64): void { audit.auditConfigure(everyEntries); }
export function audit_tree_size(): u64 { return audit.treeSize; }
export function audit_root(): usize { return audit.auditRootNow(); }
export function audit_checkpoints_skipped(): u64 { return audit.checkpointsSkipped; }

// ---- snapshots (kernel/snapshot.ts) ----

// The host copied a snapshot's memory and globals over this booted kernel
// (host/snapshot.ts); kernel/snapshot.ts resets what belonged to the process
// that took it. `mode` is this boot's (BOOT_LIVE / BOOT_REPLAY). 0: ok; else a KERR_*.
export function kernel_restored(mode: u32): i32 { return snap.snapshotRestored(mode); }

// A cluster follower (host/cluster/): recovery applies each batch as soon as
// the host has appended it, and goes on reading until a read comes back
// empty, which the host answers only when this node is to lead. Set after
// kernel_restored (a snapshot's globals are the leader's that took it).
export function kernel_follow(on: u32): void {
  assert(st.phase == st.PHASE_INIT || st.phase == st.PHASE_RECOVER, "kernel_follow: only before serving");
  rec.recoveryFollow(on != 0);
}

// A snapshot at applied count `entries` of a machine with a grid may be
// restored only while the log holds fewer entries than this (0: any);
// kernel/snapshot.ts says why. The host checks it before restoring.
export function snapshot_grid_stale_from(entries: u64): u64 { return storageEnabled() ? snap.staleFrom(entries) : 0; }
