// services/sdk/qenex.ts: the system calls a QENEX service may import, and
// the exports every service provides. The kernel checks each call against the
// service's manifest capabilities (services/sdk/ABI.md is the ABI table;
// kernel/syscalls.ts holds the same table beside the code).
//
// A service module exports:
//   memory
//   qx_inbox(): usize        address of its inbox buffer
//   qx_inbox_bytes(): u32    the inbox size (the kernel never copies more)
//   qx_init(len: u32)        once at boot; the inbox holds the service's config JSON
//   qx_handle(kind, sender, token, len)  one message, in the inbox
//
// The raw calls below are the ABI; the typed helpers after them allocate
// nothing (services run on AssemblyScript's stub runtime, which never frees).
import { STATUS_OK as RING_STATUS_OK } from "../../hal/rings";
import { EVENT_TRANSFER_BYTES as HAL_EVENT_TRANSFER_BYTES, EVT_PAYMENT, EVENT_PAYMENT_BYTES as HAL_EVENT_PAYMENT_BYTES } from "../../hal/devices/events";
import { EVT_ALERT, EVENT_ALERT_BYTES as HAL_EVENT_ALERT_BYTES } from "../../hal/devices/events";
import { MSG_KIND_BLOCK, MSG_KIND_CHECKPOINT } from "../../hal/services";
import { STORAGE_WRITE, STORAGE_SYNC, STORAGE_READ, GRID_BLOCK_BYTES } from "../../hal/devices/grid";

// Result codes (hal/abi.ts SYS_*), repeated here as the service's own API.
export const OK: i32 = 0;
export const E_DENIED: i32 = -1;
export const E_INVALID: i32 = -2;
export const E_FULL: i32 = -3;
export const E_TOO_LARGE: i32 = -4;
export const E_CONTEXT: i32 = -5;
export const E_UNAVAILABLE: i32 = -6;

// Message kinds (hal/abi.ts MSG_KIND_*).
export const KIND_INIT: u32 = 0;
export const KIND_REQUEST: u32 = 1;
export const KIND_MESSAGE: u32 = 2;
export const KIND_REPLY: u32 = 3;
export const KIND_TIMER: u32 = 4;
export const KIND_FAILED: u32 = 5; // a message this service sent was aborted by the peer's fault
export const KIND_BLOCK: u32 = MSG_KIND_BLOCK; // a block of its grid it asked for with storageRead
export const KIND_CHECKPOINT: u32 = MSG_KIND_CHECKPOINT; // to a service with "storage": blocks released before the previous one may be reused (store.ts storeCheckpoint)

// Reply status: 0 reaches a client as FRAME_OK, anything else as
// FRAME_E_SERVICE with the payload as the error text.
export const STATUS_OK: u32 = RING_STATUS_OK;
export const STATUS_ERROR: u32 = 1;

// @ts-ignore: decorator
@external("qenex", "send") export declare function send(peer: u32, ptr: usize, len: u32): i32;
// @ts-ignore: decorator
@external("qenex", "reply") export declare function reply(token: u32, status: u32, ptr: usize, len: u32): i32;
// @ts-ignore: decorator
@external("qenex", "time") export declare function time(): i64;
// @ts-ignore: decorator
@external("qenex", "log") export declare function log(ptr: usize, len: u32): i32;
// @ts-ignore: decorator
@external("qenex", "random") export declare function random(ptr: usize, len: u32): i32;
// @ts-ignore: decorator
@external("qenex", "timer") export declare function timer(delayNs: i64, tag: i64): i32;
// @ts-ignore: decorator
@external("qenex", "lookup") export declare function lookup(ptr: usize, len: u32): i32;
// @ts-ignore: decorator
@external("qenex", "emit") export declare function emit(type: u32, count: u32, ptr: usize, len: u32): i32;
// @ts-ignore: decorator
@external("qenex", "hsm") export declare function hsm(op: u32, ptr: usize, len: u32): i32;
// Programs the kernel's admission table (capability "admit"; hal/abi.ts "admission").
// @ts-ignore: decorator
@external("qenex", "admission") export declare function admission(op: u32, ptr: usize, len: u32): i32;
// @ts-ignore: decorator
@external("qenex", "storage") export declare function storage(op: u32, ptr: usize, len: u32): i32;

// ---- the service's grid (capability "storage"; hal/devices/grid.ts) ----

/** Writes the block at `request + 8` to `address` (stored at `request`): `request` holds u64 address | GRID_BLOCK_BYTES of block. */
export function storageWrite(request: usize): i32 {
  return storage(<u32>STORAGE_WRITE, request, 8 + <u32>GRID_BLOCK_BYTES);
}

/** Every write before it is durable before any request after it is performed. */
export function storageSync(): i32 {
  return storage(<u32>STORAGE_SYNC, 0, 0);
}

/**
 * Asks for `count` blocks (u64 addresses at `addresses`). When the message
 * being handled returns, each block arrives as a KIND_BLOCK message, in this
 * order, and then the message is delivered again.
 */
export function storageRead(addresses: usize, count: u32): i32 {
  return storage(<u32>STORAGE_READ, addresses, count << 3);
}

// Event types a service may emit (hal/abi.ts EVT_*) and their item sizes.
export const EVENT_TRANSFER: u32 = 1;
export const EVENT_TRANSFER_BYTES: u32 = HAL_EVENT_TRANSFER_BYTES;

export const EVENT_PAYMENT: u32 = EVT_PAYMENT;
export const EVENT_PAYMENT_BYTES: u32 = HAL_EVENT_PAYMENT_BYTES;

export const EVENT_ALERT: u32 = EVT_ALERT;
export const EVENT_ALERT_BYTES: u32 = HAL_EVENT_ALERT_BYTES;

// Emits `count` committed transfer records (128 bytes each, the ledger's
// layout) as one event record (needs "emit"); the kernel numbers them.
export function emitTransfers(ptr: usize, count: u32): i32 {
  return emit(EVENT_TRANSFER, count, ptr, count * EVENT_TRANSFER_BYTES);
}

// ---- typed helpers ----

const TEXT_BYTES_MAX: i32 = 256;
const textBuffer: usize = memory.data(TEXT_BYTES_MAX);

// Copies an ASCII string into the static text buffer; returns its length
// (cut at TEXT_BYTES_MAX). Non-ASCII characters become '?'.
function asciiText(text: string): u32 {
  const n = text.length < TEXT_BYTES_MAX ? text.length : TEXT_BYTES_MAX;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    store<u8>(textBuffer + <usize>i, <u8>(c < 128 ? c : 63));
  }
  assert(n >= 0 && n <= TEXT_BYTES_MAX, "text longer than its buffer");
  return <u32>n;
}

// Logs an ASCII literal without allocating (needs capability "log").
export function logText(text: string): i32 {
  return log(textBuffer, asciiText(text));
}

// Replies with an ASCII error message (status 1: the kernel frames it as a
// service error for clients).
export function replyError(token: u32, text: string): i32 {
  return reply(token, STATUS_ERROR, textBuffer, asciiText(text));
}

// Replies with `len` bytes at `ptr` and status OK.
export function replyOk(token: u32, ptr: usize, len: u32): i32 {
  return reply(token, STATUS_OK, ptr, len);
}

// Logical time of the message being handled in ns (needs "time"); 0 when denied.
export function nowNs(): u64 {
  const t = time();
  return t < 0 ? 0 : <u64>t;
}

// Index of the service called `name` (ASCII), or a negative E_*.
export function serviceIndex(name: string): i32 {
  return lookup(textBuffer, asciiText(name));
}

// Sets a timer firing after delayNs with `tag` in its KIND_TIMER message (needs "timer").
export function after(delayNs: u64, tag: u64): i32 {
  return timer(<i64>delayNs, <i64>tag);
}
