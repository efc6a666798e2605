// Keys limited to ledgers ("scoped" keys: tellers, and read-only keys with
// grants): what they may write, what the ledger is told, what they may read.
//
//   writes   every event of a create must name a granted ledger (admission
//            checked the same before the log; this is the check at apply time)
//   creates  carry the key's grants to the ledger, so no result tells the key
//            about another ledger (services/ledger/assembly/scope.ts)
//   reads    lookups, account transfers and the queries carry the grants to
//            the ledger too, which answers only records of those ledgers
//            (filtering a lookup's reply, skipping other ledgers' records
//            inside a query's scan so pages stay whole): one place applies a
//            scope, for relayed requests and reads alike; balance history is
//            not limited by ledger, so it is refused
// (Reads the kernel answers without a log entry get the grants appended by
// the kernel, kernel/ingress.ts; these are the logged, relayed requests.)

import * as P from "../protocol";
import { INBOX_BYTES, LEDGER_BATCH_MAX, LEDGER_HEADER_BYTES, LEDGER_RECORD_BYTES, RECORD_LEDGER_OFFSET } from "./constants";
import { inbox } from "./memory";
import { keyAt, keyGranted, keyScoped, KEY_GRANTS, KEY_LEDGERS } from "./keys";
import { refuse } from "./reply";

// @ts-ignore: decorator
@inline function isCreate(route: u32): bool {
  return route == P.ROUTE_CREATE_ACCOUNTS || route == P.ROUTE_CREATE_TRANSFERS;
}

/** Refuses (403, answered) a framed ledger request key number n may not make; false when it may. */
export function scopeRefused(token: u32, route: u32, body: usize, n: i32): bool {
  assert(keyScoped(n), "only a scoped key is checked");
  const k = keyAt(<u32>n);
  if (route == P.ROUTE_ACCOUNT_BALANCES) {
    refuse(token, route, 403, P.GW_E_FORBIDDEN_LEDGER, 0, n, "balance history is not limited by ledger; this key is");
    return true;
  }
  if (isCreate(route)) {
    const count = load<u32>(body + 4);
    assert(count <= LEDGER_BATCH_MAX, "the request was framed");
    for (let i: u32 = 0; i < count; i++) {
      const ledger = load<u32>(body + LEDGER_HEADER_BYTES + <usize>i * LEDGER_RECORD_BYTES + RECORD_LEDGER_OFFSET);
      if (!keyGranted(k, ledger)) {
        refuse(token, route, 403, P.GW_E_FORBIDDEN_LEDGER, 0, n, "an event names a ledger this key is not granted");
        return true;
      }
    }
  }
  return false;
}

/**
 * Appends a scoped key's grants to its ledger request in place (the inbox
 * has room past the largest batch) and sets the request's scope count;
 * returns the length to send. scopeRefused has refused balance history.
 */
export function scopeAppend(route: u32, body: usize, bodyLen: u32, n: i32): u32 {
  assert(keyScoped(n), "only a scoped key's requests carry a scope");
  assert(P.routeOperation(route) != 0 && route != P.ROUTE_ACCOUNT_BALANCES, "a ledger route that takes a scope");
  const k = keyAt(<u32>n);
  const grants = <u32>load<u8>(k + KEY_GRANTS);
  assert(grants >= 1 && grants <= <u32>P.KEY_GRANTS_MAX, "a scoped key has 1 to KEY_GRANTS_MAX grants");
  assert(body + bodyLen + <usize>grants * 4 <= inbox + INBOX_BYTES, "the inbox holds a batch and its scope");
  memory.copy(body + bodyLen, k + KEY_LEDGERS, <usize>grants * 4);
  store<u16>(body + 2, <u16>grants);
  return bodyLen + grants * 4;
}
