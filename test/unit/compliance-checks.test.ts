// test/unit/compliance-checks.test.ts: the compliance service's payment
// checks (services/compliance/assembly/check.ts), its rule sets, alerts,
// cases and decisions, against the SDK's fake kernel. Proves: each
// monitoring rule fires on its pattern and stays silent on a control (amount,
// velocity, structuring, rapid in-and-out, dormant, high-risk country,
// sanctions, fraud); each limit refuses what goes over it and lets through
// what does not (per payment, the account's and the customer's day, the
// counterparty's day), and a refused payment does not count; holds follow
// the hold mask, sanctions hold with no rule set and refuse at
// screen_refuse; every decision names its list versions, rules version and
// model version; alerts are raised once per decision whose rules fired
// (not for a refusal by limits alone), streamed as events, and their cases
// go open → assigned → escalated → closed with the right outcome only;
// account owners screened after a list update mark their accounts (a
// payment to or from one is a match whatever its message names; an alert
// once; a delisting clears it); pre-trade checks refuse orders over the
// value, position and price band limits at their edges, and a listed owner's; lists page by filter; malformed
// records, rule sets and case updates are refused and change nothing; and
// the same requests on a fresh service give the same bytes (replay).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as P from '../../services/compliance/protocol.ts';
import * as abi from '../../hal/abi.ts';
import { beginRequest, commitRequest, namesRequests, type NameRecord } from '../../host/compliance/records.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const WASM = join(ROOT, 'build/services/compliance.wasm');
const BANK = JSON.parse(readFileSync(join(ROOT, 'images/bank/manifest.json'), 'utf8')).services.find((s: { name: string }) => s.name === 'compliance');
const S = 1_000_000_000n;
const DAY = 86_400n * S;
const LEDGER = 1;
// The shipped model's version, as its generated file states it (test/unit/compliance-fraud.test.ts proves that is its parameters' hash).
const FRAUD_MODEL_VERSION_HEX = /MODEL_VERSION: u32 = 0x([0-9a-f]{8})/.exec(readFileSync(join(ROOT, 'services/compliance/assembly/fraud-model.ts'), 'utf8'))![1];

async function service(config: object = {}): Promise<ServiceHarness> {
  const svc = await ServiceHarness.load(WASM, { name: 'compliance', peers: ['payments'], caps: ['log', 'time', 'emit'], memoryPagesMax: BANK.memory_pages_max, messageBytesMax: 1 << 20 });
  svc.init({ names_max: 1000, accounts_max: 1000, alerts_max: 100, decisions_max: 50, events: true, ...config });
  // A quiet hour of the day (12:00 UTC) so that the night feature stays off unless a test wants it.
  svc.timeNs = 20_000n * DAY + 12n * 3600n * S;
  return svc;
}

function call(svc: ServiceHarness, request: Buffer): Buffer {
  const r = svc.request(request);
  assert.ok(r !== null && r.status === 0, 'the service answered with status 0');
  return r!.payload;
}

function header(op: number, count: number): Buffer {
  const h = Buffer.alloc(P.HEADER_BYTES);
  h[P.HEADER_OP] = op;
  h.writeUInt32LE(count, P.HEADER_COUNT);
  return h;
}

function u128(b: Buffer, at: number, v: bigint): void {
  b.writeBigUInt64LE(v & 0xffffffffffffffffn, at);
  b.writeBigUInt64LE(v >> 64n, at + 8);
}

interface Check {
  payment: bigint; amount: bigint; debit: bigint; credit: bigint; flags?: number; debtor?: string; creditor?: string;
  debtorCountry?: string; creditorCountry?: string; customer?: string; ledger?: number;
}

let nextPayment = 1n;

function checkRecord(c: Check): Buffer {
  const b = Buffer.alloc(P.CHECK_BYTES);
  b.writeBigUInt64LE(c.payment, P.CHECK_PAYMENT);
  b.writeUInt32LE(c.ledger ?? LEDGER, P.CHECK_LEDGER);
  b[P.CHECK_SOURCE] = 4;
  b[P.CHECK_FLAGS] = c.flags ?? P.CHECK_F_DEBIT_CUSTOMER | P.CHECK_F_CREDIT_CUSTOMER;
  u128(b, P.CHECK_AMOUNT, c.amount);
  u128(b, P.CHECK_DEBIT, c.debit);
  u128(b, P.CHECK_CREDIT, c.credit);
  if (c.debtorCountry !== undefined) b.write(c.debtorCountry, P.CHECK_DEBTOR_COUNTRY, 'latin1');
  if (c.creditorCountry !== undefined) b.write(c.creditorCountry, P.CHECK_CREDITOR_COUNTRY, 'latin1');
  if (c.debtor !== undefined) { b[P.CHECK_DEBTOR_LENGTH] = c.debtor.length; b.write(c.debtor, P.CHECK_DEBTOR_NAME, 'latin1'); }
  if (c.creditor !== undefined) { b[P.CHECK_CREDITOR_LENGTH] = c.creditor.length; b.write(c.creditor, P.CHECK_CREDITOR_NAME, 'latin1'); }
  if (c.customer !== undefined) { b[P.CHECK_CUSTOMER] = c.customer.length; b.write(c.customer, P.CHECK_CUSTOMER + 1, 'latin1'); }
  return b;
}

interface Decision {
  payment: bigint; action: number; party: number; list: number; rules: number; by: number; alert: number; fraud: number; model: number;
  sanctions: number; entity: string; ofac: number; un: number; rulesVersion: number; ledger: number; time: bigint; amount: bigint; sequence: bigint;
}

function decisionAt(b: Buffer, at: number): Decision {
  return {
    payment: b.readBigUInt64LE(at + P.DEC_PAYMENT), action: b[at + P.DEC_ACTION], party: b[at + P.DEC_PARTY], list: b[at + P.DEC_LIST],
    rules: b.readUInt32LE(at + P.DEC_RULES), by: b.readUInt32LE(at + P.DEC_DECIDED_BY), alert: b.readUInt32LE(at + P.DEC_ALERT),
    fraud: b.readUInt32LE(at + P.DEC_FRAUD_SCORE), model: b.readUInt32LE(at + P.DEC_MODEL), sanctions: b.readUInt32LE(at + P.DEC_SANCTIONS_SCORE),
    entity: b.toString('latin1', at + P.DEC_ENTITY_ID, at + P.DEC_ENTITY_ID + b[at + P.DEC_ID_LENGTH]), ofac: b.readUInt32LE(at + P.DEC_OFAC_VERSION),
    un: b.readUInt32LE(at + P.DEC_UN_VERSION), rulesVersion: b.readUInt32LE(at + P.DEC_RULES_VERSION), ledger: b.readUInt32LE(at + P.DEC_LEDGER),
    time: b.readBigUInt64LE(at + P.DEC_TIME), amount: b.readBigUInt64LE(at + P.DEC_AMOUNT), sequence: b.readBigUInt64LE(at + P.DEC_SEQUENCE),
  };
}

function refusedWith(reply: Buffer): { code: number; why: string } | null {
  if ((reply.readUInt32LE(4) & P.REPLY_F_REFUSED) === 0) return null;
  return { code: reply.readUInt32LE(P.REPLY_REFUSED), why: reply.toString('latin1', P.REPLY_HEADER_BYTES) };
}

function checkAll(svc: ServiceHarness, checks: Check[]): Decision[] {
  const reply = call(svc, Buffer.concat([header(P.Op.check, checks.length), ...checks.map(checkRecord)]));
  const refusal = refusedWith(reply);
  assert.is(refusal, null, `the check was decided: ${refusal?.why}`);
  assert.is(reply.readUInt32LE(0), checks.length, 'a decision per check');
  return checks.map((_, i) => decisionAt(reply, P.REPLY_HEADER_BYTES + i * P.DECISION_BYTES));
}

/** One payment checked: `amount` from `debit` to `credit` (and whatever else `more` says). */
function pay(svc: ServiceHarness, debit: bigint, credit: bigint, amount: bigint, more: Partial<Check> = {}): Decision {
  return checkAll(svc, [{ payment: nextPayment++, amount, debit, credit, ...more }])[0];
}

// ---- rule sets: the protocol's record from the names the config and the API use ----

type Rules = Partial<Record<'amount_threshold' | 'payment_max' | 'account_daily_max' | 'customer_daily_max' | 'counterparty_daily_max' | 'velocity_sum'
  | 'structuring_threshold' | 'dormant_amount' | 'order_value_max' | 'position_max', bigint> & Record<'velocity_count' | 'velocity_window_s' | 'structuring_margin_bps' | 'structuring_count'
  | 'structuring_window_s' | 'rapid_window_s' | 'rapid_ratio_bps' | 'dormant_days' | 'fraud_hold' | 'fraud_refuse' | 'screen_hold' | 'screen_refuse'
  | 'price_band_bps', number>>
  & { hold?: number; countries?: string[]; ledger?: number };

const AMOUNTS: Record<string, number> = {
  amount_threshold: P.RULES_AMOUNT_THRESHOLD, payment_max: P.RULES_PAYMENT_MAX, account_daily_max: P.RULES_ACCOUNT_DAILY, customer_daily_max: P.RULES_CUSTOMER_DAILY,
  counterparty_daily_max: P.RULES_COUNTERPARTY_DAILY, velocity_sum: P.RULES_VELOCITY_SUM, structuring_threshold: P.RULES_STRUCTURING_THRESHOLD,
  dormant_amount: P.RULES_DORMANT_AMOUNT, order_value_max: P.RULES_ORDER_VALUE_MAX,
};
const WORDS: Record<string, number> = {
  velocity_count: P.RULES_VELOCITY_COUNT, velocity_window_s: P.RULES_VELOCITY_WINDOW, structuring_margin_bps: P.RULES_STRUCTURING_MARGIN,
  structuring_count: P.RULES_STRUCTURING_COUNT, structuring_window_s: P.RULES_STRUCTURING_WINDOW, rapid_window_s: P.RULES_RAPID_WINDOW,
  rapid_ratio_bps: P.RULES_RAPID_RATIO, dormant_days: P.RULES_DORMANT_DAYS, fraud_hold: P.RULES_FRAUD_HOLD, fraud_refuse: P.RULES_FRAUD_REFUSE,
  screen_hold: P.RULES_SCREEN_HOLD, screen_refuse: P.RULES_SCREEN_REFUSE, price_band_bps: P.RULES_PRICE_BAND,
};

function rulesRecord(r: Rules): Buffer {
  const b = Buffer.alloc(P.RULES_BYTES);
  b.writeUInt32LE(r.ledger ?? LEDGER, P.RULES_LEDGER);
  b.writeUInt32LE(r.hold ?? 0, P.RULES_HOLD_MASK);
  for (const [k, at] of Object.entries(AMOUNTS)) if (r[k as keyof Rules] !== undefined) u128(b, at, r[k as keyof Rules] as bigint);
  for (const [k, at] of Object.entries(WORDS)) if (r[k as keyof Rules] !== undefined) b.writeUInt32LE(r[k as keyof Rules] as number, at);
  if (r.position_max !== undefined) b.writeBigUInt64LE(r.position_max, P.RULES_POSITION_MAX);
  const countries = r.countries ?? [];
  b[P.RULES_HIGH_RISK_COUNT] = countries.length;
  countries.forEach((c, i) => b.write(c, P.RULES_HIGH_RISK + 2 * i, 'latin1'));
  return b;
}

function setRules(svc: ServiceHarness, ...sets: Rules[]): bigint {
  const reply = call(svc, Buffer.concat([header(P.Op.rules_set, sets.length), ...sets.map(rulesRecord)]));
  assert.is(refusedWith(reply), null, 'the rule sets are in force');
  return reply.readBigUInt64LE(8);
}

function refusedCode(svc: ServiceHarness, request: Buffer): { code: number; why: string } {
  const r = refusedWith(call(svc, request));
  assert.ok(r !== null, 'refused');
  return r!;
}

// ---- the lists: a few names, in force ----

function person(id: string, normalized: string, display: string): NameRecord {
  return { type: P.TYPE_INDIVIDUAL, alias: false, weak: false, entityId: id, normalized, display };
}

function loadList(svc: ServiceHarness, list: number, records: NameRecord[], label: string): Buffer {
  const version = createHash('sha256').update(label).digest();
  const l = { list, version, entries: new Set(records.map((r) => r.entityId)).size, names: records.length };
  call(svc, beginRequest(l));
  for (const r of namesRequests(records, list, 1000)) call(svc, r);
  call(svc, commitRequest(l));
  return version;
}

async function withLists(config: object = {}): Promise<{ svc: ServiceHarness; sdn: Buffer; un: Buffer }> {
  const svc = await service(config);
  const sdn = loadList(svc, P.LIST_OFAC_SDN, [person('2001', 'viktor petrovich bout', 'BOUT, Viktor Petrovich'), person('2002', 'olga sokolova', 'SOKOLOVA, Olga')], 'sdn');
  const un = loadList(svc, P.LIST_UN, [person('QDi.401', 'hamid rahimi', 'Hamid Rahimi')], 'un');
  return { svc, sdn, un };
}

test('sanctions: a listed party holds with no rule set (its entry, score, list versions); a clean one is allowed, no alert', async () => {
  const { svc, sdn, un } = await withLists();
  const hit = pay(svc, 10n, 11n, 5000n, { creditor: 'viktor bout' });
  assert.is(hit.action, P.ACTION_HOLD, 'a listed creditor is held');
  assert.is(hit.by, P.RULE_SANCTIONS);
  assert.is(hit.party, P.PARTY_CREDITOR);
  assert.is(hit.list, P.LIST_OFAC_SDN);
  assert.is(hit.entity, '2001');
  assert.ok(hit.sanctions >= 850000, `score ${hit.sanctions} at or over the default threshold`);
  assert.is(hit.ofac, sdn.readUInt32LE(0), 'the OFAC version in force is named');
  assert.is(hit.un, un.readUInt32LE(0), 'the UN version in force is named');
  assert.is(hit.model.toString(16).padStart(8, '0'), FRAUD_MODEL_VERSION_HEX, 'the fraud model version is named');
  assert.ok(hit.alert >= 1, 'an alert was raised');
  const clean = pay(svc, 10n, 11n, 5000n, { debtor: 'anna schmidt', creditor: 'peter meyer' });
  assert.is(clean.action, P.ACTION_ALLOW);
  assert.is(clean.rules, 0);
  assert.is(clean.alert, 0, 'no alert');
  const un1 = pay(svc, 12n, 13n, 100n, { debtor: 'hamid rahimi' });
  assert.is([un1.action, un1.party, un1.list, un1.entity].join(), [P.ACTION_HOLD, P.PARTY_DEBTOR, P.LIST_UN, 'QDi.401'].join(), 'the UN list too, the debtor side');
});

test('sanctions with a rule set: screen_refuse refuses (RR04 is the payments side), screen_hold holds under it, not in the hold mask only alerts', async () => {
  const { svc } = await withLists();
  setRules(svc, { screen_hold: 800000, screen_refuse: 990000, hold: P.RULE_SANCTIONS });
  const exact = pay(svc, 10n, 11n, 100n, { creditor: 'viktor petrovich bout' });
  assert.is([exact.action, exact.by].join(), [P.ACTION_REFUSE, P.RULE_SANCTIONS].join(), 'an exact match refuses');
  const near = pay(svc, 10n, 11n, 100n, { creditor: 'viktor bout' });
  assert.is([near.action, near.by].join(), [P.ACTION_HOLD, P.RULE_SANCTIONS].join(), 'a close match holds');
  setRules(svc, { screen_hold: 800000 });
  const alerted = pay(svc, 10n, 11n, 100n, { creditor: 'viktor bout' });
  assert.is(alerted.action, P.ACTION_ALLOW, 'not in the hold mask: allowed');
  assert.is(alerted.rules, P.RULE_SANCTIONS, 'but the rule fired');
  assert.ok(alerted.alert > 0, 'and an alert was raised');
});

test('limits: per payment, the account\'s day, the customer\'s day, the counterparty\'s day; a refusal does not count; a new day starts again', async () => {
  const svc = await service();
  setRules(svc, { payment_max: 1000n, account_daily_max: 1500n, customer_daily_max: 2500n, counterparty_daily_max: 3000n });
  assert.is(pay(svc, 1n, 2n, 1001n).by, P.RULE_PAYMENT_MAX, 'over the per-payment maximum');
  assert.is(pay(svc, 1n, 2n, 1000n).action, P.ACTION_ALLOW, 'at the maximum');
  const over = pay(svc, 1n, 2n, 501n);
  assert.is([over.action, over.by].join(), [P.ACTION_REFUSE, P.RULE_ACCOUNT_DAILY].join(), 'the account\'s day over');
  assert.is(pay(svc, 1n, 2n, 500n).action, P.ACTION_ALLOW, 'the refused one did not count: 1000 + 500 is the day\'s maximum');
  // The customer: accounts 3, 4 and 10 of one owner.
  assert.is(pay(svc, 3n, 9n, 1000n, { customer: 'ACME LTD' }).action, P.ACTION_ALLOW);
  assert.is(pay(svc, 4n, 9n, 1000n, { customer: 'ACME LTD' }).action, P.ACTION_ALLOW);
  const cust = pay(svc, 10n, 9n, 501n, { customer: 'ACME LTD' });
  assert.is([cust.action, cust.by, cust.alert].join(), [P.ACTION_REFUSE, P.RULE_CUSTOMER_DAILY, 0].join(), 'the customer\'s day over across accounts; no case');
  assert.is(pay(svc, 5n, 9n, 501n, { customer: 'OTHER LTD' }).action, P.ACTION_ALLOW, 'another customer is apart');
  // The counterparty 9 has received 2501 today.
  assert.is(pay(svc, 6n, 9n, 500n).by, P.RULE_COUNTERPARTY, 'the counterparty\'s day over');
  assert.is(pay(svc, 6n, 8n, 500n).action, P.ACTION_ALLOW, 'another counterparty');
  svc.timeNs += DAY;
  assert.is(pay(svc, 1n, 2n, 1000n).action, P.ACTION_ALLOW, 'a new day');
  assert.is(pay(svc, 6n, 9n, 1000n).action, P.ACTION_ALLOW, 'a new day for the counterparty too');
});

test('amount threshold: alerts (and holds when in the mask); under it: silent', async () => {
  const svc = await service();
  setRules(svc, { amount_threshold: 10000n });
  const at = pay(svc, 1n, 2n, 10000n);
  assert.is([at.action, at.rules].join(), [P.ACTION_ALLOW, P.RULE_AMOUNT].join(), 'fires, alert only');
  assert.ok(at.alert > 0);
  assert.is(pay(svc, 1n, 2n, 9999n).rules, 0, 'under it: silent');
  setRules(svc, { amount_threshold: 10000n, hold: P.RULE_AMOUNT });
  assert.is(pay(svc, 1n, 2n, 20000n).action, P.ACTION_HOLD, 'in the hold mask: held');
});

test('velocity: the count and the sum in the window fire; spaced out beyond it: silent', async () => {
  const svc = await service();
  setRules(svc, { velocity_count: 2, velocity_sum: 1000n, velocity_window_s: 600 });
  assert.is(pay(svc, 1n, 2n, 10n).rules, 0);
  assert.is(pay(svc, 1n, 2n, 10n).rules, 0);
  assert.is(pay(svc, 1n, 2n, 10n).rules, P.RULE_VELOCITY, 'a third in the window: over the count');
  assert.is(pay(svc, 7n, 2n, 999n).rules, 0);
  svc.timeNs += 10n * S;
  assert.is(pay(svc, 8n, 2n, 600n).rules, 0, 'another account is apart');
  assert.is(pay(svc, 7n, 2n, 2n).rules, P.RULE_VELOCITY, 'over the sum');
  for (let i = 0; i < 3; i++) {
    svc.timeNs += 601n * S;
    assert.is(pay(svc, 9n, 2n, 10n).rules, 0, `control: one payment a window (${i + 1})`);
  }
});

test('structuring: payments just under the threshold in the window fire on the count; the same count well under it: silent', async () => {
  const svc = await service();
  setRules(svc, { structuring_threshold: 10000n, structuring_margin_bps: 1000, structuring_count: 3, structuring_window_s: 86400 });
  assert.is(pay(svc, 1n, 2n, 9500n).rules, 0);
  svc.timeNs += 3600n * S;
  assert.is(pay(svc, 1n, 3n, 9000n).rules, 0, '9000 is just under (within 10%)');
  svc.timeNs += 3600n * S;
  assert.is(pay(svc, 1n, 4n, 9999n).rules, P.RULE_STRUCTURING, 'the third just under');
  for (const a of [5000n, 5000n, 5000n, 10000n]) assert.is(pay(svc, 5n, 2n, a).rules, 0, `control: ${a} is not just under`);
});

test('rapid in-and-out: most of an inflow sent on within the window fires; later, or a small part: silent', async () => {
  const svc = await service();
  setRules(svc, { rapid_window_s: 3600, rapid_ratio_bps: 8000 });
  assert.is(pay(svc, 50n, 1n, 10000n).rules, 0, 'the inflow into account 1');
  svc.timeNs += 600n * S;
  assert.is(pay(svc, 1n, 60n, 7999n).rules, 0, 'under 80% of it');
  assert.is(pay(svc, 1n, 61n, 8000n).rules, P.RULE_RAPID, '80% within the hour');
  assert.is(pay(svc, 51n, 2n, 10000n).rules, 0);
  svc.timeNs += 3601n * S;
  assert.is(pay(svc, 2n, 60n, 10000n).rules, 0, 'after the window: silent');
  assert.is(pay(svc, 52n, 3n, 10000n, { flags: P.CHECK_F_DEBIT_CUSTOMER }).rules, 0, 'an inflow to an agent\'s account is not remembered');
  assert.is(pay(svc, 3n, 60n, 10000n).rules, 0, 'so its outflow is not rapid');
});

test('dormant: a quiet account waking with a large payment fires; a small one, or a recently active one: silent', async () => {
  const svc = await service();
  setRules(svc, { dormant_days: 90, dormant_amount: 5000n });
  pay(svc, 1n, 2n, 10n);
  pay(svc, 3n, 2n, 10n);
  svc.timeNs += 91n * DAY;
  assert.is(pay(svc, 3n, 2n, 4999n).rules, 0, 'small: silent (and the account is active again)');
  assert.is(pay(svc, 1n, 2n, 5000n).rules, P.RULE_DORMANT, 'large after 91 days');
  svc.timeNs += DAY;
  assert.is(pay(svc, 1n, 2n, 50000n).rules, 0, 'active yesterday: silent');
});

test('high-risk countries: either party\'s fires; others: silent', async () => {
  const svc = await service();
  setRules(svc, { countries: ['KP', 'IR'], hold: P.RULE_HIGH_RISK });
  const d = pay(svc, 1n, 2n, 10n, { creditorCountry: 'IR' });
  assert.is([d.rules, d.action].join(), [P.RULE_HIGH_RISK, P.ACTION_HOLD].join());
  assert.is(pay(svc, 1n, 2n, 10n, { debtorCountry: 'KP', creditorCountry: 'DE' }).rules, P.RULE_HIGH_RISK);
  assert.is(pay(svc, 1n, 2n, 10n, { debtorCountry: 'DE', creditorCountry: 'FR' }).rules, 0, 'control');
});

test('fraud: the score is in every decision; fraud_hold fires and holds, fraud_refuse refuses; a night takeover scores above a daytime routine payment', async () => {
  const svc = await service();
  setRules(svc, { fraud_hold: 300000, fraud_refuse: 900000, hold: P.RULE_FRAUD });
  // A routine: account 1 pays payee 2 the same amount every few days.
  for (let i = 0; i < 8; i++) { svc.timeNs += 3n * DAY; pay(svc, 1n, 2n, 12345n); }
  const routine = pay(svc, 1n, 2n, 12345n);
  assert.is(routine.action, P.ACTION_ALLOW, `routine allowed (score ${routine.fraud})`);
  // The same account, quiet for months, at 03:00 sends fifty times its usual to a new payee abroad.
  svc.timeNs += 200n * DAY - (svc.timeNs % DAY) + 3n * 3600n * S;
  const takeover = pay(svc, 1n, 99n, 12345n * 50n);
  assert.ok(takeover.fraud > routine.fraud, `takeover ${takeover.fraud} over routine ${routine.fraud}`);
  assert.ok(takeover.fraud >= 300000, `the takeover scores at least fraud_hold: ${takeover.fraud}`);
  assert.ok((takeover.rules & P.RULE_FRAUD) !== 0 && takeover.action !== P.ACTION_ALLOW, 'fires and holds or refuses');
});

test('alerts: one per decision whose rules fired, in the alerts table and on the event stream', async () => {
  const svc = await service();
  setRules(svc, { amount_threshold: 100n, hold: P.RULE_AMOUNT });
  const before = svc.emitted.length;
  const ds = checkAll(svc, [
    { payment: 501n, amount: 100n, debit: 1n, credit: 2n }, { payment: 502n, amount: 99n, debit: 1n, credit: 2n },
    { payment: 503n, amount: 500n, debit: 3n, credit: 2n },
  ]);
  assert.equal(ds.map((d) => d.alert > 0), [true, false, true]);
  const events = svc.emitted.slice(before);
  assert.is(events.length, 1, 'one event record for the check');
  assert.is(events[0].type, abi.EVT_ALERT);
  assert.is(events[0].count, 2, 'two alerts');
  assert.equal([0, 1].map((i) => events[0].payload.readBigUInt64LE(i * P.ALERT_BYTES + P.ALERT_PAYMENT)), [501n, 503n]);
  const list = listAlerts(svc, {});
  assert.equal(list.alerts.map((a) => a.payment), [501n, 503n]);
  assert.ok(list.alerts.every((a) => a.state === P.CASE_OPEN && a.action === P.ACTION_HOLD && a.rules === P.RULE_AMOUNT));
});

// ---- alerts, cases and the lists ----

interface Alert { id: number; rules: number; payment: bigint; state: number; action: number; outcome: number; assignee: string; reason: number; updates: number; decision: bigint }

function alertAt(b: Buffer, at: number): Alert {
  return {
    id: b.readUInt32LE(at + P.ALERT_ID), rules: b.readUInt32LE(at + P.ALERT_RULES), payment: b.readBigUInt64LE(at + P.ALERT_PAYMENT),
    state: b[at + P.ALERT_STATE], action: b[at + P.ALERT_ACTION], outcome: b[at + P.ALERT_OUTCOME],
    assignee: b.toString('latin1', at + P.ALERT_ASSIGNEE, at + P.ALERT_ASSIGNEE + b[at + P.ALERT_ASSIGNEE_LENGTH]),
    reason: b.readUInt32LE(at + P.ALERT_CLOSE_REASON), updates: b.readUInt32LE(at + P.ALERT_UPDATES), decision: b.readBigUInt64LE(at + P.ALERT_DECISION),
  };
}

function filter(f: { after?: bigint; from?: bigint; to?: bigint; limit?: number; state?: number; ledger?: number }): Buffer {
  const b = Buffer.alloc(P.FILTER_BYTES);
  b.writeBigUInt64LE(f.after ?? 0n, P.FILTER_AFTER);
  b.writeBigUInt64LE(f.from ?? 0n, P.FILTER_FROM);
  b.writeBigUInt64LE(f.to ?? 0n, P.FILTER_TO);
  b.writeUInt16LE(f.limit ?? 100, P.FILTER_LIMIT);
  b[P.FILTER_STATE] = f.state ?? 0;
  b.writeUInt32LE(f.ledger ?? 0, P.FILTER_LEDGER);
  return b;
}

function listAlerts(svc: ServiceHarness, f: Parameters<typeof filter>[0]): { alerts: Alert[]; last: bigint } {
  const r = call(svc, Buffer.concat([header(P.Op.alerts_list, 1), filter(f)]));
  assert.is(refusedWith(r), null, 'the list was answered');
  return { alerts: Array.from({ length: r.readUInt32LE(0) }, (_, i) => alertAt(r, P.REPLY_HEADER_BYTES + i * P.ALERT_BYTES)), last: r.readBigUInt64LE(8) };
}

function listDecisions(svc: ServiceHarness, f: Parameters<typeof filter>[0]): { decisions: Decision[]; last: bigint } {
  const r = call(svc, Buffer.concat([header(P.Op.decisions_list, 1), filter(f)]));
  assert.is(refusedWith(r), null, 'the list was answered');
  return { decisions: Array.from({ length: r.readUInt32LE(0) }, (_, i) => decisionAt(r, P.REPLY_HEADER_BYTES + i * P.DECISION_BYTES)), last: r.readBigUInt64LE(8) };
}

function caseRequest(alert: number, action: number, o: { assignee?: string; outcome?: number; reason?: number } = {}): Buffer {
  const b = Buffer.alloc(P.CASE_BYTES);
  b.writeUInt32LE(alert, P.CASE_ALERT);
  b[P.CASE_ACTION] = action;
  b[P.CASE_OUTCOME] = o.outcome ?? 0;
  if (o.assignee !== undefined) { b[P.CASE_ASSIGNEE_LENGTH] = o.assignee.length; b.write(o.assignee, P.CASE_ASSIGNEE, 'latin1'); }
  b.writeUInt32LE(o.reason ?? 0, P.CASE_REASON);
  return Buffer.concat([header(P.Op.case_update, 1), b]);
}

function update(svc: ServiceHarness, alert: number, action: number, o: Parameters<typeof caseRequest>[2] = {}): { alert: Alert; changed: boolean; repeated: boolean } {
  const r = call(svc, caseRequest(alert, action, o));
  assert.is(refusedWith(r), null, 'the update was taken');
  return { alert: alertAt(r, P.REPLY_HEADER_BYTES), changed: r.readBigUInt64LE(8) === 1n, repeated: (r.readUInt32LE(4) & P.REPLY_F_REPEATED) !== 0 };
}

test('cases: assign, escalate, close with the outcome a hold needs; a closed case is final; the same close again is answered as it stands', async () => {
  const svc = await service();
  setRules(svc, { amount_threshold: 100n, hold: P.RULE_AMOUNT, countries: ['KP'] });
  const held = pay(svc, 1n, 2n, 500n).alert;
  const noted = pay(svc, 1n, 2n, 5n, { creditorCountry: 'KP' }).alert;
  const emitted = svc.emitted.length;
  assert.is(update(svc, held, P.CASE_ACT_ASSIGN, { assignee: 'officer.kim' }).alert.state, P.CASE_ASSIGNED);
  assert.is(svc.emitted.length, emitted + 1, 'the case\'s change is an event');
  assert.is(svc.emitted[emitted].payload[P.ALERT_STATE], P.CASE_ASSIGNED, 'the alert as it is now');
  const esc = update(svc, held, P.CASE_ACT_ESCALATE, { assignee: 'mlro' }).alert;
  assert.is([esc.state, esc.assignee, esc.updates].join(), [P.CASE_ESCALATED, 'mlro', 2].join());
  const wrong = refusedCode(svc, caseRequest(held, P.CASE_ACT_CLOSE, { outcome: P.OUTCOME_NOTED, reason: P.CLOSE_FALSE_POSITIVE }));
  assert.is(wrong.code, P.REFUSED_CASE, `a hold cannot close noted: ${wrong.why}`);
  const closed = update(svc, held, P.CASE_ACT_CLOSE, { outcome: P.OUTCOME_RELEASE, reason: P.CLOSE_EXPLAINED });
  assert.is([closed.alert.state, closed.alert.outcome, closed.alert.reason, closed.changed].join(), [P.CASE_CLOSED, P.OUTCOME_RELEASE, P.CLOSE_EXPLAINED, true].join());
  const again = update(svc, held, P.CASE_ACT_CLOSE, { outcome: P.OUTCOME_RELEASE, reason: P.CLOSE_EXPLAINED });
  assert.ok(again.repeated && !again.changed, 'the same close again: answered as it stands');
  assert.is(svc.emitted.length, emitted + 3, 'assign, escalate, close: three events; the repeat none');
  assert.is(again.alert.updates, 3, 'and not counted');
  assert.is(refusedCode(svc, caseRequest(held, P.CASE_ACT_CLOSE, { outcome: P.OUTCOME_REJECT, reason: P.CLOSE_CONFIRMED })).code, P.REFUSED_CASE, 'another close');
  assert.is(refusedCode(svc, caseRequest(held, P.CASE_ACT_ASSIGN, { assignee: 'x' })).code, P.REFUSED_CASE, 'an assignment after the close');
  assert.is(refusedCode(svc, caseRequest(noted, P.CASE_ACT_CLOSE, { outcome: P.OUTCOME_RELEASE, reason: P.CLOSE_OTHER })).code, P.REFUSED_CASE, 'no hold: release is not an outcome');
  assert.is(update(svc, noted, P.CASE_ACT_CLOSE, { outcome: P.OUTCOME_NOTED, reason: P.CLOSE_FALSE_POSITIVE }).alert.state, P.CASE_CLOSED);
  assert.is(refusedCode(svc, caseRequest(999, P.CASE_ACT_ESCALATE)).code, P.REFUSED_NOT_FOUND);
  const malformed: [string, Buffer][] = [
    ['unknown action', caseRequest(held, 9)], ['assign without a name', caseRequest(noted, P.CASE_ACT_ASSIGN)],
    ['a close without a reason', caseRequest(noted, P.CASE_ACT_CLOSE, { outcome: P.OUTCOME_NOTED })],
    ['an outcome without a close', caseRequest(noted, P.CASE_ACT_ESCALATE, { outcome: P.OUTCOME_NOTED })],
    ['a control character', caseRequest(noted, P.CASE_ACT_ASSIGN, { assignee: 'a\nb' })],
  ];
  for (const [what, req] of malformed) assert.is(refusedCode(svc, req).code, P.REFUSED_MALFORMED, what);
  assert.equal(listAlerts(svc, { state: P.CASE_CLOSED }).alerts.map((a) => a.id), [held, noted], 'both closed, nothing else changed them');
});

test('lists: alerts and decisions page by id and sequence, filter by state, action, ledger and period; decisions older than the ring are gone', async () => {
  const svc = await service();
  setRules(svc, { amount_threshold: 100n, hold: P.RULE_AMOUNT }, { ledger: 2, payment_max: 10n });
  const t0 = svc.timeNs;
  for (let i = 0; i < 30; i++) { pay(svc, 1n, 2n, i % 2 === 0 ? 500n : 5n); svc.timeNs += S; }
  for (let i = 0; i < 30; i++) { pay(svc, 3n, 4n, 20n, { ledger: 2 }); svc.timeNs += S; }
  const page1 = listAlerts(svc, { limit: 10 });
  const page2 = listAlerts(svc, { limit: 10, after: page1.last });
  assert.is(page1.alerts.length + page2.alerts.length, 15, 'fifteen alerts: every other payment of ledger 1; ledger 2\'s refusals by a limit raise none');
  assert.ok(page2.alerts[0].id > page1.alerts[9].id, 'the next page goes on');
  assert.is(listAlerts(svc, { limit: 10, after: page2.last }).alerts.length, 0, 'and ends');
  assert.is(listAlerts(svc, { from: t0 + 10n * S, to: t0 + 19n * S }).alerts.length, 5, 'a period');
  assert.is(listAlerts(svc, { ledger: 2 }).alerts.length, 0, 'by ledger');
  const refusals = listDecisions(svc, { state: P.ACTION_REFUSE, limit: 1000 });
  assert.is(refusals.decisions.length, 30, 'ledger 2\'s refusals, within the ring of 50');
  assert.ok(refusals.decisions.every((d) => d.ledger === 2 && d.by === P.RULE_PAYMENT_MAX));
  const all = listDecisions(svc, { limit: 1000 });
  assert.is(all.decisions.length, 50, 'the ring keeps decisions_max');
  assert.is(all.decisions[0].sequence, 11n, 'the oldest ten are gone');
  assert.is(listDecisions(svc, { ledger: 1, limit: 1000 }).decisions.length, 20);
  for (const [what, f] of [['limit 0', { limit: 0 }], ['limit over LIST_MAX', { limit: P.LIST_MAX + 1 }], ['to before from', { from: 5n, to: 4n }]] as const) {
    assert.is(refusedCode(svc, Buffer.concat([header(P.Op.alerts_list, 1), filter(f)])).code, P.REFUSED_MALFORMED, what);
  }
});

test('bad input: malformed checks and rule sets are refused whole and change nothing; with the alerts table full a payment that needs a case is refused', async () => {
  const svc = await service({ alerts_max: 2 });
  setRules(svc, { payment_max: 1000n, amount_threshold: 100n });
  const version = call(svc, header(P.Op.rules_get, 0)).readBigUInt64LE(8);
  const good: Check = { payment: 1n, amount: 10n, debit: 1n, credit: 2n };
  const bad: [string, Buffer][] = [
    ['payment id 0', checkRecord({ ...good, payment: 0n })], ['unknown flag', checkRecord({ ...good, flags: 8 })],
    ['an upper-case name', checkRecord({ ...good, debtor: 'Anna' })], ['a double space', checkRecord({ ...good, creditor: 'a  b' })],
    ['seventeen words', checkRecord({ ...good, creditor: Array.from({ length: 17 }, () => 'ab').join(' ') })],
    ['a lower-case country', checkRecord({ ...good, debtorCountry: 'de' })],
    ['a customer too long', (() => { const b = checkRecord(good); b[P.CHECK_CUSTOMER] = P.CUSTOMER_MAX + 1; return b; })()],
    ['reserved bytes', (() => { const b = checkRecord(good); b[316] = 1; return b; })()],
    ['bytes after a name', (() => { const b = checkRecord({ ...good, debtor: 'ab' }); b[P.CHECK_DEBTOR_NAME + 5] = 0x61; return b; })()],
  ];
  for (const [what, rec] of bad) {
    const r = refusedCode(svc, Buffer.concat([header(P.Op.check, 2), checkRecord({ ...good, payment: 9n, amount: 5000n }), rec]));
    assert.is(r.code, P.REFUSED_MALFORMED, what);
  }
  assert.is(listDecisions(svc, { limit: 100 }).decisions.length, 0, 'nothing was decided, not even the good record before the bad one');
  const badRules: [string, Rules][] = [
    ['a limit in the hold mask', { hold: P.RULE_PAYMENT_MAX }], ['refuse under hold', { fraud_hold: 500000, fraud_refuse: 400000 }],
    ['a score over 1', { screen_hold: 1000001 }], ['velocity without a window', { velocity_count: 3 }],
    ['structuring without a count', { structuring_threshold: 1000n, structuring_window_s: 60 }], ['a country in lower case', { countries: ['kp'] }],
    ['ledger 0', { ledger: 0 }],
  ];
  for (const [what, r] of badRules) assert.is(refusedCode(svc, Buffer.concat([header(P.Op.rules_set, 1), rulesRecord(r)])).code, P.REFUSED_MALFORMED, what);
  assert.is(refusedCode(svc, Buffer.concat([header(P.Op.rules_set, 2), rulesRecord({}), rulesRecord({})])).code, P.REFUSED_MALFORMED, 'two sets of one ledger');
  assert.is(call(svc, header(P.Op.rules_get, 0)).readBigUInt64LE(8), version, 'the rules in force are the same version');
  assert.is(pay(svc, 1n, 2n, 1001n).by, P.RULE_PAYMENT_MAX, 'and still refuse');
  assert.ok(pay(svc, 1n, 2n, 500n).alert > 0, 'an alert');
  assert.is(listAlerts(svc, {}).alerts.length, 2, 'two alerts (the refusal over payment_max was over the threshold too): the table is full');
  const full = pay(svc, 1n, 2n, 700n);
  assert.is([full.action, full.by, full.alert].join(), [P.ACTION_REFUSE, P.RULE_CAPACITY, 0].join(), 'a payment that needs a case is refused');
  assert.is(pay(svc, 1n, 2n, 50n).action, P.ACTION_ALLOW, 'one that needs none goes on');
});

test('config: the manifest\'s rules are in force at boot (version 1); rules_get answers them; rules_set replaces them all', async () => {
  const svc = await service({ rules: [{ ledger: 1, payment_max: 1000, hold: ['amount'], amount_threshold: 500 }, { ledger: 3, high_risk_countries: ['KP'] }] });
  const got = call(svc, header(P.Op.rules_get, 0));
  assert.is(got.readUInt32LE(0), 2);
  assert.is(got.readBigUInt64LE(8), 1n, 'version 1');
  assert.equal(got.subarray(P.REPLY_HEADER_BYTES), Buffer.concat([rulesRecord({ payment_max: 1000n, hold: P.RULE_AMOUNT, amount_threshold: 500n }), rulesRecord({ ledger: 3, countries: ['KP'] })]));
  assert.is(pay(svc, 1n, 2n, 600n).action, P.ACTION_HOLD);
  assert.is(setRules(svc, { ledger: 2 }), 2n, 'version 2');
  assert.is(pay(svc, 1n, 2n, 6000n).action, P.ACTION_ALLOW, 'ledger 1 has no rule set now');
  for (const bad of [{ rules: [{ ledger: 1, nope: 1 }] }, { rules: [{ ledger: 1, hold: ['payment_max'] }] }, { rules: [{ ledger: 1 }, { ledger: 1 }] }]) {
    const s = await ServiceHarness.load(WASM, { name: 'compliance', caps: ['log', 'time'], memoryPagesMax: BANK.memory_pages_max, messageBytesMax: 1 << 20 });
    assert.throws(() => s.init(bad), /unreachable|RuntimeError/, `a bad config traps at boot: ${JSON.stringify(bad)}`);
    assert.ok(s.logs.some((l) => l.startsWith('compliance config: ')), 'and the log says why');
  }
});

function ownersRequest(owners: { account: bigint; name: string; ledger?: number }[]): Buffer {
  return Buffer.concat([header(P.Op.accounts_screen, owners.length), ...owners.map((o) => {
    const b = Buffer.alloc(P.OWNER_BYTES);
    b.writeUInt32LE(o.ledger ?? LEDGER, P.OWNER_LEDGER);
    b[P.OWNER_NAME_LENGTH] = o.name.length;
    u128(b, P.OWNER_ACCOUNT, o.account);
    b.write(o.name, P.OWNER_NAME, 'latin1');
    return b;
  })]);
}

function screenOwners(svc: ServiceHarness, owners: Parameters<typeof ownersRequest>[0]): { matches: bigint; results: { score: number; entity: string; changed: boolean; alert: number }[] } {
  const r = call(svc, ownersRequest(owners));
  assert.is(refusedWith(r), null, 'the owners were screened');
  return {
    matches: r.readBigUInt64LE(8),
    results: owners.map((_, i) => {
      const at = P.REPLY_HEADER_BYTES + i * P.SCREENED_BYTES;
      return {
        score: r.readUInt32LE(at + P.SCREENED_SCORE), entity: r.toString('latin1', at + P.SCREENED_ID, at + P.SCREENED_ID + r[at + P.SCREENED_ID_LENGTH]),
        changed: r[at + P.SCREENED_CHANGED] === 1, alert: r.readUInt32LE(at + P.SCREENED_ALERT),
      };
    }),
  };
}

test('account owners: a listed owner marks the account (an alert once), every payment to or from it is a match whatever the message names; a list update clears it', async () => {
  const { svc } = await withLists();
  const first = screenOwners(svc, [{ account: 70n, name: 'olga sokolova' }, { account: 71n, name: 'karl weber' }]);
  assert.is(first.matches, 1n);
  assert.is([first.results[0].entity, first.results[0].changed, first.results[0].alert > 0].join(), '2002,true,true', 'a match, marked, an alert');
  assert.is([first.results[1].score, first.results[1].changed, first.results[1].alert].join(), '0,false,0', 'a clean owner');
  const toListed = pay(svc, 1n, 70n, 100n, { creditor: 'o sokolova trading' });
  assert.is([toListed.action, toListed.party, toListed.entity].join(), [P.ACTION_HOLD, P.PARTY_CREDITOR, '2002'].join(), 'a payment to the account holds');
  const fromListed = pay(svc, 70n, 1n, 100n, { flags: P.CHECK_F_CREDIT_CUSTOMER });
  assert.is([fromListed.action, fromListed.party].join(), [P.ACTION_HOLD, P.PARTY_DEBTOR].join(), 'from it too, even as an agent\'s account and with no names');
  assert.is(pay(svc, 1n, 71n, 100n).action, P.ACTION_ALLOW, 'the clean owner\'s account');
  const again = screenOwners(svc, [{ account: 70n, name: 'olga sokolova' }]);
  assert.is([again.results[0].changed, again.results[0].alert].join(), 'false,0', 'the same match again: no new alert');
  loadList(svc, P.LIST_OFAC_SDN, [person('2001', 'viktor petrovich bout', 'BOUT, Viktor Petrovich')], 'sdn-2');
  const cleared = screenOwners(svc, [{ account: 70n, name: 'olga sokolova' }]);
  assert.is([cleared.matches, cleared.results[0].changed].join(), '0,true', 'delisted: the mark cleared');
  assert.is(pay(svc, 1n, 70n, 100n).action, P.ACTION_ALLOW, 'and payments go');
  for (const bad of [[{ account: 1n, name: 'Olga' }], [{ account: 1n, name: '' }], [{ account: 1n, name: 'x', ledger: 0 }]]) {
    assert.is(refusedCode(svc, ownersRequest(bad)).code, P.REFUSED_MALFORMED, JSON.stringify(bad, (_, v) => typeof v === 'bigint' ? String(v) : v));
  }
});

function orders(svc: ServiceHarness, os: { value: bigint; price: bigint; reference?: bigint; position: bigint; account?: bigint; side?: number }[]): number[] {
  const body = os.map((o) => {
    const b = Buffer.alloc(P.ORDER_BYTES);
    b.writeUInt32LE(LEDGER, P.ORDER_LEDGER);
    b[P.ORDER_SIDE] = o.side ?? P.SIDE_BUY;
    b.writeUInt32LE(7, P.ORDER_INSTRUMENT);
    u128(b, P.ORDER_ACCOUNT, o.account ?? 1n);
    u128(b, P.ORDER_VALUE, o.value);
    b.writeBigUInt64LE(o.price, P.ORDER_PRICE);
    b.writeBigUInt64LE(o.reference ?? 0n, P.ORDER_REFERENCE);
    b.writeBigInt64LE(o.position, P.ORDER_POSITION);
    return b;
  });
  const r = call(svc, Buffer.concat([header(P.Op.pretrade, os.length), ...body]));
  const refusal = refusedWith(r);
  if (refusal !== null) return [-refusal.code];
  return os.map((_, i) => {
    const at = P.REPLY_HEADER_BYTES + i * P.ORDER_RESULT_BYTES;
    assert.is(r[at + P.ORDER_RESULT_ACTION], r.readUInt32LE(at + P.ORDER_RESULT_RULES) === 0 ? P.ACTION_ALLOW : P.ACTION_REFUSE, 'refused exactly when a rule is broken');
    return r.readUInt32LE(at + P.ORDER_RESULT_RULES);
  });
}

test('pre-trade: order value, position either way and the price band refuse at their edges; a listed owner\'s account refuses; no rule set allows; bad orders are refused', async () => {
  const { svc } = await withLists();
  assert.equal(orders(svc, [{ value: 10n ** 30n, price: 1n, position: 1n << 62n }]), [0], 'no rule set: nothing to break');
  setRules(svc, { order_value_max: 1_000_000n, position_max: 500n, price_band_bps: 1000 });
  assert.equal(orders(svc, [
    { value: 1_000_000n, price: 110n, reference: 100n, position: 500n }, { value: 1_000_001n, price: 100n, position: 0n },
    { value: 1n, price: 100n, position: -500n }, { value: 1n, price: 100n, position: -501n }, { value: 1n, price: 100n, position: 501n },
    { value: 1n, price: 111n, reference: 100n, position: 0n }, { value: 1n, price: 89n, reference: 100n, position: 0n },
    { value: 1n, price: 0xffffffffffffffffn, reference: 0xfffffffffffffff0n, position: -(1n << 63n) },
  ]), [0, P.RULE_ORDER_VALUE, 0, P.RULE_POSITION, P.RULE_POSITION, P.RULE_PRICE_BAND, P.RULE_PRICE_BAND, P.RULE_POSITION]);
  screenOwners(svc, [{ account: 5n, name: 'olga sokolova' }]);
  assert.equal(orders(svc, [{ value: 1n, price: 1n, position: 0n, account: 5n }]), [P.RULE_SANCTIONS], 'a listed owner trades nothing');
  assert.equal(orders(svc, [{ value: 1n, price: 0n, position: 0n }]), [-P.REFUSED_MALFORMED], 'price 0');
  assert.equal(orders(svc, [{ value: 1n, price: 1n, position: 0n, side: 3 }]), [-P.REFUSED_MALFORMED], 'an unknown side');
});

test('replay: the same requests on a fresh service give the same replies, byte for byte, and the same memory', async () => {
  const run = async () => {
    const { svc } = await withLists();
    setRules(svc, { amount_threshold: 1000n, velocity_count: 3, velocity_window_s: 60, fraud_hold: 200000, hold: P.RULE_FRAUD, countries: ['IR'] });
    const replies: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      svc.timeNs += BigInt(i * 7919) * S;
      const checks = Array.from({ length: 3 }, (_, k) => ({
        payment: BigInt(i * 3 + k + 1), amount: BigInt(((i * 37 + k * 11) % 50) * 100 + 1), debit: BigInt(1 + ((i + k) % 5)), credit: BigInt(6 + (i % 4)),
        creditor: k === 0 && i % 7 === 0 ? 'olga sokolova' : 'maria weber', creditorCountry: i % 9 === 0 ? 'IR' : 'DE',
      }));
      replies.push(call(svc, Buffer.concat([header(P.Op.check, 3), ...checks.map(checkRecord)])));
    }
    replies.push(call(svc, Buffer.concat([header(P.Op.decisions_list, 1), filter({ limit: 1000 })])));
    return { digest: createHash('sha256').update(Buffer.concat(replies)).digest('hex'), memory: svc.stateDigest().toString('hex'), replies };
  };
  const a = await run();
  const b = await run();
  assert.ok(a.replies.some((r) => r.readUInt32LE(0) > 0 && [0, 1, 2].some((i) => decisionAt(r, P.REPLY_HEADER_BYTES + i * P.DECISION_BYTES).alert > 0)), 'the run raised alerts');
  assert.is(a.digest, b.digest, 'the same replies');
  assert.is(a.memory, b.memory, 'the same memory');
});

test.run();
