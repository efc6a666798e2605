// host/sim/disk.ts: the simulated disk behind a simulated machine: the
// command log and the snapshot files beside it. Each file has two images:
// what the page cache holds (reads see it) and what is durable (what
// survives a crash). A write becomes durable only when a sync of its file
// completes; the simulator decides when that is (latency). Names (creating,
// renaming, removing a file) are like data: they are in the cache at once
// and durable after a sync of their directory.
//
// Fault model (each choice from the run's seeded PRNG):
//   - latency: every write, sync, preallocation and truncation completes
//     after a random delay;
//   - crash: writes not yet durable are lost sector by sector in any subset
//     (the disk reorders them), the last sector kept may be torn (only a
//     prefix of it written), and a kept sector of a write no one was told
//     about may carry flipped bits (bit flips on write); name changes not yet
//     made durable survive as a prefix of their order (a journaling file
//     system commits them in order), any prefix, none or all;
//   - bit flips on read: a read-only view of the disk can flip bits in what
//     it returns (used for replays, where corruption must be reported);
//   - declared, not simulated: a durable sector changing afterwards (a single
//     copy cannot survive losing every copy; the hash chain detects it, and
//     the simulator does not count it as a failure to recover).
// A test-only flag `ackBeforeFlush` makes writeDurable complete before its
// data is durable (a device that lies about flushes): the simulator must
// catch the acknowledged loss it causes.

import type { BlockBackend } from '../devices/block-backend.ts';
import { BlockBackendError } from '../devices/block-backend.ts';
import type { Prng } from './prng.ts';
import type { SnapshotDirectory } from '../snapshot.ts';

export const SECTOR_BYTES = 512;

export interface DiskFaults {
  /** Completion delay of each operation, ns. */
  latencyNsMin: bigint;
  latencyNsMax: bigint;
  /** At a crash: chance that each unsynced sector is lost. */
  loseUnsyncedSector: number;
  /** At a crash: chance that the last kept unsynced sector is torn. */
  tornSector: number;
  /** At a crash: chance of a bit flip in a kept, unacknowledged sector. */
  flipOnWrite: number;
  /** Test-only bug: writeDurable completes before its data is durable. */
  ackBeforeFlush: boolean;
}

/** The scheduler the disk asks to complete operations later. */
export interface DiskClock {
  after(delayNs: bigint, what: string, run: () => void): void;
}

interface Unsynced { offset: number; data: Uint8Array; acknowledged: boolean }

/** A file's bytes at one level (cache or durable): a length, in room that grows by doubling. */
class Bytes {
  private room = new Uint8Array(0);
  length = 0;

  view(): Uint8Array {
    return this.room.subarray(0, this.length);
  }

  /** Writes `data` at `offset`, extending the length (zeros in any gap). */
  set(data: Uint8Array, offset: number): void {
    this.extend(offset + data.length);
    this.room.set(data, offset);
  }

  extend(length: number): void {
    if (length <= this.length) return;
    if (length > this.room.length) {
      const r = new Uint8Array(Math.max(length, this.room.length * 2, 4096));
      r.set(this.room.subarray(0, this.length));
      this.room = r;
    }
    this.length = length;
  }

  /** Sets the length; bytes past a shorter length are gone (zeros if it grows again). */
  resize(length: number): void {
    if (length < this.length) this.room.fill(0, length, this.length);
    else this.extend(length);
    this.length = length;
  }

  copyFrom(other: Bytes): void {
    this.length = 0;
    this.room.fill(0);
    this.set(other.view(), 0);
  }
}

/** One file: what the page cache holds, what is durable, and the writes in between. */
class SimFile {
  readonly cache = new Bytes();
  readonly durable = new Bytes();
  unsynced: Unsynced[] = [];

  write(offset: number, data: Uint8Array, acknowledged: boolean): void {
    this.cache.set(data, offset);
    this.unsynced.push({ offset, data: Uint8Array.from(data), acknowledged });
  }

  /** fdatasync: everything written to this file so far becomes durable. */
  sync(): void {
    for (const u of this.unsynced) this.durable.set(u.data, u.offset);
    this.unsynced = [];
    this.durable.extend(this.cache.length);
  }

  setLength(length: number): void {
    this.cache.resize(length);
    this.sync();
    this.durable.resize(length);
  }
}

/** A change of names, durable once its directory is synced. */
type NameChange =
  | { kind: 'create'; path: string; file: SimFile }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'remove'; path: string };

function applyName(names: Map<string, SimFile>, c: NameChange): void {
  if (c.kind === 'create') names.set(c.path, c.file);
  else if (c.kind === 'remove') names.delete(c.path);
  else {
    const f = names.get(c.from);
    if (f === undefined) return;
    names.delete(c.from);
    names.set(c.to, f);
  }
}

export interface OpenOptions {
  readOnly: boolean;
  /** Chance of a flipped bit per read. */
  flipOnRead?: number;
  /** Create the file when it is missing. */
  create?: boolean;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export class SimDisk {
  /** Files by name as the page cache sees them, and as a crash leaves them. */
  private names = new Map<string, SimFile>();
  private durableNames = new Map<string, SimFile>();
  private nameChanges: NameChange[] = [];
  /** Every file a name reaches (in creation order, so a crash visits them in a fixed order). */
  private files = new Set<SimFile>();
  /** Which life (boot) the open handles belong to; bumped at a crash. */
  private life = 0;
  readonly counts = new Map<string, number>();

  constructor(private readonly rng: Prng, private readonly clock: DiskClock, readonly faults: DiskFaults) {}

  count(kind: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }

  /** The durable bytes of a file (what a crash leaves); empty when no durable name reaches it. */
  durableBytes(path: string): Uint8Array {
    return this.durableNames.get(path)?.durable.view() ?? new Uint8Array(0);
  }

  /** A handle for one machine life. */
  open(path: string, o: OpenOptions): BlockBackend {
    let file = this.names.get(path);
    if (file === undefined) {
      if (o.create !== true || o.readOnly) throw new BlockBackendError('ENOENT', `open ${path}: no such file`);
      file = new SimFile();
      this.files.add(file);
      this.changeName({ kind: 'create', path, file });
    }
    return new DiskHandle(this, file, path, this.life, o.readOnly, o.flipOnRead ?? 0);
  }

  /** The names directly in `dir` (as the cache sees them). */
  list(dir: string): string[] {
    const out: string[] = [];
    for (const path of this.names.keys()) if (parentOf(path) === dir) out.push(path.slice(dir.length + 1));
    return out.sort();
  }

  rename(from: string, to: string): void {
    if (!this.names.has(from)) throw new BlockBackendError('ENOENT', `rename ${from}: no such file`);
    this.changeName({ kind: 'rename', from, to });
  }

  /** Removes a name; nothing when it is absent. */
  remove(path: string): void {
    if (this.names.has(path)) this.changeName({ kind: 'remove', path });
  }

  /** fsync of a directory: every name change so far becomes durable (the journal commits in order). */
  syncNames(): void {
    for (const c of this.nameChanges) applyName(this.durableNames, c);
    this.nameChanges = [];
  }

  private changeName(c: NameChange): void {
    applyName(this.names, c);
    this.nameChanges.push(c);
  }

  isLive(life: number): boolean {
    return life === this.life;
  }

  read(file: SimFile, offset: number, into: Uint8Array, flipOnRead: number): number {
    const n = Math.max(0, Math.min(into.length, file.cache.length - offset));
    into.set(file.cache.view().subarray(offset, offset + n));
    if (n > 0 && this.rng.chance(flipOnRead)) {
      const at = this.rng.int(n);
      into[at] ^= 1 << this.rng.int(8);
      this.count('disk_bitflip_read');
    }
    return n;
  }

  /**
   * Power loss: what was not synced survives sector by sector in any subset,
   * maybe torn, maybe with flipped bits; name changes not synced survive as
   * a prefix of their order; the cache becomes the durable image.
   * Returns a short description for the trace.
   */
  crash(): string {
    this.life++;
    let kept = 0, lost = 0, torn = 0, flipped = 0;
    for (const file of this.files) {
      for (const u of file.unsynced) {
        for (let s = 0; s < u.data.length; s += SECTOR_BYTES) {
          const piece = u.data.subarray(s, Math.min(u.data.length, s + SECTOR_BYTES));
          if (this.rng.chance(this.faults.loseUnsyncedSector)) { lost++; continue; }
          let bytes = Uint8Array.from(piece);
          if (this.rng.chance(this.faults.tornSector)) { bytes = bytes.subarray(0, this.rng.int(bytes.length)); torn++; }
          if (!u.acknowledged && bytes.length > 0 && this.rng.chance(this.faults.flipOnWrite)) {
            bytes[this.rng.int(bytes.length)] ^= 1 << this.rng.int(8);
            flipped++;
          }
          file.durable.set(bytes, u.offset + s);
          kept++;
        }
      }
      file.unsynced = [];
      file.cache.copyFrom(file.durable);
    }
    const changes = this.nameChanges.length;
    const namesKept = changes === 0 ? 0 : this.rng.int(changes + 1);
    for (const c of this.nameChanges.slice(0, namesKept)) applyName(this.durableNames, c);
    this.nameChanges = [];
    this.names = new Map(this.durableNames);
    const reachable = new Set(this.names.values());
    this.files = new Set([...this.files].filter((f) => reachable.has(f)));
    if (lost > 0) this.count('disk_lost_unsynced_sector', lost);
    if (torn > 0) this.count('disk_torn_write', torn);
    if (flipped > 0) this.count('disk_bitflip_write', flipped);
    if (kept > 0 && lost > 0) this.count('disk_reordered_write');
    if (namesKept < changes) this.count('disk_lost_name_change', changes - namesKept);
    return `kept=${kept} lost=${lost} torn=${torn} flipped=${flipped}${changes > 0 ? ` names=${namesKept}/${changes}` : ''}`;
  }

  latency(): bigint {
    const { latencyNsMin: lo, latencyNsMax: hi } = this.faults;
    return lo + BigInt(this.rng.int(Number(hi - lo) + 1));
  }

  /** Completes `run` later, unless the machine crashed meanwhile (then never). */
  later(life: number, what: string, run: () => void, reject: (e: Error) => void): void {
    this.count('disk_latency');
    this.clock.after(this.latency(), what, () => {
      if (!this.isLive(life)) return; // the machine that asked is gone
      try { run(); } catch (e) { reject(e as Error); }
    });
  }

  /** A directory of this disk as snapshot files see it (host/snapshot.ts). */
  directory(dir: string, readOnly: boolean, flipOnRead = 0): SnapshotDirectory {
    const disk = this;
    const refuse = (op: string) => new BlockBackendError('EBADF', `${op} ${dir}: the directory was opened read-only`);
    return {
      path: dir,
      names: () => disk.list(dir),
      create: () => {},
      open: (name, o) => disk.open(`${dir}/${name}`, { readOnly: readOnly || o.readOnly, flipOnRead, create: o.create }),
      rename: (from, to) => { if (readOnly) throw refuse('rename'); disk.rename(`${dir}/${from}`, `${dir}/${to}`); },
      remove: (name) => { if (readOnly) throw refuse('remove'); disk.remove(`${dir}/${name}`); },
      sync: () => { if (readOnly) throw refuse('sync'); disk.syncNames(); },
    };
  }
}

class DiskHandle implements BlockBackend {
  readonly kind = 'pure' as const;
  private closed = false;

  constructor(private readonly disk: SimDisk, private readonly file: SimFile, readonly path: string, private readonly life: number,
    private readonly readOnly: boolean, private readonly flipOnRead: number) {}

  private check(op: string, write: boolean): void {
    if (this.closed) throw new BlockBackendError('ECLOSED', `${op} ${this.path}: the block backend is closed`);
    if (write && this.readOnly) throw new BlockBackendError('EBADF', `${op} ${this.path}: the block backend was opened readOnly`);
  }

  readAt(offsetBytes: number, into: Uint8Array): number {
    this.check('read', false);
    return this.disk.read(this.file, offsetBytes, into, this.flipOnRead);
  }

  writeAt(offsetBytes: number, data: Uint8Array): void {
    this.check('write', true);
    this.file.write(offsetBytes, data, false);
  }

  writeDurable(offsetBytes: number, data: Uint8Array): Promise<void> {
    try { this.check('write', true); } catch (e) { return Promise.reject(e); }
    const copy = Uint8Array.from(data);
    if (this.disk.faults.ackBeforeFlush) {
      // The bug: the previous write is flushed now, this one only with the
      // next, yet it is reported durable at once.
      this.file.sync();
      this.file.write(offsetBytes, copy, true);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.file.write(offsetBytes, copy, false);
      this.disk.later(this.life, 'write', () => { this.file.sync(); resolve(); }, reject);
    });
  }

  sync(): Promise<void> {
    try { this.check('sync', true); } catch (e) { return Promise.reject(e); }
    return new Promise((resolve, reject) => this.disk.later(this.life, 'sync', () => { this.file.sync(); resolve(); }, reject));
  }

  preallocate(lengthBytes: number): Promise<void> {
    try { this.check('preallocate', true); } catch (e) { return Promise.reject(e); }
    return new Promise((resolve, reject) => this.disk.later(this.life, 'preallocate', () => {
      if (this.file.cache.length < lengthBytes) this.file.setLength(lengthBytes);
      resolve();
    }, reject));
  }

  truncate(lengthBytes: number): Promise<void> {
    try { this.check('truncate', true); } catch (e) { return Promise.reject(e); }
    return new Promise((resolve, reject) => this.disk.later(this.life, 'truncate', () => { this.file.setLength(lengthBytes); resolve(); }, reject));
  }

  size(): number {
    this.check('size', false);
    return this.file.cache.length;
  }

  close(): void {
    this.closed = true;
  }
}
