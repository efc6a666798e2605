// The compliance service's config (the manifest's "config" object), e.g.
//   {"names_max":40000,"threshold":850000,"accounts_max":100000,"alerts_max":100000,
//    "decisions_max":100000,"events":true,"rules":[{"ledger":1,"payment_max":1000000000,...}]}
// "names_max": the names (name records: primary names and aliases) one list
// may hold, for each list (OFAC SDN, UN); every table is sized from it at
// boot (docs/compliance.md, "Limits"). "threshold": the score (millionths)
// a match needs when the search does not say: 850000, where a name with a
// typo or transposition in each word, its words in another order or a middle
// name left out still scores (about 0.90 and up), and a name that shares only
// one of two words, or a given name alone, does not (about 0.75 and below);
// the figures are test/unit/compliance-service.test.ts's. "accounts_max":
// the accounts, customers and counterparties whose activity is remembered
// (activity.ts); "alerts_max": the alerts kept (cases.ts; checks are refused
// when full); "decisions_max": the decisions kept for reading back (a ring);
// "events": alerts on the event stream (needs capability "emit"); "rules":
// the rule sets in force at boot (rules.ts; the protocol's field names,
// amounts in minor units). Missing keys keep
// their defaults; an unknown or repeated key, a value out of range or any
// other syntax is a boot error: the reason goes to the log and the service
// traps. The reader is lib/json.ts, the kernel's, the ledger's and payments'.

import * as P from "../protocol";
import { JsonReader } from "../../../lib/json";
import { logText } from "../../sdk/qenex";
import { rulesFromJson } from "./rules";

// Four name tables of 256 bytes a name and three indexes of about 150: a
// million names a list is about 1.5 GB, near what a 32-bit memory holds.
const NAMES_LIMIT: u32 = 1000000;

export let namesMax: u32 = 40000;
export let thresholdDefault: u32 = 850000;
export let accountsMax: u32 = 65536;
export let alertsMax: u32 = 65536;
export let decisionsMax: u32 = 65536;
export let emitEvents: bool = false;
// Activity entries, alerts and decisions: 320, 128 and 128 bytes each, beside the lists; the manifest's
// memory_pages_max must hold them all (a boot that cannot take them from the heap traps).
const TABLE_LIMIT: u32 = 4000000;

function fail(reason: string): void {
  logText("compliance config: " + reason); // boot only: the trap follows
  unreachable();
}

function bounded(r: JsonReader, key: string, low: u64, high: u64): u32 {
  const v = r.readU64();
  if (r.error == null && (v < low || v > high)) fail(key + " is outside " + low.toString() + ".." + high.toString());
  assert(r.error != null || (v >= low && v <= high), "a value in range");
  return <u32>v;
}

/** Parses `len` bytes of config JSON at `ptr` (len 0 keeps the defaults). */
export function configParse(ptr: usize, len: u32): void {
  if (len == 0) return;
  const r = new JsonReader(ptr, len);
  let seen: u32 = 0;
  if (r.beginObject()) {
    for (let key = r.nextKey(); key != null; key = r.nextKey()) {
      const k = key;
      let bit: u32 = 0;
      if (k == "names_max") { bit = 1; namesMax = bounded(r, k, 1, NAMES_LIMIT); }
      else if (k == "threshold") { bit = 2; thresholdDefault = bounded(r, k, 1, <u64>P.SCORE_ONE); }
      else if (k == "accounts_max") { bit = 4; accountsMax = bounded(r, k, 1, TABLE_LIMIT); }
      else if (k == "alerts_max") { bit = 8; alertsMax = bounded(r, k, 1, TABLE_LIMIT); }
      else if (k == "decisions_max") { bit = 16; decisionsMax = bounded(r, k, 1, TABLE_LIMIT); }
      else if (k == "events") { bit = 32; emitEvents = r.readBool(); }
      else if (k == "rules") {
        bit = 64;
        const why = rulesFromJson(r);
        if (why !== null) fail(why);
      }
      else fail("unknown key " + k);
      if ((seen & bit) != 0) fail("repeated key " + k);
      seen |= bit;
    }
  }
  if (!r.finish()) fail(r.error!);
  assert(namesMax > 0 && namesMax <= NAMES_LIMIT && thresholdDefault > 0 && thresholdDefault <= <u32>P.SCORE_ONE, "a config in range");
}
