// host/gateway/http.ts: the HTTP/1.1 offload in front of the gateway
// service, one HttpSession per client connection: the framing of requests
// and responses on the connection. Pure: it owns no socket and no timer.
//
// The net device (host/devices/net.ts) sniffs a connection's first bytes with
// looksLikeHttp, creates a session with hooks for the socket and the kernel
// (./http-config.ts), feeds it bytes with receive(), and hands it the
// kernel's reply frames with reply(). The session parses HTTP/1.1 strictly,
// in work linear in the bytes (./http-head.ts), within its limits
// (./http-config.ts), matches the route (./http-routes.ts) and hands each
// request to its route's handling (./http-handlers.ts: admission, the frame
// to the gateway service, the answer as JSON); it decides nothing that is
// policy. The kernel answers logged requests only once their batch is
// durable, so a 200 means durable.
//
// Responses leave in request order (one slot per request, even for errors
// known at once; ./http-response.ts renders them), at most
// `limits.requestsInFlightMax` requests are open per connection (beyond it
// the socket is paused), and a request is refused as a whole or submitted as
// a whole: nothing is partial.
//
// Transfer-Encoding (chunked or any other) is refused with 501 and the
// connection closed: every client can send Content-Length for a JSON body,
// and one framing is one less way for a proxy and us to disagree about where
// a request ends (request smuggling).

import { NET_REQUEST_TIMEOUT_MS, NET_UNSENT_BYTES_MAX } from '../base/limits.ts';
import { ByteQueue } from '../base/bytes.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { GATEWAY_SERVICE } from './gateway-wire.ts';
import { limits, type GatewayConfig, type GatewayHost, type HttpSessionHooks } from './http-config.ts';
import { newSlot, requestSlot, RouteHandlers, type Slot } from './http-handlers.ts';
import { contentLength, fieldTokens, parseHead, type Head } from './http-head.ts';
import { refusal, respondRefusal, type Refusal } from './http-response.ts';
import { routeHead } from './http-routes.ts';

/** A request whose head is parsed and whose body is being read (or skipped). */
interface Reading {
  slot: Slot;
  remaining: number;
  /** Handle the request after its body (else the answer is already known and the body is skipped). */
  keep: boolean;
  chunks: Buffer[];
}

type State = 'head' | 'body' | 'closing' | 'ended' | 'streaming'; // streaming: the connection is an event stream

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
  private readonly routes: RouteHandlers;
  private readonly host: GatewayHost | undefined;
  private unsubscribe: (() => void) | null = null;
  private readonly label: string;
  private served = 0;
  /** performance.now() when the request being received began; null when none is partial. */
  private partialSince: number | null = null;

  /** `source`: the client's address (sourceBytes) and a label for request ids (the connection number). */
  constructor(private readonly hooks: HttpSessionHooks, config: GatewayConfig,
    source: { address: Buffer; label: string } = { address: Buffer.alloc(gw.GW_SOURCE_BYTES), label: '0' }) {
    this.host = config.host;
    this.label = source.label;
    // An answer that was not known at once (metrics) is in its slot: write what is ready, read on.
    this.routes = new RouteHandlers(config, source.address, () => { if (this.state !== 'ended') { this.flush(); this.pump(); } });
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
    const next = this.routes.nextPart(slot, status, payload);
    if (next !== null) { this.submit(slot, next); return; }
    this.routes.reply(slot, status, payload);
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
      if (reading.slot.response === null) respondRefusal(reading.slot, timedOut);
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
    const { matches, match, early } = routeHead(head, length);
    const expectsContinue = fieldTokens(head, 'expect').includes('100-continue');
    this.served++;
    const close = head.version === '1.0' || fieldTokens(head, 'connection').includes('close');
    const slot = requestSlot(`${this.label}-${this.served}`, head, close, noBody, matches, match);
    this.slots.push(slot);
    this.routes.start(slot, head, early, bodyBytes);
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

  /** Takes body bytes from `chunk` for the request being read; returns what is left of the chunk. */
  private feedBody(chunk: Buffer): Buffer {
    const reading = this.reading;
    if (reading === null || this.state !== 'body') throw new Error('http.ts: body bytes outside a body');
    const take = Math.min(reading.remaining, chunk.length);
    if (reading.keep && reading.slot.spec!.bodyType !== null && take > 0) reading.chunks.push(chunk.subarray(0, take));
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
    const body = this.routes.body(slot, reading.chunks);
    if (body === null) return;
    this.submit(slot, body);
  }

  /** Submits a frame of the slot's request (the whole body, or a part of it) under a new request id. */
  private submit(slot: Slot, body: Uint8Array): void {
    slot.requestId = this.nextRequestId;
    this.nextRequestId = this.nextRequestId === 0xffffffff ? 1 : this.nextRequestId + 1;
    this.submitted.set(slot.requestId, slot);
    this.hooks.submit(slot.requestId, GATEWAY_SERVICE, slot.header!, body);
  }

  /** A refusal that ends the connection: nothing after it can be framed or trusted. */
  private refuseAndClose(r: Refusal, noBody: boolean): void {
    this.served++;
    const slot = newSlot(`${this.label}-${this.served}`, '', true, noBody, null, 0n);
    respondRefusal(slot, r);
    this.slots.push(slot);
    this.state = 'closing';
    this.reading = null;
    this.held.clear();
    this.flush();
  }

  /** The stream's head is written: the connection now carries events until either side ends it. */
  private beginStream(slot: Slot): void {
    this.state = 'streaming';
    this.slots.length = 0; // pipelined requests after a stream are never answered (Connection: close)
    this.held.clear();
    const sink = {
      write: (text: string) => { if (this.state === 'streaming') this.hooks.write(Buffer.from(text, 'utf8')); },
      buffered: () => this.hooks.buffered?.() ?? 0,
      onDrain: this.hooks.onDrain === undefined ? undefined : (cb: () => void) => this.hooks.onDrain!(cb),
      end: () => this.finish(),
    };
    this.unsubscribe = this.routes.subscribe(slot, sink);
    if (this.unsubscribe === null) this.finish();
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
