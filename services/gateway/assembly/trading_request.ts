// Trading requests (the trading routes, protocol.ts routeTradingOp): the body
// is the trading service's own request (services/trading/protocol.ts), built
// by the host's front end. Here its header is checked against the route (the
// operation the route carries, reserved bytes and the scope count zero, a
// length that is the operation's records), a scoped key's grants are
// appended as the request's scope (the trading service lets it name only
// instruments both of whose ledgers are granted), and the request is handed
// to the relay (relay.ts), which keeps one at a time at the trading service.

import * as P from "../protocol";
import * as T from "../../trading/protocol";
import { INBOX_BYTES } from "./constants";
import { inbox } from "./memory";
import { keyAt, keyCount, keyScoped, KEY_GRANTS, KEY_LEDGERS } from "./keys";
import { relaySubmit } from "./relay";
import { answerText } from "./reply";
import { countStat } from "./stats";

/** The framing of a trading request: an error text, or null. */
function framingError(route: u32, body: usize, bodyLen: u32): string | null {
  assert(P.routeTradingOp(route) != 0, "a trading route");
  if (bodyLen < <u32>T.HEADER_BYTES) return "trading request shorter than its header";
  const op = <u32>load<u8>(body + T.HEADER_OP);
  if (op != P.routeTradingOp(route)) return "trading operation does not match the route";
  if (load<u8>(body + 1) != 0 || load<u16>(body + T.HEADER_SCOPE_COUNT) != 0 || load<u64>(body + 8) != 0) {
    return "trading request header: reserved bytes or the scope count not zero (the gateway sets the scope)";
  }
  const framed = T.requestLength(op, load<u32>(body + T.HEADER_COUNT));
  if (framed == 0 || bodyLen != framed) return "trading request length does not match its operation and count";
  return null;
}

/** A trading request of key number n (-1: none) with its `bodyLen`-byte body at `body`: framed, scoped, then relayed whole. */
export function tradingRequest(token: u32, route: u32, body: usize, bodyLen: u32, n: i32): void {
  assert(n < <i32>keyCount, "a key in the table, or none");
  const framing = framingError(route, body, bodyLen);
  if (framing !== null) { answerText(token, 400, P.GW_E_MALFORMED, 0, n, framing); return; }
  countStat(P.GW_STATS_ALLOWED);
  let sendLen = bodyLen;
  if (keyScoped(n)) {
    const k = keyAt(<u32>n);
    const grants = <u32>load<u8>(k + KEY_GRANTS);
    assert(grants >= 1 && grants <= <u32>T.SCOPE_LEDGERS_MAX && body + bodyLen + <usize>grants * 4 <= inbox + INBOX_BYTES, "room for a key's grants");
    memory.copy(body + bodyLen, k + KEY_LEDGERS, <usize>grants * 4);
    store<u16>(body + T.HEADER_SCOPE_COUNT, <u16>grants);
    sendLen += grants * 4;
  }
  relaySubmit(token, route, body, sendLen, n);
}
