// `qenex keygen / build / sign --hsm pkcs11 --label L` against a real
// SoftHSM2 token, and `--hsm soft`: the P-384 key is made inside the token,
// the ML-DSA-65 seed is sealed under the token's AES key, the images these
// commands sign verify against the signing.pub keygen wrote, and misuse is a
// one-line error. Also proves the HSM key refuses export after keygen.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, type CommandIo } from '../../host/cmd/args.ts';
import { main as keygen } from '../../host/cmd/keygen.ts';
import { main as build } from '../../host/cmd/build.ts';
import { main as sign } from '../../host/cmd/sign.ts';
import { openImage } from '../../host/image.ts';
import { loadPublicKeys } from '../../host/base/keys.ts';
import { HsmError, openHsm } from '../../host/hsm/hsm.ts';
import { makeSoftHsmToken } from '../support/softhsm.ts';

const token = makeSoftHsmToken('qenex-cli');
const root = mkdtempSync(join(tmpdir(), 'qenex-cli-hsm-'));
process.env.QENEX_SOFT_HSM_DIR = join(root, 'soft');
const imageDir = join(root, 'images', 'bank');
const modules = join(root, 'build');
const EMPTY_MODULE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
// One exported memory of one page: the least `build` prepares as a service module.
const SERVICE_MODULE = new Uint8Array([...EMPTY_MODULE, 5, 3, 1, 0, 1, 7, 10, 1, 6, ...Buffer.from('memory'), 2, 0]);

function collector(): CommandIo & { text(): string; errors(): string } {
  const lines: string[] = [];
  const errs: string[] = [];
  return { out: (t) => { lines.push(t); }, err: (t) => { errs.push(t); }, text: () => lines.join('\n'), errors: () => errs.join('') };
}

async function fails(run: Promise<number>, exitCode: number, pattern: RegExp | string): Promise<void> {
  try {
    await run;
  } catch (e) {
    assert.instance(e, CliError, String(e));
    assert.is((e as CliError).exitCode, exitCode, (e as Error).message);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable('command succeeded');
}

test.before(() => {
  mkdirSync(imageDir, { recursive: true });
  mkdirSync(join(modules, 'services'), { recursive: true });
  const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../images/bank/manifest.json', import.meta.url)), 'utf8'));
  writeFileSync(join(imageDir, 'manifest.json'), JSON.stringify(manifest));
  writeFileSync(join(modules, 'kernel.wasm'), EMPTY_MODULE);
  for (const s of manifest.services) writeFileSync(join(modules, 'services', `${s.module}.wasm`), SERVICE_MODULE);
});

for (const kind of ['pkcs11', 'soft'] as const) {
  test(`${kind}: keygen --hsm creates the key set; build and sign --hsm produce images that verify`, async () => {
    const keys = join(root, `${kind}-keys`);
    const io = collector();
    assert.is(await keygen(['--hsm', kind, '--label', 'release', '--out', keys], io), 0);
    assert.match(io.text(), /^key [0-9a-f]{32} \(ecdsa-p384\) \+ [0-9a-f]{32} \(ml-dsa-65\) in .* label "release": wrote /);
    assert.not.ok(existsSync(join(keys, 'signing.key')), 'no private key file for an HSM key set');
    const trusted = loadPublicKeys(join(keys, 'signing.pub'));
    if (kind === 'soft') assert.match(io.errors(), 'WARNING: using the software HSM token');
    else assert.is(io.errors(), '');

    const out = join(root, `${kind}.qxi`);
    const b = collector();
    assert.is(await build([imageDir, '-o', out, '--modules', modules, '--hsm', kind, '--label', 'release'], b), 0);
    assert.match(b.text(), `signed by ecdsa-p384 key ${trusted[0].keyIdHex}, ml-dsa-65 key ${trusted[1].keyIdHex}`);
    const parsed = openImage(new Uint8Array(readFileSync(out)), trusted);
    assert.equal(parsed.signatures.map((s) => s.valid), [true, true]);

    // sign --hsm on an image built unsigned.
    const unsigned = join(root, `${kind}-unsigned.qxi`);
    await build([imageDir, '-o', unsigned, '--modules', modules], collector());
    assert.is(await sign([unsigned, '--hsm', kind, '--label', 'release'], collector()), 0);
    assert.ok(openImage(new Uint8Array(readFileSync(unsigned)), trusted));

    // The same label again is refused; an unknown label is a clear failure.
    await fails(keygen(['--hsm', kind, '--label', 'release'], collector()), 1, 'a signing key labelled "release" already exists');
    await fails(sign([unsigned, '--hsm', kind, '--label', 'absent'], collector()), 1, /key "absent".*no ECDSA P-384 (public )?key labelled "absent"/);
  });
}

test('pkcs11: after keygen the token refuses to export the signing and wrapping keys', async () => {
  const hsm = await openHsm({ kind: 'pkcs11' });
  try {
    for (const [label, kind] of [['release', 'signing'], ['release.wrap', 'secret']] as const) {
      try {
        await hsm.exportKey(label, kind, 'release.wrap');
        assert.unreachable(`${label} was exported`);
      } catch (e) {
        assert.instance(e, HsmError);
        assert.is((e as HsmError).code, 'EHSM_UNEXTRACTABLE');
      }
    }
  } finally {
    hsm.close();
  }
});

test('misuse of --hsm, --label and --key is a usage error', async () => {
  const out = join(root, 'x.qxi');
  await fails(keygen(['--hsm', 'pkcs11'], collector()), 2, '--hsm needs --label <label>');
  await fails(keygen(['--hsm', 'tpm', '--label', 'x'], collector()), 2, '--hsm must be pkcs11 or soft');
  await fails(keygen(['--label', 'x', '--out', join(root, 'k')], collector()), 2, '--label needs --hsm');
  await fails(build([imageDir, '-o', out, '--modules', modules, '--hsm', 'pkcs11'], collector()), 2, '--hsm needs --label');
  await fails(build([imageDir, '-o', out, '--modules', modules, '--key', 'k', '--hsm', 'pkcs11', '--label', 'x'], collector()), 2, 'either --key or --hsm');
  await fails(keygen(['--hsm', 'pkcs11', '--label', 'bad label!'], collector()), 1, 'HSM key label "bad label!"');
  assert.not.ok(existsSync(out));
});

test('a wrong PIN stops keygen with a one-line error naming the token', async () => {
  const pin = process.env.QENEX_PKCS11_PIN;
  process.env.QENEX_PKCS11_PIN = '999999';
  try {
    await fails(keygen(['--hsm', 'pkcs11', '--label', 'other'], collector()), 1, /refused the PIN/);
  } finally {
    process.env.QENEX_PKCS11_PIN = pin;
  }
});

test.after(() => {
  token.remove();
  rmSync(root, { recursive: true, force: true });
});

test.run();
