// host/fuel-instrument.mjs: the binaryen part of host/fuel.ts, in plain
// JavaScript so that it can also run in a worker thread without the tsx
// loader (run from source, tsx would transform binaryen's 13 MB of
// JavaScript for ten seconds on every start; the bundled CLI calls it
// in-thread). See host/fuel.ts for what the instrumentation does and why.

import { isMainThread, workerData } from 'node:worker_threads';

export const FUEL_EXPORT = 'qx_fuel';
export const GLOBAL_EXPORT_PREFIX = 'qx_g';
const CHARGE_IMPORT = 'log_execution';
// Module-level initializers (the start function) run at instantiation,
// before the host can set a budget: they get START_FUEL.
export const START_FUEL = 2 ** 30;
// The charge function's size in binaryen's measure is about 10; 16 inlines
// it and leaves the module's own (already optimized) functions almost alone.
const CHARGE_INLINE_SIZE_MAX = 16;

/** A module the host will not run; `message` says why. */
export class Refusal extends Error {}

function exportGlobals(b, m) {
  for (let i = 0; i < m.getNumExports(); i++) {
    const name = b.getExportInfo(m.getExportByIndex(i)).name;
    if (name === FUEL_EXPORT || name.startsWith(GLOBAL_EXPORT_PREFIX)) {
      throw new Refusal(`the module exports "${name}"; the ${FUEL_EXPORT} and ${GLOBAL_EXPORT_PREFIX}* names are the host's`);
    }
  }
  const n = m.getNumGlobals();
  for (let i = 0; i < n; i++) {
    const g = b.getGlobalInfo(m.getGlobalByIndex(i));
    if (!g.mutable || g.module !== '') continue;
    m.addGlobalExport(g.name, `${GLOBAL_EXPORT_PREFIX}${i}`);
  }
}

function addFuel(b, m) {
  m.runPasses(['log-execution']);
  let charge = '';
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = b.getFunctionInfo(m.getFunctionByIndex(i));
    if (f.module !== '' && f.base === CHARGE_IMPORT) charge = f.name;
  }
  const fuel = '__qx_fuel';
  m.addGlobal(fuel, b.i64, true, m.i64.const(BigInt(START_FUEL)));
  m.addGlobalExport(fuel, FUEL_EXPORT);
  if (charge === '') return; // no function bodies to instrument
  m.removeFunction(charge);
  // fuel -= 1; if (fuel < 0) unreachable
  const body = m.block(null, [
    m.global.set(fuel, m.i64.sub(m.global.get(fuel, b.i64), m.i64.const(1n))),
    m.if(m.i64.lt_s(m.global.get(fuel, b.i64), m.i64.const(0n)), m.unreachable()),
  ], b.none);
  m.addFunction(charge, b.createType([b.i32]), b.none, [], body);
  // Inline the charge at every site: as a call per loop iteration it cost
  // about a third of the ledger's throughput. binaryen's size limit is a
  // global setting: set for this pass, then put back.
  const saved = b.getAlwaysInlineMaxSize();
  b.setAlwaysInlineMaxSize(CHARGE_INLINE_SIZE_MAX);
  try {
    m.runPasses(['inlining', 'remove-unused-module-elements']);
  } finally {
    b.setAlwaysInlineMaxSize(saved);
  }
}

/** Exports the mutable globals and (with `fuel`) adds the fuel counter. */
export function instrument(b, bytes, fuel) {
  const m = b.readBinary(bytes);
  try {
    m.setFeatures(b.Features.All);
    exportGlobals(b, m);
    if (fuel) addFuel(b, m);
    if (!m.validate()) throw new Refusal('the module does not validate after instrumentation');
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

// Worker mode (host/fuel.ts, run from source): requests { bytes, fuel } on
// workerData.port, answered there with { bytes } or { error, refused }; each
// answer then sets workerData.flag[0] = 1 and wakes the waiting caller.
// (A function, not top-level await: the bundled CLI is CommonJS, which has none.)
if (!isMainThread && workerData?.role === 'qenex-fuel') void serveWorker(workerData);

async function serveWorker({ port, flag }) {
  let b = null;
  let loadError = '';
  try {
    b = (await import('binaryen')).default;
  } catch (e) {
    loadError = `cannot load binaryen: ${e instanceof Error ? e.message : String(e)}`;
  }
  port.on('message', ({ bytes, fuel }) => {
    try {
      if (b === null) throw new Error(loadError);
      const out = instrument(b, bytes, fuel);
      port.postMessage({ bytes: out }, [out.buffer]);
    } catch (e) {
      port.postMessage({ error: e instanceof Error ? e.message : String(e), refused: e instanceof Refusal });
    }
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
}
