// `qenex boot` refuses damaged or untrusted images before anything runs: the
// message says what is wrong, the exit code is 1, and no data directory or
// log is created (nothing was instantiated or written).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addSignatures, parseImage } from '../../host/image.ts';
import { makeImage, removeDir, runCli, type TestImage } from '../support/helpers.ts';

let img: TestImage;
test.before(() => { img = makeImage('refusal'); });
test.after(() => removeDir(img.dir));

function bootBytes(name: string, bytes: Uint8Array, trust = img.pubPath) {
  const path = join(img.dir, `${name}.qxi`);
  writeFileSync(path, bytes);
  const data = join(img.dir, `data-${name}`);
  const r = runCli(['boot', path, '--data', data, '--trust', trust, '--once']);
  return { ...r, data };
}

function assertRefused(r: { code: number | null; stderr: string; data: string }, pattern: RegExp): void {
  assert.is(r.code, 1, `exit 1, stderr: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.is(r.stderr.trim().split('\n').length, 1, 'exactly one line on stderr');
  assert.not.ok(r.stderr.includes('    at '), 'no stack trace');
  assert.not.ok(existsSync(r.data), 'no data directory was created');
}

test('a flipped byte in each section is refused, naming the section', () => {
  // Proves: every section's SHA-256 is checked before boot, and the message
  // names the section whose bytes changed.
  const parsed = parseImage(img.bytes);
  for (const section of parsed.sections) {
    const bytes = Uint8Array.from(img.bytes);
    bytes[section.offset + Math.floor(section.length / 2)] ^= 0x01;
    const r = bootBytes(`flip-${section.name.replace(':', '-')}`, bytes);
    assertRefused(r, new RegExp(`section '${section.name}' digest mismatch`));
  }
});

test('an image signed by an untrusted key is refused', () => {
  // Proves: a valid image whose signature is not from --trust does not boot.
  const r = bootBytes('untrusted', img.bytes, img.otherPubPath);
  assertRefused(r, /no signature from a trusted key/);
});

test('a damaged signature is refused', () => {
  // Proves: changing the signature bytes (last bytes of the file) is caught.
  const bytes = Uint8Array.from(img.bytes);
  bytes[bytes.length - 5] ^= 0x80;
  assertRefused(bootBytes('badsig', bytes), /signature .*does not verify|signature/);
});

test('an image missing its ML-DSA-65 or ECDSA P-384 signature is refused, naming which', () => {
  // Proves: boot needs both signatures; stripping either one stops boot with
  // a message that names the missing algorithm.
  const { unsigned, end } = unsignedOf(img.bytes);
  const sigs = signaturesOf(img.bytes, end);
  assertRefused(bootBytes('ec-only', addSignatures(unsigned, [sigs[0]])), /missing ML-DSA-65 signature/);
  assertRefused(bootBytes('pq-only', addSignatures(unsigned, [sigs[1]])), /missing ECDSA P-384 signature/);
  const bad = { ...sigs[1], signature: sigs[1].signature.slice() };
  bad.signature[7] ^= 1;
  assertRefused(bootBytes('bad-pq', addSignatures(unsigned, [sigs[0], bad])), /ML-DSA-65 signature by key [0-9a-f]{32} does not verify/);
});

test('--insecure-unsigned boots an unsigned image and says so loudly', () => {
  // Proves: the development escape hatch works and never goes unnoticed: a
  // WARNING line on stderr; it cannot be combined with --trust.
  const path = join(img.dir, 'insecure.qxi');
  writeFileSync(path, unsignedOf(img.bytes).unsigned);
  const r = runCli(['boot', path, '--data', join(img.dir, 'data-insecure'), '--insecure-unsigned', '--once']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /WARNING: --insecure-unsigned: image signatures are NOT verified/);
  assert.ok(r.events.some((e) => e.event === 'ready'));
  const both = runCli(['boot', path, '--data', join(img.dir, 'data-x'), '--insecure-unsigned', '--trust', img.pubPath, '--once']);
  assert.is(both.code, 2);
  assert.match(both.stderr, /either --trust or --insecure-unsigned/);
});

/** The image with an empty signature block (header "QXS1", count 0), and where that block starts. */
function unsignedOf(bytes: Uint8Array): { unsigned: Uint8Array; end: number } {
  const parsed = parseImage(bytes);
  const end = Math.max(...parsed.sections.map((s) => s.offset + s.length));
  const unsigned = new Uint8Array(end + 8);
  unsigned.set(bytes.subarray(0, end));
  unsigned.set(Buffer.from('QXS1'), end);
  return { unsigned, end };
}

/** The signatures in an image's signature block (starting at `body`), by the documented layout. */
function signaturesOf(bytes: Uint8Array, body: number) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const out = [];
  let at = body + 8;
  for (let i = 0; i < dv.getUint16(body + 4, true); i++) {
    const length = dv.getUint16(at + 2, true);
    out.push({
      algorithm: (dv.getUint16(at, true) === 2 ? 'ecdsa-p384' : 'ml-dsa-65') as 'ecdsa-p384' | 'ml-dsa-65',
      keyIdHex: Buffer.from(bytes.subarray(at + 4, at + 20)).toString('hex'),
      signature: bytes.slice(at + 20, at + 20 + length),
    });
    at += 20 + length;
  }
  return out;
}

test('truncated images are refused as truncated', () => {
  // Proves: an image cut short anywhere is refused with "truncated".
  for (const keep of [10, 100, Math.floor(img.bytes.length / 2), img.bytes.length - 1]) {
    assertRefused(bootBytes(`trunc-${keep}`, img.bytes.subarray(0, keep)), /truncated/);
  }
});

test('an unsigned image is refused', () => {
  // Proves: an image without any signature does not boot with --trust.
  assertRefused(bootBytes('unsigned', unsignedOf(img.bytes).unsigned), /image is not signed/);
});

test('a missing image file and bad arguments are one clear line each', () => {
  // Proves: usage errors exit 2, missing files exit 1, and neither prints a stack.
  const missing = runCli(['boot', join(img.dir, 'nope.qxi'), '--data', join(img.dir, 'd'), '--trust', img.pubPath, '--once']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /^qenex: .*nope\.qxi/);
  const noTrust = runCli(['boot', img.imagePath, '--data', join(img.dir, 'd')]);
  assert.is(noTrust.code, 2);
  assert.match(noTrust.stderr, /--trust/);
  const badListen = runCli(['boot', img.imagePath, '--data', join(img.dir, 'd'), '--trust', img.pubPath, '--listen', 'nonsense']);
  assert.is(badListen.code, 2);
  assert.match(badListen.stderr, /host:port/);
  const unknown = runCli(['frobnicate']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command/);
  const replayMissing = runCli(['replay', '--data', join(img.dir, 'absent')]);
  assert.is(replayMissing.code, 1);
  for (const r of [missing, noTrust, badListen, unknown, replayMissing]) {
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('every command answers --help with its usage', () => {
  // Proves: --help works on every CLI command and exits 0.
  for (const cmd of ['keygen', 'build', 'sign', 'inspect', 'boot', 'replay']) {
    const r = runCli([cmd, '--help']);
    assert.is(r.code, 0, cmd);
    assert.match(r.stdout, new RegExp(`usage: qenex ${cmd}`));
  }
  assert.is(runCli(['--help']).code, 0);
});

test.run();
