// Rate of the ledger on its grid, in process (not a test; prints numbers):
// the storage benchmark's workload (test/bench/storage: 10,000 accounts,
// uniform transfers in batches of 8189, time-ordered ids) through the fake
// kernel of ./harness.ts, which keeps the grid in a map. No log, no network,
// no fdatasync: what is left is the ledger's own work (eviction, flushes,
// compaction, cold lookups), so a profile of this process
// (`node --cpu-prof --import tsx ...`) shows where the grid's time goes.
//
//   node --import tsx test/ledger/bench-grid.ts [transfers] [window] [cache_blocks]
//
// Defaults: 3,000,000 transfers, a window of 65,536 (memtables and tables
// are as large as with the storage benchmark's 1,048,576 window: they are
// capped at 16,384 / 24,576 records), 4096 cache blocks. Prints the rate of
// every million, blocks written and read, and the tables each tree holds.

import { Ledger } from './harness.ts';
import { ACCOUNTS, allocPairs, BATCH_BYTES, BATCH_EVENTS, countFailed, encodeBatch, fillPairs, Rng, setupRequests } from '../bench/ledger/workload.ts';

const transfers = Number(process.argv[2] ?? 3_000_000);
const window = Number(process.argv[3] ?? 65_536);
const cacheBlocks = Number(process.argv[4] ?? 4096);
const MILLION = 1_000_000;

let history = 1;
while (history < 2 * window + 2 + 2 * Math.min(window, BATCH_EVENTS)) history *= 2;
const ledger = new Ledger(JSON.stringify({
  accounts_max: ACCOUNTS + 1, transfers_max: window, pending_max: 1, history_max: history,
  grid_blocks: 262_144 * Math.max(1, Math.ceil(transfers / 10_000_000)), cache_blocks: cacheBlocks, prefault: false,
}));
const setup = setupRequests();
for (const r of [...setup.accounts, ...setup.funding]) {
  if (ledger.send(r).status !== 0) throw new Error('setup refused');
  ledger.nowNs += 1_000_000n;
}

const rng = new Rng(0x9e3779b9);
const pairs = allocPairs(BATCH_EVENTS);
const out = new Uint8Array(BATCH_BYTES);
const rate = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en-US');
let done = 0, mark = MILLION, markMs = 0, worstMs = 0;
const started = performance.now();
for (let s = 0; done < transfers; s++) {
  const events = Math.min(BATCH_EVENTS, transfers - done);
  fillPairs('uniform', rng, pairs, 0, events);
  const request = encodeBatch(out, s + 1, pairs, 0, events);
  const t0 = performance.now();
  const reply = ledger.send(request);
  worstMs = Math.max(worstMs, performance.now() - t0);
  if (reply.status !== 0 || countFailed(reply.bytes, events) !== 0) throw new Error(`batch ${s + 1}: refused or failed (${reply.text})`);
  ledger.nowNs += 1_000_000n;
  done += events;
  if (done >= mark || done === transfers) {
    const ms = performance.now() - started;
    console.log(`${done.toLocaleString('en-US')}: ${rate(done - (mark - MILLION), ms - markMs)} tr/s this million, ` +
      `slowest batch ${worstMs.toFixed(1)} ms, written ${ledger.blocksWritten}, read ${ledger.blocksRead}, rounds ${ledger.rounds}`);
    mark += MILLION;
    markMs = ms;
    worstMs = 0;
  }
}
const ms = performance.now() - started;
console.log(`all: ${rate(transfers, ms)} tr/s; grid blocks held ${ledger.grid.size}; invariants ${ledger.checkInvariants()}`);
