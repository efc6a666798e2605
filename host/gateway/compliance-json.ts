// host/gateway/compliance-json.ts: the compliance service's rule sets,
// alerts and decisions as the JSON the API shows and takes (the rules, alerts,
// decisions and reports routes, the event stream's alerts, `qenex rules`,
// `qenex cases`), over the records of host/compliance/cases.ts and rules.ts.
//
// A rule set in JSON (docs/compliance.md "Rules"): snake_case keys named as
// the protocol names the fields; amounts are decimal strings in the ledger's
// currency units at its asset scale (the gateway's ledgers, as every route
// converts them: never a float, never rounded); scores are 0..1 (a number
// or a decimal string, at most six decimal places) kept as millionths;
// counts, windows and basis points are integers. A key left out is 0 (the
// rule or limit off); an unknown key, a wrong type or a value out of range
// is refused with its own code, and nothing is set.

import * as P from '../../services/compliance/protocol.ts';
import { JsonNumber, isJsonObject, type JsonValue } from './json.ts';
import { LedgerJsonError, amountFromDecimal, decimalFromMinor } from './ledger-json.ts';
import { LIST_NAMES } from '../compliance/import.ts';
import {
  AMOUNT_FIELDS, COUNT_FIELDS, COUNTRY, HOLDABLE, POSITION_MAX_MAX, RULE_NAMES, RULE_SET_KEYS, SCORE_FIELDS, ruleBit, ruleNames,
  type AmountKey, type CountKey, type RuleSet, type ScoreKey,
} from '../compliance/rules.ts';
import { ACTIONS, CASE_STATES, CLOSE_REASONS, nameOf, OUTCOMES, PARTIES, type Alert, type Decision } from '../compliance/cases.ts';

/** A score in millionths as the JSON number it is (0.85, 1): the shortest text that reads back to the same millionths. */
export function scoreNumber(millionths: number): number {
  return millionths / P.SCORE_ONE;
}

const SCORE_TEXT = /^(0|1)?(\.[0-9]{1,6})?$/;
const INTEGER_TEXT = /^(0|[1-9][0-9]{0,9})$/;

function refuse(code: string, message: string): never {
  throw new LedgerJsonError(code, message);
}

/** A score 0..1 (a JSON number or a decimal string, at most six places) as millionths, exactly. */
export function scoreMillionths(value: JsonValue | undefined, where: string): number {
  const text = value instanceof JsonNumber ? value.text : typeof value === 'string' ? value : null;
  if (text === null || text === '' || text === '.' || !SCORE_TEXT.test(text)) {
    refuse('invalid_field', `${where}: a score from 0 to 1 with at most six decimal places (a number or a decimal string)`);
  }
  const [whole, fraction = ''] = text.split('.');
  const millionths = Number(whole || '0') * P.SCORE_ONE + Number(fraction.padEnd(6, '0'));
  if (millionths > P.SCORE_ONE) refuse('out_of_range', `${where}: ${text} is over 1`);
  return millionths;
}

function integer(value: JsonValue | undefined, where: string, max: number): number {
  if (!(value instanceof JsonNumber) || !INTEGER_TEXT.test(value.text)) refuse('invalid_field', `${where}: a whole number`);
  const n = Number(value.text);
  if (n > max) refuse('out_of_range', `${where}: ${n} is over ${max}`);
  return n;
}

/** A count of lots up to POSITION_MAX_MAX: a whole JSON number or a decimal string (past 2^53 a string keeps it exact for every reader). */
function lots(value: JsonValue | undefined, where: string): bigint {
  const text = value instanceof JsonNumber ? value.text : typeof value === 'string' ? value : '';
  if (!/^(0|[1-9][0-9]{0,18})$/.test(text)) refuse('invalid_field', `${where}: a whole number of lots (a number or a decimal string)`);
  const n = BigInt(text);
  if (n > POSITION_MAX_MAX) refuse('out_of_range', `${where}: ${text} is over 2^63-1`);
  return n;
}

function holdMask(value: JsonValue | undefined, where: string): number {
  if (!Array.isArray(value)) refuse('invalid_field', `${where}: an array of rule names`);
  let mask = 0;
  value.forEach((v, i) => {
    const bit = typeof v === 'string' ? ruleBit(v) : undefined;
    if (bit === undefined) refuse('unknown_rule', `${where}[${i}]: ${JSON.stringify(v).slice(0, 40)} is not a rule (${RULE_NAMES.map(([, n]) => n).join(', ')})`);
    if ((bit & HOLDABLE) === 0) refuse('invalid_field', `${where}[${i}]: ${v as string} does not hold (limits refuse; capacity always holds)`);
    if ((mask & bit) !== 0) refuse('invalid_field', `${where}[${i}]: ${v as string} is given twice`);
    mask |= bit;
  });
  return mask;
}

function countries(value: JsonValue | undefined, where: string): string[] {
  if (!Array.isArray(value)) refuse('invalid_field', `${where}: an array of ISO 3166 alpha-2 codes`);
  if (value.length > P.HIGH_RISK_MAX) refuse('out_of_range', `${where}: ${value.length} countries, at most ${P.HIGH_RISK_MAX}`);
  const out: string[] = [];
  value.forEach((v, i) => {
    if (typeof v !== 'string' || !COUNTRY.test(v)) refuse('invalid_field', `${where}[${i}]: an ISO 3166 alpha-2 code in upper case ("IR")`);
    if (out.includes(v)) refuse('invalid_field', `${where}[${i}]: ${v} is given twice`);
    out.push(v);
  });
  return out;
}

/**
 * One rule set from its JSON, strictly. `scaleOf` gives a ledger's asset
 * scale (undefined: the gateway has no such ledger, refused unknown_ledger).
 */
export function ruleSetFromJson(value: JsonValue | undefined, where: string, scaleOf: (ledger: number) => number | undefined): RuleSet {
  if (!isJsonObject(value)) refuse('invalid_field', `${where}: an object`);
  for (const k of value.keys()) if (!RULE_SET_KEYS.includes(k)) refuse('unknown_field', `${where}.${k.slice(0, 40)}: not a rule set key (${RULE_SET_KEYS.join(', ')})`);
  const ledger = integer(value.get('ledger'), `${where}.ledger`, 0xffffffff);
  if (ledger === 0) refuse('out_of_range', `${where}.ledger: ledger 0 is no ledger`);
  const scale = scaleOf(ledger);
  if (scale === undefined) refuse('unknown_ledger', `${where}.ledger: ${ledger} is not one of the gateway's ledgers`);
  const amounts = {} as Record<AmountKey, bigint>;
  for (const k of Object.keys(AMOUNT_FIELDS) as AmountKey[]) {
    const v = value.get(k);
    if (v !== undefined && typeof v !== 'string') refuse('invalid_field', `${where}.${k}: a decimal string such as "10000.00"`);
    amounts[k] = v === undefined ? 0n : amountFromDecimal(v, scale, `${where}.${k}`);
  }
  const counts = {} as Record<CountKey, number>;
  for (const [k, [, max]] of Object.entries(COUNT_FIELDS) as [CountKey, readonly [number, number]][]) {
    counts[k] = value.has(k) ? integer(value.get(k), `${where}.${k}`, max) : 0;
  }
  const scores = {} as Record<ScoreKey, number>;
  for (const k of Object.keys(SCORE_FIELDS) as ScoreKey[]) scores[k] = value.has(k) ? scoreMillionths(value.get(k), `${where}.${k}`) : 0;
  for (const [hold, refuseAt] of [['fraud_hold', 'fraud_refuse'], ['screen_hold', 'screen_refuse']] as const) {
    if (scores[hold] !== 0 && scores[refuseAt] !== 0 && scores[refuseAt] < scores[hold]) {
      refuse('out_of_range', `${where}.${refuseAt}: below ${hold} (a score that refuses must be at least the one that holds)`);
    }
  }
  const hold = value.has('hold') ? holdMask(value.get('hold'), `${where}.hold`) : 0;
  const highRiskCountries = value.has('high_risk_countries') ? countries(value.get('high_risk_countries'), `${where}.high_risk_countries`) : [];
  const positionMax = value.has('position_max') ? lots(value.get('position_max'), `${where}.position_max`) : 0n;
  const transfers = value.get('transfers') ?? false;
  if (typeof transfers !== 'boolean') refuse('invalid_field', `${where}.transfers: true or false`);
  return { ledger, holdMask: hold, amounts, counts, scores, highRiskCountries, positionMax, transfers };
}

/** The body of PUT /v1/compliance/rules (and a `qenex rules set` file): {"rules":[…]}, 1..RULE_SETS_MAX sets, ledgers distinct. */
export function ruleSetsFromJson(value: JsonValue, scaleOf: (ledger: number) => number | undefined): RuleSet[] {
  if (!isJsonObject(value)) refuse('invalid_field', 'body: an object {"rules":[…]}');
  for (const k of value.keys()) if (k !== 'rules') refuse('unknown_field', `body.${k.slice(0, 40)}: not a field (rules)`);
  const list = value.get('rules');
  if (!Array.isArray(list)) refuse('invalid_field', 'body.rules: an array of rule sets');
  if (list.length === 0 || list.length > P.RULE_SETS_MAX) refuse('out_of_range', `body.rules: ${list.length} rule sets, 1..${P.RULE_SETS_MAX}`);
  const sets = list.map((v, i) => ruleSetFromJson(v, `body.rules[${i}]`, scaleOf));
  sets.forEach((s, i) => {
    if (sets.findIndex((o) => o.ledger === s.ledger) !== i) refuse('duplicate_ledger', `body.rules[${i}].ledger: ledger ${s.ledger} has a rule set already`);
  });
  return sets;
}

/**
 * A rule set as JSON, every key present (the shape ruleSetFromJson reads).
 * A ledger the gateway has no scale for shows its amounts in minor units.
 */
export function ruleSetJson(s: RuleSet, scale: number | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ledger: s.ledger, hold: ruleNames(s.holdMask) };
  for (const k of Object.keys(AMOUNT_FIELDS) as AmountKey[]) out[k] = decimalFromMinor(s.amounts[k], scale ?? 0);
  for (const k of Object.keys(COUNT_FIELDS) as CountKey[]) out[k] = s.counts[k];
  for (const k of Object.keys(SCORE_FIELDS) as ScoreKey[]) out[k] = scoreNumber(s.scores[k]);
  out.high_risk_countries = [...s.highRiskCountries];
  out.position_max = s.positionMax.toString();
  out.transfers = s.transfers;
  return out;
}

// ---- alerts and decisions ----

/** A ledger's asset scale, when the gateway knows it (amounts are then decimal strings in its units, else minor units). */
export type ScaleOf = (ledger: number) => number | undefined;

/** The ledger transfer an alert or decision is about (the gateway's transfer_checks), or null for a payment's. */
function transferId(r: { origin: number; transfer: bigint }): string | null {
  return r.origin === P.ORIGIN_TRANSFER ? r.transfer.toString() : null;
}

/** An alert as JSON (GET /v1/compliance/alerts, the event stream, reports). */
export function alertJson(a: Alert, scaleOf: ScaleOf): Record<string, unknown> {
  return {
    id: a.id, rules: ruleNames(a.rules), payment_id: a.payment === 0n ? null : a.payment.toString(), transfer_id: transferId(a), state: nameOf(CASE_STATES, a.state), action: nameOf(ACTIONS, a.action),
    outcome: nameOf(OUTCOMES, a.outcome), assignee: a.assignee === '' ? null : a.assignee, ledger: a.ledger,
    raised_ns: a.raised.toString(), updated_ns: a.updated.toString(), amount: decimalFromMinor(a.amount, scaleOf(a.ledger) ?? 0),
    debit_account: a.debit.toString(), close_reason: nameOf(CLOSE_REASONS, a.closeReason), fraud_score: scoreNumber(a.fraudScore),
    sanctions_score: scoreNumber(a.sanctionsScore), updates: a.updates, decision: a.decision.toString(),
  };
}

/** A decision as JSON (GET /v1/compliance/decisions, reports). Versions are their four bytes in hex (null: none in force). */
export function decisionJson(d: Decision, scaleOf: ScaleOf): Record<string, unknown> {
  const none = (v: string) => (v === '00000000' ? null : v);
  return {
    sequence: d.sequence.toString(), payment_id: d.payment === 0n ? null : d.payment.toString(), transfer_id: transferId(d), action: nameOf(ACTIONS, d.action), rules: ruleNames(d.rules),
    decided_by: d.decidedBy === 0 ? null : ruleNames(d.decidedBy)[0], alert_id: d.alert === 0 ? null : d.alert,
    fraud_score: scoreNumber(d.fraudScore), fraud_model: d.model,
    sanctions: {
      score: scoreNumber(d.sanctionsScore), list: d.list === 0 ? null : LIST_NAMES[d.list] ?? String(d.list),
      entity_id: d.entityId === '' ? null : d.entityId, party: nameOf(PARTIES, d.party),
    },
    list_versions: { ofac_sdn: none(d.ofacVersion), un: none(d.unVersion) }, rules_version: d.rulesVersion, ledger: d.ledger,
    time_ns: d.time.toString(), amount: decimalFromMinor(d.amount, scaleOf(d.ledger) ?? 0), debit_account: d.debit.toString(),
  };
}
