// host/base/bytes.ts: received bytes waiting to be parsed, kept so that the work
// of keeping them is linear in the bytes however they arrive.
//
// A client that sends a request a byte at a time makes the host append
// every byte to what it holds. Concatenating the held bytes with each new
// chunk copies them all each time: quadratic (a 16 KiB head sent bytewise
// was 134 MB of copying; a 1 MiB frame, 2^39 bytes). Here the bytes go into
// a store that doubles when full, so each byte is copied O(1) times on
// average, and `ByteQueue.copied` counts the copies for the linear-work
// property (test/fuzz/linear.test.ts).
//
// Views handed out by `bytes()` stay valid and unchanged: the store is only
// ever written past what was appended, and a full store is replaced, never
// reused, so a body chunk kept as a view of it is never overwritten.

/** Bytes copied by every queue, for the linear-work property. */
export const byteWork = { copied: 0 };

const EMPTY = Buffer.alloc(0);

export class ByteQueue {
  private store: Buffer = EMPTY;
  /** The store is ours (allocated here): bytes past `end` may be written. Else it is a caller's chunk. */
  private owned = false;
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  /** The held bytes, as a view. */
  bytes(): Buffer {
    return this.store.subarray(this.start, this.end);
  }

  /** Appends `chunk`. When nothing is held the chunk itself becomes the store (no copy). */
  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.length === 0) {
      this.store = chunk;
      this.owned = false;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    if (!this.owned || this.store.length - this.end < chunk.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * (this.length + chunk.length), 4096));
      this.store.copy(grown, 0, this.start, this.end);
      byteWork.copied += this.length;
      this.end = this.length;
      this.start = 0;
      this.store = grown;
      this.owned = true;
    }
    chunk.copy(this.store, this.end);
    byteWork.copied += chunk.length;
    this.end += chunk.length;
  }

  /** Drops the first `n` held bytes. */
  consume(n: number): void {
    if (n < 0 || n > this.length) throw new RangeError(`ByteQueue: consume ${n} of ${this.length}`);
    this.start += n;
    if (this.start === this.end) this.clear();
  }

  /** Drops everything held. */
  clear(): void {
    this.store = EMPTY;
    this.owned = false;
    this.start = 0;
    this.end = 0;
  }
}
