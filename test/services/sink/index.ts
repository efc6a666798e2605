// test/services/sink: a test-only service with the bug the simulator's
// liveness check exists for: it takes every request and never answers, so
// each one holds a client reply token for good (test/sim/liveness.test.ts).

const INBOX_BYTES: u32 = 4096;
const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);
let taken: u32 = 0;

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }
export function qx_init(len: u32): void {}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  taken++; // and no reply
}
