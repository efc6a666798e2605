// test/qemu/fallback.test.ts: a platform with no native block addon (an ARM
// board, macOS, Windows: the addon is built only for the build machine)
// still boots, on the pure TypeScript backend, and says so.
//
// The CLI looks for the addon next to its own file (host/devices/
// block-backend.ts). A copy of dist/qenex.js (and its bundle) in a folder with no addon
// beside it is such a platform: with --backend auto it must print one
// notice on stderr naming the missing file and the fallback, and still
// boot and stop cleanly; --backend native must refuse with a clear error;
// --backend pure must say nothing. (test/qemu/arm.qemu.ts checks the same
// notice on real arm64 Node.js under emulation.)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, CLI, makeImage, removeDir, parseEvents, event, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let cliDir: string;
let cli: string;

test.before(() => {
  img = makeImage('fallback');
  // Inside the repository, so the copy still finds node_modules; no addon beside it.
  mkdirSync(join(ROOT, 'build'), { recursive: true });
  cliDir = mkdtempSync(join(ROOT, 'build', 'fallback-cli-'));
  mkdirSync(join(cliDir, 'dist'));
  cli = join(cliDir, 'dist', 'qenex.js');
  copyFileSync(CLI, cli);
  for (const f of ['qenex.cjs', 'package.json']) copyFileSync(join(ROOT, 'dist', f), join(cliDir, 'dist', f)); // the bundle the launcher runs; CommonJS
});
test.after(() => { removeDir(img.dir); removeDir(cliDir); });

function boot(data: string, backend: string) {
  const r = spawnSync(process.execPath, [cli, 'boot', img.imagePath, '--data', join(img.dir, data), '--trust', img.pubPath, '--once', '--backend', backend], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, events: parseEvents(r.stdout) };
}

const NOTICE = /^qenex: native block addon qenex-native\.[\w-]+\.node not found for [\w-]+ \(looked in [^)]*\); using the pure TypeScript backend \(no block preallocation, lock by lock file\)$/;

test('auto: no addon beside the CLI, so it boots on the pure backend with one notice', () => {
  const r = boot('auto', 'auto');
  assert.is(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.is(lines.length, 1, `exactly one stderr line: ${r.stderr}`);
  assert.match(lines[0], NOTICE);
  assert.ok(lines[0].includes(join(cliDir, 'host', 'native')), 'the notice says where it looked');
  const ready = event(r.events, 'ready');
  assert.ok(ready !== undefined, r.stdout);
  assert.is(event(r.events, 'stopped')?.state_hash, ready!.state_hash);
});

test('native: asked for explicitly and missing is an error, not a silent fallback', () => {
  const r = boot('native', 'native');
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /the native block backend was asked for, but native block addon qenex-native\.[\w-]+\.node not found/);
  assert.is(event(r.events, 'ready'), undefined);
});

test('pure: chosen explicitly, it boots without a notice', () => {
  const r = boot('pure', 'pure');
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  assert.ok(event(r.events, 'ready') !== undefined, r.stdout);
});

test.run();
