// host/gateway/binary.ts, the binary protocol's offload, without a server:
// auth frames are checked and hashed, frames to the gateway get the host's
// header (never the client's), and gateway answers become frame statuses.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import * as abi from '../../hal/abi.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { authFrameKeyHash, gatewayFrameRoute, GATEWAY_TRADING_SERVICE, hostReply, requestHead, unwrapReply, wrapGatewayFrame } from '../../host/gateway/binary.ts';

const GATEWAY = Buffer.from('gateway');
/** The frame the host sends the kernel for a client's frame to `gateway` with `payload` (its route from the payload), or the refusal. */
function wrapLedgerFrame(requestId: number, payload: Buffer, hash: Buffer | null, source: Buffer): Buffer | string {
  const route = gatewayFrameRoute(GATEWAY, payload);
  if (route === null) throw new Error('a frame to gateway is the gateway\'s');
  return typeof route === 'string' ? route : wrapGatewayFrame(requestId, route, payload, hash, source);
}
import { encodeAuth, encodeRequest } from '../../host/client/frames.ts';
import { Operation } from '../../host/client/ledger.ts';

const SOURCE = Buffer.alloc(16, 7);

test('an auth frame yields the SHA-256 of its key, and only a well-formed one', () => {
  // Proves the host keeps the hash the gateway's key table holds (the
  // SHA-256 of the key text) and refuses flags, names and key text that no
  // key has, each with its reason.
  const key = 'qx_' + 'k'.repeat(43);
  const head = requestHead(encodeAuth(1, key).subarray(4))!;
  assert.equal(authFrameKeyHash(head.flags, head.name, head.payload), createHash('sha256').update(key).digest());
  assert.match(String(authFrameKeyHash(abi.FRAME_F_AUTH | 2, head.name, head.payload)), /flags FRAME_F_AUTH and nothing else/);
  assert.match(String(authFrameKeyHash(abi.FRAME_F_AUTH, Buffer.from('ledger'), head.payload)), /names no service/);
  assert.match(String(authFrameKeyHash(abi.FRAME_F_AUTH, Buffer.alloc(0), Buffer.alloc(0))), /1\.\.256 bytes/);
  assert.match(String(authFrameKeyHash(abi.FRAME_F_AUTH, Buffer.alloc(0), Buffer.alloc(257, 0x61))), /1\.\.256 bytes/);
  assert.match(String(authFrameKeyHash(abi.FRAME_F_AUTH, Buffer.alloc(0), Buffer.from('qx_a b'))), /base64url/);
});

test('a frame to the gateway is wrapped with the host\'s header: route from the operation, the connection\'s key hash', () => {
  // Proves what reaches the kernel: same request id and service name, a
  // gateway header whose auth byte, key hash and source come from the host,
  // and the client's bytes after it unchanged; the queries (operations 7
  // and 8) go to their own routes, not the system routes of those numbers;
  // operations outside 1..8 (the keys and system routes) are refused.
  const payload = Buffer.alloc(8 + 16); payload[0] = gw.ROUTE_LOOKUP_ACCOUNTS; payload.writeUInt32LE(1, 4);
  const hash = Buffer.alloc(32, 0xab);
  const body = wrapLedgerFrame(77, payload, hash, SOURCE) as Buffer;
  const head = requestHead(body)!;
  assert.is(head.requestId, 77);
  assert.is(head.name.toString(), 'gateway');
  assert.is(head.flags, 0);
  const inner = head.payload;
  assert.equal([inner[0], inner[1], inner[2], inner[3]], [gw.GW_VERSION, gw.ROUTE_LOOKUP_ACCOUNTS, gw.AUTH_BEARER, 0]);
  assert.equal(inner.subarray(gw.GW_SOURCE_OFFSET, gw.GW_SOURCE_OFFSET + 16), SOURCE);
  assert.equal(inner.subarray(gw.GW_KEY_HASH_OFFSET, gw.GW_KEY_HASH_OFFSET + 32), hash);
  assert.equal(inner.subarray(gw.GW_REQUEST_HEADER_BYTES), payload);
  const anonymous = requestHead(wrapLedgerFrame(78, payload, null, SOURCE) as Buffer)!.payload;
  assert.is(anonymous[2], gw.AUTH_NONE);
  assert.equal(anonymous.subarray(gw.GW_KEY_HASH_OFFSET, gw.GW_KEY_HASH_OFFSET + 32), Buffer.alloc(32));
  for (const [op, route] of [[Operation.query_accounts, gw.ROUTE_QUERY_ACCOUNTS], [Operation.query_transfers, gw.ROUTE_QUERY_TRANSFERS]]) {
    const p = Buffer.from(payload); p[0] = op;
    const wrapped = requestHead(wrapLedgerFrame(81, p, hash, SOURCE) as Buffer)!.payload;
    assert.is(wrapped[1], route, `operation ${op} goes to route ${route}`);
    assert.equal(wrapped.subarray(gw.GW_REQUEST_HEADER_BYTES), p, 'the operation byte itself is unchanged');
  }
  for (const op of [0, 9, gw.ROUTE_KEYS_CREATE, gw.ROUTE_QUERY_ACCOUNTS, 255]) {
    const p = Buffer.from(payload); p[0] = op;
    assert.match(String(wrapLedgerFrame(79, p, hash, SOURCE)), /operation, 1\.\.8/);
  }
  assert.match(String(wrapLedgerFrame(80, Buffer.alloc(0), hash, SOURCE)), /operation, 1\.\.8/);
  // gateway.trading: a trading request, its route from the trading operation; any other name is not the gateway's.
  const trading = Buffer.from(GATEWAY_TRADING_SERVICE);
  assert.equal([1, 2, 3, 4].map((op) => gatewayFrameRoute(trading, Buffer.from([op]))), [gw.ROUTE_ORDERS, gw.ROUTE_INSTRUMENTS, gw.ROUTE_BOOK, gw.ROUTE_ORDERS_LOOKUP]);
  assert.match(String(gatewayFrameRoute(trading, Buffer.from([5]))), /operation, 1\.\.4/);
  assert.is(gatewayFrameRoute(Buffer.from('trading'), Buffer.from([1])), null, 'a frame to the service itself goes to the kernel as it is');
});

function kernelReply(requestId: number, status: number, payload: Buffer): Buffer {
  const f = Buffer.alloc(4 + 8 + payload.length);
  f.writeUInt32LE(8 + payload.length, 0); f.writeUInt32LE(requestId, 4); f.writeUInt16LE(status, 8);
  payload.copy(f, 12);
  return f;
}
function gatewayAnswer(status: number, error: number, retry: number, body: Buffer): Buffer {
  const out = Buffer.alloc(gw.GW_REPLY_HEADER_BYTES + body.length);
  out.writeUInt16LE(status, 0); out.writeUInt16LE(error, 2); out.writeUInt32LE(retry, 4);
  body.copy(out, gw.GW_REPLY_HEADER_BYTES);
  return out;
}
function parsed(frame: Buffer): { id: number; status: number; text: string; payload: Buffer } {
  assert.is(frame.readUInt32LE(0), frame.length - 4, 'length prefix');
  return { id: frame.readUInt32LE(4), status: frame.readUInt16LE(8), text: frame.subarray(12).toString(), payload: frame.subarray(12) };
}

test('gateway answers become frame statuses; kernel errors pass through', () => {
  // Proves the mapping a binary client relies on: 200 → FRAME_OK with the
  // ledger's bytes; 400 → MALFORMED, 401/403 → DENIED, 429 → BUSY with the
  // wait, 503 → UNAVAILABLE, anything else → SERVICE, each "<code>: <message>";
  // a reply without the gateway header is a SERVICE error; a kernel status
  // (the gateway itself failed) is passed on untouched.
  const ledgerBytes = Buffer.from([1, 2, 3, 4]);
  let r = parsed(unwrapReply(kernelReply(9, abi.FRAME_OK, gatewayAnswer(200, 0, 0, ledgerBytes))));
  assert.equal([r.id, r.status], [9, abi.FRAME_OK]);
  assert.equal(r.payload, ledgerBytes);
  const cases: [number, number, number, number, RegExp][] = [
    [400, gw.GW_E_MALFORMED, 0, abi.FRAME_E_MALFORMED, /^malformed_request: why$/],
    [401, gw.GW_E_UNKNOWN_KEY, 0, abi.FRAME_E_DENIED, /^unknown_key: why$/],
    [403, gw.GW_E_FORBIDDEN_LEDGER, 0, abi.FRAME_E_DENIED, /^forbidden_ledger: why$/],
    [429, gw.GW_E_RATE_LIMITED_KEY, 3, abi.FRAME_E_BUSY, /^rate_limited: why \(retry after 3 s\)$/],
    [503, gw.GW_E_LEDGER_ABORTED, 0, abi.FRAME_E_UNAVAILABLE, /^ledger_aborted: why$/],
    [502, gw.GW_E_LEDGER, 0, abi.FRAME_E_SERVICE, /^ledger_rejected: why$/],
  ];
  for (const [http, error, retry, status, text] of cases) {
    r = parsed(unwrapReply(kernelReply(10, abi.FRAME_OK, gatewayAnswer(http, error, retry, Buffer.from('why')))));
    assert.equal([r.id, r.status], [10, status], `HTTP ${http}`);
    assert.match(r.text, text);
  }
  r = parsed(unwrapReply(kernelReply(11, abi.FRAME_OK, Buffer.alloc(3))));
  assert.is(r.status, abi.FRAME_E_SERVICE);
  assert.match(r.text, /without its reply header/);
  const failed = kernelReply(12, abi.FRAME_E_UNAVAILABLE, Buffer.from('service failed'));
  assert.equal(unwrapReply(failed), failed);
});

test('host replies are well-formed frames', () => {
  // Proves the frames the host writes itself parse like the kernel's.
  const r = parsed(hostReply(0xfffffffe, abi.FRAME_E_TOO_LARGE, 'too big'));
  assert.equal([r.id, r.status, r.text], [0xfffffffe, abi.FRAME_E_TOO_LARGE, 'too big']);
  assert.equal(requestHead(encodeRequest(5, 'echo', Buffer.from('x')).subarray(4))!.name.toString(), 'echo');
  assert.is(requestHead(Buffer.alloc(7)), null);
});

test.run();
