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
import { drive as driveOracle, responses, chunked, type Outcome } from '../../fuzz/targets/http.ts';
import { count, fuzzParams, mutate, mutationArb, printSummary } from './support.ts';

// The session driver and the response checker are the fuzz target's
// (fuzz/targets/http.ts); these properties feed them generated streams.
function drive(chunks: readonly Uint8Array[], deferred: boolean, order: number[] = []): Outcome {
  count('http');
  return driveOracle(chunks, deferred, order);
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
