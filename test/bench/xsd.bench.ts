// test/bench/xsd.bench.ts: what the ISO 20022 admission check
// (host/payments/xsd.ts, libxml2 in the native addon) costs a message, on
// one core: the CBPR+ pacs.008 sample (3.7 KB, AppHdr and Document in an
// Envelope, both schema-checked), the bare SIX camt.054 (5.4 KB), and a
// refusal (the invalid pain.001, two schema errors). Each is validated
// COUNT times after a warm-up; the best of ROUNDS rounds is reported.
// For comparison, xmllint-wasm (libxml2 compiled to WebAssembly, a fresh
// instance a call) took ~94 ms per call on the pacs.008 sample on this
// project's machines; it is not a dependency, so it is not run here.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createIsoValidator } from '../../host/payments/xsd.ts';
import { ROOT, round, type Bench, type FigureSpec, type Figures } from './support.ts';

const FIXTURES = join(ROOT, 'test/fixtures/iso20022');
const CASES = {
  pacs008: 'cbprplus_c.105.1.1_pacs.008_AtoB.xml',
  camt054: 'six_camt.054.001.08_P_CH2909000000250094239_1111091335_v2019.xml',
  refused: 'mt101-to-pain.001_pn.01.1.1_A_B.xml',
} as const;
// 20 000 messages: one to three seconds a round at the rates seen, long
// enough to average out timer and GC noise, short enough for `make bench`.
const COUNT = 20_000;
const ROUNDS = 3;
const XMLLINT_WASM_MS_PER_CALL = 94;

const FIGURES: FigureSpec[] = [
  ...Object.keys(CASES).map((name) => ({ key: `${name}_per_s`, row: name, col: 'messages/s' })),
  ...Object.keys(CASES).map((name) => ({ key: `${name}_us`, row: name, col: 'µs/message' })),
  { key: 'pacs008_vs_xmllint_wasm_ratio', row: 'pacs008', col: 'x xmllint-wasm' },
];

function rate(validate: (bytes: Uint8Array) => unknown, message: Uint8Array): number {
  for (let i = 0; i < COUNT / 10; i++) validate(message);
  let best = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now();
    for (let i = 0; i < COUNT; i++) validate(message);
    best = Math.max(best, COUNT / ((performance.now() - started) / 1000));
  }
  return best;
}

const bench: Bench = {
  name: 'xsd',
  title: 'ISO 20022 admission: libxml2 schema validation per message (one core)',
  figures: FIGURES,
  requires: [join(ROOT, 'host/native/qenex-native.linux-x64-gnu.node')],
  async run() {
    const validator = createIsoValidator();
    const figures: Figures = {};
    for (const [name, file] of Object.entries(CASES)) {
      const message = readFileSync(join(FIXTURES, file));
      const expected = name !== 'refused';
      if (validator.validate(message).ok !== expected) throw new Error(`${file}: expected ${expected ? 'admitted' : 'refused'}`);
      const perSecond = rate((bytes) => validator.validate(bytes), message);
      figures[`${name}_per_s`] = round(perSecond);
      figures[`${name}_us`] = round(1e6 / perSecond, 3);
    }
    figures.pacs008_vs_xmllint_wasm_ratio = round((figures.pacs008_per_s ?? 0) * (XMLLINT_WASM_MS_PER_CALL / 1000));
    const notes = [
      `xmllint-wasm: ~${XMLLINT_WASM_MS_PER_CALL} ms per call measured once on the pacs.008 sample (not run here: not a dependency)`,
      'each validation parses the message, walks its depth and shape, and validates AppHdr and Document with fresh libxml2 validation contexts',
    ];
    return { figures, params: { count: COUNT, rounds: ROUNDS }, notes };
  },
};

export default bench;
