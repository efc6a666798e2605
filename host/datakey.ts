// host/datakey.ts: the data key of an encrypted data directory.
//
// With `"storage": { "encryption": "aes-256-gcm", "key_label": "<label>" }`
// in the image's manifest, everything the machine writes through the block
// device (the command log, snapshots) is sealed by
// host/devices/encrypted-backend.ts under a 32-byte data key. The data key
// is made once, when the data directory is first initialised, from the HSM's
// random generator, and is stored only wrapped, in `datakey.json`:
//
//   { "format": "qenex-datakey-v1", "cipher": "aes-256-gcm",
//     "key_label": "<HSM AES-256 key>", "token": "<token label, for messages>",
//     "nonce": "<base64, 12 bytes>", "wrapped": "<base64, 32 + 16-byte tag>",
//     "kcv": "<hex, 8 bytes of HMAC-SHA256(data key, ...)>" }
//
// Wrapping is AES-256-GCM inside the HSM (host/hsm: encrypt/decrypt by key
// label, the key sensitive and non-extractable), with AAD
// "qenex-datakey-v1" ‖ 0 ‖ key label. So without the HSM and that key the
// directory cannot be read. Boot (and replay, audit) unwraps it before
// anything is read, and each failure is its own error (DataKeyError.code):
//
//   EDATAKEY_NOHSM     no HSM configured (QENEX_PKCS11_* unset) or it will not open
//   EDATAKEY_TOKEN     the configured token is not there (wrong QENEX_PKCS11_TOKEN)
//   EDATAKEY_NOKEY     the token has no AES key with that label
//   EDATAKEY_WRONGKEY  a key with that label exists but did not wrap this data key
//   EDATAKEY_SWITCH    the manifest's storage setting differs from the directory's
//   EDATAKEY_FILE      datakey.json is missing, unreadable or malformed
//
// The switch is fixed when a data directory is created: turning encryption
// on or off, or naming another key label, on an existing directory is refused.
// On first initialisation a missing HSM key with the manifest's label is
// created (AES-256, sensitive, non-extractable) and a notice says so.

import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from './base/durable.ts';
import { openHsm, HsmError, GCM_IV_BYTES, type HsmDevice, type HsmOptions } from './hsm/hsm.ts';
import { DataCipher, DATA_KEY_BYTES, KCV_BYTES, keyCheckValue, looksSealed } from './devices/encrypted-backend.ts';
import type { StorageSpec } from './manifest.ts';

export const DATAKEY_FILE = 'datakey.json';
const FORMAT = 'qenex-datakey-v1';
// A datakey.json is a few hundred bytes; anything much larger is not one.
const DATAKEY_FILE_BYTES_MAX = 4096;
const WRAPPED_BYTES = DATA_KEY_BYTES + 16;

export type DataKeyCode = 'EDATAKEY_NOHSM' | 'EDATAKEY_TOKEN' | 'EDATAKEY_NOKEY' | 'EDATAKEY_WRONGKEY' | 'EDATAKEY_SWITCH' | 'EDATAKEY_FILE';

export class DataKeyError extends Error {
  override name = 'DataKeyError';
  constructor(message: string, readonly code: DataKeyCode) {
    super(message);
  }
}

interface DataKeyFile {
  format: typeof FORMAT;
  cipher: 'aes-256-gcm';
  key_label: string;
  token: string;
  nonce: string;
  wrapped: string;
  kcv: string;
}

export interface DataKeyOptions {
  dataDir: string;
  /** The manifest's storage section; absent: the directory must be plain. */
  storage: StorageSpec | undefined;
  /** The command log's file name in dataDir (host/machine.ts LOG_FILE). */
  logFile: string;
  /** May a missing data key be created (a live boot of a new directory)? */
  create: boolean;
  /** An open HSM to use (borrowed: not closed here). */
  hsm?: HsmDevice | null;
  /** Else the HSM to open (and close again); default: PKCS#11 from QENEX_PKCS11_*. */
  hsmOptions?: HsmOptions;
  notice?: (line: string) => void;
}

/**
 * Refuses a data directory whose encryption setting differs from the
 * manifest's. Reads only datakey.json and the log's first bytes; no HSM.
 */
export function checkStorageSwitch(o: Pick<DataKeyOptions, 'dataDir' | 'storage' | 'logFile'>): void {
  const keyFile = readDataKeyFile(o.dataDir);
  const log = logState(join(o.dataDir, o.logFile));
  const keep = 'the storage setting is fixed when a data directory is created; use a new data directory, or the image it was created with';
  if (o.storage === undefined) {
    if (keyFile !== null) {
      throw new DataKeyError(`${o.dataDir} is encrypted at rest (aes-256-gcm, HSM key ${JSON.stringify(keyFile.key_label)}), ` +
        `but the image's manifest has no "storage" section: ${keep}`, 'EDATAKEY_SWITCH');
    }
    if (log === 'sealed') {
      throw new DataKeyError(`${join(o.dataDir, o.logFile)} is encrypted at rest but ${DATAKEY_FILE} is missing, ` +
        'so it cannot be read (restore datakey.json from the backup of this data directory)', 'EDATAKEY_FILE');
    }
    return;
  }
  if (keyFile === null) {
    if (log === 'plain') {
      throw new DataKeyError(`${o.dataDir} was created without encryption at rest, but the image's manifest asks for ` +
        `storage.encryption "${o.storage.encryption}": ${keep}`, 'EDATAKEY_SWITCH');
    }
    if (log === 'sealed') {
      throw new DataKeyError(`${join(o.dataDir, o.logFile)} is encrypted at rest but ${DATAKEY_FILE} is missing, ` +
        'so it cannot be read (restore datakey.json from the backup of this data directory)', 'EDATAKEY_FILE');
    }
    return;
  }
  if (keyFile.key_label !== o.storage.key_label) {
    throw new DataKeyError(`${o.dataDir}'s data key is wrapped by HSM key ${JSON.stringify(keyFile.key_label)}, but the ` +
      `manifest names storage.key_label ${JSON.stringify(o.storage.key_label)}: ${keep}`, 'EDATAKEY_SWITCH');
  }
}

/**
 * The DataCipher of an encrypted data directory (unwrapped through the HSM,
 * or created on first use when `create`), or null for a plain one.
 */
export async function openDataCipher(o: DataKeyOptions): Promise<DataCipher | null> {
  checkStorageSwitch(o);
  if (o.storage === undefined) return null;
  const keyFile = readDataKeyFile(o.dataDir);
  if (keyFile === null && !o.create) {
    throw new DataKeyError(`${o.dataDir} has no ${DATAKEY_FILE}: nothing to decrypt with (the manifest asks for encryption at rest)`, 'EDATAKEY_FILE');
  }
  const label = o.storage.key_label;
  const hsm = o.hsm ?? await openWrappingHsm(o.dataDir, label, o.hsmOptions);
  try {
    if (keyFile === null) return await createDataKey(o, hsm, label);
    return await unwrapDataKey(o.dataDir, keyFile, hsm);
  } finally {
    if (o.hsm == null) hsm.close();
  }
}

async function openWrappingHsm(dataDir: string, label: string, options: HsmOptions | undefined): Promise<HsmDevice> {
  const why = `${dataDir} is encrypted at rest: its data key is wrapped by the HSM key ${JSON.stringify(label)}`;
  try {
    return await openHsm({ kind: 'pkcs11', ...options });
  } catch (e) {
    const message = (e as Error).message;
    if (/no initialised token/.test(message)) throw new DataKeyError(`${why}, and the configured HSM token is not there: ${message}`, 'EDATAKEY_TOKEN');
    throw new DataKeyError(`${why}, and the HSM is not available: ${message}`, 'EDATAKEY_NOHSM');
  }
}

async function createDataKey(o: DataKeyOptions, hsm: HsmDevice, label: string): Promise<DataCipher> {
  if (!(await hsm.hasKey(label, 'secret'))) {
    await hsm.generateSecretKey(label);
    (o.notice ?? ((l: string) => process.stderr.write(l + '\n')))(
      `qenex: created AES-256 key ${JSON.stringify(label)} on ${hsm.description} to wrap the data key of ${o.dataDir}`);
  }
  const dataKey = await hsm.random(DATA_KEY_BYTES);
  const nonce = await hsm.random(GCM_IV_BYTES);
  const wrapped = await hsm.encrypt(label, nonce, wrapAad(label), dataKey);
  const file: DataKeyFile = {
    format: FORMAT, cipher: 'aes-256-gcm', key_label: label, token: tokenOf(hsm),
    nonce: Buffer.from(nonce).toString('base64'), wrapped: Buffer.from(wrapped).toString('base64'),
    kcv: Buffer.from(keyCheckValue(dataKey)).toString('hex'),
  };
  writeFileDurably(join(o.dataDir, DATAKEY_FILE), JSON.stringify(file, null, 2) + '\n', { mode: 0o600, syncDirectory: true });
  const cipher = new DataCipher(dataKey);
  dataKey.fill(0);
  return cipher;
}

async function unwrapDataKey(dataDir: string, file: DataKeyFile, hsm: HsmDevice): Promise<DataCipher> {
  const label = file.key_label;
  if (!(await hsm.hasKey(label, 'secret'))) {
    throw new DataKeyError(`${dataDir} is encrypted at rest, but ${hsm.description} has no AES key labelled ` +
      `${JSON.stringify(label)} (the data key was wrapped on token ${JSON.stringify(file.token)})`, 'EDATAKEY_NOKEY');
  }
  let dataKey: Uint8Array;
  try {
    dataKey = await hsm.decrypt(label, Buffer.from(file.nonce, 'base64'), wrapAad(label), Buffer.from(file.wrapped, 'base64'));
  } catch (e) {
    if (e instanceof HsmError && e.code === 'EHSM_AUTH') {
      throw new DataKeyError(`${dataDir} is encrypted at rest, but the key ${JSON.stringify(label)} on ${hsm.description} ` +
        `is not the key that wrapped its data key (authentication failed; it was wrapped on token ${JSON.stringify(file.token)}): ` +
        'wrong key or wrong token', 'EDATAKEY_WRONGKEY');
    }
    throw e;
  }
  const kcv = Buffer.from(keyCheckValue(dataKey)).toString('hex');
  if (dataKey.byteLength !== DATA_KEY_BYTES || kcv !== file.kcv) {
    throw new DataKeyError(`${join(dataDir, DATAKEY_FILE)}: the unwrapped data key does not match its check value ` +
      `(${kcv} != ${file.kcv}): the file was edited`, 'EDATAKEY_WRONGKEY');
  }
  const cipher = new DataCipher(dataKey);
  dataKey.fill(0);
  return cipher;
}

function wrapAad(label: string): Uint8Array {
  return Buffer.concat([Buffer.from(FORMAT, 'ascii'), Buffer.of(0), Buffer.from(label, 'utf8')]);
}

function tokenOf(hsm: HsmDevice): string {
  const m = /token "([^"]*)"/.exec(hsm.description);
  return m?.[1] ?? hsm.description;
}

/** datakey.json of `dataDir`, checked field by field; null when there is none. */
export function readDataKeyFile(dataDir: string): DataKeyFile | null {
  const path = join(dataDir, DATAKEY_FILE);
  if (!existsSync(path)) return null;
  const bad = (why: string): never => { throw new DataKeyError(`${path}: ${why}`, 'EDATAKEY_FILE'); };
  let json: unknown;
  try {
    if (statSync(path).size > DATAKEY_FILE_BYTES_MAX) bad(`over ${DATAKEY_FILE_BYTES_MAX} bytes: not a data key file`);
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    if (e instanceof DataKeyError) throw e;
    bad(`cannot read it: ${(e as Error).message}`);
  }
  const f = json as Record<string, unknown>;
  if (typeof f !== 'object' || f === null) bad('not a JSON object');
  if (f.format !== FORMAT) bad(`format must be "${FORMAT}", found ${JSON.stringify(f.format)}`);
  if (f.cipher !== 'aes-256-gcm') bad(`cipher must be "aes-256-gcm", found ${JSON.stringify(f.cipher)}`);
  for (const k of ['key_label', 'token', 'nonce', 'wrapped', 'kcv']) if (typeof f[k] !== 'string') bad(`${k} must be a string`);
  if (Buffer.from(f.nonce as string, 'base64').byteLength !== GCM_IV_BYTES) bad(`nonce must be ${GCM_IV_BYTES} bytes of base64`);
  if (Buffer.from(f.wrapped as string, 'base64').byteLength !== WRAPPED_BYTES) bad(`wrapped must be ${WRAPPED_BYTES} bytes of base64`);
  if (!new RegExp(`^[0-9a-f]{${2 * KCV_BYTES}}$`).test(f.kcv as string)) bad(`kcv must be ${KCV_BYTES} bytes of hex`);
  return f as unknown as DataKeyFile;
}

// 'none': absent or empty; 'sealed': starts with the encrypted-file header; 'plain': anything else.
function logState(path: string): 'none' | 'sealed' | 'plain' {
  if (!existsSync(path) || statSync(path).size === 0) return 'none';
  const head = new Uint8Array(8);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head.every((b) => b === 0)) return 'none'; // a header that never became durable
  return looksSealed(head) ? 'sealed' : 'plain';
}
