// test/bench/snapshots.bench.ts: machine snapshots (host/snapshot.ts,
// kernel/snapshot.ts) of a ledger with one million accounts: what writing
// one costs, what restoring it costs, and what it saves against replaying
// the whole log.
//
// An in-process live machine (the bank image's kernel settings, the ledger
// taking frames directly, accounts_max 1,000,000) gets 1,000,000 accounts in
// create_accounts requests of 8189 over loopback TCP; snapshot_interval_entries
// is set so the first snapshot falls just after them (a few one-transfer
// requests follow until it is written). Figures:
//   capture   copying every memory at the quiescent point (the kernel waits);
//   write     hashing and writing the file, fdatasync, rename (serving goes on);
//   restore   at boot: read + check the newest snapshot (hashes, image, log
//             chain) and load it into the fresh kernel and services;
//   replay    `qenex replay` in-process from the snapshot, and with
//             --no-snapshot (the whole log), for the same data directory.

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { packImage, parseImage } from '../../host/image.ts';
import { Machine } from '../../host/machine.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { account, encodeAccounts, encodeTransfers, transfer, BATCH_EVENTS_MAX } from '../../host/client/ledger.ts';
import { validateManifest, type Manifest } from '../../host/manifest.ts';
import { ROOT, round, tempDir, type Bench, type FigureSpec, type Figures } from './support.ts';

const ACCOUNTS = 1_000_000;
const REQUESTS = Math.ceil(ACCOUNTS / BATCH_EVENTS_MAX);
// Entries before the snapshot: genesis + the account requests + a little
// slack (entropy entries); the filler requests reach it.
const INTERVAL = REQUESTS + 4;
const FILLER_MAX = 64;

const MS = 'ms';
const FIGURES: FigureSpec[] = [
  { key: 'snapshot_capture_ms', row: 'snapshot: capture (kernel paused)', col: MS },
  { key: 'snapshot_write_ms', row: 'snapshot: write (hash, write, fdatasync, rename)', col: MS },
  { key: 'snapshot_total_ms', row: 'snapshot: capture + write', col: MS },
  { key: 'snapshot_restore_ms', row: 'restore at boot (read, check, load)', col: MS },
  { key: 'replay_from_snapshot_ms', row: 'qenex replay from the snapshot', col: MS },
  { key: 'replay_full_ms', row: 'qenex replay --no-snapshot (whole log)', col: MS },
];

function manifest(): Manifest {
  const m = validateManifest(JSON.parse(readFileSync(join(ROOT, 'images/bank/manifest.json'), 'utf8')));
  m.kernel.snapshot_interval_entries = INTERVAL;
  const ledger = m.services.find((s) => s.name === 'ledger')!;
  if (!ledger.caps.includes('net')) ledger.caps = ['net', ...ledger.caps];
  ledger.config = { accounts_max: ACCOUNTS, transfers_max: 100_000, pending_max: 10_000, history_max: 100_000 };
  return m;
}

async function run(figures: Figures, notes: string[], params: Record<string, number | string>): Promise<void> {
  const m = manifest();
  const services = new Map<string, Uint8Array>();
  for (const s of m.services) services.set(s.name, new Uint8Array(readFileSync(join(ROOT, 'build/services', `${s.module}.wasm`))));
  const imageBytes = packImage({ manifest: m, kernel: new Uint8Array(readFileSync(join(ROOT, 'build/kernel.wasm'))), services });
  const image = parseImage(imageBytes);
  const dir = tempDir('bench-snapshots');
  const dataDir = join(dir, 'data');
  try {
    const written: Record<string, unknown>[] = [];
    const machine = await Machine.boot({
      image, imageBytes, dataDir, mode: 'live',
      onLine: (l) => { if (l.includes('"snapshot_written"')) written.push(JSON.parse(l) as Record<string, unknown>); },
    });
    const client = await FrameClient.connect('127.0.0.1', (await machine.listen('127.0.0.1', 0)).port);
    for (let r = 0; r < REQUESTS; r++) {
      const first = r * BATCH_EVENTS_MAX;
      const n = Math.min(BATCH_EVENTS_MAX, ACCOUNTS - first);
      await client.call('ledger', encodeAccounts(Array.from({ length: n }, (_, i) => account({ id: BigInt(first + i + 1), ledger: 1, code: 1 }))), 60_000);
    }
    for (let i = 1; written.length === 0 && i <= FILLER_MAX; i++) {
      await client.call('ledger', encodeTransfers([transfer({ id: BigInt(i), debit_account_id: 1n, credit_account_id: 2n, amount: 1n, ledger: 1, code: 1 })]), 60_000);
      await new Promise((r) => setTimeout(r, 5));
    }
    client.close();
    await machine.stop(); // waits for a snapshot still being written
    if (written.length === 0) throw new Error(`no snapshot was written after ${REQUESTS} account requests and ${FILLER_MAX} more`);
    const w = written[0];
    figures.snapshot_capture_ms = round(Number(w.capture_ms));
    figures.snapshot_write_ms = round(Number(w.write_ms));
    figures.snapshot_total_ms = round(Number(w.capture_ms) + Number(w.write_ms));
    params.snapshot_bytes = Number(w.bytes);
    params.snapshot_entries = Number(w.entries);
    params.ledger_memory_bytes = machine.services.find((s) => s.name === 'ledger')!.memoryBytes().length;
    params.kernel_memory_bytes = machine.kernel.x.memory.buffer.byteLength;

    const replay = async (snapshots: boolean) => {
      const started = performance.now();
      const r = await Machine.boot({ image, imageBytes, dataDir, mode: 'replay', snapshots });
      await r.stop();
      return { ms: performance.now() - started, hash: r.stateHash(), entries: r.entriesApplied(), restored: r.restoredSnapshot };
    };
    const full = await replay(false);
    const fromSnap = await replay(true);
    if (fromSnap.restored === null) throw new Error('the replay did not start from the snapshot');
    if (fromSnap.hash !== full.hash) throw new Error('snapshot + replay disagrees with the full replay');
    figures.snapshot_restore_ms = round(fromSnap.restored.restoreMs);
    figures.replay_from_snapshot_ms = round(fromSnap.ms);
    figures.replay_full_ms = round(full.ms);
    params.log_entries = full.entries;
    notes.push(`snapshot of ${(Number(w.bytes) / 2 ** 20).toFixed(1)} MiB at entry ${String(w.entries)} of ${full.entries}; state hashes of both replays equal`);
    notes.push('both replays include booting the image (instantiating kernel and services, qx_init of every service); the restore row is the snapshot part alone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const bench: Bench = {
  name: 'snapshots',
  title: `Machine snapshots: a ledger with ${ACCOUNTS.toLocaleString('en-US')} accounts`,
  figures: FIGURES,
  requires: [join(ROOT, 'build/kernel.wasm'), ...['ledger', 'echo', 'counter', 'gateway'].map((s) => join(ROOT, 'build/services', `${s}.wasm`))],
  async run() {
    const figures: Figures = {};
    const notes: string[] = [];
    const params: Record<string, number | string> = { accounts: ACCOUNTS, account_requests: REQUESTS, snapshot_interval_entries: INTERVAL };
    await run(figures, notes, params);
    return { figures, params, notes };
  },
};

export default bench;
