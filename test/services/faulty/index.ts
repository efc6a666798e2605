// test/services/faulty: a deliberately faulty test service. It keeps a small
// state (in a mutable global and in linear memory) and, on request, traps,
// runs forever, or grows its memory, so test/integration/supervision.test.ts
// and test/unit/fuel.test.ts can check that a fault aborts only its message,
// that the state is restored, and that limits hold.
//
// Request: u8 op | u8[7] zero | u64 argument.
// Reply (32 bytes): u64 total | u64 adds | u64 mixed | u64 spins,
// except op 7: i32 memory.grow result | i32 memory.size after.
//
// | op | effect                                                             |
// |----|--------------------------------------------------------------------|
// |  1 | total += arg, adds += 1                                            |
// |  2 | read                                                               |
// |  3 | total += 1000 in memory, then `unreachable` (the add must roll back)|
// |  4 | adds += 1, then load from an address past the end of memory        |
// |  5 | total += 7, then divide by arg (0 traps)                           |
// |  6 | loop forever, counting iterations in `spins` (fuel stops it)       |
// |  7 | memory.grow(arg pages): the result inside the service              |
// |  8 | mixed ^= 8 random bytes (a syscall result the restore must replay) |
// |  9 | send peer `arg` a request with op = byte 1; hold the client until the|
// |    | peer answers: reply u32 1 (KIND_REPLY) or 5 (KIND_FAILED), u32 sender;|
// |    | a refused send answers at once: u32 0, i32 send result               |
//
// A message from another service (KIND_MESSAGE) is handled like a request
// and answered to the sender with the same reply.

import { reply, random, send, KIND_REQUEST, KIND_MESSAGE, KIND_REPLY, KIND_FAILED } from "../../../services/sdk/qenex";

const INBOX_BYTES: u32 = 256;
const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);
const out: usize = memory.data(32, 8);
const state: usize = memory.data(16, 8); // +0 u64 total (memory), +8 u64 mixed

let adds: u64 = 0; // a mutable global: part of the state the host restores
let spins: u64 = 0;
let waiting: u32 = 0; // client token held by op 9
const forward: usize = memory.data(16, 8);

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }
// A config starting {"trap" makes qx_init trap: a service that fails at boot.
export function qx_init(len: u32): void {
  if (len > 6 && load<u8>(inbox + 2) == 0x74 && load<u8>(inbox + 3) == 0x72) unreachable();
}

// For test/unit/fuel.test.ts: iterations of the last op-6 loop.
export function faulty_spins(): u64 { return spins; }

function answer(token: u32): void {
  store<u64>(out, load<u64>(state));
  store<u64>(out + 8, adds);
  store<u64>(out + 16, load<u64>(state + 8));
  store<u64>(out + 24, spins);
  reply(token, 0, out, 32);
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  if (kind == KIND_REPLY || kind == KIND_FAILED) { peerAnswered(kind, sender); return; }
  if ((kind != KIND_REQUEST && kind != KIND_MESSAGE) || len < 16) return;
  const op = load<u8>(inbox);
  const arg = load<u64>(inbox + 8);
  if (op == 1) { store<u64>(state, load<u64>(state) + arg); adds++; }
  else if (op == 3) { store<u64>(state, load<u64>(state) + 1000); unreachable(); }
  else if (op == 4) { adds++; store<u64>(out, load<u64>(<usize>(memory.size() << 16) + <usize>arg)); }
  else if (op == 5) { store<u64>(state, load<u64>(state) + 7); store<u64>(state, load<u64>(state) / arg); }
  else if (op == 6) { spins = 0; while (true) { spins++; } }
  else if (op == 7) { grow(token, <i32>arg); return; }
  else if (op == 8) { random(out, 8); store<u64>(state + 8, load<u64>(state + 8) ^ load<u64>(out)); }
  else if (op == 9) { sendPeer(token, <u32>arg, load<u8>(inbox + 1)); return; }
  answer(token);
}

function grow(token: u32, pages: i32): void {
  const r = memory.grow(pages);
  store<i32>(out, r);
  store<i32>(out + 4, memory.size());
  reply(token, 0, out, 8);
}

function sendPeer(token: u32, peer: u32, innerOp: u8): void {
  memory.fill(forward, 0, 16);
  store<u8>(forward, innerOp);
  const r = send(peer, forward, 16);
  if (r != 0) {
    store<u32>(out, 0);
    store<i32>(out + 4, r);
    reply(token, 0, out, 8);
    return;
  }
  waiting = token;
}

function peerAnswered(kind: u32, sender: u32): void {
  if (waiting == 0) return;
  store<u32>(out, kind);
  store<u32>(out + 4, sender);
  const token = waiting;
  waiting = 0;
  reply(token, 0, out, 8);
}
