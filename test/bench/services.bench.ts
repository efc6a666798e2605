// test/bench/services.bench.ts: what loading a service module costs, and
// what the fuel counter costs the ledger, measured side by side in one run.
//
// Instantiate: for each service module of the default image, the time to
// prepare it (host/fuel.ts: binaryen instrumentation and the memory limit;
// uncached), to compile it (WebAssembly.Module) and to instantiate it and
// run qx_init (the ledger with the bank image's capacities). The first
// preparation in a process also loads binaryen (in a worker thread when run
// from source, as here): its own row.
//
// Fuel: two ledgers from the same module, one prepared with the fuel
// counter and one without, each given the ledger benchmark's accounts and
// funding (test/bench/ledger/workload.ts), then the same uniform batches of
// 8189 transfers, alternating batch by batch so a noisy moment hits both.
// Only the request call is timed (inbox copy + qx_handle + reply).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareModule } from '../../host/fuel.ts';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import { BATCH_BYTES, BATCH_EVENTS, LEDGER_ACCOUNTS, Rng, allocPairs, countFailed, encodeBatch, eventCount, fillPairs, setupRequests } from './ledger/workload.ts';
import { ROOT, median, ratio, round, type Bench, type FigureSpec, type Figures } from './support.ts';

const MODULES = ['ledger', 'echo', 'counter'];
const ROUNDS = 5; // instantiate rounds per module (after one warm-up)
const WARMUP_BATCHES = 8;
const BATCHES = 100; // timed batches per ledger: 818,900 transfers each
const LEDGER_CONFIG = { accounts_max: 100_000, transfers_max: 1_000_000, pending_max: 100_000, history_max: 1_000_000 };

const MEDIAN = 'median ms';
const RATE = 'transfers/s';
const VS = '× without fuel';

const FIGURES: FigureSpec[] = [
  { key: 'binaryen_first_prepare_ms', row: 'first prepare in a process (loads binaryen)', col: MEDIAN },
  ...MODULES.flatMap((m) => [
    { key: `${m}_prepare_ms_median`, row: `${m}: prepare (instrument + memory limit)`, col: MEDIAN },
    { key: `${m}_compile_ms_median`, row: `${m}: compile (WebAssembly.Module)`, col: MEDIAN },
    { key: `${m}_instantiate_ms_median`, row: `${m}: instantiate + qx_init`, col: MEDIAN },
  ]),
  { key: 'ledger_fuel_transfers_per_s', row: 'ledger apply, with fuel counter', col: RATE },
  { key: 'ledger_plain_transfers_per_s', row: 'ledger apply, without fuel counter', col: RATE },
  { key: 'ledger_fuel_vs_plain_ratio', row: 'ledger apply, with fuel counter', col: VS },
];

function ms(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

async function instantiate(figures: Figures, notes: string[]): Promise<void> {
  const started = performance.now();
  await prepareModule(new Uint8Array(readFileSync(join(ROOT, 'build/services/echo.wasm'))), { memoryPagesMax: 59999 });
  figures.binaryen_first_prepare_ms = round(performance.now() - started, 3);
  for (const name of MODULES) {
    const bytes = new Uint8Array(readFileSync(join(ROOT, 'build/services', `${name}.wasm`)));
    const prepare: number[] = [];
    const compile: number[] = [];
    const inst: number[] = [];
    for (let r = 0; r <= ROUNDS; r++) {
      // A distinct memory limit per round defeats the prepared-module cache.
      const t0 = performance.now();
      const prepared = await prepareModule(bytes, { memoryPagesMax: 60000 + r * 10 + (MODULES.indexOf(name)) });
      const p = performance.now() - t0;
      let module: WebAssembly.Module | null = null;
      const c = ms(() => { module = new WebAssembly.Module(prepared as Uint8Array<ArrayBuffer>); });
      const svc = await ServiceHarness.load(prepared, { caps: ['net', 'log', 'time', 'timer'], memoryPagesMax: 65536, messageBytesMax: 1 << 20, prepared: true });
      const i = ms(() => svc.init(name === 'ledger' ? LEDGER_CONFIG : {}));
      void module;
      if (r === 0) continue;
      prepare.push(p); compile.push(c); inst.push(i);
    }
    figures[`${name}_prepare_ms_median`] = round(median(prepare), 2);
    figures[`${name}_compile_ms_median`] = round(median(compile), 2);
    figures[`${name}_instantiate_ms_median`] = round(median(inst), 2);
  }
  notes.push('instantiate + qx_init runs the prepared module (fuel counter in) through the SDK harness; the ledger sizes its tables at init');
}

async function ledger(fuel: boolean): Promise<ServiceHarness> {
  const bytes = new Uint8Array(readFileSync(join(ROOT, 'build/services/ledger.wasm')));
  const prepared = await prepareModule(bytes, { memoryPagesMax: 65536, fuel });
  const svc = await ServiceHarness.load(prepared, { caps: ['net', 'log', 'time', 'timer'], memoryPagesMax: 65536, messageBytesMax: 1 << 20, prepared: true });
  const setup = setupRequests();
  svc.init({ accounts_max: LEDGER_ACCOUNTS, transfers_max: 20_000 + (WARMUP_BATCHES + BATCHES) * BATCH_EVENTS, pending_max: 1, history_max: 1 });
  for (const r of [...setup.accounts, ...setup.funding]) {
    const reply = svc.request(r);
    if (reply === null || reply.status !== 0 || countFailed(reply.payload, eventCount(r)) !== 0) throw new Error('ledger setup failed');
  }
  return svc;
}

async function fuelCost(figures: Figures, notes: string[]): Promise<void> {
  const withFuel = await ledger(true);
  const plain = await ledger(false);
  const pairs = allocPairs(BATCH_EVENTS);
  const buffer = new Uint8Array(BATCH_BYTES);
  const rng = new Rng(7);
  const timed = { fuel: 0, plain: 0 };
  let transfers = 0;
  for (let b = 0; b < WARMUP_BATCHES + BATCHES; b++) {
    fillPairs('uniform', rng, pairs, 0, BATCH_EVENTS);
    const request = encodeBatch(buffer, 100 + b, pairs, 0, BATCH_EVENTS);
    const order: [ServiceHarness, 'fuel' | 'plain'][] = b % 2 === 0 ? [[withFuel, 'fuel'], [plain, 'plain']] : [[plain, 'plain'], [withFuel, 'fuel']];
    for (const [svc, which] of order) {
      let reply: ReturnType<ServiceHarness['request']> = null;
      const t = ms(() => { reply = svc.request(request); });
      const r = reply as ReturnType<ServiceHarness['request']>;
      if (r === null || r.status !== 0 || countFailed(r.payload, BATCH_EVENTS) !== 0) throw new Error(`batch ${b} failed (${which})`);
      if (b >= WARMUP_BATCHES) timed[which] += t;
    }
    withFuel.timeNs += 1_000_000n;
    plain.timeNs += 1_000_000n;
    if (b >= WARMUP_BATCHES) transfers += BATCH_EVENTS;
  }
  const fuelRate = transfers / (timed.fuel / 1000);
  const plainRate = transfers / (timed.plain / 1000);
  figures.ledger_fuel_transfers_per_s = Math.round(fuelRate);
  figures.ledger_plain_transfers_per_s = Math.round(plainRate);
  figures.ledger_fuel_vs_plain_ratio = round(ratio(fuelRate, plainRate), 3);
  notes.push(`fuel: ${BATCHES} timed uniform batches of ${BATCH_EVENTS} transfers per ledger after ${WARMUP_BATCHES} warm-up batches, alternating; a ratio below 1 is the counter's cost`);
}

const bench: Bench = {
  name: 'services',
  title: 'Service modules: prepare, compile, instantiate; fuel counter cost on ledger apply',
  figures: FIGURES,
  requires: MODULES.map((m) => join(ROOT, 'build/services', `${m}.wasm`)),
  async run() {
    const figures: Figures = {};
    const notes: string[] = [];
    await instantiate(figures, notes);
    await fuelCost(figures, notes);
    return { figures, params: { rounds: ROUNDS, batches: BATCHES, warmup_batches: WARMUP_BATCHES, batch_events: BATCH_EVENTS }, notes };
  },
};

export default bench;
