// Queries: lookup_accounts, lookup_transfers, get_account_transfers and
// get_account_balances with every AccountFilter field, and the filters that
// are invalid (which return nothing, as in TigerBeetle).
//
//   node --import tsx test/ledger/queries.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AccountFilterFlags as FF, AccountFlags as AF, TransferFlags as TF, U128_MAX, type AccountFilter, type Transfer,
  decodeTransfers, encodeGetAccountTransfers,
} from '../../host/client/ledger.ts';
import type { Ledger } from './harness.ts';
import * as u from './util.ts';
import { emptyReason, encodeGetAccountBalances } from '../../host/client/ledger.ts';

const NS = 1_000_000_000n;
const BOTH = FF.debits | FF.credits;

function tr(id: bigint, debit: bigint, credit: bigint, amount: bigint, fields: Partial<Transfer> = {}): Transfer {
  return u.transfer({ id, debit_account_id: debit, credit_account_id: credit, amount, ...fields });
}

/**
 * Accounts 1 (history), 2, 3 (history). Transfers 10..15 touch account 1 with
 * assorted user data and codes; their timestamps are returned.
 */
function world(): { l: Ledger; ts: bigint[] } {
  const l = u.ledger();
  u.createAccounts(l, [u.account({ id: 1n, flags: AF.history }), u.account({ id: 2n }), u.account({ id: 3n, flags: AF.history })]);
  const results = u.createTransfers(l, [
    tr(10n, 1n, 2n, 5n, { user_data_128: 7n, code: 1 }),
    tr(11n, 2n, 1n, 3n, { user_data_64: 8n, code: 2 }),
    tr(12n, 1n, 3n, 2n, { user_data_32: 9, code: 1 }),
    tr(13n, 3n, 1n, 4n, { user_data_128: 7n, user_data_64: 8n, code: 2 }),
    tr(14n, 2n, 3n, 6n, { code: 1 }),
    tr(15n, 1n, 2n, 1n, { user_data_32: 9, code: 3 }),
  ]);
  assert.ok(results.every((r) => r.name === 'created'));
  return { l, ts: results.map((r) => r.timestamp) };
}

const ids = (transfers: Transfer[]) => transfers.map((t) => t.id);

test('lookups return found records in request order and omit missing ids', () => {
  // Proves lookup_accounts / lookup_transfers: order, omission of unknown ids and of ids that
  // only failed, and repeated ids.
  const { l } = world();
  assert.equal(u.lookupAccounts(l, [3n, 99n, 1n, 3n]).map((a) => a.id), [3n, 1n, 3n]);
  u.createTransfers(l, [tr(20n, 1n, 99n, 1n)]); // transient failure: id 20 is remembered, not stored
  assert.equal(ids(u.lookupTransfers(l, [15n, 20n, 0n, U128_MAX, 10n])), [15n, 10n]);
  assert.equal(u.lookupTransfers(l, [20n]), []);
});

test('get_account_transfers: sides, order, limit', () => {
  // Proves flags.debits / flags.credits / both, flags.reversed and limit.
  const { l } = world();
  const query = (fields: Partial<AccountFilter>) => ids(u.getAccountTransfers(l, u.accountFilter({ account_id: 1n, ...fields })));
  assert.equal(query({ flags: BOTH }), [10n, 11n, 12n, 13n, 15n]);
  assert.equal(query({ flags: FF.debits }), [10n, 12n, 15n]);
  assert.equal(query({ flags: FF.credits }), [11n, 13n]);
  assert.equal(query({ flags: BOTH | FF.reversed }), [15n, 13n, 12n, 11n, 10n]);
  assert.equal(query({ flags: BOTH, limit: 2 }), [10n, 11n]);
  assert.equal(query({ flags: BOTH | FF.reversed, limit: 2 }), [15n, 13n]);
  assert.equal(ids(u.getAccountTransfers(l, u.accountFilter({ account_id: 2n }))), [10n, 11n, 14n, 15n]);
});

test('get_account_transfers: timestamp range, user data and code filters', () => {
  // Proves timestamp_min/max (inclusive), user_data_128/64/32 and code filters, alone and combined.
  const { l, ts } = world();
  const query = (fields: Partial<AccountFilter>) => ids(u.getAccountTransfers(l, u.accountFilter({ account_id: 1n, ...fields })));
  assert.equal(query({ timestamp_min: ts[1], timestamp_max: ts[3] }), [11n, 12n, 13n]);
  assert.equal(query({ timestamp_min: ts[1], timestamp_max: ts[3], flags: BOTH | FF.reversed }), [13n, 12n, 11n]);
  assert.equal(query({ timestamp_min: ts[3] }), [13n, 15n]);
  assert.equal(query({ timestamp_max: ts[0] }), [10n]);
  assert.equal(query({ timestamp_min: ts[2], timestamp_max: ts[2] }), [12n]);
  assert.equal(query({ user_data_128: 7n }), [10n, 13n]);
  assert.equal(query({ user_data_64: 8n }), [11n, 13n]);
  assert.equal(query({ user_data_32: 9 }), [12n, 15n]);
  assert.equal(query({ code: 1 }), [10n, 12n]);
  assert.equal(query({ code: 2, user_data_128: 7n }), [13n]);
  assert.equal(query({ code: 3, user_data_128: 7n }), []);
});

test('get_account_transfers: invalid filters and unknown accounts return nothing', () => {
  // Proves each AccountFilter constraint: a violated one yields an empty (not an error) reply.
  const { l, ts } = world();
  const invalid: Partial<AccountFilter>[] = [
    { account_id: 0n }, { account_id: U128_MAX }, { account_id: 99n }, { limit: 0 }, { flags: 0 },
    { flags: FF.reversed }, { flags: BOTH | (1 << 3) }, { timestamp_min: ts[3], timestamp_max: ts[1] },
    { timestamp_min: 1n << 63n }, { timestamp_max: 1n << 63n },
  ];
  for (const fields of invalid) {
    assert.equal(u.getAccountTransfers(l, u.accountFilter({ account_id: 1n, ...fields })), [], JSON.stringify(fields, (_, v) => String(v)));
    assert.equal(u.getAccountBalances(l, u.accountFilter({ account_id: 1n, ...fields })), []);
  }
  const request = encodeGetAccountTransfers(u.accountFilter({ account_id: 1n }));
  request[8 + 46 + 57] = 1; // last reserved byte of the filter
  const reply = l.send(request);
  assert.is(reply.status, 0);
  assert.equal(decodeTransfers(reply.bytes), []);
});

test('get_account_balances: one record per transfer, after the transfer, for history accounts only', () => {
  // Proves AccountBalance contents and order, the history flag requirement, and the filters.
  const { l, ts } = world();
  const balances = u.getAccountBalances(l, u.accountFilter({ account_id: 1n }));
  assert.equal(balances.map((b) => b.timestamp), [ts[0], ts[1], ts[2], ts[3], ts[5]]);
  assert.equal(balances.map((b) => [b.debits_posted, b.credits_posted]), [[5n, 0n], [5n, 3n], [7n, 3n], [7n, 7n], [8n, 7n]]);
  assert.equal(u.getAccountBalances(l, u.accountFilter({ account_id: 2n })), [], 'account 2 keeps no history');
  const reversed = u.getAccountBalances(l, u.accountFilter({ account_id: 1n, flags: FF.credits | FF.reversed, limit: 1 }));
  assert.equal(reversed.map((b) => [b.timestamp, b.credits_posted]), [[ts[3], 7n]]);
  const coded = u.getAccountBalances(l, u.accountFilter({ account_id: 3n, code: 1, timestamp_min: ts[3] }));
  assert.equal(coded.map((b) => [b.timestamp, b.credits_posted, b.debits_posted]), [[ts[4], 8n, 4n]]);
  const byUserData = u.getAccountBalances(l, u.accountFilter({ account_id: 1n, user_data_64: 8n, flags: FF.debits }));
  assert.equal(byUserData, [], 'transfers 11 and 13 credit account 1');
});

test('get_account_balances: pending, post and void are recorded; expiry is not', () => {
  // Proves history around two-phase transfers, as TigerBeetle documents (expiry leaves no record).
  const l = u.ledger();
  l.nowNs = 10n * NS;
  u.createAccounts(l, [u.account({ id: 1n, flags: AF.history }), u.account({ id: 2n })]);
  const results = u.createTransfers(l, [
    tr(1n, 1n, 2n, 10n, { flags: TF.pending }),
    tr(2n, 1n, 2n, 20n, { flags: TF.pending, timeout: 1 }),
    tr(3n, 0n, 0n, 4n, { flags: TF.post_pending_transfer, pending_id: 1n }),
  ]);
  assert.ok(results.every((r) => r.name === 'created'));
  l.nowNs = 20n * NS;
  l.fireDueTimers();
  assert.equal(u.balances(l, 1n), [0n, 4n, 0n, 0n]);
  const history = u.getAccountBalances(l, u.accountFilter({ account_id: 1n }));
  assert.equal(history.map((b) => [b.debits_pending, b.debits_posted]), [[10n, 0n], [30n, 0n], [20n, 4n]]);
  assert.equal(history.map((b) => b.timestamp), results.map((r) => r.timestamp));
});

test('an empty query answer says why: no such account, or an account that keeps no history', () => {
  // Proves the reason the JSON API shows (QENEX-Empty-Reason) comes from the ledger: TigerBeetle's empty list is kept.
  const l = u.ledger();
  u.accountNames(l, [u.account({ id: 1n }), u.account({ id: 2n, flags: AF.history })]);
  const why = (payload: Uint8Array) => emptyReason(l.send(payload).bytes);
  assert.is(why(encodeGetAccountBalances(u.accountFilter({ account_id: 9n }))), 'account_not_found');
  assert.is(why(encodeGetAccountBalances(u.accountFilter({ account_id: 1n }))), 'history_not_kept');
  assert.is(why(encodeGetAccountBalances(u.accountFilter({ account_id: 2n }))), null, 'a history account with no transfers yet: simply empty');
  assert.is(why(encodeGetAccountTransfers(u.accountFilter({ account_id: 9n }))), 'account_not_found');
  assert.is(why(encodeGetAccountTransfers(u.accountFilter({ account_id: 1n }))), null);
  assert.equal(u.getAccountBalances(l, u.accountFilter({ account_id: 1n })), [], 'still the empty list');
});

test.run();
