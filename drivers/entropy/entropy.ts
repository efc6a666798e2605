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
  assert(sq == 0 && !requested, "entropyInit: the rings are reserved once");
  sq = ringCreate(RING_ENTROPY, "entropy rings");
  cq = ringCreate(RING_ENTROPY, "entropy rings");
  buffer = reserve(ENTROPY_BYTES, "entropy buffer");
  if (sq == 0 || cq == 0 || buffer == 0) return false;
  halSetRings(DEV_ENTROPY, sq, cq);
  return true;
}

// After a snapshot restore: the request died with the old host.
export function entropyReset(): void {
  assert(sq != 0 && cq != 0, "entropyReset: a restore follows a boot that made the rings");
  requested = false;
  entropyFresh = false;
}

export function entropyRequest(): void {
  if (requested || entropyFresh) return;
  requested = ringPush(sq, OP_ENT_READ, 0, 0, buffer, ENTROPY_BYTES, ENTROPY_BYTES, 0);
  assert(requested, "entropyRequest: one request at a time always fits the SQ");
}

export function entropyPoll(): void {
  for (let d = ringPeek(cq); d != 0; d = ringPeek(cq)) {
    assert(requested, "entropy completion without a request");
    ringPop(cq);
    requested = false;
    entropyFresh = true;
  }
}

// The fresh bytes; the caller logs them and then calls entropyConsumed.
export function entropyBytes(): usize {
  assert(entropyFresh && buffer != 0, "entropyBytes: only fresh bytes are logged");
  return buffer;
}

export function entropyConsumed(): void {
  assert(entropyFresh && !requested, "entropyConsumed: fresh bytes were logged, and none are on the way");
  entropyFresh = false;
  entropyRequest();
}
