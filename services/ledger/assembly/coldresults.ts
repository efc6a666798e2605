// The records a query found in the grid's trees (cold.ts), in the order the
// reply lists them, for the query itself (queries.ts) to place before or
// after what it finds in memory. Empty without a grid, so the queries run as
// they always did.

import { BATCH_EVENTS_MAX, HEADER_BYTES, RECORD_BYTES } from "./constants";

export const coldResults: usize = heap.alloc(<usize>BATCH_EVENTS_MAX * RECORD_BYTES);
export let coldCount: u32 = 0;

export function coldReset(): void {
  coldCount = 0;
}

/** Adds a 128-byte record; false when the query's limit is reached. */
export function coldAdd(record: usize, limit: u32): bool {
  assert(limit <= BATCH_EVENTS_MAX && coldCount < limit, "coldAdd: within the query's limit");
  memory.copy(coldResults + <usize>coldCount * RECORD_BYTES, record, RECORD_BYTES);
  coldCount++;
  return coldCount < limit;
}

/** Appends the cold records to the reply at `out`, which holds `count`, up to `limit` in all; the new count. */
export function coldCopy(out: usize, count: u32, limit: u32): u32 {
  assert(count <= limit && limit <= BATCH_EVENTS_MAX, "coldCopy: within the query's limit");
  const n = min<u32>(coldCount, limit - count);
  memory.copy(out + HEADER_BYTES + <usize>count * RECORD_BYTES, coldResults, <usize>n * RECORD_BYTES);
  return count + n;
}
