// test/unit/aead.test.ts: encryption at rest's primitives
// (host/devices/aead.ts), native (host/native/src/seal.rs) and node:crypto's.
// Proves, on generated keys, nonces, AAD and texts (empty to several sectors):
//   - both seal to the same bytes, and each opens what the other sealed;
//   - a change to any byte of the key, nonce, AAD, ciphertext or tag makes
//     open return false and leave zeros, never plaintext;
//   - both compute the same HMAC-SHA256, and it is node:crypto's;
//   - wrong sizes are refused, not truncated.
// The native half is skipped (with a note) only when the addon is missing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { aeadFor, aeadTs, GCM_TAG_BYTES, type Aead } from '../../host/devices/aead.ts';

const native = (() => { try { return aeadFor('native'); } catch { return null; } })();
if (native === null) console.log('note: the native addon is not built here; only the node:crypto half runs');
const IMPLS: Aead[] = native === null ? [aeadTs] : [aeadTs, native];

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const input = fc.record({
  key: bytes(32), nonce: bytes(12), aad: fc.uint8Array({ maxLength: 64 }), plain: fc.uint8Array({ maxLength: 9000 }),
});

test('every implementation seals to the same bytes and opens what any other sealed', () => {
  fc.assert(fc.property(input, ({ key, nonce, aad, plain }) => {
    const sealed = IMPLS.map((a) => {
      const out = new Uint8Array(plain.length + GCM_TAG_BYTES);
      a.seal(key, nonce, aad, plain, out);
      return out;
    });
    for (const s of sealed) assert.equal(s, sealed[0]);
    for (const a of IMPLS) {
      const out = new Uint8Array(plain.length).fill(0xaa);
      assert.ok(a.open(key, nonce, aad, sealed[0], out), `${a.kind} opens`);
      assert.equal(out, plain);
    }
  }), { numRuns: 200 });
});

test('any changed byte fails authentication, and nothing of the plaintext is left', () => {
  fc.assert(fc.property(input, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ key, nonce, aad, plain }, where, flip) => {
    const sealed = new Uint8Array(plain.length + GCM_TAG_BYTES);
    aeadTs.seal(key, nonce, aad, plain, sealed);
    const parts = [key, nonce, aad, sealed].filter((p) => p.length > 0);
    const part = parts[where % parts.length];
    const changed = part.slice();
    changed[where % changed.length] ^= flip;
    const args = [key, nonce, aad, sealed].map((p) => (p === part ? changed : p));
    for (const a of IMPLS) {
      const out = new Uint8Array(plain.length).fill(0xaa);
      assert.not.ok(a.open(args[0], args[1], args[2], args[3], out), `${a.kind} refuses`);
      assert.ok(out.every((b) => b === 0), `${a.kind} leaves zeros`);
    }
  }), { numRuns: 200 });
});

test('HMAC-SHA256 is the same everywhere, and node:crypto\'s', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 80 }), fc.uint8Array({ maxLength: 200 }), (key, message) => {
    const want = createHmac('sha256', key).update(message).digest();
    for (const a of IMPLS) {
      const out = new Uint8Array(32);
      a.hmac(key, message, out);
      assert.equal(Buffer.from(out), want, a.kind);
    }
  }), { numRuns: 200 });
});

test('wrong sizes are refused', () => {
  const key = new Uint8Array(32);
  const nonce = new Uint8Array(12);
  for (const a of IMPLS) {
    assert.throws(() => a.seal(new Uint8Array(16), nonce, new Uint8Array(0), new Uint8Array(4), new Uint8Array(20)), /32 bytes/, `${a.kind}: short key`);
    assert.throws(() => a.seal(key, new Uint8Array(8), new Uint8Array(0), new Uint8Array(4), new Uint8Array(20)), /nonce 12/, `${a.kind}: short nonce`);
    assert.throws(() => a.seal(key, nonce, new Uint8Array(0), new Uint8Array(4), new Uint8Array(19)), /output/, `${a.kind}: short output`);
    assert.throws(() => a.open(key, nonce, new Uint8Array(0), new Uint8Array(20), new Uint8Array(5)), /output/, `${a.kind}: long output`);
    assert.throws(() => a.hmac(key, new Uint8Array(1), new Uint8Array(31)), /32 bytes/, `${a.kind}: short HMAC output`);
  }
});

test.run();
