// The bounded queue of requests waiting for a ledger slot, in arrival order.
//
// At most ledger_in_flight_max requests are at the ledger (each holds a kernel
// message slot, and so does its reply); those beyond wait here, copied out of
// the inbox, until a reply frees a slot (relay.ts deferDrain). A full queue
// refuses the new request with 503 and changes nothing.
//
// A byte ring of DEFER_BYTES: records of u32 len | u32 token | i32 key |
// u32 route | payload, each 8-aligned. A record never straddles the end: the
// writer wraps to 0 and leaves DEFER_WRAP where the reader must wrap too (or
// nothing, when it stopped exactly at the end). The writer stays strictly
// behind the reader, so read == write only when the ring is empty.

import { DEFER_BYTES, DEFER_HEADER_BYTES, DEFER_WRAP } from "./constants";
import { deferred } from "./memory";

let deferRead: u32 = 0;
let deferWrite: u32 = 0;
/** Requests waiting. */
export let deferCount: u32 = 0;

// @ts-ignore: decorator
@inline function align8(n: u32): u32 { return (n + 7) & ~7; }

/** Queues a request; false (and nothing changed) when the ring has no room for it. */
export function deferPush(token: u32, route: u32, n: i32, body: usize, bodyLen: u32): bool {
  assert(deferRead <= DEFER_BYTES && deferWrite <= DEFER_BYTES, "ring positions within the ring");
  const need = DEFER_HEADER_BYTES + align8(bodyLen);
  if (need > DEFER_BYTES) return false;
  if (deferCount == 0) { deferRead = 0; deferWrite = 0; }
  let at: u32 = deferWrite;
  if (deferCount > 0 && deferWrite < deferRead) {
    if (deferWrite + need >= deferRead) return false; // wrapped: stay strictly behind the reader
  } else if (deferWrite + need > DEFER_BYTES) {
    if (need >= deferRead) return false; // count > 0 here: an empty ring starts at 0 and fits
    if (deferWrite + 4 <= DEFER_BYTES) store<u32>(deferred + deferWrite, DEFER_WRAP);
    at = 0;
  }
  const r = deferred + at;
  store<u32>(r, bodyLen);
  store<u32>(r + 4, token);
  store<i32>(r + 8, n);
  store<u32>(r + 12, route);
  memory.copy(r + DEFER_HEADER_BYTES, body, bodyLen);
  deferWrite = at + need;
  deferCount++;
  assert(deferWrite <= DEFER_BYTES && deferWrite % 8 == 0, "the record ends within the ring, 8-aligned");
  assert(deferWrite != deferRead, "a non-empty ring's writer is not on its reader");
  return true;
}

/** Removes the oldest request; returns its record, readable until the next push. */
export function deferShift(): usize {
  assert(deferCount > 0, "a request to remove");
  if (deferRead + 4 > DEFER_BYTES || load<u32>(deferred + deferRead) == DEFER_WRAP) deferRead = 0;
  const r = deferred + deferRead;
  const bodyLen = load<u32>(r);
  deferRead += DEFER_HEADER_BYTES + align8(bodyLen);
  deferCount--;
  assert(deferRead <= DEFER_BYTES, "the record ended within the ring");
  assert(deferCount > 0 || deferRead == deferWrite, "an empty ring's reader is on its writer");
  return r;
}

/** The oldest request's record, left in the ring. */
export function deferPeek(): usize {
  assert(deferCount > 0, "a request to look at");
  const at = deferRead + 4 > DEFER_BYTES || load<u32>(deferred + deferRead) == DEFER_WRAP ? 0 : deferRead;
  return deferred + at;
}
