// The ledgers a create request's caller is limited to, so that no answer
// tells it about another ledger's transfers or accounts.
//
// A teller key granted ledger 1 could otherwise learn about ledger 2 from
// the results of its own creates: a transfer id that exists on ledger 2
// answered exists_with_different_amount, _code, ... as the guessed fields
// came closer, and an account or pending transfer on ledger 2 answered
// ..._must_have_the_same_ledger instead of ..._not_found. With a scope set
// (the gateway appends the key's grants to its create requests: the
// request header's u16 at +2 counts them, the u32 ledgers follow the
// events), whatever lies on a ledger outside the scope answers as if it did
// not exist, and an id taken on such a ledger answers one constant result,
// exists_with_different_ledger, which is true whatever the guess (the
// request's ledger is granted, the existing one is not). Without a scope
// (count 0: keys with every ledger, and direct clients) nothing changes.

import { BATCH_EVENTS_MAX } from "./constants";
import * as p from "../protocol";

/** At most one key's grants (protocol.ts). */
export const SCOPE_LEDGERS_MAX: u32 = p.SCOPE_LEDGERS_MAX;

const ledgers: usize = memory.data(<i32>(SCOPE_LEDGERS_MAX * 4), 16);
let count: u32 = 0;

/** Sets the scope for the request being handled: `n` u32 ledgers at `p`. */
export function scopeSet(p: usize, n: u32): void {
  // requestValid answered a longer scope with an error.
  assert(n <= SCOPE_LEDGERS_MAX && BATCH_EVENTS_MAX > 0, "scope longer than SCOPE_LEDGERS_MAX");
  memory.copy(ledgers, p, <usize>n * 4);
  count = n;
}

/** True when a scope is set and `ledger` is not in it: what lies there is not shown. */
export function scopeHides(ledger: u32): bool {
  assert(count <= SCOPE_LEDGERS_MAX, "scope longer than SCOPE_LEDGERS_MAX");
  if (count == 0) return false;
  for (let i: u32 = 0; i < count; i++) if (load<u32>(ledgers + <usize>i * 4) == ledger) return false;
  return true;
}
