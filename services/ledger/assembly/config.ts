// The service config: a flat JSON object of integer capacities, e.g.
//   {"accounts_max":10000,"transfers_max":1000000,"pending_max":100000,"history_max":1000000}
// and "events": true|false (emit committed transfers to the event stream),
// "prefault": true|false (touch every table page at boot; default true).
// Missing keys keep their defaults. An unknown key, a repeated key, a value
// that is not a plain decimal integer in range, or any other syntax is a boot
// error: the reason goes to the log and the service traps. The reader is the
// kernel's (lib/json.ts): one JSON reader for every document the
// AssemblyScript side reads.

import { ACCOUNTS_MAX_DEFAULT, ACCOUNTS_MAX_LIMIT, HISTORY_MAX_DEFAULT, HISTORY_MAX_LIMIT,
  PENDING_MAX_DEFAULT, PENDING_MAX_LIMIT, TRANSFERS_MAX_DEFAULT, TRANSFERS_MAX_LIMIT } from "./constants";
import { textLog, textPut, textReset } from "./text";
import { BATCH_EVENTS_MAX, CACHE_BLOCKS_LIMIT, CACHE_BLOCKS_MIN, GRID_BLOCKS_MIN, WINDOW_MIN } from "./constants";
import { GRID_ADDRESS_MAX } from "../../../hal/devices/grid";
import { JsonReader } from "../../../lib/json";

export let configAccountsMax: u32 = ACCOUNTS_MAX_DEFAULT;
export let configTransfersMax: u32 = TRANSFERS_MAX_DEFAULT;
export let configPendingMax: u32 = PENDING_MAX_DEFAULT;
export let configHistoryMax: u32 = HISTORY_MAX_DEFAULT;
// "events": true emits one event record per batch of committed transfers
// (capability "emit"); off by default, so the benchmarks can compare.
export let configEvents: bool = false;
// "prefault": false leaves the tables untouched at boot (WebAssembly gives
// them zeroed): boot then costs the same whatever the capacity, and the first
// use of each page pays its fault. The simulator boots the ledger hundreds of
// times a seed and turns it off; serving images keep it on, so the first
// transfers do not run at a fraction of the speed while the tables fill.
export let configPrefault: bool = true;
// "grid_blocks": a grid of that many 64 KiB blocks (capability "storage"):
// the transfer table becomes a window of the newest transfers_max and the
// history ring one of history_max balance records, everything older lives
// in the grid's trees (grid.ts); 0 (the default) keeps everything in memory.
// "cache_blocks": the blocks the ledger caches of its grid.
export let configGridBlocks: u64 = 0;
export let configCacheBlocks: u32 = 1024;

/** Once the cache is made: two ledgers that cache more or less keep the same state (grid.ts gridCacheInit). */
export function forgetCacheBlocks(): void {
  assert(configCacheBlocks >= CACHE_BLOCKS_MIN, "forgetCacheBlocks: after a valid config");
  configCacheBlocks = 0;
}

function fail(reason: string): void {
  textReset();
  textPut("ledger config: ");
  textPut(reason);
  textLog();
  unreachable();
}

// A capacity: a JSON integer from 1 to `limit`.
function capacity(r: JsonReader, key: string, limit: u32): u32 {
  const v = r.readU64();
  if (r.error == null && (v == 0 || v > <u64>limit)) fail(key + " = " + v.toString() + " is outside 1.." + limit.toString());
  // fail() traps: a value that gets here is in range, or the reader failed and finish() reports it.
  assert(r.error != null || (v != 0 && v <= <u64>limit), "config capacity out of range");
  return <u32>v;
}

// The grid's size: at least what one batch's trees need, at most a grid's addresses.
function gridBlocks(r: JsonReader, key: string): u64 {
  const v = r.readU64();
  if (r.error == null && (v < GRID_BLOCKS_MIN || v > <u64>GRID_ADDRESS_MAX + 1)) {
    fail(key + " = " + v.toString() + " is outside " + GRID_BLOCKS_MIN.toString() + ".." + (<u64>GRID_ADDRESS_MAX + 1).toString());
  }
  return v;
}

/** The history ring a window needs: two records a transfer, two promised a pending one, and a batch's. */
export function historyWindowMin(transfersMax: u32, pendingMax: u32): u64 {
  return 2 * <u64>transfersMax + 2 * <u64>pendingMax + 2 * <u64>min<u32>(transfersMax, BATCH_EVENTS_MAX);
}

function ring(n: u32, least: u32): bool {
  return n >= least && (n & (n - 1)) == 0;
}

/** Parses `len` bytes of config JSON at `ptr` (len 0 keeps all defaults). */
export function configParse(ptr: usize, len: u32): void {
  if (len == 0) return;
  const r = new JsonReader(ptr, len);
  let seen: u32 = 0;
  if (r.beginObject()) {
    for (let key = r.nextKey(); key != null; key = r.nextKey()) {
      const k = key;
      let bit: u32 = 0;
      if (k == "accounts_max") { bit = 1; configAccountsMax = capacity(r, k, ACCOUNTS_MAX_LIMIT); }
      else if (k == "transfers_max") { bit = 2; configTransfersMax = capacity(r, k, TRANSFERS_MAX_LIMIT); }
      else if (k == "pending_max") { bit = 4; configPendingMax = capacity(r, k, PENDING_MAX_LIMIT); }
      else if (k == "history_max") { bit = 8; configHistoryMax = capacity(r, k, HISTORY_MAX_LIMIT); }
      else if (k == "events") { bit = 16; configEvents = r.readBool(); }
      else if (k == "prefault") { bit = 32; configPrefault = r.readBool(); }
      else if (k == "grid_blocks") { bit = 64; configGridBlocks = gridBlocks(r, k); }
      else if (k == "cache_blocks") { bit = 128; configCacheBlocks = capacity(r, k, CACHE_BLOCKS_LIMIT); }
      else fail("unknown key " + k);
      if ((seen & bit) != 0) fail("repeated key " + k);
      seen |= bit;
    }
  }
  if (!r.finish()) fail(r.error!);
  // In memory, pending transfers are transfers; on a grid they outlive the window in a side table of their own.
  if (configGridBlocks == 0 && configPendingMax > configTransfersMax) fail("pending_max exceeds transfers_max");
  if (configGridBlocks != 0) {
    // Rings: powers of two. A batch larger than the windows is refused (cold.ts):
    // 8192 and 32768 take every batch.
    if (!ring(configTransfersMax, WINDOW_MIN)) fail("with grid_blocks, transfers_max must be a power of two of at least " + WINDOW_MIN.toString());
    const history = historyWindowMin(configTransfersMax, configPendingMax);
    if (!ring(configHistoryMax, <u32>min<u64>(history, <u64>HISTORY_MAX_LIMIT))) {
      fail("with grid_blocks, history_max must be a power of two of at least " + history.toString()
        + " (2 * transfers_max + 2 * pending_max + 2 * min(transfers_max, 8189): the balance records of the window and a batch)");
    }
    if (configCacheBlocks < CACHE_BLOCKS_MIN) fail("cache_blocks must be at least " + CACHE_BLOCKS_MIN.toString());
  }
  assert(configAccountsMax > 0 && configAccountsMax <= ACCOUNTS_MAX_LIMIT && configHistoryMax > 0 && configHistoryMax <= HISTORY_MAX_LIMIT,
    "config capacity out of range");
  assert(configPendingMax > 0 && (configGridBlocks != 0 || configPendingMax <= configTransfersMax) && configTransfersMax <= TRANSFERS_MAX_LIMIT,
    "config capacity out of range");
}
