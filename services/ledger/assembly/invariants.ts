// The money invariants, checked over the whole state on request:
// per ledger, the sum of debits equals the sum of credits, for posted and for
// pending amounts separately; no account breaks its own balance limit; and
// the counters agree with the tables. Tests call it after every batch.
//
// Sums use three u64 limbs (u192) so that adding up to 2^22 u128 balances
// cannot wrap: the comparison is exact.

import { A_CREDITS_PENDING, A_CREDITS_POSTED, A_DEBITS_PENDING, A_DEBITS_POSTED, A_FLAGS, A_LEDGER,
  AF_CREDITS_MUST_NOT_EXCEED_DEBITS, AF_DEBITS_MUST_NOT_EXCEED_CREDITS } from "./layout";
import { LEDGER_SUM_BYTES, S, accountAt } from "./state";
import { addOverflows128, lessThan128, sumHi, sumLo } from "./u128";

export const INVARIANT_OK: u32 = 0;
export const INVARIANT_POSTED_UNBALANCED: u32 = 1;
export const INVARIANT_PENDING_UNBALANCED: u32 = 2;
export const INVARIANT_DEBITS_EXCEED_CREDITS: u32 = 3;
export const INVARIANT_CREDITS_EXCEED_DEBITS: u32 = 4;
export const INVARIANT_COUNTERS: u32 = 5;

// Ledger-sum entry: 0 ledger u32 | 4 used u32 | 8 + 24*k: sum k as (lo, mid, hi) u64.
const SUM_DEBITS_PENDING: usize = 8;
const SUM_DEBITS_POSTED: usize = 32;
const SUM_CREDITS_PENDING: usize = 56;
const SUM_CREDITS_POSTED: usize = 80;

function accumulate(sum: usize, value: usize): void {
  const lo = load<u64>(sum);
  const add = load<u64>(value);
  const newLo = lo + add;
  const carryLo: u64 = newLo < lo ? 1 : 0;
  const mid = load<u64>(sum, 8);
  const addMid = load<u64>(value, 8);
  const newMid1 = mid + addMid;
  const newMid = newMid1 + carryLo;
  const carryMid: u64 = (newMid1 < mid ? 1 : 0) + (newMid < newMid1 ? 1 : 0);
  store<u64>(sum, newLo);
  store<u64>(sum, newMid, 8);
  store<u64>(sum, load<u64>(sum, 16) + carryMid, 16);
}

// @ts-ignore: decorator
@inline function sumsEqual(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a, 8) == load<u64>(b, 8) && load<u64>(a, 16) == load<u64>(b, 16);
}

/** The scratch entry for `ledger` (open addressing over 2 * accountsMax entries). */
function ledgerEntry(ledger: u32): usize {
  const capacity = S.accountsMax * 2;
  let index = (ledger * 0x9E3779B1) % capacity;
  while (true) {
    const entry = S.ledgerSums + <usize>index * LEDGER_SUM_BYTES;
    if (load<u32>(entry, 4) == 0) {
      store<u32>(entry, ledger);
      store<u32>(entry, 1, 4);
      return entry;
    }
    if (load<u32>(entry) == ledger) return entry;
    index = (index + 1) % capacity;
  }
  return 0;
}

function accountLimitsHold(account: usize): u32 {
  const flags = load<u16>(account + A_FLAGS);
  if ((flags & AF_DEBITS_MUST_NOT_EXCEED_CREDITS) != 0) {
    if (addOverflows128(load<u64>(account + A_DEBITS_PENDING), load<u64>(account + A_DEBITS_PENDING + 8),
      load<u64>(account + A_DEBITS_POSTED), load<u64>(account + A_DEBITS_POSTED + 8))) return INVARIANT_DEBITS_EXCEED_CREDITS;
    if (lessThan128(load<u64>(account + A_CREDITS_POSTED), load<u64>(account + A_CREDITS_POSTED + 8), sumLo, sumHi)) {
      return INVARIANT_DEBITS_EXCEED_CREDITS;
    }
  }
  if ((flags & AF_CREDITS_MUST_NOT_EXCEED_DEBITS) != 0) {
    if (addOverflows128(load<u64>(account + A_CREDITS_PENDING), load<u64>(account + A_CREDITS_PENDING + 8),
      load<u64>(account + A_CREDITS_POSTED), load<u64>(account + A_CREDITS_POSTED + 8))) return INVARIANT_CREDITS_EXCEED_DEBITS;
    if (lessThan128(load<u64>(account + A_DEBITS_POSTED), load<u64>(account + A_DEBITS_POSTED + 8), sumLo, sumHi)) {
      return INVARIANT_CREDITS_EXCEED_DEBITS;
    }
  }
  return INVARIANT_OK;
}

/** Returns INVARIANT_OK, or the code of the first invariant found broken. */
export function checkInvariants(): u32 {
  if ((S.historyCount - S.historyFirst) + S.historyReserved > S.historyMax) return INVARIANT_COUNTERS;
  if (S.pendingCount > S.pendingMax || S.expiryCount > S.pendingCount) return INVARIANT_COUNTERS;
  if (S.accountIds.count != S.accountCount || S.transferIds.count < S.transferCount - S.transferFirst) return INVARIANT_COUNTERS;
  const capacity = S.accountsMax * 2;
  memory.fill(S.ledgerSums, 0, <usize>capacity * LEDGER_SUM_BYTES);
  for (let slot: u32 = 0; slot < S.accountCount; slot++) {
    const account = accountAt(slot);
    const limits = accountLimitsHold(account);
    if (limits != INVARIANT_OK) return limits;
    const entry = ledgerEntry(load<u32>(account + A_LEDGER));
    accumulate(entry + SUM_DEBITS_PENDING, account + A_DEBITS_PENDING);
    accumulate(entry + SUM_DEBITS_POSTED, account + A_DEBITS_POSTED);
    accumulate(entry + SUM_CREDITS_PENDING, account + A_CREDITS_PENDING);
    accumulate(entry + SUM_CREDITS_POSTED, account + A_CREDITS_POSTED);
  }
  for (let index: u32 = 0; index < capacity; index++) {
    const entry = S.ledgerSums + <usize>index * LEDGER_SUM_BYTES;
    if (load<u32>(entry, 4) == 0) continue;
    if (!sumsEqual(entry + SUM_DEBITS_POSTED, entry + SUM_CREDITS_POSTED)) return INVARIANT_POSTED_UNBALANCED;
    if (!sumsEqual(entry + SUM_DEBITS_PENDING, entry + SUM_CREDITS_PENDING)) return INVARIANT_PENDING_UNBALANCED;
  }
  return INVARIANT_OK;
}
