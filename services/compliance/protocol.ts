// services/compliance/protocol.ts: the compliance service's wire contract,
// its one home (docs/compliance.md): sanctions lists loaded in stages and
// names screened against them. The service (services/compliance/assembly)
// and the host (host/compliance: the lists' parsers, the name normaliser,
// the request builders; the gateway's front end) import it.
//
// Compiled twice, like services/payments/protocol.ts: by AssemblyScript into
// compliance.wasm and by esbuild/tsc into the host, so it holds integer
// constants written as plain literals and nothing else.
//
// Names travel twice: as the list writes them (display, UTF-8, for the
// answer) and normalised by the host (host/compliance/names.ts: lower-case
// ASCII tokens a-z 0-9 separated by one space, diacritics folded, "LAST,
// First" put in reading order, punctuation, company suffixes and stop words
// dropped, common transliterations made one spelling). The service matches
// the normalised form only, so its decisions never depend on Unicode tables;
// both forms are in the log (the list's at import, the query's at search),
// so a replay decides the same with the same list version.

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
