// host/base/ring.ts: the host's side of the rings in kernel memory (layout in
// hal/abi.ts). The host consumes a device's SQ and produces on its CQ. The
// kernel's memory never grows after boot, but the view is re-taken whenever
// the underlying buffer is detached (grown), so a stale view can't be used by mistake.

import * as abi from '../../hal/abi.ts';

export interface Desc {
  op: number;
  flags: number;
  status: number;
  tag: number;
  len: number;
  addr: number;
  cap: number;
  arg: number;
}

export class KernelMemory {
  private buffer: ArrayBuffer;
  private view: DataView;
  private bytes: Uint8Array;

  constructor(private readonly memory: WebAssembly.Memory) {
    this.buffer = memory.buffer;
    this.view = new DataView(this.buffer);
    this.bytes = new Uint8Array(this.buffer);
  }

  // Growing a (non-shared) memory detaches its old buffer, so a view whose
  // length dropped to zero is the sign to re-take it: the check costs no
  // call into the engine, where reading memory.buffer on every access did
  // (about a microsecond per HTTP request, over a dozen ring accesses).
  private refresh(): void {
    if (this.bytes.length === 0) {
      this.buffer = this.memory.buffer;
      this.view = new DataView(this.buffer);
      this.bytes = new Uint8Array(this.buffer);
    }
  }

  dv(): DataView {
    this.refresh();
    return this.view;
  }

  u8(): Uint8Array {
    this.refresh();
    return this.bytes;
  }

  /** A view (not a copy) of kernel memory. */
  slice(addr: number, len: number): Uint8Array {
    this.refresh();
    if (addr < 0 || len < 0 || addr + len > this.bytes.length) {
      throw new Error(`kernel memory range ${addr}+${len} is outside ${this.bytes.length} bytes`);
    }
    return this.bytes.subarray(addr, addr + len);
  }

  u32(addr: number): number { return this.dv().getUint32(addr, true); }
  setU32(addr: number, v: number): void { this.dv().setUint32(addr, v >>> 0, true); }
  u64(addr: number): bigint { return this.dv().getBigUint64(addr, true); }
  setU64(addr: number, v: bigint): void { this.dv().setBigUint64(addr, v, true); }
}

export class HostRing {
  readonly capacity: number;

  constructor(private readonly mem: KernelMemory, readonly addr: number, readonly name: string) {
    if (addr === 0) throw new Error(`ring ${name}: the kernel did not set it up`);
    this.capacity = mem.u32(addr + abi.RING_CAPACITY);
    if (this.capacity === 0 || (this.capacity & (this.capacity - 1)) !== 0) {
      throw new Error(`ring ${name}: capacity ${this.capacity} is not a power of two`);
    }
  }

  private head(): number { return this.mem.u32(this.addr + abi.RING_HEAD); }
  private tail(): number { return this.mem.u32(this.addr + abi.RING_TAIL); }
  used(): number {
    const used = (this.head() - this.tail()) >>> 0;
    if (used > this.capacity) throw new Error(`ring ${this.name}: indices corrupt (${used} used of ${this.capacity})`);
    return used;
  }
  free(): number { return this.capacity - this.used(); }

  private slot(index: number): number {
    return this.addr + abi.RING_HEADER_BYTES + (index & (this.capacity - 1)) * abi.DESC_BYTES;
  }

  /** Consumer: the descriptor at the tail, or null when empty. */
  peek(): Desc | null {
    if (this.used() === 0) return null;
    const d = this.slot(this.tail());
    const dv = this.mem.dv();
    return {
      op: dv.getUint16(d + abi.DESC_OP, true),
      flags: dv.getUint16(d + abi.DESC_FLAGS, true),
      status: dv.getInt32(d + abi.DESC_STATUS, true),
      tag: dv.getUint32(d + abi.DESC_TAG, true),
      len: dv.getUint32(d + abi.DESC_LEN, true),
      addr: dv.getUint32(d + abi.DESC_ADDR, true),
      cap: dv.getUint32(d + abi.DESC_CAP, true),
      arg: Number(dv.getBigUint64(d + abi.DESC_ARG, true)),
    };
  }

  pop(): void {
    if (this.used() === 0) throw new Error(`ring ${this.name}: pop on empty ring`);
    this.mem.setU32(this.addr + abi.RING_TAIL, this.tail() + 1);
  }

  /** Producer: false when full (the caller keeps the completion for later). */
  push(d: Partial<Desc> & { op: number }): boolean {
    if (this.free() === 0) return false;
    const head = this.head();
    const s = this.slot(head);
    const dv = this.mem.dv();
    dv.setUint16(s + abi.DESC_OP, d.op, true);
    dv.setUint16(s + abi.DESC_FLAGS, d.flags ?? 0, true);
    dv.setInt32(s + abi.DESC_STATUS, d.status ?? 0, true);
    dv.setUint32(s + abi.DESC_TAG, d.tag ?? 0, true);
    dv.setUint32(s + abi.DESC_LEN, d.len ?? 0, true);
    dv.setUint32(s + abi.DESC_ADDR, d.addr ?? 0, true);
    dv.setUint32(s + abi.DESC_CAP, d.cap ?? 0, true);
    dv.setBigUint64(s + abi.DESC_ARG, BigInt(d.arg ?? 0), true);
    this.mem.setU32(this.addr + abi.RING_HEAD, head + 1);
    return true;
  }
}
