// host/hsm/hsm.ts: the host's HSM device, whichever token serves it.
//
//   pkcs11  a real PKCS#11 module through the Rust addon (host/native,
//           `Hsm`): SoftHSM2 in development and CI, a vendor's library in
//           production. Keys never leave the token.
//   soft    host/hsm/soft.ts: node:crypto keys in a PIN-sealed file. Only
//           when asked for (`--hsm soft`), and it says so on every open.
//
// Configuration never comes from an image: the module path, token label and
// PIN come from options or the environment (QENEX_PKCS11_MODULE,
// QENEX_PKCS11_TOKEN, QENEX_PKCS11_PIN; QENEX_SOFT_HSM_DIR for the soft
// token). Every operation returns a promise; the pkcs11 device runs each on
// a libuv worker, off the JavaScript thread.
//
// Use: `const hsm = await openHsm({ kind: 'pkcs11' }); await hsm.sign('img', bytes)`.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSoftHsm } from './soft.ts';

export { HsmError, DEFAULT_PKCS11_MODULE, DEFAULT_TOKEN_LABEL, P384_POINT_BYTES, P384_SIGNATURE_BYTES, GCM_IV_BYTES, GCM_TAG_BYTES } from './types.ts';
export type { HsmKind, KeyKind, HsmDevice } from './types.ts';
import { HsmError, DEFAULT_PKCS11_MODULE, DEFAULT_TOKEN_LABEL, P384_POINT_BYTES, P384_SIGNATURE_BYTES, GCM_IV_BYTES, GCM_TAG_BYTES, type HsmKind, type KeyKind, type HsmDevice } from './types.ts';

export interface HsmOptions {
  kind?: HsmKind;
  /** PKCS#11 module path; default $QENEX_PKCS11_MODULE, then DEFAULT_PKCS11_MODULE. */
  module?: string;
  /** Token label; default $QENEX_PKCS11_TOKEN, then DEFAULT_TOKEN_LABEL. */
  token?: string;
  /** User PIN; default $QENEX_PKCS11_PIN. Required. */
  pin?: string;
  /** Soft token directory; default $QENEX_SOFT_HSM_DIR, then var/soft-hsm. */
  softDir?: string;
  /** Where the soft token's warning goes; default stderr. */
  notice?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export function parseHsmKind(value: string | undefined, flag = '--hsm'): HsmKind {
  if (value === 'pkcs11' || value === 'soft') return value;
  throw new HsmError(`${flag} must be pkcs11 or soft, got ${JSON.stringify(value)}`, 'EHSM_CONFIG');
}

export async function openHsm(options: HsmOptions = {}): Promise<HsmDevice> {
  const env = options.env ?? process.env;
  const pin = options.pin ?? env.QENEX_PKCS11_PIN;
  if (pin === undefined || pin === '') {
    throw new HsmError('no HSM PIN: set QENEX_PKCS11_PIN (the PIN never comes from an image or a command line)', 'EHSM_CONFIG');
  }
  const token = options.token ?? env.QENEX_PKCS11_TOKEN ?? DEFAULT_TOKEN_LABEL;
  if ((options.kind ?? 'pkcs11') === 'soft') {
    const dir = options.softDir ?? env.QENEX_SOFT_HSM_DIR ?? nodePath.join('var', 'soft-hsm');
    const notice = options.notice ?? ((line: string) => process.stderr.write(line + '\n'));
    notice(`qenex: WARNING: using the software HSM token in ${dir}: keys are files on this machine, ` +
      'not in hardware; use --hsm pkcs11 for anything that matters');
    return openSoftHsm(dir, token, pin);
  }
  const module = options.module ?? env.QENEX_PKCS11_MODULE ?? DEFAULT_PKCS11_MODULE;
  return openPkcs11(module, token, pin);
}

// ---- the PKCS#11 device (native addon) ----

interface NativeHsm {
  readonly module: string;
  readonly tokenLabel: string;
  generateSigningKey(label: string): Promise<Buffer>;
  signingPublicKey(label: string): Promise<Buffer>;
  generateSecretKey(label: string): Promise<void>;
  hasKey(label: string, kind: string): Promise<boolean>;
  sign(label: string, data: Uint8Array): Promise<Buffer>;
  verify(label: string, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
  encrypt(label: string, iv: Uint8Array, aad: Uint8Array, data: Uint8Array): Promise<Buffer>;
  decrypt(label: string, iv: Uint8Array, aad: Uint8Array, data: Uint8Array): Promise<Buffer>;
  random(count: number): Promise<Buffer>;
  putData(label: string, value: Uint8Array): Promise<void>;
  getData(label: string): Promise<Buffer>;
  exportKey(label: string, kind: string, wrappingLabel: string): Promise<Buffer>;
  close(): void;
}
interface NativeAddon {
  Hsm: { open(options: { module: string; token: string; pin: string }): NativeHsm };
}

function platformTag(): string {
  return `${process.platform}-${process.arch}${process.platform === 'linux' ? '-gnu' : ''}`;
}

let addon: NativeAddon | null = null;
function loadAddon(): NativeAddon {
  if (addon !== null) return addon;
  // Like host/devices/block-backend.ts: ../native from the source, or
  // host/native / native next to the dist/qenex.js bundle.
  const here = nodePath.dirname(fileURLToPath(import.meta.url));
  const fileName = `qenex-native.${platformTag()}.node`;
  const dirs = [nodePath.join(here, '..', 'native'), nodePath.join(here, '..', 'host', 'native'), nodePath.join(here, 'native')];
  const file = dirs.map((d) => nodePath.join(d, fileName)).find((f) => existsSync(f));
  if (file === undefined) {
    throw new HsmError(`the PKCS#11 HSM needs the native addon ${fileName} (run make native); or use --hsm soft`, 'EHSM_CONFIG');
  }
  const loaded = createRequire(import.meta.url)(file) as Partial<NativeAddon>;
  if (typeof loaded?.Hsm?.open !== 'function') {
    throw new HsmError(`native addon ${file} has no Hsm (rebuild it: make native)`, 'EHSM_CONFIG');
  }
  addon = loaded as NativeAddon;
  return addon;
}

function rethrow(e: unknown): never {
  const err = e as Error & { code?: string };
  throw new HsmError(err.message, typeof err.code === 'string' ? err.code : 'EHSM');
}

async function call<T>(p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (e) {
    rethrow(e);
  }
}

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

// PKCS#11 logs a whole process in to a token, not one session: while one
// open device holds a logged-in session, C_Login for another answers
// CKR_USER_ALREADY_LOGGED_IN whatever PIN it is given, and the addon takes
// that as success. So the PIN that logged this process in is remembered
// (salted SHA-256) while any device of that token is open, and a later open
// must present the same PIN. When the last device closes, its sessions
// close, the token logs the process out, and the next open logs in afresh.
const pinSalt = randomBytes(32);
const loggedIn = new Map<string, { pinHash: Buffer; open: number }>();
const pinHash = (pin: string): Buffer => createHash('sha256').update(pinSalt).update(pin, 'utf8').digest();

function openPkcs11(module: string, token: string, pin: string): HsmDevice {
  const key = `${module}\0${token}`;
  const held = loggedIn.get(key);
  const hash = pinHash(pin);
  if (held !== undefined && !timingSafeEqual(held.pinHash, hash)) {
    throw new HsmError(`hsm open: the token ${JSON.stringify(token)} refused the PIN (it differs from the PIN this process logged in with)`, 'EHSM_CONFIG');
  }
  let native: NativeHsm;
  try {
    native = loadAddon().Hsm.open({ module, token, pin });
  } catch (e) {
    rethrow(e);
  }
  const entry = loggedIn.get(key) ?? { pinHash: hash, open: 0 };
  entry.open++;
  loggedIn.set(key, entry);
  let closed = false;
  const close = () => {
    native.close();
    if (closed) return;
    closed = true;
    if (--entry.open === 0) loggedIn.delete(key);
  };
  return {
    kind: 'pkcs11',
    description: `PKCS#11 token ${JSON.stringify(token)} in ${module}`,
    generateSigningKey: (label) => call(async () => u8(await native.generateSigningKey(label))),
    signingPublicKey: (label) => call(async () => u8(await native.signingPublicKey(label))),
    generateSecretKey: (label) => call(() => native.generateSecretKey(label)),
    hasKey: (label, kind) => call(() => native.hasKey(label, kind)),
    sign: (label, data) => call(async () => u8(await native.sign(label, data))),
    verify: (label, data, signature) => call(() => native.verify(label, data, signature)),
    encrypt: (label, iv, aad, plain) => call(async () => u8(await native.encrypt(label, iv, aad, plain))),
    decrypt: (label, iv, aad, sealed) => call(async () => u8(await native.decrypt(label, iv, aad, sealed))),
    random: (count) => call(async () => u8(await native.random(count))),
    putData: (label, value) => call(() => native.putData(label, value)),
    getData: (label) => call(async () => u8(await native.getData(label))),
    exportKey: (label, kind, wrappingLabel) => call(async () => u8(await native.exportKey(label, kind, wrappingLabel))),
    close,
  };
}
