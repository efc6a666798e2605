// lib/json.ts: a small pull-style JSON reader over bytes in memory.
//
// The AssemblyScript side reads a few JSON documents, each once: the kernel
// the image manifest at boot, each service its config at qx_init (the ledger,
// the gateway). This is the one reader for all of them. A pull reader lets
// the caller walk a document field by field into its own typed structures,
// with no document tree in between:
//
//   const r = new JsonReader(ptr, len);
//   if (r.beginObject()) {
//     for (let key = r.nextKey(); key !== null; key = r.nextKey()) {
//       if (key == "name") name = r.readString();
//       else if (key == "slots") slots = r.readU64();
//       else r.skipValue();
//     }
//   }
//   if (!r.finish()) fail(r.error!);
//
// Strings are returned as `string`, which allocates; that is allowed because
// each document is read once, at boot or qx_init (in the kernel before the
// allocator is sealed), and never afterwards.
//
// Errors: the first error is kept in `error` as "<what> at byte <offset>"
// (offset from the start of the document); from then on every call returns a
// neutral value (false, null, "", 0, JSON_INVALID), so a walk such as the one
// above always ends and the caller checks `error` once.
//
// Strictness: RFC 8259, plus the limits a manifest needs. Strings must be
// well-formed UTF-8 with no raw control characters and no unpaired surrogate
// escapes; integers read by readU64/readI64 must be exact (no fraction, no
// exponent, no leading zero, no overflow). skipValue accepts any RFC 8259
// number, so unknown fields may hold fractions.
//
// Bounds: every loop advances through the input and stops at its end, and
// nesting is limited to JSON_DEPTH_MAX.

// Deepest nesting of objects and arrays. A manifest nests about four levels;
// 64 leaves ample room and lets one bit per level of a u64 record the frame
// stack, so the reader needs no stack memory at all.
export const JSON_DEPTH_MAX: u32 = 64;

// What peekKind() sees next.
export const JSON_INVALID: u8 = 0; // not the start of a value, or after an error
export const JSON_OBJECT: u8 = 1;
export const JSON_ARRAY: u8 = 2;
export const JSON_STRING: u8 = 3;
export const JSON_NUMBER: u8 = 4;
export const JSON_TRUE: u8 = 5;
export const JSON_FALSE: u8 = 6;
export const JSON_NULL: u8 = 7;
export const JSON_END: u8 = 8; // only whitespace remains

const CH_TAB: u32 = 0x09;
const CH_LF: u32 = 0x0a;
const CH_CR: u32 = 0x0d;
const CH_SPACE: u32 = 0x20;
const CH_QUOTE: u32 = 0x22;
const CH_PLUS: u32 = 0x2b;
const CH_COMMA: u32 = 0x2c;
const CH_MINUS: u32 = 0x2d;
const CH_DOT: u32 = 0x2e;
const CH_0: u32 = 0x30;
const CH_9: u32 = 0x39;
const CH_COLON: u32 = 0x3a;
const CH_LBRACKET: u32 = 0x5b;
const CH_BACKSLASH: u32 = 0x5c;
const CH_RBRACKET: u32 = 0x5d;
const CH_LBRACE: u32 = 0x7b;
const CH_RBRACE: u32 = 0x7d;

const U64_MAX: u64 = 0xffffffffffffffff;
const I64_MAX_MAGNITUDE: u64 = 0x7fffffffffffffff;
const I64_MIN_MAGNITUDE: u64 = 0x8000000000000000;

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool { return c - CH_0 <= 9; }
// @ts-ignore: decorator
@inline function isContinuation(c: u32): bool { return (c & 0xc0) == 0x80; }

// Value of one hex digit, or 0xffffffff when `c` is not one.
function hexValue(c: u32): u32 {
  assert(c <= 0xff, "hexValue: one byte");
  if (c - CH_0 <= 9) return c - CH_0;
  const lower = c | 0x20;
  if (lower - 0x61 <= 5) return lower - 0x61 + 10;
  return 0xffffffff;
}

export class JsonReader {
  // First error, "<what> at byte <offset>", or null.
  error: string | null = null;
  // Byte offset of the first error (meaningful only when `error` is set).
  errorOffset: u32 = 0;

  private ptr: usize;
  private len: u32;
  private pos: u32 = 0;
  // Frame stack: depth d (1-based) is bit d-1. arrayBits says the frame is
  // an array (else an object); firstBits says it has produced no member yet.
  private depth: u32 = 0;
  private arrayBits: u64 = 0;
  private firstBits: u64 = 0;
  // Set by scanString: the closing quote, and the UTF-16 length of the value.
  private stringEnd: u32 = 0;
  private stringUnits: u32 = 0;

  constructor(ptr: usize, len: u32) {
    assert(ptr != 0 || len == 0, "JsonReader: null input");
    this.ptr = ptr;
    this.len = len;
  }

  // ---- structure ----

  // Consumes '{' and enters the object.
  beginObject(): bool {
    if (!this.expectValueStart(CH_LBRACE, "expected '{'")) return false;
    const entered = this.push(false);
    assert(!entered || !this.topIsArray(), "beginObject: the new frame is an object");
    return entered;
  }

  // Consumes '[' and enters the array.
  beginArray(): bool {
    if (!this.expectValueStart(CH_LBRACKET, "expected '['")) return false;
    const entered = this.push(true);
    assert(!entered || this.topIsArray(), "beginArray: the new frame is an array");
    return entered;
  }

  // The next key of the current object, with its ':' consumed, or null at the
  // closing '}' (consumed) or on error. The caller then reads or skips the value.
  nextKey(): string | null {
    if (!this.memberStart(false)) return null;
    const key = this.decodeString();
    if (!this.expectColon()) return null;
    assert(this.pos <= this.len && this.error === null, "nextKey: a key read inside the document");
    return key;
  }

  // True when another item of the current array follows (the caller then reads
  // or skips it); false at the closing ']' (consumed) or on error.
  nextItem(): bool {
    const more = this.memberStart(true);
    assert(!more || (this.pos < this.len && this.topIsArray()), "nextItem: an item starts inside the document, in an array");
    return more;
  }

  // Skips one value of any kind, nested objects and arrays included.
  skipValue(): void {
    if (this.error !== null) return;
    const base = this.depth;
    assert(base <= JSON_DEPTH_MAX, "skipValue: nesting within the limit");
    // Every pass consumes at least one byte or returns, so len + 1 passes
    // always suffice; running out means a bug here, reported as an error.
    for (let pass: u32 = 0; pass <= this.len; pass++) {
      if (this.depth > base) {
        const inArray = this.topIsArray();
        if (!this.memberStart(inArray)) {
          if (this.error !== null || this.depth == base) return;
          continue;
        }
        if (!inArray && (this.scanString() < 0 || !this.expectColon())) return;
      }
      if (!this.skipOneToken()) return;
      assert(this.depth >= base && this.pos <= this.len, "skipValue: never above the value's own level, never past the end");
      if (this.depth == base) return;
    }
    this.fail("skipValue did not terminate", this.pos);
  }

  // ---- scalars ----

  readString(): string {
    if (!this.expectValueStart(CH_QUOTE, "expected a string")) return "";
    this.pos -= 1; // decodeString starts at the opening quote
    assert(this.byteAt(this.pos) == CH_QUOTE, "readString: back on the opening quote");
    return this.decodeString();
  }

  // A non-negative integer that fits in u64.
  readU64(): u64 {
    if (!this.atValue()) return 0;
    if (this.byteAt(this.pos) == CH_MINUS) {
      this.fail("expected a non-negative integer", this.pos);
      return 0;
    }
    const value = this.parseMagnitude(U64_MAX, "integer overflows u64");
    assert(this.error !== null || this.pos <= this.len, "readU64: the number ends inside the document");
    return value;
  }

  // An integer that fits in i64.
  readI64(): i64 {
    if (!this.atValue()) return 0;
    const negative = this.byteAt(this.pos) == CH_MINUS;
    if (negative) this.pos += 1;
    const limit = negative ? I64_MIN_MAGNITUDE : I64_MAX_MAGNITUDE;
    const magnitude = this.parseMagnitude(limit, "integer overflows i64");
    assert(this.error !== null || magnitude <= limit, "readI64: the magnitude within the sign's limit");
    // 0 - 2^63 wraps to i64.MIN_VALUE, which is exactly what "-9223372036854775808" means.
    return negative ? <i64>(0 - magnitude) : <i64>magnitude;
  }

  readBool(): bool {
    if (!this.atValue()) return false;
    assert(this.pos < this.len, "readBool: a value starts inside the document");
    if (this.literalAt(this.pos, "true")) { this.pos += 4; return true; }
    if (this.literalAt(this.pos, "false")) { this.pos += 5; return false; }
    this.fail("expected true or false", this.pos);
    return false;
  }

  // Consumes `null`; false (with an error) when something else is there.
  readNull(): bool {
    if (!this.atValue()) return false;
    assert(this.pos < this.len, "readNull: a value starts inside the document");
    if (this.literalAt(this.pos, "null")) { this.pos += 4; return true; }
    this.fail("expected null", this.pos);
    return false;
  }

  // ---- looking ahead ----

  // The kind of the next value, without consuming it (whitespace aside).
  peekKind(): u8 {
    if (this.error !== null) return JSON_INVALID;
    this.skipWhitespace();
    assert(this.pos <= this.len, "peekKind: the position never passes the end");
    if (this.pos >= this.len) return JSON_END;
    const c = this.byteAt(this.pos);
    if (c == CH_LBRACE) return JSON_OBJECT;
    if (c == CH_LBRACKET) return JSON_ARRAY;
    if (c == CH_QUOTE) return JSON_STRING;
    if (c == CH_MINUS || isDigit(c)) return JSON_NUMBER;
    if (this.literalAt(this.pos, "true")) return JSON_TRUE;
    if (this.literalAt(this.pos, "false")) return JSON_FALSE;
    if (this.literalAt(this.pos, "null")) return JSON_NULL;
    return JSON_INVALID;
  }

  // Byte offset of the next unread byte (after whitespace when called after
  // peekKind). Lets a caller note where a value starts and ends, e.g. to
  // hand a sub-object's raw bytes to someone else.
  position(): u32 {
    assert(this.pos <= this.len, "position: never past the end");
    return this.pos;
  }

  // True when only whitespace remains (false after an error).
  atEnd(): bool {
    return this.peekKind() == JSON_END;
  }

  // Ends the document: every object and array closed and nothing but
  // whitespace left. True when the whole read succeeded.
  finish(): bool {
    if (this.error !== null) return false;
    this.skipWhitespace();
    if (this.depth != 0) {
      const what = this.topIsArray() ? "unclosed array" : "unclosed object";
      this.fail(this.pos >= this.len ? "unexpected end of input" : what, this.pos);
    } else if (this.pos < this.len) {
      this.fail("unexpected data after the document", this.pos);
    }
    assert(this.error !== null || (this.depth == 0 && this.pos == this.len), "finish: a finished document is closed and fully read");
    return this.error === null;
  }

  // ---- internals: bytes and errors ----

  // @ts-ignore: decorator
  @inline private byteAt(i: u32): u32 {
    // Every caller checked i against len: reading past the document is a bug here.
    assert(i < this.len, "JsonReader: a read past the end of the document");
    return <u32>load<u8>(this.ptr + <usize>i);
  }

  private fail(what: string, at: u32): void {
    assert(at <= this.len, "JsonReader: an error offset past the end of the document");
    if (this.error !== null) return; // keep the first, it is the cause
    this.error = what + " at byte " + at.toString();
    this.errorOffset = at;
  }

  private skipWhitespace(): void {
    let i = this.pos;
    while (i < this.len) {
      const c = this.byteAt(i);
      if (c != CH_SPACE && c != CH_LF && c != CH_CR && c != CH_TAB) break;
      i += 1;
    }
    this.pos = i;
    assert(this.pos <= this.len, "skipWhitespace: stops at the end of the document");
  }

  // Skips whitespace and reports whether a value may start here.
  private atValue(): bool {
    if (this.error !== null) return false;
    this.skipWhitespace();
    if (this.pos < this.len) return true;
    this.fail("unexpected end of input", this.len);
    return false;
  }

  // Skips whitespace and consumes `c`, which must start the next value.
  private expectValueStart(c: u32, what: string): bool {
    if (!this.atValue()) return false;
    assert(this.pos < this.len, "expectValueStart: atValue leaves a byte to look at");
    if (this.byteAt(this.pos) != c) {
      this.fail(what, this.pos);
      return false;
    }
    this.pos += 1;
    return true;
  }

  private expectColon(): bool {
    if (this.error !== null) return false;
    this.skipWhitespace();
    if (this.pos >= this.len) {
      this.fail("unexpected end of input", this.len);
      return false;
    }
    if (this.byteAt(this.pos) != CH_COLON) {
      this.fail("expected ':'", this.pos);
      return false;
    }
    this.pos += 1;
    assert(this.pos <= this.len, "expectColon: the colon was inside the document");
    return true;
  }

  private literalAt(i: u32, word: string): bool {
    const n = <u32>word.length;
    assert(i <= this.len, "literalAt: a position inside the document");
    if (this.len - i < n) return false; // i <= len always holds
    for (let k: u32 = 0; k < n; k++) {
      if (this.byteAt(i + k) != <u32>word.charCodeAt(k)) return false;
    }
    return true;
  }

  // ---- internals: frames ----

  // @ts-ignore: decorator
  @inline private topBit(): u64 {
    assert(this.depth >= 1 && this.depth <= JSON_DEPTH_MAX, "topBit: inside an object or array, within the depth limit");
    return (<u64>1) << <u64>(this.depth - 1);
  }

  private topIsArray(): bool {
    assert(this.depth > 0, "topIsArray: outside any object or array");
    return (this.arrayBits & this.topBit()) != 0;
  }

  private push(isArray: bool): bool {
    if (this.depth == JSON_DEPTH_MAX) {
      this.fail("nesting deeper than " + JSON_DEPTH_MAX.toString(), this.pos - 1);
      return false;
    }
    this.depth += 1;
    const bit = this.topBit();
    this.arrayBits = isArray ? this.arrayBits | bit : this.arrayBits & ~bit;
    this.firstBits |= bit;
    assert(this.topIsArray() == isArray && (this.firstBits & bit) != 0, "push: a new, empty frame of the kind asked");
    return true;
  }

  private pop(): void {
    assert(this.depth > 0, "JsonReader: pop at depth 0");
    this.depth -= 1;
  }

  // Advances to the next member of the current frame: consumes the ',' between
  // members, or the closing bracket (pops and returns false). In an object it
  // leaves pos on the key's opening quote.
  private memberStart(inArray: bool): bool {
    if (this.error !== null) return false;
    assert(this.depth <= JSON_DEPTH_MAX && this.pos <= this.len, "memberStart: within the depth limit and the document");
    if (this.depth == 0 || this.topIsArray() != inArray) {
      this.fail(inArray ? "nextItem outside an array" : "nextKey outside an object", this.pos);
      return false;
    }
    this.skipWhitespace();
    if (this.pos >= this.len) {
      this.fail("unexpected end of input", this.len);
      return false;
    }
    const close = inArray ? CH_RBRACKET : CH_RBRACE;
    const bit = this.topBit();
    const first = (this.firstBits & bit) != 0;
    let c = this.byteAt(this.pos);
    if (c == close) {
      this.pos += 1;
      this.pop();
      return false;
    }
    if (first) {
      this.firstBits &= ~bit;
    } else {
      if (c != CH_COMMA) {
        this.fail(inArray ? "expected ',' or ']'" : "expected ',' or '}'", this.pos);
        return false;
      }
      const comma = this.pos;
      this.pos += 1;
      this.skipWhitespace();
      if (this.pos >= this.len) {
        this.fail("unexpected end of input", this.len);
        return false;
      }
      c = this.byteAt(this.pos);
      if (c == close) {
        this.fail("trailing comma", comma);
        return false;
      }
    }
    if (!inArray && c != CH_QUOTE) {
      this.fail(first ? "expected a key or '}'" : "expected a key", this.pos);
      return false;
    }
    assert(this.pos < this.len && (this.firstBits & bit) == 0, "memberStart: a member starts inside the document, and the frame is no longer empty");
    return true;
  }

  // Consumes one token that starts a value: a scalar entirely, or the opening
  // bracket of an object or array (pushing its frame).
  private skipOneToken(): bool {
    if (!this.atValue()) return false;
    assert(this.pos < this.len, "skipOneToken: atValue leaves a byte to look at");
    const c = this.byteAt(this.pos);
    if (c == CH_LBRACE || c == CH_LBRACKET) {
      this.pos += 1;
      return this.push(c == CH_LBRACKET);
    }
    if (c == CH_QUOTE) return this.scanString() >= 0;
    if (c == CH_MINUS || isDigit(c)) return this.skipNumber();
    if (this.literalAt(this.pos, "true") || this.literalAt(this.pos, "null")) {
      this.pos += 4;
      return true;
    }
    if (this.literalAt(this.pos, "false")) {
      this.pos += 5;
      return true;
    }
    this.fail("expected a value", this.pos);
    return false;
  }

  // ---- internals: numbers ----

  // Digits of an integer at pos, at most `limit`. Rejects what an exact
  // integer must not have, each with its own message.
  private parseMagnitude(limit: u64, overflow: string): u64 {
    const start = this.pos;
    if (start >= this.len) {
      this.fail("unexpected end of input", this.len);
      return 0;
    }
    if (!isDigit(this.byteAt(start))) {
      this.fail("expected a digit", start);
      return 0;
    }
    if (this.byteAt(start) == CH_0 && start + 1 < this.len && isDigit(this.byteAt(start + 1))) {
      this.fail("leading zero", start);
      return 0;
    }
    let value: u64 = 0;
    let i = start;
    while (i < this.len && isDigit(this.byteAt(i))) {
      const digit = <u64>(this.byteAt(i) - CH_0);
      // value * 10 + digit <= limit, rearranged so that nothing overflows.
      if (value > (limit - digit) / 10) {
        this.fail(overflow, start);
        return 0;
      }
      value = value * 10 + digit;
      i += 1;
    }
    assert(value <= limit && i > start && i <= this.len, "parseMagnitude: at least one digit, within the limit and the document");
    this.pos = i;
    if (i < this.len) {
      const c = this.byteAt(i);
      if (c == CH_DOT) { this.fail("fraction not allowed in an integer", i); return 0; }
      if ((c | 0x20) == 0x65) { this.fail("exponent not allowed in an integer", i); return 0; }
    }
    return value;
  }

  // Any RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  private skipNumber(): bool {
    let i = this.pos;
    if (this.byteAt(i) == CH_MINUS) i += 1;
    if (i >= this.len || !isDigit(this.byteAt(i))) {
      this.fail("expected a digit", i);
      return false;
    }
    if (this.byteAt(i) == CH_0 && i + 1 < this.len && isDigit(this.byteAt(i + 1))) {
      this.fail("leading zero", i);
      return false;
    }
    i = this.skipDigits(i);
    if (i < this.len && this.byteAt(i) == CH_DOT) {
      i += 1;
      if (i >= this.len || !isDigit(this.byteAt(i))) {
        this.fail("expected a digit after '.'", i);
        return false;
      }
      i = this.skipDigits(i);
    }
    if (i < this.len && (this.byteAt(i) | 0x20) == 0x65) {
      i += 1;
      if (i < this.len && (this.byteAt(i) == CH_PLUS || this.byteAt(i) == CH_MINUS)) i += 1;
      if (i >= this.len || !isDigit(this.byteAt(i))) {
        this.fail("expected a digit in the exponent", i);
        return false;
      }
      i = this.skipDigits(i);
    }
    assert(i > this.pos && i <= this.len, "skipNumber: a number of at least one byte, inside the document");
    this.pos = i;
    return true;
  }

  private skipDigits(i: u32): u32 {
    assert(i <= this.len, "skipDigits: starts inside the document");
    while (i < this.len && isDigit(this.byteAt(i))) i += 1;
    return i;
  }

  // ---- internals: strings ----

  // Validates the string whose opening quote is at pos, leaving pos after its
  // closing quote, stringEnd on that quote and stringUnits its UTF-16 length.
  // Returns the UTF-16 length, or -1 on error.
  private scanString(): i32 {
    const start = this.pos;
    assert(this.byteAt(start) == CH_QUOTE, "scanString: not at a quote");
    let units: u32 = 0;
    let i = start + 1;
    while (i < this.len) {
      const c = this.byteAt(i);
      let step: u32 = 1;
      if (c == CH_QUOTE) {
        this.stringEnd = i;
        this.stringUnits = units;
        this.pos = i + 1;
        // One UTF-16 unit never takes less than one byte of JSON.
        assert(units <= i - start - 1 && this.pos <= this.len, "scanString: the string ends inside the document");
        return <i32>units;
      } else if (c == CH_BACKSLASH) {
        step = this.scanEscape(i, start);
      } else if (c < 0x20) {
        this.fail("control character in string", i);
        step = 0;
      } else if (c >= 0x80) {
        step = this.scanUtf8(i);
      }
      if (step == 0) return -1;
      // A 4-byte sequence and an escaped surrogate pair are two UTF-16 units.
      units += step == 4 || step == 12 ? 2 : 1;
      i += step;
    }
    this.fail("unterminated string", start);
    return -1;
  }

  // Length in bytes of the escape at i (2, 6, or 12 for a surrogate pair),
  // or 0 after reporting an error.
  private scanEscape(i: u32, start: u32): u32 {
    assert(this.byteAt(i) == CH_BACKSLASH && start < i, "scanEscape: at a backslash inside a string");
    if (i + 1 >= this.len) {
      this.fail("unterminated string", start);
      return 0;
    }
    const e = this.byteAt(i + 1);
    if (e == 0x75) return this.scanUnicodeEscape(i, start); // \u
    if (
      e == CH_QUOTE || e == CH_BACKSLASH || e == 0x2f || e == 0x62 ||
      e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74
    ) return 2; // \" \\ \/ \b \f \n \r \t
    this.fail("invalid escape", i);
    return 0;
  }

  private scanUnicodeEscape(i: u32, start: u32): u32 {
    assert(i + 1 < this.len && this.byteAt(i + 1) == 0x75, "scanUnicodeEscape: at a \\u escape");
    const unit = this.hex4(i + 2, start);
    if (unit > 0xffff) return 0;
    if (unit < 0xd800 || unit > 0xdfff) return 6;
    if (unit >= 0xdc00) {
      this.fail("unpaired surrogate escape", i);
      return 0;
    }
    // A high surrogate must be followed at once by an escaped low surrogate.
    if (this.len - i < 12 || this.byteAt(i + 6) != CH_BACKSLASH || this.byteAt(i + 7) != 0x75) {
      this.fail("unpaired surrogate escape", i);
      return 0;
    }
    const low = this.hex4(i + 8, start);
    if (low > 0xffff) return 0;
    if (low < 0xdc00 || low > 0xdfff) {
      this.fail("unpaired surrogate escape", i);
      return 0;
    }
    return 12;
  }

  // The 4 hex digits at i, or 0xffffffff after reporting an error.
  private hex4(i: u32, start: u32): u32 {
    if (this.len - i < 4) {
      this.fail("unterminated string", start);
      return 0xffffffff;
    }
    let value: u32 = 0;
    for (let k: u32 = 0; k < 4; k++) {
      const digit = hexValue(this.byteAt(i + k));
      if (digit > 15) {
        this.fail("invalid \\u escape", i - 2);
        return 0xffffffff;
      }
      value = (value << 4) | digit;
    }
    assert(value <= 0xffff, "hex4: four hex digits are one UTF-16 unit");
    return value;
  }

  // Length of the well-formed UTF-8 sequence at i (2..4), or 0 after
  // reporting an error. Well-formed per Unicode table 3-7: no overlong forms,
  // no surrogates, nothing above U+10FFFF.
  private scanUtf8(i: u32): u32 {
    const c = this.byteAt(i);
    let n: u32 = 0;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) n = 3;
    else if (c >= 0xf0 && c <= 0xf4) n = 4;
    if (c == 0xe0) lo = 0xa0;
    else if (c == 0xed) hi = 0x9f;
    else if (c == 0xf0) lo = 0x90;
    else if (c == 0xf4) hi = 0x8f;
    if (n == 0 || this.len - i < n) {
      this.fail("invalid UTF-8", i);
      return 0;
    }
    const second = this.byteAt(i + 1);
    let ok = second >= lo && second <= hi;
    for (let k: u32 = 2; k < n; k++) ok = ok && isContinuation(this.byteAt(i + k));
    if (!ok) {
      this.fail("invalid UTF-8", i);
      return 0;
    }
    assert(n >= 2 && n <= 4 && i + n <= this.len, "scanUtf8: a 2- to 4-byte sequence inside the document");
    return n;
  }

  // Validates the string at pos, then decodes it into a new string of exactly
  // its UTF-16 length. The second pass trusts what the first one checked.
  private decodeString(): string {
    if (this.error !== null) return "";
    const begin = this.pos + 1;
    if (this.scanString() < 0) return "";
    const units = this.stringUnits;
    const end = this.stringEnd;
    assert(end >= begin && end < this.len, "decodeString: the scanned string lies inside the document");
    if (units == 0) return "";
    const out = __new(<usize>units << 1, idof<string>());
    let o = out;
    let i = begin;
    while (i < end) {
      const c = this.byteAt(i);
      if (c == CH_BACKSLASH) {
        const step = this.writeEscape(i, o);
        o += step == 12 ? 4 : 2;
        i += step;
      } else if (c < 0x80) {
        store<u16>(o, <u16>c);
        o += 2;
        i += 1;
      } else {
        const step = this.writeUtf8(i, o);
        o += step == 4 ? 4 : 2;
        i += step;
      }
    }
    assert(o == out + (<usize>units << 1), "decodeString: length mismatch");
    return changetype<string>(out);
  }

  // Writes the (validated) escape at i as UTF-16 at o; returns its length.
  private writeEscape(i: u32, o: usize): u32 {
    assert(this.byteAt(i) == CH_BACKSLASH && o != 0, "writeEscape: at an escape scanString validated");
    const e = this.byteAt(i + 1);
    if (e == 0x75) {
      const unit = this.hex4(i + 2, i);
      store<u16>(o, <u16>unit);
      if (unit < 0xd800 || unit > 0xdbff) return 6;
      store<u16>(o + 2, <u16>this.hex4(i + 8, i));
      return 12;
    }
    let unit: u32 = e; // \" \\ \/ stand for themselves
    if (e == 0x62) unit = 0x08;
    else if (e == 0x66) unit = 0x0c;
    else if (e == 0x6e) unit = CH_LF;
    else if (e == 0x72) unit = CH_CR;
    else if (e == 0x74) unit = CH_TAB;
    store<u16>(o, <u16>unit);
    return 2;
  }

  // Writes the (validated) UTF-8 sequence at i as UTF-16 at o; returns its length.
  private writeUtf8(i: u32, o: usize): u32 {
    const c = this.byteAt(i);
    assert(c >= 0xc2 && c <= 0xf4 && o != 0, "writeUtf8: at a lead byte scanUtf8 validated");
    const c1 = this.byteAt(i + 1) & 0x3f;
    if (c < 0xe0) {
      store<u16>(o, <u16>(((c & 0x1f) << 6) | c1));
      return 2;
    }
    const c2 = this.byteAt(i + 2) & 0x3f;
    if (c < 0xf0) {
      store<u16>(o, <u16>(((c & 0x0f) << 12) | (c1 << 6) | c2));
      return 3;
    }
    const c3 = this.byteAt(i + 3) & 0x3f;
    const cp = ((c & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    const v = cp - 0x10000;
    store<u16>(o, <u16>(0xd800 | (v >>> 10)));
    store<u16>(o + 2, <u16>(0xdc00 | (v & 0x3ff)));
    return 4;
  }
}
