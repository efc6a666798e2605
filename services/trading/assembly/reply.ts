// Replies: the reply header (protocol.ts: u32 count, u32 flags, u32 the
// operation's, u32 0), the records after it, and refusals in band
// (REPLY_F_REFUSED, a REFUSED_* code and an ASCII reason), as the other
// services answer. An orders reply is its results, then its events
// (eventAdd), written in place. The areas are taken from the heap once.
// Reads and refusals have an area of their own: an orders request with
// settlement keeps its results and events in place while it waits for the
// ledger (flow.ts), and a read or a refusal answered meanwhile must not
// overwrite them.

import * as P from "../protocol";
import { reply } from "../../sdk/qenex";
import { INSTRUMENTS_MAX } from "./config";

const REASON_BYTES: u32 = 256;
let out: usize = 0;
let outBytes: u32 = 0;
let events: usize = 0; // where the current reply's events go
let eventCount: u32 = 0;
let readOut: usize = 0; // the reads' and refusals' area
let readOutBytes: u32 = 0;

export function replyInit(): void {
  assert(out == 0, "replyInit: once");
  const orders = <u32>P.OPS_PER_REQUEST * <u32>P.RESULT_BYTES + <u32>P.EVENTS_PER_REPLY * <u32>P.EVENT_BYTES;
  const book = 2 * <u32>P.DEPTH_MAX * <u32>P.LEVEL_OUT_BYTES;
  const lookups = <u32>P.LOOKUPS_MAX * <u32>P.ORDER_OUT_BYTES;
  outBytes = <u32>P.REPLY_HEADER_BYTES + max(max(orders, book), max(lookups, REASON_BYTES));
  out = heap.alloc(outBytes);
  const instruments = INSTRUMENTS_MAX * <u32>P.INSTRUMENT_BYTES;
  readOutBytes = <u32>P.REPLY_HEADER_BYTES + max(max(instruments, book), max(lookups, REASON_BYTES));
  readOut = heap.alloc(readOutBytes);
}

/** Where a read's records go: after the header of the reads' area. */
export function readRecords(): usize {
  assert(readOut != 0, "readRecords: after replyInit");
  return readOut + P.REPLY_HEADER_BYTES;
}

/** Sends a read's header (count, `value` at +8) and `bytes` of records already at readRecords(). */
export function readSend(token: u32, count: u32, value: u32, bytes: u32): void {
  assert(<u64>P.REPLY_HEADER_BYTES + bytes <= <u64>readOutBytes, "the records fit the reads' area");
  store<u32>(readOut, count);
  store<u32>(readOut + 4, 0);
  store<u32>(readOut + 8, value);
  store<u32>(readOut + 12, 0);
  reply(token, 0, readOut, <u32>P.REPLY_HEADER_BYTES + bytes);
}

/** Where the reply's records go: after the header. */
export function replyRecords(): usize {
  assert(out != 0, "replyRecords: after replyInit");
  return out + P.REPLY_HEADER_BYTES;
}

/** Starts an orders reply of `results` results: its events go after them. */
export function eventsBegin(results: u32): void {
  assert(results <= <u32>P.OPS_PER_REQUEST, "a framed count");
  events = replyRecords() + <usize>results * P.RESULT_BYTES;
  eventCount = 0;
}

export function eventsRoom(): u32 {
  assert(eventCount <= <u32>P.EVENTS_PER_REPLY, "events within the reply");
  return <u32>P.EVENTS_PER_REPLY - eventCount;
}

/** Where the reply's events are. */
export function eventsAt(): usize {
  assert(events != 0, "an orders reply begun");
  return events;
}

export function eventsCount(): u32 {
  assert(eventCount <= <u32>P.EVENTS_PER_REPLY, "events within the reply");
  return eventCount;
}

/** A new, zeroed event of the reply (room checked by the caller). */
export function eventAdd(kind: u32): usize {
  assert(eventCount < <u32>P.EVENTS_PER_REPLY, "room for the event");
  const e = events + <usize>eventCount * P.EVENT_BYTES;
  eventCount++;
  memory.fill(e, 0, P.EVENT_BYTES);
  store<u8>(e + P.EV_KIND, <u8>kind);
  return e;
}

/** Sends the header (count, `value` at +8, `extra` at +12) and `bytes` of records already at replyRecords(). */
export function replySend(token: u32, count: u32, value: u32, extra: u32, bytes: u32): void {
  assert(<u64>P.REPLY_HEADER_BYTES + bytes <= <u64>outBytes, "the records fit the reply area");
  store<u32>(out, count);
  store<u32>(out + 4, 0);
  store<u32>(out + 8, value);
  store<u32>(out + 12, extra);
  reply(token, 0, out, <u32>P.REPLY_HEADER_BYTES + bytes);
}

/** Refuses the request whole: nothing changed. `why` is ASCII. */
export function refuse(token: u32, why: string): void {
  assert(why.length > 0, "a refusal with its reason");
  const n = <u32>why.length < REASON_BYTES ? <u32>why.length : REASON_BYTES;
  store<u32>(readOut, 0);
  store<u32>(readOut + 4, P.REPLY_F_REFUSED);
  store<u32>(readOut + 8, P.REFUSED_MALFORMED);
  store<u32>(readOut + 12, 0);
  for (let i: u32 = 0; i < n; i++) store<u8>(readOut + P.REPLY_HEADER_BYTES + i, <u8>why.charCodeAt(i));
  reply(token, 0, readOut, <u32>P.REPLY_HEADER_BYTES + n);
}
