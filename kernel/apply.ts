// kernel/apply.ts: applies the entries of a batch to the machine, the same
// way for a live batch made durable and for a batch recovery read back, so
// a replay reaches the same state: due timers fire first (at the entry's
// logical time), then the entry takes effect (a client input is queued for
// its service; an HSM result, entropy or a checkpoint is taken in), and the
// applied state (kernel/state.ts) moves on to it. A batch may end with a
// checkpoint message to the services that keep a grid (kernel/snapshot.ts).

import { MSG_KIND_REQUEST, MSG_KIND_TIMER, SENDER_CLIENT, SENDER_KERNEL, EVT_CHECKPOINT, EVENT_CHECKPOINT_BYTES } from "../hal/abi";
import { setEntriesApplied } from "./base/hal";
import { POOL_EMPTY } from "./base/mem";
import { service, serviceCount } from "./services";
import { descriptors, msgSet, inboxPush } from "./msg";
import { deliverKernelU64 } from "./deliver";
import { schedWake } from "./sched";
import { timerDue, timerService, timerTag, timerRemove } from "./timers";
import { clientTokenNew } from "./tokens";
import { inputApplied } from "./runstate";
import { eventsEmit } from "../drivers/events/events";
import * as log from "./log";
import * as audit from "./audit";
import * as hsm from "./hsm";
import * as snap from "./snapshot";
import { storageEnabled, storageCheckpoint } from "./storage";
import * as st from "./state";

function fireTimers(nowNs: u64): void {
  for (let i: u32 = 0; i < 65536; i++) {
    const t = timerDue(nowNs);
    if (t < 0) return;
    const target = timerService(t);
    assert(target < serviceCount, "fireTimers: a timer belongs to a service in the table");
    deliverKernelU64(target, MSG_KIND_TIMER, timerTag(t), nowNs);
    timerRemove(t);
  }
}

function applyInput(e: usize, live: bool): void {
  const target = <u32>load<u16>(e + log.ENTRY_SERVICE);
  const timeNs = load<u64>(e + log.ENTRY_TIME);
  const total = load<u32>(e + log.ENTRY_TOTAL);
  assert(target < serviceCount, "logged input for an unknown service");
  const token = clientTokenNew(target, load<u64>(e + log.ENTRY_CONN), load<u32>(e + log.ENTRY_REQUEST), live);
  if (token == 0) st.countDroppedInput(); // the service sees it but cannot reply
  const desc = descriptors.take();
  assert(desc != POOL_EMPTY, "descriptor pool sized below a batch");
  msgSet(desc, MSG_KIND_REQUEST, SENDER_CLIENT, token, e + log.ENTRY_HEADER_BYTES, total - log.ENTRY_HEADER_BYTES, POOL_EMPTY, timeNs);
  inboxPush(service(target), desc);
  schedWake(service(target));
}

// `base` is the log offset of the first entry (kept for snapshots).
export function applyEntries(addr: usize, bytes: u32, live: bool, base: u64): void {
  assert(addr != 0 && bytes > 0 && (bytes & 7) == 0 && (base & 7) == 0, "applyEntries: a batch of whole padded entries");
  const end = addr + bytes;
  const before = st.appliedSeq;
  let e = addr;
  while (e < end) {
    snap.noteAppliedAt(base + <u64>(e - addr), base + <u64>(e - addr) + <u64>log.entryPadded(load<u32>(e + log.ENTRY_TOTAL)));
    const total = load<u32>(e + log.ENTRY_TOTAL);
    const type = load<u16>(e + log.ENTRY_TYPE);
    const timeNs = load<u64>(e + log.ENTRY_TIME);
    fireTimers(timeNs);
    if (type == log.ENTRY_INPUT) {
      applyInput(e, live);
      if (live) inputApplied();
    } else if (type == log.ENTRY_HSM) {
      hsm.hsmApply(e, timeNs);
    } else if (type == log.ENTRY_ENTROPY) {
      st.rngReseed(e + log.ENTRY_HEADER_BYTES, total - log.ENTRY_HEADER_BYTES);
    } else if (type == log.ENTRY_CHECKPOINT) {
      emitCheckpoint(e, total, timeNs);
    }
    st.noteApplied(load<u64>(e + log.ENTRY_SEQ), timeNs, load<u64>(e + log.ENTRY_BATCH), e + log.ENTRY_CHAIN);
    e += <usize>log.entryPadded(total);
  }
  assert(e == end, "applyEntries: the entries fill the batch exactly");
  if (storageEnabled() && snap.checkpointAfter(before, st.appliedSeq)) {
    storageCheckpoint(snap.checkpointNumber(st.appliedSeq), st.appliedTimeNs);
  }
  setEntriesApplied(st.appliedSeq);
}

// A checkpoint event when a checkpoint entry is applied (live and in
// recovery alike): only a checkpoint that reached the log is announced, and
// a replay announces the same ones with the same ids. Item: the signed body
// (tree size, time, root) and the entry's own seq.
const checkpointItem: usize = memory.data(<i32>EVENT_CHECKPOINT_BYTES, 16);
function emitCheckpoint(e: usize, total: u32, timeNs: u64): void {
  assert(load<u16>(e + log.ENTRY_TYPE) == log.ENTRY_CHECKPOINT && total == load<u32>(e + log.ENTRY_TOTAL), "emitCheckpoint: a checkpoint entry");
  if (total < log.ENTRY_HEADER_BYTES + audit.CHECKPOINT_BODY_BYTES) return;
  memory.copy(checkpointItem, e + log.ENTRY_HEADER_BYTES, <usize>audit.CHECKPOINT_BODY_BYTES);
  store<u64>(checkpointItem + <usize>audit.CHECKPOINT_BODY_BYTES, load<u64>(e + log.ENTRY_SEQ));
  eventsEmit(EVT_CHECKPOINT, SENDER_KERNEL, timeNs, checkpointItem, 1, EVENT_CHECKPOINT_BYTES);
}
