// The storage steps of a request on a ledger on its grid (docs/storage.md,
// stage 2), before it runs: room in the ring for a create_transfers batch
// (eviction, grid.ts), the batch's compaction step, the blocks queued handed
// to the kernel, and the cold lookups the request will make found
// (finds.ts). Each step is a function of the state and the request, so the
// message delivered again once its blocks are in redoes none of it.

import { BATCH_EVENTS_MAX, ID_BYTES, NONE, OP_CREATE_ACCOUNTS, OP_CREATE_TRANSFERS, OP_GET_ACCOUNT_BALANCES,
  OP_GET_ACCOUNT_TRANSFERS, OP_LOOKUP_TRANSFERS, OP_QUERY_TRANSFERS, RECORD_BYTES } from "./constants";
import { A_FLAGS, A_ID, AF_HISTORY, AF_IMPORTED, F_FLAGS, F_TIMESTAMP_MIN, FF_REVERSED, Q_CODE, Q_FLAGS, Q_LEDGER, Q_TIMESTAMP_MIN,
  Q_USER_DATA_128, Q_USER_DATA_32, Q_USER_DATA_64, QF_REVERSED, T_CREDIT_ACCOUNT_ID,
  T_DEBIT_ACCOUNT_ID, T_FLAGS, T_ID, T_PENDING_ID, T_TIMESTAMP, TF_POST_PENDING, TF_VOID_PENDING } from "./layout";
import { S, accountAt } from "./state";
import { transferIdGet } from "./transfers";
import { G, gridBatchFits, gridCompact, gridDrain, gridMakeRoom, gridScratchClear, keyAccount, keyIndexed, keyTimestamp } from "./grid";
import { FINDS_READY, FINDS_WAIT, FOUND_TRANSFER, findId, findRecord, findsBegin, findsResolve, findsWaiting, findTimestamp,
  findTimestampResult } from "./finds";
import { equal128, isZero128 } from "./u128";
import { accountBalanceWrite, accountFilterMatches, filterAccount, filterLimit, queryMatches, queryValid, timestampMaxOf } from "./queries";
import { coldAdd, coldReset } from "./coldresults";
import { SCOPE_LEDGERS_MAX } from "./scope";
import { storeAsk } from "../../sdk/store";
import { cacheEpochEnd } from "../../../lib/store/cache";
import { Tree } from "../../../lib/store/tree";
import { keyCompare, keyDecrement, keyIncrement } from "../../../lib/store/keys";
import { treeScan, treeScanPrefetch, TREE_CACHE_FULL, TREE_READY } from "../../../lib/store/reads";

export const PREPARE_READY: i32 = 1;
export const PREPARE_WAIT: i32 = 0; // blocks were asked for: the message comes again
export const PREPARE_FULL: i32 = -1; // the grid cannot take what room for the batch needs; nothing changed
export const PREPARE_TOO_WIDE: i32 = -2; // a query would examine more older records than it may; nothing changed
export const PREPARE_TOO_LARGE: i32 = -3; // a batch larger than the ledger's windows (transfers_max, history_max); nothing changed

// Older records a query scans a page at a time, and how many it may examine
// in all before it must be narrowed (keys of an index that fail the filter's
// other fields, or, with no field to filter on, transfers out of scope).
const PAGE: u32 = 1024;
// Each key examined is a find (finds.ts), kept until the message is done so
// that a delivery after blocks redoes no lookup: the finds table holds what a
// query examines and one page more (findsInit(2 * BATCH_EVENTS_MAX) at init).
export const EXAMINE_MAX: u32 = 2 * BATCH_EVENTS_MAX - PAGE;
const page: usize = heap.alloc(<usize>PAGE * (8 + 128));
const lo: usize = heap.alloc(32);
const hi: usize = heap.alloc(32);

/** `scope`: the u32 ledgers after the items the request is limited to (scope.ts), `scopeCount` of them. */
export function gridPrepare(operation: u32, items: usize, count: u32, scope: usize, scopeCount: u32): i32 {
  const r = prepare(operation, items, count, scope, scopeCount);
  gridScratchClear();
  findsWaiting(r == PREPARE_WAIT);
  return r;
}

function prepare(operation: u32, items: usize, count: u32, scope: usize, scopeCount: u32): i32 {
  assert(S.grid, "gridPrepare without a grid");
  findsBegin();
  if (operation == OP_CREATE_TRANSFERS) {
    if (!gridBatchFits(count)) return PREPARE_TOO_LARGE;
    if (!gridMakeRoom(count)) return PREPARE_FULL;
    gridDrain();
    if (!gridCompact()) return PREPARE_WAIT;
    gridDrain();
  }
  if (operation == OP_CREATE_TRANSFERS) {
    for (let i: u32 = 0; i < count; i++) {
      const t = items + <usize>i * RECORD_BYTES;
      if (transferIdGet(load<u64>(t + T_ID), load<u64>(t + T_ID + 8)) == 0) findId(t + T_ID);
      const flags = load<u16>(t + T_FLAGS);
      if ((flags & (TF_POST_PENDING | TF_VOID_PENDING)) != 0 && !isZero128(t + T_PENDING_ID)
        && transferIdGet(load<u64>(t + T_PENDING_ID), load<u64>(t + T_PENDING_ID + 8)) == 0) findId(t + T_PENDING_ID);
    }
  } else if (operation == OP_LOOKUP_TRANSFERS) {
    for (let i: u32 = 0; i < count; i++) {
      const id = items + <usize>i * ID_BYTES;
      if (transferIdGet(load<u64>(id), load<u64>(id, 8)) == 0) findId(id);
    }
  } else if (operation == OP_GET_ACCOUNT_TRANSFERS || operation == OP_GET_ACCOUNT_BALANCES || operation == OP_QUERY_TRANSFERS) {
    return coldQuery(operation, items, scope, scopeCount);
  } else if (operation == OP_CREATE_ACCOUNTS && G.evicted > 0) {
    // An imported account may not take the timestamp of a transfer, evicted ones included.
    for (let i: u32 = 0; i < count; i++) {
      const a = items + <usize>i * RECORD_BYTES;
      const timestamp = load<u64>(a + T_TIMESTAMP);
      if ((load<u16>(a + T_FLAGS) & AF_IMPORTED) != 0 && timestamp != 0 && timestamp <= G.evictedTimestampLast) findTimestamp(timestamp);
    }
  }
  return findsResolve() == FINDS_READY ? PREPARE_READY : PREPARE_WAIT;
}

// ---- queries: what they find among the transfers that left memory ----

/**
 * Finds, oldest first (newest first when the filter says reversed), the
 * older records a query returns, up to its limit, into coldresults.ts; the
 * query then adds what memory holds. Every delivery of the message starts
 * the scan over: the pages are cheap to scan again, and the records each
 * needs are remembered by the finds.
 */
function coldQuery(operation: u32, items: usize, scope: usize, scopeCount: u32): i32 {
  coldReset();
  if (G.evicted == 0) return findsResolve() == FINDS_READY ? PREPARE_READY : PREPARE_WAIT;
  if (operation == OP_QUERY_TRANSFERS) return coldQueryTransfers(items, scope, scopeCount);
  const accountSlot = filterAccount(items);
  if (accountSlot == NONE) return PREPARE_READY;
  const balances = operation == OP_GET_ACCOUNT_BALANCES;
  if (balances && (load<u16>(accountAt(accountSlot) + A_FLAGS) & AF_HISTORY) == 0) return PREPARE_READY;
  const reversed = (load<u32>(items + F_FLAGS) & FF_REVERSED) != 0;
  const timestampMin = load<u64>(items + F_TIMESTAMP_MIN);
  const timestampMax = min<u64>(timestampMaxOf(items, F_TIMESTAMP_MIN), G.evictedTimestampLast);
  if (timestampMax < timestampMin) return PREPARE_READY;
  const limit = filterLimit(items, F_TIMESTAMP_MIN);
  memory.copy(lo, keyAccount(timestampMin, accountSlot), 16);
  memory.copy(hi, keyAccount(timestampMax, accountSlot), 16);
  return balances ? scanIndexed(G.balances, 16, 80, reversed, limit, ACCEPT_BALANCES, items, accountSlot, 0, 0)
    : scanIndexed(G.accountTransfers, 16, 16, reversed, limit, ACCEPT_TRANSFERS, items, accountSlot, 0, 0);
}

// What scanIndexed adds for each transfer it finds.
const ACCEPT_TRANSFERS: u32 = 0; // the transfer, if it matches the AccountFilter
const ACCEPT_BALANCES: u32 = 1; // the balances of the record, if its transfer matches the AccountFilter
const ACCEPT_QUERY: u32 = 2; // the transfer, if it matches the QueryFilter and the scope

/**
 * Scans the keys [lo, hi] of a tree whose keys start with a transfer's
 * timestamp (account_transfers, account_balances, a query index), a page at
 * a time in the filter's order, finds each transfer by its timestamp in
 * `transfers` and adds what `accept` says to the results, up to `limit`.
 * Examining more than EXAMINE_MAX keys that do not all make the page is
 * PREPARE_TOO_WIDE.
 */
function scanIndexed(t: Tree, keyBytes: u32, recordBytes: usize, reversed: bool, limit: u32, accept: u32,
  filter: usize, accountSlot: u32, scope: usize, scopeCount: u32): i32 {
  let examined: u32 = 0;
  while (true) {
    const n = scanPage(t, !reversed);
    if (n < 0) return PREPARE_WAIT;
    for (let i: u32 = 0; i < <u32>n; i++) findTimestamp(load<u64>(page + <usize>i * recordBytes));
    if (findsResolve() == FINDS_WAIT) return PREPARE_WAIT;
    for (let i: u32 = 0; i < <u32>n; i++) {
      const r = page + <usize>i * recordBytes;
      const timestamp = load<u64>(r);
      // The trees name only evicted transfers, which transfers holds.
      const found = findTimestampResult(timestamp);
      assert(found == FOUND_TRANSFER, "cold query: an indexed transfer missing from transfers");
      const record = findRecord();
      if (accept == ACCEPT_QUERY) {
        if (!queryMatches(filter, record, scope, scopeCount)) continue;
      } else if (!transferMatches(filter, record, accountSlot)) {
        continue;
      }
      if (accept == ACCEPT_BALANCES) {
        accountBalanceWrite(G.value, r + 16, timestamp);
        if (!coldAdd(G.value, limit)) return PREPARE_READY;
      } else if (!coldAdd(record, limit)) return PREPARE_READY;
    }
    examined += <u32>n;
    if (<u32>n < PAGE) return PREPARE_READY;
    if (examined >= EXAMINE_MAX) return PREPARE_TOO_WIDE;
    if (!nextPage(page + <usize>(<u32>n - 1) * recordBytes, keyBytes, !reversed)) return PREPARE_READY;
  }
  return PREPARE_READY;
}

/** Side, user data and code of an AccountFilter, on the transfer at `record` of account `accountSlot`. */
function transferMatches(filter: usize, record: usize, accountSlot: u32): bool {
  const account = accountAt(accountSlot);
  const isDebit = equal128(record + T_DEBIT_ACCOUNT_ID, account + A_ID);
  assert(isDebit || equal128(record + T_CREDIT_ACCOUNT_ID, account + A_ID), "cold query: a transfer of another account");
  return accountFilterMatches(filter, record, isDebit);
}

function coldQueryTransfers(filter: usize, scopeAt: usize, scopeCount: u32): i32 {
  if (!queryValid(filter)) return PREPARE_READY;
  assert(scopeCount <= SCOPE_LEDGERS_MAX, "cold query: a scope within bounds");
  const reversed = (load<u32>(filter + Q_FLAGS) & QF_REVERSED) != 0;
  const timestampMin = load<u64>(filter + Q_TIMESTAMP_MIN);
  const timestampMax = min<u64>(timestampMaxOf(filter, Q_TIMESTAMP_MIN), G.evictedTimestampLast);
  if (timestampMax < timestampMin) return PREPARE_READY;
  const limit = filterLimit(filter, Q_TIMESTAMP_MIN);
  // A field to filter on: its index (the most selective the filter has), else every transfer in the range.
  const index = queryIndex(filter, timestampMin, timestampMax);
  if (index != 0) {
    const t = changetype<Tree>(index);
    return scanIndexed(t, t.keyBytes, <usize>t.keyBytes, reversed, limit, ACCEPT_QUERY, filter, 0, scopeAt, scopeCount);
  }
  memory.copy(lo, keyTimestamp(timestampMin), 8);
  memory.copy(hi, keyTimestamp(timestampMax), 8);
  let examined: u32 = 0;
  while (true) {
    const n = scanPage(G.transfers, !reversed);
    if (n < 0) return PREPARE_WAIT;
    cacheEpochEnd(G.cache);
    for (let i: u32 = 0; i < <u32>n; i++) {
      const record = page + <usize>i * 136 + 8;
      if (queryMatches(filter, record, scopeAt, scopeCount) && !coldAdd(record, limit)) return PREPARE_READY;
    }
    examined += <u32>n;
    if (<u32>n < PAGE) return PREPARE_READY;
    if (examined >= EXAMINE_MAX) return PREPARE_TOO_WIDE;
    if (!nextPage(page + <usize>(<u32>n - 1) * 136, 8, !reversed)) return PREPARE_READY;
  }
  return PREPARE_READY;
}

/**
 * The query index a QueryFilter scans, with [lo, hi] set to its keys of the
 * field's value between the timestamps; 0 when the filter names no field.
 * user_data_128 first, then 64, 32, code and ledger: the likelier a field
 * is to tell transfers apart, the fewer keys that fail the other fields.
 */
function queryIndex(filter: usize, timestampMin: u64, timestampMax: u64): usize {
  let t: Tree = changetype<Tree>(0);
  let vlo: u64 = 0;
  let vhi: u64 = 0;
  if ((load<u64>(filter + Q_USER_DATA_128) | load<u64>(filter + Q_USER_DATA_128 + 8)) != 0) {
    t = G.byUserData128;
    vlo = load<u64>(filter + Q_USER_DATA_128);
    vhi = load<u64>(filter + Q_USER_DATA_128 + 8);
  } else if (load<u64>(filter + Q_USER_DATA_64) != 0) {
    t = G.byUserData64;
    vlo = load<u64>(filter + Q_USER_DATA_64);
  } else if (load<u32>(filter + Q_USER_DATA_32) != 0) {
    t = G.byUserData32;
    vlo = <u64>load<u32>(filter + Q_USER_DATA_32);
  } else if (load<u16>(filter + Q_CODE) != 0) {
    t = G.byCode;
    vlo = <u64>load<u16>(filter + Q_CODE);
  } else if (load<u32>(filter + Q_LEDGER) != 0) {
    t = G.byLedger;
    vlo = <u64>load<u32>(filter + Q_LEDGER);
  } else {
    return 0;
  }
  memory.copy(lo, keyIndexed(timestampMin, vlo, vhi), t.keyBytes);
  memory.copy(hi, keyIndexed(timestampMax, vlo, vhi), t.keyBytes);
  return changetype<usize>(t);
}

/** One page of [lo, hi] into `page`: the count, or -1 when blocks were asked for. */
function scanPage(t: Tree, ascending: bool): i32 {
  let r = treeScanPrefetch(t, lo, hi, PAGE, ascending);
  if (r == TREE_CACHE_FULL) {
    cacheEpochEnd(G.cache);
    r = treeScanPrefetch(t, lo, hi, PAGE, ascending);
    assert(r != TREE_CACHE_FULL, "cold query: the cache cannot hold one page's blocks (cache_blocks too small)");
  }
  if (r != TREE_READY) {
    const asked = storeAsk(G.cache);
    assert(asked > 0, "cold query: waiting for blocks none of which was asked");
    return -1;
  }
  return <i32>treeScan(t, lo, hi, PAGE, ascending, page);
}

/** Moves the bound past the last key of a page (`bytes` of key); false when the range is used up. */
function nextPage(last: usize, bytes: u32, ascending: bool): bool {
  if (ascending) {
    memory.copy(lo, last, bytes);
    return keyIncrement(lo, bytes) && keyCompare(lo, hi, bytes) <= 0;
  }
  memory.copy(hi, last, bytes);
  return keyDecrement(hi, bytes) && keyCompare(lo, hi, bytes) <= 0;
}
