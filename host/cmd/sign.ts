// host/cmd/sign.ts: `qenex sign`, add the signatures of a key set to an
// existing image: ECDSA P-384 and ML-DSA-65.
//
// The image is parsed first (every section digest checked), so a damaged
// image is never signed. Signatures by the same keys are replaced. The new
// signatures are verified before the file is rewritten, atomically.

import { ImageError, openImage, readImageFile, signImageWith, writeImageFile } from '../image.ts';
import { KeyError } from '../base/keys.ts';
import { HsmError } from '../hsm/hsm.ts';
import { CliError, EXIT_USAGE, asCliError, parseArgs, processIo, type CommandIo } from './args.ts';
import { SIGNER_OPTIONS, signerFromArgs } from './signer.ts';
import { readFileSync, statSync } from 'node:fs';
import { writeFileDurably } from '../base/durable.ts';
import { signModule, verifyModule, ModuleSignatureError } from '../modsig.ts';
import type { PublicKey } from '../base/keys.ts';

// A service module for live load (host/modsig.ts): at most one logged message.
const MODULE_BYTES_MAX = 1 << 20;

function readModuleFile(path: string): Uint8Array {
  let size: number;
  try { size = statSync(path).size; } catch (e) { throw new ModuleSignatureError(`${path}: ${(e as Error).message}`); }
  if (size > MODULE_BYTES_MAX) throw new ModuleSignatureError(`${path}: ${size} bytes; a loadable module is at most ${MODULE_BYTES_MAX}`);
  const bytes = readFileSync(path);
  if (bytes.length < 8 || bytes.readUInt32LE(0) !== 0x6d736100) throw new ModuleSignatureError(`${path}: not a WebAssembly module`);
  return bytes;
}

/** Checks the new signature, writes <module>.sig (atomically); returns the line to print. */
function signModuleFile(path: string, signature: Uint8Array, keys: readonly PublicKey[]): string {
  verifyModule(readModuleFile(path), signature, keys);
  const out = `${path}.sig`;
  writeFileDurably(out, signature);
  return `signed module ${path}: ${out} (${signature.length} bytes)`;
}

export const USAGE = `usage: qenex sign <file.qxi> --key <signing.key>
       qenex sign <file.qxi> --hsm pkcs11|soft --label <label>
       qenex sign <module.wasm> --key <signing.key>   (a service module: writes <module.wasm>.sig)

Checks every section digest of <file.qxi>, then adds an ECDSA P-384 and an
ML-DSA-65 signature (replacing earlier signatures by the same keys) and
rewrites the file.

options:
  --key <path>     the development key set (from qenex keygen --out)
  --hsm <kind>     sign with an HSM-held key set instead (pkcs11 or soft)
  --label <label>  the HSM key set's label`;

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, { values: [...SIGNER_OPTIONS], positionals: { min: 1, max: 1, names: ['<file.qxi>'] } });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const file = args.positionals[0];
  if (!args.values.has('key') && !args.values.has('hsm')) throw new CliError('missing --key <signing.key> (or --hsm pkcs11 --label <label>)', EXIT_USAGE);
  try {
    const opened = (await signerFromArgs(args, io))!;
    try {
      const { signer } = opened;
      if (file.endsWith('.wasm')) {
        io.out(signModuleFile(file, await signModule(readModuleFile(file), signer), signer.publicKeys));
        return 0;
      }
      const signed = await signImageWith(readImageFile(file), signer);
      // Read back what will be written and check the new signatures verify.
      const parsed = openImage(signed, signer.publicKeys);
      writeImageFile(file, signed);
      const signers = parsed.signatures.map((s) => s.keyIdHex).join(', ');
      io.out(`signed ${file} with key ${signer.keyIdHex}; ${parsed.signatures.length} signature(s): ${signers}`);
    } finally {
      opened.close();
    }
    return 0;
  } catch (e) {
    throw asCliError(e, [ImageError, KeyError, HsmError, ModuleSignatureError]);
  }
}
