// The ledger's event records ("events": true): one emit per create_transfers
// batch holding exactly the transfers it committed, as stored (resolved
// fields, the ledger's timestamps), and nothing for failed events, rolled
// back linked chains, accounts or queries; nothing at all when the config
// leaves events off.
//
//   node --import tsx test/ledger/events.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ledger } from './harness.ts';
import { TransferFlags, readTransfer } from '../../host/client/ledger.ts';
import * as u from './util.ts';

const CONFIG = '{"accounts_max":64,"transfers_max":256,"pending_max":16,"history_max":16,"events":true}';

function emitted(l: Ledger) {
  return l.events.map((e) => Array.from({ length: e.count }, (_, i) => readTransfer(new DataView(e.records.buffer, i * 128, 128), 0)));
}

test('a batch emits one record of exactly its committed transfers, as stored', () => {
  // Proves the record holds the committed transfers only, with the reply's timestamps and resolved fields.
  const l = new Ledger(CONFIG);
  u.createAccounts(l, [1n, 2n, 3n].map((id) => u.account({ id, ledger: 1, code: 1 })));
  assert.is(l.events.length, 0, 'accounts emit nothing');
  const results = u.createTransfers(l, [
    u.transfer({ id: 10n, debit_account_id: 1n, credit_account_id: 2n, amount: 5n, ledger: 1, code: 9 }),
    u.transfer({ id: 11n, debit_account_id: 1n, credit_account_id: 99n, amount: 5n, ledger: 1, code: 9 }), // no such account
    u.transfer({ id: 12n, debit_account_id: 2n, credit_account_id: 3n, amount: 7n, ledger: 1, code: 9, flags: TransferFlags.linked }),
    u.transfer({ id: 13n, debit_account_id: 2n, credit_account_id: 2n, amount: 7n, ledger: 1, code: 9 }), // fails: the chain rolls back
    u.transfer({ id: 14n, debit_account_id: 3n, credit_account_id: 1n, amount: 1n, ledger: 1, code: 9, flags: TransferFlags.pending }),
  ]);
  assert.equal(results.map((r) => r.name), ['created', 'credit_account_not_found', 'linked_event_failed', 'accounts_must_be_different', 'created']);
  const [record] = emitted(l);
  assert.is(l.events.length, 1, 'one record per batch');
  assert.equal(record.map((t) => t.id), [10n, 14n]);
  assert.equal(record.map((t) => t.timestamp), [results[0].timestamp, results[4].timestamp]);
  assert.is(record[0].amount, 5n);
  assert.is(record[0].code, 9);
  // A post of the pending transfer with amount 0 and no accounts: the record has them resolved.
  u.createTransfers(l, [u.transfer({ id: 15n, pending_id: 14n, ledger: 1, code: 9, flags: TransferFlags.post_pending_transfer, amount: 2n ** 128n - 1n })]);
  const post = emitted(l)[1][0];
  assert.is(post.id, 15n);
  assert.is(post.debit_account_id, 3n);
  assert.is(post.credit_account_id, 1n);
  assert.is(post.amount, 1n);
  u.createTransfers(l, [u.transfer({ id: 10n, debit_account_id: 1n, credit_account_id: 2n, amount: 5n, ledger: 1, code: 9 })]);
  assert.is(l.events.length, 2, 'a batch that commits nothing (exists) emits nothing');
  u.lookupTransfers(l, [10n]);
  assert.is(l.events.length, 2, 'queries emit nothing');
});

test('without "events": true nothing is emitted', () => {
  // Proves the config switch (the benchmarks compare both).
  const l = new Ledger('{"accounts_max":64,"transfers_max":256,"pending_max":16,"history_max":16}');
  u.createAccounts(l, [1n, 2n].map((id) => u.account({ id, ledger: 1, code: 1 })));
  u.createTransfers(l, [u.transfer({ id: 10n, debit_account_id: 1n, credit_account_id: 2n, amount: 5n, ledger: 1, code: 9 })]);
  assert.is(l.events.length, 0);
});

test('a malformed events value stops the service at boot', () => {
  // Proves the config parser's boolean: anything but true/false is refused.
  assert.throws(() => new Ledger('{"events":1}'), /ledger config: expected true or false at byte/);
  assert.throws(() => new Ledger('{"events":tru}'), /ledger config: expected true or false at byte/);
});

test.run();
