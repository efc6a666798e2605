// services/gateway: the API gateway inside QENEX. Every HTTP request the host
// frames (host/gateway/http.ts) and every binary frame to "gateway"
// (host/gateway/binary.ts) arrives here as a logged input in the compact form
// of ./protocol.ts. This service is the admission authority (capability
// "admit", kernel/admission.ts): it programs the kernel's admission table
// with its route policy and its keys, and the kernel refuses unauthenticated,
// unauthorised and over-rate frames before they reach the log. What arrives
// here was admitted; this service then decides, deterministically and so
// replayably:
//
//   authentication  the SHA-256 of the bearer key against the key table
//                 (hash -> id, role, ledger grants, revoked) once more: a key
//                 revoked after admission is refused here, the same on replay;
//                 the key itself never reaches the kernel or the log
//   authorisation the role per route (admin, operator, teller, auditor,
//                 read-only) and, for keys limited to ledgers, every event's
//                 ledger on writes and a filter on what reads return
//   routing       ledger requests are sent to the ledger service and its
//                 reply relayed to the client; key management and the
//                 gateway's counters are answered here
//
// Rate limits are admission's (per node, never logged); the manifest's rates
// reach the kernel through the policy this service programs at init.
//
// The ledger answers messages in order and synchronously, so replies are
// matched to requests by a FIFO. At most `ledger_in_flight_max` messages are
// outstanding (each holds a kernel message slot, and so does its reply);
// requests beyond that wait in a bounded byte ring in arrival order, and a
// full ring refuses with 503 and changes nothing.
//
// Config (manifest, all optional integers): source_rate_per_second,
// source_burst, key_rate_per_second, key_burst (0 rate = no limit),
// auth_failures_per_minute, auth_failure_burst (failed authentications an
// address may make before it is refused for a while; 0 = no limit),
// ledger_in_flight_max.

import { send, reply, time, log, lookup, admission, KIND_REQUEST, KIND_REPLY, KIND_FAILED } from "../sdk/qenex";
import * as P from "./protocol";
import * as L from "../ledger/protocol";
import { JsonReader } from "../../lib/json";
import * as hal from "../../hal/abi";

// ---- limits (each with why) ----

// The inbox takes a client request (56-byte header + the largest ledger batch,
// 8 + 8189 * 128 bytes) and the ledger's largest reply (8 + 8189 * 128).
const INBOX_BYTES: u32 = 1048576 + 65536;
const OUTBOX_BYTES: u32 = 1048576 + 65536;
// Keys: the kernel's admission table holds as many (hal/abi.ts ADM_KEYS_MAX,
// 1024: the list reply is 96 KiB, the table 136 KiB).
const KEYS_MAX: u32 = <u32>P.ADM_KEYS_MAX;
const KEY_INDEX_SLOTS: u32 = KEYS_MAX * 2; // power of two, half full at most
// Requests waiting for a ledger slot: 8 MiB holds thousands of typical
// requests and at least seven largest batches.
const DEFER_BYTES: u32 = 8 * 1048576;
const DEFER_HEADER_BYTES: u32 = 16;
const DEFER_WRAP: u32 = 0xffffffff;
const PENDING_MAX: u32 = 64; // upper bound of ledger_in_flight_max
// Rates and bursts up to a million (the kernel keeps nano-tokens, and
// 10^6 * 10^9 stays far below 2^64).
const RATE_MAX: u64 = 1000000;

// The ledger's protocol (services/ledger/protocol.ts), typed as used here.
const LEDGER_HEADER_BYTES: u32 = L.HEADER_BYTES;
const LEDGER_RECORD_BYTES: u32 = L.RECORD_BYTES;
const LEDGER_ID_BYTES: u32 = L.ID_BYTES;
const LEDGER_RESULT_BYTES: u32 = L.RESULT_BYTES;
const LEDGER_BATCH_MAX: u32 = L.BATCH_EVENTS_MAX;
const RECORD_LEDGER_OFFSET: usize = L.TRANSFER_LEDGER; // accounts and transfers alike (ACCOUNT_LEDGER)

// ---- memory ----

const inbox: usize = memory.data(<i32>(INBOX_BYTES), 16);
const outbox: usize = memory.data(<i32>(OUTBOX_BYTES), 16);
const textBuf: usize = memory.data(<i32>(512), 16);
let textLen: u32 = 0;

// Key record (KEY_BYTES):
//   +0 [32] hash | +32 u32 id | +36 u8 role | +37 u8 revoked | +38 u8 grants
//   +40 u64 created ns | +48 u32 rate | +52 u32 burst
//   +56 u64 0 | +64 u64 0 (the token bucket lived here; rates are admission's now) | +72 u32 ledgers[16]
const KEY_BYTES: usize = 136;
const keys: usize = memory.data(<i32>(<usize>KEYS_MAX * KEY_BYTES), 16);
const keyIndex: usize = heap.alloc(<usize>KEY_INDEX_SLOTS * 2); // u16 key number + 1, 0 = empty
let keyCount: u32 = 0;


// In flight to the ledger, oldest first: token, route, key number (or -1), count.
const pendingToken: usize = memory.data(<i32>(PENDING_MAX * 4), 16);
const pendingRoute: usize = memory.data(<i32>(PENDING_MAX * 4), 16);
const pendingKey: usize = memory.data(<i32>(PENDING_MAX * 4), 16);
const pendingCount: usize = memory.data(<i32>(PENDING_MAX * 4), 16);
let pendingHead: u32 = 0;
let pendingLen: u32 = 0;

// Deferred requests: records of u32 len | u32 token | i32 key | u32 route | payload (8-aligned).
const deferred: usize = memory.data(<i32>(DEFER_BYTES), 16);
let deferRead: u32 = 0;
let deferWrite: u32 = 0;
let deferCount: u32 = 0;

let ledgerPeer: i32 = -1;
let sourceRate: u64 = 1000;
let sourceBurst: u64 = 2000;
let keyRate: u64 = 1000;
let keyBurst: u64 = 2000;
let failRate: u64 = 60; // failed authentications per minute per address
let failBurst: u64 = 20;
let inFlightMax: u32 = 24;

const stats: usize = memory.data(<i32>(P.GW_STATS_COUNT * 8), 16);

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }

// ---- text (console lines and error messages, no allocation) ----

function textReset(): void { textLen = 0; }
function textPut(s: string): void {
  for (let i = 0; i < s.length && textLen < 512; i++) store<u8>(textBuf + textLen++, <u8>s.charCodeAt(i));
}
function textPutU64(v: u64): void {
  if (v >= 10) textPutU64(v / 10);
  if (textLen < 512) store<u8>(textBuf + textLen++, <u8>(0x30 + <u32>(v % 10)));
}

// ---- config: a flat JSON object of unsigned integers (read with lib/json.ts) ----

function configFail(reason: string): void {
  textReset(); textPut("gateway config: "); textPut(reason);
  log(textBuf, textLen);
  unreachable();
}

function configParse(len: u32): void {
  let blank = true;
  for (let i: u32 = 0; i < len && blank; i++) { const c = load<u8>(inbox + i); blank = c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d; }
  if (blank) return; // no config
  const r = new JsonReader(inbox, len);
  if (r.beginObject()) {
    for (let key = r.nextKey(); key != null; key = r.nextKey()) {
      const k = key;
      const v = r.readU64();
      if (r.error != null) break;
      if (k == "source_rate_per_second") sourceRate = v;
      else if (k == "source_burst") sourceBurst = v;
      else if (k == "key_rate_per_second") keyRate = v;
      else if (k == "key_burst") keyBurst = v;
      else if (k == "auth_failures_per_minute") failRate = v;
      else if (k == "auth_failure_burst") failBurst = v;
      else if (k == "ledger_in_flight_max") inFlightMax = v > <u64>PENDING_MAX ? 0 : <u32>v;
      else configFail("unknown key " + k);
    }
  }
  if (!r.finish()) configFail(r.error!);
  if (sourceRate > RATE_MAX || keyRate > RATE_MAX || sourceBurst > RATE_MAX || keyBurst > RATE_MAX || failRate > RATE_MAX || failBurst > RATE_MAX) {
    configFail("rates and bursts are at most 1000000");
  }
  if ((sourceRate > 0 && sourceBurst == 0) || (keyRate > 0 && keyBurst == 0) || (failRate > 0 && failBurst == 0)) configFail("a limited rate needs a burst of at least 1");
  if (inFlightMax == 0 || inFlightMax > PENDING_MAX) configFail("ledger_in_flight_max is 1 to 64");
}

export function qx_init(len: u32): void {
  configParse(len);
  const name = textBuf;
  store<u8>(name, 0x6c); store<u8>(name + 1, 0x65); store<u8>(name + 2, 0x64);
  store<u8>(name + 3, 0x67); store<u8>(name + 4, 0x65); store<u8>(name + 5, 0x72); // "ledger"
  ledgerPeer = lookup(name, 6);
  programPolicy();
}

// ---- admission (kernel/admission.ts): the policy and the keys, as the kernel needs them ----

const admissionBuf: usize = memory.data(<i32>(P.ADM_POLICY_HEADER_BYTES + P.ADM_ROUTES_MAX * P.ADM_ROUTE_BYTES), 16);

// The roles that may use a route, as admission's bit mask (bit 0: the console).
function routeRoles(route: u32): u32 {
  let mask: u32 = 0;
  if (route == P.ROUTE_KEYS_CREATE || route == P.ROUTE_KEYS_LIST || route == P.ROUTE_KEYS_REVOKE) mask |= 1 << P.ADM_ROLE_CONSOLE;
  for (let role: u32 = P.ROLE_ADMIN; role <= <u32>P.ROLE_READ_ONLY; role++) if (roleMay(role, route)) mask |= <u32>1 << role;
  return mask;
}

function programPolicy(): void {
  const b = admissionBuf;
  memory.fill(b, 0, P.ADM_POLICY_HEADER_BYTES + P.ROUTE_COUNT * P.ADM_ROUTE_BYTES);
  store<u32>(b, <u32>sourceRate); store<u32>(b + 4, <u32>sourceBurst);
  store<u32>(b + 8, <u32>keyRate); store<u32>(b + 12, <u32>keyBurst);
  store<u32>(b + 16, <u32>failRate); store<u32>(b + 20, <u32>failBurst);
  store<u32>(b + 24, P.ROUTE_COUNT);
  for (let route: u32 = 1; route < <u32>P.ROUTE_COUNT; route++) {
    const r = b + P.ADM_POLICY_HEADER_BYTES + <usize>route * P.ADM_ROUTE_BYTES;
    store<u32>(r, routeRoles(route));
    if (route == P.ROUTE_CREATE_ACCOUNTS || route == P.ROUTE_CREATE_TRANSFERS) {
      // Every event's ledger must be granted to a key limited to ledgers.
      store<u8>(r + 4, P.ADM_SCOPE_ITEMS);
      store<u8>(r + 5, <u8>LEDGER_HEADER_BYTES);
      store<u8>(r + 6, 4); // the ledger request's u32 count
      store<u16>(r + 8, <u16>LEDGER_RECORD_BYTES);
      store<u16>(r + 10, <u16>RECORD_LEDGER_OFFSET);
    } else if (route == P.ROUTE_ACCOUNT_BALANCES) {
      store<u8>(r + 4, P.ADM_SCOPE_DENY); // balance history is not limited by ledger
    }
  }
  const r = admission(P.ADM_OP_POLICY, b, P.ADM_POLICY_HEADER_BYTES + P.ROUTE_COUNT * P.ADM_ROUTE_BYTES);
  if (r != 0) configFail("the kernel refused the admission policy (is capability admit granted?)");
}

// Tells admission about key number n as it now is (created, or revoked).
function programKey(n: u32): void {
  const k = keyAt(n);
  const b = admissionBuf;
  memory.fill(b, 0, P.ADM_KEY_BYTES);
  memory.copy(b, k, 40); // hash, id, role, revoked, grants
  store<u8>(b + 39, 0);
  store<u32>(b + 40, load<u32>(k + 48));
  store<u32>(b + 44, load<u32>(k + 52));
  memory.copy(b + 48, k + 72, P.KEY_GRANTS_MAX * 4);
  const r = admission(P.ADM_OP_KEY, b, P.ADM_KEY_BYTES);
  assert(r == 0, "the kernel refused a key the gateway accepted");
}

// ---- keys ----

@inline function keyAt(n: u32): usize { return keys + <usize>n * KEY_BYTES; }

function hashEquals(a: usize, b: usize): bool {
  for (let i: usize = 0; i < 32; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  return true;
}

/** The key number with this hash, or -1. */
function keyFind(hash: usize): i32 {
  const start = load<u32>(hash);
  for (let probe: u32 = 0; probe < KEY_INDEX_SLOTS; probe++) {
    const slot = keyIndex + <usize>((start + probe) & (KEY_INDEX_SLOTS - 1)) * 2;
    const v = <u32>load<u16>(slot);
    if (v == 0) return -1;
    if (hashEquals(keyAt(v - 1), hash)) return <i32>(v - 1);
  }
  return -1;
}

function keyIndexAdd(hash: usize, n: u32): void {
  const start = load<u32>(hash);
  for (let probe: u32 = 0; probe < KEY_INDEX_SLOTS; probe++) {
    const slot = keyIndex + <usize>((start + probe) & (KEY_INDEX_SLOTS - 1)) * 2;
    if (load<u16>(slot) == 0) { store<u16>(slot, <u16>(n + 1)); return; }
  }
  assert(false, "key index full below KEYS_MAX");
}

function keyGranted(k: usize, ledger: u32): bool {
  const n = <u32>load<u8>(k + 38);
  for (let i: u32 = 0; i < n; i++) if (load<u32>(k + 72 + <usize>i * 4) == ledger) return true;
  return false;
}

// ---- replies ----

function replyHead(status: u32, error: u32, retry: u32, keyNumber: i32): void {
  store<u16>(outbox, <u16>status);
  store<u16>(outbox + 2, <u16>error);
  store<u32>(outbox + 4, retry);
  store<u32>(outbox + 8, keyNumber < 0 ? 0 : load<u32>(keyAt(<u32>keyNumber) + 32));
  store<u32>(outbox + 12, keyNumber < 0 ? 0 : <u32>load<u8>(keyAt(<u32>keyNumber) + 36));
}

function answer(token: u32, status: u32, error: u32, retry: u32, keyNumber: i32, bodyLen: u32): void {
  replyHead(status, error, retry, keyNumber);
  reply(token, 0, outbox, P.GW_REPLY_HEADER_BYTES + bodyLen);
}

/** An answer whose body is an ASCII message. */
function answerText(token: u32, status: u32, error: u32, retry: u32, keyNumber: i32, message: string): void {
  let n: u32 = 0;
  for (; n < <u32>message.length && n < 256; n++) store<u8>(outbox + P.GW_REPLY_HEADER_BYTES + n, <u8>message.charCodeAt(n));
  answer(token, status, error, retry, keyNumber, n);
}

function countStat(i: u32): void { store<u64>(stats + <usize>i * 8, load<u64>(stats + <usize>i * 8) + 1); }

/**
 * A recorded refusal: counted and answered. It is not logged here: the host's
 * request log names every refusal once, with its code (the gateway's line
 * with bare numbers said the same again).
 */
function refuse(token: u32, route: u32, status: u32, error: u32, retry: u32, keyNumber: i32, message: string): void {
  countStat(status == 401 ? P.GW_STATS_UNAUTHENTICATED : status == 403 ? P.GW_STATS_FORBIDDEN : P.GW_STATS_RATE_LIMITED);
  assert(route < <u32>P.ROUTE_COUNT, "refusal of a known route");
  answerText(token, status, error, retry, keyNumber, message);
}

// ---- the handler ----

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  if (kind == KIND_REQUEST) handleRequest(token, len);
  else if (kind == KIND_REPLY && <i32>sender == ledgerPeer) handleLedgerReply(len);
  else if (kind == KIND_FAILED && <i32>sender == ledgerPeer) handleLedgerAborted();
  else if (kind == KIND_REPLY && sender == SENDER_KERNEL && systemLen > 0) handleSystemReply(len);
}

function roleMay(role: u32, route: u32): bool {
  if (route == P.ROUTE_CREATE_ACCOUNTS || route == P.ROUTE_CREATE_TRANSFERS) {
    return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR || role == P.ROLE_TELLER;
  }
  if (route <= <u32>P.ROUTE_ACCOUNT_BALANCES) return true; // every role reads the ledger
  if (route == P.ROUTE_KEYS_CREATE || route == P.ROUTE_KEYS_REVOKE) return role == P.ROLE_ADMIN;
  if (route == P.ROUTE_KEYS_LIST) return role == P.ROLE_ADMIN || role == P.ROLE_AUDITOR;
  if (route == P.ROUTE_EVENTS) return role != P.ROLE_TELLER; // watching, not transacting
  if (route >= <u32>P.ROUTE_SERVICES_LOAD && route <= <u32>P.ROUTE_SERVICES_UNLOAD) return role == P.ROLE_ADMIN;
  return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR || role == P.ROLE_AUDITOR; // system routes
}

// Routes the host answers itself once admission allowed them (statistics of
// the host, metrics): they never reach the log, so never this service.
function hostRoute(route: u32): bool {
  return route == P.ROUTE_SYSTEM_SERVICES || route == P.ROUTE_SYSTEM_SCHEDULER || route == P.ROUTE_SYSTEM_MEMORY || route == P.ROUTE_METRICS;
}

function handleRequest(token: u32, len: u32): void {
  const route = len >= <u32>P.GW_REQUEST_HEADER_BYTES ? <u32>load<u8>(inbox + 1) : 0;
  if (len < <u32>P.GW_REQUEST_HEADER_BYTES || load<u8>(inbox) != P.GW_VERSION || route == 0 || route >= <u32>P.ROUTE_COUNT || hostRoute(route)
      || load<u8>(inbox + 3) != 0 || load<u32>(inbox + 4) != 0 || <u32>load<u8>(inbox + 2) > <u32>P.AUTH_CONSOLE) {
    answerText(token, 400, P.GW_E_MALFORMED, 0, -1, "malformed gateway request");
    return;
  }
  const now = <u64>max<i64>(time(), 0);
  const auth = <u32>load<u8>(inbox + 2);
  if (auth == P.AUTH_CONSOLE) {
    if (route != P.ROUTE_KEYS_CREATE && route != P.ROUTE_KEYS_LIST && route != P.ROUTE_KEYS_REVOKE) {
      refuse(token, route, 403, P.GW_E_FORBIDDEN_ROLE, 0, -1, "the console manages keys only");
      return;
    }
    routeRequest(token, route, len, -1, now);
    return;
  }
  // Admission checked all of this before the request was logged; a key
  // revoked since (an earlier entry of the log) is refused here, on replay too.
  if (auth == P.AUTH_NONE) { refuse(token, route, 401, P.GW_E_UNAUTHENTICATED, 0, -1, "this route needs Authorization: Bearer <key>"); return; }
  if (auth == P.AUTH_MALFORMED) { refuse(token, route, 401, P.GW_E_BAD_AUTHORIZATION, 0, -1, "Authorization must be Bearer <key>"); return; }
  const n = keyFind(inbox + P.GW_KEY_HASH_OFFSET);
  if (n < 0) { refuse(token, route, 401, P.GW_E_UNKNOWN_KEY, 0, -1, "unknown API key"); return; }
  const k = keyAt(<u32>n);
  if (load<u8>(k + 37) != 0) { refuse(token, route, 401, P.GW_E_REVOKED_KEY, 0, n, "the API key was revoked"); return; }
  if (!roleMay(<u32>load<u8>(k + 36), route)) { refuse(token, route, 403, P.GW_E_FORBIDDEN_ROLE, 0, n, "the key's role may not use this route"); return; }
  routeRequest(token, route, len, n, now);
}

function routeRequest(token: u32, route: u32, len: u32, n: i32, now: u64): void {
  const body = inbox + P.GW_REQUEST_HEADER_BYTES;
  const bodyLen = len - P.GW_REQUEST_HEADER_BYTES;
  if (route <= <u32>P.ROUTE_ACCOUNT_BALANCES) { ledgerRequest(token, route, body, bodyLen, n); return; }
  countStat(P.GW_STATS_ALLOWED);
  if (route == P.ROUTE_KEYS_CREATE) keysCreate(token, body, bodyLen, n, now);
  else if (route == P.ROUTE_KEYS_LIST) keysList(token, n);
  else if (route == P.ROUTE_KEYS_REVOKE) keysRevoke(token, body, bodyLen, n);
  else if (route == P.ROUTE_SYSTEM_GATEWAY) gatewayStats(token, n);
  else if (route == P.ROUTE_EVENTS) eventsGrants(token, n);
  else if (route >= <u32>P.ROUTE_SERVICES_LOAD && route <= <u32>P.ROUTE_SERVICES_UNLOAD) serviceCommand(token, route, body, bodyLen, n);
  else assert(false, "gateway: every route is handled above");
}

// ---- ledger requests ----

/** Checks the framing the ledger expects; the message, or null when fine. */
function ledgerFramingError(route: u32, body: usize, bodyLen: u32): string | null {
  if (bodyLen < LEDGER_HEADER_BYTES) return "ledger request shorter than its header";
  if (<u32>load<u8>(body) != route || load<u8>(body + 1) != 0 || load<u16>(body + 2) != 0) return "ledger operation does not match the route";
  const count = load<u32>(body + 4);
  if (count == 0 || count > LEDGER_BATCH_MAX) return "ledger request count out of range";
  const isQuery = route == P.ROUTE_ACCOUNT_TRANSFERS || route == P.ROUTE_ACCOUNT_BALANCES;
  if (isQuery && count != 1) return "a ledger query takes one filter";
  const item = route == P.ROUTE_LOOKUP_ACCOUNTS || route == P.ROUTE_LOOKUP_TRANSFERS ? LEDGER_ID_BYTES : LEDGER_RECORD_BYTES;
  if (<u64>bodyLen != <u64>LEDGER_HEADER_BYTES + <u64>count * <u64>item) return "ledger request length does not match its count";
  return null;
}

function ledgerRequest(token: u32, route: u32, body: usize, bodyLen: u32, n: i32): void {
  const framing = ledgerFramingError(route, body, bodyLen);
  if (framing !== null) { answerText(token, 400, P.GW_E_MALFORMED, 0, n, framing); return; }
  const scoped = n >= 0 && load<u8>(keyAt(<u32>n) + 38) != 0;
  if (scoped) {
    const k = keyAt(<u32>n);
    if (route == P.ROUTE_ACCOUNT_BALANCES) {
      refuse(token, route, 403, P.GW_E_FORBIDDEN_LEDGER, 0, n, "balance history is not limited by ledger; this key is");
      return;
    }
    if (route == P.ROUTE_CREATE_ACCOUNTS || route == P.ROUTE_CREATE_TRANSFERS) {
      const count = load<u32>(body + 4);
      for (let i: u32 = 0; i < count; i++) {
        const ledger = load<u32>(body + LEDGER_HEADER_BYTES + <usize>i * LEDGER_RECORD_BYTES + RECORD_LEDGER_OFFSET);
        if (!keyGranted(k, ledger)) {
          refuse(token, route, 403, P.GW_E_FORBIDDEN_LEDGER, 0, n, "an event names a ledger this key is not granted");
          return;
        }
      }
    }
  }
  countStat(P.GW_STATS_ALLOWED);
  const keyForFilter = scoped ? n : -1;
  let sendLen = bodyLen;
  if (scoped && (route == P.ROUTE_CREATE_ACCOUNTS || route == P.ROUTE_CREATE_TRANSFERS)) {
    // The key's grants go with its creates, so no result tells it about
    // another ledger (services/ledger/assembly/scope.ts): appended in place,
    // the inbox has room past the largest batch.
    const grants = <u32>load<u8>(keyAt(<u32>n) + 38);
    assert(body + bodyLen + <usize>grants * 4 <= inbox + INBOX_BYTES, "the inbox holds a batch and its scope");
    memory.copy(body + bodyLen, keyAt(<u32>n) + 72, <usize>grants * 4);
    store<u16>(body + 2, <u16>grants);
    sendLen += grants * 4;
  }
  if (pendingLen < inFlightMax && deferCount == 0) {
    forward(token, route, keyForFilter, body, sendLen);
    return;
  }
  if (!deferPush(token, route, keyForFilter, body, sendLen)) {
    countStat(P.GW_STATS_BUSY);
    answerText(token, 503, P.GW_E_BUSY, 1, n, "the gateway's queue to the ledger is full; nothing was applied");
  }
}

function forward(token: u32, route: u32, keyForFilter: i32, body: usize, bodyLen: u32): void {
  const r = ledgerPeer < 0 ? -2 : send(<u32>ledgerPeer, body, bodyLen);
  if (r != 0) {
    countStat(P.GW_STATS_BUSY);
    answerText(token, 503, P.GW_E_BUSY, 1, keyForFilter, "the ledger could not take the request; nothing was applied");
    return;
  }
  assert(pendingLen < PENDING_MAX, "pending FIFO sized by ledger_in_flight_max");
  const at = <usize>((pendingHead + pendingLen) % PENDING_MAX) * 4;
  store<u32>(pendingToken + at, token);
  store<u32>(pendingRoute + at, route);
  store<i32>(pendingKey + at, keyForFilter);
  store<u32>(pendingCount + at, load<u32>(body + 4));
  pendingLen++;
}

@inline function align8(n: u32): u32 { return (n + 7) & ~7; }

function deferPush(token: u32, route: u32, keyForFilter: i32, body: usize, bodyLen: u32): bool {
  const need = DEFER_HEADER_BYTES + align8(bodyLen);
  if (need > DEFER_BYTES) return false;
  if (deferCount == 0) { deferRead = 0; deferWrite = 0; }
  let at: u32 = deferWrite;
  if (deferCount > 0 && deferWrite < deferRead) {
    if (deferWrite + need >= deferRead) return false; // wrapped: stay strictly behind the reader
  } else if (deferWrite + need > DEFER_BYTES) {
    if (need >= deferRead) return false; // count > 0 here: an empty ring starts at 0 and fits
    if (deferWrite + 4 <= DEFER_BYTES) store<u32>(deferred + deferWrite, DEFER_WRAP);
    at = 0;
  }
  const r = deferred + at;
  store<u32>(r, bodyLen);
  store<u32>(r + 4, token);
  store<i32>(r + 8, keyForFilter);
  store<u32>(r + 12, route);
  memory.copy(r + DEFER_HEADER_BYTES, body, bodyLen);
  deferWrite = at + need;
  deferCount++;
  return true;
}

/** Sends waiting requests while there is room in flight. */
function deferDrain(): void {
  while (deferCount > 0 && pendingLen < inFlightMax) {
    if (deferRead + 4 > DEFER_BYTES || load<u32>(deferred + deferRead) == DEFER_WRAP) deferRead = 0;
    const r = deferred + deferRead;
    const bodyLen = load<u32>(r);
    deferRead += DEFER_HEADER_BYTES + align8(bodyLen);
    deferCount--;
    forward(load<u32>(r + 4), load<u32>(r + 12), load<i32>(r + 8), r + DEFER_HEADER_BYTES, bodyLen);
  }
}

/** The ledger's reply to the oldest request in flight, relayed to its client. */
function handleLedgerReply(len: u32): void {
  if (pendingLen == 0) {
    textReset(); textPut("ledger reply with nothing in flight; dropped");
    log(textBuf, textLen);
    return;
  }
  const at = <usize>pendingHead * 4;
  const token = load<u32>(pendingToken + at);
  const route = load<u32>(pendingRoute + at);
  const n = load<i32>(pendingKey + at);
  const count = load<u32>(pendingCount + at);
  pendingHead = (pendingHead + 1) % PENDING_MAX;
  pendingLen--;
  relay(token, route, n, count, len);
  deferDrain();
}

/** The kernel aborted the oldest forwarded request: the ledger faulted on it
 *  (and was rolled back) or has failed. Its client gets 503, the slot is freed. */
function handleLedgerAborted(): void {
  if (pendingLen == 0) {
    textReset(); textPut("ledger abort with nothing in flight; dropped");
    log(textBuf, textLen);
    return;
  }
  const at = <usize>pendingHead * 4;
  const token = load<u32>(pendingToken + at);
  const n = load<i32>(pendingKey + at);
  pendingHead = (pendingHead + 1) % PENDING_MAX;
  pendingLen--;
  answerText(token, 503, P.GW_E_LEDGER_ABORTED, 1, n, "the ledger aborted this request (it faulted or has failed); nothing was applied");
  deferDrain();
}

function relay(token: u32, route: u32, n: i32, count: u32, len: u32): void {
  const out = outbox + P.GW_REPLY_HEADER_BYTES;
  if (route == P.ROUTE_CREATE_ACCOUNTS || route == P.ROUTE_CREATE_TRANSFERS) {
    if (<u64>len != <u64>count * LEDGER_RESULT_BYTES) { ledgerError(token, n, len); return; }
    memory.copy(out, inbox, len);
    answer(token, 200, P.GW_OK, 0, n, len);
    return;
  }
  if (len < LEDGER_HEADER_BYTES) { ledgerError(token, n, len); return; }
  const records = load<u32>(inbox);
  if (<u64>len != <u64>LEDGER_HEADER_BYTES + <u64>records * LEDGER_RECORD_BYTES) { ledgerError(token, n, len); return; }
  if (n < 0) {
    memory.copy(out, inbox, len);
    answer(token, 200, P.GW_OK, 0, n, len);
    return;
  }
  // A key limited to ledgers sees only records of those ledgers.
  const k = keyAt(<u32>n);
  let kept: u32 = 0;
  for (let i: u32 = 0; i < records; i++) {
    const rec = inbox + LEDGER_HEADER_BYTES + <usize>i * LEDGER_RECORD_BYTES;
    if (!keyGranted(k, load<u32>(rec + RECORD_LEDGER_OFFSET))) continue;
    memory.copy(out + LEDGER_HEADER_BYTES + <usize>kept * LEDGER_RECORD_BYTES, rec, LEDGER_RECORD_BYTES);
    kept++;
  }
  store<u64>(out, 0);
  store<u32>(out, kept);
  answer(token, 200, P.GW_OK, 0, n, LEDGER_HEADER_BYTES + kept * LEDGER_RECORD_BYTES);
}

/** The ledger refused the request (its message is the reply) or broke the protocol. */
function ledgerError(token: u32, n: i32, len: u32): void {
  const shown = len < 256 ? len : 256;
  memory.copy(outbox + P.GW_REPLY_HEADER_BYTES, inbox, shown);
  answer(token, 502, P.GW_E_LEDGER, 0, n, shown);
}

// ---- key management ----

function keysCreate(token: u32, body: usize, bodyLen: u32, n: i32, now: u64): void {
  const grants = bodyLen >= <u32>P.KEY_CREATE_BYTES ? <u32>load<u8>(body + 1) : 0;
  const role = bodyLen >= <u32>P.KEY_CREATE_BYTES ? <u32>load<u8>(body) : 0;
  if (bodyLen != P.KEY_CREATE_BYTES + grants * 4 || grants > <u32>P.KEY_GRANTS_MAX || load<u16>(body + 2) != 0) {
    answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "malformed key specification"); return;
  }
  if (role < <u32>P.ROLE_ADMIN || role > <u32>P.ROLE_READ_ONLY) { answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "unknown role"); return; }
  if (role == P.ROLE_TELLER && grants == 0) { answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "a teller key needs at least one ledger"); return; }
  if (grants > 0 && role != P.ROLE_TELLER && role != P.ROLE_READ_ONLY) {
    answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "only teller and read-only keys are limited to ledgers"); return;
  }
  if (<u64>load<u32>(body + 4) > RATE_MAX || <u64>load<u32>(body + 8) > RATE_MAX) {
    answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "rate and burst are at most 1000000"); return;
  }
  const hash = body + 12;
  if (load<u64>(hash) == 0 && load<u64>(hash + 8) == 0 && load<u64>(hash + 16) == 0 && load<u64>(hash + 24) == 0) {
    answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "the key hash is zero"); return;
  }
  if (keyFind(hash) >= 0) { answerText(token, 409, P.GW_E_KEY_EXISTS, 0, n, "a key with this hash exists"); return; }
  if (keyCount >= KEYS_MAX) { answerText(token, 503, P.GW_E_KEY_TABLE_FULL, 0, n, "the key table is full (1024 keys)"); return; }
  const k = keyAt(keyCount);
  memory.copy(k, hash, 32);
  store<u32>(k + 32, keyCount + 1);
  store<u8>(k + 36, <u8>role);
  store<u8>(k + 37, 0);
  store<u8>(k + 38, <u8>grants);
  store<u64>(k + 40, now);
  store<u32>(k + 48, load<u32>(body + 4));
  store<u32>(k + 52, load<u32>(body + 8));
  store<u64>(k + 56, 0);
  store<u64>(k + 64, 0);
  memory.fill(k + 72, 0, P.KEY_GRANTS_MAX * 4);
  memory.copy(k + 72, body + P.KEY_CREATE_BYTES, grants * 4);
  keyIndexAdd(hash, keyCount);
  keyCount++;
  programKey(keyCount - 1);
  store<u32>(outbox + P.GW_REPLY_HEADER_BYTES, keyCount);
  textReset(); textPut("key created id="); textPutU64(keyCount); textPut(" role="); textPutU64(role);
  log(textBuf, textLen);
  answer(token, 200, P.GW_OK, 0, n, 4);
}

function keysList(token: u32, n: i32): void {
  const out = outbox + P.GW_REPLY_HEADER_BYTES;
  for (let i: u32 = 0; i < keyCount; i++) {
    const k = keyAt(i);
    const r = out + <usize>i * P.GW_KEY_RECORD_BYTES;
    memory.fill(r, 0, P.GW_KEY_RECORD_BYTES);
    store<u32>(r, load<u32>(k + 32));
    store<u8>(r + 4, load<u8>(k + 36));
    store<u8>(r + 5, load<u8>(k + 37));
    store<u8>(r + 6, load<u8>(k + 38));
    store<u64>(r + 8, load<u64>(k + 40));
    store<u32>(r + 16, load<u32>(k + 48));
    store<u32>(r + 20, load<u32>(k + 52));
    memory.copy(r + 24, k + 72, P.KEY_GRANTS_MAX * 4);
    memory.copy(r + 88, k, 8);
  }
  answer(token, 200, P.GW_OK, 0, n, keyCount * P.GW_KEY_RECORD_BYTES);
}

function keysRevoke(token: u32, body: usize, bodyLen: u32, n: i32): void {
  if (bodyLen != 4) { answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "revoke takes a u32 key id"); return; }
  const id = load<u32>(body);
  if (id == 0 || id > keyCount) { answerText(token, 404, P.GW_E_NO_SUCH_KEY, 0, n, "no key with this id"); return; }
  store<u8>(keyAt(id - 1) + 37, 1);
  programKey(id - 1);
  textReset(); textPut("key revoked id="); textPutU64(id);
  log(textBuf, textLen);
  answer(token, 200, P.GW_OK, 0, n, 0);
}

function gatewayStats(token: u32, n: i32): void {
  store<u64>(stats + P.GW_STATS_LEDGER_IN_FLIGHT * 8, pendingLen);
  store<u64>(stats + P.GW_STATS_DEFERRED * 8, deferCount);
  store<u64>(stats + P.GW_STATS_KEYS * 8, keyCount);
  store<u64>(stats + P.GW_STATS_SOURCES * 8, 0); // admission's (per node); the host reports it
  memory.copy(outbox + P.GW_REPLY_HEADER_BYTES, stats, P.GW_STATS_COUNT * 8);
  answer(token, 200, P.GW_OK, 0, n, P.GW_STATS_COUNT * 8);
}

// ---- event stream (ROUTE_EVENTS) ----

/** Allows a subscription; the body tells the host which ledgers the key may see (count 0: all). */
function eventsGrants(token: u32, n: i32): void {
  const body = outbox + P.GW_REPLY_HEADER_BYTES;
  const grants: u32 = n < 0 ? 0 : <u32>load<u8>(keyAt(<u32>n) + 38);
  store<u32>(body, grants);
  for (let i: u32 = 0; i < grants; i++) store<u32>(body + 4 + <usize>i * 4, load<u32>(keyAt(<u32>n) + 72 + <usize>i * 4));
  answer(token, 200, P.GW_OK, 0, n, 4 + grants * 4);
}

// ---- service commands (issue 4; kernel/liveload.ts) ----
//
// An admin's load, upgrade or unload goes to the kernel as one message to
// SYSTEM_PEER; the kernel answers each in order, so replies are matched to
// requests by a FIFO of at most SYSTEM_PENDING_MAX (the kernel queues 8).

const SENDER_KERNEL: u32 = hal.SENDER_KERNEL;
const SYSTEM_PEER: u32 = hal.SYSTEM_PEER;
const SVC_CMD_HEADER_BYTES: u32 = hal.SVC_CMD_HEADER_BYTES;
const SVC_REPLY_HEADER_BYTES: u32 = hal.SVC_REPLY_HEADER_BYTES;
const SYSTEM_PENDING_MAX: u32 = 8;
const systemToken: usize = memory.data(<i32>(SYSTEM_PENDING_MAX * 4), 16);
const systemKey: usize = memory.data(<i32>(SYSTEM_PENDING_MAX * 4), 16);
let systemHead: u32 = 0;
let systemLen: u32 = 0;

function serviceCommand(token: u32, route: u32, body: usize, bodyLen: u32, n: i32): void {
  const op = route - P.ROUTE_SERVICES_LOAD + 1; // SVC_OP_LOAD, _UPGRADE, _UNLOAD
  if (bodyLen < SVC_CMD_HEADER_BYTES || <u32>load<u8>(body) != op) {
    answerText(token, 400, P.GW_E_MALFORMED, 0, n, "service command does not match the route"); return;
  }
  if (systemLen >= SYSTEM_PENDING_MAX) {
    countStat(P.GW_STATS_BUSY);
    answerText(token, 503, P.GW_E_BUSY, 1, n, "too many service commands in flight; nothing was applied"); return;
  }
  const r = send(SYSTEM_PEER, body, bodyLen);
  if (r != 0) {
    countStat(P.GW_STATS_BUSY);
    if (r == -1) answerText(token, 503, P.GW_E_BUSY, 0, n, "service commands are not enabled: the gateway lacks capability system");
    else answerText(token, 503, P.GW_E_BUSY, 1, n, "the kernel could not take the service command; nothing was applied");
    return;
  }
  const at = <usize>((systemHead + systemLen) % SYSTEM_PENDING_MAX) * 4;
  store<u32>(systemToken + at, token);
  store<i32>(systemKey + at, n);
  systemLen++;
  textReset(); textPut("service command route="); textPutU64(route);
  textPut(" key="); textPutU64(n < 0 ? 0 : <u64>load<u32>(keyAt(<u32>n) + 32));
  log(textBuf, textLen);
}

// SVC_* result to HTTP status.
function serviceStatus(result: u32): u32 {
  switch (result) {
    case 0: return 200;
    case 2: return 409; // exists
    case 3: return 404; // no such service
    case 4: return 503; // table full
    case 5: case 6: case 10: return 403; // capability denied, signature, protected
    case 9: return 409; // upgrade rolled back
    case 11: return 503; // busy
    default: return 400; // malformed, module refused, init failed
  }
}

function handleSystemReply(len: u32): void {
  const at = <usize>systemHead * 4;
  const token = load<u32>(systemToken + at);
  const n = load<i32>(systemKey + at);
  systemHead = (systemHead + 1) % SYSTEM_PENDING_MAX;
  systemLen--;
  if (len < SVC_REPLY_HEADER_BYTES) { answerText(token, 502, P.GW_E_MALFORMED, 0, n, "the kernel's service reply is short"); return; }
  const shown = len < 512 ? len : 512;
  memory.copy(outbox + P.GW_REPLY_HEADER_BYTES, inbox, shown);
  const result = load<u32>(inbox);
  answer(token, serviceStatus(result), result == 0 ? P.GW_OK : P.GW_E_SERVICE_COMMAND, result == 11 ? 1 : 0, n, shown);
}
