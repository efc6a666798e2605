// accounts_screen (protocol.ts "account owners screened"): the bank's
// account owners screened after a list update, each match kept on the
// account (activity.ts, A_LISTED) so that every later payment to or from it
// is a sanctions match of that party (check.ts), and a new match raised as
// an alert for a compliance officer (no payment: action 0, closed NOTED).

import * as P from "../protocol";
import { nowNs } from "../../sdk/qenex";
import { thresholdDefault } from "./config";
import { screenableValid } from "./match";
import { zeros } from "./record";
import { hitName, hitScore, screenBest } from "./search";
import { refusedRecords, replyRecords, replySend } from "./reply";
import { rulesFor } from "./rules";
import { alertRaise, alertsFree } from "./cases";
import { alertEmit, alertEventsFlush } from "./events";
import * as A from "./activity";

const decision = memory.data(<i32>P.DECISION_BYTES, 16); // the alert's source: a decision of no payment

/** The reason the owner record at `o` is malformed, or null. */
function ownerError(o: usize): string | null {
  assert(o != 0, "an owner record");
  const len = <u32>load<u8>(o + P.OWNER_NAME_LENGTH);
  if (load<u32>(o + P.OWNER_LEDGER) == 0) return "compliance: an owner's ledger is 0";
  if (len == 0 || len > <u32>P.NORMALIZED_MAX || !zeros(o + P.OWNER_NAME + len, <u32>P.NORMALIZED_MAX - len)) {
    return "compliance: an owner's name length is out of range, or bytes after it are not zero";
  }
  if (!screenableValid(o + P.OWNER_NAME, len)) return "compliance: an owner's name is not [a-z0-9] words with single spaces, at most SEARCH_TOKENS_MAX of them";
  if (!zeros(o + 5, 11) || !zeros(o + 136, 8)) return "compliance: an owner's reserved bytes are not zero";
  return null;
}

/** The alert of a new match on account entry `e` of `ledger` (scored `score`). */
function raise(o: usize, score: u32, now: u64): u32 {
  assert(score != 0, "a match");
  memory.fill(decision, 0, P.DECISION_BYTES);
  store<u32>(decision + P.DEC_RULES, P.RULE_SANCTIONS);
  store<u32>(decision + P.DEC_LEDGER, load<u32>(o + P.OWNER_LEDGER));
  store<u64>(decision + P.DEC_TIME, now);
  memory.copy(decision + P.DEC_DEBIT, o + P.OWNER_ACCOUNT, 16);
  store<u32>(decision + P.DEC_SANCTIONS_SCORE, score);
  const a = alertRaise(decision);
  alertEmit(a);
  return load<u32>(a + P.ALERT_ID);
}

/** Screens owner `o` into result `r`: the account's mark set or cleared, an alert when it is new. */
function screenOwner(o: usize, r: usize, now: u64): bool {
  assert(o != r, "a record and its result apart");
  memory.fill(r, 0, P.SCREENED_BYTES);
  const ledger = load<u32>(o + P.OWNER_LEDGER);
  const rs = rulesFor(ledger);
  const holdAt = rs == 0 || load<u32>(rs + P.RULES_SCREEN_HOLD) == 0 ? thresholdDefault : load<u32>(rs + P.RULES_SCREEN_HOLD);
  const h = screenBest(o + P.OWNER_NAME, <u32>load<u8>(o + P.OWNER_NAME_LENGTH), holdAt);
  const e = A.activityOf(A.KIND_ACCOUNT, ledger, o + P.OWNER_ACCOUNT, h != 0, now);
  if (h == 0) {
    if (e == 0 || load<u32>(e + A.A_LISTED) == 0) return false;
    memory.fill(e + A.A_LISTED, 0, 36); // no longer listed: the mark cleared
    store<u8>(r + P.SCREENED_CHANGED, 1);
    return false;
  }
  const n = hitName(h);
  const score = hitScore(h);
  store<u32>(r + P.SCREENED_SCORE, score);
  store<u8>(r + P.SCREENED_LIST, <u8>h);
  store<u8>(r + P.SCREENED_ID_LENGTH, load<u8>(n + P.NAME_ID_LENGTH));
  memory.copy(r + P.SCREENED_ID, n + P.NAME_ID, P.ENTITY_ID_MAX);
  // Without room in the activity table the account cannot be marked; the alert still tells an officer.
  const same = e != 0 && load<u32>(e + A.A_LISTED) != 0 && load<u8>(e + A.A_LISTED_LIST) == <u8>h
    && memory.compare(e + A.A_LISTED_ID, n + P.NAME_ID, P.ENTITY_ID_MAX) == 0;
  if (e != 0) {
    store<u32>(e + A.A_LISTED, score);
    store<u8>(e + A.A_LISTED_LIST, <u8>h);
    store<u8>(e + A.A_LISTED_ID_LENGTH, load<u8>(n + P.NAME_ID_LENGTH));
    memory.copy(e + A.A_LISTED_ID, n + P.NAME_ID, P.ENTITY_ID_MAX);
  }
  if (same) return true;
  store<u8>(r + P.SCREENED_CHANGED, 1);
  // The mark stands either way; with no room for its alert the result says so (alert 0) and the account's payments hold.
  if (alertsFree() > 0) store<u32>(r + P.SCREENED_ALERT, raise(o, score, now));
  return true;
}

/** accounts_screen: `count` owner records at `recs`, each screened in order; a result each, +8 the matches. */
export function accountsScreen(token: u32, count: u32, recs: usize): void {
  assert(count >= 1 && count <= <u32>P.OWNERS_PER_REQUEST, "a framed count");
  if (refusedRecords(token, recs, count, P.OWNER_BYTES, ownerError)) return;
  const now = nowNs();
  let matches: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    if (screenOwner(recs + <usize>i * P.OWNER_BYTES, replyRecords() + <usize>i * P.SCREENED_BYTES, now)) matches++;
  }
  alertEventsFlush();
  replySend(token, count, matches, count * <u32>P.SCREENED_BYTES);
}
