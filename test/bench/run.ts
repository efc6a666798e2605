// test/bench/run.ts: `make bench`. Runs every benchmark in test/bench/, one
// after another, prints a table per benchmark and writes its figures to
// build/bench/<name>.json.
//
// Adding a benchmark: create test/bench/<name>.bench.ts whose default export
// is a `Bench` (test/bench/support.ts): the figures it reports (declared up
// front, each with the table row and column it goes in), the files it needs,
// and `run()`. The runner finds every `*.bench.ts` file here by itself, in
// file name order; nothing to register.
//
// Benchmarks print figures and ratios against peers measured in the same
// run; they never assert timings. A benchmark whose required files are
// missing is skipped with a note; one that throws is reported with a note
// and the run goes on. Either way its JSON file is written, every figure
// null. The exit code is 1 only when a benchmark threw (a bug, not a slow
// machine). Children and temp dirs a benchmark made through support.ts are
// removed after it, whatever happened, and on exit or SIGINT/SIGTERM.
//
// Each benchmark runs in a process of its own (this file with --one <file>),
// like each test file: what one sets up in its process — a PKCS#11 module
// initialised with its own SoftHSM token directory, JIT state, a heap grown
// by a large run — cannot break or skew the next. (The HSM benchmark once
// failed with "GetTokenInfo: unrecoverable error" after another benchmark's
// token, already removed, had initialised the module in the same process.)
//
// Usage: node --import tsx test/bench/run.ts [filter...]  (filters match file names)

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { basename, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { ROOT, cleanup, cleanupSync, missingFiles, nullFigures, type Bench, type FigureSpec, type Figures } from './support.ts';

const BENCH_DIR = join(ROOT, 'test/bench');
const OUT_DIR = join(ROOT, 'build/bench');
const BENCH_SUFFIX = '.bench.ts';

type Status = 'ok' | 'skipped' | 'error';

interface Report {
  name: string;
  title: string;
  file: string;
  status: Status;
  started_at: string;
  duration_ms: number;
  host: Record<string, string | number>;
  params: Record<string, number | string>;
  figures: Figures;
  notes: string[];
}

function benchFiles(filters: string[]): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith(BENCH_SUFFIX))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort()
    .map((f) => join(BENCH_DIR, f));
}

function isBench(x: unknown): x is Bench {
  const b = x as Partial<Bench> | null;
  return typeof b === 'object' && b !== null && typeof b.name === 'string' && typeof b.run === 'function' &&
    Array.isArray(b.figures) && Array.isArray(b.requires);
}

function hostInfo(): Record<string, string | number> {
  const c = cpus();
  return { node: process.version, platform: platform(), arch: arch(), cpus: c.length, cpu_model: c[0]?.model ?? 'unknown' };
}

/** Inside the repo relative to its root; elsewhere as is. */
function shortPath(path: string): string {
  const r = relative(ROOT, path);
  return r.startsWith('..') ? path : r;
}

/** Imports, checks prerequisites, runs; never throws. */
async function runOne(file: string): Promise<{ report: Report; specs: FigureSpec[] }> {
  const started = performance.now();
  const report: Report = {
    name: basename(file, BENCH_SUFFIX), title: '', file: relative(ROOT, file), status: 'ok',
    started_at: new Date().toISOString(), duration_ms: 0, host: hostInfo(), params: {}, figures: {}, notes: [],
  };
  let specs: FigureSpec[] = [];
  try {
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    if (!isBench(mod.default)) throw new Error(`${report.file}: the default export is not a Bench (test/bench/support.ts)`);
    const bench = mod.default;
    specs = bench.figures;
    Object.assign(report, { name: bench.name, title: bench.title, figures: nullFigures(specs) });
    const missing = missingFiles(bench.requires);
    if (missing.length > 0) {
      report.status = 'skipped';
      report.notes.push(`skipped: missing ${missing.map(shortPath).join(', ')} (make build image)`);
    } else {
      const out = await bench.run();
      Object.assign(report, { figures: { ...report.figures, ...out.figures }, params: out.params });
      report.notes.push(...out.notes);
    }
  } catch (e) {
    report.status = 'error';
    report.figures = nullFigures(specs);
    report.notes.push(`error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  } finally {
    await cleanup();
  }
  report.duration_ms = Math.round(performance.now() - started);
  return { report, specs };
}

// ---- printing ----

function formatValue(v: number | null | undefined): string {
  if (v === undefined) return '';
  if (v === null) return 'n/a';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** One line per row, one column per col, in the order the specs first name them. */
function table(specs: FigureSpec[], figures: Figures): string {
  const rows = [...new Set(specs.map((s) => s.row))];
  const cols = [...new Set(specs.map((s) => s.col))];
  const cell = new Map(specs.map((s) => [`${s.row}\u0000${s.col}`, formatValue(figures[s.key])]));
  const grid = rows.map((r) => cols.map((c) => cell.get(`${r}\u0000${c}`) ?? ''));
  const rowWidth = Math.max(0, ...rows.map((r) => r.length));
  const widths = cols.map((c, i) => Math.max(c.length, ...grid.map((g) => g[i].length)));
  const line = (label: string, cells: string[]) =>
    ('  ' + label.padEnd(rowWidth) + cells.map((x, i) => '  ' + x.padStart(widths[i])).join('')).trimEnd();
  return [line('', cols), line('', widths.map((w) => '-'.repeat(w))), ...rows.map((r, i) => line(r, grid[i]))].join('\n');
}

function print(report: Report, specs: FigureSpec[]): void {
  const head = `== ${report.name}: ${report.title || report.file} (${report.status}, ${(report.duration_ms / 1000).toFixed(1)} s)`;
  const lines = [head];
  if (specs.length > 0) lines.push(table(specs, report.figures));
  const params = Object.entries(report.params).map(([k, v]) => `${k}=${v}`).join(' ');
  if (params !== '') lines.push(`  params: ${params}`);
  for (const n of report.notes) lines.push(`  note: ${n.replace(/\n/g, '\n        ')}`);
  lines.push(`  -> ${relative(ROOT, join(OUT_DIR, report.name + '.json'))}`);
  process.stdout.write(lines.join('\n') + '\n\n');
}

// ---- main ----

/** One benchmark in this process (the child's part): runs it, writes its JSON, prints its table; exit 1 on error. */
async function one(file: string): Promise<number> {
  process.on('exit', cleanupSync);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => { cleanupSync(); process.exit(code); });
  }
  mkdirSync(OUT_DIR, { recursive: true });
  const { report, specs } = await runOne(file);
  // Each figure also stands at the top level (e.g. ledger.json's apply_tps),
  // where scripts that read one number look for it; `figures` keeps them together.
  const flat = { ...Object.fromEntries(Object.entries(report.figures).filter(([k]) => !(k in report))), ...report };
  writeFileSync(join(OUT_DIR, report.name + '.json'), JSON.stringify(flat, null, 2) + '\n');
  print(report, specs);
  return report.status === 'error' ? 1 : 0;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args[0] === '--one') return one(args[1]);
  const files = benchFiles(args);
  if (files.length === 0) { process.stdout.write(`no *${BENCH_SUFFIX} files in ${relative(ROOT, BENCH_DIR)}\n`); return 1; }
  const started = performance.now();
  let errors = 0;
  for (const [i, file] of files.entries()) {
    process.stdout.write(`[${i + 1}/${files.length}] ${relative(ROOT, file)} ...\n`);
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--one', file], { cwd: ROOT, stdio: 'inherit' });
    if (child.status !== 0) errors++;
  }
  process.stdout.write(`${files.length} benchmark(s), ${errors} error(s), ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return errors === 0 ? 0 : 1;
}

process.exitCode = await main();
