// test/unit/fix-codec.test.ts: the FIX 4.4 codec's framing, parsing and
// rendering (host/fix/framing.ts, parse.ts, render.ts). Proves:
//   - any split of a stream of valid messages into chunks gives back exactly
//     those messages, and nothing is left buffered (property);
//   - each kind of garbled message (bad BeginString, BodyLength, MsgType
//     position, CheckSum, size) is set aside with its reason, and the stream
//     resynchronises at the next 8=FIX, even one inside the garbled bytes;
//   - the framer's buffer stays bounded whatever arrives, a large read's
//     memory is given back, and a largest message arriving a byte at a time
//     costs linear time;
//   - fields come out in order with their offsets; tags that are not
//     positive integers without leading zeros are marked, empty values kept;
//     DATA fields carry SOH and '=' when their Length field says so;
//   - every message the acceptor will exchange (Logon to SecurityList)
//     renders in dictionary order with the right BodyLength and CheckSum,
//     validates, and parses back to the same fields; rendering again from
//     the parsed structure gives the same bytes;
//   - render refuses what would put a wrong message on the wire (floats,
//     fields the message does not have, SOH in a value).
//
// Run: node test/run.mjs test/unit/fix-codec.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import {
  FIX_LIMITS, FixError, FixFramer, checksum, encodeRawMessage, frameMessages, parseFields, renderMessage, validateMessage,
  type FixFields, type OutFields,
} from '../../host/fix/codec.ts';

// ---- helpers ----

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
/** Message text with '|' for SOH, for readable failures. */
const show = (b: Uint8Array): string => Buffer.from(b).toString('latin1').replaceAll('\x01', '|');
/** A message of fields written '35=0|49=A|...' (SOH as '|'), BodyLength and CheckSum computed. */
function wire(fields: string, beginString = 'FIX.4.4'): Uint8Array {
  return encodeRawMessage(fields.split('|').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] as const), beginString);
}
function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
const HEADER = { SenderCompID: 'CLIENT', TargetCompID: 'QENEX', MsgSeqNum: 7, SendingTime: '20261207-12:00:00.000' };
const heartbeat = (seq: number): Uint8Array => wire(`35=0|49=CLIENT|56=QENEX|34=${seq}|52=20261207-12:00:00.000`);

/** Frames a buffer in one go and expects exactly these garbled reasons and messages. */
function framesTo(buf: Uint8Array, messages: Uint8Array[], reasons: string[]): void {
  const r = frameMessages(buf);
  assert.equal(r.garbled.map((g) => g.reason), reasons, JSON.stringify(r.garbled));
  assert.equal(r.messages.map((m) => show(m.bytes)), messages.map(show));
}

// ---- framing ----

test('a valid message frames whole: BodyLength counts 35= to the SOH before 10=, CheckSum is the byte sum mod 256', () => {
  const m = heartbeat(1);
  const text = show(m);
  const body = text.slice(text.indexOf('|35=') + 1, text.lastIndexOf('10='));
  assert.ok(text.startsWith(`8=FIX.4.4|9=${body.length}|35=0|`), text);
  assert.equal(Number(text.slice(-4, -1)), checksum(m, 0, m.length - 7));
  const r = frameMessages(m);
  assert.equal(r.consumed, m.length);
  assert.equal(r.messages.length, 1);
  assert.equal(r.messages[0]!.beginString, 'FIX.4.4');
});

test('any split of a stream of valid messages gives back the same messages, nothing garbled, nothing left (property)', () => {
  const message = fc.record({
    id: fc.stringMatching(/^[A-Za-z0-9=]{1,30}$/),
    raw: fc.uint8Array({ minLength: 1, maxLength: 40 }),
    seq: fc.integer({ min: 1, max: 1_000_000 }),
    kind: fc.constantFrom('0', '1', 'A'),
  }).map(({ id, raw, seq, kind }) => renderMessage({
    msgType: kind, header: { ...HEADER, MsgSeqNum: seq },
    body: kind === '0' ? {} : kind === '1' ? { TestReqID: id } : { EncryptMethod: 0, HeartBtInt: 30, RawData: raw },
  }));
  fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (msgs, cuts) => {
    const stream = concat(...msgs);
    const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
    const framer = new FixFramer();
    const out: Uint8Array[] = [];
    let prev = 0;
    for (const p of [...points, stream.length]) {
      const r = framer.push(stream.subarray(prev, p));
      assert.equal(r.garbled, []);
      out.push(...r.messages);
      prev = p;
    }
    assert.equal(out.map(show), msgs.map(show));
    assert.is(framer.buffered, 0);
  }), { numRuns: 300 });
});

test('an incomplete message is not consumed: the framer waits for the rest', () => {
  const m = heartbeat(1);
  for (const cut of [1, 5, 12, 20, m.length - 1]) {
    const r = frameMessages(m.subarray(0, cut));
    assert.equal([r.messages.length, r.garbled.length, r.consumed], [0, 0, 0], `cut at ${cut}`);
  }
});

test('a wrong CheckSum is garbled and ignored; the next message frames', () => {
  const bad = heartbeat(1);
  bad[bad.length - 2] = bad[bad.length - 2] === 0x30 ? 0x31 : 0x30;
  framesTo(concat(bad, heartbeat(2)), [heartbeat(2)], ['checksum']);
  const twoDigits = bytes(show(heartbeat(1)).replace(/10=(\d)(\d\d)\|$/, '10=$2|').replaceAll('|', '\x01'));
  framesTo(concat(twoDigits, heartbeat(2)), [heartbeat(2)], ['checksum']);
});

test('a BodyLength that does not end at 10= is garbled; resync finds the next message, even inside the garbled bytes', () => {
  const m = show(heartbeat(1));
  const len = Number(/\|9=(\d+)\|/.exec(m)![1]);
  const longer = bytes(m.replace(`9=${len}|`, `9=${len + 20}|`).replaceAll('|', '\x01'));
  const shorter = bytes(m.replace(`9=${len}|`, `9=${len - 3}|`).replaceAll('|', '\x01'));
  framesTo(concat(longer, heartbeat(2), heartbeat(3)), [heartbeat(2), heartbeat(3)], ['body-length']);
  framesTo(concat(shorter, heartbeat(2)), [heartbeat(2)], ['body-length']);
});

test('BodyLength with a leading zero, a sign, a non-digit, too many digits or too large a value is garbled', () => {
  const m = show(heartbeat(1));
  const len = /\|9=(\d+)\|/.exec(m)![1]!;
  for (const [bad, reason] of [[`0${len}`, 'body-length'], [`+${len}`, 'body-length'], [`${len}a`, 'body-length'], ['', 'body-length'],
    ['1234567', 'body-length'], ['99999', 'too-long'], [String(FIX_LIMITS.messageBytes), 'too-long']] as const) {
    framesTo(concat(bytes(m.replace(`9=${len}|`, `9=${bad}|`).replaceAll('|', '\x01')), heartbeat(2)), [heartbeat(2)], [reason]);
  }
});

test('BeginString not FIX.n.m, BodyLength not second or MsgType not third is garbled', () => {
  framesTo(concat(wire('35=0|49=A', 'FIX4.4'), heartbeat(2)), [heartbeat(2)], ['begin-string']);
  framesTo(concat(bytes('8=FIX.4.4\x0135=0\x019=5\x0110=000\x01'), heartbeat(2)), [heartbeat(2)], ['body-length']);
  framesTo(concat(wire('49=A|35=0|56=B'), heartbeat(2)), [heartbeat(2)], ['msg-type']);
  framesTo(concat(bytes('8=FIX.4.4\x019=0\x0110=000\x01'), heartbeat(2)), [heartbeat(2)], ['msg-type']);
  framesTo(concat(bytes(`8=FIX.4.4${'x'.repeat(FIX_LIMITS.beginStringBytes)}`), heartbeat(2)), [heartbeat(2)], ['begin-string']);
});

test('a well-formed BeginString of another version frames, and says which (the session answers it with a Logout)', () => {
  const r = frameMessages(wire('35=0|49=A|56=B|34=1|52=20261207-12:00:00', 'FIX.4.2'));
  assert.equal(r.messages.map((m) => m.beginString), ['FIX.4.2']);
});

test('junk before, between and after messages is set aside; a tail that may begin 8=FIX is kept for the next read', () => {
  framesTo(concat(bytes('hello'), heartbeat(1), bytes('\x01\x01x'), heartbeat(2)), [heartbeat(1), heartbeat(2)], ['junk', 'junk']);
  const r = frameMessages(concat(heartbeat(1), bytes('zz8=FI')));
  assert.equal([r.messages.length, r.garbled.map((g) => [g.reason, g.length])], [1, [['junk', 2]]]);
  assert.is(r.consumed, heartbeat(1).length + 2);
});

test('the framer never holds more than one message of bytes, whatever arrives', () => {
  const framer = new FixFramer();
  const junk = bytes('8=FIX.4.4\x019=65000\x0135=0\x01' + 'x'.repeat(1000));
  let garbled = 0;
  for (let i = 0; i < 200; i++) garbled += framer.push(junk).garbled.length;
  assert.ok(garbled > 0);
  assert.ok(framer.buffered <= FIX_LIMITS.messageBytes, `buffered ${framer.buffered}`);
  const noSoh = new FixFramer();
  for (let i = 0; i < 200; i++) noSoh.push(bytes('8=FIX'.repeat(100)));
  assert.ok(noSoh.buffered <= FIX_LIMITS.beginStringBytes, `buffered ${noSoh.buffered}`);
  const r = noSoh.push(heartbeat(1));
  assert.equal(r.messages.map(show), [show(heartbeat(1))]);
});

test('a largest message arriving one byte at a time frames once, in linear time (no copy of what came before per byte)', () => {
  const big = renderMessage({ msgType: 'A', header: HEADER, body: { EncryptMethod: 0, HeartBtInt: 30, RawData: 'r'.repeat(FIX_LIMITS.messageBytes - 200) } });
  const framer = new FixFramer();
  const out: Uint8Array[] = [];
  const t0 = performance.now();
  for (let i = 0; i < big.length; i++) out.push(...framer.push(big.subarray(i, i + 1)).messages);
  const took = performance.now() - t0;
  assert.equal([out.length, framer.buffered], [1, 0]);
  assert.is(show(out[0]!), show(big));
  assert.ok(took < 2000, `${big.length} one-byte pushes took ${took.toFixed(0)} ms`);
});

test('a large read grows the framer for that push only; it keeps at most a few messages of memory afterwards', () => {
  const framer = new FixFramer();
  const many = concat(...Array.from({ length: 20_000 }, (_, i) => heartbeat(i + 1)));
  assert.ok(many.length > 4 * FIX_LIMITS.messageBytes);
  assert.is(framer.push(many).messages.length, 20_000);
  assert.ok(framer.capacity <= 4 * FIX_LIMITS.messageBytes, `capacity ${framer.capacity}`);
  const tail = heartbeat(1);
  framer.push(concat(many, tail.subarray(0, 10)));
  assert.is(framer.buffered, 10);
  assert.ok(framer.capacity <= 4 * FIX_LIMITS.messageBytes, `capacity ${framer.capacity}`);
  assert.equal(framer.push(tail.subarray(10)).messages.map(show), [show(tail)]);
});

test('garbled offsets from a FixFramer are stream offsets', () => {
  const framer = new FixFramer();
  framer.push(heartbeat(1));
  const r = framer.push(concat(bytes('junk'), heartbeat(2)));
  assert.equal(r.garbled.map((g) => [g.offset, g.length]), [[heartbeat(1).length, 4]]);
});

// ---- parsing ----

test('fields come out in order with tag, value and offsets', () => {
  const m = heartbeat(12);
  const fields = parseFields(m);
  assert.equal(fields.map((f) => f.tag), [8, 9, 35, 49, 56, 34, 52, 10]);
  assert.equal(fields.map((f) => f.value).slice(2, 7), ['0', 'CLIENT', 'QENEX', '12', '20261207-12:00:00.000']);
  for (const f of fields) {
    assert.is(show(m.subarray(f.offset, f.valueOffset)), `${f.tag}=`);
    assert.is(Buffer.from(m.subarray(f.valueOffset, f.valueOffset + f.value.length)).toString('latin1'), f.value);
  }
});

test('tags that are not positive integers without leading zero, or have no "=", are marked -1; empty values are kept', () => {
  const m = bytes('8=FIX.4.4|9=1|35=0|49=A|012=x|0=y|1a=z|=w|1234567890=v|noequals|58=|56=B|10=000|'.replaceAll('|', '\x01'));
  const fields = parseFields(m);
  assert.equal(fields.slice(3, 12).map((f) => [f.tag, f.value]), [
    [49, 'A'], [-1, 'x'], [-1, 'y'], [-1, 'z'], [-1, 'w'], [-1, 'v'], [-1, ''], [58, ''], [56, 'B'],
  ]);
});

test('a DATA field is read by its Length field: SOH and "=" inside survive', () => {
  const data = 'a\x01b=c\x0110=123\x01';
  const m = renderMessage({ msgType: 'A', header: HEADER, body: { EncryptMethod: 0, HeartBtInt: 30, RawData: data } });
  assert.equal(frameMessages(m).messages.length, 1);
  const fields = parseFields(m);
  const raw = fields.find((f) => f.tag === 96)!;
  assert.is(raw.value, data);
  assert.is(fields.find((f) => f.tag === 95)!.value, String(data.length));
  const v = validateMessage(m);
  assert.ok(v.ok && v.message.body.get(96) === data);
});

test('a DATA field its Length does not end at an SOH is marked, and read to the next SOH', () => {
  const fields = parseFields(wire('35=A|95=3|96=a\x01bcd|98=0'));
  const raw = fields.find((f) => f.tag === 96)!;
  assert.equal([raw.value, raw.badLength], ['a', true]);
  assert.ok(fields.some((f) => f.tag === -1 && f.value === ''), 'bcd without "=" is a field without a tag');
  assert.is(parseFields(wire('35=A|95=1|96=a|98=0')).find((f) => f.tag === 96)!.badLength, undefined);
});

// ---- rendering ----

const T = '20261207-12:00:00.000';
const INSTRUMENT = { Symbol: 'QNX' };
const ROUND_TRIP: [string, OutFields][] = [
  ['A', { EncryptMethod: 0, HeartBtInt: 30, ResetSeqNumFlag: 'Y', Username: 'u', Password: 'p' }],
  ['0', { TestReqID: 't1' }],
  ['1', { TestReqID: 't1' }],
  ['2', { BeginSeqNo: 5, EndSeqNo: 0 }],
  ['3', { RefSeqNum: 4, RefTagID: 44, RefMsgType: 'D', SessionRejectReason: 6, Text: 'Incorrect data format for value' }],
  ['4', { GapFillFlag: 'Y', NewSeqNo: 12 }],
  ['5', { Text: 'bye' }],
  ['D', { ClOrdID: 'c1', ...INSTRUMENT, Side: '1', TransactTime: T, OrdType: '2', OrderQty: '100', Price: '10.25', TimeInForce: '1',
    NoPartyIDs: [{ PartyID: 'ACC1', PartyIDSource: 'D', PartyRole: 24, NoPartySubIDs: [{ PartySubID: 's', PartySubIDType: 1 }] }, { PartyID: 'T1', PartyRole: 11 }] }],
  ['F', { OrigClOrdID: 'c1', ClOrdID: 'c2', ...INSTRUMENT, Side: '1', TransactTime: T, OrderQty: '100' }],
  ['G', { OrigClOrdID: 'c1', ClOrdID: 'c3', ...INSTRUMENT, Side: '1', TransactTime: T, OrdType: '2', OrderQty: '50', Price: '10.30' }],
  ['8', { OrderID: 'o1', ExecID: 'e1', ExecType: 'F', OrdStatus: '1', ...INSTRUMENT, Side: '1', LeavesQty: '50', CumQty: '50', AvgPx: '10.25',
    LastQty: '50', LastPx: '10.25', TransactTime: T }],
  ['9', { OrderID: 'o1', ClOrdID: 'c2', OrigClOrdID: 'c1', OrdStatus: '8', CxlRejResponseTo: '1', CxlRejReason: 1 }],
  ['V', { MDReqID: 'm1', SubscriptionRequestType: '1', MarketDepth: 0, MDUpdateType: 1,
    NoMDEntryTypes: [{ MDEntryType: '0' }, { MDEntryType: '1' }], NoRelatedSym: [{ Symbol: 'QNX' }, { Symbol: 'ABC' }] }],
  ['W', { MDReqID: 'm1', ...INSTRUMENT, NoMDEntries: [{ MDEntryType: '0', MDEntryPx: '10.25', MDEntrySize: '100' }, { MDEntryType: '1', MDEntryPx: '10.30', MDEntrySize: '7' }] }],
  ['X', { MDReqID: 'm1', NoMDEntries: [{ MDUpdateAction: '0', MDEntryType: '0', Symbol: 'QNX', MDEntryPx: '10.25', MDEntrySize: '100' },
    { MDUpdateAction: '2', MDEntryType: '1', Symbol: 'QNX', MDEntryPx: '10.30' }] }],
  ['x', { SecurityReqID: 'r1', SecurityListRequestType: 4 }],
  ['y', { SecurityReqID: 'r1', SecurityResponseID: 's1', SecurityRequestResult: 0, TotNoRelatedSym: 2,
    NoRelatedSym: [{ Symbol: 'QNX', NoSecurityAltID: [{ SecurityAltID: 'X1', SecurityAltIDSource: '4' }], Currency: 'EUR' }, { Symbol: 'ABC' }] }],
  ['q', { ClOrdID: 'c9', MassCancelRequestType: '7', TransactTime: T }],
  ['j', { RefSeqNum: 9, RefMsgType: 'E', BusinessRejectReason: 3, Text: 'Unsupported Message Type' }],
];

/** The validated structure as render input: the header without 8, 9, 35. */
function asOutbound(fields: FixFields, drop: number[] = []): OutFields {
  return new Map([...fields].filter(([t]) => !drop.includes(t)));
}

for (const [msgType, body] of ROUND_TRIP) {
  test(`${msgType}: render → frame → parse → validate gives the same fields, and renders again to the same bytes`, () => {
    const m = renderMessage({ msgType, header: HEADER, body });
    const framed = frameMessages(m);
    assert.equal([framed.messages.length, framed.garbled.length, framed.consumed], [1, 0, m.length], show(m));
    const v = validateMessage(m);
    if (!v.ok) return assert.unreachable(`${show(m)}: ${v.text}`);
    assert.is(v.message.msgType, msgType);
    const givenTags = Object.keys(body).length;
    assert.ok(v.message.body.size >= givenTags, `${v.message.body.size} body fields, ${givenTags} given`);
    const again = renderMessage({ msgType, header: asOutbound(v.message.header, [8, 9, 35]), body: asOutbound(v.message.body) });
    assert.is(show(again), show(m));
  });
}

test('render writes the header then the body in dictionary order, whatever order the fields are given in', () => {
  const m = renderMessage({ msgType: 'D', header: { SendingTime: T, MsgSeqNum: 3, TargetCompID: 'B', SenderCompID: 'A' },
    body: { OrdType: '1', TransactTime: T, Side: '2', Symbol: 'QNX', ClOrdID: 'c' } });
  assert.equal(parseFields(m).map((f) => f.tag), [8, 9, 35, 49, 56, 34, 52, 11, 55, 54, 60, 40, 10]);
});

test('a group instance renders in the group order, its count from the list', () => {
  const m = renderMessage({ msgType: 'W', header: HEADER, body: { Symbol: 'QNX', NoMDEntries: [{ MDEntrySize: '5', MDEntryPx: '1', MDEntryType: '0' }] } });
  assert.match(show(m), /\|268=1\|269=0\|270=1\|271=5\|10=/);
});

test('render refuses floats, unknown fields, fields of another message, SOH in a value, and a message we would refuse', () => {
  const refused = (body: OutFields, message: RegExp, msgType = 'D'): void => {
    try { renderMessage({ msgType, header: HEADER, body }); } catch (e) {
      assert.instance(e, FixError);
      assert.match((e as Error).message, message);
      return;
    }
    assert.unreachable(`expected a FixError matching ${message}`);
  };
  const order = { ClOrdID: 'c', Symbol: 'QNX', Side: '1', TransactTime: T, OrdType: '1' };
  refused({ ...order, Price: 10.25 }, /not an integer; give decimals as strings/);
  refused({ ...order, NoSuchField: '1' }, /NoSuchField is not a FIX field/);
  refused({ ...order, TestReqID: '1' }, /cannot be written here/);
  refused({ ...order, Text: 'a\x01b' }, /contains SOH/);
  refused({ ...order, Side: 'Z' }, /would be refused: Value is incorrect/);
  refused({ ClOrdID: 'c' }, /would be refused: Required tag missing/);
  refused({}, /MsgType ZZ is not in the dictionary/, 'ZZ');
  assert.throws(() => renderMessage({ msgType: '0', header: { ...HEADER, BodyLength: 5 } }), /cannot be written here/);
});

test('render with validate: false writes what it is given (for negative tests), still in order', () => {
  const m = renderMessage({ msgType: 'D', header: HEADER, body: { ClOrdID: 'c' } }, { validate: false });
  assert.ok(!validateMessage(m).ok);
  assert.equal(frameMessages(m).messages.length, 1);
});

test.run();
