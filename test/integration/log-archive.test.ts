// The segmented command log and its archive, end to end through the real
// CLI: a live machine with 4 KiB log segments (QENEX_LOG_SEGMENT_BYTES), a
// snapshot every 16 entries and a signed audit checkpoint every 4, writes
// its log across dozens of segments (entries straddle them). `qenex log
// archive`, run while the machine is stopped and while it runs, moves only
// the segments below the newest snapshot, and every reader still finds
// them: a replay from the first entry reaches the live state hash, `audit
// verify` accepts the log, `audit prove` of an archived entry gives a proof
// that `check-proof` accepts, a replay elsewhere reads an archive named with
// --archive, a segment in neither place is named, and a torn or cut last
// segment is recovered as the single-file log was.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { closeSync, cpSync, existsSync, ftruncateSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { FrameClient, counterRequest, counterReply } from '../../host/client/frames.ts';
import { readAuditLog } from '../../host/audit/log.ts';
import { ENTRY_CHECKPOINT, ENTRY_HEADER_BYTES } from '../../hal/log.ts';
import { writeKeyPair } from '../../host/base/keys.ts';
import { ARCHIVE_DIR, LOG_FILE, listSegments, readLogLayout, segmentName } from '../../host/devices/segmented-log.ts';
import { demoManifest, event, makeImage, removeDir, runCli, Server, type TestImage } from '../support/helpers.ts';

const SEGMENT = 4096;
const ENV = { QENEX_LOG_SEGMENT_BYTES: String(SEGMENT) };
const SNAPSHOT_INTERVAL = 16;
const CHECKPOINT_INTERVAL = 4;

let img: TestImage;
let auditKey = '';
let auditPub = '';
let data = '';
let liveHash = '';
let total = 0n; // what the counter holds: the sum of every add

function manifest() {
  const m = { ...demoManifest(), audit: { checkpoint_interval: CHECKPOINT_INTERVAL } };
  // Small pools keep each snapshot small; a preallocation of four segments ahead.
  Object.assign(m.kernel, { message_bytes_max: 65536, batch_bytes_max: 1 << 20, message_slots: 16, log_preallocate_bytes: 4 * SEGMENT, snapshot_interval_entries: SNAPSHOT_INTERVAL });
  m.services.find((s) => s.name === 'ledger')!.config = { accounts_max: 4096, transfers_max: 20_000, pending_max: 1_000, history_max: 20_000 };
  return m;
}

function bootArgs(dataDir: string, extra: string[] = []): string[] {
  return ['boot', img.imagePath, '--data', dataDir, '--trust', img.pubPath, '--audit-key', auditKey, ...extra];
}

/** Adds `values` to the counter through a running server. */
async function add(server: Server, values: number[]): Promise<void> {
  const { host, port } = await server.address();
  const client = await FrameClient.connect(host, port);
  for (const v of values) {
    await client.call('counter', counterRequest(1, BigInt(v)));
    total += BigInt(v);
  }
  client.close();
}

async function stop(server: Server): Promise<string> {
  await server.kill('SIGTERM');
  const stopped = event(server.events, 'stopped');
  assert.ok(stopped, `stopped line; stderr: ${server.stderr}`);
  return String(stopped!.state_hash);
}

/** Waits (bounded polling, no timing asserted) until the server has written a snapshot past `entries`. */
async function snapshotPast(server: Server, entries: number): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    if (server.events.some((e) => e.event === 'snapshot_written' && Number(e.entries) > entries)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no snapshot past entry ${entries}; stderr: ${server.stderr}`);
}

function replay(dataDir: string, extra: string[] = []) {
  const r = runCli(['replay', '--data', dataDir, ...extra]);
  return { ...r, line: event(r.events, 'replay') };
}

function archive(dataDir: string, extra: string[] = []) {
  const r = runCli(['log', 'archive', '--data', dataDir, ...extra]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  return { moved: r.events.filter((e) => e.event === 'log_segment_archived'), summary: event(r.events, 'log_archive')! };
}

function copyData(name: string): string {
  const dir = join(img.dir, name);
  cpSync(data, dir, { recursive: true });
  return dir;
}

test.before(() => {
  img = makeImage('log-archive', manifest());
  const keys = writeKeyPair(join(img.dir, 'audit-keys'));
  auditKey = keys.keyPath;
  auditPub = keys.pubPath;
  data = join(img.dir, 'data');
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

test('a machine writes its log across many small segments; a replay from the first entry reaches its state', async () => {
  const server = Server.start(bootArgs(data, ['--listen', '127.0.0.1:0']), ENV);
  await add(server, Array.from({ length: 60 }, (_, i) => i + 1));
  await snapshotPast(server, 0);
  liveHash = await stop(server);
  assert.is(readLogLayout(data)?.segmentBytes, SEGMENT);
  const segments = listSegments(data);
  assert.ok(segments.length >= 10, `${segments.length} segments`);
  assert.is(segments[0].name, LOG_FILE, 'the first segment keeps the single-file name');
  const log = readAuditLog(data);
  assert.is(log.problem, null);
  assert.ok(log.entries.some((e) => Math.floor(e.offset / SEGMENT) !== Math.floor((e.offset + e.total - 1) / SEGMENT)), 'some entry straddles two segments');
  assert.ok(log.entries.filter((e) => e.type === ENTRY_CHECKPOINT).length >= 2, 'signed checkpoints in the log');
  const full = replay(data, ['--no-snapshot']);
  assert.is(full.code, 0, full.stderr);
  assert.is(full.line!.state_hash, liveHash);
});

test('archive while stopped: only segments below the newest snapshot move, and every reader finds them', () => {
  const { moved, summary } = archive(data);
  assert.ok(moved.length >= 1, JSON.stringify(summary));
  assert.is(summary.segments_moved, moved.length);
  const covered = Number(summary.kept_from_offset);
  assert.ok(covered > 0 && covered < Number(summary.snapshot_log_offset), 'a boot from the snapshot reads from the entry before its position');
  for (const m of moved) {
    assert.ok(Number(m.first_offset) + SEGMENT <= covered, `${m.segment} lies below what a boot from the snapshot reads (${covered})`);
    assert.not.ok(existsSync(join(data, String(m.segment))), `${m.segment} left the data directory`);
    assert.ok(existsSync(join(data, ARCHIVE_DIR, String(m.segment))), `${m.segment} is in the archive`);
    assert.is(m.compressed, null);
  }
  assert.is(moved[0].segment, LOG_FILE, 'the oldest segment moves first');
  assert.is(readLogLayout(join(data, ARCHIVE_DIR))?.segmentBytes, SEGMENT, 'the archive says its segment size');
  // Run again: nothing more is below the snapshot.
  assert.is(archive(data).moved.length, 0);

  const full = replay(data, ['--no-snapshot']);
  assert.is(full.code, 0, full.stderr);
  assert.is(full.line!.state_hash, liveHash, 'a replay from the first entry reads the archive');
  const fromSnapshot = replay(data);
  assert.is(fromSnapshot.line!.state_hash, liveHash);
  const verify = runCli(['audit', 'verify', '--data', data, '--trust', auditPub, '--json']);
  assert.is(verify.code, 0, verify.stdout + verify.stderr);
  assert.is(JSON.parse(verify.stdout).ok, true);

  // An inclusion proof of entry 1 (in the archived first segment) verifies with the public keys alone.
  const prove = runCli(['audit', 'prove', '--data', data, '--entry', '1']);
  assert.is(prove.code, 0, prove.stderr);
  const proofPath = join(img.dir, 'proof.json');
  writeFileSync(proofPath, prove.stdout);
  const check = runCli(['audit', 'check-proof', proofPath, '--trust', auditPub]);
  assert.is(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /ok: entry 1 is in the log/);
});

test('archive while the machine runs, compressed: it serves on, and its log replays whole', async () => {
  const server = Server.start(bootArgs(data, ['--listen', '127.0.0.1:0']), ENV);
  const ready = await server.waitFor('ready');
  await add(server, Array.from({ length: 40 }, (_, i) => 100 + i));
  await snapshotPast(server, Number(ready.entries));
  const { moved } = archive(data, ['--compress']);
  assert.ok(moved.length >= 1, 'segments moved while the machine ran');
  for (const m of moved) {
    assert.is(m.compressed, 'gzip');
    assert.ok(existsSync(join(data, ARCHIVE_DIR, `${String(m.segment)}.gz`)));
  }
  await add(server, [7, 8, 9]);
  liveHash = await stop(server);
  const full = replay(data, ['--no-snapshot']);
  assert.is(full.code, 0, full.stderr);
  assert.is(full.line!.state_hash, liveHash);
  const verify = runCli(['audit', 'verify', '--data', data, '--json']);
  assert.is(JSON.parse(verify.stdout).ok, true, verify.stdout + verify.stderr);
});

test('on another host: the archive kept apart is named with --archive; a boot without a snapshot reads it', async () => {
  const host = copyData('other-host');
  const cold = join(img.dir, 'cold-storage');
  renameSync(join(host, ARCHIVE_DIR), cold);
  const full = replay(host, ['--no-snapshot', '--archive', cold]);
  assert.is(full.code, 0, full.stderr);
  assert.is(full.line!.state_hash, liveHash);
  // A snapshot-started replay needs no archive at all.
  const fromSnapshot = replay(host);
  assert.is(fromSnapshot.code, 0, fromSnapshot.stdout + fromSnapshot.stderr);
  assert.is(fromSnapshot.line!.state_hash, liveHash);
  // A live boot with no usable snapshot replays from the first entry through the archive.
  rmSync(join(host, 'snapshots'), { recursive: true, force: true });
  const server = Server.start(bootArgs(host, ['--listen', '127.0.0.1:0', '--archive', cold]), ENV);
  const { host: h, port } = await server.address();
  const client = await FrameClient.connect(h, port);
  const r = counterReply(await client.call('counter', counterRequest(2)));
  client.close();
  await server.kill('SIGTERM');
  assert.is(r.total, total, 'the counter holds every add, the archived ones included');
});

test('a segment in neither the data directory nor the archive is named', () => {
  const host = copyData('missing');
  const name = segmentName(SEGMENT);
  const archived = readdirSync(join(host, ARCHIVE_DIR)).find((n) => n.startsWith(name));
  assert.ok(archived, `${name} was archived`);
  rmSync(join(host, ARCHIVE_DIR, archived!));
  const full = replay(host, ['--no-snapshot']);
  assert.is.not(full.code, 0);
  assert.match(full.stdout + full.stderr, `log segment ${name} (log bytes ${SEGMENT}..${2 * SEGMENT}) is in neither`);
  const verify = runCli(['audit', 'verify', '--data', host]);
  assert.is(verify.code, 1);
  assert.match(verify.stderr, `log segment ${name}`);
});

test('a torn last entry in the last segment is cut and reported, as in the single file', () => {
  const host = copyData('torn');
  const last = readAuditLog(host).entries.at(-1)!;
  const at = last.offset + ENTRY_HEADER_BYTES + 3;
  const file = join(host, segmentName(Math.floor(at / SEGMENT) * SEGMENT));
  const fd = openSync(file, 'r+');
  const bytes = readFileSync(file);
  writeSync(fd, Uint8Array.of(bytes[at % SEGMENT] ^ 0xff), 0, 1, at % SEGMENT);
  closeSync(fd);
  const boot = runCli(bootArgs(host, ['--once']), 60_000, ENV);
  assert.is(boot.code, 0, boot.stderr);
  const cut = event(boot.events, 'log_tail_cut')!;
  assert.ok(cut, 'log_tail_cut reported');
  assert.is(cut.entry, last.seq);
  assert.is(cut.offset, last.offset);
  assert.is(cut.reason, 'checksum mismatch');
  assert.is(event(boot.events, 'ready')!.entries, last.seq);
  assert.is(replay(host).line!.entries, last.seq, 'a replay afterwards agrees');
});

test('power lost mid-segment: the log cut inside its last segments keeps exactly the entries before the cut', () => {
  const host = copyData('cut');
  // An entry in the middle of what is still live (the rest was archived).
  const firstLive = listSegments(host)[0].firstBytes;
  const entries = readAuditLog(host).entries.filter((e) => e.offset >= firstLive);
  assert.ok(entries.length >= 4, `${entries.length} entries in live segments`);
  const victim = entries[Math.floor(entries.length / 2)];
  const cut = victim.offset + 10; // inside the header of an entry: it and all after it are gone
  for (const s of listSegments(host)) if (s.firstBytes > cut) rmSync(join(host, s.name));
  const file = join(host, segmentName(Math.floor(cut / SEGMENT) * SEGMENT));
  const fd = openSync(file, 'r+');
  ftruncateSync(fd, cut % SEGMENT);
  closeSync(fd);
  const replayed = replay(host);
  assert.is(replayed.code, 0, replayed.stderr);
  assert.is(replayed.line!.entries, victim.seq);
  const boot = runCli(bootArgs(host, ['--once']), 60_000, ENV);
  assert.is(boot.code, 0, boot.stderr);
  const ready = event(boot.events, 'ready')!;
  assert.is(ready.entries, victim.seq);
  assert.is(ready.state_hash, replayed.line!.state_hash, 'reboot hash = replay hash');
});

test.run();
