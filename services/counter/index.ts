// services/counter: a deterministic state machine that sums the values sent
// to it. Enough to test scheduling, durability and replay before the ledger.
//
// Request (16 bytes): u8 op | u8[7] zero | u64 value (little-endian)
//   op 1 = add value, op 2 = read
// Reply (24 bytes): u64 total | u64 adds | u64 logical time of the last add
// The sum is checked: an add that would pass 2^64-1 is refused with an error
// and changes nothing.

import { reply, replyError, time, logText, KIND_REQUEST } from "../sdk/qenex";

const OP_ADD: u8 = 1;
const OP_READ: u8 = 2;
const INBOX_BYTES: u32 = 4096;
const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);
const out: usize = memory.data(24, 8);

let total: u64 = 0;
let adds: u64 = 0;
let lastAddNs: u64 = 0;

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }
export function qx_init(len: u32): void {
  logText("counter ready");
}

function answer(token: u32): void {
  store<u64>(out, total);
  store<u64>(out + 8, adds);
  store<u64>(out + 16, lastAddNs);
  reply(token, 0, out, 24);
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  if (kind != KIND_REQUEST) return;
  if (len != 16) { replyError(token, "counter: request must be 16 bytes"); return; }
  const op = load<u8>(inbox);
  if (load<u64>(inbox) >> 8 != 0) { replyError(token, "counter: reserved bytes must be zero"); return; }
  if (op == OP_READ) { answer(token); return; }
  if (op != OP_ADD) { replyError(token, "counter: unknown operation"); return; }
  const value = load<u64>(inbox + 8);
  if (total + value < total) { replyError(token, "counter: sum would overflow u64"); return; }
  total += value;
  adds += 1;
  lastAddNs = <u64>time();
  answer(token);
}
