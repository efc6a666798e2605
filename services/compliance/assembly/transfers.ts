// check_transfers: the ledger's own create_transfers, checked for the gateway
// before the ledger gets them (protocol.ts "the ledger's own transfers").
//
// Each event that moves money on a ledger whose rule set checks transfers is
// made a check record (no party names, no customer; both accounts taken as
// customers', so the debit side's outflow is scored, limited and monitored,
// and the credit side's inflow remembered) and decided by check.ts's decide,
// which refuses what would hold a payment. The verdicts go back in order.
//
// Retries: a client that lost a reply sends the same transfer again (the
// ledger answers `exists`). Deciding it again would count its amount twice
// and could refuse a transfer the ledger holds. So allowed decisions are
// remembered by transfer id: an index of decision sequence numbers (open
// addressing, PROBES slots looked at), whose entries point into the
// decisions ring and go stale with it. An id allowed before, with the same
// ledger, is allowed again without a decision. An entry is taken over only
// when stale or, with every probed slot live, the oldest of them: a lost
// entry means a retry is decided anew, never a wrong answer.

import * as P from "../protocol";
import * as L from "../../ledger/protocol";
import { nowNs } from "../../sdk/qenex";
import { u128IsZero } from "../../sdk/money";
import { decisionsMax } from "./config";
import { decide } from "./check";
import { decisionBySequence } from "./cases";
import { rulesFor } from "./rules";
import { fnv } from "./activity";
import { replyRecords, replySend } from "./reply";
import { alertEventsFlush } from "./events";

const PROBES: u32 = 16;
let slots: u32 = 0; // a power of two, at least twice decisions_max
let index: usize = 0; // u64 decision sequence numbers (0: empty)
const check = memory.data(<i32>P.CHECK_BYTES, 16);
const decision = memory.data(<i32>P.DECISION_BYTES, 16);
// Transfers that move no money of their own (a post or void settles a pending transfer checked before), or history loaded.
const UNCHECKED_FLAGS: u16 = <u16>(L.TransferFlags.post_pending_transfer | L.TransferFlags.void_pending_transfer | L.TransferFlags.imported);

export function transfersInit(): void {
  assert(index == 0 && decisionsMax > 0, "transfersInit: once, after the config");
  slots = 1;
  while (slots < 2 * decisionsMax) slots <<= 1;
  index = heap.alloc(<usize>slots * 8);
  memory.fill(index, 0, <usize>slots * 8);
}

function isMax(p: usize): bool {
  assert(p != 0, "a u128");
  return load<u64>(p) == u64.MAX_VALUE && load<u64>(p + 8) == u64.MAX_VALUE;
}

/** Whether transfer `t` is one to check: it moves money on a checked ledger, and the ledger would not refuse it by its fields alone. */
function checkable(t: usize): bool {
  assert(t != 0, "a transfer");
  const flags = load<u16>(t + L.TRANSFER_FLAGS);
  if ((flags & ~(<u16>L.TRANSFER_FLAGS_KNOWN)) != 0 || (flags & UNCHECKED_FLAGS) != 0) return false;
  const id = t + L.TRANSFER_ID;
  const debit = t + L.TRANSFER_DEBIT_ACCOUNT_ID;
  const credit = t + L.TRANSFER_CREDIT_ACCOUNT_ID;
  if (u128IsZero(id) || isMax(id) || u128IsZero(debit) || isMax(debit) || u128IsZero(credit) || isMax(credit)) return false;
  if (memory.compare(debit, credit, 16) == 0) return false;
  const rs = rulesFor(load<u32>(t + L.TRANSFER_LEDGER));
  return rs != 0 && (load<u32>(rs + P.RULES_FLAGS) & P.RULES_F_TRANSFERS) != 0;
}

function slotOf(t: usize): u32 {
  assert(slots != 0, "the index taken");
  return fnv(t + L.TRANSFER_ID, 16, 2166136261 ^ load<u32>(t + L.TRANSFER_LEDGER));
}

/** Whether decision `d` is of transfer `t`: its id on its ledger. */
function decidedFor(d: usize, t: usize): bool {
  assert(d != 0 && t != 0, "a decision and a transfer");
  return load<u8>(d + P.DEC_ORIGIN) == <u8>P.ORIGIN_TRANSFER && load<u32>(d + P.DEC_LEDGER) == load<u32>(t + L.TRANSFER_LEDGER)
    && memory.compare(d + P.DEC_TRANSFER, t + L.TRANSFER_ID, 16) == 0;
}

/** Whether transfer `t`'s id was allowed on its ledger by a decision the ring still holds. */
function allowedBefore(t: usize): bool {
  const h = slotOf(t);
  for (let i: u32 = 0; i < PROBES; i++) {
    const seq = load<u64>(index + (<usize>((h + i) & (slots - 1)) << 3));
    if (seq == 0) return false;
    const d = decisionBySequence(seq);
    if (d != 0 && decidedFor(d, t)) return true;
  }
  return false;
}

/** Remembers the allowing decision `seq` of transfer `t`: in an empty or stale slot, else over the oldest probed. */
function remember(t: usize, seq: u64): void {
  assert(seq != 0, "a decision kept");
  const h = slotOf(t);
  let at: usize = 0;
  let oldest: u64 = u64.MAX_VALUE;
  for (let i: u32 = 0; i < PROBES; i++) {
    const slot = index + (<usize>((h + i) & (slots - 1)) << 3);
    const s = load<u64>(slot);
    if (s == 0 || decisionBySequence(s) == 0) { at = slot; break; }
    if (s < oldest) { oldest = s; at = slot; }
  }
  store<u64>(at, seq);
}

/** The check record of transfer `t`: its ledger, amount and accounts; no names, no customer. */
function checkOf(t: usize): void {
  assert(t != 0, "a transfer");
  memory.fill(check, 0, P.CHECK_BYTES);
  store<u32>(check + P.CHECK_LEDGER, load<u32>(t + L.TRANSFER_LEDGER));
  store<u8>(check + P.CHECK_FLAGS, <u8>(P.CHECK_F_DEBIT_CUSTOMER | P.CHECK_F_CREDIT_CUSTOMER));
  memory.copy(check + P.CHECK_AMOUNT, t + L.TRANSFER_AMOUNT, 16);
  memory.copy(check + P.CHECK_DEBIT, t + L.TRANSFER_DEBIT_ACCOUNT_ID, 16);
  memory.copy(check + P.CHECK_CREDIT, t + L.TRANSFER_CREDIT_ACCOUNT_ID, 16);
}

/** The verdict on transfer `t` into `v`; whether it refused. */
function verdict(t: usize, v: usize, now: u64): bool {
  assert(t != v, "a transfer and its verdict apart");
  store<u64>(v, 0);
  if (!checkable(t)) return false;
  if (allowedBefore(t)) { store<u8>(v + P.VERDICT_ACTION, <u8>P.ACTION_ALLOW); return false; }
  checkOf(t);
  decide(check, decision, now, t + L.TRANSFER_ID);
  const action = load<u8>(decision + P.DEC_ACTION);
  assert(action == <u8>P.ACTION_ALLOW || action == <u8>P.ACTION_REFUSE, "a transfer is allowed or refused, never held");
  store<u8>(v + P.VERDICT_ACTION, action);
  if (action == <u8>P.ACTION_ALLOW) remember(t, load<u64>(decision + P.DEC_SEQUENCE));
  else store<u32>(v + P.VERDICT_RULE, load<u32>(decision + P.DEC_DECIDED_BY));
  return action == <u8>P.ACTION_REFUSE;
}

/** check_transfers: `count` ledger transfers at `recs`, each decided in order; a verdict each, +8 the refused. */
export function checkTransfers(token: u32, count: u32, recs: usize): void {
  assert(count >= 1 && count <= <u32>P.TRANSFERS_PER_REQUEST, "a framed count");
  const now = nowNs();
  let refused: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    if (verdict(recs + <usize>i * L.RECORD_BYTES, replyRecords() + <usize>i * P.VERDICT_BYTES, now)) refused++;
  }
  alertEventsFlush();
  replySend(token, count, refused, count * <u32>P.VERDICT_BYTES);
}
