// The scope of a read: the ledgers a key is limited to (a teller's grants),
// which the gateway appends to the reads of such a key (protocol.ts
// HEADER_SCOPE). While set, a read answers only what those ledgers hold:
// payments and directory entries of other ledgers are as if they did not
// exist. Set for one request, cleared before the next.

import * as P from "../protocol";

const ledgers: usize = memory.data(<i32>(P.SCOPE_LEDGERS_MAX * 4), 4);
let count: u32 = 0;

/** The scope of the request being handled: `n` u32 ledgers at `at` (0: unscoped). */
export function scopeSet(at: usize, n: u32): void {
  assert(n <= <u32>P.SCOPE_LEDGERS_MAX, "a key has at most SCOPE_LEDGERS_MAX grants");
  memory.copy(ledgers, at, <usize>n << 2);
  count = n;
}

/** Whether the request being handled may see what `ledger` holds. */
export function scopeAllows(ledger: u32): bool {
  assert(count <= <u32>P.SCOPE_LEDGERS_MAX, "a scope within its table");
  if (count == 0) return true;
  for (let i: u32 = 0; i < count; i++) if (load<u32>(ledgers + (<usize>i << 2)) == ledger) return true;
  return false;
}
