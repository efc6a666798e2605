// The ledger's state: flat record arrays, id tables and counters.
//
// Everything is allocated once by stateInit, from the capacities in the
// service config; nothing is allocated while handling messages. Records live
// in slots numbered in creation order, so a slot order is also a timestamp
// order, and rolling back a linked chain means popping the newest slots.
// (The top slots of the transfer table hold the ids of transiently failed
// transfers, from transfers_max - 1 down: see transfers.ts.) Every table
// starts on a cache line (alloc.ts).

import { ACCOUNTS_MAX_LIMIT, HISTORY_MAX_LIMIT, NONE, PENDING_MAX_LIMIT, TRANSFERS_MAX_LIMIT } from "./constants";
import { AM_BYTES, AM_HISTORY_FIRST, AM_HISTORY_LAST, AM_TRANSFERS_FIRST, AM_TRANSFERS_LAST,
  H_BYTES, TM_BYTES, X_BYTES } from "./layout";
import { IdTable, idTableCreate } from "./idtable";
import { CACHE_LINE, allocTable } from "./alloc";

// @ts-ignore: decorator
@unmanaged
export class LedgerState {
  accountsMax: u32 = 0;
  transfersMax: u32 = 0;
  pendingMax: u32 = 0;
  historyMax: u32 = 0;

  accounts: usize = 0;
  accountMeta: usize = 0;
  accountCount: u32 = 0;
  accountIds: IdTable = changetype<IdTable>(0);

  transfers: usize = 0;
  transferMeta: usize = 0;
  /** The next transfer's sequence number: transfers are numbered in creation (so timestamp) order. */
  transferCount: u32 = 0;
  /**
   * The oldest transfer held in memory: transfers [transferFirst,
   * transferCount) are in the table. 0 while the table keeps every transfer;
   * a ledger on the grid (docs/storage.md, stage 2) moves it on as it evicts.
   */
  transferFirst: u32 = 0;
  /** Sequence number to record: the table is a ring of transfersMax records on the grid, all ones without it. */
  transferMask: u32 = 0xFFFFFFFF;
  transferIds: IdTable = changetype<IdTable>(0);

  history: usize = 0;
  /** The next balance record's number; records [historyFirst, historyCount) are in the table (a ring on the grid). */
  historyCount: u32 = 0;
  historyFirst: u32 = 0;
  historyMask: u32 = 0xFFFFFFFF;
  /** History records promised to unresolved pending transfers for their post/void. */
  historyReserved: u32 = 0;

  expiryHeap: usize = 0;
  expiryCount: u32 = 0;
  /** Pending transfers not yet posted, voided or expired. */
  pendingCount: u32 = 0;

  /** Scratch for the per-ledger invariant check, 2 * accountsMax entries. */
  ledgerSums: usize = 0;

  /** The last timestamp given to an event (ns); strictly increasing. */
  lastTimestamp: u64 = 0;
  timerArmed: bool = false;
  timerArmedAt: u64 = 0;
  initialized: bool = false;
  /** Touch every table page at boot (config "prefault", alloc.ts). */
  prefault: bool = true;
  /** History lives on the grid (config grid_blocks, grid.ts): the tables are windows. */
  grid: bool = false;
}

export const S: LedgerState = changetype<LedgerState>(heap.alloc(offsetof<LedgerState>()));
memory.fill(changetype<usize>(S), 0, offsetof<LedgerState>());

/** Bytes per ledger-sum scratch entry: ledger u32, used u32, 4 sums of 3 u64 limbs. */
export const LEDGER_SUM_BYTES: usize = 8 + 4 * 24;

/**
 * Sizes every table. With `grid` the transfer table is a ring of
 * transfersMax records followed by a side table of pendingMax (pending
 * transfers that outlive their place in the ring: grid.ts), and the history
 * table a ring of historyMax records.
 */
export function stateInit(accountsMax: u32, transfersMax: u32, pendingMax: u32, historyMax: u32, prefault: bool = true,
  grid: bool = false): void {
  assert(!S.initialized, "ledger state initialized twice");
  S.prefault = prefault;
  assert(accountsMax > 0 && transfersMax > 0 && pendingMax > 0 && historyMax > 0, "ledger capacity of zero");
  // config.ts bounds every capacity, so the tables below fit one 32-bit memory.
  assert(accountsMax <= ACCOUNTS_MAX_LIMIT && transfersMax <= TRANSFERS_MAX_LIMIT, "ledger capacity over its limit");
  assert(pendingMax <= PENDING_MAX_LIMIT && historyMax <= HISTORY_MAX_LIMIT, "ledger capacity over its limit");
  assert(grid || pendingMax <= transfersMax, "pending_max exceeds transfers_max");
  S.accountsMax = accountsMax;
  S.transfersMax = transfersMax;
  // S is zeroed memory, not a constructed object: its field initialisers never ran.
  S.transferFirst = 0;
  S.transferMask = grid ? transfersMax - 1 : 0xFFFFFFFF;
  S.historyFirst = 0;
  S.historyMask = grid ? historyMax - 1 : 0xFFFFFFFF;
  // The rings' masks pick a record: their sizes are powers of two (config.ts).
  assert(!grid || ((transfersMax & (transfersMax - 1)) == 0 && (historyMax & (historyMax - 1)) == 0), "grid rings of a power of two");
  const records = grid ? transfersMax + pendingMax : transfersMax;
  S.pendingMax = pendingMax;
  S.historyMax = historyMax;
  S.accounts = allocTable(<usize>accountsMax << 7, S.prefault);
  S.accountMeta = allocTable(<usize>accountsMax * AM_BYTES, S.prefault);
  S.accountIds = idTableCreate(accountsMax, S.accounts, S.prefault);
  S.transfers = allocTable(<usize>records << 7, S.prefault);
  S.transferMeta = allocTable(<usize>records * TM_BYTES, S.prefault);
  S.transferIds = idTableCreate(records, S.transfers, S.prefault);
  // On a grid the history ring's size is the window's rule (config.ts historyWindowMin), not what
  // accounts with history need; only they write it, so it faults in as they do (384 MiB of a
  // 1M-transfer window left untouched when few accounts keep history).
  S.history = allocTable(<usize>historyMax * H_BYTES, S.prefault && !grid);
  S.expiryHeap = allocTable(<usize>pendingMax * X_BYTES, S.prefault);
  S.ledgerSums = allocTable(<usize>accountsMax * 2 * LEDGER_SUM_BYTES, S.prefault);
  // A 128-byte record spans two cache lines only when its table starts on one (alloc.ts).
  assert(((S.accounts | S.transfers | S.history | S.expiryHeap) & (CACHE_LINE - 1)) == 0, "ledger table off a cache line");
  assert(S.accountIds.limit == accountsMax && S.transferIds.limit == records, "id table limit differs from its capacity");
  S.initialized = true;
}

// The record accessors below run several times for every transfer applied, so
// they check nothing themselves (an assert in each cost the apply rate ~5%):
// slots are checked where they come from instead, when an id table, a list
// link, the expiry heap or a resolved batch hands them out.

// @ts-ignore: decorator
@inline export function accountAt(slot: u32): usize {
  return S.accounts + (<usize>slot << 7);
}

// @ts-ignore: decorator
@inline export function accountMetaAt(slot: u32): usize {
  return S.accountMeta + (<usize>slot << 4);
}

// A transfer is named two ways. Its sequence number (`seq`, "slot" in most
// of the code) is its place in creation order: lists, history, rollback and
// the timestamp search compare these. Its record index (`physical`) is where
// its record lies: the id table's values (record + 1) and the references a
// pending transfer's post, void and expiry keep are record indexes, since a
// pending transfer may outlive its place in a ring (docs/storage.md, stage
// 2). Without a grid the two are equal.

/** The record of transfer `seq`. */
// @ts-ignore: decorator
@inline export function transferAt(seq: u32): usize {
  return S.transfers + (<usize>(seq & S.transferMask) << 7);
}

// @ts-ignore: decorator
@inline export function transferMetaAt(seq: u32): usize {
  return S.transferMeta + (<usize>(seq & S.transferMask) << 5);
}

/** Record index of transfer `seq`. */
// @ts-ignore: decorator
@inline export function physicalOf(seq: u32): u32 {
  return seq & S.transferMask;
}

/** The record at record index `physical` (an id table value - 1, or a pending reference). */
// @ts-ignore: decorator
@inline export function recordAt(physical: u32): usize {
  return S.transfers + (<usize>physical << 7);
}

// @ts-ignore: decorator
@inline export function recordMetaAt(physical: u32): usize {
  return S.transferMeta + (<usize>physical << 5);
}

// @ts-ignore: decorator
@inline export function historyAt(index: u32): usize {
  assert(index - S.historyFirst < S.historyMax, "history index out of range");
  return S.history + <usize>(index & S.historyMask) * H_BYTES;
}

/** Initializes an account slot's list heads to empty. */
export function accountMetaReset(slot: u32): void {
  // Only a new account's heads are reset: an existing account's lists would be cut loose.
  assert(slot == S.accountCount, "list heads reset on an account that is not the newest");
  const meta = accountMetaAt(slot);
  store<u32>(meta + AM_TRANSFERS_FIRST, NONE);
  store<u32>(meta + AM_TRANSFERS_LAST, NONE);
  store<u32>(meta + AM_HISTORY_FIRST, NONE);
  store<u32>(meta + AM_HISTORY_LAST, NONE);
}
