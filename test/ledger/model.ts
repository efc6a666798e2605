// A small reference model of the ledger service, for differential tests.
//
// Written for obviousness, not speed: bigint arithmetic with explicit range
// checks, Maps keyed by id, and linked chains rolled back by restoring a
// snapshot of the whole state. Semantics follow TigerBeetle's documentation
// (see services/ledger/assembly/results.ts) plus QENEX's capacity results.

import {
  type Account, type AccountBalance, type AccountFilter, type CreateResult, type QueryFilter, type Transfer,
  QueryFilterFlags as QF,
  AccountFilterFlags as FF, AccountFlags as AF, CreateAccountResult, CreateTransferResult,
  TRANSIENT_TRANSFER_RESULTS, TransferFlags as TF, U128_MAX, type CreateAccountResultName,
  type CreateTransferResultName, BATCH_EVENTS_MAX,
} from '../../host/client/ledger.ts';
import type { Capacity } from './harness.ts';

const TIMESTAMP_MAX = (1n << 63n) - 1n;
const NS_PER_S = 1_000_000_000n;

type Status = 'pending' | 'posted' | 'voided' | 'expired';

interface HistoryEntry {
  accountId: bigint;
  transferId: bigint;
  balance: AccountBalance;
}

interface State {
  accounts: Map<bigint, Account>;
  transfers: Map<bigint, Transfer>;
  orphans: Set<bigint>;
  status: Map<bigint, Status>;
  history: HistoryEntry[];
}

function cloneState(s: State): State {
  return {
    accounts: new Map([...s.accounts].map(([k, v]) => [k, { ...v }])),
    transfers: new Map([...s.transfers].map(([k, v]) => [k, { ...v }])),
    orphans: new Set(s.orphans),
    status: new Map(s.status),
    history: s.history.map((h) => ({ ...h, balance: { ...h.balance } })),
  };
}

const has = (flags: number, bit: number): boolean => (flags & bit) !== 0;

export class Model {
  private s: State = { accounts: new Map(), transfers: new Map(), orphans: new Set(), status: new Map(), history: [] };
  lastTimestamp = 0n;
  private readonly cap: Required<Capacity>;

  constructor(capacity: Capacity) {
    this.cap = {
      accounts_max: capacity.accounts_max ?? 10000,
      transfers_max: capacity.transfers_max ?? 1000000,
      pending_max: capacity.pending_max ?? 100000,
      history_max: capacity.history_max ?? 1000000,
    };
  }

  // ---- Clock and expiry ----------------------------------------------------

  private base(nowNs: bigint): bigint {
    const next = this.lastTimestamp + 1n;
    return nowNs > next ? nowNs : next;
  }

  private historyAccountsOf(t: Transfer): number {
    const flagsOf = (id: bigint) => this.s.accounts.get(id)!.flags;
    return (has(flagsOf(t.debit_account_id), AF.history) ? 1 : 0) + (has(flagsOf(t.credit_account_id), AF.history) ? 1 : 0);
  }

  private expireUpTo(cutoff: bigint): void {
    const due = [...this.s.transfers.values()].filter((t) =>
      this.s.status.get(t.id) === 'pending' && t.timeout > 0 && t.timestamp + BigInt(t.timeout) * NS_PER_S <= cutoff);
    due.sort((a, b) => {
      const ea = a.timestamp + BigInt(a.timeout) * NS_PER_S;
      const eb = b.timestamp + BigInt(b.timeout) * NS_PER_S;
      return ea !== eb ? (ea < eb ? -1 : 1) : (a.timestamp < b.timestamp ? -1 : 1);
    });
    for (const p of due) {
      this.s.status.set(p.id, 'expired');
      this.releasePending(p);
    }
  }

  private releasePending(p: Transfer): void {
    const dr = this.s.accounts.get(p.debit_account_id)!;
    const cr = this.s.accounts.get(p.credit_account_id)!;
    dr.debits_pending -= p.amount;
    cr.credits_pending -= p.amount;
    if (has(p.flags, TF.closing_debit)) dr.flags &= ~AF.closed;
    if (has(p.flags, TF.closing_credit)) cr.flags &= ~AF.closed;
  }

  /** A timer message: expiry only. */
  timer(nowNs: bigint): void {
    this.expireUpTo(this.base(nowNs));
  }

  // ---- Batches ---------------------------------------------------------------

  createAccounts(nowNs: bigint, events: readonly Account[]): CreateResult[] {
    return this.runBatch(nowNs, events, true);
  }

  createTransfers(nowNs: bigint, events: readonly Transfer[]): CreateResult[] {
    return this.runBatch(nowNs, events, false);
  }

  private runBatch(nowNs: bigint, events: readonly (Account | Transfer)[], accounts: boolean): CreateResult[] {
    const base = this.base(nowNs);
    this.expireUpTo(base);
    const batchTimestamp = base + BigInt(events.length) - 1n;
    const importedBit = accounts ? AF.imported : TF.imported;
    const firstImported = has(events[0].flags, importedBit);
    const code = (name: string): number => accounts
      ? CreateAccountResult[name as CreateAccountResultName] : CreateTransferResult[name as CreateTransferResultName];
    const results: CreateResult[] = [];
    let chainStart = -1;
    let chainBroken = false;
    let snapshot: State | undefined;
    events.forEach((event, index) => {
      const linked = has(event.flags, 1);
      if (linked && chainStart < 0) { chainStart = index; snapshot = cloneState(this.s); }
      let name: string;
      let timestamp = 0n;
      if (linked && index === events.length - 1) name = 'linked_event_chain_open';
      else if (chainBroken) name = 'linked_event_failed';
      else {
        const imported = has(event.flags, importedBit);
        let ts = event.timestamp;
        if (imported !== firstImported) name = imported ? 'imported_event_not_expected' : 'imported_event_expected';
        else if (imported && (ts === 0n || ts > TIMESTAMP_MAX)) name = 'imported_event_timestamp_out_of_range';
        else if (imported && ts >= batchTimestamp) name = 'imported_event_timestamp_must_not_advance';
        else if (!imported && ts !== 0n) name = 'timestamp_must_be_zero';
        else {
          if (!imported) ts = base + BigInt(index);
          const outcome = accounts ? this.createAccount(event as Account, ts) : this.createTransfer(event as Transfer, ts);
          name = outcome.name;
          timestamp = outcome.timestamp;
        }
      }
      if (name !== 'ok') {
        if (name !== 'exists') timestamp = 0n;
        if (chainStart >= 0 && !chainBroken) {
          chainBroken = true;
          this.s = snapshot!;
          for (let j = chainStart; j < index; j++) results[j] = { result: 1, timestamp: 0n };
        }
        if (!accounts && TRANSIENT_TRANSFER_RESULTS.includes(name as CreateTransferResultName)) {
          this.s.orphans.add(event.id);
        }
      }
      results[index] = { result: code(name), timestamp };
      if (chainStart >= 0 && (!linked || name === 'linked_event_chain_open')) { chainStart = -1; chainBroken = false; }
    });
    this.lastTimestamp = batchTimestamp;
    return results;
  }

  // ---- Accounts --------------------------------------------------------------

  private createAccount(a: Account, ts: bigint): { name: string; timestamp: bigint } {
    const fail = (name: string) => ({ name, timestamp: 0n });
    if (a.reserved !== 0) return fail('reserved_field');
    if (a.flags >= 1 << 6) return fail('reserved_flag');
    if (a.id === 0n) return fail('id_must_not_be_zero');
    if (a.id === U128_MAX) return fail('id_must_not_be_int_max');
    const e = this.s.accounts.get(a.id);
    if (e !== undefined) {
      const differs = e.flags !== a.flags ? 'flags' : e.user_data_128 !== a.user_data_128 ? 'user_data_128'
        : e.user_data_64 !== a.user_data_64 ? 'user_data_64' : e.user_data_32 !== a.user_data_32 ? 'user_data_32'
          : e.ledger !== a.ledger ? 'ledger' : e.code !== a.code ? 'code' : undefined;
      return differs ? fail(`exists_with_different_${differs}`) : { name: 'exists', timestamp: e.timestamp };
    }
    if (has(a.flags, AF.debits_must_not_exceed_credits) && has(a.flags, AF.credits_must_not_exceed_debits)) {
      return fail('flags_are_mutually_exclusive');
    }
    if (a.debits_pending !== 0n) return fail('debits_pending_must_be_zero');
    if (a.debits_posted !== 0n) return fail('debits_posted_must_be_zero');
    if (a.credits_pending !== 0n) return fail('credits_pending_must_be_zero');
    if (a.credits_posted !== 0n) return fail('credits_posted_must_be_zero');
    if (a.ledger === 0) return fail('ledger_must_not_be_zero');
    if (a.code === 0) return fail('code_must_not_be_zero');
    if (has(a.flags, AF.imported)) {
      const last = [...this.s.accounts.values()].at(-1)?.timestamp ?? 0n;
      const clash = [...this.s.transfers.values()].some((t) => t.timestamp === ts);
      if (ts <= last || clash) return fail('imported_event_timestamp_must_not_regress');
    }
    if (this.s.accounts.size >= this.cap.accounts_max) return fail('accounts_full');
    this.s.accounts.set(a.id, { ...a, timestamp: ts });
    return { name: 'ok', timestamp: ts };
  }

  // ---- Transfers -------------------------------------------------------------

  private createTransfer(t: Transfer, ts: bigint): { name: string; timestamp: bigint } {
    const fail = (name: string) => ({ name, timestamp: 0n });
    if (t.flags >= 1 << 9) return fail('reserved_flag');
    if (t.id === 0n) return fail('id_must_not_be_zero');
    if (t.id === U128_MAX) return fail('id_must_not_be_int_max');
    const e = this.s.transfers.get(t.id);
    if (e !== undefined) {
      const name = this.existsResult(t, e);
      return name === 'exists' ? { name, timestamp: e.timestamp } : fail(name);
    }
    if (this.s.orphans.has(t.id)) return fail('id_already_failed');
    if (this.s.transfers.size + this.s.orphans.size >= this.cap.transfers_max) return fail('transfers_full');
    const name = has(t.flags, TF.post_pending_transfer) || has(t.flags, TF.void_pending_transfer)
      ? this.postOrVoid(t, ts) : this.single(t, ts);
    return name === 'ok' ? { name, timestamp: ts } : fail(name);
  }

  private existsResult(t: Transfer, e: Transfer): string {
    if (t.flags !== e.flags) return 'exists_with_different_flags';
    if (t.pending_id !== e.pending_id) return 'exists_with_different_pending_id';
    if (t.timeout !== e.timeout) return 'exists_with_different_timeout';
    const resolving = has(t.flags, TF.post_pending_transfer) || has(t.flags, TF.void_pending_transfer);
    if (resolving) {
      const p = this.s.transfers.get(t.pending_id)!;
      const same = (requested: bigint, actual: bigint) => requested === 0n || requested === actual;
      if (!same(t.debit_account_id, e.debit_account_id)) return 'exists_with_different_debit_account_id';
      if (!same(t.credit_account_id, e.credit_account_id)) return 'exists_with_different_credit_account_id';
      let amountOk: boolean;
      if (has(t.flags, TF.void_pending_transfer)) amountOk = (t.amount === 0n ? p.amount : t.amount) === e.amount;
      else if (e.amount < p.amount) amountOk = t.amount === e.amount;
      else amountOk = t.amount >= p.amount;
      if (!amountOk) return 'exists_with_different_amount';
      const inherit = (requested: bigint, pending: bigint) => (requested === 0n ? pending : requested);
      if (inherit(t.user_data_128, p.user_data_128) !== e.user_data_128) return 'exists_with_different_user_data_128';
      if (inherit(t.user_data_64, p.user_data_64) !== e.user_data_64) return 'exists_with_different_user_data_64';
      if ((t.user_data_32 || p.user_data_32) !== e.user_data_32) return 'exists_with_different_user_data_32';
      if (t.ledger !== 0 && t.ledger !== e.ledger) return 'exists_with_different_ledger';
      if (t.code !== 0 && t.code !== e.code) return 'exists_with_different_code';
      return 'exists';
    }
    if (t.debit_account_id !== e.debit_account_id) return 'exists_with_different_debit_account_id';
    if (t.credit_account_id !== e.credit_account_id) return 'exists_with_different_credit_account_id';
    const balancing = has(t.flags, TF.balancing_debit) || has(t.flags, TF.balancing_credit);
    if (balancing ? t.amount < e.amount : t.amount !== e.amount) return 'exists_with_different_amount';
    if (t.user_data_128 !== e.user_data_128) return 'exists_with_different_user_data_128';
    if (t.user_data_64 !== e.user_data_64) return 'exists_with_different_user_data_64';
    if (t.user_data_32 !== e.user_data_32) return 'exists_with_different_user_data_32';
    if (t.ledger !== e.ledger) return 'exists_with_different_ledger';
    if (t.code !== e.code) return 'exists_with_different_code';
    return 'exists';
  }

  private importedRegresses(ts: bigint): boolean {
    const last = [...this.s.transfers.values()].at(-1)?.timestamp ?? 0n;
    return ts <= last || [...this.s.accounts.values()].some((a) => a.timestamp === ts);
  }

  private single(t: Transfer, ts: bigint): string {
    if (t.debit_account_id === 0n) return 'debit_account_id_must_not_be_zero';
    if (t.debit_account_id === U128_MAX) return 'debit_account_id_must_not_be_int_max';
    if (t.credit_account_id === 0n) return 'credit_account_id_must_not_be_zero';
    if (t.credit_account_id === U128_MAX) return 'credit_account_id_must_not_be_int_max';
    if (t.debit_account_id === t.credit_account_id) return 'accounts_must_be_different';
    if (t.pending_id !== 0n) return 'pending_id_must_be_zero';
    const pending = has(t.flags, TF.pending);
    if (!pending && t.timeout !== 0) return 'timeout_reserved_for_pending_transfer';
    if (!pending && (has(t.flags, TF.closing_debit) || has(t.flags, TF.closing_credit))) {
      return 'closing_transfer_must_be_pending';
    }
    if (t.ledger === 0) return 'ledger_must_not_be_zero';
    if (t.code === 0) return 'code_must_not_be_zero';
    const dr = this.s.accounts.get(t.debit_account_id);
    if (!dr) return 'debit_account_not_found';
    const cr = this.s.accounts.get(t.credit_account_id);
    if (!cr) return 'credit_account_not_found';
    if (dr.ledger !== cr.ledger) return 'accounts_must_have_the_same_ledger';
    if (t.ledger !== dr.ledger) return 'transfer_must_have_the_same_ledger_as_accounts';
    if (has(t.flags, TF.imported)) {
      if (this.importedRegresses(ts)) return 'imported_event_timestamp_must_not_regress';
      if (ts <= dr.timestamp) return 'imported_event_timestamp_must_postdate_debit_account';
      if (ts <= cr.timestamp) return 'imported_event_timestamp_must_postdate_credit_account';
      if (t.timeout !== 0) return 'imported_event_timeout_must_be_zero';
    }
    if (has(dr.flags, AF.closed)) return 'debit_account_already_closed';
    if (has(cr.flags, AF.closed)) return 'credit_account_already_closed';
    let amount = t.amount;
    const positive = (x: bigint) => (x > 0n ? x : 0n);
    if (has(t.flags, TF.balancing_debit)) {
      const room = positive(dr.credits_posted - dr.debits_posted - dr.debits_pending);
      if (room < amount) amount = room;
    }
    if (has(t.flags, TF.balancing_credit)) {
      const room = positive(cr.debits_posted - cr.credits_posted - cr.credits_pending);
      if (room < amount) amount = room;
    }
    if (pending && amount + dr.debits_pending > U128_MAX) return 'overflows_debits_pending';
    if (pending && amount + cr.credits_pending > U128_MAX) return 'overflows_credits_pending';
    if (amount + dr.debits_posted > U128_MAX) return 'overflows_debits_posted';
    if (amount + cr.credits_posted > U128_MAX) return 'overflows_credits_posted';
    if (amount + dr.debits_pending + dr.debits_posted > U128_MAX) return 'overflows_debits';
    if (amount + cr.credits_pending + cr.credits_posted > U128_MAX) return 'overflows_credits';
    if (ts + BigInt(t.timeout) * NS_PER_S > TIMESTAMP_MAX) return 'overflows_timeout';
    if (has(dr.flags, AF.debits_must_not_exceed_credits) &&
      dr.debits_pending + dr.debits_posted + amount > dr.credits_posted) return 'exceeds_credits';
    if (has(cr.flags, AF.credits_must_not_exceed_debits) &&
      cr.credits_pending + cr.credits_posted + amount > cr.debits_posted) return 'exceeds_debits';
    const pendingNow = [...this.s.status.values()].filter((s) => s === 'pending').length;
    if (pending && pendingNow >= this.cap.pending_max) return 'pending_full';
    const records = (has(dr.flags, AF.history) ? 1 : 0) + (has(cr.flags, AF.history) ? 1 : 0);
    if (this.historyUsed() + (pending ? 2 * records : records) > this.cap.history_max) return 'history_full';

    const stored: Transfer = { ...t, amount, timestamp: ts };
    this.s.transfers.set(t.id, stored);
    if (pending) {
      dr.debits_pending += amount;
      cr.credits_pending += amount;
      this.s.status.set(t.id, 'pending');
    } else {
      dr.debits_posted += amount;
      cr.credits_posted += amount;
    }
    if (has(t.flags, TF.closing_debit)) dr.flags |= AF.closed;
    if (has(t.flags, TF.closing_credit)) cr.flags |= AF.closed;
    this.record(stored, dr, cr);
    return 'ok';
  }

  /** History records in use plus those promised to unresolved pending transfers. */
  private historyUsed(): number {
    let reserved = 0;
    for (const [id, status] of this.s.status) {
      if (status === 'pending') reserved += this.historyAccountsOf(this.s.transfers.get(id)!);
    }
    return this.s.history.length + reserved;
  }

  private record(t: Transfer, dr: Account, cr: Account): void {
    for (const a of [dr, cr]) {
      if (!has(a.flags, AF.history)) continue;
      this.s.history.push({
        accountId: a.id, transferId: t.id,
        balance: {
          debits_pending: a.debits_pending, debits_posted: a.debits_posted,
          credits_pending: a.credits_pending, credits_posted: a.credits_posted, timestamp: t.timestamp,
        },
      });
    }
  }

  private postOrVoid(t: Transfer, ts: bigint): string {
    const post = has(t.flags, TF.post_pending_transfer);
    const voiding = has(t.flags, TF.void_pending_transfer);
    if (post && voiding) return 'flags_are_mutually_exclusive';
    for (const bit of [TF.pending, TF.balancing_debit, TF.balancing_credit, TF.closing_debit, TF.closing_credit]) {
      if (has(t.flags, bit)) return 'flags_are_mutually_exclusive';
    }
    if (t.pending_id === 0n) return 'pending_id_must_not_be_zero';
    if (t.pending_id === U128_MAX) return 'pending_id_must_not_be_int_max';
    if (t.pending_id === t.id) return 'pending_id_must_be_different';
    if (t.timeout !== 0) return 'timeout_reserved_for_pending_transfer';
    const p = this.s.transfers.get(t.pending_id);
    if (!p) return 'pending_transfer_not_found';
    if (!has(p.flags, TF.pending)) return 'pending_transfer_not_pending';
    if (t.debit_account_id !== 0n && t.debit_account_id !== p.debit_account_id) {
      return 'pending_transfer_has_different_debit_account_id';
    }
    if (t.credit_account_id !== 0n && t.credit_account_id !== p.credit_account_id) {
      return 'pending_transfer_has_different_credit_account_id';
    }
    if (t.ledger !== 0 && t.ledger !== p.ledger) return 'pending_transfer_has_different_ledger';
    if (t.code !== 0 && t.code !== p.code) return 'pending_transfer_has_different_code';
    let amount = t.amount;
    if (voiding && amount === 0n) amount = p.amount;
    if (post && amount === U128_MAX) amount = p.amount;
    if (amount > p.amount) return 'exceeds_pending_transfer_amount';
    if (voiding && amount < p.amount) return 'pending_transfer_has_different_amount';
    const status = this.s.status.get(p.id);
    if (status === 'posted') return 'pending_transfer_already_posted';
    if (status === 'voided') return 'pending_transfer_already_voided';
    if (status === 'expired') return 'pending_transfer_expired';
    if (p.timeout > 0 && p.timestamp + BigInt(p.timeout) * NS_PER_S <= ts) return 'pending_transfer_expired';
    if (has(t.flags, TF.imported) && this.importedRegresses(ts)) return 'imported_event_timestamp_must_not_regress';
    const dr = this.s.accounts.get(p.debit_account_id)!;
    const cr = this.s.accounts.get(p.credit_account_id)!;
    if (!voiding && has(dr.flags, AF.closed)) return 'debit_account_already_closed';
    if (!voiding && has(cr.flags, AF.closed)) return 'credit_account_already_closed';

    const stored: Transfer = {
      ...t, debit_account_id: p.debit_account_id, credit_account_id: p.credit_account_id, amount,
      user_data_128: t.user_data_128 || p.user_data_128, user_data_64: t.user_data_64 || p.user_data_64,
      user_data_32: t.user_data_32 || p.user_data_32, ledger: p.ledger, code: p.code, timestamp: ts,
    };
    this.s.transfers.set(t.id, stored);
    this.s.status.set(p.id, post ? 'posted' : 'voided');
    this.releasePending(p);
    if (post) {
      dr.debits_posted += amount;
      cr.credits_posted += amount;
    }
    this.record(stored, dr, cr);
    return 'ok';
  }

  // ---- Queries ---------------------------------------------------------------

  lookupAccounts(nowNs: bigint, ids: readonly bigint[]): Account[] {
    this.expireUpTo(this.base(nowNs));
    return ids.flatMap((id) => { const a = this.s.accounts.get(id); return a ? [{ ...a }] : []; });
  }

  lookupTransfers(nowNs: bigint, ids: readonly bigint[]): Transfer[] {
    this.expireUpTo(this.base(nowNs));
    return ids.flatMap((id) => { const t = this.s.transfers.get(id); return t ? [{ ...t }] : []; });
  }

  /** What both filters ask: a timestamp range within the clock that is not empty, and a limit. */
  private rangeAndLimitValid(f: AccountFilter | QueryFilter): boolean {
    if (f.timestamp_min > TIMESTAMP_MAX || f.timestamp_max > TIMESTAMP_MAX) return false;
    if (f.timestamp_max !== 0n && f.timestamp_min > f.timestamp_max) return false;
    return f.limit !== 0;
  }

  /** Both filters: the record's timestamp in range (max 0: unbounded), and each non-zero user data and code equal. */
  private fieldsMatch(f: AccountFilter | QueryFilter, r: Account | Transfer): boolean {
    const max = f.timestamp_max === 0n ? TIMESTAMP_MAX : f.timestamp_max;
    if (r.timestamp < f.timestamp_min || r.timestamp > max) return false;
    if (f.user_data_128 !== 0n && f.user_data_128 !== r.user_data_128) return false;
    if (f.user_data_64 !== 0n && f.user_data_64 !== r.user_data_64) return false;
    if (f.user_data_32 !== 0 && f.user_data_32 !== r.user_data_32) return false;
    return f.code === 0 || f.code === r.code;
  }

  /** Items in timestamp order, newest first when `reversed`, at most `limit` (and a batch). */
  private limitAndOrder<T>(reversed: boolean, limit: number, items: T[]): T[] {
    const ordered = reversed ? items.reverse() : items;
    return ordered.slice(0, Math.min(limit, BATCH_EVENTS_MAX));
  }

  private filterValid(f: AccountFilter): boolean {
    if (f.account_id === 0n || f.account_id === U128_MAX) return false;
    if (!this.rangeAndLimitValid(f) || f.flags >= 1 << 3) return false;
    return has(f.flags, FF.debits) || has(f.flags, FF.credits);
  }

  private filterMatches(f: AccountFilter, t: Transfer): boolean {
    const side = (t.debit_account_id === f.account_id && has(f.flags, FF.debits)) ||
      (t.credit_account_id === f.account_id && has(f.flags, FF.credits));
    return side && this.fieldsMatch(f, t);
  }

  getAccountTransfers(nowNs: bigint, f: AccountFilter): Transfer[] {
    this.expireUpTo(this.base(nowNs));
    if (!this.filterValid(f) || !this.s.accounts.has(f.account_id)) return [];
    const matching = [...this.s.transfers.values()].filter((t) => this.filterMatches(f, t));
    return this.limitAndOrder(has(f.flags, FF.reversed), f.limit, matching).map((t) => ({ ...t }));
  }

  getAccountBalances(nowNs: bigint, f: AccountFilter): AccountBalance[] {
    this.expireUpTo(this.base(nowNs));
    const a = this.s.accounts.get(f.account_id);
    if (!this.filterValid(f) || !a || !has(a.flags, AF.history)) return [];
    const matching = this.s.history.filter((h) =>
      h.accountId === f.account_id && this.filterMatches(f, this.s.transfers.get(h.transferId)!));
    return this.limitAndOrder(has(f.flags, FF.reversed), f.limit, matching).map((h) => ({ ...h.balance }));
  }

  private queryValid(f: QueryFilter): boolean {
    return this.rangeAndLimitValid(f) && (f.flags === 0 || f.flags === QF.reversed);
  }

  /** TigerBeetle's QueryFilter over any records: non-zero fields must be equal, timestamps in range, by timestamp. */
  private queried<T extends Account | Transfer>(f: QueryFilter, records: T[]): T[] {
    if (!this.queryValid(f)) return [];
    const matching = records.filter((r) => this.fieldsMatch(f, r) && (f.ledger === 0 || f.ledger === r.ledger));
    matching.sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1));
    return this.limitAndOrder(has(f.flags, QF.reversed), f.limit, matching).map((r) => ({ ...r }));
  }

  queryAccounts(nowNs: bigint, f: QueryFilter): Account[] {
    this.expireUpTo(this.base(nowNs));
    return this.queried(f, [...this.s.accounts.values()]);
  }

  queryTransfers(nowNs: bigint, f: QueryFilter): Transfer[] {
    this.expireUpTo(this.base(nowNs));
    return this.queried(f, [...this.s.transfers.values()]);
  }

  /** All accounts, in creation order (for comparing balances). */
  allAccounts(): Account[] {
    return [...this.s.accounts.values()].map((a) => ({ ...a }));
  }
}
