// services/ledger/protocol.ts: the ledger's wire contract, the one home of
// it: the request and reply layouts, the 128-byte records (TigerBeetle's,
// field for field), the operations, flags and result codes. The service
// (services/ledger/assembly) and every host-side reader and writer (the
// client codec host/client/ledger.ts, the gateway's JSON translation and
// event stream, the gateway service's scope filter) import it.
//
// Compiled twice, like hal/: by AssemblyScript into ledger.wasm and by
// esbuild/tsc into the host. It holds integer constants written as plain
// literals, enums of them, and one pure function over them (types of the
// AssemblyScript kind, which types/portable.d.ts names for TypeScript).

// ---- requests and replies ----
//
// Request: header, then `count` items of the operation's item size.
//   +0 u8  operation (Operation)
//   +1 u8  reserved (0)
//   +2 u16 scope count: the gateway appends the caller's ledger grants
//          (u32 each) after the items (services/ledger/assembly/scope.ts)
//   +4 u32 count
// Create replies: one RESULT_BYTES result per event, in order:
//   +0 u32 result (AccountResult / TransferResult)  +4 u32 reserved
//   +8 u64 timestamp (of the created record; 0 when not created)
// Query replies (lookups, get_account_*, query_*): header, then `count` records.
//   +0 u32 count   +4 u32 why the list is empty (EMPTY_REASON_*; 0 otherwise)
export const HEADER_BYTES = 8;
export const HEADER_OPERATION = 0;
export const HEADER_SCOPE_COUNT = 2;
export const HEADER_COUNT = 4;
export const RECORD_BYTES = 128;
export const ID_BYTES = 16;
export const RESULT_BYTES = 16;
export const RESULT_CODE = 0;
export const RESULT_TIMESTAMP = 8;
export const REPLY_COUNT = 0;
export const REPLY_EMPTY_REASON = 4;
// Events per create or lookup request, and records per query reply: TigerBeetle's
// batch maximum for a 1 MiB body.
export const BATCH_EVENTS_MAX = 8189;
export const SCOPE_LEDGERS_MAX = 16; // one key's grants (hal/admission.ts ADM_KEY_GRANTS_MAX)

export enum Operation {
  create_accounts = 1,
  create_transfers = 2,
  lookup_accounts = 3,
  lookup_transfers = 4,
  get_account_transfers = 5,
  get_account_balances = 6,
  query_accounts = 7,
  query_transfers = 8,
}

export const EMPTY_REASON_NONE = 0;
export const EMPTY_REASON_NO_ACCOUNT = 1; // no account with that id
export const EMPTY_REASON_NO_HISTORY = 2; // the account was not created with flag history

// ---- Account (128 bytes) ----
//   0 id u128            16 debits_pending u128   32 debits_posted u128
//  48 credits_pending    64 credits_posted u128   80 user_data_128 u128
//  96 user_data_64 u64  104 user_data_32 u32     108 reserved u32
// 112 ledger u32        116 code u16             118 flags u16
// 120 timestamp u64
export const ACCOUNT_ID = 0;
export const ACCOUNT_DEBITS_PENDING = 16;
export const ACCOUNT_DEBITS_POSTED = 32;
export const ACCOUNT_CREDITS_PENDING = 48;
export const ACCOUNT_CREDITS_POSTED = 64;
export const ACCOUNT_USER_DATA_128 = 80;
export const ACCOUNT_USER_DATA_64 = 96;
export const ACCOUNT_USER_DATA_32 = 104;
export const ACCOUNT_RESERVED = 108;
export const ACCOUNT_LEDGER = 112;
export const ACCOUNT_CODE = 116;
export const ACCOUNT_FLAGS = 118;
export const ACCOUNT_TIMESTAMP = 120;

export enum AccountFlags {
  linked = 1,
  debits_must_not_exceed_credits = 2,
  credits_must_not_exceed_debits = 4,
  history = 8,
  imported = 16,
  closed = 32,
}
export const ACCOUNT_FLAGS_KNOWN = 63;

// ---- Transfer (128 bytes) ----
//   0 id u128            16 debit_account_id u128   32 credit_account_id u128
//  48 amount u128        64 pending_id u128         80 user_data_128 u128
//  96 user_data_64 u64  104 user_data_32 u32       108 timeout u32 (seconds)
// 112 ledger u32        116 code u16               118 flags u16
// 120 timestamp u64
export const TRANSFER_ID = 0;
export const TRANSFER_DEBIT_ACCOUNT_ID = 16;
export const TRANSFER_CREDIT_ACCOUNT_ID = 32;
export const TRANSFER_AMOUNT = 48;
export const TRANSFER_PENDING_ID = 64;
export const TRANSFER_USER_DATA_128 = 80;
export const TRANSFER_USER_DATA_64 = 96;
export const TRANSFER_USER_DATA_32 = 104;
export const TRANSFER_TIMEOUT = 108;
export const TRANSFER_LEDGER = 112;
export const TRANSFER_CODE = 116;
export const TRANSFER_FLAGS = 118;
export const TRANSFER_TIMESTAMP = 120;

export enum TransferFlags {
  linked = 1,
  pending = 2,
  post_pending_transfer = 4,
  void_pending_transfer = 8,
  balancing_debit = 16,
  balancing_credit = 32,
  closing_debit = 64,
  closing_credit = 128,
  imported = 256,
}
export const TRANSFER_FLAGS_KNOWN = 511;

// ---- AccountFilter (128 bytes) ----
//   0 account_id u128    16 user_data_128 u128   32 user_data_64 u64
//  40 user_data_32 u32   44 code u16             46 reserved [58]u8
// 104 timestamp_min u64 112 timestamp_max u64   120 limit u32
// 124 flags u32
export const FILTER_ACCOUNT_ID = 0;
export const FILTER_USER_DATA_128 = 16;
export const FILTER_USER_DATA_64 = 32;
export const FILTER_USER_DATA_32 = 40;
export const FILTER_CODE = 44;
export const FILTER_RESERVED = 46;
export const FILTER_RESERVED_BYTES = 58;
export const FILTER_TIMESTAMP_MIN = 104;
export const FILTER_TIMESTAMP_MAX = 112;
export const FILTER_LIMIT = 120;
export const FILTER_FLAGS = 124;

export enum AccountFilterFlags {
  debits = 1,
  credits = 2,
  reversed = 4,
}
export const FILTER_FLAGS_KNOWN = 7;

// ---- QueryFilter (64 bytes): query_accounts and query_transfers ----
//   0 user_data_128 u128  16 user_data_64 u64     24 user_data_32 u32
//  28 ledger u32          32 code u16             34 reserved [6]u8
//  40 timestamp_min u64   48 timestamp_max u64    56 limit u32
//  60 flags u32
// A non-zero user_data_*, ledger or code must equal the record's (the
// Account and Transfer fields at the same names); zero matches any.
export const QUERY_FILTER_BYTES = 64;
export const QUERY_USER_DATA_128 = 0;
export const QUERY_USER_DATA_64 = 16;
export const QUERY_USER_DATA_32 = 24;
export const QUERY_LEDGER = 28;
export const QUERY_CODE = 32;
export const QUERY_RESERVED = 34;
export const QUERY_RESERVED_BYTES = 6;
export const QUERY_TIMESTAMP_MIN = 40;
export const QUERY_TIMESTAMP_MAX = 48;
export const QUERY_LIMIT = 56;
export const QUERY_FLAGS = 60;

export enum QueryFilterFlags {
  reversed = 1,
}
export const QUERY_FLAGS_KNOWN = 1;

// ---- AccountBalance (128 bytes) ----
//   0 debits_pending u128   16 debits_posted u128   32 credits_pending u128
//  48 credits_posted u128   64 timestamp u64        72 reserved [56]u8
export const BALANCE_DEBITS_PENDING = 0;
export const BALANCE_DEBITS_POSTED = 16;
export const BALANCE_CREDITS_PENDING = 32;
export const BALANCE_CREDITS_POSTED = 48;
export const BALANCE_TIMESTAMP = 64;

// ---- result codes of create_accounts and create_transfers ----
//
// Names and numbers are TigerBeetle's (src/tigerbeetle.zig, release 0.16 /
// 0.17 numbering), listed in TigerBeetle's documented order of precedence,
// which is the order the checks run in. Success is TigerBeetle's `ok` (0),
// called `created` since 0.17 and in our JSON. Capacity results are QENEX's
// own (TigerBeetle's tables are unbounded), from 1000 up, so a TigerBeetle
// code is never reused with another meaning.

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
  // QENEX: refused before the ledger by the compliance service (the gateway's
  // transfer_checks; services/compliance/protocol.ts "the ledger's own
  // transfers"): a party matches a sanctions list, a limit would be passed, the
  // fraud score is too high, a monitoring rule that holds payments fired (a
  // transfer cannot be held), the compliance tables are full. The ledger never
  // sees the event: its id is not remembered as failed.
  compliance_sanctions = 1010,
  compliance_limit = 1011,
  compliance_fraud = 1012,
  compliance_rule = 1013,
  compliance_capacity = 1014,
}

/**
 * Results that depend on the state at the time of the attempt (TigerBeetle's
 * "transient" errors). The id of a transfer that failed with one of them is
 * remembered, and a retry with that id fails with id_already_failed.
 */
export function transferResultIsTransient(result: i32): bool {
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
