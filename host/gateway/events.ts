// host/gateway/events.ts: the host's side of the event stream (issue 8):
// a bounded in-memory ring of the most recent events and the Server-Sent
// Events subscribers of GET /v1/events: the ledger's committed transfers,
// the payments service's payments (each created or changed payment's record,
// rendered as GET /v1/payments lists it), the compliance service's alerts
// (each raised or changed alert, rendered as GET /v1/compliance/alerts lists
// it; only to streams whose key's role may read that route) and audit
// checkpoints.
//
// The kernel numbers every event (drivers/events/events.ts) and hands the
// host records through DEV_EVENTS (host/devices/events.ts), live and while
// it replays the command log at boot, so after a restart the ring holds the
// same ids and a client resumes with Last-Event-ID (or ?after=<id>) as if
// nothing happened. The ring keeps whole records (one per ledger batch, one
// per checkpoint) and renders an event only when a subscriber needs it, so
// events cost the machine a copy per batch when nobody listens.
//
// Subscribers pull: each has a cursor (the next id it needs) and is written
// to while its socket holds fewer than subscriberBufferBytesMax unsent
// bytes; a timer tops up the ones that are behind. A subscriber whose
// cursor falls out of the ring (it read too slowly while events went on) is
// dropped with a final `error` event; nothing ever waits for a subscriber.
// Authorisation is the gateway service's (route ROUTE_EVENTS): the session
// passes the key's ledger grants, and a scoped key sees only transfers and
// payments on its ledgers (checkpoints carry no ledger data and go to every
// subscriber).
// A stream lives no longer than its key: whenever the kernel's admission
// table changes (a key created or revoked), every open stream's credential
// is put to admission again (ADM_MODE_KEY: the key and its role alone, so a
// rate or failed-auth throttle on the stream's address neither answers for
// it nor is charged by it), before any later record is written, and a
// stream whose key is refused now gets a final `error` event (key_refused)
// and is closed. One key may hold at
// most subscribersPerKeyMax streams, so one read-only key cannot take them all.

import * as abi from '../../hal/abi.ts';
import type { AdmissionAnswer } from '../base/kernel.ts';
import { TransferFlags, flagsToNames, readTransfer } from '../client/ledger.ts';
import { transferToJson } from './ledger-json.ts';
import { TRANSFER_LEDGER } from '../../services/ledger/protocol.ts';
import { PAY_LEDGER } from '../../services/payments/protocol.ts';
import { paymentRecordAt } from '../payments/records.ts';
import { paymentJson, type LedgerCurrencies } from './payment-json.ts';
import { ALERT_LEDGER } from '../../services/compliance/protocol.ts';
import { alertAt } from '../compliance/cases.ts';
import { eventAt } from '../trading/records.ts';
import { tradingEventJson, type TradingInstruments } from './trading-front.ts';
import { alertJson } from './compliance-json.ts';

/** Limits of the ring and the subscribers; manifest `gateway.events` may set each. */
export interface EventLimits {
  /** Events the ring holds; older ones are gone (410 for a resume from them). */
  ringEventsMax: number;
  /** Open streams at once; beyond it 503. */
  subscribersMax: number;
  /** Open streams of one key; beyond it 429. */
  subscribersPerKeyMax: number;
  /** Unsent bytes a subscriber's socket may hold before we stop writing to it. */
  subscriberBufferBytesMax: number;
  /** A comment line this often keeps idle streams (and proxies) alive. */
  heartbeatMs: number;
}

export const EVENT_LIMITS_DEFAULT: EventLimits = {
  // Eight largest ledger batches (8189 transfers each): a client that was
  // away for a few seconds at full load, or a restart, resumes; each held
  // event costs its 128-byte record, so the ring is about 8 MiB.
  ringEventsMax: 65536,
  // Streams are for a few monitoring and reconciliation clients, not for
  // every teller; 64 bounds the memory and the work per batch.
  subscribersMax: 64,
  // A monitoring client needs one or two (a second while it reconnects);
  // 4 per key leaves the other 60 for other keys.
  subscribersPerKeyMax: 4,
  // 1 MiB is about 2500 rendered transfers: a reader keeping up never
  // reaches it; one that does falls behind and is dropped when the ring laps it.
  subscriberBufferBytesMax: 1024 * 1024,
  // 15 s is under the idle timeouts of common proxies (30-60 s).
  heartbeatMs: 15_000,
};

// How often subscribers that stopped at their buffer limit are topped up.
const TOP_UP_MS = 20;

export const EVENT_TYPES = { transfer: abi.EVT_TRANSFER, checkpoint: abi.EVT_CHECKPOINT, payment: abi.EVT_PAYMENT, alert: abi.EVT_ALERT, trading: abi.EVT_TRADING } as const;
export type EventTypeName = keyof typeof EVENT_TYPES;
const TYPE_NAMES: Record<number, EventTypeName> = {
  [abi.EVT_TRANSFER]: 'transfer', [abi.EVT_CHECKPOINT]: 'checkpoint', [abi.EVT_PAYMENT]: 'payment', [abi.EVT_ALERT]: 'alert', [abi.EVT_TRADING]: 'trading',
};
// Where an item holds its ledger, for the types that have one (grants and ?ledger= apply to them).
const LEDGER_AT: Record<number, number> = { [abi.EVT_TRANSFER]: TRANSFER_LEDGER, [abi.EVT_PAYMENT]: PAY_LEDGER, [abi.EVT_ALERT]: ALERT_LEDGER };
const ITEM_BYTES: Record<number, number> = {
  [abi.EVT_TRANSFER]: abi.EVENT_TRANSFER_BYTES, [abi.EVT_CHECKPOINT]: abi.EVENT_CHECKPOINT_BYTES, [abi.EVT_PAYMENT]: abi.EVENT_PAYMENT_BYTES,
  [abi.EVT_ALERT]: abi.EVENT_ALERT_BYTES, [abi.EVT_TRADING]: abi.EVENT_TRADING_BYTES, [abi.EVT_FIX]: abi.EVENT_FIX_BYTES,
};

/**
 * A host component that takes the FIX service's outbound messages (EVT_FIX
 * records; host/fix/acceptor.ts): `items` holds `count` items of
 * abi.EVENT_FIX_BYTES (services/fix/protocol.ts "out"), in order; `timeNs`
 * is the record's logical time, `firstId` the first item's event id. Called
 * synchronously as the record leaves the kernel (inside the emit syscall):
 * queue or write to sockets, never call into the machine from it. Records
 * replayed at boot reach only listeners added before the replay.
 */
export type FixListener = (timeNs: bigint, items: Buffer, count: number, firstId: number) => void;

/** One record from the kernel: `count` events with ids first .. first+count-1. */
interface Chunk {
  first: number;
  count: number;
  type: number;
  timeNs: bigint;
  itemBytes: number;
  items: Buffer;
  /** Rendered events, kept while more than one stream is open (each is rendered once, not once per stream). */
  texts?: (string | undefined)[];
}

/** What a subscriber asked for (query and Last-Event-ID) and what its key may see. */
export interface EventQuery {
  /** Resume after this id; null: from now on. */
  after: number | null;
  /** ?ledger=N,M: only transfers and payments on these ledgers; null: all. */
  ledgers: number[] | null;
  /** ?types=transfer,payment,checkpoint; null: all. */
  types: Set<number> | null;
}

export interface EventSink {
  write(text: string): void;
  /** Bytes written but not yet sent (the socket's writableLength). */
  buffered(): number;
  /** Calls `cb` once when the socket has sent what it held; absent: the hub's timer tops the stream up. */
  onDrain?: (cb: () => void) => void;
  end(): void;
}

/** A refusal before the stream starts: HTTP status, stable code, message. */
export interface EventRefusal { status: number; code: string; message: string }

export class EventQueryError extends Error {
  override name = 'EventQueryError';
  constructor(readonly code: string, message: string) { super(message); }
}

const ID_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

function eventId(text: string, where: string): number {
  if (!ID_PATTERN.test(text) || Number(text) > Number.MAX_SAFE_INTEGER) {
    throw new EventQueryError('invalid_event_id', `${where}: must be a decimal event id`);
  }
  return Number(text);
}

/**
 * Parses the query string of GET /v1/events (without '?') and the
 * Last-Event-ID header; `after` wins over the header when both are given.
 */
export function parseEventQuery(query: string, lastEventId: string | undefined): EventQuery {
  const out: EventQuery = { after: lastEventId === undefined ? null : eventId(lastEventId.trim(), 'Last-Event-ID'), ledgers: null, types: null };
  if (query === '') return out;
  const seen = new Set<string>();
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (seen.has(name)) throw new EventQueryError('invalid_query', `${name}: given twice`);
    seen.add(name);
    if (name === 'after') out.after = eventId(value, 'after');
    else if (name === 'ledger') {
      out.ledgers = value.split(',').map((v) => {
        if (!/^[0-9]{1,10}$/.test(v) || Number(v) > 0xffffffff) throw new EventQueryError('invalid_query', 'ledger: must be ledger numbers separated by commas');
        return Number(v);
      });
    } else if (name === 'types') {
      out.types = new Set(value.split(',').map((v) => {
        const t = EVENT_TYPES[v as EventTypeName];
        if (t === undefined) throw new EventQueryError('invalid_query', `types: ${JSON.stringify(v)} is not one of ${Object.keys(EVENT_TYPES).join(', ')}`);
        return t;
      }));
    } else throw new EventQueryError('invalid_query', `${name}: unknown parameter (after, ledger, types)`);
  }
  return out;
}

/** The kernel's admission, as the hub asks it whether a stream's key still holds. */
export interface StreamAdmission {
  /** Changes whenever a key is created or revoked (kernel admission_keys_generation). */
  generation(): number;
  /** Whether a stream's credential still holds now (ADM_MODE_KEY: no rate or failed-auth throttle answers for it). */
  check(header: Buffer): AdmissionAnswer;
}

/** The request header (GW_REQUEST_HEADER_BYTES) a stream was admitted with; its key hash names its key. */
function keyOf(header: Buffer | null): string {
  return header === null ? '' : header.toString('hex', abi.GW_KEY_HASH_OFFSET, abi.GW_KEY_HASH_OFFSET + abi.GW_KEY_HASH_BYTES);
}

class Subscriber {
  cursor: number;
  closed = false;
  waitingDrain = false;
  lastWriteMs = performance.now();
  readonly key: string;
  constructor(readonly query: EventQuery, readonly grants: number[] | null, readonly sink: EventSink, from: number,
    readonly header: Buffer | null, readonly alerts: boolean) {
    this.cursor = from;
    this.key = keyOf(header);
  }

  wants(chunk: Chunk, index: number): boolean {
    if (chunk.type === abi.EVT_FIX) return false; // FIX session traffic: only for the FIX front end (EventHub.onFix)
    // Alerts go only to streams whose key's role may read the alerts route (the gateway's policy, asked at subscribe).
    if (chunk.type === abi.EVT_ALERT && !this.alerts) return false;
    if (this.query.types !== null && !this.query.types.has(chunk.type)) return false;
    const at = LEDGER_AT[chunk.type];
    if (at === undefined) return true;
    const ledger = chunk.items.readUInt32LE(index * chunk.itemBytes + at);
    if (this.grants !== null && !this.grants.includes(ledger)) return false;
    return this.query.ledgers === null || this.query.ledgers.includes(ledger);
  }
}

export class EventHub {
  readonly limits: EventLimits;
  private chunks: Chunk[] = [];
  private head = 0; // index of the oldest chunk held in `chunks`
  private held = 0; // events in chunks[head..]
  /** The id the next event will have (the kernel's counter + 1). */
  nextId = 1;
  /** The oldest id the ring holds (== nextId when it holds none). */
  oldestId = 1;
  /** Ids the kernel used but never delivered (its ring was full): a gap. */
  lost = 0;
  private readonly subscribers = new Set<Subscriber>();
  private timer: NodeJS.Timeout | null = null;
  private lastBeatMs = performance.now();
  private pumpScheduled = false;
  private started = false;
  dropped = 0;

  private admission: StreamAdmission | null = null;
  private admissionSeen = 0;
  private readonly fixListeners: FixListener[] = [];

  /** `ledgers`: the gateway's ledgers (manifest gateway.ledgers), for a payment's amount_decimal and currency. */
  constructor(limits: Partial<EventLimits> = {}, private readonly log: (o: object) => void = () => {},
    private readonly ledgers: LedgerCurrencies = new Map(), private readonly instruments: TradingInstruments = new Map()) {
    this.limits = { ...EVENT_LIMITS_DEFAULT, ...limits };
  }

  /** The kernel's admission: streams whose key it refuses now are closed (see the top of this file). */
  setAdmission(admission: StreamAdmission): void {
    this.admission = admission;
    this.admissionSeen = admission.generation();
  }

  /**
   * Adds a listener for EVT_FIX records (see FixListener); returns the
   * function that removes it. From host code holding the Machine:
   * `machine.eventHub.onFix((timeNs, items, count) => ...)`.
   */
  onFix(listener: FixListener): () => void {
    this.fixListeners.push(listener);
    return () => {
      const i = this.fixListeners.indexOf(listener);
      if (i >= 0) this.fixListeners.splice(i, 1);
    };
  }

  /** Events the ring holds. */
  size(): number { return this.held; }
  subscriberCount(): number { return this.subscribers.size; }

  /** One record from the kernel (hal/abi.ts "event stream"), copied out of kernel memory. */
  publish(record: Buffer): void {
    if (record.length < abi.EVENT_RECORD_HEADER_BYTES) throw new Error(`event record of ${record.length} bytes is shorter than its header`);
    const first = Number(record.readBigUInt64LE(0));
    const count = record.readUInt32LE(20);
    const itemBytes = record.readUInt32LE(24);
    const type = record.readUInt16LE(16);
    if (count === 0 || itemBytes !== ITEM_BYTES[type] || record.length !== abi.EVENT_RECORD_HEADER_BYTES + count * itemBytes) {
      throw new Error(`event record ${first}: type ${type}, ${count} items of ${itemBytes} bytes in ${record.length} bytes`);
    }
    if (first < this.nextId) throw new Error(`event record ${first}: ids went back (next is ${this.nextId})`);
    // A key revoked since the last look must not see this record: streams are put to admission first.
    this.recheckKeys();
    if (!this.started) {
      // The first record says where numbering stands (1 after a full replay;
      // later after a boot from a snapshot, whose earlier events are not held).
      this.started = true;
      this.clear(first);
    } else if (first > this.nextId) {
      // The kernel dropped records: a resume from before the gap can't be served.
      this.lost += first - this.nextId;
      this.log({ event: 'events_lost', from: this.nextId, to: first - 1 });
      this.clear(first);
    }
    const timeNs = record.readBigUInt64LE(8);
    const items = record.subarray(abi.EVENT_RECORD_HEADER_BYTES);
    if (type === abi.EVT_FIX) {
      // FIX session traffic goes to the FIX front end only; the ring keeps a
      // hollow chunk (no items, never shown) so its ids stay contiguous.
      for (const l of [...this.fixListeners]) l(timeNs, items, count, first);
      this.chunks.push({ first, count, type, timeNs, itemBytes, items: Buffer.alloc(0) });
    } else {
      this.chunks.push({ first, count, type, timeNs, itemBytes, items });
    }
    this.held += count;
    this.nextId = first + count;
    this.evict();
    // Subscribers are written to after the run loop's turn, never inside an
    // emit syscall: nothing a subscriber does can slow or break the machine.
    if (this.subscribers.size > 0 && !this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => this.pumpAll());
    }
  }

  private pumpAll(): void {
    this.pumpScheduled = false;
    for (const s of this.subscribers) this.pump(s);
  }

  /**
   * The kernel's next event id (events_emitted() + 1) once recovery is done:
   * a machine booted from a snapshot may have replayed no event yet, and
   * ids the kernel used but could not deliver are a gap like any other.
   */
  syncNext(next: number): void {
    if (!this.started || next > this.nextId) {
      if (this.started) this.lost += next - this.nextId;
      this.started = true;
      this.clear(next);
    }
  }

  private clear(next: number): void {
    this.chunks = [];
    this.head = 0;
    this.held = 0;
    this.oldestId = next;
    this.nextId = next;
  }

  // Whole chunks leave the ring while it holds more than the limit (the newest always stays).
  private evict(): void {
    while (this.held > this.limits.ringEventsMax && this.chunks.length - this.head > 1) {
      this.held -= this.chunks[this.head].count;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    this.oldestId = this.chunks.length > this.head ? this.chunks[this.head].first : this.nextId;
  }

  /** Why a subscription with this query (and request header) can't start, or null when it can. */
  check(query: EventQuery, header: Buffer | null = null): EventRefusal | null {
    if (this.subscribers.size >= this.limits.subscribersMax) {
      return { status: 503, code: 'too_many_subscribers', message: `${this.limits.subscribersMax} event streams are open; retry later` };
    }
    const key = keyOf(header);
    let mine = 0;
    for (const s of this.subscribers) if (s.key === key) mine++;
    if (mine >= this.limits.subscribersPerKeyMax) {
      return { status: 429, code: 'too_many_streams', message: `this key has ${mine} event streams open, the most one key may; close one first` };
    }
    if (query.after === null) return null;
    if (query.after >= this.nextId) {
      return { status: 400, code: 'invalid_event_id', message: `event ${query.after} has not happened (the last is ${this.nextId - 1})` };
    }
    if (query.after + 1 < this.oldestId) {
      return { status: 410, code: 'event_id_expired', message: `events after ${query.after} are no longer held; the oldest is ${this.oldestId}` };
    }
    return null;
  }

  /**
   * Starts a stream (check() first); returns the function that ends it.
   * `header`: what admission admitted it with; `alerts`: whether its key's
   * role may see compliance alerts (absent: it may not).
   */
  subscribe(query: EventQuery, grants: number[] | null, sink: EventSink, header: Buffer | null = null, alerts = false): () => void {
    const refusal = this.check(query, header);
    if (refusal !== null) throw new Error(`events: subscribe without check: ${refusal.message}`);
    const s = new Subscriber(query, grants, sink, query.after === null ? this.nextId : query.after + 1, header, alerts);
    this.subscribers.add(s);
    sink.write(`retry: 1000\n: ring ${this.oldestId}..${this.nextId - 1}\n\n`);
    this.pump(s);
    this.arm();
    return () => this.remove(s);
  }

  private remove(s: Subscriber): void {
    s.closed = true;
    this.subscribers.delete(s);
    if (this.subscribers.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Closes every stream (shutdown). */
  close(): void {
    for (const s of [...this.subscribers]) {
      this.remove(s);
      s.sink.end();
    }
  }

  private arm(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), TOP_UP_MS);
    this.timer.unref();
  }

  private tick(): void {
    this.recheckKeys();
    const now = performance.now();
    const beat = now - this.lastBeatMs >= this.limits.heartbeatMs;
    if (beat) this.lastBeatMs = now;
    for (const s of this.subscribers) {
      if (s.cursor < this.nextId) this.pump(s);
      else if (beat && !s.closed) s.sink.write(': heartbeat\n\n');
    }
  }

  // The admission table changed: every stream's key is put to it again, and
  // a stream whose key it refuses now (revoked) ends with a final error.
  private recheckKeys(): void {
    if (this.admission === null) return;
    const generation = this.admission.generation();
    if (generation === this.admissionSeen) return;
    this.admissionSeen = generation;
    for (const s of [...this.subscribers]) {
      if (s.header === null) continue;
      const answer = this.admission.check(s.header);
      if (answer.status === 200) continue;
      this.log({ event: 'events_subscriber_refused', status: answer.status, reason: answer.message });
      s.sink.write(`event: error\ndata: ${JSON.stringify({ error: { code: 'key_refused', message: `the stream's key is refused now: ${answer.message}` } })}\n\n`);
      this.remove(s);
      s.sink.end();
    }
  }

  // Writes what `s` still needs while its socket has room; drops it when the ring lapped it.
  private pump(s: Subscriber): void {
    try {
      this.pumpOne(s);
    } catch (e) {
      // A record the host can't render is a bug here, not in the machine: end this stream, say why.
      this.log({ event: 'events_render_failed', message: (e as Error).message });
      this.remove(s);
      s.sink.end();
    }
  }

  private pumpOne(s: Subscriber): void {
    if (s.closed) return;
    if (s.cursor < this.oldestId) { this.drop(s); return; }
    let i = this.chunkIndex(s.cursor);
    while (i < this.chunks.length && s.sink.buffered() < this.limits.subscriberBufferBytesMax) {
      const chunk = this.chunks[i];
      let text = '';
      const end = chunk.first + chunk.count;
      for (let id = Math.max(s.cursor, chunk.first); id < end && text.length < this.limits.subscriberBufferBytesMax; id++) {
        if (s.wants(chunk, id - chunk.first)) text += this.text(chunk, id - chunk.first);
        s.cursor = id + 1;
      }
      if (text.length > 0) { s.sink.write(text); s.lastWriteMs = performance.now(); }
      if (s.cursor >= end) i++;
    }
    // Stopped at the buffer limit with more to send: go on as soon as the socket drains.
    if (s.cursor < this.nextId && !s.waitingDrain && s.sink.onDrain !== undefined) {
      s.waitingDrain = true;
      s.sink.onDrain(() => { s.waitingDrain = false; this.pump(s); });
    }
  }

  private text(chunk: Chunk, index: number): string {
    if (this.subscribers.size < 2) return render(chunk, index, this.ledgers, this.instruments);
    chunk.texts ??= new Array<string | undefined>(chunk.count);
    return (chunk.texts[index] ??= render(chunk, index, this.ledgers, this.instruments));
  }

  private drop(s: Subscriber): void {
    this.dropped++;
    this.log({ event: 'events_subscriber_dropped', cursor: s.cursor, oldest: this.oldestId });
    s.sink.write(`event: error\ndata: ${JSON.stringify({ error: {
      code: 'subscriber_too_slow', message: `events from ${s.cursor} were dropped from the ring before this stream read them; resume with ?after=<last id> while it is held`,
    } })}\n\n`);
    this.remove(s);
    s.sink.end();
  }

  /** Index in `chunks` of the chunk holding id (chunks.length when id is not held yet). */
  private chunkIndex(id: number): number {
    let lo = this.head;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.chunks[mid];
      if (c.first + c.count <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** One SSE event: id, event type and JSON data on one line. */
function render(chunk: Chunk, index: number, ledgers: LedgerCurrencies, instruments: TradingInstruments): string {
  const id = chunk.first + index;
  const at = index * chunk.itemBytes;
  const data = chunk.type === abi.EVT_TRANSFER ? transferJsonText(chunk.items, at)
    : JSON.stringify(eventData(chunk.type, chunk.items.subarray(at, at + chunk.itemBytes), chunk.timeNs, ledgers, instruments));
  return `id: ${id}\nevent: ${TYPE_NAMES[chunk.type]}\ndata: ${data}\n\n`;
}

// Rendering is what a subscriber costs the host, so transfers take a fast
// path: the same text as JSON.stringify(transferToJson(readTransfer(…)))
// (a unit test compares them), with numbers below 2^53 formatted without BigInt.
const TWO_32 = 4294967296;
const flagsText = new Map<number, string>();

function u64Text(b: Buffer, at: number): string {
  const high = b.readUInt32LE(at + 4);
  if (high < 0x200000) return String(high * TWO_32 + b.readUInt32LE(at));
  return b.readBigUInt64LE(at).toString();
}

function u128Text(b: Buffer, at: number): string {
  if (b.readUInt32LE(at + 8) === 0 && b.readUInt32LE(at + 12) === 0) return u64Text(b, at);
  return ((b.readBigUInt64LE(at + 8) << 64n) | b.readBigUInt64LE(at)).toString();
}

function transferFlagsText(flags: number): string {
  let text = flagsText.get(flags);
  if (text === undefined) {
    text = JSON.stringify(flagsToNames(TransferFlags, flags));
    flagsText.set(flags, text);
  }
  return text;
}

/** The JSON text of the 128-byte transfer record at `at` (layout: host/client/ledger.ts readTransfer). */
export function transferJsonText(b: Buffer, at: number): string {
  return `{"id":"${u128Text(b, at)}","debit_account_id":"${u128Text(b, at + 16)}","credit_account_id":"${u128Text(b, at + 32)}",`
    + `"amount":"${u128Text(b, at + 48)}","pending_id":"${u128Text(b, at + 64)}","user_data_128":"${u128Text(b, at + 80)}",`
    + `"user_data_64":"${u64Text(b, at + 96)}","user_data_32":${b.readUInt32LE(at + 104)},"timeout":${b.readUInt32LE(at + 108)},`
    + `"ledger":${b.readUInt32LE(at + 112)},"code":${b.readUInt16LE(at + 116)},"flags":${transferFlagsText(b.readUInt16LE(at + 118))},`
    + `"timestamp":"${u64Text(b, at + 120)}"}`;
}

/**
 * The JSON of one event item (transfer: the stored record; payment: the
 * record as GET /v1/payments lists it, which is GET /v1/payments/{id} but its
 * `messages`, and its `href`, that route; alert: as GET
 * /v1/compliance/alerts lists it, with its `href`; checkpoint: its signed body).
 * `ledgers` give a payment its amount_decimal and currency.
 */
export function eventData(type: number, item: Buffer, timeNs: bigint, ledgers: LedgerCurrencies = new Map(), instruments: TradingInstruments = new Map()): unknown {
  if (type === abi.EVT_TRADING) return tradingEventJson(eventAt(item, 0), instruments);
  if (type === abi.EVT_TRANSFER) return transferToJson(readTransfer(new DataView(item.buffer, item.byteOffset, item.byteLength), 0));
  if (type === abi.EVT_PAYMENT) {
    const p = paymentRecordAt(item, 0);
    if (p === null) throw new Error('payment event: an empty payment record (id 0)');
    return { ...paymentJson(p, ledgers), href: `/v1/payments/${p.id}` };
  }
  if (type === abi.EVT_ALERT) {
    const a = alertAt(item, 0);
    return { ...alertJson(a, (ledger) => ledgers.get(ledger)?.assetScale), href: `/v1/compliance/alerts/${a.id}` };
  }
  return {
    tree_size: item.readBigUInt64LE(0).toString(), time_ns: item.readBigUInt64LE(8).toString(),
    root: item.subarray(16, 48).toString('hex'), entry: item.readBigUInt64LE(48).toString(), logged_ns: timeNs.toString(),
  };
}
