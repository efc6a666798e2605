// host/hsm/types.ts: what every HSM device is (HsmDevice), its errors and
// sizes: what the pkcs11 device (host/hsm/hsm.ts) and the soft one
// (host/hsm/soft.ts) both implement, apart from either.

export class HsmError extends Error {
  override name = 'HsmError';
  constructor(message: string, public code: string = 'EHSM') {
    super(message);
  }
}

export type HsmKind = 'pkcs11' | 'soft';
export type KeyKind = 'signing' | 'public' | 'secret';

export const DEFAULT_PKCS11_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const DEFAULT_TOKEN_LABEL = 'qenex';
/** An uncompressed P-384 point: 0x04 || X || Y. */
export const P384_POINT_BYTES = 97;
/** An ECDSA P-384 signature as r || s (IEEE P1363). */
export const P384_SIGNATURE_BYTES = 96;
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/** What every HSM device offers. Keys are named by label. */
export interface HsmDevice {
  readonly kind: HsmKind;
  /** For messages: module path and token label, or the soft token's file. */
  readonly description: string;
  /** Creates an ECDSA P-384 pair; resolves to its public point (97 bytes). */
  generateSigningKey(label: string): Promise<Uint8Array>;
  signingPublicKey(label: string): Promise<Uint8Array>;
  /** Creates an AES-256 key for wrapping and GCM. */
  generateSecretKey(label: string): Promise<void>;
  hasKey(label: string, kind: KeyKind): Promise<boolean>;
  /** ECDSA P-384 over SHA-384(data), r || s. */
  sign(label: string, data: Uint8Array): Promise<Uint8Array>;
  verify(label: string, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** AES-256-GCM: 12-byte IV; resolves to ciphertext || 16-byte tag. */
  encrypt(label: string, iv: Uint8Array, aad: Uint8Array, plain: Uint8Array): Promise<Uint8Array>;
  /** Rejects with code EHSM_AUTH when the key, IV, AAD or bytes differ. */
  decrypt(label: string, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array>;
  random(count: number): Promise<Uint8Array>;
  putData(label: string, value: Uint8Array): Promise<void>;
  getData(label: string): Promise<Uint8Array>;
  /** Tries to take a key out; every key this device makes refuses (EHSM_UNEXTRACTABLE). */
  exportKey(label: string, kind: KeyKind, wrappingLabel: string): Promise<Uint8Array>;
  close(): void;
}
