// test/unit/fix-values.test.ts: the FIX 4.4 dictionary as loaded
// (host/fix/dictionary.ts), exact decimals (values.ts) and UTC times
// (time.ts). Proves:
//   - the dictionary has what FIX 4.4 has: 916 fields, 92 messages, the
//     admin ones flagged, header and trailer, components expanded with
//     their required flags, groups with delimiter and order (nested too),
//     each DATA field paired with its Length field; it is read once;
//   - a dictionary that is not usable is refused with a FixError that says
//     why, not half-loaded;
//   - a decimal string becomes an integer at a scale exactly or is refused
//     (never rounded), and back (property: any integer and scale round-trip);
//   - UTCTimestamps convert to and from ns and ms since the epoch exactly,
//     across leap years and centuries (property against Date for ms), and
//     refuse leap seconds, impossible dates and sub-unit remainders.
//
// Run: node test/run.mjs test/unit/fix-values.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  FixError, decimalToScaled, fix44, formatUtcTimestamp, formatUtcTimestampMs, loadDictionary, parseUtcTimestamp, parseUtcTimestampMs,
  scaledToDecimal, type GroupMember,
} from '../../host/fix/codec.ts';

const name = (tag: number): string => fix44().fields.get(tag)!.name;

// ---- the dictionary ----

test('FIX 4.4 as the file has it: 916 fields, 92 messages, admin flags, header and trailer', () => {
  const d = fix44();
  assert.is(d.beginString, 'FIX.4.4');
  assert.equal([d.fields.size, d.messages.size], [916, 92]);
  const admin = [...d.messages.values()].filter((m) => m.admin).map((m) => m.msgType).sort();
  assert.equal(admin, ['0', '1', '2', '3', '4', '5', 'A']);
  assert.equal(d.header.members.slice(0, 3).map((m) => m.tag), [8, 9, 35]);
  assert.equal(d.header.members.filter((m) => m.required).map((m) => m.tag), [8, 9, 35, 49, 56, 34, 52]);
  assert.equal(d.trailer.members.map((m) => [m.tag, m.required]), [[93, false], [89, false], [10, true]]);
  assert.ok(fix44() === d, 'read once, then the same object');
});

test('fields carry their type and enumerated values', () => {
  const d = fix44();
  assert.equal([d.fields.get(44)!.name, d.fields.get(44)!.type, d.fields.get(44)!.enums], ['Price', 'PRICE', undefined]);
  assert.equal(d.fields.get(54)!.enums!.get('1'), 'BUY');
  assert.is(d.fieldsByName.get('SessionRejectReason')!.tag, 373);
  assert.equal([...d.fields.get(373)!.enums!.keys()], ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15', '16', '17', '99']);
});

test('components are expanded in place, required only when the component is required where it is used', () => {
  const d = fix44();
  const nos = d.messages.get('D')!;
  assert.equal(nos.members.filter((m) => m.required).map((m) => name(m.tag)), ['ClOrdID', 'Symbol', 'Side', 'TransactTime', 'OrdType']);
  assert.ok(nos.position.has(55) && nos.position.has(453), 'Instrument and Parties are expanded into NewOrderSingle');
  const quote = d.messages.get('S')!;
  assert.ok(quote.position.has(55));
});

test('groups have their NumInGroup tag, delimiter, member order and nested groups', () => {
  const d = fix44();
  const parties = d.messages.get('D')!.members[d.messages.get('D')!.position.get(453)!] as GroupMember;
  assert.equal([parties.kind, parties.group.delimiter, parties.group.members.map((m) => m.tag)], ['group', 448, [448, 447, 452, 802]]);
  const sub = parties.group.members[3] as GroupMember;
  assert.equal([sub.group.name, sub.group.delimiter], ['NoPartySubIDs', 523]);
  const sym = d.messages.get('V')!.members[d.messages.get('V')!.position.get(146)!] as GroupMember;
  assert.is(sym.group.delimiter, 55, 'a group that starts with a component is delimited by its first field');
});

test('DATA fields are paired with their Length fields', () => {
  const d = fix44();
  assert.equal([d.dataByLength.get(95), d.dataByLength.get(93), d.dataByLength.get(212), d.dataByLength.get(90)], [96, 89, 213, 91]);
  assert.is(d.lengthOfData.get(355), 354);
  const data = [...d.fields.values()].filter((f) => f.type === 'DATA').length;
  assert.is(d.lengthOfData.size, data);
});

test('an unusable dictionary is refused with a FixError that says why', () => {
  const doc = (fields: string, messages: string, components = ''): string =>
    `<fix major="4" minor="4"><header/><trailer/><messages>${messages}</messages><components>${components}</components><fields>${fields}</fields></fix>`;
  const cases: [string, RegExp][] = [
    ['<nofix/>', /root is <nofix>/],
    [doc('<field number="1" name="A" type="WEIRD"/>', ''), /unknown type WEIRD/],
    [doc('<field number="1" name="A" type="INT"/><field number="1" name="B" type="INT"/>', ''), /defines field B \(1\) twice/],
    [doc('', '<message name="M" msgtype="M" msgcat="app"><field name="Nope" required="Y"/></message>'), /undefined field Nope/],
    [doc('', '<message name="M" msgtype="M" msgcat="app"><component name="C" required="Y"/></message>'), /undefined component C/],
    [doc('', '<message name="M" msgtype="M" msgcat="app"><component name="C" required="Y"/></message>', '<component name="C"><component name="C"/></component>'), /nest deeper/],
    [doc('<field number="5" name="X" type="DATA"/>', ''), /DATA field X \(5\) has no LENGTH/],
    [doc('<field number="1" name="A" type="INT"/>', '<message name="M" msgtype="M"><field name="A"/><field name="A"/></message>'), /uses tag 1 twice/],
  ];
  for (const [xml, message] of cases) assert.throws(() => loadDictionary(xml), (e: unknown) => e instanceof FixError && message.test((e as Error).message), String(message));
});

// ---- decimals ----

test('a decimal string becomes an integer at a scale exactly, or is refused', () => {
  const ok: [string, number, bigint][] = [
    ['12.345', 3, 12345n], ['12.345', 5, 1234500n], ['1.50', 1, 15n], ['-0.01', 2, -1n], ['100', 0, 100n], ['23.', 2, 2300n],
    ['.5', 1, 5n], ['00023.100', 3, 23100n], ['-0', 0, 0n], ['99999999999999999999.99999999', 8, 9999999999999999999999999999n],
  ];
  for (const [s, scale, n] of ok) assert.is(decimalToScaled(s, scale), n, `${s} at ${scale}`);
  const bad: [string, number, RegExp][] = [
    ['1.5', 0, /more than 0 decimal places/], ['0.001', 2, /more than 2/], ['1e3', 0, /not a FIX decimal/], ['', 2, /not a FIX decimal/],
    ['1', -1, /scale -1/], ['1', 1.5, /scale 1.5/], ['9'.repeat(39), 0, /more than 38 digits/], ['NaN', 0, /not a FIX decimal/],
  ];
  for (const [s, scale, message] of bad) assert.throws(() => decimalToScaled(s, scale), (e: unknown) => e instanceof FixError && message.test((e as Error).message), s);
});

test('scaled integers and decimal strings round-trip (property)', () => {
  fc.assert(fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 8 }), (n, scale) => {
    const s = scaledToDecimal(n, scale);
    assert.is(decimalToScaled(s, scale), n);
    assert.is(decimalToScaled(`${s}${scale === 0 ? '.' : ''}000`, scale), n, 'trailing zeros beyond the scale are fine');
    assert.is(decimalToScaled(s, scale + 3), n * 1000n);
  }), { numRuns: 500 });
  assert.equal([scaledToDecimal(5n, 2), scaledToDecimal(-5n, 2), scaledToDecimal(12345n, 0)], ['0.05', '-0.05', '12345']);
});

// ---- UTC times ----

test('UTCTimestamps to and from ns, exactly: epoch, leap days, centuries, far years', () => {
  const cases: [string, bigint][] = [
    ['19700101-00:00:00', 0n], ['19700101-00:00:00.001', 1_000_000n], ['19691231-23:59:59.999', -1_000_000n],
    ['20000229-12:34:56.789', 951827696789000000n], ['21000301-00:00:00', 4107542400n * 10n ** 9n], ['00000101-00:00:00', -62167219200n * 10n ** 9n],
    ['20261207-12:00:00.123456789', 1796644800123456789n],
  ];
  for (const [s, ns] of cases) {
    assert.is(parseUtcTimestamp(s), ns, s);
    const digits = s.includes('.') ? s.length - s.indexOf('.') - 1 : 0;
    assert.is(formatUtcTimestamp(ns, digits), s);
  }
  assert.is(formatUtcTimestamp(0n), '19700101-00:00:00.000');
});

test('ms conversions agree with Date over the years 1 to 9999 (property)', () => {
  fc.assert(fc.property(fc.integer({ min: -62135596800000, max: 253402300799999 }), (ms) => {
    const iso = new Date(ms).toISOString();
    const expected = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 23)}`;
    assert.is(formatUtcTimestampMs(ms), expected);
    assert.is(parseUtcTimestampMs(expected), ms);
  }), { numRuns: 1000 });
});

test('time conversions refuse leap seconds, impossible dates, lost precision and floats', () => {
  const refused = (f: () => unknown, message: RegExp): void => {
    assert.throws(f, (e: unknown) => e instanceof FixError && message.test((e as Error).message), String(message));
  };
  refused(() => parseUtcTimestamp('20161231-23:59:60'), /leap second/);
  refused(() => parseUtcTimestamp('20230229-00:00:00'), /not a UTCTimestamp/);
  refused(() => parseUtcTimestamp('20261207-12:00:00.12'), /not a UTCTimestamp/);
  refused(() => parseUtcTimestampMs('20261207-12:00:00.000001'), /not a whole number of milliseconds/);
  refused(() => formatUtcTimestamp(1n, 3), /does not fit 3 fraction digits/);
  refused(() => formatUtcTimestamp(0n, 2), /0, 3, 6 or 9/);
  refused(() => formatUtcTimestamp(10n ** 30n), /outside the years/);
  refused(() => formatUtcTimestampMs(1.5), /not an integer/);
});

test.run();
