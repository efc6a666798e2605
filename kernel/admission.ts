// kernel/admission.ts: admission before the log (hal/abi.ts "admission").
//
// The kernel decides whether a frame to the admission authority (the one
// service with capability "admit", the gateway) may enter the command log:
//
//   1. the header is well formed (else 400 GW_E_MALFORMED)
//   2. the source address is not over its rate, nor over its failed-auth
//      allowance (429 GW_E_RATE_LIMITED_SOURCE)
//   3. a key was presented, exists and is not revoked (401; each failure is
//      charged to the source's failed-auth bucket)
//   4. the key is not over its rate (429 GW_E_RATE_LIMITED_KEY)
//   5. the key's role may use the route (403 GW_E_FORBIDDEN_ROLE)
//   6. the host could read the body (400 GW_E_BODY_REFUSED)
//   7. a key limited to ledgers names only those (403 GW_E_FORBIDDEN_LEDGER)
//
// The same order as the authority applies at the time of the entry, so a
// client sees the same answer whichever checks it first. Every step is a
// fixed amount of work (one hash probe sequence, one bucket), except step 7,
// which is linear in the body; unknown, revoked and forbidden keys take the
// same path, so their timing tells nothing apart.
//
// What the table holds comes from the authority (admissionProgram, called
// from syscall admission while it applies logged input): its route policy
// and its keys. Buckets and counters are this node's alone; they are not in
// kernel_digest and a replay neither reads nor writes them.

import {
  GW_VERSION, GW_REQUEST_HEADER_BYTES, GW_REPLY_HEADER_BYTES, GW_SOURCE_OFFSET, GW_KEY_HASH_OFFSET,
  AUTH_NONE, AUTH_BEARER, AUTH_MALFORMED, AUTH_CONSOLE, GW_F_BODY_REFUSED,
  GW_OK, GW_E_MALFORMED, GW_E_UNAUTHENTICATED, GW_E_BAD_AUTHORIZATION, GW_E_UNKNOWN_KEY, GW_E_REVOKED_KEY,
  GW_E_FORBIDDEN_ROLE, GW_E_FORBIDDEN_LEDGER, GW_E_RATE_LIMITED_KEY, GW_E_RATE_LIMITED_SOURCE, GW_E_BODY_REFUSED,
  ADM_ROLE_CONSOLE, ADM_ROLES_MAX, ADM_ROUTES_MAX, ADM_KEYS_MAX, ADM_KEY_GRANTS_MAX, ADM_SOURCES_MAX,
  ADM_AREA_BYTES, ADM_AREA_REPLY, ADM_AREA_MESSAGE_LEN, ADM_MESSAGE_BYTES_MAX,
  ADM_OP_POLICY, ADM_OP_KEY, ADM_POLICY_HEADER_BYTES, ADM_ROUTE_BYTES, ADM_KEY_BYTES,
  ADM_SCOPE_NONE, ADM_SCOPE_ITEMS, ADM_SCOPE_DENY, ADM_ROUTE_F_READ,
  ADM_STAT_ADMITTED, ADM_STAT_UNAUTHENTICATED, ADM_STAT_FORBIDDEN, ADM_STAT_RATE_LIMITED, ADM_STAT_MALFORMED,
  ADM_STAT_SOURCES, ADM_STAT_COUNT, ADM_MODE_TAKE, ADM_MODE_KEY, SYS_OK, SYS_E_INVALID,
} from "../hal/abi";
import { reserve } from "./base/mem";
import { SERVICES_MAX } from "./base/constants";

// The hal's limits as the unsigned types they are used as here.
const ROUTES_MAX: u32 = <u32>ADM_ROUTES_MAX;
const KEYS_MAX: u32 = <u32>ADM_KEYS_MAX;
const GRANTS_MAX: u32 = <u32>ADM_KEY_GRANTS_MAX;
const SOURCES_MAX: u32 = <u32>ADM_SOURCES_MAX;
const ROLES_MAX: u32 = <u32>ADM_ROLES_MAX;
const POLICY_HEADER_BYTES: u32 = <u32>ADM_POLICY_HEADER_BYTES;
const ROUTE_BYTES: u32 = <u32>ADM_ROUTE_BYTES;
const STAT_COUNT: u32 = <u32>ADM_STAT_COUNT;

// Rates and bursts up to a million per second: buckets hold nano-tokens, and
// 10^6 * 10^9 stays far below 2^64.
const RATE_MAX: u64 = 1000000;
const NANO: u64 = 1000000000;
const MINUTE_NS: u64 = 60000000000;
// Key index: open addressing, at most half full.
const KEY_INDEX_SLOTS: u32 = KEYS_MAX * 2;
// Source table: FNV-1a of the address, probed at most this far; when every
// probed slot is taken the one idle longest is reused (its buckets have most
// likely refilled, so forgetting it changes little).
const SOURCE_PROBE_MAX: u32 = 32;

// Key slot (KEY_SLOT_BYTES), slot id-1:
//   +0 [32] hash | +32 u32 id (0: empty) | +36 u8 role | +37 u8 revoked | +38 u8 grants
//   +40 u32 rate | +44 u32 burst | +48 u64 tokens (nano) | +56 u64 last ns | +64 u32 ledgers[16]
const KEY_SLOT_BYTES: usize = 128;
// Source slot (SOURCE_SLOT_BYTES): +0 [16] address | +16 u64 tokens | +24 u64 last ns
//   +32 u64 failed-auth tokens | +40 u64 failed-auth last ns | +48 u32 used | +52 u32 0
const SOURCE_SLOT_BYTES: usize = 56;

let keys: usize = 0;
let keyIndex: usize = 0; // u16 slot + 1 per index slot, 0 = empty
let sources: usize = 0;
let routes: usize = 0; // ROUTE_BYTES per route, as programmed
let area: usize = 0;
let stats: usize = 0;
let routeCount: u32 = 0;
let sourceRate: u64 = 0;
let sourceBurst: u64 = 0;
let keyRate: u64 = 0;
let keyBurst: u64 = 0;
let failPerMinute: u64 = 0;
let failBurst: u64 = 0;
let sourcesUsed: u32 = 0;
// Bumped whenever a key changes: the host re-checks the keys of open event
// streams when it moves (a revoked key's streams end).
export let keysGeneration: u32 = 0;
export let admissionReady: bool = false;

// The answer of the last check (also written to the host's area).
let answerStatus: u32 = 0;
let answerError: u32 = 0;
let answerRetry: u32 = 0;
let answerKeyId: u32 = 0;
let answerRole: u32 = 0;
let answerMessage: string = "";

export function admissionInit(): bool {
  assert(keys == 0, "admissionInit: the tables are reserved once");
  // Probes wrap with a mask, and a key index slot holds a u16 id.
  assert((KEY_INDEX_SLOTS & (KEY_INDEX_SLOTS - 1)) == 0 && (SOURCES_MAX & (SOURCES_MAX - 1)) == 0 && KEYS_MAX < 65536,
    "admission: table sizes are powers of two and key ids fit 16 bits");
  assert(ROLES_MAX <= 31 && RATE_MAX * NANO * 60 < (<u64>1 << 63), "admission: a role mask fits a u32 and bucket arithmetic fits a u64");
  keys = reserve(<u64>KEYS_MAX * KEY_SLOT_BYTES, "admission keys");
  keyIndex = reserve(<u64>KEY_INDEX_SLOTS * 2, "admission keys");
  sources = reserve(<u64>SOURCES_MAX * SOURCE_SLOT_BYTES, "admission sources");
  routes = reserve(<u64>ROUTES_MAX * ROUTE_BYTES, "admission routes");
  area = reserve(<u64>ADM_AREA_BYTES, "admission area");
  stats = reserve(<u64>STAT_COUNT * 8, "admission statistics");
  return keys != 0 && keyIndex != 0 && sources != 0 && routes != 0 && area != 0 && stats != 0;
}

export function admissionArea(): usize {
  assert(area != 0, "admission_area without an admission authority");
  return area;
}

export function admissionStat(id: u32): u64 {
  assert(stats != 0 && sourcesUsed <= SOURCES_MAX, "admissionStat: the statistics exist, sources within the table");
  if (id == <u32>ADM_STAT_SOURCES) return <u64>sourcesUsed;
  return id < STAT_COUNT ? load<u64>(stats + <usize>id * 8) : 0;
}

function count(id: u32): void {
  assert(id < STAT_COUNT && id != <u32>ADM_STAT_SOURCES, "admission count: not a counted statistic");
  store<u64>(stats + <usize>id * 8, load<u64>(stats + <usize>id * 8) + 1);
}

// ---- programming (syscall admission) ----

/** One ADM_OP_* from the authority; SYS_OK or SYS_E_INVALID (nothing changed). */
export function admissionProgram(op: u32, p: usize, len: u32): i32 {
  assert(keys != 0 && routes != 0, "admissionProgram before admissionInit: only the authority programs it");
  if (op == <u32>ADM_OP_POLICY) return programPolicy(p, len);
  if (op == <u32>ADM_OP_KEY) return programKey(p, len);
  return SYS_E_INVALID;
}

function rateValid(rate: u64, burst: u64): bool {
  return rate <= RATE_MAX && burst <= RATE_MAX && (rate == 0 || burst > 0);
}

function programPolicy(p: usize, len: u32): i32 {
  if (len < POLICY_HEADER_BYTES) return SYS_E_INVALID;
  const n = load<u32>(p + 24);
  if (n > ROUTES_MAX || len != POLICY_HEADER_BYTES + n * ROUTE_BYTES || load<u32>(p + 28) != 0) return SYS_E_INVALID;
  const sRate = <u64>load<u32>(p), sBurst = <u64>load<u32>(p + 4);
  const kRate = <u64>load<u32>(p + 8), kBurst = <u64>load<u32>(p + 12);
  const fRate = <u64>load<u32>(p + 16), fBurst = <u64>load<u32>(p + 20);
  if (!rateValid(sRate, sBurst) || !rateValid(kRate, kBurst) || !rateValid(fRate, fBurst)) return SYS_E_INVALID;
  for (let r: u32 = 0; r < n; r++) {
    if (!routeValid(p + POLICY_HEADER_BYTES + <usize>r * ROUTE_BYTES)) return SYS_E_INVALID;
  }
  sourceRate = sRate; sourceBurst = sBurst;
  keyRate = kRate; keyBurst = kBurst;
  failPerMinute = fRate; failBurst = fBurst;
  memory.fill(routes, 0, <usize>ROUTES_MAX * ROUTE_BYTES);
  memory.copy(routes, p + POLICY_HEADER_BYTES, <usize>n * ROUTE_BYTES);
  routeCount = n;
  admissionReady = true;
  assert(routeCount <= ROUTES_MAX && sourceBurst <= RATE_MAX && keyBurst <= RATE_MAX && failBurst <= RATE_MAX, "programPolicy: a policy within the table's bounds");
  return SYS_OK;
}

function routeValid(r: usize): bool {
  const flags = <u32>load<u8>(r + 7);
  if (load<u32>(r) >= (<u32>1 << ROLES_MAX) || (flags & ~<u32>ADM_ROUTE_F_READ) != 0) return false;
  // A read route names the service that answers it; any other names none.
  if (flags == ADM_ROUTE_F_READ ? load<u32>(r + 12) >= <u32>SERVICES_MAX : load<u32>(r + 12) != 0) return false;
  const scope = <u32>load<u8>(r + 4);
  if (scope == ADM_SCOPE_NONE || scope == ADM_SCOPE_DENY) return true;
  if (scope != ADM_SCOPE_ITEMS) return false;
  const headerBytes = <u32>load<u8>(r + 5);
  const itemBytes = <u32>load<u16>(r + 8);
  // The count and each item's u32 scope field lie inside what they describe.
  return itemBytes >= 4 && <u32>load<u8>(r + 6) + 4 <= headerBytes && <u32>load<u16>(r + 10) + 4 <= itemBytes;
}

/** No read service: the route's requests are logged (admissionReadService). */
export const NO_READ_SERVICE: u32 = 0xffffffff;

/**
 * The service that answers the route of the request header at `h` as a read
 * (ADM_ROUTE_F_READ), or NO_READ_SERVICE. Decides nothing else: the frame is
 * admitted as any other first.
 */
export function admissionReadService(h: usize): u32 {
  const route = <u32>load<u8>(h + 1);
  if (!admissionReady || route == 0 || route >= routeCount) return NO_READ_SERVICE;
  const policy = routes + <usize>route * ROUTE_BYTES;
  return (<u32>load<u8>(policy + 7) & <u32>ADM_ROUTE_F_READ) != 0 ? load<u32>(policy + 12) : NO_READ_SERVICE;
}

/** Copies the ledgers key `id` is limited to (u32 each) to `out`; how many (0: not limited). */
export function admissionGrants(id: u32, out: usize): u32 {
  assert(id >= 1 && id <= KEYS_MAX, "admissionGrants: a key id admission answered with");
  const k = keyAt(id);
  const n = <u32>load<u8>(k + 38);
  assert(n <= GRANTS_MAX, "admissionGrants: grants were validated when programmed");
  memory.copy(out, k + 64, <usize>n * 4);
  return n;
}

function programKey(p: usize, len: u32): i32 {
  if (len != <u32>ADM_KEY_BYTES) return SYS_E_INVALID;
  const id = load<u32>(p + 32);
  const grants = <u32>load<u8>(p + 38);
  const role = <u32>load<u8>(p + 36);
  if (id == 0 || id > KEYS_MAX || grants > GRANTS_MAX || role == <u32>ADM_ROLE_CONSOLE || role >= ROLES_MAX) return SYS_E_INVALID;
  if (load<u8>(p + 37) > 1 || load<u8>(p + 39) != 0 || !rateValid(<u64>load<u32>(p + 40), <u64>load<u32>(p + 44))) return SYS_E_INVALID;
  const k = keyAt(id);
  const fresh = load<u32>(k + 32) == 0;
  if (fresh) {
    if (keyFind(p) >= 0) return SYS_E_INVALID; // one hash, one id
  } else if (!hashEquals(k, p)) {
    return SYS_E_INVALID;
  }
  memory.copy(k, p, 40);
  store<u32>(k + 40, load<u32>(p + 40));
  store<u32>(k + 44, load<u32>(p + 44));
  memory.copy(k + 64, p + 48, <usize>GRANTS_MAX * 4);
  if (fresh) {
    store<u64>(k + 48, keyBurstOf(k) * NANO);
    store<u64>(k + 56, 0);
    keyIndexAdd(p, id);
  }
  keysGeneration++;
  assert(load<u32>(k + 32) == id && <u32>load<u8>(k + 38) <= GRANTS_MAX, "admission: the key's slot holds its id and its grants");
  assert(keyFind(p) == <i32>id, "admission: a programmed key is found by its hash");
  return SYS_OK;
}

// ---- keys ----

@inline function keyAt(id: u32): usize {
  assert(id >= 1 && id <= KEYS_MAX, "keyAt: not a key id");
  return keys + <usize>(id - 1) * KEY_SLOT_BYTES;
}

function hashEquals(a: usize, b: usize): bool {
  assert(a != 0 && b != 0, "hashEquals: hashes in memory");
  let diff: u64 = 0;
  for (let i: usize = 0; i < 32; i += 8) diff |= load<u64>(a + i) ^ load<u64>(b + i);
  return diff == 0;
}

/** The id of the key with this hash, or -1. */
function keyFind(hash: usize): i32 {
  assert(keyIndex != 0, "keyFind before admissionInit");
  const start = load<u32>(hash);
  for (let probe: u32 = 0; probe < KEY_INDEX_SLOTS; probe++) {
    const slot = keyIndex + <usize>((start + probe) & (KEY_INDEX_SLOTS - 1)) * 2;
    const id = <u32>load<u16>(slot);
    if (id == 0) return -1;
    if (hashEquals(keyAt(id), hash)) return <i32>id;
  }
  return -1;
}

function keyIndexAdd(hash: usize, id: u32): void {
  assert(id >= 1 && id <= KEYS_MAX, "keyIndexAdd: not a key id");
  const start = load<u32>(hash);
  for (let probe: u32 = 0; probe < KEY_INDEX_SLOTS; probe++) {
    const slot = keyIndex + <usize>((start + probe) & (KEY_INDEX_SLOTS - 1)) * 2;
    if (load<u16>(slot) == 0) { store<u16>(slot, <u16>id); return; }
  }
  assert(false, "admission: key index full below KEYS_MAX");
}

// A key's own rate and burst, else the policy's; programKey and
// programPolicy checked both against RATE_MAX.
function keyRateOf(k: usize): u64 {
  const rate = load<u32>(k + 40) != 0 ? <u64>load<u32>(k + 40) : keyRate;
  assert(rate <= RATE_MAX, "keyRateOf: a rate that was validated");
  return rate;
}
function keyBurstOf(k: usize): u64 {
  const burst = load<u32>(k + 44) != 0 ? <u64>load<u32>(k + 44) : keyBurst;
  assert(burst <= RATE_MAX, "keyBurstOf: a burst that was validated");
  return burst;
}

function keyGranted(k: usize, value: u32): bool {
  const n = <u32>load<u8>(k + 38);
  assert(n <= GRANTS_MAX, "keyGranted: grants were validated when the key was programmed");
  for (let i: u32 = 0; i < n; i++) if (load<u32>(k + 64 + <usize>i * 4) == value) return true;
  return false;
}

// ---- buckets ----

// Seconds until the bucket at p (u64 nano-tokens, u64 last refill ns) has a
// token, refilling it at `perSecondTimes60 / 60` tokens a second; 0 when it
// has one now, which `take` then removes.
function bucketWait(p: usize, ratePerMinute: u64, burst: u64, now: u64, take: bool): u32 {
  assert(ratePerMinute <= RATE_MAX * 60 && burst <= RATE_MAX && p != 0, "bucketWait: rates validated when programmed");
  if (ratePerMinute == 0) return 0;
  const cap = burst * NANO;
  let tokens = load<u64>(p);
  const last = load<u64>(p + 8);
  if (now > last) {
    const fillNs = cap / ratePerMinute * 60 + 1; // time to fill from empty, at most
    const elapsed = now - last < fillNs ? now - last : fillNs;
    tokens += elapsed * ratePerMinute / 60;
    if (tokens > cap) tokens = cap;
    assert(tokens <= cap, "bucketWait: a refill never passes the burst");
    store<u64>(p, tokens);
    store<u64>(p + 8, now);
  }
  if (tokens >= NANO) {
    if (take) store<u64>(p, tokens - NANO);
    return 0;
  }
  const waitNs = ((NANO - tokens) * 60 + ratePerMinute - 1) / ratePerMinute;
  const seconds = (waitNs + NANO - 1) / NANO;
  return seconds == 0 ? 1 : <u32>seconds;
}

function sourceSlot(addr: usize, now: u64): usize {
  let h: u32 = 2166136261;
  for (let i: u32 = 0; i < 16; i++) h = (h ^ <u32>load<u8>(addr + i)) * 16777619;
  let oldest: usize = 0;
  let oldestLast: u64 = 0xffffffffffffffff;
  for (let probe: u32 = 0; probe < SOURCE_PROBE_MAX; probe++) {
    const s = sources + <usize>((h + probe) & (SOURCES_MAX - 1)) * SOURCE_SLOT_BYTES;
    if (load<u32>(s + 48) == 0) {
      sourceReset(s, addr, now);
      sourcesUsed++;
      assert(sourcesUsed <= SOURCES_MAX, "sourceSlot: more sources used than the table holds");
      return s;
    }
    if (load<u64>(s) == load<u64>(addr) && load<u64>(s + 8) == load<u64>(addr + 8)) return s;
    const last = load<u64>(s + 24) > load<u64>(s + 40) ? load<u64>(s + 24) : load<u64>(s + 40);
    if (last < oldestLast) { oldestLast = last; oldest = s; }
  }
  assert(oldest != 0, "sourceSlot: every probed slot is taken, so one is the oldest");
  sourceReset(oldest, addr, now);
  return oldest;
}

function sourceReset(s: usize, addr: usize, now: u64): void {
  assert(s >= sources && s < sources + <usize>SOURCES_MAX * SOURCE_SLOT_BYTES, "sourceReset: a slot of the source table");
  memory.copy(s, addr, 16);
  store<u64>(s + 16, sourceBurst * NANO);
  store<u64>(s + 24, now);
  store<u64>(s + 32, failBurst * NANO);
  store<u64>(s + 40, now);
  store<u32>(s + 48, 1);
}

// ---- the check ----

function answer(status: u32, error: u32, retry: u32, keyId: u32, role: u32, message: string): u32 {
  assert(status == 200 || status == 400 || status == 401 || status == 403 || status == 429, "admission answer: an HTTP status the gateway knows");
  assert((status == 200) == (error == GW_OK) && (retry != 0) == (status == 429), "admission answer: an error exactly when refused, a retry exactly when rate limited");
  assert(keyId <= KEYS_MAX && role < ROLES_MAX && (status == 200) == (message.length == 0), "admission answer: a key id, a role, and a reason for every refusal");
  answerStatus = status;
  answerError = error;
  answerRetry = retry;
  answerKeyId = keyId;
  answerRole = role;
  answerMessage = message;
  return status;
}

function countAnswer(status: u32): void {
  assert(status == answerStatus, "countAnswer: the answer just given is counted");
  if (status == 200) count(ADM_STAT_ADMITTED);
  else if (status == 401) count(ADM_STAT_UNAUTHENTICATED);
  else if (status == 403) count(ADM_STAT_FORBIDDEN);
  else if (status == 429) count(ADM_STAT_RATE_LIMITED);
  else count(ADM_STAT_MALFORMED);
}

/** 401: also charged to the source's failed-auth allowance (when taken; `source` 0: a credential check). */
function unauthenticated(source: usize, take: bool, now: u64, error: u32, keyId: u32, message: string): u32 {
  assert(error != GW_OK && (!take || source != 0), "unauthenticated: a refusal, charged only to a source");
  if (take && source != 0) bucketWait(source + 32, failPerMinute, failBurst, now, true);
  return answer(401, error, 0, keyId, 0, message);
}

/**
 * Checks the request header at `h` (GW_REQUEST_HEADER_BYTES, then `bodyLen`
 * body bytes when `hasBody`). Returns the HTTP status, 200 when admitted; the
 * rest of the answer is kept for admissionReplyHeader / admissionMessage.
 * `take` charges the buckets. Without it (a request head the host asks
 * about before its body) an admitted request is charged nothing, since its
 * frame will be, but a refused one is charged as if taken: the refusal is
 * its last word, so a client can't flood with requests refused for free.
 */
export function admissionCheck(h: usize, bodyLen: u32, take: bool, hasBody: bool, now: u64): u32 {
  let status = decide(h, bodyLen, take, hasBody, now, true);
  if (status != 200 && !take) status = decide(h, bodyLen, true, hasBody, now, true);
  assert(status == answerStatus, "admissionCheck: the status is the answer kept for the reply");
  countAnswer(status);
  return status;
}

// `buckets` false (ADM_MODE_KEY): the credential alone; no source slot,
// bucket or failure count is read or charged.
function decide(h: usize, bodyLen: u32, take: bool, hasBody: bool, now: u64, buckets: bool): u32 {
  assert(buckets || !take, "admission: a credential check charges nothing");
  const route = <u32>load<u8>(h + 1);
  const auth = <u32>load<u8>(h + 2);
  const flags = <u32>load<u8>(h + 3);
  if (load<u8>(h) != GW_VERSION || route == 0 || route >= routeCount || (flags & ~GW_F_BODY_REFUSED) != 0
      || load<u32>(h + 4) != 0 || auth > <u32>AUTH_CONSOLE || (hasBody && flags != 0)) {
    return answer(400, GW_E_MALFORMED, 0, 0, 0, "malformed gateway request");
  }
  assert(route < ROUTES_MAX && routes != 0, "decide: a programmed route");
  const policy = routes + <usize>route * ROUTE_BYTES;
  if (auth == AUTH_CONSOLE) {
    if ((load<u32>(policy) & (1 << ADM_ROLE_CONSOLE)) == 0) return answer(403, GW_E_FORBIDDEN_ROLE, 0, 0, 0, "the console manages keys only");
    return answer(200, GW_OK, 0, 0, 0, "");
  }
  const source = buckets ? sourceSlot(h + GW_SOURCE_OFFSET, now) : 0;
  if (buckets) {
    const failWait = bucketWait(source + 32, failPerMinute, failBurst, now, false);
    if (failWait > 0) return answer(429, GW_E_RATE_LIMITED_SOURCE, failWait, 0, 0, "too many failed authentications from this address");
    const sourceWait = bucketWait(source + 16, sourceRate * 60, sourceBurst, now, take);
    if (sourceWait > 0) return answer(429, GW_E_RATE_LIMITED_SOURCE, sourceWait, 0, 0, "too many requests from this address");
  }
  if (auth == AUTH_NONE) return unauthenticated(source, take, now, GW_E_UNAUTHENTICATED, 0, "this route needs Authorization: Bearer <key>");
  if (auth == AUTH_MALFORMED) return unauthenticated(source, take, now, GW_E_BAD_AUTHORIZATION, 0, "Authorization must be Bearer <key>");
  assert(auth == AUTH_BEARER, "admission: auth checked above");
  const id = keyFind(h + GW_KEY_HASH_OFFSET);
  if (id < 0) return unauthenticated(source, take, now, GW_E_UNKNOWN_KEY, 0, "unknown API key");
  const k = keyAt(<u32>id);
  if (load<u8>(k + 37) != 0) return unauthenticated(source, take, now, GW_E_REVOKED_KEY, <u32>id, "the API key was revoked");
  const role = <u32>load<u8>(k + 36);
  assert(role < ROLES_MAX && role != <u32>ADM_ROLE_CONSOLE, "decide: a key's role was validated when programmed");
  const keyWait = buckets ? bucketWait(k + 48, keyRateOf(k) * 60, keyBurstOf(k), now, take) : 0;
  if (keyWait > 0) return answer(429, GW_E_RATE_LIMITED_KEY, keyWait, <u32>id, role, "too many requests with this key");
  if ((load<u32>(policy) & (<u32>1 << role)) == 0) return answer(403, GW_E_FORBIDDEN_ROLE, 0, <u32>id, role, "the key's role may not use this route");
  if ((flags & GW_F_BODY_REFUSED) != 0) return answer(400, GW_E_BODY_REFUSED, 0, <u32>id, role, "the request body was refused");
  const scope = <u32>load<u8>(policy + 4);
  if (load<u8>(k + 38) != 0 && scope == ADM_SCOPE_DENY) {
    return answer(403, GW_E_FORBIDDEN_LEDGER, 0, <u32>id, role, "this route is not limited by ledger; this key is");
  }
  if (load<u8>(k + 38) != 0 && scope == ADM_SCOPE_ITEMS && hasBody && !itemsGranted(k, policy, h + GW_REQUEST_HEADER_BYTES, bodyLen)) {
    return answer(403, GW_E_FORBIDDEN_LEDGER, 0, <u32>id, role, "an event names a ledger this key is not granted");
  }
  return answer(200, GW_OK, 0, <u32>id, role, "");
}

// Every item's scope field is granted. A body too short for what its count
// says is left to the authority (it refuses malformed bodies as such).
function itemsGranted(k: usize, policy: usize, body: usize, bodyLen: u32): bool {
  // routeValid checked the item layout when the policy was programmed.
  assert(<u32>load<u8>(policy + 4) == ADM_SCOPE_ITEMS && <u32>load<u16>(policy + 8) >= 4, "itemsGranted: a route scoped by items");
  const headerBytes = <u32>load<u8>(policy + 5);
  const itemBytes = <u32>load<u16>(policy + 8);
  const field = <usize>load<u16>(policy + 10);
  if (bodyLen < headerBytes) return true;
  const items = load<u32>(body + <usize>load<u8>(policy + 6));
  if (<u64>headerBytes + <u64>items * <u64>itemBytes > <u64>bodyLen) return true;
  for (let i: u32 = 0; i < items; i++) {
    if (!keyGranted(k, load<u32>(body + headerBytes + <usize>i * itemBytes + field))) return false;
  }
  return true;
}

/** Writes the last answer as a reply header at `p` (GW_REPLY_HEADER_BYTES). */
export function admissionReplyHeader(p: usize): void {
  assert(p != 0 && answerStatus >= 200, "admissionReplyHeader: an answer was given");
  store<u16>(p, <u16>answerStatus);
  store<u16>(p + 2, <u16>answerError);
  store<u32>(p + 4, answerRetry);
  store<u32>(p + 8, answerKeyId);
  store<u32>(p + 12, answerRole);
}

export function admissionMessage(): string {
  assert((answerStatus == 200) == (answerMessage.length == 0), "admissionMessage: a refusal says why");
  return answerMessage;
}

/** The host's check: the header in the area, the answer written after it. */
export function admissionCheckArea(mode: u32, now: u64): u32 {
  assert(mode <= <u32>ADM_MODE_KEY, "admission: unknown mode");
  const status = mode == <u32>ADM_MODE_KEY ? decide(area, 0, false, false, now, false) : admissionCheck(area, 0, mode == <u32>ADM_MODE_TAKE, false, now);
  assert(area != 0 && status == answerStatus, "admissionCheckArea: the answer of this check");
  admissionReplyHeader(area + ADM_AREA_REPLY);
  const n = <u32>min<i32>(answerMessage.length, <i32>ADM_MESSAGE_BYTES_MAX);
  for (let i: u32 = 0; i < n; i++) store<u8>(area + ADM_AREA_REPLY + GW_REPLY_HEADER_BYTES + i, <u8>answerMessage.charCodeAt(i));
  store<u32>(area + ADM_AREA_MESSAGE_LEN, n);
  return status;
}
