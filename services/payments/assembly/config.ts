// The payments service's config (the manifest's "config" object), e.g.
//   {"ledgers":[1,2,3],"directory_max":100000,"payments_max":100000,"messages_max":100000,"transfer_code":1,"events":true}
// "ledgers": the ledgers payments may move money on (the gateway's ledgers:
// each has one currency and scale, which the host's front end applies before
// the request is logged); "transfer_code": the `code` of the transfers
// payments make; "events": true emits the payments each request created or
// changed to the event stream (events.ts; capability "emit"), off by default
// like the ledger's; "checks": true sends every payment to the compliance
// service before money moves (checks.ts; capability send:compliance), off by
// default. Missing keys keep their defaults; an unknown or repeated
// key, a value out of range or any other syntax is a boot error: the reason
// goes to the log and the service traps. The reader is lib/json.ts, the
// kernel's and the ledger's.

import { JsonReader } from "../../../lib/json";
import { configFail as fail, configInteger, configRead } from "../../sdk/config";

export const LEDGERS_MAX: u32 = 64;
const CAPACITY_LIMIT: u32 = 4194304;

export let directoryMax: u32 = 10000;
export let paymentsMax: u32 = 100000;
export let messagesMax: u32 = 100000;
export let transferCode: u16 = 1;
export let emitEvents: bool = false;
export let checksOn: bool = false;
export let ledgerCount: u32 = 0;
/** The configured ledgers, u32 each. */
export const ledgers: usize = memory.data(<i32>(LEDGERS_MAX * 4), 4);

function capacity(r: JsonReader, key: string): u32 {
  return <u32>configInteger(r, key, 1, CAPACITY_LIMIT);
}

/** Whether `ledger` is one payments may use. */
export function ledgerAllowed(ledger: u32): bool {
  assert(ledgerCount <= LEDGERS_MAX, "the configured ledgers fit their table");
  for (let i: u32 = 0; i < ledgerCount; i++) if (load<u32>(ledgers + (<usize>i << 2)) == ledger) return true;
  return false;
}

function ledgersField(r: JsonReader): void {
  assert(ledgerCount == 0, "the ledgers read once");
  if (!r.beginArray()) return;
  while (r.nextItem()) {
    const v = r.readU64();
    if (r.error != null) return;
    if (v == 0 || v > 0xffffffff) fail("ledgers: " + v.toString() + " is not a ledger (1..2^32-1)");
    if (ledgerCount == LEDGERS_MAX) fail("ledgers: more than " + LEDGERS_MAX.toString());
    if (ledgerAllowed(<u32>v)) fail("ledgers: " + v.toString() + " twice");
    store<u32>(ledgers + (<usize>ledgerCount << 2), <u32>v);
    ledgerCount++;
  }
}

/** One config key into the settings; its bit, or 0 for no key of this service. */
function field(r: JsonReader, k: string): u32 {
  if (k == "ledgers") { ledgersField(r); return 1; }
  if (k == "directory_max") { directoryMax = capacity(r, k); return 2; }
  if (k == "payments_max") { paymentsMax = capacity(r, k); return 4; }
  if (k == "messages_max") { messagesMax = capacity(r, k); return 8; }
  if (k == "transfer_code") { transferCode = <u16>configInteger(r, k, 1, 0xffff); return 16; }
  if (k == "events") { emitEvents = r.readBool(); return 32; }
  if (k == "checks") { checksOn = r.readBool(); return 64; }
  return 0;
}

/** Parses `len` bytes of config JSON at `ptr` (len 0 keeps the defaults, which allow no ledger). */
export function configParse(ptr: usize, len: u32): void {
  configRead("payments", ptr, len, field);
  assert(ledgerCount <= LEDGERS_MAX && directoryMax > 0 && paymentsMax > 0 && messagesMax > 0 && transferCode != 0, "a config in range");
}
