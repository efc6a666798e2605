// The directory: what names an account in a payment message (an IBAN,
// another account id, or an agent's BIC for its settlement account) → the
// ledger account and its ledger, with flags (closed, blocked). Operators
// manage it through directory_put (an upsert per entry) and read it with
// directory_get (by key) and directory_list (all of it, page by page: the
// compliance screening of every account owner after a list update);
// payments resolve both sides of a transaction through it.
// Entries live in one table of directory_max records, found by a hash index
// of their 40-byte account key.

import * as P from "../protocol";
import { directoryMax, ledgerAllowed } from "./config";
import { fingerprint, hashIndexCreate, hashInsert, hashNext, hashRecord, HashIndex } from "./hashindex";
import { bicValid, textValid } from "./text";

let entries: usize = 0;
let entryCount: u32 = 0;
let index: HashIndex = changetype<HashIndex>(0);

export function directoryInit(): void {
  assert(entries == 0, "directoryInit: once");
  entries = heap.alloc(<usize>directoryMax * P.DIRECTORY_ENTRY_BYTES);
  index = hashIndexCreate(directoryMax);
}

// @ts-ignore: decorator
@inline function entryAt(i: u32): usize { return entries + <usize>i * P.DIRECTORY_ENTRY_BYTES; }

/** Whether the account key at `key` is well formed: a known kind and its text (a BIC for an agent). */
export function keyValid(key: usize): bool {
  assert(P.KEY_TEXT + P.SLOT_BYTES == P.ACCOUNT_KEY_BYTES, "a key: its kind, then a text slot");
  const kind = load<u8>(key + P.KEY_KIND);
  if (load<u8>(key + 1) != 0 || load<u16>(key + 2) != 0) return false;
  if (kind == P.DIR_AGENT) {
    // A BIC in a text slot: its length byte and letters as a BIC slot, zeros to the slot's end.
    return bicValid(key + P.KEY_TEXT) && load<u8>(key + P.KEY_TEXT) != 0 && textValid(key + P.KEY_TEXT, P.SLOT_BYTES, 11);
  }
  if (kind != P.DIR_IBAN && kind != P.DIR_OTHER) return false;
  return load<u8>(key + P.KEY_TEXT) != 0 && textValid(key + P.KEY_TEXT, P.SLOT_BYTES, kind == P.DIR_IBAN ? 34 : P.TEXT_MAX);
}

/** The entry whose key equals the 40 bytes at `key`, or 0. */
export function directoryFind(key: usize): usize {
  assert(entries != 0, "directoryFind: after directoryInit");
  const fp = fingerprint(key, P.ACCOUNT_KEY_BYTES);
  for (let s = hashNext(index, fp, -1); s >= 0; s = hashNext(index, fp, s)) {
    const e = entryAt(hashRecord(index, s));
    if (memory.compare(e + P.ENTRY_KEY, key, P.ACCOUNT_KEY_BYTES) == 0) return e;
  }
  return 0;
}

/** The entry of an agent's BIC slot (BIC_BYTES at `bic`), or 0: the key is built in `scratch` (ACCOUNT_KEY_BYTES). */
export function directoryFindAgent(bic: usize, scratch: usize): usize {
  memory.fill(scratch, 0, P.ACCOUNT_KEY_BYTES);
  store<u8>(scratch + P.KEY_KIND, <u8>P.DIR_AGENT);
  memory.copy(scratch + P.KEY_TEXT, bic, P.BIC_BYTES);
  assert(load<u8>(bic) <= 11, "a BIC slot");
  return directoryFind(scratch);
}

/** directory_put of one entry record at `r`: DIR_R_*. */
export function directoryPut(r: usize): u32 {
  if (!keyValid(r + P.ENTRY_KEY)) {
    const kind = <i32>load<u8>(r + P.KEY_KIND);
    return kind < P.DIR_IBAN || kind > P.DIR_AGENT ? P.DIR_R_INVALID_KIND : P.DIR_R_INVALID_TEXT;
  }
  const flags = load<u8>(r + P.ENTRY_FLAGS);
  if ((flags & ~P.DIR_F_KNOWN) != 0) return P.DIR_R_INVALID_FLAGS;
  if (load<u8>(r + 45) != 0 || load<u16>(r + 46) != 0) return P.DIR_R_RESERVED;
  for (let i: u32 = 100; i < <u32>P.DIRECTORY_ENTRY_BYTES; i++) if (load<u8>(r + i) != 0) return P.DIR_R_RESERVED;
  if (!textValid(r + P.ENTRY_NAME, P.SLOT_BYTES, P.TEXT_MAX)) return P.DIR_R_INVALID_TEXT;
  if (!ledgerAllowed(load<u32>(r + P.ENTRY_LEDGER))) return P.DIR_R_UNKNOWN_LEDGER;
  if ((load<u64>(r + P.ENTRY_ACCOUNT) | load<u64>(r + P.ENTRY_ACCOUNT + 8)) == 0) return P.DIR_R_ACCOUNT_ZERO;
  const found = directoryFind(r + P.ENTRY_KEY);
  if (found != 0) {
    memory.copy(found, r, P.DIRECTORY_ENTRY_BYTES);
    return P.DIR_R_UPDATED;
  }
  if (entryCount == directoryMax) return P.DIR_R_FULL;
  memory.copy(entryAt(entryCount), r, P.DIRECTORY_ENTRY_BYTES);
  const inserted = hashInsert(index, fingerprint(r + P.ENTRY_KEY, P.ACCOUNT_KEY_BYTES), entryCount);
  assert(inserted, "the index holds directory_max entries");
  entryCount++;
  return P.DIR_R_CREATED;
}

/**
 * Why an entry may not take part in a payment on `ledger` (a REASON_*), or 0:
 * none found (AC01, or RC01 for an agent), closed (AC04), blocked (AC06),
 * another ledger (AM03).
 */
export function entryRefusal(e: usize, agent: bool, ledger: u32): u32 {
  assert(ledger != 0, "a transaction's ledger");
  if (e == 0) return agent ? P.REASON_RC01 : P.REASON_AC01;
  const flags = load<u8>(e + P.ENTRY_FLAGS);
  if ((flags & P.DIR_F_CLOSED) != 0) return P.REASON_AC04;
  if ((flags & P.DIR_F_BLOCKED) != 0) return P.REASON_AC06;
  if (load<u32>(e + P.ENTRY_LEDGER) != ledger) return P.REASON_AM03;
  return 0;
}

/** Entries made so far (they are numbered 1.. in the order made; an update keeps its number). */
export function directoryCount(): u32 {
  assert(entryCount <= directoryMax, "the table holds what was made");
  return entryCount;
}

/** Entry number `n` (1..directoryCount()). */
export function directoryAt(n: u32): usize {
  assert(n >= 1 && n <= entryCount, "an entry made");
  return entryAt(n - 1);
}
