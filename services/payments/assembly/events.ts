// Payment events (docs/payments.md "Events"): the payment records a request
// created or changed, once the request is complete, on the event stream
// (GET /v1/events, type payment) as EVT_PAYMENT records
// (hal/devices/events.ts): each item a payment record as stored
// (../protocol.ts, PAYMENT_BYTES). Only with config "events": true, and the
// manifest must grant "emit" (the bank image does both).
//
// The records are gathered while a request runs and emitted once it is
// complete (services/sdk/events.ts chunks them).

import * as P from "../protocol";
import { EventGatherer } from "../../sdk/events";
import { EVENT_PAYMENT_BYTES, EVT_PAYMENT } from "../../../hal/devices/events";
import { emitEvents } from "./config";

// The event item is the payment record: one layout, the protocol's.
// @ts-ignore: ERROR is AssemblyScript's compile-time error
if (P.PAYMENT_BYTES != EVENT_PAYMENT_BYTES) ERROR("hal/devices/events.ts EVENT_PAYMENT_BYTES must be services/payments/protocol.ts PAYMENT_BYTES");

let gatherer: EventGatherer | null = null;

/** The gatherer, at init when the config asks for events. */
export function paymentEventsInit(): void {
  assert(gatherer === null, "paymentEventsInit: once");
  if (emitEvents) gatherer = new EventGatherer(EVT_PAYMENT, EVENT_PAYMENT_BYTES);
}

/** The payment record at `p` is an event of the request in flight. */
export function paymentEvent(p: usize): void {
  const g = gatherer;
  if (g === null) return;
  assert(load<u64>(p + P.PAY_ID) != 0, "a recorded payment");
  g.add(p);
}

/** Emits the events gathered. */
export function paymentEventsFlush(): void {
  const g = gatherer;
  if (g !== null) g.flush();
}
