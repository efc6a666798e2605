// The tamper-evident audit log, end to end through the real CLI: a live
// machine whose manifest asks for a checkpoint every 4 entries, signed by a
// development key set (--audit-key) and, in a second run, by a SoftHSM2
// token (--hsm pkcs11). `audit verify` accepts the untouched log, checks
// every checkpoint signature, and names the first bad entry when any single
// byte of the log is changed, and the checkpoint when a signature is
// replaced. `audit prove` / `consistency` print proofs that `check-proof`
// verifies with only the public keys, and refuses when they are altered.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { FrameClient, counterRequest } from '../../host/client/frames.ts';
import { readAuditLog } from '../../host/audit/log.ts';
import { ENTRY_CHECKPOINT, ENTRY_HEADER_BYTES } from '../../hal/log.ts';
import { writeKeyPair } from '../../host/base/keys.ts';
import { makeImage, demoManifest, removeDir, runCli, Server, type TestImage } from '../support/helpers.ts';
import { makeSoftHsmToken, type SoftHsmToken } from '../support/softhsm.ts';

let img: TestImage;
let data: string;
let auditPub: string;
let token: SoftHsmToken;
const ADDS = 14;
const INTERVAL = 4;

async function fill(dataDir: string, extra: string[], env: Record<string, string> = {}): Promise<void> {
  const server = Server.start(['boot', img.imagePath, '--data', dataDir, '--trust', img.pubPath, '--listen', '127.0.0.1:0', ...extra], env);
  const { host, port } = await server.address();
  const client = await FrameClient.connect(host, port);
  for (let i = 1; i <= ADDS; i++) {
    await client.call('counter', counterRequest(1, BigInt(i)));
    // Signing runs off the run loop and one checkpoint is in flight at a
    // time: after each interval, wait until its checkpoint is in the log, so
    // the fixture has one checkpoint per interval whatever the machine's speed.
    if (i % INTERVAL === 0) await checkpointLogged(dataDir, i / INTERVAL);
  }
  client.close();
  await server.kill('SIGTERM');
}

/** Polls the log (bounded) until it holds `count` checkpoints. */
async function checkpointLogged(dataDir: string, count: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const log = readAuditLog(dataDir);
    if (log.entries.filter((e) => e.type === ENTRY_CHECKPOINT).length >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`checkpoint ${count} never reached the log of ${dataDir}`);
}

test.before(async () => {
  const manifest = { ...demoManifest(), audit: { checkpoint_interval: INTERVAL } };
  img = makeImage('audit', manifest);
  const auditKeys = writeKeyPair(join(img.dir, 'audit-keys'));
  auditPub = auditKeys.pubPath;
  data = join(img.dir, 'data');
  await fill(data, ['--audit-key', auditKeys.keyPath]);
  token = makeSoftHsmToken('qenex-audit');
});
test.after(async () => { await Server.killAll(); token?.remove(); removeDir(img.dir); });

function copyData(name: string): string {
  const dir = join(img.dir, name);
  cpSync(data, dir, { recursive: true });
  return dir;
}

test('the live log holds signed checkpoints; audit verify accepts it and checks signatures', () => {
  const log = readAuditLog(data);
  assert.is(log.problem, null);
  const cps = log.entries.filter((e) => e.type === ENTRY_CHECKPOINT);
  assert.ok(cps.length >= 3, `${cps.length} checkpoints in ${log.entries.length} entries`);
  const r = runCli(['audit', 'verify', '--data', data, '--trust', auditPub, '--json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.ok, true);
  assert.is(report.checkpoints, cps.length);
  assert.is(report.signatures_checked, true);
  // The image's keys did not sign the checkpoints: verify says so, naming the checkpoint.
  const wrong = runCli(['audit', 'verify', '--data', data, '--trust', img.pubPath]);
  assert.is(wrong.code, 1);
  assert.match(wrong.stdout, /checkpoint at entry \d+ \(offset \d+\): no ECDSA P-384 signature by a trusted key/);
});

test('one changed byte anywhere in the log: audit verify names the first bad entry', () => {
  const log = readAuditLog(data);
  const end = log.endOffset;
  // The log without its preallocated zeros (still a valid log), so each case rewrites kilobytes, not megabytes.
  const bytes = readFileSync(log.path).subarray(0, end + 64);
  // Every byte of a few entries, then a stride over the whole log.
  const offsets = new Set<number>();
  for (const e of [log.entries[1], log.entries.at(-1)!]) for (let o = e.offset; o < e.offset + e.total; o++) offsets.add(o);
  for (let o = 0; o < end; o += 7) offsets.add(o);
  const dir = copyData('tamper');
  const path = join(dir, 'log.qxl');
  let checked = 0;
  for (const offset of offsets) {
    const entry = [...log.entries].reverse().find((e) => e.offset <= offset)!;
    const changed = Buffer.from(bytes);
    changed[offset] ^= 0x20;
    writeFileSync(path, changed);
    const r = readAuditLog(dir);
    assert.ok(r.problem !== null, `byte ${offset} changed, not detected`);
    assert.is(r.problem!.seq, entry.seq, `byte ${offset}: named entry ${r.problem!.seq}, expected ${entry.seq} (${r.problem!.reason})`);
    checked++;
  }
  assert.ok(checked > 100);
  // And through the CLI, with the message.
  const changed = Buffer.from(bytes);
  const target = log.entries[5];
  changed[target.offset + ENTRY_HEADER_BYTES + 1] ^= 1;
  writeFileSync(path, changed);
  const r = runCli(['audit', 'verify', '--data', dir]);
  assert.is(r.code, 1);
  assert.match(r.stdout, new RegExp(`verified   NO: entry 5 at offset ${target.offset}: checksum mismatch`));
});

test('an edited entry with a recomputed CRC is named by the hash chain', () => {
  const log = readAuditLog(data);
  const bytes = Buffer.from(readFileSync(log.path));
  const e = log.entries[3];
  bytes[e.offset + 40] ^= 1; // conn field
  // recompute the CRC over [8, total)
  bytes.writeUInt32LE(crc(bytes.subarray(e.offset + 8, e.offset + e.total)), e.offset + 4);
  const dir = copyData('rechained');
  writeFileSync(join(dir, 'log.qxl'), bytes);
  const r = runCli(['audit', 'verify', '--data', dir]);
  assert.is(r.code, 1);
  assert.match(r.stdout, `entry 3 at offset ${e.offset}: hash chain broken`);
});

test('a replaced checkpoint signature is named', () => {
  const log = readAuditLog(data);
  const cp = log.entries.find((e) => e.type === ENTRY_CHECKPOINT)!;
  const bytes = Buffer.from(readFileSync(log.path));
  // The ML-DSA signature is the last signature in the payload: change its last byte,
  // then repair CRC and chain from there on, as a forger with write access would.
  bytes[cp.offset + cp.total - 1] ^= 1;
  rechain(bytes, log.entries, cp.seq);
  const dir = copyData('badsig');
  writeFileSync(join(dir, 'log.qxl'), bytes);
  const r = runCli(['audit', 'verify', '--data', dir, '--trust', auditPub]);
  assert.is(r.code, 1);
  assert.match(r.stdout, new RegExp(`checkpoint at entry ${cp.seq} \\(offset ${cp.offset}\\): ML-DSA-65 signature by key [0-9a-f]{32} does not verify`));
  // Without rechaining, the chain itself names the entry first.
});

test('prove + check-proof: an inclusion proof verifies with only the public keys; altered proofs fail', () => {
  const r = runCli(['audit', 'prove', '--data', data, '--entry', '2']);
  assert.is(r.code, 0, r.stderr);
  const proof = JSON.parse(r.stdout);
  assert.is(proof.type, 'qenex-audit-inclusion-v1');
  const file = join(img.dir, 'inclusion.json');
  writeFileSync(file, r.stdout);
  const ok = runCli(['audit', 'check-proof', file, '--trust', auditPub]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^ok: entry 2 is in the log of \d+ entries/);
  const bad = (mutate: (p: Record<string, any>) => void, pattern: RegExp) => {
    const p = JSON.parse(r.stdout);
    mutate(p);
    writeFileSync(file, JSON.stringify(p));
    const out = runCli(['audit', 'check-proof', file, '--trust', auditPub]);
    assert.is(out.code, 1, JSON.stringify(p).slice(0, 200));
    assert.match(out.stderr, pattern);
  };
  bad((p) => { p.entry = 3; }, /proof does not verify/);
  bad((p) => { p.leaf_data = Buffer.from('forged').toString('base64'); }, /leaf_hash is not the hash of leaf_data/);
  bad((p) => { const b = Buffer.from(p.proof[0], 'base64'); b[0] ^= 1; p.proof[0] = b.toString('base64'); }, /computed root does not match/);
  bad((p) => { const b = Buffer.from(p.checkpoint.signatures[1].signature, 'base64'); b[9] ^= 1; p.checkpoint.signatures[1].signature = b.toString('base64'); }, /ML-DSA-65 signature by key/);
  bad((p) => { p.checkpoint.signatures.splice(0, 1); }, /missing ECDSA P-384 signature/);
  const wrongKeys = runCli(['audit', 'check-proof', join(img.dir, 'none.json'), '--trust', auditPub]);
  assert.is(wrongKeys.code, 1);
});

test('consistency + check-proof between two checkpoints', () => {
  const log = readAuditLog(data);
  const sizes = log.entries.filter((e) => e.type === ENTRY_CHECKPOINT)
    .map((e) => new DataView(e.payload.buffer, e.payload.byteOffset).getUint32(0, true)); // tree size, low half
  const [a, b] = [sizes[0], sizes.at(-1)!];
  const r = runCli(['audit', 'consistency', '--data', data, '--from', String(a), '--to', String(b)]);
  assert.is(r.code, 0, r.stderr);
  const file = join(img.dir, 'consistency.json');
  writeFileSync(file, r.stdout);
  const ok = runCli(['audit', 'check-proof', file, '--trust', auditPub]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, `ok: the log of ${b} entries extends the log of ${a} entries`);
  const p = JSON.parse(r.stdout);
  const root = Buffer.from(p.root1, 'base64');
  root[0] ^= 1;
  p.root1 = root.toString('base64');
  writeFileSync(file, JSON.stringify(p));
  const bad = runCli(['audit', 'check-proof', file, '--trust', auditPub]);
  assert.is(bad.code, 1);
  // Sizes without a checkpoint: the proof is printed, but check-proof wants --allow-unsigned.
  const unsigned = runCli(['audit', 'consistency', '--data', data, '--from', '2', '--to', String(log.entries.length)]);
  writeFileSync(file, unsigned.stdout);
  assert.is(runCli(['audit', 'check-proof', file, '--trust', auditPub]).code, 1);
  assert.is(runCli(['audit', 'check-proof', file, '--trust', auditPub, '--allow-unsigned']).code, 0);
});

test('checkpoints signed by a SoftHSM2 key set (--hsm pkcs11) verify', async () => {
  const keys = join(img.dir, 'hsm-keys');
  const gen = runCli(['keygen', '--hsm', 'pkcs11', '--label', 'audit', '--out', keys], 60_000, token.env);
  assert.is(gen.code, 0, gen.stderr);
  const dir = join(img.dir, 'data-hsm');
  await fill(dir, ['--hsm', 'pkcs11', '--label', 'audit'], token.env);
  const r = runCli(['audit', 'verify', '--data', dir, '--trust', join(keys, 'signing.pub'), '--json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.ok(JSON.parse(r.stdout).checkpoints >= 3);
});

test('after a restart the rebuilt tree goes on: later checkpoints verify; replay ignores checkpoints', async () => {
  // Proves recovery feeds every entry to the kernel's Merkle frontier: the
  // checkpoints sealed after a reboot match the roots audit verify computes.
  const dir = copyData('restarted');
  const before = readAuditLog(dir).entries.filter((e) => e.type === ENTRY_CHECKPOINT).length;
  await fill(dir, ['--audit-key', join(img.dir, 'audit-keys', 'signing.key')]);
  const after = readAuditLog(dir).entries.filter((e) => e.type === ENTRY_CHECKPOINT).length;
  assert.ok(after > before, `${before} -> ${after} checkpoints`);
  const r = runCli(['audit', 'verify', '--data', dir, '--trust', auditPub]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const replay = runCli(['replay', '--data', dir]);
  assert.is(replay.code, 0, replay.stderr);
});

test('usage errors are one line with exit 2', () => {
  for (const args of [['audit'], ['audit', 'nope'], ['audit', 'verify'], ['audit', 'prove', '--data', data], ['audit', 'check-proof', 'x.json']]) {
    const r = runCli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  const far = runCli(['audit', 'prove', '--data', data, '--entry', '100000']);
  assert.is(far.code, 1);
  assert.match(far.stderr, /entry 100000 is not in the log/);
});

// ---- helpers: a forger's tools ----

function crc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Recomputes chain and CRC of every entry from `from` on (kernel/log.ts layout). */
function rechain(bytes: Buffer, entries: { offset: number; total: number; chain: Uint8Array }[], from: number): void {
  let prev = from === 0 ? Buffer.alloc(32) : Buffer.from(bytes.subarray(entries[from - 1].offset + 56, entries[from - 1].offset + 88));
  for (let i = from; i < entries.length; i++) {
    const { offset, total } = entries[i];
    const leaf = createHash('sha256').update(Buffer.from([0])).update(bytes.subarray(offset + 8, offset + 56)).update(bytes.subarray(offset + 88, offset + total)).digest();
    const chain = createHash('sha256').update(prev).update(leaf).digest();
    chain.copy(bytes, offset + 56);
    bytes.writeUInt32LE(crc(bytes.subarray(offset + 8, offset + total)), offset + 4);
    prev = chain;
  }
}

test.run();
