// Activity: what the monitoring rules, the limits and the fraud features
// remember of an account, a customer and a counterparty, on the logical
// clock. One table of accounts_max entries (config.ts), each keyed by its
// kind, ledger and a 16-byte id: a debit or credit account's ledger id, a
// customer's name (its directory text folded to 16 bytes by two FNV-1a
// hashes), a counterparty (the credit account, kind apart so its inflow sums
// do not mix with the account's own). Open addressing with linear probing
// over twice as many slots; entries are never removed (a dormant account is
// exactly one that is remembered and quiet). When the table is full a new
// key gets no entry and the check holds the payment (RULE_CAPACITY): a
// payment is never waved through unmonitored.
//
// Windows are fixed on the logical clock: a window opens with the first
// payment after the last one closed and lasts its length; a day is the UTC
// day (86,400 s). Sums are u128 like the amounts; they saturate rather than
// wrap.

import * as P from "../protocol";
import { u128Add, u128Cmp, u128IsZero } from "../../sdk/money";
import { accountsMax } from "./config";

export const KIND_ACCOUNT: u8 = 1;
export const KIND_CUSTOMER: u8 = 2;
export const KIND_COUNTERPARTY: u8 = 3;

// Entry (ACT_BYTES): +0 u8 kind +1 u8[3] +4 u32 ledger +8 [16] id   +24 u64 first seen   +32 u64 last out
// +40 u64 last in   +48 u64 last activity   +56 u64 day (1 + the UTC day number; 0: none)   +64 u128 the day's sum
// +80 u64 velocity window start   +88 u32 its count   +92 u32 next recent slot   +96 u128 its sum
// +112 u64 structuring window start   +120 u32 its count   +124 u32 payments out, all time
// +128 u128 amount out, all time   +144 u128 last inflow's amount   +160 u32 next creditor slot   +164 u32[8] last creditors
// +196 u32[RECENT] the last RECENT payments out, in logical seconds (0: none): the hour's count, sliding   +260 u8[4] 0
// +264 u32 listed: the owner's match score when screened (0: not listed; owners.ts)   +268 u8 its list   +269 u8 its id length
// +270 u8[2] 0   +272 [28] its entity id   +300 u8[20] 0
export const ACT_BYTES: u32 = 320;
const KEY_BYTES: u32 = 24;
export const A_FIRST: u32 = 24;
export const A_LAST_OUT: u32 = 32;
export const A_LAST_IN: u32 = 40;
export const A_LAST: u32 = 48;
export const A_DAY: u32 = 56;
export const A_DAY_SUM: u32 = 64;
export const A_VEL_START: u32 = 80;
export const A_VEL_COUNT: u32 = 88;
const A_RECENT_NEXT: u32 = 92;
export const A_VEL_SUM: u32 = 96;
export const A_STRUCT_START: u32 = 112;
export const A_STRUCT_COUNT: u32 = 120;
export const A_OUT_COUNT: u32 = 124;
export const A_OUT_SUM: u32 = 128;
export const A_IN_AMOUNT: u32 = 144;
export const A_CREDITOR_NEXT: u32 = 160;
export const A_CREDITORS: u32 = 164;
export const CREDITORS: u32 = 8;
const A_RECENT: u32 = 196;
export const A_LISTED: u32 = 264;
export const A_LISTED_LIST: u32 = 268;
export const A_LISTED_ID_LENGTH: u32 = 269;
export const A_LISTED_ID: u32 = 272;
// Payments out remembered for the sliding hour: a count of RECENT means RECENT or more (the fraud model reads
// log2(count + 1), so 16 and more are alike to it within one step).
export const RECENT: u32 = 16;
export const NS_PER_S: u64 = 1000000000;
export const NS_PER_DAY: u64 = 86400 * NS_PER_S;

let entries: usize = 0;
let entryCount: u32 = 0;
let slots: usize = 0; // u32 each: 1 + the entry's number; 0: empty
let slotMask: u32 = 0;
const key = memory.data(<i32>KEY_BYTES, 8);

export function activityInit(): void {
  assert(entries == 0 && accountsMax > 0, "activityInit: once, after the config");
  let n: u32 = 1;
  while (n < accountsMax * 2) n <<= 1;
  slotMask = n - 1;
  slots = heap.alloc(<usize>n << 2);
  memory.fill(slots, 0, <usize>n << 2);
  entries = heap.alloc(<usize>accountsMax * ACT_BYTES);
}

/** FNV-1a over `len` bytes from `seed`. */
export function fnv(p: usize, len: u32, seed: u32): u32 {
  assert(len <= 4096, "fnv: a key's bytes");
  let h = seed;
  for (let i: u32 = 0; i < len; i++) h = (h ^ <u32>load<u8>(p + i)) * 16777619;
  return h;
}

/** The key of kind `kind` on `ledger` for the 16-byte id at `id`, into the scratch key. */
function keySet(kind: u8, ledger: u32, id: usize): void {
  assert(kind >= KIND_ACCOUNT && kind <= KIND_COUNTERPARTY, "a kind of entry");
  store<u64>(key, 0);
  store<u8>(key, kind);
  store<u32>(key + 4, ledger);
  memory.copy(key + 8, id, 16);
}

/**
 * The entry of (kind, ledger, id): found, or made (first seen `now`) when
 * `make`; 0 when there is none (and `make` is false, or the table is full).
 */
export function activityOf(kind: u8, ledger: u32, id: usize, make: bool, now: u64): usize {
  assert(entries != 0 && entryCount <= accountsMax, "activityOf: after activityInit, within the table");
  keySet(kind, ledger, id);
  let s = fnv(key, KEY_BYTES, 2166136261) & slotMask;
  for (let probes: u32 = 0; probes <= slotMask; probes++) {
    const v = load<u32>(slots + (<usize>s << 2));
    if (v == 0) break;
    const e = entries + <usize>(v - 1) * ACT_BYTES;
    if (memory.compare(e, key, KEY_BYTES) == 0) return e;
    s = (s + 1) & slotMask;
  }
  if (!make || entryCount == accountsMax) return 0;
  const e = entries + <usize>entryCount * ACT_BYTES;
  memory.fill(e, 0, ACT_BYTES);
  memory.copy(e, key, KEY_BYTES);
  store<u64>(e + A_FIRST, now);
  entryCount++;
  store<u32>(slots + (<usize>s << 2), entryCount);
  return e;
}

/** The customer id (16 bytes at `out`) of the directory text slot at `slot` (u8 length, text); false when it is empty. */
export function customerId(slot: usize, out: usize): bool {
  const len = <u32>load<u8>(slot);
  assert(len <= <u32>P.CUSTOMER_MAX, "a checked customer slot");
  if (len == 0) return false;
  store<u32>(out, fnv(slot + 1, len, 2166136261));
  store<u32>(out + 4, fnv(slot + 1, len, 0x9747b28c));
  store<u32>(out + 8, fnv(slot + 1, len, 0x01000193));
  store<u32>(out + 12, len);
  return true;
}

/** Adds `amount` to the u128 at `sum`, saturating at 2^128 - 1. */
export function sumAdd(sum: usize, amount: usize): void {
  assert(sum != amount, "sumAdd: a sum and another amount");
  if (u128Add(sum, sum, amount)) return;
  store<u64>(sum, 0xffffffffffffffff);
  store<u64>(sum + 8, 0xffffffffffffffff);
}

/** Whether `sum` + `amount` is over `limit` (a limit of 0 is off: never). */
export function overWith(sum: usize, amount: usize, limit: usize, scratch: usize): bool {
  assert(scratch != sum && scratch != limit, "overWith: scratch apart from its inputs");
  if (u128IsZero(limit)) return false;
  memory.copy(scratch, sum, 16);
  sumAdd(scratch, amount);
  return u128Cmp(scratch, limit) > 0;
}

/** The entry's window at `start` is open at `now` for `lengthNs` (a first payment opens it). */
export function windowOpen(e: usize, start: u32, lengthNs: u64, now: u64): bool {
  assert(start + 8 <= ACT_BYTES, "a window of the entry");
  const s = load<u64>(e + start);
  return s != 0 && now >= s && now - s < lengthNs;
}

/** The entry's day sum as of `now` (0 on a new day), at `out`. */
export function daySum(e: usize, now: u64, out: usize): void {
  assert(e != 0, "an entry");
  if (load<u64>(e + A_DAY) == now / NS_PER_DAY + 1) memory.copy(out, e + A_DAY_SUM, 16);
  else memory.fill(out, 0, 16);
}

/** Adds `amount` to the entry's day sum as of `now`. */
export function dayAdd(e: usize, amount: usize, now: u64): void {
  const day = now / NS_PER_DAY + 1;
  if (load<u64>(e + A_DAY) != day) {
    store<u64>(e + A_DAY, day);
    memory.fill(e + A_DAY_SUM, 0, 16);
  }
  sumAdd(e + A_DAY_SUM, amount);
  assert(load<u64>(e + A_DAY) == day, "the day counted");
}

/** Whether the creditor fingerprint `f` is among the entry's last CREDITORS creditors. */
export function creditorKnown(e: usize, f: u32): bool {
  assert(e != 0 && f != 0, "creditorKnown: an entry and a fingerprint (never 0)");
  for (let i: u32 = 0; i < CREDITORS; i++) if (load<u32>(e + A_CREDITORS + (i << 2)) == f) return true;
  return false;
}

/** Remembers creditor fingerprint `f` (a ring of the last CREDITORS distinct ones). */
export function creditorAdd(e: usize, f: u32): void {
  if (creditorKnown(e, f)) return;
  const next = load<u32>(e + A_CREDITOR_NEXT);
  assert(next < CREDITORS, "a slot of the ring");
  store<u32>(e + A_CREDITORS + (next << 2), f);
  store<u32>(e + A_CREDITOR_NEXT, (next + 1) % CREDITORS);
}

/** The entry's payments out in the hour before `now` (sliding; at most RECENT). */
export function recentCount(e: usize, now: u64): u32 {
  assert(e != 0 && A_RECENT + RECENT * 4 <= ACT_BYTES, "an entry and its ring");
  const s = <u32>(now / NS_PER_S);
  let n: u32 = 0;
  for (let i: u32 = 0; i < RECENT; i++) {
    const t = load<u32>(e + A_RECENT + (i << 2));
    if (t != 0 && s >= t && s - t < 3600) n++;
  }
  return n;
}

/** Remembers a payment out at `now` in the ring (over the oldest). */
export function recentAdd(e: usize, now: u64): void {
  const next = load<u32>(e + A_RECENT_NEXT);
  assert(next < RECENT, "a slot of the ring");
  const s = <u32>(now / NS_PER_S);
  store<u32>(e + A_RECENT + (next << 2), s == 0 ? 1 : s);
  store<u32>(e + A_RECENT_NEXT, (next + 1) % RECENT);
}
