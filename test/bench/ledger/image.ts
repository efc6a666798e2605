// test/bench/ledger/image.ts: a signed bank image whose ledger holds the
// end-to-end phase's transfers, packed from build/ modules into a directory
// the caller owns (a benchmark temp dir, removed with it).
//
// images/bank/manifest.json sizes the ledger for a million transfers; the
// benchmark sends a few million, so its image raises the ledger's tables
// (and the log preallocation to match) and keeps everything else as the
// bank image has it. test/support/helpers.ts makeImage does the same for
// tests, but into a temp dir of its own that this benchmark could not
// register for cleanup.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packImage, signImage } from '../../../host/image.ts';
import { writeKeyPair } from '../../../host/base/keys.ts';
import { validateManifest, type JsonObject, type Manifest } from '../../../host/manifest.ts';
import { ROOT } from '../support.ts';

export const KERNEL_WASM = join(ROOT, 'build/kernel.wasm');
export const SERVICES_DIR = join(ROOT, 'build/services');
const BANK_MANIFEST = join(ROOT, 'images/bank/manifest.json');
const LEDGER_SERVICE = 'ledger';

export interface ImageChanges {
  ledgerConfig: JsonObject;
  /** wasm pages the ledger may use (64 KiB each). */
  ledgerMemoryPagesMax: number;
  logPreallocateBytes: number;
}

/** The bank manifest as JSON, one of its services found by name. */
interface BankManifestJson { kernel: Record<string, unknown>; services: BankService[] }
interface BankService { name: string; config?: JsonObject; memory_pages_max: number; caps?: string[] }

/**
 * images/bank/manifest.json with `edit` applied to its JSON, validated: the
 * one way the benchmarks derive an image from the bank's (`service` finds a
 * service by name, or throws naming the file).
 */
export function bankManifest(edit: (json: BankManifestJson, service: (name: string) => BankService) => void): Manifest {
  const json = JSON.parse(readFileSync(BANK_MANIFEST, 'utf8')) as BankManifestJson;
  edit(json, (name) => {
    const found = json.services.find((s) => s.name === name);
    if (found === undefined) throw new Error(`${BANK_MANIFEST}: no '${name}' service`);
    return found;
  });
  return validateManifest(json);
}

/** The bank manifest with the ledger's tables and the log preallocation changed, and the ledger also on the network. */
export function benchManifest(changes: ImageChanges): Manifest {
  return bankManifest((json, service) => {
    const ledger = service(LEDGER_SERVICE);
    ledger.config = changes.ledgerConfig;
    // The shipped image reaches the ledger only through the gateway; the
    // benchmark also measures it directly (the "net" capability), so the cost
    // of the gateway's hop shows next to it in the same run.
    const caps = ledger.caps ?? [];
    if (!caps.includes('net')) ledger.caps = ['net', ...caps];
    ledger.memory_pages_max = changes.ledgerMemoryPagesMax;
    json.kernel.log_preallocate_bytes = changes.logPreallocateBytes;
  });
}

/** Packs and signs the image into `dir`; returns the image and the public key to trust. */
export function writeBenchImage(dir: string, manifest: Manifest): { imagePath: string; pubPath: string } {
  const keys = writeKeyPair(join(dir, 'keys'));
  const services = new Map<string, Uint8Array>();
  for (const s of manifest.services) services.set(s.name, new Uint8Array(readFileSync(join(SERVICES_DIR, `${s.module}.wasm`))));
  const kernel = new Uint8Array(readFileSync(KERNEL_WASM));
  const imagePath = join(dir, 'ledger-bench.qxi');
  writeFileSync(imagePath, signImage(packImage({ manifest, kernel, services }), keys.key));
  return { imagePath, pubPath: keys.pubPath };
}
