// test/bench/storage/run.ts: one run of the storage benchmark (what and why:
// test/bench/storage.bench.ts), shared by `make bench` (10 M transfers) and
// `make bench-scale` (100 M, ./scale.ts). Phases, one after another so that
// none shares the two cores with another:
//   boot fresh   `qenex boot --once` of the grid image on an empty data dir (BOOT_ROUNDS, median);
//   memory peer  the same workload on a ledger all in memory (the bank's kind of config), shorter;
//   grid run     the ledger on its grid: accounts, funding, then every transfer, durable;
//   disk         the grid file's allocated bytes and the command log's written bytes;
//   boot after   `qenex boot --once` on that data dir (the newest snapshot, then the log after it);
//   cold reads   a restarted machine, lookups of random ids older than the window, one per request.

import { mkdirSync, rmSync, statSync } from 'node:fs';
import { listSegments } from '../../../host/devices/segmented-log.ts';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { FrameClient } from '../../../host/client/frames.ts';
import { gridFileName } from '../../../host/devices/grid.ts';
import { median, percentile, ratio, round, tempDir, walkLog, type Figures } from '../support.ts';
import { writeBenchImage } from '../ledger/image.ts';
import { ACCOUNTS, BATCH_EVENTS, LEDGER_ACCOUNTS } from '../ledger/workload.ts';
import { answeredBy, bootToReady, coldLookups, listenAddress, sendTransfers, setUp, storageManifest, type LedgerShape, type Run } from './drive.ts';

/** The newest transfers the grid ledger keeps in memory (a power of two). */
export const WINDOW = 1 << 20;
/** The smallest power of two the ledger's rule allows: 2 * window + 2 * pending_max + 2 * min(window, 8189). */
function historyFor(window: number, pendingMax: number): number {
  const least = 2 * window + 2 * pendingMax + 2 * Math.min(window, BATCH_EVENTS);
  let h = 1;
  while (h < least) h *= 2;
  return h;
}
const PENDING_MAX = 1;
/** 4096 blocks of 64 KiB: a 256 MiB cache. */
export const CACHE_BLOCKS = 4096;
/** 64 KiB blocks the grid may address per 10 M transfers (16 GiB; the file is sparse, only written blocks take disk). */
const GRID_BLOCKS_PER_10M = 262_144;
// The ring (128 B a transfer), the id table, the history ring (4 Mi records) and the cache: ~0.8 GB; 2 GiB of pages hold it.
const GRID_MEMORY_PAGES_MAX = 32_768;
const MEMORY_MEMORY_PAGES_MAX = 16_384;
// The bank image's step: the log file grows this much at a time as it fills.
const LOG_PREALLOCATE_BYTES = 256 * 1024 * 1024;
// One batch in flight by default, as the first runs measured (with 8 or 16 the host once closed the
// connection partway through the 10M run, frame_timeout; fixed since: see the notes in storage.bench.ts).
// QX_STORAGE_IN_FLIGHT sets another count.
export const IN_FLIGHT = inFlightFromEnv();
function inFlightFromEnv(): number {
  const raw = process.env.QX_STORAGE_IN_FLIGHT;
  const n = raw === undefined || raw === '' ? 1 : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error(`QX_STORAGE_IN_FLIGHT=${raw}: an integer from 1 to 16`);
  return n;
}
// A machine snapshot, the ledger's checkpoint, every 32 log entries: some 262,000 transfers in batches of
// 8189, so a boot replays at most about that many (QX_STORAGE_SNAPSHOT_ENTRIES sets another count).
export const SNAPSHOT_ENTRIES = Number(process.env.QX_STORAGE_SNAPSHOT_ENTRIES || 32);
const BOOT_ROUNDS = 3;
const SEED = 0x9e3779b9;
const MEMORY_SEED = 0x85ebca6b;
const LOOKUP_SEED = 0x6c078965;
const LOG_FILE = 'log.qxl';
const MILLION = 1_000_000;

export interface StoragePlan {
  transfers: number;
  /** Transfers for the in-memory peer; 0 skips it. */
  memoryTransfers: number;
  lookups: number;
  /** Where progress lines go (stderr: the runner prints the table at the end). */
  log: (line: string) => void;
}

export interface StorageOutput { figures: Figures; params: Record<string, number | string>; notes: string[] }

export function gridShape(transfers: number): LedgerShape {
  const gridBlocks = GRID_BLOCKS_PER_10M * Math.max(1, Math.ceil(transfers / (10 * MILLION)));
  return {
    grid: true, memoryPagesMax: GRID_MEMORY_PAGES_MAX, logPreallocateBytes: LOG_PREALLOCATE_BYTES, snapshotIntervalEntries: SNAPSHOT_ENTRIES,
    config: {
      accounts_max: LEDGER_ACCOUNTS, transfers_max: WINDOW, pending_max: PENDING_MAX, history_max: historyFor(WINDOW, PENDING_MAX),
      grid_blocks: gridBlocks, cache_blocks: CACHE_BLOCKS,
    },
  };
}

function memoryShape(transfers: number): LedgerShape {
  return {
    grid: false, memoryPagesMax: MEMORY_MEMORY_PAGES_MAX, logPreallocateBytes: LOG_PREALLOCATE_BYTES, snapshotIntervalEntries: 0,
    config: { accounts_max: LEDGER_ACCOUNTS, transfers_max: ACCOUNTS + transfers + BATCH_EVENTS, pending_max: 1, history_max: 1 },
  };
}

const BOOT_TIMEOUT_BASE_MS = 120_000;
/** Generous: a boot without a usable snapshot replays the whole log; 20 k transfers/s would be very slow. */
function bootTimeoutMs(transfers: number): number {
  return BOOT_TIMEOUT_BASE_MS + transfers / 20;
}

function failuresNote(what: string, run: Run): string | null {
  if (run.failures.size === 0) return null;
  const parts = [...run.failures].map(([code, n]) => (code < 0 ? `${n} requests refused with frame status ${-code}` : `${n} × result ${code}`));
  return `${what}: not created: ${parts.join(', ')} (not counted in the rate)`;
}

/** Boots `--listen`, sets up, sends, stops cleanly. */
async function serveAndSend(image: { imagePath: string; pubPath: string }, dataDir: string, transfers: number, seed: number,
  plan: StoragePlan, what: string): Promise<{ run: Run; bootMs: number; snapshots: Record<string, number>[] }> {
  const { server, readyMs, ready } = await bootToReady(image.imagePath, image.pubPath, dataDir, ['--listen', '127.0.0.1:0'], bootTimeoutMs(0));
  const snapshots: Record<string, number>[] = [];
  server.onLine((line) => {
    if (!line.includes('"snapshot_written"')) return;
    try { snapshots.push(JSON.parse(line) as Record<string, number>); } catch { /* not an event line */ }
  });
  try {
    const { host, port } = listenAddress(ready);
    const frames = await FrameClient.connect(host, port);
    try {
      await setUp(frames);
      const run = await sendTransfers(frames, transfers, IN_FLIGHT, seed, server.proc.pid,
        (created, ms) => plan.log(`${what}: ${created.toLocaleString('en-US')} transfers, ${Math.round(created / (ms / 1000)).toLocaleString('en-US')} tr/s so far`));
      return { run, bootMs: readyMs, snapshots };
    } finally {
      frames.close();
    }
  } catch (e) {
    // What the server said last is the finding (a trap, a full grid, a stop): it goes with the error.
    const code = server.running ? 'running' : `exit ${server.proc.exitCode} signal ${server.proc.signalCode}`;
    throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}; server ${code}; its last output:\n` +
      `${server.stdout.slice(-3000)}\n${server.stderr.slice(-3000)}`);
  } finally {
    // A clean stop flushes; the grid's writes are behind the log, so give it time.
    await server.stop('SIGTERM', 120_000);
  }
}

export async function runStorage(plan: StoragePlan): Promise<StorageOutput> {
  const notes: string[] = [];
  const figures: Figures = {};
  const shape = gridShape(plan.transfers);
  const params: Record<string, number | string> = {
    transfers: plan.transfers, accounts: ACCOUNTS, batch_events: BATCH_EVENTS, in_flight: IN_FLIGHT,
    ...Object.fromEntries(Object.entries(shape.config).map(([k, v]) => [`ledger_${k}`, Number(v)])),
    ledger_memory_pages_max: shape.memoryPagesMax, log_preallocate_bytes: LOG_PREALLOCATE_BYTES,
    memory_peer_transfers: plan.memoryTransfers, cold_lookups: plan.lookups, loadavg_1m_at_start: loadavg()[0].toFixed(2),
  };
  const dir = tempDir('storage');
  mkdirSync(join(dir, 'image'));
  const image = writeBenchImage(join(dir, 'image'), storageManifest(shape));

  // Boot, fresh: the same image on an empty dir each round.
  const fresh: number[] = [];
  for (let i = 0; i < BOOT_ROUNDS; i++) {
    const data = join(dir, `fresh-${i}`);
    const b = await bootToReady(image.imagePath, image.pubPath, data, ['--once'], bootTimeoutMs(0));
    fresh.push(b.readyMs);
    await b.server.finish(BOOT_TIMEOUT_BASE_MS);
    rmSync(data, { recursive: true, force: true });
  }
  figures.boot_ms_fresh = round(median(fresh));

  if (plan.memoryTransfers > 0) {
    mkdirSync(join(dir, 'memory-image'));
    const memoryImage = writeBenchImage(join(dir, 'memory-image'), storageManifest(memoryShape(plan.memoryTransfers)));
    const data = join(dir, 'memory-data');
    const { run } = await serveAndSend(memoryImage, data, plan.memoryTransfers, MEMORY_SEED, plan, 'in-memory peer');
    rmSync(data, { recursive: true, force: true });
    figures.memory_e2e_tps = round(run.transfers / (run.elapsedMs / 1000));
    const n = failuresNote('in-memory peer', run);
    if (n !== null) notes.push(n);
  }

  const data = join(dir, 'data');
  params.loadavg_1m_at_grid_run = loadavg()[0].toFixed(2);
  const { run, bootMs, snapshots } = await serveAndSend(image, data, plan.transfers, SEED, plan, 'grid run');
  params.boot_listen_ms_fresh = Math.round(bootMs);
  // Checkpoints during the run: how much of the ledger's memory each wrote, and how long the capture held the machine.
  params.snapshot_interval_entries = SNAPSHOT_ENTRIES;
  params.snapshots_written = snapshots.length;
  if (snapshots.length > 0) {
    params.snapshot_capture_ms_max = Math.round(Math.max(...snapshots.map((x) => x.capture_ms)));
    params.snapshot_write_ms_max = Math.round(Math.max(...snapshots.map((x) => x.write_ms)));
    params.snapshot_page_bytes_mean = Math.round(snapshots.reduce((a, x) => a + x.page_bytes, 0) / snapshots.length);
    params.snapshot_paged_state_bytes_last = snapshots[snapshots.length - 1].paged_state_bytes;
  }
  const n = failuresNote('grid run', run);
  if (n !== null) notes.push(n);
  params.run_seconds = round(run.elapsedMs / 1000, 4) ?? 'n/a';
  figures.e2e_tps = round(run.transfers / (run.elapsedMs / 1000));
  const first = Math.min(MILLION, plan.transfers);
  const firstMs = answeredBy(run, first);
  const lastFromMs = answeredBy(run, plan.transfers - first);
  figures.first_million_tps = round(first / (firstMs / 1000));
  figures.last_million_tps = round(first / ((run.elapsedMs - lastFromMs) / 1000));
  figures.last_million_ratio = round(ratio(figures.last_million_tps, figures.first_million_tps), 3);
  figures.rss_bytes_run = run.peakRssBytes;
  figures.e2e_batch_p50_ms = round(percentile(run.latenciesMs, 50));
  figures.e2e_batch_p99_ms = round(percentile(run.latenciesMs, 99));
  figures.e2e_batch_max_ms = round(Math.max(...run.latenciesMs));
  // Rate per million, for the notes: where the rate moves as the grid fills.
  const perMillion: string[] = [];
  for (let m = 0; m + MILLION <= plan.transfers; m += MILLION) {
    const a = m === 0 ? 0 : answeredBy(run, m);
    perMillion.push(Math.round(MILLION / ((answeredBy(run, m + MILLION) - a) / 1000)).toLocaleString('en-US'));
  }
  notes.push(`grid run, tr/s per million transfers in order: ${perMillion.join(', ')}`);

  // Disk: blocks the grid file actually holds (sparse), and the log's entries (the file grows in preallocation steps).
  const grid = statSync(join(data, gridFileName('ledger')));
  const logPath = join(data, LOG_FILE);
  const logWalk = walkLog(logPath);
  figures.grid_bytes = grid.blocks * 512;
  figures.log_bytes = logWalk.endOffset;
  figures.disk_bytes_per_transfer = round((grid.blocks * 512 + logWalk.endOffset) / plan.transfers);
  params.grid_file_size_bytes = grid.size;
  // Every segment file of the log (host/devices/segmented-log.ts), log.qxl the first.
  params.log_file_allocated_bytes = listSegments(data).reduce((sum, s) => sum + statSync(join(data, s.name)).blocks * 512, 0);
  params.log_entries = logWalk.entries;

  // Boot after the run: the newest snapshot (the ledger's checkpoint), then the log after it.
  params.loadavg_1m_at_boot = loadavg()[0].toFixed(2);
  const after = await bootToReady(image.imagePath, image.pubPath, data, ['--once'], bootTimeoutMs(plan.transfers));
  figures.boot_ms_10m = round(after.readyMs);
  await after.server.finish(bootTimeoutMs(plan.transfers));
  figures.boot_10m_vs_fresh_ratio = round(ratio(figures.boot_ms_10m, figures.boot_ms_fresh), 3);

  // Cold reads: a machine restarted (its ledger cache holds what the boot's replay touched last, the newest blocks).
  const cold = await bootToReady(image.imagePath, image.pubPath, data, ['--listen', '127.0.0.1:0'], bootTimeoutMs(plan.transfers));
  params.boot_listen_ms_after_run = Math.round(cold.readyMs);
  try {
    const { host, port } = listenAddress(cold.ready);
    const frames = await FrameClient.connect(host, port);
    try {
      const newestOld = Math.floor((plan.transfers - WINDOW) / BATCH_EVENTS) - 1;
      params.cold_lookup_requests_drawn_from = `1..${newestOld}`;
      const ms = await coldLookups(frames, plan.lookups, newestOld, LOOKUP_SEED);
      figures.cold_lookup_p50_ms = round(percentile(ms, 50));
      figures.cold_lookup_p99_ms = round(percentile(ms, 99));
    } finally {
      frames.close();
    }
  } finally {
    await cold.server.stop('SIGTERM', 120_000);
  }
  rmSync(data, { recursive: true, force: true });
  return { figures, params, notes };
}
