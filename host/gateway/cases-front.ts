// host/gateway/cases-front.ts: the front end of the compliance routes of
// rules, alerts, cases, decisions and reports (docs/compliance.md "Routes"):
// what a client sends turned into the compliance service's requests
// (host/compliance/cases.ts, rules.ts), and its replies into the answer.
//
//   GET  /v1/compliance/rules          rules_get → {"version","rules":[…]}
//   PUT  /v1/compliance/rules          {"rules":[…]} → rules_set, then rules_get → the same
//   GET  /v1/compliance/alerts?…       alerts_list → {"alerts":[…],"next_after"}
//   GET  /v1/compliance/alerts/{id}    alerts_list of that one → {"alert":{…}}
//   POST /v1/compliance/alerts/{id}    case_update; a close with outcome release or reject then
//                                      sends the payments service hold_release of the alert's
//                                      payment, then reads the payment → {"alert","payment","release"}
//   GET  /v1/compliance/decisions?…    decisions_list → {"decisions":[…],"next_after"}
//   GET  /v1/compliance/reports?…      alerts_list and decisions_list, page after page, then
//                                      signed (host/compliance/report.ts)
//
// A request of several frames is a chain: each next frame is built from the
// reply to the one before (Chain.next), and may go to another route (the
// hold_release goes to the payments service on ROUTE_HOLD_RELEASE). A close
// repeated after a crash between its two frames is answered by the service
// as it stands (REPLY_F_REPEATED) and its hold_release is sent again: the
// payments service answers an already released or rejected payment as it
// is, so the retry completes what the first attempt began.

import * as gw from '../../services/gateway/protocol.ts';
import * as P from '../../services/compliance/protocol.ts';
import { isJsonObject, type JsonValue } from './json.ts';
import { LedgerJsonError, parseUnsignedDecimal } from './ledger-json.ts';
import { paymentJson, type LedgerCurrencies } from './payment-json.ts';
import type { Chain, Frame } from './gateway-wire.ts';
import { holdReleaseRequest, holdReleaseResults, paymentMessagesReply, paymentMessagesRequest, RecordError, type TxResult } from '../payments/records.ts';
import {
  ACTIONS, alertsListReply, alertsListRequest, CASE_ACTIONS, CASE_STATES, caseUpdateReply, caseUpdateRequest, CLOSE_REASONS,
  decisionsListReply, decisionsListRequest, OUTCOMES, rulesGetReply, rulesGetRequest,
  rulesSetRequest, type Alert, type CaseUpdate, type Filter,
} from '../compliance/cases.ts';
import { alertJson, decisionJson, ruleSetJson, ruleSetsFromJson, type ScaleOf } from './compliance-json.ts';
import { REPORT_RECORDS_MAX } from '../base/limits.ts';

export type CasesHandler = 'rules_get' | 'rules_set' | 'alerts_list' | 'alert_get' | 'case_update' | 'decisions_list' | 'reports';

export interface ReportState {
  fromNs: bigint; toNs: bigint; format: 'json' | 'csv';
  kind: 'alerts' | 'decisions'; after: bigint; done: boolean;
  alerts: Record<string, unknown>[]; decisions: Record<string, unknown>[];
}

export interface CasesContext {
  handler: CasesHandler;
  scaleOf: ScaleOf;
  ledgers: LedgerCurrencies;
  /** alert_get, case_update: the path's alert id. */
  alertId?: number;
  /** The lists: the filter's after (next_after is null when the service looked at nothing past it). */
  after?: bigint;
  /** case_update: how far the chain went and what each reply said. */
  stage?: 'case' | 'release' | 'payment';
  alert?: Alert;
  release?: TxResult;
  report?: ReportState;
}

function refuse(code: string, message: string): never {
  throw new LedgerJsonError(code, message);
}

const U64_MAX = (1n << 64n) - 1n;
const LIST_DEFAULT = 100;
const RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$/;

/** A time in a query: logical ns as a decimal, or RFC 3339 (2026-12-07T14:00:00Z, a fraction to the ns, an offset). */
export function timeNs(text: string, where: string): bigint {
  const ns = parseUnsignedDecimal(text, U64_MAX);
  if (ns !== null && /^[0-9]+$/.test(text)) return ns;
  const m = RFC3339.exec(text);
  if (m === null) refuse('invalid_query', `${where}: nanoseconds since 1970 or an RFC 3339 time (2026-12-07T14:00:00Z)`);
  const [, y, mo, d, h, mi, s, fraction = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (Number.isNaN(ms) || check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    refuse('invalid_query', `${where}: ${text.slice(0, 40)} is no such time`);
  }
  const offsetMin = zone.toUpperCase() === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const total = (BigInt(ms) - BigInt(offsetMin) * 60000n) * 1000000n + BigInt(fraction === '' ? 0 : Number(fraction.slice(1).padEnd(9, '0')));
  if (total < 0n || total > U64_MAX) refuse('invalid_query', `${where}: before 1970 or past 2554`);
  return total;
}

/** A query string's parameters, each at most once, only the names `allowed`. */
function queryParams(query: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of query === '' ? [] : query.split('&')) {
    const eq = part.indexOf('=');
    const [name, value] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    if (!allowed.includes(name)) refuse('invalid_query', `${name.slice(0, 32)}: not a parameter (${allowed.join(', ')})`);
    if (out.has(name)) refuse('invalid_query', `${name}: given twice`);
    let decoded: string;
    try {
      decoded = decodeURIComponent(value);
    } catch {
      refuse('invalid_query', `${name}: not a valid percent-encoded value`);
    }
    out.set(name, decoded);
  }
  return out;
}

/**
 * The filter of GET /v1/compliance/alerts (`state`: open|assigned|escalated|closed)
 * or /decisions (`action`: allow|hold|refuse): after, from, to, ledger, limit.
 */
export function filterFromQuery(query: string, kind: 'alerts' | 'decisions'): Filter {
  const stateName = kind === 'alerts' ? 'state' : 'action';
  const q = queryParams(query, [stateName, 'after', 'from', 'to', 'ledger', 'limit']);
  const table = kind === 'alerts' ? CASE_STATES : ACTIONS;
  const f: Filter = { after: 0n, from: 0n, to: 0n, limit: LIST_DEFAULT, state: 0, ledger: 0 };
  const state = q.get(stateName);
  if (state !== undefined) {
    if (table[state] === undefined) refuse('invalid_query', `${stateName}: one of ${Object.keys(table).join(', ')}`);
    f.state = table[state];
  }
  const after = q.get('after');
  if (after !== undefined) f.after = parseUnsignedDecimal(after, U64_MAX) ?? refuse('invalid_query', 'after: a decimal below 2^64');
  if (q.has('from')) f.from = timeNs(q.get('from')!, 'from');
  if (q.has('to')) f.to = timeNs(q.get('to')!, 'to');
  if (f.to !== 0n && f.from > f.to) refuse('invalid_query', 'from: after to');
  const ledger = q.get('ledger');
  if (ledger !== undefined) {
    f.ledger = /^[0-9]{1,10}$/.test(ledger) ? Number(ledger) : 0;
    if (f.ledger < 1 || f.ledger > 0xffffffff) refuse('invalid_query', 'ledger: a ledger number');
  }
  const limit = q.get('limit');
  if (limit !== undefined) {
    f.limit = /^[0-9]{1,4}$/.test(limit) ? Number(limit) : 0;
    if (f.limit < 1 || f.limit > P.LIST_MAX) refuse('invalid_query', `limit: 1 to ${P.LIST_MAX}`);
  }
  return f;
}

/** POST /v1/compliance/alerts/{id}'s body, strictly. */
export function caseUpdateFromJson(value: JsonValue, alert: number): CaseUpdate {
  if (!isJsonObject(value)) refuse('invalid_field', 'body: an object');
  const allowed = ['action', 'assignee', 'outcome', 'reason'];
  for (const k of value.keys()) if (!allowed.includes(k)) refuse('unknown_field', `body.${k.slice(0, 32)}: not a field (${allowed.join(', ')})`);
  const name = (key: string, table: Record<string, number>): number => {
    const v = value.get(key);
    if (v === undefined) return 0;
    if (typeof v !== 'string' || table[v] === undefined) refuse('invalid_field', `body.${key}: one of ${Object.keys(table).join(', ')}`);
    return table[v];
  };
  const action = name('action', CASE_ACTIONS);
  if (action === 0) refuse('invalid_field', `body.action: one of ${Object.keys(CASE_ACTIONS).join(', ')}`);
  const assignee = value.get('assignee') ?? '';
  if (typeof assignee !== 'string' || assignee.length > P.ASSIGNEE_MAX || !/^[\x20-\x7e]*$/.test(assignee)) {
    refuse('invalid_field', `body.assignee: printable ASCII, at most ${P.ASSIGNEE_MAX} characters`);
  }
  const outcome = name('outcome', OUTCOMES);
  const reason = name('reason', CLOSE_REASONS);
  if (action === P.CASE_ACT_CLOSE) {
    if (outcome === 0 || reason === 0) refuse('invalid_field', 'body: a close needs outcome (release, reject, noted) and reason');
    if (assignee !== '') refuse('invalid_field', 'body.assignee: a close names no assignee');
  } else {
    if (outcome !== 0 || reason !== 0) refuse('invalid_field', 'body: outcome and reason belong to a close');
    if (action === P.CASE_ACT_ASSIGN && assignee === '') refuse('invalid_field', 'body.assignee: assign names the officer');
  }
  return { alert, action, outcome, reason, assignee };
}

function alertIdOf(id: bigint): number {
  if (id < 1n || id > 0xffffffffn) refuse('invalid_field', 'path: an alert id is a decimal from 1 to 2^32-1');
  return Number(id);
}

/** The chain of frames a cases route's request is and what its answer needs. */
export function casesRequest(handler: CasesHandler, json: () => JsonValue, id: bigint, query: string, ledgers: LedgerCurrencies): { chain: Chain; context: CasesContext } {
  const scaleOf: ScaleOf = (ledger) => ledgers.get(ledger)?.assetScale;
  const context: CasesContext = { handler, scaleOf, ledgers };
  switch (handler) {
    case 'rules_get': return { chain: { first: rulesGetRequest() }, context };
    case 'rules_set': {
      // The answer is the rules as they are now: one rules_get after the set (its reply is the answer).
      const first = rulesSetRequest(ruleSetsFromJson(json(), scaleOf));
      let read = false;
      const next = (reply: Buffer): Frame | null => {
        if (read || !unrefusedCompliance(reply)) return null;
        read = true;
        return { route: gw.ROUTE_RULES_GET, body: rulesGetRequest() };
      };
      return { chain: { first, next }, context };
    }
    case 'alerts_list': case 'decisions_list': {
      const f = filterFromQuery(query, handler === 'alerts_list' ? 'alerts' : 'decisions');
      context.after = f.after;
      return { chain: { first: handler === 'alerts_list' ? alertsListRequest(f) : decisionsListRequest(f) }, context };
    }
    case 'alert_get': {
      context.alertId = alertIdOf(id);
      const f: Filter = { after: BigInt(context.alertId - 1), from: 0n, to: 0n, limit: 1, state: 0, ledger: 0 };
      return { chain: { first: alertsListRequest(f) }, context };
    }
    case 'case_update': {
      context.alertId = alertIdOf(id);
      context.stage = 'case';
      return { chain: { first: caseUpdateRequest(caseUpdateFromJson(json(), context.alertId)), next: (reply) => caseNext(context, reply) }, context };
    }
    case 'reports': return reportRequest(query, context);
  }
}

function unrefusedCompliance(reply: Buffer): boolean {
  return reply.length >= P.REPLY_HEADER_BYTES && (reply.readUInt32LE(4) & P.REPLY_F_REFUSED) === 0;
}

/** The frame after each of a case update's replies: hold_release for a held payment's close, then its read. */
function caseNext(context: CasesContext, reply: Buffer): Frame | null {
  try {
    if (context.stage === 'case') {
      const { alert } = caseUpdateReply(reply);
      context.alert = alert;
      if (alert.state !== P.CASE_CLOSED || (alert.outcome !== P.OUTCOME_RELEASE && alert.outcome !== P.OUTCOME_REJECT)) return null;
      context.stage = 'release';
      const outcome = alert.outcome === P.OUTCOME_RELEASE ? 'release' : 'reject';
      return { route: gw.ROUTE_HOLD_RELEASE, body: holdReleaseRequest([{ payment: alert.payment, outcome }]) };
    }
    if (context.stage === 'release') {
      context.release = oneResult(reply);
      context.stage = 'payment';
      return { route: gw.ROUTE_PAYMENTS_GET, body: paymentMessagesRequest(context.alert!.payment) };
    }
  } catch {
    // A refusal or a malformed reply ends the chain: the answer renders it (casesAnswer parses it again).
  }
  return null;
}

const REPORT_FORMATS = ['json', 'csv'] as const;

function reportRequest(query: string, context: CasesContext): { chain: Chain; context: CasesContext } {
  const q = queryParams(query, ['from', 'to', 'format']);
  if (!q.has('from') || !q.has('to')) refuse('invalid_query', 'from and to: the period (ns or RFC 3339), both required');
  const fromNs = timeNs(q.get('from')!, 'from');
  const toNs = timeNs(q.get('to')!, 'to');
  if (fromNs > toNs) refuse('invalid_query', 'from: after to');
  const format = (q.get('format') ?? 'json') as ReportState['format'];
  if (!REPORT_FORMATS.includes(format)) refuse('invalid_query', 'format: json or csv');
  const report: ReportState = { fromNs, toNs, format, kind: 'alerts', after: 0n, done: false, alerts: [], decisions: [] };
  context.report = report;
  const page = (): Filter => ({ after: report.after, from: fromNs, to: toNs, limit: P.LIST_MAX, state: 0, ledger: 0 });
  const next = (reply: Buffer): Frame | null => {
    try {
      const { last, records } = report.kind === 'alerts'
        ? (({ last, alerts }) => ({ last, records: alerts.map((a) => alertJson(a, context.scaleOf)) }))(alertsListReply(reply))
        : (({ last, decisions }) => ({ last, records: decisions.map((d) => decisionJson(d, context.scaleOf)) }))(decisionsListReply(reply));
      (report.kind === 'alerts' ? report.alerts : report.decisions).push(...records);
      if (report.alerts.length + report.decisions.length > REPORT_RECORDS_MAX) return null;
      // The service looked at records past `after`: there may be more. Nothing looked at: this kind is done.
      if (last > report.after) { report.after = last; return { body: report.kind === 'alerts' ? alertsListRequest(page()) : decisionsListRequest(page()) }; }
      if (report.kind === 'decisions') { report.done = true; return null; }
      report.kind = 'decisions';
      report.after = 0n;
      return { body: decisionsListRequest(page()) };
    } catch {
      return null; // the answer renders the refusal
    }
  };
  return { chain: { first: alertsListRequest(page()), next }, context };
}

/** A report whose pages are all in, to be signed and sent (the signing is the caller's: it is asynchronous). */
export class ReportToSign {
  constructor(readonly format: 'json' | 'csv', readonly report: ReportState) {}
}

/** The answer to a cases route's last reply: JSON, or a report to sign; throws ComplianceRefusal (or PaymentsRefusal) when refused. */
export function casesAnswer(context: CasesContext, reply: Buffer): unknown {
  switch (context.handler) {
    case 'rules_get': case 'rules_set': {
      const { version, sets } = rulesGetReply(reply);
      return { version: Number(version), rules: sets.map((s) => ruleSetJson(s, context.scaleOf(s.ledger))) };
    }
    case 'alerts_list': {
      const { last, alerts } = alertsListReply(reply);
      return { alerts: alerts.map((a) => alertJson(a, context.scaleOf)), next_after: last > context.after! ? last.toString() : null };
    }
    case 'decisions_list': {
      const { last, decisions } = decisionsListReply(reply);
      return { decisions: decisions.map((d) => decisionJson(d, context.scaleOf)), next_after: last > context.after! ? last.toString() : null };
    }
    case 'alert_get': {
      const { alerts } = alertsListReply(reply);
      return alerts.length === 1 && alerts[0].id === context.alertId ? { alert: alertJson(alerts[0], context.scaleOf) } : null;
    }
    case 'case_update': return caseAnswer(context, reply);
    case 'reports': return reportAnswer(context, reply);
  }
}

/** hold_release's one result (the payment's status after it), or why the reply is not one. */
function oneResult(reply: Buffer): TxResult {
  const results = holdReleaseResults(reply);
  if (results.length !== 1) throw new RecordError(`hold_release reply with ${results.length} results for one payment`);
  return results[0];
}

function caseAnswer(context: CasesContext, reply: Buffer): unknown {
  if (context.stage === 'case') return { alert: alertJson(caseUpdateReply(reply).alert, context.scaleOf) };
  if (context.stage === 'release') oneResult(reply); // throws why the hold_release was refused or malformed
  const read = paymentMessagesReply(reply);
  const release = context.release!;
  return {
    alert: alertJson(context.alert!, context.scaleOf),
    release: { status: release.status, ...(release.reason === undefined ? {} : { reason: release.reason }) },
    payment: read === null ? null : paymentJson(read.payment, context.ledgers),
  };
}

function reportAnswer(context: CasesContext, reply: Buffer): ReportToSign {
  const report = context.report!;
  if (report.alerts.length + report.decisions.length > REPORT_RECORDS_MAX) {
    refuse('report_too_large', `more than ${REPORT_RECORDS_MAX} alerts and decisions in the period: ask for a shorter one`);
  }
  if (!report.done) {
    // The chain stopped early: the reply says why (a refusal is thrown here).
    if (report.kind === 'alerts') alertsListReply(reply); else decisionsListReply(reply);
    throw new Error('reports: a page was answered but the chain stopped');
  }
  return new ReportToSign(report.format, report);
}
