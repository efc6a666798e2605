// test/unit/trading-match.test.ts: the trading service's books and matching
// (services/trading), against the SDK's fake kernel. Proves, each on its
// own case: price-time priority and trades at the resting price; partial
// fills; limit GTC, IOC, FOK (whole or nothing), DAY (expired at the end of
// the logical day, before anything trades) and market orders (IOC/FOK only,
// none into an empty side); post-only; cancel (only the owner's live order);
// replace (less at the same price keeps its place, a new price or more loses
// it and may trade); self-trade prevention in its three modes; mass cancel;
// the price band, tick, lot and largest quantity; the bound of fills per
// order; full tables. Then a differential test: seeded random order flow on
// the service and on an obviously correct reference book
// (test/support/reference-book.ts) gives the same results, events and
// books. And the same requests on a fresh service give the same bytes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as P from '../../services/trading/protocol.ts';
import {
  bookReply, bookRequest, opRecord, orderGetReply, REASON_NAMES, STATUS_NAMES, orderGetRequest, ordersReply, ordersRequest, SIDES, STPS, TIFS, TradingRefusal, type Event, type Operation,
  type Result,
} from '../../host/trading/records.ts';
import { ReferenceBook, type RefInstrument, type RefOp } from '../support/reference-book.ts';

const WASM = join(new URL('../..', import.meta.url).pathname, 'build/services/trading.wasm');
const DAY = 86_400_000_000_000n;
const ACME = 1;
const INSTRUMENTS = [
  { id: ACME, symbol: 'ACME', price_scale: 2, qty_scale: 0, tick: 5, lot: 10, qty_max: 100000, band_bps: 0, cash_ledger: 1, asset_ledger: 4 },
  { id: 2, symbol: 'BNDS', price_scale: 4, qty_scale: 2, tick: 1, lot: 1, qty_max: 1000000, band_bps: 1000, cash_ledger: 1, asset_ledger: 5 },
];
const A = 100n; // accounts
const B = 200n;
const C = 300n;

async function service(config: object = {}): Promise<ServiceHarness> {
  const svc = await ServiceHarness.load(WASM, { name: 'trading', caps: ['log', 'time'], memoryPagesMax: 4096, messageBytesMax: 1 << 20 });
  svc.init({ orders_max: 10000, levels_max: 256, instruments: INSTRUMENTS, ...config });
  svc.timeNs = 20_000n * DAY + 10n * 3600n * 1_000_000_000n;
  return svc;
}

function call(svc: ServiceHarness, request: Buffer): Buffer {
  const r = svc.request(request);
  assert.ok(r !== null && r.status === 0, 'the service answered with status 0');
  return r!.payload;
}

function apply(svc: ServiceHarness, ops: Operation[]) {
  return ordersReply(call(svc, ordersRequest(ops)));
}

/** One operation's result. */
function one(svc: ServiceHarness, op: Operation): { r: Result; events: Event[] } {
  const { results, events } = apply(svc, [op]);
  return { r: results[0], events };
}

const buy = (account: bigint, price: bigint, qty: bigint, more: Partial<Extract<Operation, { kind: 'new' }>> = {}): Operation =>
  ({ kind: 'new', side: 'buy', instrument: ACME, account, price, qty, ...more });
const sell = (account: bigint, price: bigint, qty: bigint, more: Partial<Extract<Operation, { kind: 'new' }>> = {}): Operation =>
  ({ kind: 'new', side: 'sell', instrument: ACME, account, price, qty, ...more });

function depth(svc: ServiceHarness, instrument = ACME) {
  const { bids, asks } = bookReply(call(svc, bookRequest(instrument, 100)));
  return { bids: bids.map((l) => [l.price, l.qty, l.orders]), asks: asks.map((l) => [l.price, l.qty, l.orders]) };
}

const trades = (events: Event[]) => events.filter((e) => e.kind === P.EV_KIND_TRADE).map((e) => [e.maker, e.price, e.qty]);

test('price-time priority: the best price first, at one price the oldest; trades at the resting price; partial fills', async () => {
  const svc = await service();
  const { results } = apply(svc, [sell(A, 1010n, 30n), sell(B, 1005n, 20n), sell(C, 1005n, 20n), sell(A, 1020n, 50n)]);
  assert.equal(results.map((r) => [r.order, r.status]), [[1n, P.ST_NEW], [2n, P.ST_NEW], [3n, P.ST_NEW], [4n, P.ST_NEW]]);
  const t = one(svc, buy(B + 1n, 1015n, 60n));
  // 1005 × 20 (order 2, older), 1005 × 20 (order 3), then 1010 × 20 of order 1's 30; the buyer's limit 1015 stops before 1020.
  assert.equal(trades(t.events), [[2n, 1005n, 20n], [3n, 1005n, 20n], [1n, 1010n, 20n]]);
  assert.equal([t.r.status, t.r.leaves, t.r.cum], [P.ST_FILLED, 0n, 60n]);
  assert.equal(t.events.map((e) => e.makerLeaves), [0n, 0n, 10n]);
  assert.equal(depth(svc), { bids: [], asks: [[1010n, 10n, 1], [1020n, 50n, 1]] });
  const partial = one(svc, buy(C, 1010n, 40n));
  assert.equal([partial.r.status, partial.r.cum, partial.r.leaves], [P.ST_PARTIAL, 10n, 30n], 'the rest of it rests');
  assert.equal(depth(svc), { bids: [[1010n, 30n, 1]], asks: [[1020n, 50n, 1]] });
});

test('time in force: IOC cancels its rest; FOK trades whole or not at all; market orders are IOC/FOK and need liquidity', async () => {
  const svc = await service();
  apply(svc, [sell(A, 1000n, 30n), sell(A, 1005n, 30n)]);
  const ioc = one(svc, buy(B, 1000n, 50n, { tif: 'ioc' }));
  assert.equal([ioc.r.status, ioc.r.cum, ioc.r.leaves], [P.ST_CANCELLED, 30n, 0n]);
  const fokNo = one(svc, buy(B, 1005n, 40n, { tif: 'fok' }));
  assert.equal([fokNo.r.status, fokNo.r.reason, fokNo.r.order, fokNo.events.length], [P.ST_REJECTED, P.RJ_FOK, 0n, 0], 'only 30 at 1005: nothing traded');
  const fok = one(svc, buy(B, 1005n, 30n, { tif: 'fok' }));
  assert.equal([fok.r.status, fok.r.cum], [P.ST_FILLED, 30n]);
  assert.equal(one(svc, buy(B, 0n, 10n, { market: true })).r.reason, P.RJ_NO_LIQUIDITY, 'an empty side');
  apply(svc, [sell(A, 1100n, 10n), sell(A, 1200n, 10n)]);
  assert.equal(one(svc, buy(B, 0n, 10n, { market: true, tif: 'gtc' })).r.reason, P.RJ_TIF, 'a market order never rests');
  assert.equal(one(svc, buy(B, 5n, 10n, { market: true })).r.reason, P.RJ_PRICE, 'a market order has no price');
  const market = one(svc, buy(B, 0n, 30n, { market: true }));
  assert.equal([market.r.status, market.r.cum, trades(market.events).map((t) => t[1])], [P.ST_CANCELLED, 20n, [1100n, 1200n]], 'at any price, the rest cancelled');
});

test('post-only rests or is rejected; cancel takes only its own live order', async () => {
  const svc = await service();
  apply(svc, [sell(A, 1000n, 10n)]);
  assert.equal(one(svc, buy(B, 1000n, 10n, { postOnly: true })).r.reason, P.RJ_POST_ONLY);
  const maker = one(svc, buy(B, 995n, 10n, { postOnly: true })).r;
  assert.is(maker.status, P.ST_NEW);
  const cancelOf = (account: bigint, order: bigint, side: 'buy' | 'sell' = 'buy'): Operation => ({ kind: 'cancel', side, instrument: ACME, account, order });
  assert.equal(one(svc, cancelOf(A, maker.order)).r.reason, P.RJ_UNKNOWN_ORDER, 'another account\'s order');
  assert.equal(one(svc, cancelOf(B, maker.order, 'sell')).r.reason, P.RJ_UNKNOWN_ORDER, 'the wrong side');
  const done = one(svc, cancelOf(B, maker.order)).r;
  assert.equal([done.status, done.order, done.leaves], [P.ST_CANCELLED, maker.order, 0n]);
  assert.equal(one(svc, cancelOf(B, maker.order)).r.reason, P.RJ_UNKNOWN_ORDER, 'cancelled already');
  assert.equal(orderGetReply(call(svc, orderGetRequest([maker.order, 1n]))).map((o) => o.order), [1n], 'only the live one');
});

test('replace: less at the same price keeps the place in time; a new price or more loses it, and a crossing replace trades', async () => {
  const svc = await service();
  const [first, second] = apply(svc, [buy(A, 1000n, 50n), buy(B, 1000n, 50n)]).results;
  const replace = (account: bigint, order: bigint, price: bigint, qty: bigint): Operation => ({ kind: 'replace', side: 'buy', instrument: ACME, account, order, price, qty });
  assert.equal(one(svc, replace(A, first.order, 1000n, 30n)).r.leaves, 30n);
  assert.equal(trades(one(svc, sell(C, 1000n, 10n)).events), [[first.order, 1000n, 10n]], 'A is still first');
  assert.equal(one(svc, replace(A, first.order, 1000n, 60n)).r.leaves, 50n, 'more: 60 in all, 10 filled');
  assert.equal(trades(one(svc, sell(C, 1000n, 10n)).events), [[second.order, 1000n, 10n]], 'A went to the back');
  assert.equal(one(svc, replace(A, first.order, 1000n, 10n)).r.reason, P.RJ_REPLACE_QTY, 'not over the 10 filled');
  apply(svc, [sell(C, 1010n, 20n)]);
  const crossing = one(svc, replace(B, second.order, 1010n, 50n));
  assert.equal([crossing.r.status, trades(crossing.events)], [P.ST_PARTIAL, [[5n, 1010n, 20n]]], 'the sell at 1010 is order 5 (the two filled sells had 3 and 4)');
  assert.equal(one(svc, replace(B, second.order, 1011n, 50n)).r.reason, P.RJ_PRICE, 'off the tick');
});

test('self-trade prevention: cancel the taker, the maker, or both', async () => {
  for (const [stp, status, makerLeft, tradedWithB] of [['cancel_taker', P.ST_CANCELLED, true, false], ['cancel_maker', P.ST_FILLED, false, true],
    ['cancel_both', P.ST_CANCELLED, false, false]] as const) {
    const svc = await service();
    const [own] = apply(svc, [sell(A, 1000n, 10n), sell(B, 1000n, 10n)]).results;
    const t = one(svc, buy(A, 1000n, 10n, { stp }));
    assert.is(t.r.status, status, stp);
    assert.is(t.events.some((e) => e.kind === P.EV_KIND_CANCEL && e.maker === own.order), !makerLeft, `${stp}: the resting order cancelled`);
    assert.is(trades(t.events).length === 1, tradedWithB, `${stp}: traded with B`);
    assert.is(orderGetReply(call(svc, orderGetRequest([own.order]))).length === 1, makerLeft, stp);
  }
});

test('mass cancel: an account\'s orders, of one instrument or all, one side or both; DAY orders expire at the day\'s end before anything trades', async () => {
  const svc = await service();
  apply(svc, [buy(A, 990n, 10n), sell(A, 1010n, 10n), buy(B, 990n, 10n), { ...buy(A, 100n, 100n), instrument: 2 }]);
  const some = one(svc, { kind: 'mass_cancel', account: A, instrument: ACME, side: 'buy' });
  assert.equal([some.r.status, some.r.leaves, some.events.map((e) => e.kind)], [P.ST_DONE, 1n, [P.EV_KIND_CANCEL]]);
  assert.equal(one(svc, { kind: 'mass_cancel', account: A }).r.leaves, 2n, 'the ask and instrument 2\'s bid');
  assert.equal(depth(svc), { bids: [[990n, 10n, 1]], asks: [] }, 'B\'s stays');
  const day = one(svc, sell(C, 1000n, 10n, { tif: 'day' })).r;
  svc.timeNs += DAY;
  const next = apply(svc, [buy(B, 1000n, 10n)]);
  assert.equal([next.expired, next.events[0].kind, next.events[0].maker], [1, P.EV_KIND_EXPIRE, day.order]);
  assert.equal([next.results[0].status, trades(next.events)], [P.ST_NEW, []], 'it did not trade with the expired order');
});

test('instrument rules: tick, lot, largest quantity, the band around the last trade; unknown instruments and malformed operations', async () => {
  const svc = await service();
  const bond = (side: 'buy' | 'sell', account: bigint, price: bigint, qty: bigint): Operation => ({ kind: 'new', side, instrument: 2, account, price, qty });
  assert.equal(one(svc, buy(A, 1003n, 10n)).r.reason, P.RJ_PRICE);
  assert.equal(one(svc, buy(A, 1000n, 15n)).r.reason, P.RJ_QTY);
  assert.equal(one(svc, buy(A, 1000n, 100010n)).r.reason, P.RJ_QTY);
  apply(svc, [bond('sell', A, 10000n, 100n), bond('buy', B, 10000n, 100n)]);
  // Band 10 % around the last trade at 10000: 9000..11000.
  assert.equal([bond('buy', B, 8999n, 1n), bond('buy', B, 9000n, 1n), bond('sell', B, 11000n, 1n), bond('sell', B, 11001n, 1n)]
    .map((op) => one(svc, op).r.reason), [P.RJ_BAND, 0, 0, P.RJ_BAND]);
  assert.equal(one(svc, { ...buy(A, 1000n, 10n), instrument: 9 }).r.reason, P.RJ_INSTRUMENT);
  const bad = opRecord(buy(A, 1000n, 10n));
  bad[P.OP_TIF] = 9;
  const reply = ordersReply(call(svc, Buffer.concat([ordersRequest([buy(A, 1000n, 10n)]).subarray(0, P.HEADER_BYTES), bad])));
  assert.equal([reply.results[0].status, reply.results[0].reason], [P.ST_REJECTED, P.RJ_MALFORMED]);
  const short = ordersRequest([buy(A, 1000n, 10n)]).subarray(0, P.HEADER_BYTES + 10);
  assert.throws(() => ordersReply(call(svc, short)), (e: unknown) => e instanceof TradingRefusal);
});

test('bounds: a taker trades with at most FILLS_PER_ORDER_MAX resting orders, the rest cancelled; full tables reject', async () => {
  const svc = await service();
  const many = Array.from({ length: P.FILLS_PER_ORDER_MAX + 10 }, (_, i) => sell(1000n + BigInt(i), 1000n, 10n));
  apply(svc, many.slice(0, 512));
  const sweep = one(svc, buy(A, 1000n, 10n * BigInt(many.length)));
  assert.equal([sweep.r.status, sweep.r.cum, sweep.events.length], [P.ST_CANCELLED, 10n * BigInt(P.FILLS_PER_ORDER_MAX), P.FILLS_PER_ORDER_MAX]);
  const small = await service({ orders_max: 2, levels_max: 1 });
  assert.equal(apply(small, [buy(A, 1000n, 10n), buy(A, 995n, 10n)]).results.map((r) => r.status), [P.ST_NEW, P.ST_CANCELLED], 'no level left for 995');
  assert.equal(apply(small, [buy(A, 1000n, 10n), buy(A, 1000n, 10n)]).results.map((r) => [r.status, r.reason]), [[P.ST_NEW, 0], [P.ST_REJECTED, P.RJ_FULL]]);
});

test('scope: a key limited to ledgers names only instruments both of whose ledgers it is granted; mass cancel and lookups keep to them', async () => {
  const svc = await service();
  const bond = (side: 'buy' | 'sell', price: bigint): Operation => ({ kind: 'new', side, instrument: 2, account: A, price, qty: 100n });
  const acmeOnly = [1, 4]; // ACME settles on ledgers 1 and 4; instrument 2 on 1 and 5
  const placed = ordersReply(call(svc, ordersRequest([buy(A, 1000n, 10n), bond('buy', 9000n)], acmeOnly))).results;
  assert.equal(placed.map((r) => [r.status, r.reason]), [[P.ST_NEW, 0], [P.ST_REJECTED, P.RJ_FORBIDDEN]]);
  const bondOrder = apply(svc, [bond('buy', 9000n)]).results[0].order; // unscoped: any instrument
  assert.equal(orderGetReply(call(svc, orderGetRequest([placed[0].order, bondOrder], acmeOnly))).map((o) => o.order), [placed[0].order]);
  const mass = ordersReply(call(svc, ordersRequest([{ kind: 'mass_cancel', account: A }], acmeOnly))).results[0];
  assert.equal([mass.status, mass.leaves], [P.ST_DONE, 1n], 'only ACME\'s order');
  assert.equal(orderGetReply(call(svc, orderGetRequest([bondOrder]))).length, 1, 'the bond order stays');
});

test('config: a bad config stops the service at boot and the log says why', async () => {
  // Proves the config's checks (services/sdk/config.ts and the trading service's own): each case traps at boot with its reason logged.
  const acme = INSTRUMENTS[0];
  const cases: [object, string][] = [
    [{ orders_max: 10, bogus: 1 }, 'unknown key bogus'],
    [{ orders_max: 0 }, 'orders_max = 0 is outside 1..4194304'],
    [{ levels_max: 1, levels_max_: 2 }, 'unknown key levels_max_'],
    [{ instruments: [{ ...acme, colour: 'red' }] }, 'instruments: unknown key colour'],
    [{ instruments: [acme, acme] }, 'instruments: an id given twice'],
    [{ instruments: [{ ...acme, symbol: 'TWO WORDS' }] }, 'a symbol is printable ASCII without spaces'],
    [{ instruments: [{ ...acme, asset_ledger: 1 }] }, 'instruments: the cash and asset ledgers are two'],
    [{ settlement: true, instruments: [acme] }, "settlement needs each instrument's code"],
    [{ settlement: true, instruments: [{ ...acme, code: 7, cash_escrow: '10', asset_escrow: '11', tick: 3, lot: 1, qty_scale: 1 }] }, 'tick * lot must be a multiple of 10^qty_scale'],
    [{ pretrade: true }, 'pretrade needs settlement'],
  ];
  for (const [config, reason] of cases) {
    const svc = await ServiceHarness.load(WASM, { name: 'trading', caps: ['log', 'time'], memoryPagesMax: 4096, messageBytesMax: 1 << 20 });
    assert.throws(() => svc.init(config), /unreachable|RuntimeError/, `a bad config traps at boot: ${JSON.stringify(config)}`);
    assert.ok(svc.logs.some((l) => l.startsWith('trading config: ') && l.includes(reason)), `the log says why (${reason}): ${svc.logs.join(' | ')}`);
  }
});

test('client references: a new order whose account gave the same reference before is refused duplicate, naming the first order', async () => {
  // Proves the retry of an order whose answer was lost is not applied twice: the same (account, reference) is refused
  // with the first order's id, whatever became of it; another account, or reference 0, is a new order; a refused
  // order (here a FOK that could not fill) leaves its reference free.
  const svc = await service();
  const [first] = apply(svc, [buy(A, 1000n, 10n, { ref: 77n })]).results;
  assert.equal([first.status, first.order], [P.ST_NEW, 1n]);
  const again = apply(svc, [buy(A, 1005n, 20n, { ref: 77n }), buy(B, 1000n, 10n, { ref: 77n }), buy(A, 1000n, 10n), buy(A, 1000n, 10n)]).results;
  assert.equal(again.map((r) => [r.status, r.reason, r.order]), [[P.ST_REJECTED, P.RJ_DUPLICATE, 1n], [P.ST_NEW, 0, 2n], [P.ST_NEW, 0, 3n], [P.ST_NEW, 0, 4n]]);
  apply(svc, [{ kind: 'cancel', side: 'buy', instrument: ACME, account: A, order: 1n }]);
  assert.equal(apply(svc, [buy(A, 1000n, 10n, { ref: 77n })]).results.map((r) => [r.reason, r.order]), [[P.RJ_DUPLICATE, 1n]], 'even after the order ended');
  const killed = apply(svc, [buy(C, 1000n, 10n, { ref: 5n, tif: 'fok' })]).results[0];
  assert.is(killed.reason, P.RJ_FOK);
  assert.is(apply(svc, [buy(C, 990n, 10n, { ref: 5n })]).results[0].status, P.ST_NEW, 'the killed order took no reference');
  assert.equal(depth(svc).bids.map(([p, q]) => [p, q]), [[1000n, 30n], [990n, 10n]], 'the duplicate rested nothing');
});

// ---- the differential test ----

const REF_INSTRUMENTS: RefInstrument[] = INSTRUMENTS.map((i) => ({ id: i.id, tick: BigInt(i.tick), lot: BigInt(i.lot), qtyMax: BigInt(i.qty_max), bandBps: BigInt(i.band_bps) }));

function toRef(op: Operation): RefOp {
  const b = opRecord(op);
  return {
    kind: b[P.OP_KIND], side: b[P.OP_SIDE], type: b[P.OP_TYPE], tif: b[P.OP_TIF], flags: b[P.OP_FLAGS], stp: b[P.OP_STP], instrument: b.readUInt32LE(P.OP_INSTRUMENT),
    ref: b.readBigUInt64LE(P.OP_CLIENT_REF), order: b.readBigUInt64LE(P.OP_ORDER), price: b.readBigUInt64LE(P.OP_PRICE), qty: b.readBigUInt64LE(P.OP_QTY),
    account: b.readBigUInt64LE(P.OP_ACCOUNT),
  };
}

/** A random operation near the book: prices around 1000 on ACME's tick, a few accounts, orders ids among those given. */
const arbOp = (maxOrder: number) => fc.oneof(
  { weight: 6, arbitrary: fc.record({
    side: fc.constantFrom<('buy' | 'sell')[]>('buy', 'sell'), step: fc.integer({ min: -6, max: 6 }), lots: fc.integer({ min: 1, max: 8 }),
    account: fc.constantFrom(A, B, C), tif: fc.constantFrom<('gtc' | 'ioc' | 'fok' | 'day')[]>('gtc', 'gtc', 'ioc', 'fok', 'day'),
    market: fc.integer({ min: 0, max: 9 }).map((n) => n < 2), postOnly: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
    stp: fc.constantFrom<(keyof typeof STPS)[]>('cancel_taker', 'cancel_maker', 'cancel_both'),
  }).map((r): Operation => ({
    kind: 'new', side: r.side, instrument: ACME, account: r.account, qty: BigInt(r.lots * 10), price: r.market ? 0n : BigInt(1000 + r.step * 5),
    market: r.market, tif: r.market ? (r.tif === 'fok' ? 'fok' : 'ioc') : r.tif, postOnly: r.market ? false : r.postOnly, stp: r.stp,
  })) },
  { weight: 2, arbitrary: fc.record({ order: fc.integer({ min: 1, max: Math.max(1, maxOrder) }), account: fc.constantFrom(A, B, C), side: fc.constantFrom<('buy' | 'sell')[]>('buy', 'sell') })
    .map((r): Operation => ({ kind: 'cancel', side: r.side, instrument: ACME, account: r.account, order: BigInt(r.order) })) },
  { weight: 2, arbitrary: fc.record({
    order: fc.integer({ min: 1, max: Math.max(1, maxOrder) }), account: fc.constantFrom(A, B, C), side: fc.constantFrom<('buy' | 'sell')[]>('buy', 'sell'),
    step: fc.integer({ min: -6, max: 6 }), lots: fc.integer({ min: 1, max: 10 }),
  }).map((r): Operation => ({ kind: 'replace', side: r.side, instrument: ACME, account: r.account, order: BigInt(r.order), price: BigInt(1000 + r.step * 5), qty: BigInt(r.lots * 10) })) },
  { weight: 1, arbitrary: fc.constantFrom(A, B, C).map((account): Operation => ({ kind: 'mass_cancel', account, instrument: ACME })) },
);

test('differential: seeded random order flow gives the reference book\'s results, events and book', async () => {
  const batch = fc.tuple(fc.array(arbOp(60), { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 9 }).map((n) => n === 0)); // ops, and a day passes first
  await fc.assert(fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 12 }), async (batches) => {
    const svc = await service();
    const ref = new ReferenceBook(REF_INSTRUMENTS);
    for (const [ops, nextDay] of batches) {
      if (nextDay) svc.timeNs += DAY;
      const got = ordersReply(call(svc, ordersRequest(ops)));
      const want = ref.apply(ops.map(toRef), svc.timeNs);
      assert.equal(got.results, want.results);
      assert.equal(got.events, want.events);
      assert.is(got.expired, want.expired);
    }
    const book = depth(svc);
    const snapshot = ref.snapshot();
    const levels = (side: number) => {
      const out: bigint[][] = [];
      for (const o of snapshot.filter((x) => x.side === side)) {
        const last = out[out.length - 1];
        if (last !== undefined && last[0] === o.price) { last[1] += o.leaves; last[2] += 1n; } else out.push([o.price, o.leaves, 1n]);
      }
      return out.map(([p, q, n]) => [p, q, Number(n)]);
    };
    assert.equal(book, { bids: levels(P.SIDE_BUY), asks: levels(P.SIDE_SELL) });
  }), { numRuns: Number(process.env.QENEX_FUZZ_RUNS ?? 150), seed: 19 });
});

test('the host names every status and reject reason of the protocol, each once', () => {
  // A new ST_* or RJ_* without a name here would reach clients as a bare number.
  for (const [prefix, table] of [['ST_', STATUS_NAMES], ['RJ_', REASON_NAMES]] as const) {
    const values = Object.entries(P).filter(([k, v]) => k.startsWith(prefix) && typeof v === 'number').map(([, v]) => v as number);
    assert.equal(Object.keys(table).map(Number).sort((a, b) => a - b), [...new Set(values)].sort((a, b) => a - b), `${prefix} names`);
    assert.is(new Set(Object.values(table)).size, values.length, `${prefix} names distinct`);
  }
});

test('replay: the same requests on a fresh service give the same bytes', async () => {
  const requests = [[sell(A, 1000n, 30n), buy(B, 1005n, 10n, { tif: 'day' })], [buy(C, 1000n, 40n, { tif: 'ioc' })], [{ kind: 'mass_cancel', account: B } as Operation]]
    .map((ops) => ordersRequest(ops));
  const first = await service();
  const again = await service();
  assert.equal(requests.map((r) => call(again, r).toString('hex')), requests.map((r) => call(first, r).toString('hex')));
  assert.ok(SIDES.buy === P.SIDE_BUY && TIFS.day === P.TIF_DAY, 'the host names the protocol\'s values');
});

test.run();
