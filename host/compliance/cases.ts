// host/compliance/cases.ts: the compliance service's payment checks, rule
// sets, alerts and their cases, and decisions (services/compliance/protocol.ts
// "payment checks", "alerts and their cases", "Filter") written and read on
// the host side: the requests (check, rules_set, rules_get, alerts_list,
// case_update, decisions_list) and their replies, and the names the API
// gives states, actions, outcomes and reasons. The layouts are the protocol
// file's alone; the JSON of alerts, decisions and rule sets is
// host/gateway/compliance-json.ts.
// A refusal is thrown as records.ts's ComplianceRefusal.

import * as P from '../../services/compliance/protocol.ts';
import { ComplianceRefusal, isNormalized, RecordError } from './records.ts';
import { getU128, ruleSetAt, ruleSetRecord, type RuleSet } from './rules.ts';

/** The case states, actions, outcomes and close reasons by name (the API's words; one table each). */
export const CASE_STATES: Record<string, number> = { open: P.CASE_OPEN, assigned: P.CASE_ASSIGNED, escalated: P.CASE_ESCALATED, closed: P.CASE_CLOSED };
export const ACTIONS: Record<string, number> = { allow: P.ACTION_ALLOW, hold: P.ACTION_HOLD, refuse: P.ACTION_REFUSE };
export const OUTCOMES: Record<string, number> = { release: P.OUTCOME_RELEASE, reject: P.OUTCOME_REJECT, noted: P.OUTCOME_NOTED };
export const CLOSE_REASONS: Record<string, number> = {
  false_positive: P.CLOSE_FALSE_POSITIVE, explained: P.CLOSE_EXPLAINED, confirmed: P.CLOSE_CONFIRMED, other: P.CLOSE_OTHER,
};
export const CASE_ACTIONS: Record<string, number> = { assign: P.CASE_ACT_ASSIGN, escalate: P.CASE_ACT_ESCALATE, close: P.CASE_ACT_CLOSE };
export const PARTIES: Record<string, number> = { debtor: P.PARTY_DEBTOR, creditor: P.PARTY_CREDITOR };

/** The name of `code` in one of the tables above; null for 0 (none), its number for a code the table lacks. */
export function nameOf(table: Record<string, number>, code: number): string | null {
  if (code === 0) return null;
  return Object.keys(table).find((k) => table[k] === code) ?? String(code);
}

const ASSIGNEE = /^[\x20-\x7e]*$/;

function header(op: number, count: number): Buffer {
  const b = Buffer.alloc(P.HEADER_BYTES);
  b[P.HEADER_OP] = op;
  b.writeUInt32LE(count, P.HEADER_COUNT);
  return b;
}

function putU128(b: Buffer, at: number, v: bigint, what: string): void {
  if (v < 0n || v >> 128n !== 0n) throw new RecordError(`${what}: ${v} is not a u128`);
  b.writeBigUInt64LE(v & 0xffffffffffffffffn, at);
  b.writeBigUInt64LE(v >> 64n, at + 8);
}

/** Throws ComplianceRefusal when the reply is a refusal; else the reply as a Buffer of `count` records of `bytes` after the header. */
function records(reply: Uint8Array, bytes: number, what: string): { b: Buffer; count: number } {
  const b = Buffer.from(reply);
  if (b.length < P.REPLY_HEADER_BYTES) throw new RecordError(`${what}: a reply shorter than its header`);
  if ((b.readUInt32LE(4) & P.REPLY_F_REFUSED) !== 0) throw new ComplianceRefusal(b.readUInt32LE(P.REPLY_REFUSED), b.toString('latin1', P.REPLY_HEADER_BYTES));
  const count = b.readUInt32LE(0);
  if (b.length !== P.REPLY_HEADER_BYTES + count * bytes) throw new RecordError(`${what} reply of ${b.length} bytes for ${count} records`);
  return { b, count };
}

// ---- rule sets ----

/** rules_set: replaces every rule set with `sets` (1..RULE_SETS_MAX, ledgers distinct). */
export function rulesSetRequest(sets: readonly RuleSet[]): Buffer {
  if (sets.length === 0 || sets.length > P.RULE_SETS_MAX) throw new RecordError(`rules_set: ${sets.length} rule sets, 1..${P.RULE_SETS_MAX}`);
  if (new Set(sets.map((s) => s.ledger)).size !== sets.length) throw new RecordError('rules_set: a ledger given twice');
  return Buffer.concat([header(P.Op.rules_set, sets.length), ...sets.map(ruleSetRecord)]);
}

/** rules_set's reply: the new rules version. */
export function rulesSetReply(reply: Uint8Array): bigint {
  const { b, count } = records(reply, P.RULES_BYTES, 'rules_set');
  if (count !== 0) throw new RecordError(`rules_set reply with ${count} records`);
  return b.readBigUInt64LE(8);
}

export function rulesGetRequest(): Buffer {
  return header(P.Op.rules_get, 0);
}

/** rules_get's reply: the rules version and the rule sets, by ledger. */
export function rulesGetReply(reply: Uint8Array): { version: bigint; sets: RuleSet[] } {
  const { b, count } = records(reply, P.RULES_BYTES, 'rules_get');
  if (count > P.RULE_SETS_MAX) throw new RecordError(`rules_get reply with ${count} rule sets`);
  return { version: b.readBigUInt64LE(8), sets: Array.from({ length: count }, (_, i) => ruleSetAt(b, P.REPLY_HEADER_BYTES + i * P.RULES_BYTES)) };
}

// ---- filters: alerts_list and decisions_list ----

export interface Filter {
  /** Ids (alerts) or sequence numbers (decisions) greater than this. */
  after: bigint;
  /** Logical ns, inclusive; 0: any. */
  from: bigint;
  to: bigint;
  /** 1..LIST_MAX. */
  limit: number;
  /** Alerts: CASE_*; decisions: ACTION_*; 0: any. */
  state: number;
  /** 0: any. */
  ledger: number;
}

function filterRecord(f: Filter, what: string): Buffer {
  const b = Buffer.alloc(P.FILTER_BYTES);
  for (const [k, v] of [['after', f.after], ['from', f.from], ['to', f.to]] as const) {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RecordError(`${what}: ${k} ${v} is not a u64`);
  }
  if (!Number.isInteger(f.limit) || f.limit < 1 || f.limit > P.LIST_MAX) throw new RecordError(`${what}: limit ${f.limit}, 1..${P.LIST_MAX}`);
  if (!Number.isInteger(f.state) || f.state < 0 || f.state > 255) throw new RecordError(`${what}: state ${f.state}`);
  if (!Number.isInteger(f.ledger) || f.ledger < 0 || f.ledger > 0xffffffff) throw new RecordError(`${what}: ledger ${f.ledger}`);
  b.writeBigUInt64LE(f.after, P.FILTER_AFTER);
  b.writeBigUInt64LE(f.from, P.FILTER_FROM);
  b.writeBigUInt64LE(f.to, P.FILTER_TO);
  b.writeUInt16LE(f.limit, P.FILTER_LIMIT);
  b[P.FILTER_STATE] = f.state;
  b.writeUInt32LE(f.ledger, P.FILTER_LEDGER);
  return b;
}

export function alertsListRequest(f: Filter): Buffer {
  if (f.state > P.CASE_CLOSED) throw new RecordError(`alerts_list: state ${f.state}`);
  return Buffer.concat([header(P.Op.alerts_list, 1), filterRecord(f, 'alerts_list')]);
}

export function decisionsListRequest(f: Filter): Buffer {
  if (f.state > P.ACTION_REFUSE) throw new RecordError(`decisions_list: action ${f.state}`);
  return Buffer.concat([header(P.Op.decisions_list, 1), filterRecord(f, 'decisions_list')]);
}

// ---- alerts ----

export interface Alert {
  id: number; rules: number; payment: bigint; state: number; action: number; outcome: number; ledger: number;
  raised: bigint; updated: bigint; amount: bigint; debit: bigint; assignee: string; closeReason: number;
  fraudScore: number; sanctionsScore: number; updates: number; decision: bigint;
  /** ORIGIN_PAYMENT (payment set) or ORIGIN_TRANSFER (transfer: the ledger transfer's id). */
  origin: number; transfer: bigint;
}

/** The ALERT_BYTES record at `at` of `b` (a reply, an event's items). */
export function alertAt(b: Buffer, at: number): Alert {
  if (at < 0 || at + P.ALERT_BYTES > b.length) throw new RecordError(`an alert at ${at} of ${b.length} bytes`);
  const n = b[at + P.ALERT_ASSIGNEE_LENGTH];
  if (n > P.ASSIGNEE_MAX) throw new RecordError(`alert: assignee of ${n} bytes`);
  return {
    id: b.readUInt32LE(at + P.ALERT_ID), rules: b.readUInt32LE(at + P.ALERT_RULES), payment: b.readBigUInt64LE(at + P.ALERT_PAYMENT),
    state: b[at + P.ALERT_STATE], action: b[at + P.ALERT_ACTION], outcome: b[at + P.ALERT_OUTCOME], ledger: b.readUInt32LE(at + P.ALERT_LEDGER),
    raised: b.readBigUInt64LE(at + P.ALERT_RAISED), updated: b.readBigUInt64LE(at + P.ALERT_UPDATED), amount: getU128(b, at + P.ALERT_AMOUNT),
    debit: getU128(b, at + P.ALERT_DEBIT), assignee: b.toString('latin1', at + P.ALERT_ASSIGNEE, at + P.ALERT_ASSIGNEE + n),
    closeReason: b.readUInt32LE(at + P.ALERT_CLOSE_REASON), fraudScore: b.readUInt32LE(at + P.ALERT_FRAUD_SCORE),
    sanctionsScore: b.readUInt32LE(at + P.ALERT_SANCTIONS_SCORE), updates: b.readUInt32LE(at + P.ALERT_UPDATES),
    decision: b.readBigUInt64LE(at + P.ALERT_DECISION), origin: b[at + P.ALERT_ORIGIN], transfer: getU128(b, at + P.ALERT_TRANSFER),
  };
}

/** alerts_list's reply: the matching alerts and the last alert id looked at (the next page's `after`). */
export function alertsListReply(reply: Uint8Array): { last: bigint; alerts: Alert[] } {
  const { b, count } = records(reply, P.ALERT_BYTES, 'alerts_list');
  if (count > P.LIST_MAX) throw new RecordError(`alerts_list reply with ${count} alerts`);
  return { last: b.readBigUInt64LE(8), alerts: Array.from({ length: count }, (_, i) => alertAt(b, P.REPLY_HEADER_BYTES + i * P.ALERT_BYTES)) };
}

// ---- case updates ----

export interface CaseUpdate {
  alert: number;
  /** CASE_ACT_*. */
  action: number;
  /** close: OUTCOME_*; else 0. */
  outcome: number;
  /** close: CLOSE_*; else 0. */
  reason: number;
  /** assign: 1..ASSIGNEE_MAX printable ASCII; escalate: optional; close: none. */
  assignee: string;
}

export function caseUpdateRequest(u: CaseUpdate): Buffer {
  const b = Buffer.alloc(P.CASE_BYTES);
  if (!Number.isInteger(u.alert) || u.alert < 1 || u.alert > 0xffffffff) throw new RecordError(`case_update: alert ${u.alert}`);
  if (u.action < P.CASE_ACT_ASSIGN || u.action > P.CASE_ACT_CLOSE) throw new RecordError(`case_update: action ${u.action}`);
  if (u.assignee.length > P.ASSIGNEE_MAX || !ASSIGNEE.test(u.assignee)) throw new RecordError('case_update: the assignee is printable ASCII of 1..32 characters');
  if (u.action === P.CASE_ACT_ASSIGN && u.assignee === '') throw new RecordError('case_update: assign names an assignee');
  const close = u.action === P.CASE_ACT_CLOSE;
  if (close !== (u.outcome !== 0) || close !== (u.reason !== 0) || (close && u.assignee !== '')) {
    throw new RecordError('case_update: a close has an outcome and a reason and no assignee; the others neither outcome nor reason');
  }
  b.writeUInt32LE(u.alert, P.CASE_ALERT);
  b[P.CASE_ACTION] = u.action;
  b[P.CASE_OUTCOME] = u.outcome;
  b[P.CASE_ASSIGNEE_LENGTH] = u.assignee.length;
  b.writeUInt32LE(u.reason, P.CASE_REASON);
  b.write(u.assignee, P.CASE_ASSIGNEE, 'latin1');
  return Buffer.concat([header(P.Op.case_update, 1), b]);
}

/** case_update's reply: the alert after the update; `changed` false when it was the same close again (REPLY_F_REPEATED). */
export function caseUpdateReply(reply: Uint8Array): { alert: Alert; changed: boolean; repeated: boolean } {
  const { b, count } = records(reply, P.ALERT_BYTES, 'case_update');
  if (count !== 1) throw new RecordError(`case_update reply with ${count} alerts`);
  return { alert: alertAt(b, P.REPLY_HEADER_BYTES), changed: b.readBigUInt64LE(8) === 1n, repeated: (b.readUInt32LE(4) & P.REPLY_F_REPEATED) !== 0 };
}

// ---- decisions ----

export interface Decision {
  payment: bigint; action: number; party: number; list: number; rules: number; decidedBy: number; alert: number;
  fraudScore: number; model: string; sanctionsScore: number; entityId: string; ofacVersion: string; unVersion: string;
  rulesVersion: number; ledger: number; time: bigint; amount: bigint; debit: bigint; sequence: bigint;
  /** ORIGIN_PAYMENT (payment set) or ORIGIN_TRANSFER (transfer: the ledger transfer's id). */
  origin: number; transfer: bigint;
}

/** Four version bytes as hex in their order (zeros: none). */
function version4(b: Buffer, at: number): string {
  return b.toString('hex', at, at + 4);
}

/** The DECISION_BYTES record at `at` of `b`. */
export function decisionAt(b: Buffer, at: number): Decision {
  if (at < 0 || at + P.DECISION_BYTES > b.length) throw new RecordError(`a decision at ${at} of ${b.length} bytes`);
  const n = b[at + P.DEC_ID_LENGTH];
  if (n > P.ENTITY_ID_MAX) throw new RecordError(`decision: entity id of ${n} bytes`);
  return {
    payment: b.readBigUInt64LE(at + P.DEC_PAYMENT), action: b[at + P.DEC_ACTION], party: b[at + P.DEC_PARTY], list: b[at + P.DEC_LIST],
    rules: b.readUInt32LE(at + P.DEC_RULES), decidedBy: b.readUInt32LE(at + P.DEC_DECIDED_BY), alert: b.readUInt32LE(at + P.DEC_ALERT),
    fraudScore: b.readUInt32LE(at + P.DEC_FRAUD_SCORE), model: version4(b, at + P.DEC_MODEL), sanctionsScore: b.readUInt32LE(at + P.DEC_SANCTIONS_SCORE),
    entityId: b.toString('latin1', at + P.DEC_ENTITY_ID, at + P.DEC_ENTITY_ID + n), ofacVersion: version4(b, at + P.DEC_OFAC_VERSION),
    unVersion: version4(b, at + P.DEC_UN_VERSION), rulesVersion: b.readUInt32LE(at + P.DEC_RULES_VERSION), ledger: b.readUInt32LE(at + P.DEC_LEDGER),
    time: b.readBigUInt64LE(at + P.DEC_TIME), amount: getU128(b, at + P.DEC_AMOUNT), debit: getU128(b, at + P.DEC_DEBIT),
    sequence: b.readBigUInt64LE(at + P.DEC_SEQUENCE), origin: b[at + P.DEC_ORIGIN], transfer: getU128(b, at + P.DEC_TRANSFER),
  };
}

/** decisions_list's reply: the matching decisions and the last sequence number looked at. */
export function decisionsListReply(reply: Uint8Array): { last: bigint; decisions: Decision[] } {
  const { b, count } = records(reply, P.DECISION_BYTES, 'decisions_list');
  if (count > P.LIST_MAX) throw new RecordError(`decisions_list reply with ${count} decisions`);
  return { last: b.readBigUInt64LE(8), decisions: Array.from({ length: count }, (_, i) => decisionAt(b, P.REPLY_HEADER_BYTES + i * P.DECISION_BYTES)) };
}

// ---- checks (the payments service sends them; the host builds them for tests) ----

export interface Check {
  payment: bigint; ledger: number; source: number; amount: bigint; debit: bigint; credit: bigint;
  debitCustomer: boolean; creditCustomer: boolean;
  debtorCountry?: string; creditorCountry?: string;
  /** Normalised names (host/compliance/names.ts); '' or absent: none. */
  debtorName?: string; creditorName?: string;
  customer?: string;
}

function checkRecord(c: Check): Buffer {
  const b = Buffer.alloc(P.CHECK_BYTES);
  b.writeBigUInt64LE(c.payment, P.CHECK_PAYMENT);
  b.writeUInt32LE(c.ledger, P.CHECK_LEDGER);
  b[P.CHECK_SOURCE] = c.source;
  b[P.CHECK_FLAGS] = (c.debitCustomer ? P.CHECK_F_DEBIT_CUSTOMER : 0) | (c.creditCustomer ? P.CHECK_F_CREDIT_CUSTOMER : 0);
  putU128(b, P.CHECK_AMOUNT, c.amount, 'check amount');
  putU128(b, P.CHECK_DEBIT, c.debit, 'check debit');
  putU128(b, P.CHECK_CREDIT, c.credit, 'check credit');
  for (const [text, at] of [[c.debtorCountry, P.CHECK_DEBTOR_COUNTRY], [c.creditorCountry, P.CHECK_CREDITOR_COUNTRY]] as const) {
    if (text === undefined) continue;
    if (!/^[A-Z]{2}$/.test(text)) throw new RecordError(`check: country ${JSON.stringify(text)}`);
    b.write(text, at, 'latin1');
  }
  for (const [text, at, len] of [[c.debtorName, P.CHECK_DEBTOR_NAME, P.CHECK_DEBTOR_LENGTH], [c.creditorName, P.CHECK_CREDITOR_NAME, P.CHECK_CREDITOR_LENGTH]] as const) {
    const name = text ?? '';
    if (name !== '' && !isNormalized(name)) throw new RecordError(`check: name ${JSON.stringify(name)}`);
    b[len] = name.length;
    b.write(name, at, 'latin1');
  }
  const customer = c.customer ?? '';
  if (customer.length > P.CUSTOMER_MAX || !ASSIGNEE.test(customer)) throw new RecordError(`check: customer ${JSON.stringify(customer)}`);
  b[P.CHECK_CUSTOMER] = customer.length;
  b.write(customer, P.CHECK_CUSTOMER + 1, 'latin1');
  return b;
}

/** check: 1..CHECKS_PER_REQUEST payments to decide, in order. */
export function checkRequest(checks: readonly Check[]): Buffer {
  if (checks.length === 0 || checks.length > P.CHECKS_PER_REQUEST) throw new RecordError(`check: ${checks.length} checks, 1..${P.CHECKS_PER_REQUEST}`);
  return Buffer.concat([header(P.Op.check, checks.length), ...checks.map(checkRecord)]);
}

/** check's reply: one decision per check, in order. */
export function checkReply(reply: Uint8Array): Decision[] {
  const { b, count } = records(reply, P.DECISION_BYTES, 'check');
  return Array.from({ length: count }, (_, i) => decisionAt(b, P.REPLY_HEADER_BYTES + i * P.DECISION_BYTES));
}

// ---- account owners screened (accounts_screen) ----

export interface Owner { ledger: number; account: bigint; name: string }
export interface Screened { score: number; list: number; entityId: string; changed: boolean; alert: number }

/** accounts_screen: each owner's normalised name (host/compliance/names.ts partyName), 1..OWNERS_PER_REQUEST. */
export function accountsScreenRequest(owners: readonly Owner[]): Buffer {
  if (owners.length === 0 || owners.length > P.OWNERS_PER_REQUEST) throw new RecordError(`${owners.length} owners: 1 to ${P.OWNERS_PER_REQUEST}`);
  const b = Buffer.concat([header(P.Op.accounts_screen, owners.length), Buffer.alloc(owners.length * P.OWNER_BYTES)]);
  owners.forEach((o, i) => {
    const at = P.HEADER_BYTES + i * P.OWNER_BYTES;
    if (!isNormalized(o.name)) throw new RecordError(`owner ${i + 1}: not a normalised name`);
    if (!Number.isInteger(o.ledger) || o.ledger < 1 || o.ledger > 0xffffffff) throw new RecordError(`owner ${i + 1}: ledger ${o.ledger}`);
    b.writeUInt32LE(o.ledger, at + P.OWNER_LEDGER);
    b[at + P.OWNER_NAME_LENGTH] = o.name.length;
    putU128(b, at + P.OWNER_ACCOUNT, o.account, `owner ${i + 1}: account`);
    b.write(o.name, at + P.OWNER_NAME, 'latin1');
  });
  return b;
}

export function accountsScreenReply(reply: Uint8Array): { matches: number; results: Screened[] } {
  const { b, count } = records(reply, P.SCREENED_BYTES, 'accounts_screen');
  return {
    matches: Number(b.readBigUInt64LE(8)),
    results: Array.from({ length: count }, (_, i) => {
      const at = P.REPLY_HEADER_BYTES + i * P.SCREENED_BYTES;
      return {
        score: b.readUInt32LE(at + P.SCREENED_SCORE), list: b[at + P.SCREENED_LIST], changed: b[at + P.SCREENED_CHANGED] === 1,
        entityId: b.toString('latin1', at + P.SCREENED_ID, at + P.SCREENED_ID + b[at + P.SCREENED_ID_LENGTH]), alert: b.readUInt32LE(at + P.SCREENED_ALERT),
      };
    }),
  };
}
