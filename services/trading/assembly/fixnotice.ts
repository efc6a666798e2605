// The fix service's resting orders, told of what others did to them (config
// "fix_reports": true; capability "send:fix"; docs/fix.md "The
// application"). An orders request from the fix service gets its events in
// its answer; any other orders request (the gateway's JSON and binary order
// entry) that caused events sends them to the fix service as well, a message
// of EVENT_BYTES records, right before its own answer. So a FIX session
// hears of its resting orders filled by a JSON trader, cancelled by an
// operator's mass cancel or expired at the end of the day, in the order the
// book did it. The fix service sends one request at a time and waits for its
// answer, so at most one request of it is here at once: its token.

import * as P from "../protocol";
import { send, serviceIndex } from "../../sdk/qenex";
import { fixReports } from "./config";

let fixPeer: i32 = -1;
let fixToken: u32 = 0;
let fixTokenHeld: bool = false;

export function fixNoticeInit(): void {
  assert(fixPeer < 0, "fixNoticeInit: once");
  if (fixReports) fixPeer = serviceIndex("fix");
}

export function fixNoticePeer(): i32 {
  assert(fixPeer < 0 || fixReports, "a fix peer only with fix_reports");
  return fixPeer;
}

/** An orders request arrived from `sender` under `token`: the fix service's is remembered (its events are in its answer). */
export function fixNoticeRequest(sender: u32, token: u32): void {
  assert(!fixTokenHeld || fixPeer >= 0, "a token held only with a fix service");
  if (fixPeer < 0 || sender != <u32>fixPeer) return;
  fixToken = token;
  fixTokenHeld = true;
}

/** The request under `token` is being answered with `count` events at `events`: the fix service told of them unless they are its own. */
export function fixNoticeAnswer(token: u32, events: usize, count: u32): void {
  assert(count <= <u32>P.EVENTS_PER_REPLY, "a reply's events");
  if (fixTokenHeld && token == fixToken) { fixTokenHeld = false; return; }
  if (fixPeer < 0 || count == 0) return;
  send(<u32>fixPeer, events, count * <u32>P.EVENT_BYTES); // a failure costs the notice only: the fix service's sessions are not the book's
}
