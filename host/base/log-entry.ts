// host/base/log-entry.ts: the host's codec of a command-log entry (layout:
// hal/log.ts): the header fields, the padded size, the CRC-32C and the
// leaf data. The audit reader (host/audit/log.ts), snapshots
// (host/snapshot.ts), the migration command and the tests read entries
// through this, so the layout is written out once.

import * as log from '../../hal/log.ts';

export interface EntryHeader {
  magic: number;
  crc: number;
  total: number;
  type: number;
  service: number;
  seq: bigint;
  timeNs: bigint;
  batch: bigint;
  conn: bigint;
  request: number;
  batchIndex: number;
}

/** The header of the entry at `offset` (ENTRY_HEADER_BYTES must be there). */
export function readEntryHeader(bytes: Uint8Array, offset = 0): EntryHeader {
  if (offset + log.ENTRY_HEADER_BYTES > bytes.length) throw new RangeError(`no entry header at ${offset}: ${bytes.length} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, log.ENTRY_HEADER_BYTES);
  return {
    magic: dv.getUint32(0, true),
    crc: dv.getUint32(log.ENTRY_CRC, true),
    total: dv.getUint32(log.ENTRY_TOTAL, true),
    type: dv.getUint16(log.ENTRY_TYPE, true),
    service: dv.getUint16(log.ENTRY_SERVICE, true),
    seq: dv.getBigUint64(log.ENTRY_SEQ, true),
    timeNs: dv.getBigUint64(log.ENTRY_TIME, true),
    batch: dv.getBigUint64(log.ENTRY_BATCH, true),
    conn: dv.getBigUint64(log.ENTRY_CONN, true),
    request: dv.getUint32(log.ENTRY_REQUEST, true),
    batchIndex: dv.getUint32(log.ENTRY_BATCH_INDEX, true),
  };
}

/** An entry's size on disk. */
export function entryPadded(total: number): number {
  return Math.ceil(total / log.ENTRY_ALIGN) * log.ENTRY_ALIGN;
}

/**
 * The log format version a magic names ('Q' 'X' 'L' and an ASCII digit), or
 * null when it is not an entry's magic at all.
 */
export function magicVersion(magic: number): number | null {
  if ((magic & 0xffffff) !== log.ENTRY_MAGIC_PREFIX) return null;
  const digit = magic >>> 24;
  return digit >= 0x30 && digit <= 0x39 ? digit - 0x30 : null;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as the kernel computes it (lib/crc32c.ts). */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The CRC an entry (its `total` bytes) must carry. */
export function entryCrc(entry: Uint8Array): number {
  return crc32c(entry.subarray(log.ENTRY_CRC_FROM));
}

/** Bytes [ENTRY_LEAF_FROM, ENTRY_CHAIN) ‖ payload: the data of the entry's RFC 6962 leaf. */
export function leafDataOf(entry: Uint8Array): Uint8Array {
  const head = log.ENTRY_CHAIN - log.ENTRY_LEAF_FROM;
  const out = new Uint8Array(head + entry.length - log.ENTRY_HEADER_BYTES);
  out.set(entry.subarray(log.ENTRY_LEAF_FROM, log.ENTRY_CHAIN), 0);
  out.set(entry.subarray(log.ENTRY_HEADER_BYTES), head);
  return out;
}

/** The chain hash an entry carries. */
export function entryChainOf(entry: Uint8Array): Uint8Array {
  return entry.subarray(log.ENTRY_CHAIN, log.ENTRY_CHAIN + log.ENTRY_CHAIN_BYTES);
}
