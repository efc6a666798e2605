// host/gateway/frame-session.ts: one binary-protocol connection's bytes
// (hal/abi.ts "wire frames", "authenticated binary protocol"), as
// host/gateway/http.ts HttpSession is for HTTP: the net device
// (host/devices/net.ts) owns the socket and hands this the client's bytes;
// this cuts them into frames and decides what each becomes.
//   - A frame whose length prefix is over the limit ends the stream: once its
//     request id is in, the host answers FRAME_E_TOO_LARGE naming it and
//     reads nothing more (fail).
//   - An auth frame (FRAME_F_AUTH) is answered here and goes no further: the
//     connection keeps the SHA-256 of the key, never the key.
//   - A request id already in flight on the connection is refused: its
//     reply could not be told apart.
//   - A frame to the gateway is put to admission (the kernel's, before the
//     log) as soon as its route is in: refused, it is answered then and its
//     remaining bytes are dropped unread into memory; admitted and whole, it
//     gets the gateway request header that the host alone writes
//     (host/gateway/binary.ts). Every other frame goes to the kernel as it
//     came, and the kernel decides.
// Replies come back through answered(), which unwraps a gateway's answer.
// A large frame is gathered from the pieces it came in and copied once, when
// whole, into a buffer of its size (the net device then copies it into the
// kernel): not again each time a growing buffer doubles.

import * as abi from '../../hal/abi.ts';
import { ByteQueue, byteWork } from '../base/bytes.ts';
import {
  admissionReplyFrame, authFrameKeyHash, binaryGatewayHeader, gatewayFrameRoute, hostReply, requestHead, unwrapReply, wrapGatewayFrame,
} from './binary.ts';
import type { Admit } from './gateway-wire.ts';

export interface FrameSessionHooks {
  /** A frame body for the kernel: as the client sent it, or wrapped for the gateway. */
  submit(body: Buffer): void;
  /** A whole reply frame the host wrote itself; `refusal` when it refuses the request. */
  write(frame: Buffer, refusal: boolean): void;
  /** The stream broke a framing limit: `frame` is the last thing the client gets, then the connection ends. */
  fail(frame: Buffer, reason: string): void;
  /** A frame reused a request id in flight (counted by the net device). */
  requestIdInUse(): void;
}

export interface FrameSessionConfig {
  /** When to gather a large frame's pieces instead of holding it whole (GATHER_*; tests set small ones). */
  gather?: { fromBytes: number; pieceBytes: number };
  admit: Admit;
  /** The largest frame body the kernel takes (its receive buffers). */
  limit(): number;
  /** The client's address as the gateway header carries it (asked once, at the first frame to the gateway). */
  source(): Buffer;
}

// A frame is gathered piece by piece once this much of it is held (its head,
// which decides about it, is then in), pieces of at least GATHER_PIECE_BYTES
// (smaller chunks are put together first, so a trickled frame does not
// become a list of tiny buffers).
const GATHER_FROM_BYTES = 16 * 1024;
const GATHER_PIECE_BYTES = 4096;
const EMPTY_CHUNK = Buffer.alloc(0);

export class FrameSession {
  private readonly held = new ByteQueue(); // received, not yet framed
  // The frame being gathered: its length (prefix included; 0 when none), the
  // pieces so far (views of the client's chunks) and small chunks being put together.
  private gatherWanted = 0;
  private gatherBytes = 0;
  private pieces: Buffer[] = [];
  private readonly small = new ByteQueue();
  private readonly gatherFrom: number;
  private readonly pieceBytes: number;
  private keyHash: Buffer | null = null;
  private readonly inFlight = new Map<number, 'raw' | 'gateway'>();
  private source: Buffer | null = null;
  private failed = false;
  private skip = 0; // bytes of a frame refused early still to come, dropped as they arrive

  constructor(private readonly hooks: FrameSessionHooks, private readonly config: FrameSessionConfig) {
    this.gatherFrom = config.gather?.fromBytes ?? GATHER_FROM_BYTES;
    this.pieceBytes = config.gather?.pieceBytes ?? GATHER_PIECE_BYTES;
    // The head (length, request header, service name, route) is whole before gathering starts.
    if (!(this.gatherFrom >= abi.FRAME_LEN_BYTES + abi.FRAME_REQUEST_HEADER_BYTES + abi.SERVICE_NAME_BYTES_MAX + 1 && this.pieceBytes >= 1)) {
      throw new RangeError(`frame-session.ts: gather from ${this.gatherFrom} bytes in pieces of ${this.pieceBytes}`);
    }
  }

  /** Bytes from the client, in order (the first, which decided the protocol, included). */
  receive(chunk: Buffer): void {
    if (this.failed) return;
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    if (this.gatherWanted > 0) {
      chunk = this.gather(chunk);
      if (chunk.length === 0) return;
    }
    this.held.append(chunk);
    while (this.held.length >= abi.FRAME_LEN_BYTES && !this.failed) {
      const head = this.held.bytes();
      const bodyLen = head.readUInt32LE(0);
      const limit = this.config.limit();
      if (bodyLen > limit) {
        // Refused once its request id is in, so the refusal names it whatever the chunking.
        if (this.held.length < abi.FRAME_LEN_BYTES + 4) return;
        this.tooLarge(head.readUInt32LE(abi.FRAME_LEN_BYTES), bodyLen, limit);
        return;
      }
      if (this.held.length < abi.FRAME_LEN_BYTES + bodyLen) {
        this.refuseEarly(bodyLen);
        if (this.held.length >= this.gatherFrom) {
          // Not refused: the rest of it is gathered (held's store is never reused, so the view stays valid).
          this.pieces.push(this.held.bytes());
          this.gatherBytes = this.held.length;
          this.gatherWanted = abi.FRAME_LEN_BYTES + bodyLen;
          this.held.clear();
        }
        return;
      }
      const bytes = this.held.bytes().subarray(0, abi.FRAME_LEN_BYTES + bodyLen);
      this.held.consume(bytes.length); // `bytes` stays a valid view
      this.whole(bytes, limit);
    }
  }

  // Takes what of `chunk` belongs to the frame being gathered; returns the rest.
  private gather(chunk: Buffer): Buffer {
    const bodyLen = this.gatherWanted - abi.FRAME_LEN_BYTES;
    const limit = this.config.limit();
    if (bodyLen > limit) {
      // The limit is checked on every chunk, as for a frame held whole (it is the kernel's receive buffers' size).
      const requestId = this.pieces[0].readUInt32LE(abi.FRAME_LEN_BYTES);
      this.tooLarge(requestId, bodyLen, limit);
      return EMPTY_CHUNK;
    }
    const n = Math.min(chunk.length, this.gatherWanted - this.gatherBytes);
    const piece = chunk.subarray(0, n);
    this.gatherBytes += n;
    if (piece.length >= this.pieceBytes && this.small.length === 0) this.pieces.push(piece);
    else {
      this.small.append(piece);
      if (this.small.length >= this.pieceBytes) { this.pieces.push(this.small.bytes()); this.small.clear(); }
    }
    if (this.gatherBytes < this.gatherWanted) return chunk.subarray(n);
    if (this.small.length > 0) { this.pieces.push(this.small.bytes()); this.small.clear(); }
    const frame = Buffer.concat(this.pieces, this.gatherWanted);
    byteWork.copied += frame.length;
    this.pieces = [];
    this.gatherBytes = 0;
    this.gatherWanted = 0;
    this.whole(frame, limit);
    return chunk.subarray(n);
  }

  // A frame over the limit ends the stream, its refusal naming its request.
  private tooLarge(requestId: number, bodyLen: number, limit: number): void {
    const reason = `frame body of ${bodyLen} bytes exceeds the limit of ${limit}`;
    this.failed = true;
    this.held.clear();
    this.small.clear();
    this.pieces = [];
    this.gatherBytes = 0;
    this.gatherWanted = 0;
    this.hooks.fail(hostReply(requestId, abi.FRAME_E_TOO_LARGE, reason), reason);
  }

  // One whole frame (length prefix included): routed, and submitted unless answered here.
  private whole(frame: Buffer, limit: number): void {
    const body = this.route(frame.subarray(abi.FRAME_LEN_BYTES), limit);
    if (body !== null) this.hooks.submit(body);
  }

  /** Bytes of a frame begun and not yet whole. */
  heldBytes(): number {
    return this.held.length + this.gatherBytes;
  }

  requestsInFlight(): number {
    return this.inFlight.size;
  }

  /** Nothing held, nothing owed: the connection may be closed for idleness. */
  idle(): boolean {
    return this.inFlight.size === 0 && this.held.length === 0 && this.gatherWanted === 0;
  }

  /** The kernel's reply frame (length prefix included) as the client gets it: its request is no longer in flight; a gateway's answer is unwrapped. */
  answered(frame: Buffer): Buffer {
    if (frame.length < abi.FRAME_LEN_BYTES + 4) return frame;
    const requestId = frame.readUInt32LE(abi.FRAME_LEN_BYTES);
    const kind = this.inFlight.get(requestId);
    this.inFlight.delete(requestId);
    return kind === 'gateway' ? unwrapReply(frame) : frame;
  }

  // A frame to the gateway that admission refuses is answered as soon as
  // its route (the payload's first byte) is in, and the rest of its bytes
  // are dropped as they come: a client without a good key holds no more
  // than a frame header here, however large the frame it announces.
  private refuseEarly(bodyLen: number): void {
    const b = this.held.bytes();
    if (b.length < abi.FRAME_LEN_BYTES + abi.FRAME_REQUEST_HEADER_BYTES) return;
    const head = requestHead(b.subarray(abi.FRAME_LEN_BYTES));
    if (head === null || head.payload.length === 0 || head.flags !== 0 || this.inFlight.has(head.requestId)) return;
    const route = gatewayFrameRoute(head.name, head.payload);
    if (route === null || typeof route === 'string') return; // not the gateway's, or refused once whole, as malformed
    this.source ??= this.config.source();
    const answer = this.config.admit(binaryGatewayHeader(route, this.keyHash, this.source), abi.ADM_MODE_PEEK);
    if (answer.status === 200) return;
    this.hooks.write(admissionReplyFrame(head.requestId, answer), true);
    this.skip = abi.FRAME_LEN_BYTES + bodyLen - b.length;
    this.held.clear();
  }

  // What one whole frame body becomes: the body for the kernel, or null
  // when the host answered it here.
  private route(body: Buffer, limit: number): Buffer | null {
    const head = requestHead(body);
    if (head === null) return body; // the kernel refuses what is too short to have a header
    if ((head.flags & abi.FRAME_F_AUTH) !== 0) {
      const hash = authFrameKeyHash(head.flags, head.name, head.payload);
      if (typeof hash === 'string') {
        this.reply(head.requestId, abi.FRAME_E_MALFORMED, hash);
      } else {
        this.keyHash = hash;
        this.reply(head.requestId, abi.FRAME_OK, '');
      }
      return null;
    }
    if (this.inFlight.has(head.requestId)) {
      this.hooks.requestIdInUse();
      this.reply(head.requestId, abi.FRAME_E_MALFORMED, `request id ${head.requestId} is already in flight on this connection; use a new id for each request`);
      return null;
    }
    const route = head.flags === 0 ? gatewayFrameRoute(head.name, head.payload) : null;
    if (route === null) {
      this.inFlight.set(head.requestId, 'raw');
      return body;
    }
    this.source ??= this.config.source();
    if (typeof route === 'string') {
      this.reply(head.requestId, abi.FRAME_E_MALFORMED, route);
      return null;
    }
    // Admission first: a refused frame is answered here and never copied on.
    const answer = this.config.admit(binaryGatewayHeader(route, this.keyHash, this.source), abi.ADM_MODE_PEEK);
    if (answer.status !== 200) {
      this.hooks.write(admissionReplyFrame(head.requestId, answer), true);
      return null;
    }
    const wrapped = wrapGatewayFrame(head.requestId, route, head.payload, this.keyHash, this.source);
    if (wrapped.length > limit) {
      this.reply(head.requestId, abi.FRAME_E_TOO_LARGE, `the request with its gateway header is ${wrapped.length} bytes; the limit is ${limit}`);
      return null;
    }
    this.inFlight.set(head.requestId, 'gateway');
    return wrapped;
  }

  private reply(requestId: number, status: number, message: string): void {
    this.hooks.write(hostReply(requestId, status, message), status !== abi.FRAME_OK);
  }
}
