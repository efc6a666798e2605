// host/gateway/http-handlers.ts: what each route of the HTTP gateway does
// with a request, once ./http.ts has framed it: the open routes answered at
// once (index, health, readiness, the OpenAPI document), admission of every
// other head, the host's routes (statistics, metrics), the body translated
// for the gateway service (a binary ledger request, a key spec, a key id, a
// service command, an event query), and the kernel's reply rendered as JSON
// or as the start of an event stream.
//
// Every /v1 request but health, readiness and the OpenAPI document is first
// put to the kernel's admission (GatewayConfig admit, hal/abi.ts "admission")
// with what the Authorization header held (the SHA-256 of a bearer key, never
// the key), the route and the client's address, before a byte of its body is
// kept: a refused request is answered at once, its body is never read into
// memory nor translated, and nothing of it is logged. An admitted request
// becomes one frame to service "gateway" (services/gateway/protocol.ts) with
// the already-translated binary ledger request; the kernel admits the frame
// once more (charging the rate buckets) before logging it, and the gateway
// service routes it, in the command log and so replayably. The statistics
// routes and /metrics are answered by the host once admission allowed them,
// and never logged.

import * as abi from '../../hal/abi.ts';
import { BATCH_EVENTS_MAX, emptyReason } from '../client/ledger.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { VERSION } from '../base/version.ts';
import { EventQueryError, parseEventQuery, type EventHub, type EventQuery, type EventSink } from './events.ts';
import {
  authorization, decodeGatewayStats, inOrder, parseGatewayReply, setGatewayRoute, writeGatewayHeader, type Admit, type Chain, type Frame, type GatewayReply,
} from './gateway-wire.ts';
import { limits, type GatewayConfig, type GatewayHost } from './http-config.ts';
import type { Head } from './http-head.ts';
import {
  admissionRefusal, gatewayRefusal, refusal, respond, respondRefusal, serviceRefusal, statusRefusal, type Refusal,
} from './http-response.ts';
import type { RouteMatch, RouteSpec } from './http-routes.ts';
import { JsonError, parseJson, type JsonValue } from './json.ts';
import { apiKeyHash, decodeKeyRecords, keyCreateBody, keySpecFromJson, newApiKey, ROLE_NAMES, type KeySpec } from './keys-json.ts';
import {
  ASSET_SCALE_MAX, LedgerJsonError, LedgerReplyError, ledgerReplyToJson, ledgerRequestFromJson, type LedgerRequest,
} from './ledger-json.ts';
import { openApiText } from './openapi.ts';
import { decodeServiceReply, serviceCommandFromJson } from './services-json.ts';
import * as PAY from '../../services/payments/protocol.ts';
import {
  PaymentDocument, PaymentDocumentError, paymentsAnswer, paymentsRequestBody, PaymentsRefusal, type PaymentsContext, type PaymentsHandler,
} from './payments-front.ts';
import { partTaken, RecordError } from '../payments/records.ts';
import type { OriginalsArchive } from '../payments/archive.ts';
import * as CP from '../../services/compliance/protocol.ts';
import { complianceAnswer, complianceRequestBody, ComplianceRescreenError, type ComplianceContext, type ComplianceHandler } from './compliance-front.ts';
import { ComplianceRefusal, RecordError as ComplianceRecordError } from '../compliance/records.ts';
import { ReportToSign } from './cases-front.ts';
import { csvSignatureHeaders, reportCsvText, reportJsonText, signedReportJson, signReport } from '../compliance/report.ts';
import type { Signer } from '../base/keys.ts';
import { tradingAnswer, tradingRequestBody, type TradingContext, type TradingHandler, type TradingInstruments } from './trading-front.ts';
import { TradingRecordError, TradingRefusal } from '../trading/records.ts';

const TRADING_HANDLERS: ReadonlySet<string> = new Set<TradingHandler>(['orders', 'orders_lookup', 'instruments', 'book']);

const COMPLIANCE_HANDLERS: ReadonlySet<string> = new Set<ComplianceHandler>([
  'screening_search', 'lists_import', 'lists_status', 'rescreen', 'rules_get', 'rules_set', 'alerts_list', 'alert_get', 'case_update', 'decisions_list', 'reports',
]);
// The routes whose query string their front end reads.
const QUERY_HANDLERS: ReadonlySet<string> = new Set(['payments_list', 'payment_message', 'alerts_list', 'decisions_list', 'reports', 'book']);

const PAYMENTS_HANDLERS: ReadonlySet<string> = new Set<PaymentsHandler>([
  'payments_iso20022', 'payments_swift_mt', 'payments_create', 'payments_get', 'payment_message', 'payments_list', 'payment_accounts_put',
  'payment_accounts_lookup', 'payment_statement',
]);
// The routes whose body is a payments message: its original is archived when admitted (host/payments/archive.ts).
const PAYMENTS_MESSAGES: ReadonlySet<string> = new Set<PaymentsHandler>(['payments_iso20022', 'payments_swift_mt', 'payments_create']);

/** The first of a request's frames; the chain's next frames are built from the replies (nextPart). */
function firstFrame(slot: Slot, chain: Chain): Buffer {
  if (chain.next !== undefined) slot.next = chain.next;
  return chain.first;
}

/** What a refused compliance request is answered with: the service's refusal, a payments refusal of a closed case's payment, a malformed reply. */
function complianceRefusal(e: unknown): Refusal {
  if (e instanceof ComplianceRefusal) {
    const status = e.code === CP.REFUSED_FULL ? 503 : e.code === CP.REFUSED_MALFORMED ? 400 : e.code === CP.REFUSED_NOT_FOUND ? 404 : 409;
    return refusal(status, e.code === CP.REFUSED_NOT_FOUND ? 'not_found' : e.code === CP.REFUSED_CASE ? 'case_state' : 'compliance_refused', e.message);
  }
  if (e instanceof PaymentsRefusal) return refusal(e.code === PAY.REFUSED_BUSY ? 503 : 409, 'payments_refused', `the case was closed; its payment was not released: ${e.message}`);
  if (e instanceof LedgerJsonError) return refusal(e.code === 'report_too_large' ? 413 : 400, e.code, e.message);
  // A rescreen refused part way: the owners screened before it keep their marks; sending it again screens every owner again.
  if (e instanceof ComplianceRescreenError) return refusal(503, 'rescreen_incomplete', `${e.message} (done before it: ${JSON.stringify(e.done)})`);
  if (e instanceof ComplianceRecordError || e instanceof RecordError) return refusal(502, 'invalid_compliance_reply', e.message);
  throw e;
}

/** The report's text in its format, with the CSV's own headers. */
function reportText(answer: ReportToSign): { text: string; headers: [string, string][]; contentType?: string } {
  const { report } = answer;
  const period = { fromNs: report.fromNs, toNs: report.toNs };
  if (answer.format === 'json') return { text: reportJsonText(period, report.alerts, report.decisions), headers: [] };
  const name = `qenex-compliance-${report.fromNs}-${report.toNs}.csv`;
  return { text: reportCsvText(report.alerts, report.decisions), headers: [['Content-Disposition', `attachment; filename="${name}"`]], contentType: 'text/csv; charset=utf-8' };
}

/** One request's place in the response order. */
export interface Slot {
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
  /** GET /v1/payments: the query string as received. */
  queryText?: string;
  /** Payments routes: what the answer needs of the request (host/gateway/payments-front.ts). */
  payments?: PaymentsContext;
  /** Compliance routes: what the answer needs of the request (host/gateway/compliance-front.ts). */
  compliance?: ComplianceContext;
  /** Trading routes: what the answer needs of the request (host/gateway/trading-front.ts). */
  trading?: TradingContext;
  /**
   * A request sent as several frames (a payments message in parts, a list
   * load, a case close and its hold_release, a report's pages): builds the
   * next frame from the service's reply to the one before; null when that
   * reply is the answer.
   */
  next?: (body: Buffer) => Frame | null;
  /** GET /v1/events: the query string and Last-Event-ID as received, then the parsed query. */
  eventsText?: { query: string; lastEventId: string[] | undefined };
  events?: EventQuery;
  /** GET /v1/events allowed: the key's ledger grants (null: all); the stream starts when this slot is written. */
  stream?: { grants: number[] | null; alerts: boolean };
  /** The gateway request header admission saw (routes past the open ones). */
  header?: Buffer;
  startedMs: number;
  label: string;
  /** The route's path for metrics when no route took the request (405: the path exists, the method not). */
  path?: string;
}

/** A request's slot, not yet answered; `spec` null when no route takes it. */
export function newSlot(label: string, method: string, close: boolean, noBody: boolean, spec: RouteSpec | null, id: bigint): Slot {
  return { requestId: 0, spec, method, id, request: null, newKey: null, close, noBody, response: null, status: 0, startedMs: performance.now(), label };
}

/** The slot of a request whose head is parsed (`match`: its route, `matches`: the path's routes for any method). */
export function requestSlot(label: string, head: Head, close: boolean, noBody: boolean, matches: RouteMatch[], match: RouteMatch | null): Slot {
  const slot = newSlot(label, head.method, close, noBody, match?.spec ?? null, match?.id ?? 0n);
  if (match === null && matches.length > 0) slot.path = matches[0].spec.path;
  if (match?.spec.handler === 'events') slot.eventsText = { query: match.query, lastEventId: head.fields.get('last-event-id') };
  if (match !== null && QUERY_HANDLERS.has(match.spec.handler)) slot.queryText = match.query;
  return slot;
}

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

/** The per-route handling of one connection's requests (its HttpSession owns one). */
export class RouteHandlers {
  private readonly ledgers: GatewayConfig['ledgers'];
  private readonly instruments: TradingInstruments;
  private readonly admit: Admit;
  private readonly admissionStats: GatewayConfig['admissionStats'];
  private readonly host: GatewayHost | undefined;
  private readonly events: EventHub | undefined;
  private readonly originals: OriginalsArchive | undefined;
  private readonly reportSigner: Signer | null | undefined;

  /**
   * `source`: the client's address (sourceBytes), for the gateway header;
   * `settled`: called when an answer that was not known at once (metrics) is in its slot.
   */
  constructor(config: GatewayConfig, private readonly source: Buffer, private readonly settled: () => void) {
    this.host = config.host;
    this.events = config.events;
    this.originals = config.originals;
    this.reportSigner = config.reportSigner;
    for (const [ledger, { assetScale }] of config.ledgers) {
      if (!Number.isInteger(ledger) || ledger < 0 || ledger > 0xffffffff) throw new RangeError(`gateway: ledger ${ledger} is not a u32`);
      if (!Number.isInteger(assetScale) || assetScale < 0 || assetScale > ASSET_SCALE_MAX) {
        throw new RangeError(`gateway: ledger ${ledger}: assetScale ${assetScale} is not an integer from 0 to ${ASSET_SCALE_MAX}`);
      }
    }
    this.ledgers = config.ledgers;
    this.instruments = config.instruments ?? new Map();
    this.admit = config.admit;
    this.admissionStats = config.admissionStats;
  }

  /**
   * Answers a request's slot when its head decides: the refusal the head
   * earned (`early`), an open route, admission's refusal, a host route.
   * Otherwise the slot waits for its body (body()).
   */
  start(slot: Slot, head: Head, early: Refusal | null, bodyBytes: number): void {
    if (early !== null) respondRefusal(slot, early);
    else if (slot.spec!.gatewayRoute === 0) this.answerOpen(slot);
    else this.admitHead(slot, head, bodyBytes);
  }

  /** Answers the open routes that need nothing from the kernel (health, readiness, the document). */
  private answerOpen(slot: Slot): void {
    const handler = slot.spec!.handler;
    if (handler === 'health') respond(slot, 200, JSON.stringify({ status: 'ok' }));
    else if (handler === 'ready') {
      const ready = this.host?.ready() ?? true;
      if (ready) respond(slot, 200, JSON.stringify({ status: 'ready' }));
      else respondRefusal(slot, refusal(503, 'not_ready', 'the kernel is not serving (starting up or shutting down)'));
    } else if (handler === 'openapi') respond(slot, 200, openApiText());
    else if (handler === 'index') respond(slot, 200, INDEX_HTML, [['Content-Security-Policy', "default-src 'none'"]], 'text/html; charset=utf-8');
  }

  /**
   * Admission of a request head (the kernel's decision, before any body byte
   * is kept): a refusal answers the slot now. Routes the host answers itself
   * are charged (ADM_MODE_TAKE) and answered here; the others are asked
   * without a charge (the kernel charges the frame when it arrives).
   */
  private admitHead(slot: Slot, head: Head, bodyBytes: number): void {
    const auth = authorization(head);
    const spec = slot.spec!;
    slot.header = Buffer.allocUnsafe(gw.GW_REQUEST_HEADER_BYTES);
    writeGatewayHeader(slot.header, 0, spec.gatewayRoute, auth.auth, auth.hash, this.source);
    const answer = this.admit(slot.header, spec.host === true ? abi.ADM_MODE_TAKE : abi.ADM_MODE_PEEK);
    if (answer.status !== 200) {
      // The body is not read at all (a client without a valid key must not
      // make us take in up to bodyBytesMax bytes for nothing): the
      // connection closes after the answer instead.
      if (bodyBytes > 0) slot.close = true;
      respondRefusal(slot, admissionRefusal(answer));
      return;
    }
    if (spec.handler === 'metrics') this.answerMetrics(slot);
    else if (spec.handler === 'system') respond(slot, 200, JSON.stringify(this.host === undefined ? {} : this.host.system(spec.system!)));
  }

  private answerMetrics(slot: Slot): void {
    if (this.host === undefined) {
      respondRefusal(slot, refusal(503, 'unavailable', 'no metrics on this host'));
      return;
    }
    this.host.metrics().then(
      (text) => respond(slot, 200, text, [], 'text/plain; version=0.0.4; charset=utf-8'),
      (e: Error) => respondRefusal(slot, refusal(500, 'metrics_failed', e.message)),
    ).finally(() => this.settled());
  }

  /**
   * The body for the gateway service of a request whose body has arrived, or
   * null when it was refused (its slot is answered).
   */
  body(slot: Slot, chunks: Buffer[]): Uint8Array | null {
    try {
      return this.gatewayBody(slot, chunks);
    } catch (e) {
      if (!(e instanceof JsonError) && !(e instanceof LedgerJsonError)) throw e;
      // Admission still decides 401/403/429 first (and charges the request):
      // only a client it admits learns how its body was judged.
      slot.header![3] = gw.GW_F_BODY_REFUSED;
      const answer = this.admit(slot.header!, abi.ADM_MODE_TAKE);
      respondRefusal(slot, answer.status === 400 && answer.error === gw.GW_E_BODY_REFUSED
        ? refusal(400, e.code, e.message) : admissionRefusal(answer));
      return null;
    }
  }

  /** The route's body for the gateway service (the binary ledger request, a key spec, a key id). */
  private gatewayBody(slot: Slot, chunks: Buffer[]): Uint8Array {
    const spec = slot.spec!;
    // A body that came in one chunk is parsed where it is (nothing keeps it past the parse).
    const json = (): JsonValue => parseJson(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), {
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
    if (PAYMENTS_HANDLERS.has(spec.handler)) {
      const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const { requests, context } = paymentsRequestBody(spec.handler as PaymentsHandler, bytes, slot.id, this.ledgers, json, slot.queryText ?? '');
      slot.payments = context;
      if (PAYMENTS_MESSAGES.has(spec.handler)) this.originals?.put(bytes);
      return firstFrame(slot, inOrder(requests, partTaken));
    }
    if (COMPLIANCE_HANDLERS.has(spec.handler)) {
      const target = { id: slot.id, query: slot.queryText ?? '', ledgers: this.ledgers };
      const { chain, context } = complianceRequestBody(spec.handler as ComplianceHandler, json, target);
      slot.compliance = context;
      return firstFrame(slot, chain);
    }
    if (TRADING_HANDLERS.has(spec.handler)) {
      const { body, context } = tradingRequestBody(spec.handler as TradingHandler, json, slot.id, slot.queryText ?? '', this.instruments);
      slot.trading = context;
      return body;
    }
    if (spec.handler === 'keys_revoke') {
      const id = Buffer.alloc(4);
      id.writeUInt32LE(Number(slot.id));
      return id;
    }
    return EMPTY;
  }

  /**
   * The next frame of a request sent as several (Slot.parts) when the
   * kernel's reply took the one before it; null when the reply is the answer
   * (the last frame's, or a refusal, which ends the request).
   */
  nextPart(slot: Slot, status: number, payload: Buffer): Buffer | null {
    const next = slot.next;
    if (next === undefined) return null;
    const r = status === abi.FRAME_OK ? parseGatewayReply(payload) : null;
    const frame = r !== null && r.status === 200 ? next(r.body) : null;
    if (frame === null) { slot.next = undefined; return null; }
    // A frame for another route (a closed case's hold_release): the kernel admits it under that route's roles.
    if (frame.route !== undefined) setGatewayRoute(slot.header!, frame.route);
    return frame.body;
  }

  /** Renders the kernel's reply to a gateway request into the slot. */
  reply(slot: Slot, status: number, payload: Buffer): void {
    if (status !== abi.FRAME_OK) { respondRefusal(slot, statusRefusal(status, payload)); return; }
    const r = parseGatewayReply(payload);
    if (r === null) { respondRefusal(slot, refusal(502, 'bad_gateway', 'the gateway answered without its header')); return; }
    if (r.error === gw.GW_E_SERVICE_COMMAND) { respondRefusal(slot, serviceRefusal(r)); return; }
    if (r.status !== 200) { respondRefusal(slot, gatewayRefusal(r)); return; }
    if (slot.spec!.handler === 'events') { this.allowStream(slot, r.body); return; }
    if (slot.payments !== undefined) { this.paymentsReply(slot, r.body); return; }
    if (slot.compliance !== undefined) { this.complianceReply(slot, r.body); return; }
    if (slot.trading !== undefined) { this.tradingReply(slot, r.body); return; }
    try {
      const why = slot.spec!.handler === 'ledger' ? emptyReason(r.body) : null;
      // An empty query answer says why (the account does not exist, or keeps no history): a header, the body stays a list.
      respond(slot, 200, JSON.stringify(this.successJson(slot, r)), why === null ? [] : [['QENEX-Empty-Reason', why]]);
    } catch (e) {
      if (!(e instanceof LedgerReplyError)) throw e;
      respondRefusal(slot, refusal(502, 'invalid_ledger_reply', e.message));
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
      default: throw new Error(`http-handlers.ts: ${spec.handler} is not a gateway route`);
    }
  }

  /** The payments service's reply rendered (host/gateway/payments-front.ts): JSON, or why it refused the request. */
  private paymentsReply(slot: Slot, body: Buffer): void {
    try {
      const answer = paymentsAnswer(slot.payments!, body, this.ledgers, this.originals);
      if (answer === null) respondRefusal(slot, refusal(404, 'not_found', `no payment ${slot.id}`));
      else if (answer instanceof PaymentDocument) respond(slot, 200, answer.text, [], answer.contentType);
      else respond(slot, 200, JSON.stringify(answer));
    } catch (e) {
      if (e instanceof PaymentDocumentError) { respondRefusal(slot, refusal(e.status, e.code, e.message)); return; }
      if (e instanceof PaymentsRefusal) {
        const [status, code] = e.code === PAY.REFUSED_BUSY ? [503, 'busy'] : e.code === PAY.REFUSED_FULL ? [503, 'payments_full']
          : e.code === PAY.REFUSED_NOT_FOUND ? [404, 'not_found'] : [400, 'payments_refused'];
        respondRefusal(slot, refusal(status, code, e.message));
        return;
      }
      if (!(e instanceof RecordError)) throw e;
      respondRefusal(slot, refusal(502, 'invalid_payments_reply', e.message));
    }
  }

  /** The trading service's reply rendered (host/gateway/trading-front.ts), or why it refused. */
  private tradingReply(slot: Slot, body: Buffer): void {
    try {
      respond(slot, 200, JSON.stringify(tradingAnswer(slot.trading!, body, this.instruments)));
    } catch (e) {
      if (e instanceof TradingRefusal) respondRefusal(slot, refusal(e.reason.includes('one at a time') ? 503 : 400, 'trading_refused', e.message));
      else if (e instanceof TradingRecordError) respondRefusal(slot, refusal(502, 'invalid_trading_reply', e.message));
      else throw e;
    }
  }

  /** The compliance service's reply rendered (host/gateway/compliance-front.ts): JSON, a signed report, or why it refused. */
  private complianceReply(slot: Slot, body: Buffer): void {
    try {
      const answer = complianceAnswer(slot.compliance!, body);
      if (answer === null) respondRefusal(slot, refusal(404, 'not_found', `no alert ${slot.id}`));
      else if (answer instanceof ReportToSign) this.answerReport(slot, answer);
      else respond(slot, 200, JSON.stringify(answer));
    } catch (e) {
      respondRefusal(slot, complianceRefusal(e));
    }
  }

  /** A report whose pages are in: signed with the checkpoints' signer (host/compliance/report.ts), then sent. */
  private answerReport(slot: Slot, answer: ReportToSign): void {
    const signer = this.reportSigner;
    if (signer === undefined || signer === null) {
      respondRefusal(slot, refusal(503, 'no_report_signer', 'reports are signed with the audit checkpoints\' key: boot with --audit-key or --hsm --label'));
      return;
    }
    const { text, headers, contentType } = reportText(answer);
    const bytes = Buffer.from(text, 'utf8');
    signReport(bytes, signer).then(
      (signatures) => {
        if (answer.format === 'json') respond(slot, 200, signedReportJson(text, signatures));
        else respond(slot, 200, text, [...headers, ...csvSignatureHeaders(text, signatures)], contentType);
      },
      (e: Error) => respondRefusal(slot, refusal(503, 'report_signing_failed', e.message)),
    ).finally(() => this.settled());
  }

  /** The gateway allowed GET /v1/events: the stream's head, or why it can't start. */
  private allowStream(slot: Slot, body: Buffer): void {
    if (this.events === undefined) { respondRefusal(slot, refusal(503, 'unavailable', 'no event stream on this host')); return; }
    const refused = this.events.check(slot.events!, slot.header ?? null);
    if (refused !== null) { respondRefusal(slot, refusal(refused.status, refused.code, refused.message)); return; }
    const count = body.length >= 4 ? body.readUInt32LE(0) : -1;
    if (count < 0 || body.length !== 4 + count * 4) { respondRefusal(slot, refusal(502, 'bad_gateway', 'the gateway answered without the key\'s grants')); return; }
    // Alerts go to a stream whose key's role may read the alerts route: the gateway's one policy, asked of admission.
    const alertsHeader = Buffer.from(slot.header!);
    setGatewayRoute(alertsHeader, gw.ROUTE_ALERTS_LIST);
    const alerts = this.admit(alertsHeader, abi.ADM_MODE_KEY).status === 200;
    if (!alerts && slot.events!.types?.has(abi.EVT_ALERT) === true) {
      respondRefusal(slot, refusal(403, 'forbidden_role', 'the key\'s role may not see compliance alerts (types=alert)'));
      return;
    }
    slot.stream = { grants: count === 0 ? null : Array.from({ length: count }, (_, i) => body.readUInt32LE(4 + i * 4)), alerts };
    slot.status = 200;
    slot.response = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n'
      + `Connection: close\r\nX-Request-Id: ${slot.label}\r\n\r\n`, 'latin1');
  }

  /** Starts the event stream of a written GET /v1/events head into `sink`; null when it can't start (an error event said why). */
  subscribe(slot: Slot, sink: EventSink): (() => void) | null {
    const hub = this.events!;
    const refused = hub.check(slot.events!, slot.header ?? null);
    if (refused !== null) {
      // The ring moved on while earlier responses on this connection were written.
      sink.write(`event: error\ndata: ${JSON.stringify({ error: { code: refused.code, message: refused.message } })}\n\n`);
      return null;
    }
    return hub.subscribe(slot.events!, slot.stream!.grants, sink, slot.header ?? null, slot.stream!.alerts);
  }
}
