// The ledger's own transfers checked by the compliance service first (config
// "transfer_checks"; services/compliance/protocol.ts "the ledger's own
// transfers"). relay.ts moves the messages; this file holds the batch while
// it is checked and turns the verdicts into what the ledger gets and what
// the client is answered.
//
// A create_transfers request is copied into the staging area with room for
// the compliance header in front of its events, so the same bytes go to
// compliance (check_transfers: header and events) and then to the ledger
// (the ledger's header, the events, a scoped key's grants). When compliance
// refuses events, each refused event's linked chain is taken out whole, as
// the ledger itself fails a chain: the refused event is answered with its
// compliance result (transferRefusal), the rest of its chain with
// linked_event_failed. The events left move down in place, the grants after
// them, and the ledger's reply (a result per event it got) is spread back
// over the request's events in order (expand).

import * as C from "../../compliance/protocol";
import * as L from "../../ledger/protocol";
import { INBOX_BYTES, LEDGER_BATCH_MAX, LEDGER_HEADER_BYTES, LEDGER_RECORD_BYTES, LEDGER_RESULT_BYTES } from "./constants";

// Compliance's header is 16 bytes, the ledger's 8: the ledger's body starts at +8, its events at +16 for both.
const FRONT: u32 = <u32>C.HEADER_BYTES - LEDGER_HEADER_BYTES;
const STAGE_BYTES: u32 = INBOX_BYTES + FRONT;
const stage = memory.data(<i32>STAGE_BYTES, 16);
// Per event of the request: KEPT, or the result it is answered with.
const KEPT: u32 = 0xffffffff;
const codes = memory.data(<i32>(LEDGER_BATCH_MAX * 4), 16);
let events: u32 = 0; // the request's events
let grants: u32 = 0; // the bytes of a scoped key's grants after them
let kept: u32 = 0; // the events the ledger gets
let ledgerHeader: u64 = 0; // the request's header, under compliance's while it is checked

/** Stages the ledger request of `len` bytes at `body` (its framing checked); the compliance request is stage[0, checkLength()). */
export function stageBatch(body: usize, len: u32): void {
  events = load<u32>(body + L.HEADER_COUNT);
  assert(events >= 1 && events <= LEDGER_BATCH_MAX && <u64>len + FRONT <= <u64>STAGE_BYTES, "a framed create_transfers");
  grants = len - LEDGER_HEADER_BYTES - events * LEDGER_RECORD_BYTES;
  kept = events;
  memory.copy(stage + FRONT, body, len);
  ledgerHeader = load<u64>(body);
  memory.fill(stage, 0, C.HEADER_BYTES);
  store<u8>(stage + C.HEADER_OP, <u8>C.Op.check_transfers);
  store<u32>(stage + C.HEADER_COUNT, events);
}

export function checkRequest(): usize {
  assert(load<u8>(stage + C.HEADER_OP) == <u8>C.Op.check_transfers && load<u32>(stage + C.HEADER_COUNT) == events, "a batch staged for compliance");
  return stage;
}

export function checkLength(): u32 {
  assert(events != 0, "a batch staged");
  return C.HEADER_BYTES + events * LEDGER_RECORD_BYTES;
}

/** Why compliance's reply of `len` bytes at `r` is not the verdicts on the staged batch, or null. */
export function verdictsError(r: usize, len: u32): string | null {
  assert(events != 0, "a batch staged");
  if (len < <u32>C.REPLY_HEADER_BYTES) return "the compliance service's reply to a transfer check is shorter than its header";
  if ((load<u32>(r + 4) & C.REPLY_F_REFUSED) != 0) return "the compliance service refused to check the transfers; nothing was applied";
  if (load<u32>(r) != events || <u64>len != <u64>C.REPLY_HEADER_BYTES + <u64>events * C.VERDICT_BYTES) {
    return "the compliance service's verdicts do not match the transfers; nothing was applied";
  }
  return null;
}

/** Marks the chain of events [first, last]: kept whole, or each answered when one of them was refused. */
function chainMark(verdicts: usize, first: u32, last: u32): void {
  assert(first <= last && last < events, "a chain of the batch");
  let refusedAt: i32 = -1;
  for (let i = first; i <= last && refusedAt < 0; i++) {
    if (load<u8>(verdicts + <usize>i * C.VERDICT_BYTES + C.VERDICT_ACTION) == <u8>C.ACTION_REFUSE) refusedAt = <i32>i;
  }
  for (let i = first; i <= last; i++) {
    let code = KEPT;
    if (refusedAt >= 0) {
      code = <i32>i == refusedAt ? <u32>C.transferRefusal(load<u32>(verdicts + <usize>i * C.VERDICT_BYTES + C.VERDICT_RULE))
        : <u32>L.TransferResult.linked_event_failed;
    }
    store<u32>(codes + (<usize>i << 2), code);
  }
  if (refusedAt >= 0) kept -= last - first + 1;
}

/**
 * Applies the verdicts at `verdicts` (checked by verdictsError) to the staged
 * batch: every chain with a refused event is taken out. The events the
 * ledger gets (0: none, the client is answered by expand(0) alone).
 */
export function applyVerdicts(verdicts: usize): u32 {
  assert(kept == events && verdicts != 0, "verdicts applied once to a batch staged");
  store<u64>(stage + FRONT, ledgerHeader);
  let first: u32 = 0;
  for (let i: u32 = 0; i < events; i++) {
    const linked = (load<u16>(stage + C.HEADER_BYTES + <usize>i * LEDGER_RECORD_BYTES + L.TRANSFER_FLAGS) & <u16>L.TransferFlags.linked) != 0;
    if (!linked || i == events - 1) { chainMark(verdicts, first, i); first = i + 1; }
  }
  if (kept == events) return kept;
  const recs = stage + C.HEADER_BYTES;
  let j: u32 = 0;
  for (let i: u32 = 0; i < events; i++) {
    if (load<u32>(codes + (<usize>i << 2)) != KEPT) continue;
    if (j != i) memory.copy(recs + <usize>j * LEDGER_RECORD_BYTES, recs + <usize>i * LEDGER_RECORD_BYTES, LEDGER_RECORD_BYTES);
    j++;
  }
  assert(j == kept, "the events kept were counted");
  memory.copy(recs + <usize>kept * LEDGER_RECORD_BYTES, recs + <usize>events * LEDGER_RECORD_BYTES, grants);
  store<u32>(stage + FRONT + L.HEADER_COUNT, kept);
  return kept;
}

/** The ledger request after the verdicts: at ledgerBody(), ledgerLength() bytes. */
export function ledgerBody(): usize {
  assert(load<u64>(stage + FRONT) == (ledgerHeader & 0xffffffff) | (<u64>kept << 32), "the ledger's header put back, with the events kept");
  return stage + FRONT;
}

export function ledgerLength(): u32 {
  assert(kept >= 1, "events for the ledger");
  return LEDGER_HEADER_BYTES + kept * LEDGER_RECORD_BYTES + grants;
}

/** Whether every event was kept (the ledger's reply is the client's as it is). */
export function allKept(): bool {
  assert(kept <= events, "no more events kept than staged");
  return kept == events;
}

/**
 * The client's results at `out` from the ledger's `ledgerResults` results at
 * `r` (one per event kept, in order): the request's events in order, a
 * taken-out one with its code and no timestamp. Its length.
 */
export function expand(r: usize, ledgerResults: u32, out: usize): u32 {
  assert(ledgerResults == kept, "a result per event the ledger got");
  let k: u32 = 0;
  for (let i: u32 = 0; i < events; i++) {
    const o = out + <usize>i * LEDGER_RESULT_BYTES;
    const code = load<u32>(codes + (<usize>i << 2));
    if (code == KEPT) {
      memory.copy(o, r + <usize>k * LEDGER_RESULT_BYTES, LEDGER_RESULT_BYTES);
      k++;
    } else {
      memory.fill(o, 0, LEDGER_RESULT_BYTES);
      store<u32>(o + L.RESULT_CODE, code);
    }
  }
  assert(k == kept, "every ledger result placed");
  return events * LEDGER_RESULT_BYTES;
}
