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
  return textLen;
}

/** Appends an ASCII literal; characters past the buffer are dropped. */
export function textPut(s: string): void {
  const n = <u32>s.length;
  for (let i: u32 = 0; i < n && textLen < TEXT_BYTES; i++) {
    store<u8>(textBase + textLen, <u8>s.charCodeAt(i));
    textLen++;
  }
}

/** Appends an unsigned decimal number. */
export function textPutU64(value: u64): void {
  let digits: u32 = 1;
  for (let v = value / 10; v != 0; v /= 10) digits++;
  if (textLen + digits > TEXT_BYTES) return;
  let v = value;
  for (let i: u32 = digits; i > 0; i--) {
    store<u8>(textBase + textLen + i - 1, <u8>(48 + <u32>(v % 10)));
    v /= 10;
  }
  textLen += digits;
}

/** Sends the assembled text to the console. */
export function textLog(): void {
  log(textBase, textLen);
}
