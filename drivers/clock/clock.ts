// drivers/clock/clock.ts: the kernel's clock driver. The clock device has no
// ring: the host writes wall-clock time (ns since the epoch) into the
// REG_CLOCK_NS register before every kernel_run and kernel_interrupt, and
// the kernel publishes its next timer deadline in REG_DEADLINE_NS so the host
// knows when to wake it. Wall time is only ever read when an entry is
// logged; services see the logical time recorded in the log.

import { clockNs, setDeadlineNs } from "../../kernel/base/hal";

// Wall-clock time now, as the host last reported it.
export function clockNow(): u64 {
  return clockNs();
}

// Asks the host to wake the kernel at deadlineNs (0: no deadline).
export function clockWakeAt(deadlineNs: u64): void {
  // The register says "no deadline" with 0; the timers' own NO_TIMER must not leak into it.
  assert(deadlineNs != u64.MAX_VALUE, "clockWakeAt: no deadline is 0, not NO_TIMER");
  setDeadlineNs(deadlineNs);
}
