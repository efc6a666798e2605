// QENEX ledger service: TigerBeetle's accounting state machine (accounts,
// transfers, two-phase transfers, linked chains, balance history) as a
// WebAssembly service of the QENEX kernel.
//
// ABI (module "qenex" is the only import):
//   qx_inbox() / qx_inbox_bytes()   the buffer the kernel copies a message into
//   qx_init(len)                    once at boot; the inbox holds the JSON config
//   qx_handle(kind, sender, token, len)
//                                   one message: a request (kind 1 or 2) or a timer (4)
//   qx_check_invariants()           0 when the money invariants hold (tests)
//   qx_read_area() / qx_read_request_max() / qx_read_reply_max() / qx_read(len)
//                                   a read without a log entry (reads.ts)
//
// Request: `u8 operation | u8 reserved | u16 scope | u32 count` then `count`
// items, then `scope` u32 ledgers the caller is limited to (scope.ts; the
// gateway and the kernel set it for keys limited to ledgers, 0 otherwise;
// get_account_balances takes none). Items: 128-byte records for creates and
// get_account_*, 16-byte ids for lookups, one 64-byte QueryFilter for
// query_accounts and query_transfers.
// A malformed request gets status 6 and a message, and changes nothing.

import { BATCH_EVENTS_MAX, HEADER_BYTES, INBOX_BYTES, KIND_CLIENT_REQUEST, KIND_SERVICE_MESSAGE, KIND_TIMER,
  OP_CREATE_ACCOUNTS, OUTBOX_BYTES, RECORD_BYTES, RESULT_BYTES, STATUS_OK, STATUS_SERVICE_ERROR, TIMESTAMP_MAX } from "./constants";
import { A_FLAGS, A_ID, A_TIMESTAMP, T_FLAGS, T_ID, T_TIMESTAMP } from "./layout";
import { emitTransfers, reply, time, timer } from "./qenex";
import { S, stateInit, transferAt } from "./state";
import { configAccountsMax, configEvents, configHistoryMax, configParse, configPendingMax, configPrefault, configTransfersMax } from "./config";
import { executeCreate } from "./batch";
import { Framing, answer, framingOf, framingText, isCreate, itemBytes } from "./request";
import { expirePending } from "./transfer_apply";
import { expiryEmpty, expiryTopExpiresAt } from "./expiry";
import { checkInvariants } from "./invariants";
import { textLength, textLog, textPtr, textPut, textPutU64, textReset } from "./text";
import { SCOPE_LEDGERS_MAX, scopeSet } from "./scope";
import { READ_REQUEST_BYTES_MAX, read, readArea } from "./reads";
import { configCacheBlocks, configGridBlocks, forgetCacheBlocks } from "./config";
import { G, gridCacheBytes, gridCacheInit, gridCacheReset, gridCheckpoint, gridDrain, gridInit, treeName } from "./grid";
import { findsInit } from "./finds";
import { EXAMINE_MAX, PREPARE_FULL, PREPARE_TOO_LARGE, PREPARE_TOO_WIDE, PREPARE_WAIT, gridPrepare } from "./cold";
import { storeCorrupt, storeOnBlock } from "../../sdk/store";

/** Reads of grid blocks that fail their checks in a row before the grid is deemed corrupt. */
const GRID_READ_FAILURES_MAX: u32 = 3;
import { KIND_BLOCK, KIND_CHECKPOINT } from "../../sdk/qenex";
import { cacheErrorMessage } from "../../../lib/store/cache";
import { BLOCK_OK } from "../../../lib/store/block";

// batch.ts reads an event's flags, id and timestamp at the same offsets for
// accounts and transfers.
assert(A_FLAGS == T_FLAGS && A_ID == T_ID && A_TIMESTAMP == T_TIMESTAMP, "account and transfer event fields differ");
assert(HEADER_BYTES + BATCH_EVENTS_MAX * RECORD_BYTES + SCOPE_LEDGERS_MAX * 4 <= INBOX_BYTES, "inbox smaller than a full request");
assert(HEADER_BYTES + BATCH_EVENTS_MAX * RECORD_BYTES <= OUTBOX_BYTES, "outbox smaller than a full reply");

const inbox: usize = heap.alloc(INBOX_BYTES);
const outbox: usize = heap.alloc(OUTBOX_BYTES);

export function qx_inbox(): usize {
  // Lookups read ids from the inbox while writing records to the outbox.
  assert(inbox + INBOX_BYTES <= outbox || outbox + OUTBOX_BYTES <= inbox, "inbox and outbox overlap");
  return inbox;
}

export function qx_inbox_bytes(): u32 {
  return INBOX_BYTES;
}

export function qx_init(len: u32): void {
  assert(len <= INBOX_BYTES, "config longer than the inbox");
  configParse(inbox, len);
  const grid = configGridBlocks != 0;
  stateInit(configAccountsMax, configTransfersMax, configPendingMax, configHistoryMax, configPrefault, grid);
  if (grid) {
    gridInit(configGridBlocks);
    findsInit(2 * BATCH_EVENTS_MAX);
    gridCacheInit(configCacheBlocks);
    // How much is cached is not state (the digest skips the cache): nothing outside it keeps the size.
    forgetCacheBlocks();
  }
  assert(S.initialized && S.accountCount == 0 && S.transferCount == 0, "ledger state not fresh after init");
}

/** The grid's block cache (grid.ts): not state, so the host's state digest skips it (services/sdk/ABI.md). */
export function qx_cache_area(): usize {
  return S.grid ? G.cacheRegion : 0;
}

export function qx_cache_bytes(): u32 {
  return S.grid ? <u32>gridCacheBytes() : 0;
}

// After the host restored a machine snapshot, which leaves the cache's blocks
// out: `bytes` is what qx_cache_bytes said when it was taken (ABI.md).
export function qx_cache_reset(bytes: u32): void {
  if (S.grid) gridCacheReset(<usize>bytes);
}

export function qx_check_invariants(): u32 {
  return checkInvariants();
}

export function qx_read_area(): usize {
  return readArea;
}

export function qx_read_request_max(): u32 {
  return READ_REQUEST_BYTES_MAX;
}

export function qx_read_reply_max(): u32 {
  return OUTBOX_BYTES;
}

export function qx_read(len: u32): i32 {
  return read(len);
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  assert(S.initialized, "message before qx_init");
  assert(len <= INBOX_BYTES, "message longer than the inbox");
  if (kind == KIND_BLOCK) {
    // A block a request asked for (cold.ts): into the cache. One that fails its
    // check (or the device) is asked for again by the next round; after
    // GRID_READ_FAILURES_MAX in a row the grid is corrupt, not glitching: the
    // machine stops with the block named (the log is intact). Never an answer
    // from a bad block, and never a request aborted halfway, which a replay
    // on a healthy disk would not abort.
    const status = storeOnBlock(G.cache, inbox, len);
    if (status != BLOCK_OK && G.cache.failuresInARow >= GRID_READ_FAILURES_MAX) {
      textReset();
      textPut(cacheErrorMessage(G.cache, treeName(G.cache.errorTree)));
      storeCorrupt(textPtr(), textLength());
    }
    return;
  }
  if (kind == KIND_CHECKPOINT) {
    if (S.grid) gridCheckpoint();
    return;
  }
  const now = <u64>max<i64>(time(), 0);
  if (kind == KIND_CLIENT_REQUEST || kind == KIND_SERVICE_MESSAGE) {
    handleRequest(token, len, now);
  } else if (kind == KIND_TIMER) {
    if (len >= 8 && S.timerArmed && load<u64>(inbox) >= S.timerArmedAt) S.timerArmed = false;
    expirePending(clockBase(now));
  } else {
    textReset();
    textPut("ledger: ignored message of unknown kind ");
    textPutU64(kind);
    textLog();
  }
  armExpiryTimer(now);
  assert(S.lastTimestamp <= TIMESTAMP_MAX, "logical clock past TIMESTAMP_MAX");
}

/** The first timestamp the current message may use: after every earlier one. */
function clockBase(now: u64): u64 {
  // lastTimestamp <= TIMESTAMP_MAX < 2^64 - 1, so the sum does not wrap and the clock only moves on.
  assert(S.lastTimestamp <= TIMESTAMP_MAX, "logical clock past TIMESTAMP_MAX");
  return max<u64>(now, S.lastTimestamp + 1);
}

/** Keeps one kernel timer armed for the earliest pending-transfer expiry. */
function armExpiryTimer(now: u64): void {
  if (expiryEmpty()) return;
  const expiresAt = expiryTopExpiresAt();
  if (S.timerArmed && S.timerArmedAt <= expiresAt) return;
  const delay = expiresAt > now ? expiresAt - now : 1;
  // Expiries are at most TIMESTAMP_MAX (overflows_timeout), so both fit the syscall's i64.
  assert(expiresAt <= TIMESTAMP_MAX && delay <= TIMESTAMP_MAX, "expiry timer out of range");
  timer(<i64>delay, <i64>expiresAt);
  S.timerArmed = true;
  S.timerArmedAt = expiresAt;
}

function replyError(token: u32): void {
  assert(textLength() > 0, "error reply without a reason");
  reply(token, STATUS_SERVICE_ERROR, textPtr(), textLength());
}

function handleRequest(token: u32, len: u32, now: u64): void {
  const framing = framingOf(inbox, len);
  if (framing != Framing.ok) {
    textReset();
    framingText(framing, inbox, len);
    replyError(token);
    return;
  }
  const operation = <u32>load<u8>(inbox);
  const count = load<u32>(inbox, 4);
  const scope = <u32>load<u16>(inbox, 2);
  const items = inbox + HEADER_BYTES;
  const base = clockBase(now);
  if (base + count - 1 > TIMESTAMP_MAX) {
    textReset();
    textPut("logical clock exhausted");
    replyError(token);
    return;
  }
  expirePending(base);
  if (S.grid) {
    const prepared = gridPrepare(operation, items, count, items + <usize>count * itemBytes(operation), scope);
    if (prepared == PREPARE_WAIT) return; // delivered again once its blocks are in
    if (prepared == PREPARE_TOO_WIDE) {
      textReset();
      textPut("query_too_wide: the query would examine more than ");
      textPutU64(EXAMINE_MAX);
      textPut(" transfers older than the ledger's memory; narrow its timestamp range");
      replyError(token);
      return;
    }
    if (prepared == PREPARE_TOO_LARGE) {
      textReset();
      textPut("batch_too_large: the batch has more transfers than the ledger's memory window takes (transfers_max, history_max); send smaller batches");
      replyError(token);
      return;
    }
    if (prepared == PREPARE_FULL) {
      textReset();
      textPut("storage_full: the ledger's grid (grid_blocks) cannot take the transfers this batch must move out of memory; nothing was applied");
      replyError(token);
      return;
    }
  }
  let replyBytes: u32 = 0;
  if (isCreate(operation)) {
    const mark = S.transferCount;
    scopeSet(items + <usize>count * RECORD_BYTES, scope);
    executeCreate(operation == OP_CREATE_ACCOUNTS, items, count, base, outbox);
    scopeSet(items, 0);
    // Rollback pops only this batch's chains: what earlier batches committed stays.
    assert(S.transferCount >= mark, "a batch removed transfers it did not create");
    assert(base + count - 1 > S.lastTimestamp, "logical clock moved back");
    S.lastTimestamp = base + count - 1;
    // Committed transfers are the slots this batch added (rolled-back chains
    // were popped), in timestamp order: one event record, before the reply,
    // straight from the table.
    // A batch commits at most one transfer per event, so the event record stays under a batch.
    assert(S.transferCount - mark <= count, "a batch committed more transfers than it has events");
    if (configEvents && S.transferCount > mark) emitCommitted(mark, S.transferCount);
    replyBytes = count * RESULT_BYTES;
  } else {
    replyBytes = answer(inbox, outbox);
  }
  assert(replyBytes <= OUTBOX_BYTES, "reply larger than the outbox");
  if (S.grid) gridDrain();
  reply(token, STATUS_OK, outbox, replyBytes);
}

/** One event record of the transfers [from, to), straight from the table: two when they wrap around the ring. */
function emitCommitted(from: u32, to: u32): void {
  assert(from < to && to - from <= BATCH_EVENTS_MAX, "emitCommitted: a batch's transfers");
  const wrap = S.grid ? S.transfersMax - (from & S.transferMask) : to - from;
  if (wrap >= to - from) {
    emitTransfers(transferAt(from), to - from);
    return;
  }
  emitTransfers(transferAt(from), wrap);
  emitTransfers(transferAt(from + wrap), to - from - wrap);
}
