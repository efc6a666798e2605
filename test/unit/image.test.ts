// test/unit/image.test.ts: the .qxi image format and the signing keys.
//
// Run: node --import tsx test/unit/image.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  IMAGE_HEADER_BYTES, ImageError, TABLE_ENTRY_BYTES, addSignatures, openImage, packImage, parseImage, signImage, verifyImage,
} from '../../host/image.ts';
import {
  KeyError, generateKeyPair, keyIdHex, loadPublicKeys, loadSigningKey, writeKeyPair, type PublicKey,
} from '../../host/base/keys.ts';
import { validateManifest, type Manifest } from '../../host/manifest.ts';

const MANIFEST: Manifest = validateManifest({
  name: 'bank', version: 1,
  kernel: {
    message_slots: 256, message_bytes_max: 65536, queue_depth: 1024, timers_max: 1024,
    requests_in_flight_max: 1024, batch_bytes_max: 4194304, log_preallocate_bytes: 67108864,
  },
  services: [
    { name: 'echo', module: 'echo', priority: 1, budget: 16, memory_pages_max: 16, caps: ['net', 'log'] },
    { name: 'counter', module: 'counter', priority: 0, budget: 32, memory_pages_max: 16, caps: ['net', 'log', 'time'] },
  ],
});

// Distinct contents per section, so a mix-up of sections cannot go unseen.
const KERNEL = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 0xee, 0x01]);
const ECHO = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 0xec]);
const COUNTER = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 0xc0, 0xc1, 0xc2]);

function contents() {
  return { manifest: MANIFEST, kernel: KERNEL, services: new Map([['echo', ECHO], ['counter', COUNTER]]) };
}

const KEY_A = generateKeyPair();
const KEY_B = generateKeyPair();
const [A_EC, A_PQ] = KEY_A.publicKeys;
const [B_EC, B_PQ] = KEY_B.publicKeys;
const TRUST_A: PublicKey[] = [...KEY_A.publicKeys];

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ImageError, `expected ImageError, got ${String(e)}`);
    return (e as Error).message;
  }
  throw new assert.Assertion({ message: 'expected an ImageError, nothing was thrown', operator: 'throws', expects: 'an error', actual: 'none' });
}

function flipped(image: Uint8Array, offset: number, mask = 0x01): Uint8Array {
  const copy = image.slice();
  copy[offset] ^= mask;
  return copy;
}

function u32(image: Uint8Array, offset: number): number {
  return new DataView(image.buffer, image.byteOffset).getUint32(offset, true);
}

// A second, independent encoder following the layout comment in
// host/image.ts, so tests can build images packImage refuses to make.
function rawImage(sections: { name: string; data: Uint8Array }[]): Uint8Array {
  const tableBytes = sections.length * TABLE_ENTRY_BYTES;
  const body = IMAGE_HEADER_BYTES + tableBytes + sections.reduce((n, s) => n + s.data.length, 0);
  const out = new Uint8Array(body + 8);
  const dv = new DataView(out.buffer);
  out.set(Buffer.from('QXI1'), 0);
  dv.setUint16(4, 1, true);
  dv.setUint16(6, sections.length, true);
  dv.setUint32(8, tableBytes, true);
  dv.setUint32(12, body, true);
  let offset = IMAGE_HEADER_BYTES + tableBytes;
  sections.forEach((s, i) => {
    const entry = IMAGE_HEADER_BYTES + i * TABLE_ENTRY_BYTES;
    out[entry] = s.name.length;
    dv.setUint32(entry + 4, offset, true);
    dv.setUint32(entry + 8, s.data.length, true);
    out.set(createHash('sha256').update(s.data).digest(), entry + 16);
    out.set(Buffer.from(s.name), entry + 48);
    out.set(s.data, offset);
    offset += s.data.length;
  });
  out.set(Buffer.from('QXS1'), body);
  return out;
}

function canonicalManifest(): Uint8Array {
  return Buffer.from(JSON.stringify(MANIFEST));
}

test('pack then parse returns the same manifest, kernel and services', () => {
  // Proves the round trip: every section comes back byte-for-byte, in manifest order.
  const parsed = parseImage(packImage(contents()));
  assert.equal(parsed.manifest, MANIFEST);
  assert.equal(Buffer.from(parsed.manifestBytes).toString(), JSON.stringify(MANIFEST));
  assert.equal(parsed.kernel, KERNEL);
  assert.equal([...parsed.services.keys()], ['echo', 'counter']);
  assert.equal(parsed.services.get('echo'), ECHO);
  assert.equal(parsed.services.get('counter'), COUNTER);
  assert.equal(parsed.sections.map((s) => s.name), ['manifest', 'kernel', 'service:echo', 'service:counter']);
  assert.equal(parsed.sections[1].sha256Hex, createHash('sha256').update(KERNEL).digest('hex'));
  assert.equal(parsed.signatures, []);
  assert.match(parsed.digestHex, /^[0-9a-f]{64}$/);
});

test('a manifest with description and service config round-trips canonically', () => {
  // Proves the optional manifest fields survive pack and the parser's canonical-form check.
  const manifest = validateManifest({
    ...MANIFEST,
    description: 'demo',
    services: [{ ...MANIFEST.services[0], config: { accounts_max: 10, label: 'é' } }, MANIFEST.services[1]],
  });
  const parsed = parseImage(packImage({ ...contents(), manifest }));
  assert.equal(parsed.manifest, manifest);
  assert.is(parsed.manifest.services[0].config?.label, 'é');
});

test('packing is deterministic and the digest covers header and table only', () => {
  // Proves equal inputs give equal images, and signing does not change the digest.
  const a = packImage(contents());
  const b = packImage(contents());
  assert.equal(a, b);
  const signed = signImage(a, KEY_A);
  assert.is(parseImage(signed).digestHex, parseImage(a).digestHex);
  const tableEnd = IMAGE_HEADER_BYTES + 4 * TABLE_ENTRY_BYTES;
  assert.is(parseImage(a).digestHex, createHash('sha256').update(a.subarray(0, tableEnd)).digest('hex'));
});

test('parsed sections are private copies of the input', () => {
  // Proves a caller mutating its buffer after parsing cannot change what was hashed.
  const image = packImage(contents());
  const parsed = parseImage(image);
  image.fill(0);
  assert.equal(parsed.kernel, KERNEL);
  assert.equal(parsed.services.get('echo'), ECHO);
});

test('signed image verifies with its keys; openImage does parse and verify both signatures', () => {
  // Proves the normal path: one ECDSA P-384 and one ML-DSA-65 signature, both marked valid.
  const signed = signImage(packImage(contents()), KEY_A);
  const parsed = openImage(signed, TRUST_A);
  assert.equal(parsed.signatures, [
    { algorithm: 'ecdsa-p384', keyIdHex: A_EC.keyIdHex, valid: true },
    { algorithm: 'ml-dsa-65', keyIdHex: A_PQ.keyIdHex, valid: true },
  ]);
});

test('an unsigned image is refused', () => {
  // Proves verification fails with a message saying the image is unsigned.
  const parsed = parseImage(packImage(contents()));
  assert.is(errorOf(() => verifyImage(parsed, TRUST_A)), 'image is not signed');
});

test('an image signed by other keys is refused, naming the signers', () => {
  // Proves valid signatures by untrusted keys are not enough.
  const parsed = parseImage(signImage(packImage(contents()), KEY_B));
  const message = errorOf(() => verifyImage(parsed, TRUST_A));
  assert.match(message, `no signature from a trusted key (signed by ${B_EC.keyIdHex} (ecdsa-p384), ${B_PQ.keyIdHex} (ml-dsa-65)`);
  assert.equal(parsed.signatures.map((s) => s.valid), [null, null]);
  assert.match(errorOf(() => verifyImage(parsed, [])), 'no signature from a trusted key');
});

test('a missing signature of either algorithm stops verification, naming which', () => {
  // Proves both signatures are required: an image with only one of them does not verify.
  const unsigned = packImage(contents());
  const real = signImage(unsigned, KEY_A);
  // Rebuild images holding only one of the two real signatures.
  const sigs = realSignatures(real);
  const onlyEc = addSignatures(unsigned, [sigs[0]]);
  const onlyPq = addSignatures(unsigned, [sigs[1]]);
  assert.match(errorOf(() => openImage(onlyEc, TRUST_A)), /^missing ML-DSA-65 signature: no ml-dsa-65 signature by a trusted key/);
  assert.match(errorOf(() => openImage(onlyPq, TRUST_A)), /^missing ECDSA P-384 signature: no ecdsa-p384 signature by a trusted key/);
  // Trusting only one key of the pair is a configuration error that says so.
  assert.match(errorOf(() => openImage(real, [A_EC])), /^no trusted ML-DSA-65 key is configured/);
});

test('a wrong signature of either algorithm stops verification, naming which', () => {
  // Proves each signature is checked on its own: a valid ECDSA one does not excuse a bad ML-DSA one and vice versa.
  const unsigned = packImage(contents());
  const sigs = realSignatures(signImage(unsigned, KEY_A));
  const badEc = { ...sigs[0], signature: sigs[0].signature.slice() };
  badEc.signature[5] ^= 1;
  const badPq = { ...sigs[1], signature: sigs[1].signature.slice() };
  badPq.signature[100] ^= 1;
  assert.match(errorOf(() => openImage(addSignatures(unsigned, [badEc, sigs[1]]), TRUST_A)),
    `ECDSA P-384 signature by key ${A_EC.keyIdHex} does not verify`);
  assert.match(errorOf(() => openImage(addSignatures(unsigned, [sigs[0], badPq]), TRUST_A)),
    `ML-DSA-65 signature by key ${A_PQ.keyIdHex} does not verify`);
  // A signature from another image (same keys, other digest) is wrong too.
  const other = packImage({ ...contents(), kernel: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 0x01]) });
  const foreign = realSignatures(signImage(other, KEY_A));
  assert.match(errorOf(() => openImage(addSignatures(unsigned, [sigs[0], foreign[1]]), TRUST_A)), 'ML-DSA-65 signature by key');
});

test('a signature marked with the other algorithm is refused as mismatched', () => {
  // Proves the algorithm id in the block must match the trusted key with that id.
  const unsigned = packImage(contents());
  const sigs = realSignatures(signImage(unsigned, KEY_A));
  // An ECDSA-length signature claiming ML-DSA's key id... under the ECDSA algorithm id.
  const swapped = { algorithm: 'ecdsa-p384' as const, keyIdHex: A_PQ.keyIdHex, signature: sigs[0].signature };
  const message = errorOf(() => openImage(addSignatures(unsigned, [sigs[0], swapped]), TRUST_A));
  assert.match(message, `signature by key ${A_PQ.keyIdHex} is marked ECDSA P-384 but the trusted key ${A_PQ.keyIdHex} is ML-DSA-65 (mismatched signature)`);
});

test('two key sets, one trusted: accepted', () => {
  // Proves co-signatures by unknown keys do not stop the trusted ones from verifying.
  const image = signImage(signImage(packImage(contents()), KEY_B), KEY_A);
  const parsed = openImage(image, TRUST_A);
  assert.equal(parsed.signatures.map((s) => [s.keyIdHex, s.valid]), [
    [B_EC.keyIdHex, null], [B_PQ.keyIdHex, null], [A_EC.keyIdHex, true], [A_PQ.keyIdHex, true],
  ]);
});

test('re-signing with the same keys replaces their signatures', () => {
  // Proves signing is idempotent in count and the order of other signatures is kept.
  const once = signImage(signImage(packImage(contents()), KEY_A), KEY_B);
  const twice = signImage(once, KEY_A);
  const parsed = openImage(twice, [...TRUST_A, ...KEY_B.publicKeys]);
  assert.equal(parsed.signatures.map((s) => s.keyIdHex), [B_EC.keyIdHex, B_PQ.keyIdHex, A_EC.keyIdHex, A_PQ.keyIdHex]);
  assert.equal(parsed.signatures.map((s) => s.valid), [true, true, true, true]);
});

test('at most IMAGE_SIGNATURES_MAX (8) signatures', () => {
  // Proves the signature block is bounded when adding signatures.
  let image = packImage(contents());
  for (let i = 0; i < 4; i++) image = signImage(image, generateKeyPair());
  assert.is(parseImage(image).signatures.length, 8);
  assert.match(errorOf(() => signImage(image, KEY_A)), 'already has 8 signatures');
});

test('verifyImage refuses objects not made by parseImage', () => {
  // Proves the API order: a hand-made ParsedImage cannot be "verified".
  const parsed = parseImage(signImage(packImage(contents()), KEY_A));
  const forged = { ...parsed };
  assert.match(errorOf(() => verifyImage(forged, TRUST_A)), 'not an image returned by parseImage');
});

/** The signatures of a signed image, read back from its signature block by the layout. */
function realSignatures(image: Uint8Array) {
  const body = u32(image, 12);
  const dv = new DataView(image.buffer, image.byteOffset);
  const count = dv.getUint16(body + 4, true);
  const out = [];
  let at = body + 8;
  for (let i = 0; i < count; i++) {
    const id = dv.getUint16(at, true);
    const length = dv.getUint16(at + 2, true);
    out.push({
      algorithm: (id === 2 ? 'ecdsa-p384' : 'ml-dsa-65') as 'ecdsa-p384' | 'ml-dsa-65',
      keyIdHex: Buffer.from(image.subarray(at + 4, at + 20)).toString('hex'),
      signature: image.slice(at + 20, at + 20 + length),
    });
    at += 20 + length;
  }
  return out;
}

// Offsets of every position class in a signed image, from the layout.
function layout(image: Uint8Array) {
  const table = (i: number) => IMAGE_HEADER_BYTES + i * TABLE_ENTRY_BYTES;
  const body = u32(image, 12);
  const sectionAt = (i: number) => u32(image, table(i) + 4);
  return { table, body, sectionAt, sig: body + 8 };
}

test('a flipped byte in any position class is refused with the right message', () => {
  // Proves each part of the format is checked and the message says which part failed.
  const image = signImage(packImage(contents()), KEY_A);
  const L = layout(image);
  const cases: [string, number, number, RegExp][] = [
    ['magic', 0, 0x01, /^not a QENEX image: magic/],
    ['format version', 4, 0x02, /^unsupported image format version 3/],
    ['section count', 6, 0x01, /^header: section count 5|^header: table bytes/],
    ['section count (high)', 7, 0x80, /^header: section count/],
    ['table bytes', 8, 0x01, /^header: table bytes/],
    ['body bytes', 12, 0x01, /^header: body bytes/],
    ['flags (unknown bit)', 16, 0x02, /^header: unknown flags 0x2 /],
    ['flags (prepared, no such section)', 16, 0x01, /^section table: 4 sections, the manifest needs 5 \(.*, prepared\)/],
    ['header reserved', 20, 0x01, /^header: reserved/],
    ['table name length', L.table(1), 0x01, /^section table: entry 1: name/],
    ['table reserved', L.table(1) + 1, 0x01, /^section table: entry 1 \('kernel'\): reserved/],
    ['table offset', L.table(2) + 4, 0x01, /^section table: section 'service:echo' starts at/],
    ['table length', L.table(2) + 8, 0x01, /^section table: section 'service:counter' starts at/],
    ['table length (last)', L.table(3) + 8, 0x01, /^header: body bytes/],
    ['table sha256', L.table(1) + 16, 0x01, /^section 'kernel' digest mismatch/],
    ['table name', L.table(1) + 48 + 5, 0x01, /^section table: entry 1 is 'kernem', expected 'kernel'/],
    ['table name padding', L.table(0) + 48 + 60, 0x01, /^section table: entry 0: name padding/],
    ['manifest data', L.sectionAt(0) + 3, 0x01, /^section 'manifest' digest mismatch/],
    ['kernel data', L.sectionAt(1), 0x01, /^section 'kernel' digest mismatch/],
    ['echo data', L.sectionAt(2) + ECHO.length - 1, 0x01, /^section 'service:echo' digest mismatch/],
    ['counter data', L.sectionAt(3) + 1, 0x01, /^section 'service:counter' digest mismatch/],
    ['signature magic', L.body, 0x01, /^signature block: magic/],
    ['signature count', L.body + 4, 0x02, /^image has \d+ unexpected bytes after the signature block/],
    ['signature count up', L.body + 4, 0x01, /^image truncated: /],
    ['signature reserved', L.body + 6, 0x01, /^signature block: reserved/],
    ['signature algorithm', L.sig, 0x02, /^signature block: signature 0: unknown algorithm id 0/],
    ['signature algorithm swap', L.sig, 0x01, /^signature block: signature 0 \(ml-dsa-65\): 96 bytes, expected 3309/],
    ['signature length', L.sig + 2, 0x01, /^signature block: signature 0 \(ecdsa-p384\): 97 bytes, expected 96/],
    ['signature key id', L.sig + 4, 0x01, /^missing ECDSA P-384 signature/],
    ['signature bytes', L.sig + 20 + 10, 0x01, new RegExp(`^ECDSA P-384 signature by key ${A_EC.keyIdHex} does not verify`)],
    ['second signature bytes', L.sig + 20 + 96 + 20 + 10, 0x01, new RegExp(`^ML-DSA-65 signature by key ${A_PQ.keyIdHex} does not verify`)],
  ];
  for (const [what, offset, mask, expected] of cases) {
    const message = errorOf(() => openImage(flipped(image, offset, mask), TRUST_A));
    assert.match(message, expected, `${what} (offset ${offset}): got "${message}"`);
  }
});

test('every single flipped byte of a signed image is refused', () => {
  // Proves there is no byte in the image that is not covered by a check, digest or signature.
  // The 3309 bytes of the ML-DSA signature are sampled (its first and last
  // 64 bytes, then every 31st): each flip there costs a full ML-DSA verify.
  const image = signImage(packImage(contents()), KEY_A);
  const pqStart = layout(image).sig + 20 + 96 + 20;
  const pqEnd = image.length;
  for (let offset = 0; offset < image.length; offset++) {
    if (offset >= pqStart + 64 && offset < pqEnd - 64 && (offset - pqStart) % 31 !== 0) continue;
    for (const mask of [0x01, 0x80, 0xff]) {
      let refused = false;
      try {
        openImage(flipped(image, offset, mask), TRUST_A);
      } catch (e) {
        assert.instance(e, ImageError, `offset ${offset}: ${String(e)}`);
        refused = true;
      }
      assert.ok(refused, `flip 0x${mask.toString(16)} at offset ${offset} of ${image.length} was accepted`);
    }
  }
});

test('a truncated image is refused as truncated at every kind of cut', () => {
  // Proves cuts in the header, table, each section and the signature block all say "image truncated".
  const image = signImage(packImage(contents()), KEY_A);
  const L = layout(image);
  const cuts = [
    0, 3, IMAGE_HEADER_BYTES - 1, IMAGE_HEADER_BYTES, L.table(2) + 7, L.sectionAt(0) + 10, L.sectionAt(1) + 2,
    L.sectionAt(3), L.body - 1, L.body, L.body + 7, L.sig + 10, L.sig + 20, image.length - 1,
  ];
  for (const cut of cuts) {
    const message = errorOf(() => parseImage(image.subarray(0, cut)));
    assert.match(message, /^image truncated: /, `cut at ${cut}: got "${message}"`);
  }
});

test('extra bytes after the signature block are refused', () => {
  // Proves the image ends exactly after its last signature.
  const image = signImage(packImage(contents()), KEY_A);
  const longer = new Uint8Array(image.length + 1);
  longer.set(image);
  assert.match(errorOf(() => parseImage(longer)), 'image has 1 unexpected bytes after the signature block');
});

test('sections must match the manifest: order, presence, no extras', () => {
  // Proves the table is checked against the manifest, with hand-built images.
  const m = canonicalManifest();
  const ok = rawImage([
    { name: 'manifest', data: m }, { name: 'kernel', data: KERNEL },
    { name: 'service:echo', data: ECHO }, { name: 'service:counter', data: COUNTER },
  ]);
  assert.equal(parseImage(ok).services.get('counter'), COUNTER);
  const swapped = rawImage([
    { name: 'manifest', data: m }, { name: 'kernel', data: KERNEL },
    { name: 'service:counter', data: COUNTER }, { name: 'service:echo', data: ECHO },
  ]);
  assert.match(errorOf(() => parseImage(swapped)), "section table: entry 2 is 'service:counter', expected 'service:echo'");
  const missing = rawImage([{ name: 'manifest', data: m }, { name: 'kernel', data: KERNEL }, { name: 'service:echo', data: ECHO }]);
  assert.match(errorOf(() => parseImage(missing)), 'section table: 3 sections, the manifest needs 4');
  const extra = rawImage([
    { name: 'manifest', data: m }, { name: 'kernel', data: KERNEL }, { name: 'service:echo', data: ECHO },
    { name: 'service:counter', data: COUNTER }, { name: 'service:other', data: ECHO },
  ]);
  assert.match(errorOf(() => parseImage(extra)), 'section table: 5 sections, the manifest needs 4');
  const kernelFirst = rawImage([
    { name: 'kernel', data: KERNEL }, { name: 'manifest', data: m },
    { name: 'service:echo', data: ECHO }, { name: 'service:counter', data: COUNTER },
  ]);
  assert.match(errorOf(() => parseImage(kernelFirst)), "section table: entry 0 is 'kernel', expected 'manifest'");
  const duplicate = rawImage([
    { name: 'manifest', data: m }, { name: 'kernel', data: KERNEL }, { name: 'kernel', data: KERNEL },
  ]);
  assert.match(errorOf(() => parseImage(duplicate)), "duplicate section 'kernel'");
});

test('the manifest section must be valid, canonical JSON', () => {
  // Proves an invalid or non-canonically spelled manifest is refused even with correct digests.
  const sections = (data: Uint8Array) => rawImage([
    { name: 'manifest', data }, { name: 'kernel', data: KERNEL },
    { name: 'service:echo', data: ECHO }, { name: 'service:counter', data: COUNTER },
  ]);
  const spaced = Buffer.from(JSON.stringify(MANIFEST, null, 1));
  assert.match(errorOf(() => parseImage(sections(spaced))), "section 'manifest': not in canonical form");
  assert.match(errorOf(() => parseImage(sections(Buffer.from('{"name":')))), "section 'manifest': not valid UTF-8 JSON");
  assert.match(errorOf(() => parseImage(sections(new Uint8Array([0xff, 0xfe])))), "section 'manifest': not valid UTF-8 JSON");
  const bad = Buffer.from(JSON.stringify({ ...MANIFEST, version: 0 }));
  assert.match(errorOf(() => parseImage(sections(bad))), "section 'manifest': manifest: version: 0 is out of range");
});

test('packImage refuses mismatched service modules and bad manifests', () => {
  // Proves the packer only writes images the parser would accept.
  const c = contents();
  c.services.delete('counter');
  assert.match(errorOf(() => packImage(c)), "no module bytes for service 'counter'");
  const d = contents();
  d.services.set('ghost', ECHO);
  assert.match(errorOf(() => packImage(d)), "module bytes given for 'ghost', which the manifest does not list");
  const e = contents();
  assert.match(errorOf(() => packImage({ ...e, manifest: { ...MANIFEST, name: 'Bank' } })), 'cannot pack: manifest: name:');
});

test('key files: write, load, key id, and clear errors', () => {
  // Proves the on-disk key format, the 0600 mode, the key id rule and that errors name the file.
  const dir = mkdtempSync(join(tmpdir(), 'qenex-keys-'));
  try {
    const { key, keyPath, pubPath } = writeKeyPair(join(dir, 'k'));
    assert.is(statSync(keyPath).mode & 0o777, 0o600);
    assert.match(readFileSync(keyPath, 'utf8'), '-----BEGIN PRIVATE KEY-----');
    assert.match(readFileSync(pubPath, 'utf8'), '-----BEGIN PUBLIC KEY-----');
    assert.match(readFileSync(keyPath, 'utf8'), '-----BEGIN ML-DSA-65 SEED-----');
    assert.match(readFileSync(pubPath, 'utf8'), '-----BEGIN ML-DSA-65 PUBLIC KEY-----');
    const loaded = loadSigningKey(keyPath);
    const pub = loadPublicKeys(pubPath);
    assert.equal(loaded.publicKeys.map((k) => k.keyIdHex), key.publicKeys.map((k) => k.keyIdHex));
    assert.equal(pub.map((k) => [k.algorithm, k.keyIdHex]), key.publicKeys.map((k) => [k.algorithm, k.keyIdHex]));
    assert.equal(pub.map((k) => k.raw.length), [97, 1952]);
    assert.is(keyIdHex(pub[1]), createHash('sha256').update(pub[1].raw).digest('hex').slice(0, 32));
    // A loaded key signs what the written public keys verify.
    assert.ok(openImage(signImage(packImage(contents()), loaded), pub));
    assert.throws(() => writeKeyPair(join(dir, 'k')), (e: Error) => e instanceof KeyError && /already exists/.test(e.message));
    const replaced = writeKeyPair(join(dir, 'k'), { force: true });
    assert.is.not(replaced.key.keyIdHex, key.keyIdHex);
    const keyError = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (e: Error) => e instanceof KeyError && pattern.test(e.message));
    keyError(() => loadSigningKey(join(dir, 'nope.key')), /nope\.key: cannot read signing key/);
    keyError(() => loadPublicKeys(keyPath), /signing\.key: not an SPKI PEM public key \(this is a private key/);
    writeFileSync(join(dir, 'pub-as-key'), readFileSync(pubPath), { mode: 0o600 });
    keyError(() => loadSigningKey(join(dir, 'pub-as-key')), /pub-as-key: not a PKCS#8 PEM private key \(this is a public key\)/);
    writeFileSync(join(dir, 'garbage.key'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', { mode: 0o600 });
    keyError(() => loadSigningKey(join(dir, 'garbage.key')), /garbage\.key: cannot parse private key/);
    // Half a key set is refused, naming the missing half.
    const ecOnly = readFileSync(keyPath, 'utf8').replace(/-----BEGIN ML-DSA-65 SEED-----[\s\S]*$/, '');
    writeFileSync(join(dir, 'ec-only.key'), ecOnly, { mode: 0o600 });
    keyError(() => loadSigningKey(join(dir, 'ec-only.key')), /ec-only\.key: no "ML-DSA-65 SEED" block/);
    const pubEcOnly = readFileSync(pubPath, 'utf8').replace(/-----BEGIN ML-DSA-65 PUBLIC KEY-----[\s\S]*$/, '');
    writeFileSync(join(dir, 'ec-only.pub'), pubEcOnly);
    keyError(() => loadPublicKeys(join(dir, 'ec-only.pub')), /ec-only\.pub: no "ML-DSA-65 PUBLIC KEY" block/);
    // A key of the previous scheme (Ed25519) gets a re-key message, not a parse error.
    const ed = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'ed.key'), ed.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    keyError(() => loadSigningKey(join(dir, 'ed.key')), /ed\.key: an Ed25519 key \(the previous scheme\); run qenex keygen again/);
    writeFileSync(join(dir, 'ed.pub'), ed.publicKey.export({ format: 'pem', type: 'spki' }));
    keyError(() => loadPublicKeys(join(dir, 'ed.pub')), /ed\.pub: an Ed25519 key/);
    if (process.platform !== 'win32') {
      chmodSync(keyPath, 0o644);
      keyError(() => loadSigningKey(keyPath), /signing\.key: signing key is accessible by others \(mode 644\)/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
