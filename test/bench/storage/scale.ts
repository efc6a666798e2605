// test/bench/storage/scale.ts: `make bench-scale`, opt-in (not part of make
// test or make bench): the storage benchmark (test/bench/storage.bench.ts)
// with 100,000,000 transfers, the server's resident set sampled all along.
// It checks the free disk first and refuses with a message when the run
// would not fit; it merges its figures into build/bench/storage.json under
// "scale", with rss_bytes_100m also at the top level (and in "figures"), and
// keeps the 10 M run's keys; its data dir is removed at the end, whatever
// happened.
//
//   QX_STORAGE_SCALE_TRANSFERS=20000000   a smaller scale run (default 100,000,000; rss_bytes_100m is then that run's)
//   QX_STORAGE_LOOKUPS=1000               cold lookups after the run

import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, cleanup, cleanupSync, missingFiles } from '../support.ts';
import bench, { envCount, storageNotes, TIGERBEETLE_PUBLISHED_TPS, TRANSFERS_LEAST } from '../storage.bench.ts';
import { runStorage } from './run.ts';

const OUT = join(ROOT, 'build/bench/storage.json');
const SCALE_TRANSFERS = 100_000_000;
// Per transfer, when no 10 M run has measured it: the log's 128-byte record and its share of headers, the grid's trees.
const BYTES_PER_TRANSFER_GUESS = 600;
// Room on top: compaction holds old and new tables at once, and the machine needs some disk left over.
const DISK_MARGIN = 1.5;
const DISK_SPARE_BYTES = 4 * 1024 ** 3;

type Json = Record<string, unknown>;

function readReport(): Json | null {
  if (!existsSync(OUT)) return null;
  try { return JSON.parse(readFileSync(OUT, 'utf8')) as Json; } catch { return null; }
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

async function main(): Promise<number> {
  process.on('exit', cleanupSync);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) process.once(signal, () => { cleanupSync(); process.exit(code); });
  const missing = missingFiles(bench.requires);
  if (missing.length > 0) { process.stderr.write(`bench-scale: missing ${missing.join(', ')} (make build image)\n`); return 1; }
  const transfers = envCount('QX_STORAGE_SCALE_TRANSFERS', SCALE_TRANSFERS, TRANSFERS_LEAST);
  const previous = readReport();
  const measured = previous?.disk_bytes_per_transfer;
  const perTransfer = typeof measured === 'number' && measured > 0 ? measured : BYTES_PER_TRANSFER_GUESS;
  const need = transfers * perTransfer * DISK_MARGIN + DISK_SPARE_BYTES;
  const fs = statfsSync(tmpdir());
  const free = fs.bavail * fs.bsize;
  if (free < need) {
    process.stderr.write(`bench-scale: refused: ${transfers.toLocaleString('en-US')} transfers need about ${gib(need)} free in ${tmpdir()} ` +
      `(${perTransfer} bytes a transfer${perTransfer === measured ? ', as the last make bench measured' : ', a guess: run make bench first'}, ` +
      `× ${DISK_MARGIN}, + ${gib(DISK_SPARE_BYTES)}), and ${gib(free)} is free; set TMPDIR to a bigger disk or QX_STORAGE_SCALE_TRANSFERS lower\n`);
    return 2;
  }
  process.stdout.write(`bench-scale: ${transfers.toLocaleString('en-US')} transfers; ${gib(free)} free, about ${gib(need)} needed\n`);
  const started = performance.now();
  let out;
  try {
    out = await runStorage({
      transfers, memoryTransfers: 0, lookups: envCount('QX_STORAGE_LOOKUPS', 1_000, 1),
      log: (line) => process.stdout.write(`  scale: ${line}\n`),
    });
  } finally {
    await cleanup();
  }
  const { figures, params, notes } = out;
  figures.e2e_vs_tigerbeetle_ratio = Math.round(((figures.e2e_tps ?? 0) / TIGERBEETLE_PUBLISHED_TPS) * 1000) / 1000;
  const scale = {
    started_at: new Date(Date.now() - (performance.now() - started)).toISOString(), duration_ms: Math.round(performance.now() - started),
    params, figures, notes: [...notes, ...storageNotes(transfers), 'boot_ms_10m here is the boot after this run\'s transfers'],
  };
  const report: Json = previous ?? { name: 'storage', status: 'scale only', figures: {} };
  report.scale = scale;
  report.rss_bytes_100m = figures.rss_bytes_run;
  report.figures = { ...(report.figures as Json | undefined ?? {}), rss_bytes_100m: figures.rss_bytes_run };
  mkdirSync(join(ROOT, 'build/bench'), { recursive: true });
  writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
  for (const [k, v] of Object.entries(figures)) process.stdout.write(`  ${k} = ${v === null ? 'n/a' : v.toLocaleString('en-US')}\n`);
  process.stdout.write(`  params: ${Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
  for (const n of notes) process.stdout.write(`  note: ${n}\n`);
  process.stdout.write(`  rss_bytes_100m = ${figures.rss_bytes_run} -> build/bench/storage.json (scale)\n`);
  return 0;
}

process.exitCode = await main();
