// ASCII text into a fixed scratch buffer, for console lines and error messages.
//
// The service allocates nothing after boot, so a line is assembled byte by
// byte from string literals (static memory) and integers, and logged from
// the buffer. Text past TEXT_BYTES is dropped, never written beyond it.

import { log } from "./qenex";
import { TEXT_BYTES } from "./constants";
import { textBuf } from "./memory";

let textLen: u32 = 0;

export function textReset(): void { textLen = 0; }

/** Appends an ASCII literal. */
export function textPut(s: string): void {
  for (let i = 0; i < s.length && textLen < TEXT_BYTES; i++) store<u8>(textBuf + textLen++, <u8>s.charCodeAt(i));
  assert(textLen <= TEXT_BYTES, "text stays within its buffer");
}

/** Appends an unsigned integer in decimal. */
export function textPutU64(v: u64): void {
  if (v >= 10) textPutU64(v / 10);
  if (textLen < TEXT_BYTES) store<u8>(textBuf + textLen++, <u8>(0x30 + <u32>(v % 10)));
  assert(textLen <= TEXT_BYTES, "text stays within its buffer");
}

/** Logs the text assembled since textReset. */
export function textLog(): void {
  assert(textLen <= TEXT_BYTES, "text stays within its buffer");
  log(textBuf, textLen);
}
