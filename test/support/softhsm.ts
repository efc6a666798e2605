// test/support/softhsm.ts: a throw-away SoftHSM2 token for tests.
//
// `makeSoftHsmToken()` writes a softhsm2.conf into a fresh temp directory,
// points SOFTHSM2_CONF (and the QENEX_PKCS11_* variables) at it and runs
// `softhsm2-util --init-token --free`. Call it before the first Hsm.open in
// the process: SoftHSM2 reads its configuration when the module initialises.
// softhsm2 comes from Debian (.ci/run installs it).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_MODULE = process.env.QENEX_PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  dir: string;
  module: string;
  token: string;
  pin: string;
  /** The variables a child `qenex` process needs to reach this token. */
  env: Record<string, string>;
  remove(): void;
}

export function softHsmAvailable(): boolean {
  return existsSync(SOFTHSM_MODULE);
}

export function makeSoftHsmToken(token = 'qenex-test', pin = '246813'): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'qenex-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { SOFTHSM2_CONF: conf, QENEX_PKCS11_MODULE: SOFTHSM_MODULE, QENEX_PKCS11_TOKEN: token, QENEX_PKCS11_PIN: pin };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', token, '--pin', pin, '--so-pin', `${pin}0`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  Object.assign(process.env, env);
  return { dir, module: SOFTHSM_MODULE, token, pin, env, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
