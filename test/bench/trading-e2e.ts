// test/bench/trading-e2e.ts: the trading service end to end, part of the
// trading benchmark (test/bench/trading.bench.ts): the bank image with one
// instrument settled on the ledger, booted as a server; requests of
// OPS_PER_REQUEST order operations (the mixed flow of the in-process figure)
// sent as binary frames to gateway.trading by an authenticated key, IN_FLIGHT
// requests outstanding; each answered once logged (fdatasync'd), applied,
// reserved and settled on the ledger. Beside it, fdatasync of 4 KiB on the
// same file system: the floor of any durable answer.

import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as P from '../../services/trading/protocol.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { account, AccountFlags, LedgerClient, transfer } from '../../host/client/ledger.ts';
import { GATEWAY_TRADING_SERVICE } from '../../host/gateway/binary.ts';
import { ordersReply, ordersRequest, type Operation } from '../../host/trading/records.ts';
import { bankTradingManifest, event, makeImage, removeDir, runCli, Server as TestServer, settledInstrument } from '../support/helpers.ts';
import { percentile, round, type Figures } from './support.ts';

const TRADERS = 64;
const REQUESTS = 40; // timed
const WARM_UP = 5;
const IN_FLIGHT = 4;
const FSYNCS = 200;
const CASH = 1;
const SHARES = 4;
// Account ids: trader t's cash 1000 + t, its shares 2000 + t; the escrows 10 and 11; funding 1 and 2.
export const cashOf = (t: number) => BigInt(1000 + t);
export const sharesOf = (t: number) => BigInt(2000 + t);

/** fdatasync of a 4 KiB write, FSYNCS times, in `dir`: the p50 in ms. */
export function fdatasyncP50(dir: string): number | null {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const block = Buffer.alloc(4096, 7);
  const times: number[] = [];
  try {
    for (let i = 0; i < FSYNCS; i++) {
      writeSync(fd, block, 0, block.length, (i % 16) * 4096);
      const t = performance.now();
      fdatasyncSync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
  }
  return percentile(times, 50);
}

/** The accounts of the end-to-end runs: the funding and escrow accounts, and TRADERS traders' cash and shares, funded. */
export async function tradingSetUp(frames: FrameClient): Promise<void> {
  const ledger = new LedgerClient(frames, 'gateway');
  const guarded = AccountFlags.debits_must_not_exceed_credits;
  const accounts = [account({ id: 1n, ledger: CASH, code: 1 }), account({ id: 2n, ledger: SHARES, code: 1 }),
    account({ id: 10n, ledger: CASH, code: 1 }), account({ id: 11n, ledger: SHARES, code: 1 })];
  for (let t = 0; t < TRADERS; t++) {
    accounts.push(account({ id: cashOf(t), ledger: CASH, code: 1, flags: guarded }), account({ id: sharesOf(t), ledger: SHARES, code: 1, flags: guarded }));
  }
  const made = await ledger.createAccounts(accounts);
  if (made.some((r) => r.result !== 0)) throw new Error(`accounts: ${made.map((r) => r.result).join(',')}`);
  const funding = Array.from({ length: TRADERS }, (_, t) => [
    transfer({ id: BigInt(1 + 2 * t), debit_account_id: 1n, credit_account_id: cashOf(t), amount: 10n ** 15n, ledger: CASH, code: 1 }),
    transfer({ id: BigInt(2 + 2 * t), debit_account_id: 2n, credit_account_id: sharesOf(t), amount: 10n ** 12n, ledger: SHARES, code: 1 }),
  ]).flat();
  const funded = await ledger.createTransfers(funding);
  if (funded.some((r) => r.result !== 0)) throw new Error(`funding: ${funded.map((r) => r.result).join(',')}`);
}

/** The in-process flow's operations with each trader's cash and share accounts (`account` is the trader's number + 1 there). */
function withAccounts(ops: Operation[]): Operation[] {
  return ops.map((op) => {
    const t = Number(op.account) % TRADERS;
    if (op.kind === 'new') return { ...op, account: cashOf(t), assetAccount: sharesOf(t) };
    return { ...op, account: cashOf(t) };
  });
}

/**
 * End to end orders/s: `flow` makes one request's operations from the
 * resting orders known (the caller's generator), `live` is updated from the
 * answers. Figures e2e_orders_per_s, e2e_request_p50_ms, fdatasync_p50_ms.
 */
export async function tradingEndToEnd(flow: (live: { id: bigint; side: 'buy' | 'sell'; account: bigint }[]) => Operation[], figures: Figures, notes: string[]): Promise<void> {
  const img = makeImage('bench-trading-e2e', bankTradingManifest(settledInstrument('BENCH', 1_000_000)));
  try {
    const data = join(img.dir, 'data');
    const boot = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
    if (boot.code !== 0) throw new Error(`boot --once: ${boot.stderr}`);
    const key = (event(runCli(['keys', 'create', '--data', data, '--role', 'admin']).events, 'key_created') as { key: string }).key;
    const server = TestServer.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
    const { host, port } = await server.address();
    const frames = await FrameClient.connect(host, port);
    await frames.authenticate(key);
    await tradingSetUp(frames);
    const live: { id: bigint; side: 'buy' | 'sell'; account: bigint }[] = [];
    const times: number[] = [];
    let ops = 0;
    let trades = 0;
    let next = 0;
    let started = 0;
    const worker = async () => {
      while (next < WARM_UP + REQUESTS) {
        const n = next++;
        if (n === WARM_UP) started = performance.now();
        const batch = withAccounts(flow(live));
        const t0 = performance.now();
        const r = await frames.request(GATEWAY_TRADING_SERVICE, ordersRequest(batch));
        if (r.status !== 0) throw new Error(`orders: status ${r.status}: ${r.payload.toString().slice(0, 200)}`);
        const { results, events } = ordersReply(r.payload);
        results.forEach((res, i) => {
          const op = batch[i];
          if (op.kind === 'new' && (res.status === P.ST_NEW || res.status === P.ST_PARTIAL)) live.push({ id: res.order, side: op.side, account: op.account });
        });
        if (n < WARM_UP) continue;
        times.push(performance.now() - t0);
        ops += batch.length;
        trades += events.filter((e) => e.kind === P.EV_KIND_TRADE).length;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const seconds = (performance.now() - started) / 1000;
    figures.e2e_orders_per_s = round(ops / seconds);
    figures.e2e_request_p50_ms = round(percentile(times, 50), 3);
    figures.fdatasync_p50_ms = round(fdatasyncP50(data), 4);
    notes.push(`end to end: ${ops} operations in ${REQUESTS} requests of ${P.OPS_PER_REQUEST}, ${IN_FLIGHT} in flight over one connection, ${TRADERS} traders, `
      + `${trades} trades each settled as a linked chain on the ledger, reservations and releases included`);
    frames.close();
    await server.kill('SIGTERM');
  } finally {
    await TestServer.killAll();
    removeDir(img.dir);
  }
}
