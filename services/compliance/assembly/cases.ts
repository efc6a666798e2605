// Alerts and their cases, and the decisions kept for reading back.
//
// An alert is raised by a check whose rules fired (check.ts) and is its own
// case (protocol.ts "alerts and their cases"): OPEN → ASSIGNED → ESCALATED
// → CLOSED, assign and escalate in any order before the close, the close
// final. alerts_max alerts (config.ts) are kept, every one: a check that
// would raise an alert when the table is full is refused whole beforehand
// (check.ts), so no decision ever lacks its alert.
//
// Each alert raised and each change of its case is an event (events.ts).
//
// Decisions go into a ring of decisions_max: the newest are read back
// (decisions_list) by sequence number; the log holds every one and replays
// them. Both lists page by id or sequence number with a filter.

import * as P from "../protocol";
import { nowNs } from "../../sdk/qenex";
import { alertsMax, decisionsMax } from "./config";
import { refuse, replyRecords, replySend } from "./reply";
import { zeros } from "./record";
import { alertEmit, alertEventsFlush } from "./events";

let alerts: usize = 0;
let alertCount: u32 = 0;
let decisions: usize = 0;
let decisionCount: u64 = 0; // decisions ever made: the last one's sequence number

export function casesInit(): void {
  assert(alerts == 0 && alertsMax > 0 && decisionsMax > 0, "casesInit: once, after the config");
  alerts = heap.alloc(<usize>alertsMax * P.ALERT_BYTES);
  decisions = heap.alloc(<usize>decisionsMax * P.DECISION_BYTES);
}

/** Alerts that can still be raised. */
export function alertsFree(): u32 {
  assert(alertCount <= alertsMax, "alerts within the table");
  return alertsMax - alertCount;
}

export function alertAt(id: u32): usize {
  assert(id >= 1 && id <= alertCount, "an alert raised");
  return alerts + <usize>(id - 1) * P.ALERT_BYTES;
}

/** Raises the alert of decision `d` (its alert id is written into it); the alert. */
export function alertRaise(d: usize): usize {
  assert(alertCount < alertsMax && (load<u32>(d + P.DEC_RULES) & ~P.RULES_LIMITS) != 0, "room for the alert of a decision whose rules (not only limits) fired");
  alertCount++;
  const a = alertAt(alertCount);
  memory.fill(a, 0, P.ALERT_BYTES);
  store<u32>(a + P.ALERT_ID, alertCount);
  store<u32>(a + P.ALERT_RULES, load<u32>(d + P.DEC_RULES));
  store<u64>(a + P.ALERT_PAYMENT, load<u64>(d + P.DEC_PAYMENT));
  store<u8>(a + P.ALERT_STATE, <u8>P.CASE_OPEN);
  store<u8>(a + P.ALERT_ACTION, load<u8>(d + P.DEC_ACTION));
  store<u32>(a + P.ALERT_LEDGER, load<u32>(d + P.DEC_LEDGER));
  store<u64>(a + P.ALERT_RAISED, load<u64>(d + P.DEC_TIME));
  store<u64>(a + P.ALERT_UPDATED, load<u64>(d + P.DEC_TIME));
  memory.copy(a + P.ALERT_AMOUNT, d + P.DEC_AMOUNT, 16);
  memory.copy(a + P.ALERT_DEBIT, d + P.DEC_DEBIT, 16);
  store<u32>(a + P.ALERT_FRAUD_SCORE, load<u32>(d + P.DEC_FRAUD_SCORE));
  store<u32>(a + P.ALERT_SANCTIONS_SCORE, load<u32>(d + P.DEC_SANCTIONS_SCORE));
  store<u64>(a + P.ALERT_DECISION, load<u64>(d + P.DEC_SEQUENCE));
  memory.copy(a + P.ALERT_TRANSFER, d + P.DEC_TRANSFER, 16);
  store<u8>(a + P.ALERT_ORIGIN, load<u8>(d + P.DEC_ORIGIN));
  store<u32>(d + P.DEC_ALERT, alertCount);
  return a;
}

/** The next decision's sequence number. */
export function decisionNext(): u64 {
  assert(decisions != 0, "decisionNext: after casesInit");
  return decisionCount + 1;
}

/** The decision of sequence number `seq` while the ring still holds it, else 0. */
export function decisionBySequence(seq: u64): usize {
  assert(decisions != 0, "decisionBySequence: after casesInit");
  if (seq == 0 || seq > decisionCount || decisionCount - seq >= <u64>decisionsMax) return 0;
  const d = decisions + <usize>((seq - 1) % <u64>decisionsMax) * P.DECISION_BYTES;
  assert(load<u64>(d + P.DEC_SEQUENCE) == seq, "the ring holds the sequence asked for");
  return d;
}

/** Keeps decision `d` (its sequence number decisionNext()) in the ring. */
export function decisionKeep(d: usize): void {
  assert(load<u64>(d + P.DEC_SEQUENCE) == decisionCount + 1, "decisions kept in order");
  memory.copy(decisions + <usize>(decisionCount % <u64>decisionsMax) * P.DECISION_BYTES, d, P.DECISION_BYTES);
  decisionCount++;
}

/** The reason the case update at `c` is malformed, or null (the case's state is checked apart). */
function caseRecordError(c: usize): string | null {
  assert(c != 0, "a case update");
  const action = <u32>load<u8>(c + P.CASE_ACTION);
  if (action < <u32>P.CASE_ACT_ASSIGN || action > <u32>P.CASE_ACT_CLOSE) return "compliance: a case update's action is unknown";
  const len = <u32>load<u8>(c + P.CASE_ASSIGNEE_LENGTH);
  if (len > <u32>P.ASSIGNEE_MAX || (action == <u32>P.CASE_ACT_ASSIGN && len == 0)) return "compliance: an assignee of 1..ASSIGNEE_MAX characters (assign needs one)";
  for (let i: u32 = 0; i < len; i++) {
    const ch = load<u8>(c + P.CASE_ASSIGNEE + i);
    if (ch < 0x20 || ch > 0x7e) return "compliance: an assignee is printable ASCII";
  }
  if (!zeros(c + P.CASE_ASSIGNEE + len, <u32>P.ASSIGNEE_MAX - len)) return "compliance: bytes after the assignee are not zero";
  const closing = action == <u32>P.CASE_ACT_CLOSE;
  const outcome = <u32>load<u8>(c + P.CASE_OUTCOME);
  const reason = load<u32>(c + P.CASE_REASON);
  if (closing && (outcome < <u32>P.OUTCOME_RELEASE || outcome > <u32>P.OUTCOME_NOTED)) return "compliance: a close needs an outcome";
  if (closing && (reason < <u32>P.CLOSE_FALSE_POSITIVE || reason > <u32>P.CLOSE_OTHER)) return "compliance: a close needs a reason";
  if (!closing && (outcome != 0 || reason != 0)) return "compliance: an outcome or reason on an update that does not close";
  if (load<u8>(c + 7) != 0 || load<u32>(c + 12) != 0 || !zeros(c + 48, 16)) return "compliance: a case update's reserved bytes are not zero";
  return null;
}

/** case_update: the checked update at `c` applied to its case, answered with the alert after. */
export function caseUpdate(token: u32, c: usize): void {
  assert(alertCount <= alertsMax, "alerts within the table");
  const why = caseRecordError(c);
  if (why !== null) { refuse(token, P.REFUSED_MALFORMED, why); return; }
  const id = load<u32>(c + P.CASE_ALERT);
  if (id == 0 || id > alertCount) { refuse(token, P.REFUSED_NOT_FOUND, "compliance: no such alert"); return; }
  const a = alertAt(id);
  const action = <u32>load<u8>(c + P.CASE_ACTION);
  const outcome = load<u8>(c + P.CASE_OUTCOME);
  const held = load<u8>(a + P.ALERT_ACTION) == <u8>P.ACTION_HOLD;
  if (load<u8>(a + P.ALERT_STATE) == <u8>P.CASE_CLOSED) {
    // The same close again (a retry) is answered as the case stands; anything else is refused.
    if (action == <u32>P.CASE_ACT_CLOSE && load<u8>(a + P.ALERT_OUTCOME) == outcome) { answerAlert(token, a, 0, P.REPLY_F_REPEATED); return; }
    refuse(token, P.REFUSED_CASE, "compliance: the case is closed");
    return;
  }
  if (action == <u32>P.CASE_ACT_CLOSE && held == (outcome == <u8>P.OUTCOME_NOTED)) {
    refuse(token, P.REFUSED_CASE, held ? "compliance: a held payment's case closes release or reject" : "compliance: a case without a hold closes noted");
    return;
  }
  const len = <u32>load<u8>(c + P.CASE_ASSIGNEE_LENGTH);
  if (len > 0) {
    store<u8>(a + P.ALERT_ASSIGNEE_LENGTH, <u8>len);
    memory.copy(a + P.ALERT_ASSIGNEE, c + P.CASE_ASSIGNEE, P.ASSIGNEE_MAX);
  }
  if (action == <u32>P.CASE_ACT_ASSIGN && load<u8>(a + P.ALERT_STATE) == <u8>P.CASE_OPEN) store<u8>(a + P.ALERT_STATE, <u8>P.CASE_ASSIGNED);
  if (action == <u32>P.CASE_ACT_ESCALATE) store<u8>(a + P.ALERT_STATE, <u8>P.CASE_ESCALATED);
  if (action == <u32>P.CASE_ACT_CLOSE) {
    store<u8>(a + P.ALERT_STATE, <u8>P.CASE_CLOSED);
    store<u8>(a + P.ALERT_OUTCOME, outcome);
    store<u32>(a + P.ALERT_CLOSE_REASON, load<u32>(c + P.CASE_REASON));
  }
  store<u64>(a + P.ALERT_UPDATED, nowNs());
  store<u32>(a + P.ALERT_UPDATES, load<u32>(a + P.ALERT_UPDATES) + 1);
  alertEmit(a); // the case as it is now, on the event stream
  alertEventsFlush();
  answerAlert(token, a, 1, 0);
}

function answerAlert(token: u32, a: usize, changed: u64, flags: u32): void {
  assert(changed <= 1, "changed or not");
  memory.copy(replyRecords(), a, P.ALERT_BYTES);
  replySend(token, 1, changed, <u32>P.ALERT_BYTES, flags);
}

/** The reason the filter at `f` is malformed, or null. */
export function filterError(f: usize, stateMax: u32): string | null {
  assert(stateMax == <u32>P.CASE_CLOSED || stateMax == <u32>P.ACTION_REFUSE, "the states of alerts or of decisions");
  const limit = <u32>load<u16>(f + P.FILTER_LIMIT);
  if (limit < 1 || limit > <u32>P.LIST_MAX) return "compliance: a filter's limit is outside 1..LIST_MAX";
  if (<u32>load<u8>(f + P.FILTER_STATE) > stateMax) return "compliance: a filter's state is unknown";
  if (load<u8>(f + 27) != 0) return "compliance: a filter's reserved byte is not zero";
  const to = load<u64>(f + P.FILTER_TO);
  if (to != 0 && to < load<u64>(f + P.FILTER_FROM)) return "compliance: a filter's to is before its from";
  return null;
}

/** Whether a record of `time`, `state` and `ledger` passes filter `f`. */
function passes(f: usize, time: u64, state: u8, ledger: u32): bool {
  assert(f != 0, "a filter");
  const to = load<u64>(f + P.FILTER_TO);
  if (time < load<u64>(f + P.FILTER_FROM) || (to != 0 && time > to)) return false;
  const want = load<u8>(f + P.FILTER_STATE);
  const l = load<u32>(f + P.FILTER_LEDGER);
  return (want == 0 || want == state) && (l == 0 || l == ledger);
}

/** alerts_list: the alerts after the filter's id that pass it, by id; +8 the last id looked at. */
export function alertsList(token: u32, f: usize): void {
  assert(filterError(f, P.CASE_CLOSED) === null, "a checked filter");
  const limit = <u32>load<u16>(f + P.FILTER_LIMIT);
  const after = load<u64>(f + P.FILTER_AFTER);
  let n: u32 = 0;
  let id = after < <u64>alertCount ? <u32>after : alertCount;
  let scanned: u32 = 0;
  while (id < alertCount && n < limit && scanned < <u32>P.LIST_SCAN_MAX) {
    id++;
    scanned++;
    const a = alertAt(id);
    if (!passes(f, load<u64>(a + P.ALERT_RAISED), load<u8>(a + P.ALERT_STATE), load<u32>(a + P.ALERT_LEDGER))) continue;
    memory.copy(replyRecords() + <usize>n * P.ALERT_BYTES, a, P.ALERT_BYTES);
    n++;
  }
  replySend(token, n, id > after ? <u64>id : after, n * <u32>P.ALERT_BYTES);
}

/** decisions_list: the decisions still in the ring after the filter's sequence number that pass it; +8 the last looked at. */
export function decisionsList(token: u32, f: usize): void {
  const limit = <u32>load<u16>(f + P.FILTER_LIMIT);
  const after = load<u64>(f + P.FILTER_AFTER);
  const oldest = decisionCount > <u64>decisionsMax ? decisionCount - <u64>decisionsMax + 1 : 1;
  let seq = after + 1 > oldest ? after + 1 : oldest;
  let last = after;
  let n: u32 = 0;
  let scanned: u32 = 0;
  while (seq <= decisionCount && n < limit && scanned < <u32>P.LIST_SCAN_MAX) {
    const d = decisions + <usize>((seq - 1) % <u64>decisionsMax) * P.DECISION_BYTES;
    assert(load<u64>(d + P.DEC_SEQUENCE) == seq, "the ring holds the sequence asked for");
    last = seq;
    seq++;
    scanned++;
    if (!passes(f, load<u64>(d + P.DEC_TIME), load<u8>(d + P.DEC_ACTION), load<u32>(d + P.DEC_LEDGER))) continue;
    memory.copy(replyRecords() + <usize>n * P.DECISION_BYTES, d, P.DECISION_BYTES);
    n++;
  }
  replySend(token, n, last, n * <u32>P.DECISION_BYTES);
}
