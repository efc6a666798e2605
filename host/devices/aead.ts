// host/devices/aead.ts: the primitives of encryption at rest
// (encrypted-backend.ts): AES-256-GCM with a detached 16-byte tag, and
// HMAC-SHA256 for the per-sector keys.
//
// Two implementations with one contract: the native addon's
// (host/native/src/seal.rs: AES-NI and carry-less multiply, one call per
// record with no objects made) and node:crypto's (OpenSSL; a cipher object,
// an AAD call, a tag call and two buffers per record), used when the addon
// is not there. test/unit/aead.test.ts holds them to the same bytes.

import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { nativeAddon } from '../base/addon.ts';

export const GCM_KEY_BYTES = 32;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;

export interface Aead {
  readonly kind: 'native' | 'typescript';
  /** Encrypts `plain` into `out` (plain's length + 16): ciphertext, then the tag. */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array, out: Uint8Array): void;
  /** Decrypts `sealed` into `out` (sealed's length - 16); false (out zeroed) when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean;
  /** HMAC-SHA256(key, message) into `out` (32 bytes). */
  hmac(key: Uint8Array, message: Uint8Array, out: Uint8Array): void;
}

function checkSeal(key: Uint8Array, nonce: Uint8Array, inBytes: number, outBytes: number): void {
  if (key.byteLength !== GCM_KEY_BYTES || nonce.byteLength !== GCM_NONCE_BYTES) throw new Error('aead: the key is 32 bytes and the nonce 12');
  if (outBytes !== inBytes) throw new Error(`aead: the output is ${inBytes} bytes, got ${outBytes}`);
}

export const aeadTs: Aead = {
  kind: 'typescript',
  seal(key, nonce, aad, plain, out) {
    checkSeal(key, nonce, plain.byteLength + GCM_TAG_BYTES, out.byteLength);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(aad);
    const body = c.update(plain);
    c.final();
    out.set(body, 0);
    out.set(c.getAuthTag(), plain.byteLength);
  },
  open(key, nonce, aad, sealed, out) {
    if (sealed.byteLength < GCM_TAG_BYTES) throw new Error('aead: a sealed text holds at least its tag');
    checkSeal(key, nonce, sealed.byteLength - GCM_TAG_BYTES, out.byteLength);
    try {
      const d = createDecipheriv('aes-256-gcm', key, nonce);
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(out.byteLength));
      const body = d.update(sealed.subarray(0, out.byteLength));
      d.final(); // throws when the tag does not verify
      out.set(body, 0);
      return true;
    } catch {
      out.fill(0);
      return false;
    }
  },
  hmac(key, message, out) {
    if (out.byteLength !== 32) throw new Error('aead: an HMAC-SHA256 is 32 bytes');
    out.set(createHmac('sha256', key).update(message).digest(), 0);
  },
};

/** The native implementation when the addon has it (and `choice` allows), else node:crypto's. */
export function aeadFor(choice: 'auto' | 'native' | 'pure' = 'auto'): Aead {
  const addon = choice === 'pure' ? null : nativeAddon();
  if (addon?.aesGcmSeal !== undefined && addon.aesGcmOpen !== undefined && addon.hmacSha256 !== undefined) {
    const { aesGcmSeal, aesGcmOpen, hmacSha256 } = addon;
    return {
      kind: 'native',
      seal: (key, nonce, aad, plain, out) => aesGcmSeal(key, nonce, aad, plain, out),
      open: (key, nonce, aad, sealed, out) => aesGcmOpen(key, nonce, aad, sealed, out),
      hmac: (key, message, out) => hmacSha256(key, message, out),
    };
  }
  if (choice === 'native') throw new Error('aead: the native addon (with aesGcmSeal) is not available here');
  return aeadTs;
}
