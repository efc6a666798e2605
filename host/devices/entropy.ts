// host/devices/entropy.ts: the entropy device: fills the kernel's buffer with
// bytes from the operating system's CSPRNG (or, in the simulator, from its
// seeded source). The kernel logs them before any service sees a value
// derived from them.

import { randomFillSync } from 'node:crypto';
import * as abi from '../../hal/abi.ts';
import type { Kernel } from '../base/kernel.ts';
import type { HostRing } from '../base/ring.ts';

export class EntropyDevice {
  private readonly sq: HostRing;
  private readonly cq: HostRing;

  constructor(private readonly kernel: Kernel, private readonly fill: (into: Uint8Array) => void = randomFillSync) {
    this.sq = kernel.ring(abi.DEV_ENTROPY, 'sq');
    this.cq = kernel.ring(abi.DEV_ENTROPY, 'cq');
  }

  service(): boolean {
    let posted = false;
    for (let d = this.sq.peek(); d !== null && this.cq.free() > 0; d = this.sq.peek()) {
      this.sq.pop();
      this.fill(this.kernel.mem.slice(d.addr, d.len));
      this.cq.push({ ...d, status: abi.STATUS_OK });
      posted = true;
    }
    return posted;
  }
}
