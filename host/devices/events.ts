// host/devices/events.ts: the event stream device (DEV_EVENTS). Each SQ
// entry is one event record the kernel numbered (hal/abi.ts "event stream");
// the host copies it out of kernel memory, pops the entry at once (so the
// kernel's buffer is free again) and hands the copy to the EventHub
// (host/gateway/events.ts). The device decides nothing: it moves records.

import * as abi from '../../hal/abi.ts';
import type { Kernel } from '../base/kernel.ts';
import type { HostRing } from '../base/ring.ts';

export class EventsDevice {
  private readonly sq: HostRing | null;
  records = 0;

  constructor(private readonly kernel: Kernel, private readonly sink: (record: Buffer) => void) {
    // A kernel without the device leaves { sq: 0, cq: 0 } in its table entry.
    const entry = kernel.x.hal_table() + abi.DEV_EVENTS * abi.DEVICE_ENTRY_BYTES;
    this.sq = kernel.mem.u32(entry) === 0 ? null : kernel.ring(abi.DEV_EVENTS, 'sq');
  }

  /** Copies out every record the kernel queued; true when there was one. */
  service(): boolean {
    if (this.sq === null) return false;
    let any = false;
    for (let d = this.sq.peek(); d !== null; d = this.sq.peek()) {
      if (d.op !== abi.OP_EVT_RECORD) throw new Error(`event ring: unknown op ${d.op}`);
      const record = Buffer.from(this.kernel.mem.slice(d.addr, d.len));
      this.sq.pop();
      this.records++;
      any = true;
      this.sink(record);
    }
    return any;
  }
}
