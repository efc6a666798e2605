// host/gateway/http.ts: the HTTP/1.1 + JSON gateway to the ledger, one
// HttpSession per client connection. Pure: it owns no socket and no timer.
//
// The net device (host/devices/net.ts) sniffs a connection's first bytes with
// looksLikeHttp, creates a session with hooks for the socket and the kernel,
// feeds it bytes with receive(), and hands it the kernel's reply frames with
// reply(). The session parses HTTP/1.1 strictly and within the limits below,
// turns each ledger request into the payload of a frame to service "ledger"
// (host/gateway/ledger-json.ts), submits it, and renders the reply as JSON.
// The kernel answers only once a batch is durable, so a 200 means durable.
//
// Responses leave in request order (one slot per request, even for errors
// known at once), at most `limits.requestsInFlightMax` requests are open per
// connection (beyond it the socket is paused), and a request is refused as a
// whole or submitted as a whole: nothing is partial.
//
// Routes (all JSON; errors are {"error":{"code","message"}}):
//   GET  /v1/health                      {"status":"ok"}, answered here
//   POST /v1/accounts                    create_accounts
//   POST /v1/transfers                   create_transfers
//   POST /v1/accounts/lookup             lookup_accounts   {"ids":[...]}
//   POST /v1/transfers/lookup            lookup_transfers  {"ids":[...]}
//   POST /v1/accounts/{id}/transfers     get_account_transfers (filter body)
//   POST /v1/accounts/{id}/balances      get_account_balances  (filter body)
//
// Transfer-Encoding (chunked or any other) is refused with 501 and the
// connection closed: every client can send Content-Length for a JSON body,
// and one framing is one less way for a proxy and us to disagree about where
// a request ends (request smuggling).

import * as abi from '../../hal/abi.ts';
import { BATCH_EVENTS_MAX, HEADER_BYTES, RECORD_BYTES, U128_MAX, type OperationName } from '../client/ledger.ts';
import { JsonError, parseJson, type JsonValue } from './json.ts';
import {
  ASSET_SCALE_MAX, LedgerJsonError, LedgerReplyError, ledgerReplyToJson, ledgerRequestFromJson,
  parseUnsignedDecimal, type LedgerRequest,
} from './ledger-json.ts';

// ---- limits: the gateway's own, each with why (host/limits.ts holds the host's) ----

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
} as const;

/** The service that receives every ledger request. */
export const LEDGER_SERVICE = 'ledger';

// The largest ledger request must fit one frame body, or a valid batch would
// be refused by the net device; checked at import so an edit can't break it.
const largestFrameBodyBytes = abi.FRAME_REQUEST_HEADER_BYTES + LEDGER_SERVICE.length + HEADER_BYTES + BATCH_EVENTS_MAX * RECORD_BYTES;
if (largestFrameBodyBytes > abi.FRAME_BODY_BYTES_MAX) throw new Error('http.ts: a largest ledger batch does not fit a frame body');
if (limits.headerBytesMax >= limits.pausedBytesMax) throw new Error('http.ts: pausedBytesMax must exceed headerBytesMax');

// ---- public API ----

const METHOD_PREFIXES = ['GET ', 'POST ', 'PUT ', 'DELETE ', 'HEAD ', 'OPTIONS ', 'PATCH '].map((m) => Buffer.from(m, 'latin1'));

/**
 * True when `firstBytes` begin with an HTTP method and a space. A frame can't
 * begin so: its first four bytes are a little-endian length of at most 1 MiB,
 * so the fourth byte is zero. Fewer bytes than a prefix ("POS") answer false;
 * the caller waits for up to 8 bytes ("OPTIONS ") before deciding.
 */
export function looksLikeHttp(firstBytes: Buffer): boolean {
  return METHOD_PREFIXES.some((prefix) => firstBytes.length >= prefix.length
    && firstBytes.subarray(0, prefix.length).equals(prefix));
}

export interface HttpSessionHooks {
  /** A request for the kernel: the payload of a frame to `service`. */
  submit(requestId: number, service: string, payload: Uint8Array): void;
  /** Bytes to the client. */
  write(bytes: Buffer): void;
  /** Close after what was written. */
  end(): void;
  /** Stop reading the socket (too many requests in flight). */
  pause(): void;
  /** Start reading it again. */
  resume(): void;
}

export interface GatewayConfig { ledgers: Map<number, { assetScale: number; currency?: string }> }

// ---- responses ----

const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed',
  411: 'Length Required', 413: 'Content Too Large', 415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Unavailable', 505: 'HTTP Version Not Supported',
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
  headers: Refusal['headers'] = []): Buffer {
  const reason = REASONS[status];
  if (reason === undefined) throw new Error(`http.ts: no reason phrase for status ${status}`);
  const body = Buffer.from(json, 'utf8');
  let head = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += `Connection: ${close ? 'close' : 'keep-alive'}\r\n\r\n`;
  return noBody ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function errorJson(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

// ---- request head ----

interface Head {
  method: string;
  target: string;
  version: '1.0' | '1.1';
  /** Lowercase field name to its values, in order. */
  fields: Map<string, string[]>;
}

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const REQUEST_LINE = new RegExp(`^(${TOKEN}) ([\\x21-\\x7e]+) (HTTP/[0-9]\\.[0-9])$`);
const FIELD_LINE = new RegExp(`^(${TOKEN}):[ \\t]*([\\t\\x20-\\x7e\\x80-\\xff]*?)[ \\t]*$`);

/** Parses a request head (request line and fields, without the final CRLFCRLF); all refusals close. */
function parseHead(text: string): Head | Refusal {
  const lines = text.split('\r\n');
  const requestLine = REQUEST_LINE.exec(lines[0]);
  if (requestLine === null) return refusal(400, 'bad_request', 'invalid request line');
  const [, method, target, protocol] = requestLine;
  if (protocol !== 'HTTP/1.1' && protocol !== 'HTTP/1.0') {
    return refusal(505, 'http_version_not_supported', `${protocol} is not supported; use HTTP/1.1`);
  }
  if (lines.length - 1 > limits.headerCountMax) {
    return refusal(431, 'too_many_headers', `more than ${limits.headerCountMax} header fields`);
  }
  const fields = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    // Bare CR or LF, obs-fold (a line starting with whitespace), whitespace
    // before the colon and control characters all fail this one pattern.
    const field = FIELD_LINE.exec(lines[i]);
    if (field === null) return refusal(400, 'bad_request', `invalid header field on line ${i + 1}`);
    const name = field[1].toLowerCase();
    const values = fields.get(name);
    if (values === undefined) fields.set(name, [field[2]]);
    else values.push(field[2]);
  }
  return { method, target, version: protocol === 'HTTP/1.1' ? '1.1' : '1.0', fields };
}

/** Comma-separated tokens of every instance of a field, lowercased. */
function fieldTokens(head: Head, name: string): string[] {
  return (head.fields.get(name) ?? []).flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
}

/** Content-Length: null when absent, a Refusal when invalid or too large. */
function contentLength(head: Head): number | null | Refusal {
  const values = head.fields.get('content-length');
  if (values === undefined) return null;
  const parts = values.flatMap((v) => v.split(',')).map((p) => p.trim());
  // Identical repeats are one value (RFC 9110 §8.6); anything else is ambiguous framing.
  if (parts.some((p) => !/^[0-9]+$/.test(p)) || parts.some((p) => p !== parts[0])) {
    return refusal(400, 'bad_content_length', 'Content-Length must be one decimal number');
  }
  const digits = parts[0].replace(/^0+(?=[0-9])/, '');
  if (digits.length > 15 || Number(digits) > limits.bodyBytesMax) {
    return refusal(413, 'body_too_large', `body exceeds the limit of ${limits.bodyBytesMax} bytes`);
  }
  return Number(digits);
}

/** Content-Type must be application/json; a charset parameter, if any, must be utf-8. */
function jsonContentType(head: Head): boolean {
  const values = head.fields.get('content-type');
  if (values === undefined || values.length !== 1) return false;
  const [type, ...parameters] = values[0].split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return parameters.every((p) => !p.startsWith('charset=') || /^charset="?utf-8"?$/.test(p));
}

// ---- routes ----

type Operation = OperationName | 'health';

interface RouteMatch {
  method: 'GET' | 'POST';
  operation: Operation;
  /** The {id} of /v1/accounts/{id}/...: a bigint, or null when it is not a u128. */
  accountId?: bigint | null;
}

const STATIC_ROUTES = new Map<string, RouteMatch>([
  ['/v1/health', { method: 'GET', operation: 'health' }],
  ['/v1/accounts', { method: 'POST', operation: 'create_accounts' }],
  ['/v1/transfers', { method: 'POST', operation: 'create_transfers' }],
  ['/v1/accounts/lookup', { method: 'POST', operation: 'lookup_accounts' }],
  ['/v1/transfers/lookup', { method: 'POST', operation: 'lookup_transfers' }],
]);
const ACCOUNT_ROUTE = /^\/v1\/accounts\/([0-9]+)\/(transfers|balances)$/;

/**
 * Exact matching on the raw target: no percent-decoding, no dot segments,
 * no empty segments, no query, so `..`, `%2e` and `//` match nothing (404)
 * and one path has one meaning.
 */
function matchRoute(target: string): RouteMatch | null {
  const fixed = STATIC_ROUTES.get(target);
  if (fixed !== undefined) return fixed;
  const m = ACCOUNT_ROUTE.exec(target);
  if (m === null) return null;
  return {
    method: 'POST',
    operation: m[2] === 'transfers' ? 'get_account_transfers' : 'get_account_balances',
    accountId: parseUnsignedDecimal(m[1], U128_MAX),
  };
}

// ---- the session ----

/** One request's place in the response order. */
interface Slot {
  /** The id it was submitted under, or 0 when the session answers it itself. */
  requestId: number;
  request: LedgerRequest | null;
  close: boolean;
  noBody: boolean;
  response: Buffer | null;
}

/** A request whose head is parsed and whose body is being read (or skipped). */
interface Reading {
  slot: Slot;
  remaining: number;
  /** Keep the body (a ledger request) or skip it (the answer is already known). */
  keep: boolean;
  chunks: Buffer[];
  operation: Operation;
  accountId: bigint;
}

type State = 'head' | 'body' | 'closing' | 'ended';

const EMPTY = Buffer.alloc(0);
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

export class HttpSession {
  private state: State = 'head';
  private buffer: Buffer = EMPTY; // received, not yet parsed
  private scanned = 0; // bytes of `buffer` searched for the end of a head
  private reading: Reading | null = null;
  private readonly slots: Slot[] = [];
  private readonly submitted = new Map<number, Slot>();
  private nextRequestId = 1;
  private paused = false;
  private pumping = false;
  private pumpAgain = false;
  private readonly ledgers: GatewayConfig['ledgers'];

  constructor(private readonly hooks: HttpSessionHooks, config: GatewayConfig) {
    for (const [ledger, { assetScale }] of config.ledgers) {
      if (!Number.isInteger(ledger) || ledger < 0 || ledger > 0xffffffff) throw new RangeError(`gateway: ledger ${ledger} is not a u32`);
      if (!Number.isInteger(assetScale) || assetScale < 0 || assetScale > ASSET_SCALE_MAX) {
        throw new RangeError(`gateway: ledger ${ledger}: assetScale ${assetScale} is not an integer from 0 to ${ASSET_SCALE_MAX}`);
      }
    }
    this.ledgers = config.ledgers;
  }

  /** Bytes from the client. */
  receive(chunk: Buffer): void {
    if (this.state === 'closing' || this.state === 'ended' || chunk.length === 0) return;
    // A body chunk becomes the buffer as it is (the buffer is empty while a
    // body is read), so a large body is never copied chunk by chunk.
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.pump();
    if (this.state === 'head' && this.paused && this.buffer.length > limits.pausedBytesMax) {
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
    if (slot.request === null) throw new Error('http.ts: a submitted slot without its request');
    slot.response = this.ledgerResponse(slot, status, payload);
    this.flush();
    this.pump();
  }

  /** The socket is gone: drop every buffer and every pending request. */
  closed(): void {
    this.state = 'ended';
    this.buffer = EMPTY;
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
    this.flow();
  }

  private parseBuffered(): void {
    // Each round consumes a head or body bytes, or returns: bounded by the buffer.
    for (;;) {
      if (this.state === 'body') {
        if (this.buffer.length === 0) return;
        const rest = this.feedBody(this.buffer);
        this.buffer = rest;
        this.scanned = 0;
        if (this.state === 'body') return;
        continue;
      }
      if (this.state !== 'head' || this.slots.length >= limits.requestsInFlightMax) return;
      if (!this.parseOneHead()) return;
    }
  }

  /** Finds and handles one request head; false when more bytes are needed. */
  private parseOneHead(): boolean {
    // Empty lines before a request line are ignored (RFC 9112 §2.2).
    let start = 0;
    while (this.buffer[start] === 0x0d && this.buffer[start + 1] === 0x0a) start += 2;
    if (start > 0) { this.buffer = this.buffer.subarray(start); this.scanned = Math.max(0, this.scanned - start); }
    const end = this.buffer.indexOf(HEAD_END, Math.max(0, this.scanned - 3));
    if (end < 0) {
      this.scanned = this.buffer.length;
      if (this.buffer.length > limits.headerBytesMax) {
        this.refuseAndClose(refusal(431, 'headers_too_large', `request head exceeds ${limits.headerBytesMax} bytes`), false);
      }
      return false;
    }
    const headBytes = end + HEAD_END.length;
    const text = this.buffer.toString('latin1', 0, end);
    this.buffer = this.buffer.subarray(headBytes);
    this.scanned = 0;
    if (headBytes > limits.headerBytesMax) {
      this.refuseAndClose(refusal(431, 'headers_too_large', `request head exceeds ${limits.headerBytesMax} bytes`), false);
      return false;
    }
    const head = parseHead(text);
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
    const length = contentLength(head);
    if (length !== null && typeof length === 'object') {
      this.refuseAndClose(length, noBody);
      return;
    }
    const bodyBytes = length ?? 0;
    const route = matchRoute(head.target);
    const early = this.earlyRefusal(head, route, length);
    const expectsContinue = fieldTokens(head, 'expect').includes('100-continue');
    const close = head.version === '1.0' || fieldTokens(head, 'connection').includes('close')
      // A client waiting for 100 Continue may never send a body we refuse: close.
      || (early !== null && expectsContinue && bodyBytes > 0);
    const slot: Slot = { requestId: 0, request: null, close, noBody, response: null };
    this.slots.push(slot);
    if (early !== null) slot.response = this.refusalResponse(slot, early);
    else if (route!.operation === 'health') slot.response = render(200, JSON.stringify({ status: 'ok' }), close, noBody);
    const keep = slot.response === null;
    if (close && !keep) {
      // Nothing more is read on this connection, so the body need not be skipped.
      this.state = 'closing';
      this.flush();
      return;
    }
    if (keep && expectsContinue && bodyBytes > 0 && this.slots.length === 1) this.hooks.write(CONTINUE);
    this.reading = {
      slot, remaining: bodyBytes, keep, chunks: [],
      operation: route?.operation ?? 'health', accountId: route?.accountId ?? 0n,
    };
    this.state = 'body';
    if (bodyBytes === 0) this.endBody();
    this.flush();
  }

  /** Refusals known from the head alone (the body is then skipped), or null. */
  private earlyRefusal(head: Head, route: RouteMatch | null, length: number | null): Refusal | null {
    if (route === null) return refusal(404, 'not_found', `no route for ${head.target}`);
    if (head.method !== route.method) {
      return refusal(405, 'method_not_allowed', `${head.target} allows ${route.method} only`, [['Allow', route.method]]);
    }
    if (route.operation === 'health') return null;
    if (length === null) return refusal(411, 'length_required', 'a request body needs Content-Length');
    if (!jsonContentType(head)) return refusal(415, 'unsupported_media_type', 'Content-Type must be application/json');
    if (route.accountId === null) {
      return refusal(400, 'invalid_field', 'path: account id must be a decimal string of an unsigned integer below 2^128');
    }
    return null;
  }

  /** Takes body bytes from `chunk` for the request being read; returns what is left of the chunk. */
  private feedBody(chunk: Buffer): Buffer {
    const reading = this.reading;
    if (reading === null || this.state !== 'body') throw new Error('http.ts: body bytes outside a body');
    const take = Math.min(reading.remaining, chunk.length);
    if (reading.keep && take > 0) reading.chunks.push(chunk.subarray(0, take));
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
    if (reading.keep) this.handleLedgerRequest(reading);
    this.flush();
  }

  private handleLedgerRequest(reading: Reading): void {
    const { slot } = reading;
    if (reading.operation === 'health') throw new Error('http.ts: health has no ledger request');
    let request: LedgerRequest;
    try {
      const body: JsonValue = parseJson(Buffer.concat(reading.chunks), {
        depthMax: limits.jsonDepthMax, itemsMax: BATCH_EVENTS_MAX, valuesMax: limits.jsonValuesMax,
      });
      request = ledgerRequestFromJson(reading.operation, body, this.ledgers, reading.accountId);
    } catch (e) {
      if (!(e instanceof JsonError) && !(e instanceof LedgerJsonError)) throw e;
      slot.response = this.refusalResponse(slot, refusal(400, e.code, e.message));
      return;
    }
    slot.request = request;
    slot.requestId = this.nextRequestId;
    this.nextRequestId = this.nextRequestId === 0xffffffff ? 1 : this.nextRequestId + 1;
    this.submitted.set(slot.requestId, slot);
    this.hooks.submit(slot.requestId, LEDGER_SERVICE, request.payload);
  }

  /** A refusal that ends the connection: nothing after it can be framed or trusted. */
  private refuseAndClose(r: Refusal, noBody: boolean): void {
    const slot: Slot = { requestId: 0, request: null, close: true, noBody, response: null };
    slot.response = this.refusalResponse(slot, r);
    this.slots.push(slot);
    this.state = 'closing';
    this.reading = null;
    this.buffer = EMPTY;
    this.flush();
  }

  private refusalResponse(slot: Slot, r: Refusal): Buffer {
    return render(r.status, errorJson(r.code, r.message), slot.close, slot.noBody, r.headers);
  }

  /** The HTTP response for the kernel's reply to a ledger request. */
  private ledgerResponse(slot: Slot, status: number, payload: Buffer): Buffer {
    const request = slot.request!;
    if (status === abi.FRAME_OK) {
      try {
        return render(200, JSON.stringify(ledgerReplyToJson(request, payload)), slot.close, slot.noBody);
      } catch (e) {
        if (!(e instanceof LedgerReplyError)) throw e;
        return this.refusalResponse(slot, refusal(502, 'invalid_ledger_reply', e.message));
      }
    }
    return this.refusalResponse(slot, statusRefusal(status, payload));
  }

  /** Writes every finished response at the front of the queue, in order. */
  private flush(): void {
    while (this.slots.length > 0 && this.slots[0].response !== null && this.state !== 'ended') {
      const slot = this.slots.shift()!;
      this.hooks.write(slot.response!);
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
    if (this.state === 'ended') return;
    const full = this.slots.length >= limits.requestsInFlightMax;
    if (full && !this.paused) {
      this.paused = true;
      this.hooks.pause();
    } else if (!full && this.paused) {
      this.paused = false;
      this.hooks.resume();
    }
  }
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
    default:
      return refusal(502, 'bad_gateway', `the kernel answered status ${status}`);
  }
}
