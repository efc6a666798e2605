// services/sdk/log.ts: building one log line without allocating.
//
//   logLine().text("transfer ").u64(id).text(" amount ").u128(amountPtr).send();
//
// A line is at most LOG_LINE_BYTES; longer text is cut. send() needs the
// "log" capability and returns the log() result (E_DENIED without it). The
// kernel prints it as {"event":"service_log","service":…,"message":…}
// (suppressed while the log is replayed).

import { log } from "./qenex";
import { u128ToDecimal } from "./money";

export const LOG_LINE_BYTES: u32 = 480; // under the console's 512-byte line with its JSON wrapper

const lineBuffer: usize = memory.data(<i32>LOG_LINE_BYTES + 40);

export class LogLine {
  len: u32 = 0;

  text(s: string): LogLine {
    for (let i = 0; i < s.length && this.len < LOG_LINE_BYTES; i++) {
      const c = s.charCodeAt(i);
      store<u8>(lineBuffer + <usize>(this.len++), <u8>(c < 128 ? c : 63));
    }
    assert(this.len <= LOG_LINE_BYTES, "log line longer than LOG_LINE_BYTES");
    return this;
  }

  u64(v: u64): LogLine {
    const digits = memory.data(24);
    let n: u32 = 0;
    do { store<u8>(digits + <usize>(n++), <u8>(48 + v % 10)); v /= 10; } while (v != 0);
    // A u64 has at most 20 decimal digits: the 24-byte scratch holds them.
    assert(n <= 20, "u64 with more than 20 decimal digits");
    while (n > 0 && this.len < LOG_LINE_BYTES) store<u8>(lineBuffer + <usize>(this.len++), load<u8>(digits + <usize>(--n)));
    return this;
  }

  i64(v: i64): LogLine {
    if (v < 0) { this.text("-"); return this.u64(<u64>(-(v + 1)) + 1); }
    return this.u64(<u64>v);
  }

  // The decimal value of the 16-byte u128 at p.
  u128(p: usize): LogLine {
    if (this.len + 39 > LOG_LINE_BYTES) return this;
    this.len += u128ToDecimal(p, lineBuffer + <usize>this.len);
    assert(this.len <= LOG_LINE_BYTES, "log line longer than LOG_LINE_BYTES");
    return this;
  }

  send(): i32 {
    assert(this.len <= LOG_LINE_BYTES, "log line longer than LOG_LINE_BYTES");
    const r = log(lineBuffer, this.len);
    this.len = 0;
    return r;
  }
}

const line = new LogLine();

// The one line being built (services handle one message at a time).
export function logLine(): LogLine {
  line.len = 0;
  return line;
}
