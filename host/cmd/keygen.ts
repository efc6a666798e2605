// host/cmd/keygen.ts: `qenex keygen`, create an image signing key pair.
//
// Writes <dir>/signing.key (PKCS#8 PEM, mode 0600) and <dir>/signing.pub
// (SPKI PEM) and prints the key id. An existing signing.key is never
// replaced without --force, because losing it means re-keying every host.

import { KeyError, writeKeyPair } from '../keys.ts';
import { CliError, EXIT_USAGE, asCliError, parseArgs, processIo, type CommandIo } from './args.ts';

export const USAGE = `usage: qenex keygen --out <dir> [--force]

Creates <dir> if needed and writes an Ed25519 key pair:
  <dir>/signing.key  private key (PKCS#8 PEM, mode 0600); keep it secret
  <dir>/signing.pub  public key (SPKI PEM); give it to hosts as a trusted key
Prints the key id (first 16 bytes of SHA-256 of the public key, hex).

options:
  --out <dir>  where to write the key pair
  --force      replace an existing signing.key`;

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, { values: ['out'], booleans: ['force'] });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const dir = args.values.get('out');
  if (dir === undefined) throw new CliError('missing --out <dir>', EXIT_USAGE);
  try {
    const written = writeKeyPair(dir, { force: args.booleans.has('force') });
    io.out(`key ${written.key.publicKey.keyIdHex} (${written.key.algorithm}): wrote ${written.keyPath} and ${written.pubPath}`);
    return 0;
  } catch (e) {
    throw asCliError(e, [KeyError]);
  }
}
