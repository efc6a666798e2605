// kernel/base/hal.ts: the device table and registers the host reads (layout in
// hal/abi.ts). The table lives in static memory so its address is known
// before boot; rings are reserved at boot and their addresses written here.

import {
  DEVICE_COUNT, DEVICE_ENTRY_BYTES, HAL_REGS_OFFSET, HAL_REGS_BYTES,
  REG_CLOCK_NS, REG_DEADLINE_NS, REG_STATE, REG_ERROR,
  REG_DISPATCH_SERVICE, REG_DISPATCH_KIND, REG_DISPATCH_ADDR, REG_DISPATCH_LEN,
  REG_DISPATCH_SENDER, REG_DISPATCH_TOKEN, REG_DISPATCH_TIME_LO, REG_DISPATCH_TIME_HI,
  REG_ENTRIES_LO, REG_ENTRIES_HI,
} from "../../hal/abi";

export const halTable: usize = memory.data(HAL_REGS_OFFSET + HAL_REGS_BYTES, 16);
const regs: usize = halTable + HAL_REGS_OFFSET;

export function halSetRings(device: u32, sq: usize, cq: usize): void {
  assert(device < <u32>DEVICE_COUNT, "unknown device");
  store<u32>(halTable + <usize>device * DEVICE_ENTRY_BYTES, <u32>sq);
  store<u32>(halTable + <usize>device * DEVICE_ENTRY_BYTES + 4, <u32>cq);
}

export function halSq(device: u32): usize {
  return <usize>load<u32>(halTable + <usize>device * DEVICE_ENTRY_BYTES);
}

export function halCq(device: u32): usize {
  return <usize>load<u32>(halTable + <usize>device * DEVICE_ENTRY_BYTES + 4);
}

@inline export function clockNs(): u64 { return load<u64>(regs + REG_CLOCK_NS); }
@inline export function setDeadlineNs(ns: u64): void { store<u64>(regs + REG_DEADLINE_NS, ns); }
@inline export function kernelState(): u32 { return load<u32>(regs + REG_STATE); }
@inline export function setKernelState(state: u32): void { store<u32>(regs + REG_STATE, state); }
@inline export function setKernelError(code: u32): void { store<u32>(regs + REG_ERROR, code); }
@inline export function kernelError(): u32 { return load<u32>(regs + REG_ERROR); }

export function setEntriesApplied(count: u64): void {
  store<u32>(regs + REG_ENTRIES_LO, <u32>count);
  store<u32>(regs + REG_ENTRIES_HI, <u32>(count >> 32));
}

export function setDispatch(service: u32, kind: u32, addr: usize, len: u32, sender: u32, token: u32, timeNs: u64): void {
  store<u32>(regs + REG_DISPATCH_SERVICE, service);
  store<u32>(regs + REG_DISPATCH_KIND, kind);
  store<u32>(regs + REG_DISPATCH_ADDR, <u32>addr);
  store<u32>(regs + REG_DISPATCH_LEN, len);
  store<u32>(regs + REG_DISPATCH_SENDER, sender);
  store<u32>(regs + REG_DISPATCH_TOKEN, token);
  store<u32>(regs + REG_DISPATCH_TIME_LO, <u32>timeNs);
  store<u32>(regs + REG_DISPATCH_TIME_HI, <u32>(timeNs >> 32));
}
