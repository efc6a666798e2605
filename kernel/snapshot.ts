// kernel/snapshot.ts: when the kernel asks for a snapshot, and what it resets
// after the host restored one.
//
// A snapshot is the whole machine at a quiescent point: the kernel's linear
// memory and mutable globals (everything the kernel knows is statically
// reserved at boot, so its memory *is* its bookkeeping) and each service's
// memory and globals. The host writes it (host/snapshot.ts); the kernel only
// decides when, and tags the request with what the snapshot covers.
//
// When. With kernel.snapshot_interval_entries = N > 0, a snapshot is due once
// N entries were applied since the last one was asked for (or restored).
// While one is due, the serving kernel takes no new input (network frames
// wait in the net CQ, ticks wait) so the pipeline drains; it asks when:
//   - every log buffer is free (nothing staged, written or being applied),
//   - no block request is in flight and no audit checkpoint is being signed,
//   - no message is queued for any service (all of the last batch handled).
// At that point the applied state is exactly "image + entries [0, entries)",
// the same as a replay that stopped there. It pushes OP_BLK_SNAPSHOT with a
// record (SNAP_REC_*: entries, where entry `entries` starts in the log, the
// offset of the last entry, its chain head, time and batch) and stays paused
// until the host has consumed the descriptor (the host captures every memory
// while consuming it, before it returns to the kernel). Writing then runs
// alongside serving; the completion (status only) comes back on the CQ. A
// failed snapshot write is reported and serving goes on: the log is the
// durable truth, a snapshot only shortens recovery.
//
// Restore. The host boots the kernel as usual (manifest, reservations), then
// copies the snapshot's memory and globals over it and calls kernel_restored
// (main.ts; snapshotRestored here), which resets what belonged to the
// process that took it:
//   - every device ring (indices), the block driver's in-flight count, the
//     entropy request, the net error-frame buffers: those requests died with
//     the old host;
//   - client tokens lose their connection (TOKEN_F_LIVE): the clients are
//     gone, and a reply must not reach a new connection that got the same id.
//     A replay creates these tokens without a connection too;
//   - the audit checkpoint signing state (a serving kernel re-arms it);
//   - recovery is positioned at entry `entries` with the snapshot's chain
//     head, so it goes on checking and applying the log right after it;
//   - the run loop's own state (kernel/runstate.ts: mode, readiness, dispatch).

import { DEVICE_COUNT, RING_HEAD, RING_TAIL, SNAP_REC_ENTRIES, SNAP_REC_LOG_END, SNAP_REC_LAST_ENTRY,
  SNAP_REC_TIME_NS, SNAP_REC_BATCH, SNAP_REC_CHAIN, SNAP_REC_BYTES } from "../hal/abi";
import { BOOT_LIVE, BOOT_REPLAY, KSTATE_READY, KSTATE_RECOVERING, KERR_NONE, KERR_MANIFEST, KERR_LOG_CORRUPT } from "../hal/abi";
import { halSq, halCq, kernelState, setKernelState, setKernelError, setEntriesApplied } from "./base/hal";
import * as st from "./state";
import { SNAPSHOT_INTERVAL_ENTRIES_MAX } from "./base/constants";
import { POOL_EMPTY } from "./base/mem";
import { NO_SERVICE, serviceCount } from "./services";
import { descriptors, slots } from "./msg";
import { clientTokensOrphan } from "./tokens";
import * as rs from "./runstate";
import * as log from "./log";
import * as rec from "./recovery";
import * as audit from "./audit";
import * as hsm from "./hsm";
import { storageEnabled, storageIdle } from "./storage";
import { blockSnapshot, blockReset, inFlight } from "../drivers/block/block";
import { entropyReset } from "../drivers/entropy/entropy";
import { netReset } from "../drivers/net/net";
import { clockWakeAt } from "../drivers/clock/clock";
import { conBegin, conStr, conU64, conEnd } from "../drivers/console/console";


let interval: u64 = 0; // 0: no snapshots
let lastRequestSeq: u64 = 0; // entries covered by the last snapshot asked for or restored
let consumeIndex: u32 = 0; // SQ index of the request the host has yet to consume
let awaitingConsume: bool = false;
export let writing: bool = false; // a request is out and its completion has not come back
export let written: u64 = 0; // snapshots written by this boot
export let newestEntries: u64 = 0; // entries covered by the newest snapshot written or restored
const record: usize = memory.data(<i32>SNAP_REC_BYTES, 16);

// Where the applied log ends: the start of the last applied entry and the
// offset just after it (where the next entry starts).
export let lastEntryOffset: u64 = 0;
export let appliedEndOffset: u64 = 0;

export function snapshotConfigure(everyEntries: u64): void {
  assert(everyEntries <= SNAPSHOT_INTERVAL_ENTRIES_MAX, "snapshotConfigure: boot checked snapshot_interval_entries");
  interval = everyEntries;
}

// Entries are applied in log order with nothing between them: each starts
// where the one applied before it ended (recovery, a cut tail and live
// batches all go on from there).
export function noteAppliedAt(entryOffset: u64, endOffset: u64): void {
  assert(entryOffset == appliedEndOffset, "noteAppliedAt: an entry starts where the last applied one ended");
  assert(endOffset > entryOffset && (endOffset & 7) == 0, "noteAppliedAt: a padded entry ends after it starts");
  lastEntryOffset = entryOffset;
  appliedEndOffset = endOffset;
}

// A snapshot is due once the applied entries crossed a multiple of the
// interval since the last one was asked for: the kernel holds new input until
// it has asked for it. Snapshots follow the multiples (not "interval entries
// after the last one") so that each comes right after a checkpoint message
// (below), which a machine with storage needs.
export function snapshotDue(): bool {
  assert(st.appliedSeq >= lastRequestSeq, "snapshotDue: a snapshot never covers more than was applied");
  return interval > 0 && !writing && st.appliedSeq > 0 && st.appliedSeq / interval > lastRequestSeq / interval;
}

// ---- checkpoints of services with storage (docs/storage.md) ----
//
// A service keeping a grid releases blocks as its trees change; a released
// block may be reused only when no snapshot that a boot could restore still
// refers to it. The kernel marks the moments, the same way live and in any
// replay: at the end of every applied batch that crossed a multiple of the
// snapshot interval (of every batch when snapshots are off), each such
// service gets MSG_KIND_CHECKPOINT. The service frees what it released before
// the previous checkpoint message and sets aside what it released since.
// So a snapshot taken at applied count S (after checkpoint k = S / interval)
// refers only to blocks that stay untouched until checkpoint k + 2: once the
// log holds entry (k + 2) * interval - 1 the grid may have moved on, and the
// host does not restore it (host/snapshot.ts, through the export
// snapshot_grid_stale_from). Snapshots are due right after each checkpoint,
// so in a machine whose snapshot writes keep up that does not happen.

/** Whether the batch that took the applied count from `before` to `after` ends with a checkpoint. */
export function checkpointAfter(before: u64, after: u64): bool {
  assert(after > before, "checkpointAfter: a batch applies entries");
  return interval == 0 || before / interval < after / interval;
}

/** The number the checkpoint at applied count `after` carries. */
export function checkpointNumber(after: u64): u64 {
  assert(after > 0, "checkpointNumber: a checkpoint follows applied entries");
  return interval == 0 ? after : after / interval;
}

/** The first entry count at which the grid of a snapshot at applied count `entries` may have been reused; 0: never. */
export function staleFrom(entries: u64): u64 {
  assert(entries > 0, "staleFrom: a snapshot covers applied entries");
  return interval == 0 ? 0 : (entries / interval + 2) * interval;
}

// True while new input must wait: a snapshot is due, or asked for and not yet
// captured by the host (its SQ descriptor is still in the ring).
// With a grid, also while a snapshot is being written and the next entry
// would take the log to the line past which the newest durable snapshot's
// grid may move on (staleFrom): a crash then still finds a snapshot it can
// restore. The hold ends with the write, whatever its outcome.
export function snapshotHolding(sqTail: u32): bool {
  assert(interval > 0 || !awaitingConsume, "snapshotHolding: a request is made only with an interval");
  if (awaitingConsume && <i32>(sqTail - consumeIndex) > 0) awaitingConsume = false;
  if (awaitingConsume || snapshotDue()) return true;
  return writing && newestEntries > 0 && storageEnabled() && log.stageSeq + 1 >= staleFrom(newestEntries);
}

// Fills the request record; the caller pushes it (the block driver) and
// passes the SQ index it used.
export function snapshotRecord(): usize {
  assert(st.appliedSeq > 0 && appliedEndOffset > lastEntryOffset, "snapshotRecord: a snapshot covers at least one applied entry");
  store<u64>(record + SNAP_REC_ENTRIES, st.appliedSeq);
  store<u64>(record + SNAP_REC_LOG_END, appliedEndOffset);
  store<u64>(record + SNAP_REC_LAST_ENTRY, lastEntryOffset);
  store<u64>(record + SNAP_REC_TIME_NS, st.appliedTimeNs);
  store<u64>(record + SNAP_REC_BATCH, st.appliedBatch);
  memory.copy(record + SNAP_REC_CHAIN, st.appliedChain, 32);
  return record;
}

export function snapshotRequested(sqIndex: u32): void {
  assert(interval > 0 && !writing, "snapshotRequested: one request at a time, and only with an interval");
  lastRequestSeq = st.appliedSeq;
  consumeIndex = sqIndex;
  awaitingConsume = true;
  writing = true;
}

// The completion; false when the host could not write it.
export function snapshotDone(status: i32): bool {
  assert(writing, "snapshot completion without a request");
  writing = false;
  if (status < 0) return false;
  written++;
  newestEntries = lastRequestSeq;
  assert(newestEntries <= st.appliedSeq, "snapshotDone: a snapshot covers only applied entries");
  return true;
}

// After a restore: the snapshot's request state belonged to the old host.
// The restored memory says the request was in flight; it never completes here.
export function snapshotRestoredReset(): void {
  assert(st.appliedSeq > 0 && st.appliedSeq >= lastRequestSeq, "snapshotRestoredReset: the restored snapshot covers applied entries");
  awaitingConsume = false;
  writing = false;
  written = 0;
  lastRequestSeq = st.appliedSeq;
  newestEntries = st.appliedSeq;
}

// Every device ring back to empty: the old host's requests and completions
// are gone with it.
export function ringsReset(): void {
  for (let d: u32 = 0; d < <u32>DEVICE_COUNT; d++) {
    const sq = halSq(d);
    const cq = halCq(d);
    assert(sq != 0 || cq == 0, "ringsReset: a device with a CQ has an SQ");
    if (sq != 0) { store<u32>(sq + RING_HEAD, 0); store<u32>(sq + RING_TAIL, 0); }
    if (cq != 0) { store<u32>(cq + RING_HEAD, 0); store<u32>(cq + RING_TAIL, 0); }
  }
}

// At a quiescent point of a serving kernel, asks the host for a snapshot
// once one is due (new input is held meanwhile, see kernel/ingress.ts and
// kernel/staging.ts maybeTick).
export function maybeSnapshot(): void {
  if (kernelState() != KSTATE_READY || !snapshotDue()) return;
  if (log.logBusy() || inFlight != 0 || audit.auditBusy() || descriptors.inUse != 0 || rs.applyingBuffer >= 0) return;
  if (hsm.hsmBusy()) return; // an HSM request would die with the host that took it
  if (!storageIdle()) return; // every grid write the state refers to is at the host (it syncs them before the snapshot is durable)
  // Quiescent: nothing staged, nothing queued, the state is "image + entries".
  assert(rs.stagedInputs == 0 && st.appliedSeq > 0 && rs.dispatched == POOL_EMPTY, "maybeSnapshot: a snapshot at a quiescent point");
  snapshotRequested(blockSnapshot(snapshotRecord(), st.appliedSeq));
}

// The block device's completion of a snapshot request (TAG_SNAPSHOT).
export function snapshotCompleted(status: i32): void {
  assert(st.phase == st.PHASE_SERVE || st.phase == st.PHASE_STOPPED, "snapshotDone: a snapshot is asked for only while serving");
  if (snapshotDone(status)) return;
  if (conBegin()) {
    conStr("{\"event\":\"snapshot_failed\",\"status\":"); conU64(<u64>(-status));
    conStr(",\"message\":\"the snapshot could not be written; serving goes on (recovery replays the log)\"");
    conEnd(true);
  }
}

// kernel_restored (main.ts): the host copied a snapshot's memory and globals
// over this booted kernel (host/snapshot.ts). Resets, in this one place, what
// belonged to the process that took it, and makes recovery go on from the
// entry after it. `mode` is this boot's (BOOT_LIVE / BOOT_REPLAY). 0: ok; else a KERR_*.
export function snapshotRestored(mode: u32): i32 {
  if (mode != BOOT_LIVE && mode != BOOT_REPLAY) return <i32>KERR_MANIFEST;
  if (st.phase != st.PHASE_SERVE || st.appliedSeq == 0 || descriptors.inUse != 0) return <i32>KERR_LOG_CORRUPT;
  // Run loop (kernel/runstate.ts): nothing dispatched, nothing staged or being applied.
  rs.runStateRestored(mode, serviceCount);
  st.setCaller(NO_SERVICE, 0);
  // Devices: the old host's requests are gone.
  ringsReset();
  blockReset();
  entropyReset();
  netReset();
  clientTokensOrphan();
  hsm.hsmRestoredReset();
  audit.auditRestoredReset();
  snapshotRestoredReset();
  // Registers and recovery: go on checking the log from the next entry.
  setKernelError(KERR_NONE);
  setKernelState(KSTATE_RECOVERING);
  setEntriesApplied(st.appliedSeq);
  clockWakeAt(0);
  rec.recoveryResumeAt(appliedEndOffset, st.appliedSeq, st.appliedChain, st.appliedTimeNs, st.appliedBatch);
  st.setPhase(st.PHASE_RECOVER);
  assert(kernelState() == KSTATE_RECOVERING && descriptors.inUse == 0 && slots.inUse == 0, "kernel_restored: recovery goes on from a quiescent state");
  if (conBegin()) {
    conStr("{\"event\":\"snapshot_restored\",\"entries\":"); conU64(st.appliedSeq);
    conStr(",\"log_offset\":"); conU64(appliedEndOffset);
    conEnd(false);
  }
  return 0;
}
