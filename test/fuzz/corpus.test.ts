// Replays every input of the fuzz corpus (fuzz/corpus/<target>, what the
// coverage-guided fuzzer kept: the seeds and each input that reached new
// code) through its target's oracle, uninstrumented, as the product runs.
// Proves the corpus still passes: a change that breaks an input the fuzzer
// once found interesting fails here, in `make test`, not hours into
// `make fuzz`. Fails too when a target has no corpus.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { TARGETS } from '../../fuzz/targets/index.ts';
import { readInputs } from '../../fuzz/engine.ts';
import { ROOT } from '../support/helpers.ts';

let total = 0;
for (const t of TARGETS) {
  test(`corpus of ${t.name}: ${t.about}`, async () => {
    const inputs = readInputs(join(ROOT, 'fuzz', 'corpus', t.name));
    assert.ok(inputs.length > 0, `fuzz/corpus/${t.name} is empty (node --import tsx fuzz/main.ts seed)`);
    await t.setup?.();
    for (const input of inputs) {
      try {
        t.check(input.bytes);
      } catch (e) {
        assert.unreachable(`fuzz/corpus/${t.name}/${input.name}: ${(e as Error).stack ?? String(e)}`);
      }
    }
    total += inputs.length;
  });
}

test.after(() => console.log(`\nsummary: fuzz corpus: ${total} inputs of ${TARGETS.length} targets replayed, 0 failures`));
test.run();
