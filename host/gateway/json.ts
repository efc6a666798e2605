// host/gateway/json.ts: a small, strict, bounded JSON parser for request
// bodies of the HTTP gateway.
//
// JSON.parse is not enough at the edge of a ledger: it keeps the last of two
// duplicate keys (so two readers of one body may disagree about an amount),
// turns every number into a float (so "amount": 10.1 silently becomes money),
// replaces invalid UTF-8 instead of refusing it, and has no bound on nesting
// or on the number of values it builds. This parser:
//
//   - works on the raw bytes and reports positions as byte offsets;
//   - refuses a body that is not valid UTF-8 (RFC 8259 §8.1), a leading BOM
//     included, and strings with lone surrogate escapes;
//   - refuses duplicate object keys (after unescaping: "a" and "\u0061" clash);
//   - keeps numbers as their source text (JsonNumber), so the caller decides
//     what a number may be and no float ever holds a value;
//   - builds objects as Maps, so "__proto__" is just a key;
//   - bounds nesting depth, items per array and values in total.
//
// Use: parseJson(bytes, { depthMax, itemsMax, valuesMax }); it throws a
// JsonError whose code is one of invalid_json, duplicate_key,
// nesting_too_deep, batch_too_large, too_many_values.

/** A JSON number, kept as its exact source text (already checked against the JSON grammar). */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export interface JsonLimits {
  /** Arrays and objects nested inside each other, the outermost counting 1. */
  depthMax: number;
  /** Items in any one array (the largest batch); more is batch_too_large. */
  itemsMax: number;
  /** Values and keys in the whole document; bounds the memory a body can make us build. */
  valuesMax: number;
}

/**
 * Bytes the parser looked at (each loop iteration over the input counts one),
 * for the linear-work property (test/fuzz/linear.test.ts): the parser never
 * moves backwards, so this stays within a small multiple of the body.
 */
export const jsonWork = { steps: 0 };

export class JsonError extends Error {
  override name = 'JsonError';
  constructor(readonly code: string, message: string, readonly offset: number) {
    super(message);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Returns the offset of the first byte that breaks UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF included), or -1 if all is valid.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) { i++; continue; }
    let need = 0;
    let min = 0;
    if (b >= 0xc2 && b <= 0xdf) { need = 1; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; min = 0x10000; }
    else return i;
    if (i + need >= bytes.length) return i; // truncated sequence at the end
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

function describeByte(b: number | undefined): string {
  if (b === undefined) return 'end of body';
  if (b >= 0x21 && b <= 0x7e) return `'${String.fromCharCode(b)}'`;
  return `byte 0x${b.toString(16).padStart(2, '0')}`;
}

class Parser {
  private pos = 0;
  private values = 0;

  constructor(private readonly bytes: Uint8Array, private readonly limits: JsonLimits) {}

  private fail(message: string, offset = this.pos): never {
    throw new JsonError('invalid_json', `${message} at byte ${offset}`, offset);
  }

  private unexpected(): never {
    this.fail(`unexpected ${describeByte(this.bytes[this.pos])}`);
  }

  private count(): void {
    this.values++;
    if (this.values > this.limits.valuesMax) {
      throw new JsonError('too_many_values', `body holds more than ${this.limits.valuesMax} JSON values (at byte ${this.pos})`, this.pos);
    }
  }

  private skipSpace(): void {
    const bytes = this.bytes;
    while (this.pos < bytes.length) {
      jsonWork.steps++;
      const b = bytes[this.pos];
      if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return;
      this.pos++;
    }
  }

  document(): JsonValue {
    this.skipSpace();
    if (this.pos >= this.bytes.length) this.fail('empty body');
    const value = this.value(1);
    this.skipSpace();
    if (this.pos < this.bytes.length) this.fail(`unexpected ${describeByte(this.bytes[this.pos])} after the JSON value`);
    return value;
  }

  private value(depth: number): JsonValue {
    jsonWork.steps++;
    this.count();
    const b = this.bytes[this.pos];
    if (b === QUOTE) return this.string();
    if (b === 0x7b) return this.object(depth);
    if (b === 0x5b) return this.array(depth);
    if (b === 0x2d || (b >= 0x30 && b <= 0x39)) return this.number();
    if (this.literal('true')) return true;
    if (this.literal('false')) return false;
    if (this.literal('null')) return null;
    return this.unexpected();
  }

  private literal(word: string): boolean {
    for (let k = 0; k < word.length; k++) {
      if (this.bytes[this.pos + k] !== word.charCodeAt(k)) return false;
    }
    this.pos += word.length;
    return true;
  }

  private enter(depth: number): void {
    if (depth > this.limits.depthMax) {
      throw new JsonError('nesting_too_deep', `nesting deeper than ${this.limits.depthMax} levels at byte ${this.pos}`, this.pos);
    }
  }

  private array(depth: number): JsonValue[] {
    this.enter(depth);
    const start = this.pos;
    this.pos++; // [
    const items: JsonValue[] = [];
    this.skipSpace();
    if (this.bytes[this.pos] === 0x5d) { this.pos++; return items; }
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.bytes.length) this.unexpected();
      if (items.length === this.limits.itemsMax) {
        throw new JsonError('batch_too_large', `the array at byte ${start} has more than ${this.limits.itemsMax} items`, start);
      }
      items.push(this.value(depth + 1));
      this.skipSpace();
      const b = this.bytes[this.pos];
      if (b === 0x2c) { this.pos++; continue; }
      if (b === 0x5d) { this.pos++; return items; }
      this.unexpected();
    }
  }

  private object(depth: number): JsonObject {
    this.enter(depth);
    this.pos++; // {
    const members: JsonObject = new Map();
    this.skipSpace();
    if (this.bytes[this.pos] === 0x7d) { this.pos++; return members; }
    for (;;) {
      this.skipSpace();
      if (this.bytes[this.pos] !== QUOTE) this.unexpected();
      const keyAt = this.pos;
      this.count();
      const key = this.string();
      if (members.has(key)) {
        throw new JsonError('duplicate_key', `duplicate key ${JSON.stringify(key)} at byte ${keyAt}`, keyAt);
      }
      this.skipSpace();
      if (this.bytes[this.pos] !== 0x3a) this.unexpected();
      this.pos++;
      this.skipSpace();
      if (this.pos >= this.bytes.length) this.unexpected();
      members.set(key, this.value(depth + 1));
      this.skipSpace();
      const b = this.bytes[this.pos];
      if (b === 0x2c) { this.pos++; continue; }
      if (b === 0x7d) { this.pos++; return members; }
      this.unexpected();
    }
  }

  private digits(): number {
    const start = this.pos;
    while (this.bytes[this.pos] >= 0x30 && this.bytes[this.pos] <= 0x39) this.pos++;
    jsonWork.steps += this.pos - start + 1;
    return this.pos - start;
  }

  private number(): JsonNumber {
    const start = this.pos;
    if (this.bytes[this.pos] === 0x2d) this.pos++;
    if (this.bytes[this.pos] === 0x30) {
      this.pos++;
      if (this.bytes[this.pos] >= 0x30 && this.bytes[this.pos] <= 0x39) this.fail('leading zero in a number');
    } else if (this.digits() === 0) {
      this.unexpected();
    }
    if (this.bytes[this.pos] === 0x2e) {
      this.pos++;
      if (this.digits() === 0) this.unexpected();
    }
    if (this.bytes[this.pos] === 0x65 || this.bytes[this.pos] === 0x45) {
      this.pos++;
      if (this.bytes[this.pos] === 0x2b || this.bytes[this.pos] === 0x2d) this.pos++;
      if (this.digits() === 0) this.unexpected();
    }
    return new JsonNumber(Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, this.pos - start).toString('latin1'));
  }

  private hex4(): number {
    let value = 0;
    for (let k = 0; k < 4; k++) {
      const b = this.bytes[this.pos];
      let digit = -1;
      if (b >= 0x30 && b <= 0x39) digit = b - 0x30;
      else if (b >= 0x61 && b <= 0x66) digit = b - 0x61 + 10;
      else if (b >= 0x41 && b <= 0x46) digit = b - 0x41 + 10;
      if (digit < 0) this.fail('invalid \\u escape');
      value = value * 16 + digit;
      this.pos++;
    }
    return value;
  }

  private escape(): string {
    const at = this.pos;
    this.pos++; // backslash
    const b = this.bytes[this.pos++];
    switch (b) {
      case 0x22: return '"';
      case 0x5c: return '\\';
      case 0x2f: return '/';
      case 0x62: return '\b';
      case 0x66: return '\f';
      case 0x6e: return '\n';
      case 0x72: return '\r';
      case 0x74: return '\t';
      case 0x75: break;
      default: this.fail('invalid escape', at);
    }
    const unit = this.hex4();
    if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone low surrogate escape', at);
    if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
    if (this.bytes[this.pos] !== BACKSLASH || this.bytes[this.pos + 1] !== 0x75) this.fail('lone high surrogate escape', at);
    this.pos += 2;
    const low = this.hex4();
    if (low < 0xdc00 || low > 0xdfff) this.fail('lone high surrogate escape', at);
    return String.fromCharCode(unit, low);
  }

  private string(): string {
    const bytes = this.bytes;
    const start = this.pos;
    this.pos++; // opening quote
    let text = '';
    let run = this.pos;
    for (;;) {
      if (this.pos >= bytes.length) this.fail('unterminated string', start);
      jsonWork.steps++;
      const b = bytes[this.pos];
      if (b === QUOTE) break;
      if (b < 0x20) this.fail('control character in a string');
      if (b !== BACKSLASH) { this.pos++; continue; }
      text += this.slice(run, this.pos);
      text += this.escape();
      run = this.pos;
    }
    text += this.slice(run, this.pos);
    this.pos++; // closing quote
    return text;
  }

  private slice(start: number, end: number): string {
    if (end === start) return '';
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, end - start).toString('utf8');
  }
}

/** Parses one JSON document from UTF-8 bytes, strictly and within `limits`. */
export function parseJson(bytes: Uint8Array, limits: JsonLimits): JsonValue {
  if (!(limits.depthMax >= 1 && limits.itemsMax >= 1 && limits.valuesMax >= 1)) {
    throw new RangeError('parseJson: limits must be at least 1');
  }
  jsonWork.steps += bytes.length; // the UTF-8 pass
  const bad = invalidUtf8Offset(bytes);
  if (bad >= 0) throw new JsonError('invalid_json', `body is not valid UTF-8 at byte ${bad}`, bad);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new JsonError('invalid_json', 'byte order mark at byte 0 (JSON text must not begin with one)', 0);
  }
  return new Parser(bytes, limits).document();
}

/** A type guard for JSON objects (Maps), so callers read members with .get. */
export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return value instanceof Map;
}
