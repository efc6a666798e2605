// drivers/console/console.ts: the kernel's console driver. Each console SQ
// slot owns one line buffer of CONSOLE_LINE_BYTES; the kernel writes a JSON
// object into it and submits the slot. Nothing here allocates: text comes
// from static string literals and numbers are formatted digit by digit.
// When the host has not drained the ring, the line is dropped and counted.

import { CONSOLE_LINE_BYTES, DEV_CONSOLE, OP_CON_WRITE, DESC_F_ERROR } from "../../hal/abi";
import { RING_CONSOLE } from "../../kernel/base/constants";
import { reserve } from "../../kernel/base/mem";
import { ringCreate, ringPush, ringFree, ringHead } from "../../kernel/base/ring";
import { halSetRings } from "../../kernel/base/hal";

let sq: usize = 0;
let lines: usize = 0;
let cursor: usize = 0; // write position inside the current line, 0 = no line open
let lineStart: usize = 0;
let lineLimit: usize = 0;
export let consoleDropped: u64 = 0;

export function consoleInit(): bool {
  assert(sq == 0 && cursor == 0, "consoleInit: the ring and lines are reserved once");
  sq = ringCreate(RING_CONSOLE, "console ring");
  lines = reserve(<usize>RING_CONSOLE * CONSOLE_LINE_BYTES, "console lines");
  if (sq == 0 || lines == 0) return false;
  halSetRings(DEV_CONSOLE, sq, 0);
  return true;
}

// Opens a line; returns false (and counts a drop) when the ring is full.
// Every put* after a failed begin is a no-op.
export function conBegin(): bool {
  assert(cursor == 0, "console line already open");
  if (sq == 0 || ringFree(sq) == 0) {
    consoleDropped++;
    return false;
  }
  const slot = ringHead(sq) & (RING_CONSOLE - 1);
  lineStart = lines + <usize>slot * CONSOLE_LINE_BYTES;
  lineLimit = lineStart + CONSOLE_LINE_BYTES - 1; // room for the closing brace
  cursor = lineStart;
  assert(lineStart >= lines && lineLimit < lines + <usize>RING_CONSOLE * CONSOLE_LINE_BYTES, "conBegin: the line lies in its slot's buffer");
  return true;
}

@inline function putByte(b: u32): void {
  assert(b <= 0xff && (cursor == 0 || (cursor >= lineStart && cursor <= lineLimit)), "putByte: one byte, inside the open line");
  if (cursor != 0 && cursor < lineLimit) {
    store<u8>(cursor, <u8>b);
    cursor++;
  }
}

// ASCII text from a static literal (no escaping: literals are trusted).
export function conStr(s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = <u32>s.charCodeAt(i);
    assert(c < 0x80, "conStr: console literals are ASCII (one byte per character)");
    putByte(c);
  }
}

export function conU64(v: u64): void {
  if (v == 0) { putByte(48); return; }
  let div: u64 = 10000000000000000000;
  let started = false;
  for (let i = 0; i < 20; i++) {
    const digit = <u32>((v / div) % 10);
    if (digit != 0 || started) { putByte(48 + digit); started = true; }
    div /= 10;
  }
  assert(started, "conU64: a non-zero number has a leading digit");
}

export function conHex(ptr: usize, len: usize): void {
  assert(ptr != 0 || len == 0, "conHex: bytes at address 0");
  for (let i: usize = 0; i < len; i++) {
    const b = <u32>load<u8>(ptr + i);
    putByte(hexDigit(b >> 4));
    putByte(hexDigit(b & 15));
  }
}

@inline function hexDigit(n: u32): u32 {
  assert(n < 16, "hexDigit: one nibble");
  return n < 10 ? 48 + n : 87 + n;
}

// Bytes from a service or a client, escaped as a JSON string body. Stops
// early so that ESCAPED_TAIL_BYTES stay free for the rest of the line, which
// keeps every line valid JSON however long the text.
const ESCAPED_TAIL_BYTES: usize = 64;
export function conEscaped(ptr: usize, len: usize): void {
  assert(ptr != 0 || len == 0, "conEscaped: bytes at address 0");
  for (let i: usize = 0; i < len; i++) {
    if (cursor == 0 || cursor + 6 + ESCAPED_TAIL_BYTES >= lineLimit) return;
    const b = <u32>load<u8>(ptr + i);
    if (b == 34 || b == 92) { putByte(92); putByte(b); }
    else if (b < 32 || b == 127) { putByte(92); putByte(117); putByte(48); putByte(48); putByte(hexDigit(b >> 4)); putByte(hexDigit(b & 15)); }
    else putByte(b);
  }
}

// Closes the JSON object the caller opened with conStr("{...") and submits it.
export function conEnd(isError: bool): void {
  if (cursor == 0) return;
  assert(cursor > lineStart && cursor <= lineLimit, "conEnd: the line holds its opening text and room for the brace");
  store<u8>(cursor, 125); // '}', always room: lineLimit keeps one byte
  cursor++;
  const len = <u32>(cursor - lineStart);
  cursor = 0;
  const pushed = ringPush(sq, OP_CON_WRITE, isError ? DESC_F_ERROR : 0, 0, lineStart, len, CONSOLE_LINE_BYTES, 0);
  assert(pushed, "console slot vanished between begin and end");
}
