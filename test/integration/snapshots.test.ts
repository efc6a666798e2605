// Machine snapshots (kernel/snapshot.ts, host/snapshot.ts), in-process:
// a ledger workload on a live machine with kernel.snapshot_interval_entries
// set, then replays and reboots that must start from the snapshots and end
// in exactly the state a full replay of the log gives.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packImage, parseImage } from '../../host/image.ts';
import { Machine } from '../../host/machine.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { account, encodeAccounts, encodeLookupAccounts, encodeTransfers, readAccount, transfer, RECORD_BYTES } from '../../host/client/ledger.ts';
import { SnapshotStore, SNAPSHOT_DIR, SNAPSHOTS_KEPT, exportKernelGlobals, kernelGlobals } from '../../host/snapshot.ts';
import type { Manifest } from '../../host/manifest.ts';
import { Kernel } from '../../host/base/kernel.ts';
import { logChainTs } from '../../host/devices/log-chain.ts';
import * as abi from '../../hal/abi.ts';
import { ROOT, directLedgerManifest, removeDir, tempDir } from '../support/helpers.ts';

const INTERVAL = 40;
const ACCOUNTS = 64;

interface Img { imageBytes: Uint8Array; path: string }
type Line = Record<string, unknown>;

let dir = '';
test.before(() => { dir = tempDir('snapshots'); });
test.after(() => { removeDir(dir); });

// Small kernel pools keep each snapshot small (the kernel's memory is in it),
// unless `bankKernel`.
function manifest(accountsMax: number, bankKernel = false): Manifest {
  const m = directLedgerManifest();
  m.kernel.snapshot_interval_entries = INTERVAL;
  if (!bankKernel) Object.assign(m.kernel, { message_bytes_max: 65536, batch_bytes_max: 1 << 20, message_slots: 16, log_preallocate_bytes: 1 << 20 });
  const ledger = m.services.find((s) => s.name === 'ledger')!;
  ledger.config = { accounts_max: accountsMax, transfers_max: 20_000, pending_max: 1_000, history_max: 20_000 };
  return m;
}

function makeImage(name: string, m: Manifest): Img {
  const services = new Map<string, Uint8Array>();
  for (const s of m.services) services.set(s.name, new Uint8Array(readFileSync(join(ROOT, 'build/services', `${s.module}.wasm`))));
  const imageBytes = packImage({ manifest: m, kernel: new Uint8Array(readFileSync(join(ROOT, 'build/kernel.wasm'))), services });
  const path = join(dir, `${name}.qxi`);
  writeFileSync(path, imageBytes);
  return { imageBytes, path };
}

async function boot(img: Img, dataDir: string, mode: 'live' | 'replay', snapshots = true, lines: Line[] = []): Promise<Machine> {
  return Machine.boot({
    image: parseImage(img.imageBytes), imageBytes: img.imageBytes, dataDir, mode, snapshots,
    onLine: (l) => { try { lines.push(JSON.parse(l) as Line); } catch { lines.push({ message: l }); } },
  });
}

interface Replayed { hash: string; entries: number; from: number; lines: Line[] }

async function replay(img: Img, dataDir: string, snapshots: boolean): Promise<Replayed> {
  const lines: Line[] = [];
  const m = await boot(img, dataDir, 'replay', snapshots, lines);
  const halt = await m.stop();
  assert.is(halt.message, null, `replay halted cleanly: ${halt.message}`);
  return { hash: m.stateHash(), entries: m.entriesApplied(), from: m.restoredSnapshot?.entries ?? 0, lines };
}

// xorshift32: the same workload on every run.
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

/** Accounts 1..ACCOUNTS, then `requests` create_transfers requests; returns each account's net balance (credits - debits). */
async function workload(client: FrameClient, requests: number, seed: number, firstId: number): Promise<Map<bigint, bigint>> {
  const net = new Map<bigint, bigint>();
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => BigInt(i + 1));
  if (firstId === 1) await client.call('ledger', encodeAccounts(ids.map((id) => account({ id, ledger: 1, code: 1 }))), 30_000);
  const next = rng(seed);
  let id = firstId;
  for (let r = 0; r < requests; r++) {
    const ts = Array.from({ length: 8 }, () => {
      const debit = BigInt(1 + (next() % ACCOUNTS));
      let credit = BigInt(1 + (next() % ACCOUNTS));
      if (credit === debit) credit = (credit % BigInt(ACCOUNTS)) + 1n;
      const amount = BigInt(1 + (next() % 1000));
      net.set(debit, (net.get(debit) ?? 0n) - amount);
      net.set(credit, (net.get(credit) ?? 0n) + amount);
      return transfer({ id: BigInt(id++), debit_account_id: debit, credit_account_id: credit, amount, ledger: 1, code: 1 });
    });
    const reply = await client.call('ledger', encodeTransfers(ts), 30_000);
    assert.is(reply.length, ts.length * 16, 'one result per transfer');
    for (let i = 0; i < ts.length; i++) assert.is(reply.readUInt32LE(i * 16), 0, `transfer ${i} created`);
  }
  return net;
}

async function balances(client: FrameClient): Promise<Map<bigint, bigint>> {
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => BigInt(i + 1));
  const reply = await client.call('ledger', encodeLookupAccounts(ids), 30_000);
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  const out = new Map<bigint, bigint>();
  assert.is(view.getUint32(0, true), ACCOUNTS, 'every account found');
  for (let at = 8; at < reply.length; at += RECORD_BYTES) {
    const a = readAccount(view, at);
    out.set(a.id, a.credits_posted - a.debits_posted);
  }
  return out;
}

function snapshotFiles(dataDir: string): string[] {
  const d = join(dataDir, SNAPSHOT_DIR);
  return existsSync(d) ? readdirSync(d).sort() : [];
}

let imgA: Img;
let dataA = '';
let expected = new Map<bigint, bigint>();

test('exportKernelGlobals exports every mutable kernel global and changes nothing else', () => {
  // Proves the kernel module given to the machine keeps the image's exports
  // and gains qx_kg* globals (the kernel's module-level state).
  const bytes = new Uint8Array(readFileSync(join(ROOT, 'build/kernel.wasm')));
  const out = exportKernelGlobals(bytes) as Uint8Array<ArrayBuffer>;
  const before = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
  const after = WebAssembly.Module.exports(new WebAssembly.Module(out)).map((e) => e.name);
  assert.equal(after.slice(0, before.length), before);
  assert.ok(after.length > before.length + 20, `${after.length - before.length} globals exported`);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(out), { env: { abort() { throw new Error('abort'); } }, hal: { log_chain: () => 0 } });
  assert.is(kernelGlobals(instance.exports).length, after.length - before.length);
});

test('the kernel checks snapshot_interval_entries itself', () => {
  // Proves the kernel's own manifest parse refuses an interval beyond its
  // bound (a manifest that skipped the host's check), and takes one within.
  const boot = (interval: number): number => {
    const m = manifest(64) as unknown as { kernel: Record<string, number> };
    m.kernel.snapshot_interval_entries = interval;
    const k = Kernel.instantiate(new WebAssembly.Module(readFileSync(join(ROOT, 'build/kernel.wasm'))), logChainTs);
    return k.boot(new Uint8Array(32), Buffer.from(JSON.stringify(m)), abi.BOOT_REPLAY);
  };
  assert.is(boot(2 ** 41), abi.KERR_MANIFEST);
  assert.is(boot(100), 0);
});

test('snapshot + replay of the log after it equals a full replay (state hash, entries, ledger balances)', async () => {
  // Proves: a live machine with snapshot_interval_entries writes snapshots
  // (the newest SNAPSHOTS_KEPT kept); replay from the newest and a full
  // replay agree on the state hash and entries; a live reboot starts from
  // the snapshot, replays the tail, and the ledger answers every balance the
  // workload implies; its state after more work equals a full replay.
  imgA = makeImage('a', manifest(4096));
  dataA = join(dir, 'a');
  const lines: Line[] = [];
  let m = await boot(imgA, dataA, 'live', true, lines);
  let client = await FrameClient.connect('127.0.0.1', (await m.listen('127.0.0.1', 0)).port);
  expected = await workload(client, 130, 7, 1);
  client.close();
  await m.stop();
  const written = lines.filter((l) => l.event === 'snapshot_written');
  assert.ok(written.length >= 3, `snapshots written: ${written.length}`);
  assert.is(snapshotFiles(dataA).length, SNAPSHOTS_KEPT, `kept: ${snapshotFiles(dataA).join(', ')}`);

  const full = await replay(imgA, dataA, false);
  const fromSnap = await replay(imgA, dataA, true);
  assert.is(full.from, 0);
  assert.ok(fromSnap.from > 0 && fromSnap.from < fromSnap.entries, `restored at ${fromSnap.from} of ${fromSnap.entries}: the log after it was replayed`);
  assert.is(fromSnap.entries, full.entries);
  assert.is(fromSnap.hash, full.hash, 'snapshot + replay == full replay');

  // A live reboot from the snapshot, then more work on top.
  const lines2: Line[] = [];
  m = await boot(imgA, dataA, 'live', true, lines2);
  assert.ok(lines2.some((l) => l.event === 'snapshot_loaded'), 'the live boot restored a snapshot');
  assert.ok(lines2.some((l) => l.event === 'snapshot_restored'), 'the kernel took it');
  client = await FrameClient.connect('127.0.0.1', (await m.listen('127.0.0.1', 0)).port);
  const got = await balances(client);
  for (const [id, v] of expected) assert.is(got.get(id), v, `account ${id}`);
  const more = await workload(client, 60, 11, 1_000_000);
  for (const [id, v] of more) expected.set(id, (expected.get(id) ?? 0n) + v);
  const got2 = await balances(client);
  for (const [id, v] of expected) assert.is(got2.get(id), v, `account ${id} after more work`);
  client.close();
  await m.stop();
  const liveHash = m.stateHash();
  const full2 = await replay(imgA, dataA, false);
  const snap2 = await replay(imgA, dataA, true);
  assert.is(full2.hash, liveHash, 'full replay equals the live state');
  assert.is(snap2.hash, liveHash, 'snapshot + replay equals the live state');
  assert.ok(snap2.from > fromSnap.from, 'the rebooted machine wrote newer snapshots');
});

test('a corrupted newest snapshot is skipped for the older one, and with both corrupted the whole log is replayed', async () => {
  // Proves every snapshot is checked (part hashes) before use, a bad one is
  // reported with its reason, and recovery still ends in the same state.
  const full = await replay(imgA, dataA, false);
  const files = snapshotFiles(dataA).map((f) => join(dataA, SNAPSHOT_DIR, f));
  const store = new SnapshotStore({ dataDir: dataA, imageDigestHex: '' });
  const [newest, older] = store.list();
  const flip = (path: string, at: number) => {
    const b = readFileSync(path);
    b[at] ^= 0xff;
    writeFileSync(path, b);
  };
  flip(newest.path, 65536 + 1000); // inside the kernel's memory part
  const r1 = await replay(imgA, dataA, true);
  const skip1 = r1.lines.find((l) => l.event === 'snapshot_skipped');
  assert.ok(skip1 !== undefined && String(skip1.reason).includes('checksum mismatch'), JSON.stringify(skip1));
  assert.is(r1.from, older.entries, 'the older snapshot was used');
  assert.is(r1.hash, full.hash);

  flip(older.path, 20); // the header's own checksum
  const r2 = await replay(imgA, dataA, true);
  assert.is(r2.lines.filter((l) => l.event === 'snapshot_skipped').length, 2);
  assert.is(r2.from, 0, 'no snapshot used: full replay');
  assert.is(r2.hash, full.hash);
  assert.is(files.length, 2);
});

test('a snapshot from another image, or from another history of the same image, is refused', async () => {
  // Proves the image digest and the log's chain head bind a snapshot to its
  // image and its log: copied elsewhere it is skipped, saying why.
  const a = join(dir, 'a2');
  let lines: Line[] = [];
  let m = await boot(imgA, a, 'live', true, lines);
  let client = await FrameClient.connect('127.0.0.1', (await m.listen('127.0.0.1', 0)).port);
  await workload(client, 50, 99, 1);
  client.close();
  await m.stop();
  const theirs = new SnapshotStore({ dataDir: a, imageDigestHex: '' }).list();
  assert.ok(theirs.length > 0 && lines.some((l) => l.event === 'snapshot_written'));

  // Same image, other history: another data dir's snapshot.
  const other = join(dir, 'a3');
  m = await boot(imgA, other, 'live', true);
  client = await FrameClient.connect('127.0.0.1', (await m.listen('127.0.0.1', 0)).port);
  await workload(client, 50, 5, 1); // another seed: another log
  client.close();
  await m.stop();
  const otherDir = join(other, SNAPSHOT_DIR);
  for (const f of readdirSync(otherDir)) removeDir(join(otherDir, f));
  copyFileSync(theirs[0].path, join(otherDir, theirs[0].path.split('/').pop()!));
  const fullOther = await replay(imgA, other, false);
  const r = await replay(imgA, other, true);
  const skip = r.lines.find((l) => l.event === 'snapshot_skipped');
  assert.ok(skip !== undefined && /chain|entry|log/.test(String(skip.reason)), JSON.stringify(skip));
  assert.is(r.from, 0);
  assert.is(r.hash, fullOther.hash);

  // Another image (a different ledger size): its own log, our snapshot.
  const imgB = makeImage('b', manifest(8192));
  const b = join(dir, 'b');
  lines = [];
  m = await boot(imgB, b, 'live', true, lines);
  client = await FrameClient.connect('127.0.0.1', (await m.listen('127.0.0.1', 0)).port);
  await workload(client, 10, 3, 1);
  client.close();
  await m.stop();
  mkdirSync(join(b, SNAPSHOT_DIR), { recursive: true });
  copyFileSync(theirs[0].path, join(b, SNAPSHOT_DIR, theirs[0].path.split('/').pop()!));
  const fullB = await replay(imgB, b, false);
  const rb = await replay(imgB, b, true);
  const skipB = rb.lines.find((l) => l.event === 'snapshot_skipped');
  assert.ok(skipB !== undefined && String(skipB.reason).includes('another image'), JSON.stringify(skipB));
  assert.is(rb.from, 0);
  assert.is(rb.hash, fullB.hash);
});

test('SIGKILL while a snapshot is being written leaves a bootable data dir', async () => {
  // Proves a crash mid-write leaves only a temporary file that boot ignores
  // and removes; the machine reboots (from an older snapshot or the log) and
  // its state equals a full replay.
  const img = makeImage('kill', manifest(65_536, true)); // a larger ledger: each snapshot takes a while to write
  const data = join(dir, 'kill');
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/integration/snapshots.child.ts'), img.path, data], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const snapDir = join(data, SNAPSHOT_DIR);
  let sawTmp = false;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (existsSync(snapDir) && readdirSync(snapDir).some((f) => f.endsWith('.tmp'))) { sawTmp = true; break; }
    await new Promise((r) => setTimeout(r, 1));
  }
  child.kill('SIGKILL');
  await exited;
  assert.ok(sawTmp, `a snapshot was being written when killed; child said: ${out.slice(-2000)}`);
  assert.ok(readdirSync(snapDir).some((f) => f.endsWith('.tmp')), 'the temporary file is still there');

  const lines: Line[] = [];
  const m = await boot(img, data, 'live', true, lines);
  assert.ok(lines.some((l) => l.event === 'snapshot_stale_removed'), 'the stale temporary file was removed');
  await m.stop(); // waits for a snapshot the reboot may have started
  assert.not.ok(readdirSync(snapDir).some((f) => f.endsWith('.tmp')), 'no temporary file after a clean stop');
  const full = await replay(img, data, false);
  assert.is(full.hash, m.stateHash(), 'the rebooted state equals a full replay');
  const fromSnap = await replay(img, data, true);
  assert.is(fromSnap.hash, full.hash);
});

test.run();
