// Statements (docs/payments.md): a directory account's posted totals at the
// start and end of a period, worked back from the ledger's totals now and its
// transfers from the period's start on (read page by page), and the period's
// transfers. A statement is a request in flight like any other (payments.ts):
// its ledger work is a lookup of the account, then its transfers.

import * as P from "../protocol";
import * as L from "../../ledger/protocol";
import { reply, send } from "../../sdk/qenex";
import { u128Add, u128Sub } from "../../sdk/money";
import { NO_MESSAGE, begin, flightBusy, flightEnd, flightOperation, flightTokenOf, ledgerIndex, refuse, replyArea } from "./payments";
import { directoryFind, keyValid } from "./directory";
import { scopeAllows } from "./scope";

let stmtAccount: usize = 0; // the summary being built (STATEMENT_BYTES), in replyBuf after the header
let stmtTo: u64 = 0;
let stmtLimit: u32 = 0;
let stmtPhase: u8 = 0; // 1: the account asked for, 2: a page of its transfers asked for
const stmtAfterDebits: usize = memory.data(16);
const stmtAfterCredits: usize = memory.data(16);
const stmtRequest: usize = memory.data(<i32>(L.HEADER_BYTES + L.RECORD_BYTES), 16);

/** Handles a statement request: the account's posted totals at the start and end of the period, and its transfers within it. */
export function statement(token: u32, q: usize): void {
  if (flightBusy()) { refuse(token, P.REFUSED_BUSY, "payments: busy: a request is waiting for the ledger (the gateway sends one at a time)"); return; }
  const limit = load<u32>(q + P.STATEMENT_LIMIT);
  const from = load<u64>(q + P.STATEMENT_FROM);
  const to = load<u64>(q + P.STATEMENT_TO);
  if (!keyValid(q + P.STATEMENT_KEY) || limit == 0 || limit > <u32>P.STATEMENT_ENTRIES_MAX || load<u32>(q + 60) != 0 || (to != 0 && to < from)) {
    refuse(token, P.REFUSED_MALFORMED, "payments: a statement request out of range");
    return;
  }
  const e = directoryFind(q + P.STATEMENT_KEY);
  if (e == 0 || !scopeAllows(load<u32>(e + P.ENTRY_LEDGER))) { refuse(token, P.REFUSED_NOT_FOUND, "payments: no directory entry for that account"); return; }
  begin(token, <u8>P.Op.statement, 0, 0, 0, NO_MESSAGE);
  stmtAccount = replyArea() + P.REPLY_HEADER_BYTES;
  memory.fill(stmtAccount, 0, P.STATEMENT_BYTES);
  memory.copy(stmtAccount + P.STMT_ACCOUNT, e + P.ENTRY_ACCOUNT, 16);
  store<u32>(stmtAccount + P.STMT_LEDGER, load<u32>(e + P.ENTRY_LEDGER));
  store<u64>(stmtAccount + P.STMT_FROM, from);
  store<u64>(stmtAccount + P.STMT_TO, to != 0 ? to : 0xffffffffffffffff);
  stmtTo = to != 0 ? to : 0xffffffffffffffff;
  stmtLimit = limit;
  memory.fill(stmtAfterDebits, 0, 16);
  memory.fill(stmtAfterCredits, 0, 16);
  // The account's totals now: the closing ones once what came after `to` is taken off.
  store<u8>(stmtRequest + L.HEADER_OPERATION, <u8>L.Operation.lookup_accounts);
  store<u8>(stmtRequest + 1, 0);
  store<u16>(stmtRequest + L.HEADER_SCOPE_COUNT, 0);
  store<u32>(stmtRequest + L.HEADER_COUNT, 1);
  memory.copy(stmtRequest + L.HEADER_BYTES, e + P.ENTRY_ACCOUNT, 16);
  stmtPhase = 1;
  if (!stmtSend(<u32>L.HEADER_BYTES + <u32>L.ID_BYTES)) stmtFail();
}

function stmtSend(len: u32): bool {
  assert(flightBusy() && flightOperation() == <u8>P.Op.statement, "a statement in flight");
  return ledgerIndex() >= 0 && send(<u32>ledgerIndex(), stmtRequest, len) == 0;
}

/** Asks for the account's transfers from `after` on (ascending, debits and credits). */
function stmtPage(after: u64): void {
  const f = stmtRequest + L.HEADER_BYTES;
  memory.fill(f, 0, L.RECORD_BYTES);
  memory.copy(f + L.FILTER_ACCOUNT_ID, stmtAccount + P.STMT_ACCOUNT, 16);
  store<u64>(f + L.FILTER_TIMESTAMP_MIN, after);
  store<u32>(f + L.FILTER_LIMIT, <u32>L.BATCH_EVENTS_MAX);
  store<u32>(f + L.FILTER_FLAGS, <u32>L.AccountFilterFlags.debits | <u32>L.AccountFilterFlags.credits);
  store<u8>(stmtRequest + L.HEADER_OPERATION, <u8>L.Operation.get_account_transfers);
  store<u32>(stmtRequest + L.HEADER_COUNT, 1);
  stmtPhase = 2;
  if (!stmtSend(<u32>L.HEADER_BYTES + <u32>L.RECORD_BYTES)) stmtFail();
}

/** The ledger could not answer (it failed, or broke its protocol): the statement is refused, nothing changed. */
function stmtFail(): void {
  assert(flightBusy() && flightOperation() == <u8>P.Op.statement, "a statement in flight");
  flightEnd();
  stmtPhase = 0;
  refuse(flightTokenOf(), P.REFUSED_BUSY, "payments: the ledger did not answer the statement's reads");
}

/** The ledger's answer to the statement's read out now. */
export function statementReplied(r: usize, len: u32): void {
  assert(flightBusy() && flightOperation() == <u8>P.Op.statement && stmtPhase != 0, "a statement read out");
  if (len < <u32>L.HEADER_BYTES || <u64>len != <u64>L.HEADER_BYTES + <u64>load<u32>(r + L.REPLY_COUNT) * L.RECORD_BYTES) { stmtFail(); return; }
  const count = load<u32>(r + L.REPLY_COUNT);
  const s = stmtAccount;
  if (stmtPhase == 1) {
    if (count != 1) { stmtFail(); return; }
    memory.copy(s + P.STMT_CLOSING_DEBITS, r + L.HEADER_BYTES + L.ACCOUNT_DEBITS_POSTED, 16);
    memory.copy(s + P.STMT_CLOSING_CREDITS, r + L.HEADER_BYTES + L.ACCOUNT_CREDITS_POSTED, 16);
    stmtPage(load<u64>(s + P.STMT_FROM));
    return;
  }
  let last: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const t = r + L.HEADER_BYTES + <usize>i * L.RECORD_BYTES;
    last = load<u64>(t + L.TRANSFER_TIMESTAMP);
    const flags = load<u16>(t + L.TRANSFER_FLAGS);
    if ((flags & (<u16>L.TransferFlags.pending | <u16>L.TransferFlags.void_pending_transfer)) != 0) continue; // no posted amount moves
    const debit = memory.compare(t + L.TRANSFER_DEBIT_ACCOUNT_ID, s + P.STMT_ACCOUNT, 16) == 0;
    if (last > stmtTo) {
      const added = u128Add(debit ? stmtAfterDebits : stmtAfterCredits, debit ? stmtAfterDebits : stmtAfterCredits, t + L.TRANSFER_AMOUNT);
      assert(added, "statement: a sum of posted amounts within u128 (the ledger's own totals are)");
      continue;
    }
    // Within the period: counted toward the opening totals (taken off below) and listed while there is room.
    const sum = debit ? s + P.STMT_OPENING_DEBITS : s + P.STMT_OPENING_CREDITS;
    const counted = u128Add(sum, sum, t + L.TRANSFER_AMOUNT);
    assert(counted, "statement: a sum of posted amounts within u128 (the ledger's own totals are)");
    const n = load<u32>(s + P.STMT_ENTRIES);
    if (n < stmtLimit) memory.copy(s + P.STATEMENT_BYTES + <usize>n * L.RECORD_BYTES, t, L.RECORD_BYTES);
    else store<u8>(s + P.STMT_TRUNCATED, 1);
    store<u32>(s + P.STMT_ENTRIES, n + 1);
  }
  if (count == <u32>L.BATCH_EVENTS_MAX) { stmtPage(last + 1); return; }
  // Closing = now - after the period; opening = closing - within it (the opening fields held the period's sums).
  // The ledger's totals are the sums of its posted transfers, so none of these goes below zero.
  const closed = u128Sub(s + P.STMT_CLOSING_DEBITS, s + P.STMT_CLOSING_DEBITS, stmtAfterDebits)
    && u128Sub(s + P.STMT_CLOSING_CREDITS, s + P.STMT_CLOSING_CREDITS, stmtAfterCredits);
  const opened = u128Sub(s + P.STMT_OPENING_DEBITS, s + P.STMT_CLOSING_DEBITS, s + P.STMT_OPENING_DEBITS)
    && u128Sub(s + P.STMT_OPENING_CREDITS, s + P.STMT_CLOSING_CREDITS, s + P.STMT_OPENING_CREDITS);
  assert(closed && opened, "statement: the account's transfers add up to more than its totals");
  const listed = min(load<u32>(s + P.STMT_ENTRIES), stmtLimit);
  flightEnd();
  stmtPhase = 0;
  const out = replyArea();
  store<u32>(out, listed);
  store<u32>(out + 4, 0);
  store<u64>(out + 8, 0);
  reply(flightTokenOf(), 0, out, <u32>P.REPLY_HEADER_BYTES + <u32>P.STATEMENT_BYTES + listed * <u32>L.RECORD_BYTES);
}

/** The kernel aborted the statement's read (the ledger faulted on it). */
export function statementFailed(): void {
  if (flightBusy() && flightOperation() == <u8>P.Op.statement && stmtPhase != 0) stmtFail();
}

/** Whether the request in flight is a statement (its ledger answers come here, not to payments.ts). */
export function statementInFlight(): bool {
  return flightBusy() && flightOperation() == <u8>P.Op.statement;
}
