// test/support/reference-book.ts: an obviously correct order book to test
// the trading service against (test/unit/trading-match.test.ts): every
// resting order in one list, sorted afresh (price, then time) whenever
// matching needs the best; no levels, no index, no free list. It follows the
// rules docs/trading.md states, in the plainest code, and answers with the
// same results and events (host/trading/records.ts) as the service.

import * as P from '../../services/trading/protocol.ts';
import type { Event, Result } from '../../host/trading/records.ts';

export interface RefInstrument { id: number; tick: bigint; lot: bigint; qtyMax: bigint; bandBps: bigint }

interface RefOrder {
  id: bigint; instrument: number; side: number; price: bigint; leaves: bigint; filled: bigint; qty: bigint; ref: bigint; account: bigint;
  tif: number; postOnly: boolean; stp: number; seq: number; day: bigint; seqDay: number;
}

export interface RefOp {
  kind: number; side: number; type: number; tif: number; flags: number; stp: number; instrument: number; ref: bigint; order: bigint; price: bigint;
  qty: bigint; account: bigint;
}

const DAY_NS = 86_400_000_000_000n;
const better = (side: number, a: bigint, b: bigint) => (side === P.SIDE_BUY ? a > b : a < b);

export class ReferenceBook {
  private resting: RefOrder[] = [];
  private nextOrder = 0n;
  private trades = 0n;
  private seq = 0;
  private last = new Map<number, bigint>();
  private events: Event[] = [];
  private opEvents = 0;

  constructor(private readonly instruments: RefInstrument[]) {}

  /** The resting orders, for comparing books: by instrument, side, priority. */
  snapshot(): { id: bigint; side: number; price: bigint; leaves: bigint }[] {
    return [...this.resting].sort((a, b) => a.instrument - b.instrument || a.side - b.side || this.priority(a, b))
      .map((o) => ({ id: o.id, side: o.side, price: o.price, leaves: o.leaves }));
  }

  private priority(a: RefOrder, b: RefOrder): number {
    if (a.price !== b.price) return better(a.side, a.price, b.price) ? -1 : 1;
    return a.seq - b.seq;
  }

  apply(ops: RefOp[], now: bigint): { results: Result[]; events: Event[]; expired: number } {
    this.events = [];
    const expired = this.expire(now, P.EVENTS_PER_REPLY / 2);
    const waiting = this.resting.some((o) => o.tif === P.TIF_DAY && o.day < now / DAY_NS);
    const results = ops.map((op) => {
      const need = op.kind === P.OP_MASS_CANCEL ? P.MASS_CANCEL_MAX : P.FILLS_PER_ORDER_MAX;
      if (waiting || P.EVENTS_PER_REPLY - this.events.length < need) return this.result(op, P.ST_REJECTED, P.RJ_BATCH_FULL);
      this.opEvents = 0;
      const r = op.kind === P.OP_NEW ? this.newOrder(op, now) : op.kind === P.OP_CANCEL ? this.cancel(op)
        : op.kind === P.OP_REPLACE ? this.replace(op, now) : this.massCancel(op);
      r.events = this.opEvents;
      return r;
    });
    return { results, events: this.events, expired };
  }

  private result(op: RefOp, status: number, reason = 0, o?: RefOrder): Result {
    return { order: o?.id ?? 0n, status, reason, events: 0, leaves: o?.leaves ?? 0n, cum: o?.filled ?? 0n, ref: op.ref, qty: o?.qty ?? 0n, ledgerResult: 0, riskRules: 0 };
  }

  private expire(now: bigint, most: number): number {
    const due = this.resting.filter((o) => o.tif === P.TIF_DAY && o.day < now / DAY_NS).sort((a, b) => a.seqDay - b.seqDay).slice(0, most);
    for (const o of due) this.restingEvent(P.EV_KIND_EXPIRE, o);
    return due.length;
  }

  private restingEvent(kind: number, o: RefOrder): void {
    this.events.push({ kind, takerSide: 0, instrument: o.instrument, trade: 0n, taker: 0n, maker: o.id, price: o.price, qty: o.leaves, makerLeaves: 0n, takerLeaves: 0n });
    this.opEvents++;
    this.resting = this.resting.filter((x) => x !== o);
  }

  private inBand(inst: RefInstrument, price: bigint): boolean {
    const last = this.last.get(inst.id) ?? 0n;
    if (inst.bandBps === 0n || last === 0n) return true;
    const diff = price > last ? price - last : last - price;
    return diff * 10000n <= last * inst.bandBps;
  }

  private priceQtyReason(inst: RefInstrument, price: bigint, qty: bigint): number {
    if (price === 0n || price % inst.tick !== 0n) return P.RJ_PRICE;
    if (qty === 0n || qty % inst.lot !== 0n || qty > inst.qtyMax) return P.RJ_QTY;
    return this.inBand(inst, price) ? 0 : P.RJ_BAND;
  }

  /** The opposite side's resting orders a taker at `limit` may meet, best first. */
  private opposite(t: { instrument: number; side: number }, limit: bigint): RefOrder[] {
    const other = t.side === P.SIDE_BUY ? P.SIDE_SELL : P.SIDE_BUY;
    return this.resting.filter((o) => o.instrument === t.instrument && o.side === other && (t.side === P.SIDE_BUY ? o.price <= limit : o.price >= limit))
      .sort((a, b) => this.priority(a, b));
  }

  private fillable(t: RefOrder, limit: bigint): boolean {
    let need = t.leaves;
    let events = 0;
    for (const m of this.opposite(t, limit)) {
      if (events === P.FILLS_PER_ORDER_MAX) return false;
      events++;
      if (m.account === t.account) {
        if (t.stp !== P.STP_CANCEL_MAKER) return false;
        continue;
      }
      if (m.leaves >= need) return true;
      need -= m.leaves;
    }
    return false;
  }

  /** Matches `t`; why it stopped: 0 none, 1 self-trade prevention, 2 the events bound. */
  private match(t: RefOrder, limit: bigint): number {
    while (t.leaves > 0n) {
      const m = this.opposite(t, limit)[0];
      if (m === undefined) return 0;
      if (this.opEvents >= P.FILLS_PER_ORDER_MAX) return 2;
      if (m.account === t.account) {
        if (t.stp !== P.STP_CANCEL_TAKER) this.restingEvent(P.EV_KIND_CANCEL, m);
        if (t.stp !== P.STP_CANCEL_MAKER) return 1;
        continue;
      }
      const q = m.leaves < t.leaves ? m.leaves : t.leaves;
      m.leaves -= q; m.filled += q; t.leaves -= q; t.filled += q;
      this.last.set(t.instrument, m.price);
      this.trades++;
      this.events.push({
        kind: P.EV_KIND_TRADE, takerSide: t.side, instrument: t.instrument, trade: this.trades, taker: t.id, maker: m.id, price: m.price, qty: q,
        makerLeaves: m.leaves, takerLeaves: t.leaves,
      });
      this.opEvents++;
      if (m.leaves === 0n) this.resting = this.resting.filter((x) => x !== m);
    }
    return 0;
  }

  private crosses(t: { instrument: number; side: number }, limit: bigint): boolean {
    return this.opposite(t, limit).length > 0;
  }

  private newOrder(op: RefOp, now: bigint): Result {
    const inst = this.instruments.find((i) => i.id === op.instrument);
    if (inst === undefined) return this.result(op, P.ST_REJECTED, P.RJ_INSTRUMENT);
    const market = op.type === P.TYPE_MARKET;
    const postOnly = (op.flags & P.OF_POST_ONLY) !== 0;
    let why = market ? (op.price !== 0n || postOnly ? P.RJ_PRICE : 0) : this.priceQtyReason(inst, op.price, op.qty);
    if (why === 0 && market) {
      if (op.qty === 0n || op.qty % inst.lot !== 0n || op.qty > inst.qtyMax) why = P.RJ_QTY;
      else if (op.tif !== P.TIF_IOC && op.tif !== P.TIF_FOK) why = P.RJ_TIF;
    }
    const limit = market ? (op.side === P.SIDE_BUY ? (1n << 64n) - 1n : 0n) : op.price;
    if (why === 0 && postOnly && this.crosses(op, limit)) why = P.RJ_POST_ONLY;
    if (why === 0 && market && !this.crosses(op, limit)) why = P.RJ_NO_LIQUIDITY;
    if (why !== 0) return this.result(op, P.ST_REJECTED, why);
    const t: RefOrder = {
      id: 0n, instrument: op.instrument, side: op.side, price: op.price, leaves: op.qty, filled: 0n, qty: op.qty, ref: op.ref, account: op.account,
      tif: op.tif, postOnly, stp: op.stp, seq: 0, day: 0n, seqDay: 0,
    };
    if (op.tif === P.TIF_FOK && !this.fillable(t, limit)) return this.result(op, P.ST_REJECTED, P.RJ_FOK);
    t.id = ++this.nextOrder;
    const stop = this.match(t, limit);
    return this.result(op, this.settle(t, stop, now), 0, t);
  }

  private settle(t: RefOrder, stop: number, now: bigint): number {
    if (t.leaves === 0n) return P.ST_FILLED;
    const restable = (t.tif === P.TIF_GTC || t.tif === P.TIF_DAY) && stop === 0 && t.price !== 0n;
    if (!restable) { t.leaves = 0n; return P.ST_CANCELLED; }
    t.seq = ++this.seq;
    if (t.tif === P.TIF_DAY) { t.day = now / DAY_NS; t.seqDay = this.seq; }
    this.resting.push(t);
    return t.filled === 0n ? P.ST_NEW : P.ST_PARTIAL;
  }

  private own(op: RefOp): RefOrder | undefined {
    return this.resting.find((o) => o.id === op.order && o.account === op.account && o.instrument === op.instrument && o.side === op.side);
  }

  private cancel(op: RefOp): Result {
    const o = this.own(op);
    if (o === undefined) return this.result(op, P.ST_REJECTED, P.RJ_UNKNOWN_ORDER);
    this.resting = this.resting.filter((x) => x !== o);
    o.leaves = 0n;
    return this.result(op, P.ST_CANCELLED, 0, o);
  }

  private replace(op: RefOp, now: bigint): Result {
    const o = this.own(op);
    if (o === undefined) return this.result(op, P.ST_REJECTED, P.RJ_UNKNOWN_ORDER);
    const inst = this.instruments.find((i) => i.id === o.instrument)!;
    let why = this.priceQtyReason(inst, op.price, op.qty);
    if (why === P.RJ_BAND && op.price === o.price) why = 0;
    if (why === 0 && op.qty <= o.filled) why = P.RJ_REPLACE_QTY;
    const leaves = op.qty - o.filled;
    const keeps = op.price === o.price && leaves <= o.leaves;
    if (why === 0 && !keeps && o.postOnly && this.crosses(o, op.price)) why = P.RJ_POST_ONLY;
    if (why !== 0) return this.result(op, P.ST_REJECTED, why, o);
    o.ref = op.ref;
    if (keeps) {
      o.leaves = leaves; o.qty = op.qty;
      return this.result(op, o.filled === 0n ? P.ST_NEW : P.ST_PARTIAL, 0, o);
    }
    this.resting = this.resting.filter((x) => x !== o);
    o.price = op.price; o.qty = op.qty; o.leaves = leaves;
    const stop = this.match(o, op.price);
    let status = o.filled === 0n ? P.ST_NEW : P.ST_PARTIAL;
    if (o.leaves === 0n) status = P.ST_FILLED;
    else if (stop !== 0) { o.leaves = 0n; status = P.ST_CANCELLED; }
    else { o.seq = ++this.seq; this.resting.push(o); }
    void now;
    return this.result(op, status, 0, o);
  }

  private massCancel(op: RefOp): Result {
    if (op.instrument !== 0 && !this.instruments.some((i) => i.id === op.instrument)) return this.result(op, P.ST_REJECTED, P.RJ_INSTRUMENT);
    // The service's order: instruments in the config's order, bids then asks, best level first, then time.
    const order = this.instruments.map((i) => i.id).filter((id) => op.instrument === 0 || id === op.instrument);
    let n = 0;
    for (const id of order) {
      for (const side of [P.SIDE_BUY, P.SIDE_SELL]) {
        if (op.side !== 0 && op.side !== side) continue;
        const mine = this.resting.filter((o) => o.instrument === id && o.side === side && o.account === op.account).sort((a, b) => this.priority(a, b));
        for (const o of mine) {
          if (n === P.MASS_CANCEL_MAX) break;
          this.restingEvent(P.EV_KIND_CANCEL, o);
          n++;
        }
      }
    }
    const r = this.result(op, P.ST_DONE);
    r.leaves = BigInt(n);
    return r;
  }
}
