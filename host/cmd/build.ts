// host/cmd/build.ts: `qenex build`, pack an image directory into a .qxi.
//
// Reads <image-dir>/manifest.json, the kernel and one module per service
// from the modules directory, checks each is valid WebAssembly and that
// service modules import only the syscall module "qenex", prepares each
// service module (host/fuel.ts: fuel counter, exported globals, memory
// limit) so the image carries and its signatures cover the code that runs,
// packs them, signs if a key is given, reads the result back (and verifies
// the signature) and only then writes the file, atomically.

import { statSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ImageError, openImage, packImage, parseImage, signImageWith, writeImageFile, type ParsedImage } from '../image.ts';
import { KeyError } from '../base/keys.ts';
import { HsmError } from '../hsm/hsm.ts';
import { SIGNER_OPTIONS, signerFromArgs } from './signer.ts';
import * as limits from '../base/limits.ts';
import { ManifestError, loadManifestFile, type Manifest } from '../manifest.ts';
import { ModuleRefused, prepareImageServices } from '../fuel.ts';
import { CliError, EXIT_USAGE, asCliError, parseArgs, processIo, type CommandIo } from './args.ts';

export const USAGE = `usage: qenex build <image-dir> -o <file.qxi> [--key <signing.key> | --hsm pkcs11|soft --label <label>] [--modules <dir>]

Packs <image-dir>/manifest.json, <modules>/kernel.wasm and
<modules>/services/<module>.wasm for every service into one image file.
Service modules are packed prepared (fuel counter, exported globals, memory
limit), so what the signatures cover is what runs.

options:
  -o, --output <file.qxi>  the image to write (replaced atomically)
  --key <signing.key>      sign the image (ECDSA P-384 + ML-DSA-65) with this key set
  --hsm <kind>             sign with an HSM-held key set instead (pkcs11 or soft)
  --label <label>          the HSM key set's label
  --modules <dir>          where the compiled modules are (default: build/)`;

// The only import module a service may use: the syscall ABI.
export const SYSCALL_MODULE = 'qenex';
const MODULES_DIR_DEFAULT = 'build';

/** `who` names the module in errors: "kernel" or "service 'echo'". */
function readModule(path: string, who: string): Uint8Array<ArrayBuffer> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${who}: module file ${path} not found`);
    throw new CliError(`${who}: cannot read module file ${path}: ${(e as Error).message}`);
  }
  if (size > limits.IMAGE_BYTES_MAX) throw new CliError(`${who}: ${path} is ${size} bytes, over IMAGE_BYTES_MAX`);
  const bytes = new Uint8Array(readFileSync(path));
  if (!WebAssembly.validate(bytes)) throw new CliError(`${who}: ${path} is not a valid WebAssembly module`);
  return bytes;
}

/** Refuses any import outside the syscall module; compiles, never instantiates. */
function checkServiceImports(bytes: Uint8Array<ArrayBuffer>, path: string, who: string): void {
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
  for (const imp of imports) {
    if (imp.module !== SYSCALL_MODULE) {
      throw new CliError(
        `${who}: ${path} imports ${JSON.stringify(imp.module)}.${JSON.stringify(imp.name)} (${imp.kind}); ` +
        `services may import only from module "${SYSCALL_MODULE}"`,
      );
    }
  }
}

function readServices(manifest: Manifest, modulesDir: string): Map<string, Uint8Array> {
  const services = new Map<string, Uint8Array>();
  for (const service of manifest.services) {
    const who = `service '${service.name}'`;
    const path = join(modulesDir, 'services', `${service.module}.wasm`);
    const bytes = readModule(path, who);
    checkServiceImports(bytes, path, who);
    services.set(service.name, bytes);
  }
  return services;
}

function summary(out: string, image: Uint8Array, parsed: ParsedImage): string {
  const m = parsed.manifest;
  const signers = parsed.signatures.map((s) => `${s.algorithm} key ${s.keyIdHex}`).join(', ');
  const prepared = parsed.prepared == null ? '' : `services prepared by ${parsed.prepared.instrumenter}, `;
  return `built ${out}: ${m.name} v${m.version}, ${m.services.length} service(s), ${image.length} bytes, ` +
    `digest ${parsed.digestHex}, ${prepared}${signers === '' ? 'unsigned' : `signed by ${signers}`}`;
}

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, {
    values: ['output', 'modules', ...SIGNER_OPTIONS],
    aliases: { o: 'output' },
    positionals: { min: 1, max: 1, names: ['<image-dir>'] },
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const out = args.values.get('output');
  if (out === undefined) throw new CliError('missing -o <file.qxi>', EXIT_USAGE);
  try {
    const manifest = loadManifestFile(join(args.positionals[0], 'manifest.json'));
    const opened = await signerFromArgs(args, io);
    let image: Uint8Array;
    let parsed: ParsedImage;
    try {
      const modulesDir = resolve(args.values.get('modules') ?? MODULES_DIR_DEFAULT);
      const kernel = readModule(join(modulesDir, 'kernel.wasm'), 'kernel');
      const prepared = await prepareImageServices(manifest.services, readServices(manifest, modulesDir));
      const unsigned = packImage({ manifest, kernel, ...prepared });
      image = opened === null ? unsigned : await signImageWith(unsigned, opened.signer);
      // Read back exactly what will be written, as the loader will.
      parsed = opened === null ? parseImage(image) : openImage(image, opened.signer.publicKeys);
    } finally {
      opened?.close();
    }
    writeImageFile(out, image);
    io.out(summary(out, image, parsed));
    return 0;
  } catch (e) {
    throw asCliError(e, [ImageError, KeyError, HsmError, ManifestError, ModuleRefused]);
  }
}
