// Is a timestamp taken? Used by imported events, whose user-defined
// timestamps must not collide with any account's or transfer's.
//
// Slots are filled in timestamp order (imported events must not regress), so
// each table is sorted by timestamp and a binary search answers.

import { A_TIMESTAMP, T_TIMESTAMP } from "./layout";
import { S, accountAt, transferAt } from "./state";
import { TIMESTAMP_MAX } from "./constants";

export function accountTimestampExists(timestamp: u64): bool {
  // Asked only for imported timestamps, which batch.ts bounded.
  assert(timestamp != 0 && timestamp <= TIMESTAMP_MAX, "timestamp lookup out of range");
  let low: u32 = 0;
  let high: u32 = S.accountCount;
  while (low < high) {
    const middle = low + ((high - low) >> 1);
    const value = load<u64>(accountAt(middle) + A_TIMESTAMP);
    if (value == timestamp) return true;
    if (value < timestamp) low = middle + 1;
    else high = middle;
  }
  return false;
}

export function transferTimestampExists(timestamp: u64): bool {
  assert(timestamp != 0 && timestamp <= TIMESTAMP_MAX, "timestamp lookup out of range");
  let low: u32 = 0;
  let high: u32 = S.transferCount;
  while (low < high) {
    const middle = low + ((high - low) >> 1);
    const value = load<u64>(transferAt(middle) + T_TIMESTAMP);
    if (value == timestamp) return true;
    if (value < timestamp) low = middle + 1;
    else high = middle;
  }
  return false;
}

/** Timestamp of the newest account (0 when there is none). */
export function accountTimestampLast(): u64 {
  const last = S.accountCount == 0 ? 0 : load<u64>(accountAt(S.accountCount - 1) + A_TIMESTAMP);
  assert((last != 0) == (S.accountCount != 0), "stored account without a timestamp");
  return last;
}

/** Timestamp of the newest transfer (0 when there is none). */
export function transferTimestampLast(): u64 {
  const last = S.transferCount == 0 ? 0 : load<u64>(transferAt(S.transferCount - 1) + T_TIMESTAMP);
  assert((last != 0) == (S.transferCount != 0), "stored transfer without a timestamp");
  return last;
}
