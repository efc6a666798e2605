// host/gateway/http-response.ts: the HTTP responses of the gateway (./http.ts):
// the status line and headers rendered, errors as {"error":{"code","message"}},
// and the refusal, with its status and stable code, for each way a request can
// fail past the head: admission's answer, the gateway service's, the kernel's
// reply status, a service command's.

import * as abi from '../../hal/abi.ts';
import type { AdmissionAnswer } from '../base/kernel.ts';
import { limits } from './http-config.ts';
import { GATEWAY_ERROR_CODES, type GatewayReply } from './gateway-wire.ts';
import { decodeServiceReply } from './services-json.ts';

const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 409: 'Conflict', 411: 'Length Required', 413: 'Content Too Large',
  415: 'Unsupported Media Type', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  408: 'Request Timeout', 500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** A refusal: the HTTP status, a stable snake_case code and a message for people. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  headers?: readonly (readonly [string, string])[];
}

export function refusal(status: number, code: string, message: string, headers?: Refusal['headers']): Refusal {
  return { status, code, message, headers };
}

/** What a response is written into: a request's slot in the response order (./http-handlers.ts Slot). */
export interface Answerable {
  close: boolean;
  noBody: boolean;
  response: Buffer | null;
  status: number;
  code?: string;
  label: string;
}

/** Renders the slot's response (status, body, and its request id as X-Request-Id). */
export function respond(slot: Answerable, status: number, text: string, headers: Refusal['headers'] = [], contentType?: string): void {
  slot.status = status;
  slot.response = render(status, text, slot.close, slot.noBody, [...headers, ['X-Request-Id', slot.label]], contentType);
}

/** Renders a refusal as the slot's response. */
export function respondRefusal(slot: Answerable, r: Refusal): void {
  slot.code = r.code;
  respond(slot, r.status, errorJson(r.code, r.message), r.headers);
}

function render(status: number, json: string, close: boolean, noBody: boolean,
  headers: Refusal['headers'] = [], contentType = 'application/json'): Buffer {
  const reason = REASONS[status];
  if (reason === undefined) throw new Error(`http-response.ts: no reason phrase for status ${status}`);
  const length = Buffer.byteLength(json, 'utf8');
  let head = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += `Connection: ${close ? 'close' : 'keep-alive'}\r\n\r\n`;
  // One buffer, written in place (the head as latin1, one byte per character,
  // then the body as UTF-8): no copy of either, nothing to concatenate.
  const out = Buffer.allocUnsafe(head.length + (noBody ? 0 : length));
  out.write(head, 0, 'latin1');
  if (!noBody) out.write(json, head.length, 'utf8');
  return out;
}

function errorJson(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** The kernel refused a service command (the gateway relays its reply). */
export function serviceRefusal(r: GatewayReply): Refusal {
  const reply = decodeServiceReply(r.body);
  if (reply === null || REASONS[r.status] === undefined) return refusal(502, 'bad_gateway', 'the gateway relayed a malformed service reply');
  const headers: [string, string][] = r.retryAfter > 0 ? [['Retry-After', String(r.retryAfter)]] : [];
  return refusal(r.status, reply.code, reply.message, headers);
}

/** The refusal for an admission answer other than 200 (the same codes as the gateway's). */
export function admissionRefusal(a: AdmissionAnswer): Refusal {
  return gatewayRefusal({ status: a.status, error: a.error, retryAfter: a.retryAfter, keyId: a.keyId, role: a.role, body: Buffer.from(a.message, 'latin1') });
}

/** The refusal for a gateway answer other than 200. */
export function gatewayRefusal(r: GatewayReply): Refusal {
  const code = GATEWAY_ERROR_CODES[r.error] ?? 'gateway_error';
  const message = r.body.subarray(0, limits.ledgerMessageBytesMax).toString('latin1');
  const headers: [string, string][] = [];
  if (r.retryAfter > 0) headers.push(['Retry-After', String(r.retryAfter)]);
  if (r.status === 401) headers.push(['WWW-Authenticate', 'Bearer']);
  if (REASONS[r.status] === undefined) return refusal(502, 'bad_gateway', `the gateway answered HTTP status ${r.status}`);
  return refusal(r.status, code, message, headers);
}

/** The refusal for a kernel reply status other than FRAME_OK. */
export function statusRefusal(status: number, payload: Buffer): Refusal {
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
