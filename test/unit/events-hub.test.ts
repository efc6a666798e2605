// test/unit/events-hub.test.ts: the host's event ring and SSE subscribers
// (host/gateway/events.ts) without a kernel: records as the kernel lays them
// out (hal/abi.ts "event stream"), fake sinks with a settable backlog.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as abi from '../../hal/abi.ts';
import { EventHub, EventQueryError, eventData, parseEventQuery, transferJsonText, type EventSink } from '../../host/gateway/events.ts';
import * as P from '../../services/payments/protocol.ts';
import * as C from '../../services/compliance/protocol.ts';
import * as F from '../../services/fix/protocol.ts';
import { paymentRecordAt } from '../../host/payments/records.ts';
import { paymentJson } from '../../host/gateway/payment-json.ts';

/** A record of `count` transfers on `ledger` with ids first.. (transfer id = event id). */
function transfers(first: number, count: number, ledger = 1): Buffer {
  const r = Buffer.alloc(abi.EVENT_RECORD_HEADER_BYTES + count * abi.EVENT_TRANSFER_BYTES);
  r.writeBigUInt64LE(BigInt(first), 0);
  r.writeBigUInt64LE(123n, 8);
  r.writeUInt16LE(abi.EVT_TRANSFER, 16);
  r.writeUInt32LE(count, 20);
  r.writeUInt32LE(abi.EVENT_TRANSFER_BYTES, 24);
  for (let i = 0; i < count; i++) {
    const at = abi.EVENT_RECORD_HEADER_BYTES + i * abi.EVENT_TRANSFER_BYTES;
    r.writeBigUInt64LE(BigInt(first + i), at); // id (low half)
    r.writeBigUInt64LE(7n, at + 48); // amount (low half)
    r.writeUInt32LE(ledger, at + 112);
    r.writeUInt16LE(1, at + 116);
    r.writeBigUInt64LE(1000n + BigInt(first + i), at + 120);
  }
  return r;
}

/** A record of payment records, one per entry of `payments` (id, ledger, state), as the payments service stores them. */
function payments(first: number, list: { id: number; ledger: number; state: number }[]): Buffer {
  const r = Buffer.alloc(abi.EVENT_RECORD_HEADER_BYTES + list.length * abi.EVENT_PAYMENT_BYTES);
  r.writeBigUInt64LE(BigInt(first), 0);
  r.writeBigUInt64LE(456n, 8);
  r.writeUInt16LE(abi.EVT_PAYMENT, 16);
  r.writeUInt16LE(1, 18);
  r.writeUInt32LE(list.length, 20);
  r.writeUInt32LE(abi.EVENT_PAYMENT_BYTES, 24);
  list.forEach((p, i) => {
    const at = abi.EVENT_RECORD_HEADER_BYTES + i * abi.EVENT_PAYMENT_BYTES;
    r.writeBigUInt64LE(BigInt(p.id), at + P.PAY_ID);
    r[at + P.PAY_STATE] = p.state;
    r[at + P.PAY_SOURCE] = P.SOURCE_PAIN001;
    r.writeUInt32LE(p.ledger, at + P.PAY_LEDGER);
    r.writeBigUInt64LE(1234n, at + P.PAY_AMOUNT);
    r.writeBigUInt64LE(BigInt(p.id), at + P.PAY_TRANSFER);
    r.writeBigUInt64LE(BigInt(P.PAYMENT_TRANSFER_ID_HI), at + P.PAY_TRANSFER + 8);
    r.writeBigUInt64LE(20n, at + P.PAY_DEBIT);
    r.writeBigUInt64LE(50n, at + P.PAY_CREDIT);
    r.writeBigUInt64LE(1_000_000n, at + P.PAY_CREATED);
    const e2e = Buffer.from(`E2E-${p.id}`);
    r[at + P.PAY_END_TO_END_ID] = e2e.length;
    e2e.copy(r, at + P.PAY_END_TO_END_ID + 1);
  });
  return r;
}

class Sink implements EventSink {
  text = '';
  backlog = 0;
  ended = false;
  write(t: string): void { this.text += t; }
  buffered(): number { return this.backlog; }
  end(): void { this.ended = true; }
  ids(): number[] { return [...this.text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])); }
  /** Each event's id, name and parsed data. */
  events(): { id: number; event: string; data: any }[] {
    return [...this.text.matchAll(/^id: (\d+)\nevent: (\w+)\ndata: (.*)$/gm)].map((m) => ({ id: Number(m[1]), event: m[2], data: JSON.parse(m[3]) }));
  }
}

const tick = () => new Promise((r) => setTimeout(r, 30));

test('a subscriber gets the events after its id, in order, then live ones', async () => {
  // Proves resume semantics: exactly the events after `after`, none twice.
  const hub = new EventHub({ ringEventsMax: 100 });
  hub.publish(transfers(1, 5));
  const sink = new Sink();
  const stop = hub.subscribe(parseEventQuery('after=2', undefined), null, sink);
  hub.publish(transfers(6, 2));
  await tick();
  assert.equal(sink.ids(), [3, 4, 5, 6, 7]);
  assert.match(sink.text, /event: transfer\ndata: \{"id":"3",/);
  stop();
  hub.close();
});

test('check(): 410 for an id older than the ring, 400 for one not reached, 503 when full', () => {
  // Proves the stable codes of a refused resume.
  const hub = new EventHub({ ringEventsMax: 10, subscribersMax: 1 });
  for (let first = 1; first <= 30; first += 5) hub.publish(transfers(first, 5));
  assert.is(hub.oldestId, 21, 'whole records leave while more than the limit is held');
  assert.is(hub.check(parseEventQuery('after=5', undefined))?.code, 'event_id_expired');
  assert.is(hub.check(parseEventQuery('after=5', undefined))?.status, 410);
  assert.is(hub.check(parseEventQuery('after=20', undefined)), null, 'the event right before the oldest held is a valid resume point');
  assert.is(hub.check(parseEventQuery('after=30', undefined)), null, 'the last event: nothing missed');
  assert.is(hub.check(parseEventQuery('after=31', undefined))?.code, 'invalid_event_id');
  const stop = hub.subscribe(parseEventQuery('', undefined), null, new Sink());
  assert.is(hub.check(parseEventQuery('', undefined))?.code, 'too_many_subscribers');
  stop();
  assert.is(hub.check(parseEventQuery('', undefined)), null);
  hub.close();
});

test('grants and ?ledger= filter transfers; ?types= filters kinds', async () => {
  // Proves a scoped key never sees another ledger's transfers.
  const hub = new EventHub();
  const scoped = new Sink();
  const filtered = new Sink();
  const none = new Sink();
  hub.subscribe(parseEventQuery('after=0', undefined), [2], scoped);
  hub.subscribe(parseEventQuery('', undefined), null, filtered);
  hub.subscribe(parseEventQuery('types=checkpoint', undefined), null, none);
  hub.publish(transfers(1, 2, 1));
  hub.publish(transfers(3, 2, 2));
  await tick();
  assert.equal(scoped.ids(), [3, 4]);
  assert.equal(filtered.ids(), [1, 2, 3, 4]);
  assert.equal(none.ids(), []);
  hub.close();
});

test('a subscriber that stops reading is left alone until the ring laps it, then dropped with an error event', async () => {
  // Proves the bounded buffer (nothing written past the limit) and the final error event.
  const hub = new EventHub({ ringEventsMax: 10, subscriberBufferBytesMax: 1000 });
  const slow = new Sink();
  const fast = new Sink();
  hub.subscribe(parseEventQuery('', undefined), null, slow);
  hub.subscribe(parseEventQuery('', undefined), null, fast);
  slow.backlog = 5000; // its socket holds more than the limit: not written to
  hub.publish(transfers(1, 5));
  await tick();
  assert.equal(slow.ids(), []);
  assert.is(slow.ended, false);
  for (let first = 6; first <= 30; first += 5) { hub.publish(transfers(first, 5)); await tick(); }
  assert.is(slow.ended, true);
  assert.match(slow.text, /event: error\ndata: \{"error":\{"code":"subscriber_too_slow"/);
  assert.equal(fast.ids(), Array.from({ length: 30 }, (_, i) => i + 1), 'the other subscriber got everything');
  assert.is(hub.dropped, 1);
  hub.close();
});

test('a gap in the kernel\'s ids (dropped records) empties the ring', () => {
  // Proves a resume from before a gap is refused rather than served with holes.
  const hub = new EventHub();
  const lines: object[] = [];
  const logged = new EventHub({}, (o) => lines.push(o));
  for (const h of [hub, logged]) { h.publish(transfers(1, 3)); h.publish(transfers(10, 2)); }
  assert.is(hub.oldestId, 10);
  assert.is(hub.lost, 6);
  assert.is(hub.check(parseEventQuery('after=2', undefined))?.code, 'event_id_expired');
  assert.equal(lines, [{ event: 'events_lost', from: 4, to: 9 }]);
  const snap = new EventHub();
  snap.publish(transfers(500, 1));
  assert.is(snap.lost, 0, 'the first record sets where numbering stands (a boot from a snapshot)');
  assert.throws(() => snap.publish(transfers(400, 1)), /went back/);
});

test('a payment event is the payment as GET /v1/payments lists it, with its href; grants, ?ledger= and ?types= go by its ledger', async () => {
  // Proves the payment event's JSON and that a scoped key never sees another ledger's payments.
  assert.is(abi.EVENT_PAYMENT_BYTES, P.PAYMENT_BYTES, 'an event item is a payment record');
  const ledgers = new Map([[1, { assetScale: 2, currency: 'USD' }], [2, { assetScale: 0, currency: 'JPY' }]]);
  const hub = new EventHub({ subscribersPerKeyMax: 8 }, () => {}, ledgers);
  const sinks = { all: new Sink(), scoped: new Sink(), ledger1: new Sink(), paymentsOnly: new Sink(), transfersOnly: new Sink() };
  hub.subscribe(parseEventQuery('', undefined), null, sinks.all);
  hub.subscribe(parseEventQuery('', undefined), [2], sinks.scoped);
  hub.subscribe(parseEventQuery('ledger=1', undefined), null, sinks.ledger1);
  hub.subscribe(parseEventQuery('types=payment', undefined), null, sinks.paymentsOnly);
  hub.subscribe(parseEventQuery('types=transfer', undefined), null, sinks.transfersOnly);
  hub.publish(transfers(1, 1, 1));
  const record = payments(2, [{ id: 7, ledger: 1, state: P.STATE_PENDING }, { id: 8, ledger: 2, state: P.STATE_REJECTED }, { id: 7, ledger: 1, state: P.STATE_SETTLED }]);
  hub.publish(record);
  await tick();
  const got = sinks.all.events();
  assert.equal(got.map((e) => [e.id, e.event]), [[1, 'transfer'], [2, 'payment'], [3, 'payment'], [4, 'payment']]);
  const items = record.subarray(abi.EVENT_RECORD_HEADER_BYTES);
  assert.equal(got[1].data, { ...paymentJson(paymentRecordAt(items, 0)!, ledgers), href: '/v1/payments/7' }, 'what GET /v1/payments lists for payment 7, and its href');
  assert.equal([got[1].data.id, got[1].data.state, got[1].data.amount_decimal, got[1].data.currency, got[1].data.end_to_end_id, got[1].data.source],
    ['7', 'pending', '12.34', 'USD', 'E2E-7', 'pain.001']);
  assert.equal([got[3].data.state, got[2].data.amount_decimal, got[2].data.currency], ['settled', '1234', 'JPY']);
  assert.equal(sinks.scoped.ids(), [3], 'a key granted ledger 2 sees its payment only');
  assert.equal(sinks.ledger1.ids(), [1, 2, 4], '?ledger=1: the ledger-1 transfer and payments');
  assert.equal(sinks.paymentsOnly.ids(), [2, 3, 4]);
  assert.equal(sinks.transfersOnly.ids(), [1], '?types=transfer: no payments');
  assert.equal(eventData(abi.EVT_PAYMENT, items.subarray(abi.EVENT_PAYMENT_BYTES, 2 * abi.EVENT_PAYMENT_BYTES), 0n, ledgers), got[2].data);
  const short = Buffer.from(payments(5, [{ id: 9, ledger: 1, state: 1 }]).subarray(0, abi.EVENT_RECORD_HEADER_BYTES + abi.EVENT_TRANSFER_BYTES));
  short.writeUInt32LE(abi.EVENT_TRANSFER_BYTES, 24);
  assert.throws(() => hub.publish(short), /type 3, 1 items of 128 bytes/, 'a payment record of another size is refused');
  hub.close();
});

test('query parsing: bad ids, unknown names and repeats are refused with stable codes', () => {
  // Proves the 400 codes the route answers.
  assert.equal(parseEventQuery('after=5&ledger=1,2&types=transfer', undefined), { after: 5, ledgers: [1, 2], types: new Set([abi.EVT_TRANSFER]) });
  assert.equal(parseEventQuery('types=payment,checkpoint', undefined).types, new Set([abi.EVT_PAYMENT, abi.EVT_CHECKPOINT]));
  assert.is(parseEventQuery('', '17').after, 17, 'Last-Event-ID');
  assert.is(parseEventQuery('after=3', '17').after, 3, '?after wins');
  for (const [q, h, code] of [['after=-1', undefined, 'invalid_event_id'], ['after=01', undefined, 'invalid_event_id'], ['', 'x', 'invalid_event_id'],
    ['types=transfers', undefined, 'invalid_query'], ['ledger=a', undefined, 'invalid_query'], ['after=1&after=2', undefined, 'invalid_query'], ['x=1', undefined, 'invalid_query']] as const) {
    try {
      parseEventQuery(q, h);
      assert.unreachable(`${q} ${h}`);
    } catch (e) {
      assert.instance(e, EventQueryError);
      assert.is((e as EventQueryError).code, code, `${q} ${h}`);
    }
  }
});

test('the fast transfer renderer writes exactly what transferToJson does', () => {
  // Proves the hand-written JSON matches the API's Transfer JSON for edge values (0, 2^53±1, 2^64-1, 2^128-1, every flag).
  const values = [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 127n + 5n, 2n ** 128n - 1n];
  const b = Buffer.alloc(128);
  let seed = 7;
  const pick = <T>(xs: T[]): T => { seed = (seed * 1103515245 + 12345) >>> 0; return xs[seed % xs.length]; };
  for (let n = 0; n < 500; n++) {
    for (const at of [0, 16, 32, 48, 64, 80]) {
      const v = pick(values);
      b.writeBigUInt64LE(v & (2n ** 64n - 1n), at);
      b.writeBigUInt64LE(v >> 64n, at + 8);
    }
    b.writeBigUInt64LE(pick(values) & (2n ** 64n - 1n), 96);
    b.writeUInt32LE(pick([0, 1, 0xffffffff]), 104);
    b.writeUInt32LE(pick([0, 3600, 0xffffffff]), 108);
    b.writeUInt32LE(pick([1, 0xffffffff]), 112);
    b.writeUInt16LE(pick([1, 0xffff]), 116);
    b.writeUInt16LE(pick([0, 1, 2, 0x1ff, 0xffff]), 118);
    b.writeBigUInt64LE(pick(values) & (2n ** 64n - 1n), 120);
    assert.is(transferJsonText(b, 0), JSON.stringify(eventData(abi.EVT_TRANSFER, b, 0n)));
  }
});

test('an alert event is the alert as GET /v1/compliance/alerts lists it, shown only to streams whose role may read alerts, by its ledger', async () => {
  // Proves the one layout (EVENT_ALERT_BYTES is the protocol's ALERT_BYTES), that a stream not allowed alerts never
  // sees one (tellers and read-only keys), and that ?ledger= applies to alerts.
  assert.is(abi.EVENT_ALERT_BYTES, C.ALERT_BYTES, 'an event item is an alert record');
  const hub = new EventHub({ subscribersPerKeyMax: 8 }, () => {}, new Map([[1, { assetScale: 2, currency: 'USD' }]]));
  const sinks = { officer: new Sink(), other: new Sink(), ledger2: new Sink() };
  hub.subscribe(parseEventQuery('', undefined), null, sinks.officer, null, true);
  hub.subscribe(parseEventQuery('', undefined), null, sinks.other);
  hub.subscribe(parseEventQuery('ledger=2&types=alert', undefined), null, sinks.ledger2, null, true);
  const r = Buffer.alloc(abi.EVENT_RECORD_HEADER_BYTES + abi.EVENT_ALERT_BYTES);
  r.writeBigUInt64LE(1n, 0);
  r.writeUInt16LE(abi.EVT_ALERT, 16);
  r.writeUInt32LE(1, 20);
  r.writeUInt32LE(abi.EVENT_ALERT_BYTES, 24);
  const a = abi.EVENT_RECORD_HEADER_BYTES;
  r.writeUInt32LE(6, a + C.ALERT_ID);
  r.writeUInt32LE(C.RULE_AMOUNT, a + C.ALERT_RULES);
  r.writeBigUInt64LE(44n, a + C.ALERT_PAYMENT);
  r[a + C.ALERT_STATE] = C.CASE_OPEN;
  r[a + C.ALERT_ACTION] = C.ACTION_HOLD;
  r.writeUInt32LE(1, a + C.ALERT_LEDGER);
  r.writeBigUInt64LE(150000n, a + C.ALERT_AMOUNT);
  hub.publish(r);
  await tick();
  assert.is(hub.nextId, 2, 'the alert\'s id is used');
  assert.not.match(sinks.other.text, /event: alert/, 'a stream not allowed alerts never sees one');
  assert.not.match(sinks.ledger2.text, /event: alert/, 'another ledger\'s alert is not shown');
  assert.match(sinks.officer.text, /event: alert/);
  const data = JSON.parse(/data: (.*)/.exec(sinks.officer.text.split('event: alert')[1])![1]);
  assert.equal([data.id, data.payment_id, data.state, data.action, data.rules, data.amount, data.href], [6, '44', 'open', 'hold', ['amount'], '1500.00', '/v1/compliance/alerts/6']);
  assert.equal(parseEventQuery('types=alert', undefined).types, new Set([abi.EVT_ALERT]));
});

test('EVT_FIX records go to onFix listeners only: never to a stream, their ids used without a gap', async () => {
  // Proves the one layout (EVENT_FIX_BYTES is the FIX protocol's OUT_BYTES), that FIX session traffic never reaches
  // GET /v1/events, that a listener gets each record's items in order, and that the ids around it stay contiguous.
  assert.is(abi.EVENT_FIX_BYTES, F.OUT_BYTES, 'an event item is a FIX out record');
  const hub = new EventHub({ ringEventsMax: 100 });
  const sink = new Sink();
  hub.subscribe(parseEventQuery('', undefined), null, sink);
  const got: { timeNs: bigint; count: number; firstId: number; seqs: number[] }[] = [];
  const stop = hub.onFix((timeNs, items, count, firstId) => {
    const seqs = [];
    for (let i = 0; i < count; i++) seqs.push(items.readUInt32LE(i * abi.EVENT_FIX_BYTES + F.OUT_SEQ));
    got.push({ timeNs, count, firstId, seqs });
  });
  hub.publish(transfers(1, 1));
  const r = Buffer.alloc(abi.EVENT_RECORD_HEADER_BYTES + 2 * abi.EVENT_FIX_BYTES);
  r.writeBigUInt64LE(2n, 0);
  r.writeBigUInt64LE(77n, 8);
  r.writeUInt16LE(abi.EVT_FIX, 16);
  r.writeUInt32LE(2, 20);
  r.writeUInt32LE(abi.EVENT_FIX_BYTES, 24);
  r.writeUInt32LE(5, abi.EVENT_RECORD_HEADER_BYTES + F.OUT_SEQ);
  r.writeUInt32LE(6, abi.EVENT_RECORD_HEADER_BYTES + abi.EVENT_FIX_BYTES + F.OUT_SEQ);
  hub.publish(r);
  hub.publish(transfers(4, 1));
  await tick();
  assert.equal(got, [{ timeNs: 77n, count: 2, firstId: 2, seqs: [5, 6] }]);
  assert.equal(sink.ids(), [1, 4], 'the stream skips the FIX items');
  assert.is(hub.lost, 0, 'no gap');
  assert.throws(() => parseEventQuery('types=fix', undefined), 'no stream may ask for them');
  stop();
  hub.publish(transfers(5, 1));
  assert.is(got.length, 1, 'a removed listener hears nothing more');
  hub.close();
});

test.run();
