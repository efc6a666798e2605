#!/usr/bin/env node
// test/run.mjs: runs every test file (test/**/*.test.ts) in its own Node
// process (so one test's listeners, timers or crash can't touch another's),
// a few at a time, and ends with the line CI reads: "N passed, N failed".
//
// Usage: node test/run.mjs [filter...]   (filters match file paths)

import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cpus } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
// Makes a throwing before/after hook fail its file with the error printed (see the file).
const GUARD = new URL('./support/uvu-guard.mjs', import.meta.url).href;
const filters = process.argv.slice(2);
// Two cores here: two files at a time keeps timing-sensitive tests honest.
const parallel = Number(process.env.QENEX_TEST_JOBS ?? Math.max(1, Math.min(2, cpus().length)));
const fileTimeoutMs = Number(process.env.QENEX_TEST_FILE_TIMEOUT_MS ?? 300_000);

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'assembly') continue;
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = find(join(root, 'test')).concat(find(join(root, 'services')))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', GUARD, file], { cwd: root, env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { out += `\n[runner] ${file}: killed after ${fileTimeoutMs} ms\n`; child.kill('SIGKILL'); }, fileTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
      // A file that crashed or exited non-zero without reporting counts as one failure.
      let failed = Math.max(0, total - passed);
      if (code !== 0 && failed === 0) failed = 1;
      resolve({ file, passed, failed, skipped, out, ms: Date.now() - started, code });
    });
  });
}

const results = [];
let next = 0;
async function worker() {
  while (next < files.length) {
    const file = files[next++];
    const r = await runFile(file);
    results.push(r);
    const mark = r.failed > 0 ? 'FAIL' : 'ok  ';
    const progress = `[${String(results.length).padStart(String(files.length).length)}/${files.length}]`;
    process.stdout.write(`${mark} ${progress} ${r.file}  ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}  (${(r.ms / 1000).toFixed(1)} s)\n`);
    if (r.failed > 0 || process.env.QENEX_TEST_VERBOSE) process.stdout.write(r.out.replace(/^/gm, '    ') + '\n');
    // Summary lines a test prints for people (e.g. "summary: ...") are passed on.
    for (const line of r.out.split('\n')) if (line.startsWith('summary:')) process.stdout.write(`     ${line}\n`);
  }
}

await Promise.all(Array.from({ length: Math.min(parallel, files.length || 1) }, worker));
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
if (files.length === 0) { console.log('no test files found'); process.exitCode = 1; }
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (failed > 0) process.exitCode = 1;
