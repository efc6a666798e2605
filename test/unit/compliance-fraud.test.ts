// test/unit/compliance-fraud.test.ts: the compliance service's fraud model
// (services/compliance/assembly/fraud.ts, docs/compliance-fraud.md) checked
// through test/assembly/fraud-lib.ts, compiled the way services are.
// Proves:
//   - training again (scripts/fraud/train.ts, its seed) writes exactly the
//     shipped fraud-model.ts, and the parameters compiled into the wasm are
//     that file's;
//   - the wasm evaluator's score equals the script's integer evaluation
//     (scoreInt) on every held-out payment and on random i32 vectors;
//   - the held-out ROC-AUC with the wasm's scores is at least AUC_FLOOR;
//   - the version the wasm reports is the one recomputed from the shipped
//     parameters (SHA-256 of their serialisation, first 4 bytes);
//   - out-of-range inputs (i32 min and max, negatives) score as their
//     clamped values, within 0 .. 1,000,000;
//   - a high-risk country or the night raises the score, other features
//     equal (their weights are positive, asserted), and the score rises
//     with the logit (the sigmoid's table rises, 0.5 at logit 0).
//
// Run: node --import tsx test/unit/compliance-fraud.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ascIfStale, ROOT } from '../support/asc.ts';
import { SCORE_ONE } from '../../services/compliance/protocol.ts';
import {
  FEATURE_RANGE, FRAUD_FEATURES, F_HIGH_RISK, F_NIGHT, F_ROUND, SIGMOID_FROM_Q16, SIGMOID_POINTS, SIGMOID_STEP_SHIFT, TERMS,
  TERM_NAMES, generate, isHoldout, modelSource, prng, rocAuc, scoreInt, train, versionOf, type Model,
} from '../../scripts/fraud/train.ts';

const WASM = ascIfStale('test/assembly/fraud-lib.ts', 'build/test/fraud-lib.wasm', [
  'services/compliance/assembly/fraud.ts', 'services/compliance/assembly/fraud-model.ts', 'services/compliance/protocol.ts',
]);
// The held-out AUC the shipped model reaches is 0.9727 (docs/compliance-fraud.md); a change that loses more than a little fails.
const AUC_FLOOR = 0.96;

interface Lib {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  fraud_features(): number;
  fraud_score(features: number): number;
  fraud_model_version(): number;
  model_terms(): number;
  model_weight(i: number): number;
  model_bias(): number;
  sigmoid_points(): number;
  sigmoid_from(): number;
  sigmoid_step_shift(): number;
  sigmoid_point(i: number): number;
}

let lib: Lib;
function readAsString(ptr: number): string {
  if (ptr === 0) return '';
  const bytes = new Uint32Array(lib.memory.buffer, ptr - 4, 1)[0];
  return Buffer.from(lib.memory.buffer, ptr, bytes).toString('utf16le');
}
const { instance } = await WebAssembly.instantiate(readFileSync(WASM), {
  env: {
    abort(msg: number, file: number, line: number, col: number): never {
      throw new Error(`wasm abort: ${readAsString(msg)} (${readAsString(file)}:${line}:${col})`);
    },
  },
});
lib = instance.exports as unknown as Lib;
const VECTOR = lib.alloc(4 * FRAUD_FEATURES);

/** The wasm's score of a feature vector (any i32s). */
function wasmScore(features: readonly number[]): number {
  new Int32Array(lib.memory.buffer, VECTOR, FRAUD_FEATURES).set(features);
  return lib.fraud_score(VECTOR) >>> 0;
}

/** The parameters compiled into the wasm. */
function shipped(): Model {
  return {
    weights: Array.from({ length: lib.model_terms() }, (_, i) => lib.model_weight(i)),
    bias: lib.model_bias(),
    sigmoid: Array.from({ length: lib.sigmoid_points() }, (_, i) => lib.sigmoid_point(i)),
  };
}
const model = shipped();
const holdout = generate().filter((s) => isHoldout(s.account));

test('the wasm has the script\'s geometry and training again writes the shipped fraud-model.ts', () => {
  assert.is(lib.fraud_features(), FRAUD_FEATURES);
  assert.is(lib.model_terms(), TERMS);
  assert.is(lib.sigmoid_points(), SIGMOID_POINTS);
  assert.is(lib.sigmoid_from(), SIGMOID_FROM_Q16);
  assert.is(lib.sigmoid_step_shift(), SIGMOID_STEP_SHIFT);
  const again = train();
  assert.equal(again.model, model, 'the trained parameters are the ones compiled in');
  const file = readFileSync(join(ROOT, 'services/compliance/assembly/fraud-model.ts'), 'utf8');
  assert.ok(file === modelSource(again.model, again), 'fraud-model.ts is what `make fraud-train` writes');
});

test('the wasm scores every held-out payment as the script\'s integer model does', () => {
  assert.ok(holdout.length > 10000 && holdout.some((s) => s.fraud), `a held-out set of ${holdout.length}`);
  const differ = holdout.filter((s) => wasmScore(s.features) !== scoreInt(model, s.features));
  assert.is(differ.length, 0, `first: ${JSON.stringify(differ[0]?.features)}`);
});

test(`the held-out ROC-AUC with the wasm's scores is at least ${AUC_FLOOR}`, () => {
  const auc = rocAuc(holdout.map((s) => wasmScore(s.features)), holdout.map((s) => s.fraud));
  console.log(`  held-out: ${holdout.length} payments, ${holdout.filter((s) => s.fraud).length} fraud, ROC-AUC ${auc.toFixed(4)}`);
  assert.ok(auc >= AUC_FLOOR, `ROC-AUC ${auc}`);
});

test('the version the wasm reports is the SHA-256 of the shipped parameters', () => {
  const version = lib.fraud_model_version() >>> 0;
  assert.is(version, versionOf(model));
  const file = readFileSync(join(ROOT, 'services/compliance/assembly/fraud-model.ts'), 'utf8');
  assert.match(file, `MODEL_VERSION: u32 = 0x${version.toString(16).padStart(8, '0')};`);
  // One weight changed by one Q16 unit is another version.
  assert.is.not(versionOf({ ...model, weights: model.weights.map((w, i) => (i === 0 ? w + 1 : w)) }), version);
});

test('out-of-range inputs score as their clamped values, within 0 .. 1,000,000', () => {
  const MIN = -2147483648, MAX = 2147483647;
  const clamp = (f: number[]): number[] => f.map((v, i) => Math.min(FEATURE_RANGE[i][1], Math.max(FEATURE_RANGE[i][0], v)));
  const vectors: number[][] = [new Array(FRAUD_FEATURES).fill(MIN), new Array(FRAUD_FEATURES).fill(MAX), new Array(FRAUD_FEATURES).fill(-1)];
  for (let i = 0; i < FRAUD_FEATURES; i++) vectors.push(FEATURE_RANGE.map((_, j) => (j === i ? MAX : 0)), FEATURE_RANGE.map((_, j) => (j === i ? MIN : 1)));
  const next = prng(7);
  for (let k = 0; k < 2000; k++) vectors.push(Array.from({ length: FRAUD_FEATURES }, () => next() | 0));
  for (const v of vectors) {
    const score = wasmScore(v);
    assert.ok(score >= 0 && score <= SCORE_ONE, `${v}: ${score}`);
    assert.is(score, wasmScore(clamp(v)), `${v} scores as its clamped vector`);
    assert.is(score, scoreInt(model, v), `${v}: the script's score`);
  }
  // A takeover's payment (20 times the usual, to a new payee, at night, after 12 quiet days) against the owner's own.
  const takeover = wasmScore([17, 2000, 0, 20, 1, 0, 1, 0, 9]);
  const usual = wasmScore([12, 100, 0, 16, 0, 0, 0, 0, 9]);
  console.log(`  a takeover's payment ${takeover}, the owner's usual one ${usual} (millionths)`);
  assert.ok(takeover > 500000 && usual < 10000, `takeover ${takeover}, usual ${usual}`);
});

test('a high-risk country or the night raises the score, other features equal', () => {
  // The weights' signs, of the term and of its products with another 0/1 feature (fraud.ts terms()).
  // high_risk: itself and round*high_risk; night: itself, night*large (large at most 6) and night*new_payee.
  const w = (name: string): number => model.weights[TERM_NAMES.indexOf(name as typeof TERM_NAMES[number])];
  assert.ok(w('high_risk') > 0 && w('high_risk') + Math.min(0, w('round*high_risk')) > 0, 'high risk: positive');
  assert.ok(w('night') + 6 * Math.min(0, w('night*large')) + Math.min(0, w('night*new_payee')) > 0, 'night: positive');
  let raised = 0;
  const lows = holdout.filter((s) => s.features[F_HIGH_RISK] === 0 && s.features[F_NIGHT] === 0).slice(0, 5000);
  for (const s of lows) {
    const base = wasmScore(s.features);
    for (const f of [F_HIGH_RISK, F_NIGHT]) {
      const up = wasmScore(s.features.map((v, i) => (i === f ? 1 : v)));
      assert.ok(up >= base, `${s.features}: feature ${f} to 1 lowers the score`);
      if (up > base) raised++;
    }
  }
  assert.ok(raised > lows.length, `raised ${raised} times of ${2 * lows.length}`);
  assert.ok(lows.some((s) => s.features[F_ROUND] === 1), 'round payments among them (the high-risk product term)');
});

test('the sigmoid\'s table rises from near 0 to near 1, 0.5 at logit 0', () => {
  for (let i = 1; i < model.sigmoid.length; i++) assert.ok(model.sigmoid[i] >= model.sigmoid[i - 1], `point ${i}`);
  assert.is(model.sigmoid[(SIGMOID_POINTS - 1) / 2], SCORE_ONE / 2);
  assert.ok(model.sigmoid[0] < 400 && model.sigmoid[SIGMOID_POINTS - 1] > SCORE_ONE - 400);
});

test.run();
