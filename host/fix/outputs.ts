// host/fix/outputs.ts: one outbound item of the fix service (an EVT_FIX
// event item, OUT_BYTES, services/fix/protocol.ts "out") into the FIX
// message's bytes. Pure: the acceptor (./acceptor.ts) gives the slot's
// CompIDs and the instruments; everything else is in the item.
//
// Every message is rendered by the codec's renderMessage, which validates it
// as an inbound message would be: nothing leaves that we would refuse. The
// header is 8=FIX.4.4, 49 our CompID, 56 theirs, 34 MsgSeqNum, 52 SendingTime
// (the item's logical clock, to the millisecond), and 43=Y with 122 for a
// resent message (OF_POSS_DUP). Prices and quantities are decimals at the
// instrument's scales.

import * as P from '../../services/fix/protocol.ts';
import * as T from '../../services/trading/protocol.ts';
import { encodeRawMessage, FixError, formatUtcTimestamp, renderMessage, scaledToDecimal, validateMessage, type OutFields } from './codec.ts';
import type { TradingInstrument } from '../gateway/trading-front.ts';

/** An out item's fixed fields (the rest is read by MsgType when rendering). */
export interface OutItem {
  readonly kind: number;
  readonly msgType: string;
  readonly flags: number;
  readonly connection: number;
  readonly seq: number;
  readonly slot: number;
  /** id and second id (a Logon's: our CompID, their CompID). */
  readonly id: string;
  readonly id2: string;
}

export interface OutSession {
  readonly ours: string;
  readonly theirs: string;
}

export type InstrumentsById = ReadonlyMap<number, TradingInstrument>;

const text = (item: Buffer, at: number, lengthAt: number, max: number): string => item.toString('latin1', at, at + Math.min(item[lengthAt]!, max));

/** The fixed fields of an out item (OUT_BYTES); RangeError when it is not one. */
export function readOutItem(item: Buffer): OutItem {
  if (item.length !== P.OUT_BYTES) throw new RangeError(`a FIX out item is ${P.OUT_BYTES} bytes, not ${item.length}`);
  return {
    kind: item[P.OUT_KIND]!, msgType: String.fromCharCode(item[P.OUT_MSG_TYPE]!), flags: item.readUInt16LE(P.OUT_FLAGS),
    connection: item.readUInt32LE(P.OUT_CONNECTION), seq: item.readUInt32LE(P.OUT_SEQ), slot: item.readUInt16LE(P.OUT_SLOT),
    id: text(item, P.OUT_ID, P.OUT_ID_LENGTH, P.ID_MAX), id2: text(item, P.OUT_ID2, P.OUT_ID2_LENGTH, P.ID_MAX),
  };
}

/** A UTCTimestamp to the millisecond of the logical clock's ns (what is below a millisecond dropped). */
function utcMs(ns: bigint): string {
  return formatUtcTimestamp(ns - (ns % 1_000_000n), 3);
}

function header(item: Buffer, o: OutItem, session: OutSession): Record<string, string | number> {
  const h: Record<string, string | number> = {
    SenderCompID: session.ours, TargetCompID: session.theirs, MsgSeqNum: o.seq, SendingTime: utcMs(item.readBigUInt64LE(P.OUT_SENDING)),
  };
  if ((o.flags & P.OF_POSS_DUP) !== 0) {
    h.PossDupFlag = 'Y';
    h.OrigSendingTime = utcMs(item.readBigUInt64LE(P.OUT_ORIG_SENDING));
  }
  return h;
}

const SIDE_CHAR: Record<number, string> = { [T.SIDE_BUY]: '1', [T.SIDE_SELL]: '2' };
// A side the service could not read (0) is told as Undisclosed (7): Side is required on an ExecutionReport.
const SIDE_UNKNOWN = '7';
// A Symbol the front end did not know is answered with the usual placeholder.
const SYMBOL_UNKNOWN = '[N/A]';

interface Scales { symbol: string; price: number; qty: number }
function scales(instruments: InstrumentsById, id: number): Scales {
  const i = instruments.get(id);
  return i === undefined ? { symbol: SYMBOL_UNKNOWN, price: 0, qty: 0 } : { symbol: i.symbol, price: i.priceScale, qty: i.qtyScale };
}

const u64 = (item: Buffer, at: number): bigint => item.readBigUInt64LE(at);
const char = (item: Buffer, at: number): string => String.fromCharCode(item[at]!);

/** ExecutionReport (8). */
function executionReport(item: Buffer, o: OutItem, instruments: InstrumentsById): OutFields {
  const e = P.OUT_BODY;
  const s = scales(instruments, item.readUInt32LE(e + P.EXEC_INSTRUMENT));
  const order = u64(item, e + P.EXEC_ORDER);
  const body: Record<string, string | bigint | number> = { OrderID: order === 0n ? 'NONE' : order };
  if (o.id !== '') body.ClOrdID = o.id;
  if (o.id2 !== '') body.OrigClOrdID = o.id2;
  body.ExecID = u64(item, e + P.EXEC_ID);
  body.ExecType = char(item, e + P.EXEC_TYPE);
  body.OrdStatus = char(item, e + P.EXEC_STATUS);
  body.Symbol = s.symbol;
  body.Side = SIDE_CHAR[item[e + P.EXEC_SIDE]!] ?? SIDE_UNKNOWN;
  body.OrderQty = scaledToDecimal(u64(item, e + P.EXEC_QTY), s.qty);
  const price = u64(item, e + P.EXEC_PRICE);
  if (price !== 0n) body.Price = scaledToDecimal(price, s.price);
  body.LeavesQty = scaledToDecimal(u64(item, e + P.EXEC_LEAVES), s.qty);
  body.CumQty = scaledToDecimal(u64(item, e + P.EXEC_CUM), s.qty);
  body.AvgPx = scaledToDecimal(u64(item, e + P.EXEC_AVG_PX), s.price);
  const last = u64(item, e + P.EXEC_LAST_QTY);
  if (last > 0n) {
    body.LastQty = scaledToDecimal(last, s.qty);
    body.LastPx = scaledToDecimal(u64(item, e + P.EXEC_LAST_PX), s.price);
  }
  const rej = item[e + P.EXEC_REJ_REASON]!;
  if (rej !== 0) body.OrdRejReason = rej;
  const t = text(item, P.OUT_TEXT, P.OUT_TEXT_LENGTH, P.OUT_TEXT_MAX);
  if (t !== '') body.Text = t;
  return body;
}

/** OrderCancelReject (9): OrigClOrdID is required, "NONE" when the request had none. */
function cancelReject(item: Buffer, o: OutItem): OutFields {
  const e = P.OUT_BODY;
  const order = u64(item, e + P.EXEC_ORDER);
  const body: Record<string, string | bigint | number> = {
    OrderID: order === 0n ? 'NONE' : order, ClOrdID: o.id === '' ? 'NONE' : o.id, OrigClOrdID: o.id2 === '' ? 'NONE' : o.id2,
    OrdStatus: char(item, e + P.EXEC_STATUS), CxlRejResponseTo: String(item[P.OUT_C]), CxlRejReason: item.readUInt32LE(P.OUT_D),
  };
  const t = text(item, P.OUT_TEXT, P.OUT_TEXT_LENGTH, P.OUT_TEXT_MAX);
  if (t !== '') body.Text = t;
  return body;
}

/** The market data levels of a W: bids then asks, each u64 price and u64 quantity. */
function snapshotEntries(item: Buffer, s: Scales): OutFields[] {
  const bids = item[P.MDO_BIDS]!;
  const asks = item[P.MDO_ASKS]!;
  const room = Math.floor((P.OUT_BYTES - P.MDO_LEVELS) / P.MDO_LEVEL_BYTES);
  if (bids + asks > room) throw new FixError(`a snapshot of ${bids} bids and ${asks} asks does not fit an out item (${room} levels)`);
  const out: OutFields[] = [];
  for (let i = 0; i < bids + asks; i++) {
    const at = P.MDO_LEVELS + i * P.MDO_LEVEL_BYTES;
    out.push({ MDEntryType: i < bids ? '0' : '1', MDEntryPx: scaledToDecimal(u64(item, at), s.price), MDEntrySize: scaledToDecimal(u64(item, at + 8), s.qty) });
  }
  return out;
}

/** The body of each MsgType the service sends (protocol.ts "By MsgType"). */
function body(item: Buffer, o: OutItem, instruments: InstrumentsById): OutFields {
  const a = item.readUInt32LE(P.OUT_A);
  const b = item.readUInt32LE(P.OUT_B);
  const c = item[P.OUT_C]!;
  const d = item.readUInt32LE(P.OUT_D);
  const t = text(item, P.OUT_TEXT, P.OUT_TEXT_LENGTH, P.OUT_TEXT_MAX);
  const withText = (f: Record<string, string | number | bigint | OutFields[]>): OutFields => (t === '' ? f : { ...f, Text: t });
  switch (o.msgType) {
    case 'A': return { EncryptMethod: 0, HeartBtInt: a, ...((o.flags & P.OF_RESET_SEQ) !== 0 ? { ResetSeqNumFlag: 'Y' } : {}) };
    case '0': return o.id === '' ? {} : { TestReqID: o.id };
    case '1': return { TestReqID: o.id };
    case '2': return { BeginSeqNo: a, EndSeqNo: b };
    case '3': return withText({ RefSeqNum: a, ...(b !== 0 ? { RefTagID: b } : {}), ...(o.id !== '' ? { RefMsgType: o.id } : {}), SessionRejectReason: c });
    case '4': return { NewSeqNo: a, ...((o.flags & P.OF_GAP_FILL) !== 0 ? { GapFillFlag: 'Y' } : {}) };
    case '5': return withText({});
    case 'j': return withText({ RefSeqNum: a, RefMsgType: o.id, BusinessRejectReason: c });
    case '8': return executionReport(item, o, instruments);
    case '9': return cancelReject(item, o);
    // OrderID of the mass cancel: the report's own MsgSeqNum, unique within the session.
    case 'r': return withText({ OrderID: o.seq, ...(o.id !== '' ? { ClOrdID: o.id } : {}), MassCancelRequestType: String(c), MassCancelResponse: String(d), TotalAffectedOrders: a });
    case 'X': {
      const s = scales(instruments, item.readUInt32LE(P.MDO_INSTRUMENT));
      const entry = { MDUpdateAction: '0', MDEntryType: '2', Symbol: s.symbol, MDEntryPx: scaledToDecimal(u64(item, P.OUT_BODY + P.MDO_PRICE), s.price),
        MDEntrySize: scaledToDecimal(u64(item, P.OUT_BODY + P.MDO_QTY), s.qty) };
      return { ...(o.id !== '' ? { MDReqID: o.id } : {}), NoMDEntries: [entry] };
    }
    case 'y': {
      const list = [...instruments.values()].map((i) => ({ Symbol: i.symbol, SecurityID: String(i.id), SecurityIDSource: '8' }));
      return { SecurityReqID: o.id, SecurityResponseID: o.seq, SecurityRequestResult: 0, ...(list.length > 0 ? { NoRelatedSym: list } : {}) };
    }
    default: throw new FixError(`the fix service sent MsgType ${JSON.stringify(o.msgType)}, which the front end does not render`);
  }
}

/**
 * An empty book's snapshot: NoMDEntries=0, which the renderer cannot write
 * (it leaves empty groups out, and the group is required here), written in
 * the dictionary's order by hand and validated all the same.
 */
function emptySnapshot(h: Record<string, string | number>, o: OutItem, symbol: string): Uint8Array {
  const fields: [number, string][] = [[35, 'W'], [49, String(h.SenderCompID)], [56, String(h.TargetCompID)], [34, String(o.seq)]];
  if (h.PossDupFlag !== undefined) fields.push([43, 'Y']);
  fields.push([52, String(h.SendingTime)]);
  if (h.OrigSendingTime !== undefined) fields.push([122, String(h.OrigSendingTime)]);
  if (o.id !== '') fields.push([262, o.id]);
  fields.push([55, symbol], [268, '0']);
  const bytes = encodeRawMessage(fields);
  const v = validateMessage(bytes);
  if (!v.ok) throw new FixError(`rendered empty MarketDataSnapshotFullRefresh would be refused: ${v.text}`);
  return bytes;
}

/**
 * The bytes of an OUT_MESSAGE item for a session of these CompIDs (a Logon
 * names them itself). FixError when the item cannot be rendered as a valid
 * FIX 4.4 message.
 */
export function renderOutItem(item: Buffer, session: OutSession, instruments: InstrumentsById): Uint8Array {
  const o = readOutItem(item);
  const h = header(item, o, o.msgType === 'A' ? { ours: o.id, theirs: o.id2 } : session);
  if (o.msgType === 'W') {
    const s = scales(instruments, item.readUInt32LE(P.MDO_INSTRUMENT));
    const entries = snapshotEntries(item, s);
    if (entries.length === 0) return emptySnapshot(h, o, s.symbol);
    return renderMessage({ msgType: 'W', header: h, body: { ...(o.id !== '' ? { MDReqID: o.id } : {}), Symbol: s.symbol, NoMDEntries: entries } });
  }
  return renderMessage({ msgType: o.msgType, header: h, body: body(item, o, instruments) });
}
