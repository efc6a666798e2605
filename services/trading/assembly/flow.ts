// An orders request with settlement (config "settlement": true), from its
// arrival to its answer, one at a time (one that arrives meanwhile waits in
// a small FIFO, copied with its scope and arrival time, and starts when the
// one before is answered; only a full FIFO refuses it):
//   0. with "pretrade", its new orders and replaces go to the compliance
//      service first (pretrade.ts); a refused one reserves nothing;
//   1. each operation's reservation is planned (ops.ts planReserve) and the
//      reservations go to the ledger; the request waits for the answers;
//   2. the operations are applied in order (requests.ts applyOps): a refused
//      reservation rejects its operation (RJ_FUNDS), trades and releases add
//      their transfers (settle.ts);
//   3. those go to the ledger, in batches that never split a trade's chain;
//   4. the request is answered.
// The ledger answers in order and never partly, so the service knows every
// transfer's fate. A trade's chain or a release the ledger refuses cannot be
// undone in the book: it is counted and logged (settlementFailures) for an
// operator, and the escrow keeps what it did not pay out. The operations and
// the time are those of the request's arrival, kept while it waits, so a
// replay of the log decides the same.

import * as P from "../protocol";
import * as L from "../../ledger/protocol";
import { logText, nowNs, send } from "../../sdk/qenex";
import { planReserve } from "./ops";
import { applyOps, ordersAnswer } from "./requests";
import { refuse } from "./reply";
import { scopeCopy, scopeHold, scopeRestore, scopeSet } from "./scope";
import { pretradeOn } from "./config";
import { pretradeAnswered, pretradeFailed, pretradeSend } from "./pretrade";
import { risksClear, reserveAnswered, settleLedger, transferOf, W_KIND, W_LINKED, W_RESULT, workAt, workCount, workReset } from "./settle";

const PHASE_IDLE: u32 = 0;
const PHASE_RESERVE: u32 = 1;
const PHASE_SETTLE: u32 = 2;
const PHASE_PRETRADE: u32 = 3;
let phase: u32 = PHASE_IDLE;
let heldToken: u32 = 0;
let heldCount: u32 = 0;
let heldNow: u64 = 0;
let heldExpired: u32 = 0;
let sent: u32 = 0; // work sent so far
let batchCount: u32 = 0; // work out in the batch at the ledger
/** Transfers of trades and releases the ledger refused, since boot (replayed alike). */
export let settlementFailures: u64 = 0;
const staged = heap.alloc(<usize>P.OPS_PER_REQUEST * P.OP_BYTES);
const request = heap.alloc(<usize>L.HEADER_BYTES + <usize>L.BATCH_EVENTS_MAX * L.RECORD_BYTES);

// Orders requests waiting while one is settled (the gateway sends one at a time, but the fix service sends its
// sessions' orders too): a ring of QUEUE_MAX, each its token, count, scope, arrival time and records, copied.
const QUEUE_MAX: u32 = 4;
const Q_TOKEN: usize = 0;
const Q_COUNT: usize = 4;
const Q_NOW: usize = 8;
const Q_SCOPE_COUNT: usize = 16;
const Q_SCOPE: usize = 24;
const Q_RECS: usize = Q_SCOPE + <usize>P.SCOPE_LEDGERS_MAX * 4;
const Q_ENTRY_BYTES: usize = Q_RECS + <usize>P.OPS_PER_REQUEST * P.OP_BYTES;
let queueHead: u32 = 0;
let queueLen: u32 = 0;
let queue: usize = 0;

/** The waiting requests' ring (once, at init, with settlement). */
export function flowInit(): void {
  assert(queue == 0 && Q_RECS % 8 == 0, "flowInit: once; records 8-aligned");
  queue = heap.alloc(<usize>QUEUE_MAX * Q_ENTRY_BYTES);
}

/** An orders request with settlement: its reservations asked first (after the ones before it). */
export function ordersSettled(token: u32, count: u32, recs: usize): void {
  assert(count >= 1 && count <= <u32>P.OPS_PER_REQUEST, "a framed count");
  assert(phase != PHASE_IDLE || queueLen == 0, "requests wait only while one is settled");
  if (phase == PHASE_IDLE) { start(token, count, recs, nowNs()); return; }
  if (queueLen == QUEUE_MAX || queue == 0) { refuse(token, "trading: an orders request is being settled; one at a time; queue full"); return; }
  const e = queue + <usize>((queueHead + queueLen) % QUEUE_MAX) * Q_ENTRY_BYTES;
  store<u32>(e + Q_TOKEN, token);
  store<u32>(e + Q_COUNT, count);
  store<u64>(e + Q_NOW, nowNs());
  store<u32>(e + Q_SCOPE_COUNT, scopeCopy(e + Q_SCOPE));
  memory.copy(e + Q_RECS, recs, <usize>count * P.OP_BYTES);
  queueLen++;
}

/** The oldest waiting request, started in its own scope (after the one before was answered). */
function startNext(): void {
  assert(phase == PHASE_IDLE && queueLen > 0, "a request waits and none is settled");
  const e = queue + <usize>queueHead * Q_ENTRY_BYTES;
  queueHead = (queueHead + 1) % QUEUE_MAX;
  queueLen--;
  scopeSet(e + Q_SCOPE, load<u32>(e + Q_SCOPE_COUNT));
  start(load<u32>(e + Q_TOKEN), load<u32>(e + Q_COUNT), e + Q_RECS, load<u64>(e + Q_NOW));
}

/** Starts an orders request (its scope in force) with the operations at `recs`, as of its arrival at `now`. */
function start(token: u32, count: u32, recs: usize, now: u64): void {
  assert(phase == PHASE_IDLE && count >= 1 && count <= <u32>P.OPS_PER_REQUEST, "one request settled at a time");
  memory.copy(staged, recs, <usize>count * P.OP_BYTES);
  heldToken = token;
  heldCount = count;
  heldNow = now;
  scopeHold();
  risksClear(count);
  phase = PHASE_PRETRADE;
  if (!pretradeOn || !pretradeSend(staged, count)) reserve();
}

/** The pre-trade check answered (or failed: every order it asked about refused): on to the reservations. */
export function pretradeReplied(r: usize, len: u32): void {
  if (phase != PHASE_PRETRADE) return; // nothing of ours out
  pretradeAnswered(r, len);
  reserve();
}

export function pretradeAborted(): void {
  if (phase != PHASE_PRETRADE) return;
  pretradeFailed();
  reserve();
}

/** Each operation's reservation planned and sent (the operations the pre-trade check refused reserve nothing). */
function reserve(): void {
  assert(phase == PHASE_PRETRADE, "after the pre-trade check");
  workReset();
  sent = 0;
  for (let i: u32 = 0; i < heldCount; i++) planReserve(i, staged + <usize>i * P.OP_BYTES);
  phase = PHASE_RESERVE;
  if (!sendBatch()) apply();
}

/** The length of the chain starting at work `i` (to its first unlinked transfer). */
function chainLength(i: u32): u32 {
  let n: u32 = 1;
  while (i + n - 1 < workCount && load<u8>(workAt(i + n - 1) + W_LINKED) != 0) n++;
  assert(i + n <= workCount, "a chain ends within the list");
  return n;
}

/** Sends the next batch of work, whole chains only; false when none is left. */
function sendBatch(): bool {
  assert(batchCount == 0, "one batch out at a time");
  while (sent + batchCount < workCount) {
    const n = chainLength(sent + batchCount);
    if (batchCount + n > <u32>L.BATCH_EVENTS_MAX) break;
    for (let k: u32 = 0; k < n; k++) transferOf(workAt(sent + batchCount + k), request + L.HEADER_BYTES + <usize>(batchCount + k) * L.RECORD_BYTES);
    batchCount += n;
  }
  if (batchCount == 0) return false;
  memory.fill(request, 0, L.HEADER_BYTES);
  store<u8>(request + L.HEADER_OPERATION, <u8>L.Operation.create_transfers);
  store<u32>(request + L.HEADER_COUNT, batchCount);
  if (send(<u32>settleLedger(), request, <u32>L.HEADER_BYTES + batchCount * <u32>L.RECORD_BYTES) != 0) batchFailed();
  return true;
}

/** The ledger's results for the batch out (`len` bytes at `r`). */
export function ledgerReplied(r: usize, len: u32): void {
  assert(r != 0, "a reply");
  if ((phase != PHASE_RESERVE && phase != PHASE_SETTLE) || batchCount == 0) return; // nothing of ours out
  if (<u64>len != <u64>batchCount * L.RESULT_BYTES) { batchFailed(); return; }
  for (let k: u32 = 0; k < batchCount; k++) answered(workAt(sent + k), load<u32>(r + <usize>k * L.RESULT_BYTES + L.RESULT_CODE));
  next();
}

/** The kernel aborted the batch out (the ledger faulted on it): none of it moved. */
export function ledgerFailed(): void {
  assert(phase <= PHASE_PRETRADE, "a phase");
  if ((phase != PHASE_RESERVE && phase != PHASE_SETTLE) || batchCount == 0) return;
  batchFailed();
}

function batchFailed(): void {
  assert(batchCount > 0, "a batch out");
  for (let k: u32 = 0; k < batchCount; k++) answered(workAt(sent + k), <u32>L.TransferResult.linked_event_failed);
  next();
}

function answered(w: usize, result: u32): void {
  assert(w != 0, "work answered");
  store<u32>(w + W_RESULT, result);
  const kind = <u32>load<u8>(w + W_KIND);
  if (kind == <u32>P.XFER_RESERVE || kind == <u32>P.XFER_PROBE) { reserveAnswered(w, result); return; }
  if (result == <u32>L.TransferResult.created) return;
  settlementFailures++;
  logText("trading: the ledger refused a settlement transfer (kind " + kind.toString() + ", result " + result.toString() + "); the escrow keeps it");
}

/** After a batch: the next one, or the next phase. */
function next(): void {
  assert(sent + batchCount <= workCount, "the batch was of the list");
  sent += batchCount;
  batchCount = 0;
  if (sendBatch()) return;
  if (phase == PHASE_RESERVE) apply();
  else finish();
}

function apply(): void {
  assert(phase == PHASE_RESERVE, "reservations answered");
  phase = PHASE_SETTLE;
  scopeRestore();
  heldExpired = applyOps(heldCount, staged, heldNow);
  if (!sendBatch()) finish();
}

function finish(): void {
  assert(phase == PHASE_SETTLE && sent == workCount, "every transfer answered");
  phase = PHASE_IDLE;
  ordersAnswer(heldToken, heldCount, heldExpired);
  // The next waiting request starts; one that settles at once starts the one after it (at most QUEUE_MAX deep).
  if (queueLen > 0) startNext();
}
