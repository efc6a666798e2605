// host/cmd/sim.ts: `qenex sim` — the deterministic simulator (host/sim):
// the real kernel and ledger in a simulated world of faulty disks,
// networks and clocks, and crashes, all from one seed. With one seed it
// prints the whole trace; the same seed prints the same bytes every time.

import { parseArgs, CliError, EXIT_USAGE, processIo, type CommandIo } from './args.ts';
import { runSeeds } from '../sim/run.ts';

export const USAGE = `usage: qenex sim [--seed N | --seeds A..B [--shard K/M]] [--steps K] [--progress <file>] [--build <dir>] [--quiet] [--bug ack-before-flush]

Runs the deterministic simulation of seed N (default 42) for K steps
(default 300), printing its trace, one result line and summary lines; with
--seeds A..B runs each seed (no trace unless asked with --trace); --shard K/M
runs only the seeds whose offset from A is K modulo M (M processes share a
range). --progress keeps what passed in <file>: a run stopped anywhere goes
on where it stopped (seeds that passed with this very build are skipped).
--build is where kernel.wasm and services/ledger.wasm are (default build).
--bug turns on a test-only bug the simulator must catch. Exit code 1 when a
seed fails.
`;

function int(text: string, name: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) throw new CliError(`${name} must be a non-negative integer, got ${text}`, EXIT_USAGE);
  return Number(text);
}

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, { values: ['seed', 'seeds', 'steps', 'build', 'bug', 'shard', 'progress'], booleans: ['quiet', 'trace'], positionals: { min: 0, max: 0 } });
  if (args.help) { io.out(USAGE); return 0; }
  let seeds = [int(args.values.get('seed') ?? '42', '--seed')];
  if (args.values.has('seeds')) {
    if (args.values.has('seed')) throw new CliError('give --seed or --seeds, not both', EXIT_USAGE);
    const m = /^([0-9]{1,9})\.\.([0-9]{1,9})$/.exec(args.values.get('seeds')!);
    if (m === null) throw new CliError('--seeds must look like A..B', EXIT_USAGE);
    const [a, b] = [Number(m[1]), Number(m[2])];
    if (b < a) throw new CliError('--seeds A..B needs A <= B', EXIT_USAGE);
    seeds = Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  if (args.values.has('shard')) {
    const m = /^([0-9]{1,3})\/([0-9]{1,3})$/.exec(args.values.get('shard')!);
    if (m === null || Number(m[2]) === 0 || Number(m[1]) >= Number(m[2])) throw new CliError('--shard must look like K/M with K < M', EXIT_USAGE);
    const [k, n] = [Number(m[1]), Number(m[2])];
    seeds = seeds.filter((_, i) => i % n === k);
  }
  const steps = int(args.values.get('steps') ?? '300', '--steps');
  const bug = args.values.get('bug');
  if (bug !== undefined && bug !== 'ack-before-flush') throw new CliError(`unknown --bug ${bug} (known: ack-before-flush)`, EXIT_USAGE);
  const trace = seeds.length === 1 ? !args.booleans.has('quiet') : args.booleans.has('trace');
  let totals;
  try {
    totals = await runSeeds({ seeds, steps, buildDir: args.values.get('build') ?? 'build', bug, trace, out: (l) => io.out(l + '\n'), progressFile: args.values.get('progress') });
  } catch (e) {
    throw new CliError(`sim: ${(e as Error).message}`);
  }
  return totals.failed.length === 0 ? 0 : 1;
}
