// ASCII text into a fixed scratch buffer, for log lines and error replies.
//
// The service has no allocator after boot, so messages are assembled byte by
// byte from string literals (which live in static memory) and integers.

import { TEXT_BYTES } from "./constants";
import { log } from "./qenex";

const textBase: usize = heap.alloc(TEXT_BYTES);
let textLen: u32 = 0;

export function textReset(): void {
  textLen = 0;
}

export function textPtr(): usize {
  return textBase;
}

export function textLength(): u32 {
  assert(textLen <= TEXT_BYTES, "text longer than its buffer");
  return textLen;
}

/** Appends an ASCII literal; characters past the buffer are dropped. */
export function textPut(s: string): void {
  const n = <u32>s.length;
  for (let i: u32 = 0; i < n && textLen < TEXT_BYTES; i++) {
    store<u8>(textBase + textLen, <u8>s.charCodeAt(i));
    textLen++;
  }
  assert(textLen <= TEXT_BYTES, "text longer than its buffer");
}

/** Appends an unsigned decimal number. */
export function textPutU64(value: u64): void {
  let digits: u32 = 1;
  for (let v = value / 10; v != 0; v /= 10) digits++;
  assert(digits <= 20, "a u64 has more than 20 decimal digits");
  if (textLen + digits > TEXT_BYTES) return;
  let v = value;
  for (let i: u32 = digits; i > 0; i--) {
    store<u8>(textBase + textLen + i - 1, <u8>(48 + <u32>(v % 10)));
    v /= 10;
  }
  textLen += digits;
  assert(textLen <= TEXT_BYTES, "text longer than its buffer");
}

/** Sends the assembled text to the console. */
export function textLog(): void {
  assert(textLen <= TEXT_BYTES, "text longer than its buffer");
  log(textBase, textLen);
}
