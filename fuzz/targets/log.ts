// fuzz/targets/log.ts: the command log's entries as the audit tools read them
// (host/audit/log.ts parseAuditLog, under `qenex audit` and `qenex log`): a
// log file is outside bytes to an auditor. The first input byte chooses the
// mode: odd, the bytes are first made as valid as they can be (each entry
// the walk reaches gets its hash chain and CRC-32C recomputed and zero
// padding), so that mutations reach the checks behind the checksum
// (sequence, time, batch, genesis, types); even, they are read as they are.
// The oracle: the reader never throws; the entries it accepts are
// consecutive from offset 0 (each at the previous one's padded end, with
// sequence numbers 0, 1, 2, ...) and end at endOffset; a readout without a
// problem has nothing but zeros after endOffset; and reading just the bytes
// up to endOffset gives the same entries and no problem.

import { createHash } from 'node:crypto';
import { crc32c, leafDataOf, parseAuditLog, ENTRY_HEADER_BYTES, ENTRY_MAGIC, ENTRY_GENESIS, ENTRY_INPUT } from '../../host/audit/log.ts';
import { expect, type FuzzTarget } from '../target.ts';

const sha256 = (...parts: Uint8Array[]): Buffer => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };

/** Recomputes chain, CRC and padding of each entry the walk reaches, in place. */
export function fixEntries(bytes: Uint8Array): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let chain: Uint8Array = new Uint8Array(32);
  let off = 0;
  while (off + ENTRY_HEADER_BYTES <= bytes.length && dv.getUint32(off, true) === ENTRY_MAGIC) {
    const total = dv.getUint32(off + 8, true);
    if (total < ENTRY_HEADER_BYTES || total > bytes.length) return;
    const padded = (total + 7) & ~7;
    if (off + padded > bytes.length) return;
    const e = bytes.subarray(off, off + total);
    chain = sha256(chain, sha256(Uint8Array.of(0), leafDataOf(e)));
    e.set(chain, 56);
    dv.setUint32(off + 4, crc32c(e.subarray(8)), true);
    bytes.fill(0, off + total, off + padded);
    off += padded;
  }
}

export function checkLog(input: Uint8Array): void {
  if (input.length === 0) return;
  const bytes = input.slice(1);
  if ((input[0] & 1) === 1) fixEntries(bytes);
  const r = parseAuditLog(bytes, 'fuzz.qxl');
  let end = 0;
  r.entries.forEach((e, i) => {
    expect(e.seq === i, `entry ${i} has sequence ${e.seq}`);
    expect(e.offset === end, `entry ${i} at ${e.offset}, not where the one before ended (${end})`);
    expect(e.total >= ENTRY_HEADER_BYTES && e.payload.length === e.total - ENTRY_HEADER_BYTES, `entry ${i}: total ${e.total}, payload ${e.payload.length}`);
    end = e.offset + ((e.total + 7) & ~7);
  });
  expect(r.endOffset === end, `endOffset ${r.endOffset}, entries end at ${end}`);
  if (r.problem === null) {
    for (let i = end; i < bytes.length; i++) expect(bytes[i] === 0, `no problem reported, yet byte ${i} after the log is not zero`);
  } else {
    expect(r.problem.seq === r.entries.length && r.problem.reason.length > 0, 'a problem names the entry after the valid ones, and why');
  }
  const prefix = parseAuditLog(bytes.subarray(0, end), 'fuzz.qxl');
  expect(prefix.problem === null && prefix.entries.length === r.entries.length, `the valid prefix read alone: ${prefix.entries.length} entries, problem ${prefix.problem?.reason ?? 'none'}`);
}

/** A log of `n` entries (a genesis, then inputs) with valid chains and checksums: the seed of the corpus. */
export function sampleLog(n: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const payload = i === 0 ? new Uint8Array(32).fill(7) : Buffer.from(`input ${i}`.repeat(i), 'latin1');
    const total = ENTRY_HEADER_BYTES + payload.length;
    const e = new Uint8Array((total + 7) & ~7);
    const dv = new DataView(e.buffer);
    dv.setUint32(0, ENTRY_MAGIC, true);
    dv.setUint32(8, total, true);
    dv.setUint16(12, i === 0 ? ENTRY_GENESIS : ENTRY_INPUT, true);
    dv.setBigUint64(16, BigInt(i), true);
    dv.setBigUint64(24, BigInt(1000 + i * 10), true);
    dv.setBigUint64(32, BigInt(i >> 1), true);
    e.set(payload, ENTRY_HEADER_BYTES);
    parts.push(e);
  }
  const log = Buffer.concat([...parts, new Uint8Array(64)]);
  fixEntries(log);
  return Buffer.concat([Uint8Array.of(1), log]);
}

export const logTarget: FuzzTarget = {
  name: 'log',
  about: 'command log bytes as the audit tools read them: consecutive valid entries, and a valid prefix that reads alone',
  sources: ['host/audit/log.ts'],
  maxLen: 4096,
  dictionary: [Uint8Array.of(0x51, 0x58, 0x4c, 0x31), Uint8Array.of(88, 0, 0, 0), Uint8Array.of(1, 0), Uint8Array.of(2, 0), Uint8Array.of(5, 0), Uint8Array.of(6, 0)],
  check: checkLog,
};
