// host/sim/entropy.ts: the entropy device of a simulated machine: the same
// ring protocol as host/devices/entropy.ts, bytes from the simulator's
// seeded source instead of the operating system's CSPRNG.

import * as abi from '../../hal/abi.ts';
import type { Kernel } from '../kernel.ts';
import type { HostRing } from '../ring.ts';

export class SimEntropyDevice {
  private readonly sq: HostRing;
  private readonly cq: HostRing;

  constructor(private readonly kernel: Kernel, private readonly fill: (into: Uint8Array) => void) {
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
