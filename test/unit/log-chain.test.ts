// test/unit/log-chain.test.ts: the command log's hashing for the crypto
// device (host/devices/log-chain.ts), native (host/native/src/chain.rs) and
// TypeScript. Proves, on generated batches of entries (one to many, empty to
// large payloads, random bytes):
//   - both produce the same leaf hashes, chain hashes and CRCs, and sealing
//     leaves the same bytes in the region;
//   - what they compute is what the kernel computes with its own SHA-256 and
//     CRC-32C (lib/ through build/test/kernel-lib.wasm): leaf = SHA-256(0x00
//     ‖ bytes [8, 56) ‖ payload), chain = SHA-256(previous ‖ leaf), CRC over
//     [8, total) after the chain is in place;
//   - a sealed region reads back as a valid chain (host/audit/log.ts), and
//     hashing it again without sealing reports the CRCs it carries;
//   - a region that is not whole entries is refused, not hashed in part.
// The native half is skipped (with a note) only when the addon is missing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import * as log from '../../hal/log.ts';
import { entryPadded } from '../../host/base/log-entry.ts';
import { CHAIN_OUT_BYTES, logChainFor, logChainTs, type LogChain } from '../../host/devices/log-chain.ts';
import { parseAuditLog } from '../../host/audit/log.ts';
import { ascIfStale } from '../support/asc.ts';

const native = (() => { try { return logChainFor('native').chain; } catch { return null; } })();

interface KernelLib {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  sha256_of(ptr: number, len: number, out: number): void;
  crc32c_of(ptr: number, len: number): number;
}
const wasm = ascIfStale('test/assembly/kernel-lib.ts', 'build/test/kernel-lib.wasm', ['lib']);
const k = (await WebAssembly.instantiate(readFileSync(wasm), { env: { abort() { throw new Error('abort'); } } })).instance.exports as unknown as KernelLib;
const IN = k.alloc(2 << 20);
const OUT = k.alloc(32);
function kernelSha(...parts: Uint8Array[]): Buffer {
  const all = Buffer.concat(parts);
  new Uint8Array(k.memory.buffer, IN, all.length).set(all);
  k.sha256_of(IN, all.length, OUT);
  return Buffer.from(new Uint8Array(k.memory.buffer, OUT, 32));
}
function kernelCrc(bytes: Uint8Array): number {
  new Uint8Array(k.memory.buffer, IN, bytes.length).set(bytes);
  return k.crc32c_of(IN, bytes.length) >>> 0;
}

/** Entries with the given payloads (magic and total set, the rest of the header random). */
function region(payloads: readonly Uint8Array[], headers: Uint8Array): Uint8Array {
  const parts = payloads.map((p, i) => {
    const total = log.ENTRY_HEADER_BYTES + p.length;
    const e = new Uint8Array(entryPadded(total));
    e.set(headers.subarray(0, log.ENTRY_HEADER_BYTES), 0);
    const dv = new DataView(e.buffer);
    dv.setUint32(0, log.ENTRY_MAGIC, true);
    dv.setUint32(log.ENTRY_TOTAL, total, true);
    dv.setUint16(log.ENTRY_TYPE, i === 0 ? log.ENTRY_GENESIS : log.ENTRY_INPUT, true);
    dv.setBigUint64(log.ENTRY_SEQ, BigInt(i), true);
    dv.setBigUint64(log.ENTRY_TIME, BigInt(1000 + i), true);
    dv.setBigUint64(log.ENTRY_BATCH, 0n, true);
    e.set(p, log.ENTRY_HEADER_BYTES);
    return e;
  });
  return Buffer.concat(parts);
}

const batches = fc.record({
  payloads: fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 1000, maxLength: 5000 })), { minLength: 1, maxLength: 12 }),
  headers: fc.uint8Array({ minLength: log.ENTRY_HEADER_BYTES, maxLength: log.ENTRY_HEADER_BYTES }),
});

test('TypeScript and native agree, and agree with the kernel\'s SHA-256 and CRC-32C', () => {
  fc.assert(fc.property(batches, ({ payloads, headers }) => {
    const a = region(payloads, headers);
    const out = new Uint8Array(payloads.length * CHAIN_OUT_BYTES);
    assert.is(logChainTs(a, new Uint8Array(32), out, true), payloads.length);
    // The kernel's way, entry by entry.
    let chain: Uint8Array = new Uint8Array(32);
    let at = 0;
    payloads.forEach((p, i) => {
      const total = log.ENTRY_HEADER_BYTES + p.length;
      const e = a.subarray(at, at + total);
      const leaf = kernelSha(Uint8Array.of(0), e.subarray(log.ENTRY_LEAF_FROM, log.ENTRY_CHAIN), e.subarray(log.ENTRY_HEADER_BYTES));
      chain = kernelSha(chain, leaf);
      assert.equal([...out.subarray(i * CHAIN_OUT_BYTES, i * CHAIN_OUT_BYTES + 32)], [...leaf], `leaf ${i}`);
      assert.equal([...e.subarray(log.ENTRY_CHAIN, log.ENTRY_CHAIN + 32)], [...chain], `chain ${i} sealed into the entry`);
      const crc = new DataView(e.buffer, e.byteOffset).getUint32(log.ENTRY_CRC, true);
      assert.is(crc, kernelCrc(e.subarray(log.ENTRY_CRC_FROM)), `crc ${i}`);
      at += entryPadded(total);
    });
    if (native !== null) {
      const b = region(payloads, headers);
      const nout = new Uint8Array(payloads.length * CHAIN_OUT_BYTES);
      assert.is(native(b, new Uint8Array(32), nout, true), payloads.length);
      assert.ok(Buffer.from(a).equals(Buffer.from(b)), 'the same sealed bytes');
      assert.ok(Buffer.from(out).equals(Buffer.from(nout)), 'the same output');
    }
  }), { numRuns: 60, seed: 0x10c });
});

test('a sealed region is a valid chain, and hashing it again reports what it carries', () => {
  for (const f of [logChainTs, native].filter((x): x is LogChain => x !== null)) {
    const payloads = [createHash('sha256').update('image').digest(), Buffer.alloc(300, 7), Buffer.alloc(5, 1)];
    const r = region(payloads, new Uint8Array(log.ENTRY_HEADER_BYTES));
    const out = new Uint8Array(3 * CHAIN_OUT_BYTES);
    f(r, new Uint8Array(32), out, true);
    const readout = parseAuditLog(r, 'chain.qxl');
    assert.is(readout.problem, null, readout.problem?.reason);
    assert.is(readout.entries.length, 3);
    const again = new Uint8Array(3 * CHAIN_OUT_BYTES);
    const copy = Uint8Array.from(r);
    f(copy, new Uint8Array(32), again, false);
    assert.ok(Buffer.from(copy).equals(Buffer.from(r)), 'without seal nothing is written');
    assert.ok(Buffer.from(again).equals(Buffer.from(out)), 'the same leaves, chains and CRCs');
  }
});

test('a region that is not whole entries is refused', () => {
  for (const f of [logChainTs, native].filter((x): x is LogChain => x !== null)) {
    const r = region([Buffer.alloc(100)], new Uint8Array(log.ENTRY_HEADER_BYTES));
    const out = new Uint8Array(4 * CHAIN_OUT_BYTES);
    assert.throws(() => f(r.subarray(0, r.length - 8), new Uint8Array(32), out, true), /not whole/);
    const bad = Uint8Array.from(r);
    bad[0] ^= 1;
    assert.throws(() => f(bad, new Uint8Array(32), out, true), /no entry at byte 0/);
    assert.throws(() => f(Buffer.concat([r, r]), new Uint8Array(32), out.subarray(0, CHAIN_OUT_BYTES), true), /output holds fewer/);
    assert.throws(() => f(r, new Uint8Array(31), out, true), /32 bytes/);
  }
  if (native === null) console.log('note: the native addon has no logChain here; only the TypeScript half ran');
});

test.run();
