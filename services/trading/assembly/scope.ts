// A request's scope: the ledgers a key limited to ledgers is granted, which
// the gateway appends after the records (protocol.ts "request header"). An
// operation may name an instrument only when both its ledgers are granted;
// a request without a scope (the console, an unscoped key) may name any.

import * as P from "../protocol";

let count: u32 = 0;
const grants = memory.data(<i32>(P.SCOPE_LEDGERS_MAX * 4), 4);

/** The scope of the request in the inbox: `n` ledgers at `at` (0: none). */
export function scopeSet(at: usize, n: u32): void {
  assert(n <= <u32>P.SCOPE_LEDGERS_MAX, "a key's grants");
  memory.copy(grants, at, <usize>n * 4);
  count = n;
}

/** Copies the scope of the request in the inbox to `to` (SCOPE_LEDGERS_MAX * 4 bytes of room); its ledger count. */
export function scopeCopy(to: usize): u32 {
  assert(to != 0 && count <= <u32>P.SCOPE_LEDGERS_MAX, "room for a key's grants");
  memory.copy(to, grants, <usize>count * 4);
  return count;
}

function granted(ledger: u32): bool {
  assert(count <= <u32>P.SCOPE_LEDGERS_MAX, "a key's grants");
  for (let i: u32 = 0; i < count; i++) if (load<u32>(grants + (<usize>i << 2)) == ledger) return true;
  return false;
}

/** Whether the request may name instrument `inst` (its record): no scope, or both its ledgers granted. */
export function scopeAllows(inst: usize): bool {
  assert(inst != 0, "an instrument");
  return count == 0 || (granted(load<u32>(inst + P.INST_CASH_LEDGER)) && granted(load<u32>(inst + P.INST_ASSET_LEDGER)));
}

let heldCount: u32 = 0;
const held = memory.data(<i32>(P.SCOPE_LEDGERS_MAX * 4), 4);

/** Keeps the scope of a request that waits for the ledger (flow.ts), while other requests come and go. */
export function scopeHold(): void {
  assert(count <= <u32>P.SCOPE_LEDGERS_MAX, "a key's grants");
  memory.copy(held, grants, <usize>count * 4);
  heldCount = count;
}

/** The scope kept by scopeHold, in force again. */
export function scopeRestore(): void {
  assert(heldCount <= <u32>P.SCOPE_LEDGERS_MAX, "a key's grants");
  scopeSet(held, heldCount);
}
