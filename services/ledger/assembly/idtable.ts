// Open-addressing hash table from a u128 id to a u32 value, linear probing.
//
// Entry (32 bytes): 0 id_lo u64 | 8 id_hi u64 | 16 value u32 | 20 reserved.
// Value 0 marks an empty entry, so callers store slot + 1 (or a marker such
// as ID_ORPHAN). Capacity is a power of two holding the most ids the table
// may hold at a load of at most 3/4: probes stay short, and the table stays
// small enough to keep its cache and TLB misses down. Deletion (used only to roll back
// linked chains) shifts later entries back, keeping probes tombstone-free.

const ENTRY_BYTES: usize = 32;

/** Marks a transfer id that failed with a transient result. */
export const ID_ORPHAN: u32 = 0xFFFFFFFF;

// @ts-ignore: decorator
@unmanaged
export class IdTable {
  entries: usize = 0;
  mask: u32 = 0;
  count: u32 = 0;
  limit: u32 = 0;
  /** Entry index where the last idFind stopped (its empty slot on a miss). */
  probe: u32 = 0;
}

export function idTableCreate(idsMax: u32): IdTable {
  let capacity: u32 = 16;
  while (<u64>capacity * 3 < <u64>idsMax * 4) capacity <<= 1;
  const table = changetype<IdTable>(heap.alloc(offsetof<IdTable>()));
  table.entries = heap.alloc(<usize>capacity * ENTRY_BYTES);
  memory.fill(table.entries, 0, <usize>capacity * ENTRY_BYTES);
  table.mask = capacity - 1;
  table.count = 0;
  table.limit = idsMax;
  table.probe = 0;
  return table;
}

// @ts-ignore: decorator
@inline function idHash(lo: u64, hi: u64): u32 {
  let x = lo ^ (hi * 0x9E3779B97F4A7C15);
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93;
  x ^= x >> 32;
  return <u32>x;
}

// @ts-ignore: decorator
@inline function entryAt(table: IdTable, index: u32): usize {
  return table.entries + (<usize>index << 5);
}

/** Returns the value stored for the id, or 0; leaves table.probe at its entry. */
// @ts-ignore: decorator
@inline export function idFind(table: IdTable, lo: u64, hi: u64): u32 {
  let index = idHash(lo, hi) & table.mask;
  while (true) {
    const entry = entryAt(table, index);
    const value = load<u32>(entry, 16);
    if (value == 0 || (load<u64>(entry) == lo && load<u64>(entry, 8) == hi)) {
      table.probe = index;
      return value;
    }
    index = (index + 1) & table.mask;
  }
  return 0;
}

/** Inserts at the entry where the preceding idFind of the same id missed. */
// @ts-ignore: decorator
@inline export function idInsertAtProbe(table: IdTable, lo: u64, hi: u64, value: u32): void {
  assert(value != 0);
  assert(table.count < table.limit);
  const entry = entryAt(table, table.probe);
  assert(load<u32>(entry, 16) == 0);
  store<u64>(entry, lo);
  store<u64>(entry, hi, 8);
  store<u32>(entry, value, 16);
  table.count++;
}

export function idInsert(table: IdTable, lo: u64, hi: u64, value: u32): void {
  const found = idFind(table, lo, hi);
  assert(found == 0);
  idInsertAtProbe(table, lo, hi, value);
}

/** Removes an id that is present (rollback of a linked chain). */
export function idRemove(table: IdTable, lo: u64, hi: u64): void {
  const found = idFind(table, lo, hi);
  assert(found != 0);
  let hole = table.probe;
  let index = (hole + 1) & table.mask;
  while (true) {
    const entry = entryAt(table, index);
    if (load<u32>(entry, 16) == 0) break;
    const home = idHash(load<u64>(entry), load<u64>(entry, 8)) & table.mask;
    // Move the entry back into the hole unless its home lies cyclically in (hole, index].
    const distanceHome = (index - home) & table.mask;
    const distanceHole = (index - hole) & table.mask;
    if (distanceHome >= distanceHole) {
      memory.copy(entryAt(table, hole), entry, ENTRY_BYTES);
      hole = index;
    }
    index = (index + 1) & table.mask;
  }
  memory.fill(entryAt(table, hole), 0, ENTRY_BYTES);
  table.count--;
}

/**
 * Reads the home entry of an id without probing, and returns its value.
 * A pass of these over a batch before executing it lets the CPU fetch the
 * (cache-missing) entries in parallel instead of one miss per event.
 */
// @ts-ignore: decorator
@inline export function idTouch(table: IdTable, lo: u64, hi: u64): u32 {
  return load<u32>(entryAt(table, idHash(lo, hi) & table.mask), 16);
}
