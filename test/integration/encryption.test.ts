// Encryption at rest (manifest "storage"), through the real CLI against a
// real SoftHSM2 token: a data directory whose command log is sealed with
// AES-256-GCM under a data key wrapped by an HSM key. Ledger transfers
// survive a reboot and replay; the file holds no plaintext; without the HSM,
// with the wrong token, key label or key, boot names what is wrong before
// reading anything; the storage switch cannot change on an existing
// directory; a torn last record is recovered as a torn tail; a damaged
// record in the middle stops boot and is named by `qenex audit verify`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameClient } from '../../host/client/frames.ts';
import { LedgerClient, account, transfer, id, CreateTransferResult } from '../../host/client/ledger.ts';
import { openDataCipher } from '../../host/datakey.ts';
import { openBlockBackend } from '../../host/devices/block-backend.ts';
import { FILE_HEADER_BYTES, PAIR_BYTES, RECORD_BYTES, SECTOR_BYTES, SEAL_MAGIC } from '../../host/devices/encrypted-backend.ts';
import { validateManifest, type Manifest } from '../../host/manifest.ts';
import { parseImage } from '../../host/image.ts';
import { makeImage, bankManifest, removeDir, runCli, event, Server, logEntries, type TestImage, type LogEntry } from '../support/helpers.ts';
import { makeSoftHsmToken, type SoftHsmToken } from '../support/softhsm.ts';

const KEY_LABEL = 'qenex-data-test';
// A distinctive 16-byte value carried by every transfer: it must never appear on disk.
const MARKER = Buffer.from('QENEX-PLAINTEXT!', 'ascii');
const MARKER_U128 = BigInt('0x' + MARKER.toString('hex'));
const BATCHES = 40; // enough log to span many 4 KiB sectors
const PER_BATCH = 8;

let token: SoftHsmToken;
let img: TestImage; // storage: aes-256-gcm
let plainImg: TestImage; // the same, without storage
let pristine: string;
let stoppedHash: string;
let accounts: [bigint, bigint];

function sealedManifest(): Manifest {
  const m = bankManifest() as Manifest & { storage?: unknown };
  m.kernel.log_preallocate_bytes = 1 << 20; // the sealed file is twice that; keep the temp dirs small
  return validateManifest({ ...m, storage: { encryption: 'aes-256-gcm', key_label: KEY_LABEL } });
}

function bootArgs(image: TestImage, data: string, extra: string[] = []): string[] {
  return ['boot', image.imagePath, '--data', data, '--trust', image.pubPath, ...extra];
}

function copyData(name: string): string {
  const dir = join(img.dir, name);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

// The decrypted log (through the same HSM), and its entries.
async function logicalLog(data: string): Promise<{ bytes: Uint8Array; entries: LogEntry[] }> {
  const cipher = await openDataCipher({ dataDir: data, storage: { encryption: 'aes-256-gcm', key_label: KEY_LABEL }, logFile: 'log.qxl', create: false });
  const file = openBlockBackend(join(data, 'log.qxl'), { create: false, lock: false, readOnly: true, layer: cipher!, notice: () => {} });
  const bytes = new Uint8Array(file.size());
  file.readAt(0, bytes);
  file.close();
  const tmp = join(mkdtempSync(join(tmpdir(), 'qenex-enc-log-')), 'log.qxl');
  writeFileSync(tmp, bytes);
  const entries = logEntries(tmp);
  removeDir(join(tmp, '..'));
  return { bytes, entries };
}

// Flips a ciphertext byte of the newest record of the sector holding logical `offset`.
function damageNewestRecord(data: string, offset: number): number {
  const path = join(data, 'log.qxl');
  const raw = readFileSync(path);
  const sector = Math.floor(offset / SECTOR_BYTES);
  const at = (slot: number) => FILE_HEADER_BYTES + sector * PAIR_BYTES + slot * RECORD_BYTES;
  const version = (slot: number) => (at(slot) + RECORD_BYTES <= raw.length && raw.subarray(at(slot), at(slot) + RECORD_BYTES).some((b) => b !== 0)
    ? raw.readBigUInt64LE(at(slot) + 12) : -1n);
  const slot = version(0) > version(1) ? 0 : 1;
  const byte = at(slot) + 24 + (offset % SECTOR_BYTES);
  const fd = openSync(path, 'r+');
  writeSync(fd, Uint8Array.of(raw[byte] ^ 0x20), 0, 1, byte);
  closeSync(fd);
  return sector;
}

test.before(async () => {
  try {
    await setUp();
  } catch (e) {
    // uvu drops errors thrown by hooks silently; say what failed.
    console.error('encryption.test.ts set-up failed:', e);
    throw e;
  }
});

async function setUp(): Promise<void> {
  token = makeSoftHsmToken('qenex-enc');
  img = makeImage('encryption', sealedManifest());
  plainImg = makeImage('encryption-plain');
  pristine = join(img.dir, 'pristine');
  // First boot: makes the HSM key (absent on a new token) and the data key.
  const first = runCli(bootArgs(img, pristine, ['--once']));
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stderr, new RegExp(`created AES-256 key "${KEY_LABEL}"`));
  const made = runCli(['keys', 'create', '--data', pristine, '--trust', img.pubPath, '--role', 'operator']);
  assert.is(made.code, 0, made.stderr);
  const key = (event(made.events, 'key_created') as { key: string }).key;
  const server = Server.start(bootArgs(img, pristine, ['--listen', '127.0.0.1:0']));
  const { host, port } = await server.address();
  const frames = await FrameClient.connect(host, port);
  await frames.authenticate(key);
  const ledger = new LedgerClient(frames, 'gateway');
  accounts = [id(), id()];
  await ledger.createAccounts(accounts.map((a) => account({ id: a, ledger: 1, code: 10 })));
  for (let b = 0; b < BATCHES; b++) {
    const batch = Array.from({ length: PER_BATCH }, () => transfer({
      id: id(), debit_account_id: accounts[0], credit_account_id: accounts[1], amount: 3n, ledger: 1, code: 1, user_data_128: MARKER_U128,
    }));
    const results = await ledger.createTransfers(batch);
    assert.equal(results.map((r) => r.result), batch.map(() => CreateTransferResult.ok), `batch ${b}`);
  }
  frames.close();
  await server.kill('SIGTERM');
  const stopped = server.events.find((e) => e.event === 'stopped');
  assert.ok(stopped, `stopped cleanly: ${server.stderr}`);
  stoppedHash = String(stopped!.state_hash);
}

test.after(async () => {
  await Server.killAll();
  removeDir(img.dir);
  removeDir(plainImg.dir);
  token.remove();
});

test('the data directory is sealed: datakey.json, a QXSEAL01 log, no plaintext of a known payload', () => {
  // Proves what lies on disk: the wrapped data key, and a log file that
  // holds neither the transfers' user_data_128 marker, nor the entry magic,
  // nor the image digest that a plain log's genesis entry carries.
  const keyFile = JSON.parse(readFileSync(join(pristine, 'datakey.json'), 'utf8'));
  assert.is(keyFile.format, 'qenex-datakey-v1');
  assert.is(keyFile.key_label, KEY_LABEL);
  assert.is(keyFile.token, 'qenex-enc');
  const raw = readFileSync(join(pristine, 'log.qxl'));
  assert.is(raw.subarray(0, 8).toString('latin1'), SEAL_MAGIC);
  assert.is(raw.indexOf(MARKER), -1, 'marker (big-endian) on disk');
  assert.is(raw.indexOf(Buffer.from(MARKER).reverse()), -1, 'marker (little-endian) on disk');
  assert.is(raw.indexOf(Buffer.from('QXL1', 'latin1')), -1, 'an entry header on disk');
  assert.is(raw.indexOf(Buffer.from(parseImage(img.bytes).digestHex, 'hex')), -1, 'the image digest (genesis payload) on disk');
});

test('the decrypted log holds the transfers: the marker is there in plaintext', async () => {
  // Proves the test above would fail if the log were plain: through the
  // data key the same file yields entries and the marker.
  const { bytes, entries } = await logicalLog(pristine);
  assert.ok(entries.length >= BATCHES + 2, `${entries.length} entries`);
  const b = Buffer.from(bytes);
  assert.ok(b.indexOf(MARKER) !== -1 || b.indexOf(Buffer.from(MARKER).reverse()) !== -1, 'marker in the plaintext');
  assert.ok(entries.at(-1)!.offset > 6 * SECTOR_BYTES, 'the log spans several sectors');
});

test('reboot, replay and audit verify read the sealed log and agree with the running system', async () => {
  // Proves the round trip: the state after reboot equals the state the
  // system reported when it stopped; replay (read-only) and audit verify
  // read the same log through the HSM.
  const data = copyData('reboot');
  const boot = runCli(bootArgs(img, data, ['--once']));
  assert.is(boot.code, 0, boot.stderr);
  assert.is(event(boot.events, 'ready')!.state_hash, stoppedHash);
  const replay = runCli(['replay', '--data', data]);
  assert.is(replay.code, 0, replay.stderr);
  assert.is(event(replay.events, 'replay')!.state_hash, stoppedHash);
  const audit = runCli(['audit', 'verify', '--data', data, '--json']);
  assert.is(audit.code, 0, audit.stdout + audit.stderr);
  assert.is(JSON.parse(audit.stdout).ok, true);
});

test('without the HSM, boot, replay and audit verify fail and say so', () => {
  // Proves: no PIN configured → EDATAKEY_NOHSM message, naming the key label,
  // from every command that reads the directory; nothing is read as garbage.
  const env = { QENEX_PKCS11_PIN: '' };
  const expect = new RegExp(`encrypted at rest: its data key is wrapped by the HSM key "${KEY_LABEL}", and the HSM is not available: no HSM PIN`);
  for (const args of [bootArgs(img, pristine, ['--once']), ['replay', '--data', pristine], ['audit', 'verify', '--data', pristine]]) {
    const r = runCli(args, 60_000, env);
    assert.is(r.code, 1, `${args[0]}: ${r.stdout}`);
    assert.match(r.stderr, expect, `${args[0]}: ${r.stderr}`);
  }
});

test('a wrong token, a token without the key, and a wrong key are each named', () => {
  // Proves the three HSM failures are distinct, specific errors.
  const absent = runCli(bootArgs(img, pristine, ['--once']), 60_000, { QENEX_PKCS11_TOKEN: 'no-such-token' });
  assert.is(absent.code, 1);
  assert.match(absent.stderr, /the configured HSM token is not there: .*no initialised token labelled "no-such-token"/);
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'qenex-other', '--pin', token.pin, '--so-pin', `${token.pin}0`],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  const other = { QENEX_PKCS11_TOKEN: 'qenex-other' };
  const noKey = runCli(bootArgs(img, pristine, ['--once']), 60_000, other);
  assert.is(noKey.code, 1);
  assert.match(noKey.stderr, new RegExp(`has no AES key labelled "${KEY_LABEL}" \\(the data key was wrapped on token "qenex-enc"\\)`));
  // A fresh directory on the other token makes a key with the same label: same name, other key.
  const fresh = runCli(bootArgs(img, join(img.dir, 'other-token'), ['--once']), 60_000, other);
  assert.is(fresh.code, 0, fresh.stderr);
  const wrong = runCli(bootArgs(img, pristine, ['--once']), 60_000, other);
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, new RegExp(`the key "${KEY_LABEL}" on PKCS#11 token "qenex-other" .* is not the key that wrapped its data key`));
});

test('the storage switch cannot change on an existing data directory', () => {
  // Proves: a plain directory booted with the sealing image, and a sealed
  // one booted with the plain image, are refused with a message naming the
  // switch (not just "another image").
  const plain = join(plainImg.dir, 'plain');
  const first = runCli(bootArgs(plainImg, plain, ['--once']));
  assert.is(first.code, 0, first.stderr);
  const on = runCli(bootArgs(img, plain, ['--once']));
  assert.is(on.code, 1);
  assert.match(on.stderr, /was created without encryption at rest, but the image's manifest asks for storage.encryption "aes-256-gcm"/);
  const off = runCli(bootArgs(plainImg, copyData('switch-off'), ['--once']));
  assert.is(off.code, 1);
  assert.match(off.stderr, new RegExp(`is encrypted at rest \\(aes-256-gcm, HSM key "${KEY_LABEL}"\\), but the image's manifest has no "storage" section`));
});

test('a torn last record is a torn tail: cut at the last valid entry, the rest intact', async () => {
  // Proves the crash case: the newest record of the sector holding the last
  // entry fails authentication (as a torn write leaves it); boot reports it,
  // reads the sector's previous version, every earlier entry is applied (and
  // nothing else), and replay afterwards agrees with the booted state.
  const data = copyData('torn');
  const { entries } = await logicalLog(data);
  const last = entries.at(-1)!;
  damageNewestRecord(data, last.offset + 40);
  const boot = runCli(bootArgs(img, data, ['--once']));
  assert.is(boot.code, 0, boot.stderr);
  assert.match(boot.stderr, /encrypted sector \d+ .* failed authentication/);
  // The previous version ends where the log ended before the last write, so
  // the kernel sees either a clean end there or (when the lost entry ran on
  // into a sector written once) a torn tail that it cuts at that entry.
  const cut = event(boot.events, 'log_tail_cut');
  if (cut !== undefined) assert.is(Number(cut.entry), Number(last.seq));
  const ready = event(boot.events, 'ready')!;
  assert.is(ready.entries, Number(last.seq), 'every entry before the torn one applied');
  const replay = runCli(['replay', '--data', data]);
  assert.is(replay.code, 0, replay.stderr);
  assert.is(event(replay.events, 'replay')!.state_hash, event(boot.events, 'stopped')!.state_hash);
});

test('a damaged record in the middle stops boot, and audit verify names it', async () => {
  // Proves damage is never mistaken for a torn tail: a middle sector whose
  // newest record fails authentication leaves a hole with valid entries
  // after it, so boot refuses; audit verify names the first bad entry and
  // the sector.
  const data = copyData('middle');
  const { entries } = await logicalLog(data);
  const victim = entries[Math.floor(entries.length / 2)];
  const sector = damageNewestRecord(data, victim.offset + 8);
  assert.ok((sector + 2) * SECTOR_BYTES < entries.at(-1)!.offset, 'the victim is well before the tail');
  const boot = runCli(bootArgs(img, data, ['--once']));
  assert.is(boot.code, 1, boot.stdout);
  assert.match(boot.stderr, /is corrupt .* valid entries follow it/);
  assert.not.ok(event(boot.events, 'ready'));
  const audit = runCli(['audit', 'verify', '--data', data, '--json']);
  assert.is(audit.code, 1);
  const report = JSON.parse(audit.stdout);
  assert.match(report.first_problem, /^entry \d+ at offset \d+/);
  assert.ok(report.problems.some((p: string) => p.startsWith(`encrypted sector ${sector} `)), JSON.stringify(report.problems));
});

test('existsSync sanity: the pristine directory was not changed by the other cases', () => {
  // Proves the cases above worked on copies: the pristine log still boots to the stopped state.
  assert.ok(existsSync(join(pristine, 'datakey.json')));
  const r = runCli(['replay', '--data', pristine]);
  assert.is(r.code, 0, r.stderr);
  assert.is(event(r.events, 'replay')!.state_hash, stoppedHash);
});

test.run();
