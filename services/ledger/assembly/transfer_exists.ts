// Idempotency: what a create_transfers event gets when its id already names
// a transfer. Flags are compared first, since they change what the other
// comparisons mean (TigerBeetle's create_transfers documentation).

import { T_AMOUNT, T_CODE, T_CREDIT_ACCOUNT_ID, T_DEBIT_ACCOUNT_ID, T_FLAGS, T_ID, T_LEDGER,
  T_PENDING_ID, T_TIMEOUT, T_TIMESTAMP, T_USER_DATA_128, T_USER_DATA_32, T_USER_DATA_64,
  TF_BALANCING_CREDIT, TF_BALANCING_DEBIT, TF_PENDING, TF_POST_PENDING, TF_VOID_PENDING } from "./layout";
import { TransferResult } from "./results";
import { S, recordAt } from "./state";
import { idGet } from "./idtable";
import { FOUND_TRANSFER, findIdResult, findRecord } from "./finds";
import { equal128, isMax128, isZero128, lessThan128 } from "./u128";

/** Timestamp of the existing transfer when a check returns `exists`. */
export let transferExistingTimestamp: u64 = 0;

/** Compares event `t` with the existing transfer at `e` (in memory, or found in the trees: finds.ts). */
export function transferExists(t: usize, e: usize): TransferResult {
  // An orphan's record holds only an id (transfers.ts): createTransfer answered id_already_failed for it.
  assert(e != 0 && load<u64>(e + T_TIMESTAMP) != 0, "existing transfer is not stored");
  assert(equal128(t + T_ID, e + T_ID), "transfer compared with a record of another id");
  transferExistingTimestamp = load<u64>(e + T_TIMESTAMP);
  assert(transferExistingTimestamp != 0, "stored transfer without a timestamp");
  const flags = load<u16>(t + T_FLAGS);
  if (flags != load<u16>(e + T_FLAGS)) return TransferResult.exists_with_different_flags;
  if (!equal128(t + T_PENDING_ID, e + T_PENDING_ID)) return TransferResult.exists_with_different_pending_id;
  if (load<u32>(t + T_TIMEOUT) != load<u32>(e + T_TIMEOUT)) return TransferResult.exists_with_different_timeout;
  if ((flags & (TF_POST_PENDING | TF_VOID_PENDING)) != 0) {
    // The pending transfer it resolved, by its id (the request's pending_id
    // equals the stored one here): a pending transfer stays known for good.
    const pending = idGet(S.transferIds, load<u64>(e + T_PENDING_ID), load<u64>(e + T_PENDING_ID + 8));
    if (pending != 0) return postOrVoidExists(t, e, recordAt(pending - 1));
    // Left memory: the trees hold it (finds.ts found the request's pending_id, which is e's).
    assert(S.grid && findIdResult(e + T_PENDING_ID) == FOUND_TRANSFER, "post or void without its pending transfer");
    return postOrVoidExists(t, e, findRecord());
  }
  if (!equal128(t + T_DEBIT_ACCOUNT_ID, e + T_DEBIT_ACCOUNT_ID)) {
    return TransferResult.exists_with_different_debit_account_id;
  }
  if (!equal128(t + T_CREDIT_ACCOUNT_ID, e + T_CREDIT_ACCOUNT_ID)) {
    return TransferResult.exists_with_different_credit_account_id;
  }
  if ((flags & (TF_BALANCING_DEBIT | TF_BALANCING_CREDIT)) != 0) {
    // The request's amount is an upper bound; the recorded one is what moved.
    if (lessThan128(load<u64>(t + T_AMOUNT), load<u64>(t + T_AMOUNT + 8),
      load<u64>(e + T_AMOUNT), load<u64>(e + T_AMOUNT + 8))) {
      return TransferResult.exists_with_different_amount;
    }
  } else if (!equal128(t + T_AMOUNT, e + T_AMOUNT)) {
    return TransferResult.exists_with_different_amount;
  }
  return compareUserDataLedgerCode(t, e);
}

function compareUserDataLedgerCode(t: usize, e: usize): TransferResult {
  assert(load<u16>(t + T_FLAGS) == load<u16>(e + T_FLAGS), "fields compared before the flags matched");
  if (!equal128(t + T_USER_DATA_128, e + T_USER_DATA_128)) {
    return TransferResult.exists_with_different_user_data_128;
  }
  if (load<u64>(t + T_USER_DATA_64) != load<u64>(e + T_USER_DATA_64)) {
    return TransferResult.exists_with_different_user_data_64;
  }
  if (load<u32>(t + T_USER_DATA_32) != load<u32>(e + T_USER_DATA_32)) {
    return TransferResult.exists_with_different_user_data_32;
  }
  if (load<u32>(t + T_LEDGER) != load<u32>(e + T_LEDGER)) return TransferResult.exists_with_different_ledger;
  if (load<u16>(t + T_CODE) != load<u16>(e + T_CODE)) return TransferResult.exists_with_different_code;
  return TransferResult.exists;
}

/**
 * Post/void retries: zero fields mean "as the pending transfer", so a zero in
 * the request matches the value the existing transfer inherited.
 */
function postOrVoidExists(t: usize, e: usize, p: usize): TransferResult {
  assert((load<u16>(p + T_FLAGS) & TF_PENDING) != 0, "a post or void resolved a transfer that is not pending");
  // The stored post or void took the pending transfer's accounts and ledger (writePostOrVoidRecord).
  assert(equal128(e + T_DEBIT_ACCOUNT_ID, p + T_DEBIT_ACCOUNT_ID) && equal128(e + T_CREDIT_ACCOUNT_ID, p + T_CREDIT_ACCOUNT_ID),
    "post or void stored with other accounts than its pending transfer");
  if (!isZero128(t + T_DEBIT_ACCOUNT_ID) && !equal128(t + T_DEBIT_ACCOUNT_ID, e + T_DEBIT_ACCOUNT_ID)) {
    return TransferResult.exists_with_different_debit_account_id;
  }
  if (!isZero128(t + T_CREDIT_ACCOUNT_ID) && !equal128(t + T_CREDIT_ACCOUNT_ID, e + T_CREDIT_ACCOUNT_ID)) {
    return TransferResult.exists_with_different_credit_account_id;
  }
  if (!postOrVoidAmountMatches(t, e, p)) return TransferResult.exists_with_different_amount;
  const u128Same = isZero128(t + T_USER_DATA_128)
    ? equal128(e + T_USER_DATA_128, p + T_USER_DATA_128)
    : equal128(t + T_USER_DATA_128, e + T_USER_DATA_128);
  if (!u128Same) return TransferResult.exists_with_different_user_data_128;
  const u64Request = load<u64>(t + T_USER_DATA_64);
  const u64Expected = u64Request == 0 ? load<u64>(p + T_USER_DATA_64) : u64Request;
  if (load<u64>(e + T_USER_DATA_64) != u64Expected) return TransferResult.exists_with_different_user_data_64;
  const u32Request = load<u32>(t + T_USER_DATA_32);
  const u32Expected = u32Request == 0 ? load<u32>(p + T_USER_DATA_32) : u32Request;
  if (load<u32>(e + T_USER_DATA_32) != u32Expected) return TransferResult.exists_with_different_user_data_32;
  const ledger = load<u32>(t + T_LEDGER);
  if (ledger != 0 && ledger != load<u32>(e + T_LEDGER)) return TransferResult.exists_with_different_ledger;
  const code = load<u16>(t + T_CODE);
  if (code != 0 && code != load<u16>(e + T_CODE)) return TransferResult.exists_with_different_code;
  return TransferResult.exists;
}

/**
 * Void: amount 0 means the pending amount. Post (documented rule): when the
 * original post moved less than the pending amount, the retry's amount must
 * equal it; otherwise the retry's amount must be at least the pending amount.
 */
function postOrVoidAmountMatches(t: usize, e: usize, p: usize): bool {
  const flags = load<u16>(t + T_FLAGS);
  if ((flags & TF_VOID_PENDING) != 0) {
    // A void releases the whole pending amount, and stores it.
    assert(equal128(e + T_AMOUNT, p + T_AMOUNT), "stored void differs from its pending amount");
    return isZero128(t + T_AMOUNT) ? equal128(e + T_AMOUNT, p + T_AMOUNT) : equal128(t + T_AMOUNT, e + T_AMOUNT);
  }
  const eLo = load<u64>(e + T_AMOUNT);
  const eHi = load<u64>(e + T_AMOUNT + 8);
  const pLo = load<u64>(p + T_AMOUNT);
  const pHi = load<u64>(p + T_AMOUNT + 8);
  // Money: the stored post moved at most the pending amount (createPostOrVoid checked it).
  assert(!lessThan128(pLo, pHi, eLo, eHi), "stored post exceeds its pending transfer");
  if (lessThan128(eLo, eHi, pLo, pHi)) return equal128(t + T_AMOUNT, e + T_AMOUNT);
  if (isMax128(t + T_AMOUNT)) return true;
  return !lessThan128(load<u64>(t + T_AMOUNT), load<u64>(t + T_AMOUNT + 8), pLo, pHi);
}
