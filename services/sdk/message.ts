// services/sdk/message.ts: reading and writing little-endian message bytes.
//
// A Reader walks a received message (the inbox) and a Writer fills a reply
// buffer. Both check every access against their length; the first access
// that would run past the end sets `ok = false`, returns zeros from then on
// and writes nothing, so a handler reads all its fields and checks `ok`
// once. Create them once at module level and `reset` per message: the stub
// runtime never frees, so nothing here allocates after start.
//
//   const rd = new Reader(); const wr = new Writer();
//   rd.reset(inbox, len);
//   const op = rd.u8(); rd.skip(7); rd.u128(amount);
//   if (!rd.ok || !rd.atEnd()) { replyError(token, "bad request"); return; }
//   wr.reset(out, 64); wr.u128(balance); replyOk(token, out, wr.pos);

export class Reader {
  base: usize = 0;
  len: u32 = 0;
  pos: u32 = 0;
  ok: bool = true;

  reset(base: usize, len: u32): void {
    // take() answers 0 for "short", so real bytes never start at address 0 (AssemblyScript
    // places nothing there), and a message does not wrap around the address space.
    assert((base != 0 || len == 0) && base + <usize>len >= base, "reader over a message at address 0 or wrapping around memory");
    this.base = base; this.len = len; this.pos = 0; this.ok = true;
  }
  remaining(): u32 {
    assert(this.pos <= this.len, "reader past the end of its message");
    return this.len - this.pos;
  }
  atEnd(): bool {
    assert(this.pos <= this.len, "reader past the end of its message");
    return this.pos == this.len;
  }

  // Address of the next n bytes and moves past them; 0 (and ok = false) when short.
  take(n: u32): usize {
    // The subtraction below is only a bound while the position stays inside the message.
    assert(this.pos <= this.len, "reader past the end of its message");
    if (!this.ok || n > this.len - this.pos) { this.ok = false; return 0; }
    const p = this.base + <usize>this.pos;
    this.pos += n;
    assert((p != 0 || n == 0) && this.pos <= this.len, "reader handed out bytes outside its message");
    return p;
  }

  skip(n: u32): void { this.take(n); }
  u8(): u8 { const p = this.take(1); return p == 0 ? 0 : load<u8>(p); }
  u16(): u16 { const p = this.take(2); return p == 0 ? 0 : load<u16>(p); }
  u32(): u32 { const p = this.take(4); return p == 0 ? 0 : load<u32>(p); }
  u64(): u64 { const p = this.take(8); return p == 0 ? 0 : load<u64>(p); }
  // Copies a 16-byte little-endian u128 to dst (zero when short).
  u128(dst: usize): void {
    const p = this.take(16);
    if (p == 0) { store<u64>(dst, 0); store<u64>(dst, 0, 8); return; }
    memory.copy(dst, p, 16);
  }
  // True when the next n bytes are all zero (reserved fields); moves past them.
  zeros(n: u32): bool {
    const p = this.take(n);
    if (p == 0) return false;
    assert(p + <usize>n <= this.base + <usize>this.len, "reserved bytes outside the message");
    for (let i: u32 = 0; i < n; i++) if (load<u8>(p + <usize>i) != 0) return false;
    return true;
  }
}

export class Writer {
  base: usize = 0;
  cap: u32 = 0;
  pos: u32 = 0;
  ok: bool = true;

  reset(base: usize, cap: u32): void {
    // room() answers 0 for "full", so a buffer never starts at address 0, nor wraps.
    assert((base != 0 || cap == 0) && base + <usize>cap >= base, "writer over a buffer at address 0 or wrapping around memory");
    this.base = base; this.cap = cap; this.pos = 0; this.ok = true;
  }

  // Address where the next n bytes go and moves past them; 0 (and ok = false) when full.
  room(n: u32): usize {
    // A position past the capacity would make the subtraction below wrap and let writes through.
    assert(this.pos <= this.cap, "writer past the end of its buffer");
    if (!this.ok || n > this.cap - this.pos) { this.ok = false; return 0; }
    const p = this.base + <usize>this.pos;
    this.pos += n;
    assert((p != 0 || n == 0) && this.pos <= this.cap, "writer handed out room outside its buffer");
    return p;
  }

  u8(v: u8): void { const p = this.room(1); if (p != 0) store<u8>(p, v); }
  u16(v: u16): void { const p = this.room(2); if (p != 0) store<u16>(p, v); }
  u32(v: u32): void { const p = this.room(4); if (p != 0) store<u32>(p, v); }
  u64(v: u64): void { const p = this.room(8); if (p != 0) store<u64>(p, v); }
  u128(src: usize): void { const p = this.room(16); if (p != 0) memory.copy(p, src, 16); }
  bytes(src: usize, n: u32): void { const p = this.room(n); if (p != 0) memory.copy(p, src, n); }
  zeros(n: u32): void { const p = this.room(n); if (p != 0) memory.fill(p, 0, n); }
  // ASCII text (non-ASCII characters become '?').
  text(s: string): void {
    const n = <u32>s.length;
    const p = this.room(n);
    if (p == 0) return;
    assert(p + <usize>n <= this.base + <usize>this.cap, "text written outside the buffer");
    for (let i: u32 = 0; i < n; i++) {
      const c = s.charCodeAt(<i32>i);
      store<u8>(p + <usize>i, <u8>(c < 128 ? c : 63));
    }
  }
}
