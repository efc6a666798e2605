// fuzz/target.ts: what a fuzz target is. One target per parser of outside
// bytes; its `check` is the oracle the coverage-guided engine (fuzz/engine.ts),
// the property tests (test/fuzz/) and the corpus replay in `make test`
// (test/fuzz/corpus.test.ts) all run, so an oracle is written once.

import type { CoverageTables } from './cov.ts';

/** A bug a target's oracle found (anything else a check throws is one too). */
export class FuzzFinding extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzFinding';
  }
}

/** Fails the check with `message` unless `ok`. */
export function expect(ok: boolean, message: string): asserts ok {
  if (!ok) throw new FuzzFinding(message);
}

export interface FuzzTarget {
  name: string;
  /** One line: the parser and what the oracle proves. */
  about: string;
  /** Repo-relative files instrumented in the fuzz build; their sites are the target's coverage. */
  sources: readonly string[];
  /** An AssemblyScript target: this entry is compiled with `sources` instrumented to build/fuzz/<name>.wasm. */
  wasm?: { entry: string; args?: readonly string[] };
  /** Longest input the engine makes. */
  maxLen: number;
  /** Tokens the mutator inserts (field names, keywords, magic numbers). */
  dictionary?: readonly (string | Uint8Array)[];
  /** Runs once per process before the first check. */
  setup?(): void | Promise<void>;
  /** The oracle: returns when the parser behaved, throws when it did not. */
  check(input: Uint8Array): void;
  /** WebAssembly targets: the coverage tables of the instance the last check ran (fuzz builds only). */
  coverage?(): CoverageTables;
}

/** True in the instrumented bundle that `make fuzz` builds (fuzz/build.ts defines it). */
export const FUZZ_BUILD = process.env.QENEX_FUZZ_BUILD === '1';
