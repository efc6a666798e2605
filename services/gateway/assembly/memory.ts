// The gateway's memory: every area it uses, reserved once.
//
// All of it is static data laid out at compile time in the order below, plus
// the key index taken from the heap at start; nothing is allocated while a
// message is handled. One place shows the whole map, and keeping this order
// keeps every area where it was before the service was split into files.
//
//   inbox          INBOX_BYTES      the message the kernel copied in
//   outbox         OUTBOX_BYTES     the reply being built (GW_REPLY_HEADER_BYTES, then the body)
//   textBuf        TEXT_BYTES       a console line or an error message (text.ts)
//   keys           KEYS_MAX records of KEY_BYTES (keys.ts)
//   pending*       PENDING_MAX u32s each: the FIFO of ledger requests in flight (pending.ts)
//   deferred       DEFER_BYTES      the ring of requests waiting for a ledger slot (defer.ts)
//   stats          GW_STATS_COUNT u64 counters (stats.ts)
//   admissionBuf   a policy or a key as the kernel's admission takes it (admission.ts)
//   system*        SYSTEM_PENDING_MAX u32s each: service commands in flight (system.ts)
//   keyIndex       (heap) KEY_INDEX_SLOTS u16s: open addressing by hash (keys.ts)

import * as P from "../protocol";
import { DEFER_BYTES, INBOX_BYTES, KEY_BYTES, KEY_INDEX_SLOTS, KEYS_MAX, OUTBOX_BYTES, PENDING_MAX,
  SYSTEM_PENDING_MAX, TEXT_BYTES } from "./constants";

export const inbox: usize = memory.data(<i32>(INBOX_BYTES), 16);
export const outbox: usize = memory.data(<i32>(OUTBOX_BYTES), 16);
export const textBuf: usize = memory.data(<i32>(TEXT_BYTES), 16);
export const keys: usize = memory.data(<i32>(<usize>KEYS_MAX * KEY_BYTES), 16);
export const keyIndex: usize = heap.alloc(<usize>KEY_INDEX_SLOTS * 2); // u16 key number + 1, 0 = empty

// In flight to the ledger, oldest first: token, route, key number (or -1), count.
export const pendingToken: usize = memory.data(<i32>(PENDING_MAX * 4), 16);
export const pendingRoute: usize = memory.data(<i32>(PENDING_MAX * 4), 16);
export const pendingKey: usize = memory.data(<i32>(PENDING_MAX * 4), 16);
export const pendingCount: usize = memory.data(<i32>(PENDING_MAX * 4), 16);

// Deferred requests: records of u32 len | u32 token | i32 key | u32 route | payload (8-aligned).
export const deferred: usize = memory.data(<i32>(DEFER_BYTES), 16);

export const stats: usize = memory.data(<i32>(P.GW_STATS_COUNT * 8), 16);

export const admissionBuf: usize = memory.data(<i32>(P.ADM_POLICY_HEADER_BYTES + P.ADM_ROUTES_MAX * P.ADM_ROUTE_BYTES), 16);

// Service commands in flight to the kernel, oldest first: token, key number (or -1).
export const systemToken: usize = memory.data(<i32>(SYSTEM_PENDING_MAX * 4), 16);
export const systemKey: usize = memory.data(<i32>(SYSTEM_PENDING_MAX * 4), 16);
