// pretrade (protocol.ts "pre-trade"): an order checked against the rule set
// of its cash ledger before the trading engine takes it. Stateless: the
// engine gives the order's value and the position after it; this answers
// whether the rules allow it, so the engine keeps its books and the rules
// stay in one place with the payments'.

import * as P from "../protocol";
import { u128Cmp, u128IsZero } from "../../sdk/money";
import { zeros } from "./record";
import { refusedRecords, replyRecords, replySend } from "./reply";
import { rulesFor } from "./rules";
import * as A from "./activity";

/** The reason the order at `o` is malformed, or null. */
function orderError(o: usize): string | null {
  assert(o != 0, "an order");
  const side = <u32>load<u8>(o + P.ORDER_SIDE);
  if (load<u32>(o + P.ORDER_LEDGER) == 0) return "compliance: an order's ledger is 0";
  if (side != <u32>P.SIDE_BUY && side != <u32>P.SIDE_SELL) return "compliance: an order's side is not buy or sell";
  if (load<u64>(o + P.ORDER_PRICE) == 0) return "compliance: an order's price is 0";
  if (!zeros(o + 5, 3) || load<u32>(o + 12) != 0 || !zeros(o + 72, 8)) return "compliance: an order's reserved bytes are not zero";
  return null;
}

/** Whether `price` is more than `bps` basis points from `reference` (u64 ticks; the products in u128 halves). */
function outsideBand(price: u64, reference: u64, bps: u32): bool {
  assert(bps <= 1000000, "a checked band");
  const diff = price > reference ? price - reference : reference - price;
  // diff × 10000 > reference × bps, without overflow: compare the 128-bit products.
  const lhsHi = mulhi(diff, 10000);
  const rhsHi = mulhi(reference, <u64>bps);
  if (lhsHi != rhsHi) return lhsHi > rhsHi;
  return diff * 10000 > reference * <u64>bps;
}

/** The high 64 bits of a × b. */
function mulhi(a: u64, b: u64): u64 {
  assert(b <= 0xffffffff, "a factor of 32 bits");
  const lo = (a & 0xffffffff) * b;
  const hi = (a >> 32) * b + (lo >> 32);
  return hi >> 32;
}

/** The rules of `rs` (and the account's listing) that order `o` breaks. */
function rulesBroken(o: usize, rs: usize): u32 {
  assert(o != 0, "an order");
  let broken: u32 = 0;
  const e = A.activityOf(A.KIND_ACCOUNT, load<u32>(o + P.ORDER_LEDGER), o + P.ORDER_ACCOUNT, false, 0);
  if (e != 0 && load<u32>(e + A.A_LISTED) != 0) broken |= P.RULE_SANCTIONS;
  if (rs == 0) return broken;
  if (!u128IsZero(rs + P.RULES_ORDER_VALUE_MAX) && u128Cmp(o + P.ORDER_VALUE, rs + P.RULES_ORDER_VALUE_MAX) > 0) broken |= P.RULE_ORDER_VALUE;
  const limit = load<u64>(rs + P.RULES_POSITION_MAX);
  const position = load<i64>(o + P.ORDER_POSITION);
  const size: u64 = position < 0 ? <u64>(-(position + 1)) + 1 : <u64>position;
  if (limit != 0 && size > limit) broken |= P.RULE_POSITION;
  const band = load<u32>(rs + P.RULES_PRICE_BAND);
  const reference = load<u64>(o + P.ORDER_REFERENCE);
  if (band != 0 && reference != 0 && outsideBand(load<u64>(o + P.ORDER_PRICE), reference, band)) broken |= P.RULE_PRICE_BAND;
  return broken;
}

/** pretrade: `count` orders at `recs`, each answered allow or refuse with the rules it breaks. */
export function pretrade(token: u32, count: u32, recs: usize): void {
  assert(count >= 1 && count <= <u32>P.ORDERS_PER_REQUEST, "a framed count");
  if (refusedRecords(token, recs, count, P.ORDER_BYTES, orderError)) return;
  for (let i: u32 = 0; i < count; i++) {
    const o = recs + <usize>i * P.ORDER_BYTES;
    const r = replyRecords() + <usize>i * P.ORDER_RESULT_BYTES;
    const broken = rulesBroken(o, rulesFor(load<u32>(o + P.ORDER_LEDGER)));
    memory.fill(r, 0, P.ORDER_RESULT_BYTES);
    store<u8>(r + P.ORDER_RESULT_ACTION, <u8>(broken == 0 ? P.ACTION_ALLOW : P.ACTION_REFUSE));
    store<u32>(r + P.ORDER_RESULT_RULES, broken);
  }
  replySend(token, count, 0, count * <u32>P.ORDER_RESULT_BYTES);
}
