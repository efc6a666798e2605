// services/payments: the payments service (issue 17, docs/payments.md).
// Credit transfers from ISO 20022 (pacs.008 in, pain.001 out), SWIFT MT103
// and JSON, turned by the host's front end into this service's records
// (../protocol.ts) and decided here, deterministically and so again on
// replay: the directory of accounts, duplicates, the payments and their
// ledger transfers (sent to the ledger service, capability send:ledger).
//
// ABI (module "qenex" is the only import): qx_inbox / qx_inbox_bytes,
// qx_init(len) with the config JSON (config.ts), qx_handle(kind, sender,
// token, len): a request (from the gateway, or a client when granted net),
// or the ledger's reply (or the kernel's abort) to the transfers sent.
//
// The files: config.ts (the config), hashindex.ts (fingerprint indexes),
// text.ts (Max35Text and BIC slots), directory.ts (the directory),
// payments.ts (messages, payments, credit transfers, the request in flight
// and its ledger work), reports.ts (status reports, returns,
// reconciliation), statement.ts (statements), queries.ts (reads), scope.ts
// (a read limited to a key's ledgers), parts.ts (a request larger than one
// message, assembled from its parts), events.ts (payment events).

import * as P from "../protocol";
import { KIND_FAILED, KIND_MESSAGE, KIND_REPLY, KIND_REQUEST, reply } from "../../sdk/qenex";
import { configParse } from "./config";
import { directoryAt, directoryCount, directoryFind, directoryInit, directoryPut, keyValid } from "./directory";
import { checksFailed, checksReplied, creditTransfers, ledgerFailed, ledgerReplied, paymentsInit, paymentsLedgerPeer, refuse } from "./payments";
import { reconcile, returns, statusReports } from "./reports";
import { statement, statementFailed, statementInFlight, statementReplied } from "./statement";
import { paymentGet, paymentList, paymentMessages } from "./queries";
import { scopeAllows, scopeSet } from "./scope";
import { messagePart } from "./parts";
import { paymentEventsInit } from "./events";
import { checksInit, compliancePeer } from "./checks";
import { holdRelease } from "./holds";

// The largest request the kernel delivers in the bank image (message_bytes_max, 1 MiB) and room
// to spare; a pain.001 of TX_MAX transactions (~5.4 MiB with its original bytes) needs more.
const INBOX_BYTES: u32 = 2 << 20;
const inbox: usize = heap.alloc(INBOX_BYTES);
let out: usize = 0;

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }

export function qx_init(len: u32): void {
  assert(len <= INBOX_BYTES, "the kernel copies at most the inbox");
  configParse(inbox, len);
  directoryInit();
  paymentsInit();
  paymentEventsInit();
  checksInit();
  out = heap.alloc(<usize>P.REPLY_HEADER_BYTES + <usize>max(<u32>P.GET_MAX * <u32>P.DIRECTORY_ENTRY_BYTES, <u32>P.DIRECTORY_PUT_MAX * <u32>P.DIRECTORY_RESULT_BYTES));
}

/** directory_put: each entry of the request upserted, a DIR_R_* result each. */
function directoryPutAll(token: u32, len: u32, count: u32): void {
  if (count == 0 || count > <u32>P.DIRECTORY_PUT_MAX || <u64>len != <u64>P.HEADER_BYTES + <u64>count * P.DIRECTORY_ENTRY_BYTES) {
    refuse(token, P.REFUSED_MALFORMED, "payments: directory_put length does not match its count");
    return;
  }
  assert(<u64>P.REPLY_HEADER_BYTES + <u64>count * P.DIRECTORY_RESULT_BYTES <= <u64>(P.REPLY_HEADER_BYTES + P.GET_MAX * P.DIRECTORY_ENTRY_BYTES), "the results fit the reply area");
  replyHeader(count);
  for (let i: u32 = 0; i < count; i++) {
    const o = out + P.REPLY_HEADER_BYTES + (<usize>i << 3);
    store<u32>(o, directoryPut(inbox + P.HEADER_BYTES + <usize>i * P.DIRECTORY_ENTRY_BYTES));
    store<u32>(o + 4, 0);
  }
  reply(token, 0, out, <u32>P.REPLY_HEADER_BYTES + count * <u32>P.DIRECTORY_RESULT_BYTES);
}

/** directory_get: the entry of each key of the request (zeros: none). */
function directoryGetAll(token: u32, len: u32, count: u32): void {
  if (count == 0 || count > <u32>P.GET_MAX || <u64>len != <u64>P.HEADER_BYTES + <u64>count * P.ACCOUNT_KEY_BYTES) {
    refuse(token, P.REFUSED_MALFORMED, "payments: directory_get length does not match its count");
    return;
  }
  assert(count <= <u32>P.GET_MAX, "the entries fit the reply area");
  replyHeader(count);
  for (let i: u32 = 0; i < count; i++) {
    const key = inbox + P.HEADER_BYTES + <usize>i * P.ACCOUNT_KEY_BYTES;
    const e = keyValid(key) ? directoryFind(key) : 0;
    const o = out + P.REPLY_HEADER_BYTES + <usize>i * P.DIRECTORY_ENTRY_BYTES;
    if (e == 0 || !scopeAllows(load<u32>(e + P.ENTRY_LEDGER))) memory.fill(o, 0, P.DIRECTORY_ENTRY_BYTES);
    else memory.copy(o, e, P.DIRECTORY_ENTRY_BYTES);
  }
  reply(token, 0, out, <u32>P.REPLY_HEADER_BYTES + count * <u32>P.DIRECTORY_ENTRY_BYTES);
}

/** directory_list: the entries after number `after`, at most `limit` in the key's scope, in the order made. */
function directoryList(token: u32, len: u32, count: u32): void {
  if (count != 1 || len != <u32>P.HEADER_BYTES + 8) { refuse(token, P.REFUSED_MALFORMED, "payments: directory_list takes one after and one limit"); return; }
  const after = load<u32>(inbox + P.HEADER_BYTES);
  const limit = load<u32>(inbox + P.HEADER_BYTES + 4);
  if (limit == 0 || limit > <u32>P.GET_MAX) { refuse(token, P.REFUSED_MALFORMED, "payments: directory_list limit is outside 1..GET_MAX"); return; }
  assert(limit <= <u32>P.GET_MAX, "the entries fit the reply area");
  const total = directoryCount();
  let n: u32 = 0;
  let k = after;
  while (k < total && n < limit) {
    k++;
    const e = directoryAt(k);
    if (!scopeAllows(load<u32>(e + P.ENTRY_LEDGER))) continue;
    memory.copy(out + P.REPLY_HEADER_BYTES + <usize>n * P.DIRECTORY_ENTRY_BYTES, e, P.DIRECTORY_ENTRY_BYTES);
    n++;
  }
  replyHeader(n);
  store<u64>(out + 8, <u64>max(k, after));
  reply(token, 0, out, <u32>P.REPLY_HEADER_BYTES + n * <u32>P.DIRECTORY_ENTRY_BYTES);
}

function replyHeader(count: u32): void {
  assert(count <= <u32>P.DIRECTORY_PUT_MAX, "a framed count");
  store<u32>(out, count);
  store<u32>(out + 4, 0);
  store<u64>(out + 8, 0);
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  assert(len <= INBOX_BYTES, "the kernel copies at most the inbox");
  const ledger = paymentsLedgerPeer();
  if (kind == KIND_REPLY && ledger >= 0 && sender == <u32>ledger) {
    if (statementInFlight()) statementReplied(inbox, len);
    else ledgerReplied(inbox, len);
    return;
  }
  if (kind == KIND_FAILED && ledger >= 0 && sender == <u32>ledger) {
    if (statementInFlight()) statementFailed();
    else ledgerFailed();
    return;
  }
  const compliance = compliancePeer();
  if ((kind == KIND_REPLY || kind == KIND_FAILED) && compliance >= 0 && sender == <u32>compliance) {
    if (kind == KIND_REPLY) checksReplied(inbox, len);
    else checksFailed();
    return;
  }
  if (kind != KIND_REQUEST && kind != KIND_MESSAGE) return;
  if (len < <u32>P.HEADER_BYTES) { refuse(token, P.REFUSED_MALFORMED, "payments: request shorter than its header"); return; }
  const op = load<u8>(inbox + P.HEADER_OP);
  const count = load<u32>(inbox + P.HEADER_COUNT);
  scopeSet(inbox, 0); // no scope but the one a read carries
  if (op == <u8>P.Op.credit_transfers) { creditTransfers(token, inbox, len); return; }
  if (op == <u8>P.Op.message_part) { messagePart(token, inbox, len); return; }
  if (op == <u8>P.Op.status_reports) { statusReports(token, inbox, len); return; }
  if (op == <u8>P.Op.returns) { returns(token, inbox, len); return; }
  if (op == <u8>P.Op.reconcile) { reconcile(token, inbox, len); return; }
  if (op == <u8>P.Op.hold_release) { holdRelease(token, inbox, len); return; }
  // A read may carry a scope (a key's ledger grants) after the request: the rest of it is `len` less the scope.
  const scoped = <u32>load<u16>(inbox + P.HEADER_SCOPE);
  const reads = op == <u8>P.Op.payment_get || op == <u8>P.Op.payment_list || op == <u8>P.Op.statement || op == <u8>P.Op.directory_get
    || op == <u8>P.Op.payment_messages || op == <u8>P.Op.directory_list;
  if (load<u8>(inbox + P.HEADER_SOURCE) != 0 || (scoped != 0 && !reads) || scoped > <u32>P.SCOPE_LEDGERS_MAX
    || load<u32>(inbox + 8) != 0 || load<u32>(inbox + 12) != 0 || (scoped << 2) > len - <u32>P.HEADER_BYTES) {
    refuse(token, P.REFUSED_MALFORMED, "payments: reserved header bytes not zero, or a scope out of range");
    return;
  }
  scopeSet(inbox + len - (scoped << 2), scoped);
  len -= scoped << 2;
  if (op == <u8>P.Op.directory_put) { directoryPutAll(token, len, count); return; }
  if (op == <u8>P.Op.directory_get) { directoryGetAll(token, len, count); return; }
  if (op == <u8>P.Op.directory_list) { directoryList(token, len, count); return; }
  if (op == <u8>P.Op.statement) {
    if (count != 1 || len != <u32>(P.HEADER_BYTES + P.STATEMENT_REQUEST_BYTES)) { refuse(token, P.REFUSED_MALFORMED, "payments: statement takes one request"); return; }
    statement(token, inbox + P.HEADER_BYTES);
    return;
  }
  if (op == <u8>P.Op.payment_list) {
    if (count != 1 || len != <u32>(P.HEADER_BYTES + P.LIST_FILTER_BYTES)) { refuse(token, P.REFUSED_MALFORMED, "payments: payment_list takes one filter"); return; }
    paymentList(token, inbox + P.HEADER_BYTES);
    return;
  }
  if (op == <u8>P.Op.payment_messages) {
    if (count != 1 || len != <u32>P.HEADER_BYTES + 8) { refuse(token, P.REFUSED_MALFORMED, "payments: payment_messages takes one payment id"); return; }
    paymentMessages(token, load<u64>(inbox + P.HEADER_BYTES));
    return;
  }
  if (op == <u8>P.Op.payment_get) {
    if (count == 0 || count > <u32>P.GET_MAX || <u64>len != <u64>P.HEADER_BYTES + <u64>count * 8) {
      refuse(token, P.REFUSED_MALFORMED, "payments: payment_get length does not match its count");
      return;
    }
    paymentGet(token, inbox + P.HEADER_BYTES, count);
    return;
  }
  refuse(token, P.REFUSED_MALFORMED, "payments: unknown operation");
}
