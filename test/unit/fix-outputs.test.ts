// test/unit/fix-outputs.test.ts: the fix service's out items into FIX
// messages (host/fix/outputs.ts). Proves:
//   - every MsgType the service sends (protocol.ts "By MsgType") renders as
//     a FIX 4.4 message our own validator accepts, with the header of the
//     slot's CompIDs, MsgSeqNum and SendingTime to the millisecond;
//   - a resent message carries PossDupFlag and OrigSendingTime, a Logon
//     ResetSeqNumFlag and names its CompIDs itself, a SequenceReset GapFillFlag;
//   - an ExecutionReport's prices and quantities are decimals at the
//     instrument's scales, LastQty/LastPx only with a fill, OrderID NONE
//     when there is none, an unknown instrument told as [N/A];
//   - market data (W with levels and with none, X), the SecurityList of the
//     manifest's instruments, the mass cancel report and the cancel reject
//     all validate;
//   - a MsgType the front end does not render is refused, not sent.
//
// Run: node test/run.mjs test/unit/fix-outputs.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as P from '../../services/fix/protocol.ts';
import * as T from '../../services/trading/protocol.ts';
import { FixError, parseFields, validateMessage } from '../../host/fix/codec.ts';
import { readOutItem, renderOutItem } from '../../host/fix/outputs.ts';
import type { TradingInstrument } from '../../host/gateway/trading-front.ts';

const instruments = new Map<number, TradingInstrument>([[7, { id: 7, symbol: 'BTC-USD', priceScale: 2, qtyScale: 4 }], [9, { id: 9, symbol: 'ETH-USD', priceScale: 2, qtyScale: 3 }]]);
const session = { ours: 'QENEX', theirs: 'CLIENT1' };
const SENDING = 1_765_000_000_123_456_789n; // ns: the millisecond is 123

interface Spec { type: string; seq?: number; flags?: number; a?: number; b?: number; c?: number; d?: number; id?: string; id2?: string; text?: string }
function item(s: Spec): Buffer {
  const b = Buffer.alloc(P.OUT_BYTES);
  b[P.OUT_KIND] = P.OUT_MESSAGE;
  b[P.OUT_MSG_TYPE] = s.type.charCodeAt(0);
  b.writeUInt16LE(s.flags ?? 0, P.OUT_FLAGS);
  b.writeUInt32LE(77, P.OUT_CONNECTION);
  b.writeUInt32LE(s.seq ?? 5, P.OUT_SEQ);
  b.writeUInt16LE(3, P.OUT_SLOT);
  b.writeBigUInt64LE(SENDING, P.OUT_SENDING);
  b.writeBigUInt64LE(SENDING - 60_000_000_000n, P.OUT_ORIG_SENDING);
  b.writeUInt32LE(s.a ?? 0, P.OUT_A);
  b.writeUInt32LE(s.b ?? 0, P.OUT_B);
  b[P.OUT_C] = s.c ?? 0;
  b.writeUInt32LE(s.d ?? 0, P.OUT_D);
  for (const [v, at, len] of [[s.id, P.OUT_ID, P.OUT_ID_LENGTH], [s.id2, P.OUT_ID2, P.OUT_ID2_LENGTH], [s.text, P.OUT_TEXT, P.OUT_TEXT_LENGTH]] as const) {
    if (v !== undefined) { b.write(v, at, 'latin1'); b[len] = v.length; }
  }
  return b;
}

/** Renders, checks it validates, and gives the fields by tag (the first of each) and in order. */
function render(b: Buffer): { tags: Map<number, string>; order: number[] } {
  const bytes = renderOutItem(b, session, instruments);
  const v = validateMessage(bytes);
  assert.ok(v.ok, v.ok ? '' : v.text);
  const fields = parseFields(bytes);
  const tags = new Map<number, string>();
  for (const f of fields) if (!tags.has(f.tag)) tags.set(f.tag, f.value);
  return { tags, order: fields.map((f) => f.tag) };
}

test('the header: our CompIDs, MsgSeqNum, SendingTime to the millisecond; a resend has PossDup and OrigSendingTime', () => {
  const { tags } = render(item({ type: '0', seq: 42 }));
  assert.equal([tags.get(8), tags.get(35), tags.get(49), tags.get(56), tags.get(34)], ['FIX.4.4', '0', 'QENEX', 'CLIENT1', '42']);
  assert.is(tags.get(52), '20251206-05:46:40.123');
  assert.not.ok(tags.has(43));
  const dup = render(item({ type: '1', id: 'T1', flags: P.OF_POSS_DUP })).tags;
  assert.equal([dup.get(43), dup.get(122), dup.get(112)], ['Y', '20251206-05:45:40.123', 'T1']);
});

test('Logon names its CompIDs itself, with HeartBtInt, EncryptMethod 0 and ResetSeqNumFlag', () => {
  const { tags } = render(item({ type: 'A', a: 30, id: 'QENEX2', id2: 'CLIENT9', flags: P.OF_RESET_SEQ }));
  assert.equal([tags.get(49), tags.get(56), tags.get(98), tags.get(108), tags.get(141)], ['QENEX2', 'CLIENT9', '0', '30', 'Y']);
  assert.not.ok(render(item({ type: 'A', a: 30, id: 'Q', id2: 'C' })).tags.has(141));
});

test('session messages: ResendRequest, Reject, SequenceReset (gap fill), Logout, BusinessMessageReject', () => {
  const rr = render(item({ type: '2', a: 3, b: 0 })).tags;
  assert.equal([rr.get(7), rr.get(16)], ['3', '0']);
  const rj = render(item({ type: '3', a: 9, b: 44, c: 5, id: 'D', text: 'bad price' })).tags;
  assert.equal([rj.get(45), rj.get(371), rj.get(372), rj.get(373), rj.get(58)], ['9', '44', 'D', '5', 'bad price']);
  assert.not.ok(render(item({ type: '3', a: 9, c: 1 })).tags.has(371), 'no RefTagID when b is 0');
  const sr = render(item({ type: '4', a: 12, flags: P.OF_GAP_FILL })).tags;
  assert.equal([sr.get(36), sr.get(123)], ['12', 'Y']);
  assert.is(render(item({ type: '5', text: 'bye' })).tags.get(58), 'bye');
  assert.not.ok(render(item({ type: '5' })).tags.has(58));
  const j = render(item({ type: 'j', a: 4, c: 3, id: 'AE', text: 'Unsupported Message Type' })).tags;
  assert.equal([j.get(45), j.get(372), j.get(380)], ['4', 'AE', '3']);
});

function exec(b: Buffer, f: { order?: bigint; id?: bigint; type: string; status: string; side: number; inst: number; price: bigint; qty: bigint; leaves: bigint;
  cum: bigint; lastQty?: bigint; lastPx?: bigint; avg?: bigint; rej?: number }): Buffer {
  const e = P.OUT_BODY;
  b.writeBigUInt64LE(f.order ?? 0n, e + P.EXEC_ORDER);
  b.writeBigUInt64LE(f.id ?? 0n, e + P.EXEC_ID);
  b[e + P.EXEC_TYPE] = f.type.charCodeAt(0);
  b[e + P.EXEC_STATUS] = f.status.charCodeAt(0);
  b[e + P.EXEC_SIDE] = f.side;
  b[e + P.EXEC_REJ_REASON] = f.rej ?? 0;
  b.writeUInt32LE(f.inst, e + P.EXEC_INSTRUMENT);
  for (const [v, at] of [[f.price, P.EXEC_PRICE], [f.qty, P.EXEC_QTY], [f.leaves, P.EXEC_LEAVES], [f.cum, P.EXEC_CUM], [f.lastQty ?? 0n, P.EXEC_LAST_QTY],
    [f.lastPx ?? 0n, P.EXEC_LAST_PX], [f.avg ?? 0n, P.EXEC_AVG_PX]] as const) b.writeBigUInt64LE(v, e + at);
  return b;
}

test('ExecutionReport: decimals at the instrument scales, the fill only when there is one, OrderID NONE, unknown instrument [N/A]', () => {
  const fill = render(exec(item({ type: '8', id: 'c1' }), { order: 12n, id: 99n, type: 'F', status: '1', side: T.SIDE_BUY, inst: 7, price: 2500050n, qty: 15000n,
    leaves: 5000n, cum: 10000n, lastQty: 10000n, lastPx: 2500000n, avg: 2500000n })).tags;
  assert.equal([fill.get(37), fill.get(11), fill.get(17), fill.get(150), fill.get(39), fill.get(55), fill.get(54)], ['12', 'c1', '99', 'F', '1', 'BTC-USD', '1']);
  assert.equal([fill.get(38), fill.get(44), fill.get(151), fill.get(14), fill.get(6), fill.get(32), fill.get(31)],
    ['1.5000', '25000.50', '0.5000', '1.0000', '25000.00', '1.0000', '25000.00']);
  const rej = render(exec(item({ type: '8', id: 'c2', id2: 'c0', text: 'unknown Symbol XYZ' }), { type: '8', status: '8', side: 0, inst: 0, price: 0n, qty: 0n,
    leaves: 0n, cum: 0n, rej: 1 })).tags;
  assert.equal([rej.get(37), rej.get(41), rej.get(55), rej.get(54), rej.get(103), rej.get(58), rej.get(6)], ['NONE', 'c0', '[N/A]', '7', '1', 'unknown Symbol XYZ', '0']);
  assert.not.ok(rej.has(44) || rej.has(32) || rej.has(31), 'no Price when 0, no LastQty/LastPx without a fill');
});

test('OrderCancelReject, OrderMassCancelReport', () => {
  const cr = render(exec(item({ type: '9', id: 'c3', c: 1, d: 1, text: 'too late' }), { order: 5n, type: '0', status: '8', side: T.SIDE_SELL, inst: 7, price: 0n,
    qty: 0n, leaves: 0n, cum: 0n })).tags;
  assert.equal([cr.get(37), cr.get(11), cr.get(41), cr.get(39), cr.get(434), cr.get(102), cr.get(58)], ['5', 'c3', 'NONE', '8', '1', '1', 'too late']);
  const r = render(item({ type: 'r', seq: 31, id: 'm1', a: 4, c: 7, d: 7 })).tags;
  assert.equal([r.get(37), r.get(11), r.get(530), r.get(531), r.get(533)], ['31', 'm1', '7', '7', '4']);
});

function levels(b: Buffer, inst: number, bids: [bigint, bigint][], asks: [bigint, bigint][]): Buffer {
  b.writeUInt32LE(inst, P.MDO_INSTRUMENT);
  b[P.MDO_BIDS] = bids.length;
  b[P.MDO_ASKS] = asks.length;
  b[P.OUT_ID_LENGTH] = Math.min(b[P.OUT_ID_LENGTH]!, 64);
  [...bids, ...asks].forEach(([px, qty], i) => {
    b.writeBigUInt64LE(px, P.MDO_LEVELS + i * P.MDO_LEVEL_BYTES);
    b.writeBigUInt64LE(qty, P.MDO_LEVELS + i * P.MDO_LEVEL_BYTES + 8);
  });
  return b;
}

test('market data: a snapshot with levels (bids then asks), an empty book, a trade', () => {
  const w = render(levels(item({ type: 'W', id: 'md1' }), 9, [[300000n, 1500n], [299900n, 2000n]], [[300100n, 500n]]));
  assert.equal([w.tags.get(262), w.tags.get(55), w.tags.get(268)], ['md1', 'ETH-USD', '3']);
  const bytes = renderOutItem(levels(item({ type: 'W', id: 'md1' }), 9, [[300000n, 1500n]], [[300100n, 500n]]), session, instruments);
  const f = parseFields(bytes).filter((x) => [269, 270, 271].includes(x.tag)).map((x) => x.value);
  assert.equal(f, ['0', '3000.00', '1.500', '1', '3001.00', '0.500']);
  const empty = render(levels(item({ type: 'W', id: 'md2' }), 7, [], []));
  assert.equal([empty.tags.get(262), empty.tags.get(55), empty.tags.get(268)], ['md2', 'BTC-USD', '0']);
  const x = item({ type: 'X', id: 'md1', c: T.SIDE_BUY });
  x.writeUInt32LE(7, P.MDO_INSTRUMENT);
  x.writeBigUInt64LE(77n, P.OUT_BODY + P.MDO_TRADE);
  x.writeBigUInt64LE(2500001n, P.OUT_BODY + P.MDO_PRICE);
  x.writeBigUInt64LE(1n, P.OUT_BODY + P.MDO_QTY);
  const xt = render(x).tags;
  assert.equal([xt.get(262), xt.get(268), xt.get(279), xt.get(269), xt.get(55), xt.get(270), xt.get(271)], ['md1', '1', '0', '2', 'BTC-USD', '25000.01', '0.0001']);
});

test('SecurityList lists the manifest instruments', () => {
  const bytes = renderOutItem(item({ type: 'y', seq: 8, id: 'sec1', a: 1 }), session, instruments);
  assert.ok(validateMessage(bytes).ok);
  const fields = parseFields(bytes);
  const get = (tag: number): string[] => fields.filter((f) => f.tag === tag).map((f) => f.value);
  assert.equal([get(320), get(322), get(560), get(146)], [['sec1'], ['8'], ['0'], ['2']]);
  assert.equal(get(55), ['BTC-USD', 'ETH-USD']);
  assert.equal(get(48), ['7', '9']);
});

test('an out item is read as laid out; a MsgType not rendered here is refused, not sent', () => {
  const o = readOutItem(item({ type: '8', seq: 17, id: 'abc', id2: 'xyz' }));
  assert.equal([o.kind, o.msgType, o.connection, o.seq, o.slot, o.id, o.id2], [P.OUT_MESSAGE, '8', 77, 17, 3, 'abc', 'xyz']);
  assert.throws(() => renderOutItem(item({ type: 'Z' }), session, instruments), (e: unknown) => e instanceof FixError);
  assert.throws(() => readOutItem(Buffer.alloc(10)), (e: unknown) => e instanceof RangeError);
});

test.run();
