// host/cmd/sign.ts: `qenex sign`, add a signature to an existing image.
//
// The image is parsed first (every section digest checked), so a damaged
// image is never signed. A signature by the same key is replaced. The file
// is rewritten atomically.

import { ImageError, openImage, readImageFile, signImage, writeImageFile } from '../image.ts';
import { KeyError, loadSigningKey } from '../keys.ts';
import { CliError, EXIT_USAGE, asCliError, parseArgs, processIo, type CommandIo } from './args.ts';

export const USAGE = `usage: qenex sign <file.qxi> --key <signing.key>

Checks every section digest of <file.qxi>, then adds a signature by the key
(replacing an earlier signature by the same key) and rewrites the file.

options:
  --key <path>  the private key (PKCS#8 PEM, from qenex keygen)`;

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, { values: ['key'], positionals: { min: 1, max: 1, names: ['<file.qxi>'] } });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const file = args.positionals[0];
  const keyPath = args.values.get('key');
  if (keyPath === undefined) throw new CliError('missing --key <signing.key>', EXIT_USAGE);
  try {
    const key = loadSigningKey(keyPath);
    const signed = signImage(readImageFile(file), key);
    // Read back what will be written and check the new signature verifies.
    const parsed = openImage(signed, [key.publicKey]);
    writeImageFile(file, signed);
    const signers = parsed.signatures.map((s) => s.keyIdHex).join(', ');
    io.out(`signed ${file} with key ${key.publicKey.keyIdHex}; ${parsed.signatures.length} signature(s): ${signers}`);
    return 0;
  } catch (e) {
    throw asCliError(e, [ImageError, KeyError]);
  }
}
