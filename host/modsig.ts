// host/modsig.ts: detached signatures of service modules (issue 4, live load).
//
// A module loaded into a running system must be signed by a key set the
// system trusts (the `--trust` keys of `qenex boot`), with both algorithms
// images use (host/base/keys.ts): ECDSA P-384 and ML-DSA-65. The signature is a
// separate file, `<module.wasm>.sig`, written by `qenex sign <module.wasm>`.
//
// Signed message: MODULE_SIGNATURE_CONTEXT (ASCII, NUL-terminated) followed
// by the SHA-256 of the module bytes, so a module signature can never be
// mistaken for an image signature or the other way round.
//
// File format (little-endian):
//   +0  [8] magic "QXMODSIG"
//   +8  u8  version (1)
//   +9  u8  signature count (1..MODULE_SIGNATURES_MAX)
//   +10 u16 reserved (0)
//   then per signature: u8 algorithm id (host/base/keys.ts SIGNATURE_ALGORITHMS)
//   | u8 reserved (0) | u16 signature bytes | [16] key id | signature

import { createHash } from 'node:crypto';
import {
  KEY_ID_BYTES, REQUIRED_ALGORITHMS, SIGNATURE_ALGORITHMS, algorithmName, verifyMessage,
  type PublicKey, type Signature, type Signer,
} from './base/keys.ts';

export const MODULE_SIGNATURE_MAGIC = 'QXMODSIG';
export const MODULE_SIGNATURE_VERSION = 1;
export const MODULE_SIGNATURE_CONTEXT = 'QENEX service module signature v1\0';
import { MODULE_SIGNATURES_MAX, MODULE_SIGNATURE_BYTES_MAX } from './base/limits.ts';
export { MODULE_SIGNATURES_MAX, MODULE_SIGNATURE_BYTES_MAX };
const SIGNATURES_HEADER_BYTES = 12;
const SIGNATURE_ENTRY_HEADER_BYTES = 4 + KEY_ID_BYTES;

export class ModuleSignatureError extends Error {
  override name = 'ModuleSignatureError';
}

/** What is signed for `module`. */
export function moduleSigningMessage(module: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(module).digest();
  return Buffer.concat([Buffer.from(MODULE_SIGNATURE_CONTEXT, 'latin1'), digest]);
}

export function encodeModuleSignatures(signatures: readonly Signature[]): Uint8Array {
  if (signatures.length === 0 || signatures.length > MODULE_SIGNATURES_MAX) {
    throw new ModuleSignatureError(`a module signature file holds 1 to ${MODULE_SIGNATURES_MAX} signatures`);
  }
  const parts: Buffer[] = [];
  const head = Buffer.alloc(SIGNATURES_HEADER_BYTES);
  head.write(MODULE_SIGNATURE_MAGIC, 0, 'latin1');
  head[8] = MODULE_SIGNATURE_VERSION;
  head[9] = signatures.length;
  parts.push(head);
  for (const s of signatures) {
    const e = Buffer.alloc(SIGNATURE_ENTRY_HEADER_BYTES);
    e[0] = SIGNATURE_ALGORITHMS[s.algorithm];
    e.writeUInt16LE(s.signature.length, 2);
    Buffer.from(s.keyIdHex, 'hex').copy(e, 4);
    parts.push(e, Buffer.from(s.signature));
  }
  return Buffer.concat(parts);
}

export function decodeModuleSignatures(bytes: Uint8Array): Signature[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < SIGNATURES_HEADER_BYTES || b.toString('latin1', 0, 8) !== MODULE_SIGNATURE_MAGIC) {
    throw new ModuleSignatureError('not a module signature (no QXMODSIG header)');
  }
  if (b[8] !== MODULE_SIGNATURE_VERSION) throw new ModuleSignatureError(`module signature version ${b[8]} is not supported`);
  const count = b[9];
  if (count === 0 || count > MODULE_SIGNATURES_MAX || b.readUInt16LE(10) !== 0) throw new ModuleSignatureError('module signature header is invalid');
  const out: Signature[] = [];
  let at = SIGNATURES_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + SIGNATURE_ENTRY_HEADER_BYTES > b.length) throw new ModuleSignatureError('module signature is truncated');
    const algorithm = algorithmName(b[at]);
    const len = b.readUInt16LE(at + 2);
    if (algorithm === null || b[at + 1] !== 0) throw new ModuleSignatureError(`module signature ${i}: unknown algorithm ${b[at]}`);
    const keyIdHex = b.toString('hex', at + 4, at + 4 + KEY_ID_BYTES);
    at += SIGNATURE_ENTRY_HEADER_BYTES;
    if (at + len > b.length) throw new ModuleSignatureError('module signature is truncated');
    out.push({ algorithm, keyIdHex, signature: Uint8Array.from(b.subarray(at, at + len)) });
    at += len;
  }
  if (at !== b.length) throw new ModuleSignatureError('module signature has trailing bytes');
  return out;
}

export async function signModule(module: Uint8Array, signer: Signer): Promise<Uint8Array> {
  return encodeModuleSignatures(await signer.signAll(moduleSigningMessage(module)));
}

/**
 * Throws ModuleSignatureError unless, for every required algorithm, one
 * signature by a trusted key verifies. Deterministic for the same bytes and keys.
 */
export function verifyModule(module: Uint8Array, signature: Uint8Array, trusted: readonly PublicKey[]): void {
  if (trusted.length === 0) throw new ModuleSignatureError('the system trusts no keys (booted without --trust): no module can be loaded');
  const signatures = decodeModuleSignatures(signature);
  const message = moduleSigningMessage(module);
  for (const algorithm of REQUIRED_ALGORITHMS) {
    const ok = signatures.some((s) => s.algorithm === algorithm && trusted.some((k) => k.algorithm === algorithm
      && k.keyIdHex === s.keyIdHex && verifyMessage(k, message, s.signature)));
    if (!ok) throw new ModuleSignatureError(`no valid ${algorithm} signature of the module by a trusted key`);
  }
}
