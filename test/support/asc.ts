// Tests compile their AssemblyScript the way the Makefile does, and only when
// the output is missing or older than a source, so a test run after
// `make build` reuses its wasm and a test run after an edit never uses a
// stale one.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The Makefile's flags for the kernel and services (asconfig.json, release: -O3, stub runtime, assertions on). */
export const RELEASE = ['--config', 'asconfig.json', '--target', 'release'];

/** Every .ts file under the given repo-relative paths (files are taken as they are). */
function sourceFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const abs = join(ROOT, p);
    if (!statSync(abs).isDirectory()) { out.push(abs); continue; }
    for (const f of readdirSync(abs, { recursive: true, encoding: 'utf8' })) if (f.endsWith('.ts')) out.push(join(abs, f));
  }
  return out;
}

/**
 * Compiles `entry` to `out` (both repo-relative) with `args` unless `out` is
 * newer than every source under `watch` (the entry and asconfig.json are
 * always watched). The wasm is written beside `out` and renamed into place,
 * so a test reading it at the same moment never sees half a file. Returns
 * the absolute path of `out`.
 */
export function ascIfStale(entry: string, out: string, watch: readonly string[], args: readonly string[] = RELEASE): string {
  const target = join(ROOT, out);
  const built = existsSync(target) ? statSync(target).mtimeMs : 0;
  const sources = sourceFiles([entry, 'asconfig.json', ...watch]);
  if (sources.every((s) => statSync(s).mtimeMs <= built)) return target;
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  const r = spawnSync(join(ROOT, 'node_modules/.bin/asc'), [entry, ...args, '-o', partial], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`asc ${entry} failed (status ${r.status}):\n${r.stdout}${r.stderr}`);
  renameSync(partial, target);
  return target;
}
