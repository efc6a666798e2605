// drivers/events/events.ts: the kernel's event stream driver (DEV_EVENTS).
//
// Events are outputs of the deterministic machine, like replies: a service
// emits a record (the emit syscall) or the kernel does (checkpoints). The
// kernel gives every item an event id from a monotonic counter that is part
// of the kernel's applied state (kernel_digest), so a replay numbers the
// same events the same way and a subscriber can resume by id across a
// restart. Records go to the host through the SQ of DEV_EVENTS; layout in
// hal/abi.ts ("event stream").
//
// Buffering: one arena of record bytes, filled front to back and rewound
// whenever the host has consumed every descriptor (it drains the SQ after
// every emit call and every run-loop turn, so in practice the arena holds
// one record at a time). A record that does not fit (ring or arena full) is
// dropped and counted; its ids stay used, so the host sees the gap. The
// machine never waits for a subscriber.

import { DEV_EVENTS, OP_EVT_RECORD, EVENT_RECORD_HEADER_BYTES, EVT_TRANSFER, EVT_CHECKPOINT, EVT_PAYMENT, EVT_ALERT, EVT_TRADING, EVT_FIX } from "../../hal/abi";
import { RING_EVENTS } from "../../kernel/base/constants";
import { ringCreate, ringPush, ringUsed, ringFree } from "../../kernel/base/ring";
import { halSetRings } from "../../kernel/base/hal";
import { reserve } from "../../kernel/base/mem";

let sq: usize = 0;
let arena: usize = 0;
let arenaBytes: u32 = 0;
let cursor: u32 = 0;
// The id the next item gets. Kernel state: in kernel_digest.
export let eventNextId: u64 = 1;
export let eventsDropped: u64 = 0;

// Statistics: event ids handed out so far (the next id is this + 1).
export function eventsEmitted(): u64 {
  assert(eventNextId >= 1, "events_emitted: ids start at 1");
  return eventNextId - 1;
}

// Room for two of the largest records (a service record is at most one
// message): the one the host is copying and the next.
export function eventsInit(recordBytesMax: u32): bool {
  assert(sq == 0 && recordBytesMax > 0 && recordBytesMax <= (<u32>1 << 30), "eventsInit: reserved once, for records of a message's size");
  arenaBytes = 2 * (recordBytesMax + EVENT_RECORD_HEADER_BYTES);
  sq = ringCreate(RING_EVENTS, "event ring");
  arena = reserve(<usize>arenaBytes, "event buffer");
  if (sq == 0 || arena == 0) return false;
  halSetRings(DEV_EVENTS, sq, 0);
  return true;
}

// Numbers `count` items of `itemBytes` each at `items` and hands the record
// to the host. The ids are used whether or not the record fits.
export function eventsEmit(type: u32, service: u32, timeNs: u64, items: usize, count: u32, itemBytes: u32): void {
  assert(count > 0 && itemBytes > 0, "an event record has items");
  assert(type == <u32>EVT_TRANSFER || type == <u32>EVT_CHECKPOINT || type == <u32>EVT_PAYMENT || type == <u32>EVT_ALERT || type == <u32>EVT_TRADING
    || type == <u32>EVT_FIX, "eventsEmit: a known event type");
  const first = eventNextId;
  eventNextId += <u64>count;
  assert(eventNextId > first, "eventsEmit: event ids only move forward");
  if (sq == 0) { eventsDropped++; return; }
  if (ringUsed(sq) == 0) cursor = 0; // the host took everything: rewind
  const len: u64 = <u64>EVENT_RECORD_HEADER_BYTES + <u64>count * <u64>itemBytes;
  if (ringFree(sq) == 0 || <u64>cursor + len > <u64>arenaBytes) { eventsDropped++; return; }
  const r = arena + <usize>cursor;
  store<u64>(r, first);
  store<u64>(r + 8, timeNs);
  store<u16>(r + 16, <u16>type);
  store<u16>(r + 18, <u16>service);
  store<u32>(r + 20, count);
  store<u32>(r + 24, itemBytes);
  store<u32>(r + 28, 0);
  memory.copy(r + EVENT_RECORD_HEADER_BYTES, items, <usize>(count * itemBytes));
  const pushed = ringPush(sq, OP_EVT_RECORD, 0, 0, r, <u32>len, <u32>len, first);
  assert(pushed, "event ring slot vanished");
  cursor += <u32>((len + 7) & ~(<u64>7));
  assert(cursor <= arenaBytes + 7, "eventsEmit: records stay inside the arena");
}
