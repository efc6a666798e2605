// kernel/state.ts: the kernel's few pieces of shared state, in one place so
// the run loop (main.ts) and the syscalls (syscalls.ts) read the same values.

import { NO_SERVICE, serviceCount } from "./services";
import { sha256Init, sha256Update, sha256Final, SHA256_CTX_BYTES } from "../lib/sha256";

export const PHASE_INIT: u32 = 0; // calling each service's qx_init
export const PHASE_RECOVER: u32 = 1; // replaying the command log
export const PHASE_SERVE: u32 = 2; // live: taking new input
export const PHASE_STOPPED: u32 = 3;

export let phase: u32 = PHASE_INIT;
// INIT -> RECOVER -> SERVE -> STOPPED (STOPPED from anywhere); a snapshot
// restore takes a serving kernel back to RECOVER.
export function setPhase(p: u32): void {
  assert(p <= PHASE_STOPPED, "setPhase: unknown phase");
  assert(phase != PHASE_STOPPED || p == PHASE_STOPPED, "setPhase: a stopped kernel stays stopped");
  assert(p != PHASE_SERVE || phase == PHASE_RECOVER, "setPhase: serving starts only after recovery");
  phase = p;
}

// The message being handled: its service is the caller of every syscall
// until the host calls kernel_run again.
export let caller: u32 = NO_SERVICE;
export let callerTimeNs: u64 = 0;
export function setCaller(service: u32, timeNs: u64): void {
  assert(service == NO_SERVICE || service < serviceCount, "setCaller: not a service in the table");
  caller = service;
  callerTimeNs = timeNs;
}

// Applied state: what the durable, applied log says. The state digest is
// built from these, never from staging state, so live and replay agree.
export const appliedChain: usize = memory.data(32, 16);
export let appliedSeq: u64 = 0; // entries applied
export let appliedTimeNs: u64 = 0;
export let appliedBatch: u64 = 0;
export function noteApplied(seq: u64, timeNs: u64, batch: u64, chain: usize): void {
  // Recovery checked these on every entry read from the log, and staging
  // made them so for every entry logged live.
  assert(seq == appliedSeq, "noteApplied: entries are applied in order, none skipped");
  assert(seq == 0 || timeNs > appliedTimeNs, "noteApplied: logical time moves forward");
  assert(batch >= appliedBatch && chain != 0, "noteApplied: batch numbers never go back");
  appliedSeq = seq + 1;
  appliedTimeNs = timeNs;
  appliedBatch = batch;
  memory.copy(appliedChain, chain, 32);
}

// Service random numbers: SHA-256(seed ‖ counter) blocks. The seed changes
// only through ENTROPY entries in the log, so replay draws the same bytes.
export const rngSeed: usize = memory.data(32, 16);
export let rngCounter: u64 = 0;
export let rngUsed: bool = false;
const rngCtx: usize = memory.data(<i32>SHA256_CTX_BYTES, 16);
const rngBlock: usize = memory.data(32, 16);
const rngCounterBytes: usize = memory.data(8, 8);

export function rngReseed(entropy: usize, len: u32): void {
  assert(entropy != 0 || len == 0, "rngReseed: entropy bytes at address 0");
  sha256Init(rngCtx);
  sha256Update(rngCtx, rngSeed, 32);
  sha256Update(rngCtx, entropy, <usize>len);
  sha256Final(rngCtx, rngSeed);
  rngCounter = 0;
  rngUsed = false;
}

export function rngFill(out: usize, len: u32): void {
  assert(out != 0 || len == 0, "rngFill: output at address 0");
  const counterBefore = rngCounter;
  rngUsed = true;
  let done: u32 = 0;
  while (done < len) {
    store<u64>(rngCounterBytes, rngCounter++);
    sha256Init(rngCtx);
    sha256Update(rngCtx, rngSeed, 32);
    sha256Update(rngCtx, rngCounterBytes, 8);
    sha256Final(rngCtx, rngBlock);
    const n: u32 = len - done < 32 ? len - done : 32;
    memory.copy(out + done, rngBlock, n);
    done += n;
  }
  assert(rngCounter - counterBefore == (<u64>len + 31) / 32, "rngFill: one counter value per 32-byte block, never reused");
}

// Counters reported by kernel_stat.
export let deniedCalls: u64 = 0;
export function countDenied(): void { deniedCalls++; }
export let logsSuppressed: u64 = 0;
export function countSuppressedLog(): void { logsSuppressed++; }
export let inputsDropped: u64 = 0;
export function countDroppedInput(): void { inputsDropped++; }
