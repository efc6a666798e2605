// host/devices/net.ts: the network device. A TCP listener whose connections
// carry length-prefixed frames (hal/abi.ts). The host only frames bytes: it
// finds frame boundaries, hands each frame body to a receive buffer the
// kernel posted, and writes out what the kernel queues for sending. Which
// service a frame is for, whether it is allowed, and what is answered is
// the kernel's business.
//
// A frame over the kernel's receive buffer size gets an error frame and the
// connection is closed (its remaining bytes can't be trusted to be framed).
// A client that disconnects abruptly loses only its own pending frames.
//
// The same port speaks HTTP/1.1: a connection whose first bytes are an HTTP
// method is handed to an HttpSession (host/gateway/http.ts), which turns each
// request into a frame body for the gateway service and each reply back into
// a response. The kernel sees the same frames either way, so logging,
// durability and replay don't know or care which protocol a client used.
//
// inject() submits one frame from inside the host (no socket): the operator
// console (`qenex keys ... --data`) uses it to put key management commands
// into the log of a machine it booted itself.

import net from 'node:net';
import tls from 'node:tls';
import type { TlsListen } from './tls.ts';
import * as abi from '../../hal/abi.ts';
import * as limits from '../limits.ts';
import type { Kernel } from '../kernel.ts';
import type { HostRing, Desc } from '../ring.ts';
import { HttpSession, looksLikeHttp, sourceBytes, SNIFF_BYTES, limits as httpLimits, type GatewayConfig } from '../gateway/http.ts';
import { admissionReplyFrame, authFrameKeyHash, binaryGatewayHeader, hostReply, isGatewayName, ledgerRoute, requestHead, unwrapReply, wrapLedgerFrame } from '../gateway/binary.ts';

// Request and idle timeouts of HTTP connections; the environment may shorten
// them (tests of slow clients), never lengthen them past the limits.
function timeoutMs(name: string, limit: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 && v < limit ? v : limit;
}
const REQUEST_TIMEOUT_MS = timeoutMs('QENEX_HTTP_REQUEST_TIMEOUT_MS', httpLimits.requestTimeoutMs);
const IDLE_TIMEOUT_MS = timeoutMs('QENEX_HTTP_IDLE_TIMEOUT_MS', httpLimits.idleTimeoutMs);
// How often slow requests are looked for: a tenth of the timeout, at least 50 ms.
const TIMEOUT_CHECK_MS = Math.max(50, Math.floor(REQUEST_TIMEOUT_MS / 10));

interface Connection {
  id: number;
  socket: net.Socket;
  chunks: Buffer[];
  buffered: number;
  queuedFrames: number;
  paused: boolean;
  closed: boolean;
  protocol: 'unknown' | 'frames' | 'http';
  http: HttpSession | null;
  /** inject(): the reply goes here instead of a socket. */
  virtual: ((status: number, payload: Buffer) => void) | null;
  /** Binary protocol: the SHA-256 of the key of the last FRAME_F_AUTH frame (never the key). */
  keyHash: Buffer | null;
  /** Binary protocol: request ids of frames wrapped for the gateway, awaiting their reply. */
  wrapped: Map<number, number>;
  /** When the bytes of an incomplete frame (or protocol sniff) began to arrive (performance.now()), or null. */
  partialSince: number | null;
  /** Binary protocol: the client's address as the gateway header carries it, made at the first wrapped frame. */
  source: Buffer | null;
}

// Bytes needed to tell an HTTP method from a binary frame ("OPTIONS " is 8).
const PROTOCOL_SNIFF_BYTES = SNIFF_BYTES;
const EMPTY = new Uint8Array(0);

interface Frame {
  conn: Connection;
  body: Buffer;
}

export class NetDevice {
  private readonly sq: HostRing;
  private readonly cq: HostRing;
  private server: net.Server | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private readonly connections = new Map<number, Connection>();
  private nextId = 1;
  private readonly freeBuffers: Desc[] = [];
  private readonly pending: Frame[] = [];
  private pendingBytes = 0;
  private readonly held: Desc[] = []; // completions waiting for CQ room
  private rxCapacity = 0;
  framesIn = 0;
  framesOut = 0;
  refused = 0;

  constructor(private readonly kernel: Kernel, private readonly wake: () => void, private readonly log: (line: object) => void,
    private readonly gateway: GatewayConfig) {
    this.sq = kernel.ring(abi.DEV_NET, 'sq');
    this.cq = kernel.ring(abi.DEV_NET, 'cq');
  }

  /** Listens on TCP, or with `tls` on TLS (mutual when it has a client CA): both protocols either way. */
  listen(host: string, port: number, tlsListen?: TlsListen): Promise<net.AddressInfo> {
    let server: net.Server;
    if (tlsListen === undefined) {
      server = net.createServer({ noDelay: true }, (socket) => this.attach(socket));
    } else {
      // A handshake is a request like any other: it must finish within the request timeout.
      const secure = tls.createServer({ ...tlsListen.options, handshakeTimeout: REQUEST_TIMEOUT_MS }, (socket) => {
        socket.setNoDelay(true);
        this.attach(socket);
      });
      secure.on('tlsClientError', (e, socket) => {
        this.refused++;
        this.log({ event: 'tls_refused', source: socket.remoteAddress ?? null, reason: (e as NodeJS.ErrnoException).code ?? e.message });
      });
      server = secure;
    }
    server.maxConnections = limits.NET_CONNECTIONS_MAX;
    this.server = server;
    this.timeoutTimer = setInterval(() => this.checkTimeouts(), TIMEOUT_CHECK_MS);
    this.timeoutTimer.unref();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server.address() as net.AddressInfo);
      });
    });
  }

  /**
   * Takes one connection: its listener's, or any socket-shaped stream (the
   * simulator attaches its simulated sockets here).
   */
  attach(socket: net.Socket): void {
    const conn: Connection = {
      id: this.nextId++, socket, chunks: [], buffered: 0, queuedFrames: 0, paused: false, closed: false, protocol: 'unknown', http: null,
      virtual: null, keyHash: null, wrapped: new Map(), partialSince: null, source: null,
    };
    this.connections.set(conn.id, conn);
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('error', () => { /* reported by 'close' */ });
    // An idle keep-alive HTTP connection is closed; one waiting for the kernel is not.
    socket.setTimeout(IDLE_TIMEOUT_MS, () => { if (conn.http?.idle()) socket.end(); });
    socket.on('close', () => this.closed(conn));
  }

  /** Slow requests get 408 and are closed; each connection is checked on its own, so none blocks another. */
  private checkTimeouts(): void {
    const now = performance.now();
    for (const conn of this.connections.values()) {
      // A binary client that started a frame (or the protocol sniff) must finish it in time too.
      if (conn.http === null && conn.partialSince !== null && !conn.closed && !conn.paused && now - conn.partialSince > REQUEST_TIMEOUT_MS) {
        this.log({ event: 'frame_timeout', connection: conn.id, ms: Math.round(now - conn.partialSince) });
        this.refuse(conn, 0, abi.FRAME_E_MALFORMED, `a frame did not arrive within ${REQUEST_TIMEOUT_MS} ms of its first byte`);
        continue;
      }
      const since = conn.http?.partialSinceMs() ?? null;
      if (since !== null && now - since > REQUEST_TIMEOUT_MS) {
        this.log({ event: 'http_timeout', connection: conn.id, ms: Math.round(now - since) });
        conn.http!.timeout();
      }
    }
  }

  private receive(conn: Connection, chunk: Buffer): void {
    if (conn.closed) return;
    if (conn.protocol === 'http') {
      conn.http!.receive(chunk);
      return;
    }
    conn.chunks.push(chunk);
    conn.buffered += chunk.length;
    if (conn.protocol === 'unknown') {
      if (!this.sniff(conn)) { conn.partialSince ??= performance.now(); return; }
      if (conn.http !== null) return; // the session took the bytes
    }
    this.extractFrames(conn);
    if (conn.buffered === 0) conn.partialSince = null;
    else if (conn.http === null) conn.partialSince ??= performance.now();
    this.deliver();
    this.applyBackpressure(conn);
  }

  // Decides the connection's protocol from its first bytes; false = wait for more.
  private sniff(conn: Connection): boolean {
    if (conn.buffered < PROTOCOL_SNIFF_BYTES) return false;
    const http = looksLikeHttp(this.peekBytes(conn, PROTOCOL_SNIFF_BYTES));
    if (!http) {
      conn.protocol = 'frames';
      return true;
    }
    conn.protocol = 'http';
    conn.http = new HttpSession({
      submit: (requestId, service, header, payload) => this.submitHttp(conn, requestId, service, header, payload),
      write: (bytes) => { if (!conn.closed) conn.socket.write(bytes); },
      end: () => { conn.closed = true; conn.socket.end(); },
      pause: () => conn.socket.pause(),
      resume: () => conn.socket.resume(),
      buffered: () => conn.socket.writableLength,
      onDrain: (cb) => conn.socket.once('drain', cb),
    }, this.gateway, { address: sourceBytes(conn.socket.remoteAddress), label: String(conn.id) });
    const bytes = Buffer.concat(conn.chunks);
    conn.chunks = [];
    conn.buffered = 0;
    conn.http.receive(bytes);
    return true;
  }

  // An HTTP request turned into a frame body (header and body copied once,
  // into it), queued like any other frame.
  private submitHttp(conn: Connection, requestId: number, service: string, header: Uint8Array, payload: Uint8Array): void {
    const name = Buffer.from(service, 'utf8');
    const at = abi.FRAME_REQUEST_HEADER_BYTES + name.length;
    const body = Buffer.allocUnsafe(at + header.length + payload.length);
    body.writeUInt32LE(requestId >>> 0, 0);
    body.writeUInt16LE(0, 4);
    body.writeUInt8(name.length, 6);
    body.writeUInt8(0, 7);
    name.copy(body, abi.FRAME_REQUEST_HEADER_BYTES);
    body.set(header, at);
    body.set(payload, at + header.length);
    this.pending.push({ conn, body });
    this.pendingBytes += body.length;
    conn.queuedFrames++;
    this.framesIn++;
    this.deliver();
  }

  private extractFrames(conn: Connection): void {
    while (conn.buffered >= abi.FRAME_LEN_BYTES && !conn.closed) {
      const head = this.peekBytes(conn, Math.min(conn.buffered, 8));
      const bodyLen = head.readUInt32LE(0);
      const limit = this.rxCapacity > 0 ? this.rxCapacity : abi.FRAME_BODY_BYTES_MAX;
      if (bodyLen > limit) {
        const requestId = head.length >= 8 ? head.readUInt32LE(4) : 0;
        this.refuse(conn, requestId, abi.FRAME_E_TOO_LARGE, `frame body of ${bodyLen} bytes exceeds the limit of ${limit}`);
        return;
      }
      if (conn.buffered < abi.FRAME_LEN_BYTES + bodyLen) return;
      const bytes = this.takeBytes(conn, abi.FRAME_LEN_BYTES + bodyLen);
      const body = this.throughGateway(conn, bytes.subarray(abi.FRAME_LEN_BYTES), limit);
      if (body === null) continue;
      this.pending.push({ conn, body });
      this.pendingBytes += body.length;
      conn.queuedFrames++;
      this.framesIn++;
    }
  }

  /**
   * The authenticated binary protocol (host/gateway/binary.ts): an auth frame
   * is answered here and goes no further (null); a frame to the gateway gets
   * the gateway request header the host alone may write. Every other frame
   * goes to the kernel as it came, and the kernel decides.
   */
  private throughGateway(conn: Connection, body: Buffer, limit: number): Buffer | null {
    const head = requestHead(body);
    if (head === null) return body; // the kernel refuses what is too short to have a header
    if ((head.flags & abi.FRAME_F_AUTH) !== 0) {
      const hash = authFrameKeyHash(head.flags, head.name, head.payload);
      if (typeof hash === 'string') {
        this.writeHostReply(conn, head.requestId, abi.FRAME_E_MALFORMED, hash);
      } else {
        conn.keyHash = hash;
        this.writeHostReply(conn, head.requestId, abi.FRAME_OK, '');
      }
      return null;
    }
    if (!isGatewayName(head.name) || head.flags !== 0) return body;
    conn.source ??= sourceBytes(conn.socket.remoteAddress);
    const route = ledgerRoute(head.payload);
    if (typeof route === 'string') {
      this.writeHostReply(conn, head.requestId, abi.FRAME_E_MALFORMED, route);
      return null;
    }
    // Admission first: a refused frame is answered here and never copied on.
    const answer = this.gateway.admit(binaryGatewayHeader(route, conn.keyHash, conn.source), abi.ADM_MODE_PEEK);
    if (answer.status !== 200) {
      this.refused++;
      if (!conn.closed) conn.socket.write(admissionReplyFrame(head.requestId, answer));
      this.framesOut++;
      return null;
    }
    const wrapped = wrapLedgerFrame(head.requestId, head.payload, conn.keyHash, conn.source);
    if (typeof wrapped === 'string') {
      this.writeHostReply(conn, head.requestId, abi.FRAME_E_MALFORMED, wrapped);
      return null;
    }
    if (wrapped.length > limit) {
      this.writeHostReply(conn, head.requestId, abi.FRAME_E_TOO_LARGE, `the request with its gateway header is ${wrapped.length} bytes; the limit is ${limit}`);
      return null;
    }
    conn.wrapped.set(head.requestId, (conn.wrapped.get(head.requestId) ?? 0) + 1);
    return wrapped;
  }

  private writeHostReply(conn: Connection, requestId: number, status: number, message: string): void {
    if (status !== abi.FRAME_OK) this.refused++;
    if (!conn.closed) conn.socket.write(hostReply(requestId, status, message));
    this.framesOut++;
  }

  private peekBytes(conn: Connection, n: number): Buffer {
    return conn.chunks[0].length >= n ? conn.chunks[0] : Buffer.concat(conn.chunks).subarray(0, n);
  }

  private takeBytes(conn: Connection, n: number): Buffer {
    const all = conn.chunks.length === 1 ? conn.chunks[0] : Buffer.concat(conn.chunks);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    conn.chunks = rest.length > 0 ? [rest] : [];
    conn.buffered = rest.length;
    return taken;
  }

  /** An error frame from the host itself (framing limits), then close. */
  private refuse(conn: Connection, requestId: number, status: number, message: string): void {
    this.refused++;
    conn.chunks = [];
    conn.buffered = 0;
    conn.socket.end(hostReply(requestId, status, message));
    conn.closed = true;
    this.log({ event: 'net_refused', connection: conn.id, reason: message });
  }

  private applyBackpressure(conn: Connection): void {
    const tooMany = conn.queuedFrames >= limits.NET_PENDING_FRAMES_PER_CONNECTION_MAX || this.pendingBytes >= limits.NET_PENDING_BYTES_MAX;
    if (tooMany && !conn.paused && !conn.closed) {
      conn.paused = true;
      conn.socket.pause();
    }
  }

  private resumePaused(): void {
    if (this.pendingBytes >= limits.NET_PENDING_BYTES_MAX) return;
    for (const conn of this.connections.values()) {
      if (conn.paused && conn.queuedFrames < limits.NET_PENDING_FRAMES_PER_CONNECTION_MAX) {
        conn.paused = false;
        // We held its bytes back: the time for the rest of a frame starts now.
        if (conn.partialSince !== null) conn.partialSince = performance.now();
        conn.socket.resume();
      }
    }
  }

  private closed(conn: Connection): void {
    conn.closed = true;
    conn.http?.closed();
    this.connections.delete(conn.id);
    this.hold({ op: abi.OP_NET_CLOSED, flags: 0, status: 0, tag: 0, len: 0, addr: 0, cap: 0, arg: conn.id });
    this.wake();
  }

  private hold(d: Desc): void {
    if (this.held.length >= limits.NET_COMPLETIONS_HELD_MAX) return; // close events only: safe to drop, and counted by nothing the kernel needs
    this.held.push(d);
  }

  /** Moves frames into free kernel buffers; true when a completion was posted. */
  private deliver(): boolean {
    let posted = false;
    while (this.held.length > 0 && this.cq.push(this.held[0])) { this.held.shift(); posted = true; }
    while (this.pending.length > 0 && this.freeBuffers.length > 0 && this.cq.free() > 0) {
      const frame = this.pending.shift()!;
      this.pendingBytes -= frame.body.length;
      frame.conn.queuedFrames--;
      if (frame.conn.closed) continue;
      const buf = this.freeBuffers.shift()!;
      this.kernel.mem.slice(buf.addr, frame.body.length).set(frame.body);
      this.cq.push({ op: abi.OP_NET_RX, flags: 0, status: 0, tag: buf.tag, len: frame.body.length, addr: buf.addr, cap: buf.cap, arg: frame.conn.id });
      posted = true;
    }
    if (posted) { this.resumePaused(); this.wake(); }
    return posted;
  }

  /** Consumes the SQ (buffers to fill, frames to send, closes). */
  service(): boolean {
    for (let d = this.sq.peek(); d !== null; d = this.sq.peek()) {
      if (d.op === abi.OP_NET_TX && (d.flags & abi.DESC_F_NO_COMPLETION) === 0 && this.cq.free() === 0) break;
      this.sq.pop();
      if (d.op === abi.OP_NET_RX_BUF) {
        this.rxCapacity = d.cap;
        this.freeBuffers.push(d);
      } else if (d.op === abi.OP_NET_TX) {
        this.send(d);
      } else if (d.op === abi.OP_NET_CLOSE) {
        this.connections.get(d.arg)?.socket?.end();
      }
    }
    return this.deliver();
  }

  /**
   * One frame from the host itself to `service`, answered like a client's
   * (after it is durable): resolves with the reply status and payload.
   */
  inject(service: string, payload: Uint8Array): Promise<{ status: number; payload: Buffer }> {
    return new Promise((resolve) => {
      const conn: Connection = {
        id: this.nextId++, socket: null as unknown as net.Socket, chunks: [], buffered: 0, queuedFrames: 0, paused: false,
        closed: false, protocol: 'frames', http: null, virtual: null, keyHash: null, wrapped: new Map(), partialSince: null, source: null,
      };
      conn.virtual = (status, reply) => {
        this.connections.delete(conn.id);
        conn.closed = true;
        resolve({ status, payload: reply });
      };
      this.connections.set(conn.id, conn);
      this.submitHttp(conn, 1, service, EMPTY, payload);
    });
  }

  private send(d: Desc): void {
    const conn = this.connections.get(d.arg);
    if (conn !== undefined && conn.virtual !== null) {
      const body = Buffer.from(this.kernel.mem.slice(d.addr + abi.FRAME_LEN_BYTES, d.len - abi.FRAME_LEN_BYTES));
      conn.virtual(body.readUInt16LE(4), body.subarray(abi.FRAME_REPLY_HEADER_BYTES));
      this.framesOut++;
    } else if (conn !== undefined && conn.http !== null) {
      // A reply frame for an HTTP request: the session renders the response.
      const frame = this.kernel.mem.slice(d.addr, d.len);
      const body = Buffer.from(frame.subarray(abi.FRAME_LEN_BYTES));
      conn.http.reply(body.readUInt32LE(0), body.readUInt16LE(4), body.subarray(abi.FRAME_REPLY_HEADER_BYTES));
      this.framesOut++;
    } else if (conn !== undefined && !conn.closed) {
      const frame = Buffer.from(this.kernel.mem.slice(d.addr, d.len));
      conn.socket.write(this.unwrapped(conn, frame));
      this.framesOut++;
    }
    if ((d.flags & abi.DESC_F_NO_COMPLETION) === 0) {
      this.cq.push({ ...d, op: abi.OP_NET_TX_DONE });
    }
  }

  /** A reply to a frame this device wrapped for the gateway, as the client's protocol has it. */
  private unwrapped(conn: Connection, frame: Buffer): Buffer {
    if (conn.wrapped.size === 0 || frame.length < abi.FRAME_LEN_BYTES + 4) return frame;
    const requestId = frame.readUInt32LE(abi.FRAME_LEN_BYTES);
    const n = conn.wrapped.get(requestId);
    if (n === undefined) return frame;
    if (n > 1) conn.wrapped.set(requestId, n - 1); else conn.wrapped.delete(requestId);
    return unwrapReply(frame);
  }

  connectionCount(): number {
    return this.connections.size;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (this.timeoutTimer !== null) clearInterval(this.timeoutTimer);
    for (const conn of this.connections.values()) conn.socket?.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
