// host/snapshot.ts: machine snapshots, written beside the command log and
// restored at boot so that recovery replays only the log after them.
//
// What a snapshot is. The kernel (kernel/snapshot.ts) asks for one at a
// quiescent point with OP_BLK_SNAPSHOT on the block SQ: every log buffer free,
// nothing queued for any service, so the applied state is exactly "image +
// log entries [0, entries)". While consuming that descriptor the host copies
//   - the kernel's linear memory and its mutable globals (the kernel reserves
//     everything at boot, so its memory is its whole bookkeeping; its module
//     is given exports for its globals, see exportKernelGlobals),
//   - each service's linear memory and mutable globals (what supervision
//     restores and the state hash covers, host/services.ts),
// then writes them asynchronously while the kernel serves on, and completes
// the descriptor (status only) on the block CQ.
//
// File. snapshots/<entries, 20 digits>.qxs in the data directory:
//   [0, 8)      magic "QXSNAP01"
//   [8, 12)     u32 format version (SNAPSHOT_VERSION)
//   [12, 16)    u32 header JSON length
//   [16, 48)    SHA-256 of the header JSON
//   [48, ...)   header JSON, zero-padded to SNAPSHOT_HEADER_BYTES:
//               { version, image (digest hex), entries, log_offset (where entry
//                 `entries` starts), last_entry_offset, time_ns, batch, chain
//                 (hex chain head after entry entries-1), services: [names],
//                 parts: [{ name, offset, length, sha256 }] }
//   parts       "kernel.memory", "kernel.globals", then per service
//               "service.<i>.memory", "service.<i>.globals"; a memory part
//               is sparse (u32 pages, a bitmap of the pages stored, then
//               those pages: all-zero pages are left out), or, for a
//               service that keeps a grid, a page map into the page file
//               snapshots/service.<i>.pages (host/snapshot-pages.ts: only
//               what changed is written, the cache is left out); globals are
//               u32 count then 9 bytes each: u8 type (0 number, 1 bigint) and
//               8 bytes (f64 or i64 little-endian).
// It is written through the BlockBackend interface (openBlockBackend, or the
// `open` a caller passes, so a backend wrapper such as encryption at rest
// applies to snapshots as it does to the log), under a temporary name, made
// durable (fdatasync), renamed, and the directory fsynced. The newest
// SNAPSHOTS_KEPT are kept (the newest alone with a grid). A crash while
// writing leaves a *.tmp file, which boot ignores and a live boot removes.
//
// Restore. Boot looks at the snapshots newest first and takes the first that
// is valid: header and part hashes right, taken by this image (digest), the
// same services, and the log agrees with it: the entry before log_offset is
// a CRC-valid entry number entries-1 whose chain head is the snapshot's (the
// chain commits to all history before it); with a grid, the log also stops
// before the entry past which the grid may have moved on (checkGrid). Anything else is skipped with a
// console line saying why (snapshot_skipped), and the next older one is
// tried, else the log is replayed from the start. The host copies the parts
// over the freshly booted kernel and service instances and calls
// kernel_restored, which resets what belonged to the old process and makes
// recovery go on at entry `entries` (checking the chain from there on).
// `qenex replay --no-snapshot` and MachineOptions.snapshots = false force a
// full replay, so the two can be compared.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { syncDirectory } from './base/durable.ts';
import { join } from 'node:path';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import * as abi from '../hal/abi.ts';
import { openBlockBackend, type BackendChoice, type BlockBackend, type BlockOpenOptions } from './devices/block-backend.ts';
import { ENTRY_MAGIC, ENTRY_HEADER_BYTES, ENTRY_BYTES_MAX, ENTRY_CHAIN, ENTRY_CHAIN_BYTES } from '../hal/log.ts';
import { entryCrc, entryPadded, readEntryHeader } from './base/log-entry.ts';
import { PageError, PageSet, decodePageMap, pagesNamed, encodePageMap, isPageMap, pageFileName, readPages, writePages, type PageMap, type PagedCapture } from './snapshot-pages.ts';
import type { CacheArea } from './services.ts';

export const SNAPSHOT_DIR = 'snapshots';
export const SNAPSHOT_SUFFIX = '.qxs';
export const SNAPSHOT_MAGIC = 'QXSNAP01';
export const SNAPSHOT_VERSION = 1;
/** Snapshot files kept after a new one is written. */
export const SNAPSHOTS_KEPT = 2;
/** Largest kernel.snapshot_interval_entries (kernel/snapshot.ts has the same bound). */
/** Exported names of the kernel's mutable globals. */
export const KERNEL_GLOBAL_PREFIX = 'qx_kg';
// Room reserved for the header (64 services of names and part lines fit well).
const SNAPSHOT_HEADER_BYTES = 65536;
const HEADER_FIXED_BYTES = 48;
// Bytes written (and hashed) per step; the event loop runs between steps.
const CHUNK_BYTES = 8 << 20;
const FILE_NAME = /^(\d{20})\.qxs$/;
const PAGE_BYTES = 65536;

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

// ---- exporting the kernel's globals ----

function leb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (at >= bytes.length) throw new SnapshotError('kernel module: truncated LEB128');
    const b = bytes[at++];
    if (shift < 35) value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, at];
    shift += 7;
  }
  throw new SnapshotError('kernel module: LEB128 too long');
}

function encodeLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

function skipLimits(bytes: Uint8Array, at: number): number {
  const flags = bytes[at];
  let p = leb(bytes, at + 1)[1];
  if ((flags & 1) !== 0) p = leb(bytes, p)[1];
  return p;
}

// Skips a constant expression (global initializer) up to and past its `end`.
function skipInit(bytes: Uint8Array, at: number): number {
  for (;;) {
    const op = bytes[at++];
    if (op === 0x0b) return at;
    if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd2) at = leb(bytes, at)[1];
    else if (op === 0x43) at += 4;
    else if (op === 0x44) at += 8;
    else if (op === 0xd0) at += 1;
    else if (op === 0xfd) at = leb(bytes, at)[1] + 16; // v128.const
    else if (op === 0x6a || op === 0x6b || op === 0x6c || op === 0x7c || op === 0x7d || op === 0x7e) continue;
    else throw new SnapshotError(`kernel module: unexpected opcode 0x${op.toString(16)} in a global initializer`);
  }
}

/**
 * The kernel module with every mutable global it defines exported as
 * qx_kg<index>, so the host can save and restore the kernel's whole state.
 * Only the export section changes; the code is the image's, byte for byte.
 */
export function exportKernelGlobals(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 8) throw new SnapshotError('kernel module: too short');
  let importedGlobals = 0;
  const mutable: number[] = [];
  let exportSection: { start: number; end: number; body: number } | null = null;
  let exportInsertAt = -1; // where a new export section goes if there is none
  let at = 8;
  while (at < bytes.length) {
    const start = at;
    const id = bytes[at];
    const [size, body] = leb(bytes, at + 1);
    const end = body + size;
    if (id === 2) {
      let [count, p] = leb(bytes, body);
      for (let i = 0; i < count; i++) {
        let n: number;
        [n, p] = leb(bytes, p); p += n;
        [n, p] = leb(bytes, p); p += n;
        const kind = bytes[p++];
        if (kind === 0) p = leb(bytes, p)[1];
        else if (kind === 1) p = skipLimits(bytes, p + 1);
        else if (kind === 2) p = skipLimits(bytes, p);
        else if (kind === 3) { p += 2; importedGlobals++; }
        else if (kind === 4) p = leb(bytes, p + 1)[1];
        else throw new SnapshotError(`kernel module: unknown import kind ${kind}`);
      }
    } else if (id === 6) {
      let [count, p] = leb(bytes, body);
      for (let i = 0; i < count; i++) {
        const type = bytes[p];
        const mut = bytes[p + 1];
        p = skipInit(bytes, p + 2);
        if (mut === 1) {
          if (type !== 0x7f && type !== 0x7e && type !== 0x7d && type !== 0x7c) {
            throw new SnapshotError(`kernel module: mutable global ${importedGlobals + i} has a type the host cannot save (0x${type.toString(16)})`);
          }
          mutable.push(importedGlobals + i);
        }
      }
    } else if (id === 7) {
      exportSection = { start, end, body };
    }
    if (id !== 0 && id <= 7) exportInsertAt = end;
    at = end;
  }
  const entries: number[] = [];
  for (const index of mutable) {
    const name = Buffer.from(`${KERNEL_GLOBAL_PREFIX}${index}`, 'utf8');
    entries.push(...encodeLeb(name.length), ...name, 3, ...encodeLeb(index));
  }
  let count = mutable.length;
  let old: Uint8Array = new Uint8Array(0);
  if (exportSection !== null) {
    const [n, p] = leb(bytes, exportSection.body);
    count += n;
    old = bytes.subarray(p, exportSection.end);
    if (Buffer.from(old).includes(Buffer.from(KERNEL_GLOBAL_PREFIX))) {
      throw new SnapshotError(`kernel module: already exports a name starting with ${KERNEL_GLOBAL_PREFIX}`);
    }
  }
  const sectionBody = [...encodeLeb(count), ...old, ...entries];
  const section = Uint8Array.from([7, ...encodeLeb(sectionBody.length), ...sectionBody]);
  const cutStart = exportSection?.start ?? exportInsertAt;
  const cutEnd = exportSection?.end ?? exportInsertAt;
  const out = new Uint8Array(bytes.length - (cutEnd - cutStart) + section.length);
  out.set(bytes.subarray(0, cutStart), 0);
  out.set(section, cutStart);
  out.set(bytes.subarray(cutEnd), cutStart + section.length);
  return out;
}

/** The kernel instance's mutable globals (exported by exportKernelGlobals), in index order. */
export function kernelGlobals(exports: object): WebAssembly.Global[] {
  return Object.entries(exports)
    .filter(([k, v]) => k.startsWith(KERNEL_GLOBAL_PREFIX) && v instanceof WebAssembly.Global)
    .sort(([a], [b]) => Number(a.slice(KERNEL_GLOBAL_PREFIX.length)) - Number(b.slice(KERNEL_GLOBAL_PREFIX.length)))
    .map(([, v]) => v as WebAssembly.Global);
}

// ---- state ----

/** An instance's state as read from a snapshot: its memory part (sparse encoding, checked) and globals. */
export interface InstanceState { memory: Uint8Array; globals: (number | bigint)[] }

/** What the kernel's request record (SNAP_REC_*) says the snapshot covers. */
export interface SnapshotRecord {
  entries: number;
  logOffset: number;
  lastEntryOffset: number;
  timeNs: bigint;
  batch: bigint;
  chain: Uint8Array;
}

export function readRecord(mem: Uint8Array, addr: number): SnapshotRecord {
  const dv = new DataView(mem.buffer, mem.byteOffset + addr, abi.SNAP_REC_BYTES);
  return {
    entries: Number(dv.getBigUint64(abi.SNAP_REC_ENTRIES, true)),
    logOffset: Number(dv.getBigUint64(abi.SNAP_REC_LOG_END, true)),
    lastEntryOffset: Number(dv.getBigUint64(abi.SNAP_REC_LAST_ENTRY, true)),
    timeNs: dv.getBigUint64(abi.SNAP_REC_TIME_NS, true),
    batch: dv.getBigUint64(abi.SNAP_REC_BATCH, true),
    chain: Uint8Array.from(mem.subarray(addr + abi.SNAP_REC_CHAIN, addr + abi.SNAP_REC_CHAIN + 32)),
  };
}

/**
 * An instance's state as captured for writing: its memory already in the
 * sparse part encoding (chunks, from captureInstance), or a whole memory.
 */
export interface CapturedInstance { memory: Uint8Array[] | Uint8Array; globals: (number | bigint)[]; paged?: PagedCapture }

function memoryChunks(memory: Uint8Array[] | Uint8Array): Uint8Array[] {
  return Array.isArray(memory) ? memory : sparsePages(memory, false);
}

/** Copies an instance's state now (its non-zero pages and its globals). */
export function captureInstance(memory: WebAssembly.Memory, globals: readonly WebAssembly.Global[]): CapturedInstance {
  return { memory: sparsePages(new Uint8Array(memory.buffer), true), globals: globals.map((g) => g.value as number | bigint) };
}

/**
 * Copies the state of a service that keeps a grid now: its globals, and the
 * pages of its memory that changed since the last durable snapshot
 * (host/snapshot-pages.ts); the cache region is left out.
 */
export function capturePaged(pages: PageSet, memory: WebAssembly.Memory, globals: readonly WebAssembly.Global[], cache: CacheArea): CapturedInstance {
  return { memory: [], globals: globals.map((g) => g.value as number | bigint), paged: pages.capture(new Uint8Array(memory.buffer), cache) };
}

/** Throws unless `state` fits a fresh instance (memory whole pages, not smaller; same globals). Changes nothing. */
export function checkInstance(what: string, memory: WebAssembly.Memory, globals: readonly WebAssembly.Global[], state: InstanceState): void {
  const have = memory.buffer.byteLength;
  const bytes = sparseLayout(state.memory, what).pages * PAGE_BYTES;
  if (bytes < have) throw new SnapshotError(`${what}: the fresh instance's memory (${have} bytes) is larger than the snapshot's (${bytes})`);
  if (state.globals.length !== globals.length) throw new SnapshotError(`${what}: ${state.globals.length} globals in the snapshot, ${globals.length} in the module`);
  state.globals.forEach((v, i) => {
    if (typeof v !== typeof globals[i].value) throw new SnapshotError(`${what}: global ${i} changed type`);
  });
}

/** Copies a state over a fresh instance's memory (growing it) and globals; checkInstance first. */
export function loadInstance(what: string, memory: WebAssembly.Memory, globals: readonly WebAssembly.Global[], state: InstanceState): void {
  checkInstance(what, memory, globals, state);
  const { pages, bitmap, start } = sparseLayout(state.memory, what);
  const have = memory.buffer.byteLength;
  if (pages * PAGE_BYTES > have) memory.grow(pages - have / PAGE_BYTES);
  const mem = new Uint8Array(memory.buffer);
  let at = start;
  for (let i = 0; i < pages; i++) {
    if ((bitmap[i >> 3] & (1 << (i & 7))) === 0) {
      // A page the snapshot leaves out is zeros. Pages the grow added are
      // zeros already, and so is most of a fresh instance's memory: writing
      // zeros over them would only make the process commit pages it never uses.
      if (i * PAGE_BYTES >= have) continue;
      const page = mem.subarray(i * PAGE_BYTES, (i + 1) * PAGE_BYTES);
      if (Buffer.compare(page, ZERO_PAGE) !== 0) page.fill(0);
    } else {
      mem.set(state.memory.subarray(at, at + PAGE_BYTES), i * PAGE_BYTES);
      at += PAGE_BYTES;
    }
  }
  state.globals.forEach((v, i) => { globals[i].value = v; });
}

function encodeGlobals(globals: readonly (number | bigint)[]): Uint8Array {
  const out = Buffer.alloc(4 + globals.length * 9);
  out.writeUInt32LE(globals.length, 0);
  globals.forEach((v, i) => {
    const at = 4 + i * 9;
    if (typeof v === 'bigint') { out[at] = 1; out.writeBigInt64LE(BigInt.asIntN(64, v), at + 1); } else { out[at] = 0; out.writeDoubleLE(v, at + 1); }
  });
  return out;
}

function decodeGlobals(bytes: Uint8Array, what: string): (number | bigint)[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 4) throw new SnapshotError(`${what}: globals part too short`);
  const n = b.readUInt32LE(0);
  if (b.length !== 4 + n * 9) throw new SnapshotError(`${what}: globals part of ${b.length} bytes for ${n} globals`);
  const out: (number | bigint)[] = [];
  for (let i = 0; i < n; i++) {
    const at = 4 + i * 9;
    if (b[at] === 1) out.push(b.readBigInt64LE(at + 1));
    else if (b[at] === 0) out.push(b.readDoubleLE(at + 1));
    else throw new SnapshotError(`${what}: global ${i} has unknown type ${b[at]}`);
  }
  return out;
}

// Memory parts are sparse: u32 page count, a bitmap (bit i set: page i is
// stored), then the stored pages in order. All-zero pages are not stored:
// the pools a kernel reserves and the pages a service's allocator grew into
// are mostly zeros.
const ZERO_PAGE = new Uint8Array(PAGE_BYTES);

// The sparse encoding of `mem` as chunks (runs of stored pages up to
// CHUNK_BYTES); `copy`: the runs are copies, else views into mem.
function sparsePages(mem: Uint8Array, copy: boolean): Uint8Array[] {
  if (mem.length % PAGE_BYTES !== 0) throw new SnapshotError(`memory of ${mem.length} bytes is not whole pages`);
  const pages = mem.length / PAGE_BYTES;
  const head = new Uint8Array(4 + Math.ceil(pages / 8));
  new DataView(head.buffer).setUint32(0, pages, true);
  const out: Uint8Array[] = [head];
  let run = -1; // first page of the run of stored pages being gathered
  const flush = (end: number) => {
    if (run >= 0) out.push(copy ? mem.slice(run * PAGE_BYTES, end * PAGE_BYTES) : mem.subarray(run * PAGE_BYTES, end * PAGE_BYTES));
    run = -1;
  };
  for (let i = 0; i < pages; i++) {
    const stored = Buffer.compare(mem.subarray(i * PAGE_BYTES, (i + 1) * PAGE_BYTES), ZERO_PAGE) !== 0;
    if (stored) {
      head[4 + (i >> 3)] |= 1 << (i & 7);
      if (run < 0) run = i;
      if ((i + 1 - run) * PAGE_BYTES >= CHUNK_BYTES) flush(i + 1);
    } else {
      flush(i);
    }
  }
  flush(pages);
  return out;
}

/** The whole memory a sparse memory part describes (a copy). */
export function expandMemory(part: Uint8Array, what: string): Uint8Array {
  const { pages, bitmap, start } = sparseLayout(part, what);
  const out = new Uint8Array(pages * PAGE_BYTES);
  let at = start;
  for (let i = 0; i < pages; i++) {
    if ((bitmap[i >> 3] & (1 << (i & 7))) === 0) continue;
    out.set(part.subarray(at, at + PAGE_BYTES), i * PAGE_BYTES);
    at += PAGE_BYTES;
  }
  return out;
}

// The layout of a sparse memory part; throws when its length disagrees with its bitmap.
function sparseLayout(bytes: Uint8Array, what: string): { pages: number; bitmap: Uint8Array; start: number } {
  if (bytes.length < 4) throw new SnapshotError(`${what}: memory part too short`);
  const pages = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (pages > 65536) throw new SnapshotError(`${what}: ${pages} memory pages is more than a wasm memory has`);
  const bitmap = bytes.subarray(4, 4 + Math.ceil(pages / 8));
  let stored = 0;
  for (let i = 0; i < pages; i++) if ((bitmap[i >> 3] & (1 << (i & 7))) !== 0) stored++;
  const start = 4 + Math.ceil(pages / 8);
  if (bytes.length !== start + stored * PAGE_BYTES) throw new SnapshotError(`${what}: memory part of ${bytes.length} bytes does not match its ${stored} stored pages`);
  return { pages, bitmap, start };
}

/** A machine at one quiescent point: the kernel and each service (in manifest order). */
export interface MachineState {
  kernel: InstanceState;
  services: { name: string; state: InstanceState }[];
}

/** The same, as captured for writing. */
export interface CapturedMachine {
  kernel: CapturedInstance;
  services: { name: string; state: CapturedInstance }[];
}

// ---- header ----

interface PartInfo { name: string; offset: number; length: number; sha256: string }

interface Header {
  version: number;
  image: string;
  entries: number;
  log_offset: number;
  last_entry_offset: number;
  time_ns: string;
  batch: string;
  chain: string;
  services: string[];
  parts: PartInfo[];
}

export function snapshotFileName(entries: number): string {
  return `${String(entries).padStart(20, '0')}${SNAPSHOT_SUFFIX}`;
}

export type OpenBackend = (path: string, opts: BlockOpenOptions) => BlockBackend;

export interface SnapshotStoreOptions {
  dataDir: string;
  imageDigestHex: string;
  backend?: BackendChoice;
  /** How snapshot files are opened (default openBlockBackend): a backend wrapper applies here too. */
  open?: OpenBackend;
  /** Where the files are (default: fileSnapshotDirectory(dataDir, open)). */
  directory?: SnapshotDirectory;
}

/**
 * bytes: the snapshot file; pageBytes: the pages written to page files for it
 * (host/snapshot-pages.ts); pagedStateBytes: all the pages it names there.
 */
export interface WrittenSnapshot { path: string; entries: number; bytes: number; pageBytes: number; pagedStateBytes: number; captureMs: number; writeMs: number }

export interface LoadedSnapshot {
  path: string;
  entries: number;
  logOffset: number;
  state: MachineState;
  bytes: number;
  /** The page maps of services kept incrementally (host/snapshot-pages.ts), by service index. */
  paged: Map<number, PageMap>;
}

/** Why a snapshot file was not used. */
export interface Skipped { path: string; reason: string }

/**
 * The directory snapshot files live in: the data directory's snapshots/ on
 * the file system (fileSnapshotDirectory), or a simulated disk's
 * (host/sim/disk.ts), where crashes can lose what was not made durable.
 */
export interface SnapshotDirectory {
  /** Where it is: a file's path is join(path, name). */
  readonly path: string;
  /** The names in it, none when it does not exist. */
  names(): string[];
  /** Makes it (and its parents) when missing. */
  create(): void;
  open(name: string, opts: BlockOpenOptions): BlockBackend;
  rename(from: string, to: string): void;
  /** Removes a file; nothing when it is absent. */
  remove(name: string): void;
  /** Makes the names created, renamed and removed in it durable (fsync of the directory). */
  sync(): void;
}

/** A data directory's snapshots/ on the file system; files are opened with `open`. */
export function fileSnapshotDirectory(dataDir: string, open: OpenBackend = openBlockBackend): SnapshotDirectory {
  const dir = join(dataDir, SNAPSHOT_DIR);
  return {
    path: dir,
    names: () => {
      try {
        return fs.readdirSync(dir);
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return [];
        throw e;
      }
    },
    create: () => { fs.mkdirSync(dir, { recursive: true }); },
    open: (name, o) => open(join(dir, name), o),
    rename: (from, to) => { fs.renameSync(join(dir, from), join(dir, to)); },
    remove: (name) => { fs.rmSync(join(dir, name), { force: true }); },
    sync: () => { syncDirectory(dir); },
  };
}

export class SnapshotStore {
  readonly dir: string;
  private readonly files: SnapshotDirectory;
  private readonly excluded = new Set<string>();
  /** Per service kept incrementally: the pages of the newest durable snapshot. */
  private readonly pageSets = new Map<number, PageSet>();

  constructor(private readonly opts: SnapshotStoreOptions) {
    this.files = opts.directory ?? fileSnapshotDirectory(opts.dataDir, opts.open);
    this.dir = this.files.path;
  }

  /** Snapshot files by entries, newest first (names only; nothing is checked). */
  list(): { path: string; name: string; entries: number }[] {
    const out: { path: string; name: string; entries: number }[] = [];
    for (const n of this.files.names()) {
      const m = FILE_NAME.exec(n);
      if (m !== null) out.push({ path: join(this.dir, n), name: n, entries: Number(m[1]) });
    }
    return out.sort((a, b) => b.entries - a.entries);
  }

  /** Removes temporary files a crash left behind (live boots only). */
  removeStale(): string[] {
    const removed: string[] = [];
    for (const n of this.files.names()) {
      if (!n.endsWith('.tmp')) continue;
      this.files.remove(n);
      removed.push(n);
    }
    return removed;
  }

  /** The page set of service `index` (kept incrementally), made on first use. */
  pages(index: number): PageSet {
    let p = this.pageSets.get(index);
    if (p === undefined) this.pageSets.set(index, p = new PageSet());
    return p;
  }

  /** A restored snapshot's page maps are the ones in use (the next capture writes only what changed since). */
  adoptPages(loaded: LoadedSnapshot): void {
    for (const [i, map] of loaded.paged) this.pages(i).adopt(map);
  }

  /**
   * Writes a snapshot (the state was captured by the caller at the quiescent
   * point): the new pages of services kept incrementally, fdatasync; then
   * `beforeCommit` (the grids made durable: the snapshot refers to their
   * blocks); then parts, header, fdatasync, rename, directory fsync; then
   * prunes to SNAPSHOTS_KEPT, or to the newest alone when some service is kept
   * incrementally (older ones would share its page slots, and their grid
   * blocks are reused sooner: kernel/snapshot.ts). The event loop runs
   * between chunks.
   */
  async write(record: SnapshotRecord, state: CapturedMachine, captureMs = 0, beforeCommit: () => Promise<void> = async () => {}): Promise<WrittenSnapshot> {
    const started = performance.now();
    this.files.create();
    const name = snapshotFileName(record.entries);
    const path = join(this.dir, name);
    const tmp = `${name}.tmp`;
    this.files.remove(tmp);
    const parts: { name: string; chunks: Uint8Array[] }[] = [
      { name: 'kernel.memory', chunks: memoryChunks(state.kernel.memory) },
      { name: 'kernel.globals', chunks: [encodeGlobals(state.kernel.globals)] },
    ];
    let pageBytes = 0;
    let pagedStateBytes = 0;
    for (const [i, s] of state.services.entries()) {
      const paged = s.state.paged;
      if (paged !== undefined) {
        pageBytes += await this.writePageFile(i, paged);
        pagedStateBytes += pagesNamed(paged.map) * PAGE_BYTES;
      }
      parts.push({ name: `service.${i}.memory`, chunks: paged !== undefined ? [encodePageMap(paged.map)] : memoryChunks(s.state.memory) });
      parts.push({ name: `service.${i}.globals`, chunks: [encodeGlobals(s.state.globals)] });
    }
    await beforeCommit();
    const file = this.files.open(tmp, { create: true, lock: false, readOnly: false, backend: this.opts.backend });
    let total = SNAPSHOT_HEADER_BYTES;
    try {
      const infos: PartInfo[] = [];
      for (const p of parts) {
        const h = createHash('sha256');
        let length = 0;
        for (const chunk of p.chunks) {
          h.update(chunk);
          file.writeAt(total + length, chunk);
          length += chunk.length;
          await yieldTurn();
        }
        infos.push({ name: p.name, offset: total, length, sha256: h.digest('hex') });
        total += length;
      }
      const header: Header = {
        version: SNAPSHOT_VERSION,
        image: this.opts.imageDigestHex,
        entries: record.entries,
        log_offset: record.logOffset,
        last_entry_offset: record.lastEntryOffset,
        time_ns: record.timeNs.toString(),
        batch: record.batch.toString(),
        chain: Buffer.from(record.chain).toString('hex'),
        services: state.services.map((s) => s.name),
        parts: infos,
      };
      await file.writeDurable(0, encodeHeader(header));
      file.close();
      this.files.rename(tmp, name);
      this.files.sync();
    } catch (e) {
      file.close();
      this.files.remove(tmp);
      throw e;
    }
    const incremental = state.services.filter((s) => s.state.paged !== undefined);
    for (const old of this.list().slice(incremental.length > 0 ? 1 : SNAPSHOTS_KEPT)) this.files.remove(old.name);
    for (const [i, s] of state.services.entries()) if (s.state.paged !== undefined) this.pages(i).adopt(s.state.paged.map);
    return { path, entries: record.entries, bytes: total, pageBytes, pagedStateBytes, captureMs, writeMs: performance.now() - started };
  }

  private async writePageFile(index: number, c: PagedCapture): Promise<number> {
    if (c.fresh.length === 0) return 0;
    const file = this.files.open(pageFileName(index), { create: true, lock: false, readOnly: false, backend: this.opts.backend });
    try {
      return await writePages(file, c);
    } finally {
      file.close();
    }
  }

  /**
   * The newest snapshot that is valid for this image, these services and this
   * log (see the header comment), or null. Each one passed over is reported.
   */
  findValid(serviceNames: readonly string[], log: BlockBackend, skipped: (s: Skipped) => void, staleFrom: (entries: number) => number = () => 0): LoadedSnapshot | null {
    for (const c of this.list()) {
      if (this.excluded.has(c.path)) continue;
      try {
        return this.load(c.path, c.name, c.entries, serviceNames, log, staleFrom);
      } catch (e) {
        if (!(e instanceof SnapshotError)) throw e;
        skipped({ path: c.path, reason: e.message });
      }
    }
    return null;
  }

  /**
   * Removes every snapshot and page file: a machine with a grid that boots
   * without one writes its grid again from the log, and until that replay
   * passes a snapshot's point the snapshot would refer to blocks not yet
   * written. Returns the names removed.
   */
  dropAll(): string[] {
    const names = this.files.names().filter((n) => FILE_NAME.test(n) || n.endsWith('.pages'));
    for (const n of names) this.files.remove(n);
    if (names.length > 0) this.files.sync();
    for (const p of this.pageSets.values()) p.reset();
    return names;
  }

  /** findValid passes over this file from now on (it did not fit the instances). */
  exclude(path: string): void {
    this.excluded.add(path);
  }

  private load(path: string, name: string, entries: number, serviceNames: readonly string[], log: BlockBackend, staleFrom: (entries: number) => number): LoadedSnapshot {
    let file: BlockBackend;
    try {
      file = this.files.open(name, { create: false, lock: false, readOnly: true, backend: this.opts.backend });
    } catch (e) {
      throw new SnapshotError(`cannot open: ${(e as Error).message}`);
    }
    try {
      const size = file.size();
      const fixed = new Uint8Array(HEADER_FIXED_BYTES);
      if (file.readAt(0, fixed) !== HEADER_FIXED_BYTES) throw new SnapshotError('shorter than its header');
      const fb = Buffer.from(fixed);
      if (fb.subarray(0, 8).toString('latin1') !== SNAPSHOT_MAGIC) throw new SnapshotError('not a snapshot (bad magic)');
      const version = fb.readUInt32LE(8);
      if (version !== SNAPSHOT_VERSION) throw new SnapshotError(`format version ${version}, this host reads ${SNAPSHOT_VERSION}`);
      const jsonLen = fb.readUInt32LE(12);
      if (jsonLen > SNAPSHOT_HEADER_BYTES - HEADER_FIXED_BYTES) throw new SnapshotError('header length out of range');
      const json = new Uint8Array(jsonLen);
      if (file.readAt(HEADER_FIXED_BYTES, json) !== jsonLen) throw new SnapshotError('header truncated');
      if (createHash('sha256').update(json).digest().compare(fb.subarray(16, 48)) !== 0) throw new SnapshotError('header checksum mismatch');
      const h = JSON.parse(Buffer.from(json).toString('utf8')) as Header;
      if (h.image !== this.opts.imageDigestHex) throw new SnapshotError(`taken by another image (${String(h.image).slice(0, 16)}…)`);
      if (h.entries !== entries) throw new SnapshotError(`file name says ${entries} entries, header ${h.entries}`);
      if (JSON.stringify(h.services) !== JSON.stringify(serviceNames)) throw new SnapshotError(`services ${JSON.stringify(h.services)} differ from the image's`);
      this.checkLog(h, log);
      const want = ['kernel.memory', 'kernel.globals', ...serviceNames.flatMap((_, i) => [`service.${i}.memory`, `service.${i}.globals`])];
      if (JSON.stringify(h.parts.map((p) => p.name)) !== JSON.stringify(want)) throw new SnapshotError('parts differ from the expected list');
      const bytes = new Map<string, Uint8Array>();
      for (const p of h.parts) {
        if (!Number.isSafeInteger(p.offset) || !Number.isSafeInteger(p.length) || p.offset < SNAPSHOT_HEADER_BYTES || p.offset + p.length > size) {
          throw new SnapshotError(`part ${p.name} lies outside the file (truncated?)`);
        }
        const b = new Uint8Array(p.length);
        if (file.readAt(p.offset, b) !== p.length) throw new SnapshotError(`part ${p.name} truncated`);
        if (createHash('sha256').update(b).digest('hex') !== p.sha256) throw new SnapshotError(`part ${p.name} checksum mismatch`);
        bytes.set(p.name, b);
      }
      const paged = new Map<number, PageMap>();
      for (const i of serviceNames.keys()) {
        const part = bytes.get(`service.${i}.memory`)!;
        if (!isPageMap(part)) continue;
        if (paged.size === 0) this.checkGrid(h, log, staleFrom(h.entries));
        const map = this.pageMap(part, i, serviceNames[i]);
        bytes.set(`service.${i}.memory`, this.readPageFile(i, map, serviceNames[i]));
        paged.set(i, map);
      }
      const state: MachineState = {
        kernel: { memory: bytes.get('kernel.memory')!, globals: decodeGlobals(bytes.get('kernel.globals')!, 'kernel') },
        services: serviceNames.map((name, i) => ({
          name,
          state: { memory: bytes.get(`service.${i}.memory`)!, globals: decodeGlobals(bytes.get(`service.${i}.globals`)!, name) },
        })),
      };
      sparseLayout(state.kernel.memory, 'kernel');
      for (const s of state.services) sparseLayout(s.state.memory, s.name);
      return { path, entries: h.entries, logOffset: h.log_offset, state, bytes: size, paged };
    } finally {
      file.close();
    }
  }

  // A snapshot of a service with a grid refers to the grid's blocks, which the
  // service may reuse once the log holds entry `staleFrom` - 1
  // (kernel/snapshot.ts): the log after the snapshot must stop before it.
  // Only entry headers are read (magic, length, sequence), from log_offset on;
  // anything that is not an entry ends the walk, as recovery would end there.
  private checkGrid(h: Header, log: BlockBackend, staleFrom: number): void {
    if (staleFrom === 0) return;
    const head = new Uint8Array(ENTRY_HEADER_BYTES);
    let at = h.log_offset;
    for (let seq = h.entries; seq < staleFrom; seq++) {
      if (log.readAt(at, head) !== ENTRY_HEADER_BYTES) return;
      const eh = readEntryHeader(head);
      if (eh.magic !== ENTRY_MAGIC || eh.total < ENTRY_HEADER_BYTES || eh.total > ENTRY_BYTES_MAX || Number(eh.seq) !== seq) return;
      at += entryPadded(eh.total);
    }
    throw new SnapshotError(`stale: the log reaches entry ${staleFrom - 1}, two checkpoints past it, and its grid blocks may have been reused since`);
  }

  private pageMap(part: Uint8Array, index: number, name: string): PageMap {
    try {
      return decodePageMap(part, `service ${name}`);
    } catch (e) {
      if (e instanceof PageError) throw new SnapshotError(e.message);
      throw e;
    }
  }

  private readPageFile(index: number, map: PageMap, name: string): Uint8Array {
    let file: BlockBackend;
    try {
      file = this.files.open(pageFileName(index), { create: false, lock: false, readOnly: true, backend: this.opts.backend });
    } catch (e) {
      throw new SnapshotError(`service ${name}: cannot open its page file: ${(e as Error).message}`);
    }
    try {
      return readPages(file, map, `service ${name}`);
    } catch (e) {
      if (e instanceof PageError) throw new SnapshotError(e.message);
      throw e;
    } finally {
      file.close();
    }
  }

  // The log's entry entries-1 must end at log_offset, be CRC-valid and carry
  // the snapshot's chain head: then the log's history up to there is the one
  // the snapshot was taken from.
  private checkLog(h: Header, log: BlockBackend): void {
    if (!Number.isSafeInteger(h.entries) || h.entries < 1) throw new SnapshotError('covers no entries');
    const head = new Uint8Array(ENTRY_HEADER_BYTES);
    if (log.readAt(h.last_entry_offset, head) !== ENTRY_HEADER_BYTES) throw new SnapshotError(`the log ends before entry ${h.entries - 1}`);
    const eh = readEntryHeader(head);
    const total = eh.total;
    if (eh.magic !== ENTRY_MAGIC || total < ENTRY_HEADER_BYTES || total > ENTRY_BYTES_MAX) {
      throw new SnapshotError(`no log entry at offset ${h.last_entry_offset}`);
    }
    if (h.last_entry_offset + entryPadded(total) !== h.log_offset) throw new SnapshotError('log entry size disagrees with the snapshot');
    const e = new Uint8Array(total);
    if (log.readAt(h.last_entry_offset, e) !== total) throw new SnapshotError(`log entry ${h.entries - 1} truncated`);
    if (entryCrc(e) !== eh.crc) throw new SnapshotError(`log entry ${h.entries - 1} fails its checksum`);
    if (Number(eh.seq) !== h.entries - 1) throw new SnapshotError(`log entry at offset ${h.last_entry_offset} is not entry ${h.entries - 1}`);
    if (Buffer.from(head.subarray(ENTRY_CHAIN, ENTRY_CHAIN + ENTRY_CHAIN_BYTES)).toString('hex') !== h.chain) {
      throw new SnapshotError(`the log's chain at entry ${h.entries - 1} differs from the snapshot's (another history)`);
    }
  }
}

function encodeHeader(h: Header): Uint8Array {
  const json = Buffer.from(JSON.stringify(h), 'utf8');
  if (HEADER_FIXED_BYTES + json.length > SNAPSHOT_HEADER_BYTES) throw new SnapshotError(`snapshot header of ${json.length} bytes does not fit ${SNAPSHOT_HEADER_BYTES}`);
  const out = Buffer.alloc(HEADER_FIXED_BYTES + json.length);
  out.write(SNAPSHOT_MAGIC, 0, 'latin1');
  out.writeUInt32LE(SNAPSHOT_VERSION, 8);
  out.writeUInt32LE(json.length, 12);
  createHash('sha256').update(json).digest().copy(out, 16);
  json.copy(out, HEADER_FIXED_BYTES);
  return out;
}


/** Where a snapshot stands in the log: entries applied, where entry `entries` starts, where the entry before it starts. */
export interface SnapshotPosition { image: string; entries: number; logOffset: number; lastEntryOffset: number }

/**
 * A snapshot's position from its header (not its parts: findValid checks
 * those). For `qenex log archive` (host/cmd/log.ts), which keeps the entry
 * before it in the data directory, and for a cluster's checkpoints
 * (host/cluster/node.ts), which give a new node that entry's batch.
 * `file`: the snapshot, opened as SnapshotStore opens it.
 */
export function snapshotPosition(file: BlockBackend): SnapshotPosition {
  const fixed = new Uint8Array(HEADER_FIXED_BYTES);
  if (file.readAt(0, fixed) !== HEADER_FIXED_BYTES) throw new SnapshotError('shorter than its header');
  const jsonLen = Buffer.from(fixed).readUInt32LE(12);
  if (jsonLen > SNAPSHOT_HEADER_BYTES - HEADER_FIXED_BYTES) throw new SnapshotError('header length out of range');
  const json = new Uint8Array(jsonLen);
  if (file.readAt(HEADER_FIXED_BYTES, json) !== jsonLen) throw new SnapshotError('header truncated');
  const h = JSON.parse(Buffer.from(json).toString('utf8')) as Header;
  const offset = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!offset(h.last_entry_offset)) throw new SnapshotError('header has no last_entry_offset');
  if (!offset(h.log_offset) || !offset(h.entries)) throw new SnapshotError('header has no log_offset or entries');
  return { image: String(h.image), entries: h.entries, logOffset: h.log_offset, lastEntryOffset: h.last_entry_offset };
}
