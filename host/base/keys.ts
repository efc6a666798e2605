// host/base/keys.ts: image signing keys: ECDSA P-384 and ML-DSA-65, on disk,
// in an HSM, and in memory.
//
// Every image is signed twice: ECDSA P-384 (the classical signature HSMs
// hold today) and ML-DSA-65 (FIPS 204, post-quantum, @noble/post-quantum).
// A loader trusts an image only when both verify against trusted keys, so
// breaking either algorithm alone does not let a forged image boot.
//
// A development key set lives in a directory as two files:
//   signing.key  mode 0600: a PKCS#8 PEM P-384 private key, then an
//                "ML-DSA-65 SEED" PEM block (the 32-byte FIPS 204 seed)
//   signing.pub  an SPKI PEM P-384 public key, then an "ML-DSA-65 PUBLIC
//                KEY" PEM block (1952 bytes); given to loaders as --trust
// In production (`keygen --hsm pkcs11 --label L`) the P-384 key is made
// inside the HSM (label L, never extractable) and the ML-DSA seed is sealed
// with AES-256-GCM under the HSM's AES key "L.wrap" and kept on the token as
// the data object "L.ml-dsa-65"; only signing.pub is written to disk.
//
// A key is named by its key id: the first 16 bytes of SHA-256 over the raw
// public key (the 97-byte P-384 point, the 1952-byte ML-DSA key), in hex.
// A key set is named by the id of its P-384 key.
//
// Ed25519 (algorithm id 1, the previous scheme) is still recognised when
// parsing so that old images and keys get a clear message, but it is never
// accepted: keeping it as an alternative would let an image signed only with
// it boot without the post-quantum signature the policy requires.
//
// Use: `writeKeyPair(dir)` once; then `loadSigningKey(path)` (or
// `openHsmSigner(...)`) to sign and `loadPublicKeys(path)` to verify.

import {
  createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes,
  sign as cryptoSign, verify as cryptoVerify, type KeyObject,
} from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from './durable.ts';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import type { HsmDevice } from '../hsm/types.ts';

export class KeyError extends Error {
  override name = 'KeyError';
}

/** Every algorithm the image format knows, with its id in the signature block. */
export const SIGNATURE_ALGORITHMS = {
  'ed25519': 1, // the previous scheme: parsed, never accepted
  'ecdsa-p384': 2,
  'ml-dsa-65': 3,
} as const;
export type SignatureAlgorithm = keyof typeof SIGNATURE_ALGORITHMS;

/** Algorithms this host signs and verifies with; an image needs one valid signature of each. */
export const SUPPORTED_ALGORITHMS: readonly SignatureAlgorithm[] = ['ecdsa-p384', 'ml-dsa-65'];
export const REQUIRED_ALGORITHMS: readonly SignatureAlgorithm[] = ['ecdsa-p384', 'ml-dsa-65'];

export const ALGORITHM_TITLES: Record<SignatureAlgorithm, string> = {
  'ed25519': 'Ed25519',
  'ecdsa-p384': 'ECDSA P-384',
  'ml-dsa-65': 'ML-DSA-65',
};

export const KEY_ID_BYTES = 16;
export const SIGNING_KEY_FILE = 'signing.key';
export const PUBLIC_KEY_FILE = 'signing.pub';
export const P384_POINT_BYTES = 97;
export const P384_SIGNATURE_BYTES = 96;
export const ML_DSA_SEED_BYTES = 32;
export const ML_DSA_PUBLIC_BYTES = 1952;
export const ML_DSA_SIGNATURE_BYTES = 3309;

const MLDSA_SEED_LABEL = 'ML-DSA-65 SEED';
const MLDSA_PUBLIC_LABEL = 'ML-DSA-65 PUBLIC KEY';
/** Suffixes of the HSM objects that go with a signing key label. */
export const HSM_WRAP_SUFFIX = '.wrap';
export const HSM_MLDSA_SUFFIX = '.ml-dsa-65';
const HSM_SEED_AAD = 'QENEX ml-dsa-65 seed v1\0';
const GCM_IV_BYTES = 12;

export interface PublicKey {
  readonly algorithm: SignatureAlgorithm;
  /** The raw public key bytes; the key id hashes these. */
  readonly raw: Uint8Array;
  readonly keyIdHex: string;
  /** node:crypto key, for ECDSA. */
  readonly keyObject?: KeyObject;
}

/** One signature as the image's signature block holds it. */
export interface Signature {
  algorithm: SignatureAlgorithm;
  keyIdHex: string;
  signature: Uint8Array;
}

/** Anything that can sign an image: a key file in memory, or an HSM. */
export interface Signer {
  /** The id of the set: the P-384 key id. */
  readonly keyIdHex: string;
  /** [P-384, ML-DSA-65]. */
  readonly publicKeys: readonly PublicKey[];
  /** Where the keys are, for messages. */
  readonly description: string;
  signAll(message: Uint8Array): Promise<Signature[]>;
}

/** A development key set held in memory. */
export interface SigningKey extends Signer {
  readonly ecdsa: { privateKey: KeyObject; publicKey: PublicKey };
  readonly mldsa: { seed: Uint8Array; secretKey: Uint8Array; publicKey: PublicKey };
  /** Both signatures, synchronously. */
  signAllSync(message: Uint8Array): Signature[];
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

// ---- building keys from bytes ----

export function p384PublicKey(point: Uint8Array, source: string): PublicKey {
  if (point.length !== P384_POINT_BYTES || point[0] !== 4) {
    throw new KeyError(`${source}: a P-384 public key is a 97-byte uncompressed point, got ${point.length} bytes`);
  }
  const b = Buffer.from(point);
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({
      key: { kty: 'EC', crv: 'P-384', x: b.subarray(1, 49).toString('base64url'), y: b.subarray(49).toString('base64url') },
      format: 'jwk',
    });
  } catch (e) {
    throw new KeyError(`${source}: not a point on P-384: ${(e as Error).message}`);
  }
  const raw = new Uint8Array(point);
  return { algorithm: 'ecdsa-p384', keyObject, raw, keyIdHex: keyIdHex(raw) };
}

function p384FromKeyObject(keyObject: KeyObject, source: string): PublicKey {
  if (keyObject.asymmetricKeyType === 'ed25519') {
    throw new KeyError(`${source}: an Ed25519 key (the previous scheme); run qenex keygen again: ` +
      'images are now signed with ECDSA P-384 and ML-DSA-65');
  }
  const curve = keyObject.asymmetricKeyDetails?.namedCurve;
  if (keyObject.asymmetricKeyType !== 'ec' || (curve !== 'secp384r1' && curve !== 'P-384')) {
    throw new KeyError(`${source}: key type ${keyObject.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''} is not supported (expected ECDSA P-384)`);
  }
  const jwk = keyObject.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
  return p384PublicKey(new Uint8Array(point), source);
}

export function mldsaPublicKey(raw: Uint8Array, source: string): PublicKey {
  if (raw.length !== ML_DSA_PUBLIC_BYTES) {
    throw new KeyError(`${source}: an ML-DSA-65 public key is ${ML_DSA_PUBLIC_BYTES} bytes, got ${raw.length}`);
  }
  const copy = new Uint8Array(raw);
  return { algorithm: 'ml-dsa-65', raw: copy, keyIdHex: keyIdHex(copy) };
}

function mldsaFromSeed(seed: Uint8Array, source: string): SigningKey['mldsa'] {
  if (seed.length !== ML_DSA_SEED_BYTES) throw new KeyError(`${source}: an ML-DSA-65 seed is 32 bytes, got ${seed.length}`);
  const { publicKey, secretKey } = ml_dsa65.keygen(seed);
  return { seed: new Uint8Array(seed), secretKey, publicKey: mldsaPublicKey(publicKey, source) };
}

type MlDsaSign = (message: Uint8Array, secretKey: Uint8Array) => Promise<Uint8Array>;
let mldsaSignAsync: MlDsaSign = async (message, secretKey) => ml_dsa65.sign(message, secretKey);

/**
 * How Signer.signAll makes ML-DSA-65 signatures: on the calling thread by
 * default; a long-running host installs host/audit/mldsa-worker.ts so that
 * signing audit checkpoints never stalls its run loop.
 */
export function setMlDsaSigner(sign: MlDsaSign): void {
  mldsaSignAsync = sign;
}

function signEcdsa(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(cryptoSign('sha384', message, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
}

function signingKeyFrom(privateKey: KeyObject, seed: Uint8Array, source: string): SigningKey {
  const ecdsa = { privateKey, publicKey: p384FromKeyObject(createPublicKey(privateKey), source) };
  const mldsa = mldsaFromSeed(seed, source);
  const signAllSync = (message: Uint8Array): Signature[] => [
    { algorithm: 'ecdsa-p384', keyIdHex: ecdsa.publicKey.keyIdHex, signature: signEcdsa(privateKey, message) },
    { algorithm: 'ml-dsa-65', keyIdHex: mldsa.publicKey.keyIdHex, signature: ml_dsa65.sign(message, mldsa.secretKey) },
  ];
  return {
    keyIdHex: ecdsa.publicKey.keyIdHex,
    publicKeys: [ecdsa.publicKey, mldsa.publicKey],
    description: source,
    ecdsa,
    mldsa,
    signAllSync,
    signAll: async (message) => [
      { algorithm: 'ecdsa-p384', keyIdHex: ecdsa.publicKey.keyIdHex, signature: signEcdsa(privateKey, message) },
      { algorithm: 'ml-dsa-65', keyIdHex: mldsa.publicKey.keyIdHex, signature: await mldsaSignAsync(message, mldsa.secretKey) },
    ],
  };
}

export function generateKeyPair(): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return signingKeyFrom(privateKey, new Uint8Array(randomBytes(ML_DSA_SEED_BYTES)), 'generated key');
}

// ---- PEM ----

function pemBlock(label: string, bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function pemBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const re = /-----BEGIN ([A-Z0-9 -]+)-----\r?\n([\s\S]*?)-----END \1-----\r?\n?/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (!blocks.has(m[1])) blocks.set(m[1], m[0]);
  }
  return blocks;
}

function pemBody(block: string): Uint8Array {
  const body = block.split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('-----')).join('');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

export function privateKeyPem(key: SigningKey): string {
  return key.ecdsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() + pemBlock(MLDSA_SEED_LABEL, key.mldsa.seed);
}

export function publicKeysPem(keys: readonly PublicKey[]): string {
  let text = '';
  for (const k of keys) {
    if (k.algorithm === 'ecdsa-p384') text += k.keyObject!.export({ format: 'pem', type: 'spki' }).toString();
    else if (k.algorithm === 'ml-dsa-65') text += pemBlock(MLDSA_PUBLIC_LABEL, k.raw);
  }
  return text;
}

function makeKeyDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new KeyError(`${dir}: cannot create key directory: ${(e as Error).message}`);
  }
}

export interface WrittenKeyPair {
  key: SigningKey;
  keyPath: string;
  pubPath: string;
}

/**
 * Generates a key set (or writes `options.key`) into `dir`, creating it.
 * Refuses to replace an existing signing.key unless `options.force`.
 */
export function writeKeyPair(dir: string, options: { force?: boolean; key?: SigningKey } = {}): WrittenKeyPair {
  const key = options.key ?? generateKeyPair();
  const keyPath = join(dir, SIGNING_KEY_FILE);
  const pubPath = join(dir, PUBLIC_KEY_FILE);
  makeKeyDir(dir);
  try {
    writeFileDurably(keyPath, privateKeyPem(key), { mode: 0o600, exclusive: !options.force }); // a crash never leaves half a key; an old file's looser mode never stays
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyError(`${keyPath} already exists; refusing to overwrite a signing key (use --force)`);
    }
    throw new KeyError(`${keyPath}: cannot write signing key: ${(e as Error).message}`);
  }
  writePublicKeys(pubPath, key.publicKeys);
  return { key, keyPath, pubPath };
}

/** Writes signing.pub (both public keys); replaces an existing one. */
export function writePublicKeys(pubPath: string, keys: readonly PublicKey[]): void {
  try {
    writeFileDurably(pubPath, publicKeysPem(keys), { mode: 0o644 });
  } catch (e) {
    throw new KeyError(`${pubPath}: cannot write public key: ${(e as Error).message}`);
  }
}

// Key files are a few kilobytes; refuse anything large before reading it.
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
 * Loads a signing.key: a PKCS#8 PEM P-384 key and an ML-DSA-65 seed. On
 * POSIX the file must not be readable by group or others (like ssh),
 * because a leaked key signs images.
 */
export function loadSigningKey(path: string): SigningKey {
  const text = readKeyFile(path, 'signing key');
  if (process.platform !== 'win32') {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new KeyError(`${path}: signing key is accessible by others (mode ${mode.toString(8)}); chmod 600 it`);
    }
  }
  const blocks = pemBlocks(text);
  const pkcs8 = blocks.get('PRIVATE KEY');
  if (pkcs8 === undefined) {
    const hint = blocks.has('PUBLIC KEY') ? ' (this is a public key)' : '';
    throw new KeyError(`${path}: not a PKCS#8 PEM private key${hint}`);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: pkcs8, format: 'pem' });
  } catch (e) {
    throw new KeyError(`${path}: cannot parse private key: ${(e as Error).message}`);
  }
  if (keyObject.asymmetricKeyType === 'ed25519') p384FromKeyObject(keyObject, path); // throws the re-key message
  const seed = blocks.get(MLDSA_SEED_LABEL);
  if (seed === undefined) throw new KeyError(`${path}: no "${MLDSA_SEED_LABEL}" block: the ML-DSA-65 half of the key is missing`);
  return signingKeyFrom(keyObject, pemBody(seed), path);
}

/** Loads a signing.pub: the trusted P-384 and ML-DSA-65 public keys. */
export function loadPublicKeys(path: string): PublicKey[] {
  const text = readKeyFile(path, 'public key');
  const blocks = pemBlocks(text);
  const spki = blocks.get('PUBLIC KEY');
  if (spki === undefined) {
    const hint = blocks.has('PRIVATE KEY') ? ' (this is a private key; use signing.pub)' : '';
    throw new KeyError(`${path}: not an SPKI PEM public key${hint}`);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: spki, format: 'pem' });
  } catch (e) {
    throw new KeyError(`${path}: cannot parse public key: ${(e as Error).message}`);
  }
  const ecdsa = p384FromKeyObject(keyObject, path);
  const mldsa = blocks.get(MLDSA_PUBLIC_LABEL);
  if (mldsa === undefined) throw new KeyError(`${path}: no "${MLDSA_PUBLIC_LABEL}" block: the ML-DSA-65 public key is missing`);
  return [ecdsa, mldsaPublicKey(pemBody(mldsa), path)];
}

/** True when `signature` over `message` verifies with `pub`; never throws for bad input. */
export function verifyMessage(pub: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (pub.algorithm === 'ecdsa-p384') {
      if (signature.length !== P384_SIGNATURE_BYTES) return false;
      return cryptoVerify('sha384', message, { key: pub.keyObject!, dsaEncoding: 'ieee-p1363' }, signature);
    }
    if (pub.algorithm === 'ml-dsa-65') {
      if (signature.length !== ML_DSA_SIGNATURE_BYTES) return false;
      return ml_dsa65.verify(signature, message, pub.raw);
    }
    return false;
  } catch {
    return false;
  }
}

// ---- HSM-held keys ----

function seedAad(label: string): Uint8Array {
  return new TextEncoder().encode(HSM_SEED_AAD + label);
}

/**
 * Creates the HSM key set `label`: the P-384 pair (inside the token), an
 * AES-256 key `label.wrap`, and a fresh ML-DSA-65 seed sealed under it,
 * stored on the token as `label.ml-dsa-65`. Refuses if any exists.
 */
export async function createHsmKeySet(hsm: HsmDevice, label: string): Promise<PublicKey[]> {
  checkLabel(label);
  if (await hsm.hasKey(label, 'signing')) throw new KeyError(`${hsm.description}: a signing key labelled "${label}" already exists`);
  const point = await hsm.generateSigningKey(label);
  if (!(await hsm.hasKey(label + HSM_WRAP_SUFFIX, 'secret'))) await hsm.generateSecretKey(label + HSM_WRAP_SUFFIX);
  const seed = await hsm.random(ML_DSA_SEED_BYTES);
  const iv = await hsm.random(GCM_IV_BYTES);
  const sealed = await hsm.encrypt(label + HSM_WRAP_SUFFIX, iv, seedAad(label), seed);
  const blob = new Uint8Array(iv.length + sealed.length);
  blob.set(iv, 0);
  blob.set(sealed, iv.length);
  await hsm.putData(label + HSM_MLDSA_SUFFIX, blob);
  seed.fill(0);
  const source = `${hsm.description} key "${label}"`;
  return [p384PublicKey(point, source), mldsaFromSeedPublic(await unsealSeed(hsm, label), source)];
}

function mldsaFromSeedPublic(seed: Uint8Array, source: string): PublicKey {
  const k = mldsaFromSeed(seed, source);
  seed.fill(0);
  k.secretKey.fill(0);
  return k.publicKey;
}

async function unsealSeed(hsm: HsmDevice, label: string): Promise<Uint8Array> {
  let blob: Uint8Array;
  try {
    blob = await hsm.getData(label + HSM_MLDSA_SUFFIX);
  } catch (e) {
    throw new KeyError(`${hsm.description}: no sealed ML-DSA-65 key "${label}${HSM_MLDSA_SUFFIX}" (${(e as Error).message})`);
  }
  if (blob.length !== GCM_IV_BYTES + ML_DSA_SEED_BYTES + 16) {
    throw new KeyError(`${hsm.description}: sealed ML-DSA-65 key "${label}${HSM_MLDSA_SUFFIX}" is ${blob.length} bytes, expected 60`);
  }
  try {
    return await hsm.decrypt(label + HSM_WRAP_SUFFIX, blob.subarray(0, GCM_IV_BYTES), seedAad(label), blob.subarray(GCM_IV_BYTES));
  } catch (e) {
    throw new KeyError(`${hsm.description}: cannot unseal the ML-DSA-65 key of "${label}": ${(e as Error).message}`);
  }
}

function checkLabel(label: string): void {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(label)) {
    throw new KeyError(`HSM key label ${JSON.stringify(label)}: use 1..64 of A-Z a-z 0-9 . _ -`);
  }
}

/**
 * A signer over the HSM key set `label`: P-384 signatures are made by the
 * token; the ML-DSA-65 seed is unsealed by the token into this process's
 * memory for as long as the signer lives.
 */
export async function openHsmSigner(hsm: HsmDevice, label: string): Promise<Signer> {
  checkLabel(label);
  const source = `${hsm.description} key "${label}"`;
  let point: Uint8Array;
  try {
    point = await hsm.signingPublicKey(label);
  } catch (e) {
    throw new KeyError(`${source}: ${(e as Error).message}`);
  }
  const ecdsa = p384PublicKey(point, source);
  const mldsa = mldsaFromSeed(await unsealSeed(hsm, label), source);
  return {
    keyIdHex: ecdsa.keyIdHex,
    publicKeys: [ecdsa, mldsa.publicKey],
    description: source,
    async signAll(message) {
      const [ecdsaSig, mldsaSig] = await Promise.all([hsm.sign(label, message), mldsaSignAsync(message, mldsa.secretKey)]);
      return [
        { algorithm: 'ecdsa-p384', keyIdHex: ecdsa.keyIdHex, signature: ecdsaSig },
        { algorithm: 'ml-dsa-65', keyIdHex: mldsa.publicKey.keyIdHex, signature: mldsaSig },
      ];
    },
  };
}
