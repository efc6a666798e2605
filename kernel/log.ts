// kernel/log.ts: the command log. Every external input becomes an entry;
// entries are grouped into batches, one block write (with fdatasync) each;
// a batch is applied, and its replies released, only after the device says
// it is durable. While one batch is being written, new inputs gather in the
// next one: that is the group commit.
//
// Entry layout: hal/log.ts. The entry's bytes are hashed once, for its
// leaf in the RFC 6962 Merkle tree (kernel/audit.ts); the chain step hashes
// only the 64 bytes of previous chain and leaf.
// The CRC finds torn and flipped bytes cheaply; the chain makes any edit in
// the middle visible even when the editor recomputes the CRC; the Merkle
// tree lets a third party check one entry, or that a later log extends an
// earlier one, against a signed checkpoint (ENTRY_CHECKPOINT).

import { reserve } from "./base/mem";
import * as layout from "../hal/log";
import { BATCH_BUFFERS, BATCH_BYTES_MIN, BATCH_BYTES_MAX } from "./base/constants";
import { sha256Init, sha256Update, sha256Final, SHA256_CTX_BYTES } from "../lib/sha256";
import { crc32c } from "../lib/crc32c";
import { auditAppend } from "./audit";

// The layout (hal/log.ts) typed as the kernel uses it.
export const LOG_FORMAT_VERSION: u32 = layout.LOG_FORMAT_VERSION;
export const ENTRY_MAGIC_PREFIX: u32 = layout.ENTRY_MAGIC_PREFIX;
export const ENTRY_MAGIC: u32 = layout.ENTRY_MAGIC;
export const ENTRY_HEADER_BYTES: u32 = layout.ENTRY_HEADER_BYTES;
export const ENTRY_ALIGN: u32 = layout.ENTRY_ALIGN;
export const ENTRY_CRC: usize = layout.ENTRY_CRC;
export const ENTRY_TOTAL: usize = layout.ENTRY_TOTAL;
export const ENTRY_TYPE: usize = layout.ENTRY_TYPE;
export const ENTRY_SERVICE: usize = layout.ENTRY_SERVICE;
export const ENTRY_SEQ: usize = layout.ENTRY_SEQ;
export const ENTRY_TIME: usize = layout.ENTRY_TIME;
export const ENTRY_BATCH: usize = layout.ENTRY_BATCH;
export const ENTRY_CONN: usize = layout.ENTRY_CONN;
export const ENTRY_REQUEST: usize = layout.ENTRY_REQUEST;
export const ENTRY_BATCH_INDEX: usize = layout.ENTRY_BATCH_INDEX;
export const ENTRY_CHAIN: usize = layout.ENTRY_CHAIN;
export const ENTRY_CRC_FROM: usize = layout.ENTRY_CRC_FROM;
export const ENTRY_LEAF_FROM: usize = layout.ENTRY_LEAF_FROM;
export const ENTRY_GENESIS: u16 = <u16>layout.ENTRY_GENESIS;
export const ENTRY_INPUT: u16 = <u16>layout.ENTRY_INPUT;
export const ENTRY_TICK: u16 = <u16>layout.ENTRY_TICK;
export const ENTRY_ENTROPY: u16 = <u16>layout.ENTRY_ENTROPY;
export const ENTRY_CHECKPOINT: u16 = <u16>layout.ENTRY_CHECKPOINT;
export const ENTRY_HSM: u16 = <u16>layout.ENTRY_HSM;
export const ENTRY_TYPE_MAX: u16 = <u16>layout.ENTRY_TYPE_MAX;
export const ENTRY_BYTES_MAX: u32 = layout.ENTRY_BYTES_MAX;
const LOG_CHAIN_OUT_BYTES: usize = layout.LOG_CHAIN_OUT_BYTES;

export const BUF_FREE: u32 = 0;
export const BUF_STAGING: u32 = 1;
export const BUF_WRITING: u32 = 2;
export const BUF_DURABLE: u32 = 3;
export const BUF_APPLYING: u32 = 4;

// Every caller bounded `total` first (staging by the manifest's sizes,
// recovery by its length check), so the padding cannot wrap.
@inline export function entryPadded(total: u32): u32 {
  assert(total <= ENTRY_BYTES_MAX, "entryPadded: an entry larger than the largest entry");
  return (total + ENTRY_ALIGN - 1) & ~(ENTRY_ALIGN - 1);
}

// ---- entry codec (used by staging and by recovery) ----

const hashCtx: usize = memory.data(<i32>SHA256_CTX_BYTES, 16);
const leafPrefix: usize = memory.data<u8>([0]); // RFC 6962 leaf domain separator
// The leaf hash of the entry entryChain hashed last.
export const entryLeaf: usize = memory.data(32, 16);

// Computes the leaf hash of the entry at e (header + payload in place) into
// entryLeaf, then its chain hash on top of prevChain into out.
export function entryChain(e: usize, prevChain: usize, out: usize): void {
  const total = load<u32>(e + ENTRY_TOTAL);
  assert(total >= ENTRY_HEADER_BYTES && total <= ENTRY_BYTES_MAX, "entryChain: an entry whose length was checked");
  assert(e != 0 && prevChain != 0 && out != 0, "entryChain: entry, previous chain and output are in memory");
  sha256Init(hashCtx);
  sha256Update(hashCtx, leafPrefix, 1);
  sha256Update(hashCtx, e + ENTRY_LEAF_FROM, ENTRY_CHAIN - ENTRY_LEAF_FROM);
  sha256Update(hashCtx, e + ENTRY_HEADER_BYTES, <usize>(total - ENTRY_HEADER_BYTES));
  sha256Final(hashCtx, entryLeaf);
  sha256Init(hashCtx);
  sha256Update(hashCtx, prevChain, 32);
  sha256Update(hashCtx, entryLeaf, 32);
  sha256Final(hashCtx, out);
}

// CRC-32C over [8, total).
export function entryCrc(e: usize): u32 {
  const total = load<u32>(e + ENTRY_TOTAL);
  assert(total >= ENTRY_HEADER_BYTES && total <= ENTRY_BYTES_MAX, "entryCrc: an entry whose length was checked");
  return crc32c(e + ENTRY_CRC_FROM, <usize>total - ENTRY_CRC_FROM);
}

// ---- batch buffers ----

export const bufAddr = new StaticArray<usize>(BATCH_BUFFERS);
export const bufLen = new StaticArray<u32>(BATCH_BUFFERS);
export const bufState = new StaticArray<u32>(BATCH_BUFFERS);
export const bufOffset = new StaticArray<u64>(BATCH_BUFFERS);
export const bufEntries = new StaticArray<u32>(BATCH_BUFFERS);
export let batchBytesMax: u32 = 0;

// Staging state: what the next staged entry chains to.
const stageChain: usize = memory.data(32, 16);
export let stageSeq: u64 = 0; // seq of the next entry
export let stageTimeNs: u64 = 0; // time of the last staged entry
export let stageBatch: u64 = 0; // batch number of the staging buffer
export let logEndBytes: u64 = 0; // file offset where the next batch goes
export let staging: i32 = -1; // buffer index being filled
export let writing: i32 = -1; // buffer index whose write is in flight
let nextBatchToApply: u64 = 0; // batches are applied strictly in order

export function logInit(batchBytes: u32): bool {
  assert(batchBytesMax == 0, "logInit: the batch buffers are reserved once");
  assert(batchBytes >= BATCH_BYTES_MIN && batchBytes <= BATCH_BYTES_MAX, "logInit: boot checked batch_bytes_max");
  batchBytesMax = batchBytes;
  for (let i: u32 = 0; i < BATCH_BUFFERS; i++) {
    const a = reserve(<usize>batchBytes, "command log batch buffers");
    if (a == 0) return false;
    unchecked(bufAddr[i] = a);
    unchecked(bufState[i] = BUF_FREE);
  }
  return true;
}

// After recovery: continue the chain where the durable log ends.
export function logResume(nextSeq: u64, lastTimeNs: u64, lastBatch: u64, endBytes: u64, chain: usize): void {
  assert(staging < 0 && writing < 0 && !logBusy(), "logResume: nothing staged, written or applied before serving");
  assert(nextSeq >= stageSeq && endBytes >= logEndBytes && (endBytes & <u64>(ENTRY_ALIGN - 1)) == 0, "logResume: the log never goes back, and ends on an entry boundary");
  stageSeq = nextSeq;
  stageTimeNs = lastTimeNs;
  stageBatch = lastBatch;
  nextBatchToApply = lastBatch + 1;
  logEndBytes = endBytes;
  memory.copy(stageChain, chain, 32);
}

function findFree(): i32 {
  assert(staging < 0, "findFree: a new staging buffer only when none is open");
  for (let i: u32 = 0; i < BATCH_BUFFERS; i++) if (unchecked(bufState[i]) == BUF_FREE) return <i32>i;
  return -1;
}

// True when an entry with `payloadLen` bytes can be staged now (opening a
// new staging buffer if needed). False means: hold the input and try later.
export function logHasRoom(payloadLen: u32): bool {
  const need = entryPadded(ENTRY_HEADER_BYTES + payloadLen);
  assert(need <= batchBytesMax, "entry larger than a batch: manifest check failed");
  assert(staging < 0 || unchecked(bufState[staging]) == BUF_STAGING, "logHasRoom: the staging buffer is STAGING");
  if (staging >= 0 && unchecked(bufLen[staging]) + need <= batchBytesMax) return true;
  if (staging >= 0) return false; // full: wait until it is written and a buffer frees up
  const free = findFree();
  if (free < 0) return false;
  staging = free;
  unchecked(bufState[free] = BUF_STAGING);
  unchecked(bufLen[free] = 0);
  unchecked(bufEntries[free] = 0);
  stageBatch++;
  return true;
}

/**
 * Gives back a staging buffer logHasRoom claimed for a frame that was then
 * refused (admission, requests in flight) when nothing was staged in it: an
 * empty claimed buffer would count as a write in progress (logBusy) until
 * the next entry, and a shutdown or snapshot waiting for the log would wait
 * for a client that may never come. Its batch number is given back too, so
 * the next batch is numbered as if the refusal never happened.
 */
export function logUnclaimEmpty(): void {
  assert(staging < 0 || unchecked(bufState[staging]) == BUF_STAGING, "logUnclaimEmpty: the staging buffer is STAGING");
  if (staging < 0 || unchecked(bufEntries[staging]) != 0) return;
  unchecked(bufState[staging] = BUF_FREE);
  staging = -1;
  stageBatch--;
}

export function stagingEntries(): u32 {
  assert(staging < 0 || unchecked(bufState[staging]) == BUF_STAGING, "stagingEntries: the staging buffer is STAGING");
  return staging >= 0 ? unchecked(bufEntries[staging]) : 0;
}

// Appends one entry to the staging buffer. The caller checked logHasRoom.
export function logStage(type: u16, service: u32, conn: u64, requestId: u32, payload: usize, payloadLen: u32, clockNs: u64): void {
  assert(staging >= 0, "logStage without room");
  assert(type >= ENTRY_GENESIS && type <= ENTRY_TYPE_MAX && service <= 0xffff, "logStage: unknown entry type, or a service wider than 16 bits");
  assert(payloadLen == 0 || payload != 0, "logStage: payload bytes at address 0");
  const b = staging;
  const e = unchecked(bufAddr[b]) + unchecked(bufLen[b]);
  const total = ENTRY_HEADER_BYTES + payloadLen;
  assert(unchecked(bufLen[b]) + entryPadded(total) <= batchBytesMax, "logStage: the entry does not fit the batch (logHasRoom not asked)");
  const timeNs = clockNs > stageTimeNs ? clockNs : stageTimeNs + 1;
  store<u32>(e, ENTRY_MAGIC);
  store<u32>(e + ENTRY_TOTAL, total);
  store<u16>(e + ENTRY_TYPE, type);
  store<u16>(e + ENTRY_SERVICE, <u16>service);
  store<u64>(e + ENTRY_SEQ, stageSeq);
  store<u64>(e + ENTRY_TIME, timeNs);
  store<u64>(e + ENTRY_BATCH, stageBatch);
  store<u64>(e + ENTRY_CONN, conn);
  store<u32>(e + ENTRY_REQUEST, requestId);
  store<u32>(e + ENTRY_BATCH_INDEX, unchecked(bufEntries[b]));
  if (payloadLen > 0) memory.copy(e + ENTRY_HEADER_BYTES, payload, payloadLen);
  const padded = entryPadded(total);
  if (padded > total) memory.fill(e + total, 0, padded - total);
  // The chain and the CRC are written when the batch is sealed (logSeal).
  assert(timeNs > stageTimeNs || stageSeq == 0, "logStage: logical time moves forward");
  stageSeq++;
  stageTimeNs = timeNs;
  unchecked(bufLen[b] += padded);
  unchecked(bufEntries[b] += 1);
}

// ---- sealing: the hash chain, the CRCs and the audit leaves ----
//
// A batch's hashing is done by the host's hashing unit, the way a CPU's
// SHA instructions or a NIC's CRC offload serve a kernel: the kernel names
// the entries (whole, in order) and the chain they continue; the unit
// writes each entry's chain hash and CRC-32C into it and hands back the
// leaf hashes, which the kernel adds to the audit tree in order. Native
// SHA-256 there runs about four times faster than this kernel's own
// (lib/sha256.ts), which recovery still uses to verify every entry it
// reads back (kernel/recovery.ts), so a wrong unit cannot go unnoticed.

// (region, bytes, previous chain [32], output, output entries, seal 0/1) -> entries hashed.
@external("hal", "log_chain")
declare function halLogChain(region: usize, len: u32, prev: usize, out: usize, outEntries: u32, seal: u32): u32;

// Entries handed to the unit per call: bounds the output area.
const SEAL_CHUNK_ENTRIES: u32 = 256;
const sealOut: usize = memory.data(<i32>(<usize>SEAL_CHUNK_ENTRIES * LOG_CHAIN_OUT_BYTES), 16);

// Hashes, chains and checksums the entries of batch `b`, from the chain the
// last sealed entry ended with, and adds their leaves to the audit tree.
function logSeal(b: i32): void {
  assert(b >= 0 && <u32>b < BATCH_BUFFERS && unchecked(bufState[b]) == BUF_STAGING, "logSeal: the staging buffer");
  const end = unchecked(bufAddr[b]) + <usize>unchecked(bufLen[b]);
  let at = unchecked(bufAddr[b]);
  let sealed: u32 = 0;
  while (at < end) {
    let span: usize = 0;
    let n: u32 = 0;
    while (at + span < end && n < SEAL_CHUNK_ENTRIES) {
      span += <usize>entryPadded(load<u32>(at + span + ENTRY_TOTAL));
      n++;
    }
    assert(at + span <= end, "logSeal: entries end at the batch's end");
    const hashed = halLogChain(at, <u32>span, stageChain, sealOut, n, 1);
    assert(hashed == n, "logSeal: the hashing unit hashed every entry named");
    let e = at;
    for (let i: u32 = 0; i < n; i++) {
      const o = sealOut + <usize>i * LOG_CHAIN_OUT_BYTES;
      assert(memory.compare(e + ENTRY_CHAIN, o + 32, 32) == 0, "logSeal: the entry carries the chain reported");
      auditAppend(o, load<u64>(e + ENTRY_TIME));
      e += <usize>entryPadded(load<u32>(e + ENTRY_TOTAL));
    }
    memory.copy(stageChain, sealOut + <usize>(n - 1) * LOG_CHAIN_OUT_BYTES + 32, 32);
    sealed += n;
    at += span;
  }
  assert(sealed == unchecked(bufEntries[b]), "logSeal: every staged entry sealed");
}

// Seals the staging buffer for writing when no write is in flight. Returns
// the buffer index to write, or -1.
export function logTakeForWrite(): i32 {
  if (writing >= 0 || staging < 0 || unchecked(bufEntries[staging]) == 0) return -1;
  const b = staging;
  logSeal(b);
  staging = -1;
  writing = b;
  unchecked(bufState[b] = BUF_WRITING);
  unchecked(bufOffset[b] = logEndBytes);
  assert(unchecked(bufLen[b]) > 0 && unchecked(bufLen[b]) <= batchBytesMax, "logTakeForWrite: a batch within batch_bytes_max");
  logEndBytes += <u64>unchecked(bufLen[b]);
  assert((logEndBytes & <u64>(ENTRY_ALIGN - 1)) == 0, "logTakeForWrite: batches end on an entry boundary");
  return b;
}

export function logWriteDone(): void {
  assert(writing >= 0, "write completion without a write");
  assert(unchecked(bufState[writing]) == BUF_WRITING, "logWriteDone: the buffer written is WRITING");
  unchecked(bufState[writing] = BUF_DURABLE);
  writing = -1;
}

// The durable buffer holding the next batch to apply, or -1.
export function logNextDurable(): i32 {
  assert(writing < 0 || unchecked(bufState[writing]) == BUF_WRITING, "logNextDurable: the buffer being written is WRITING");
  for (let i: u32 = 0; i < BATCH_BUFFERS; i++) {
    if (unchecked(bufState[i]) != BUF_DURABLE) continue;
    const e = unchecked(bufAddr[i]);
    if (load<u64>(e + ENTRY_BATCH) == nextBatchToApply) return <i32>i;
  }
  return -1;
}

export function logMarkApplying(b: i32): void {
  assert(b >= 0 && <u32>b < BATCH_BUFFERS && unchecked(bufState[b]) == BUF_DURABLE, "logMarkApplying: only a durable buffer is applied");
  assert(load<u64>(unchecked(bufAddr[b]) + ENTRY_BATCH) == nextBatchToApply, "logMarkApplying: batches are applied in order");
  unchecked(bufState[b] = BUF_APPLYING);
  nextBatchToApply++;
}

export function logRelease(b: i32): void {
  assert(b >= 0 && <u32>b < BATCH_BUFFERS, "logRelease: not a batch buffer");
  assert(unchecked(bufState[b]) == BUF_APPLYING, "release of a buffer not being applied");
  unchecked(bufState[b] = BUF_FREE);
}

export function logBusy(): bool {
  assert(staging < 0 || staging != writing, "logBusy: a buffer is never staging and writing at once");
  for (let i: u32 = 0; i < BATCH_BUFFERS; i++) if (unchecked(bufState[i]) != BUF_FREE) return true;
  return false;
}
