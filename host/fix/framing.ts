// host/fix/framing.ts: finding whole FIX messages in the bytes of a TCP
// stream, and setting aside the garbled ones.
//
// A message is `8=<BeginString><SOH>9=<BodyLength><SOH>35=...<SOH>...10=<nnn><SOH>`.
// BodyLength counts the bytes after the SOH that ends the 9= field up to and
// including the SOH before 10=; CheckSum is the sum of every byte before
// `10=` (from the 8 of 8= on), mod 256, written as three digits.
//
// Garbled, as the FIX session protocol defines it: BeginString not first or
// not of the form FIX.n.m / FIXT.n.m, BodyLength not second or not a plain
// number (no sign, no leading zero, at most FIX_LIMITS.bodyLengthDigits
// digits, the message no longer than FIX_LIMITS.messageBytes), MsgType not
// third, 10= not where BodyLength says, or a CheckSum that is not three
// digits or not the sum. A garbled message is ignored: no Reject, and its
// MsgSeqNum is not counted; the framer reports it (so the session may log
// it) and resynchronises at the next `8=FIX` in the stream. Bytes before a
// message that do not start one ('junk') are reported the same way.
//
// A BeginString that is well formed but not the session's (FIX.4.2 on a
// FIX.4.4 session) frames normally: the session protocol answers it with a
// Logout, which is the session's business, so the message carries it.
//
// Work is linear in the bytes and memory bounded: a FixFramer never holds
// more than one message's worth (FIX_LIMITS.messageBytes) of unfinished bytes.

import { FIX_LIMITS } from './limits.ts';
import { SOH } from './tags.ts';

export type GarbledReason = 'junk' | 'begin-string' | 'body-length' | 'msg-type' | 'checksum' | 'too-long';

/** Bytes that are not a message, set aside. Offsets are into the buffer (or the stream, from a FixFramer). */
export interface Garbled {
  readonly offset: number;
  readonly length: number;
  readonly reason: GarbledReason;
  readonly detail: string;
}

/** One whole message, its CheckSum verified. */
export interface Framed {
  readonly offset: number;
  /** The message, BeginString to the CheckSum's SOH (a view into the buffer from frameMessages). */
  readonly bytes: Uint8Array;
  readonly beginString: string;
}

export interface FrameResult {
  readonly messages: Framed[];
  readonly garbled: Garbled[];
  /** Bytes at the front of the buffer that are done with; the rest is the start of a message still arriving. */
  readonly consumed: number;
}

const START = [0x38, 0x3d, 0x46, 0x49, 0x58]; // '8=FIX'
const CHECKSUM_FIELD_BYTES = 7; // '10=nnn<SOH>'
const ZERO = 0x30;
const NINE = 0x39;

type Attempt =
  | { readonly kind: 'message'; readonly end: number; readonly beginString: string }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'garbled'; readonly reason: GarbledReason; readonly detail: string };

/** The position of the next '8=FIX' at or after `from`, or -1. */
function findStart(buf: Uint8Array, from: number): number {
  for (let i = buf.indexOf(START[0]!, from); i >= 0 && i + START.length <= buf.length; i = buf.indexOf(START[0]!, i + 1)) {
    let k = 1;
    while (k < START.length && buf[i + k] === START[k]) k++;
    if (k === START.length) return i;
  }
  return -1;
}

/** How many bytes at the end of the buffer could be the first bytes of '8=FIX' (kept for the next read). */
function startPrefixAtEnd(buf: Uint8Array, from: number): number {
  for (let n = Math.min(START.length - 1, buf.length - from); n > 0; n--) {
    let k = 0;
    while (k < n && buf[buf.length - n + k] === START[k]) k++;
    if (k === n) return n;
  }
  return 0;
}

/** Finds the whole messages in `buf` from its start; see the file's comment for what is garbled. */
export function frameMessages(buf: Uint8Array): FrameResult {
  const messages: Framed[] = [];
  const garbled: Garbled[] = [];
  const sums = new RunningSums(buf);
  let pos = 0;
  for (;;) {
    const start = findStart(buf, pos);
    if (start < 0) {
      const keep = buf.length - startPrefixAtEnd(buf, pos);
      if (keep > pos) garbled.push({ offset: pos, length: keep - pos, reason: 'junk', detail: 'bytes that do not start with 8=FIX' });
      return { messages, garbled, consumed: Math.max(pos, keep) };
    }
    if (start > pos) garbled.push({ offset: pos, length: start - pos, reason: 'junk', detail: 'bytes that do not start with 8=FIX' });
    const attempt = frameAt(buf, start, sums);
    if (attempt.kind === 'incomplete') return { messages, garbled, consumed: start };
    if (attempt.kind === 'message') {
      messages.push({ offset: start, bytes: buf.subarray(start, attempt.end), beginString: attempt.beginString });
      pos = attempt.end;
      continue;
    }
    // Garbled: skip to the next '8=FIX' (or as far as this buffer allows).
    const next = findStart(buf, start + 1);
    const end = next >= 0 ? next : Math.max(start + 1, buf.length - startPrefixAtEnd(buf, start + 1));
    garbled.push({ offset: start, length: end - start, reason: attempt.reason, detail: attempt.detail });
    pos = end;
    if (next < 0) return { messages, garbled, consumed: end };
  }
}

/** Reads a run of digits ended by SOH from `at`; undefined when the buffer ends first, 'bad' when it is not plain digits. */
function digitsTo(buf: Uint8Array, at: number, maxDigits: number): { value: number; end: number } | undefined | 'bad' {
  let value = 0;
  for (let i = at; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === SOH) return i === at || (buf[at] === ZERO && i > at + 1) ? 'bad' : { value, end: i + 1 };
    if (b < ZERO || b > NINE || i - at >= maxDigits) return 'bad';
    value = value * 10 + (b - ZERO);
  }
  return undefined;
}

/** Whether the bytes at `at` are `text` (ASCII), as far as the buffer goes: true, false, or undefined when cut short. */
function bytesAre(buf: Uint8Array, at: number, text: string): boolean | undefined {
  for (let k = 0; k < text.length; k++) {
    if (at + k >= buf.length) return undefined;
    if (buf[at + k] !== text.charCodeAt(k)) return false;
  }
  return true;
}

const BEGIN_STRING = /^FIXT?\.[0-9]\.[0-9]$/;

/** Tries to frame one message that starts (with '8=FIX') at `s`. */
function frameAt(buf: Uint8Array, s: number, sums: RunningSums): Attempt {
  const max = FIX_LIMITS.messageBytes;
  const soh = buf.subarray(s, Math.min(buf.length, s + FIX_LIMITS.beginStringBytes)).indexOf(SOH);
  if (soh < 0) {
    return buf.length - s < FIX_LIMITS.beginStringBytes ? { kind: 'incomplete' } : { kind: 'garbled', reason: 'begin-string', detail: 'BeginString without SOH' };
  }
  const beginString = String.fromCharCode(...buf.subarray(s + 2, s + soh));
  if (!BEGIN_STRING.test(beginString)) return { kind: 'garbled', reason: 'begin-string', detail: `BeginString ${JSON.stringify(beginString)}` };
  const p = s + soh + 1;
  const nine = bytesAre(buf, p, '9=');
  if (nine === undefined) return { kind: 'incomplete' };
  if (!nine) return { kind: 'garbled', reason: 'body-length', detail: 'second field is not BodyLength (9)' };
  const len = digitsTo(buf, p + 2, FIX_LIMITS.bodyLengthDigits);
  if (len === undefined) return { kind: 'incomplete' };
  if (len === 'bad') return { kind: 'garbled', reason: 'body-length', detail: 'BodyLength is not a plain number' };
  const bodyEnd = len.end + len.value;
  const end = bodyEnd + CHECKSUM_FIELD_BYTES;
  if (end - s > max) return { kind: 'garbled', reason: 'too-long', detail: `message of ${end - s} bytes, more than ${max}` };
  const msgType = bytesAre(buf, len.end, '35=');
  if (msgType === false || (msgType === true && len.value < 5)) return { kind: 'garbled', reason: 'msg-type', detail: 'third field is not MsgType (35)' };
  if (end > buf.length) return { kind: 'incomplete' };
  return checkTrailer(buf, s, bodyEnd, beginString, sums);
}

/** The CheckSum field where BodyLength puts it, and the sum itself. */
function checkTrailer(buf: Uint8Array, s: number, bodyEnd: number, beginString: string, sums: RunningSums): Attempt {
  if (buf[bodyEnd - 1] !== SOH || bytesAre(buf, bodyEnd, '10=') !== true) {
    return { kind: 'garbled', reason: 'body-length', detail: 'no CheckSum (10) where BodyLength ends the body' };
  }
  let written = 0;
  for (let k = 3; k < 6; k++) {
    const b = buf[bodyEnd + k]!;
    if (b < ZERO || b > NINE) return { kind: 'garbled', reason: 'checksum', detail: 'CheckSum is not three digits' };
    written = written * 10 + (b - ZERO);
  }
  if (buf[bodyEnd + 6] !== SOH) return { kind: 'garbled', reason: 'checksum', detail: 'CheckSum is not three digits' };
  const sum = sums.of(s, bodyEnd);
  if (sum !== written) return { kind: 'garbled', reason: 'checksum', detail: `CheckSum ${written}, the bytes sum to ${sum}` };
  return { kind: 'message', end: bodyEnd + CHECKSUM_FIELD_BYTES, beginString };
}

/**
 * Checksums of stretches of one buffer. The first is summed directly; from
 * the second on, a table of running sums (mod 256) of the whole buffer
 * answers each in O(1). Without it, crafted input (thousands of starts in
 * 64 KiB, each with a BodyLength pointing at the same well-formed but wrong
 * CheckSum) would cost a sum of up to 64 KiB per start.
 */
class RunningSums {
  private table: Uint8Array | undefined;
  private asked = 0;

  constructor(private readonly buf: Uint8Array) {}

  of(from: number, to: number): number {
    if (this.asked++ === 0) return checksum(this.buf, from, to);
    if (this.table === undefined) {
      const t = new Uint8Array(this.buf.length + 1);
      for (let i = 0; i < this.buf.length; i++) t[i + 1] = t[i]! + this.buf[i]!;
      this.table = t;
    }
    return (this.table[to]! - this.table[from]!) & 0xff;
  }
}

/** The FIX checksum of buf[from, to): the byte sum mod 256. */
export function checksum(buf: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += buf[i]!;
  return sum & 0xff;
}

// The framer's buffer, kept between pushes: room for a largest message and
// the reads around it. A larger read grows it for that push; it shrinks back
// as soon as what it holds fits again.
const FRAMER_STORE_KEPT = 4 * FIX_LIMITS.messageBytes;

/**
 * Frames a byte stream that arrives in chunks: push each read, get the whole
 * messages (copies, safe to keep) and the garbled stretches (offsets into the
 * stream). Holds at most one unfinished message between pushes. A message
 * arriving a byte at a time costs O(1) per push, not a copy of what came
 * before: the held bytes stay in place in a buffer that only grows by
 * doubling and is compacted once the consumed part is the larger half.
 */
export class FixFramer {
  private store = new Uint8Array(4096);
  /** Held bytes are store[start, end). */
  private start = 0;
  private end = 0;
  /** Stream offset of store[start]. */
  private base = 0;

  push(chunk: Uint8Array): { messages: Uint8Array[]; garbled: Garbled[] } {
    this.append(chunk);
    const r = frameMessages(this.store.subarray(this.start, this.end));
    const base = this.base;
    const messages = r.messages.map((m) => m.bytes.slice());
    this.start += r.consumed;
    this.base += r.consumed;
    if (this.start === this.end) this.start = this.end = 0;
    if (this.store.length > FRAMER_STORE_KEPT && this.end - this.start <= FRAMER_STORE_KEPT / 4) {
      this.store = this.store.slice(this.start, this.start + FRAMER_STORE_KEPT);
      this.end -= this.start;
      this.start = 0;
    }
    return { messages, garbled: r.garbled.map((g) => ({ ...g, offset: g.offset + base })) };
  }

  private append(chunk: Uint8Array): void {
    const held = this.end - this.start;
    if (this.end + chunk.length > this.store.length) {
      if (held + chunk.length <= this.store.length / 2) {
        this.store.copyWithin(0, this.start, this.end);
      } else {
        let size = this.store.length;
        while (size < 2 * (held + chunk.length)) size *= 2;
        const grown = new Uint8Array(size);
        grown.set(this.store.subarray(this.start, this.end), 0);
        this.store = grown;
      }
      this.start = 0;
      this.end = held;
    }
    this.store.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Bytes held for a message still arriving. */
  get buffered(): number {
    return this.end - this.start;
  }

  /** Bytes of memory the framer keeps between pushes (a large read grows it for that push only). */
  get capacity(): number {
    return this.store.length;
  }
}
