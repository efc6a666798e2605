// kernel/recovery.ts: rebuilds state from the command log at boot.
//
// Reads the log through the block driver into a window of two batch sizes,
// checks every entry (magic, length, CRC, sequence, hash chain, time),
// adds each to the audit Merkle tree (kernel/audit.ts), and
// hands whole batches to the caller to apply. At the first entry that is not
// valid it scans the rest of the device for any valid entry:
//   - none found: the tail was torn by a crash (or is preallocated zeros);
//     everything before it is the log, the rest is cut (live boot only);
//   - one found: an entry in the middle is corrupt, and boot stops with an
//     error naming it, since cutting there would drop acknowledged inputs.
// An entry whose CRC is right but whose chain, sequence or time is wrong was
// edited, not torn, and stops boot wherever it is.

import { reserve } from "./base/mem";
import {
  ENTRY_MAGIC, ENTRY_HEADER_BYTES, ENTRY_TOTAL, ENTRY_TYPE, ENTRY_SEQ, ENTRY_TIME, ENTRY_BATCH, ENTRY_BATCH_INDEX, ENTRY_CHAIN, ENTRY_CRC,
  ENTRY_GENESIS, entryPadded, entryChain, entryCrc, entryLeaf,
} from "./log";
import { auditAppend } from "./audit";
import { blockRead } from "../drivers/block/block";
import { BOOT_DIGEST_BYTES } from "./base/constants";

export const R_NEED_IO: u32 = 0; // a read is in flight: wait for the block completion
export const R_GROUP: u32 = 1; // a batch is ready: apply groupAddr()/groupBytes(), then call recoveryGroupApplied
export const R_DONE: u32 = 2; // the log ends here (see recoveryEnd*, recoveryTorn)
export const R_FAILED: u32 = 3; // see failure* fields

export const FAIL_NONE: u32 = 0;
export const FAIL_CORRUPT: u32 = 1; // corrupt entry with valid entries after it
export const FAIL_CHAIN: u32 = 2; // CRC-valid entry with a wrong chain, sequence or time
export const FAIL_IMAGE: u32 = 3; // genesis entry names another image

let window: usize = 0;
let windowCap: u32 = 0;
let winStart: u64 = 0; // device offset of window[0]
let winLen: u32 = 0;
let eof: bool = false;
let readPending: bool = false;
let readAsked: u32 = 0; // bytes the read in flight asked for
// Following (a cluster follower, host/cluster/): the host appends whole
// batches to the log while recovery reads it, and answers a read only with
// whole batches; a read that came back short ended at a batch's end, so the
// batch gathered up to there is whole and is applied at once, not when the
// next batch or the end of the log shows it ended. The log ends (a 0-byte
// read) only when the follower is to lead.
let following: bool = false;
let dataEnded: bool = false; // the window's end is where the last read came back short
let entryBytesMax: u32 = 0;
let bootDigest: usize = 0;

let parseOff: u64 = 0;
let scanning: bool = false;
let scanOff: u64 = 0;
export let scanSawData: bool = false; // nonzero bytes after the end of the log

let groupActive: bool = false;
let groupStart: u64 = 0;
let groupBatch: u64 = 0;
let groupEntries: u32 = 0;

export let nextSeq: u64 = 0;
export const chain: usize = memory.data(32, 16);
export let lastTimeNs: u64 = 0;
export let lastBatch: u64 = 0;
export let endOffset: u64 = 0; // where the valid log ends
export let firstBadReason: string = ""; // why the entry at endOffset is not valid ("" = clean end)
export let failure: u32 = FAIL_NONE;
export let failureSeq: u64 = 0;
export let failureOffset: u64 = 0;
export let failureReason: string = "";
export let laterSeq: u64 = 0; // seq of the valid entry found after a corrupt one
export let laterOffset: u64 = 0;
// A damaged entry followed only by valid entries of its own batch is the
// write that was in flight at a crash (one batch write is in flight at a
// time, and nothing of it was acknowledged): the log is cut before it.
export let tornBatch: bool = false;
let laterFound: bool = false;
let laterBatch: u64 = 0;

export function recoveryInit(batchBytes: u32, entryMax: u32, digest: usize): bool {
  assert(window == 0 && digest != 0, "recoveryInit: the window is reserved once, and the image digest is known");
  assert(entryMax >= ENTRY_HEADER_BYTES && entryMax < batchBytes, "recoveryInit: boot checked that an entry fits a batch");
  windowCap = batchBytes * 2;
  entryBytesMax = entryMax;
  bootDigest = digest;
  window = reserve(<usize>windowCap, "recovery window");
  return window != 0;
}

export function recoveryFollow(on: bool): void {
  assert(window != 0 && !readPending && !groupActive && !scanning, "recoveryFollow: set before recovery reads anything");
  following = on;
}

export function recoveryWaiting(): bool {
  assert(!(readPending && eof), "recovery: no read is submitted after the end of the device");
  return readPending;
}
export function deviceEndBytes(): u64 {
  assert(winLen <= windowCap, "deviceEndBytes: the window holds at most its capacity");
  return winStart + <u64>winLen;
}

export function recoveryReadDone(bytes: u32): void {
  assert(readPending, "read completion without a read");
  assert(!eof, "recoveryReadDone: a read after the end of the device");
  assert(bytes <= readAsked, "recoveryReadDone: no more bytes than the read asked for");
  readPending = false;
  if (bytes == 0) eof = true;
  dataEnded = bytes < readAsked;
  winLen += bytes;
}

@inline function at(off: u64): usize {
  assert(off >= winStart && off - winStart <= <u64>winLen, "recovery: an offset outside the window");
  return window + <usize>(off - winStart);
}

// True when [off, off + need) is in the window. Otherwise, unless at the end
// of the device, moves the window forward and submits a read.
function ensure(off: u64, need: u32): bool {
  assert(winLen <= windowCap && need <= windowCap, "ensure: the window and what is asked of it fit its capacity");
  if (off >= winStart && off + <u64>need <= winStart + <u64>winLen) return true;
  if (eof || readPending) return false;
  const keep: u64 = groupActive ? groupStart : off;
  assert(keep >= winStart, "window moved past data still needed");
  const shift = <u32>(keep - winStart);
  memory.copy(window, window + shift, winLen - shift);
  winStart = keep;
  winLen -= shift;
  assert(winLen < windowCap, "recovery window full: a batch is larger than batch_bytes_max");
  readAsked = windowCap - winLen;
  blockRead(window + winLen, readAsked, winStart + <u64>winLen);
  readPending = true;
  return false;
}

function fail(kind: u32, seq: u64, off: u64, reason: string): u32 {
  assert(kind != FAIL_NONE && failure == FAIL_NONE, "fail: recovery fails once");
  failure = kind;
  failureSeq = seq;
  failureOffset = off;
  failureReason = reason;
  return R_FAILED;
}

function startScan(off: u64, reason: string): u32 {
  assert(!scanning && off == parseOff, "startScan: the scan starts once, where parsing stopped");
  scanning = true;
  endOffset = off;
  firstBadReason = reason;
  scanOff = off;
  return recoveryStep();
}

// Checks the entry at off (fully in the window). "" when valid.
function entryProblem(e: usize): string {
  assert(scanning && e != 0, "entryProblem: only the scan checks entries this way");
  if (load<u32>(e) != ENTRY_MAGIC) return "bad magic";
  const total = load<u32>(e + ENTRY_TOTAL);
  if (total < ENTRY_HEADER_BYTES || total > entryBytesMax) return "bad length";
  if (entryCrc(e) != load<u32>(e + ENTRY_CRC)) return "checksum mismatch";
  return "";
}

export function recoveryStep(): u32 {
  assert(window != 0, "recoveryStep before recoveryInit");
  assert(!groupActive || groupStart <= parseOff, "recoveryStep: the batch being gathered starts before the parse position");
  if (readPending) return R_NEED_IO;
  if (failure != FAIL_NONE) return R_FAILED;
  // The batch before the end is applied before scanning, which frees the
  // window for the scan (if the scan then finds corruption, boot stops anyway).
  if (scanning) return groupActive ? R_GROUP : scanStep();
  return parseStep();
}

// Whether any byte from off to the end of the window (the device's end) is nonzero.
function tailHasData(off: u64): bool {
  assert(!readPending, "tailHasData: the window is complete when it is looked at");
  const end = winStart + <u64>winLen;
  for (let o = off; o < end; o++) if (load<u8>(at(o)) != 0) return true;
  return false;
}

function headerAllZero(e: usize): bool {
  assert((ENTRY_HEADER_BYTES & 7) == 0 && e != 0, "headerAllZero: the header is whole u64 words");
  for (let i: u32 = 0; i < ENTRY_HEADER_BYTES; i += 8) if (load<u64>(e + i) != 0) return false;
  return true;
}

function parseStep(): u32 {
  assert(!scanning && failure == FAIL_NONE, "parseStep: parsing ends at the first scan or failure");
  if (following && groupActive && dataEnded && parseOff == winStart + <u64>winLen) return R_GROUP;
  if (!ensure(parseOff, ENTRY_HEADER_BYTES)) {
    if (readPending) return R_NEED_IO;
    return logEnds(tailHasData(parseOff) ? "truncated header" : "");
  }
  let e = at(parseOff);
  if (load<u32>(e) == 0 && headerAllZero(e)) return logEnds("");
  const total = load<u32>(e + ENTRY_TOTAL);
  if (load<u32>(e) != ENTRY_MAGIC) return logEnds("bad magic");
  if (total < ENTRY_HEADER_BYTES || total > entryBytesMax) return logEnds("bad length");
  const padded = entryPadded(total);
  if (!ensure(parseOff, padded)) {
    if (readPending) return R_NEED_IO;
    return logEnds("truncated entry");
  }
  e = at(parseOff);
  if (entryCrc(e) != load<u32>(e + ENTRY_CRC)) return logEnds("checksum mismatch");
  return acceptEntry(e, padded);
}

// The log ends at parseOff (torn or clean), except while following: the
// host hands over only whole batches the cluster acknowledged, so an entry
// that is not valid there was damaged on its way and is never applied.
function logEnds(reason: string): u32 {
  if (following && !eof) return fail(FAIL_CORRUPT, nextSeq, parseOff, "a replicated entry is not valid: " + (reason == "" ? "zeroed" : reason));
  return startScan(parseOff, reason);
}

const chainScratch: usize = memory.data(32, 16);

function acceptEntry(e: usize, padded: u32): u32 {
  assert(padded == entryPadded(load<u32>(e + ENTRY_TOTAL)) && e == at(parseOff), "acceptEntry: the entry at the parse position, its length checked");
  const seq = load<u64>(e + ENTRY_SEQ);
  if (seq != nextSeq) return fail(FAIL_CHAIN, nextSeq, parseOff, "sequence gap");
  entryChain(e, chain, chainScratch);
  if (memory.compare(chainScratch, e + ENTRY_CHAIN, 32) != 0) return fail(FAIL_CHAIN, seq, parseOff, "hash chain broken");
  const timeNs = load<u64>(e + ENTRY_TIME);
  if (seq > 0 && timeNs <= lastTimeNs) return fail(FAIL_CHAIN, seq, parseOff, "time went backwards");
  const type = load<u16>(e + ENTRY_TYPE);
  if ((seq == 0) != (type == ENTRY_GENESIS)) return fail(FAIL_CHAIN, seq, parseOff, "genesis entry misplaced");
  if (type == ENTRY_GENESIS && (load<u32>(e + ENTRY_TOTAL) != ENTRY_HEADER_BYTES + BOOT_DIGEST_BYTES
      || memory.compare(e + ENTRY_HEADER_BYTES, bootDigest, BOOT_DIGEST_BYTES) != 0)) {
    return fail(FAIL_IMAGE, seq, parseOff, "log belongs to another image");
  }
  const batch = load<u64>(e + ENTRY_BATCH);
  if (groupActive && batch != groupBatch) {
    if (batch < groupBatch) return fail(FAIL_CHAIN, seq, parseOff, "batch number went backwards");
    return R_GROUP; // apply the previous batch before taking this entry
  }
  if (!groupActive) {
    if (batch <= lastBatch && seq > 0) return fail(FAIL_CHAIN, seq, parseOff, "batch number went backwards");
    groupActive = true;
    groupStart = parseOff;
    groupBatch = batch;
    groupEntries = 0;
  }
  if (load<u32>(e + ENTRY_BATCH_INDEX) != groupEntries) return fail(FAIL_CHAIN, seq, parseOff, "entry's index in its batch is out of order");
  groupEntries++;
  memory.copy(chain, e + ENTRY_CHAIN, 32);
  auditAppend(entryLeaf, timeNs); // entryLeaf is still this entry's: nothing hashed since entryChain
  nextSeq++;
  lastTimeNs = timeNs;
  parseOff += <u64>padded;
  assert(nextSeq == seq + 1 && groupActive && groupEntries > 0, "acceptEntry: the entry joined its batch and the sequence moved on");
  return recoveryStep();
}

// Looks for any valid entry after endOffset. Bounded by the device size:
// every pass either advances scanOff or waits for a read.
function scanStep(): u32 {
  assert(scanning && !groupActive, "scanStep: the last batch was applied before scanning");
  for (;;) {
    if (!ensure(scanOff, ENTRY_HEADER_BYTES)) {
      if (readPending) return R_NEED_IO;
      return scanFinished();
    }
    const limit = winStart + <u64>winLen - <u64>ENTRY_HEADER_BYTES;
    while (scanOff <= limit) {
      const p = at(scanOff);
      const word = load<u64>(p);
      if (word != 0) scanSawData = true;
      if (<u32>word == ENTRY_MAGIC && scanOff > endOffset) {
        const total = load<u32>(p + ENTRY_TOTAL);
        if (total >= ENTRY_HEADER_BYTES && total <= entryBytesMax) {
          if (!ensure(scanOff, entryPadded(total))) {
            if (readPending) return R_NEED_IO;
            scanOff += 8;
            continue;
          }
          const e = at(scanOff);
          if (entryProblem(e) == "") {
            if (!laterFound) {
              laterFound = true;
              laterSeq = load<u64>(e + ENTRY_SEQ);
              laterOffset = scanOff;
              laterBatch = load<u64>(e + ENTRY_BATCH);
            }
            if (!inTornBatch(e)) {
              return fail(FAIL_CORRUPT, nextSeq, endOffset, firstBadReason == "" ? "entry zeroed" : firstBadReason);
            }
            scanOff += <u64>entryPadded(total); // a later entry of the torn write: keep looking past it
            continue;
          }
        }
      }
      scanOff += 8;
    }
  }
  return R_NEED_IO; // not reached: the loop only returns
}

// Whether a CRC-valid entry found after the damage belongs to the batch whose
// write was in flight: the batch of the first valid entry found, which began
// at or before the first missing entry (so every missing entry is in it) and
// is not older than the last batch applied.
function inTornBatch(e: usize): bool {
  assert(laterFound, "inTornBatch: asked once a valid later entry was found");
  const seq = load<u64>(e + ENTRY_SEQ);
  const index = <u64>load<u32>(e + ENTRY_BATCH_INDEX);
  const batch = load<u64>(e + ENTRY_BATCH);
  if (batch != laterBatch || seq <= nextSeq || index > seq) return false;
  const batchFirstSeq = seq - index;
  if (batchFirstSeq > nextSeq) return false; // a missing entry belongs to an earlier batch
  // Part of the batch was applied already only if it is that same batch.
  return batchFirstSeq == nextSeq ? batch > lastBatch || nextSeq == 0 : batch == lastBatch;
}

function scanFinished(): u32 {
  assert(!groupActive, "scan finished with a batch not applied");
  assert(scanning && failure == FAIL_NONE, "scanFinished: a scan that found no corruption");
  tornBatch = laterFound;
  return R_DONE;
}

// The batch to apply: entries [groupAddr, groupAddr + groupBytes), which
// start at log offset groupOffset.
export function groupAddr(): usize {
  assert(groupActive, "groupAddr: no batch is ready");
  return at(groupStart);
}
export function groupOffset(): u64 {
  assert(groupActive && (groupStart & 7) == 0, "groupOffset: a ready batch starts on an entry boundary");
  return groupStart;
}
export function groupBytes(): u32 {
  assert(groupActive && parseOff > groupStart && parseOff - groupStart <= <u64>windowCap, "groupBytes: a ready batch of whole entries within the window");
  return <u32>(parseOff - groupStart);
}

export function recoveryGroupApplied(): void {
  assert(groupActive, "no batch was being applied");
  assert(groupBatch > lastBatch || lastBatch == 0, "recoveryGroupApplied: batches are applied in increasing order");
  groupActive = false;
  lastBatch = groupBatch;
}

// True when the device holds bytes past the log that a live boot must cut.
export function recoveryTorn(): bool {
  assert(scanning && failure == FAIL_NONE, "recoveryTorn: asked once recovery ended cleanly");
  return firstBadReason != "" || scanSawData;
}

// After a snapshot restore (kernel/snapshot.ts): recovery goes on from entry
// `seq`, which starts at log offset `offset`, after the snapshot's chain head,
// time and batch, as if it had just applied the entries before it.
export function recoveryResumeAt(offset: u64, seq: u64, chainHead: usize, timeNs: u64, batch: u64): void {
  assert(window != 0 && chainHead != 0 && (offset & 7) == 0 && seq > 0, "recoveryResumeAt: resume on an entry boundary after some entries");
  winStart = offset;
  winLen = 0;
  eof = false;
  readPending = false;
  dataEnded = false;
  parseOff = offset;
  scanning = false;
  scanOff = 0;
  scanSawData = false;
  groupActive = false;
  groupStart = offset;
  groupBatch = 0;
  groupEntries = 0;
  nextSeq = seq;
  memory.copy(chain, chainHead, 32);
  lastTimeNs = timeNs;
  lastBatch = batch;
  endOffset = 0;
  firstBadReason = "";
  failure = FAIL_NONE;
  failureSeq = 0;
  failureOffset = 0;
  failureReason = "";
  laterSeq = 0;
  laterOffset = 0;
  tornBatch = false;
  laterFound = false;
  laterBatch = 0;
}
