// fuzz/assembly/cov.ts: the coverage runtime of instrumented AssemblyScript
// (fuzz/instrument.ts). The same three tables as fuzz/cov.ts, in the
// module's own memory; the entry file of an instrumented build re-exports
// the accessors so the engine can read them.

const MAP_BYTES: u32 = 1 << 16;
const EDGES: usize = memory.data(1 << 16);
const TOUCHED: usize = memory.data(4 << 16);
const SITES: usize = memory.data(1 << 16);
let touchedCount: u32 = 0;
let prevSite: u32 = 0;

@inline export function __cov(id: u32): void {
  const i = (id ^ prevSite) & (MAP_BYTES - 1);
  const v = load<u8>(EDGES + <usize>i);
  if (v == 0) {
    store<u32>(TOUCHED + (<usize>touchedCount << 2), i);
    touchedCount++;
  }
  if (v != 255) store<u8>(EDGES + <usize>i, v + 1);
  store<u8>(SITES + <usize>id, 1);
  prevSite = id >> 1;
}

export function __cov_edges(): usize { return EDGES; }
export function __cov_touched(): usize { return TOUCHED; }
export function __cov_sites(): usize { return SITES; }
export function __cov_touched_count(): u32 { return touchedCount; }
export function __cov_reset(): void { touchedCount = 0; prevSite = 0; }
