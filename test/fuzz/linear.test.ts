// The work of every parser of untrusted input stays linear in the input.
//
// A regular expression with adjacent unbounded quantifiers once let one 4 KB
// header freeze the process for 22 s, and a head or frame trickled in byte
// by byte made the host copy what it held on every byte (quadratic). Each
// parser now counts its steps: the HTTP head parser the bytes it looks at
// (host/gateway/http-head.ts headWork), the JSON parser its loop iterations
// (host/gateway/json.ts jsonWork), the byte queue behind HTTP sessions and
// binary framing the bytes it copies (host/base/bytes.ts byteWork). The
// properties below feed them generated inputs, hostile shapes included, and
// assert the count is at most a small constant times the input: a
// superlinear parser fails here, without a stopwatch. Translating a JSON
// batch into ledger records (whose cost is per event) is compared at n and
// 16n events with a wide ratio instead.
//
// Run: node --import tsx test/fuzz/linear.test.ts   (QENEX_FUZZ_RUNS for more)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { headWork, parseHead } from '../../host/gateway/http-head.ts';
import { JsonError, jsonWork, parseJson } from '../../host/gateway/json.ts';
import { ByteQueue, byteWork } from '../../host/base/bytes.ts';
import { HttpSession } from '../../host/gateway/http.ts';
import { FrameSession } from '../../host/gateway/frame-session.ts';
import * as abi from '../../hal/abi.ts';
import { limits as httpLimits } from '../../host/gateway/http-config.ts';
import { ledgerRequestFromJson, LedgerJsonError } from '../../host/gateway/ledger-json.ts';
import { count, fuzzParams, printSummary } from './support.ts';
import { admitAll } from '../support/admission.ts';

// The constants: bytes looked at, or copied, per input byte.
const HEAD_STEPS_PER_BYTE = 3;
const JSON_STEPS_PER_BYTE = 4;
const COPIES_PER_BYTE = 4;
const SLACK = 64;

/** Shapes that made backtracking parsers explode, and ordinary ones, up to `bytes` long. */
function headShape(): fc.Arbitrary<Buffer> {
  const filler = fc.oneof(fc.constant(' '), fc.constant('\t'), fc.constant('a'), fc.constant(':'), fc.constant('\r'), fc.constant('\n'), fc.constant('\x7f'));
  const run = fc.tuple(filler, fc.integer({ min: 1, max: 16_000 })).map(([c, n]) => c.repeat(n));
  const line = fc.oneof(
    run.map((r) => `X:${r}\x7f`),
    run.map((r) => `X-${r.replace(/[^a]/g, 'a')}: v`),
    fc.tuple(fc.string({ maxLength: 64 }), run).map(([v, r]) => `${v}:${r}${v}`),
    fc.array(fc.constantFrom('A: b', 'Host: x', ' folded', 'NoColon', 'C:\td\t '), { maxLength: 120 }).map((ls) => ls.join('\r\n')),
  );
  return fc.tuple(fc.constantFrom('GET /v1/health HTTP/1.1', 'POST /v1/accounts HTTP/1.1', 'GET http://x/v1/health HTTP/1.1', 'get / HTTP/9.9', ''), line)
    .map(([first, rest]) => Buffer.from(`${first}\r\n${rest}`, 'latin1'));
}

test('HTTP head parser: the bytes looked at stay within 3 per byte', () => {
  fc.assert(fc.property(headShape(), (bytes) => {
    count('http-head');
    const before = headWork.steps;
    parseHead(bytes, 0, bytes.length, httpLimits.headerCountMax);
    const steps = headWork.steps - before;
    assert.ok(steps <= HEAD_STEPS_PER_BYTE * bytes.length + SLACK, `${steps} steps for ${bytes.length} bytes`);
  }), fuzzParams(300));
});

test('HTTP session: a head or body trickled in byte by byte costs linear copying', () => {
  // Proves the session's buffer (host/base/bytes.ts) is not re-copied per chunk:
  // a 16 KiB head and a 64 KiB body, one byte per receive().
  const head = `POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Pad: ${'p'.repeat(15_000)}\r\nContent-Length: 65536\r\n\r\n`;
  const body = Buffer.alloc(65536, 0x20);
  body[0] = 0x5b; body[65535] = 0x5d; // "[ ... ]"
  const input = Buffer.concat([Buffer.from(head, 'latin1'), body]);
  const session = new HttpSession({ submit() {}, write() {}, end() {}, pause() {}, resume() {} },
    { ledgers: new Map([[1, { assetScale: 2 }]]), admit: admitAll() });
  const before = byteWork.copied;
  for (let i = 0; i < input.length; i++) session.receive(input.subarray(i, i + 1));
  const copied = byteWork.copied - before;
  count('http-trickle');
  assert.ok(copied <= COPIES_PER_BYTE * input.length, `${copied} bytes copied for ${input.length} received`);
});

test('byte queue: any chunking and consumption copies at most 4 bytes per byte appended', () => {
  // Proves the framing buffer of binary connections (host/devices/net.ts) is linear whatever the chunk sizes.
  const op = fc.oneof(
    fc.record({ append: fc.integer({ min: 1, max: 5000 }) }),
    fc.record({ consume: fc.double({ min: 0, max: 1, noNaN: true }) }),
  );
  fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
    count('byte-queue');
    const q = new ByteQueue();
    const before = byteWork.copied;
    let appended = 0;
    let model = Buffer.alloc(0);
    for (const o of ops) {
      if ('append' in o) {
        const chunk = Buffer.alloc(o.append, appended & 0xff);
        q.append(chunk);
        model = Buffer.concat([model, chunk]);
        appended += o.append;
      } else {
        const n = Math.floor(o.consume * q.length);
        q.consume(n);
        model = model.subarray(n);
      }
      assert.ok(q.bytes().equals(model), 'the queue holds what was appended and not consumed');
    }
    assert.ok(byteWork.copied - before <= COPIES_PER_BYTE * appended, `${byteWork.copied - before} copied for ${appended} appended`);
  }), fuzzParams(200));
});

test('binary framing: a large frame arriving in pieces is copied about once, not once per doubling', () => {
  // Proves FrameSession gathers a large frame's pieces and copies them once,
  // when whole: a 1 MiB frame in 64 KiB chunks was copied nearly twice over
  // into stores that doubled, each a fresh allocation.
  const body = Buffer.alloc(1 << 20, 7);
  body.writeUInt32LE(1, 0); // request id
  body.writeUInt16LE(0, 4); // flags
  body.writeUInt8(6, 6); // the service name's length: "ledger"
  body.writeUInt8(0, 7);
  body.write('ledger', abi.FRAME_REQUEST_HEADER_BYTES, 'latin1');
  const frame = Buffer.concat([Buffer.alloc(abi.FRAME_LEN_BYTES), body]);
  frame.writeUInt32LE(body.length, 0);
  const submitted: Uint8Array[] = [];
  const session = new FrameSession({ submit: (b) => submitted.push(Buffer.from(b)), write: () => {}, fail: () => {}, requestIdInUse: () => {} },
    { admit: admitAll(), limit: () => body.length, source: () => Buffer.alloc(16) });
  const before = byteWork.copied;
  for (let at = 0; at < frame.length; at += 65536) session.receive(frame.subarray(at, at + 65536));
  const copied = byteWork.copied - before;
  assert.is(submitted.length, 1, 'the frame was submitted once');
  assert.ok(Buffer.from(submitted[0]).equals(body), 'whole and unchanged');
  assert.ok(copied <= 1.05 * frame.length, `${copied} bytes copied for a frame of ${frame.length}`);
});

/** JSON documents of hostile shapes: deep nesting, long escaped strings, many keys, long numbers, whitespace. */
function jsonShape(): fc.Arbitrary<Buffer> {
  const n = fc.integer({ min: 1, max: 20_000 });
  return fc.oneof(
    n.map((k) => '['.repeat(Math.min(k, 40)) + ']'.repeat(Math.min(k, 40))),
    n.map((k) => `"${'\\u0041\\n'.repeat(k)}"`),
    n.map((k) => `{${Array.from({ length: Math.min(k, 3000) }, (_, i) => `"k${i}":${i}`).join(',')}}`),
    n.map((k) => `[${'1'.repeat(k)}.${'2'.repeat(k)}e${'3'.repeat(k)}]`),
    n.map((k) => `${' '.repeat(k)}[${' '.repeat(k)}"${'x'.repeat(k)}"${' '.repeat(k)}]`),
    n.map((k) => `{"a":${'['.repeat(Math.min(k, 40))}`),
    n.map((k) => `"${'\\'.repeat(k)}`),
  ).map((text) => Buffer.from(text, 'utf8'));
}

test('JSON parser: its loop iterations stay within 4 per byte, accepted or refused', () => {
  fc.assert(fc.property(jsonShape(), (bytes) => {
    count('json');
    const before = jsonWork.steps;
    try {
      parseJson(bytes, { depthMax: 16, itemsMax: 8189, valuesMax: 262_048 });
    } catch (e) {
      if (!(e instanceof JsonError)) throw e;
    }
    const steps = jsonWork.steps - before;
    assert.ok(steps <= JSON_STEPS_PER_BYTE * bytes.length + SLACK, `${steps} steps for ${bytes.length} bytes`);
  }), fuzzParams(200));
});

/**
 * Fastest wall time of each of `a` and `b` over `runs` runs taken in turn, ms.
 * The fastest run is the one nothing else disturbed (a collection, another
 * process on the core), and alternating puts any slow stretch of the machine
 * on both sides; a median moved with the load and made the ratio flaky.
 */
function fastest(a: () => void, b: () => void, runs: number): [number, number] {
  const time = (fn: () => void) => {
    const t = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  let bestA = Infinity;
  let bestB = Infinity;
  for (let i = 0; i < runs; i++) {
    bestA = Math.min(bestA, time(a));
    bestB = Math.min(bestB, time(b));
  }
  return [bestA, bestB];
}

test('JSON to ledger records: 16 times the events take well under 64 times as long', () => {
  // Proves the translation (host/gateway/ledger-json.ts) is per event: a
  // quadratic one would take 256 times as long at 16 times the size. A ratio
  // of fastest runs measured in one run, so the machine's speed does not matter.
  const batch = (events: number) => Buffer.from(JSON.stringify(Array.from({ length: events }, (_, i) => ({
    id: String(i + 1), debit_account_id: '1', credit_account_id: '2', amount_decimal: '12.34', ledger: 1, code: 1, flags: ['linked'],
  }))), 'utf8');
  const scales = new Map([[1, { assetScale: 2 }]]);
  const translate = (bytes: Buffer) => () => {
    try {
      ledgerRequestFromJson('create_transfers', parseJson(bytes, { depthMax: 16, itemsMax: 8189, valuesMax: 262_048 }), scales);
    } catch (e) {
      if (!(e instanceof LedgerJsonError)) throw e;
    }
  };
  const small = batch(256);
  const large = batch(4096);
  fastest(translate(small), translate(large), 3); // warm up the JIT on both shapes
  const [smallMs, largeMs] = fastest(translate(small), translate(large), 9);
  const ratio = largeMs / smallMs;
  count('ledger-json', 24);
  assert.ok(ratio < 64, `16x the events took ${ratio.toFixed(1)}x as long`);
});

test('no regular expression in the parsers of untrusted bytes', () => {
  // Proves the step counts above see all the work: a pattern's backtracking
  // would not be counted, so the parsers of request heads, JSON bodies,
  // bearer tokens and frames use none (loops over bytes instead).
  const root = new URL('../..', import.meta.url).pathname;
  for (const file of ['host/gateway/http-head.ts', 'host/gateway/json.ts', 'host/base/bytes.ts', 'host/gateway/binary.ts']) {
    const code = readFileSync(join(root, file), 'utf8').split('\n').filter((l) => !l.trim().startsWith('//')).join('\n');
    for (const use of ['RegExp(', '.exec(', '.test(', '.match(', '.replace(/', '.split(/']) {
      assert.not.ok(code.includes(use), `${file} uses ${use}`);
    }
  }
});

test.after(() => printSummary('linear'));
test.run();
