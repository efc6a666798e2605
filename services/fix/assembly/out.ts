// Outbound messages: each one an OUT item (../protocol.ts "out"), built in
// place, given the session's next MsgSeqNum, kept in the session's store
// when a resend must repeat it, and emitted as an EVT_FIX event (the host's
// front end renders and writes it). Items gather while a request or timer
// is handled and go out together at its end (outFlush).
//
// The store: per session a ring of STORE_MESSAGES items indexed by
// MsgSeqNum modulo its size; an entry is the message only if its MsgSeqNum
// matches (anything else, or a message not kept, is gap-filled on a
// resend). Kept: execution reports, order cancel rejects, business message
// rejects, mass cancel reports and Rejects, the messages whose loss would
// lose a fact. Not kept: the session's other admin messages (gap-filled, as
// the protocol says), and market data and security lists, stale by then.

import * as P from "../protocol";
import { EventGatherer } from "../../sdk/events";
import { EVENT_FIX_BYTES, EVT_FIX } from "../../../hal/devices/events";
import { sessionsMax } from "./config";
import { S_CONN, S_LAST_OUT, S_NEXT_OUT, sessionAt } from "./sessions";

// @ts-ignore: ERROR is AssemblyScript's compile-time error
if (P.OUT_BYTES != EVENT_FIX_BYTES) ERROR("hal/devices/events.ts EVENT_FIX_BYTES must be services/fix/protocol.ts OUT_BYTES");

let gatherer: EventGatherer | null = null;
let storeBase: usize = 0;
const item = memory.data(<i32>P.OUT_BYTES, 16);
let itemSlot: u32 = 0;
let itemStored: bool = false;

export function outInit(): void {
  assert(gatherer === null, "outInit: once");
  gatherer = new EventGatherer(EVT_FIX, EVENT_FIX_BYTES);
  storeBase = heap.alloc(<usize>sessionsMax * P.STORE_MESSAGES * P.OUT_BYTES);
  memory.fill(storeBase, 0, <usize>sessionsMax * P.STORE_MESSAGES * P.OUT_BYTES);
}

function storeAt(slot: u32, seq: u32): usize {
  assert(slot >= 1 && slot <= sessionsMax, "a session slot");
  return storeBase + (<usize>(slot - 1) * P.STORE_MESSAGES + <usize>(seq % <u32>P.STORE_MESSAGES)) * P.OUT_BYTES;
}

/** Forgets slot's store (its sequence numbers were reset). */
export function storeClear(slot: u32): void {
  assert(slot >= 1 && slot <= sessionsMax, "a session slot");
  memory.fill(storeAt(slot, 0), 0, <usize>P.STORE_MESSAGES * P.OUT_BYTES);
}

/** The kept message with MsgSeqNum `seq` of `slot`, or 0. */
export function storedMessage(slot: u32, seq: u32): usize {
  assert(seq >= 1, "a MsgSeqNum");
  const p = storeAt(slot, seq);
  return load<u8>(p + P.OUT_KIND) == P.OUT_MESSAGE && load<u32>(p + P.OUT_SEQ) == seq ? p : 0;
}

function kept(msgType: u8): bool {
  assert(msgType != 0, "a MsgType");
  return msgType == 0x38 || msgType == 0x39 || msgType == 0x6a || msgType == 0x72 || msgType == 0x33; // 8 9 j r 3
}

/** Begins an outbound message of `msgType` on `slot` (fields zero); outSend() numbers and sends it. */
export function outBegin(slot: u32, msgType: u8): usize {
  assert(slot >= 1 && slot <= sessionsMax && msgType != 0, "a session and a MsgType");
  memory.fill(item, 0, P.OUT_BYTES);
  store<u8>(item + P.OUT_KIND, <u8>P.OUT_MESSAGE);
  store<u8>(item + P.OUT_MSG_TYPE, msgType);
  store<u16>(item + P.OUT_SLOT, <u16>slot);
  itemSlot = slot;
  itemStored = kept(msgType);
  return item;
}

/** Numbers the message begun, keeps it if a resend repeats it, and gathers it for the host. */
export function outSend(now: u64): void {
  assert(itemSlot != 0, "a message begun");
  const s = sessionAt(itemSlot);
  const seq = load<u32>(s + S_NEXT_OUT);
  store<u32>(s + S_NEXT_OUT, seq + 1);
  store<u64>(s + S_LAST_OUT, now);
  store<u32>(item + P.OUT_SEQ, seq);
  store<u64>(item + P.OUT_SENDING, now);
  store<u32>(item + P.OUT_CONNECTION, load<u32>(s + S_CONN));
  if (itemStored) memory.copy(storeAt(itemSlot, seq), item, P.OUT_BYTES);
  gatherer!.add(item);
  itemSlot = 0;
}

/** A kept message sent again (a resend): PossDupFlag, its first SendingTime as OrigSendingTime, now as SendingTime. */
export function outResend(stored: usize, now: u64, connection: u32): void {
  assert(stored != 0 && load<u8>(stored + P.OUT_KIND) == P.OUT_MESSAGE, "a kept message");
  memory.copy(item, stored, P.OUT_BYTES);
  store<u16>(item + P.OUT_FLAGS, load<u16>(item + P.OUT_FLAGS) | <u16>P.OF_POSS_DUP);
  store<u64>(item + P.OUT_ORIG_SENDING, load<u64>(stored + P.OUT_SENDING));
  store<u64>(item + P.OUT_SENDING, now);
  store<u32>(item + P.OUT_CONNECTION, connection);
  gatherer!.add(item);
}

/** A SequenceReset-GapFill sent in a resend: MsgSeqNum `seq` (not a new number), NewSeqNo `next`. */
export function outGapFill(slot: u32, seq: u32, next: u32, now: u64, connection: u32): void {
  assert(seq >= 1 && next > seq, "a gap");
  memory.fill(item, 0, P.OUT_BYTES);
  store<u8>(item + P.OUT_KIND, <u8>P.OUT_MESSAGE);
  store<u8>(item + P.OUT_MSG_TYPE, 0x34); // 4
  store<u16>(item + P.OUT_FLAGS, <u16>(P.OF_POSS_DUP | P.OF_GAP_FILL));
  store<u16>(item + P.OUT_SLOT, <u16>slot);
  store<u32>(item + P.OUT_SEQ, seq);
  store<u64>(item + P.OUT_SENDING, now);
  store<u64>(item + P.OUT_ORIG_SENDING, now);
  store<u32>(item + P.OUT_CONNECTION, connection);
  store<u32>(item + P.OUT_A, next);
  gatherer!.add(item);
}

/** Tells the host to close `connection` (after what was sent before). */
export function outDisconnect(slot: u32, connection: u32): void {
  assert(connection != 0, "a connection");
  memory.fill(item, 0, P.OUT_BYTES);
  store<u8>(item + P.OUT_KIND, <u8>P.OUT_DISCONNECT);
  store<u16>(item + P.OUT_SLOT, <u16>slot);
  store<u32>(item + P.OUT_CONNECTION, connection);
  gatherer!.add(item);
}

/** Copies `len` bytes at `src` (at most max) into the item's field at `at`, its length at `lengthAt`. */
export function outBytes(at: u32, lengthAt: u32, src: usize, len: u32, max: u32): void {
  assert(at < <u32>P.OUT_BYTES && lengthAt < <u32>P.OUT_BYTES, "a field of the item");
  const n = min(len, max);
  memory.copy(item + at, src, n);
  store<u8>(item + lengthAt, <u8>n);
}

/** An ASCII text into the item's Text (58). */
export function outText(text: string): void {
  assert(text.length > 0, "a text");
  const n = min(<u32>text.length, <u32>P.OUT_TEXT_MAX);
  for (let i: u32 = 0; i < n; i++) store<u8>(item + P.OUT_TEXT + i, <u8>text.charCodeAt(i));
  store<u8>(item + P.OUT_TEXT_LENGTH, <u8>n);
}

/** Appends `text` to the item's Text (58), as far as it fits. */
export function outTextAppend(text: string): void {
  let n = <u32>load<u8>(item + P.OUT_TEXT_LENGTH);
  assert(n <= <u32>P.OUT_TEXT_MAX, "a Text within its field");
  for (let i = 0; i < text.length && n < <u32>P.OUT_TEXT_MAX; i++) store<u8>(item + P.OUT_TEXT + n++, <u8>text.charCodeAt(i));
  store<u8>(item + P.OUT_TEXT_LENGTH, <u8>n);
}

/** Appends `v` in decimal to the item's field at `at` (its length at `lengthAt`, at most `max`): no string made, nothing allocated per message. */
function appendDecimal(at: u32, lengthAt: u32, max: u32, v: u64): void {
  const digits = memory.data(24, 8);
  let k: u32 = 0;
  let x = v;
  do { store<u8>(digits + k++, <u8>(0x30 + x % 10)); x /= 10; } while (x > 0);
  assert(k <= 20, "a u64");
  let n = <u32>load<u8>(item + lengthAt);
  while (k > 0 && n < max) store<u8>(item + at + n++, load<u8>(digits + --k));
  store<u8>(item + lengthAt, <u8>n);
}

/** Appends `v` in decimal to the item's Text (58). */
export function outTextNumber(v: u32): void {
  assert(itemSlot != 0, "a message begun");
  appendDecimal(P.OUT_TEXT, P.OUT_TEXT_LENGTH, P.OUT_TEXT_MAX, <u64>v);
}

/** `n` in decimal as the item's id. */
export function outIdNumber(n: u64): void {
  assert(itemSlot != 0, "a message begun");
  store<u8>(item + P.OUT_ID_LENGTH, 0);
  appendDecimal(P.OUT_ID, P.OUT_ID_LENGTH, P.ID_MAX, n);
}

/** Emits what was gathered. */
export function outFlush(): void {
  assert(gatherer !== null, "after outInit");
  gatherer!.flush();
}
