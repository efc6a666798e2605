// fuzz/mutate.ts: byte mutations for the coverage-guided fuzzer. A child
// input is its parent under a stack of 1 to 16 havoc operations, in the
// manner of AFL: bit flips, interesting values (boundaries of 8, 16, 32 and
// 64-bit integers, either byte order), small additions, deletions,
// duplications and overwrites of blocks, dictionary tokens, decimal digits,
// and splices with another input of the queue.

/** A small fast PRNG (xorshift128+ on two 32-bit halves). Not for keys. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = seed | 0 || 1;
    this.b = Math.imul(seed, 0x9e3779b1) | 0 || 2;
    this.c = Math.imul(seed ^ 0x85ebca6b, 0xc2b2ae35) | 0 || 3;
    this.d = 0x27d4eb2f;
    for (let i = 0; i < 8; i++) this.u32();
  }

  u32(): number {
    let t = this.d;
    const s = this.a;
    this.d = this.c;
    this.c = this.b;
    this.b = s;
    t ^= t << 11;
    t ^= t >>> 8;
    this.a = (t ^ s ^ (s >>> 19)) | 0;
    return this.a >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0x64, 0x0a, 0x0d, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c];
const INTERESTING_16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 1000, 1024, 4096, 65535];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0x100000, 1e6, 1e9, 0xfffffffe];

export interface MutateContext {
  rng: Rng;
  maxLen: number;
  dictionary: readonly Uint8Array[];
  /** Another input to splice with (any queue entry). */
  other(): Uint8Array;
}

/**
 * Writes a mutation of `parent` into `out` (capacity ≥ ctx.maxLen) and
 * returns its length.
 */
export function mutate(parent: Uint8Array, out: Uint8Array, ctx: MutateContext): number {
  const { rng, maxLen } = ctx;
  let len = Math.min(parent.length, maxLen);
  out.set(parent.subarray(0, len));
  const stack = 1 << (1 + rng.below(4));
  for (let s = 0; s < stack; s++) {
    switch (rng.below(len === 0 ? 3 : 16)) {
      case 0: { // insert random bytes or a dictionary token
        const piece = ctx.dictionary.length > 0 && rng.below(2) === 0
          ? ctx.dictionary[rng.below(ctx.dictionary.length)]
          : randomBytes(rng, 1 + rng.below(rng.below(4) === 0 ? 64 : 4));
        len = insert(out, len, maxLen, rng.below(len + 1), piece);
        break;
      }
      case 1: { // insert decimal digits (lengths, counts, amounts)
        const digits = String(pickNumber(rng));
        len = insert(out, len, maxLen, rng.below(len + 1), Buffer.from(digits, 'latin1'));
        break;
      }
      case 2: { // splice: a block of another input
        const o = ctx.other();
        if (o.length === 0) break;
        const from = rng.below(o.length);
        const n = 1 + rng.below(Math.min(o.length - from, 256));
        if (len > 0 && rng.below(2) === 0) {
          const at = rng.below(len);
          const m = Math.min(n, len - at);
          out.set(o.subarray(from, from + m), at);
        } else {
          len = insert(out, len, maxLen, rng.below(len + 1), o.subarray(from, from + n));
        }
        break;
      }
      case 3: out[rng.below(len)] ^= 1 << rng.below(8); break;
      case 4: out[rng.below(len)] = INTERESTING_8[rng.below(INTERESTING_8.length)]; break;
      case 5: out[rng.below(len)] = rng.below(256); break;
      case 6: { const at = rng.below(len); out[at] = (out[at] + 1 + rng.below(35) * (rng.below(2) ? 1 : -1)) & 0xff; break; }
      case 7: if (len >= 2) writeInt(out, rng.below(len - 1), 2, INTERESTING_16[rng.below(INTERESTING_16.length)], rng); break;
      case 8: if (len >= 4) writeInt(out, rng.below(len - 3), 4, INTERESTING_32[rng.below(INTERESTING_32.length)], rng); break;
      case 9: if (len >= 4) { // add to a 32-bit little-endian word
        const at = rng.below(len - 3);
        const v = (out[at] | (out[at + 1] << 8) | (out[at + 2] << 16) | (out[at + 3] << 24)) + (rng.below(65) - 32);
        writeInt(out, at, 4, v >>> 0, null);
      } break;
      case 10: case 11: { // delete a block
        const at = rng.below(len);
        const n = 1 + rng.below(Math.min(len - at, rng.below(4) === 0 ? 256 : 16));
        out.copyWithin(at, at + n, len);
        len -= n;
        break;
      }
      case 12: { // duplicate a block of itself
        const from = rng.below(len);
        const n = 1 + rng.below(Math.min(len - from, 128));
        len = insert(out, len, maxLen, rng.below(len + 1), out.slice(from, from + n));
        break;
      }
      case 13: { // overwrite with a block of itself
        const from = rng.below(len);
        const to = rng.below(len);
        const n = 1 + rng.below(Math.min(len - from, len - to, 64));
        out.copyWithin(to, from, from + n);
        break;
      }
      case 14: if (ctx.dictionary.length > 0) { // overwrite with a token
        const t = ctx.dictionary[rng.below(ctx.dictionary.length)];
        const at = rng.below(len);
        out.set(t.subarray(0, Math.min(t.length, len - at)), at);
      } break;
      case 15: len = rng.below(len + 1); break; // truncate
    }
  }
  return len;
}

function insert(out: Uint8Array, len: number, maxLen: number, at: number, piece: Uint8Array): number {
  const n = Math.min(piece.length, maxLen - len);
  if (n <= 0) return len;
  out.copyWithin(at + n, at, len);
  out.set(piece.subarray(0, n), at);
  return len + n;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.below(256);
  return b;
}

function pickNumber(rng: Rng): string {
  switch (rng.below(5)) {
    case 0: return String(rng.below(10));
    case 1: return String(rng.below(100000));
    case 2: return ['-1', '-0', '0.5', '1e308', '1e-7', '9007199254740993', '18446744073709551615', '18446744073709551616',
      '340282366920938463463374607431768211455', '340282366920938463463374607431768211456', '4294967296', '2147483648'][rng.below(12)];
    case 3: return String(rng.u32());
    default: return String(rng.u32()) + String(rng.u32()) + String(rng.u32());
  }
}

function writeInt(out: Uint8Array, at: number, bytes: number, v: number, rng: Rng | null): void {
  const bigEndian = rng !== null && rng.below(2) === 1;
  for (let i = 0; i < bytes; i++) {
    const byte = Math.floor(v / 2 ** (8 * i)) & 0xff;
    out[bigEndian ? at + bytes - 1 - i : at + i] = byte;
  }
}
