// Runs a batch of create_accounts or create_transfers events.
//
// Linked chains succeed or fail as a unit: on the first failure in a chain
// its applied events are rolled back (newest slot first) and reported as
// linked_event_failed; the rest of the chain fails the same way. The batch-
// level checks here come first in TigerBeetle's order of precedence.

import { BATCH_EVENTS_MAX, RECORD_BYTES, RESULT_BYTES, TIMESTAMP_MAX } from "./constants";
import { AF_IMPORTED, AF_LINKED, T_FLAGS, T_ID, T_TIMESTAMP, TF_IMPORTED } from "./layout";
import { AccountResult, TransferResult, transferResultIsTransient } from "./results";
import { S } from "./state";
import { accountExistingTimestamp, createAccount, rollbackAccount } from "./accounts";
import { RESOLVE_CHUNK, createTransfer, transferBatchResolve, transferOrphanInsert } from "./transfers";
import { transferExistingTimestamp } from "./transfer_exists";
import { rollbackTransfer } from "./transfer_apply";

// The codes shared by both operations have equal values (1, 2, 3).
const LINKED_EVENT_FAILED: u32 = 1;
const LINKED_EVENT_CHAIN_OPEN: u32 = 2;
const TIMESTAMP_MUST_BE_ZERO: u32 = 3;

// @ts-ignore: decorator
@inline function writeResult(out: usize, index: u32, result: u32, timestamp: u64): void {
  // Created events carry their timestamp; failures carry none (exists carries the existing one's).
  assert(index < BATCH_EVENTS_MAX && (result != 0 || timestamp != 0), "result outside the batch, or created without a timestamp");
  const at = out + <usize>index * RESULT_BYTES;
  store<u32>(at, result);
  store<u32>(at, 0, 4);
  store<u64>(at, timestamp, 8);
}

/** Result of one event after the batch-level checks; sets `eventTimestamp`. */
let eventTimestamp: u64 = 0;

function executeOne(accounts: bool, event: usize, index: u32, base: u64, batchTimestamp: u64,
  firstImported: bool): u32 {
  const importedFlag = accounts ? AF_IMPORTED : TF_IMPORTED;
  const imported = (load<u16>(event + T_FLAGS) & importedFlag) != 0;
  if (imported != firstImported) {
    if (imported) {
      return accounts ? AccountResult.imported_event_not_expected : TransferResult.imported_event_not_expected;
    }
    return accounts ? AccountResult.imported_event_expected : TransferResult.imported_event_expected;
  }
  let timestamp = load<u64>(event + T_TIMESTAMP);
  if (imported) {
    if (timestamp == 0 || timestamp > TIMESTAMP_MAX) {
      return accounts ? AccountResult.imported_event_timestamp_out_of_range
        : TransferResult.imported_event_timestamp_out_of_range;
    }
    if (timestamp >= batchTimestamp) {
      return accounts ? AccountResult.imported_event_timestamp_must_not_advance
        : TransferResult.imported_event_timestamp_must_not_advance;
    }
  } else {
    if (timestamp != 0) return TIMESTAMP_MUST_BE_ZERO;
    timestamp = base + index;
    // handleRequest answered "logical clock exhausted" unless the whole batch fits.
    assert(timestamp <= batchTimestamp && timestamp <= TIMESTAMP_MAX, "event timestamp past the batch's clock");
  }
  eventTimestamp = timestamp;
  return accounts ? <u32>createAccount(event, timestamp) : <u32>createTransfer(event, timestamp, index);
}

function rollbackTo(accounts: bool, mark: u32): void {
  assert(mark <= (accounts ? S.accountCount : S.transferCount), "chain mark past the newest slot");
  if (accounts) {
    while (S.accountCount > mark) rollbackAccount(S.accountCount - 1);
  } else {
    while (S.transferCount > mark) rollbackTransfer(S.transferCount - 1);
  }
}

/**
 * Applies `count` events at `events`, writing 16-byte results to `out`.
 * Event i gets timestamp base + i; the caller advances the clock.
 */
export function executeCreate(accounts: bool, events: usize, count: u32, base: u64, out: usize): void {
  assert(count > 0 && count <= BATCH_EVENTS_MAX, "batch count out of range: framingOf checks it");
  let resolved: u32 = 0;
  const batchTimestamp = base + count - 1;
  const firstImported = (load<u16>(events + T_FLAGS) & (accounts ? AF_IMPORTED : TF_IMPORTED)) != 0;
  const exists: u32 = accounts ? AccountResult.exists : TransferResult.exists;
  let chainStart: i64 = -1;
  let chainBroken = false;
  let chainMark: u32 = 0;
  for (let index: u32 = 0; index < count; index++) {
    const event = events + <usize>index * RECORD_BYTES;
    if (!accounts && index == resolved) {
      resolved = min<u32>(count, resolved + RESOLVE_CHUNK);
      transferBatchResolve(events, index, resolved);
    }
    const linked = (load<u16>(event + T_FLAGS) & AF_LINKED) != 0;
    if (linked && chainStart < 0) {
      chainStart = index;
      chainMark = accounts ? S.accountCount : S.transferCount;
    }
    let result: u32;
    if (linked && index == count - 1) result = LINKED_EVENT_CHAIN_OPEN;
    else if (chainBroken) result = LINKED_EVENT_FAILED;
    else result = executeOne(accounts, event, index, base, batchTimestamp, firstImported);

    let timestamp: u64 = 0;
    if (result == 0) {
      timestamp = eventTimestamp;
    } else {
      if (result == exists) timestamp = accounts ? accountExistingTimestamp : transferExistingTimestamp;
      if (chainStart >= 0 && !chainBroken) {
        chainBroken = true;
        rollbackTo(accounts, chainMark);
        assert((accounts ? S.accountCount : S.transferCount) == chainMark, "chain rollback left events behind");
        for (let j = <u32>chainStart; j < index; j++) writeResult(out, j, LINKED_EVENT_FAILED, 0);
      }
      if (!accounts && transferResultIsTransient(<TransferResult>result)) {
        transferOrphanInsert(event);
      }
    }
    writeResult(out, index, result, timestamp);
    if (chainStart >= 0 && (!linked || result == LINKED_EVENT_CHAIN_OPEN)) {
      chainStart = -1;
      chainBroken = false;
    }
  }
  // The last event closes any chain (an open one is answered linked_event_chain_open).
  assert(chainStart < 0, "linked chain left open at the end of the batch");
}
