// Limits and wire sizes of the ledger service, in one place.
//
// Every table is sized at boot from the service config and never grows; the
// limits below bound what a config may ask for, so that the whole state fits
// in one 32-bit WebAssembly memory (4 GiB) with room to spare.

import * as p from "../protocol";
import * as hal from "../../../hal/abi";

/** Events per create/lookup request: TigerBeetle's batch maximum for 1 MiB bodies (protocol.ts). */
export const BATCH_EVENTS_MAX: u32 = p.BATCH_EVENTS_MAX;
/** Inbox size: a full batch (8 + 8189 * 128 bytes) plus 64 KiB of headroom. */
export const INBOX_BYTES: u32 = 1114112;
/** Reply buffer: the largest reply (8 + 8189 * 128 bytes) fits with headroom. */
export const OUTBOX_BYTES: u32 = 1114112;
/** Scratch for log lines and error messages. */
export const TEXT_BYTES: u32 = 512;

// Wire sizes (protocol.ts).
export const HEADER_BYTES: u32 = p.HEADER_BYTES;
export const RECORD_BYTES: u32 = p.RECORD_BYTES;
export const ID_BYTES: u32 = p.ID_BYTES;
export const RESULT_BYTES: u32 = p.RESULT_BYTES;
export const QUERY_FILTER_BYTES: u32 = p.QUERY_FILTER_BYTES;

// Request operations (u8 in the request header; protocol.ts Operation).
export const OP_CREATE_ACCOUNTS: u32 = p.Operation.create_accounts;
export const OP_CREATE_TRANSFERS: u32 = p.Operation.create_transfers;
export const OP_LOOKUP_ACCOUNTS: u32 = p.Operation.lookup_accounts;
export const OP_LOOKUP_TRANSFERS: u32 = p.Operation.lookup_transfers;
export const OP_GET_ACCOUNT_TRANSFERS: u32 = p.Operation.get_account_transfers;
export const OP_GET_ACCOUNT_BALANCES: u32 = p.Operation.get_account_balances;
export const OP_QUERY_ACCOUNTS: u32 = p.Operation.query_accounts;
export const OP_QUERY_TRANSFERS: u32 = p.Operation.query_transfers;

// Message kinds delivered by the kernel to qx_handle (hal/services.ts).
export const KIND_CLIENT_REQUEST: u32 = hal.MSG_KIND_REQUEST;
export const KIND_SERVICE_MESSAGE: u32 = hal.MSG_KIND_MESSAGE;
export const KIND_TIMER: u32 = hal.MSG_KIND_TIMER;

// Reply status codes (hal/frames.ts).
export const STATUS_OK: u32 = hal.FRAME_OK;
export const STATUS_SERVICE_ERROR: u32 = hal.FRAME_E_SERVICE;

// Config defaults (used when qx_init gets an empty config) and upper limits.
// Limits keep every single allocation under the runtime's 1 GiB block limit
// and the sum of all tables well under 4 GiB.
export const ACCOUNTS_MAX_DEFAULT: u32 = 10000;
export const TRANSFERS_MAX_DEFAULT: u32 = 1000000;
export const PENDING_MAX_DEFAULT: u32 = 100000;
export const HISTORY_MAX_DEFAULT: u32 = 1000000;
export const ACCOUNTS_MAX_LIMIT: u32 = 1 << 22;
export const TRANSFERS_MAX_LIMIT: u32 = 1 << 22;
export const PENDING_MAX_LIMIT: u32 = 1 << 22;
export const HISTORY_MAX_LIMIT: u32 = 1 << 22;

/**
 * Blocks a ledger on a grid caches: at least what one query's page or one
 * cold lookup needs at once (an index and a data block of every table it
 * may touch; the tests' smallest), at most 4 GiB. A serving image caches far
 * more: the cache size changes how many reads reach the disk, never an answer.
 */
export const CACHE_BLOCKS_MIN: u32 = 32;
export const CACHE_BLOCKS_LIMIT: u32 = 65536;
/** The least grid: the superblock copies and a few tables of each tree. */
export const GRID_BLOCKS_MIN: u64 = 4096;
/** The least transfer window on a grid (tests); a window of 8192 or more takes any batch. */
export const WINDOW_MIN: u32 = 64;

/** Transfer timeouts are seconds; timestamps are nanoseconds. */
export const NS_PER_S: u64 = 1000000000;
/** Timestamps are u63 (TigerBeetle keeps the top bit for tombstones). */
export const TIMESTAMP_MAX: u64 = 0x7FFFFFFFFFFFFFFF;

/** "No slot": end of a linked list, or an absent index. */
export const NONE: u32 = 0xFFFFFFFF;
