// host/sim/checker.ts: what a service's checker plugs into the simulator.
//
// The world (host/sim/world.ts) owns everything generic: the seeded PRNG,
// the event queue, the simulated disk, network and clock, crashes, replays
// and the liveness checks of the kernel's pools. A checker owns one service's
// workload and its oracle: it sends requests over faulty client connections,
// remembers what clients were told, and after every crash and at the end
// proves through a clean connection that nothing acknowledged was lost or
// doubled and that the service's invariants hold. A new service (payments,
// trading) adds its checker to the list the world runs; the world asks each
// in turn.

import type { Prng } from './prng.ts';

export interface Reply { status: number; payload: Buffer }

/** What the world offers a checker. */
export interface SimContext {
  readonly rng: Prng;
  /** The image's message_bytes_max: a request or reply larger than this is refused. */
  readonly messageBytesMax: number;
  trace(line: string): void;
  /** Ends the seed as a failure (the message names what broke). */
  fail(message: string): never;
  /** Counts a fault injected (named in the summary). */
  fault(kind: string): void;
  /**
   * Sends `payload` to `service` on faulty client connection `index`
   * (opened again when closed): delays, drops, duplicates, truncation and
   * disconnects apply. `onReply` runs when (if) a reply arrives. Returns a
   * label for the trace. `read`: sent as a read (hal/frames.ts FRAME_F_READ).
   */
  clientRequest(index: number, service: string, payload: Uint8Array, onReply: (r: Reply) => void, read?: boolean): string;
  /** A request on the clean checker connection; its reply (liveness: within a bounded number of steps). */
  check(service: string, payload: Uint8Array, read?: boolean): Promise<Reply>;
}

export interface SimChecker {
  /** The service it checks (its name in the image). */
  readonly service: string;
  /** Once, after the first boot: what the workload needs (accounts, instruments, ...). */
  setUp(ctx: SimContext): Promise<void>;
  /** One unit of client activity: usually one request on a faulty connection. */
  act(ctx: SimContext): void;
  /** After a crash (rebooted) and at the end: every acknowledged effect present once, invariants hold. */
  verify(ctx: SimContext, where: string): Promise<void>;
  /** For the result line and summary. */
  counts(): { acknowledged: number; sent: number };
}
