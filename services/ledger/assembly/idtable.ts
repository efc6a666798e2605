// Open-addressing hash table from a u128 id to a u32 value, linear probing.
//
// The ids live in the records the values point at, not in the table: value
// v (0 marks an empty entry) names slot v - 1 of a table of 128-byte records
// whose first 16 bytes are the id (accounts and transfers both start with
// it). An entry (8 bytes) is `value u32 | tag u32`, the tag being the high
// half of the id's 64-bit hash, whose low bits pick the home entry; a probe
// reads a record only when the tag matches, so a lookup of a new id reads
// nothing but the table, and a hit reads the record its caller reads anyway.
//
// Small entries matter more than anything else for the apply rate: the
// transfer table is the one structure every event touches at a random place.
// Eight entries share a cache line, so a probe sequence nearly always stays
// within the line the batch's resolve pass touched (transfers.ts), and the
// table is a quarter of the size it would be with the ids inside.
//
// Capacity is a power of two with a load of at most 1/2 when the table holds
// `limit` ids. Deletion (only to roll back linked chains) shifts later
// entries back, keeping probes tombstone-free.

import { allocTable } from "./alloc";

const ENTRY_SHIFT: usize = 3;
const ENTRY_BYTES: usize = 1 << ENTRY_SHIFT;
const RECORD_SHIFT: usize = 7;

/** Marks, in lookups of transfer ids, an id that failed with a transient result (see transfers.ts). */
export const ID_ORPHAN: u32 = 0xFFFFFFFF;

// @ts-ignore: decorator
@unmanaged
export class IdTable {
  entries: usize = 0;
  /** The 128-byte records the values index (value - 1), each starting with its u128 id. */
  records: usize = 0;
  mask: u32 = 0;
  count: u32 = 0;
  limit: u32 = 0;
  /** Entry index where the last idFind stopped (its empty slot on a miss). */
  probe: u32 = 0;
  /** The tag of the id the last idFind looked for. */
  probeTag: u32 = 0;
}

export function idTableCreate(idsMax: u32, records: usize, prefault: bool): IdTable {
  assert(idsMax > 0 && idsMax <= 0x40000000, "id table size out of range");
  let capacity: u32 = 16;
  while (<u64>capacity < <u64>idsMax * 2) capacity <<= 1;
  // A power of two (the mask picks the home entry) with a load of at most 1/2 when full.
  assert((capacity & (capacity - 1)) == 0 && <u64>capacity >= <u64>idsMax * 2, "id table capacity is not a power of two over twice its limit");
  const table = changetype<IdTable>(heap.alloc(offsetof<IdTable>()));
  table.entries = allocTable(<usize>capacity << ENTRY_SHIFT, prefault);
  table.records = records;
  table.mask = capacity - 1;
  table.count = 0;
  table.limit = idsMax;
  table.probe = 0;
  table.probeTag = 0;
  return table;
}

/** 64-bit hash of a u128 id: low bits pick the home entry, the high 32 bits are the tag. */
// @ts-ignore: decorator
@inline function idHash(lo: u64, hi: u64): u64 {
  let x = lo ^ (hi * 0x9E3779B97F4A7C15);
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93;
  x ^= x >> 32;
  x *= 0x94D049BB133111EB;
  x ^= x >> 29;
  return x;
}

// @ts-ignore: decorator
@inline function entryAt(table: IdTable, index: u32): usize {
  return table.entries + (<usize>index << ENTRY_SHIFT);
}

// @ts-ignore: decorator
@inline function recordOf(table: IdTable, value: u32): usize {
  // Value v names record v - 1; the records table holds `limit` of them.
  assert(value != 0 && value <= table.limit, "id table value names no record");
  return table.records + (<usize>(value - 1) << RECORD_SHIFT);
}

/**
 * The value stored for the id in a table given by its fields, or 0. For
 * loops over many ids: the fields stay in locals, and nothing is stored.
 */
// @ts-ignore: decorator
@inline export function idLookup(entries: usize, records: usize, mask: u32, lo: u64, hi: u64): u32 {
  const hash = idHash(lo, hi);
  const tag = <u32>(hash >> 32);
  let index = <u32>hash & mask;
  while (true) {
    const entry = load<u64>(entries + (<usize>index << ENTRY_SHIFT));
    const value = <u32>entry;
    if (value == 0) return 0;
    if (<u32>(entry >> 32) == tag) {
      const record = records + (<usize>(value - 1) << RECORD_SHIFT);
      if (load<u64>(record) == lo && load<u64>(record, 8) == hi) return value;
    }
    index = (index + 1) & mask;
  }
  return 0;
}

/** The value stored for the id, or 0; writes nothing (reads.ts). */
// @ts-ignore: decorator
@inline export function idGet(table: IdTable, lo: u64, hi: u64): u32 {
  return idLookup(table.entries, table.records, table.mask, lo, hi);
}

/** Returns the value stored for the id, or 0; leaves table.probe at its entry. */
// @ts-ignore: decorator
@inline export function idFind(table: IdTable, lo: u64, hi: u64): u32 {
  const hash = idHash(lo, hi);
  const tag = <u32>(hash >> 32);
  const mask = table.mask;
  // No assert here (one runs per transfer): the probe ends at an empty entry because
  // idInsertAtProbe keeps count < limit and idTableCreate makes capacity >= 2 * limit.
  let index = <u32>hash & mask;
  table.probeTag = tag;
  while (true) {
    const entry = load<u64>(entryAt(table, index));
    const value = <u32>entry;
    if (value == 0) break;
    if (<u32>(entry >> 32) == tag) {
      const record = recordOf(table, value);
      if (load<u64>(record) == lo && load<u64>(record, 8) == hi) {
        table.probe = index;
        return value;
      }
    }
    index = (index + 1) & mask;
  }
  table.probe = index;
  return 0;
}

/**
 * Inserts at the entry where the preceding idFind (of the id now being
 * inserted) missed. Record value - 1 must hold that id.
 */
// @ts-ignore: decorator
@inline export function idInsertAtProbe(table: IdTable, value: u32): void {
  assert(value != 0 && value <= table.limit, "id table value names no record");
  assert(table.count < table.limit, "id table full");
  const entry = entryAt(table, table.probe);
  assert(load<u32>(entry) == 0, "id inserted over a used entry");
  store<u64>(entry, <u64>value | (<u64>table.probeTag << 32));
  table.count++;
}

/** Inserts an id that is absent; record value - 1 must already hold it. */
export function idInsert(table: IdTable, lo: u64, hi: u64, value: u32): void {
  const found = idFind(table, lo, hi);
  assert(found == 0, "id inserted twice");
  // Record value - 1 holds the id already (the caller wrote it), so the table can find it.
  assert(load<u64>(recordOf(table, value)) == lo && load<u64>(recordOf(table, value), 8) == hi, "id inserted before its record");
  idInsertAtProbe(table, value);
}

/** Removes an id that is present (rollback of a linked chain), while its record still holds it. */
export function idRemove(table: IdTable, lo: u64, hi: u64): void {
  const found = idFind(table, lo, hi);
  assert(found != 0, "id removed that is not in the table");
  assert(table.count > 0, "id removed from an empty table");
  const mask = table.mask;
  const start = table.probe;
  let hole = start;
  let index = (hole + 1) & mask;
  while (true) {
    // The table always keeps an empty entry, so the shift ends before it wraps around.
    assert(index != start, "id table shift wrapped around");
    const entry = load<u64>(entryAt(table, index));
    if (<u32>entry == 0) break;
    const record = recordOf(table, <u32>entry);
    const home = <u32>idHash(load<u64>(record), load<u64>(record, 8)) & mask;
    // Move the entry back into the hole unless its home lies cyclically in (hole, index].
    const distanceHome = (index - home) & mask;
    const distanceHole = (index - hole) & mask;
    if (distanceHome >= distanceHole) {
      store<u64>(entryAt(table, hole), entry);
      hole = index;
    }
    index = (index + 1) & mask;
  }
  store<u64>(entryAt(table, hole), 0);
  table.count--;
}

/**
 * Reads the home entry of an id without probing (in a table given by its
 * entries and mask), and returns it. A pass of these over a batch before
 * executing it lets the CPU fetch the (cache-missing) entries in parallel
 * instead of one miss per event.
 */
// @ts-ignore: decorator
@inline export function idTouch(entries: usize, mask: u32, lo: u64, hi: u64): u32 {
  return load<u32>(entries + (<usize>(<u32>idHash(lo, hi) & mask) << ENTRY_SHIFT));
}
