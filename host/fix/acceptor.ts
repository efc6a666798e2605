// host/fix/acceptor.ts: the FIX 4.4 acceptor's network side (docs/fix.md
// "The acceptor"). The session itself (sequence numbers, logon and logout,
// heartbeats, resend, orders) is the replayed `fix` service's; this front end
// keeps nothing of a session but its connection:
//
//   in   each connection's bytes go through a FixFramer (garbled bytes are
//        counted and logged, nothing else); each message becomes an INPUT
//        record (./inputs.ts); records from all connections are batched, in
//        the order they were read, into requests on gateway route ROUTE_FIX,
//        a few in flight at a time;
//   out  the service's EVT_FIX items (handleOutItems) are rendered
//        (./outputs.ts) and written to the connection they name, if it is
//        still ours and belongs to that session slot; OUT_DISCONNECT closes it.
//
// Nothing reaches the log before a connection's first message proves itself
// a Logon of a configured session (CompIDs), from an allowed source, over a
// verified client certificate when mutual TLS is configured, with an API key
// admission accepts when keys are required, and while that session has no
// other live connection. Anything else is closed with a JSON line saying why.
// Messages read after the Logon are held (bounded) until the service's Logon
// answer maps the connection to its slot. A connection that had its Logon
// logged ends with an IN_DISCONNECT input, so the service logs the session out.
//
// Connection numbers are random nonzero u32s, unique among live connections:
// numbers from before a restart, still in the replayed state, never name a
// new connection.

import net from 'node:net';
import tls from 'node:tls';
import * as crypto from 'node:crypto';
import * as P from '../../services/fix/protocol.ts';
import * as gw from '../../services/gateway/protocol.ts';
import * as abi from '../../hal/abi.ts';
import * as limits from '../base/limits.ts';
import { FixFramer, parseFields } from './codec.ts';
import { disconnectInput, inputRequest, instrumentsBySymbol, messageInput, type InputContext, type InstrumentsBySymbol, type LogonOptions } from './inputs.ts';
import { readOutItem, renderOutItem, type InstrumentsById } from './outputs.ts';
import { logonOptionFlags, sourceAllowed, type FixConfig, type FixSessionConfig } from './config.ts';
import { loadTls, TlsConfigError, type TlsListen } from '../devices/tls.ts';
import { parseGatewayReply, sourceBytes, writeGatewayHeader } from '../gateway/gateway-wire.ts';
import type { AdmissionAnswer } from '../base/kernel.ts';

/** Submits one gateway frame payload and resolves with the kernel's reply (NetDevice.inject to the gateway service). */
export type FixSubmit = (payload: Buffer) => Promise<{ status: number; payload: Buffer }>;

export interface FixAcceptorDeps {
  readonly config: FixConfig;
  readonly instruments: InstrumentsById;
  readonly submit: FixSubmit;
  /** Admission's decision on a gateway request header (Kernel.admission): keys=true Logons are checked before they are logged. */
  readonly admit: (header: Buffer, mode: number) => AdmissionAnswer;
  readonly log: (line: object) => void;
}

// The acceptor's own bounds, after the front door's (host/base/limits.ts NET_*).
const REQUESTS_IN_FLIGHT = 4; // requests submitted and not yet answered: enough to keep the log busy, few enough to keep order cheap
const CONNECTIONS_LIMIT = limits.NET_CONNECTIONS_PER_SOURCE_MAX; // sessions are few (SESSIONS_MAX); a Logon that never comes costs a slot for LOGON_DEADLINE_MS only
const LOGON_DEADLINE_MS = limits.NET_REQUEST_TIMEOUT_MS; // the first message (a Logon) must arrive within this
const HELD_MESSAGES_LIMIT = 256; // messages read between the Logon and its answer; a peer that sends more is closed
const GARBLED_LINES_LIMIT = 16; // log lines about garbled bytes per connection: a peer sending junk cannot flood the host's output
const QUEUED_INPUTS_LIMIT = 4 * P.INPUTS_PER_REQUEST; // inputs waiting for a request: over this, connections stop being read

interface Conn {
  readonly id: number;
  readonly socket: net.Socket;
  readonly framer: FixFramer;
  session: FixSessionConfig | null;
  /** The service's slot, from its Logon answer (0 until then). */
  slot: number;
  /** The Logon went to the log: the end of the connection must too. */
  logged: boolean;
  /** Messages read after the Logon, before its answer. */
  held: { bytes: Uint8Array; beginString: string }[];
  /** keys=true: the Password's SHA-256 and its key id. */
  keyHash: Buffer | null;
  keyId: number;
  closed: boolean;
  deadline: NodeJS.Timeout | null;
  garbled: number;
}

interface Queued {
  readonly conn: Conn;
  readonly input: Buffer;
  /** AUTH_CONSOLE, or the session's key (AUTH_BEARER). */
  readonly keyHash: Buffer | null;
}

const sessionKey = (ours: string, theirs: string): string => `${ours}\x01${theirs}`;

export class FixAcceptor {
  private server: net.Server | null = null;
  private readonly conns = new Map<number, Conn>();
  /** Configured sessions by their CompIDs, and the connection each has now. */
  private readonly sessions = new Map<string, FixSessionConfig>();
  private readonly live = new Map<string, Conn>();
  /** A slot's CompIDs, as the service's Logon named them. */
  private readonly slots = new Map<number, { ours: string; theirs: string }>();
  private readonly queue: Queued[] = [];
  private inFlight = 0;
  private readonly bySymbol: InstrumentsBySymbol;
  readonly stats = { connections: 0, refused: 0, garbled: 0, messagesIn: 0, messagesOut: 0, requests: 0, requestsRefused: 0, dropped: 0 };

  constructor(private readonly deps: FixAcceptorDeps) {
    for (const s of deps.config.sessions) this.sessions.set(sessionKey(s.ours, s.theirs), s);
    this.bySymbol = instrumentsBySymbol(deps.instruments.values());
  }

  /** Listens on the configured address (TLS when tls_cert is set; mutual with tls_client_ca). */
  listen(): Promise<net.AddressInfo> {
    const o = this.deps.config.options;
    let server: net.Server;
    if (o.tlsCert !== undefined && o.tlsKey !== undefined) {
      const t = fixTls(o.tlsCert, o.tlsKey, o.tlsClientCa);
      const secure = tls.createServer({ ...t.options, handshakeTimeout: LOGON_DEADLINE_MS }, (s) => this.attach(s));
      secure.on('tlsClientError', (e, s) => this.refuseLine(s.remoteAddress, 0, `TLS: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      server = secure;
    } else {
      server = net.createServer({ noDelay: true }, (s) => this.attach(s));
    }
    this.server = server;
    const { host, port } = this.deps.config.listen;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server.address() as net.AddressInfo);
      });
    });
  }

  private refuseLine(source: string | undefined, connection: number, reason: string): void {
    this.stats.refused++;
    this.deps.log({ event: 'fix_refused', connection, source: source ?? null, reason });
  }

  private newId(): number {
    for (;;) {
      const id = crypto.randomInt(1, 0x1_0000_0000);
      if (!this.conns.has(id)) return id;
    }
  }

  /** A new connection: admitted (source, count, certificate) or closed at once. */
  attach(socket: net.Socket): void {
    socket.on('error', () => { /* reported by 'close' */ });
    const source = socket.remoteAddress;
    const why = this.conns.size >= CONNECTIONS_LIMIT ? 'too many connections'
      : !sourceAllowed(this.deps.config.sources, source) ? 'source not allowed'
        : this.deps.config.options.tlsClientCa !== undefined && !(socket as tls.TLSSocket).authorized ? 'client certificate not verified' : null;
    if (why !== null) {
      this.refuseLine(source, 0, why);
      socket.destroy();
      return;
    }
    const conn: Conn = {
      id: this.newId(), socket, framer: new FixFramer(), session: null, slot: 0, logged: false, held: [], keyHash: null, keyId: 0, closed: false,
      deadline: null, garbled: 0,
    };
    this.conns.set(conn.id, conn);
    this.stats.connections++;
    conn.deadline = setTimeout(() => { if (conn.session === null) this.refuse(conn, `no Logon within ${LOGON_DEADLINE_MS} ms`); }, LOGON_DEADLINE_MS);
    conn.deadline.unref();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('close', () => this.closed(conn));
  }

  /** Closes a connection nothing of which was logged, with a line saying why. */
  private refuse(conn: Conn, reason: string): void {
    this.refuseLine(conn.socket.remoteAddress, conn.id, reason);
    this.end(conn, true);
  }

  /** Ends a connection: after what was written (destroyed NET_CLOSE_GRACE_MS later), or at once. */
  private end(conn: Conn, now = false): void {
    if (conn.closed) return;
    conn.closed = true;
    if (now) { conn.socket.destroy(); return; }
    conn.socket.end();
    setTimeout(() => conn.socket.destroy(), limits.NET_CLOSE_GRACE_MS).unref();
  }

  private receive(conn: Conn, chunk: Buffer): void {
    if (conn.closed) return;
    const { messages, garbled } = conn.framer.push(chunk);
    for (const g of garbled) {
      this.stats.garbled++;
      if (++conn.garbled <= GARBLED_LINES_LIMIT) {
        const more = conn.garbled === GARBLED_LINES_LIMIT ? { more: 'further garbled stretches of this connection are counted, not logged' } : {};
        this.deps.log({ event: 'fix_garbled', connection: conn.id, reason: g.reason, bytes: g.length, detail: g.detail, ...more });
      }
    }
    for (const bytes of messages) {
      if (conn.closed) return;
      const beginString = beginStringOf(bytes);
      if (conn.session === null) this.first(conn, bytes, beginString);
      else if (conn.slot === 0) this.hold(conn, bytes, beginString);
      else this.take(conn, bytes, beginString);
    }
    this.pump();
  }

  private hold(conn: Conn, bytes: Uint8Array, beginString: string): void {
    if (conn.held.length >= HELD_MESSAGES_LIMIT) {
      this.deps.log({ event: 'fix_closed', connection: conn.id, reason: `more than ${HELD_MESSAGES_LIMIT} messages before the Logon was answered` });
      this.end(conn, true);
      return;
    }
    conn.held.push({ bytes, beginString });
  }

  /** The context of a connection's messages. */
  private context(conn: Conn, logon?: LogonOptions): InputContext {
    const s = conn.session!;
    return { connection: conn.id, slot: conn.slot, ours: s.ours, theirs: s.theirs, validate: this.deps.config.options.validate, instruments: this.bySymbol, logon };
  }

  /** A message of a logged-on connection into the queue. */
  private take(conn: Conn, bytes: Uint8Array, beginString: string): void {
    this.stats.messagesIn++;
    const { input } = messageInput(bytes, beginString, this.context(conn));
    this.enqueue({ conn, input, keyHash: conn.keyHash });
  }

  /** The first message: a Logon of a configured session, or the connection is closed and nothing logged. */
  private first(conn: Conn, bytes: Uint8Array, beginString: string): void {
    const fields = parseFields(bytes);
    const get = (tag: number): string | undefined => fields.find((f) => f.tag === tag)?.value;
    if (fields[2]?.value !== 'A') { this.refuse(conn, 'the first message is not a Logon'); return; }
    const theirs = get(49) ?? '';
    const ours = get(56) ?? '';
    const key = sessionKey(ours, theirs);
    const session = this.sessions.get(key);
    if (session === undefined) { this.refuse(conn, `no session ${ours}:${theirs} is configured`); return; }
    // Until the old connection's end is queued (its 'close'), a new one waits: the service then sees that end before the new Logon.
    if (this.live.has(key)) { this.refuse(conn, `session ${ours}:${theirs} already has a connection`); return; }
    const o = this.deps.config.options;
    let flags = logonOptionFlags(o);
    if (o.keys) {
      const password = get(554);
      if (get(553) === undefined || password === undefined) { this.refuse(conn, 'keys are required: the Logon has no Username (553) and Password (554)'); return; }
      const hash = crypto.createHash('sha256').update(password, 'latin1').digest();
      const answer = this.deps.admit(this.header(hash, conn), abi.ADM_MODE_PEEK);
      if (answer.status !== 200) { this.refuse(conn, `the Password is not a key that may trade (${answer.status}${answer.message === '' ? '' : `: ${answer.message}`})`); return; }
      conn.keyHash = hash;
      conn.keyId = answer.keyId;
      flags |= P.LO_KEY;
    }
    if (conn.deadline !== null) clearTimeout(conn.deadline);
    conn.session = session;
    conn.logged = true;
    this.live.set(key, conn);
    this.stats.messagesIn++;
    const logon: LogonOptions = { flags, maxLatencyS: o.maxLatencyS, heartbeatMinS: o.heartbeatMinS, heartbeatMaxS: o.heartbeatMaxS, keyId: conn.keyId };
    this.deps.log({ event: 'fix_logon', connection: conn.id, session: `${ours}:${theirs}`, source: conn.socket.remoteAddress ?? null, key_id: conn.keyId });
    this.enqueue({ conn, input: messageInput(bytes, beginString, this.context(conn, logon)).input, keyHash: conn.keyHash });
  }

  /** A gateway request header on ROUTE_FIX: the console's, or the key's. */
  private header(keyHash: Buffer | null, conn: Conn | null): Buffer {
    const h = Buffer.alloc(gw.GW_REQUEST_HEADER_BYTES);
    const source = keyHash === null || conn === null ? Buffer.alloc(gw.GW_SOURCE_BYTES) : sourceBytes(conn.socket.remoteAddress);
    writeGatewayHeader(h, 0, gw.ROUTE_FIX, keyHash === null ? gw.AUTH_CONSOLE : gw.AUTH_BEARER, keyHash, source);
    return h;
  }

  private enqueue(q: Queued): void {
    this.queue.push(q);
    if (this.queue.length >= QUEUED_INPUTS_LIMIT) for (const c of this.conns.values()) c.socket.pause();
  }

  private closed(conn: Conn): void {
    conn.closed = true;
    if (conn.deadline !== null) clearTimeout(conn.deadline);
    if (!this.conns.delete(conn.id)) return;
    if (conn.session !== null && this.live.get(sessionKey(conn.session.ours, conn.session.theirs)) === conn) {
      this.live.delete(sessionKey(conn.session.ours, conn.session.theirs));
    }
    if (!conn.logged) return;
    this.deps.log({ event: 'fix_disconnect', connection: conn.id, slot: conn.slot });
    // The host vouches for the end of a socket: the console's authority, also when the session's key was revoked since.
    this.enqueue({ conn, input: disconnectInput(conn.id, conn.slot), keyHash: null });
    this.pump();
  }

  /** Submits requests while fewer than REQUESTS_IN_FLIGHT are: the queue's head, as many inputs as share its authority. */
  private pump(): void {
    while (this.inFlight < REQUESTS_IN_FLIGHT && this.queue.length > 0) {
      const head = this.queue[0]!;
      let n = 1;
      while (n < this.queue.length && n < P.INPUTS_PER_REQUEST && sameKey(this.queue[n]!.keyHash, head.keyHash)) n++;
      const batch = this.queue.splice(0, n);
      const h = this.header(head.keyHash, head.conn);
      const payload = Buffer.concat([h, inputRequest(batch.map((q) => q.input))]);
      this.inFlight++;
      this.stats.requests++;
      this.deps.submit(payload).then((r) => this.answered(batch, r), (e: unknown) => this.answered(batch, { status: -1, payload: Buffer.from(String(e)) }))
        .finally(() => { this.inFlight--; this.pump(); });
    }
    if (this.queue.length < QUEUED_INPUTS_LIMIT / 2) for (const c of this.conns.values()) if (!c.closed && c.socket.isPaused()) c.socket.resume();
  }

  /** A request's answer: inputs it did not take (a refused frame, a revoked key) close their connections. */
  private answered(batch: readonly Queued[], reply: { status: number; payload: Buffer }): void {
    let taken = 0;
    let why = '';
    const g = reply.status === abi.FRAME_OK ? parseGatewayReply(reply.payload) : null;
    if (g === null) why = `frame status ${reply.status}: ${reply.payload.toString('latin1', 0, 200)}`;
    else if (g.status !== 200) why = `gateway ${g.status} (error ${g.error}): ${g.body.toString('latin1', 0, 200)}`;
    else if (g.body.length < P.REPLY_BYTES) why = 'the fix service answered without its reply';
    else if ((g.body.readUInt32LE(4) & P.REPLY_F_REFUSED) !== 0) why = `the fix service refused the request: ${g.body.toString('latin1', P.REPLY_BYTES, P.REPLY_BYTES + 200)}`;
    else taken = Math.min(g.body.readUInt32LE(0), batch.length);
    if (taken === batch.length) return;
    this.stats.requestsRefused++;
    const closing = new Set<Conn>();
    for (const q of batch.slice(taken)) closing.add(q.conn);
    for (const conn of closing) {
      this.deps.log({ event: 'fix_request_refused', connection: conn.id, inputs: batch.length, taken, reason: why });
      this.end(conn, true);
    }
  }

  /**
   * The fix service's outbound items (EVT_FIX event items, OUT_BYTES each,
   * back to back): written to the connections they name, when those are
   * still ours and belong to the item's slot; the rest are dropped (the
   * service keeps them for a resend).
   */
  handleOutItems(items: Buffer): void {
    if (items.length % P.OUT_BYTES !== 0) {
      this.deps.log({ event: 'fix_out_malformed', bytes: items.length });
      return;
    }
    for (let at = 0; at < items.length; at += P.OUT_BYTES) this.out(items.subarray(at, at + P.OUT_BYTES));
  }

  private out(item: Buffer): void {
    const o = readOutItem(item);
    const conn = this.conns.get(o.connection);
    if (o.kind === P.OUT_DISCONNECT) {
      if (conn !== undefined && (conn.slot === o.slot || conn.slot === 0)) this.end(conn);
      return;
    }
    if (o.kind !== P.OUT_MESSAGE) return;
    if (o.msgType === 'A') this.slots.set(o.slot, { ours: o.id, theirs: o.id2 });
    if (conn === undefined || conn.closed || conn.session === null) { this.stats.dropped++; return; }
    if (o.msgType === 'A' && conn.slot === 0 && conn.session.ours === o.id && conn.session.theirs === o.id2) {
      conn.slot = o.slot;
      this.write(conn, item);
      const held = conn.held.splice(0);
      for (const m of held) this.take(conn, m.bytes, m.beginString);
      this.pump();
      return;
    }
    // Before its Logon answer a connection may still be told something (a Logout refusing the Logon): its number is unique.
    if (conn.slot !== 0 && conn.slot !== o.slot) { this.stats.dropped++; return; }
    this.write(conn, item);
  }

  private write(conn: Conn, item: Buffer): void {
    let bytes: Uint8Array;
    try {
      bytes = renderOutItem(item, this.slots.get(conn.slot) ?? conn.session!, this.deps.instruments);
    } catch (e) {
      this.deps.log({ event: 'fix_render_failed', connection: conn.id, slot: conn.slot, message: (e as Error).message });
      return;
    }
    if ((conn.socket.writableLength ?? 0) > limits.NET_UNSENT_BYTES_MAX) {
      this.deps.log({ event: 'fix_write_stalled', connection: conn.id, unsent_bytes: conn.socket.writableLength });
      this.end(conn, true);
      return;
    }
    conn.socket.write(bytes);
    this.stats.messagesOut++;
  }

  connectionCount(): number {
    return this.conns.size;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const c of this.conns.values()) c.socket.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The TLS files, read and checked; their errors name the FIX options, not the listener's flags. */
function fixTls(cert: string, key: string, clientCa: string | undefined): TlsListen {
  try {
    return loadTls({ cert, key, clientCa });
  } catch (e) {
    if (e instanceof TlsConfigError) throw new TlsConfigError(e.message.replace(/--tls-(cert|key|client-ca)/g, (_, n: string) => `FIX option tls_${n.replace('-', '_')}`));
    throw e;
  }
}

function sameKey(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

/** The BeginString of a framed message (its first field's value). */
function beginStringOf(bytes: Uint8Array): string {
  const soh = bytes.indexOf(1);
  return Buffer.from(bytes.buffer, bytes.byteOffset + 2, Math.max(0, soh - 2)).toString('latin1');
}
