// The request router: one gateway request from the host, from its header to
// the job that answers it.
//
// The header (protocol.ts, GW_REQUEST_HEADER_BYTES) is checked first: a
// malformed one, or a route the host answers itself, gets 400. Then, once
// more at apply time, who is asking: the console (key routes only), or a
// bearer key by its hash, not revoked since admission let the request in,
// whose role may use the route (roles.ts). A key revoked by an earlier entry
// of the log is refused here, on replay too. Then the route's job answers.

import * as P from "../protocol";
import { time } from "./qenex";
import { inbox } from "./memory";
import { keyAt, keyCount, keyFind, KEY_REVOKED, KEY_ROLE } from "./keys";
import { consoleRoute, hostRoute, roleMay } from "./roles";
import { answer, answerText, refuse } from "./reply";
import { countStat, statsReport } from "./stats";
import { ledgerRequest } from "./ledger_request";
import { paymentsRequest } from "./payments_request";
import { complianceRequest } from "./compliance_request";
import { tradingRequest } from "./trading_request";
import { fixRequest } from "./fix_request";
import { keysCreate, keysList, keysRevoke } from "./keys_admin";
import { eventsGrants } from "./events";
import { serviceCommand } from "./system";

/** A request of `len` bytes in the inbox, to be answered under `token`. */
export function handleRequest(token: u32, len: u32): void {
  const route = len >= <u32>P.GW_REQUEST_HEADER_BYTES ? <u32>load<u8>(inbox + 1) : 0;
  if (len < <u32>P.GW_REQUEST_HEADER_BYTES || load<u8>(inbox) != P.GW_VERSION || route == 0 || route >= <u32>P.ROUTE_COUNT || hostRoute(route)
      || load<u8>(inbox + 3) != 0 || load<u32>(inbox + 4) != 0 || <u32>load<u8>(inbox + 2) > <u32>P.AUTH_CONSOLE) {
    answerText(token, 400, P.GW_E_MALFORMED, 0, -1, "malformed gateway request");
    return;
  }
  const now = <u64>max<i64>(time(), 0);
  const auth = <u32>load<u8>(inbox + 2);
  assert(route > 0 && route < <u32>P.ROUTE_COUNT && auth <= <u32>P.AUTH_CONSOLE, "a well-formed header");
  if (auth == P.AUTH_CONSOLE) {
    if (!consoleRoute(route)) {
      refuse(token, route, 403, P.GW_E_FORBIDDEN_ROLE, 0, -1, "the console manages keys and loads sanctions lists only");
      return;
    }
    routeRequest(token, route, len, -1, now);
    return;
  }
  // Admission checked all of this before the request was logged; a key
  // revoked since (an earlier entry of the log) is refused here, on replay too.
  if (auth == P.AUTH_NONE) { refuse(token, route, 401, P.GW_E_UNAUTHENTICATED, 0, -1, "this route needs Authorization: Bearer <key>"); return; }
  if (auth == P.AUTH_MALFORMED) { refuse(token, route, 401, P.GW_E_BAD_AUTHORIZATION, 0, -1, "Authorization must be Bearer <key>"); return; }
  const n = keyFind(inbox + P.GW_KEY_HASH_OFFSET);
  if (n < 0) { refuse(token, route, 401, P.GW_E_UNKNOWN_KEY, 0, -1, "unknown API key"); return; }
  const k = keyAt(<u32>n);
  if (load<u8>(k + KEY_REVOKED) != 0) { refuse(token, route, 401, P.GW_E_REVOKED_KEY, 0, n, "the API key was revoked"); return; }
  if (!roleMay(<u32>load<u8>(k + KEY_ROLE), route)) { refuse(token, route, 403, P.GW_E_FORBIDDEN_ROLE, 0, n, "the key's role may not use this route"); return; }
  routeRequest(token, route, len, n, now);
}

/** An authorised request: key number n (-1: the console) may use `route`. */
function routeRequest(token: u32, route: u32, len: u32, n: i32, now: u64): void {
  assert(len >= <u32>P.GW_REQUEST_HEADER_BYTES && n < <i32>keyCount, "a checked header and its key");
  const body = inbox + P.GW_REQUEST_HEADER_BYTES;
  const bodyLen = len - P.GW_REQUEST_HEADER_BYTES;
  if (P.routeOperation(route) != 0) { ledgerRequest(token, route, body, bodyLen, n); return; }
  if (P.routePaymentsOp(route) != 0) { paymentsRequest(token, route, body, bodyLen, n); return; }
  if (P.routeIsCompliance(route)) { complianceRequest(token, route, body, bodyLen, n); return; }
  if (P.routeTradingOp(route) != 0) { tradingRequest(token, route, body, bodyLen, n); return; }
  if (P.routeIsFix(route)) { fixRequest(token, route, body, bodyLen, n); return; }
  countStat(P.GW_STATS_ALLOWED);
  if (route == P.ROUTE_KEYS_CREATE) keysCreate(token, body, bodyLen, n, now);
  else if (route == P.ROUTE_KEYS_LIST) keysList(token, n);
  else if (route == P.ROUTE_KEYS_REVOKE) keysRevoke(token, body, bodyLen, n);
  else if (route == P.ROUTE_SYSTEM_GATEWAY) answer(token, 200, P.GW_OK, 0, n, statsReport());
  else if (route == P.ROUTE_EVENTS) eventsGrants(token, n);
  else if (route >= <u32>P.ROUTE_SERVICES_LOAD && route <= <u32>P.ROUTE_SERVICES_UNLOAD) serviceCommand(token, route, body, bodyLen, n);
  else assert(false, "gateway: every route is handled above");
}
