// host/gateway/http-head.ts: the HTTP/1.1 request head parser (RFC 9112),
// for untrusted bytes.
//
// Every byte of the head is looked at a bounded number of times: the parser
// is one pass over the bytes with a loop per line, and no regular
// expression ever sees untrusted input (a pattern with adjacent unbounded
// quantifiers once let one 4 KB header freeze the process for 22 s).
// `headWork.steps` counts the bytes visited, so a property test can prove the
// work stays linear in the input without a stopwatch
// (test/fuzz/linear.test.ts).
//
// What it accepts, strictly: a request line `method SP target SP HTTP/d.d`
// (the method a token, the target visible ASCII), then field lines
// `name ":" OWS value OWS` with a token name and a value of HTAB, SP,
// visible ASCII or obs-text (0x80-0xff). Refused with 400: bare CR or LF,
// NUL and other controls, DEL, whitespace before the colon, obs-fold (a line
// that starts with whitespace), an empty name, a missing or repeated Host in
// HTTP/1.1, an invalid Host. Refused with 431: more than `fieldsMax` fields.
// 505 for HTTP versions other than 1.0 and 1.1.
//
// Before any of that, looksLikeHttp tells the net device whether a
// connection's first bytes begin HTTP at all, or frames.

import * as abi from '../../hal/abi.ts';

export interface Head {
  method: string;
  /** The origin-form target: a path starting with '/' and an optional query (absolute-form is reduced to it). */
  target: string;
  version: '1.0' | '1.1';
  /** Lowercase field name to its values, in order. */
  fields: Map<string, string[]>;
}

export interface HeadRefusal {
  status: number;
  code: string;
  message: string;
}

/** Bytes the parser looked at, for the linear-work property. */
export const headWork = { steps: 0 };

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;

// tchar (RFC 9110 §5.6.2): ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) { TCHAR[c] = 1; TCHAR[c + 0x20] = 1; }

// Field value octets: HTAB, SP, VCHAR, obs-text.
const VALUE = new Uint8Array(256);
VALUE[HTAB] = 1;
for (let c = 0x20; c <= 0x7e; c++) VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) VALUE[c] = 1;

function refusal(status: number, code: string, message: string): HeadRefusal {
  return { status, code, message };
}

function bad(message: string): HeadRefusal {
  return refusal(400, 'bad_request', message);
}

/** The index of the CRLF that ends the line starting at `from`, or -1 when a bare CR or LF comes first. */
function lineEnd(b: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    headWork.steps++;
    const c = b[i];
    if (c === CR) return i + 1 < end && b[i + 1] === LF ? i : -1;
    if (c === LF) return -1;
  }
  return end; // the last line: the caller cut the final CRLFCRLF
}

/**
 * Parses the head in b[start, end) (request line and field lines, without
 * the empty line that ends it). All refusals close the connection.
 */
export function parseHead(b: Buffer, start: number, end: number, fieldsMax: number): Head | HeadRefusal {
  const lineStop = lineEnd(b, start, end);
  if (lineStop < 0) return bad('bare CR or LF in the request line');
  const line = requestLine(b, start, lineStop);
  if ('status' in line) return line;
  const fields = new Map<string, string[]>();
  let count = 0;
  for (let at = lineStop + 2; at < end;) {
    const stop = lineEnd(b, at, end);
    if (stop < 0) return bad(`bare CR or LF in header field ${count + 1}`);
    if (++count > fieldsMax) return refusal(431, 'too_many_headers', `more than ${fieldsMax} header fields`);
    const why = fieldLine(b, at, stop, fields);
    if (why !== null) return bad(`invalid header field ${count}: ${why}`);
    at = stop + 2;
  }
  const hosts = fields.get('host');
  if (line.version === '1.1' && (hosts === undefined || hosts.length !== 1)) {
    return bad(hosts === undefined ? 'HTTP/1.1 needs a Host header' : 'more than one Host header');
  }
  if (hosts !== undefined && !validHost(hosts[0])) return bad('Host is not a valid host[:port]');
  return { method: line.method, target: line.target, version: line.version, fields };
}

function requestLine(b: Buffer, start: number, end: number): { method: string; target: string; version: '1.0' | '1.1' } | HeadRefusal {
  let i = start;
  while (i < end && TCHAR[b[i]] === 1) { headWork.steps++; i++; }
  if (i === start || i >= end || b[i] !== SP) return bad('invalid request line: the method must be a token followed by one space');
  const method = b.toString('latin1', start, i);
  const targetStart = ++i;
  while (i < end && b[i] > SP && b[i] < 0x7f) { headWork.steps++; i++; }
  if (i === targetStart || i >= end || b[i] !== SP) return bad('invalid request line: the target must be visible ASCII followed by one space');
  const rawTarget = b.toString('latin1', targetStart, i);
  i++;
  if (end - i !== 8 || b.toString('latin1', i, i + 5) !== 'HTTP/' || !isDigit(b[i + 5]) || b[i + 6] !== 0x2e || !isDigit(b[i + 7])) {
    return bad('invalid request line: the version must be HTTP/<digit>.<digit>');
  }
  headWork.steps += 8;
  const protocol = b.toString('latin1', i, end);
  if (protocol !== 'HTTP/1.1' && protocol !== 'HTTP/1.0') {
    return refusal(505, 'http_version_not_supported', `${protocol} is not supported; use HTTP/1.1`);
  }
  const target = originForm(rawTarget);
  if (target === null) return bad('invalid request target: use a path starting with / (or an absolute http(s) URI)');
  return { method, target, version: protocol === 'HTTP/1.1' ? '1.1' : '1.0' };
}

function isDigit(c: number): boolean { return c >= 0x30 && c <= 0x39; }

/**
 * The origin-form of a request target: itself when it starts with '/', the
 * path and query of an absolute http(s) URI (RFC 9112 §3.2.2: a server
 * must accept absolute-form; the authority in it is not used, QENEX serves
 * one host), or null.
 */
function originForm(target: string): string | null {
  if (target.charCodeAt(0) === 0x2f) return target;
  const lower = target.slice(0, 8).toLowerCase();
  const schemeEnd = lower.startsWith('http://') ? 7 : lower.startsWith('https://') ? 8 : -1;
  if (schemeEnd < 0) return null;
  let i = schemeEnd;
  while (i < target.length && target[i] !== '/' && target[i] !== '?') i++;
  if (i === schemeEnd) return null; // no authority
  const rest = target.slice(i);
  return rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest;
}

/** One field line; null when fine, else why not. */
function fieldLine(b: Buffer, start: number, end: number, fields: Map<string, string[]>): string | null {
  let i = start;
  while (i < end && TCHAR[b[i]] === 1) { headWork.steps++; i++; }
  if (i === start) return b[start] === SP || b[start] === HTAB ? 'obsolete line folding' : 'the name must be a token';
  if (i >= end || b[i] !== COLON) return 'the name must be a token followed by a colon (no whitespace before it)';
  const name = b.toString('latin1', start, i).toLowerCase();
  i++;
  while (i < end && (b[i] === SP || b[i] === HTAB)) { headWork.steps++; i++; }
  const valueStart = i;
  let valueEnd = i;
  for (; i < end; i++) {
    headWork.steps++;
    const c = b[i];
    if (VALUE[c] !== 1) return c === 0 ? 'NUL in a value' : 'a control character in a value';
    if (c !== SP && c !== HTAB) valueEnd = i + 1;
  }
  const value = b.toString('latin1', valueStart, valueEnd);
  const values = fields.get(name);
  if (values === undefined) fields.set(name, [value]);
  else values.push(value);
  return null;
}

// Host = uri-host [ ":" port ]: a reg-name, IPv4 or a bracketed IPv6 literal.
function validHost(value: string): boolean {
  if (value.length === 0 || value.length > 255) return false;
  let i = 0;
  if (value[0] === '[') {
    const close = value.indexOf(']');
    if (close < 2) return false;
    for (let j = 1; j < close; j++) {
      const c = value.charCodeAt(j);
      if (!(isHex(c) || c === 0x3a || c === 0x2e)) return false;
    }
    i = close + 1;
  } else {
    while (i < value.length && value[i] !== ':') {
      const c = value.charCodeAt(i);
      if (!(isAlnum(c) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e)) return false;
      i++;
    }
    if (i === 0) return false;
  }
  if (i === value.length) return true;
  if (value[i] !== ':' || value.length - i - 1 > 5) return false;
  for (let j = i + 1; j < value.length; j++) if (!isDigit(value.charCodeAt(j))) return false;
  return true;
}

function isHex(c: number): boolean { return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66); }
function isAlnum(c: number): boolean { return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a); }

/** Comma-separated tokens of every instance of a field, trimmed and lowercased. */
export function fieldTokens(head: Head, name: string): string[] {
  const out: string[] = [];
  for (const value of head.fields.get(name) ?? []) {
    for (const part of value.split(',')) {
      const t = part.trim().toLowerCase();
      if (t !== '') out.push(t);
    }
  }
  return out;
}

/** A run of ASCII digits, nothing else. */
export function isDecimal(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/**
 * Content-Length: null when absent, the number, or a refusal when invalid or
 * over `bodyBytesMax`. Identical repeats are one value (RFC 9110 §8.6);
 * anything else is ambiguous framing.
 */
export function contentLength(head: Head, bodyBytesMax: number): number | null | HeadRefusal {
  const values = head.fields.get('content-length');
  if (values === undefined) return null;
  let first: string | null = null;
  for (const value of values) {
    for (const raw of value.split(',')) {
      const part = raw.trim();
      if (!isDecimal(part) || (first !== null && part !== first)) {
        return refusal(400, 'bad_content_length', 'Content-Length must be one decimal number');
      }
      first = part;
    }
  }
  let digits = first!;
  let lead = 0;
  while (lead < digits.length - 1 && digits[lead] === '0') lead++;
  digits = digits.slice(lead);
  if (digits.length > 15 || Number(digits) > bodyBytesMax) {
    return refusal(413, 'body_too_large', `body exceeds the limit of ${bodyBytesMax} bytes`);
  }
  return Number(digits);
}

/** The methods HTTP defines that QENEX knows (RFC 9110 §9): others are 501. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

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
