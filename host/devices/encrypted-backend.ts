// host/devices/encrypted-backend.ts: encryption at rest for the block device.
//
// A BlockBackend over another BlockBackend (native or pure) that keeps every
// byte of the logical file in authenticated AES-256-GCM records, so the
// command log and snapshots on disk are ciphertext. It has the plain
// backends' exact semantics (readAt/writeAt/writeDurable/sync/preallocate/
// truncate/size/close, the same argument checks and error codes), so the
// block device and the kernel never learn that it is there.
//
// Use: host/datakey.ts unwraps the data directory's data key through the HSM
// and hands out a DataCipher; `openBlockBackend(path, { ..., layer: cipher })`
// then returns an EncryptedBackend over the opened file.
//
// Physical layout (all integers little-endian):
//
//   0      file header, FILE_HEADER_BYTES (plain; not secret)
//          [0,8) magic "QXSEAL01"  [8,12) sector bytes  [12,16) zero
//          [16,32) file id (random per file)  [32,40) key check value
//          [40,64) zero
//   64     sector 0: slot 0 record, slot 1 record
//   64 + PAIR_BYTES * i   sector i: slot 0, slot 1
//
//   record (RECORD_BYTES = 4136):
//          [0,12) nonce  [12,20) version u64  [20,24) used bytes u32
//          [24,4120) ciphertext of the sector's 4096 plaintext bytes
//          [4120,4136) GCM tag
//
// - Logical sector i holds logical bytes [4096 i, 4096 (i + 1)). Its
//   plaintext beyond the logical end of file is always zero.
// - Every record write takes a fresh random 96-bit nonce, under a key of its
//   own sector: file key = HKDF-SHA256(data key, salt = file id, info =
//   KEY_INFO); sector key = HKDF-Expand(file key, SECTOR_KEY_INFO ‖ sector
//   u64) of one block, i.e. HMAC-SHA256(file key, info ‖ 0x01) (RFC 5869).
//   The random-nonce budget of NIST SP 800-38D (2^32 invocations per key)
//   then counts rewrites of one sector, which happen only while it is the
//   log's tail (a few hundred appends) and on truncate or preallocate,
//   instead of every commit the log will ever make.
// - AAD = file id ‖ sector u64 ‖ slot u32 ‖ version u64 ‖ used u32: a
//   record moved to another file, sector or slot, or with an edited version
//   or length, fails authentication.
// - Two slots per sector make a sector rewrite crash-safe. A write goes to
//   the slot that does NOT hold the newest valid version, with version + 1;
//   a read takes the newest slot that authenticates. The kernel appends by
//   read-modify-write of the last sector, which also holds acknowledged
//   entries: with one slot, a write torn by a crash would take those with
//   it; with two, a torn record fails authentication and the previous
//   version (without the torn batch) is read instead. The price is twice
//   the disk space of the plain file.
// - A sector with no record that authenticates (both slots empty: never
//   written; or damaged) reads as zeros. The kernel's recovery then sees a
//   torn tail at the end of the log and cuts it, or zeros in the middle with
//   valid entries after them and stops boot, exactly as with a plain file.
//   Every authentication failure is also reported once through `notice` and
//   kept in `damage()` (for `qenex audit verify`).
// - The logical size is that of the last sector holding a valid record:
//   4096 i + used. Writes that grow the file, preallocate and truncate
//   always write the new last sector, so the size is as crash-atomic as one
//   record. A torn growth falls back to the size before it.
// - Durability: writeDurable = record writes + fdatasync; truncate and
//   preallocate end with the inner backend's fsync. Encryption and the
//   record pwrites run on the calling (run loop) thread, synchronously, so
//   `data` is captured at the call; only the fdatasync runs off it.
// - Cost: a write within one sector (the log's small appends) seals and
//   writes that sector's one record. A longer write goes in runs of up to
//   READ_AHEAD_PAIRS sectors: the run's record pairs are read by one pread,
//   each sector is sealed in place there, and the run goes back by one
//   pwrite (the other slot of each pair with the bytes it already had, so
//   what a torn write falls back to is unchanged). AES-256-GCM and the
//   sector keys' HMAC are the addon's when it is built (host/devices/aead.ts),
//   node:crypto's otherwise; nonces come from the CSPRNG in draws of
//   NONCES_PER_DRAW.
// - Largest logical size: LOGICAL_BYTES_MAX (about 2^52 bytes: the records
//   must end below 2^53).

import assert from 'node:assert/strict';
import { createHmac, hkdfSync, randomBytes, randomFillSync } from 'node:crypto';
import { aeadFor, type Aead } from './aead.ts';
import {
  BlockBackendError, checkBytes, checkSpan, closedError, readOnlyError,
  type BackendLayer, type BlockBackend, type BlockOpenOptions,
} from './block-backend.ts';

// ---- layout constants ----

export const SEAL_MAGIC = 'QXSEAL01';
export const FILE_HEADER_BYTES = 64;
/** Logical bytes per record: one filesystem page, so a record write is one or two pages. */
export const SECTOR_BYTES = 4096;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const RECORD_HEAD_BYTES = NONCE_BYTES + 8 + 4;
export const RECORD_BYTES = RECORD_HEAD_BYTES + SECTOR_BYTES + TAG_BYTES;
export const PAIR_BYTES = 2 * RECORD_BYTES;
const FILE_ID_BYTES = 16;
export const KCV_BYTES = 8;
export const DATA_KEY_BYTES = 32;
const KEY_INFO = 'qenex aes-256-gcm file key v1';
const SECTOR_KEY_INFO = 'qenex aes-256-gcm sector key v1';
const KCV_INFO = 'qenex data key check value v1';
// Recently used sectors kept decrypted by a writer (it holds the file's lock,
// so nobody else changes them). Appends touch one or two sectors per commit.
const CACHE_SECTORS_MAX = 32;
// Record pairs fetched by one pread when a call spans many sectors (~530 KiB).
const READ_AHEAD_PAIRS = 64;
/** The largest logical size: its records must end at a file offset below 2^53. */
export const LOGICAL_BYTES_MAX = Math.floor((Number.MAX_SAFE_INTEGER - FILE_HEADER_BYTES) / PAIR_BYTES) * SECTOR_BYTES;

const ZERO_RECORD = Buffer.alloc(RECORD_BYTES);
// Nonces are drawn from the CSPRNG this many at a time (one call instead of
// one per record); each record still takes 96 fresh random bits.
const NONCES_PER_DRAW = 1024;

/** The key check value of a data key: 8 bytes of HMAC-SHA256(key, KCV_INFO). */
export function keyCheckValue(dataKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', dataKey).update(KCV_INFO).digest().subarray(0, KCV_BYTES));
}

/** The unwrapped data key of a data directory; a BackendLayer for openBlockBackend. */
export class DataCipher implements BackendLayer {
  readonly kcv: Uint8Array;
  private readonly key: Uint8Array;

  /** `aead`: AES-GCM and HMAC, native when the addon has them (host/devices/aead.ts). */
  constructor(dataKey: Uint8Array, readonly description = 'aes-256-gcm', readonly aead: Aead = aeadFor('auto')) {
    assert.equal(dataKey.byteLength, DATA_KEY_BYTES, 'a data key is 32 bytes');
    this.key = Uint8Array.from(dataKey);
    this.kcv = keyCheckValue(this.key);
  }

  fileKey(fileId: Uint8Array): Buffer {
    assert.equal(fileId.byteLength, FILE_ID_BYTES);
    return Buffer.from(hkdfSync('sha256', this.key, fileId, KEY_INFO, DATA_KEY_BYTES));
  }

  wrap(inner: BlockBackend, opts: BlockOpenOptions): BlockBackend {
    return EncryptedBackend.open(inner, this, opts);
  }
}

/** A sector whose records failed authentication. */
export interface SectorDamage {
  sector: number;
  /** Logical bytes the sector covers. */
  offsetBytes: number;
  /**
   * 'previous': the newest record failed, an older version was read;
   * 'zeros': none authenticated; 'stale': only the older, unused record
   * failed (found by scrub(); harmless to reads, but the file was changed).
   */
  readAs: 'previous' | 'zeros' | 'stale';
}

interface SectorState {
  plain: Uint8Array; // SECTOR_BYTES
  key: Buffer | null; // this sector's AES-256 key; derived when first needed (most sectors past the tail are empty)
  version: bigint; // of the newest valid record; 0n: none
  slot: number; // slot holding it; -1: none
  used: number; // its used bytes; 0 when none
  seen: bigint; // the highest version in either slot's header, valid or not
}

export class EncryptedBackend implements BlockBackend {
  readonly kind: 'native' | 'pure';
  readonly path: string;
  private readonly fileId: Uint8Array;
  private readonly key: Buffer;
  private sizeBytes: number;
  private closed = false;
  private readonly cache = new Map<number, SectorState>();
  private readonly damaged = new Map<number, SectorDamage>();
  private scrubbing = false;
  // Record pairs read in one pread for the sectors a call is about to touch.
  private ahead: { first: number; count: number; bytes: Uint8Array } | null = null;
  private readonly aead: Aead;
  private readonly nonces = Buffer.alloc(NONCES_PER_DRAW * NONCE_BYTES);
  private noncesUsed = NONCES_PER_DRAW;
  // While a multi-sector write seals a run of sectors into `ahead`, the
  // records are written by one pwrite of the run's pairs, not one each.
  private batching = false;

  private constructor(
    private readonly inner: BlockBackend,
    header: Uint8Array,
    cipher: DataCipher,
    private readonly readOnly: boolean,
    private readonly notice: (line: string) => void,
  ) {
    this.kind = inner.kind;
    this.path = inner.path;
    this.fileId = header.slice(16, 32);
    this.key = cipher.fileKey(this.fileId);
    this.aead = cipher.aead;
    this.sizeBytes = 0;
    this.sizeBytes = this.findSize();
  }

  /** Opens (or, on an empty writable file, initialises) the encrypted file over `inner`. */
  static open(inner: BlockBackend, cipher: DataCipher, opts: BlockOpenOptions): EncryptedBackend {
    const notice = opts.notice ?? ((line: string) => process.stderr.write(`${line}\n`));
    const header = readHeader(inner, cipher, opts.readOnly);
    return new EncryptedBackend(inner, header, cipher, opts.readOnly, notice);
  }

  readAt(offsetBytes: number, into: Uint8Array): number {
    checkSpan('readAt', this.path, offsetBytes, into);
    this.live('readAt');
    const endBytes = Math.min(this.sizeBytes, offsetBytes + into.byteLength);
    this.ahead = null;
    let at = offsetBytes;
    while (at < endBytes) {
      const sector = Math.floor(at / SECTOR_BYTES);
      const within = at - sector * SECTOR_BYTES;
      const count = Math.min(SECTOR_BYTES - within, endBytes - at);
      into.set(this.sector(sector, endBytes).plain.subarray(within, within + count), at - offsetBytes);
      at += count;
    }
    const readBytes = Math.max(0, endBytes - offsetBytes);
    assert(readBytes <= into.byteLength, 'encrypted readAt overran its buffer');
    return readBytes;
  }

  writeAt(offsetBytes: number, data: Uint8Array): void {
    checkSpan('writeAt', this.path, offsetBytes, data);
    this.writable('writeAt');
    this.checkEnd('writeAt', offsetBytes + data.byteLength);
    this.writeLogical(offsetBytes, data);
  }

  async writeDurable(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkSpan('writeDurable', this.path, offsetBytes, data);
    this.writable('writeDurable');
    this.checkEnd('writeDurable', offsetBytes + data.byteLength);
    // Encrypted and handed to the file now, so `data` is captured at the call.
    this.writeLogical(offsetBytes, data);
    await this.inner.sync();
  }

  async sync(): Promise<void> {
    this.live('sync');
    await this.inner.sync();
  }

  async preallocate(lengthBytes: number): Promise<void> {
    checkBytes('preallocate', this.path, 'lengthBytes', lengthBytes);
    this.writable('preallocate');
    this.checkEnd('preallocate', lengthBytes);
    if (lengthBytes > this.sizeBytes) this.setSize(lengthBytes);
    // Reserves blocks for every record pair up to the end (native: fallocate), then fsync.
    await this.inner.preallocate(physicalEnd(this.sizeBytes));
    assert(this.sizeBytes >= lengthBytes, 'preallocate left the file short');
  }

  async truncate(lengthBytes: number): Promise<void> {
    checkBytes('truncate', this.path, 'lengthBytes', lengthBytes);
    this.writable('truncate');
    this.checkEnd('truncate', lengthBytes);
    this.setSize(lengthBytes);
    // The new last sector is written first: a crash before the cut leaves
    // the old size (its later sectors still valid), never a short file.
    await this.inner.truncate(physicalEnd(lengthBytes));
    for (const sector of this.cache.keys()) if (sector * SECTOR_BYTES >= lengthBytes) this.cache.delete(sector);
    this.ahead = null;
    assert.equal(this.sizeBytes, lengthBytes, 'truncate left another size');
  }

  size(): number {
    this.live('size');
    return this.sizeBytes;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    this.inner.close();
  }

  /** Sectors found damaged so far (authentication failures), in sector order. */
  damage(): SectorDamage[] {
    return [...this.damaged.values()].sort((a, b) => a.sector - b.sector);
  }

  /** Reads every sector once, so damage() covers the whole file (`qenex audit verify`). */
  scrub(): SectorDamage[] {
    this.live('scrub');
    const pairs = Math.ceil(Math.max(0, this.inner.size() - FILE_HEADER_BYTES) / PAIR_BYTES);
    this.scrubbing = true;
    this.ahead = null;
    try {
      for (let sector = 0; sector < pairs; sector++) this.readSector(sector, pairs * SECTOR_BYTES);
    } finally {
      this.scrubbing = false;
      this.ahead = null;
    }
    return this.damage();
  }

  // ---- logical operations ----

  private writeLogical(offsetBytes: number, data: Uint8Array): void {
    if (data.byteLength === 0) return; // as pwrite: an empty write does not grow the file
    const endBytes = offsetBytes + data.byteLength;
    const newSize = Math.max(this.sizeBytes, endBytes);
    this.ahead = null;
    const first = Math.floor(offsetBytes / SECTOR_BYTES);
    const last = Math.floor((endBytes - 1) / SECTOR_BYTES);
    // A write within one sector (the log's small appends) writes its one
    // record; a longer one goes in runs of READ_AHEAD_PAIRS sectors, each
    // read as one span of pairs, sealed into it and written back by one
    // pwrite. The other slot of each pair is written back with the bytes it
    // has on disk, so it keeps what a torn write would fall back to.
    for (let run = first; run <= last; run += READ_AHEAD_PAIRS) {
      const runLast = Math.min(last, run + READ_AHEAD_PAIRS - 1);
      this.batching = runLast > run;
      if (this.batching) this.pairOf(run, (runLast + 1) * SECTOR_BYTES);
      for (let sector = run; sector <= runLast; sector++) {
        const at = Math.max(offsetBytes, sector * SECTOR_BYTES);
        const within = at - sector * SECTOR_BYTES;
        const count = Math.min(SECTOR_BYTES - within, endBytes - at);
        const plain = Uint8Array.from(this.sector(sector, endBytes).plain);
        plain.set(data.subarray(at - offsetBytes, at - offsetBytes + count), within);
        this.writeSector(sector, plain, Math.min(SECTOR_BYTES, newSize - sector * SECTOR_BYTES));
      }
      if (this.batching) {
        const a = this.ahead!;
        this.batching = false;
        assert(a.first === run && a.count === runLast - run + 1, 'a run of sectors is one read-ahead span');
        try {
          this.inner.writeAt(FILE_HEADER_BYTES + run * PAIR_BYTES, a.bytes);
        } catch (err) {
          // The run's records are in memory only: forget them, so the next
          // read or write of these sectors takes them from the file again.
          this.ahead = null;
          for (let sector = run; sector <= runLast; sector++) this.cache.delete(sector);
          throw err;
        }
      }
    }
    this.sizeBytes = newSize;
  }

  // Grows or shrinks to exactly `lengthBytes` by writing its new last
  // sector: the size lives in that record. Bytes past the end become zero.
  private setSize(lengthBytes: number): void {
    this.ahead = null;
    if (lengthBytes === 0) {
      this.sizeBytes = 0;
      return;
    }
    const last = Math.floor((lengthBytes - 1) / SECTOR_BYTES);
    const used = lengthBytes - last * SECTOR_BYTES;
    const plain = Uint8Array.from(this.sector(last).plain);
    if (lengthBytes < this.sizeBytes) plain.fill(0, used);
    this.writeSector(last, plain, used);
    this.sizeBytes = lengthBytes;
  }

  // ---- sectors ----

  // `untilBytes`: where the caller's span ends, so that one read fetches
  // the record pairs of the sectors it will ask for next.
  private sector(sector: number, untilBytes = 0): SectorState {
    const cached = this.cache.get(sector);
    if (cached !== undefined) return cached;
    const state = this.readSector(sector, untilBytes);
    this.remember(sector, state);
    return state;
  }

  private remember(sector: number, state: SectorState): void {
    if (this.readOnly) return; // another process may write the file; read it fresh each time
    this.cache.delete(sector);
    this.cache.set(sector, state);
    if (this.cache.size > CACHE_SECTORS_MAX) this.cache.delete(this.cache.keys().next().value!);
  }

  private pairOf(sector: number, untilBytes: number): Uint8Array {
    const a = this.ahead;
    if (a === null || sector < a.first || sector >= a.first + a.count) {
      const lastWanted = Math.max(sector, Math.ceil(untilBytes / SECTOR_BYTES) - 1);
      const count = Math.min(READ_AHEAD_PAIRS, lastWanted - sector + 1);
      const bytes = new Uint8Array(count * PAIR_BYTES);
      this.inner.readAt(FILE_HEADER_BYTES + sector * PAIR_BYTES, bytes); // a short read leaves zeros: absent or torn records
      this.ahead = { first: sector, count, bytes };
    }
    const from = (sector - this.ahead!.first) * PAIR_BYTES;
    return this.ahead!.bytes.subarray(from, from + PAIR_BYTES);
  }

  private readSector(sector: number, untilBytes: number): SectorState {
    const pair = this.pairOf(sector, untilBytes);
    const candidates: { slot: number; version: bigint; record: Uint8Array }[] = [];
    for (let slot = 0; slot < 2; slot++) {
      const record = pair.subarray(slot * RECORD_BYTES, (slot + 1) * RECORD_BYTES);
      if (Buffer.from(record.buffer, record.byteOffset, record.byteLength).equals(ZERO_RECORD)) continue;
      candidates.push({ slot, version: readU64(record, NONCE_BYTES), record });
    }
    candidates.sort((a, b) => (a.version > b.version ? -1 : a.version < b.version ? 1 : a.slot - b.slot));
    if (candidates.length === 0) return { plain: new Uint8Array(SECTOR_BYTES), key: null, version: 0n, slot: -1, used: 0, seen: 0n };
    const key = this.sectorKey(sector);
    const seen = candidates[0].version;
    for (let i = 0; i < candidates.length; i++) {
      const { slot, version, record } = candidates[i];
      const plain = this.open(sector, key, slot, record);
      if (plain === null) continue;
      if (i > 0) this.report(sector, 'previous');
      else if (this.scrubbing && candidates.length > 1 && this.open(sector, key, candidates[1].slot, candidates[1].record) === null) {
        this.report(sector, 'stale');
      }
      return { plain, key, version, slot, used: readU32(record, NONCE_BYTES + 8), seen };
    }
    this.report(sector, 'zeros');
    return { plain: new Uint8Array(SECTOR_BYTES), key, version: 0n, slot: -1, used: 0, seen };
  }

  private writeSector(sector: number, plain: Uint8Array, used: number): void {
    assert(used >= 1 && used <= SECTOR_BYTES, 'a written sector holds 1..SECTOR_BYTES bytes');
    const previous = this.sector(sector);
    // Never overwrite the newest valid version: it is what a torn write falls back to.
    // Above every version either slot claims, so a damaged record never outranks it.
    const slot = previous.slot === 0 ? 1 : 0;
    const version = (previous.seen > previous.version ? previous.seen : previous.version) + 1n;
    // Sealed in place: into the read-ahead span when the sector is in it
    // (a batched run's pwrite takes it from there), else into a record of its own.
    const a = this.ahead; // kept equal to the file (or, batching, to what it will be)
    const inAhead = a !== null && sector >= a.first && sector < a.first + a.count;
    assert(inAhead || !this.batching, 'a batched sector lies in the span being written');
    const at = inAhead ? (sector - a!.first) * PAIR_BYTES + slot * RECORD_BYTES : 0;
    const record = inAhead ? a!.bytes.subarray(at, at + RECORD_BYTES) : new Uint8Array(RECORD_BYTES);
    const nonce = this.nonce();
    record.set(nonce, 0);
    writeU64(record, NONCE_BYTES, version);
    writeU32(record, NONCE_BYTES + 8, used);
    const key = previous.key ?? this.sectorKey(sector);
    this.aead.seal(key, nonce, this.aad(sector, slot, version, used), plain, record.subarray(RECORD_HEAD_BYTES));
    if (!this.batching) {
      try {
        this.inner.writeAt(FILE_HEADER_BYTES + sector * PAIR_BYTES + slot * RECORD_BYTES, record);
      } catch (err) {
        this.ahead = null; // it holds the record the file did not take
        throw err;
      }
    }
    this.remember(sector, { plain, key, version, slot, used, seen: version });
  }

  /** 96 fresh random bits for one record. */
  private nonce(): Buffer {
    if (this.noncesUsed === NONCES_PER_DRAW) {
      randomFillSync(this.nonces);
      this.noncesUsed = 0;
    }
    const at = this.noncesUsed++ * NONCE_BYTES;
    return this.nonces.subarray(at, at + NONCE_BYTES);
  }

  // HKDF-Expand for one 32-byte block is a single HMAC, a sixth of what
  // hkdfSync costs here; the file key is already a pseudorandom key.
  private sectorKey(sector: number): Buffer {
    const info = new Uint8Array(SECTOR_KEY_INFO.length + 8 + 1);
    info.set(Buffer.from(SECTOR_KEY_INFO, 'ascii'), 0);
    writeU64(info, SECTOR_KEY_INFO.length, BigInt(sector));
    info[info.length - 1] = 1;
    const key = Buffer.alloc(32);
    this.aead.hmac(this.key, info, key);
    return key;
  }

  private open(sector: number, key: Buffer, slot: number, record: Uint8Array): Uint8Array | null {
    const version = readU64(record, NONCE_BYTES);
    const used = readU32(record, NONCE_BYTES + 8);
    if (used < 1 || used > SECTOR_BYTES) return null;
    const plain = new Uint8Array(SECTOR_BYTES);
    const ok = this.aead.open(key, record.subarray(0, NONCE_BYTES), this.aad(sector, slot, version, used), record.subarray(RECORD_HEAD_BYTES), plain);
    return ok ? plain : null;
  }

  private aad(sector: number, slot: number, version: bigint, used: number): Uint8Array {
    const aad = new Uint8Array(FILE_ID_BYTES + 8 + 4 + 8 + 4);
    aad.set(this.fileId, 0);
    writeU64(aad, 16, BigInt(sector));
    writeU32(aad, 24, slot);
    writeU64(aad, 28, version);
    writeU32(aad, 36, used);
    return aad;
  }

  private report(sector: number, readAs: SectorDamage['readAs']): void {
    if (this.damaged.get(sector)?.readAs === readAs) return;
    const offsetBytes = sector * SECTOR_BYTES;
    this.damaged.set(sector, { sector, offsetBytes, readAs });
    const what = readAs === 'stale' ? 'its older record' : 'its newest record';
    const how = readAs === 'previous' ? 'reading its previous version' : readAs === 'zeros' ? 'reading it as zeros' : 'not used by reads';
    this.notice(`qenex: ${this.path}: encrypted sector ${sector} (logical bytes ${offsetBytes}..${offsetBytes + SECTOR_BYTES}): ` +
      `${what} failed authentication (torn by a crash, or damaged); ${how}`);
  }

  // The size is that of the last sector with a valid record. Normally the
  // last pair answers; a torn growth makes the scan step back past it.
  private findSize(): number {
    const pairs = Math.ceil(Math.max(0, this.inner.size() - FILE_HEADER_BYTES) / PAIR_BYTES);
    for (let sector = pairs - 1; sector >= 0; sector--) {
      const state = this.sector(sector);
      if (state.slot >= 0) return sector * SECTOR_BYTES + state.used;
    }
    return 0;
  }

  // The records take about twice the logical bytes, and file offsets must
  // stay exact integers (2^53 - 1), so the logical end is bounded at half that.
  private checkEnd(op: string, endBytes: number): void {
    if (physicalEnd(endBytes) > Number.MAX_SAFE_INTEGER) {
      throw new BlockBackendError('ERR_INVALID_ARG_VALUE', `${op} ${this.path}: an encrypted file ends below ${LOGICAL_BYTES_MAX} bytes, asked for ${endBytes}`);
    }
  }

  private live(op: string): void {
    if (this.closed) throw closedError(op, this.path);
  }

  private writable(op: string): void {
    this.live(op);
    if (this.readOnly) throw readOnlyError(op, this.path);
  }
}

/** Where the record pairs of a logical size end in the file. */
function physicalEnd(lengthBytes: number): number {
  return FILE_HEADER_BYTES + Math.ceil(lengthBytes / SECTOR_BYTES) * PAIR_BYTES;
}

// Reads the header, or writes one on a file that has none yet (a file
// shorter than the header holds no record: nothing was durable after it).
function readHeader(inner: BlockBackend, cipher: DataCipher, readOnly: boolean): Uint8Array {
  const header = new Uint8Array(FILE_HEADER_BYTES);
  const got = inner.readAt(0, header);
  if (got < FILE_HEADER_BYTES && header.every((b) => b === 0)) {
    if (readOnly) {
      // An empty file reads as an empty log; its records (none) need no key.
      header.set(Buffer.from(SEAL_MAGIC, 'ascii'), 0);
      writeU32(header, 8, SECTOR_BYTES);
      header.set(cipher.kcv, 32);
      return header;
    }
    return writeHeader(inner, cipher);
  }
  const magic = Buffer.from(header.subarray(0, 8)).toString('latin1');
  if (got < FILE_HEADER_BYTES || magic !== SEAL_MAGIC) {
    throw new BlockBackendError('ENOTSEALED', `open ${inner.path}: not an encrypted QENEX file (no ${SEAL_MAGIC} header): ` +
      'it was written without encryption at rest, or its header is damaged');
  }
  const sectorBytes = readU32(header, 8);
  if (sectorBytes !== SECTOR_BYTES) {
    throw new BlockBackendError('ENOTSEALED', `open ${inner.path}: encrypted with ${sectorBytes}-byte sectors; this host reads ${SECTOR_BYTES}`);
  }
  const kcv = header.subarray(32, 40);
  if (!Buffer.from(kcv).equals(Buffer.from(cipher.kcv))) {
    throw new BlockBackendError('EKEYMISMATCH', `open ${inner.path}: encrypted under another data key ` +
      `(file key check ${Buffer.from(kcv).toString('hex')}, data key ${Buffer.from(cipher.kcv).toString('hex')})`);
  }
  return header;
}

function writeHeader(inner: BlockBackend, cipher: DataCipher): Uint8Array {
  const header = new Uint8Array(FILE_HEADER_BYTES);
  header.set(Buffer.from(SEAL_MAGIC, 'ascii'), 0);
  writeU32(header, 8, SECTOR_BYTES);
  header.set(randomBytes(FILE_ID_BYTES), 16);
  header.set(cipher.kcv, 32);
  // Durable with the first sync; until then no record after it is either.
  inner.writeAt(0, header);
  return header;
}

/** Whether a file starts with the encrypted-file header (what `qenex boot` checks on an unencrypted data dir). */
export function looksSealed(firstBytes: Uint8Array): boolean {
  return firstBytes.byteLength >= 8 && Buffer.from(firstBytes.subarray(0, 8)).toString('latin1') === SEAL_MAGIC;
}

function readU32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v, true);
}

function readU64(b: Uint8Array, at: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);
}

function writeU64(b: Uint8Array, at: number, v: bigint): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setBigUint64(at, v, true);
}
