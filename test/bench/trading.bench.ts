// test/bench/trading.bench.ts: the trading service (issue 19).
//   match  order operations applied by the trading service in this process
//          (services/sdk/harness.ts: the same wasm the kernel runs, no log,
//          no network), requests of OPS_PER_REQUEST operations, a mixed flow
//          as the issue names it: 60 % limit orders that rest (a price a few
//          ticks off the touch), 30 % cancels of resting orders, 10 %
//          aggressive orders that cross the spread; the time of the service
//          calls alone (the flow is built between them, from the replies).
//          Peers, published (not run here): exchange-core about 5,000,000
//          order operations/s, LMAX about 6,000,000/s, liquibook 2,000,000
//          to 2,500,000 inserts/s, each on one core of its own machine.
//   e2e    the same flow end to end over the binary protocol, durable and
//          settled on the ledger (trading-e2e.ts), beside fdatasync's p50.
// FIX is not built yet: its figures are null until it is.

import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as P from '../../services/trading/protocol.ts';
import { ordersReply, ordersRequest, type Operation } from '../../host/trading/records.ts';
import { ROOT, percentile, round, type Bench, type FigureSpec, type Figures } from './support.ts';
import { fixEndToEnd } from './trading-fix.ts';
import { tradingEndToEnd } from './trading-e2e.ts';

const FIGURES: FigureSpec[] = [
  { key: 'match_apply_ops', row: 'trading service, mixed flow, in process', col: 'operations/s' },
  { key: 'match_request_p50_ms', row: `trading service, a request of ${P.OPS_PER_REQUEST} operations`, col: 'p50 ms' },
  { key: 'match_request_p99_ms', row: `trading service, a request of ${P.OPS_PER_REQUEST} operations`, col: 'p99 ms' },
  { key: 'match_vs_exchange_core_ratio', row: 'match_apply_ops ÷ exchange-core\'s published 5,000,000/s', col: 'ratio' },
  { key: 'e2e_orders_per_s', row: 'binary protocol end to end (gateway.trading), durable, settlement included', col: 'orders/s' },
  { key: 'e2e_request_p50_ms', row: `binary protocol end to end, a request of ${P.OPS_PER_REQUEST} operations`, col: 'p50 ms' },
  { key: 'fix_messages_per_s', row: 'FIX 4.4 end to end, 16 sessions, durable, settlement included', col: 'messages/s' },
  { key: 'fix_one_session_messages_per_s', row: 'FIX 4.4 end to end, one session', col: 'messages/s' },
  { key: 'fix_p50_ms', row: 'FIX order → execution report, one at a time', col: 'p50 ms' },
  { key: 'fix_p99_ms', row: 'FIX order → execution report, one at a time', col: 'p99 ms' },
  { key: 'fdatasync_p50_ms', row: 'fdatasync of 4 KiB on the data directory\'s file system', col: 'p50 ms' },
];

const WARM_UP = 50; // requests
const REQUESTS = 1500; // timed: about 1.5 M operations
const ACCOUNTS = 64;
const MID = 100_000n; // ticks of 1
const EXCHANGE_CORE = 5_000_000;

/** A small deterministic generator (xorshift32): the flow is the same every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

/** One request of the mixed flow; `live` holds resting orders (id, side, account), updated from the replies by the caller. */
function flowRequest(next: () => number, live: { id: bigint; side: 'buy' | 'sell'; account: bigint }[]): Operation[] {
  const ops: Operation[] = [];
  for (let i = 0; i < P.OPS_PER_REQUEST; i++) {
    const x = next();
    const account = BigInt(1 + Math.floor(next() * ACCOUNTS));
    const side = next() < 0.5 ? 'buy' : 'sell';
    if (x < 0.3 && live.length > 0) {
      const k = Math.floor(next() * live.length);
      const o = live[k];
      live[k] = live[live.length - 1];
      live.pop();
      ops.push({ kind: 'cancel', side: o.side, instrument: 1, account: o.account, order: o.id });
    } else if (x < 0.4) {
      // Aggressive: through the touch by up to 3 ticks, IOC.
      const price = side === 'buy' ? MID + BigInt(Math.floor(next() * 4)) : MID - BigInt(Math.floor(next() * 4));
      ops.push({ kind: 'new', side, instrument: 1, account, price, qty: BigInt(1 + Math.floor(next() * 20)), tif: 'ioc' });
    } else {
      // Resting: 1..40 ticks off the mid on its side.
      const off = BigInt(1 + Math.floor(next() * 40));
      ops.push({ kind: 'new', side, instrument: 1, account, price: side === 'buy' ? MID - off : MID + off, qty: BigInt(1 + Math.floor(next() * 20)) });
    }
  }
  return ops;
}

const bench: Bench = {
  name: 'trading',
  title: 'Trading: order books and matching in the trading service (mixed flow); end to end over the binary protocol and over FIX 4.4',
  figures: FIGURES,
  requires: [join(ROOT, 'build/services/trading.wasm'), join(ROOT, 'dist/qenex.js')],
  async run() {
    const figures: Figures = {};
    const svc = await ServiceHarness.load(join(ROOT, 'build/services/trading.wasm'), { name: 'trading', caps: ['log', 'time'], memoryPagesMax: 16384, messageBytesMax: 1 << 20 });
    svc.init({ orders_max: 1_000_000, levels_max: 4096, instruments: [
      { id: 1, symbol: 'BENCH', price_scale: 2, qty_scale: 0, tick: 1, lot: 1, qty_max: 1_000_000, band_bps: 0, cash_ledger: 1, asset_ledger: 2 },
    ] });
    const next = rng(19);
    const live: { id: bigint; side: 'buy' | 'sell'; account: bigint }[] = [];
    const times: number[] = [];
    let ops = 0;
    let trades = 0;
    for (let r = 0; r < WARM_UP + REQUESTS; r++) {
      const flow = flowRequest(next, live);
      const request = ordersRequest(flow);
      const t0 = performance.now();
      const reply = svc.request(request)!.payload;
      const ms = performance.now() - t0;
      const { results, events } = ordersReply(reply);
      results.forEach((res, i) => {
        const op = flow[i];
        if (op.kind === 'new' && (res.status === P.ST_NEW || res.status === P.ST_PARTIAL)) live.push({ id: res.order, side: op.side, account: op.account });
      });
      if (r < WARM_UP) continue;
      times.push(ms);
      ops += flow.length;
      trades += events.filter((e) => e.kind === P.EV_KIND_TRADE).length;
    }
    const seconds = times.reduce((a, b) => a + b, 0) / 1000;
    figures.match_apply_ops = round(ops / seconds);
    figures.match_request_p50_ms = round(percentile(times, 50), 4);
    figures.match_request_p99_ms = round(percentile(times, 99), 4);
    figures.match_vs_exchange_core_ratio = round(figures.match_apply_ops! / EXCHANGE_CORE, 3);
    const notes: string[] = [
      `${ops} operations in ${REQUESTS} requests of ${P.OPS_PER_REQUEST} after ${WARM_UP} to warm up: ${trades} trades; ${live.length} orders resting at the end`,
      'the time is the service call alone (copy in, apply, copy out), as the kernel would make it; the flow is built and the replies read between calls',
      'peers are published figures, not run here: exchange-core ~5M ops/s, LMAX ~6M/s, liquibook 2-2.5M inserts/s (each on its own hardware)',
    ];
    const e2e = rng(1919);
    await tradingEndToEnd((known) => flowRequest(e2e, known), figures, notes);
    await fixEndToEnd(figures, notes);
    // The target: an order's report no later than 0.2 ms after the fdatasync that makes it durable.
    if (typeof figures.fix_p50_ms === 'number' && typeof figures.fdatasync_p50_ms === 'number') {
      figures.fix_p50_over_fdatasync_ms = round(figures.fix_p50_ms - figures.fdatasync_p50_ms, 3);
    }
    return { figures, params: { requests: REQUESTS, ops_per_request: P.OPS_PER_REQUEST, accounts: ACCOUNTS, mix: '60% rest, 30% cancel, 10% aggressive IOC' }, notes };
  },
};

export default bench;
