// The sessions: one record per CompID pair that ever logged on, found by
// the pair (slots 1..sessionsMax, given out in the order of first logon, so
// a replay gives the same slots). A record holds what the session protocol
// keeps across connections and restarts: the next MsgSeqNum expected and
// the next one to send; and, while logged on, the connection, the
// heartbeat interval and the clock of the last message each way.

import * as P from "../protocol";
import { sessionsMax } from "./config";

export const SESSION_BYTES: u32 = 192;
export const S_NEXT_IN: u32 = 0;
export const S_NEXT_OUT: u32 = 4;
export const S_CONN: u32 = 8; // 0: not logged on
export const S_STATE: u32 = 12;
export const S_OPTIONS: u32 = 13; // the Logon's LO_* flags
export const S_OUR_LENGTH: u32 = 14;
export const S_THEIR_LENGTH: u32 = 15;
export const S_HEARTBEAT: u32 = 16; // HeartBtInt, s
export const S_MAX_LATENCY: u32 = 20; // s; 0: SendingTime not checked
export const S_LAST_IN: u32 = 24;
export const S_LAST_OUT: u32 = 32;
export const S_TEST_SENT: u32 = 40; // when our TestRequest went out (0: none outstanding)
export const S_RESEND_END: u32 = 48; // the MsgSeqNum that made us ask for a resend (0: none asked)
export const S_TIMER: u32 = 52; // generation of the session's timer: a timer of another generation is stale
export const S_TESTS: u32 = 56; // TestRequests sent (their TestReqIDs)
export const S_OUR: u32 = 64;
export const S_THEIR: u32 = 104;
export const STATE_OFF: u8 = 0;
export const STATE_ON: u8 = 1;

let table: usize = 0;
let used: u32 = 0;

export function sessionsInit(): void {
  assert(table == 0, "sessionsInit: once");
  assert(<u32>S_THEIR + <u32>P.ID_MAX <= SESSION_BYTES, "a session record holds both CompIDs");
  table = heap.alloc(<usize>sessionsMax * SESSION_BYTES);
  memory.fill(table, 0, <usize>sessionsMax * SESSION_BYTES);
}

export function sessionAt(slot: u32): usize {
  assert(slot >= 1 && slot <= used, "a session slot in use");
  return table + <usize>(slot - 1) * SESSION_BYTES;
}

export function sessionsUsed(): u32 {
  assert(used <= sessionsMax, "within the table");
  return used;
}

function same(a: usize, b: usize, n: u32): bool {
  assert(n <= <u32>P.ID_MAX, "an id");
  for (let i: u32 = 0; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

/**
 * The slot of the session (our CompID, their CompID), given out now if it
 * is new; 0 when the table is full.
 */
export function sessionFind(our: usize, ourLen: u32, their: usize, theirLen: u32): u32 {
  assert(ourLen >= 1 && ourLen <= <u32>P.ID_MAX && theirLen >= 1 && theirLen <= <u32>P.ID_MAX, "CompIDs the front end read");
  for (let slot: u32 = 1; slot <= used; slot++) {
    const s = sessionAt(slot);
    if (<u32>load<u8>(s + S_OUR_LENGTH) == ourLen && <u32>load<u8>(s + S_THEIR_LENGTH) == theirLen
        && same(s + S_OUR, our, ourLen) && same(s + S_THEIR, their, theirLen)) return slot;
  }
  if (used == sessionsMax) return 0;
  used++;
  const s = sessionAt(used);
  store<u32>(s + S_NEXT_IN, 1);
  store<u32>(s + S_NEXT_OUT, 1);
  store<u8>(s + S_OUR_LENGTH, <u8>ourLen);
  store<u8>(s + S_THEIR_LENGTH, <u8>theirLen);
  memory.copy(s + S_OUR, our, ourLen);
  memory.copy(s + S_THEIR, their, theirLen);
  return used;
}

/** The slot logged on with `connection`, or 0. */
export function sessionOfConnection(connection: u32): u32 {
  assert(connection != 0, "a connection");
  for (let slot: u32 = 1; slot <= used; slot++) if (load<u32>(sessionAt(slot) + S_CONN) == connection) return slot;
  return 0;
}
