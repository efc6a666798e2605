// The service's config: a flat JSON object of unsigned integers from the
// manifest, read once at boot with lib/json.ts.
//
//   source_rate_per_second, source_burst   per client address (admission's)
//   key_rate_per_second, key_burst         per key, unless the key sets its own
//   auth_failures_per_minute, auth_failure_burst
//                                          failed authentications an address may
//                                          make before it is refused for a while
//   ledger_in_flight_max                   1..64 requests outstanding at the ledger
//   transfer_checks                        true: every create_transfers goes to the
//                                          compliance service first (relay.ts,
//                                          transfer_checks.ts; its rule sets say
//                                          which ledgers it checks)
//
// Every key is optional; a rate of 0 means no limit, and a limited rate needs
// a burst of at least 1. A config the service cannot honour stops it at boot
// with the reason in the log (configFail), rather than running with a guess.

import { JsonReader } from "../../../lib/json";
import { PENDING_MAX, RATE_MAX } from "./constants";
import { inbox } from "./memory";
import { textLog, textPut, textReset } from "./text";

export let sourceRate: u64 = 1000;
export let sourceBurst: u64 = 2000;
export let keyRate: u64 = 1000;
export let keyBurst: u64 = 2000;
export let failRate: u64 = 60; // failed authentications per minute per address
export let failBurst: u64 = 20;
export let inFlightMax: u32 = 24;
export let transferChecks: bool = false;

/** Logs why the service cannot start, then stops it (a trap in qx_init fails the boot). */
export function configFail(reason: string): void {
  textReset(); textPut("gateway config: "); textPut(reason);
  textLog();
  unreachable();
}

/** Reads the config JSON of `len` bytes in the inbox into the values above. */
export function configParse(len: u32): void {
  let blank = true;
  for (let i: u32 = 0; i < len && blank; i++) { const c = load<u8>(inbox + i); blank = c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d; }
  if (blank) return; // no config
  const r = new JsonReader(inbox, len);
  if (r.beginObject()) {
    for (let key = r.nextKey(); key != null; key = r.nextKey()) {
      const k = key;
      if (k == "transfer_checks") {
        transferChecks = r.readBool();
        if (r.error != null) break;
        continue;
      }
      const v = r.readU64();
      if (r.error != null) break;
      if (k == "source_rate_per_second") sourceRate = v;
      else if (k == "source_burst") sourceBurst = v;
      else if (k == "key_rate_per_second") keyRate = v;
      else if (k == "key_burst") keyBurst = v;
      else if (k == "auth_failures_per_minute") failRate = v;
      else if (k == "auth_failure_burst") failBurst = v;
      else if (k == "ledger_in_flight_max") inFlightMax = v > <u64>PENDING_MAX ? 0 : <u32>v;
      else configFail("unknown key " + k);
    }
  }
  if (!r.finish()) configFail(r.error!);
  if (sourceRate > RATE_MAX || keyRate > RATE_MAX || sourceBurst > RATE_MAX || keyBurst > RATE_MAX || failRate > RATE_MAX || failBurst > RATE_MAX) {
    configFail("rates and bursts are at most 1000000");
  }
  if ((sourceRate > 0 && sourceBurst == 0) || (keyRate > 0 && keyBurst == 0) || (failRate > 0 && failBurst == 0)) configFail("a limited rate needs a burst of at least 1");
  if (inFlightMax == 0 || inFlightMax > PENDING_MAX) configFail("ledger_in_flight_max is 1 to 64");
}

/** What every later use relies on, once configParse returned (the defaults hold it too). */
export function configCheck(): void {
  assert(inFlightMax >= 1 && inFlightMax <= PENDING_MAX, "ledger_in_flight_max within the pending FIFO");
  assert(sourceRate <= RATE_MAX && sourceBurst <= RATE_MAX && keyRate <= RATE_MAX && keyBurst <= RATE_MAX,
    "rates fit admission's u32 fields");
  assert(failRate <= RATE_MAX && failBurst <= RATE_MAX, "failed-auth limits fit admission's u32 fields");
}
