// Recovery from damaged command logs, through the real CLI: a torn or
// corrupt tail is cut at the last valid entry and reported; a corrupt entry
// with valid entries after it stops boot with an error naming the entry; an
// edited entry whose CRC was recomputed is caught by the hash chain.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openSync, writeSync, closeSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { FrameClient, counterRequest, counterReply } from '../../host/client/frames.ts';
import { makeImage, removeDir, runCli, event, Server, logEntries, ENTRY_HEADER_BYTES, type TestImage, demoManifest } from '../support/helpers.ts';
import { ENTRY_CRC } from '../../hal/log.ts';
import { entryCrc } from '../../host/base/log-entry.ts';

let img: TestImage;
let pristine: string;
const ADDS = 12;

function bootArgs(data: string, extra: string[] = []): string[] {
  return ['boot', img.imagePath, '--data', data, '--trust', img.pubPath, ...extra];
}

// A data dir whose log holds genesis + ADDS counter adds, one per batch.
test.before(async () => {
  img = makeImage('recovery', demoManifest());
  pristine = join(img.dir, 'pristine');
  const server = Server.start(bootArgs(pristine, ['--listen', '127.0.0.1:0']));
  const { host, port } = await server.address();
  const client = await FrameClient.connect(host, port);
  for (let i = 1; i <= ADDS; i++) await client.call('counter', counterRequest(1, BigInt(i)));
  client.close();
  await server.kill('SIGTERM');
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

function copyData(name: string): string {
  const dir = join(img.dir, name);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

function patch(path: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, bytes, 0, bytes.length, offset);
  closeSync(fd);
}

async function counterTotal(data: string): Promise<{ total: bigint; adds: bigint }> {
  const server = Server.start(bootArgs(data, ['--listen', '127.0.0.1:0']));
  const { host, port } = await server.address();
  const client = await FrameClient.connect(host, port);
  const r = counterReply(await client.call('counter', counterRequest(2)));
  client.close();
  await server.kill('SIGTERM');
  return r;
}

test('the pristine log has one genesis entry and one entry per acknowledged add', () => {
  // Proves the fixture the other cases rely on: entries 0..ADDS, seq in order.
  const entries = logEntries(join(pristine, 'log.qxl'));
  assert.is(entries.length, ADDS + 1);
  entries.forEach((e, i) => assert.is(e.seq, BigInt(i)));
  assert.is(entries[0].type, 1, 'entry 0 is the genesis entry');
});

test('a torn last entry is cut at the last valid entry and reported', async () => {
  // Proves: a flipped byte in the last entry (what a torn write leaves) is
  // cut, reported with the entry number, and the state is that of the
  // entries before it; replay afterwards agrees with the live hash.
  const data = copyData('torn');
  const log = join(data, 'log.qxl');
  const last = logEntries(log).at(-1)!;
  const byte = readFileSync(log)[last.offset + ENTRY_HEADER_BYTES + 3];
  patch(log, last.offset + ENTRY_HEADER_BYTES + 3, Uint8Array.of(byte ^ 0xff));
  const boot = runCli(bootArgs(data, ['--once']));
  assert.is(boot.code, 0, boot.stderr);
  const cut = event(boot.events, 'log_tail_cut')!;
  assert.ok(cut, 'log_tail_cut reported');
  assert.is(cut.entry, ADDS);
  assert.is(cut.offset, last.offset);
  assert.is(cut.reason, 'checksum mismatch');
  const state = await counterTotal(data);
  assert.is(state.adds, BigInt(ADDS - 1));
  assert.is(state.total, BigInt(((ADDS - 1) * ADDS) / 2));
});

test('garbage appended after the log is cut, and nothing valid is lost', () => {
  // Proves: stray bytes after the last entry (a torn next batch) are cut
  // without touching the entries before them.
  const data = copyData('garbage');
  const log = join(data, 'log.qxl');
  const end = logEntries(log).at(-1)!;
  const endOffset = end.offset + end.padded;
  patch(log, endOffset, Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff));
  const boot = runCli(bootArgs(data, ['--once']));
  assert.is(boot.code, 0, boot.stderr);
  assert.is(event(boot.events, 'log_tail_cut')!.offset, endOffset);
  assert.is(event(boot.events, 'ready')!.entries, ADDS + 1);
});

test('replay of a torn log reports the tail but does not cut it', () => {
  // Proves: qenex replay is read-only — it reports log_tail_torn, and the
  // file still holds the torn bytes afterwards.
  const data = copyData('torn-replay');
  const log = join(data, 'log.qxl');
  const last = logEntries(log).at(-1)!;
  patch(log, last.offset + ENTRY_HEADER_BYTES, Uint8Array.of(0xee));
  const before = readFileSync(log);
  const replay = runCli(['replay', '--data', data]);
  assert.is(replay.code, 0, replay.stderr);
  assert.ok(event(replay.events, 'log_tail_torn'), 'torn tail reported');
  assert.is(event(replay.events, 'replay')!.entries, ADDS);
  assert.ok(readFileSync(log).equals(before), 'replay wrote nothing');
});

test('a corrupt entry in the middle stops boot and names the entry', () => {
  // Proves: corruption followed by valid entries is never cut (that would
  // drop acknowledged inputs); boot fails with one stderr line naming it.
  const data = copyData('middle');
  const log = join(data, 'log.qxl');
  const victim = logEntries(log)[5];
  patch(log, victim.offset + ENTRY_HEADER_BYTES + 1, Uint8Array.of(0x5a));
  const boot = runCli(bootArgs(data, ['--once']));
  assert.is(boot.code, 1);
  assert.match(boot.stderr, new RegExp(`command log entry 5 at offset ${victim.offset} is corrupt \\(checksum mismatch\\) and valid entries follow it`));
  assert.is(boot.stderr.trim().split('\n').length, 1, 'one line on stderr');
  const failed = event(boot.events, 'boot_failed')!;
  assert.is(failed.entry, 5);
  assert.is(failed.next_valid_entry, 6);
  assert.not.ok(event(boot.events, 'ready'));
  const replay = runCli(['replay', '--data', data]);
  assert.is(replay.code, 1, 'replay refuses the same log');
});

test('a zeroed entry in the middle is not mistaken for the end of the log', () => {
  // Proves: an entry whose bytes were wiped to zero (looks like the end)
  // is caught because valid entries follow it.
  const data = copyData('zeroed');
  const log = join(data, 'log.qxl');
  const victim = logEntries(log)[3];
  patch(log, victim.offset, new Uint8Array(victim.padded));
  const boot = runCli(bootArgs(data, ['--once']));
  assert.is(boot.code, 1);
  assert.match(boot.stderr, /command log entry 3 at offset \d+ is corrupt/);
});

test('damage in the batch before the last is history, not a torn write: boot refuses', () => {
  // Proves the torn-final-batch rule (kernel/recovery.ts inTornBatch) cuts
  // only the batch that was in flight: when the damaged entry belongs to an
  // earlier batch than the valid entries after it, those later entries were
  // written after it was durable, so it was acknowledged and is never cut.
  const data = copyData('before-last');
  const log = join(data, 'log.qxl');
  const entries = logEntries(log);
  const [victim, last] = entries.slice(-2);
  assert.ok(victim.batch < last.batch, 'the last two entries are in different batches');
  patch(log, victim.offset, new Uint8Array(victim.padded));
  const boot = runCli(bootArgs(data, ['--once']));
  assert.is(boot.code, 1);
  assert.match(boot.stderr, new RegExp(`command log entry ${entries.length - 2} at offset ${victim.offset} is corrupt`));
});

test('an edited entry with a recomputed CRC breaks the hash chain', () => {
  // Proves: tampering that keeps the CRC valid is caught by the SHA-256
  // chain, and boot names the entry.
  const data = copyData('tampered');
  const log = join(data, 'log.qxl');
  const victim = logEntries(log)[7];
  const bytes = readFileSync(log);
  const entry = Buffer.from(bytes.subarray(victim.offset, victim.offset + victim.total));
  entry.writeBigUInt64LE(entry.readBigUInt64LE(ENTRY_HEADER_BYTES + 8) + 1000n, ENTRY_HEADER_BYTES + 8); // the add's value
  entry.writeUInt32LE(entryCrc(entry), ENTRY_CRC);
  patch(log, victim.offset, entry);
  const boot = runCli(bootArgs(data, ['--once']));
  assert.is(boot.code, 1);
  assert.match(boot.stderr, /command log entry 7 at offset \d+ is invalid \(hash chain broken\)/);
});

test('a log from another image is refused, by the host and by the kernel', () => {
  // Proves: a data dir can't be booted with a different image: the host
  // compares the stored image, and even when that copy is swapped too, the
  // kernel's genesis entry check refuses the log.
  const data = copyData('other-image');
  const other = makeImage('recovery-other', { ...demoManifest(), version: 2 });
  try {
    const boot = runCli(['boot', other.imagePath, '--data', data, '--trust', other.pubPath, '--once']);
    assert.is(boot.code, 1);
    assert.match(boot.stderr, /belongs to image/);
    writeFileSync(join(data, 'image.qxi'), other.bytes);
    const kernel = runCli(['boot', other.imagePath, '--data', data, '--trust', other.pubPath, '--once']);
    assert.is(kernel.code, 1);
    assert.match(kernel.stderr, /command log entry 0 at offset 0 is invalid \(log belongs to another image\)/);
  } finally {
    removeDir(other.dir);
  }
});

test.run();
