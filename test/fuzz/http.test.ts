// Fuzzing the HTTP/1.1 framing of the gateway (host/gateway/http.ts
// HttpSession), which reads raw socket bytes. Proves, for generated request
// streams (valid requests, requests with mutated bytes, garbage, pipelining)
// cut into arbitrary chunks:
//   - the session never throws and never writes after it ended;
//   - every byte it writes is a sequence of well-formed HTTP/1.1 responses
//     whose Content-Length matches the body, and every submitted payload
//     fits a frame;
//   - chunking does not matter: the same stream delivered in one piece and
//     in random pieces gives the same responses and the same submissions;
//   - kernel replies arriving late and out of order still come out in
//     request order.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as abi from '../../hal/abi.ts';
import { HttpSession } from '../../host/gateway/http.ts';
import { HEADER_BYTES } from '../../host/client/ledger.ts';
import { count, fuzzParams, mutate, mutationArb, printSummary } from './support.ts';
import { admitAll } from '../support/admission.ts';

const CONFIG = { ledgers: new Map([[1, { assetScale: 2 }], [2, { assetScale: 0 }]]), admit: admitAll() };

interface Outcome { written: Buffer; submits: string[]; ended: boolean }

/** A deterministic kernel reply for a request: a status chosen by its payload, a well-formed result list when OK. */
function replyFor(payload: Uint8Array): { status: number; body: Buffer } {
  const pick = payload.length % 4;
  if (pick === 1) return { status: abi.FRAME_E_SERVICE, body: Buffer.from('rejected: fuzz') };
  if (pick === 2) return { status: abi.FRAME_E_BUSY, body: Buffer.alloc(0) };
  // OK: no results (every event created) for creates, no records for queries.
  const reply = Buffer.alloc(HEADER_BYTES);
  return { status: abi.FRAME_OK, body: reply };
}

/**
 * Feeds `chunks` to a fresh session. Replies are given synchronously inside
 * submit (`deferred` false) or collected and answered after each chunk in
 * the order `order` picks (`deferred` true).
 */
function drive(chunks: Buffer[], deferred: boolean, order: number[] = []): Outcome {
  count('http');
  const out: Buffer[] = [];
  const submits: string[] = [];
  let ended = false;
  let session!: HttpSession;
  const pending: { id: number; payload: Uint8Array }[] = [];
  session = new HttpSession({
    submit(id, service, header, body) {
      const payload = Buffer.concat([header, body]);
      assert.ok(typeof service === 'string' && service.length > 0, 'a named service');
      assert.ok(payload instanceof Uint8Array && payload.length <= abi.FRAME_BODY_BYTES_MAX, 'a payload that fits a frame');
      submits.push(Buffer.from(payload).toString('hex'));
      if (!deferred) { const r = replyFor(payload); session.reply(id, r.status, r.body); } else pending.push({ id, payload });
    },
    write(bytes) { assert.not.ok(ended, 'no write after end'); out.push(Buffer.from(bytes)); },
    end() { ended = true; },
    pause() {},
    resume() {},
  }, CONFIG);
  let k = 0;
  for (const c of chunks) {
    session.receive(c);
    while (pending.length > 0) {
      const i = (order[k++ % Math.max(1, order.length)] ?? 0) % pending.length;
      const [p] = pending.splice(i, 1);
      const r = replyFor(p.payload);
      session.reply(p.id, r.status, r.body);
    }
  }
  return { written: Buffer.concat(out), submits, ended };
}

/** Splits the written bytes into responses; fails on anything malformed. */
function responses(bytes: Buffer): { status: number; body: string; close: boolean }[] {
  const list: { status: number; body: string; close: boolean }[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at, 'latin1');
    assert.ok(end > 0, `a complete response head at ${at}`);
    const head = bytes.toString('latin1', at, end).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) [A-Za-z ]+$/.exec(head[0]);
    assert.ok(m, `status line ${JSON.stringify(head[0])}`);
    const status = Number(m![1]);
    at = end + 4;
    if (status === 100) continue;
    const len = head.find((h) => h.toLowerCase().startsWith('content-length:'));
    assert.ok(len, 'Content-Length present');
    const n = Number(len!.split(':')[1].trim());
    // HEAD responses carry the length but no body; the body, if present, must parse as JSON.
    const body = bytes.toString('utf8', at, Math.min(bytes.length, at + n));
    const hasBody = body.length > 0 && (body.startsWith('{') || body.startsWith('['));
    if (hasBody) { JSON.parse(body); at += n; }
    list.push({ status, body: hasBody ? body : '', close: head.includes('Connection: close') });
  }
  return list;
}

const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map(String);
const body = fc.oneof(
  fc.array(fc.record({ id: u128, debit_account_id: u128, credit_account_id: u128, amount: u128, ledger: fc.constantFrom(1, 2), code: fc.constant(1) }), { maxLength: 3 }).map((x) => JSON.stringify(x)),
  fc.array(fc.record({ id: u128, ledger: fc.constant(1), code: fc.constant(1) }), { maxLength: 3 }).map((x) => JSON.stringify(x)),
  fc.array(u128, { maxLength: 3 }).map((ids) => JSON.stringify({ ids })),
  fc.json({ maxDepth: 2 }),
  fc.constantFrom('', '{', '[]', 'null'),
);
const path = fc.constantFrom('/v1/accounts', '/v1/transfers', '/v1/accounts/lookup', '/v1/transfers/lookup', '/v1/health',
  '/v1/accounts/5/transfers', '/v1/accounts/5/balances', '/v1/accounts/340282366920938463463374607431768211456/transfers', '/nope', '/v1/../v1/health', '*');
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'OPTIONS', 'POST'),
  path,
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0'),
  body,
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', null),
  length: fc.constantFrom('exact', 'exact', 'exact', 'none', 'short', 'twice', 'garbage', 'huge'),
  extra: fc.array(fc.constantFrom('Connection: close', 'Connection: keep-alive', 'Expect: 100-continue', 'Transfer-Encoding: chunked', 'X-A: b', ' folded', 'Bad Header: x', 'Host: h'), { maxLength: 3 }),
  mutations: fc.array(mutationArb(), { maxLength: 2 }),
}).map((r) => {
  const b = Buffer.from(r.body, 'utf8');
  const lines = [`${r.method} ${r.path} ${r.version}`];
  if (r.contentType !== null) lines.push(`Content-Type: ${r.contentType}`);
  if (r.length === 'exact') lines.push(`Content-Length: ${b.length}`);
  if (r.length === 'short') lines.push(`Content-Length: ${Math.max(0, b.length - 1)}`);
  if (r.length === 'twice') lines.push(`Content-Length: ${b.length}, ${b.length + 1}`);
  if (r.length === 'garbage') lines.push('Content-Length: -1');
  if (r.length === 'huge') lines.push('Content-Length: 99999999999999999999');
  lines.push(...r.extra);
  const bytes = Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), b]);
  return Buffer.from(mutate(bytes, r.mutations));
});
const stream = fc.array(fc.oneof({ weight: 6, arbitrary: request }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((x) => Buffer.from(x)) }), { minLength: 1, maxLength: 6 })
  .map((parts) => Buffer.concat(parts));

function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) { out.push(bytes.subarray(prev, p)); prev = p; }
  out.push(bytes.subarray(prev));
  return out;
}

test('request streams: well-formed responses, independent of chunking', () => {
  fc.assert(fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
    const whole = drive([bytes], false);
    const pieces = drive(chunked(bytes, cuts), false);
    const rs = responses(whole.written);
    assert.ok(whole.written.equals(pieces.written), 'same bytes out whatever the chunking');
    assert.equal(pieces.submits, whole.submits, 'same submissions whatever the chunking');
    if (rs.some((r) => r.close)) assert.ok(rs.at(-1)!.close && whole.ended, 'a closing response is the last, and ends the session');
  }), fuzzParams(600));
});

test('late replies in any order: responses still in request order', () => {
  fc.assert(fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), (bytes, cuts, order) => {
    const sync = drive([bytes], false);
    const late = drive(chunked(bytes, cuts), true, order);
    responses(late.written);
    assert.ok(late.written.equals(sync.written), 'reply timing does not reorder or change responses');
  }), fuzzParams(400));
});

test('byte-at-a-time delivery of valid pipelined requests', () => {
  fc.assert(fc.property(fc.array(request, { minLength: 1, maxLength: 4 }), (reqs) => {
    const bytes = Buffer.concat(reqs);
    const whole = drive([bytes], false);
    const bytewise = drive([...bytes].map((b) => Buffer.of(b)), false);
    assert.ok(bytewise.written.equals(whole.written));
  }), fuzzParams(100));
});

test.after(() => printSummary('http'));
test.run();
