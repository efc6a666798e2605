// The service config: a flat JSON object of integer capacities, e.g.
//   {"accounts_max":10000,"transfers_max":1000000,"pending_max":100000,"history_max":1000000}
// and "events": true|false (emit committed transfers to the event stream),
// "prefault": true|false (touch every table page at boot; default true).
// Missing keys keep their defaults. An unknown key, a repeated key, a value
// that is not a plain decimal integer in range, or any other syntax is a boot
// error: the reason goes to the log and the service traps.

import { ACCOUNTS_MAX_DEFAULT, ACCOUNTS_MAX_LIMIT, HISTORY_MAX_DEFAULT, HISTORY_MAX_LIMIT,
  PENDING_MAX_DEFAULT, PENDING_MAX_LIMIT, TRANSFERS_MAX_DEFAULT, TRANSFERS_MAX_LIMIT } from "./constants";
import { textLog, textPut, textPutU64, textReset } from "./text";

export let configAccountsMax: u32 = ACCOUNTS_MAX_DEFAULT;
export let configTransfersMax: u32 = TRANSFERS_MAX_DEFAULT;
export let configPendingMax: u32 = PENDING_MAX_DEFAULT;
export let configHistoryMax: u32 = HISTORY_MAX_DEFAULT;
// "events": true emits one event record per batch of committed transfers
// (capability "emit"); off by default, so the benchmarks can compare.
export let configEvents: bool = false;
// "prefault": false leaves the tables untouched at boot (WebAssembly gives
// them zeroed): boot then costs the same whatever the capacity, and the first
// use of each page pays its fault. The simulator boots the ledger hundreds of
// times a seed and turns it off; serving images keep it on, so the first
// transfers do not run at a fraction of the speed while the tables fill.
export let configPrefault: bool = true;

const KEYS: u32 = 6;
let cursor: usize = 0;
let end: usize = 0;
let seen: u32 = 0;

function fail(reason: string, at: u64): void {
  textReset();
  textPut("ledger config: ");
  textPut(reason);
  textPut(" at byte ");
  textPutU64(at);
  textLog();
  unreachable();
}

function skipSpace(): void {
  while (cursor < end) {
    const c = load<u8>(cursor);
    if (c != 0x20 && c != 0x09 && c != 0x0A && c != 0x0D) break;
    cursor++;
  }
}

function expect(c: u8, what: string, start: usize): void {
  skipSpace();
  if (cursor >= end || load<u8>(cursor) != c) fail(what, cursor - start);
  cursor++;
}

/** Is the key at [from, to) equal to the ASCII literal? */
function keyIs(from: usize, to: usize, name: string): bool {
  if (<i32>(to - from) != name.length) return false;
  for (let i = 0; i < name.length; i++) {
    if (load<u8>(from + i) != <u8>name.charCodeAt(i)) return false;
  }
  return true;
}

function readValue(limit: u32, start: usize): u32 {
  skipSpace();
  let value: u64 = 0;
  let digits: u32 = 0;
  while (cursor < end && load<u8>(cursor) >= 0x30 && load<u8>(cursor) <= 0x39) {
    value = value * 10 + <u64>(load<u8>(cursor) - 0x30);
    digits++;
    cursor++;
    if (digits > 10) fail("value has too many digits", cursor - start);
  }
  if (digits == 0) fail("value must be a decimal integer", cursor - start);
  if (value == 0 || value > <u64>limit) fail("value out of range", cursor - start);
  return <u32>value;
}

function readBool(start: usize): bool {
  skipSpace();
  if (keyIs(cursor, min<usize>(cursor + 4, end), "true")) { cursor += 4; return true; }
  if (keyIs(cursor, min<usize>(cursor + 5, end), "false")) { cursor += 5; return false; }
  fail("value must be true or false", cursor - start);
  return false;
}

function readEntry(start: usize): void {
  expect(0x22, "expected '\"' opening a key", start);
  const keyStart = cursor;
  while (cursor < end && load<u8>(cursor) != 0x22) cursor++;
  if (cursor >= end) fail("unterminated key", cursor - start);
  const keyEnd = cursor;
  cursor++;
  expect(0x3A, "expected ':'", start);
  let bit: u32 = 0;
  if (keyIs(keyStart, keyEnd, "accounts_max")) { bit = 1; configAccountsMax = readValue(ACCOUNTS_MAX_LIMIT, start); }
  else if (keyIs(keyStart, keyEnd, "transfers_max")) { bit = 2; configTransfersMax = readValue(TRANSFERS_MAX_LIMIT, start); }
  else if (keyIs(keyStart, keyEnd, "pending_max")) { bit = 4; configPendingMax = readValue(PENDING_MAX_LIMIT, start); }
  else if (keyIs(keyStart, keyEnd, "history_max")) { bit = 8; configHistoryMax = readValue(HISTORY_MAX_LIMIT, start); }
  else if (keyIs(keyStart, keyEnd, "events")) { bit = 16; configEvents = readBool(start); }
  else if (keyIs(keyStart, keyEnd, "prefault")) { bit = 32; configPrefault = readBool(start); }
  else fail("unknown key", keyStart - start);
  if ((seen & bit) != 0) fail("repeated key", keyStart - start);
  seen |= bit;
}

/** Parses `len` bytes of config JSON at `ptr` (len 0 keeps all defaults). */
export function configParse(ptr: usize, len: u32): void {
  if (len == 0) return;
  cursor = ptr;
  end = ptr + len;
  seen = 0;
  expect(0x7B, "expected '{'", ptr);
  skipSpace();
  if (cursor < end && load<u8>(cursor) == 0x7D) {
    cursor++;
  } else {
    for (let entries: u32 = 0; ; entries++) {
      if (entries >= KEYS) fail("too many keys", cursor - ptr);
      readEntry(ptr);
      skipSpace();
      if (cursor < end && load<u8>(cursor) == 0x2C) { cursor++; continue; }
      expect(0x7D, "expected ',' or '}'", ptr);
      break;
    }
  }
  skipSpace();
  if (cursor != end) fail("trailing bytes after the object", cursor - ptr);
  if (configPendingMax > configTransfersMax) fail("pending_max exceeds transfers_max", 0);
}
