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
import { configFail, configInteger, configRead } from "../../sdk/config";
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


/** One config key into the settings; its bit, or 0 for no key of this service. */
function field(r: JsonReader, k: string): u32 {
  if (k == "names_max") { namesMax = <u32>configInteger(r, k, 1, NAMES_LIMIT); return 1; }
  if (k == "threshold") { thresholdDefault = <u32>configInteger(r, k, 1, <u64>P.SCORE_ONE); return 2; }
  if (k == "accounts_max") { accountsMax = <u32>configInteger(r, k, 1, TABLE_LIMIT); return 4; }
  if (k == "alerts_max") { alertsMax = <u32>configInteger(r, k, 1, TABLE_LIMIT); return 8; }
  if (k == "decisions_max") { decisionsMax = <u32>configInteger(r, k, 1, TABLE_LIMIT); return 16; }
  if (k == "events") { emitEvents = r.readBool(); return 32; }
  if (k != "rules") return 0;
  const why = rulesFromJson(r);
  if (why !== null) configFail(why);
  return 64;
}

/** Parses `len` bytes of config JSON at `ptr` (len 0 keeps the defaults). */
export function configParse(ptr: usize, len: u32): void {
  configRead("compliance", ptr, len, field);
  assert(namesMax > 0 && namesMax <= NAMES_LIMIT && thresholdDefault > 0 && thresholdDefault <= <u32>P.SCORE_ONE, "a config in range");
}
