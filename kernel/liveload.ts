// kernel/liveload.ts: loading, upgrading and unloading services in a running
// system (issue 4). The kernel decides; the host verifies, instantiates and
// reports (hal/abi.ts "live service load" is the contract).
//
// The way of a load: an admin's HTTP request is a logged input to the
// gateway service, which authorises it and send()s the command to
// SYSTEM_PEER (capability "system"). The command waits in a small FIFO here;
// kernel_run takes it when no message is being handled, checks it and either
// answers at once (bad command, name taken, table full, capability denied,
// unsigned) or returns ACT_SERVICE. The host performs it and calls
// service_action_done; the kernel commits or undoes the table change and
// replies to the sender. Replay applies the same input, so the gateway sends
// the same command, the host verifies the same bytes against the same keys
// and the same services come and go at the same point of the log.
//
// Decisions:
// - Names are unique among services that are not unloaded; an unloaded
//   service's name can be loaded again at once (it gets a new table entry).
// - The table has SERVICES_MAX entries. A new service takes the next free
//   entry; when none is left, an unloaded entry with nothing queued is reused.
// - Capability denied: a loaded service may get only the plain capabilities
//   (net, log, time, random, timer) that the sending service holds itself, so
//   a command can never create more authority than its sender has; "system"
//   and send:<peer> are never given to a loaded service.
// - Only live-loaded services can be unloaded (the image's services are
//   changed by a new image); any service but the sender can be upgraded.
// - A command's module must carry a signature; whether it verifies against
//   the trusted keys is the host's check (host/modsig.ts).
// - Queued messages of an unloaded service are refused with
//   FRAME_E_UNKNOWN_SERVICE (clients) or MSG_KIND_FAILED (senders); so are
//   any that reach it later (timers). Requests it was already handed and did
//   not answer stay unanswered (a service answers in qx_handle).
// - The reply to the sender reuses the command's message slot, so a decided
//   command is always answered, even when every pool is full.

import {
  SVC_OP_LOAD, SVC_OP_UPGRADE, SVC_OP_UNLOAD, SVC_CMD_HEADER_BYTES, SVC_REPLY_HEADER_BYTES, SVC_MEMORY_PAGES_DEFAULT,
  SVC_OK, SVC_E_MALFORMED, SVC_E_EXISTS, SVC_E_NO_SUCH_SERVICE, SVC_E_TABLE_FULL, SVC_E_CAPS_DENIED, SVC_E_SIGNATURE,
  SVC_E_MODULE, SVC_E_INIT, SVC_E_MIGRATE, SVC_E_PROTECTED, SVC_E_COUNT,
  SYS_OK, SYS_E_FULL, MSG_KIND_MESSAGE, MSG_KIND_REPLY, MSG_KIND_REQUEST, SENDER_KERNEL, SERVICE_NAME_BYTES_MAX,
  FRAME_E_UNKNOWN_SERVICE,
} from "../hal/abi";
import {
  SERVICES_MAX, FUEL_PER_MESSAGE_DEFAULT, FUEL_INIT_DEFAULT, RESTARTS_MAX_DEFAULT, RESTART_WINDOW_MS_DEFAULT,
} from "./base/constants";
import { POOL_EMPTY, reserve } from "./base/mem";
import { Service, service, serviceCount, serviceAdd, serviceDropLast, serviceFind, NO_SERVICE, CAP_NET, CAP_LOG, CAP_TIME, CAP_RANDOM, CAP_TIMER } from "./services";
import { descriptors, slots, msgAt, msgSet, msgAddr, msgLen, msgSender, msgTime, msgSlot, inboxPush, msgRelease } from "./msg";
import { schedWake, schedCurrent } from "./sched";
import { setCaller } from "./state";
import { setDispatch } from "./base/hal";
import { abortToken } from "./supervise";
import { timersCancel } from "./timers";
import { conBegin, conStr, conU64, conEscaped, conEnd } from "../drivers/console/console";

// Commands waiting to be taken: one admin rarely has more than one in
// flight; 8 absorbs a burst, beyond it send() answers SYS_E_FULL.
const QUEUE_MAX: u32 = 8;
const LOADED_PRIORITY: u32 = 1; // after the image's first class (ledger, gateway)
const LOADED_BUDGET: u32 = 16;

// What a live load may ask for (the command's caps, hal/liveload.ts).
const DELEGABLE: u32 = CAP_NET | CAP_LOG | CAP_TIME | CAP_RANDOM | CAP_TIMER;

const queue: usize = memory.data(<i32>(QUEUE_MAX * 4), 16); // descriptor indices, FIFO
let queueHead: u32 = 0;
let queueLen: u32 = 0;
let names: usize = 0; // SERVICES_MAX names of loaded services, SERVICE_NAME_BYTES_MAX each

// The command handed to the host (ACT_SERVICE), until service_action_done.
let active: u32 = POOL_EMPTY;
let activeOp: u32 = 0;
let activeIndex: u32 = NO_SERVICE;
let activeOrigin: u32 = NO_SERVICE;
let activeTimeNs: u64 = 0;
let activeAppended: bool = false; // the load took a new table entry
export let commandsDone: u64 = 0;

export function liveInit(): bool {
  assert(names == 0 && queueLen == 0 && active == POOL_EMPTY, "liveInit: reserved once, before any command");
  names = reserve(<usize>SERVICES_MAX * SERVICE_NAME_BYTES_MAX, "loaded service names");
  return names != 0;
}

// send(SYSTEM_PEER, ...) by `origin` (capability checked by the caller):
// copies the command at src into a message slot and queues it.
export function systemSubmit(origin: u32, src: usize, len: u32, timeNs: u64): i32 {
  assert(origin < serviceCount && len <= slots.slotBytes && (src != 0 || len == 0), "systemSubmit: a service's command that fits a message slot");
  if (queueLen >= QUEUE_MAX) return SYS_E_FULL;
  const slot = slots.take();
  if (slot == POOL_EMPTY) return SYS_E_FULL;
  const desc = descriptors.take();
  if (desc == POOL_EMPTY) { slots.give(slot); return SYS_E_FULL; }
  const addr = slots.slot(slot);
  memory.copy(addr, src, len);
  msgSet(desc, MSG_KIND_MESSAGE, origin, 0, addr, len, slot, timeNs);
  store<u32>(queue + <usize>((queueHead + queueLen) % QUEUE_MAX) * 4, desc);
  queueLen++;
  assert(queueLen <= QUEUE_MAX, "systemSubmit: more commands queued than the queue holds");
  return SYS_OK;
}

/** A command waits and none is with the host. */
export function systemPending(): bool {
  assert(queueLen <= QUEUE_MAX && queueHead < QUEUE_MAX, "systemPending: the command queue's indices are in range");
  return queueLen > 0 && active == POOL_EMPTY;
}

export function activeService(): u32 {
  assert(active != POOL_EMPTY && activeIndex < serviceCount, "activeService: a command with the host names a service");
  return activeIndex;
}
export function activeTime(): u64 {
  assert(active != POOL_EMPTY, "activeTime: no command is with the host");
  return activeTimeNs;
}

function validName(p: usize, n: u32): bool {
  assert(p != 0, "validName: name bytes at address 0");
  if (n == 0 || n > <u32>SERVICE_NAME_BYTES_MAX) return false;
  for (let i: u32 = 0; i < n; i++) {
    const c = <u32>load<u8>(p + i);
    const letter = c >= 0x61 && c <= 0x7a;
    const digit = c >= 0x30 && c <= 0x39;
    if (!(letter || (i > 0 && (digit || c == 0x2d || c == 0x5f)))) return false;
  }
  return true;
}

// An entry for a new service: the next unused one, else an unloaded one
// that nothing refers to any more (empty inbox, not scheduled).
function freeEntry(): u32 {
  assert(serviceCount <= SERVICES_MAX, "freeEntry: more services than the table holds");
  if (serviceCount < SERVICES_MAX) return NO_SERVICE - 1; // append
  for (let i: u32 = 0; i < serviceCount; i++) {
    const s = service(i);
    if (s.unloaded && s.inboxLen == 0 && !s.ready && schedCurrent() != i) return i;
  }
  return NO_SERVICE;
}

function resetEntry(s: Service, index: u32): void {
  assert(s.unloaded && s.inboxLen == 0 && !s.ready && s.index == index, "resetEntry: only an unloaded entry nothing refers to is reused");
  memory.fill(changetype<usize>(s), 0, offsetof<Service>());
  s.index = index;
  s.inboxHead = POOL_EMPTY;
  s.inboxTail = POOL_EMPTY;
  s.readyNext = NO_SERVICE;
}

// Takes the next command. True: it is with the host now (return
// ACT_SERVICE); false: it was answered at once.
export function systemStep(): bool {
  assert(queueLen > 0 && active == POOL_EMPTY, "systemStep: a command waits and none is with the host");
  const desc = load<u32>(queue + <usize>queueHead * 4);
  queueHead = (queueHead + 1) % QUEUE_MAX;
  queueLen--;
  const m = msgAt(desc);
  const cmd = msgAddr(m);
  const len = msgLen(m);
  const origin = msgSender(m);
  const timeNs = msgTime(m);
  active = desc;
  activeOrigin = origin;
  activeTimeNs = timeNs;
  activeIndex = NO_SERVICE;
  activeAppended = false;
  activeOp = len >= <u32>SVC_CMD_HEADER_BYTES ? <u32>load<u8>(cmd) : 0;
  if (len < <u32>SVC_CMD_HEADER_BYTES || load<u16>(cmd + 2) != 0) return refuse(SVC_E_MALFORMED, "malformed service command: short or reserved bytes set");
  const op = activeOp;
  const nameLen = <u32>load<u8>(cmd + 1);
  const caps = load<u32>(cmd + 4);
  const pages = load<u32>(cmd + 8);
  const moduleLen = load<u32>(cmd + 12);
  const sigLen = load<u32>(cmd + 16);
  const configLen = load<u32>(cmd + 20);
  const name = cmd + 24;
  if (op != SVC_OP_LOAD && op != SVC_OP_UPGRADE && op != SVC_OP_UNLOAD) return refuse(SVC_E_MALFORMED, "malformed service command: unknown operation");
  if (<u64>SVC_CMD_HEADER_BYTES + <u64>moduleLen + <u64>sigLen + <u64>configLen != <u64>len) return refuse(SVC_E_MALFORMED, "malformed service command: lengths do not add up");
  if (!validName(name, nameLen)) return refuse(SVC_E_MALFORMED, "invalid service name: 1 to 32 of a-z, 0-9, - and _, starting with a letter");
  const found = serviceFind(name, nameLen);
  if (op == SVC_OP_UNLOAD) {
    if (moduleLen != 0 || sigLen != 0 || configLen != 0 || caps != 0) return refuse(SVC_E_MALFORMED, "malformed service command: unload carries no module");
    return stepUnload(found, origin, cmd, len, timeNs);
  }
  if (moduleLen == 0) return refuse(SVC_E_MALFORMED, "malformed service command: no module");
  if (sigLen == 0) return refuse(SVC_E_SIGNATURE, "the module is not signed: sign it with qenex sign <module.wasm> --key <signing.key>");
  if (op == SVC_OP_UPGRADE) {
    if (caps != 0 || configLen != 0 || pages != 0) return refuse(SVC_E_MALFORMED, "malformed service command: an upgrade keeps the service's capabilities, memory limit and config");
    return stepUpgrade(found, origin, cmd, len, timeNs);
  }
  if (found != NO_SERVICE) return refuse(SVC_E_EXISTS, "a service with that name is running");
  return stepLoad(origin, caps, pages, name, nameLen, cmd, len, timeNs);
}

/** An unload command that passed the header checks: refused, or dispatched to the host. */
function stepUnload(found: u32, origin: u32, cmd: usize, len: u32, timeNs: u64): bool {
  if (found == NO_SERVICE) return refuse(SVC_E_NO_SUCH_SERVICE, "no service with that name");
  activeIndex = found;
  if (found == origin) return refuse(SVC_E_PROTECTED, "a service cannot unload itself");
  if (!service(found).live) return refuse(SVC_E_PROTECTED, "only services loaded into the running system can be unloaded; the image's services change with a new image");
  assert(found < serviceCount && found != origin, "systemStep: unload names another service in the table");
  setCaller(NO_SERVICE, timeNs);
  setDispatch(found, SVC_OP_UNLOAD, cmd, len, service(found).version, 0, timeNs);
  return true;
}

/** An upgrade command that passed the header checks: refused, or dispatched to the host. */
function stepUpgrade(found: u32, origin: u32, cmd: usize, len: u32, timeNs: u64): bool {
  if (found == NO_SERVICE) return refuse(SVC_E_NO_SUCH_SERVICE, "no service with that name");
  activeIndex = found;
  if (found == origin) return refuse(SVC_E_PROTECTED, "a service cannot upgrade itself");
  if (service(found).failed) return refuse(SVC_E_PROTECTED, "the service has failed; unload it and load the new version");
  assert(found < serviceCount && found != origin, "systemStep: upgrade names another service in the table");
  setCaller(found, timeNs);
  setDispatch(found, SVC_OP_UPGRADE, cmd, len, service(found).version, 0, timeNs);
  return true;
}

/** A load command of a new name that passed the header checks: refused, or a table entry taken and dispatched. */
function stepLoad(origin: u32, caps: u32, pagesAsked: u32, name: usize, nameLen: u32, cmd: usize, len: u32, timeNs: u64): bool {
  if ((caps & ~DELEGABLE) != 0) return refuse(SVC_E_CAPS_DENIED, "capability denied: a loaded service may get only net, log, time, random and timer");
  if ((caps & ~service(origin).caps) != 0) return refuse(SVC_E_CAPS_DENIED, "capability denied: the loading service does not hold every requested capability itself");
  const pages = pagesAsked == 0 ? SVC_MEMORY_PAGES_DEFAULT : pagesAsked;
  if (pages > 65536) return refuse(SVC_E_MALFORMED, "memory_pages_max is 1 to 65536");
  const entry = freeEntry();
  if (entry == NO_SERVICE) return refuse(SVC_E_TABLE_FULL, "the service table is full (64 services) and no unloaded entry is free");
  let s: Service;
  activeAppended = entry == NO_SERVICE - 1;
  if (activeAppended) {
    s = serviceAdd(0, 0);
  } else {
    s = service(entry);
    resetEntry(s, entry);
  }
  const nameAddr = names + <usize>s.index * SERVICE_NAME_BYTES_MAX;
  memory.copy(nameAddr, name, nameLen);
  s.nameAddr = nameAddr;
  s.nameLen = nameLen;
  s.priority = LOADED_PRIORITY;
  s.budget = LOADED_BUDGET;
  s.caps = caps;
  s.sendMask = 0;
  s.memoryPagesMax = pages;
  s.fuelPerMessage = FUEL_PER_MESSAGE_DEFAULT;
  s.fuelInit = FUEL_INIT_DEFAULT;
  s.restartsMax = RESTARTS_MAX_DEFAULT;
  s.restartWindowNs = RESTART_WINDOW_MS_DEFAULT * 1000000;
  s.version = 1;
  s.live = true;
  s.unloaded = false;
  activeIndex = s.index;
  assert(s.index < serviceCount && s.live && (s.caps & ~DELEGABLE) == 0, "systemStep: a loaded service holds only delegable capabilities");
  setCaller(s.index, timeNs);
  setDispatch(s.index, SVC_OP_LOAD, cmd, len, 0, 0, timeNs);
  return true;
}

// Answers the active command at once (nothing changed).
function refuse(result: u32, text: string): bool {
  assert(result != SVC_OK && result < <u32>SVC_E_COUNT, "refuse: a refusal with a known result");
  finish(result, text);
  return false;
}

function resultText(result: u32): string {
  assert(result != SVC_OK, "resultText: only a failure needs a text");
  switch (result) {
    case SVC_E_SIGNATURE: return "the module's signature does not verify against a trusted key";
    case SVC_E_MODULE: return "the module is not a service the host will run (imports, exports, memory or limits; the console says which)";
    case SVC_E_INIT: return "the module's qx_init trapped or ran out of fuel; nothing was loaded";
    case SVC_E_MIGRATE: return "the upgrade failed (state hand-off impossible, or qx_migrate trapped or returned non-zero); the old version keeps running";
    case SVC_E_MALFORMED: return "malformed service command";
    default: return "the host could not perform the service command";
  }
}

// The host's answer to ACT_SERVICE (SVC_OK or SVC_E_*).
export function systemDone(result: u32, inboxBytes: u32): void {
  assert(active != POOL_EMPTY && activeIndex != NO_SERVICE, "service_action_done without ACT_SERVICE");
  assert(result < <u32>SVC_E_COUNT, "service_action_done: unknown result");
  const s = service(activeIndex);
  if (result == SVC_OK) {
    if (activeOp == SVC_OP_UNLOAD) {
      s.unloaded = true;
      timersCancel(s.index);
      finish(SVC_OK, "service unloaded; its queued requests are refused");
    } else if (activeOp == SVC_OP_UPGRADE) {
      s.version++;
      s.inboxBytes = inboxBytes;
      finish(SVC_OK, "service upgraded; its state was handed over");
    } else {
      s.inboxBytes = inboxBytes;
      finish(SVC_OK, "service loaded");
    }
  } else {
    // A failed load leaves nothing behind: its timers (qx_init may have set
    // one) are cancelled and its entry given back; a loaded service can send
    // to no one, so nothing else refers to it. Its name is free again.
    if (activeOp == SVC_OP_LOAD) {
      timersCancel(s.index);
      s.unloaded = true;
    }
    finish(result, resultText(result));
    if (activeOp == SVC_OP_LOAD && activeAppended && s.index == serviceCount - 1 && s.inboxLen == 0 && !s.ready) serviceDropLast();
  }
  assert(active == POOL_EMPTY && activeIndex == NO_SERVICE, "systemDone: the command was answered");
  setCaller(NO_SERVICE, 0);
}

// Replies to the command's sender in the command's own slot and ends it.
function finish(result: u32, text: string): void {
  const desc = active;
  assert(desc != POOL_EMPTY && result < <u32>SVC_E_COUNT, "finish: a command with a known result");
  const m = msgAt(desc);
  assert(msgSlot(m) != POOL_EMPTY, "finish: the command's own slot carries the reply");
  const out = msgAddr(m);
  const index = activeIndex;
  const version = index == NO_SERVICE ? 0 : service(index).version;
  store<u32>(out, result);
  store<u32>(out + 4, index == NO_SERVICE ? 0xffffffff : index);
  store<u32>(out + 8, version);
  let n: u32 = 0;
  for (; n < <u32>text.length && n < 240; n++) store<u8>(out + SVC_REPLY_HEADER_BYTES + n, <u8>text.charCodeAt(n));
  assert(<u32>SVC_REPLY_HEADER_BYTES + n <= slots.slotBytes, "finish: the reply fits the command's slot");
  report(result, index, version, out + SVC_REPLY_HEADER_BYTES, n);
  const origin = activeOrigin;
  msgSet(desc, MSG_KIND_REPLY, SENDER_KERNEL, 0, out, SVC_REPLY_HEADER_BYTES + n, msgSlot(m), activeTimeNs);
  active = POOL_EMPTY;
  activeIndex = NO_SERVICE;
  commandsDone++;
  if (origin < serviceCount && !service(origin).unloaded) {
    inboxPush(service(origin), desc);
    schedWake(service(origin));
  } else {
    msgRelease(desc);
  }
}

function opName(op: u32): string {
  return op == SVC_OP_LOAD ? "load" : op == SVC_OP_UPGRADE ? "upgrade" : op == SVC_OP_UNLOAD ? "unload" : "unknown";
}

function report(result: u32, index: u32, version: u32, text: usize, n: u32): void {
  assert(index == NO_SERVICE || index < serviceCount, "report: a service in the table, or none");
  if (!conBegin()) return;
  conStr(result == SVC_OK ? "{\"event\":\"service_command\",\"op\":\"" : "{\"event\":\"service_command_refused\",\"op\":\"");
  conStr(opName(activeOp));
  if (index != NO_SERVICE) {
    conStr("\",\"service\":\"");
    conEscaped(service(index).nameAddr, service(index).nameLen);
    conStr("\",\"index\":"); conU64(index);
    conStr(",\"version\":"); conU64(version);
  } else conStr("\"");
  conStr(",\"result\":"); conU64(result);
  conStr(",\"message\":\"");
  conEscaped(text, n);
  conStr("\"");
  conEnd(result != SVC_OK);
}

// A message for an unloaded service: refused, never delivered.
export function refuseUnloaded(s: Service, kind: u32, token: u32): void {
  assert(s.unloaded, "refuseUnloaded: only an unloaded service's messages are refused");
  if (kind == MSG_KIND_REQUEST || kind == MSG_KIND_MESSAGE) {
    abortToken(s, token, FRAME_E_UNKNOWN_SERVICE, "service unloaded: nothing was applied");
  }
}
