// test/bench/ledger/memory-probe.ts: how much memory a ledger service takes
// for its configured tables, run as a child process by
// test/bench/ledger.bench.ts so that nothing else in the benchmark moves its
// resident set.
//
// The service allocates every table once at qx_init, from its config, and
// zero-fills it (services/ledger/assembly/state.ts), so what a table costs is
// resident from boot on: the growth of this process's resident set across
// `new Ledger(config)` is the ledger's allocation, to the page. The wasm
// memory size (memory.buffer.byteLength) is printed too, but it overstates:
// the AssemblyScript stub allocator grows memory by doubling when a small
// allocation crosses the end, and those pages are never touched.
//
// Usage: node --import tsx test/bench/ledger/memory-probe.ts '<name>=<config json>' ...
// Prints one line per config: {"event":"memory","name":…,"rss_bytes":…,"wasm_bytes":…}

import { Ledger } from '../../ledger/harness.ts';

const SMALLEST = { accounts_max: 1, transfers_max: 1, pending_max: 1, history_max: 1 };

function main(): void {
  // Compiles the module (and warms the harness) before any measurement, so
  // code and compiler memory are not charged to the first config.
  const keep: Ledger[] = [new Ledger(SMALLEST)];
  for (const arg of process.argv.slice(2)) {
    const at = arg.indexOf('=');
    if (at < 1) throw new Error(`expected name=<config json>, got ${arg}`);
    const name = arg.slice(0, at);
    const config = JSON.parse(arg.slice(at + 1)) as Record<string, number>;
    const before = process.memoryUsage().rss;
    const ledger = new Ledger(config);
    const after = process.memoryUsage().rss;
    // Kept alive: a collected instance would hand its pages back in the
    // middle of the next measurement.
    keep.push(ledger);
    process.stdout.write(JSON.stringify({ event: 'memory', name, config, rss_bytes: after - before, wasm_bytes: ledger.memoryBytes() }) + '\n');
  }
}

main();
