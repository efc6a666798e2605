// kernel/syscalls.ts: the system calls a service may make (import module
// "qenex"). The host's shim copies arguments between the service's memory
// and the kernel's syscall area (sys_area), then calls these exports; the
// caller is always the service whose message is being handled, known to the
// kernel, never named by the host. Every call is checked against the
// caller's capabilities; a denied call returns SYS_E_DENIED to the service
// and is recorded (counter + console line).
//
// This table is the syscall ABI (import module "qenex"); services/sdk/qenex.ts
// declares the same calls for AssemblyScript services.
//
// | import signature                                  | capability   | effect                                                  |
// |---------------------------------------------------|--------------|---------------------------------------------------------|
// | send(peer: u32, ptr: usize, len: u32): i32        | send:<peer>  | queue a message to peer; peer may reply with its token  |
// | reply(token: u32, status: u32, ptr, len): i32     | holds token  | answer a request (client frame or service message)      |
// | time(): i64                                       | time         | logical time of the message being handled, ns           |
// | log(ptr: usize, len: u32): i32                    | log          | one console line (suppressed while replaying)           |
// | random(ptr: usize, len: u32): i32                 | random       | bytes from the generator seeded by ENTROPY log entries  |
// | timer(delayNs: i64, tag: i64): i32                | timer        | a MSG_KIND_TIMER message (payload: tag) after delayNs   |
// | lookup(ptr: usize, len: u32): i32                 | none         | index of the service with that name                     |
// | send(SYSTEM_PEER, ptr, len): i32                  | system       | a service command: load/upgrade/unload (kernel/liveload) |
// | hsm(op: u32, ptr: usize, len: u32): i32           | hsm_keys     | an HSM operation with a granted key label (hal/abi.ts    |
//                                                     | (hsm_random) | HSM section); result: request id; the answer comes as a |
//                                                     |              | MSG_KIND_REPLY from SENDER_KERNEL once it is logged     |
// | emit(type: u32, count: u32, ptr, len): i32        | emit         | an event record of `count` items (drivers/events)        |
// | admission(op: u32, ptr: usize, len: u32): i32     | admit        | program the admission table (kernel/admission.ts)        |
// | storage(op: u32, ptr: usize, len: u32): i32       | storage      | write, sync or read blocks of the service's own grid     |
//                                                     |              | (hal/devices/grid.ts; kernel/storage.ts)                 |
//
// Results: 0 (SYS_OK) or a negative SYS_E_* from hal/abi.ts: DENIED (the
// capability is missing; recorded), INVALID, FULL, TOO_LARGE, CONTEXT,
// UNAVAILABLE (send to a service that has failed). services/sdk/ABI.md
// documents the same table for service authors.
// A reply with status 0 reaches a client as FRAME_OK; any other status as
// FRAME_E_SERVICE with the payload as the message.

import {
  SYS_OK, SYS_E_DENIED, SYS_E_INVALID, SYS_E_FULL, SYS_E_TOO_LARGE, SYS_E_CONTEXT, SYS_E_UNAVAILABLE,
  MSG_KIND_MESSAGE, MSG_KIND_REPLY, FRAME_OK, FRAME_E_SERVICE, FRAME_E_TOO_LARGE,
} from "../hal/abi";
import { reserve } from "./base/mem";
import { Service, service, serviceCount, serviceFind, hasCap, maySend, NO_SERVICE, CAP_LOG, CAP_TIME, CAP_RANDOM, CAP_TIMER, CAP_EMIT, CAP_ADMIT } from "./services";
import { admissionProgram } from "./admission";
import { sysStorage } from "./storage";
import { CAP_STORAGE } from "../hal/abi";
import {
  EVT_TRANSFER, EVENT_TRANSFER_BYTES, EVT_PAYMENT, EVENT_PAYMENT_BYTES, EVT_ALERT, EVENT_ALERT_BYTES, EVT_TRADING, EVENT_TRADING_BYTES, EVT_FIX, EVENT_FIX_BYTES,
  EVT_CHECKPOINT,
  EVENT_ITEMS_MAX,
} from "../hal/abi";
import { eventsEmit } from "../drivers/events/events";
import { enqueue as enqueueFrom, deliverInit, abortServiceToken } from "./deliver";
import { SYSTEM_PEER } from "../hal/abi";
import { CAP_SYSTEM } from "./services";
import { systemSubmit } from "./liveload";
import { hsmResultBytes, hsmAllowed, hsmIssue } from "./hsm";
import { HSM_REPLY_HEADER_BYTES, HSM_BUFFER_BYTES, HSM_LABEL_BYTES_MAX } from "../hal/abi";
import { serviceTokenNew, tokenResolve, tokenIsService, tokenLive, tokenConn, tokenRequestId, tokenOrigin, tokenFree } from "./tokens";
import { timerAdd } from "./timers";
import { netSendReply, netSendError, FRAME_HEADER_BYTES } from "../drivers/net/net";
import { conBegin, conStr, conEscaped, conEnd, conU64 } from "../drivers/console/console";
import { caller, callerTimeNs, phase, PHASE_RECOVER, rngFill, countDenied, countSuppressedLog } from "./state";
import { MESSAGE_BYTES_MIN, MESSAGE_BYTES_MAX } from "./base/constants";

// Syscall area: FRAME_HEADER_BYTES of room, then the payload. sys_area()
// returns the payload address; replies to clients are framed in place.
let area: usize = 0;
let areaBytes: u32 = 0;

export function syscallsInit(messageBytesMax: u32, depth: u32): bool {
  assert(area == 0, "syscallsInit: the syscall area is reserved once");
  assert(messageBytesMax >= MESSAGE_BYTES_MIN && messageBytesMax <= MESSAGE_BYTES_MAX, "syscallsInit: boot checked message_bytes_max");
  areaBytes = messageBytesMax;
  deliverInit(depth);
  area = reserve(<usize>(FRAME_HEADER_BYTES + messageBytesMax), "syscall area");
  return area != 0;
}

export function sysArea(): usize { return area + FRAME_HEADER_BYTES; }
export function sysAreaBytes(): u32 { return areaBytes; }

function current(): Service | null {
  if (caller == NO_SERVICE) return null;
  assert(caller < serviceCount, "syscall: the caller is a service in the table");
  const s = service(caller);
  assert(s.index == caller, "syscall: the table entry knows its own index");
  return s;
}

function denied(s: Service, call: string): i32 {
  assert(s.index == caller, "denied: only the caller's own calls are denied");
  s.denied++;
  countDenied();
  if (phase != PHASE_RECOVER && conBegin()) {
    conStr("{\"event\":\"syscall_denied\",\"service\":\"");
    conEscaped(s.nameAddr, s.nameLen);
    conStr("\",\"call\":\"");
    conStr(call);
    conStr("\",\"count\":");
    conU64(s.denied);
    conEnd(true);
  }
  return SYS_E_DENIED;
}

// Queues a message for `to`, its payload copied from the syscall area.
function enqueue(to: u32, kind: u32, from: u32, token: u32, len: u32): i32 {
  assert(len <= areaBytes && from == caller, "enqueue: the caller's bytes, within the syscall area");
  return enqueueFrom(to, kind, from, token, sysArea(), len, callerTimeNs);
}

export function sysSend(peer: u32, len: u32): i32 {
  const s = current();
  if (s == null) return SYS_E_CONTEXT;
  if (peer == <u32>SYSTEM_PEER) {
    // A service command (kernel/liveload.ts): load, upgrade or unload.
    if (!hasCap(s, CAP_SYSTEM)) return denied(s, "send");
    if (len > areaBytes) return SYS_E_TOO_LARGE;
    return systemSubmit(s.index, sysArea(), len, callerTimeNs);
  }
  if (peer >= serviceCount) return SYS_E_INVALID;
  if (!maySend(s, peer)) return denied(s, "send");
  assert(peer != s.index, "send: the send mask never names the sender");
  if (len > areaBytes) return SYS_E_TOO_LARGE;
  if (service(peer).failed) return SYS_E_UNAVAILABLE;
  if (service(peer).unloaded) return SYS_E_INVALID;
  const token = serviceTokenNew(s.index, peer);
  if (token == 0) return SYS_E_FULL;
  assert(tokenIsService(token), "send: a service token for a service's message");
  const r = enqueue(peer, MSG_KIND_MESSAGE, s.index, token, len);
  if (r != SYS_OK) tokenFree(token);
  return r;
}

// A reply that can never be delivered (larger than a message, or than the
// asker's inbox) still answers the asker, with an error: a client gets
// FRAME_E_TOO_LARGE, a service MSG_KIND_FAILED, and the token is spent.
// Returning SYS_E_TOO_LARGE alone left the asker waiting forever and the
// token held for good (a service that ignores the result is common: the
// ledger did, and the simulator's checker hung on a large lookup).
export function sysReply(token: u32, status: u32, len: u32): i32 {
  const s = current();
  if (s == null) return SYS_E_CONTEXT;
  const p = tokenResolve(token, s.index);
  if (p == 0) return SYS_E_INVALID;
  if (len > areaBytes) {
    undeliverable(token, p, s.index);
    return SYS_E_TOO_LARGE;
  }
  if (tokenIsService(token)) {
    assert(tokenOrigin(p) < serviceCount, "reply: a service token's origin is a service");
    const r = enqueue(tokenOrigin(p), MSG_KIND_REPLY, s.index, 0, len);
    if (r == SYS_OK) tokenFree(token);
    else if (r == SYS_E_TOO_LARGE) undeliverable(token, p, s.index);
    return r;
  }
  if (tokenLive(p)) {
    const frameStatus = status == 0 ? FRAME_OK : FRAME_E_SERVICE;
    const sent = netSendReply(tokenConn(p), tokenRequestId(p), frameStatus, area, len);
    assert(sent, "net SQ full: the host must drain it after every reply");
  }
  tokenFree(token);
  return SYS_OK;
}

function undeliverable(token: u32, p: usize, holder: u32): void {
  assert(p != 0 && tokenResolve(token, holder) == p, "undeliverable: a token the holder still holds");
  if (tokenIsService(token)) {
    abortServiceToken(token, tokenOrigin(p), holder, callerTimeNs);
    return;
  }
  if (tokenLive(p)) {
    netSendError(tokenConn(p), tokenRequestId(p), FRAME_E_TOO_LARGE,
      "the service's reply is larger than the kernel's message size (message_bytes_max); ask for less");
  }
  tokenFree(token);
}

export function sysTime(): i64 {
  const s = current();
  if (s == null) return <i64>SYS_E_CONTEXT;
  if (!hasCap(s, CAP_TIME)) return <i64>denied(s, "time");
  return <i64>callerTimeNs;
}

export function sysLog(len: u32): i32 {
  const s = current();
  if (s == null) return SYS_E_CONTEXT;
  if (!hasCap(s, CAP_LOG)) return denied(s, "log");
  if (len > areaBytes) return SYS_E_TOO_LARGE;
  // Replay runs every service again; its lines were printed the first time.
  if (phase == PHASE_RECOVER) { countSuppressedLog(); return SYS_OK; }
  if (conBegin()) {
    conStr("{\"event\":\"service_log\",\"service\":\"");
    conEscaped(s.nameAddr, s.nameLen);
    conStr("\",\"message\":\"");
    conEscaped(sysArea(), len);
    conStr("\"");
    conEnd(false);
  }
  return SYS_OK;
}

export function sysRandom(len: u32): i32 {
  const s = current();
  if (s == null) return SYS_E_CONTEXT;
  if (!hasCap(s, CAP_RANDOM)) return denied(s, "random");
  if (len > areaBytes) return SYS_E_TOO_LARGE;
  rngFill(sysArea(), len);
  return SYS_OK;
}

export function sysTimer(delayNs: i64, tag: i64): i32 {
  const s = current();
  if (s == null) return SYS_E_CONTEXT;
  if (!hasCap(s, CAP_TIMER)) return denied(s, "timer");
  if (delayNs < 0) return SYS_E_INVALID;
  const deadline = callerTimeNs + <u64>delayNs;
  if (deadline < callerTimeNs) return SYS_E_INVALID;
  return timerAdd(s.index, deadline, <u64>tag) ? SYS_OK : SYS_E_FULL;
}

export function sysLookup(len: u32): i32 {
  if (current() == null) return SYS_E_CONTEXT;
  if (len == 0 || len > 32) return SYS_E_INVALID;
  const index = serviceFind(sysArea(), len);
  assert(index == NO_SERVICE || index < serviceCount, "lookup: a service in the table");
  return index == NO_SERVICE ? SYS_E_INVALID : <i32>index;
}

// Emits an event record: `count` items of one type, numbered by the kernel
// (drivers/events). A service may emit EVT_TRANSFER (items of
// EVENT_TRANSFER_BYTES), EVT_PAYMENT (items of EVENT_PAYMENT_BYTES) and
// EVT_ALERT (items of EVENT_ALERT_BYTES), EVT_TRADING (items of EVENT_TRADING_BYTES) and EVT_FIX (items of
// EVENT_FIX_BYTES); EVT_CHECKPOINT is the kernel's own. Replay runs services again, so their
// events are numbered and emitted again the same.
export function sysEmit(type: u32, count: u32, len: u32): i32 {
  const s = current();
  if (s == null) return SYS_E_CONTEXT;
  if (!hasCap(s, CAP_EMIT)) return denied(s, "emit");
  if (len > areaBytes) return SYS_E_TOO_LARGE;
  const itemBytes = emitItemBytes(type);
  if (itemBytes == 0 || count == 0 || count > <u32>EVENT_ITEMS_MAX) return SYS_E_INVALID;
  if (<u64>len != <u64>count * <u64>itemBytes) return SYS_E_INVALID;
  assert(type != <u32>EVT_CHECKPOINT, "emit: checkpoints are the kernel's own");
  eventsEmit(type, s.index, callerTimeNs, sysArea(), count, itemBytes);
  return SYS_OK;
}

// The item size of an event type a service may emit; 0 for any other type
// (checkpoints are the kernel's own, unknown types are refused).
function emitItemBytes(type: u32): u32 {
  if (type == <u32>EVT_TRANSFER) return <u32>EVENT_TRANSFER_BYTES;
  if (type == <u32>EVT_PAYMENT) return <u32>EVENT_PAYMENT_BYTES;
  if (type == <u32>EVT_ALERT) return <u32>EVENT_ALERT_BYTES;
  if (type == <u32>EVT_TRADING) return <u32>EVENT_TRADING_BYTES;
  if (type == <u32>EVT_FIX) return <u32>EVENT_FIX_BYTES;
  return 0;
}

// Asks the HSM for a key operation (hal/abi.ts HSM section; kernel/hsm.ts).
// The request names a key label that the manifest must grant this service
// (hsm_keys), or, for OP_HSM_RANDOM, capability hsm_random; otherwise
// SYS_E_DENIED, counted and printed with the label, and nothing reaches the
// host. Returns the request id (> 0): the result arrives as MSG_KIND_REPLY
// from SENDER_KERNEL starting with that id, after it is logged.
export function sysHsm(op: u32, len: u32): i32 {
  const s = current();
  if (s == null) return SYS_E_CONTEXT;
  if (len > areaBytes || len > <u32>HSM_BUFFER_BYTES) return SYS_E_TOO_LARGE;
  const resultBytes = hsmResultBytes(op, sysArea(), len);
  if (resultBytes < 0) return SYS_E_INVALID;
  if (hsmAllowed(s.index, op, sysArea()) != SYS_OK) return deniedHsm(s, sysArea());
  // The reply must fit a message and the service's inbox, like any other.
  let cap = areaBytes < s.inboxBytes ? areaBytes : s.inboxBytes;
  cap = cap > <u32>HSM_REPLY_HEADER_BYTES ? cap - HSM_REPLY_HEADER_BYTES : 0;
  if (cap > <u32>HSM_BUFFER_BYTES) cap = HSM_BUFFER_BYTES;
  if (<u32>resultBytes > cap) return SYS_E_TOO_LARGE;
  const id = hsmIssue(s.index, op, sysArea(), len, cap, phase == PHASE_RECOVER);
  assert(id > 0 || id == SYS_E_FULL || id == SYS_E_DENIED, "hsm: a request id, or why there is none");
  return id;
}

// A denied HSM request: like denied(), and the console line names the label.
function deniedHsm(s: Service, request: usize): i32 {
  // hsmResultBytes checked the request: its label length is within bounds.
  assert(s.index == caller && <u32>load<u16>(request) <= <u32>HSM_LABEL_BYTES_MAX, "deniedHsm: the caller's well-formed request");
  s.denied++;
  countDenied();
  if (phase != PHASE_RECOVER && conBegin()) {
    conStr("{\"event\":\"syscall_denied\",\"service\":\"");
    conEscaped(s.nameAddr, s.nameLen);
    conStr("\",\"call\":\"hsm\",\"label\":\"");
    conEscaped(request + 4, <usize>load<u16>(request));
    conStr("\",\"count\":");
    conU64(s.denied);
    conEnd(true);
  }
  return SYS_E_DENIED;
}

// Programs the kernel's admission table (hal/abi.ts "admission"): the
// authority's route policy and its keys. Called while the authority applies
// logged input, live and on replay alike, so the table follows the log.
export function sysAdmission(op: u32, len: u32): i32 {
  const s = current();
  if (s == null) return SYS_E_CONTEXT;
  if (!hasCap(s, CAP_ADMIT)) return denied(s, "admission");
  if (len > areaBytes) return SYS_E_TOO_LARGE;
  const r = admissionProgram(op, sysArea(), len);
  assert(r == SYS_OK || r == SYS_E_INVALID, "admission: programmed, or refused as invalid");
  return r;
}

// A block request on the caller's own grid (hal/devices/grid.ts; kernel/storage.ts).
export function sysStorageCall(op: u32, len: u32): i32 {
  const s = current();
  if (s == null) return SYS_E_CONTEXT;
  if (!hasCap(s, <u32>CAP_STORAGE)) return denied(s, "storage");
  return sysStorage(op, sysArea(), len, areaBytes);
}
