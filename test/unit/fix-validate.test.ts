// test/unit/fix-validate.test.ts: FIX 4.4 messages checked against the data
// dictionary (host/fix/validate.ts, values.ts). Proves:
//   - a valid NewOrderSingle is accepted, and each SessionRejectReason the
//     codec owns (0, 1, 2, 3, 4, 5, 6, 11, 13, 14, 15, 16) comes out, with
//     its RefTagID, for the one change to it that should cause it — the
//     valid message is the negative case of every one;
//   - a MsgType the dictionary has but the application does not serve is a
//     BusinessMessageReject (reason 3), not a session Reject (11);
//   - each refusal becomes the Reject / BusinessMessageReject that answers
//     it, a valid message itself;
//   - repeating groups come out as arrays of instances in message order:
//     NoPartyIDs in NewOrderSingle, NoMDEntries in a snapshot (W), groups
//     in groups (NoPartySubIDs inside NoPartyIDs, three deep in
//     NewOrderCross), a header group (NoHops);
//   - every FIX 4.4 type of the dictionary takes its valid forms and refuses
//     its invalid ones, and enumerated values (MultipleValueString token by
//     token) are checked.
//
// Run: node test/run.mjs test/unit/fix-validate.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SessionRejectReason as R, encodeRawMessage, fix44, isEnumValue, isValidFormat, renderMessage, replyTo, validateMessage,
  type FixFields, type FixType, type Validation,
} from '../../host/fix/codec.ts';

// ---- helpers ----

const HEADER = '35=D|49=CLIENT|56=QENEX|34=7|52=20261207-12:00:00.000';
const ORDER = '11=c1|55=QNX|54=1|60=20261207-12:00:00.000|40=2|38=100|44=10.25';
const TRAILER_FIELDS = '';

/** Validates fields written '35=D|49=A|...' (SOH as '|'); BodyLength and CheckSum are computed. */
function check(fields: string, supported?: ReadonlySet<string>): Validation {
  const pairs = (fields + TRAILER_FIELDS).split('|').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] as const);
  return validateMessage(encodeRawMessage(pairs), supported === undefined ? {} : { supported });
}

function accepted(fields: string): FixFields {
  const v = check(fields);
  if (!v.ok) throw new Error(`refused: ${v.text}`);
  return v.message.body;
}

/** Expects a session Reject with this reason and RefTagID. */
function rejected(fields: string, reason: number, refTag: number | undefined): void {
  const v = check(fields);
  if (v.ok) return assert.unreachable(`accepted, expected reason ${reason}`);
  assert.equal([v.level, v.reason, v.refTag], ['session', reason, refTag], v.text);
  assert.is(v.msgType, fields.slice(3, fields.indexOf('|')));
}

// ---- session reject reasons ----

test('the valid NewOrderSingle every negative case below starts from is accepted', () => {
  const body = accepted(`${HEADER}|${ORDER}`);
  assert.equal([...body.keys()], [11, 55, 54, 60, 40, 38, 44]);
  assert.is(body.get(44), '10.25');
});

test('0 invalid tag number: a tag that is not a positive integer without leading zero', () => {
  rejected(`${HEADER}|${ORDER}|1a=x`, R.InvalidTagNumber, undefined);
  rejected(`${HEADER}|${ORDER}|058=x`, R.InvalidTagNumber, undefined);
  rejected(`${HEADER}|${ORDER}|0=x`, R.InvalidTagNumber, undefined);
  rejected(`${HEADER}|${ORDER}|-58=x`, R.InvalidTagNumber, undefined);
});

test('1 required tag missing: in the body, the header, or a group instance', () => {
  rejected(`${HEADER}|${ORDER.replace('11=c1|', '')}`, R.RequiredTagMissing, 11);
  rejected(`${HEADER.replace('|34=7', '')}|${ORDER}`, R.RequiredTagMissing, 34);
  rejected(`${HEADER.replace('|52=20261207-12:00:00.000', '')}|${ORDER}`, R.RequiredTagMissing, 52);
  const cross = '35=s|49=CLIENT|56=QENEX|34=7|52=20261207-12:00:00.000|548=x1|549=1|550=0|552=2|54=1|11=a|54=2|11=b|55=QNX|60=20261207-12:00:00.000|40=1';
  accepted(cross);
  rejected(cross.replace('54=2|11=b', '54=2'), R.RequiredTagMissing, 11);
});

test('2 tag not defined for this message type: a known field of another message, or a group member outside its group', () => {
  rejected(`${HEADER}|${ORDER}|112=t`, R.TagNotDefinedForMessageType, 112);
  rejected(`${HEADER}|${ORDER}|448=P`, R.TagNotDefinedForMessageType, 448);
});

test('3 undefined tag: a tag number FIX 4.4 does not define', () => {
  rejected(`${HEADER}|${ORDER}|9999=x`, R.UndefinedTag, 9999);
  rejected(`${HEADER}|${ORDER}|957=x`, R.UndefinedTag, 957);
});

test('4 tag specified without a value (MsgType included)', () => {
  rejected(`${HEADER}|${ORDER}|58=`, R.TagSpecifiedWithoutValue, 58);
  rejected(`${HEADER.replace('35=D', '35=')}|${ORDER}`, R.TagSpecifiedWithoutValue, 35);
});

test('5 value is incorrect (out of range): not one of the enumerated values', () => {
  rejected(`${HEADER}|${ORDER.replace('54=1', '54=Z')}`, R.ValueIncorrect, 54);
  rejected(`${HEADER}|${ORDER}|18=1 ~`, R.ValueIncorrect, 18);
  accepted(`${HEADER}|${ORDER}|18=1 G`);
});

test('6 incorrect data format: the value is not of the field type, a group count is not a count, a DATA field is not as long as said', () => {
  rejected(`${HEADER}|${ORDER.replace('44=10.25', '44=1e3')}`, R.IncorrectDataFormat, 44);
  rejected(`${HEADER}|${ORDER.replace('60=20261207-12:00:00.000', '60=20261207-25:00:00')}`, R.IncorrectDataFormat, 60);
  rejected(`${HEADER}|${ORDER}|453=x`, R.IncorrectDataFormat, 453);
  const report = '35=r|49=QENEX|56=CLIENT|34=7|52=20261207-12:00:00.000|37=o|530=7|531=7';
  accepted(`${report}|534=1|41=c1`);
  rejected(`${report}|534=-1`, R.IncorrectDataFormat, 534); // typed INT in the file, a count all the same
  const seq = check(`${HEADER.replace('34=7', '34=x')}|${ORDER}`);
  assert.ok(!seq.ok && seq.reason === R.IncorrectDataFormat && seq.refTag === 34 && seq.seqNum === undefined);
  const logon = '35=A|49=CLIENT|56=QENEX|34=1|52=20261207-12:00:00.000|98=0|108=30';
  accepted(`${logon}|95=3|96=a\x01b`);
  rejected(`${logon}|95=2|96=a\x01b`, R.IncorrectDataFormat, 96);
  rejected(`${logon}|96=ab`, R.IncorrectDataFormat, 96);
});

test('11 invalid MsgType: one the dictionary does not have', () => {
  rejected(`${HEADER.replace('35=D', '35=ZZ')}|${ORDER}`, R.InvalidMsgType, 35);
});

test('a MsgType in the dictionary but not served is a BusinessMessageReject 380=3, not a session Reject', () => {
  const v = check(`${HEADER}|${ORDER}`, new Set(['0', '1', 'A']));
  assert.ok(!v.ok);
  if (v.ok) return;
  assert.equal([v.level, v.reason, v.refTag, v.msgType, v.seqNum], ['business', 3, undefined, 'D', 7]);
  assert.ok(check(`${HEADER}|${ORDER}`, new Set(['D'])).ok);
  assert.ok(check('35=0|49=CLIENT|56=QENEX|34=8|52=20261207-12:00:00.000', new Set(['D'])).ok, 'admin messages are the session\'s, always served');
  const broken = check(`${HEADER}|${ORDER}|58=`, new Set(['0']));
  assert.ok(!broken.ok && broken.level === 'session', 'a broken message of an unserved type is still a session Reject');
});

test('13 tag appears more than once: in the body, the header, a group instance', () => {
  rejected(`${HEADER}|${ORDER}|11=c2`, R.TagAppearsMoreThanOnce, 11);
  rejected(`${HEADER}|49=X|${ORDER}`, R.TagAppearsMoreThanOnce, 49);
  rejected(`${HEADER}|${ORDER}|453=1|448=P|447=D|447=D`, R.TagAppearsMoreThanOnce, 447);
});

test('14 tag specified out of required order: a header field in the body, 8/9/35 not first, 10 not last, a body field after the trailer', () => {
  rejected(`${HEADER}|11=c1|49=X|55=QNX|54=1|60=20261207-12:00:00.000|40=2`, R.TagSpecifiedOutOfRequiredOrder, 49);
  rejected(`${HEADER}|${ORDER}|8=FIX.4.4`, R.TagSpecifiedOutOfRequiredOrder, 8);
  rejected(`${HEADER}|${ORDER}|35=D`, R.TagSpecifiedOutOfRequiredOrder, 35);
  rejected(`${HEADER}|${ORDER}|10=000`, R.TagSpecifiedOutOfRequiredOrder, 10);
  accepted(`${HEADER}|${ORDER}|93=3|89=a\x01b`);
  rejected(`${HEADER}|${ORDER.replace('|44=10.25', '')}|93=3|89=a\x01b|44=10.25`, R.TagSpecifiedOutOfRequiredOrder, 44);
});

test('15 repeating group fields out of order: a member before the delimiter, or against the group order', () => {
  accepted(`${HEADER}|${ORDER}|453=1|448=P|447=D|452=1`);
  rejected(`${HEADER}|${ORDER}|453=1|447=D|448=P`, R.RepeatingGroupFieldsOutOfOrder, 447);
  rejected(`${HEADER}|${ORDER}|453=1|448=P|452=1|447=D`, R.RepeatingGroupFieldsOutOfOrder, 447);
});

test('16 incorrect NumInGroup count: fewer or more instances than the count', () => {
  rejected(`${HEADER}|${ORDER}|453=2|448=P|447=D`, R.IncorrectNumInGroupCount, 453);
  rejected(`${HEADER}|${ORDER}|453=1|448=P|448=Q`, R.IncorrectNumInGroupCount, 453);
  rejected(`${HEADER}|${ORDER}|453=0|448=P`, R.IncorrectNumInGroupCount, 453);
  rejected(`${HEADER}|453=1|${ORDER}`, R.IncorrectNumInGroupCount, 453);
  accepted(`${HEADER}|${ORDER}|453=0`);
});

test('a refusal carries the MsgSeqNum and MsgType for the Reject (RefSeqNum 45, RefMsgType 372) and a Text', () => {
  const v = check(`${HEADER}|${ORDER}|58=`);
  assert.ok(!v.ok);
  if (v.ok) return;
  assert.equal([v.seqNum, v.msgType], [7, 'D']);
  assert.match(v.text, /^Tag specified without a value: /);
});

test('a refusal turns into the Reject or BusinessMessageReject that answers it, which is itself a valid message', () => {
  const header = { SenderCompID: 'QENEX', TargetCompID: 'CLIENT', MsgSeqNum: 3, SendingTime: '20261207-12:00:01.000' };
  const answer = (v: Validation): Map<number, unknown> => {
    if (v.ok) throw new Error('accepted');
    const reply = replyTo(v)!;
    const back = validateMessage(renderMessage({ msgType: reply.msgType, header, body: reply.body }));
    if (!back.ok) throw new Error(back.text);
    return new Map([[35, back.message.msgType], ...back.message.body]);
  };
  const reject = answer(check(`${HEADER}|${ORDER.replace('54=1', '54=Z')}`));
  assert.equal([...reject], [[35, '3'], [45, '7'], [371, '54'], [372, 'D'], [373, '5'], [58, reject.get(58)]]);
  assert.match(String(reject.get(58)), /^Value is incorrect/);
  const business = answer(check(`${HEADER}|${ORDER}`, new Set(['0'])));
  assert.equal([business.get(35), business.get(45), business.get(372), business.get(380), business.has(371)], ['j', '7', 'D', '3', false]);
  const noTag = answer(check(`${HEADER}|${ORDER}|1a=x`));
  assert.equal([noTag.get(373), noTag.has(371)], ['0', false]);
  const noSeq = check(`${HEADER.replace('34=7', '34=x')}|${ORDER}`);
  assert.ok(!noSeq.ok && replyTo(noSeq) === undefined, 'no MsgSeqNum to refer to: the session logs out instead');
});

// ---- repeating groups ----

test('NoPartyIDs in NewOrderSingle, with NoPartySubIDs inside, come out as nested arrays in message order', () => {
  const body = accepted(`${HEADER}|${ORDER}|453=2|448=ACC|447=D|452=24|802=2|523=s1|803=1|523=s2|448=TRD|452=11|59=0`);
  assert.equal(body.get(453), [
    new Map<number, unknown>([[448, 'ACC'], [447, 'D'], [452, '24'], [802, [new Map([[523, 's1'], [803, '1']]), new Map([[523, 's2']])]]]),
    new Map([[448, 'TRD'], [452, '11']]),
  ]);
  assert.is(body.get(59), '0', 'a body field after the group is the body\'s again');
});

test('NoMDEntries in a MarketDataSnapshotFullRefresh (W)', () => {
  const w = '35=W|49=QENEX|56=CLIENT|34=3|52=20261207-12:00:00.000|55=QNX|268=3|269=0|270=10.25|271=100|269=0|270=10.2|271=5|269=1|270=10.3|271=7';
  const entries = accepted(w).get(268) as FixFields[];
  assert.equal(entries.map((e) => [e.get(269), e.get(270), e.get(271)]), [['0', '10.25', '100'], ['0', '10.2', '5'], ['1', '10.3', '7']]);
});

test('three levels: NoSides > NoPartyIDs > NoPartySubIDs in a NewOrderCross (s)', () => {
  const s = '35=s|49=CLIENT|56=QENEX|34=7|52=20261207-12:00:00.000|548=x1|549=1|550=0|552=2|54=1|11=a|453=1|448=P|802=1|523=q|54=2|11=b|55=QNX|60=20261207-12:00:00.000|40=1';
  const sides = accepted(s).get(552) as FixFields[];
  assert.is(sides.length, 2);
  const parties = sides[0]!.get(453) as FixFields[];
  assert.equal((parties[0]!.get(802) as FixFields[])[0]!.get(523), 'q');
  assert.equal(sides[1]!.get(11), 'b');
});

test('a header group (NoHops) is read in the header', () => {
  const v = check(`${HEADER}|627=2|628=H1|629=20261207-11:00:00|628=H2|${ORDER}`);
  if (!v.ok) return assert.unreachable(v.text);
  assert.equal((v.message.header.get(627) as FixFields[]).map((h) => h.get(628)), ['H1', 'H2']);
});

// ---- types ----

const TYPES: [FixType, string[], string[]][] = [
  ['INT', ['0', '-5', '00023', '123456789012'], ['+1', '1.0', '1e3', '- 1', 'abc', '-', ' 1']],
  ['LENGTH', ['0', '12', '007'], ['-1', '+1', '1.5', 'a']],
  ['SEQNUM', ['0', '1', '4294967296'], ['-1', '1.0', 'x']],
  ['NUMINGROUP', ['0', '3'], ['-3', '3.0', '']],
  ['TAGNUM', ['1', '9999'], ['0', '01', '-1', '1.0']],
  ['DAYOFMONTH', ['1', '07', '31'], ['0', '32', '-1', '007', 'x']],
  ['FLOAT', ['1', '-1', '1.5', '.5', '23.', '00023.100', '-0.000001'], ['1e5', '+1', '1,5', '--1', '.', '-', '1.2.3', 'NaN', 'Infinity', ' 1', '1 ']],
  ['QTY', ['100', '0.5'], ['1E2', '']],
  ['PRICE', ['10.25', '-3'], ['$1', '0x10']],
  ['PRICEOFFSET', ['-0.01'], ['+0.01']],
  ['AMT', ['1000000.00'], ['1 000']],
  ['PERCENTAGE', ['0.05'], ['5%']],
  ['CHAR', ['a', '1', '~', '!'], ['ab', ' ', '\x7f', '\xe9', '']],
  ['BOOLEAN', ['Y', 'N'], ['y', 'n', 'YES', '1', '']],
  ['STRING', ['x', 'a b', '\xe9t\xe9'], ['']],
  ['MULTIPLEVALUESTRING', ['A', 'A B 1'], ['A  B', ' A', 'A ', '']],
  ['EXCHANGE', ['XNAS'], ['']],
  ['CURRENCY', ['USD', 'EUR'], ['usd', 'US', 'USDX', '']],
  ['COUNTRY', ['US', 'DE'], ['USA', 'us', '']],
  ['LOCALMKTDATE', ['20240229', '20261207'], ['20230229', '20241301', '20240100', '2024-01-01', '2024011', '']],
  ['UTCDATEONLY', ['20261231'], ['20261232', '261231']],
  ['UTCTIMESTAMP', ['20261207-12:00:00', '20261207-12:00:00.123', '20161231-23:59:60', '20240229-00:00:00.000'],
    ['20261207-24:00:00', '20261207-12:00:00.1234', '20261207-12:00:00.', '20261207 12:00:00', '20261207-12:60:00',
      '20261207-12:00:00.123456', '20230229-00:00:00', '20261207-12:00:61', '20261207-12:00:00Z', '20261207-1:00:00']],
  ['UTCTIMEONLY', ['12:00:00', '23:59:59.999'], ['24:00:00', '12:00', '12:00:00.1', '12-00-00']],
  ['MONTHYEAR', ['202612', '20261207', '202612w1', '202612w5'], ['202613', '202612w6', '2026120', '20261232', '202600', '2026']],
  ['DATA', ['x', '\x01\x02'], ['']],
];

for (const [type, good, bad] of TYPES) {
  test(`${type}: ${good.length} valid and ${bad.length} invalid forms`, () => {
    for (const v of good) assert.ok(isValidFormat(type, v), `${type} should take ${JSON.stringify(v)}`);
    for (const v of bad) assert.not.ok(isValidFormat(type, v), `${type} should refuse ${JSON.stringify(v)}`);
  });
}

test('every type the dictionary uses is one the checks know, with at least one example above', () => {
  const used = new Set([...fix44().fields.values()].map((f) => f.type));
  const tested = new Set(TYPES.map(([t]) => t));
  assert.equal([...used].filter((t) => !tested.has(t)), []);
});

test('enumerated values: exact for single values, token by token for a MultipleValueString', () => {
  const d = fix44();
  const side = d.fields.get(54)!;
  const execInst = d.fields.get(18)!;
  assert.ok(isEnumValue(side.type, side.enums!, '1'));
  assert.not.ok(isEnumValue(side.type, side.enums!, '1 2'));
  assert.ok(isEnumValue(execInst.type, execInst.enums!, '1 G'));
  assert.not.ok(isEnumValue(execInst.type, execInst.enums!, '1 ~'));
});

test.run();
