// test/unit/trading-queue.test.ts: the trading service with settlement
// (services/trading/assembly/flow.ts) against a fake ledger: orders requests
// that arrive while one is being settled wait in a small FIFO, each with its
// own scope and arrival time, and are answered in order; only a full FIFO
// refuses one; reads arriving meanwhile are answered at once and leave the
// waiting answer intact.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as P from '../../services/trading/protocol.ts';
import * as L from '../../services/ledger/protocol.ts';
import { bookReply, bookRequest, ordersReply, ordersRequest, TradingRefusal, type Operation } from '../../host/trading/records.ts';

const WASM = join(new URL('../..', import.meta.url).pathname, 'build/services/trading.wasm');
const LEDGER = 1; // [trading, ledger]
const ACME = 1;
const A = 100n;
const B = 200n;

async function service(): Promise<ServiceHarness> {
  const svc = await ServiceHarness.load(WASM, { name: 'trading', peers: ['ledger'], caps: ['log', 'time', 'send:ledger'], memoryPagesMax: 4096, messageBytesMax: 1 << 20 });
  svc.init({ orders_max: 1000, levels_max: 64, settlement: true, instruments: [
    { id: ACME, symbol: 'ACME', price_scale: 2, qty_scale: 0, tick: 1, lot: 1, qty_max: 100000, band_bps: 0, cash_ledger: 1, asset_ledger: 4,
      code: 7, cash_escrow: '10', asset_escrow: '11' },
  ] });
  return svc;
}

/**
 * The fake ledger answers each batch the service sent, one at a time in order, creating every transfer (results all
 * zero: TransferResult.created), until the service sends no more; `each` runs after every answer.
 */
function ledgerAnswers(svc: ServiceHarness, each: () => void = () => {}): void {
  for (let at = 0; at < svc.sent.length; at++) {
    const batch = svc.sent[at];
    assert.is(batch.peer, LEDGER, 'settlement goes to the ledger');
    svc.peerReply(LEDGER, Buffer.alloc(batch.payload.readUInt32LE(L.HEADER_COUNT) * L.RESULT_BYTES));
    each();
  }
}

const buy = (account: bigint, price: bigint, qty: bigint): Operation => ({ kind: 'new', side: 'buy', instrument: ACME, account, price, qty });
const sell = (account: bigint, price: bigint, qty: bigint): Operation => ({ kind: 'new', side: 'sell', instrument: ACME, account, price, qty });

test('orders requests back to back with settlement: the second waits and both are answered, in order, each in its own scope', async () => {
  // Proves the FIFO: a request arriving while one waits for the ledger is neither refused nor started early; when
  // the first is answered the second starts (its reservations sent) and is answered after it, as of its own scope;
  // a read between the ledger's answers (the book then holds the rest of the buy) does not overwrite the results
  // and events of the request whose settlement is out.
  const svc = await service();
  const first = svc.request(ordersRequest([buy(A, 100n, 10n)]));
  assert.is(first, null, 'the first waits for its reservation');
  const sentAfterFirst = svc.sent.length;
  assert.ok(sentAfterFirst >= 1, 'the reservation went to the ledger');
  assert.is(svc.request(ordersRequest([sell(B, 100n, 5n)])), null, 'the second waits too: not refused');
  assert.is(svc.request(ordersRequest([sell(B, 100n, 1n)], [9])), null, 'a third, of a key granted another ledger only');
  assert.is(svc.sent.length, sentAfterFirst, 'nothing of the waiting ones was sent');
  const [t1, t2, t3] = svc.pending;
  const answeredOrder: number[] = [];
  ledgerAnswers(svc, () => {
    for (const t of [t1, t2, t3]) if (!answeredOrder.includes(t) && !svc.pending.includes(t)) answeredOrder.push(t);
    bookReply(svc.request(bookRequest(ACME, 5))!.payload); // a read between the answers: never queued, never in the way
  });
  assert.equal(answeredOrder, [t1, t2, t3], 'answered in the order they came');
  const r1 = ordersReply(svc.takeReply(t1)!.payload);
  const r2 = ordersReply(svc.takeReply(t2)!.payload);
  const r3 = ordersReply(svc.takeReply(t3)!.payload);
  assert.is(r1.results[0].status, P.ST_NEW, 'the buy rests');
  assert.is(r2.results[0].status, P.ST_FILLED, 'the sell, started after, trades with it');
  assert.equal(r2.events.filter((e) => e.kind === P.EV_KIND_TRADE).map((e) => [e.price, e.qty]), [[100n, 5n]], 'its trade, settled, in its answer');
  assert.equal([r3.results[0].status, r3.results[0].reason], [P.ST_REJECTED, P.RJ_FORBIDDEN], 'the queued request kept its own scope');
});

test('a read while an orders request is settled is answered at once and leaves its answer intact; a full FIFO refuses', async () => {
  // Proves reads are never queued (book answered at once) and use an area of their own (the orders answer that
  // waits is not overwritten), and that more than the FIFO holds is refused "queue full", the rest answered.
  const svc = await service();
  assert.is(svc.request(ordersRequest([buy(A, 100n, 5n)])), null);
  const waiting = svc.pending[0];
  // Reserved, not yet applied: the first ledger answer applies the order, and its trades' settlement (none) finishes it.
  const book = svc.request(bookRequest(ACME, 5));
  assert.ok(book !== null, 'a read is answered at once');
  assert.equal(bookReply(book!.payload), { bids: [], asks: [] }, 'the order is not applied before its reservation is answered');
  const queued = [];
  for (let i = 0; i < 4; i++) {
    assert.is(svc.request(ordersRequest([buy(A, 90n + BigInt(i), 1n)])), null, `request ${i + 2} waits`);
    queued.push(svc.pending[svc.pending.length - 1]);
  }
  const refused = svc.request(ordersRequest([buy(A, 80n, 1n)]));
  assert.ok(refused !== null, 'the sixth is answered at once');
  assert.throws(() => ordersReply(refused!.payload), (e: unknown) => e instanceof TradingRefusal && /queue full/.test((e as Error).message));
  // Between the answers, reads again: no waiting answer is overwritten by them.
  ledgerAnswers(svc, () => { bookReply(svc.request(bookRequest(ACME, 5))!.payload); });
  assert.equal(svc.pending, [], 'every waiting request answered');
  const r = ordersReply(svc.takeReply(waiting)!.payload);
  assert.equal([r.results.length, r.results[0].status, r.results[0].qty], [1, P.ST_NEW, 5n], 'the first answer intact');
  for (const t of queued) assert.is(ordersReply(svc.takeReply(t)!.payload).results[0].status, P.ST_NEW);
  assert.is(bookReply(svc.request(bookRequest(ACME, 10))!.payload).bids.length, 5, 'every queued order rests at its price');
});

test.run();
