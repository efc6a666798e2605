// fuzz/main.ts: the coverage-guided fuzzer's command line (`make fuzz`).
//
//   node --import tsx fuzz/main.ts run [--targets a,b] [--execs N] [--seconds S] [--jobs J] [--hang-ms H]
//       Builds the instrumented bundle (fuzz/build.ts), then runs each target
//       in a worker thread, J at a time, until it has N executions on this
//       code without a finding (default 10,000,000). Counts are kept in
//       build/fuzz/status.json by the digest of the fuzzed code, so an
//       interrupted run resumes where it stopped, and a change to a parser
//       starts its count again. Inputs that reach new coverage are kept in
//       build/fuzz/queue/<target> while running and the minimised set is
//       written to fuzz/corpus/<target> (in the repo) when a target ends.
//       A finding (the oracle threw, or one input ran longer than H ms) is
//       saved in build/fuzz/findings/<target>/ with a replay command.
//   node --import tsx fuzz/main.ts replay <target> <file>...
//       Runs files through a target's oracle (from source, uninstrumented).
//   node --import tsx fuzz/main.ts status
//       Prints what build/fuzz/status.json holds.
//   node --import tsx fuzz/main.ts seed
//       Starts the corpus of each target that has none from its seeds
//       (fuzz/seeds.ts; a signed image is new bytes every time it is made).

import { Worker } from 'node:worker_threads';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inputName, readInputs, SHARED_HEADER_BYTES, type Progress } from './engine.ts';
import { buildFuzz, OUT, ROOT, type BuildInfo } from './build.ts';
import { TARGETS } from './targets/index.ts';
import type { WorkerData } from './worker.ts';

const STATUS_FILE = join(OUT, 'status.json');
const DEFAULT_EXECS = 10_000_000;

interface TargetStatus {
  digest: string;
  execs: number;
  seconds: number;
  sites: number;
  sites_hit: number;
  edges: number;
  corpus: number;
  findings: number;
  updated: string;
}
type Status = Record<string, TargetStatus>;

function loadStatus(): Status {
  if (!existsSync(STATUS_FILE)) return {};
  return JSON.parse(readFileSync(STATUS_FILE, 'utf8')) as Status;
}

function saveStatus(s: Status): void {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${STATUS_FILE}.tmp`, JSON.stringify(s, null, 1) + '\n');
  renameSync(`${STATUS_FILE}.tmp`, STATUS_FILE); // an interrupted run never leaves half a status file
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

function positiveInt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

async function run(args: string[]): Promise<number> {
  const names = flag(args, '--targets')?.split(',');
  const execs = positiveInt(flag(args, '--execs'), '--execs', DEFAULT_EXECS);
  const seconds = positiveInt(flag(args, '--seconds'), '--seconds', 7 * 24 * 3600);
  const jobs = positiveInt(flag(args, '--jobs'), '--jobs', 2);
  const hangMs = positiveInt(flag(args, '--hang-ms'), '--hang-ms', 10_000);
  if (args.length > 0) throw new Error(`unexpected arguments: ${args.join(' ')}`);
  const targets = names === undefined ? TARGETS : names.map((n) => {
    const t = TARGETS.find((x) => x.name === n);
    if (t === undefined) throw new Error(`no fuzz target ${n}; there are ${TARGETS.map((x) => x.name).join(', ')}`);
    return t;
  });

  const info: BuildInfo = await buildFuzz((l) => console.log(l));
  const status = loadStatus();
  const todo: string[] = [];
  for (const t of targets) {
    const digest = info.targets[t.name].digest;
    const s = status[t.name];
    if (s === undefined || s.digest !== digest) {
      if (s !== undefined) console.log(`fuzz ${t.name}: its code changed since the last run (${s.execs} executions then): counting from 0`);
      status[t.name] = { digest, execs: 0, seconds: 0, sites: info.targets[t.name].sites, sites_hit: 0, edges: 0, corpus: 0, findings: 0, updated: new Date().toISOString() };
    }
    if (status[t.name].execs >= execs) console.log(`fuzz ${t.name}: ${fmt(status[t.name].execs)} executions on this code already (target ${fmt(execs)}): skipped`);
    else todo.push(t.name);
  }
  saveStatus(status);

  let failed = 0;
  const runOne = (name: string): Promise<void> => new Promise((done) => {
    const t = TARGETS.find((x) => x.name === name)!;
    const s = status[name];
    const shared = new SharedArrayBuffer(SHARED_HEADER_BYTES + t.maxLen);
    const head = new Int32Array(shared, 0, 2);
    const data: WorkerData = {
      target: name, corpusDir: join(ROOT, 'fuzz', 'corpus', name), queueDir: join(OUT, 'queue', name),
      execs: execs - s.execs, seconds, seed: (Date.now() ^ (process.pid << 10)) >>> 0, shared, writeCorpus: true,
      ownSites: info.targets[name].siteIds,
    };
    const worker = new Worker(join(OUT, 'worker.mjs'), { workerData: data });
    const started = performance.now();
    const base = s.execs;
    let last: Progress | null = null;
    let lastPrinted = 0;
    let finished = false;
    const record = (p: Progress): void => {
      s.execs = base + p.execs;
      s.sites_hit = Math.max(s.sites_hit, p.sitesHit);
      s.edges = Math.max(s.edges, p.edges);
      if (p.corpus !== undefined) s.corpus = p.corpus;
      s.updated = new Date().toISOString();
      saveStatus(status);
    };
    const line = (p: Progress, what: string): string => {
      const secs = (performance.now() - started) / 1000;
      return `fuzz ${name}: ${what}${fmt(base + p.execs)} executions on this code (${fmt(Math.round(p.execs / Math.max(secs, 0.001)))}/s now), ` +
        `sites ${p.sitesHit}/${s.sites} (${(100 * p.sitesHit / Math.max(1, s.sites)).toFixed(1)}%), edges ${fmt(p.edges)}, queue ${p.queue}`;
    };
    const finding = (kind: string, message: string, input: Uint8Array): void => {
      failed++;
      s.findings++;
      const dir = join(OUT, 'findings', name);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${kind}-${inputName(input)}`);
      writeFileSync(file, input);
      console.log(`FAIL fuzz ${name}: ${kind} after ${fmt(last?.execs ?? 0)} executions this run:\n${message}\n` +
        `  input: ${file} (${input.length} bytes)\n  replay: node --import tsx fuzz/main.ts replay ${name} ${file}`);
    };
    let stillSince = performance.now();
    let lastCount = 0;
    const watchdog = setInterval(() => {
      const c = Atomics.load(head, 0);
      if (c !== lastCount) { lastCount = c; stillSince = performance.now(); return; }
      if (c === 0 || performance.now() - stillSince < hangMs) return;
      clearInterval(watchdog);
      const len = Atomics.load(head, 1);
      finding('hang', `one input ran longer than ${hangMs} ms`, new Uint8Array(shared, SHARED_HEADER_BYTES, Math.min(len, t.maxLen)).slice());
      finished = true;
      void worker.terminate();
    }, 500);
    worker.on('message', (p: Progress) => {
      last = p;
      if (p.finding !== undefined) {
        finding('crash', p.finding.message, p.finding.input);
        finished = true;
        void worker.terminate();
        return;
      }
      record(p);
      const now = performance.now();
      if (p.sites !== undefined) {
        finished = true;
        s.seconds += (now - started) / 1000;
        saveStatus(status);
        console.log(`summary: ${line(p, '')}, corpus ${p.corpus ?? '-'} (fuzz/corpus/${name}), 0 findings`);
      } else if (now - lastPrinted > 30_000) {
        lastPrinted = now;
        console.log(line(p, ''));
      }
    });
    worker.on('error', (e) => {
      finding('crash', `the worker failed: ${e.stack ?? e.message}`, new Uint8Array(shared, SHARED_HEADER_BYTES, Math.min(Atomics.load(head, 1), t.maxLen)).slice());
      finished = true;
    });
    worker.on('exit', (code) => {
      clearInterval(watchdog);
      if (!finished) finding('crash', `the worker exited (code ${code}) before it finished`, new Uint8Array(0));
      saveStatus(status);
      done();
    });
  });

  const queue = [...todo];
  await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) await runOne(n);
  }));
  for (const t of targets) {
    const s = status[t.name];
    console.log(`summary: fuzz ${t.name}: ${fmt(s.execs)} executions on this code in all, ${s.findings} findings, sites ${s.sites_hit}/${s.sites}, edges ${fmt(s.edges)}, corpus ${s.corpus}`);
  }
  return failed > 0 ? 1 : 0;
}

async function replay(args: string[]): Promise<number> {
  const [name, ...files] = args;
  const t = TARGETS.find((x) => x.name === name);
  if (t === undefined || files.length === 0) throw new Error(`usage: fuzz/main.ts replay <target> <file>...; targets: ${TARGETS.map((x) => x.name).join(', ')}`);
  await t.setup?.();
  let bad = 0;
  for (const f of files) {
    try {
      t.check(new Uint8Array(readFileSync(f)));
      console.log(`ok ${f}`);
    } catch (e) {
      bad++;
      console.log(`FAIL ${f}: ${(e as Error).stack ?? String(e)}`);
    }
  }
  return bad > 0 ? 1 : 0;
}

async function seed(): Promise<number> {
  const { seeds } = await import('./seeds.ts');
  for (const [name, inputs] of Object.entries(seeds(ROOT))) {
    const dir = join(ROOT, 'fuzz', 'corpus', name);
    if (readInputs(dir).length > 0) { console.log(`fuzz ${name}: fuzz/corpus/${name} has its inputs already`); continue; }
    mkdirSync(dir, { recursive: true });
    let added = 0;
    for (const input of inputs) {
      const file = join(dir, inputName(input));
      if (existsSync(file)) continue;
      writeFileSync(file, input);
      added++;
    }
    console.log(`fuzz ${name}: ${added} seeds added to fuzz/corpus/${name}`);
  }
  return 0;
}

function showStatus(): number {
  const s = loadStatus();
  for (const [name, v] of Object.entries(s)) {
    console.log(`${name}: ${fmt(v.execs)} executions (${v.seconds.toFixed(0)} s), ${v.findings} findings, sites ${v.sites_hit}/${v.sites}, `
      + `edges ${fmt(v.edges)}, corpus ${v.corpus}, code ${v.digest}, updated ${v.updated}`);
  }
  return 0;
}

const [cmd, ...rest] = process.argv.slice(2);
try {
  const rc = cmd === 'run' ? await run(rest) : cmd === 'replay' ? await replay(rest) : cmd === 'status' ? showStatus()
    : cmd === 'seed' ? await seed() : (console.error('usage: fuzz/main.ts run|replay|status|seed (see the header of fuzz/main.ts)'), 2);
  process.exit(rc);
} catch (e) {
  console.error(`fuzz: ${(e as Error).message}`);
  process.exit(2);
}
