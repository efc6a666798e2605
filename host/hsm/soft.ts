// host/hsm/soft.ts: a software HSM token, for machines without PKCS#11.
//
// Same operations and error codes as the PKCS#11 device, backed by
// node:crypto. The token is one file, <dir>/<token>.token (mode 0600): its
// keys and data objects as JSON, sealed with AES-256-GCM under a key derived
// from the PIN by scrypt, so a wrong PIN is refused (EHSM_CONFIG) rather than
// read as garbage. "Non-extractable" here is a policy of this code, not a
// property of hardware: that is why host/hsm/hsm.ts warns on every open.

import {
  createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync,
  randomBytes, scryptSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../base/durable.ts';
import { HsmError, GCM_IV_BYTES, GCM_TAG_BYTES, P384_POINT_BYTES, type HsmDevice, type KeyKind } from './types.ts';

const FORMAT = 'qenex-soft-hsm-1';
const SCRYPT_N = 1 << 15;
const RANDOM_BYTES_MAX = 1 << 20;

interface StoredKey { kind: 'signing' | 'secret'; value: string; point?: string }
interface Contents { keys: Record<string, StoredKey>; data: Record<string, string> }
interface Sealed { format: string; salt: string; iv: string; sealed: string }

function pinKey(pin: string, salt: Buffer): Buffer {
  return scryptSync(pin, salt, 32, { N: SCRYPT_N, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
}

function seal(contents: Contents, pin: string): Sealed {
  const salt = randomBytes(16);
  const iv = randomBytes(GCM_IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', pinKey(pin, salt), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(contents)), cipher.final(), cipher.getAuthTag()]);
  return { format: FORMAT, salt: salt.toString('base64'), iv: iv.toString('base64'), sealed: body.toString('base64') };
}

function unseal(file: string, pin: string): Contents {
  let stored: Sealed;
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as Sealed;
  } catch (e) {
    throw new HsmError(`soft token ${file}: cannot read: ${(e as Error).message}`, 'EHSM_CONFIG');
  }
  if (stored?.format !== FORMAT) throw new HsmError(`soft token ${file}: not a ${FORMAT} file`, 'EHSM_CONFIG');
  const body = Buffer.from(stored.sealed, 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', pinKey(pin, Buffer.from(stored.salt, 'base64')), Buffer.from(stored.iv, 'base64'));
    decipher.setAuthTag(body.subarray(body.length - GCM_TAG_BYTES));
    const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - GCM_TAG_BYTES)), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as Contents;
  } catch {
    throw new HsmError(`soft token ${file}: the PIN is wrong (or the file is damaged)`, 'EHSM_CONFIG');
  }
}


function pointOf(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  if (point.length !== P384_POINT_BYTES) throw new HsmError('soft token: a P-384 point is not 97 bytes');
  return new Uint8Array(point);
}

/** A node:crypto public KeyObject for an uncompressed P-384 point. */
export function p384PublicKeyObject(point: Uint8Array): KeyObject {
  if (point.length !== P384_POINT_BYTES || point[0] !== 4) {
    throw new HsmError(`a P-384 public key is 97 bytes starting 0x04, got ${point.length} bytes`);
  }
  const b = Buffer.from(point);
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-384', x: b.subarray(1, 49).toString('base64url'), y: b.subarray(49).toString('base64url') },
    format: 'jwk',
  });
}

function checkIv(iv: Uint8Array): void {
  if (iv.length !== GCM_IV_BYTES) throw new HsmError(`hsm: an AES-GCM IV is ${GCM_IV_BYTES} bytes, got ${iv.length}`, 'ERR_INVALID_ARG_VALUE');
}

export function openSoftHsm(dir: string, token: string, pin: string): HsmDevice {
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(token)) throw new HsmError(`soft token label ${JSON.stringify(token)}: use 1..32 of A-Z a-z 0-9 . _ -`, 'EHSM_CONFIG');
  const file = join(dir, `${token}.token`);
  let contents: Contents;
  if (existsSync(file)) {
    contents = unseal(file, pin);
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    contents = { keys: {}, data: {} };
    writeFileDurably(file, JSON.stringify(seal(contents, pin)), { mode: 0o600 });
  }
  let closed = false;
  const save = () => writeFileDurably(file, JSON.stringify(seal(contents, pin)), { mode: 0o600 });
  const live = (op: string) => {
    if (closed) throw new HsmError(`${op} hsm: the token is closed`, 'ECLOSED');
  };
  const key = (label: string, kind: 'signing' | 'secret'): StoredKey => {
    const k = contents.keys[`${kind}:${label}`];
    if (k === undefined) {
      throw new HsmError(`hsm: no ${kind === 'signing' ? 'ECDSA P-384 key' : 'AES-256 key'} labelled ${JSON.stringify(label)} on the token`, 'EHSM_NOKEY');
    }
    return k;
  };
  const privateKey = (label: string) => createPrivateKey({ key: Buffer.from(key(label, 'signing').value, 'base64'), format: 'der', type: 'pkcs8' });
  const point = (label: string) => new Uint8Array(Buffer.from(key(label, 'signing').point!, 'base64'));
  const secret = (label: string) => Buffer.from(key(label, 'secret').value, 'base64');

  const device: HsmDevice = {
    kind: 'soft',
    description: `software token ${file}`,
    async generateSigningKey(label) {
      live('generateSigningKey');
      if (contents.keys[`signing:${label}`]) throw new HsmError(`hsm: a signing key labelled ${JSON.stringify(label)} already exists`, 'EHSM_EXISTS');
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      const p = pointOf(pair.publicKey);
      contents.keys[`signing:${label}`] = {
        kind: 'signing',
        value: pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        point: Buffer.from(p).toString('base64'),
      };
      save();
      return p;
    },
    async signingPublicKey(label) {
      live('signingPublicKey');
      return point(label);
    },
    async generateSecretKey(label) {
      live('generateSecretKey');
      if (contents.keys[`secret:${label}`]) throw new HsmError(`hsm: an AES key labelled ${JSON.stringify(label)} already exists`, 'EHSM_EXISTS');
      contents.keys[`secret:${label}`] = { kind: 'secret', value: randomBytes(32).toString('base64') };
      save();
    },
    async hasKey(label, kind: KeyKind) {
      live('hasKey');
      return contents.keys[`${kind === 'secret' ? 'secret' : 'signing'}:${label}`] !== undefined;
    },
    async sign(label, data) {
      live('sign');
      return new Uint8Array(cryptoSign('sha384', data, { key: privateKey(label), dsaEncoding: 'ieee-p1363' }));
    },
    async verify(label, data, signature) {
      live('verify');
      try {
        return cryptoVerify('sha384', data, { key: p384PublicKeyObject(point(label)), dsaEncoding: 'ieee-p1363' }, signature);
      } catch (e) {
        if (e instanceof HsmError) throw e;
        return false;
      }
    },
    async encrypt(label, iv, aad, plain) {
      live('encrypt');
      checkIv(iv);
      const cipher = createCipheriv('aes-256-gcm', secret(label), iv);
      cipher.setAAD(aad);
      return new Uint8Array(Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]));
    },
    async decrypt(label, iv, aad, sealed) {
      live('decrypt');
      checkIv(iv);
      const k = secret(label);
      if (sealed.length < GCM_TAG_BYTES) throw new HsmError(`hsm decrypt: ${sealed.length} bytes is shorter than the 16-byte tag`, 'EHSM_AUTH');
      try {
        const decipher = createDecipheriv('aes-256-gcm', k, iv);
        decipher.setAAD(aad);
        decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
        return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES)), decipher.final()]));
      } catch {
        throw new HsmError('hsm decrypt: authentication failed (wrong key, IV, AAD, or altered bytes)', 'EHSM_AUTH');
      }
    },
    async random(count) {
      live('random');
      if (!Number.isInteger(count) || count < 0 || count > RANDOM_BYTES_MAX) {
        throw new HsmError(`hsm random: ${count} bytes asked, at most ${RANDOM_BYTES_MAX}`, 'ERR_INVALID_ARG_VALUE');
      }
      return new Uint8Array(randomBytes(count));
    },
    async putData(label, value) {
      live('putData');
      if (contents.data[label] !== undefined) throw new HsmError(`hsm: a data object labelled ${JSON.stringify(label)} already exists`, 'EHSM_EXISTS');
      contents.data[label] = Buffer.from(value).toString('base64');
      save();
    },
    async getData(label) {
      live('getData');
      const v = contents.data[label];
      if (v === undefined) throw new HsmError(`hsm: no data object labelled ${JSON.stringify(label)} on the token`, 'EHSM_NOKEY');
      return new Uint8Array(Buffer.from(v, 'base64'));
    },
    async exportKey(label, kind, wrappingLabel) {
      live('exportKey');
      key(label, kind === 'secret' ? 'secret' : 'signing');
      key(wrappingLabel, 'secret');
      throw new HsmError(`hsm export ${JSON.stringify(label)}: refused: the key is sensitive and non-extractable`, 'EHSM_UNEXTRACTABLE');
    },
    close() {
      closed = true;
    },
  };
  return device;
}
