// host/base/lines.ts: the process's own output, asynchronous and bounded.
//
// A serving machine prints a JSON line per console event and per request it
// logs. Node writes to a pipe synchronously on Linux, so a reader that stops
// reading (a full pipe) used to stop the whole process after ~200 refused
// requests, and a reader that went away crashed it on EPIPE. Here every line
// goes into a queue that a single asynchronous write drains (fs.write: a
// full pipe blocks one thread-pool thread, never the run loop), and:
//
//   - the queue is bounded (`queuedBytesMax`): beyond it, lines that may be
//     dropped are, and counted; the next line written after the queue drains
//     says how many ({"event":"log_dropped","lines":N});
//   - lines that tools parse (`ready`, `stopped`, `stopping`, errors the
//     operator must see) are written `essential`: never dropped, whatever
//     the queue holds;
//   - EPIPE (the reader is gone) ends the output quietly: everything after is
//     discarded and counted, and the machine goes on serving.
//
// Use: `const out = new LineWriter(1)`; `out.line(text)` or
// `out.line(text, true)` for an essential line; `await out.drained(ms)`
// before exit so what was queued reaches the reader if it can.

import { write as fsWrite } from 'node:fs';

export interface LineWriterStats {
  /** Lines dropped under backpressure or after the reader went away. */
  dropped: number;
  /** Bytes waiting to be written. */
  queuedBytes: number;
  /** The reader went away (EPIPE) or the descriptor failed. */
  broken: boolean;
}

export class LineWriter {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing = false;
  private broken = false;
  private droppedSince = 0;
  dropped = 0;
  private waiters: (() => void)[] = [];

  /**
   * `fd`: the descriptor (1: stdout). `queuedBytesMax`: droppable lines are
   * dropped while this much waits; 1 MiB holds thousands of lines, seconds of
   * a busy server's request log, and bounds what a reader that stopped can
   * make us hold.
   */
  constructor(private readonly fd: number, private readonly queuedBytesMax = 1024 * 1024) {}

  /** Queues one line (without its newline). `essential` lines are never dropped. */
  line(text: string, essential = false): void {
    if (this.broken) { this.dropped++; return; }
    if (!essential && this.queuedBytes >= this.queuedBytesMax) {
      this.dropped++;
      this.droppedSince++;
      return;
    }
    if (this.droppedSince > 0 && this.queuedBytes < this.queuedBytesMax / 2) {
      this.push(`{"event":"log_dropped","lines":${this.droppedSince},"message":"the reader of this output fell behind; these lines were not written"}`);
      this.droppedSince = 0;
    }
    this.push(text);
  }

  /** A stream-shaped face for loggers that write whole lines (pino): droppable. */
  write(chunk: string): boolean {
    this.line(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk);
    return true;
  }

  stats(): LineWriterStats {
    return { dropped: this.dropped, queuedBytes: this.queuedBytes, broken: this.broken };
  }

  /** Resolves when the queue is empty, or after `timeoutMs` (a reader that never reads must not stop an exit). */
  drained(timeoutMs: number): Promise<void> {
    if (this.queuedBytes === 0 || this.broken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.waiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  private push(text: string): void {
    const bytes = Buffer.from(text + '\n', 'utf8');
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    this.pump();
  }

  private pump(): void {
    if (this.writing || this.broken) return;
    if (this.queue.length === 0) {
      for (const w of this.waiters.splice(0)) w();
      return;
    }
    // Everything queued goes in one write: fewer calls under load.
    const chunk = this.queue.length === 1 ? this.queue[0] : Buffer.concat(this.queue);
    this.queue = [];
    this.writing = true;
    this.writeAll(chunk, 0);
  }

  private writeAll(chunk: Buffer, from: number): void {
    fsWrite(this.fd, chunk, from, chunk.length - from, null, (err, written) => {
      if (err !== null) {
        if (err.code === 'EAGAIN') { setTimeout(() => this.writeAll(chunk, from), 10); return; }
        // EPIPE (the reader went away) or any other failure: stop writing, keep serving.
        this.broken = true;
        this.writing = false;
        this.dropped += this.queue.length;
        this.queue = [];
        this.queuedBytes = 0;
        for (const w of this.waiters.splice(0)) w();
        return;
      }
      if (from + written < chunk.length) { this.writeAll(chunk, from + written); return; }
      this.queuedBytes -= chunk.length;
      this.writing = false;
      this.pump();
    });
  }
}

let stdout: LineWriter | null = null;

/** The process's standard output as a LineWriter: one queue for every line the process prints. */
export function stdoutLines(): LineWriter {
  stdout ??= new LineWriter(1);
  return stdout;
}
