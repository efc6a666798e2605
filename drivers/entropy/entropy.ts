// drivers/entropy/entropy.ts: the kernel's entropy driver. The kernel asks
// the host for ENTROPY_BYTES random bytes at a time. Randomness never reaches
// a service directly: the kernel logs it as an ENTROPY entry and services draw
// from a generator seeded by the log, so replay draws the same numbers.

import { DEV_ENTROPY, OP_ENT_READ, ENTROPY_BYTES } from "../../hal/abi";
import { RING_ENTROPY } from "../../kernel/base/constants";
import { ringCreate, ringPush, ringPeek, ringPop } from "../../kernel/base/ring";
import { halSetRings } from "../../kernel/base/hal";
import { reserve } from "../../kernel/base/mem";

let sq: usize = 0;
let cq: usize = 0;
let buffer: usize = 0;
let requested: bool = false;
export let entropyFresh: bool = false;

export function entropyInit(): bool {
  sq = ringCreate(RING_ENTROPY, "entropy rings");
  cq = ringCreate(RING_ENTROPY, "entropy rings");
  buffer = reserve(ENTROPY_BYTES, "entropy buffer");
  if (sq == 0 || cq == 0 || buffer == 0) return false;
  halSetRings(DEV_ENTROPY, sq, cq);
  return true;
}

// After a snapshot restore: the request died with the old host.
export function entropyReset(): void {
  requested = false;
  entropyFresh = false;
}

export function entropyRequest(): void {
  if (requested || entropyFresh) return;
  requested = ringPush(sq, OP_ENT_READ, 0, 0, buffer, ENTROPY_BYTES, ENTROPY_BYTES, 0);
}

export function entropyPoll(): void {
  for (let d = ringPeek(cq); d != 0; d = ringPeek(cq)) {
    ringPop(cq);
    requested = false;
    entropyFresh = true;
  }
}

// The fresh bytes; the caller logs them and then calls entropyConsumed.
export function entropyBytes(): usize {
  return buffer;
}

export function entropyConsumed(): void {
  entropyFresh = false;
  entropyRequest();
}
