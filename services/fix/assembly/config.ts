// The FIX service's config (the manifest's "config" object), e.g.
//   {"sessions_max":16,"orders_max":65536,"subscriptions_max":256}
// "sessions_max": the sessions (CompID pairs) the service keeps, each with
// its sequence numbers and its store of STORE_MESSAGES outbound messages for
// a resend (OUT_BYTES each: 512 KiB a session); "orders_max": the live orders
// it maps to their session and ClOrdID; "subscriptions_max": market data
// subscriptions (V with SubscriptionRequestType 1) of every session together.
// The sessions themselves (CompIDs and options) are the host's
// configuration (`--fix-session`, `--fix-option`), carried in each Logon's
// input, so the log says what a replay needs. The reader is lib/json.ts.

import * as P from "../protocol";
import { JsonReader } from "../../../lib/json";
import { configInteger as bounded, configRead } from "../../sdk/config";

export let sessionsMax: u32 = 16;
export let ordersMax: u32 = <u32>P.ORDERS_MAX_DEFAULT;
export let subscriptionsMax: u32 = 256;
const ORDERS_LIMIT: u64 = 4194304;
const SUBSCRIPTIONS_LIMIT: u64 = 65536;

function field(r: JsonReader, k: string): u32 {
  assert(k.length > 0, "a key");
  if (k == "sessions_max") { sessionsMax = <u32>bounded(r, k, 1, P.SESSIONS_MAX); return 1; }
  if (k == "orders_max") { ordersMax = <u32>bounded(r, k, 16, ORDERS_LIMIT); return 2; }
  if (k == "subscriptions_max") { subscriptionsMax = <u32>bounded(r, k, 1, SUBSCRIPTIONS_LIMIT); return 4; }
  return 0;
}

export function configParse(ptr: usize, len: u32): void {
  assert(ptr != 0, "the inbox");
  configRead("fix", ptr, len, field);
}
