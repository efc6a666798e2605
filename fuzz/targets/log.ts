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
import { parseAuditLog } from '../../host/audit/log.ts';
import {
  ENTRY_HEADER_BYTES, ENTRY_MAGIC, ENTRY_GENESIS, ENTRY_INPUT, ENTRY_TICK, ENTRY_ENTROPY, ENTRY_CHECKPOINT, ENTRY_HSM,
  ENTRY_CHAIN, ENTRY_CRC, ENTRY_TOTAL, ENTRY_TYPE, ENTRY_SEQ, ENTRY_TIME, ENTRY_BATCH,
} from '../../hal/log.ts';
import { entryCrc, entryPadded, leafDataOf } from '../../host/base/log-entry.ts';
import { expect, type FuzzTarget } from '../target.ts';

const u32le = (v: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); return b; };
const sha256 = (...parts: Uint8Array[]): Buffer => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };

/** Recomputes chain, CRC and padding of each entry the walk reaches, in place. */
export function fixEntries(bytes: Uint8Array): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let chain: Uint8Array = new Uint8Array(32);
  let off = 0;
  while (off + ENTRY_HEADER_BYTES <= bytes.length && dv.getUint32(off, true) === ENTRY_MAGIC) {
    const total = dv.getUint32(off + ENTRY_TOTAL, true);
    if (total < ENTRY_HEADER_BYTES || total > bytes.length) return;
    const padded = entryPadded(total);
    if (off + padded > bytes.length) return;
    const e = bytes.subarray(off, off + total);
    chain = sha256(chain, sha256(Uint8Array.of(0), leafDataOf(e)));
    e.set(chain, ENTRY_CHAIN);
    dv.setUint32(off + ENTRY_CRC, entryCrc(e), true);
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
    end = e.offset + entryPadded(e.total);
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
    const e = new Uint8Array(entryPadded(total));
    const dv = new DataView(e.buffer);
    dv.setUint32(0, ENTRY_MAGIC, true);
    dv.setUint32(ENTRY_TOTAL, total, true);
    dv.setUint16(ENTRY_TYPE, i === 0 ? ENTRY_GENESIS : ENTRY_INPUT, true);
    dv.setBigUint64(ENTRY_SEQ, BigInt(i), true);
    dv.setBigUint64(ENTRY_TIME, BigInt(1000 + i * 10), true);
    dv.setBigUint64(ENTRY_BATCH, BigInt(i >> 1), true);
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
  dictionary: [u32le(ENTRY_MAGIC), u32le(ENTRY_HEADER_BYTES), ...[ENTRY_GENESIS, ENTRY_INPUT, ENTRY_TICK, ENTRY_ENTROPY, ENTRY_CHECKPOINT, ENTRY_HSM].map((t) => Uint8Array.of(t, 0))],
  check: checkLog,
};
