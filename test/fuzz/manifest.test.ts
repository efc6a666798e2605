// Fuzzing the manifest validator (host/manifest.ts), which reads the JSON an
// image builder and the image loader get from outside. Proves: for arbitrary
// JSON values, for the bank manifest with any field replaced, added or
// removed, and for mutated manifest text through loadManifestFile, the
// result is a ManifestError naming what is wrong, or a manifest that is a
// fixed point (validating it again gives the same canonical bytes), never
// another exception or a hang.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestError, loadManifestFile } from '../../host/manifest.ts';
import { checkManifest } from '../../fuzz/targets/manifest.ts';
import { ROOT } from '../support/helpers.ts';
import { count, fuzzParams, mutate, mutationArb, printSummary } from './support.ts';

const bankText = readFileSync(join(ROOT, 'images/bank/manifest.json'), 'utf8');
const bank = JSON.parse(bankText) as Record<string, unknown>;

// The oracle is the fuzz target's (fuzz/targets/manifest.ts).
function check(json: unknown): void {
  count('manifest');
  checkManifest(json);
}

/** A JSON path into the bank manifest (objects by key, arrays by index). */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}
const bankPaths = paths(bank).filter((p) => p.length > 0);

const interesting = fc.oneof(
  fc.jsonValue(),
  fc.integer(), fc.double(), fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1.5, NaN, Infinity),
  fc.string(), fc.constantFrom('', 'net', 'send:', 'send:ledger', 'send:nobody', '__proto__', 'constructor', 'x'.repeat(300), '\u0000', '\ud800'),
  fc.constant(undefined),
);

function edit(base: unknown, path: (string | number)[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (remove) { if (Array.isArray(at)) at.splice(Number(last), 1); else delete at[last]; }
  else at[last] = value;
  return copy;
}

test('the bank manifest validates', () => check(bank));

test('arbitrary JSON values', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => check(v)), fuzzParams(300));
});

test('the bank manifest with fields replaced or removed', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.constantFrom(...bankPaths), interesting, fc.boolean()), { minLength: 1, maxLength: 3 }),
    (edits) => {
      let m: unknown = bank;
      for (const [p, v, remove] of edits) {
        try { m = edit(m, p, v, remove); } catch { /* the path is gone after an earlier edit */ }
      }
      check(m);
    }), fuzzParams(600));
});

test('extra keys anywhere, including __proto__', () => {
  fc.assert(fc.property(fc.constantFrom(...[[], ...bankPaths]), fc.constantFrom('__proto__', 'constructor', 'extra', 'toString'), fc.jsonValue(),
    (p, k, v) => {
      const copy = structuredClone(bank) as Record<string, unknown>;
      let at: any = copy;
      for (const seg of p) at = at[seg];
      if (at === null || typeof at !== 'object' || Array.isArray(at)) return;
      Object.defineProperty(at, k, { value: v, enumerable: true, configurable: true, writable: true });
      check(copy);
    }), fuzzParams(300));
});

test('mutated manifest text through loadManifestFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qenex-fuzz-manifest-'));
  const path = join(dir, 'manifest.json');
  try {
    fc.assert(fc.property(fc.array(mutationArb(), { minLength: 1, maxLength: 3 }), (ms) => {
      count('manifest-file');
      writeFileSync(path, mutate(Buffer.from(bankText), ms));
      try {
        const m = loadManifestFile(path);
        check(m);
      } catch (e) {
        if (!(e instanceof ManifestError)) throw new Error(`loadManifestFile threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
        assert.ok(e.message.startsWith(path), 'the error names the file');
      }
    }), fuzzParams(300));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.after(() => printSummary('manifest'));
test.run();
