// host/fix/parse.ts: a framed FIX message (./framing.ts) into its fields, in
// order, with their offsets.
//
// A field is `<tag>=<value><SOH>`. The parser never refuses a framed message:
// what is wrong with a field is recorded on it, and the validator
// (./validate.ts) turns the first problem into the Reject the session sends
// (which needs the MsgSeqNum, so the rest of the message must still be read):
//   - a tag that is not a positive integer without leading zeros (or has
//     more than FIX_LIMITS.tagDigits digits, or no '=') gets tag -1;
//   - an empty value is kept as '';
//   - a DATA field right after its Length field (RawDataLength 95 then
//     RawData 96, ...) is read by that length, SOH bytes and all; when the
//     byte after that many is not SOH, the field is marked `badLength` and
//     read to the next SOH instead.
// Values are strings with one character per byte (Latin-1), so any byte
// sequence, DATA included, survives parse and render unchanged.

import { Buffer } from 'node:buffer';
import { fix44, type Dictionary } from './dictionary.ts';
import { FIX_LIMITS } from './limits.ts';
import { SOH } from './tags.ts';

export interface RawField {
  /** The tag number, or -1 when the tag is not a valid tag number. */
  readonly tag: number;
  /** The value, one character per byte. */
  readonly value: string;
  /** Offset of the tag's first byte in the message. */
  readonly offset: number;
  /** Offset of the value's first byte. */
  readonly valueOffset: number;
  /** A DATA field whose Length field does not end it at an SOH. */
  readonly badLength?: true;
}

const EQUALS = 0x3d;

/** The tag number of bytes [from, to), or -1 when they are not a positive integer without leading zero. */
function tagNumber(buf: Uint8Array, from: number, to: number): number {
  if (to <= from || to - from > FIX_LIMITS.tagDigits || buf[from] === 0x30) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The '=' that ends a tag starting at `from`, or `end` when there is none
 * within the digits a tag may have (one more, so an over-long tag is seen as
 * one): the search never runs past the field, so a message of fields
 * without '=' costs linear time, not a scan to the far end per field.
 */
function equalsIn(buf: Uint8Array, from: number, end: number): number {
  const stop = Math.min(end, from + FIX_LIMITS.tagDigits + 1);
  for (let i = from; i < stop; i++) if (buf[i] === EQUALS) return i;
  if (stop < end) {
    const eq = buf.subarray(stop, end).indexOf(EQUALS);
    if (eq >= 0) return stop + eq;
  }
  return end;
}

/** A non-negative integer value of at most FIX_LIMITS.bodyLengthDigits digits, or -1. */
function lengthValue(value: string): number {
  return /^[0-9]+$/.test(value) && value.length <= FIX_LIMITS.bodyLengthDigits ? Number(value) : -1;
}

/** The fields of one message, in order (see the file's comment). Bounded by FIX_LIMITS.fieldsPerMessage. */
export function parseFields(message: Uint8Array, dict: Dictionary = fix44()): RawField[] {
  // One decode of the whole message; each value is then a substring of it.
  const text = Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('latin1');
  const fields: RawField[] = [];
  let pos = 0;
  let dataTag = -1;
  let dataLength = -1;
  while (pos < message.length && fields.length < FIX_LIMITS.fieldsPerMessage) {
    let end = message.indexOf(SOH, pos);
    if (end < 0) end = message.length;
    const eq = equalsIn(message, pos, end);
    const tag = eq === end ? -1 : tagNumber(message, pos, eq);
    const valueOffset = Math.min(eq + 1, end);
    let badLength = false;
    if (tag === dataTag && tag > 0) {
      const dataEnd = valueOffset + dataLength;
      if (dataEnd < message.length && message[dataEnd] === SOH && dataLength > 0) end = dataEnd;
      else badLength = true;
    }
    const value = text.slice(valueOffset, end);
    fields.push(badLength ? { tag, value, offset: pos, valueOffset, badLength } : { tag, value, offset: pos, valueOffset });
    dataTag = dict.dataByLength.get(tag) ?? -1;
    dataLength = dataTag > 0 ? lengthValue(value) : -1;
    if (dataLength < 0) dataTag = -1;
    pos = end + 1;
  }
  return fields;
}
