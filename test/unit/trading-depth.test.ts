// Level 2 depth on the event stream (services/trading/protocol.ts EV_KIND_LEVEL): after each orders
// request's own events, one item per price level the request changed, once, with what the level holds
// now (quantity 0 when it went). Proves: two orders at one price are one level item (dedup) with the
// level's total and order count; a partial fill reports the level reduced; a cancel of the last order
// reports the level gone; a replace that keeps priority (quantity down) reports the level reduced;
// levels are not in the reply (the reply's events are the request's own, as before).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as P from '../../services/trading/protocol.ts';
import { EVT_TRADING } from '../../hal/devices/events.ts';
import { eventAt, ordersReply, ordersRequest, type Operation } from '../../host/trading/records.ts';

const WASM = join(new URL('../..', import.meta.url).pathname, 'build/services/trading.wasm');
const ACME = 1;
const A = 100n;
const B = 200n;

async function service(): Promise<ServiceHarness> {
  const svc = await ServiceHarness.load(WASM, { name: 'trading', caps: ['log', 'time', 'emit'], memoryPagesMax: 4096, messageBytesMax: 1 << 20 });
  svc.init({ orders_max: 1000, levels_max: 64, events: true, instruments: [
    { id: ACME, symbol: 'ACME', price_scale: 2, qty_scale: 0, tick: 5, lot: 10, qty_max: 100000, band_bps: 0, cash_ledger: 1, asset_ledger: 4 },
  ] });
  return svc;
}

/** Applies `ops`; the reply's events and the depth items emitted for it. */
function apply(svc: ServiceHarness, ops: Operation[]) {
  const before = svc.emitted.length;
  const r = svc.request(ordersRequest(ops));
  assert.ok(r !== null && r.status === 0);
  const reply = ordersReply(r!.payload);
  const items = svc.emitted.slice(before).filter((e) => e.type === EVT_TRADING)
    .flatMap((e) => Array.from({ length: e.count }, (_, i) => eventAt(e.payload, i * P.EVENT_BYTES)));
  const levels = items.filter((e) => e.kind === P.EV_KIND_LEVEL).map((e) => `${e.takerSide === P.SIDE_BUY ? 'bid' : 'ask'} ${e.price}: ${e.qty} in ${e.makerLeaves}`);
  return { reply, levels, own: items.filter((e) => e.kind !== P.EV_KIND_LEVEL).length };
}

const buy = (account: bigint, price: bigint, qty: bigint): Operation => ({ kind: 'new', side: 'buy', instrument: ACME, account, price, qty });
const sell = (account: bigint, price: bigint, qty: bigint): Operation => ({ kind: 'new', side: 'sell', instrument: ACME, account, price, qty });

test('depth: one item per level changed, with its total and orders now; fills, cancels and replaces report the level as it is after', async () => {
  const svc = await service();
  let r = apply(svc, [buy(A, 1000n, 30n), buy(A, 1000n, 20n), sell(B, 1100n, 10n)]);
  assert.equal(r.levels, ['bid 1000: 50 in 2', 'ask 1100: 10 in 1'], 'two orders at 10.00 are one level item');
  r = apply(svc, [sell(B, 1000n, 40n)]);
  assert.equal(r.levels, ['bid 1000: 10 in 1'], 'the fills reduced the bid level; the sell did not rest');
  assert.is(r.own, r.reply.events.length, 'the reply\'s own events are emitted as before, levels after them');
  assert.ok(r.reply.events.every((e) => e.kind !== P.EV_KIND_LEVEL), 'no level in a reply');
  const ask = apply(svc, [sell(B, 1200n, 20n)]);
  assert.equal(ask.levels, ['ask 1200: 20 in 1']);
  r = apply(svc, [{ kind: 'replace', side: 'sell', instrument: ACME, account: B, order: ask.reply.results[0].order, price: 1200n, qty: 10n }]);
  assert.equal(r.levels, ['ask 1200: 10 in 1'], 'a replace to less keeps its place and reduces the level');
  r = apply(svc, [{ kind: 'cancel', side: 'sell', instrument: ACME, account: B, order: ask.reply.results[0].order }]);
  assert.equal(r.levels, ['ask 1200: 0 in 0'], 'the last order cancelled: the level is gone');
});

test.run();
