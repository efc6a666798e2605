// SHAKE on node:crypto (host/base/shake.ts), which the bundled CLI's ML-DSA
// uses instead of @noble/hashes' JavaScript Keccak. Proves: the same bytes
// as @noble/hashes for one-shot hashes of every length used and others, and
// for output streams read in pieces of any size (across its read-ahead);
// blockLen and outputLen are noble's; and ML-DSA-65 bundled the way the CLI
// is (esbuild --alias) makes the same keys and, deterministically, the same
// signatures as noble's own, accepts each other's signatures, and refuses a
// changed message, signature or key exactly as noble's does.
//
// Run: node --import tsx test/unit/shake.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import * as noble from '@noble/hashes/sha3.js';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import * as native from '../../host/base/shake.ts';
import { ROOT, removeDir } from '../support/helpers.ts';

const ALGORITHMS = ['shake128', 'shake256'] as const;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('blockLen and outputLen are noble\'s', () => {
  for (const a of ALGORITHMS) {
    assert.is(native[a].blockLen, noble[a].blockLen, a);
    assert.is(native[a].outputLen, noble[a].outputLen, a);
  }
});

test('one-shot hashes: the same bytes, default and given lengths', () => {
  for (const a of ALGORITHMS) {
    for (const size of [0, 1, 33, 135, 136, 137, 167, 168, 169, 1952, 5000]) {
      const msg = randomBytes(size);
      for (const dkLen of [undefined, 1, 32, 64, 168, 1000]) {
        const opts = dkLen === undefined ? undefined : { dkLen };
        assert.is(hex(native[a](msg, opts)), hex(noble[a](msg, opts)), `${a} ${size} bytes, dkLen ${dkLen}`);
      }
      const two = (h: { create(o: object): { update(x: Uint8Array): { update(x: Uint8Array): { digest(): Uint8Array } } } }) =>
        h.create({ dkLen: 64 }).update(msg.subarray(0, size >> 1)).update(msg.subarray(size >> 1)).digest();
      assert.is(hex(two(native[a])), hex(two(noble[a])), `${a} ${size} bytes in two updates`);
    }
  }
});

test('output streams read in pieces: the same bytes, across the read-ahead', () => {
  for (const a of ALGORITHMS) {
    for (let round = 0; round < 20; round++) {
      const seed = randomBytes(34);
      const n = native[a].create({}).update(seed);
      const o = noble[a].create({}).update(seed);
      for (let k = 0; k < 16; k++) {
        const len = [native[a].blockLen, 1, 3, 500, 2000, 7][(round + k) % 6];
        assert.is(hex(n.xofInto(new Uint8Array(len))), hex(o.xofInto(new Uint8Array(len))), `${a} round ${round} read ${k}`);
      }
      assert.throws(() => n.update(seed), /update after the output was read/);
    }
  }
});

// ML-DSA-65 with this SHAKE, bundled as the CLI bundles it (Makefile).
async function nativeMlDsa(): Promise<typeof ml_dsa65> {
  mkdirSync(join(ROOT, 'build'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'build', 'shake-'));
  try {
    const out = join(dir, 'ml-dsa.mjs');
    await build({
      stdin: { contents: "export { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';", resolveDir: ROOT },
      bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'error',
      alias: { '@noble/hashes/sha3.js': join(ROOT, 'host/base/shake.ts') },
    });
    return (await import(pathToFileURL(out).href) as { ml_dsa65: typeof ml_dsa65 }).ml_dsa65;
  } finally {
    removeDir(dir);
  }
}

test('ML-DSA-65 on it: same keys and signatures as noble\'s, each checks the other\'s, both refuse the same', async () => {
  const fast = await nativeMlDsa();
  for (let round = 0; round < 3; round++) {
    const seed = randomBytes(32);
    const keys = ml_dsa65.keygen(seed);
    const fastKeys = fast.keygen(seed);
    assert.is(hex(fastKeys.publicKey), hex(keys.publicKey));
    assert.is(hex(fastKeys.secretKey), hex(keys.secretKey));
    const msg = randomBytes(100 + round * 1000);
    const sig = ml_dsa65.sign(msg, keys.secretKey, { extraEntropy: false });
    assert.is(hex(fast.sign(msg, keys.secretKey, { extraEntropy: false })), hex(sig));
    const hedged = fast.sign(msg, keys.secretKey); // random: a different signature, still valid for both
    for (const s of [sig, hedged]) {
      assert.ok(fast.verify(s, msg, keys.publicKey));
      assert.ok(ml_dsa65.verify(s, msg, keys.publicKey));
    }
    const badMsg = Uint8Array.from(msg);
    badMsg[round] ^= 1;
    const badSig = Uint8Array.from(sig);
    badSig[10 + round * 500] ^= 0x80;
    const other = ml_dsa65.keygen(randomBytes(32)).publicKey;
    for (const [s, m, k] of [[sig, badMsg, keys.publicKey], [badSig, msg, keys.publicKey], [sig, msg, other]] as const) {
      assert.is(fast.verify(s, m, k), false);
      assert.is(ml_dsa65.verify(s, m, k), false);
    }
  }
});

test.run();
