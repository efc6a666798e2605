// test/services/build.ts: builds the kernel and the test-only services
// (test/services/<name>/index.ts -> build/test/<name>.wasm) when missing or
// older than a source, with the Makefile's commands. The output is written
// beside the target and renamed into place, so a test reading it at the same
// moment never sees half a file.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `qenex-${prefix}-`));
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, dir, f));
}

export function buildIfStale(out: string, sources: string[], args: string[]): string {
  const built = existsSync(out) ? statSync(out).mtimeMs : 0;
  if (sources.every((s) => statSync(s).mtimeMs <= built)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const partial = `${out}.${process.pid}.partial`;
  const r = spawnSync(join(ROOT, 'node_modules/.bin/asc'), [...args, '-o', partial], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`asc ${args[0]} failed (status ${r.status})`);
  renameSync(partial, out);
  return out;
}

export function ensureKernel(): string {
  return buildIfStale(join(ROOT, 'build/kernel.wasm'),
    [...filesUnder('kernel'), ...filesUnder('hal'), ...filesUnder('drivers'), join(ROOT, 'asconfig.json')],
    ['kernel/main.ts', '--config', 'asconfig.json', '--target', 'release']);
}

/** build/test/<name>.wasm from test/services/<name>/index.ts and the SDK. */
export function buildTestService(name: string): string {
  return buildIfStale(join(ROOT, `build/test/${name}.wasm`),
    [...filesUnder(`test/services/${name}`), ...filesUnder('services/sdk'), join(ROOT, 'asconfig.json')],
    [`test/services/${name}/index.ts`, '--config', 'asconfig.json', '--target', 'release', '--use', 'abort=']);
}

/** build/services/<name>.wasm (services/<name>/index.ts or assembly/index.ts). */
export function buildService(name: string): string {
  const entry = existsSync(join(ROOT, `services/${name}/index.ts`)) ? `services/${name}/index.ts` : `services/${name}/assembly/index.ts`;
  return buildIfStale(join(ROOT, `build/services/${name}.wasm`),
    [...filesUnder(`services/${name}`), ...filesUnder('services/sdk'), join(ROOT, 'asconfig.json')],
    [entry, '--config', 'asconfig.json', '--target', 'release', '--use', 'abort=']);
}
