// host/base/signatures.ts: signatures over a message as QENEX checks and
// shows them: audit checkpoints (host/audit/checkpoint.ts) and compliance
// reports (host/compliance/report.ts) are signed by the same Signer and
// checked by this one function, so a signed artefact has one rule: every
// required algorithm has a valid signature by a trusted key.

import { ALGORITHM_TITLES, REQUIRED_ALGORITHMS, verifyMessage, type PublicKey, type Signature } from './keys.ts';

/**
 * null when, for each required algorithm (ECDSA P-384, ML-DSA-65), one of
 * `signatures` by a trusted key verifies over `message`; else a message
 * naming which failed.
 */
export function signaturesProblem(message: Uint8Array, signatures: readonly Signature[], trusted: readonly PublicKey[]): string | null {
  if (signatures.length === 0) return 'unsigned (no signatures)';
  for (const algorithm of REQUIRED_ALGORITHMS) {
    const title = ALGORITHM_TITLES[algorithm];
    const mine = signatures.filter((s) => s.algorithm === algorithm);
    if (mine.length === 0) return `missing ${title} signature`;
    let problem: string | null = `no ${title} signature by a trusted key (signed by ${mine.map((s) => s.keyIdHex).join(', ')})`;
    for (const s of mine) {
      const key = trusted.find((k) => k.keyIdHex === s.keyIdHex);
      if (key === undefined) continue;
      if (key.algorithm !== algorithm) { problem = `signature by key ${s.keyIdHex} is marked ${title} but the trusted key is ${ALGORITHM_TITLES[key.algorithm]}`; continue; }
      if (verifyMessage(key, message, s.signature)) { problem = null; break; }
      problem = `${title} signature by key ${s.keyIdHex} does not verify`;
    }
    if (problem !== null) return problem;
  }
  return null;
}

/** Signatures as JSON (checkpoints, reports): algorithm, key id (hex), signature (base64). */
export function signaturesJson(signatures: readonly Signature[]): Record<string, string>[] {
  return signatures.map((s) => ({ algorithm: s.algorithm, key_id: s.keyIdHex, signature: Buffer.from(s.signature).toString('base64') }));
}

/** signaturesJson's inverse, strictly (`error` makes what is thrown: a CheckpointError for a checkpoint). */
export function signaturesFromJson(list: unknown, where: string, error: (message: string) => Error = (m) => new Error(m)): Signature[] {
  if (!Array.isArray(list)) throw error(`${where}: signatures must be an array`);
  return (list as Record<string, unknown>[]).map((s, i) => {
    const algorithm = s?.algorithm;
    if (algorithm !== 'ecdsa-p384' && algorithm !== 'ml-dsa-65') throw error(`${where}: signature ${i}: unknown algorithm ${JSON.stringify(algorithm)}`);
    if (typeof s.key_id !== 'string' || !/^[0-9a-f]{32}$/.test(s.key_id) || typeof s.signature !== 'string') {
      throw error(`${where}: signature ${i}: needs key_id (32 hex) and signature (base64)`);
    }
    return { algorithm, keyIdHex: s.key_id, signature: new Uint8Array(Buffer.from(s.signature, 'base64')) };
  });
}
