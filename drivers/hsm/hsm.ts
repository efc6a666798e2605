// drivers/hsm/hsm.ts: the kernel's HSM driver. It owns the HSM rings and
// one buffer per request in flight (kernel/base/constants.ts HSM_REQUESTS_MAX);
// kernel/hsm.ts decides what goes on the ring and what happens to results.
// Protocol in hal/abi.ts (HSM section).
//
// Buffer of slot i (HSM_REPLY_HEADER_BYTES + HSM_BUFFER_BYTES):
//   +0 u32 request id | +4 i32 status    written by the kernel when the
//                                        result is logged (the entry payload)
//   +8 request, then the host's result over it
// so the logged payload (header ‖ result) is contiguous without a copy.

import { DEV_HSM, HSM_BUFFER_BYTES, HSM_REPLY_HEADER_BYTES, OP_HSM_CHECKPOINT } from "../../hal/abi";
import { RING_HSM, HSM_REQUESTS_MAX } from "../../kernel/base/constants";
import { ringCreate, ringPush, ringPeek, ringPop } from "../../kernel/base/ring";
import { halSetRings } from "../../kernel/base/hal";
import { reserve } from "../../kernel/base/mem";

const SLOT_BYTES: usize = <usize>(HSM_REPLY_HEADER_BYTES + HSM_BUFFER_BYTES);

let sq: usize = 0;
let cq: usize = 0;
let buffers: usize = 0;

// The tag of the audit checkpoint request (slots use 0 .. HSM_REQUESTS_MAX-1).
export const TAG_CHECKPOINT: u32 = HSM_REQUESTS_MAX;

// The rings always exist (audit checkpoints use them); the request buffers
// only when a service may use the HSM.
export function hsmDriverInit(withBuffers: bool): bool {
  assert(sq == 0 && buffers == 0, "hsmDriverInit: the rings and buffers are reserved once");
  sq = ringCreate(RING_HSM, "hsm rings");
  cq = ringCreate(RING_HSM, "hsm rings");
  if (sq == 0 || cq == 0) return false;
  if (withBuffers) {
    buffers = reserve(SLOT_BYTES * <usize>HSM_REQUESTS_MAX, "hsm buffers");
    if (buffers == 0) return false;
  }
  halSetRings(DEV_HSM, sq, cq);
  return true;
}

// Asks the host to sign the audit checkpoint body at addr (len bytes) and
// write body ‖ signatures over it, at most cap bytes.
export function hsmSubmitCheckpoint(addr: usize, len: u32, cap: u32): void {
  assert(addr != 0 && len > 0 && len <= cap, "hsmSubmitCheckpoint: a body that fits the buffer it is signed in");
  const pushed = ringPush(sq, OP_HSM_CHECKPOINT, 0, TAG_CHECKPOINT, addr, len, cap, 0);
  assert(pushed, "hsm SQ full: more requests than slots");
}

// Start of slot's buffer: the reply header, then the request/result area.
export function hsmSlotBuffer(slot: u32): usize {
  assert(buffers != 0 && slot < HSM_REQUESTS_MAX, "hsm slot out of range");
  return buffers + <usize>slot * SLOT_BYTES;
}

export function hsmSlotRequest(slot: u32): usize {
  assert(HSM_REPLY_HEADER_BYTES + HSM_BUFFER_BYTES == <i32>SLOT_BYTES, "hsmSlotRequest: a slot is the reply header and one buffer");
  return hsmSlotBuffer(slot) + HSM_REPLY_HEADER_BYTES;
}

// Hands the request in slot's buffer to the host. The SQ holds one
// descriptor per slot, so it is never full here.
export function hsmSubmit(slot: u32, op: u32, len: u32, resultCap: u32, requestId: u32): void {
  assert(len <= <u32>HSM_BUFFER_BYTES && resultCap <= <u32>HSM_BUFFER_BYTES, "hsm request larger than its buffer");
  assert(requestId > 0 && op != <u32>OP_HSM_CHECKPOINT, "hsmSubmit: a service's request has a positive id and is not the kernel's checkpoint");
  const pushed = ringPush(sq, op, 0, slot, hsmSlotRequest(slot), len, resultCap, <u64>requestId);
  assert(pushed, "hsm SQ full: more requests than slots");
}

// The next completion descriptor, or 0; call hsmCompletionDone after reading it.
export function hsmCompletion(): usize {
  return cq == 0 ? 0 : ringPeek(cq);
}

export function hsmCompletionDone(): void {
  assert(cq != 0, "hsmCompletionDone before hsmDriverInit");
  ringPop(cq);
}
