// test/bench/ledger/hash.ts: the rates at which the command log's bytes are
// hashed. The kernel seals each batch through the host's hashing unit
// (kernel/log.ts logSeal; host/devices/log-chain.ts: the addon's SHA-256 and
// CRC-32C, or node:crypto's), and recovery verifies every entry with the
// kernel's own SHA-256 (lib/sha256.ts, through build/test/kernel-lib.wasm,
// compiled as the kernel is). The unit's rate bounds how fast one kernel
// can make requests durable: the end-to-end phase's notes turn it into the
// milliseconds of hashing in each 8189-transfer request.
//
// Each round hashes ROUND_BYTES in CHUNK_BYTES pieces; the best of ROUNDS
// rounds counts (the machine's other processes only ever slow a round down).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support.ts';
import * as log from '../../../hal/log.ts';
import { logChainFor } from '../../../host/devices/log-chain.ts';

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
  /** The log's hashing unit over one 1 MiB entry (leaf, chain, CRC, sealed). */
  unitMbPerS: number;
  unitKind: 'native' | 'typescript';
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
  const unit = logChainFor();
  const region = new Uint8Array(log.ENTRY_HEADER_BYTES + CHUNK_BYTES);
  const header = new DataView(region.buffer);
  header.setUint32(0, log.ENTRY_MAGIC, true);
  header.setUint32(log.ENTRY_TOTAL, region.length, true);
  region.set(bytes, log.ENTRY_HEADER_BYTES);
  const prev = new Uint8Array(log.ENTRY_CHAIN_BYTES);
  const unitOut = new Uint8Array(log.LOG_CHAIN_OUT_BYTES);
  return {
    wasmMbPerS: bestMbPerS(() => lib.sha256_of(input, CHUNK_BYTES, out)),
    nodeMbPerS: bestMbPerS(() => { createHash('sha256').update(bytes).digest(); }),
    unitMbPerS: bestMbPerS(() => { unit.chain(region, prev, unitOut, true); }),
    unitKind: unit.kind,
  };
}
