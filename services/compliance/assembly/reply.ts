// Replies: the reply header (protocol.ts: u32 count, u32 flags, u64 the
// operation's), the records after it, and refusals in band (REPLY_F_REFUSED,
// a REFUSED_* code and an ASCII reason), like the payments service's. The
// reply area is taken from the heap once, at init; nothing is allocated
// while a message is handled.

import * as P from "../protocol";
import { reply } from "../../sdk/qenex";

/** A refusal's reason is at most this long (longer text is cut). */
const REASON_BYTES: u32 = 256;
let out: usize = 0;
let outBytes: u32 = 0;

/** Takes the reply area from the heap: the largest reply is a check's decisions. */
export function replyInit(): void {
  assert(out == 0, "replyInit: once");
  const lists = max(<u32>P.LIST_MAX * <u32>P.ALERT_BYTES, <u32>P.LIST_MAX * <u32>P.DECISION_BYTES);
  const batches = max(max(<u32>P.CHECKS_PER_REQUEST * <u32>P.DECISION_BYTES, <u32>P.OWNERS_PER_REQUEST * <u32>P.SCREENED_BYTES), <u32>P.ORDERS_PER_REQUEST * <u32>P.ORDER_RESULT_BYTES);
  const records = max(max(max(batches, lists), <u32>P.RULE_SETS_MAX * <u32>P.RULES_BYTES), <u32>P.TRANSFERS_PER_REQUEST * <u32>P.VERDICT_BYTES);
  outBytes = <u32>P.REPLY_HEADER_BYTES + max(max(<u32>P.MATCHES_MAX * <u32>P.MATCH_BYTES, records), max(<u32>P.LISTS * <u32>P.STATUS_BYTES, REASON_BYTES));
  out = heap.alloc(outBytes);
}

/** Where the reply's records go: after the header. */
export function replyRecords(): usize {
  assert(out != 0, "replyRecords: after replyInit");
  return out + P.REPLY_HEADER_BYTES;
}

/** Sends the header (count, `flags`, `value` at +8) and `bytes` of records already at replyRecords(). */
export function replySend(token: u32, count: u32, value: u64, bytes: u32, flags: u32 = 0): void {
  assert(<u64>P.REPLY_HEADER_BYTES + bytes <= <u64>outBytes, "the records fit the reply area");
  store<u32>(out, count);
  store<u32>(out + 4, flags);
  store<u64>(out + 8, value);
  reply(token, 0, out, <u32>P.REPLY_HEADER_BYTES + bytes);
}

/** Refuses the request whole: nothing changed. `why` is ASCII. */
export function refuse(token: u32, code: u32, why: string): void {
  assert(code >= <u32>P.REFUSED_MALFORMED && code <= <u32>P.REFUSED_CASE && why.length > 0, "a refusal with its code and reason");
  const n = <u32>why.length < REASON_BYTES ? <u32>why.length : REASON_BYTES;
  store<u32>(out, 0);
  store<u32>(out + 4, P.REPLY_F_REFUSED);
  store<u64>(out + 8, 0);
  store<u32>(out + P.REPLY_REFUSED, code);
  for (let i: u32 = 0; i < n; i++) store<u8>(out + P.REPLY_HEADER_BYTES + i, <u8>why.charCodeAt(i));
  reply(token, 0, out, <u32>P.REPLY_HEADER_BYTES + n);
}

/**
 * Checks `count` records of `bytes` each at `recs` with `error` (a record's
 * reason to be refused, or null); refuses the request whole with the first
 * reason found. True when it refused: nothing of the request is then applied.
 */
export function refusedRecords(token: u32, recs: usize, count: u32, bytes: u32, error: (r: usize) => string | null): bool {
  assert(bytes > 0, "records of some size");
  for (let i: u32 = 0; i < count; i++) {
    const why = error(recs + <usize>i * bytes);
    if (why !== null) { refuse(token, P.REFUSED_MALFORMED, why); return true; }
  }
  return false;
}
