// Per-account doubly linked lists of transfers, in creation order.
//
// A transfer sits in two lists, its debit account's and its credit account's;
// its metadata keeps one (prev, next) pair per side. get_account_transfers
// walks a list forward or backward; rollback pops the tail.

import { NONE } from "./constants";
import { AM_TRANSFERS_FIRST, AM_TRANSFERS_LAST, TM_CREDIT_PREV, TM_CREDIT_SLOT, TM_DEBIT_PREV, TM_DEBIT_SLOT } from "./layout";
import { S, accountMetaAt, transferMetaAt } from "./state";

const LINK_PREV: usize = 0;
const LINK_NEXT: usize = 4;

/** Offset of the transfer's prev (or next) link in the list of `accountSlot`. */
// @ts-ignore: decorator
@inline export function linkOffset(meta: usize, accountSlot: u32, which: usize): usize {
  const side = load<u32>(meta + TM_DEBIT_SLOT) == accountSlot ? TM_DEBIT_PREV : TM_CREDIT_PREV;
  return side + which;
}

/**
 * Is `accountSlot` one of the transfer's two accounts? A transfer sits only in
 * their lists; for any other account linkOffset would give the credit side's
 * links. (Checked on walks, not in linkOffset: an append runs it six times
 * per transfer applied, right after linkAndRecord set both sides.)
 */
// @ts-ignore: decorator
@inline function onSide(meta: usize, accountSlot: u32): bool {
  return load<u32>(meta + TM_DEBIT_SLOT) == accountSlot || load<u32>(meta + TM_CREDIT_SLOT) == accountSlot;
}

/** The transfer after `slot` in the list of `accountSlot` (NONE at the end). */
// @ts-ignore: decorator
@inline export function listNext(slot: u32, accountSlot: u32): u32 {
  const meta = transferMetaAt(slot);
  assert(onSide(meta, accountSlot), "list walk through a transfer of another account");
  const next = load<u32>(meta + linkOffset(meta, accountSlot, LINK_NEXT));
  // Lists are in creation order: the next transfer is a newer one.
  assert(next == NONE || (next > slot && next < S.transferCount), "list link to a transfer that is not newer");
  return next;
}

/** The transfer before `slot` in the list of `accountSlot` (NONE at the start). */
// @ts-ignore: decorator
@inline export function listPrev(slot: u32, accountSlot: u32): u32 {
  const meta = transferMetaAt(slot);
  assert(onSide(meta, accountSlot), "list walk through a transfer of another account");
  const prev = load<u32>(meta + linkOffset(meta, accountSlot, LINK_PREV));
  assert(prev == NONE || prev < slot, "list link to a transfer that is not older");
  return prev;
}

/** Appends transfer `slot` (its debit/credit slots already set) to an account's list. */
// @ts-ignore: decorator
@inline export function listAppend(accountSlot: u32, slot: u32): void {
  const head = accountMetaAt(accountSlot);
  const last = load<u32>(head + AM_TRANSFERS_LAST);
  // Only a newer transfer is appended, so every list stays in creation (timestamp) order.
  assert(last == NONE || last < slot, "list append out of creation order");
  const meta = transferMetaAt(slot);
  store<u32>(meta + linkOffset(meta, accountSlot, LINK_PREV), last);
  store<u32>(meta + linkOffset(meta, accountSlot, LINK_NEXT), NONE);
  if (last == NONE) {
    assert(load<u32>(head + AM_TRANSFERS_FIRST) == NONE, "list without a tail has a head");
    store<u32>(head + AM_TRANSFERS_FIRST, slot);
  } else {
    const lastMeta = transferMetaAt(last);
    const lastNext = lastMeta + linkOffset(lastMeta, accountSlot, LINK_NEXT);
    assert(load<u32>(lastNext) == NONE, "list tail has a next transfer");
    store<u32>(lastNext, slot);
  }
  store<u32>(head + AM_TRANSFERS_LAST, slot);
}

/** Removes transfer `slot`, which must be the tail, from an account's list. */
export function listPop(accountSlot: u32, slot: u32): void {
  const head = accountMetaAt(accountSlot);
  assert(load<u32>(head + AM_TRANSFERS_LAST) == slot, "list pop of a transfer that is not the tail");
  const prev = listPrev(slot, accountSlot);
  if (prev == NONE) {
    assert(load<u32>(head + AM_TRANSFERS_FIRST) == slot, "a list's only transfer is not its head");
    store<u32>(head + AM_TRANSFERS_FIRST, NONE);
  } else {
    const prevMeta = transferMetaAt(prev);
    assert(load<u32>(prevMeta + linkOffset(prevMeta, accountSlot, LINK_NEXT)) == slot, "list links disagree: prev.next is not the tail");
    store<u32>(prevMeta + linkOffset(prevMeta, accountSlot, LINK_NEXT), NONE);
  }
  store<u32>(head + AM_TRANSFERS_LAST, prev);
}
