// Crash under load for payments (issue 17: "nothing acknowledged lost, no
// payment applied twice"). Boots the bank image with its payments service,
// sends a stream of payments over HTTP with several in flight (pacs.008 from
// an agent, each with a fresh MsgId and UETR; JSON payments between two
// customers, some refused AM04; pain.001 initiations left pending; pacs.002
// reports that settle or reject those; and re-sends of messages already
// sent, acknowledged or not), SIGKILLs the host at a seeded moment, reboots,
// again and again. Proves, after every kill:
//   - every payment an acknowledged answer named exists with the state that
//     answer (or a later acknowledged report) gave it, its amount and its
//     accounts (GET /v1/payments/{id});
//   - every message sent and not acknowledged, sent again, is either
//     answered `repeated: true` or applied then, once; a message already
//     acknowledged, sent again, is answered `repeated: true` with the same
//     payments in the states the book holds; no message is ever answered
//     `repeated: false` twice, across all lives;
//   - the payment ids the answers name are exactly 1..N (no payment the
//     book does not know of: a message applied twice would add some), and
//     every ledger account's posted and pending balances are exactly what
//     the payments' states add up to; debits = credits per ledger;
//   - the rebooted host's state hash (it restored the newest snapshot, taken
//     every SNAPSHOT_INTERVAL_ENTRIES entries, with the payments service's
//     tables and indexes, and replayed the log after it) = `qenex replay
//     --no-snapshot` of the data directory, the whole log from its first
//     entry (every REPLAY_EVERY lives, and the clean stop at the end).
//
// QENEX_CRASH_ITERATIONS (default 3; `make test-crash` runs more) and
// QENEX_CRASH_SEED (default 1) choose the run; a failure names its seed and
// life, so it replays with the same choices.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { bankManifestUnlimited, event, makeImage, removeDir, runCli, Server, type TestImage } from '../support/helpers.ts';
import { BOOT_TIMEOUT_MS, envInt, prng, replayHash } from './support.ts';
import {
  ACCOUNTS, ALICE_IBAN, ALICE_USD, BOB_IBAN, BOB_USD, CLEARING_USD, CUSTOMER_GBP, FUNDING_MINOR, FUNDING_USD, GBP, NOSTRO_CBRL, USD,
  PaymentsBook, type Answer, type Message, type Payment,
} from './payments-book.ts';

const ITERATIONS = envInt('QENEX_CRASH_ITERATIONS', 3);
const SEED = envInt('QENEX_CRASH_SEED', 1);
// A replay reads the whole log again: every other life, and the last, keeps a long run's cost down.
const REPLAY_EVERY = 2;
// Every payment is read back every FULL_CHECK_EVERY lives and after the last; in between, those
// created or changed since the last check (the balances, exact, still cover the others).
const FULL_CHECK_EVERY = 10;
// A life sends a few hundred messages of up to 3 transactions: room for them all, every life.
const MESSAGES_MAX = Math.max(4096, ITERATIONS * 600);
// A snapshot every 4 log entries: kills land before, during and after writing one.
const SNAPSHOT_INTERVAL_ENTRIES = 4;

let img: TestImage;
let data = '';

test.before(() => {
  const m = bankManifestUnlimited();
  m.kernel.log_preallocate_bytes = 16 * 1024 * 1024;
  m.kernel.snapshot_interval_entries = SNAPSHOT_INTERVAL_ENTRIES;
  m.services.find((s) => s.name === 'ledger')!.config = { accounts_max: 1000, transfers_max: 4 * MESSAGES_MAX, pending_max: 2 * MESSAGES_MAX, history_max: 1000 };
  m.services.find((s) => s.name === 'payments')!.config = { ledgers: [USD, GBP], directory_max: 64, payments_max: 4 * MESSAGES_MAX, messages_max: MESSAGES_MAX };
  m.gateway = { ...m.gateway, ledgers: [{ ledger: USD, asset_scale: 2, currency: 'USD' }, { ledger: GBP, asset_scale: 2, currency: 'GBP' }] };
  img = makeImage('crash-payments', m);
  data = join(img.dir, 'data');
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

interface Reply { status: number; json: any; text: string }

/** One HTTP request to the host at `base`; rejects when the connection dies (the host was killed). */
async function call(base: string, key: string, method: string, path: string, body?: string, contentType = 'application/json'): Promise<Reply> {
  const res = await fetch(base + path, {
    method, body, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
  });
  const text = await res.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function boot(): Promise<{ server: Server; base: string; hash: string }> {
  const server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  const ready = await server.waitFor('ready', BOOT_TIMEOUT_MS);
  return { server, base: `http://127.0.0.1:${(await server.address()).port}`, hash: String(ready.state_hash) };
}

/** The data directory, an operator key, the accounts, the directory and alice's funding. */
async function setUp(): Promise<{ key: string; life: Awaited<ReturnType<typeof boot>> }> {
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  const made = runCli(['keys', 'create', '--data', data, '--role', 'operator']);
  assert.is(made.code, 0, made.stderr);
  const key = String(event(made.events, 'key_created')!.key);
  const life = await boot();
  const post = (path: string, body: unknown) => call(life.base, key, 'POST', path, JSON.stringify(body));
  const accounts = await post('/v1/accounts', ACCOUNTS.map((a) => ({
    id: String(a.id), ledger: a.ledger, code: 1, ...(a.id === ALICE_USD ? { flags: ['debits_must_not_exceed_credits'] } : {}),
  })));
  assert.is(accounts.status, 200, accounts.text);
  const directory = await post('/v1/payment-accounts', { accounts: [
    { bic: 'CBRLGB2LXXX', ledger: GBP, account: String(NOSTRO_CBRL) }, { account_id: '65479512', ledger: GBP, account: String(CUSTOMER_GBP) },
    { iban: ALICE_IBAN, ledger: USD, account: String(ALICE_USD) }, { iban: BOB_IBAN, ledger: USD, account: String(BOB_USD) },
    { bic: 'CLRGUS33', ledger: USD, account: String(CLEARING_USD) },
  ] });
  assert.equal(directory.json?.results, ['created', 'created', 'created', 'created', 'created'], directory.text);
  const funded = await post('/v1/transfers', [{ id: '1', debit_account_id: String(FUNDING_USD), credit_account_id: String(ALICE_USD), amount: String(FUNDING_MINOR), ledger: USD, code: 1 }]);
  assert.is(funded.json?.[0]?.result, 'created', funded.text);
  return { key, life };
}

/** Sends `m`; its answer goes to the book. False when the connection died first (not acknowledged). */
async function send(base: string, key: string, book: PaymentsBook, m: Message, where: string): Promise<boolean> {
  let r: Reply;
  try { r = await call(base, key, 'POST', m.path, m.body, m.contentType); } catch { return false; }
  assert.is(r.status, 200, `${where}: ${m.msgId}: ${r.text}`);
  book.take(m, r.json as Answer, where);
  return true;
}

/** Sends the book's stream, `inFlight` at a time, until `until()`; returns requests sent and answered. */
async function drive(base: string, key: string, book: PaymentsBook, life: number, inFlight: number, until: () => boolean): Promise<{ sent: number; answered: number }> {
  let answered = 0;
  let sent = 0;
  let failure: unknown = null;
  const running = new Set<Promise<void>>();
  while (!until() && failure === null) {
    while (running.size < inFlight && !until()) {
      const p = send(base, key, book, book.nextMessage(life), `seed ${SEED} life ${life}`)
        .then((ok) => { if (ok) answered++; }, (e) => { failure ??= e; });
      sent++;
      running.add(p);
      void p.finally(() => running.delete(p));
    }
    if (running.size > 0) await Promise.race(running);
  }
  await Promise.allSettled([...running]);
  if (failure !== null) throw failure;
  return { sent, answered };
}

/**
 * After a reboot, nothing else in flight: (1) the payments the book knows
 * are as acknowledged; (2) every message not acknowledged is sent again and
 * settles its fate, a few acknowledged ones are sent again and must be
 * repeats; then every payment touched since the last check (all of them on
 * a full check) is read again, the ids are exactly 1..N, and the balances
 * are what the payments' states add up to.
 */
async function check(base: string, key: string, book: PaymentsBook, random: () => number, full: boolean, where: string): Promise<{ appliedBefore: number; appliedNow: number }> {
  const read = async (id: string) => {
    const r = await call(base, key, 'GET', `/v1/payments/${id}`);
    assert.is(r.status, 200, `${where}: payment ${id}: ${r.text}`);
    book.checkPayment(r.json, where);
  };
  for (const id of full ? book.payments.keys() : book.dirty) await read(id);
  const fates = { appliedBefore: 0, appliedNow: 0 };
  for (const m of book.messages) {
    if (m.acked) continue;
    assert.ok(await send(base, key, book, m, `${where} (again)`), `${where}: ${m.msgId} answered`);
    if (m.applied === 1) fates.appliedNow++; else fates.appliedBefore++;
  }
  const acked = book.messages.filter((m) => m.acked);
  for (let i = 0; i < 4 && acked.length > 0; i++) {
    const m = acked[Math.floor(random() * acked.length)];
    const before = m.applied;
    assert.ok(await send(base, key, book, m, `${where} (repeat)`), `${where}: ${m.msgId} answered`);
    assert.is(m.applied, before, `${where}: ${m.msgId}, acknowledged before, is answered as a repeat`);
  }
  for (const id of full ? book.payments.keys() : book.dirty) await read(id);
  book.dirty = new Set();
  const ids = [...book.payments.keys()].map(Number).sort((a, b) => a - b);
  ids.forEach((id, i) => assert.is(id, i + 1, `${where}: payment ids are 1..N: ${i + 1} is one the book knows`));
  assert.is((await call(base, key, 'GET', `/v1/payments/${ids.length + 1}`)).status, 404, `${where}: no payment ${ids.length + 1}: none beyond the book's`);
  await checkBalances(base, key, book, where);
  return fates;
}

async function checkBalances(base: string, key: string, book: PaymentsBook, where: string): Promise<void> {
  const expected = book.expected();
  const r = await call(base, key, 'POST', '/v1/accounts/lookup', JSON.stringify({ ids: ACCOUNTS.map((a) => String(a.id)) }));
  assert.is(r.status, 200, r.text);
  const perLedger = new Map<number, bigint[]>();
  for (const [i, a] of ACCOUNTS.entries()) {
    const got = [r.json[i].debits_posted, r.json[i].credits_posted, r.json[i].debits_pending, r.json[i].credits_pending].map(BigInt);
    const e = expected.get(a.id)!;
    assert.equal(got, [e.dpo, e.cpo, e.dp, e.cp], `${where}: account ${a.id}: debits and credits, posted and pending, are the payments' sums`);
    const s = perLedger.get(a.ledger) ?? [0n, 0n, 0n, 0n];
    perLedger.set(a.ledger, s.map((x, k) => x + got[k]));
  }
  for (const [l, s] of perLedger) assert.ok(s[0] === s[1] && s[2] === s[3], `${where}: ledger ${l}: debits = credits, posted and pending`);
}

/** One life under load: the stream driven until a seeded moment, then SIGKILL. */
async function life(conn: Awaited<ReturnType<typeof boot>>, key: string, book: PaymentsBook, random: () => number, it: number) {
  const where = `seed ${SEED} life ${it}`;
  // A kill after a seeded number of answers plus a seeded delay: mid-request, mid-flush, between.
  const afterAnswers = 1 + Math.floor(random() * 40);
  const delayMs = Math.floor(random() * 40);
  const inFlight = 2 + Math.floor(random() * 7);
  let halt = false;
  const driving = drive(conn.base, key, book, it, inFlight, () => halt);
  let kill: Promise<unknown> | null = null;
  const answersBefore = book.answers;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: unknown) => { halt = true; clearInterval(poll); reject(e); };
    const poll = setInterval(() => {
      if (book.answers - answersBefore < afterAnswers) return;
      clearInterval(poll);
      setTimeout(() => { halt = true; kill = conn.server.kill('SIGKILL'); resolve(); }, delayMs);
    }, 2);
    // A host that dies on its own, or an answer the book refuses, is a failure, not something to wait for.
    void conn.server.exited.then((code) => { if (kill === null) fail(new Error(`${where}: the host exited (${code}) before the kill; stderr: ${conn.server.stderr}`)); });
    driving.catch(fail);
  });
  await kill;
  return { ...await driving, afterAnswers, delayMs, inFlight };
}

test(`payments: SIGKILL under load, ${ITERATIONS} times (seed ${SEED}): nothing acknowledged lost, no payment applied twice, reboot = replay`, async () => {
  const random = prng(SEED);
  const book = new PaymentsBook(random);
  let { key, life: conn } = await setUp();
  for (let it = 0; it < ITERATIONS; it++) {
    const where = `seed ${SEED} life ${it}`;
    const messagesBefore = book.messages.length;
    const { sent, answered, afterAnswers, delayMs, inFlight } = await life(conn, key, book, random, it);
    const replay = it % REPLAY_EVERY === REPLAY_EVERY - 1 || it === ITERATIONS - 1;
    const replayed = replay ? replayHash(data, ['--no-snapshot']) : null;
    conn = await boot();
    if (replayed !== null) assert.is(conn.hash, replayed, `${where}: reboot hash (from a snapshot) = the whole log replayed`);
    const fates = await check(conn.base, key, book, random, it % FULL_CHECK_EVERY === FULL_CHECK_EVERY - 1 || it === ITERATIONS - 1, where);
    console.log(`${where}: killed after ${afterAnswers}+ answers (+${delayMs} ms, ${inFlight} in flight); ${sent} sent (${book.messages.length - messagesBefore} new), `
      + `${answered} answered; unanswered sent again: ${fates.appliedBefore} had been applied, ${fates.appliedNow} applied now; `
      + `${book.payments.size} payments${replay ? '; reboot = replay' : ''}`);
  }
  await conn.server.kill('SIGTERM');
  const stopped = conn.server.events.find((e) => e.event === 'stopped');
  assert.ok(stopped, 'the last life stops cleanly');
  assert.is(stopped!.state_hash, replayHash(data, ['--no-snapshot']), 'the clean stop hash = the whole log replayed');
  const count = (f: (p: Payment) => boolean) => [...book.payments.values()].filter(f).length;
  const kinds = ['pacs.008', 'json', 'pain.001', 'pacs.002'].map((k) => `${book.messages.filter((m) => m.kind === k).length} ${k}`).join(', ');
  console.log(`\nsummary: payments crash loop seed ${SEED}: ${ITERATIONS} SIGKILLs survived; ${book.messages.length} messages (${kinds}); `
    + `${book.payments.size} payments: ${count((p) => p.state === 'settled')} settled, ${count((p) => p.state === 'pending')} pending, `
    + `${count((p) => p.state === 'rejected')} rejected (${count((p) => p.kind === 'pain.001' && p.state !== 'pending' && p.reason !== 'AM04')} pain.001 reported on); 0 lost, 0 applied twice`);
});

test.run();
