// test/bench/ledger.bench.ts: the ledger's transfers/s in-process and end to
// end (durable, over loopback TCP), next to PostgreSQL 15 and to plain
// Node.js with decimal.js doing the same double-entry workload, all measured
// in one run; plus single-transfer latency next to one fdatasync, and the
// ledger's memory per account and per transfer.
//
// The workload (./ledger/workload.ts): 10,000 accounts with the balance rule
// debits_must_not_exceed_credits, funded before timing; transfers between
// two accounts drawn uniformly, or 80/20 (80% of touches on 20% of the
// accounts); QENEX gets them in batches of 8189. Phases, one after another
// so that none shares the two cores with another:
//   memory     a child boots ledgers of different sizes (./ledger/memory-probe.ts);
//   decimal.js the workload in a Map of Decimal balances (./ledger/decimal.ts);
//   apply      the ledger wasm in-process, only qx_handle timed (./ledger/apply.ts);
//   e2e        `qenex boot --listen` with a larger ledger, batches with several
//              in flight, then single transfers, and an fdatasync loop (./ledger/e2e.ts);
//   postgres   a throw-away cluster driven by pgbench, three ways (./ledger/postgres.ts).
// A peer that cannot run (PostgreSQL missing and not installable) reports
// null with a note saying why; a failure of QENEX itself is an error.
//
// Headline figures (apply_tps, e2e_tps, postgres_tps, decimaljs_tps) are the
// uniform workload; the 80/20 workload's are the *_hot_* keys. Ratios divide
// figures of the same workload. postgres_tps is the best PostgreSQL variant.

import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runApply, WARMUP_BATCHES as APPLY_WARMUP_BATCHES } from './ledger/apply.ts';
import { runDecimal, DECIMAL_WARMUP_TRANSFERS } from './ledger/decimal.ts';
import { runE2e, TRANSFERS_MAX, WARMUP_BATCHES as E2E_WARMUP_BATCHES, type E2eResult } from './ledger/e2e.ts';
import { KERNEL_LIB_WASM, runHash, type HashResult } from './ledger/hash.ts';
import { KERNEL_WASM, SERVICES_DIR } from './ledger/image.ts';
import { BATCH_TRANSFERS, CLIENTS, Cluster, VARIANTS, findBinDir, install, type Variant } from './ledger/postgres.ts';
import { ACCOUNTS, BATCH_EVENTS, HOT_ACCOUNTS, HOT_PERCENT, PATTERNS, checkEncoder, type Pattern } from './ledger/workload.ts';
import { CLI, ROOT, percentile, ratio, round, tempDir, timeChild, type Bench, type FigureSpec, type Figures } from './support.ts';

// ---- sizes, each phase bounded so the whole benchmark stays near a minute ----

// ~2 M transfers per pattern: at ~3-5 M/s a few hundred ms of timed apply,
// 244 batches, enough for a stable sum.
const APPLY_BATCHES = 244;
// 1 M timed transfers per pattern: ~2 s at decimal.js's rate.
const DECIMAL_TRANSFERS = 1_000_000;
// 200 batches = 1.64 M transfers per pattern, ~2 s each at 1 M/s; both
// patterns plus warm-up and singles fit the e2e ledger (TRANSFERS_MAX).
const E2E_BATCHES = 200;
// Then the uniform pattern through the gateway (an operator key on the
// binary protocol, as the shipped image requires): 100 batches, 0.82 M
// transfers, still within TRANSFERS_MAX with the rest.
const E2E_GATEWAY_BATCHES = 100;
// Requests in flight on the one connection: 16 full batches are 16 MiB, the
// bank image's batch_bytes_max, so one group commit can take all of them;
// throughput here levels off from about 8.
const E2E_IN_FLIGHT = 16;
const SINGLE_REQUESTS = 2_000;
const SINGLE_MS_MAX = 4_000;
// Per pgbench run; six runs. Long enough for thousands of commits per run.
const PG_SECONDS = 6;
/** Tables the memory probe boots (accounts: a bank-sized table; transfers: the e2e ledger's). */
const PROBE_ACCOUNTS = 1_000_000;
const PROBE_TRANSFERS = TRANSFERS_MAX;
const SEEDS: Record<Pattern, number> = { uniform: 0x9e3779b9, hot: 0x85ebca6b };

// ---- the table ----

const UNIFORM = 'uniform tr/s';
const HOT = 'hot 80/20 tr/s';
const VS_UNIFORM = '× peer, uniform';
const VS_HOT = '× peer, hot';
const P50 = 'p50 ms';
const P99 = 'p99 ms';
const RESIDENT = 'bytes resident';
const WASM = 'bytes wasm mem';

// Short labels; the notes say what each peer ratio divides by and the params give the client counts.
const PG_ROWS: Record<Variant, string> = {
  single: 'PostgreSQL 15, 1 transfer/txn',
  batch: `PostgreSQL 15, ${BATCH_TRANSFERS} transfers/txn`,
  pipelined: `PostgreSQL 15, ${BATCH_TRANSFERS}/txn pipelined`,
};
const ROW = {
  apply: 'QENEX apply, in-process, 1 core (÷ decimal.js)',
  applyCpu: 'QENEX apply, per CPU second (not wall; ÷ decimal.js)',
  e2e: `QENEX e2e, TCP, durable, ${E2E_IN_FLIGHT} × ${BATCH_EVENTS} in flight (÷ PG best)`,
  e2eGateway: `QENEX e2e through the gateway, authenticated key (÷ direct e2e)`,
  pgBest: 'PostgreSQL 15, best (postgres_tps)',
  decimal: 'Node.js + decimal.js, not durable',
  single: 'QENEX 1 transfer/request, 1 in flight (÷ fdatasync)',
  fdatasync: '128 B write + fdatasync, same disk',
  account: `ledger memory per account (${PROBE_ACCOUNTS / 1_000_000}M table)`,
  transfer: `ledger memory per transfer (${(PROBE_TRANSFERS / (1 << 20)).toFixed(0)}Mi table)`,
};

/** Key of a throughput figure: uniform is the headline key, hot adds `_hot`. */
function tps(system: string, pattern: Pattern): string {
  return pattern === 'uniform' ? `${system}_tps` : `${system}_hot_tps`;
}

function vsKey(system: string, peer: string, pattern: Pattern): string {
  return pattern === 'uniform' ? `${system}_vs_${peer}_ratio` : `${system}_hot_vs_${peer}_ratio`;
}

function throughputRow(system: string, row: string, peer: string | null): FigureSpec[] {
  const specs: FigureSpec[] = PATTERNS.map((p) => ({ key: tps(system, p), row, col: p === 'uniform' ? UNIFORM : HOT }));
  if (peer !== null) specs.push(...PATTERNS.map((p) => ({ key: vsKey(system, peer, p), row, col: p === 'uniform' ? VS_UNIFORM : VS_HOT })));
  return specs;
}

const FIGURES: FigureSpec[] = [
  ...throughputRow('apply', ROW.apply, 'decimaljs'),
  { key: 'apply_batch_p50_ms', row: ROW.apply, col: P50 },
  ...throughputRow('apply_cpu', ROW.applyCpu, 'decimaljs'),
  ...throughputRow('e2e', ROW.e2e, 'postgres'),
  { key: 'e2e_batch_p50_ms', row: ROW.e2e, col: P50 },
  { key: 'e2e_batch_p99_ms', row: ROW.e2e, col: P99 },
  { key: 'e2e_gateway_tps', row: ROW.e2eGateway, col: UNIFORM },
  { key: 'e2e_gateway_vs_e2e_ratio', row: ROW.e2eGateway, col: VS_UNIFORM },
  { key: 'e2e_gateway_batch_p50_ms', row: ROW.e2eGateway, col: P50 },
  ...VARIANTS.flatMap((v) => throughputRow(`postgres_${v}`, PG_ROWS[v], null)),
  ...throughputRow('postgres', ROW.pgBest, null),
  ...throughputRow('decimaljs', ROW.decimal, null),
  { key: 'single_tps', row: ROW.single, col: UNIFORM },
  { key: 'single_vs_fdatasync_p50_ratio', row: ROW.single, col: VS_UNIFORM },
  { key: 'single_p50_ms', row: ROW.single, col: P50 },
  { key: 'single_p99_ms', row: ROW.single, col: P99 },
  { key: 'fdatasync_p50_ms', row: ROW.fdatasync, col: P50 },
  { key: 'fdatasync_p99_ms', row: ROW.fdatasync, col: P99 },
  { key: 'bytes_per_account', row: ROW.account, col: RESIDENT },
  { key: 'bytes_per_account_wasm_memory', row: ROW.account, col: WASM },
  { key: 'bytes_per_transfer', row: ROW.transfer, col: RESIDENT },
  { key: 'bytes_per_transfer_wasm_memory', row: ROW.transfer, col: WASM },
];

// ---- phases ----

interface Probe { rss_bytes: number; wasm_bytes: number }

async function memoryPhase(): Promise<Figures> {
  const smallest = { accounts_max: 1, transfers_max: 1, pending_max: 1, history_max: 1 };
  const configs = {
    base: smallest,
    accounts: { ...smallest, accounts_max: PROBE_ACCOUNTS },
    transfers: { ...smallest, transfers_max: PROBE_TRANSFERS },
  };
  const probe = join(ROOT, 'test/bench/ledger/memory-probe.ts');
  const tsx = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const run = await timeChild(['--import', tsx, probe, ...Object.entries(configs).map(([name, c]) => `${name}=${JSON.stringify(c)}`)]);
  const byName = new Map(run.events.filter((e) => e.event === 'memory').map((e) => [String(e.name), e as unknown as Probe]));
  const [base, accounts, transfers] = [byName.get('base'), byName.get('accounts'), byName.get('transfers')];
  if (run.code !== 0 || base === undefined || accounts === undefined || transfers === undefined) {
    throw new Error(`memory probe failed (${run.code}): ${run.stderr.slice(-2000)}`);
  }
  const per = (a: number, b: number, n: number) => round((a - b) / n);
  return {
    bytes_per_account: per(accounts.rss_bytes, base.rss_bytes, PROBE_ACCOUNTS - 1),
    bytes_per_account_wasm_memory: per(accounts.wasm_bytes, base.wasm_bytes, PROBE_ACCOUNTS - 1),
    bytes_per_transfer: per(transfers.rss_bytes, base.rss_bytes, PROBE_TRANSFERS - 1),
    bytes_per_transfer_wasm_memory: per(transfers.wasm_bytes, base.wasm_bytes, PROBE_TRANSFERS - 1),
  };
}

function applyPhase(notes: string[]): Figures {
  const figures: Figures = {};
  for (const pattern of PATTERNS) {
    const r = runApply(pattern, APPLY_BATCHES, SEEDS[pattern]);
    figures[tps('apply', pattern)] = round(r.transfers / (r.handleMs / 1000));
    figures[tps('apply_cpu', pattern)] = round(r.transfers / (r.handleCpuMs / 1000));
    if (pattern === 'uniform') figures.apply_batch_p50_ms = round(r.batchMedianMs);
    if (r.failed > 0) notes.push(`apply (${pattern}): ${r.failed} transfers not created, results ${JSON.stringify([...r.failedCodes])} (counted in the rate)`);
  }
  return figures;
}

function decimalPhase(notes: string[]): Figures {
  const figures: Figures = {};
  for (const pattern of PATTERNS) {
    const r = runDecimal(pattern, DECIMAL_TRANSFERS, SEEDS[pattern]);
    figures[tps('decimaljs', pattern)] = round(r.transfers / (r.elapsedMs / 1000));
    if (r.failed > 0) notes.push(`decimal.js (${pattern}): ${r.failed} transfers refused (counted in the rate)`);
  }
  return figures;
}

function e2eFigures(r: E2eResult, params: Record<string, number | string>): Figures {
  const figures: Figures = {};
  for (const [pattern, t] of r.patterns) {
    params[`e2e_${pattern}_transfers`] = t.transfers;
    params[`e2e_${pattern}_requests_per_fdatasync`] = round(ratio(t.latenciesMs.length, t.fdatasyncs), 3) ?? 'n/a';
    figures[tps('e2e', pattern)] = round(t.transfers / (t.elapsedMs / 1000));
    if (t.serverCpuMs !== null && t.serverCpuMs > 0) params[`e2e_${pattern}_tps_per_server_cpu_s`] = round(t.transfers / (t.serverCpuMs / 1000)) ?? 'n/a';
    if (pattern === 'uniform') {
      figures.e2e_batch_p50_ms = round(percentile(t.latenciesMs, 50));
      figures.e2e_batch_p99_ms = round(percentile(t.latenciesMs, 99));
    }
  }
  if (r.gateway !== null) {
    params.e2e_gateway_transfers = r.gateway.transfers;
    figures.e2e_gateway_tps = round(r.gateway.transfers / (r.gateway.elapsedMs / 1000));
    if (r.gateway.serverCpuMs !== null && r.gateway.serverCpuMs > 0) {
      params.e2e_gateway_tps_per_server_cpu_s = round(r.gateway.transfers / (r.gateway.serverCpuMs / 1000)) ?? 'n/a';
    }
    figures.e2e_gateway_batch_p50_ms = round(percentile(r.gateway.latenciesMs, 50));
    figures.e2e_gateway_vs_e2e_ratio = round(ratio(figures.e2e_gateway_tps, figures[tps('e2e', 'uniform')] ?? null), 3);
  }
  const singleTotalMs = r.singleMs.reduce((a, b) => a + b, 0);
  return {
    ...figures,
    single_tps: r.singleMs.length === 0 ? null : round(r.singleMs.length / (singleTotalMs / 1000)),
    single_p50_ms: round(percentile(r.singleMs, 50)),
    single_p99_ms: round(percentile(r.singleMs, 99)),
    fdatasync_p50_ms: round(percentile(r.fdatasyncMs, 50)),
    fdatasync_p99_ms: round(percentile(r.fdatasyncMs, 99)),
    single_vs_fdatasync_p50_ratio: round(ratio(percentile(r.singleMs, 50), percentile(r.fdatasyncMs, 50)), 3),
  };
}

/** Every PostgreSQL figure, or nulls and a note when it cannot run. Always stops the cluster. */
async function postgresPhase(notes: string[], params: Record<string, number | string>): Promise<Figures> {
  let bin = findBinDir();
  if (bin === null) {
    const why = await install();
    bin = findBinDir();
    if (bin === null) { notes.push(`postgres: not run: PostgreSQL is not installed and ${why ?? 'installing it did not help'}`); return {}; }
  }
  params.postgres_bin = bin;
  let cluster: Cluster | null = null;
  const figures: Figures = {};
  try {
    cluster = await Cluster.start(bin, tempDir('pg'));
    await cluster.createSchema();
    for (const pattern of PATTERNS) {
      for (const variant of VARIANTS) {
        const r = await cluster.pgbench(pattern, variant, PG_SECONDS);
        figures[tps(`postgres_${variant}`, pattern)] = round(r.transfersPerS);
        params[`postgres_${variant}_${pattern}_transfers`] = r.transfers;
        if (r.failedTransactions > 0) notes.push(`postgres ${variant} (${pattern}): ${r.failedTransactions} transactions failed`);
      }
    }
    const problem = await cluster.balanceProblem();
    if (problem !== null) throw new Error(`after the runs, ${problem}`);
  } catch (e) {
    notes.push(`postgres: failed, its figures are null: ${e instanceof Error ? e.message : String(e)}`);
    return {};
  } finally {
    if (cluster !== null) params.postgres_exit_code = String(await cluster.stop());
  }
  return figures;
}

function bestOf(figures: Figures, pattern: Pattern): number | null {
  const all = VARIANTS.map((v) => figures[tps(`postgres_${v}`, pattern)]).filter((x): x is number => typeof x === 'number');
  return all.length === 0 ? null : Math.max(...all);
}

function ratios(f: Figures): Figures {
  const out: Figures = {};
  for (const p of PATTERNS) {
    out[tps('postgres', p)] = bestOf(f, p);
    out[vsKey('apply', 'decimaljs', p)] = round(ratio(f[tps('apply', p)], f[tps('decimaljs', p)]), 3);
    out[vsKey('apply_cpu', 'decimaljs', p)] = round(ratio(f[tps('apply_cpu', p)], f[tps('decimaljs', p)]), 3);
    out[vsKey('e2e', 'postgres', p)] = round(ratio(f[tps('e2e', p)], out[tps('postgres', p)]), 3);
  }
  return out;
}

function targetNotes(f: Figures): string[] {
  const check = (what: string, value: number | null | undefined, target: number, unit: string) =>
    `${what} ${value === null || value === undefined ? 'n/a' : value.toLocaleString('en-US')} ${unit} (target ≥ ${target.toLocaleString('en-US')}: ${value === null || value === undefined ? 'not measured' : value >= target ? 'met' : 'missed'})`;
  return [
    'targets, uniform workload: ' + [
      check('apply', f.apply_tps, 10_000_000, 'tr/s'),
      check('e2e', f.e2e_tps, 2_000_000, 'tr/s'),
      check('e2e ÷ postgres_tps', f.e2e_vs_postgres_ratio, 100, '×'),
      check('apply ÷ decimal.js', f.apply_vs_decimaljs_ratio, 7, '×'),
    ].join('; '),
  ];
}

/** What hashing the command log costs each request, next to applying it. */
function hashNote(hash: HashResult, f: Figures): string {
  const requestMb = (8 + BATCH_EVENTS * 128) / 1e6;
  const hashMs = (requestMb / hash.unitMbPerS) * 1000;
  const apply = f.apply_cpu_tps ?? f.apply_tps;
  const applyMs = typeof apply === 'number' ? (BATCH_EVENTS / apply) * 1000 : null;
  return `e2e ceiling: the log's hashing unit (${hash.unitKind}) seals ${Math.round(hash.unitMbPerS)} MB/s on one core ` +
    `(the kernel's own SHA-256, which recovery verifies with: ${Math.round(hash.wasmMbPerS)} MB/s; node:crypto: ` +
    `${Math.round(hash.nodeMbPerS)} MB/s), so the command log spends ${hashMs.toFixed(2)} ms hashing each ` +
    `${BATCH_EVENTS}-transfer request` + (applyMs === null ? '' : ` and the ledger ${applyMs.toFixed(2)} ms applying it`) +
    '; both run on the kernel\'s one thread, so one machine cannot pass ' +
    `${Math.round(BATCH_EVENTS / ((hashMs + (applyMs ?? 0)) / 1000)).toLocaleString('en-US')} tr/s end to end, before the network, copies and the disk`;
}

const bench: Bench = {
  name: 'ledger',
  title: 'Ledger transfers/s: in-process apply and durable end to end, against PostgreSQL 15 and Node.js + decimal.js',
  figures: FIGURES,
  requires: [CLI, KERNEL_WASM, KERNEL_LIB_WASM, join(SERVICES_DIR, 'ledger.wasm'), join(SERVICES_DIR, 'echo.wasm'),
    join(SERVICES_DIR, 'counter.wasm')],
  async run() {
    const notes: string[] = [];
    const params: Record<string, number | string> = {
      accounts: ACCOUNTS, hot_accounts: HOT_ACCOUNTS, hot_touch_percent: HOT_PERCENT, batch_events: BATCH_EVENTS,
      apply_batches: APPLY_BATCHES, apply_warmup_batches: APPLY_WARMUP_BATCHES,
      decimal_transfers: DECIMAL_TRANSFERS, decimal_warmup_transfers: DECIMAL_WARMUP_TRANSFERS,
      e2e_batches: E2E_BATCHES, e2e_warmup_batches: E2E_WARMUP_BATCHES, e2e_in_flight: E2E_IN_FLIGHT,
      e2e_ledger_transfers_max: TRANSFERS_MAX, single_requests_max: SINGLE_REQUESTS, single_ms_max: SINGLE_MS_MAX,
      postgres_seconds: PG_SECONDS, postgres_pgbench_threads: 2,
      ...Object.fromEntries(VARIANTS.map((v) => [`postgres_${v}_clients`, CLIENTS[v]])),
    };
    checkEncoder();
    // Other processes share the cores and the disk: their load goes in the record beside the figures.
    const load = () => loadavg()[0].toFixed(2);
    params.loadavg_1m_at_start = load();
    let figures: Figures = await memoryPhase();
    // decimal.js before apply: it allocates millions of small objects and is
    // the more sensitive to a heap that an earlier phase left full of garbage.
    figures = { ...figures, ...decimalPhase(notes), ...applyPhase(notes) };
    const hash = runHash();
    params.sha256_kernel_wasm_mb_per_s = Math.round(hash.wasmMbPerS);
    params.sha256_node_crypto_mb_per_s = Math.round(hash.nodeMbPerS);
    params.log_hashing_unit_mb_per_s = Math.round(hash.unitMbPerS);
    params.log_hashing_unit = hash.unitKind;
    params.loadavg_1m_at_e2e = load();
    const e2eDir = tempDir('ledger');
    const e2e = await runE2e(e2eDir, {
      batchesPerPattern: E2E_BATCHES, inFlight: E2E_IN_FLIGHT, singleRequests: SINGLE_REQUESTS, singleMsMax: SINGLE_MS_MAX,
      patterns: PATTERNS, seedOf: (p) => SEEDS[p], gatewayBatches: E2E_GATEWAY_BATCHES,
    });
    // Its log is preallocated to 1 GiB: gone before PostgreSQL writes its own (the runner would remove it only at the end).
    rmSync(e2eDir, { recursive: true, force: true });
    notes.push(...e2e.notes);
    params.e2e_server_exit_code = String(e2e.serverExitCode);
    params.single_requests = e2e.singleMs.length;
    figures = { ...figures, ...e2eFigures(e2e, params) };
    params.loadavg_1m_at_postgres = load();
    figures = { ...figures, ...(await postgresPhase(notes, params)) };
    figures = { ...figures, ...ratios(figures) };
    notes.push(...targetNotes(figures));
    notes.push(hashNote(hash, figures));
    notes.push('headline keys (apply_tps, e2e_tps, postgres_tps, decimaljs_tps) are the uniform workload, *_hot_* the 80/20 one; ' +
      'ratios divide figures of the same workload: apply ÷ decimal.js, e2e ÷ the best PostgreSQL variant (postgres_tps), ' +
      'single-transfer p50 ÷ fdatasync p50; p50/p99 on the apply row are one batch\'s qx_handle, on the e2e row one 8189-transfer request');
    notes.push('apply: sum of qx_handle times only (validate + apply + results), encoding and inbox copy untimed; ' +
      'apply per CPU second: the same calls (inbox copy included) over the CPU time this process got for them, ' +
      'which other processes on the machine\'s cores do not stretch; ' +
      'e2e: first send to last reply, every reply after its batch was fdatasync\'d; the load generator is this benchmark\'s ' +
      'own process on the same two cores (one connection, requests encoded before the clock starts); ' +
      'e2e_*_tps_per_server_cpu_s (params) divides by the server process\'s CPU time over the phase instead of the wall time; PostgreSQL: pgbench tps × transfers per transaction, ' +
      'fsync=on, synchronous_commit=on, one PL/pgSQL call per transfer');
    notes.push('memory: resident-set growth of a child process across booting a ledger with the table named vs. the smallest config, ' +
      'divided by the rows added; the ledger allocates and zero-fills every table at boot from its config, so this is its config-based ' +
      'allocation, measured. "wasm memory" is the memory.buffer.byteLength delta, which adds the stub allocator\'s doubling slack (never touched)');
    return { figures, params, notes };
  },
};

export default bench;
