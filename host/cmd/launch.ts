// host/cmd/launch.ts: dist/qenex.js, the launcher of the `qenex` command.
//
// The command itself is one CommonJS bundle beside this file, dist/qenex.cjs
// (host/cmd/cli.ts and everything it imports; Makefile). Parsing its
// megabyte of JavaScript and then compiling each function a boot calls was
// about 60 ms of every `qenex boot` (issue 16). This launcher compiles the
// bundle with V8's code cache, dist/qenex.cjs.cache, made at build by one
// boot of the bank image (Makefile, QENEX_CODE_CACHE=write): V8 takes the
// bytecode of every function that boot ran from the cache instead of
// compiling it again. Functions it did not run compile on first call, as
// they would without a cache.
//
// The cache is used only for the bundle it was made from: its header holds
// the SHA-256 of the bundle's bytes, compared with the bundle read now (V8's
// own check looks at the source's length, not its content); V8 itself then
// refuses a cache of another V8 version or other flags. A cache that is
// missing, unreadable or made for other bytes is ignored and the bundle is
// compiled as without one. It is written only when asked, at build, beside
// the bundle, never at run time: whoever can write it can write the bundle.
//
// Launcher and bundle are CommonJS (dist/package.json says so): an ES module
// entry point would cost Node its ESM loader, ~10 ms before the first line.
//
// QENEX_CODE_CACHE=report prints on stderr whether the cache was used (tests).

import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const MAGIC = Buffer.from('QXCODE1\n');
const DIGEST_BYTES = 32;
const HEADER_BYTES = MAGIC.length + DIGEST_BYTES;

const here = dirname(fileURLToPath(import.meta.url));
const bundlePath = join(here, 'qenex.cjs');
const cachePath = `${bundlePath}.cache`;
const mode = process.env.QENEX_CODE_CACHE;

const bytes = readFileSync(bundlePath);
const digest = createHash('sha256').update(bytes).digest();

/** The cache's V8 data when its header names these bundle bytes; why not otherwise. */
function readCache(): { data?: Buffer; why: string } {
  let file: Buffer;
  try {
    file = readFileSync(cachePath);
  } catch {
    return { why: 'none' };
  }
  if (file.length <= HEADER_BYTES || !file.subarray(0, MAGIC.length).equals(MAGIC)) return { why: 'not a code cache' };
  if (!file.subarray(MAGIC.length, HEADER_BYTES).equals(digest)) return { why: 'made for another bundle' };
  return { data: file.subarray(HEADER_BYTES), why: 'used' };
}

const cache = readCache();
// The bundle as CommonJS runs it: one function of exports, require, module and its paths.
const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${bytes.toString('utf8')}\n})`, {
  filename: bundlePath,
  cachedData: cache.data,
});
// import() inside a vm script needs a flag in Node 18 and 20: the bundle borrows this module's
// (binaryen, for `qenex build` and images whose services are instrumented at boot; host/fuel.ts).
(globalThis as Record<symbol, unknown>)[Symbol.for('qenex.import')] = (specifier: string) => import(specifier);
if (mode === 'report') {
  process.stderr.write(`qenex: code cache: ${cache.data !== undefined && script.cachedDataRejected === true ? 'refused by V8' : cache.why}\n`);
}
if (mode === 'write') {
  // At exit, so that the cache holds every function this run compiled.
  process.on('exit', () => {
    if ((process.exitCode ?? 0) !== 0) return;
    const tmp = `${cachePath}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.concat([MAGIC, digest, script.createCachedData()]));
    renameSync(tmp, cachePath);
  });
}
const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundlePath), module, bundlePath, here);
