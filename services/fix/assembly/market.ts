// Market data and the security list:
//   MarketDataRequest (V): SubscriptionRequestType 0 a snapshot, 1 a snapshot
//   and then an incremental refresh (X) for every trade of the instrument
//   that an order through FIX makes, 2 the subscription (its MDReqID) ended.
//   The snapshot (W) is the book's best DEPTH_OUT_MAX levels a side, asked
//   of the trading service. An instrument no book has: BusinessMessageReject
//   (380 = 2, unknown security).
//   SecurityListRequest (x): answered at once with a SecurityList (y); the
//   front end lists the image's instruments in it.

import * as P from "../protocol";
import * as T from "../../trading/protocol";
import { send } from "../../sdk/qenex";
import { subscriptionsMax } from "./config";
import { outBegin, outBytes, outSend, outText } from "./out";

const MT_V: u8 = 0x56;
const MT_W: u8 = 0x57;
const MT_X: u8 = 0x58;
const MT_Y: u8 = 0x79;
const MT_BUSINESS_REJECT: u8 = 0x6a;
const SUB_BYTES: u32 = 64;
const SB_SLOT: u32 = 0; // u16; 0: free
const SB_ID_LENGTH: u32 = 2;
const SB_INSTRUMENT: u32 = 4;
const SB_ID: u32 = 8;
let subs: usize = 0;
const bookQuery = memory.data(<i32>(T.HEADER_BYTES + T.BOOK_QUERY_BYTES), 16);
// The snapshot asked for (answered when the book comes: marketBookReplied): +0 u32 session, +4 u32 instrument,
// +8 u8 MDReqID length, +16 the MDReqID.
const asked = memory.data(<i32>(16 + P.ID_MAX), 8);
let subsActive: u32 = 0;

export function marketInit(): void {
  assert(subs == 0, "marketInit: once");
  subs = heap.alloc(<usize>subscriptionsMax * SUB_BYTES);
  memory.fill(subs, 0, <usize>subscriptionsMax * SUB_BYTES);
}

function subAt(i: u32): usize {
  assert(i < subscriptionsMax, "a subscription");
  return subs + <usize>i * SUB_BYTES;
}

function unknownSecurity(slot: u32, rec: usize, now: u64): void {
  const o = outBegin(slot, MT_BUSINESS_REJECT);
  assert(o != 0, "an item");
  store<u32>(o + P.OUT_A, load<u32>(rec + P.IN_SEQ));
  store<u8>(o + P.OUT_C, 2); // unknown security
  store<u8>(o + P.OUT_ID, load<u8>(rec + P.IN_MSG_TYPE));
  store<u8>(o + P.OUT_ID_LENGTH, 1);
  outText("unknown instrument");
  outSend(now);
}

/** The subscription of (slot, MDReqID), or -1. */
function subFind(slot: u32, rec: usize): i32 {
  const n = <u32>load<u8>(rec + P.IN_ID_LENGTH);
  assert(slot >= 1, "a session");
  for (let i: u32 = 0; i < subscriptionsMax; i++) {
    const s = subAt(i);
    if (<u32>load<u16>(s + SB_SLOT) != slot || <u32>load<u8>(s + SB_ID_LENGTH) != n) continue;
    if (memory.compare(s + SB_ID, rec + P.IN_ID, n) == 0) return <i32>i;
  }
  return -1;
}

/**
 * A MarketDataRequest (V) or SecurityListRequest (x) in sequence. True when a
 * snapshot was asked of the trading service (the caller waits for
 * marketBookReplied); false when answered now.
 */
export function marketIn(slot: u32, rec: usize, tradingPeer: i32, now: u64): bool {
  const msg = load<u8>(rec + P.IN_MSG_TYPE);
  assert(slot >= 1, "a session");
  if (msg != MT_V) {
    const o = outBegin(slot, MT_Y);
    store<u32>(o + P.OUT_A, 1);
    outBytes(P.OUT_ID, P.OUT_ID_LENGTH, rec + P.IN_ID, <u32>load<u8>(rec + P.IN_ID_LENGTH), P.ID_MAX);
    outSend(now);
    return false;
  }
  const body = rec + P.IN_BODY;
  const instrument = load<u32>(body + P.MD_INSTRUMENT);
  const type = load<u8>(body + P.MD_SUBSCRIPTION);
  const found = subFind(slot, rec);
  if (type == 2) { if (found >= 0) { store<u16>(subAt(<u32>found) + SB_SLOT, 0); subsActive--; } return false; }
  if (instrument == 0 || tradingPeer < 0) { unknownSecurity(slot, rec, now); return false; }
  if (type == 1 && found < 0) subscribe(slot, rec, instrument);
  memory.fill(bookQuery, 0, T.HEADER_BYTES + T.BOOK_QUERY_BYTES);
  store<u8>(bookQuery + T.HEADER_OP, <u8>T.Op.book);
  store<u32>(bookQuery + T.HEADER_COUNT, 1);
  store<u32>(bookQuery + T.HEADER_BYTES + T.BQ_INSTRUMENT, instrument);
  store<u32>(bookQuery + T.HEADER_BYTES + T.BQ_DEPTH, <u32>P.DEPTH_OUT_MAX);
  store<u32>(asked, slot);
  store<u32>(asked + 4, instrument);
  store<u8>(asked + 8, load<u8>(rec + P.IN_ID_LENGTH));
  memory.copy(asked + 16, rec + P.IN_ID, P.ID_MAX);
  return send(<u32>tradingPeer, bookQuery, <u32>(T.HEADER_BYTES + T.BOOK_QUERY_BYTES)) >= 0;
}

function subscribe(slot: u32, rec: usize, instrument: u32): void {
  assert(instrument != 0, "an instrument");
  for (let i: u32 = 0; i < subscriptionsMax; i++) {
    const s = subAt(i);
    if (load<u16>(s + SB_SLOT) != 0) continue;
    store<u16>(s + SB_SLOT, <u16>slot);
    subsActive++;
    store<u32>(s + SB_INSTRUMENT, instrument);
    store<u8>(s + SB_ID_LENGTH, load<u8>(rec + P.IN_ID_LENGTH));
    memory.copy(s + SB_ID, rec + P.IN_ID, P.ID_MAX);
    return;
  }
  // Full: the snapshot still goes out; no updates follow (the table's size is the config's subscriptions_max).
}

/** The book for the snapshot asked (r: the trading service's reply; 0 when it failed): the W. */
export function marketBookReplied(r: usize, len: u32, now: u64): void {
  const slot = load<u32>(asked) & 0xffff;
  assert(slot >= 1, "a snapshot asked");
  const o = outBegin(slot, MT_W);
  store<u32>(o + P.MDO_INSTRUMENT, load<u32>(asked + 4));
  outBytes(P.OUT_ID, P.OUT_ID_LENGTH, asked + 16, <u32>load<u8>(asked + 8), P.ID_MAX);
  if (r != 0 && len >= <u32>T.REPLY_HEADER_BYTES && (load<u32>(r + 4) & <u32>T.REPLY_F_REFUSED) == 0) {
    const levels = load<u32>(r);
    const bids = min(load<u32>(r + 8), levels);
    if (<u64>len >= <u64>T.REPLY_HEADER_BYTES + <u64>levels * T.LEVEL_OUT_BYTES) writeLevels(o, r + T.REPLY_HEADER_BYTES, bids, levels - bids);
  }
  outSend(now);
}

function writeLevels(o: usize, levels: usize, bids: u32, asks: u32): void {
  const nb = min(bids, <u32>P.DEPTH_OUT_MAX);
  const na = min(asks, <u32>P.DEPTH_OUT_MAX);
  assert(<u32>P.MDO_LEVELS + (nb + na) * <u32>P.MDO_LEVEL_BYTES <= <u32>P.OUT_BYTES, "the levels fit the item");
  store<u8>(o + P.MDO_BIDS, <u8>nb);
  store<u8>(o + P.MDO_ASKS, <u8>na);
  let at = o + P.MDO_LEVELS;
  for (let i: u32 = 0; i < nb; i++) { levelOut(at, levels + <usize>i * T.LEVEL_OUT_BYTES); at += P.MDO_LEVEL_BYTES; }
  for (let i: u32 = 0; i < na; i++) { levelOut(at, levels + <usize>(bids + i) * T.LEVEL_OUT_BYTES); at += P.MDO_LEVEL_BYTES; }
}

function levelOut(at: usize, level: usize): void {
  assert(at != 0 && level != 0, "a level");
  store<u64>(at, load<u64>(level + T.LO_PRICE));
  store<u64>(at + 8, load<u64>(level + T.LO_QTY));
}

/** A trade (a trading event): an incremental refresh (X) to every subscription to its instrument. */
export function marketTrade(ev: usize, now: u64): void {
  const instrument = load<u32>(ev + T.EV_INSTRUMENT);
  assert(subs != 0, "after marketInit");
  if (subsActive == 0) return;
  for (let i: u32 = 0; i < subscriptionsMax; i++) {
    const s = subAt(i);
    const slot = <u32>load<u16>(s + SB_SLOT);
    if (slot == 0 || load<u32>(s + SB_INSTRUMENT) != instrument) continue;
    const o = outBegin(slot, MT_X);
    store<u32>(o + P.MDO_INSTRUMENT, instrument);
    store<u8>(o + P.OUT_C, load<u8>(ev + T.EV_TAKER_SIDE));
    store<u64>(o + P.OUT_BODY + P.MDO_TRADE, load<u64>(ev + T.EV_TRADE));
    store<u64>(o + P.OUT_BODY + P.MDO_PRICE, load<u64>(ev + T.EV_PRICE));
    store<u64>(o + P.OUT_BODY + P.MDO_QTY, load<u64>(ev + T.EV_QTY));
    outBytes(P.OUT_ID, P.OUT_ID_LENGTH, s + SB_ID, <u32>load<u8>(s + SB_ID_LENGTH), P.ID_MAX);
    outSend(now);
  }
}

/** A session logged out: its subscriptions end (a new logon subscribes again). */
export function marketSessionEnded(slot: u32): void {
  assert(slot >= 1, "a session");
  if (subsActive == 0) return;
  for (let i: u32 = 0; i < subscriptionsMax; i++) {
    const s = subAt(i);
    if (<u32>load<u16>(s + SB_SLOT) == slot) { store<u16>(s + SB_SLOT, 0); subsActive--; }
  }
}
