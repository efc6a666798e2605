// host/payments/archive.ts: the originals archive, where the host finds a
// payments message's original bytes again by their SHA-256 (docs/payments.md
// "Messages in and out").
//
// The command log is the record: every admitted message's original bytes are
// in its entry, covered by the audit tree, and the payments service keeps
// their SHA-256 with the message. The log is not indexed for reads, so the
// gateway also appends each original here when it admits it, and GET
// /v1/payments/{id}/message reads it back by the digest the service holds;
// bytes that no longer hash to it are not served. An original admitted but
// never logged (refused later, or a crash before the log) is an extra record,
// never read. The file is written through the data directory's backend
// (sealed like the log when the directory is encrypted) and synced within
// SYNC_DELAY_MS of a write, so a power cut can lose the last originals here
// but never from the log: `qenex audit` proves them from there.
//
// Record (padded to 8 bytes): u32 magic "QXMA", u32 length, [32] SHA-256, the bytes.

import { createHash } from 'node:crypto';
import type { BlockBackend } from '../devices/block-backend.ts';

/** Its file in the data directory. */
export const ORIGINALS_FILE = 'payments-originals.qxa';
const MAGIC = 0x414d5851; // "QXMA"
const HEAD_BYTES = 40;
const SYNC_DELAY_MS = 100;
/** The largest original: a message the gateway takes (hal/limits.ts MESSAGE_BYTES_MAX bounds it well below). */
const ORIGINAL_BYTES_MAX = 16 << 20;

const pad8 = (n: number) => (n + 7) & ~7;

export class OriginalsArchive {
  private readonly index = new Map<string, { at: number; length: number }>();
  private end = 0;
  private syncTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> = Promise.resolve();

  /**
   * Opens the archive in `file` (opened by the caller): its records are
   * indexed; a torn last record (a crash while it was written) is cleared
   * (zeroed: the file keeps its size, the next record is written over it).
   */
  constructor(private readonly file: BlockBackend, notice: (line: string) => void = () => {}) {
    const size = file.size();
    const head = Buffer.alloc(HEAD_BYTES);
    let at = 0;
    let last: { at: number; length: number; digest: string } | null = null;
    while (at + HEAD_BYTES <= size) {
      if (file.readAt(at, head) !== HEAD_BYTES || head.readUInt32LE(0) !== MAGIC) break;
      const length = head.readUInt32LE(4);
      if (length > ORIGINAL_BYTES_MAX || at + HEAD_BYTES + length > size) break;
      last = { at, length, digest: head.toString('hex', 8, 40) };
      this.index.set(last.digest, { at, length });
      at += pad8(HEAD_BYTES + length);
    }
    // Only the last record can be torn by a crash (records are appended in order): its bytes must hash to its digest.
    if (last !== null && this.bytesAt(last.at, last.length, last.digest) === null) {
      this.index.delete(last.digest);
      at = last.at;
    }
    this.end = at;
    // What follows the last whole record is zeros (a tail zeroed before) or what a crash tore: zeroed now, written over later.
    const tail = Buffer.alloc(Math.min(size - at, HEAD_BYTES));
    if (at < size && file.readAt(at, tail) > 0 && tail.some((x) => x !== 0)) {
      notice(`${file.path}: ${size - at} bytes after the last whole record cleared (a write a crash interrupted)`);
      file.writeAt(at, Buffer.alloc(size - at));
    }
  }

  /** Records held. */
  get size(): number { return this.index.size; }

  /** Appends `bytes` under their SHA-256 (once: the same bytes again are already here); synced shortly. */
  put(bytes: Uint8Array, digest: Buffer = createHash('sha256').update(bytes).digest()): void {
    if (bytes.length > ORIGINAL_BYTES_MAX) throw new RangeError(`originals archive: ${bytes.length} bytes is more than a message holds`);
    const key = digest.toString('hex');
    if (this.index.has(key)) return;
    const record = Buffer.alloc(pad8(HEAD_BYTES + bytes.length));
    record.writeUInt32LE(MAGIC, 0);
    record.writeUInt32LE(bytes.length, 4);
    digest.copy(record, 8);
    record.set(bytes, HEAD_BYTES);
    this.file.writeAt(this.end, record);
    this.index.set(key, { at: this.end, length: bytes.length });
    this.end += record.length;
    this.syncTimer ??= setTimeout(() => {
      this.syncTimer = null;
      this.syncing = this.syncing.then(() => this.file.sync());
    }, SYNC_DELAY_MS).unref();
  }

  /** The original whose SHA-256 is `digest`, or null when it is not here (or no longer hashes to it). */
  get(digest: Uint8Array): Buffer | null {
    const key = Buffer.from(digest).toString('hex');
    const r = this.index.get(key);
    return r === undefined ? null : this.bytesAt(r.at, r.length, key);
  }

  private bytesAt(at: number, length: number, digestHex: string): Buffer | null {
    const bytes = Buffer.alloc(length);
    if (this.file.readAt(at + HEAD_BYTES, bytes) !== length) return null;
    return createHash('sha256').update(bytes).digest('hex') === digestHex ? bytes : null;
  }

  /** Releases the file at once, without a sync (a crash path: what was written may be lost). */
  abandon(): void {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    this.file.close();
  }

  /** Syncs what was written and releases the file. */
  async close(): Promise<void> {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    await this.syncing;
    await this.file.sync();
    this.file.close();
  }
}
