// host/base/shake.ts: SHAKE128 and SHAKE256 (FIPS 202) on node:crypto, in
// the shape @noble/post-quantum's ML-DSA uses from @noble/hashes/sha3.js.
//
// The bundled CLI (Makefile, esbuild --alias) gives ML-DSA these instead of
// @noble/hashes' JavaScript Keccak: checking an image's ML-DSA-65 signature
// runs ~200 Keccak permutations, which cold JavaScript took ~20 ms of every
// boot for (issue 16); OpenSSL's take microseconds. Same function, same
// bytes: only the implementation of the hash changes, never what is checked
// (test/unit/shake.test.ts compares both, and ML-DSA signatures made and
// checked by each). Run from source, ML-DSA keeps @noble/hashes' own.
//
// What ML-DSA needs, and all this provides: `shake(msg, { dkLen })`, the
// hash's blockLen and outputLen, and `shake.create(opts)` with update(),
// digest() (dkLen bytes), xofInto() (the next bytes of the output stream)
// and destroy().

import { createHash, type Hash } from 'node:crypto';

/** An output stream is read ahead this many blocks at a time (ML-DSA's rejection sampling reads ~5 of SHAKE128's). */
const READ_AHEAD_BLOCKS = 8;

interface ShakeOptions { dkLen?: number }

class NativeShake {
  private readonly hash: Hash;
  private ahead: Buffer | null = null;
  private squeezed = 0;

  constructor(private readonly algorithm: string, readonly blockLen: number, readonly outputLen: number) {
    this.hash = createHash(algorithm, { outputLength: outputLen });
  }

  update(data: Uint8Array): this {
    if (this.ahead !== null) throw new Error(`${this.algorithm}: update after the output was read`);
    this.hash.update(data);
    return this;
  }

  /** The next out.length bytes of the output stream. */
  xofInto(out: Uint8Array): Uint8Array {
    const end = this.squeezed + out.length;
    if (this.ahead === null || this.ahead.length < end) {
      // A longer output of the same input starts with the shorter one: read further ahead, from the start.
      const length = Math.max(end, 2 * (this.ahead?.length ?? 0), READ_AHEAD_BLOCKS * this.blockLen);
      this.ahead = this.hash.copy({ outputLength: length }).digest();
    }
    out.set(this.ahead.subarray(this.squeezed, end));
    this.squeezed = end;
    return out;
  }

  xof(bytes: number): Uint8Array {
    return this.xofInto(new Uint8Array(bytes));
  }

  digest(): Uint8Array {
    if (this.ahead !== null) throw new Error(`${this.algorithm}: digest after the output was read`);
    const d = this.hash.digest();
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }

  destroy(): void {
    this.ahead = null;
  }
}

type Shake = ((msg: Uint8Array, opts?: ShakeOptions) => Uint8Array) & {
  readonly blockLen: number;
  readonly outputLen: number;
  readonly canXOF: boolean;
  create(opts?: ShakeOptions): NativeShake;
};

function shake(algorithm: string, blockLen: number, outputLen: number): Shake {
  const create = (opts?: ShakeOptions) => new NativeShake(algorithm, blockLen, opts?.dkLen ?? outputLen);
  const fn = (msg: Uint8Array, opts?: ShakeOptions) => create(opts).update(msg).digest();
  return Object.freeze(Object.assign(fn, { blockLen, outputLen, canXOF: true, create }));
}

export const shake128 = shake('shake128', 168, 16);
export const shake256 = shake('shake256', 136, 32);
