// host/devices/block-backend.ts: where the host's block device keeps its bytes.
//
// The kernel's durable command log is one file per data directory. The block
// device model (host/devices) turns the kernel's requests into calls on a
// BlockBackend and never learns which implementation serves them:
//
//   native  the Rust N-API addon in host/native: flock that dies with the
//           process, fallocate that reserves blocks, write+fdatasync as one
//           job on a libuv worker.
//   pure    node:fs only, for machines without the addon: a pid lock file,
//           preallocation by ftruncate (zeros, but no blocks reserved).
//
// Use: `const file = openBlockBackend(path, { create: true, lock: true,
// readOnly: false })`, then `await file.writeDurable(offsetBytes, bytes)`,
// and `file.close()` when done. With `backend: 'auto'` (the default) a missing
// or broken addon falls back to the pure backend and says so once, through
// `notice`. With `layer` (a DataCipher from host/datakey.ts) the opened file
// is wrapped in host/devices/encrypted-backend.ts: encryption at rest, with
// the same interface and semantics.
//
// Errors: every failure is an Error with a string `code`. I/O failures carry
// the errno name (`err.code === 'ENOSPC'` on both backends) and a message of
// the form "<operation> <path>: <OS text>". The backends' own codes are
// ELOCKED, ECLOSED, EBADF (write on a readOnly backend), ENOADDON and
// ERR_INVALID_ARG_VALUE / ERR_INVALID_ARG_TYPE (a host bug: a bad argument).
// Promise-returning methods report every error, bad arguments included, by
// rejecting; the synchronous ones throw.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { defaultSearchDirs, probeAddon, type NativeAddon, type NativeAddonStatus, type NativeBlockFile } from '../base/addon.ts';

export { nativeAddon, type NativeAddonStatus, type NativeIsoSchemaSet, type NativeIsoVerdict } from '../base/addon.ts';

// ---- limits ----

// JavaScript numbers are exact integers only up to 2^53 - 1; an offset past
// it would silently round and land the write somewhere else.
const OFFSET_BYTES_MAX = Number.MAX_SAFE_INTEGER;
// The napi "binaryName" in package.json; the build names the file after it.
// A pure-backend lock is `<data file>.lock` holding the owner's pid.
const LOCK_FILE_SUFFIX = '.lock';
// Lock attempts: one to find a stale lock, one after removing it, one more
// for a holder that released between our reads. Bounded so that two
// processes fighting over the same lock end with an error, never a spin.
const LOCK_ATTEMPTS_MAX = 3;
// A pid lock file holds a decimal pid and a newline; anything longer is not ours.
const LOCK_FILE_BYTES_MAX = 32;

// ---- what callers may use ----

export interface BlockBackend {
  readonly kind: 'native' | 'pure';
  readonly path: string;
  /** Reads until `into` is full or the file ends; returns the bytes read. */
  readAt(offsetBytes: number, into: Uint8Array): number;
  /** Writes all of `data`; not durable until a sync. */
  writeAt(offsetBytes: number, data: Uint8Array): void;
  /** Writes all of `data`, then fdatasync. `data` is captured at the call. */
  writeDurable(offsetBytes: number, data: Uint8Array): Promise<void>;
  /** fdatasync. */
  sync(): Promise<void>;
  /** Makes the file at least `lengthBytes` long (new bytes read as zero), then fsync. */
  preallocate(lengthBytes: number): Promise<void>;
  /** Sets the size to exactly `lengthBytes`, then fsync. */
  truncate(lengthBytes: number): Promise<void>;
  size(): number;
  /** Releases the file and its lock; idempotent. Later calls fail with ECLOSED. */
  close(): void;
}

export type BackendChoice = 'auto' | 'native' | 'pure';

export interface BlockOpenOptions {
  create: boolean;
  lock: boolean;
  readOnly: boolean;
  backend?: BackendChoice;
  /** Where one-line notices go (fallback, stale lock); default: stderr. */
  notice?: (line: string) => void;
  /** Directories to search for the addon instead of the default ones (tests, packagers). */
  nativeSearchDirs?: readonly string[];
  /** Wraps the opened file (encryption at rest: a DataCipher); absent: the file as it is. */
  layer?: BackendLayer;
}

/** A backend built over an opened one (host/devices/encrypted-backend.ts). */
export interface BackendLayer {
  wrap(inner: BlockBackend, opts: BlockOpenOptions): BlockBackend;
}


export class BlockBackendError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlockBackendError';
    this.code = code;
  }
}

export function openBlockBackend(path: string, opts: BlockOpenOptions): BlockBackend {
  const inner = openPlainBackend(path, opts);
  if (opts.layer === undefined) return inner;
  try {
    return opts.layer.wrap(inner, opts);
  } catch (err) {
    inner.close();
    throw err;
  }
}

function openPlainBackend(path: string, opts: BlockOpenOptions): BlockBackend {
  checkOpenOptions(path, opts);
  const choice = opts.backend ?? 'auto';
  const notice = opts.notice ?? noticeToStderr;
  if (choice === 'pure') return PureBackend.open(path, opts, notice);
  const probe = probeAddon(opts.nativeSearchDirs ?? defaultSearchDirs());
  if (probe.addon !== undefined) return NativeBackend.open(probe.addon, path, opts);
  const reason = probe.status.reason ?? 'the native block addon is unavailable';
  if (choice === 'native') {
    throw new BlockBackendError('ENOADDON', `qenex: the native block backend was asked for, but ${reason}`);
  }
  tellOnce(notice, `qenex: ${reason}; using the pure TypeScript backend (no block preallocation, lock by lock file)`);
  return PureBackend.open(path, opts, notice);
}

// What each notice sink was told already: a machine opens several files (its log, grids, the payments
// originals archive), and the fallback is one fact about the process, said once.
const told = new WeakMap<(line: string) => void, Set<string>>();

function tellOnce(notice: (line: string) => void, line: string): void {
  let lines = told.get(notice);
  if (lines === undefined) told.set(notice, lines = new Set());
  if (lines.has(line)) return;
  lines.add(line);
  notice(line);
}

/** Whether the addon loads here, and from which file or why not. */
export function nativeAddonStatus(searchDirs?: readonly string[]): NativeAddonStatus {
  return { ...probeAddon(searchDirs ?? defaultSearchDirs()).status };
}

// ---- argument checks, shared by every backend (encrypted-backend.ts too) ----

function checkOpenOptions(path: string, opts: BlockOpenOptions): void {
  if (typeof path !== 'string' || path.length === 0) {
    throw new BlockBackendError('ERR_INVALID_ARG_TYPE', `open: path must be a non-empty string, got ${String(path)}`);
  }
  for (const flag of ['create', 'lock', 'readOnly'] as const) {
    if (typeof opts?.[flag] !== 'boolean') {
      throw new BlockBackendError('ERR_INVALID_ARG_TYPE', `open ${path}: option ${flag} must be a boolean`);
    }
  }
  if (opts.create && opts.readOnly) {
    throw new BlockBackendError('ERR_INVALID_ARG_VALUE', `open ${path}: create and readOnly exclude each other`);
  }
  const choice = opts.backend ?? 'auto';
  if (choice !== 'auto' && choice !== 'native' && choice !== 'pure') {
    throw new BlockBackendError('ERR_INVALID_ARG_VALUE', `open ${path}: unknown backend ${String(choice)}`);
  }
}

export function checkBytes(op: string, path: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    const message = `${op} ${path}: ${name} must be an integer in [0, 2^53 - 1], got ${String(value)}`;
    throw new BlockBackendError('ERR_INVALID_ARG_VALUE', message);
  }
}

export function checkSpan(op: string, path: string, offsetBytes: number, data: Uint8Array): void {
  checkBytes(op, path, 'offsetBytes', offsetBytes);
  if (!(data instanceof Uint8Array)) {
    throw new BlockBackendError('ERR_INVALID_ARG_TYPE', `${op} ${path}: the buffer must be a Uint8Array`);
  }
  if (offsetBytes + data.byteLength > OFFSET_BYTES_MAX) {
    throw new BlockBackendError('ERR_INVALID_ARG_VALUE', `${op} ${path}: offsetBytes + length exceeds 2^53 - 1`);
  }
}

export function closedError(op: string, path: string): BlockBackendError {
  return new BlockBackendError('ECLOSED', `${op} ${path}: the block backend is closed`);
}

export function readOnlyError(op: string, path: string): BlockBackendError {
  return new BlockBackendError('EBADF', `${op} ${path}: the block backend was opened readOnly`);
}

function noticeToStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}

// ---- native backend ----


// The addon checks every argument again on its side of the boundary; these
// checks come first so both backends refuse the same calls the same way.
class NativeBackend implements BlockBackend {
  readonly kind = 'native' as const;
  private file: NativeBlockFile | null;

  private constructor(readonly path: string, file: NativeBlockFile, private readonly readOnly: boolean) {
    this.file = file;
  }

  static open(addon: NativeAddon, path: string, opts: BlockOpenOptions): NativeBackend {
    const { create, lock, readOnly } = opts;
    return new NativeBackend(path, addon.BlockFile.open(path, { create, lock, readOnly }), readOnly);
  }

  readAt(offsetBytes: number, into: Uint8Array): number {
    checkSpan('readAt', this.path, offsetBytes, into);
    const readBytes = this.live('readAt').readAt(offsetBytes, into);
    assert(readBytes >= 0 && readBytes <= into.byteLength, 'native readAt out of range');
    return readBytes;
  }

  writeAt(offsetBytes: number, data: Uint8Array): void {
    checkSpan('writeAt', this.path, offsetBytes, data);
    this.writable('writeAt').writeAt(offsetBytes, data);
  }

  async writeDurable(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkSpan('writeDurable', this.path, offsetBytes, data);
    await this.writable('writeDurable').writeDurable(offsetBytes, data);
  }

  async sync(): Promise<void> {
    await this.live('sync').sync();
  }

  async preallocate(lengthBytes: number): Promise<void> {
    checkBytes('preallocate', this.path, 'lengthBytes', lengthBytes);
    await this.writable('preallocate').preallocate(lengthBytes);
  }

  async truncate(lengthBytes: number): Promise<void> {
    checkBytes('truncate', this.path, 'lengthBytes', lengthBytes);
    await this.writable('truncate').truncate(lengthBytes);
  }

  size(): number {
    return this.live('size').size();
  }

  close(): void {
    // The addon keeps the descriptor (and the flock) until tasks in flight
    // finish, so closing under a pending writeDurable is safe.
    this.file?.close();
    this.file = null;
  }

  private live(op: string): NativeBlockFile {
    if (this.file === null) throw closedError(op, this.path);
    return this.file;
  }

  private writable(op: string): NativeBlockFile {
    const file = this.live(op);
    if (this.readOnly) throw readOnlyError(op, this.path);
    return file;
  }
}

// ---- pure backend ----

// The pure backend queues nothing itself: libuv runs its async calls in the
// thread pool. `inFlight` counts those, so close() can defer the real
// fs.close until they end; closing a descriptor under a pending write could
// let the write land in whatever file reuses the descriptor number.
class PureBackend implements BlockBackend {
  readonly kind = 'pure' as const;
  private closed = false;
  private inFlight = 0;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly lockPath: string | null,
    private readonly readOnly: boolean,
  ) {}

  static open(path: string, opts: BlockOpenOptions, notice: (line: string) => void): PureBackend {
    const lockPath = opts.lock ? acquireLockFile(path, notice) : null;
    try {
      return new PureBackend(path, openDataFile(path, opts), lockPath, opts.readOnly);
    } catch (err) {
      if (lockPath !== null) releaseLockFile(lockPath);
      throw err;
    }
  }

  readAt(offsetBytes: number, into: Uint8Array): number {
    checkSpan('readAt', this.path, offsetBytes, into);
    const fd = this.live('readAt');
    let doneBytes = 0;
    while (doneBytes < into.byteLength) {
      const wantBytes = into.byteLength - doneBytes;
      const count = this.io('pread', () => fs.readSync(fd, into, doneBytes, wantBytes, offsetBytes + doneBytes));
      if (count === 0) break;
      doneBytes += count;
    }
    assert(doneBytes <= into.byteLength, 'pure readAt overran its buffer');
    return doneBytes;
  }

  writeAt(offsetBytes: number, data: Uint8Array): void {
    checkSpan('writeAt', this.path, offsetBytes, data);
    const fd = this.writable('writeAt');
    let doneBytes = 0;
    while (doneBytes < data.byteLength) {
      const wantBytes = data.byteLength - doneBytes;
      const count = this.io('pwrite', () => fs.writeSync(fd, data, doneBytes, wantBytes, offsetBytes + doneBytes));
      assert(count > 0, 'pwrite wrote nothing without an error');
      doneBytes += count;
    }
  }

  async writeDurable(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkSpan('writeDurable', this.path, offsetBytes, data);
    const fd = this.writable('writeDurable');
    // Copied now, as the native backend does: the caller may reuse its buffer
    // as soon as this call returns, while the write still waits in the pool.
    const copy = data.slice();
    await this.pending(async () => {
      await writeAllAsync(this.path, fd, copy, offsetBytes);
      await callbackIo('fdatasync', this.path, (done) => fs.fdatasync(fd, done));
    });
  }

  async sync(): Promise<void> {
    const fd = this.live('sync');
    await this.pending(() => callbackIo('fdatasync', this.path, (done) => fs.fdatasync(fd, done)));
  }

  async preallocate(lengthBytes: number): Promise<void> {
    checkBytes('preallocate', this.path, 'lengthBytes', lengthBytes);
    const fd = this.writable('preallocate');
    await this.pending(async () => {
      // ftruncate only grows the file (sparse zeros); node:fs cannot reserve blocks.
      if (this.sizeOf(fd) < lengthBytes) {
        await callbackIo('ftruncate', this.path, (done) => fs.ftruncate(fd, lengthBytes, done));
      }
      await callbackIo('fsync', this.path, (done) => fs.fsync(fd, done));
      assert(this.sizeOf(fd) >= lengthBytes, 'preallocate left the file short');
    });
  }

  async truncate(lengthBytes: number): Promise<void> {
    checkBytes('truncate', this.path, 'lengthBytes', lengthBytes);
    const fd = this.writable('truncate');
    await this.pending(async () => {
      await callbackIo('ftruncate', this.path, (done) => fs.ftruncate(fd, lengthBytes, done));
      await callbackIo('fsync', this.path, (done) => fs.fsync(fd, done));
      assert.equal(this.sizeOf(fd), lengthBytes, 'ftruncate left another size');
    });
  }

  size(): number {
    return this.sizeOf(this.live('size'));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.inFlight === 0) this.release();
  }

  private release(): void {
    assert(this.closed && this.inFlight === 0, 'release with work in flight');
    try {
      this.io('close', () => fs.closeSync(this.fd));
    } finally {
      if (this.lockPath !== null) releaseLockFile(this.lockPath);
    }
  }

  private async pending<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
      if (this.closed && this.inFlight === 0) this.release();
    }
  }

  // Takes the descriptor from the caller, so work already in flight can still
  // ask after close() has been called.
  private sizeOf(fd: number): number {
    return this.io('fstat', () => fs.fstatSync(fd).size);
  }

  private io<T>(op: string, call: () => T): T {
    try {
      return call();
    } catch (err) {
      throw wrapFsError(op, this.path, err);
    }
  }

  private live(op: string): number {
    if (this.closed) throw closedError(op, this.path);
    return this.fd;
  }

  private writable(op: string): number {
    const fd = this.live(op);
    if (this.readOnly) throw readOnlyError(op, this.path);
    return fd;
  }
}

function openDataFile(path: string, opts: BlockOpenOptions): number {
  const { O_RDONLY, O_RDWR, O_CREAT } = fs.constants;
  const flags = opts.readOnly ? O_RDONLY : O_RDWR | (opts.create ? O_CREAT : 0);
  let fd: number;
  try {
    fd = fs.openSync(path, flags, 0o644);
  } catch (err) {
    throw wrapFsError('open', path, err);
  }
  if (fs.fstatSync(fd).isDirectory()) {
    fs.closeSync(fd);
    throw new BlockBackendError('EISDIR', `open ${path}: is a directory`);
  }
  return fd;
}

function wrapFsError(op: string, path: string, err: unknown): BlockBackendError {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'UNKNOWN';
  return new BlockBackendError(code, `${op} ${path}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

type FsCallback = (err: NodeJS.ErrnoException | null) => void;

// Runs one fs call in the libuv pool and wraps its error like every other.
function callbackIo(op: string, path: string, start: (done: FsCallback) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    start((err) => (err ? reject(wrapFsError(op, path, err)) : resolve()));
  });
}

async function writeAllAsync(path: string, fd: number, data: Uint8Array, offsetBytes: number): Promise<void> {
  let doneBytes = 0;
  while (doneBytes < data.byteLength) {
    const count = await new Promise<number>((resolve, reject) => {
      fs.write(fd, data, doneBytes, data.byteLength - doneBytes, offsetBytes + doneBytes, (err, written) =>
        err ? reject(wrapFsError('pwrite', path, err)) : resolve(written),
      );
    });
    assert(count > 0, 'pwrite wrote nothing without an error');
    doneBytes += count;
  }
}

// ---- pure backend lock file ----

// Safety over convenience: a lock file whose holder cannot be identified
// counts as held, since two writers on one log is the failure that matters.
// Residual race, accepted for a fallback: two processes that find the same
// stale lock at the same moment can both take it over; the native backend's
// flock has no such window.
// The lock files this process holds: a lock file that names this process's
// pid but is not among them was left by an earlier process that had the same
// pid (a machine rebooted after a power cut numbers its processes anew).
const heldLockFiles = new Set<string>();

function acquireLockFile(dataPath: string, notice: (line: string) => void): string {
  const lockPath = dataPath + LOCK_FILE_SUFFIX;
  for (let attempt = 0; attempt < LOCK_ATTEMPTS_MAX; attempt += 1) {
    if (tryCreateLockFile(lockPath)) {
      heldLockFiles.add(nodePath.resolve(lockPath));
      return lockPath;
    }
    const holderPid = readLockHolder(lockPath);
    if (holderPid === 'gone') continue;
    if (holderPid === 'unreadable') throw lockedError(dataPath, `${lockPath} holds no pid`, lockPath);
    const earlierLife = holderPid === process.pid && !heldLockFiles.has(nodePath.resolve(lockPath));
    if (!earlierLife && isProcessAlive(holderPid)) throw lockedError(dataPath, `pid ${holderPid}`, lockPath);
    notice(earlierLife
      ? `qenex: taking over stale lock file ${lockPath}: it names this process's pid ${holderPid}, left by an earlier process (a restart of the machine)`
      : `qenex: taking over stale lock file ${lockPath}: its pid ${holderPid} is no longer running`);
    removeLockFileOf(lockPath, holderPid);
  }
  throw lockedError(dataPath, `the lock changed hands ${LOCK_ATTEMPTS_MAX} times while we tried`, lockPath);
}

function lockedError(dataPath: string, holder: string, lockPath: string): BlockBackendError {
  const message =
    `open ${dataPath}: the data file is locked by another qenex process (${holder}, lock file ${lockPath}); ` +
    `stop that process, or delete the lock file if no qenex process uses this data directory`;
  return new BlockBackendError('ELOCKED', message);
}

/**
 * Creates the lock file with this process's pid in it, at once: the pid is
 * written to a file of its own and made durable, then linked to the lock's
 * name (which fails if it exists). So a lock file is never seen, nor left by
 * a crash or a power cut, without its pid.
 */
function tryCreateLockFile(lockPath: string): boolean {
  const tmp = `${lockPath}.${process.pid}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, `${process.pid}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw wrapFsError('link', lockPath, err);
    }
    return true;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function readLockHolder(lockPath: string): number | 'gone' | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw wrapFsError('read', lockPath, err);
  }
  const trimmed = text.trim();
  if (text.length > LOCK_FILE_BYTES_MAX || !/^[0-9]+$/.test(trimmed)) return 'unreadable';
  const pid = Number(trimmed);
  // pid 0 and below name process groups for kill(); never probe those.
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 'unreadable';
}

function isProcessAlive(pid: number): boolean {
  assert(Number.isSafeInteger(pid) && pid > 0, 'probing a pid that is not a process');
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else; still a holder.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Removes the lock file only while it still names `pid`, so a release or
// takeover never deletes a lock another process has just created.
function removeLockFileOf(lockPath: string, pid: number): void {
  if (readLockHolder(lockPath) !== pid) return;
  try {
    fs.unlinkSync(lockPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw wrapFsError('unlink', lockPath, err);
  }
}

function releaseLockFile(lockPath: string): void {
  removeLockFileOf(lockPath, process.pid);
  heldLockFiles.delete(nodePath.resolve(lockPath));
}
