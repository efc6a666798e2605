// The FIFO of requests in flight to the ledger, oldest first.
//
// The ledger answers its messages in order, so its next reply (or the
// kernel's abort of its next message) belongs to the oldest entry here. Each
// entry keeps what the reply needs: the client's token, the route, the key
// number that made the request (-1: none; named in the answer's header) and
// the request's item count. A ring of PENDING_MAX entries over four parallel u32 arrays
// (memory.ts); relay.ts keeps at most ledger_in_flight_max of them in use.

import * as P from "../protocol";
import { LEDGER_BATCH_MAX, PENDING_MAX } from "./constants";
import { pendingCount, pendingKey, pendingRoute, pendingToken } from "./memory";

let pendingHead: u32 = 0;
/** Entries in the FIFO. */
export let pendingLen: u32 = 0;

export function pendingPush(token: u32, route: u32, n: i32, count: u32): void {
  assert(pendingLen < PENDING_MAX, "pending FIFO sized by ledger_in_flight_max");
  assert(P.routeOperation(route) != 0, "only ledger routes go to the ledger");
  assert(count >= 1 && count <= LEDGER_BATCH_MAX, "a framed request's count");
  const at = <usize>((pendingHead + pendingLen) % PENDING_MAX) * 4;
  store<u32>(pendingToken + at, token);
  store<u32>(pendingRoute + at, route);
  store<i32>(pendingKey + at, n);
  store<u32>(pendingCount + at, count);
  pendingLen++;
}

/**
 * Removes the oldest entry; returns its byte offset into the four arrays,
 * where it stays readable until the next push.
 */
export function pendingShift(): usize {
  assert(pendingLen > 0 && pendingHead < PENDING_MAX, "an entry to remove, the head within the ring");
  const at = <usize>pendingHead * 4;
  pendingHead = (pendingHead + 1) % PENDING_MAX;
  pendingLen--;
  return at;
}
