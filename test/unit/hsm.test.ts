// The HSM device against a real SoftHSM2 token (PKCS#11 through the Rust
// addon) and the software token: key generation, keys that refuse export,
// ECDSA P-384 sign/verify (checked independently with node:crypto), AES-256-GCM
// round trips that fail loudly on any change, random bytes, data objects, and
// clear errors for a wrong PIN, a missing token and a missing key.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HsmError, openHsm, type HsmDevice } from '../../host/hsm/hsm.ts';
import { p384PublicKeyObject } from '../../host/hsm/soft.ts';
import { makeSoftHsmToken } from '../support/softhsm.ts';

const token = makeSoftHsmToken();
const softDir = mkdtempSync(join(tmpdir(), 'qenex-soft-hsm-'));
const notices: string[] = [];

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, HsmError);
    return (e as HsmError).code;
  }
  throw new Error('expected a rejection');
}

const devices: Array<[string, () => Promise<HsmDevice>]> = [
  ['pkcs11', () => openHsm({ kind: 'pkcs11' })],
  ['soft', () => openHsm({ kind: 'soft', softDir, notice: (l) => notices.push(l) })],
];

for (const [name, open] of devices) {
  test(`${name}: P-384 keys sign; node:crypto verifies; tampered data does not verify`, async () => {
    const hsm = await open();
    const point = await hsm.generateSigningKey('image');
    assert.is(point.length, 97);
    assert.is(point[0], 4);
    assert.equal(await hsm.signingPublicKey('image'), point);
    const data = new TextEncoder().encode('an image digest');
    const sig = await hsm.sign('image', data);
    assert.is(sig.length, 96);
    assert.ok(cryptoVerify('sha384', data, { key: p384PublicKeyObject(point), dsaEncoding: 'ieee-p1363' }, sig));
    assert.ok(await hsm.verify('image', data, sig));
    const flipped = data.slice();
    flipped[0] ^= 1;
    assert.not.ok(await hsm.verify('image', flipped, sig));
    assert.is(await codeOf(hsm.generateSigningKey('image')), 'EHSM_EXISTS');
    assert.is(await codeOf(hsm.sign('nope', data)), 'EHSM_NOKEY');
    hsm.close();
  });

  test(`${name}: private and secret keys refuse export`, async () => {
    const hsm = await open();
    await hsm.generateSecretKey('wrap');
    assert.ok(await hsm.hasKey('wrap', 'secret'));
    assert.ok(await hsm.hasKey('image', 'signing'));
    assert.not.ok(await hsm.hasKey('absent', 'secret'));
    assert.is(await codeOf(hsm.exportKey('image', 'signing', 'wrap')), 'EHSM_UNEXTRACTABLE');
    assert.is(await codeOf(hsm.exportKey('wrap', 'secret', 'wrap')), 'EHSM_UNEXTRACTABLE');
    hsm.close();
  });

  test(`${name}: AES-256-GCM round trip; key, IV, AAD or byte changes fail with EHSM_AUTH`, async () => {
    const hsm = await open();
    await hsm.generateSecretKey('other');
    const iv = await hsm.random(12);
    const aad = new TextEncoder().encode('log segment 7');
    const plain = new TextEncoder().encode('the ledger at rest');
    const sealed = await hsm.encrypt('wrap', iv, aad, plain);
    assert.is(sealed.length, plain.length + 16);
    assert.equal(await hsm.decrypt('wrap', iv, aad, sealed), plain);
    const bad = sealed.slice();
    bad[3] ^= 0x40;
    assert.is(await codeOf(hsm.decrypt('wrap', iv, aad, bad)), 'EHSM_AUTH');
    assert.is(await codeOf(hsm.decrypt('other', iv, aad, sealed)), 'EHSM_AUTH');
    assert.is(await codeOf(hsm.decrypt('wrap', iv, new Uint8Array(1), sealed)), 'EHSM_AUTH');
    const iv2 = iv.slice();
    iv2[0] ^= 1;
    assert.is(await codeOf(hsm.decrypt('wrap', iv2, aad, sealed)), 'EHSM_AUTH');
    assert.is(await codeOf(hsm.encrypt('wrap', new Uint8Array(8), aad, plain)), 'ERR_INVALID_ARG_VALUE');
    hsm.close();
  });

  test(`${name}: random bytes and data objects`, async () => {
    const hsm = await open();
    const a = await hsm.random(32);
    const b = await hsm.random(32);
    assert.is(a.length, 32);
    assert.not.equal(a, b);
    await hsm.putData('blob', new Uint8Array([1, 2, 3]));
    assert.equal(await hsm.getData('blob'), new Uint8Array([1, 2, 3]));
    assert.is(await codeOf(hsm.putData('blob', new Uint8Array(1))), 'EHSM_EXISTS');
    assert.is(await codeOf(hsm.getData('none')), 'EHSM_NOKEY');
    hsm.close();
  });

  test(`${name}: a wrong PIN is refused`, async () => {
    assert.is(await codeOf(name === 'soft'
      ? openHsm({ kind: 'soft', softDir, pin: '000000', notice: () => {} })
      : openHsm({ kind: 'pkcs11', pin: '000000' })), 'EHSM_CONFIG');
  });
}

test('pkcs11: an unknown token or module is a configuration error naming it', async () => {
  try {
    await openHsm({ kind: 'pkcs11', token: 'no-such-token' });
    assert.unreachable();
  } catch (e) {
    assert.is((e as HsmError).code, 'EHSM_CONFIG');
    assert.match((e as Error).message, 'no initialised token labelled "no-such-token"');
  }
  assert.is(await codeOf(openHsm({ kind: 'pkcs11', module: '/nonexistent/libpkcs11.so' })), 'EHSM_CONFIG');
  assert.is(await codeOf(openHsm({ kind: 'pkcs11', pin: '', env: {} })), 'EHSM_CONFIG');
});

test('soft: warns on open and keeps its token file private', () => {
  assert.ok(notices.length > 0 && notices.every((l) => l.includes('WARNING: using the software HSM token')));
  assert.is(statSync(join(softDir, 'qenex-test.token')).mode & 0o077, 0);
});

test.after(() => {
  token.remove();
  rmSync(softDir, { recursive: true, force: true });
});

test.run();
