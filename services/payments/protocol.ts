// services/payments/protocol.ts: the payments service's wire contract, its
// one home (docs/payments.md): the request and reply layouts, the records,
// the directory's kinds, the payment states and the ISO 20022 status and
// reason codes the service answers with. The service
// (services/payments/assembly) and the host's payments front end
// (host/payments) import it.
//
// Compiled twice, like services/ledger/protocol.ts: by AssemblyScript into
// payments.wasm and by esbuild/tsc into the host, so it holds integer
// constants written as plain literals and pure functions over them.
//
// Text fields are Max35Text slots: u8 length, then up to 35 bytes of text
// (the host has checked the characters and normalised what needs it: an IBAN
// upper case without spaces, a BIC upper case), zeros after. Amounts are u128
// minor units of the ledger's currency.

// ---- request ----
//   +0 u8  operation (Op)
//   +1 u8  source (SOURCE_*; 0 for operations that have none)
//   +2 u16 scope: for the reads (payment_get, payment_list, statement,
//          directory_get) the gateway appends a key's ledger grants, u32 each,
//          after the request and counts them here; the read then answers only
//          what those ledgers hold (0: every ledger). 0 for every other operation.
//   +4 u32 count: records after the operation's lead record
//   +8 u32 bytes of the original message after the records (kept in the log, not read here)
//  +12 u32 0
export const HEADER_BYTES = 16;
export const HEADER_OP = 0;
export const HEADER_SOURCE = 1;
export const HEADER_SCOPE = 2;
export const SCOPE_LEDGERS_MAX = 16; // one key's grants (hal/admission.ts ADM_KEY_GRANTS_MAX)
export const HEADER_COUNT = 4;
export const HEADER_ORIGINAL_BYTES = 8;

export enum Op {
  directory_put = 1, // count DIRECTORY_ENTRY_BYTES records → reply header, count DIRECTORY_RESULT_BYTES results
  directory_get = 2, // count ACCOUNT_KEY_BYTES keys → reply header, count entries (kind 0: none)
  credit_transfers = 3, // MESSAGE_BYTES lead record, count TX_BYTES records, the original → reply header, count RESULT_BYTES
  payment_get = 4, // count u64 payment ids → reply header, count PAYMENT_BYTES records (id 0: none)
  status_reports = 5, // MESSAGE_BYTES lead record, count STATUS_BYTES records, the original → reply header, count RESULT_BYTES
  returns = 6, // MESSAGE_BYTES lead record, count RETURN_BYTES records, the original → reply header, count RESULT_BYTES
  reconcile = 7, // MESSAGE_BYTES lead record, count ENTRY_BYTES records, the original → reply header, count RESULT_BYTES
  payment_list = 8, // one LIST_FILTER_BYTES filter (count 1) → reply header (+8: the last id scanned), the matching PAYMENT_BYTES records
  statement = 9, // one STATEMENT_REQUEST_BYTES request (count 1) → reply header (count: entries), a STATEMENT_BYTES summary, the entries
  payment_messages = 10, // one u64 payment id (count 1) → reply header (count: its messages; 0: no such payment), then see "payment_messages"
  message_part = 11, // a PART_BYTES lead record, then a part of a larger request → see "message_part"
  hold_release = 12, // count RELEASE_BYTES records (1..GET_MAX) → reply header, count RESULT_BYTES results; see "holds"
  directory_list = 13, // one u32 after (entries numbered from 1 in the order made) and one u32 limit (1..GET_MAX), count 1 → reply header
  // (+8 u64 the number of the last entry in the reply: the next page's after), the entries in order; a read (scope applies)
}

export const SOURCE_PACS008 = 1;
export const SOURCE_PAIN001 = 2;
export const SOURCE_MT103 = 3;
export const SOURCE_JSON = 4;
export const SOURCE_PACS002 = 5; // status_reports only
export const SOURCE_PACS004 = 6; // returns only
export const SOURCE_CAMT053 = 7; // reconcile only
export const SOURCE_CAMT054 = 8; // reconcile only

// Transactions per request: a pain.001 of 10,000 is one request; the service
// sends them to the ledger in batches of at most the ledger's 8189.
export const TX_MAX = 10000;
export const DIRECTORY_PUT_MAX = 8189;
export const GET_MAX = 1024; // directory_get keys and payment_get ids per request

export const SLOT_BYTES = 36; // u8 length + Max35Text
export const TEXT_MAX = 35;
export const BIC_BYTES = 12; // u8 length + 8 or 11 characters

// ---- account key (40 bytes): what names an account in the directory ----
//   +0 u8 kind (DIR_*)  +1 u8[3] 0  +4 [36] text: an IBAN, another account id, or an agent's BIC
export const ACCOUNT_KEY_BYTES = 40;
export const KEY_KIND = 0;
export const KEY_TEXT = 4;

export const DIR_IBAN = 1;
export const DIR_OTHER = 2;
export const DIR_AGENT = 3; // an agent's BIC: its settlement (nostro/vostro) account

// ---- directory entry (128 bytes) ----
//   +0 [40] account key   +40 u32 ledger   +44 u8 flags (DIR_F_*)  +45 u8[3] 0
//  +48 u128 ledger account id   +64 [36] the account's name (text)   +100 u8[28] 0
export const DIRECTORY_ENTRY_BYTES = 128;
export const ENTRY_KEY = 0;
export const ENTRY_LEDGER = 40;
export const ENTRY_FLAGS = 44;
export const ENTRY_ACCOUNT = 48;
export const ENTRY_NAME = 64;
export const DIR_F_CLOSED = 1; // AC04: payments to or from it are refused
export const DIR_F_BLOCKED = 2; // AC06
export const DIR_F_KNOWN = 3;
// directory_put results (8 bytes each): u32 DIR_R_*, u32 0
export const DIRECTORY_RESULT_BYTES = 8;
export const DIR_R_CREATED = 0;
export const DIR_R_UPDATED = 1;
export const DIR_R_INVALID_KIND = 2;
export const DIR_R_INVALID_TEXT = 3;
export const DIR_R_INVALID_FLAGS = 4;
export const DIR_R_UNKNOWN_LEDGER = 5; // not one of the service's configured ledgers
export const DIR_R_ACCOUNT_ZERO = 6;
export const DIR_R_FULL = 7; // directory_max entries
export const DIR_R_RESERVED = 8; // reserved bytes not zero

// ---- credit_transfers lead record, the message (128 bytes) ----
//   +0 [36] MsgId   +36 [12] instructing agent's BIC (pacs.008, MT103: the sender; empty otherwise)
//  +48 [32] SHA-256 of the original message bytes   +80 u8[48] 0
export const MESSAGE_BYTES = 128;
export const MESSAGE_ID = 0;
export const MESSAGE_AGENT = 36;
export const MESSAGE_DIGEST = 48;

// ---- credit_transfers record, one transaction (512 bytes) ----
//   +0 [36] InstrId   +36 [36] EndToEndId   +72 [36] TxId   +108 [16] UETR (binary; zeros: none)
// +124 u32 ledger   +128 u128 amount (minor units)   +144 [40] debtor account key
// +184 [40] creditor account key   +224 [12] debtor agent BIC   +236 [12] creditor agent BIC
// +248 u8 debtor name length   +249 u8 creditor name length   +250 [2] debtor's country   +252 [2] creditor's country
// +254 u8[2] 0   +256 [104] the debtor's name   +360 [104] the creditor's name   +464 u8[48] 0
// The parties, for the compliance service's checks: names normalised as the
// compliance protocol's (services/compliance/protocol.ts: NORMALIZED_MAX
// bytes, SEARCH_TOKENS_MAX words at most; length 0: the message names none),
// countries ISO 3166 alpha-2 upper case (zeros: none) from the postal address.
export const TX_BYTES = 512;
export const TX_INSTR_ID = 0;
export const TX_END_TO_END_ID = 36;
export const TX_TX_ID = 72;
export const TX_UETR = 108;
export const TX_LEDGER = 124;
export const TX_AMOUNT = 128;
export const TX_DEBTOR = 144;
export const TX_CREDITOR = 184;
export const TX_DEBTOR_AGENT = 224;
export const TX_CREDITOR_AGENT = 236;
export const TX_DEBTOR_NAME_LENGTH = 248;
export const TX_CREDITOR_NAME_LENGTH = 249;
export const TX_DEBTOR_COUNTRY = 250;
export const TX_CREDITOR_COUNTRY = 252;
export const TX_DEBTOR_NAME = 256;
export const TX_CREDITOR_NAME = 360;
export const TX_NAME_MAX = 104; // the compliance protocol's NORMALIZED_MAX

// ---- status_reports record, one status of a payment QENEX sent (128 bytes) ----
//   +0 [36] the original's EndToEndId   +36 [16] the original's UETR (zeros: none)
//  +52 u32 status (STATUS_*)   +56 u32 reason (REASON_*; 0: none)   +60 u8[68] 0
// The payment is found by its UETR, else by its EndToEndId among the payments
// QENEX sent (pain.001: no sending agent). ACSC or ACCC posts its pending
// transfer, RJCT voids it, any other status leaves it pending. Its result:
// the payment's state after (ACSC, RJCT, ACCP), the reason the payment was
// rejected with, or why the line changed nothing: NOOR (no payment QENEX sent
// has that identity), NARR (the status contradicts the payment's final state,
// or the ledger refused; its code in RESULT_LEDGER).
export const STATUS_BYTES = 128;
export const STATUS_END_TO_END_ID = 0;
export const STATUS_UETR = 36;
export const STATUS_STATUS = 52;
export const STATUS_REASON = 56;

// ---- returns record, one return of a payment QENEX sent (128 bytes) ----
//   +0 [36] the original's EndToEndId   +36 [16] the original's UETR (zeros: none)
//  +52 u32 the ledger of the returned amount's currency (0: none)   +56 u32 the return reason (REASON_*)
//  +60 u32 0   +64 u128 the returned amount (minor units)   +80 u8[48] 0
// A settled payment is returned once: a transfer back from the account it
// credited to the one it debited, of the returned amount (at most the
// original's). Its result: ACSC and the return transfer, or RJCT and why:
// NOOR (no payment QENEX sent has that identity), AM05 (returned already),
// AM09 (more than the original), AM03 (another ledger), NARR (not settled,
// or the ledger refused: its code in RESULT_LEDGER).
export const RETURN_BYTES = 128;
export const RETURN_END_TO_END_ID = 0;
export const RETURN_UETR = 36;
export const RETURN_LEDGER = 52;
export const RETURN_REASON = 56;
export const RETURN_AMOUNT = 64;

// ---- reconcile record, one entry of a correspondent's statement or notification (128 bytes) ----
//   +0 [36] the entry's EndToEndId (its transaction details; empty: none)   +36 [16] its UETR (zeros: none)
//  +52 u32 the ledger of the entry's currency (0: none)   +56 u8 ENTRY_CREDIT or ENTRY_DEBIT   +57 u8[7] 0
//  +64 u128 the amount (minor units)   +80 u8[48] 0
// Each entry is matched to a payment by its UETR, else its EndToEndId (a
// payment QENEX sent, or one the statement's servicer sent it). Its result
// (nothing changes; the message is not recorded): RESULT_STATUS MATCH_* and
// the payment and its transfer when one was found.
export const ENTRY_BYTES = 128;
export const ENTRY_END_TO_END_ID = 0;
export const ENTRY_UETR = 36;
export const ENTRY_LEDGER_OF = 52;
export const ENTRY_SIDE = 56;
export const ENTRY_AMOUNT = 64;
export const ENTRY_CREDIT = 1;
export const ENTRY_DEBIT = 2;
// Reconciliation results (four ASCII letters, QENEX's own: not ISO codes).
export const MATCH_MATCHED: u32 = 0x4843544d; // "MTCH" a payment with that identity, amount and ledger, settled or returned
export const MATCH_DIFFERS: u32 = 0x46464944; // "DIFF" a payment with that identity, but another amount, ledger, or not settled
export const MATCH_UNMATCHED: u32 = 0x544d4e55; // "UNMT" no payment has that identity

// ---- message_part: a credit_transfers request larger than one message ----
// A pain.001 of thousands of transactions with its original bytes is more
// than the kernel delivers at once (1 MiB). The host cuts such a request
// into parts of at most PART_BYTES_MAX and sends them in order, each a
// message_part request (source: the request's; count 1; original bytes 0):
// Lead record (48 bytes): +0 [32] SHA-256 of the whole request (its identity)
//   +32 u32 the whole request's bytes (at most ASSEMBLED_BYTES_MAX)   +36 u32 this part's index
//   +40 u32 parts (2 .. PARTS_MAX)   +44 u32 0
// then the part's bytes. The service assembles up to ASSEMBLIES requests at
// once, each by its identity: part 0 starts one (again, when it was begun
// before; the oldest is dropped when all are taken), each next part must be
// the next in order. Every part but the last is answered with the reply
// header alone (flags REPLY_F_PART, +8 u64 the bytes assembled so far); the
// last runs the assembled request, which must be a credit_transfers request
// of the parts' source and length, and is answered as that request is.
// A part out of order, or of no assembly in progress, is refused whole
// (REFUSED_MALFORMED; the host starts again from part 0). Every part is a
// log entry, so the assembly is replayed like everything else.
export const PART_BYTES = 48;
export const PART_DIGEST = 0;
export const PART_TOTAL = 32;
export const PART_INDEX = 36;
export const PART_COUNT = 40;
export const PART_BYTES_MAX = 1000000; // a part's bytes: the request, its gateway header and lead record fit one 1 MiB message
export const PARTS_MAX = 16;
export const ASSEMBLED_BYTES_MAX = 12582912; // 12 MiB: TX_MAX transaction records and an 8 MiB original, with room
export const ASSEMBLIES = 2;

// ---- replies ----
// Reply header (16 bytes): +0 u32 count, +4 u32 flags (REPLY_F_*), +8 u64: for
// credit_transfers, status_reports and returns the logical time the message
// was recorded (REPLY_TIME: what the documents answering it are dated, the
// same when it is sent again), for payment_list REPLY_LAST, else 0.
export const REPLY_HEADER_BYTES = 16;
export const REPLY_F_REPEATED = 1; // the same message again: the original answer
export const REPLY_F_PART = 4; // a message_part taken: send the next
export const REPLY_TIME = 8;
// The request was refused whole: count 0, +8 u32 why (REFUSED_*), and the
// reason as ASCII text after the header. Nothing was recorded or moved. In
// band, because a service's reply to a peer carries no status.
export const REPLY_F_REFUSED = 2;
export const REPLY_REFUSED = 8;
export const REFUSED_MALFORMED = 1; // the host sent what the protocol does not allow
export const REFUSED_BUSY = 2; // a request is waiting for the ledger
export const REFUSED_FULL = 3; // payments_max or messages_max reached
export const REFUSED_NOT_FOUND = 4; // no directory entry for the account asked about

// credit_transfers result (48 bytes), one per transaction in order:
//   +0 u32 status (STATUS_*: four ASCII letters)   +4 u32 reason (REASON_*; 0: none)
//   +8 u64 payment id (0: no payment was recorded)   +16 u128 ledger transfer id (0: none made)
//  +32 u32 the ledger's result code (TransferResult) when it refused   +36 u32 0   +40 u64 the transfer's timestamp
export const RESULT_BYTES = 48;
export const RESULT_STATUS = 0;
export const RESULT_REASON = 4;
export const RESULT_PAYMENT = 8;
export const RESULT_TRANSFER = 16;
export const RESULT_LEDGER = 32;
export const RESULT_TIMESTAMP = 40;

// ---- payment_list filter (32 bytes) ----
//   +0 u64 after: payments with a greater id, in id order   +8 u32 limit (1..GET_MAX)
//  +12 u8 state (STATE_*; 0: any)   +13 u8 source (SOURCE_*; 0: any)   +14 u16 0   +16 u32 ledger (0: any)   +20 u8[12] 0
// At most LIST_SCAN_MAX payments are looked at a request: the reply header's
// +8 u64 is the last id looked at, where the next page starts (after = it).
export const LIST_FILTER_BYTES = 32;
export const LIST_AFTER = 0;
export const LIST_LIMIT = 8;
export const LIST_STATE = 12;
export const LIST_SOURCE = 13;
export const LIST_LEDGER = 16;
export const LIST_SCAN_MAX = 65536;
export const REPLY_LAST = 8;

// ---- statement: a directory account's posted balances and transfers over a period ----
// Request (64 bytes): +0 [40] account key   +40 u64 from (ledger timestamp, inclusive)
//   +48 u64 to (inclusive; 0: now)   +56 u32 entries at most (1..STATEMENT_ENTRIES_MAX)   +60 u32 0
// The service reads the account from the ledger (its posted totals now) and
// its transfers from `from` on, page by page (get_account_transfers), and
// works back: the totals at the end of the period are now's less what came
// after `to`, those at its start less what came within it. Pending transfers
// and voids move no posted amount and are left out; a post moves its amount.
// Summary (128 bytes): +0 u128 ledger account id   +16 u32 ledger   +20 u32 entries in the period
//   +24 u8 truncated (more entries than asked for)   +25 u8[7] 0   +32 u128 debits posted at the start
//   +48 u128 credits posted at the start   +64 u128 debits posted at the end   +80 u128 credits posted at the end
//   +96 u64 from   +104 u64 to (now when 0 was asked)   +112 u8[16] 0
// Then the period's transfers (the ledger's 128-byte records), oldest first, as many as asked for.
export const STATEMENT_REQUEST_BYTES = 64;
export const STATEMENT_KEY = 0;
export const STATEMENT_FROM = 40;
export const STATEMENT_TO = 48;
export const STATEMENT_LIMIT = 56;
export const STATEMENT_BYTES = 128;
export const STMT_ACCOUNT = 0;
export const STMT_LEDGER = 16;
export const STMT_ENTRIES = 20;
export const STMT_TRUNCATED = 24;
export const STMT_OPENING_DEBITS = 32;
export const STMT_OPENING_CREDITS = 48;
export const STMT_CLOSING_DEBITS = 64;
export const STMT_CLOSING_CREDITS = 80;
export const STMT_FROM = 96;
export const STMT_TO = 104;
export const STATEMENT_ENTRIES_MAX = 2048;

// ---- payment_messages: a payment and every message about it ----
// Reply: the header (count: the messages, 1..3; 0 and nothing more: no such
// payment, or not in the key's scope), the payment's PAYMENT_BYTES record,
// count MESSAGE_INFO_BYTES records (the message it came in, then the status
// report and the return that changed it, when any), then the first message's
// answer: one RESULT_BYTES result per transaction of it, as first answered
// (what the documents answering it are made of; its info's count of them).
// Message info (128 bytes): +0 u8 source (SOURCE_*)   +1 u8 role (MSG_ROLE_*)   +2 u16 0
//   +4 u32 transactions or lines   +8 u64 the logical time it was recorded   +16 [36] MsgId
//  +52 [12] the sending agent's BIC (empty: none)   +64 [32] SHA-256 of its original bytes
//  +96 u64 the id of its first payment (credit transfers; 0 otherwise)   +104 u32 its message number   +108 u8[20] 0
export const MESSAGE_INFO_BYTES = 128;
export const INFO_SOURCE = 0;
export const INFO_ROLE = 1;
export const INFO_COUNT = 4;
export const INFO_TIME = 8;
export const INFO_MSG_ID = 16;
export const INFO_AGENT = 52;
export const INFO_DIGEST = 64;
export const INFO_FIRST = 96;
export const INFO_NUMBER = 104;
export const MSG_ROLE_ORIGIN = 1;
export const MSG_ROLE_STATUS = 2;
export const MSG_ROLE_RETURN = 3;
export const PAYMENT_MESSAGES_MAX = 3;

// ---- payment record (256 bytes), payment_get ----
//   +0 u64 id   +8 u8 state (STATE_*)   +9 u8 source   +10 u8 the compliance decision (the compliance protocol's
//   ACTION_*; 0: not checked)   +11 u8 0   +12 u32 reason
//  +16 u32 ledger   +20 u32 message number   +24 u128 amount   +40 u128 transfer id
//  +56 u128 debit account   +72 u128 credit account   +88 u64 created (logical ns)   +96 u64 transfer timestamp
// +104 [16] UETR   +120 [36] EndToEndId   +156 [36] InstrId   +192 [36] TxId
// +228 [12] the agent that sent it (pacs.008, MT103: the instructing agent; empty otherwise)
// +240 u32 the ledger's result code when it refused the transfer (reason NARR and others)
// +244 u32 1 + the number of the status report (pacs.002) that posted or voided it (0: none)
// +248 u32 1 + the number of the return (pacs.004) that returned it (0: none)   +252 u32 the compliance alert its check raised (0: none)
// Message numbers count the messages the service recorded (0, 1, 2, …; payment_messages reads them).
export const PAYMENT_BYTES = 256;
export const PAY_ID = 0;
export const PAY_STATE = 8;
export const PAY_SOURCE = 9;
export const PAY_REASON = 12;
export const PAY_LEDGER = 16;
export const PAY_MESSAGE = 20;
export const PAY_AMOUNT = 24;
export const PAY_TRANSFER = 40;
export const PAY_DEBIT = 56;
export const PAY_CREDIT = 72;
export const PAY_CREATED = 88;
export const PAY_TIMESTAMP = 96;
export const PAY_UETR = 104;
export const PAY_END_TO_END_ID = 120;
export const PAY_INSTR_ID = 156;
export const PAY_TX_ID = 192;
export const PAY_AGENT = 228;
export const PAY_LEDGER_RESULT = 240;
export const PAY_STATUS_MESSAGE = 244;
export const PAY_RETURN_MESSAGE = 248;
export const PAY_COMPLIANCE = 10;
export const PAY_ALERT = 252;

export const STATE_SETTLED = 1; // posted on the ledger (pacs.008 in, JSON)
export const STATE_PENDING = 2; // a pending transfer awaiting the clearing's status (pain.001 out)
export const STATE_REJECTED = 3; // nothing moved
export const STATE_RETURNED = 4;
export const STATE_SUBMITTED = 5; // sent to the ledger, its answer not back yet (never seen outside a request)
export const STATE_HELD = 6; // held by compliance: its transfer is pending until its case is closed (hold_release)

// Transfer ids of payments: high 64 bits PAYMENT_TRANSFER_ID_HI ("QXPAY" and
// 0s), low 64 bits the payment's id; a range no client id meets by accident.
export const PAYMENT_TRANSFER_ID_HI = 0x5158504159000000;

// Status and reason codes: four ASCII letters as a little-endian u32 (the letters in order in memory).
// ISO 20022 ExternalPaymentTransactionStatus1Code
export const STATUS_ACSC: u32 = 0x43534341; // "ACSC" settlement completed
export const STATUS_ACCP: u32 = 0x50434341; // "ACCP" accepted, pending settlement
export const STATUS_RJCT: u32 = 0x54434a52; // "RJCT"
export const STATUS_ACCC: u32 = 0x43434341; // "ACCC" accepted, credited to the creditor's account
// ISO 20022 ExternalStatusReason1Code
export const REASON_AC01: u32 = 0x31304341; // "AC01" incorrect account number (not in the directory)
export const REASON_AC04: u32 = 0x34304341; // "AC04" closed account
export const REASON_AC06: u32 = 0x36304341; // "AC06" blocked account
export const REASON_AM04: u32 = 0x34304d41; // "AM04" insufficient funds
export const REASON_AM05: u32 = 0x35304d41; // "AM05" duplication
export const REASON_AM03: u32 = 0x33304d41; // "AM03" currency not allowed (ledger not the account's)
export const REASON_AG01: u32 = 0x31304741; // "AG01" transaction forbidden (no settlement account for the agent)
export const REASON_NARR: u32 = 0x5252414e; // "NARR" narrative: another ledger refusal, its code in RESULT_LEDGER
export const REASON_RC01: u32 = 0x31304352; // "RC01" bank identifier incorrect
export const REASON_AM09: u32 = 0x39304d41; // "AM09" wrong amount (a return larger than the original)
export const REASON_NOOR: u32 = 0x524f4f4e; // "NOOR" no original transaction (a status for a payment QENEX did not send)
export const REASON_RR04: u32 = 0x34305252; // "RR04" regulatory reason (sanctions, a monitoring rule, a compliance officer's rejection)
export const REASON_FRAD: u32 = 0x44415246; // "FRAD" fraudulent origin (the fraud score)
export const REASON_AM02: u32 = 0x32304d41; // "AM02" not allowed amount (over the per-payment maximum)
export const REASON_AM14: u32 = 0x34314d41; // "AM14" amount exceeds an agreed limit (a daily outflow or exposure limit)

// ---- holds: a payment the compliance service held ----
// Its transfer was made pending (a pain.001's is pending anyway) and the
// payment is HELD until its case is closed. hold_release record (16 bytes):
//   +0 u64 payment id   +8 u8 outcome (the compliance protocol's OUTCOME_RELEASE or OUTCOME_REJECT)   +9 u8[3] 0
//  +12 u32 the reason a rejection is given (REASON_*; 0: RR04)
// RELEASE posts the pending transfer (SETTLED), or for a pain.001 leaves it
// pending its clearing's status (PENDING); REJECT voids it (REJECTED). Its
// result: the payment's state after as status (ACSC, ACCP, RJCT) with the
// transfer made, or RJCT and why nothing changed: NOOR (no such payment),
// NARR (not held: released or rejected before — the same outcome again is
// answered with the payment as it is, ACSC/ACCP/RJCT — or the ledger refused).
export const RELEASE_BYTES = 16;
export const RELEASE_PAYMENT = 0;
export const RELEASE_OUTCOME = 8;
export const RELEASE_REASON = 12;

// Transfer ids of a pending payment's post and void: the payment's id under these high 64 bits
// (each exact as a JavaScript number too: its low 16 bits are zero).
export const PAYMENT_POST_ID_HI = 0x5158504159010000;
export const PAYMENT_VOID_ID_HI = 0x5158504159020000;
export const PAYMENT_RETURN_ID_HI = 0x5158504159030000;
