// Read-only operations: lookup_accounts, lookup_transfers,
// get_account_transfers, get_account_balances, query_accounts and
// query_transfers. They write only to `out` (reads.ts runs them without a
// log entry, so they must change nothing else).
//
// Replies are `u32 count | u32 0` followed by 128-byte records. An invalid
// AccountFilter or QueryFilter returns nothing (count 0), as in TigerBeetle.

import { BATCH_EVENTS_MAX, HEADER_BYTES, ID_BYTES, NONE, RECORD_BYTES, TIMESTAMP_MAX } from "./constants";
import { A_CODE, A_LEDGER, A_TIMESTAMP, A_USER_DATA_128, A_USER_DATA_32, A_USER_DATA_64, Q_CODE, Q_FLAGS, Q_LEDGER,
  Q_LIMIT, Q_RESERVED, Q_RESERVED_BYTES, Q_TIMESTAMP_MAX, Q_TIMESTAMP_MIN, Q_USER_DATA_128, Q_USER_DATA_32,
  Q_USER_DATA_64, QF_KNOWN, QF_REVERSED, T_LEDGER } from "./layout";
import { AF_HISTORY, A_FLAGS, AM_HISTORY_FIRST, AM_HISTORY_LAST, AM_TRANSFERS_FIRST, AM_TRANSFERS_LAST,
  B_TIMESTAMP, F_ACCOUNT_ID, F_CODE, F_FLAGS, F_LIMIT, F_RESERVED, F_RESERVED_BYTES, F_TIMESTAMP_MAX,
  F_TIMESTAMP_MIN, F_USER_DATA_128, F_USER_DATA_32, F_USER_DATA_64, FF_CREDITS, FF_DEBITS, FF_KNOWN,
  FF_REVERSED, H_ACCOUNT_SLOT, H_BALANCES, H_NEXT, H_PREV, H_TIMESTAMP, H_TRANSFER_SLOT, T_CODE,
  T_TIMESTAMP, T_USER_DATA_128, T_USER_DATA_32, T_USER_DATA_64, TM_CREDIT_SLOT, TM_DEBIT_SLOT } from "./layout";
import { S, accountAt, accountMetaAt, historyAt, recordAt, transferAt, transferMetaAt } from "./state";
import { ID_ORPHAN, idGet } from "./idtable";
import { transferIdGet } from "./transfers";
import { copyRecord128, equal128, isMax128, isZero128 } from "./u128";
import { listNext, listPrev } from "./lists";
import { SCOPE_LEDGERS_MAX, ledgerIn } from "./scope";
import { slotFrom } from "./timestamps";
import { FOUND_TRANSFER, findIdResult, findRecord } from "./finds";
import { coldCopy } from "./coldresults";
import * as p from "../protocol";

// @ts-ignore: decorator
@inline function replyHeader(out: usize, count: u32, emptyWhy: u32 = EMPTY_REASON_NONE): u32 {
  // At most a batch of records, which the outbox holds (index.ts); a reason only for an empty reply.
  assert(count <= BATCH_EVENTS_MAX && (emptyWhy == EMPTY_REASON_NONE || count == 0), "query reply too long, or a reason with records");
  store<u32>(out, count);
  store<u32>(out, emptyWhy, 4);
  return HEADER_BYTES + count * RECORD_BYTES;
}

// Why a query found nothing, in the reply header's second u32 (0 otherwise),
// so the JSON API can say so (TigerBeetle's answer is an empty list either way).
export const EMPTY_REASON_NONE: u32 = p.EMPTY_REASON_NONE;
export const EMPTY_REASON_NO_ACCOUNT: u32 = p.EMPTY_REASON_NO_ACCOUNT; // no account with that id
export const EMPTY_REASON_NO_HISTORY: u32 = p.EMPTY_REASON_NO_HISTORY; // the account was not created with flag history

/** Copies the accounts (or transfers) named by `count` ids; returns reply bytes. */
export function lookup(accounts: bool, ids: usize, count: u32, out: usize): u32 {
  assert(count <= BATCH_EVENTS_MAX, "lookup count over the batch maximum: framingOf checks it");
  let found: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const id = ids + <usize>i * ID_BYTES;
    const value = accounts ? idGet(S.accountIds, load<u64>(id), load<u64>(id, 8))
      : transferIdGet(load<u64>(id), load<u64>(id, 8));
    if (value == 0 && !accounts && S.grid) {
      // Not in memory: what the trees hold (cold.ts found it before the request ran).
      if (findIdResult(id) == FOUND_TRANSFER) {
        copyRecord128(out + HEADER_BYTES + <usize>found * RECORD_BYTES, findRecord());
        found++;
      }
      continue;
    }
    if (value == 0 || value == ID_ORPHAN) continue;
    // Accounts: the slot + 1; transfers: the record index + 1 (state.ts).
    assert(value <= (accounts ? S.accountCount : S.transferIds.limit), "lookup found an id whose record is not stored");
    const record = accounts ? accountAt(value - 1) : recordAt(value - 1);
    copyRecord128(out + HEADER_BYTES + <usize>found * RECORD_BYTES, record);
    found++;
  }
  return replyHeader(out, found);
}

// AccountFilter and QueryFilter end alike: timestamp_min u64, timestamp_max
// u64, limit u32, flags u32, from the offset of timestamp_min on.
assert(F_TIMESTAMP_MAX == F_TIMESTAMP_MIN + 8 && F_LIMIT == F_TIMESTAMP_MIN + 16 && F_FLAGS == F_TIMESTAMP_MIN + 20
  && Q_TIMESTAMP_MAX == Q_TIMESTAMP_MIN + 8 && Q_LIMIT == Q_TIMESTAMP_MIN + 16 && Q_FLAGS == Q_TIMESTAMP_MIN + 20,
  "the filters' timestamp range, limit and flags are not laid out alike");

/**
 * What TigerBeetle asks of both filters: reserved bytes zero, a timestamp
 * range within the clock (max 0: unbounded) that is not empty, a limit, and
 * no unknown flag. `tail` is the offset of timestamp_min.
 */
function filterCommonValid(filter: usize, reserved: usize, reservedBytes: usize, tail: usize, known: u32): bool {
  assert(reserved + reservedBytes <= tail, "the reserved bytes lie before the timestamp range");
  for (let i: usize = 0; i < reservedBytes; i++) {
    if (load<u8>(filter + reserved + i) != 0) return false;
  }
  const timestampMin = load<u64>(filter + tail);
  const timestampMax = load<u64>(filter + tail + 8);
  if (timestampMin > TIMESTAMP_MAX || timestampMax > TIMESTAMP_MAX) return false;
  if (timestampMax != 0 && timestampMin > timestampMax) return false;
  if (load<u32>(filter + tail + 16) == 0) return false;
  return (load<u32>(filter + tail + 20) & ~known) == 0;
}

function filterValid(filter: usize): bool {
  if (isZero128(filter + F_ACCOUNT_ID) || isMax128(filter + F_ACCOUNT_ID)) return false;
  if (!filterCommonValid(filter, F_RESERVED, F_RESERVED_BYTES, F_TIMESTAMP_MIN, FF_KNOWN)) return false;
  return (load<u32>(filter + F_FLAGS) & (FF_DEBITS | FF_CREDITS)) != 0;
}

/** Does transfer `slot` pass the filter's side, user data and code conditions? */
function transferMatches(filter: usize, slot: u32, accountSlot: u32): bool {
  const meta = transferMetaAt(slot);
  // The transfer came from the account's own list: the account is one of its two sides.
  assert(slot < S.transferCount && (load<u32>(meta + TM_DEBIT_SLOT) == accountSlot || load<u32>(meta + TM_CREDIT_SLOT) == accountSlot),
    "query matched a transfer outside the account's list");
  return accountFilterMatches(filter, transferAt(slot), load<u32>(meta + TM_DEBIT_SLOT) == accountSlot);
}

/**
 * Does the transfer at `record`, on the account's debit side (`isDebit`) or
 * its credit side, pass the AccountFilter's side, user data and code? (In
 * memory, and for the transfers in the grid's trees: cold.ts.)
 */
export function accountFilterMatches(filter: usize, record: usize, isDebit: bool): bool {
  const flags = load<u32>(filter + F_FLAGS);
  if (isDebit ? (flags & FF_DEBITS) == 0 : (flags & FF_CREDITS) == 0) return false;
  return userDataAndCodeMatch(filter, record, F_USER_DATA_128, F_USER_DATA_64, F_USER_DATA_32, F_CODE);
}

/**
 * Does the account or transfer at `record` have the filter's user_data_128,
 * _64, _32 and code (at those offsets of the filter), each where it is not
 * zero? Zero matches any, in both filters.
 */
export function userDataAndCodeMatch(filter: usize, record: usize, userData128: usize, userData64: usize, userData32: usize,
  code: usize): bool {
  // Accounts and transfers keep these fields at the same offsets (asserted below, for the queries).
  assert(A_USER_DATA_128 == T_USER_DATA_128 && A_CODE == T_CODE, "accounts and transfers keep user data and code apart");
  if (!isZero128(filter + userData128) && !equal128(filter + userData128, record + T_USER_DATA_128)) return false;
  const wanted64 = load<u64>(filter + userData64);
  if (wanted64 != 0 && wanted64 != load<u64>(record + T_USER_DATA_64)) return false;
  const wanted32 = load<u32>(filter + userData32);
  if (wanted32 != 0 && wanted32 != load<u32>(record + T_USER_DATA_32)) return false;
  const wantedCode = load<u16>(filter + code);
  return wantedCode == 0 || wantedCode == load<u16>(record + T_CODE);
}

/** Account slot of a valid filter's account, or NONE. */
export function filterAccount(filter: usize): u32 {
  if (!filterValid(filter)) return NONE;
  const found = idGet(S.accountIds, load<u64>(filter + F_ACCOUNT_ID), load<u64>(filter + F_ACCOUNT_ID + 8));
  assert(found <= S.accountCount, "account id names a slot that is not stored");
  return found == 0 ? NONE : found - 1;
}

/** A valid filter's limit, at most a batch (`tail`: the offset of its timestamp_min, as in filterCommonValid). */
// @ts-ignore: decorator
@inline export function filterLimit(filter: usize, tail: usize): u32 {
  // filterCommonValid refused limit 0, so a valid filter asks for at least one record.
  assert(load<u32>(filter + tail + 16) != 0, "query limit of zero passed filterCommonValid");
  return min(load<u32>(filter + tail + 16), BATCH_EVENTS_MAX);
}

/** A valid filter's timestamp_max, TIMESTAMP_MAX for 0 (unbounded). */
// @ts-ignore: decorator
@inline export function timestampMaxOf(filter: usize, tail: usize): u64 {
  const value = load<u64>(filter + tail + 8);
  assert(value <= TIMESTAMP_MAX, "filter timestamp_max out of range passed filterCommonValid");
  return value == 0 ? TIMESTAMP_MAX : value;
}

export function getAccountTransfers(filter: usize, out: usize): u32 {
  const accountSlot = filterAccount(filter);
  if (accountSlot == NONE) return replyHeader(out, 0, EMPTY_REASON_NO_ACCOUNT);
  const reversed = (load<u32>(filter + F_FLAGS) & FF_REVERSED) != 0;
  const timestampMin = load<u64>(filter + F_TIMESTAMP_MIN);
  const timestampMax = timestampMaxOf(filter, F_TIMESTAMP_MIN);
  const limit = filterLimit(filter, F_TIMESTAMP_MIN);
  const head = accountMetaAt(accountSlot);
  let slot = load<u32>(head + (reversed ? AM_TRANSFERS_LAST : AM_TRANSFERS_FIRST));
  // On a grid, the transfers that left memory are older than every one in the
  // account's list: oldest first they come first, newest first last (cold.ts).
  let count: u32 = reversed ? 0 : coldCopy(out, 0, limit);
  // The walk stops at the first timestamp out of range, so the list must be in timestamp order.
  let previous: u64 = reversed ? TIMESTAMP_MAX + 1 : 0;
  while (slot != NONE && count < limit) {
    const timestamp = load<u64>(transferAt(slot) + T_TIMESTAMP);
    assert(reversed ? timestamp < previous : timestamp > previous, "account's transfers out of timestamp order");
    previous = timestamp;
    if (reversed ? timestamp < timestampMin : timestamp > timestampMax) break;
    const inRange = reversed ? timestamp <= timestampMax : timestamp >= timestampMin;
    if (inRange && transferMatches(filter, slot, accountSlot)) {
      copyRecord128(out + HEADER_BYTES + <usize>count * RECORD_BYTES, transferAt(slot));
      count++;
    }
    slot = reversed ? listPrev(slot, accountSlot) : listNext(slot, accountSlot);
  }
  if (reversed) count = coldCopy(out, count, limit);
  return replyHeader(out, count);
}

/** An AccountBalance record at `out`: the four balances at `balances` (64 bytes) after the transfer of `timestamp`. */
export function accountBalanceWrite(out: usize, balances: usize, timestamp: u64): void {
  assert(out != 0 && balances != 0 && timestamp != 0, "accountBalanceWrite: balances of a stored transfer");
  memory.copy(out, balances, 64);
  store<u64>(out + B_TIMESTAMP, timestamp);
  memory.fill(out + B_TIMESTAMP + 8, 0, 56);
}

export function getAccountBalances(filter: usize, out: usize): u32 {
  const accountSlot = filterAccount(filter);
  if (accountSlot == NONE) return replyHeader(out, 0, EMPTY_REASON_NO_ACCOUNT);
  if ((load<u16>(accountAt(accountSlot) + A_FLAGS) & AF_HISTORY) == 0) return replyHeader(out, 0, EMPTY_REASON_NO_HISTORY);
  const reversed = (load<u32>(filter + F_FLAGS) & FF_REVERSED) != 0;
  const timestampMin = load<u64>(filter + F_TIMESTAMP_MIN);
  const timestampMax = timestampMaxOf(filter, F_TIMESTAMP_MIN);
  const limit = filterLimit(filter, F_TIMESTAMP_MIN);
  const head = accountMetaAt(accountSlot);
  let index = load<u32>(head + (reversed ? AM_HISTORY_LAST : AM_HISTORY_FIRST));
  let count: u32 = reversed ? 0 : coldCopy(out, 0, limit);
  let previous: u64 = reversed ? TIMESTAMP_MAX + 1 : 0;
  while (index != NONE && count < limit) {
    const record = historyAt(index);
    assert(load<u32>(record + H_ACCOUNT_SLOT) == accountSlot, "history record in another account's list");
    const timestamp = load<u64>(record + H_TIMESTAMP);
    assert(reversed ? timestamp < previous : timestamp > previous, "balance history out of timestamp order");
    previous = timestamp;
    if (reversed ? timestamp < timestampMin : timestamp > timestampMax) break;
    const inRange = reversed ? timestamp <= timestampMax : timestamp >= timestampMin;
    if (inRange && transferMatches(filter, load<u32>(record + H_TRANSFER_SLOT), accountSlot)) {
      accountBalanceWrite(out + HEADER_BYTES + <usize>count * RECORD_BYTES, record + H_BALANCES, timestamp);
      count++;
    }
    index = load<u32>(record + (reversed ? H_PREV : H_NEXT));
  }
  if (reversed) count = coldCopy(out, count, limit);
  return replyHeader(out, count);
}

// ---- query_accounts and query_transfers ----
//
// Accounts and transfers keep the fields a QueryFilter names at the same
// offsets, so one scan serves both tables.
assert(A_USER_DATA_128 == T_USER_DATA_128 && A_USER_DATA_64 == T_USER_DATA_64 && A_USER_DATA_32 == T_USER_DATA_32
  && A_LEDGER == T_LEDGER && A_CODE == T_CODE && A_TIMESTAMP == T_TIMESTAMP, "accounts and transfers keep the queried fields apart");

export function queryValid(filter: usize): bool {
  return filterCommonValid(filter, Q_RESERVED, Q_RESERVED_BYTES, Q_TIMESTAMP_MIN, QF_KNOWN);
}

/**
 * Does the account or transfer at `record` lie on a ledger of the scope (the
 * `scopeCount` u32 ledgers at `scope`; none: every ledger) and match every
 * non-zero field of the filter?
 */
export function queryMatches(filter: usize, record: usize, scope: usize, scopeCount: u32): bool {
  const ledger = load<u32>(record + A_LEDGER);
  if (scopeCount != 0 && !ledgerIn(scope, scopeCount, ledger)) return false;
  const wanted = load<u32>(filter + Q_LEDGER);
  if (wanted != 0 && wanted != ledger) return false;
  return userDataAndCodeMatch(filter, record, Q_USER_DATA_128, Q_USER_DATA_64, Q_USER_DATA_32, Q_CODE);
}

/**
 * query_accounts (`accounts`) or query_transfers: the records matching the
 * QueryFilter at `filter`, oldest first (newest first when reversed), at most
 * its limit. The scope is applied here, in the scan, not to the reply
 * (scopeKeep): records of several ledgers interleave, so a record the caller
 * may not see must not take a place under the limit, or a page would come
 * back short and paging by timestamp would skip records.
 */
export function query(accounts: bool, filter: usize, scope: usize, scopeCount: u32, out: usize): u32 {
  assert(scopeCount <= SCOPE_LEDGERS_MAX, "query scope longer than SCOPE_LEDGERS_MAX: framingOf checks it");
  if (!queryValid(filter)) return replyHeader(out, 0);
  const reversed = (load<u32>(filter + Q_FLAGS) & QF_REVERSED) != 0;
  const timestampMin = load<u64>(filter + Q_TIMESTAMP_MIN);
  const timestampMax = timestampMaxOf(filter, Q_TIMESTAMP_MIN);
  const limit = filterLimit(filter, Q_TIMESTAMP_MIN);
  // Slots are in timestamp order (timestamps.ts): the range is the slots [first, end).
  const first = slotFrom(accounts, timestampMin);
  const end = slotFrom(accounts, timestampMax + 1);
  assert(first <= end && end <= (accounts ? S.accountCount : S.transferCount), "query range outside the stored slots");
  // Transfers that left memory are older than every one in it (cold.ts).
  let count: u32 = accounts || reversed ? 0 : coldCopy(out, 0, limit);
  for (let i: u32 = 0; i < end - first && count < limit; i++) {
    const slot = reversed ? end - 1 - i : first + i;
    const record = accounts ? accountAt(slot) : transferAt(slot);
    const timestamp = load<u64>(record + A_TIMESTAMP);
    assert(timestamp >= timestampMin && timestamp <= timestampMax, "query range holds a record outside its timestamps");
    if (!queryMatches(filter, record, scope, scopeCount)) continue;
    copyRecord128(out + HEADER_BYTES + <usize>count * RECORD_BYTES, record);
    count++;
  }
  if (!accounts && reversed) count = coldCopy(out, count, limit);
  return replyHeader(out, count);
}
