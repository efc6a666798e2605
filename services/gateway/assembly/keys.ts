// The key table: every API key the gateway knows, found by the SHA-256 of
// the key (the key itself never reaches the kernel, the log or this service).
//
// Keys are numbered 0.. in creation order and never removed (a revoked key
// keeps its slot, so its id stays its id); the id is number + 1. A key is
// found through an open-addressing index keyed by the hash's first four
// bytes (a SHA-256 is already uniform): KEY_INDEX_SLOTS u16s, each key
// number + 1 or 0 for empty, never more than half full.
//
// Key record (KEY_BYTES), laid out as admission's key (hal/admission.ts
// ADM_OP_KEY) up to +40, so programKey copies that part as it is:
//   +0 [32] hash | +32 u32 id | +36 u8 role | +37 u8 revoked | +38 u8 grants | +39 u8 0
//   +40 u64 created ns | +48 u32 rate | +52 u32 burst
//   +56 u64 0 | +64 u64 0 (the token bucket lived here; rates are admission's now)
//   +72 u32 ledgers[KEY_GRANTS_MAX]

import * as P from "../protocol";
import { KEY_BYTES, KEY_INDEX_SLOTS, KEYS_MAX } from "./constants";
import { keyIndex, keys } from "./memory";

export const KEY_HASH: usize = 0;
export const KEY_ID: usize = 32;
export const KEY_ROLE: usize = 36;
export const KEY_REVOKED: usize = 37;
export const KEY_GRANTS: usize = 38;
export const KEY_CREATED: usize = 40;
export const KEY_RATE: usize = 48;
export const KEY_BURST: usize = 52;
export const KEY_LEDGERS: usize = 72;

/** Keys in the table (numbers 0 .. keyCount - 1). */
export let keyCount: u32 = 0;

// @ts-ignore: decorator
@inline export function keyAt(n: u32): usize {
  assert(n < KEYS_MAX, "a key number within the table");
  return keys + <usize>n * KEY_BYTES;
}

function hashEquals(a: usize, b: usize): bool {
  for (let i: usize = 0; i < 32; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  return true;
}

/** The key number with this hash, or -1. */
export function keyFind(hash: usize): i32 {
  const start = load<u32>(hash);
  for (let probe: u32 = 0; probe < KEY_INDEX_SLOTS; probe++) {
    const slot = keyIndex + <usize>((start + probe) & (KEY_INDEX_SLOTS - 1)) * 2;
    const v = <u32>load<u16>(slot);
    if (v == 0) return -1;
    assert(v - 1 < keyCount, "the index names only keys in the table");
    if (hashEquals(keyAt(v - 1), hash)) return <i32>(v - 1);
  }
  return -1;
}

function keyIndexAdd(hash: usize, n: u32): void {
  assert(n < KEYS_MAX && n == keyCount, "the index takes the key being added");
  const start = load<u32>(hash);
  for (let probe: u32 = 0; probe < KEY_INDEX_SLOTS; probe++) {
    const slot = keyIndex + <usize>((start + probe) & (KEY_INDEX_SLOTS - 1)) * 2;
    if (load<u16>(slot) == 0) { store<u16>(slot, <u16>(n + 1)); return; }
  }
  assert(false, "key index full below KEYS_MAX");
}

/** Whether the key at `k` is granted `ledger` (a key with no grants is granted none here: callers check scope first). */
export function keyGranted(k: usize, ledger: u32): bool {
  const n = <u32>load<u8>(k + KEY_GRANTS);
  assert(n <= <u32>P.KEY_GRANTS_MAX, "a stored key has at most KEY_GRANTS_MAX grants");
  for (let i: u32 = 0; i < n; i++) if (load<u32>(k + KEY_LEDGERS + <usize>i * 4) == ledger) return true;
  return false;
}

/** Whether key number n (or -1: the console) is limited to ledgers. */
export function keyScoped(n: i32): bool {
  assert(n < <i32>keyCount, "a key in the table, or the console");
  return n >= 0 && load<u8>(keyAt(<u32>n) + KEY_GRANTS) != 0;
}

/**
 * Adds a key whose specification was checked (keys_admin.ts): `spec` is a
 * KEY_CREATE body, its `grants` ledgers after it. Returns the key's number.
 */
export function keyAdd(spec: usize, role: u32, grants: u32, now: u64): u32 {
  assert(keyCount < KEYS_MAX, "room in the table was checked");
  assert(role >= <u32>P.ROLE_ADMIN && role <= <u32>P.ROLE_LAST && grants <= <u32>P.KEY_GRANTS_MAX, "a checked specification");
  const hash = spec + 12;
  const k = keyAt(keyCount);
  memory.copy(k, hash, 32);
  store<u32>(k + KEY_ID, keyCount + 1);
  store<u8>(k + KEY_ROLE, <u8>role);
  store<u8>(k + KEY_REVOKED, 0);
  store<u8>(k + KEY_GRANTS, <u8>grants);
  store<u64>(k + KEY_CREATED, now);
  store<u32>(k + KEY_RATE, load<u32>(spec + 4));
  store<u32>(k + KEY_BURST, load<u32>(spec + 8));
  store<u64>(k + 56, 0);
  store<u64>(k + 64, 0);
  memory.fill(k + KEY_LEDGERS, 0, P.KEY_GRANTS_MAX * 4);
  memory.copy(k + KEY_LEDGERS, spec + P.KEY_CREATE_BYTES, grants * 4);
  keyIndexAdd(hash, keyCount);
  keyCount++;
  assert(keyFind(hash) == <i32>(keyCount - 1), "the new key is found by its hash");
  return keyCount - 1;
}
