// test/bench/encryption.bench.ts: the price of encryption at rest.
//
//   - Durable ledger throughput, plain vs sealed, in the same run: two
//     images identical but for the manifest's "storage" section, each booted
//     on a fresh data directory (`qenex boot --listen`), an operator key
//     made first (`qenex keys create --data`), then ledger transfers through
//     the gateway (binary protocol, TRANSFERS_PER_BATCH per request,
//     BATCHES_IN_FLIGHT requests outstanding), and counter adds with
//     IN_FLIGHT_MAX outstanding (many small group commits). Each transfer
//     phase stops at TRANSFER_MS or TRANSFERS_MAX, whichever comes first.
//     The sealed image's data key is wrapped by an AES key on a throw-away
//     SoftHSM2 token.
//   - The backend alone (in process, no fdatasync): appends of APPEND_BYTES
//     records through the plain and the encrypted backend, MB/s of log bytes,
//     so the CPU cost of AES-GCM + read-modify-write per commit is visible.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FrameClient, counterRequest } from '../../host/client/frames.ts';
import { LedgerClient, account, transfer, id } from '../../host/client/ledger.ts';
import { openBlockBackend } from '../../host/devices/block-backend.ts';
import { DataCipher } from '../../host/devices/encrypted-backend.ts';
import { validateManifest, type Manifest } from '../../host/manifest.ts';
import { demoManifest, event, makeImage, removeDir, runCli, Server as TestServer } from '../support/helpers.ts';
import { makeSoftHsmToken } from '../support/softhsm.ts';
import {
  IN_FLIGHT_MAX, ROOT, describeFailures, ratio, round, sendWindowed, tempDir,
  type Bench, type FigureSpec, type Figures,
} from './support.ts';

const KEY_LABEL = 'bench-data';
const TRANSFERS_PER_BATCH = 100;
const BATCHES_IN_FLIGHT = 8;
const TRANSFER_MS = 6_000;
// Below the bank image's transfers_max (1,000,000): a full table would turn
// the rest of a fast phase into refusals.
const TRANSFERS_MAX = 600_000;
const ADDS = 40_000;
const ADDS_MS_MAX = 6_000;
const APPEND_BYTES = 512;
const APPEND_COUNT = 20_000;
const MODES = ['plain', 'sealed'] as const;
type Mode = (typeof MODES)[number];

const FIGURES: FigureSpec[] = [
  ...MODES.flatMap((m) => [
    { key: `transfers_${m}_per_s`, row: `ledger transfers (${TRANSFERS_PER_BATCH}/request, ${BATCHES_IN_FLIGHT} in flight), ${m}`, col: 'transfers/s' },
    { key: `adds_${m}_inputs_per_s`, row: `counter adds (${IN_FLIGHT_MAX} in flight), ${m}`, col: 'inputs/s' },
    { key: `append_${m}_mb_per_s`, row: `backend appends of ${APPEND_BYTES} B (no fdatasync), ${m}`, col: 'MB/s' },
  ]),
  { key: 'transfers_sealed_vs_plain_ratio', row: `ledger transfers (${TRANSFERS_PER_BATCH}/request, ${BATCHES_IN_FLIGHT} in flight), sealed`, col: '× plain' },
  { key: 'adds_sealed_vs_plain_ratio', row: `counter adds (${IN_FLIGHT_MAX} in flight), sealed`, col: '× plain' },
  { key: 'append_sealed_vs_plain_ratio', row: `backend appends of ${APPEND_BYTES} B (no fdatasync), sealed`, col: '× plain' },
];

function manifestFor(mode: Mode): Manifest {
  const m = demoManifest();
  if (mode === 'plain') return m;
  return validateManifest({ ...m, storage: { encryption: 'aes-256-gcm', key_label: KEY_LABEL } });
}

async function transferRate(ledger: LedgerClient, notes: string[], mode: Mode): Promise<number> {
  const [a, b] = [id(), id()];
  await ledger.createAccounts([account({ id: a, ledger: 1, code: 10 }), account({ id: b, ledger: 1, code: 10 })]);
  const started = performance.now();
  let ok = 0;
  let failed = 0;
  let sent = 0;
  const worker = async () => {
    while (performance.now() - started < TRANSFER_MS && sent < TRANSFERS_MAX) {
      sent += TRANSFERS_PER_BATCH;
      const batch = Array.from({ length: TRANSFERS_PER_BATCH }, () =>
        transfer({ id: id(), debit_account_id: a, credit_account_id: b, amount: 1n, ledger: 1, code: 1 }));
      const results = await ledger.createTransfers(batch);
      for (const r of results) if (r.result === 0) ok++; else failed++;
    }
  };
  await Promise.all(Array.from({ length: BATCHES_IN_FLIGHT }, worker));
  if (failed > 0) notes.push(`${mode}: ${failed} transfers not ok (not counted)`);
  return ok / ((performance.now() - started) / 1000);
}

async function machinePhase(mode: Mode, figures: Figures, notes: string[]): Promise<void> {
  const img = makeImage(`bench-enc-${mode}`, manifestFor(mode));
  const data = join(img.dir, 'data');
  try {
    const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
    if (first.code !== 0) throw new Error(`${mode}: first boot failed: ${first.stderr}`);
    const made = runCli(['keys', 'create', '--data', data, '--trust', img.pubPath, '--role', 'operator']);
    if (made.code !== 0) throw new Error(`${mode}: keys create failed: ${made.stderr}`);
    const key = String(event(made.events, 'key_created')!.key);
    const server = TestServer.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
    try {
      const { host, port } = await server.address();
      const frames = await FrameClient.connect(host, port);
      await frames.authenticate(key);
      figures[`transfers_${mode}_per_s`] = round(await transferRate(new LedgerClient(frames, 'gateway'), notes, mode));
      frames.close();
      const counter = await FrameClient.connect(host, port);
      await counter.authenticate(key);
      const r = await sendWindowed(counter, {
        service: 'counter', total: ADDS, inFlight: IN_FLIGHT_MAX, maxMs: ADDS_MS_MAX,
        payload: (i) => counterRequest(1, BigInt(i + 1)),
      });
      counter.close();
      const failed = describeFailures(`${mode} adds`, r);
      if (failed !== null) notes.push(failed);
      figures[`adds_${mode}_inputs_per_s`] = round(r.ok / (r.elapsedMs / 1000));
    } finally {
      await server.kill('SIGTERM');
    }
  } finally {
    removeDir(img.dir);
  }
}

function appendRate(mode: Mode): number {
  const dir = tempDir('bench-enc-append');
  const layer = mode === 'sealed' ? new DataCipher(randomBytes(32)) : undefined;
  const file = openBlockBackend(join(dir, 'log.qxl'), { create: true, lock: false, readOnly: false, layer });
  const record = randomBytes(APPEND_BYTES);
  const started = performance.now();
  for (let i = 0; i < APPEND_COUNT; i++) file.writeAt(i * APPEND_BYTES, record);
  const seconds = (performance.now() - started) / 1000;
  file.close();
  removeDir(dir);
  return (APPEND_COUNT * APPEND_BYTES) / seconds / 1e6;
}

const bench: Bench = {
  name: 'encryption',
  title: 'Encryption at rest: sealed vs plain data directory',
  figures: FIGURES,
  requires: [join(ROOT, 'dist/qenex.js'), join(ROOT, 'build/kernel.wasm'), '/usr/lib/softhsm/libsofthsm2.so'],
  async run() {
    const notes: string[] = [];
    const params: Record<string, number | string> = {
      transfers_per_batch: TRANSFERS_PER_BATCH, batches_in_flight: BATCHES_IN_FLIGHT, transfer_ms: TRANSFER_MS, transfers_max: TRANSFERS_MAX,
      adds_max: ADDS, adds_ms_max: ADDS_MS_MAX, append_bytes: APPEND_BYTES, append_count: APPEND_COUNT,
    };
    const figures: Figures = {};
    const token = makeSoftHsmToken('qenex-bench-enc');
    try {
      for (const mode of MODES) await machinePhase(mode, figures, notes);
    } finally {
      token.remove();
    }
    for (const mode of MODES) figures[`append_${mode}_mb_per_s`] = round(appendRate(mode));
    figures.transfers_sealed_vs_plain_ratio = round(ratio(figures.transfers_sealed_per_s, figures.transfers_plain_per_s), 3);
    figures.adds_sealed_vs_plain_ratio = round(ratio(figures.adds_sealed_inputs_per_s, figures.adds_plain_inputs_per_s), 3);
    figures.append_sealed_vs_plain_ratio = round(ratio(figures.append_sealed_mb_per_s, figures.append_plain_mb_per_s), 3);
    notes.push('sealed: every commit re-encrypts the log sector(s) it touches (4 KiB AES-256-GCM records, read-modify-write, two slots per sector); the data key is unwrapped once at boot, the HSM is not on the write path');
    notes.push('machine phases boot images identical but for manifest "storage", one after the other in the same run, on the same file system');
    return { figures, params, notes };
  },
};

export default bench;
