// test/support/grid-ledger.ts: what the end-to-end tests of a ledger on its
// grid share (test/integration/ledger-grid.test.ts, ledger-checkpoint.test.ts):
// the image (the demo image with the ledger on a grid, read through the log),
// a served machine with a binary-protocol client, and a workload whose
// history they can check: transfer n moves 1 + n % 500 from account
// 1 + n % 8 to account 1 + (n + 3) % 8, with user_data_64 = n.

import * as assert from 'uvu/assert';
import { FrameClient } from '../../host/client/frames.ts';
import { LedgerClient, accountFilter, createTransferResultName, transfer, type Transfer } from '../../host/client/ledger.ts';
import { directLedgerManifest, makeImage, Server, type TestImage } from './helpers.ts';
import type { JsonObject, Manifest } from '../../host/manifest.ts';

/** Puts the manifest's ledger on a grid with `config`: it answers through the log (no "read"), its grid needs "storage". */
export function ledgerOnGrid(manifest: Manifest, config: JsonObject): Manifest {
  const ledger = manifest.services.find((s) => s.name === 'ledger')!;
  ledger.caps = [...ledger.caps.filter((c) => c !== 'read'), 'storage'];
  ledger.memory_pages_max = 32768;
  ledger.config = config;
  return manifest;
}

/** The demo image with its ledger on a grid of 4 GiB (sparse) and the given window and kernel settings. */
export function gridLedgerImage(name: string, config: { transfers_max: number; history_max: number; cache_blocks: number }, snapshotIntervalEntries = 0): TestImage {
  const manifest = directLedgerManifest();
  if (snapshotIntervalEntries > 0) manifest.kernel = { ...manifest.kernel, snapshot_interval_entries: snapshotIntervalEntries };
  return makeImage(name, ledgerOnGrid(manifest, { accounts_max: 1024, pending_max: 1024, grid_blocks: 65536, prefault: false, events: true, ...config }));
}

export interface Served { server: Server; frames: FrameClient; ledger: LedgerClient }

export async function serveLedger(img: TestImage, data: string): Promise<Served> {
  const server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  const { host, port } = await server.address();
  const frames = await FrameClient.connect(host, port);
  return { server, frames, ledger: new LedgerClient(frames) };
}

export function debitOf(n: number): bigint { return BigInt(1 + (n % 8)); }
export function creditOf(n: number): bigint { return BigInt(1 + ((n + 3) % 8)); }

/** Transfers first .. first + size - 1 of the workload. */
export function workloadBatch(first: number, size: number): Transfer[] {
  return Array.from({ length: size }, (_, i) => {
    const n = first + i;
    return transfer({ id: BigInt(n), debit_account_id: debitOf(n), credit_account_id: creditOf(n), amount: BigInt(1 + (n % 500)), ledger: 1, code: 7, user_data_64: BigInt(n) });
  });
}

/** Every transfer of account 2, by paging 1000 at a time oldest first. */
export async function historyOf(ledger: LedgerClient): Promise<bigint[]> {
  const ids: bigint[] = [];
  let from = 0n;
  for (;;) {
    const page = await ledger.getAccountTransfers(accountFilter({ account_id: 2n, limit: 1000, timestamp_min: from }));
    ids.push(...page.map((t) => t.id));
    if (page.length < 1000) return ids;
    from = page[page.length - 1].timestamp + 1n;
  }
}

/** Transfers 1..last are all there: the oldest and the newest, account 2's whole history in order, the oldest ids `exists`. */
export async function checkHistory(ledger: LedgerClient, last: number, where: string): Promise<void> {
  const [oldest, newest] = await ledger.lookupTransfers([1n, BigInt(last)]);
  assert.equal([oldest?.id, oldest?.user_data_64, oldest?.amount], [1n, 1n, 2n], `${where}: the oldest transfer`);
  assert.equal([newest?.id, newest?.user_data_64], [BigInt(last), BigInt(last)], `${where}: the newest transfer`);
  const expected: bigint[] = [];
  for (let n = 1; n <= last; n++) if (debitOf(n) === 2n || creditOf(n) === 2n) expected.push(BigInt(n));
  assert.equal(await historyOf(ledger), expected, `${where}: account 2's whole history, in order`);
  const again = await ledger.createTransfers(workloadBatch(1, 3));
  assert.equal(again.map((r) => createTransferResultName(r.result)), ['exists', 'exists', 'exists'], `${where}: the oldest ids`);
}
