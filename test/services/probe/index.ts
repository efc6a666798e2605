// test/services/probe: a test-only service that makes the system call a
// client asks for and replies with what the kernel returned, so
// test/integration/capabilities.test.ts can check capabilities from outside.
//
// Request: u8 op | u8 arg | u16 zero | op-specific bytes from offset 4.
// Reply:   i32 results (little-endian), then op-specific bytes.
//
// | op | call                                   | reply                                  |
// |----|----------------------------------------|----------------------------------------|
// |  1 | send(arg, bytes 4..)                   | failed: [r]; sent: held until the      |
// |    |                                        | peer's reply, then [0, peer, reply..]  |
// |  2 | time()                                 | i64 result                             |
// |  3 | log(bytes 4..)                         | [r]                                    |
// |  4 | random(16 bytes, zeroed first)         | [r] then the 16 bytes                  |
// |  5 | timer(i64 delay at 8, i64 tag at 16)   | failed: [r]; set: held until it fires, |
// |    |                                        | then [0] and the u64 tag               |
// |  6 | lookup(bytes 4..)                      | [r]                                    |
// |  7 | reply with stale/forged tokens         | [r stale, r other generation,          |
// |    |                                        |  r client token as a service token,    |
// |    |                                        |  r token 0]                            |
// |  8 | counters                               | [requests, messages, replies, timers,  |
// |    |                                        |  last sender, last message length]     |
//
// A message from another service (send) is answered with
// [PEER_MAGIC, sender, length] and the first PEER_ECHO_BYTES of it.
// The probe's own refusals are below any SYS_E_*: -100 unknown op, -101 a
// send or timer of this probe is already waiting, -102 timer request short.

import { send, reply, time, log, random, timer, lookup, KIND_REQUEST, KIND_MESSAGE, KIND_REPLY, KIND_TIMER } from "../../../services/sdk/qenex";

const OP_SEND: u8 = 1;
const OP_TIME: u8 = 2;
const OP_LOG: u8 = 3;
const OP_RANDOM: u8 = 4;
const OP_TIMER: u8 = 5;
const OP_LOOKUP: u8 = 6;
const OP_STALE: u8 = 7;
const OP_STATS: u8 = 8;
const ARGS_OFFSET: u32 = 4;
const RANDOM_BYTES: u32 = 16;
const PEER_MAGIC: u32 = 0x52454550; // "PEER"
const PEER_ECHO_BYTES: u32 = 64;
const SERVICE_TOKEN_BIT: u32 = 0x80000000;
const GENERATION_ONE: u32 = 0x10000;
const E_UNKNOWN_OP: i32 = -100;
const E_BUSY: i32 = -101;
const E_SHORT: i32 = -102;

const INBOX_BYTES: u32 = 4096;
const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);
const out: usize = memory.data(<i32>(INBOX_BYTES + 64), 16);

let requests: u32 = 0;
let messages: u32 = 0;
let replies: u32 = 0;
let timers: u32 = 0;
let lastSender: u32 = 0xffffffff;
let lastMessageLen: u32 = 0;
let lastToken: u32 = 0; // the last client token this probe answered: stale now
let pendingSend: u32 = 0; // client token waiting for a peer's reply
let pendingTimer: u32 = 0; // client token waiting for a timer

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }
export function qx_init(len: u32): void {}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  if (kind == KIND_REQUEST) request(token, len);
  else if (kind == KIND_MESSAGE) message(sender, token, len);
  else if (kind == KIND_REPLY) peerReplied(sender, len);
  else if (kind == KIND_TIMER) timerFired();
}

// Answers a client with `n` i32 results from `out` plus `extra` bytes after them.
function answer(token: u32, n: u32, extra: u32): void {
  reply(token, 0, out, n * 4 + extra);
  lastToken = token;
}

function one(token: u32, result: i32): void {
  store<i32>(out, result);
  answer(token, 1, 0);
}

function request(token: u32, len: u32): void {
  requests++;
  const op = len > 0 ? load<u8>(inbox) : <u8>0;
  const arg = len > 1 ? <u32>load<u8>(inbox + 1) : 0;
  const args = inbox + ARGS_OFFSET;
  const argsLen = len > ARGS_OFFSET ? len - ARGS_OFFSET : 0;
  if (op == OP_SEND) sendTo(token, arg, args, argsLen);
  else if (op == OP_TIME) { store<i64>(out, time()); answer(token, 2, 0); }
  else if (op == OP_LOG) one(token, log(args, argsLen));
  else if (op == OP_RANDOM) randomBytes(token);
  else if (op == OP_TIMER) setTimer(token, len);
  else if (op == OP_LOOKUP) one(token, lookup(args, argsLen));
  else if (op == OP_STALE) staleReplies(token);
  else if (op == OP_STATS) stats(token);
  else one(token, E_UNKNOWN_OP);
}

function sendTo(token: u32, peer: u32, args: usize, argsLen: u32): void {
  if (pendingSend != 0) { one(token, E_BUSY); return; }
  const r = send(peer, args, argsLen);
  if (r != 0) { one(token, r); return; }
  pendingSend = token;
}

// The bytes are zeroed first, so a refused call visibly leaves them zero.
function randomBytes(token: u32): void {
  memory.fill(out + 4, 0, RANDOM_BYTES);
  store<i32>(out, random(out + 4, RANDOM_BYTES));
  answer(token, 1, RANDOM_BYTES);
}

function setTimer(token: u32, len: u32): void {
  if (len < 24) { one(token, E_SHORT); return; }
  if (pendingTimer != 0) { one(token, E_BUSY); return; }
  const r = timer(load<i64>(inbox + 8), load<i64>(inbox + 16));
  if (r != 0) { one(token, r); return; }
  pendingTimer = token;
}

// Replies that must fail, then the real one. Nothing reaches a client from
// the failing ones: each returns SYS_E_INVALID.
function staleReplies(token: u32): void {
  const stale = reply(lastToken, 0, out, 0);
  const otherGeneration = reply(token ^ GENERATION_ONE, 0, out, 0);
  const asService = reply(token | SERVICE_TOKEN_BIT, 0, out, 0);
  const zero = reply(0, 0, out, 0);
  store<i32>(out, stale);
  store<i32>(out + 4, otherGeneration);
  store<i32>(out + 8, asService);
  store<i32>(out + 12, zero);
  answer(token, 4, 0);
}

function stats(token: u32): void {
  store<u32>(out, requests);
  store<u32>(out + 4, messages);
  store<u32>(out + 8, replies);
  store<u32>(out + 12, timers);
  store<u32>(out + 16, lastSender);
  store<u32>(out + 20, lastMessageLen);
  answer(token, 6, 0);
}

// Another service sent us a message: answer it so the sender sees we got it.
function message(sender: u32, token: u32, len: u32): void {
  messages++;
  lastSender = sender;
  lastMessageLen = len;
  const echo = len < PEER_ECHO_BYTES ? len : PEER_ECHO_BYTES;
  store<u32>(out, PEER_MAGIC);
  store<u32>(out + 4, sender);
  store<u32>(out + 8, len);
  memory.copy(out + 12, inbox, echo);
  reply(token, 0, out, 12 + echo);
}

// The peer answered our send: pass its reply on to the waiting client.
function peerReplied(sender: u32, len: u32): void {
  replies++;
  if (pendingSend == 0) return;
  store<i32>(out, 0);
  store<u32>(out + 4, sender);
  memory.copy(out + 8, inbox, len);
  const token = pendingSend;
  pendingSend = 0;
  answer(token, 2, len);
}

function timerFired(): void {
  timers++;
  if (pendingTimer == 0) return;
  store<i32>(out, 0);
  store<u64>(out + 4, load<u64>(inbox));
  const token = pendingTimer;
  pendingTimer = 0;
  answer(token, 1, 8);
}
