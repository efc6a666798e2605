// scripts/fraud/train.ts: trains the compliance service's fraud model
// (services/compliance/assembly/fraud.ts, docs/compliance-fraud.md) and
// writes its parameters into services/compliance/assembly/fraud-model.ts.
//
//   node --import tsx scripts/fraud/train.ts      (or: make fraud-train)
//
// Reproducible: a PRNG written here (mulberry32, seeded with SEED) makes
// synthetic account histories with planted fraud; the features are computed
// exactly as the service computes them (the contract in fraud.ts); accounts,
// not payments, are split 70/30 into training and held-out sets, so a
// held-out account's payments were never seen in training; the logistic
// regression is fitted by a fixed number of Newton steps in a fixed order;
// the weights are rounded to Q16 and the held-out ROC-AUC is measured with
// that integer model, the arithmetic fraud.ts runs. Two runs write the same
// bytes. The last line printed is one JSON object (event "fraud_model").
//
// Importable: the test (test/unit/compliance-fraud.test.ts) regenerates the
// held-out set with generate() and compares the wasm evaluator with
// scoreInt(); main() runs only when this file is executed.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCORE_ONE } from '../../services/compliance/protocol.ts';

export const SEED = 20261207;
/** Accounts generated; 70 in 100 (by the account's index, see isHoldout) train the model. */
export const ACCOUNTS = 3000;
const DAY = 86400;
const HOUR = 3600;
/** Samples are the payments of WINDOW_DAYS; the WARMUP_DAYS before give the accounts their history. */
const WINDOW_DAYS = 30;
const WARMUP_DAYS = 30;

// ---- the feature vector (the contract with the service; fraud.ts reads it in this order) ----
export const F_AMOUNT_LOG2 = 0, F_AMOUNT_VS_MEAN = 1, F_VELOCITY_1H = 2, F_SINCE_LAST_LOG2 = 3, F_NEW_PAYEE = 4;
export const F_HIGH_RISK = 5, F_NIGHT = 6, F_ROUND = 7, F_ACCOUNT_AGE_LOG2 = 8;
export const FRAUD_FEATURES = 9;
/** Each feature's range: the evaluator clamps its input to it first. */
export const FEATURE_RANGE: readonly (readonly [number, number])[] = [[0, 63], [0, 10000], [0, 1000], [0, 40], [0, 1], [0, 1], [0, 1], [0, 1], [0, 20]];

// ---- the model's terms: what the weights multiply (fraud.ts terms() computes the same) ----
export const TERM_NAMES = [
  'amount_log2', 'vs_mean_log2', 'velocity_log2', 'since_last_log2', 'new_payee', 'high_risk', 'night', 'round', 'account_age_log2',
  'large', 'new_payee*large', 'night*large', 'quiet*large', 'new_payee*velocity_log2', 'night*new_payee', 'round*high_risk', 'young*round',
] as const;
export const TERMS = TERM_NAMES.length;
/** A payment of 2^LARGE_LOG2 - 1 percent of the mean (2.55 times) or more is large: the large term counts its doublings beyond. */
const LARGE_LOG2 = 7;
/** A payment whose account paid nothing for 2^QUIET_LOG2 s (about 1.5 days) or more comes from a quiet account. */
const QUIET_LOG2 = 17;
/** An account first seen fewer than 2^YOUNG_LOG2 - 1 days (15) ago is young. */
const YOUNG_LOG2 = 4;

// ---- the integer model's fixed geometry ----
export const WEIGHT_SHIFT = 16; // weights and the logit in Q16
export const SIGMOID_POINTS = 257;
export const SIGMOID_STEP_SHIFT = 12; // points 2^12 Q16 apart: 1/16 of a logit unit, so 257 points span [-8, 8]
export const SIGMOID_FROM_Q16 = -(8 << WEIGHT_SHIFT);
/** The tag that opens the serialised parameters: changes when the terms or the geometry do. */
const FORMAT_TAG = 'QXFRAUD1';

/** floor(log2(x)) of a non-negative integer (0 for 0 and 1), exact for any safe integer. */
export function ilog2(x: number): number {
  let n = 0;
  let v = Math.floor(x);
  while (v >= 2) { v = Math.floor(v / 2); n++; }
  return n;
}
const clampTo = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** The model's terms from a feature vector (clamped here, as fraud.ts does). */
export function terms(features: readonly number[]): number[] {
  const f = features.map((v, i) => clampTo(v | 0, FEATURE_RANGE[i][0], FEATURE_RANGE[i][1]));
  const ratio = ilog2(f[F_AMOUNT_VS_MEAN] + 1);
  const velocity = ilog2(f[F_VELOCITY_1H] + 1);
  const quiet = f[F_SINCE_LAST_LOG2] >= QUIET_LOG2 ? 1 : 0;
  const young = f[F_ACCOUNT_AGE_LOG2] < YOUNG_LOG2 ? 1 : 0;
  const large = ratio > LARGE_LOG2 ? ratio - LARGE_LOG2 : 0;
  return [
    f[F_AMOUNT_LOG2], ratio, velocity, f[F_SINCE_LAST_LOG2], f[F_NEW_PAYEE], f[F_HIGH_RISK], f[F_NIGHT], f[F_ROUND], f[F_ACCOUNT_AGE_LOG2],
    large, f[F_NEW_PAYEE] * large, f[F_NIGHT] * large, quiet * large, f[F_NEW_PAYEE] * velocity, f[F_NIGHT] * f[F_NEW_PAYEE], f[F_ROUND] * f[F_HIGH_RISK],
    young * f[F_ROUND],
  ];
}

// ---- the PRNG: mulberry32, 32-bit integer steps only ----
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
interface Rng { int(n: number): number; range(lo: number, hi: number): number; chance(perMille: number): boolean; }
function rngOf(seed: number): Rng {
  const next = prng(seed);
  const int = (n: number): number => next() % n;
  return { int, range: (lo, hi) => lo + int(hi - lo + 1), chance: (p) => int(1000) < p };
}

// ---- the synthetic bank ----
/** One outgoing payment of an account's history. */
interface Payment { t: number; amount: number; creditor: number; fraud: boolean; pattern?: Pattern; }
/** The planted pattern a fraud payment follows. */
export type Pattern = 'takeover' | 'burst' | 'mule';
/** One sample: a payment of the window, its feature vector, its label and its account. */
export interface Sample { account: number; features: number[]; fraud: boolean; pattern?: Pattern; }
type Kind = 'salaried' | 'merchant' | 'quiet' | 'young' | 'expat' | 'mule';
interface Account { id: number; kind: Kind; firstSeen: number; highRisk: boolean; payments: Payment[]; }

/** The bank's creditors: an id each, some in a high-risk country. */
class Creditors {
  risky: boolean[] = [];
  constructor(private r: Rng) {}
  fresh(riskPerMille: number): number { this.risky.push(this.r.chance(riskPerMille)); return this.risky.length - 1; }
  pool(n: number, riskPerMille: number): number[] { return Array.from({ length: n }, () => this.fresh(riskPerMille)); }
}

const roundUp = (amount: number): number => Math.max(10000, Math.floor(amount / 10000) * 10000);
/** A time of day in seconds: from the account's waking hours, or the night (0..5 h) with the given chance. */
function timeOfDay(r: Rng, nightPerMille: number, fromHour: number, toHour: number): number {
  if (r.chance(nightPerMille)) return r.int(6 * HOUR);
  return fromHour * HOUR + r.int((toHour - fromHour) * HOUR);
}

/** A customer's habits: how often, how much, to whom, when. */
interface Habits { perDayMille: number; base: number; spread: number; pool: number[]; newPerMille: number; nightPerMille: number; roundPerMille: number; riskPerMille: number; }

/** Ordinary payments of one account from `from` to `to` (seconds) with its habits. */
function ordinary(r: Rng, c: Creditors, h: Habits, from: number, to: number): Payment[] {
  const out: Payment[] = [];
  for (let day = Math.floor(from / DAY); day * DAY < to; day++) {
    // perDayMille / 1000 payments a day on average: whole ones, then a chance of one more.
    let n = Math.floor(h.perDayMille / 1000) + (r.chance(h.perDayMille % 1000) ? 1 : 0);
    if (h.perDayMille >= 2000) n = r.range(0, 2 * Math.floor(h.perDayMille / 1000));
    for (let k = 0; k < n; k++) {
      const t = day * DAY + timeOfDay(r, h.nightPerMille, 7, 23);
      if (t < from || t >= to) continue;
      let amount = Math.floor((h.base * r.range(100 - h.spread, 100 + 3 * h.spread)) / 100);
      if (r.chance(h.roundPerMille)) amount = roundUp(amount);
      const creditor = r.chance(h.newPerMille) ? c.fresh(h.riskPerMille) : h.pool[r.int(h.pool.length)];
      out.push({ t, amount, creditor, fraud: false });
    }
  }
  return out;
}

/** Legitimate events that look like fraud to one feature: a large purchase, a monthly rent, a business burst. */
function legitimateOddities(r: Rng, c: Creditors, a: Account, h: Habits, from: number, to: number): void {
  for (let day = Math.floor(from / DAY); day * DAY < to; day++) {
    if (r.chance(a.kind === 'quiet' ? 25 : 12)) { // a car, a deposit, a holiday: several times the usual, often to someone new
      const t = day * DAY + timeOfDay(r, h.nightPerMille * 2, 8, 22);
      const amount = h.base * r.range(3, 30);
      a.payments.push({ t, amount: r.chance(400) ? roundUp(amount) : amount, creditor: r.chance(600) ? c.fresh(h.riskPerMille) : h.pool[0], fraud: false });
    }
    if (day % 30 === a.id % 30 && a.kind !== 'merchant') { // the rent: round, to the same landlord
      a.payments.push({ t: day * DAY + 9 * HOUR + r.int(HOUR), amount: roundUp(h.base * 8), creditor: h.pool[0], fraud: false });
    }
    if (a.kind === 'merchant' && r.chance(300)) { // a payout run: many payments within the hour, to new and known payees
      const t0 = day * DAY + timeOfDay(r, 50, 8, 19);
      for (let k = r.range(5, 30); k > 0; k--) {
        a.payments.push({ t: t0 + r.int(HOUR), amount: Math.floor((h.base * r.range(20, 150)) / 100), creditor: r.chance(500) ? c.fresh(60) : h.pool[r.int(h.pool.length)], fraud: false });
      }
    }
  }
}

/** The habits of a normal customer of each kind. */
function habitsOf(r: Rng, c: Creditors, kind: Kind): Habits {
  switch (kind) {
    case 'salaried': return { perDayMille: r.range(300, 2500), base: r.range(1000, 20000), spread: r.range(30, 80), pool: c.pool(r.range(4, 14), 20),
      newPerMille: r.range(30, 150), nightPerMille: r.chance(200) ? r.range(100, 300) : r.range(0, 30), roundPerMille: r.range(0, 100), riskPerMille: 30 };
    case 'merchant': return { perDayMille: r.range(3000, 12000), base: r.range(2000, 80000), spread: r.range(50, 90), pool: c.pool(r.range(10, 40), 60),
      newPerMille: r.range(200, 500), nightPerMille: r.range(0, 60), roundPerMille: r.range(50, 250), riskPerMille: 60 };
    case 'quiet': return { perDayMille: r.range(30, 150), base: r.range(5000, 60000), spread: r.range(30, 90), pool: c.pool(r.range(2, 8), 20),
      newPerMille: r.range(100, 400), nightPerMille: r.range(0, 60), roundPerMille: r.range(50, 300), riskPerMille: 30 };
    case 'young': return { perDayMille: r.range(300, 2000), base: r.range(2000, 40000), spread: r.range(30, 90), pool: c.pool(r.range(2, 10), 100),
      newPerMille: r.range(150, 450), nightPerMille: r.range(0, 150), roundPerMille: r.range(100, 450), riskPerMille: 120 };
    case 'expat': return { perDayMille: r.range(300, 1500), base: r.range(2000, 30000), spread: r.range(30, 80), pool: c.pool(r.range(3, 10), 500),
      newPerMille: r.range(50, 200), nightPerMille: r.range(150, 350), roundPerMille: r.range(150, 400), riskPerMille: 400 };
    default: return { perDayMille: 0, base: 0, spread: 0, pool: [], newPerMille: 0, nightPerMille: 0, roundPerMille: 0, riskPerMille: 0 };
  }
}

/** The time t, moved into the night (0..5 h) of its day with the given chance. */
function atNight(r: Rng, t: number, perMille: number): number {
  return r.chance(perMille) ? Math.floor(t / DAY) * DAY + r.int(6 * HOUR) : t;
}

/**
 * Account takeover: a quiet spell (the owner's own payments stop for 2..20
 * days in 3 of 5 takeovers), then 1..3 payments within four hours, 2..40
 * times the usual amount, to new payees (9 in 10), often at night.
 */
function takeover(r: Rng, c: Creditors, a: Account, h: Habits): void {
  const t = (2 + r.int(WINDOW_DAYS - 3)) * DAY + timeOfDay(r, 0, 7, 23);
  if (r.chance(600)) {
    const from = t - r.range(2, 20) * DAY;
    a.payments = a.payments.filter((p) => p.t < from || p.t >= t);
  }
  const night = r.chance(550);
  for (let k = r.range(1, 3); k > 0; k--) {
    const at = (night ? Math.floor(t / DAY) * DAY + r.int(6 * HOUR) : t) + r.int(4 * HOUR);
    const amount = h.base * r.range(2, 40);
    a.payments.push({ t: at, amount: r.chance(400) ? roundUp(amount) : amount, creditor: r.chance(900) ? c.fresh(300) : h.pool[r.int(h.pool.length)], fraud: true, pattern: 'takeover' });
  }
}

/** Card testing: 5..25 small payments (1 to 25 units) within 40 minutes, mostly to new payees, often at night. */
function burst(r: Rng, c: Creditors, a: Account, h: Habits): void {
  const t0 = atNight(r, (1 + r.int(WINDOW_DAYS - 2)) * DAY + timeOfDay(r, 0, 7, 23), 400);
  for (let k = r.range(5, 25); k > 0; k--) {
    a.payments.push({ t: t0 + r.int(40 * 60), amount: r.range(100, 2500), creditor: r.chance(850) ? c.fresh(200) : h.pool[r.int(h.pool.length)], fraud: true, pattern: 'burst' });
  }
}

/**
 * A mule: a new account (first seen in the last days) that passes money on
 * within days: 3..12 payments, round (3 in 4), to new payees (7 in 10) mostly
 * in high-risk countries, a quarter at night.
 */
function mule(r: Rng, c: Creditors, a: Account): void {
  const start = a.firstSeen + r.int(3 * DAY);
  const days = r.range(1, 10);
  const pool = c.pool(r.range(1, 3), 550);
  for (let k = r.range(3, 12); k > 0; k--) {
    const t = atNight(r, start + r.int(days * DAY), 250);
    const amount = r.chance(750) ? roundUp(r.range(50000, 1500000)) : r.range(30000, 900000);
    a.payments.push({ t, amount, creditor: r.chance(700) ? c.fresh(550) : pool[r.int(pool.length)], fraud: true, pattern: 'mule' });
  }
}

/** The kinds of accounts, per thousand: normal customers of five kinds, and mules. */
const KINDS: readonly (readonly [Kind, number])[] = [['salaried', 430], ['merchant', 80], ['quiet', 200], ['young', 160], ['expat', 80], ['mule', 50]];
function kindOf(r: Rng): Kind {
  let x = r.int(1000);
  for (const [k, n] of KINDS) { if (x < n) return k; x -= n; }
  return 'salaried';
}

/** One account with its whole history (warm-up and window), fraud planted. */
function account(r: Rng, c: Creditors, id: number): Account {
  const kind = kindOf(r);
  const a: Account = { id, kind, firstSeen: 0, highRisk: false, payments: [] };
  if (kind === 'mule') {
    a.firstSeen = r.range(-5, WINDOW_DAYS - 5) * DAY + r.int(DAY);
    a.highRisk = r.chance(200);
    mule(r, c, a);
    return a;
  }
  // Established accounts are 60 days to 8 years old (log-uniform); young ones were first seen in the last 20 days or during the window.
  a.firstSeen = kind === 'young' ? r.range(-20, WINDOW_DAYS - 5) * DAY + r.int(DAY) : -(1 << r.range(6, 11)) * DAY - r.int(DAY * 60);
  a.highRisk = r.chance(kind === 'expat' ? 300 : kind === 'young' ? 80 : 20);
  const h = habitsOf(r, c, kind);
  const from = Math.max(a.firstSeen, -WARMUP_DAYS * DAY);
  const to = WINDOW_DAYS * DAY;
  a.payments = ordinary(r, c, h, from, to);
  legitimateOddities(r, c, a, h, from, to);
  if (kind !== 'young' && r.chance(kind === 'quiet' ? 120 : 50)) takeover(r, c, a, h);
  else if (r.chance(35)) burst(r, c, a, h);
  return a;
}

/** The service's state of one debtor account, and the features of its next payment (the contract, docs/compliance-fraud.md). */
class DebtorState {
  count = 0;
  sum = 0;
  last = -1;
  recent: number[] = []; // times of the payments of the last hour
  payees: number[] = []; // the last 8 distinct creditors, the latest first
  constructor(private firstSeen: number) {}

  features(p: Payment, debtorRisky: boolean, creditorRisky: boolean): number[] {
    this.recent = this.recent.filter((t) => p.t - t < HOUR);
    const vsMean = this.count === 0 ? 100 : this.sum === 0 ? (p.amount > 0 ? 10000 : 100) : Math.floor((p.amount * 100 * this.count) / this.sum);
    return [
      p.amount === 0 ? 0 : ilog2(p.amount),
      vsMean,
      this.recent.length,
      this.last < 0 ? 40 : ilog2(p.t - this.last + 1),
      this.payees.includes(p.creditor) ? 0 : 1,
      debtorRisky || creditorRisky ? 1 : 0,
      Math.floor((((p.t % DAY) + DAY) % DAY) / HOUR) <= 5 ? 1 : 0,
      p.amount > 0 && p.amount % 10000 === 0 ? 1 : 0,
      ilog2(Math.floor((p.t - this.firstSeen) / DAY) + 1),
    ].map((v, i) => clampTo(v, FEATURE_RANGE[i][0], FEATURE_RANGE[i][1]));
  }

  add(p: Payment): void {
    this.count++;
    this.sum += p.amount;
    this.last = p.t;
    this.recent.push(p.t);
    this.payees = [p.creditor, ...this.payees.filter((x) => x !== p.creditor)].slice(0, 8);
  }
}

/** Every sample of the synthetic bank: the payments of the window, in account order, then time order. */
export function generate(seed: number = SEED, accounts: number = ACCOUNTS): Sample[] {
  const r = rngOf(seed);
  const c = new Creditors(r);
  const out: Sample[] = [];
  for (let id = 0; id < accounts; id++) {
    const a = account(r, c, id);
    const payments = a.payments.filter((p) => p.t >= a.firstSeen).sort((x, y) => x.t - y.t);
    const state = new DebtorState(a.firstSeen);
    for (const p of payments) {
      if (p.t >= 0 && p.t < WINDOW_DAYS * DAY) out.push({ account: id, features: state.features(p, a.highRisk, c.risky[p.creditor]), fraud: p.fraud, pattern: p.pattern });
      state.add(p);
    }
  }
  return out;
}

/** Held-out accounts: 3 in 10, by index. */
export const isHoldout = (account: number): boolean => account % 10 >= 7;

// ---- the integer model ----
export interface Model { weights: number[]; bias: number; sigmoid: number[]; }

/** The score in millionths: exactly fraud.ts's arithmetic (all values are integers below 2^53). */
export function scoreInt(model: Model, features: readonly number[]): number {
  const t = terms(features);
  let logit = model.bias;
  for (let i = 0; i < TERMS; i++) logit += model.weights[i] * t[i];
  const span = (SIGMOID_POINTS - 1) << SIGMOID_STEP_SHIFT;
  const offset = clampTo(logit - SIGMOID_FROM_Q16, 0, span);
  const step = 1 << SIGMOID_STEP_SHIFT;
  const i = Math.floor(offset / step);
  if (i >= SIGMOID_POINTS - 1) return model.sigmoid[SIGMOID_POINTS - 1];
  const frac = offset - i * step;
  return model.sigmoid[i] + Math.floor(((model.sigmoid[i + 1] - model.sigmoid[i]) * frac) / step);
}

/**
 * The parameters as hashed for the version: the ASCII tag "QXFRAUD1", then
 * little-endian 32-bit integers: the term count, each term's weight (Q16,
 * in term order), the bias (Q16), the sigmoid's point count, its first
 * point's logit (Q16), its step's shift, and each point's value (millionths).
 */
export function serialise(model: Model): Buffer {
  const ints = [TERMS, ...model.weights, model.bias, SIGMOID_POINTS, SIGMOID_FROM_Q16, SIGMOID_STEP_SHIFT, ...model.sigmoid];
  const b = Buffer.alloc(FORMAT_TAG.length + 4 * ints.length);
  b.write(FORMAT_TAG, 0, 'ascii');
  ints.forEach((v, i) => b.writeInt32LE(v, FORMAT_TAG.length + 4 * i));
  return b;
}
/** The version: the first 4 bytes of the SHA-256 of serialise(model), big-endian. */
export function versionOf(model: Model): number {
  return createHash('sha256').update(serialise(model)).digest().readUInt32BE(0);
}

/** ROC-AUC (the Mann-Whitney statistic, ties counted a half). */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number {
  const order = scores.map((s, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && scores[order[j]] === scores[order[i]]) j++;
    const rank = (i + 1 + j) / 2; // the average of ranks i+1..j
    for (let k = i; k < j; k++) if (labels[order[k]]) { rankSum += rank; positives++; }
    i = j;
  }
  const negatives = order.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The sigmoid's points, in millionths: the only place its float is computed. */
export function sigmoidTable(): number[] {
  return Array.from({ length: SIGMOID_POINTS }, (_, i) => {
    const x = (SIGMOID_FROM_Q16 + (i << SIGMOID_STEP_SHIFT)) / (1 << WEIGHT_SHIFT);
    return Math.round(SCORE_ONE / (1 + Math.exp(-x)));
  });
}

// ---- training: logistic regression by Newton's method, in float, then rounded ----
const NEWTON_STEPS = 30;
const RIDGE = 1; // a small L2 penalty on the standardised weights: keeps them finite when a term separates a few samples

/** Solves A x = b (Gaussian elimination with partial pivoting; A is symmetric positive definite here). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = col + 1; r < n; r++) {
      const f = m[r][col] / m[col][col];
      for (let k = col; k <= n; k++) m[r][k] -= f * m[col][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/** Fits the weights (per term, in term units) and the bias on the samples' terms. */
export function fit(rows: readonly number[][], labels: readonly boolean[]): { weights: number[]; bias: number } {
  const n = rows.length;
  // Standardised terms (mean 0, deviation 1) keep Newton's steps well conditioned; a constant term is left at 0.
  const mean = Array.from({ length: TERMS }, (_, j) => rows.reduce((s, x) => s + x[j], 0) / n);
  const sd = mean.map((m, j) => Math.sqrt(rows.reduce((s, x) => s + (x[j] - m) ** 2, 0) / n) || 1);
  const z = rows.map((x) => [1, ...x.map((v, j) => (v - mean[j]) / sd[j])]);
  const w = new Array<number>(TERMS + 1).fill(0);
  for (let step = 0; step < NEWTON_STEPS; step++) {
    const grad = w.map((v, j) => (j === 0 ? 0 : -RIDGE * v));
    const hess = w.map((_, j) => w.map((__, k) => (j === k && j > 0 ? RIDGE : 0)));
    for (let i = 0; i < n; i++) {
      const zi = z[i];
      let s = 0;
      for (let j = 0; j <= TERMS; j++) s += w[j] * zi[j];
      const p = 1 / (1 + Math.exp(-s));
      const g = (labels[i] ? 1 : 0) - p;
      const h = p * (1 - p);
      for (let j = 0; j <= TERMS; j++) {
        grad[j] += g * zi[j];
        const hj = h * zi[j];
        for (let k = j; k <= TERMS; k++) hess[j][k] += hj * zi[k];
      }
    }
    for (let j = 0; j <= TERMS; j++) for (let k = 0; k < j; k++) hess[j][k] = hess[k][j];
    const delta = solve(hess, grad);
    for (let j = 0; j <= TERMS; j++) w[j] += delta[j];
  }
  const weights = Array.from({ length: TERMS }, (_, j) => w[j + 1] / sd[j]);
  const bias = w[0] - weights.reduce((s, v, j) => s + v * mean[j], 0);
  return { weights, bias };
}

/** The fitted model in integers: weights and bias rounded to Q16, the sigmoid's table. */
export function quantise(fitted: { weights: number[]; bias: number }): Model {
  const q = (v: number): number => Math.round(v * (1 << WEIGHT_SHIFT));
  return { weights: fitted.weights.map(q), bias: q(fitted.bias), sigmoid: sigmoidTable() };
}

const hex8 = (v: number): string => v.toString(16).padStart(8, '0');
const fixed4 = (v: number): string => v.toFixed(4);

/** fraud-model.ts's text. */
export function modelSource(model: Model, figures: { aucTrain: number; aucHoldout: number; samples: number; fraudRate: number }): string {
  const version = hex8(versionOf(model));
  const rows: string[] = [];
  for (let i = 0; i < SIGMOID_POINTS; i += 12) rows.push('  ' + model.sigmoid.slice(i, i + 12).join(', ') + ',');
  return `// services/compliance/assembly/fraud-model.ts: GENERATED by scripts/fraud/train.ts
// (node --import tsx scripts/fraud/train.ts, or make fraud-train); do not edit:
// train again instead. The fraud model's parameters, read by fraud.ts (and by
// test/assembly/fraud-lib.ts, whose test hashes them again); see
// docs/compliance-fraud.md. Seed ${SEED}, ${ACCOUNTS} synthetic accounts,
// ${figures.samples} payments (${(figures.fraudRate * 100).toFixed(2)}% planted fraud), 70/30 by account.
// ROC-AUC of this integer model: held-out ${fixed4(figures.aucHoldout)}, training ${fixed4(figures.aucTrain)}.
// Version 0x${version}: the first 4 bytes (big-endian) of the SHA-256 of the
// parameters as serialise() in the script writes them.

/** The model's version, reported with each score. */
export const MODEL_VERSION: u32 = 0x${version};
/** The terms the weights multiply (fraud.ts terms()). */
export const MODEL_TERMS: u32 = ${TERMS};
/** Weights and bias are Q${WEIGHT_SHIFT}: the logit times 2^${WEIGHT_SHIFT}. */
export const MODEL_BIAS_Q16: i32 = ${model.bias};
export const MODEL_WEIGHTS_Q16: StaticArray<i32> = [
${model.weights.map((w, i) => `  ${w}, // ${TERM_NAMES[i]}`).join('\n')}
];
/** The sigmoid: SIGMOID_POINTS values in millionths, for logits from SIGMOID_FROM_Q16 in steps of 2^SIGMOID_STEP_SHIFT (Q16). */
export const SIGMOID_POINTS: u32 = ${SIGMOID_POINTS};
export const SIGMOID_FROM_Q16: i32 = ${SIGMOID_FROM_Q16};
export const SIGMOID_STEP_SHIFT: u32 = ${SIGMOID_STEP_SHIFT};
export const SIGMOID_MILLIONTHS: StaticArray<i32> = [
${rows.join('\n')}
];
`;
}

/** Generates, splits, fits, rounds, measures; the model and its figures. */
export function train(): { model: Model; aucTrain: number; aucHoldout: number; samples: number; fraudRate: number } {
  const samples = generate();
  const trainSet = samples.filter((s) => !isHoldout(s.account));
  const holdout = samples.filter((s) => isHoldout(s.account));
  const model = quantise(fit(trainSet.map((s) => terms(s.features)), trainSet.map((s) => s.fraud)));
  const auc = (set: Sample[]): number => rocAuc(set.map((s) => scoreInt(model, s.features)), set.map((s) => s.fraud));
  const fraudRate = samples.filter((s) => s.fraud).length / samples.length;
  return { model, aucTrain: auc(trainSet), aucHoldout: auc(holdout), samples: samples.length, fraudRate };
}

function main(): void {
  const r = train();
  const out = resolve(dirname(fileURLToPath(import.meta.url)), '../../services/compliance/assembly/fraud-model.ts');
  writeFileSync(out, modelSource(r.model, r));
  const round4 = (v: number): number => Math.round(v * 10000) / 10000;
  console.log(JSON.stringify({
    event: 'fraud_model', version: hex8(versionOf(r.model)), auc_train: round4(r.aucTrain), auc_holdout: round4(r.aucHoldout),
    samples: r.samples, fraud_rate: round4(r.fraudRate),
  }));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
