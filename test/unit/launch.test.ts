// The CLI's launcher (host/cmd/launch.ts) and the bundle's code cache.
// Proves: the built cache (make image) is used by the CLI as built; a copy
// of launcher and bundle without the cache runs, compiling as without one;
// a cache made for other bundle bytes (the bundle changed after it was made)
// is not used, and neither is a file that is not a cache; and in every case
// the command works the same. The cache is never written without
// QENEX_CODE_CACHE=write.
//
// Run: node --import tsx test/unit/launch.test.ts (needs dist/: make cli image)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, removeDir } from '../support/helpers.ts';

const DIST = join(ROOT, 'dist');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
let dir: string;

test.before(() => {
  mkdirSync(join(ROOT, 'build'), { recursive: true });
  dir = mkdtempSync(join(ROOT, 'build', 'launch-'));
});
test.after(() => removeDir(dir));

/** `qenex --version` through the launcher in `distDir`: its output and the cache report. */
function version(distDir: string): { code: number | null; stdout: string; report: string } {
  const r = spawnSync(process.execPath, [join(distDir, 'qenex.js'), '--version'], { encoding: 'utf8', env: { ...process.env, QENEX_CODE_CACHE: 'report' } });
  return { code: r.status, stdout: r.stdout, report: r.stderr.trim() };
}

/** A copy of dist/ (launcher, bundle, the package.json that makes them CommonJS and, if asked, the cache) in a folder of its own. */
function copyDist(name: string, withCache: boolean): string {
  const d = join(dir, name, 'dist');
  mkdirSync(d, { recursive: true });
  for (const f of ['qenex.js', 'qenex.cjs', 'package.json', ...(withCache ? ['qenex.cjs.cache'] : [])]) copyFileSync(join(DIST, f), join(d, f));
  return d;
}

test('the built cache is used', () => {
  if (!existsSync(join(DIST, 'qenex.cjs.cache'))) { console.log('  (no dist/qenex.cjs.cache: make image builds it; skipped)'); return; }
  const r = version(DIST);
  assert.is(r.code, 0);
  assert.is(r.stdout, `qenex ${VERSION}\n`);
  assert.is(r.report, 'qenex: code cache: used');
});

test('without a cache the bundle runs, and no cache is written', () => {
  const d = copyDist('none', false);
  const r = version(d);
  assert.is(r.code, 0);
  assert.is(r.stdout, `qenex ${VERSION}\n`);
  assert.is(r.report, 'qenex: code cache: none');
  assert.not.ok(existsSync(join(d, 'qenex.cjs.cache')));
});

test('a cache made for other bundle bytes, or not a cache, is not used', () => {
  if (!existsSync(join(DIST, 'qenex.cjs.cache'))) return;
  const d = copyDist('stale', true);
  // The same length V8 checks would not do: one byte of the bundle's text changed (a comment's).
  const bundle = readFileSync(join(d, 'qenex.cjs'));
  appendFileSync(join(d, 'qenex.cjs'), '\n// changed\n');
  let r = version(d);
  assert.is(r.code, 0);
  assert.is(r.stdout, `qenex ${VERSION}\n`);
  assert.is(r.report, 'qenex: code cache: made for another bundle');
  writeFileSync(join(d, 'qenex.cjs'), bundle);
  assert.is(version(d).report, 'qenex: code cache: used');
  writeFileSync(join(d, 'qenex.cjs.cache'), 'not a cache');
  r = version(d);
  assert.is(r.code, 0);
  assert.is(r.report, 'qenex: code cache: not a code cache');
});

test('QENEX_CODE_CACHE=write writes a cache the next run uses', () => {
  const d = copyDist('write', false);
  const w = spawnSync(process.execPath, [join(d, 'qenex.js'), '--version'], { encoding: 'utf8', env: { ...process.env, QENEX_CODE_CACHE: 'write' } });
  assert.is(w.status, 0, w.stderr);
  assert.ok(existsSync(join(d, 'qenex.cjs.cache')));
  assert.is(version(d).report, 'qenex: code cache: used');
});

test.run();
