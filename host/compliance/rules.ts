// host/compliance/rules.ts: the monitoring rules and limits of the compliance
// service (services/compliance/protocol.ts "Rule set", RULES_BYTES) as the
// host keeps them (RuleSet: amounts in minor units, scores in millionths),
// their records, and the one table of rule names (RULE_* bit ↔ name) every
// alert, decision and rule set uses. Their JSON (the API, `qenex rules`, the
// manifest's "rules") is host/gateway/compliance-json.ts.

import * as P from '../../services/compliance/protocol.ts';
import { RecordError } from './records.ts';

/** The rule names, one per RULE_* bit, in bit order: the one table alerts, decisions and rule sets use. */
export const RULE_NAMES: readonly (readonly [number, string])[] = [
  [P.RULE_SANCTIONS, 'sanctions'], [P.RULE_AMOUNT, 'amount'], [P.RULE_VELOCITY, 'velocity'], [P.RULE_STRUCTURING, 'structuring'],
  [P.RULE_RAPID, 'rapid_in_out'], [P.RULE_DORMANT, 'dormant'], [P.RULE_HIGH_RISK, 'high_risk_country'], [P.RULE_FRAUD, 'fraud'],
  [P.RULE_PAYMENT_MAX, 'payment_max'], [P.RULE_ACCOUNT_DAILY, 'account_daily'], [P.RULE_CUSTOMER_DAILY, 'customer_daily'],
  [P.RULE_COUNTERPARTY, 'counterparty'], [P.RULE_CAPACITY, 'capacity'], [P.RULE_ORDER_VALUE, 'order_value'], [P.RULE_POSITION, 'position'],
  [P.RULE_PRICE_BAND, 'price_band'],
];
const RULE_BITS = new Map(RULE_NAMES.map(([bit, name]) => [name, bit]));
// The rules a rule set may make hold: the monitoring rules (the limits always refuse, capacity always holds,
// the pre-trade checks only answer the trading engine).
export const HOLDABLE = P.RULE_SANCTIONS | P.RULE_AMOUNT | P.RULE_VELOCITY | P.RULE_STRUCTURING | P.RULE_RAPID | P.RULE_DORMANT
  | P.RULE_HIGH_RISK | P.RULE_FRAUD;

/** The names of the rules whose bits `mask` has, in bit order (a bit no rule has is named by its number). */
export function ruleNames(mask: number): string[] {
  const out: string[] = [];
  for (let bit = 1; bit <= 0x80000000 && bit > 0; bit *= 2) {
    if ((mask & bit) === 0) continue;
    out.push(RULE_NAMES.find(([b]) => b === bit)?.[1] ?? String(bit));
  }
  return out;
}

/** The RULE_* bit of a rule name; undefined for no rule. */
export function ruleBit(name: string): number | undefined {
  return RULE_BITS.get(name);
}

/** One rule set, as the service keeps it: amounts in minor units, scores in millionths. */
export interface RuleSet {
  ledger: number;
  holdMask: number;
  amounts: Record<AmountKey, bigint>;
  counts: Record<CountKey, number>;
  scores: Record<ScoreKey, number>;
  highRiskCountries: string[];
  /** Pre-trade: the largest position, long or short, in lots (0: off). */
  positionMax: bigint;
  /** The ledger's own create_transfers are checked too (RULES_F_TRANSFERS; the gateway's transfer_checks). */
  transfers: boolean;
}

// Each JSON key and the field it is, by kind; the order is the JSON's.
export const AMOUNT_FIELDS = {
  amount_threshold: P.RULES_AMOUNT_THRESHOLD, payment_max: P.RULES_PAYMENT_MAX, account_daily_max: P.RULES_ACCOUNT_DAILY,
  customer_daily_max: P.RULES_CUSTOMER_DAILY, counterparty_daily_max: P.RULES_COUNTERPARTY_DAILY, velocity_sum: P.RULES_VELOCITY_SUM,
  structuring_threshold: P.RULES_STRUCTURING_THRESHOLD, dormant_amount: P.RULES_DORMANT_AMOUNT, order_value_max: P.RULES_ORDER_VALUE_MAX,
} as const;
// Integers, each with its largest value (basis points are at most 100 %).
export const COUNT_FIELDS = {
  velocity_count: [P.RULES_VELOCITY_COUNT, 0xffffffff], velocity_window_s: [P.RULES_VELOCITY_WINDOW, 0xffffffff],
  structuring_margin_bps: [P.RULES_STRUCTURING_MARGIN, 10000], structuring_count: [P.RULES_STRUCTURING_COUNT, 0xffffffff],
  structuring_window_s: [P.RULES_STRUCTURING_WINDOW, 0xffffffff], rapid_window_s: [P.RULES_RAPID_WINDOW, 0xffffffff],
  rapid_ratio_bps: [P.RULES_RAPID_RATIO, 10000], dormant_days: [P.RULES_DORMANT_DAYS, 0xffffffff],
  // A price band may be wider than the price itself (a volatile instrument): the service takes up to 10,000 %.
  price_band_bps: [P.RULES_PRICE_BAND, 1000000],
} as const;
// position_max: lots, long or short; a u64 the service takes up to 2^63-1 (a position is signed).
export const POSITION_MAX_MAX = (1n << 63n) - 1n;
export const SCORE_FIELDS = {
  fraud_hold: P.RULES_FRAUD_HOLD, fraud_refuse: P.RULES_FRAUD_REFUSE, screen_hold: P.RULES_SCREEN_HOLD, screen_refuse: P.RULES_SCREEN_REFUSE,
} as const;
export type AmountKey = keyof typeof AMOUNT_FIELDS;
export type CountKey = keyof typeof COUNT_FIELDS;
export type ScoreKey = keyof typeof SCORE_FIELDS;

/** Every key a rule set's JSON may have. */
export const RULE_SET_KEYS: readonly string[] = [
  'ledger', 'hold', ...Object.keys(AMOUNT_FIELDS), ...Object.keys(COUNT_FIELDS), ...Object.keys(SCORE_FIELDS), 'high_risk_countries', 'position_max', 'transfers',
];

export const COUNTRY = /^[A-Z]{2}$/;

function putU128(b: Buffer, at: number, v: bigint): void {
  if (v < 0n || v >> 128n !== 0n) throw new RecordError(`an amount ${v} that is not a u128`);
  b.writeBigUInt64LE(v & 0xffffffffffffffffn, at);
  b.writeBigUInt64LE(v >> 64n, at + 8);
}

export function getU128(b: Buffer, at: number): bigint {
  return (b.readBigUInt64LE(at + 8) << 64n) | b.readBigUInt64LE(at);
}

/** One RULES_BYTES record. */
export function ruleSetRecord(s: RuleSet): Buffer {
  const b = Buffer.alloc(P.RULES_BYTES);
  if (!Number.isInteger(s.ledger) || s.ledger < 1 || s.ledger > 0xffffffff) throw new RecordError(`rule set: ledger ${s.ledger}`);
  if ((s.holdMask & ~HOLDABLE) !== 0) throw new RecordError(`rule set ${s.ledger}: hold mask ${s.holdMask} names a rule that does not hold`);
  if (s.highRiskCountries.length > P.HIGH_RISK_MAX || !s.highRiskCountries.every((c) => COUNTRY.test(c))) throw new RecordError(`rule set ${s.ledger}: countries`);
  b.writeUInt32LE(s.ledger, P.RULES_LEDGER);
  b.writeUInt32LE(s.holdMask, P.RULES_HOLD_MASK);
  for (const [k, at] of Object.entries(AMOUNT_FIELDS) as [AmountKey, number][]) putU128(b, at, s.amounts[k]);
  for (const [k, [at, max]] of Object.entries(COUNT_FIELDS) as [CountKey, readonly [number, number]][]) {
    if (!Number.isInteger(s.counts[k]) || s.counts[k] < 0 || s.counts[k] > max) throw new RecordError(`rule set ${s.ledger}: ${k} ${s.counts[k]}`);
    b.writeUInt32LE(s.counts[k], at);
  }
  for (const [k, at] of Object.entries(SCORE_FIELDS) as [ScoreKey, number][]) {
    if (!Number.isInteger(s.scores[k]) || s.scores[k] < 0 || s.scores[k] > P.SCORE_ONE) throw new RecordError(`rule set ${s.ledger}: ${k} ${s.scores[k]}`);
    b.writeUInt32LE(s.scores[k], at);
  }
  if (s.positionMax < 0n || s.positionMax > POSITION_MAX_MAX) throw new RecordError(`rule set ${s.ledger}: position_max ${s.positionMax}`);
  b.writeBigUInt64LE(s.positionMax, P.RULES_POSITION_MAX);
  b.writeUInt32LE(s.transfers ? P.RULES_F_TRANSFERS : 0, P.RULES_FLAGS);
  b[P.RULES_HIGH_RISK_COUNT] = s.highRiskCountries.length;
  s.highRiskCountries.forEach((c, i) => b.write(c, P.RULES_HIGH_RISK + 2 * i, 'latin1'));
  return b;
}

/** The RULES_BYTES record at `at` of `b`. */
export function ruleSetAt(b: Buffer, at: number): RuleSet {
  if (at < 0 || at + P.RULES_BYTES > b.length) throw new RecordError(`a rule set at ${at} of ${b.length} bytes`);
  const n = b[at + P.RULES_HIGH_RISK_COUNT];
  if (n > P.HIGH_RISK_MAX) throw new RecordError(`rule set: ${n} high-risk countries`);
  const amounts = {} as Record<AmountKey, bigint>;
  for (const [k, off] of Object.entries(AMOUNT_FIELDS) as [AmountKey, number][]) amounts[k] = getU128(b, at + off);
  const counts = {} as Record<CountKey, number>;
  for (const [k, [off]] of Object.entries(COUNT_FIELDS) as [CountKey, readonly [number, number]][]) counts[k] = b.readUInt32LE(at + off);
  const scores = {} as Record<ScoreKey, number>;
  for (const [k, off] of Object.entries(SCORE_FIELDS) as [ScoreKey, number][]) scores[k] = b.readUInt32LE(at + off);
  return {
    ledger: b.readUInt32LE(at + P.RULES_LEDGER), holdMask: b.readUInt32LE(at + P.RULES_HOLD_MASK), amounts, counts, scores,
    positionMax: b.readBigUInt64LE(at + P.RULES_POSITION_MAX), transfers: (b.readUInt32LE(at + P.RULES_FLAGS) & P.RULES_F_TRANSFERS) !== 0,
    highRiskCountries: Array.from({ length: n }, (_, i) => b.toString('latin1', at + P.RULES_HIGH_RISK + 2 * i, at + P.RULES_HIGH_RISK + 2 * i + 2)),
  };
}
