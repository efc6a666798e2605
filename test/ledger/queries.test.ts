// Queries: lookup_accounts, lookup_transfers, get_account_transfers,
// get_account_balances (every AccountFilter field), query_accounts and
// query_transfers (every QueryFilter field, timestamp ranges, order, limit,
// a scope applied inside the scan, logged and read alike), and the filters
// that are invalid (which return nothing, as in TigerBeetle).
//
//   node --import tsx test/ledger/queries.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AccountFilterFlags as FF, AccountFlags as AF, TransferFlags as TF, QueryFilterFlags as QF, U128_MAX, BATCH_EVENTS_MAX,
  type AccountFilter, type QueryFilter, type Transfer, decodeAccounts, decodeTransfers, encodeGetAccountTransfers,
  encodeQueryAccounts, encodeQueryTransfers,
} from '../../host/client/ledger.ts';
import * as p from '../../services/ledger/protocol.ts';
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

// ---- query_accounts and query_transfers ----

/**
 * Accounts 1..6 alternate ledgers 1 and 2 with assorted user data and codes;
 * transfers 21..28 alternate the same ledgers (ledger 1: 1 -> 3, ledger 2:
 * 2 -> 4), so the records of the two ledgers interleave in timestamp order.
 */
function queryWorld(): { l: Ledger; accountTs: bigint[]; transferTs: bigint[] } {
  const l = u.ledger();
  const accounts = u.createAccounts(l, [
    u.account({ id: 1n, ledger: 1, code: 10, user_data_128: 5n }),
    u.account({ id: 2n, ledger: 2, code: 10, user_data_64: 6n }),
    u.account({ id: 3n, ledger: 1, code: 20, user_data_32: 7 }),
    u.account({ id: 4n, ledger: 2, code: 20, user_data_128: 5n, user_data_64: 6n }),
    u.account({ id: 5n, ledger: 1, code: 10, user_data_128: 5n, user_data_32: 7 }),
    u.account({ id: 6n, ledger: 2, code: 30 }),
  ]);
  const transfers = u.createTransfers(l, [21n, 22n, 23n, 24n, 25n, 26n, 27n, 28n].map((id, i) => {
    const ledger = i % 2 === 0 ? 1 : 2;
    return tr(id, ledger === 1 ? 1n : 2n, ledger === 1 ? 3n : 4n, BigInt(i + 1), {
      ledger, code: i < 4 ? 1 : 2, user_data_128: i % 3 === 0 ? 9n : 0n, user_data_64: BigInt(i % 2), user_data_32: i >= 6 ? 4 : 0,
    });
  }));
  assert.ok([...accounts, ...transfers].every((r) => r.name === 'created'));
  return { l, accountTs: accounts.map((r) => r.timestamp), transferTs: transfers.map((r) => r.timestamp) };
}

const qa = (l: Ledger, fields: Partial<QueryFilter> = {}) => u.queryAccounts(l, u.queryFilter(fields)).map((a) => a.id);
const qt = (l: Ledger, fields: Partial<QueryFilter> = {}) => ids(u.queryTransfers(l, u.queryFilter(fields)));

test('query_accounts: each filter field alone and together; zero matches any', () => {
  // Proves user_data_128/64/32, ledger and code each select exactly the equal accounts, that the
  // fields are ANDed, that an empty filter returns every account in timestamp order, and that the
  // answer is the stored records, as lookup_accounts returns them.
  const { l } = queryWorld();
  assert.equal(qa(l), [1n, 2n, 3n, 4n, 5n, 6n]);
  assert.equal(qa(l, { user_data_128: 5n }), [1n, 4n, 5n]);
  assert.equal(qa(l, { user_data_64: 6n }), [2n, 4n]);
  assert.equal(qa(l, { user_data_32: 7 }), [3n, 5n]);
  assert.equal(qa(l, { ledger: 2 }), [2n, 4n, 6n]);
  assert.equal(qa(l, { code: 10 }), [1n, 2n, 5n]);
  assert.equal(qa(l, { ledger: 1, code: 10 }), [1n, 5n]);
  assert.equal(qa(l, { user_data_128: 5n, user_data_64: 6n }), [4n]);
  assert.equal(qa(l, { user_data_128: 5n, user_data_32: 7, ledger: 1, code: 10 }), [5n]);
  assert.equal(qa(l, { ledger: 3 }), []);
  assert.equal(qa(l, { code: 30, ledger: 1 }), []);
  assert.equal(u.queryAccounts(l, u.queryFilter({ code: 20 })), u.lookupAccounts(l, [3n, 4n]));
});

test('query_transfers: each filter field alone and together; zero matches any', () => {
  // Proves the same for transfers (the fields sit at the same offsets in both records).
  const { l } = queryWorld();
  assert.equal(qt(l), [21n, 22n, 23n, 24n, 25n, 26n, 27n, 28n]);
  assert.equal(qt(l, { user_data_128: 9n }), [21n, 24n, 27n]);
  assert.equal(qt(l, { user_data_64: 1n }), [22n, 24n, 26n, 28n]);
  assert.equal(qt(l, { user_data_32: 4 }), [27n, 28n]);
  assert.equal(qt(l, { ledger: 1 }), [21n, 23n, 25n, 27n]);
  assert.equal(qt(l, { code: 2 }), [25n, 26n, 27n, 28n]);
  assert.equal(qt(l, { ledger: 2, code: 1 }), [22n, 24n]);
  assert.equal(qt(l, { user_data_128: 9n, ledger: 2, code: 1, user_data_64: 1n }), [24n]);
  assert.equal(qt(l, { user_data_128: 9n, user_data_32: 4, ledger: 1 }), [27n]);
  assert.equal(u.queryTransfers(l, u.queryFilter({ ledger: 2, code: 2 })), u.lookupTransfers(l, [26n, 28n]));
});

test('query_*: timestamp bounds are inclusive, 0 is unbounded, reversed is newest first, limit cuts', () => {
  // Proves timestamp_min/max (inclusive, alone and together, 0 = no bound), the reversed flag
  // (on a range too), limit (from the right end when reversed), and paging by timestamp: pages of 3
  // that start after the last record's timestamp return every record once, in order.
  const { l, accountTs, transferTs } = queryWorld();
  assert.equal(qa(l, { timestamp_min: accountTs[1], timestamp_max: accountTs[3] }), [2n, 3n, 4n]);
  assert.equal(qa(l, { timestamp_min: accountTs[4] }), [5n, 6n]);
  assert.equal(qa(l, { timestamp_max: accountTs[1] }), [1n, 2n]);
  assert.equal(qa(l, { timestamp_min: accountTs[2], timestamp_max: accountTs[2] }), [3n]);
  assert.equal(qa(l, { timestamp_min: accountTs[2] + 1n, timestamp_max: accountTs[3] - 1n }), [], 'between two records');
  assert.equal(qa(l, { timestamp_min: transferTs[7] + 1n }), [], 'after the newest account');
  assert.equal(qa(l, { flags: QF.reversed }), [6n, 5n, 4n, 3n, 2n, 1n]);
  assert.equal(qa(l, { flags: QF.reversed, timestamp_min: accountTs[1], timestamp_max: accountTs[3] }), [4n, 3n, 2n]);
  assert.equal(qa(l, { limit: 2 }), [1n, 2n]);
  assert.equal(qa(l, { limit: 2, flags: QF.reversed }), [6n, 5n]);
  assert.equal(qa(l, { limit: 2, flags: QF.reversed, timestamp_max: accountTs[3] }), [4n, 3n]);
  assert.equal(qt(l, { timestamp_min: transferTs[2], timestamp_max: transferTs[4] }), [23n, 24n, 25n]);
  assert.equal(qt(l, { timestamp_max: transferTs[0] }), [21n]);
  assert.equal(qt(l, { timestamp_max: accountTs[5] }), [], 'every transfer is newer than every account');
  assert.equal(qt(l, { flags: QF.reversed, limit: 3, code: 1 }), [24n, 23n, 22n]);
  const paged: bigint[] = [];
  for (let min = 0n, pages = 0; pages < 10; pages++) {
    const page = u.queryTransfers(l, u.queryFilter({ timestamp_min: min, limit: 3 }));
    if (page.length === 0) break;
    paged.push(...ids(page));
    min = page[page.length - 1].timestamp + 1n;
  }
  assert.equal(paged, [21n, 22n, 23n, 24n, 25n, 26n, 27n, 28n]);
});

test('query_*: invalid filters return nothing, as in TigerBeetle', () => {
  // Proves each QueryFilter constraint: limit 0, an unknown flag bit, timestamp_min or _max above
  // 2^63 - 1, min above a non-zero max, and any non-zero reserved byte each give an empty reply
  // (status 0), while the same filter without the fault finds records (so each case tests its fault).
  const { l, transferTs } = queryWorld();
  const invalid: Partial<QueryFilter>[] = [
    { limit: 0 }, { flags: 2 }, { flags: QF.reversed + 2 ** 31 }, { timestamp_min: 1n << 63n },
    { timestamp_max: 1n << 63n }, { timestamp_min: transferTs[3], timestamp_max: transferTs[1] },
  ];
  for (const fields of invalid) {
    const what = JSON.stringify(fields, (_, v) => String(v));
    assert.equal(qa(l, fields), [], what);
    assert.equal(qt(l, fields), [], what);
  }
  assert.equal(qt(l, { timestamp_min: transferTs[3], timestamp_max: 0n }), [24n, 25n, 26n, 27n, 28n], 'max 0 is no bound, not below min');
  assert.equal(qt(l, { timestamp_min: (1n << 63n) - 1n }), [], 'the largest timestamp is valid; no record has it');
  for (let byte = 0; byte < p.QUERY_RESERVED_BYTES; byte++) {
    for (const encode of [encodeQueryAccounts, encodeQueryTransfers]) {
      const request = encode(u.queryFilter());
      request[8 + p.QUERY_RESERVED + byte] = 1;
      const reply = l.send(request);
      assert.is(reply.status, 0, reply.text);
      assert.equal(reply.bytes, new Uint8Array(8), `reserved byte ${byte}: an empty reply`);
    }
  }
});

test('query_*: limit is capped at the batch maximum', () => {
  // Proves a limit above 8189 answers 8189 records (the most a reply holds), oldest first, as
  // get_account_transfers does, and that the cap is not a fault: the newest record is reached reversed.
  const l = u.ledger({ accounts_max: BATCH_EVENTS_MAX + 8, transfers_max: 16, pending_max: 1, history_max: 1 });
  const all = Array.from({ length: BATCH_EVENTS_MAX + 3 }, (_, i) => BigInt(i + 1));
  u.createAccounts(l, all.slice(0, BATCH_EVENTS_MAX).map((id) => u.account({ id })));
  u.createAccounts(l, all.slice(BATCH_EVENTS_MAX).map((id) => u.account({ id })));
  const forward = qa(l, { limit: 0xffffffff });
  assert.is(forward.length, BATCH_EVENTS_MAX);
  assert.equal(forward.slice(-1), [BigInt(BATCH_EVENTS_MAX)]);
  assert.equal(qa(l, { limit: 0xffffffff, flags: QF.reversed }).slice(0, 3), [all[all.length - 1], all[all.length - 2], all[all.length - 3]]);
});

test('query_*: a scope is applied inside the scan, so the limit counts only granted records', () => {
  // Proves that a request limited to ledger 1 with limit n returns n records of ledger 1 even where
  // ledger 2's records interleave (a filter on the reply would have returned fewer: the unscoped
  // first n hold both ledgers), in both orders, on the logged and the read path alike; and that a
  // scope and the filter's own ledger combine (ledger 2 outside the scope finds nothing).
  const { l } = queryWorld();
  const scopedIds = (request: Uint8Array, accounts: boolean): bigint[][] => {
    const logged = l.send(u.scoped(request, [1]));
    assert.is(logged.status, 0, logged.text);
    const read = l.read(u.scoped(request, [1]));
    assert.ok(read.ok);
    assert.equal(read.bytes, logged.bytes, 'read and logged answers are the same bytes');
    const decode = accounts ? decodeAccounts : decodeTransfers;
    return [decode(logged.bytes).map((r) => r.id), decode(logged.bytes).map((r) => BigInt(r.ledger))];
  };
  assert.equal(qt(l, { limit: 3 }), [21n, 22n, 23n], 'unscoped: both ledgers within the first three');
  assert.equal(scopedIds(encodeQueryTransfers(u.queryFilter({ limit: 3 })), false), [[21n, 23n, 25n], [1n, 1n, 1n]]);
  assert.equal(scopedIds(encodeQueryTransfers(u.queryFilter({ limit: 3, flags: QF.reversed })), false), [[27n, 25n, 23n], [1n, 1n, 1n]]);
  assert.equal(scopedIds(encodeQueryAccounts(u.queryFilter({ limit: 2 })), true), [[1n, 3n], [1n, 1n]]);
  assert.equal(scopedIds(encodeQueryAccounts(u.queryFilter({ limit: 2, code: 10 })), true), [[1n, 5n], [1n, 1n]]);
  assert.equal(scopedIds(encodeQueryTransfers(u.queryFilter({ ledger: 2 })), false), [[], []]);
  const both = l.send(u.scoped(encodeQueryTransfers(u.queryFilter({ limit: 4 })), [2, 1]));
  assert.equal(decodeTransfers(both.bytes).map((t) => t.id), [21n, 22n, 23n, 24n], 'a scope of both ledgers hides nothing');
});

test('query_*: the read path answers the logged path\'s bytes and changes no memory', () => {
  // Proves, for filters of every kind (valid, invalid, scoped, reversed, limited), that a read
  // (reads.ts) answers exactly the logged request's bytes and leaves the ledger's memory as it was,
  // and that a read with a mis-sized filter is refused with a message.
  const { l, transferTs } = queryWorld();
  const filters: Partial<QueryFilter>[] = [
    {}, { limit: 2, flags: QF.reversed }, { ledger: 2, code: 2 }, { user_data_128: 9n, timestamp_min: transferTs[2] },
    { timestamp_max: transferTs[1] }, { limit: 0 }, { flags: 4 },
  ];
  for (const fields of filters) {
    for (const encode of [encodeQueryAccounts, encodeQueryTransfers]) {
      for (const request of [encode(u.queryFilter(fields)), u.scoped(encode(u.queryFilter(fields)), [2])]) {
        const logged = l.send(request);
        assert.is(logged.status, 0, logged.text);
        const before = l.memorySnapshot();
        const read = l.read(request);
        assert.ok(read.ok, new TextDecoder().decode(read.bytes));
        assert.equal(read.bytes, logged.bytes, JSON.stringify(fields, (_, v) => String(v)));
        assert.ok(Buffer.compare(before, l.memorySnapshot()) === 0, 'a read changed the ledger\'s memory');
      }
    }
  }
  const short = l.read(encodeQueryTransfers(u.queryFilter()).slice(0, 8 + 60));
  assert.not.ok(short.ok);
  // The logged path's framing rule (request.ts), without its numbers: a read writes nothing but its reply.
  assert.is(new TextDecoder().decode(short.bytes), 'payload length does not match 8 + count * item size + scope * 4');
  assert.is(l.send(encodeQueryTransfers(u.queryFilter()).slice(0, 8 + 60)).text,
    'payload of 68 bytes does not match 8 + count * 64 + scope * 4 = 72');
});

test.run();
