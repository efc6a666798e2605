// Min-heap of pending transfers with a timeout, keyed by (expires_at,
// timestamp): ties in expires_at resolve by the pending transfer's
// timestamp, the order TigerBeetle documents. An entry names its transfer by
// record index (state.ts), which stays put while the transfer is pending;
// each pending transfer keeps its heap position in its metadata (TM_AUX) so
// post, void and rollback can remove it in O(log n).

import { NONE } from "./constants";
import { PENDING_PENDING, T_TIMESTAMP, TM_AUX, TM_STATUS, X_BYTES, X_EXPIRES_AT, X_SLOT } from "./layout";
import { S, recordAt, recordMetaAt } from "./state";

/** The heap entry at `position` (grid.ts moves a pending transfer's record and updates its entry). */
// @ts-ignore: decorator
@inline export function expiryEntryAt(position: u32): usize {
  return entryAt(position);
}

// @ts-ignore: decorator
@inline function entryAt(position: u32): usize {
  assert(position < S.pendingMax, "expiry heap position out of range");
  return S.expiryHeap + <usize>position * X_BYTES;
}

// @ts-ignore: decorator
@inline function keyLess(a: usize, b: usize): bool {
  // Each pending transfer has one entry, so no two keys are equal and the order is total.
  assert(a == b || load<u32>(a + X_SLOT) != load<u32>(b + X_SLOT), "a transfer twice in the expiry heap");
  const ea = load<u64>(a + X_EXPIRES_AT);
  const eb = load<u64>(b + X_EXPIRES_AT);
  if (ea != eb) return ea < eb;
  return load<u64>(recordAt(load<u32>(a + X_SLOT)) + T_TIMESTAMP) < load<u64>(recordAt(load<u32>(b + X_SLOT)) + T_TIMESTAMP);
}

function swap(i: u32, j: u32): void {
  assert(i < S.expiryCount && j < S.expiryCount, "expiry heap swap outside the heap");
  const a = entryAt(i);
  const b = entryAt(j);
  const expiresAt = load<u64>(a + X_EXPIRES_AT);
  const slot = load<u32>(a + X_SLOT);
  store<u64>(a + X_EXPIRES_AT, load<u64>(b + X_EXPIRES_AT));
  store<u32>(a + X_SLOT, load<u32>(b + X_SLOT));
  store<u64>(b + X_EXPIRES_AT, expiresAt);
  store<u32>(b + X_SLOT, slot);
  store<u32>(recordMetaAt(load<u32>(a + X_SLOT)) + TM_AUX, i);
  store<u32>(recordMetaAt(load<u32>(b + X_SLOT)) + TM_AUX, j);
}

function siftUp(position: u32): void {
  assert(position < S.expiryCount, "expiry heap sift outside the heap");
  let i = position;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!keyLess(entryAt(i), entryAt(parent))) break;
    swap(i, parent);
    i = parent;
  }
  assert(i == 0 || !keyLess(entryAt(i), entryAt((i - 1) >> 1)), "expiry heap order broken after sift up");
}

function siftDown(position: u32): void {
  assert(position < S.expiryCount, "expiry heap sift outside the heap");
  let i = position;
  while (true) {
    const left: u32 = 2 * i + 1;
    if (left >= S.expiryCount) break;
    let child = left;
    if (left + 1 < S.expiryCount && keyLess(entryAt(left + 1), entryAt(left))) child = left + 1;
    if (!keyLess(entryAt(child), entryAt(i))) break;
    swap(i, child);
    i = child;
  }
}

/** Adds the pending transfer at record index `slot`, expiring at `expiresAt`. */
export function expiryPush(slot: u32, expiresAt: u64): void {
  assert(S.expiryCount < S.pendingMax, "expiry heap full: pending_max was checked before");
  // Only a stored pending transfer, not yet resolved, waits for its expiry.
  assert(slot < S.transferIds.limit && load<u8>(recordMetaAt(slot) + TM_STATUS) == PENDING_PENDING,
    "expiry of a transfer that is not pending");
  const position = S.expiryCount;
  const entry = entryAt(position);
  store<u64>(entry + X_EXPIRES_AT, expiresAt);
  store<u32>(entry + X_SLOT, slot);
  store<u32>(recordMetaAt(slot) + TM_AUX, position);
  S.expiryCount = position + 1;
  assert(S.expiryCount <= S.pendingCount, "expiry heap holds more than the pending transfers");
  siftUp(position);
  assert(load<u32>(entryAt(load<u32>(recordMetaAt(slot) + TM_AUX)) + X_SLOT) == slot, "expiry heap position of the new entry is stale");
}

/** Removes the entry of the pending transfer at record index `slot` from the heap. */
export function expiryRemove(slot: u32): void {
  const meta = recordMetaAt(slot);
  const position = load<u32>(meta + TM_AUX);
  assert(position < S.expiryCount, "expiry heap remove of a transfer not in the heap");
  assert(load<u32>(entryAt(position) + X_SLOT) == slot, "expiry heap position does not hold the transfer");
  const last = S.expiryCount - 1;
  if (position != last) swap(position, last);
  S.expiryCount = last;
  store<u32>(meta + TM_AUX, NONE);
  if (position < last) {
    siftDown(position);
    siftUp(position);
  }
}

export function expiryEmpty(): bool {
  assert(S.expiryCount <= S.pendingMax, "expiry heap over pending_max");
  return S.expiryCount == 0;
}

export function expiryTopExpiresAt(): u64 {
  assert(S.expiryCount > 0, "expiry time of an empty heap");
  return load<u64>(entryAt(0) + X_EXPIRES_AT);
}

export function expiryTopSlot(): u32 {
  assert(S.expiryCount > 0, "expiry slot of an empty heap");
  return load<u32>(entryAt(0) + X_SLOT);
}
