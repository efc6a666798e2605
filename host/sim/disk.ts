// host/sim/disk.ts: the simulated block device behind the command log. It
// keeps two images of the log file: what the page cache holds (reads see
// it) and what is durable (what survives a crash). A write becomes durable
// only when a sync completes; the simulator decides when that is (latency).
//
// Fault model (each choice from the run's seeded PRNG):
//   - latency: every write, sync, preallocation and truncation completes
//     after a random delay;
//   - crash: writes not yet durable are lost sector by sector in any subset
//     (the disk reorders them), the last sector kept may be torn (only a
//     prefix of it written), and a kept sector of a write no one was told
//     about may carry flipped bits (bit flips on write);
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

export class SimDisk {
  private cache = new Uint8Array(0);
  private durable = new Uint8Array(0);
  private unsynced: Unsynced[] = [];
  /** Which life (boot) the open handles belong to; bumped at a crash. */
  private life = 0;
  readonly counts = new Map<string, number>();
  /** The byte range the unsynced writes covered at the last crash (null: none). */
  lastCrashUnsynced: { start: number; end: number } | null = null;

  constructor(private readonly rng: Prng, private readonly clock: DiskClock, readonly faults: DiskFaults) {}

  count(kind: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }

  /** The durable bytes (what a crash leaves). */
  durableBytes(): Uint8Array {
    return this.durable;
  }

  /** A handle for one machine life; `flipOnRead` is the chance of a flipped bit per read. */
  open(path: string, readOnly: boolean, flipOnRead = 0): BlockBackend {
    return new DiskHandle(this, path, this.life, readOnly, flipOnRead);
  }

  isLive(life: number): boolean {
    return life === this.life;
  }

  currentLife(): number {
    return this.life;
  }

  read(offset: number, into: Uint8Array, flipOnRead: number): number {
    const n = Math.max(0, Math.min(into.length, this.cache.length - offset));
    into.set(this.cache.subarray(offset, offset + n));
    if (n > 0 && this.rng.chance(flipOnRead)) {
      const at = this.rng.int(n);
      into[at] ^= 1 << this.rng.int(8);
      this.count('disk_bitflip_read');
    }
    return n;
  }

  private grow(length: number): void {
    if (this.cache.length >= length) return;
    const c = new Uint8Array(length);
    c.set(this.cache);
    this.cache = c;
  }

  write(offset: number, data: Uint8Array, acknowledged: boolean): void {
    this.grow(offset + data.length);
    this.cache.set(data, offset);
    this.unsynced.push({ offset, data: Uint8Array.from(data), acknowledged });
  }

  /** fdatasync: everything written so far becomes durable. */
  sync(): void {
    for (const u of this.unsynced) this.persist(u.offset, u.data);
    this.unsynced = [];
    if (this.durable.length < this.cache.length) this.persist(this.cache.length, new Uint8Array(0));
  }

  private persist(offset: number, data: Uint8Array): void {
    if (this.durable.length < offset + data.length) {
      const d = new Uint8Array(Math.max(offset + data.length, this.cache.length));
      d.set(this.durable);
      this.durable = d;
    }
    this.durable.set(data, offset);
  }

  setLength(length: number): void {
    const c = new Uint8Array(length);
    c.set(this.cache.subarray(0, length));
    this.cache = c;
    this.sync();
    const d = new Uint8Array(length);
    d.set(this.durable.subarray(0, length));
    this.durable = d;
  }

  size(): number {
    return this.cache.length;
  }

  /**
   * Power loss: what was not synced survives sector by sector in any subset,
   * maybe torn, maybe with flipped bits; the cache becomes the durable image.
   * Returns a short description for the trace.
   */
  crash(): string {
    this.life++;
    let kept = 0, lost = 0, torn = 0, flipped = 0;
    this.lastCrashUnsynced = this.unsynced.length === 0 ? null : {
      start: Math.min(...this.unsynced.map((u) => u.offset)),
      end: Math.max(...this.unsynced.map((u) => u.offset + u.data.length)),
    };
    for (const u of this.unsynced) {
      for (let s = 0; s < u.data.length; s += SECTOR_BYTES) {
        const piece = u.data.subarray(s, Math.min(u.data.length, s + SECTOR_BYTES));
        if (this.rng.chance(this.faults.loseUnsyncedSector)) { lost++; continue; }
        let bytes = Uint8Array.from(piece);
        if (this.rng.chance(this.faults.tornSector)) { bytes = bytes.subarray(0, this.rng.int(bytes.length)); torn++; }
        if (!u.acknowledged && bytes.length > 0 && this.rng.chance(this.faults.flipOnWrite)) {
          bytes[this.rng.int(bytes.length)] ^= 1 << this.rng.int(8);
          flipped++;
        }
        this.persist(u.offset + s, bytes);
        kept++;
      }
    }
    this.unsynced = [];
    this.cache = Uint8Array.from(this.durable);
    if (lost > 0) this.count('disk_lost_unsynced_sector', lost);
    if (torn > 0) this.count('disk_torn_write', torn);
    if (flipped > 0) this.count('disk_bitflip_write', flipped);
    if (kept > 0 && lost > 0) this.count('disk_reordered_write');
    return `kept=${kept} lost=${lost} torn=${torn} flipped=${flipped}`;
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
}

class DiskHandle implements BlockBackend {
  readonly kind = 'pure' as const;
  private closed = false;

  constructor(private readonly disk: SimDisk, readonly path: string, private readonly life: number,
    private readonly readOnly: boolean, private readonly flipOnRead: number) {}

  private check(op: string, write: boolean): void {
    if (this.closed) throw new BlockBackendError('ECLOSED', `${op} ${this.path}: the block backend is closed`);
    if (write && this.readOnly) throw new BlockBackendError('EBADF', `${op} ${this.path}: the block backend was opened readOnly`);
  }

  readAt(offsetBytes: number, into: Uint8Array): number {
    this.check('read', false);
    return this.disk.read(offsetBytes, into, this.flipOnRead);
  }

  writeAt(offsetBytes: number, data: Uint8Array): void {
    this.check('write', true);
    this.disk.write(offsetBytes, data, false);
  }

  writeDurable(offsetBytes: number, data: Uint8Array): Promise<void> {
    try { this.check('write', true); } catch (e) { return Promise.reject(e); }
    const copy = Uint8Array.from(data);
    if (this.disk.faults.ackBeforeFlush) {
      // The bug: the previous write is flushed now, this one only with the
      // next, yet it is reported durable at once.
      this.disk.sync();
      this.disk.write(offsetBytes, copy, true);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.disk.write(offsetBytes, copy, false);
      this.disk.later(this.life, 'write', () => { this.disk.sync(); resolve(); }, reject);
    });
  }

  sync(): Promise<void> {
    try { this.check('sync', true); } catch (e) { return Promise.reject(e); }
    return new Promise((resolve, reject) => this.disk.later(this.life, 'sync', () => { this.disk.sync(); resolve(); }, reject));
  }

  preallocate(lengthBytes: number): Promise<void> {
    try { this.check('preallocate', true); } catch (e) { return Promise.reject(e); }
    return new Promise((resolve, reject) => this.disk.later(this.life, 'preallocate', () => {
      if (this.disk.size() < lengthBytes) this.disk.setLength(lengthBytes);
      resolve();
    }, reject));
  }

  truncate(lengthBytes: number): Promise<void> {
    try { this.check('truncate', true); } catch (e) { return Promise.reject(e); }
    return new Promise((resolve, reject) => this.disk.later(this.life, 'truncate', () => { this.disk.setLength(lengthBytes); resolve(); }, reject));
  }

  size(): number {
    this.check('size', false);
    return this.disk.size();
  }

  close(): void {
    this.closed = true;
  }
}
