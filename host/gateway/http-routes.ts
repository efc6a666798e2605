// host/gateway/http-routes.ts: the gateway's route table (ROUTES; the OpenAPI
// document, ./openapi.ts, lists the same set and a test checks both ways),
// matching a request target against it, and the refusals a request head
// earns before its body is read: an unknown method (501), no route (404),
// another method (405, with Allow), an invalid path id (400), a JSON body
// without Content-Length (411) or without Content-Type: application/json (415).

import * as gw from '../../services/gateway/protocol.ts';
import { U128_MAX, type OperationName } from '../client/ledger.ts';
import { isDecimal, KNOWN_METHODS, type Head } from './http-head.ts';
import { refusal, type Refusal } from './http-response.ts';
import { parseUnsignedDecimal } from './ledger-json.ts';
import type { ServiceRoute } from './services-json.ts';
import type { PaymentsHandler } from './payments-front.ts';
import type { ComplianceHandler } from './compliance-front.ts';
import type { CasesHandler } from './cases-front.ts';
import type { TradingHandler } from './trading-front.ts';

/** Who answers a route: the session itself (open routes) or the gateway service. */
export type RouteHandler = 'index' | 'health' | 'ready' | 'openapi' | 'metrics' | 'ledger' | 'system' | 'gateway_stats'
  | 'keys_create' | 'keys_list' | 'keys_revoke' | 'events' | ServiceRoute | PaymentsHandler | ComplianceHandler | CasesHandler
  | TradingHandler;

/** A body's media type: JSON (application/json), an XML document (application/xml), plain text (text/plain); null: no body. */
export type BodyType = 'json' | 'xml' | 'text' | null;

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path as the OpenAPI document writes it ({id} for a parameter). */
  path: string;
  handler: RouteHandler;
  /** The gateway service's route id (services/gateway/protocol.ts), 0 for open routes. */
  gatewayRoute: number;
  /** The body the route takes (Content-Length and the Content-Type of its type are required), or null. */
  bodyType: BodyType;
  operation?: OperationName;
  system?: 'services' | 'scheduler' | 'memory';
  /** The route takes a query string (GET /v1/events, GET /v1/payments); every other target with '?' matches nothing. */
  query?: boolean;
  /** Answered by the host once admission allowed it (statistics, metrics); never a frame, never logged. */
  host?: boolean;
}

function route(method: RouteSpec['method'], path: string, handler: RouteHandler, gatewayRoute = 0,
  extra: Partial<RouteSpec> = {}): RouteSpec {
  return { method, path, handler, gatewayRoute, bodyType: method === 'POST' || method === 'PUT' ? 'json' : null, ...extra };
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
  route('POST', '/v1/accounts/query', 'ledger', gw.ROUTE_QUERY_ACCOUNTS, { operation: 'query_accounts' }),
  route('POST', '/v1/transfers/query', 'ledger', gw.ROUTE_QUERY_TRANSFERS, { operation: 'query_transfers' }),
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
  // Payments (host/gateway/payments-front.ts, services/payments).
  route('POST', '/v1/payments/iso20022', 'payments_iso20022', gw.ROUTE_PAYMENTS_ISO20022, { bodyType: 'xml' }),
  route('POST', '/v1/payments/swift-mt', 'payments_swift_mt', gw.ROUTE_PAYMENTS_SWIFT_MT, { bodyType: 'text' }),
  route('POST', '/v1/payments', 'payments_create', gw.ROUTE_PAYMENTS_CREATE),
  route('GET', '/v1/payments/{id}', 'payments_get', gw.ROUTE_PAYMENTS_GET),
  route('GET', '/v1/payments/{id}/message', 'payment_message', gw.ROUTE_PAYMENT_MESSAGE, { query: true }),
  route('GET', '/v1/payments', 'payments_list', gw.ROUTE_PAYMENTS_LIST, { query: true }),
  route('POST', '/v1/payment-accounts', 'payment_accounts_put', gw.ROUTE_PAYMENT_ACCOUNTS_PUT),
  route('POST', '/v1/payment-accounts/lookup', 'payment_accounts_lookup', gw.ROUTE_PAYMENT_ACCOUNTS_LOOKUP),
  route('POST', '/v1/payment-accounts/statement', 'payment_statement', gw.ROUTE_PAYMENT_STATEMENT),
  // Compliance (host/gateway/compliance-front.ts, services/compliance).
  route('POST', '/v1/screening/search', 'screening_search', gw.ROUTE_SCREENING_SEARCH),
  route('POST', '/v1/compliance/lists', 'lists_import', gw.ROUTE_LISTS_LOAD),
  route('GET', '/v1/compliance/lists', 'lists_status', gw.ROUTE_LISTS_LOAD),
  route('POST', '/v1/compliance/rescreen', 'rescreen', gw.ROUTE_RESCREEN),
  // Rules, alerts and their cases, decisions, reports (host/gateway/cases-front.ts).
  route('GET', '/v1/compliance/rules', 'rules_get', gw.ROUTE_RULES_GET),
  route('PUT', '/v1/compliance/rules', 'rules_set', gw.ROUTE_RULES_SET),
  route('GET', '/v1/compliance/alerts', 'alerts_list', gw.ROUTE_ALERTS_LIST, { query: true }),
  route('GET', '/v1/compliance/alerts/{id}', 'alert_get', gw.ROUTE_ALERTS_LIST),
  route('POST', '/v1/compliance/alerts/{id}', 'case_update', gw.ROUTE_CASE_UPDATE),
  route('GET', '/v1/compliance/decisions', 'decisions_list', gw.ROUTE_DECISIONS_LIST, { query: true }),
  route('GET', '/v1/compliance/reports', 'reports', gw.ROUTE_REPORTS, { query: true }),
  // Trading (host/gateway/trading-front.ts, services/trading).
  route('POST', '/v1/orders', 'orders', gw.ROUTE_ORDERS),
  route('POST', '/v1/orders/lookup', 'orders_lookup', gw.ROUTE_ORDERS_LOOKUP),
  route('GET', '/v1/instruments', 'instruments', gw.ROUTE_INSTRUMENTS),
  route('GET', '/v1/instruments/{id}/book', 'book', gw.ROUTE_BOOK, { query: true }),
];

export interface RouteMatch {
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
    const max = spec.handler === 'keys_revoke' || spec.handler === 'alert_get' || spec.handler === 'case_update' || spec.handler === 'book' ? 0xffffffffn
      : spec.handler === 'payments_get' || spec.handler === 'payment_message' ? 0xffffffffffffffffn : U128_MAX;
    found.push({ spec, id: id === undefined ? 0n : parseUnsignedDecimal(id, max), query: q < 0 ? '' : target.slice(q + 1) });
  }
  return found;
}

/** What a request head asks for: its route (null: none takes it), the path's routes for any method, and the refusal the head alone earns. */
export function routeHead(head: Head, length: number | null): { matches: RouteMatch[]; match: RouteMatch | null; early: Refusal | null } {
  const matches = KNOWN_METHODS.has(head.method) ? matchRoutes(head.target) : [];
  const match = matches.find((m) => m.spec.method === head.method) ?? null;
  return { matches, match, early: earlyRefusal(head, matches, match, length) };
}

const MEDIA_TYPES: Record<Exclude<BodyType, null>, string> = { json: 'application/json', xml: 'application/xml', text: 'text/plain' };

/** Content-Type must be the body type's media type; a charset parameter, if any, must be utf-8. */
function bodyContentType(head: Head, type: Exclude<BodyType, null>): boolean {
  const values = head.fields.get('content-type');
  if (values === undefined || values.length !== 1) return false;
  const [given, ...parameters] = values[0].split(';').map((p) => p.trim().toLowerCase());
  if (given !== MEDIA_TYPES[type]) return false;
  return parameters.every((p) => !p.startsWith('charset=') || p === 'charset=utf-8' || p === 'charset="utf-8"');
}

/** Refusals known from the head alone (the body is then not read), or null. */
function earlyRefusal(head: Head, matches: RouteMatch[], match: RouteMatch | null, length: number | null): Refusal | null {
  if (!KNOWN_METHODS.has(head.method)) return refusal(501, 'method_not_implemented', `${head.method.slice(0, 32)} is not a method QENEX implements`);
  if (matches.length === 0) return refusal(404, 'not_found', `no route for ${head.target.slice(0, 256)}`);
  if (match === null) {
    const allow = matches.map((m) => m.spec.method).join(', ');
    return refusal(405, 'method_not_allowed', `${head.target} allows ${allow} only`, [['Allow', allow]]);
  }
  if (match.id === null) {
    return refusal(400, 'invalid_field', match.spec.handler === 'keys_revoke' || match.spec.handler === 'alert_get' || match.spec.handler === 'case_update'
      || match.spec.handler === 'book' ? 'path: the id must be a decimal unsigned integer below 2^32'
      : match.spec.handler === 'payments_get' || match.spec.handler === 'payment_message' ? 'path: payment id must be a decimal unsigned integer below 2^64'
        : 'path: account id must be a decimal string of an unsigned integer below 2^128');
  }
  const type = match.spec.bodyType;
  if (type === null) return null;
  if (length === null) return refusal(411, 'length_required', 'a request body needs Content-Length');
  if (!bodyContentType(head, type)) return refusal(415, 'unsupported_media_type', `Content-Type must be ${MEDIA_TYPES[type]}`);
  return null;
}
