// test/unit/compliance-cases.test.ts: the host side of the compliance
// service's rule sets, alerts, cases, decisions and reports without a kernel:
// the records of host/compliance/cases.ts and rules.ts against the protocol's
// layouts, their JSON (host/gateway/compliance-json.ts, cases-front.ts) both
// ways and its strict refusals, the rule-name table, and the reports'
// signatures (host/compliance/report.ts) made and checked as checkpoints are.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as P from '../../services/compliance/protocol.ts';
import * as PAY from '../../services/payments/protocol.ts';
import { parseJson, type JsonValue } from '../../host/gateway/json.ts';
import { LedgerJsonError } from '../../host/gateway/ledger-json.ts';
import { RULE_NAMES, ruleNames, ruleSetAt } from '../../host/compliance/rules.ts';
import {
  alertAt, alertsListReply, alertsListRequest, caseUpdateReply, caseUpdateRequest, checkReply, checkRequest, decisionsListRequest,
  rulesGetReply, rulesSetRequest,
} from '../../host/compliance/cases.ts';
import { ComplianceRefusal, RecordError } from '../../host/compliance/records.ts';
import { alertJson, decisionJson, ruleSetJson, ruleSetsFromJson, scoreMillionths } from '../../host/gateway/compliance-json.ts';
import { caseUpdateFromJson, casesRequest, filterFromQuery, timeNs } from '../../host/gateway/cases-front.ts';
import * as gw from '../../services/gateway/protocol.ts';
import {
  HEADER_SHA256, HEADER_SIGNATURES, reportCsvText, reportJsonText, signedReportJson, signReport, verifyCsvReport, verifyJsonReport,
} from '../../host/compliance/report.ts';
import { generateKeyPair } from '../../host/base/keys.ts';

const json = (text: string): JsonValue => parseJson(Buffer.from(text), { depthMax: 16, itemsMax: 1000, valuesMax: 10000 });
const scales = new Map([[1, 2], [2, 0]]);
const scaleOf = (l: number) => scales.get(l);

const FULL = {
  ledger: 1, hold: ['sanctions', 'amount', 'fraud'], amount_threshold: '10000.00', payment_max: '1000000.00', account_daily_max: '50000.00',
  customer_daily_max: '80000.00', counterparty_daily_max: '70000.00', velocity_sum: '20000.00', velocity_count: 10, velocity_window_s: 3600,
  structuring_threshold: '10000.00', structuring_margin_bps: 1000, structuring_count: 3, structuring_window_s: 86400, rapid_window_s: 7200,
  rapid_ratio_bps: 9000, dormant_days: 180, dormant_amount: '5000.00', fraud_hold: 0.8, fraud_refuse: 0.95, screen_hold: 0.85, screen_refuse: 0.97,
  high_risk_countries: ['IR', 'KP'], order_value_max: '250000.00', price_band_bps: 500, position_max: '9223372036854775807',
  transfers: true,
};

/** The code a LedgerJsonError thrown by `f` carries. */
function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof LedgerJsonError) return e.code;
    throw e;
  }
  return 'none';
}

test('the rule-name table: every RULE_* bit of the protocol once, in bit order, and names round-trip', () => {
  // Proves the one table covers the protocol's rules exactly (a new RULE_* without a name fails here).
  const protocolBits = Object.entries(P).filter(([k, v]) => /^RULE_[A-Z_]+$/.test(k) && k !== 'RULE_SETS_MAX' && typeof v === 'number').map(([, v]) => v as number);
  assert.equal(RULE_NAMES.map(([b]) => b).sort((a, b) => a - b), protocolBits.sort((a, b) => a - b));
  assert.is(new Set(RULE_NAMES.map(([, n]) => n)).size, RULE_NAMES.length, 'names distinct');
  assert.equal(ruleNames(P.RULE_AMOUNT | P.RULE_SANCTIONS | P.RULE_CAPACITY), ['sanctions', 'amount', 'capacity']);
  assert.equal(ruleNames(1 << 20), [String(1 << 20)], 'an unknown bit is named by its number');
});

test('rule sets: JSON → RULES_BYTES records → JSON is the identity, amounts at the ledger\'s scale, scores exact', () => {
  // Proves the layout (each field where the protocol puts it) and the exact conversions both ways.
  const sets = ruleSetsFromJson(json(JSON.stringify({ rules: [FULL, { ledger: 2, amount_threshold: '7', screen_hold: '0.000001' }] })), scaleOf);
  const request = rulesSetRequest(sets);
  assert.is(request[P.HEADER_OP], P.Op.rules_set);
  assert.is(request.readUInt32LE(P.HEADER_COUNT), 2);
  assert.is(request.length, P.HEADER_BYTES + 2 * P.RULES_BYTES);
  const at = P.HEADER_BYTES;
  assert.is(request.readBigUInt64LE(at + P.RULES_AMOUNT_THRESHOLD), 1000000n, '10000.00 at scale 2');
  assert.is(request.readUInt32LE(at + P.RULES_HOLD_MASK), P.RULE_SANCTIONS | P.RULE_AMOUNT | P.RULE_FRAUD);
  assert.is(request.readUInt32LE(at + P.RULES_FRAUD_HOLD), 800000);
  assert.is(request.readUInt32LE(at + P.RULES_SCREEN_REFUSE), 970000);
  assert.is(request[at + P.RULES_HIGH_RISK_COUNT], 2);
  assert.is(request.toString('latin1', at + P.RULES_HIGH_RISK, at + P.RULES_HIGH_RISK + 4), 'IRKP');
  assert.is(request.readUInt32LE(at + P.RULES_STRUCTURING_MARGIN), 1000);
  assert.is(request.readBigUInt64LE(at + P.RULES_POSITION_MAX), (1n << 63n) - 1n);
  assert.is(request.readUInt32LE(at + P.RULES_PRICE_BAND), 500);
  assert.is(request.readBigUInt64LE(at + P.RULES_ORDER_VALUE_MAX), 25000000n);
  // The service answers rules_get with the records: the same JSON comes back.
  const reply = Buffer.concat([Buffer.alloc(P.REPLY_HEADER_BYTES), request.subarray(P.HEADER_BYTES)]);
  reply.writeUInt32LE(2, 0);
  reply.writeBigUInt64LE(5n, 8);
  const got = rulesGetReply(reply);
  assert.is(got.version, 5n);
  assert.equal(ruleSetJson(got.sets[0], 2), FULL);
  const second = ruleSetJson(ruleSetAt(request, at + P.RULES_BYTES), 0);
  assert.is(second.amount_threshold, '7');
  assert.is(second.screen_hold, 0.000001);
  assert.equal(second.hold, []);
  assert.is(second.velocity_count, 0, 'a key left out is 0: off');
  assert.is(scoreMillionths(json('"1"'), 's'), P.SCORE_ONE);
  assert.is(scoreMillionths(json('0.123456'), 's'), 123456);
});

test('rule sets: bad input is refused with its own code and nothing is built', () => {
  // Proves the strict checking of every kind of field, each with a specific 400 code.
  const one = (patch: object) => () => ruleSetsFromJson(json(JSON.stringify({ rules: [{ ...FULL, ...patch }] })), scaleOf);
  const cases: [string, () => unknown][] = [
    ['unknown_field', one({ amount_treshold: '1' })],
    ['invalid_field', one({ amount_threshold: 10000 })],
    ['amount_not_exact', one({ amount_threshold: '1.001' })],
    ['invalid_field', one({ amount_threshold: '-1' })],
    ['out_of_range', one({ fraud_hold: 1.5 })],
    ['invalid_field', one({ fraud_hold: 0.1234567 })],
    ['invalid_field', one({ fraud_hold: true })],
    ['out_of_range', one({ fraud_hold: 0.9, fraud_refuse: 0.5 })],
    ['unknown_rule', one({ hold: ['amonut'] })],
    ['invalid_field', one({ hold: ['payment_max'] })],
    ['invalid_field', one({ hold: ['amount', 'amount'] })],
    ['invalid_field', one({ hold: 'amount' })],
    ['unknown_ledger', one({ ledger: 9 })],
    ['out_of_range', one({ ledger: 0 })],
    ['invalid_field', one({ velocity_count: 1.5 })],
    ['invalid_field', one({ velocity_count: '3' })],
    ['out_of_range', one({ rapid_ratio_bps: 10001 })],
    ['out_of_range', one({ velocity_window_s: 4294967296 })],
    ['invalid_field', one({ high_risk_countries: ['ir'] })],
    ['out_of_range', one({ position_max: '9223372036854775808' })],
    ['invalid_field', one({ position_max: -1 })],
    ['out_of_range', one({ price_band_bps: 1000001 })],
    ['invalid_field', one({ hold: ['order_value'] })],
    ['invalid_field', one({ high_risk_countries: ['IR', 'IR'] })],
    ['out_of_range', one({ high_risk_countries: Array.from({ length: 33 }, (_, i) => `A${String.fromCharCode(65 + (i % 26))}`) })],
    ['duplicate_ledger', () => ruleSetsFromJson(json(JSON.stringify({ rules: [FULL, FULL] })), scaleOf)],
    ['out_of_range', () => ruleSetsFromJson(json('{"rules":[]}'), scaleOf)],
    ['unknown_field', () => ruleSetsFromJson(json('{"rules":[],"x":1}'), scaleOf)],
    ['invalid_field', () => ruleSetsFromJson(json('[]'), scaleOf)],
  ];
  for (const [code, f] of cases) assert.is(codeOf(f), code, f.toString());
});

/** An alert record as the service keeps it. */
function alertRecord(id: number, state: number, assignee = ''): Buffer {
  const b = Buffer.alloc(P.ALERT_BYTES);
  b.writeUInt32LE(id, P.ALERT_ID);
  b.writeUInt32LE(P.RULE_AMOUNT | P.RULE_HIGH_RISK, P.ALERT_RULES);
  b.writeBigUInt64LE(77n, P.ALERT_PAYMENT);
  b[P.ALERT_STATE] = state;
  b[P.ALERT_ACTION] = P.ACTION_HOLD;
  b[P.ALERT_OUTCOME] = state === P.CASE_CLOSED ? P.OUTCOME_RELEASE : 0;
  b[P.ALERT_ASSIGNEE_LENGTH] = assignee.length;
  b.writeUInt32LE(1, P.ALERT_LEDGER);
  b.writeBigUInt64LE(1000n, P.ALERT_RAISED);
  b.writeBigUInt64LE(2000n, P.ALERT_UPDATED);
  b.writeBigUInt64LE(1234567n, P.ALERT_AMOUNT);
  b.writeBigUInt64LE(9n, P.ALERT_DEBIT);
  b.write(assignee, P.ALERT_ASSIGNEE, 'latin1');
  b.writeUInt32LE(state === P.CASE_CLOSED ? P.CLOSE_EXPLAINED : 0, P.ALERT_CLOSE_REASON);
  b.writeUInt32LE(250000, P.ALERT_FRAUD_SCORE);
  b.writeUInt32LE(0, P.ALERT_SANCTIONS_SCORE);
  b.writeUInt32LE(2, P.ALERT_UPDATES);
  b.writeBigUInt64LE(41n, P.ALERT_DECISION);
  return b;
}

test('alerts: records read where the protocol puts each field, as the JSON the routes and the stream show', () => {
  // Proves the alert layout and its JSON (names from the tables, the amount at the ledger's scale).
  const reply = Buffer.concat([Buffer.alloc(P.REPLY_HEADER_BYTES), alertRecord(3, P.CASE_ASSIGNED, 'alice'), alertRecord(4, P.CASE_CLOSED)]);
  reply.writeUInt32LE(2, 0);
  reply.writeBigUInt64LE(9n, 8);
  const { last, alerts } = alertsListReply(reply);
  assert.is(last, 9n);
  assert.equal(alertJson(alerts[0], scaleOf), {
    id: 3, rules: ['amount', 'high_risk_country'], payment_id: '77', state: 'assigned', action: 'hold', outcome: null, assignee: 'alice', ledger: 1,
    raised_ns: '1000', updated_ns: '2000', amount: '12345.67', debit_account: '9', close_reason: null, fraud_score: 0.25, sanctions_score: 0,
    updates: 2, decision: '41', transfer_id: null,
  });
  assert.equal([alertJson(alerts[1], scaleOf).outcome, alertJson(alerts[1], scaleOf).close_reason], ['release', 'explained']);
  assert.throws(() => alertsListReply(reply.subarray(0, reply.length - 1)), (e: unknown) => e instanceof RecordError);
  const refused = Buffer.alloc(P.REPLY_HEADER_BYTES + 4);
  refused.writeUInt32LE(P.REPLY_F_REFUSED, 4);
  refused.writeUInt32LE(P.REFUSED_NOT_FOUND, P.REPLY_REFUSED);
  assert.throws(() => alertsListReply(refused), (e: unknown) => e instanceof ComplianceRefusal && e.code === P.REFUSED_NOT_FOUND);
});

test('case updates: JSON strictly, the record the protocol lays out, the reply and its repeated flag', () => {
  // Proves the case body's rules (close: outcome and reason; assign: an assignee) and the CASE record's bytes.
  const close = caseUpdateFromJson(json('{"action":"close","outcome":"release","reason":"false_positive"}'), 4);
  const b = caseUpdateRequest(close).subarray(P.HEADER_BYTES);
  assert.equal([b.readUInt32LE(P.CASE_ALERT), b[P.CASE_ACTION], b[P.CASE_OUTCOME], b.readUInt32LE(P.CASE_REASON)],
    [4, P.CASE_ACT_CLOSE, P.OUTCOME_RELEASE, P.CLOSE_FALSE_POSITIVE]);
  const assign = caseUpdateRequest(caseUpdateFromJson(json('{"action":"assign","assignee":"Alice Officer"}'), 4)).subarray(P.HEADER_BYTES);
  assert.equal([assign[P.CASE_ASSIGNEE_LENGTH], assign.toString('latin1', P.CASE_ASSIGNEE, P.CASE_ASSIGNEE + 13)], [13, 'Alice Officer']);
  for (const body of ['{"action":"close","outcome":"release"}', '{"action":"assign"}', '{"action":"escalate","reason":"other"}', '{"action":"close",'
    + '"outcome":"release","reason":"other","assignee":"x"}', '{"action":"shout"}', '{"action":"assign","assignee":"' + 'x'.repeat(33) + '"}',
  '{"action":"assign","assignee":"tab\\there"}', '{"action":"assign","assignee":"a","extra":1}', '{"action":"close","outcome":"void","reason":"other"}']) {
    assert.ok(['invalid_field', 'unknown_field'].includes(codeOf(() => caseUpdateFromJson(json(body), 4))), body);
  }
  const reply = Buffer.concat([Buffer.alloc(P.REPLY_HEADER_BYTES), alertRecord(4, P.CASE_CLOSED)]);
  reply.writeUInt32LE(1, 0);
  reply.writeUInt32LE(P.REPLY_F_REPEATED, 4);
  const r = caseUpdateReply(reply);
  assert.equal([r.alert.id, r.changed, r.repeated], [4, false, true], 'the same close again');
});

test('filters: the query strings of the lists, times as ns or RFC 3339, and their refusals', () => {
  // Proves the FILTER record and the query grammar (each parameter once, known names and values only).
  const f = filterFromQuery('state=assigned&after=5&from=2026-12-07T14:00:00Z&to=1796652000000000001&ledger=2&limit=50', 'alerts');
  assert.equal(f, { after: 5n, from: 1796652000000000000n, to: 1796652000000000001n, limit: 50, state: P.CASE_ASSIGNED, ledger: 2 });
  const b = alertsListRequest(f).subarray(P.HEADER_BYTES);
  assert.equal([b.readBigUInt64LE(P.FILTER_AFTER), b.readUInt16LE(P.FILTER_LIMIT), b[P.FILTER_STATE], b.readUInt32LE(P.FILTER_LEDGER)], [5n, 50, 2, 2]);
  assert.is(decisionsListRequest(filterFromQuery('action=refuse', 'decisions'))[P.HEADER_BYTES + P.FILTER_STATE], P.ACTION_REFUSE);
  assert.is(timeNs('2026-12-07T15:00:00.5+01:00', 't'), 1796652000500000000n);
  for (const q of ['state=held', 'action=hold', 'limit=0', 'limit=1001', 'after=x', 'from=2026-13-01T00:00:00Z', 'from=yesterday', 'ledger=0',
    'state=open&state=open', 'from=2&to=1', 'colour=red']) {
    assert.is(codeOf(() => filterFromQuery(q, 'alerts')), 'invalid_query', q);
  }
});

test('checks and decisions: the check record the payments service sends, and each decision as JSON', () => {
  // Proves the CHECK layout (for tests of the service) and the DECISION layout and JSON (names, versions as 8 hex, null for none).
  const request = checkRequest([{
    payment: 5n, ledger: 1, source: PAY.SOURCE_JSON, amount: 150000n, debit: 10n, credit: 11n, debitCustomer: true, creditCustomer: true,
    debtorCountry: 'DE', creditorCountry: 'IR', debtorName: 'hans meier', creditorName: 'ali rezaei', customer: 'CUST-1',
  }]);
  const c = request.subarray(P.HEADER_BYTES);
  assert.equal([c.readBigUInt64LE(P.CHECK_PAYMENT), c[P.CHECK_FLAGS], c[P.CHECK_DEBTOR_LENGTH], c.toString('latin1', P.CHECK_CREDITOR_COUNTRY, P.CHECK_CREDITOR_COUNTRY + 2),
    c.toString('latin1', P.CHECK_CREDITOR_NAME, P.CHECK_CREDITOR_NAME + 10), c[P.CHECK_CUSTOMER], c.toString('latin1', P.CHECK_CUSTOMER + 1, P.CHECK_CUSTOMER + 7)],
  [5n, P.CHECK_F_DEBIT_CUSTOMER | P.CHECK_F_CREDIT_CUSTOMER, 10, 'IR', 'ali rezaei', 6, 'CUST-1']);
  const badName = { payment: 5n, ledger: 1, source: 4, amount: 1n, debit: 1n, credit: 2n, debitCustomer: true, creditCustomer: false, debtorName: 'Bad Name' };
  assert.throws(() => checkRequest([badName]), (e: unknown) => e instanceof RecordError, 'a name not normalised');
  const d = Buffer.alloc(P.DECISION_BYTES);
  d.writeBigUInt64LE(5n, P.DEC_PAYMENT);
  d[P.DEC_ACTION] = P.ACTION_HOLD;
  d[P.DEC_PARTY] = P.PARTY_CREDITOR;
  d[P.DEC_LIST] = P.LIST_UN;
  d[P.DEC_ID_LENGTH] = 7;
  d.writeUInt32LE(P.RULE_SANCTIONS | P.RULE_HIGH_RISK, P.DEC_RULES);
  d.writeUInt32LE(P.RULE_SANCTIONS, P.DEC_DECIDED_BY);
  d.writeUInt32LE(3, P.DEC_ALERT);
  d.writeUInt32LE(100000, P.DEC_FRAUD_SCORE);
  Buffer.from('0badcafe', 'hex').copy(d, P.DEC_MODEL);
  d.writeUInt32LE(910000, P.DEC_SANCTIONS_SCORE);
  d.write('QDi.015', P.DEC_ENTITY_ID, 'latin1');
  Buffer.from('a1b2c3d4', 'hex').copy(d, P.DEC_UN_VERSION);
  d.writeUInt32LE(2, P.DEC_RULES_VERSION);
  d.writeUInt32LE(1, P.DEC_LEDGER);
  d.writeBigUInt64LE(99n, P.DEC_TIME);
  d.writeBigUInt64LE(150000n, P.DEC_AMOUNT);
  d.writeBigUInt64LE(10n, P.DEC_DEBIT);
  d.writeBigUInt64LE(12n, P.DEC_SEQUENCE);
  const reply = Buffer.concat([Buffer.alloc(P.REPLY_HEADER_BYTES), d]);
  reply.writeUInt32LE(1, 0);
  assert.equal(decisionJson(checkReply(reply)[0], scaleOf), {
    sequence: '12', payment_id: '5', action: 'hold', rules: ['sanctions', 'high_risk_country'], decided_by: 'sanctions', alert_id: 3,
    fraud_score: 0.1, fraud_model: '0badcafe', sanctions: { score: 0.91, list: 'un', entity_id: 'QDi.015', party: 'creditor' },
    list_versions: { ofac_sdn: null, un: 'a1b2c3d4' }, rules_version: 2, ledger: 1, time_ns: '99', amount: '1500.00', debit_account: '10',
    transfer_id: null,
  });
  // A decision on one of the ledger's own transfers (transfer_checks) names the transfer, and no payment.
  d.writeBigUInt64LE(0n, P.DEC_PAYMENT);
  d[P.DEC_ORIGIN] = P.ORIGIN_TRANSFER;
  d.writeBigUInt64LE(1n, P.DEC_TRANSFER + 8);
  d.writeBigUInt64LE(7n, P.DEC_TRANSFER);
  const t = decisionJson(checkReply(Buffer.concat([reply.subarray(0, P.REPLY_HEADER_BYTES), d]))[0], scaleOf);
  assert.equal([t.payment_id, t.transfer_id], [null, String((1n << 64n) + 7n)]);
});

test('the chains of frames: PUT rules reads the rules once after the set; a close of a held payment goes on to hold_release, then the payment', () => {
  // Proves each chain ends (a chain that never returns null would send frames forever) and sends its frames to the right routes.
  const ledgers = new Map([[1, { assetScale: 2 }]]);
  const body = () => json(JSON.stringify({ rules: [{ ledger: 1, amount_threshold: '1.00' }] }));
  const { chain } = casesRequest('rules_set', body, 0n, '', ledgers);
  const ok = Buffer.alloc(P.REPLY_HEADER_BYTES);
  const read = chain.next!(ok);
  assert.equal([read?.route, read?.body[P.HEADER_OP]], [gw.ROUTE_RULES_GET, P.Op.rules_get]);
  assert.is(chain.next!(ok), null, 'the rules_get reply is the answer');
  const close = casesRequest('case_update', () => json('{"action":"close","outcome":"reject","reason":"confirmed"}'), 4n, '', ledgers);
  const closed = Buffer.concat([Buffer.alloc(P.REPLY_HEADER_BYTES), alertRecord(4, P.CASE_CLOSED)]);
  closed.writeUInt32LE(1, 0);
  closed[P.REPLY_HEADER_BYTES + P.ALERT_OUTCOME] = P.OUTCOME_REJECT;
  const release = close.chain.next!(closed);
  assert.equal([release?.route, release?.body[PAY.HEADER_OP], release?.body[PAY.HEADER_BYTES + PAY.RELEASE_OUTCOME]], [gw.ROUTE_HOLD_RELEASE, PAY.Op.hold_release, P.OUTCOME_REJECT]);
  const result = Buffer.alloc(PAY.REPLY_HEADER_BYTES + PAY.RESULT_BYTES);
  result.writeUInt32LE(1, 0);
  const read2 = close.chain.next!(result);
  assert.equal([read2?.route, read2?.body[PAY.HEADER_OP]], [gw.ROUTE_PAYMENTS_GET, PAY.Op.payment_messages]);
  assert.is(close.chain.next!(Buffer.alloc(PAY.REPLY_HEADER_BYTES)), null, 'the payment read is the answer');
  const noted = casesRequest('case_update', () => json('{"action":"close","outcome":"noted","reason":"other"}'), 4n, '', ledgers);
  const notedReply = Buffer.from(closed);
  notedReply[P.REPLY_HEADER_BYTES + P.ALERT_OUTCOME] = P.OUTCOME_NOTED;
  assert.is(noted.chain.next!(notedReply), null, 'a noted close releases nothing');
});

test('reports: signed with the checkpoints\' signer, verified as received; one byte changed anywhere fails', async () => {
  // Proves the report signature contract a reader follows (docs/compliance.md "Reports"): JSON and CSV, and that tampering is caught.
  const key = generateKeyPair();
  const trusted = [key.ecdsa.publicKey, key.mldsa.publicKey];
  const alert = alertJson(alertAt(alertRecord(3, P.CASE_ASSIGNED, 'a, "b"'), 0), scaleOf);
  const text = reportJsonText({ fromNs: 1n, toNs: 2n }, [alert], []);
  const body = Buffer.from(signedReportJson(text, await signReport(Buffer.from(text), key)));
  const good = verifyJsonReport(body, trusted);
  assert.is(good.problem, null);
  assert.equal((good.report as { alerts: unknown[] }).alerts, [alert]);
  const at = body.indexOf('"assigned"') + 2;
  const tampered = Buffer.from(body);
  tampered[at] ^= 1;
  assert.ok(verifyJsonReport(tampered, trusted).problem !== null, 'a changed report byte fails');
  assert.ok(verifyJsonReport(body, [generateKeyPair().ecdsa.publicKey]).problem !== null, 'an untrusted key fails');
  const csv = reportCsvText([alert], []);
  assert.match(csv, /^record,id,payment_id,/);
  assert.match(csv, /"a, ""b"""/, 'a field with a comma and quotes is quoted');
  const sigs = await signReport(Buffer.from(csv), key);
  const headers = new Map([[HEADER_SHA256, ''], [HEADER_SIGNATURES, '']]);
  const { createHash } = await import('node:crypto');
  headers.set(HEADER_SHA256, createHash('sha256').update(csv).digest('hex'));
  headers.set(HEADER_SIGNATURES, JSON.stringify(sigs.map((s) => ({ algorithm: s.algorithm, key_id: s.keyIdHex, signature: Buffer.from(s.signature).toString('base64') }))));
  assert.is(verifyCsvReport(Buffer.from(csv), headers.get(HEADER_SHA256)!, headers.get(HEADER_SIGNATURES)!, trusted), null);
  const bad = Buffer.from(csv);
  bad[bad.length - 3] ^= 1;
  assert.ok(verifyCsvReport(bad, headers.get(HEADER_SHA256)!, headers.get(HEADER_SIGNATURES)!, trusted) !== null, 'a changed CSV byte fails');
});

test.run();
