// test/bench/log.bench.ts: durable inputs per second through the command
// log, end to end over loopback TCP, next to a one-fdatasync-per-input loop
// measured in the same run on the same file system.
//
// The server is `qenex boot --listen 127.0.0.1:0` on a fresh data dir (the
// OS picks a free port; the ready line says which). For echo (ECHO_BYTES
// payload) and counter adds it measures one request in flight (latency: each
// input waits for its own fdatasync) and WINDOW in flight (throughput: group
// commit lets inputs that arrive during one batch's write share the next
// batch's fdatasync). The server's counters are not visible from outside, so
// the fdatasyncs are counted from the log itself: each batch is one block
// write with one fdatasync (kernel/log.ts), and entries carry their batch
// number, so the distinct batch numbers written during a phase are its
// fdatasyncs.
//
// The baseline is what a program without group commit would do: for each
// input, write a BASELINE_RECORD_BYTES record at the end of a file and
// fdatasync before the next (node:fs, synchronous). A second baseline writes
// into a preallocated file, as the command log does (its size never changes
// on a write, so fdatasync has no size to flush): the two bracket the cost.

import { closeSync, fdatasyncSync, ftruncateSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FrameClient, counterRequest } from '../../host/client/frames.ts';
import { DEMO_IMAGE, MACHINE_FILES, IN_FLIGHT_MAX, Server, tempDir, sendWindowed, describeFailures, walkLog, percentile, ratio, round, type Bench, type FigureSpec, type Figures, type SendPlan } from './support.ts';

const ECHO_BYTES = 100;
const BASELINE_RECORD_BYTES = 128;
// Group commit wants many inputs waiting while a batch is written; the
// image's requests_in_flight_max (1024) bounds how many.
const WINDOW = IN_FLIGHT_MAX;
// Each phase stops at its count or its time, whichever comes first: counts
// big enough for a stable p99, times that keep `make bench` near 2 minutes
// on a slow disk.
const SINGLE_INPUTS = 2_000;
const SINGLE_MS_MAX = 4_000;
const WINDOW_INPUTS = 30_000;
const WINDOW_MS_MAX = 10_000;
const BASELINE_INPUTS = 5_000;
const BASELINE_MS_MAX = 3_000;
// Preallocation for the second baseline: room for every record.
const BASELINE_PREALLOCATE_BYTES = BASELINE_INPUTS * BASELINE_RECORD_BYTES;
const WARMUP_INPUTS = 2_000;
const LOG_FILE = 'log.qxl';

const PER_S = 'inputs/s';
const P50 = 'p50 ms';
const P99 = 'p99 ms';
const SYNCS = 'fdatasyncs';
const PER_SYNC = 'inputs/fdatasync';
const VS_BASE = '× baseline inputs/s';

interface Phase {
  id: string;
  row: string;
  service: 'echo' | 'counter';
  inFlight: number;
  total: number;
  maxMs: number;
}

const PHASES: Phase[] = [
  { id: 'echo_single', row: `echo ${ECHO_BYTES} B, 1 in flight`, service: 'echo', inFlight: 1, total: SINGLE_INPUTS, maxMs: SINGLE_MS_MAX },
  { id: 'counter_single', row: 'counter add, 1 in flight', service: 'counter', inFlight: 1, total: SINGLE_INPUTS, maxMs: SINGLE_MS_MAX },
  { id: 'echo_window', row: `echo ${ECHO_BYTES} B, ${WINDOW} in flight`, service: 'echo', inFlight: WINDOW, total: WINDOW_INPUTS, maxMs: WINDOW_MS_MAX },
  { id: 'counter_window', row: `counter add, ${WINDOW} in flight`, service: 'counter', inFlight: WINDOW, total: WINDOW_INPUTS, maxMs: WINDOW_MS_MAX },
];
const BASE_APPEND = { id: 'baseline_append', row: `baseline: append ${BASELINE_RECORD_BYTES} B + fdatasync (p50/p99: fdatasync)` };
const BASE_PREALLOC = { id: 'baseline_prealloc', row: `baseline: preallocated file, ${BASELINE_RECORD_BYTES} B + fdatasync (p50/p99: fdatasync)` };

const FIGURES: FigureSpec[] = [
  ...PHASES.flatMap((p) => [
    { key: `${p.id}_inputs_per_s`, row: p.row, col: PER_S },
    { key: `${p.id}_latency_p50_ms`, row: p.row, col: P50 },
    { key: `${p.id}_latency_p99_ms`, row: p.row, col: P99 },
    { key: `${p.id}_fdatasyncs_count`, row: p.row, col: SYNCS },
    { key: `${p.id}_inputs_per_fdatasync_ratio`, row: p.row, col: PER_SYNC },
    { key: `${p.id}_vs_baseline_ratio`, row: p.row, col: VS_BASE },
  ]),
  ...[BASE_APPEND, BASE_PREALLOC].flatMap((b) => [
    { key: `${b.id}_inputs_per_s`, row: b.row, col: PER_S },
    { key: `${b.id}_fdatasync_p50_ms`, row: b.row, col: P50 },
    { key: `${b.id}_fdatasync_p99_ms`, row: b.row, col: P99 },
    { key: `${b.id}_fdatasyncs_count`, row: b.row, col: SYNCS },
  ]),
];

/** Writes records at `offset`, `offset + record`, … each followed by fdatasync; times the fdatasyncs. */
function baselineLoop(path: string, preallocateBytes: number): { inputs: number; elapsedMs: number; syncMs: number[] } {
  const fd = openSync(path, 'w');
  try {
    if (preallocateBytes > 0) { ftruncateSync(fd, preallocateBytes); fsyncSync(fd); }
    const record = Buffer.alloc(BASELINE_RECORD_BYTES, 0x5a);
    const syncMs: number[] = [];
    const started = performance.now();
    let offset = 0;
    while (syncMs.length < BASELINE_INPUTS && performance.now() - started < BASELINE_MS_MAX) {
      if (writeSync(fd, record, 0, record.length, offset) !== record.length) throw new Error(`short write to ${path}`);
      offset += record.length;
      const t0 = performance.now();
      fdatasyncSync(fd);
      syncMs.push(performance.now() - t0);
    }
    return { inputs: syncMs.length, elapsedMs: performance.now() - started, syncMs };
  } finally {
    closeSync(fd);
  }
}

function baselineFigures(id: string, r: ReturnType<typeof baselineLoop>): Figures {
  return {
    [`${id}_inputs_per_s`]: round(r.inputs / (r.elapsedMs / 1000)),
    [`${id}_fdatasync_p50_ms`]: round(percentile(r.syncMs, 50)),
    [`${id}_fdatasync_p99_ms`]: round(percentile(r.syncMs, 99)),
    [`${id}_fdatasyncs_count`]: r.inputs,
  };
}

function plan(p: Phase): SendPlan {
  const echo = Buffer.alloc(ECHO_BYTES, 0x65);
  const add = counterRequest(1, 1n);
  return { service: p.service, total: p.total, inFlight: p.inFlight, maxMs: p.maxMs, payload: () => (p.service === 'echo' ? echo : add) };
}

/** Runs one phase and counts the batches it wrote to the log. */
async function runPhase(client: FrameClient, logPath: string, p: Phase, baselinePerS: number | null,
  notes: string[], params: Record<string, number | string>): Promise<Figures> {
  const before = walkLog(logPath);
  const r = await sendWindowed(client, plan(p));
  const after = walkLog(logPath, before.endOffset);
  const failed = describeFailures(p.row, r);
  if (failed !== null) notes.push(failed);
  const perS = r.ok / (r.elapsedMs / 1000);
  params[`${p.id}_inputs`] = r.ok;
  return {
    [`${p.id}_inputs_per_s`]: round(perS),
    [`${p.id}_latency_p50_ms`]: round(percentile(r.latenciesMs, 50)),
    [`${p.id}_latency_p99_ms`]: round(percentile(r.latenciesMs, 99)),
    [`${p.id}_fdatasyncs_count`]: after.batches,
    [`${p.id}_inputs_per_fdatasync_ratio`]: round(ratio(r.ok, after.batches), 3),
    [`${p.id}_vs_baseline_ratio`]: round(ratio(perS, baselinePerS), 3),
  };
}

async function serverPhases(dataDir: string, baselinePerS: number | null, notes: string[], params: Record<string, number | string>): Promise<Figures> {
  const server = Server.start(dataDir, DEMO_IMAGE); // echo and counter take frames without a key
  let figures: Figures = {};
  try {
    const { host, port } = await server.address();
    const client = await FrameClient.connect(host, port);
    try {
      // Untimed: JIT warm-up on both sides, first touches of the log's pages.
      await sendWindowed(client, { ...plan(PHASES[2]), total: WARMUP_INPUTS });
      for (const p of PHASES) {
        const f = await runPhase(client, join(dataDir, LOG_FILE), p, baselinePerS, notes, params);
        figures = { ...figures, ...f };
      }
    } finally {
      client.close();
    }
  } finally {
    params.server_exit_code = String(await server.stop());
  }
  return figures;
}

const bench: Bench = {
  name: 'log',
  title: 'Command log: durable inputs/s over loopback TCP (group commit) against one fdatasync per input',
  figures: FIGURES,
  requires: MACHINE_FILES,
  async run() {
    const notes: string[] = [];
    const root = tempDir('log');
    const append = baselineLoop(join(root, 'baseline-append.dat'), 0);
    const prealloc = baselineLoop(join(root, 'baseline-prealloc.dat'), BASELINE_PREALLOCATE_BYTES);
    const baselinePerS = append.inputs / (append.elapsedMs / 1000);
    const params: Record<string, number | string> = {
      echo_payload_bytes: ECHO_BYTES, baseline_record_bytes: BASELINE_RECORD_BYTES, window_in_flight: WINDOW,
      single_inputs_max: SINGLE_INPUTS, single_ms_max: SINGLE_MS_MAX, window_inputs_max: WINDOW_INPUTS,
      window_ms_max: WINDOW_MS_MAX, baseline_inputs_max: BASELINE_INPUTS, baseline_ms_max: BASELINE_MS_MAX,
      warmup_inputs: WARMUP_INPUTS,
    };
    const served = await serverPhases(join(root, 'data'), baselinePerS, notes, params);
    notes.push('fdatasyncs of the server are the distinct batch numbers in the log entries a phase wrote ' +
      '(one block write + fdatasync per batch, kernel/log.ts); ticks or entropy entries sharing a batch do not add to it');
    notes.push('× baseline divides inputs/s by the append baseline; latencies are client-side, send → reply');
    return {
      figures: { ...served, ...baselineFigures(BASE_APPEND.id, append), ...baselineFigures(BASE_PREALLOC.id, prealloc) },
      params,
      notes,
    };
  },
};

export default bench;
