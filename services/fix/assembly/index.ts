// services/fix: the FIX 4.4 acceptor's sessions and application (issue 19,
// docs/fix.md "The acceptor"). The host's front end (host/fix/acceptor.ts)
// reads FIX messages off the wire and sends them here, through the gateway
// (route ROUTE_FIX), as inputs (../protocol.ts); every message the sessions
// send goes out as an EVT_FIX event the front end renders and writes. In the
// order of the log and on the logical clock, so a replay rebuilds the same
// sessions (sequence numbers, the store a resend reads) and the same orders.
//
// ABI (module "qenex" is the only import): qx_inbox / qx_inbox_bytes,
// qx_init(len) with the config JSON (config.ts), qx_handle(kind, sender,
// token, len): a request (its inputs, one at a time: session.ts, then
// orders.ts or market.ts for application messages), the trading service's
// answer, or a session's timer (heartbeats and TestRequests). Capabilities:
// "time", "timer", "emit", "send:trading", "log".
//
// A request is worked through in order. Order messages gather into one
// trading request (many sessions' together) until a message that is not an
// order, or the end; then the request goes to the trading service and the
// rest waits for its answer, so every session's messages keep their order.
// The trading service also tells this service (a message from it) of the
// events of other clients' orders requests (its config "fix_reports"), so
// a session hears of its resting orders filled or cancelled by them.

import * as P from "../protocol";
import * as T from "../../trading/protocol";
import { KIND_FAILED, KIND_MESSAGE, KIND_REPLY, KIND_REQUEST, KIND_TIMER, nowNs, replyOk, serviceIndex } from "../../sdk/qenex";
import { configParse } from "./config";
import { outFlush, outInit } from "./out";
import { sessionsInit } from "./sessions";
import { APPLICATION, disconnectIn, inSequence, logonIn, messageIn, sessionTimer } from "./session";
import { tableInit } from "./table";
import { ORDER_FLUSH_FIRST, orderIn, ordersFailed, ordersInit, ordersNotice, ordersPending, ordersReplied, ordersSend, tradingPeer } from "./orders";
import { marketBookReplied, marketIn, marketInit } from "./market";

// The largest of a request and the trading service's largest answer (every operation's result and a reply's events).
const TRADING_REPLY_MAX: u32 = <u32>T.REPLY_HEADER_BYTES + <u32>T.OPS_PER_REQUEST * <u32>T.RESULT_BYTES + <u32>T.EVENTS_PER_REPLY * <u32>T.EVENT_BYTES;
const REQUEST_MAX: u32 = <u32>P.HEADER_BYTES + <u32>P.INPUTS_PER_REQUEST * <u32>P.INPUT_BYTES;
const INBOX_BYTES: u32 = max(TRADING_REPLY_MAX, REQUEST_MAX);
const inbox: usize = heap.alloc(INBOX_BYTES);
// The request being worked through (kept: the inbox takes the trading service's answers meanwhile).
const held: usize = heap.alloc(<usize>P.HEADER_BYTES + <usize>P.INPUTS_PER_REQUEST * P.INPUT_BYTES);
const WAIT_NONE: u32 = 0;
const WAIT_ORDERS: u32 = 1;
const WAIT_BOOK: u32 = 2;
let waiting: u32 = WAIT_NONE;
let heldToken: u32 = 0;
let heldCount: u32 = 0;
let heldAt: u32 = 0; // the next input
let heldNow: u64 = 0;
let busy: bool = false;
const replyBuf = memory.data(<i32>P.REPLY_BYTES, 8);
const MT_LOGON: u8 = 0x41;
const MT_V: u8 = 0x56;
const MT_SECURITY_LIST_REQUEST: u8 = 0x78; // x

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }

export function qx_init(len: u32): void {
  assert(len <= INBOX_BYTES, "the kernel copies at most the inbox");
  configParse(inbox, len);
  sessionsInit();
  outInit();
  tableInit();
  marketInit();
  ordersInit(serviceIndex("trading"));
}

function refuse(token: u32, why: string): void {
  assert(why.length > 0, "a reason");
  memory.fill(replyBuf, 0, P.REPLY_BYTES);
  store<u32>(replyBuf + 4, <u32>P.REPLY_F_REFUSED);
  replyOk(token, replyBuf, P.REPLY_BYTES); // the reason is in the log of the host's refusal; the count says nothing was taken
}

function request(token: u32, len: u32): void {
  assert(len <= INBOX_BYTES, "within the inbox");
  if (busy) { refuse(token, "one request at a time"); return; }
  const count = len >= <u32>P.HEADER_BYTES ? load<u32>(inbox + P.HEADER_COUNT) : 0;
  if (len < <u32>P.HEADER_BYTES || load<u8>(inbox) != <u8>P.FIX_VERSION || P.requestLength(count) != len) { refuse(token, "malformed"); return; }
  memory.copy(held, inbox, len);
  busy = true;
  heldToken = token;
  heldCount = count;
  heldAt = 0;
  heldNow = nowNs();
  run();
}

let reoffer: bool = false; // the input at heldAt passed the session's checks; its order waits for the gathered ones to go

function isOrder(rec: usize): bool {
  const msg = load<u8>(rec + P.IN_MSG_TYPE);
  assert(rec != 0, "an input");
  return load<u8>(rec + P.IN_KIND) == <u8>P.IN_MESSAGE && (msg == 0x44 || msg == 0x46 || msg == 0x47 || msg == 0x71); // D F G q
}

/** Works through the held request from heldAt; returns when it waits for the trading service, or answers it at the end. */
function run(): void {
  assert(busy && waiting == WAIT_NONE, "a request held, nothing awaited");
  const now = heldNow;
  while (heldAt < heldCount) {
    const rec = held + P.HEADER_BYTES + <usize>heldAt * P.INPUT_BYTES;
    const slot = <u32>load<u16>(rec + P.IN_SLOT);
    if (reoffer) { reoffer = false; orderIn(slot, rec, now); heldAt++; continue; }
    // Anything but an order taken in sequence waits for the gathered orders' reports, so a session's answers keep its order.
    if (ordersPending() > 0 && !(isOrder(rec) && inSequence(rec, now))) { if (flush(now)) return; continue; }
    if (!stepOne(rec, slot, now)) return;
  }
  if (ordersPending() > 0 && flush(now)) return;
  finish();
}

/** One input; false when the request now waits for the trading service. */
function stepOne(rec: usize, slot: u32, now: u64): bool {
  const msg = load<u8>(rec + P.IN_MSG_TYPE);
  assert(heldAt < heldCount, "an input left");
  if (load<u8>(rec + P.IN_KIND) == <u8>P.IN_DISCONNECT) { disconnectIn(rec); heldAt++; return true; }
  if (load<u8>(rec + P.IN_KIND) != <u8>P.IN_MESSAGE) { heldAt++; return true; }
  if (msg == MT_LOGON) { logonIn(rec, now); heldAt++; return true; }
  if (messageIn(rec, now) != APPLICATION) { heldAt++; return true; }
  if (isOrder(rec)) {
    if (orderIn(slot, rec, now) != ORDER_FLUSH_FIRST) { heldAt++; return true; }
    reoffer = true;
    return !flush(now);
  }
  heldAt++;
  if ((msg == MT_V || msg == MT_SECURITY_LIST_REQUEST) && marketIn(slot, rec, tradingPeer, now)) { waiting = WAIT_BOOK; return false; }
  return true;
}

/** The gathered orders to the trading service: true when the request now waits for its answer. */
function flush(now: u64): bool {
  assert(waiting == WAIT_NONE, "nothing awaited");
  if (!ordersSend(now)) return false;
  waiting = WAIT_ORDERS;
  return true;
}

function finish(): void {
  assert(busy, "a request held");
  memory.fill(replyBuf, 0, P.REPLY_BYTES);
  store<u32>(replyBuf, heldCount);
  busy = false;
  replyOk(heldToken, replyBuf, P.REPLY_BYTES);
}

function traded(kind: u32, len: u32): void {
  assert(waiting != WAIT_NONE, "an answer awaited");
  const w = waiting;
  waiting = WAIT_NONE;
  if (w == WAIT_ORDERS) {
    if (kind == KIND_REPLY) ordersReplied(inbox, len, heldNow);
    else ordersFailed(heldNow);
  } else {
    marketBookReplied(kind == KIND_REPLY ? inbox : 0, len, heldNow);
  }
  run();
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  assert(len <= INBOX_BYTES, "the kernel copies at most the inbox");
  if ((kind == KIND_REQUEST || kind == KIND_MESSAGE) && tradingPeer >= 0 && <i32>sender == tradingPeer) {
    ordersNotice(inbox, len, nowNs());
    replyOk(token, replyBuf, 0);
  } else if (kind == KIND_REQUEST || kind == KIND_MESSAGE) request(token, len);
  else if ((kind == KIND_REPLY || kind == KIND_FAILED) && <i32>sender == tradingPeer && waiting != WAIT_NONE) traded(kind, len);
  else if (kind == KIND_TIMER && len >= 8) sessionTimer(load<u64>(inbox), nowNs());
  outFlush();
}
