// kernel/main.ts: the kernel's entry points (exports of kernel.wasm).
//
// The host calls kernel_boot once, then kernel_run in a loop: each call
// returns an action (hal/abi.ts ACT_*). The kernel alone decides what runs
// next; the host copies bytes and performs device I/O. Life of a boot:
//   INIT     each service's qx_init gets its config
//   RECOVER  the command log is read, checked and applied batch by batch
//   SERVE    (live boot) inputs are logged, made durable, then applied
// A replay boot (BOOT_REPLAY) halts after RECOVER and never writes.

import {
  ACT_IDLE, ACT_CALL, ACT_READY, ACT_HALT, BOOT_LIVE, BOOT_REPLAY,
  KSTATE_COLD, KSTATE_RECOVERING, KSTATE_READY, KSTATE_DRAINING, KSTATE_HALTED, KSTATE_FAILED,
  KERR_NONE, KERR_MANIFEST, KERR_POOL, KERR_STORAGE,
  MSG_KIND_INIT, MSG_KIND_REQUEST, MSG_KIND_TIMER, SENDER_CLIENT, SENDER_KERNEL,
} from "../hal/abi";
import { BOOT_AREA_BYTES, BOOT_DIGEST_BYTES, DISPATCH_SCAN_MAX, BATCH_BUFFERS, SERVICES_MAX, FUEL_MAX } from "./base/constants";
import { halTable, setKernelState, kernelState, setKernelError, kernelError, setDispatch, setEntriesApplied } from "./base/hal";
import { seal, checkSealed, isSealed, reservedTotal, failedReservation, POOL_EMPTY } from "./base/mem";
import { parseManifest, config, bootError, admissionAuthority } from "./boot";
import { admissionInit, admissionCheck, admissionReplyHeader, admissionMessage, admissionArea, admissionCheckArea, admissionStat, keysGeneration } from "./admission";
import { servicesInit, service, serviceCount, NO_SERVICE } from "./services";
import { messagesInit, descriptors, slots, msgAt, msgSet, msgKind, msgAddr, msgLen, msgSender, msgToken, msgTime, msgInline, inboxPush, msgRelease } from "./msg";
import { schedInit, schedPick, schedCurrent, schedWake, schedIdle, rounds } from "./sched";
import { timersInit, timerDue, timerService, timerTag, timerRemove, earliestNs, timersActive, NO_TIMER } from "./timers";
import { tokensInit, clientTokenNew, clientTokens, serviceTokens } from "./tokens";
import * as log from "./log";
import * as rec from "./recovery";
import * as audit from "./audit";
import * as hsm from "./hsm";
import { sysHsm } from "./syscalls";
import { syscallsInit, sysArea, sysAreaBytes, sysSend, sysReply, sysTime, sysLog, sysRandom, sysTimer, sysLookup, sysEmit, sysAdmission } from "./syscalls";
import { eventsInit, eventsEmit, eventNextId, eventsDropped } from "../drivers/events/events";
import { liveInit, systemPending, systemStep, systemDone, activeService, activeTime, refuseUnloaded, commandsDone } from "./liveload";
import { ACT_SERVICE } from "../hal/abi";
import { EVT_CHECKPOINT, EVENT_CHECKPOINT_BYTES } from "../hal/abi";
import { consoleInit, conBegin, conStr, conU64, conEnd, consoleDropped } from "../drivers/console/console";
import { blockInit, blockCompletion, blockDone, blockWriteDurable, blockTruncate, blockPreallocate, inFlight, TAG_LOG_WRITE, TAG_RECOVERY_READ } from "../drivers/block/block";
import { blockSnapshot, blockSqTail, blockReset, TAG_SNAPSHOT } from "../drivers/block/block";
import { entropyReset } from "../drivers/entropy/entropy";
import { netReset } from "../drivers/net/net";
import { clientTokensOrphan } from "./tokens";
import * as snap from "./snapshot";
import { hsmRestoredReset } from "./hsm";
import { KERR_LOG_CORRUPT } from "../hal/abi";
import { entropyInit, entropyRequest, entropyPoll, entropyFresh, entropyBytes, entropyConsumed } from "../drivers/entropy/entropy";
import { netInit, netPostAllRx, netPostRx, netCompletion, netCompletionDone, netTxDone, netSendError, netSendFrame, netErrorFramesInUse, rxBuffer, rxBufferBytes, framesDropped } from "../drivers/net/net";
import { descOp, descTag, descLen, descArg, descStatus } from "./base/ring";
import { clockNow, clockWakeAt } from "../drivers/clock/clock";
import * as st from "./state";
import { sha256Init, sha256Update, sha256Final, SHA256_CTX_BYTES } from "../lib/sha256";
import { GW_REPLY_HEADER_BYTES, GW_REQUEST_HEADER_BYTES, GW_E_MALFORMED, FRAME_OK } from "../hal/abi";
import { OP_NET_RX, OP_NET_TX_DONE, FRAME_E_MALFORMED, FRAME_E_UNKNOWN_SERVICE, FRAME_E_DENIED, FRAME_E_TOO_LARGE, FRAME_E_UNAVAILABLE, FRAME_E_BUSY, FRAME_E_STORAGE, SERVICE_NAME_BYTES_MAX, ENTROPY_BYTES } from "../hal/abi";
import { CAP_NET, hasCap } from "./services";
import { serviceFaulted, refuseMessage, faultCodeValid } from "./supervise";

const bootArea: usize = memory.data(<i32>BOOT_AREA_BYTES, 16);
let bootMode: u32 = BOOT_LIVE;
let initNext: u32 = 0;
let dispatched: u32 = POOL_EMPTY; // descriptor handed to the host by the last ACT_CALL
let readyReported: bool = false;
let preallocatedBytes: u64 = 0;
let stagedInputs: u32 = 0; // client inputs logged but not yet applied
let applyingBuffer: i32 = -1;
let recoveredGroups: u64 = 0;
// The message being handled, as kernel/supervise.ts needs it if it faults.
let dispatchFuel: u64 = 0; // fuel budget the host gives this message
let dispatchToken: u32 = 0;
let dispatchTimeNs: u64 = 0;
let dispatchInit: bool = false;
// Internal result of a step: work was queued or state moved; look again.
const STEP_AGAIN: u32 = 100;

export function hal_table(): usize { return halTable; }
export function boot_area(): usize { return bootArea; }
export function boot_area_bytes(): u32 { return BOOT_AREA_BYTES; }
export function sys_area(): usize { return sysArea(); }
export function sys_area_bytes(): u32 { return sysAreaBytes(); }

// ---- boot ----

function failBoot(code: u32): i32 {
  assert(code != KERR_NONE, "failBoot: a failure has an error code");
  setKernelError(code);
  setKernelState(KSTATE_FAILED);
  st.setPhase(st.PHASE_STOPPED);
  return <i32>code;
}

function reserveAll(): bool {
  assert(!isSealed(), "reserveAll: reservations happen before the seal");
  const entryMax = config.messageBytesMax + log.ENTRY_HEADER_BYTES;
  // parseManifest made sure of it: recovery's window holds any entry.
  assert(<u64>entryMax + 8 <= <u64>config.batchBytesMax, "reserveAll: an entry fits a batch");
  const descriptorCount = config.batchBytesMax / log.ENTRY_HEADER_BYTES + config.messageSlots + config.timersMax + 16;
  return messagesInit(descriptorCount, config.messageSlots, config.messageBytesMax)
    && timersInit(config.timersMax)
    // A service token keeps its slot + 1 in 16 bits: at most 65535 slots.
    && tokensInit(config.requestsInFlightMax, config.messageSlots < 65535 ? config.messageSlots : 65535)
    && log.logInit(config.batchBytesMax)
    && rec.recoveryInit(config.batchBytesMax, entryMax, bootArea)
    && syscallsInit(config.messageBytesMax, config.queueDepth)
    && blockInit() && entropyInit() && netInit(config.messageBytesMax)
    && eventsInit(config.messageBytesMax)
    && liveInit()
    && (admissionAuthority == NO_SERVICE || admissionInit());
}

// The boot area holds the image digest (32 bytes) then the manifest JSON.
export function kernel_boot(manifestLen: u32, mode: u32): i32 {
  assert(kernelState() == KSTATE_COLD, "kernel_boot called twice");
  bootMode = mode;
  if (!consoleInit() || !servicesInit()) return failBoot(KERR_POOL);
  if (manifestLen > BOOT_AREA_BYTES - BOOT_DIGEST_BYTES || (mode != BOOT_LIVE && mode != BOOT_REPLAY)) {
    return bootFailLine(KERR_MANIFEST, "manifest larger than the boot area, or unknown boot mode");
  }
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

// Boot-time failure line (allocation is still allowed here).
function bootFailLine(code: u32, message: string): i32 {
  assert(code != KERR_NONE && message.length > 0, "bootFailLine: a failure says why");
  const bytes = String.UTF8.encode(message);
  if (conBegin()) {
    conStr("{\"event\":\"boot_failed\",\"message\":\"");
    escapedBytes(changetype<usize>(bytes), bytes.byteLength);
    conStr("\"");
    conEnd(true);
  }
  return failBoot(code);
}

import { conEscaped } from "../drivers/console/console";
function escapedBytes(p: usize, n: i32): void {
  assert(n >= 0, "escapedBytes: a byte count");
  conEscaped(p, <usize>n);
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
  if (st.phase == st.PHASE_INIT) return runInit();
  pollDevices();
  if (kernelState() == KSTATE_FAILED) return ACT_HALT;
  for (let i: u32 = 0; i < DISPATCH_SCAN_MAX; i++) {
    // A service command (kernel/liveload.ts) goes first, between messages.
    if (systemPending()) {
      if (systemStep()) {
        noteDispatch(service(activeService()).fuelInit, 0, activeTime(), true);
        return ACT_SERVICE;
      }
      continue;
    }
    if (dispatchNext()) return ACT_CALL;
    const act = st.phase == st.PHASE_RECOVER ? recoverStep() : serveStep();
    if (act != STEP_AGAIN) return act;
  }
  return ACT_IDLE; // bounded: the host calls again after servicing devices
}

function releaseDispatched(): void {
  if (dispatched != POOL_EMPTY) {
    assert(descriptors.inUse > 0, "releaseDispatched: the message handed out holds a descriptor");
    msgRelease(dispatched);
    dispatched = POOL_EMPTY;
  }
  st.setCaller(NO_SERVICE, 0);
}

function runInit(): u32 {
  assert(st.phase == st.PHASE_INIT && initNext <= serviceCount, "runInit: each service's qx_init once, in the INIT phase");
  if (initNext < serviceCount) {
    const s = service(initNext);
    if (s.configLen > s.inboxBytes) {
      if (conBegin()) {
        conStr("{\"event\":\"boot_failed\",\"message\":\"a service's config is larger than its inbox\",\"service\":");
        conU64(initNext);
        conEnd(true);
      }
      failBoot(KERR_MANIFEST);
      return ACT_HALT;
    }
    st.setCaller(initNext, 0);
    setDispatch(initNext, MSG_KIND_INIT, s.configAddr, s.configLen, SENDER_KERNEL, 0, 0);
    noteDispatch(s.fuelInit, 0, 0, true);
    initNext++;
    return ACT_CALL;
  }
  st.setPhase(st.PHASE_RECOVER);
  return kernel_run();
}

function noteDispatch(fuel: u64, token: u32, timeNs: u64, init: bool): void {
  assert(fuel <= FUEL_MAX && (!init || token == 0), "noteDispatch: fuel within bounds; qx_init has no reply token");
  dispatchFuel = fuel;
  dispatchToken = token;
  dispatchTimeNs = timeNs;
  dispatchInit = init;
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
    assert(dispatched == POOL_EMPTY && s < serviceCount, "dispatchNext: one message with the host at a time, for a service in the table");
    setDispatch(s, msgKind(m), msgAddr(m), msgLen(m), msgSender(m), msgToken(m), msgTime(m));
    st.setCaller(s, msgTime(m));
    noteDispatch(target.fuelPerMessage, msgToken(m), msgTime(m), false);
    target.delivered++;
    dispatched = index;
    return true;
  }
  return false;
}

// ---- applying entries (live batches and recovered batches alike) ----

function fireTimers(nowNs: u64): void {
  for (let i: u32 = 0; i < 65536; i++) {
    const t = timerDue(nowNs);
    if (t < 0) return;
    const desc = descriptors.take();
    assert(desc != POOL_EMPTY, "descriptor pool sized below timers_max");
    const target = timerService(t);
    assert(target < serviceCount, "fireTimers: a timer belongs to a service in the table");
    const m = msgAt(desc);
    store<u64>(msgInline(m), timerTag(t));
    msgSet(desc, MSG_KIND_TIMER, SENDER_KERNEL, 0, msgInline(m), 8, POOL_EMPTY, nowNs);
    timerRemove(t);
    inboxPush(service(target), desc);
    schedWake(service(target));
  }
}

function applyInput(e: usize, live: bool): void {
  const target = <u32>load<u16>(e + log.ENTRY_SERVICE);
  const timeNs = load<u64>(e + log.ENTRY_TIME);
  const total = load<u32>(e + log.ENTRY_TOTAL);
  assert(target < serviceCount, "logged input for an unknown service");
  const token = clientTokenNew(target, load<u64>(e + log.ENTRY_CONN), load<u32>(e + log.ENTRY_REQUEST), live);
  if (token == 0) st.countDroppedInput(); // the service sees it but cannot reply
  const desc = descriptors.take();
  assert(desc != POOL_EMPTY, "descriptor pool sized below a batch");
  msgSet(desc, MSG_KIND_REQUEST, SENDER_CLIENT, token, e + log.ENTRY_HEADER_BYTES, total - log.ENTRY_HEADER_BYTES, POOL_EMPTY, timeNs);
  inboxPush(service(target), desc);
  schedWake(service(target));
}

// `base` is the log offset of the first entry (kept for snapshots).
function applyEntries(addr: usize, bytes: u32, live: bool, base: u64): void {
  assert(addr != 0 && bytes > 0 && (bytes & 7) == 0 && (base & 7) == 0, "applyEntries: a batch of whole padded entries");
  const end = addr + bytes;
  let e = addr;
  while (e < end) {
    snap.noteAppliedAt(base + <u64>(e - addr), base + <u64>(e - addr) + <u64>log.entryPadded(load<u32>(e + log.ENTRY_TOTAL)));
    const total = load<u32>(e + log.ENTRY_TOTAL);
    const type = load<u16>(e + log.ENTRY_TYPE);
    const timeNs = load<u64>(e + log.ENTRY_TIME);
    fireTimers(timeNs);
    if (type == log.ENTRY_INPUT) {
      applyInput(e, live);
      if (live) { assert(stagedInputs > 0, "staged input count"); stagedInputs--; }
    } else if (type == log.ENTRY_HSM) {
      hsm.hsmApply(e, timeNs);
    } else if (type == log.ENTRY_ENTROPY) {
      st.rngReseed(e + log.ENTRY_HEADER_BYTES, total - log.ENTRY_HEADER_BYTES);
    } else if (type == log.ENTRY_CHECKPOINT) {
      emitCheckpoint(e, total, timeNs);
    }
    st.noteApplied(load<u64>(e + log.ENTRY_SEQ), timeNs, load<u64>(e + log.ENTRY_BATCH), e + log.ENTRY_CHAIN);
    e += <usize>log.entryPadded(total);
  }
  assert(e == end, "applyEntries: the entries fill the batch exactly");
  setEntriesApplied(st.appliedSeq);
}

// A checkpoint event when a checkpoint entry is applied (live and in
// recovery alike): only a checkpoint that reached the log is announced, and
// a replay announces the same ones with the same ids. Item: the signed body
// (tree size, time, root) and the entry's own seq.
const checkpointItem: usize = memory.data(<i32>EVENT_CHECKPOINT_BYTES, 16);
function emitCheckpoint(e: usize, total: u32, timeNs: u64): void {
  assert(load<u16>(e + log.ENTRY_TYPE) == log.ENTRY_CHECKPOINT && total == load<u32>(e + log.ENTRY_TOTAL), "emitCheckpoint: a checkpoint entry");
  if (total < log.ENTRY_HEADER_BYTES + audit.CHECKPOINT_BODY_BYTES) return;
  memory.copy(checkpointItem, e + log.ENTRY_HEADER_BYTES, <usize>audit.CHECKPOINT_BODY_BYTES);
  store<u64>(checkpointItem + <usize>audit.CHECKPOINT_BODY_BYTES, load<u64>(e + log.ENTRY_SEQ));
  eventsEmit(EVT_CHECKPOINT, SENDER_KERNEL, timeNs, checkpointItem, 1, EVENT_CHECKPOINT_BYTES);
}

// ---- recovery ----

function recoverStep(): u32 {
  assert(st.phase == st.PHASE_RECOVER, "recoverStep: only while recovering");
  const r = rec.recoveryStep();
  if (r == rec.R_NEED_IO) return rec.recoveryWaiting() ? ACT_IDLE : STEP_AGAIN;
  if (r == rec.R_GROUP) {
    applyEntries(rec.groupAddr(), rec.groupBytes(), false, rec.groupOffset());
    rec.recoveryGroupApplied();
    recoveredGroups++;
    return STEP_AGAIN; // dispatch the batch; recovery goes on when it is applied
  }
  if (r == rec.R_FAILED) return recoveryFailed();
  return recoveryDone();
}

function recoveryFailed(): u32 {
  assert(rec.failure != rec.FAIL_NONE, "recoveryFailed: recovery said why");
  if (conBegin()) {
    conStr("{\"event\":\"boot_failed\",\"error\":\"");
    conStr(rec.failure == rec.FAIL_IMAGE ? "log_image" : "log_corrupt");
    conStr("\",\"entry\":"); conU64(rec.failureSeq);
    conStr(",\"offset\":"); conU64(rec.failureOffset);
    conStr(",\"reason\":\""); conStr(rec.failureReason); conStr("\"");
    if (rec.failure == rec.FAIL_CORRUPT) {
      conStr(",\"next_valid_entry\":"); conU64(rec.laterSeq);
      conStr(",\"next_valid_offset\":"); conU64(rec.laterOffset);
    }
    conStr(",\"message\":\"command log entry "); conU64(rec.failureSeq);
    conStr(" at offset "); conU64(rec.failureOffset);
    conStr(rec.failure == rec.FAIL_CORRUPT ? " is corrupt (" : " is invalid (");
    conStr(rec.failureReason);
    conStr(rec.failure == rec.FAIL_CORRUPT ? ") and valid entries follow it: refusing to cut acknowledged history\"" : ")\"");
    conEnd(true);
  }
  setKernelError(rec.failure == rec.FAIL_IMAGE ? 4 : 3); // KERR_LOG_IMAGE / KERR_LOG_CORRUPT
  setKernelState(KSTATE_FAILED);
  st.setPhase(st.PHASE_STOPPED);
  return ACT_HALT;
}

function reportTail(cut: bool): void {
  assert(rec.deviceEndBytes() >= rec.endOffset, "reportTail: the tail lies after the end of the log");
  if (!conBegin()) return;
  conStr(cut ? "{\"event\":\"log_tail_cut\"" : "{\"event\":\"log_tail_torn\"");
  conStr(",\"entry\":"); conU64(rec.nextSeq);
  conStr(",\"offset\":"); conU64(rec.endOffset);
  conStr(",\"bytes\":"); conU64(rec.deviceEndBytes() - rec.endOffset);
  conStr(",\"reason\":\""); conStr(rec.firstBadReason == "" ? "stray bytes after the end" : rec.firstBadReason);
  conStr("\"");
  if (rec.tornBatch) {
    // Valid entries of the same batch follow the damage: the batch write in
    // flight at the crash was torn; none of it was acknowledged.
    conStr(",\"torn_batch\":true,\"next_valid_entry\":"); conU64(rec.laterSeq);
  }
  conEnd(false);
}

function recoveryDone(): u32 {
  assert(rec.failure == rec.FAIL_NONE && !rec.recoveryWaiting() && st.appliedSeq == rec.nextSeq, "recoveryDone: every recovered entry was applied");
  const torn = rec.recoveryTorn();
  if (conBegin()) {
    conStr("{\"event\":\"log_recovered\",\"entries\":"); conU64(rec.nextSeq);
    conStr(",\"batches\":"); conU64(recoveredGroups);
    conStr(",\"end_offset\":"); conU64(rec.endOffset);
    conEnd(false);
  }
  if (bootMode == BOOT_REPLAY) {
    if (torn) reportTail(false);
    setKernelState(KSTATE_HALTED);
    st.setPhase(st.PHASE_STOPPED);
    return ACT_HALT;
  }
  preallocatedBytes = rec.deviceEndBytes();
  if (torn) {
    reportTail(true);
    blockTruncate(rec.endOffset);
    preallocatedBytes = rec.endOffset;
  }
  log.logResume(rec.nextSeq, rec.lastTimeNs, rec.lastBatch, rec.endOffset, rec.chain);
  st.setPhase(st.PHASE_SERVE);
  netPostAllRx();
  entropyRequest();
  if (rec.nextSeq == 0) {
    // A new log: its first entry binds it to this image.
    log.logHasRoom(BOOT_DIGEST_BYTES);
    log.logStage(log.ENTRY_GENESIS, 0xffff, 0, 0, bootArea, BOOT_DIGEST_BYTES, clockNow());
  }
  hsm.hsmRecovered(clockNow()); // requests whose results a crash lost
  return STEP_AGAIN;
}

// ---- serving ----

function serveStep(): u32 {
  assert(st.phase == st.PHASE_SERVE, "serveStep: only while serving");
  if (applyingBuffer >= 0) {
    log.logRelease(applyingBuffer);
    applyingBuffer = -1;
  }
  pollNet();
  maybeTick();
  hsm.hsmStage(clockNow());
  stageCheckpoint();
  submitWrite();
  const b = log.logNextDurable();
  if (b >= 0) {
    log.logMarkApplying(b);
    applyingBuffer = b;
    applyEntries(log.bufAddr[b], log.bufLen[b], true, log.bufOffset[b]);
    return STEP_AGAIN;
  }
  maybeSnapshot();
  clockWakeAt(earliestNs == NO_TIMER ? 0 : earliestNs);
  if (!readyReported && st.appliedSeq > 0 && inFlight == 0) {
    readyReported = true;
    setKernelState(KSTATE_READY);
    return ACT_READY;
  }
  if (kernelState() == KSTATE_DRAINING && !log.logBusy() && inFlight == 0 && !audit.auditBusy() && !hsm.hsmBusy()) {
    setKernelState(KSTATE_HALTED);
    st.setPhase(st.PHASE_STOPPED);
    return ACT_HALT;
  }
  return ACT_IDLE;
}

// A TICK entry moves logical time to wall time when a timer is due and no
// other input would do it.
function maybeTick(): void {
  assert(earliestNs == NO_TIMER || timersActive() > 0, "maybeTick: a deadline belongs to an active timer");
  if (earliestNs == NO_TIMER || earliestNs > clockNow()) return;
  if (snap.snapshotHolding(blockSqTail())) return;
  if (log.stagingEntries() > 0 || log.writing >= 0 || log.logNextDurable() >= 0) return;
  if (kernelState() != KSTATE_READY || !log.logHasRoom(0)) return;
  log.logStage(log.ENTRY_TICK, 0xffff, 0, 0, 0, 0, clockNow());
}

function submitWrite(): void {
  // Fresh entropy rides along with the next batch once services have used the last.
  if (st.rngUsed && entropyFresh && log.stagingEntries() > 0 && log.writing < 0
      && log.logHasRoom(ENTROPY_BYTES)) {
    log.logStage(log.ENTRY_ENTROPY, 0xffff, 0, 0, entropyBytes(), ENTROPY_BYTES, clockNow());
    entropyConsumed();
  }
  const b = log.logTakeForWrite();
  if (b < 0) return;
  assert(log.bufState[b] == log.BUF_WRITING && log.writing == b, "submitWrite: the buffer taken is the one being written");
  const end = log.bufOffset[b] + <u64>log.bufLen[b];
  if (end > preallocatedBytes && config.logPreallocateBytes > 0) {
    const chunk = config.logPreallocateBytes;
    preallocatedBytes = ((end + chunk - 1) / chunk) * chunk;
    blockPreallocate(preallocatedBytes);
    assert(preallocatedBytes >= end, "submitWrite: the preallocation covers the write");
  }
  blockWriteDurable(log.bufAddr[b], log.bufLen[b], log.bufOffset[b]);
}

// ---- devices ----

function pollDevices(): void {
  entropyPoll();
  hsm.hsmPoll();
  for (let d = blockCompletion(); d != 0; d = blockCompletion()) {
    const tag = descTag(d);
    const status = descStatus(d);
    const len = descLen(d);
    blockDone();
    if (tag == TAG_SNAPSHOT) { snapshotDone(status); continue; }
    if (status < 0) { storageFailed(status); return; }
    if (tag == TAG_LOG_WRITE) log.logWriteDone();
    else if (tag == TAG_RECOVERY_READ) rec.recoveryReadDone(len);
  }
}

function storageFailed(status: i32): void {
  assert(status < 0, "storageFailed: a failed completion");
  if (conBegin()) {
    conStr("{\"event\":\"storage_failed\",\"status\":"); conU64(<u64>(-status));
    conStr(",\"message\":\"the command log could not be made durable; inputs not yet acknowledged may or may not be in the log; no new work is taken\"");
    conEnd(true);
  }
  // Clients waiting on batches that were not confirmed learn it now.
  for (let b: u32 = 0; b < <u32>log.bufAddr.length; b++) {
    const state = log.bufState[b];
    if (state == log.BUF_STAGING || state == log.BUF_WRITING) failBatchClients(<i32>b);
  }
  setKernelError(KERR_STORAGE);
  setKernelState(KSTATE_FAILED);
  st.setPhase(st.PHASE_STOPPED);
}

function failBatchClients(b: i32): void {
  assert(b >= 0 && <u32>b < BATCH_BUFFERS, "failBatchClients: not a batch buffer");
  const start = log.bufAddr[b];
  const end = start + <usize>log.bufLen[b];
  for (let e = start; e < end; e += <usize>log.entryPadded(load<u32>(e + log.ENTRY_TOTAL))) {
    if (load<u16>(e + log.ENTRY_TYPE) != log.ENTRY_INPUT) continue;
    netSendError(load<u64>(e + log.ENTRY_CONN), load<u32>(e + log.ENTRY_REQUEST), FRAME_E_STORAGE,
      "storage failure: the request may or may not have been logged");
  }
}

function pollNet(): void {
  assert(st.phase == st.PHASE_SERVE, "pollNet: frames are taken only while serving");
  for (let i: u32 = 0; i < 1024; i++) {
    const d = netCompletion();
    if (d == 0) return;
    const op = descOp(d);
    if (op == OP_NET_RX) {
      if (!admit(descTag(d), descLen(d), descArg(d))) return; // no room: retry later
      netCompletionDone();
      netPostRx(descTag(d));
    } else {
      if (op == OP_NET_TX_DONE) netTxDone(descTag(d));
      netCompletionDone();
    }
  }
}

// Checks a received frame and logs it. False: no room in the log now.
function admit(tag: u32, len: u32, conn: u64): bool {
  const buf = rxBuffer(tag);
  const requestId = len >= 4 ? load<u32>(buf) : 0;
  if (len < 8) { netSendError(conn, requestId, FRAME_E_MALFORMED, "frame shorter than its 8-byte request header"); return true; }
  if (len > rxBufferBytes) { netSendError(conn, requestId, FRAME_E_TOO_LARGE, "frame longer than the kernel's receive buffer"); return true; }
  const nameLen = <u32>load<u8>(buf + 6);
  if (load<u16>(buf + 4) != 0 || load<u8>(buf + 7) != 0) { netSendError(conn, requestId, FRAME_E_MALFORMED, "reserved request header bytes must be zero"); return true; }
  if (nameLen == 0 || nameLen > <u32>SERVICE_NAME_BYTES_MAX || nameLen + 8 > len) { netSendError(conn, requestId, FRAME_E_MALFORMED, "bad service name length"); return true; }
  const target = serviceFindBytes(buf + 8, nameLen);
  if (target == NO_SERVICE) { netSendError(conn, requestId, FRAME_E_UNKNOWN_SERVICE, "no such service"); return true; }
  if (!hasCap(service(target), CAP_NET)) { netSendError(conn, requestId, FRAME_E_DENIED, "service does not accept network requests"); return true; }
  if (service(target).failed) { netSendError(conn, requestId, FRAME_E_UNAVAILABLE, "service failed: it faulted more often than its restart policy allows"); return true; }
  const payloadLen = len - 8 - nameLen;
  if (payloadLen > config.messageBytesMax || payloadLen > service(target).inboxBytes) { netSendError(conn, requestId, FRAME_E_TOO_LARGE, "payload larger than the service accepts (message_bytes_max or its inbox)"); return true; }
  if (kernelState() != KSTATE_READY) { netSendError(conn, requestId, FRAME_E_UNAVAILABLE, "not serving: starting up or shutting down"); return true; }
  if (snap.snapshotHolding(blockSqTail())) return false; // held until the snapshot is captured
  if (!log.logHasRoom(payloadLen)) return false;
  const payload = buf + 8 + nameLen;
  if (target == admissionAuthority && !admitted(conn, requestId, payload, payloadLen)) return true;
  if (clientTokens.inUse + stagedInputs >= config.requestsInFlightMax) { netSendError(conn, requestId, FRAME_E_BUSY, "too many requests in flight; retry"); return true; }
  log.logStage(log.ENTRY_INPUT, target, conn, requestId, payload, payloadLen, clockNow());
  stagedInputs++;
  assert(clientTokens.inUse + stagedInputs <= config.requestsInFlightMax, "admit: requests in flight within requests_in_flight_max");
  return true;
}

// Admission (kernel/admission.ts) of a frame to the authority, before it is
// logged: false when refused, and then the client has its answer, in the
// authority's reply format, and nothing was logged.
const refusalHeader: usize = memory.data(<i32>GW_REPLY_HEADER_BYTES, 16);
function admitted(conn: u64, requestId: u32, payload: usize, payloadLen: u32): bool {
  assert(admissionAuthority != NO_SERVICE && payload != 0, "admitted: only frames to the admission authority");
  const status = payloadLen < <u32>GW_REQUEST_HEADER_BYTES
    ? 400
    : admissionCheck(payload, payloadLen - GW_REQUEST_HEADER_BYTES, true, true, clockNow());
  if (status == 200) return true;
  if (payloadLen < <u32>GW_REQUEST_HEADER_BYTES) {
    memory.fill(refusalHeader, 0, GW_REPLY_HEADER_BYTES);
    store<u16>(refusalHeader, 400);
    store<u16>(refusalHeader + 2, <u16>GW_E_MALFORMED);
    netSendFrame(conn, requestId, FRAME_OK, refusalHeader, GW_REPLY_HEADER_BYTES, "gateway request shorter than its header");
    return false;
  }
  admissionReplyHeader(refusalHeader);
  netSendFrame(conn, requestId, FRAME_OK, refusalHeader, GW_REPLY_HEADER_BYTES, admissionMessage());
  return false;
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

import { serviceFind } from "./services";
function serviceFindBytes(p: usize, n: u32): u32 {
  assert(n > 0 && n <= <u32>SERVICE_NAME_BYTES_MAX, "serviceFindBytes: admit checked the name length");
  return serviceFind(p, n);
}

// ---- state digest and statistics ----

const digestCtx: usize = memory.data(<i32>SHA256_CTX_BYTES, 16);
const digestOut: usize = memory.data(32, 16);
const digestScratch: usize = memory.data(64, 16);

// SHA-256 over the applied state of the kernel: chain head, counters, RNG,
// timers and tokens. The host combines it with each service's memory.
export function kernel_digest(): usize {
  assert(clientTokens.inUse <= clientTokens.count && serviceTokens.inUse <= serviceTokens.count && serviceCount <= SERVICES_MAX, "kernel_digest: counts within their pools");
  sha256Init(digestCtx);
  sha256Update(digestCtx, st.appliedChain, 32);
  store<u64>(digestScratch, st.appliedSeq);
  store<u64>(digestScratch + 8, st.appliedTimeNs);
  store<u64>(digestScratch + 16, st.appliedBatch);
  store<u64>(digestScratch + 24, st.rngCounter);
  store<u32>(digestScratch + 32, timersActive());
  store<u32>(digestScratch + 36, clientTokens.inUse);
  store<u32>(digestScratch + 40, serviceTokens.inUse);
  store<u32>(digestScratch + 44, serviceCount);
  sha256Update(digestCtx, digestScratch, 48);
  // Event numbering: a replay must hand out the same ids.
  store<u64>(digestScratch, eventNextId);
  sha256Update(digestCtx, digestScratch, 8);
  // Supervision state: a replay must fault, restart and fail the same way.
  for (let i: u32 = 0; i < serviceCount; i++) {
    const s = service(i);
    store<u64>(digestScratch, s.faults);
    store<u64>(digestScratch + 8, s.restarts);
    store<u64>(digestScratch + 16, s.windowStartNs);
    store<u32>(digestScratch + 24, s.windowFaults);
    store<u32>(digestScratch + 28, s.failed ? 1 : 0);
    sha256Update(digestCtx, digestScratch, 32);
    // Live load (kernel/liveload.ts): which version runs, what was loaded or unloaded.
    store<u32>(digestScratch, s.version);
    store<u32>(digestScratch + 4, (s.live ? 1 : 0) | (s.unloaded ? 2 : 0));
    store<u32>(digestScratch + 8, s.caps);
    store<u32>(digestScratch + 12, s.inboxBytes);
    sha256Update(digestCtx, digestScratch, 16);
  }
  hsm.hsmDigest(digestCtx);
  sha256Update(digestCtx, st.rngSeed, 32);
  sha256Final(digestCtx, digestOut);
  return digestOut;
}

// The host reports each instance's inbox size after instantiating it; no
// message longer than that is ever delivered to the service.
export function service_set_inbox(index: u32, bytes: u32): void {
  assert(index < serviceCount, "service_set_inbox: no such service");
  service(index).inboxBytes = bytes;
}

function serviceTotal(restarts: bool): u64 {
  let n: u64 = 0;
  for (let i: u32 = 0; i < serviceCount; i++) {
    assert(service(i).restarts <= service(i).faults, "serviceTotal: every restart follows a fault");
    n += restarts ? service(i).restarts : service(i).faults;
  }
  return n;
}

// ---- supervision (kernel/supervise.ts) ----

// Fuel budget of the message the last ACT_CALL named (the host sets the
// service's fuel counter to it before calling the service).
export function dispatch_fuel(): u64 {
  assert(dispatchFuel <= FUEL_MAX, "dispatch_fuel: within the fuel bounds");
  return dispatchFuel;
}

// The host reports that the message the last ACT_CALL named trapped or ran
// out of fuel (FAULT_*). 1: restore the service; 0: it has failed, drop it.
export function service_fault(code: u32): u32 {
  assert(faultCodeValid(code), "service_fault: unknown fault code");
  const caller = st.caller;
  assert(caller != NO_SERVICE && caller < serviceCount, "service_fault outside a dispatched message");
  const s = service(caller);
  return serviceFaulted(s, code, dispatchToken, dispatchTimeNs, dispatchInit) ? 1 : 0;
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

// Statistics by id (hal/abi.ts STAT_*).
export function kernel_stat(id: u32): u64 {
  switch (id) {
    case 0: return st.appliedSeq;
    case 1: return st.appliedBatch;
    case 2: return rounds;
    case 3: return st.deniedCalls;
    case 4: return <u64>descriptors.inUse;
    case 5: return <u64>slots.inUse;
    case 6: return <u64>slots.exhausted;
    case 7: return consoleDropped;
    case 8: return framesDropped;
    case 9: return <u64>clientTokens.inUse;
    case 10: return reservedTotal();
    case 11: return st.inputsDropped;
    case 12: return st.appliedTimeNs;
    case 13: return serviceTotal(false);
    case 14: return serviceTotal(true);
    case 15: return snap.written;
    case 16: return snap.newestEntries;
    case 17: return <u64>serviceTokens.inUse;
    case 18: return <u64>timersActive();
    case 19: return <u64>stagedInputs;
    case 20: return <u64>netErrorFramesInUse();
    default: return 0;
  }
}

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

// ---- event stream (drivers/events) ----

// Event ids handed out so far (the next id is this + 1).
export function events_emitted(): u64 {
  assert(eventNextId >= 1, "events_emitted: ids start at 1");
  return eventNextId - 1;
}
export function events_dropped(): u64 { return eventsDropped; }

// ---- audit checkpoints (kernel/audit.ts) ----

// Logs a checkpoint the host has signed, in the next batch.
function stageCheckpoint(): void {
  assert(st.phase == st.PHASE_SERVE && bootMode == BOOT_LIVE, "stageCheckpoint: only a live, serving kernel logs checkpoints");
  audit.auditArm();
  hsm.hsmCheckpoint(); // a due checkpoint goes to the host on the HSM ring
  const n = audit.auditReadyBytes();
  if (n == 0) return;
  if (log.entryPadded(log.ENTRY_HEADER_BYTES + n) > log.batchBytesMax) { audit.auditDrop(); return; }
  if (!log.logHasRoom(n)) return;
  assert(n >= audit.CHECKPOINT_BODY_BYTES && n <= audit.CHECKPOINT_BYTES_MAX, "stageCheckpoint: a signed checkpoint within its buffer");
  log.logStage(log.ENTRY_CHECKPOINT, 0xffff, 0, 0, audit.auditBuffer(), n, clockNow());
  audit.auditLogged();
}

export function audit_configure(everyEntries: u64): void { audit.auditConfigure(everyEntries); }
export function audit_tree_size(): u64 { return audit.treeSize; }
export function audit_root(): usize { return audit.auditRootNow(); }
export function audit_checkpoints_skipped(): u64 { return audit.checkpointsSkipped; }

// ---- snapshots (kernel/snapshot.ts) ----

// At a quiescent point of a serving kernel, asks the host for a snapshot
// once one is due (new input is held meanwhile, see admit and maybeTick).
function maybeSnapshot(): void {
  if (kernelState() != KSTATE_READY || !snap.snapshotDue()) return;
  if (log.logBusy() || inFlight != 0 || audit.auditBusy() || descriptors.inUse != 0 || applyingBuffer >= 0) return;
  if (hsm.hsmBusy()) return; // an HSM request would die with the host that took it
  // Quiescent: nothing staged, nothing queued, the state is "image + entries".
  assert(stagedInputs == 0 && st.appliedSeq > 0 && dispatched == POOL_EMPTY, "maybeSnapshot: a snapshot at a quiescent point");
  snap.snapshotRequested(blockSnapshot(snap.snapshotRecord(), st.appliedSeq));
}

function snapshotDone(status: i32): void {
  assert(st.phase == st.PHASE_SERVE || st.phase == st.PHASE_STOPPED, "snapshotDone: a snapshot is asked for only while serving");
  if (snap.snapshotDone(status)) return;
  if (conBegin()) {
    conStr("{\"event\":\"snapshot_failed\",\"status\":"); conU64(<u64>(-status));
    conStr(",\"message\":\"the snapshot could not be written; serving goes on (recovery replays the log)\"");
    conEnd(true);
  }
}

// The host copied a snapshot's memory and globals over this booted kernel
// (host/snapshot.ts). Resets, in this one place, what belonged to the
// process that took it, and makes recovery go on from the entry after it.
// `mode` is this boot's (BOOT_LIVE / BOOT_REPLAY). 0: ok; else a KERR_*.
export function kernel_restored(mode: u32): i32 {
  if (mode != BOOT_LIVE && mode != BOOT_REPLAY) return <i32>KERR_MANIFEST;
  if (st.phase != st.PHASE_SERVE || st.appliedSeq == 0 || descriptors.inUse != 0) return <i32>KERR_LOG_CORRUPT;
  bootMode = mode;
  // Run loop (main.ts): nothing dispatched, nothing staged or being applied.
  initNext = serviceCount;
  dispatched = POOL_EMPTY;
  readyReported = false;
  stagedInputs = 0;
  applyingBuffer = -1;
  recoveredGroups = 0;
  preallocatedBytes = 0;
  noteDispatch(0, 0, 0, false);
  st.setCaller(NO_SERVICE, 0);
  // Devices: the old host's requests are gone.
  snap.ringsReset();
  blockReset();
  entropyReset();
  netReset();
  clientTokensOrphan();
  hsmRestoredReset();
  audit.auditRestoredReset();
  snap.snapshotRestoredReset();
  // Registers and recovery: go on checking the log from the next entry.
  setKernelError(KERR_NONE);
  setKernelState(KSTATE_RECOVERING);
  setEntriesApplied(st.appliedSeq);
  clockWakeAt(0);
  rec.recoveryResumeAt(snap.appliedEndOffset, st.appliedSeq, st.appliedChain, st.appliedTimeNs, st.appliedBatch);
  st.setPhase(st.PHASE_RECOVER);
  assert(kernelState() == KSTATE_RECOVERING && descriptors.inUse == 0 && slots.inUse == 0, "kernel_restored: recovery goes on from a quiescent state");
  if (conBegin()) {
    conStr("{\"event\":\"snapshot_restored\",\"entries\":"); conU64(st.appliedSeq);
    conStr(",\"log_offset\":"); conU64(snap.appliedEndOffset);
    conEnd(false);
  }
  return 0;
}
