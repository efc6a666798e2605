// Byte layouts of the records this service stores and exchanges.
//
// Account, Transfer, AccountFilter and AccountBalance are TigerBeetle's
// 128-byte little-endian records, field for field, so a stored record is
// copied to a reply as is; QueryFilter is TigerBeetle's 64-byte one. The per-slot metadata records are QENEX's own.

import * as p from "../protocol";

// The records exchanged with clients (Account, Transfer, AccountFilter,
// QueryFilter, AccountBalance): services/ledger/protocol.ts, typed here as the service
// uses them.
export const A_ID: usize = p.ACCOUNT_ID;
export const A_DEBITS_PENDING: usize = p.ACCOUNT_DEBITS_PENDING;
export const A_DEBITS_POSTED: usize = p.ACCOUNT_DEBITS_POSTED;
export const A_CREDITS_PENDING: usize = p.ACCOUNT_CREDITS_PENDING;
export const A_CREDITS_POSTED: usize = p.ACCOUNT_CREDITS_POSTED;
export const A_USER_DATA_128: usize = p.ACCOUNT_USER_DATA_128;
export const A_USER_DATA_64: usize = p.ACCOUNT_USER_DATA_64;
export const A_USER_DATA_32: usize = p.ACCOUNT_USER_DATA_32;
export const A_RESERVED: usize = p.ACCOUNT_RESERVED;
export const A_LEDGER: usize = p.ACCOUNT_LEDGER;
export const A_CODE: usize = p.ACCOUNT_CODE;
export const A_FLAGS: usize = p.ACCOUNT_FLAGS;
export const A_TIMESTAMP: usize = p.ACCOUNT_TIMESTAMP;

export const AF_LINKED: u16 = <u16>p.AccountFlags.linked;
export const AF_DEBITS_MUST_NOT_EXCEED_CREDITS: u16 = <u16>p.AccountFlags.debits_must_not_exceed_credits;
export const AF_CREDITS_MUST_NOT_EXCEED_DEBITS: u16 = <u16>p.AccountFlags.credits_must_not_exceed_debits;
export const AF_HISTORY: u16 = <u16>p.AccountFlags.history;
export const AF_IMPORTED: u16 = <u16>p.AccountFlags.imported;
export const AF_CLOSED: u16 = <u16>p.AccountFlags.closed;
export const AF_KNOWN: u16 = <u16>p.ACCOUNT_FLAGS_KNOWN;

export const T_ID: usize = p.TRANSFER_ID;
export const T_DEBIT_ACCOUNT_ID: usize = p.TRANSFER_DEBIT_ACCOUNT_ID;
export const T_CREDIT_ACCOUNT_ID: usize = p.TRANSFER_CREDIT_ACCOUNT_ID;
export const T_AMOUNT: usize = p.TRANSFER_AMOUNT;
export const T_PENDING_ID: usize = p.TRANSFER_PENDING_ID;
export const T_USER_DATA_128: usize = p.TRANSFER_USER_DATA_128;
export const T_USER_DATA_64: usize = p.TRANSFER_USER_DATA_64;
export const T_USER_DATA_32: usize = p.TRANSFER_USER_DATA_32;
export const T_TIMEOUT: usize = p.TRANSFER_TIMEOUT;
export const T_LEDGER: usize = p.TRANSFER_LEDGER;
export const T_CODE: usize = p.TRANSFER_CODE;
export const T_FLAGS: usize = p.TRANSFER_FLAGS;
export const T_TIMESTAMP: usize = p.TRANSFER_TIMESTAMP;

export const TF_LINKED: u16 = <u16>p.TransferFlags.linked;
export const TF_PENDING: u16 = <u16>p.TransferFlags.pending;
export const TF_POST_PENDING: u16 = <u16>p.TransferFlags.post_pending_transfer;
export const TF_VOID_PENDING: u16 = <u16>p.TransferFlags.void_pending_transfer;
export const TF_BALANCING_DEBIT: u16 = <u16>p.TransferFlags.balancing_debit;
export const TF_BALANCING_CREDIT: u16 = <u16>p.TransferFlags.balancing_credit;
export const TF_CLOSING_DEBIT: u16 = <u16>p.TransferFlags.closing_debit;
export const TF_CLOSING_CREDIT: u16 = <u16>p.TransferFlags.closing_credit;
export const TF_IMPORTED: u16 = <u16>p.TransferFlags.imported;
export const TF_KNOWN: u16 = <u16>p.TRANSFER_FLAGS_KNOWN;

export const F_ACCOUNT_ID: usize = p.FILTER_ACCOUNT_ID;
export const F_USER_DATA_128: usize = p.FILTER_USER_DATA_128;
export const F_USER_DATA_64: usize = p.FILTER_USER_DATA_64;
export const F_USER_DATA_32: usize = p.FILTER_USER_DATA_32;
export const F_CODE: usize = p.FILTER_CODE;
export const F_RESERVED: usize = p.FILTER_RESERVED;
export const F_RESERVED_BYTES: usize = p.FILTER_RESERVED_BYTES;
export const F_TIMESTAMP_MIN: usize = p.FILTER_TIMESTAMP_MIN;
export const F_TIMESTAMP_MAX: usize = p.FILTER_TIMESTAMP_MAX;
export const F_LIMIT: usize = p.FILTER_LIMIT;
export const F_FLAGS: usize = p.FILTER_FLAGS;

export const FF_DEBITS: u32 = <u32>p.AccountFilterFlags.debits;
export const FF_CREDITS: u32 = <u32>p.AccountFilterFlags.credits;
export const FF_REVERSED: u32 = <u32>p.AccountFilterFlags.reversed;
export const FF_KNOWN: u32 = <u32>p.FILTER_FLAGS_KNOWN;

export const Q_USER_DATA_128: usize = p.QUERY_USER_DATA_128;
export const Q_USER_DATA_64: usize = p.QUERY_USER_DATA_64;
export const Q_USER_DATA_32: usize = p.QUERY_USER_DATA_32;
export const Q_LEDGER: usize = p.QUERY_LEDGER;
export const Q_CODE: usize = p.QUERY_CODE;
export const Q_RESERVED: usize = p.QUERY_RESERVED;
export const Q_RESERVED_BYTES: usize = p.QUERY_RESERVED_BYTES;
export const Q_TIMESTAMP_MIN: usize = p.QUERY_TIMESTAMP_MIN;
export const Q_TIMESTAMP_MAX: usize = p.QUERY_TIMESTAMP_MAX;
export const Q_LIMIT: usize = p.QUERY_LIMIT;
export const Q_FLAGS: usize = p.QUERY_FLAGS;

export const QF_REVERSED: u32 = <u32>p.QueryFilterFlags.reversed;
export const QF_KNOWN: u32 = <u32>p.QUERY_FLAGS_KNOWN;

export const B_BALANCES: usize = p.BALANCE_DEBITS_PENDING;
export const B_TIMESTAMP: usize = p.BALANCE_TIMESTAMP;

// Account metadata (16 bytes per account slot), QENEX's own:
//   0 transfers_first u32   4 transfers_last u32
//   8 history_first u32    12 history_last u32
// Heads and tails of the account's transfer list and balance-history list.
export const AM_BYTES: usize = 16;
export const AM_TRANSFERS_FIRST: usize = 0;
export const AM_TRANSFERS_LAST: usize = 4;
export const AM_HISTORY_FIRST: usize = 8;
export const AM_HISTORY_LAST: usize = 12;

// Transfer metadata (32 bytes per transfer slot), QENEX's own:
//   0 debit_slot u32    4 credit_slot u32
//   8 debit_prev u32   12 debit_next u32     links in the debit account's list
//  16 credit_prev u32  20 credit_next u32    links in the credit account's list
//  24 aux u32          pending: its expiry-heap position (NONE if no timeout)
//                      post/void: the slot of the pending transfer
//  28 status u8        PENDING_* (pending transfers only)
//  29 history u8       balance records this transfer appended (0..2)
//  30 reserved u16
export const TM_BYTES: usize = 32;
export const TM_DEBIT_SLOT: usize = 0;
export const TM_CREDIT_SLOT: usize = 4;
export const TM_DEBIT_PREV: usize = 8;
export const TM_DEBIT_NEXT: usize = 12;
export const TM_CREDIT_PREV: usize = 16;
export const TM_CREDIT_NEXT: usize = 20;
export const TM_AUX: usize = 24;
export const TM_STATUS: usize = 28;
export const TM_HISTORY: usize = 29;

export const PENDING_NONE: u8 = 0;
export const PENDING_PENDING: u8 = 1;
export const PENDING_POSTED: u8 = 2;
export const PENDING_VOIDED: u8 = 3;
export const PENDING_EXPIRED: u8 = 4;

// Balance history record (96 bytes), one per (transfer, history account):
//   0 timestamp u64   8 transfer_slot u32  12 account_slot u32
//  16 prev u32       20 next u32           24 reserved [8]u8
//  32 balances: debits_pending, debits_posted, credits_pending, credits_posted
export const H_BYTES: usize = 96;
export const H_TIMESTAMP: usize = 0;
export const H_TRANSFER_SLOT: usize = 8;
export const H_ACCOUNT_SLOT: usize = 12;
export const H_PREV: usize = 16;
export const H_NEXT: usize = 20;
export const H_BALANCES: usize = 32;

// Expiry heap entry (16 bytes): 0 expires_at u64 | 8 the transfer's record index u32 | 12 reserved.
export const X_BYTES: usize = 16;
export const X_EXPIRES_AT: usize = 0;
export const X_SLOT: usize = 8;
