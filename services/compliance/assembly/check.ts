// check: the decision on each payment before money moves (protocol.ts
// "payment checks"), in the order of the request, each seeing the activity
// of those before it.
//
// For each check record:
//  1. sanctions: each party's name screened against the lists in force (the
//     search's own scoring, any type), and each account's mark when its
//     owner was found listed (owners.ts); the best is the decision's match. At or over the rule set's screen_hold (the
//     service's threshold when the ledger has no rule set, or sets 0) the
//     rule fires; at or over screen_refuse (when set) it refuses.
//  2. the debit account's activity before this payment gives the fraud
//     features (fraud.ts) and the model scores them; fraud_hold fires the
//     rule, fraud_refuse refuses. A payment whose debit side is not a
//     customer's account (a pacs.008 or MT103 in) is not scored: 0.
//  3. limits (payment_max, the debit account's and the customer's day
//     outflow, the day's payments to the credit account) refuse; the
//     monitoring rules (amount, velocity, structuring, rapid in-and-out,
//     dormant, high-risk countries) fire.
//  4. the action: REFUSE when a limit or a refusing score says so; else HOLD
//     when a fired rule is in the hold mask (sanctions hold when the ledger
//     has no rule set), or the activity table is full; else ALLOW. Any rule
//     fired but the limits raises an alert (cases.ts): a payment refused by
//     a limit alone is answered with its reason and needs no case.
//  5. an allowed or held payment counts in the activity (a held one too: its
//     money is reserved and may yet move); a refused one moves nothing and
//     does not count.
// When the alerts table is full, a payment whose rules call for a case is
// refused (RULE_CAPACITY, no alert): nothing moves or waits unrecorded, and
// payments that need no case go on.

import * as P from "../protocol";
import { countryValid } from "../../sdk/iso";
import { nowNs } from "../../sdk/qenex";
import { u128Cmp, u128IsZero, u128DivU64, u128MulU64 } from "../../sdk/money";
import { thresholdDefault } from "./config";
import { screenableValid } from "./match";
import { zeros } from "./record";
import { listVersionWord } from "./lists";
import { hitName, hitScore, screenBest } from "./search";
import { refusedRecords, replyRecords, replySend } from "./reply";
import { rulesFor, rulesVersion } from "./rules";
import { alertRaise, alertsFree, decisionKeep, decisionNext } from "./cases";
import { alertEmit, alertEventsFlush } from "./events";
import * as A from "./activity";
import * as F from "./fraud";

const features = memory.data(<i32>(F.FRAUD_FEATURES * 4), 4);
const scratch = memory.data(64, 16);
const customer = memory.data(16, 8);


/** The reason the check record at `c` is malformed, or null. */
function checkRecordError(c: usize): string | null {
  assert(c != 0, "a check record");
  if (load<u64>(c + P.CHECK_PAYMENT) == 0 || load<u32>(c + P.CHECK_LEDGER) == 0) return "compliance: a check's payment id and ledger are not 0";
  if ((<u32>load<u8>(c + P.CHECK_FLAGS) & ~(<u32>(P.CHECK_F_DEBIT_CUSTOMER | P.CHECK_F_CREDIT_CUSTOMER))) != 0) return "compliance: a check's flags have an unknown bit";
  const dl = <u32>load<u8>(c + P.CHECK_DEBTOR_LENGTH);
  const cl = <u32>load<u8>(c + P.CHECK_CREDITOR_LENGTH);
  if (dl > <u32>P.NORMALIZED_MAX || cl > <u32>P.NORMALIZED_MAX) return "compliance: a party's name is longer than NORMALIZED_MAX";
  if (!zeros(c + P.CHECK_DEBTOR_NAME + dl, <u32>P.NORMALIZED_MAX - dl) || !zeros(c + P.CHECK_CREDITOR_NAME + cl, <u32>P.NORMALIZED_MAX - cl)) {
    return "compliance: bytes after a party's name are not zero";
  }
  if ((dl != 0 && !screenableValid(c + P.CHECK_DEBTOR_NAME, dl)) || (cl != 0 && !screenableValid(c + P.CHECK_CREDITOR_NAME, cl))) {
    return "compliance: a party's name is not [a-z0-9] words with single spaces, at most SEARCH_TOKENS_MAX of them";
  }
  if (!countryValid(c + P.CHECK_DEBTOR_COUNTRY) || !countryValid(c + P.CHECK_CREDITOR_COUNTRY)) return "compliance: a country is not two upper-case letters or zeros";
  const ul = <u32>load<u8>(c + P.CHECK_CUSTOMER);
  if (ul > <u32>P.CUSTOMER_MAX || !zeros(c + P.CHECK_CUSTOMER + 1 + ul, <u32>P.CUSTOMER_MAX - ul)) return "compliance: a customer longer than CUSTOMER_MAX, or bytes after it not zero";
  if (!zeros(c + 68, 4) || load<u32>(c + 316) != 0) return "compliance: a check's reserved bytes are not zero";
  return null;
}

/** Screens both parties at `holdAt`; the best match into decision `d`. */
function screenParties(c: usize, d: usize, holdAt: u32): void {
  for (let party: u32 = P.PARTY_DEBTOR; party <= <u32>P.PARTY_CREDITOR; party++) {
    const at = party == <u32>P.PARTY_DEBTOR ? P.CHECK_DEBTOR_NAME : P.CHECK_CREDITOR_NAME;
    const len = <u32>load<u8>(c + (party == <u32>P.PARTY_DEBTOR ? P.CHECK_DEBTOR_LENGTH : P.CHECK_CREDITOR_LENGTH));
    if (len == 0) continue;
    const h = screenBest(c + at, len, holdAt);
    if (h == 0 || hitScore(h) <= load<u32>(d + P.DEC_SANCTIONS_SCORE)) continue;
    const r = hitName(h);
    store<u32>(d + P.DEC_SANCTIONS_SCORE, hitScore(h));
    store<u8>(d + P.DEC_PARTY, <u8>party);
    store<u8>(d + P.DEC_LIST, <u8>h);
    store<u8>(d + P.DEC_ID_LENGTH, load<u8>(r + P.NAME_ID_LENGTH));
    memory.copy(d + P.DEC_ENTITY_ID, r + P.NAME_ID, P.ENTITY_ID_MAX);
  }
  assert(load<u32>(d + P.DEC_SANCTIONS_SCORE) == 0 || load<u32>(d + P.DEC_SANCTIONS_SCORE) >= holdAt, "a match is at or over the threshold");
}

/** An account whose owner was found listed (owners.ts) is a match of its party, when better than the names'. */
function listedAccount(d: usize, party: u32, e: usize, holdAt: u32): void {
  assert(party == <u32>P.PARTY_DEBTOR || party == <u32>P.PARTY_CREDITOR, "a party");
  if (e == 0) return;
  const score = load<u32>(e + A.A_LISTED);
  if (score < holdAt || score <= load<u32>(d + P.DEC_SANCTIONS_SCORE)) return;
  store<u32>(d + P.DEC_SANCTIONS_SCORE, score);
  store<u8>(d + P.DEC_PARTY, <u8>party);
  store<u8>(d + P.DEC_LIST, load<u8>(e + A.A_LISTED_LIST));
  store<u8>(d + P.DEC_ID_LENGTH, load<u8>(e + A.A_LISTED_ID_LENGTH));
  memory.copy(d + P.DEC_ENTITY_ID, e + A.A_LISTED_ID, P.ENTITY_ID_MAX);
}

/** floor(log2(v)); 0 for 0 and 1. */
function log2(v: u64): i32 {
  assert(clz<u64>(0) == 64, "clz counts 64 for 0");
  return v == 0 ? 0 : 63 - <i32>clz(v);
}

/** A creditor's fingerprint in a debit account's ring (never 0: the ring's empty slot). */
function creditorPrint(c: usize): u32 {
  assert(c != 0, "a check record");
  return A.fnv(c + P.CHECK_CREDIT, 16, 2166136261) | 1;
}

/** Whether one party's country is on rule set `rs`'s high-risk list. */
function highRisk(c: usize, rs: usize): bool {
  assert(c != 0, "a check record");
  if (rs == 0) return false;
  const n = <u32>load<u8>(rs + P.RULES_HIGH_RISK_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const k = load<u16>(rs + P.RULES_HIGH_RISK + 2 * i);
    if (k == load<u16>(c + P.CHECK_DEBTOR_COUNTRY) || k == load<u16>(c + P.CHECK_CREDITOR_COUNTRY)) return true;
  }
  return false;
}

/** The fraud features (fraud.ts's definitions) of check `c` from the debit account's activity `e` before it. */
function featuresOf(c: usize, e: usize, rs: usize, now: u64): void {
  assert(F.FRAUD_FEATURES == 9 && e != 0, "the features this fills are the model's, of an account kept");
  const amount = c + P.CHECK_AMOUNT;
  const big = load<u64>(amount + 8) != 0;
  store<i32>(features + (F.F_AMOUNT_LOG2 << 2), big ? 127 : log2(load<u64>(amount)));
  let vsMean: i32 = 100;
  const outs = load<u32>(e + A.A_OUT_COUNT);
  if (outs > 0 && !big) {
    // amount × 100 / (sum / count) = amount × 100 × count / sum, in u128; capped by the model's clamp
    u128MulU64(scratch, amount, 100 * <u64>outs);
    memory.copy(scratch + 16, e + A.A_OUT_SUM, 16);
    // a sum of 0 with payments out (amounts of 0): any amount is far over it (the model's definition)
    if (u128IsZero(scratch + 16)) vsMean = u128IsZero(amount) ? 100 : 10000;
    else vsMean = load<u64>(scratch + 24) != 0 ? 0 : <i32>min<u64>(divU128(scratch, load<u64>(scratch + 16)), 10000);
  }
  store<i32>(features + (F.F_AMOUNT_VS_MEAN << 2), vsMean);
  store<i32>(features + (F.F_VELOCITY_1H << 2), <i32>A.recentCount(e, now));
  const lastOut = load<u64>(e + A.A_LAST_OUT);
  store<i32>(features + (F.F_SINCE_LAST_LOG2 << 2), lastOut == 0 || now < lastOut ? 40 : log2((now - lastOut) / A.NS_PER_S + 1));
  store<i32>(features + (F.F_NEW_PAYEE << 2), A.creditorKnown(e, creditorPrint(c)) ? 0 : 1);
  store<i32>(features + (F.F_HIGH_RISK << 2), highRisk(c, rs) ? 1 : 0);
  store<i32>(features + (F.F_NIGHT << 2), (now / (3600 * A.NS_PER_S)) % 24 < 6 ? 1 : 0);
  const round = !big && load<u64>(amount) > 0 && load<u64>(amount) % 10000 == 0;
  store<i32>(features + (F.F_ROUND << 2), round ? 1 : 0);
  const first = load<u64>(e + A.A_FIRST);
  store<i32>(features + (F.F_ACCOUNT_AGE_LOG2 << 2), log2((now - min(first, now)) / A.NS_PER_DAY + 1));
}

/** The low 64 bits of the u128 at `n` divided by `d` (n's high half is under d's range: a quotient that fits). */
function divU128(n: usize, d: u64): u64 {
  assert(d != 0, "a divisor");
  u128DivU64(n, n, d);
  return load<u64>(n + 8) != 0 ? 0xffffffffffffffff : load<u64>(n);
}

/** The bits of `rules` for the limits of `rs` that check `c` passes over. */
function limitsOver(c: usize, rs: usize, e: usize, cust: usize, cp: usize, now: u64): u32 {
  const amount = c + P.CHECK_AMOUNT;
  let fired: u32 = 0;
  if (!u128IsZero(rs + P.RULES_PAYMENT_MAX) && u128Cmp(amount, rs + P.RULES_PAYMENT_MAX) > 0) fired |= P.RULE_PAYMENT_MAX;
  const sum = scratch + 32;
  if (e != 0) {
    A.daySum(e, now, sum);
    if (A.overWith(sum, amount, rs + P.RULES_ACCOUNT_DAILY, scratch)) fired |= P.RULE_ACCOUNT_DAILY;
  }
  if (cust != 0) {
    A.daySum(cust, now, sum);
    if (A.overWith(sum, amount, rs + P.RULES_CUSTOMER_DAILY, scratch)) fired |= P.RULE_CUSTOMER_DAILY;
  }
  if (cp != 0) {
    A.daySum(cp, now, sum);
    if (A.overWith(sum, amount, rs + P.RULES_COUNTERPARTY_DAILY, scratch)) fired |= P.RULE_COUNTERPARTY;
  }
  assert((fired & ~P.RULES_LIMITS) == 0, "limits only");
  return fired;
}

/** The monitoring rules of `rs` that check `c` fires, from the debit account's activity `e` (0: not a customer's) before it. */
function rulesOver(c: usize, rs: usize, e: usize, now: u64): u32 {
  assert(rs != 0, "a rule set");
  const amount = c + P.CHECK_AMOUNT;
  let fired: u32 = highRisk(c, rs) ? P.RULE_HIGH_RISK : 0;
  if (!u128IsZero(rs + P.RULES_AMOUNT_THRESHOLD) && u128Cmp(amount, rs + P.RULES_AMOUNT_THRESHOLD) >= 0) fired |= P.RULE_AMOUNT;
  if (e == 0) return fired;
  const vWindow = <u64>load<u32>(rs + P.RULES_VELOCITY_WINDOW) * A.NS_PER_S;
  if (vWindow != 0) {
    const open = A.windowOpen(e, A.A_VEL_START, vWindow, now);
    const count = open ? load<u32>(e + A.A_VEL_COUNT) : 0;
    const vCount = load<u32>(rs + P.RULES_VELOCITY_COUNT);
    if (vCount != 0 && count + 1 > vCount) fired |= P.RULE_VELOCITY;
    memory.fill(scratch + 32, 0, 16);
    if (open) memory.copy(scratch + 32, e + A.A_VEL_SUM, 16);
    if (A.overWith(scratch + 32, amount, rs + P.RULES_VELOCITY_SUM, scratch)) fired |= P.RULE_VELOCITY;
  }
  if (justUnder(amount, rs)) {
    const open = A.windowOpen(e, A.A_STRUCT_START, <u64>load<u32>(rs + P.RULES_STRUCTURING_WINDOW) * A.NS_PER_S, now);
    if ((open ? load<u32>(e + A.A_STRUCT_COUNT) : 0) + 1 >= load<u32>(rs + P.RULES_STRUCTURING_COUNT)) fired |= P.RULE_STRUCTURING;
  }
  const rapid = <u64>load<u32>(rs + P.RULES_RAPID_WINDOW) * A.NS_PER_S;
  const lastIn = load<u64>(e + A.A_LAST_IN);
  if (rapid != 0 && lastIn != 0 && now >= lastIn && now - lastIn < rapid) {
    // out ≥ ratio × in: amount × 10000 ≥ in × ratio_bps, both in u128 (amounts under 2^64 here; larger ones always qualify)
    u128MulU64(scratch, amount, 10000);
    u128MulU64(scratch + 16, e + A.A_IN_AMOUNT, <u64>load<u32>(rs + P.RULES_RAPID_RATIO));
    if (u128Cmp(scratch, scratch + 16) >= 0) fired |= P.RULE_RAPID;
  }
  const dormantDays = <u64>load<u32>(rs + P.RULES_DORMANT_DAYS);
  const last = load<u64>(e + A.A_LAST);
  if (dormantDays != 0 && last != 0 && now > last && now - last >= dormantDays * A.NS_PER_DAY && u128Cmp(amount, rs + P.RULES_DORMANT_AMOUNT) >= 0) fired |= P.RULE_DORMANT;
  return fired;
}

/** Whether `amount` is just under rule set `rs`'s structuring threshold: within its margin below it. */
function justUnder(amount: usize, rs: usize): bool {
  assert(load<u32>(rs + P.RULES_STRUCTURING_MARGIN) <= 10000, "a checked margin");
  const t = rs + P.RULES_STRUCTURING_THRESHOLD;
  if (u128IsZero(t) || u128Cmp(amount, t) >= 0) return false;
  // amount ≥ threshold × (10000 - margin) / 10000  ⇔  amount × 10000 ≥ threshold × (10000 - margin)
  u128MulU64(scratch, amount, 10000);
  u128MulU64(scratch + 16, t, 10000 - <u64>load<u32>(rs + P.RULES_STRUCTURING_MARGIN));
  return u128Cmp(scratch, scratch + 16) >= 0;
}

/** The action of decision `d` and the rule that decided it, from the rules fired and the scores. */
function act(d: usize, rs: usize, fired: u32): void {
  let action = P.ACTION_ALLOW;
  let by: u32 = 0;
  const sanctions = load<u32>(d + P.DEC_SANCTIONS_SCORE);
  const fraud = load<u32>(d + P.DEC_FRAUD_SCORE);
  const screenRefuse: u32 = rs == 0 ? 0 : load<u32>(rs + P.RULES_SCREEN_REFUSE);
  const fraudRefuse: u32 = rs == 0 ? 0 : load<u32>(rs + P.RULES_FRAUD_REFUSE);
  const holdMask = (rs == 0 ? <u32>P.RULE_SANCTIONS : load<u32>(rs + P.RULES_HOLD_MASK)) | P.RULE_CAPACITY;
  if ((fired & P.RULES_LIMITS) != 0) { action = P.ACTION_REFUSE; by = fired & P.RULES_LIMITS & -(fired & P.RULES_LIMITS); }
  else if (screenRefuse != 0 && sanctions >= screenRefuse) { action = P.ACTION_REFUSE; by = P.RULE_SANCTIONS; }
  else if (fraudRefuse != 0 && fraud >= fraudRefuse) { action = P.ACTION_REFUSE; by = P.RULE_FRAUD; }
  else if ((fired & holdMask) != 0) {
    action = P.ACTION_HOLD;
    const held = fired & holdMask;
    by = (held & P.RULE_CAPACITY) != 0 ? P.RULE_CAPACITY : (held & P.RULE_SANCTIONS) != 0 ? P.RULE_SANCTIONS : held & -held;
  }
  store<u8>(d + P.DEC_ACTION, <u8>action);
  store<u32>(d + P.DEC_RULES, fired);
  store<u32>(d + P.DEC_DECIDED_BY, by);
  assert(action == P.ACTION_ALLOW ? by == 0 : (by & fired) == by || by == P.RULE_SANCTIONS || by == P.RULE_FRAUD, "decided by a rule");
}

/** Counts an allowed or held payment in the activity of its accounts, customer and counterparty. */
function countIn(c: usize, rs: usize, e: usize, cust: usize, cp: usize, credit: usize, now: u64): void {
  assert(e != credit || e == 0, "the debit and credit accounts are two entries");
  const amount = c + P.CHECK_AMOUNT;
  if (e != 0) {
    store<u64>(e + A.A_LAST_OUT, now);
    store<u64>(e + A.A_LAST, now);
    A.dayAdd(e, amount, now);
    store<u32>(e + A.A_OUT_COUNT, load<u32>(e + A.A_OUT_COUNT) + 1);
    A.sumAdd(e + A.A_OUT_SUM, amount);
    A.creditorAdd(e, creditorPrint(c));
    A.recentAdd(e, now);
    if (rs != 0 && load<u32>(rs + P.RULES_VELOCITY_WINDOW) != 0) {
      countWindow(e, A.A_VEL_START, A.A_VEL_COUNT, A.A_VEL_SUM, <u64>load<u32>(rs + P.RULES_VELOCITY_WINDOW) * A.NS_PER_S, amount, now);
    }
    if (rs != 0 && justUnder(amount, rs)) {
      countWindow(e, A.A_STRUCT_START, A.A_STRUCT_COUNT, 0, <u64>load<u32>(rs + P.RULES_STRUCTURING_WINDOW) * A.NS_PER_S, amount, now);
    }
  }
  if (cust != 0) A.dayAdd(cust, amount, now);
  if (cp != 0) A.dayAdd(cp, amount, now);
  if (credit != 0) {
    store<u64>(credit + A.A_LAST_IN, now);
    store<u64>(credit + A.A_LAST, now);
    memory.copy(credit + A.A_IN_AMOUNT, amount, 16);
  }
}

/** Counts one payment in the entry's window at `start` (a new window when it closed), and its sum when `sum` is not 0. */
function countWindow(e: usize, start: u32, countAt: u32, sum: u32, lengthNs: u64, amount: usize, now: u64): void {
  assert(e != 0 && lengthNs != 0, "an entry and a window");
  if (!A.windowOpen(e, start, lengthNs, now)) {
    store<u64>(e + start, now == 0 ? 1 : now);
    store<u32>(e + countAt, 0);
    if (sum != 0) memory.fill(e + sum, 0, 16);
  }
  store<u32>(e + countAt, load<u32>(e + countAt) + 1);
  if (sum != 0) A.sumAdd(e + sum, amount);
}

/**
 * Decides check `c` into decision `d`: a payment's, or (`transfer`: the
 * 16-byte id of a ledger transfer, else 0) one of the ledger's own transfers,
 * which cannot be held: what would hold it refuses it.
 */
export function decide(c: usize, d: usize, now: u64, transfer: usize): void {
  assert(c != d, "a check and its decision apart");
  memory.fill(d, 0, P.DECISION_BYTES);
  const ledger = load<u32>(c + P.CHECK_LEDGER);
  const rs = rulesFor(ledger);
  const flags = <u32>load<u8>(c + P.CHECK_FLAGS);
  store<u64>(d + P.DEC_PAYMENT, load<u64>(c + P.CHECK_PAYMENT));
  store<u8>(d + P.DEC_ORIGIN, <u8>(transfer != 0 ? P.ORIGIN_TRANSFER : P.ORIGIN_PAYMENT));
  if (transfer != 0) memory.copy(d + P.DEC_TRANSFER, transfer, 16);
  store<u32>(d + P.DEC_LEDGER, ledger);
  store<u64>(d + P.DEC_TIME, now);
  memory.copy(d + P.DEC_AMOUNT, c + P.CHECK_AMOUNT, 16);
  memory.copy(d + P.DEC_DEBIT, c + P.CHECK_DEBIT, 16);
  store<u32>(d + P.DEC_OFAC_VERSION, listVersionWord(P.LIST_OFAC_SDN));
  store<u32>(d + P.DEC_UN_VERSION, listVersionWord(P.LIST_UN));
  store<u32>(d + P.DEC_RULES_VERSION, <u32>rulesVersion());
  store<u32>(d + P.DEC_MODEL, F.fraudModelVersion());
  store<u64>(d + P.DEC_SEQUENCE, decisionNext());
  const screenHold = rs == 0 || load<u32>(rs + P.RULES_SCREEN_HOLD) == 0 ? thresholdDefault : load<u32>(rs + P.RULES_SCREEN_HOLD);
  const debitCustomer = (flags & P.CHECK_F_DEBIT_CUSTOMER) != 0;
  const creditCustomer = (flags & P.CHECK_F_CREDIT_CUSTOMER) != 0;
  const e = debitCustomer ? A.activityOf(A.KIND_ACCOUNT, ledger, c + P.CHECK_DEBIT, true, now) : 0;
  const credit = creditCustomer ? A.activityOf(A.KIND_ACCOUNT, ledger, c + P.CHECK_CREDIT, true, now) : 0;
  screenParties(c, d, screenHold);
  // An account's mark is on its entry: a customer's is the one just found; a correspondent's is looked up, never made.
  listedAccount(d, P.PARTY_DEBTOR, debitCustomer ? e : A.activityOf(A.KIND_ACCOUNT, ledger, c + P.CHECK_DEBIT, false, now), screenHold);
  listedAccount(d, P.PARTY_CREDITOR, creditCustomer ? credit : A.activityOf(A.KIND_ACCOUNT, ledger, c + P.CHECK_CREDIT, false, now), screenHold);
  let fired: u32 = load<u32>(d + P.DEC_SANCTIONS_SCORE) != 0 ? P.RULE_SANCTIONS : 0;
  const cust = debitCustomer && A.customerId(c + P.CHECK_CUSTOMER, customer) ? A.activityOf(A.KIND_CUSTOMER, ledger, customer, true, now) : 0;
  const cp = rs != 0 && !u128IsZero(rs + P.RULES_COUNTERPARTY_DAILY) ? A.activityOf(A.KIND_COUNTERPARTY, ledger, c + P.CHECK_CREDIT, true, now) : 0;
  const missing = (debitCustomer && e == 0) || (creditCustomer && credit == 0) || (rs != 0 && !u128IsZero(rs + P.RULES_COUNTERPARTY_DAILY) && cp == 0);
  if (missing) fired |= P.RULE_CAPACITY;
  // The model reads the debtor's history here: a payment in from another bank's customer (its debit side a
  // correspondent's account) has none of ours, and is not scored (0).
  let fraud: u32 = 0;
  if (e != 0) {
    featuresOf(c, e, rs, now);
    fraud = F.fraudScore(features);
  }
  store<u32>(d + P.DEC_FRAUD_SCORE, fraud);
  if (rs != 0) {
    if (load<u32>(rs + P.RULES_FRAUD_HOLD) != 0 && fraud >= load<u32>(rs + P.RULES_FRAUD_HOLD)) fired |= P.RULE_FRAUD;
    fired |= limitsOver(c, rs, e, cust, cp, now) | rulesOver(c, rs, e, now);
  }
  // Limits only: the payment is refused and that is the whole story (its reason says which); anything else is a case.
  const needsCase = (fired & ~P.RULES_LIMITS) != 0;
  // No room for its case: a payment that needs one is refused (capacity), never moved or held unrecorded; the others go on.
  if (needsCase && alertsFree() == 0) fired |= P.RULE_CAPACITY;
  act(d, rs, fired);
  if (needsCase && alertsFree() == 0) {
    store<u8>(d + P.DEC_ACTION, <u8>P.ACTION_REFUSE);
    store<u32>(d + P.DEC_DECIDED_BY, P.RULE_CAPACITY);
  }
  if (transfer != 0 && load<u8>(d + P.DEC_ACTION) == <u8>P.ACTION_HOLD) store<u8>(d + P.DEC_ACTION, <u8>P.ACTION_REFUSE);
  if (load<u8>(d + P.DEC_ACTION) != <u8>P.ACTION_REFUSE) countIn(c, rs, e, cust, cp, credit, now);
  if (needsCase && alertsFree() > 0) alertEmit(alertRaise(d));
  decisionKeep(d);
}

/** check: `count` check records at `recs` (the inbox), each decided in order; a decision each. */
export function check(token: u32, count: u32, recs: usize): void {
  assert(count >= 1 && count <= <u32>P.CHECKS_PER_REQUEST, "a framed count");
  if (refusedRecords(token, recs, count, P.CHECK_BYTES, checkRecordError)) return;
  const now = nowNs();
  for (let i: u32 = 0; i < count; i++) decide(recs + <usize>i * P.CHECK_BYTES, replyRecords() + <usize>i * P.DECISION_BYTES, now, 0);
  alertEventsFlush();
  replySend(token, count, 0, count * <u32>P.DECISION_BYTES);
}
