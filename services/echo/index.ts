// services/echo: answers every request with its own bytes. The smallest
// useful service: it exercises the whole path (net → log → durable →
// scheduler → service → reply) with no state of its own.

import { reply, KIND_REQUEST, KIND_MESSAGE } from "../sdk/qenex";

const INBOX_BYTES: u32 = 65536;
const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }
export function qx_init(len: u32): void {}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  if (kind == KIND_REQUEST || kind == KIND_MESSAGE) reply(token, 0, inbox, len);
}
