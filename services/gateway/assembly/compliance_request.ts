// Compliance requests (the compliance routes, protocol.ts
// routeComplianceOpAllowed): the body is the compliance service's own
// request (services/compliance/protocol.ts), built by the host's front end.
// Here its header is checked against the route (the operation the route
// allows, the list byte the operation takes, reserved bytes zero, a length
// that is the operation's records) and the request is handed to the relay
// (relay.ts), which keeps one at a time at the compliance service; the
// records themselves are the compliance service's to check. No ledger is
// named, so a key's ledger grants do not limit these routes.

import * as P from "../protocol";
import * as C from "../../compliance/protocol";
import { keyCount } from "./keys";
import { relaySubmit } from "./relay";
import { answerText } from "./reply";
import { countStat } from "./stats";

/** The framing of a compliance request: an error text, or null. */
function framingError(route: u32, body: usize, bodyLen: u32): string | null {
  assert(P.routeIsCompliance(route), "a compliance route");
  if (bodyLen < <u32>C.HEADER_BYTES) return "compliance request shorter than its header";
  const op = <u32>load<u8>(body + C.HEADER_OP);
  if (!P.routeComplianceOpAllowed(route, op)) return "compliance operation does not match the route";
  if (load<u16>(body + 2) != 0 || load<u32>(body + 8) != 0 || load<u32>(body + 12) != 0) return "compliance request header: reserved bytes not zero";
  const list = <u32>load<u8>(body + C.HEADER_LIST);
  const listed = op == <u32>C.Op.list_begin || op == <u32>C.Op.list_names || op == <u32>C.Op.list_commit;
  if (listed ? list < 1 || list > <u32>C.LISTS : list != 0) return "compliance request header: the list is not the operation's";
  if (bodyLen != C.requestLength(op, load<u32>(body + C.HEADER_COUNT))) return "compliance request length does not match its operation and count";
  return null;
}

/** A compliance request of key number n (-1: none) with its `bodyLen`-byte body at `body`: framed, then relayed whole. */
export function complianceRequest(token: u32, route: u32, body: usize, bodyLen: u32, n: i32): void {
  assert(n < <i32>keyCount, "a key in the table, or none");
  const framing = framingError(route, body, bodyLen);
  if (framing !== null) { answerText(token, 400, P.GW_E_MALFORMED, 0, n, framing); return; }
  countStat(P.GW_STATS_ALLOWED);
  relaySubmit(token, route, body, bodyLen, n);
}
