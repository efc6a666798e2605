// Trading events on the event stream (GET /v1/events, type trading): every
// event an orders request caused (trades, resting orders cancelled or
// expired), in order, as EVT_TRADING records (hal/devices/events.ts), each
// item the protocol's event record. Only with config "events": true, and
// the manifest must grant "emit". Emitted once the request is answered
// (services/sdk/events.ts chunks them): market data for every subscriber.

import * as P from "../protocol";
import { EventGatherer } from "../../sdk/events";
import { EVENT_TRADING_BYTES, EVT_TRADING } from "../../../hal/devices/events";
import { emitEvents } from "./config";
import { B_INSTRUMENT, changeAt, changeCount, changesClear, depthInit, L_COUNT, L_TOTAL, levelOf } from "./book";

// The event item is the protocol's event record: one layout.
// @ts-ignore: ERROR is AssemblyScript's compile-time error
if (P.EVENT_BYTES != EVENT_TRADING_BYTES) ERROR("hal/devices/events.ts EVENT_TRADING_BYTES must be services/trading/protocol.ts EVENT_BYTES");

let gatherer: EventGatherer | null = null;

// Depth: each level the request changed, once, with what it holds now (EV_KIND_LEVEL). A change is found again by an
// open-addressing set over its (book, side, price), stamped with the request's number so it is never cleared.
const SEEN_SLOTS: u32 = 16384; // twice DEPTH_CHANGES_MAX: a set never more than half full
let seen: usize = 0; // per slot: u32 stamp, u32 the change's index
let stamp: u32 = 0;
const level = memory.data(<i32>P.EVENT_BYTES, 16);

export function tradingEventsInit(): void {
  assert(gatherer === null && SEEN_SLOTS >= 2 * <u32>P.DEPTH_CHANGES_MAX, "tradingEventsInit: once; a set twice the changes");
  if (!emitEvents) return;
  gatherer = new EventGatherer(EVT_TRADING, EVENT_TRADING_BYTES);
  depthInit();
  seen = heap.alloc(<usize>SEEN_SLOTS * 8);
  memory.fill(seen, 0, <usize>SEEN_SLOTS * 8);
}

/** Emits the `count` events at `events` (a reply's), in order, then the depth of the levels the request changed. */
export function tradingEventsEmit(events: usize, count: u32): void {
  assert(count <= <u32>P.EVENTS_PER_REPLY, "a reply's events");
  const g = gatherer;
  if (g === null) return;
  for (let i: u32 = 0; i < count; i++) g.add(events + <usize>i * P.EVENT_BYTES);
  depthEmit(g);
  g.flush();
}

/** Whether change i's level was reported already in this request (else it is marked). */
function seenBefore(i: u32): bool {
  const c = changeAt(i);
  let h = <u32>((load<u64>(c) ^ (load<u64>(c + 8) << 40) ^ load<u64>(c + 16)) * 0x9e3779b97f4a7c15 >> 50) & (SEEN_SLOTS - 1);
  for (let probes: u32 = 0; probes < SEEN_SLOTS; probes++, h = (h + 1) & (SEEN_SLOTS - 1)) {
    const s = seen + <usize>h * 8;
    if (load<u32>(s) != stamp) { store<u32>(s, stamp); store<u32>(s + 4, i); return false; }
    const o = changeAt(load<u32>(s + 4));
    if (load<u64>(o) == load<u64>(c) && load<u64>(o + 8) == load<u64>(c + 8) && load<u64>(o + 16) == load<u64>(c + 16)) return true;
  }
  assert(false, "a set twice the changes has room");
  return true;
}

function depthEmit(g: EventGatherer): void {
  assert(changeCount <= <u32>P.DEPTH_CHANGES_MAX, "within the bound");
  stamp++;
  if (stamp == 0) { memory.fill(seen, 0, <usize>SEEN_SLOTS * 8); stamp = 1; } // after 2^32 requests: a stamp never seen
  for (let i: u32 = 0; i < changeCount; i++) {
    if (seenBefore(i)) continue;
    const c = changeAt(i);
    const b = <usize>load<u64>(c);
    const side = <u32>load<u64>(c + 8);
    const price = load<u64>(c + 16);
    const l = levelOf(b, side, price);
    memory.fill(level, 0, P.EVENT_BYTES);
    store<u8>(level + P.EV_KIND, <u8>P.EV_KIND_LEVEL);
    store<u8>(level + P.EV_TAKER_SIDE, <u8>side);
    store<u32>(level + P.EV_INSTRUMENT, load<u32>(load<usize>(b + B_INSTRUMENT) + P.INST_ID));
    store<u64>(level + P.EV_PRICE, price);
    if (l != 0) { store<u64>(level + P.EV_QTY, load<u64>(l + L_TOTAL)); store<u64>(level + P.EV_LEVEL_ORDERS, <u64>load<u32>(l + L_COUNT)); }
    g.add(level);
  }
  changesClear();
}
