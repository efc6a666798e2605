// host/audit/log.ts: reads and checks a data directory's command log from
// outside the kernel, for `qenex audit` (host/cmd/audit.ts).
//
// Walks every entry (layout in kernel/log.ts) and checks what recovery
// checks (magic, length, CRC-32C, sequence, time, batch order, genesis) and
// the hash chain, computing each entry's RFC 6962 leaf hash
// SHA-256(0x00 ‖ bytes [8, 56) ‖ payload) and chain SHA-256(prev ‖ leaf).
// The first entry that fails is named with its sequence number, offset and
// reason. Bytes after the last valid entry must be zeros (preallocation);
// anything else is reported: a torn write or an edit.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HASH_BYTES, sha256 } from './merkle.ts';

export const LOG_FILE = 'log.qxl';
export const ENTRY_MAGIC = 0x314c5851;
export const ENTRY_HEADER_BYTES = 88;
export const ENTRY_GENESIS = 1;
export const ENTRY_INPUT = 2;
export const ENTRY_TICK = 3;
export const ENTRY_ENTROPY = 4;
export const ENTRY_CHECKPOINT = 5;
export const ENTRY_HSM = 6; // an HSM result for a service (kernel/hsm.ts)
export const ENTRY_TYPE_NAMES: Record<number, string> = { 1: 'genesis', 2: 'input', 3: 'tick', 4: 'entropy', 5: 'checkpoint', 6: 'hsm' };
// Larger than any entry a manifest allows (message_bytes_max is at most 16 MiB).
const ENTRY_BYTES_MAX = 64 * 1024 * 1024;

export interface AuditEntry {
  seq: number;
  offset: number;
  total: number;
  type: number;
  timeNs: bigint;
  batch: bigint;
  /** Bytes [8, 56) ‖ payload: the leaf's data. */
  leafData: Uint8Array;
  leaf: Uint8Array;
  chain: Uint8Array;
  payload: Uint8Array;
}

export interface LogProblem {
  seq: number;
  offset: number;
  reason: string;
}

export interface LogReadout {
  path: string;
  entries: AuditEntry[];
  /** The first bad entry, or null when every byte checks out. */
  problem: LogProblem | null;
  /** Where the valid log ends. */
  endOffset: number;
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

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const LEAF_PREFIX = new Uint8Array([0]);

export function leafDataOf(entry: Uint8Array): Uint8Array {
  const out = new Uint8Array(48 + entry.length - ENTRY_HEADER_BYTES);
  out.set(entry.subarray(8, 56), 0);
  out.set(entry.subarray(ENTRY_HEADER_BYTES), 48);
  return out;
}

function readAll(path: string): Uint8Array {
  const size = statSync(path).size;
  const out = new Uint8Array(size);
  const fd = openSync(path, 'r');
  try {
    let at = 0;
    while (at < size) {
      const n = readSync(fd, out, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return out.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads and checks the log of `dataDir` (or a log file path). `logical`: the
 * log's bytes as already read (an encrypted log, decrypted by the caller).
 */
export function readAuditLog(dataDirOrFile: string, imageDigest?: Uint8Array, logical?: Uint8Array): LogReadout {
  const path = dataDirOrFile.endsWith('.qxl') ? dataDirOrFile : join(dataDirOrFile, LOG_FILE);
  return parseAuditLog(logical ?? readAll(path), path, imageDigest);
}

/** Checks a log's bytes (`path` names it in the readout): its entries up to the first that is not valid. */
export function parseAuditLog(bytes: Uint8Array, path: string, imageDigest?: Uint8Array): LogReadout {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: AuditEntry[] = [];
  let chain: Uint8Array = new Uint8Array(HASH_BYTES);
  let off = 0;
  let lastTime = 0n;
  let lastBatch = -1n;
  const bad = (reason: string): LogReadout => ({ path, entries, problem: { seq: entries.length, offset: off, reason }, endOffset: off });
  while (off + 8 <= bytes.length) {
    if (dv.getUint32(off, true) === 0 && bytes.subarray(off, Math.min(bytes.length, off + ENTRY_HEADER_BYTES)).every((b) => b === 0)) break;
    if (off + ENTRY_HEADER_BYTES > bytes.length) return bad('truncated header');
    if (dv.getUint32(off, true) !== ENTRY_MAGIC) return bad('bad magic');
    const total = dv.getUint32(off + 8, true);
    if (total < ENTRY_HEADER_BYTES || total > ENTRY_BYTES_MAX) return bad(`bad length ${total}`);
    const padded = (total + 7) & ~7;
    if (off + padded > bytes.length) return bad('truncated entry');
    const e = bytes.subarray(off, off + total);
    if (crc32c(e.subarray(8)) !== dv.getUint32(off + 4, true)) return bad('checksum mismatch');
    for (let i = total; i < padded; i++) if (bytes[off + i] !== 0) return bad('nonzero padding');
    const seq = dv.getBigUint64(off + 16, true);
    if (seq !== BigInt(entries.length)) return bad(`sequence gap: entry says ${seq}`);
    const leafData = leafDataOf(e);
    const leaf = sha256(LEAF_PREFIX, leafData);
    const next = sha256(chain, leaf);
    if (!Buffer.from(next).equals(Buffer.from(e.subarray(56, 88)))) return bad('hash chain broken');
    const type = dv.getUint16(off + 12, true);
    const timeNs = dv.getBigUint64(off + 24, true);
    const batch = dv.getBigUint64(off + 32, true);
    if (entries.length > 0 && timeNs <= lastTime) return bad('time went backwards');
    if (batch < lastBatch) return bad('batch number went backwards');
    if ((entries.length === 0) !== (type === ENTRY_GENESIS)) return bad('genesis entry misplaced');
    if (ENTRY_TYPE_NAMES[type] === undefined) return bad(`unknown entry type ${type}`);
    const payload = e.slice(ENTRY_HEADER_BYTES);
    if (type === ENTRY_GENESIS && imageDigest !== undefined && !Buffer.from(payload).equals(Buffer.from(imageDigest))) {
      return bad('log belongs to another image');
    }
    entries.push({ seq: entries.length, offset: off, total, type, timeNs, batch, leafData, leaf, chain: next, payload });
    chain = next;
    lastTime = timeNs;
    lastBatch = batch;
    off += padded;
  }
  const stray = firstNonZero(bytes, off);
  if (stray >= 0) return { path, entries, problem: { seq: entries.length, offset: stray, reason: 'nonzero bytes after the last entry (a torn write or an edit)' }, endOffset: off };
  return { path, entries, problem: null, endOffset: off };
}

const ZEROS = Buffer.alloc(64 * 1024);

/** The offset of the first nonzero byte at or after `from`, or -1 (chunked memcmp: logs are preallocated). */
function firstNonZero(bytes: Uint8Array, from: number): number {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = from; at < b.length; at += ZEROS.length) {
    const end = Math.min(b.length, at + ZEROS.length);
    if (b.subarray(at, end).equals(ZEROS.subarray(0, end - at))) continue;
    for (let i = at; i < end; i++) if (b[i] !== 0) return i;
  }
  return -1;
}
