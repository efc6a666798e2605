// Per-account doubly linked lists of transfers, in creation order.
//
// A transfer sits in two lists, its debit account's and its credit account's;
// its metadata keeps one (prev, next) pair per side. get_account_transfers
// walks a list forward or backward; rollback pops the tail.

import { NONE } from "./constants";
import { AM_TRANSFERS_FIRST, AM_TRANSFERS_LAST, TM_CREDIT_PREV, TM_DEBIT_PREV, TM_DEBIT_SLOT } from "./layout";
import { accountMetaAt, transferMetaAt } from "./state";

const LINK_PREV: usize = 0;
const LINK_NEXT: usize = 4;

/** Offset of the transfer's prev (or next) link in the list of `accountSlot`. */
// @ts-ignore: decorator
@inline export function linkOffset(meta: usize, accountSlot: u32, which: usize): usize {
  const side = load<u32>(meta + TM_DEBIT_SLOT) == accountSlot ? TM_DEBIT_PREV : TM_CREDIT_PREV;
  return side + which;
}

/** The transfer after `slot` in the list of `accountSlot` (NONE at the end). */
// @ts-ignore: decorator
@inline export function listNext(slot: u32, accountSlot: u32): u32 {
  const meta = transferMetaAt(slot);
  return load<u32>(meta + linkOffset(meta, accountSlot, LINK_NEXT));
}

/** The transfer before `slot` in the list of `accountSlot` (NONE at the start). */
// @ts-ignore: decorator
@inline export function listPrev(slot: u32, accountSlot: u32): u32 {
  const meta = transferMetaAt(slot);
  return load<u32>(meta + linkOffset(meta, accountSlot, LINK_PREV));
}

/** Appends transfer `slot` (its debit/credit slots already set) to an account's list. */
// @ts-ignore: decorator
@inline export function listAppend(accountSlot: u32, slot: u32): void {
  const head = accountMetaAt(accountSlot);
  const last = load<u32>(head + AM_TRANSFERS_LAST);
  const meta = transferMetaAt(slot);
  store<u32>(meta + linkOffset(meta, accountSlot, LINK_PREV), last);
  store<u32>(meta + linkOffset(meta, accountSlot, LINK_NEXT), NONE);
  if (last == NONE) {
    store<u32>(head + AM_TRANSFERS_FIRST, slot);
  } else {
    const lastMeta = transferMetaAt(last);
    store<u32>(lastMeta + linkOffset(lastMeta, accountSlot, LINK_NEXT), slot);
  }
  store<u32>(head + AM_TRANSFERS_LAST, slot);
}

/** Removes transfer `slot`, which must be the tail, from an account's list. */
export function listPop(accountSlot: u32, slot: u32): void {
  const head = accountMetaAt(accountSlot);
  assert(load<u32>(head + AM_TRANSFERS_LAST) == slot);
  const prev = listPrev(slot, accountSlot);
  if (prev == NONE) {
    store<u32>(head + AM_TRANSFERS_FIRST, NONE);
  } else {
    const prevMeta = transferMetaAt(prev);
    store<u32>(prevMeta + linkOffset(prevMeta, accountSlot, LINK_NEXT), NONE);
  }
  store<u32>(head + AM_TRANSFERS_LAST, prev);
}
