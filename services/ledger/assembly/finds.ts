// Cold lookups of a ledger on its grid (docs/storage.md, stage 2): what the
// trees say about transfer ids and timestamps that are no longer in memory,
// found before the batch or query that needs them runs.
//
// A find is resolved over as many prefetch rounds as its blocks take: an id
// is looked up in transfers.id (its bloom filters keep a new id off the
// disk), then, when found, its record in transfers and, for a pending
// transfer, its outcome in transfers.pending; a timestamp goes straight to
// transfers. Each round walks the finds not yet resolved, resolves those
// whose blocks are cached (copying what it needs out, so no block has to
// stay pinned past the round), and asks the kernel for the blocks of the
// others; the message that needs them is delivered again with the blocks
// cached. The table is the message's own: it starts over with every message
// but the one that asked for blocks, delivered again (findsWaiting), so what
// it says is true of the state the message runs on.

import { PENDING_NONE, PENDING_PENDING, T_FLAGS, T_TIMESTAMP, TF_PENDING } from "./layout";
import { G, TS_ORPHAN, keyTimestamp } from "./grid";
import { storeAsk } from "../../sdk/store";
import { cacheEpochEnd } from "../../../lib/store/cache";
import { treeGet, treePrefetch, TREE_CACHE_FULL, TREE_READY, TREE_WAIT } from "../../../lib/store/reads";

const FIND_KEY: usize = 0; // [16] id, or the timestamp in its low 8 bytes
const FIND_KIND: usize = 16; // u8 KIND_*
const FIND_STATE: usize = 17; // u8 STATE_*
const FIND_FOUND: usize = 18; // u8 FOUND_*
const FIND_STATUS: usize = 19; // u8 PENDING_* of a pending transfer found
const FIND_TIMESTAMP: usize = 24; // u64
const FIND_RECORD: usize = 32; // [128] the transfer found
const FIND_BYTES: usize = 160;

const KIND_ID: u8 = 1;
const KIND_TIMESTAMP: u8 = 2;
const STATE_ID: u8 = 1; // look the id up in transfers.id
const STATE_RECORD: u8 = 2; // look the record up in transfers (and its outcome in transfers.pending)
const STATE_DONE: u8 = 3;
export const FOUND_NONE: u8 = 0;
export const FOUND_TRANSFER: u8 = 1;
export const FOUND_ORPHAN: u8 = 2;

export const FINDS_READY: i32 = 1;
export const FINDS_WAIT: i32 = 0; // blocks were asked for: the message comes again

// @ts-ignore: decorator
@unmanaged
class Finds {
  entries: usize = 0;
  mask: u32 = 0;
  count: u32 = 0;
  /** The entries in use, in the order added: what a round walks and a new message clears. */
  used: usize = 0;
  /** The message being handled asked for blocks: its next delivery goes on with the table. */
  waiting: bool = false;
  value: usize = 0;
}

const F: Finds = changetype<Finds>(heap.alloc(offsetof<Finds>()));
memory.fill(changetype<usize>(F), 0, offsetof<Finds>());

/** Room for `capacity` finds (two a batch event: its id and its pending id). */
export function findsInit(capacity: u32): void {
  assert(F.entries == 0 && capacity > 0, "findsInit: once");
  let slots: u32 = 16;
  while (slots < capacity * 2) slots <<= 1;
  F.entries = heap.alloc(<usize>slots * FIND_BYTES);
  memory.fill(F.entries, 0, <usize>slots * FIND_BYTES);
  F.mask = slots - 1;
  F.used = heap.alloc(<usize>(slots >> 1) << 2);
  F.value = heap.alloc(16);
}

// @ts-ignore: decorator
@inline function entry(i: u32): usize { return F.entries + <usize>i * FIND_BYTES; }

/**
 * Starts over unless this is the message that filled the table, delivered
 * again after its blocks (nothing else runs in between: the kernel's prefetch
 * step). Two queries in a row leave the state as it was, so the state alone
 * cannot tell a new message from the same one again.
 */
export function findsBegin(): void {
  assert(F.entries != 0, "findsBegin before findsInit");
  if (F.waiting) return;
  for (let n: u32 = 0; n < F.count; n++) memory.fill(entry(load<u32>(F.used + (<usize>n << 2))), 0, FIND_BYTES);
  F.count = 0;
}

/** Whether the message being handled asked for blocks (it comes again) or is done with the table. */
export function findsWaiting(waiting: bool): void {
  F.waiting = waiting;
}

function hashOf(lo: u64, hi: u64, kind: u8): u32 {
  let x = lo ^ (hi * 0x9E3779B97F4A7C15) ^ <u64>kind;
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93;
  x ^= x >> 32;
  return <u32>x;
}

function slotOf(lo: u64, hi: u64, kind: u8, add: bool): usize {
  let i = hashOf(lo, hi, kind) & F.mask;
  while (true) {
    const e = entry(i);
    const k = load<u8>(e + FIND_KIND);
    if (k == 0) {
      if (!add) return 0;
      assert(F.count < (F.mask + 1) >> 1, "finds: the table is full");
      store<u64>(e + FIND_KEY, lo);
      store<u64>(e + FIND_KEY + 8, hi);
      store<u8>(e + FIND_KIND, kind);
      store<u8>(e + FIND_STATE, kind == KIND_ID ? STATE_ID : STATE_RECORD);
      if (kind == KIND_TIMESTAMP) store<u64>(e + FIND_TIMESTAMP, lo);
      store<u32>(F.used + (<usize>F.count << 2), i);
      F.count++;
      return e;
    }
    if (k == kind && load<u64>(e + FIND_KEY) == lo && load<u64>(e + FIND_KEY + 8) == hi) return e;
    i = (i + 1) & F.mask;
  }
  return 0;
}

/** Asks for what the trees know of the id at `id` (nothing when it was asked already). */
export function findId(id: usize): void {
  slotOf(load<u64>(id), load<u64>(id, 8), KIND_ID, true);
}

/** Asks for the transfer of `timestamp`. */
export function findTimestamp(timestamp: u64): void {
  slotOf(timestamp, 0, KIND_TIMESTAMP, true);
}

/**
 * One round: resolves every find whose blocks are cached, and asks for the
 * blocks of the others. FINDS_READY when all are resolved.
 */
export function findsResolve(): i32 {
  let waiting = false;
  let full = false;
  for (let n: u32 = 0; n < F.count && !full; n++) {
    const e = entry(load<u32>(F.used + (<usize>n << 2)));
    if (load<u8>(e + FIND_STATE) == STATE_DONE) continue;
    const r = step(e);
    if (r == TREE_WAIT) waiting = true;
    else if (r == TREE_CACHE_FULL) { waiting = true; full = true; }
  }
  if (!waiting) {
    cacheEpochEnd(G.cache);
    // The last value read follows the order finds resolved in (the cache's doing): not state.
    memory.fill(F.value, 0, 16);
    return FINDS_READY;
  }
  // What was resolved was copied out: nothing need stay pinned but what the asked blocks fill.
  const asked = storeAsk(G.cache);
  if (asked > 0) return FINDS_WAIT;
  // Every slot was pinned by this round and nothing could be asked: unpin, and the next round goes on.
  assert(full, "finds: waiting for blocks none of which was asked");
  assert(!retried, "finds: the cache cannot hold one find's blocks (cache_blocks too small)");
  cacheEpochEnd(G.cache);
  retried = true;
  const r = findsResolve();
  retried = false;
  return r;
}

let retried = false;

/** The id at `id` failed with a transient result in this batch: it is an orphan now. */
export function findMarkOrphan(id: usize): void {
  const e = slotOf(load<u64>(id), load<u64>(id, 8), KIND_ID, false);
  if (e == 0) return;
  store<u8>(e + FIND_STATE, STATE_DONE);
  store<u8>(e + FIND_FOUND, FOUND_ORPHAN);
}

function step(e: usize): i32 {
  if (load<u8>(e + FIND_STATE) == STATE_ID) {
    const r = treePrefetch(G.ids, e + FIND_KEY);
    if (r != TREE_READY) return r;
    if (!treeGet(G.ids, e + FIND_KEY, F.value)) {
      store<u8>(e + FIND_STATE, STATE_DONE);
      store<u8>(e + FIND_FOUND, FOUND_NONE);
      return TREE_READY;
    }
    const timestamp = load<u64>(F.value);
    if (timestamp == TS_ORPHAN) {
      store<u8>(e + FIND_STATE, STATE_DONE);
      store<u8>(e + FIND_FOUND, FOUND_ORPHAN);
      return TREE_READY;
    }
    store<u64>(e + FIND_TIMESTAMP, timestamp);
    store<u8>(e + FIND_STATE, STATE_RECORD);
  }
  const timestamp = load<u64>(e + FIND_TIMESTAMP);
  const r = treePrefetch(G.transfers, keyTimestamp(timestamp));
  if (r != TREE_READY) return r;
  if (!treeGet(G.transfers, keyTimestamp(timestamp), e + FIND_RECORD)) {
    // Only a timestamp find can miss: transfers.id names only transfers evicted into transfers.
    assert(load<u8>(e + FIND_KIND) == KIND_TIMESTAMP, "finds: transfers.id names a transfer transfers does not hold");
    store<u8>(e + FIND_STATE, STATE_DONE);
    store<u8>(e + FIND_FOUND, FOUND_NONE);
    return TREE_READY;
  }
  assert(load<u64>(e + FIND_RECORD + T_TIMESTAMP) == timestamp, "finds: a record under another timestamp");
  let status = PENDING_NONE;
  if ((load<u16>(e + FIND_RECORD + T_FLAGS) & TF_PENDING) != 0) {
    const p = treePrefetch(G.pending, keyTimestamp(timestamp));
    if (p != TREE_READY) return p;
    // No outcome yet: it is still pending, in the side table (and found there first).
    status = treeGet(G.pending, keyTimestamp(timestamp), F.value) ? <u8>load<u64>(F.value) : PENDING_PENDING;
  }
  store<u8>(e + FIND_STATUS, status);
  store<u8>(e + FIND_FOUND, FOUND_TRANSFER);
  store<u8>(e + FIND_STATE, STATE_DONE);
  return TREE_READY;
}

/** The resolved find of the id at `id`: FOUND_* (and, for a transfer, its record: findRecord). */
export function findIdResult(id: usize): u8 {
  const e = slotOf(load<u64>(id), load<u64>(id, 8), KIND_ID, false);
  assert(e != 0 && load<u8>(e + FIND_STATE) == STATE_DONE, "finds: an id used that was not found first (a prefetch bug)");
  lastFound = e;
  return load<u8>(e + FIND_FOUND);
}

/** The resolved find of `timestamp`: FOUND_TRANSFER or FOUND_NONE. */
export function findTimestampResult(timestamp: u64): u8 {
  const e = slotOf(timestamp, 0, KIND_TIMESTAMP, false);
  assert(e != 0 && load<u8>(e + FIND_STATE) == STATE_DONE, "finds: a timestamp used that was not found first (a prefetch bug)");
  lastFound = e;
  return load<u8>(e + FIND_FOUND);
}

let lastFound: usize = 0;

/** The record of the last find answered FOUND_TRANSFER. */
export function findRecord(): usize {
  assert(lastFound != 0 && load<u8>(lastFound + FIND_FOUND) == FOUND_TRANSFER, "findRecord: the last find found a transfer");
  return lastFound + FIND_RECORD;
}

/** The outcome (PENDING_*) of the pending transfer the last find found. */
export function findStatus(): u8 {
  assert(lastFound != 0 && load<u8>(lastFound + FIND_FOUND) == FOUND_TRANSFER, "findStatus: the last find found a transfer");
  return load<u8>(lastFound + FIND_STATUS);
}
