// test/services/tally/state.ts: the state and handler shared by every
// version of the test-only "tally" service (test/integration/live-load.test.ts).
// Versions differ only in code (VERSION in the reply, qx_migrate), so they
// have the same memory layout, as a live upgrade by memory hand-off expects.
// The state is in linear memory, not in wasm globals: the optimiser keeps or
// drops a global depending on the code around it, so versions need not have
// the same globals (the host then hands over memory only).
//
// Request: u8 op (1 = add one, 2 = read, 3 = reset). Reply (16 bytes): u64 count |
// u32 version that answered | u32 version it was migrated from (0: never).

import { reply, log, KIND_REQUEST, KIND_INIT } from "../../../services/sdk/qenex";

const INBOX_BYTES: u32 = 4096;
export const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);
const out: usize = memory.data(16, 16);
// State: u64 count | u32 migrated from | u32 config bytes.
const state: usize = memory.data(16, 16);
export function setMigratedFrom(v: u32): void { store<u32>(state + 8, v); }

export function inboxAddr(): usize { return inbox; }
export function inboxBytes(): u32 { return INBOX_BYTES; }

export function init(len: u32): void {
  store<u32>(state + 12, len);
  const text = memory.data<u8>([0x74, 0x61, 0x6c, 0x6c, 0x79, 0x20, 0x75, 0x70]); // "tally up"
  log(text, 8);
}

export function handle(version: u32, kind: u32, token: u32, len: u32): void {
  if (kind != KIND_REQUEST) return;
  const op = len > 0 ? load<u8>(inbox) : 0;
  if (op == 1) store<u64>(state, load<u64>(state) + 1);
  if (op == 3) { store<u64>(state, 0); store<u32>(state + 8, 0); }
  store<u64>(out, load<u64>(state));
  store<u32>(out + 8, version);
  store<u32>(out + 12, load<u32>(state + 8));
  reply(token, op >= 1 && op <= 3 ? 0 : 1, out, 16);
}
