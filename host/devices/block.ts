// host/devices/block.ts: the block device. Consumes the kernel's block SQ in
// order, one request at a time, against a BlockBackend (native addon or pure
// TypeScript), and posts each completion with the request's tag. Reads are
// synchronous (recovery only); writes with DESC_F_FLUSH, truncation and
// preallocation run off the JavaScript thread and complete later.

import * as abi from '../../hal/abi.ts';
import type { Kernel } from '../base/kernel.ts';
import type { HostRing, Desc } from '../base/ring.ts';
import type { BlockBackend } from './block-backend.ts';

/**
 * The command log in a cluster (host/cluster/node.ts). A follower's kernel
 * reads the log while the node appends the batches the leader replicated:
 * a read sees only the bytes below `readLimit()` (whole batches), and a read
 * at that limit waits in `more()` until the next batch is appended or the
 * node is to lead (readLimit() null: the log then ends where its bytes end).
 * A leader's batch is appended to the cluster's stream while it is written
 * here, and the write completes when both hold it.
 */
export interface LogReplication {
  readLimit(): number | null;
  more(): Promise<void>;
  /** Appends to the stream and runs `writeLocal` (write and fdatasync here); resolves when both are done. */
  append(offsetBytes: number, data: Uint8Array, writeLocal: () => Promise<void>): Promise<void>;
}

export class BlockDevice {
  private readonly sq: HostRing;
  private readonly cq: HostRing;
  private busy = false;
  private readonly done: Desc[] = []; // completions waiting for CQ room
  flushes = 0;
  bytesWritten = 0;
  lastFlushMs = 0;

  // snapshot: OP_BLK_SNAPSHOT (host/snapshot.ts). Called while the descriptor
  // is consumed (it captures state then); the write runs alongside the log's
  // requests and completes with the same tag. Absent: completes with an error.
  constructor(private readonly kernel: Kernel, private readonly backend: BlockBackend, private readonly wake: () => void,
    private readonly onError: (message: string) => void, private readonly snapshot?: (d: Desc) => Promise<void>,
    private readonly replication?: LogReplication) {
    this.sq = kernel.ring(abi.DEV_BLOCK, 'sq');
    this.cq = kernel.ring(abi.DEV_BLOCK, 'cq');
  }

  /** Takes requests off the SQ; returns true when a completion was posted now. */
  service(): boolean {
    let posted = this.flushCompletions();
    while (!this.busy) {
      const d = this.sq.peek();
      if (d === null) break;
      this.sq.pop();
      if (d.op === abi.OP_BLK_SNAPSHOT) {
        this.startSnapshot(d);
      } else if (d.op === abi.OP_BLK_READ) {
        if (this.replicatedReadWaits(d)) break;
        this.complete(d, this.read(d));
        posted = true;
      } else {
        this.busy = true;
        this.startAsync(d);
      }
    }
    return this.flushCompletions() || posted;
  }

  idle(): boolean {
    return !this.busy && this.done.length === 0;
  }

  // A follower's read at the end of what was replicated waits for more; the
  // device is busy meanwhile, and the read is taken again when it is over.
  private replicatedReadWaits(d: Desc): boolean {
    const limit = this.replication?.readLimit() ?? null;
    if (limit === null || d.arg < limit) return false;
    this.busy = true;
    this.replication!.more().then(
      () => { this.busy = false; this.complete(d, this.read(d)); this.wake(); },
      (e) => this.finish(d, this.failure('read', e)),
    );
    return true;
  }

  private read(d: Desc): { status: number; len: number } {
    const limit = this.replication?.readLimit() ?? null;
    const len = limit === null ? d.len : Math.max(0, Math.min(d.len, limit - d.arg));
    if (len === 0 && limit !== null) return { status: abi.STATUS_OK, len: 0 };
    try {
      const n = this.backend.readAt(d.arg, this.kernel.mem.slice(d.addr, len));
      return { status: abi.STATUS_OK, len: n };
    } catch (e) {
      return this.failure('read', e);
    }
  }

  private startAsync(d: Desc): void {
    const started = performance.now();
    let work: Promise<void>;
    if (d.op === abi.OP_BLK_WRITE) {
      const data = this.kernel.mem.slice(d.addr, d.len);
      const replication = this.replication;
      if ((d.flags & abi.DESC_F_FLUSH) !== 0) {
        // The replicated batch is copied: the stream's client holds it while this write goes on.
        const batch = replication === undefined ? data : Uint8Array.from(data);
        work = replication === undefined ? this.backend.writeDurable(d.arg, data)
          : replication.append(d.arg, batch, () => this.backend.writeDurable(d.arg, batch));
      }
      else work = Promise.resolve().then(() => this.backend.writeAt(d.arg, data));
    } else if (d.op === abi.OP_BLK_TRUNCATE) work = this.backend.truncate(d.arg);
    else if (d.op === abi.OP_BLK_PREALLOCATE) work = this.backend.preallocate(d.arg);
    else work = Promise.reject(new Error(`unknown block op ${d.op}`));
    work.then(
      () => {
        if (d.op === abi.OP_BLK_WRITE) {
          this.flushes++;
          this.bytesWritten += d.len;
          this.lastFlushMs = performance.now() - started;
        }
        this.finish(d, { status: abi.STATUS_OK, len: d.len });
      },
      (e) => this.finish(d, this.failure(opName(d.op), e)),
    );
  }

  private startSnapshot(d: Desc): void {
    let work: Promise<void>;
    try {
      work = this.snapshot === undefined ? Promise.reject(new Error('this machine keeps no snapshots')) : this.snapshot(d);
    } catch (e) {
      work = Promise.reject(e);
    }
    work.then(
      () => { this.complete(d, { status: abi.STATUS_OK, len: 0 }); this.wake(); },
      (e) => { this.complete(d, this.failure('snapshot', e)); this.wake(); },
    );
  }

  private finish(d: Desc, r: { status: number; len: number }): void {
    this.busy = false;
    this.complete(d, r);
    this.wake();
  }

  private failure(op: string, e: unknown): { status: number; len: number } {
    const err = e as { code?: string; message?: string };
    this.onError(`block ${op} failed: ${err.message ?? String(e)}`);
    return { status: err.code === 'ENOSPC' ? abi.STATUS_E_NOSPACE : abi.STATUS_E_IO, len: 0 };
  }

  private complete(d: Desc, r: { status: number; len: number }): void {
    this.done.push({ ...d, status: r.status, len: r.len });
    this.flushCompletions();
  }

  private flushCompletions(): boolean {
    let posted = false;
    while (this.done.length > 0 && this.cq.push(this.done[0])) {
      this.done.shift();
      posted = true;
    }
    return posted;
  }
}

function opName(op: number): string {
  switch (op) {
    case abi.OP_BLK_WRITE: return 'write';
    case abi.OP_BLK_TRUNCATE: return 'truncate';
    case abi.OP_BLK_PREALLOCATE: return 'preallocate';
    default: return `op ${op}`;
  }
}
