// test/unit/kernel-units.test.ts: the kernel's scheduler, memory pools,
// rings, timers and reply tokens, driven through test/assembly/kernel-units.ts
// (the kernel's own modules, compiled as the kernel is: --runtime stub, -O3,
// assertions on).
//
// The kernel modules keep their state in module globals, so every test starts
// from a fresh WebAssembly instance of the same compiled module. A kernel
// assertion calls env.abort, which here throws a WebAssembly.RuntimeError
// carrying the assertion's message, so "traps" and "which assertion" are
// both checked.
//
// Run: node --import tsx test/unit/kernel-units.test.ts
// The wasm is rebuilt first when it is missing or older than its sources.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { ascIfStale } from '../support/asc.ts';

const WASM = ascIfStale('test/assembly/kernel-units.ts', 'build/test/kernel-units.wasm', ['hal', 'kernel']);

// Exports of test/assembly/kernel-units.ts. A bool comes back as 0/1 and a
// u32 as a signed i32 (use u32() below); u64 values are bigints.
interface Units {
  memory: WebAssembly.Memory;
  seal_now(): void;
  check_sealed(): number;
  reserve_bytes(bytes: number): number;
  alloc_bytes(bytes: number): number;
  sched_setup(services: number, descriptors: number): void;
  service_set(index: number, priority: number, budget: number): void;
  push(index: number, id: number): number;
  pick(): number;
  picked_id(): number;
  sched_rounds(): number;
  ready_services(): number;
  inbox_len(index: number): number;
  descriptors_in_use(): number;
  pool_setup(slotBytes: number, count: number): number;
  pool_take(): number;
  pool_give(index: number): void;
  pool_in_use(): number;
  pool_high_water(): number;
  pool_exhausted(): number;
  pool_write(index: number, value: number): void;
  pool_read(index: number): number;
  ring_setup(capacity: number): void;
  ring_set_indices(head: number, tail: number): void;
  ring_push(tag: number): number;
  ring_peek(): bigint;
  ring_pop(): void;
  ring_used(): number;
  ring_free(): number;
  ring_head(): number;
  ring_tail(): number;
  timers_setup(count: number): number;
  timer_add(service: number, deadlineNs: bigint, tag: bigint): number;
  timer_due(nowNs: bigint): number;
  timer_service(i: number): number;
  timer_tag(i: number): bigint;
  timer_remove(i: number): void;
  timers_active(): number;
  timer_earliest(): bigint;
  tokens_setup(clientCount: number, serviceCount: number): number;
  client_token(holder: number, conn: bigint, requestId: number, live: number): number;
  service_token(origin: number, holder: number): number;
  token_resolves(token: number, holder: number): number;
  token_origin(token: number, holder: number): number;
  token_conn(token: number, holder: number): bigint;
  token_request_id(token: number, holder: number): number;
  token_live(token: number, holder: number): number;
  token_free(token: number): void;
  client_tokens_in_use(): number;
  service_tokens_in_use(): number;
}

const MODULE = new WebAssembly.Module(readFileSync(WASM));

/** A fresh kernel-module instance: all module state as at boot. */
function fresh(): Units {
  let memory: WebAssembly.Memory | null = null;
  const readString = (ptr: number): string => {
    if (memory === null || ptr === 0) return '';
    const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0]; // UTF-16, byte length before it
    return Buffer.from(memory.buffer, ptr, bytes).toString('utf16le');
  };
  const env = {
    abort(message: number, file: number, line: number, column: number): never {
      throw new WebAssembly.RuntimeError(`kernel assertion: ${readString(message)} at ${readString(file)}:${line}:${column}`);
    },
  };
  const units = new WebAssembly.Instance(MODULE, { env }).exports as unknown as Units;
  memory = units.memory;
  return units;
}

const POOL_EMPTY = 0xffffffff;
const u32 = (x: number): number => x >>> 0;

/** Asserts fn traps (a WebAssembly.RuntimeError) and, if given, that the message matches. */
function traps(fn: () => unknown, message?: RegExp): void {
  let caught: unknown = null;
  try { fn(); } catch (e) { caught = e; }
  assert.ok(caught instanceof WebAssembly.RuntimeError, `expected a trap, got ${caught === null ? 'no trap' : String(caught)}`);
  if (message !== undefined) assert.match((caught as Error).message, message);
}

// Deterministic PRNG (splitmix32), so a failure reproduces from its seed.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- scheduler

interface Pick { service: number; id: number; round: number }

/** Sets up services with the given priorities and budgets, then seals. */
function scheduler(priorities: number[], budgets: number[], descriptors = 64): Units {
  const u = fresh();
  u.sched_setup(priorities.length, descriptors);
  priorities.forEach((p, i) => u.service_set(i, p, budgets[i]));
  u.seal_now();
  return u;
}

function pickOne(u: Units): Pick | null {
  const service = u.pick();
  return service < 0 ? null : { service, id: u32(u.picked_id()), round: u.sched_rounds() };
}

function drain(u: Units, max = 100_000): Pick[] {
  const out: Pick[] = [];
  for (let p = pickOne(u); p !== null; p = pickOne(u)) {
    out.push(p);
    if (out.length > max) throw new Error('scheduler never ran dry');
  }
  return out;
}

function push(u: Units, service: number, id: number): void {
  assert.is(u.push(service, id), 1, `push of message ${id} to service ${service}`);
}

const services = (picks: Pick[]): number[] => picks.map((p) => p.service);
const ids = (picks: Pick[]): number[] => picks.map((p) => p.id);

test('scheduler: priority classes are visited in order within a round', () => {
  // Proves a round serves class 0 first and class 7 last, whatever order the
  // services were declared or became ready in, and that it is one round.
  const u = scheduler([5, 0, 7, 3, 0], [16, 16, 16, 16, 16]);
  for (const s of [2, 0, 3, 1, 4]) push(u, s, 100 + s);
  const picks = drain(u);
  assert.equal(services(picks), [1, 4, 3, 0, 2]);
  assert.equal(ids(picks), [101, 104, 103, 100, 102]);
  assert.ok(picks.every((p) => p.round === 1), 'all in the first round');
  assert.is(u.ready_services(), 0);
});

test('scheduler: FIFO among a class by the moment a service became ready; FIFO of messages within a service', () => {
  // Proves services of one class are served in the order they became ready
  // (not by index), that more messages to an already-ready service do not
  // move it, and that each service's messages come out in push order, also
  // when the budget spreads them over several rounds.
  const u = scheduler([2, 2, 2, 2, 2], [16, 16, 16, 16, 16]);
  const order: Array<[number, number]> = [[3, 1], [1, 2], [3, 3], [4, 4], [1, 5], [0, 6], [3, 7]];
  for (const [s, id] of order) push(u, s, id);
  const picks = drain(u);
  assert.equal(services(picks), [3, 3, 3, 1, 1, 4, 0]);
  assert.equal(ids(picks), [1, 3, 7, 2, 5, 4, 6]);

  const v = scheduler([4], [3]);
  for (let id = 100; id < 110; id++) push(v, 0, id);
  const spread = drain(v);
  assert.equal(ids(spread), [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  assert.equal(spread.map((p) => p.round), [1, 1, 1, 2, 2, 2, 3, 3, 3, 4], 'three per round (budget 3)');
});

test('scheduler: the budget keeps a busy service from starving lower priorities', () => {
  // Proves a priority-0 service with 1000 messages and budget 4 gets 4 per
  // round, and the priority-3 and priority-7 services are served in the very
  // first round (after 4 and 6 picks), not after the busy one drains.
  const u = scheduler([0, 3, 7], [4, 2, 1], 1100);
  for (let i = 0; i < 1000; i++) push(u, 0, i);
  for (let i = 0; i < 10; i++) push(u, 1, 5000 + i);
  push(u, 2, 9000);
  const picks = drain(u);
  assert.is(picks.length, 1011);
  assert.equal(services(picks.slice(0, 7)), [0, 0, 0, 0, 1, 1, 2]);
  assert.ok(picks.slice(0, 7).every((p) => p.round === 1), 'low priority served in round 1');
  const perRound = new Map<number, number>();
  for (const p of picks.filter((x) => x.service === 0)) perRound.set(p.round, (perRound.get(p.round) ?? 0) + 1);
  assert.ok([...perRound.values()].every((n) => n <= 4), 'never more than the budget per round');
  assert.equal(ids(picks.filter((p) => p.service === 0)), Array.from({ length: 1000 }, (_, i) => i));
  assert.is(u.sched_rounds(), 250);
  assert.is(u.descriptors_in_use(), 0);
});

test('scheduler: a service that becomes ready during a round is served from the next round', () => {
  // Proves the round is a snapshot: B (priority 0) becomes ready after class
  // 0's turn began, so C (priority 1) is served before it, and B waits for
  // round 2. As kernel/sched.ts documents, the snapshot is per class: D
  // (priority 5), ready before class 5's turn begins, is served in round 1.
  const A = 0; const B = 1; const C = 2; const D = 3;
  const u = scheduler([0, 0, 1, 5], [1, 1, 1, 1]);
  for (const id of [1, 2, 3]) push(u, A, id);
  push(u, C, 10);
  const first = pickOne(u)!;
  assert.equal([first.service, first.round], [A, 1]);
  push(u, B, 20);
  push(u, D, 30);
  const rest = drain(u);
  assert.equal(rest.map((p) => [p.service, p.round]), [[C, 1], [D, 1], [B, 2], [A, 2], [A, 3]]);
});

test('scheduler: a service served in its turn takes newly pushed messages up to its budget', () => {
  // Proves messages pushed to the service being served extend its current
  // turn (it is not queued twice) but never past its budget.
  const u = scheduler([0, 0], [3, 3]);
  push(u, 0, 1);
  push(u, 1, 2);
  assert.is(pickOne(u)!.service, 0);
  for (const id of [3, 4, 5]) push(u, 0, id);
  assert.equal(drain(u).map((p) => [p.service, p.id, p.round]), [[0, 3, 1], [0, 4, 1], [1, 2, 1], [0, 5, 2]]);
});

/**
 * The scheduling rule as kernel/sched.ts states it, over plain arrays: a
 * round visits classes 0..7; each service queued when its class's turn
 * begins gets up to `budget` messages, then goes to the back of its class
 * queue if it still has work. The kernel keeps the same queues as intrusive
 * lists in reserved memory; this model is the oracle for random workloads.
 */
class SchedModel {
  private readonly queues: number[][] = Array.from({ length: 8 }, () => []);
  private readonly inbox: number[][];
  private current = -1;
  private given = 0;
  private roundClass = 8;
  private roundLeft = 0;
  rounds = 0;

  constructor(private readonly priority: number[], private readonly budget: number[]) {
    this.inbox = priority.map(() => []);
  }

  push(s: number, id: number): void {
    this.inbox[s].push(id);
    const queue = this.queues[this.priority[s]];
    if (s !== this.current && !queue.includes(s)) queue.push(s);
  }

  pick(): Pick | null {
    const c = this.current;
    if (c >= 0 && this.inbox[c].length > 0 && this.given < this.budget[c]) {
      this.given++;
      return { service: c, id: this.inbox[c].shift()!, round: this.rounds };
    }
    if (c >= 0) {
      this.current = -1;
      if (this.inbox[c].length > 0) this.queues[this.priority[c]].push(c);
    }
    while (this.roundLeft === 0) {
      this.roundClass++;
      if (this.roundClass >= 8) {
        if (this.queues.every((q) => q.length === 0)) return null;
        this.roundClass = 0;
        this.rounds++;
      }
      this.roundLeft = this.queues[this.roundClass].length;
    }
    this.roundLeft--;
    const s = this.queues[this.roundClass].shift()!;
    this.current = s;
    this.given = 1;
    return { service: s, id: this.inbox[s].shift()!, round: this.rounds };
  }
}

/** A random workload of pushes and picks; returns every pick, then drains. */
function runWorkload(seed: number, run: { push(s: number, id: number): void; pick(): Pick | null }, n: number): Pick[] {
  const rand = rng(seed);
  const out: Pick[] = [];
  let id = 1;
  for (let op = 0; op < 4000; op++) {
    if (rand() < 0.55) {
      // A burst to one service now and then, to exercise the budget.
      const s = Math.floor(rand() * n);
      const burst = rand() < 0.1 ? 1 + Math.floor(rand() * 12) : 1;
      for (let k = 0; k < burst; k++) run.push(s, id++);
    } else {
      const p = run.pick();
      if (p !== null) out.push(p);
    }
  }
  for (let p = run.pick(); p !== null; p = run.pick()) out.push(p);
  return out;
}

test('scheduler: the same pushes give the same picks, and match the reference model', () => {
  // Proves determinism (two fresh instances, same workload, same picks, round
  // numbers included), agreement with the documented rule (SchedModel) on
  // random workloads with bursts, FIFO per service, and that scheduling
  // allocates nothing after the seal.
  for (const seed of [1, 7, 1234]) {
    const rand = rng(seed ^ 0x5eed);
    const n = 12;
    const priorities = Array.from({ length: n }, () => Math.floor(rand() * 8));
    const budgets = Array.from({ length: n }, () => 1 + Math.floor(rand() * 5));
    const onKernel = (): Pick[] => {
      const u = scheduler(priorities, budgets, 8192);
      const picks = runWorkload(seed, { push: (s, id) => push(u, s, id), pick: () => pickOne(u) }, n);
      assert.is(u.descriptors_in_use(), 0, 'every descriptor released');
      assert.is(u.ready_services(), 0);
      assert.is(u.check_sealed(), 1, 'nothing allocated after the seal');
      return picks;
    };
    const first = onKernel();
    const second = onKernel();
    assert.equal(second, first, `seed ${seed}: same picks on a fresh instance`);
    const model = new SchedModel(priorities, budgets);
    const expected = runWorkload(seed, { push: (s, id) => model.push(s, id), pick: () => model.pick() }, n);
    assert.equal(first, expected, `seed ${seed}: kernel equals the model`);
    for (let s = 0; s < n; s++) {
      const got = ids(first.filter((p) => p.service === s));
      assert.equal(got, [...got].sort((a, b) => a - b), `seed ${seed}: service ${s} FIFO`);
    }
  }
});

// ---------------------------------------------------------------- pools

test('pool: N slots, then POOL_EMPTY counted as exhausted; inUse and highWater; give makes a slot usable again', () => {
  // Proves a pool hands out exactly its N distinct, non-overlapping slots,
  // reports POOL_EMPTY and counts each refusal, tracks inUse and the high
  // water mark, and that a given-back slot is handed out again.
  const u = fresh();
  assert.is(u.pool_setup(20, 5), 1);
  const taken: number[] = [];
  for (let i = 0; i < 5; i++) taken.push(u32(u.pool_take()));
  assert.equal([...taken].sort(), [0, 1, 2, 3, 4]);
  taken.forEach((index) => u.pool_write(index, 0xa0 + index));
  taken.forEach((index) => assert.is(u32(u.pool_read(index)), 0xa0 + index, `slot ${index} kept its bytes`));
  assert.is(u.pool_in_use(), 5);
  assert.is(u.pool_high_water(), 5);
  for (let i = 1; i <= 3; i++) {
    assert.is(u32(u.pool_take()), POOL_EMPTY);
    assert.is(u.pool_exhausted(), i);
  }
  assert.is(u.pool_in_use(), 5, 'a refused take changes nothing');
  u.pool_give(2);
  assert.is(u.pool_in_use(), 4);
  assert.is(u32(u.pool_take()), 2);
  for (const index of taken) u.pool_give(index);
  assert.is(u.pool_in_use(), 0);
  assert.is(u.pool_high_water(), 5, 'high water stays');
  assert.is(u.pool_exhausted(), 3);

  const empty = fresh();
  assert.is(empty.pool_setup(8, 0), 1);
  assert.is(u32(empty.pool_take()), POOL_EMPTY);
  assert.is(empty.pool_exhausted(), 1);
});

test('pool: giving an index out of range, or when nothing is in use, traps', () => {
  // Proves Pool.give's assertions fire: an index past the pool, the
  // POOL_EMPTY value itself, and a second give of the only slot in use.
  const u = fresh();
  u.pool_setup(16, 5);
  u.pool_take();
  traps(() => u.pool_give(5), /pool give: bad index/);
  const v = fresh();
  v.pool_setup(16, 5);
  v.pool_take();
  traps(() => v.pool_give(POOL_EMPTY), /pool give: bad index/);
  const w = fresh();
  w.pool_setup(16, 5);
  const only = u32(w.pool_take());
  w.pool_give(only);
  traps(() => w.pool_give(only), /pool give: slot is not in use/);
});

test('pool: giving a slot twice traps even while another slot is in use', () => {
  // Proves a double give is caught, not only when it would make
  // inUse negative. Today Pool.give keeps no per-slot state: with slot 1 in
  // use, giving slot 0 twice passes both assertions, links slot 0 to itself
  // on the free list, and the next two take() calls both return slot 0: two
  // messages (or two reply tokens) would share one slot.
  const u = fresh();
  u.pool_setup(16, 3);
  const a = u32(u.pool_take());
  u.pool_take();
  u.pool_give(a);
  traps(() => u.pool_give(a), /pool give/);
});

test('mem: reserve() after seal() traps; pure pool, ring, scheduler, timer and token work allocates nothing', () => {
  // Proves the seal: after boot-time setup and seal(), a day's worth of pool,
  // ring, scheduler, timer and token operations leave the bump allocator
  // untouched (checkSealed), a late reservation traps, and checkSealed does
  // notice an allocation (negative control).
  const u = fresh();
  u.sched_setup(4, 1024);
  u.pool_setup(32, 8);
  u.ring_setup(8);
  u.timers_setup(8);
  u.tokens_setup(8, 8);
  u.seal_now();
  assert.is(u.check_sealed(), 1);
  for (let i = 0; i < 500; i++) {
    push(u, i % 4, i);
    if (i % 3 === 0) pickOne(u);
    const slot = u32(u.pool_take());
    if (slot !== POOL_EMPTY) u.pool_give(slot);
    u.ring_push(i);
    u.ring_pop();
    u.timer_add(i % 4, BigInt(i), BigInt(i));
    u.timer_remove(u.timer_due(BigInt(i)));
    const token = u32(u.client_token(1, BigInt(i), i, 1));
    u.token_resolves(token, 1);
    u.token_free(token);
  }
  drain(u);
  assert.is(u.check_sealed(), 1, 'nothing allocated after the seal');
  traps(() => u.reserve_bytes(16), /reserve after seal/);
  u.alloc_bytes(16);
  assert.is(u.check_sealed(), 0, 'an allocation behind the seal is noticed');
});

test('mem: a reservation larger than the allocator can give returns 0 instead of trapping', () => {
  // Proves reserve() keeps its contract "0 when it does not
  // fit" for one large region. Today it passes the 3 GiB kernel-memory check
  // and then the stub runtime's heap.alloc aborts ("Allocation too large":
  // one block is at most 1 GiB - 4 bytes). A manifest the host accepts
  // (message_slots 1024 x message_bytes_max 1 MiB = MESSAGE_POOL_BYTES_MAX)
  // asks exactly 1 GiB for the message slots, so that image's kernel panics
  // at boot instead of booting or failing with KERR_POOL.
  const u = fresh();
  let result: number | null = null;
  try { result = u.reserve_bytes(1 << 30); } catch (e) { assert.unreachable(`reserve trapped: ${(e as Error).message}`); }
  assert.is(result, 0);
});

test('mem: a pool whose byte size passes 2^32 is refused, not wrapped', () => {
  // Proves poolInit refuses a pool of 4096 slots of 1 MiB (the
  // kernel's own bounds allow message_slots up to 65536 and
  // message_bytes_max up to 1 MiB; only the host's manifest check forbids
  // the product). Today slotBytes * count is computed in 32-bit usize, wraps
  // to 0, reserve(0) succeeds, and building the free list writes past the
  // reservation: a trap here, silent overlap when memory is large enough.
  const u = fresh();
  let result: number | null = null;
  try { result = u.pool_setup(1 << 20, 4096); } catch (e) { assert.unreachable(`poolInit trapped: ${(e as Error).message}`); }
  assert.is(result, 0);
});

// ---------------------------------------------------------------- rings

test('ring: push/peek/pop across the 2^32 index wrap keep order and full/empty detection (capacity 4 and 8)', () => {
  // Proves free-running u32 indices: from just below 2^32, a ring of 4 or 8
  // fills exactly to capacity across the wrap, refuses the next push without
  // moving head, and gives descriptors back in order; then random traffic
  // (checked against a plain queue) crosses the wrap with used/free right at
  // every step.
  for (const capacity of [4, 8]) {
    for (const start of [0xfffffff0, 0xffffffff - capacity + 2, 0xffffffff]) {
      const u = fresh();
      u.ring_setup(capacity);
      u.ring_set_indices(start, start);
      assert.is(u.ring_peek(), -1n, 'empty at start');
      for (let i = 0; i < capacity; i++) assert.is(u.ring_push(1000 + i), 1);
      assert.is(u.ring_used(), capacity);
      assert.is(u.ring_free(), 0);
      assert.is(u32(u.ring_head()), (start + capacity) >>> 0);
      assert.is(u.ring_push(9999), 0, 'a full ring refuses push');
      assert.is(u32(u.ring_head()), (start + capacity) >>> 0, 'refused push leaves head');
      for (let i = 0; i < capacity; i++) {
        assert.is(u.ring_peek(), BigInt(1000 + i));
        u.ring_pop();
      }
      assert.is(u.ring_peek(), -1n, 'empty again');
      assert.is(u.ring_used(), 0);
    }

    const u = fresh();
    u.ring_setup(capacity);
    u.ring_set_indices(0xfffffff0, 0xfffffff0);
    const queue: number[] = [];
    const rand = rng(capacity);
    let tag = 1;
    for (let step = 0; step < 400; step++) {
      if (rand() < 0.55) {
        const accepted = u.ring_push(tag) === 1;
        assert.is(accepted, queue.length < capacity, `step ${step}: push accepted iff not full`);
        if (accepted) queue.push(tag);
        tag++;
      } else if (queue.length > 0) {
        assert.is(u.ring_peek(), BigInt(queue.shift()!), `step ${step}: order`);
        u.ring_pop();
      } else {
        assert.is(u.ring_peek(), -1n, `step ${step}: empty`);
      }
      assert.is(u.ring_used(), queue.length);
      assert.is(u.ring_free(), capacity - queue.length);
      assert.is(u32(u.ring_head() - u.ring_tail()), queue.length);
    }
    assert.ok(u32(u.ring_tail()) < 0xfffffff0, 'the tail index crossed 2^32');
  }
});

test('ring: corrupt indices trap on peek, and pop on an empty ring traps', () => {
  // Proves ring.ts's consistency assertions: more used than capacity (a
  // host that moved an index wrongly) and a pop with nothing to pop.
  const u = fresh();
  u.ring_setup(4);
  u.ring_set_indices(0x00000003, 0xfffffffe); // used = 5 across the wrap
  traps(() => u.ring_peek(), /more used than capacity/);
  const v = fresh();
  v.ring_setup(8);
  v.ring_set_indices(0xffffffff, 0xffffffff);
  traps(() => v.ring_pop(), /pop on empty ring/);
});

// ---------------------------------------------------------------- timers

/** Removes every due timer at nowNs; returns their tags in firing order. */
function fireAll(u: Units, nowNs: bigint): bigint[] {
  const fired: bigint[] = [];
  for (let i = u.timer_due(nowNs); i >= 0; i = u.timer_due(nowNs)) {
    fired.push(u.timer_tag(i));
    u.timer_remove(i);
  }
  return fired;
}

test('timers: due in (deadline, creation order) order, not slot order; earliest deadline tracked', () => {
  // Proves timers fire by deadline, ties by creation order even when a newer
  // timer reuses a lower table slot, only once due, and that the earliest
  // deadline (what the kernel publishes in REG_DEADLINE_NS) follows adds and
  // removes.
  const u = fresh();
  u.timers_setup(8);
  const deadlines = [300n, 100n, 200n, 100n, 300n];
  deadlines.forEach((d, i) => assert.is(u.timer_add(i, d, BigInt(i + 1)), 1));
  assert.is(u.timer_earliest(), 100n);
  assert.is(u.timer_due(99n), -1, 'nothing due before the earliest deadline');
  assert.equal(fireAll(u, 150n), [2n, 4n]);
  assert.is(u.timer_earliest(), 200n);
  assert.equal(fireAll(u, 1000n), [3n, 1n, 5n]);
  assert.is(u.timer_earliest(), 0n, '0 = no timer');
  assert.is(u.timers_active(), 0);

  // Slot 0 is free again; the newer timer that lands there fires after the
  // older one with the same deadline in slot 1.
  const v = fresh();
  v.timers_setup(4);
  v.timer_add(7, 5n, 1n); // slot 0
  v.timer_add(8, 50n, 2n); // slot 1
  assert.equal(fireAll(v, 10n), [1n]);
  v.timer_add(9, 50n, 3n); // slot 0, created later
  const i = v.timer_due(50n);
  assert.is(v.timer_tag(i), 2n);
  assert.is(v.timer_service(i), 8);
  assert.equal(fireAll(v, 50n), [2n, 3n]);
});

test('timers: a full table refuses a new timer until one is removed', () => {
  // Proves the table bound: timers_max adds succeed, the next is refused
  // without disturbing the others, and a removal makes room again.
  const u = fresh();
  u.timers_setup(3);
  for (let i = 0; i < 3; i++) assert.is(u.timer_add(1, BigInt(10 + i), BigInt(i)), 1);
  assert.is(u.timer_add(1, 5n, 99n), 0, 'full');
  assert.is(u.timers_active(), 3);
  assert.is(u.timer_earliest(), 10n, 'a refused timer does not move the earliest deadline');
  u.timer_remove(u.timer_due(10n));
  assert.is(u.timer_add(1, 5n, 99n), 1);
  assert.is(u.timer_earliest(), 5n);
  assert.equal(fireAll(u, 100n), [99n, 1n, 2n]);

  const none = fresh();
  assert.is(none.timers_setup(0), 1, 'timers_max 0 is a valid table');
  assert.is(none.timer_add(1, 1n, 1n), 0);
});

test('timers: a timer with deadline 0 is tracked as the earliest and found due', () => {
  // Proves that deadline 0 is an ordinary deadline. Today
  // earliestNs uses 0 for "no timer": after timer(deadline 0) and
  // timer(deadline 5), earliestNs is 5 and timerDue(3) returns -1 although
  // the first timer is due; with only the deadline-0 timer, REG_DEADLINE_NS
  // reads "no timer". Reachable: qx_init runs with logical time 0, so
  // timer(0, tag) in qx_init sets deadline 0. Low impact today (entries
  // carry wall-clock times, far above any init-time deadline).
  const u = fresh();
  u.timers_setup(4);
  u.timer_add(1, 0n, 7n);
  u.timer_add(1, 5n, 8n);
  const due = u.timer_due(3n);
  assert.ok(due >= 0, 'the deadline-0 timer is due at time 3');
  assert.is(u.timer_tag(due), 7n);
});

// ---------------------------------------------------------------- tokens

test('tokens: a reply token resolves only for its holder and its generation', () => {
  // Proves a client token answers only the service it was given to, carries
  // its connection, request id and live flag, and that a token with another
  // generation, slot 0, or a slot past the pool does not resolve.
  const u = fresh();
  u.tokens_setup(4, 4);
  const t = u32(u.client_token(3, 0x1_0000_0002n, 77, 1));
  assert.is.not(t, 0);
  assert.is(u.token_resolves(t, 3), 1);
  assert.is(u.token_resolves(t, 4), 0, 'another service cannot answer it');
  assert.is(u.token_resolves(t, 0xffff), 0);
  assert.is(u.token_conn(t, 3), 0x1_0000_0002n);
  assert.is(u.token_request_id(t, 3), 77);
  assert.is(u.token_live(t, 3), 1);
  assert.is(u.token_resolves(u32(t ^ (1 << 16)), 3), 0, 'other generation');
  assert.is(u.token_resolves(u32(t & ~0xffff), 3), 0, 'slot 0 means no token');
  assert.is(u.token_resolves(u32((t & ~0xffff) | 5), 3), 0, 'slot past the pool');
  assert.is(u.token_resolves(0, 3), 0);
  const replayed = u32(u.client_token(3, 9n, 1, 0));
  assert.is(u.token_live(replayed, 3), 0, 'a replayed input has no waiting connection');
});

test('tokens: after free the token no longer resolves, also after its slot is reused', () => {
  // Proves free() kills a token at once (a second reply fails), that the
  // next token from the same slot has a new generation, and that the old
  // value stays dead through 32767 reuses of its slot; the 32768th reuse
  // gives the same value again (the 15-bit generation's limit).
  const u = fresh();
  u.tokens_setup(1, 1);
  const first = u32(u.client_token(2, 1n, 1, 1));
  u.token_free(first);
  assert.is(u.token_resolves(first, 2), 0, 'dead after free');
  assert.is(u.client_tokens_in_use(), 0);
  let reused = 0;
  for (let k = 1; k < 32768; k++) {
    const t = u32(u.client_token(2, 1n, 1, 1));
    assert.is(t & 0xffff, first & 0xffff, 'same slot');
    if (u.token_resolves(first, 2) !== 0) reused++;
    assert.is(u.token_resolves(t, 2), 1);
    u.token_free(t);
  }
  assert.is(reused, 0, 'the stale token never resolved');
  const wrapped = u32(u.client_token(2, 1n, 1, 1));
  assert.is(wrapped, first, 'generation wraps after 2^15 reuses');
});

test('tokens: client and service tokens come from separate pools', () => {
  // Proves the two kinds never share a slot or a count: the service bit
  // tells them apart, freeing one leaves the other, and exhausting the
  // client pool leaves service tokens available (and the other way round).
  const u = fresh();
  u.tokens_setup(1, 2);
  const client = u32(u.client_token(5, 1n, 1, 1));
  const svc = u32(u.service_token(1, 5));
  assert.is(client & 0xffff, svc & 0xffff, 'same slot number in each pool');
  assert.is.not(client, svc);
  assert.is(svc >>> 31, 1, 'service tokens carry the service bit');
  assert.is(client >>> 31, 0);
  assert.is(u.token_origin(svc, 5), 1, 'a service token remembers its sender');
  assert.is(u32(u.client_token(5, 2n, 2, 1)), 0, 'client pool exhausted');
  const svc2 = u32(u.service_token(2, 5));
  assert.is.not(svc2, 0, 'service pool still has room');
  assert.is(u32(u.service_token(3, 5)), 0, 'service pool exhausted');
  u.token_free(client);
  assert.is(u.client_tokens_in_use(), 0);
  assert.is(u.service_tokens_in_use(), 2);
  assert.is(u.token_resolves(svc, 5), 1, 'freeing the client token leaves the service token');
  assert.is(u.token_resolves(u32(svc & 0x7fffffff), 5), 0, 'the service token is not a client token');
});

test('tokens: a token pool larger than 16 bits of slot number is refused; the largest allowed works to its last slot', () => {
  // Proves token slot numbers fit their 16 bits: a token stores slot + 1 in
  // bits 15..0, so a pool of 65536 would make slot 65535 spill into the
  // generation and never resolve. tokensInit refuses such a pool (the
  // kernel caps the service-token pool at 65535), and with 65535 slots the
  // last token handed out resolves for its holder.
  const big = fresh();
  assert.is(big.tokens_setup(1, 65536), 0, 'a 65536-slot token pool is refused');
  const u = fresh();
  assert.is(u.tokens_setup(1, 65535), 1);
  let last = 0;
  for (let i = 0; i < 65535; i++) last = u32(u.service_token(1, 2));
  assert.is.not(last, 0, 'the pool handed out its last slot');
  assert.is(u.token_resolves(last, 2), 1, `token ${last.toString(16)} resolves for its holder`);
});

test.run();
