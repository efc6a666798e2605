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
      else fail("unknown key " + k);
      if ((seen & bit) != 0) fail("repeated key " + k);
      seen |= bit;
    }
  }
  if (!r.finish()) fail(r.error!);
  if (configPendingMax > configTransfersMax) fail("pending_max exceeds transfers_max");
  assert(configAccountsMax > 0 && configAccountsMax <= ACCOUNTS_MAX_LIMIT && configHistoryMax > 0 && configHistoryMax <= HISTORY_MAX_LIMIT,
    "config capacity out of range");
  assert(configPendingMax > 0 && configPendingMax <= configTransfersMax && configTransfersMax <= TRANSFERS_MAX_LIMIT,
    "config capacity out of range");
}
