// FIX requests (ROUTE_FIX, protocol.ts routeIsFix): the body is the fix
// service's own request (services/fix/protocol.ts: a header, then the inputs
// the host's FIX front end read), built by the front end. Here its framing
// is checked (the version, reserved bytes zero, a length that is its count's
// inputs) and the request is handed whole to the relay (relay.ts), which
// keeps one at a time at the fix service. It names no ledger: nothing is
// appended for a scoped key (the fix service checks what a session may trade).

import * as P from "../protocol";
import * as F from "../../fix/protocol";
import { keyCount } from "./keys";
import { relaySubmit } from "./relay";
import { answerText } from "./reply";
import { countStat } from "./stats";

/** The framing of a FIX request: an error text, or null. */
function framingError(body: usize, bodyLen: u32): string | null {
  assert(<u32>F.HEADER_BYTES == 16 && F.HEADER_COUNT == 4, "the FIX request header is version, 3 zero bytes, u32 count, u64 zero");
  if (bodyLen < <u32>F.HEADER_BYTES) return "FIX request shorter than its header";
  if (<u32>load<u8>(body) != <u32>F.FIX_VERSION) return "FIX request version is not the fix service's";
  if (load<u8>(body + 1) != 0 || load<u16>(body + 2) != 0 || load<u64>(body + 8) != 0) return "FIX request header: reserved bytes not zero";
  const framed = F.requestLength(load<u32>(body + F.HEADER_COUNT));
  if (framed == 0 || bodyLen != framed) return "FIX request length does not match its count";
  return null;
}

/** A FIX request of key number n (-1: the console, for a configured session) with its `bodyLen`-byte body at `body`: framed, then relayed whole. */
export function fixRequest(token: u32, route: u32, body: usize, bodyLen: u32, n: i32): void {
  assert(P.routeIsFix(route) && n < <i32>keyCount, "the FIX route, of a key in the table or none");
  const framing = framingError(body, bodyLen);
  if (framing !== null) { answerText(token, 400, P.GW_E_MALFORMED, 0, n, framing); return; }
  countStat(P.GW_STATS_ALLOWED);
  relaySubmit(token, route, body, bodyLen, n);
}
