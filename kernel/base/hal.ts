// kernel/base/hal.ts: the device table and registers the host reads (layout in
// hal/abi.ts). The table lives in static memory so its address is known
// before boot; rings are reserved at boot and their addresses written here.

import {
  DEVICE_COUNT, DEVICE_ENTRY_BYTES, HAL_REGS_OFFSET, HAL_REGS_BYTES,
  REG_CLOCK_NS, REG_DEADLINE_NS, REG_STATE, REG_ERROR,
  REG_DISPATCH_SERVICE, REG_DISPATCH_KIND, REG_DISPATCH_ADDR, REG_DISPATCH_LEN,
  REG_DISPATCH_SENDER, REG_DISPATCH_TOKEN, REG_DISPATCH_TIME_LO, REG_DISPATCH_TIME_HI,
  REG_ENTRIES_LO, REG_ENTRIES_HI,
  KSTATE_COLD, KSTATE_RECOVERING, KSTATE_READY, KSTATE_DRAINING, KSTATE_FAILED, KERR_STORAGE, MSG_KIND_CHECKPOINT,
} from "../../hal/abi";
import { SERVICES_MAX } from "./constants";

export const halTable: usize = memory.data(HAL_REGS_OFFSET + HAL_REGS_BYTES, 16);
const regs: usize = halTable + HAL_REGS_OFFSET;

export function halSetRings(device: u32, sq: usize, cq: usize): void {
  assert(device < <u32>DEVICE_COUNT, "unknown device");
  assert(sq != 0 && halSq(device) == 0, "halSetRings: a device gets its rings once, and always an SQ");
  store<u32>(halTable + <usize>device * DEVICE_ENTRY_BYTES, <u32>sq);
  store<u32>(halTable + <usize>device * DEVICE_ENTRY_BYTES + 4, <u32>cq);
}

export function halSq(device: u32): usize {
  assert(device < <u32>DEVICE_COUNT, "halSq: unknown device");
  return <usize>load<u32>(halTable + <usize>device * DEVICE_ENTRY_BYTES);
}

export function halCq(device: u32): usize {
  assert(device < <u32>DEVICE_COUNT, "halCq: unknown device");
  return <usize>load<u32>(halTable + <usize>device * DEVICE_ENTRY_BYTES + 4);
}

@inline export function clockNs(): u64 { return load<u64>(regs + REG_CLOCK_NS); }
@inline export function setDeadlineNs(ns: u64): void { store<u64>(regs + REG_DEADLINE_NS, ns); }
@inline export function kernelState(): u32 {
  const state = load<u32>(regs + REG_STATE);
  assert(state <= <u32>KSTATE_FAILED, "kernel state register corrupt");
  return state;
}

// The states move COLD -> RECOVERING -> READY -> DRAINING -> HALTED, with
// FAILED from anywhere; a snapshot restore goes back to RECOVERING.
@inline export function setKernelState(state: u32): void {
  const from = kernelState();
  assert(state != <u32>KSTATE_COLD && state <= <u32>KSTATE_FAILED, "setKernelState: unknown state, or back to COLD");
  assert(from != <u32>KSTATE_FAILED || state == <u32>KSTATE_FAILED || state == <u32>KSTATE_RECOVERING, "setKernelState: a failed kernel stays failed");
  assert(state != <u32>KSTATE_READY || from == <u32>KSTATE_RECOVERING, "setKernelState: READY only after recovery");
  assert(state != <u32>KSTATE_DRAINING || from == <u32>KSTATE_READY, "setKernelState: DRAINING only from READY");
  store<u32>(regs + REG_STATE, state);
}
@inline export function setKernelError(code: u32): void {
  assert(code <= <u32>KERR_STORAGE, "setKernelError: unknown error code");
  store<u32>(regs + REG_ERROR, code);
}
@inline export function kernelError(): u32 {
  const code = load<u32>(regs + REG_ERROR);
  assert(code <= <u32>KERR_STORAGE, "kernel error register corrupt");
  return code;
}

export function setEntriesApplied(count: u64): void {
  const before = (<u64>load<u32>(regs + REG_ENTRIES_HI) << 32) | <u64>load<u32>(regs + REG_ENTRIES_LO);
  assert(count >= before, "setEntriesApplied: the applied count never goes back");
  store<u32>(regs + REG_ENTRIES_LO, <u32>count);
  store<u32>(regs + REG_ENTRIES_HI, <u32>(count >> 32));
}

export function setDispatch(service: u32, kind: u32, addr: usize, len: u32, sender: u32, token: u32, timeNs: u64): void {
  assert(service < SERVICES_MAX, "setDispatch: not a service index");
  assert(kind <= <u32>MSG_KIND_CHECKPOINT && (len == 0 || addr != 0), "setDispatch: unknown kind, or bytes at address 0");
  store<u32>(regs + REG_DISPATCH_SERVICE, service);
  store<u32>(regs + REG_DISPATCH_KIND, kind);
  store<u32>(regs + REG_DISPATCH_ADDR, <u32>addr);
  store<u32>(regs + REG_DISPATCH_LEN, len);
  store<u32>(regs + REG_DISPATCH_SENDER, sender);
  store<u32>(regs + REG_DISPATCH_TOKEN, token);
  store<u32>(regs + REG_DISPATCH_TIME_LO, <u32>timeNs);
  store<u32>(regs + REG_DISPATCH_TIME_HI, <u32>(timeNs >> 32));
}
