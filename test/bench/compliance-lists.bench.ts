// test/bench/compliance-lists.bench.ts: what reading the sanctions lists and
// normalising their names costs (host/compliance/lists.ts, names.ts), on the
// real files of test/fixtures/sanctions, one core:
//   parse  OFAC's SDN list (sdn.csv, alt.csv, add.csv, sdn_comments.csv:
//          3.5 MB) and the UN list (2 MB of XML) from bytes in memory to
//          entries, version digest included;
//   names  every name of both lists (primary names and aliases) normalised
//          (normalizeName), and the same through nameRecordsOf (normalised
//          form, display cut, checks) as a load would.
// Each figure is the best of ROUNDS runs after WARMUP runs, so a JIT tier-up
// or a GC pause of a shared machine does not set it.
// Run alone: node --import tsx test/bench/run.ts compliance-lists

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOfacSdn, parseUnList, type OfacFiles } from '../../host/compliance/lists.ts';
import { normalizeName, recordsOfList, typeCode } from '../../host/compliance/names.ts';
import { ROOT, round, type Bench, type FigureSpec, type Figures } from './support.ts';

const DIR = join(ROOT, 'test/fixtures/sanctions');
const ROUNDS = 5;
const WARMUP = 2;

const FIGURES: FigureSpec[] = [
  { key: 'parse_ofac_ms', row: 'parse OFAC SDN (8,976 entries, 3.5 MB CSV)', col: 'ms' },
  { key: 'parse_un_ms', row: 'parse UN consolidated (1,003 entries, 2 MB XML)', col: 'ms' },
  { key: 'names', row: 'names in both lists (primary + aliases)', col: 'names' },
  { key: 'normalize_names_per_s', row: 'normalizeName over every list name', col: 'names/s' },
  { key: 'records_names_per_s', row: 'nameRecordsOf over every entry', col: 'names/s' },
];

/** Best wall time of `fn` in milliseconds over ROUNDS runs, after WARMUP. */
function best(fn: () => unknown): number {
  for (let i = 0; i < WARMUP; i++) fn();
  let min = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

const bench: Bench = {
  name: 'compliance-lists',
  title: 'Sanctions lists: parse and name normalisation',
  figures: FIGURES,
  requires: [join(DIR, 'ofac/sdn.csv'), join(DIR, 'un/UN_consolidated.xml')],
  async run() {
    const f = (p: string) => readFileSync(join(DIR, p));
    const ofacFiles: OfacFiles = { sdn: f('ofac/sdn.csv'), alt: f('ofac/alt.csv'), add: f('ofac/add.csv'), comments: f('ofac/sdn_comments.csv') };
    const unBytes = f('un/UN_consolidated.xml');
    const ofac = parseOfacSdn(ofacFiles);
    const un = parseUnList(unBytes);
    const entries = [...ofac.entries, ...un.entries];
    const names = entries.flatMap((e) => e.names.map((n) => [n.display, typeCode(e.type)] as const));
    const normalizeMs = best(() => {
      for (const [display, type] of names) normalizeName(display, type);
    });
    const recordsMs = best(() => recordsOfList(entries));
    const figures: Figures = {
      parse_ofac_ms: round(best(() => parseOfacSdn(ofacFiles))),
      parse_un_ms: round(best(() => parseUnList(unBytes))),
      names: names.length,
      normalize_names_per_s: round(names.length / (normalizeMs / 1000)),
      records_names_per_s: round(names.length / (recordsMs / 1000)),
    };
    return {
      figures,
      params: { rounds: ROUNDS, warmup: WARMUP, ofac_version: ofac.versionHex, un_version: un.versionHex },
      notes: ['best of the rounds; one core, files already in memory'],
    };
  },
};

export default bench;
