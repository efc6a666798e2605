// Differential fuzzing of the ledger: the AssemblyScript service
// (services/ledger through test/ledger/harness.ts) against the TypeScript
// reference model (test/ledger/model.ts) on batches fast-check generates
// and shrinks. Proves: for every generated sequence of account batches,
// transfer batches (posted, pending, post/void, balancing, closing, linked,
// imported, with colliding ids and extreme amounts), clock advances and
// timers, both give the same result and timestamp per event, the same
// balances for every account, and the same answers to lookups and to
// query_accounts / query_transfers (filters near the newest timestamps); the money
// invariants hold after every step (checked by util.ts). A counterexample
// is shrunk to a small batch sequence.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  AccountFlags as AF, QueryFilterFlags as QF, TransferFlags as TF, U128_MAX, createAccountResultName, createTransferResultName,
  type Account, type Transfer,
} from '../../host/client/ledger.ts';
import { Model } from '../ledger/model.ts';
import * as u from '../ledger/util.ts';
import { count, fuzzParams, printSummary } from './support.ts';

const CAPACITY = { accounts_max: 16, transfers_max: 96, pending_max: 8, history_max: 48 };
const NS = 1_000_000_000n;

const id = fc.bigInt({ min: 0n, max: 10n });
const amount = fc.oneof(
  { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 40n }) },
  { weight: 1, arbitrary: fc.constantFrom(U128_MAX, U128_MAX - 1n, 1n << 127n, 1n << 64n) },
);
const accountFlags = fc.constantFrom(0, 0, AF.history, AF.debits_must_not_exceed_credits, AF.credits_must_not_exceed_debits,
  AF.linked, AF.closed, AF.debits_must_not_exceed_credits | AF.credits_must_not_exceed_debits, 1 << 9);
const transferFlags = fc.constantFrom(0, 0, 0, TF.pending, TF.pending, TF.linked, TF.post_pending_transfer, TF.void_pending_transfer,
  TF.balancing_debit, TF.balancing_credit, TF.closing_debit | TF.pending, TF.closing_credit | TF.pending,
  TF.pending | TF.linked, TF.post_pending_transfer | TF.linked, 1 << 12);

const accountArb: fc.Arbitrary<Account> = fc.record({
  id: id.map((x) => x + 1n), ledger: fc.constantFrom(1, 1, 1, 2, 0), code: fc.constantFrom(1, 1, 2, 0), flags: accountFlags,
  user_data_32: fc.constantFrom(0, 1), credits_posted: fc.constantFrom(0n, 0n, 0n, 1n),
}).map((f) => u.account(f));

const transferArb: fc.Arbitrary<Transfer> = fc.record({
  id: fc.oneof(id.map((x) => x + 100n), fc.constant(0n)), debit_account_id: id, credit_account_id: id, amount,
  pending_id: fc.oneof({ weight: 3, arbitrary: fc.constant(0n) }, { weight: 2, arbitrary: id.map((x) => x + 100n) }),
  flags: transferFlags, ledger: fc.constantFrom(1, 1, 1, 2, 0), code: fc.constantFrom(1, 1, 2, 0),
  timeout: fc.constantFrom(0, 0, 1, 2), user_data_64: fc.constantFrom(0n, 1n),
}).map((f) => u.transfer(f));

type Step =
  | { kind: 'accounts'; batch: Account[] }
  | { kind: 'transfers'; batch: Transfer[] }
  | { kind: 'advance'; seconds: number; fire: boolean }
  | { kind: 'lookup'; ids: bigint[] }
  | { kind: 'query'; filter: QueryShape };

/**
 * A QueryFilter whose timestamps are offsets back from the newest one when the
 * step runs (generated steps cannot know it): 0 = unbounded.
 */
interface QueryShape {
  minBack: number; span: number; ledger: number; code: number; user_data_32: number; user_data_64: bigint; limit: number; flags: number;
}

const queryArb: fc.Arbitrary<QueryShape> = fc.record({
  minBack: fc.constantFrom(0, 0, 1, 3, 8, 40), span: fc.constantFrom(0, 0, 2, 10, -1), ledger: fc.constantFrom(0, 0, 1, 2),
  code: fc.constantFrom(0, 0, 1, 2), user_data_32: fc.constantFrom(0, 0, 1), user_data_64: fc.constantFrom(0n, 0n, 1n),
  limit: fc.constantFrom(100, 100, 1, 3, 0), flags: fc.constantFrom(0, QF.reversed, QF.reversed, 1 << 1),
});

/** The filter of `q` when the newest timestamp is `last` (span -1: max below min, an invalid range). */
function queryFilterAt(q: QueryShape, last: bigint): ReturnType<typeof u.queryFilter> {
  const min = q.minBack === 0 || last <= BigInt(q.minBack) ? 0n : last - BigInt(q.minBack);
  const max = q.span === 0 ? 0n : q.span < 0 ? (min > 1n ? min - 1n : 0n) : min + BigInt(q.span);
  return u.queryFilter({
    ledger: q.ledger, code: q.code, user_data_32: q.user_data_32, user_data_64: q.user_data_64,
    timestamp_min: min, timestamp_max: max, limit: q.limit, flags: q.flags,
  });
}

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.array(accountArb, { minLength: 1, maxLength: 6 }).map((batch) => ({ kind: 'accounts' as const, batch })) },
  { weight: 6, arbitrary: fc.array(transferArb, { minLength: 1, maxLength: 8 }).map((batch) => ({ kind: 'transfers' as const, batch })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 0, max: 3 }), fire: fc.boolean() }) },
  { weight: 1, arbitrary: fc.array(id.map((x) => x + 100n), { minLength: 1, maxLength: 4 }).map((ids) => ({ kind: 'lookup' as const, ids })) },
  { weight: 1, arbitrary: queryArb.map((filter) => ({ kind: 'query' as const, filter })) },
);

function run(steps: Step[]): void {
  count('ledger-differential');
  const l = u.ledger(CAPACITY);
  const m = new Model(CAPACITY);
  // Accounts 1..6 exist from the start so most transfers reach the interesting checks;
  // account 5 is on ledger 2, so queries by ledger see two ledgers from the first step.
  const opening = Array.from({ length: 6 }, (_, i) => u.account({ id: BigInt(i + 1), ledger: i === 4 ? 2 : 1, code: 1, flags: i === 5 ? AF.history : 0 }));
  assert.equal(u.createAccounts(l, opening), m.createAccounts(l.nowNs, opening).map((r) => ({ name: createAccountResultName(r.result), timestamp: r.timestamp })));
  steps.forEach((s, i) => {
    const where = `step ${i} (${s.kind})`;
    if (s.kind === 'accounts') {
      const actual = u.createAccounts(l, s.batch);
      const expected = m.createAccounts(l.nowNs, s.batch).map((r) => ({ name: createAccountResultName(r.result), timestamp: r.timestamp }));
      assert.equal(actual, expected, `${where}: create_accounts results`);
    } else if (s.kind === 'transfers') {
      const actual = u.createTransfers(l, s.batch);
      const expected = m.createTransfers(l.nowNs, s.batch).map((r) => ({ name: createTransferResultName(r.result), timestamp: r.timestamp }));
      assert.equal(actual, expected, `${where}: create_transfers results`);
    } else if (s.kind === 'advance') {
      l.nowNs += BigInt(s.seconds) * NS + 1n;
      if (s.fire && l.fireDueTimers() > 0) m.timer(l.nowNs);
    } else if (s.kind === 'lookup') {
      assert.equal(u.lookupTransfers(l, s.ids), m.lookupTransfers(l.nowNs, s.ids), `${where}: lookup_transfers`);
    } else {
      const f = queryFilterAt(s.filter, m.lastTimestamp);
      assert.equal(u.queryAccounts(l, f), m.queryAccounts(l.nowNs, f), `${where}: query_accounts`);
      assert.equal(u.queryTransfers(l, f), m.queryTransfers(l.nowNs, f), `${where}: query_transfers`);
    }
    const all = m.allAccounts();
    assert.equal(u.lookupAccounts(l, all.map((a) => a.id)), m.lookupAccounts(l.nowNs, all.map((a) => a.id)), `${where}: every account`);
  });
}

test('the wasm ledger and the reference model agree on generated batch sequences', () => {
  fc.assert(fc.property(fc.array(stepArb, { minLength: 1, maxLength: 12 }), (steps) => run(steps)), fuzzParams(150, 20));
});

test.after(() => printSummary('ledger-differential'));
test.run();
