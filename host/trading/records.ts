// host/trading/records.ts: the trading service's requests and replies
// (services/trading/protocol.ts) as the host builds and reads them: order
// operations, their results and events, book depth, live orders.

import * as P from '../../services/trading/protocol.ts';

export class TradingRecordError extends Error {}

/** The service refused a request whole (REPLY_F_REFUSED): nothing changed. */
export class TradingRefusal extends Error {
  constructor(readonly reason: string) { super(`trading refused the request: ${reason}`); }
}

export type Side = 'buy' | 'sell';
export type Tif = 'gtc' | 'ioc' | 'fok' | 'day';
export type Stp = 'cancel_taker' | 'cancel_maker' | 'cancel_both';
export const SIDES: Record<Side, number> = { buy: P.SIDE_BUY, sell: P.SIDE_SELL };
export const TIFS: Record<Tif, number> = { gtc: P.TIF_GTC, ioc: P.TIF_IOC, fok: P.TIF_FOK, day: P.TIF_DAY };
export const STPS: Record<Stp, number> = { cancel_taker: P.STP_CANCEL_TAKER, cancel_maker: P.STP_CANCEL_MAKER, cancel_both: P.STP_CANCEL_BOTH };
export const STATUS_NAMES: Record<number, string> = {
  [P.ST_NEW]: 'new', [P.ST_PARTIAL]: 'partially_filled', [P.ST_FILLED]: 'filled', [P.ST_CANCELLED]: 'cancelled', [P.ST_REJECTED]: 'rejected',
  [P.ST_EXPIRED]: 'expired', [P.ST_DONE]: 'done',
};
export const REASON_NAMES: Record<number, string> = {
  [P.RJ_INSTRUMENT]: 'unknown_instrument', [P.RJ_PRICE]: 'invalid_price', [P.RJ_QTY]: 'invalid_quantity', [P.RJ_BAND]: 'outside_price_band',
  [P.RJ_POST_ONLY]: 'post_only_would_trade', [P.RJ_TIF]: 'invalid_time_in_force', [P.RJ_UNKNOWN_ORDER]: 'unknown_order', [P.RJ_FULL]: 'book_full',
  [P.RJ_NO_LIQUIDITY]: 'no_liquidity', [P.RJ_FOK]: 'fill_or_kill_not_filled', [P.RJ_REPLACE_QTY]: 'quantity_not_over_filled',
  [P.RJ_MALFORMED]: 'malformed', [P.RJ_BATCH_FULL]: 'batch_full', [P.RJ_FUNDS]: 'funds', [P.RJ_NO_REFERENCE]: 'no_reference_price',
  [P.RJ_FORBIDDEN]: 'forbidden', [P.RJ_RISK]: 'risk', [P.RJ_DUPLICATE]: 'duplicate_client_ref',
};

export type Operation =
  | {
    kind: 'new'; side: Side; instrument: number; account: bigint; qty: bigint; price?: bigint; market?: boolean; tif?: Tif; postOnly?: boolean; stp?: Stp;
    ref?: bigint; /** With settlement: the trader's account on the asset ledger. */ assetAccount?: bigint;
  }
  | { kind: 'cancel'; side: Side; instrument: number; account: bigint; order: bigint; ref?: bigint }
  | { kind: 'replace'; side: Side; instrument: number; account: bigint; order: bigint; price: bigint; qty: bigint; ref?: bigint }
  | { kind: 'mass_cancel'; account: bigint; instrument?: number; side?: Side; ref?: bigint };

/** A u128 little-endian at `at` (the trading records' accounts; the FIX front end's orders too). */
export function u128(b: Buffer, at: number, v: bigint): void {
  if (v < 0n || v >> 128n !== 0n) throw new TradingRecordError(`${v} is not a u128`);
  b.writeBigUInt64LE(v & 0xffffffffffffffffn, at);
  b.writeBigUInt64LE(v >> 64n, at + 8);
}

function u64(b: Buffer, at: number, v: bigint): void {
  if (v < 0n || v >> 64n !== 0n) throw new TradingRecordError(`${v} is not a u64`);
  b.writeBigUInt64LE(v, at);
}

/** One OP_BYTES record. */
export function opRecord(op: Operation): Buffer {
  const b = Buffer.alloc(P.OP_BYTES);
  b[P.OP_KIND] = { new: P.OP_NEW, cancel: P.OP_CANCEL, replace: P.OP_REPLACE, mass_cancel: P.OP_MASS_CANCEL }[op.kind];
  b.writeUInt32LE(op.instrument ?? 0, P.OP_INSTRUMENT);
  u64(b, P.OP_CLIENT_REF, op.ref ?? 0n);
  u128(b, P.OP_ACCOUNT, op.account);
  if (op.kind === 'mass_cancel') {
    b[P.OP_SIDE] = op.side === undefined ? 0 : SIDES[op.side];
    return b;
  }
  b[P.OP_SIDE] = SIDES[op.side];
  if (op.kind === 'new') {
    b[P.OP_TYPE] = op.market === true ? P.TYPE_MARKET : P.TYPE_LIMIT;
    b[P.OP_TIF] = TIFS[op.tif ?? (op.market === true ? 'ioc' : 'gtc')];
    b[P.OP_FLAGS] = op.postOnly === true ? P.OF_POST_ONLY : 0;
    b[P.OP_STP] = STPS[op.stp ?? 'cancel_taker'];
    u64(b, P.OP_PRICE, op.price ?? 0n);
    u64(b, P.OP_QTY, op.qty);
    u128(b, P.OP_ASSET_ACCOUNT, op.assetAccount ?? 0n);
    return b;
  }
  u64(b, P.OP_ORDER, op.order);
  if (op.kind === 'replace') {
    u64(b, P.OP_PRICE, op.price);
    u64(b, P.OP_QTY, op.qty);
  }
  return b;
}

function header(op: number, count: number, scope = 0): Buffer {
  const h = Buffer.alloc(P.HEADER_BYTES);
  h[P.HEADER_OP] = op;
  h.writeUInt16LE(scope, P.HEADER_SCOPE_COUNT);
  h.writeUInt32LE(count, P.HEADER_COUNT);
  return h;
}

/** The grants of a key limited to ledgers, appended after the records (the gateway does this; tests do it by hand). */
function scopeBytes(ledgers: readonly number[]): Buffer {
  if (ledgers.length > P.SCOPE_LEDGERS_MAX) throw new TradingRecordError(`a scope of ${ledgers.length} ledgers`);
  const b = Buffer.alloc(ledgers.length * 4);
  ledgers.forEach((l, i) => b.writeUInt32LE(l, i * 4));
  return b;
}

/** orders: 1..OPS_PER_REQUEST operations, applied in order. */
export function ordersRequest(ops: readonly Operation[], scope: readonly number[] = []): Buffer {
  if (ops.length === 0 || ops.length > P.OPS_PER_REQUEST) throw new TradingRecordError(`${ops.length} operations, 1..${P.OPS_PER_REQUEST}`);
  return Buffer.concat([header(P.Op.orders, ops.length, scope.length), ...ops.map(opRecord), scopeBytes(scope)]);
}

export function instrumentsRequest(): Buffer {
  return header(P.Op.instruments_get, 0);
}

export function bookRequest(instrument: number, depth: number): Buffer {
  const q = Buffer.alloc(P.BOOK_QUERY_BYTES);
  q.writeUInt32LE(instrument, P.BQ_INSTRUMENT);
  q.writeUInt32LE(depth, P.BQ_DEPTH);
  return Buffer.concat([header(P.Op.book, 1), q]);
}

export function orderGetRequest(ids: readonly bigint[], scope: readonly number[] = []): Buffer {
  const b = Buffer.alloc(ids.length * 8);
  ids.forEach((id, i) => u64(b, i * 8, id));
  return Buffer.concat([header(P.Op.order_get, ids.length, scope.length), b, scopeBytes(scope)]);
}

export interface Result {
  order: bigint; status: number; reason: number; events: number; leaves: bigint; cum: bigint; ref: bigint; qty: bigint; ledgerResult: number; riskRules: number;
}
export interface Event {
  kind: number; takerSide: number; instrument: number; trade: bigint; taker: bigint; maker: bigint; price: bigint; qty: bigint;
  makerLeaves: bigint; takerLeaves: bigint;
}

function replyOf(reply: Uint8Array): Buffer {
  const b = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  if (b.length < P.REPLY_HEADER_BYTES) throw new TradingRecordError(`a reply of ${b.length} bytes`);
  if ((b.readUInt32LE(4) & P.REPLY_F_REFUSED) !== 0) throw new TradingRefusal(b.toString('latin1', P.REPLY_HEADER_BYTES));
  return b;
}

/** The EVENT_BYTES event at `at` of `b` (an orders reply's, an event stream item). */
export function eventAt(b: Buffer, at: number): Event {
  if (at < 0 || at + P.EVENT_BYTES > b.length) throw new TradingRecordError(`an event at ${at} of ${b.length} bytes`);
  return {
    kind: b[at + P.EV_KIND], takerSide: b[at + P.EV_TAKER_SIDE], instrument: b.readUInt32LE(at + P.EV_INSTRUMENT), trade: b.readBigUInt64LE(at + P.EV_TRADE),
    taker: b.readBigUInt64LE(at + P.EV_TAKER), maker: b.readBigUInt64LE(at + P.EV_MAKER), price: b.readBigUInt64LE(at + P.EV_PRICE),
    qty: b.readBigUInt64LE(at + P.EV_QTY), makerLeaves: b.readBigUInt64LE(at + P.EV_MAKER_LEAVES), takerLeaves: b.readBigUInt64LE(at + P.EV_TAKER_LEAVES),
  };
}

/** orders' reply: a result per operation; the events, the day's expiries first (`expired` of them). */
export function ordersReply(reply: Uint8Array): { results: Result[]; events: Event[]; expired: number } {
  const b = replyOf(reply);
  const count = b.readUInt32LE(0);
  const events = b.readUInt32LE(8);
  if (b.length !== P.REPLY_HEADER_BYTES + count * P.RESULT_BYTES + events * P.EVENT_BYTES) throw new TradingRecordError('an orders reply of the wrong length');
  const results = Array.from({ length: count }, (_, i): Result => {
    const at = P.REPLY_HEADER_BYTES + i * P.RESULT_BYTES;
    return {
      order: b.readBigUInt64LE(at + P.RES_ORDER), status: b[at + P.RES_STATUS], reason: b[at + P.RES_REASON], events: b.readUInt32LE(at + P.RES_EVENTS),
      leaves: b.readBigUInt64LE(at + P.RES_LEAVES), cum: b.readBigUInt64LE(at + P.RES_CUM), ref: b.readBigUInt64LE(at + P.RES_CLIENT_REF),
      qty: b.readBigUInt64LE(at + P.RES_QTY), ledgerResult: b.readUInt16LE(at + P.RES_LEDGER_RESULT), riskRules: b.readUInt32LE(at + P.RES_RISK_RULES),
    };
  });
  const base = P.REPLY_HEADER_BYTES + count * P.RESULT_BYTES;
  const list = Array.from({ length: events }, (_, i): Event => eventAt(b, base + i * P.EVENT_BYTES));
  return { results, events: list, expired: b.readUInt32LE(12) };
}

export interface Level { price: bigint; qty: bigint; orders: number }

/** book's reply: bids and asks, best first. */
export function bookReply(reply: Uint8Array): { bids: Level[]; asks: Level[] } {
  const b = replyOf(reply);
  const count = b.readUInt32LE(0);
  const bids = b.readUInt32LE(8);
  if (b.length !== P.REPLY_HEADER_BYTES + count * P.LEVEL_OUT_BYTES || bids > count) throw new TradingRecordError('a book reply of the wrong length');
  const levels = Array.from({ length: count }, (_, i): Level => {
    const at = P.REPLY_HEADER_BYTES + i * P.LEVEL_OUT_BYTES;
    return { price: b.readBigUInt64LE(at + P.LO_PRICE), qty: b.readBigUInt64LE(at + P.LO_QTY), orders: b.readUInt32LE(at + P.LO_ORDERS) };
  });
  return { bids: levels.slice(0, bids), asks: levels.slice(bids) };
}

export interface LiveOrder {
  order: bigint; price: bigint; leaves: bigint; filled: bigint; ref: bigint; instrument: number; side: number; tif: number; flags: number;
  stp: number; qty: bigint; entered: bigint; account: bigint;
}

export function orderGetReply(reply: Uint8Array): LiveOrder[] {
  const b = replyOf(reply);
  const count = b.readUInt32LE(0);
  if (b.length !== P.REPLY_HEADER_BYTES + count * P.ORDER_OUT_BYTES) throw new TradingRecordError('an order_get reply of the wrong length');
  return Array.from({ length: count }, (_, i): LiveOrder => {
    const at = P.REPLY_HEADER_BYTES + i * P.ORDER_OUT_BYTES;
    return {
      order: b.readBigUInt64LE(at + P.OO_ORDER), price: b.readBigUInt64LE(at + P.OO_PRICE), leaves: b.readBigUInt64LE(at + P.OO_LEAVES),
      filled: b.readBigUInt64LE(at + P.OO_FILLED), ref: b.readBigUInt64LE(at + P.OO_CLIENT_REF), instrument: b.readUInt32LE(at + P.OO_INSTRUMENT),
      side: b[at + P.OO_SIDE], tif: b[at + P.OO_TIF], flags: b[at + P.OO_FLAGS], stp: b[at + P.OO_STP], qty: b.readBigUInt64LE(at + P.OO_QTY),
      entered: b.readBigUInt64LE(at + P.OO_ENTERED),
      account: (b.readBigUInt64LE(at + P.OO_ACCOUNT + 8) << 64n) | b.readBigUInt64LE(at + P.OO_ACCOUNT),
    };
  });
}

export interface Instrument {
  id: number; symbol: string; priceScale: number; qtyScale: number; tick: bigint; lot: bigint; qtyMax: bigint; bandBps: number;
  cashLedger: number; assetLedger: number;
}

/** instruments_get's reply: the instruments, by id. */
export function instrumentsReply(reply: Uint8Array): Instrument[] {
  const b = replyOf(reply);
  const count = b.readUInt32LE(0);
  if (b.length !== P.REPLY_HEADER_BYTES + count * P.INSTRUMENT_BYTES) throw new TradingRecordError('an instruments reply of the wrong length');
  return Array.from({ length: count }, (_, i): Instrument => {
    const at = P.REPLY_HEADER_BYTES + i * P.INSTRUMENT_BYTES;
    return {
      id: b.readUInt32LE(at + P.INST_ID), symbol: b.toString('latin1', at + P.INST_SYMBOL, at + P.INST_SYMBOL + b[at + P.INST_SYMBOL_LENGTH]),
      priceScale: b[at + P.INST_PRICE_SCALE], qtyScale: b[at + P.INST_QTY_SCALE], tick: b.readBigUInt64LE(at + P.INST_TICK), lot: b.readBigUInt64LE(at + P.INST_LOT),
      qtyMax: b.readBigUInt64LE(at + P.INST_QTY_MAX), bandBps: b.readUInt32LE(at + P.INST_BAND), cashLedger: b.readUInt32LE(at + P.INST_CASH_LEDGER),
      assetLedger: b.readUInt32LE(at + P.INST_ASSET_LEDGER),
    };
  });
}
