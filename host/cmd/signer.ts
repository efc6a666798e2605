// host/cmd/signer.ts: where build and sign get their signing keys:
// `--key <signing.key>` (a development key file), or `--hsm pkcs11|soft
// --label <label>` (a key set held by the HSM; module, token and PIN from
// QENEX_PKCS11_MODULE / QENEX_PKCS11_TOKEN / QENEX_PKCS11_PIN).

import { HsmError, openHsm, parseHsmKind, type HsmDevice } from '../hsm/hsm.ts';
import { KeyError, loadSigningKey, openHsmSigner, type Signer } from '../base/keys.ts';
import { CliError, EXIT_USAGE, processIo, type CommandIo, type ParsedArgs } from './args.ts';

export const SIGNER_OPTIONS = ['key', 'hsm', 'label'] as const;

export interface OpenedSigner {
  signer: Signer;
  close(): void;
}

/** Opens the signer the arguments name, or returns null when none is named. */
export async function signerFromArgs(args: ParsedArgs, io: CommandIo): Promise<OpenedSigner | null> {
  const keyPath = args.values.get('key');
  const hsmKind = args.values.get('hsm');
  const label = args.values.get('label');
  if (keyPath !== undefined && hsmKind !== undefined) throw new CliError('give either --key or --hsm, not both', EXIT_USAGE);
  if (hsmKind === undefined) {
    if (label !== undefined) throw new CliError('--label needs --hsm pkcs11|soft', EXIT_USAGE);
    if (keyPath === undefined) return null;
    return { signer: loadSigningKey(keyPath), close: () => {} };
  }
  const hsm = await openHsmFromArgs(args, io);
  try {
    if (label === undefined) throw new CliError('--hsm needs --label <label>: the key set to sign with', EXIT_USAGE);
    return { signer: await openHsmSigner(hsm, label), close: () => hsm.close() };
  } catch (e) {
    hsm.close();
    throw e;
  }
}

/** Opens the HSM `--hsm` names; the soft token's warning goes to stderr. */
export async function openHsmFromArgs(args: ParsedArgs, io: CommandIo): Promise<HsmDevice> {
  let kind;
  try {
    kind = parseHsmKind(args.values.get('hsm'));
  } catch (e) {
    throw new CliError((e as Error).message, EXIT_USAGE);
  }
  return openHsm({ kind, notice: (line) => (io.err ?? processIo.err!)(line + '\n') });
}

export const KEY_ERRORS = [KeyError, HsmError];
