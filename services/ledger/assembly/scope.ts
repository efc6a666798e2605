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
// request's ledger is granted, the existing one is not). Lookups and
// get_account_transfers with a scope answer only the records on its
// ledgers (scopeKeep, on the reply), logged or read alike; query_accounts
// and query_transfers skip records outside the scope inside their scan
// (queries.ts query, given the scope's list), so only records the caller may
// see count toward the limit and paging by timestamp stays whole;
// get_account_balances refuses a scope (balance history is not kept by
// ledger). Without a scope (count 0: keys with every ledger, and direct
// clients) nothing changes.

import { BATCH_EVENTS_MAX, HEADER_BYTES, RECORD_BYTES } from "./constants";
import { A_LEDGER, T_LEDGER } from "./layout";
import * as p from "../protocol";

/** At most one key's grants (protocol.ts). */
export const SCOPE_LEDGERS_MAX: u32 = p.SCOPE_LEDGERS_MAX;

const ledgers: usize = memory.data(<i32>(SCOPE_LEDGERS_MAX * 4), 16);
let count: u32 = 0;

/** Sets the scope for the request being handled: `n` u32 ledgers at `p`. */
export function scopeSet(p: usize, n: u32): void {
  // framingOf (request.ts) answered a longer scope with an error.
  assert(n <= SCOPE_LEDGERS_MAX && BATCH_EVENTS_MAX > 0, "scope longer than SCOPE_LEDGERS_MAX");
  memory.copy(ledgers, p, <usize>n * 4);
  count = n;
}

/** True when a scope is set and `ledger` is not in it: what lies there is not shown. */
export function scopeHides(ledger: u32): bool {
  assert(count <= SCOPE_LEDGERS_MAX, "scope longer than SCOPE_LEDGERS_MAX");
  return count != 0 && !ledgerIn(ledgers, count, ledger);
}

/** Whether `ledger` is one of the `n` u32 ledgers at `list` (scopes, and the queries' scans). */
// @ts-ignore: decorator
@inline export function ledgerIn(list: usize, n: u32, ledger: u32): bool {
  assert(n <= SCOPE_LEDGERS_MAX, "a ledger list longer than a scope");
  for (let i: u32 = 0; i < n; i++) if (load<u32>(list + <usize>i * 4) == ledger) return true;
  return false;
}

// Accounts and transfers keep their ledger at the same offset.
assert(A_LEDGER == T_LEDGER, "accounts and transfers keep their ledger at different offsets");

/**
 * Keeps, in order, the records of the query reply at `reply` whose ledger is
 * one of the `n` u32 ledgers at `ledgers`, zeroes the records dropped, and
 * returns the new reply length.
 */
export function scopeKeep(reply: usize, ledgers: usize, n: u32): u32 {
  assert(n > 0 && n <= SCOPE_LEDGERS_MAX, "scopeKeep without a scope, or with a scope longer than SCOPE_LEDGERS_MAX");
  const records = load<u32>(reply);
  assert(records <= BATCH_EVENTS_MAX, "query reply longer than a batch");
  let kept: u32 = 0;
  for (let i: u32 = 0; i < records; i++) {
    const rec = reply + HEADER_BYTES + <usize>i * RECORD_BYTES;
    if (!ledgerIn(ledgers, n, load<u32>(rec + T_LEDGER))) continue;
    if (kept != i) memory.copy(reply + HEADER_BYTES + <usize>kept * RECORD_BYTES, rec, RECORD_BYTES);
    kept++;
  }
  assert(kept <= records, "a scope only removes records");
  // A read's host zeroes what the returned length covers: the records dropped past it are zeroed here.
  memory.fill(reply + HEADER_BYTES + <usize>kept * RECORD_BYTES, 0, <usize>(records - kept) * RECORD_BYTES);
  store<u32>(reply, kept);
  return HEADER_BYTES + kept * RECORD_BYTES;
}
