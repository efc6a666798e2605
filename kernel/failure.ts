// kernel/failure.ts: the ways the kernel fails. Each one says why on the
// console, sets the error register (KERR_*), the FAILED state and the
// STOPPED phase; the run loop (main.ts) then only ever returns ACT_HALT.
//   boot      the manifest, the memory pool or a service's config
//   recovery  the command log is corrupt or belongs to another image
//   storage   the command log could not be made durable while serving

import { KSTATE_FAILED, KERR_NONE, KERR_STORAGE, FRAME_E_STORAGE, STATUS_E_IO } from "../hal/abi";
import { BATCH_BUFFERS } from "./base/constants";
import { setKernelState, setKernelError } from "./base/hal";
import { conBegin, conStr, conU64, conEnd, conEscaped } from "../drivers/console/console";
import { netSendError } from "../drivers/net/net";
import * as log from "./log";
import * as rec from "./recovery";
import * as st from "./state";

export function failBoot(code: u32): i32 {
  assert(code != KERR_NONE, "failBoot: a failure has an error code");
  setKernelError(code);
  setKernelState(KSTATE_FAILED);
  st.setPhase(st.PHASE_STOPPED);
  return <i32>code;
}

// Boot-time failure line (allocation is still allowed here).
export function bootFailLine(code: u32, message: string): i32 {
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

function escapedBytes(p: usize, n: i32): void {
  assert(n >= 0, "escapedBytes: a byte count");
  conEscaped(p, <usize>n);
}

export function recoveryFailed(): void {
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
}

export function storageFailed(status: i32): void {
  stopOnStorage(status, "log", "the command log could not be made durable; inputs not yet acknowledged may or may not be in the log; no new work is taken");
}

// A grid write or sync failed (kernel/storage.ts): the service's storage may
// have lost what it wrote, so the machine stops as it does for the log. The
// log is intact: a restart replays it and writes the grid again.
export function gridFailed(status: i32): void {
  stopOnStorage(status, "grid", "a service's block grid could not be written or made durable; no new work is taken; the command log is intact and a restart rebuilds the grid from it");
}

// A service found its grid corrupt beyond retrying (storage STORAGE_CORRUPT):
// its text, at `text` (`len` bytes), names the block. The machine stops.
export function gridCorrupt(text: usize, len: u32): void {
  if (conBegin()) {
    conStr("{\"event\":\"storage_failed\",\"device\":\"grid\",\"status\":"); conU64(<u64>(-STATUS_E_IO));
    conStr(",\"message\":\""); conEscaped(text, len);
    conStr("; no new work is taken; the command log is intact and a replay on a healthy grid rebuilds it\"");
    conEnd(true);
  }
  stopMachine(KERR_STORAGE);
}

function stopOnStorage(status: i32, device: string, message: string): void {
  assert(status < 0, "stopOnStorage: a failed completion");
  if (conBegin()) {
    conStr("{\"event\":\"storage_failed\",\"device\":\""); conStr(device);
    conStr("\",\"status\":"); conU64(<u64>(-status));
    conStr(",\"message\":\""); conStr(message); conStr("\"");
    conEnd(true);
  }
  stopMachine(KERR_STORAGE);
}

// Fails the waiting clients and stops the machine with `error`.
function stopMachine(error: u32): void {
  // Clients waiting on batches that were not confirmed learn it now.
  for (let b: u32 = 0; b < <u32>log.bufAddr.length; b++) {
    const state = log.bufState[b];
    if (state == log.BUF_STAGING || state == log.BUF_WRITING) failBatchClients(<i32>b);
  }
  setKernelError(error);
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
