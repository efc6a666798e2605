// The relay to the ledger and payments services: requests out, replies back
// to their clients.
//
// A framed, permitted ledger request is sent to "ledger" at once while fewer
// than ledger_in_flight_max are outstanding (pending.ts), else it waits in
// the deferral ring (defer.ts); a full ring answers 503 and changes nothing.
// The ledger answers in order, so each reply (or the kernel's abort of a
// request the ledger faulted on) belongs to the oldest request in flight; it
// is checked against the request and relayed whole (a scoped key's request
// carried its grants, and the ledger answered only records of those
// ledgers: scope.ts), and a freed slot sends the next waiting request.
//
// A payments request goes to "payments" the same way, one at a time (the
// payments service decides a message against everything before it, and
// waits for the ledger itself); its reply is relayed whole. A trading
// request goes to "trading" one at a time likewise (with settlement it
// waits for the ledger too), and a FIX request to "fix" (a session's inputs
// are decided in order; its orders wait for the trading service). A compliance
// request goes to "compliance" one at a time likewise (a list load's
// requests are decided in order). The deferral ring is shared and kept in
// arrival order: a request whose service has no free slot stops the ring
// until one is freed.
//
// With transfer_checks, a create_transfers goes to "compliance" first
// (check_transfers, transfer_checks.ts), then, without the events it
// refused and their chains, to the ledger, and the ledger's results are
// spread back over the request's events. It takes the compliance slot and,
// while compliance decides, holds back every later ledger request (they keep
// their order behind it, and the ledger has room for it when the verdicts
// come). One request taken apart is at the ledger at a time: its token names
// it (checkStage, checkToken).

import * as P from "../protocol";
import * as C from "../../compliance/protocol";
import { lookup, send } from "./qenex";
import { DEFER_HEADER_BYTES, LEDGER_BATCH_MAX, LEDGER_HEADER_BYTES, LEDGER_RECORD_BYTES, LEDGER_RESULT_BYTES, ERROR_TEXT_BYTES_MAX, OUTBOX_BYTES } from "./constants";
import { inbox, outbox, pendingCount, pendingKey, pendingRoute, pendingToken, textBuf } from "./memory";
import { configFail, inFlightMax, transferChecks } from "./config";
import * as TC from "./transfer_checks";
import { keyCount } from "./keys";
import { pendingLen, pendingPush, pendingShift } from "./pending";
import { deferCount, deferPeek, deferPush, deferShift } from "./defer";
import { answer, answerText } from "./reply";
import { countStat } from "./stats";
import { textLog, textPut, textReset } from "./text";

/** The ledger's service index, or -1 when the image has no ledger (every ledger request then gets 503). */
export let ledgerPeer: i32 = -1;

// The services that take one request at a time (payments, compliance): each one's index (-1 when the
// image has none: every request of its routes then gets 503), and its request in flight (one at most):
// busy, its client's token and key number.
const ONE_PAYMENTS: u32 = 0;
const ONE_COMPLIANCE: u32 = 1;
const ONE_TRADING: u32 = 2;
const ONE_FIX: u32 = 3;
const ONES: u32 = 4;
const onePeer = memory.data(<i32>(ONES * 4), 4);
const oneBusy = memory.data(<i32>ONES);
const oneToken = memory.data(<i32>(ONES * 4), 4);
const oneKey = memory.data(<i32>(ONES * 4), 4);
/** The payments service's index, or -1 when the image has none (every payments request then gets 503). */
export let paymentsPeer: i32 = -1;
/** The compliance service's index, or -1 when the image has none (every compliance request then gets 503). */
export let compliancePeer: i32 = -1;
/** The trading service's index, or -1 when the image has none (every trading request then gets 503). */
export let tradingPeer: i32 = -1;
/** The fix service's index, or -1 when the image has none (every FIX request then gets 503). */
export let fixPeer: i32 = -1;

// A create_transfers checked first (transfer_checks): none, at compliance, or taken apart and at the ledger.
const CHECK_IDLE: u32 = 0;
const CHECK_AT_COMPLIANCE: u32 = 1;
const CHECK_AT_LEDGER: u32 = 2;
let checkStage: u32 = CHECK_IDLE;
let checkToken: u32 = 0;
let checkKey: i32 = -1;

/** Whether a request of `route` is checked by compliance before the ledger. */
function checked(route: u32): bool {
  assert(route < <u32>P.ROUTE_COUNT, "a known route");
  return transferChecks && route == P.ROUTE_CREATE_TRANSFERS;
}

/** The one-at-a-time service of `route`, or -1 (the ledger's routes). */
function oneOf(route: u32): i32 {
  assert(route < <u32>P.ROUTE_COUNT, "a known route");
  if (P.routePaymentsOp(route) != 0) return <i32>ONE_PAYMENTS;
  if (P.routeTradingOp(route) != 0) return <i32>ONE_TRADING;
  if (P.routeIsFix(route)) return <i32>ONE_FIX;
  return P.routeIsCompliance(route) ? <i32>ONE_COMPLIANCE : -1;
}

function oneIsBusy(one: u32): bool {
  assert(one < ONES, "a one-at-a-time service");
  return load<u8>(oneBusy + one) != 0;
}

/** The index of the service named by the ASCII literal `name`, or a negative E_*. */
function peerNamed(name: string): i32 {
  assert(name.length > 0 && name.length < 32, "a service name");
  for (let i = 0; i < name.length; i++) store<u8>(textBuf + <usize>i, <u8>name.charCodeAt(i));
  return lookup(textBuf, <u32>name.length);
}

/** Finds the ledger and the payments service (once, at boot). */
export function relayInit(): void {
  assert(pendingLen == 0 && deferCount == 0 && !oneIsBusy(ONE_PAYMENTS) && !oneIsBusy(ONE_COMPLIANCE) && !oneIsBusy(ONE_TRADING)
    && !oneIsBusy(ONE_FIX), "nothing is relayed before boot");
  ledgerPeer = peerNamed("ledger");
  paymentsPeer = peerNamed("payments");
  compliancePeer = peerNamed("compliance");
  tradingPeer = peerNamed("trading");
  fixPeer = peerNamed("fix");
  store<i32>(onePeer + (ONE_PAYMENTS << 2), paymentsPeer);
  store<i32>(onePeer + (ONE_COMPLIANCE << 2), compliancePeer);
  store<i32>(onePeer + (ONE_TRADING << 2), tradingPeer);
  store<i32>(onePeer + (ONE_FIX << 2), fixPeer);
  if (transferChecks && (compliancePeer < 0 || ledgerPeer < 0)) configFail("transfer_checks needs the ledger and the compliance service in the image");
}

/** Whether a request of `route` may be sent now: its service has a free slot. */
function roomFor(route: u32): bool {
  const one = oneOf(route);
  if (one >= 0) return !oneIsBusy(<u32>one);
  if (checkStage == CHECK_AT_COMPLIANCE) return false;
  if (checked(route)) return checkStage == CHECK_IDLE && !oneIsBusy(ONE_COMPLIANCE) && pendingLen < inFlightMax;
  return pendingLen < inFlightMax;
}

/**
 * Sends a request to the ledger now if a slot is free and none waits, else
 * queues it; a full queue answers 503. `n` is the key that made it (-1:
 * none), named in the answer's header.
 */
export function relaySubmit(token: u32, route: u32, body: usize, bodyLen: u32, n: i32): void {
  assert(n < <i32>keyCount, "a key in the table, or none");
  if (roomFor(route) && deferCount == 0) {
    forward(token, route, n, body, bodyLen);
    return;
  }
  if (!deferPush(token, route, n, body, bodyLen)) {
    countStat(P.GW_STATS_BUSY);
    answerText(token, 503, P.GW_E_BUSY, 1, n, "the gateway's queue is full; nothing was applied");
  }
}

function forward(token: u32, route: u32, n: i32, body: usize, bodyLen: u32): void {
  assert(roomFor(route), "a free slot at the route's service");
  if (checked(route)) { checkStart(token, n, body, bodyLen); return; }
  const one = oneOf(route);
  if (one >= 0) {
    const peer = load<i32>(onePeer + (<u32>one << 2));
    const sent = peer < 0 ? -2 : send(<u32>peer, body, bodyLen);
    if (sent != 0) {
      countStat(P.GW_STATS_BUSY);
      answerText(token, 503, P.GW_E_BUSY, 1, n, one == <i32>ONE_PAYMENTS ? "the payments service could not take the request; nothing was applied"
        : one == <i32>ONE_TRADING ? "the trading service could not take the request (is it in the image?); nothing was applied"
        : one == <i32>ONE_FIX ? "the fix service could not take the request (is it in the image?); nothing was applied"
        : "the compliance service could not take the request (is it in the image?); nothing was applied");
      return;
    }
    store<u8>(oneBusy + <u32>one, 1);
    store<u32>(oneToken + (<u32>one << 2), token);
    store<i32>(oneKey + (<u32>one << 2), n);
    return;
  }
  const r = ledgerPeer < 0 ? -2 : send(<u32>ledgerPeer, body, bodyLen);
  if (r != 0) {
    countStat(P.GW_STATS_BUSY);
    answerText(token, 503, P.GW_E_BUSY, 1, n, "the ledger could not take the request; nothing was applied");
    return;
  }
  pendingPush(token, route, n, load<u32>(body + 4));
}

/** Sends a create_transfers to compliance for its verdicts (transfer_checks). */
function checkStart(token: u32, n: i32, body: usize, bodyLen: u32): void {
  assert(checkStage == CHECK_IDLE && compliancePeer >= 0, "one create_transfers checked at a time");
  TC.stageBatch(body, bodyLen);
  if (send(<u32>compliancePeer, TC.checkRequest(), TC.checkLength()) != 0) {
    countStat(P.GW_STATS_BUSY);
    answerText(token, 503, P.GW_E_BUSY, 1, n, "the compliance service could not take the transfers to check; nothing was applied");
    return;
  }
  store<u8>(oneBusy + ONE_COMPLIANCE, 1);
  checkStage = CHECK_AT_COMPLIANCE;
  checkToken = token;
  checkKey = n;
}

/** Compliance's verdicts (`len` bytes in the inbox) on the create_transfers at it: what it kept goes to the ledger. */
function checkReplied(len: u32): void {
  assert(checkStage == CHECK_AT_COMPLIANCE && pendingLen < inFlightMax, "the ledger has room for the request checked");
  store<u8>(oneBusy + ONE_COMPLIANCE, 0);
  checkStage = CHECK_IDLE;
  const why = TC.verdictsError(inbox, len);
  if (why !== null) { answerText(checkToken, 502, P.GW_E_COMPLIANCE_REFUSED, 0, checkKey, why); return; }
  const kept = TC.applyVerdicts(inbox + C.REPLY_HEADER_BYTES);
  if (kept == 0) {
    answer(checkToken, 200, P.GW_OK, 0, checkKey, TC.expand(0, 0, outbox + P.GW_REPLY_HEADER_BYTES));
    return;
  }
  if (send(<u32>ledgerPeer, TC.ledgerBody(), TC.ledgerLength()) != 0) {
    countStat(P.GW_STATS_BUSY);
    answerText(checkToken, 503, P.GW_E_BUSY, 1, checkKey, "the ledger could not take the request; nothing was applied");
    return;
  }
  pendingPush(checkToken, P.ROUTE_CREATE_TRANSFERS, checkKey, kept);
  if (!TC.allKept()) checkStage = CHECK_AT_LEDGER;
}

/** Sends waiting requests while there is room in flight. */
function deferDrain(): void {
  while (deferCount > 0 && roomFor(load<u32>(deferPeek() + 12))) {
    const r = deferShift();
    forward(load<u32>(r + 4), load<u32>(r + 12), load<i32>(r + 8), r + DEFER_HEADER_BYTES, load<u32>(r));
  }
  assert(deferCount == 0 || !roomFor(load<u32>(deferPeek() + 12)), "requests wait only while the first one's service is full");
}

/** The ledger's reply to the oldest request in flight, relayed to its client. */
export function handleLedgerReply(len: u32): void {
  if (pendingLen == 0) {
    textReset(); textPut("ledger reply with nothing in flight; dropped");
    textLog();
    return;
  }
  const at = pendingShift();
  const token = load<u32>(pendingToken + at);
  const route = load<u32>(pendingRoute + at);
  const n = load<i32>(pendingKey + at);
  const count = load<u32>(pendingCount + at);
  if (checkStage == CHECK_AT_LEDGER && token == checkToken) {
    checkStage = CHECK_IDLE;
    if (<u64>len != <u64>count * LEDGER_RESULT_BYTES) ledgerError(token, n, len);
    else answer(token, 200, P.GW_OK, 0, n, TC.expand(inbox, count, outbox + P.GW_REPLY_HEADER_BYTES));
  } else {
    relay(token, route, n, count, len);
  }
  deferDrain();
}

/** The kernel aborted the oldest forwarded request: the ledger faulted on it
 *  (and was rolled back) or has failed. Its client gets 503, the slot is freed. */
export function handleLedgerAborted(): void {
  if (pendingLen == 0) {
    textReset(); textPut("ledger abort with nothing in flight; dropped");
    textLog();
    return;
  }
  const at = pendingShift();
  const token = load<u32>(pendingToken + at);
  const n = load<i32>(pendingKey + at);
  assert(n < <i32>keyCount, "a key in the table, or none");
  if (checkStage == CHECK_AT_LEDGER && token == checkToken) checkStage = CHECK_IDLE;
  answerText(token, 503, P.GW_E_LEDGER_ABORTED, 1, n, "the ledger aborted this request (it faulted or has failed); nothing was applied");
  deferDrain();
}

/** Relays the ledger's reply of `len` bytes (in the inbox) to the request it answers. */
function relay(token: u32, route: u32, n: i32, count: u32, len: u32): void {
  assert(P.routeOperation(route) != 0, "only ledger routes are in flight");
  assert(count >= 1 && count <= LEDGER_BATCH_MAX, "the request's count was framed");
  const out = outbox + P.GW_REPLY_HEADER_BYTES;
  if (route == P.ROUTE_CREATE_ACCOUNTS || route == P.ROUTE_CREATE_TRANSFERS) {
    if (<u64>len != <u64>count * LEDGER_RESULT_BYTES) { ledgerError(token, n, len); return; }
    memory.copy(out, inbox, len);
    answer(token, 200, P.GW_OK, 0, n, len);
    return;
  }
  if (len < LEDGER_HEADER_BYTES) { ledgerError(token, n, len); return; }
  const records = load<u32>(inbox);
  if (<u64>len != <u64>LEDGER_HEADER_BYTES + <u64>records * LEDGER_RECORD_BYTES) { ledgerError(token, n, len); return; }
  memory.copy(out, inbox, len);
  answer(token, 200, P.GW_OK, 0, n, len);
}

/** The ledger refused the request (its message is the reply) or broke the protocol. */
function ledgerError(token: u32, n: i32, len: u32): void {
  const shown = len < ERROR_TEXT_BYTES_MAX ? len : ERROR_TEXT_BYTES_MAX;
  assert(shown <= len && shown <= ERROR_TEXT_BYTES_MAX, "a prefix of the ledger's message");
  memory.copy(outbox + P.GW_REPLY_HEADER_BYTES, inbox, shown);
  answer(token, 502, P.GW_E_LEDGER, 0, n, shown);
}

/** The reply of one-at-a-time service `one` to its request in flight, relayed whole to its client. */
function oneReplied(one: u32, len: u32, what: string): void {
  if (!oneIsBusy(one)) {
    textReset(); textPut(what); textPut(" reply with nothing in flight; dropped");
    textLog();
    return;
  }
  store<u8>(oneBusy + one, 0);
  const token = load<u32>(oneToken + (one << 2));
  const n = load<i32>(oneKey + (one << 2));
  if (<u64>len + <u64>P.GW_REPLY_HEADER_BYTES > <u64>OUTBOX_BYTES) {
    answerText(token, 502, P.GW_E_MALFORMED, 0, n, one == ONE_PAYMENTS ? "the payments service's reply is larger than the gateway relays"
      : one == ONE_TRADING ? "the trading service's reply is larger than the gateway relays"
      : one == ONE_FIX ? "the fix service's reply is larger than the gateway relays" : "the compliance service's reply is larger than the gateway relays");
  } else {
    memory.copy(outbox + P.GW_REPLY_HEADER_BYTES, inbox, len);
    answer(token, 200, P.GW_OK, 0, n, len);
  }
  deferDrain();
}

/** The kernel aborted the request in flight at one-at-a-time service `one`: it faulted on it (rolled back) or has failed. */
function oneAborted(one: u32, error: u32, what: string): void {
  if (!oneIsBusy(one)) {
    textReset(); textPut(what); textPut(" abort with nothing in flight; dropped");
    textLog();
    return;
  }
  store<u8>(oneBusy + one, 0);
  const n = load<i32>(oneKey + (one << 2));
  assert(n < <i32>keyCount, "a key in the table, or none");
  answerText(load<u32>(oneToken + (one << 2)), 503, error, 1, n, one == ONE_PAYMENTS
    ? "the payments service aborted this request (it faulted or has failed); nothing was applied"
    : one == ONE_TRADING ? "the trading service aborted this request (it faulted or has failed); nothing was applied"
    : one == ONE_FIX ? "the fix service aborted this request (it faulted or has failed); nothing was applied"
    : "the compliance service aborted this request (it faulted or has failed); nothing was applied");
  deferDrain();
}

/** The payments service's reply to the request in flight, relayed whole to its client. */
export function handlePaymentsReply(len: u32): void {
  assert(paymentsPeer >= 0, "a reply from the payments service");
  oneReplied(ONE_PAYMENTS, len, "payments");
}

/** The kernel aborted the payments request in flight. */
export function handlePaymentsAborted(): void {
  assert(paymentsPeer >= 0, "an abort of the payments service");
  oneAborted(ONE_PAYMENTS, P.GW_E_PAYMENTS_ABORTED, "payments");
}

/** The compliance service's reply to the request in flight, relayed whole to its client. */
export function handleComplianceReply(len: u32): void {
  assert(compliancePeer >= 0, "a reply from the compliance service");
  if (checkStage != CHECK_AT_COMPLIANCE) { oneReplied(ONE_COMPLIANCE, len, "compliance"); return; }
  checkReplied(len);
  deferDrain();
}

/** The kernel aborted the compliance request in flight. */
export function handleComplianceAborted(): void {
  assert(compliancePeer >= 0, "an abort of the compliance service");
  if (checkStage != CHECK_AT_COMPLIANCE) { oneAborted(ONE_COMPLIANCE, P.GW_E_COMPLIANCE_ABORTED, "compliance"); return; }
  store<u8>(oneBusy + ONE_COMPLIANCE, 0);
  checkStage = CHECK_IDLE;
  answerText(checkToken, 503, P.GW_E_COMPLIANCE_ABORTED, 1, checkKey, "the compliance service aborted the check of these transfers (it faulted or has failed); nothing was applied");
  deferDrain();
}

/** The trading service's reply to the request in flight, relayed whole to its client. */
export function handleTradingReply(len: u32): void {
  assert(tradingPeer >= 0, "a reply from the trading service");
  oneReplied(ONE_TRADING, len, "trading");
}

/** The kernel aborted the trading request in flight. */
export function handleTradingAborted(): void {
  assert(tradingPeer >= 0, "an abort of the trading service");
  oneAborted(ONE_TRADING, P.GW_E_TRADING_ABORTED, "trading");
}

/** The fix service's reply to the request in flight, relayed whole to its client. */
export function handleFixReply(len: u32): void {
  assert(fixPeer >= 0, "a reply from the fix service");
  oneReplied(ONE_FIX, len, "fix");
}

/** The kernel aborted the FIX request in flight. */
export function handleFixAborted(): void {
  assert(fixPeer >= 0, "an abort of the fix service");
  oneAborted(ONE_FIX, P.GW_E_FIX_ABORTED, "fix");
}
