// Result codes of create_accounts and create_transfers.
//
// Names and numbers are TigerBeetle's (src/tigerbeetle.zig, release 0.16 /
// 0.17 numbering). The enum lists them in TigerBeetle's documented order of
// precedence, which is the order the checks run in. Success is TigerBeetle's
// `ok` (0), called `created` since 0.17 and in our JSON.
//
// Capacity results are QENEX's own (TigerBeetle's tables are unbounded). They
// use values from 1000 up, outside TigerBeetle's range, so a TigerBeetle code
// is never reused with another meaning.

export enum AccountResult {
  created = 0,
  linked_event_failed = 1,
  linked_event_chain_open = 2,
  imported_event_expected = 22,
  imported_event_not_expected = 23,
  timestamp_must_be_zero = 3,
  imported_event_timestamp_out_of_range = 24,
  imported_event_timestamp_must_not_advance = 25,
  reserved_field = 4,
  reserved_flag = 5,
  id_must_not_be_zero = 6,
  id_must_not_be_int_max = 7,
  exists_with_different_flags = 15,
  exists_with_different_user_data_128 = 16,
  exists_with_different_user_data_64 = 17,
  exists_with_different_user_data_32 = 18,
  exists_with_different_ledger = 19,
  exists_with_different_code = 20,
  exists = 21,
  flags_are_mutually_exclusive = 8,
  debits_pending_must_be_zero = 9,
  debits_posted_must_be_zero = 10,
  credits_pending_must_be_zero = 11,
  credits_posted_must_be_zero = 12,
  ledger_must_not_be_zero = 13,
  code_must_not_be_zero = 14,
  imported_event_timestamp_must_not_regress = 26,
  // QENEX: the account table holds accounts_max accounts (checked last).
  accounts_full = 1000,
}

export enum TransferResult {
  created = 0,
  linked_event_failed = 1,
  linked_event_chain_open = 2,
  imported_event_expected = 56,
  imported_event_not_expected = 57,
  timestamp_must_be_zero = 3,
  imported_event_timestamp_out_of_range = 58,
  imported_event_timestamp_must_not_advance = 59,
  reserved_flag = 4,
  id_must_not_be_zero = 5,
  id_must_not_be_int_max = 6,
  exists_with_different_flags = 36,
  exists_with_different_pending_id = 40,
  exists_with_different_timeout = 44,
  exists_with_different_debit_account_id = 37,
  exists_with_different_credit_account_id = 38,
  exists_with_different_amount = 39,
  exists_with_different_user_data_128 = 41,
  exists_with_different_user_data_64 = 42,
  exists_with_different_user_data_32 = 43,
  exists_with_different_ledger = 67,
  exists_with_different_code = 45,
  exists = 46,
  id_already_failed = 68,
  // QENEX: the transfer id table (created ids and transiently failed ids)
  // holds transfers_max ids. Checked right after the idempotency checks:
  // past that point every event needs room to remember its id.
  transfers_full = 1000,
  flags_are_mutually_exclusive = 7,
  debit_account_id_must_not_be_zero = 8,
  debit_account_id_must_not_be_int_max = 9,
  credit_account_id_must_not_be_zero = 10,
  credit_account_id_must_not_be_int_max = 11,
  accounts_must_be_different = 12,
  pending_id_must_be_zero = 13,
  pending_id_must_not_be_zero = 14,
  pending_id_must_not_be_int_max = 15,
  pending_id_must_be_different = 16,
  timeout_reserved_for_pending_transfer = 17,
  closing_transfer_must_be_pending = 64,
  ledger_must_not_be_zero = 19,
  code_must_not_be_zero = 20,
  debit_account_not_found = 21,
  credit_account_not_found = 22,
  accounts_must_have_the_same_ledger = 23,
  transfer_must_have_the_same_ledger_as_accounts = 24,
  pending_transfer_not_found = 25,
  pending_transfer_not_pending = 26,
  pending_transfer_has_different_debit_account_id = 27,
  pending_transfer_has_different_credit_account_id = 28,
  pending_transfer_has_different_ledger = 29,
  pending_transfer_has_different_code = 30,
  exceeds_pending_transfer_amount = 31,
  pending_transfer_has_different_amount = 32,
  pending_transfer_already_posted = 33,
  pending_transfer_already_voided = 34,
  pending_transfer_expired = 35,
  imported_event_timestamp_must_not_regress = 60,
  imported_event_timestamp_must_postdate_debit_account = 61,
  imported_event_timestamp_must_postdate_credit_account = 62,
  imported_event_timeout_must_be_zero = 63,
  debit_account_already_closed = 65,
  credit_account_already_closed = 66,
  overflows_debits_pending = 47,
  overflows_credits_pending = 48,
  overflows_debits_posted = 49,
  overflows_credits_posted = 50,
  overflows_debits = 51,
  overflows_credits = 52,
  overflows_timeout = 53,
  exceeds_credits = 54,
  exceeds_debits = 55,
  // QENEX: at most pending_max pending transfers are unresolved at once.
  pending_full = 1001,
  // QENEX: the balance history holds history_max AccountBalance records.
  history_full = 1002,
}

/**
 * Results that depend on the state at the time of the attempt (TigerBeetle's
 * "transient" errors). The id of a transfer that failed with one of them is
 * remembered, and a retry with that id fails with id_already_failed.
 */
export function transferResultIsTransient(result: TransferResult): bool {
  switch (result) {
    case TransferResult.debit_account_not_found:
    case TransferResult.credit_account_not_found:
    case TransferResult.pending_transfer_not_found:
    case TransferResult.exceeds_credits:
    case TransferResult.exceeds_debits:
    case TransferResult.debit_account_already_closed:
    case TransferResult.credit_account_already_closed:
      return true;
    default:
      return false;
  }
}
