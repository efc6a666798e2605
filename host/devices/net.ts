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
// A binary connection's bytes go to a FrameSession (host/gateway/frame-session.ts),
// which cuts them into frames and does the binary protocol's part of the
// gateway (auth frames, admission, the gateway header the host writes).
// The same port speaks HTTP/1.1: a connection whose first bytes are not a
// frame's is handed to an HttpSession (host/gateway/http.ts), which turns each
// request into a frame body for the gateway service and each reply back into
// a response. The kernel sees the same frames either way, so logging,
// durability and replay don't know or care which protocol a client used.
//
// The front door's own limits (host/base/limits.ts NET_*), so no client can take
// the listener from the others:
//   - a connection table of NET_CONNECTIONS_MAX, at most
//     NET_CONNECTIONS_PER_SOURCE_MAX per client address, and the last
//     NET_CONNECTIONS_RESERVE slots only for addresses that hold none;
//   - every connection has a deadline: its first bytes and each request
//     within NET_REQUEST_TIMEOUT_MS, and an idle timeout per kind (HTTP
//     keep-alive, binary); event streams are never idle (heartbeats);
//   - a connection the host ends is destroyed NET_CLOSE_GRACE_MS later, so a
//     peer that never closes its side does not keep the slot;
//   - a client that does not read its answers stops being read once
//     NET_UNSENT_BYTES_MAX wait, and is closed if that lasts
//     NET_WRITE_STALL_MS;
//   - a binary request id may be in flight once per connection.
//
// inject() submits one frame from inside the host (no socket): the operator
// console (`qenex keys ... --data`) uses it to put key management commands
// into the log of a machine it booted itself.

import net from 'node:net';
import tls from 'node:tls';
import type { TlsListen } from './tls.ts';
import * as abi from '../../hal/abi.ts';
import * as limits from '../base/limits.ts';
import type { Kernel } from '../base/kernel.ts';
import type { HostRing, Desc } from '../base/ring.ts';
import { ByteQueue } from '../base/bytes.ts';
import { HttpSession } from '../gateway/http.ts';
import { looksLikeHttp, SNIFF_BYTES } from '../gateway/http-head.ts';
import type { GatewayConfig } from '../gateway/http-config.ts';
import { sourceBytes } from '../gateway/gateway-wire.ts';
import { hostReply } from '../gateway/binary.ts';
import { FrameSession } from '../gateway/frame-session.ts';

// Timeouts; the environment may shorten them (tests of slow clients), never
// lengthen them past the limits.
function timeoutMs(name: string, limit: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 && v < limit ? v : limit;
}
const REQUEST_TIMEOUT_MS = timeoutMs('QENEX_NET_REQUEST_TIMEOUT_MS', limits.NET_REQUEST_TIMEOUT_MS);
const HTTP_IDLE_MS = timeoutMs('QENEX_NET_HTTP_IDLE_MS', limits.NET_HTTP_IDLE_MS);
const FRAMES_IDLE_MS = timeoutMs('QENEX_NET_FRAMES_IDLE_MS', limits.NET_FRAMES_IDLE_MS);
const WRITE_STALL_MS = timeoutMs('QENEX_NET_WRITE_STALL_MS', limits.NET_WRITE_STALL_MS);
// How often slow requests are looked for: a tenth of the timeout, at least 50 ms.
const TIMEOUT_CHECK_MS = Math.max(50, Math.floor(REQUEST_TIMEOUT_MS / 10));

interface Connection {
  id: number;
  socket: net.Socket;
  /** The client's address as the OS gave it ('' when unknown): the key of the per-source count. */
  address: string;
  /** Received bytes before the protocol is known (linear to keep however they trickle in: host/base/bytes.ts). */
  held: ByteQueue;
  queuedFrames: number;
  paused: boolean;
  closed: boolean;
  protocol: 'unknown' | 'frames' | 'http';
  http: HttpSession | null;
  /** The binary protocol's session, once the first bytes said frames. */
  frames: FrameSession | null;
  /** inject(): the reply goes here instead of a socket. */
  virtual: ((status: number, payload: Buffer) => void) | null;
  /** When the bytes of an incomplete frame (or protocol sniff) began to arrive (performance.now()), or null. */
  partialSince: number | null;
  /** When its unsent bytes went over NET_UNSENT_BYTES_MAX (performance.now()), or null. */
  stalledSince: number | null;
  /** The grace timer after the host ended the connection. */
  graceTimer: NodeJS.Timeout | null;
}

const EMPTY = new Uint8Array(0);

/** A request frame's body into `out` (its exact size): the request header, the service name (written in place), `header`, `payload`. */
function writeFrameBody(out: Buffer, requestId: number, service: string, nameBytes: number, header: Uint8Array, payload: Uint8Array): void {
  const at = abi.FRAME_REQUEST_HEADER_BYTES + nameBytes;
  out.writeUInt32LE(requestId >>> 0, 0);
  out.writeUInt16LE(0, 4);
  out.writeUInt8(nameBytes, 6);
  out.writeUInt8(0, 7);
  out.write(service, abi.FRAME_REQUEST_HEADER_BYTES, 'utf8');
  out.set(header, at);
  out.set(payload, at + header.length);
}

interface Frame {
  conn: Connection;
  body: Buffer;
}

/** What the front door refused or closed, by reason (GET /metrics, the hostile tests). */
export interface NetRefusals {
  table_full: number;
  per_source: number;
  reserve: number;
  idle: number;
  first_bytes: number;
  write_stall: number;
  request_id_in_use: number;
}

export class NetDevice {
  private readonly sq: HostRing;
  private readonly cq: HostRing;
  private server: net.Server | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private readonly connections = new Map<number, Connection>();
  private readonly perSource = new Map<string, number>();
  private nextId = 1;
  private readonly freeBuffers: Desc[] = [];
  private readonly pending: Frame[] = [];
  private pendingBytes = 0;
  private readonly held: Desc[] = []; // completions waiting for CQ room
  private rxCapacity = 0;
  framesIn = 0;
  framesOut = 0;
  refused = 0;
  readonly closedBy: NetRefusals = { table_full: 0, per_source: 0, reserve: 0, idle: 0, first_bytes: 0, write_stall: 0, request_id_in_use: 0 };

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

  /** Why a new connection from `address` can't have a slot, or null when it can. */
  private admitConnection(address: string): keyof NetRefusals | null {
    const total = this.connections.size;
    const mine = this.perSource.get(address) ?? 0;
    if (total >= limits.NET_CONNECTIONS_MAX) return 'table_full';
    if (mine >= limits.NET_CONNECTIONS_PER_SOURCE_MAX) return 'per_source';
    if (mine > 0 && total >= limits.NET_CONNECTIONS_MAX - limits.NET_CONNECTIONS_RESERVE) return 'reserve';
    return null;
  }

  /**
   * Takes one connection: its listener's, or any socket-shaped stream (the
   * simulator attaches its simulated sockets here).
   */
  attach(socket: net.Socket): void {
    const address = socket.remoteAddress ?? '';
    const refusal = this.admitConnection(address);
    if (refusal !== null) {
      // No slot: closed at once, before a byte is read (nothing to answer yet).
      this.closedBy[refusal]++;
      this.refused++;
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const conn: Connection = {
      id: this.nextId++, socket, address, held: new ByteQueue(), queuedFrames: 0, paused: false, closed: false, protocol: 'unknown', http: null,
      frames: null, virtual: null, partialSince: null, stalledSince: null, graceTimer: null,
    };
    this.connections.set(conn.id, conn);
    this.perSource.set(address, (this.perSource.get(address) ?? 0) + 1);
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('error', () => { /* reported by 'close' */ });
    // Until its first bytes: the request timeout; then the idle timeout of its kind.
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => this.inactive(conn));
    socket.on('close', () => this.closed(conn));
  }

  /** No bytes either way for a while: close the connection if it owes or is owed nothing. */
  private inactive(conn: Connection): void {
    if (conn.closed) return;
    if (conn.protocol === 'unknown') {
      if (conn.held.length > 0) return; // a partial sniff: checkTimeouts answers it
      this.closedBy.first_bytes++;
      this.end(conn);
      return;
    }
    const idle = conn.http !== null ? conn.http.idle() : (conn.frames?.idle() ?? true) && conn.queuedFrames === 0;
    if (!idle) return;
    this.closedBy.idle++;
    if (conn.http !== null) conn.http.closed();
    this.end(conn);
  }

  /**
   * Ends a connection after what was written (with `last` written first), and
   * destroys it NET_CLOSE_GRACE_MS later if the peer has not closed its side.
   */
  private end(conn: Connection, last?: Uint8Array): void {
    conn.closed = true;
    if (last !== undefined) conn.socket.end(last); else conn.socket.end();
    if (conn.graceTimer === null && this.connections.has(conn.id)) {
      conn.graceTimer = setTimeout(() => conn.socket.destroy(), limits.NET_CLOSE_GRACE_MS);
      conn.graceTimer.unref();
    }
  }

  /**
   * Slow requests get 408 (a frame error) and are closed; a connection whose
   * client stopped reading its answers is closed. Each connection is checked
   * on its own, so none blocks another.
   */
  private checkTimeouts(): void {
    const now = performance.now();
    for (const conn of this.connections.values()) {
      if (conn.closed || conn.virtual !== null) continue; // inject()'s: no socket, answered by the kernel, never idle
      if (this.stalled(conn, now)) continue;
      // A binary client that started a frame (or the protocol sniff) must finish it in time too.
      if (conn.http === null && conn.partialSince !== null && !conn.paused && now - conn.partialSince > REQUEST_TIMEOUT_MS) {
        this.log({ event: 'frame_timeout', connection: conn.id, ms: Math.round(now - conn.partialSince) });
        this.refuse(conn, 0, abi.FRAME_E_MALFORMED, `a frame did not arrive within ${REQUEST_TIMEOUT_MS} ms of its first byte`);
        continue;
      }
      const since = conn.http?.partialSinceMs() ?? null;
      if (since !== null && now - since > REQUEST_TIMEOUT_MS) {
        this.log({ event: 'http_timeout', connection: conn.id, ms: Math.round(now - since) });
        conn.http!.timeout(REQUEST_TIMEOUT_MS);
      }
    }
  }

  /** The client has not read its answers for WRITE_STALL_MS: destroyed (true). */
  private stalled(conn: Connection, now: number): boolean {
    if ((conn.socket.writableLength ?? 0) <= limits.NET_UNSENT_BYTES_MAX) {
      conn.stalledSince = null;
      return false;
    }
    conn.stalledSince ??= now;
    if (now - conn.stalledSince <= WRITE_STALL_MS) return false;
    this.closedBy.write_stall++;
    this.log({ event: 'net_write_stalled', connection: conn.id, unsent_bytes: conn.socket.writableLength });
    conn.closed = true;
    conn.socket.destroy();
    return true;
  }

  private receive(conn: Connection, chunk: Buffer): void {
    if (conn.closed) return;
    if (conn.protocol === 'http') {
      conn.http!.receive(chunk);
      return;
    }
    if (conn.protocol === 'unknown') {
      conn.held.append(chunk);
      if (!this.sniff(conn)) { conn.partialSince ??= performance.now(); return; }
      if (conn.http !== null) return; // the session took the bytes
    } else {
      conn.frames!.receive(chunk);
    }
    if (conn.frames!.heldBytes() === 0) conn.partialSince = null;
    else conn.partialSince ??= performance.now();
    this.deliver();
    this.applyBackpressure(conn);
  }

  // Decides the connection's protocol from its first bytes; false = wait for more.
  private sniff(conn: Connection): boolean {
    if (conn.held.length < SNIFF_BYTES) return false;
    const http = looksLikeHttp(conn.held.bytes());
    if (!http) {
      conn.protocol = 'frames';
      conn.socket.setTimeout(FRAMES_IDLE_MS);
      conn.frames = new FrameSession({
        submit: (body) => this.queue(conn, body),
        write: (frame, refusal) => {
          if (refusal) this.refused++;
          if (!conn.closed) conn.socket.write(frame);
          this.framesOut++;
        },
        fail: (frame, reason) => {
          this.refused++;
          this.end(conn, frame);
          this.log({ event: 'net_refused', connection: conn.id, reason });
        },
        requestIdInUse: () => { this.closedBy.request_id_in_use++; },
      }, {
        admit: this.gateway.admit,
        limit: () => (this.rxCapacity > 0 ? this.rxCapacity : abi.FRAME_BODY_BYTES_MAX),
        source: () => sourceBytes(conn.socket.remoteAddress),
      });
      const bytes = conn.held.bytes();
      conn.held.clear();
      conn.frames.receive(bytes);
      return true;
    }
    conn.protocol = 'http';
    conn.socket.setTimeout(HTTP_IDLE_MS);
    conn.http = new HttpSession({
      submit: (requestId, service, header, payload) => this.submitHttp(conn, requestId, service, header, payload),
      write: (bytes) => { if (!conn.closed) conn.socket.write(bytes); },
      end: () => this.end(conn),
      pause: () => conn.socket.pause(),
      resume: () => conn.socket.resume(),
      buffered: () => conn.socket.writableLength ?? 0,
      onDrain: (cb) => conn.socket.once('drain', cb),
    }, this.gateway, { address: sourceBytes(conn.socket.remoteAddress), label: String(conn.id) });
    const bytes = conn.held.bytes();
    conn.held.clear();
    conn.partialSince = null;
    conn.http.receive(bytes);
    return true;
  }

  // An HTTP request turned into a frame body (header and body copied once,
  // into it), queued like any other frame. When nothing waits and the kernel
  // has a buffer free, the frame is written straight into that buffer: what
  // queue() then deliver() would do, without a buffer of its own and a
  // second copy.
  private submitHttp(conn: Connection, requestId: number, service: string, header: Uint8Array, payload: Uint8Array): void {
    const nameBytes = Buffer.byteLength(service, 'utf8');
    const length = abi.FRAME_REQUEST_HEADER_BYTES + nameBytes + header.length + payload.length;
    if (this.pending.length === 0 && this.held.length === 0 && this.freeBuffers.length > 0 && this.cq.free() > 0) {
      this.framesIn++;
      if (conn.closed) return; // as deliver() drops a closed connection's frames
      this.postRx(conn, length, (into) => writeFrameBody(into, requestId, service, nameBytes, header, payload));
      this.resumePaused();
      this.wake();
      return;
    }
    const body = Buffer.allocUnsafe(length);
    writeFrameBody(body, requestId, service, nameBytes, header, payload);
    this.queue(conn, body);
    this.deliver();
  }

  private queue(conn: Connection, body: Buffer): void {
    this.pending.push({ conn, body });
    this.pendingBytes += body.length;
    conn.queuedFrames++;
    this.framesIn++;
  }

  /** An error frame from the host itself (framing limits), then close. */
  private refuse(conn: Connection, requestId: number, status: number, message: string): void {
    this.refused++;
    conn.held.clear();
    this.end(conn, hostReply(requestId, status, message));
    this.log({ event: 'net_refused', connection: conn.id, reason: message });
  }

  // A binary connection is paused while it has its fill of frames waiting,
  // while all connections' waiting bytes are at their bound, or while its
  // client is not reading the answers.
  private applyBackpressure(conn: Connection): void {
    if (conn.virtual !== null) return; // inject()'s: no socket to pause
    const tooMany = conn.queuedFrames >= limits.NET_PENDING_FRAMES_PER_CONNECTION_MAX || this.pendingBytes >= limits.NET_PENDING_BYTES_MAX
      || (conn.socket.writableLength ?? 0) > limits.NET_UNSENT_BYTES_MAX;
    if (tooMany && !conn.paused && !conn.closed) {
      conn.paused = true;
      conn.socket.pause();
      // Not reading its answers: look again once they drained.
      if ((conn.socket.writableLength ?? 0) > limits.NET_UNSENT_BYTES_MAX) conn.socket.once('drain', () => this.resumePaused());
    }
  }

  private resumePaused(): void {
    if (this.pendingBytes >= limits.NET_PENDING_BYTES_MAX) return;
    for (const conn of this.connections.values()) {
      if (conn.paused && conn.virtual === null && conn.queuedFrames < limits.NET_PENDING_FRAMES_PER_CONNECTION_MAX
          && (conn.socket.writableLength ?? 0) <= limits.NET_UNSENT_BYTES_MAX) {
        conn.paused = false;
        // We held its bytes back: the time for the rest of a frame starts now.
        if (conn.partialSince !== null) conn.partialSince = performance.now();
        conn.socket.resume();
      }
    }
  }

  private closed(conn: Connection): void {
    conn.closed = true;
    if (conn.graceTimer !== null) clearTimeout(conn.graceTimer);
    conn.http?.closed();
    if (!this.connections.delete(conn.id)) return;
    const left = (this.perSource.get(conn.address) ?? 1) - 1;
    if (left > 0) this.perSource.set(conn.address, left); else this.perSource.delete(conn.address);
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
      this.postRx(frame.conn, frame.body.length, (into) => into.set(frame.body));
      posted = true;
    }
    if (posted) { this.resumePaused(); this.wake(); }
    return posted;
  }

  // A frame body of `length` bytes into a free kernel receive buffer (`fill`
  // writes it there) and its completion onto the CQ; the caller checked that
  // a buffer and a CQ slot are free.
  private postRx(conn: Connection, length: number, fill: (into: Buffer) => void): void {
    const buf = this.freeBuffers.shift()!;
    const into = this.kernel.mem.slice(buf.addr, length);
    fill(Buffer.from(into.buffer, into.byteOffset, length));
    this.cq.push({ op: abi.OP_NET_RX, flags: 0, status: 0, tag: buf.tag, len: length, addr: buf.addr, cap: buf.cap, arg: conn.id });
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
        const conn = this.connections.get(d.arg);
        if (conn !== undefined) this.end(conn);
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
        id: this.nextId++, socket: null as unknown as net.Socket, address: '', held: new ByteQueue(), queuedFrames: 0, paused: false,
        closed: false, protocol: 'frames', http: null, frames: null, virtual: null, partialSince: null,
        stalledSince: null, graceTimer: null,
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
      // A reply frame for an HTTP request: the session renders the response
      // from it before reply() returns and keeps nothing of it, so it reads
      // the frame where the kernel wrote it (a view, not a copy).
      const frame = this.kernel.mem.slice(d.addr, d.len).subarray(abi.FRAME_LEN_BYTES);
      const body = Buffer.from(frame.buffer, frame.byteOffset, frame.length);
      conn.http.reply(body.readUInt32LE(0), body.readUInt16LE(4), body.subarray(abi.FRAME_REPLY_HEADER_BYTES));
      this.framesOut++;
    } else if (conn !== undefined && !conn.closed) {
      const frame = Buffer.from(this.kernel.mem.slice(d.addr, d.len));
      conn.socket.write(conn.frames !== null ? conn.frames.answered(frame) : frame);
      this.framesOut++;
      this.applyBackpressure(conn);
    }
    if ((d.flags & abi.DESC_F_NO_COMPLETION) === 0) {
      this.cq.push({ ...d, op: abi.OP_NET_TX_DONE });
    }
  }

  connectionCount(): number {
    return this.connections.size;
  }

  /** What the device holds right now, for the simulator's liveness check: all zero (but the connections kept open) at rest. */
  holding(): { connections: number; pendingFrames: number; heldCompletions: number; requestsInFlight: number } {
    let requestsInFlight = 0;
    for (const c of this.connections.values()) requestsInFlight += c.frames?.requestsInFlight() ?? 0;
    return { connections: this.connections.size, pendingFrames: this.pending.length, heldCompletions: this.held.length, requestsInFlight };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (this.timeoutTimer !== null) clearInterval(this.timeoutTimer);
    for (const conn of this.connections.values()) conn.socket?.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
