// host/devices/console.ts: the console device. Each SQ entry is one line
// (a JSON object) written by the kernel; the host hands it on unchanged.

import * as abi from '../../hal/abi.ts';
import type { Kernel } from '../base/kernel.ts';
import type { HostRing } from '../base/ring.ts';

export class ConsoleDevice {
  private readonly sq: HostRing;
  private readonly decoder = new TextDecoder();

  constructor(private readonly kernel: Kernel, private readonly sink: (line: string, isError: boolean) => void) {
    this.sq = kernel.ring(abi.DEV_CONSOLE, 'sq');
  }

  service(): void {
    for (let d = this.sq.peek(); d !== null; d = this.sq.peek()) {
      const line = this.decoder.decode(this.kernel.mem.slice(d.addr, d.len));
      this.sq.pop();
      this.sink(line, (d.flags & abi.DESC_F_ERROR) !== 0);
    }
  }
}
