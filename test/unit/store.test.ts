// test/unit/store.test.ts: the storage engine (lib/store, docs/storage.md)
// checked through test/assembly/store-lib.ts, compiled the way services are
// (--runtime stub, -O3, assertions on).
//
// The test plays the kernel: a fake grid (a Map from address to block)
// receives the engine's write queue, and answers the cache's misses by
// delivering blocks with fill(), counting rounds. The tree is checked against
// a model (a JavaScript Map, sorted when scanned) over random sequences of
// puts, lookups, scans, flushes, compaction steps, checkpoints and crashes
// back to the last durable checkpoint, with a tiny cache so most reads miss.
//
// Run: node --import tsx test/unit/store.test.ts
// QENEX_BENCH=1 adds the checksum's throughput (reported, not asserted).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ascIfStale } from '../support/asc.ts';

const WASM = ascIfStale('test/assembly/store-lib.ts', 'build/test/store-lib.wasm', ['lib']);

interface Lib {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  checksum_of(ptr: number, len: number, out: number): void;
  block_bytes(): number;
  setup(grid: number, slots: number, writes: number, keyBytes: number, valueBytes: number, memtable: number,
    levels: number, growth: number, l0Max: number, tableRecords: number, tables: number): void;
  put(key: number, value: number): number;
  prefetch(key: number): number;
  get(key: number, out: number): number;
  scan_prefetch(lo: number, hi: number, limit: number, ascending: number): number;
  scan(lo: number, hi: number, limit: number, ascending: number, out: number): number;
  flush(): number;
  compact_step(budget: number): number;
  compacting(): number;
  level_count(level: number): number;
  memtable_count(): number;
  epoch_end(): void;
  miss_count(): number;
  miss_address(i: number): bigint;
  misses_taken(): void;
  fill(address: bigint, block: number): number;
  error_message(): number;
  cache_fills(): bigint;
  write_count(): number;
  write_address(i: number): bigint;
  write_block(i: number): number;
  writes_drained(): void;
  write_entry(i: number): number;
  writes_take(n: number): void;
  fs_reserve(n: number): number;
  fs_unreserve(n: number): void;
  fs_acquire(): bigint;
  fs_release(address: bigint): void;
  fs_in_use(address: bigint): number;
  fs_free(): bigint;
  fs_checkpoint(): void;
  fs_durable(): void;
  fs_reset(): void;
  checkpoint(): number;
  checkpoint_durable(): void;
  manifest_address(): bigint;
  manifest_checksum(): number;
  fs_block_count(): number;
  fs_block_address(i: number): bigint;
  reset(): void;
  reopen_begin(address: bigint, checksum: number): void;
  reopen_free_set(i: number, address: bigint, block: number, expected: number): number;
  reopen_free_set_done(): void;
  open_step(): number;
  last_error(): number;
}

let lib: Lib;
function readAsString(ptr: number): string {
  if (ptr === 0) return '';
  const bytes = new Uint32Array(lib.memory.buffer, ptr - 4, 1)[0];
  return Buffer.from(lib.memory.buffer, ptr, bytes).toString('utf16le');
}
const { instance } = await WebAssembly.instantiate(readFileSync(WASM), {
  env: {
    abort(msg: number, file: number, line: number, col: number): never {
      throw new Error(`wasm abort: ${readAsString(msg)} (${readAsString(file)}:${line}:${col})`);
    },
  },
});
lib = instance.exports as unknown as Lib;

const BLOCK = lib.block_bytes();
const mem = (): Uint8Array => new Uint8Array(lib.memory.buffer);
// Regions reserved once; the bump allocator never frees.
const IN = lib.alloc(BLOCK + 64);
const OUT = lib.alloc(1 << 20);
const KEY = lib.alloc(64);
const KEY2 = lib.alloc(64);
const VAL = lib.alloc(256);
const SUM = lib.alloc(64);

// Tree statuses (lib/store/reads.ts, compact.ts, tree.ts).
const READY = 1, WAIT = 0, CACHE_FULL = -2, FULL = -1;
const C_IDLE = 0, C_DONE = 1, C_BUSY = 2, C_WAIT = 3;

// ---- a deterministic generator (tests must not depend on Math.random) ----
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}
function randomBytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r() & 0xff;
  return b;
}

// ---- the checksum, again, in JavaScript (lib/store/checksum.ts's algorithm) ----
const M64 = (1n << 64n) - 1n;
const P1 = 0x9E3779B185EBCA87n, P2 = 0xC2B2AE3D27D4EB4Fn, P3 = 0x165667B19E3779F9n, P4 = 0x85EBCA77C2B2AE63n, P5 = 0x27D4EB2F165667C5n;
const rotl = (x: bigint, r: number): bigint => ((x << BigInt(r)) | (x >> BigInt(64 - r))) & M64;
const roundA = (a: bigint, w: bigint): bigint => (rotl((a + w * P2) & M64, 31) * P1) & M64;
const roundB = (b: bigint, w: bigint): bigint => (rotl((b + w * P4) & M64, 29) * P3) & M64;
function avalanche(h: bigint): bigint {
  h ^= h >> 33n; h = (h * P2) & M64; h ^= h >> 29n; h = (h * P3) & M64; return h ^ (h >> 32n);
}
function converge(v: bigint[], round: (a: bigint, w: bigint) => bigint, len: number): bigint {
  let h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M64;
  for (const x of v) h = (((h ^ round(0n, x)) * P1) + P4) & M64;
  return avalanche((h + BigInt(len)) & M64);
}
function checksumJs(data: Uint8Array): Buffer {
  const a = [(P1 + P2) & M64, P2, 0n, (0n - P1) & M64];
  const b = [(P5 + P1 + P2) & M64, (P5 + P2) & M64, P5, (P5 - P1) & M64];
  const padded = new Uint8Array(Math.ceil(data.length / 32) * 32);
  padded.set(data);
  const view = new DataView(padded.buffer);
  for (let p = 0; p < padded.length; p += 32) {
    for (let j = 0; j < 4; j++) {
      const w = view.getBigUint64(p + j * 8, true);
      a[j] = roundA(a[j], w);
      b[j] = roundB(b[j], w);
    }
  }
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(converge(a, roundA, data.length), 0);
  out.writeBigUInt64LE(converge(b, roundB, data.length), 8);
  return out;
}
function checksumWasm(data: Uint8Array): Buffer {
  mem().set(data, IN);
  lib.checksum_of(IN, data.length, SUM);
  return Buffer.from(mem().slice(SUM, SUM + 16));
}

test('checksum: the wasm and an independent JavaScript implementation agree on random inputs of every shape', () => {
  // Proves the algorithm is the documented one (a second implementation from
  // the description gives the same bits), including the padded last stripe
  // and lengths that are not multiples of 8 or 32.
  const r = rng(7);
  for (let len = 0; len <= 130; len++) {
    const d = randomBytes(r, len);
    assert.equal(checksumWasm(d).toString('hex'), checksumJs(d).toString('hex'), `length ${len}`);
  }
  for (const len of [BLOCK - 16, BLOCK, 4093, 1000]) {
    const d = randomBytes(r, len);
    assert.equal(checksumWasm(d).toString('hex'), checksumJs(d).toString('hex'), `length ${len}`);
  }
  // Zero padding does not collide with real zeros: the length is mixed in.
  assert.not.equal(checksumWasm(new Uint8Array(5)).toString('hex'), checksumWasm(new Uint8Array(6)).toString('hex'));
});

test('checksum: a single bit flipped anywhere in a 64 KiB block changes it', () => {
  // Every bit of the first and last stripes, and of 4,000 random positions
  // elsewhere; with one differing word the lane rounds are bijections, so no
  // flip can leave the lanes as they were (checksum.ts).
  const r = rng(11);
  const d = randomBytes(r, BLOCK);
  const base = checksumWasm(d).toString('hex');
  const bits: number[] = [];
  for (let i = 0; i < 256; i++) bits.push(i, BLOCK * 8 - 1 - i);
  for (let i = 0; i < 4000; i++) bits.push(r() % (BLOCK * 8));
  const seen = new Set<string>([base]);
  for (const bit of bits) {
    d[bit >> 3] ^= 1 << (bit & 7);
    const c = checksumWasm(d).toString('hex');
    d[bit >> 3] ^= 1 << (bit & 7);
    assert.not.equal(c, base, `bit ${bit}`);
    seen.add(c);
  }
  assert.ok(seen.size > bits.length / 2, 'flips give distinct checksums');
});

const benchOrSkip = process.env.QENEX_BENCH ? test : test.skip;
benchOrSkip('bench: checksum throughput over 64 KiB blocks (report only)', () => {
  const d = randomBytes(rng(3), BLOCK);
  mem().set(d, IN);
  const rounds = 4096;
  let best = Infinity;
  for (let k = 0; k < 5; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) lib.checksum_of(IN, BLOCK, SUM);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(`checksum: ${((rounds * BLOCK) / best / 1e6).toFixed(0)} MB/s (64 KiB blocks, best of 5)`);
});

// ---- the free set ----

test('free set: lowest free first, staged release, refusal before change, checkpoint round trip', () => {
  // Proves: acquire takes the lowest free block after the superblock's four;
  // a released block is not handed out again until the checkpoint that
  // dropped it is durable (so the last durable checkpoint stays whole); a
  // reservation beyond the free count is refused with nothing changed.
  lib.setup(64, 4, 8, 16, 16, 16, 2, 2, 1, 64, 8);
  assert.ok(lib.fs_reserve(3));
  assert.equal([lib.fs_acquire(), lib.fs_acquire(), lib.fs_acquire()], [4n, 5n, 6n]);
  lib.fs_release(5n);
  assert.ok(lib.fs_in_use(5n), 'staged: still in use');
  assert.ok(lib.fs_reserve(1));
  assert.equal(lib.fs_acquire(), 7n, 'a staged block is not reused');
  lib.fs_checkpoint();
  lib.fs_release(6n); // released after the checkpoint's state was fixed: waits for the next one
  assert.ok(lib.fs_reserve(1));
  assert.equal(lib.fs_acquire(), 8n, 'not before the checkpoint is durable');
  lib.fs_durable();
  assert.ok(!lib.fs_in_use(5n) && lib.fs_in_use(6n), 'the durable checkpoint frees only what it dropped');
  assert.ok(lib.fs_reserve(1));
  assert.equal(lib.fs_acquire(), 5n, 'freed: reused, lowest first');
  const free = lib.fs_free();
  assert.equal(free, 64n - 4n - 5n);
  assert.ok(!lib.fs_reserve(Number(free) + 1), 'more than free: refused');
  assert.equal(lib.fs_free(), free, 'a refused reservation changes nothing');
  assert.ok(lib.fs_reserve(Number(free)));
  lib.fs_unreserve(Number(free));
  assert.equal(lib.fs_free(), free);
});

// ---- the fake grid and the kernel's part ----

class Grid {
  blocks = new Map<bigint, Uint8Array>();
  reads = 0;
  writes = 0;
  /** Every write, in order: address and a digest of the bytes. */
  log: string[] = [];
}
let grid = new Grid();

// Blocks taken per drain step: a prefix, as a service drains at most a
// message's worth of writes at a time (services/sdk/store.ts storeDrain).
const DRAIN_STEP = 5;

/**
 * Drains the engine's write queue into the grid, oldest first, DRAIN_STEP
 * entries at a time (writeQueueTake moves the rest to the front); returns the
 * count. Each entry is read as the STORAGE_WRITE request it is (u64 address |
 * block) and must agree with writeQueueAddress/writeQueueBlock.
 */
function drain(): number {
  const n = lib.write_count();
  while (lib.write_count() > 0) {
    const k = Math.min(DRAIN_STEP, lib.write_count());
    for (let i = 0; i < k; i++) {
      const e = lib.write_entry(i);
      const address = new DataView(lib.memory.buffer).getBigUint64(e, true);
      assert.is(address, lib.write_address(i), 'an entry starts with its address');
      assert.is(lib.write_block(i), e + 8, 'and its block follows it');
      const b = mem().slice(e + 8, e + 8 + BLOCK);
      grid.blocks.set(address, b);
      grid.log.push(`${address}:${createHash('sha256').update(b).digest('hex').slice(0, 16)}`);
    }
    lib.writes_take(k);
  }
  grid.writes += n;
  return n;
}

class Corrupt extends Error {}
/** Delivers every wanted block (the kernel's STORAGE_READ); a block failing its check throws its named error. */
function serve(): void {
  const n = lib.miss_count();
  assert.ok(n > 0, 'a wait without a miss');
  const addresses: bigint[] = [];
  for (let i = 0; i < n; i++) addresses.push(lib.miss_address(i));
  assert.equal(new Set(addresses).size, n, 'misses are deduplicated');
  lib.misses_taken();
  for (const a of addresses) {
    const b = grid.blocks.get(a);
    assert.ok(b !== undefined, `block ${a} wanted but never written`);
    mem().set(b, IN);
    grid.reads++;
    if (lib.fill(a, IN) !== 0) throw new Corrupt(readAsString(lib.error_message()));
  }
}

/** Repeats a prefetch step until ready, serving the misses between; returns the rounds. */
function rounds(step: () => number, ready = READY, wait = WAIT): number {
  let n = 0;
  for (let r = step(); r !== ready; r = step()) {
    assert.equal(r, wait, `step answered ${r}`);
    serve();
    n++;
    assert.ok(n < 64, 'a prefetch that never becomes ready');
  }
  return n;
}

// ---- keys and the model ----

const KEY_BYTES = 16;
const VALUE_BYTES = 128;
const RECORD = KEY_BYTES + VALUE_BYTES;

function putKey(k: bigint, at = KEY): void {
  const v = new DataView(lib.memory.buffer);
  v.setBigUint64(at, k & M64, true);
  v.setBigUint64(at + 8, k >> 64n, true);
}
function valueOf(k: bigint, version: number): Uint8Array {
  const r = rng(Number(k & 0xffffffn) * 977 + version + 1);
  return randomBytes(r, VALUE_BYTES);
}
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The model: key -> value. */
type Model = Map<bigint, Uint8Array>;

function treePut(model: Model, k: bigint, value: Uint8Array): void {
  putKey(k);
  mem().set(value, VAL);
  if (!lib.put(KEY, VAL)) {
    // The memtable is full: a real service flushes at its checkpoint; here, now.
    assert.equal(lib.flush(), 0, 'flush');
    drain();
    assert.ok(lib.put(KEY, VAL), 'a put after a flush');
  }
  model.set(k, value);
}

function treeGet(model: Model, k: bigint): number {
  putKey(k);
  const n = rounds(() => lib.prefetch(KEY));
  const found = lib.get(KEY, OUT) === 1;
  const want = model.get(k);
  assert.equal(found, want !== undefined, `key ${k}: found`);
  if (want !== undefined) assert.equal(hexOf(mem().slice(OUT, OUT + VALUE_BYTES)), hexOf(want), `key ${k}: value`);
  lib.epoch_end();
  return n;
}

function treeScan(model: Model, lo: bigint, hi: bigint, limit: number, ascending: boolean): void {
  putKey(lo, KEY);
  putKey(hi, KEY2);
  rounds(() => lib.scan_prefetch(KEY, KEY2, limit, ascending ? 1 : 0));
  const n = lib.scan(KEY, KEY2, limit, ascending ? 1 : 0, OUT);
  const keys = [...model.keys()].filter((k) => k >= lo && k <= hi).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (!ascending) keys.reverse();
  const want = keys.slice(0, limit);
  assert.equal(n, want.length, `scan [${lo}, ${hi}] limit ${limit} ${ascending ? 'asc' : 'desc'}: count`);
  const v = new DataView(lib.memory.buffer);
  for (let i = 0; i < n; i++) {
    const at = OUT + i * RECORD;
    const k = v.getBigUint64(at, true) | (v.getBigUint64(at + 8, true) << 64n);
    assert.equal(k, want[i], `scan record ${i}: key`);
    assert.equal(hexOf(mem().slice(at + KEY_BYTES, at + RECORD)), hexOf(model.get(k)!), `scan record ${i}: value`);
  }
  lib.epoch_end();
}

/** Runs one compaction step of `budget` blocks (resumed after each WAIT); checks the budget holds across the step. */
function compact(budget: number): number {
  let written = 0;
  for (;;) {
    const r = lib.compact_step(budget);
    written += drain();
    assert.ok(written <= budget, `a step of budget ${budget} wrote ${written}`);
    if (r === C_WAIT) { serve(); continue; }
    lib.epoch_end();
    assert.ok(r === C_IDLE || r === C_DONE || r === C_BUSY || r === FULL, `compact answered ${r}`);
    return r;
  }
}

/** The superblock the test keeps: the manifest head and the free set's blocks, with their checksums. */
interface Superblock { manifest: bigint; manifestSum: Uint8Array; freeSet: { address: bigint; sum: Uint8Array }[] }

function checkpoint(): Superblock {
  while (lib.compacting()) compact(8);
  assert.equal(lib.checkpoint(), 0, 'checkpoint');
  // The checksums of the free set's blocks, as the superblock would keep them, from the queue.
  const sums = new Map<bigint, Uint8Array>();
  for (let i = 0; i < lib.write_count(); i++) {
    const p = lib.write_block(i);
    sums.set(lib.write_address(i), mem().slice(p, p + 16));
  }
  drain();
  const cs = lib.manifest_checksum();
  const sb: Superblock = { manifest: lib.manifest_address(), manifestSum: mem().slice(cs, cs + 16), freeSet: [] };
  for (let i = 0; i < lib.fs_block_count(); i++) {
    const a = lib.fs_block_address(i);
    sb.freeSet.push({ address: a, sum: sums.get(a)! });
  }
  return sb;
}

function reopen(sb: Superblock): number {
  mem().set(sb.manifestSum, SUM);
  lib.reopen_begin(sb.manifest, SUM);
  sb.freeSet.forEach((f, i) => {
    mem().set(grid.blocks.get(f.address)!, IN);
    mem().set(f.sum, SUM);
    const st = lib.reopen_free_set(i, f.address, IN, SUM);
    if (st !== 0) throw new Corrupt(readAsString(lib.last_error()));
  });
  lib.reopen_free_set_done();
  const n = rounds(() => lib.open_step());
  lib.epoch_end();
  return n;
}

// Sizes of most tree tests: 144-byte records (u128 key, 128-byte value), so a
// data block holds 454 and a table of 1,200 records spans three.
function setupTree(slots: number, opts: Partial<{ grid: number; memtable: number; levels: number; growth: number; l0Max: number; tableRecords: number; tables: number }> = {}): void {
  lib.setup(opts.grid ?? 8192, slots, 16, KEY_BYTES, VALUE_BYTES, opts.memtable ?? 500, opts.levels ?? 3, opts.growth ?? 2,
    opts.l0Max ?? 2, opts.tableRecords ?? 1200, opts.tables ?? 48);
  grid = new Grid();
}

/** Keys spread over both words, so the order is decided by the high word first, then the low one. */
const keyOf = (i: number): bigint => (BigInt(i % 37) << 64n) | ((BigInt(i) * 0x9E3779B97F4A7C15n) & M64);

test('tree: a lookup takes two rounds after a flush, three after boot, and an absent key reads almost nothing', () => {
  // Proves the prefetch protocol's cost: index block, then data block (plus
  // the filter block once after reopening), and that bloom filters keep
  // absent keys off the disk.
  setupTree(6);
  const model: Model = new Map();
  for (let i = 0; i < 450; i++) treePut(model, keyOf(i), valueOf(keyOf(i), 0));
  assert.equal(treeGet(model, keyOf(3)), 0, 'in the memtable: no read');
  const sb = checkpoint();
  lib.checkpoint_durable();
  assert.equal(lib.level_count(0), 1);
  assert.equal(treeGet(model, keyOf(5)), 2, 'index block, then data block');
  reopen(sb);
  assert.equal(treeGet(model, keyOf(7)), 3, 'after boot: the filter first');
  const reads = grid.reads;
  for (let i = 100000; i < 100300; i++) treeGet(model, keyOf(i));
  assert.ok(grid.reads - reads <= 12, `300 absent keys read ${grid.reads - reads} blocks`);
});

test('tree: keys that only grow compact by moving tables down, never rewriting a block', () => {
  // Proves the transfers tree's case: an L0 table that overlaps nothing below
  // moves down as it is (zero writes), level after level.
  setupTree(16, { l0Max: 1, levels: 4, growth: 2 });
  const model: Model = new Map();
  let next = 0;
  let compactionWrites = 0;
  for (let batch = 0; batch < 12; batch++) {
    for (let i = 0; i < 300; i++, next++) treePut(model, BigInt(next) * 1000n, valueOf(BigInt(next), 0));
    assert.equal(lib.flush(), 0);
    drain();
    const before = grid.writes;
    while (compact(8) !== C_IDLE) { /* until every level is within its capacity */ }
    compactionWrites += grid.writes - before;
  }
  assert.equal(compactionWrites, 0, 'moves only');
  assert.ok(lib.level_count(3) > 0, 'tables reached the last level');
  for (let i = 0; i < next; i += 97) treeGet(model, BigInt(i) * 1000n);
  // A scan across every table: in a level below L0 the tables are disjoint,
  // so only those holding the first `limit` records are read.
  treeScan(model, 0n, BigInt(next) * 1000n, 40, true);
  treeScan(model, 250000n, BigInt(next) * 1000n, 40, false);
  treeScan(model, 0n, BigInt(next) * 1000n, 500, true);
  treeScan(model, 0n, 3_000_000n, 600, false);
});

test('tree: a merge runs in steps of at most its budget, and the newer version wins', () => {
  // Proves compaction of overlapping tables: versions 1 and 2 (the even keys
  // only), both in L0, merge together over version 0 below them, in several
  // steps of at most 3 block writes (checked in compact()), reads during the
  // merge seeing the inputs; even keys must read version 2 and odd keys
  // version 1 (the newest of the L0 tables wins, then L0 over L1).
  setupTree(6, { l0Max: 1 });
  const model: Model = new Map();
  const flushVersion = (v: number, step: number): void => {
    for (let i = 0; i < 500; i += step) treePut(model, keyOf(i), valueOf(keyOf(i), v));
    assert.equal(lib.flush(), 0);
    drain();
  };
  flushVersion(0, 1);
  flushVersion(1, 1);
  assert.equal(compact(3), C_DONE, 'version 0 moves to L1 (nothing below it)');
  assert.equal(compact(3), C_IDLE);
  flushVersion(2, 2);
  let steps = 0;
  let r: number;
  while ((r = compact(3)) !== C_IDLE) {
    steps++;
    if (r === C_BUSY) treeGet(model, keyOf(steps * 7));
  }
  assert.ok(steps >= 2, `a merge in ${steps} steps`);
  assert.equal([lib.level_count(0), lib.level_count(1)], [0, 1], 'L0 went down whole');
  for (let i = 0; i < 500; i += 3) treeGet(model, keyOf(i));
  treeScan(model, 0n, M64 << 64n, 40, true);
  treeScan(model, 0n, M64 << 64n, 40, false);
});


// ---- the model test ----

type Op =
  | { t: 'puts'; n: number; from: number; version: number }
  | { t: 'get'; i: number }
  | { t: 'scan'; lo: number; span: number; limit: number; ascending: boolean }
  | { t: 'flush' }
  | { t: 'compact'; budget: number }
  | { t: 'checkpoint'; crashBeforeDurable: boolean }
  | { t: 'crash' };

const KEYS = 3000;
const opArb = (scans: boolean): fc.Arbitrary<Op> => fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('puts' as const), n: fc.integer({ min: 1, max: 400 }), from: fc.integer({ min: 0, max: KEYS - 1 }), version: fc.nat(1000) }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('get' as const), i: fc.integer({ min: 0, max: KEYS + 100 }) }) },
  {
    weight: scans ? 3 : 0,
    arbitrary: fc.record({
      t: fc.constant('scan' as const), lo: fc.integer({ min: 0, max: KEYS }), span: fc.integer({ min: 0, max: KEYS }),
      limit: fc.integer({ min: 1, max: 60 }), ascending: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'flush' as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('compact' as const), budget: fc.integer({ min: 3, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('checkpoint' as const), crashBeforeDurable: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'crash' as const }) },
);

/** Key i of the test's key space: in key order as i grows (so scans by index range are scans by key range). */
const orderedKey = (i: number): bigint => (BigInt(i >> 6) << 64n) | BigInt((i & 63) * 1000 + 7);

/** Applies `ops` to the tree and the model; every read is checked against the model. */
function runModel(ops: Op[], scans: boolean): void {
  lib.reset();
  grid = new Grid();
  let model: Model = new Map();
  // The last durable checkpoint: the state a crash comes back to.
  let durable: { sb: Superblock; model: Model } = { sb: { manifest: 0n, manifestSum: new Uint8Array(16), freeSet: [] }, model: new Map() };
  for (const op of ops) {
    switch (op.t) {
      case 'puts':
        // Keys stride through the space, so a batch of puts touches many tables' ranges.
        for (let j = 0; j < op.n; j++) {
          const k = orderedKey((op.from + j * 7) % KEYS);
          treePut(model, k, valueOf(k, op.version));
        }
        break;
      case 'get': treeGet(model, orderedKey(op.i)); break;
      case 'scan': treeScan(model, orderedKey(op.lo), orderedKey(op.lo + op.span), op.limit, op.ascending); break;
      case 'flush': assert.equal(lib.flush(), 0); drain(); break;
      case 'compact': compact(op.budget); break;
      case 'checkpoint': {
        const sb = checkpoint();
        if (op.crashBeforeDurable) {
          // The checkpoint's blocks are written but it never became durable; work goes on (new blocks
          // written, in no block the last durable checkpoint needs), then a crash: back to that one.
          for (let j = 0; j < 600; j++) treePut(model, orderedKey((j * 13) % KEYS), valueOf(0n, 9999));
          assert.equal(lib.flush(), 0);
          drain();
          for (let steps = 0; steps < 100 && compact(12) !== C_IDLE; steps++) { /* the work of the next batches */ }
          reopen(durable.sb);
          model = new Map(durable.model);
        } else {
          lib.checkpoint_durable();
          durable = { sb, model: new Map(model) };
        }
        break;
      }
      case 'crash':
        reopen(durable.sb);
        model = new Map(durable.model);
        break;
    }
  }
  // Everything the model holds, and some keys it does not, read back at the end.
  for (let i = 0; i < KEYS + 50; i += 11) treeGet(model, orderedKey(i));
  if (!scans) return;
  treeScan(model, orderedKey(0), orderedKey(KEYS), 60, true);
  treeScan(model, orderedKey(0), orderedKey(KEYS), 60, false);
}

test('tree: random puts, lookups, flushes, compaction steps, checkpoints and crashes agree with a model (6-slot cache)', () => {
  // Proves, against a Map: every lookup answers the newest value or absence,
  // through a cache so small nearly every read misses; compaction at random
  // points with random budgets never loses or resurrects a version; reopening
  // from the manifest and free set of the last durable checkpoint (also when
  // a later checkpoint was written but not made durable) gives back exactly
  // that checkpoint's state, so nothing written after it overwrote a block
  // it needs.
  setupTree(6, { memtable: 500, levels: 3, growth: 2, l0Max: 2, tableRecords: 1200, tables: 48 });
  fc.assert(fc.property(fc.array(opArb(false), { minLength: 10, maxLength: 80, size: 'max' }), (ops) => { runModel(ops, false); }), { numRuns: 80, seed: 0x5107e });
});

test('tree: the same with range scans, ascending and descending, merged over every level (24-slot cache)', () => {
  // Proves the scan: the newest version of each key, in key order, the limit
  // honoured, from the memtable and tables of every level merged; and that
  // its prefetch names every block the scan then needs (treeScan traps
  // otherwise).
  setupTree(24, { memtable: 500, levels: 3, growth: 2, l0Max: 2, tableRecords: 1200, tables: 48 });
  fc.assert(fc.property(fc.array(opArb(true), { minLength: 10, maxLength: 80, size: 'max' }), (ops) => { runModel(ops, true); }), { numRuns: 80, seed: 0x5c0 });
});

// ---- faults ----

const kindOf = (b: Uint8Array): number => b[32] | (b[33] << 8);
const levelOf = (b: Uint8Array): number => b[35];
const KIND_MANIFEST = 2, KIND_DATA = 4;

/** Reopens from `sb` and reads every key of `keys`; the first named corruption's message, or '' when none. */
function readAll(sb: Superblock, model: Model, keys: bigint[]): string {
  try {
    reopen(sb);
    for (const k of keys) treeGet(model, k);
  } catch (e) {
    if (e instanceof Corrupt) return e.message;
    throw e;
  }
  return '';
}

/** Seals `b` again as the engine would (checksum of bytes 16.. at 0): a whole block, just not the expected one. */
function reseal(b: Uint8Array): void {
  mem().set(b, IN);
  lib.checksum_of(IN + 16, BLOCK - 16, SUM);
  b.set(mem().slice(SUM, SUM + 16), 0);
}

test('corruption: a flipped bit, a torn, misdirected or lost write is named with its block, tree and level, never answered', () => {
  // Proves the check of every block read against its referrer's checksum and
  // its own address: each fault the simulator can inject is reported as
  // storage_corrupt naming the block (and its tree and level), and no lookup
  // before it returned a wrong value (treeGet compares with the model).
  setupTree(6, { l0Max: 1 });
  const model: Model = new Map();
  const keys: bigint[] = [];
  // Three flushes of overlapping keys: the first table moves to L1, the second merges into it (written at level 1).
  for (let i = 0; i < 1600; i++) { keys.push(keyOf(i)); treePut(model, keyOf(i), valueOf(keyOf(i), 0)); }
  while (compact(8) !== C_IDLE) { /* until L0 is within its capacity */ }
  const sb = checkpoint();
  lib.checkpoint_durable();
  assert.equal(readAll(sb, model, keys), '', 'an intact grid reads back whole');
  const data = [...grid.blocks].filter(([, b]) => kindOf(b) === KIND_DATA && levelOf(b) === 1).map(([a]) => a);
  assert.ok(data.length >= 2, 'data blocks in level 1');
  const [victim, other] = data;
  const good = grid.blocks.get(victim)!;
  const named = (reason: string): RegExp => new RegExp(`^storage_corrupt: block ${victim} of tree transfers\\.id, level 1, ${reason}`);

  const flipped = good.slice();
  flipped[20000] ^= 0x10;
  grid.blocks.set(victim, flipped);
  assert.match(readAll(sb, model, keys), named('checksum mismatch'));

  const torn = good.slice();
  torn.fill(0, BLOCK / 2);
  grid.blocks.set(victim, torn);
  assert.match(readAll(sb, model, keys), named('checksum mismatch'));

  grid.blocks.set(victim, grid.blocks.get(other)!.slice());
  assert.match(readAll(sb, model, keys), named('another block\'s content \\(misdirected write\\)'));

  // An older block at this address, whole and naming it: what a write that never landed leaves.
  const older = good.slice();
  older[200] ^= 1;
  reseal(older);
  grid.blocks.set(victim, older);
  assert.match(readAll(sb, model, keys), named('an older block \\(lost write\\)'));
  grid.blocks.set(victim, good);
  assert.equal(readAll(sb, model, keys), '', 'restored, it reads whole again');

  // The manifest and the free set are checked at boot the same way.
  const manifest = grid.blocks.get(sb.manifest)!;
  assert.equal(kindOf(manifest), KIND_MANIFEST);
  const bad = manifest.slice();
  bad[100] ^= 4;
  grid.blocks.set(sb.manifest, bad);
  assert.match(readAll(sb, model, keys), new RegExp(`^storage_corrupt: block ${sb.manifest} of tree transfers\\.id, level 0, checksum mismatch`));
  grid.blocks.set(sb.manifest, manifest);
  const fsAddress = sb.freeSet[0].address;
  const fsGood = grid.blocks.get(fsAddress)!;
  const fsBad = fsGood.slice();
  fsBad[70] ^= 1;
  grid.blocks.set(fsAddress, fsBad);
  assert.match(readAll(sb, model, keys), new RegExp(`^storage_corrupt: block ${fsAddress} of tree free set, level 0, checksum mismatch`));
  grid.blocks.set(fsAddress, fsGood);
  assert.equal(readAll(sb, model, keys), '');
});

test('a full grid: flush, compaction and checkpoint answer storage_full before changing anything, and nothing is lost', () => {
  // Proves the reservation discipline: when the grid cannot take what an
  // operation needs, it is refused with nothing queued, no block acquired,
  // no table added or removed, and every record (memtable included) still
  // reads back.
  setupTree(6, { grid: 24 });
  const model: Model = new Map();
  let i = 0;
  let refused = false;
  while (!refused) {
    for (let j = 0; j < 400; j++, i++) {
      const k = keyOf(i * 5);
      putKey(k);
      mem().set(valueOf(k, 1), VAL);
      assert.ok(lib.put(KEY, VAL));
      model.set(k, valueOf(k, 1));
    }
    const free = lib.fs_free();
    const tables = lib.level_count(0);
    const r = lib.flush();
    if (r === FULL) {
      refused = true;
      assert.equal([lib.fs_free(), lib.level_count(0), lib.write_count(), lib.memtable_count()], [free, tables, 0, 400], 'a refused flush changed nothing');
    } else {
      assert.equal(r, 0);
      drain();
    }
  }
  const state = (): unknown => [lib.fs_free(), lib.level_count(0), lib.level_count(1), lib.level_count(2), lib.write_count()];
  // Compaction: the oldest L0 table moves to the empty L1 (no block needed); the next must merge, and is refused.
  let r: number;
  while ((r = compact(8)) === C_DONE) { /* moves */ }
  assert.equal(r, FULL, 'a merge that cannot reserve its output is refused');
  const before = state();
  assert.equal(compact(8), FULL);
  assert.equal(state(), before, 'a refused merge changed nothing');
  assert.equal(lib.checkpoint(), FULL, 'a checkpoint that cannot flush is refused');
  assert.equal(state(), before, 'a refused checkpoint changed nothing');
  for (let j = 0; j < i; j += 3) treeGet(model, keyOf(j * 5));
});

test('a tree of keys alone (value_bytes 0): an index such as (account, timestamp), paged by scans', () => {
  // Proves value_bytes 0 works end to end, and the composite key order:
  // (account u64, timestamp u64) stored timestamp at +0, account at +8,
  // orders by account, then timestamp; paging from the key after the last
  // one returned walks one account's rows in order, across flushed tables.
  lib.setup(4096, 8, 16, 16, 0, 256, 3, 4, 2, 1024, 32);
  grid = new Grid();
  const v = (): DataView => new DataView(lib.memory.buffer);
  const rows: bigint[] = [];
  for (let t = 1; t <= 600; t++) {
    for (const account of [3n, 1n, 2n]) {
      v().setBigUint64(KEY, BigInt(t * 10), true);
      v().setBigUint64(KEY + 8, account, true);
      if (!lib.put(KEY, VAL)) { assert.equal(lib.flush(), 0); drain(); assert.ok(lib.put(KEY, VAL)); }
      if (account === 2n) rows.push(BigInt(t * 10));
    }
  }
  while (compact(8) !== C_IDLE) { /* levels within capacity */ }
  // Account 2's rows, 100 at a time: lo = (2, after the last timestamp), hi = (2, max).
  const seen: bigint[] = [];
  let from = 0n;
  for (;;) {
    v().setBigUint64(KEY, from, true); v().setBigUint64(KEY + 8, 2n, true);
    v().setBigUint64(KEY2, M64, true); v().setBigUint64(KEY2 + 8, 2n, true);
    rounds(() => lib.scan_prefetch(KEY, KEY2, 100, 1));
    const n = lib.scan(KEY, KEY2, 100, 1, OUT);
    lib.epoch_end();
    for (let i = 0; i < n; i++) {
      assert.equal(v().getBigUint64(OUT + i * 16 + 8, true), 2n, 'only account 2');
      seen.push(v().getBigUint64(OUT + i * 16, true));
    }
    if (n < 100) break;
    from = seen[seen.length - 1] + 1n;
  }
  assert.equal(seen, rows);
  v().setBigUint64(KEY, 3000n, true); v().setBigUint64(KEY + 8, 1n, true);
  rounds(() => lib.prefetch(KEY));
  assert.ok(lib.get(KEY, OUT), 'a point lookup of a key alone');
  v().setBigUint64(KEY, 3001n, true);
  rounds(() => lib.prefetch(KEY));
  assert.ok(!lib.get(KEY, OUT), 'and of an absent one');
  lib.epoch_end();
});

test('determinism: the same calls write the same blocks at the same addresses, whatever the cache size, across a reopen', () => {
  // Proves that the grid's content is a function of the calls alone: a
  // cache of 6 or 24 slots changes which reads reach the disk, never a
  // block written; and reopening from a checkpoint restores all the state
  // that decides later writes (free set, tables, compaction cursors), as
  // replay after a restart needs.
  const r = rng(99);
  const ops: Op[] = [];
  for (let j = 0; j < 240; j++) {
    const x = r() % 10;
    if (x < 5) ops.push({ t: 'puts', n: 50 + (r() % 300), from: r() % KEYS, version: j });
    else if (x < 7) ops.push({ t: 'get', i: r() % KEYS });
    else if (x < 8) ops.push({ t: 'flush' });
    else ops.push({ t: 'compact', budget: 3 + (r() % 8) });
  }
  const run = (slots: number, reopenHalfway: boolean): { log: string[]; reads: number } => {
    setupTree(slots, { memtable: 300, levels: 4, growth: 2, l0Max: 1, tableRecords: 600, tables: 160 });
    const model: Model = new Map();
    const apply = (op: Op): void => {
      if (op.t === 'puts') for (let j = 0; j < op.n; j++) treePut(model, orderedKey((op.from + j * 7) % KEYS), valueOf(BigInt(j), op.version));
      else if (op.t === 'get') treeGet(model, orderedKey(op.i));
      else if (op.t === 'flush') { assert.equal(lib.flush(), 0); drain(); }
      else if (op.t === 'compact') compact(op.budget);
    };
    ops.slice(0, 120).forEach(apply);
    const sb = checkpoint();
    lib.checkpoint_durable();
    if (reopenHalfway) reopen(sb);
    ops.slice(120).forEach(apply);
    checkpoint();
    lib.checkpoint_durable();
    return { log: grid.log, reads: grid.reads };
  };
  const small = run(6, false);
  const large = run(24, false);
  const reopened = run(6, true);
  assert.ok(small.log.length > 50, `${small.log.length} writes`);
  assert.equal(large.log, small.log, 'another cache size, the same writes');
  assert.equal(reopened.log, small.log, 'a reopen between, the same writes');
  assert.ok(large.reads < small.reads, `a larger cache reads less (${large.reads} against ${small.reads})`);
});

test('the engine compiles as a service is compiled (--use abort=)', () => {
  // Proves lib/store needs nothing a service lacks: no abort import, no
  // runtime beyond the stub's.
  const wasm = ascIfStale('test/assembly/store-lib.ts', 'build/test/store-lib-service.wasm', ['lib'],
    ['--config', 'asconfig.json', '--target', 'release', '--use', 'abort=']);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasm)));
  assert.equal(imports, [], 'no imports');
});

benchOrSkip('bench: tree puts, flushes and cached lookups (report only)', () => {
  // Reports rates through the JavaScript boundary (one call per record), so
  // they bound the engine from below; proves nothing about speed on purpose.
  lib.setup(1 << 16, 512, 64, 16, 16, 16384, 4, 8, 4, 16384, 256);
  grid = new Grid();
  const n = 16384 * 16;
  const r = rng(5);
  const keys: bigint[] = [];
  for (let i = 0; i < n; i++) keys.push((BigInt(r()) << 64n) | BigInt(r()));
  const view = (): DataView => new DataView(lib.memory.buffer);
  let t0 = process.hrtime.bigint();
  for (const k of keys) {
    view().setBigUint64(KEY, k & M64, true);
    view().setBigUint64(KEY + 8, k >> 64n, true);
    if (!lib.put(KEY, VAL)) {
      assert.equal(lib.flush(), 0);
      drain();
      while (compact(32) !== C_IDLE) { /* keep the levels in shape */ }
      assert.ok(lib.put(KEY, VAL));
    }
  }
  const putS = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  let hits = 0;
  for (let i = 0; i < n; i += 4) {
    view().setBigUint64(KEY, keys[i] & M64, true);
    view().setBigUint64(KEY + 8, keys[i] >> 64n, true);
    while (lib.prefetch(KEY) !== READY) serve();
    hits += lib.get(KEY, OUT);
    lib.epoch_end();
  }
  const getS = Number(process.hrtime.bigint() - t0) / 1e9;
  assert.equal(hits, n / 4);
  console.log(`tree: ${(n / putS / 1e3).toFixed(0)}k puts/s with flushes and compaction (${grid.writes} blocks written); `
    + `${(n / 4 / getS / 1e3).toFixed(0)}k lookups/s through a 512-slot cache (${grid.reads} blocks read)`);
});
test.run();
