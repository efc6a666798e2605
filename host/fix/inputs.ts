// host/fix/inputs.ts: one FIX message read from a connection into the fix
// service's INPUT record (services/fix/protocol.ts), and the records into a
// request. Pure: the acceptor (./acceptor.ts) supplies what it knows of the
// connection (its number, its session's slot and CompIDs, the configured
// options); everything else comes from the message's bytes.
//
// What is syntax is decided here, once, before the log: the dictionary's
// verdict (V_REJECT with SessionRejectReason, RefTagID and Text, or V_BUSINESS
// for a valid application message the service does not serve), the
// BeginString, the CompIDs against the session's, and the order's decimals at
// the instrument's scales (V_BAD_ORDER). The service decides the rest with
// the session's state (sequence numbers, logon rules, SendingTime accuracy).

import * as P from '../../services/fix/protocol.ts';
import * as T from '../../services/trading/protocol.ts';
import { fix44, parseFields, validateFields, decimalToScaled, parseUtcTimestamp, type RawField } from './codec.ts';
import { SessionRejectReason, BusinessRejectReason } from './tags.ts';
import { U128_MAX, U64_MAX } from '../client/ledger.ts';
import type { TradingInstrument } from '../gateway/trading-front.ts';
import { parseUnsignedDecimal } from '../gateway/ledger-json.ts';
import { u128 } from '../trading/records.ts';

/** Application MsgTypes the fix service serves: orders, cancel, replace, mass cancel, market data, security list. */
export const SUPPORTED_APP_TYPES: ReadonlySet<string> = new Set(['D', 'F', 'G', 'q', 'V', 'x']);

/** The instruments by Symbol (55), from the manifest's trading config. */
export type InstrumentsBySymbol = ReadonlyMap<string, TradingInstrument>;

export function instrumentsBySymbol(instruments: Iterable<TradingInstrument>): Map<string, TradingInstrument> {
  const out = new Map<string, TradingInstrument>();
  for (const i of instruments) out.set(i.symbol, i);
  return out;
}

/** The logon's options (body of an A input) as the configured session has them. */
export interface LogonOptions {
  flags: number;
  maxLatencyS: number;
  heartbeatMinS: number;
  heartbeatMaxS: number;
  /** The Password's key (LO_KEY in flags); 0 without keys. */
  keyId: number;
}

/** What the acceptor knows of the connection a message came on. */
export interface InputContext {
  readonly connection: number;
  /** The session slot the service gave the connection (0 before its Logon answer). */
  readonly slot: number;
  /** The session's CompIDs: ours (their 56) and theirs (their 49). */
  readonly ours: string;
  readonly theirs: string;
  /** Validate against the dictionary (the validate option). */
  readonly validate: boolean;
  readonly instruments: InstrumentsBySymbol;
  /** A Logon's options (A only). */
  readonly logon?: LogonOptions;
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** The first value of `tag` in the message, or undefined. */
function first(fields: readonly RawField[], tag: number): string | undefined {
  for (const f of fields) if (f.tag === tag) return f.value;
  return undefined;
}

/** An unsigned decimal integer up to `max`, or undefined (the JSON edge's reader: digits only, leading zeros allowed). */
function unsigned(text: string | undefined, max: bigint): bigint | undefined {
  return text === undefined ? undefined : parseUnsignedDecimal(text, max) ?? undefined;
}

function timestamp(text: string | undefined): bigint {
  if (text === undefined) return 0n;
  try {
    const ns = parseUtcTimestamp(text);
    return ns > 0n && ns <= U64_MAX ? ns : 0n;
  } catch {
    return 0n;
  }
}

/** A record being filled: the verdict may be set once (the first problem wins). */
class InputRecord {
  readonly buf = Buffer.alloc(P.INPUT_BYTES);
  verdictSet = false;

  verdict(v: number, reason: number, text: string, refTag = 0): void {
    if (this.verdictSet) return;
    this.verdictSet = true;
    this.buf[P.IN_VERDICT] = v;
    this.buf[P.IN_REASON] = reason;
    if (v === P.V_REJECT) this.buf.writeUInt32LE(refTag >>> 0, P.IN_A);
    const t = latin1(text).subarray(0, P.TEXT_MAX);
    t.copy(this.buf, P.IN_TEXT);
    this.buf[P.IN_TEXT_LENGTH] = t.length;
  }

  /** An id into the first or second id; a longer one than ID_MAX is a Reject (373=5) naming the tag. */
  id(which: 1 | 2, value: string | undefined, tag: number): void {
    if (value === undefined) return;
    const b = latin1(value);
    if (b.length > P.ID_MAX) {
      this.verdict(P.V_REJECT, SessionRejectReason.ValueIncorrect, `tag ${tag} is longer than ${P.ID_MAX} bytes`, tag);
      return;
    }
    b.copy(this.buf, which === 1 ? P.IN_ID : P.IN_ID2);
    this.buf[which === 1 ? P.IN_ID_LENGTH : P.IN_ID2_LENGTH] = b.length;
  }
}

/** The header part of the record: kind, type, connection, slot, MsgSeqNum, flags, times. */
function fillHeader(r: InputRecord, fields: readonly RawField[], msgType: string, ctx: InputContext): void {
  const b = r.buf;
  b[P.IN_KIND] = P.IN_MESSAGE;
  b[P.IN_MSG_TYPE] = msgType.length === 1 ? msgType.charCodeAt(0) & 0xff : 0;
  b.writeUInt32LE(ctx.connection >>> 0, P.IN_CONNECTION);
  b.writeUInt16LE(msgType === 'A' ? 0 : ctx.slot, P.IN_SLOT);
  b.writeUInt32LE(Number(unsigned(first(fields, 34), 0xffffffffn) ?? 0n), P.IN_SEQ);
  const orig = timestamp(first(fields, 122));
  let flags = 0;
  if (first(fields, 43) === 'Y') flags |= P.IF_POSS_DUP;
  if (orig !== 0n) flags |= P.IF_ORIG_SENDING;
  if (first(fields, 141) === 'Y') flags |= P.IF_RESET_SEQ;
  if (first(fields, 123) === 'Y') flags |= P.IF_GAP_FILL;
  if (first(fields, 36) !== undefined) flags |= P.IF_NEW_SEQ;
  if (first(fields, 112) !== undefined) flags |= P.IF_TEST_REQ;
  b.writeUInt16LE(flags, P.IN_FLAGS);
  b.writeBigUInt64LE(timestamp(first(fields, 52)), P.IN_SENDING);
  b.writeBigUInt64LE(orig, P.IN_ORIG_SENDING);
}

/** The dictionary's verdict (or, without validation, only whether the MsgType is served). */
function checkSyntax(r: InputRecord, fields: readonly RawField[], msgType: string, beginString: string, ctx: InputContext): void {
  if (beginString !== 'FIX.4.4') { r.verdict(P.V_BEGIN_STRING, 0, `BeginString ${beginString} is not FIX.4.4`); return; }
  if (msgType.length !== 1) {
    // The protocol carries one-character MsgTypes only; a longer one is never served here.
    const known = fix44().messages.has(msgType);
    if (known) r.verdict(P.V_BUSINESS, BusinessRejectReason.UnsupportedMessageType, `Unsupported Message Type: ${msgType}`);
    else r.verdict(P.V_REJECT, SessionRejectReason.InvalidMsgType, `Invalid MsgType: ${msgType}`, 35);
    return;
  }
  if (ctx.validate) {
    const v = validateFields(fields, { supported: SUPPORTED_APP_TYPES });
    if (!v.ok) { r.verdict(v.level === 'business' ? P.V_BUSINESS : P.V_REJECT, v.reason, v.text, v.refTag ?? 0); return; }
  } else {
    const def = fix44().messages.get(msgType);
    if (def === undefined) { r.verdict(P.V_REJECT, SessionRejectReason.InvalidMsgType, `Invalid MsgType: ${msgType}`, 35); return; }
    if (!def.admin && !SUPPORTED_APP_TYPES.has(msgType)) {
      r.verdict(P.V_BUSINESS, BusinessRejectReason.UnsupportedMessageType, `Unsupported Message Type: ${def.name} (${msgType})`);
      return;
    }
  }
  if (first(fields, 49) !== ctx.theirs || first(fields, 56) !== ctx.ours) {
    r.verdict(P.V_COMPID, SessionRejectReason.CompIdProblem, `CompID problem: expected SenderCompID ${ctx.theirs} and TargetCompID ${ctx.ours}`);
  }
}

/** The a/b fields and the ids of each MsgType. */
function fillIds(r: InputRecord, fields: readonly RawField[], msgType: string): void {
  const u32 = (tag: number): number => Number(unsigned(first(fields, tag), 0xffffffffn) ?? 0n);
  switch (msgType) {
    case 'A': r.buf.writeUInt32LE(u32(108), P.IN_A); r.id(1, first(fields, 56), 56); r.id(2, first(fields, 49), 49); break;
    case '0': case '1': r.id(1, first(fields, 112), 112); break;
    case '2': r.buf.writeUInt32LE(u32(7), P.IN_A); r.buf.writeUInt32LE(u32(16), P.IN_B); break;
    case '4': r.buf.writeUInt32LE(u32(36), P.IN_A); break;
    case 'D': case 'q': r.id(1, first(fields, 11), 11); break;
    case 'F': case 'G': r.id(1, first(fields, 11), 11); r.id(2, first(fields, 41), 41); break;
    case 'V': r.id(1, first(fields, 262), 262); break;
    case 'x': r.id(1, first(fields, 320), 320); break;
    default: break;
  }
}

/** Account (1): "<cash account id>/<asset account id>" or "<cash account id>", decimal u128 ids. */
export function parseAccount(text: string | undefined): { cash: bigint; asset: bigint } | undefined {
  if (text === undefined) return undefined;
  const [c, a, extra] = text.split('/');
  const cash = unsigned(c, U128_MAX);
  const asset = a === undefined ? 0n : unsigned(a, U128_MAX);
  if (cash === undefined || cash === 0n || asset === undefined || extra !== undefined) return undefined;
  return { cash, asset };
}

const TIF: Record<string, number> = { '0': T.TIF_DAY, '1': T.TIF_GTC, '3': T.TIF_IOC, '4': T.TIF_FOK };

/** A decimal at a scale as units, or a reason it is not one. */
function units(text: string | undefined, scale: number, name: string): bigint | string {
  if (text === undefined) return 0n;
  try {
    const v = decimalToScaled(text, scale);
    if (v < 0n || v > U64_MAX) return `${name} ${text} is out of range`;
    return v;
  } catch {
    return `${name} ${text} has more than ${scale} decimal places`;
  }
}

/** The order body (D, F, G, q): V_BAD_ORDER for what cannot be read into units. */
function fillOrder(r: InputRecord, fields: readonly RawField[], msgType: string, ctx: InputContext): void {
  const body = P.IN_BODY;
  const b = r.buf;
  const symbol = first(fields, 55);
  const inst = symbol === undefined ? undefined : ctx.instruments.get(symbol);
  if (symbol !== undefined && inst === undefined) r.verdict(P.V_BAD_ORDER, 0, `unknown Symbol ${symbol}`);
  if (inst !== undefined) b.writeUInt32LE(inst.id, body + P.ORD_INSTRUMENT);
  const side = first(fields, 54);
  b[body + P.ORD_SIDE] = side === '1' ? T.SIDE_BUY : side === '2' ? T.SIDE_SELL : 0;
  const type = first(fields, 40);
  b[body + P.ORD_TYPE] = type === '1' ? T.TYPE_MARKET : type === '2' ? T.TYPE_LIMIT : 0;
  b[body + P.ORD_TIF] = TIF[first(fields, 59) ?? '0'] ?? 0;
  if ((first(fields, 18) ?? '').split(' ').includes('6')) b[body + P.ORD_FLAGS] = T.OF_POST_ONLY;
  if (inst !== undefined) {
    const price = units(first(fields, 44), inst.priceScale, 'Price');
    const qty = units(first(fields, 38), inst.qtyScale, 'OrderQty');
    if (typeof price === 'string') r.verdict(P.V_BAD_ORDER, 0, price); else b.writeBigUInt64LE(price, body + P.ORD_PRICE);
    if (typeof qty === 'string') r.verdict(P.V_BAD_ORDER, 0, qty); else b.writeBigUInt64LE(qty, body + P.ORD_QTY);
  }
  const accountText = first(fields, 1);
  const account = parseAccount(accountText);
  if (account !== undefined) {
    u128(b, body + P.ORD_ACCOUNT, account.cash);
    u128(b, body + P.ORD_ASSET_ACCOUNT, account.asset);
  } else if (accountText !== undefined) {
    r.verdict(P.V_BAD_ORDER, 0, 'Account (1) is not <cash account id>[/<asset account id>]');
  } else if (msgType === 'D') {
    // A cancel or replace names its order (the service knows its account), and FIX 4.4's
    // OrderMassCancelRequest has no Account: it cancels the session's own orders (accounts 0 here).
    r.verdict(P.V_BAD_ORDER, 0, 'no Account (1)');
  }
  b.writeBigUInt64LE(unsigned(first(fields, 37), U64_MAX) ?? 0n, body + P.ORD_ORDER_ID);
  if (msgType === 'q') b[body + P.ORD_MASS_TYPE] = Number(unsigned(first(fields, 530), 255n) ?? 0n);
}

/** The market data request body (V). */
function fillMarketData(r: InputRecord, fields: readonly RawField[], ctx: InputContext): void {
  const b = r.buf;
  const symbol = first(fields, 55);
  const inst = symbol === undefined ? undefined : ctx.instruments.get(symbol);
  b.writeUInt32LE(inst?.id ?? 0, P.IN_BODY + P.MD_INSTRUMENT);
  b[P.IN_BODY + P.MD_SUBSCRIPTION] = Number(unsigned(first(fields, 263), 255n) ?? 0n);
  b.writeUInt16LE(Number(unsigned(first(fields, 264), 0xffffn) ?? 0n), P.IN_BODY + P.MD_DEPTH);
}

/** The logon's options body (A). */
function fillLogon(r: InputRecord, ctx: InputContext): void {
  const o = ctx.logon;
  if (o === undefined) return;
  const b = r.buf;
  const at = P.IN_BODY;
  b[at + P.LOGON_FLAGS] = o.flags;
  b.writeUInt32LE(o.maxLatencyS >>> 0, at + P.LOGON_MAX_LATENCY);
  b.writeUInt32LE(o.heartbeatMinS >>> 0, at + P.LOGON_HB_MIN);
  b.writeUInt32LE(o.heartbeatMaxS >>> 0, at + P.LOGON_HB_MAX);
  b.writeUInt32LE(o.keyId >>> 0, at + P.LOGON_KEY);
}

/** The INPUT record of one framed message (its bytes, BeginString to CheckSum). */
export function messageInput(message: Uint8Array, beginString: string, ctx: InputContext): { input: Buffer; msgType: string } {
  const fields = parseFields(message);
  const msgType = fields[2]?.tag === 35 ? fields[2].value : '';
  const r = new InputRecord();
  fillHeader(r, fields, msgType, ctx);
  checkSyntax(r, fields, msgType, beginString, ctx);
  fillIds(r, fields, msgType);
  if (msgType === 'A') fillLogon(r, ctx);
  else if (msgType === 'D' || msgType === 'F' || msgType === 'G' || msgType === 'q') fillOrder(r, fields, msgType, ctx);
  else if (msgType === 'V') fillMarketData(r, fields, ctx);
  return { input: r.buf, msgType };
}

/** The IN_DISCONNECT record of a connection that ended. */
export function disconnectInput(connection: number, slot: number): Buffer {
  const b = Buffer.alloc(P.INPUT_BYTES);
  b[P.IN_KIND] = P.IN_DISCONNECT;
  b.writeUInt32LE(connection >>> 0, P.IN_CONNECTION);
  b.writeUInt16LE(slot, P.IN_SLOT);
  return b;
}

/** One request of 1 to INPUTS_PER_REQUEST records: the header, then the records in order. */
export function inputRequest(inputs: readonly Buffer[]): Buffer {
  const length = P.requestLength(inputs.length);
  if (length === 0) throw new RangeError(`a FIX request holds 1 to ${P.INPUTS_PER_REQUEST} inputs, not ${inputs.length}`);
  const out = Buffer.alloc(length);
  out[0] = P.FIX_VERSION;
  out.writeUInt32LE(inputs.length, P.HEADER_COUNT);
  inputs.forEach((r, i) => r.copy(out, P.HEADER_BYTES + i * P.INPUT_BYTES));
  return out;
}
