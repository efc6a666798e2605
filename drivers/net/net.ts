// drivers/net/net.ts: the kernel's network driver.
//
// Receive works like virtio-net: the kernel posts empty buffers on the SQ
// (OP_NET_RX_BUF), the host fills one per frame and returns it on the CQ
// (OP_NET_RX, arg = connection). Replies and error frames are OP_NET_TX
// descriptors; the host writes them to the connection and returns
// OP_NET_TX_DONE. Wire layout of frames: hal/abi.ts.

import {
  DEV_NET, DESC_F_NO_COMPLETION, OP_NET_RX_BUF, OP_NET_TX, OP_NET_CLOSE,
  FRAME_LEN_BYTES, FRAME_REPLY_HEADER_BYTES, FRAME_REQUEST_HEADER_BYTES, SERVICE_NAME_BYTES_MAX,
} from "../../hal/abi";
import { RING_NET, NET_RX_BUFFERS, NET_ERROR_FRAMES, NET_ERROR_FRAME_BYTES } from "../../kernel/base/constants";
import { ringCreate, ringPush, ringPeek, ringPop, ringFree } from "../../kernel/base/ring";
import { halSetRings } from "../../kernel/base/hal";
import { reserve, Pool, POOL_EMPTY, poolInit } from "../../kernel/base/mem";

// Tags: rx buffers are 0..NET_RX_BUFFERS-1; error frames have TAG_ERROR set;
// replies built in the syscall area use TAG_REPLY.
export const TAG_ERROR: u32 = 0x40000000;
export const TAG_REPLY: u32 = 0x20000000;
export const FRAME_HEADER_BYTES: u32 = FRAME_LEN_BYTES + FRAME_REPLY_HEADER_BYTES;

let sq: usize = 0;
let cq: usize = 0;
let rxBase: usize = 0;
export let rxBufferBytes: u32 = 0;
const errorFrames = new Pool();
export let framesDropped: u64 = 0; // error frames not sent for lack of a buffer

export function netInit(messageBytesMax: u32): bool {
  assert(sq == 0 && FRAME_HEADER_BYTES < NET_ERROR_FRAME_BYTES, "netInit: reserved once; an error frame holds a header and text");
  sq = ringCreate(RING_NET, "net rings");
  cq = ringCreate(RING_NET, "net rings");
  rxBufferBytes = messageBytesMax + FRAME_REQUEST_HEADER_BYTES + SERVICE_NAME_BYTES_MAX;
  rxBase = reserve(<usize>rxBufferBytes * NET_RX_BUFFERS, "net receive buffers");
  if (sq == 0 || cq == 0 || rxBase == 0) return false;
  if (!poolInit(errorFrames, "net error frames", NET_ERROR_FRAME_BYTES, NET_ERROR_FRAMES)) return false;
  halSetRings(DEV_NET, sq, cq);
  return true;
}

@inline export function rxBuffer(tag: u32): usize {
  assert(tag < NET_RX_BUFFERS, "rx tag out of range");
  return rxBase + <usize>tag * rxBufferBytes;
}

export function netPostRx(tag: u32): void {
  const pushed = ringPush(sq, OP_NET_RX_BUF, 0, tag, rxBuffer(tag), 0, rxBufferBytes, 0);
  assert(pushed, "net SQ full while reposting a receive buffer");
}

export function netPostAllRx(): void {
  assert(ringFree(sq) >= NET_RX_BUFFERS, "netPostAllRx: the SQ has room for every receive buffer");
  for (let i: u32 = 0; i < NET_RX_BUFFERS; i++) netPostRx(i);
}

export function netCompletion(): usize {
  assert(cq != 0, "netCompletion before netInit");
  return ringPeek(cq);
}
export function netCompletionDone(): void {
  assert(cq != 0, "netCompletionDone before netInit");
  ringPop(cq);
}

function putHeader(frame: usize, requestId: u32, status: u32, payloadLen: u32): void {
  assert(frame != 0 && status <= 0xffff && payloadLen <= 0xffffffff - FRAME_REPLY_HEADER_BYTES, "putHeader: a frame with a 16-bit status and a length that fits");
  store<u32>(frame, FRAME_REPLY_HEADER_BYTES + payloadLen);
  store<u32>(frame + 4, requestId);
  store<u16>(frame + 8, <u16>status);
  store<u16>(frame + 10, 0);
}

// An error frame with a message from a static literal.
export function netSendError(conn: u64, requestId: u32, status: u32, message: string): void {
  assert(status != 0 && message.length > 0, "netSendError: an error status, and a message saying why");
  netSendFrame(conn, requestId, status, 0, 0, message);
}

// A small reply frame: `prefixLen` bytes at `prefix` (a reply header, or
// nothing) then an ASCII message from a static literal, in an error frame
// buffer. When every buffer is in flight the connection is closed instead
// (and counted): a client is never left waiting for an answer that will not
// come. The rx path refuses at most NET_RX_BUFFERS frames a turn, well under
// NET_ERROR_FRAMES, so this happens only under a storm of other errors.
export function netSendFrame(conn: u64, requestId: u32, status: u32, prefix: usize, prefixLen: u32, message: string): void {
  assert(prefixLen + FRAME_HEADER_BYTES <= NET_ERROR_FRAME_BYTES, "net: a reply prefix larger than an error frame");
  const index = errorFrames.take();
  if (index == POOL_EMPTY || ringFree(sq) == 0) {
    if (index != POOL_EMPTY) errorFrames.give(index);
    framesDropped++;
    netClose(conn);
    return;
  }
  const frame = errorFrames.slot(index);
  memory.copy(frame + FRAME_HEADER_BYTES, prefix, prefixLen);
  const room = NET_ERROR_FRAME_BYTES - FRAME_HEADER_BYTES - prefixLen;
  const n: u32 = <u32>message.length < room ? <u32>message.length : room;
  const text = frame + FRAME_HEADER_BYTES + prefixLen;
  for (let i: u32 = 0; i < n; i++) store<u8>(text + i, <u8>message.charCodeAt(i));
  putHeader(frame, requestId, status, prefixLen + n);
  const pushed = ringPush(sq, OP_NET_TX, 0, TAG_ERROR | index, frame, FRAME_HEADER_BYTES + prefixLen + n, NET_ERROR_FRAME_BYTES, conn);
  assert(pushed, "netSendFrame: the SQ had room a moment ago");
}

// A reply whose payload already sits at frame + FRAME_HEADER_BYTES (the
// syscall area). The host copies it out before the next syscall, so it asks
// for no completion.
export function netSendReply(conn: u64, requestId: u32, status: u32, frame: usize, payloadLen: u32): bool {
  assert(frame != 0 && payloadLen <= rxBufferBytes, "netSendReply: a reply no larger than a message");
  if (ringFree(sq) == 0) return false;
  putHeader(frame, requestId, status, payloadLen);
  return ringPush(sq, OP_NET_TX, DESC_F_NO_COMPLETION, TAG_REPLY, frame, FRAME_HEADER_BYTES + payloadLen, FRAME_HEADER_BYTES + payloadLen, conn);
}

export function netClose(conn: u64): void {
  assert(sq != 0, "netClose before netInit");
  if (!ringPush(sq, OP_NET_CLOSE, 0, 0, 0, 0, 0, conn)) framesDropped++;
}

// After a snapshot restore: error frames the old host was sending are free.
export function netReset(): void {
  for (let i: u32 = 0; i < errorFrames.count; i++) {
    if (load<u8>(errorFrames.states + <usize>i) != 0) errorFrames.give(i);
  }
  assert(errorFrames.inUse == 0, "netReset: every error frame is free again");
}

export function netErrorFramesInUse(): u32 {
  assert(errorFrames.inUse <= errorFrames.count, "netErrorFramesInUse: more in use than frames");
  return errorFrames.inUse;
}

export function netTxDone(tag: u32): void {
  if ((tag & TAG_ERROR) != 0) errorFrames.give(tag & ~TAG_ERROR);
}
