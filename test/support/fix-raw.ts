// test/support/fix-raw.ts: a plain-socket FIX 4.4 client for tests and the
// FIX benchmark: writes messages as given (encodeRawMessage: only BodyLength
// and CheckSum computed), so a test can send what no engine would (garbled
// bytes, a wrong CheckSum, a MsgSeqNum too low), and reads what comes back
// with the repo's framer and parser. No session logic of its own: the
// caller numbers its messages.

import net from 'node:net';
import { encodeRawMessage, FixFramer, parseFields } from '../../host/fix/codec.ts';

export interface RawMessage { type: string; fields: Map<number, string>; at: number }

/** A UTCTimestamp with milliseconds for now. */
export function fixNow(): string {
  return new Date().toISOString().replace(/[-]/g, '').replace('T', '-').replace('Z', '');
}

export class RawFixClient {
  private framer = new FixFramer();
  private got: RawMessage[] = [];
  private waiting: (() => void) | null = null;
  /** The next MsgSeqNum message() gives. */
  seq = 1;
  closed = false;
  /** Called for each message read (the benchmark's latency clock), before it is queued. */
  onMessage: ((m: RawMessage) => void) | null = null;

  private constructor(private readonly socket: net.Socket, readonly sender: string, readonly target: string) {
    socket.setNoDelay(true);
    socket.on('data', (d) => {
      const at = performance.now();
      for (const bytes of this.framer.push(d).messages) {
        const fields = new Map(parseFields(bytes).map((f) => [f.tag, f.value] as [number, string]));
        const m = { type: fields.get(35) ?? '', fields, at };
        this.onMessage?.(m);
        this.got.push(m);
      }
      this.waiting?.();
    });
    socket.on('close', () => { this.closed = true; this.waiting?.(); });
    socket.on('error', () => { this.closed = true; });
  }

  static connect(port: number, sender: string, target = 'QENEX', host = '127.0.0.1'): Promise<RawFixClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new RawFixClient(s, sender, target)));
      s.once('error', reject);
    });
  }

  write(bytes: Uint8Array | string): void { this.socket.write(bytes); }

  /** A message of `type` with the standard header (this client's CompIDs, MsgSeqNum `seq`, SendingTime now) and `fields`. */
  message(type: string, fields: [number, string][], seq = this.seq++, sender = this.sender): Uint8Array {
    return encodeRawMessage([[35, type], [49, sender], [56, this.target], [34, String(seq)], [52, fixNow()], ...fields]);
  }

  /** The next message read, or null after `timeoutMs` or when the connection closed with nothing left. */
  async next(timeoutMs = 5000): Promise<RawMessage | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.got.length === 0 && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => { this.waiting = r; setTimeout(r, 100); });
    }
    return this.got.shift() ?? null;
  }

  /** The next message of `type`, skipping others (heartbeats), or null. */
  async nextOf(type: string, timeoutMs = 5000): Promise<RawMessage | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.next(Math.max(1, deadline - Date.now()));
      if (m === null || m.type === type) return m;
    }
  }

  /** Whether nothing arrives for `ms`. */
  async nothingFor(ms: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return this.got.length === 0;
  }

  /** Drops what was read so far. */
  drain(): void { this.got.length = 0; }

  end(): void { this.socket.destroy(); }
}
