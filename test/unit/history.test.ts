// The failover tests' history checker (test/support/history.ts) passes the
// histories a correct ledger can produce and names each kind of violation:
// an acknowledged transfer lost, a refused one applied, a transfer counted
// twice in a balance, debits that differ from credits. Its readBack asks in
// batches no larger than the ledger takes and refuses a duplicated answer.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { History, readBack, type Balance, type PresentTransfer, type TransferOp } from '../support/history.ts';
import { BATCH_EVENTS_MAX, account, transfer, type LedgerClient } from '../../host/client/ledger.ts';

// Three transfers among accounts 1, 2 and 3: 10 from 1 to 2, 20 from 2 to 3, 30 from 3 to 1.
const OPS: readonly Omit<TransferOp, 'outcome'>[] = [
  { id: 101n, debit: 1n, credit: 2n, amount: 10n },
  { id: 102n, debit: 2n, credit: 3n, amount: 20n },
  { id: 103n, debit: 3n, credit: 1n, amount: 30n },
];

function historyOf(outcomes: TransferOp['outcome'][]): History {
  const h = new History();
  OPS.forEach((op, i) => h.record({ ...op, outcome: outcomes[i] }));
  return h;
}

/** The ledger's state with the transfers of `ids` applied once each. */
function stateWith(ids: bigint[]): { present: Map<bigint, PresentTransfer>; balances: Map<bigint, Balance> } {
  const present = new Map<bigint, PresentTransfer>();
  const balances = new Map<bigint, Balance>([1n, 2n, 3n].map((id) => [id, { debitsPosted: 0n, creditsPosted: 0n }]));
  for (const op of OPS.filter((o) => ids.includes(o.id))) {
    present.set(op.id, { debit: op.debit, credit: op.credit, amount: op.amount });
    balances.get(op.debit)!.debitsPosted += op.amount;
    balances.get(op.credit)!.creditsPosted += op.amount;
  }
  return { present, balances };
}

test('histories a correct ledger produces pass, with their counts', () => {
  // Proves: all acknowledged and present; a failed one absent; unknown ones
  // either way (counted in unknownApplied when present); nothing at all.
  const all = stateWith([101n, 102n, 103n]);
  assert.equal(historyOf(['ok', 'ok', 'ok']).check(all.present, all.balances), { ok: 3, failed: 0, unknown: 0, unknownApplied: 0, problems: [] });
  const two = stateWith([101n, 103n]);
  assert.equal(historyOf(['ok', 'failed', 'unknown']).check(two.present, two.balances), { ok: 1, failed: 1, unknown: 1, unknownApplied: 1, problems: [] });
  const none = stateWith([]);
  assert.equal(historyOf(['unknown', 'failed', 'unknown']).check(none.present, none.balances), { ok: 0, failed: 1, unknown: 2, unknownApplied: 0, problems: [] });
});

test('an acknowledged transfer missing is a problem', () => {
  // Proves a lost acknowledged write is named, balances agreeing or not.
  const s = stateWith([101n, 103n]);
  assert.equal(historyOf(['ok', 'ok', 'ok']).check(s.present, s.balances).problems, ['transfer 102 was acknowledged but is absent']);
});

test('a failed transfer present is a problem', () => {
  // Proves a write the client was told failed must not have been applied.
  const s = stateWith([101n, 102n, 103n]);
  assert.equal(historyOf(['ok', 'failed', 'ok']).check(s.present, s.balances).problems, ['transfer 102 failed but is present']);
});

test('a balance counting a transfer twice is a problem', () => {
  // Proves a transfer applied twice (its id present once, its amount posted
  // twice, as a retry without idempotence would) is caught by the balances.
  const s = stateWith([101n, 102n, 103n]);
  s.balances.get(1n)!.debitsPosted += 10n;
  s.balances.get(2n)!.creditsPosted += 10n;
  assert.equal(historyOf(['ok', 'ok', 'unknown']).check(s.present, s.balances).problems, [
    'account 1 has debits posted 20, the present transfers debit 10',
    'account 2 has credits posted 20, the present transfers credit 10',
  ]);
});

test('total debits different from total credits is a problem', () => {
  // Proves a one-sided posting is named by the totals as well as by its account.
  const s = stateWith([101n, 102n, 103n]);
  s.balances.get(3n)!.creditsPosted += 5n;
  assert.equal(historyOf(['ok', 'ok', 'ok']).check(s.present, s.balances).problems, [
    'account 3 has credits posted 25, the present transfers credit 20',
    'total debits posted 60 != total credits posted 65',
  ]);
});

test('fields that differ, an id recorded twice, an unrecorded transfer and an unread account are problems', () => {
  // Proves the remaining checks each say what they found.
  const s = stateWith([101n, 102n, 103n]);
  s.present.set(102n, { debit: 2n, credit: 3n, amount: 21n });
  s.present.set(104n, { debit: 1n, credit: 4n, amount: 0n });
  s.balances.get(2n)!.debitsPosted = 21n;
  s.balances.get(3n)!.creditsPosted = 21n;
  const h = historyOf(['ok', 'ok', 'ok']);
  h.record({ ...OPS[0], outcome: 'failed' });
  assert.equal(h.check(s.present, s.balances).problems, [
    'transfer 101 is recorded more than once',
    'transfer 102 is present as 2->3 amount 21, recorded as 2->3 amount 20',
    'transfer 104 is present but was never recorded',
    'account 4 is touched by present transfers but was not read back',
  ]);
});

/** A LedgerClient stand-in answering lookups from maps, noting each batch's size. */
function fakeLedger(batches: number[], duplicate = false): LedgerClient {
  return {
    lookupTransfers: async (ids: readonly bigint[]) => {
      batches.push(ids.length);
      const found = ids.filter((id) => id % 2n === 0n).map((id) => transfer({ id, debit_account_id: 1n, credit_account_id: 2n, amount: id }));
      return duplicate ? [...found, ...found.slice(0, 1)] : found;
    },
    lookupAccounts: async (ids: readonly bigint[]) => {
      batches.push(ids.length);
      return ids.map((id) => account({ id, debits_posted: id, credits_posted: 0n }));
    },
  } as unknown as LedgerClient;
}

test('readBack asks in batches the ledger takes and refuses a duplicated answer', async () => {
  // Proves: more ids than BATCH_EVENTS_MAX are split into full batches plus
  // the rest; only present transfers are returned; an id answered twice throws.
  const batches: number[] = [];
  const ids = Array.from({ length: BATCH_EVENTS_MAX + 3 }, (_, i) => BigInt(i + 1));
  const { present, balances } = await readBack(fakeLedger(batches), ids, [1n, 2n, 2n]);
  assert.equal(batches, [BATCH_EVENTS_MAX, 3, 2]);
  assert.is(present.size, Math.floor(ids.length / 2));
  assert.equal(present.get(4n), { debit: 1n, credit: 2n, amount: 4n });
  assert.equal(balances.get(2n), { debitsPosted: 2n, creditsPosted: 0n });
  try {
    await readBack(fakeLedger([], true), [2n, 4n], []);
    assert.unreachable('a duplicated answer was accepted');
  } catch (e) {
    assert.match((e as Error).message, /lookup_transfers returned transfer 2 twice or unasked/);
  }
});

test.run();
