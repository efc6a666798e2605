// host/gateway/gateway-wire.ts: the frame payload of the gateway service
// (services/gateway/protocol.ts) as the host writes and reads it, for both
// front ends (HTTP: ./http.ts, binary frames: ./binary.ts): the request
// header (route, the Authorization header's bearer key as its SHA-256, the
// client's address), the reply header, the stable error codes for the
// gateway's GW_E_* numbers, and the gateway's counters. Admission (the
// kernel's decision on a request header) is typed here too.

import * as crypto from 'node:crypto';
import type { AdmissionAnswer } from '../base/kernel.ts';
import * as gw from '../../services/gateway/protocol.ts';
import type { Head } from './http-head.ts';
import { LedgerReplyError } from './ledger-json.ts';

/** The service that receives every authenticated request. */
export const GATEWAY_SERVICE = 'gateway';

/**
 * The kernel's admission decision on a gateway request header (Kernel.admission):
 * ADM_MODE_PEEK before a body is read, ADM_MODE_TAKE for requests the host
 * answers without a frame (it charges the rate buckets).
 */
export type Admit = (header: Buffer, mode: number) => AdmissionAnswer;

/** The client's address as 16 bytes (IPv4 mapped to ::ffff:a.b.c.d); zero when unknown. */
export function sourceBytes(address: string | undefined): Buffer {
  const out = Buffer.alloc(gw.GW_SOURCE_BYTES);
  if (address === undefined) return out;
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(address);
  if (v4 !== null) {
    out[10] = 0xff; out[11] = 0xff;
    for (let i = 0; i < 4; i++) out[12 + i] = Number(v4[1 + i]) & 0xff;
    return out;
  }
  const [head, tail = ''] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t].slice(0, 8);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff || 0, i * 2));
  return out;
}

// ---- authorization and the gateway frame ----

// A key is what `qenex keys create` prints: "qx_" and 43 base64url characters.
// Any bearer token (RFC 6750 b64token) is hashed and looked up; admission
// says whether it exists.
const B64TOKEN = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/') B64TOKEN[c.charCodeAt(0)] = 1;

/** Whether text[from..] is a b64token (RFC 6750: token characters, then '=' padding): one loop, no pattern. */
export function isB64Token(text: string, from = 0): boolean {
  let i = from;
  while (i < text.length && text.charCodeAt(i) < 128 && B64TOKEN[text.charCodeAt(i)] === 1) i++;
  if (i === from) return false;
  while (i < text.length && text[i] === '=') i++;
  return i === text.length;
}

/** The token of "Bearer <b64token>", or null. */
export function bearerToken(value: string): string | null {
  return value.startsWith('Bearer ') && isB64Token(value, 7) ? value.slice(7) : null;
}

// crypto.hash (Node 20.12 on) hashes in one call without a Hash object: about
// a microsecond less per request than createHash, on every authenticated request.
const sha256: (text: string) => Buffer = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'buffer')
  : (text) => crypto.createHash('sha256').update(text, 'utf8').digest();

/** The auth byte and key hash for a request head. */
export function authorization(head: Head): { auth: number; hash: Buffer | null } {
  const values = head.fields.get('authorization');
  if (values === undefined) return { auth: gw.AUTH_NONE, hash: null };
  const token = values.length === 1 ? bearerToken(values[0]) : null;
  if (token === null) return { auth: gw.AUTH_MALFORMED, hash: null };
  return { auth: gw.AUTH_BEARER, hash: sha256(token) };
}

/** The payload of a frame to the gateway service. */
export function gatewayRequest(routeId: number, auth: number, hash: Uint8Array | null, source: Uint8Array, body: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(gw.GW_REQUEST_HEADER_BYTES + body.length);
  writeGatewayHeader(out, 0, routeId, auth, hash, source, flags);
  out.set(body, gw.GW_REQUEST_HEADER_BYTES);
  return out;
}

/** Writes the GW_REQUEST_HEADER_BYTES gateway request header at `at` in `out` (reserved bytes zeroed). */
export function writeGatewayHeader(out: Buffer, at: number, routeId: number, auth: number, hash: Uint8Array | null, source: Uint8Array, flags = 0): void {
  out.fill(0, at, at + gw.GW_REQUEST_HEADER_BYTES);
  out[at] = gw.GW_VERSION;
  out[at + 1] = routeId;
  out[at + 2] = auth;
  out[at + 3] = flags;
  out.set(source.subarray(0, gw.GW_SOURCE_BYTES), at + gw.GW_SOURCE_OFFSET);
  if (hash !== null) out.set(hash, at + gw.GW_KEY_HASH_OFFSET);
}

/** Points a request header at another route (the next frame of a chain that goes to another service). */
export function setGatewayRoute(header: Buffer, routeId: number): void {
  if (!Number.isInteger(routeId) || routeId < 1 || routeId >= gw.ROUTE_COUNT) throw new RangeError(`gateway route ${routeId}`);
  header[1] = routeId;
}

export interface GatewayReply { status: number; error: number; retryAfter: number; keyId: number; role: number; body: Buffer }

export function parseGatewayReply(payload: Buffer): GatewayReply | null {
  if (payload.length < gw.GW_REPLY_HEADER_BYTES) return null;
  return {
    status: payload.readUInt16LE(0), error: payload.readUInt16LE(2), retryAfter: payload.readUInt32LE(4),
    keyId: payload.readUInt32LE(8), role: payload[12], body: payload.subarray(gw.GW_REPLY_HEADER_BYTES),
  };
}

/** Stable error codes for the gateway service's GW_E_* numbers. */
export const GATEWAY_ERROR_CODES: Record<number, string> = {
  [gw.GW_E_MALFORMED]: 'malformed_request', [gw.GW_E_UNAUTHENTICATED]: 'unauthenticated',
  [gw.GW_E_BAD_AUTHORIZATION]: 'invalid_authorization', [gw.GW_E_UNKNOWN_KEY]: 'unknown_key',
  [gw.GW_E_REVOKED_KEY]: 'revoked_key', [gw.GW_E_FORBIDDEN_ROLE]: 'forbidden', [gw.GW_E_FORBIDDEN_LEDGER]: 'forbidden_ledger',
  [gw.GW_E_RATE_LIMITED_KEY]: 'rate_limited', [gw.GW_E_RATE_LIMITED_SOURCE]: 'rate_limited',
  [gw.GW_E_BUSY]: 'busy', [gw.GW_E_LEDGER]: 'ledger_rejected', [gw.GW_E_KEY_TABLE_FULL]: 'key_table_full',
  [gw.GW_E_LEDGER_ABORTED]: 'ledger_aborted', [gw.GW_E_PAYMENTS_ABORTED]: 'payments_aborted', [gw.GW_E_COMPLIANCE_ABORTED]: 'compliance_aborted',
  [gw.GW_E_COMPLIANCE_REFUSED]: 'compliance_refused', [gw.GW_E_TRADING_ABORTED]: 'trading_aborted', [gw.GW_E_FIX_ABORTED]: 'fix_aborted',
  [gw.GW_E_KEY_EXISTS]: 'key_exists', [gw.GW_E_NO_SUCH_KEY]: 'not_found', [gw.GW_E_INVALID_KEY_SPEC]: 'invalid_field',
};

const GATEWAY_STAT_NAMES = ['allowed', 'unauthenticated', 'forbidden', 'rate_limited', 'busy',
  'ledger_in_flight', 'deferred', 'keys', 'sources'] as const;

/** Admission's counters (hal/abi.ts ADM_STAT_*), per node since boot. */
export interface AdmissionStats { admitted: number; unauthenticated: number; forbidden: number; rate_limited: number; malformed: number; sources: number }

/**
 * GET /v1/system/gateway: the gateway service's counters (what it decided on
 * logged requests) plus admission's (what was refused before the log), and
 * admission's own figures beside them.
 */
export function decodeGatewayStats(body: Buffer, admission?: AdmissionStats): Record<string, number> {
  if (body.length !== gw.GW_STATS_COUNT * 8) throw new LedgerReplyError(`gateway stats: ${body.length} bytes`);
  const out: Record<string, number> = {};
  GATEWAY_STAT_NAMES.forEach((name, i) => { out[name] = Number(body.readBigUInt64LE(i * 8)); });
  if (admission !== undefined) {
    out.unauthenticated += admission.unauthenticated;
    out.forbidden += admission.forbidden;
    out.rate_limited += admission.rate_limited;
    out.sources = admission.sources;
    out.admitted = admission.admitted;
    out.refused_malformed = admission.malformed;
  }
  return out;
}

/** One frame of a request sent as several: its body and, when not the route's own, the gateway route it goes to. */
export interface Frame { body: Buffer; route?: number }

/**
 * A request sent as one frame or several: the first, and how to build each
 * next one from the gateway service's reply body to the one before (null:
 * that reply is the answer). The next frame may depend on what the reply
 * said (a case closed with an outcome, a page's last id).
 */
export interface Chain { first: Buffer; next?: (reply: Buffer) => Frame | null }

/** A chain of precomputed frames, each sent when `taken` says the service took the one before (a list load, a message in parts). */
export function inOrder([first, ...rest]: Buffer[], taken: (reply: Buffer) => boolean): Chain {
  if (first === undefined) throw new Error('inOrder: a request has at least one frame');
  return rest.length === 0 ? { first } : { first, next: (reply) => (taken(reply) && rest.length > 0 ? { body: rest.shift()! } : null) };
}
