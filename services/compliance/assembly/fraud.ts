// The fraud model: how likely a payment is fraud, as a score in millionths
// (0 .. P.SCORE_ONE), from nine integer features of the debtor account's
// recent activity. The payment check computes the features from its
// per-account state (on the logical clock, before this payment is counted)
// and calls fraudScore(); the score and fraudModelVersion() go into the
// decision record, so a decision can be traced to the model that made it.
//
// The features (the contract with the caller; docs/compliance-fraud.md has
// their exact definitions), i32 each, at features + 4 * index:
//
//   F_AMOUNT_LOG2       floor(log2(amount in minor units)), 0 for 0    0..63
//   F_AMOUNT_VS_MEAN    amount * 100 / the account's mean outgoing     0..10000
//   F_VELOCITY_1H       the account's outgoing payments in the last hour 0..1000
//   F_SINCE_LAST_LOG2   floor(log2(s since its last payment + 1)), 40 for none 0..40
//   F_NEW_PAYEE         1: the creditor is not among its last 8 distinct 0..1
//   F_HIGH_RISK         1: a party's country is on the high-risk list  0..1
//   F_NIGHT             1: the hour of day (UTC) is 0..5               0..1
//   F_ROUND             1: a whole 100 (amount % 10000 == 0, amount > 0) 0..1
//   F_ACCOUNT_AGE_LOG2  floor(log2(days since first seen + 1))         0..20
//
// Each input is clamped to its range first, so any i32 is safe and a
// caller's out-of-range value scores as the nearest one in range.
//
// The model is a logistic regression over seventeen terms: the features (the
// ratio to the mean and the velocity as floor(log2(x + 1)), as they matter
// by orders of magnitude); "large", the doublings of the ratio beyond 2.55
// times the mean (a linear ratio cannot say both "small, as a card test"
// and "large, as a takeover"); and seven products that carry the planted
// patterns' shapes: large to a new payee, large at night, large after a
// quiet spell, a burst to new payees, a new payee at night, round to a
// high-risk country, round from a young account. The logit is
//   bias + sum of weight[i] * term[i]           (Q16: times 2^16, in i64)
// and the score is the logistic sigmoid of it, read off a table of 257
// points in millionths over logits -8 .. 8 (a point each 1/16), linear
// between two points, the end values outside. Integers only, so the score
// is the same on every CPU and on replay.
//
// The weights, the bias and the table are fraud-model.ts, written by
// scripts/fraud/train.ts (make fraud-train) from synthetic accounts with
// planted fraud; the version is the first 4 bytes of the SHA-256 of those
// parameters as the script serialises them.

import * as P from "../protocol";
import {
  MODEL_BIAS_Q16, MODEL_TERMS, MODEL_VERSION, MODEL_WEIGHTS_Q16, SIGMOID_FROM_Q16, SIGMOID_MILLIONTHS, SIGMOID_POINTS, SIGMOID_STEP_SHIFT,
} from "./fraud-model";

export const F_AMOUNT_LOG2: u32 = 0;
export const F_AMOUNT_VS_MEAN: u32 = 1;
export const F_VELOCITY_1H: u32 = 2;
export const F_SINCE_LAST_LOG2: u32 = 3;
export const F_NEW_PAYEE: u32 = 4;
export const F_HIGH_RISK: u32 = 5;
export const F_NIGHT: u32 = 6;
export const F_ROUND: u32 = 7;
export const F_ACCOUNT_AGE_LOG2: u32 = 8;
export const FRAUD_FEATURES: u32 = 9;

// Each feature's highest value (the lowest is 0), in feature order: the contract's ranges.
const FEATURE_TOP: StaticArray<i32> = [63, 10000, 1000, 40, 1, 1, 1, 1, 20];
// The terms terms() computes: fraud-model.ts must have a weight for each.
const TERMS: u32 = 17;
// A payment of 2.55 times the mean or more (F_AMOUNT_VS_MEAN >= 2^8 - 1) is large, by the doublings of the
// ratio beyond; a payment after 2^17 s (about 1.5 days) without one is from a quiet account; an account first seen fewer
// than 2^4 - 1 (15) days ago is young (the script's LARGE_LOG2, QUIET_LOG2 and YOUNG_LOG2).
const LARGE_LOG2: i32 = 7;
const QUIET_LOG2: i32 = 17;
const YOUNG_LOG2: i32 = 4;
const term = memory.data(<i32>(TERMS * 4), 4);

/** Feature `i` of the vector at `features`, clamped to its range. */
@inline function feature(features: usize, i: u32): i32 {
  const top = unchecked(FEATURE_TOP[i]);
  const v = load<i32>(features + (<usize>i << 2));
  return v < 0 ? 0 : v > top ? top : v;
}

/** floor(log2(x + 1)) of a clamped (non-negative) feature. */
function log2Plus1(x: i32): i32 {
  assert(x >= 0, "log2Plus1: a clamped feature");
  return 31 - <i32>clz<u32>(<u32>x + 1);
}

/** The model's terms of the vector at `features` (clamped), into `term`, in the order of the weights. */
function terms(features: usize): void {
  assert(TERMS == MODEL_TERMS && <u32>MODEL_WEIGHTS_Q16.length == TERMS, "fraud-model.ts has a weight for each term");
  assert(<u32>FEATURE_TOP.length == FRAUD_FEATURES, "a range for each feature");
  const ratio = log2Plus1(feature(features, F_AMOUNT_VS_MEAN));
  const velocity = log2Plus1(feature(features, F_VELOCITY_1H));
  const since = feature(features, F_SINCE_LAST_LOG2);
  const newPayee = feature(features, F_NEW_PAYEE);
  const highRisk = feature(features, F_HIGH_RISK);
  const night = feature(features, F_NIGHT);
  const round = feature(features, F_ROUND);
  const age = feature(features, F_ACCOUNT_AGE_LOG2);
  const large = ratio > LARGE_LOG2 ? ratio - LARGE_LOG2 : 0;
  store<i32>(term, feature(features, F_AMOUNT_LOG2), 0);
  store<i32>(term, ratio, 4);
  store<i32>(term, velocity, 8);
  store<i32>(term, since, 12);
  store<i32>(term, newPayee, 16);
  store<i32>(term, highRisk, 20);
  store<i32>(term, night, 24);
  store<i32>(term, round, 28);
  store<i32>(term, age, 32);
  store<i32>(term, large, 36);
  store<i32>(term, newPayee * large, 40);
  store<i32>(term, night * large, 44);
  store<i32>(term, since >= QUIET_LOG2 ? large : 0, 48);
  store<i32>(term, newPayee * velocity, 52);
  store<i32>(term, night * newPayee, 56);
  store<i32>(term, round * highRisk, 60);
  store<i32>(term, age < YOUNG_LOG2 ? round : 0, 64);
}

/** bias + sum of weight * term, Q16. */
function logitQ16(): i64 {
  let logit: i64 = <i64>MODEL_BIAS_Q16;
  for (let i: u32 = 0; i < TERMS; i++) {
    const t = load<i32>(term + (<usize>i << 2));
    assert(t >= 0 && t <= 63, "a term is a clamped feature (at most 63 but the ratio and velocity), a log2 of one, or a product with a 0/1 one");
    logit += <i64>unchecked(MODEL_WEIGHTS_Q16[i]) * <i64>t;
  }
  return logit;
}

/** The sigmoid of a Q16 logit in millionths: the table's points, linear between two, the end values outside. */
function sigmoidMillionths(logit: i64): u32 {
  assert(<u32>SIGMOID_MILLIONTHS.length == SIGMOID_POINTS && SIGMOID_POINTS >= 2, "the sigmoid's table");
  const span: i64 = <i64>(SIGMOID_POINTS - 1) << SIGMOID_STEP_SHIFT;
  let offset: i64 = logit - <i64>SIGMOID_FROM_Q16;
  offset = offset < 0 ? 0 : offset > span ? span : offset;
  const i = <u32>(offset >> SIGMOID_STEP_SHIFT);
  if (i >= SIGMOID_POINTS - 1) return <u32>unchecked(SIGMOID_MILLIONTHS[SIGMOID_POINTS - 1]);
  const lo = <i64>unchecked(SIGMOID_MILLIONTHS[i]);
  const hi = <i64>unchecked(SIGMOID_MILLIONTHS[i + 1]);
  assert(lo >= 0 && lo <= hi && hi <= <i64>P.SCORE_ONE, "the sigmoid's table rises within 0 .. SCORE_ONE");
  const frac = offset & ((<i64>1 << SIGMOID_STEP_SHIFT) - 1);
  return <u32>(lo + (((hi - lo) * frac) >> SIGMOID_STEP_SHIFT));
}

/** The fraud score (millionths) of the FRAUD_FEATURES i32 features at `features` (little-endian, 4 bytes each). */
export function fraudScore(features: usize): u32 {
  terms(features);
  const score = sigmoidMillionths(logitQ16());
  assert(score <= <u32>P.SCORE_ONE, "a score is at most SCORE_ONE");
  return score;
}

/** The model's version: the first 4 bytes (big-endian) of the SHA-256 of its parameters (fraud-model.ts). */
export function fraudModelVersion(): u32 {
  assert(<u32>MODEL_WEIGHTS_Q16.length == MODEL_TERMS, "the version's parameters are whole");
  return MODEL_VERSION;
}
