// host/cmd/log.ts: `qenex log archive` — moves command log segments that a
// machine snapshot covers out of the data directory, on the operator's word.
//
// The machine never deletes log history (docs/storage.md, Archive). This
// command moves whole segments (host/devices/segmented-log.ts) that lie
// entirely below the newest valid machine snapshot to an archive directory:
// below the first log byte a boot from that snapshot reads, the start of the
// entry that ends at the snapshot's position (entries straddle segments).
// Every reader of the log finds them there again (replay from the first
// entry, `qenex audit`, a boot without a usable snapshot). The last segment
// in the data directory is never moved.
//
// One segment at a time, so that some complete copy can always be found by
// name (readers look in the data directory, then in the archive):
//   1. read the live file and hash it;
//   2. write the copy (gzip with --compress: the same bytes inside) under a
//      temporary name in the archive, fsync it, read it back and compare
//      hashes, rename it into place, fsync the archive directory;
//   3. read the live file again: still the same bytes (nothing writes below
//      a snapshot; this proves it), then unlink it and fsync the data
//      directory.
// A crash leaves the segment in the data directory, in both places (the next
// run finds the archived copy equal and only removes the live one) or in the
// archive alone; never in neither. A copy that differs stops the command
// without removing anything.
//
// Safe while the machine runs: it writes only at its log's end, which is at
// or above its newest snapshot, and a segment it has open stays readable
// through its descriptor after the unlink.

import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CliError, EXIT_USAGE, asCliError, parseArgs, processIo, type CommandIo } from './args.ts';
import { ImageError, parseImage, readImageFile } from '../image.ts';
import { IMAGE_FILE } from '../machine.ts';
import { DataKeyError, openDataCipher } from '../datakey.ts';
import { syncDirectory } from '../base/durable.ts';
import { BlockBackendError, openBlockBackend, type BackendChoice, type BlockOpenOptions } from '../devices/block-backend.ts';
import {
  ARCHIVE_DIR, COMPRESSED_SUFFIX, LOG_LAYOUT_FILE, firstLiveSegment, listSegments, openSegmentedLog, readLogLayout, writeLogLayout,
} from '../devices/segmented-log.ts';
import { SnapshotError, SnapshotStore, snapshotPosition as positionOf } from '../snapshot.ts';

export const USAGE = `usage: qenex log archive --data <dir> [--to <archive dir>] [--compress] [--backend auto|native|pure]

Moves the command log segments of <dir> that lie entirely below the newest
valid machine snapshot (below the first log byte a boot from it reads) to
the archive (default <dir>/archive),
gzip-compressed with --compress. Each copy is made durable and checked before
the segment leaves <dir>; nothing is ever deleted that is not in the archive.
The machine may be running. Prints one JSON line per segment moved
("log_segment_archived") and a summary ("log_archive").

Readers find archived segments again: qenex replay, audit and boot take
--archive <dir> (default <data>/archive).`;

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.out(USAGE);
    return sub === undefined ? EXIT_USAGE : 0;
  }
  if (sub !== 'archive') throw new CliError(`unknown log command "${sub}" (archive)`, EXIT_USAGE);
  const args = parseArgs(rest, { values: ['data', 'to', 'backend'], booleans: ['compress'], positionals: { min: 0, max: 0 } });
  if (args.help) { io.out(USAGE); return 0; }
  const dataDir = args.values.get('data');
  if (dataDir === undefined) throw new CliError('missing --data <dir>', EXIT_USAGE);
  const backend = args.values.get('backend') ?? 'auto';
  if (backend !== 'auto' && backend !== 'native' && backend !== 'pure') throw new CliError('--backend must be auto, native or pure', EXIT_USAGE);
  const archiveDir = args.values.get('to') ?? join(dataDir, ARCHIVE_DIR);
  try {
    return await archive(dataDir, archiveDir, args.booleans.has('compress'), backend, io);
  } catch (e) {
    throw asCliError(e, [ImageError, DataKeyError, BlockBackendError]);
  }
}

async function archive(dataDir: string, archiveDir: string, compress: boolean, backend: BackendChoice, io: CommandIo): Promise<number> {
  const layout = readLogLayout(dataDir);
  const summary = { event: 'log_archive', data: dataDir, archive: archiveDir, segments_moved: 0, bytes_moved: 0, snapshot_entries: 0, snapshot_log_offset: 0, kept_from_offset: 0 };
  if (layout === null) {
    io.out(JSON.stringify({ ...summary, message: `${dataDir} has no segment layout yet (${LOG_LAYOUT_FILE}; a live boot of this QENEX writes it): nothing to archive` }));
    return 0;
  }
  const covered = await snapshotPosition(dataDir, archiveDir, backend);
  summary.snapshot_entries = covered?.entries ?? 0;
  summary.snapshot_log_offset = covered?.logOffset ?? 0;
  summary.kept_from_offset = covered?.readFrom ?? 0;
  const live = listSegments(dataDir).filter((s) => !s.compressed);
  const last = live.at(-1);
  const movable = live.filter((s) => s !== last && covered !== null && s.firstBytes + layout.segmentBytes <= covered.readFrom);
  if (movable.length > 0) {
    mkdirSync(archiveDir, { recursive: true });
    // The archive says its own segment size, so it can be read without the data directory.
    writeLogLayout(archiveDir, layout.segmentBytes);
  }
  for (const s of movable) {
    const moved = moveSegment(dataDir, archiveDir, s.name, compress);
    summary.segments_moved += 1;
    summary.bytes_moved += moved.bytes;
    io.out(JSON.stringify({ event: 'log_segment_archived', segment: s.name, first_offset: s.firstBytes, ...moved }));
  }
  const reason = covered === null ? 'no valid machine snapshot: every segment may still be needed by a boot' : undefined;
  io.out(JSON.stringify({ ...summary, segments_live: live.length - summary.segments_moved, ...(reason === undefined ? {} : { message: reason }) }));
  return 0;
}

// The newest snapshot a boot would start from (SnapshotStore.findValid: its
// parts, its image and the log entry it ends at all check out), and where
// that boot reads the log from: the start of the entry before its position
// (an entry may straddle two segments, so not the position itself).
async function snapshotPosition(dataDir: string, archiveDir: string, backend: BackendChoice): Promise<Covered | null> {
  const image = parseImage(readImageFile(join(dataDir, IMAGE_FILE)));
  const storage = image.manifest.storage;
  const cipher = await openDataCipher({ dataDir, storage, logFile: firstLiveSegment(dataDir), create: false });
  const open = (path: string, o: BlockOpenOptions) => openBlockBackend(path, { ...o, backend, layer: cipher ?? undefined });
  const store = new SnapshotStore({ dataDir, imageDigestHex: image.digestHex, backend, open });
  const log = openSegmentedLog(dataDir, { create: false, lock: false, readOnly: true, backend, layer: cipher ?? undefined, archiveDir, notice: () => {} });
  try {
    const found = store.findValid(image.manifest.services.map((s) => s.name), log, () => {});
    if (found === null) return null;
    const file = open(found.path, { create: false, lock: false, readOnly: true });
    try {
      return { entries: found.entries, logOffset: found.logOffset, readFrom: positionOf(file).lastEntryOffset };
    } finally {
      file.close();
    }
  } catch (e) {
    // Pruned by the running machine between the two reads: the next run sees the newer one.
    if (e instanceof SnapshotError || (e as { code?: string }).code === 'ENOENT') return null;
    throw e;
  } finally {
    log.close();
  }
}

interface Covered { entries: number; logOffset: number; readFrom: number }

interface Moved { bytes: number; archived_bytes: number; compressed: 'gzip' | null; to: string; sha256: string; already_archived: boolean }

function moveSegment(dataDir: string, archiveDir: string, name: string, compress: boolean): Moved {
  const source = join(dataDir, name);
  const bytes = readFileSync(source);
  const sha256 = hashOf(bytes);
  const existing = [name, name + COMPRESSED_SUFFIX].map((n) => join(archiveDir, n)).filter((p) => existsSync(p));
  let to: string;
  let alreadyArchived = false;
  if (existing.length > 0) {
    // A run before this one stopped between the rename and the unlink: the
    // copy must be this segment's bytes, or nothing is touched.
    to = existing[0];
    if (hashOf(readArchived(to)) !== sha256) {
      throw new CliError(`${to} exists and differs from ${source}: nothing was moved; compare the two before archiving again`);
    }
    alreadyArchived = true;
  } else {
    to = join(archiveDir, compress ? name + COMPRESSED_SUFFIX : name);
    const out = compress ? gzipSync(bytes) : bytes;
    const temp = `${to}.tmp-${process.pid}`;
    writeDurably(temp, out);
    if (hashOf(readArchived(temp, compress)) !== sha256) {
      unlinkSync(temp);
      throw new CliError(`${temp}: the copy of ${source} does not read back as written: nothing was moved`);
    }
    renameSync(temp, to);
    syncDirectory(archiveDir);
  }
  if (hashOf(readFileSync(source)) !== sha256) {
    throw new CliError(`${source} changed while it was copied: it is not below the machine's log end; it stays where it is`);
  }
  unlinkSync(source);
  syncDirectory(dataDir);
  const archivedBytes = readFileSync(to).length;
  return { bytes: bytes.length, archived_bytes: archivedBytes, compressed: to.endsWith(COMPRESSED_SUFFIX) ? 'gzip' : null, to: resolve(to), sha256, already_archived: alreadyArchived };
}

function readArchived(path: string, compressed = path.endsWith(COMPRESSED_SUFFIX)): Buffer {
  const bytes = readFileSync(path);
  return compressed ? gunzipSync(bytes) : bytes;
}

function hashOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function writeDurably(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
