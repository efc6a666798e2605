// host/keys.ts: image signing keys (Ed25519 today), on disk and in memory.
//
// A key pair lives in a directory as two PEM files:
//   signing.key  PKCS#8 private key, mode 0600, never leaves the build host
//   signing.pub  SPKI public key, given to the loader as a trusted key
// A key is named by its key id: the first 16 bytes of SHA-256 over the raw
// public key, in hex. Signatures in an image carry that id and an algorithm
// id, so ECDSA P-384 (HSM-held) and ML-DSA-65 keys can be added later next to
// Ed25519 without changing the image format.
//
// Use: `writeKeyPair(dir)` once; then `loadSigningKey(path)` to sign and
// `loadPublicKey(path)` to verify. Only node:crypto is used.

import {
  createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes,
  sign as cryptoSign, verify as cryptoVerify, type KeyObject,
} from 'node:crypto';
import {
  closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';

export class KeyError extends Error {
  override name = 'KeyError';
}

/** Every algorithm the image format knows, with its id in the signature block. */
export const SIGNATURE_ALGORITHMS = {
  'ed25519': 1,
  'ecdsa-p384': 2, // reserved: HSM-held keys, not implemented yet
  'ml-dsa-65': 3, // reserved: post-quantum, not implemented yet
} as const;
export type SignatureAlgorithm = keyof typeof SIGNATURE_ALGORITHMS;

/** Algorithms this host can sign and verify with today. */
export const SUPPORTED_ALGORITHMS: readonly SignatureAlgorithm[] = ['ed25519'];

export const KEY_ID_BYTES = 16;
export const SIGNING_KEY_FILE = 'signing.key';
export const PUBLIC_KEY_FILE = 'signing.pub';
const ED25519_PUBLIC_BYTES = 32;

export interface PublicKey {
  readonly algorithm: SignatureAlgorithm;
  readonly keyObject: KeyObject;
  /** The raw public key bytes (32 for Ed25519); the key id hashes these. */
  readonly raw: Uint8Array;
  readonly keyIdHex: string;
}

export interface SigningKey {
  readonly algorithm: SignatureAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: PublicKey;
}

export function algorithmName(id: number): SignatureAlgorithm | null {
  for (const [name, value] of Object.entries(SIGNATURE_ALGORITHMS)) {
    if (value === id) return name as SignatureAlgorithm;
  }
  return null;
}

/** The key id: SHA-256 of the raw public key, first 16 bytes, lowercase hex. */
export function keyIdHex(pub: PublicKey | Uint8Array): string {
  const raw = pub instanceof Uint8Array ? pub : pub.raw;
  return createHash('sha256').update(raw).digest().subarray(0, KEY_ID_BYTES).toString('hex');
}

function publicKeyFrom(keyObject: KeyObject, source: string): PublicKey {
  if (keyObject.asymmetricKeyType !== 'ed25519') {
    throw new KeyError(`${source}: key type ${keyObject.asymmetricKeyType ?? 'unknown'} is not supported (expected ed25519)`);
  }
  const jwk = keyObject.export({ format: 'jwk' });
  const raw = new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
  if (raw.length !== ED25519_PUBLIC_BYTES) throw new KeyError(`${source}: Ed25519 public key is ${raw.length} bytes, expected 32`);
  return { algorithm: 'ed25519', keyObject, raw, keyIdHex: keyIdHex(raw) };
}

function signingKeyFrom(privateKey: KeyObject, source: string): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new KeyError(`${source}: key type ${privateKey.asymmetricKeyType ?? 'unknown'} is not supported (expected ed25519)`);
  }
  const publicKey = publicKeyFrom(createPublicKey(privateKey), source);
  return { algorithm: 'ed25519', privateKey, publicKey };
}

export function generateKeyPair(): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return signingKeyFrom(privateKey, 'generated key');
}

export function privateKeyPem(key: SigningKey): string {
  return key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function publicKeyPem(pub: PublicKey): string {
  return pub.keyObject.export({ format: 'pem', type: 'spki' }).toString();
}

/**
 * Writes `text` to `path` with `mode` through a fresh temp file, fsynced, so
 * a crash never leaves half a key and an old file's looser mode never stays.
 * `exclusive` publishes with link(), which refuses an existing `path`
 * atomically; otherwise rename() replaces it.
 */
function writeFileDurably(path: string, text: string, mode: number, exclusive: boolean): void {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(temp, 'wx', mode);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (exclusive) linkSync(temp, path);
    else renameSync(temp, path);
  } finally {
    if (existsSync(temp)) unlinkSync(temp);
  }
}

export interface WrittenKeyPair {
  key: SigningKey;
  keyPath: string;
  pubPath: string;
}

/**
 * Generates a key pair (or writes `options.key`) into `dir`, creating it.
 * Refuses to replace an existing signing.key unless `options.force`.
 */
export function writeKeyPair(dir: string, options: { force?: boolean; key?: SigningKey } = {}): WrittenKeyPair {
  const key = options.key ?? generateKeyPair();
  const keyPath = join(dir, SIGNING_KEY_FILE);
  const pubPath = join(dir, PUBLIC_KEY_FILE);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new KeyError(`${dir}: cannot create key directory: ${(e as Error).message}`);
  }
  try {
    writeFileDurably(keyPath, privateKeyPem(key), 0o600, !options.force);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyError(`${keyPath} already exists; refusing to overwrite a signing key (use --force)`);
    }
    throw new KeyError(`${keyPath}: cannot write signing key: ${(e as Error).message}`);
  }
  try {
    writeFileDurably(pubPath, publicKeyPem(key.publicKey), 0o644, false);
  } catch (e) {
    throw new KeyError(`${pubPath}: cannot write public key: ${(e as Error).message}`);
  }
  return { key, keyPath, pubPath };
}

// PEM files are a few hundred bytes; refuse anything large before reading it.
const KEY_FILE_BYTES_MAX = 64 * 1024;

function readKeyFile(path: string, what: string): string {
  try {
    const size = statSync(path).size;
    if (size > KEY_FILE_BYTES_MAX) throw new KeyError(`${path}: ${size} bytes is too large for a ${what}`);
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof KeyError) throw e;
    throw new KeyError(`${path}: cannot read ${what}: ${(e as Error).message}`);
  }
}

/**
 * Loads a PKCS#8 PEM Ed25519 private key. On POSIX the file must not be
 * readable by group or others (like ssh), because a leaked key signs images.
 */
export function loadSigningKey(path: string): SigningKey {
  const text = readKeyFile(path, 'signing key');
  if (process.platform !== 'win32') {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new KeyError(`${path}: signing key is accessible by others (mode ${mode.toString(8)}); chmod 600 it`);
    }
  }
  if (!text.includes('-----BEGIN PRIVATE KEY-----')) {
    const hint = text.includes('-----BEGIN PUBLIC KEY-----') ? ' (this is a public key)' : '';
    throw new KeyError(`${path}: not a PKCS#8 PEM private key${hint}`);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new KeyError(`${path}: cannot parse private key: ${(e as Error).message}`);
  }
  return signingKeyFrom(keyObject, path);
}

/** Loads an SPKI PEM Ed25519 public key. */
export function loadPublicKey(path: string): PublicKey {
  const text = readKeyFile(path, 'public key');
  if (!text.includes('-----BEGIN PUBLIC KEY-----')) {
    const hint = text.includes('PRIVATE KEY-----') ? ' (this is a private key; use signing.pub)' : '';
    throw new KeyError(`${path}: not an SPKI PEM public key${hint}`);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new KeyError(`${path}: cannot parse public key: ${(e as Error).message}`);
  }
  return publicKeyFrom(keyObject, path);
}

/** Signs `message` with `key`; the caller frames what `message` is. */
export function signMessage(key: SigningKey, message: Uint8Array): Uint8Array {
  if (!SUPPORTED_ALGORITHMS.includes(key.algorithm)) throw new KeyError(`cannot sign with ${key.algorithm} yet`);
  return new Uint8Array(cryptoSign(null, message, key.privateKey));
}

/** True when `signature` over `message` verifies with `pub`; never throws for bad input. */
export function verifyMessage(pub: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (!SUPPORTED_ALGORITHMS.includes(pub.algorithm)) return false;
  try {
    return cryptoVerify(null, message, pub.keyObject, signature);
  } catch {
    return false;
  }
}
