// host/audit/log.ts: reads and checks a data directory's command log from
// outside the kernel, for `qenex audit` (host/cmd/audit.ts).
//
// Walks every entry (layout: hal/log.ts) and checks what recovery
// checks (magic, length, CRC-32C, sequence, time, batch order, genesis) and
// the hash chain, computing each entry's RFC 6962 leaf hash
// SHA-256(0x00 ‖ bytes [8, 56) ‖ payload) and chain SHA-256(prev ‖ leaf).
// The first entry that fails is named with its sequence number, offset and
// reason. Bytes after the last valid entry must be zeros (preallocation);
// anything else is reported: a torn write or an edit.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_FILE, openSegmentedLog } from '../devices/segmented-log.ts';
import { HASH_BYTES, sha256 } from './merkle.ts';
import {
  ENTRY_MAGIC, ENTRY_HEADER_BYTES, ENTRY_BYTES_MAX, ENTRY_GENESIS, ENTRY_INPUT, ENTRY_TICK, ENTRY_ENTROPY, ENTRY_CHECKPOINT, ENTRY_HSM,
  ENTRY_CHAIN, ENTRY_CHAIN_BYTES,
} from '../../hal/log.ts';
import { entryCrc, entryPadded, leafDataOf, magicVersion, readEntryHeader } from '../base/log-entry.ts';

export { LOG_FILE };
const LEAF_PREFIX = new Uint8Array([0]); // RFC 6962 leaf domain separator
export const ENTRY_TYPE_NAMES: Record<number, string> = {
  [ENTRY_GENESIS]: 'genesis', [ENTRY_INPUT]: 'input', [ENTRY_TICK]: 'tick', [ENTRY_ENTROPY]: 'entropy', [ENTRY_CHECKPOINT]: 'checkpoint', [ENTRY_HSM]: 'hsm',
};

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

// A data directory's (unencrypted) log through its segments, archived ones
// from <dataDir>/archive (host/devices/segmented-log.ts).
function readSegments(dataDir: string): Uint8Array {
  const log = openSegmentedLog(dataDir, { create: false, lock: false, readOnly: true, notice: () => {} });
  try {
    const out = new Uint8Array(log.size());
    return out.subarray(0, log.readAt(0, out));
  } finally {
    log.close();
  }
}

/**
 * Reads and checks the log of `dataDir` (or of one log file's path).
 * `logical`: the log's bytes as already read (an encrypted log, decrypted
 * by the caller).
 */
export function readAuditLog(dataDirOrFile: string, imageDigest?: Uint8Array, logical?: Uint8Array): LogReadout {
  const file = dataDirOrFile.endsWith('.qxl');
  const path = file ? dataDirOrFile : join(dataDirOrFile, LOG_FILE);
  return parseAuditLog(logical ?? (file ? readAll(path) : readSegments(dataDirOrFile)), path, imageDigest);
}

/** Checks a log's bytes (`path` names it in the readout): its entries up to the first that is not valid. */
export function parseAuditLog(bytes: Uint8Array, path: string, imageDigest?: Uint8Array): LogReadout {
  const entries: AuditEntry[] = [];
  let chain: Uint8Array = new Uint8Array(HASH_BYTES);
  let off = 0;
  let lastTime = 0n;
  let lastBatch = -1n;
  const bad = (reason: string): LogReadout => ({ path, entries, problem: { seq: entries.length, offset: off, reason }, endOffset: off });
  while (off + 8 <= bytes.length) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + off, 8);
    if (dv.getUint32(0, true) === 0 && bytes.subarray(off, Math.min(bytes.length, off + ENTRY_HEADER_BYTES)).every((b) => b === 0)) break;
    if (off + ENTRY_HEADER_BYTES > bytes.length) return bad('truncated header');
    const h = readEntryHeader(bytes, off);
    if (h.magic !== ENTRY_MAGIC) {
      const version = magicVersion(h.magic);
      return bad(version === null ? 'bad magic' : `log format ${version}; this reader knows format ${magicVersion(ENTRY_MAGIC)}`);
    }
    const total = h.total;
    if (total < ENTRY_HEADER_BYTES || total > ENTRY_BYTES_MAX) return bad(`bad length ${total}`);
    const padded = entryPadded(total);
    if (off + padded > bytes.length) return bad('truncated entry');
    const e = bytes.subarray(off, off + total);
    if (entryCrc(e) !== h.crc) return bad('checksum mismatch');
    for (let i = total; i < padded; i++) if (bytes[off + i] !== 0) return bad('nonzero padding');
    if (h.seq !== BigInt(entries.length)) return bad(`sequence gap: entry says ${h.seq}`);
    const leafData = leafDataOf(e);
    const leaf = sha256(LEAF_PREFIX, leafData);
    const next = sha256(chain, leaf);
    if (!Buffer.from(next).equals(Buffer.from(e.subarray(ENTRY_CHAIN, ENTRY_CHAIN + ENTRY_CHAIN_BYTES)))) return bad('hash chain broken');
    const { type, timeNs, batch } = h;
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
