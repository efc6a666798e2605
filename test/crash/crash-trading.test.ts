// Crash under load for trading (issue 19: "books and balances identical, no
// fill lost or doubled"). Boots the bank image with an instrument settled on
// the ledger, sends order requests (new orders of every time in force and
// self-trade mode, cancels, replaces, mass cancels, over four traders) as
// frames to gateway.trading with several in flight, SIGKILLs the host at a
// seeded moment, reboots, again and again. Proves, after every kill:
//   - the rebooted host (from a snapshot, taken every 4 log entries, and the
//     log after it) has the state hash of the whole log replayed;
//   - the escrow accounts hold exactly what the live orders reserved (a
//     buy's price × open quantity in cash, a sell's open quantity in
//     shares): a trade whose legs were lost, or settled twice, or a release
//     made twice or not at all, would leave them off;
//   - each trader's cash and shares plus what its live orders hold in escrow
//     add up, over the traders, to what they were funded with: trades only
//     move money and shares between them.
//
// QENEX_CRASH_ITERATIONS (default 3; `make test-crash` runs more) and
// QENEX_CRASH_SEED (default 1) choose the run.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import * as P from '../../services/trading/protocol.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { account, AccountFlags, LedgerClient, transfer } from '../../host/client/ledger.ts';
import { GATEWAY_TRADING_SERVICE } from '../../host/gateway/binary.ts';
import { orderGetReply, orderGetRequest, ordersReply, ordersRequest, type LiveOrder, type Operation } from '../../host/trading/records.ts';
import { bankManifestUnlimited, event, makeImage, removeDir, runCli, Server, type TestImage } from '../support/helpers.ts';
import { BOOT_TIMEOUT_MS, envInt, prng, replayHash } from './support.ts';

const ITERATIONS = envInt('QENEX_CRASH_ITERATIONS', 3);
const SEED = envInt('QENEX_CRASH_SEED', 1);
const CASH = 1;
const SHARES = 4;
const TRADERS = 4;
const CASH_FUNDING = 10n ** 9n;
const SHARES_FUNDING = 10n ** 6n;
const cashOf = (t: number) => BigInt(1000 + t);
const sharesOf = (t: number) => BigInt(2000 + t);

let img: TestImage;
let data = '';

test.before(() => {
  const m = bankManifestUnlimited();
  m.kernel.log_preallocate_bytes = 16 * 1024 * 1024;
  m.kernel.snapshot_interval_entries = 4;
  const trading = m.services.find((s) => s.name === 'trading')!;
  trading.config = { ...trading.config, orders_max: 100_000, instruments: [{ id: 1, symbol: 'CRSH', price_scale: 2, qty_scale: 0, tick: 1, lot: 1,
    qty_max: 1000, band_bps: 0, cash_ledger: CASH, asset_ledger: SHARES, code: 7, cash_escrow: '10', asset_escrow: '11' }] };
  img = makeImage('crash-trading', m);
  data = join(img.dir, 'data');
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

interface Life { server: Server; frames: FrameClient; hash: string }

async function boot(key: string): Promise<Life> {
  const server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  const ready = await server.waitFor('ready', BOOT_TIMEOUT_MS);
  const { host, port } = await server.address();
  const frames = await FrameClient.connect(host, port);
  await frames.authenticate(key);
  return { server, frames, hash: String(ready.state_hash) };
}

async function setUp(): Promise<{ key: string; life: Life }> {
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  const key = String(event(runCli(['keys', 'create', '--data', data, '--role', 'admin']).events, 'key_created')!.key);
  const life = await boot(key);
  const ledger = new LedgerClient(life.frames, 'gateway');
  const guarded = AccountFlags.debits_must_not_exceed_credits;
  const accounts = [account({ id: 1n, ledger: CASH, code: 1 }), account({ id: 2n, ledger: SHARES, code: 1 }), account({ id: 10n, ledger: CASH, code: 1 }),
    account({ id: 11n, ledger: SHARES, code: 1 })];
  for (let t = 0; t < TRADERS; t++) accounts.push(account({ id: cashOf(t), ledger: CASH, code: 1, flags: guarded }), account({ id: sharesOf(t), ledger: SHARES, code: 1, flags: guarded }));
  assert.ok((await ledger.createAccounts(accounts)).every((r) => r.result === 0), 'accounts created');
  const funding = Array.from({ length: TRADERS }, (_, t) => [
    transfer({ id: BigInt(1 + 2 * t), debit_account_id: 1n, credit_account_id: cashOf(t), amount: CASH_FUNDING, ledger: CASH, code: 1 }),
    transfer({ id: BigInt(2 + 2 * t), debit_account_id: 2n, credit_account_id: sharesOf(t), amount: SHARES_FUNDING, ledger: SHARES, code: 1 }),
  ]).flat();
  assert.ok((await ledger.createTransfers(funding)).every((r) => r.result === 0), 'traders funded');
  return { key, life };
}

/** What the client knows: order ids given (an upper bound on every id), and the open quantity acknowledged answers last gave. */
class Tape {
  newSent = 0; // new orders sent, acknowledged or not: no order id is above it
  answers = 0;
  live: { id: bigint; side: 'buy' | 'sell'; trader: number }[] = [];

  request(random: () => number): Operation[] {
    return Array.from({ length: 1 + Math.floor(random() * 20) }, (): Operation => {
      const t = Math.floor(random() * TRADERS);
      const side = random() < 0.5 ? 'buy' : 'sell';
      const x = random();
      if (x < 0.2 && this.live.length > 0) {
        const o = this.live[Math.floor(random() * this.live.length)];
        return { kind: 'cancel', side: o.side, instrument: 1, account: cashOf(o.trader), order: o.id };
      }
      if (x < 0.3 && this.live.length > 0) {
        const o = this.live[Math.floor(random() * this.live.length)];
        return { kind: 'replace', side: o.side, instrument: 1, account: cashOf(o.trader), order: o.id, price: 990n + BigInt(Math.floor(random() * 20)),
          qty: BigInt(1 + Math.floor(random() * 50)) };
      }
      if (x < 0.32) return { kind: 'mass_cancel', account: cashOf(t) };
      this.newSent++;
      const tif = (['gtc', 'gtc', 'ioc', 'fok', 'day'] as const)[Math.floor(random() * 5)];
      const stp = (['cancel_taker', 'cancel_maker', 'cancel_both'] as const)[Math.floor(random() * 3)];
      return { kind: 'new', side, instrument: 1, account: cashOf(t), assetAccount: sharesOf(t), price: 990n + BigInt(Math.floor(random() * 20)),
        qty: BigInt(1 + Math.floor(random() * 40)), tif, stp };
    });
  }

  take(ops: Operation[], reply: Buffer): void {
    const { results } = ordersReply(reply);
    this.answers++;
    results.forEach((r, i) => {
      const op = ops[i];
      if (op.kind === 'new' && (r.status === P.ST_NEW || r.status === P.ST_PARTIAL)) this.live.push({ id: r.order, side: op.side, trader: Number(op.account) - 1000 });
    });
  }
}

/** Drives requests `inFlight` at a time until `until()`; a request lost with the host is not acknowledged. */
async function drive(life: Life, tape: Tape, random: () => number, inFlight: number, until: () => boolean): Promise<number> {
  let sent = 0;
  const worker = async () => {
    while (!until()) {
      const ops = tape.request(random);
      sent++;
      let r;
      try { r = await life.frames.request(GATEWAY_TRADING_SERVICE, ordersRequest(ops)); } catch { return; }
      if (r.status !== 0) { if (until()) return; throw new Error(`orders: status ${r.status}: ${r.payload.toString().slice(0, 200)}`); }
      tape.take(ops, r.payload);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return sent;
}

/** The escrows hold what the live orders reserved; each trader's holdings and reservations add up to its funding. */
async function verify(life: Life, tape: Tape, where: string): Promise<number> {
  const live: LiveOrder[] = [];
  for (let from = 1; from <= tape.newSent; from += P.LOOKUPS_MAX) {
    const ids = Array.from({ length: Math.min(P.LOOKUPS_MAX, tape.newSent - from + 1) }, (_, i) => BigInt(from + i));
    const r = await life.frames.request(GATEWAY_TRADING_SERVICE, orderGetRequest(ids));
    assert.is(r.status, 0, `${where}: order_get`);
    live.push(...orderGetReply(r.payload));
  }
  tape.live = live.map((o) => ({ id: o.order, side: o.side === P.SIDE_BUY ? 'buy' as const : 'sell' as const, trader: Number(o.account) - 1000 }));
  const ledger = new LedgerClient(life.frames, 'gateway');
  const ids = [10n, 11n, ...Array.from({ length: TRADERS }, (_, t) => [cashOf(t), sharesOf(t)]).flat()];
  const accounts = await ledger.lookupAccounts(ids);
  const net = (id: bigint) => { const a = accounts.find((x) => x.id === id)!; return a.credits_posted - a.debits_posted; };
  const held = (t: number | null, side: number) => live.filter((o) => o.side === side && (t === null || Number(o.account) - 1000 === t))
    .reduce((sum, o) => sum + (side === P.SIDE_BUY ? o.price * o.leaves : o.leaves), 0n);
  assert.equal([net(10n), net(11n)], [held(null, P.SIDE_BUY), held(null, P.SIDE_SELL)], `${where}: the escrows hold exactly what the live orders reserved`);
  let cash = 0n;
  let shares = 0n;
  for (let t = 0; t < TRADERS; t++) {
    cash += net(cashOf(t)) + held(t, P.SIDE_BUY);
    shares += net(sharesOf(t)) + held(t, P.SIDE_SELL);
  }
  assert.equal([cash, shares], [CASH_FUNDING * BigInt(TRADERS), SHARES_FUNDING * BigInt(TRADERS)], `${where}: the traders' holdings and reservations are their funding`);
  return live.length;
}

test(`trading: SIGKILL under load, ${ITERATIONS} times (seed ${SEED}): escrows exact, no fill lost or doubled, reboot = replay`, async () => {
  const random = prng(SEED);
  const tape = new Tape();
  let { key, life } = await setUp();
  for (let it = 0; it < ITERATIONS; it++) {
    const where = `seed ${SEED} life ${it}`;
    const afterAnswers = 1 + Math.floor(random() * 20);
    const delayMs = Math.floor(random() * 30);
    const inFlight = 1 + Math.floor(random() * 6);
    let halt = false;
    const answersBefore = tape.answers;
    const driving = drive(life, tape, random, inFlight, () => halt);
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (tape.answers - answersBefore < afterAnswers) return;
        clearInterval(poll);
        setTimeout(() => { halt = true; void life.server.kill('SIGKILL').then(() => resolve()); }, delayMs);
      }, 2);
      void life.server.exited.then((code) => { if (!halt) { clearInterval(poll); reject(new Error(`${where}: the host exited (${code}) before the kill`)); } });
      driving.catch((e) => { halt = true; clearInterval(poll); reject(e); });
    });
    const sent = await driving;
    life.frames.close();
    const replayed = replayHash(data, ['--no-snapshot']);
    life = await boot(key);
    assert.is(life.hash, replayed, `${where}: reboot hash (from a snapshot) = the whole log replayed`);
    const resting = await verify(life, tape, where);
    console.log(`${where}: killed after ${afterAnswers}+ answers (+${delayMs} ms, ${inFlight} in flight); ${sent} requests sent, ${resting} orders resting`);
  }
  life.frames.close();
  await life.server.kill('SIGTERM');
  const stopped = life.server.events.find((e) => e.event === 'stopped');
  assert.ok(stopped, 'the last life stops cleanly');
  assert.is(stopped!.state_hash, replayHash(data, ['--no-snapshot']), 'the clean stop hash = the whole log replayed');
  console.log(`\nsummary: trading crash loop seed ${SEED}: ${ITERATIONS} SIGKILLs survived; ${tape.answers} requests answered, ${tape.newSent} new orders sent; escrows exact`);
});

test.run();
