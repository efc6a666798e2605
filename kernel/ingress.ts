// kernel/ingress.ts: client frames coming in from the network device
// (drivers/net). Each received frame is checked (header, service, its
// capability and state, size, readiness), admitted if it goes to the
// admission authority (kernel/admission.ts), and staged in the command log
// as an INPUT entry; a frame refused gets its error frame at once, and
// nothing of it is logged. With no room in the log (or a snapshot holding
// input) the frame stays in the CQ until a later turn of the run loop.
//
// A read (FRAME_F_READ) is not logged: it stays at the head of the CQ, its
// receive buffer held, while the run loop hands it to the host (ACT_READ,
// between two messages, so the service's state is that after every message
// it handled); kernel_read_done sends the reply and takes the next frame.

import {
  KSTATE_READY, OP_NET_RX, OP_NET_TX_DONE, SERVICE_NAME_BYTES_MAX, GW_REPLY_HEADER_BYTES, GW_REQUEST_HEADER_BYTES, GW_E_MALFORMED,
  FRAME_OK, FRAME_E_MALFORMED, FRAME_E_UNKNOWN_SERVICE, FRAME_E_DENIED, FRAME_E_TOO_LARGE, FRAME_E_UNAVAILABLE, FRAME_E_BUSY,
  FRAME_F_READ, FRAME_E_SERVICE, MSG_KIND_REQUEST, SENDER_CLIENT, GW_OK, GW_E_LEDGER, ADM_KEY_GRANTS_MAX,
} from "../hal/abi";
import { kernelState } from "./base/hal";
import { descOp, descTag, descLen, descArg } from "./base/ring";
import { config, admissionAuthority } from "./boot";
import { admissionCheck, admissionReplyHeader, admissionMessage, admissionReadService, admissionGrants, NO_READ_SERVICE } from "./admission";
import { reserve } from "./base/mem";
import { service, serviceFind, serviceCount, hasCap, CAP_NET, CAP_READ, NO_SERVICE } from "./services";
import { setDispatch } from "./base/hal";
import { clientTokens } from "./tokens";
import { stagedInputs, inputStaged } from "./runstate";
import * as rs from "./runstate";
import { netCompletion, netCompletionDone, netPostRx, netTxDone, netSendError, netSendFrame, netSendReply, netClose, rxBuffer, rxBufferBytes, FRAME_HEADER_BYTES } from "../drivers/net/net";
import { blockSqTail } from "../drivers/block/block";
import { clockNow } from "../drivers/clock/clock";
import * as log from "./log";
import * as snap from "./snapshot";
import * as st from "./state";
import { storageReadDispatch } from "./storage";

export function pollNet(): void {
  assert(st.phase == st.PHASE_SERVE, "pollNet: frames are taken only while serving");
  if (rs.readHeld) return; // the head of the CQ is a read the host has yet to answer
  for (let i: u32 = 0; i < 1024; i++) {
    const d = netCompletion();
    if (d == 0) return;
    const op = descOp(d);
    if (op == OP_NET_RX) {
      if (!admit(descTag(d), descLen(d), descArg(d))) return; // no room: retry later
      netCompletionDone();
      netPostRx(descTag(d));
    } else {
      if (op == OP_NET_TX_DONE) netTxDone(descTag(d));
      netCompletionDone();
    }
  }
}

// Checks a received frame and logs it. False: no room in the log now.
function admit(tag: u32, len: u32, conn: u64): bool {
  const buf = rxBuffer(tag);
  const requestId = len >= 4 ? load<u32>(buf) : 0;
  if (len < 8) { netSendError(conn, requestId, FRAME_E_MALFORMED, "frame shorter than its 8-byte request header"); return true; }
  if (len > rxBufferBytes) { netSendError(conn, requestId, FRAME_E_TOO_LARGE, "frame longer than the kernel's receive buffer"); return true; }
  const nameLen = <u32>load<u8>(buf + 6);
  const flags = <u32>load<u16>(buf + 4);
  if ((flags & ~<u32>FRAME_F_READ) != 0 || load<u8>(buf + 7) != 0) {
    netSendError(conn, requestId, FRAME_E_MALFORMED, "unknown request flags, or a reserved request header byte not zero");
    return true;
  }
  if (nameLen == 0 || nameLen > <u32>SERVICE_NAME_BYTES_MAX || nameLen + 8 > len) {
    netSendError(conn, requestId, FRAME_E_MALFORMED, "bad service name length");
    return true;
  }
  const target = serviceFindBytes(buf + 8, nameLen);
  if (target == NO_SERVICE) { netSendError(conn, requestId, FRAME_E_UNKNOWN_SERVICE, "no such service"); return true; }
  if (!hasCap(service(target), CAP_NET)) { netSendError(conn, requestId, FRAME_E_DENIED, "service does not accept network requests"); return true; }
  if (service(target).failed) {
    netSendError(conn, requestId, FRAME_E_UNAVAILABLE, "service failed: it faulted more often than its restart policy allows");
    return true;
  }
  const payloadLen = len - 8 - nameLen;
  if (payloadLen > config.messageBytesMax || payloadLen > service(target).inboxBytes) {
    netSendError(conn, requestId, FRAME_E_TOO_LARGE, "payload larger than the service accepts (message_bytes_max or its inbox)");
    return true;
  }
  if (kernelState() != KSTATE_READY) { netSendError(conn, requestId, FRAME_E_UNAVAILABLE, "not serving: starting up or shutting down"); return true; }
  if (target == admissionAuthority) {
    // The authority's routes decide what is a read (ADM_ROUTE_F_READ), after admission.
    const readService = payloadLen >= <u32>GW_REQUEST_HEADER_BYTES ? admissionReadService(buf + 8 + nameLen) : NO_READ_SERVICE;
    const reads = readService != NO_READ_SERVICE && readService < serviceCount && hasCap(service(readService), CAP_READ);
    if (flags == FRAME_F_READ && !reads) { netSendError(conn, requestId, FRAME_E_DENIED, "this route takes no reads"); return true; }
    if (reads) {
      if (!admitted(conn, requestId, buf + 8 + nameLen, payloadLen)) return true;
      holdGatewayRead(tag, conn, requestId, readService, buf + 8 + nameLen + GW_REQUEST_HEADER_BYTES, payloadLen - GW_REQUEST_HEADER_BYTES);
      return false; // stays at the head of the CQ until kernel_read_done
    }
  } else if (flags == FRAME_F_READ) {
    if (!hasCap(service(target), CAP_READ)) { netSendError(conn, requestId, FRAME_E_DENIED, "service takes no reads (capability read)"); return true; }
    rs.readHold(tag, conn, requestId, target, buf + 8 + nameLen, payloadLen);
    return false; // stays at the head of the CQ until kernel_read_done
  }
  if (snap.snapshotHolding(blockSqTail())) return false; // held until the snapshot is captured
  if (!log.logHasRoom(payloadLen)) return false;
  const payload = buf + 8 + nameLen;
  if (target == admissionAuthority && !admitted(conn, requestId, payload, payloadLen)) { log.logUnclaimEmpty(); return true; }
  if (clientTokens.inUse + stagedInputs >= config.requestsInFlightMax) {
    log.logUnclaimEmpty();
    netSendError(conn, requestId, FRAME_E_BUSY, "too many requests in flight; retry");
    return true;
  }
  log.logStage(log.ENTRY_INPUT, target, conn, requestId, payload, payloadLen, clockNow());
  inputStaged();
  assert(clientTokens.inUse + stagedInputs <= config.requestsInFlightMax, "admit: requests in flight within requests_in_flight_max");
  return true;
}

// A read of an authority route: its body, the request for the read service,
// with the admitted key's grants appended as the request's scope (u16 at +2)
// when the key is limited to ledgers (hal/admission.ts ADM_ROUTE_F_READ).
let gatewayReadBuf: usize = 0;
let gatewayReadBytes: u32 = 0;
const admittedHeader: usize = memory.data(<i32>GW_REPLY_HEADER_BYTES, 16);

/** Reserves the buffer reads of the authority's routes are built in (boot, with an authority). */
export function ingressInit(messageBytesMax: u32): bool {
  assert(gatewayReadBuf == 0, "ingressInit: once");
  gatewayReadBytes = messageBytesMax + <u32>ADM_KEY_GRANTS_MAX * 4;
  gatewayReadBuf = reserve(<u64>gatewayReadBytes, "gateway reads");
  return gatewayReadBuf != 0;
}

function holdGatewayRead(tag: u32, conn: u64, requestId: u32, readService: u32, body: usize, bodyLen: u32): void {
  assert(gatewayReadBuf != 0 && bodyLen + <u32>ADM_KEY_GRANTS_MAX * 4 <= gatewayReadBytes, "holdGatewayRead: the buffer holds a message and its scope");
  admissionReplyHeader(admittedHeader);
  const keyId = load<u32>(admittedHeader + 8);
  const role = <u32>load<u8>(admittedHeader + 12);
  memory.copy(gatewayReadBuf, body, bodyLen);
  let len = bodyLen;
  if (keyId != 0 && bodyLen >= 8) {
    const grants = admissionGrants(keyId, gatewayReadBuf + bodyLen);
    if (grants > 0) {
      store<u16>(gatewayReadBuf + 2, <u16>grants);
      len += grants * 4;
    }
  }
  rs.readHold(tag, conn, requestId, readService, gatewayReadBuf, len, true, keyId, role);
}

/** A read waits for the host: the registers name it (ACT_READ). */
export function readWaiting(): bool {
  if (!rs.readHeld) return false;
  assert(rs.readTarget < serviceCount && hasCap(service(rs.readTarget), CAP_READ), "readWaiting: a read held for a service that takes reads");
  const now = clockNow();
  setDispatch(rs.readTarget, MSG_KIND_REQUEST, rs.readPayload, rs.readLen, SENDER_CLIENT, 0, now);
  rs.noteDispatch(service(rs.readTarget).fuelPerMessage, 0, now, false);
  st.setCaller(rs.readTarget, now);
  storageReadDispatch(rs.readTarget);
  return true;
}

/**
 * The host answered the held read: `len` payload bytes at `frame` +
 * FRAME_HEADER_BYTES (the syscall area) with frame status `status`. Sends
 * them, frees the receive buffer and lets the next frame in.
 */
export function readDone(status: u32, frame: usize, len: u32, room: u32): void {
  assert(rs.readHeld, "kernel_read_done without a read held");
  const tag = rs.readTag;
  const conn = rs.readConn;
  const requestId = rs.readRequestId;
  let frameStatus = status;
  let sent = len;
  if (rs.readGateway) {
    sent = gatewayReply(frame + FRAME_HEADER_BYTES, status, len, room);
    frameStatus = FRAME_OK;
  }
  rs.readRelease();
  if (!netSendReply(conn, requestId, frameStatus, frame, sent)) netClose(conn); // no room to answer: the client retries
  netCompletionDone();
  netPostRx(tag);
}

// The read service's answer (`len` bytes at `p`, frame status `status`) in
// the authority's reply format, in place: 200 with its reply, 400 with its
// message when it refused the request, 502 otherwise; the bytes to send.
const READ_REPLY_TOO_LARGE = "the read's reply does not fit a reply with its header";
function gatewayReply(p: usize, status: u32, len: u32, room: u32): u32 {
  let http: u32 = 200;
  let error: u32 = GW_OK;
  let n = len;
  if (status == FRAME_E_SERVICE) { http = 400; error = GW_E_MALFORMED; }
  else if (status != FRAME_OK) { http = 502; error = GW_E_LEDGER; }
  if (n + <u32>GW_REPLY_HEADER_BYTES > room) {
    http = 502; error = GW_E_LEDGER;
    n = <u32>READ_REPLY_TOO_LARGE.length;
    for (let i: u32 = 0; i < n; i++) store<u8>(p + i, <u8>READ_REPLY_TOO_LARGE.charCodeAt(i));
  }
  memory.copy(p + GW_REPLY_HEADER_BYTES, p, n);
  store<u16>(p, <u16>http);
  store<u16>(p + 2, <u16>error);
  store<u32>(p + 4, 0);
  store<u32>(p + 8, rs.readKeyId);
  store<u32>(p + 12, rs.readRole);
  assert(n + <u32>GW_REPLY_HEADER_BYTES <= room, "gatewayReply: the reply fits the area");
  return n + <u32>GW_REPLY_HEADER_BYTES;
}

// Admission (kernel/admission.ts) of a frame to the authority, before it is
// logged: false when refused, and then the client has its answer, in the
// authority's reply format, and nothing was logged.
const refusalHeader: usize = memory.data(<i32>GW_REPLY_HEADER_BYTES, 16);
function admitted(conn: u64, requestId: u32, payload: usize, payloadLen: u32): bool {
  assert(admissionAuthority != NO_SERVICE && payload != 0, "admitted: only frames to the admission authority");
  const status = payloadLen < <u32>GW_REQUEST_HEADER_BYTES
    ? 400
    : admissionCheck(payload, payloadLen - GW_REQUEST_HEADER_BYTES, true, true, clockNow());
  if (status == 200) return true;
  if (payloadLen < <u32>GW_REQUEST_HEADER_BYTES) {
    memory.fill(refusalHeader, 0, GW_REPLY_HEADER_BYTES);
    store<u16>(refusalHeader, 400);
    store<u16>(refusalHeader + 2, <u16>GW_E_MALFORMED);
    netSendFrame(conn, requestId, FRAME_OK, refusalHeader, GW_REPLY_HEADER_BYTES, "gateway request shorter than its header");
    return false;
  }
  admissionReplyHeader(refusalHeader);
  netSendFrame(conn, requestId, FRAME_OK, refusalHeader, GW_REPLY_HEADER_BYTES, admissionMessage());
  return false;
}

function serviceFindBytes(p: usize, n: u32): u32 {
  assert(n > 0 && n <= <u32>SERVICE_NAME_BYTES_MAX, "serviceFindBytes: admit checked the name length");
  return serviceFind(p, n);
}
