// test/integration/trading-settlement.test.ts: the trading service settling
// on the real ledger (config "settlement": true), in a booted image over real
// TCP (issue 19). Proves: a sell reserves its quantity and a buy its cash in
// the escrow accounts before they rest or trade; a trade moves the cash to
// the seller and the asset to the buyer together, and a buyer who took a
// better price than its limit gets the difference back; an order the trader
// cannot fund is rejected with the ledger's reason and nothing moves; a
// cancel, the rest of an IOC and a replace to less give back what they no
// longer need, a replace to more reserves the difference; after every step
// the escrows hold exactly what the resting orders reserved and cash and
// asset are conserved; and a replay of the log reaches the same state.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { FrameClient } from '../../host/client/frames.ts';
import { account, AccountFlags, CreateTransferResult, LedgerClient, transfer } from '../../host/client/ledger.ts';
import * as P from '../../services/trading/protocol.ts';
import { validateManifest } from '../../host/manifest.ts';
import { orderGetReply, orderGetRequest, ordersReply, ordersRequest, type Operation } from '../../host/trading/records.ts';
import { prng } from '../support/prng.ts';
import { bankManifest, makeImage, removeDir, runCli, Server, stopAndReplay, type TestImage } from '../support/helpers.ts';

const CASH = 1; // cents
const ASSET = 4; // shares
const FUND_CASH = 1n;
const FUND_ASSET = 2n;
const ESCROW_CASH = 10n;
const ESCROW_ASSET = 11n;
const A_CASH = 101n;
const A_ASSET = 102n;
const B_CASH = 201n;
const B_ASSET = 202n;

let img: TestImage;
let data: string;
let server: Server;
let client: FrameClient;
let ledger: LedgerClient;

function manifest() {
  const kernel = bankManifest().kernel;
  return validateManifest({
    name: 'trading-settlement', version: 1, kernel,
    services: [
      { name: 'ledger', module: 'ledger', priority: 0, budget: 64, memory_pages_max: 4096, caps: ['net', 'read', 'log', 'time', 'timer'],
        config: { accounts_max: 1000, transfers_max: 100000, pending_max: 1000, history_max: 1000 } },
      { name: 'trading', module: 'trading', priority: 0, budget: 64, memory_pages_max: 4096, caps: ['net', 'log', 'time', 'send:ledger'],
        config: { orders_max: 1000, levels_max: 64, settlement: true, instruments: [
          { id: 1, symbol: 'ACME', price_scale: 2, qty_scale: 0, tick: 1, lot: 1, qty_max: 100000, band_bps: 5000, cash_ledger: CASH, asset_ledger: ASSET,
            code: 7, cash_escrow: String(ESCROW_CASH), asset_escrow: String(ESCROW_ASSET) },
        ] } },
    ],
  });
}

async function trade(ops: Operation[]) {
  const r = await client.request('trading', ordersRequest(ops));
  assert.is(r.status, 0, r.payload.toString());
  return ordersReply(r.payload);
}

/** Net balance (credits - debits posted) of each account. */
async function net(ids: bigint[]): Promise<bigint[]> {
  const found = await ledger.lookupAccounts(ids);
  assert.is(found.length, ids.length, 'every account exists');
  return ids.map((id) => { const a = found.find((x) => x.id === id)!; return a.credits_posted - a.debits_posted; });
}

const buy = (cash: bigint, asset: bigint, price: bigint, qty: bigint, more: Partial<Extract<Operation, { kind: 'new' }>> = {}): Operation =>
  ({ kind: 'new', side: 'buy', instrument: 1, account: cash, assetAccount: asset, price, qty, ...more });
const sell = (cash: bigint, asset: bigint, price: bigint, qty: bigint, more: Partial<Extract<Operation, { kind: 'new' }>> = {}): Operation =>
  ({ kind: 'new', side: 'sell', instrument: 1, account: cash, assetAccount: asset, price, qty, ...more });

/** The escrows hold exactly what resting orders reserved, and nothing is created or lost. */
async function invariants(restingCash: bigint, restingAsset: bigint): Promise<void> {
  const [ec, ea, ac, bc, fc, aa, ba, fa] = await net([ESCROW_CASH, ESCROW_ASSET, A_CASH, B_CASH, FUND_CASH, A_ASSET, B_ASSET, FUND_ASSET]);
  assert.equal([ec, ea], [restingCash, restingAsset], 'the escrows hold what resting orders reserved');
  assert.is(ec + ac + bc + fc, 0n, 'cash conserved');
  assert.is(ea + aa + ba + fa, 0n, 'asset conserved');
}

test.before(async () => {
  img = makeImage('trading-settlement', manifest());
  data = join(img.dir, 'data');
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  const { host, port } = await server.address();
  client = await FrameClient.connect(host, port);
  ledger = new LedgerClient(client, 'ledger');
  const guarded = AccountFlags.debits_must_not_exceed_credits;
  const created = await ledger.createAccounts([
    account({ id: FUND_CASH, ledger: CASH, code: 1 }), account({ id: FUND_ASSET, ledger: ASSET, code: 1 }),
    account({ id: ESCROW_CASH, ledger: CASH, code: 1 }), account({ id: ESCROW_ASSET, ledger: ASSET, code: 1 }),
    account({ id: A_CASH, ledger: CASH, code: 1, flags: guarded }), account({ id: A_ASSET, ledger: ASSET, code: 1, flags: guarded }),
    account({ id: B_CASH, ledger: CASH, code: 1, flags: guarded }), account({ id: B_ASSET, ledger: ASSET, code: 1, flags: guarded }),
  ]);
  assert.equal(created.map((r) => r.result), created.map(() => 0), "accounts created");
  const funded = await ledger.createTransfers([
    transfer({ id: 1n, debit_account_id: FUND_ASSET, credit_account_id: A_ASSET, amount: 500n, ledger: ASSET, code: 1 }),
    transfer({ id: 2n, debit_account_id: FUND_CASH, credit_account_id: B_CASH, amount: 100_000n, ledger: CASH, code: 1 }),
  ]);
  assert.equal(funded.map((r) => r.result), [CreateTransferResult.created, CreateTransferResult.created], "funded");
});
test.after(async () => { client?.close(); await Server.killAll(); if (img !== undefined) removeDir(img.dir); });

test('a sell reserves its shares; a buy at a better limit trades at the resting price, both legs move, the difference comes back', async () => {
  const s = await trade([sell(A_CASH, A_ASSET, 1000n, 100n)]);
  assert.is(s.results[0].status, P.ST_NEW);
  await invariants(0n, 100n);
  const b = await trade([buy(B_CASH, B_ASSET, 1010n, 60n)]);
  assert.equal([b.results[0].status, b.events.map((e) => [e.price, e.qty])], [P.ST_FILLED, [[1000n, 60n]]]);
  // B paid 60 × 10.00 (not 10.10): 60,000 cents to A; 60 shares to B; A's other 40 still reserved.
  assert.equal(await net([A_CASH, B_CASH, A_ASSET, B_ASSET]), [60_000n, 40_000n, 400n, 60n]);
  await invariants(0n, 40n);
});

test('an order the trader cannot fund is rejected with the ledger\'s reason, and nothing moves', async () => {
  const before = await net([B_CASH, ESCROW_CASH]);
  const r = (await trade([buy(B_CASH, B_ASSET, 1000n, 1000n)])).results[0];
  assert.equal([r.status, r.reason, r.order], [P.ST_REJECTED, P.RJ_FUNDS, 0n]);
  const ledgerResult = (await client.request('trading', ordersRequest([buy(B_CASH, 999n, 900n, 1n)]))).payload.readUInt16LE(P.REPLY_HEADER_BYTES + P.RES_LEDGER_RESULT);
  assert.is(ledgerResult, CreateTransferResult.credit_account_not_found, 'the probe of an asset account that does not exist');
  assert.equal(await net([B_CASH, ESCROW_CASH]), before);
  await invariants(0n, 40n);
});

test('cancel, the rest of an IOC, and replaces give back what is no longer needed; a replace to more reserves the difference', async () => {
  const [cancel] = (await trade([{ kind: 'cancel', side: 'sell', instrument: 1, account: A_CASH, order: 1n }])).results;
  assert.is(cancel.status, P.ST_CANCELLED);
  await invariants(0n, 0n);
  const resting = (await trade([buy(B_CASH, B_ASSET, 900n, 10n)])).results[0];
  await invariants(9_000n, 0n);
  const up = (await trade([{ kind: 'replace', side: 'buy', instrument: 1, account: B_CASH, order: resting.order, price: 950n, qty: 20n }])).results[0];
  assert.is(up.status, P.ST_NEW);
  await invariants(19_000n, 0n);
  const down = (await trade([{ kind: 'replace', side: 'buy', instrument: 1, account: B_CASH, order: resting.order, price: 950n, qty: 5n }])).results[0];
  assert.equal([down.status, down.leaves], [P.ST_NEW, 5n]);
  await invariants(4_750n, 0n);
  const ioc = (await trade([sell(A_CASH, A_ASSET, 900n, 8n, { tif: 'ioc' })])).results[0];
  assert.equal([ioc.status, ioc.cum], [P.ST_CANCELLED, 5n], 'five traded with B at 9.50, the other three given back');
  await invariants(0n, 0n);
  assert.equal(await net([A_CASH, A_ASSET, B_ASSET]), [60_000n + 4_750n, 500n - 60n - 5n, 65n], 'A sold 60 then 5 of its 500; B holds 65');
});

test('random flow: after every request the escrows hold exactly what the live orders reserved, and nothing is created or lost', async () => {
  // Two traders, every order type, time in force and STP mode, prices around 9.50; the live orders' reservations
  // (a buy: its limit × open quantity; a sell: its open quantity) are read back with order_get after each request.
  const next = prng(1919);
  const live = new Set<bigint>();
  const traders = [[A_CASH, A_ASSET], [B_CASH, B_ASSET]] as const;
  for (let round = 0; round < 25; round++) {
    const ops: Operation[] = [];
    for (let k = 0; k < 8; k++) {
      const [cash, asset] = traders[Math.floor(next() * 2)];
      const side = next() < 0.5 ? 'buy' : 'sell';
      const x = next();
      if (x < 0.2 && live.size > 0) {
        const order = [...live][Math.floor(next() * live.size)];
        ops.push({ kind: 'cancel', side, instrument: 1, account: cash, order });
      } else {
        const tif = (['gtc', 'gtc', 'ioc', 'fok', 'day'] as const)[Math.floor(next() * 5)];
        const stp = (['cancel_taker', 'cancel_maker', 'cancel_both'] as const)[Math.floor(next() * 3)];
        ops.push({ kind: 'new', side, instrument: 1, account: cash, assetAccount: asset, price: 940n + BigInt(Math.floor(next() * 20)), qty: BigInt(1 + Math.floor(next() * 30)), tif, stp });
      }
    }
    const { results } = await trade(ops);
    results.forEach((r) => { if (r.status === P.ST_NEW || r.status === P.ST_PARTIAL) live.add(r.order); });
    const found = live.size === 0 ? [] : orderGetReply((await client.request('trading', orderGetRequest([...live]))).payload);
    for (const id of [...live]) if (!found.some((o) => o.order === id)) live.delete(id);
    const cash = found.filter((o) => o.side === P.SIDE_BUY).reduce((a, o) => a + o.price * o.leaves, 0n);
    const asset = found.filter((o) => o.side === P.SIDE_SELL).reduce((a, o) => a + o.leaves, 0n);
    await invariants(cash, asset);
  }
});

test('replay: the log with every reservation, trade and release reaches the state the machine stopped in', async () => {
  client.close();
  const { stopped, replayed } = await stopAndReplay(server, data);
  assert.is(replayed, stopped);
  assert.ok(runCli(['replay', '--data', data]).code === 0);
});

test.run();
