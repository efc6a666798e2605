// test/bench/compliance-checks.ts: the payment checks part of the compliance
// benchmark (test/bench/compliance.bench.ts, issue 18):
//   checks    check records decided by the compliance service in this process
//             (services/sdk/harness.ts, the same wasm the kernel runs): both
//             parties screened against the full lists, the rule set below,
//             the fraud score, the activity table; batches of 100 (each timed)
//             and of CHECKS_PER_REQUEST (the most one request carries), and
//             batches of 100 without names (all but screening);
//   payments  pacs.008 end to end over HTTP, as test/bench/payments.bench.ts
//             sends them, on two images booted side by side from the bank
//             manifest: as shipped (payments "checks": true) and the same with
//             "checks": false; rounds alternate between them so that a
//             machine that gets busier midway weighs on both alike.
// Both use the same parties: the screening set's clean names, and every
// LISTED_EVERY-th creditor a perturbed list name (a sanctions hit, held), so
// that screening does its real work; with the clean names that score over
// the threshold, about one payment in eight is held.

import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as P from '../../services/compliance/protocol.ts';
import { partyName } from '../../host/compliance/names.ts';
import type { ScreeningSet } from '../support/screening-set.ts';
import { pacs008Numbered } from '../support/payments.ts';
import { bankManifestUnlimited, event, makeImage, removeDir, runCli, Server as TestServer, type TestImage } from '../support/helpers.ts';
import { median, percentile, ratio, ROOT, round, type Figures } from './support.ts';

/** The rule set in force on ledger 1 (USD) in both harnesses: amounts in minor units, as the config reader takes them. */
export const RULE_SET = {
  ledger: 1, amount_threshold: 1000000, payment_max: 100000000, account_daily_max: 1000000000, velocity_count: 100, velocity_window_s: 3600,
  structuring_threshold: 1000000, structuring_margin_bps: 1000, structuring_count: 3, structuring_window_s: 86400, rapid_window_s: 3600,
  rapid_ratio_bps: 8000, dormant_days: 90, dormant_amount: 1000000, fraud_hold: 900000, high_risk_countries: ['KP', 'IR'],
  // A sanctions hit is held for an officer (what a bank does); every other rule only raises an alert.
  hold: ['sanctions'],
};

const LISTED_EVERY = 50; // one creditor in 50 a list name
const LARGE_EVERY = 25; // one payment in 25 over amount_threshold (an alert, not a hold)
const HIGH_RISK_EVERY = 100; // one creditor in 100 in a high-risk country (an alert)
const SMALL_MINOR = 245000n; // the CBPR+ sample's 2450.00
const LARGE_MINOR = 1200000n;
const COUNTRIES = ['GB', 'RO', 'DE', 'FR', 'US', 'NL'];

// In process: batches of 100 timed one by one, then a few of the largest.
const SMALL_BATCH = 100;
const SMALL_BATCHES = 100;
const LARGE_BATCHES = 4;
// Distinct debit and credit accounts (disjoint, so that no rapid in-and-out
// fires) and customers: about 16 checks per debit account in all, under
// velocity_count, so the rules stay quiet and the table is what is exercised.
const DEBIT_ACCOUNTS = 2000;
const CUSTOMERS = 500;

// Over HTTP.
const ROUNDS = 5; // 3 were too few on this shared machine: one round of a variant ran at twice another's
const MESSAGES = 2000; // per round and image
const WARM_UP = 1000; // 300 left the first timed round of both variants at two thirds of the next
const CONNECTIONS = 64; // as payments.bench.ts
const AGENTS = 8; // debtor agents, each its own settlement account (the debit of an incoming pacs.008)
const CREDITORS = 32; // creditor accounts (customers: their inflow is in the activity table)

/** What the checks and payments parts ran with (the JSON's params). */
export const CHECKS_PARAMS = {
  check_batches: SMALL_BATCHES, check_batch: SMALL_BATCH, check_large_batches: LARGE_BATCHES, payments_rounds: ROUNDS, payments_messages_per_round: MESSAGES,
  payments_warm_up: WARM_UP, payments_connections: CONNECTIONS, payments_agents: AGENTS, payments_creditors: CREDITORS,
};

/** Party names both parts use: clean ones, and list names (perturbed) for the few hits. */
export function partyNames(set: ScreeningSet): { clean: string[]; listed: string[] } {
  // The CBPR+ character set, and room in a normalised slot.
  const fits = (s: string) => /^[A-Za-z0-9 .,'-]{1,70}$/.test(s) && partyName(s).length > 0 && partyName(s).length <= P.NORMALIZED_MAX;
  return { clean: set.negatives.map((n) => n.query).filter(fits), listed: set.positives.map((p) => p.query).filter(fits) };
}

interface Party { debtor: string; creditor: string; creditorCountry: string; amountMinor: bigint }

/** Payment `i`'s parties and amount (the same sequence in process and over HTTP). */
function party(names: { clean: string[]; listed: string[] }, i: number): Party {
  const c = names.clean;
  const creditor = i % LISTED_EVERY === LISTED_EVERY - 1 ? names.listed[Math.floor(i / LISTED_EVERY) % names.listed.length] : c[(i * 7 + 3) % c.length];
  return {
    debtor: c[i % c.length], creditor, amountMinor: i % LARGE_EVERY === LARGE_EVERY - 1 ? LARGE_MINOR : SMALL_MINOR,
    creditorCountry: i % HIGH_RISK_EVERY === HIGH_RISK_EVERY - 1 ? 'IR' : COUNTRIES[i % COUNTRIES.length],
  };
}

// ---- in process ----

function u128(b: Buffer, at: number, v: bigint): void {
  b.writeBigUInt64LE(v & 0xffffffffffffffffn, at);
  b.writeBigUInt64LE(v >> 64n, at + 8);
}

function latin1(b: Buffer, lengthAt: number, at: number, text: string): void {
  b[lengthAt] = text.length;
  b.write(text, at, 'latin1');
}

/** Check record `i` as the payments service writes it for a customer's payment (debit and credit both customers'). */
function checkRecord(names: { clean: string[]; listed: string[] }, i: number, withNames = true): Buffer {
  const p = party(names, i);
  const b = Buffer.alloc(P.CHECK_BYTES);
  b.writeBigUInt64LE(BigInt(i + 1), P.CHECK_PAYMENT);
  b.writeUInt32LE(RULE_SET.ledger, P.CHECK_LEDGER);
  b[P.CHECK_SOURCE] = 1;
  b[P.CHECK_FLAGS] = P.CHECK_F_DEBIT_CUSTOMER | P.CHECK_F_CREDIT_CUSTOMER;
  u128(b, P.CHECK_AMOUNT, p.amountMinor);
  u128(b, P.CHECK_DEBIT, 1_000_000n + BigInt(i % DEBIT_ACCOUNTS));
  u128(b, P.CHECK_CREDIT, 2_000_000n + BigInt((i * 13) % DEBIT_ACCOUNTS));
  b.write('GB', P.CHECK_DEBTOR_COUNTRY, 'latin1');
  b.write(p.creditorCountry, P.CHECK_CREDITOR_COUNTRY, 'latin1');
  if (withNames) latin1(b, P.CHECK_DEBTOR_LENGTH, P.CHECK_DEBTOR_NAME, partyName(p.debtor));
  if (withNames) latin1(b, P.CHECK_CREDITOR_LENGTH, P.CHECK_CREDITOR_NAME, partyName(p.creditor));
  latin1(b, P.CHECK_CUSTOMER, P.CHECK_CUSTOMER + 1, `Customer ${i % CUSTOMERS}`);
  return b;
}

interface Tally { allow: number; hold: number; refuse: number; alerts: number }

/** A check request of records `from`..`from + count`. */
function batchRequest(names: { clean: string[]; listed: string[] }, from: number, count: number, withNames = true): Buffer {
  const h = Buffer.alloc(P.HEADER_BYTES);
  h[P.HEADER_OP] = P.Op.check;
  h.writeUInt32LE(count, P.HEADER_COUNT);
  return Buffer.concat([h, ...Array.from({ length: count }, (_, k) => checkRecord(names, from + k, withNames))]);
}

/** Tallies the decisions of a check reply into `t`. */
function tally(reply: Buffer, t: Tally): void {
  if ((reply.readUInt32LE(4) & P.REPLY_F_REFUSED) !== 0) throw new Error(`check refused: ${reply.toString('latin1', P.REPLY_HEADER_BYTES)}`);
  for (let k = 0; k < reply.readUInt32LE(0); k++) {
    const d = P.REPLY_HEADER_BYTES + k * P.DECISION_BYTES;
    const action = reply[d + P.DEC_ACTION];
    if (action === P.ACTION_ALLOW) t.allow++; else if (action === P.ACTION_HOLD) t.hold++; else t.refuse++;
    if (reply.readUInt32LE(d + P.DEC_ALERT) !== 0) t.alerts++;
  }
}

/** Sends each request (built before: only the service's work is timed), a simulated second apart; the time of each. */
function sendTimed(svc: ServiceHarness, requests: Buffer[], t: Tally): number[] {
  const times: number[] = [];
  for (const r of requests) {
    svc.timeNs += 1_000_000_000n; // the windows move as they would
    const t0 = performance.now();
    const reply = svc.request(r)!.payload;
    times.push(performance.now() - t0);
    tally(reply, t);
  }
  return times;
}

/**
 * Checks decided inside the compliance service `svc` (lists loaded, RULE_SET
 * in force): batches of SMALL_BATCH each timed (the request only: the records
 * are built before), then LARGE_BATCHES of CHECKS_PER_REQUEST.
 */
export function checksInProcess(svc: ServiceHarness, names: { clean: string[]; listed: string[] }, figures: Figures, notes: string[]): void {
  const small: Tally = { allow: 0, hold: 0, refuse: 0, alerts: 0 };
  const large: Tally = { allow: 0, hold: 0, refuse: 0, alerts: 0 };
  sendTimed(svc, [batchRequest(names, 0, SMALL_BATCH)], small); // warm-up
  const smallRequests = Array.from({ length: SMALL_BATCHES }, (_, b) => batchRequest(names, (b + 1) * SMALL_BATCH, SMALL_BATCH));
  const times = sendTimed(svc, smallRequests, small);
  figures.check_per_s = round(SMALL_BATCH * times.length / (times.reduce((a, b) => a + b, 0) / 1000));
  figures.check_p50_ms = round(percentile(times, 50), 4);
  figures.check_p99_ms = round(percentile(times, 99), 4);
  const first = (SMALL_BATCHES + 1) * SMALL_BATCH;
  const largeRequests = Array.from({ length: LARGE_BATCHES }, (_, b) => batchRequest(names, first + b * P.CHECKS_PER_REQUEST, P.CHECKS_PER_REQUEST));
  const largeTimes = sendTimed(svc, largeRequests, large);
  figures.check_batch_3000_per_s = round(LARGE_BATCHES * P.CHECKS_PER_REQUEST / (largeTimes.reduce((a, b) => a + b, 0) / 1000));
  // The same batches of 100 without party names: everything but screening (rules, activity, fraud score, alerts, decisions kept).
  const after = first + LARGE_BATCHES * P.CHECKS_PER_REQUEST;
  const bare = sendTimed(svc, Array.from({ length: SMALL_BATCHES }, (_, b) => batchRequest(names, after + b * SMALL_BATCH, SMALL_BATCH, false)), large);
  figures.check_no_names_per_s = round(SMALL_BATCH * bare.length / (bare.reduce((a, b) => a + b, 0) / 1000));
  notes.push(`checks in process: ${SMALL_BATCHES} batches of ${SMALL_BATCH} (timed alone; records built before) then ${LARGE_BATCHES} of ${P.CHECKS_PER_REQUEST}, `
    + `then ${SMALL_BATCHES} of ${SMALL_BATCH} without names; `
    + `debit and credit customers' (${DEBIT_ACCOUNTS} debit accounts, ${DEBIT_ACCOUNTS} credit, ${CUSTOMERS} customers); decisions: `
    + `${small.allow + large.allow} allowed, ${small.hold + large.hold} held, ${small.refuse + large.refuse} refused, ${small.alerts + large.alerts} alerts raised`);
}

// ---- over HTTP ----

const agentBic = (a: number) => `BNK${String.fromCharCode(65 + a)}GB2LXXX`;
const creditorAccount = (c: number) => String(65479500 + c);
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');

/** pacs.008 number `n` (the CBPR+ sample, as payments.bench.ts sends it) from agent n % AGENTS to a creditor account, with payment `n`'s parties. */
function pacs008(names: { clean: string[]; listed: string[] }, n: number): string {
  const p = party(names, n);
  const amount = `${p.amountMinor / 100n}.${String(p.amountMinor % 100n).padStart(2, '0')}`;
  return pacs008Numbered(n + 1, agentBic(n % AGENTS))
    .replace('<pacs:IntrBkSttlmAmt Ccy="GBP">2450</pacs:IntrBkSttlmAmt>', `<pacs:IntrBkSttlmAmt Ccy="USD">${amount}</pacs:IntrBkSttlmAmt>`)
    .replace('<pacs:Nm>S Baldrick</pacs:Nm>', `<pacs:Nm>${escapeXml(p.debtor)}</pacs:Nm>`)
    .replace('<pacs:Nm>A Tate</pacs:Nm>', `<pacs:Nm>${escapeXml(p.creditor)}</pacs:Nm>`)
    .replace('<pacs:Ctry>RO</pacs:Ctry>', `<pacs:Ctry>${p.creditorCountry}</pacs:Ctry>`)
    .replace('<pacs:Id>65479512</pacs:Id>', `<pacs:Id>${creditorAccount((n * 13) % CREDITORS)}</pacs:Id>`);
}

interface Variant { checks: boolean; img: TestImage; server: TestServer; base: string; key: string }

/** The bank manifest (gateway rate limits off, as every bench that loads it hard) with RULE_SET, and payments' checks on or off. */
function variantImage(checks: boolean): TestImage {
  const m = bankManifestUnlimited();
  const compliance = m.services.find((s) => s.name === 'compliance')!;
  compliance.config = { ...compliance.config, rules: [RULE_SET] };
  const payments = m.services.find((s) => s.name === 'payments')!;
  if (payments.config?.checks !== true) throw new Error('the bank image ships with payments "checks": true');
  payments.config = { ...payments.config, checks };
  return makeImage(`bench-checks-${checks ? 'on' : 'off'}`, m);
}

/**
 * Boots `img` on a fresh data directory with both fixture lists imported
 * (`qenex lists import --data` before the boot) and a key of `role`: the
 * running server, its base URL and the key. The screening figures and the
 * payments variants start the same way.
 */
export async function bootWithLists(img: TestImage, role: string): Promise<{ server: TestServer; base: string; key: string }> {
  const data = join(img.dir, 'data');
  const fixtures = join(ROOT, 'test/fixtures/sanctions');
  const boot = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  if (boot.code !== 0) throw new Error(`boot --once: ${boot.stderr}`);
  for (const args of [['--list', 'un', '--file', join(fixtures, 'un/UN_consolidated.xml')],
    ['--list', 'ofac_sdn', ...['sdn', 'alt', 'add'].flatMap((f) => [`--${f}`, join(fixtures, `ofac/${f}.csv`)])]]) {
    const r = runCli(['lists', 'import', '--data', data, ...args]);
    if (r.code !== 0) throw new Error(`lists import: ${r.stderr}`);
  }
  const key = (event(runCli(['keys', 'create', '--data', data, '--role', role]).events, 'key_created') as { key: string }).key;
  const server = TestServer.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  return { server, base: `http://127.0.0.1:${(await server.address()).port}`, key };
}

/** Boots a variant on a fresh data dir with both lists imported, and sets up its accounts and directory. */
async function bootVariant(checks: boolean, img: TestImage): Promise<Variant> {
  const { server, base, key } = await bootWithLists(img, 'operator');
  const setup = async (path: string, body: unknown) => {
    const r = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  };
  const agents = Array.from({ length: AGENTS }, (_, a) => ({ id: String(100 + a), bic: agentBic(a) }));
  const creditors = Array.from({ length: CREDITORS }, (_, c) => ({ id: String(200 + c), number: creditorAccount(c) }));
  await setup('/v1/accounts', [...agents, ...creditors].map((a) => ({ id: a.id, ledger: 1, code: 1 })));
  await setup('/v1/payment-accounts', { accounts: [
    ...agents.map((a) => ({ bic: a.bic, ledger: 1, account: a.id })),
    ...creditors.map((c, k) => ({ account_id: c.number, ledger: 1, account: c.id, name: `Creditor ${k}` })),
  ] });
  return { checks, img, server, base, key };
}

interface Round { perSecond: number; latenciesMs: number[]; statuses: Map<string, number> }

/** Sends pacs.008 numbers from..from+count to `v`, CONNECTIONS in flight; the rate, latencies, and each answer's status (and reason) counted. */
async function sendRound(v: Variant, names: { clean: string[]; listed: string[] }, from: number, count: number): Promise<Round> {
  const latenciesMs: number[] = [];
  const statuses = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const body = pacs008(names, from + next++);
      const t0 = performance.now();
      const res = await fetch(`${v.base}/v1/payments/iso20022`, { method: 'POST', headers: { authorization: `Bearer ${v.key}`, 'content-type': 'application/xml' }, body });
      const json = await res.json().catch(() => null) as { transactions?: { status?: string; reason?: string }[] } | null;
      latenciesMs.push(performance.now() - t0);
      const tx = json?.transactions?.[0];
      const what = res.status !== 200 ? `HTTP ${res.status}` : `${tx?.status ?? '?'}${tx?.reason ? ` ${tx.reason}` : ''}`;
      statuses.set(what, (statuses.get(what) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return { perSecond: count / ((performance.now() - started) / 1000), latenciesMs, statuses };
}

const describe = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(', ');

/**
 * payments/s with checks on ÷ off: both variants booted side by side, a
 * warm-up each, then ROUNDS rounds each, alternating (on, off, off, on, on,
 * off: each goes first as often as the machine allows); the median round of
 * each. The same payments (numbers, parties, amounts) go to both.
 */
export async function paymentsWithChecks(names: { clean: string[]; listed: string[] }, figures: Figures, notes: string[]): Promise<void> {
  const variants: Variant[] = [];
  const images: TestImage[] = [];
  try {
    for (const checks of [true, false]) {
      images.push(variantImage(checks));
      variants.push(await bootVariant(checks, images[images.length - 1]));
    }
    const [on, off] = variants;
    for (const v of variants) await sendRound(v, names, 1_000_000, WARM_UP);
    const rounds = new Map<Variant, Round[]>([[on, []], [off, []]]);
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of r % 2 === 0 ? [on, off] : [off, on]) rounds.get(v)!.push(await sendRound(v, names, r * MESSAGES, MESSAGES));
    }
    for (const [v, rs] of rounds) {
      const tag = v.checks ? 'on' : 'off';
      const all = rs.flatMap((x) => x.latenciesMs);
      figures[`payments_per_s_checks_${tag}`] = round(median(rs.map((x) => x.perSecond)));
      figures[`payments_checks_${tag}_p50_ms`] = round(percentile(all, 50), 3);
      figures[`payments_checks_${tag}_p99_ms`] = round(percentile(all, 99), 3);
      const statuses = new Map<string, number>();
      for (const x of rs) for (const [k, n] of x.statuses) statuses.set(k, (statuses.get(k) ?? 0) + n);
      notes.push(`checks ${tag}: rounds of ${MESSAGES} pacs.008 at ${rs.map((x) => Math.round(x.perSecond)).join(', ')} payments/s; answers: ${describe(statuses)}`);
    }
    figures.payments_with_checks_ratio = round(ratio(figures.payments_per_s_checks_on, figures.payments_per_s_checks_off), 3);
    for (const v of variants) await v.server.kill('SIGTERM');
  } finally {
    await TestServer.killAll();
    for (const img of images) removeDir(img.dir);
  }
}
