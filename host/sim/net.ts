// host/sim/net.ts: simulated TCP connections for the real net device
// (host/devices/net.ts). A SimSocket is what the device sees of a
// connection (the few net.Socket members it uses); the simulator moves the
// bytes between it and a simulated client through a faulty link: delay
// (and so reordering between frames), drops, duplicates, truncated frames
// and disconnects, each chosen by the run's PRNG.

import { EventEmitter } from 'node:events';

/** The device's end of one simulated connection. */
export class SimSocket extends EventEmitter {
  closed = false;
  paused = false;
  /** A simulated peer address (HTTP sessions record it). */
  readonly remoteAddress: string;

  constructor(readonly id: number, private readonly toClient: (bytes: Buffer) => void, private readonly onClose: () => void) {
    super();
    this.remoteAddress = `10.0.${(id >> 8) & 255}.${id & 255}`;
  }

  /**
   * The device's idle timeout: a wall-clock guard against slow clients,
   * outside the simulated world (simulated clients are never idle long
   * enough to matter); declared here, never fired.
   */
  setTimeout(_ms: number, _onTimeout?: () => void): this {
    return this;
  }

  write(bytes: Uint8Array): boolean {
    if (!this.closed) this.toClient(Buffer.from(bytes));
    return true;
  }

  end(bytes?: Uint8Array): void {
    if (bytes !== undefined) this.write(bytes);
    this.close();
  }

  destroy(): void {
    this.close();
  }

  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; }

  /** Closes both ends: the device hears 'close'. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.emit('close');
  }

  /** Bytes from the client arrive at the device. */
  deliver(bytes: Buffer): void {
    if (!this.closed) this.emit('data', bytes);
  }
}

export interface NetFaults {
  /** Delivery delay of each frame, either way, ns. */
  delayNsMax: bigint;
  drop: number;
  duplicate: number;
  truncate: number;
  disconnect: number;
  /** A reply lost on the way back (the client never learns the outcome). */
  replyDrop: number;
}
