// services/sdk/qenex.ts: the system calls a QENEX service may import, and
// the exports every service provides. The kernel checks each call against the
// service's manifest capabilities (kernel/syscalls.ts holds the ABI table).
//
// A service module exports:
//   memory
//   qx_inbox(): usize        address of its inbox buffer
//   qx_inbox_bytes(): u32    the inbox size (the kernel never copies more)
//   qx_init(len: u32)        once at boot; the inbox holds the service's config JSON
//   qx_handle(kind, sender, token, len)  one message, in the inbox

// Result codes (hal/abi.ts SYS_*), repeated here as the service's own API.
export const OK: i32 = 0;
export const E_DENIED: i32 = -1;
export const E_INVALID: i32 = -2;
export const E_FULL: i32 = -3;
export const E_TOO_LARGE: i32 = -4;

export const KIND_INIT: u32 = 0;
export const KIND_REQUEST: u32 = 1;
export const KIND_MESSAGE: u32 = 2;
export const KIND_REPLY: u32 = 3;
export const KIND_TIMER: u32 = 4;

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

// Logs an ASCII literal without allocating (copies into a static buffer).
const logBuffer: usize = memory.data(256);
export function logText(text: string): i32 {
  const n = text.length < 256 ? text.length : 256;
  for (let i = 0; i < n; i++) store<u8>(logBuffer + <usize>i, <u8>text.charCodeAt(i));
  return log(logBuffer, <u32>n);
}

// Replies with an ASCII error message (status 1: the kernel frames it as a
// service error for clients).
export function replyError(token: u32, text: string): i32 {
  const n = text.length < 256 ? text.length : 256;
  for (let i = 0; i < n; i++) store<u8>(logBuffer + <usize>i, <u8>text.charCodeAt(i));
  return reply(token, 1, logBuffer, <u32>n);
}
