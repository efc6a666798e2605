// A request's framing and the answer to a read-only operation: one rule for
// both ways a request comes in, logged (index.ts) and as a read without a log
// entry (reads.ts), so the two can never disagree on what is well formed or
// on what a lookup or query answers. (They were written twice, and each new
// operation had to be added to both.)
//
// Request: `u8 operation | u8 reserved | u16 scope | u32 count`, then `count`
// items of the operation's size, then `scope` u32 ledgers (scope.ts).

import { BATCH_EVENTS_MAX, HEADER_BYTES, ID_BYTES, INBOX_BYTES, OP_CREATE_ACCOUNTS, OP_CREATE_TRANSFERS,
  OP_GET_ACCOUNT_BALANCES, OP_GET_ACCOUNT_TRANSFERS, OP_LOOKUP_ACCOUNTS, OP_LOOKUP_TRANSFERS, OP_QUERY_ACCOUNTS,
  OP_QUERY_TRANSFERS, OUTBOX_BYTES, QUERY_FILTER_BYTES, RECORD_BYTES } from "./constants";
import { SCOPE_LEDGERS_MAX, scopeKeep } from "./scope";
import { getAccountBalances, getAccountTransfers, lookup, query } from "./queries";
import { textPut, textPutU64 } from "./text";

/** What is wrong with a request's framing (ok: nothing). */
export enum Framing {
  ok = 0,
  short,
  unknown_operation,
  reserved_byte,
  scope_too_long,
  scope_on_balances,
  count_zero,
  count_over,
  filter_count,
  length,
}

/** Item size of an operation, or 0 when the operation is unknown. */
export function itemBytes(operation: u32): u32 {
  assert(RECORD_BYTES == 128 && ID_BYTES == 16 && QUERY_FILTER_BYTES == 64, "wire item sizes changed");
  if (operation == OP_CREATE_ACCOUNTS || operation == OP_CREATE_TRANSFERS) return RECORD_BYTES;
  if (operation == OP_LOOKUP_ACCOUNTS || operation == OP_LOOKUP_TRANSFERS) return ID_BYTES;
  if (operation == OP_GET_ACCOUNT_TRANSFERS || operation == OP_GET_ACCOUNT_BALANCES) return RECORD_BYTES;
  if (operation == OP_QUERY_ACCOUNTS || operation == OP_QUERY_TRANSFERS) return QUERY_FILTER_BYTES;
  return 0;
}

/** Does the operation change state (so it is never a read)? */
// @ts-ignore: decorator
@inline export function isCreate(operation: u32): bool {
  return operation == OP_CREATE_ACCOUNTS || operation == OP_CREATE_TRANSFERS;
}

/** Do the operation's items hold one filter (get_account_*, query_*), not a batch? */
// @ts-ignore: decorator
@inline function takesOneFilter(operation: u32): bool {
  return operation == OP_GET_ACCOUNT_TRANSFERS || operation == OP_GET_ACCOUNT_BALANCES
    || operation == OP_QUERY_ACCOUNTS || operation == OP_QUERY_TRANSFERS;
}

/** The framing problem of the `len`-byte request at `request`, checked in the order the messages are documented. */
export function framingOf(request: usize, len: u32): Framing {
  if (len < HEADER_BYTES) return Framing.short;
  const operation = <u32>load<u8>(request);
  const count = load<u32>(request, 4);
  const size = itemBytes(operation);
  if (size == 0) return Framing.unknown_operation;
  if (load<u8>(request, 1) != 0) return Framing.reserved_byte;
  const scope = <u32>load<u16>(request, 2);
  if (scope > SCOPE_LEDGERS_MAX) return Framing.scope_too_long;
  // Balance history is not kept by ledger: a caller limited to ledgers may not ask for it.
  if (scope != 0 && operation == OP_GET_ACCOUNT_BALANCES) return Framing.scope_on_balances;
  if (count == 0) return Framing.count_zero;
  if (count > BATCH_EVENTS_MAX) return Framing.count_over;
  if (takesOneFilter(operation) && count != 1) return Framing.filter_count;
  if (<u64>len != <u64>HEADER_BYTES + <u64>count * <u64>size + <u64>scope * 4) return Framing.length;
  assert(<u64>len <= <u64>INBOX_BYTES, "a well-framed request longer than the inbox");
  return Framing.ok;
}

/** The logged path's message for `problem` (with the numbers), into the text buffer. */
export function framingText(problem: Framing, request: usize, len: u32): void {
  assert(problem != Framing.ok, "a message for a request with no problem");
  const operation = len >= HEADER_BYTES ? <u32>load<u8>(request) : 0;
  const count = len >= HEADER_BYTES ? load<u32>(request, 4) : 0;
  switch (problem) {
    case Framing.short:
      textPut("request of ");
      textPutU64(len);
      textPut(" bytes is shorter than the 8-byte header");
      break;
    case Framing.unknown_operation:
      textPut("unknown operation ");
      textPutU64(operation);
      break;
    case Framing.count_over:
      textPut("count ");
      textPutU64(count);
      textPut(" exceeds the batch maximum 8189");
      break;
    case Framing.filter_count:
      textPut(operation == OP_QUERY_ACCOUNTS || operation == OP_QUERY_TRANSFERS
        ? "a query takes exactly one QueryFilter, count is " : "a query takes exactly one AccountFilter, count is ");
      textPutU64(count);
      break;
    case Framing.length: {
      const size = itemBytes(operation);
      textPut("payload of ");
      textPutU64(len);
      textPut(" bytes does not match 8 + count * ");
      textPutU64(size);
      textPut(" + scope * 4 = ");
      textPutU64(<u64>HEADER_BYTES + <u64>count * <u64>size + <u64>load<u16>(request, 2) * 4);
      break;
    }
    default:
      textPut(framingMessage(problem));
  }
}

/** The message for `problem` without numbers: a read writes nothing but its reply (reads.ts). */
export function framingMessage(problem: Framing): string {
  switch (problem) {
    case Framing.short: return "request shorter than its 8-byte header";
    case Framing.unknown_operation: return "unknown operation";
    case Framing.reserved_byte: return "reserved header byte must be zero";
    case Framing.scope_too_long: return "a scope is at most 16 ledgers";
    case Framing.scope_on_balances: return "balance history is not limited by ledger; this request is";
    case Framing.count_zero: return "count must not be zero";
    case Framing.count_over: return "count exceeds the batch maximum 8189";
    case Framing.filter_count: return "a query takes exactly one filter";
    case Framing.length: return "payload length does not match 8 + count * item size + scope * 4";
    default:
      assert(false, "a message for a request with no problem");
      return "";
  }
}

/**
 * Answers the well-framed read-only request at `request` (a lookup,
 * get_account_* or query_*) into `out`; returns the reply's length. A scope
 * keeps only the records of its ledgers: inside the scan for the queries
 * (records of several ledgers interleave there, and one the caller may not
 * see must not take a place under the limit), by filtering the reply
 * otherwise. Writes nothing but `out`, so reads.ts can run it without a log
 * entry.
 */
export function answer(request: usize, out: usize): u32 {
  const operation = <u32>load<u8>(request);
  const count = load<u32>(request, 4);
  const scope = <u32>load<u16>(request, 2);
  // framingOf passed it: a known operation, a count and a scope within their bounds.
  assert(itemBytes(operation) != 0 && count >= 1 && count <= BATCH_EVENTS_MAX && scope <= SCOPE_LEDGERS_MAX,
    "answer to a request that is not well framed");
  assert(!isCreate(operation), "answer to a create: creates change state and are never a read");
  const items = request + HEADER_BYTES;
  const ledgers = items + <usize>count * itemBytes(operation);
  let bytes: u32 = 0;
  if (operation == OP_QUERY_ACCOUNTS || operation == OP_QUERY_TRANSFERS) {
    return query(operation == OP_QUERY_ACCOUNTS, items, ledgers, scope, out);
  }
  if (operation == OP_LOOKUP_ACCOUNTS || operation == OP_LOOKUP_TRANSFERS) {
    bytes = lookup(operation == OP_LOOKUP_ACCOUNTS, items, count, out);
  } else if (operation == OP_GET_ACCOUNT_TRANSFERS) {
    bytes = getAccountTransfers(items, out);
  } else {
    // framingOf refused a scope on balance history.
    assert(operation == OP_GET_ACCOUNT_BALANCES && scope == 0, "balance history asked for with a scope");
    bytes = getAccountBalances(items, out);
  }
  assert(bytes >= HEADER_BYTES && bytes <= OUTBOX_BYTES, "a read-only reply within the outbox");
  return scope == 0 ? bytes : scopeKeep(out, ledgers, scope);
}
