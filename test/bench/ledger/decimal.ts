// test/bench/ledger/decimal.ts: the peer a team would write first, the same
// double-entry workload in plain Node.js with decimal.js amounts, in-process
// and with no durability at all.
//
// A Map of accounts with Decimal balances (a decimal.js clone with
// PRECISION_DIGITS significant digits, enough for u128 amounts) and a Map of
// transfers by id. Each transfer gets the checks the QENEX ledger makes on
// the same input, in TigerBeetle's order where it matters: the id is new,
// both accounts exist and differ, their ledgers match the transfer's, and
// the debit account's balance rule holds; then both sides move and the
// transfer is recorded with a timestamp. Not checked: u128 overflow of the
// sums (a Decimal does not overflow; the bound is the wire format's, and
// checking it costs this peer about a fifth of its rate). The
// input is the workload as integer columns; turning an amount into a Decimal
// is part of the timed work, as parsing a request would be.

import Decimal from 'decimal.js';
import { ACCOUNTS, CODE, CUSTOMER_FLAGS, FUNDING_ACCOUNT_ID, LEDGER, OPENING_MINOR, Rng, allocPairs, fillPairs, type Pattern } from './workload.ts';

// 39 digits hold any u128 (2^128 - 1 has 39); one more keeps a sum of two exact.
const PRECISION_DIGITS = 40;
const D = Decimal.clone({ precision: PRECISION_DIGITS, rounding: Decimal.ROUND_DOWN });

// TigerBeetle's result codes for the checks made here (host/client/ledger.ts).
const OK = 0;
const EXISTS = 46;
const ACCOUNTS_MUST_BE_DIFFERENT = 12;
const DEBIT_ACCOUNT_NOT_FOUND = 21;
const CREDIT_ACCOUNT_NOT_FOUND = 22;
const ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER = 23;
const TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS = 24;
const EXCEEDS_CREDITS = 54;

const DEBITS_MUST_NOT_EXCEED_CREDITS = 1 << 1;

// Warm-up transfers before the clock starts, so that V8 has optimised the
// loop and decimal.js's hot paths (a few thousand calls suffice; this is ample).
export const DECIMAL_WARMUP_TRANSFERS = 100_000;

interface AccountRecord {
  id: number;
  ledger: number;
  flags: number;
  debitsPosted: Decimal;
  creditsPosted: Decimal;
}

interface TransferRecord {
  id: number;
  debit: number;
  credit: number;
  amount: Decimal;
  ledger: number;
  code: number;
  timestamp: number;
}

class DecimalLedger {
  readonly accounts = new Map<number, AccountRecord>();
  readonly transfers = new Map<number, TransferRecord>();
  private timestamp = 0;

  constructor() {
    for (let id = 1; id <= ACCOUNTS + 1; id++) {
      const flags = id === FUNDING_ACCOUNT_ID ? 0 : CUSTOMER_FLAGS;
      this.accounts.set(id, { id, ledger: LEDGER, flags, debitsPosted: new D(0), creditsPosted: new D(0) });
    }
    // The opening balances, as the QENEX ledgers get them from funding transfers.
    const opening = new D(OPENING_MINOR.toString());
    const funding = this.accounts.get(FUNDING_ACCOUNT_ID)!;
    funding.debitsPosted = opening.times(ACCOUNTS);
    for (let id = 1; id <= ACCOUNTS; id++) this.accounts.get(id)!.creditsPosted = opening;
  }

  create(id: number, debitId: number, creditId: number, amountMinor: number, ledger: number, code: number): number {
    if (this.transfers.has(id)) return EXISTS;
    if (debitId === creditId) return ACCOUNTS_MUST_BE_DIFFERENT;
    const debit = this.accounts.get(debitId);
    if (debit === undefined) return DEBIT_ACCOUNT_NOT_FOUND;
    const credit = this.accounts.get(creditId);
    if (credit === undefined) return CREDIT_ACCOUNT_NOT_FOUND;
    if (debit.ledger !== credit.ledger) return ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER;
    if (ledger !== debit.ledger) return TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS;
    const amount = new D(amountMinor);
    const debits = debit.debitsPosted.plus(amount);
    if ((debit.flags & DEBITS_MUST_NOT_EXCEED_CREDITS) !== 0 && debits.gt(debit.creditsPosted)) return EXCEEDS_CREDITS;
    debit.debitsPosted = debits;
    credit.creditsPosted = credit.creditsPosted.plus(amount);
    this.timestamp++;
    this.transfers.set(id, { id, debit: debitId, credit: creditId, amount, ledger, code, timestamp: this.timestamp });
    return OK;
  }

  /** Σ debits = Σ credits over all accounts: the double-entry invariant. */
  balanced(): boolean {
    let debits = new D(0);
    let credits = new D(0);
    for (const a of this.accounts.values()) { debits = debits.plus(a.debitsPosted); credits = credits.plus(a.creditsPosted); }
    return debits.eq(credits);
  }
}

export interface DecimalResult {
  transfers: number;
  elapsedMs: number;
  failed: number;
}

/** Runs the warm-up and then `transfers` timed transfers of `pattern` on a fresh ledger. */
export function runDecimal(pattern: Pattern, transfers: number, seed: number): DecimalResult {
  const ledger = new DecimalLedger();
  const total = DECIMAL_WARMUP_TRANSFERS + transfers;
  const pairs = allocPairs(total);
  fillPairs(pattern, new Rng(seed), pairs, 0, total);
  let failed = 0;
  for (let i = 0; i < DECIMAL_WARMUP_TRANSFERS; i++) {
    if (ledger.create(i + 1, pairs.debit[i], pairs.credit[i], pairs.amount[i], LEDGER, CODE) !== OK) failed++;
  }
  const started = performance.now();
  for (let i = DECIMAL_WARMUP_TRANSFERS; i < total; i++) {
    if (ledger.create(i + 1, pairs.debit[i], pairs.credit[i], pairs.amount[i], LEDGER, CODE) !== OK) failed++;
  }
  const elapsedMs = performance.now() - started;
  if (!ledger.balanced()) throw new Error(`decimal.js ledger (${pattern}): debits and credits differ`);
  return { transfers, elapsedMs, failed };
}
