// Result-code tables for create_accounts and create_transfers: every code,
// TigerBeetle's order of precedence between codes, linked chains,
// idempotency, two-phase transfers and expiry, balancing and closing
// transfers, u128 overflow, and QENEX's capacity results.
//
//   node --import tsx test/ledger/results.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AccountFlags as AF, CreateAccountResult, CreateTransferResult, TransferFlags as TF, U128_MAX,
  type Account, type Transfer,
} from '../../host/client/ledger.ts';
import type { Ledger } from './harness.ts';
import * as u from './util.ts';

const NS = 1_000_000_000n;
const seenAccountResults = new Set<string>();
const seenTransferResults = new Set<string>();

function accounts(l: Ledger, batch: Account[]): string[] {
  const names = u.accountNames(l, batch);
  names.forEach((name) => seenAccountResults.add(name));
  return names;
}

function transfers(l: Ledger, batch: Transfer[]): string[] {
  const names = u.transferNames(l, batch);
  names.forEach((name) => seenTransferResults.add(name));
  return names;
}

function acct(id: bigint, fields: Partial<Account> = {}): Account {
  return u.account({ id, ledger: 1, code: 10, ...fields });
}

function tr(id: bigint, debit: bigint, credit: bigint, amount: bigint, fields: Partial<Transfer> = {}): Transfer {
  return u.transfer({ id, debit_account_id: debit, credit_account_id: credit, amount, ledger: 1, code: 1, ...fields });
}

/**
 * Accounts 1, 2: ledger 1. 3: ledger 2. 4: debits_must_not_exceed_credits.
 * 5: credits_must_not_exceed_debits. 6: history. 7: created closed.
 */
function world(capacity?: Parameters<typeof u.ledger>[0]): Ledger {
  const l = u.ledger(capacity);
  const names = accounts(l, [
    acct(1n), acct(2n), acct(3n, { ledger: 2 }), acct(4n, { flags: AF.debits_must_not_exceed_credits }),
    acct(5n, { flags: AF.credits_must_not_exceed_debits }), acct(6n, { flags: AF.history }),
    acct(7n, { flags: AF.closed }),
  ]);
  assert.equal(names, Array(7).fill('created'));
  return l;
}

// ---- create_accounts ---------------------------------------------------------

test('accounts: created ones get strictly increasing timestamps base + i', () => {
  // Proves the timestamp rule: base = max(logical time, last + 1), event i gets base + i.
  const l = u.ledger();
  l.nowNs = 5_000n;
  const first = u.createAccounts(l, [acct(1n), acct(2n)]);
  assert.equal(first.map((r) => r.timestamp), [5_000n, 5_001n]);
  const second = u.createAccounts(l, [acct(3n)]); // time did not advance
  assert.equal(second.map((r) => r.timestamp), [5_002n]);
  l.nowNs = 9_000n;
  assert.equal(u.createAccounts(l, [acct(4n)])[0].timestamp, 9_000n);
  assert.is(u.lookupAccount(l, 2n).timestamp, 5_001n);
});

test('accounts: every field validation result', () => {
  // Proves each create_accounts validation code on an otherwise valid account.
  const l = u.ledger();
  const cases: [Account, string][] = [
    [acct(10n, { timestamp: 1n }), 'timestamp_must_be_zero'],
    [acct(10n, { reserved: 1 }), 'reserved_field'],
    [acct(10n, { flags: 1 << 6 }), 'reserved_flag'],
    [acct(0n), 'id_must_not_be_zero'],
    [acct(U128_MAX), 'id_must_not_be_int_max'],
    [acct(10n, { flags: AF.debits_must_not_exceed_credits | AF.credits_must_not_exceed_debits }),
      'flags_are_mutually_exclusive'],
    [acct(10n, { debits_pending: 1n }), 'debits_pending_must_be_zero'],
    [acct(10n, { debits_posted: 1n }), 'debits_posted_must_be_zero'],
    [acct(10n, { credits_pending: 1n }), 'credits_pending_must_be_zero'],
    [acct(10n, { credits_posted: 1n }), 'credits_posted_must_be_zero'],
    [acct(10n, { ledger: 0 }), 'ledger_must_not_be_zero'],
    [acct(10n, { code: 0 }), 'code_must_not_be_zero'],
  ];
  for (const [a, expected] of cases) assert.equal(accounts(l, [a]), [expected], expected);
  assert.equal(u.lookupAccounts(l, [10n]), []);
});

test('accounts: precedence between two applicable failures', () => {
  // Proves that when two failures apply, the one earlier in TigerBeetle's order wins.
  const l = u.ledger();
  accounts(l, [acct(1n)]);
  const cases: [Account, string][] = [
    [acct(0n, { timestamp: 1n, reserved: 1 }), 'timestamp_must_be_zero'],
    [acct(0n, { reserved: 1, flags: 1 << 9 }), 'reserved_field'],
    [acct(0n, { flags: 1 << 9 }), 'reserved_flag'],
    [acct(0n, { ledger: 0 }), 'id_must_not_be_zero'],
    [acct(1n, { ledger: 0, flags: AF.debits_must_not_exceed_credits | AF.credits_must_not_exceed_debits }),
      'exists_with_different_flags'],
    [acct(1n, { user_data_128: 1n, code: 0 }), 'exists_with_different_user_data_128'],
    [acct(11n, { flags: AF.debits_must_not_exceed_credits | AF.credits_must_not_exceed_debits, debits_posted: 1n }),
      'flags_are_mutually_exclusive'],
    [acct(11n, { debits_posted: 1n, credits_pending: 1n }), 'debits_posted_must_be_zero'],
    [acct(11n, { credits_posted: 1n, ledger: 0 }), 'credits_posted_must_be_zero'],
    [acct(11n, { ledger: 0, code: 0 }), 'ledger_must_not_be_zero'],
  ];
  for (const [a, expected] of cases) assert.equal(accounts(l, [a]), [expected], expected);
});

test('accounts: idempotency compares flags, user data, ledger, code in order; exists returns the original timestamp', () => {
  // Proves every exists_with_different_* code of create_accounts and the `exists` timestamp.
  const l = u.ledger();
  const original = acct(1n, { user_data_128: 5n, user_data_64: 6n, user_data_32: 7, flags: AF.history });
  const created = u.createAccounts(l, [original]);
  const cases: [Partial<Account>, string][] = [
    [{ flags: 0, user_data_128: 0n }, 'exists_with_different_flags'],
    [{ user_data_128: 9n, user_data_64: 0n }, 'exists_with_different_user_data_128'],
    [{ user_data_64: 9n, user_data_32: 0 }, 'exists_with_different_user_data_64'],
    [{ user_data_32: 9, ledger: 5 }, 'exists_with_different_user_data_32'],
    [{ ledger: 5, code: 9 }, 'exists_with_different_ledger'],
    [{ code: 9 }, 'exists_with_different_code'],
  ];
  for (const [change, expected] of cases) {
    const result = u.createAccounts(l, [{ ...original, ...change }]);
    seenAccountResults.add(result[0].name);
    assert.equal(result, [{ name: expected, timestamp: 0n }], expected);
  }
  const again = u.createAccounts(l, [original, original]);
  seenAccountResults.add('exists');
  assert.equal(again, [{ name: 'exists', timestamp: created[0].timestamp }, { name: 'exists', timestamp: created[0].timestamp }]);
});

test('accounts: linked chains succeed or fail as a unit', () => {
  // Proves linked_event_failed for the rest of a broken chain, the breaking event's own result,
  // rollback of created accounts, independence of a later chain, and linked_event_chain_open.
  const l = u.ledger();
  const names = accounts(l, [
    acct(1n, { flags: AF.linked }), acct(2n, { flags: AF.linked, ledger: 0 }), acct(3n),
    acct(4n, { flags: AF.linked }), acct(5n),
    acct(6n), acct(7n, { flags: AF.linked }),
  ]);
  assert.equal(names, ['linked_event_failed', 'ledger_must_not_be_zero', 'linked_event_failed',
    'created', 'created', 'created', 'linked_event_chain_open']);
  assert.equal(u.lookupAccounts(l, [1n, 2n, 3n, 4n, 5n, 6n, 7n]).map((a) => a.id), [4n, 5n, 6n]);
  // A chain open at the end fails the whole open chain.
  assert.equal(accounts(l, [acct(8n, { flags: AF.linked }), acct(9n, { flags: AF.linked })]),
    ['linked_event_failed', 'linked_event_chain_open']);
  // The same id twice in one chain: the second differs only in `linked` and is not created.
  assert.equal(accounts(l, [acct(10n, { flags: AF.linked }), acct(10n)]), ['linked_event_failed', 'exists_with_different_flags']);
  // `exists` is not `created`: it breaks a chain too.
  // (Account 4 was stored with its `linked` flag, so this retry is `exists`.)
  assert.equal(accounts(l, [acct(11n, { flags: AF.linked }), acct(4n, { flags: AF.linked }), acct(12n)]),
    ['linked_event_failed', 'exists', 'linked_event_failed']);
  assert.equal(accounts(l, [acct(11n, { flags: AF.linked }), acct(6n)]), ['linked_event_failed', 'exists']);
  assert.equal(u.lookupAccounts(l, [8n, 9n, 10n]), []);
});

test('accounts: imported accounts keep user timestamps, which must be past, unique and increasing', () => {
  // Proves the imported_event_* results of create_accounts and imported creation.
  const l = u.ledger();
  l.nowNs = 1_000_000n;
  const ok = u.createAccounts(l, [acct(1n, { flags: AF.imported, timestamp: 100n }), acct(2n, { flags: AF.imported, timestamp: 200n })]);
  assert.equal(ok, [{ name: 'created', timestamp: 100n }, { name: 'created', timestamp: 200n }]);
  const cases: [Account[], string[]][] = [
    [[acct(3n, { flags: AF.imported, timestamp: 300n }), acct(4n)], ['created', 'imported_event_expected']],
    [[acct(5n), acct(6n, { flags: AF.imported, timestamp: 400n })], ['created', 'imported_event_not_expected']],
    [[acct(7n, { flags: AF.imported, timestamp: 0n })], ['imported_event_timestamp_out_of_range']],
    [[acct(7n, { flags: AF.imported, timestamp: 1n << 63n })], ['imported_event_timestamp_out_of_range']],
    [[acct(7n, { flags: AF.imported, timestamp: 1n << 62n })], ['imported_event_timestamp_must_not_advance']],
    [[acct(7n, { flags: AF.imported, timestamp: 250n })], ['imported_event_timestamp_must_not_regress']],
  ];
  for (const [batch, expected] of cases) assert.equal(accounts(l, batch), expected);
  // An imported timestamp may not equal a transfer's.
  const t = u.createTransfers(l, [tr(50n, 1n, 2n, 1n)]);
  assert.is(t[0].name, 'created');
  assert.equal(accounts(l, [acct(8n, { flags: AF.imported, timestamp: t[0].timestamp })]),
    ['imported_event_timestamp_must_not_regress']);
});

test('accounts: a full account table says accounts_full and changes nothing', () => {
  // Proves QENEX's capacity result for accounts, checked after every TigerBeetle check.
  const l = u.ledger({ accounts_max: 2, transfers_max: 4, pending_max: 1, history_max: 1 });
  assert.equal(accounts(l, [acct(1n), acct(2n), acct(3n), acct(1n), acct(4n, { ledger: 0 })]),
    ['created', 'created', 'accounts_full', 'exists', 'ledger_must_not_be_zero']);
  assert.equal(u.lookupAccounts(l, [1n, 2n, 3n]).map((a) => a.id), [1n, 2n]);
});

// ---- create_transfers: validation ---------------------------------------------

test('transfers: a single-phase transfer moves posted amounts and stores the record', () => {
  // Proves `created`, the assigned timestamp and the stored record.
  const l = world();
  const [result] = u.createTransfers(l, [tr(100n, 1n, 2n, 25n, { user_data_64: 9n })]);
  assert.is(result.name, 'created');
  assert.equal(u.balances(l, 1n), [0n, 25n, 0n, 0n]);
  assert.equal(u.balances(l, 2n), [0n, 0n, 0n, 25n]);
  const [stored] = u.lookupTransfers(l, [100n]);
  assert.equal(stored, { ...tr(100n, 1n, 2n, 25n, { user_data_64: 9n }), timestamp: result.timestamp });
});

test('transfers: every field validation result of the single-phase path', () => {
  // Proves each validation code that does not depend on other transfers.
  const l = world();
  const cases: [Transfer, string][] = [
    [tr(100n, 1n, 2n, 1n, { timestamp: 5n }), 'timestamp_must_be_zero'],
    [tr(100n, 1n, 2n, 1n, { flags: 1 << 9 }), 'reserved_flag'],
    [tr(0n, 1n, 2n, 1n), 'id_must_not_be_zero'],
    [tr(U128_MAX, 1n, 2n, 1n), 'id_must_not_be_int_max'],
    [tr(100n, 0n, 2n, 1n), 'debit_account_id_must_not_be_zero'],
    [tr(100n, U128_MAX, 2n, 1n), 'debit_account_id_must_not_be_int_max'],
    [tr(100n, 1n, 0n, 1n), 'credit_account_id_must_not_be_zero'],
    [tr(100n, 1n, U128_MAX, 1n), 'credit_account_id_must_not_be_int_max'],
    [tr(100n, 1n, 1n, 1n), 'accounts_must_be_different'],
    [tr(100n, 1n, 2n, 1n, { pending_id: 9n }), 'pending_id_must_be_zero'],
    [tr(100n, 1n, 2n, 1n, { timeout: 1 }), 'timeout_reserved_for_pending_transfer'],
    [tr(100n, 1n, 2n, 1n, { flags: TF.closing_debit }), 'closing_transfer_must_be_pending'],
    [tr(100n, 1n, 2n, 1n, { ledger: 0 }), 'ledger_must_not_be_zero'],
    [tr(100n, 1n, 2n, 1n, { code: 0 }), 'code_must_not_be_zero'],
    [tr(101n, 99n, 2n, 1n), 'debit_account_not_found'],
    [tr(102n, 1n, 99n, 1n), 'credit_account_not_found'],
    [tr(100n, 1n, 3n, 1n), 'accounts_must_have_the_same_ledger'],
    [tr(100n, 1n, 2n, 1n, { ledger: 2 }), 'transfer_must_have_the_same_ledger_as_accounts'],
    [tr(103n, 7n, 2n, 1n), 'debit_account_already_closed'],
    [tr(104n, 1n, 7n, 1n), 'credit_account_already_closed'],
    [tr(105n, 4n, 2n, 1n), 'exceeds_credits'],
    [tr(106n, 1n, 5n, 1n), 'exceeds_debits'],
  ];
  for (const [t, expected] of cases) assert.equal(transfers(l, [t]), [expected], expected);
  assert.equal(u.lookupTransfers(l, [100n, 101n, 102n, 103n, 104n, 105n, 106n]), []);
  assert.equal(u.balances(l, 1n), [0n, 0n, 0n, 0n]);
});

test('transfers: precedence between two applicable failures', () => {
  // Proves that the earlier code in TigerBeetle's documented order wins over a later one.
  const l = world({ accounts_max: 16, transfers_max: 64, pending_max: 4, history_max: 4 });
  assert.equal(transfers(l, [tr(50n, 1n, 2n, 10n, { flags: TF.pending })]), ['created']);
  const cases: [Transfer, string][] = [
    [tr(0n, 0n, 2n, 1n, { timestamp: 1n, flags: 1 << 10 }), 'timestamp_must_be_zero'],
    [tr(0n, 0n, 2n, 1n, { flags: 1 << 10 }), 'reserved_flag'],
    [tr(0n, 0n, 2n, 1n), 'id_must_not_be_zero'],
    [tr(50n, 0n, 0n, 1n, { ledger: 0, flags: TF.pending }), 'exists_with_different_debit_account_id'],
    [tr(50n, 1n, 2n, 10n, { flags: TF.pending | TF.post_pending_transfer }), 'exists_with_different_flags'],
    [tr(51n, 1n, 2n, 1n, { flags: TF.post_pending_transfer | TF.void_pending_transfer }), 'flags_are_mutually_exclusive'],
    [tr(51n, 0n, 0n, 1n, { flags: TF.void_pending_transfer | TF.balancing_debit }), 'flags_are_mutually_exclusive'],
    [tr(51n, 0n, 0n, 1n, { flags: TF.post_pending_transfer, timeout: 5 }), 'pending_id_must_not_be_zero'],
    [tr(51n, 0n, 2n, 1n, { pending_id: 1n }), 'debit_account_id_must_not_be_zero'],
    [tr(51n, 1n, 1n, 1n, { pending_id: 1n }), 'accounts_must_be_different'],
    [tr(51n, 1n, 2n, 1n, { pending_id: 1n, timeout: 1 }), 'pending_id_must_be_zero'],
    [tr(51n, 1n, 2n, 1n, { timeout: 1, ledger: 0 }), 'timeout_reserved_for_pending_transfer'],
    [tr(51n, 1n, 2n, 1n, { ledger: 0, code: 0 }), 'ledger_must_not_be_zero'],
    [tr(52n, 98n, 99n, 1n), 'debit_account_not_found'],
    [tr(53n, 1n, 3n, 1n, { ledger: 2 }), 'accounts_must_have_the_same_ledger'],
    [tr(54n, 7n, 5n, U128_MAX), 'debit_account_already_closed'],
    [tr(55n, 4n, 5n, 1n), 'exceeds_credits'],
    [tr(56n, 0n, 0n, 11n, { flags: TF.post_pending_transfer, pending_id: 50n, debit_account_id: 2n }),
      'pending_transfer_has_different_debit_account_id'],
    [tr(57n, 0n, 0n, 11n, { flags: TF.post_pending_transfer, pending_id: 50n, code: 9 }),
      'pending_transfer_has_different_code'],
  ];
  for (const [t, expected] of cases) assert.equal(transfers(l, [t]), [expected], expected);
});

test('transfers: idempotency compares fields in the documented order; exists returns the original timestamp', () => {
  // Proves every exists_with_different_* code of create_transfers and the `exists` timestamp.
  const l = world();
  const original = tr(100n, 1n, 2n, 10n, { flags: TF.pending, timeout: 60, user_data_128: 1n, user_data_64: 2n, user_data_32: 3 });
  const [created] = u.createTransfers(l, [original]);
  const cases: [Partial<Transfer>, string][] = [
    [{ flags: TF.pending | TF.balancing_debit, pending_id: 5n }, 'exists_with_different_flags'],
    [{ pending_id: 5n, timeout: 1 }, 'exists_with_different_pending_id'],
    [{ timeout: 1, debit_account_id: 4n }, 'exists_with_different_timeout'],
    [{ debit_account_id: 4n, credit_account_id: 4n }, 'exists_with_different_debit_account_id'],
    [{ credit_account_id: 4n, amount: 1n }, 'exists_with_different_credit_account_id'],
    [{ amount: 11n, user_data_128: 0n }, 'exists_with_different_amount'],
    [{ user_data_128: 0n, user_data_64: 0n }, 'exists_with_different_user_data_128'],
    [{ user_data_64: 0n, user_data_32: 0 }, 'exists_with_different_user_data_64'],
    [{ user_data_32: 0, ledger: 2 }, 'exists_with_different_user_data_32'],
    [{ ledger: 2, code: 2 }, 'exists_with_different_ledger'],
    [{ code: 2 }, 'exists_with_different_code'],
  ];
  for (const [change, expected] of cases) assert.equal(transfers(l, [{ ...original, ...change }]), [expected], expected);
  const again = u.createTransfers(l, [original]);
  seenTransferResults.add('exists');
  assert.equal(again, [{ name: 'exists', timestamp: created.timestamp }]);
  assert.equal(u.balances(l, 1n), [10n, 0n, 0n, 0n], 'retries must not move money');
});

test('transfers: transient failures poison their id (id_already_failed); other failures do not', () => {
  // Proves TigerBeetle's transient-error rule and which results are transient.
  const l = world();
  const transient: [Transfer, string][] = [
    [tr(200n, 99n, 2n, 1n), 'debit_account_not_found'],
    [tr(201n, 1n, 99n, 1n), 'credit_account_not_found'],
    [tr(202n, 0n, 0n, 1n, { flags: TF.post_pending_transfer, pending_id: 999n }), 'pending_transfer_not_found'],
    [tr(203n, 4n, 2n, 1n), 'exceeds_credits'],
    [tr(204n, 1n, 5n, 1n), 'exceeds_debits'],
    [tr(205n, 7n, 2n, 1n), 'debit_account_already_closed'],
    [tr(206n, 1n, 7n, 1n), 'credit_account_already_closed'],
  ];
  for (const [t, expected] of transient) {
    assert.equal(transfers(l, [t]), [expected]);
    // Even a corrected, valid retry with the same id fails now.
    assert.equal(transfers(l, [tr(t.id, 1n, 2n, 1n)]), ['id_already_failed']);
  }
  assert.equal(transfers(l, [tr(207n, 1n, 2n, 1n, { ledger: 0 })]), ['ledger_must_not_be_zero']);
  assert.equal(transfers(l, [tr(207n, 1n, 2n, 1n)]), ['created']);
  // A transient failure's id is not a pending transfer to post.
  assert.equal(transfers(l, [tr(208n, 0n, 0n, 1n, { flags: TF.post_pending_transfer, pending_id: 200n })]),
    ['pending_transfer_not_found']);
  assert.equal(u.lookupTransfers(l, [200n]), []);
});

test('transfers: linked chains roll back balances and records, and report the breaking event', () => {
  // Proves chain rollback of applied transfers (posted, pending, post), linked_event_failed,
  // linked_event_chain_open, and that a transient failure inside a chain still poisons its id.
  const l = world();
  assert.equal(transfers(l, [tr(10n, 1n, 2n, 7n, { flags: TF.pending })]), ['created']);
  const names = transfers(l, [
    tr(11n, 1n, 2n, 5n, { flags: TF.linked }),
    tr(12n, 0n, 0n, U128_MAX, { flags: TF.linked | TF.post_pending_transfer, pending_id: 10n }),
    tr(13n, 2n, 1n, 1n, { flags: TF.linked | TF.pending, timeout: 10 }),
    tr(14n, 1n, 99n, 1n),
    tr(15n, 1n, 2n, 1n),
  ]);
  assert.equal(names, ['linked_event_failed', 'linked_event_failed', 'linked_event_failed', 'credit_account_not_found', 'created']);
  assert.equal(u.balances(l, 1n), [7n, 1n, 0n, 0n]);
  assert.equal(u.balances(l, 2n), [0n, 0n, 7n, 1n]);
  assert.equal(u.lookupTransfers(l, [11n, 12n, 13n, 14n]), []);
  assert.equal(transfers(l, [tr(14n, 1n, 2n, 1n)]), ['id_already_failed']);
  assert.equal(transfers(l, [tr(11n, 1n, 2n, 5n)]), ['created'], 'rolled-back ids are free again');
  // The pending transfer is still pending after the rolled-back post.
  assert.equal(transfers(l, [tr(16n, 0n, 0n, 0n, { flags: TF.void_pending_transfer, pending_id: 10n })]), ['created']);
  assert.equal(transfers(l, [tr(17n, 1n, 2n, 1n, { flags: TF.linked }), tr(18n, 1n, 2n, 1n, { flags: TF.linked })]),
    ['linked_event_failed', 'linked_event_chain_open']);
  assert.equal(transfers(l, [tr(19n, 1n, 2n, 1n, { flags: TF.linked }), tr(15n, 1n, 2n, 1n)]),
    ['linked_event_failed', 'exists']);
});

// ---- two-phase transfers ------------------------------------------------------

test('two-phase: pending, post (partial, full via AMOUNT_MAX, zero) and void move the right balances', () => {
  // Proves post/void amounts: AMOUNT_MAX posts the pending amount, a smaller amount posts part,
  // zero posts nothing, void with amount 0 voids all; fields inherit from the pending transfer.
  const l = world();
  assert.equal(transfers(l, [
    tr(1n, 1n, 2n, 100n, { flags: TF.pending, user_data_64: 77n }),
    tr(2n, 1n, 2n, 50n, { flags: TF.pending }),
    tr(3n, 1n, 2n, 30n, { flags: TF.pending }),
    tr(4n, 1n, 2n, 20n, { flags: TF.pending }),
  ]), ['created', 'created', 'created', 'created']);
  assert.equal(u.balances(l, 1n), [200n, 0n, 0n, 0n]);
  assert.equal(transfers(l, [
    tr(11n, 0n, 0n, U128_MAX, { flags: TF.post_pending_transfer, pending_id: 1n, ledger: 0, code: 0 }),
    tr(12n, 1n, 2n, 20n, { flags: TF.post_pending_transfer, pending_id: 2n }),
    tr(13n, 0n, 0n, 0n, { flags: TF.post_pending_transfer, pending_id: 3n }),
    tr(14n, 0n, 0n, 0n, { flags: TF.void_pending_transfer, pending_id: 4n }),
  ]), ['created', 'created', 'created', 'created']);
  assert.equal(u.balances(l, 1n), [0n, 120n, 0n, 0n]);
  assert.equal(u.balances(l, 2n), [0n, 0n, 0n, 120n]);
  const [post] = u.lookupTransfers(l, [11n]);
  assert.equal([post.debit_account_id, post.credit_account_id, post.amount, post.user_data_64, post.ledger, post.code],
    [1n, 2n, 100n, 77n, 1, 1]);
  assert.is(u.lookupTransfers(l, [14n])[0].amount, 20n);
});

test('two-phase: every post/void validation result', () => {
  // Proves each result of the post/void path on a fresh pending transfer.
  const l = world();
  assert.equal(transfers(l, [tr(1n, 1n, 2n, 10n, { flags: TF.pending }), tr(2n, 1n, 2n, 10n)]), ['created', 'created']);
  const post = (id: bigint, fields: Partial<Transfer>) =>
    tr(id, 0n, 0n, U128_MAX, { flags: TF.post_pending_transfer, pending_id: 1n, ledger: 0, code: 0, ...fields });
  const cases: [Transfer, string][] = [
    [post(20n, { flags: TF.post_pending_transfer | TF.pending }), 'flags_are_mutually_exclusive'],
    [post(20n, { flags: TF.post_pending_transfer | TF.balancing_credit }), 'flags_are_mutually_exclusive'],
    [post(20n, { flags: TF.post_pending_transfer | TF.closing_debit }), 'flags_are_mutually_exclusive'],
    [post(20n, { pending_id: 0n }), 'pending_id_must_not_be_zero'],
    [post(20n, { pending_id: U128_MAX }), 'pending_id_must_not_be_int_max'],
    [post(20n, { pending_id: 20n }), 'pending_id_must_be_different'],
    [post(20n, { timeout: 1 }), 'timeout_reserved_for_pending_transfer'],
    [post(20n, { pending_id: 2n }), 'pending_transfer_not_pending'],
    [post(20n, { debit_account_id: 2n }), 'pending_transfer_has_different_debit_account_id'],
    [post(20n, { credit_account_id: 1n }), 'pending_transfer_has_different_credit_account_id'],
    [post(20n, { ledger: 2 }), 'pending_transfer_has_different_ledger'],
    [post(20n, { code: 2 }), 'pending_transfer_has_different_code'],
    [post(20n, { amount: 11n }), 'exceeds_pending_transfer_amount'],
    [post(20n, { flags: TF.void_pending_transfer, amount: 9n }), 'pending_transfer_has_different_amount'],
    [post(20n, { flags: TF.void_pending_transfer, amount: 11n }), 'exceeds_pending_transfer_amount'],
  ];
  for (const [t, expected] of cases) assert.equal(transfers(l, [t]), [expected], expected);
  assert.equal(transfers(l, [post(21n, {})]), ['created']);
  assert.equal(transfers(l, [post(22n, {})]), ['pending_transfer_already_posted']);
  assert.equal(transfers(l, [tr(3n, 1n, 2n, 10n, { flags: TF.pending })]), ['created']);
  assert.equal(transfers(l, [post(23n, { pending_id: 3n, flags: TF.void_pending_transfer, amount: 0n })]), ['created']);
  assert.equal(transfers(l, [post(24n, { pending_id: 3n })]), ['pending_transfer_already_voided']);
  // Precedence: amount checks come before the pending transfer's status.
  assert.equal(transfers(l, [post(25n, { pending_id: 3n, amount: 11n })]), ['exceeds_pending_transfer_amount']);
});

test('two-phase: retries of a post follow the documented amount rule', () => {
  // Proves `exists` vs exists_with_different_amount for post/void retries and inherited fields.
  const l = world();
  transfers(l, [tr(1n, 1n, 2n, 10n, { flags: TF.pending, user_data_32: 5 }), tr(2n, 1n, 2n, 10n, { flags: TF.pending })]);
  const partial = tr(11n, 0n, 0n, 4n, { flags: TF.post_pending_transfer, pending_id: 1n, ledger: 0, code: 0 });
  const full = tr(12n, 0n, 0n, U128_MAX, { flags: TF.post_pending_transfer, pending_id: 2n, ledger: 0, code: 0 });
  assert.equal(transfers(l, [partial, full]), ['created', 'created']);
  assert.equal(transfers(l, [{ ...partial, amount: 5n }]), ['exists_with_different_amount']);
  assert.equal(transfers(l, [partial, { ...partial, debit_account_id: 1n, ledger: 1, user_data_32: 5 }]), ['exists', 'exists']);
  assert.equal(transfers(l, [{ ...partial, user_data_32: 6 }]), ['exists_with_different_user_data_32']);
  assert.equal(transfers(l, [{ ...full, amount: 10n }, { ...full, amount: 11n }]), ['exists', 'exists']);
  assert.equal(transfers(l, [{ ...full, amount: 9n }]), ['exists_with_different_amount']);
  assert.equal(transfers(l, [{ ...full, credit_account_id: 1n }]), ['exists_with_different_credit_account_id']);
});

test('two-phase: pending transfers expire on the logical clock, at exactly timestamp + timeout', () => {
  // Proves expiry: the timer the service arms, the release of pending balances at expiry,
  // pending_transfer_expired for posts at or after expiry, and a post just before it.
  const l = world();
  l.nowNs = 10n * NS;
  const [p1] = u.createTransfers(l, [tr(1n, 1n, 2n, 10n, { flags: TF.pending, timeout: 5 })]);
  u.createTransfers(l, [tr(2n, 1n, 2n, 20n, { flags: TF.pending, timeout: 5 })]);
  assert.ok(l.timers.length >= 1, 'the service arms a timer for the earliest expiry');
  assert.is(l.timers[0].dueNs, p1.timestamp + 5n * NS);
  l.nowNs = p1.timestamp + 5n * NS - 1n;
  assert.equal(transfers(l, [tr(3n, 0n, 0n, U128_MAX, { flags: TF.post_pending_transfer, pending_id: 1n })]), ['created']);
  assert.equal(u.balances(l, 1n), [20n, 10n, 0n, 0n]);
  l.nowNs = p1.timestamp + 10n * NS;
  assert.ok(l.fireDueTimers() >= 1);
  assert.equal(u.balances(l, 1n), [0n, 10n, 0n, 0n], 'the expired pending amount is released');
  assert.equal(transfers(l, [tr(4n, 0n, 0n, 0n, { flags: TF.void_pending_transfer, pending_id: 2n })]), ['pending_transfer_expired']);
  assert.equal(transfers(l, [tr(5n, 0n, 0n, 0n, { flags: TF.void_pending_transfer, pending_id: 1n })]), ['pending_transfer_already_posted']);
});

test('two-phase: a post in the same batch at or after the expiry timestamp is expired', () => {
  // Proves the per-event expiry check (expires_at <= event timestamp), independent of the sweep.
  const l = world();
  l.nowNs = 100n;
  // timeout 1 s; the batch below starts 1 s - 1 ns after the pending transfer.
  const [p] = u.createTransfers(l, [tr(1n, 1n, 2n, 10n, { flags: TF.pending, timeout: 1 })]);
  l.nowNs = p.timestamp + NS - 1n;
  const post = (id: bigint) => tr(id, 0n, 0n, U128_MAX, { flags: TF.post_pending_transfer, pending_id: 1n });
  assert.equal(transfers(l, [tr(2n, 1n, 2n, 1n), post(3n)]), ['created', 'pending_transfer_expired']);
});

// ---- balancing, closing, limits ------------------------------------------------

test('balancing: the amount is clamped to what the limits allow, possibly zero', () => {
  // Proves balancing_debit and balancing_credit amounts, and the exists rule for balancing retries.
  const l = world();
  transfers(l, [tr(1n, 2n, 4n, 30n)]); // account 4 (debits <= credits) has 30 credits
  const [r] = u.createTransfers(l, [tr(2n, 4n, 1n, 100n, { flags: TF.balancing_debit })]);
  assert.is(r.name, 'created');
  assert.is(u.lookupTransfers(l, [2n])[0].amount, 30n);
  assert.equal(transfers(l, [tr(3n, 4n, 1n, 100n, { flags: TF.balancing_debit })]), ['created']);
  assert.is(u.lookupTransfers(l, [3n])[0].amount, 0n, 'nothing left: a zero-amount transfer');
  assert.equal(transfers(l, [tr(2n, 4n, 1n, 30n, { flags: TF.balancing_debit })]), ['exists']);
  assert.equal(transfers(l, [tr(2n, 4n, 1n, 29n, { flags: TF.balancing_debit })]), ['exists_with_different_amount']);
  transfers(l, [tr(4n, 5n, 1n, 8n)]); // account 5 (credits <= debits) has 8 debits
  assert.equal(transfers(l, [tr(5n, 2n, 5n, 50n, { flags: TF.balancing_credit | TF.balancing_debit })]), ['created']);
  assert.is(u.lookupTransfers(l, [5n])[0].amount, 0n, 'account 2 has no credits, so balancing_debit allows 0');
  assert.equal(transfers(l, [tr(6n, 1n, 5n, 50n, { flags: TF.balancing_credit, user_data_32: 1 })]), ['created']);
  assert.is(u.lookupTransfers(l, [6n])[0].amount, 8n);
});

test('closing: a closing pending transfer closes accounts; voiding it reopens them; expiry too', () => {
  // Proves closing_debit/closing_credit, the closed checks (void still allowed), and reopening.
  const l = world();
  assert.equal(transfers(l, [tr(1n, 1n, 2n, 0n, { flags: TF.pending | TF.closing_debit | TF.closing_credit })]), ['created']);
  assert.ok((u.lookupAccount(l, 1n).flags & AF.closed) !== 0);
  assert.equal(transfers(l, [tr(2n, 1n, 6n, 1n)]), ['debit_account_already_closed']);
  assert.equal(transfers(l, [tr(3n, 6n, 2n, 1n)]), ['credit_account_already_closed']);
  assert.equal(transfers(l, [tr(4n, 0n, 0n, U128_MAX, { flags: TF.post_pending_transfer, pending_id: 1n })]),
    ['debit_account_already_closed']);
  assert.equal(transfers(l, [tr(5n, 0n, 0n, 0n, { flags: TF.void_pending_transfer, pending_id: 1n })]), ['created']);
  assert.is(u.lookupAccount(l, 1n).flags & AF.closed, 0);
  assert.equal(transfers(l, [tr(6n, 1n, 2n, 1n)]), ['created']);
  l.nowNs = 50n * NS;
  assert.equal(transfers(l, [tr(7n, 6n, 1n, 0n, { flags: TF.pending | TF.closing_credit, timeout: 1 })]), ['created']);
  assert.ok((u.lookupAccount(l, 1n).flags & AF.closed) !== 0);
  l.nowNs = 60n * NS;
  l.fireDueTimers();
  assert.is(u.lookupAccount(l, 1n).flags & AF.closed, 0, 'expiry of the closing transfer reopens the account');
});

// ---- overflow -----------------------------------------------------------------

test('overflow: every overflow result, without wrapping', () => {
  // Proves the u128 overflow results in their documented order and that balances never wrap.
  const half = 1n << 127n;
  const cases: [Transfer[], Transfer, string][] = [
    [[tr(1n, 1n, 2n, U128_MAX, { flags: TF.pending })], tr(9n, 1n, 6n, 1n, { flags: TF.pending }), 'overflows_debits_pending'],
    [[tr(1n, 2n, 1n, U128_MAX, { flags: TF.pending })], tr(9n, 6n, 1n, 1n, { flags: TF.pending }), 'overflows_credits_pending'],
    [[tr(1n, 1n, 2n, U128_MAX)], tr(9n, 1n, 6n, 1n, { flags: TF.pending }), 'overflows_debits_posted'],
    [[tr(1n, 2n, 1n, U128_MAX)], tr(9n, 6n, 1n, 1n), 'overflows_credits_posted'],
    [[tr(1n, 1n, 2n, half, { flags: TF.pending })], tr(9n, 1n, 6n, half), 'overflows_debits'],
    [[tr(1n, 2n, 1n, half, { flags: TF.pending })], tr(9n, 6n, 1n, half), 'overflows_credits'],
  ];
  for (const [setup, t, expected] of cases) {
    const l = world();
    assert.equal(transfers(l, setup), ['created']);
    const before = [u.balances(l, 1n), u.balances(l, 6n)];
    assert.equal(transfers(l, [t]), [expected], expected);
    assert.equal([u.balances(l, 1n), u.balances(l, 6n)], before);
  }
  const l = world();
  l.nowNs = (1n << 63n) - 10n * NS;
  assert.equal(transfers(l, [tr(1n, 1n, 2n, 1n, { flags: TF.pending, timeout: 11 })]), ['overflows_timeout']);
  assert.equal(transfers(l, [tr(2n, 1n, 2n, 1n, { flags: TF.pending, timeout: 9 })]), ['created']);
  // Precedence: overflow is checked before the balance limits.
  const m = world();
  transfers(m, [tr(1n, 2n, 4n, U128_MAX)]);
  assert.equal(transfers(m, [tr(2n, 6n, 4n, 1n)]), ['overflows_credits_posted']);
});

// ---- imported transfers ---------------------------------------------------------

test('imported transfers: user timestamps with every imported_event_* result', () => {
  // Proves imported transfer creation and its results, including mixing within a batch.
  const l = u.ledger();
  l.nowNs = 1_000_000n;
  accounts(l, [acct(1n, { flags: AF.imported, timestamp: 10n }), acct(2n, { flags: AF.imported, timestamp: 20n }),
    acct(3n, { flags: AF.imported, timestamp: 500n })]);
  const imp = (id: bigint, ts: bigint, fields: Partial<Transfer> = {}) =>
    tr(id, 1n, 2n, 5n, { flags: TF.imported, timestamp: ts, ...fields });
  const ok = u.createTransfers(l, [imp(1n, 100n), imp(2n, 200n, { flags: TF.imported | TF.pending })]);
  assert.equal(ok, [{ name: 'created', timestamp: 100n }, { name: 'created', timestamp: 200n }]);
  const cases: [Transfer[], string[]][] = [
    [[imp(3n, 300n), tr(4n, 1n, 2n, 1n)], ['created', 'imported_event_expected']],
    [[tr(5n, 1n, 2n, 1n), imp(6n, 900n)], ['created', 'imported_event_not_expected']],
    [[imp(7n, 0n)], ['imported_event_timestamp_out_of_range']],
    [[imp(7n, 1n << 63n)], ['imported_event_timestamp_out_of_range']],
    [[imp(7n, 1n << 62n)], ['imported_event_timestamp_must_not_advance']],
    [[imp(7n, 250n)], ['imported_event_timestamp_must_not_regress']],
  ];
  for (const [batch, expected] of cases) assert.equal(transfers(l, batch), expected);
  const last = u.lookupTransfers(l, [5n])[0].timestamp;
  assert.equal(transfers(l, [imp(8n, last + 1n, { debit_account_id: 3n, credit_account_id: 2n })]), ['created']);
  l.nowNs = 2_000_000n;
  const m = u.ledger();
  m.nowNs = 1_000_000n;
  accounts(m, [acct(1n, { flags: AF.imported, timestamp: 10n }), acct(2n, { flags: AF.imported, timestamp: 20n }),
    acct(3n, { flags: AF.imported, timestamp: 500n })]);
  assert.equal(transfers(m, [imp(1n, 400n, { debit_account_id: 3n })]), ['imported_event_timestamp_must_postdate_debit_account']);
  assert.equal(transfers(m, [imp(1n, 400n, { credit_account_id: 3n })]), ['imported_event_timestamp_must_postdate_credit_account']);
  assert.equal(transfers(m, [imp(1n, 400n, { flags: TF.imported | TF.pending, timeout: 1 })]), ['imported_event_timeout_must_be_zero']);
  assert.equal(transfers(m, [imp(1n, 500n)]), ['imported_event_timestamp_must_not_regress'], 'an account has that timestamp');
});

// ---- capacity --------------------------------------------------------------------

test('capacity: transfers_full, pending_full and history_full, with nothing corrupted', () => {
  // Proves QENEX's capacity results: where they sit in the order and that state stays consistent.
  const l = world({ accounts_max: 8, transfers_max: 3, pending_max: 1, history_max: 3 });
  assert.equal(transfers(l, [tr(1n, 1n, 2n, 1n, { flags: TF.pending }), tr(2n, 1n, 2n, 1n, { flags: TF.pending })]),
    ['created', 'pending_full']);
  assert.equal(transfers(l, [tr(3n, 6n, 2n, 1n, { flags: TF.pending })]), ['pending_full']);
  // history: 3 records; a pending transfer on a history account reserves 1 more for its resolution.
  assert.equal(transfers(l, [tr(4n, 0n, 0n, 0n, { flags: TF.void_pending_transfer, pending_id: 1n })]), ['created']);
  assert.equal(transfers(l, [tr(5n, 6n, 2n, 1n, { flags: TF.pending }), tr(6n, 6n, 2n, 1n)]), ['created', 'transfers_full']);
  const m = world({ accounts_max: 8, transfers_max: 8, pending_max: 4, history_max: 3 });
  assert.equal(transfers(m, [tr(1n, 6n, 2n, 1n, { flags: TF.pending }), tr(2n, 6n, 2n, 1n, { flags: TF.pending })]),
    ['created', 'history_full']);
  assert.equal(transfers(m, [tr(3n, 6n, 2n, 1n), tr(4n, 6n, 2n, 1n)]), ['created', 'history_full']);
  assert.equal(transfers(m, [tr(5n, 0n, 0n, U128_MAX, { flags: TF.post_pending_transfer, pending_id: 1n })]), ['created'],
    'resolving a pending transfer uses its reserved history record');
  assert.equal(u.getAccountBalances(m, u.accountFilter({ account_id: 6n })).length, 3);
  // Existing ids still answer `exists` when the table is full.
  assert.equal(transfers(l, [tr(1n, 1n, 2n, 1n, { flags: TF.pending }), tr(9n, 0n, 2n, 1n)]), ['exists', 'transfers_full']);
});

test('every result code of both operations was produced by this file', () => {
  // Proves the tables above cover every create_accounts and create_transfers result code.
  const accountNames = Object.keys(CreateAccountResult).map((name) => (name === 'ok' ? 'created' : name));
  const transferNames = Object.keys(CreateTransferResult).map((name) => (name === 'ok' ? 'created' : name));
  assert.equal(accountNames.filter((name) => !seenAccountResults.has(name)), []);
  // The gateway's, for events the compliance service refused before the ledger (transfer_checks: test/unit/gateway-service.test.ts,
  // test/integration/compliance-transfers.test.ts): the ledger never answers them.
  const gatewayResults = ['compliance_sanctions', 'compliance_limit', 'compliance_fraud', 'compliance_rule', 'compliance_capacity'];
  assert.equal(transferNames.filter((name) => !seenTransferResults.has(name) && !gatewayResults.includes(name)), []);
  assert.equal(gatewayResults.filter((name) => seenTransferResults.has(name) || !transferNames.includes(name)), [], 'named, and never the ledger\'s');
});

test.run();
