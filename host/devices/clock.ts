// host/devices/clock.ts: the clock device. Wall-clock nanoseconds, from the
// monotonic clock anchored once to the system clock, so the value never
// goes backwards while the host runs (the kernel also forces logged times
// to increase strictly, whatever the host says).

const baseNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function clockNowNs(): bigint {
  return baseNs + process.hrtime.bigint();
}
