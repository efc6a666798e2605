// test/qemu/fixed-devices.ts: the clock and entropy device inputs of the
// cross-platform workload, fixed so two hosts can be compared byte for byte.
//
// The kernel logs every clock reading and entropy block it takes, so a run
// is a pure function of image + inputs; wall time and the OS's CSPRNG are
// the only inputs that differ between two machines. test/qemu/bundle.mjs
// substitutes this module for host/devices/clock.ts and for node:crypto in
// host/devices/entropy.ts when it bundles test/qemu/workload.ts; nothing
// else in the host changes. Never used by the real CLI.

import { createHash } from 'node:crypto';

// 2026-01-01T00:00:00Z: where the workload's clock starts.
export const CLOCK_START_NS = 1_767_225_600_000_000_000n;

let clockNs = CLOCK_START_NS;

/** The clock device's reading: only the workload driver moves it. */
export function clockNowNs(): bigint {
  return clockNs;
}

/** Moves the clock forward (never back). */
export function setClockNs(ns: bigint): void {
  if (ns < clockNs) throw new Error(`fixed clock: ${ns} is before ${clockNs}`);
  clockNs = ns;
}

// Entropy: SHA-256 in counter mode over a seed, so every fill is the next
// bytes of one stream, the same on every platform.
let entropySeed = Buffer.from('qenex-cross-platform-entropy', 'utf8');
let entropyCounter = 0;
let entropyPool = Buffer.alloc(0);

export function seedEntropy(seed: string): void {
  entropySeed = Buffer.from(seed, 'utf8');
  entropyCounter = 0;
  entropyPool = Buffer.alloc(0);
}

/** Same shape as node:crypto's randomFillSync for a Uint8Array. */
export function randomFillSync<T extends Uint8Array>(into: T): T {
  let done = 0;
  while (done < into.length) {
    if (entropyPool.length === 0) {
      const counter = Buffer.alloc(8);
      counter.writeBigUInt64LE(BigInt(entropyCounter++));
      entropyPool = createHash('sha256').update(entropySeed).update(counter).digest();
    }
    const n = Math.min(entropyPool.length, into.length - done);
    into.set(entropyPool.subarray(0, n), done);
    entropyPool = entropyPool.subarray(n);
    done += n;
  }
  return into;
}
