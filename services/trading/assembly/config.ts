// The trading service's config (the manifest's "config" object), e.g.
//   {"orders_max":1000000,"levels_max":4096,
//    "instruments":[{"id":1,"symbol":"ACME","price_scale":2,"qty_scale":0,"tick":1,"lot":1,
//                    "qty_max":1000000,"band_bps":1000,"cash_ledger":1,"asset_ledger":4}]}
// "orders_max": the live (resting) orders of every book together;
// "levels_max": the price levels one side of one book holds; "instruments":
// the instruments traded (the protocol's INSTRUMENT_BYTES fields; "symbol"
// printable ASCII of 1..SYMBOL_MAX, "band_bps" 0 for none; with settlement,
// "code" and the escrow accounts "cash_escrow", "asset_escrow", decimal
// strings); "settlement": true reserves on the ledger and settles trades
// there (settle.ts; capability send:ledger); "pretrade": true (with
// settlement) checks each order with the compliance service first
// (pretrade.ts; capability send:compliance), "positions_max" the positions
// it keeps for that (positions.ts); "events": true emits every request's
// events to the event stream (events.ts; capability "emit"); "fix_reports":
// true sends the events of every orders request that did not come from the
// fix service to it (fixnotice.ts; capability "send:fix"), so a FIX session
// hears of its resting orders filled, cancelled or expired by others. Missing keys keep
// their defaults; an unknown or repeated key, a value out of range or any
// other syntax is a boot error: the reason goes to the log and the service
// traps. The reader is lib/json.ts, as every service's.

import * as P from "../protocol";
import { JSON_STRING, JsonReader } from "../../../lib/json";
import { configFail as fail, configInteger as bounded, configRead } from "../../sdk/config";
import { u128Add, u128DivU64, u128IsZero, u128MulU64, u128SetU64 } from "../../sdk/money";

export const INSTRUMENTS_MAX: u32 = 256;
export const INSTRUMENT_ID_MAX: u32 = 65535; // ids index a table of this many u16s (instruments.ts)
const ORDERS_LIMIT: u32 = 4194304;
const LEVELS_LIMIT: u32 = 1048576;

export let ordersMax: u32 = 65536;
export let levelsMax: u32 = 4096;
export let instrumentCount: u32 = 0;
/** Orders reserve on the ledger and trades settle there (settle.ts). */
export let settlementOn: bool = false;
/** Orders are checked by the compliance service before anything is reserved (pretrade.ts; needs settlement). */
export let pretradeOn: bool = false;
export let positionsMax: u32 = 65536;
/** Every orders request's events on the event stream (events.ts; capability "emit"). */
export let emitEvents: bool = false;
/** The events of orders that did not come through FIX go to the fix service too (fixnotice.ts; capability "send:fix"). */
export let fixReports: bool = false;
/** The configured instruments, INSTRUMENT_BYTES each, in the config's order. */
export const instruments: usize = memory.data(<i32>(INSTRUMENTS_MAX * P.INSTRUMENT_BYTES), 16);

/** One instrument's field `k` into record `s`; false when `k` is not one. */
function instrumentField(r: JsonReader, s: usize, k: string): bool {
  assert(s != 0, "a record");
  if (k == "id") store<u32>(s + P.INST_ID, <u32>bounded(r, k, 1, INSTRUMENT_ID_MAX));
  else if (k == "price_scale") store<u8>(s + P.INST_PRICE_SCALE, <u8>bounded(r, k, 0, P.SCALE_MAX));
  else if (k == "qty_scale") store<u8>(s + P.INST_QTY_SCALE, <u8>bounded(r, k, 0, P.SCALE_MAX));
  else if (k == "tick") store<u64>(s + P.INST_TICK, bounded(r, k, 1, u64.MAX_VALUE));
  else if (k == "lot") store<u64>(s + P.INST_LOT, bounded(r, k, 1, u64.MAX_VALUE));
  else if (k == "qty_max") store<u64>(s + P.INST_QTY_MAX, bounded(r, k, 1, u64.MAX_VALUE));
  else if (k == "band_bps") store<u32>(s + P.INST_BAND, <u32>bounded(r, k, 0, 1000000));
  else if (k == "cash_ledger") store<u32>(s + P.INST_CASH_LEDGER, <u32>bounded(r, k, 1, u32.MAX_VALUE));
  else if (k == "asset_ledger") store<u32>(s + P.INST_ASSET_LEDGER, <u32>bounded(r, k, 1, u32.MAX_VALUE));
  else if (k == "symbol") symbolField(r, s);
  else if (k == "code") store<u16>(s + P.INST_CODE, <u16>bounded(r, k, 1, 65535));
  else if (k == "cash_escrow") accountField(r, s + P.INST_CASH_ESCROW);
  else if (k == "asset_escrow") accountField(r, s + P.INST_ASSET_ESCROW);
  else return false;
  return true;
}

// 10^0 .. 10^SCALE_MAX (18): a scale's divisor, read from this table rather than multiplied out on every trade.
const POW10 = memory.data<u64>([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000, 100000000000,
  1000000000000, 10000000000000, 100000000000000, 1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000]);

/** 10^scale, for a scale of 0..SCALE_MAX (the config's bound). */
export function pow10(scale: u8): u64 {
  assert(<u32>scale <= <u32>P.SCALE_MAX, "a scale the config allows");
  return load<u64>(POW10 + (<usize>scale << 3));
}

/** A ledger account id: a decimal string of a u128 (or a JSON integer), not 0. */
function accountField(r: JsonReader, at: usize): void {
  assert(at != 0, "a field");
  if (r.peekKind() != JSON_STRING) { u128SetU64(at, bounded(r, "an account", 1, u64.MAX_VALUE)); return; }
  const v = r.readString();
  if (r.error != null) return;
  if (v.length < 1 || v.length > 39) fail("an account id is a decimal string of 1..39 digits");
  const digit = memory.data(16, 8);
  u128SetU64(at, 0);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) fail("an account id is a decimal string of digits");
    u128SetU64(digit, <u64>(c - 0x30));
    if (!u128MulU64(at, at, 10) || !u128Add(at, at, digit)) fail("an account id over 2^128 - 1");
  }
  if (u128IsZero(at)) fail("an account id is not 0");
}

/** Why instrument `s` cannot settle (settlement on), or null: its code and escrows, and a trade's cash exact. */
function settlementError(s: usize): string | null {
  assert(s != 0, "a record");
  if (load<u16>(s + P.INST_CODE) == 0) return "instruments: settlement needs each instrument's code";
  if (u128IsZero(s + P.INST_CASH_ESCROW) || u128IsZero(s + P.INST_ASSET_ESCROW)) return "instruments: settlement needs each instrument's cash_escrow and asset_escrow";
  // tick × lot a multiple of 10^qty_scale: price × quantity / 10^qty_scale is then exact for every order.
  const scratch = memory.data(16, 8);
  u128SetU64(scratch, load<u64>(s + P.INST_TICK));
  u128MulU64(scratch, scratch, load<u64>(s + P.INST_LOT));
  if (u128DivU64(scratch, scratch, pow10(load<u8>(s + P.INST_QTY_SCALE))) != 0) return "instruments: tick * lot must be a multiple of 10^qty_scale (a trade's cash exact)";
  return null;
}

function symbolField(r: JsonReader, s: usize): void {
  assert(s != 0, "a record");
  const v = r.readString();
  if (r.error != null) return;
  if (v.length < 1 || v.length > P.SYMBOL_MAX) fail("a symbol of 1.." + P.SYMBOL_MAX.toString() + " characters");
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c <= 0x20 || c > 0x7e) fail("a symbol is printable ASCII without spaces");
    store<u8>(s + P.INST_SYMBOL + <usize>i, <u8>c);
  }
  store<u8>(s + P.INST_SYMBOL_LENGTH, <u8>v.length);
}

/** One instrument object into record `s`; the reason it is refused, or null. */
function instrumentFromJson(r: JsonReader, s: usize): string | null {
  assert(s >= instruments && s < instruments + <usize>INSTRUMENTS_MAX * P.INSTRUMENT_BYTES, "a record of the table");
  memory.fill(s, 0, P.INSTRUMENT_BYTES);
  if (!r.beginObject()) return null;
  for (let key = r.nextKey(); key != null; key = r.nextKey()) {
    const k = key;
    if (!instrumentField(r, s, k)) return "instruments: unknown key " + k;
    if (r.error != null) return null;
  }
  if (load<u32>(s + P.INST_ID) == 0 || load<u8>(s + P.INST_SYMBOL_LENGTH) == 0) return "instruments: an instrument needs its id and symbol";
  if (load<u64>(s + P.INST_TICK) == 0 || load<u64>(s + P.INST_LOT) == 0 || load<u64>(s + P.INST_QTY_MAX) == 0) {
    return "instruments: an instrument needs its tick, lot and qty_max";
  }
  if (load<u32>(s + P.INST_CASH_LEDGER) == 0 || load<u32>(s + P.INST_ASSET_LEDGER) == 0) return "instruments: an instrument needs its cash_ledger and asset_ledger";
  if (load<u32>(s + P.INST_CASH_LEDGER) == load<u32>(s + P.INST_ASSET_LEDGER)) return "instruments: the cash and asset ledgers are two";
  return null;
}

function instrumentsFromJson(r: JsonReader): void {
  assert(instrumentCount == 0, "instruments read once");
  if (!r.beginArray()) return;
  while (r.nextItem()) {
    if (instrumentCount == INSTRUMENTS_MAX) fail("more than " + INSTRUMENTS_MAX.toString() + " instruments");
    const s = instruments + <usize>instrumentCount * P.INSTRUMENT_BYTES;
    const why = instrumentFromJson(r, s);
    if (why !== null) fail(why);
    if (r.error != null) return;
    for (let i: u32 = 0; i < instrumentCount; i++) {
      if (load<u32>(instruments + <usize>i * P.INSTRUMENT_BYTES + P.INST_ID) == load<u32>(s + P.INST_ID)) fail("instruments: an id given twice");
    }
    instrumentCount++;
  }
}

/** One config key into the settings; its bit, or 0 for no key of this service. */
function field(r: JsonReader, k: string): u32 {
  if (k == "orders_max") { ordersMax = <u32>bounded(r, k, 1, ORDERS_LIMIT); return 1; }
  if (k == "levels_max") { levelsMax = <u32>bounded(r, k, 1, LEVELS_LIMIT); return 2; }
  if (k == "instruments") { instrumentsFromJson(r); return 4; }
  if (k == "settlement") { settlementOn = r.readBool(); return 8; }
  if (k == "pretrade") { pretradeOn = r.readBool(); return 16; }
  if (k == "positions_max") { positionsMax = <u32>bounded(r, k, 1, ORDERS_LIMIT); return 32; }
  if (k == "events") { emitEvents = r.readBool(); return 64; }
  if (k == "fix_reports") { fixReports = r.readBool(); return 128; }
  return 0;
}

/** Parses `len` bytes of config JSON at `ptr` (len 0 keeps the defaults: no instrument). */
export function configParse(ptr: usize, len: u32): void {
  configRead("trading", ptr, len, field);
  if (pretradeOn && !settlementOn) fail("pretrade needs settlement (the checks are made on the way to the ledger)");
  for (let i: u32 = 0; i < instrumentCount && settlementOn; i++) {
    const why = settlementError(instruments + <usize>i * P.INSTRUMENT_BYTES);
    if (why !== null) fail(why);
  }
  assert(ordersMax >= 1 && ordersMax <= ORDERS_LIMIT && levelsMax >= 1 && instrumentCount <= INSTRUMENTS_MAX, "a config in range");
}
