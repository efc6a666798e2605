// host/gateway/trading-front.ts: the trading routes' front end
// (docs/trading.md "The routes"): what a client sends turned into the
// trading service's requests (services/trading/protocol.ts,
// host/trading/records.ts), and its replies into the answer. Prices and
// quantities are decimal strings at the instrument's scales (the manifest's
// trading config: TradingInstruments), never JSON numbers, never rounded.
//
//   POST /v1/orders            [operation, …] → {"results":[…],"expired":[…]}
//   POST /v1/orders/lookup     {"ids":["1",…]} → {"orders":[…]} (live orders only)
//   GET  /v1/instruments       → {"instruments":[…]}
//   GET  /v1/instruments/{id}/book?depth=N → {"instrument","bids":[…],"asks":[…]}
//
// A body refused here is answered 400 and never logged.

import * as P from '../../services/trading/protocol.ts';
import * as L from '../../services/ledger/protocol.ts';
import { amountFromDecimal, decimalFromMinor, LedgerJsonError, parseUnsignedDecimal } from './ledger-json.ts';
import { isJsonObject, JsonNumber, type JsonValue } from './json.ts';
import {
  bookReply, bookRequest, instrumentsReply, instrumentsRequest, orderGetReply, orderGetRequest, ordersReply, ordersRequest, REASON_NAMES, SIDES, STATUS_NAMES,
  STPS, TIFS, type Event, type Instrument, type LiveOrder, type Operation, type Side, type Stp, type Tif,
} from '../trading/records.ts';
import { U128_MAX, U64_MAX } from '../client/ledger.ts';
import { ruleNames } from '../compliance/rules.ts';

export type TradingHandler = 'orders' | 'orders_lookup' | 'instruments' | 'book';

/** An instrument as the edge knows it (the manifest's trading config): its scales turn decimals into units. */
export interface TradingInstrument { id: number; symbol: string; priceScale: number; qtyScale: number }
export type TradingInstruments = ReadonlyMap<number, TradingInstrument>;

export interface TradingContext { handler: TradingHandler; instrument?: number }

const DEPTH_DEFAULT = 10;
const LOOKUPS_MAX = P.LOOKUPS_MAX;

function refuse(code: string, message: string): never {
  throw new LedgerJsonError(code, message);
}

function field(o: Map<string, JsonValue>, key: string, where: string): JsonValue {
  const v = o.get(key);
  if (v === undefined) refuse('missing_field', `${where}.${key}: required`);
  return v;
}

function text(o: Map<string, JsonValue>, key: string, where: string): string {
  const v = field(o, key, where);
  if (typeof v !== 'string') refuse('invalid_field', `${where}.${key}: a string`);
  return v;
}

function unsigned(o: Map<string, JsonValue>, key: string, where: string, max: bigint): bigint {
  const v = field(o, key, where);
  const s = typeof v === 'string' ? v : v instanceof JsonNumber ? v.text : '';
  const n = parseUnsignedDecimal(s, max);
  if (n === null) refuse('invalid_field', `${where}.${key}: a decimal unsigned integer up to ${max}`);
  return n;
}

function oneOf<T extends string>(o: Map<string, JsonValue>, key: string, where: string, names: readonly T[], fallback?: T): T {
  const v = o.get(key);
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || !(names as readonly string[]).includes(v)) refuse('invalid_field', `${where}.${key}: one of ${names.join(', ')}`);
  return v as T;
}

function instrumentOf(o: Map<string, JsonValue>, where: string, instruments: TradingInstruments): TradingInstrument {
  const id = Number(unsigned(o, 'instrument', where, 0xffffffffn));
  const inst = instruments.get(id);
  if (inst === undefined) refuse('unknown_instrument', `${where}.instrument: ${id} is not an instrument of this image`);
  return inst;
}

const decimalAt = (o: Map<string, JsonValue>, key: string, where: string, scale: number): bigint => {
  const v = amountFromDecimal(text(o, key, where), scale, `${where}.${key}`);
  if (v > U64_MAX) refuse('out_of_range', `${where}.${key}: over 2^64 - 1 units`);
  return v;
};

const KEYS: Record<string, readonly string[]> = {
  new: ['type', 'side', 'instrument', 'account', 'asset_account', 'price', 'quantity', 'order_type', 'time_in_force', 'post_only', 'self_trade', 'client_ref'],
  cancel: ['type', 'side', 'instrument', 'account', 'order_id', 'client_ref'],
  replace: ['type', 'side', 'instrument', 'account', 'order_id', 'price', 'quantity', 'client_ref'],
  mass_cancel: ['type', 'account', 'instrument', 'side', 'client_ref'],
};

/** One operation of POST /v1/orders. */
function operationFromJson(v: JsonValue, where: string, instruments: TradingInstruments): Operation {
  if (!isJsonObject(v)) refuse('invalid_field', `${where}: an object`);
  const type = oneOf(v, 'type', where, ['new', 'cancel', 'replace', 'mass_cancel'] as const);
  for (const k of v.keys()) if (!KEYS[type].includes(k)) refuse('unknown_field', `${where}.${k.slice(0, 40)}: not a field of a ${type} (${KEYS[type].join(', ')})`);
  const account = unsigned(v, 'account', where, U128_MAX);
  const ref = v.has('client_ref') ? unsigned(v, 'client_ref', where, U64_MAX) : 0n;
  if (type === 'mass_cancel') {
    const instrument = v.has('instrument') ? instrumentOf(v, where, instruments).id : undefined;
    const side = v.has('side') ? oneOf(v, 'side', where, ['buy', 'sell'] as const) : undefined;
    return { kind: 'mass_cancel', account, instrument, side, ref };
  }
  const inst = instrumentOf(v, where, instruments);
  const side = oneOf<Side>(v, 'side', where, ['buy', 'sell']);
  if (type === 'cancel') return { kind: 'cancel', side, instrument: inst.id, account, order: unsigned(v, 'order_id', where, U64_MAX), ref };
  const qty = decimalAt(v, 'quantity', where, inst.qtyScale);
  if (type === 'replace') {
    return { kind: 'replace', side, instrument: inst.id, account, order: unsigned(v, 'order_id', where, U64_MAX), price: decimalAt(v, 'price', where, inst.priceScale), qty, ref };
  }
  const market = oneOf(v, 'order_type', where, ['limit', 'market'] as const, 'limit') === 'market';
  if (market === v.has('price')) refuse('invalid_field', `${where}.price: a limit order has a price, a market order none`);
  const postOnly = v.get('post_only') ?? false;
  if (typeof postOnly !== 'boolean') refuse('invalid_field', `${where}.post_only: true or false`);
  return {
    kind: 'new', side, instrument: inst.id, account, qty, price: market ? 0n : decimalAt(v, 'price', where, inst.priceScale), market, postOnly, ref,
    tif: oneOf<Tif>(v, 'time_in_force', where, Object.keys(TIFS) as Tif[], market ? 'ioc' : 'gtc'),
    stp: oneOf<Stp>(v, 'self_trade', where, Object.keys(STPS) as Stp[], 'cancel_taker'),
    assetAccount: v.has('asset_account') ? unsigned(v, 'asset_account', where, U128_MAX) : 0n,
  };
}

/** The trading service's request for a route. */
export function tradingRequestBody(handler: TradingHandler, json: () => JsonValue, id: bigint, query: string, instruments: TradingInstruments): { body: Buffer; context: TradingContext } {
  switch (handler) {
    case 'orders': {
      const v = json();
      if (!Array.isArray(v) || v.length === 0 || v.length > P.OPS_PER_REQUEST) refuse('invalid_field', `body: an array of 1..${P.OPS_PER_REQUEST} operations`);
      return { body: ordersRequest(v.map((op, i) => operationFromJson(op, `body[${i}]`, instruments))), context: { handler } };
    }
    case 'orders_lookup': {
      const v = json();
      if (!isJsonObject(v) || [...v.keys()].some((k) => k !== 'ids')) refuse('invalid_field', 'body: {"ids":["order id", …]}');
      const ids = v.get('ids');
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > LOOKUPS_MAX) refuse('invalid_field', `body.ids: an array of 1..${LOOKUPS_MAX} order ids`);
      return { body: orderGetRequest(ids.map((x, i) => unsigned(new Map([['id', x]]), 'id', `body.ids[${i}]`, U64_MAX))), context: { handler } };
    }
    case 'instruments': return { body: instrumentsRequest(), context: { handler } };
    case 'book': {
      const inst = instruments.get(Number(id));
      if (inst === undefined || id > 0xffffffffn) refuse('unknown_instrument', `path: ${id} is not an instrument of this image`);
      const depth = bookDepth(query);
      return { body: bookRequest(inst.id, depth), context: { handler, instrument: inst.id } };
    }
  }
}

function bookDepth(query: string): number {
  if (query === '') return DEPTH_DEFAULT;
  const m = /^depth=([0-9]{1,4})$/.exec(query);
  const depth = m === null ? 0 : Number(m[1]);
  if (depth < 1 || depth > P.DEPTH_MAX) refuse('invalid_query', `query: depth=1..${P.DEPTH_MAX} (default ${DEPTH_DEFAULT})`);
  return depth;
}

const SIDE_NAMES: Record<number, Side> = { [P.SIDE_BUY]: 'buy', [P.SIDE_SELL]: 'sell' };
const TIF_NAMES = Object.fromEntries(Object.entries(TIFS).map(([k, v]) => [v, k]));
const STP_NAMES = Object.fromEntries(Object.entries(STPS).map(([k, v]) => [v, k]));
const TRANSFER_RESULTS = Object.fromEntries(Object.entries(L.TransferResult).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k]));

function price(inst: TradingInstrument | undefined, units: bigint): string { return decimalFromMinor(units, inst?.priceScale ?? 0); }
function qty(inst: TradingInstrument | undefined, units: bigint): string { return decimalFromMinor(units, inst?.qtyScale ?? 0); }

/** A trading event as JSON (an orders answer's events, and the event stream's type trading). */
export function tradingEventJson(e: Event, instruments: TradingInstruments): Record<string, unknown> {
  const inst = instruments.get(e.instrument);
  if (e.kind === P.EV_KIND_TRADE) {
    return {
      type: 'trade', instrument: e.instrument, trade_id: e.trade.toString(), taker_order_id: e.taker.toString(), maker_order_id: e.maker.toString(),
      taker_side: SIDE_NAMES[e.takerSide], price: price(inst, e.price), quantity: qty(inst, e.qty), maker_leaves_quantity: qty(inst, e.makerLeaves),
      taker_leaves_quantity: qty(inst, e.takerLeaves),
    };
  }
  if (e.kind === P.EV_KIND_LEVEL) {
    // Level 2 depth: what the level holds now (quantity 0: gone); EV_LEVEL_ORDERS is the maker-leaves field's place.
    return { type: 'level', instrument: e.instrument, side: SIDE_NAMES[e.takerSide], price: price(inst, e.price), quantity: qty(inst, e.qty), orders: Number(e.makerLeaves) };
  }
  return { type: e.kind === P.EV_KIND_EXPIRE ? 'expired' : 'cancelled', instrument: e.instrument, order_id: e.maker.toString(), price: price(inst, e.price), quantity: qty(inst, e.qty) };
}

function liveJson(o: LiveOrder, instruments: TradingInstruments): Record<string, unknown> {
  const inst = instruments.get(o.instrument);
  return {
    order_id: o.order.toString(), instrument: o.instrument, side: SIDE_NAMES[o.side], price: price(inst, o.price), quantity: qty(inst, o.qty),
    leaves_quantity: qty(inst, o.leaves), filled_quantity: qty(inst, o.filled), time_in_force: TIF_NAMES[o.tif], post_only: (o.flags & P.OF_POST_ONLY) !== 0,
    self_trade: STP_NAMES[o.stp], client_ref: o.ref.toString(), account: o.account.toString(), entered_ns: o.entered.toString(),
  };
}

/** The answer for a route from the trading service's reply (a TradingRefusal or TradingRecordError when it refused or broke the protocol). */
export function tradingAnswer(context: TradingContext, body: Buffer, instruments: TradingInstruments): unknown {
  switch (context.handler) {
    case 'orders': {
      const { results, events, expired } = ordersReply(body);
      let at = expired;
      const out = results.map((r) => {
        const own = events.slice(at, at + r.events);
        at += r.events;
        const inst = own.length > 0 ? instruments.get(own[0].instrument) : undefined;
        return {
          status: STATUS_NAMES[r.status] ?? String(r.status), reason: r.reason === 0 ? null : REASON_NAMES[r.reason] ?? String(r.reason),
          order_id: r.order === 0n ? null : r.order.toString(), client_ref: r.ref.toString(),
          quantity: qty(inst, r.qty), leaves_quantity: qty(inst, r.leaves), filled_quantity: qty(inst, r.cum),
          ledger_result: r.ledgerResult === 0 ? null : TRANSFER_RESULTS[r.ledgerResult] ?? String(r.ledgerResult),
          risk_rules: r.reason === P.RJ_RISK ? ruleNames(r.riskRules) : null,
          events: own.map((e) => tradingEventJson(e, instruments)),
        };
      });
      return { results: out, expired: events.slice(0, expired).map((e) => tradingEventJson(e, instruments)) };
    }
    case 'orders_lookup': return { orders: orderGetReply(body).map((o) => liveJson(o, instruments)) };
    case 'instruments': return { instruments: instrumentsReply(body).map(instrumentJson) };
    case 'book': {
      const inst = instruments.get(context.instrument!);
      const { bids, asks } = bookReply(body);
      const level = (l: { price: bigint; qty: bigint; orders: number }) => ({ price: price(inst, l.price), quantity: qty(inst, l.qty), orders: l.orders });
      return { instrument: context.instrument, bids: bids.map(level), asks: asks.map(level) };
    }
  }
}

function instrumentJson(i: Instrument): Record<string, unknown> {
  return {
    id: i.id, symbol: i.symbol, price_scale: i.priceScale, qty_scale: i.qtyScale, tick: decimalFromMinor(i.tick, i.priceScale),
    lot: decimalFromMinor(i.lot, i.qtyScale), quantity_max: decimalFromMinor(i.qtyMax, i.qtyScale), band_bps: i.bandBps,
    cash_ledger: i.cashLedger, asset_ledger: i.assetLedger,
  };
}

/** The edge's instruments from a manifest's trading service config (its "instruments"); empty without one. */
export function tradingInstruments(config: unknown): Map<number, TradingInstrument> {
  const out = new Map<number, TradingInstrument>();
  const list = (config as { instruments?: unknown } | undefined)?.instruments;
  if (!Array.isArray(list)) return out;
  for (const i of list as { id: number; symbol: string; price_scale?: number; qty_scale?: number }[]) {
    out.set(i.id, { id: i.id, symbol: i.symbol, priceScale: i.price_scale ?? 0, qtyScale: i.qty_scale ?? 0 });
  }
  return out;
}
