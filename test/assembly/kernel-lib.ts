// test/assembly/kernel-lib.ts: a test-only entry that exposes lib/ (the AssemblyScript library of the kernel and services) to
// JavaScript (test/unit/kernel-lib.test.ts).
//
// Each export is a thin wrapper over the kernel function of the same name, so
// the tests exercise exactly the code the kernel runs. Buffers come from
// alloc() (the stub runtime's bump allocator; tests allocate a few regions
// once). JSON helpers walk a document with the pull reader and write a
// canonical re-serialisation (the form JSON.stringify produces) into an
// output buffer, so JavaScript can compare it with JSON.parse + stringify.

import {
  sha256,
  sha256Final,
  sha256Init,
  sha256Update,
  SHA256_CTX_BYTES,
} from "../../lib/sha256";
import { crc32c, crc32cUpdate } from "../../lib/crc32c";
import {
  JsonReader,
  JSON_ARRAY,
  JSON_DEPTH_MAX,
  JSON_FALSE,
  JSON_INVALID,
  JSON_NULL,
  JSON_NUMBER,
  JSON_OBJECT,
  JSON_STRING,
  JSON_TRUE,
} from "../../lib/json";

export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

// A 16-byte allocation whose address shows where the bump allocator stands:
// if nothing else allocated between two probes, they are one stride apart.
export function heap_probe(): usize {
  return heap.alloc(16);
}

// ---- SHA-256 ----

export function sha256_ctx_bytes(): usize {
  return SHA256_CTX_BYTES;
}
export function sha256_of(ptr: usize, len: u32, out: usize): void {
  sha256(ptr, <usize>len, out);
}
export function sha256_init(ctx: usize): void {
  sha256Init(ctx);
}
export function sha256_update(ctx: usize, ptr: usize, len: u32): void {
  sha256Update(ctx, ptr, <usize>len);
}
export function sha256_final(ctx: usize, out: usize): void {
  sha256Final(ctx, out);
}

// ---- CRC-32C ----

export function crc32c_of(ptr: usize, len: u32): u32 {
  return crc32c(ptr, <usize>len);
}
export function crc32c_update(crc: u32, ptr: usize, len: u32): u32 {
  return crc32cUpdate(crc, ptr, <usize>len);
}

// ---- JSON ----

// Results of the JSON helpers below, besides a byte count.
const RESULT_ERROR: i32 = -1; // the reader reported an error; see json_error
const RESULT_OVERFLOW: i32 = -2; // the output buffer was too small
const RESULT_MISSING: i32 = -3; // json_pick: no such key

let lastError: string | null = null;
let lastErrorOffset: u32 = 0;

// Output buffer of the helper that is running.
let outPtr: usize = 0;
let outCap: u32 = 0;
let outLen: u32 = 0;
let outOverflow: bool = false;

function outReset(ptr: usize, cap: u32): void {
  outPtr = ptr;
  outCap = cap;
  outLen = 0;
  outOverflow = false;
}

function put(byte: u32): void {
  if (outLen >= outCap) {
    outOverflow = true;
    return;
  }
  store<u8>(outPtr + <usize>outLen, <u8>byte);
  outLen += 1;
}

function putAscii(s: string): void {
  for (let i: i32 = 0; i < s.length; i++) put(<u32>s.charCodeAt(i));
}

function putHex4(unit: u32): void {
  putAscii("\\u");
  for (let shift: i32 = 12; shift >= 0; shift -= 4) {
    const digit = (unit >>> (<u32>shift)) & 0xf;
    put(digit < 10 ? 0x30 + digit : 0x61 + digit - 10);
  }
}

// UTF-8 of one code point.
function putCodePoint(cp: u32): void {
  if (cp < 0x80) {
    put(cp);
  } else if (cp < 0x800) {
    put(0xc0 | (cp >>> 6));
    put(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    put(0xe0 | (cp >>> 12));
    put(0x80 | ((cp >>> 6) & 0x3f));
    put(0x80 | (cp & 0x3f));
  } else {
    put(0xf0 | (cp >>> 18));
    put(0x80 | ((cp >>> 12) & 0x3f));
    put(0x80 | ((cp >>> 6) & 0x3f));
    put(0x80 | (cp & 0x3f));
  }
}

// A JSON string literal escaped the way JSON.stringify escapes it.
function putString(s: string): void {
  put(0x22);
  const n = s.length;
  for (let i: i32 = 0; i < n; i++) {
    let cp = <u32>s.charCodeAt(i);
    if (cp == 0x22) putAscii("\\\"");
    else if (cp == 0x5c) putAscii("\\\\");
    else if (cp == 0x08) putAscii("\\b");
    else if (cp == 0x0c) putAscii("\\f");
    else if (cp == 0x0a) putAscii("\\n");
    else if (cp == 0x0d) putAscii("\\r");
    else if (cp == 0x09) putAscii("\\t");
    else if (cp < 0x20) putHex4(cp);
    else {
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
        const low = <u32>s.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          i += 1;
        }
      }
      putCodePoint(cp);
    }
  }
  put(0x22);
}

// Re-serialises the next value. Numbers go through readI64, so documents
// given to it keep their numbers within what JavaScript holds exactly.
function canonValue(r: JsonReader): void {
  const kind = r.peekKind();
  if (kind == JSON_OBJECT) {
    r.beginObject();
    put(0x7b);
    let first = true;
    for (let key = r.nextKey(); key !== null; key = r.nextKey()) {
      if (!first) put(0x2c);
      first = false;
      putString(key);
      put(0x3a);
      canonValue(r);
    }
    put(0x7d);
  } else if (kind == JSON_ARRAY) {
    r.beginArray();
    put(0x5b);
    let first = true;
    while (r.nextItem()) {
      if (!first) put(0x2c);
      first = false;
      canonValue(r);
    }
    put(0x5d);
  } else if (kind == JSON_STRING) {
    putString(r.readString());
  } else if (kind == JSON_NUMBER) {
    putAscii(r.readI64().toString());
  } else if (kind == JSON_TRUE || kind == JSON_FALSE) {
    putAscii(r.readBool() ? "true" : "false");
  } else if (kind == JSON_NULL) {
    if (r.readNull()) putAscii("null");
  } else {
    r.skipValue(); // reports what is wrong: end of input or not a value
  }
}

function finishWith(r: JsonReader): bool {
  const ok = r.finish();
  lastError = r.error;
  lastErrorOffset = r.errorOffset;
  assert(ok == (r.error === null), "finish() disagrees with error");
  return ok;
}

function outResult(ok: bool): i32 {
  if (!ok) return RESULT_ERROR;
  if (outOverflow) return RESULT_OVERFLOW;
  return <i32>outLen;
}

// Writes the last error's UTF-8 to out; returns its length (0: no error).
export function json_error(out: usize, cap: u32): u32 {
  const e = lastError;
  if (e === null) return 0;
  const bytes = <u32>String.UTF8.byteLength(e);
  if (bytes > cap) return 0;
  return <u32>String.UTF8.encodeUnsafe(changetype<usize>(e), e.length, out);
}

export function json_error_offset(): u32 {
  return lastErrorOffset;
}

export function json_depth_max(): u32 {
  return JSON_DEPTH_MAX;
}

// Canonical form of the whole document at ptr.
export function json_canon(ptr: usize, len: u32, out: usize, cap: u32): i32 {
  const r = new JsonReader(ptr, len);
  outReset(out, cap);
  canonValue(r);
  return outResult(finishWith(r));
}

// Skips the whole document with skipValue: 0, or RESULT_ERROR.
export function json_skip(ptr: usize, len: u32): i32 {
  const r = new JsonReader(ptr, len);
  r.skipValue();
  return finishWith(r) ? 0 : RESULT_ERROR;
}

// The document is one integer; 0 on error (see json_error).
export function json_read_u64(ptr: usize, len: u32): u64 {
  const r = new JsonReader(ptr, len);
  const v = r.readU64();
  return finishWith(r) ? v : 0;
}

export function json_read_i64(ptr: usize, len: u32): i64 {
  const r = new JsonReader(ptr, len);
  const v = r.readI64();
  return finishWith(r) ? v : 0;
}

// The document is one boolean: 1 or 0, or RESULT_ERROR.
export function json_read_bool(ptr: usize, len: u32): i32 {
  const r = new JsonReader(ptr, len);
  const v = r.readBool();
  return finishWith(r) ? (v ? 1 : 0) : RESULT_ERROR;
}

// The document is one string: its value, escaped, written to out.
export function json_read_string(ptr: usize, len: u32, out: usize, cap: u32): i32 {
  const r = new JsonReader(ptr, len);
  outReset(out, cap);
  putString(r.readString());
  return outResult(finishWith(r));
}

// peekKind() at the start of the document (no error is raised by peeking).
export function json_peek(ptr: usize, len: u32): u8 {
  const r = new JsonReader(ptr, len);
  const kind = r.peekKind();
  lastError = r.error;
  return kind;
}

// The document is an object: the canonical form of the value of `key`, with
// every other member passed over by skipValue, the way boot code reads a
// manifest with fields it does not know.
export function json_pick(
  ptr: usize, len: u32, keyPtr: usize, keyLen: u32, out: usize, cap: u32,
): i32 {
  const want = String.UTF8.decodeUnsafe(keyPtr, <usize>keyLen);
  const r = new JsonReader(ptr, len);
  outReset(out, cap);
  let found = false;
  if (r.beginObject()) {
    for (let key = r.nextKey(); key !== null; key = r.nextKey()) {
      if (key == want && !found) {
        canonValue(r);
        found = true;
      } else {
        r.skipValue();
      }
    }
  }
  const ok = finishWith(r);
  if (ok && !found) return RESULT_MISSING;
  return outResult(ok);
}

// Calls the API out of order: 0 nextKey inside an array, 1 nextItem inside
// an object, 2 nextKey at the top level. Returns RESULT_ERROR as expected.
export function json_misuse(ptr: usize, len: u32, op: u32): i32 {
  const r = new JsonReader(ptr, len);
  if (op == 0) {
    r.beginArray();
    r.nextKey();
  } else if (op == 1) {
    r.beginObject();
    r.nextItem();
  } else {
    r.nextKey();
  }
  return finishWith(r) ? 0 : RESULT_ERROR;
}

// Forces an error with readU64 on the document (which must not be an
// integer), then calls every method. Returns a bit set of the calls that did
// NOT return their neutral value or that changed the first error (0 = all good).
export function json_neutral(ptr: usize, len: u32): u32 {
  const r = new JsonReader(ptr, len);
  r.readU64();
  const first = r.error;
  if (first === null) return 0xffffffff;
  let bad: u32 = 0;
  if (r.beginObject()) bad |= 1 << 0;
  if (r.nextKey() !== null) bad |= 1 << 1;
  if (r.beginArray()) bad |= 1 << 2;
  if (r.nextItem()) bad |= 1 << 3;
  if (r.readString() != "") bad |= 1 << 4;
  if (r.readU64() != 0) bad |= 1 << 5;
  if (r.readI64() != 0) bad |= 1 << 6;
  if (r.readBool()) bad |= 1 << 7;
  if (r.readNull()) bad |= 1 << 8;
  if (r.peekKind() != JSON_INVALID) bad |= 1 << 9;
  if (r.atEnd()) bad |= 1 << 10;
  r.skipValue();
  if (r.finish()) bad |= 1 << 11;
  if (r.error != first) bad |= 1 << 12;
  lastError = r.error;
  return bad;
}
