// lib/store/cache.ts: the block cache of a storage engine (docs/storage.md).
//
// `slots` blocks of GRID_BLOCK_BYTES, sized by the caller and allocated once.
// A slot is named by its block's address AND the checksum its referrer
// expects: addresses are reused once the free set frees them, so an old
// block at a reused address must never answer for the new one.
//
// Reads take two steps (the prefetch protocol). While preparing a batch the
// engine asks cacheGet for each block it needs; on a miss it calls cacheWant,
// which reserves a slot and adds the block to the miss list, deduplicated.
// The caller hands the list to the kernel (cacheMisses*), and each block that
// comes back goes through cacheFill, which checks it against the checksum
// the referrer expects and its address (block.ts) before anything can see
// it. Every block touched while preparing a batch is pinned with the current
// prefetch epoch, so filling the next miss cannot evict it before the batch
// executes; cacheEpochEnd() unpins them all at once.
//
// Eviction is CLOCK (a referenced bit, a hand): nearly LRU at the cost of a
// bit per slot. Everything here depends only on the sequence of calls: no
// time, no randomness, so replay with the same cache size evicts the same
// blocks, and a different size changes which reads reach the disk, never an
// answer.

import { blockErrorMessage, blockVerify, BLOCK_BYTES, BLOCK_OK } from "./block";
import { CHECKSUM_BYTES, checksumEqual } from "./checksum";
import { STORAGE_E_RANGE } from "../../hal/devices/grid";

const SLOT_EMPTY: u8 = 0;
const SLOT_WANTED: u8 = 1; // reserved for a block asked of the kernel
const SLOT_READY: u8 = 2;
const HASH_MULTIPLIER: u64 = 0x9E3779B97F4A7C15; // 2^64 / golden ratio: spreads consecutive addresses

// @ts-ignore: decorator
@unmanaged
export class Cache {
  slots: u32 = 0;
  /** slots × BLOCK_BYTES of blocks. */
  blocks: usize = 0;
  /** Per slot: u64 address, [16] checksum, u32 pin epoch, u8 state, u8 referenced, u8 tree, u8 level (32 bytes). */
  meta: usize = 0;
  /** Open addressing, linear probing: u32 slot + 1 (0: empty). */
  map: usize = 0;
  mapBits: u32 = 0;
  hand: u32 = 0;
  epoch: u32 = 1;
  /** Slots wanted since the caller last took the list, in the order wanted. */
  misses: usize = 0;
  missCount: u32 = 0;
  /** The last failed fill. */
  errorStatus: i32 = 0;
  errorAddress: u64 = 0;
  errorTree: u8 = 0;
  errorLevel: u8 = 0;
  /** Reads that went to the kernel and hits, for the tests and the benchmark. */
  fills: u64 = 0;
  hits: u64 = 0;
  /** Fills that failed since the last one that did not: a read that fails again and again is not a glitch. */
  failuresInARow: u32 = 0;
}

const META_BYTES: usize = 32;
// @ts-ignore: decorator
@inline function meta(c: Cache, slot: u32): usize { return c.meta + <usize>slot * META_BYTES; }
// @ts-ignore: decorator
@inline function slotAddress(c: Cache, slot: u32): u64 { return load<u64>(meta(c, slot)); }
// @ts-ignore: decorator
@inline function slotChecksum(c: Cache, slot: u32): usize { return meta(c, slot) + 8; }
// @ts-ignore: decorator
@inline function slotPin(c: Cache, slot: u32): u32 { return load<u32>(meta(c, slot) + 24); }
// @ts-ignore: decorator
@inline function slotState(c: Cache, slot: u32): u8 { return load<u8>(meta(c, slot) + 28); }
// @ts-ignore: decorator
@inline function slotBlock(c: Cache, slot: u32): usize { return c.blocks + <usize>slot * BLOCK_BYTES; }
// @ts-ignore: decorator
@inline function mapEntry(c: Cache, i: u32): usize { return c.map + (<usize>i << 2); }
// @ts-ignore: decorator
@inline function home(c: Cache, address: u64): u32 { return <u32>((address * HASH_MULTIPLIER) >> (64 - <u64>c.mapBits)); }

/** A cache of `slots` blocks, all empty. Allocates everything now, in one region (cacheCreateIn). */
export function cacheCreate(slots: u32): Cache {
  assert(slots >= 2 && slots <= 0x10000, "cache: slot count out of range");
  return cacheCreateIn(slots, heap.alloc(cacheBytes(slots)));
}

// The region's layout: the Cache itself, then meta, the address map, the
// miss list, and the blocks, each 16-aligned.
// @ts-ignore: decorator
@inline function align16(n: usize): usize { return (n + 15) & ~<usize>15; }
function mapBitsFor(slots: u32): u32 {
  let bits: u32 = 1;
  while ((<u32>1 << bits) < slots * 2) bits++;
  assert(bits < 32, "cache: map too large");
  return bits;
}

/**
 * The bytes a cache of `slots` takes, everything included: a service that
 * places its cache in one region can name it to the host as not being state
 * (qx_cache_area/qx_cache_bytes, services/sdk/ABI.md), since which blocks
 * are cached never changes an answer.
 */
export function cacheBytes(slots: u32): usize {
  assert(slots >= 2 && slots <= 0x10000, "cache: slot count out of range");
  return align16(offsetof<Cache>()) + align16(<usize>slots * META_BYTES) + align16(<usize>4 << mapBitsFor(slots))
    + align16(<usize>slots * 4) + <usize>slots * BLOCK_BYTES;
}

/** The slot count whose cacheBytes is exactly `bytes` (a region laid out by cacheCreateIn); traps when there is none. */
export function cacheSlotsFitting(bytes: usize): u32 {
  let lo: u32 = 2;
  let hi: u32 = 0x10000;
  while (lo < hi) { // cacheBytes grows with the slot count
    const mid = lo + ((hi - lo) >> 1);
    if (cacheBytes(mid) < bytes) lo = mid + 1; else hi = mid;
  }
  assert(cacheBytes(lo) == bytes, "cache: no slot count lays out a region of this size");
  return lo;
}

/** A cache of `slots` blocks, all empty, laid out in the cacheBytes(slots) at `area` (16-aligned) and nowhere else. */
export function cacheCreateIn(slots: u32, area: usize): Cache {
  assert(area != 0 && (area & 15) == 0 && slots >= 2 && slots <= 0x10000, "cache: a region 16-aligned, slot count in range");
  memory.fill(area, 0, offsetof<Cache>());
  const c = changetype<Cache>(area);
  c.slots = slots;
  c.mapBits = mapBitsFor(slots);
  let at = area + align16(offsetof<Cache>());
  c.meta = at;
  at += align16(<usize>slots * META_BYTES);
  c.map = at;
  at += align16(<usize>4 << c.mapBits);
  c.misses = at;
  at += align16(<usize>slots * 4);
  c.blocks = at;
  assert(at + <usize>slots * BLOCK_BYTES == area + cacheBytes(slots), "cache: the layout is cacheBytes");
  cacheReset(c);
  return c;
}

/** Forgets every block (e.g. before opening from a checkpoint). */
export function cacheReset(c: Cache): void {
  assert(c.slots > 0, "cache: not created");
  memory.fill(c.meta, 0, <usize>c.slots * META_BYTES);
  memory.fill(c.map, 0, <usize>4 << c.mapBits);
  c.hand = 0;
  c.epoch = 1;
  c.missCount = 0;
  c.errorStatus = 0;
}

/** The map entry holding `address`, or the empty entry where it would go. */
function mapFind(c: Cache, address: u64): u32 {
  const mask = (<u32>1 << c.mapBits) - 1;
  let i = home(c, address);
  for (let probes: u32 = 0; probes <= mask; probes++) {
    const v = load<u32>(mapEntry(c, i));
    if (v == 0 || slotAddress(c, v - 1) == address) return i;
    i = (i + 1) & mask;
  }
  assert(false, "cache: the address map is full");
  return 0;
}

/** Removes map entry `i`, shifting later entries of the probe run back (no tombstones). */
function mapRemove(c: Cache, i: u32): void {
  const mask = (<u32>1 << c.mapBits) - 1;
  assert(load<u32>(mapEntry(c, i)) != 0, "cache: removing an empty map entry");
  let hole = i;
  let j = (i + 1) & mask;
  while (true) {
    const v = load<u32>(mapEntry(c, j));
    if (v == 0) break;
    const h = home(c, slotAddress(c, v - 1));
    // The entry at j may move to the hole if its home is not in (hole, j].
    if (((j - h) & mask) >= ((j - hole) & mask)) {
      store<u32>(mapEntry(c, hole), v);
      hole = j;
    }
    j = (j + 1) & mask;
  }
  store<u32>(mapEntry(c, hole), 0);
}

/**
 * The cached block at `address` whose checksum is `checksum`, pinned for this
 * prefetch epoch; 0 when it is not cached (or only an older block of that
 * address is).
 */
export function cacheGet(c: Cache, address: u64, checksum: usize): usize {
  const slot = lookup(c, address, checksum);
  if (slot < 0) return 0;
  store<u32>(meta(c, <u32>slot) + 24, c.epoch);
  return slotBlock(c, <u32>slot);
}

/**
 * Like cacheGet, without pinning: for a block copied out at once (a filter
 * loaded into memory, a compaction's input), which need not stay cached.
 */
export function cachePeek(c: Cache, address: u64, checksum: usize): usize {
  const slot = lookup(c, address, checksum);
  return slot < 0 ? 0 : slotBlock(c, <u32>slot);
}

function lookup(c: Cache, address: u64, checksum: usize): i32 {
  assert(checksum != 0, "cache: get without a checksum");
  const v = load<u32>(mapEntry(c, mapFind(c, address)));
  if (v == 0) return -1;
  const slot = v - 1;
  if (slotState(c, slot) != SLOT_READY || !checksumEqual(slotChecksum(c, slot), checksum)) return -1;
  store<u8>(meta(c, slot) + 29, 1);
  c.hits++;
  return <i32>slot;
}

/** A slot to reuse: empty, or ready and not pinned, CLOCK order; -1 when every slot is pinned or wanted. */
function victim(c: Cache): i32 {
  for (let step: u32 = 0; step < c.slots * 2; step++) {
    const slot = c.hand;
    c.hand = c.hand + 1 == c.slots ? 0 : c.hand + 1;
    const state = slotState(c, slot);
    if (state == SLOT_EMPTY) return <i32>slot;
    if (state != SLOT_READY || slotPin(c, slot) == c.epoch) continue;
    if (load<u8>(meta(c, slot) + 29) != 0) { store<u8>(meta(c, slot) + 29, 0); continue; }
    return <i32>slot;
  }
  assert(c.hand < c.slots, "cache: the clock hand left the slots");
  return -1;
}

// Slots a put looks at, from the hand, for one to take; and the least cache that takes puts (64 MiB).
const PUT_SCAN_SLOTS: u32 = 16;
export const CACHE_PUT_SLOTS_MIN: u32 = 1024;

/** A slot for cachePut: empty, or ready, unpinned and not referenced since the hand passed; -1 when none of the next few is. */
function putVictim(c: Cache): i32 {
  for (let step: u32 = 0; step < min(PUT_SCAN_SLOTS, c.slots); step++) {
    const slot = c.hand;
    c.hand = c.hand + 1 == c.slots ? 0 : c.hand + 1;
    const state = slotState(c, slot);
    if (state == SLOT_EMPTY) return <i32>slot;
    if (state == SLOT_READY && slotPin(c, slot) != c.epoch && load<u8>(meta(c, slot) + 29) == 0) return <i32>slot;
  }
  assert(c.hand < c.slots, "cache: the clock hand left the slots");
  return -1;
}

/**
 * Asks for the block at `address` whose referrer expects `checksum` (a block
 * of tree `tree`, level `level`, for the error that names it). Returns false
 * when every slot is pinned or wanted: the batch needs more blocks than the
 * cache holds. A block already cached or already wanted is not asked twice.
 * `pin` false: the block is copied out as soon as it is delivered (cachePeek),
 * so once delivered it need not outlive the epoch.
 */
export function cacheWant(c: Cache, address: u64, checksum: usize, tree: u8, level: u8, pin: bool = true): bool {
  assert(checksum != 0, "cache: want without a checksum");
  const e = mapFind(c, address);
  const v = load<u32>(mapEntry(c, e));
  if (v != 0) {
    const slot = v - 1;
    if (checksumEqual(slotChecksum(c, slot), checksum)) {
      if (pin) store<u32>(meta(c, slot) + 24, c.epoch); // needed by this epoch's batch too
      return true;
    }
    // An older block of a reused address: it cannot be pinned, since reuse needs a checkpoint in between.
    assert(slotState(c, slot) == SLOT_READY && slotPin(c, slot) != c.epoch, "cache: two blocks wanted at one address in one epoch");
    mapRemove(c, e);
    store<u8>(meta(c, slot) + 28, SLOT_EMPTY);
  }
  const found = victim(c);
  if (found < 0) return false;
  const slot = <u32>found;
  if (slotState(c, slot) != SLOT_EMPTY) mapRemove(c, mapFind(c, slotAddress(c, slot)));
  const m = meta(c, slot);
  store<u64>(m, address);
  memory.copy(m + 8, checksum, CHECKSUM_BYTES);
  // Epochs start at 1: pin 0 never protects a delivered block.
  store<u32>(m + 24, pin ? c.epoch : 0);
  store<u8>(m + 28, SLOT_WANTED);
  store<u8>(m + 29, 1);
  store<u8>(m + 30, tree);
  store<u8>(m + 31, level);
  store<u32>(mapEntry(c, mapFind(c, address)), slot + 1);
  assert(c.missCount < c.slots, "cache: more misses than slots");
  store<u32>(c.misses + (<usize>c.missCount << 2), slot);
  c.missCount++;
  return true;
}

/** Blocks wanted since the list was last taken. */
export function cacheMissCount(c: Cache): u32 {
  assert(c.missCount <= c.slots, "cache: more misses than slots");
  return c.missCount;
}
/** The address of miss `i`, in the order wanted. */
export function cacheMissAddress(c: Cache, i: u32): u64 {
  assert(i < c.missCount, "cache: no such miss");
  return slotAddress(c, load<u32>(c.misses + (<usize>i << 2)));
}
/** The caller has asked the kernel for every listed block. */
export function cacheMissesTaken(c: Cache): void {
  cacheMissesTake(c, c.missCount);
}
/**
 * The caller has asked the kernel for the `n` first listed blocks (one
 * message asks for at most STORAGE_READS_PER_MESSAGE): the rest stay listed,
 * in order, for the next round.
 */
export function cacheMissesTake(c: Cache, n: u32): void {
  assert(n <= c.missCount && c.missCount <= c.slots, "cache: taking more misses than are listed");
  const rest = c.missCount - n;
  if (rest > 0 && n > 0) memory.copy(c.misses, c.misses + (<usize>n << 2), <usize>rest << 2);
  c.missCount = rest;
}

/**
 * Installs the block at `block` read from `address`, if it is the one its
 * referrer expects: BLOCK_OK, or the BLOCK_E_* error (recorded for
 * cacheErrorMessage; the slot is freed and nothing sees the block).
 */
export function cacheFill(c: Cache, address: u64, block: usize): i32 {
  const e = mapFind(c, address);
  const v = load<u32>(mapEntry(c, e));
  assert(v != 0 && slotState(c, v - 1) == SLOT_WANTED, "cache: a block delivered that was not wanted");
  const slot = v - 1;
  const status = blockVerify(block, address, slotChecksum(c, slot));
  if (status != BLOCK_OK) return fillFailed(c, e, slot, address, status);
  memory.copy(slotBlock(c, slot), block, BLOCK_BYTES);
  store<u8>(meta(c, slot) + 28, SLOT_READY);
  c.fills++;
  c.failuresInARow = 0;
  return BLOCK_OK;
}

/**
 * The device could not deliver the wanted block at `address` (`status`, a
 * negative STORAGE_E_* of hal/devices/grid.ts): recorded for
 * cacheErrorMessage, and the slot freed, so a later want asks again rather
 * than waiting for a block that is not coming. Returns `status`.
 */
export function cacheFillFailed(c: Cache, address: u64, status: i32): i32 {
  assert(status < 0, "cache: a device failure is a negative STORAGE_E_*");
  const e = mapFind(c, address);
  const v = load<u32>(mapEntry(c, e));
  assert(v != 0 && slotState(c, v - 1) == SLOT_WANTED, "cache: a failed read of a block that was not wanted");
  return fillFailed(c, e, v - 1, address, status);
}

/** Records why the wanted block in `slot` (map entry `e`) never arrived, for cacheErrorMessage, and frees the slot. */
function fillFailed(c: Cache, e: u32, slot: u32, address: u64, status: i32): i32 {
  assert(status != BLOCK_OK && slotState(c, slot) == SLOT_WANTED, "cache: a failure of a wanted block");
  c.errorStatus = status;
  c.errorAddress = address;
  c.errorTree = load<u8>(meta(c, slot) + 30);
  c.errorLevel = load<u8>(meta(c, slot) + 31);
  c.failuresInARow++;
  mapRemove(c, e);
  store<u8>(meta(c, slot) + 28, SLOT_EMPTY);
  return status;
}

/**
 * Caches a block just written at `address` (sealed, `checksum` its own), as
 * if it had been read: a table written now and merged a few batches later
 * (a flush, a merge's output into the upper levels) is then found here, not
 * read back through the kernel. It takes only a slot that is empty or whose
 * block nobody used since the clock hand last passed (putVictim), so nothing
 * a batch pinned, asked for or was delivered and has yet to copy out is
 * displaced; with no such slot near the hand the block is simply not
 * cached, and a cache of fewer than CACHE_PUT_SLOTS_MIN slots caches none:
 * its few slots are the batches' (the tests' tiny caches keep their reads).
 * Which blocks are cached never changes an answer, only which reads are made.
 */
export function cachePut(c: Cache, address: u64, checksum: usize, block: usize, tree: u8, level: u8): void {
  assert(checksum != 0 && block != 0, "cache: put without a block");
  if (c.slots < CACHE_PUT_SLOTS_MIN) return;
  const e = mapFind(c, address);
  const v = load<u32>(mapEntry(c, e));
  if (v != 0) {
    const old = v - 1;
    // Wanted or pinned: an older block of the address still in use by this epoch; leave it.
    if (slotState(c, old) != SLOT_READY || slotPin(c, old) == c.epoch) return;
    mapRemove(c, e);
    store<u8>(meta(c, old) + 28, SLOT_EMPTY);
  }
  const found = putVictim(c);
  if (found < 0) return;
  const slot = <u32>found;
  if (slotState(c, slot) != SLOT_EMPTY) mapRemove(c, mapFind(c, slotAddress(c, slot)));
  const m = meta(c, slot);
  store<u64>(m, address);
  memory.copy(m + 8, checksum, CHECKSUM_BYTES);
  store<u32>(m + 24, 0);
  store<u8>(m + 28, SLOT_READY);
  store<u8>(m + 29, 1);
  store<u8>(m + 30, tree);
  store<u8>(m + 31, level);
  memory.copy(slotBlock(c, slot), block, BLOCK_BYTES);
  store<u32>(mapEntry(c, mapFind(c, address)), slot + 1);
  assert(slotState(c, slot) == SLOT_READY, "cache: a put left its slot not ready");
}

/** The batch prepared in this epoch has executed: its blocks may be evicted. */
export function cacheEpochEnd(c: Cache): void {
  assert(c.epoch < 0xFFFFFFFF, "cache: prefetch epochs exhausted");
  c.epoch++;
}

/** The error of the last failed fill, naming the block; `tree` is the name of c.errorTree. */
export function cacheErrorMessage(c: Cache, tree: string): string {
  assert(c.errorStatus != BLOCK_OK, "cache: no failed fill");
  if (c.errorStatus > 0) return blockErrorMessage(c.errorStatus, c.errorAddress, tree, c.errorLevel);
  const what = c.errorStatus == STORAGE_E_RANGE ? "storage_range: block " : "storage_io: block ";
  const why = c.errorStatus == STORAGE_E_RANGE ? ", past the grid's last address" : ", the device could not read it";
  return what + c.errorAddress.toString() + " of tree " + tree + ", level " + c.errorLevel.toString() + why;
}
