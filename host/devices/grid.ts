// host/devices/grid.ts: the grid device (hal/devices/grid.ts). Each service
// holding "storage" has a grid of GRID_BLOCK_BYTES blocks in its own file
// (grid-<service>.qxg beside the command log, through the same BlockBackend,
// so encryption at rest and the simulator's faulty disks apply to it too).
//
// The kernel's requests are taken off the SQ at once and kept in one queue
// per grid, performed strictly in order: reads and writes at once on the
// JavaScript thread (positional I/O on the page cache), a sync off it; what
// follows a sync waits for it, so a sync is a barrier. Every request is
// completed with its tag. The device moves bytes and never looks inside a
// block: the service's storage engine checks them (lib/store).

import * as abi from '../../hal/abi.ts';
import type { Kernel } from '../base/kernel.ts';
import type { HostRing, Desc } from '../base/ring.ts';
import type { BlockBackend } from './block-backend.ts';

/** The file a grid lives in, in the data directory. */
export function gridFileName(service: string): string {
  return `grid-${service}.qxg`;
}

/** True when the kernel set up the grid rings (some service holds "storage"). */
export function gridRingPresent(kernel: Kernel): boolean {
  return kernel.hasRings(abi.DEV_GRID);
}

interface Grid {
  backend: BlockBackend;
  queue: Desc[];
  syncing: boolean;
}

export interface GridStats { reads: number; writes: number; syncs: number; bytesRead: number; bytesWritten: number }

export class GridDevice {
  private readonly sq: HostRing;
  private readonly cq: HostRing;
  private readonly grids = new Map<number, Grid>();
  private readonly done: Desc[] = []; // completions waiting for CQ room
  readonly stats: GridStats = { reads: 0, writes: 0, syncs: 0, bytesRead: 0, bytesWritten: 0 };

  /**
   * `open(service)`: the backend of that service's grid, opened (and for a
   * fresh grid, emptied) by the machine on its first request.
   */
  constructor(private readonly kernel: Kernel, private readonly open: (service: number) => BlockBackend,
    private readonly wake: () => void, private readonly onError: (message: string) => void) {
    this.sq = kernel.ring(abi.DEV_GRID, 'sq');
    this.cq = kernel.ring(abi.DEV_GRID, 'cq');
  }

  /** Takes every request off the SQ and performs what it can; true when a completion was posted. */
  service(): boolean {
    let posted = this.flushCompletions();
    for (let d = this.sq.peek(); d !== null; d = this.sq.peek()) {
      this.sq.pop();
      const service = d.tag >>> abi.GRID_TAG_SERVICE_SHIFT;
      let grid = this.grids.get(service);
      if (grid === undefined) {
        grid = { backend: this.open(service), queue: [], syncing: false };
        this.grids.set(service, grid);
      }
      grid.queue.push(d);
    }
    for (const grid of this.grids.values()) this.run(grid);
    return this.flushCompletions() || posted;
  }

  idle(): boolean {
    for (const g of this.grids.values()) if (g.syncing || g.queue.length > 0) return false;
    return this.done.length === 0;
  }

  /** Makes every grid durable (a machine snapshot or shutdown waits for it). */
  async syncAll(): Promise<void> {
    await Promise.all([...this.grids.values()].map((g) => g.backend.sync()));
  }

  close(): void {
    for (const g of this.grids.values()) g.backend.close();
    this.grids.clear();
  }

  private run(grid: Grid): void {
    while (!grid.syncing && grid.queue.length > 0) {
      const d = grid.queue.shift()!;
      if (d.op === abi.OP_GRID_SYNC) {
        grid.syncing = true;
        grid.backend.sync().then(
          () => { this.stats.syncs++; this.finishSync(grid, d, abi.STATUS_OK); },
          (e) => this.finishSync(grid, d, this.failure('sync', grid, e)),
        );
        return;
      }
      this.complete(d, d.op === abi.OP_GRID_READ ? this.read(grid, d) : d.op === abi.OP_GRID_WRITE ? this.write(grid, d)
        : this.failure(`op ${d.op}`, grid, new Error('unknown grid operation')));
    }
  }

  private finishSync(grid: Grid, d: Desc, status: number): void {
    grid.syncing = false;
    this.complete(d, status);
    this.run(grid);
    this.flushCompletions();
    this.wake();
  }

  private offset(d: Desc): number | null {
    if (d.len !== abi.GRID_BLOCK_BYTES || d.arg > abi.GRID_ADDRESS_MAX) return null;
    return d.arg * abi.GRID_BLOCK_BYTES;
  }

  private read(grid: Grid, d: Desc): number {
    const at = this.offset(d);
    if (at === null) return abi.GRID_E_RANGE;
    try {
      const into = this.kernel.mem.u8().subarray(d.addr, d.addr + d.len);
      const n = grid.backend.readAt(at, into);
      // A block never written reads as zeros (the engine's checksum says it is not what it wrote).
      into.fill(0, n);
      this.stats.reads++;
      this.stats.bytesRead += n;
      return abi.STATUS_OK;
    } catch (e) {
      return this.failure('read', grid, e);
    }
  }

  private write(grid: Grid, d: Desc): number {
    const at = this.offset(d);
    if (at === null) return abi.GRID_E_RANGE;
    try {
      grid.backend.writeAt(at, this.kernel.mem.u8().subarray(d.addr, d.addr + d.len));
      this.stats.writes++;
      this.stats.bytesWritten += d.len;
      return abi.STATUS_OK;
    } catch (e) {
      return this.failure('write', grid, e);
    }
  }

  private failure(op: string, grid: Grid, e: unknown): number {
    const err = e as { code?: string; message?: string };
    this.onError(`grid ${op} on ${grid.backend.path} failed: ${err.message ?? String(e)}`);
    return err.code === 'ENOSPC' ? abi.STATUS_E_NOSPACE : abi.STATUS_E_IO;
  }

  private complete(d: Desc, status: number): void {
    this.done.push({ ...d, status, len: status === abi.STATUS_OK ? d.len : 0 });
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
