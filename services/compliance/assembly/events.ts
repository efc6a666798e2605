// Alert events (docs/compliance.md "Alerts and cases"): each alert a check
// raised, on the event stream (GET /v1/events, type alert) as EVT_ALERT
// records (hal/devices/events.ts): each item the alert record as raised
// (../protocol.ts, ALERT_BYTES). Only with config "events": true, and the
// manifest must grant "emit". Gathered while a check runs and emitted once
// it is decided whole (services/sdk/events.ts chunks them).

import * as P from "../protocol";
import { EventGatherer } from "../../sdk/events";
import { EVENT_ALERT_BYTES, EVT_ALERT } from "../../../hal/devices/events";
import { emitEvents } from "./config";

// The event item is the alert record: one layout, the protocol's.
// @ts-ignore: ERROR is AssemblyScript's compile-time error
if (P.ALERT_BYTES != EVENT_ALERT_BYTES) ERROR("hal/devices/events.ts EVENT_ALERT_BYTES must be services/compliance/protocol.ts ALERT_BYTES");

let gatherer: EventGatherer | null = null;

export function alertEventsInit(): void {
  assert(gatherer === null, "alertEventsInit: once");
  if (emitEvents) gatherer = new EventGatherer(EVT_ALERT, EVENT_ALERT_BYTES);
}

/** The alert record at `a` is an event of the check in flight. */
export function alertEmit(a: usize): void {
  const g = gatherer;
  if (g === null) return;
  assert(load<u32>(a + P.ALERT_ID) != 0, "a raised alert");
  g.add(a);
}

/** Emits the alerts gathered. */
export function alertEventsFlush(): void {
  assert(gatherer === null || emitEvents, "a gatherer only with events on");
  const g = gatherer;
  if (g !== null) g.flush();
}
