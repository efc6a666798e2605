// The SDK's checked u128 money arithmetic and message Reader/Writer
// (services/sdk/money.ts, message.ts), run in wasm through the SDK harness
// (test/services/sdkcheck) and compared with BigInt on edge cases and on
// seeded random values. Proves every operation is exact when it fits and
// refuses (ok = 0, destination untouched, the right moneyError) when it does
// not, and that a Reader refuses to read past the message.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ServiceHarness } from '../harness.ts';
import { buildTestService } from '../../../test/services/build.ts';

const U128 = (1n << 128n) - 1n;
const U64 = (1n << 64n) - 1n;
let svc: ServiceHarness;

interface Out { ok: boolean; error: number; result: bigint; extra: bigint; decimal: string }

function run(op: number, a: bigint, b = 0n, n = 0n): Out {
  const q = Buffer.alloc(48);
  q.writeUInt8(op, 0);
  q.writeBigUInt64LE(a & U64, 8); q.writeBigUInt64LE(a >> 64n, 16);
  q.writeBigUInt64LE(b & U64, 24); q.writeBigUInt64LE(b >> 64n, 32);
  q.writeBigUInt64LE(n, 40);
  const p = svc.request(q)!.payload;
  return {
    ok: p[0] === 1, error: p[1],
    result: p.readBigUInt64LE(8) | (p.readBigUInt64LE(16) << 64n),
    extra: p.readBigUInt64LE(24), decimal: p.subarray(32).toString(),
  };
}

// xorshift64: the same values every run.
let seed = 0x9e3779b97f4a7c15n;
function next64(): bigint {
  seed ^= (seed << 13n) & U64; seed ^= seed >> 7n; seed ^= (seed << 17n) & U64;
  return seed;
}
const next128 = (): bigint => {
  const bits = next64() % 129n; // every magnitude, so small and huge values both occur
  return ((next64() << 64n) | next64()) & ((1n << bits) - 1n);
};

function check(a: bigint, b: bigint, n: bigint): void {
  const add = run(1, a, b);
  assert.is(add.ok, a + b <= U128, `add ${a} ${b}`);
  assert.is(add.result, add.ok ? a + b : 0n);
  if (!add.ok) assert.is(add.error, 1, 'MONEY_OVERFLOW');
  const sub = run(2, a, b);
  assert.is(sub.ok, a >= b);
  assert.is(sub.result, sub.ok ? a - b : 0n);
  if (!sub.ok) assert.is(sub.error, 2, 'MONEY_UNDERFLOW');
  const mul = run(3, a, 0n, n);
  assert.is(mul.ok, a * n <= U128, `mul ${a} ${n}`);
  assert.is(mul.result, mul.ok ? a * n : 0n);
  const div = run(4, a, 0n, n);
  assert.is(div.ok, n !== 0n);
  if (n !== 0n) { assert.is(div.result, a / n); assert.is(div.extra, a % n); } else assert.is(div.error, 3);
  assert.is(BigInt.asIntN(64, run(5, a, b).extra), a < b ? -1n : a > b ? 1n : 0n);
  assert.is(add.decimal, a.toString());
}

test.before(async () => {
  svc = await ServiceHarness.load(buildTestService('sdkcheck'), { memoryPagesMax: 4 });
  svc.init({});
});

test('edge cases: zero, one, u64 and u128 boundaries', () => {
  const edges = [0n, 1n, 9n, 10n, U64 - 1n, U64, U64 + 1n, 1n << 127n, U128 - 1n, U128];
  const factors = [0n, 1n, 2n, 10n, U64];
  for (const a of edges) for (const b of edges) check(a, b, factors[(Number(a % 5n) + Number(b % 3n)) % factors.length]);
  for (const n of factors) check(U128, 0n, n);
});

test('seeded random values agree with BigInt', () => {
  for (let i = 0; i < 400; i++) check(next128(), next128(), next64() >> (next64() % 64n));
});

test('a Reader refuses to read past the end of the message', () => {
  assert.is(run(6, 5n).ok, false);
});

test.run();
