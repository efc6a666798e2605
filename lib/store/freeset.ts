// lib/store/freeset.ts: which blocks of the grid are in use (docs/storage.md).
//
// One bit per block (1: in use). Blocks 0..FREE_SET_SUPERBLOCKS-1 hold the
// superblock's copies and are never handed out. Three rules keep a crash at
// any moment harmless:
//   - acquire() takes the lowest free block, so the grid's layout depends only
//     on the sequence of calls (replay and a follower write the same blocks);
//   - release() only stages a block: the checkpoint being built may no longer
//     reference it, but the last durable checkpoint may, so it stays in use
//     until the checkpoint that stopped referencing it is durable.
//     checkpoint() marks that moment's releases as the ones the new
//     checkpoint drops, checkpointDurable() frees them;
//   - reserve(n) answers, before anything changes, whether n blocks can be
//     acquired, so a batch that would fill the grid is refused (storage_full)
//     instead of failing halfway; acquire() draws from a reservation.
// The persisted form (encode/decode) is the bitmap of the checkpoint being
// written: in use, less the releases that checkpoint drops.

import { BLOCK_BODY_BYTES } from "./block";

export const FREE_SET_SUPERBLOCKS: u64 = 4;
// Bitmap words in one block's body.
const WORDS_PER_BLOCK: u32 = <u32>(BLOCK_BODY_BYTES / 8);

// @ts-ignore: decorator
@unmanaged
export class FreeSet {
  /** Blocks in the grid. */
  blocks: u64 = 0;
  words: u32 = 0;
  /** Bit set: in use (acquired, staged or pending release). Bits beyond `blocks` are set. */
  used: usize = 0;
  /** Released since the last checkpoint(). */
  staged: usize = 0;
  /** Released before the checkpoint in flight: free once it is durable. */
  pending: usize = 0;
  free: u64 = 0;
  reserved: u64 = 0;
  pendingCount: u64 = 0;
  /** No free bit below this word. */
  hint: u32 = 0;
}

// @ts-ignore: decorator
@inline function bitGet(set: usize, i: u64): bool {
  return ((load<u64>(set + <usize>(i >> 6) * 8) >> (i & 63)) & 1) != 0;
}
// @ts-ignore: decorator
@inline function bitPut(set: usize, i: u64, on: bool): void {
  const at = set + <usize>(i >> 6) * 8;
  const mask: u64 = <u64>1 << (i & 63);
  store<u64>(at, on ? load<u64>(at) | mask : load<u64>(at) & ~mask);
}

/** A free set for a grid of `blocks` blocks, every block free but the superblock's. Allocates once. */
export function freeSetCreate(blocks: u64): FreeSet {
  assert(blocks > FREE_SET_SUPERBLOCKS && blocks <= (<u64>1 << 32), "free set: grid size out of range");
  const f = new FreeSet();
  f.blocks = blocks;
  f.words = <u32>((blocks + 63) >> 6);
  f.used = heap.alloc(<usize>f.words * 8);
  f.staged = heap.alloc(<usize>f.words * 8);
  f.pending = heap.alloc(<usize>f.words * 8);
  freeSetReset(f);
  return f;
}

/** Every block free but the superblock's, nothing reserved or staged. */
export function freeSetReset(f: FreeSet): void {
  assert(f.words > 0, "free set: not created");
  const bytes = <usize>f.words * 8;
  memory.fill(f.used, 0, bytes);
  memory.fill(f.staged, 0, bytes);
  memory.fill(f.pending, 0, bytes);
  for (let i: u64 = 0; i < FREE_SET_SUPERBLOCKS; i++) bitPut(f.used, i, true);
  for (let i = f.blocks; i < <u64>f.words * 64; i++) bitPut(f.used, i, true);
  f.free = f.blocks - FREE_SET_SUPERBLOCKS;
  f.reserved = 0;
  f.pendingCount = 0;
  f.hint = 0;
}

/** Reserves `n` blocks for acquire(): false, and nothing changed, when fewer are free. */
export function freeSetReserve(f: FreeSet, n: u64): bool {
  assert(f.reserved <= f.free, "free set: more reserved than free");
  if (f.free - f.reserved < n) return false;
  f.reserved += n;
  return true;
}

/** Returns `n` reserved blocks that were not acquired. */
export function freeSetUnreserve(f: FreeSet, n: u64): void {
  assert(n <= f.reserved, "free set: unreserving more than is reserved");
  f.reserved -= n;
}

/** The lowest free block, now in use; drawn from a reservation. */
export function freeSetAcquire(f: FreeSet): u64 {
  assert(f.reserved > 0 && f.free > 0, "free set: acquire without a reservation");
  let w = f.hint;
  while (w < f.words && load<u64>(f.used + <usize>w * 8) == ~(<u64>0)) w++;
  assert(w < f.words, "free set: no free block although one is counted");
  f.hint = w;
  const word = load<u64>(f.used + <usize>w * 8);
  const address = (<u64>w << 6) + ctz<u64>(~word);
  assert(address < f.blocks && address >= FREE_SET_SUPERBLOCKS, "free set: acquired a block outside the grid");
  bitPut(f.used, address, true);
  f.free--;
  f.reserved--;
  return address;
}

/** Stages `address` for release: free once the next checkpoint is durable. */
export function freeSetRelease(f: FreeSet, address: u64): void {
  assert(address >= FREE_SET_SUPERBLOCKS && address < f.blocks, "free set: released a block outside the grid");
  assert(bitGet(f.used, address) && !bitGet(f.staged, address) && !bitGet(f.pending, address), "free set: released a block not in use");
  bitPut(f.staged, address, true);
}

/**
 * Blocks a merge has left behind that readers may still read (a compaction's
 * inputs stay visible until it finishes: compact.ts): held, not staged, so no
 * checkpoint in the middle of the merge frees them. freeSetReleaseHeld stages
 * them all once the merge is complete. One per tree (its compaction).
 */
// @ts-ignore: decorator
@unmanaged
export class FreeHold {
  bits: usize = 0;
  /** Words [lo, hi) may have bits set. */
  lo: u32 = 0;
  hi: u32 = 0;
  count: u64 = 0;
}

export function freeHoldCreate(f: FreeSet): FreeHold {
  assert(f.words > 0, "free set: not created");
  const h = new FreeHold();
  h.bits = heap.alloc(<usize>f.words * 8);
  memory.fill(h.bits, 0, <usize>f.words * 8);
  h.lo = f.words;
  return h;
}

/** Forgets every held block (the tree is reset: the merge that held them is gone with it). */
export function freeHoldClear(f: FreeSet, h: FreeHold): void {
  assert(h.bits != 0, "free set: a hold not created");
  memory.fill(h.bits, 0, <usize>f.words * 8);
  h.lo = f.words;
  h.hi = 0;
  h.count = 0;
}

export function freeSetHold(f: FreeSet, h: FreeHold, address: u64): void {
  assert(address >= FREE_SET_SUPERBLOCKS && address < f.blocks, "free set: held a block outside the grid");
  assert(bitGet(f.used, address) && !bitGet(f.staged, address) && !bitGet(f.pending, address) && !bitGet(h.bits, address),
    "free set: held a block not in use");
  bitPut(h.bits, address, true);
  const w = <u32>(address >> 6);
  if (w < h.lo) h.lo = w;
  if (w + 1 > h.hi) h.hi = w + 1;
  h.count++;
}

/** Stages every held block for release (the merge that held them is complete). */
export function freeSetReleaseHeld(f: FreeSet, h: FreeHold): void {
  let n: u64 = 0;
  for (let w = h.lo; w < h.hi; w++) {
    const bits = load<u64>(h.bits + <usize>w * 8);
    if (bits == 0) continue;
    assert((bits & (load<u64>(f.staged + <usize>w * 8) | load<u64>(f.pending + <usize>w * 8))) == 0
      && (bits & ~load<u64>(f.used + <usize>w * 8)) == 0, "free set: a held block was released already");
    store<u64>(f.staged + <usize>w * 8, load<u64>(f.staged + <usize>w * 8) | bits);
    store<u64>(h.bits + <usize>w * 8, 0);
    n += popcnt<u64>(bits);
  }
  assert(n == h.count, "free set: the held count disagrees with the held bits");
  h.lo = f.words;
  h.hi = 0;
  h.count = 0;
}

/** Whether `address` is in use (staged and pending releases are). */
export function freeSetInUse(f: FreeSet, address: u64): bool {
  assert(address < f.blocks, "free set: a block outside the grid");
  return bitGet(f.used, address);
}

/** The state of a checkpoint is fixed: the releases staged so far are the ones it drops. */
export function freeSetCheckpoint(f: FreeSet): void {
  assert(f.pendingCount == 0, "free set: a checkpoint begins before the previous one is durable");
  let n: u64 = 0;
  for (let w: u32 = 0; w < f.words; w++) {
    const s = load<u64>(f.staged + <usize>w * 8);
    store<u64>(f.pending + <usize>w * 8, s);
    store<u64>(f.staged + <usize>w * 8, 0);
    n += popcnt<u64>(s);
  }
  f.pendingCount = n;
}

/** The checkpoint is durable: the blocks it dropped are free. */
export function freeSetCheckpointDurable(f: FreeSet): void {
  for (let w: u32 = 0; w < f.words; w++) {
    const p = load<u64>(f.pending + <usize>w * 8);
    if (p == 0) continue;
    store<u64>(f.used + <usize>w * 8, load<u64>(f.used + <usize>w * 8) & ~p);
    store<u64>(f.pending + <usize>w * 8, 0);
    if (w < f.hint) f.hint = w;
  }
  f.free += f.pendingCount;
  f.pendingCount = 0;
  assert(f.free < f.blocks, "free set: more free blocks than the grid holds");
}

/** Blocks the persisted form takes. */
export function freeSetEncodedBlocks(f: FreeSet): u32 {
  assert(f.words > 0, "free set: not created");
  return (f.words + WORDS_PER_BLOCK - 1) / WORDS_PER_BLOCK;
}

/** Writes part `index` of the checkpoint's bitmap into `body`; returns the bytes written. */
export function freeSetEncode(f: FreeSet, index: u32, body: usize): u32 {
  assert(index < freeSetEncodedBlocks(f), "free set: no such part");
  const first = index * WORDS_PER_BLOCK;
  const count = min(WORDS_PER_BLOCK, f.words - first);
  for (let i: u32 = 0; i < count; i++) {
    const at = <usize>(first + i) * 8;
    store<u64>(body + <usize>i * 8, load<u64>(f.used + at) & ~load<u64>(f.pending + at));
  }
  return count * 8;
}

/** Loads part `index` of a persisted bitmap; call freeSetOpened once every part is in. */
export function freeSetDecode(f: FreeSet, index: u32, body: usize): void {
  assert(index < freeSetEncodedBlocks(f), "free set: no such part");
  const first = index * WORDS_PER_BLOCK;
  const count = min(WORDS_PER_BLOCK, f.words - first);
  memory.copy(f.used + <usize>first * 8, body, <usize>count * 8);
}

/** After the last freeSetDecode: counts what is free; nothing is staged or reserved. */
export function freeSetOpened(f: FreeSet): void {
  memory.fill(f.staged, 0, <usize>f.words * 8);
  memory.fill(f.pending, 0, <usize>f.words * 8);
  let used: u64 = 0;
  for (let w: u32 = 0; w < f.words; w++) used += popcnt<u64>(load<u64>(f.used + <usize>w * 8));
  const phantom = <u64>f.words * 64 - f.blocks;
  assert(used >= phantom + FREE_SET_SUPERBLOCKS && bitGet(f.used, 0), "free set: a persisted bitmap without the superblock's blocks");
  f.free = <u64>f.words * 64 - used;
  f.reserved = 0;
  f.pendingCount = 0;
  f.hint = 0;
}
