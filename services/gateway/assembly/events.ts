// The event stream (ROUTE_EVENTS, GET /v1/events): the gateway allows a
// subscription and tells the host which ledgers the key may see.
//
// The stream itself is the host's (host/gateway/events.ts): it never enters
// the log. What is decided here, replayably, is who may watch (roles.ts: not
// a teller) and the key's grants, which the host applies to every record.

import * as P from "../protocol";
import { outbox } from "./memory";
import { keyAt, keyCount, KEY_GRANTS, KEY_LEDGERS } from "./keys";
import { answer } from "./reply";

/** Allows a subscription; the body tells the host which ledgers the key may see (count 0: all). */
export function eventsGrants(token: u32, n: i32): void {
  assert(n < <i32>keyCount, "a key in the table, or none");
  const body = outbox + P.GW_REPLY_HEADER_BYTES;
  const grants: u32 = n < 0 ? 0 : <u32>load<u8>(keyAt(<u32>n) + KEY_GRANTS);
  assert(grants <= <u32>P.KEY_GRANTS_MAX, "a stored key has at most KEY_GRANTS_MAX grants");
  store<u32>(body, grants);
  for (let i: u32 = 0; i < grants; i++) store<u32>(body + 4 + <usize>i * 4, load<u32>(keyAt(<u32>n) + KEY_LEDGERS + <usize>i * 4));
  answer(token, 200, P.GW_OK, 0, n, 4 + grants * 4);
}
