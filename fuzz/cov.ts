// fuzz/cov.ts: the coverage runtime of instrumented TypeScript (see
// fuzz/instrument.ts). Each site calls __cov(id): the edge from the previous
// site is counted in `edges` (hit counts saturate at 255), the first hit of
// an edge in a run is listed in `touched` (so reading a run's coverage costs
// what the run touched, not the map's size), and `sites` marks every site
// ever reached (for the report). WebAssembly targets keep the same three
// tables in their own memory (fuzz/assembly/cov.ts).

export const MAP_BYTES = 1 << 16;

export interface CoverageTables {
  /** Hit count per edge for the current run (the engine clears what it read). */
  edges: Uint8Array;
  /** Indices into `edges` first hit in the current run; `touchedCount()` of them. */
  touched: Uint32Array;
  touchedCount(): number;
  /** 1 for every site id reached in any run. */
  sites: Uint8Array;
  /** Starts a run: no previous site, nothing touched. */
  reset(): void;
}

const edges = new Uint8Array(MAP_BYTES);
const touched = new Uint32Array(MAP_BYTES);
const sites = new Uint8Array(MAP_BYTES);
let count = 0;
let prev = 0;

export function __cov(id: number): void {
  const i = (id ^ prev) & 0xffff;
  const v = edges[i];
  if (v === 0) touched[count++] = i;
  if (v !== 255) edges[i] = v + 1;
  sites[id] = 1;
  prev = id >>> 1;
}

export const jsCoverage: CoverageTables = {
  edges, touched, sites,
  touchedCount: () => count,
  reset: () => { count = 0; prev = 0; },
};

interface CovExports {
  memory: WebAssembly.Memory;
  __cov_edges(): number;
  __cov_touched(): number;
  __cov_sites(): number;
  __cov_touched_count(): number;
  __cov_reset(): void;
}

/** The tables of an instrumented WebAssembly instance (views over its memory as it is now). */
export function wasmCoverage(exports: WebAssembly.Exports): CoverageTables {
  const x = exports as unknown as CovExports;
  if (typeof x.__cov_edges !== 'function') throw new Error('the module is not instrumented: no __cov_edges export (build it with fuzz/build.ts)');
  const buf = x.memory.buffer;
  return {
    edges: new Uint8Array(buf, x.__cov_edges(), MAP_BYTES),
    touched: new Uint32Array(buf, x.__cov_touched(), MAP_BYTES),
    sites: new Uint8Array(buf, x.__cov_sites(), MAP_BYTES),
    touchedCount: () => x.__cov_touched_count(),
    reset: () => x.__cov_reset(),
  };
}
