// The FIX 4.4 session layer (docs/fix.md "The session rules"): one input at
// a time, in the order of the log, on the logical clock, so a replay makes
// the same decisions and sends the same messages with the same numbers.
// The front end has checked the syntax (framing, the dictionary, CompIDs
// against the configured sessions) and says what it found (the verdict);
// what needs the session's state is decided here:
//   - Logon: HeartBtInt within the bounds, SendingTime accuracy, ResetSeqNumFlag
//     and reset_on_logon, MsgSeqNum too low → Logout, too high → Logon then
//     ResendRequest;
//   - every other message: CompIDs (Reject 9, Logout), SendingTime (Reject 10,
//     Logout), MsgSeqNum too high → ResendRequest (the message is not taken:
//     the resend brings it again), too low without PossDupFlag → Logout, with
//     it → ignored (Reject 1 without OrigSendingTime; Reject 10 and Logout when
//     OrigSendingTime is after SendingTime); then the front end's Reject or
//     BusinessMessageReject; then the message: Heartbeat, TestRequest →
//     Heartbeat, ResendRequest → the kept messages again with gap fills,
//     SequenceReset (reset: any MsgSeqNum; gap fill: in sequence), Logout →
//     Logout and disconnect; application messages to orders.ts;
//   - heartbeats and TestRequests on a timer per session (the logical clock).

import * as P from "../protocol";
import { after } from "../../sdk/qenex";
import { marketSessionEnded } from "./market";
import {
  S_CONN, S_HEARTBEAT, S_LAST_IN, S_LAST_OUT, S_MAX_LATENCY, S_NEXT_IN, S_NEXT_OUT, S_OPTIONS, S_RESEND_END, S_STATE, S_TEST_SENT, S_TESTS,
  S_TIMER, STATE_OFF, STATE_ON, sessionAt, sessionFind, sessionOfConnection, sessionsUsed,
} from "./sessions";
import {
  outBegin, outBytes, outDisconnect, outGapFill, outIdNumber, outResend, outSend, outText, outTextAppend, outTextNumber, storeClear, storedMessage,
} from "./out";

const NS: u64 = 1000000000;
const MT_HEARTBEAT: u8 = 0x30; // 0
const MT_TEST_REQUEST: u8 = 0x31; // 1
const MT_RESEND_REQUEST: u8 = 0x32; // 2
const MT_REJECT: u8 = 0x33; // 3
const MT_SEQUENCE_RESET: u8 = 0x34; // 4
const MT_LOGOUT: u8 = 0x35; // 5
const MT_LOGON: u8 = 0x41; // A
const MT_BUSINESS_REJECT: u8 = 0x6a; // j
const REASON_REQUIRED_TAG_MISSING: u8 = 1;
const REASON_VALUE_INCORRECT: u8 = 5;
const REASON_COMPID: u8 = 9;
const REASON_SENDING_TIME: u8 = 10;
const TAG_NEW_SEQ_NO: u32 = 36;
const TAG_SENDING_TIME: u32 = 52;
const TAG_ORIG_SENDING_TIME: u32 = 122;

/** What became of an input: handled here, or an application message in sequence for orders.ts. */
export const TAKEN: u32 = 0;
export const APPLICATION: u32 = 1;

function offBy(a: u64, b: u64): u64 {
  return a > b ? a - b : b - a;
}

/** The session's end: what it says (a Logout with `text`, when not empty), then the connection closed. */
function endSession(slot: u32, text: string, now: u64): void {
  const s = sessionAt(slot);
  const conn = load<u32>(s + S_CONN);
  assert(conn != 0, "a session logged on");
  if (text.length > 0) {
    outBegin(slot, MT_LOGOUT);
    outText(text);
    outSend(now);
  }
  outDisconnect(slot, conn);
  loggedOut(slot);
}

/** The session's end for a MsgSeqNum too low: a Logout naming both numbers, then the connection closed. */
function endTooLow(slot: u32, expected: u32, seq: u32, now: u64): void {
  const conn = load<u32>(sessionAt(slot) + S_CONN);
  assert(seq < expected && conn != 0, "too low, on a session logged on");
  outBegin(slot, MT_LOGOUT);
  outText("MsgSeqNum too low, expecting ");
  outTextNumber(expected);
  outTextAppend(" but received ");
  outTextNumber(seq);
  outSend(now);
  outDisconnect(slot, conn);
  loggedOut(slot);
}

/** The session has no connection any more; reset_on_disconnect starts its numbers again. */
function loggedOut(slot: u32): void {
  const s = sessionAt(slot);
  assert(slot >= 1, "a session");
  store<u32>(s + S_CONN, 0);
  store<u8>(s + S_STATE, STATE_OFF);
  store<u64>(s + S_TEST_SENT, 0);
  store<u32>(s + S_RESEND_END, 0);
  store<u32>(s + S_TIMER, load<u32>(s + S_TIMER) + 1); // its timer is stale now
  marketSessionEnded(slot);
  if ((load<u8>(s + S_OPTIONS) & <u8>P.LO_RESET_ON_DISCONNECT) != 0) resetNumbers(slot);
}

function resetNumbers(slot: u32): void {
  const s = sessionAt(slot);
  assert(slot >= 1, "a session");
  store<u32>(s + S_NEXT_IN, 1);
  store<u32>(s + S_NEXT_OUT, 1);
  storeClear(slot);
}

/** A Reject (3) of the input `rec`. */
function reject(slot: u32, rec: usize, reason: u8, refTag: u32, text: string, now: u64): void {
  assert(reason <= 99, "a SessionRejectReason");
  const o = outBegin(slot, MT_REJECT);
  store<u32>(o + P.OUT_A, load<u32>(rec + P.IN_SEQ));
  store<u32>(o + P.OUT_B, refTag);
  store<u8>(o + P.OUT_C, reason);
  store<u8>(o + P.OUT_ID, load<u8>(rec + P.IN_MSG_TYPE));
  store<u8>(o + P.OUT_ID_LENGTH, 1);
  const n = <u32>load<u8>(rec + P.IN_TEXT_LENGTH);
  if (n > 0) outBytes(P.OUT_TEXT, P.OUT_TEXT_LENGTH, rec + P.IN_TEXT, n, P.OUT_TEXT_MAX);
  else if (text.length > 0) outText(text);
  outSend(now);
}

function businessReject(slot: u32, rec: usize, reason: u8, now: u64): void {
  assert(reason <= 99, "a BusinessRejectReason");
  const o = outBegin(slot, MT_BUSINESS_REJECT);
  store<u32>(o + P.OUT_A, load<u32>(rec + P.IN_SEQ));
  store<u8>(o + P.OUT_C, reason);
  store<u8>(o + P.OUT_ID, load<u8>(rec + P.IN_MSG_TYPE));
  store<u8>(o + P.OUT_ID_LENGTH, 1);
  const n = <u32>load<u8>(rec + P.IN_TEXT_LENGTH);
  if (n > 0) outBytes(P.OUT_TEXT, P.OUT_TEXT_LENGTH, rec + P.IN_TEXT, n, P.OUT_TEXT_MAX);
  else outText("unsupported message type");
  outSend(now);
}

function resendRequest(slot: u32, seqSeen: u32, now: u64): void {
  const s = sessionAt(slot);
  assert(seqSeen > load<u32>(s + S_NEXT_IN), "a gap");
  // One request covers the gap and everything after it (EndSeqNo 0): none more while it is being answered.
  if (load<u32>(s + S_RESEND_END) != 0) return;
  const o = outBegin(slot, MT_RESEND_REQUEST);
  store<u32>(o + P.OUT_A, load<u32>(s + S_NEXT_IN));
  store<u32>(o + P.OUT_B, 0);
  outSend(now);
  store<u32>(s + S_RESEND_END, seqSeen);
}

/** Answers a ResendRequest: the kept messages from `begin` to `end` (0: all) again, every other number gap-filled. */
function resend(slot: u32, begin: u32, end: u32, now: u64): void {
  const s = sessionAt(slot);
  const last = load<u32>(s + S_NEXT_OUT) - 1;
  const conn = load<u32>(s + S_CONN);
  assert(conn != 0, "a session logged on");
  const to = end == 0 || end > last ? last : end;
  if (begin == 0 || begin > to) return;
  // Only the newest STORE_MESSAGES numbers can be kept: the rest is one gap, walked no further.
  const window = last >= <u32>P.STORE_MESSAGES ? last - <u32>P.STORE_MESSAGES + 1 : 1;
  let gap: u32 = begin;
  for (let seq = max(begin, window); seq <= to; seq++) {
    const m = storedMessage(slot, seq);
    if (m == 0) continue;
    if (gap < seq) outGapFill(slot, gap, seq, now, conn);
    outResend(m, now, conn);
    gap = seq + 1;
  }
  if (gap <= to) outGapFill(slot, gap, to + 1, now, conn);
  store<u64>(s + S_LAST_OUT, now);
}

/** The next time the session's timer must look (a heartbeat due, or a TestRequest, or its answer overdue). */
function armTimer(slot: u32, now: u64): void {
  const s = sessionAt(slot);
  const hb = <u64>load<u32>(s + S_HEARTBEAT) * NS;
  assert(load<u8>(s + S_STATE) == STATE_ON, "a session logged on");
  if (hb == 0) return; // HeartBtInt 0: no heartbeats
  const test = load<u64>(s + S_TEST_SENT);
  const dueOut = load<u64>(s + S_LAST_OUT) + hb;
  const dueIn = test == 0 ? load<u64>(s + S_LAST_IN) + hb + hb / 5 : test + hb;
  const due = min(dueOut, dueIn);
  const gen = load<u32>(s + S_TIMER) + 1;
  store<u32>(s + S_TIMER, gen);
  after(due > now ? due - now : 1000000, (<u64>gen << 16) | <u64>slot);
}

/** A session's timer fired (tag: generation << 16 | slot). */
export function sessionTimer(tag: u64, now: u64): void {
  const slot = <u32>(tag & 0xffff);
  if (slot == 0 || slot > sessionsUsed()) return;
  const s = sessionAt(slot);
  if (load<u8>(s + S_STATE) != STATE_ON || <u64>load<u32>(s + S_TIMER) != tag >> 16) return; // stale
  const hb = <u64>load<u32>(s + S_HEARTBEAT) * NS;
  assert(hb > 0, "a timer only with heartbeats");
  const test = load<u64>(s + S_TEST_SENT);
  if (test != 0 && now >= test + hb) { endSession(slot, "no answer to a TestRequest: heartbeat timeout", now); return; }
  if (test == 0 && now >= load<u64>(s + S_LAST_IN) + hb + hb / 5) {
    const n = load<u32>(s + S_TESTS) + 1;
    store<u32>(s + S_TESTS, n);
    outBegin(slot, MT_TEST_REQUEST);
    outIdNumber(<u64>n); // TestReqID: the session's count of them
    outSend(now);
    store<u64>(s + S_TEST_SENT, now);
  } else if (now >= load<u64>(s + S_LAST_OUT) + hb) {
    outBegin(slot, MT_HEARTBEAT);
    outSend(now);
  }
  armTimer(slot, now);
}

/** The connection ended: its session (if it had one) is logged out. */
export function disconnectIn(rec: usize): void {
  const conn = load<u32>(rec + P.IN_CONNECTION);
  assert(conn != 0, "a connection");
  const slot = sessionOfConnection(conn);
  if (slot != 0) loggedOut(slot);
}

/** Whether the input's SendingTime is within the session's max_latency of the logical clock. */
function timely(s: usize, rec: usize, now: u64): bool {
  const latency = <u64>load<u32>(s + S_MAX_LATENCY) * NS;
  assert(rec != 0, "an input");
  return latency == 0 || offBy(load<u64>(rec + P.IN_SENDING), now) <= latency;
}

/** A Logon (A): the session found by its CompIDs, checked, and answered with a Logon (or a Logout). */
export function logonIn(rec: usize, now: u64): void {
  const conn = load<u32>(rec + P.IN_CONNECTION);
  const ourLen = <u32>load<u8>(rec + P.IN_ID_LENGTH);
  const theirLen = <u32>load<u8>(rec + P.IN_ID2_LENGTH);
  assert(conn != 0, "a connection");
  const slot = ourLen == 0 || theirLen == 0 || ourLen > <u32>P.ID_MAX || theirLen > <u32>P.ID_MAX ? 0
    : sessionFind(rec + P.IN_ID, ourLen, rec + P.IN_ID2, theirLen);
  if (slot == 0) { outDisconnectBare(conn); return; } // no CompIDs, or no room for another session: nothing to answer with
  const s = sessionAt(slot);
  const old = load<u32>(s + S_CONN);
  if (old != 0 && old != conn) loggedOut(slot); // a connection from before a restart, or one the host has lost
  const body = rec + P.IN_BODY;
  const options = load<u8>(body + P.LOGON_FLAGS);
  store<u8>(s + S_OPTIONS, options);
  store<u32>(s + S_MAX_LATENCY, load<u32>(body + P.LOGON_MAX_LATENCY));
  const reset = (load<u16>(rec + P.IN_FLAGS) & <u16>P.IF_RESET_SEQ) != 0;
  if (reset || (options & <u8>P.LO_RESET_ON_LOGON) != 0) resetNumbers(slot);
  store<u32>(s + S_CONN, conn);
  store<u8>(s + S_STATE, STATE_ON);
  store<u64>(s + S_LAST_IN, now);
  store<u64>(s + S_TEST_SENT, 0);
  store<u32>(s + S_RESEND_END, 0);
  const seq = load<u32>(rec + P.IN_SEQ);
  const expected = load<u32>(s + S_NEXT_IN);
  const refusal = logonRefusal(s, rec, now);
  if (refusal.length > 0) { endSession(slot, refusal, now); return; }
  if (seq < expected) { endTooLow(slot, expected, seq, now); return; }
  if (!timely(s, rec, now)) { rejectAndEnd(slot, rec, REASON_SENDING_TIME, TAG_SENDING_TIME, "SendingTime accuracy problem", now); return; }
  store<u32>(s + S_HEARTBEAT, load<u32>(rec + P.IN_A));
  const o = outBegin(slot, MT_LOGON);
  store<u32>(o + P.OUT_A, load<u32>(rec + P.IN_A));
  if (reset) store<u16>(o + P.OUT_FLAGS, <u16>P.OF_RESET_SEQ);
  outBytes(P.OUT_ID, P.OUT_ID_LENGTH, rec + P.IN_ID, ourLen, P.ID_MAX);
  outBytes(P.OUT_ID2, P.OUT_ID2_LENGTH, rec + P.IN_ID2, theirLen, P.ID_MAX);
  outSend(now);
  if (seq == expected) store<u32>(s + S_NEXT_IN, seq + 1);
  else resendRequest(slot, seq, now);
  armTimer(slot, now);
}

/** Why a Logon is refused (its Logout's text), or "". */
function logonRefusal(s: usize, rec: usize, now: u64): string {
  const verdict = load<u8>(rec + P.IN_VERDICT);
  const body = rec + P.IN_BODY;
  const hb = load<u32>(rec + P.IN_A);
  const seq = load<u32>(rec + P.IN_SEQ);
  assert(rec != 0, "an input");
  if (verdict == <u8>P.V_BEGIN_STRING) return "incorrect BeginString";
  if (verdict == <u8>P.V_COMPID) return "CompID problem";
  if (verdict != <u8>P.V_OK) return "invalid Logon message";
  if (seq == 0) return "Logon without a MsgSeqNum";
  if (hb < load<u32>(body + P.LOGON_HB_MIN) || hb > load<u32>(body + P.LOGON_HB_MAX)) return "HeartBtInt out of range";
  return ""; // MsgSeqNum too low: endTooLow; SendingTime: Reject 10, then Logout
}

/** Close a connection that has no session to speak for. */
function outDisconnectBare(conn: u32): void {
  assert(conn != 0, "a connection");
  outDisconnect(0, conn);
}

/**
 * Any message but a Logon, of a session logged on: the session's checks in
 * order, then the message. APPLICATION when it is an application message in
 * sequence that orders.ts takes; TAKEN otherwise.
 */
export function messageIn(rec: usize, now: u64): u32 {
  const slot = <u32>load<u16>(rec + P.IN_SLOT);
  const conn = load<u32>(rec + P.IN_CONNECTION);
  assert(conn != 0, "a connection");
  if (slot == 0 || slot > sessionsUsed() || load<u32>(sessionAt(slot) + S_CONN) != conn) return TAKEN; // not (or no longer) this connection's
  const s = sessionAt(slot);
  store<u64>(s + S_LAST_IN, now);
  store<u64>(s + S_TEST_SENT, 0);
  const verdict = load<u8>(rec + P.IN_VERDICT);
  const msgType = load<u8>(rec + P.IN_MSG_TYPE);
  const seq = load<u32>(rec + P.IN_SEQ);
  const flags = load<u16>(rec + P.IN_FLAGS);
  if (verdict == <u8>P.V_BEGIN_STRING) { endSession(slot, "incorrect BeginString", now); return TAKEN; }
  if (seq == 0) { endSession(slot, "MsgSeqNum missing or unreadable", now); return TAKEN; }
  if (verdict == <u8>P.V_COMPID) { rejectAndEnd(slot, rec, REASON_COMPID, 0, "CompID problem", now); return TAKEN; }
  if (!timely(s, rec, now)) { rejectAndEnd(slot, rec, REASON_SENDING_TIME, TAG_SENDING_TIME, "SendingTime accuracy problem", now); return TAKEN; }
  // Reset mode takes any MsgSeqNum (after the CompID and SendingTime checks, as any message).
  if (msgType == MT_SEQUENCE_RESET && (flags & <u16>P.IF_GAP_FILL) == 0) { sequenceReset(slot, rec, now); return TAKEN; }
  const expected = load<u32>(s + S_NEXT_IN);
  if (seq > expected) {
    if (msgType == MT_RESEND_REQUEST && verdict == <u8>P.V_OK) resend(slot, load<u32>(rec + P.IN_A), load<u32>(rec + P.IN_B), now);
    if (msgType == MT_LOGOUT) { endSession(slot, "logout acknowledged", now); return TAKEN; }
    resendRequest(slot, seq, now);
    return TAKEN;
  }
  if (seq < expected) { tooLow(slot, rec, expected, now); return TAKEN; }
  if (!possDupRight(slot, rec, now)) return TAKEN;
  store<u32>(s + S_NEXT_IN, seq + 1);
  if (load<u32>(s + S_RESEND_END) != 0 && seq >= load<u32>(s + S_RESEND_END)) store<u32>(s + S_RESEND_END, 0);
  if (verdict == <u8>P.V_REJECT) { reject(slot, rec, load<u8>(rec + P.IN_REASON), load<u32>(rec + P.IN_A), "", now); return TAKEN; }
  if (verdict == <u8>P.V_BUSINESS) { businessReject(slot, rec, load<u8>(rec + P.IN_REASON), now); return TAKEN; }
  return adminMessage(slot, rec, msgType, now);
}

/** A message refused with a Reject still takes its number when it is the next expected. */
function takeIfNext(s: usize, rec: usize): void {
  const next = load<u32>(s + S_NEXT_IN);
  assert(next >= 1, "a session's next number");
  if (load<u32>(rec + P.IN_SEQ) == next) store<u32>(s + S_NEXT_IN, next + 1);
}

function rejectAndEnd(slot: u32, rec: usize, reason: u8, tag: u32, text: string, now: u64): void {
  const s = sessionAt(slot);
  assert(reason != 0, "a reason");
  takeIfNext(s, rec);
  reject(slot, rec, reason, tag, text, now);
  endSession(slot, text, now);
}

/** MsgSeqNum below the next expected: a possible duplicate is dropped (after its checks), anything else ends the session. */
function tooLow(slot: u32, rec: usize, expected: u32, now: u64): void {
  const seq = load<u32>(rec + P.IN_SEQ);
  assert(seq < expected, "too low");
  if ((load<u16>(rec + P.IN_FLAGS) & <u16>P.IF_POSS_DUP) == 0) {
    endTooLow(slot, expected, seq, now);
    return;
  }
  possDupRight(slot, rec, now); // a duplicate already taken: its checks, nothing else
}

/** PossDupFlag=Y needs OrigSendingTime (Reject 1), no later than SendingTime (Reject 10, Logout). */
function possDupRight(slot: u32, rec: usize, now: u64): bool {
  const flags = load<u16>(rec + P.IN_FLAGS);
  assert(slot >= 1, "a session");
  if ((flags & <u16>P.IF_POSS_DUP) == 0 || load<u8>(rec + P.IN_MSG_TYPE) == MT_SEQUENCE_RESET) return true;
  if ((flags & <u16>P.IF_ORIG_SENDING) == 0) {
    takeIfNext(sessionAt(slot), rec);
    reject(slot, rec, REASON_REQUIRED_TAG_MISSING, TAG_ORIG_SENDING_TIME, "PossDupFlag=Y without OrigSendingTime", now);
    return false;
  }
  if (load<u64>(rec + P.IN_ORIG_SENDING) > load<u64>(rec + P.IN_SENDING)) {
    rejectAndEnd(slot, rec, REASON_SENDING_TIME, TAG_ORIG_SENDING_TIME, "OrigSendingTime after SendingTime", now);
    return false;
  }
  return true;
}

/** SequenceReset in reset mode: MsgSeqNum ignored, NewSeqNo the next expected; never lower (Reject 5). */
function sequenceReset(slot: u32, rec: usize, now: u64): void {
  const s = sessionAt(slot);
  const next = load<u32>(rec + P.IN_A);
  const expected = load<u32>(s + S_NEXT_IN);
  assert(slot >= 1, "a session");
  if ((load<u16>(rec + P.IN_FLAGS) & <u16>P.IF_NEW_SEQ) == 0 || load<u8>(rec + P.IN_VERDICT) != <u8>P.V_OK) {
    reject(slot, rec, load<u8>(rec + P.IN_VERDICT) == <u8>P.V_REJECT ? load<u8>(rec + P.IN_REASON) : REASON_REQUIRED_TAG_MISSING,
      load<u8>(rec + P.IN_VERDICT) == <u8>P.V_REJECT ? load<u32>(rec + P.IN_A) : TAG_NEW_SEQ_NO, "SequenceReset without a valid NewSeqNo", now);
    return;
  }
  if (next < expected) { reject(slot, rec, REASON_VALUE_INCORRECT, TAG_NEW_SEQ_NO, "NewSeqNo lower than the next expected", now); return; }
  store<u32>(s + S_NEXT_IN, next);
  if (load<u32>(s + S_RESEND_END) != 0 && next > load<u32>(s + S_RESEND_END)) store<u32>(s + S_RESEND_END, 0);
}

/** A message in sequence that passed every check. */
function adminMessage(slot: u32, rec: usize, msgType: u8, now: u64): u32 {
  const s = sessionAt(slot);
  assert(msgType != MT_LOGON, "a Logon is logonIn's");
  if (msgType == MT_HEARTBEAT || msgType == MT_REJECT) return TAKEN;
  if (msgType == MT_TEST_REQUEST) {
    outBegin(slot, MT_HEARTBEAT);
    outBytes(P.OUT_ID, P.OUT_ID_LENGTH, rec + P.IN_ID, <u32>load<u8>(rec + P.IN_ID_LENGTH), P.ID_MAX);
    outSend(now);
    return TAKEN;
  }
  if (msgType == MT_RESEND_REQUEST) { resend(slot, load<u32>(rec + P.IN_A), load<u32>(rec + P.IN_B), now); return TAKEN; }
  if (msgType == MT_SEQUENCE_RESET) { gapFill(slot, rec, now); return TAKEN; }
  if (msgType == MT_LOGOUT) {
    const resetAfter = (load<u8>(s + S_OPTIONS) & <u8>P.LO_RESET_ON_LOGOUT) != 0;
    endSession(slot, "logout acknowledged", now);
    if (resetAfter) resetNumbers(slot);
    return TAKEN;
  }
  return APPLICATION;
}

/** SequenceReset-GapFill in sequence: NewSeqNo the next expected, never back (Reject 5). */
function gapFill(slot: u32, rec: usize, now: u64): void {
  const s = sessionAt(slot);
  const next = load<u32>(rec + P.IN_A);
  assert(load<u32>(s + S_NEXT_IN) == load<u32>(rec + P.IN_SEQ) + 1, "taken in sequence");
  if ((load<u16>(rec + P.IN_FLAGS) & <u16>P.IF_NEW_SEQ) == 0 || next <= load<u32>(rec + P.IN_SEQ)) {
    reject(slot, rec, REASON_VALUE_INCORRECT, TAG_NEW_SEQ_NO, "GapFill NewSeqNo not after its MsgSeqNum", now);
    return;
  }
  store<u32>(s + S_NEXT_IN, next);
  if (load<u32>(s + S_RESEND_END) != 0 && next > load<u32>(s + S_RESEND_END)) store<u32>(s + S_RESEND_END, 0);
}

/**
 * Whether messageIn would take `rec` as an application message without a
 * word of its own (its session's, in sequence, no PossDupFlag, on time, valid):
 * such an order may wait in the gathered request; anything else waits for
 * the gathered orders' reports first, so a session's answers keep its order.
 */
export function inSequence(rec: usize, now: u64): bool {
  const slot = <u32>load<u16>(rec + P.IN_SLOT);
  const conn = load<u32>(rec + P.IN_CONNECTION);
  assert(rec != 0, "an input");
  if (slot == 0 || slot > sessionsUsed()) return false;
  const s = sessionAt(slot);
  return load<u32>(s + S_CONN) == conn && load<u8>(rec + P.IN_VERDICT) == <u8>P.V_OK && load<u32>(rec + P.IN_SEQ) == load<u32>(s + S_NEXT_IN)
    && (load<u16>(rec + P.IN_FLAGS) & <u16>P.IF_POSS_DUP) == 0 && timely(s, rec, now);
}
