// host/gateway/http-config.ts: what an HttpSession (./http.ts) is given and
// held to: its limits, each with why (host/base/limits.ts holds the host's),
// the hooks the net device gives it for the socket and the kernel, and the
// gateway configuration the host gives it (ledgers, admission, readiness,
// statistics, metrics, the event stream).

import type { TradingInstruments } from './trading-front.ts';
import type { Signer } from '../base/keys.ts';
import type { OriginalsArchive } from '../payments/archive.ts';
import * as abi from '../../hal/abi.ts';
import { BATCH_EVENTS_MAX, HEADER_BYTES, RECORD_BYTES } from '../client/ledger.ts';
import * as gw from '../../services/gateway/protocol.ts';
import type { EventHub } from './events.ts';
import { GATEWAY_SERVICE, type Admit, type AdmissionStats } from './gateway-wire.ts';

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

// The largest ledger request must fit one frame body, or a valid batch would
// be refused by the net device; checked at import so an edit can't break it.
const largestFrameBodyBytes = abi.FRAME_REQUEST_HEADER_BYTES + GATEWAY_SERVICE.length + gw.GW_REQUEST_HEADER_BYTES
  + HEADER_BYTES + BATCH_EVENTS_MAX * RECORD_BYTES;
if (largestFrameBodyBytes > abi.FRAME_BODY_BYTES_MAX) throw new Error('http-config.ts: a largest ledger batch does not fit a frame body');
if (limits.headerBytesMax >= limits.pausedBytesMax) throw new Error('http-config.ts: pausedBytesMax must exceed headerBytesMax');

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

export interface GatewayConfig {
  ledgers: Map<number, { assetScale: number; currency?: string }>;
  /** The trading service's instruments (their scales), from the manifest; absent: none. */
  instruments?: TradingInstruments;
  admit: Admit;
  /** Admission's counters on this node (GET /v1/system/gateway adds them to the gateway's). */
  admissionStats?: () => AdmissionStats;
  host?: GatewayHost;
  /** The event stream (GET /v1/events); absent: that route answers 503. */
  events?: EventHub;
  /** The payments messages' originals (host/payments/archive.ts); absent: the image has no payments service. */
  originals?: OriginalsArchive;
  /** Signs compliance reports: the audit checkpoints' signer (host/compliance/report.ts); absent: reports answer 503. */
  reportSigner?: Signer | null;
}
