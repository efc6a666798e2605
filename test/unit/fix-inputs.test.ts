// test/unit/fix-inputs.test.ts: FIX messages into the fix service's INPUT
// records (host/fix/inputs.ts). Proves:
//   - the header part of every record: kind, MsgType, connection, slot (0 on
//     a Logon), MsgSeqNum, the flags (PossDup, OrigSendingTime, ResetSeqNum,
//     GapFill, NewSeqNo, TestReqID) and the times in ns;
//   - the verdicts: V_OK; V_REJECT with the dictionary's reason, RefTagID
//     and text; V_BUSINESS for a valid application message not served;
//     V_COMPID; V_BEGIN_STRING; V_BAD_ORDER for a decimal over the scale, an
//     unknown Symbol or an unreadable Account; an id over ID_MAX is a Reject;
//     validate=false skips the dictionary but not the served types;
//   - the bodies: an order in trading units (side, type, time in force with
//     DAY by default, post-only, price and quantity at the scales, both
//     accounts, OrderID, mass cancel type), a market data request, a Logon's
//     options and ids (never its Password);
//   - a request is the header and the records in order, 1 to
//     INPUTS_PER_REQUEST of them; a disconnect record names connection and slot.
//
// Run: node test/run.mjs test/unit/fix-inputs.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as P from '../../services/fix/protocol.ts';
import * as T from '../../services/trading/protocol.ts';
import { encodeRawMessage } from '../../host/fix/codec.ts';
import { disconnectInput, inputRequest, instrumentsBySymbol, messageInput, parseAccount, type InputContext } from '../../host/fix/inputs.ts';

const instruments = instrumentsBySymbol([{ id: 7, symbol: 'BTC-USD', priceScale: 2, qtyScale: 4 }]);
const ctx: InputContext = { connection: 0xdeadbeef, slot: 3, ours: 'QENEX', theirs: 'CLIENT1', validate: true, instruments };
const TIME = '20251206-05:46:40.123';
const TIME_NS = 1_765_000_000_123_000_000n;

/** A message with the usual header (CLIENT1 → QENEX, seq 5) and these body fields. */
function msg(type: string, body: [number, string][], header: [number, string][] = [], begin = 'FIX.4.4'): Uint8Array {
  return encodeRawMessage([[35, type], [49, 'CLIENT1'], [56, 'QENEX'], [34, '5'], ...header, [52, TIME], ...body], begin);
}
function input(bytes: Uint8Array, c: Partial<InputContext> = {}, begin = 'FIX.4.4'): Buffer {
  return messageInput(bytes, begin, { ...ctx, ...c }).input;
}
const textOf = (b: Buffer): string => b.toString('latin1', P.IN_TEXT, P.IN_TEXT + b[P.IN_TEXT_LENGTH]!);
const idOf = (b: Buffer, which: 1 | 2): string => (which === 1 ? b.toString('latin1', P.IN_ID, P.IN_ID + b[P.IN_ID_LENGTH]!)
  : b.toString('latin1', P.IN_ID2, P.IN_ID2 + b[P.IN_ID2_LENGTH]!));
const u128 = (b: Buffer, at: number): bigint => b.readBigUInt64LE(at) | (b.readBigUInt64LE(at + 8) << 64n);

test('the header part: kind, MsgType, connection, slot, MsgSeqNum, SendingTime in ns, flags', () => {
  const b = input(msg('0', [[112, 'T7']]));
  assert.equal([b[P.IN_KIND], b[P.IN_MSG_TYPE], b[P.IN_VERDICT], b.readUInt32LE(P.IN_CONNECTION), b.readUInt16LE(P.IN_SLOT), b.readUInt32LE(P.IN_SEQ)],
    [P.IN_MESSAGE, 48, P.V_OK, 0xdeadbeef, 3, 5]);
  assert.is(b.readBigUInt64LE(P.IN_SENDING), TIME_NS);
  assert.is(b.readUInt16LE(P.IN_FLAGS), P.IF_TEST_REQ);
  assert.is(idOf(b, 1), 'T7');
  const dup = input(msg('4', [[123, 'Y'], [36, '9']], [[43, 'Y'], [122, '20251206-05:45:40.123']]));
  assert.is(dup.readUInt16LE(P.IN_FLAGS), P.IF_POSS_DUP | P.IF_ORIG_SENDING | P.IF_GAP_FILL | P.IF_NEW_SEQ);
  assert.is(dup.readBigUInt64LE(P.IN_ORIG_SENDING), TIME_NS - 60_000_000_000n);
  assert.is(dup.readUInt32LE(P.IN_A), 9);
  const rr = input(msg('2', [[7, '2'], [16, '0']]));
  assert.equal([rr.readUInt32LE(P.IN_A), rr.readUInt32LE(P.IN_B)], [2, 0]);
});

test('V_REJECT carries the dictionary reason, RefTagID and text; a long id is a Reject too', () => {
  const b = input(msg('D', [[11, 'c1'], [55, 'BTC-USD'], [54, '1'], [60, TIME], [38, '1'], [40, 'Z']]));
  assert.equal([b[P.IN_VERDICT], b[P.IN_REASON], b.readUInt32LE(P.IN_A)], [P.V_REJECT, 5, 40]);
  assert.match(textOf(b), /Value is incorrect/);
  const missing = input(msg('1', []));
  assert.equal([missing[P.IN_VERDICT], missing[P.IN_REASON], missing.readUInt32LE(P.IN_A)], [P.V_REJECT, 1, 112]);
  const long = input(msg('1', [[112, 'x'.repeat(P.ID_MAX + 1)]]));
  assert.equal([long[P.IN_VERDICT], long[P.IN_REASON], long.readUInt32LE(P.IN_A)], [P.V_REJECT, 5, 112]);
});

test('V_BUSINESS for a valid application message not served, with or without validation', () => {
  const news = msg('B', [[148, 'headline'], [33, '0']]);
  for (const validate of [true, false]) {
    const b = input(news, { validate });
    assert.equal([b[P.IN_VERDICT], b[P.IN_REASON], b[P.IN_MSG_TYPE]], [P.V_BUSINESS, 3, 66], `validate=${validate}`);
  }
  const two = input(msg('AE', []));
  assert.equal([two[P.IN_VERDICT], two[P.IN_MSG_TYPE]], [P.V_BUSINESS, 0], 'a two-character MsgType is not served (and has no one-byte type)');
  assert.match(textOf(two), /AE/);
  const loose = input(msg('1', []), { validate: false });
  assert.is(loose[P.IN_VERDICT], P.V_OK, 'without validation a missing TestReqID passes to the service');
});

test('V_COMPID when 49/56 are not the session; V_BEGIN_STRING for another version', () => {
  assert.is(input(msg('0', []), { theirs: 'OTHER' })[P.IN_VERDICT], P.V_COMPID);
  assert.is(input(msg('0', []), { ours: 'OTHER' })[P.IN_VERDICT], P.V_COMPID);
  assert.is(input(msg('0', [], [], 'FIX.4.2'), {}, 'FIX.4.2')[P.IN_VERDICT], P.V_BEGIN_STRING);
});

const ORDER: [number, string][] = [[11, 'c1'], [1, '1001/2002'], [18, '6'], [55, 'BTC-USD'], [54, '2'], [60, TIME], [38, '1.25'], [40, '2'], [44, '25000.5'], [59, '1']];

test('an order in trading units: side, type, TIF, post-only, price and quantity at the scales, both accounts', () => {
  const b = input(msg('D', ORDER));
  const o = P.IN_BODY;
  assert.is(b[P.IN_VERDICT], P.V_OK, textOf(b));
  assert.equal([b.readUInt32LE(o + P.ORD_INSTRUMENT), b[o + P.ORD_SIDE], b[o + P.ORD_TYPE], b[o + P.ORD_TIF], b[o + P.ORD_FLAGS]],
    [7, T.SIDE_SELL, T.TYPE_LIMIT, T.TIF_GTC, T.OF_POST_ONLY]);
  assert.equal([b.readBigUInt64LE(o + P.ORD_PRICE), b.readBigUInt64LE(o + P.ORD_QTY)], [2500050n, 12500n]);
  assert.equal([u128(b, o + P.ORD_ACCOUNT), u128(b, o + P.ORD_ASSET_ACCOUNT)], [1001n, 2002n]);
  assert.is(idOf(b, 1), 'c1');
  const market = input(msg('D', [[11, 'c2'], [1, '5'], [55, 'BTC-USD'], [54, '1'], [60, TIME], [38, '2'], [40, '1']]));
  assert.equal([market[o + P.ORD_TYPE], market[o + P.ORD_TIF], market[o + P.ORD_SIDE], market.readBigUInt64LE(o + P.ORD_PRICE)], [T.TYPE_MARKET, T.TIF_DAY, T.SIDE_BUY, 0n]);
  assert.is(u128(market, o + P.ORD_ASSET_ACCOUNT), 0n, 'an Account without /asset has asset account 0');
});

test('V_BAD_ORDER: a decimal over the scale, an unknown Symbol, an unreadable or missing Account', () => {
  const with_ = (tag: number, value: string | undefined): Buffer =>
    input(msg('D', ORDER.flatMap(([t, v]): [number, string][] => (t !== tag ? [[t, v]] : value === undefined ? [] : [[t, value]]))));
  for (const [tag, value, why] of [[44, '25000.505', /Price/], [38, '1.00001', /OrderQty/], [55, 'DOGE-USD', /unknown Symbol/], [1, 'abc', /Account/],
    [1, '1/2/3', /Account/], [1, undefined, /no Account/]] as const) {
    const b = with_(tag, value);
    assert.is(b[P.IN_VERDICT], P.V_BAD_ORDER, `${tag}=${value}`);
    assert.match(textOf(b), why);
  }
  assert.is(with_(44, '25000.5000')[P.IN_VERDICT], P.V_OK, 'trailing zeros beyond the scale are fine');
});

test('cancel, replace and mass cancel: OrigClOrdID, OrderID, mass cancel type', () => {
  const f = input(msg('F', [[41, 'c1'], [37, '123'], [11, 'c9'], [1, '1001'], [55, 'BTC-USD'], [54, '2'], [60, TIME], [38, '1']]));
  assert.is(f[P.IN_VERDICT], P.V_OK, textOf(f));
  assert.equal([idOf(f, 1), idOf(f, 2), f.readBigUInt64LE(P.IN_BODY + P.ORD_ORDER_ID)], ['c9', 'c1', 123n]);
  const q = input(msg('q', [[11, 'm1'], [530, '7'], [60, TIME]]));
  assert.is(q[P.IN_VERDICT], P.V_OK, textOf(q));
  assert.equal([idOf(q, 1), q[P.IN_BODY + P.ORD_MASS_TYPE], u128(q, P.IN_BODY + P.ORD_ACCOUNT)], ['m1', 7, 0n], 'no Account in FIX 4.4: 0, the session\'s orders');
});

test('market data request: the first NoRelatedSym Symbol, subscription type, depth; security list request id', () => {
  const v = input(msg('V', [[262, 'md1'], [263, '1'], [264, '5'], [267, '2'], [269, '0'], [269, '1'], [146, '1'], [55, 'BTC-USD']]));
  assert.is(v[P.IN_VERDICT], P.V_OK, textOf(v));
  assert.equal([idOf(v, 1), v.readUInt32LE(P.IN_BODY + P.MD_INSTRUMENT), v[P.IN_BODY + P.MD_SUBSCRIPTION], v.readUInt16LE(P.IN_BODY + P.MD_DEPTH)], ['md1', 7, 1, 5]);
  const x = input(msg('x', [[320, 's1'], [559, '4']]));
  assert.equal([x[P.IN_VERDICT], idOf(x, 1)], [P.V_OK, 's1']);
});

test('a Logon: slot 0, HeartBtInt, ResetSeqNumFlag, both CompIDs, the configured options and the key name', () => {
  const logon = { flags: P.LO_RESET_ON_LOGON | P.LO_KEY, maxLatencyS: 120, heartbeatMinS: 1, heartbeatMaxS: 300, keyId: 42 };
  const b = input(msg('A', [[98, '0'], [108, '30'], [141, 'Y'], [553, 'desk1'], [554, 'qx_secret']]), { logon });
  assert.equal([b[P.IN_VERDICT], b.readUInt16LE(P.IN_SLOT), b.readUInt32LE(P.IN_A), b.readUInt16LE(P.IN_FLAGS) & P.IF_RESET_SEQ], [P.V_OK, 0, 30, P.IF_RESET_SEQ]);
  assert.equal([idOf(b, 1), idOf(b, 2), textOf(b)], ['QENEX', 'CLIENT1', '']);
  const o = P.IN_BODY;
  assert.equal([b[o + P.LOGON_FLAGS], b.readUInt32LE(o + P.LOGON_MAX_LATENCY), b.readUInt32LE(o + P.LOGON_HB_MIN), b.readUInt32LE(o + P.LOGON_HB_MAX),
    b.readUInt32LE(o + P.LOGON_KEY)], [logon.flags, 120, 1, 300, 42]);
  assert.not.ok(b.includes(Buffer.from('qx_secret')), 'the Password never reaches the log');
});

test('Account parsing: cash or cash/asset, decimal u128, nonzero cash', () => {
  assert.equal(parseAccount('340282366920938463463374607431768211455/1'), { cash: (1n << 128n) - 1n, asset: 1n });
  for (const bad of ['0', '340282366920938463463374607431768211456', '-1', '1/', '', '1/x']) assert.is(parseAccount(bad), undefined, bad);
});

test('a request: the header, the records in order; a disconnect record', () => {
  const d = disconnectInput(9, 4);
  assert.equal([d[P.IN_KIND], d.readUInt32LE(P.IN_CONNECTION), d.readUInt16LE(P.IN_SLOT), d.length], [P.IN_DISCONNECT, 9, 4, P.INPUT_BYTES]);
  const a = input(msg('0', []));
  const r = inputRequest([a, d]);
  assert.equal([r[0], r.readUInt32LE(P.HEADER_COUNT), r.length], [P.FIX_VERSION, 2, P.HEADER_BYTES + 2 * P.INPUT_BYTES]);
  assert.ok(r.subarray(P.HEADER_BYTES + P.INPUT_BYTES).equals(d));
  assert.throws(() => inputRequest([]), RangeError);
  assert.throws(() => inputRequest(Array(P.INPUTS_PER_REQUEST + 1).fill(d)), RangeError);
});

test.run();
