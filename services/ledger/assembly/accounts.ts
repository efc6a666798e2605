// create_accounts: validation in TigerBeetle's order of precedence, insert,
// and rollback for linked chains.
//
// The batch-level checks (linked chains, imported mixing, timestamps) run in
// batch.ts before createAccount is called.

import { A_CODE, A_CREDITS_PENDING, A_CREDITS_POSTED, A_DEBITS_PENDING, A_DEBITS_POSTED, A_FLAGS,
  A_ID, A_LEDGER, A_RESERVED, A_TIMESTAMP, A_USER_DATA_128, A_USER_DATA_32, A_USER_DATA_64,
  AF_CREDITS_MUST_NOT_EXCEED_DEBITS, AF_DEBITS_MUST_NOT_EXCEED_CREDITS, AF_IMPORTED, AF_KNOWN,
  AM_BYTES, AM_HISTORY_LAST, AM_TRANSFERS_LAST } from "./layout";
import { AccountResult } from "./results";
import { S, accountAt, accountMetaAt, accountMetaReset } from "./state";
import { idFind, idInsertAtProbe, idRemove } from "./idtable";
import { scopeHides } from "./scope";
import { copyRecord128, equal128, isMax128, isZero128 } from "./u128";
import { NONE, TIMESTAMP_MAX } from "./constants";
import { accountTimestampLast, transferTimestampExists } from "./timestamps";

/** Timestamp of the existing account when createAccount returns `exists`. */
export let accountExistingTimestamp: u64 = 0;

function accountExists(a: usize, e: usize): AccountResult {
  assert(equal128(a + A_ID, e + A_ID), "account compared with a record of another id");
  accountExistingTimestamp = load<u64>(e + A_TIMESTAMP);
  assert(accountExistingTimestamp != 0, "stored account without a timestamp");
  if (load<u16>(a + A_FLAGS) != load<u16>(e + A_FLAGS)) {
    return AccountResult.exists_with_different_flags;
  }
  if (!equal128(a + A_USER_DATA_128, e + A_USER_DATA_128)) {
    return AccountResult.exists_with_different_user_data_128;
  }
  if (load<u64>(a + A_USER_DATA_64) != load<u64>(e + A_USER_DATA_64)) {
    return AccountResult.exists_with_different_user_data_64;
  }
  if (load<u32>(a + A_USER_DATA_32) != load<u32>(e + A_USER_DATA_32)) {
    return AccountResult.exists_with_different_user_data_32;
  }
  if (load<u32>(a + A_LEDGER) != load<u32>(e + A_LEDGER)) {
    return AccountResult.exists_with_different_ledger;
  }
  if (load<u16>(a + A_CODE) != load<u16>(e + A_CODE)) return AccountResult.exists_with_different_code;
  return AccountResult.exists;
}

/** Validates account `a` (an event in the inbox) and creates it at `timestamp`. */
export function createAccount(a: usize, timestamp: u64): AccountResult {
  // batch.ts gives every event a timestamp in range (imported ones are checked there).
  assert(timestamp != 0 && timestamp <= TIMESTAMP_MAX, "account timestamp out of range");
  const flags = load<u16>(a + A_FLAGS);
  if (load<u32>(a + A_RESERVED) != 0) return AccountResult.reserved_field;
  if ((flags & ~AF_KNOWN) != 0) return AccountResult.reserved_flag;
  if (isZero128(a + A_ID)) return AccountResult.id_must_not_be_zero;
  if (isMax128(a + A_ID)) return AccountResult.id_must_not_be_int_max;

  const idLo = load<u64>(a + A_ID);
  const idHi = load<u64>(a + A_ID + 8);
  const found = idFind(S.accountIds, idLo, idHi);
  if (found != 0) {
    // Taken on a ledger outside the caller's scope: one answer, whatever the guess (scope.ts).
    if (scopeHides(load<u32>(accountAt(found - 1) + A_LEDGER))) return AccountResult.exists_with_different_ledger;
    return accountExists(a, accountAt(found - 1));
  }

  const limits = AF_DEBITS_MUST_NOT_EXCEED_CREDITS | AF_CREDITS_MUST_NOT_EXCEED_DEBITS;
  if ((flags & limits) == limits) return AccountResult.flags_are_mutually_exclusive;
  if (!isZero128(a + A_DEBITS_PENDING)) return AccountResult.debits_pending_must_be_zero;
  if (!isZero128(a + A_DEBITS_POSTED)) return AccountResult.debits_posted_must_be_zero;
  if (!isZero128(a + A_CREDITS_PENDING)) return AccountResult.credits_pending_must_be_zero;
  if (!isZero128(a + A_CREDITS_POSTED)) return AccountResult.credits_posted_must_be_zero;
  if (load<u32>(a + A_LEDGER) == 0) return AccountResult.ledger_must_not_be_zero;
  if (load<u16>(a + A_CODE) == 0) return AccountResult.code_must_not_be_zero;

  if ((flags & AF_IMPORTED) != 0) {
    if (timestamp <= accountTimestampLast() || transferTimestampExists(timestamp)) {
      return AccountResult.imported_event_timestamp_must_not_regress;
    }
  }
  if (S.accountCount >= S.accountsMax) return AccountResult.accounts_full;

  const slot = S.accountCount;
  // Slots are in timestamp order (timestamps.ts searches them): imported events were checked
  // above, and the others are after every earlier event.
  assert(timestamp > accountTimestampLast(), "account timestamps out of slot order");
  const record = accountAt(slot);
  copyRecord128(record, a);
  store<u64>(record + A_TIMESTAMP, timestamp);
  accountMetaReset(slot);
  idInsertAtProbe(S.accountIds, slot + 1);
  S.accountCount = slot + 1;
  assert(S.accountIds.count == S.accountCount, "accounts and account ids disagree");
  return AccountResult.created;
}

/** Undoes the newest account (a linked chain failed). */
export function rollbackAccount(slot: u32): void {
  assert(slot + 1 == S.accountCount, "account rollback of an account that is not the newest");
  const record = accountAt(slot);
  // A create_accounts batch moves no money, so an account being rolled back has none.
  assert(isZero128(record + A_DEBITS_PENDING) && isZero128(record + A_DEBITS_POSTED), "rolled-back account has debits");
  assert(isZero128(record + A_CREDITS_PENDING) && isZero128(record + A_CREDITS_POSTED), "rolled-back account has credits");
  // Nor any transfer or balance history that would point at the slot.
  const meta = accountMetaAt(slot);
  assert(load<u32>(meta + AM_TRANSFERS_LAST) == NONE && load<u32>(meta + AM_HISTORY_LAST) == NONE, "rolled-back account has transfers");
  idRemove(S.accountIds, load<u64>(record + A_ID), load<u64>(record + A_ID + 8));
  memory.fill(record, 0, 128);
  memory.fill(meta, 0, AM_BYTES);
  S.accountCount = slot;
  assert(S.accountIds.count == S.accountCount, "accounts and account ids disagree after rollback");
}
