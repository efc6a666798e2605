// The gateway's counters (ROUTE_SYSTEM_GATEWAY): what it decided on logged
// requests, as GW_STATS_COUNT u64s in protocol.ts order.
//
// Allowed, unauthenticated, forbidden, rate-limited and busy are counted as
// they happen; the rest are read from the relay and the key table when asked.
// The counters are state like any other (replay counts the same); refusals
// before the log are admission's, which the host adds beside them.

import * as P from "../protocol";
import { outbox, stats } from "./memory";
import { keyCount } from "./keys";
import { pendingLen } from "./pending";
import { deferCount } from "./defer";
import { inFlightMax } from "./config";

export function countStat(i: u32): void {
  assert(i < <u32>P.GW_STATS_COUNT, "a counter of the stats reply");
  store<u64>(stats + <usize>i * 8, load<u64>(stats + <usize>i * 8) + 1);
}

/** Writes the counters as the reply body (after the header in the outbox); returns its length. */
export function statsReport(): u32 {
  assert(pendingLen <= inFlightMax, "no more in flight than ledger_in_flight_max");
  assert(deferCount == 0 || pendingLen == inFlightMax, "requests wait only while the ledger's slots are full");
  store<u64>(stats + P.GW_STATS_LEDGER_IN_FLIGHT * 8, pendingLen);
  store<u64>(stats + P.GW_STATS_DEFERRED * 8, deferCount);
  store<u64>(stats + P.GW_STATS_KEYS * 8, keyCount);
  store<u64>(stats + P.GW_STATS_SOURCES * 8, 0); // admission's (per node); the host reports it
  memory.copy(outbox + P.GW_REPLY_HEADER_BYTES, stats, P.GW_STATS_COUNT * 8);
  return P.GW_STATS_COUNT * 8;
}
