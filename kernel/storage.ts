// kernel/storage.ts: syscall storage (hal/devices/grid.ts) and the prefetch
// step it gives a service: block writes and syncs go to the service's grid
// in order; a message that asks for blocks is delivered again once the
// kernel has delivered each block to the service as a MSG_KIND_BLOCK
// message, in the order asked (docs/storage.md).
//
// Determinism. While a service waits for its blocks the kernel runs nothing
// else: no other message, no new batch applied, no read, no service command.
// So the order in which every service sees its messages is exactly the one a
// synchronous read would give, whatever the disk's timing, and replay takes
// the same steps (or fewer, when its cache already holds a block). Before a
// message is dispatched the kernel also makes sure a whole message's writes
// fit its free write buffers, so a write never fails for lack of one: the
// limits a service can meet (STORAGE_WRITES_PER_MESSAGE, _READS_) depend on
// its own calls alone.
//
// Nothing here is part of the state digest: reads and deliveries are not
// logged, and a replay from a warmer or colder cache makes other reads.

import {
  GRID_BLOCK_BYTES, STORAGE_WRITE, STORAGE_SYNC, STORAGE_READ, STORAGE_WRITES_PER_MESSAGE, STORAGE_READS_PER_MESSAGE,
  STORAGE_OK, STORAGE_E_IO, STORAGE_E_RANGE, GRID_E_RANGE, BLOCK_MSG_ADDRESS, BLOCK_MSG_STATUS, BLOCK_MSG_HEADER_BYTES,
  GRID_TAG_SERVICE_SHIFT, MSG_KIND_BLOCK, MSG_KIND_INIT, SENDER_KERNEL, SYS_OK, SYS_E_INVALID, SYS_E_FULL, SYS_E_CONTEXT,
  SYS_E_TOO_LARGE, ACT_CALL, ACT_IDLE, STATUS_OK, CAP_STORAGE, STORAGE_CORRUPT, MSG_KIND_CHECKPOINT,
} from "../hal/abi";
import { POOL_EMPTY } from "./base/mem";
import { setDispatch } from "./base/hal";
import { descTag, descStatus } from "./base/ring";
import { service, serviceCount, NO_SERVICE } from "./services";
import { msgAt, msgKind, msgAddr, msgLen, msgSender, msgToken, msgTime, msgRelease } from "./msg";
import { deliverKernelU64 } from "./deliver";
import * as st from "./state";
import * as rs from "./runstate";
import { gridInit, gridReady, gridRead, gridWrite, gridSync, gridReadSlot, gridWriteSlot, gridCompletion, gridDone,
  READ_SLOTS, WRITE_SLOTS, SLOT_SYNC } from "../drivers/grid/grid";

/** storageStep's answer when storage has nothing to say: the loop goes on. */
export const STORAGE_NONE: u32 = 0xffffffff;

// ---- what the dispatched message may do (set at each dispatch) ----
const CONTEXT_NONE: u32 = 0; // no storage calls (a read, a service command, between messages)
const CONTEXT_MESSAGE: u32 = 1; // a message or qx_init: may write, sync and ask for blocks
const CONTEXT_BLOCK: u32 = 2; // a block being delivered: may write and sync, not ask for more
const CONTEXT_READ: u32 = 3; // a read without a log entry (ACT_READ): may ask for blocks, never write
let context: u32 = CONTEXT_NONE;
let contextService: u32 = NO_SERVICE;
let contextInit: bool = false;
let messageReads: u32 = 0; // blocks asked for by the message being handled
let messageWrites: u32 = 0;

// ---- the wait: one service, its blocks, the message to deliver again ----
let waiting: u32 = NO_SERVICE;
let asked: u32 = 0; // blocks asked for (read slots 0 .. asked-1)
let delivered: u32 = 0; // delivered so far, in slot order
let deferred: u32 = POOL_EMPTY; // the message's descriptor (POOL_EMPTY for qx_init and reads)
let deferredInit: bool = false;
let deferredRead: bool = false; // the held read (kernel/ingress.ts) asked: it is handed to the host again
let deferredTimeNs: u64 = 0;
const slotDone = new StaticArray<bool>(<i32>READ_SLOTS);
const slotStatus = new StaticArray<i32>(<i32>READ_SLOTS);
// Reads of an aborted wait (the service faulted) still at the host: nothing
// is dispatched until they are back, so a new wait never meets their completions.
let orphanReads: u32 = 0;

// ---- write buffers ----
const freeWrites = new StaticArray<u32>(<i32>WRITE_SLOTS);
let freeWriteCount: u32 = 0;
let syncsInFlight: u32 = 0;

// Counters (kernel_stat).
export let blocksRead: u64 = 0;
export let blocksWritten: u64 = 0;
export let syncs: u64 = 0;
export let waits: u64 = 0;

/** Reserves the grid driver when some service holds "storage"; true when nothing was needed or it fit. */
export function storageInit(): bool {
  let any = false;
  for (let i: u32 = 0; i < serviceCount; i++) if ((service(i).caps & <u32>CAP_STORAGE) != 0) any = true;
  if (!any) return true;
  if (!gridInit()) return false;
  for (let i: u32 = 0; i < WRITE_SLOTS; i++) unchecked(freeWrites[i] = WRITE_SLOTS - 1 - i);
  freeWriteCount = WRITE_SLOTS;
  assert(gridReady() && freeWriteCount == WRITE_SLOTS, "storageInit: every write buffer starts free");
  return true;
}

/** Some service keeps a grid. */
export function storageEnabled(): bool { return gridReady(); }

/**
 * The checkpoint message (kernel/snapshot.ts checkpointAfter) to every
 * service that keeps a grid, queued after the batch's own messages: payload
 * the u64 checkpoint number.
 */
export function storageCheckpoint(number: u64, timeNs: u64): void {
  assert(gridReady(), "storageCheckpoint: some service keeps a grid");
  for (let i: u32 = 0; i < serviceCount; i++) {
    if ((service(i).caps & <u32>CAP_STORAGE) != 0) deliverKernelU64(i, MSG_KIND_CHECKPOINT, number, timeNs);
  }
}

/** Nothing at the host, nobody waiting: a machine snapshot may be taken. */
export function storageIdle(): bool {
  assert(freeWriteCount <= WRITE_SLOTS, "storageIdle: no more free write buffers than there are");
  if (!gridReady()) return true;
  return waiting == NO_SERVICE && orphanReads == 0 && syncsInFlight == 0 && freeWriteCount == WRITE_SLOTS;
}

// ---- dispatch bookkeeping (kernel/main.ts) ----

/** Service s is handed something to run in `ctx`: nothing asked or written yet. */
function begin(ctx: u32, s: u32, init: bool): void {
  assert(s < serviceCount && ctx != CONTEXT_NONE, "storage: a service in the table, in a context");
  context = ctx;
  contextService = s;
  contextInit = init;
  messageReads = 0;
  messageWrites = 0;
}

/** A message or qx_init (init) is being dispatched to service s. */
export function storageDispatch(s: u32, init: bool): void {
  assert(waiting == NO_SERVICE, "storageDispatch: nobody waiting");
  begin(CONTEXT_MESSAGE, s, init);
}

/** The held read is handed to service s (ACT_READ): it may ask for blocks, not write. */
export function storageReadDispatch(s: u32): void {
  assert(waiting == NO_SERVICE, "storageReadDispatch: nobody waiting");
  begin(CONTEXT_READ, s, false);
}

/**
 * The service in context waits for the blocks it asked for; then `m` (a
 * message's descriptor), its qx_init (`init`) or the held read (`read`) is
 * handed to it again.
 */
function startWait(m: u32, init: bool, read: bool): void {
  assert(waiting == NO_SERVICE && messageReads > 0 && (m == POOL_EMPTY || (!init && !read)), "startWait: one wait, for blocks asked");
  waiting = contextService;
  asked = messageReads;
  delivered = 0;
  deferred = m;
  deferredInit = init;
  deferredRead = read;
  deferredTimeNs = st.callerTimeNs;
  waits++;
}

/**
 * The host answered the held read (kernel_read_done). True when the read
 * asked for blocks and did not trap: its answer is dropped, the blocks are
 * delivered, and the read goes to the host again. A read that trapped after
 * asking is answered as it is; its blocks are awaited and dropped.
 */
export function storageReadEnd(trapped: bool): bool {
  assert(context == CONTEXT_READ || messageReads == 0, "storageReadEnd: blocks asked only by the read");
  const wait = context == CONTEXT_READ && messageReads > 0 && !trapped;
  if (wait) {
    startWait(POOL_EMPTY, false, true);
  } else if (context == CONTEXT_READ) {
    orphanReads += messageReads;
  }
  context = CONTEXT_NONE;
  contextService = NO_SERVICE;
  messageReads = 0;
  return wait;
}

/**
 * The dispatched message returned (kernel_run's releaseDispatched): true when
 * it asked for blocks, so its descriptor is kept to be delivered again.
 */
export function storageMessageEnd(dispatched: u32): bool {
  const keep = context == CONTEXT_MESSAGE && messageReads > 0;
  if (keep) {
    assert(dispatched != POOL_EMPTY || contextInit, "storageMessageEnd: a message or qx_init starts a wait");
    startWait(dispatched, contextInit, false);
  }
  // A read's end is kernel_read_done's (storageReadEnd), never a message's.
  if (context == CONTEXT_READ) return false;
  context = CONTEXT_NONE;
  contextService = NO_SERVICE;
  messageReads = 0;
  messageWrites = 0;
  return keep;
}

/**
 * What storage needs of the run loop now: ACT_CALL (a block or the message
 * that waited for it is dispatched), ACT_IDLE (wait for the host), or
 * STORAGE_NONE (go on).
 */
export function storageStep(): u32 {
  if (!gridReady()) return STORAGE_NONE;
  if (orphanReads > 0) return ACT_IDLE;
  if (waiting == NO_SERVICE) {
    // The next message may write a message's worth of blocks.
    return freeWriteCount < <u32>STORAGE_WRITES_PER_MESSAGE ? ACT_IDLE : STORAGE_NONE;
  }
  const s = service(waiting);
  if (delivered < asked) {
    const slot = delivered;
    if (!unchecked(slotDone[slot])) return ACT_IDLE;
    const buffer = gridReadSlot(slot);
    const status = unchecked(slotStatus[slot]);
    store<i32>(buffer + BLOCK_MSG_STATUS, status);
    store<u32>(buffer + BLOCK_MSG_STATUS + 4, 0);
    delivered++;
    const len: u32 = status == STORAGE_OK ? <u32>(BLOCK_MSG_HEADER_BYTES + GRID_BLOCK_BYTES) : <u32>BLOCK_MSG_HEADER_BYTES;
    setDispatch(waiting, MSG_KIND_BLOCK, buffer, len, SENDER_KERNEL, 0, deferredTimeNs);
    st.setCaller(waiting, deferredTimeNs);
    rs.noteDispatch(s.fuelPerMessage, 0, deferredTimeNs, false);
    begin(CONTEXT_BLOCK, waiting, false);
    return ACT_CALL;
  }
  // Every block is in: a read goes back to the host (ingress.ts readWaiting
  // hands it over again); a message is delivered again, as it came.
  if (deferredRead) {
    waiting = NO_SERVICE;
    deferredRead = false;
    return STORAGE_NONE;
  }
  const index = waiting;
  const init = deferredInit;
  const m = deferred;
  waiting = NO_SERVICE;
  deferred = POOL_EMPTY;
  storageDispatch(index, init);
  if (init) {
    setDispatch(index, MSG_KIND_INIT, s.configAddr, s.configLen, SENDER_KERNEL, 0, 0);
    st.setCaller(index, 0);
    rs.noteDispatch(s.fuelInit, 0, 0, true);
  } else {
    const d = msgAt(m);
    setDispatch(index, msgKind(d), msgAddr(d), msgLen(d), msgSender(d), msgToken(d), msgTime(d));
    st.setCaller(index, msgTime(d));
    rs.noteDispatch(s.fuelPerMessage, msgToken(d), msgTime(d), false);
    rs.setDispatched(m);
  }
  return ACT_CALL;
}

// ---- faults (kernel/main.ts service_fault) ----

/** The token to answer for a fault of the dispatched message (0: none). */
export let faultToken: u32 = 0;
/** The fault aborts a qx_init (a wait that qx_init started). */
export let faultInit: bool = false;
/** The fault aborts the held read that waited for the block (main.ts answers it). */
export let faultRead: bool = false;

/**
 * The service handling the dispatched message faulted. Its reads are
 * dropped (their completions are awaited and ignored). When it faulted on a
 * block, the message that waited for it is aborted with it: faultToken and
 * faultInit say what to answer, and its descriptor is released.
 */
export function storageFaulted(token: u32, init: bool): void {
  faultToken = token;
  faultInit = init;
  faultRead = false;
  if (context == CONTEXT_MESSAGE) {
    // Asked in the message that trapped: never delivered.
    orphanReads += messageReads;
    messageReads = 0;
  } else if (context == CONTEXT_BLOCK) {
    assert(waiting == contextService, "storageFaulted: a block is delivered to the service that waits");
    for (let slot = delivered; slot < asked; slot++) if (!unchecked(slotDone[slot])) orphanReads++;
    if (deferredRead) {
      faultToken = 0;
      faultInit = false;
      faultRead = true;
      deferredRead = false;
    } else if (deferredInit) {
      faultToken = 0;
      faultInit = true;
    } else {
      faultToken = msgToken(msgAt(deferred));
      faultInit = false;
      msgRelease(deferred);
    }
    waiting = NO_SERVICE;
    deferred = POOL_EMPTY;
  }
  context = CONTEXT_NONE;
}

// ---- the syscall ----

/** storage(op, ptr, len) of the caller, a service holding "storage" (kernel/syscalls.ts checked it). */
export function sysStorage(op: u32, area: usize, len: u32, areaBytes: u32): i32 {
  if (context == CONTEXT_NONE) return SYS_E_CONTEXT;
  const s = contextService;
  assert(s == st.caller && (service(s).caps & <u32>CAP_STORAGE) != 0, "sysStorage: the caller is the service being handled, and holds storage");
  if (len > areaBytes) return SYS_E_TOO_LARGE;
  // A read without a log entry changes nothing, the grid included.
  if (context == CONTEXT_READ && op != STORAGE_READ) return SYS_E_CONTEXT;
  if (op == STORAGE_WRITE) {
    if (len != 8 + <u32>GRID_BLOCK_BYTES) return SYS_E_INVALID;
    if (messageWrites >= <u32>STORAGE_WRITES_PER_MESSAGE) return SYS_E_FULL;
    // storageStep held the dispatch until a whole message's writes were free.
    assert(freeWriteCount > 0, "storage write: the dispatch left room for every write of the message");
    freeWriteCount--;
    const slot = unchecked(freeWrites[freeWriteCount]);
    memory.copy(gridWriteSlot(slot), area + 8, <usize>GRID_BLOCK_BYTES);
    gridWrite(s, slot, load<u64>(area));
    messageWrites++;
    blocksWritten++;
    return SYS_OK;
  }
  if (op == STORAGE_CORRUPT) {
    corruptLen = min<u32>(len, CORRUPT_TEXT_BYTES);
    memory.copy(corruptText, area, corruptLen);
    corrupt = true;
    return SYS_OK;
  }
  if (op == STORAGE_SYNC) {
    if (len != 0) return SYS_E_INVALID;
    gridSync(s);
    syncsInFlight++;
    syncs++;
    return SYS_OK;
  }
  if (op == STORAGE_READ) {
    if (context == CONTEXT_BLOCK) return SYS_E_CONTEXT;
    if (len == 0 || (len & 7) != 0) return SYS_E_INVALID;
    // The block arrives as a message: the service's inbox must hold one.
    if (service(s).inboxBytes < <u32>(BLOCK_MSG_HEADER_BYTES + GRID_BLOCK_BYTES)) return SYS_E_TOO_LARGE;
    const n = len >> 3;
    if (n > <u32>STORAGE_READS_PER_MESSAGE - messageReads) return SYS_E_FULL;
    for (let i: u32 = 0; i < n; i++) {
      const slot = messageReads + i;
      const address = load<u64>(area + (<usize>i << 3));
      unchecked(slotDone[slot] = false);
      unchecked(slotStatus[slot] = STORAGE_E_IO);
      store<u64>(gridReadSlot(slot) + BLOCK_MSG_ADDRESS, address);
      gridRead(s, slot, address);
    }
    messageReads += n;
    blocksRead += n;
    assert(messageReads <= READ_SLOTS, "storage read: within the read slots");
    return SYS_OK;
  }
  return SYS_E_INVALID;
}

// A service reported its grid corrupt (STORAGE_CORRUPT): the run loop stops the machine (kernel/main.ts).
// The text is kept here: the syscall area is reused by the rest of the message.
const CORRUPT_TEXT_BYTES: u32 = 256;
const corruptText: usize = memory.data(<i32>CORRUPT_TEXT_BYTES, 16);
let corrupt = false;
let corruptLen: u32 = 0;

/** The corrupt report of the message just handled, if any: its text (in the syscall area) and length; the caller fails the machine. */
export function storageCorrupt(): bool {
  assert(!corrupt || corruptLen <= CORRUPT_TEXT_BYTES, "storageCorrupt: a report within its buffer");
  return corrupt;
}
export function storageCorruptText(): usize {
  assert(corrupt, "storageCorruptText: a report was made");
  return corruptText;
}
export function storageCorruptLen(): u32 {
  assert(corrupt && corruptLen <= CORRUPT_TEXT_BYTES, "storageCorruptLen: a report within its buffer");
  return corruptLen;
}

// ---- completions (kernel/main.ts pollDevices) ----

/** Takes the grid's completions; false when a write or sync failed (the machine stops). */
export function storagePoll(): i32 {
  for (let d = gridCompletion(); d != 0; d = gridCompletion()) {
    const tag = descTag(d);
    const status = descStatus(d);
    gridDone();
    const slot = tag & ((1 << <u32>GRID_TAG_SERVICE_SHIFT) - 1);
    if (slot == SLOT_SYNC) {
      assert(syncsInFlight > 0, "grid sync completion without a sync");
      syncsInFlight--;
      if (status < 0) return status;
    } else if (slot >= READ_SLOTS) {
      assert(slot - READ_SLOTS < WRITE_SLOTS && freeWriteCount < WRITE_SLOTS, "grid write completion for a buffer in flight");
      unchecked(freeWrites[freeWriteCount] = slot - READ_SLOTS);
      freeWriteCount++;
      if (status < 0) return status;
    } else if (orphanReads > 0) {
      orphanReads--;
    } else {
      assert(waiting != NO_SERVICE && slot < asked && !unchecked(slotDone[slot]), "grid read completion for a block asked for");
      unchecked(slotDone[slot] = true);
      unchecked(slotStatus[slot] = status == STATUS_OK ? STORAGE_OK : status == GRID_E_RANGE ? STORAGE_E_RANGE : STORAGE_E_IO);
    }
  }
  return STATUS_OK;
}
