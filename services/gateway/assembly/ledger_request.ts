// Ledger requests (ROUTE_CREATE_ACCOUNTS .. ROUTE_ACCOUNT_BALANCES,
// ROUTE_QUERY_ACCOUNTS, ROUTE_QUERY_TRANSFERS: the routes with a ledger
// operation, protocol.ts routeOperation): the body is the ledger's own
// binary request (services/ledger/protocol.ts), already translated by the
// host. Here it is checked for the framing the ledger expects (a malformed
// one is answered 400 and never reaches the ledger), checked against a
// scoped key's grants (scope.ts), counted as allowed and handed to the
// relay (relay.ts).

import * as P from "../protocol";
import { LEDGER_BATCH_MAX, LEDGER_HEADER_BYTES, LEDGER_ID_BYTES, LEDGER_QUERY_FILTER_BYTES, LEDGER_RECORD_BYTES } from "./constants";
import { keyCount, keyScoped } from "./keys";
import { scopeAppend, scopeRefused } from "./scope";
import { relaySubmit } from "./relay";
import { answerText } from "./reply";
import { countStat } from "./stats";

/** Checks the framing the ledger expects; the message, or null when fine. */
function ledgerFramingError(route: u32, body: usize, bodyLen: u32): string | null {
  const operation = P.routeOperation(route);
  assert(operation != 0, "a ledger route");
  if (bodyLen < LEDGER_HEADER_BYTES) return "ledger request shorter than its header";
  if (<u32>load<u8>(body) != operation || load<u8>(body + 1) != 0 || load<u16>(body + 2) != 0) return "ledger operation does not match the route";
  const count = load<u32>(body + 4);
  if (count == 0 || count > LEDGER_BATCH_MAX) return "ledger request count out of range";
  const queryFilter = route == P.ROUTE_QUERY_ACCOUNTS || route == P.ROUTE_QUERY_TRANSFERS;
  const isQuery = queryFilter || route == P.ROUTE_ACCOUNT_TRANSFERS || route == P.ROUTE_ACCOUNT_BALANCES;
  if (isQuery && count != 1) return "a ledger query takes one filter";
  const item = route == P.ROUTE_LOOKUP_ACCOUNTS || route == P.ROUTE_LOOKUP_TRANSFERS ? LEDGER_ID_BYTES
    : queryFilter ? LEDGER_QUERY_FILTER_BYTES : LEDGER_RECORD_BYTES;
  if (<u64>bodyLen != <u64>LEDGER_HEADER_BYTES + <u64>count * <u64>item) return "ledger request length does not match its count";
  return null;
}

/** A ledger request of key number n (-1: none) with its `bodyLen`-byte body at `body`. */
export function ledgerRequest(token: u32, route: u32, body: usize, bodyLen: u32, n: i32): void {
  assert(n < <i32>keyCount, "a key in the table, or none");
  const framing = ledgerFramingError(route, body, bodyLen);
  if (framing !== null) { answerText(token, 400, P.GW_E_MALFORMED, 0, n, framing); return; }
  const scoped = keyScoped(n);
  if (scoped && scopeRefused(token, route, body, n)) return;
  countStat(P.GW_STATS_ALLOWED);
  const sendLen = scoped ? scopeAppend(route, body, bodyLen, n) : bodyLen;
  assert(sendLen >= bodyLen, "a scope only adds to the request");
  relaySubmit(token, route, body, sendLen, n);
}
