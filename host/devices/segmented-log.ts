// host/devices/segmented-log.ts: the command log as fixed-size segment files.
//
// The kernel addresses its log as one byte stream by u64 offset and knows
// nothing of files. This BlockBackend keeps that stream in segment files of
// `segmentBytes` each (a power of two, LOG_SEGMENT_BYTES_DEFAULT unless the
// data directory says otherwise), so that old history can be moved out of
// the data directory (`qenex log archive`, host/cmd/log.ts) while everything
// above the backend, the kernel's recovery included, sees the same stream:
//
//   offset   0 .. S    log.qxl                    (the first segment keeps the
//            S .. 2S   log.0000000010000000.qxl    name of the single-file log)
//           2S .. 3S   log.0000000020000000.qxl    (16 hex digits: the first offset)
//
// - Segments are cut at fixed offsets, not at entry boundaries: an entry may
//   straddle two segments, and readAt/writeAt map the span across. The
//   backend never parses entries (recovery, the audit reader and snapshots do
//   that above it), and the segment of an offset is one division.
// - Each segment is a BlockBackend of its own (native or pure; with a layer,
//   each is an encrypted file with its own header and file id), opened at
//   its first use. A data directory's log is locked through LOG_LOCK_FILE,
//   not through a segment: the first segments may be archived away.
// - A segment missing below the last one reads as zeros where the file is
//   short (as a hole in one file would); a segment in neither the data
//   directory nor the archive is an error that names it (ESEGMENT).
// - Reads fall back to the archive directory (`<data>/archive` unless given):
//   the same file, or the same file gzip-compressed (`.gz`). A compressed
//   segment is decompressed into memory once and kept while it is read.
// - The layout (segment size) is fixed when a writer first opens the
//   directory and kept in LOG_LAYOUT_FILE. A directory written before
//   segments (one `log.qxl`, no layout file) is a segmented log whose first
//   segment is that file: if it is longer than the wanted segment size, the
//   directory takes the next power of two at or above its length instead, so
//   the file stays whole and is never split or rewritten.
//
// Use: `const log = openSegmentedLog(dataDir, { create: true, lock: true,
// readOnly: false, layer })`, then use it as any BlockBackend. The segments
// live in a LogDirectory: the data directory on the file system, or a
// directory of the simulator's faulty disk (host/sim/disk.ts), where a
// crash can lose what was not made durable, names included.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { syncDirectory, writeFileDurably } from '../base/durable.ts';
import {
  BlockBackendError, checkBytes, checkSpan, closedError, openBlockBackend, readOnlyError,
  type BlockBackend, type BlockOpenOptions,
} from './block-backend.ts';
import { SECTOR_BYTES, type SectorDamage } from './encrypted-backend.ts';
import { LOG_SEGMENT_BYTES_DEFAULT, LOG_SEGMENT_BYTES_MAX, LOG_SEGMENT_BYTES_MIN } from '../base/limits.ts';

// ---- limits and names ----

/** The first segment's name: the name of the log before it had segments. */
export const LOG_FILE = 'log.qxl';
/** Where the data directory keeps its segment size. */
export const LOG_LAYOUT_FILE = 'log-layout.json';
/** The writer's lock (the first segments may be archived away, so not a segment). */
export const LOG_LOCK_FILE = 'log.lock';
/** The archive's default place, inside the data directory. */
export const ARCHIVE_DIR = 'archive';
// The segment size's bounds and default, with why: host/base/limits.ts.
export { LOG_SEGMENT_BYTES_DEFAULT, LOG_SEGMENT_BYTES_MIN, LOG_SEGMENT_BYTES_MAX };
/** Sets the segment size of a new log (tests: tiny segments through the CLI). */
export const LOG_SEGMENT_BYTES_ENV = 'QENEX_LOG_SEGMENT_BYTES';
/** The suffix of a gzip-compressed archived segment. */
export const COMPRESSED_SUFFIX = '.gz';
const LAYOUT_FORMAT = 1;
// Read handles of old segments kept open at once (a full replay walks them in order).
const READERS_OPEN_MAX = 8;
const SEGMENT_NAME = /^log\.([0-9a-f]{16})\.qxl$/;

/** A segment's file name (in the data directory; the archive adds COMPRESSED_SUFFIX when compressed). */
export function segmentName(firstBytes: number): string {
  assert(Number.isSafeInteger(firstBytes) && firstBytes >= 0, 'a segment starts at an exact offset');
  return firstBytes === 0 ? LOG_FILE : `log.${firstBytes.toString(16).padStart(16, '0')}.qxl`;
}

/** The first offset a segment file name says, or null for another file (a compressed name too). */
export function segmentFirst(name: string): { firstBytes: number; compressed: boolean } | null {
  const compressed = name.endsWith(COMPRESSED_SUFFIX);
  const base = compressed ? name.slice(0, -COMPRESSED_SUFFIX.length) : name;
  if (base === LOG_FILE) return { firstBytes: 0, compressed };
  const m = SEGMENT_NAME.exec(base);
  if (m === null) return null;
  const firstBytes = parseInt(m[1], 16);
  return Number.isSafeInteger(firstBytes) && firstBytes > 0 ? { firstBytes, compressed } : null;
}

export function checkSegmentBytes(segmentBytes: number, where: string): number {
  const power = Number.isSafeInteger(segmentBytes) && segmentBytes > 0 && Number.isInteger(Math.log2(segmentBytes));
  if (!power || segmentBytes < LOG_SEGMENT_BYTES_MIN || segmentBytes > LOG_SEGMENT_BYTES_MAX) {
    throw new BlockBackendError('ERR_INVALID_ARG_VALUE',
      `${where}: a log segment is a power of two of ${LOG_SEGMENT_BYTES_MIN} to ${LOG_SEGMENT_BYTES_MAX} bytes, got ${segmentBytes}`);
  }
  return segmentBytes;
}

// ---- layout ----

/** The segment size a data directory was laid out with, or null (a log from before segments, or none yet). */
export function readLogLayout(dataDir: string): { segmentBytes: number } | null {
  const path = join(dataDir, LOG_LAYOUT_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let parsed: { format?: unknown; segment_bytes?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (e) {
    throw new BlockBackendError('ELAYOUT', `${path}: not JSON (${(e as Error).message})`);
  }
  if (parsed.format !== LAYOUT_FORMAT) throw new BlockBackendError('ELAYOUT', `${path}: layout format ${String(parsed.format)}, this QENEX reads ${LAYOUT_FORMAT}`);
  return { segmentBytes: checkSegmentBytes(Number(parsed.segment_bytes), path) };
}

/** Writes the layout file (durably: temporary file, fsync, rename, directory fsync). */
export function writeLogLayout(dir: string, segmentBytes: number): void {
  checkSegmentBytes(segmentBytes, dir);
  const text = JSON.stringify({ format: LAYOUT_FORMAT, segment_bytes: segmentBytes }) + '\n';
  writeFileDurably(join(dir, LOG_LAYOUT_FILE), text, { syncDirectory: true });
}

/** The segment size asked for a new log: the option, else QENEX_LOG_SEGMENT_BYTES, else the default. */
export function wantedSegmentBytes(option?: number): number {
  if (option !== undefined) return checkSegmentBytes(option, 'log segment size');
  const env = process.env[LOG_SEGMENT_BYTES_ENV];
  if (env === undefined || env === '') return LOG_SEGMENT_BYTES_DEFAULT;
  if (!/^[0-9]{1,16}$/.test(env)) throw new BlockBackendError('ERR_INVALID_ARG_VALUE', `${LOG_SEGMENT_BYTES_ENV}=${env}: not a number of bytes`);
  return checkSegmentBytes(Number(env), LOG_SEGMENT_BYTES_ENV);
}

// A log from before segments keeps its single file whole as the first
// segment: the segment size grows to the next power of two that holds it.
// The file's own size bounds the logical one (an encrypted file is about
// twice its log), so this errs towards larger segments, never a cut file.
function legacySegmentBytes(dataDir: string, wanted: number): number {
  const first = join(dataDir, LOG_FILE);
  const size = existsSync(first) ? statSync(first).size : 0;
  let bytes = wanted;
  while (bytes < size && bytes < LOG_SEGMENT_BYTES_MAX) bytes *= 2;
  return bytes;
}

/** The segment files in a directory, by first offset (none when it does not exist). */
export function listSegments(dir: string): { name: string; firstBytes: number; compressed: boolean }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return segmentsIn(names);
}

function segmentsIn(names: readonly string[]): { name: string; firstBytes: number; compressed: boolean }[] {
  const out: { name: string; firstBytes: number; compressed: boolean }[] = [];
  for (const name of names) {
    const s = segmentFirst(name);
    if (s !== null) out.push({ name, ...s });
  }
  return out.sort((a, b) => a.firstBytes - b.firstBytes);
}

/**
 * Where live segments are: what SegmentedLog asks of a directory (the
 * simulator's disk directories, host/snapshot.ts SnapshotDirectory, fit it).
 */
export interface LogDirectory {
  readonly path: string;
  /** The names in it, none when it does not exist. */
  names(): string[];
  open(name: string, opts: BlockOpenOptions): BlockBackend;
  /** Removes a file; nothing when it is absent. */
  remove(name: string): void;
  /** Makes the names created and removed in it durable (fsync of the directory). */
  sync(): void;
}

/** A directory of the file system; files are opened with openBlockBackend. */
export function fileLogDirectory(dir: string): LogDirectory {
  return {
    path: dir,
    names: () => {
      try {
        return readdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    },
    open: (name, o) => openBlockBackend(join(dir, name), o),
    remove: (name) => {
      try {
        unlinkSync(join(dir, name));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    },
    sync: () => syncDirectory(dir),
  };
}

/** Whether the data directory holds a command log: a segment, or the layout of one. */
export function hasLog(dataDir: string): boolean {
  return existsSync(join(dataDir, LOG_LAYOUT_FILE)) || listSegments(dataDir).some((s) => !s.compressed);
}

/**
 * The name of the first segment in the data directory itself (what the
 * storage check reads the first bytes of: every segment is sealed, or none),
 * LOG_FILE when there is none.
 */
export function firstLiveSegment(dataDir: string): string {
  return listSegments(dataDir).find((s) => !s.compressed)?.name ?? LOG_FILE;
}

// ---- the backend ----

export interface SegmentedLogOptions extends BlockOpenOptions {
  /** Where archived segments are read from (default: <dataDir>/archive). */
  archiveDir?: string;
  /** The segment size of a new log (default: wantedSegmentBytes()); an existing log keeps its own. */
  segmentBytes?: number;
}

export function openSegmentedLog(dataDir: string, opts: SegmentedLogOptions): SegmentedLog {
  const archiveDir = opts.archiveDir ?? join(dataDir, ARCHIVE_DIR);
  const lock = opts.lock
    ? openBlockBackend(join(dataDir, LOG_LOCK_FILE), { create: true, lock: true, readOnly: false, backend: opts.backend, notice: opts.notice, nativeSearchDirs: opts.nativeSearchDirs })
    : null;
  try {
    let layout = readLogLayout(dataDir);
    if (layout === null && !opts.readOnly) {
      if (!opts.create && !existsSync(join(dataDir, LOG_FILE))) throw new BlockBackendError('ENOENT', `open ${join(dataDir, LOG_FILE)}: no command log`);
      writeLogLayout(dataDir, legacySegmentBytes(dataDir, wantedSegmentBytes(opts.segmentBytes)));
      layout = readLogLayout(dataDir);
    }
    // A reader of a directory without a layout: one file at most, or nothing.
    const segmentBytes = layout?.segmentBytes ?? LOG_SEGMENT_BYTES_MAX;
    return new SegmentedLog(fileLogDirectory(dataDir), archiveDir, segmentBytes, opts, lock);
  } catch (e) {
    lock?.close();
    throw e;
  }
}

interface ArchivedSegment { index: number; backend: BlockBackend }

export class SegmentedLog implements BlockBackend {
  readonly kind: 'native' | 'pure';
  /** The log's name in messages: its first segment's path. */
  readonly path: string;
  private readonly segmentOpts: BlockOpenOptions;
  private readonly live = new Map<number, BlockBackend>(); // by segment index; insertion order = least recently used first
  private readonly dirty = new Set<number>();
  private archived: ArchivedSegment | null = null;
  private lastIndex: number; // the last segment (live, or archived when none is live); -1: none
  private closed = false;

  /** The directory of the live segments (the data directory's path). */
  readonly dataDir: string;

  /** `archiveDir`: where archived segments are read from; null: nowhere (the simulator). */
  constructor(private readonly dir: LogDirectory, readonly archiveDir: string | null, readonly segmentBytes: number,
    private readonly opts: BlockOpenOptions, private readonly lock: BlockBackend | null = null) {
    checkSegmentBytes(segmentBytes, dir.path);
    this.dataDir = dir.path;
    this.path = join(dir.path, LOG_FILE);
    // The lock's backend, once chosen, serves every segment (a fallback to the pure one is noticed once).
    this.segmentOpts = { create: false, lock: false, readOnly: opts.readOnly, backend: lock?.kind ?? opts.backend, notice: opts.notice, nativeSearchDirs: opts.nativeSearchDirs, layer: opts.layer };
    const live = segmentsIn(dir.names()).filter((s) => !s.compressed);
    const last = live.at(-1) ?? (archiveDir === null ? undefined : listSegments(archiveDir).at(-1));
    this.lastIndex = last === undefined ? -1 : this.indexOf(last.firstBytes);
    if (this.lastIndex < 0 && !opts.readOnly) {
      this.create(0);
      this.lastIndex = 0;
    }
    // The backend that serves the files: the lock's, else the last live segment's.
    this.kind = lock?.kind ?? (live.length > 0 ? this.segment(this.lastIndex).kind : 'pure');
  }

  readAt(offsetBytes: number, into: Uint8Array): number {
    checkSpan('readAt', this.path, offsetBytes, into);
    this.alive('readAt');
    const endBytes = Math.min(offsetBytes + into.byteLength, this.size());
    for (let at = offsetBytes; at < endBytes;) {
      const index = this.indexOf(at);
      const within = at - index * this.segmentBytes;
      const count = Math.min(this.segmentBytes - within, endBytes - at);
      const part = into.subarray(at - offsetBytes, at - offsetBytes + count);
      const got = this.segment(index).readAt(within, part);
      part.fill(0, got); // a short segment below the last: a hole, read as zeros
      at += count;
    }
    const readBytes = Math.max(0, endBytes - offsetBytes);
    assert(readBytes <= into.byteLength, 'segmented readAt overran its buffer');
    return readBytes;
  }

  writeAt(offsetBytes: number, data: Uint8Array): void {
    checkSpan('writeAt', this.path, offsetBytes, data);
    this.writable('writeAt');
    for (const p of this.pieces(offsetBytes, data)) {
      this.writableSegment(p.index, 'writeAt').writeAt(p.within, p.data);
      this.dirty.add(p.index);
    }
  }

  async writeDurable(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkSpan('writeDurable', this.path, offsetBytes, data);
    this.writable('writeDurable');
    // Segments first (one that cannot be created fails the call before any
    // write starts), then every part is handed to its segment before the
    // first await, so `data` is captured at the call; a new segment's name
    // is durable already (create). As with one file, what earlier writeAt
    // calls left in other segments becomes durable too.
    const parts = this.pieces(offsetBytes, data).map((p) => ({ ...p, segment: this.writableSegment(p.index, 'writeDurable') }));
    const earlier = [...this.dirty].filter((index) => !parts.some((p) => p.index === index));
    this.dirty.clear();
    const work = parts.map((p) => p.segment.writeDurable(p.within, p.data));
    for (const index of earlier) work.push(this.segment(index).sync());
    await Promise.all(work);
  }

  async sync(): Promise<void> {
    this.alive('sync');
    const indexes = [...this.dirty];
    this.dirty.clear();
    if (indexes.length === 0 && this.lastIndex >= 0) indexes.push(this.lastIndex);
    await Promise.all(indexes.map((i) => this.segment(i).sync()));
  }

  async preallocate(lengthBytes: number): Promise<void> {
    checkBytes('preallocate', this.path, 'lengthBytes', lengthBytes);
    this.writable('preallocate');
    const lastWanted = lengthBytes === 0 ? 0 : this.indexOf(lengthBytes - 1);
    const from = Math.max(0, Math.min(this.lastIndex, lastWanted));
    for (let index = from; index <= lastWanted; index++) {
      const want = Math.min(this.segmentBytes, lengthBytes - index * this.segmentBytes);
      if (want > 0) await this.writableSegment(index, 'preallocate').preallocate(want);
    }
    assert(this.size() >= lengthBytes, 'preallocate left the log short');
  }

  async truncate(lengthBytes: number): Promise<void> {
    checkBytes('truncate', this.path, 'lengthBytes', lengthBytes);
    this.writable('truncate');
    const keep = lengthBytes === 0 ? 0 : this.indexOf(lengthBytes - 1);
    // Nothing is removed unless every segment the cut touches is live.
    for (let index = keep; index <= this.lastIndex; index++) {
      if (this.whereIs(index) !== 'live') {
        throw new BlockBackendError('EARCHIVED', `truncate ${this.path}: log segment ${segmentName(index * this.segmentBytes)} is not in ${this.dataDir} ` +
          '(archived?); the log is never cut below its live segments');
      }
    }
    // Later segments go first, last to first: a crash in between leaves a
    // longer log whose tail recovery cuts again, never a gap.
    let removed = false;
    for (let index = this.lastIndex; index > keep; index--) {
      this.removeLive(index, 'truncate');
      this.lastIndex = index - 1;
      removed = true;
    }
    if (removed) this.dir.sync();
    await this.writableSegment(keep, 'truncate').truncate(lengthBytes - keep * this.segmentBytes);
    assert.equal(this.size(), lengthBytes, 'truncate left another size');
  }

  size(): number {
    this.alive('size');
    if (this.lastIndex < 0) return 0;
    return this.lastIndex * this.segmentBytes + this.segment(this.lastIndex).size();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const backend of this.live.values()) backend.close();
    this.live.clear();
    this.archived?.backend.close();
    this.archived = null;
    this.lock?.close();
  }

  /** Where segment `index` is read from now: 'live', 'archive' or 'missing'. */
  whereIs(index: number): 'live' | 'archive' | 'missing' {
    if (index > this.lastIndex) return 'missing';
    if (this.live.has(index) || this.dir.names().includes(segmentName(index * this.segmentBytes))) return 'live';
    return this.findArchived(index) === null ? 'missing' : 'archive';
  }

  /** Every encrypted segment read once (`qenex audit verify`); sectors and offsets are the log's. */
  scrub(): SectorDamage[] {
    this.alive('scrub');
    const out: SectorDamage[] = [];
    for (let index = 0; index <= this.lastIndex; index++) {
      const segment = this.segment(index) as BlockBackend & { scrub?: () => SectorDamage[] };
      if (segment.scrub === undefined) continue;
      const firstBytes = index * this.segmentBytes;
      for (const d of segment.scrub()) out.push({ ...d, sector: d.sector + firstBytes / SECTOR_BYTES, offsetBytes: d.offsetBytes + firstBytes });
    }
    return out;
  }

  // ---- segments ----

  private indexOf(offsetBytes: number): number {
    return Math.floor(offsetBytes / this.segmentBytes);
  }

  private pieces(offsetBytes: number, data: Uint8Array): { index: number; within: number; data: Uint8Array }[] {
    const out: { index: number; within: number; data: Uint8Array }[] = [];
    for (let at = offsetBytes; at < offsetBytes + data.byteLength;) {
      const index = this.indexOf(at);
      const within = at - index * this.segmentBytes;
      const count = Math.min(this.segmentBytes - within, offsetBytes + data.byteLength - at);
      out.push({ index, within, data: data.subarray(at - offsetBytes, at - offsetBytes + count) });
      at += count;
    }
    return out;
  }

  // A segment to read: the open one, the file in the data directory, or the archive's.
  private segment(index: number): BlockBackend {
    const open = this.live.get(index);
    if (open !== undefined) {
      this.live.delete(index);
      this.live.set(index, open);
      return open;
    }
    if (this.archived?.index === index) return this.archived.backend;
    let backend: BlockBackend;
    try {
      backend = this.dir.open(segmentName(index * this.segmentBytes), this.segmentOpts);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
      return this.fromArchive(index);
    }
    this.remember(index, backend);
    return backend;
  }

  private remember(index: number, backend: BlockBackend): void {
    // The first segment opened settles 'auto' for the others: one fallback notice, not one per segment.
    if (this.segmentOpts.backend === undefined || this.segmentOpts.backend === 'auto') this.segmentOpts.backend = backend.kind;
    this.live.set(index, backend);
    if (this.live.size <= READERS_OPEN_MAX) return;
    // The oldest handle that is neither written since the last sync nor near the tail.
    for (const [old, b] of this.live) {
      if (this.dirty.has(old) || old >= this.lastIndex - 1) continue;
      b.close();
      this.live.delete(old);
      return;
    }
  }

  // The segment a write lands in, created (with any before it) when past the last.
  private writableSegment(index: number, op: string): BlockBackend {
    while (this.lastIndex < index) {
      this.create(this.lastIndex + 1);
      this.lastIndex += 1;
    }
    const backend = this.segment(index);
    if (this.archived?.index === index) {
      throw new BlockBackendError('EARCHIVED', `${op} ${this.path}: log segment ${segmentName(index * this.segmentBytes)} is archived (${this.archiveDir}); ` +
        'the log is never written below its live segments');
    }
    return backend;
  }

  private create(index: number): void {
    const backend = this.dir.open(segmentName(index * this.segmentBytes), { ...this.segmentOpts, create: true, readOnly: false });
    this.remember(index, backend);
    // The new name is durable before anything written to it is acknowledged.
    this.dir.sync();
  }

  private removeLive(index: number, op: string): void {
    const name = segmentName(index * this.segmentBytes);
    this.live.get(index)?.close();
    this.live.delete(index);
    this.dirty.delete(index);
    assert(this.dir.names().includes(name), `${op}: only a live segment is removed`);
    this.dir.remove(name);
  }

  private findArchived(index: number): { path: string; compressed: boolean } | null {
    if (this.archiveDir === null) return null;
    const name = segmentName(index * this.segmentBytes);
    for (const compressed of [false, true]) {
      const path = join(this.archiveDir, compressed ? name + COMPRESSED_SUFFIX : name);
      if (existsSync(path)) return { path, compressed };
    }
    return null;
  }

  private fromArchive(index: number): BlockBackend {
    const found = this.findArchived(index);
    if (found === null) throw missingSegment(this, index);
    const readOpts = { ...this.segmentOpts, create: false, readOnly: true };
    let backend: BlockBackend;
    if (!found.compressed) {
      backend = openBlockBackend(found.path, readOpts);
    } else {
      const plain = new MemoryBackend(found.path, new Uint8Array(gunzipSync(readFileSync(found.path))));
      backend = this.opts.layer === undefined ? plain : this.opts.layer.wrap(plain, readOpts);
    }
    this.archived?.backend.close();
    this.archived = { index, backend };
    return backend;
  }

  private alive(op: string): void {
    if (this.closed) throw closedError(op, this.path);
  }

  private writable(op: string): void {
    this.alive(op);
    if (this.opts.readOnly) throw readOnlyError(op, this.path);
  }
}

function missingSegment(log: SegmentedLog, index: number): BlockBackendError {
  const firstBytes = index * log.segmentBytes;
  const name = segmentName(firstBytes);
  const what = `log segment ${name} (log bytes ${firstBytes}..${firstBytes + log.segmentBytes})`;
  if (log.archiveDir === null) return new BlockBackendError('ESEGMENT', `${what} is not in ${log.dataDir}, and this log has no archive`);
  return new BlockBackendError('ESEGMENT', `${what} is in neither ${log.dataDir} nor the archive ${log.archiveDir} ` +
    `(as ${name} or ${name}${COMPRESSED_SUFFIX}): put it back in one of them, or name its archive with --archive`);
}

/** A decompressed archived segment: read-only bytes in memory. */
class MemoryBackend implements BlockBackend {
  readonly kind = 'pure' as const;
  private closed = false;

  constructor(readonly path: string, private readonly bytes: Uint8Array) {}

  readAt(offsetBytes: number, into: Uint8Array): number {
    checkSpan('readAt', this.path, offsetBytes, into);
    if (this.closed) throw closedError('readAt', this.path);
    const part = this.bytes.subarray(Math.min(offsetBytes, this.bytes.byteLength), Math.min(offsetBytes + into.byteLength, this.bytes.byteLength));
    into.set(part);
    return part.byteLength;
  }

  writeAt(): void { throw readOnlyError('writeAt', this.path); }
  writeDurable(): Promise<void> { return Promise.reject(readOnlyError('writeDurable', this.path)); }
  sync(): Promise<void> { return Promise.resolve(); }
  preallocate(): Promise<void> { return Promise.reject(readOnlyError('preallocate', this.path)); }
  truncate(): Promise<void> { return Promise.reject(readOnlyError('truncate', this.path)); }

  size(): number {
    if (this.closed) throw closedError('size', this.path);
    return this.bytes.byteLength;
  }

  close(): void {
    this.closed = true;
  }
}
