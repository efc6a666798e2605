// host/client/frames.ts: a small TCP client for QENEX's frame protocol
// (hal/abi.ts): length-prefixed frames addressed to a service by name, with
// request ids so many requests can be in flight on one connection.

import net from 'node:net';
import tls from 'node:tls';
import * as abi from '../../hal/abi.ts';

export interface Reply {
  requestId: number;
  status: number;
  payload: Buffer;
}

export class FrameError extends Error {
  override name = 'FrameError';
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** Encodes a request frame (length prefix included); `flags` are hal/frames.ts FRAME_F_* (FRAME_F_READ for a read). */
export function encodeRequest(requestId: number, service: string, payload: Uint8Array, flags = 0): Buffer {
  const name = Buffer.from(service, 'utf8');
  if (name.length === 0 || name.length > abi.SERVICE_NAME_BYTES_MAX) throw new Error(`service name must be 1..${abi.SERVICE_NAME_BYTES_MAX} bytes`);
  const bodyLen = abi.FRAME_REQUEST_HEADER_BYTES + name.length + payload.length;
  // Not zero-filled: every byte is written below (a full batch is 1 MiB, zeroed for nothing).
  const frame = Buffer.allocUnsafe(abi.FRAME_LEN_BYTES + bodyLen);
  frame.writeUInt32LE(bodyLen, 0);
  frame.writeUInt32LE(requestId >>> 0, 4);
  frame.writeUInt16LE(flags, 8);
  frame.writeUInt8(name.length, 10);
  frame.writeUInt8(0, 11);
  name.copy(frame, 12);
  frame.set(payload, 12 + name.length);
  return frame;
}

/** Encodes an auth frame (hal/abi.ts FRAME_F_AUTH): the API key later frames to the gateway are sent with. */
export function encodeAuth(requestId: number, key: string): Buffer {
  const k = Buffer.from(key, 'utf8');
  if (k.length === 0 || k.length > abi.FRAME_AUTH_KEY_BYTES_MAX) throw new Error(`an API key is 1..${abi.FRAME_AUTH_KEY_BYTES_MAX} bytes`);
  const frame = Buffer.alloc(abi.FRAME_LEN_BYTES + abi.FRAME_REQUEST_HEADER_BYTES + k.length);
  frame.writeUInt32LE(abi.FRAME_REQUEST_HEADER_BYTES + k.length, 0);
  frame.writeUInt32LE(requestId >>> 0, 4);
  frame.writeUInt16LE(abi.FRAME_F_AUTH, 8);
  k.copy(frame, 12);
  return frame;
}

export class FrameClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private buffered: Buffer = Buffer.alloc(0);
  private closedError: Error | null = null;
  /** Replies whose request id matched nothing (or came after a timeout). */
  readonly unmatched: Reply[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(host: string, port: number): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      socket.once('connect', () => { socket.off('error', reject); resolve(new FrameClient(socket)); });
      socket.once('error', reject);
    });
  }

  /** Over TLS (`qenex boot --tls-cert ...`); `options` carries the CA to trust and, for mutual TLS, the client's cert and key. */
  static connectTls(host: string, port: number, options: tls.ConnectionOptions): Promise<FrameClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host, port, ...options });
      socket.once('secureConnect', () => { socket.off('error', reject); socket.setNoDelay(true); resolve(new FrameClient(socket)); });
      socket.once('error', reject);
    });
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const bodyLen = this.buffered.readUInt32LE(0);
      if (this.buffered.length < 4 + bodyLen) return;
      const body = this.buffered.subarray(4, 4 + bodyLen);
      this.buffered = this.buffered.subarray(4 + bodyLen);
      const reply: Reply = { requestId: body.readUInt32LE(0), status: body.readUInt16LE(4), payload: Buffer.from(body.subarray(8)) };
      const w = this.waiting.get(reply.requestId);
      if (w === undefined) { this.unmatched.push(reply); continue; }
      this.waiting.delete(reply.requestId);
      w.resolve(reply);
    }
  }

  private fail(e: Error): void {
    this.closedError ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /** Sends one request with `flags` (hal/frames.ts FRAME_F_*, FRAME_F_READ for a read); resolves with the reply, whatever its status. */
  request(service: string, payload: Uint8Array, timeoutMs = 30_000, flags = 0): Promise<Reply> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`request ${id} to ${service}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.socket.write(encodeRequest(id, service, payload, flags));
    });
  }

  /**
   * Presents an API key for this connection: frames to the gateway service
   * after this one are authenticated with it (the server keeps only its
   * hash). Whether the key exists is decided per request by the gateway.
   */
  authenticate(key: string, timeoutMs = 30_000): Promise<void> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const frame = encodeAuth(id, key);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`auth frame ${id}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          if (r.status === abi.FRAME_OK) resolve();
          else reject(new FrameError(`auth: ${r.payload.toString('utf8')} (status ${r.status})`, r.status));
        },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.socket.write(frame);
    });
  }

  /** Like request, but an error status becomes a FrameError with the server's message. */
  async call(service: string, payload: Uint8Array, timeoutMs?: number, read = false): Promise<Buffer> {
    const r = await this.request(service, payload, timeoutMs, read ? abi.FRAME_F_READ : 0);
    if (r.status !== abi.FRAME_OK) throw new FrameError(`${service}: ${r.payload.toString('utf8')} (status ${r.status})`, r.status);
    return r.payload;
  }

  close(): void {
    this.socket.end();
  }
}

/** Counter service request: op 1 = add value, op 2 = read. */
export function counterRequest(op: 1 | 2, value = 0n): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(op, 0);
  b.writeBigUInt64LE(value, 8);
  return b;
}

export function counterReply(payload: Buffer): { total: bigint; adds: bigint; lastAddNs: bigint } {
  if (payload.length !== 24) throw new Error(`counter reply must be 24 bytes, got ${payload.length}`);
  return { total: payload.readBigUInt64LE(0), adds: payload.readBigUInt64LE(8), lastAddNs: payload.readBigUInt64LE(16) };
}
