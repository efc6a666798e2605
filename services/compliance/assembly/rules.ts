// The rule sets: one per ledger (protocol.ts "Rule set"), the monitoring
// rules and limits a payment on that ledger is checked against. The
// manifest's config gives the first ("rules": [...], config.ts reads them
// with rulesFromJson below); rules_set, an operator's command and so a log
// entry, replaces them all at once; every change counts the rules version up
// (from 1 for the config's, 0 when there are none), and each decision names
// the version it was made under. A rule set is checked whole before anything
// changes: a refused rules_set leaves the rules in force.

import * as P from "../protocol";
import { JsonReader } from "../../../lib/json";
import { refuse, replyRecords, replySend } from "./reply";
import { zeros } from "./record";

const sets = memory.data(<i32>(P.RULE_SETS_MAX * P.RULES_BYTES), 16);
const staged = memory.data(<i32>(P.RULE_SETS_MAX * P.RULES_BYTES), 16);
let setCount: u32 = 0;
let version: u64 = 0;

// The bits a hold mask may have: the rules that alert (limits always refuse; capacity always holds).
const HOLDABLE: u32 = P.RULE_SANCTIONS | P.RULE_AMOUNT | P.RULE_VELOCITY | P.RULE_STRUCTURING | P.RULE_RAPID | P.RULE_DORMANT
  | P.RULE_HIGH_RISK | P.RULE_FRAUD;

export function rulesVersion(): u64 {
  assert(setCount == 0 || version != 0, "sets in force have a version");
  return version;
}

/** The rule set of `ledger`, or 0 when it has none. */
export function rulesFor(ledger: u32): usize {
  assert(setCount <= <u32>P.RULE_SETS_MAX, "the sets fit their table");
  for (let i: u32 = 0; i < setCount; i++) {
    const s = sets + <usize>i * P.RULES_BYTES;
    if (load<u32>(s + P.RULES_LEDGER) == ledger) return s;
  }
  return 0;
}

function scoreValid(s: usize, at: u32): bool {
  assert(at + 4 <= <u32>P.RULES_BYTES, "a score of the record");
  return load<u32>(s + at) <= <u32>P.SCORE_ONE;
}

/** Whether a pair of scores is in range and the refusing one (when set) is not under the holding one (when set). */
function scoresValid(s: usize, hold: u32, refuseAt: u32): bool {
  assert(hold != refuseAt, "two scores");
  if (!scoreValid(s, hold) || !scoreValid(s, refuseAt)) return false;
  const h = load<u32>(s + hold);
  const r = load<u32>(s + refuseAt);
  return h == 0 || r == 0 || r >= h;
}

/** The reason the rule set at `s` is malformed, or null. */
export function rulesRecordError(s: usize): string | null {
  assert(s != 0, "a rule set");
  if (load<u32>(s + P.RULES_LEDGER) == 0) return "compliance: a rule set's ledger is 0";
  if ((load<u32>(s + P.RULES_HOLD_MASK) & ~HOLDABLE) != 0) return "compliance: a rule set's hold mask names a limit or an unknown rule";
  if (load<u32>(s + P.RULES_STRUCTURING_MARGIN) > 10000) return "compliance: structuring_margin_bps over 10000";
  if (load<u32>(s + P.RULES_RAPID_RATIO) > 1000000) return "compliance: rapid_ratio_bps over 1000000";
  if (!scoresValid(s, P.RULES_FRAUD_HOLD, P.RULES_FRAUD_REFUSE)) return "compliance: fraud_hold and fraud_refuse must be 0..1 with fraud_refuse not under fraud_hold";
  if (!scoresValid(s, P.RULES_SCREEN_HOLD, P.RULES_SCREEN_REFUSE)) return "compliance: screen_hold and screen_refuse must be 0..1 with screen_refuse not under screen_hold";
  const n = <u32>load<u8>(s + P.RULES_HIGH_RISK_COUNT);
  if (n > <u32>P.HIGH_RISK_MAX) return "compliance: more high-risk countries than HIGH_RISK_MAX";
  for (let i: u32 = 0; i < 2 * n; i++) {
    const c = load<u8>(s + P.RULES_HIGH_RISK + i);
    if (c < 0x41 || c > 0x5a) return "compliance: a high-risk country is not two upper-case letters";
  }
  if (!zeros(s + P.RULES_HIGH_RISK + 2 * n, 2 * (<u32>P.HIGH_RISK_MAX - n))) return "compliance: bytes after the high-risk countries are not zero";
  if (!zeros(s + P.RULES_HIGH_RISK_COUNT + 1, 3) || !zeros(s + P.RULES_FLAGS + 4, <u32>P.RULES_BYTES - P.RULES_FLAGS - 4)) {
    return "compliance: a rule set's reserved bytes are not zero";
  }
  if ((load<u32>(s + P.RULES_FLAGS) & ~(<u32>P.RULES_F_KNOWN)) != 0) return "compliance: a rule set's flags have an unknown bit";
  if (load<u32>(s + P.RULES_PRICE_BAND) > 1000000) return "compliance: price_band_bps over 1000000";
  if (load<u64>(s + P.RULES_POSITION_MAX) > <u64>i64.MAX_VALUE) return "compliance: position_max over 2^63-1";
  const windowed = load<u32>(s + P.RULES_VELOCITY_COUNT) != 0 || !zeros(s + P.RULES_VELOCITY_SUM, 16);
  if (windowed && load<u32>(s + P.RULES_VELOCITY_WINDOW) == 0) return "compliance: a velocity rule needs velocity_window_s";
  if (!zeros(s + P.RULES_STRUCTURING_THRESHOLD, 16) && (load<u32>(s + P.RULES_STRUCTURING_COUNT) < 2 || load<u32>(s + P.RULES_STRUCTURING_WINDOW) == 0)) {
    return "compliance: a structuring rule needs structuring_count (2 or more) and structuring_window_s";
  }
  if (load<u32>(s + P.RULES_RAPID_WINDOW) != 0 && load<u32>(s + P.RULES_RAPID_RATIO) == 0) return "compliance: a rapid in-and-out rule needs rapid_ratio_bps";
  return null;
}

/** The reason `count` rule sets at `recs` cannot be put in force together, or null. */
function setsError(recs: usize, count: u32): string | null {
  assert(count <= <u32>P.RULE_SETS_MAX, "a count of the table");
  for (let i: u32 = 0; i < count; i++) {
    const s = recs + <usize>i * P.RULES_BYTES;
    const why = rulesRecordError(s);
    if (why !== null) return why;
    for (let j: u32 = 0; j < i; j++) {
      if (load<u32>(recs + <usize>j * P.RULES_BYTES + P.RULES_LEDGER) == load<u32>(s + P.RULES_LEDGER)) return "compliance: two rule sets of one ledger";
    }
  }
  return null;
}

/** Puts `count` checked rule sets at `recs` in force, replacing every set; the version counts up. */
function putInForce(recs: usize, count: u32): void {
  assert(count <= <u32>P.RULE_SETS_MAX && setsError(recs, count) === null, "checked rule sets");
  memory.fill(sets, 0, <usize>P.RULE_SETS_MAX * P.RULES_BYTES);
  memory.copy(sets, recs, <usize>count * P.RULES_BYTES);
  setCount = count;
  version++;
}

/** rules_set: `count` rule sets at `recs` (the inbox) replace every set, or nothing changes. */
export function rulesSet(token: u32, count: u32, recs: usize): void {
  assert(count >= 1 && count <= <u32>P.RULE_SETS_MAX, "a framed count");
  const why = setsError(recs, count);
  if (why !== null) { refuse(token, P.REFUSED_MALFORMED, why); return; }
  putInForce(recs, count);
  replySend(token, 0, version, 0);
}

/** rules_get: every rule set in force, in the order set, and the version. */
export function rulesGet(token: u32): void {
  assert(<u64>setCount * P.RULES_BYTES <= <u64>(P.RULE_SETS_MAX * P.RULES_BYTES), "the sets fit the reply");
  memory.copy(replyRecords(), sets, <usize>setCount * P.RULES_BYTES);
  replySend(token, setCount, version, setCount * <u32>P.RULES_BYTES);
}

// ---- the config's rules: JSON objects with the protocol's field names, amounts in minor units ----

function u128Field(r: JsonReader, s: usize, at: u32): void {
  assert(at + 16 <= <u32>P.RULES_BYTES, "a field of the record");
  store<u64>(s + at, r.readU64()); // a config's amounts fit 64 bits; the high half stays 0
  store<u64>(s + at + 8, 0);
}

function u32Field(r: JsonReader, s: usize, at: u32, key: string): string | null {
  assert(at + 4 <= <u32>P.RULES_BYTES, "a field of the record");
  const v = r.readU64();
  if (v > 0xffffffff) return "rules: " + key + " over 2^32-1";
  store<u32>(s + at, <u32>v);
  return null;
}

/** The RULE_* bit a rule's name in "hold" stands for (0: none). */
function ruleBit(name: string): u32 {
  assert((HOLDABLE & P.RULES_LIMITS) == 0, "limits never hold");
  if (name == "sanctions") return P.RULE_SANCTIONS;
  if (name == "amount") return P.RULE_AMOUNT;
  if (name == "velocity") return P.RULE_VELOCITY;
  if (name == "structuring") return P.RULE_STRUCTURING;
  if (name == "rapid_in_out") return P.RULE_RAPID;
  if (name == "dormant") return P.RULE_DORMANT;
  if (name == "high_risk_country") return P.RULE_HIGH_RISK;
  if (name == "fraud") return P.RULE_FRAUD;
  return 0;
}

function holdField(r: JsonReader, s: usize): string | null {
  assert(s != 0, "a rule set");
  let mask: u32 = 0;
  if (r.beginArray()) {
    while (r.nextItem()) {
      const name = r.readString();
      if (r.error != null) break;
      const bit = ruleBit(name);
      if (bit == 0) return "rules: hold names no rule that holds: " + name;
      mask |= bit;
    }
  }
  store<u32>(s + P.RULES_HOLD_MASK, mask);
  return null;
}

function countriesField(r: JsonReader, s: usize): string | null {
  assert(s != 0, "a rule set");
  let n: u32 = 0;
  if (r.beginArray()) {
    while (r.nextItem()) {
      const c = r.readString();
      if (r.error != null) break;
      if (c.length != 2 || n == <u32>P.HIGH_RISK_MAX) return "rules: high_risk_countries: two letters each, at most HIGH_RISK_MAX";
      store<u8>(s + P.RULES_HIGH_RISK + 2 * n, <u8>c.charCodeAt(0));
      store<u8>(s + P.RULES_HIGH_RISK + 2 * n + 1, <u8>c.charCodeAt(1));
      n++;
    }
  }
  store<u8>(s + P.RULES_HIGH_RISK_COUNT, <u8>n);
  return null;
}

/** The record offset of a u128 amount field's name (0: not one). */
function amountAt(k: string): u32 {
  assert(k.length > 0, "a key");
  if (k == "amount_threshold") return P.RULES_AMOUNT_THRESHOLD;
  if (k == "payment_max") return P.RULES_PAYMENT_MAX;
  if (k == "account_daily_max") return P.RULES_ACCOUNT_DAILY;
  if (k == "customer_daily_max") return P.RULES_CUSTOMER_DAILY;
  if (k == "counterparty_daily_max") return P.RULES_COUNTERPARTY_DAILY;
  if (k == "velocity_sum") return P.RULES_VELOCITY_SUM;
  if (k == "structuring_threshold") return P.RULES_STRUCTURING_THRESHOLD;
  if (k == "dormant_amount") return P.RULES_DORMANT_AMOUNT;
  if (k == "order_value_max") return P.RULES_ORDER_VALUE_MAX;
  return 0;
}

/** The record offset of a u32 field's name (0: not one; the ledger is at 0 and read apart). */
function wordAt(k: string): u32 {
  assert(k.length > 0, "a key");
  if (k == "velocity_count") return P.RULES_VELOCITY_COUNT;
  if (k == "velocity_window_s") return P.RULES_VELOCITY_WINDOW;
  if (k == "structuring_margin_bps") return P.RULES_STRUCTURING_MARGIN;
  if (k == "structuring_count") return P.RULES_STRUCTURING_COUNT;
  if (k == "structuring_window_s") return P.RULES_STRUCTURING_WINDOW;
  if (k == "rapid_window_s") return P.RULES_RAPID_WINDOW;
  if (k == "rapid_ratio_bps") return P.RULES_RAPID_RATIO;
  if (k == "dormant_days") return P.RULES_DORMANT_DAYS;
  if (k == "fraud_hold") return P.RULES_FRAUD_HOLD;
  if (k == "fraud_refuse") return P.RULES_FRAUD_REFUSE;
  if (k == "screen_hold") return P.RULES_SCREEN_HOLD;
  if (k == "screen_refuse") return P.RULES_SCREEN_REFUSE;
  if (k == "price_band_bps") return P.RULES_PRICE_BAND;
  return 0;
}

/** Reads one rule set object into record `s` (zeroed first); the reason it is refused, or null. Scores in millionths. */
function ruleSetFromJson(r: JsonReader, s: usize): string | null {
  assert(s >= staged && s < staged + <usize>P.RULE_SETS_MAX * P.RULES_BYTES, "a staged set");
  memory.fill(s, 0, P.RULES_BYTES);
  if (!r.beginObject()) return null; // the reader's error says why
  for (let key = r.nextKey(); key != null; key = r.nextKey()) {
    const k = key;
    let why: string | null = null;
    if (k == "ledger") why = u32Field(r, s, P.RULES_LEDGER, k);
    else if (k == "hold") why = holdField(r, s);
    else if (k == "high_risk_countries") why = countriesField(r, s);
    else if (amountAt(k) != 0) u128Field(r, s, amountAt(k));
    else if (wordAt(k) != 0) why = u32Field(r, s, wordAt(k), k);
    else if (k == "position_max") store<u64>(s + P.RULES_POSITION_MAX, r.readU64());
    else if (k == "transfers") store<u32>(s + P.RULES_FLAGS, r.readBool() ? P.RULES_F_TRANSFERS : 0);
    else why = "rules: unknown key " + k;
    if (why !== null) return why;
    if (r.error != null) return null;
  }
  return null;
}

/** The config's "rules": an array of rule sets, put in force (version 1); the reason they are refused, or null. */
export function rulesFromJson(r: JsonReader): string | null {
  let n: u32 = 0;
  if (r.beginArray()) {
    while (r.nextItem()) {
      if (n == <u32>P.RULE_SETS_MAX) return "rules: more than RULE_SETS_MAX rule sets";
      const why = ruleSetFromJson(r, staged + <usize>n * P.RULES_BYTES);
      if (why !== null) return why;
      if (r.error != null) return null;
      n++;
    }
  }
  if (r.error != null) return null;
  const bad = setsError(staged, n);
  if (bad !== null) return bad;
  putInForce(staged, n);
  assert(setCount == n, "the config's sets in force");
  return null;
}
