// An open-addressing index from a 64-bit fingerprint of a key to a record
// number, for the directory, the messages and the payments' identifiers.
// The index holds fingerprints only: a caller walks the records whose
// fingerprint matches (hashFirst / hashNext) and compares the keys itself,
// so two keys that share a fingerprint are both found. Sized at boot to at
// least twice the records it may hold, so a probe run always ends at an
// empty slot. Tables come from the heap at init, never freed, so they are the
// memory WebAssembly gives zeroed (boot touches none of it). Nothing is ever removed (payments and directory entries are
// kept; a directory update changes the entry, not its key).

// @ts-ignore: decorator
@unmanaged
export class HashIndex {
  /** Slots of 16 bytes: u64 fingerprint, u32 record + 1 (0: empty), u32 0. */
  slots: usize = 0;
  mask: u32 = 0;
  count: u32 = 0;
  capacity: u32 = 0;
}

export function hashIndexCreate(capacity: u32): HashIndex {
  assert(capacity > 0 && capacity <= 0x10000000, "hash index: capacity out of range");
  let n: u32 = 16;
  while (n < capacity * 2) n <<= 1;
  const ix = changetype<HashIndex>(heap.alloc(offsetof<HashIndex>()));
  ix.slots = heap.alloc(<usize>n << 4);
  ix.mask = n - 1;
  ix.count = 0;
  ix.capacity = capacity;
  return ix;
}

/** FNV-1a, 64-bit, over `len` bytes: a fingerprint (not a defence: keys are compared in full). */
export function fingerprint(ptr: usize, len: u32): u64 {
  assert(len > 0, "fingerprint: a key of some bytes");
  let h: u64 = 0xcbf29ce484222325;
  for (let i: u32 = 0; i < len; i++) {
    h ^= <u64>load<u8>(ptr + i);
    h *= 0x100000001b3;
  }
  return h;
}

// @ts-ignore: decorator
@inline function slotAt(ix: HashIndex, i: u32): usize { return ix.slots + (<usize>i << 4); }

/** The slot after `from` (or the first, from -1) holding fingerprint `fp`, or -1 at the end of the probe run. */
export function hashNext(ix: HashIndex, fp: u64, from: i32): i32 {
  let i = from < 0 ? <u32>fp & ix.mask : (<u32>from + 1) & ix.mask;
  for (let probes: u32 = 0; probes <= ix.mask; probes++) {
    const s = slotAt(ix, i);
    if (load<u32>(s + 8) == 0) return -1;
    if (load<u64>(s) == fp) return <i32>i;
    i = (i + 1) & ix.mask;
  }
  assert(false, "hash index: no empty slot");
  return -1;
}

/** The record number in slot `slot` (from hashNext). */
export function hashRecord(ix: HashIndex, slot: i32): u32 {
  assert(slot >= 0 && <u32>slot <= ix.mask, "hash index: a slot");
  const v = load<u32>(slotAt(ix, <u32>slot) + 8);
  assert(v != 0, "hash index: a used slot");
  return v - 1;
}

/** Adds record `record` under fingerprint `fp`; false when the index holds its capacity. */
export function hashInsert(ix: HashIndex, fp: u64, record: u32): bool {
  if (ix.count == ix.capacity) return false;
  let i = <u32>fp & ix.mask;
  while (load<u32>(slotAt(ix, i) + 8) != 0) i = (i + 1) & ix.mask;
  store<u64>(slotAt(ix, i), fp);
  store<u32>(slotAt(ix, i) + 8, record + 1);
  ix.count++;
  assert(ix.count <= ix.capacity, "hash index: within its capacity");
  return true;
}
