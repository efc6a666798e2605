// Balance history for accounts with flags.history: after every transfer that
// touches such an account, a record of its four balances, linked into the
// account's history list (what get_account_balances returns).
//
// Expiry of a pending transfer records nothing, as TigerBeetle documents.
// Capacity: a pending transfer reserves the records its post or void will
// need, so resolving a pending transfer never fails for lack of room.

import { NONE } from "./constants";
import { A_DEBITS_PENDING, AM_HISTORY_FIRST, AM_HISTORY_LAST, H_ACCOUNT_SLOT, H_BALANCES, H_NEXT,
  H_PREV, H_TIMESTAMP, H_TRANSFER_SLOT } from "./layout";
import { S, accountAt, accountMetaAt, historyAt } from "./state";

/** Appends the current balances of `accountSlot` as of transfer `transferSlot`. */
export function historyAppend(accountSlot: u32, transferSlot: u32, timestamp: u64): void {
  assert((S.historyCount - S.historyFirst) + S.historyReserved < S.historyMax, "history full: capacity was checked before applying");
  assert(accountSlot < S.accountCount && transferSlot < S.transferCount, "history of an account or transfer not stored");
  const index = S.historyCount;
  const record = historyAt(index);
  const head = accountMetaAt(accountSlot);
  const last = load<u32>(head + AM_HISTORY_LAST);
  // get_account_balances walks each account's list by timestamp: a transfer touches an
  // account once, so its records are strictly newer, and the table as a whole is in order.
  assert(last == NONE || load<u64>(historyAt(last) + H_TIMESTAMP) < timestamp, "balance history out of timestamp order");
  assert(index == S.historyFirst || load<u64>(historyAt(index - 1) + H_TIMESTAMP) <= timestamp, "history table out of timestamp order");
  store<u64>(record + H_TIMESTAMP, timestamp);
  store<u32>(record + H_TRANSFER_SLOT, transferSlot);
  store<u32>(record + H_ACCOUNT_SLOT, accountSlot);
  store<u32>(record + H_PREV, last);
  store<u32>(record + H_NEXT, NONE);
  memory.copy(record + H_BALANCES, accountAt(accountSlot) + A_DEBITS_PENDING, 64);
  if (last == NONE) {
    store<u32>(head + AM_HISTORY_FIRST, index);
  } else {
    store<u32>(historyAt(last) + H_NEXT, index);
  }
  store<u32>(head + AM_HISTORY_LAST, index);
  S.historyCount = index + 1;
}

/** Removes the newest record, which must belong to `transferSlot` (rollback). */
export function historyPop(transferSlot: u32): void {
  assert(S.historyCount > 0, "history pop with no history");
  const index = S.historyCount - 1;
  const record = historyAt(index);
  assert(load<u32>(record + H_TRANSFER_SLOT) == transferSlot, "history pop of another transfer's record");
  const accountSlot = load<u32>(record + H_ACCOUNT_SLOT);
  const head = accountMetaAt(accountSlot);
  assert(load<u32>(head + AM_HISTORY_LAST) == index, "history pop of a record that is not its account's newest");
  const prev = load<u32>(record + H_PREV);
  assert(load<u32>(record + H_NEXT) == NONE, "the newest history record has a next");
  if (prev == NONE) {
    assert(load<u32>(head + AM_HISTORY_FIRST) == index, "an account's only history record is not its head");
    store<u32>(head + AM_HISTORY_FIRST, NONE);
  } else {
    assert(prev < index && load<u32>(historyAt(prev) + H_NEXT) == index, "history links disagree");
    store<u32>(historyAt(prev) + H_NEXT, NONE);
  }
  store<u32>(head + AM_HISTORY_LAST, prev);
  memory.fill(record, 0, 96);
  S.historyCount = index;
}
