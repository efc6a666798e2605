// test/unit/datakey.test.ts: the manifest's "storage" switch and the data
// key file (host/datakey.ts), without a PKCS#11 token: the switch checks
// need no HSM, and the wrap/unwrap rules run against the software token
// (host/hsm/soft.ts). test/integration/encryption.test.ts does the same
// through the CLI against SoftHSM2.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkStorageSwitch, openDataCipher, DataKeyError, DATAKEY_FILE } from '../../host/datakey.ts';
import { openBlockBackend } from '../../host/devices/block-backend.ts';
import { openHsm, type HsmDevice } from '../../host/hsm/hsm.ts';
import { loadManifestFile, validateManifest, ManifestError } from '../../host/manifest.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STORAGE = { encryption: 'aes-256-gcm' as const, key_label: 'data-1' };

function bank(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'images/bank/manifest.json'), 'utf8'));
}

function codeOf(f: () => unknown): string {
  try { f(); } catch (e) { return e instanceof DataKeyError ? e.code : `${(e as Error).name}: ${(e as Error).message}`; }
  return 'none';
}

async function asyncCodeOf(f: () => Promise<unknown>): Promise<string> {
  try { await f(); } catch (e) { return e instanceof DataKeyError ? e.code : `${(e as Error).name}: ${(e as Error).message}`; }
  return 'none';
}

function withDir<T>(body: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'qenex-datakey-'));
  return Promise.resolve().then(() => body(dir)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function softHsm(dir: string, token = 'soft-token'): Promise<HsmDevice> {
  return openHsm({ kind: 'soft', softDir: join(dir, 'soft-hsm'), token, pin: '1234', notice: () => {} });
}

test('the manifest takes storage.encryption aes-256-gcm with a key label, and nothing else', () => {
  // Proves the validator accepts the switch, keeps it in the canonical
  // manifest, and names the path of every bad value.
  const ok = validateManifest({ ...bank(), storage: STORAGE });
  assert.equal(ok.storage, STORAGE);
  assert.is(Object.keys(ok).at(-1), 'storage');
  const bad = (storage: unknown) => {
    try { validateManifest({ ...bank(), storage }); } catch (e) { assert.instance(e, ManifestError); return (e as Error).message; }
    return 'accepted';
  };
  assert.match(bad({ encryption: 'aes-128-cbc', key_label: 'x' }), /storage\.encryption: must be "aes-256-gcm"/);
  assert.match(bad({ encryption: 'aes-256-gcm', key_label: '' }), /storage\.key_label: must be an HSM key label/);
  assert.match(bad({ encryption: 'aes-256-gcm', key_label: 'has space' }), /storage\.key_label/);
  assert.match(bad({ encryption: 'aes-256-gcm' }), /storage/);
  assert.match(bad({ encryption: 'aes-256-gcm', key_label: 'k', extra: 1 }), /storage\.extra/);
  const sealed = loadManifestFile(join(ROOT, 'images/bank-sealed/manifest.json'));
  assert.equal(sealed.storage, { encryption: 'aes-256-gcm', key_label: 'qenex-data' });
});

test('the storage switch cannot change on an existing data directory', () =>
  withDir(async (dir) => {
    // Proves each refusal that needs no HSM: plain log + switch on, data key
    // + switch off, sealed log without its data key, another key label, and
    // a malformed datakey.json; a new directory passes either way.
    const o = (storage: typeof STORAGE | undefined) => () => checkStorageSwitch({ dataDir: dir, storage, logFile: 'log.qxl' });
    assert.is(codeOf(o(STORAGE)), 'none', 'new directory, switch on');
    assert.is(codeOf(o(undefined)), 'none', 'new directory, switch off');
    writeFileSync(join(dir, 'log.qxl'), Buffer.from('QXL1 a plain log'));
    assert.is(codeOf(o(STORAGE)), 'EDATAKEY_SWITCH');
    writeFileSync(join(dir, 'log.qxl'), Buffer.concat([Buffer.from('QXSEAL01'), Buffer.alloc(56)]));
    assert.is(codeOf(o(undefined)), 'EDATAKEY_FILE');
    assert.is(codeOf(o(STORAGE)), 'EDATAKEY_FILE');
    writeFileSync(join(dir, DATAKEY_FILE), JSON.stringify({ format: 'qenex-datakey-v1' }));
    assert.is(codeOf(o(STORAGE)), 'EDATAKEY_FILE', 'malformed datakey.json');
    const hsm = await softHsm(dir);
    rmSync(join(dir, DATAKEY_FILE));
    rmSync(join(dir, 'log.qxl'));
    await openDataCipher({ dataDir: dir, storage: STORAGE, logFile: 'log.qxl', create: true, hsm, notice: () => {} });
    hsm.close();
    assert.is(codeOf(o(undefined)), 'EDATAKEY_SWITCH', 'data key present, switch off');
    assert.is(codeOf(o({ ...STORAGE, key_label: 'data-2' })), 'EDATAKEY_SWITCH', 'another key label');
  }));

test('create, unwrap, and the specific errors of a missing or wrong key', () =>
  withDir(async (dir) => {
    // Proves the data key round trip (the same key comes back: a file
    // sealed on the first open reads on the second) and that a token
    // without the label, or with another key under it, are EDATAKEY_NOKEY
    // and EDATAKEY_WRONGKEY; an edited label is EDATAKEY_SWITCH.
    const notices: string[] = [];
    const hsm = await softHsm(dir);
    const opts = { dataDir: dir, storage: STORAGE, logFile: 'log.qxl', hsm, notice: (l: string) => notices.push(l) };
    const created = await openDataCipher({ ...opts, create: true });
    assert.ok(created !== null);
    assert.match(notices.join('\n'), /created AES-256 key "data-1"/);
    const file = openBlockBackend(join(dir, 'log.qxl'), { create: true, lock: false, readOnly: false, backend: 'pure', layer: created! });
    await file.writeDurable(0, Buffer.from('sealed entry bytes'));
    file.close();
    const again = await openDataCipher({ ...opts, create: false });
    const reader = openBlockBackend(join(dir, 'log.qxl'), { create: false, lock: false, readOnly: true, backend: 'pure', layer: again! });
    const back = new Uint8Array(reader.size());
    reader.readAt(0, back);
    reader.close();
    assert.is(Buffer.from(back).toString(), 'sealed entry bytes');
    hsm.close();

    const other = await softHsm(join(dir, 'other'), 'other-token');
    assert.is(await asyncCodeOf(() => openDataCipher({ ...opts, hsm: other, create: false })), 'EDATAKEY_NOKEY');
    await other.generateSecretKey('data-1');
    assert.is(await asyncCodeOf(() => openDataCipher({ ...opts, hsm: other, create: false })), 'EDATAKEY_WRONGKEY');
    assert.is(await asyncCodeOf(() => openDataCipher({ ...opts, hsm: other, create: false, storage: { ...STORAGE, key_label: 'data-2' } })),
      'EDATAKEY_SWITCH');
    other.close();
  }));

test('without an HSM configured the error says so before anything is read', () =>
  withDir(async (dir) => {
    // Proves: a sealed directory and no PIN → EDATAKEY_NOHSM naming the key label.
    const hsm = await softHsm(dir);
    await openDataCipher({ dataDir: dir, storage: STORAGE, logFile: 'log.qxl', create: true, hsm, notice: () => {} });
    hsm.close();
    try {
      await openDataCipher({ dataDir: dir, storage: STORAGE, logFile: 'log.qxl', create: false, hsmOptions: { env: {} } });
      assert.unreachable('opened without an HSM');
    } catch (e) {
      assert.instance(e, DataKeyError);
      assert.is((e as DataKeyError).code, 'EDATAKEY_NOHSM');
      assert.match((e as Error).message, /wrapped by the HSM key "data-1", and the HSM is not available: no HSM PIN/);
    }
  }));

test.run();
