// host/audit/checkpoint.ts: signed audit checkpoints (kernel/audit.ts).
//
// A checkpoint body is 48 bytes, little-endian, made by the kernel:
//   +0 u64 tree size (leaves: entries 0 .. size-1)  +8 u64 logical time (ns)
//   +16 [32] Merkle root
// The host signs CHECKPOINT_CONTEXT ‖ body with an ECDSA P-384 key (HSM or
// key file) and an ML-DSA-65 key, and the kernel logs body ‖ signatures as
// an ENTRY_CHECKPOINT entry. Signature block, after the body:
//   +0 u16 count  +2 u16 checkpoint format (CHECKPOINT_FORMAT_VERSION; 0 in
//                       checkpoints written before the field had a name,
//                       which are format 1)
//   then per signature: u16 algorithm id (host/base/keys.ts), u16 length,
//   [16] key id, signature bytes.
// The fixed context keeps a checkpoint signature from being valid for an
// image (whose context differs) and the other way round.

import { KEY_ID_BYTES, SIGNATURE_ALGORITHMS, algorithmName, type PublicKey, type Signature, type Signer } from '../base/keys.ts';
import { signaturesFromJson, signaturesJson, signaturesProblem } from '../base/signatures.ts';

export const CHECKPOINT_CONTEXT = 'QENEX audit checkpoint v1\0';
export const CHECKPOINT_BODY_BYTES = 48;
export const CHECKPOINT_FORMAT_VERSION = 1;
const SIG_BLOCK_HEADER_BYTES = 4;
const SIG_HEADER_BYTES = 4 + KEY_ID_BYTES;
const SIGNATURES_MAX = 8;

export interface Checkpoint {
  treeSize: number;
  timeNs: bigint;
  root: Uint8Array;
  /** The 48 body bytes exactly as the kernel made them. */
  body: Uint8Array;
  signatures: Signature[];
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export function checkpointMessage(body: Uint8Array): Uint8Array {
  const context = new TextEncoder().encode(CHECKPOINT_CONTEXT);
  const out = new Uint8Array(context.length + body.length);
  out.set(context, 0);
  out.set(body, context.length);
  return out;
}

export function encodeBody(treeSize: number, timeNs: bigint, root: Uint8Array): Uint8Array {
  const body = new Uint8Array(CHECKPOINT_BODY_BYTES);
  const dv = new DataView(body.buffer);
  dv.setBigUint64(0, BigInt(treeSize), true);
  dv.setBigUint64(8, timeNs, true);
  body.set(root, 16);
  return body;
}

export function encodeCheckpoint(body: Uint8Array, signatures: readonly Signature[]): Uint8Array {
  const size = CHECKPOINT_BODY_BYTES + SIG_BLOCK_HEADER_BYTES + signatures.reduce((n, s) => n + SIG_HEADER_BYTES + s.signature.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(body.subarray(0, CHECKPOINT_BODY_BYTES), 0);
  let at = CHECKPOINT_BODY_BYTES;
  dv.setUint16(at, signatures.length, true);
  dv.setUint16(at + 2, CHECKPOINT_FORMAT_VERSION, true);
  at += SIG_BLOCK_HEADER_BYTES;
  for (const s of signatures) {
    dv.setUint16(at, SIGNATURE_ALGORITHMS[s.algorithm], true);
    dv.setUint16(at + 2, s.signature.length, true);
    out.set(Buffer.from(s.keyIdHex, 'hex'), at + 4);
    out.set(s.signature, at + SIG_HEADER_BYTES);
    at += SIG_HEADER_BYTES + s.signature.length;
  }
  return out;
}

/** Signs a body; returns body ‖ signature block, ready for the kernel's buffer. */
export async function signCheckpoint(body: Uint8Array, signer: Signer): Promise<Uint8Array> {
  return encodeCheckpoint(body, await signer.signAll(checkpointMessage(body)));
}

export function decodeCheckpoint(payload: Uint8Array): Checkpoint {
  if (payload.length < CHECKPOINT_BODY_BYTES + SIG_BLOCK_HEADER_BYTES) {
    throw new CheckpointError(`checkpoint of ${payload.length} bytes is shorter than body and signature header`);
  }
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const size = dv.getBigUint64(0, true);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointError(`checkpoint tree size ${size} is too large`);
  const count = dv.getUint16(CHECKPOINT_BODY_BYTES, true);
  if (count > SIGNATURES_MAX) throw new CheckpointError(`checkpoint has ${count} signatures, at most ${SIGNATURES_MAX}`);
  const format = dv.getUint16(CHECKPOINT_BODY_BYTES + 2, true) || 1;
  if (format !== CHECKPOINT_FORMAT_VERSION) throw new CheckpointError(`checkpoint format ${format}; this reader knows format ${CHECKPOINT_FORMAT_VERSION}`);
  let at = CHECKPOINT_BODY_BYTES + SIG_BLOCK_HEADER_BYTES;
  const signatures: Signature[] = [];
  for (let i = 0; i < count; i++) {
    if (at + SIG_HEADER_BYTES > payload.length) throw new CheckpointError(`checkpoint signature ${i} is truncated`);
    const algorithm = algorithmName(dv.getUint16(at, true));
    const length = dv.getUint16(at + 2, true);
    if (algorithm === null) throw new CheckpointError(`checkpoint signature ${i}: unknown algorithm id ${dv.getUint16(at, true)}`);
    if (at + SIG_HEADER_BYTES + length > payload.length) throw new CheckpointError(`checkpoint signature ${i} is truncated`);
    signatures.push({
      algorithm,
      keyIdHex: Buffer.from(payload.subarray(at + 4, at + 4 + KEY_ID_BYTES)).toString('hex'),
      signature: payload.slice(at + SIG_HEADER_BYTES, at + SIG_HEADER_BYTES + length),
    });
    at += SIG_HEADER_BYTES + length;
  }
  if (at !== payload.length) throw new CheckpointError(`checkpoint has ${payload.length - at} unexpected bytes after its signatures`);
  return {
    treeSize: Number(size),
    timeNs: dv.getBigUint64(8, true),
    root: payload.slice(16, 48),
    body: payload.slice(0, CHECKPOINT_BODY_BYTES),
    signatures,
  };
}

/**
 * null when, for each required algorithm (ECDSA P-384, ML-DSA-65), a
 * signature by a trusted key verifies; else a message naming which failed.
 */
export function checkpointSignatureProblem(cp: Checkpoint, trusted: readonly PublicKey[]): string | null {
  return signaturesProblem(checkpointMessage(cp.body), cp.signatures, trusted);
}

export function checkpointJson(cp: Checkpoint): Record<string, unknown> {
  return {
    tree_size: cp.treeSize,
    time_ns: cp.timeNs.toString(),
    root: Buffer.from(cp.root).toString('base64'),
    body: Buffer.from(cp.body).toString('base64'),
    signatures: signaturesJson(cp.signatures),
  };
}

export function checkpointFromJson(o: unknown, where: string): Checkpoint {
  const j = o as Record<string, unknown>;
  if (typeof j !== 'object' || j === null || typeof j.body !== 'string' || !Array.isArray(j.signatures)) {
    throw new CheckpointError(`${where}: not a checkpoint object (needs body and signatures)`);
  }
  const body = new Uint8Array(Buffer.from(j.body, 'base64'));
  if (body.length !== CHECKPOINT_BODY_BYTES) throw new CheckpointError(`${where}: body is ${body.length} bytes, expected 48`);
  const signatures = signaturesFromJson(j.signatures, where, (m) => new CheckpointError(m));
  const dv = new DataView(body.buffer);
  // The body is what was signed; the readable fields must agree with it.
  const cp: Checkpoint = { treeSize: Number(dv.getBigUint64(0, true)), timeNs: dv.getBigUint64(8, true), root: body.slice(16), body, signatures };
  if (j.tree_size !== undefined && j.tree_size !== cp.treeSize) throw new CheckpointError(`${where}: tree_size ${String(j.tree_size)} disagrees with the signed body (${cp.treeSize})`);
  if (j.root !== undefined && j.root !== Buffer.from(cp.root).toString('base64')) throw new CheckpointError(`${where}: root disagrees with the signed body`);
  return cp;
}
