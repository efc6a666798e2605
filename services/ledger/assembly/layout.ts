// Byte layouts of the records this service stores and exchanges.
//
// Account, Transfer, AccountFilter and AccountBalance are TigerBeetle's
// 128-byte little-endian records, field for field, so a stored record is
// copied to a reply as is. The per-slot metadata records are QENEX's own.

// Account (128 bytes):
//   0 id u128            16 debits_pending u128   32 debits_posted u128
//  48 credits_pending    64 credits_posted u128   80 user_data_128 u128
//  96 user_data_64 u64  104 user_data_32 u32     108 reserved u32
// 112 ledger u32        116 code u16             118 flags u16
// 120 timestamp u64
export const A_ID: usize = 0;
export const A_DEBITS_PENDING: usize = 16;
export const A_DEBITS_POSTED: usize = 32;
export const A_CREDITS_PENDING: usize = 48;
export const A_CREDITS_POSTED: usize = 64;
export const A_USER_DATA_128: usize = 80;
export const A_USER_DATA_64: usize = 96;
export const A_USER_DATA_32: usize = 104;
export const A_RESERVED: usize = 108;
export const A_LEDGER: usize = 112;
export const A_CODE: usize = 116;
export const A_FLAGS: usize = 118;
export const A_TIMESTAMP: usize = 120;

export const AF_LINKED: u16 = 1 << 0;
export const AF_DEBITS_MUST_NOT_EXCEED_CREDITS: u16 = 1 << 1;
export const AF_CREDITS_MUST_NOT_EXCEED_DEBITS: u16 = 1 << 2;
export const AF_HISTORY: u16 = 1 << 3;
export const AF_IMPORTED: u16 = 1 << 4;
export const AF_CLOSED: u16 = 1 << 5;
export const AF_KNOWN: u16 = (1 << 6) - 1;

// Transfer (128 bytes):
//   0 id u128            16 debit_account_id u128   32 credit_account_id u128
//  48 amount u128        64 pending_id u128         80 user_data_128 u128
//  96 user_data_64 u64  104 user_data_32 u32       108 timeout u32 (seconds)
// 112 ledger u32        116 code u16               118 flags u16
// 120 timestamp u64
export const T_ID: usize = 0;
export const T_DEBIT_ACCOUNT_ID: usize = 16;
export const T_CREDIT_ACCOUNT_ID: usize = 32;
export const T_AMOUNT: usize = 48;
export const T_PENDING_ID: usize = 64;
export const T_USER_DATA_128: usize = 80;
export const T_USER_DATA_64: usize = 96;
export const T_USER_DATA_32: usize = 104;
export const T_TIMEOUT: usize = 108;
export const T_LEDGER: usize = 112;
export const T_CODE: usize = 116;
export const T_FLAGS: usize = 118;
export const T_TIMESTAMP: usize = 120;

export const TF_LINKED: u16 = 1 << 0;
export const TF_PENDING: u16 = 1 << 1;
export const TF_POST_PENDING: u16 = 1 << 2;
export const TF_VOID_PENDING: u16 = 1 << 3;
export const TF_BALANCING_DEBIT: u16 = 1 << 4;
export const TF_BALANCING_CREDIT: u16 = 1 << 5;
export const TF_CLOSING_DEBIT: u16 = 1 << 6;
export const TF_CLOSING_CREDIT: u16 = 1 << 7;
export const TF_IMPORTED: u16 = 1 << 8;
export const TF_KNOWN: u16 = (1 << 9) - 1;

// AccountFilter (128 bytes):
//   0 account_id u128    16 user_data_128 u128   32 user_data_64 u64
//  40 user_data_32 u32   44 code u16             46 reserved [58]u8
// 104 timestamp_min u64 112 timestamp_max u64   120 limit u32
// 124 flags u32
export const F_ACCOUNT_ID: usize = 0;
export const F_USER_DATA_128: usize = 16;
export const F_USER_DATA_64: usize = 32;
export const F_USER_DATA_32: usize = 40;
export const F_CODE: usize = 44;
export const F_RESERVED: usize = 46;
export const F_RESERVED_BYTES: usize = 58;
export const F_TIMESTAMP_MIN: usize = 104;
export const F_TIMESTAMP_MAX: usize = 112;
export const F_LIMIT: usize = 120;
export const F_FLAGS: usize = 124;

export const FF_DEBITS: u32 = 1 << 0;
export const FF_CREDITS: u32 = 1 << 1;
export const FF_REVERSED: u32 = 1 << 2;
export const FF_KNOWN: u32 = (1 << 3) - 1;

// AccountBalance (128 bytes):
//   0 debits_pending u128   16 debits_posted u128   32 credits_pending u128
//  48 credits_posted u128   64 timestamp u64        72 reserved [56]u8
export const B_BALANCES: usize = 0;
export const B_TIMESTAMP: usize = 64;

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

// Expiry heap entry (16 bytes): 0 expires_at u64 | 8 transfer_slot u32 | 12 reserved.
export const X_BYTES: usize = 16;
export const X_EXPIRES_AT: usize = 0;
export const X_SLOT: usize = 8;
