// Reads: lookup_accounts, lookup_transfers, get_account_transfers,
// get_account_balances, query_accounts and query_transfers answered from the
// applied state without a log entry
// (a frame with FRAME_F_READ, hal/frames.ts; the kernel hands it over with
// ACT_READ, hal/rings.ts).
//
// A read must leave the service's state exactly as it found it, byte for
// byte: a replay never runs it, and the state hash, snapshots and replicas
// all compare memory. So a read writes only into the read area below (the
// host copies the request in, takes the reply out and zeroes the request and
// the returned length of the reply afterwards, so nothing may stay written
// past that length; and it puts every mutable global back), uses no
// allocation and no text buffer, and looks ids up without idFind's probe
// memo (idGet). A scope (u16 at +2: scope.ts) keeps only the records of its
// ledgers, as it does on the logged path (the kernel adds a limited key's
// grants for reads of the gateway's routes): the queries are handed its list
// where it lies in the read area, so nothing is kept of it after the read.
//
//   qx_read_area()        where the host writes the request
//   qx_read_request_max() how many bytes it may write there
//   qx_read_reply_max()   the room after them the reply may take
//   qx_read(len)          answers the request of `len` bytes: the reply is at
//                         qx_read_area() + qx_read_request_max(); returns its
//                         length, or minus the length of an error message
//                         written there instead.

import { BATCH_EVENTS_MAX, HEADER_BYTES, ID_BYTES, OP_GET_ACCOUNT_BALANCES, OP_GET_ACCOUNT_TRANSFERS,
  OP_LOOKUP_ACCOUNTS, OP_LOOKUP_TRANSFERS, OP_QUERY_ACCOUNTS, OP_QUERY_TRANSFERS, OUTBOX_BYTES, QUERY_FILTER_BYTES,
  RECORD_BYTES } from "./constants";
import { SCOPE_LEDGERS_MAX, scopeKeep } from "./scope";
import { S } from "./state";
import { getAccountBalances, getAccountTransfers, lookup, query } from "./queries";

/** The largest read request: a lookup of a full batch of ids, and a scope. */
export const READ_REQUEST_BYTES_MAX: u32 = HEADER_BYTES + BATCH_EVENTS_MAX * ID_BYTES + SCOPE_LEDGERS_MAX * 4;
const READ_AREA_BYTES: u32 = READ_REQUEST_BYTES_MAX + OUTBOX_BYTES;

export const readArea: usize = heap.alloc(READ_AREA_BYTES);
const readReply: usize = readArea + READ_REQUEST_BYTES_MAX;

// Writes an ASCII message where the reply goes; minus its length.
function readError(message: string): i32 {
  const n = message.length;
  assert(n > 0 && <u32>n <= OUTBOX_BYTES, "a read error has a short message");
  for (let i = 0; i < n; i++) store<u8>(readReply + <usize>i, <u8>message.charCodeAt(i));
  return -n;
}

/** Answers the read request of `len` bytes in the read area (see the file comment). */
export function read(len: u32): i32 {
  assert(S.initialized, "read before qx_init");
  if (len < HEADER_BYTES || len > READ_REQUEST_BYTES_MAX) return readError("read request shorter than its 8-byte header, or longer than a lookup of a full batch");
  const operation = <u32>load<u8>(readArea);
  const count = load<u32>(readArea, 4);
  // A scope (u16 at +2, its u32 ledgers after the items): only records of those ledgers are answered.
  const scope = <u32>load<u16>(readArea, 2);
  if (load<u8>(readArea, 1) != 0) return readError("reserved header byte must be zero");
  if (scope > SCOPE_LEDGERS_MAX) return readError("a scope is at most 16 ledgers");
  let replyBytes: u32 = 0;
  let items: u32 = 0;
  // The queries apply the scope inside their scan (queries.ts); the other reads' replies are filtered below.
  let scopedInScan = false;
  if (operation == OP_LOOKUP_ACCOUNTS || operation == OP_LOOKUP_TRANSFERS) {
    if (count == 0 || count > BATCH_EVENTS_MAX) return readError("lookup count must be 1..8189");
    items = count * ID_BYTES;
    if (<u64>len != <u64>HEADER_BYTES + <u64>items + <u64>scope * 4) return readError("payload length does not match 8 + count * 16 + scope * 4");
    replyBytes = lookup(operation == OP_LOOKUP_ACCOUNTS, readArea + HEADER_BYTES, count, readReply);
  } else if (operation == OP_GET_ACCOUNT_TRANSFERS || operation == OP_GET_ACCOUNT_BALANCES) {
    items = RECORD_BYTES;
    if (count != 1 || len != HEADER_BYTES + items + scope * 4) return readError("a query takes exactly one 128-byte AccountFilter");
    // Balance history is not limited by ledger: a scoped reader may not ask for it.
    if (operation == OP_GET_ACCOUNT_BALANCES && scope != 0) return readError("balance history is not limited by ledger; this request is");
    replyBytes = operation == OP_GET_ACCOUNT_TRANSFERS
      ? getAccountTransfers(readArea + HEADER_BYTES, readReply)
      : getAccountBalances(readArea + HEADER_BYTES, readReply);
  } else if (operation == OP_QUERY_ACCOUNTS || operation == OP_QUERY_TRANSFERS) {
    items = QUERY_FILTER_BYTES;
    if (count != 1 || len != HEADER_BYTES + items + scope * 4) return readError("a query takes exactly one 64-byte QueryFilter");
    replyBytes = query(operation == OP_QUERY_ACCOUNTS, readArea + HEADER_BYTES, readArea + HEADER_BYTES + items, scope, readReply);
    scopedInScan = true;
  } else {
    return readError("a read is lookup_accounts, lookup_transfers, get_account_transfers, get_account_balances, query_accounts or query_transfers");
  }
  assert(replyBytes >= HEADER_BYTES && replyBytes <= OUTBOX_BYTES, "a read reply fits the read area");
  if (scope != 0 && !scopedInScan) replyBytes = scopeKeep(readReply, readArea + HEADER_BYTES + items, scope);
  return <i32>replyBytes;
}
