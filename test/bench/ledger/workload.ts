// test/bench/ledger/workload.ts: the one workload every system in the ledger
// benchmark runs (test/bench/ledger.bench.ts), so that their figures compare.
//
// ACCOUNTS customer accounts on one ledger, each with the flag
// debits_must_not_exceed_credits and an opening balance of OPENING_MINOR
// credited from one funding account before anything is timed. A transfer
// moves 1..AMOUNT_MAX_MINOR from one customer account to another, in one of
// two patterns:
//   uniform  debit and credit account uniform over all accounts;
//   hot      each side is one of the HOT_ACCOUNTS first accounts with
//            probability HOT_PERCENT (80/20: 80% of the touches hit 20% of
//            the accounts), else one of the others.
// Debit and credit are always different accounts. The pgbench scripts in
// ./postgres.ts draw the same distributions with pgbench's random(); the
// TypeScript systems draw them from one seeded xorshift32, so every run
// replays the same sequence.
//
// Ids: transfer i of QENEX request s has id (high u64 = s, low u64 = i + 1),
// time-ordered like TigerBeetle's; callers keep `s` unique per ledger.

import {
  BATCH_EVENTS_MAX, HEADER_BYTES, Operation, RECORD_BYTES, account, encodeAccounts, encodeTransfers, transfer,
} from '../../../host/client/ledger.ts';

export const ACCOUNTS = 10_000;
/** 20% of the accounts take 80% of the touches in the hot workload. */
export const HOT_ACCOUNTS = 2_000;
export const HOT_PERCENT = 80;
export const AMOUNT_MAX_MINOR = 1_000;
// So large that no random walk of a few million transfers of at most
// AMOUNT_MAX_MINOR overdraws an account: every transfer is expected to be
// created, and a failure is a finding the benchmark reports.
export const OPENING_MINOR = 1_000_000_000n;
/** The funding (equity) account: not flagged, so it may go negative. Not in the workload. */
export const FUNDING_ACCOUNT_ID = ACCOUNTS + 1;
export const LEDGER = 1;
export const CODE = 1;
/** Events per QENEX request: TigerBeetle's batch maximum. */
export const BATCH_EVENTS = BATCH_EVENTS_MAX;
export const BATCH_BYTES = HEADER_BYTES + BATCH_EVENTS * RECORD_BYTES;
/** Accounts the ledger must hold: the customers plus the funding account. */
export const LEDGER_ACCOUNTS = ACCOUNTS + 1;

export type Pattern = 'uniform' | 'hot';
export const PATTERNS: readonly Pattern[] = ['uniform', 'hot'];

const ACCOUNT_FLAG_DEBITS_MUST_NOT_EXCEED_CREDITS = 1 << 1;
export const CUSTOMER_FLAGS = ACCOUNT_FLAG_DEBITS_MUST_NOT_EXCEED_CREDITS;

/** xorshift32: small, fast and reproducible; the bias of `below` (modulo) is under 1e-5 here. */
export class Rng {
  constructor(private state: number) {
    if (state === 0) throw new Error('xorshift32 seed must not be zero');
  }

  next(): number {
    let x = this.state;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.state = x;
    return x;
  }

  /** Uniform in 0..n-1. */
  below(n: number): number {
    return this.next() % n;
  }
}

/** Transfers as columns (no objects, so generating millions stays cheap). */
export interface Pairs {
  debit: Uint32Array;
  credit: Uint32Array;
  amount: Uint32Array;
}

export function allocPairs(count: number): Pairs {
  return { debit: new Uint32Array(count), credit: new Uint32Array(count), amount: new Uint32Array(count) };
}

/** The range [lo, hi] of account ids that one side of a hot transfer falls in. */
function hotGroup(rng: Rng): [number, number] {
  return rng.below(100) < HOT_PERCENT ? [1, HOT_ACCOUNTS] : [HOT_ACCOUNTS + 1, ACCOUNTS];
}

/** Fills pairs[from..from+count) with transfers of `pattern` (the pgbench scripts mirror this). */
export function fillPairs(pattern: Pattern, rng: Rng, pairs: Pairs, from: number, count: number): void {
  for (let i = from; i < from + count; i++) {
    let debit: number;
    let lo = 1;
    let hi = ACCOUNTS;
    if (pattern === 'uniform') {
      debit = 1 + rng.below(ACCOUNTS);
    } else {
      const [dlo, dhi] = hotGroup(rng);
      debit = dlo + rng.below(dhi - dlo + 1);
      [lo, hi] = hotGroup(rng);
    }
    // Uniform over the group less the debit account, when the debit is in it.
    const same = debit >= lo && debit <= hi ? 1 : 0;
    let credit = lo + rng.below(hi - lo + 1 - same);
    if (same === 1 && credit >= debit) credit++;
    pairs.debit[i] = debit;
    pairs.credit[i] = credit;
    pairs.amount[i] = 1 + rng.below(AMOUNT_MAX_MINOR);
  }
}

/** Sum of amounts in pairs[from..from+count): exact in a number (at most ~1e13 here). */
export function sumAmounts(pairs: Pairs, from = 0, count = pairs.amount.length - from): number {
  let sum = 0;
  for (let i = from; i < from + count; i++) sum += pairs.amount[i];
  return sum;
}

/**
 * Writes a create_transfers request for pairs[from..from+count) into `out`
 * (BATCH_BYTES or more, reused between batches): the wire layout of
 * host/client/ledger.ts writeTransfer, with plain u32 stores instead of
 * bigints so that encoding millions of transfers stays off the timed path's
 * CPU. checkEncoder() proves the two agree.
 */
export function encodeBatch(out: Uint8Array, request: number, pairs: Pairs, from: number, count: number): Uint8Array {
  if (count < 1 || count > BATCH_EVENTS) throw new RangeError(`batch of ${count} events`);
  const bytes = out.subarray(0, HEADER_BYTES + count * RECORD_BYTES);
  bytes.fill(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint8(0, Operation.create_transfers);
  view.setUint32(4, count, true);
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + i * RECORD_BYTES;
    view.setUint32(at + 0, i + 1, true); // id, low u64
    view.setUint32(at + 8, request, true); // id, high u64
    view.setUint32(at + 16, pairs.debit[from + i], true);
    view.setUint32(at + 32, pairs.credit[from + i], true);
    view.setUint32(at + 48, pairs.amount[from + i], true);
    view.setUint32(at + 112, LEDGER, true);
    view.setUint16(at + 116, CODE, true);
  }
  return bytes;
}

/** Throws unless encodeBatch writes exactly what the client codec (encodeTransfers) writes. */
export function checkEncoder(): void {
  const pairs = allocPairs(3);
  fillPairs('hot', new Rng(7), pairs, 0, 3);
  const ours = encodeBatch(new Uint8Array(BATCH_BYTES), 5, pairs, 0, 3);
  const codec = encodeTransfers(Array.from({ length: 3 }, (_, i) => transfer({
    id: (5n << 64n) | BigInt(i + 1), debit_account_id: BigInt(pairs.debit[i]), credit_account_id: BigInt(pairs.credit[i]),
    amount: BigInt(pairs.amount[i]), ledger: LEDGER, code: CODE,
  })));
  if (Buffer.compare(ours, codec) !== 0) throw new Error('encodeBatch disagrees with host/client/ledger.ts encodeTransfers');
}

/**
 * The untimed setup every QENEX ledger gets, as requests in order: the
 * accounts, then one funding transfer of OPENING_MINOR per customer (ids
 * with high u64 = 0, so they never meet a workload id, whose high u64 is a
 * request number from 1).
 */
export function setupRequests(): { accounts: Uint8Array[]; funding: Uint8Array[] } {
  const accounts: Uint8Array[] = [];
  const funding: Uint8Array[] = [];
  const all = Array.from({ length: LEDGER_ACCOUNTS }, (_, i) => account({
    id: BigInt(i + 1), ledger: LEDGER, code: CODE, flags: i + 1 === FUNDING_ACCOUNT_ID ? 0 : CUSTOMER_FLAGS,
  }));
  for (let at = 0; at < all.length; at += BATCH_EVENTS) accounts.push(encodeAccounts(all.slice(at, at + BATCH_EVENTS)));
  const fund = Array.from({ length: ACCOUNTS }, (_, i) => transfer({
    id: BigInt(i + 1), debit_account_id: BigInt(FUNDING_ACCOUNT_ID), credit_account_id: BigInt(i + 1),
    amount: OPENING_MINOR, ledger: LEDGER, code: CODE,
  }));
  for (let at = 0; at < fund.length; at += BATCH_EVENTS) funding.push(encodeTransfers(fund.slice(at, at + BATCH_EVENTS)));
  return { accounts, funding };
}

/** Events in a create request (its header's count). */
export function eventCount(request: Uint8Array): number {
  return new DataView(request.buffer, request.byteOffset, request.byteLength).getUint32(4, true);
}

/** Count of create results that are not `ok` in a create_transfers reply (u32 result per 16 bytes). */
export function countFailed(reply: Uint8Array, events: number): number {
  if (reply.length !== events * 16) throw new Error(`reply of ${reply.length} bytes for ${events} events`);
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  let failed = 0;
  for (let i = 0; i < events; i++) if (view.getUint32(i * 16, true) !== 0) failed++;
  return failed;
}

/** Count of each non-ok result code in a create_transfers reply, for notes. */
export function failedCodes(reply: Uint8Array): Map<number, number> {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  const codes = new Map<number, number>();
  for (let at = 0; at + 16 <= reply.length; at += 16) {
    const code = view.getUint32(at, true);
    if (code !== 0) codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  return codes;
}
