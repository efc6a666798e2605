// host/image.ts: the QENEX image file (.qxi): pack, sign, parse, verify.
//
// An image is everything a QENEX machine boots: the manifest, the kernel and
// one module per service, bound together by SHA-256 digests and signed. The
// loader calls `openImage(bytes, trusted)` (or `parseImage` then
// `verifyImage`) and instantiates nothing unless that returns; the returned
// section bytes are private copies, so what was hashed is what runs.
//
// # Byte layout (all integers little-endian)
//
// Header, IMAGE_HEADER_BYTES = 24:
//   +0   u8[4]   magic "QXI1"
//   +4   u16     format version, 1
//   +6   u16     section count N (IMAGE_SECTIONS_MIN..IMAGE_SECTIONS_MAX)
//   +8   u32     table bytes, N * TABLE_ENTRY_BYTES
//   +12  u32     body bytes: header + table + all section data; the
//                signature block starts at this offset
//   +16  u32     flags: bit 0 PREPARED (below); a reader refuses any bit it
//                does not know
//   +20  u32     reserved, 0
//
// Section table, N entries of TABLE_ENTRY_BYTES = 112, right after the header:
//   +0   u8      name length (1..SECTION_NAME_BYTES_MAX)
//   +1   u8[3]   reserved, 0
//   +4   u32     offset of the section data from the start of the image
//   +8   u32     length of the section data
//   +12  u32     reserved, 0
//   +16  u8[32]  SHA-256 of the section data
//   +48  u8[64]  name, printable ASCII, zero padded
//
// Section data follows the table, contiguous and in table order (no gaps, no
// overlaps). The sections are, in this order:
//   "manifest"        the canonical manifest JSON (JSON.stringify of the
//                     validated manifest; any other spelling is refused)
//   "kernel"          kernel.wasm
//   "service:<name>"  one per manifest service, in manifest order: its module
//   "prepared"        only with flag PREPARED, last: how the service modules
//                     were prepared (below)
//
// # Prepared images (flag PREPARED, bit 0)
//
// `qenex build` prepares each service module (host/fuel.ts: the fuel
// counter, the exported globals, the memory limit of its manifest entry)
// and packs the prepared module, so the signatures cover exactly the code
// that runs and boot needs no instrumenter. The "prepared" section is the
// canonical JSON (JSON.stringify, keys in this order)
//   {"instrumentation":1,"instrumenter":"qenex-fuel/1 binaryen/…",
//    "services":[{"name":"ledger","source_sha256":"<64 hex>"},…]}
// naming the instrumentation ABI the host must speak (host/fuel.ts
// INSTRUMENTATION_ABI), the tool that prepared them, and per service, in
// manifest order, the SHA-256 of the module before preparation, so anyone
// can prepare that module again and compare. Without the flag the sections
// hold modules as compiled and the host prepares them when it boots.
//
// Signature block, at offset `body bytes`:
//   +0   u8[4]   magic "QXS1"
//   +4   u16     signature count M (0..IMAGE_SIGNATURES_MAX)
//   +6   u16     reserved, 0
//   then M signatures:
//   +0   u16     algorithm id: 1 Ed25519, 2 ECDSA P-384, 3 ML-DSA-65 (host/base/keys.ts)
//   +2   u16     signature length L (1..SIGNATURE_BYTES_MAX; 96 P-384, 3309 ML-DSA-65)
//   +4   u8[16]  key id: first 16 bytes of SHA-256 of the raw public key
//   +20  u8[L]   signature
// The image ends exactly after the last signature.
//
// # What is signed
//
// The image digest is SHA-256 over header + section table. The table holds
// every section's SHA-256, so the digest covers every byte before the
// signature block. Each signature is over SIGNING_CONTEXT || digest; the
// fixed context keeps an image signature from ever being valid for another
// kind of 32-byte message signed with the same key.

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { writeFileDurably } from './base/durable.ts';
import * as limits from './base/limits.ts';
import {
  ALGORITHM_TITLES, KEY_ID_BYTES, REQUIRED_ALGORITHMS, SIGNATURE_ALGORITHMS, algorithmName, verifyMessage,
  type PublicKey, type Signature, type SignatureAlgorithm, type Signer, type SigningKey,
} from './base/keys.ts';
import { ManifestError, validateManifest, type Manifest } from './manifest.ts';

export class ImageError extends Error {
  override name = 'ImageError';
}

export const IMAGE_MAGIC = 'QXI1';
export const SIGNATURE_MAGIC = 'QXS1';
export const IMAGE_FORMAT_VERSION = 1;
export const IMAGE_HEADER_BYTES = 24;
export const TABLE_ENTRY_BYTES = 112;
export const SIGNATURE_BLOCK_HEADER_BYTES = 8;
export const SIGNATURE_ENTRY_HEADER_BYTES = 4 + KEY_ID_BYTES;
export const SIGNING_CONTEXT = 'QENEX image v1\0';
const SHA256_BYTES = 32;
const ENTRY_NAME_OFFSET = 48;
const SERVICE_PREFIX = 'service:';
/** Header flag: the service sections hold prepared modules; a "prepared" section says how. */
export const IMAGE_FLAG_PREPARED = 1;
const IMAGE_FLAGS_KNOWN = IMAGE_FLAG_PREPARED;
export const PREPARED_SECTION = 'prepared';
const INSTRUMENTER_BYTES_MAX = 128;

// Fixed signature lengths, checked at parse time; null = variable length.
const SIGNATURE_BYTES: Record<SignatureAlgorithm, number | null> = {
  'ed25519': 64,
  'ecdsa-p384': 96, // r || s (IEEE P1363)
  'ml-dsa-65': 3309,
};

export interface ImageContents {
  manifest: Manifest;
  manifestBytes: Uint8Array;
  kernel: Uint8Array;
  services: Map<string, Uint8Array>;
}

/** The "prepared" section of an image whose service modules were prepared at build (flag PREPARED). */
export interface PreparedInfo {
  /** The instrumentation ABI (host/fuel.ts INSTRUMENTATION_ABI) the modules were prepared for. */
  instrumentation: number;
  /** The tool that prepared them, e.g. "qenex-fuel/1 binaryen/131.0.0-nightly.20260721". */
  instrumenter: string;
  /** Per service, in manifest order: SHA-256 (hex) of its module before preparation. */
  services: { name: string; source_sha256: string }[];
}

export interface SectionInfo {
  name: string;
  offset: number;
  length: number;
  sha256Hex: string;
}

export interface SignatureInfo {
  algorithm: string;
  keyIdHex: string;
  /** null until verifyImage; then true/false for keys it trusts, null for others. */
  valid: boolean | null;
}

export interface ParsedImage extends ImageContents {
  digestHex: string;
  /** Set when the service modules were prepared at build (flag PREPARED); absent or null: the host prepares them. */
  prepared?: PreparedInfo | null;
  sections: SectionInfo[];
  signatures: SignatureInfo[];
}

interface RawSignature {
  algorithmId: number;
  algorithm: SignatureAlgorithm;
  keyIdHex: string;
  signature: Uint8Array;
}

// What parseImage learned that verifyImage and signImage need. Kept out of
// ParsedImage so only objects made by parseImage can be verified.
interface ParseState {
  digest: Uint8Array;
  bodyBytes: number;
  signatures: RawSignature[];
}
const parseStates = new WeakMap<ParsedImage, ParseState>();

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The message every signature covers: SIGNING_CONTEXT || digest. */
function signedMessage(digest: Uint8Array): Uint8Array {
  const context = new TextEncoder().encode(SIGNING_CONTEXT);
  const message = new Uint8Array(context.length + digest.length);
  message.set(context, 0);
  message.set(digest, context.length);
  return message;
}

// ---------------------------------------------------------------- packing

interface SectionInput {
  name: string;
  data: Uint8Array;
}

/** What packImage takes; `prepared` (from host/fuel.ts prepareImageServices) makes a prepared image. */
export interface PackInput {
  manifest: Manifest;
  kernel: Uint8Array;
  services: Map<string, Uint8Array>;
  prepared?: PreparedInfo;
}

function sectionInputs(c: PackInput): {
  manifest: Manifest;
  sections: SectionInput[];
} {
  let manifest: Manifest;
  try {
    manifest = validateManifest(c.manifest);
  } catch (e) {
    if (e instanceof ManifestError) throw new ImageError(`cannot pack: ${e.message}`);
    throw e;
  }
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
  if (manifestBytes.length > limits.MANIFEST_BYTES_MAX) {
    throw new ImageError(`cannot pack: manifest is ${manifestBytes.length} bytes, over MANIFEST_BYTES_MAX (${limits.MANIFEST_BYTES_MAX})`);
  }
  const sections: SectionInput[] = [
    { name: 'manifest', data: manifestBytes },
    { name: 'kernel', data: c.kernel },
  ];
  for (const service of manifest.services) {
    const data = c.services.get(service.name);
    if (data === undefined) throw new ImageError(`cannot pack: no module bytes for service '${service.name}'`);
    sections.push({ name: SERVICE_PREFIX + service.name, data });
  }
  for (const name of c.services.keys()) {
    if (!manifest.services.some((s) => s.name === name)) {
      throw new ImageError(`cannot pack: module bytes given for '${name}', which the manifest does not list`);
    }
  }
  if (c.prepared !== undefined) {
    const data = new TextEncoder().encode(JSON.stringify(c.prepared));
    try {
      readPrepared(data, manifest); // the same checks a reader makes, canonical form included
    } catch (e) {
      if (e instanceof ImageError) throw new ImageError(`cannot pack: ${e.message}`);
      throw e;
    }
    sections.push({ name: PREPARED_SECTION, data });
  }
  return { manifest, sections };
}

/** Packs an unsigned image (an empty signature block); prepared when `c.prepared` is given. */
export function packImage(c: PackInput): Uint8Array {
  const { sections } = sectionInputs(c);
  const tableBytes = sections.length * TABLE_ENTRY_BYTES;
  let bodyBytes = IMAGE_HEADER_BYTES + tableBytes;
  for (const s of sections) bodyBytes += s.data.length;
  const totalBytes = bodyBytes + SIGNATURE_BLOCK_HEADER_BYTES;
  if (totalBytes > limits.IMAGE_BYTES_MAX) {
    throw new ImageError(`cannot pack: image would be ${totalBytes} bytes, over IMAGE_BYTES_MAX (${limits.IMAGE_BYTES_MAX})`);
  }
  if (sections.length > limits.IMAGE_SECTIONS_MAX) {
    throw new ImageError(`cannot pack: ${sections.length} sections, over IMAGE_SECTIONS_MAX (${limits.IMAGE_SECTIONS_MAX})`);
  }
  const out = new Uint8Array(totalBytes);
  const dv = view(out);
  out.set(new TextEncoder().encode(IMAGE_MAGIC), 0);
  dv.setUint16(4, IMAGE_FORMAT_VERSION, true);
  dv.setUint16(6, sections.length, true);
  dv.setUint32(8, tableBytes, true);
  dv.setUint32(12, bodyBytes, true);
  dv.setUint32(16, c.prepared === undefined ? 0 : IMAGE_FLAG_PREPARED, true);
  let offset = IMAGE_HEADER_BYTES + tableBytes;
  sections.forEach((s, i) => {
    const entry = IMAGE_HEADER_BYTES + i * TABLE_ENTRY_BYTES;
    const name = new TextEncoder().encode(s.name);
    out[entry] = name.length;
    dv.setUint32(entry + 4, offset, true);
    dv.setUint32(entry + 8, s.data.length, true);
    out.set(sha256(s.data), entry + 16);
    out.set(name, entry + ENTRY_NAME_OFFSET);
    out.set(s.data, offset);
    offset += s.data.length;
  });
  if (offset !== bodyBytes) throw new Error('packImage: section layout does not add up');
  out.set(encodeSignatureBlock([]), bodyBytes);
  return out;
}

function encodeSignatureBlock(signatures: RawSignature[]): Uint8Array {
  let size = SIGNATURE_BLOCK_HEADER_BYTES;
  for (const s of signatures) size += SIGNATURE_ENTRY_HEADER_BYTES + s.signature.length;
  const out = new Uint8Array(size);
  const dv = view(out);
  out.set(new TextEncoder().encode(SIGNATURE_MAGIC), 0);
  dv.setUint16(4, signatures.length, true);
  let at = SIGNATURE_BLOCK_HEADER_BYTES;
  for (const s of signatures) {
    dv.setUint16(at, s.algorithmId, true);
    dv.setUint16(at + 2, s.signature.length, true);
    out.set(Buffer.from(s.keyIdHex, 'hex'), at + 4);
    out.set(s.signature, at + SIGNATURE_ENTRY_HEADER_BYTES);
    at += SIGNATURE_ENTRY_HEADER_BYTES + s.signature.length;
  }
  return out;
}

/** The message an image's signatures cover; parses (checks every digest) first. */
export function imageSigningMessage(image: Uint8Array): Uint8Array {
  const parsed = parseImage(image);
  return signedMessage(parseStates.get(parsed)!.digest);
}

/**
 * Returns a copy of `image` with both signatures of `key` (ECDSA P-384 and
 * ML-DSA-65) added. The image is parsed (every digest checked) first; a
 * signature by the same key is replaced, so re-signing is idempotent in count.
 */
export function signImage(image: Uint8Array, key: SigningKey): Uint8Array {
  return addSignatures(image, key.signAllSync(imageSigningMessage(image)));
}

/** signImage for any Signer, an HSM-held key set included. */
export async function signImageWith(image: Uint8Array, signer: Signer): Promise<Uint8Array> {
  return addSignatures(image, await signer.signAll(imageSigningMessage(image)));
}

/** Adds (or replaces, by key id) `signatures` in the signature block of `image`. */
export function addSignatures(image: Uint8Array, signatures: readonly Signature[]): Uint8Array {
  const parsed = parseImage(image);
  const state = parseStates.get(parsed)!;
  const replaced = new Set(signatures.map((s) => s.keyIdHex));
  const kept: RawSignature[] = state.signatures.filter((s) => !replaced.has(s.keyIdHex));
  if (kept.length + signatures.length > limits.IMAGE_SIGNATURES_MAX) {
    throw new ImageError(`image already has ${kept.length} signatures; ${signatures.length} more would pass the most allowed (IMAGE_SIGNATURES_MAX = ${limits.IMAGE_SIGNATURES_MAX})`);
  }
  for (const s of signatures) {
    const expected = SIGNATURE_BYTES[s.algorithm];
    if (expected !== null && s.signature.length !== expected) {
      throw new ImageError(`${s.algorithm} signature is ${s.signature.length} bytes, expected ${expected}`);
    }
    kept.push({ algorithmId: SIGNATURE_ALGORITHMS[s.algorithm], algorithm: s.algorithm, keyIdHex: s.keyIdHex, signature: s.signature });
  }
  const block = encodeSignatureBlock(kept);
  const totalBytes = state.bodyBytes + block.length;
  if (totalBytes > limits.IMAGE_BYTES_MAX) {
    throw new ImageError(`signed image would be ${totalBytes} bytes, over IMAGE_BYTES_MAX (${limits.IMAGE_BYTES_MAX})`);
  }
  const out = new Uint8Array(totalBytes);
  out.set(image.subarray(0, state.bodyBytes), 0);
  out.set(block, state.bodyBytes);
  return out;
}

// ---------------------------------------------------------------- parsing

interface Header {
  sectionCount: number;
  tableBytes: number;
  bodyBytes: number;
  flags: number;
}

function readHeader(bytes: Uint8Array): Header {
  if (bytes.length > limits.IMAGE_BYTES_MAX) {
    throw new ImageError(`image is ${bytes.length} bytes, over IMAGE_BYTES_MAX (${limits.IMAGE_BYTES_MAX})`);
  }
  if (bytes.length < IMAGE_HEADER_BYTES) {
    throw new ImageError(`image truncated: ${bytes.length} bytes, the header alone needs ${IMAGE_HEADER_BYTES}`);
  }
  const magic = Buffer.from(bytes.subarray(0, 4)).toString('latin1');
  if (magic !== IMAGE_MAGIC) throw new ImageError(`not a QENEX image: magic ${JSON.stringify(magic)}, expected "${IMAGE_MAGIC}"`);
  const dv = view(bytes);
  const version = dv.getUint16(4, true);
  if (version !== IMAGE_FORMAT_VERSION) {
    throw new ImageError(`unsupported image format version ${version} (this host reads version ${IMAGE_FORMAT_VERSION})`);
  }
  const header: Header = {
    sectionCount: dv.getUint16(6, true),
    tableBytes: dv.getUint32(8, true),
    bodyBytes: dv.getUint32(12, true),
    flags: dv.getUint32(16, true),
  };
  const unknown = (header.flags & ~IMAGE_FLAGS_KNOWN) >>> 0;
  if (unknown !== 0) throw new ImageError(`header: unknown flags 0x${unknown.toString(16)} (a format feature this host does not know)`);
  if (dv.getUint32(20, true) !== 0) throw new ImageError('header: reserved field at offset 20 must be 0');
  const { sectionCount, tableBytes } = header;
  if (sectionCount < limits.IMAGE_SECTIONS_MIN || sectionCount > limits.IMAGE_SECTIONS_MAX) {
    throw new ImageError(`header: section count ${sectionCount} is out of range ${limits.IMAGE_SECTIONS_MIN}..${limits.IMAGE_SECTIONS_MAX}`);
  }
  if (tableBytes !== sectionCount * TABLE_ENTRY_BYTES) {
    throw new ImageError(`header: table bytes ${tableBytes} do not match ${sectionCount} sections of ${TABLE_ENTRY_BYTES} bytes`);
  }
  if (bytes.length < IMAGE_HEADER_BYTES + tableBytes) {
    throw new ImageError(`image truncated: ${bytes.length} bytes, the section table ends at ${IMAGE_HEADER_BYTES + tableBytes}`);
  }
  return header;
}

interface RawSection {
  name: string;
  offset: number;
  length: number;
  sha256: Uint8Array;
}

function readSectionName(bytes: Uint8Array, entry: number, index: number): string {
  const nameLength = bytes[entry];
  if (nameLength < 1 || nameLength > limits.SECTION_NAME_BYTES_MAX) {
    throw new ImageError(`section table: entry ${index}: name length ${nameLength} is out of range 1..${limits.SECTION_NAME_BYTES_MAX}`);
  }
  const field = bytes.subarray(entry + ENTRY_NAME_OFFSET, entry + ENTRY_NAME_OFFSET + limits.SECTION_NAME_BYTES_MAX);
  for (let i = 0; i < field.length; i++) {
    const printable = field[i] >= 0x21 && field[i] <= 0x7e;
    if (i < nameLength && !printable) throw new ImageError(`section table: entry ${index}: name byte ${i} is not printable ASCII`);
    if (i >= nameLength && field[i] !== 0) throw new ImageError(`section table: entry ${index}: name padding byte ${i} must be 0`);
  }
  return Buffer.from(field.subarray(0, nameLength)).toString('latin1');
}

/** Reads the table and checks the sections tile the body exactly. */
function readTable(bytes: Uint8Array, header: Header): RawSection[] {
  const dv = view(bytes);
  const sections: RawSection[] = [];
  let expectedOffset = IMAGE_HEADER_BYTES + header.tableBytes;
  for (let i = 0; i < header.sectionCount; i++) {
    const entry = IMAGE_HEADER_BYTES + i * TABLE_ENTRY_BYTES;
    const name = readSectionName(bytes, entry, i);
    if (bytes[entry + 1] !== 0 || bytes[entry + 2] !== 0 || bytes[entry + 3] !== 0 || dv.getUint32(entry + 12, true) !== 0) {
      throw new ImageError(`section table: entry ${i} ('${name}'): reserved bytes must be 0`);
    }
    if (sections.some((s) => s.name === name)) throw new ImageError(`section table: entry ${i}: duplicate section '${name}'`);
    const offset = dv.getUint32(entry + 4, true);
    const length = dv.getUint32(entry + 8, true);
    if (offset !== expectedOffset) {
      throw new ImageError(`section table: section '${name}' starts at ${offset}, expected ${expectedOffset} (sections are contiguous)`);
    }
    expectedOffset += length;
    if (expectedOffset > limits.IMAGE_BYTES_MAX) {
      throw new ImageError(`section table: section '${name}' ends at ${expectedOffset}, beyond IMAGE_BYTES_MAX (${limits.IMAGE_BYTES_MAX})`);
    }
    sections.push({ name, offset, length, sha256: bytes.slice(entry + 16, entry + 16 + SHA256_BYTES) });
  }
  if (expectedOffset !== header.bodyBytes) {
    throw new ImageError(`header: body bytes ${header.bodyBytes}, but the sections end at ${expectedOffset}`);
  }
  for (const s of sections) {
    if (s.offset + s.length > bytes.length) {
      throw new ImageError(`image truncated: ${bytes.length} bytes, section '${s.name}' ends at ${s.offset + s.length}`);
    }
  }
  return sections;
}

function readSignatureBlock(bytes: Uint8Array, bodyBytes: number): RawSignature[] {
  if (bytes.length < bodyBytes + SIGNATURE_BLOCK_HEADER_BYTES) {
    throw new ImageError(`image truncated: ${bytes.length} bytes, the signature block header ends at ${bodyBytes + SIGNATURE_BLOCK_HEADER_BYTES}`);
  }
  const dv = view(bytes);
  const magic = Buffer.from(bytes.subarray(bodyBytes, bodyBytes + 4)).toString('latin1');
  if (magic !== SIGNATURE_MAGIC) {
    throw new ImageError(`signature block: magic ${JSON.stringify(magic)}, expected "${SIGNATURE_MAGIC}"`);
  }
  const count = dv.getUint16(bodyBytes + 4, true);
  if (dv.getUint16(bodyBytes + 6, true) !== 0) throw new ImageError('signature block: reserved field must be 0');
  if (count > limits.IMAGE_SIGNATURES_MAX) {
    throw new ImageError(`signature block: ${count} signatures, over IMAGE_SIGNATURES_MAX (${limits.IMAGE_SIGNATURES_MAX})`);
  }
  const signatures: RawSignature[] = [];
  let at = bodyBytes + SIGNATURE_BLOCK_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (bytes.length < at + SIGNATURE_ENTRY_HEADER_BYTES) {
      throw new ImageError(`image truncated: ${bytes.length} bytes, signature ${i} header ends at ${at + SIGNATURE_ENTRY_HEADER_BYTES}`);
    }
    const signature = readSignature(bytes, at, i);
    if (signatures.some((s) => s.keyIdHex === signature.keyIdHex)) {
      throw new ImageError(`signature block: signature ${i}: a second signature by key ${signature.keyIdHex}`);
    }
    signatures.push(signature);
    at += SIGNATURE_ENTRY_HEADER_BYTES + signature.signature.length;
  }
  if (at !== bytes.length) throw new ImageError(`image has ${bytes.length - at} unexpected bytes after the signature block`);
  return signatures;
}

function readSignature(bytes: Uint8Array, at: number, index: number): RawSignature {
  const dv = view(bytes);
  const algorithmId = dv.getUint16(at, true);
  const length = dv.getUint16(at + 2, true);
  const algorithm = algorithmName(algorithmId);
  if (algorithm === null) throw new ImageError(`signature block: signature ${index}: unknown algorithm id ${algorithmId}`);
  const expected = SIGNATURE_BYTES[algorithm];
  if (length < 1 || length > limits.SIGNATURE_BYTES_MAX || (expected !== null && length !== expected)) {
    const wanted = expected ?? `1..${limits.SIGNATURE_BYTES_MAX}`;
    throw new ImageError(`signature block: signature ${index} (${algorithm}): ${length} bytes, expected ${wanted}`);
  }
  const start = at + SIGNATURE_ENTRY_HEADER_BYTES;
  if (bytes.length < start + length) {
    throw new ImageError(`image truncated: ${bytes.length} bytes, signature ${index} ends at ${start + length}`);
  }
  return {
    algorithmId,
    algorithm,
    keyIdHex: hex(bytes.subarray(at + 4, at + 4 + KEY_ID_BYTES)),
    signature: bytes.slice(start, start + length),
  };
}

/** Copies every section out and checks it against its table digest. */
function readSectionData(bytes: Uint8Array, sections: RawSection[]): Uint8Array[] {
  return sections.map((s) => {
    const data = bytes.slice(s.offset, s.offset + s.length);
    const actual = sha256(data);
    if (!equalBytes(actual, s.sha256)) {
      throw new ImageError(`section '${s.name}' digest mismatch: table says ${hex(s.sha256)}, content is ${hex(actual)}`);
    }
    return data;
  });
}

function readManifest(data: Uint8Array): Manifest {
  if (data.length > limits.MANIFEST_BYTES_MAX) {
    throw new ImageError(`section 'manifest': ${data.length} bytes, over MANIFEST_BYTES_MAX (${limits.MANIFEST_BYTES_MAX})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (e) {
    throw new ImageError(`section 'manifest': not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  let manifest: Manifest;
  try {
    manifest = validateManifest(json);
  } catch (e) {
    if (e instanceof ManifestError) throw new ImageError(`section 'manifest': ${e.message}`);
    throw e;
  }
  // One manifest has one spelling in an image, so equal images have equal
  // digests and nothing can hide in whitespace or duplicate keys.
  if (!equalBytes(new TextEncoder().encode(JSON.stringify(manifest)), data)) {
    throw new ImageError("section 'manifest': not in canonical form (JSON.stringify of the validated manifest)");
  }
  return manifest;
}

/**
 * Reads and checks the "prepared" section: exactly the three keys, a
 * positive integer ABI, a short printable instrumenter, one entry per
 * manifest service in manifest order with a SHA-256 in lowercase hex, and
 * the canonical spelling (so equal images have equal digests).
 */
function readPrepared(data: Uint8Array, manifest: Manifest): PreparedInfo {
  const where = `section '${PREPARED_SECTION}'`;
  if (data.length > limits.MANIFEST_BYTES_MAX) throw new ImageError(`${where}: ${data.length} bytes, over MANIFEST_BYTES_MAX (${limits.MANIFEST_BYTES_MAX})`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (e) {
    throw new ImageError(`${where}: not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  const o = json as Partial<PreparedInfo> | null;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new ImageError(`${where}: not a JSON object`);
  const keys = Object.keys(o).join(',');
  if (keys !== 'instrumentation,instrumenter,services') throw new ImageError(`${where}: keys are ${keys || '(none)'}, expected instrumentation, instrumenter, services`);
  if (!Number.isSafeInteger(o.instrumentation) || o.instrumentation! < 1) throw new ImageError(`${where}: instrumentation must be a positive integer`);
  if (typeof o.instrumenter !== 'string' || !new RegExp(`^[\\x20-\\x7e]{1,${INSTRUMENTER_BYTES_MAX}}$`).test(o.instrumenter)) {
    throw new ImageError(`${where}: instrumenter must be 1..${INSTRUMENTER_BYTES_MAX} printable ASCII characters`);
  }
  if (!Array.isArray(o.services) || o.services.length !== manifest.services.length) {
    throw new ImageError(`${where}: services must list the manifest's ${manifest.services.length} service(s)`);
  }
  const services = o.services.map((s: unknown, i) => {
    const e = s as { name?: unknown; source_sha256?: unknown } | null;
    const name = manifest.services[i].name;
    if (e === null || typeof e !== 'object' || Object.keys(e).join(',') !== 'name,source_sha256' || e.name !== name) {
      throw new ImageError(`${where}: services[${i}] must be {"name":"${name}","source_sha256":…} (manifest order)`);
    }
    if (typeof e.source_sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.source_sha256)) {
      throw new ImageError(`${where}: services[${i}] (${name}): source_sha256 must be 64 lowercase hex digits`);
    }
    return { name, source_sha256: e.source_sha256 };
  });
  const info: PreparedInfo = { instrumentation: o.instrumentation!, instrumenter: o.instrumenter, services };
  if (!equalBytes(new TextEncoder().encode(JSON.stringify(info)), data)) {
    throw new ImageError(`${where}: not in canonical form (JSON.stringify, keys in the documented order)`);
  }
  return info;
}

function checkSectionNames(sections: RawSection[], manifest: Manifest, prepared: boolean): void {
  const expected = ['manifest', 'kernel', ...manifest.services.map((s) => SERVICE_PREFIX + s.name)];
  if (prepared) expected.push(PREPARED_SECTION);
  if (sections.length !== expected.length) {
    throw new ImageError(`section table: ${sections.length} sections, the manifest needs ${expected.length} (${expected.join(', ')})`);
  }
  for (let i = 0; i < expected.length; i++) {
    if (sections[i].name !== expected[i]) {
      throw new ImageError(`section table: entry ${i} is '${sections[i].name}', expected '${expected[i]}'`);
    }
  }
}

/**
 * Parses an image and checks its structure and every section digest. It
 * does not check signatures: call verifyImage (or use openImage) before
 * instantiating anything from the result.
 */
export function parseImage(bytes: Uint8Array): ParsedImage {
  const header = readHeader(bytes);
  const sections = readTable(bytes, header);
  const rawSignatures = readSignatureBlock(bytes, header.bodyBytes);
  if (sections[0].name !== 'manifest') throw new ImageError(`section table: entry 0 is '${sections[0].name}', expected 'manifest'`);
  const data = readSectionData(bytes, sections);
  const digest = sha256(bytes.subarray(0, IMAGE_HEADER_BYTES + header.tableBytes));
  const manifest = readManifest(data[0]);
  const isPrepared = (header.flags & IMAGE_FLAG_PREPARED) !== 0;
  checkSectionNames(sections, manifest, isPrepared);
  const services = new Map<string, Uint8Array>();
  manifest.services.forEach((s, i) => services.set(s.name, data[i + 2]));
  const parsed: ParsedImage = {
    manifest,
    manifestBytes: data[0],
    kernel: data[1],
    services,
    prepared: isPrepared ? readPrepared(data[data.length - 1], manifest) : null,
    digestHex: hex(digest),
    sections: sections.map((s) => ({ name: s.name, offset: s.offset, length: s.length, sha256Hex: hex(s.sha256) })),
    signatures: rawSignatures.map((s) => ({ algorithm: s.algorithm, keyIdHex: s.keyIdHex, valid: null })),
  };
  parseStates.set(parsed, { digest, bodyBytes: header.bodyBytes, signatures: rawSignatures });
  return parsed;
}

// ---------------------------------------------------------------- verifying

/**
 * Throws ImageError unless, for each required algorithm (ECDSA P-384 and
 * ML-DSA-65), a signature by a trusted key of that algorithm verifies. The
 * message names which one is missing, wrong or mismatched. Records the
 * outcome in `parsed.signatures[i].valid`: true or false for signatures by
 * trusted keys, null for signatures by keys not trusted.
 */
export function verifyImage(parsed: ParsedImage, trusted: readonly PublicKey[]): void {
  const state = parseStates.get(parsed);
  if (state === undefined) throw new ImageError('verifyImage: not an image returned by parseImage');
  if (state.signatures.length === 0) throw new ImageError('image is not signed');
  const message = signedMessage(state.digest);
  // Each problem is filed under the algorithms it concerns: a mismatch under both.
  const problems: { algorithms: SignatureAlgorithm[]; message: string }[] = [];
  state.signatures.forEach((s, i) => {
    const key = trusted.find((k) => k.keyIdHex === s.keyIdHex);
    if (key === undefined) {
      parsed.signatures[i].valid = null;
      return;
    }
    if (key.algorithm !== s.algorithm) {
      parsed.signatures[i].valid = false;
      problems.push({
        algorithms: [s.algorithm, key.algorithm],
        message: `signature by key ${s.keyIdHex} is marked ${ALGORITHM_TITLES[s.algorithm]} but the trusted key ${s.keyIdHex} is ${ALGORITHM_TITLES[key.algorithm]} (mismatched signature)`,
      });
      return;
    }
    const valid = verifyMessage(key, message, s.signature);
    parsed.signatures[i].valid = valid;
    if (!valid) problems.push({ algorithms: [s.algorithm], message: `${ALGORITHM_TITLES[s.algorithm]} signature by key ${s.keyIdHex} does not verify` });
  });
  if (parsed.signatures.every((s) => s.valid === null)) {
    const signers = state.signatures.map((s) => `${s.keyIdHex} (${s.algorithm})`).join(', ');
    const trustedIds = trusted.length === 0 ? 'none' : trusted.map((k) => `${k.keyIdHex} (${k.algorithm})`).join(', ');
    throw new ImageError(`no signature from a trusted key (signed by ${signers}; trusted: ${trustedIds})`);
  }
  for (const algorithm of REQUIRED_ALGORITHMS) {
    const ok = state.signatures.some((s, i) => s.algorithm === algorithm && parsed.signatures[i].valid === true);
    if (ok) continue;
    const title = ALGORITHM_TITLES[algorithm];
    const own = problems.find((p) => p.algorithms.includes(algorithm));
    if (own !== undefined) throw new ImageError(own.message);
    const trustedOfKind = trusted.filter((k) => k.algorithm === algorithm);
    if (trustedOfKind.length === 0) throw new ImageError(`no trusted ${title} key is configured: --trust must name both an ECDSA P-384 and an ML-DSA-65 key`);
    throw new ImageError(`missing ${title} signature: no ${algorithm} signature by a trusted key (trusted ${algorithm}: ${trustedOfKind.map((k) => k.keyIdHex).join(', ')})`);
  }
}

/** parseImage then verifyImage: the one call a loader needs before instantiating. */
export function openImage(bytes: Uint8Array, trusted: readonly PublicKey[]): ParsedImage {
  const parsed = parseImage(bytes);
  verifyImage(parsed, trusted);
  return parsed;
}

// ---------------------------------------------------------------- files

/** Reads an image file, refusing one over IMAGE_BYTES_MAX before reading it. */
export function readImageFile(path: string): Uint8Array {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new ImageError(`${path}: cannot read image: ${(e as Error).message}`);
  }
  if (size > limits.IMAGE_BYTES_MAX) {
    throw new ImageError(`${path}: ${size} bytes, over IMAGE_BYTES_MAX (${limits.IMAGE_BYTES_MAX})`);
  }
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new ImageError(`${path}: cannot read image: ${(e as Error).message}`);
  }
}

/**
 * Writes an image file atomically: a temp file in the same directory,
 * fsynced, then renamed over `path`, so a reader never sees half an image.
 */
export function writeImageFile(path: string, image: Uint8Array): void {
  try {
    writeFileDurably(path, image, { mode: 0o644 });
  } catch (e) {
    throw new ImageError(`${path}: cannot write image: ${(e as Error).message}`);
  }
}
