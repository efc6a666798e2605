// test/bench/boot.bench.ts: how long the machine takes to boot, next to how
// long Node.js takes to do nothing, measured in the same run.
//
// Each round spawns, one after another and the same way (test/bench/support.ts
// timeChild): `node -e 0` (to exit); `qenex boot --once` on a fresh data dir
// and on a dir whose log holds LOG_INPUTS counter adds (to the ready line,
// plus the boot_ms the machine reports: from setting the machine up, after
// the image check and the data dir, to ready); and `qenex
// replay` of that log (to exit, plus the replay_ms it reports). Rounds
// interleave the four so that a noisy moment on the machine hits all alike.
// The ratio column divides each median by the `node -e 0` median: the part
// of a boot that is Node.js starting up is the floor under it.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { parseImage, readImageFile } from '../../host/image.ts';
import { FrameClient, counterRequest } from '../../host/client/frames.ts';
import {
  CLI, IMAGE, DEMO_IMAGE, TRUST, MACHINE_FILES, IN_FLIGHT_MAX, Server, tempDir, timeChild, sendWindowed, describeFailures,
  median, percentile, ratio, round, type Bench, type ChildRun, type FigureSpec, type Figures,
} from './support.ts';

// Twenty timed rounds (after one untimed warm-up) give a median and a p90
// that hold still from run to run; a round takes about half a second here,
// well inside the ~2 minute budget of `make bench`.
const ROUNDS = 20;
const WARMUP_ROUNDS = 1;
// Ten thousand inputs: enough that replay cost shows next to fixed costs.
const LOG_INPUTS = 10_000;

const NODE = 'node -e 0 (spawn → exit)';
const FRESH = 'boot --once, fresh dir (spawn → ready)';
const FRESH_IN = 'boot --once, fresh dir: boot_ms reported';
const LOGGED = `boot --once, ${LOG_INPUTS}-input log (spawn → ready)`;
const LOGGED_IN = `boot --once, ${LOG_INPUTS}-input log: boot_ms reported`;
const REPLAY = `replay, ${LOG_INPUTS}-input log (spawn → exit)`;
const REPLAY_IN = `replay, ${LOG_INPUTS}-input log: replay_ms reported`;
const MEDIAN = 'median ms';
const P90 = 'p90 ms';
const VS_NODE = '× node -e 0 (median)';

// One series per timed thing; `vsNode` marks those measured from spawn,
// which are the ones a ratio to `node -e 0` means something for. A `median`
// key names a median other benchmarks read (the storage benchmark compares
// its boots with a fresh dir's, issue 16); the others are <id>_ms_median.
const SERIES: { id: string; row: string; vsNode: boolean; median?: string }[] = [
  { id: 'node_e0_exit', row: NODE, vsNode: false, median: 'node_e0_ms' },
  { id: 'boot_fresh_ready', row: FRESH, vsNode: true, median: 'spawn_to_ready_ms_fresh' },
  { id: 'boot_fresh_boot', row: FRESH_IN, vsNode: false, median: 'boot_ms_fresh' },
  { id: 'boot_log_ready', row: LOGGED, vsNode: true },
  { id: 'boot_log_boot', row: LOGGED_IN, vsNode: false },
  { id: 'replay_log_exit', row: REPLAY, vsNode: true },
  { id: 'replay_log_replay', row: REPLAY_IN, vsNode: false },
];

const medianKey = (s: (typeof SERIES)[number]) => s.median ?? `${s.id}_ms_median`;

const FIGURES: FigureSpec[] = SERIES.flatMap((s) => [
  { key: medianKey(s), row: s.row, col: MEDIAN },
  { key: `${s.id}_ms_p90`, row: s.row, col: P90 },
  ...(s.vsNode ? [{ key: `${s.id}_vs_node_ratio`, row: s.row, col: VS_NODE }] : []),
]);

type Samples = Record<string, number[]>;

function bootArgs(dataDir: string, image = IMAGE): string[] {
  return [CLI, 'boot', image, '--data', dataDir, '--trust', TRUST, '--once'];
}

/** The run's figure, or an error that says what the child printed. */
function expectOk(what: string, r: ChildRun, readyEvent: string | null): ChildRun {
  if (r.code !== 0 || (readyEvent !== null && r.readyMs === null)) {
    throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim() || JSON.stringify(r.events.at(-1))}`);
  }
  return r;
}

function reported(r: ChildRun, event: string, field: string): number {
  const value = r.events.find((e) => e.event === event)?.[field];
  if (typeof value !== 'number') throw new Error(`no ${field} in the "${event}" line: ${JSON.stringify(r.events)}`);
  return value;
}

// Whether the image's service modules were prepared at build (host/image.ts
// flag PREPARED): boot then loads no instrumenter, the larger part of a
// boot before it did.
function imagePrepared(): string {
  return parseImage(readImageFile(IMAGE)).prepared == null ? 'no (instrumented at boot)' : 'yes (at build)';
}

/** Boots the demo image on `dataDir` and gives it exactly `inputs` counter adds (counter takes frames without a key). */
async function buildLog(dataDir: string, inputs: number, notes: string[]): Promise<number> {
  const server = Server.start(dataDir, DEMO_IMAGE);
  try {
    const { host, port } = await server.address();
    const client = await FrameClient.connect(host, port);
    try {
      const r = await sendWindowed(client, {
        service: 'counter', total: inputs, inFlight: IN_FLIGHT_MAX, payload: () => counterRequest(1, 1n), retryStatus: abi.FRAME_E_BUSY,
      });
      const failed = describeFailures('building the log', r);
      if (failed !== null) notes.push(failed);
      return r.ok / (r.elapsedMs / 1000);
    } finally {
      client.close();
    }
  } finally {
    const code = await server.stop();
    if (code !== 0) throw new Error(`the server that built the log exited ${code}`);
  }
}

async function round1(root: string, logDir: string, index: number, samples: Samples, entries: Set<number>): Promise<void> {
  const node = expectOk('node -e 0', await timeChild(['-e', '0']), null);
  const freshDir = join(root, `fresh-${index}`);
  const fresh = expectOk('boot (fresh)', await timeChild(bootArgs(freshDir), 'ready'), 'ready');
  // Each fresh log preallocates its full size: remove it before the next.
  rmSync(freshDir, { recursive: true, force: true });
  const logged = expectOk('boot (log)', await timeChild(bootArgs(logDir, DEMO_IMAGE), 'ready'), 'ready');
  const replay = expectOk('replay', await timeChild([CLI, 'replay', '--data', logDir], 'replay'), 'replay');
  if (index < WARMUP_ROUNDS) return;
  samples.node_e0_exit.push(node.exitMs);
  samples.boot_fresh_ready.push(fresh.readyMs!);
  samples.boot_fresh_boot.push(reported(fresh, 'ready', 'boot_ms'));
  samples.boot_log_ready.push(logged.readyMs!);
  samples.boot_log_boot.push(reported(logged, 'ready', 'boot_ms'));
  samples.replay_log_exit.push(replay.exitMs);
  samples.replay_log_replay.push(reported(replay, 'replay', 'replay_ms'));
  entries.add(reported(logged, 'ready', 'entries'));
}

function summarize(samples: Samples): Figures {
  const figures: Figures = {};
  const nodeMedian = median(samples.node_e0_exit);
  for (const s of SERIES) {
    figures[medianKey(s)] = round(median(samples[s.id]));
    figures[`${s.id}_ms_p90`] = round(percentile(samples[s.id], 90));
    if (s.vsNode) figures[`${s.id}_vs_node_ratio`] = round(ratio(median(samples[s.id]), nodeMedian), 3);
  }
  return figures;
}

const bench: Bench = {
  name: 'boot',
  title: 'Boot time: qenex boot --once and qenex replay against node -e 0',
  figures: FIGURES,
  requires: MACHINE_FILES,
  async run() {
    const notes: string[] = [];
    const root = tempDir('boot');
    const logDir = join(root, 'log');
    const buildRate = await buildLog(logDir, LOG_INPUTS, notes);
    const samples: Samples = Object.fromEntries(SERIES.map((s) => [s.id, [] as number[]]));
    const entries = new Set<number>();
    for (let i = 0; i < WARMUP_ROUNDS + ROUNDS; i++) await round1(root, logDir, i, samples, entries);
    notes.push('spawn → ready/exit is wall time in this process from spawn() to the line (or exit); ' +
      'boot_ms and replay_ms are what the child reports about itself');
    return {
      figures: summarize(samples),
      params: {
        rounds: ROUNDS, warmup_rounds: WARMUP_ROUNDS, log_inputs: LOG_INPUTS,
        image_services_prepared: imagePrepared(),
        log_entries_at_boot: [...entries].join(','),
        log_build_inputs_per_s: Math.round(buildRate), log_build_in_flight: IN_FLIGHT_MAX,
      },
      notes,
    };
  },
};

export default bench;
