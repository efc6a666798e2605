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
// memo (idGet). The framing rule and the answer are the logged path's own
// (request.ts): a scope (u16 at +2: scope.ts; the kernel adds a limited
// key's grants for reads of the gateway's routes) keeps only the records of
// its ledgers, read from where the list lies in the read area, so nothing
// is kept of it after the read.
//
//   qx_read_area()        where the host writes the request
//   qx_read_request_max() how many bytes it may write there
//   qx_read_reply_max()   the room after them the reply may take
//   qx_read(len)          answers the request of `len` bytes: the reply is at
//                         qx_read_area() + qx_read_request_max(); returns its
//                         length, or minus the length of an error message
//                         written there instead.

import { BATCH_EVENTS_MAX, HEADER_BYTES, ID_BYTES, OUTBOX_BYTES } from "./constants";
import { SCOPE_LEDGERS_MAX } from "./scope";
import { S } from "./state";
import { Framing, answer, framingMessage, framingOf, isCreate } from "./request";

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
  // Older records are in the grid's trees, which a read cannot prefetch yet without changing state.
  if (S.grid) return readError("a ledger on a grid answers through the log: send the request without FRAME_F_READ");
  if (len > READ_REQUEST_BYTES_MAX) return readError("read request longer than a lookup of a full batch");
  // The same framing rule as a logged request (request.ts), so the two ways in agree.
  const framing = framingOf(readArea, len);
  if (framing != Framing.ok) return readError(framingMessage(framing));
  if (isCreate(<u32>load<u8>(readArea))) {
    return readError("a read is lookup_accounts, lookup_transfers, get_account_transfers, get_account_balances, query_accounts or query_transfers");
  }
  const replyBytes = answer(readArea, readReply);
  assert(replyBytes >= HEADER_BYTES && replyBytes <= OUTBOX_BYTES, "a read reply fits the read area");
  return <i32>replyBytes;
}
