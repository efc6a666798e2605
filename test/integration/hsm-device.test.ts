// The HSM as a kernel device, end to end against a real SoftHSM2 token: a
// Machine booted in-process from a packed image (the real kernel.wasm and
// the test-only hsmprobe service, test/services/hsmprobe), talked to over
// real TCP. The probe asks the HSM through the SDK (services/sdk/hsm.ts) and
// answers with the kernel's syscall result and, later, the HSM's answer.
//
//   signer  hsm_keys ["svc-sign", "svc-aes"]          (index 0)
//   roller  capability hsm_random, no keys            (index 1)
//   other   no grant at all                           (index 2)
//
// The token also holds "other-key", granted to nobody. The HSM given to the
// machine is wrapped so the test sees every call that reaches it.
//
// Run: node --import tsx test/integration/hsm-device.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { Machine, LOG_FILE } from '../../host/machine.ts';
import { packImage, parseImage } from '../../host/image.ts';
import { validateManifest, ManifestError } from '../../host/manifest.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { HsmError, openHsm, type HsmDevice } from '../../host/hsm/hsm.ts';
import { p384PublicKeyObject } from '../../host/hsm/soft.ts';
import { ascIfStale, RELEASE } from '../support/asc.ts';
import { makeSoftHsmToken } from '../support/softhsm.ts';
import { logEntries, ENTRY_HEADER_BYTES } from '../support/helpers.ts';
import { main as bootMain } from '../../host/cmd/boot.ts';
import { readAuditLog } from '../../host/audit/log.ts';
import { ENTRY_CHECKPOINT } from '../../hal/log.ts';
import { decodeCheckpoint, checkpointSignatureProblem } from '../../host/audit/checkpoint.ts';
import { generateKeyPair, type Signer } from '../../host/base/keys.ts';
import { writeImageFile } from '../../host/image.ts';

const token = makeSoftHsmToken(); // before the first open in this process
const KERNEL_WASM = ascIfStale('kernel/main.ts', 'build/kernel.wasm', ['kernel', 'hal', 'drivers']);
const PROBE_WASM = ascIfStale('test/services/hsmprobe/index.ts', 'build/test/hsmprobe.wasm', ['services/sdk'], [...RELEASE, '--use', 'abort=']);
import { ENTRY_HSM } from '../../hal/log.ts';

const manifest = validateManifest({
  name: 'hsm-device',
  version: 1,
  kernel: {
    message_slots: 64, message_bytes_max: 32768, queue_depth: 64, timers_max: 16,
    requests_in_flight_max: 64, batch_bytes_max: 262144, log_preallocate_bytes: 0,
  },
  services: [
    { name: 'signer', module: 'hsmprobe', priority: 0, budget: 16, memory_pages_max: 16, caps: ['net'], hsm_keys: ['svc-sign', 'svc-aes'] },
    { name: 'roller', module: 'hsmprobe', priority: 0, budget: 16, memory_pages_max: 16, caps: ['net', 'hsm_random'] },
    { name: 'other', module: 'hsmprobe', priority: 0, budget: 16, memory_pages_max: 16, caps: ['net'] },
  ],
});

// ---- an HSM that reports what reaches it ----

interface Watched { device: HsmDevice; calls: string[] }

/** Wraps `hsm`; `stall` makes key operations never answer (a host that dies mid-call). */
function watched(hsm: HsmDevice, stall = false): Watched {
  const calls: string[] = [];
  const ops = new Set(['sign', 'verify', 'encrypt', 'decrypt', 'random', 'signingPublicKey']);
  const device = new Proxy(hsm, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !ops.has(prop) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(`${prop}:${typeof args[0] === 'string' ? args[0] : ''}`);
        return stall ? new Promise(() => {}) : (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { device, calls };
}

// ---- probe requests (layout: test/services/hsmprobe/index.ts) ----

function probe(op: number, label: string, args: Uint8Array = new Uint8Array(0)): Buffer {
  const l = Buffer.from(label, 'ascii');
  const b = Buffer.alloc(4 + l.length + args.length);
  b.writeUInt8(op, 0);
  b.writeUInt8(l.length, 1);
  l.copy(b, 4);
  b.set(args, 4 + l.length);
  return b;
}

const u32le = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const gcmArgs = (iv: Uint8Array, aad: Uint8Array, data: Uint8Array): Buffer => Buffer.concat([iv, u32le(aad.length), aad, data]);

interface HsmAnswer { syscall: number; id: number; status: number; bytes: Buffer }

let dir = '';
let hsm: HsmDevice;
let watch: Watched;
let machine: Machine;
let client: FrameClient;
let imageBytes: Uint8Array;
let signPoint: Uint8Array;
const lines: Array<Record<string, unknown>> = [];

function bootOptions(dataDir: string, device: HsmDevice | null, mode: 'live' | 'replay' = 'live') {
  return {
    image: parseImage(imageBytes), imageBytes, dataDir, mode, hsm: device,
    onLine: (line: string) => { try { lines.push(JSON.parse(line) as Record<string, unknown>); } catch { lines.push({ message: line }); } },
  };
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qenex-hsm-device-'));
  hsm = await openHsm({ kind: 'pkcs11' });
  signPoint = await hsm.generateSigningKey('svc-sign');
  await hsm.generateSecretKey('svc-aes');
  await hsm.generateSigningKey('other-key');
  const wasm = new Uint8Array(readFileSync(PROBE_WASM));
  imageBytes = packImage({
    manifest,
    kernel: new Uint8Array(readFileSync(KERNEL_WASM)),
    services: new Map(manifest.services.map((s) => [s.name, wasm])),
  });
  watch = watched(hsm);
  machine = await Machine.boot(bootOptions(join(dir, 'data'), watch.device));
  client = await FrameClient.connect('127.0.0.1', (await machine.listen('127.0.0.1', 0)).port);
});

test.after(async () => {
  client?.close();
  if (machine !== undefined && machine.haltInfo() === null) await machine.stop();
  hsm?.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  token.remove();
});

async function ask(service: string, payload: Uint8Array, c: FrameClient = client): Promise<HsmAnswer> {
  const r = await c.request(service, payload, 10_000);
  assert.is(r.status, abi.FRAME_OK, `${service}: frame status ${r.status} ${r.payload.toString('utf8')}`);
  const syscall = r.payload.readInt32LE(0);
  if (syscall <= 0) return { syscall, id: 0, status: 0, bytes: Buffer.alloc(0) };
  assert.is(r.payload.readUInt32LE(4), syscall, 'the answer names the request id the syscall returned');
  return { syscall, id: syscall, status: r.payload.readInt32LE(8), bytes: r.payload.subarray(12) };
}

test('a granted service signs through the HSM device; the signature verifies with the HSM public key', async () => {
  // Proves the whole path: syscall with a granted label -> kernel driver ->
  // ring -> host -> SoftHSM2 -> logged result -> message to the service.
  // The signature is checked by node:crypto against the token's public
  // point, and by the HSM itself through the device (VERIFY).
  const data = Buffer.from('pay 100.00 EUR to account 42');
  const signed = await ask('signer', probe(abi.OP_HSM_SIGN, 'svc-sign', data));
  assert.ok(signed.syscall > 0, `request id, got ${signed.syscall}`);
  assert.is(signed.status, abi.HSM_OK, signed.bytes.toString('utf8'));
  assert.is(signed.bytes.length, abi.HSM_SIGNATURE_BYTES);
  assert.ok(cryptoVerify('sha384', data, { key: p384PublicKeyObject(signPoint), dsaEncoding: 'ieee-p1363' }, signed.bytes));

  const pub = await ask('signer', probe(abi.OP_HSM_PUBLIC_KEY, 'svc-sign'));
  assert.is(pub.status, abi.HSM_OK);
  assert.equal(new Uint8Array(pub.bytes), signPoint);

  const good = await ask('signer', probe(abi.OP_HSM_VERIFY, 'svc-sign', Buffer.concat([u32le(signed.bytes.length), signed.bytes, data])));
  assert.is(good.status, abi.HSM_OK);
  assert.equal([...good.bytes], [1]);
  const tampered = Buffer.from(data);
  tampered[0] ^= 1;
  const bad = await ask('signer', probe(abi.OP_HSM_VERIFY, 'svc-sign', Buffer.concat([u32le(signed.bytes.length), signed.bytes, tampered])));
  assert.equal([...bad.bytes], [0]);
  assert.ok(good.id > signed.id, 'request ids grow');
});

test('a service without the grant is refused (SYS_E_DENIED), the kernel says so, and the host HSM saw no call', async () => {
  // Proves the grant check is the kernel's, before anything reaches the
  // host: a service with no hsm_keys, a granted service naming a key that
  // exists on the token but is not granted to it, and a random request
  // without hsm_random all get SYS_E_DENIED from the syscall itself; the
  // wrapped HSM records no call; each refusal is a syscall_denied line
  // naming service, call and label; the kernel's denied counter agrees.
  const callsBefore = watch.calls.length;
  const deniedBefore = machine.kernel.stat(abi.STAT_SYSCALLS_DENIED);
  assert.is((await ask('other', probe(abi.OP_HSM_SIGN, 'svc-sign', Buffer.from('x')))).syscall, abi.SYS_E_DENIED);
  assert.is((await ask('other', probe(abi.OP_HSM_ENCRYPT, 'svc-aes', gcmArgs(randomBytes(12), Buffer.alloc(0), Buffer.from('x'))))).syscall, abi.SYS_E_DENIED);
  assert.is((await ask('signer', probe(abi.OP_HSM_SIGN, 'other-key', Buffer.from('x')))).syscall, abi.SYS_E_DENIED);
  assert.is((await ask('signer', probe(abi.OP_HSM_RANDOM, '', u32le(16)))).syscall, abi.SYS_E_DENIED);
  assert.is((await ask('roller', probe(abi.OP_HSM_SIGN, 'svc-sign', Buffer.from('x')))).syscall, abi.SYS_E_DENIED);
  assert.is(watch.calls.length, callsBefore, `the HSM saw: ${watch.calls.slice(callsBefore).join(', ')}`);
  assert.is(machine.kernel.stat(abi.STAT_SYSCALLS_DENIED), deniedBefore + 5);
  const denied = lines.filter((l) => l.event === 'syscall_denied' && l.call === 'hsm');
  assert.ok(denied.some((l) => l.service === 'other' && l.label === 'svc-sign'), JSON.stringify(denied));
  assert.ok(denied.some((l) => l.service === 'signer' && l.label === 'other-key'), JSON.stringify(denied));
  // A malformed request is E_INVALID, also without reaching the host.
  // (Sealed bytes shorter than a GCM tag: the probe and the SDK pass it on, the kernel refuses.)
  const short = probe(abi.OP_HSM_DECRYPT, 'svc-aes', gcmArgs(randomBytes(12), Buffer.alloc(0), Buffer.alloc(abi.HSM_TAG_BYTES - 1)));
  assert.is((await ask('signer', short)).syscall, abi.SYS_E_INVALID);
  assert.is(watch.calls.length, callsBefore);
});

test('encrypt and decrypt through the device: round trip, and a changed byte, AAD or key is refused', async () => {
  // Proves AES-256-GCM through the ring: decrypt(encrypt(x)) == x; a flipped
  // ciphertext byte or different AAD comes back HSM_E_AUTH (not garbage);
  // a signing operation on the AES key's label is HSM_E_NO_KEY.
  const iv = randomBytes(abi.HSM_IV_BYTES);
  const aad = Buffer.from('account 42');
  const plain = randomBytes(3000);
  const sealed = await ask('signer', probe(abi.OP_HSM_ENCRYPT, 'svc-aes', gcmArgs(iv, aad, plain)));
  assert.is(sealed.status, abi.HSM_OK, sealed.bytes.toString('utf8'));
  assert.is(sealed.bytes.length, plain.length + abi.HSM_TAG_BYTES);
  assert.not.equal(sealed.bytes.subarray(0, plain.length), plain);
  const opened = await ask('signer', probe(abi.OP_HSM_DECRYPT, 'svc-aes', gcmArgs(iv, aad, sealed.bytes)));
  assert.is(opened.status, abi.HSM_OK);
  assert.ok(opened.bytes.equals(plain));
  const flipped = Buffer.from(sealed.bytes);
  flipped[10] ^= 0x80;
  assert.is((await ask('signer', probe(abi.OP_HSM_DECRYPT, 'svc-aes', gcmArgs(iv, aad, flipped)))).status, abi.HSM_E_AUTH);
  assert.is((await ask('signer', probe(abi.OP_HSM_DECRYPT, 'svc-aes', gcmArgs(iv, Buffer.from('account 43'), sealed.bytes)))).status, abi.HSM_E_AUTH);
  const wrongKind = await ask('signer', probe(abi.OP_HSM_SIGN, 'svc-aes', Buffer.from('x')));
  assert.is(wrongKind.status, abi.HSM_E_NO_KEY, wrongKind.bytes.toString('utf8'));
});

test('hsm_random gives HSM random bytes; requests up to the buffer size work, larger ones are refused', async () => {
  // Proves OP_HSM_RANDOM needs no key but the capability, returns the count
  // asked for and differs between calls; a count over HSM_BUFFER_BYTES is
  // E_INVALID; an encryption that fills the request buffer goes through,
  // one byte more is E_TOO_LARGE.
  const a = await ask('roller', probe(abi.OP_HSM_RANDOM, '', u32le(48)));
  const b = await ask('roller', probe(abi.OP_HSM_RANDOM, '', u32le(48)));
  assert.is(a.status, abi.HSM_OK);
  assert.is(a.bytes.length, 48);
  assert.not.ok(a.bytes.equals(b.bytes));
  assert.is((await ask('roller', probe(abi.OP_HSM_RANDOM, '', u32le(abi.HSM_BUFFER_BYTES + 1)))).syscall, abi.SYS_E_INVALID);
  const fill = abi.HSM_BUFFER_BYTES - abi.HSM_REQUEST_HEADER_BYTES - 'svc-aes'.length - abi.HSM_IV_BYTES - 4;
  const big = await ask('signer', probe(abi.OP_HSM_ENCRYPT, 'svc-aes', gcmArgs(randomBytes(12), Buffer.alloc(0), Buffer.alloc(fill, 7))));
  assert.is(big.status, abi.HSM_OK, big.bytes.toString('utf8'));
  assert.is(big.bytes.length, fill + abi.HSM_TAG_BYTES);
  const over = await ask('signer', probe(abi.OP_HSM_ENCRYPT, 'svc-aes', gcmArgs(randomBytes(12), Buffer.alloc(0), Buffer.alloc(fill + 1, 7))));
  assert.is(over.syscall, abi.SYS_E_TOO_LARGE);
});

test('the results are in the command log; a replay without any HSM reproduces the same state', async () => {
  // Proves HSM results enter like client input: every answer the services
  // saw is an HSM entry in the log, and a replay machine, given no HSM at
  // all, delivers the logged results and reaches the live state hash.
  assert.ok(machine.kernel.x.kernel_check_sealed(), 'the kernel allocated nothing after boot');
  client.close();
  await machine.stop();
  const liveHash = machine.stateHash();
  const data = join(dir, 'data');
  const hsmEntries = logEntries(join(data, LOG_FILE)).filter((e) => e.type === ENTRY_HSM);
  assert.ok(hsmEntries.length >= 10, `HSM entries in the log: ${hsmEntries.length}`);
  const audit = readAuditLog(data);
  assert.is(audit.problem, null, 'the audit reader checks every entry, HSM entries included');
  assert.is(audit.entries.filter((e) => e.type === ENTRY_HSM).length, hsmEntries.length);
  const callsBefore = watch.calls.length;
  const replay = await Machine.boot(bootOptions(data, null, 'replay'));
  assert.is(replay.stateHash(), liveHash);
  assert.is(replay.hsm, null, 'a replay machine has no HSM device');
  assert.is(watch.calls.length, callsBefore);
  await replay.stop();
});

test('a crash between submit and log: after restart the request is answered HSM_E_INTERRUPTED through the log', async () => {
  // Proves the crash window: the HSM takes a request and never answers
  // (the process dies). The restarted kernel replays the request, finds no
  // logged result for it, and logs HSM_E_INTERRUPTED for that request id,
  // which the service receives; a replay of the whole log matches.
  const data = join(dir, 'crash');
  const stalled = watched(hsm, true);
  const first = await Machine.boot(bootOptions(data, stalled.device));
  const c = await FrameClient.connect('127.0.0.1', (await first.listen('127.0.0.1', 0)).port);
  void c.request('signer', probe(abi.OP_HSM_SIGN, 'svc-sign', Buffer.from('lost')), 60_000).catch(() => {});
  for (let i = 0; i < 500 && stalled.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(stalled.calls, ['sign:svc-sign']);
  c.close();
  first.abandon();

  const again = await Machine.boot(bootOptions(data, watch.device));
  await again.stop();
  assert.ok(again.kernel.x.kernel_check_sealed(), 'answering lost requests allocated nothing');
  const bytes = readFileSync(join(data, LOG_FILE));
  const results = logEntries(join(data, LOG_FILE)).filter((e) => e.type === ENTRY_HSM)
    .map((e) => ({ id: bytes.readUInt32LE(e.offset + ENTRY_HEADER_BYTES), status: bytes.readInt32LE(e.offset + ENTRY_HEADER_BYTES + 4) }));
  assert.equal(results.map((r) => r.status), [abi.HSM_E_INTERRUPTED]);
  assert.is(results[0].id, 1);
  const replay = await Machine.boot(bootOptions(data, null, 'replay'));
  assert.is(replay.stateHash(), again.stateHash());
  await replay.stop();
});

test('audit checkpoints are signed over the same ring; without a signer they are skipped and the host says so once', async () => {
  // Proves the kernel's OP_HSM_CHECKPOINT: with a checkpoint interval and a
  // signer, signed checkpoints reach the log and their signatures verify
  // with the signer's public keys; without a signer none is logged, the
  // kernel counts them as skipped and the host prints audit_unsigned once.
  const withAudit = validateManifest({ ...JSON.parse(JSON.stringify(manifest)), name: 'hsm-audit', audit: { checkpoint_interval: 4 } });
  const wasm = new Uint8Array(readFileSync(PROBE_WASM));
  const bytes = packImage({ manifest: withAudit, kernel: new Uint8Array(readFileSync(KERNEL_WASM)), services: new Map(withAudit.services.map((s) => [s.name, wasm])) });
  const run = async (name: string, signer: Signer | null) => {
    const seen: Array<Record<string, unknown>> = [];
    const m = await Machine.boot({
      image: parseImage(bytes), imageBytes: bytes, dataDir: join(dir, name), mode: 'live', hsm: watch.device, auditSigner: signer,
      onLine: (line: string) => { try { seen.push(JSON.parse(line) as Record<string, unknown>); } catch { /* not JSON */ } },
    });
    const c = await FrameClient.connect('127.0.0.1', (await m.listen('127.0.0.1', 0)).port);
    for (let i = 0; i < 8; i++) assert.is((await ask('signer', probe(abi.OP_HSM_SIGN, 'svc-sign', Buffer.from(`cp ${i}`)), c)).status, abi.HSM_OK);
    c.close();
    await m.stop();
    const skipped = Number((m.kernel.x as unknown as { audit_checkpoints_skipped(): bigint }).audit_checkpoints_skipped());
    const checkpoints = readAuditLog(join(dir, name)).entries.filter((e) => e.type === ENTRY_CHECKPOINT);
    return { seen, skipped, checkpoints };
  };
  const unsigned = await run('audit-unsigned', null);
  assert.is(unsigned.checkpoints.length, 0);
  assert.ok(unsigned.skipped >= 1, `skipped ${unsigned.skipped}`);
  assert.is(unsigned.seen.filter((l) => l.event === 'audit_unsigned').length, 1);
  const key = generateKeyPair();
  const signed = await run('audit-signed', key);
  assert.ok(signed.checkpoints.length >= 1, 'a signed checkpoint in the log');
  assert.is(signed.skipped, 0);
  for (const e of signed.checkpoints) {
    const cp = decodeCheckpoint(e.leafData.subarray(48));
    assert.is(checkpointSignatureProblem(cp, key.publicKeys), null);
  }
});

test('the manifest refuses bad hsm_keys with the field named', () => {
  // Proves host validation (the kernel re-checks at boot): labels must be
  // well-formed and unique.
  const service = (hsm_keys: unknown) => ({
    name: 'hsm-bad', version: 1,
    kernel: { message_slots: 8, message_bytes_max: 4096, queue_depth: 8, timers_max: 0, requests_in_flight_max: 8, batch_bytes_max: 65536, log_preallocate_bytes: 0 },
    services: [{ name: 'a', module: 'a', priority: 0, budget: 1, memory_pages_max: 1, caps: [], hsm_keys }],
  });
  assert.throws(() => validateManifest(service(['ok', 'ok'])), (e: Error) => e instanceof ManifestError && /hsm_keys\[1\].*duplicate/.test(e.message));
  assert.throws(() => validateManifest(service(['has space'])), (e: Error) => e instanceof ManifestError && /hsm_keys\[0\]/.test(e.message));
  assert.throws(() => validateManifest(service('svc')), (e: Error) => e instanceof ManifestError && /hsm_keys/.test(e.message));
  assert.equal(validateManifest(service(['svc-sign'])).services[0].hsm_keys, ['svc-sign']);
});

test('opening the token checks the PIN even while this process holds a logged-in session', async () => {
  // Proves the fix in host/hsm/hsm.ts: PKCS#11 answers C_Login with
  // "already logged in" for any PIN while another session of the process is
  // logged in; open must still refuse a wrong PIN (and accept the right one).
  let refused: unknown = null;
  try {
    (await openHsm({ kind: 'pkcs11', pin: '000000' })).close();
  } catch (e) {
    refused = e;
  }
  assert.instance(refused, HsmError);
  assert.is((refused as HsmError).code, 'EHSM_CONFIG');
  const second = await openHsm({ kind: 'pkcs11', pin: token.pin });
  assert.is((await second.sign('svc-sign', Buffer.from('x'))).length, abi.HSM_SIGNATURE_BYTES);
  second.close();
});

test('qenex boot opens the HSM from the environment when the manifest grants keys, and refuses naming the services without it', async () => {
  // Proves the CLI wiring: without a PIN in the environment the boot stops
  // with an error that names the services holding grants; with the token's
  // variables it boots, serves and stops cleanly.
  const file = join(dir, 'cli.qxi');
  writeImageFile(file, imageBytes);
  const out: string[] = [];
  const io = { out: (t: string) => { out.push(t); }, err: () => {} };
  const pin = process.env.QENEX_PKCS11_PIN;
  delete process.env.QENEX_PKCS11_PIN;
  let refused: Error | null = null;
  try {
    await bootMain([file, '--data', join(dir, 'cli-data'), '--insecure-unsigned', '--once'], io);
  } catch (e) {
    refused = e as Error;
  } finally {
    process.env.QENEX_PKCS11_PIN = pin;
  }
  assert.ok(refused !== null && /grants HSM keys to signer, roller/.test(refused.message), String(refused?.message));
  assert.is(await bootMain([file, '--data', join(dir, 'cli-data'), '--insecure-unsigned', '--once'], io), 0);
  assert.ok(out.some((l) => l.includes('"event":"stopped"')), out.join(''));
});

test.run();
