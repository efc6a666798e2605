// The ledger on its grid (docs/storage.md, stage 2), through the fake
// kernel of test/ledger/harness.ts, which plays the grid as the kernel does
// (writes kept by address, blocks asked for delivered as KIND_BLOCK messages,
// then the request again). The window is the smallest a grid allows (16384
// transfers), so a few batches push the oldest transfers out of memory into
// the trees, and the cache is the smallest too (256 blocks), so reads of
// them reach the grid.
//
// Run: node --import tsx test/ledger/grid.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AccountFlags as AF, TransferFlags as TF, type Transfer } from '../../host/client/ledger.ts';
import { Ledger } from './harness.ts';
import * as u from './util.ts';

const BATCH = 8189;
const WINDOW = 16384;
const CONFIG = { accounts_max: 1024, transfers_max: WINDOW, pending_max: 1024, history_max: 65536, grid_blocks: 65536, cache_blocks: 256, prefault: false };

function gridLedger(config: Record<string, unknown> = CONFIG): Ledger {
  return new Ledger(JSON.stringify(config));
}

function tr(id: bigint, debit: bigint, credit: bigint, amount: bigint, fields: Partial<Transfer> = {}): Transfer {
  return u.transfer({ id, debit_account_id: debit, credit_account_id: credit, amount, ledger: 1, code: 1, ...fields });
}

/** Accounts 1..10 on ledger 1; 9 and 10 keep balance history. */
function world(l: Ledger): void {
  const accounts = Array.from({ length: 10 }, (_, i) => u.account({ id: BigInt(i + 1), ledger: 1, code: 10, flags: i >= 8 ? AF.history : 0 }));
  assert.equal(u.accountNames(l, accounts), Array(10).fill('created'));
}

/** `batches` full batches of transfers with ids from `first`, between accounts 1..8 (9 and 10 every 7th), user_data_64 = id. */
function fill(l: Ledger, first: bigint, batches: number, fields: (id: bigint) => Partial<Transfer> = () => ({})): bigint {
  let id = first;
  for (let b = 0; b < batches; b++) {
    const batch: Transfer[] = [];
    for (let i = 0; i < BATCH; i++, id++) {
      const n = Number(id);
      const debit = n % 7 === 0 ? 9n : BigInt(1 + (n % 8));
      const credit = n % 7 === 0 ? 10n : BigInt(1 + ((n + 3) % 8));
      batch.push(tr(id, debit, credit === debit ? 10n : credit, BigInt(1 + (n % 1000)), { user_data_64: id, ...fields(id) }));
    }
    const names = u.transferNames(l, batch);
    assert.is(names.filter((n) => n !== 'created').length, 0, `batch ${b}: every transfer created (${names.find((n) => n !== 'created')})`);
  }
  return id;
}

test('transfers older than the window are found in the trees: lookups, exists and id_already_failed', () => {
  // Proves eviction and cold lookups: after four windows' worth of transfers,
  // the oldest and the newest look up with the fields they were created with;
  // re-submitting the oldest ids gets exists (and exists_with_different_amount
  // with another amount), which needs their records from the grid; the id of
  // a transient failure is refused with id_already_failed long after; and the
  // reads really went to the grid through the prefetch step.
  const l = gridLedger();
  world(l);
  const failed = 999_999n;
  assert.equal(u.transferNames(l, [tr(failed, 1n, 999n, 5n)]), ['credit_account_not_found']);
  const next = fill(l, 1n, 8);
  assert.ok(l.blocksWritten > 0, 'evicted transfers went to the grid');
  const [oldest] = u.lookupTransfers(l, [1n]);
  assert.ok(oldest !== undefined, 'the oldest transfer is found');
  assert.equal([oldest.id, oldest.amount, oldest.user_data_64], [1n, 2n, 1n]);
  const newestId = next - 1n;
  const [newest] = u.lookupTransfers(l, [newestId]);
  assert.equal([newest.id, newest.user_data_64], [newestId, newestId]);
  const readsBefore = l.blocksRead;
  assert.equal(u.transferNames(l, [tr(1n, 2n, 5n, 2n, { user_data_64: 1n }), tr(2n, 3n, 6n, 999n, { user_data_64: 2n })]),
    ['exists', 'exists_with_different_amount']);
  assert.equal(u.transferNames(l, [tr(failed, 1n, 2n, 5n)]), ['id_already_failed']);
  assert.ok(l.blocksRead > readsBefore && l.rounds > 0, 'the old records came from the grid');
  assert.is(l.checkInvariants(), 0);
});

test('a pending transfer outlives its place in the window: posted from the side table, then its outcome from the trees', () => {
  // Proves the side table: a pending transfer created first is still pending
  // when its place in the ring is reused; it posts (balances move), a second
  // post is pending_transfer_already_posted, and once it has left memory
  // altogether a third answer comes from transfers.pending; a void of another
  // evicted pending transfer that expired... is not needed: one that was
  // voided before eviction answers pending_transfer_already_voided.
  const l = gridLedger();
  world(l);
  assert.equal(u.transferNames(l, [tr(500_000n, 1n, 2n, 100n, { flags: TF.pending }), tr(500_001n, 3n, 4n, 50n, { flags: TF.pending })]),
    ['created', 'created']);
  assert.equal(u.transferNames(l, [tr(500_002n, 0n, 0n, 0n, { flags: TF.void_pending_transfer, pending_id: 500_001n, ledger: 0, code: 0 })]), ['created']);
  let next = fill(l, 1n, 3);
  const before = u.balances(l, 1n);
  assert.equal(u.transferNames(l, [tr(600_000n, 0n, 0n, 40n, { flags: TF.post_pending_transfer, pending_id: 500_000n, ledger: 0, code: 0 })]),
    ['created']);
  const after = u.balances(l, 1n);
  assert.is(after[1] - before[1], 40n, 'debits_posted moved by the posted amount');
  assert.is(before[0] - after[0], 100n, 'the pending amount was released');
  assert.equal(u.transferNames(l, [tr(600_001n, 0n, 0n, 1n, { flags: TF.post_pending_transfer, pending_id: 500_000n, ledger: 0, code: 0 })]),
    ['pending_transfer_already_posted']);
  next = fill(l, next, 3);
  assert.equal(u.transferNames(l, [
    tr(600_002n, 0n, 0n, 1n, { flags: TF.post_pending_transfer, pending_id: 500_000n, ledger: 0, code: 0 }),
    tr(600_003n, 0n, 0n, 0n, { flags: TF.void_pending_transfer, pending_id: 500_001n, ledger: 0, code: 0 }),
    tr(600_000n, 0n, 0n, 40n, { flags: TF.post_pending_transfer, pending_id: 500_000n, ledger: 0, code: 0 }),
  ]), ['pending_transfer_already_posted', 'pending_transfer_already_voided', 'exists']);
  const [pending] = u.lookupTransfers(l, [500_000n]);
  assert.equal([pending.amount, pending.flags], [100n, TF.pending]);
  assert.is(l.checkInvariants(), 0);
});

/** The ids `fill` gave account `id`, oldest first. */
function idsOf(account: bigint, first: bigint, end: bigint): bigint[] {
  const ids: bigint[] = [];
  for (let id = first; id < end; id++) {
    const n = Number(id);
    const debit = n % 7 === 0 ? 9n : BigInt(1 + (n % 8));
    const c = n % 7 === 0 ? 10n : BigInt(1 + ((n + 3) % 8));
    const credit = c === debit ? 10n : c;
    if (debit === account || credit === account) ids.push(id);
  }
  return ids;
}

test('get_account_transfers pages through the whole history of an account, in memory and in the trees, both ways', () => {
  // Proves the cold part of get_account_transfers (cold.ts, coldresults.ts):
  // paging by timestamp with a limit of 1000, oldest first and newest first,
  // lists exactly the transfers the account took part in, in order, across
  // the boundary between the trees and memory; a debits-only filter keeps
  // only its debits; get_account_balances of a history account lists one
  // record per transfer, oldest first, with its balances after it.
  const l = gridLedger();
  world(l);
  const end = fill(l, 1n, 6);
  const expected = idsOf(3n, 1n, end);
  const pageAll = (reversed: boolean): bigint[] => {
    const got: bigint[] = [];
    let bound = reversed ? 0n : 0n;
    for (;;) {
      const filter = reversed
        ? u.accountFilter({ account_id: 3n, limit: 1000, flags: 1 | 2 | 4, timestamp_max: bound })
        : u.accountFilter({ account_id: 3n, limit: 1000, flags: 1 | 2, timestamp_min: bound });
      const page = u.getAccountTransfers(l, filter);
      got.push(...page.map((t) => t.id));
      if (page.length < 1000) return got;
      bound = reversed ? page[page.length - 1].timestamp - 1n : page[page.length - 1].timestamp + 1n;
    }
  };
  assert.equal(pageAll(false), expected, 'oldest first');
  assert.equal(pageAll(true), [...expected].reverse(), 'newest first');
  const debits = u.getAccountTransfers(l, u.accountFilter({ account_id: 3n, limit: 8189, flags: 1 }));
  assert.ok(debits.length > 0 && debits.every((t) => t.debit_account_id === 3n), 'debits only');
  const history = idsOf(9n, 1n, end);
  const balances = u.getAccountBalances(l, u.accountFilter({ account_id: 9n, limit: 8189, flags: 1 | 2 }));
  assert.is(balances.length, Math.min(history.length, 8189));
  const [first] = u.lookupTransfers(l, [history[0]]);
  assert.is(balances[0].timestamp, first.timestamp, 'the oldest balance is the oldest transfer\'s');
  assert.is(balances[0].debits_posted + balances[0].credits_posted, first.amount, 'balances after the first transfer');
  assert.is(l.checkInvariants(), 0);
});

test('query_transfers finds transfers in the trees and in memory, by field and timestamp, both ways', () => {
  // Proves the cold part of query_transfers: a query by user_data_64 finds a
  // transfer long evicted and one still in memory; a query by code over a
  // timestamp range that spans the boundary lists it oldest first and
  // newest first, the same transfers.
  const l = gridLedger();
  world(l);
  const end = fill(l, 1n, 5);
  for (const id of [3n, end - 2n]) {
    const found = u.queryTransfers(l, u.queryFilter({ user_data_64: id, limit: 10 }));
    assert.equal(found.map((t) => t.id), [id], `user_data_64 ${id}`);
  }
  const [a] = u.lookupTransfers(l, [100n]);
  const [b] = u.lookupTransfers(l, [end - 100n]);
  const asc = u.queryTransfers(l, u.queryFilter({ code: 1, timestamp_min: a.timestamp, timestamp_max: b.timestamp, limit: 8189 }));
  assert.is(asc.length, 8189);
  assert.equal(asc.slice(0, 3).map((t) => t.id), [100n, 101n, 102n]);
  const desc = u.queryTransfers(l, u.queryFilter({ code: 1, timestamp_min: a.timestamp, timestamp_max: b.timestamp, limit: 8189, flags: 1 }));
  assert.equal(desc.slice(0, 3).map((t) => t.id), [end - 100n, end - 101n, end - 102n]);
});

test('query_transfers by a field scans that field\'s index over the whole history, not the transfers', () => {
  // Proves the query indexes (grid.ts putIndexed, cold.ts queryIndex): 40,945
  // transfers, most in the trees; a query by user_data_128 finds the 8 spread
  // over all of them (scanning the transfers instead would examine more than
  // EXAMINE_MAX and answer query_too_wide), in order both ways; the other
  // fields of the filter still apply (user_data_32, code), and so do limit and timestamps.
  const l = gridLedger();
  world(l);
  const end = fill(l, 1n, 5, (n) => ({ user_data_128: n % 4999n, user_data_32: n % 3n === 0n ? 7 : 0, code: 1 + Number(n % 2n) }));
  const expected: bigint[] = [];
  for (let n = 1n; n < end; n++) if (n % 4999n === 1234n) expected.push(n);
  assert.equal(u.queryTransfers(l, u.queryFilter({ user_data_128: 1234n, limit: 100 })).map((t) => t.id), expected);
  assert.equal(u.queryTransfers(l, u.queryFilter({ user_data_128: 1234n, limit: 100, flags: 1 })).map((t) => t.id), [...expected].reverse());
  const both = expected.filter((n) => n % 3n === 0n && 1n + (n % 2n) === 2n);
  assert.equal(u.queryTransfers(l, u.queryFilter({ user_data_128: 1234n, user_data_32: 7, code: 2, limit: 100 })).map((t) => t.id), both);
  const [third] = u.lookupTransfers(l, [expected[2]]);
  assert.equal(u.queryTransfers(l, u.queryFilter({ user_data_128: 1234n, timestamp_min: third.timestamp, limit: 2 })).map((t) => t.id), expected.slice(2, 4));
  // By code alone (half of the history), a page at a time from the oldest.
  const page = u.queryTransfers(l, u.queryFilter({ code: 2, limit: 8189 }));
  assert.equal([page.length, page[0].id, page[1].id, page[8188].id], [8189, 1n, 3n, 16377n]);
});

test('the same batches give the same state digest whatever the cache holds', () => {
  // Proves the acceptance item "replay of the same log gives the same state
  // hash with any cache size": two ledgers, one caching 32 blocks and one
  // 4096, take the same batches (evictions, compactions, cold lookups and
  // queries among them) and answer them alike; the one with the small cache
  // read far more blocks, and their state digests (memory less the cache and
  // the inbox, host/services.ts) are equal after every step.
  // The two configs are the same length: what the JSON reader keeps of its input is not the cache's business.
  const small = new Ledger(JSON.stringify({ ...CONFIG, cache_blocks: 4096 }).replace('"cache_blocks":4096', '"cache_blocks":  32'));
  const large = new Ledger(JSON.stringify({ ...CONFIG, cache_blocks: 4096 }));
  for (const l of [small, large]) world(l);
  let next = 1n;
  for (let round = 0; round < 4; round++) {
    for (const l of [small, large]) fill(l, next, 2);
    next += BigInt(2 * BATCH);
    const ids = [1n, 2n, next / 2n, next - 1n, ...Array.from({ length: 300 }, (_, i) => 1n + (BigInt(i) * 7919n) % (next - 1n))];
    assert.equal(u.lookupTransfers(small, ids), u.lookupTransfers(large, ids), `round ${round}: lookups`);
    const filter = u.accountFilter({ account_id: 4n, limit: 500 });
    assert.equal(u.getAccountTransfers(small, filter), u.getAccountTransfers(large, filter), `round ${round}: an account's transfers`);
    assert.is(small.stateDigest(), large.stateDigest(), `round ${round}: state digests`);
  }
  assert.ok(small.blocksRead > large.blocksRead, `the small cache read more (${small.blocksRead} against ${large.blocksRead})`);
});

test('a block that keeps failing its checks stops the machine, naming it', () => {
  // Proves index.ts's KIND_BLOCK rule: with every block of the grid
  // corrupted, a lookup of an evicted transfer never answers from a bad
  // block: after three failed reads in a row the ledger reports its grid
  // corrupt (STORAGE_CORRUPT: the kernel stops the machine), with the block,
  // its tree and what is wrong. (A read that fails once and then succeeds,
  // as a transient bit flip does, changes nothing: test/sim/sim-grid.test.ts.)
  const l = gridLedger({ ...CONFIG, cache_blocks: 32 });
  world(l);
  fill(l, 1n, 5);
  for (const block of l.grid.values()) block[100] ^= 0xff;
  assert.throws(() => u.lookupTransfers(l, [5n]), /the machine stopped: storage_corrupt: block \d+ of tree transfers(\.id)?, level \d+, checksum mismatch/);
  assert.is(l.corrupt.length, 1);
});

test('the grid rejects a config it cannot keep', () => {
  // Proves config.ts: a ring is a power of two of at least two batches, and the cache has a floor.
  assert.throws(() => gridLedger({ ...CONFIG, transfers_max: 20000 }), /power of two/);
  assert.throws(() => gridLedger({ ...CONFIG, cache_blocks: 8 }), /cache_blocks/);
});

test.run();
