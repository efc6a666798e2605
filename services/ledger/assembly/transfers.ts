// create_transfers: every check in TigerBeetle's documented order of
// precedence, then the state change (transfer_apply.ts).
//
// The batch-level checks (linked chains, imported mixing, timestamps) run in
// batch.ts before createTransfer is called. QENEX's capacity results come
// where documented in results.ts.

import { BATCH_EVENTS_MAX, NONE, NS_PER_S, RECORD_BYTES, TIMESTAMP_MAX } from "./constants";
import { A_CREDITS_PENDING, A_CREDITS_POSTED, A_DEBITS_PENDING, A_DEBITS_POSTED, A_FLAGS, A_LEDGER,
  A_TIMESTAMP, AF_CLOSED, AM_TRANSFERS_LAST, AF_CREDITS_MUST_NOT_EXCEED_DEBITS, AF_DEBITS_MUST_NOT_EXCEED_CREDITS,
  PENDING_EXPIRED, PENDING_PENDING, PENDING_POSTED, PENDING_VOIDED, T_AMOUNT, T_CODE, T_CREDIT_ACCOUNT_ID,
  T_DEBIT_ACCOUNT_ID, T_FLAGS, T_ID, T_LEDGER, T_PENDING_ID, T_TIMEOUT, T_TIMESTAMP,
  TF_BALANCING_CREDIT, TF_BALANCING_DEBIT, TF_CLOSING_CREDIT, TF_CLOSING_DEBIT, TF_IMPORTED, TF_KNOWN,
  TF_PENDING, TF_POST_PENDING, TF_VOID_PENDING, TM_CREDIT_SLOT, TM_DEBIT_SLOT, TM_STATUS } from "./layout";
import { TransferResult } from "./results";
import { S, accountAt, accountMetaAt, recordAt, recordMetaAt, transferAt, transferMetaAt } from "./state";
import { ID_ORPHAN, idFind, idGet, idInsert, idLookup, idTouch } from "./idtable";
import { addOverflows128, copy128, equal128, isMax128, isZero128, lessThan128, subSaturating128, sumHi,
  sumLo } from "./u128";
import { accountTimestampExists, transferTimestampLast } from "./timestamps";
import { transferExists } from "./transfer_exists";
import { gridOrphan } from "./grid";
import { FOUND_ORPHAN, FOUND_TRANSFER, findIdResult, findMarkOrphan, findRecord, findStatus } from "./finds";
import { applyPostOrVoid, applySingle, historyAccounts } from "./transfer_apply";
import { scopeHides } from "./scope";

// The debit and credit accounts of each event in the batch, as id-table
// values (slot + 1, or 0 when absent), resolved before the events run.
// create_transfers never creates accounts, so the answers cannot change
// while the batch runs.
//
// Nearly every cost of applying a transfer is a cache miss: the transfer id
// table is large and hashed, and any account may be touched. WebAssembly has
// no prefetch instruction, but a tight loop of independent loads lets the
// CPU overlap many misses instead of taking them one by one. So the batch is
// resolved a chunk at a time, in passes whose loads do not depend on each
// other within a pass: (1) the id-table entries of the transfer ids (the
// lookup in createTransfer then finds its line cached), (2) the account
// lookups, which read the first line of each account record, (3) the second
// line of each account record and its list heads, (4) the metadata of each
// account's newest transfer, which listAppend links to. A chunk is small
// enough that what it touched is still cached when its events run.
// (Interleaving the touches with the events instead, a few events ahead,
// measured slower: each touch that misses still stalls the CPU when it is
// the oldest instruction, and only a dense loop keeps many misses in flight.)
const batchDebitFound: usize = heap.alloc(<usize>BATCH_EVENTS_MAX << 2);
const batchCreditFound: usize = heap.alloc(<usize>BATCH_EVENTS_MAX << 2);
/** Sink for the touching loads, so the optimizer keeps them. */
let prefetchSink: u32 = 0;

/** Events resolved per chunk. */
export const RESOLVE_CHUNK: u32 = 256;

/** Resolves (and touches the memory of) events from..to-1 of the batch at `events`. */
export function transferBatchResolve(events: usize, from: u32, to: u32): void {
  assert(from <= to && to <= BATCH_EVENTS_MAX, "resolve range outside the batch");
  assert(to - from <= RESOLVE_CHUNK, "resolve chunk larger than what stays cached");
  let sink: u32 = 0;
  const transferEntries = S.transferIds.entries;
  const transferMask = S.transferIds.mask;
  // idLookup and idTouch take the mask as it is: a capacity that is a power of two, less one.
  assert((transferMask & (transferMask + 1)) == 0 && (S.accountIds.mask & (S.accountIds.mask + 1)) == 0,
    "id table mask is not a power of two less one");
  for (let index: u32 = from; index < to; index++) {
    const t = events + <usize>index * RECORD_BYTES;
    sink ^= idTouch(transferEntries, transferMask, load<u64>(t + T_ID), load<u64>(t + T_ID + 8));
  }
  const accountEntries = S.accountIds.entries;
  const accountRecords = S.accountIds.records;
  const accountMask = S.accountIds.mask;
  for (let index: u32 = from; index < to; index++) {
    const t = events + <usize>index * RECORD_BYTES;
    const debit = idLookup(accountEntries, accountRecords, accountMask,
      load<u64>(t + T_DEBIT_ACCOUNT_ID), load<u64>(t + T_DEBIT_ACCOUNT_ID + 8));
    const credit = idLookup(accountEntries, accountRecords, accountMask,
      load<u64>(t + T_CREDIT_ACCOUNT_ID), load<u64>(t + T_CREDIT_ACCOUNT_ID + 8));
    store<u32>(batchDebitFound + (<usize>index << 2), debit);
    store<u32>(batchCreditFound + (<usize>index << 2), credit);
  }
  for (let index: u32 = from; index < to; index++) {
    const debit = load<u32>(batchDebitFound + (<usize>index << 2));
    const credit = load<u32>(batchCreditFound + (<usize>index << 2));
    if (debit != 0) sink ^= touchAccount(debit - 1);
    if (credit != 0) sink ^= touchAccount(credit - 1);
  }
  for (let index: u32 = from; index < to; index++) {
    const debit = load<u32>(batchDebitFound + (<usize>index << 2));
    const credit = load<u32>(batchCreditFound + (<usize>index << 2));
    if (debit != 0) sink ^= touchNewestTransfer(debit - 1);
    if (credit != 0) sink ^= touchNewestTransfer(credit - 1);
  }
  prefetchSink ^= sink;
}

/** Loads one word from each cache line of an account's record, and its list heads. */
// @ts-ignore: decorator
@inline function touchAccount(slot: u32): u32 {
  const record = accountAt(slot);
  return load<u32>(record + A_DEBITS_PENDING) ^ load<u32>(record + A_CREDITS_POSTED) ^
    load<u32>(accountMetaAt(slot) + AM_TRANSFERS_LAST);
}

/** Loads the metadata of the account's newest transfer, if any. */
// @ts-ignore: decorator
@inline function touchNewestTransfer(slot: u32): u32 {
  const last = load<u32>(accountMetaAt(slot) + AM_TRANSFERS_LAST);
  return last != NONE ? load<u32>(transferMetaAt(last)) : 0;
}

// Ids of transfers that failed with a transient result ("orphans") stay in
// the transfer id table, so that a retry fails with id_already_failed. The
// table keeps ids in records, so an orphan's id is kept in a transfer slot
// taken from the top of the transfer table down: orphan k in slot
// transfers_max - 1 - k. Transfers and orphans share the table's limit of
// transfers_max ids, so the two regions never meet, and a value whose slot
// is at or past transferCount is an orphan.

/**
 * Looks a transfer id up in memory: its record index + 1 (state.ts),
 * ID_ORPHAN for an orphan, or 0. On a grid, orphans live in transfers.id
 * and the table's values past the ring are the side table's pending
 * transfers (grid.ts); an id not in memory may be in the trees (finds.ts).
 */
// @ts-ignore: decorator
@inline export function transferIdFind(lo: u64, hi: u64): u32 {
  const value = idFind(S.transferIds, lo, hi);
  return !S.grid && value > S.transferCount ? ID_ORPHAN : value;
}

/** transferIdFind without remembering the probe: for reads, which change nothing. */
// @ts-ignore: decorator
@inline export function transferIdGet(lo: u64, hi: u64): u32 {
  const value = idGet(S.transferIds, lo, hi);
  return !S.grid && value > S.transferCount ? ID_ORPHAN : value;
}

/** Remembers the id of event `t`, which failed with a transient result. */
export function transferOrphanInsert(t: usize): void {
  if (S.grid) {
    // transfers.id keeps it (its memtable has room for a batch's: gridMakeRoom),
    // and a later event of this batch with the same id finds it there.
    gridOrphan(t + T_ID);
    findMarkOrphan(t + T_ID);
    return;
  }
  const table = S.transferIds;
  // createTransfer answered transfers_full before any transient result, so there is room.
  assert(table.count < table.limit, "orphan id with the transfer id table full");
  assert(table.count >= S.transferCount, "a transfer without its id entry");
  const orphans = table.count - S.transferCount;
  const slot = S.transfersMax - 1 - orphans;
  assert(slot >= S.transferCount, "orphan slot inside the transfers");
  const record = transferAt(slot);
  copy128(record + T_ID, t + T_ID);
  idInsert(table, load<u64>(t + T_ID), load<u64>(t + T_ID + 8), slot + 1);
  assert(table.count - S.transferCount == orphans + 1, "orphan count did not grow by one");
}

/** Validates transfer `t`, event `index` of the resolved batch, and applies it at `timestamp`. */
export function createTransfer(t: usize, timestamp: u64, index: u32): TransferResult {
  const flags = load<u16>(t + T_FLAGS);
  if ((flags & ~TF_KNOWN) != 0) return TransferResult.reserved_flag;
  if (isZero128(t + T_ID)) return TransferResult.id_must_not_be_zero;
  if (isMax128(t + T_ID)) return TransferResult.id_must_not_be_int_max;
  const found = transferIdFind(load<u64>(t + T_ID), load<u64>(t + T_ID + 8));
  if (found == ID_ORPHAN) return TransferResult.id_already_failed;
  if (found != 0) {
    // Taken on a ledger outside the caller's scope: one answer, whatever the guess (scope.ts).
    if (scopeHides(load<u32>(recordAt(found - 1) + T_LEDGER))) return TransferResult.exists_with_different_ledger;
    return transferExists(t, recordAt(found - 1));
  }
  if (S.grid) {
    // Not in memory: what the trees said (finds.ts, found before the batch).
    const cold = findIdResult(t + T_ID);
    if (cold == FOUND_ORPHAN) return TransferResult.id_already_failed;
    if (cold == FOUND_TRANSFER) {
      const e = findRecord();
      if (scopeHides(load<u32>(e + T_LEDGER))) return TransferResult.exists_with_different_ledger;
      return transferExists(t, e);
    }
  }
  if (S.transferIds.count >= S.transferIds.limit) return TransferResult.transfers_full;
  if ((flags & (TF_POST_PENDING | TF_VOID_PENDING)) != 0) return createPostOrVoid(t, timestamp, flags);
  return createSingle(t, timestamp, flags, index);
}

/** The field checks of a single-phase or pending transfer, up to the account lookups. */
function checkSingleFields(t: usize, flags: u16): TransferResult {
  assert((flags & (TF_POST_PENDING | TF_VOID_PENDING)) == 0, "post or void checked as a single transfer");
  if (isZero128(t + T_DEBIT_ACCOUNT_ID)) return TransferResult.debit_account_id_must_not_be_zero;
  if (isMax128(t + T_DEBIT_ACCOUNT_ID)) return TransferResult.debit_account_id_must_not_be_int_max;
  if (isZero128(t + T_CREDIT_ACCOUNT_ID)) return TransferResult.credit_account_id_must_not_be_zero;
  if (isMax128(t + T_CREDIT_ACCOUNT_ID)) return TransferResult.credit_account_id_must_not_be_int_max;
  if (equal128(t + T_DEBIT_ACCOUNT_ID, t + T_CREDIT_ACCOUNT_ID)) return TransferResult.accounts_must_be_different;
  if (!isZero128(t + T_PENDING_ID)) return TransferResult.pending_id_must_be_zero;
  if ((flags & TF_PENDING) == 0) {
    if (load<u32>(t + T_TIMEOUT) != 0) return TransferResult.timeout_reserved_for_pending_transfer;
    if ((flags & (TF_CLOSING_DEBIT | TF_CLOSING_CREDIT)) != 0) {
      return TransferResult.closing_transfer_must_be_pending;
    }
  }
  if (load<u32>(t + T_LEDGER) == 0) return TransferResult.ledger_must_not_be_zero;
  if (load<u16>(t + T_CODE) == 0) return TransferResult.code_must_not_be_zero;
  return TransferResult.created;
}

/** Imported timestamps must not regress and, on the single path, postdate both accounts. */
function checkImportedTimestamp(timestamp: u64): TransferResult {
  // batch.ts answered imported_event_timestamp_out_of_range for 0 and past TIMESTAMP_MAX.
  assert(timestamp != 0 && timestamp <= TIMESTAMP_MAX, "imported timestamp out of range");
  if (timestamp <= transferTimestampLast() || accountTimestampExists(timestamp)) {
    return TransferResult.imported_event_timestamp_must_not_regress;
  }
  return TransferResult.created;
}

function createSingle(t: usize, timestamp: u64, flags: u16, index: u32): TransferResult {
  const fields = checkSingleFields(t, flags);
  if (fields != TransferResult.created) return fields;
  const debitFound = load<u32>(batchDebitFound + (<usize>index << 2));
  if (debitFound == 0 || scopeHides(load<u32>(accountAt(debitFound - 1) + A_LEDGER))) return TransferResult.debit_account_not_found;
  const creditFound = load<u32>(batchCreditFound + (<usize>index << 2));
  if (creditFound == 0 || scopeHides(load<u32>(accountAt(creditFound - 1) + A_LEDGER))) return TransferResult.credit_account_not_found;
  // Resolved by transferBatchResolve (create_transfers never creates accounts), and
  // different ids (checked above) name different accounts.
  assert(debitFound <= S.accountCount && creditFound <= S.accountCount && debitFound != creditFound,
    "resolved accounts not stored, or one account for two ids");
  const debit = accountAt(debitFound - 1);
  const credit = accountAt(creditFound - 1);
  const ledger = load<u32>(debit + A_LEDGER);
  if (ledger != load<u32>(credit + A_LEDGER)) return TransferResult.accounts_must_have_the_same_ledger;
  if (load<u32>(t + T_LEDGER) != ledger) return TransferResult.transfer_must_have_the_same_ledger_as_accounts;
  if ((flags & TF_IMPORTED) != 0) {
    const imported = checkImportedTimestamp(timestamp);
    if (imported != TransferResult.created) return imported;
    if (timestamp <= load<u64>(debit + A_TIMESTAMP)) {
      return TransferResult.imported_event_timestamp_must_postdate_debit_account;
    }
    if (timestamp <= load<u64>(credit + A_TIMESTAMP)) {
      return TransferResult.imported_event_timestamp_must_postdate_credit_account;
    }
    if (load<u32>(t + T_TIMEOUT) != 0) return TransferResult.imported_event_timeout_must_be_zero;
  }
  if ((load<u16>(debit + A_FLAGS) & AF_CLOSED) != 0) return TransferResult.debit_account_already_closed;
  if ((load<u16>(credit + A_FLAGS) & AF_CLOSED) != 0) return TransferResult.credit_account_already_closed;

  // Balancing transfers move at most `amount`, as much as the limits allow.
  let amountLo = load<u64>(t + T_AMOUNT);
  let amountHi = load<u64>(t + T_AMOUNT + 8);
  if ((flags & TF_BALANCING_DEBIT) != 0) {
    const overflowed = addOverflows128(load<u64>(debit + A_DEBITS_POSTED), load<u64>(debit + A_DEBITS_POSTED + 8),
      load<u64>(debit + A_DEBITS_PENDING), load<u64>(debit + A_DEBITS_PENDING + 8));
    assert(!overflowed, "debits_posted + debits_pending overflows u128");
    subSaturating128(load<u64>(debit + A_CREDITS_POSTED), load<u64>(debit + A_CREDITS_POSTED + 8), sumLo, sumHi);
    if (lessThan128(sumLo, sumHi, amountLo, amountHi)) { amountLo = sumLo; amountHi = sumHi; }
    // Balancing only ever lowers the amount.
    assert(!lessThan128(load<u64>(t + T_AMOUNT), load<u64>(t + T_AMOUNT + 8), amountLo, amountHi), "balancing raised the amount");
  }
  if ((flags & TF_BALANCING_CREDIT) != 0) {
    const overflowed = addOverflows128(load<u64>(credit + A_CREDITS_POSTED), load<u64>(credit + A_CREDITS_POSTED + 8),
      load<u64>(credit + A_CREDITS_PENDING), load<u64>(credit + A_CREDITS_PENDING + 8));
    assert(!overflowed, "credits_posted + credits_pending overflows u128");
    subSaturating128(load<u64>(credit + A_DEBITS_POSTED), load<u64>(credit + A_DEBITS_POSTED + 8), sumLo, sumHi);
    if (lessThan128(sumLo, sumHi, amountLo, amountHi)) { amountLo = sumLo; amountHi = sumHi; }
    assert(!lessThan128(load<u64>(t + T_AMOUNT), load<u64>(t + T_AMOUNT + 8), amountLo, amountHi), "balancing raised the amount");
  }
  const balances = checkBalances(t, timestamp, flags, debit, credit, amountLo, amountHi);
  if (balances != TransferResult.created) return balances;
  const capacity = checkCapacity(flags, debitFound - 1, creditFound - 1);
  if (capacity != TransferResult.created) return capacity;
  applySingle(t, timestamp, debitFound - 1, creditFound - 1, amountLo, amountHi);
  return TransferResult.created;
}

/** Overflow, timeout and limit checks for moving (amountLo, amountHi). */
function checkBalances(t: usize, timestamp: u64, flags: u16, debit: usize, credit: usize,
  amountLo: u64, amountHi: u64): TransferResult {
  if ((flags & TF_PENDING) != 0) {
    if (addOverflows128(amountLo, amountHi, load<u64>(debit + A_DEBITS_PENDING), load<u64>(debit + A_DEBITS_PENDING + 8))) {
      return TransferResult.overflows_debits_pending;
    }
    if (addOverflows128(amountLo, amountHi, load<u64>(credit + A_CREDITS_PENDING), load<u64>(credit + A_CREDITS_PENDING + 8))) {
      return TransferResult.overflows_credits_pending;
    }
  }
  if (addOverflows128(amountLo, amountHi, load<u64>(debit + A_DEBITS_POSTED), load<u64>(debit + A_DEBITS_POSTED + 8))) {
    return TransferResult.overflows_debits_posted;
  }
  if (addOverflows128(amountLo, amountHi, load<u64>(credit + A_CREDITS_POSTED), load<u64>(credit + A_CREDITS_POSTED + 8))) {
    return TransferResult.overflows_credits_posted;
  }
  // debits_pending + debits_posted never overflows: every transfer checks it below.
  let overflowed = addOverflows128(load<u64>(debit + A_DEBITS_PENDING), load<u64>(debit + A_DEBITS_PENDING + 8),
    load<u64>(debit + A_DEBITS_POSTED), load<u64>(debit + A_DEBITS_POSTED + 8));
  assert(!overflowed, "debits_pending + debits_posted overflows u128");
  if (addOverflows128(amountLo, amountHi, sumLo, sumHi)) return TransferResult.overflows_debits;
  const debitsLo = sumLo;
  const debitsHi = sumHi;
  overflowed = addOverflows128(load<u64>(credit + A_CREDITS_PENDING), load<u64>(credit + A_CREDITS_PENDING + 8),
    load<u64>(credit + A_CREDITS_POSTED), load<u64>(credit + A_CREDITS_POSTED + 8));
  assert(!overflowed, "credits_pending + credits_posted overflows u128");
  if (addOverflows128(amountLo, amountHi, sumLo, sumHi)) return TransferResult.overflows_credits;
  const creditsLo = sumLo;
  const creditsHi = sumHi;
  // timestamp < 2^63 and timeout * 1e9 < 2^63, so the u64 sum cannot wrap.
  if (timestamp + <u64>load<u32>(t + T_TIMEOUT) * NS_PER_S > TIMESTAMP_MAX) return TransferResult.overflows_timeout;
  if ((load<u16>(debit + A_FLAGS) & AF_DEBITS_MUST_NOT_EXCEED_CREDITS) != 0 &&
    lessThan128(load<u64>(debit + A_CREDITS_POSTED), load<u64>(debit + A_CREDITS_POSTED + 8), debitsLo, debitsHi)) {
    return TransferResult.exceeds_credits;
  }
  if ((load<u16>(credit + A_FLAGS) & AF_CREDITS_MUST_NOT_EXCEED_DEBITS) != 0 &&
    lessThan128(load<u64>(credit + A_DEBITS_POSTED), load<u64>(credit + A_DEBITS_POSTED + 8), creditsLo, creditsHi)) {
    return TransferResult.exceeds_debits;
  }
  return TransferResult.created;
}

/** QENEX capacity: pending slots, and history records (a pending one reserves its resolution's). */
function checkCapacity(flags: u16, debitSlot: u32, creditSlot: u32): TransferResult {
  const pending = (flags & TF_PENDING) != 0;
  if (pending && S.pendingCount >= S.pendingMax) return TransferResult.pending_full;
  const records = historyAccounts(debitSlot, creditSlot);
  // The invariant every earlier transfer kept: promised records fit what is left.
  assert(<u64>(S.historyCount - S.historyFirst) + <u64>S.historyReserved <= <u64>S.historyMax, "history reservations exceed history_max");
  const needed = pending ? records * 2 : records;
  if (<u64>(S.historyCount - S.historyFirst) + <u64>S.historyReserved + <u64>needed > <u64>S.historyMax) {
    return TransferResult.history_full;
  }
  return TransferResult.created;
}

function createPostOrVoid(t: usize, timestamp: u64, flags: u16): TransferResult {
  const exclusive = TF_PENDING | TF_BALANCING_DEBIT | TF_BALANCING_CREDIT | TF_CLOSING_DEBIT | TF_CLOSING_CREDIT;
  const both = TF_POST_PENDING | TF_VOID_PENDING;
  if ((flags & both) == both || (flags & exclusive) != 0) return TransferResult.flags_are_mutually_exclusive;
  if (isZero128(t + T_PENDING_ID)) return TransferResult.pending_id_must_not_be_zero;
  if (isMax128(t + T_PENDING_ID)) return TransferResult.pending_id_must_not_be_int_max;
  if (equal128(t + T_PENDING_ID, t + T_ID)) return TransferResult.pending_id_must_be_different;
  if (load<u32>(t + T_TIMEOUT) != 0) return TransferResult.timeout_reserved_for_pending_transfer;
  const found = transferIdFind(load<u64>(t + T_PENDING_ID), load<u64>(t + T_PENDING_ID + 8));
  if (found == ID_ORPHAN) return TransferResult.pending_transfer_not_found;
  // A record index (state.ts): where the pending transfer's record is; NONE: in the trees only.
  let pending = NONE;
  let p: usize = 0;
  if (found != 0) {
    pending = found - 1;
    assert(pending < S.transferIds.limit, "pending transfer is not stored");
    p = recordAt(pending);
  } else {
    if (!S.grid || findIdResult(t + T_PENDING_ID) != FOUND_TRANSFER) return TransferResult.pending_transfer_not_found;
    p = findRecord();
  }
  if (scopeHides(load<u32>(p + T_LEDGER))) return TransferResult.pending_transfer_not_found;
  if ((load<u16>(p + T_FLAGS) & TF_PENDING) == 0) return TransferResult.pending_transfer_not_pending;
  const matches = checkMatchesPending(t, p);
  if (matches != TransferResult.created) return matches;

  const void_ = (flags & TF_VOID_PENDING) != 0;
  let amountLo = load<u64>(t + T_AMOUNT);
  let amountHi = load<u64>(t + T_AMOUNT + 8);
  if (void_ ? isZero128(t + T_AMOUNT) : isMax128(t + T_AMOUNT)) {
    amountLo = load<u64>(p + T_AMOUNT);
    amountHi = load<u64>(p + T_AMOUNT + 8);
  }
  const pLo = load<u64>(p + T_AMOUNT);
  const pHi = load<u64>(p + T_AMOUNT + 8);
  if (lessThan128(pLo, pHi, amountLo, amountHi)) return TransferResult.exceeds_pending_transfer_amount;
  if (void_ && lessThan128(amountLo, amountHi, pLo, pHi)) return TransferResult.pending_transfer_has_different_amount;

  // A pending transfer that left memory has resolved (an unresolved one stays, in the side table).
  const pendingStatus = pending != NONE ? load<u8>(recordMetaAt(pending) + TM_STATUS) : findStatus();
  assert(pending != NONE || pendingStatus != PENDING_PENDING, "a pending transfer left memory unresolved");
  const status = checkPendingStatus(p, pendingStatus, timestamp);
  if (status != TransferResult.created) return status;
  // Not posted, voided or expired: a pending transfer's status is one of the PENDING_* states.
  assert(load<u8>(recordMetaAt(pending) + TM_STATUS) == PENDING_PENDING, "unresolved pending transfer not in state pending");
  if ((flags & TF_IMPORTED) != 0) {
    const imported = checkImportedTimestamp(timestamp);
    if (imported != TransferResult.created) return imported;
  }
  const meta = recordMetaAt(pending);
  if (!void_) {
    // Only voiding may touch a closed account.
    if ((load<u16>(accountAt(load<u32>(meta + TM_DEBIT_SLOT)) + A_FLAGS) & AF_CLOSED) != 0) {
      return TransferResult.debit_account_already_closed;
    }
    if ((load<u16>(accountAt(load<u32>(meta + TM_CREDIT_SLOT)) + A_FLAGS) & AF_CLOSED) != 0) {
      return TransferResult.credit_account_already_closed;
    }
  }
  // A post or void moves at most the pending amount; a void moves all of it.
  assert(!lessThan128(pLo, pHi, amountLo, amountHi) && (!void_ || (amountLo == pLo && amountHi == pHi)),
    "post or void amount differs from what was checked");
  applyPostOrVoid(t, timestamp, pending, amountLo, amountHi);
  return TransferResult.created;
}

/** Nonzero accounts, ledger and code of a post/void must match the pending transfer's. */
function checkMatchesPending(t: usize, p: usize): TransferResult {
  assert((load<u16>(p + T_FLAGS) & TF_PENDING) != 0, "post or void matched against a transfer that is not pending");
  if (!isZero128(t + T_DEBIT_ACCOUNT_ID) && !equal128(t + T_DEBIT_ACCOUNT_ID, p + T_DEBIT_ACCOUNT_ID)) {
    return TransferResult.pending_transfer_has_different_debit_account_id;
  }
  if (!isZero128(t + T_CREDIT_ACCOUNT_ID) && !equal128(t + T_CREDIT_ACCOUNT_ID, p + T_CREDIT_ACCOUNT_ID)) {
    return TransferResult.pending_transfer_has_different_credit_account_id;
  }
  const ledger = load<u32>(t + T_LEDGER);
  if (ledger != 0 && ledger != load<u32>(p + T_LEDGER)) return TransferResult.pending_transfer_has_different_ledger;
  const code = load<u16>(t + T_CODE);
  if (code != 0 && code != load<u16>(p + T_CODE)) return TransferResult.pending_transfer_has_different_code;
  return TransferResult.created;
}

/** A pending transfer (its record at `p`, its PENDING_* `status`) resolves once, and not at or after its expiry. */
function checkPendingStatus(p: usize, status: u8, timestamp: u64): TransferResult {
  assert(status >= PENDING_PENDING && status <= PENDING_EXPIRED, "pending transfer status is not a PENDING_* state");
  if (status == PENDING_POSTED) return TransferResult.pending_transfer_already_posted;
  if (status == PENDING_VOIDED) return TransferResult.pending_transfer_already_voided;
  if (status == PENDING_EXPIRED) return TransferResult.pending_transfer_expired;
  const timeout = load<u32>(p + T_TIMEOUT);
  if (timeout != 0 && load<u64>(p + T_TIMESTAMP) + <u64>timeout * NS_PER_S <= timestamp) {
    return TransferResult.pending_transfer_expired;
  }
  return TransferResult.created;
}
