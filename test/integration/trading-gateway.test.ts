// test/integration/trading-gateway.test.ts: trading through the gateway of a
// booted bank image with an instrument (issue 19), over real TCP. Proves:
// GET /v1/instruments lists the manifest's instruments; a trader places
// orders with POST /v1/orders in decimal strings at the instrument's scales,
// a crossing order trades at the resting price and settles on the ledger;
// the book and POST /v1/orders/lookup show what rests; the trade is on the
// event stream (type trading) in decimals; a teller may not
// place orders (403) and a trader key limited to the cash ledger alone is
// refused the instrument (forbidden); bad bodies (a price finer than the
// tick's scale, an unknown instrument, a market order with a price, an
// unknown field) are 400 and never logged; frames to gateway.trading carry
// the same requests over the binary protocol, with the same roles; and a
// replay reaches the same state.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import * as P from '../../services/trading/protocol.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { GATEWAY_TRADING_SERVICE } from '../../host/gateway/binary.ts';
import { ordersReply, ordersRequest } from '../../host/trading/records.ts';
import { apiCall, bankTradingManifest, event, makeImage, removeDir, runCli, Server, settledInstrument, setUpTwoTraders, stopAndReplay, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let data: string;
let server: Server;
let base: string;
const keys: Record<string, string> = {};

function cliKey(args: string[]): string {
  const r = runCli(['keys', 'create', '--data', data, ...args]);
  assert.is(r.code, 0, r.stderr);
  return (event(r.events, 'key_created') as { key: string }).key;
}

const call = (method: string, path: string, key: string | null, body?: unknown) => apiCall(base, method, path, key, body);

test.before(async () => {
  img = makeImage('trading-gateway', bankTradingManifest(settledInstrument('ACME', 100000)));
  data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  keys.operator = cliKey(['--role', 'operator']);
  keys.trader = cliKey(['--role', 'trader']);
  keys.cashOnly = cliKey(['--role', 'trader', '--ledger', '1']);
  keys.teller = cliKey(['--role', 'teller', '--ledger', '1']);
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  base = `http://127.0.0.1:${(await server.address()).port}`;
  await setUpTwoTraders(base, keys.operator);
});
test.after(async () => { await Server.killAll(); if (img !== undefined) removeDir(img.dir); });

test('instruments, orders in decimals, a trade at the resting price settled on the ledger, the book and the lookup', async () => {
  const inst = await call('GET', '/v1/instruments', keys.trader);
  assert.equal(inst.json.instruments.map((i: { symbol: string; tick: string; cash_ledger: number }) => [i.symbol, i.tick, i.cash_ledger]), [['ACME', '0.01', 1]]);
  const sell = await call('POST', '/v1/orders', keys.trader, [
    { type: 'new', side: 'sell', instrument: 1, account: '101', asset_account: '102', price: '10.00', quantity: '100', client_ref: '7' },
  ]);
  assert.is(sell.status, 200, sell.text);
  assert.equal([sell.json.results[0].status, sell.json.results[0].order_id, sell.json.results[0].client_ref], ['new', '1', '7']);
  const buy = await call('POST', '/v1/orders', keys.trader, [
    { type: 'new', side: 'buy', instrument: 1, account: '201', asset_account: '202', price: '10.10', quantity: '60', time_in_force: 'ioc' },
  ]);
  const r = buy.json.results[0];
  assert.equal([r.status, r.filled_quantity, r.events.map((e: { type: string; price: string; quantity: string }) => [e.type, e.price, e.quantity])],
    ['filled', '60', [['trade', '10.00', '60']]]);
  const looked = await call('POST', '/v1/accounts/lookup', keys.operator, { ids: ['101', '201', '202', '11'] });
  assert.equal(looked.json.map((a: { credits_posted: string; debits_posted: string }) => BigInt(a.credits_posted) - BigInt(a.debits_posted)), [60000n, 40000n, 60n, 40n],
    'A was paid 600.00, B spent 600.00 of its 1,000.00 and holds 60 shares, the escrow the 40 still offered');
  const book = await call('GET', '/v1/instruments/1/book?depth=5', keys.teller);
  assert.equal(book.json, { instrument: 1, bids: [], asks: [{ price: '10.00', quantity: '40', orders: 1 }] });
  const lookup = await call('POST', '/v1/orders/lookup', keys.trader, { ids: ['1', '2'] });
  assert.equal(lookup.json.orders.map((o: { order_id: string; leaves_quantity: string; side: string }) => [o.order_id, o.leaves_quantity, o.side]), [['1', '40', 'sell']]);
});

test('market data: the trades and cancels of the orders are on the event stream (type trading), in decimals', async () => {
  const abort = new AbortController();
  const res = await fetch(`${base}/v1/events?types=trading&after=0`, { headers: { authorization: `Bearer ${keys.operator}` }, signal: abort.signal });
  assert.is(res.status, 200);
  const decoder = new TextDecoder();
  let text = '';
  const timer = setTimeout(() => abort.abort(), 5000);
  try {
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes('"type":"trade"')) break;
    }
  } catch { /* the deadline */ }
  clearTimeout(timer);
  abort.abort();
  const events = [...text.matchAll(/^event: (.*)\ndata: (.*)$/gm)].map(([, name, data]) => [name, JSON.parse(data)]);
  const trade = events.find(([, d]) => d.type === 'trade');
  assert.ok(trade !== undefined, `a trade on the stream: ${text.slice(0, 300)}`);
  assert.equal([trade![0], trade![1].price, trade![1].quantity, trade![1].maker_order_id], ['trading', '10.00', '60', '1']);
});

test('roles and scope: a teller may not place orders; a trader limited to the cash ledger is refused the instrument', async () => {
  const order = [{ type: 'new', side: 'buy', instrument: 1, account: '201', asset_account: '202', price: '9.00', quantity: '1' }];
  const teller = await call('POST', '/v1/orders', keys.teller, order);
  assert.equal([teller.status, teller.json.error.code], [403, 'forbidden']);
  const scoped = await call('POST', '/v1/orders', keys.cashOnly, order);
  assert.equal([scoped.status, scoped.json.results[0].status, scoped.json.results[0].reason], [200, 'rejected', 'forbidden']);
});

test('bad bodies are 400 with the field named, and nothing is applied', async () => {
  const cases: [unknown, string][] = [
    [[{ type: 'new', side: 'buy', instrument: 1, account: '201', price: '9.001', quantity: '1' }], 'amount_not_exact'],
    [[{ type: 'new', side: 'buy', instrument: 9, account: '201', price: '9.00', quantity: '1' }], 'unknown_instrument'],
    [[{ type: 'new', side: 'buy', instrument: 1, account: '201', price: '9.00', quantity: '1', order_type: 'market' }], 'invalid_field'],
    [[{ type: 'new', side: 'buy', instrument: 1, account: '201', price: '9.00', quantity: '1', colour: 'red' }], 'unknown_field'],
    [[], 'invalid_field'],
  ];
  for (const [body, code] of cases) {
    const r = await call('POST', '/v1/orders', keys.trader, body);
    assert.equal([r.status, r.json.error.code], [400, code], JSON.stringify(body));
  }
  const lookup = await call('POST', '/v1/orders/lookup', keys.trader, { ids: ['2', '3'] });
  assert.equal(lookup.json.orders, [], 'nothing was placed');
});

test('the binary protocol: frames to gateway.trading carry the trading service\'s requests, with the same roles', async () => {
  const { host, port } = await server.address();
  const trader = await FrameClient.connect(host, port);
  await trader.authenticate(keys.trader);
  const r = await trader.request(GATEWAY_TRADING_SERVICE, ordersRequest([{ kind: 'new', side: 'buy', instrument: 1, account: 201n, assetAccount: 202n, price: 1000n, qty: 40n }]));
  assert.is(r.status, 0, r.payload.toString());
  const { results, events } = ordersReply(r.payload);
  assert.equal([results[0].status, events.map((e) => [e.maker, e.qty])], [P.ST_FILLED, [[1n, 40n]]], 'it took the 40 left of order 1');
  trader.close();
  const teller = await FrameClient.connect(host, port);
  await teller.authenticate(keys.teller);
  const refused = await teller.request(GATEWAY_TRADING_SERVICE, ordersRequest([{ kind: 'mass_cancel', account: 201n }]));
  assert.is(refused.status, abi.FRAME_E_DENIED, 'a teller may not place orders, over frames either');
  teller.close();
});

test('replay: the log of the orders reaches the state the machine stopped in', async () => {
  const { stopped, replayed } = await stopAndReplay(server, data);
  assert.is(replayed, stopped);
});

test.run();
