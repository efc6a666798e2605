// host/fuel.ts: the fuel counter and the memory limit compiled into service
// modules. Proves that a runaway loop stops at the same iteration on every
// run (fresh instances, separately prepared modules), that the stop point
// moves with the budget, that preparation is deterministic, and that the
// memory maximum is the manifest's (an initial size above it is refused),
// and that preparing needs no loadInstrumenter() first.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FUEL_EXPORT, loadInstrumenter, prepareModule, memoryLimits, limitMemory, ModuleRefused } from '../../host/fuel.ts';
import { buildTestService } from '../services/build.ts';

const faulty = new Uint8Array(readFileSync(buildTestService('faulty')));
const SPIN = 6;

interface Run { spins: bigint; fuel: bigint; error: string }

// Runs op 6 (an endless loop counting iterations) with `budget` fuel in a fresh instance.
function spin(bytes: Uint8Array, budget: bigint): Run {
  const noop = () => 0;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {
    qenex: { send: noop, reply: noop, time: () => 0n, log: noop, random: noop, timer: noop, lookup: noop },
  });
  const x = instance.exports as Record<string, any>;
  const fuel = x[FUEL_EXPORT] as WebAssembly.Global;
  fuel.value = 1000n;
  const inbox = x.qx_inbox() as number;
  new Uint8Array(x.memory.buffer, inbox, 16).set([SPIN]);
  fuel.value = budget;
  let error = '';
  try { x.qx_handle(1, 65535, 1, 16); } catch (e) { error = (e as Error).message; }
  const left = fuel.value as bigint;
  fuel.value = 1000n;
  return { spins: x.faulty_spins() as bigint, fuel: left, error };
}

let prepared4: Uint8Array;
test.before(async () => {
  await loadInstrumenter();
  prepared4 = await prepareModule(faulty, { memoryPagesMax: 4 });
});

test('an endless loop stops at the same iteration on two runs, and the stop point follows the budget', async () => {
  // Proves determinism of the stop point: two fresh instances of the same
  // prepared module, and an instance of a module prepared again from the
  // same bytes, all trap after the same number of iterations with the
  // counter at -1; twice the budget gives about twice the iterations.
  const a = await prepareModule(faulty, { memoryPagesMax: 4 });
  const first = spin(a, 100_000n);
  const second = spin(a, 100_000n);
  assert.match(first.error, /unreachable/);
  assert.is(first.fuel, -1n);
  assert.ok(first.spins > 1000n && first.spins < 100_000n, `spins ${first.spins}`);
  assert.equal(second, first);
  const again = await prepareModule(Uint8Array.from(faulty), { memoryPagesMax: 4, fuel: true });
  assert.equal(Buffer.from(again), Buffer.from(a), 'preparation is a function of the bytes');
  assert.equal(spin(again, 100_000n), first);
  const double = spin(a, 200_000n);
  assert.ok(double.spins >= 2n * first.spins - 2n && double.spins <= 2n * first.spins + 2n, `${double.spins} vs ${first.spins}`);
});

test('without the fuel counter there is no qx_fuel export (benchmarks only)', async () => {
  const plain = await prepareModule(faulty, { memoryPagesMax: 4, fuel: false });
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(plain as Uint8Array<ArrayBuffer>)).map((e) => e.name);
  assert.not.ok(exports.includes(FUEL_EXPORT));
  assert.ok(exports.some((n) => n.startsWith('qx_g')), 'mutable globals are still exported');
});

test('the memory maximum is memory_pages_max; a module that starts bigger is refused', async () => {
  // Proves limitMemory: the prepared module's memory has maximum 4 (the
  // module itself declares none), an instance cannot grow past it, a
  // tighter own maximum is kept, and an initial size above the limit is a
  // ModuleRefused naming both numbers.
  const own = memoryLimits(faulty)!;
  assert.is(own.maximum, null);
  const limited = await prepareModule(faulty, { memoryPagesMax: 4 });
  assert.equal(memoryLimits(limited), { initial: own.initial, maximum: 4 });
  const memory = (new WebAssembly.Instance(new WebAssembly.Module(limited as Uint8Array<ArrayBuffer>), {
    qenex: { send: () => 0, reply: () => 0, time: () => 0n, log: () => 0, random: () => 0, timer: () => 0, lookup: () => 0 },
  }).exports.memory as WebAssembly.Memory);
  assert.throws(() => memory.grow(5 - own.initial), /maximum|grow/i);
  assert.equal(memoryLimits(limitMemory(limitMemory(faulty, 3), 8)), { initial: own.initial, maximum: 3 });
  assert.throws(() => limitMemory(faulty, own.initial - 1 || 0), (e: unknown) => e instanceof ModuleRefused && /memory_pages_max/.test((e as Error).message));
});

test('prepareModuleSync works without loadInstrumenter (a module loaded into a machine booted from a prepared image)', () => {
  // Proves the synchronous path a live load takes when boot never loaded
  // binaryen: in a fresh process, the first call starts the instrumenter
  // and returns the same bytes as here.
  const script = `import { prepareModuleSync } from ${JSON.stringify(new URL('../../host/fuel.ts', import.meta.url).href)};
    import { readFileSync } from 'node:fs';
    const out = prepareModuleSync(new Uint8Array(readFileSync(${JSON.stringify(buildTestService('faulty'))})), { memoryPagesMax: 4 });
    process.stdout.write(createHash('sha256').update(out).digest('hex'));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { createHash } from 'node:crypto';\n${script}`], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, createHash('sha256').update(prepared4).digest('hex'));
});

test.run();
