// test/unit/segmented-log.test.ts: the segmented command log
// (host/devices/segmented-log.ts) is one byte stream over fixed-size segment
// files: it reads and writes across segment boundaries exactly as one file
// would, grows, preallocates and cuts like one, keeps a single-file log from
// before segments whole, reads archived (and gzip-compressed) segments, and
// names a segment that is in neither place.
//
// Run: node --import tsx test/unit/segmented-log.test.ts

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  ARCHIVE_DIR, LOG_FILE, LOG_LAYOUT_FILE, LOG_SEGMENT_BYTES_MIN, listSegments, openSegmentedLog, readLogLayout, segmentFirst, segmentName,
  type SegmentedLog,
} from '../../host/devices/segmented-log.ts';
import { DataCipher } from '../../host/devices/encrypted-backend.ts';

const SEGMENT = LOG_SEGMENT_BYTES_MIN;
const WRITER = { create: true, lock: true, readOnly: false, backend: 'pure', segmentBytes: SEGMENT, notice: () => {} } as const;
const READER = { create: false, lock: false, readOnly: true, backend: 'pure', notice: () => {} } as const;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'qenex-seg-'));
}

function readAll(log: SegmentedLog): Uint8Array {
  const out = new Uint8Array(log.size());
  assert.is(log.readAt(0, out), out.length);
  return out;
}

test('segment names carry their first offset; the first keeps the single-file name', () => {
  assert.is(segmentName(0), LOG_FILE);
  assert.is(segmentName(SEGMENT), 'log.0000000000001000.qxl');
  assert.equal(segmentFirst('log.0000000000001000.qxl.gz'), { firstBytes: SEGMENT, compressed: true });
  assert.equal(segmentFirst(LOG_FILE), { firstBytes: 0, compressed: false });
  assert.is(segmentFirst('log.lock'), null);
  assert.is(segmentFirst(LOG_LAYOUT_FILE), null);
});

test('writes and reads across segment boundaries equal one flat file (property)', async () => {
  // Proves: any sequence of writes (durable or not, straddling boundaries,
  // leaving holes) reads back as the same writes on one byte array, through
  // a reopen by a reader; size() is the flat file's.
  const op = fc.record({ at: fc.nat(6 * SEGMENT), len: fc.integer({ min: 1, max: 2 * SEGMENT }), durable: fc.boolean(), seed: fc.nat(255) });
  await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
    const dir = tempDir();
    try {
      const log = openSegmentedLog(dir, WRITER);
      let model = new Uint8Array(0);
      for (const o of ops) {
        const data = Uint8Array.from({ length: o.len }, (_, i) => (o.seed + i * 7) & 0xff);
        if (o.durable) await log.writeDurable(o.at, data);
        else log.writeAt(o.at, data);
        if (model.length < o.at + o.len) { const m = new Uint8Array(o.at + o.len); m.set(model); model = m; }
        model.set(data, o.at);
      }
      await log.sync();
      assert.is(log.size(), model.length);
      assert.ok(Buffer.from(readAll(log)).equals(Buffer.from(model)));
      log.close();
      const again = openSegmentedLog(dir, READER);
      assert.ok(Buffer.from(readAll(again)).equals(Buffer.from(model)), 'a reader sees the same stream');
      const mid = new Uint8Array(SEGMENT + 10);
      const got = again.readAt(SEGMENT - 5, mid);
      assert.is(got, Math.max(0, Math.min(mid.length, model.length - (SEGMENT - 5))));
      assert.ok(Buffer.from(mid.subarray(0, got)).equals(Buffer.from(model.subarray(SEGMENT - 5, SEGMENT - 5 + got))));
      again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }), { numRuns: 40 });
});

test('preallocate makes segments of zeros ahead; truncate removes later segments and cuts the kept one', async () => {
  const dir = tempDir();
  const log = openSegmentedLog(dir, WRITER);
  await log.writeDurable(0, new Uint8Array(100).fill(1));
  await log.preallocate(3 * SEGMENT + 10);
  assert.is(log.size(), 3 * SEGMENT + 10);
  assert.is(listSegments(dir).length, 4);
  await log.writeDurable(2 * SEGMENT - 3, new Uint8Array(6).fill(2)); // straddles 1 | 2
  await log.truncate(SEGMENT + 2);
  assert.equal(listSegments(dir).map((s) => s.firstBytes), [0, SEGMENT]);
  assert.is(log.size(), SEGMENT + 2);
  await log.truncate(SEGMENT);
  assert.equal(listSegments(dir).map((s) => s.name), [LOG_FILE], 'a cut at a boundary keeps no empty segment after it');
  assert.is(log.size(), SEGMENT);
  log.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a log from before segments stays whole: a longer log.qxl sets a larger segment size', async () => {
  // Proves the legacy rule: the file is not split or rewritten; the layout
  // takes the next power of two that holds it, and writes go on after it.
  const dir = tempDir();
  const old = randomBytes(3 * SEGMENT + 123);
  fs.writeFileSync(path.join(dir, LOG_FILE), old);
  const log = openSegmentedLog(dir, WRITER);
  assert.is(readLogLayout(dir)!.segmentBytes, 4 * SEGMENT);
  assert.ok(Buffer.from(readAll(log)).equals(old));
  await log.writeDurable(old.length, new Uint8Array(SEGMENT).fill(9));
  assert.equal(listSegments(dir).map((s) => s.firstBytes), [0, 4 * SEGMENT]);
  log.close();
  // A reader of a directory without a layout (never opened by a writer of this build) sees the one file.
  const plain = tempDir();
  fs.writeFileSync(path.join(plain, LOG_FILE), old);
  const reader = openSegmentedLog(plain, READER);
  assert.ok(Buffer.from(readAll(reader)).equals(old));
  assert.not.ok(fs.existsSync(path.join(plain, LOG_LAYOUT_FILE)), 'a reader writes nothing');
  reader.close();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(plain, { recursive: true, force: true });
});

test('archived segments are read from the archive, plain or gzip; a missing one names itself', async () => {
  const dir = tempDir();
  const log = openSegmentedLog(dir, WRITER);
  const bytes = randomBytes(4 * SEGMENT + 77);
  await log.writeDurable(0, bytes);
  log.close();
  const archive = path.join(dir, ARCHIVE_DIR);
  fs.mkdirSync(archive);
  fs.renameSync(path.join(dir, segmentName(0)), path.join(archive, segmentName(0)));
  const second = path.join(dir, segmentName(SEGMENT));
  fs.writeFileSync(path.join(archive, segmentName(SEGMENT) + '.gz'), gzipSync(fs.readFileSync(second)));
  fs.rmSync(second);
  const reader = openSegmentedLog(dir, READER);
  assert.is(reader.whereIs(0), 'archive');
  assert.is(reader.whereIs(2), 'live');
  assert.ok(Buffer.from(readAll(reader)).equals(bytes));
  reader.close();
  // Elsewhere (another host): the archive named explicitly.
  const moved = path.join(tempDir(), 'cold');
  fs.renameSync(archive, moved);
  const noArchive = openSegmentedLog(dir, READER);
  assert.throws(() => readAll(noArchive), (e: Error & { code?: string }) => e.code === 'ESEGMENT' && e.message.includes(`log segment ${LOG_FILE} (log bytes 0..${SEGMENT})`));
  noArchive.close();
  const elsewhere = openSegmentedLog(dir, { ...READER, archiveDir: moved });
  assert.ok(Buffer.from(readAll(elsewhere)).equals(bytes));
  elsewhere.close();
  // A writer never writes or cuts below its live segments.
  const writer = openSegmentedLog(dir, { ...WRITER, archiveDir: moved });
  const before = listSegments(dir).map((s) => s.name);
  const refused = await writer.truncate(10).then(() => null, (e: Error & { code?: string }) => e.code);
  assert.is(refused, 'EARCHIVED');
  assert.equal(listSegments(dir).map((s) => s.name), before, 'nothing was removed');
  writer.close();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(moved), { recursive: true, force: true });
});

test('encrypted at rest: each segment is a sealed file of its own, archived compressed or not', async () => {
  const dir = tempDir();
  const cipher = new DataCipher(randomBytes(32));
  const log = openSegmentedLog(dir, { ...WRITER, layer: cipher });
  const bytes = randomBytes(3 * SEGMENT + 5);
  await log.writeDurable(0, bytes);
  log.close();
  for (const s of listSegments(dir)) assert.is(fs.readFileSync(path.join(dir, s.name)).subarray(0, 8).toString('latin1'), 'QXSEAL01', s.name);
  const archive = path.join(dir, ARCHIVE_DIR);
  fs.mkdirSync(archive);
  fs.writeFileSync(path.join(archive, LOG_FILE + '.gz'), gzipSync(fs.readFileSync(path.join(dir, LOG_FILE))));
  fs.rmSync(path.join(dir, LOG_FILE));
  const reader = openSegmentedLog(dir, { ...READER, layer: cipher });
  assert.ok(Buffer.from(readAll(reader)).equals(bytes));
  assert.equal(reader.scrub(), [], 'every sealed sector authenticates');
  reader.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('one writer at a time: the lock is the log\'s, not a segment\'s', () => {
  const dir = tempDir();
  const a = openSegmentedLog(dir, WRITER);
  assert.throws(() => openSegmentedLog(dir, WRITER), (e: Error & { code?: string }) => e.code === 'ELOCKED');
  a.close();
  openSegmentedLog(dir, WRITER).close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
