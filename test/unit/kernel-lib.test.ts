// test/unit/kernel-lib.test.ts: lib/ (SHA-256, CRC-32C, JSON reader)
// checked through test/assembly/kernel-lib.ts, compiled the way the kernel is
// (--runtime stub, -O3, assertions on).
//
// Run: node --import tsx test/unit/kernel-lib.test.ts
// The wasm is rebuilt first when it is missing or older than its sources.
// QENEX_BENCH=1 adds a throughput report (no assertion on time).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ascIfStale } from '../support/asc.ts';

// Assertions stay on (the release target keeps them), as in the kernel.
const WASM = ascIfStale('test/assembly/kernel-lib.ts', 'build/test/kernel-lib.wasm', ['lib']);

interface Lib {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  heap_probe(): number;
  sha256_ctx_bytes(): number;
  sha256_of(ptr: number, len: number, out: number): void;
  sha256_init(ctx: number): void;
  sha256_update(ctx: number, ptr: number, len: number): void;
  sha256_final(ctx: number, out: number): void;
  crc32c_of(ptr: number, len: number): number;
  crc32c_update(crc: number, ptr: number, len: number): number;
  json_error(out: number, cap: number): number;
  json_error_offset(): number;
  json_depth_max(): number;
  json_canon(ptr: number, len: number, out: number, cap: number): number;
  json_skip(ptr: number, len: number): number;
  json_read_u64(ptr: number, len: number): bigint;
  json_read_i64(ptr: number, len: number): bigint;
  json_read_bool(ptr: number, len: number): number;
  json_read_string(ptr: number, len: number, out: number, cap: number): number;
  json_peek(ptr: number, len: number): number;
  json_pick(ptr: number, len: number, kp: number, kl: number, out: number, cap: number): number;
  json_misuse(ptr: number, len: number, op: number): number;
  json_neutral(ptr: number, len: number): number;
}


let lib: Lib;
// AssemblyScript strings: UTF-16 code units, byte length in the u32 before them.
function readAsString(ptr: number): string {
  if (ptr === 0) return '';
  const bytes = new Uint32Array(lib.memory.buffer, ptr - 4, 1)[0];
  return Buffer.from(lib.memory.buffer, ptr, bytes).toString('utf16le');
}
const { instance } = await WebAssembly.instantiate(readFileSync(WASM), {
  env: {
    abort(msg: number, file: number, line: number, col: number): never {
      throw new Error(`wasm abort: ${readAsString(msg)} (${readAsString(file)}:${line}:${col})`);
    },
  },
});
lib = instance.exports as unknown as Lib;

// Regions reserved once; the bump allocator never frees.
const IN_CAP = 4 << 20;
const OUT_CAP = 1 << 20;
const IN = lib.alloc(IN_CAP);
const OUT = lib.alloc(OUT_CAP);
const KEY = lib.alloc(4096);
const CTX = lib.alloc(lib.sha256_ctx_bytes());
const DIGEST = lib.alloc(32);

// Views must be taken after every call: memory may have grown.
const mem = (): Uint8Array => new Uint8Array(lib.memory.buffer);
function put(bytes: Uint8Array, at = IN): number {
  assert.ok(bytes.length <= IN_CAP, 'input too large for IN');
  mem().set(bytes, at);
  return bytes.length;
}
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const outString = (n: number): string => Buffer.from(mem().subarray(OUT, OUT + n)).toString('utf8');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// Deterministic PRNG (splitmix32), so a failure reproduces from its seed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}
function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

// ---------------------------------------------------------------- no allocation

test('sha256 and crc32c allocate nothing, CRC table generation included', () => {
  // Proves the kernel may call them after its allocator is sealed: between
  // two heap probes, streaming and one-shot SHA-256 and the first CRC-32C
  // call (which builds the tables) leave the bump pointer where it was.
  // This test runs first, so no earlier call has built the CRC tables yet.
  const first = lib.heap_probe();
  const second = lib.heap_probe();
  const stride = second - first;
  put(new Uint8Array(5000).fill(0x61));
  lib.sha256_of(IN, 5000, DIGEST);
  lib.sha256_init(CTX);
  lib.sha256_update(CTX, IN, 77);
  lib.sha256_update(CTX, IN + 77, 4923);
  lib.sha256_final(CTX, DIGEST);
  const crc = lib.crc32c_of(IN, 5000);
  lib.crc32c_update(crc, IN, 13);
  assert.is(lib.heap_probe() - second, stride);
});

// ---------------------------------------------------------------- SHA-256

function wasmSha256(bytes: Uint8Array): string {
  const n = put(bytes);
  lib.sha256_of(IN, n, DIGEST);
  return Buffer.from(mem().subarray(DIGEST, DIGEST + 32)).toString('hex');
}
const nodeSha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('sha256: FIPS 180-4 / NIST example vectors give the published digests', () => {
  // Proves the compression, padding and output byte order against published
  // values, independently of node:crypto.
  const vectors: Array<[string, string]> = [
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno' +
        'ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
    ['a'.repeat(1_000_000), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
  ];
  for (const [message, digest] of vectors) {
    assert.is(wasmSha256(utf8(message)), digest, `message of ${message.length} bytes`);
  }
});

test('sha256: every length 0..300 and a ~1 MB message match node:crypto', () => {
  // Proves padding at every position relative to the 64-byte block and the
  // 56-byte length boundary, and the multi-block fast path on a large input.
  const rand = rng(0x5a256);
  for (let len = 0; len <= 300; len++) {
    const b = randomBytes(rand, len);
    assert.is(wasmSha256(b), nodeSha256(b), `length ${len}`);
  }
  const big = randomBytes(rand, 1_000_003);
  assert.is(wasmSha256(big), nodeSha256(big));
});

test('sha256: streaming in random chunk splits equals the one-shot digest', () => {
  // Proves sha256Update buffers partial blocks correctly wherever a chunk
  // boundary falls (empty chunks, 1 byte, exactly a block, many blocks).
  const rand = rng(42);
  const ctxSizes = [0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 4096, 70_001];
  for (const total of ctxSizes) {
    const b = randomBytes(rand, total);
    const n = put(b);
    const expected = nodeSha256(b);
    for (let trial = 0; trial < 8; trial++) {
      lib.sha256_init(CTX);
      let off = 0;
      while (off < n) {
        const pick = rand();
        const step = pick < 0.1 ? 0 : pick < 0.5 ? 1 + ((rand() * 70) | 0) : (rand() * 3000) | 0;
        const len = Math.min(step, n - off);
        lib.sha256_update(CTX, IN + off, len);
        off += len;
      }
      lib.sha256_update(CTX, IN, 0);
      lib.sha256_final(CTX, DIGEST);
      const got = Buffer.from(mem().subarray(DIGEST, DIGEST + 32)).toString('hex');
      assert.is(got, expected, `total ${total}, trial ${trial}`);
    }
  }
});

test('sha256: the one-shot call leaves a caller context alone; a finished context traps', () => {
  // Proves the one-shot context is separate from caller memory, and that the
  // context's liveness assertion survives -O3 (asserts on): updating a context
  // after final is a bug the kernel must not be able to make silently.
  const a = utf8('hello, ');
  const b = utf8('world');
  lib.sha256_init(CTX);
  put(a);
  lib.sha256_update(CTX, IN, a.length);
  wasmSha256(utf8('something else entirely'));
  put(b);
  lib.sha256_update(CTX, IN, b.length);
  lib.sha256_final(CTX, DIGEST);
  const got = Buffer.from(mem().subarray(DIGEST, DIGEST + 32)).toString('hex');
  assert.is(got, nodeSha256(utf8('hello, world')));
  assert.throws(() => lib.sha256_update(CTX, IN, 1), /context not initialised/);
});

// ---------------------------------------------------------------- CRC-32C

// Bit-at-a-time reference straight from the definition: reflected
// polynomial 0x82F63B78, init and final xor 0xFFFFFFFF.
function crc32cReference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
function wasmCrc(bytes: Uint8Array, at = IN): number {
  const n = put(bytes, at);
  return lib.crc32c_of(at, n) >>> 0;
}

test('crc32c: the standard check value and the iSCSI (RFC 3720 B.4) vectors', () => {
  // Proves the polynomial, reflection, init and final xor are the Castagnoli
  // parameters every other implementation uses.
  assert.is(wasmCrc(utf8('123456789')), 0xe3069283);
  assert.is(wasmCrc(new Uint8Array(0)), 0);
  assert.is(wasmCrc(new Uint8Array(32)), 0x8a9136aa);
  assert.is(wasmCrc(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.is(wasmCrc(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.is(wasmCrc(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.is(crc32cReference(utf8('123456789')), 0xe3069283, 'the reference itself');
});

test('crc32c: random buffers at every alignment match the bitwise reference', () => {
  // Proves the slicing-by-8 tables and the byte-wise tail against the
  // definition, for every length mod 8 and every start alignment.
  const rand = rng(7);
  for (let len = 0; len < 200; len++) {
    const b = randomBytes(rand, len);
    const at = IN + (len % 8);
    assert.is(wasmCrc(b, at), crc32cReference(b), `length ${len}`);
  }
  const big = randomBytes(rand, 300_007);
  assert.is(wasmCrc(big), crc32cReference(big));
});

test('crc32c: crc32cUpdate continues a finished CRC across chunk splits', () => {
  // Proves crc32cUpdate(crc32c(a), b) == crc32c(a ++ b), so log entries can be
  // checksummed as they arrive.
  const rand = rng(99);
  const b = randomBytes(rand, 10_000);
  const n = put(b);
  const expected = crc32cReference(b);
  for (let trial = 0; trial < 20; trial++) {
    let crc = 0;
    let off = 0;
    while (off < n) {
      const len = Math.min((rand() * 300) | 0, n - off);
      crc = lib.crc32c_update(crc, IN + off, len) >>> 0;
      off += len;
    }
    assert.is(crc, expected, `trial ${trial}`);
  }
});

// ---------------------------------------------------------------- JSON

const R_ERROR = -1;
const R_MISSING = -3;

function lastError(): string {
  const n = lib.json_error(OUT, OUT_CAP);
  return outString(n);
}
function doc(input: string | Uint8Array): number {
  return put(typeof input === 'string' ? utf8(input) : input);
}
// Canonical form of a document, or "ERROR: <message>".
function canon(input: string | Uint8Array): string {
  const n = lib.json_canon(IN, doc(input), OUT, OUT_CAP);
  if (n === R_ERROR) return `ERROR: ${lastError()}`;
  assert.ok(n >= 0, `json_canon returned ${n}`);
  return outString(n);
}
function skip(input: string | Uint8Array): string {
  const r = lib.json_skip(IN, doc(input));
  return r === 0 ? 'ok' : `ERROR: ${lastError()}`;
}
function readU64(input: string): bigint | string {
  const v = BigInt.asUintN(64, lib.json_read_u64(IN, doc(input)));
  const e = lastError();
  return e === '' ? v : `ERROR: ${e}`;
}
function readI64(input: string): bigint | string {
  const v = lib.json_read_i64(IN, doc(input));
  const e = lastError();
  return e === '' ? v : `ERROR: ${e}`;
}

test('json: valid documents of every kind re-serialise like JSON.stringify', () => {
  // Proves each value kind, nesting, empty containers and all whitespace
  // forms are read correctly, against JSON.parse as the oracle.
  const docs = [
    '{}', '[]', '""', '0', '-0', '7', '-42', 'true', 'false', 'null',
    ' \t\r\n{ "a" : 1 , "b" : [ true , false , null ] } \n',
    '{"name":"bank","services":[{"name":"ledger","slots":65536,"caps":["log","clock"]},' +
      '{"name":"gateway","net":{"port":8080,"routes":[]}}],"empty":{},"list":[[],[[]],{}]}',
    '[9007199254740991,-9007199254740991,1,22,333]',
    '["", "a", "ab\\"c", "\\\\", {"k": {"k": {"k": "v"}}}]',
  ];
  for (const d of docs) {
    assert.is(canon(d), JSON.stringify(JSON.parse(d)), d);
    assert.is(skip(d), 'ok', d);
  }
});

test('json: every escape and raw UTF-8 decode to the right characters', () => {
  // Proves each of the eight simple escapes, \uXXXX (BMP, non-ASCII, NUL),
  // surrogate pairs, and raw 2-, 3- and 4-byte UTF-8.
  const cases = [
    '"\\"\\\\\\/\\b\\f\\n\\r\\t"',
    '"\\u0041\\u00e9\\u20AC\\uFFFF\\u0000\\u001f"',
    '"\\ud83d\\ude00 and \\uD834\\uDD1E"',
    '"é € 😀 𝄞 \u{10FFFF} \u2028"',
    '{"\\u006bey":"v\\u0061lue"}',
  ];
  for (const d of cases) assert.is(canon(d), JSON.stringify(JSON.parse(d)), d);
  const n = lib.json_read_string(IN, doc('"\\ud83d\\ude00\\/"'), OUT, OUT_CAP);
  assert.is(outString(n), '"😀/"');
});

test('json: readU64 and readI64 accept their whole range and nothing beyond', () => {
  // Proves exact integer reading at the boundaries and the specific message
  // for each kind of number an exact integer must not be.
  assert.is(readU64('0'), 0n);
  assert.is(readU64(' 18446744073709551615 '), 18446744073709551615n);
  assert.is(readU64('18446744073709551616'), 'ERROR: integer overflows u64 at byte 0');
  assert.is(readU64('99999999999999999999'), 'ERROR: integer overflows u64 at byte 0');
  assert.is(readU64('-1'), 'ERROR: expected a non-negative integer at byte 0');
  assert.is(readU64('01'), 'ERROR: leading zero at byte 0');
  assert.is(readU64('1.5'), 'ERROR: fraction not allowed in an integer at byte 1');
  assert.is(readU64('1e3'), 'ERROR: exponent not allowed in an integer at byte 1');
  assert.is(readU64('1E3'), 'ERROR: exponent not allowed in an integer at byte 1');
  assert.is(readU64('"1"'), 'ERROR: expected a digit at byte 0');
  assert.is(readU64(''), 'ERROR: unexpected end of input at byte 0');
  assert.is(readI64('9223372036854775807'), 9223372036854775807n);
  assert.is(readI64('-9223372036854775808'), -9223372036854775808n);
  assert.is(readI64('-0'), 0n);
  assert.is(readI64('9223372036854775808'), 'ERROR: integer overflows i64 at byte 0');
  assert.is(readI64('-9223372036854775809'), 'ERROR: integer overflows i64 at byte 1');
  assert.is(readI64('-'), 'ERROR: unexpected end of input at byte 1');
  assert.is(readI64('-x'), 'ERROR: expected a digit at byte 1');
  assert.is(readI64('-01'), 'ERROR: leading zero at byte 1');
  assert.is(readI64('12x'), 'ERROR: unexpected data after the document at byte 2');
});

test('json: readBool, readString and peekKind', () => {
  // Proves the scalar readers and that peekKind names every kind without
  // consuming it or raising an error.
  assert.is(lib.json_read_bool(IN, doc(' true ')), 1);
  assert.is(lib.json_read_bool(IN, doc('false')), 0);
  assert.is(lib.json_read_bool(IN, doc('null')), R_ERROR);
  assert.is(lastError(), 'expected true or false at byte 0');
  assert.is(lib.json_read_string(IN, doc('1'), OUT, OUT_CAP), R_ERROR);
  assert.is(lastError(), 'expected a string at byte 0');
  const kinds: Array<[string, number]> = [
    ['x', 0], ['{', 1], ['[', 2], ['"', 3], ['-', 4], ['5', 4],
    ['true', 5], ['false', 6], ['null', 7], ['  ', 8], ['tru', 0], ['nul', 0],
  ];
  for (const [d, kind] of kinds) {
    assert.is(lib.json_peek(IN, doc(d)), kind, d);
    assert.is(lastError(), '', `peek raised an error on ${d}`);
  }
});

test('json: skipValue passes over any value, fractions and exponents included', () => {
  // Proves skipValue in the way boot code uses it: unknown members of an
  // object are skipped whatever they hold, and the wanted one is still read.
  const manifest =
    '{"a":1.5e-3,"b":{"x":[1,{"y":[]},-0.0,1E+9,"s\\"}"],"z":null},"want":[1,"two",true],' +
    '"c":[[[[]]]],"d":"}]","e":-12.75}';
  JSON.parse(manifest);
  const k = utf8('want');
  mem().set(k, KEY);
  const n = lib.json_pick(IN, doc(manifest), KEY, k.length, OUT, OUT_CAP);
  assert.is(outString(n), '[1,"two",true]');
  mem().set(utf8('nope'), KEY);
  assert.is(lib.json_pick(IN, doc(manifest), KEY, 4, OUT, OUT_CAP), R_MISSING);
  for (const d of ['0', '-0.5', '1e5', '2E-7', '[1.0,2.25e+10]', manifest]) {
    assert.is(skip(d), 'ok', d);
  }
  assert.is(skip('1.'), 'ERROR: expected a digit after \'.\' at byte 2');
  assert.is(skip('1e'), 'ERROR: expected a digit in the exponent at byte 2');
  assert.is(skip('1e+'), 'ERROR: expected a digit in the exponent at byte 3');
  assert.is(skip('.5'), 'ERROR: expected a value at byte 0');
  assert.is(skip('[-]'), 'ERROR: expected a digit at byte 2');
  assert.is(skip('007'), 'ERROR: leading zero at byte 0');
});

test('json: nesting is limited to JSON_DEPTH_MAX (64), for reading and skipping', () => {
  // Proves depth 64 is accepted and depth 65 is refused with a message that
  // names the limit, so a hostile manifest cannot recurse without bound.
  assert.is(lib.json_depth_max(), 64);
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  const deepObj = (n: number): string => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);
  assert.is(canon(deep(64)), deep(64));
  assert.is(skip(deep(64)), 'ok');
  assert.is(canon(deepObj(64)), deepObj(64));
  assert.is(canon(deep(65)), 'ERROR: nesting deeper than 64 at byte 64');
  assert.is(skip(deep(65)), 'ERROR: nesting deeper than 64 at byte 64');
  assert.is(skip(deepObj(65)), 'ERROR: nesting deeper than 64 at byte 320');
  assert.is(skip('['.repeat(100_000)), 'ERROR: nesting deeper than 64 at byte 64');
});

test('json: malformed documents each give their own message and byte offset', () => {
  // Proves that every class of malformed input is refused, with the first
  // error named precisely enough to fix the manifest by hand.
  const bad: Array<[string | Uint8Array, string]> = [
    // trailing commas
    ['[1,2,]', 'trailing comma at byte 4'],
    ['{"a":1,}', 'trailing comma at byte 6'],
    ['[1,\n ]', 'trailing comma at byte 2'],
    // separators
    ['[1 2]', "expected ',' or ']' at byte 3"],
    ['{"a":1 "b":2}', "expected ',' or '}' at byte 7"],
    ['{"a" 1}', "expected ':' at byte 5"],
    ['{1:2}', "expected a key or '}' at byte 1"],
    ['{"a":1,2:3}', 'expected a key at byte 7'],
    ['{,}', "expected a key or '}' at byte 1"],
    ['[,1]', 'expected a value at byte 1'],
    // strings
    ['"abc', 'unterminated string at byte 0'],
    ['["ab\\"]', 'unterminated string at byte 1'],
    ['"a\\', 'unterminated string at byte 0'],
    ['"\\u12', 'unterminated string at byte 0'],
    ['"a\\x"', 'invalid escape at byte 2'],
    ["\"\\'\"", 'invalid escape at byte 1'],
    ['"\\u12G4"', 'invalid \\u escape at byte 1'],
    ['"\\ud800"', 'unpaired surrogate escape at byte 1'],
    ['"\\udc00"', 'unpaired surrogate escape at byte 1'],
    ['"\\ud800\\u0041"', 'unpaired surrogate escape at byte 1'],
    ['"\\ud800\\n      "', 'unpaired surrogate escape at byte 1'],
    ['"\\ud800\\uZZZZ"', 'invalid \\u escape at byte 7'],
    ['"a\tb"', 'control character in string at byte 2'],
    ['"a\nb"', 'control character in string at byte 2'],
    [Uint8Array.from([0x22, 0x00, 0x22]), 'control character in string at byte 1'],
    [Uint8Array.from([0x22, 0x61, 0xc0, 0xaf, 0x22]), 'invalid UTF-8 at byte 2'],
    [Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22]), 'invalid UTF-8 at byte 1'],
    [Uint8Array.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), 'invalid UTF-8 at byte 1'],
    [Uint8Array.from([0x22, 0xe2, 0x82, 0x22]), 'invalid UTF-8 at byte 1'],
    [Uint8Array.from([0x22, 0x80, 0x22]), 'invalid UTF-8 at byte 1'],
    [Uint8Array.from([0x22, 0xf0, 0x9f, 0x98]), 'invalid UTF-8 at byte 1'],
    // numbers (canon reads them with readI64)
    ['[01]', 'leading zero at byte 1'],
    ['[1.5]', 'fraction not allowed in an integer at byte 2'],
    ['{"n":1e3}', 'exponent not allowed in an integer at byte 6'],
    ['[18446744073709551616]', 'integer overflows i64 at byte 1'],
    ['+1', 'expected a value at byte 0'],
    // literals
    ['tru', 'expected a value at byte 0'],
    ['nul', 'expected a value at byte 0'],
    ['True', 'expected a value at byte 0'],
    // truncated
    ['', 'unexpected end of input at byte 0'],
    ['   ', 'unexpected end of input at byte 3'],
    ['[', 'unexpected end of input at byte 1'],
    ['[1', 'unexpected end of input at byte 2'],
    ['[1,', 'unexpected end of input at byte 3'],
    ['{"a"', 'unexpected end of input at byte 4'],
    ['{"a":', 'unexpected end of input at byte 5'],
    ['{"a":1', 'unexpected end of input at byte 6'],
    // trailing garbage
    ['{} x', 'unexpected data after the document at byte 3'],
    ['1 2', 'unexpected data after the document at byte 2'],
    ['truex', 'unexpected data after the document at byte 4'],
    ['[1]]', 'unexpected data after the document at byte 3'],
    ['"a""b"', 'unexpected data after the document at byte 3'],
  ];
  for (const [d, message] of bad) {
    const label = typeof d === 'string' ? JSON.stringify(d) : `bytes ${hex(d)}`;
    assert.is(canon(d), `ERROR: ${message}`, `canon of ${label}`);
    // skipValue accepts any number; every other error must be the same.
    const numeric = /integer|exponent|fraction/.test(message);
    if (!numeric) assert.is(skip(d), `ERROR: ${message}`, `skip of ${label}`);
  }
});

test('json: misuse of the API is an error, and after an error every call is neutral', () => {
  // Proves the reader reports calls out of order instead of misreading, and
  // that a walk after the first error can neither loop nor see data, while
  // the first error is kept.
  assert.is(lib.json_misuse(IN, doc('[1]'), 0), R_ERROR);
  assert.is(lastError(), 'nextKey outside an object at byte 1');
  assert.is(lib.json_misuse(IN, doc('{"a":1}'), 1), R_ERROR);
  assert.is(lastError(), 'nextItem outside an array at byte 1');
  assert.is(lib.json_misuse(IN, doc('{}'), 2), R_ERROR);
  assert.is(lastError(), 'nextKey outside an object at byte 0');
  for (const d of ['x', '{"a":[1,2]}', '[true]', '"s"', '']) {
    assert.is(lib.json_neutral(IN, doc(d)), 0, d);
  }
});

// Random JSON values and a serialiser that writes them with random
// whitespace and random (but valid) escapes.
function randomValue(rand: () => number, depth: number): unknown {
  const pick = rand();
  if (depth > 0 && pick < 0.15) {
    const o: Record<string, unknown> = {};
    const n = (rand() * 5) | 0;
    for (let i = 0; i < n; i++) o[`k${randomText(rand, 4)}${i}`] = randomValue(rand, depth - 1);
    return o;
  }
  if (depth > 0 && pick < 0.3) {
    return Array.from({ length: (rand() * 5) | 0 }, () => randomValue(rand, depth - 1));
  }
  if (pick < 0.55) return randomText(rand, 12);
  if (pick < 0.8) return Math.round((rand() - 0.5) * 2 * Number.MAX_SAFE_INTEGER * rand() ** 8);
  if (pick < 0.9) return rand() < 0.5;
  return null;
}
function randomText(rand: () => number, max: number): string {
  const pool = ['a', 'Z', ' ', '"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f',
    '\u007f', 'é', '€', '\u2028', '\uffff', '😀', '𝄞', '\u{10ffff}'];
  let s = '';
  const n = (rand() * max) | 0;
  for (let i = 0; i < n; i++) s += pool[(rand() * pool.length) | 0];
  return s;
}
function ws(rand: () => number): string {
  return rand() < 0.7 ? '' : [' ', '\t', '\n', '\r', '  '][(rand() * 5) | 0];
}
function writeString(rand: () => number, s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const forced = ch === '"' || ch === '\\' || cp < 0x20;
    if (!forced && rand() < 0.8) { out += ch; continue; }
    if (ch === '/' && rand() < 0.5) { out += '\\/'; continue; }
    const units = cp > 0xffff ? [ch.charCodeAt(0), ch.charCodeAt(1)] : [cp];
    const hex = (u: number): string => u.toString(16).padStart(4, '0');
    const upper = rand() < 0.5;
    out += units.map((u) => `\\u${upper ? hex(u).toUpperCase() : hex(u)}`).join('');
  }
  return out + '"';
}
function writeValue(rand: () => number, v: unknown): string {
  if (typeof v === 'string') return writeString(rand, v);
  if (Array.isArray(v)) {
    const items = v.map((x) => writeValue(rand, x) + ws(rand));
    return `[${ws(rand)}${items.join(`,${ws(rand)}`)}]`;
  }
  if (v !== null && typeof v === 'object') {
    const members = Object.entries(v).map(
      ([k, x]) => `${writeString(rand, k)}${ws(rand)}:${ws(rand)}${writeValue(rand, x)}${ws(rand)}`,
    );
    return `{${ws(rand)}${members.join(`,${ws(rand)}`)}}`;
  }
  return JSON.stringify(v);
}

test('json: random documents agree with JSON.parse (differential)', () => {
  // Proves, over many generated documents with random whitespace and escape
  // choices, that the reader's view of every value equals JSON.parse's.
  const rand = rng(2024);
  for (let i = 0; i < 600; i++) {
    const value = randomValue(rand, 5);
    const text = ws(rand) + writeValue(rand, value) + ws(rand);
    assert.is(canon(text), JSON.stringify(value), `document ${i}: ${text}`);
    assert.is(skip(text), 'ok', `document ${i}`);
  }
});

// Validity oracle: RFC 8259 as JSON.parse checks it, plus well-formed UTF-8
// and no unpaired surrogate escapes, which the kernel reader also demands.
function oracleValid(bytes: Uint8Array): boolean {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return false;
  }
  // String.prototype.isWellFormed, which our TypeScript lib (ES2022) lacks.
  const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  const wellFormed = (x: unknown): boolean => {
    if (typeof x === 'string') return !loneSurrogate.test(x);
    if (Array.isArray(x)) return x.every(wellFormed);
    if (x !== null && typeof x === 'object') {
      return Object.entries(x).every(([k, y]) => wellFormed(k) && wellFormed(y));
    }
    return true;
  };
  return wellFormed(value);
}

test('json: mutated documents are accepted exactly when the oracle accepts them (fuzz)', () => {
  // Proves on thousands of near-valid inputs (bytes replaced, inserted,
  // deleted, truncated) that skipValue never traps and never disagrees with
  // the oracle about validity, and that canon fails whenever skip does.
  const rand = rng(31337);
  const alphabet = utf8('{}[],:"\\/ \t\n0123456789-+.eEtrufalsn\u00e9x');
  for (let i = 0; i < 3000; i++) {
    const base = utf8(writeValue(rand, randomValue(rand, 4)));
    const bytes = Array.from(base);
    const edits = 1 + ((rand() * 3) | 0);
    for (let e = 0; e < edits; e++) {
      const at = (rand() * (bytes.length + 1)) | 0;
      const kind = rand();
      const b = rand() < 0.9 ? alphabet[(rand() * alphabet.length) | 0] : (rand() * 256) | 0;
      if (kind < 0.4) bytes[Math.min(at, bytes.length - 1)] = b;
      else if (kind < 0.7) bytes.splice(at, 0, b);
      else if (kind < 0.9) bytes.splice(at, 1);
      else bytes.length = Math.min(at, bytes.length);
    }
    const input = Uint8Array.from(bytes);
    const expected = oracleValid(input);
    const got = skip(input);
    assert.is(got === 'ok', expected, `input ${i}: ${hex(input)} skip=${got}`);
    if (!expected) assert.match(canon(input), /^ERROR: .+ at byte \d+$/);
  }
});

// ---------------------------------------------------------------- bench

const benchOrSkip = process.env.QENEX_BENCH ? test : test.skip;
benchOrSkip('bench: SHA-256 and CRC-32C throughput (report only)', () => {
  // Reports MB/s; proves nothing about speed on purpose (timing is not a
  // test), only that the figures were measured on the code under test.
  const chunk = 1 << 20;
  const totalMiB = 64;
  const rand = rng(1);
  const data = randomBytes(rand, chunk);
  put(data);
  const rate = (f: () => void): number => {
    f();
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t = process.hrtime.bigint();
      f();
      best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
    }
    return totalMiB / best;
  };
  const sha = rate(() => { for (let i = 0; i < totalMiB; i++) lib.sha256_of(IN, chunk, DIGEST); });
  const node = rate(() => {
    for (let i = 0; i < totalMiB; i++) createHash('sha256').update(data).digest();
  });
  const crc = rate(() => { for (let i = 0; i < totalMiB; i++) lib.crc32c_of(IN, chunk); });
  console.log(`sha256 wasm ${sha.toFixed(0)} MiB/s, node:crypto ${node.toFixed(0)} MiB/s; ` +
    `crc32c wasm ${crc.toFixed(0)} MiB/s (${totalMiB} MiB in 1 MiB calls)`);
});

test.run();
