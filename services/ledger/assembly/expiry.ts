// Min-heap of pending transfers with a timeout, keyed by (expires_at, slot).
//
// Slots follow creation timestamps, so ties in expires_at resolve by the
// pending transfer's timestamp, the order TigerBeetle documents. Each pending
// transfer keeps its heap position in its metadata (TM_AUX) so post, void and
// rollback can remove it in O(log n).

import { NONE } from "./constants";
import { TM_AUX, X_BYTES, X_EXPIRES_AT, X_SLOT } from "./layout";
import { S, transferMetaAt } from "./state";

// @ts-ignore: decorator
@inline function entryAt(position: u32): usize {
  return S.expiryHeap + <usize>position * X_BYTES;
}

// @ts-ignore: decorator
@inline function keyLess(a: usize, b: usize): bool {
  const ea = load<u64>(a + X_EXPIRES_AT);
  const eb = load<u64>(b + X_EXPIRES_AT);
  return ea < eb || (ea == eb && load<u32>(a + X_SLOT) < load<u32>(b + X_SLOT));
}

function swap(i: u32, j: u32): void {
  const a = entryAt(i);
  const b = entryAt(j);
  const expiresAt = load<u64>(a + X_EXPIRES_AT);
  const slot = load<u32>(a + X_SLOT);
  store<u64>(a + X_EXPIRES_AT, load<u64>(b + X_EXPIRES_AT));
  store<u32>(a + X_SLOT, load<u32>(b + X_SLOT));
  store<u64>(b + X_EXPIRES_AT, expiresAt);
  store<u32>(b + X_SLOT, slot);
  store<u32>(transferMetaAt(load<u32>(a + X_SLOT)) + TM_AUX, i);
  store<u32>(transferMetaAt(load<u32>(b + X_SLOT)) + TM_AUX, j);
}

function siftUp(position: u32): void {
  let i = position;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!keyLess(entryAt(i), entryAt(parent))) break;
    swap(i, parent);
    i = parent;
  }
}

function siftDown(position: u32): void {
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

export function expiryPush(slot: u32, expiresAt: u64): void {
  assert(S.expiryCount < S.pendingMax);
  const position = S.expiryCount;
  const entry = entryAt(position);
  store<u64>(entry + X_EXPIRES_AT, expiresAt);
  store<u32>(entry + X_SLOT, slot);
  store<u32>(transferMetaAt(slot) + TM_AUX, position);
  S.expiryCount = position + 1;
  siftUp(position);
}

/** Removes the entry of pending transfer `slot` from the heap. */
export function expiryRemove(slot: u32): void {
  const meta = transferMetaAt(slot);
  const position = load<u32>(meta + TM_AUX);
  assert(position < S.expiryCount);
  assert(load<u32>(entryAt(position) + X_SLOT) == slot);
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
  return S.expiryCount == 0;
}

export function expiryTopExpiresAt(): u64 {
  assert(S.expiryCount > 0);
  return load<u64>(entryAt(0) + X_EXPIRES_AT);
}

export function expiryTopSlot(): u32 {
  assert(S.expiryCount > 0);
  return load<u32>(entryAt(0) + X_SLOT);
}
