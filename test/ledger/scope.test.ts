// A request with a scope (services/ledger/assembly/scope.ts): for a create,
// what lies on a ledger outside the caller's scope answers as if it did not
// exist, and an id taken there answers one constant result, so a key
// limited to ledger 1 learns nothing about ledger 2 from its own creates.
// The same requests without a scope get TigerBeetle's precise results (so
// the test fails if the scope stopped hiding anything). Lookups and
// get_account_transfers with a scope answer only the records on its
// ledgers, logged and read the same; balance history refuses a scope.
//
//   node --import tsx test/ledger/scope.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AccountFilterFlags, TransferFlags, accountFilter, createAccountResultName, createTransferResultName, decodeAccounts, decodeCreateResults,
  decodeTransfers, encodeAccounts, encodeGetAccountBalances, encodeGetAccountTransfers, encodeLookupAccounts, encodeLookupTransfers,
  encodeTransfers,
} from '../../host/client/ledger.ts';
import * as u from './util.ts';
import { scoped } from './util.ts';
import type { Ledger } from './harness.ts';

function names(l: Ledger, request: Uint8Array, accounts: boolean): string[] {
  const reply = l.send(request);
  assert.is(reply.status, 0, reply.text);
  assert.is(l.checkInvariants(), 0);
  return decodeCreateResults(reply.bytes).map((r) => (accounts ? createAccountResultName(r.result) : createTransferResultName(r.result)));
}

function setUp(): Ledger {
  const l = u.ledger();
  // Ledger 1: accounts 1 and 2 (the teller's). Ledger 2: accounts 21 and 22,
  // a posted transfer 200 and a pending transfer 201 (someone else's).
  assert.equal(u.accountNames(l, [u.account({ id: 1n, ledger: 1 }), u.account({ id: 2n, ledger: 1 }),
    u.account({ id: 21n, ledger: 2 }), u.account({ id: 22n, ledger: 2 })]), ['created', 'created', 'created', 'created']);
  assert.equal(u.transferNames(l, [
    u.transfer({ id: 200n, debit_account_id: 21n, credit_account_id: 22n, amount: 500n, ledger: 2, code: 9 }),
    u.transfer({ id: 201n, debit_account_id: 21n, credit_account_id: 22n, amount: 70n, ledger: 2, code: 9, flags: TransferFlags.pending }),
  ]), ['created', 'created']);
  return l;
}

test('a scoped create learns nothing about another ledger; unscoped, the precise results', () => {
  const l = setUp();
  const probes = [
    // The id of ledger 2's transfer with guessed fields: each guess gets its own precise answer unscoped.
    u.transfer({ id: 200n, debit_account_id: 1n, credit_account_id: 2n, amount: 1n, ledger: 1, code: 1 }),
    u.transfer({ id: 200n, debit_account_id: 21n, credit_account_id: 2n, amount: 1n, ledger: 1, code: 1 }),
    u.transfer({ id: 200n, debit_account_id: 21n, credit_account_id: 22n, amount: 1n, ledger: 1, code: 1 }),
    u.transfer({ id: 200n, debit_account_id: 21n, credit_account_id: 22n, amount: 500n, ledger: 1, code: 1 }),
    // Accounts of ledger 2 named from ledger 1.
    u.transfer({ id: 300n, debit_account_id: 21n, credit_account_id: 2n, amount: 1n, ledger: 1, code: 1 }),
    u.transfer({ id: 301n, debit_account_id: 1n, credit_account_id: 22n, amount: 1n, ledger: 1, code: 1 }),
    // Ledger 2's pending transfer posted from ledger 1.
    u.transfer({ id: 302n, pending_id: 201n, ledger: 1, code: 9, flags: TransferFlags.post_pending_transfer, amount: 70n }),
  ];
  assert.equal(names(l, encodeTransfers(probes), false), [
    'exists_with_different_debit_account_id', 'exists_with_different_credit_account_id', 'exists_with_different_amount',
    'exists_with_different_ledger', 'accounts_must_have_the_same_ledger', 'accounts_must_have_the_same_ledger',
    'pending_transfer_has_different_ledger',
  ], 'unscoped: the guesses tell ledger 2\'s data apart');
  assert.equal(names(l, scoped(encodeTransfers(probes), [1]), false), [
    'exists_with_different_ledger', 'exists_with_different_ledger', 'exists_with_different_ledger', 'exists_with_different_ledger',
    'debit_account_not_found', 'credit_account_not_found', 'pending_transfer_not_found',
  ], 'scoped to ledger 1: one answer per kind, whatever the guess');
  const guess = encodeAccounts([u.account({ id: 21n, ledger: 1, code: 5, user_data_32: 7 })]);
  assert.equal(names(l, guess, true), ['exists_with_different_user_data_32'], 'unscoped: the account id answers with its first difference');
  assert.equal(names(l, scoped(guess, [1]), true), ['exists_with_different_ledger'], 'scoped: one answer');
});

test('within its scope a scoped create gets every result as before', () => {
  const l = setUp();
  const own = [
    u.transfer({ id: 400n, debit_account_id: 1n, credit_account_id: 2n, amount: 5n, ledger: 1, code: 1 }),
    u.transfer({ id: 400n, debit_account_id: 1n, credit_account_id: 2n, amount: 6n, ledger: 1, code: 1 }),
  ];
  assert.equal(names(l, scoped(encodeTransfers(own), [1, 3]), false), ['created', 'exists_with_different_amount']);
  assert.equal(names(l, scoped(encodeTransfers([u.transfer({ id: 401n, debit_account_id: 21n, credit_account_id: 22n, amount: 1n, ledger: 2, code: 9 })]), [1, 2]), false),
    ['created'], 'a key granted both ledgers sees ledger 2 as its own');
});

/** The reply to `request` logged, and the same bytes as a read: they must agree. */
function both(l: Ledger, request: Uint8Array): { ok: boolean; bytes: Uint8Array; text: string } {
  const logged = l.send(request);
  const read = l.read(request);
  assert.is(read.ok, logged.status === 0, 'a read takes what the logged request takes');
  if (read.ok) assert.equal(Buffer.from(read.bytes), Buffer.from(logged.bytes), 'a read answers what the logged request answers');
  else assert.is(Buffer.from(read.bytes).toString('latin1'), logged.text, 'a read refuses with the logged request\'s message');
  return { ok: logged.status === 0, bytes: logged.bytes, text: logged.text };
}

test('a scoped lookup or query answers only the records on its ledgers, logged or read alike', () => {
  const l = setUp();
  const ids = (bytes: Uint8Array, transfers: boolean) => (transfers ? decodeTransfers(bytes) : decodeAccounts(bytes)).map((r) => r.id);
  const accounts = encodeLookupAccounts([21n, 1n, 22n, 2n, 99n]);
  assert.equal(ids(both(l, accounts).bytes, false), [21n, 1n, 22n, 2n], 'unscoped: every account found');
  assert.equal(ids(both(l, scoped(accounts, [1])).bytes, false), [1n, 2n], 'scoped to ledger 1: its accounts, in order');
  assert.equal(ids(both(l, scoped(accounts, [3, 2])).bytes, false), [21n, 22n], 'scoped to ledgers 3 and 2');
  const transfers = encodeLookupTransfers([200n, 201n]);
  assert.equal(ids(both(l, transfers).bytes, true), [200n, 201n]);
  assert.equal(ids(both(l, scoped(transfers, [1])).bytes, true), [], 'ledger 2\'s transfers hidden from ledger 1');
  const filter = encodeGetAccountTransfers(accountFilter({ account_id: 21n, limit: 10, flags: AccountFilterFlags.debits | AccountFilterFlags.credits }));
  assert.equal(ids(both(l, filter).bytes, true), [200n, 201n]);
  assert.equal(ids(both(l, scoped(filter, [1])).bytes, true), [], 'another ledger\'s account history hidden');
  assert.equal(ids(both(l, scoped(filter, [2])).bytes, true), [200n, 201n], 'its own ledger\'s shown');
  const balances = both(l, scoped(encodeGetAccountBalances(accountFilter({ account_id: 21n, limit: 10, flags: AccountFilterFlags.debits })), [2]));
  assert.is(balances.ok, false);
  assert.is(balances.text, 'balance history is not limited by ledger; this request is');
  assert.is(l.checkInvariants(), 0);
});

test.run();
