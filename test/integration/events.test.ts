// test/integration/events.test.ts: the event stream (GET /v1/events,
// Server-Sent Events) of a booted bank image over real TCP with Node's
// fetch: committed transfers (over HTTP and over the authenticated binary
// protocol) appear in commit order with increasing ids and rejected ones never do; a reconnect with Last-Event-ID (or ?after=) gets
// exactly the missed events, also after the server restarted (the ring is
// refilled by the replay at boot, with the same ids); authorisation is the
// gateway service's (401 without a key, 403 for a teller, a ledger-scoped
// key sees only its ledgers); audit checkpoints appear at the manifest's
// interval; payments are `payment` events (a pacs.008 settled, a pain.001
// pending then settled by its pacs.002, each as GET /v1/payments/{id} shows
// it but its messages; by ledger grant; none for a repeated message; the same ids after a
// restart); a subscriber that stops reading is dropped with a final error
// event while another one gets every event.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { join } from 'node:path';
import { writeKeyPair } from '../../host/base/keys.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { LedgerClient, transfer } from '../../host/client/ledger.ts';
import { bankManifest, event, makeImage, removeDir, runCli, Server, type TestImage } from '../support/helpers.ts';
import { pacs008Numbered, pain001 } from '../support/payments.ts';
import { writeIsoMessageText } from '../../host/payments/iso20022.ts';

const INTERVAL = 16; // audit.checkpoint_interval of the test image
const RING = 20000; // gateway.events.ring_events_max: a bit over two largest batches
const BATCH_MAX = 8189;
const BATCHES_MAX = 40; // ~330k transfers, ~140 MB of events: past any socket buffering
const GBP = 4; // a ledger for the CBPR+ pacs.008 sample (GBP), besides the bank image's 1-3

let img: TestImage;
let server: Server;
let data = '';
let auditKey = '';
let base = '';
const keys: Record<string, string> = {};

function cliKey(args: string[]): string {
  const r = runCli(['keys', 'create', '--data', data, ...args]);
  assert.is(r.code, 0, r.stderr);
  return (event(r.events, 'key_created') as { key: string }).key;
}

async function start(): Promise<void> {
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0', '--audit-key', auditKey]);
  base = `http://127.0.0.1:${(await server.address()).port}`;
}

test.before(async () => {
  const manifest = bankManifest();
  manifest.audit = { checkpoint_interval: INTERVAL };
  manifest.gateway = { ...manifest.gateway!, events: { ring_events_max: RING, subscriber_buffer_bytes_max: 65536, heartbeat_ms: 200 } };
  const gateway = manifest.services.find((s) => s.name === 'gateway')!;
  gateway.config = { source_rate_per_second: 100000, source_burst: 100000, key_rate_per_second: 100000, key_burst: 100000, ledger_in_flight_max: 8 };
  manifest.gateway.ledgers = [...manifest.gateway.ledgers, { ledger: GBP, asset_scale: 2, currency: 'GBP' }];
  const payments = manifest.services.find((s) => s.name === 'payments')!;
  assert.ok(payments.caps.includes('emit') && (payments.config as { events?: boolean }).events === true, 'the bank image emits payment events');
  payments.config = { ...payments.config as object, ledgers: [1, 2, 3, GBP] };
  img = makeImage('events', manifest);
  data = join(img.dir, 'data');
  auditKey = writeKeyPair(join(img.dir, 'audit-keys')).keyPath;
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  keys.admin = cliKey(['--role', 'admin']);
  keys.teller = cliKey(['--role', 'teller', '--ledger', '1']);
  keys.auditor = cliKey(['--role', 'auditor']);
  keys.scoped = cliKey(['--role', 'read-only', '--ledger', '2']);
  keys.gbp = cliKey(['--role', 'read-only', '--ledger', String(GBP)]);
  await start();
  const accounts = [1, 2, 3, 4].map((i) => ({ id: String(i), ledger: 1, code: 1 }))
    .concat([5, 6].map((i) => ({ id: String(i), ledger: 2, code: 1 })));
  assert.is((await post('/v1/accounts', accounts)).status, 200);
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

async function post(path: string, body: unknown, key = keys.admin): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

let nextTransfer = 1;
/** Creates transfers (debit 1 → credit 2 on ledger 1 unless given); returns their ids. */
async function transfers(n: number, over: Record<string, unknown> = {}): Promise<string[]> {
  const batch = Array.from({ length: n }, () => ({ id: String(nextTransfer++), debit_account_id: '1', credit_account_id: '2', amount: '3', ledger: 1, code: 7, ...over }));
  const r = await post('/v1/transfers', batch);
  assert.is(r.status, 200, JSON.stringify(r.json));
  assert.ok(r.json.every((x: { result: string }) => x.result === 'created'), JSON.stringify(r.json.slice(0, 3)));
  return batch.map((t) => t.id);
}

interface SseEvent { id: number; event: string; data: any }

/** A Server-Sent Events reader over fetch. */
class Stream {
  readonly events: SseEvent[] = [];
  comments = 0;
  ended = false;
  private buffer = '';
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];

  static async open(query = '', key: string | null = keys.admin, headers: Record<string, string> = {}): Promise<{ res: Response; stream: Stream | null }> {
    const s = new Stream();
    const res = await fetch(`${base}/v1/events${query}`, {
      headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...headers }, signal: s.abort.signal,
    });
    if (res.status !== 200) return { res, stream: null };
    void s.read(res.body!);
    return { res, stream: s };
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        this.buffer += decoder.decode(chunk, { stream: true });
        this.parse();
      }
    } catch { /* aborted */ }
    this.ended = true;
    this.wake();
  }

  private parse(): void {
    for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) { this.comments++; continue; }
        const c = line.indexOf(': ');
        if (c > 0) fields[line.slice(0, c)] = line.slice(c + 2);
      }
      if (fields.data !== undefined) this.events.push({ id: Number(fields.id ?? -1), event: fields.event ?? 'message', data: JSON.parse(fields.data) });
    }
    this.wake();
  }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  async until(pred: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`stream: ${what} did not happen; ${this.events.length} events, last ${JSON.stringify(this.events.at(-1))}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 100); });
    }
  }

  of(type: string): SseEvent[] { return this.events.filter((e) => e.event === type); }
  close(): void { this.abort.abort(); }
}

function assertIncreasing(events: SseEvent[]): void {
  for (let i = 1; i < events.length; i++) assert.ok(events[i].id > events[i - 1].id, `ids increase at ${i}: ${events[i - 1].id} then ${events[i].id}`);
}

test('401 without a key, 403 for a teller, 400 for a bad query: the gateway decides first', async () => {
  // Proves the route is authorised by the gateway service like every other one.
  const none = await Stream.open('', null);
  assert.is(none.res.status, 401);
  assert.is((await none.res.json()).error.code, 'unauthenticated');
  const teller = await Stream.open('', keys.teller);
  assert.is(teller.res.status, 403);
  assert.is((await teller.res.json()).error.code, 'forbidden');
  const badWithoutKey = await Stream.open('?after=x', null);
  assert.is(badWithoutKey.res.status, 401, 'no key: 401 before the query is judged');
  for (const [q, code] of [['?after=x', 'invalid_event_id'], ['?types=nope', 'invalid_query'], ['?color=1', 'invalid_query'], ['?after=99999999', 'invalid_event_id']]) {
    const r = await Stream.open(q);
    assert.is(r.res.status, 400, q);
    assert.is((await r.res.json()).error.code, code, q);
  }
  const other = await fetch(`${base}/v1/accounts/lookup?x=1`, { method: 'POST', headers: { authorization: `Bearer ${keys.admin}` } });
  assert.is(other.status, 404, 'only the events route takes a query');
});

test('committed transfers appear in commit order with increasing ids; rejected ones never do', async () => {
  // Proves one event per committed transfer, with the ledger's fields and timestamps, and none for failures.
  const { res, stream } = await Stream.open('?types=transfer');
  assert.is(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const ok1 = await transfers(3);
  const rejected = await post('/v1/transfers', [
    { id: String(nextTransfer++), debit_account_id: '1', credit_account_id: '999', amount: '1', ledger: 1, code: 7 },
    { id: String(nextTransfer++), debit_account_id: '1', credit_account_id: '2', amount: '1', ledger: 1, code: 7, flags: ['linked'] },
    { id: String(nextTransfer++), debit_account_id: '1', credit_account_id: '1', amount: '1', ledger: 1, code: 7 },
  ]);
  assert.ok(rejected.json.every((r: { result: string }) => r.result !== 'created'), JSON.stringify(rejected.json));
  const ok2 = await transfers(2, { amount: '5' });
  await stream!.until(() => stream!.events.length >= 5, 'five transfers');
  await new Promise((r) => setTimeout(r, 300));
  const got = stream!.events;
  assert.equal(got.map((e) => e.data.id), [...ok1, ...ok2], 'exactly the committed ones, in order');
  assertIncreasing(got);
  const t = got[3].data;
  assert.is(t.debit_account_id, '1');
  assert.is(t.credit_account_id, '2');
  assert.is(t.amount, '5');
  assert.is(t.ledger, 1);
  assert.is(t.code, 7);
  assert.ok(BigInt(t.timestamp) > BigInt(got[2].data.timestamp), 'ledger timestamps increase');
  stream!.close();
});

test('transfers committed over the authenticated binary protocol appear too', async () => {
  // Proves the stream is fed by the ledger, whatever way the batch came in.
  const s = (await Stream.open('?types=transfer')).stream!;
  const { port } = new URL(base);
  const frames = await FrameClient.connect('127.0.0.1', Number(port));
  await frames.authenticate(keys.admin);
  const client = new LedgerClient(frames, 'gateway');
  const ids = [BigInt(nextTransfer++), BigInt(nextTransfer++)];
  const results = await client.createTransfers(ids.map((id) => transfer({ id, debit_account_id: 2n, credit_account_id: 1n, amount: 4n, ledger: 1, code: 8 })));
  assert.ok(results.every((r) => r.result === 0), JSON.stringify(results, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
  frames.close();
  await s.until(() => s.events.length >= 2, 'the two binary transfers');
  assert.equal(s.events.map((e) => e.data.id), ids.map(String));
  assert.is(s.events[0].data.code, 8);
  s.close();
});

test('a reconnect with Last-Event-ID or ?after= gets exactly the missed events', async () => {
  // Proves resumption: nothing missed, nothing repeated.
  const first = (await Stream.open('?types=transfer')).stream!;
  const seen = await transfers(4);
  await first.until(() => first.events.length >= 4, 'four transfers');
  const last = first.events[3].id;
  first.close();
  const missed = [...await transfers(3), ...await transfers(2)];
  const resumed = (await Stream.open('?types=transfer', keys.admin, { 'last-event-id': String(last) })).stream!;
  await resumed.until(() => resumed.events.length >= 5, 'the five missed transfers');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(resumed.events.map((e) => e.data.id), missed);
  assert.is(resumed.events[0].id, last + 1 + 0 * seen.length, 'ids continue without a gap (no other events of this type)');
  resumed.close();
  const viaQuery = (await Stream.open(`?types=transfer&after=${last}`)).stream!;
  await viaQuery.until(() => viaQuery.events.length >= 5, 'the five again via ?after=');
  assert.equal(viaQuery.events.map((e) => e.data.id), missed);
  viaQuery.close();
});

test('a ledger-scoped key sees only its ledgers; ?ledger= filters', async () => {
  // Proves per-key scoping of transfer events (key read-only on ledger 2) and the ledger filter.
  const scoped = (await Stream.open('?types=transfer', keys.scoped)).stream!;
  const filtered = (await Stream.open('?types=transfer&ledger=2', keys.auditor)).stream!;
  const all = (await Stream.open('?types=transfer', keys.auditor)).stream!;
  await transfers(2);
  const l2 = await transfers(2, { debit_account_id: '5', credit_account_id: '6', ledger: 2 });
  await all.until(() => all.events.length >= 4, 'all four');
  await scoped.until(() => scoped.events.length >= 2, 'the ledger-2 ones');
  await filtered.until(() => filtered.events.length >= 2, 'the filtered ones');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(scoped.events.map((e) => e.data.id), l2);
  assert.equal(filtered.events.map((e) => e.data.id), l2);
  for (const s of [scoped, filtered, all]) s.close();
});

test('audit checkpoints appear at the manifest interval', async () => {
  // Proves the kernel announces each logged checkpoint, at least INTERVAL entries apart, with its Merkle root.
  const s = (await Stream.open('?types=checkpoint')).stream!;
  for (let i = 0; i < 3 * INTERVAL; i++) await transfers(1);
  await s.until(() => s.events.length >= 2, 'two checkpoints');
  const cps = s.events.map((e) => e.data);
  for (const c of cps) {
    assert.match(c.root, /^[0-9a-f]{64}$/);
    assert.ok(BigInt(c.entry) >= BigInt(c.tree_size), 'the checkpoint entry comes after what it covers');
  }
  for (let i = 1; i < cps.length; i++) assert.ok(BigInt(cps[i].tree_size) - BigInt(cps[i - 1].tree_size) >= BigInt(INTERVAL), 'interval apart');
  assert.ok(s.comments > 0, 'heartbeat comments arrive');
  assertIncreasing(s.events);
  s.close();
});

test('after a restart the ring is rebuilt by replay: resume by id still works, ids continue', async () => {
  // Proves event ids are kernel state: the same after replay, and the new ones follow them.
  const s = (await Stream.open('?types=transfer')).stream!;
  await transfers(1);
  await s.until(() => s.events.length >= 1, 'one transfer');
  const last = s.events[0];
  s.close();
  const before = await transfers(3);
  assert.is(await server.kill('SIGTERM'), 0);
  await start();
  const after = await transfers(2);
  const resumed = (await Stream.open('?types=transfer', keys.admin, { 'last-event-id': String(last.id) })).stream!;
  await resumed.until(() => resumed.events.length >= 5, 'the missed transfers across the restart');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(resumed.events.map((e) => e.data.id), [...before, ...after]);
  assertIncreasing([last, ...resumed.events]);
  resumed.close();
  const all = (await Stream.open('?types=transfer&after=0')).stream!;
  await all.until(() => all.events.some((e) => e.id === last.id), 'the replayed event with its old id');
  assert.is(all.events.find((e) => e.id === last.id)!.data.id, last.data.id, 'same id, same transfer after replay');
  all.close();
});

async function postXml(body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/v1/payments/iso20022`, { method: 'POST', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/xml' }, body });
  return { status: res.status, json: await res.json() };
}

/** GET /v1/payments/{id} without its `messages` (the documents the service lists apart from the payment's record). */
async function paymentNow(id: string): Promise<any> {
  const res = await fetch(`${base}/v1/payments/${id}`, { headers: { authorization: `Bearer ${keys.admin}` } });
  assert.is(res.status, 200);
  const { messages, ...payment } = await res.json();
  assert.ok(Array.isArray(messages) && messages.length > 0, 'the payment\'s messages');
  return payment;
}

test('payments are payment events: a pacs.008 settled, a pain.001 pending then settled by its pacs.002; by ledger grant; none when repeated', async () => {
  // Proves one event per payment created or changed, as GET /v1/payments/{id} shows it (but its messages), scoped like transfers, and the same ids after a restart.
  const accounts = await post('/v1/accounts', [{ id: '4001', ledger: GBP, code: 1 }, { id: '4002', ledger: GBP, code: 1 },
    { id: '1001', ledger: 1, code: 1, flags: ['debits_must_not_exceed_credits'] }, { id: '1004', ledger: 1, code: 1 }]);
  assert.is(accounts.status, 200, JSON.stringify(accounts.json));
  await transfers(1, { credit_account_id: '1001', amount: '10000' });
  const directory = await post('/v1/payment-accounts', { accounts: [
    { bic: 'CBRLGB2LXXX', ledger: GBP, account: '4001' }, { account_id: '65479512', ledger: GBP, account: '4002' },
    { iban: 'GB33BUKB20201555555555', ledger: 1, account: '1001' }, { bic: 'CLRGUS33', ledger: 1, account: '1004' },
  ] });
  assert.equal(directory.json.results, ['created', 'created', 'created', 'created'], JSON.stringify(directory.json));
  const all = (await Stream.open('?types=payment')).stream!;
  const gbp = (await Stream.open('?types=payment', keys.gbp)).stream!;
  const scoped = (await Stream.open('?types=payment', keys.scoped)).stream!;
  const usd = (await Stream.open('?types=payment&ledger=1', keys.auditor)).stream!;
  const transfersOnly = (await Stream.open('?types=transfer')).stream!;

  const inbound = await postXml(pacs008Numbered(1));
  assert.equal([inbound.status, inbound.json.transactions[0].status], [200, 'ACSC'], JSON.stringify(inbound.json));
  const inboundId = inbound.json.transactions[0].payment_id;
  await all.until(() => all.events.length >= 1, 'the pacs.008\'s payment');
  assert.equal(all.events[0].data, { ...await paymentNow(inboundId), href: `/v1/payments/${inboundId}` }, 'the payment as GET /v1/payments/{id} shows it, but its messages');
  const settled = all.events[0];
  assert.equal([settled.event, settled.data.state, settled.data.end_to_end_id, settled.data.currency], ['payment', 'settled', 'pacs008EndToEndId-001', 'GBP']);
  assert.is((await postXml(pacs008Numbered(1))).json.repeated, true);

  const outbound = await postXml(pain001('PAIN-EV-1', 1,
    { debtorIban: 'GB33BUKB20201555555555', creditorIban: 'DE89370400440532013000', creditorAgent: 'CLRGUS33', currency: 'USD', amount: '40.00' }));
  assert.is(outbound.json.transactions[0].status, 'ACCP', JSON.stringify(outbound.json));
  const outboundId = outbound.json.transactions[0].payment_id;
  await all.until(() => all.events.length >= 2, 'the pain.001\'s payment');
  assert.equal([all.events[1].data.id, all.events[1].data.state, all.events[1].data.end_to_end_id], [outboundId, 'pending', 'PAIN-EV-1-0']);
  const report = writeIsoMessageText({
    kind: 'pacs.002', header: { msgId: 'CLRG-EV-1', creationDateTime: '2026-12-07T10:05:00Z', instructingAgent: { bic: 'CLRGUS33' } },
    original: { msgId: 'QX-unknown', msgNameId: 'pacs.008.001.08' },
    transactions: [{ originalEndToEndId: 'PAIN-EV-1-0', status: 'ACSC' }, { originalEndToEndId: 'NOT-OURS', status: 'ACSC' }],
  });
  const applied = await postXml(report);
  assert.equal(applied.json.statuses.map((x: any) => [x.payment_state, x.reason]), [['ACSC', undefined], ['RJCT', 'NOOR']], JSON.stringify(applied.json));
  await all.until(() => all.events.length >= 3, 'the settled pain.001 payment');
  assert.equal(all.events[2].data, { ...await paymentNow(outboundId), href: `/v1/payments/${outboundId}` });
  assert.equal([all.events[2].data.id, all.events[2].data.state], [outboundId, 'settled']);
  assert.is((await postXml(report)).json.repeated, true);
  await transfers(1); // one more event after the repeats: the streams have read past anything they could have emitted
  await transfersOnly.until(() => transfersOnly.events.some((e) => e.data.id === String(nextTransfer - 1)), 'the transfer after the repeats');
  await new Promise((r) => setTimeout(r, 300));

  assert.is(all.events.length, 3, 'a repeated pacs.008 and pacs.002, and a line that changed nothing, emit no event');
  assertIncreasing(all.events);
  assert.equal(gbp.events.map((e) => e.data.id), [inboundId], 'a key granted the GBP ledger sees the GBP payment only');
  assert.equal(usd.events.map((e) => [e.data.id, e.data.state]), [[outboundId, 'pending'], [outboundId, 'settled']], '?ledger=1: the USD payment\'s two');
  assert.equal(scoped.events, [], 'a key granted another ledger sees none');
  assert.is(scoped.ended, false);
  assert.ok(transfersOnly.events.every((e) => e.event === 'transfer'), '?types=transfer: no payment events');
  assert.ok(transfersOnly.events.some((e) => e.data.id === all.events[0].data.transfer_id), 'but the payment\'s ledger transfer');
  for (const s of [all, gbp, scoped, usd, transfersOnly]) s.close();

  // A restart replays the log: the same payment events under the same ids, once each; new ones follow.
  assert.is(await server.kill('SIGTERM'), 0);
  await start();
  const again = await postXml(pacs008Numbered(2));
  assert.is(again.json.transactions[0].status, 'ACSC', JSON.stringify(again.json));
  const replayed = (await Stream.open(`?types=payment&after=${all.events[0].id - 1}`)).stream!;
  await replayed.until(() => replayed.events.length >= 4, 'the three payment events again and the new one');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(replayed.events.slice(0, 3), all.events, 'the same ids, the same payments');
  assert.equal(replayed.events.length, 4, 'each once');
  assert.equal([replayed.events[3].data.id, replayed.events[3].data.state], [again.json.transactions[0].payment_id, 'settled']);
  assertIncreasing(replayed.events);
  replayed.close();
});

test('a subscriber that stops reading is dropped with a final error event; another gets every event', async () => {
  // Proves a slow subscriber never holds the machine or the others back, and learns why it was cut off.
  const fast = (await Stream.open('?types=transfer')).stream!;
  const start = (await Stream.open('?types=transfer')).stream!;
  start.close();
  const slow = net.connect(Number(new URL(base).port), '127.0.0.1');
  await new Promise<void>((r) => slow.once('connect', () => r()));
  const received: Buffer[] = [];
  slow.on('data', (d: Buffer) => received.push(d));
  slow.write(`GET /v1/events?types=transfer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.admin}\r\n\r\n`);
  await new Promise((r) => setTimeout(r, 300));
  slow.pause(); // reads nothing more: the socket buffers fill, then the ring laps it
  // Full batches until the ring has lapped the paused reader: how many that
  // takes depends on how much the loopback socket buffers (tcp_rmem/tcp_wmem).
  const ids: string[] = [];
  const dropped = () => server.events.some((e) => e.event === 'events_subscriber_dropped');
  for (let b = 0; b < BATCHES_MAX && !dropped(); b++) {
    ids.push(...await transfers(BATCH_MAX, { amount: '1' }));
    await fast.until(() => fast.events.length >= ids.length, `batch ${b} on the fast stream`, 60_000);
  }
  assert.equal(fast.events.map((e) => e.data.id), ids, 'the fast subscriber got every event in order');
  await server.waitFor('events_subscriber_dropped', 30_000);
  const ended = new Promise<void>((r) => slow.once('end', () => r()));
  slow.resume();
  await ended;
  const text = Buffer.concat(received).toString('utf8');
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  const tail = text.slice(text.lastIndexOf('event: '));
  assert.match(tail, /^event: error\ndata: \{"error":\{"code":"subscriber_too_slow"/);
  fast.close();
});

test.run();
