// host/cmd/keygen.ts: `qenex keygen`, create an image signing key set.
//
// Development: writes <dir>/signing.key (mode 0600: ECDSA P-384 PKCS#8 PEM
// and an ML-DSA-65 seed) and <dir>/signing.pub (both public keys) and prints
// the key ids. An existing signing.key is never replaced without --force,
// because losing it means re-keying every host.
// Production: with --hsm pkcs11 --label L the P-384 key is created inside
// the HSM and the ML-DSA-65 seed is sealed under an HSM AES key (see
// host/base/keys.ts); only signing.pub is written (with --out).

import { HsmError } from '../hsm/hsm.ts';
import { KeyError, PUBLIC_KEY_FILE, createHsmKeySet, writeKeyPair, writePublicKeys } from '../base/keys.ts';
import { CliError, EXIT_USAGE, asCliError, parseArgs, processIo, type CommandIo } from './args.ts';
import { openHsmFromArgs } from './signer.ts';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

export const USAGE = `usage: qenex keygen --out <dir> [--force]
       qenex keygen --hsm pkcs11|soft --label <label> [--out <dir>]

Creates an image signing key set: ECDSA P-384 and ML-DSA-65 (FIPS 204).
Images are signed with both and boot only if both verify.

Without --hsm (development), writes into <dir> (created if needed):
  <dir>/signing.key  both private keys (mode 0600); keep it secret
  <dir>/signing.pub  both public keys; give it to hosts as --trust
With --hsm pkcs11 (production) the P-384 key is generated inside the HSM
(never extractable) and the ML-DSA-65 key is sealed under the HSM AES key
<label>.wrap and kept on the token; only <dir>/signing.pub is written.
The module, token and PIN come from QENEX_PKCS11_MODULE (default
/usr/lib/softhsm/libsofthsm2.so), QENEX_PKCS11_TOKEN and QENEX_PKCS11_PIN.
--hsm soft uses a software token (QENEX_SOFT_HSM_DIR) and warns.
Prints the key ids (first 16 bytes of SHA-256 of each public key, hex).

options:
  --out <dir>      where to write the key files
  --force          replace an existing signing.key
  --hsm <kind>     pkcs11 or soft: create the key set in an HSM
  --label <label>  the HSM key set's label`;

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, { values: ['out', 'hsm', 'label'], booleans: ['force'] });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const dir = args.values.get('out');
  try {
    if (args.values.has('hsm')) {
      const label = args.values.get('label');
      if (label === undefined) throw new CliError('--hsm needs --label <label>', EXIT_USAGE);
      if (args.booleans.has('force')) throw new CliError('--force does not apply to HSM keys: HSM keys are never replaced', EXIT_USAGE);
      const hsm = await openHsmFromArgs(args, io);
      try {
        const keys = await createHsmKeySet(hsm, label);
        let where = 'no signing.pub written (no --out)';
        if (dir !== undefined) {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          writePublicKeys(join(dir, PUBLIC_KEY_FILE), keys);
          where = `wrote ${join(dir, PUBLIC_KEY_FILE)}`;
        }
        io.out(`key ${keys[0].keyIdHex} (ecdsa-p384) + ${keys[1].keyIdHex} (ml-dsa-65) in ${hsm.description} label "${label}": ${where}`);
      } finally {
        hsm.close();
      }
      return 0;
    }
    if (args.values.has('label')) throw new CliError('--label needs --hsm pkcs11|soft', EXIT_USAGE);
    if (dir === undefined) throw new CliError('missing --out <dir>', EXIT_USAGE);
    const written = writeKeyPair(dir, { force: args.booleans.has('force') });
    const [ecdsa, mldsa] = written.key.publicKeys;
    io.out(`key ${ecdsa.keyIdHex} (ecdsa-p384) + ${mldsa.keyIdHex} (ml-dsa-65): wrote ${written.keyPath} and ${written.pubPath}`);
    return 0;
  } catch (e) {
    throw asCliError(e, [KeyError, HsmError]);
  }
}
