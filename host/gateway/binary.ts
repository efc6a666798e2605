// host/gateway/binary.ts: the binary frame protocol's way through the
// gateway service (hal/abi.ts, "authenticated binary protocol").
//
// What HTTP's offload does for a request (host/gateway/http.ts), this does
// for a binary frame, and no more: it hashes the credential the client
// presented, writes the gateway request header (route, key hash, source
// address) in front of the ledger request, and turns the gateway's answer
// back into a frame. Every decision (does the key exist, may its role use the
// operation, is every event on a ledger it is granted, is it over its rate)
// is the kernel's admission before the log (hal/abi.ts "admission"; the net
// device asks it before it copies a frame on, the kernel again before it logs
// it) and the gateway service's once logged, replayable.
//
// Because the host writes the header, a client can never choose its own
// auth byte, key hash or source address: a binary frame can't claim to be the
// operator's console or present a stolen hash instead of a key.

import { createHash } from 'node:crypto';
import * as abi from '../../hal/abi.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { GATEWAY_ERROR_CODES, GATEWAY_SERVICE, isB64Token, parseGatewayReply, writeGatewayHeader } from './gateway-wire.ts';
import type { AdmissionAnswer } from '../base/kernel.ts';


const GATEWAY_NAME = Buffer.from(GATEWAY_SERVICE, 'utf8');
/** Frames to this name carry a trading request (services/trading/protocol.ts) through the gateway, as frames to `gateway` carry a ledger request. */
export const GATEWAY_TRADING_SERVICE = 'gateway.trading';
const TRADING_NAME = Buffer.from(GATEWAY_TRADING_SERVICE, 'utf8');
const TRADING_ROUTES = [gw.ROUTE_ORDERS, gw.ROUTE_ORDERS_LOOKUP, gw.ROUTE_BOOK, gw.ROUTE_INSTRUMENTS];

/** A frame body's request header fields (hal/abi.ts "wire frames"); null when too short to have one. */
export function requestHead(body: Buffer): { requestId: number; flags: number; name: Buffer; payload: Buffer } | null {
  if (body.length < abi.FRAME_REQUEST_HEADER_BYTES) return null;
  const nameLen = body[6];
  if (abi.FRAME_REQUEST_HEADER_BYTES + nameLen > body.length) return null;
  return {
    requestId: body.readUInt32LE(0),
    flags: body.readUInt16LE(4),
    name: body.subarray(abi.FRAME_REQUEST_HEADER_BYTES, abi.FRAME_REQUEST_HEADER_BYTES + nameLen),
    payload: body.subarray(abi.FRAME_REQUEST_HEADER_BYTES + nameLen),
  };
}

/** The SHA-256 of the key in a FRAME_F_AUTH frame's payload, or why it is refused. */
export function authFrameKeyHash(flags: number, name: Buffer, payload: Buffer): Buffer | string {
  if (flags !== abi.FRAME_F_AUTH) return 'an auth frame has the flags FRAME_F_AUTH and nothing else';
  if (name.length !== 0) return 'an auth frame names no service';
  if (payload.length === 0 || payload.length > abi.FRAME_AUTH_KEY_BYTES_MAX) return `an API key is 1..${abi.FRAME_AUTH_KEY_BYTES_MAX} bytes`;
  const text = payload.toString('latin1');
  // The characters of a bearer token (HTTP accepts the same); a key that
  // `qenex keys create` printed is "qx_" and 43 base64url characters.
  if (!isB64Token(text)) return 'an API key is base64url text, as `qenex keys create` prints it';
  return createHash('sha256').update(text, 'latin1').digest();
}

/**
 * The gateway route of a client's frame by the name it is sent to and its
 * payload's first byte: `gateway` a ledger request (its operation),
 * `gateway.trading` a trading request (its operation); a string says why it
 * has none; null: the frame is not for the gateway (it goes to the kernel as
 * it is).
 */
export function gatewayFrameRoute(name: Buffer, payload: Buffer): number | string | null {
  if (name.equals(GATEWAY_NAME)) return ledgerRoute(payload);
  if (!name.equals(TRADING_NAME)) return null;
  const route = payload.length > 0 ? TRADING_ROUTES.find((r) => gw.routeTradingOp(r) === payload[0]) : undefined;
  return route ?? 'a binary frame to gateway.trading carries a trading request: its first byte is the operation, 1..4';
}

/**
 * The frame body that goes to the kernel for a client's frame to the gateway:
 * the same request id and name, the payload prefixed with the gateway
 * request header. A string says why the frame is refused instead.
 */
export function wrapGatewayFrame(requestId: number, route: number, payload: Buffer, keyHash: Buffer | null, source: Buffer): Buffer {
  // One buffer, one copy of the payload (a ledger batch is up to 1 MiB).
  const headerAt = abi.FRAME_REQUEST_HEADER_BYTES + GATEWAY_NAME.length;
  const body = Buffer.allocUnsafe(headerAt + gw.GW_REQUEST_HEADER_BYTES + payload.length);
  body.writeUInt32LE(requestId >>> 0, 0);
  body.writeUInt16LE(0, 4);
  body.writeUInt8(GATEWAY_NAME.length, 6);
  body.writeUInt8(0, 7);
  GATEWAY_NAME.copy(body, abi.FRAME_REQUEST_HEADER_BYTES);
  writeGatewayHeader(body, headerAt, route, keyHash === null ? gw.AUTH_NONE : gw.AUTH_BEARER, keyHash, source);
  payload.copy(body, headerAt + gw.GW_REQUEST_HEADER_BYTES);
  return body;
}

/** The gateway route of a binary frame's ledger request (the route of its operation), or why it has none. */
export function ledgerRoute(payload: Buffer): number | string {
  const route = payload.length > 0 ? gw.operationRoute(payload[0]) : 0;
  if (route === 0) return 'a binary frame to the gateway carries a ledger request: its first byte is the operation, 1..8';
  return route;
}

/** The gateway request header (route, credential, source) admission is asked about for a binary frame. */
export function binaryGatewayHeader(route: number, keyHash: Buffer | null, source: Buffer): Buffer {
  const header = Buffer.allocUnsafe(gw.GW_REQUEST_HEADER_BYTES);
  writeGatewayHeader(header, 0, route, keyHash === null ? gw.AUTH_NONE : gw.AUTH_BEARER, keyHash, source);
  return header;
}

/** The frame status a gateway refusal becomes on the binary protocol. */
function refusalStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400: return abi.FRAME_E_MALFORMED;
    case 401: case 403: return abi.FRAME_E_DENIED;
    case 429: return abi.FRAME_E_BUSY;
    case 503: return abi.FRAME_E_UNAVAILABLE;
    default: return abi.FRAME_E_SERVICE;
  }
}

/**
 * A whole reply frame (length prefix included) for the client, from the
 * kernel's reply frame to a wrapped request: the ledger's reply with
 * FRAME_OK, or the refusal's status with "<code>: <message>" as payload.
 * A kernel error (the gateway failed, the log could not be written, ...)
 * passes through unchanged.
 */
export function unwrapReply(frame: Buffer): Buffer {
  const body = frame.subarray(abi.FRAME_LEN_BYTES);
  if (body.length < abi.FRAME_REPLY_HEADER_BYTES || body.readUInt16LE(4) !== abi.FRAME_OK) return frame;
  const r = parseGatewayReply(body.subarray(abi.FRAME_REPLY_HEADER_BYTES));
  let status: number;
  let payload: Buffer;
  if (r === null) {
    status = abi.FRAME_E_SERVICE;
    payload = Buffer.from('bad_gateway: the gateway answered without its reply header', 'utf8');
  } else if (r.status === 200) {
    status = abi.FRAME_OK;
    payload = r.body;
  } else {
    status = refusalStatus(r.status);
    payload = Buffer.from(refusalText(r.error, r.body.toString('latin1'), r.retryAfter), 'utf8');
  }
  const out = Buffer.allocUnsafe(abi.FRAME_LEN_BYTES + abi.FRAME_REPLY_HEADER_BYTES + payload.length);
  out.writeUInt32LE(abi.FRAME_REPLY_HEADER_BYTES + payload.length, 0);
  body.copy(out, abi.FRAME_LEN_BYTES, 0, 4); // request id
  out.writeUInt16LE(status, 8);
  out.writeUInt16LE(0, 10);
  payload.copy(out, abi.FRAME_LEN_BYTES + abi.FRAME_REPLY_HEADER_BYTES);
  return out;
}

/** "<code>: <message>", and the wait when there is one: how a refusal reads on the binary protocol. */
function refusalText(error: number, message: string, retryAfter: number): string {
  const code = GATEWAY_ERROR_CODES[error] ?? 'gateway_error';
  return `${code}: ${message}${retryAfter > 0 ? ` (retry after ${retryAfter} s)` : ''}`;
}

/** The whole reply frame for a request admission refused, as a refusal from the gateway reads. */
export function admissionReplyFrame(requestId: number, a: AdmissionAnswer): Buffer {
  return hostReply(requestId, refusalStatus(a.status), refusalText(a.error, a.message, a.retryAfter));
}

/** A reply frame the host writes itself (auth frames, refusals it makes before the kernel). */
export function hostReply(requestId: number, status: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const out = Buffer.alloc(abi.FRAME_LEN_BYTES + abi.FRAME_REPLY_HEADER_BYTES + text.length);
  out.writeUInt32LE(abi.FRAME_REPLY_HEADER_BYTES + text.length, 0);
  out.writeUInt32LE(requestId >>> 0, 4);
  out.writeUInt16LE(status, 8);
  text.copy(out, 12);
  return out;
}
