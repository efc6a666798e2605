// Payment events (docs/payments.md "Events"): the payment records a request
// created or changed, once the request is complete, on the event stream
// (GET /v1/events, type payment) as EVT_PAYMENT records
// (hal/devices/events.ts): each item a payment record as stored
// (../protocol.ts, PAYMENT_BYTES). Only with config "events": true, and the
// manifest must grant "emit" (the bank image does both).
//
// The records are gathered here and emitted in chunks the kernel takes: at
// most EVENT_ITEMS_MAX items and at most its syscall area, message_bytes_max
// bytes, which the service does not know: a chunk the kernel finds too large
// is halved until it fits (one record always does: MESSAGE_BYTES_MIN is 256),
// and that size kept. The same image chunks the same on replay; and the
// kernel numbers items, not records, so the ids never depend on the chunking.

import * as P from "../protocol";
import { E_TOO_LARGE, OK, emitPayments } from "../../sdk/qenex";
import { EVENT_ITEMS_MAX, EVENT_PAYMENT_BYTES } from "../../../hal/devices/events";
import { MESSAGE_BYTES_MAX } from "../../../hal/limits";
import { emitEvents } from "./config";

// The event item is the payment record: one layout, the protocol's.
// @ts-ignore: ERROR is AssemblyScript's compile-time error
if (P.PAYMENT_BYTES != EVENT_PAYMENT_BYTES) ERROR("hal/devices/events.ts EVENT_PAYMENT_BYTES must be services/payments/protocol.ts PAYMENT_BYTES");

// The most a syscall area holds (4096 records; under EVENT_ITEMS_MAX).
const CHUNK_MAX: u32 = <u32>MESSAGE_BYTES_MAX / <u32>EVENT_PAYMENT_BYTES;
let buffer: usize = 0;
let held: u32 = 0;
let chunk: u32 = CHUNK_MAX;

/** The gathering buffer, at init when the config asks for events. */
export function paymentEventsInit(): void {
  assert(buffer == 0 && CHUNK_MAX >= 1 && CHUNK_MAX <= <u32>EVENT_ITEMS_MAX, "paymentEventsInit: once; a chunk is one event record");
  if (emitEvents) buffer = heap.alloc(<usize>CHUNK_MAX * EVENT_PAYMENT_BYTES);
}

/** The payment record at `p` is an event of the request in flight (emitted by paymentEventsFlush, or now when a chunk is full). */
export function paymentEvent(p: usize): void {
  if (buffer == 0) return;
  assert(held < CHUNK_MAX && load<u64>(p + P.PAY_ID) != 0, "a recorded payment, and room for it");
  memory.copy(buffer + <usize>held * EVENT_PAYMENT_BYTES, p, EVENT_PAYMENT_BYTES);
  held++;
  if (held == CHUNK_MAX) paymentEventsFlush();
}

/** Emits the events gathered, in chunks the kernel takes. */
export function paymentEventsFlush(): void {
  assert(held <= CHUNK_MAX && chunk >= 1 && chunk <= CHUNK_MAX, "paymentEventsFlush: at most a chunk gathered");
  let at: u32 = 0;
  while (at < held) {
    const n = min(chunk, held - at);
    const r = emitPayments(buffer + <usize>at * EVENT_PAYMENT_BYTES, n);
    if (r == E_TOO_LARGE && n > 1) { chunk = n >> 1; continue; }
    // Denied (the manifest grants no "emit"): the kernel counts and reports it; once a request is enough.
    if (r != OK) break;
    at += n;
  }
  held = 0;
}
