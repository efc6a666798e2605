// test/unit/fix-fuzz.test.ts: hostile input to the FIX 4.4 codec
// (host/fix/). Proves, with random bytes and random mutations of valid
// message streams (flipped, inserted, deleted, duplicated bytes, stray SOH
// and 8=FIX, truncation) cut into random chunks:
//   - the inbound path (FixFramer → parseFields → validateMessage) never
//     throws: bad input is answered with values (garbled, Reject reasons);
//   - whatever it frames is a whole message with a right CheckSum, and its
//     buffer never exceeds one message;
//   - every refusal is a known SessionRejectReason with a Text;
//   - render takes arbitrary values and either refuses them with a FixError
//     or writes a message that validates;
//   - the largest inputs allowed (64 KiB of one value, of tiny fields, of
//     group instances, of digits in a decimal) are handled in bounded time,
//     and so is a stream crafted to make the framer check many CheckSums.
//
// Run: node test/run.mjs test/unit/fix-fuzz.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import {
  FIX_LIMITS, FixError, FixFramer, SessionRejectReason, encodeRawMessage, frameMessages, parseFields, renderMessage, validateMessage,
} from '../../host/fix/codec.ts';

const HEADER = { SenderCompID: 'CLIENT', TargetCompID: 'QENEX', MsgSeqNum: 7, SendingTime: '20261207-12:00:00.000' };
const T = '20261207-12:00:00.000';
const VALID: Uint8Array[] = [
  renderMessage({ msgType: '0', header: HEADER }),
  renderMessage({ msgType: 'A', header: HEADER, body: { EncryptMethod: 0, HeartBtInt: 30, RawData: 'a\x01b' } }),
  renderMessage({ msgType: 'D', header: HEADER, body: { ClOrdID: 'c', Symbol: 'Q', Side: '1', TransactTime: T, OrdType: '2', Price: '1.5',
    NoPartyIDs: [{ PartyID: 'p', PartyRole: 3, NoPartySubIDs: [{ PartySubID: 's' }] }] } }),
  renderMessage({ msgType: 'W', header: HEADER, body: { Symbol: 'Q', NoMDEntries: [{ MDEntryType: '0', MDEntryPx: '1' }, { MDEntryType: '1' }] } }),
];
const REASONS = new Set<number>(Object.values(SessionRejectReason));

/** Runs bytes through the inbound path in the given chunks and checks its invariants. */
function inbound(stream: Uint8Array, cuts: number[]): void {
  const framer = new FixFramer();
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const p of [...points, stream.length]) {
    const r = framer.push(stream.subarray(prev, p));
    prev = p;
    assert.ok(framer.buffered <= FIX_LIMITS.messageBytes, `buffered ${framer.buffered}`);
    for (const m of r.messages) {
      const again = frameMessages(m);
      assert.equal([again.messages.length, again.consumed], [1, m.length], 'a framed message frames again whole');
      parseFields(m);
      const v = validateMessage(m);
      if (!v.ok) {
        assert.ok(v.level === 'business' || REASONS.has(v.reason), `reason ${v.reason}`);
        assert.ok(v.text.length > 0);
      }
    }
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.constantFrom('\x01', '8=FIX.4.4\x01', '=', '9=', '10=000\x01', '35=', '0', '453=9\x01') }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(buf: Buffer, m: Mutation): Buffer {
  const at = buf.length === 0 ? 0 : m.at % buf.length;
  switch (m.kind) {
    case 'flip': { const b = Buffer.from(buf); if (b.length > 0) b[at] = m.byte; return b; }
    case 'insert': return Buffer.concat([buf.subarray(0, at), Buffer.from(m.bytes, 'latin1'), buf.subarray(at)]);
    case 'delete': return Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.length)]);
    case 'duplicate': return Buffer.concat([buf.subarray(0, at + m.length), buf.subarray(at, at + m.length), buf.subarray(at + m.length)]);
    case 'truncate': return buf.subarray(0, at);
  }
}

test('random bytes never make the inbound path throw (property)', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => inbound(bytes, cuts)), { numRuns: 500 });
});

test('random mutations of valid streams never make the inbound path throw, and nothing is framed that is not whole (property)', () => {
  const stream = fc.array(fc.constantFrom(...VALID), { minLength: 1, maxLength: 5 }).map((ms) => Buffer.concat(ms));
  fc.assert(fc.property(stream, fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (s, muts, cuts) => {
    inbound(new Uint8Array(muts.reduce(mutate, s)), cuts);
  }), { numRuns: 1500 });
});

test('mutated messages with a fixed-up CheckSum reach the validator, which answers them without throwing (property)', () => {
  const body = fc.constantFrom(...VALID).map((m) => {
    const text = Buffer.from(m).toString('latin1');
    return Buffer.from(text.slice(text.indexOf('\x0135=') + 1, text.lastIndexOf('10=')), 'latin1');
  });
  fc.assert(fc.property(body, fc.array(mutation, { minLength: 1, maxLength: 4 }), (b, muts) => {
    const mutated = muts.reduce(mutate, b).toString('latin1');
    const fields = mutated.split('\x01').filter((f) => f !== '').map((f) => [f.slice(0, Math.max(0, f.indexOf('='))), f.slice(f.indexOf('=') + 1)] as const);
    const m = encodeRawMessage(fields);
    const framed = frameMessages(m);
    for (const f of framed.messages) validateMessage(f.bytes);
  }), { numRuns: 1500 });
});

test('render with arbitrary values either refuses with a FixError or writes a message that validates (property)', () => {
  const value = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }));
  fc.assert(fc.property(value, value, value, (text, qty, side) => {
    let m: Uint8Array;
    try {
      m = renderMessage({ msgType: 'D', header: HEADER, body: { ClOrdID: 'c', Symbol: 'Q', Side: side, TransactTime: T, OrdType: '1', OrderQty: qty, Text: text } });
    } catch (e) {
      assert.instance(e, FixError);
      return;
    }
    assert.ok(validateMessage(m).ok);
  }), { numRuns: 1000 });
});

/** Runs `f` and expects it to finish within `ms` milliseconds. */
function bounded(what: string, ms: number, f: () => void): void {
  const t0 = performance.now();
  f();
  const took = performance.now() - t0;
  assert.ok(took < ms, `${what} took ${took.toFixed(1)} ms`);
}

test('the largest inputs are handled in bounded time', () => {
  const room = FIX_LIMITS.messageBytes - 200;
  const withBody = (fields: [number | string, string][]): Uint8Array =>
    encodeRawMessage([[35, 'D'], [49, 'A'], [56, 'B'], [34, '1'], [52, T], [11, 'c'], [55, 'Q'], [54, '1'], [60, T], [40, '2'], ...fields]);
  const digits = withBody([[44, '1'.repeat(room - 100) + 'x']]);
  const tiny = withBody(Array.from({ length: Math.floor((room - 100) / 6) }, () => [58, 'x'] as [number, string]));
  const groups = withBody([[453, '9999'], ...Array.from({ length: Math.floor((room - 100) / 8) }, () => [448, 'p'] as [number, string])]);
  const junk = new Uint8Array(Buffer.from('8=FIX'.repeat(room / 5), 'latin1'));
  const bare = `35=0\x01${'a\x01'.repeat(room / 2 - 100)}`;
  let sum = 0;
  const head = `8=FIX.4.4\x019=${bare.length}\x01${bare}`;
  for (const c of head) sum += c.charCodeAt(0);
  const noEquals = new Uint8Array(Buffer.from(`${head}10=${String(sum % 256).padStart(3, '0')}\x01`, 'latin1'));
  // Each takes a few ms once warm; a search that is not linear takes hundreds.
  const cases = [['64 KiB of digits', digits], ['64 KiB of repeated fields', tiny], ['64 KiB of group instances', groups], ['64 KiB of fields without "="', noEquals]] as const;
  for (const [what, m] of cases) {
    assert.ok(m.length <= FIX_LIMITS.messageBytes, `${what}: ${m.length} bytes`);
    validateMessage(m);
    bounded(what, 100, () => {
      assert.equal(frameMessages(m).messages.length, 1);
      assert.not.ok(validateMessage(m).ok);
    });
  }
  bounded('64 KiB of 8=FIX', 100, () => {
    const r = frameMessages(junk);
    assert.is(r.messages.length, 0);
  });
});

test('thousands of starts pointing at one well-formed wrong CheckSum cost linear time, not a sum per start', () => {
  // Each start claims a BodyLength ending at the same '10=nnn'; every segment sums to 0 mod 256 (a
  // padding Text makes it so), so every start's sum is the filler's, and nnn is chosen to differ.
  const starts = 1800;
  const filler = 'x'.repeat(10_000) + '\x01';
  const at = starts * 30 + filler.length;
  let text = '';
  for (let i = 0; i < starts; i++) {
    const head = `8=FIX.4.4\x019=${at - (i * 30 + 18)}\x0135=0\x0158=`;
    let sum = 1;
    for (const c of head) sum += c.charCodeAt(0);
    const need = (256 - (sum % 256)) % 256 + (((256 - (sum % 256)) % 256) < 99 ? 256 : 0);
    const a = Math.min(126, need - 66);
    const b = Math.min(126, need - a - 33);
    text += head + String.fromCharCode(a, b, need - a - b) + '\x01';
  }
  let fillerSum = 0;
  for (const c of filler) fillerSum += c.charCodeAt(0);
  text += `${filler}10=${String((fillerSum + 1) % 256).padStart(3, '0')}\x01`;
  const buf = new Uint8Array(Buffer.from(text, 'latin1'));
  assert.ok(buf.length <= FIX_LIMITS.messageBytes && text.indexOf('10=') === at);
  bounded('1,800 starts sharing one trailer', 75, () => {
    const r = frameMessages(buf);
    assert.equal([r.messages.length, r.garbled.filter((g) => g.reason === 'checksum').length], [0, starts]);
  });
});

test.run();
