// kernel/base/mem.ts: the memory manager. Everything is reserved at boot, named,
// and then the allocator is sealed.
//
// Reservations come from the AssemblyScript stub runtime's bump allocator
// (heap.alloc), the same one that boot-time strings use, so the two never
// overlap. After seal() no reservation is allowed; kernel_check_sealed()
// probes the bump pointer to prove nothing allocated after boot.
//
// A Pool is a fixed set of equal slots with an intrusive free list. Taking
// from an empty pool returns POOL_EMPTY and the caller turns that into a typed
// error that names the pool.

import { KERNEL_MEMORY_BYTES_MAX, RESERVATION_BYTES_MAX } from "./constants";

export const POOL_EMPTY: u32 = 0xffffffff;

let reservedBytes: u64 = 0;
let sealed: bool = false;
let sealProbe: usize = 0;
let sealStride: usize = 0;
// Name of the reservation that did not fit, for the boot error line.
export let failedReservation: string = "";

// Returns a zeroed, 16-byte aligned region, or 0 when it would pass the
// kernel memory limit or the largest single block the runtime's allocator
// can give (the caller reports KERR_POOL naming `name`). Zeroed without a
// write: reservations happen once, at boot, from the stub runtime's bump
// allocator, which never reuses memory, in pages WebAssembly gives zeroed
// (boot did fill them: ~25 MB of writes in the bank image, for nothing).
export function reserve(bytes: u64, name: string): usize {
  assert(!sealed, "reserve after seal");
  const padded: u64 = (bytes + 15) & ~(<u64>15);
  if (padded > RESERVATION_BYTES_MAX || reservedBytes + padded > KERNEL_MEMORY_BYTES_MAX) {
    failedReservation = name;
    return 0;
  }
  const ptr = heap.alloc(<usize>padded + 16);
  assert(ptr != 0, "reserve: the allocator gave no memory");
  const aligned: usize = (ptr + 15) & ~(<usize>15);
  assert((aligned & 15) == 0 && aligned + <usize>padded <= ptr + <usize>padded + 16, "reserve: an aligned region inside the block");
  assert(padded == 0 || (load<u64>(aligned) == 0 && load<u64>(aligned + <usize>padded - 8) == 0), "a reservation comes from memory never used");
  reservedBytes += padded;
  assert(reservedBytes <= KERNEL_MEMORY_BYTES_MAX, "reserve: reservations within the kernel memory limit");
  return aligned;
}

export function reservedTotal(): u64 {
  assert((reservedBytes & 15) == 0 && reservedBytes <= KERNEL_MEMORY_BYTES_MAX, "reserved total: 16-byte units within the limit");
  return reservedBytes;
}

export function seal(): void {
  assert(!sealed, "seal: the allocator is sealed once");
  sealed = true;
  // Two probes measure the bump allocator's stride for a 16-byte block.
  const first = heap.alloc(16);
  sealProbe = heap.alloc(16);
  sealStride = sealProbe - first;
  assert(sealProbe > first && sealStride >= 16, "seal: the bump allocator moves forward by at least a block");
}

export function isSealed(): bool {
  assert(!sealed || sealStride >= 16, "isSealed: a sealed allocator has measured its stride");
  return sealed;
}

// True when nothing was allocated since seal(): the next bump allocation
// lands right after the probe. Costs 16 bytes per call; tests only.
export function checkSealed(): bool {
  if (!sealed) return false;
  const next = heap.alloc(16);
  assert(next > sealProbe, "checkSealed: the bump allocator moves forward");
  const ok = next - sealProbe == sealStride;
  sealProbe = next;
  return ok;
}

// Pool layout: `count` slots of `slotBytes`; word 0 of a free slot links to
// the next free slot index. One byte per slot in `states` says whether it is
// taken, so giving a slot twice (which would link it to itself and hand it
// out twice) is caught at the second give, whatever else is in use.
@unmanaged
export class Pool {
  base: usize = 0;
  states: usize = 0;
  slotBytes: u32 = 0;
  count: u32 = 0;
  freeHead: u32 = POOL_EMPTY;
  inUse: u32 = 0;
  highWater: u32 = 0;
  exhausted: u32 = 0; // how many times take() found it empty
  name: string = "";

  @inline slot(index: u32): usize {
    assert(index < this.count, "pool slot: bad index");
    return this.base + <usize>index * <usize>this.slotBytes;
  }

  take(): u32 {
    const index = this.freeHead;
    if (index == POOL_EMPTY) {
      assert(this.inUse == this.count, "pool take: free list empty while slots are free");
      this.exhausted++;
      return POOL_EMPTY;
    }
    this.freeHead = load<u32>(this.slot(index));
    assert(load<u8>(this.states + <usize>index) == 0, "pool take: free list holds a slot in use");
    store<u8>(this.states + <usize>index, 1);
    this.inUse++;
    assert(this.inUse <= this.count, "pool take: more in use than slots");
    if (this.inUse > this.highWater) this.highWater = this.inUse;
    return index;
  }

  give(index: u32): void {
    assert(index < this.count, "pool give: bad index");
    assert(load<u8>(this.states + <usize>index) == 1, "pool give: slot is not in use");
    assert(this.inUse > 0, "pool give: nothing is in use");
    store<u8>(this.states + <usize>index, 0);
    store<u32>(this.slot(index), this.freeHead);
    this.freeHead = index;
    this.inUse--;
  }
}

// Builds a pool at boot; returns false (and records the name) when it doesn't fit.
export function poolInit(pool: Pool, name: string, slotBytes: u32, count: u32): bool {
  assert(slotBytes >= 4, "pool slot too small");
  pool.name = name;
  pool.slotBytes = (slotBytes + 7) & ~7;
  pool.count = count;
  pool.base = reserve(<u64>pool.slotBytes * <u64>count, name);
  pool.states = reserve(<u64>count, name);
  if (pool.base == 0 || pool.states == 0) return false;
  for (let i: u32 = 0; i < count; i++) {
    store<u32>(pool.slot(i), i + 1 < count ? i + 1 : POOL_EMPTY);
  }
  pool.freeHead = count > 0 ? 0 : POOL_EMPTY;
  assert(pool.inUse == 0 && (pool.slotBytes & 7) == 0 && pool.slotBytes >= slotBytes, "poolInit: a new pool of 8-byte aligned slots, none in use");
  return true;
}
