// test/bench/ledger/hash.ts: the kernel's SHA-256 (lib/sha256.ts,
// through build/test/kernel-lib.wasm, compiled as the kernel is) against
// node:crypto's on the same bytes. The command log hashes every request it
// appends (kernel/log.ts), so this rate bounds how fast a single kernel can
// make requests durable: the end-to-end phase's notes turn it into the
// milliseconds of hashing in each 8189-transfer request.
//
// Each round hashes ROUND_BYTES in CHUNK_BYTES pieces; the best of ROUNDS
// rounds counts (the machine's other processes only ever slow a round down).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support.ts';

export const KERNEL_LIB_WASM = join(ROOT, 'build/test/kernel-lib.wasm');
const CHUNK_BYTES = 1 << 20;
const ROUND_BYTES = 32 << 20;
const ROUNDS = 5;

interface KernelLib {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  sha256_of(ptr: number, len: number, out: number): void;
}

export interface HashResult {
  wasmMbPerS: number;
  nodeMbPerS: number;
}

function bestMbPerS(hashChunk: () => void): number {
  let bestMs = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    for (let done = 0; done < ROUND_BYTES; done += CHUNK_BYTES) hashChunk();
    bestMs = Math.min(bestMs, performance.now() - started);
  }
  return ROUND_BYTES / 1e6 / (bestMs / 1000);
}

export function runHash(): HashResult {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(KERNEL_LIB_WASM)), {
    env: { abort: () => { throw new Error('kernel-lib.wasm aborted'); } },
  });
  const lib = instance.exports as unknown as KernelLib;
  const input = lib.alloc(CHUNK_BYTES);
  const out = lib.alloc(32);
  const bytes = new Uint8Array(CHUNK_BYTES);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  new Uint8Array(lib.memory.buffer).set(bytes, input);
  lib.sha256_of(input, CHUNK_BYTES, out);
  const ours = Buffer.from(new Uint8Array(lib.memory.buffer, out, 32)).toString('hex');
  const theirs = createHash('sha256').update(bytes).digest('hex');
  if (ours !== theirs) throw new Error(`kernel SHA-256 disagrees with node:crypto: ${ours} vs ${theirs}`);
  return {
    wasmMbPerS: bestMbPerS(() => lib.sha256_of(input, CHUNK_BYTES, out)),
    nodeMbPerS: bestMbPerS(() => { createHash('sha256').update(bytes).digest(); }),
  };
}
