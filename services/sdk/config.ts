// A service's config: the manifest's "config" object, which the kernel hands
// to qx_init. Every service reads it the same way, here: a JSON object whose
// keys the service names (its `field` function reads one key's value into
// the service's settings and answers the key's bit, distinct per key, or 0
// for a key it does not know); a key given twice, a key no service knows,
// a value out of range or any other syntax stops the boot, with the reason
// in the log ("<service> config: <reason>"). No config (length 0) keeps the
// defaults. The reader is lib/json.ts.

import { JsonReader } from "../../lib/json";
import { logText } from "./qenex";

let service = "service";

/** Logs why the service cannot start, then stops it (a trap in qx_init fails the boot). */
export function configFail(reason: string): void {
  logText(service + " config: " + reason); // boot only: the trap follows
  unreachable();
}

/** A JSON integer from `low` to `high`; anything else fails the boot naming `key`. */
export function configInteger(r: JsonReader, key: string, low: u64, high: u64): u64 {
  const v = r.readU64();
  if (r.error == null && (v < low || v > high)) configFail(key + " = " + v.toString() + " is outside " + low.toString() + ".." + high.toString());
  // configFail traps: a value that gets here is in range, or the reader failed and configRead reports it.
  assert(r.error != null || (v >= low && v <= high), "a value in range");
  return v;
}

/**
 * Reads the config of `len` bytes at `ptr` for `name`, handing each key to
 * `field`; fails the boot on an unknown or repeated key or bad JSON.
 */
export function configRead(name: string, ptr: usize, len: u32, field: (r: JsonReader, key: string) => u32): void {
  service = name;
  if (len == 0) return;
  const r = new JsonReader(ptr, len);
  let seen: u32 = 0;
  if (r.beginObject()) {
    for (let key = r.nextKey(); key != null; key = r.nextKey()) {
      const k = key;
      const bit = field(r, k);
      if (bit == 0) configFail("unknown key " + k);
      assert((bit & (bit - 1)) == 0, "a key's bit is one bit");
      if ((seen & bit) != 0) configFail("repeated key " + k);
      seen |= bit;
      if (r.error != null) break;
    }
  }
  if (!r.finish()) configFail(r.error!);
}
