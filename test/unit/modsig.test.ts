// Module signatures for live load (host/modsig.ts) and `qenex sign
// <module.wasm>` (host/cmd/sign.ts): what verifies and what is refused.
// The end-to-end refusals through a running system are in
// test/integration/live-load.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, writeKeyPair } from '../../host/base/keys.ts';
import {
  signModule, verifyModule, decodeModuleSignatures, encodeModuleSignatures, ModuleSignatureError, MODULE_SIGNATURE_BYTES_MAX,
} from '../../host/modsig.ts';
import * as signCmd from '../../host/cmd/sign.ts';

const dir = mkdtempSync(join(tmpdir(), 'qenex-modsig-'));
const trusted = writeKeyPair(join(dir, 'trusted')).key;
const other = generateKeyPair();
// The smallest valid module: magic and version.
const MODULE = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);

test.after(() => rmSync(dir, { recursive: true, force: true }));

function refused(f: () => void, pattern: RegExp): void {
  try {
    f();
  } catch (e) {
    assert.instance(e, ModuleSignatureError);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable('expected a ModuleSignatureError');
}

test('a module signed by the trusted key set verifies; the format round-trips', async () => {
  const sig = await signModule(MODULE, trusted);
  assert.ok(sig.length <= MODULE_SIGNATURE_BYTES_MAX);
  verifyModule(MODULE, sig, trusted.publicKeys);
  const decoded = decodeModuleSignatures(sig);
  assert.equal(decoded.map((s) => s.algorithm).sort(), ['ecdsa-p384', 'ml-dsa-65']);
  assert.equal(encodeModuleSignatures(decoded), sig);
});

test('another key, other bytes, a missing algorithm, garbage and no trusted keys are refused', async () => {
  const sig = await signModule(MODULE, trusted);
  refused(() => verifyModule(MODULE, sig, other.publicKeys), /no valid ecdsa-p384 signature/);
  refused(() => verifyModule(Uint8Array.of(...MODULE, 0), sig, trusted.publicKeys), /no valid/);
  const ecdsaOnly = encodeModuleSignatures(decodeModuleSignatures(sig).filter((s) => s.algorithm === 'ecdsa-p384'));
  refused(() => verifyModule(MODULE, ecdsaOnly, trusted.publicKeys), /no valid ml-dsa-65 signature/);
  refused(() => verifyModule(MODULE, Buffer.from('not a signature'), trusted.publicKeys), /QXMODSIG/);
  refused(() => verifyModule(MODULE, sig.subarray(0, sig.length - 1), trusted.publicKeys), /truncated/);
  refused(() => verifyModule(MODULE, Uint8Array.of(...sig, 0), trusted.publicKeys), /trailing/);
  refused(() => verifyModule(MODULE, sig, []), /trusts no keys/);
});

test('an image signature never verifies as a module signature (different signed message)', async () => {
  // Sign the module's bytes directly, as an image signature would sign its own message.
  const raw = encodeModuleSignatures(await trusted.signAll(MODULE));
  refused(() => verifyModule(MODULE, raw, trusted.publicKeys), /no valid/);
});

test('qenex sign <module.wasm> writes a verifying <module.wasm>.sig; a non-module is refused', async () => {
  const path = join(dir, 'svc.wasm');
  writeFileSync(path, MODULE);
  const out: string[] = [];
  assert.is(await signCmd.main([path, '--key', join(dir, 'trusted', 'signing.key')], { out: (t) => out.push(t) }), 0);
  assert.match(out.join(''), /signed module/);
  verifyModule(MODULE, readFileSync(`${path}.sig`), trusted.publicKeys);
  const bad = join(dir, 'bad.wasm');
  writeFileSync(bad, 'not wasm');
  let message = '';
  try { await signCmd.main([bad, '--key', join(dir, 'trusted', 'signing.key')], { out: () => {} }); } catch (e) { message = (e as Error).message; }
  assert.match(message, /not a WebAssembly module/);
  assert.not.ok(existsSync(`${bad}.sig`));
});

test.run();
