// services/trading: central limit order books and matching (issue 19,
// docs/trading.md). Instruments from the config; order operations applied
// in the order of the log, so the same log gives the same books, trades and
// answers on every replay. The wire contract is ../protocol.ts.
//
// ABI (module "qenex" is the only import): qx_inbox / qx_inbox_bytes,
// qx_init(len) with the config JSON (config.ts), qx_handle(kind, sender,
// token, len): a request, or the ledger's answer to a batch of settlement
// transfers. Capabilities: "time" (the logical clock: DAY orders, entry
// times), "log" (a bad config's reason at boot, settlement failures),
// "send:ledger" with settlement, "send:compliance" with pre-trade checks.
//
// The files: config.ts (the config), book.ts (orders, levels, the id
// index), match.ts (matching, self-trade prevention, the DAY list), ops.ts
// (new, cancel, replace, mass cancel, expiry, reservations planned),
// requests.ts (the requests), settle.ts (the transfers of reservations,
// trades and releases), flow.ts (an orders request through the ledger),
// reply.ts (replies and refusals).

import * as P from "../protocol";
import { KIND_FAILED, KIND_MESSAGE, KIND_REPLY, KIND_REQUEST } from "../../sdk/qenex";
import { configParse, settlementOn } from "./config";
import { flowInit, ledgerFailed, ledgerReplied, ordersSettled, pretradeAborted, pretradeReplied } from "./flow";
import { pretradeInit, pretradePeer } from "./pretrade";
import { positionsInit } from "./positions";
import { pretradeOn } from "./config";
import { tradingEventsInit } from "./events";
import { refsInit } from "./refs";
import { fixNoticeInit, fixNoticePeer, fixNoticeRequest } from "./fixnotice";
import { settleInit, settleLedger } from "./settle";
import { scopeSet } from "./scope";
import { bookInit } from "./book";
import { refuse, replyInit } from "./reply";
import { book, instrumentsGet, orderGet, orders } from "./requests";

// The largest request: OPS_PER_REQUEST operations (96 KiB), with room to spare for a config.
const INBOX_BYTES: u32 = 256 * 1024;
const inbox: usize = heap.alloc(INBOX_BYTES);

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }

export function qx_init(len: u32): void {
  assert(len <= INBOX_BYTES, "the kernel copies at most the inbox");
  assert(<u64>P.HEADER_BYTES + <u64>P.OPS_PER_REQUEST * P.OP_BYTES <= <u64>INBOX_BYTES, "the inbox holds a largest orders request");
  configParse(inbox, len);
  bookInit();
  replyInit();
  settleInit();
  if (settlementOn) flowInit();
  pretradeInit();
  tradingEventsInit();
  fixNoticeInit();
  refsInit();
  if (pretradeOn) positionsInit();
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  assert(len <= INBOX_BYTES, "the kernel copies at most the inbox");
  if ((kind == KIND_REPLY || kind == KIND_FAILED) && settlementOn && sender == <u32>settleLedger()) {
    if (kind == KIND_REPLY) ledgerReplied(inbox, len);
    else ledgerFailed();
    return;
  }
  if ((kind == KIND_REPLY || kind == KIND_FAILED) && pretradeOn && sender == <u32>pretradePeer()) {
    if (kind == KIND_REPLY) pretradeReplied(inbox, len);
    else pretradeAborted();
    return;
  }
  if (kind == KIND_REPLY && <i32>sender == fixNoticePeer()) return; // the fix service took a notice
  if (kind != KIND_REQUEST && kind != KIND_MESSAGE) return;
  if (len < <u32>P.HEADER_BYTES) { refuse(token, "trading: request shorter than its header"); return; }
  const op = <u32>load<u8>(inbox + P.HEADER_OP);
  const count = load<u32>(inbox + P.HEADER_COUNT);
  const scope = <u32>load<u16>(inbox + P.HEADER_SCOPE_COUNT);
  if (load<u8>(inbox + 1) != 0 || load<u64>(inbox + 8) != 0 || scope > <u32>P.SCOPE_LEDGERS_MAX) {
    refuse(token, "trading: reserved header bytes not zero, or a scope of more than SCOPE_LEDGERS_MAX ledgers");
    return;
  }
  const framed = P.requestLength(op, count);
  if (framed == 0 || len != framed + scope * 4) { refuse(token, "trading: unknown operation, or a length that does not match its count and scope"); return; }
  scopeSet(inbox + framed, scope);
  const rec = inbox + P.HEADER_BYTES;
  if (op == <u32>P.Op.orders) fixNoticeRequest(sender, token);
  if (op == <u32>P.Op.orders && settlementOn) ordersSettled(token, count, rec);
  else if (op == <u32>P.Op.orders) orders(token, count, rec);
  else if (op == <u32>P.Op.instruments_get) instrumentsGet(token);
  else if (op == <u32>P.Op.book) book(token, rec);
  else orderGet(token, count, rec);
}
