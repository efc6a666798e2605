// test/bench/reads.bench.ts: reads (hal/frames.ts FRAME_F_READ) against the
// same lookups made as logged requests, over the binary protocol to a ledger
// with capabilities net and read, in one run:
//   logged lookup  lookup_accounts of 2 ids as a logged request: command log,
//                  fdatasync, apply, reply
//   read lookup    the same request as a read: no log entry, no flush
// The load generator runs in this process: CONNECTIONS connections, each
// with one request in flight, for DURATION_MS after WARMUP_MS.

import { join } from 'node:path';
import { FrameClient } from '../../host/client/frames.ts';
import { LedgerClient, account, encodeLookupAccounts } from '../../host/client/ledger.ts';
import * as abi from '../../hal/abi.ts';
import { directLedgerManifest, makeImage } from '../support/helpers.ts';
import { CLI, Server, percentile, ratio, round, tempDir, type Bench, type FigureSpec, type Figures } from './support.ts';

const CONNECTIONS = 16;
const WARMUP_MS = 500;
const DURATION_MS = 3000;
const RATE = 'requests/s';
const P50 = 'p50 ms';
const VS = '× logged';

const FIGURES: FigureSpec[] = [
  { key: 'logged_lookups_per_s', row: `logged lookup_accounts, ${CONNECTIONS} conns`, col: RATE },
  { key: 'logged_lookup_p50_ms', row: `logged lookup_accounts, ${CONNECTIONS} conns`, col: P50 },
  { key: 'read_lookups_per_s', row: `read lookup_accounts, ${CONNECTIONS} conns`, col: RATE },
  { key: 'read_lookup_p50_ms', row: `read lookup_accounts, ${CONNECTIONS} conns`, col: P50 },
  { key: 'read_vs_logged_ratio', row: `read lookup_accounts, ${CONNECTIONS} conns`, col: VS },
];

async function load(clients: FrameClient[], payload: Uint8Array, flags: number): Promise<{ rate: number; latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let requests = 0;
  const started = performance.now();
  const measureFrom = started + WARMUP_MS;
  const stopAt = measureFrom + DURATION_MS;
  await Promise.all(clients.map(async (c) => {
    for (;;) {
      const sent = performance.now();
      if (sent >= stopAt) return;
      const r = await c.request('ledger', payload, 30_000, flags);
      const now = performance.now();
      if (sent < measureFrom) continue;
      requests++;
      latencies.push(now - sent);
      if (r.status !== abi.FRAME_OK) errors++;
    }
  }));
  return { rate: requests / (DURATION_MS / 1000), latencies, errors };
}

const bench: Bench = {
  name: 'reads',
  title: 'Reads without a log entry vs the same lookups logged (binary protocol)',
  figures: FIGURES,
  requires: [CLI],
  async run() {
    const figures: Figures = {};
    const notes: string[] = [];
    const manifest = directLedgerManifest();
    const ledger = manifest.services.find((s) => s.name === 'ledger')!;
    if (!ledger.caps.includes('read')) ledger.caps.push('read');
    const img = makeImage('reads-bench', manifest);
    const server = Server.start(join(tempDir('reads-bench'), 'data'), img.imagePath, img.pubPath);
    const clients: FrameClient[] = [];
    try {
      const { host, port } = await server.address();
      for (let i = 0; i < CONNECTIONS; i++) clients.push(await FrameClient.connect(host, port));
      await new LedgerClient(clients[0], 'ledger').createAccounts([account({ id: 1n, ledger: 1, code: 1 }), account({ id: 2n, ledger: 1, code: 1 })]);
      const payload = encodeLookupAccounts([1n, 2n]);
      const logged = await load(clients, payload, 0);
      const read = await load(clients, payload, abi.FRAME_F_READ);
      figures.logged_lookups_per_s = Math.round(logged.rate);
      figures.logged_lookup_p50_ms = round(percentile(logged.latencies, 50), 4);
      figures.read_lookups_per_s = Math.round(read.rate);
      figures.read_lookup_p50_ms = round(percentile(read.latencies, 50), 4);
      figures.read_vs_logged_ratio = round(ratio(read.rate, logged.rate), 3);
      if (logged.errors + read.errors > 0) notes.push(`${logged.errors} logged and ${read.errors} read requests were not FRAME_OK`);
      notes.push('a logged lookup waits for its batch to be durable (fdatasync); a read is answered between two messages, from the applied state');
    } finally {
      for (const c of clients) c.close();
      await server.stop();
    }
    return { figures, notes, params: { connections: CONNECTIONS, warmup_ms: WARMUP_MS, duration_ms: DURATION_MS } };
  },
};

export default bench;
