// services/compliance/protocol.ts: the compliance service's wire contract,
// its one home (docs/compliance.md): sanctions lists loaded in stages and
// names screened against them. The service (services/compliance/assembly)
// and the host (host/compliance: the lists' parsers, the name normaliser,
// the request builders; the gateway's front end) import it.
//
// The ledger's transfers are checked in the ledger's own layout
// (../ledger/protocol.ts), and refused ones answered with its result codes.
//
// Compiled twice, like services/payments/protocol.ts: by AssemblyScript into
// compliance.wasm and by esbuild/tsc into the host, so it holds integer
// constants written as plain literals and pure functions over them
// (requestLength: the service and the gateway frame requests alike).
//
// Names travel twice: as the list writes them (display, UTF-8, for the
// answer) and normalised by the host (host/compliance/names.ts: lower-case
// ASCII tokens a-z 0-9 separated by one space, diacritics folded, "LAST,
// First" put in reading order, punctuation, company suffixes and stop words
// dropped, common transliterations made one spelling). The service matches
// the normalised form only, so its decisions never depend on Unicode tables;
// both forms are in the log (the list's at import, the query's at search),
// so a replay decides the same with the same list version.

import * as L from "../ledger/protocol";

// ---- request header (16 bytes) ----
//   +0 u8 operation (Op)   +1 u8 list (LIST_*; 0 for search and status)   +2 u16 0
//   +4 u32 count: records after the header   +8 u32 0   +12 u32 0
export const HEADER_BYTES = 16;
export const HEADER_OP = 0;
export const HEADER_LIST = 1;
export const HEADER_COUNT = 4;

export enum Op {
  list_begin = 1, // one BEGIN_BYTES record → reply header; starts a staged load of `list` (a staged one before it is dropped)
  list_names = 2, // count NAME_BYTES records (1..NAMES_PER_REQUEST) → reply header (+8 u64: names staged so far)
  list_commit = 3, // one BEGIN_BYTES record (the same as list_begin's) → reply header (+8 u64: names in force); see "load"
  search = 4, // one SEARCH_BYTES record → reply header (count: matches; +8 u32 names scored, +12 u32 entries at or over the threshold), count MATCH_BYTES records, best first
  list_status = 5, // no record → reply header (count: LISTS), LISTS STATUS_BYTES records, list by list
  check = 6, // count CHECK_BYTES records (1..CHECKS_PER_REQUEST) → reply header (+8 u64 0), count DECISION_BYTES decisions, in order
  rules_set = 7, // count RULES_BYTES records (1..RULE_SETS_MAX, ledgers distinct) → reply header (+8 u64 the new rules version); replaces every rule set
  rules_get = 8, // no record → reply header (count: rule sets; +8 u64 the rules version), count RULES_BYTES records, by ledger
  alerts_list = 9, // one FILTER_BYTES filter → reply header (+8 u64 the last alert id looked at), the matching ALERT_BYTES records, by id
  case_update = 10, // one CASE_BYTES record → reply header (count 1), the alert's ALERT_BYTES record after the update
  decisions_list = 11, // one FILTER_BYTES filter → reply header (+8 u64 the last decision sequence looked at), the matching DECISION_BYTES records
  accounts_screen = 12, // count OWNER_BYTES records (1..OWNERS_PER_REQUEST) → reply header (+8 u64 matches), count SCREENED_BYTES results, in order
  pretrade = 13, // count ORDER_BYTES records (1..ORDERS_PER_REQUEST) → reply header, count ORDER_RESULT_BYTES results, in order; see "pre-trade"
  // count ledger transfers (the ledger's own 128-byte records, 1..TRANSFERS_PER_REQUEST) → reply header (+8 u64: how many
  // were refused), count VERDICT_BYTES verdicts, in order; see "the ledger's own transfers"
  check_transfers = 14,
}

/**
 * The length a request of operation `op` carrying `count` records has (the
 * header and the records), or 0 when `op` is no operation or `count` is not
 * one it takes. The service refuses any other length; the gateway checks it
 * before the log.
 */
export function requestLength(op: u32, count: u32): u32 {
  const one = count == 1;
  if (op == <u32>Op.list_begin || op == <u32>Op.list_commit) return one ? <u32>(HEADER_BYTES + BEGIN_BYTES) : 0;
  if (op == <u32>Op.search) return one ? <u32>(HEADER_BYTES + SEARCH_BYTES) : 0;
  if (op == <u32>Op.list_status || op == <u32>Op.rules_get) return count == 0 ? <u32>HEADER_BYTES : 0;
  if (op == <u32>Op.alerts_list || op == <u32>Op.decisions_list) return one ? <u32>(HEADER_BYTES + FILTER_BYTES) : 0;
  if (op == <u32>Op.case_update) return one ? <u32>(HEADER_BYTES + CASE_BYTES) : 0;
  if (op == <u32>Op.list_names) return records(count, <u32>NAMES_PER_REQUEST, <u32>NAME_BYTES);
  if (op == <u32>Op.check) return records(count, <u32>CHECKS_PER_REQUEST, <u32>CHECK_BYTES);
  if (op == <u32>Op.rules_set) return records(count, <u32>RULE_SETS_MAX, <u32>RULES_BYTES);
  if (op == <u32>Op.accounts_screen) return records(count, <u32>OWNERS_PER_REQUEST, <u32>OWNER_BYTES);
  if (op == <u32>Op.pretrade) return records(count, <u32>ORDERS_PER_REQUEST, <u32>ORDER_BYTES);
  if (op == <u32>Op.check_transfers) return records(count, <u32>TRANSFERS_PER_REQUEST, <u32>L.RECORD_BYTES);
  return 0;
}

/** The header and `count` records of `bytes`, when count is 1..max; else 0. */
function records(count: u32, max: u32, bytes: u32): u32 {
  return count >= 1 && count <= max ? <u32>HEADER_BYTES + count * bytes : 0;
}

// Lists (a name's list in a match says which).
export const LIST_OFAC_SDN = 1;
export const LIST_UN = 2;
export const LISTS = 2;

// Entry types (SDN_Type; the UN list has individuals and entities).
export const TYPE_INDIVIDUAL = 1;
export const TYPE_ENTITY = 2;
export const TYPE_VESSEL = 3;
export const TYPE_AIRCRAFT = 4;

// ---- load: list_begin, list_names…, list_commit ----
// Begin record (64 bytes): +0 [32] the list's version (SHA-256 of its input
// files, host/compliance/lists.ts says in which order) +32 u32 entries (the
// list's entities) +36 u32 names (every name record the load will send)
// +40 u8[24] 0.
// The staged load is the list's alone: list_names appends to it, in order;
// list_commit with the same record puts it in force when exactly `names`
// names were staged (the old list stays in force otherwise, and the reply
// says why); a list_begin drops what was staged before it. Loading is an
// operator's command; every request of it is a log entry, so the list in
// force at any point of the log is known and replayed.
export const BEGIN_BYTES = 64;
export const BEGIN_VERSION = 0;
export const BEGIN_ENTRIES = 32;
export const BEGIN_NAMES = 36;
export const NAMES_PER_REQUEST = 3900; // name records a list_names request carries at most (about 1 MB)

// ---- name record (256 bytes): one name of one entry (its primary name or an alias) ----
//   +0 u8 type (TYPE_*)   +1 u8 flags (NAME_F_*)   +2 u8 entity id length (1..ENTITY_ID_MAX)
//   +3 u8 normalised length (1..NORMALIZED_MAX)   +4 [28] the list's own id of the entry (ASCII:
//   the SDN ent_num, the UN REFERENCE_NUMBER such as QDi.015)   +32 u8 display length (1..DISPLAY_MAX)
//  +33 u8[7] 0   +40 [104] normalised name   +144 [112] display name (UTF-8, the list's spelling)
// Bytes after each text's length are zero.
export const NAME_BYTES = 256;
export const NAME_TYPE = 0;
export const NAME_FLAGS = 1;
export const NAME_ID_LENGTH = 2;
export const NAME_NORMALIZED_LENGTH = 3;
export const NAME_ID = 4;
export const NAME_DISPLAY_LENGTH = 32;
export const NAME_NORMALIZED = 40;
export const NAME_DISPLAY = 144;
export const ENTITY_ID_MAX = 28;
export const NORMALIZED_MAX = 104;
export const DISPLAY_MAX = 112;
export const NAME_F_ALIAS = 1; // an alias (a.k.a., f.k.a., n.k.a.), not the primary name
export const NAME_F_WEAK = 2; // an alias its list marks of low quality (UN QUALITY "Low")

// ---- search ----
// Search record (128 bytes): +0 u8 type (TYPE_*; 0: any)   +1 u8 limit (1..MATCHES_MAX)
//   +2 u8 normalised length (1..NORMALIZED_MAX)   +3 u8 0   +4 u32 threshold (score in millionths:
//   matches below it are not answered; 0: the service's configured default)   +8 u8[16] 0
//  +24 [104] the normalised name
// Match record (160 bytes): +0 u8 list   +1 u8 type   +2 u8 entity id length   +3 u8 display length
//   +4 u32 score (millionths, 0..1,000,000)   +8 [28] entity id   +36 [112] the matched name (display)
//  +148 u32 the list's version's first 4 bytes (which list version decided)   +152 u8 flags (NAME_F_*)   +153 u8[7] 0
// One match per entry (its best-scoring name), best first, ties by list then entity id (shorter first, then
// byte by byte). The reply header's +8 says how many names the service scored (the candidates its index gave)
// and +12 how many entries reached the threshold (count is the best `limit` of them).
// A query has at most SEARCH_TOKENS_MAX words (tokens): a longer one is refused malformed.
export const SEARCH_BYTES = 128;
export const SEARCH_TOKENS_MAX = 16;
export const SEARCH_TYPE = 0;
export const SEARCH_LIMIT = 1;
export const SEARCH_NORMALIZED_LENGTH = 2;
export const SEARCH_THRESHOLD = 4;
export const SEARCH_NORMALIZED = 24;
export const MATCHES_MAX = 100;
export const MATCH_BYTES = 160;
export const MATCH_LIST = 0;
export const MATCH_TYPE = 1;
export const MATCH_ID_LENGTH = 2;
export const MATCH_DISPLAY_LENGTH = 3;
export const MATCH_SCORE = 4;
export const MATCH_ID = 8;
export const MATCH_DISPLAY = 36;
export const MATCH_VERSION = 148;
export const MATCH_FLAGS = 152;
export const SCORE_ONE = 1000000;

// ---- status record (64 bytes), list_status ----
//   +0 [32] version in force (zeros: none)   +32 u32 entries   +36 u32 names   +40 u64 the logical time it was put in force
//  +48 u32 names staged (a load in progress)   +52 u8[12] 0
export const STATUS_BYTES = 64;
export const STATUS_VERSION = 0;
export const STATUS_ENTRIES = 32;
export const STATUS_NAMES = 36;
export const STATUS_TIME = 40;
export const STATUS_STAGED = 48;

// ---- replies ----
// Reply header (16 bytes): +0 u32 count, +4 u32 flags (REPLY_F_*), +8 u64 (the operation's, above; else 0).
// Refused whole: flags REPLY_F_REFUSED, +8 u32 why (REFUSED_*), the reason as ASCII after the header;
// nothing changed (a list in force stays in force).
export const REPLY_HEADER_BYTES = 16;
export const REPLY_F_REFUSED = 2;
export const REPLY_REFUSED = 8;
export const REFUSED_MALFORMED = 1; // the host sent what the protocol does not allow
export const REFUSED_NO_LOAD = 2; // list_names or list_commit of no load begun (or of another version)
export const REFUSED_INCOMPLETE = 3; // list_commit before every name arrived
export const REFUSED_FULL = 4; // more names than the service's names_max
export const REFUSED_NOT_FOUND = 5; // case_update of no such alert
export const REFUSED_CASE = 6; // a case_update the case's state does not allow (a closed case, a hold closed without an outcome)

// ==== payment checks: screening, limits, monitoring rules and fraud scoring before money moves ====
// The payments service sends every payment it would move (after its own
// checks: directory, duplicates) as a check record; the service decides each,
// in order, and answers a decision each: ALLOW, HOLD (the payment's transfer
// is made pending and waits for a compliance officer's decision on its case)
// or REFUSE (nothing moves). The decision names what decided it: the rules
// that fired (RULE_* bits), the best sanctions match of either party and the
// list version it was made with, the fraud score and the model version, the
// rules version. Each check counts in the accounts' activity (velocity,
// daily outflow, ...) once decided, refused ones not: a refused payment
// moved no money.
//
// Check record (320 bytes):
//   +0 u64 payment id (the caller's: the payments service's id)   +8 u32 ledger   +12 u8 source (the payments
//   protocol's SOURCE_*)   +13 u8 flags (CHECK_F_*)   +14 u8 debtor name length   +15 u8 creditor name length
//  +16 u128 amount (minor units)   +32 u128 debit account (the ledger's id)   +48 u128 credit account
//  +64 [2] debtor's country (ISO 3166 alpha-2, upper case; zeros: none)   +66 [2] creditor's country   +68 u8[4] 0
//  +72 [104] debtor's name, normalised as list names are (SEARCH_TOKENS_MAX words at most; length 0: none)
// +176 [104] creditor's name, the same   +280 [36] the customer: the debit account's owner as the bank's
//  directory names it (a u8 length, then up to CUSTOMER_MAX bytes; length 0: none) — per-customer limits
//  add up by it   +316 u32 0
export const CHECK_BYTES = 320;
export const CHECK_PAYMENT = 0;
export const CHECK_LEDGER = 8;
export const CHECK_SOURCE = 12;
export const CHECK_FLAGS = 13;
export const CHECK_DEBTOR_LENGTH = 14;
export const CHECK_CREDITOR_LENGTH = 15;
export const CHECK_AMOUNT = 16;
export const CHECK_DEBIT = 32;
export const CHECK_CREDIT = 48;
export const CHECK_DEBTOR_COUNTRY = 64;
export const CHECK_CREDITOR_COUNTRY = 66;
export const CHECK_DEBTOR_NAME = 72;
export const CHECK_CREDITOR_NAME = 176;
export const CHECK_CUSTOMER = 280;
export const CUSTOMER_MAX = 35; // the payments directory's Max35Text name
export const CHECKS_PER_REQUEST = 3000; // about 960 KB: one kernel message
// The debit account is a customer's (its outflow is monitored and limited); clear when it is a
// correspondent's settlement account (pacs.008, MT103 in: the sending agent's).
export const CHECK_F_DEBIT_CUSTOMER = 1;
// The credit account is a customer's (its inflow is remembered for rapid in-and-out); clear for an agent's.
export const CHECK_F_CREDIT_CUSTOMER = 2;

// Decision record (128 bytes):
//   +0 u64 payment id   +8 u8 action (ACTION_*)   +9 u8 party of the sanctions match (PARTY_*; 0: none)
//  +10 u8 the match's list (LIST_*; 0: none)   +11 u8 the match's entity id length   +12 u32 rules fired (RULE_*)
//  +16 u32 the rule that decided the action (one RULE_* bit; 0: allowed)   +20 u32 alert id (0: none raised)
//  +24 u32 fraud score (millionths)   +28 u32 fraud model version   +32 u32 the best sanctions score (millionths)
//  +36 [28] the match's entity id (the list's own)   +64 u32 OFAC SDN list version in force (its first 4 bytes;
//  0: none)   +68 u32 UN list version, the same   +72 u32 rules version   +76 u32 ledger   +80 u64 logical time
//  +88 u128 amount   +104 u128 debit account   +120 u64 the decision's sequence number (1, 2, …)
// +128 u128 the ledger transfer's id (ORIGIN_TRANSFER; 0 for a payment: its payment id says which)
// +144 u8 origin (ORIGIN_*)   +145 u8[15] 0
export const DECISION_BYTES = 160;
export const DEC_PAYMENT = 0;
export const DEC_ACTION = 8;
export const DEC_PARTY = 9;
export const DEC_LIST = 10;
export const DEC_ID_LENGTH = 11;
export const DEC_RULES = 12;
export const DEC_DECIDED_BY = 16;
export const DEC_ALERT = 20;
export const DEC_FRAUD_SCORE = 24;
export const DEC_MODEL = 28;
export const DEC_SANCTIONS_SCORE = 32;
export const DEC_ENTITY_ID = 36;
export const DEC_OFAC_VERSION = 64;
export const DEC_UN_VERSION = 68;
export const DEC_RULES_VERSION = 72;
export const DEC_LEDGER = 76;
export const DEC_TIME = 80;
export const DEC_AMOUNT = 88;
export const DEC_DEBIT = 104;
export const DEC_SEQUENCE = 120;
export const DEC_TRANSFER = 128;
export const DEC_ORIGIN = 144;
export const ORIGIN_PAYMENT = 1; // a payments service's check (payment id set)
export const ORIGIN_TRANSFER = 2; // one of the ledger's own create_transfers events, checked for the gateway (transfer id set)
export const ACTION_ALLOW = 1;
export const ACTION_HOLD = 2;
export const ACTION_REFUSE = 3;
export const PARTY_DEBTOR = 1;
export const PARTY_CREDITOR = 2;

// Rules (bits of a decision's and an alert's rules fired). Limits refuse; the
// others hold when the rule set's hold mask has their bit, else only raise an
// alert; sanctions and fraud have two scores each (hold at, refuse at).
export const RULE_SANCTIONS = 1; // a party's name matches a listed name at or over screen_hold
export const RULE_AMOUNT = 2; // amount at or over amount_threshold
export const RULE_VELOCITY = 4; // the debit account's payments in the velocity window over velocity_count or velocity_sum
export const RULE_STRUCTURING = 8; // structuring_count payments just under structuring_threshold in its window, this one included
export const RULE_RAPID = 16; // out within rapid_window_s of an inflow, at least rapid_ratio of it
export const RULE_DORMANT = 32; // no activity for dormant_days, then a payment of dormant_amount or more
export const RULE_HIGH_RISK = 64; // a party's country on the rule set's high-risk list
export const RULE_FRAUD = 128; // the fraud score at or over fraud_hold
export const RULE_PAYMENT_MAX = 256; // limit: amount over payment_max
export const RULE_ACCOUNT_DAILY = 512; // limit: the debit account's outflow this day over account_daily_max
export const RULE_CUSTOMER_DAILY = 1024; // limit: the customer's outflow this day over customer_daily_max
export const RULE_COUNTERPARTY = 2048; // limit: paid to the credit account this day over counterparty_daily_max
// A table is full: the activity table (the payment is held, not waved through unmonitored), or the alerts table
// (a payment whose rules call for a case is refused: nothing moves or waits without its case).
export const RULE_CAPACITY = 4096;
export const RULE_ORDER_VALUE = 8192; // pre-trade: the order's value over order_value_max
export const RULE_POSITION = 16384; // pre-trade: the position after the order over position_max either way
export const RULE_PRICE_BAND = 32768; // pre-trade: the price outside price_band_bps of the reference
export const RULES_LIMITS = 256 | 512 | 1024 | 2048;

// Rule set (256 bytes), one per ledger (amounts in its minor units; 0 turns a rule or limit off):
//   +0 u32 ledger   +4 u32 hold mask (RULE_* bits that hold rather than only alert)
//   +8 u128 amount_threshold   +24 u128 payment_max   +40 u128 account_daily_max   +56 u128 customer_daily_max
//  +72 u128 counterparty_daily_max   +88 u128 velocity_sum   +104 u32 velocity_count   +108 u32 velocity_window_s
// +112 u128 structuring_threshold   +128 u32 structuring_margin_bps (just under: within this many basis points below)
// +132 u32 structuring_count   +136 u32 structuring_window_s   +140 u32 rapid_window_s   +144 u32 rapid_ratio_bps
// +148 u32 dormant_days   +152 u128 dormant_amount   +168 u32 fraud_hold (millionths)   +172 u32 fraud_refuse
// +176 u32 screen_hold (millionths)   +180 u32 screen_refuse   +184 u8 high-risk countries (0..HIGH_RISK_MAX)
// +185 u8[3] 0   +188 [2 × HIGH_RISK_MAX] the countries (ISO 3166 alpha-2, upper case)
// +252 u32 price_band_bps (pre-trade: a price at most this far from the reference)   +256 u128 order_value_max (pre-trade)
// +272 u64 position_max (pre-trade: the largest position, long or short, in lots)   +280 u32 flags (RULES_F_*)   +284 u8[36] 0
// A ledger with no rule set is checked against sanctions only, at the service's configured threshold
// (hold) and nothing refuses. A day is the logical clock's UTC day (86,400 s).
export const RULES_BYTES = 320;
export const RULES_LEDGER = 0;
export const RULES_HOLD_MASK = 4;
export const RULES_AMOUNT_THRESHOLD = 8;
export const RULES_PAYMENT_MAX = 24;
export const RULES_ACCOUNT_DAILY = 40;
export const RULES_CUSTOMER_DAILY = 56;
export const RULES_COUNTERPARTY_DAILY = 72;
export const RULES_VELOCITY_SUM = 88;
export const RULES_VELOCITY_COUNT = 104;
export const RULES_VELOCITY_WINDOW = 108;
export const RULES_STRUCTURING_THRESHOLD = 112;
export const RULES_STRUCTURING_MARGIN = 128;
export const RULES_STRUCTURING_COUNT = 132;
export const RULES_STRUCTURING_WINDOW = 136;
export const RULES_RAPID_WINDOW = 140;
export const RULES_RAPID_RATIO = 144;
export const RULES_DORMANT_DAYS = 148;
export const RULES_DORMANT_AMOUNT = 152;
export const RULES_FRAUD_HOLD = 168;
export const RULES_FRAUD_REFUSE = 172;
export const RULES_SCREEN_HOLD = 176;
export const RULES_SCREEN_REFUSE = 180;
export const RULES_HIGH_RISK_COUNT = 184;
export const RULES_HIGH_RISK = 188;
export const RULES_PRICE_BAND = 252;
export const RULES_ORDER_VALUE_MAX = 256;
export const RULES_POSITION_MAX = 272;
export const RULES_FLAGS = 280;
export const RULES_F_TRANSFERS = 1; // the ledger's own create_transfers are checked too (the gateway's transfer_checks)
export const RULES_F_KNOWN = 1;
export const HIGH_RISK_MAX = 32;
export const RULE_SETS_MAX = 16;

// ==== account owners screened: the bank's directory after a list update ====
// The host pages through the payments directory (its directory_list) after a
// list is put in force and sends each account's owner (the directory's name,
// normalised as list names are) here. A match at or over the ledger's
// screen_hold (the service's threshold without a rule set) marks the account
// listed: every later payment to or from it counts as a sanctions match of
// that party (the better of it and the message's names), whatever names the
// message gives. A new match (or a match of another entry) raises an alert
// (RULE_SANCTIONS, payment id 0, the account as its debit account, action
// 0: no payment decided); a name that no longer matches clears the mark.
// Owner record (144 bytes): +0 u32 ledger   +4 u8 name length (1..NORMALIZED_MAX)   +5 u8[11] 0
//  +16 u128 the ledger account   +32 [104] the owner's name, normalised   +136 u8[8] 0
// Result (64 bytes): +0 u32 the match's score (0: none)   +4 u8 list   +5 u8 entity id length   +6 u8 1 when
//  the mark changed (new, another entry, or cleared)   +7 u8 0   +8 u32 alert id (0: none raised)   +12 u32 0
//  +16 [28] entity id   +44 u8[20] 0
export const OWNER_BYTES = 144;
export const OWNER_LEDGER = 0;
export const OWNER_NAME_LENGTH = 4;
export const OWNER_ACCOUNT = 16;
export const OWNER_NAME = 32;
export const OWNERS_PER_REQUEST = 4096; // about 590 KB
export const SCREENED_BYTES = 64;
export const SCREENED_SCORE = 0;
export const SCREENED_LIST = 4;
export const SCREENED_ID_LENGTH = 5;
export const SCREENED_CHANGED = 6;
export const SCREENED_ALERT = 8;
export const SCREENED_ID = 16;

// ==== pre-trade: an order checked before it rests or trades ====
// The trading engine asks before it takes an order; the answer is ALLOW or
// REFUSE and the rules that refused it: the account's owner listed (owners.ts:
// RULE_SANCTIONS), the order's value over the ledger's order_value_max, the
// position after it fills over position_max either way, its price outside
// price_band_bps of the reference price. Nothing is counted: positions and
// prices are the engine's; this is a pure function of the order and the rule
// set in force, so replay answers the same.
// Order (80 bytes): +0 u32 ledger (the cash ledger: its rule set)   +4 u8 side (SIDE_*)   +5 u8[3] 0
//   +8 u32 instrument   +12 u32 0   +16 u128 account (the cash account)   +32 u128 the order's value (minor units)
//  +48 u64 price (the instrument's ticks, 1 or more)   +56 u64 reference price (0: none, no band)
//  +64 i64 the position after the order fills (lots; negative: short)   +72 u8[8] 0
// Result (16 bytes): +0 u8 action (ACTION_ALLOW or ACTION_REFUSE)   +1 u8[3] 0   +4 u32 rules (RULE_*)   +8 u8[8] 0
export const ORDER_BYTES = 80;
export const ORDER_LEDGER = 0;
export const ORDER_SIDE = 4;
export const ORDER_INSTRUMENT = 8;
export const ORDER_ACCOUNT = 16;
export const ORDER_VALUE = 32;
export const ORDER_PRICE = 48;
export const ORDER_REFERENCE = 56;
export const ORDER_POSITION = 64;
export const ORDERS_PER_REQUEST = 8192;
export const ORDER_RESULT_BYTES = 16;
export const ORDER_RESULT_ACTION = 0;
export const ORDER_RESULT_RULES = 4;
export const SIDE_BUY = 1;
export const SIDE_SELL = 2;

// ==== the ledger's own transfers: create_transfers checked before the ledger ====
// With the gateway's transfer_checks on, each create_transfers request goes
// here first, its events exactly as the ledger will get them. An event is
// checked when it moves money on a ledger whose rule set has RULES_F_TRANSFERS:
// not a post or void of a pending transfer (its pending transfer was checked
// when it reserved the money), not an imported one (history being loaded),
// and not one the ledger refuses by its fields alone (a zero id, account or
// ledger, the same account twice, an unknown flag). A checked event is
// decided like a payment with no party names (sanctions through the
// accounts' owner marks, owners.ts; the fraud score; limits; rules), both
// accounts taken as customers'. A transfer cannot wait for a compliance
// officer, so a decision that would hold a payment refuses the transfer
// (its alert is raised all the same). Each decision is kept (DEC_TRANSFER,
// ORIGIN_TRANSFER).
// A retry: an event whose id was allowed before, with the same ledger, is
// allowed again without being counted twice, while that decision is still in
// the ring (decisions_max); the ledger then answers it `exists`. A refused id
// is decided anew (the ledger never saw it).
// Verdict (8 bytes), one per event in order: +0 u8 action (0: not checked; ACTION_ALLOW; ACTION_REFUSE)
//   +1 u8[3] 0   +4 u32 the rule that refused it (one RULE_* bit; 0 otherwise)
// The gateway answers a refused event with transferRefusal(rule), and the
// other events of its linked chain with linked_event_failed, and sends the
// ledger the rest.
export const TRANSFERS_PER_REQUEST = L.BATCH_EVENTS_MAX;
export const VERDICT_BYTES = 8;
export const VERDICT_ACTION = 0;
export const VERDICT_RULE = 4;

/** The ledger result (services/ledger/protocol.ts TransferResult) of a transfer refused by `rule` (RULE_*). */
export function transferRefusal(rule: u32): i32 {
  if (rule == <u32>RULE_SANCTIONS) return L.TransferResult.compliance_sanctions;
  if (rule == <u32>RULE_FRAUD) return L.TransferResult.compliance_fraud;
  if ((rule & <u32>RULES_LIMITS) != 0) return L.TransferResult.compliance_limit;
  if (rule == <u32>RULE_CAPACITY) return L.TransferResult.compliance_capacity;
  return L.TransferResult.compliance_rule;
}

// ==== alerts and their cases ====
// A decision whose rules fired raises one alert (a hold always does; a
// refusal by limits alone does not: its reason says it all); the
// alert is its case: OPEN, then ASSIGNED (to a named officer), ESCALATED, and
// CLOSED with a reason and, for a held payment, an outcome (RELEASE: the
// payment goes on; REJECT: its transfer is voided); an alert without a hold
// closes NOTED. A closed case is final: the same close again is answered
// as it stands (REPLY_F_REPEATED), any other update refused (REFUSED_CASE).
// Alert (128 bytes):
//   +0 u32 alert id (1, 2, …)   +4 u32 rules fired   +8 u64 payment id   +16 u8 state (CASE_*)   +17 u8 the decision's
//  action   +18 u8 outcome (OUTCOME_*; 0 until closed)   +19 u8 assignee length   +20 u32 ledger   +24 u64 raised (logical ns)
//  +32 u64 last updated   +40 u128 amount   +56 u128 debit account   +72 [32] assignee (ASCII)
// +104 u32 close reason (CLOSE_*; 0 until closed)   +108 u32 fraud score   +112 u32 sanctions score   +116 u32 updates
// +120 u64 the decision's sequence number   +128 u128 the ledger transfer's id (the decision's)   +144 u8 origin (ORIGIN_*)
// +145 u8[15] 0
export const ALERT_BYTES = 160;
export const ALERT_ID = 0;
export const ALERT_RULES = 4;
export const ALERT_PAYMENT = 8;
export const ALERT_STATE = 16;
export const ALERT_ACTION = 17;
export const ALERT_OUTCOME = 18;
export const ALERT_ASSIGNEE_LENGTH = 19;
export const ALERT_LEDGER = 20;
export const ALERT_RAISED = 24;
export const ALERT_UPDATED = 32;
export const ALERT_AMOUNT = 40;
export const ALERT_DEBIT = 56;
export const ALERT_ASSIGNEE = 72;
export const ALERT_CLOSE_REASON = 104;
export const ALERT_FRAUD_SCORE = 108;
export const ALERT_SANCTIONS_SCORE = 112;
export const ALERT_UPDATES = 116;
export const ALERT_DECISION = 120;
export const ALERT_TRANSFER = 128;
export const ALERT_ORIGIN = 144;
export const ASSIGNEE_MAX = 32;
export const CASE_OPEN = 1;
export const CASE_ASSIGNED = 2;
export const CASE_ESCALATED = 3;
export const CASE_CLOSED = 4;
export const OUTCOME_RELEASE = 1;
export const OUTCOME_REJECT = 2;
export const OUTCOME_NOTED = 3;
export const CLOSE_FALSE_POSITIVE = 1; // not the listed party, not suspicious
export const CLOSE_EXPLAINED = 2; // the activity has a legitimate explanation on file
export const CLOSE_CONFIRMED = 3; // a true match or confirmed suspicion: reported
export const CLOSE_OTHER = 4;

// Case update (64 bytes): +0 u32 alert id   +4 u8 action (CASE_ACT_*)   +5 u8 outcome (close: OUTCOME_*)
//   +6 u8 assignee length (assign, escalate: 1..ASSIGNEE_MAX; escalate may name none)   +7 u8 0
//   +8 u32 close reason (CLOSE_*)   +12 u32 0   +16 [32] assignee (printable ASCII)   +48 u8[16] 0
// A held payment's case closes RELEASE or REJECT, another's NOTED. The
// reply's +8 u64 says 1 when the update changed the case, 0 when it was the same close again.
export const CASE_BYTES = 64;
export const CASE_ALERT = 0;
export const CASE_ACTION = 4;
export const CASE_OUTCOME = 5;
export const CASE_ASSIGNEE_LENGTH = 6;
export const CASE_REASON = 8;
export const CASE_ASSIGNEE = 16;
export const CASE_ACT_ASSIGN = 1;
export const CASE_ACT_ESCALATE = 2;
export const CASE_ACT_CLOSE = 3;
export const REPLY_F_REPEATED = 1;

// Filter (32 bytes), alerts_list and decisions_list: +0 u64 after (ids or sequence numbers greater)
//   +8 u64 from (logical ns, inclusive; 0: any)   +16 u64 to (inclusive; 0: any)   +24 u16 limit (1..LIST_MAX)
//   +26 u8 state (alerts: CASE_*; 0: any. decisions: ACTION_*; 0: any)   +27 u8 0   +28 u32 ledger (0: any)
// At most LIST_SCAN_MAX records are looked at a request; the reply's +8 is the
// last looked at (the next page's after). Decisions are kept in a ring of the
// config's decisions_max: older ones are gone (their alerts stay; the log
// replays them all).
export const FILTER_BYTES = 32;
export const FILTER_AFTER = 0;
export const FILTER_FROM = 8;
export const FILTER_TO = 16;
export const FILTER_LIMIT = 24;
export const FILTER_STATE = 26;
export const FILTER_LEDGER = 28;
export const LIST_MAX = 1000;
export const LIST_SCAN_MAX = 65536;
