// kernel/hsm.ts: HSM key operations for services, with per-service key
// grants, and HSM results entering the machine through the command log.
//
// The same ring carries the kernel's own request to sign a due audit
// checkpoint (hsmCheckpoint, OP_HSM_CHECKPOINT; kernel/audit.ts); its answer
// is logged as the checkpoint entry itself.
//
// Grants come from the manifest (services[].hsm_keys: key labels; capability
// "hsm_random" for OP_HSM_RANDOM) and are checked on every hsm() syscall
// (kernel/syscalls.ts); a service never names a key it was not granted to
// the host. Protocol and request layout: hal/abi.ts, HSM section.
//
// Life of one request (a slot of drivers/hsm):
//   syscall   live: the request is copied into a free slot and submitted
//             (SUBMITTED); in recovery the service asks again as it did
//             live, the slot only remembers it (REPLAYED), nothing is sent
//   complete  the host's result is in the slot (DONE)
//   stage     the result is staged as an ENTRY_HSM log entry (LOGGED)
//   apply     the entry, durable, is applied: the slot is freed and the
//             service gets MSG_KIND_REPLY from SENDER_KERNEL
// Request ids are handed out in the order services make the calls, which
// the log fixes, so a replay gives every request the id it had live and
// matches each logged result to it. A crash after submit and before the
// result was durable leaves REPLAYED slots at the end of recovery: each is
// answered HSM_E_INTERRUPTED through the log (no HSM operation changes the
// token, so the service may simply ask again).

import {
  MSG_KIND_REPLY, SENDER_KERNEL, SYS_OK, SYS_E_INVALID, SYS_E_DENIED, SYS_E_FULL, SYS_E_TOO_LARGE,
  OP_HSM_SIGN, OP_HSM_VERIFY, OP_HSM_ENCRYPT, OP_HSM_DECRYPT, OP_HSM_RANDOM, OP_HSM_PUBLIC_KEY,
  HSM_REQUEST_HEADER_BYTES, HSM_REPLY_HEADER_BYTES, HSM_LABEL_BYTES_MAX, HSM_GRANTS_PER_SERVICE_MAX,
  HSM_BUFFER_BYTES, HSM_IV_BYTES, HSM_TAG_BYTES, HSM_SIGNATURE_BYTES, HSM_PUBLIC_KEY_BYTES,
  HSM_OK, HSM_E_FAILED, HSM_E_INTERRUPTED,
} from "../hal/abi";
import { HSM_REQUESTS_MAX, HSM_GRANTS_MAX, IMAGE_SERVICES_MAX } from "./base/constants";

// hal/abi.ts constants are plain i32 literals; the unsigned forms used here.
const REQUEST_HEADER: u32 = HSM_REQUEST_HEADER_BYTES;
const BUFFER_BYTES: u32 = HSM_BUFFER_BYTES;
const IV_BYTES: u32 = HSM_IV_BYTES;
const TAG_BYTES: u32 = HSM_TAG_BYTES;
import { reserve, POOL_EMPTY } from "./base/mem";
import { service, serviceCount } from "./services";
import { descriptors, msgSet, inboxPush } from "./msg";
import { schedWake } from "./sched";
import * as log from "./log";
import { hsmDriverInit, hsmSlotBuffer, hsmSlotRequest, hsmSubmit, hsmSubmitCheckpoint, hsmCompletion, hsmCompletionDone, TAG_CHECKPOINT } from "../drivers/hsm/hsm";
import { auditTakeWanted, auditSigned, CHECKPOINT_BODY_BYTES, CHECKPOINT_BYTES_MAX } from "./audit";
import { descTag, descLen, descStatus } from "./base/ring";
import { conBegin, conStr, conU64, conEnd } from "../drivers/console/console";
import { sha256Update } from "../lib/sha256";

// ---- grants (boot time) ----

const grantService = new StaticArray<u32>(HSM_GRANTS_MAX);
const grantAddr = new StaticArray<usize>(HSM_GRANTS_MAX);
const grantLen = new StaticArray<u32>(HSM_GRANTS_MAX);
let grantCount: u32 = 0;
let randomMask: u64 = 0; // services with capability "hsm_random"

// True once any service may use the HSM: only then are rings and buffers reserved.
export function hsmEnabled(): bool {
  assert(grantCount <= HSM_GRANTS_MAX, "hsm: more grants than the table holds");
  return grantCount > 0 || randomMask != 0;
}

function labelByteOk(c: u32): bool { return c >= 0x21 && c <= 0x7e; }

function grantFind(serviceIndex: u32, p: usize, n: u32): bool {
  assert(n <= <u32>HSM_LABEL_BYTES_MAX && (p != 0 || n == 0), "grantFind: a label whose length was checked");
  for (let i: u32 = 0; i < grantCount; i++) {
    if (unchecked(grantService[i]) == serviceIndex && unchecked(grantLen[i]) == n
        && memory.compare(unchecked(grantAddr[i]), p, <usize>n) == 0) return true;
  }
  return false;
}

// Grants `label` to a service (manifest services[].hsm_keys). Returns "" or
// the reason it is refused. Boot only (allocates).
export function hsmGrant(serviceIndex: u32, label: string): string {
  assert(serviceIndex < IMAGE_SERVICES_MAX, "hsmGrant: grants come from the image's manifest");
  const bytes = String.UTF8.encode(label);
  const n = <u32>bytes.byteLength;
  const p = changetype<usize>(bytes);
  if (n == 0 || n > <u32>HSM_LABEL_BYTES_MAX) return "key label must be 1.." + HSM_LABEL_BYTES_MAX.toString() + " bytes";
  for (let i: u32 = 0; i < n; i++) {
    if (!labelByteOk(<u32>load<u8>(p + i))) return "key label \"" + label + "\" must be printable ASCII without spaces";
  }
  if (grantFind(serviceIndex, p, n)) return "key label \"" + label + "\" granted twice";
  let mine: u32 = 0;
  for (let i: u32 = 0; i < grantCount; i++) if (unchecked(grantService[i]) == serviceIndex) mine++;
  if (mine >= <u32>HSM_GRANTS_PER_SERVICE_MAX) return "more than " + HSM_GRANTS_PER_SERVICE_MAX.toString() + " hsm_keys";
  if (grantCount >= HSM_GRANTS_MAX) return "more than " + HSM_GRANTS_MAX.toString() + " hsm_keys in all services";
  const stored = reserve(<usize>n, "hsm key labels");
  if (stored == 0) return "no memory for hsm key labels";
  memory.copy(stored, p, n);
  unchecked(grantService[grantCount] = serviceIndex);
  unchecked(grantAddr[grantCount] = stored);
  unchecked(grantLen[grantCount] = n);
  grantCount++;
  assert(grantFind(serviceIndex, stored, n), "hsmGrant: a granted label is found");
  return "";
}

export function hsmGrantRandom(serviceIndex: u32): void {
  assert(serviceIndex < IMAGE_SERVICES_MAX, "hsmGrantRandom: grants come from the image's manifest");
  randomMask |= <u64>1 << <u64>serviceIndex;
}

// ---- requests in flight ----

const SLOT_FREE: u8 = 0;
const SLOT_SUBMITTED: u8 = 1;
const SLOT_DONE: u8 = 2;
const SLOT_LOGGED: u8 = 3;
const SLOT_REPLAYED: u8 = 4;

const slotState = new StaticArray<u8>(HSM_REQUESTS_MAX);
const slotService = new StaticArray<u32>(HSM_REQUESTS_MAX);
const slotId = new StaticArray<u32>(HSM_REQUESTS_MAX);
const slotOp = new StaticArray<u32>(HSM_REQUESTS_MAX);
const slotCap = new StaticArray<u32>(HSM_REQUESTS_MAX);
const slotLen = new StaticArray<u32>(HSM_REQUESTS_MAX); // header + result bytes to log
let nextId: u32 = 1; // ids are positive i32 (the syscall's result)
let inUse: u32 = 0;
let unmatched: u64 = 0; // results that answered no known request (see hsmApply)

export function hsmInit(): bool {
  assert(inUse == 0 && nextId == 1, "hsmInit: no request before boot");
  return hsmDriverInit(hsmEnabled());
}

// A due audit checkpoint goes to the host for signing (kernel/audit.ts).
export function hsmCheckpoint(): void {
  const b = auditTakeWanted();
  assert(CHECKPOINT_BODY_BYTES <= CHECKPOINT_BYTES_MAX, "hsmCheckpoint: the body fits the checkpoint buffer");
  if (b != 0) hsmSubmitCheckpoint(b, CHECKPOINT_BODY_BYTES, CHECKPOINT_BYTES_MAX);
}

export function hsmBusy(): bool {
  assert(inUse <= HSM_REQUESTS_MAX, "hsmBusy: more requests in flight than slots");
  return inUse > 0;
}

// ---- the syscall's checks (kernel/syscalls.ts sysHsm) ----

// Result bytes of a well-formed request, or -1 when it is malformed.
export function hsmResultBytes(op: u32, p: usize, len: u32): i32 {
  assert(p != 0, "hsmResultBytes: request at address 0");
  if (len < REQUEST_HEADER || len > BUFFER_BYTES || load<u16>(p + 2) != 0) return -1;
  const labelLen = <u32>load<u16>(p);
  if (op == OP_HSM_RANDOM) {
    if (labelLen != 0 || len != REQUEST_HEADER + 4) return -1;
    const count = load<u32>(p + REQUEST_HEADER);
    return count == 0 || count > BUFFER_BYTES ? -1 : <i32>count;
  }
  if (labelLen == 0 || labelLen > <u32>HSM_LABEL_BYTES_MAX || REQUEST_HEADER + labelLen > len) return -1;
  const body = p + REQUEST_HEADER + labelLen;
  const n = len - REQUEST_HEADER - labelLen;
  if (op == OP_HSM_SIGN) return HSM_SIGNATURE_BYTES;
  if (op == OP_HSM_PUBLIC_KEY) return n == 0 ? HSM_PUBLIC_KEY_BYTES : -1;
  if (op == OP_HSM_VERIFY) return n >= 4 && load<u32>(body) <= n - 4 ? 1 : -1;
  if (op != OP_HSM_ENCRYPT && op != OP_HSM_DECRYPT) return -1;
  if (n < IV_BYTES + 4) return -1;
  const aadLen = load<u32>(body + IV_BYTES);
  if (aadLen > n - IV_BYTES - 4) return -1;
  const dataLen = n - IV_BYTES - 4 - aadLen;
  assert(dataLen + TAG_BYTES <= BUFFER_BYTES, "hsmResultBytes: a sealed result fits an HSM buffer");
  if (op == OP_HSM_ENCRYPT) return <i32>(dataLen + TAG_BYTES);
  return dataLen < TAG_BYTES ? -1 : <i32>(dataLen - TAG_BYTES);
}

// SYS_OK when the service may make this request (its label is granted, or
// capability hsm_random for OP_HSM_RANDOM), else SYS_E_DENIED. The request
// is well-formed (hsmResultBytes >= 0).
export function hsmAllowed(serviceIndex: u32, op: u32, p: usize): i32 {
  assert(serviceIndex < 64 && (op == OP_HSM_RANDOM || <u32>load<u16>(p) <= <u32>HSM_LABEL_BYTES_MAX), "hsmAllowed: a service's well-formed request");
  if (op == OP_HSM_RANDOM) return (randomMask & (<u64>1 << <u64>serviceIndex)) != 0 ? SYS_OK : SYS_E_DENIED;
  return grantFind(serviceIndex, p + REQUEST_HEADER, <u32>load<u16>(p)) ? SYS_OK : SYS_E_DENIED;
}

// Takes a slot for the request at p (checked by the caller) and, live,
// hands it to the host. Returns the request id, or SYS_E_FULL.
export function hsmIssue(serviceIndex: u32, op: u32, p: usize, len: u32, resultCap: u32, recovering: bool): i32 {
  assert(len <= BUFFER_BYTES && resultCap <= BUFFER_BYTES, "hsmIssue: the request and its result fit an HSM buffer");
  if (!hsmEnabled()) return SYS_E_DENIED;
  let slot: u32 = HSM_REQUESTS_MAX;
  for (let i: u32 = 0; i < HSM_REQUESTS_MAX; i++) {
    if (unchecked(slotState[i]) == SLOT_FREE) { slot = i; break; }
  }
  if (slot == HSM_REQUESTS_MAX) return SYS_E_FULL;
  const id = nextId;
  assert(id > 0 && id <= 0x7fffffff && inUse < HSM_REQUESTS_MAX, "hsmIssue: a positive i32 id, and a free slot counted");
  nextId = nextId >= 0x7fffffff ? 1 : nextId + 1;
  unchecked(slotService[slot] = serviceIndex);
  unchecked(slotId[slot] = id);
  unchecked(slotOp[slot] = op);
  unchecked(slotCap[slot] = resultCap);
  inUse++;
  if (recovering) {
    unchecked(slotState[slot] = SLOT_REPLAYED);
  } else {
    memory.copy(hsmSlotRequest(slot), p, len);
    unchecked(slotState[slot] = SLOT_SUBMITTED);
    hsmSubmit(slot, op, len, resultCap, id);
  }
  return <i32>id;
}

// After a machine snapshot restore (kernel/snapshot.ts): requests the old
// host had not answered (submitted, or answered but not yet logged) are, as
// in a replay, requests whose result is not in the log: a live boot answers
// them HSM_E_INTERRUPTED at the end of recovery (hsmRecovered).
export function hsmRestoredReset(): void {
  let open: u32 = 0;
  for (let i: u32 = 0; i < HSM_REQUESTS_MAX; i++) {
    if (unchecked(slotState[i]) != SLOT_FREE) { unchecked(slotState[i] = SLOT_REPLAYED); open++; }
  }
  assert(open == inUse, "hsmRestoredReset: the requests in flight are the slots in use");
}

// ---- completions, logging, applying ----

function writeHeader(slot: u32, status: i32, resultLen: u32): void {
  assert(slot < HSM_REQUESTS_MAX && status <= 0 && resultLen <= unchecked(slotCap[slot]), "writeHeader: a result within what the service can take");
  const b = hsmSlotBuffer(slot);
  store<u32>(b, unchecked(slotId[slot]));
  store<i32>(b + 4, status);
  unchecked(slotLen[slot] = HSM_REPLY_HEADER_BYTES + resultLen);
  unchecked(slotState[slot] = SLOT_DONE);
}

// Reads the host's completions (from pollDevices).
export function hsmPoll(): void {
  for (let i: u32 = 0; i <= HSM_REQUESTS_MAX; i++) { // every slot and the checkpoint
    const d = hsmCompletion();
    if (d == 0) return;
    const slot = descTag(d);
    let status = descStatus(d);
    let len = descLen(d);
    hsmCompletionDone();
    if (slot == TAG_CHECKPOINT) { auditSigned(status == HSM_OK ? len : 0); continue; }
    assert(slot < HSM_REQUESTS_MAX && unchecked(slotState[slot]) == SLOT_SUBMITTED, "hsm completion for no request");
    // The host promised at most cap bytes; a longer answer is not passed on.
    if (len > unchecked(slotCap[slot]) || status > 0) { status = HSM_E_FAILED; len = 0; }
    writeHeader(slot, status, len);
  }
}

// Stages finished results in the command log (from serveStep, before the
// batch is sealed for writing). Stops when the batch has no room.
export function hsmStage(clockNs: u64): void {
  for (let i: u32 = 0; i < HSM_REQUESTS_MAX; i++) {
    if (unchecked(slotState[i]) != SLOT_DONE) continue;
    const n = unchecked(slotLen[i]);
    assert(n >= <u32>HSM_REPLY_HEADER_BYTES && n <= <u32>HSM_REPLY_HEADER_BYTES + BUFFER_BYTES && unchecked(slotService[i]) < serviceCount, "hsmStage: a result of a service, within its buffer");
    if (!log.logHasRoom(n)) return;
    log.logStage(log.ENTRY_HSM, unchecked(slotService[i]), <u64>unchecked(slotOp[i]), unchecked(slotId[i]),
      hsmSlotBuffer(i), n, clockNs);
    unchecked(slotState[i] = SLOT_LOGGED);
  }
}

// Encoded at start, before the allocator is sealed.
const interruptedText = String.UTF8.encode("the machine stopped before this HSM result was logged; nothing is known about it: ask again");

// End of a live recovery: requests made during replay whose results never
// reached the log are answered HSM_E_INTERRUPTED, through the log.
export function hsmRecovered(clockNs: u64): void {
  const text = interruptedText;
  assert(hsmEnabled() || inUse == 0, "hsmRecovered: requests exist only when the HSM is enabled");
  for (let i: u32 = 0; i < HSM_REQUESTS_MAX; i++) {
    if (unchecked(slotState[i]) != SLOT_REPLAYED) continue;
    let n = <u32>text.byteLength;
    if (n > unchecked(slotCap[i])) n = unchecked(slotCap[i]);
    memory.copy(hsmSlotRequest(i), changetype<usize>(text), n);
    writeHeader(i, HSM_E_INTERRUPTED, n);
  }
  hsmStage(clockNs);
}

// Applies an ENTRY_HSM entry (live or in recovery): the request it answers
// is done, and its service gets the result.
export function hsmApply(e: usize, timeNs: u64): void {
  const serviceIndex = <u32>load<u16>(e + log.ENTRY_SERVICE);
  const id = load<u32>(e + log.ENTRY_REQUEST);
  let slot: u32 = HSM_REQUESTS_MAX;
  for (let i: u32 = 0; i < HSM_REQUESTS_MAX; i++) {
    const state = unchecked(slotState[i]);
    if ((state == SLOT_LOGGED || state == SLOT_REPLAYED) && unchecked(slotId[i]) == id
        && unchecked(slotService[i]) == serviceIndex) { slot = i; break; }
  }
  if (slot == HSM_REQUESTS_MAX) {
    // Only a kernel that numbered requests differently from the one that
    // wrote the log gets here; deliver nothing rather than a stranger's result.
    unmatched++;
    if (conBegin()) {
      conStr("{\"event\":\"hsm_result_unmatched\",\"request\":"); conU64(id);
      conStr(",\"service\":"); conU64(serviceIndex);
      conStr(",\"count\":"); conU64(unmatched);
      conEnd(true);
    }
    return;
  }
  assert(inUse > 0 && serviceIndex < serviceCount, "hsmApply: a matched request is in flight for a service");
  unchecked(slotState[slot] = SLOT_FREE);
  inUse--;
  const total = load<u32>(e + log.ENTRY_TOTAL);
  const desc = descriptors.take();
  assert(desc != POOL_EMPTY, "descriptor pool sized below a batch");
  msgSet(desc, MSG_KIND_REPLY, SENDER_KERNEL, 0, e + log.ENTRY_HEADER_BYTES, total - log.ENTRY_HEADER_BYTES, POOL_EMPTY, timeNs);
  const target = service(serviceIndex);
  inboxPush(target, desc);
  schedWake(target);
}

const digestScratch: usize = memory.data(16, 16);

// HSM state for kernel_digest (only when the manifest enables the HSM, so
// other images keep their state hashes): the next id and the open requests.
export function hsmDigest(ctx: usize): void {
  assert(ctx != 0 && inUse <= HSM_REQUESTS_MAX, "hsmDigest: a context, and requests within the slots");
  if (!hsmEnabled()) return;
  store<u32>(digestScratch, nextId);
  store<u32>(digestScratch + 4, inUse);
  sha256Update(ctx, digestScratch, 8);
  for (let i: u32 = 0; i < HSM_REQUESTS_MAX; i++) {
    if (unchecked(slotState[i]) == SLOT_FREE) continue;
    store<u32>(digestScratch, unchecked(slotId[i]));
    store<u32>(digestScratch + 4, unchecked(slotService[i]));
    sha256Update(ctx, digestScratch, 8);
  }
}
