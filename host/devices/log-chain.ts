// host/devices/log-chain.ts: the command log's hashing unit, which the kernel
// calls when it seals a batch (kernel/log.ts logSeal, through hal
// "log_chain" in host/base/kernel.ts). For each whole entry of a region (layout:
// hal/log.ts): the RFC 6962 leaf hash, the chain hash on top of the
// previous one, and the CRC-32C; with `seal`, the chain and the CRC are
// written into the entry (a batch about to be written), without, only
// reported.
//
// Two implementations with one contract: the native addon's (SHA-256 with
// SHA-NI, CRC-32C with SSE 4.2: host/native/src/chain.rs) and this file's
// TypeScript one (node:crypto's SHA-256, a table CRC-32C), used when the
// addon is not there. test/unit/log-chain.test.ts holds them to the same
// bytes, and to the kernel's own SHA-256.

import { createHash } from 'node:crypto';
import * as log from '../../hal/log.ts';
import { crc32c, entryPadded } from '../base/log-entry.ts';
import { nativeAddon } from '../base/addon.ts';
import type { LogChainFn } from '../base/kernel.ts';

/** Bytes per entry in the output: leaf hash, chain hash, CRC-32C, reserved. */
export const CHAIN_OUT_BYTES = log.LOG_CHAIN_OUT_BYTES;

export type LogChain = LogChainFn;

const LEAF_PREFIX = Uint8Array.of(0);

/** The TypeScript implementation (the contract is the native one's, host/native/src/chain.rs). */
export const logChainTs: LogChain = (region, prev, out, seal) => {
  if (prev.length !== log.ENTRY_CHAIN_BYTES) throw new Error('log chain: the previous chain is 32 bytes');
  const dv = new DataView(region.buffer, region.byteOffset, region.byteLength);
  let chain: Uint8Array = prev.slice();
  let at = 0;
  let n = 0;
  while (at < region.length) {
    if (region.length - at < log.ENTRY_HEADER_BYTES || dv.getUint32(at, true) !== log.ENTRY_MAGIC) throw new Error(`log chain: no entry at byte ${at}`);
    const total = dv.getUint32(at + log.ENTRY_TOTAL, true);
    const padded = entryPadded(total);
    if (total < log.ENTRY_HEADER_BYTES || padded > region.length - at) throw new Error(`log chain: the entry at byte ${at} is not whole`);
    if ((n + 1) * CHAIN_OUT_BYTES > out.length) throw new Error('log chain: the output holds fewer entries than the region');
    const e = region.subarray(at, at + total);
    const leaf = createHash('sha256').update(LEAF_PREFIX).update(e.subarray(log.ENTRY_LEAF_FROM, log.ENTRY_CHAIN))
      .update(e.subarray(log.ENTRY_HEADER_BYTES)).digest();
    chain = createHash('sha256').update(chain).update(leaf).digest();
    if (seal) e.set(chain, log.ENTRY_CHAIN);
    const crc = crc32c(e.subarray(log.ENTRY_CRC_FROM));
    if (seal) dv.setUint32(at + log.ENTRY_CRC, crc, true);
    const o = out.subarray(n * CHAIN_OUT_BYTES, (n + 1) * CHAIN_OUT_BYTES);
    o.set(leaf, 0);
    o.set(chain, 32);
    new DataView(o.buffer, o.byteOffset, CHAIN_OUT_BYTES).setUint32(64, crc, true);
    o.fill(0, 68);
    at += padded;
    n++;
  }
  return n;
};

/** The native implementation when the addon has it (and `choice` allows), else the TypeScript one. */
export function logChainFor(choice: 'auto' | 'native' | 'pure' = 'auto'): { chain: LogChain; kind: 'native' | 'typescript' } {
  const addon = choice === 'pure' ? null : nativeAddon();
  if (addon?.logChain !== undefined) {
    const f = addon.logChain.bind(addon);
    return { chain: f, kind: 'native' };
  }
  if (choice === 'native') throw new Error('the native log hashing was asked for, but the addon does not have it');
  return { chain: logChainTs, kind: 'typescript' };
}
