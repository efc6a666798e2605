// test/integration/trading-pretrade.test.ts: pre-trade checks through the
// compliance service (trading config "pretrade": true), in a booted bank
// image over real TCP (issue 19, with issue 18's pre-trade interface).
// Proves: an order within the cash ledger's rule set is checked and trades;
// one whose value is over order_value_max, one that would take the trader's
// position past position_max (counted from its trades), and one priced
// outside price_band_bps of the last trade are rejected `risk` with the rule
// that refused it, reserve nothing and leave the book as it was; and a
// replay reaches the same state.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { apiCall, bankManifestUnlimited, event, makeImage, removeDir, runCli, Server, settledInstrument, stopAndReplay, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let data: string;
let server: Server;
let base: string;
let key: string;
const SHARES = 4;

function manifest() {
  const m = bankManifestUnlimited();
  const trading = m.services.find((s) => s.name === 'trading')!;
  trading.caps = [...(trading.caps ?? []), 'send:compliance'];
  trading.config = { ...trading.config, pretrade: true, instruments: [settledInstrument('ACME', 100000)] };
  // Ledger 1's rule set: an order up to 1,000.00, a position of at most 50 shares either way, prices within 10 % of the last trade.
  const compliance = m.services.find((s) => s.name === 'compliance')!;
  compliance.config = { ...compliance.config, rules: [{ ledger: 1, order_value_max: 100000, position_max: 50, price_band_bps: 1000 }] };
  return m;
}

const call = (method: string, path: string, body?: unknown) => apiCall(base, method, path, key, body);
const order = (side: 'buy' | 'sell', trader: 1 | 2, price: string, quantity: string) =>
  ({ type: 'new', side, instrument: 1, account: String(100 * trader + 1), asset_account: String(100 * trader + 2), price, quantity });

test.before(async () => {
  img = makeImage('trading-pretrade', manifest());
  data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  const r = runCli(['keys', 'create', '--data', data, '--role', 'operator']);
  key = (event(r.events, 'key_created') as { key: string }).key;
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  base = `http://127.0.0.1:${(await server.address()).port}`;
  const accounts = await call('POST', '/v1/accounts', [
    { id: '1', ledger: 1, code: 1 }, { id: '2', ledger: SHARES, code: 1 }, { id: '10', ledger: 1, code: 1 }, { id: '11', ledger: SHARES, code: 1 },
    { id: '101', ledger: 1, code: 1 }, { id: '102', ledger: SHARES, code: 1 }, { id: '201', ledger: 1, code: 1 }, { id: '202', ledger: SHARES, code: 1 },
  ]);
  assert.equal(accounts.json.map((x: { result: string }) => x.result), Array(8).fill('created'), accounts.text);
});
test.after(async () => { await Server.killAll(); if (img !== undefined) removeDir(img.dir); });

const outcome = (r: { json: { results: { status: string; reason: string | null; risk_rules: string[] | null }[] } }) =>
  r.json.results.map((x) => [x.status, x.reason, x.risk_rules]);

test('orders within the rule set trade; over the order value, the position or the price band they are refused before anything is reserved', async () => {
  const trade = await call('POST', '/v1/orders', [order('sell', 1, '10.00', '40'), order('buy', 2, '10.00', '40')]);
  assert.equal(outcome(trade), [['new', null, null], ['filled', null, null]], trade.text);
  const refused = await call('POST', '/v1/orders', [
    order('buy', 2, '10.00', '101'), // 1,010.00 over order_value_max (and 141 shares over position_max: every rule it breaks is named)
    order('buy', 2, '9.00', '20'), // trader 2 holds 40: 60 would pass position_max 50
    order('sell', 1, '11.01', '5'), // over 10 % above the last trade at 10.00
    order('sell', 1, '10.90', '5'), // within it: rests
  ]);
  assert.equal(outcome(refused), [['rejected', 'risk', ['order_value', 'position']], ['rejected', 'risk', ['position']], ['rejected', 'risk', ['price_band']], ['new', null, null]],
    refused.text);
  const book = await call('GET', '/v1/instruments/1/book');
  assert.equal(book.json.asks, [{ price: '10.90', quantity: '5', orders: 1 }], 'only the order within the rules rests');
  const escrow = await call('POST', '/v1/accounts/lookup', { ids: ['10', '11'] });
  assert.equal(escrow.json.map((a: { credits_posted: string; debits_posted: string }) => BigInt(a.credits_posted) - BigInt(a.debits_posted)), [0n, 5n],
    'the escrows hold only the resting sell\'s 5 shares: the refused orders reserved nothing');
});

test('replay: the log with the pre-trade checks reaches the state the machine stopped in', async () => {
  const { stopped, replayed } = await stopAndReplay(server, data);
  assert.is(replayed, stopped);
});

test.run();
