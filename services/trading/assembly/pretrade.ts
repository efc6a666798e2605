// Pre-trade checks (config "pretrade": true; protocol.ts "pre-trade
// checks"): the new orders and replaces of a request, each as the
// compliance service's pre-trade order, sent before anything is reserved;
// a refusal marks its operation (settle.ts riskSet), which is then neither
// reserved nor applied but answered RJ_RISK with the rules that refused it.
// A check that cannot be made (the compliance service refused the request or
// faulted) refuses every operation it would have checked: nothing trades
// unchecked.

import * as P from "../protocol";
import * as C from "../../compliance/protocol";
import { logText, send, serviceIndex } from "../../sdk/qenex";
import { pretradeOn } from "./config";
import { B_INSTRUMENT, B_LAST, bookFor, O_FILLED, O_LEAVES, O_SIDE, slotAt } from "./book";
import { bandTop, isDuplicate, opMalformed, ownOrder } from "./ops";
import { positionEntry, positionOf } from "./positions";
import { cashOf, RISK_UNCHECKED, riskSet } from "./settle";
import { scopeAllows } from "./scope";

let compliancePeer: i32 = -1;
const request = heap.alloc(<usize>C.HEADER_BYTES + <usize>P.OPS_PER_REQUEST * C.ORDER_BYTES);
const asked = heap.alloc(<usize>P.OPS_PER_REQUEST * 4); // the operation of each order asked about
let askedCount: u32 = 0;

export function pretradeInit(): void {
  assert(compliancePeer < 0, "pretradeInit: once");
  if (!pretradeOn) return;
  compliancePeer = serviceIndex("compliance");
  if (compliancePeer < 0) { logText("trading config: pretrade needs the compliance service in the image (and capability send:compliance)"); unreachable(); }
}

export function pretradePeer(): i32 {
  assert(!pretradeOn || compliancePeer >= 0, "the compliance service found at init");
  return compliancePeer;
}

const NOT_ASKED: u32 = 0;
const ASKED: u32 = 1;
const NO_ROOM: u32 = 2; // no room for its position: refused before it is checked

/** The pre-trade order of operation `op` (a new order or a replace the apply would take) at `o`: ASKED, NOT_ASKED or NO_ROOM. */
function orderOf(op: usize, o: usize): u32 {
  const kind = <u32>load<u8>(op + P.OP_KIND);
  if (opMalformed(op) != 0 || (kind != <u32>P.OP_NEW && kind != <u32>P.OP_REPLACE)) return NOT_ASKED;
  if (kind == <u32>P.OP_NEW && isDuplicate(op)) return NOT_ASKED; // refused at apply as a duplicate
  const b = bookFor(load<u32>(op + P.OP_INSTRUMENT));
  if (b == 0 || !scopeAllows(load<usize>(b + B_INSTRUMENT))) return NOT_ASKED;
  const inst = load<usize>(b + B_INSTRUMENT);
  const side = <u32>load<u8>(op + P.OP_SIDE);
  const last = load<u64>(b + B_LAST);
  let price = load<u64>(op + P.OP_PRICE);
  if (kind == <u32>P.OP_NEW && load<u8>(op + P.OP_TYPE) == <u8>P.TYPE_MARKET) price = side == P.SIDE_BUY ? max(bandTop(b), last) : last;
  let qty = load<u64>(op + P.OP_QTY);
  if (kind == <u32>P.OP_REPLACE) {
    const ref = ownOrder(op);
    if (ref == 0 || qty <= load<u64>(slotAt(ref) + O_FILLED)) return NOT_ASKED;
    qty -= load<u64>(slotAt(ref) + O_FILLED); // what it adds to the position is what stays open
    assert(load<u8>(slotAt(ref) + O_SIDE) == <u8>side && load<u64>(slotAt(ref) + O_LEAVES) != 0, "the order replaced");
  }
  const e = positionEntry(op + P.OP_ACCOUNT, load<u32>(inst + P.INST_ID), true);
  if (e == 0) return NO_ROOM;
  memory.fill(o, 0, C.ORDER_BYTES);
  store<u32>(o + C.ORDER_LEDGER, load<u32>(inst + P.INST_CASH_LEDGER));
  store<u8>(o + C.ORDER_SIDE, <u8>(side == P.SIDE_BUY ? C.SIDE_BUY : C.SIDE_SELL));
  store<u32>(o + C.ORDER_INSTRUMENT, load<u32>(inst + P.INST_ID));
  memory.copy(o + C.ORDER_ACCOUNT, op + P.OP_ACCOUNT, 16);
  cashOf(inst, price, qty, o + C.ORDER_VALUE);
  store<u64>(o + C.ORDER_PRICE, price == 0 ? 1 : price);
  store<u64>(o + C.ORDER_REFERENCE, last);
  const lots = <i64>(qty / load<u64>(inst + P.INST_LOT));
  const position = positionOf(e) / <i64>load<u64>(inst + P.INST_LOT);
  store<i64>(o + C.ORDER_POSITION, side == P.SIDE_BUY ? position + lots : position - lots);
  return ASKED;
}

/** Builds and sends the pre-trade request of `count` operations at `ops`; false when none asks anything (nothing sent). */
export function pretradeSend(ops: usize, count: u32): bool {
  assert(pretradeOn && count <= <u32>P.OPS_PER_REQUEST, "pre-trade checks of a request");
  askedCount = 0;
  for (let i: u32 = 0; i < count; i++) {
    const o = request + C.HEADER_BYTES + <usize>askedCount * C.ORDER_BYTES;
    const asks = orderOf(ops + <usize>i * P.OP_BYTES, o);
    if (asks == NO_ROOM) riskSet(i, C.RULE_CAPACITY);
    if (asks != ASKED) continue;
    store<u32>(asked + (<usize>askedCount << 2), i);
    askedCount++;
  }
  if (askedCount == 0) return false;
  memory.fill(request, 0, C.HEADER_BYTES);
  store<u8>(request + C.HEADER_OP, <u8>C.Op.pretrade);
  store<u32>(request + C.HEADER_COUNT, askedCount);
  if (send(<u32>compliancePeer, request, C.HEADER_BYTES + askedCount * <u32>C.ORDER_BYTES) != 0) pretradeFailed();
  return true;
}

/** The compliance service's answer (`len` bytes at `r`): each refusal marks its operation. */
export function pretradeAnswered(r: usize, len: u32): void {
  assert(askedCount > 0, "orders asked about");
  const ok = len == <u32>C.REPLY_HEADER_BYTES + askedCount * <u32>C.ORDER_RESULT_BYTES && (load<u32>(r + 4) & C.REPLY_F_REFUSED) == 0 && load<u32>(r) == askedCount;
  if (!ok) { pretradeFailed(); return; }
  for (let k: u32 = 0; k < askedCount; k++) {
    const v = r + C.REPLY_HEADER_BYTES + <usize>k * C.ORDER_RESULT_BYTES;
    if (load<u8>(v + C.ORDER_RESULT_ACTION) == <u8>C.ACTION_REFUSE) {
      const rules = load<u32>(v + C.ORDER_RESULT_RULES);
      riskSet(load<u32>(asked + (<usize>k << 2)), rules == 0 ? RISK_UNCHECKED : rules);
    }
  }
}

/** The check could not be made: every operation asked about is refused. */
export function pretradeFailed(): void {
  assert(askedCount > 0, "orders asked about");
  logText("trading: the pre-trade check could not be made; the orders it would have checked are refused");
  for (let k: u32 = 0; k < askedCount; k++) riskSet(load<u32>(asked + (<usize>k << 2)), RISK_UNCHECKED);
}
