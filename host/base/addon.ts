// host/base/addon.ts: the native addon (host/native, napi-rs), found and
// loaded once: its file name after the platform (napi-rs's naming), the
// directories it is looked for in (beside the source or the bundle), and its
// surface as the host uses it. The block backend, the log's hashing, the
// snapshots' page digests, encryption at rest and the ISO 20022 admission
// check all take it from here; each says what it does without it.

import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';

const ADDON_BINARY_NAME = 'qenex-native';

export interface NativeAddonStatus {
  available: boolean;
  reason?: string;
  file?: string;
}

// The addon's surface as this module uses it (host/native/src/lib.rs).
export interface NativeBlockFile {
  readAt(offsetBytes: number, buffer: Uint8Array): number;
  writeAt(offsetBytes: number, buffer: Uint8Array): void;
  writeDurable(offsetBytes: number, buffer: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  preallocate(lengthBytes: number): Promise<void>;
  truncate(lengthBytes: number): Promise<void>;
  size(): number;
  close(): void;
}

export interface NativeAddon {
  BlockFile: { open(path: string, options: { create: boolean; lock: boolean; readOnly: boolean }): NativeBlockFile };
  /** The command log's hashing (host/native/src/chain.rs); absent in an addon built before it. */
  logChain?(region: Uint8Array, prev: Uint8Array, out: Uint8Array, seal: boolean): number;
  /** Page digests of incremental snapshots (host/native/src/pages.rs); absent in an addon built before them. */
  pageDigests?(memory: Uint8Array, skipFrom: number, skipTo: number, out: Uint8Array, threads: number): void;
  /** Encryption at rest's primitives (host/native/src/seal.rs); absent in an addon built before them. */
  aesGcmSeal?(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array, out: Uint8Array): void;
  aesGcmOpen?(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean;
  hmacSha256?(key: Uint8Array, message: Uint8Array, out: Uint8Array): void;
  /** The ISO 20022 admission check (host/native/src/xml.rs); absent in an addon built before it. */
  IsoSchemaSet?: new () => NativeIsoSchemaSet;
}

/** XSDs compiled by libxml2, keyed by target namespace (host/native/src/xml.rs). */
export interface NativeIsoSchemaSet {
  /** Compiles one XSD; returns its target namespace. Throws for a bad or duplicate schema. */
  add(xsd: Uint8Array): string;
  namespaces(): string[];
  /** Checks one message; never throws for anything the message does. */
  validate(message: Uint8Array, bytesMax: number, depthMax: number, errorsMax: number): NativeIsoVerdict;
}

export interface NativeIsoVerdict {
  ok: boolean;
  definition?: string;
  documentNamespace?: string;
  wrapped: boolean;
  headerNamespace?: string;
  errors: string[];
}

/** The loaded native addon, or null when it is not available here (the same search as the block backend's). */
export function nativeAddon(): NativeAddon | null {
  return probeAddon(defaultSearchDirs()).addon ?? null;
}

// ---- native addon loader ----

export interface AddonProbe {
  status: NativeAddonStatus;
  addon?: NativeAddon;
}

const probes = new Map<string, AddonProbe>();

// This module runs from host/base/ (tsx, tests) or bundled into
// dist/qenex.js (esbuild, format esm), so the addon is in ../native from the
// source, or ../host/native or native/ next to the bundle; the fuzz bundle
// (build/fuzz/worker.mjs, fuzz/build.ts) finds it in ../../host/native.
export function defaultSearchDirs(): string[] {
  const here = nodePath.dirname(fileURLToPath(import.meta.url));
  const dirs = [
    nodePath.join(here, '..', 'native'),
    nodePath.join(here, '..', 'host', 'native'),
    nodePath.join(here, 'native'),
    nodePath.join(here, '..', '..', 'host', 'native'),
  ];
  return [...new Set(dirs.map((dir) => nodePath.resolve(dir)))];
}

export function probeAddon(searchDirs: readonly string[]): AddonProbe {
  const key = searchDirs.join('\0');
  let probe = probes.get(key);
  if (probe === undefined) {
    probe = loadAddon(searchDirs);
    probes.set(key, probe);
  }
  return probe;
}

function loadAddon(searchDirs: readonly string[]): AddonProbe {
  const fileName = `${ADDON_BINARY_NAME}.${platformTag()}.node`;
  const file = searchDirs.map((dir) => nodePath.join(dir, fileName)).find((candidate) => fs.existsSync(candidate));
  if (file === undefined) {
    const reason = `native block addon ${fileName} not found for ${platformTag()} (looked in ${searchDirs.join(', ')})`;
    return { status: { available: false, reason } };
  }
  try {
    const addon = createRequire(import.meta.url)(file) as Partial<NativeAddon>;
    if (typeof addon?.BlockFile?.open !== 'function') {
      return { status: { available: false, reason: `native block addon ${file} has no BlockFile.open`, file } };
    }
    return { status: { available: true, file }, addon: addon as NativeAddon };
  } catch (err) {
    const reason = `native block addon ${file} failed to load (${(err as Error).message.split('\n')[0]})`;
    return { status: { available: false, reason, file } };
  }
}

// napi-rs names the binary `<name>.<platform>-<arch>[-<abi>].node`:
// linux-x64-gnu, linux-arm64-musl, darwin-arm64, win32-x64-msvc.
function platformTag(): string {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function isMusl(): boolean {
  // The C library's shared object among those this process mapped says it
  // cheaply; Node's report (~5 ms of every boot) only when they do not: it
  // gives the glibc it runs on, and a musl build has none to give.
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'latin1');
    if (/\/libc\.so\.6$/m.test(maps)) return false;
    if (/\/ld-musl-[^/\n]*\.so/.test(maps)) return true;
  } catch {
    // no /proc: the report decides
  }
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime === undefined;
}
