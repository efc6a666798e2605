// Limits and wire sizes of the gateway service, in one place, each with why.
//
// Everything the service holds is reserved at compile time (memory.ts) from
// these numbers and never grows; constantsCheck, run at boot, proves the
// relations between them that the code relies on (a buffer holds what is
// copied into it, the key index can always take another key).

import * as P from "../protocol";
import * as L from "../../ledger/protocol";
import * as C from "../../compliance/protocol";
import * as T from "../../trading/protocol";
import * as F from "../../fix/protocol";
import * as hal from "../../../hal/abi";

// The inbox takes a client request (56-byte header + the largest ledger batch,
// 8 + 8189 * 128 bytes) and the ledger's largest reply (8 + 8189 * 128).
export const INBOX_BYTES: u32 = 1048576 + 65536;
export const OUTBOX_BYTES: u32 = 1048576 + 65536;
// Console lines and error messages; longer text is cut.
export const TEXT_BYTES: u32 = 512;
// Error messages in a reply body are at most this long (answerText), and so
// is what is shown of a ledger refusal (ledgerError).
export const ERROR_TEXT_BYTES_MAX: u32 = 256;
// What is shown of the kernel's reply to a service command.
export const SERVICE_REPLY_SHOWN_MAX: u32 = 512;

// Keys: the kernel's admission table holds as many (hal/abi.ts ADM_KEYS_MAX,
// 1024: the list reply is 96 KiB, the table 136 KiB).
export const KEYS_MAX: u32 = <u32>P.ADM_KEYS_MAX;
export const KEY_INDEX_SLOTS: u32 = KEYS_MAX * 2; // power of two, half full at most
// Key record: the layout is in keys.ts.
export const KEY_BYTES: usize = 136;

// Requests waiting for a ledger slot: 8 MiB holds thousands of typical
// requests and at least seven largest batches.
export const DEFER_BYTES: u32 = 8 * 1048576;
export const DEFER_HEADER_BYTES: u32 = 16;
// A record length no request has: the writer wrapped to the start here.
export const DEFER_WRAP: u32 = 0xffffffff;
export const PENDING_MAX: u32 = 64; // upper bound of ledger_in_flight_max

// Service commands in flight to the kernel (kernel/liveload.ts queues 8).
export const SYSTEM_PENDING_MAX: u32 = 8;

// Rates and bursts up to a million (the kernel keeps nano-tokens, and
// 10^6 * 10^9 stays far below 2^64).
export const RATE_MAX: u64 = 1000000;

// The ledger's protocol (services/ledger/protocol.ts), typed as used here.
export const LEDGER_HEADER_BYTES: u32 = L.HEADER_BYTES;
export const LEDGER_RECORD_BYTES: u32 = L.RECORD_BYTES;
export const LEDGER_ID_BYTES: u32 = L.ID_BYTES;
export const LEDGER_QUERY_FILTER_BYTES: u32 = L.QUERY_FILTER_BYTES;
export const LEDGER_RESULT_BYTES: u32 = L.RESULT_BYTES;
export const LEDGER_BATCH_MAX: u32 = L.BATCH_EVENTS_MAX;
export const RECORD_LEDGER_OFFSET: usize = L.TRANSFER_LEDGER; // accounts and transfers alike (ACCOUNT_LEDGER)

// The kernel's side of service commands (hal/liveload.ts).
export const SENDER_KERNEL: u32 = hal.SENDER_KERNEL;
export const SYSTEM_PEER: u32 = hal.SYSTEM_PEER;
export const SVC_CMD_HEADER_BYTES: u32 = hal.SVC_CMD_HEADER_BYTES;
export const SVC_REPLY_HEADER_BYTES: u32 = hal.SVC_REPLY_HEADER_BYTES;

/** The relations between the limits above; all constant, so a wrong edit traps at boot. */
export function constantsCheck(): void {
  const largestBatch = <u64>LEDGER_HEADER_BYTES + <u64>LEDGER_BATCH_MAX * LEDGER_RECORD_BYTES;
  assert(<u64>P.GW_REQUEST_HEADER_BYTES + largestBatch + <u64>P.KEY_GRANTS_MAX * 4 <= <u64>INBOX_BYTES,
    "the inbox holds a largest request and the key's grants appended to it");
  assert(<u64>P.GW_REPLY_HEADER_BYTES + largestBatch <= <u64>OUTBOX_BYTES, "the outbox holds a largest ledger reply");
  assert(<u64>P.GW_REPLY_HEADER_BYTES + <u64>KEYS_MAX * P.GW_KEY_RECORD_BYTES <= <u64>OUTBOX_BYTES, "the outbox holds a full key list");
  assert(<u64>P.GW_REPLY_HEADER_BYTES + SERVICE_REPLY_SHOWN_MAX <= <u64>OUTBOX_BYTES, "the outbox holds a service reply");
  assert((KEY_INDEX_SLOTS & (KEY_INDEX_SLOTS - 1)) == 0 && KEY_INDEX_SLOTS >= 2 * KEYS_MAX, "the key index is a power of two, at most half full");
  assert(KEYS_MAX < 0xffff, "the key index stores key number + 1 in a u16");
  assert(<u32>P.KEY_GRANTS_MAX == <u32>P.ADM_KEY_GRANTS_MAX, "admission holds every grant of a key");
  assert(<u64>DEFER_HEADER_BYTES + largestBatch + <u64>P.KEY_GRANTS_MAX * 4 + 8 <= <u64>DEFER_BYTES, "the deferral ring holds a largest request");
  assert(DEFER_BYTES % 8 == 0 && DEFER_HEADER_BYTES % 8 == 0, "deferred records stay 8-aligned, so a wrap marker always fits");
  assert(<u32>P.ROUTE_COUNT <= <u32>P.ADM_ROUTES_MAX, "every route fits admission's policy");
  const largestNames = <u64>C.HEADER_BYTES + <u64>C.NAMES_PER_REQUEST * C.NAME_BYTES;
  assert(<u64>P.GW_REQUEST_HEADER_BYTES + largestNames <= <u64>INBOX_BYTES && <u64>DEFER_HEADER_BYTES + largestNames + 8 <= <u64>DEFER_BYTES,
    "the inbox and the deferral ring hold a largest list_names");
  assert(<u64>P.GW_REPLY_HEADER_BYTES + <u64>C.REPLY_HEADER_BYTES + <u64>C.MATCHES_MAX * C.MATCH_BYTES <= <u64>OUTBOX_BYTES, "the outbox holds a largest search reply");
  const largestOrders = <u64>T.REPLY_HEADER_BYTES + <u64>T.OPS_PER_REQUEST * T.RESULT_BYTES + <u64>T.EVENTS_PER_REPLY * T.EVENT_BYTES;
  assert(<u64>P.GW_REPLY_HEADER_BYTES + largestOrders <= <u64>OUTBOX_BYTES, "the outbox holds a largest orders reply");
  const largestFix = <u64>F.requestLength(F.INPUTS_PER_REQUEST);
  assert(largestFix > 0 && <u64>P.GW_REQUEST_HEADER_BYTES + largestFix <= <u64>INBOX_BYTES && <u64>DEFER_HEADER_BYTES + largestFix + 8 <= <u64>DEFER_BYTES,
    "the inbox and the deferral ring hold a largest FIX request");
  assert(<u32>T.SCOPE_LEDGERS_MAX == <u32>P.KEY_GRANTS_MAX, "the trading service takes every grant of a key");
  assert(<u32>C.TRANSFERS_PER_REQUEST >= LEDGER_BATCH_MAX && <u64>C.REPLY_HEADER_BYTES + <u64>LEDGER_BATCH_MAX * C.VERDICT_BYTES <= <u64>INBOX_BYTES,
    "compliance checks a largest create_transfers, and its verdicts fit the inbox (transfer_checks)");
  // Every ledger operation has one route and back (ledger operations are 1..8), and only ledger routes carry one.
  for (let op: u32 = 1; op <= <u32>L.Operation.query_transfers; op++) {
    assert(P.routeOperation(P.operationRoute(op)) == op, "a ledger operation without its route");
  }
  for (let route: u32 = 1; route < <u32>P.ROUTE_COUNT; route++) {
    const op = P.routeOperation(route);
    assert(op == 0 || P.operationRoute(op) == route, "a route carries an operation whose route is another");
  }
  assert(<u32>P.GW_STATS_COUNT * 8 <= OUTBOX_BYTES, "the counters fit the outbox");
}
