// fuzz/targets/http.ts: the gateway's HTTP/1.1 framing (host/gateway/http.ts
// HttpSession over host/gateway/http-head.ts, http-routes.ts, http-handlers.ts,
// http-response.ts and host/base/bytes.ts), which reads
// raw socket bytes. The oracle, for a byte stream:
//   - the session never throws and never writes after it ended;
//   - everything it writes is a sequence of well-formed HTTP/1.1 responses
//     whose Content-Length matches the body (JSON when it says so), and
//     every payload it submits fits a frame;
//   - chunking does not matter: the stream in one piece and cut into pieces
//     gives the same bytes out and the same submissions;
//   - kernel replies arriving late and in another order still come out in
//     request order, the same bytes.

import * as abi from '../../hal/abi.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { HttpSession } from '../../host/gateway/http.ts';
import type { Admit } from '../../host/gateway/gateway-wire.ts';
import { HEADER_BYTES } from '../../host/client/ledger.ts';
import { expect, type FuzzTarget } from '../target.ts';

// Admits every request as an admin key would; a body the host refused gets the kernel's 400.
const admit: Admit = (header) => ((header[3] & gw.GW_F_BODY_REFUSED) !== 0
  ? { status: 400, error: gw.GW_E_BODY_REFUSED, retryAfter: 0, keyId: 1, role: gw.ROLE_ADMIN, message: 'the request body was refused' }
  : { status: 200, error: gw.GW_OK, retryAfter: 0, keyId: 1, role: gw.ROLE_ADMIN, message: '' });
const CONFIG = { ledgers: new Map([[1, { assetScale: 2 }], [2, { assetScale: 0 }]]), admit };

export interface Outcome { written: Buffer; submits: string[]; ended: boolean }

/** A deterministic kernel reply for a request: a status chosen by its payload, a well-formed result list when OK. */
function replyFor(payload: Uint8Array): { status: number; body: Buffer } {
  const pick = payload.length % 4;
  if (pick === 1) return { status: abi.FRAME_E_SERVICE, body: Buffer.from('rejected: fuzz') };
  if (pick === 2) return { status: abi.FRAME_E_BUSY, body: Buffer.alloc(0) };
  return { status: abi.FRAME_OK, body: Buffer.alloc(HEADER_BYTES) }; // no results: every event created / no records
}

/**
 * Feeds `chunks` to a fresh session. Replies are given synchronously inside
 * submit (`deferred` false) or collected and answered after each chunk in
 * the order `order` picks (`deferred` true).
 */
export function drive(chunks: readonly Uint8Array[], deferred: boolean, order: readonly number[] = []): Outcome {
  const out: Buffer[] = [];
  const submits: string[] = [];
  let ended = false;
  const pending: { id: number; payload: Uint8Array }[] = [];
  const session: HttpSession = new HttpSession({
    submit(id, service, header, body) {
      const payload = Buffer.concat([header, body]);
      expect(typeof service === 'string' && service.length > 0, 'submitted to no named service');
      expect(payload.length <= abi.FRAME_BODY_BYTES_MAX, `submitted a payload of ${payload.length} bytes, more than a frame holds`);
      submits.push(payload.toString('hex'));
      if (!deferred) { const r = replyFor(payload); session.reply(id, r.status, r.body); } else pending.push({ id, payload });
    },
    write(bytes) { expect(!ended, 'wrote after the session ended'); out.push(Buffer.from(bytes)); },
    end() { ended = true; },
    pause() {},
    resume() {},
  }, CONFIG);
  let k = 0;
  for (const c of chunks) {
    session.receive(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    while (pending.length > 0) {
      const i = (order[k++ % Math.max(1, order.length)] ?? 0) % pending.length;
      const [p] = pending.splice(i, 1);
      const r = replyFor(p.payload);
      session.reply(p.id, r.status, r.body);
    }
  }
  return { written: Buffer.concat(out), submits, ended };
}

/** Splits written bytes into responses; throws on anything malformed. */
export function responses(bytes: Buffer): { status: number; body: string; close: boolean }[] {
  const list: { status: number; body: string; close: boolean }[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at, 'latin1');
    expect(end > 0, `no complete response head at ${at}`);
    const head = bytes.toString('latin1', at, end).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) [A-Za-z ]+$/.exec(head[0]);
    expect(m !== null, `malformed status line ${JSON.stringify(head[0])}`);
    const status = Number(m[1]);
    at = end + 4;
    if (status === 100) continue;
    const len = head.find((h) => h.toLowerCase().startsWith('content-length:'));
    expect(len !== undefined, 'a response without Content-Length');
    const n = Number(len.split(':')[1].trim());
    expect(Number.isSafeInteger(n) && n >= 0, `Content-Length ${JSON.stringify(len)}`);
    // A HEAD response carries the length but no body: the next response (or the end) follows at once.
    const hasBody = n > 0 && at < bytes.length && !bytes.toString('latin1', at, at + 9).startsWith('HTTP/1.1 ');
    let body = '';
    if (hasBody) {
      expect(at + n <= bytes.length, `a body of ${bytes.length - at} bytes where Content-Length says ${n}`);
      body = bytes.toString('utf8', at, at + n);
      const type = head.find((h) => h.toLowerCase().startsWith('content-type:'))?.slice(13).trim() ?? '';
      if (type.startsWith('application/json')) {
        try { JSON.parse(body); } catch { expect(false, `a JSON response body that is not JSON: ${JSON.stringify(body.slice(0, 200))}`); }
      }
      at += n;
    }
    list.push({ status, body, close: head.includes('Connection: close') });
  }
  return list;
}

/** `bytes` cut at `cuts` (taken modulo its length + 1). */
export function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) { out.push(bytes.subarray(prev, p)); prev = p; }
  out.push(bytes.subarray(prev));
  return out;
}

/** The stream oracle: whole against cut into `cuts`, and late replies in `order`. */
export function checkStream(bytes: Uint8Array, cuts: readonly number[], order: readonly number[]): Outcome {
  const whole = drive([bytes], false);
  const rs = responses(whole.written);
  const pieces = drive(chunked(bytes, cuts), false);
  expect(whole.written.equals(pieces.written), 'other bytes out when the stream comes in pieces');
  expect(whole.submits.length === pieces.submits.length && whole.submits.every((s, i) => s === pieces.submits[i]), 'other submissions when the stream comes in pieces');
  if (rs.some((r) => r.close)) expect(rs.at(-1)!.close && whole.ended, 'a closing response is not the last, or did not end the session');
  const late = drive(chunked(bytes, cuts), true, order);
  expect(late.written.equals(whole.written), 'late replies changed or reordered the responses');
  return whole;
}

// Cut points and a reply order from the input itself (FNV-1a), so a run is a function of its bytes.
function hashOf(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

export const httpTarget: FuzzTarget = {
  name: 'http',
  about: 'HTTP/1.1 request streams: well-formed responses, the same whatever the chunking and the reply timing',
  sources: ['host/gateway/http.ts', 'host/gateway/http-head.ts', 'host/gateway/http-routes.ts', 'host/gateway/http-handlers.ts',
    'host/gateway/http-response.ts', 'host/base/bytes.ts'],
  maxLen: 4096,
  dictionary: ['GET ', 'POST ', 'HEAD ', 'PUT ', 'OPTIONS ', ' HTTP/1.1\r\n', ' HTTP/1.0\r\n', '\r\n', '\r\n\r\n', 'Host: h\r\n',
    'Content-Length: ', 'Transfer-Encoding: chunked\r\n', 'Connection: close\r\n', 'Connection: keep-alive\r\n', 'Expect: 100-continue\r\n',
    'Content-Type: application/json\r\n', 'Authorization: Bearer ', 'Accept: text/event-stream\r\n', 'Last-Event-ID: ', 'Idempotency-Key: ',
    '/v1/accounts', '/v1/transfers', '/v1/accounts/lookup', '/v1/transfers/lookup', '/v1/health', '/v1/ready', '/metrics', '/v1/events',
    '/v1/accounts/5/transfers', '/v1/accounts/5/balances', '/v1/system/services', '/v1/gateway/stats', '/v1/keys', '?limit=', '&', '%2F', '/',
    '[{"id":"1","ledger":1,"code":1}]', '{"ids":["1"]}', '0\r\n\r\n', 'http://h', ' \t', ':'],
  check(input) {
    const h = hashOf(input);
    checkStream(input, [h & 0xfff, (h >>> 12) & 0xfff, h >>> 24], [h & 7, (h >>> 3) & 7, (h >>> 6) & 7]);
  },
};
