// kernel/lib/sha256.ts: SHA-256 (FIPS 180-4) over raw memory, with no allocation.
//
// The kernel hashes every command-log entry and the image sections, after the
// allocator is sealed, so nothing here may allocate: the hashing context lives
// in memory the caller reserved at boot, and the round constants are a static
// data segment. Use it as a stream:
//
//   sha256Init(ctx); sha256Update(ctx, p, n); ...; sha256Final(ctx, out32);
//
// or in one shot with sha256(data, len, out32), which uses a private static
// context (the kernel is single-threaded, so one suffices; it is not
// re-entrant).
//
// Speed comes from compressing whole 64-byte blocks straight from the input
// (no copy into the context buffer unless a block straddles two updates), and
// from keeping the working variables and a rolling 16-word message schedule
// in locals, so the engine can keep them in registers.

// Context, laid over SHA256_CTX_BYTES of caller memory (4-byte aligned at least):
//
//   +0    u32[8]  state    H0..H7 (FIPS 180-4 §5.3.3), updated after every block
//   +32   u8[64]  block    bytes of a block not yet compressed
//   +96   u64     total    message length so far, in bytes
//   +104  u32     pending  bytes held in `block`, 0..63
//   +108  u32     magic    CTX_MAGIC while the context is live, 0 after final;
//                          catches an update on a context never initialised
export const SHA256_CTX_BYTES: usize = 112;
export const SHA256_DIGEST_BYTES: usize = 32;
export const SHA256_BLOCK_BYTES: usize = 64;

const CTX_STATE: usize = 0;
const CTX_BLOCK: usize = 32;
const CTX_TOTAL: usize = 96;
const CTX_PENDING: usize = 104;
const CTX_MAGIC: usize = 108;
// "S256" read as a little-endian u32; any value unlikely in zeroed memory works.
const MAGIC_LIVE: u32 = 0x36353253;

// Round constants (FIPS 180-4 §4.2.2): the first 32 bits of the fractional
// parts of the cube roots of the first 64 primes. A static data segment, so
// reading them never allocates.
const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// Initial hash value (FIPS 180-4 §5.3.3): fractional parts of the square roots
// of the first 8 primes.
const H0: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

// The one-shot sha256() uses this context; see the module comment.
const ONE_SHOT_CTX: usize = memory.data(<i32>SHA256_CTX_BYTES, 8);

// ---- context accessors ----

// @ts-ignore: decorator
@inline function ctxTotal(ctx: usize): u64 { return load<u64>(ctx + CTX_TOTAL); }
// @ts-ignore: decorator
@inline function setCtxTotal(ctx: usize, v: u64): void { store<u64>(ctx + CTX_TOTAL, v); }
// @ts-ignore: decorator
@inline function ctxPending(ctx: usize): usize { return <usize>load<u32>(ctx + CTX_PENDING); }
// @ts-ignore: decorator
@inline function setCtxPending(ctx: usize, v: usize): void {
  store<u32>(ctx + CTX_PENDING, <u32>v);
}
// @ts-ignore: decorator
@inline function ctxLive(ctx: usize): bool { return load<u32>(ctx + CTX_MAGIC) == MAGIC_LIVE; }

// Big-endian word load: SHA-256 reads its message as big-endian words, and
// WebAssembly memory is little-endian.
// @ts-ignore: decorator
@inline function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }

// ---- the functions of FIPS 180-4 §4.1.2 ----

// @ts-ignore: decorator
@inline function choose(x: u32, y: u32, z: u32): u32 { return z ^ (x & (y ^ z)); }
// @ts-ignore: decorator
@inline function majority(x: u32, y: u32, z: u32): u32 { return (x & y) | (z & (x | y)); }
// @ts-ignore: decorator
@inline function bigSigma0(x: u32): u32 {
  return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22);
}
// @ts-ignore: decorator
@inline function bigSigma1(x: u32): u32 {
  return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25);
}
// @ts-ignore: decorator
@inline function smallSigma0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3); }
// @ts-ignore: decorator
@inline function smallSigma1(x: u32): u32 {
  return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10);
}

// Compresses `count` consecutive 64-byte blocks at `p` into the state at `state`.
//
// This function is longer than our usual 70 lines on purpose: the 64 rounds
// are written out, 16 at a time, so that the eight working variables and the
// sixteen schedule words stay in locals. Each round renames the variables
// instead of shifting them (round i uses a..h rotated right by i mod 8), so
// no round spends moves on "h = g; g = f; ...". Rounds 16..63 recompute the
// schedule word they consume in place (W[t] = σ1(W[t-2]) + W[t-7] +
// σ0(W[t-15]) + W[t-16], all indices mod 16), so the schedule never leaves
// the 16 locals.
function compress(state: usize, p: usize, count: usize): void {
  let s0 = load<u32>(state, 0);
  let s1 = load<u32>(state, 4);
  let s2 = load<u32>(state, 8);
  let s3 = load<u32>(state, 12);
  let s4 = load<u32>(state, 16);
  let s5 = load<u32>(state, 20);
  let s6 = load<u32>(state, 24);
  let s7 = load<u32>(state, 28);
  for (let n: usize = 0; n < count; n++) {
    let a = s0, b = s1, c = s2, d = s3, e = s4, f = s5, g = s6, h = s7;
    let w0 = be32(p), w1 = be32(p + 4), w2 = be32(p + 8), w3 = be32(p + 12);
    let w4 = be32(p + 16), w5 = be32(p + 20), w6 = be32(p + 24), w7 = be32(p + 28);
    let w8 = be32(p + 32), w9 = be32(p + 36), w10 = be32(p + 40), w11 = be32(p + 44);
    let w12 = be32(p + 48), w13 = be32(p + 52), w14 = be32(p + 56), w15 = be32(p + 60);
    let k: usize = K;
    h += bigSigma1(e) + choose(e, f, g) + load<u32>(k, 0) + w0;
    d += h; h += bigSigma0(a) + majority(a, b, c);
    g += bigSigma1(d) + choose(d, e, f) + load<u32>(k, 4) + w1;
    c += g; g += bigSigma0(h) + majority(h, a, b);
    f += bigSigma1(c) + choose(c, d, e) + load<u32>(k, 8) + w2;
    b += f; f += bigSigma0(g) + majority(g, h, a);
    e += bigSigma1(b) + choose(b, c, d) + load<u32>(k, 12) + w3;
    a += e; e += bigSigma0(f) + majority(f, g, h);
    d += bigSigma1(a) + choose(a, b, c) + load<u32>(k, 16) + w4;
    h += d; d += bigSigma0(e) + majority(e, f, g);
    c += bigSigma1(h) + choose(h, a, b) + load<u32>(k, 20) + w5;
    g += c; c += bigSigma0(d) + majority(d, e, f);
    b += bigSigma1(g) + choose(g, h, a) + load<u32>(k, 24) + w6;
    f += b; b += bigSigma0(c) + majority(c, d, e);
    a += bigSigma1(f) + choose(f, g, h) + load<u32>(k, 28) + w7;
    e += a; a += bigSigma0(b) + majority(b, c, d);
    h += bigSigma1(e) + choose(e, f, g) + load<u32>(k, 32) + w8;
    d += h; h += bigSigma0(a) + majority(a, b, c);
    g += bigSigma1(d) + choose(d, e, f) + load<u32>(k, 36) + w9;
    c += g; g += bigSigma0(h) + majority(h, a, b);
    f += bigSigma1(c) + choose(c, d, e) + load<u32>(k, 40) + w10;
    b += f; f += bigSigma0(g) + majority(g, h, a);
    e += bigSigma1(b) + choose(b, c, d) + load<u32>(k, 44) + w11;
    a += e; e += bigSigma0(f) + majority(f, g, h);
    d += bigSigma1(a) + choose(a, b, c) + load<u32>(k, 48) + w12;
    h += d; d += bigSigma0(e) + majority(e, f, g);
    c += bigSigma1(h) + choose(h, a, b) + load<u32>(k, 52) + w13;
    g += c; c += bigSigma0(d) + majority(d, e, f);
    b += bigSigma1(g) + choose(g, h, a) + load<u32>(k, 56) + w14;
    f += b; b += bigSigma0(c) + majority(c, d, e);
    a += bigSigma1(f) + choose(f, g, h) + load<u32>(k, 60) + w15;
    e += a; a += bigSigma0(b) + majority(b, c, d);
    for (let j: u32 = 1; j < 4; j++) {
      k += 64;
      w0 = smallSigma1(w14) + w9 + smallSigma0(w1) + w0;
      h += bigSigma1(e) + choose(e, f, g) + load<u32>(k, 0) + w0;
      d += h; h += bigSigma0(a) + majority(a, b, c);
      w1 = smallSigma1(w15) + w10 + smallSigma0(w2) + w1;
      g += bigSigma1(d) + choose(d, e, f) + load<u32>(k, 4) + w1;
      c += g; g += bigSigma0(h) + majority(h, a, b);
      w2 = smallSigma1(w0) + w11 + smallSigma0(w3) + w2;
      f += bigSigma1(c) + choose(c, d, e) + load<u32>(k, 8) + w2;
      b += f; f += bigSigma0(g) + majority(g, h, a);
      w3 = smallSigma1(w1) + w12 + smallSigma0(w4) + w3;
      e += bigSigma1(b) + choose(b, c, d) + load<u32>(k, 12) + w3;
      a += e; e += bigSigma0(f) + majority(f, g, h);
      w4 = smallSigma1(w2) + w13 + smallSigma0(w5) + w4;
      d += bigSigma1(a) + choose(a, b, c) + load<u32>(k, 16) + w4;
      h += d; d += bigSigma0(e) + majority(e, f, g);
      w5 = smallSigma1(w3) + w14 + smallSigma0(w6) + w5;
      c += bigSigma1(h) + choose(h, a, b) + load<u32>(k, 20) + w5;
      g += c; c += bigSigma0(d) + majority(d, e, f);
      w6 = smallSigma1(w4) + w15 + smallSigma0(w7) + w6;
      b += bigSigma1(g) + choose(g, h, a) + load<u32>(k, 24) + w6;
      f += b; b += bigSigma0(c) + majority(c, d, e);
      w7 = smallSigma1(w5) + w0 + smallSigma0(w8) + w7;
      a += bigSigma1(f) + choose(f, g, h) + load<u32>(k, 28) + w7;
      e += a; a += bigSigma0(b) + majority(b, c, d);
      w8 = smallSigma1(w6) + w1 + smallSigma0(w9) + w8;
      h += bigSigma1(e) + choose(e, f, g) + load<u32>(k, 32) + w8;
      d += h; h += bigSigma0(a) + majority(a, b, c);
      w9 = smallSigma1(w7) + w2 + smallSigma0(w10) + w9;
      g += bigSigma1(d) + choose(d, e, f) + load<u32>(k, 36) + w9;
      c += g; g += bigSigma0(h) + majority(h, a, b);
      w10 = smallSigma1(w8) + w3 + smallSigma0(w11) + w10;
      f += bigSigma1(c) + choose(c, d, e) + load<u32>(k, 40) + w10;
      b += f; f += bigSigma0(g) + majority(g, h, a);
      w11 = smallSigma1(w9) + w4 + smallSigma0(w12) + w11;
      e += bigSigma1(b) + choose(b, c, d) + load<u32>(k, 44) + w11;
      a += e; e += bigSigma0(f) + majority(f, g, h);
      w12 = smallSigma1(w10) + w5 + smallSigma0(w13) + w12;
      d += bigSigma1(a) + choose(a, b, c) + load<u32>(k, 48) + w12;
      h += d; d += bigSigma0(e) + majority(e, f, g);
      w13 = smallSigma1(w11) + w6 + smallSigma0(w14) + w13;
      c += bigSigma1(h) + choose(h, a, b) + load<u32>(k, 52) + w13;
      g += c; c += bigSigma0(d) + majority(d, e, f);
      w14 = smallSigma1(w12) + w7 + smallSigma0(w15) + w14;
      b += bigSigma1(g) + choose(g, h, a) + load<u32>(k, 56) + w14;
      f += b; b += bigSigma0(c) + majority(c, d, e);
      w15 = smallSigma1(w13) + w8 + smallSigma0(w0) + w15;
      a += bigSigma1(f) + choose(f, g, h) + load<u32>(k, 60) + w15;
      e += a; a += bigSigma0(b) + majority(b, c, d);
    }
    s0 += a; s1 += b; s2 += c; s3 += d; s4 += e; s5 += f; s6 += g; s7 += h;
    p += SHA256_BLOCK_BYTES;
  }
  store<u32>(state, s0, 0);
  store<u32>(state, s1, 4);
  store<u32>(state, s2, 8);
  store<u32>(state, s3, 12);
  store<u32>(state, s4, 16);
  store<u32>(state, s5, 20);
  store<u32>(state, s6, 24);
  store<u32>(state, s7, 28);
}

// ---- public API ----

// Starts a new message in the context at `ctx` (SHA256_CTX_BYTES of memory).
export function sha256Init(ctx: usize): void {
  assert(ctx != 0, "sha256Init: null context");
  memory.copy(ctx + CTX_STATE, H0, 32);
  setCtxTotal(ctx, 0);
  setCtxPending(ctx, 0);
  store<u32>(ctx + CTX_MAGIC, MAGIC_LIVE);
}

// Adds `len` bytes at `data` to the message. Whole blocks are compressed
// straight from `data`; only a partial block at either end is copied.
export function sha256Update(ctx: usize, data: usize, len: usize): void {
  assert(ctxLive(ctx), "sha256Update: context not initialised");
  if (len == 0) return;
  setCtxTotal(ctx, ctxTotal(ctx) + <u64>len);
  let pending = ctxPending(ctx);
  if (pending != 0) {
    const take = min<usize>(SHA256_BLOCK_BYTES - pending, len);
    memory.copy(ctx + CTX_BLOCK + pending, data, take);
    pending += take;
    data += take;
    len -= take;
    if (pending < SHA256_BLOCK_BYTES) {
      setCtxPending(ctx, pending);
      return;
    }
    compress(ctx + CTX_STATE, ctx + CTX_BLOCK, 1);
  }
  const blocks = len >>> 6;
  if (blocks != 0) compress(ctx + CTX_STATE, data, blocks);
  const rest = len & (SHA256_BLOCK_BYTES - 1);
  memory.copy(ctx + CTX_BLOCK, data + (blocks << 6), rest);
  setCtxPending(ctx, rest);
}

// Pads the message (FIPS 180-4 §5.1.1), writes the 32-byte digest to `out`
// and retires the context: a further update needs a new sha256Init.
export function sha256Final(ctx: usize, out: usize): void {
  assert(ctxLive(ctx), "sha256Final: context not initialised");
  // The length field counts bits in 64 bits; 2^61 bytes is far beyond any
  // 32-bit memory, so this only guards against a corrupted context.
  const total = ctxTotal(ctx);
  assert(total < (<u64>1 << 61), "sha256Final: message too long");
  const block = ctx + CTX_BLOCK;
  let pending = ctxPending(ctx);
  store<u8>(block + pending, 0x80);
  pending += 1;
  if (pending > SHA256_BLOCK_BYTES - 8) {
    memory.fill(block + pending, 0, SHA256_BLOCK_BYTES - pending);
    compress(ctx + CTX_STATE, block, 1);
    pending = 0;
  }
  memory.fill(block + pending, 0, SHA256_BLOCK_BYTES - 8 - pending);
  store<u64>(block + SHA256_BLOCK_BYTES - 8, bswap<u64>(total << 3));
  compress(ctx + CTX_STATE, block, 1);
  for (let i: usize = 0; i < 8; i++) {
    store<u32>(out + (i << 2), bswap<u32>(load<u32>(ctx + CTX_STATE + (i << 2))));
  }
  store<u32>(ctx + CTX_MAGIC, 0);
}

// One-shot digest of `len` bytes at `data` into 32 bytes at `out`.
export function sha256(data: usize, len: usize, out: usize): void {
  sha256Init(ONE_SHOT_CTX);
  sha256Update(ONE_SHOT_CTX, data, len);
  sha256Final(ONE_SHOT_CTX, out);
}
