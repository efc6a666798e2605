// State changes of create_transfers once an event has passed every check:
// apply a transfer, undo it (linked chain rollback), expire pending transfers.
//
// Nothing in here can fail; capacity was checked before. Every balance change
// goes through the checked u128 helpers, which trap on a broken invariant.

import { NONE, NS_PER_S, TIMESTAMP_MAX } from "./constants";
import { A_CREDITS_PENDING, A_CREDITS_POSTED, A_DEBITS_PENDING, A_DEBITS_POSTED, A_FLAGS, AF_CLOSED,
  AF_HISTORY, PENDING_EXPIRED, PENDING_NONE, PENDING_PENDING, PENDING_POSTED, PENDING_VOIDED, T_AMOUNT, T_CREDIT_ACCOUNT_ID, T_CODE,
  T_DEBIT_ACCOUNT_ID, T_FLAGS, T_ID, T_LEDGER, T_TIMEOUT, T_TIMESTAMP, T_USER_DATA_128,
  T_USER_DATA_32, T_USER_DATA_64, TF_CLOSING_CREDIT, TF_CLOSING_DEBIT, TF_PENDING, TF_POST_PENDING,
  TF_VOID_PENDING, TM_AUX, TM_BYTES, TM_CREDIT_SLOT, TM_DEBIT_SLOT, TM_HISTORY, TM_STATUS } from "./layout";
import { S, accountAt, physicalOf, recordAt, recordMetaAt, transferAt, transferMetaAt } from "./state";
import { idInsert, idInsertAtProbe, idRemove } from "./idtable";
import { addInPlaceChecked128, copy128, copyRecord128, differenceIs128, isZero128, lessThan128,
  subInPlaceChecked128 } from "./u128";
import { listAppend, listPop } from "./lists";
import { historyAppend, historyPop } from "./history";
import { expiryEmpty, expiryPush, expiryRemove, expiryTopExpiresAt, expiryTopSlot } from "./expiry";
import { isSide, sideResolved } from "./grid";

/** How many of the transfer's two accounts keep balance history (0..2). */
// @ts-ignore: decorator
@inline export function historyAccounts(debitSlot: u32, creditSlot: u32): u32 {
  const debit: u32 = (load<u16>(accountAt(debitSlot) + A_FLAGS) & AF_HISTORY) != 0 ? 1 : 0;
  const credit: u32 = (load<u16>(accountAt(creditSlot) + A_FLAGS) & AF_HISTORY) != 0 ? 1 : 0;
  return debit + credit;
}

// @ts-ignore: decorator
@inline function setClosed(accountSlot: u32, closed: bool): void {
  const flagsAt = accountAt(accountSlot) + A_FLAGS;
  const flags = load<u16>(flagsAt);
  assert(((flags & AF_CLOSED) != 0) != closed, closed ? "closing an account already closed" : "reopening an account not closed");
  store<u16>(flagsAt, closed ? flags | AF_CLOSED : flags & ~AF_CLOSED);
}

/** Links a new transfer into both account lists and records history. */
function linkAndRecord(slot: u32, debitSlot: u32, creditSlot: u32, timestamp: u64): void {
  assert(debitSlot != creditSlot, "a transfer linked into one account's list twice");
  const meta = transferMetaAt(slot);
  store<u32>(meta + TM_DEBIT_SLOT, debitSlot);
  store<u32>(meta + TM_CREDIT_SLOT, creditSlot);
  listAppend(debitSlot, slot);
  listAppend(creditSlot, slot);
  let records: u8 = 0;
  if ((load<u16>(accountAt(debitSlot) + A_FLAGS) & AF_HISTORY) != 0) {
    historyAppend(debitSlot, slot, timestamp);
    records++;
  }
  if ((load<u16>(accountAt(creditSlot) + A_FLAGS) & AF_HISTORY) != 0) {
    historyAppend(creditSlot, slot, timestamp);
    records++;
  }
  store<u8>(meta + TM_HISTORY, records);
}

/**
 * Creates a single-phase or pending transfer from event `t` with the actual
 * amount (amountLo, amountHi). The id's probe in the transfer id table must
 * still be where createTransfer's lookup left it.
 */
export function applySingle(t: usize, timestamp: u64, debitSlot: u32, creditSlot: u32,
  amountLo: u64, amountHi: u64): u32 {
  const slot = S.transferCount;
  // Transfer slots are in timestamp order (timestamps.ts searches them, lists and history rely on it).
  assert(slot == 0 || load<u64>(transferAt(slot - 1) + T_TIMESTAMP) < timestamp, "transfer timestamps out of slot order");
  const record = transferAt(slot);
  const flags = load<u16>(t + T_FLAGS);
  assert((flags & (TF_POST_PENDING | TF_VOID_PENDING)) == 0, "post or void applied as a single transfer");
  copyRecord128(record, t);
  store<u64>(record + T_AMOUNT, amountLo);
  store<u64>(record + T_AMOUNT + 8, amountHi);
  store<u64>(record + T_TIMESTAMP, timestamp);
  idInsertAtProbe(S.transferIds, physicalOf(slot) + 1);
  S.transferCount = slot + 1;

  const debit = accountAt(debitSlot);
  const credit = accountAt(creditSlot);
  const pending = (flags & TF_PENDING) != 0;
  const debitAt = debit + (pending ? A_DEBITS_PENDING : A_DEBITS_POSTED);
  const creditAt = credit + (pending ? A_CREDITS_PENDING : A_CREDITS_POSTED);
  const debitLo = load<u64>(debitAt);
  const debitHi = load<u64>(debitAt, 8);
  const creditLo = load<u64>(creditAt);
  const creditHi = load<u64>(creditAt, 8);
  addInPlaceChecked128(debitAt, amountLo, amountHi);
  addInPlaceChecked128(creditAt, amountLo, amountHi);
  // Double entry: the debit side and the credit side each grew by exactly the amount.
  assert(differenceIs128(load<u64>(debitAt), load<u64>(debitAt, 8), debitLo, debitHi, amountLo, amountHi) &&
    differenceIs128(load<u64>(creditAt), load<u64>(creditAt, 8), creditLo, creditHi, amountLo, amountHi),
    "debits and credits did not both grow by exactly the amount");
  if ((flags & TF_CLOSING_DEBIT) != 0) setClosed(debitSlot, true);
  if ((flags & TF_CLOSING_CREDIT) != 0) setClosed(creditSlot, true);

  const meta = transferMetaAt(slot);
  store<u32>(meta + TM_AUX, NONE);
  store<u8>(meta + TM_STATUS, pending ? PENDING_PENDING : PENDING_NONE);
  linkAndRecord(slot, debitSlot, creditSlot, timestamp);
  if (pending) {
    S.pendingCount++;
    // checkCapacity answered pending_full and history_full before anything changed.
    assert(S.pendingCount <= S.pendingMax, "pending transfers over pending_max");
    S.historyReserved += historyAccounts(debitSlot, creditSlot);
    assert(<u64>(S.historyCount - S.historyFirst) + <u64>S.historyReserved <= <u64>S.historyMax, "history reservations over history_max");
    const timeout = load<u32>(t + T_TIMEOUT);
    if (timeout != 0) expiryPush(physicalOf(slot), timestamp + <u64>timeout * NS_PER_S);
  }
  return slot;
}

/** Writes the post/void record for event `t` resolving the pending transfer at `p`. */
function writePostOrVoidRecord(t: usize, record: usize, p: usize, timestamp: u64,
  amountLo: u64, amountHi: u64): void {
  assert(record == transferAt(S.transferCount), "post or void written outside the newest slot");
  // createPostOrVoid checked the amount against the pending one: a post or void moves at most that.
  assert(!lessThan128(load<u64>(p + T_AMOUNT), load<u64>(p + T_AMOUNT + 8), amountLo, amountHi),
    "post or void amount exceeds the pending amount");
  copyRecord128(record, t);
  copy128(record + T_DEBIT_ACCOUNT_ID, p + T_DEBIT_ACCOUNT_ID);
  copy128(record + T_CREDIT_ACCOUNT_ID, p + T_CREDIT_ACCOUNT_ID);
  store<u64>(record + T_AMOUNT, amountLo);
  store<u64>(record + T_AMOUNT + 8, amountHi);
  // Zero user data means "inherit from the pending transfer".
  if (isZero128(t + T_USER_DATA_128)) copy128(record + T_USER_DATA_128, p + T_USER_DATA_128);
  if (load<u64>(t + T_USER_DATA_64) == 0) store<u64>(record + T_USER_DATA_64, load<u64>(p + T_USER_DATA_64));
  if (load<u32>(t + T_USER_DATA_32) == 0) store<u32>(record + T_USER_DATA_32, load<u32>(p + T_USER_DATA_32));
  store<u32>(record + T_TIMEOUT, 0);
  store<u32>(record + T_LEDGER, load<u32>(p + T_LEDGER));
  store<u16>(record + T_CODE, load<u16>(p + T_CODE));
  store<u64>(record + T_TIMESTAMP, timestamp);
}

/** Posts or voids the pending transfer at record index `pending` with event `t` and the actual amount. */
export function applyPostOrVoid(t: usize, timestamp: u64, pending: u32,
  amountLo: u64, amountHi: u64): void {
  const p = recordAt(pending);
  const pendingMeta = recordMetaAt(pending);
  const debitSlot = load<u32>(pendingMeta + TM_DEBIT_SLOT);
  const creditSlot = load<u32>(pendingMeta + TM_CREDIT_SLOT);
  const flags = load<u16>(t + T_FLAGS);
  const post = (flags & TF_POST_PENDING) != 0;
  assert(load<u8>(pendingMeta + TM_STATUS) == PENDING_PENDING, "post or void of a transfer that is not pending");
  assert(pending < S.transferIds.limit && (load<u16>(p + T_FLAGS) & TF_PENDING) != 0, "post or void of a transfer that is not pending");
  assert(post != ((flags & TF_VOID_PENDING) != 0), "post and void are exclusive");

  const slot = S.transferCount;
  assert(load<u64>(transferAt(slot - 1) + T_TIMESTAMP) < timestamp, "transfer timestamps out of slot order");
  writePostOrVoidRecord(t, transferAt(slot), p, timestamp, amountLo, amountHi);
  idInsert(S.transferIds, load<u64>(t + T_ID), load<u64>(t + T_ID + 8), physicalOf(slot) + 1);
  S.transferCount = slot + 1;

  store<u8>(pendingMeta + TM_STATUS, post ? PENDING_POSTED : PENDING_VOIDED);
  if (isSide(pending)) sideResolved(pending);
  if (load<u32>(p + T_TIMEOUT) != 0) expiryRemove(pending);
  releasePending(p, debitSlot, creditSlot);
  if (post) {
    const debitAt = accountAt(debitSlot) + A_DEBITS_POSTED;
    const creditAt = accountAt(creditSlot) + A_CREDITS_POSTED;
    const debitLo = load<u64>(debitAt);
    const debitHi = load<u64>(debitAt, 8);
    const creditLo = load<u64>(creditAt);
    const creditHi = load<u64>(creditAt, 8);
    addInPlaceChecked128(debitAt, amountLo, amountHi);
    addInPlaceChecked128(creditAt, amountLo, amountHi);
    assert(differenceIs128(load<u64>(debitAt), load<u64>(debitAt, 8), debitLo, debitHi, amountLo, amountHi),
      "debits_posted did not grow by exactly the posted amount");
    assert(differenceIs128(load<u64>(creditAt), load<u64>(creditAt, 8), creditLo, creditHi, amountLo, amountHi),
      "credits_posted did not grow by exactly the posted amount");
  }
  const meta = transferMetaAt(slot);
  // Rollback restores the pending transfer through this reference (a record index).
  store<u32>(meta + TM_AUX, pending);
  store<u8>(meta + TM_STATUS, PENDING_NONE);
  const k = historyAccounts(debitSlot, creditSlot);
  // The pending transfer reserved the records its resolution appends now.
  assert(S.historyReserved >= k, "post or void without its reserved history");
  S.historyReserved -= k;
  linkAndRecord(slot, debitSlot, creditSlot, timestamp);
}

/** Removes pending transfer p's amount from pending balances and reopens what it closed. */
function releasePending(p: usize, debitSlot: u32, creditSlot: u32): void {
  const flags = load<u16>(p + T_FLAGS);
  assert((flags & TF_PENDING) != 0, "release of a transfer that is not pending");
  const amountLo = load<u64>(p + T_AMOUNT);
  const amountHi = load<u64>(p + T_AMOUNT + 8);
  const debitAt = accountAt(debitSlot) + A_DEBITS_PENDING;
  const creditAt = accountAt(creditSlot) + A_CREDITS_PENDING;
  const debitLo = load<u64>(debitAt);
  const debitHi = load<u64>(debitAt, 8);
  const creditLo = load<u64>(creditAt);
  const creditHi = load<u64>(creditAt, 8);
  subInPlaceChecked128(debitAt, amountLo, amountHi);
  subInPlaceChecked128(creditAt, amountLo, amountHi);
  // What the pending transfer added to the pending balances (applySingle) comes off exactly.
  assert(differenceIs128(debitLo, debitHi, load<u64>(debitAt), load<u64>(debitAt, 8), amountLo, amountHi),
    "debits_pending did not shrink by exactly the pending amount");
  assert(differenceIs128(creditLo, creditHi, load<u64>(creditAt), load<u64>(creditAt, 8), amountLo, amountHi),
    "credits_pending did not shrink by exactly the pending amount");
  if ((flags & TF_CLOSING_DEBIT) != 0) setClosed(debitSlot, false);
  if ((flags & TF_CLOSING_CREDIT) != 0) setClosed(creditSlot, false);
  assert(S.pendingCount > 0, "release with no pending transfer counted");
  S.pendingCount--;
  assert(S.expiryCount <= S.pendingCount, "expiry heap holds more than the pending transfers");
}

/** Puts the pending amount of the transfer at record index `pending` back (rollback of a post or void). */
function restorePending(pending: u32, debitSlot: u32, creditSlot: u32): void {
  // Only what a post or void in the rolled-back chain resolved comes back.
  const status = load<u8>(recordMetaAt(pending) + TM_STATUS);
  assert(status == PENDING_POSTED || status == PENDING_VOIDED, "restore of a transfer that was not posted or voided");
  const p = recordAt(pending);
  const amountLo = load<u64>(p + T_AMOUNT);
  const amountHi = load<u64>(p + T_AMOUNT + 8);
  addInPlaceChecked128(accountAt(debitSlot) + A_DEBITS_PENDING, amountLo, amountHi);
  addInPlaceChecked128(accountAt(creditSlot) + A_CREDITS_PENDING, amountLo, amountHi);
  const flags = load<u16>(p + T_FLAGS);
  if ((flags & TF_CLOSING_DEBIT) != 0) setClosed(debitSlot, true);
  if ((flags & TF_CLOSING_CREDIT) != 0) setClosed(creditSlot, true);
  store<u8>(recordMetaAt(pending) + TM_STATUS, PENDING_PENDING);
  S.pendingCount++;
  assert(S.pendingCount <= S.pendingMax, "pending transfers over pending_max after a restore");
  const timeout = load<u32>(p + T_TIMEOUT);
  if (timeout != 0) expiryPush(pending, load<u64>(p + T_TIMESTAMP) + <u64>timeout * NS_PER_S);
}

/** Undoes the newest transfer (a linked chain failed). */
export function rollbackTransfer(slot: u32): void {
  assert(slot + 1 == S.transferCount, "transfer rollback of a transfer that is not the newest");
  const record = transferAt(slot);
  const meta = transferMetaAt(slot);
  const flags = load<u16>(record + T_FLAGS);
  assert(load<u8>(meta + TM_HISTORY) <= 2, "a transfer appended more than two history records");
  const debitSlot = load<u32>(meta + TM_DEBIT_SLOT);
  const creditSlot = load<u32>(meta + TM_CREDIT_SLOT);
  const amountLo = load<u64>(record + T_AMOUNT);
  const amountHi = load<u64>(record + T_AMOUNT + 8);
  for (let i: u8 = load<u8>(meta + TM_HISTORY); i > 0; i--) historyPop(slot);
  listPop(debitSlot, slot);
  listPop(creditSlot, slot);
  const k = historyAccounts(debitSlot, creditSlot);
  if ((flags & (TF_POST_PENDING | TF_VOID_PENDING)) != 0) {
    if ((flags & TF_POST_PENDING) != 0) {
      subInPlaceChecked128(accountAt(debitSlot) + A_DEBITS_POSTED, amountLo, amountHi);
      subInPlaceChecked128(accountAt(creditSlot) + A_CREDITS_POSTED, amountLo, amountHi);
    }
    // The pending transfer a post or void resolved came before it: another record.
    assert(load<u32>(meta + TM_AUX) != physicalOf(slot), "post or void resolving itself");
    restorePending(load<u32>(meta + TM_AUX), debitSlot, creditSlot);
    S.historyReserved += k;
  } else {
    const pending = (flags & TF_PENDING) != 0;
    subInPlaceChecked128(accountAt(debitSlot) + (pending ? A_DEBITS_PENDING : A_DEBITS_POSTED), amountLo, amountHi);
    subInPlaceChecked128(accountAt(creditSlot) + (pending ? A_CREDITS_PENDING : A_CREDITS_POSTED), amountLo, amountHi);
    if ((flags & TF_CLOSING_DEBIT) != 0) setClosed(debitSlot, false);
    if ((flags & TF_CLOSING_CREDIT) != 0) setClosed(creditSlot, false);
    if (pending) {
      // A chain rolls back before anything later resolves its pending transfers.
      assert(load<u8>(meta + TM_STATUS) == PENDING_PENDING, "rollback of a pending transfer already resolved");
      if (load<u32>(meta + TM_AUX) != NONE) expiryRemove(physicalOf(slot));
      assert(S.pendingCount > 0 && S.historyReserved >= k, "rollback of a pending transfer not counted");
      S.pendingCount--;
      S.historyReserved -= k;
    }
  }
  idRemove(S.transferIds, load<u64>(record + T_ID), load<u64>(record + T_ID + 8));
  memory.fill(record, 0, 128);
  memory.fill(meta, 0, TM_BYTES);
  S.transferCount = slot;
  assert(S.transferIds.count >= S.transferCount - S.transferFirst, "a transfer without its id entry after rollback");
}

/**
 * Expires every pending transfer whose expiry is at or before `cutoff`, in
 * (expires_at, timestamp) order. Expiry records no balance history.
 */
export function expirePending(cutoff: u64): u32 {
  let expired: u32 = 0;
  assert(cutoff <= TIMESTAMP_MAX + 1, "expiry cutoff past the clock's range");
  while (!expiryEmpty() && expiryTopExpiresAt() <= cutoff) {
    const pending = expiryTopSlot();
    const meta = recordMetaAt(pending);
    const debitSlot = load<u32>(meta + TM_DEBIT_SLOT);
    const creditSlot = load<u32>(meta + TM_CREDIT_SLOT);
    // Only an unresolved pending transfer with a timeout waits in the heap.
    assert(load<u8>(meta + TM_STATUS) == PENDING_PENDING && load<u32>(recordAt(pending) + T_TIMEOUT) != 0,
      "expiry of a transfer that is not pending with a timeout");
    expiryRemove(pending);
    store<u8>(meta + TM_STATUS, PENDING_EXPIRED);
    if (isSide(pending)) sideResolved(pending);
    releasePending(recordAt(pending), debitSlot, creditSlot);
    const k = historyAccounts(debitSlot, creditSlot);
    assert(S.historyReserved >= k, "expiry releases history it never reserved");
    S.historyReserved -= k;
    expired++;
  }
  return expired;
}
