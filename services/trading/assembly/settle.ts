// Settlement on the ledger (config "settlement": true; protocol.ts
// "settlement on the ledger"): what an order reserves before it rests or
// trades, each trade's two legs as one linked chain, and what comes back.
//
// The work of one orders request is a list of transfers (WORK_BYTES each):
// first the reservations of its operations (reserveFor), sent and answered
// before any operation is applied; then, while the operations are applied,
// each trade's chain (settleTrade) and each release (releaseFor); those are
// sent once all are applied, in batches of at most BATCH_EVENTS_MAX that
// never split a chain (flow.ts drives it). Amounts are exact u128s: a buy's
// cash is price × quantity / 10^qty_scale, exact by the config's check.
//
// Per operation of the request, its reservation (OPR_BYTES): +0 u8 state
// (RS_*) +1 u8 side +2 u16 the ledger's result when refused +8 u128 the
// amount reserved +24 u64 the price a buy reserved at (its limit, a market
// buy's band top, a replace's new price) +32 u128 the trader's cash account
// +48 u128 its asset account (where a release goes back to).

import * as P from "../protocol";
import * as L from "../../ledger/protocol";
import { logText, serviceIndex } from "../../sdk/qenex";
import { u128Add, u128Cmp, u128DivU64, u128IsZero, u128MulU64, u128SetU64, u128Sub } from "../../sdk/money";
import { pow10, settlementOn } from "./config";
import { B_INSTRUMENT, O_ACCOUNT, O_ASSET_ACCOUNT, O_ID, O_INSTRUMENT, O_RESERVE_PRICE, O_SIDE, bookFor } from "./book";

export const RS_NONE: u8 = 0; // nothing to reserve (a cancel, a mass cancel, a rejection found before)
export const RS_OK: u8 = 1;
export const RS_FAILED: u8 = 2;
export const OPR_BYTES: u32 = 64;
export const OPR_STATE: u32 = 0;
const OPR_SIDE: u32 = 1;
const OPR_CASH: u32 = 32;
const OPR_ASSET: u32 = 48;
export const OPR_RESULT: u32 = 2;
export const OPR_AMOUNT: u32 = 8;
export const OPR_PRICE: u32 = 24;

// A transfer to make: +0 u8 kind (XFER_*) +1 u8 linked to the next +2 u16 code +4 u32 the operation (reserve, probe)
// +8 u64 order id +16 u64 trade id +24 u32 ledger +28 u32 instrument +32 u128 amount +48 u128 debit +64 u128 credit
// +80 u32 the ledger's result (once answered) +84 u8[12] 0
export const WORK_BYTES: u32 = 96;
export const W_KIND: u32 = 0;
export const W_LINKED: u32 = 1;
export const W_OP: u32 = 4;
const W_CODE: u32 = 2;
const W_ORDER: u32 = 8;
const W_TRADE: u32 = 16;
const W_LEDGER: u32 = 24;
const W_INSTRUMENT: u32 = 28;
const W_AMOUNT: u32 = 32;
const W_DEBIT: u32 = 48;
const W_CREDIT: u32 = 64;
export const W_RESULT: u32 = 80;
// Reservations (two a operation), and a trade's chain (three) or a release (one) for every event a reply holds, and
// one release an operation.
export const WORK_MAX: u32 = 2 * <u32>P.OPS_PER_REQUEST + 3 * <u32>P.EVENTS_PER_REPLY + <u32>P.OPS_PER_REQUEST;

// Per operation of the request: the rules the pre-trade check refused it by (RISK_UNCHECKED: the check failed), 0: passed or not asked.
export const RISK_UNCHECKED: u32 = 0x80000000;
const risks = memory.data(<i32>(P.OPS_PER_REQUEST * 4), 4);

export function riskSet(i: u32, rules: u32): void {
  assert(i < <u32>P.OPS_PER_REQUEST, "an operation of the request");
  store<u32>(risks + (<usize>i << 2), rules);
}

export function riskOf(i: u32): u32 {
  assert(i < <u32>P.OPS_PER_REQUEST, "an operation of the request");
  return load<u32>(risks + (<usize>i << 2));
}

export function risksClear(count: u32): void {
  assert(count <= <u32>P.OPS_PER_REQUEST, "the request's operations");
  memory.fill(risks, 0, <usize>count * 4);
}

export let work: usize = 0;
export let workCount: u32 = 0;
export let opReserves: usize = 0;
let ledgerPeer: i32 = -1;
let transfers: u64 = 0; // transfers made so far: the low half of the next id
const scratch = memory.data(64, 16);

export function settleInit(): void {
  assert(work == 0, "settleInit: once");
  if (!settlementOn) return;
  ledgerPeer = serviceIndex("ledger");
  if (ledgerPeer < 0) { logText("trading config: settlement needs the ledger in the image (and capability send:ledger)"); unreachable(); }
  work = heap.alloc(<usize>WORK_MAX * WORK_BYTES);
  opReserves = heap.alloc(<usize>P.OPS_PER_REQUEST * OPR_BYTES);
}

export function settleLedger(): i32 {
  assert(!settlementOn || ledgerPeer >= 0, "the ledger found at init");
  return ledgerPeer;
}

export function workReset(): void {
  assert(work != 0, "settlement on");
  workCount = 0;
}

export function workAt(i: u32): usize {
  assert(i < workCount, "a transfer of the list");
  return work + <usize>i * WORK_BYTES;
}

/** A new transfer of `kind` for order `o` of instrument `inst` on `ledger`, its amount at `amount`, debit and credit at the pointers. */
function workAdd(kind: u32, inst: usize, ledger: u32, o: usize, amount: usize, debit: usize, credit: usize, linked: bool): usize {
  assert(inst != 0 && ledger != 0, "an instrument and a ledger");
  assert(workCount < WORK_MAX, "the work list holds a request's transfers");
  const w = work + <usize>workCount * WORK_BYTES;
  workCount++;
  memory.fill(w, 0, WORK_BYTES);
  store<u8>(w + W_KIND, <u8>kind);
  store<u8>(w + W_LINKED, linked ? 1 : 0);
  store<u16>(w + W_CODE, load<u16>(inst + P.INST_CODE));
  store<u64>(w + W_ORDER, o == 0 ? 0 : load<u64>(o + O_ID));
  store<u32>(w + W_LEDGER, ledger);
  store<u32>(w + W_INSTRUMENT, load<u32>(inst + P.INST_ID));
  memory.copy(w + W_AMOUNT, amount, 16);
  memory.copy(w + W_DEBIT, debit, 16);
  memory.copy(w + W_CREDIT, credit, 16);
  return w;
}

/** price × quantity / 10^qty_scale of instrument `inst` into the u128 at `dst` (exact: the config checked it). */
export function cashOf(inst: usize, price: u64, qty: u64, dst: usize): void {
  u128SetU64(dst, price);
  u128MulU64(dst, dst, qty);
  const rem = u128DivU64(dst, dst, pow10(load<u8>(inst + P.INST_QTY_SCALE)));
  assert(rem == 0, "a trade's cash is exact");
}

/** What an order on `side` at reservation price `price` holds for `qty` open: cash (buy) or the quantity (sell), into `dst`. */
export function reserveOf(inst: usize, side: u32, price: u64, qty: u64, dst: usize): void {
  assert(side == P.SIDE_BUY || side == P.SIDE_SELL, "a side");
  if (side == P.SIDE_BUY) cashOf(inst, price, qty, dst);
  else u128SetU64(dst, qty);
}

/** The reservation of operation `i` (an order of `side` by the accounts at `cash`, `asset`): `amount` to the escrow, and a probe of the other account. */
export function reserveFor(i: u32, inst: usize, side: u32, cash: usize, asset: usize, amount: usize, price: u64): void {
  assert(i < <u32>P.OPS_PER_REQUEST && (side == P.SIDE_BUY || side == P.SIDE_SELL), "an operation and its side");
  const r = opReserves + <usize>i * OPR_BYTES;
  memory.fill(r, 0, OPR_BYTES);
  store<u64>(r + OPR_PRICE, price);
  memory.copy(r + OPR_AMOUNT, amount, 16);
  store<u8>(r + OPR_STATE, RS_OK);
  store<u8>(r + OPR_SIDE, <u8>side);
  memory.copy(r + OPR_CASH, cash, 16);
  memory.copy(r + OPR_ASSET, asset, 16);
  if (u128IsZero(amount)) return; // a replace to less: nothing to ask
  const buy = side == P.SIDE_BUY;
  const payLedger = load<u32>(inst + (buy ? P.INST_CASH_LEDGER : P.INST_ASSET_LEDGER));
  const w = workAdd(P.XFER_RESERVE, inst, payLedger, 0, amount, buy ? cash : asset, inst + (buy ? P.INST_CASH_ESCROW : P.INST_ASSET_ESCROW), true);
  store<u32>(w + W_OP, i);
  // The probe: 0 from the other escrow to the account the trade will pay (it exists, on its ledger).
  u128SetU64(scratch, 0);
  const probe = workAdd(P.XFER_PROBE, inst, load<u32>(inst + (buy ? P.INST_ASSET_LEDGER : P.INST_CASH_LEDGER)), 0, scratch,
    inst + (buy ? P.INST_ASSET_ESCROW : P.INST_CASH_ESCROW), buy ? asset : cash, false);
  store<u32>(probe + W_OP, i);
}

/** No reservation for operation `i`. */
export function reserveNone(i: u32): void {
  assert(i < <u32>P.OPS_PER_REQUEST, "an operation of the request");
  memory.fill(opReserves + <usize>i * OPR_BYTES, 0, OPR_BYTES);
}

export function opReserve(i: u32): usize {
  assert(i < <u32>P.OPS_PER_REQUEST, "an operation of the request");
  return opReserves + <usize>i * OPR_BYTES;
}

/** The ledger answered reservation work `w`: a refusal marks its operation failed, with the most telling result. */
export function reserveAnswered(w: usize, result: u32): void {
  assert(w != 0, "reservation work");
  if (result == <u32>L.TransferResult.created) return;
  const r = opReserve(load<u32>(w + W_OP));
  const first = load<u8>(r + OPR_STATE) != RS_FAILED;
  store<u8>(r + OPR_STATE, RS_FAILED);
  // A chain fails with linked_event_failed on the event that did not fail itself: keep the other's reason.
  if (first || result != <u32>L.TransferResult.linked_event_failed) store<u16>(r + OPR_RESULT, <u16>result);
}

/** A trade of `qty` at `price` between taker `t` and maker `m`: both legs, and a taker buyer's price improvement, as one chain. */
export function settleTrade(t: usize, m: usize, price: u64, qty: u64, trade: u64): void {
  assert(qty != 0 && trade != 0, "a trade of something");
  if (!settlementOn) return;
  const b = bookFor(load<u32>(t + O_INSTRUMENT));
  const inst = load<usize>(b + B_INSTRUMENT);
  const takerBuys = load<u8>(t + O_SIDE) == <u8>P.SIDE_BUY;
  const buyer = takerBuys ? t : m;
  const seller = takerBuys ? m : t;
  const improvement = takerBuys && load<u64>(t + O_RESERVE_PRICE) > price;
  cashOf(inst, price, qty, scratch);
  const cash = workAdd(P.XFER_CASH, inst, load<u32>(inst + P.INST_CASH_LEDGER), seller, scratch, inst + P.INST_CASH_ESCROW, seller + O_ACCOUNT, true);
  store<u64>(cash + W_TRADE, trade);
  u128SetU64(scratch, qty);
  const asset = workAdd(P.XFER_ASSET, inst, load<u32>(inst + P.INST_ASSET_LEDGER), buyer, scratch, inst + P.INST_ASSET_ESCROW, buyer + O_ASSET_ACCOUNT, improvement);
  store<u64>(asset + W_TRADE, trade);
  if (!improvement) return;
  cashOf(inst, load<u64>(t + O_RESERVE_PRICE) - price, qty, scratch);
  const back = workAdd(P.XFER_IMPROVE, inst, load<u32>(inst + P.INST_CASH_LEDGER), t, scratch, inst + P.INST_CASH_ESCROW, t + O_ACCOUNT, false);
  store<u64>(back + W_TRADE, trade);
}

/** Gives back `amount` (at a pointer) of what an order on `side` reserved: cash to its trader's `cash` account, or the asset to `asset`. */
export function releaseTo(inst: usize, side: u32, cash: usize, asset: usize, order: usize, amount: usize): void {
  assert(settlementOn, "settlement on");
  if (u128IsZero(amount)) return;
  const buy = side == P.SIDE_BUY;
  workAdd(P.XFER_RELEASE, inst, load<u32>(inst + (buy ? P.INST_CASH_LEDGER : P.INST_ASSET_LEDGER)), order, amount,
    inst + (buy ? P.INST_CASH_ESCROW : P.INST_ASSET_ESCROW), buy ? cash : asset, false);
}

/** Gives back to order `o`'s trader `amount` (at a pointer) of what it reserved. */
export function releaseAmount(o: usize, inst: usize, amount: usize): void {
  assert(o != 0, "an order");
  releaseTo(inst, <u32>load<u8>(o + O_SIDE), o + O_ACCOUNT, o + O_ASSET_ACCOUNT, o, amount);
}

/** Gives back what operation `i` (a new order or a replace, refused) reserved and did not use, to the accounts it reserved from. */
export function releaseOp(i: u32, inst: usize): void {
  assert(inst != 0, "an instrument");
  const r = opReserve(i);
  if (!settlementOn || load<u8>(r + OPR_STATE) != RS_OK) return;
  releaseTo(inst, <u32>load<u8>(r + OPR_SIDE), r + OPR_CASH, r + OPR_ASSET, 0, r + OPR_AMOUNT);
  u128SetU64(r + OPR_AMOUNT, 0);
}

/** Gives back what order `o` reserved for `leaves` it will no longer trade (cancelled, expired, the rest of an IOC). */
export function releaseLeaves(o: usize, leaves: u64): void {
  assert(o != 0, "an order");
  if (!settlementOn || leaves == 0) return;
  const inst = load<usize>(bookFor(load<u32>(o + O_INSTRUMENT)) + B_INSTRUMENT);
  reserveOf(inst, <u32>load<u8>(o + O_SIDE), load<u64>(o + O_RESERVE_PRICE), leaves, scratch + 16);
  releaseAmount(o, inst, scratch + 16);
}

/**
 * A replace of order `o` to `leaves` open at reservation price `price`
 * (settlement on): it may use what operation `i` reserved; false when that
 * is not enough (the replace is refused, its reservation released by the
 * caller). Else the rest is released and the order's price set.
 */
export function replaceFunds(i: u32, o: usize, inst: usize, price: u64, oldLeaves: u64, leaves: u64): bool {
  assert(settlementOn && o != 0, "settlement of an order");
  const r = opReserve(i);
  const side = <u32>load<u8>(o + O_SIDE);
  reserveOf(inst, side, price, leaves, scratch); // what it will hold
  reserveOf(inst, side, load<u64>(o + O_RESERVE_PRICE), oldLeaves, scratch + 16); // what it holds
  u128Add(scratch + 32, scratch + 16, r + OPR_AMOUNT); // and what this operation added
  if (u128Cmp(scratch, scratch + 32) > 0) return false;
  u128Sub(scratch + 48, scratch + 32, scratch);
  store<u64>(o + O_RESERVE_PRICE, price);
  releaseAmount(o, inst, scratch + 48);
  u128SetU64(r + OPR_AMOUNT, 0); // used or released: nothing for the caller to give back
  return true;
}

/** The ledger transfer of work `w` into `e` (a 128-byte event): its id, accounts, amount, ledger, code, flags. */
export function transferOf(w: usize, e: usize): void {
  memory.fill(e, 0, L.RECORD_BYTES);
  transfers++;
  store<u64>(e + L.TRANSFER_ID, transfers);
  store<u64>(e + L.TRANSFER_ID + 8, <u64>P.TRADING_TRANSFER_ID_HI | (<u64>load<u8>(w + W_KIND) << 8));
  memory.copy(e + L.TRANSFER_DEBIT_ACCOUNT_ID, w + W_DEBIT, 16);
  memory.copy(e + L.TRANSFER_CREDIT_ACCOUNT_ID, w + W_CREDIT, 16);
  memory.copy(e + L.TRANSFER_AMOUNT, w + W_AMOUNT, 16);
  store<u64>(e + L.TRANSFER_USER_DATA_128, load<u64>(w + W_TRADE));
  store<u64>(e + L.TRANSFER_USER_DATA_64, load<u64>(w + W_ORDER));
  store<u32>(e + L.TRANSFER_USER_DATA_32, load<u32>(w + W_INSTRUMENT));
  store<u32>(e + L.TRANSFER_LEDGER, load<u32>(w + W_LEDGER));
  store<u16>(e + L.TRANSFER_CODE, load<u16>(w + W_CODE));
  store<u16>(e + L.TRANSFER_FLAGS, load<u8>(w + W_LINKED) != 0 ? <u16>L.TransferFlags.linked : 0);
  assert(load<u32>(e + L.TRANSFER_LEDGER) != 0, "a transfer on a ledger");
}
