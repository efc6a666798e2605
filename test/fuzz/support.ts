// test/fuzz/support.ts: what the fuzz targets share. Each target is a
// fast-check property (a generator and an oracle); `make test` runs a short
// budget and `make fuzz` a long one through QENEX_FUZZ_RUNS. A run is
// reproducible from the seed it prints on failure (QENEX_FUZZ_SEED).

import fc from 'fast-check';

/**
 * Runs per property: the short CI budget, or with QENEX_FUZZ_RUNS set that
 * many divided by `cost` (a target that boots a machine per run costs more).
 */
export function fuzzRuns(ciRuns: number, cost = 1): number {
  const env = process.env.QENEX_FUZZ_RUNS;
  if (env === undefined || env === '') return ciRuns;
  const n = Number(env);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`QENEX_FUZZ_RUNS must be a positive integer, got ${env}`);
  return Math.max(ciRuns, Math.floor(n / cost));
}

/** fast-check parameters: the run budget, a fixed seed unless QENEX_FUZZ_SEED or QENEX_FUZZ_RANDOM says otherwise. */
export function fuzzParams(ciRuns: number, cost = 1): fc.Parameters<unknown> {
  const seedEnv = process.env.QENEX_FUZZ_SEED;
  const seed = seedEnv !== undefined && seedEnv !== '' ? Number(seedEnv)
    : process.env.QENEX_FUZZ_RANDOM ? (Date.now() ^ (process.pid << 8)) | 0 : 0x5eed;
  // A hang is a failure too: an async run (log recovery) taking 10 s fails with its
  // input; a synchronous one is ended by test/run.mjs's per-file timeout.
  return { numRuns: fuzzRuns(ciRuns, cost), seed, endOnFailure: true, timeout: 10_000, includeErrorInReport: true };
}

const executions = new Map<string, number>();

/** Counts one execution of a target (for the summary line). */
export function count(target: string, n = 1): void {
  executions.set(target, (executions.get(target) ?? 0) + n);
}

/** Prints `summary: fuzz <file>: ...` once the file's tests have run. */
export function printSummary(file: string): void {
  const parts = [...executions].map(([k, v]) => `${k} ${v}`);
  const total = [...executions.values()].reduce((a, b) => a + b, 0);
  console.log(`\nsummary: fuzz ${file}: ${total} executions (${parts.join(', ')}), 0 crashes`);
}

/** Byte mutations of a base input: flips, overwrites, insertions, deletions, truncation. */
export type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number };

export function mutationArb(): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('set' as const), at, byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
  );
}

/** Applies mutations in order; positions wrap around the current length. */
export function mutate(base: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = Uint8Array.from(base);
  for (const m of mutations) {
    const pos = b.length === 0 ? 0 : m.at % b.length;
    switch (m.kind) {
      case 'flip': if (b.length > 0) b[pos] ^= m.mask; break;
      case 'set': if (b.length > 0) b[pos] = m.byte; break;
      case 'insert': { const out = new Uint8Array(b.length + m.bytes.length); out.set(b.subarray(0, pos)); out.set(m.bytes, pos); out.set(b.subarray(pos), pos + m.bytes.length); b = out; break; }
      case 'delete': { const end = Math.min(b.length, pos + m.length); b = Uint8Array.from([...b.subarray(0, pos), ...b.subarray(end)]); break; }
      case 'truncate': b = b.slice(0, pos); break;
    }
  }
  return b;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
