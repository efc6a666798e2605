// The coverage-guided engine (fuzz/engine.ts) on a target made for it: a
// check that throws only for inputs starting with "BUG!", with a coverage
// site at each byte that matches. Proves the engine is guided by coverage
// (blind mutation of an empty input would need about 2^32 tries; with each
// matching byte a new edge, a few thousand do), that a throwing check is
// reported as a finding with the input that threw, that inputs reaching new
// edges are saved to the queue, and that the minimised corpus it writes
// reaches every edge bucket the queue did.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzLoop, SHARED_HEADER_BYTES, type Progress } from '../../fuzz/engine.ts';
import { __cov } from '../../fuzz/cov.ts';
import type { FuzzTarget } from '../../fuzz/target.ts';

function magic(found: boolean): FuzzTarget {
  return {
    name: 'magic', about: 'throws on "BUG!"', sources: [], maxLen: 64,
    check(b) {
      if (b[0] === 0x42) {
        __cov(101);
        if (b[1] === 0x55) {
          __cov(202);
          if (b[2] === 0x47) {
            __cov(303);
            if (b[3] === 0x21) { __cov(404); if (found) throw new Error('found the magic bytes'); }
          }
        }
      } else {
        __cov(505);
      }
    },
  };
}

async function run(target: FuzzTarget, execs: number): Promise<{ last: Progress; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'qenex-fuzz-engine-'));
  let last: Progress | null = null;
  await fuzzLoop({
    target, corpusDir: join(dir, 'corpus'), queueDir: join(dir, 'queue'), execs, seconds: 60, seed: 7,
    shared: new SharedArrayBuffer(SHARED_HEADER_BYTES + target.maxLen), writeCorpus: true,
    progress: (p) => { last = p; },
  });
  assert.ok(last !== null, 'the loop reported');
  return { last: last!, dir };
}

test('coverage leads to the magic input within 200,000 executions, reported with the input', async () => {
  const { last, dir } = await run(magic(true), 200_000);
  try {
    assert.ok(last.finding !== undefined, `no finding after ${last.execs} executions`);
    assert.match(last.finding!.message, /found the magic bytes/);
    assert.equal([...last.finding!.input.subarray(0, 4)], [0x42, 0x55, 0x47, 0x21]);
    assert.ok(readdirSync(join(dir, 'queue')).length >= 3, 'each new depth was saved to the queue');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run without findings ends at its budget with a minimised corpus reaching every edge', async () => {
  const { last, dir } = await run(magic(false), 60_000);
  try {
    assert.is(last.finding, undefined);
    assert.ok(last.execs >= 60_000 && last.execs < 62_000, `stopped near the budget (${last.execs})`);
    assert.is(last.edges, 5, 'the five edges: not-B, then B, BU, BUG, BUG!');
    assert.ok(last.corpus !== undefined && last.corpus >= 2 && last.corpus <= 5, `a small corpus (${last.corpus})`);
    assert.equal(readdirSync(join(dir, 'corpus')).length, last.corpus);
    assert.equal(last.sites, [101, 202, 303, 404, 505]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
