// kernel/staging.ts: what a serving kernel puts in the command log besides
// client input (kernel/ingress.ts), and the hand-over of a full batch to the
// block device: a TICK when a timer is due and nothing else would move
// logical time, fresh ENTROPY once services used the last, a signed audit
// CHECKPOINT (kernel/audit.ts), and the durable write of the next batch
// (preallocating the log file ahead of it, log_preallocate_bytes at a time).

import { BOOT_LIVE, KSTATE_READY, ENTROPY_BYTES } from "../hal/abi";
import { kernelState } from "./base/hal";
import { config } from "./boot";
import { earliestNs, timersActive, NO_TIMER } from "./timers";
import { bootMode, preallocatedBytes, setPreallocatedBytes } from "./runstate";
import { blockWriteDurable, blockPreallocate, blockSqTail } from "../drivers/block/block";
import { entropyFresh, entropyBytes, entropyConsumed } from "../drivers/entropy/entropy";
import { clockNow } from "../drivers/clock/clock";
import * as log from "./log";
import * as audit from "./audit";
import * as hsm from "./hsm";
import * as snap from "./snapshot";
import * as st from "./state";

// A TICK entry moves logical time to wall time when a timer is due and no
// other input would do it.
export function maybeTick(): void {
  assert(earliestNs == NO_TIMER || timersActive() > 0, "maybeTick: a deadline belongs to an active timer");
  if (earliestNs == NO_TIMER || earliestNs > clockNow()) return;
  if (snap.snapshotHolding(blockSqTail())) return;
  if (log.stagingEntries() > 0 || log.writing >= 0 || log.logNextDurable() >= 0) return;
  if (kernelState() != KSTATE_READY || !log.logHasRoom(0)) return;
  log.logStage(log.ENTRY_TICK, 0xffff, 0, 0, 0, 0, clockNow());
}

// Logs a checkpoint the host has signed, in the next batch.
export function stageCheckpoint(): void {
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

export function submitWrite(): void {
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
    setPreallocatedBytes(((end + chunk - 1) / chunk) * chunk);
    blockPreallocate(preallocatedBytes);
    assert(preallocatedBytes >= end, "submitWrite: the preallocation covers the write");
  }
  blockWriteDurable(log.bufAddr[b], log.bufLen[b], log.bufOffset[b]);
}
