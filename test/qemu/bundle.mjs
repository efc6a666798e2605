#!/usr/bin/env node
// test/qemu/bundle.mjs: bundles test/qemu/workload.ts for Node 18 into
// build/qemu/workload.mjs, the one file both platforms run.
//
// Two device inputs are swapped for fixed ones (test/qemu/fixed-devices.ts):
// the clock module host/devices/clock.ts, and node:crypto as imported by
// host/devices/entropy.ts (its randomFillSync). Every other host module is
// bundled as it is, the same way dist/qenex.js is.

import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const fixed = join(root, 'test/qemu/fixed-devices.ts');
const clockModule = join(root, 'host/devices/clock.ts');
const entropyModule = join(root, 'host/devices/entropy.ts');
const out = process.argv[2] ?? join(root, 'build/qemu/workload.mjs');

const fixedDevices = {
  name: 'fixed-devices',
  setup(b) {
    b.onResolve({ filter: /^node:crypto$/ }, (args) => (args.importer === entropyModule ? { path: fixed } : undefined));
    b.onResolve({ filter: /devices\/clock\.ts$/ }, (args) => {
      const target = resolve(args.resolveDir, args.path);
      return target === clockModule ? { path: fixed } : undefined;
    });
  },
};

const result = await build({
  entryPoints: [join(root, 'test/qemu/workload.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  outfile: out,
  plugins: [fixedDevices],
  // As for dist/qenex.js (Makefile): loaded from node_modules when used.
  external: ['binaryen'],
  // CommonJS dependencies bundled into ESM call require() for node: built-ins.
  banner: { js: "import { createRequire as qxCreateRequire } from 'node:module'; const require = qxCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  metafile: true,
});
// The swap must have happened: the real clock module must not be in the bundle.
const inputs = Object.keys(result.metafile.inputs);
if (inputs.some((p) => p.endsWith('host/devices/clock.ts'))) throw new Error('bundle: host/devices/clock.ts was not replaced');
if (!inputs.some((p) => p.endsWith('host/devices/entropy.ts'))) throw new Error('bundle: host/devices/entropy.ts is missing');
console.log(`bundle: ${out}`);
