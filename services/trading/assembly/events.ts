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

// The event item is the protocol's event record: one layout.
// @ts-ignore: ERROR is AssemblyScript's compile-time error
if (P.EVENT_BYTES != EVENT_TRADING_BYTES) ERROR("hal/devices/events.ts EVENT_TRADING_BYTES must be services/trading/protocol.ts EVENT_BYTES");

let gatherer: EventGatherer | null = null;

export function tradingEventsInit(): void {
  assert(gatherer === null, "tradingEventsInit: once");
  if (emitEvents) gatherer = new EventGatherer(EVT_TRADING, EVENT_TRADING_BYTES);
}

/** Emits the `count` events at `events` (a reply's), in order. */
export function tradingEventsEmit(events: usize, count: u32): void {
  assert(count <= <u32>P.EVENTS_PER_REPLY, "a reply's events");
  const g = gatherer;
  if (g === null) return;
  for (let i: u32 = 0; i < count; i++) g.add(events + <usize>i * P.EVENT_BYTES);
  g.flush();
}
