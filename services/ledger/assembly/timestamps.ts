// Timestamps of the stored records. Is a timestamp taken? Used by imported
// events, whose user-defined timestamps must not collide with any account's
// or transfer's. Where does a timestamp range start and end? Used by
// query_accounts and query_transfers.
//
// Slots are filled in timestamp order (imported events must not regress, and
// a rolled-back chain pops only the newest slots), so each table is sorted by
// timestamp and a binary search answers.

import { A_TIMESTAMP, T_TIMESTAMP } from "./layout";
import { S, accountAt, transferAt } from "./state";
import { TIMESTAMP_MAX } from "./constants";
import { G } from "./grid";
import { FOUND_TRANSFER, findTimestampResult } from "./finds";

/**
 * The first account (or transfer) slot whose timestamp is `timestamp` or
 * later; the count of stored records when there is none. Queries take their
 * range of slots from it (queries.ts), imported events ask whether a
 * timestamp is taken.
 */
export function slotFrom(accounts: bool, timestamp: u64): u32 {
  // TIMESTAMP_MAX + 1 finds the end of the table: the bound after a range ending at TIMESTAMP_MAX.
  assert(timestamp <= TIMESTAMP_MAX + 1, "timestamp bound out of range");
  // Transfers older than transferFirst are not in memory (docs/storage.md, stage 2).
  let low: u32 = accounts ? 0 : S.transferFirst;
  let high: u32 = accounts ? S.accountCount : S.transferCount;
  while (low < high) {
    const middle = low + ((high - low) >> 1);
    if (timestampAt(accounts, middle) < timestamp) low = middle + 1;
    else high = middle;
  }
  assert(low == (accounts ? 0 : S.transferFirst) || timestampAt(accounts, low - 1) < timestamp, "slotFrom passed a slot at or after its bound");
  return low;
}

// @ts-ignore: decorator
@inline function timestampAt(accounts: bool, slot: u32): u64 {
  return accounts ? load<u64>(accountAt(slot) + A_TIMESTAMP) : load<u64>(transferAt(slot) + T_TIMESTAMP);
}

export function accountTimestampExists(timestamp: u64): bool {
  // Asked only for imported timestamps, which batch.ts bounded.
  assert(timestamp != 0 && timestamp <= TIMESTAMP_MAX, "timestamp lookup out of range");
  const slot = slotFrom(true, timestamp);
  return slot < S.accountCount && timestampAt(true, slot) == timestamp;
}

export function transferTimestampExists(timestamp: u64): bool {
  assert(timestamp != 0 && timestamp <= TIMESTAMP_MAX, "timestamp lookup out of range");
  // Older than every transfer in memory: the trees answer (cold.ts found it first).
  if (S.grid && G.evicted > 0 && timestamp <= G.evictedTimestampLast) return findTimestampResult(timestamp) == FOUND_TRANSFER;
  const slot = slotFrom(false, timestamp);
  return slot < S.transferCount && timestampAt(false, slot) == timestamp;
}

/** Timestamp of the newest account (0 when there is none). */
export function accountTimestampLast(): u64 {
  const last = S.accountCount == 0 ? 0 : load<u64>(accountAt(S.accountCount - 1) + A_TIMESTAMP);
  assert((last != 0) == (S.accountCount != 0), "stored account without a timestamp");
  return last;
}

/** Timestamp of the newest transfer (0 when there is none). */
export function transferTimestampLast(): u64 {
  if (S.grid && S.transferCount == S.transferFirst) return G.evictedTimestampLast;
  const last = S.transferCount == 0 ? 0 : load<u64>(transferAt(S.transferCount - 1) + T_TIMESTAMP);
  assert((last != 0) == (S.transferCount != 0), "stored transfer without a timestamp");
  return last;
}
