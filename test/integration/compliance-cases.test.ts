// test/integration/compliance-cases.test.ts: monitoring rules, alerts and
// their cases through a booted bank image over real TCP (issue 18). Proves:
// an operator sets the rules with PUT /v1/compliance/rules and reads them
// back as set; a JSON payment over the amount threshold (a holding rule) is
// held (GET /v1/payments/{id} says held, nothing posted) and its alert is on
// GET /v1/compliance/alerts and on the event stream of an officer's key;
// a compliance officer assigns the case and closes it release: the payment
// settles and the balances move exactly; another held payment's case closed
// reject voids it and the balances do not move; closing the same case again
// is answered as it stands and completes nothing twice; tellers and
// read-only keys get 403 on every alert, case, decision, rules and report
// route and never see an alert event; an auditor reads but may not update; the
// signed report of the period verifies against the audit key and fails when
// a byte changes; `qenex rules set --data` sets rules at the stopped system,
// and `qenex cases list` and `qenex rules get` print what the routes answer;
// a replay reaches the state the machine stopped in, and `qenex cases
// show|list|close --data` work at the stopped system.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPublicKeys, writeKeyPair } from '../../host/base/keys.ts';
import { verifyCsvReport, verifyJsonReport, HEADER_SHA256, HEADER_SIGNATURES } from '../../host/compliance/report.ts';
import { apiCall, type ApiReply, bankManifestUnlimited, event, makeImage, removeDir, runCli, Server, stopAndReplay, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let data: string;
let server: Server;
let base: string;
let trustedPath: string;
const keys: Record<string, string> = {};
const ALICE = 101n;
const BOB = 102n;
const FUNDING = 103n;

function cliKey(args: string[]): string {
  const r = runCli(['keys', 'create', '--data', data, ...args]);
  assert.is(r.code, 0, r.stderr);
  return (event(r.events, 'key_created') as { key: string }).key;
}

const call = (method: string, path: string, key: string | null, body?: unknown) => apiCall(base, method, path, key, body);

async function posted(id: bigint): Promise<{ credits: bigint; debits: bigint; pending: bigint }> {
  const r = await call('POST', '/v1/accounts/lookup', keys.operator, { ids: [String(id)] });
  assert.is(r.status, 200, r.text);
  return { credits: BigInt(r.json[0].credits_posted), debits: BigInt(r.json[0].debits_posted), pending: BigInt(r.json[0].debits_pending) };
}

async function pay(e2e: string, amount: string): Promise<ApiReply> {
  return call('POST', '/v1/payments', keys.teller, {
    debtor: { iban: 'GB33BUKB20201555555555', name: 'Alice Example' }, creditor: { iban: 'DE89370400440532013000', name: 'Bob Example' },
    amount, currency: 'USD', end_to_end_id: e2e,
  });
}

/** The events of `GET /v1/events?<query>` from the ring (after=0), read until `done` says so or a deadline passes. */
async function streamEvents(query: string, key: string, done: (events: { event: string; data: any }[]) => boolean): Promise<{ status: number; events: { event: string; data: any }[] }> {
  const abort = new AbortController();
  const res = await fetch(`${base}/v1/events?${query}`, { headers: { authorization: `Bearer ${key}` }, signal: abort.signal });
  const events: { event: string; data: any }[] = [];
  if (res.status !== 200) { await res.text(); return { status: res.status, events }; }
  const decoder = new TextDecoder();
  let buffer = '';
  const timer = setTimeout(() => abort.abort(), 5000);
  try {
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const payload = /^data: (.*)$/m.exec(block)?.[1];
        if (name !== undefined && payload !== undefined) events.push({ event: name, data: JSON.parse(payload) });
      }
      if (done(events)) break;
    }
  } catch { /* the deadline */ }
  clearTimeout(timer);
  abort.abort();
  return { status: 200, events };
}

const RULES = { rules: [{ ledger: 1, hold: ['amount'], amount_threshold: '100.00', screen_hold: 0.9 }] };

test.before(async () => {
  const manifest = bankManifestUnlimited();
  img = makeImage('compliance-cases', manifest);
  data = join(img.dir, 'data');
  const auditKeys = writeKeyPair(join(img.dir, 'audit-keys'));
  trustedPath = auditKeys.pubPath;
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  keys.admin = cliKey(['--role', 'admin']);
  keys.operator = cliKey(['--role', 'operator']);
  keys.teller = cliKey(['--role', 'teller', '--ledger', '1']);
  keys.auditor = cliKey(['--role', 'auditor']);
  keys.readOnly = cliKey(['--role', 'read-only']);
  keys.officer = cliKey(['--role', 'compliance_officer']);
  // The operator's command at the stopped system (the console): a first rule set, replaced below through the route.
  const file = join(img.dir, 'rules.json');
  writeFileSync(file, JSON.stringify({ rules: [{ ledger: 1, amount_threshold: '5000.00', high_risk_countries: ['KP'] }] }));
  const set = runCli(['rules', 'set', '--file', file, '--data', data, '--trust', img.pubPath]);
  assert.is(set.code, 0, set.stderr);
  assert.equal((event(set.events, 'rules_set') as any).rules[0].high_risk_countries, ['KP']);
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0', '--audit-key', auditKeys.keyPath]);
  base = `http://127.0.0.1:${(await server.address()).port}`;
  const accounts = await call('POST', '/v1/accounts', keys.operator, [
    { id: String(ALICE), ledger: 1, code: 1, flags: ['debits_must_not_exceed_credits'] }, { id: String(BOB), ledger: 1, code: 1 },
    { id: String(FUNDING), ledger: 1, code: 1 },
  ]);
  assert.is(accounts.status, 200, accounts.text);
  const funded = await call('POST', '/v1/transfers', keys.operator, [
    { id: '1', debit_account_id: String(FUNDING), credit_account_id: String(ALICE), amount: '100000', ledger: 1, code: 1 },
  ]);
  assert.is(funded.json[0].result, 'created', funded.text);
  const dir = await call('POST', '/v1/payment-accounts', keys.operator, { accounts: [
    { iban: 'GB33BUKB20201555555555', ledger: 1, account: String(ALICE), name: 'Alice Example' },
    { iban: 'DE89370400440532013000', ledger: 1, account: String(BOB), name: 'Bob Example' },
  ] });
  assert.is(dir.status, 200, dir.text);
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

test('rules: an operator sets them with PUT and every reader gets them back as set; an auditor may not set them', async () => {
  // Proves the rules route both ways (the JSON as written comes back, every key present) and its roles.
  const put = await call('PUT', '/v1/compliance/rules', keys.operator, RULES);
  assert.is(put.status, 200, put.text);
  assert.ok(put.json.version >= 2, `the console's set, then this one: ${put.text}`);
  const got = await call('GET', '/v1/compliance/rules', keys.auditor);
  assert.is(got.status, 200, got.text);
  assert.equal(got.json.version, put.json.version);
  const set = got.json.rules[0];
  assert.equal([set.ledger, set.hold, set.amount_threshold, set.screen_hold, set.payment_max, set.velocity_count], [1, ['amount'], '100.00', 0.9, '0.00', 0]);
  assert.is((await call('PUT', '/v1/compliance/rules', keys.auditor, RULES)).status, 403);
  assert.is((await call('PUT', '/v1/compliance/rules', keys.officer, RULES)).status, 403);
  const bad = await call('PUT', '/v1/compliance/rules', keys.operator, { rules: [{ ledger: 1, amount_treshold: '1' }] });
  assert.equal([bad.status, bad.json?.error?.code], [400, 'unknown_field'], bad.text);
  const cli = runCli(['rules', 'get', '--url', base, '--key', keys.officer]);
  assert.is(cli.code, 0, cli.stderr);
  assert.equal((event(cli.events, 'rules') as any).rules, got.json.rules);
});

let heldId = '';
let alertId = 0;

test('a payment over the amount threshold is held: the payment says held, its alert is listed and on an officer\'s event stream', async () => {
  // Proves the hold reaches the API: nothing posted, the payment held, one open alert naming the rule, and the alert event.
  const before = await posted(BOB);
  const r = await pay('CASE-1', '150.00');
  assert.is(r.status, 200, r.text);
  heldId = r.json.transactions[0].payment_id;
  const p = await call('GET', `/v1/payments/${heldId}`, keys.teller);
  assert.is(p.json.state, 'held', p.text);
  assert.equal((await posted(BOB)).credits, before.credits, 'nothing posted to the creditor while held');
  const list = await call('GET', '/v1/compliance/alerts?state=open', keys.officer);
  assert.is(list.status, 200, list.text);
  const alert = list.json.alerts.find((a: any) => a.payment_id === heldId);
  assert.ok(alert !== undefined, list.text);
  assert.equal([alert.state, alert.action, alert.rules.includes('amount'), alert.amount, alert.ledger], ['open', 'hold', true, '150.00', 1]);
  alertId = alert.id;
  const one = await call('GET', `/v1/compliance/alerts/${alertId}`, keys.auditor);
  assert.equal(one.json.alert, alert);
  assert.is((await call('GET', '/v1/compliance/alerts/999999', keys.auditor)).status, 404);
  const decisions = await call('GET', '/v1/compliance/decisions?action=hold', keys.auditor);
  assert.is(decisions.status, 200, decisions.text);
  assert.ok(decisions.json.decisions.some((d: any) => d.payment_id === heldId && d.alert_id === alertId && d.decided_by === 'amount'), decisions.text);
  const seen = await streamEvents('after=0&types=alert', keys.officer, (es) => es.some((e) => e.data.id === alertId));
  assert.ok(seen.events.some((e) => e.event === 'alert' && e.data.payment_id === heldId && e.data.href === `/v1/compliance/alerts/${alertId}`), JSON.stringify(seen));
  const cli = runCli(['cases', 'list', '--state', 'open', '--url', base, '--key', keys.officer]);
  assert.is(cli.code, 0, cli.stderr);
  assert.ok((event(cli.events, 'alerts') as any).alerts.some((a: any) => a.id === alertId));
});

test('tellers and read-only keys: 403 on every alert, case, decision, rules and report route, and no alert on their streams', async () => {
  // Proves the role policy over HTTP (admission before the log); an auditor reads but may not work a case.
  const routes: [string, string, unknown?][] = [
    ['GET', '/v1/compliance/rules'], ['PUT', '/v1/compliance/rules', RULES], ['GET', '/v1/compliance/alerts'], ['GET', `/v1/compliance/alerts/${alertId}`],
    ['POST', `/v1/compliance/alerts/${alertId}`, { action: 'assign', assignee: 'eve' }], ['GET', '/v1/compliance/decisions'],
    ['GET', '/v1/compliance/reports?from=0&to=1'],
  ];
  for (const who of ['teller', 'readOnly']) {
    for (const [method, path, body] of routes) assert.is((await call(method, path, keys[who], body)).status, 403, `${who} ${method} ${path}`);
  }
  assert.is((await call('POST', `/v1/compliance/alerts/${alertId}`, keys.auditor, { action: 'assign', assignee: 'eve' })).status, 403, 'auditors never update');
  assert.is((await call('GET', '/v1/compliance/alerts', keys.auditor)).status, 200);
  const ro = await streamEvents('after=0', keys.readOnly, (es) => es.some((e) => e.event === 'payment' && e.data.id === heldId));
  assert.ok(ro.events.some((e) => e.event === 'payment'), 'the read-only stream is live');
  assert.not.ok(ro.events.some((e) => e.event === 'alert'), 'and carries no alert');
  assert.is((await streamEvents('types=alert', keys.readOnly, () => true)).status, 403);
});

test('closing the case release settles the held payment and moves the balances exactly; the same close again changes nothing', async () => {
  // Proves the two frames of a close (case_update, then hold_release) and the retry's idempotence.
  const beforeBob = await posted(BOB);
  const beforeAlice = await posted(ALICE);
  const assign = await call('POST', `/v1/compliance/alerts/${alertId}`, keys.officer, { action: 'assign', assignee: 'alice.officer' });
  assert.is(assign.status, 200, assign.text);
  assert.equal([assign.json.alert.state, assign.json.alert.assignee], ['assigned', 'alice.officer']);
  const close = await call('POST', `/v1/compliance/alerts/${alertId}`, keys.officer, { action: 'close', outcome: 'release', reason: 'explained' });
  assert.is(close.status, 200, close.text);
  assert.equal([close.json.alert.state, close.json.alert.outcome, close.json.alert.close_reason], ['closed', 'release', 'explained']);
  assert.is(close.json.payment.state, 'settled', close.text);
  assert.is((await posted(BOB)).credits - beforeBob.credits, 15000n, 'the creditor got exactly the amount');
  assert.is((await posted(ALICE)).debits - beforeAlice.debits, 15000n, 'the debtor paid exactly the amount');
  const again = await call('POST', `/v1/compliance/alerts/${alertId}`, keys.officer, { action: 'close', outcome: 'release', reason: 'explained' });
  assert.is(again.status, 200, again.text);
  assert.is(again.json.payment.state, 'settled');
  assert.is((await posted(BOB)).credits - beforeBob.credits, 15000n, 'a second close moves nothing more');
  const other = await call('POST', `/v1/compliance/alerts/${alertId}`, keys.officer, { action: 'assign', assignee: 'bob' });
  assert.is(other.status, 409, other.text);
});

test('closing a held payment\'s case reject voids it: the balances do not move', async () => {
  // Proves the reject outcome: the pending transfer is voided and the payment rejected.
  const beforeBob = await posted(BOB);
  const beforeAlice = await posted(ALICE);
  const r = await pay('CASE-2', '200.00');
  const id = r.json.transactions[0].payment_id;
  const list = await call('GET', '/v1/compliance/alerts?state=open', keys.officer);
  const alert = list.json.alerts.find((a: any) => a.payment_id === id);
  assert.ok(alert !== undefined, list.text);
  const close = await call('POST', `/v1/compliance/alerts/${alert.id}`, keys.admin, { action: 'close', outcome: 'reject', reason: 'confirmed' });
  assert.is(close.status, 200, close.text);
  assert.is(close.json.payment.state, 'rejected', close.text);
  const [bob, alice] = [await posted(BOB), await posted(ALICE)];
  assert.equal([bob.credits, alice.debits, alice.pending], [beforeBob.credits, beforeAlice.debits, 0n], 'nothing moved, nothing left pending');
});

test('the signed report of the period verifies against the audit key (JSON and CSV) and fails when a byte changes', async () => {
  // Proves the report contract of docs/compliance.md "Reports" end to end.
  const trusted = loadPublicKeys(trustedPath);
  const from = '2000-01-01T00:00:00Z';
  const to = '2100-01-01T00:00:00Z';
  const res = await fetch(`${base}/v1/compliance/reports?from=${from}&to=${to}`, { headers: { authorization: `Bearer ${keys.auditor}` } });
  const body = Buffer.from(await res.arrayBuffer());
  assert.is(res.status, 200, body.toString());
  const checked = verifyJsonReport(body, trusted);
  assert.is(checked.problem, null);
  const report = checked.report as any;
  assert.ok(report.alerts.some((a: any) => a.id === alertId && a.outcome === 'release'), 'the closed case is in it');
  assert.ok(report.decisions.some((d: any) => d.payment_id === heldId), 'and its decision');
  const tampered = Buffer.from(body);
  tampered[body.indexOf('"release"') + 2] ^= 1;
  assert.ok(verifyJsonReport(tampered, trusted).problem !== null, 'one byte changed fails');
  const csv = await fetch(`${base}/v1/compliance/reports?from=${from}&to=${to}&format=csv`, { headers: { authorization: `Bearer ${keys.officer}` } });
  const csvBytes = Buffer.from(await csv.arrayBuffer());
  assert.is(csv.status, 200, csvBytes.toString());
  assert.is(verifyCsvReport(csvBytes, csv.headers.get(HEADER_SHA256), csv.headers.get(HEADER_SIGNATURES), trusted), null);
  assert.match(csvBytes.toString(), new RegExp(`\\r\\nalert,${alertId},${heldId},`));
  // The command saves and verifies them the same way.
  for (const format of ['json', 'csv']) {
    const out = join(img.dir, `report.${format}`);
    const saved = runCli(['compliance', 'report', '--from', from, '--to', to, '--format', format, '--out', out, '--url', base, '--key', keys.auditor]);
    assert.is(saved.code, 0, saved.stderr);
    assert.ok((event(saved.events, 'compliance_report') as any).alerts >= 2, saved.stdout);
    const verified = runCli(['compliance', 'verify', out, '--trust', trustedPath]);
    assert.is(verified.code, 0, verified.stderr);
    assert.is((event(verified.events, 'report_verified') as any).format, format);
    const bytes = readFileSync(out);
    bytes[bytes.length - 5] ^= 1;
    writeFileSync(out, bytes);
    assert.is.not(runCli(['compliance', 'verify', out, '--trust', trustedPath]).code, 0, `a changed ${format} byte fails`);
  }
});

test('stopped: a replay reaches the state the machine stopped in; the console shows a case and works another with qenex cases --data', async () => {
  // Proves the cases' requests replay to the same state, and the console path of the commands (the same chain as the route).
  const { stopped, replayed } = await stopAndReplay(server, data);
  assert.is(replayed, stopped, 'replay reaches the same state hash');
  const show = runCli(['cases', 'show', String(alertId), '--data', data, '--trust', img.pubPath]);
  assert.is(show.code, 0, show.stderr);
  assert.equal([(event(show.events, 'alert') as any).alert.state, (event(show.events, 'alert') as any).alert.outcome], ['closed', 'release']);
  const open = runCli(['cases', 'list', '--state', 'open', '--data', data, '--trust', img.pubPath]);
  assert.is(open.code, 0, open.stderr);
  const again = runCli(['cases', 'close', String(alertId), '--outcome', 'release', '--reason', 'explained', '--data', data, '--trust', img.pubPath]);
  assert.is(again.code, 0, again.stderr);
  const closed = event(again.events, 'case_closed') as any;
  assert.equal([closed.alert.state, closed.payment.state], ['closed', 'settled'], 'the same close again at the console: the payment as it is');
});

test.run();
