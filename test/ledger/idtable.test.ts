// The ledger's id tables (services/ledger/assembly/idtable.ts) keep ids in
// the records they point at, and the ids of transiently failed transfers
// ("orphans") in transfer slots taken from the top of the table down. These
// tests prove, through the service's own interface, that orphans and
// transfers never overwrite each other even when together they fill the
// table, and that rolling back linked chains (the only deletion) loses or
// invents no id in a table filled to its limit with ids spread over all 128
// bits, capacity included.
//
//   node --import tsx test/ledger/idtable.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TransferFlags as TF, type Transfer } from '../../host/client/ledger.ts';
import * as u from './util.ts';

function tr(id: bigint, debit: bigint, credit: bigint, amount: bigint, fields: Partial<Transfer> = {}): Transfer {
  return u.transfer({ id, debit_account_id: debit, credit_account_id: credit, amount, ledger: 1, code: 1, ...fields });
}

function twoAccounts(capacity: Parameters<typeof u.ledger>[0]) {
  const l = u.ledger(capacity);
  assert.equal(u.accountNames(l, [u.account({ id: 1n, ledger: 1, code: 1 }), u.account({ id: 2n, ledger: 1, code: 1 })]),
    ['created', 'created']);
  return l;
}

test('orphans and transfers fill the table together without overwriting each other', () => {
  // Proves: orphan ids live apart from transfer records, both count against transfers_max,
  // and every id keeps answering as what it is once the table is full.
  const l = twoAccounts({ accounts_max: 4, transfers_max: 6, pending_max: 1, history_max: 1 });
  assert.equal(u.transferNames(l, [tr(1n, 1n, 2n, 11n), tr(2n, 1n, 2n, 12n)]), ['created', 'created']);
  // Account 9 does not exist: a transient failure, so the id is remembered.
  assert.equal(u.transferNames(l, [tr(10n, 9n, 2n, 1n), tr(11n, 1n, 9n, 1n), tr(12n, 9n, 2n, 1n)]),
    ['debit_account_not_found', 'credit_account_not_found', 'debit_account_not_found']);
  assert.equal(u.transferNames(l, [tr(3n, 1n, 2n, 13n)]), ['created']);
  // 3 transfers + 3 orphans = transfers_max.
  assert.equal(u.transferNames(l, [tr(20n, 1n, 2n, 1n)]), ['transfers_full']);
  assert.equal(u.transferNames(l, [tr(10n, 1n, 2n, 1n), tr(11n, 1n, 2n, 1n), tr(12n, 1n, 2n, 1n)]),
    ['id_already_failed', 'id_already_failed', 'id_already_failed']);
  assert.equal(u.transferNames(l, [tr(1n, 1n, 2n, 11n), tr(2n, 1n, 2n, 12n), tr(3n, 1n, 2n, 13n)]),
    ['exists', 'exists', 'exists']);
  const found = u.lookupTransfers(l, [1n, 2n, 3n, 10n, 11n, 12n, 20n]);
  assert.equal(found.map((t) => [t.id, t.amount]), [[1n, 11n], [2n, 12n], [3n, 13n]]);
  // A post of an orphan id finds no pending transfer.
  const m = twoAccounts({ accounts_max: 4, transfers_max: 4, pending_max: 1, history_max: 1 });
  assert.equal(u.transferNames(m, [tr(5n, 9n, 2n, 1n)]), ['debit_account_not_found']);
  assert.equal(u.transferNames(m, [tr(6n, 0n, 0n, 1n, { flags: TF.post_pending_transfer, pending_id: 5n })]),
    ['pending_transfer_not_found']);
  assert.equal(m.checkInvariants(), 0);
});

/** xorshift64: 128-bit ids spread over every bit, reproducibly. */
function ids(seed: bigint): () => bigint {
  let x = seed;
  const next = (): bigint => {
    x ^= (x << 13n) & 0xffffffffffffffffn;
    x ^= x >> 7n;
    x ^= (x << 17n) & 0xffffffffffffffffn;
    return x;
  };
  return () => {
    for (;;) {
      const id = (next() << 64n) | next();
      if (id !== 0n && id !== (1n << 128n) - 1n) return id;
    }
  };
}

test('rolled-back chains leave exactly the created ids, in a table at its limit', () => {
  // Proves: after thousands of removals, every created id is found, no removed one is, and the
  // removed ids' room is free again (the table fills exactly at transfers_max ids).
  const TRANSFERS_MAX = 6000;
  const l = twoAccounts({ accounts_max: 4, transfers_max: TRANSFERS_MAX, pending_max: 1, history_max: 1 });
  const nextId = ids(0x9e3779b97f4a7c15n);
  const created: bigint[] = [];
  const rolledBack: bigint[] = [];
  // Each round leaves one orphan and one transfer (its chain needs room for two more ids
  // while it runs): after TRANSFERS_MAX / 2 - 1 rounds, two ids are free.
  for (let round = 0; round < TRANSFERS_MAX / 2 - 1; round++) {
    // A chain of 3 that fails at its last event (account 9 is missing, a transient failure),
    // then a single transfer that is created.
    const chain = [tr(nextId(), 1n, 2n, 1n, { flags: TF.linked }), tr(nextId(), 1n, 2n, 1n, { flags: TF.linked }),
      tr(nextId(), 9n, 2n, 1n)];
    const single = tr(nextId(), 1n, 2n, 1n);
    assert.equal(u.transferNames(l, [...chain, single]),
      ['linked_event_failed', 'linked_event_failed', 'debit_account_not_found', 'created'], `round ${round}`);
    rolledBack.push(chain[0].id, chain[1].id);
    created.push(single.id);
  }
  // Now the chain's third id finds the table full; the single transfer fits, then one orphan.
  const chain = [tr(nextId(), 1n, 2n, 1n, { flags: TF.linked }), tr(nextId(), 1n, 2n, 1n, { flags: TF.linked }),
    tr(nextId(), 9n, 2n, 1n)];
  const single = tr(nextId(), 1n, 2n, 1n);
  const orphan = tr(nextId(), 9n, 2n, 1n);
  assert.equal(u.transferNames(l, [...chain, single, orphan]),
    ['linked_event_failed', 'linked_event_failed', 'transfers_full', 'created', 'debit_account_not_found']);
  rolledBack.push(chain[0].id, chain[1].id);
  created.push(single.id);
  for (let at = 0; at < created.length; at += 8189) {
    const batch = created.slice(at, at + 8189);
    assert.equal(u.lookupTransfers(l, batch).map((t) => t.id), batch, 'every created id is found');
  }
  assert.equal(u.lookupTransfers(l, rolledBack.slice(0, 8189)), [], 'no rolled-back id is found');
  assert.equal(u.transferNames(l, [tr(orphan.id, 1n, 2n, 1n), tr(created[0], 1n, 2n, 1n)]), ['id_already_failed', 'exists']);
  // The table is full, so a rolled-back id now gets transfers_full (not exists or id_already_failed).
  assert.equal(u.transferNames(l, [tr(rolledBack[0], 1n, 2n, 1n)]), ['transfers_full']);
  assert.equal(l.checkInvariants(), 0);
});

test.run();
