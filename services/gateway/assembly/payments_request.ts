// Payments requests (the payments routes, protocol.ts routePaymentsOp): the
// body is the payments service's own request (services/payments/protocol.ts),
// built by the host's front end from the message. Here its header is checked
// against the route (the operation, and for credit transfers the source the
// route carries), a scoped key's grants once more against every ledger the
// request names (admission checked the same before the log) or, for a read,
// appended to it (the payments service answers only what they hold), and the
// request is handed to the relay (relay.ts), which keeps one at a time at the
// payments service.

import * as P from "../protocol";
import * as PAY from "../../payments/protocol";
import { keyAt, keyCount, keyGranted, keyScoped, KEY_GRANTS, KEY_LEDGERS } from "./keys";
import { inbox } from "./memory";
import { INBOX_BYTES } from "./constants";
import { relaySubmit } from "./relay";
import { answerText, refuse } from "./reply";
import { countStat } from "./stats";

/** The framing of a payments request: an error text, or null. The payments service checks the rest. */
function framingError(route: u32, body: usize, bodyLen: u32): string | null {
  const op = P.routePaymentsOp(route);
  assert(op != 0, "a payments route");
  if (bodyLen < <u32>PAY.HEADER_BYTES) return "payments request shorter than its header";
  const given = <u32>load<u8>(body + PAY.HEADER_OP);
  // The ISO 20022 route carries status reports (pacs.002) and returns (pacs.004) too.
  const lines = route == P.ROUTE_PAYMENTS_ISO20022
    && (given == <u32>PAY.Op.status_reports || given == <u32>PAY.Op.returns || given == <u32>PAY.Op.reconcile);
  // A credit transfers request over one message comes in parts (the payments service assembles them).
  const part = op == <u32>PAY.Op.credit_transfers && given == <u32>PAY.Op.message_part;
  if (given != op && !lines && !part) return "payments operation does not match the route";
  if (lines) {
    const source = <i32>load<u8>(body + PAY.HEADER_SOURCE);
    const fits = given == <u32>PAY.Op.returns ? source == PAY.SOURCE_PACS004
      : given == <u32>PAY.Op.status_reports ? source == PAY.SOURCE_PACS002 : source == PAY.SOURCE_CAMT053 || source == PAY.SOURCE_CAMT054;
    return fits ? null : "payments source does not match the operation";
  }
  if (op == <u32>PAY.Op.hold_release) {
    const count = load<u32>(body + PAY.HEADER_COUNT);
    // A compliance officer's close releases or voids one payment; the payments service checks the records.
    return count == 1 && bodyLen == <u32>(PAY.HEADER_BYTES + PAY.RELEASE_BYTES) ? null : "payments hold_release length does not match one release record";
  }
  if (op != <u32>PAY.Op.credit_transfers) return null;
  const source = <i32>load<u8>(body + PAY.HEADER_SOURCE);
  const allowed = route == P.ROUTE_PAYMENTS_ISO20022 ? source == PAY.SOURCE_PACS008 || source == PAY.SOURCE_PAIN001
    : route == P.ROUTE_PAYMENTS_SWIFT_MT ? source == PAY.SOURCE_MT103 : source == PAY.SOURCE_JSON;
  if (!allowed) return "payments source does not match the route";
  if (part) return bodyLen > <u32>(PAY.HEADER_BYTES + PAY.PART_BYTES) ? null : "payments message part shorter than its lead record";
  if (bodyLen < <u32>(PAY.HEADER_BYTES + PAY.MESSAGE_BYTES)) return "payments request shorter than its message record";
  const count = load<u32>(body + PAY.HEADER_COUNT);
  if (count == 0 || count > <u32>PAY.TX_MAX) return "payments transaction count out of range";
  if (<u64>bodyLen < <u64>(PAY.HEADER_BYTES + PAY.MESSAGE_BYTES) + <u64>count * PAY.TX_BYTES) return "payments request shorter than its transactions";
  return null;
}

/** Whether a scoped key may make the request: every ledger it names granted. */
function granted(route: u32, body: usize, bodyLen: u32, n: i32): bool {
  assert(keyScoped(n), "only a scoped key is checked");
  const k = keyAt(<u32>n);
  const count = load<u32>(body + PAY.HEADER_COUNT);
  const credit = P.routePaymentsOp(route) == <u32>PAY.Op.credit_transfers;
  const first: usize = credit ? PAY.HEADER_BYTES + PAY.MESSAGE_BYTES : PAY.HEADER_BYTES;
  const item: usize = credit ? PAY.TX_BYTES : PAY.DIRECTORY_ENTRY_BYTES;
  const field: usize = credit ? PAY.TX_LEDGER : PAY.ENTRY_LEDGER;
  if (<u64>first + <u64>count * <u64>item > <u64>bodyLen) return false;
  for (let i: u32 = 0; i < count; i++) if (!keyGranted(k, load<u32>(body + first + <usize>i * item + field))) return false;
  return true;
}

/** A payments request of key number n (-1: none) with its `bodyLen`-byte body at `body`. */
export function paymentsRequest(token: u32, route: u32, body: usize, bodyLen: u32, n: i32): void {
  assert(n < <i32>keyCount, "a key in the table, or none");
  const framing = framingError(route, body, bodyLen);
  if (framing !== null) { answerText(token, 400, P.GW_E_MALFORMED, 0, n, framing); return; }
  let sendLen = bodyLen;
  if (keyScoped(n)) {
    const op = <u32>load<u8>(body + PAY.HEADER_OP);
    if (isRead(route)) {
      // A read carries the key's grants: the payments service answers only what those ledgers hold.
      sendLen = scopeAppendPayments(body, bodyLen, n);
    } else if (op == <u32>PAY.Op.status_reports || op == <u32>PAY.Op.returns || op == <u32>PAY.Op.reconcile || op == <u32>PAY.Op.message_part
      || op == <u32>PAY.Op.hold_release || !granted(route, body, bodyLen, n)) {
      // Status reports, returns and statements name payments, not ledgers, and a part's ledgers are in the
      // request it is a part of, which no one frame shows: an unscoped key sends them.
      refuse(token, route, 403, P.GW_E_FORBIDDEN_LEDGER, 0, n, "the request names a ledger this key is not granted");
      return;
    }
  }
  countStat(P.GW_STATS_ALLOWED);
  relaySubmit(token, route, body, sendLen, n);
}

/** The payments routes that change nothing. */
function isRead(route: u32): bool {
  assert(P.routePaymentsOp(route) != 0, "a payments route");
  return route == P.ROUTE_PAYMENTS_GET || route == P.ROUTE_PAYMENT_ACCOUNTS_LOOKUP || route == P.ROUTE_PAYMENTS_LIST || route == P.ROUTE_PAYMENT_STATEMENT
    || route == P.ROUTE_PAYMENT_MESSAGE || route == P.ROUTE_RESCREEN;
}

/** Appends a scoped key's grants to its payments read in place (the inbox has room) and counts them in the header; the length to send. */
function scopeAppendPayments(body: usize, bodyLen: u32, n: i32): u32 {
  const k = keyAt(<u32>n);
  const grants = <u32>load<u8>(k + KEY_GRANTS);
  assert(grants >= 1 && grants <= <u32>PAY.SCOPE_LEDGERS_MAX && body + bodyLen + <usize>grants * 4 <= inbox + INBOX_BYTES, "a scoped key's grants fit the inbox");
  memory.copy(body + bodyLen, k + KEY_LEDGERS, <usize>grants * 4);
  store<u16>(body + PAY.HEADER_SCOPE, <u16>grants);
  return bodyLen + grants * 4;
}
