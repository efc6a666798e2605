// host/cmd/inspect.ts: `qenex inspect`, show what an image holds.
//
// Parsing checks every section digest, so a damaged image fails here with
// the same message the loader would give. With --trust the signatures are
// verified too, and the exit code says whether the image would boot.

import { ImageError, parseImage, readImageFile, verifyImage, type ParsedImage } from '../image.ts';
import { KeyError, loadPublicKeys } from '../base/keys.ts';
import { asCliError, parseArgs, processIo, type CommandIo } from './args.ts';

export const USAGE = `usage: qenex inspect <file.qxi> [--json] [--trust <signing.pub>]

Checks every section digest and prints the manifest, the sections (offset,
size, SHA-256), whether the service modules were prepared at build (and by
what, from which source modules) and the signers (algorithm, key id).

options:
  --json                 print one JSON object instead of text
  --trust <signing.pub>  also verify the signatures against these public keys
                         (ECDSA P-384 and ML-DSA-65); exit 1 unless both
                         verify, saying which one failed`;

interface Verification {
  trustedKeyIdHex: string;
  trustedKeyIds: string[];
  verified: boolean;
  error: string | null;
}

function describeValid(valid: boolean | null, checked: boolean): string {
  if (!checked) return 'not checked';
  if (valid === null) return 'key not trusted';
  return valid ? 'valid' : 'INVALID';
}

function text(file: string, size: number, parsed: ParsedImage, verification: Verification | null): string {
  const m = parsed.manifest;
  const lines = [
    `image      ${file} (${size} bytes)`,
    `manifest   ${m.name} v${m.version}, ${m.services.length} service(s)`,
    `digest     sha256:${parsed.digestHex}`,
    'sections',
  ];
  for (const s of parsed.sections) {
    lines.push(`  ${s.name.padEnd(24)} ${String(s.length).padStart(10)} bytes at ${String(s.offset).padStart(10)}  sha256:${s.sha256Hex}`);
  }
  lines.push('services');
  for (const s of m.services) {
    lines.push(`  ${s.name.padEnd(24)} module ${s.module}, priority ${s.priority}, budget ${s.budget}, ` +
      `memory ${s.memory_pages_max} pages, caps ${s.caps.join(' ') || '(none)'}`);
  }
  lines.push(`kernel     ${JSON.stringify(m.kernel)}`);
  const p = parsed.prepared ?? null;
  if (p === null) {
    lines.push('prepared   no: the host instruments the service modules when it boots');
  } else {
    lines.push(`prepared   at build by ${p.instrumenter} (instrumentation ABI ${p.instrumentation}); modules before preparing:`);
    for (const s of p.services) lines.push(`  ${s.name.padEnd(24)} sha256:${s.source_sha256}`);
  }
  lines.push(parsed.signatures.length === 0 ? 'signatures (none: unsigned)' : 'signatures');
  for (const s of parsed.signatures) {
    lines.push(`  ${s.algorithm.padEnd(10)} key ${s.keyIdHex}  ${describeValid(s.valid, verification !== null)}`);
  }
  if (verification !== null) {
    lines.push(verification.verified
      ? `verified   yes, by trusted keys ${verification.trustedKeyIds.join(' + ')}`
      : `verified   NO: ${verification.error}`);
  }
  return lines.join('\n');
}

function json(file: string, size: number, parsed: ParsedImage, verification: Verification | null): string {
  return JSON.stringify({
    file,
    bytes: size,
    digest: parsed.digestHex,
    manifest: parsed.manifest,
    sections: parsed.sections,
    prepared: parsed.prepared ?? null,
    signatures: parsed.signatures.map((s) => ({ algorithm: s.algorithm, keyId: s.keyIdHex, valid: s.valid })),
    verification,
  });
}

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, {
    values: ['trust'],
    booleans: ['json'],
    positionals: { min: 1, max: 1, names: ['<file.qxi>'] },
  });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const file = args.positionals[0];
  const trustPath = args.values.get('trust');
  try {
    const trusted = trustPath === undefined ? null : loadPublicKeys(trustPath);
    const bytes = readImageFile(file);
    const parsed = parseImage(bytes);
    let verification: Verification | null = null;
    if (trusted !== null) {
      verification = { trustedKeyIdHex: trusted[0].keyIdHex, trustedKeyIds: trusted.map((k) => k.keyIdHex), verified: true, error: null };
      try {
        verifyImage(parsed, trusted);
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        verification.verified = false;
        verification.error = e.message;
      }
    }
    io.out(args.booleans.has('json') ? json(file, bytes.length, parsed, verification) : text(file, bytes.length, parsed, verification));
    return verification === null || verification.verified ? 0 : 1;
  } catch (e) {
    throw asCliError(e, [ImageError, KeyError]);
  }
}
