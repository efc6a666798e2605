// host/gateway/http.ts: the HTTP/1.1 offload in front of the gateway
// service, one HttpSession per client connection. Pure: it owns no socket
// and no timer.
//
// The net device (host/devices/net.ts) sniffs a connection's first bytes with
// looksLikeHttp, creates a session with hooks for the socket and the kernel,
// feeds it bytes with receive(), and hands it the kernel's reply frames with
// reply(). The session parses HTTP/1.1 strictly, in work linear in the bytes
// (./http-head.ts), within the limits below, and translates; it decides
// nothing that is policy. Every /v1 request but health, readiness and the
// OpenAPI document is first put to the kernel's admission (GatewayConfig
// admit, hal/abi.ts "admission") with what the Authorization header held (the
// SHA-256 of a bearer key, never the key), the route and the client's
// address, before a byte of its body is kept: a refused request is answered
// at once, its body is never read into memory nor translated, and nothing of
// it is logged. An admitted request becomes one frame to service "gateway"
// (services/gateway/protocol.ts) with the already-translated binary ledger
// request; the kernel admits the frame once more (charging the rate buckets)
// before logging it, and the gateway service routes it, in the command log and
// so replayably; the session renders its answer as JSON. The statistics
// routes and /metrics are answered by the host once admission allowed them,
// and never logged. The kernel answers logged requests only once their batch
// is durable, so a 200 means durable.
//
// Responses leave in request order (one slot per request, even for errors
// known at once), at most `limits.requestsInFlightMax` requests are open per
// connection (beyond it the socket is paused), and a request is refused as a
// whole or submitted as a whole: nothing is partial.
//
// Routes: ROUTES below (the OpenAPI document, host/gateway/openapi.ts, lists
// the same set; a test checks both ways). Errors are {"error":{"code","message"}}.
//
// Transfer-Encoding (chunked or any other) is refused with 501 and the
// connection closed: every client can send Content-Length for a JSON body,
// and one framing is one less way for a proxy and us to disagree about where
// a request ends (request smuggling).

import { createHash, randomBytes } from 'node:crypto';
import * as abi from '../../hal/abi.ts';
import { contentLength, fieldTokens, headWork, isDecimal, KNOWN_METHODS, parseHead, type Head, type HeadRefusal } from './http-head.ts';
import type { AdmissionAnswer } from '../base/kernel.ts';
import { NET_REQUEST_TIMEOUT_MS, NET_UNSENT_BYTES_MAX } from '../base/limits.ts';
import { ByteQueue } from '../base/bytes.ts';
import { BATCH_EVENTS_MAX, HEADER_BYTES, RECORD_BYTES, U128_MAX, emptyReason, type OperationName } from '../client/ledger.ts';
import { JsonError, JsonNumber, isJsonObject, parseJson, type JsonValue } from './json.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { openApiText } from './openapi.ts';
import { VERSION } from '../base/version.ts';
import { serviceCommandFromJson, decodeServiceReply, type ServiceRoute } from './services-json.ts';
import { EventQueryError, parseEventQuery, type EventHub, type EventQuery } from './events.ts';
import {
  ASSET_SCALE_MAX, LedgerJsonError, LedgerReplyError, ledgerReplyToJson, ledgerRequestFromJson,
  parseUnsignedDecimal, readUint, type LedgerRequest,
} from './ledger-json.ts';

// ---- limits: the gateway's own, each with why (host/base/limits.ts holds the host's) ----

export const limits = {
  // Request line plus headers, CRLFCRLF included. 16 KiB is what common
  // servers allow by default (nginx 8-32 KiB, Node 16 KiB); our clients send a
  // handful of short headers, and the bound caps what one connection may make
  // us buffer before a request is even known. Beyond it: 431.
  headerBytesMax: 16 * 1024,
  // Header fields per request; 100 is Node's default and far above what any
  // JSON client sends. Beyond it: 431.
  headerCountMax: 100,
  // Content-Length, checked before a byte of the body is buffered. A largest
  // batch (8189 transfers, every field with a 39-digit value and some
  // whitespace) is about 8 MiB of JSON; 16 MiB leaves room for formatting.
  // Beyond it: 413 and the connection is closed (we don't read the body).
  bodyBytesMax: 16 * 1024 * 1024,
  // Requests open on one connection (submitted, or waiting for an earlier
  // response). 64 keeps a pipelining client busy without letting it hold a
  // large share of the kernel's request table (REQUESTS_IN_FLIGHT_MAX) or
  // buffer many responses; beyond it the socket is paused.
  requestsInFlightMax: 64,
  // Bytes that may arrive while the socket is paused (the host stops reading
  // at once, so at most a few chunks already read). More means the host
  // ignores pause(); the connection is closed rather than buffered without end.
  pausedBytesMax: 1024 * 1024,
  // JSON nesting: a batch is array > event > flags array, 3 levels; 16 leaves
  // room for later shapes while keeping the parser's recursion trivially small.
  jsonDepthMax: 16,
  // JSON values in one body: a largest batch has 8189 events of at most 14
  // fields and 9 flag names each (~24 values, keys counted); 32 per event
  // bounds the objects a 16 MiB body can make us build (else ~8 million).
  jsonValuesMax: BATCH_EVENTS_MAX * 32,
  // A ledger error message (FRAME_E_SERVICE payload) is copied into the
  // response; the ledger's messages are one short line, 4 KiB is a cap.
  ledgerMessageBytesMax: 4096,
  // The request timeout, idle timeout and the unsent bytes at which the
  // session stops reading requests are the net device's (host/base/limits.ts
  // NET_REQUEST_TIMEOUT_MS, NET_HTTP_IDLE_MS, NET_UNSENT_BYTES_MAX).
} as const;

/** The service that receives every authenticated request. */
export const GATEWAY_SERVICE = 'gateway';

// The largest ledger request must fit one frame body, or a valid batch would
// be refused by the net device; checked at import so an edit can't break it.
const largestFrameBodyBytes = abi.FRAME_REQUEST_HEADER_BYTES + GATEWAY_SERVICE.length + gw.GW_REQUEST_HEADER_BYTES
  + HEADER_BYTES + BATCH_EVENTS_MAX * RECORD_BYTES;
if (largestFrameBodyBytes > abi.FRAME_BODY_BYTES_MAX) throw new Error('http.ts: a largest ledger batch does not fit a frame body');
if (limits.headerBytesMax >= limits.pausedBytesMax) throw new Error('http.ts: pausedBytesMax must exceed headerBytesMax');

// ---- public API ----

/** Bytes the net device needs before looksLikeHttp can decide. */
export const SNIFF_BYTES = abi.FRAME_LEN_BYTES;

/**
 * Whether a connection that began with `firstBytes` (at least SNIFF_BYTES)
 * speaks HTTP rather than frames. A frame begins with its little-endian
 * body length, at most a little over 1 MiB, so its fourth byte is zero; text
 * (any request line, also a lowercase or unknown method, or an empty line
 * before it) has a printable or CR/LF fourth byte. Whatever is not a frame is
 * HTTP, and the HTTP parser answers what is not HTTP either with 400.
 */
export function looksLikeHttp(firstBytes: Buffer): boolean {
  if (firstBytes.length < SNIFF_BYTES) throw new Error(`looksLikeHttp needs ${SNIFF_BYTES} bytes`);
  return firstBytes[3] !== 0;
}

export interface HttpSessionHooks {
  /** A request for the kernel: a frame to `service` whose payload is `header` then `body` (copied once, into the frame). */
  submit(requestId: number, service: string, header: Uint8Array, body: Uint8Array): void;
  /** Bytes to the client. */
  write(bytes: Buffer): void;
  /** Close after what was written. */
  end(): void;
  /** Stop reading the socket (too many requests in flight). */
  pause(): void;
  /** Start reading it again. */
  resume(): void;
  /** Bytes written but not yet sent (an event stream stops writing above its limit); absent: 0. */
  buffered?(): number;
  /** Calls `cb` once when what was written has been handed to the OS (the socket's 'drain'). */
  onDrain?(cb: () => void): void;
}

/** What the host offers the session besides the kernel: readiness, statistics, metrics, request logs. */
export interface GatewayHost {
  ready(): boolean;
  /** JSON for GET /v1/system/{services,scheduler,memory}, after the gateway allowed it. */
  system(what: 'services' | 'scheduler' | 'memory'): unknown;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
  /** One finished request (metrics and the request log). */
  observe(e: { requestId: string; method: string; route: string; status: number; ms: number; code?: string }): void;
}

/**
 * The kernel's admission decision on a gateway request header (Kernel.admission):
 * ADM_MODE_PEEK before a body is read, ADM_MODE_TAKE for requests the host
 * answers without a frame (it charges the rate buckets).
 */
export type Admit = (header: Buffer, mode: number) => AdmissionAnswer;

export interface GatewayConfig {
  ledgers: Map<number, { assetScale: number; currency?: string }>;
  admit: Admit;
  /** Admission's counters on this node (GET /v1/system/gateway adds them to the gateway's). */
  admissionStats?: () => AdmissionStats;
  host?: GatewayHost;
  /** The event stream (GET /v1/events); absent: that route answers 503. */
  events?: EventHub;
}

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

// ---- responses ----

const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 409: 'Conflict', 411: 'Length Required', 413: 'Content Too Large',
  415: 'Unsupported Media Type', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  408: 'Request Timeout', 500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** A refusal: the HTTP status, a stable snake_case code and a message for people. */
interface Refusal {
  status: number;
  code: string;
  message: string;
  headers?: readonly (readonly [string, string])[];
}

function refusal(status: number, code: string, message: string, headers?: Refusal['headers']): Refusal {
  return { status, code, message, headers };
}

function render(status: number, json: string, close: boolean, noBody: boolean,
  headers: Refusal['headers'] = [], contentType = 'application/json'): Buffer {
  const reason = REASONS[status];
  if (reason === undefined) throw new Error(`http.ts: no reason phrase for status ${status}`);
  const body = Buffer.from(json, 'utf8');
  let head = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += `Connection: ${close ? 'close' : 'keep-alive'}\r\n\r\n`;
  return noBody ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function errorJson(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

// ---- request head (./http-head.ts) ----

/** Content-Type must be application/json; a charset parameter, if any, must be utf-8. */
function jsonContentType(head: Head): boolean {
  const values = head.fields.get('content-type');
  if (values === undefined || values.length !== 1) return false;
  const [type, ...parameters] = values[0].split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return parameters.every((p) => !p.startsWith('charset=') || p === 'charset=utf-8' || p === 'charset="utf-8"');
}

// ---- routes ----

/** Who answers a route: the session itself (open routes) or the gateway service. */
export type RouteHandler = 'index' | 'health' | 'ready' | 'openapi' | 'metrics' | 'ledger' | 'system' | 'gateway_stats'
  | 'keys_create' | 'keys_list' | 'keys_revoke' | 'events' | ServiceRoute;

export interface RouteSpec {
  method: 'GET' | 'POST' | 'DELETE';
  /** The path as the OpenAPI document writes it ({id} for a parameter). */
  path: string;
  handler: RouteHandler;
  /** The gateway service's route id (services/gateway/protocol.ts), 0 for open routes. */
  gatewayRoute: number;
  /** A JSON body is required (Content-Length and Content-Type: application/json). */
  jsonBody: boolean;
  operation?: OperationName;
  system?: 'services' | 'scheduler' | 'memory';
  /** The route takes a query string (GET /v1/events only); every other target with '?' matches nothing. */
  query?: boolean;
  /** Answered by the host once admission allowed it (statistics, metrics); never a frame, never logged. */
  host?: boolean;
}

function route(method: RouteSpec['method'], path: string, handler: RouteHandler, gatewayRoute = 0,
  extra: Partial<RouteSpec> = {}): RouteSpec {
  return { method, path, handler, gatewayRoute, jsonBody: method === 'POST', ...extra };
}

/** Every route the session serves; the OpenAPI document must list exactly these. */
export const ROUTES: readonly RouteSpec[] = [
  route('GET', '/', 'index'),
  route('GET', '/v1/health', 'health'),
  route('GET', '/v1/ready', 'ready'),
  route('GET', '/v1/openapi.json', 'openapi'),
  route('GET', '/metrics', 'metrics', gw.ROUTE_METRICS, { host: true }),
  route('POST', '/v1/accounts', 'ledger', gw.ROUTE_CREATE_ACCOUNTS, { operation: 'create_accounts' }),
  route('POST', '/v1/transfers', 'ledger', gw.ROUTE_CREATE_TRANSFERS, { operation: 'create_transfers' }),
  route('POST', '/v1/accounts/lookup', 'ledger', gw.ROUTE_LOOKUP_ACCOUNTS, { operation: 'lookup_accounts' }),
  route('POST', '/v1/transfers/lookup', 'ledger', gw.ROUTE_LOOKUP_TRANSFERS, { operation: 'lookup_transfers' }),
  route('POST', '/v1/accounts/{id}/transfers', 'ledger', gw.ROUTE_ACCOUNT_TRANSFERS, { operation: 'get_account_transfers' }),
  route('POST', '/v1/accounts/{id}/balances', 'ledger', gw.ROUTE_ACCOUNT_BALANCES, { operation: 'get_account_balances' }),
  route('GET', '/v1/system/services', 'system', gw.ROUTE_SYSTEM_SERVICES, { system: 'services', host: true }),
  route('GET', '/v1/system/scheduler', 'system', gw.ROUTE_SYSTEM_SCHEDULER, { system: 'scheduler', host: true }),
  route('GET', '/v1/system/memory', 'system', gw.ROUTE_SYSTEM_MEMORY, { system: 'memory', host: true }),
  route('GET', '/v1/system/gateway', 'gateway_stats', gw.ROUTE_SYSTEM_GATEWAY),
  route('POST', '/v1/keys', 'keys_create', gw.ROUTE_KEYS_CREATE),
  route('GET', '/v1/keys', 'keys_list', gw.ROUTE_KEYS_LIST),
  route('DELETE', '/v1/keys/{id}', 'keys_revoke', gw.ROUTE_KEYS_REVOKE),
  route('GET', '/v1/events', 'events', gw.ROUTE_EVENTS, { query: true }),
  // Live load, upgrade and unload of services, admin only (host/gateway/services-json.ts).
  route('POST', '/v1/system/services', 'services_load', gw.ROUTE_SERVICES_LOAD),
  route('POST', '/v1/system/services/upgrade', 'services_upgrade', gw.ROUTE_SERVICES_UPGRADE),
  route('POST', '/v1/system/services/unload', 'services_unload', gw.ROUTE_SERVICES_UNLOAD),
];

interface RouteMatch {
  spec: RouteSpec;
  /** The {id} of the path: a bigint, or null when it is not valid for the route. */
  id: bigint | null;
  /** The query string without '?' ('' when none; only routes with `query`). */
  query: string;
}

// Exact matching on the raw target: no percent-decoding, no dot segments,
// no empty segments, no query, so `..`, `%2e` and `//` match nothing (404)
// and one path has one meaning. A parameter is a run of digits. Segments are
// compared one by one: no pattern ever sees the target.
const ROUTE_SEGMENTS = ROUTES.map((spec) => ({ spec, segments: spec.path.split('/') }));

/** The routes whose path matches `target` (one per method), with the path id. */
function matchRoutes(target: string): RouteMatch[] {
  const found: RouteMatch[] = [];
  const q = target.indexOf('?');
  const segments = (q < 0 ? target : target.slice(0, q)).split('/');
  for (const { spec, segments: want } of ROUTE_SEGMENTS) {
    if (q >= 0 && spec.query !== true) continue;
    if (want.length !== segments.length) continue;
    let id: string | undefined;
    let same = true;
    for (let i = 0; i < want.length && same; i++) {
      if (want[i] === '{id}') { id = segments[i]; same = isDecimal(id); } else same = want[i] === segments[i];
    }
    if (!same) continue;
    const max = spec.handler === 'keys_revoke' ? 0xffffffffn : U128_MAX;
    found.push({ spec, id: id === undefined ? 0n : parseUnsignedDecimal(id, max), query: q < 0 ? '' : target.slice(q + 1) });
  }
  return found;
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

/** The auth byte and key hash for a request head. */
function authorization(head: Head): { auth: number; hash: Buffer | null } {
  const values = head.fields.get('authorization');
  if (values === undefined) return { auth: gw.AUTH_NONE, hash: null };
  const token = values.length === 1 ? bearerToken(values[0]) : null;
  if (token === null) return { auth: gw.AUTH_MALFORMED, hash: null };
  return { auth: gw.AUTH_BEARER, hash: createHash('sha256').update(token, 'utf8').digest() };
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

export interface GatewayReply { status: number; error: number; retryAfter: number; keyId: number; role: number; body: Buffer }

export function parseGatewayReply(payload: Buffer): GatewayReply | null {
  if (payload.length < gw.GW_REPLY_HEADER_BYTES) return null;
  return {
    status: payload.readUInt16LE(0), error: payload.readUInt16LE(2), retryAfter: payload.readUInt32LE(4),
    keyId: payload.readUInt32LE(8), role: payload[12], body: payload.subarray(gw.GW_REPLY_HEADER_BYTES),
  };
}

export const ROLE_NAMES: Record<number, string> = {
  [gw.ROLE_ADMIN]: 'admin', [gw.ROLE_OPERATOR]: 'operator', [gw.ROLE_TELLER]: 'teller',
  [gw.ROLE_AUDITOR]: 'auditor', [gw.ROLE_READ_ONLY]: 'read-only',
};

/** Stable error codes for the gateway service's GW_E_* numbers. */
export const GATEWAY_ERROR_CODES: Record<number, string> = {
  [gw.GW_E_MALFORMED]: 'malformed_request', [gw.GW_E_UNAUTHENTICATED]: 'unauthenticated',
  [gw.GW_E_BAD_AUTHORIZATION]: 'invalid_authorization', [gw.GW_E_UNKNOWN_KEY]: 'unknown_key',
  [gw.GW_E_REVOKED_KEY]: 'revoked_key', [gw.GW_E_FORBIDDEN_ROLE]: 'forbidden', [gw.GW_E_FORBIDDEN_LEDGER]: 'forbidden_ledger',
  [gw.GW_E_RATE_LIMITED_KEY]: 'rate_limited', [gw.GW_E_RATE_LIMITED_SOURCE]: 'rate_limited',
  [gw.GW_E_BUSY]: 'busy', [gw.GW_E_LEDGER]: 'ledger_rejected', [gw.GW_E_KEY_TABLE_FULL]: 'key_table_full',
  [gw.GW_E_LEDGER_ABORTED]: 'ledger_aborted', [gw.GW_E_KEY_EXISTS]: 'key_exists', [gw.GW_E_NO_SUCH_KEY]: 'not_found', [gw.GW_E_INVALID_KEY_SPEC]: 'invalid_field',
};

/** A new API key: 32 random bytes, base64url, with a recognisable prefix. */
export function newApiKey(): string {
  return `qx_${randomBytes(32).toString('base64url')}`;
}

export function apiKeyHash(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export interface KeySpec { role: number; ledgers: number[]; ratePerSecond: number; burst: number }

/** The KEY_CREATE body for the gateway service. */
export function keyCreateBody(spec: KeySpec, hash: Uint8Array): Buffer {
  const out = Buffer.alloc(gw.KEY_CREATE_BYTES + spec.ledgers.length * 4);
  out[0] = spec.role;
  out[1] = spec.ledgers.length;
  out.writeUInt32LE(spec.ratePerSecond, 4);
  out.writeUInt32LE(spec.burst, 8);
  out.set(hash, 12);
  spec.ledgers.forEach((l, i) => out.writeUInt32LE(l, gw.KEY_CREATE_BYTES + i * 4));
  return out;
}

export function roleNumber(name: string): number | undefined {
  const entry = Object.entries(ROLE_NAMES).find(([, n]) => n === name);
  return entry === undefined ? undefined : Number(entry[0]);
}

/** {"role","ledgers"?,"rate_per_second"?,"burst"?} strictly; throws LedgerJsonError. */
export function keySpecFromJson(body: JsonValue): KeySpec {
  if (!isJsonObject(body)) throw new LedgerJsonError('invalid_field', 'body: must be an object');
  for (const k of body.keys()) {
    if (!['role', 'ledgers', 'rate_per_second', 'burst'].includes(k)) throw new LedgerJsonError('invalid_field', `${k}: unknown field`);
  }
  const roleName = body.get('role');
  const role = typeof roleName === 'string' ? roleNumber(roleName) : undefined;
  if (role === undefined) throw new LedgerJsonError('invalid_field', `role: must be one of ${Object.values(ROLE_NAMES).join(', ')}`);
  const ledgersValue = body.get('ledgers') ?? [];
  if (!Array.isArray(ledgersValue) || ledgersValue.length > gw.KEY_GRANTS_MAX) {
    throw new LedgerJsonError('invalid_field', `ledgers: must be an array of at most ${gw.KEY_GRANTS_MAX} ledger numbers`);
  }
  const ledgers = ledgersValue.map((v, i) => readUint(v, `ledgers[${i}]`, 0xffffffff));
  const ratePerSecond = body.has('rate_per_second') ? readUint(body.get('rate_per_second')!, 'rate_per_second', 1000000) : 0;
  const burst = body.has('burst') ? readUint(body.get('burst')!, 'burst', 1000000) : 0;
  return { role, ledgers, ratePerSecond, burst };
}

export interface KeyRecord {
  id: number; role: string; revoked: boolean; ledgers: number[]; created_ns: string;
  rate_per_second: number; burst: number; hash_prefix: string;
}

export function decodeKeyRecords(body: Buffer): KeyRecord[] {
  if (body.length % gw.GW_KEY_RECORD_BYTES !== 0) throw new LedgerReplyError(`keys list: ${body.length} bytes is not whole records`);
  const out: KeyRecord[] = [];
  for (let at = 0; at < body.length; at += gw.GW_KEY_RECORD_BYTES) {
    const grants = body[at + 6];
    out.push({
      id: body.readUInt32LE(at), role: ROLE_NAMES[body[at + 4]] ?? `role ${body[at + 4]}`, revoked: body[at + 5] !== 0,
      ledgers: Array.from({ length: grants }, (_, i) => body.readUInt32LE(at + 24 + i * 4)),
      created_ns: body.readBigUInt64LE(at + 8).toString(), rate_per_second: body.readUInt32LE(at + 16),
      burst: body.readUInt32LE(at + 20), hash_prefix: body.subarray(at + 88, at + 96).toString('hex'),
    });
  }
  return out;
}

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

// ---- the session ----

/** One request's place in the response order. */
interface Slot {
  /** The id it was submitted under, or 0 when the session answers it itself. */
  requestId: number;
  spec: RouteSpec | null;
  method: string;
  /** The path id (account id, key id), when the route has one. */
  id: bigint;
  request: LedgerRequest | null;
  /** keys create: the new key, returned once and never sent to the kernel. */
  newKey: { key: string; spec: KeySpec } | null;
  close: boolean;
  noBody: boolean;
  response: Buffer | null;
  status: number;
  code?: string;
  /** Service commands: the service's name, for the answer. */
  serviceName?: string;
  /** GET /v1/events: the query string and Last-Event-ID as received, then the parsed query. */
  eventsText?: { query: string; lastEventId: string[] | undefined };
  events?: EventQuery;
  /** GET /v1/events allowed: the key's ledger grants (null: all); the stream starts when this slot is written. */
  stream?: { grants: number[] | null };
  /** The gateway request header admission saw (routes past the open ones). */
  header?: Buffer;
  startedMs: number;
  label: string;
  /** The route's path for metrics when no route took the request (405: the path exists, the method not). */
  path?: string;
}

/** A request whose head is parsed and whose body is being read (or skipped). */
interface Reading {
  slot: Slot;
  remaining: number;
  /** Handle the request after its body (else the answer is already known and the body is skipped). */
  keep: boolean;
  chunks: Buffer[];
}

type State = 'head' | 'body' | 'closing' | 'ended' | 'streaming'; // streaming: the connection is an event stream

const EMPTY = Buffer.alloc(0);

// GET /: what this server is and where to go next (the operator console will
// live at /console/ and / will redirect there). No script, no outside link.
const INDEX_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>QENEX ${VERSION}</title></head>
<body>
<h1>QENEX ${VERSION}</h1>
<p>A financial operating system: a ledger with TigerBeetle's semantics behind an authenticated API gateway.</p>
<ul>
<li><a href="/v1/openapi.json">/v1/openapi.json</a>: the API (OpenAPI 3.1). Every route but /, /v1/health, /v1/ready and the document needs <code>Authorization: Bearer &lt;key&gt;</code>.</li>
<li><a href="/v1/health">/v1/health</a> and <a href="/v1/ready">/v1/ready</a>: liveness and readiness.</li>
<li>Documentation: docs/ in the QENEX source (README.md, docs/api.md, docs/security.md, docs/operations.md).</li>
</ul>
</body></html>
`;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

export class HttpSession {
  private state: State = 'head';
  private readonly held = new ByteQueue(); // received, not yet parsed
  private scanned = 0; // bytes of `buffer` searched for the end of a head
  private reading: Reading | null = null;
  private readonly slots: Slot[] = [];
  private readonly submitted = new Map<number, Slot>();
  private nextRequestId = 1;
  private paused = false;
  private awaitingDrain = false;
  private pumping = false;
  private pumpAgain = false;
  private readonly ledgers: GatewayConfig['ledgers'];
  private readonly admit: Admit;
  private readonly admissionStats: GatewayConfig['admissionStats'];
  private readonly host: GatewayHost | undefined;
  private readonly events: EventHub | undefined;
  private unsubscribe: (() => void) | null = null;
  private readonly source: Buffer;
  private readonly label: string;
  private served = 0;
  /** performance.now() when the request being received began; null when none is partial. */
  private partialSince: number | null = null;

  /** `source`: the client's address (sourceBytes) and a label for request ids (the connection number). */
  constructor(private readonly hooks: HttpSessionHooks, config: GatewayConfig,
    source: { address: Buffer; label: string } = { address: Buffer.alloc(gw.GW_SOURCE_BYTES), label: '0' }) {
    this.host = config.host;
    this.events = config.events;
    this.source = source.address;
    this.label = source.label;
    for (const [ledger, { assetScale }] of config.ledgers) {
      if (!Number.isInteger(ledger) || ledger < 0 || ledger > 0xffffffff) throw new RangeError(`gateway: ledger ${ledger} is not a u32`);
      if (!Number.isInteger(assetScale) || assetScale < 0 || assetScale > ASSET_SCALE_MAX) {
        throw new RangeError(`gateway: ledger ${ledger}: assetScale ${assetScale} is not an integer from 0 to ${ASSET_SCALE_MAX}`);
      }
    }
    this.ledgers = config.ledgers;
    this.admit = config.admit;
    this.admissionStats = config.admissionStats;
  }

  /** Bytes from the client. */
  receive(chunk: Buffer): void {
    // An event stream reads nothing more: the response never ends to make room for another request.
    if (this.state === 'closing' || this.state === 'ended' || this.state === 'streaming' || chunk.length === 0) return;
    // A body chunk is held as it is (nothing else is held while a body is
    // read), so a large body is never copied chunk by chunk; a head that
    // trickles in is appended in linear work (host/base/bytes.ts).
    this.held.append(chunk);
    this.pump();
    if (this.state === 'head' && this.paused && this.held.length > limits.pausedBytesMax) {
      // The host kept reading after pause(); refuse to buffer without end.
      this.finish();
    }
  }

  /** The kernel's reply frame to a submitted request. */
  reply(requestId: number, status: number, payload: Buffer): void {
    if (this.state === 'ended') return;
    const slot = this.submitted.get(requestId);
    if (slot === undefined) return; // not ours, or answered already
    this.submitted.delete(requestId);
    if (slot.spec === null) throw new Error('http.ts: a submitted slot without its route');
    this.gatewayResponse(slot, status, payload);
    this.flush();
    this.pump();
  }

  /** The socket is gone: drop every buffer and every pending request. */
  closed(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.state = 'ended';
    this.held.clear();
    this.reading = null;
    this.slots.length = 0;
    this.submitted.clear();
  }

  // Parses what is buffered, request by request, while there is room in flight.
  // Re-entrant calls (a hook that answers synchronously) only ask for another
  // round, so requests are always handled in order by one loop.
  private pump(): void {
    if (this.pumping) { this.pumpAgain = true; return; }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.parseBuffered();
      } while (this.pumpAgain && this.state !== 'ended');
    } finally {
      this.pumping = false;
    }
    const partial = this.state === 'body' || (this.state === 'head' && this.held.length > 0);
    if (!partial) this.partialSince = null;
    else this.partialSince ??= performance.now();
    this.flow();
  }

  /** When the request now being received began (performance.now()), or null. */
  partialSinceMs(): number | null {
    return this.state === 'ended' || this.state === 'closing' ? null : this.partialSince;
  }

  /** Nothing received that is not answered, and nothing partial: the connection may be closed. */
  idle(): boolean {
    if (this.state === 'streaming') return false;
    return this.slots.length === 0 && this.partialSince === null;
  }

  /** The request being received took too long (the net device's clock): 408, then close. */
  timeout(timeoutMs = NET_REQUEST_TIMEOUT_MS): void {
    if (this.state === 'ended' || this.state === 'closing') return;
    const timedOut = refusal(408, 'request_timeout', `the request did not arrive within ${timeoutMs} ms`);
    const reading = this.reading;
    if (this.state === 'body' && reading !== null) {
      // The body stopped coming: the request it belongs to is the one answered
      // 408 (a new slot behind it would wait for it forever).
      this.reading = null;
      this.held.clear();
      this.state = 'closing';
      reading.slot.close = true;
      if (reading.slot.response === null) this.respondRefusal(reading.slot, timedOut);
      this.flush();
      return;
    }
    this.refuseAndClose(timedOut, false);
  }

  /** Reply bytes the socket has not sent yet are past the bound: read no more requests until it drains. */
  private writeBlocked(): boolean {
    return (this.hooks.buffered?.() ?? 0) > NET_UNSENT_BYTES_MAX;
  }

  private parseBuffered(): void {
    // Each round consumes a head or body bytes, or returns: bounded by the buffer.
    for (;;) {
      if (this.state === 'body') {
        if (this.held.length === 0) return;
        const bytes = this.held.bytes();
        const taken = bytes.length - this.feedBody(bytes).length;
        // A refusal while handling the body may have dropped what is held.
        if (this.held.length === bytes.length) this.held.consume(taken);
        this.scanned = 0;
        if (this.state === 'body') return;
        continue;
      }
      if (this.state !== 'head' || this.slots.length >= limits.requestsInFlightMax || this.writeBlocked()) return;
      if (!this.parseOneHead()) return;
    }
  }

  /** Finds and handles one request head; false when more bytes are needed. */
  private parseOneHead(): boolean {
    // Empty lines before a request line are ignored (RFC 9112 §2.2), a bounded number of them.
    let start = 0;
    let bytes = this.held.bytes();
    while (start < limits.headerBytesMax && bytes[start] === 0x0d && bytes[start + 1] === 0x0a) start += 2;
    if (start > 0) { this.held.consume(start); bytes = this.held.bytes(); this.scanned = Math.max(0, this.scanned - start); }
    const end = bytes.indexOf(HEAD_END, Math.max(0, this.scanned - 3));
    if (end < 0) {
      this.scanned = bytes.length;
      if (bytes.length > limits.headerBytesMax) {
        this.refuseAndClose(refusal(431, 'headers_too_large', `request head exceeds ${limits.headerBytesMax} bytes`), false);
      }
      return false;
    }
    const headBytes = end + HEAD_END.length;
    this.held.consume(headBytes); // `bytes` stays a valid view of the head
    this.scanned = 0;
    if (headBytes > limits.headerBytesMax) {
      this.refuseAndClose(refusal(431, 'headers_too_large', `request head exceeds ${limits.headerBytesMax} bytes`), false);
      return false;
    }
    this.partialSince = null;
    const head = parseHead(bytes, 0, end, limits.headerCountMax);
    if ('status' in head) {
      this.refuseAndClose(head, false);
      return false;
    }
    this.startRequest(head);
    return true;
  }

  /** Decides what a request needs once its head is known. */
  private startRequest(head: Head): void {
    const noBody = head.method === 'HEAD';
    if (head.fields.has('transfer-encoding')) {
      this.refuseAndClose(refusal(501, 'transfer_encoding_not_supported',
        'Transfer-Encoding is not supported; send the body with Content-Length'), noBody);
      return;
    }
    const length = contentLength(head, limits.bodyBytesMax);
    if (length !== null && typeof length === 'object') {
      this.refuseAndClose(length, noBody);
      return;
    }
    const bodyBytes = length ?? 0;
    const matches = KNOWN_METHODS.has(head.method) ? matchRoutes(head.target) : [];
    const match = matches.find((m) => m.spec.method === head.method) ?? null;
    const early = this.earlyRefusal(head, matches, match, length);
    const expectsContinue = fieldTokens(head, 'expect').includes('100-continue');
    this.served++;
    const slot: Slot = {
      requestId: 0, spec: match?.spec ?? null, method: head.method, id: match?.id ?? 0n, request: null, newKey: null,
      close: head.version === '1.0' || fieldTokens(head, 'connection').includes('close'), noBody, response: null, status: 0,
      startedMs: performance.now(), label: `${this.label}-${this.served}`,
    };
    if (match === null && matches.length > 0) slot.path = matches[0].spec.path;
    if (match?.spec.handler === 'events') slot.eventsText = { query: match.query, lastEventId: head.fields.get('last-event-id') };
    this.slots.push(slot);
    if (early !== null) this.respondRefusal(slot, early);
    else if (match!.spec.gatewayRoute === 0) this.answerOpen(slot);
    else this.admitHead(slot, authorization(head), bodyBytes);
    // Kept: the request goes on to its body and the kernel. Host routes are
    // answered above (metrics may still be rendering).
    const keep = slot.response === null && match?.spec.host !== true;
    // A client waiting for 100 Continue may never send a body we refuse: close.
    if (!keep && expectsContinue && bodyBytes > 0) slot.close = true;
    if (slot.close && !keep) {
      // Nothing more is read on this connection, so the body need not be skipped.
      this.state = 'closing';
      this.flush();
      return;
    }
    if (keep && expectsContinue && bodyBytes > 0 && this.slots.length === 1) this.hooks.write(CONTINUE);
    this.reading = { slot, remaining: bodyBytes, keep, chunks: [] };
    this.state = 'body';
    if (bodyBytes === 0) this.endBody();
    this.flush();
  }

  /**
   * Admission of a request head (the kernel's decision, before any body byte
   * is kept): a refusal answers the slot now. Routes the host answers itself
   * are charged (ADM_MODE_TAKE) and answered here; the others are asked
   * without a charge (the kernel charges the frame when it arrives).
   */
  private admitHead(slot: Slot, auth: { auth: number; hash: Buffer | null }, bodyBytes: number): void {
    const spec = slot.spec!;
    slot.header = Buffer.allocUnsafe(gw.GW_REQUEST_HEADER_BYTES);
    writeGatewayHeader(slot.header, 0, spec.gatewayRoute, auth.auth, auth.hash, this.source);
    const answer = this.admit(slot.header, spec.host === true ? abi.ADM_MODE_TAKE : abi.ADM_MODE_PEEK);
    if (answer.status !== 200) {
      // The body is not read at all (a client without a valid key must not
      // make us take in up to bodyBytesMax bytes for nothing): the
      // connection closes after the answer instead.
      if (bodyBytes > 0) slot.close = true;
      this.respondRefusal(slot, admissionRefusal(answer));
      return;
    }
    if (spec.handler === 'metrics') this.answerMetrics(slot);
    else if (spec.handler === 'system') this.respond(slot, 200, JSON.stringify(this.host === undefined ? {} : this.host.system(spec.system!)));
  }

  /** Answers the open routes that need nothing from the kernel (health, readiness, the document). */
  private answerOpen(slot: Slot): void {
    const handler = slot.spec!.handler;
    if (handler === 'health') this.respond(slot, 200, JSON.stringify({ status: 'ok' }));
    else if (handler === 'ready') {
      const ready = this.host?.ready() ?? true;
      if (ready) this.respond(slot, 200, JSON.stringify({ status: 'ready' }));
      else this.respondRefusal(slot, refusal(503, 'not_ready', 'the kernel is not serving (starting up or shutting down)'));
    } else if (handler === 'openapi') this.respond(slot, 200, openApiText());
    else if (handler === 'index') this.respond(slot, 200, INDEX_HTML, [['Content-Security-Policy', "default-src 'none'"]], 'text/html; charset=utf-8');
  }

  /** Refusals known from the head alone (the body is then not read), or null. */
  private earlyRefusal(head: Head, matches: RouteMatch[], match: RouteMatch | null, length: number | null): Refusal | null {
    if (!KNOWN_METHODS.has(head.method)) return refusal(501, 'method_not_implemented', `${head.method.slice(0, 32)} is not a method QENEX implements`);
    if (matches.length === 0) return refusal(404, 'not_found', `no route for ${head.target.slice(0, 256)}`);
    if (match === null) {
      const allow = matches.map((m) => m.spec.method).join(', ');
      return refusal(405, 'method_not_allowed', `${head.target} allows ${allow} only`, [['Allow', allow]]);
    }
    if (match.id === null) {
      return refusal(400, 'invalid_field', match.spec.handler === 'keys_revoke'
        ? 'path: key id must be a decimal unsigned integer below 2^32'
        : 'path: account id must be a decimal string of an unsigned integer below 2^128');
    }
    if (!match.spec.jsonBody) return null;
    if (length === null) return refusal(411, 'length_required', 'a request body needs Content-Length');
    if (!jsonContentType(head)) return refusal(415, 'unsupported_media_type', 'Content-Type must be application/json');
    return null;
  }

  /** Takes body bytes from `chunk` for the request being read; returns what is left of the chunk. */
  private feedBody(chunk: Buffer): Buffer {
    const reading = this.reading;
    if (reading === null || this.state !== 'body') throw new Error('http.ts: body bytes outside a body');
    const take = Math.min(reading.remaining, chunk.length);
    if (reading.keep && reading.slot.spec!.jsonBody && take > 0) reading.chunks.push(chunk.subarray(0, take));
    reading.remaining -= take;
    if (reading.remaining === 0) this.endBody();
    return chunk.subarray(take);
  }

  /** The body is complete: handle the request and go back to reading heads. */
  private endBody(): void {
    const reading = this.reading;
    if (reading === null) throw new Error('http.ts: no request is being read');
    this.reading = null;
    this.state = reading.slot.close ? 'closing' : 'head';
    if (reading.keep) this.handleRequest(reading);
    this.flush();
  }

  private handleRequest(reading: Reading): void {
    const { slot } = reading;
    let body: Uint8Array;
    try {
      body = this.gatewayBody(slot, reading.chunks);
    } catch (e) {
      if (!(e instanceof JsonError) && !(e instanceof LedgerJsonError)) throw e;
      // Admission still decides 401/403/429 first (and charges the request):
      // only a client it admits learns how its body was judged.
      slot.header![3] = gw.GW_F_BODY_REFUSED;
      const answer = this.admit(slot.header!, abi.ADM_MODE_TAKE);
      this.respondRefusal(slot, answer.status === 400 && answer.error === gw.GW_E_BODY_REFUSED
        ? refusal(400, e.code, e.message) : admissionRefusal(answer));
      return;
    }
    slot.requestId = this.nextRequestId;
    this.nextRequestId = this.nextRequestId === 0xffffffff ? 1 : this.nextRequestId + 1;
    this.submitted.set(slot.requestId, slot);
    this.hooks.submit(slot.requestId, GATEWAY_SERVICE, slot.header!, body);
  }

  /** The route's body for the gateway service (the binary ledger request, a key spec, a key id). */
  private gatewayBody(slot: Slot, chunks: Buffer[]): Uint8Array {
    const spec = slot.spec!;
    const json = (): JsonValue => parseJson(Buffer.concat(chunks), {
      depthMax: limits.jsonDepthMax, itemsMax: BATCH_EVENTS_MAX, valuesMax: limits.jsonValuesMax,
    });
    if (spec.handler === 'ledger') {
      slot.request = ledgerRequestFromJson(spec.operation!, json(), this.ledgers, slot.id);
      return slot.request.payload;
    }
    if (spec.handler === 'keys_create') {
      const keySpec = keySpecFromJson(json());
      const key = newApiKey();
      slot.newKey = { key, spec: keySpec };
      return keyCreateBody(keySpec, apiKeyHash(key));
    }
    if (spec.handler === 'events') {
      // A bad query is a body refusal: the gateway decides 401/403 first.
      const { query, lastEventId } = slot.eventsText!;
      if (lastEventId !== undefined && lastEventId.length > 1) throw new LedgerJsonError('invalid_event_id', 'Last-Event-ID: given more than once');
      try {
        slot.events = parseEventQuery(query, lastEventId?.[0]);
      } catch (e) {
        if (e instanceof EventQueryError) throw new LedgerJsonError(e.code, e.message);
        throw e;
      }
      return EMPTY;
    }
    if (spec.handler === 'services_load' || spec.handler === 'services_upgrade' || spec.handler === 'services_unload') {
      const command = serviceCommandFromJson(spec.handler, json());
      slot.serviceName = command.toString('utf8', 24, 24 + command[1]);
      return command;
    }
    if (spec.handler === 'keys_revoke') {
      const id = Buffer.alloc(4);
      id.writeUInt32LE(Number(slot.id));
      return id;
    }
    return EMPTY;
  }

  private answerMetrics(slot: Slot): void {
    if (this.host === undefined) {
      this.respondRefusal(slot, refusal(503, 'unavailable', 'no metrics on this host'));
      return;
    }
    this.host.metrics().then(
      (text) => this.respond(slot, 200, text, [], 'text/plain; version=0.0.4; charset=utf-8'),
      (e: Error) => this.respondRefusal(slot, refusal(500, 'metrics_failed', e.message)),
    ).finally(() => { if (this.state !== 'ended') { this.flush(); this.pump(); } });
  }

  /** A refusal that ends the connection: nothing after it can be framed or trusted. */
  private refuseAndClose(r: Refusal, noBody: boolean): void {
    this.served++;
    const slot: Slot = {
      requestId: 0, spec: null, method: '', id: 0n, request: null, newKey: null, close: true, noBody,
      response: null, status: 0, startedMs: performance.now(), label: `${this.label}-${this.served}`,
    };
    this.respondRefusal(slot, r);
    this.slots.push(slot);
    this.state = 'closing';
    this.reading = null;
    this.held.clear();
    this.flush();
  }

  private respond(slot: Slot, status: number, text: string, headers: Refusal['headers'] = [], contentType?: string): void {
    slot.status = status;
    slot.response = render(status, text, slot.close, slot.noBody, [...headers, ['X-Request-Id', slot.label]], contentType);
  }

  private respondRefusal(slot: Slot, r: Refusal): void {
    slot.code = r.code;
    this.respond(slot, r.status, errorJson(r.code, r.message), r.headers);
  }

  /** The HTTP response for the kernel's reply to a gateway request. */
  private gatewayResponse(slot: Slot, status: number, payload: Buffer): void {
    if (status !== abi.FRAME_OK) { this.respondRefusal(slot, statusRefusal(status, payload)); return; }
    const r = parseGatewayReply(payload);
    if (r === null) { this.respondRefusal(slot, refusal(502, 'bad_gateway', 'the gateway answered without its header')); return; }
    if (r.error === gw.GW_E_SERVICE_COMMAND) { this.respondRefusal(slot, serviceRefusal(r)); return; }
    if (r.status !== 200) { this.respondRefusal(slot, gatewayRefusal(r)); return; }
    if (slot.spec!.handler === 'events') { this.allowStream(slot, r.body); return; }
    try {
      const why = slot.spec!.handler === 'ledger' ? emptyReason(r.body) : null;
      // An empty query answer says why (the account does not exist, or keeps no history): a header, the body stays a list.
      this.respond(slot, 200, JSON.stringify(this.successJson(slot, r)), why === null ? [] : [['QENEX-Empty-Reason', why]]);
    } catch (e) {
      if (!(e instanceof LedgerReplyError)) throw e;
      this.respondRefusal(slot, refusal(502, 'invalid_ledger_reply', e.message));
    }
  }

  private successJson(slot: Slot, r: GatewayReply): unknown {
    const spec = slot.spec!;
    switch (spec.handler) {
      case 'ledger': return ledgerReplyToJson(slot.request!, r.body, this.ledgers);
      case 'gateway_stats': return decodeGatewayStats(r.body, this.admissionStats?.());
      case 'keys_list': return decodeKeyRecords(r.body);
      case 'keys_revoke': return { id: Number(slot.id), revoked: true };
      case 'services_load': case 'services_upgrade': case 'services_unload': {
        const reply = decodeServiceReply(r.body);
        if (reply === null) throw new LedgerReplyError('service command: reply without its header');
        return { service: slot.serviceName ?? null, index: reply.index, version: reply.version, result: reply.code, message: reply.message };
      }
      case 'keys_create': {
        if (r.body.length !== 4 || slot.newKey === null) throw new LedgerReplyError('keys create: reply without the key id');
        const { key, spec: k } = slot.newKey;
        return {
          id: r.body.readUInt32LE(0), key, role: ROLE_NAMES[k.role], ledgers: k.ledgers,
          rate_per_second: k.ratePerSecond, burst: k.burst,
        };
      }
      default: throw new Error(`http.ts: ${spec.handler} is not a gateway route`);
    }
  }

  /** The gateway allowed GET /v1/events: the stream's head, or why it can't start. */
  private allowStream(slot: Slot, body: Buffer): void {
    if (this.events === undefined) { this.respondRefusal(slot, refusal(503, 'unavailable', 'no event stream on this host')); return; }
    const refused = this.events.check(slot.events!, slot.header ?? null);
    if (refused !== null) { this.respondRefusal(slot, refusal(refused.status, refused.code, refused.message)); return; }
    const count = body.length >= 4 ? body.readUInt32LE(0) : -1;
    if (count < 0 || body.length !== 4 + count * 4) { this.respondRefusal(slot, refusal(502, 'bad_gateway', 'the gateway answered without the key\'s grants')); return; }
    slot.stream = { grants: count === 0 ? null : Array.from({ length: count }, (_, i) => body.readUInt32LE(4 + i * 4)) };
    slot.status = 200;
    slot.response = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n'
      + `Connection: close\r\nX-Request-Id: ${slot.label}\r\n\r\n`, 'latin1');
  }

  /** The stream's head is written: the connection now carries events until either side ends it. */
  private beginStream(slot: Slot): void {
    this.state = 'streaming';
    this.slots.length = 0; // pipelined requests after a stream are never answered (Connection: close)
    this.held.clear();
    const hub = this.events!;
    const sink = {
      write: (text: string) => { if (this.state === 'streaming') this.hooks.write(Buffer.from(text, 'utf8')); },
      buffered: () => this.hooks.buffered?.() ?? 0,
      onDrain: this.hooks.onDrain === undefined ? undefined : (cb: () => void) => this.hooks.onDrain!(cb),
      end: () => this.finish(),
    };
    const refused = hub.check(slot.events!, slot.header ?? null);
    if (refused !== null) {
      // The ring moved on while earlier responses on this connection were written.
      sink.write(`event: error\ndata: ${JSON.stringify({ error: { code: refused.code, message: refused.message } })}\n\n`);
      this.finish();
      return;
    }
    this.unsubscribe = hub.subscribe(slot.events!, slot.stream!.grants, sink, slot.header ?? null);
  }

  /** Writes every finished response at the front of the queue, in order. */
  private flush(): void {
    while (this.slots.length > 0 && this.slots[0].response !== null && this.state !== 'ended') {
      const slot = this.slots.shift()!;
      this.hooks.write(slot.response!);
      this.host?.observe({
        requestId: slot.label, method: slot.method, route: slot.spec?.path ?? slot.path ?? 'unmatched', status: slot.status,
        ms: performance.now() - slot.startedMs, code: slot.code,
      });
      if (slot.stream !== undefined) {
        this.beginStream(slot);
        return;
      }
      if (slot.close) {
        this.finish();
        return;
      }
    }
  }

  private finish(): void {
    if (this.state === 'ended') return;
    this.closed();
    this.hooks.end();
  }

  /** Pauses the socket while the connection has its fill of requests; resumes when it drains. */
  private flow(): void {
    if (this.state === 'ended' || this.state === 'streaming') return;
    const blocked = this.writeBlocked();
    const full = this.slots.length >= limits.requestsInFlightMax || blocked;
    if (full && !this.paused) {
      this.paused = true;
      this.hooks.pause();
    } else if (!full && this.paused) {
      this.paused = false;
      this.hooks.resume();
    }
    if (blocked && !this.awaitingDrain && this.hooks.onDrain !== undefined) {
      // The client is not reading its answers: go on once the socket drains
      // (the net device closes it if that takes too long).
      this.awaitingDrain = true;
      this.hooks.onDrain(() => { this.awaitingDrain = false; if (this.state !== 'ended') this.pump(); });
    }
  }
}

/** The kernel refused a service command (the gateway relays its reply). */
function serviceRefusal(r: GatewayReply): Refusal {
  const reply = decodeServiceReply(r.body);
  if (reply === null || REASONS[r.status] === undefined) return refusal(502, 'bad_gateway', 'the gateway relayed a malformed service reply');
  const headers: [string, string][] = r.retryAfter > 0 ? [['Retry-After', String(r.retryAfter)]] : [];
  return refusal(r.status, reply.code, reply.message, headers);
}

/** The refusal for an admission answer other than 200 (the same codes as the gateway's). */
function admissionRefusal(a: AdmissionAnswer): Refusal {
  return gatewayRefusal({ status: a.status, error: a.error, retryAfter: a.retryAfter, keyId: a.keyId, role: a.role, body: Buffer.from(a.message, 'latin1') });
}

/** The refusal for a gateway answer other than 200. */
function gatewayRefusal(r: GatewayReply): Refusal {
  const code = GATEWAY_ERROR_CODES[r.error] ?? 'gateway_error';
  const message = r.body.subarray(0, limits.ledgerMessageBytesMax).toString('latin1');
  const headers: [string, string][] = [];
  if (r.retryAfter > 0) headers.push(['Retry-After', String(r.retryAfter)]);
  if (r.status === 401) headers.push(['WWW-Authenticate', 'Bearer']);
  if (REASONS[r.status] === undefined) return refusal(502, 'bad_gateway', `the gateway answered HTTP status ${r.status}`);
  return refusal(r.status, code, message, headers);
}

/** The refusal for a kernel reply status other than FRAME_OK. */
function statusRefusal(status: number, payload: Buffer): Refusal {
  switch (status) {
    case abi.FRAME_E_SERVICE: {
      const text = payload.subarray(0, limits.ledgerMessageBytesMax).toString('utf8');
      return refusal(400, 'ledger_rejected', text);
    }
    case abi.FRAME_E_BUSY:
      return refusal(503, 'busy', 'the ledger is busy; nothing was applied, retry', [['Retry-After', '1']]);
    case abi.FRAME_E_UNAVAILABLE:
      return refusal(503, 'unavailable', 'the ledger is unavailable (shutting down or failed)');
    case abi.FRAME_E_STORAGE:
      return refusal(503, 'storage_failure', 'the command log could not be made durable; nothing was applied');
    case abi.FRAME_E_TOO_LARGE:
      return refusal(413, 'too_large', 'the request is larger than the kernel accepts');
    case abi.FRAME_E_FAULT:
      // The service trapped or ran out of fuel on this request: it was aborted
      // and rolled back, so nothing of it was applied.
      return refusal(500, 'service_fault', payload.subarray(0, limits.ledgerMessageBytesMax).toString('utf8') || 'the service faulted; nothing was applied');
    default:
      return refusal(502, 'bad_gateway', `the kernel answered status ${status}`);
  }
}
