// test/bench/cluster.bench.ts: the cluster (issue 20, docs/cluster.md).
//   single      one QENEX node, no cluster: durable transfers/s end to end
//               over the binary protocol (ClusterClient with one address),
//               WORKERS calls of PER_CALL transfers in flight.
//   replicated  the same load on a three-node cluster over three NATS
//               servers (JetStream, R=3, fsync on every write), all six
//               processes and the load on this machine's cores, for
//               STEADY_S seconds; the term before and after says whether a
//               failover happened that nobody caused (false_failovers).
//   failover    KILLS times: SIGKILL the leader under load, and time from
//               the kill to the first transfer acknowledged by a node that
//               was not the leader (a probe that asks every other node in
//               turn); the killed node boots again and follows.
//   lost        acknowledged transfers missing, or applied twice, over the
//               whole run, by the history checker (test/support/history.ts).

import { performance } from 'node:perf_hooks';
import { QenexCluster, TransferLoad } from '../support/cluster.ts';
import { bankManifestUnlimited, event, makeImage, removeDir, runCli, Server } from '../support/helpers.ts';
import { freePort } from '../support/fix-initiator.ts';
import { ClusterClient } from '../../host/client/cluster.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { LedgerClient, transfer, CreateTransferResult } from '../../host/client/ledger.ts';
import { CLI, percentile, round, ratio, type Bench, type FigureSpec, type Figures } from './support.ts';

const FIGURES: FigureSpec[] = [
  { key: 'single_tps', row: 'one node, no cluster: durable transfers end to end', col: 'transfers/s' },
  { key: 'replicated_tps', row: 'three nodes, the log on JetStream R=3: durable and replicated', col: 'transfers/s' },
  { key: 'replicated_ratio', row: 'replicated_tps ÷ single_tps (target ≥ 0.3)', col: 'ratio' },
  { key: 'single_p50_ms', row: 'one node, a call', col: 'p50 ms' },
  { key: 'replicated_p50_ms', row: 'three nodes, a call', col: 'p50 ms' },
  { key: 'replicated_p99_ms', row: 'three nodes, a call', col: 'p99 ms' },
  { key: 'false_failovers', row: 'terms begun during the steady run (nothing was killed)', col: 'count' },
  { key: 'failover_p50_ms', row: 'SIGKILL of the leader → first write acknowledged by another node', col: 'p50 ms' },
  { key: 'failover_max_ms', row: 'SIGKILL of the leader → first write acknowledged by another node', col: 'max ms' },
  { key: 'lost', row: 'acknowledged transfers lost or applied twice (history checker)', col: 'count' },
];

const WORKERS = 128;
/**
 * The bank image with its ledger sized for the run: at tens of thousands of
 * transfers a second, sixty seconds and twenty failovers pass the image's
 * million transfers. Rate limits off, as in every load test.
 */
function benchManifest() {
  const m = bankManifestUnlimited();
  const ledger = m.services.find((s) => s.name === 'ledger')!;
  ledger.config = { ...ledger.config, accounts_max: 1024, transfers_max: LEDGER_TRANSFERS_MAX, history_max: 1024 };
  return m;
}
/** The ledger's largest in-memory table (services/ledger: 1..4,194,304). */
const LEDGER_TRANSFERS_MAX = 4_194_304;
const PER_CALL = 8;
const SINGLE_S = 10;
const STEADY_S = Number(process.env.QENEX_BENCH_CLUSTER_STEADY_S ?? 60);
const KILLS = Number(process.env.QENEX_BENCH_CLUSTER_KILLS ?? 20);

async function measure(load: TransferLoad, seconds: number): Promise<{ tps: number; latencies: number[] }> {
  const from = load.acknowledged;
  const fromLat = load.latenciesMs.length;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const tps = (load.acknowledged - from) / ((performance.now() - t0) / 1000);
  return { tps, latencies: load.latenciesMs.slice(fromLat) };
}

async function single(figures: Figures, notes: string[]): Promise<void> {
  const img = makeImage('bench-cluster-single', benchManifest());
  try {
    const data = `${img.dir}/data`;
    const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
    if (first.code !== 0) throw new Error(first.stderr);
    const made = runCli(['keys', 'create', '--data', data, '--role', 'operator', '--rate', '1000000', '--burst', '1000000']);
    const key = (event(made.events, 'key_created') as { key: string }).key;
    const port = await freePort();
    const server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', `127.0.0.1:${port}`]);
    let m: { tps: number; latencies: number[] };
    try {
      await server.address();
      const client = await ClusterClient.connect({ addresses: [`127.0.0.1:${port}`], key });
      const load = new TransferLoad(new LedgerClient(client, 'gateway'), 0x1_0000_0000n, PER_CALL);
      await load.start(WORKERS);
      await measure(load, 2); // warm up
      m = await measure(load, SINGLE_S);
      await load.stop();
      client.close();
    } finally {
      await server.kill('SIGTERM');
    }
    figures.single_tps = Math.round(m.tps);
    figures.single_p50_ms = round(percentile(m.latencies, 50), 3);
    notes.push(`single: ${CLI} boot, ${WORKERS} calls of ${PER_CALL} transfers in flight, ${SINGLE_S} s`);
  } finally {
    removeDir(img.dir);
  }
}

// The first write a node other than the killed one acknowledges: each round
// asks every other node once, with a transfer of its own (a fresh id).
async function probe(c: QenexCluster, dead: number, key: string, id: bigint, accounts: bigint[]): Promise<void> {
  for (;;) {
    for (let i = 0; i < c.nodes.length; i++) {
      if (i === dead) continue;
      const fc = await FrameClient.connect('127.0.0.1', c.nodes[i].port).catch(() => null);
      if (fc === null) continue;
      try {
        await fc.authenticate(key, 2000);
        const r = await new LedgerClient(fc, 'gateway').createTransfers([transfer({ id, debit_account_id: accounts[0], credit_account_id: accounts[1], amount: 1n })]);
        if (r[0]?.result === CreateTransferResult.ok || r[0]?.result === CreateTransferResult.exists) return;
      } catch {
        // not the leader yet, or it went away: ask the next
      } finally {
        fc.close();
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function replicated(figures: Figures, notes: string[]): Promise<void> {
  const c = await QenexCluster.start('bench-cluster', benchManifest());
  try {
    const { ledger } = await c.client(60_000);
    const load = new TransferLoad(ledger, 0x2_0000_0000n, PER_CALL);
    await load.start(WORKERS);
    await measure(load, 2);
    const termBefore = (await c.status()).term;
    const m = await measure(load, STEADY_S);
    figures.false_failovers = (await c.status()).term - termBefore;
    figures.replicated_tps = Math.round(m.tps);
    figures.replicated_p50_ms = round(percentile(m.latencies, 50), 3);
    figures.replicated_p99_ms = round(percentile(m.latencies, 99), 3);
    // Each kill comes under full load; the killed node then boots again and
    // catches up with the load paused (on two cores it could not replay the
    // stream faster than sixteen workers grow it), and the load resumes.
    const times: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      await measure(load, 1);
      const old = await c.leader(30_000);
      const t0 = performance.now();
      c.nodes[old].server!.child.kill('SIGKILL');
      const id = 0x3_0000_0000n + BigInt(k);
      await probe(c, old, c.key, id, load.accounts);
      times.push(performance.now() - t0);
      // The probe's transfer is in the history too: it moved money between the load's accounts.
      load.ids.push(id);
      load.history.record({ id, debit: load.accounts[0], credit: load.accounts[1], amount: 1n, outcome: 'ok' });
      await load.stop();
      await c.nodes[old].server!.exited;
      c.boot(old);
      await c.nodes[old].server!.waitFor('following', 60_000);
      await c.settled(120_000);
      await load.start(WORKERS);
    }
    await load.stop();
    const end = await c.settled(120_000);
    if (!end.hashes_agree) notes.push(`the nodes' state hashes differ: ${JSON.stringify(end.nodes)}`);
    figures.failover_p50_ms = round(percentile(times, 50), 4);
    figures.failover_max_ms = round(Math.max(...times), 4);
    const report = await load.check();
    figures.lost = report.problems.length;
    if (report.problems.length > 0) notes.push(`history problems: ${report.problems.slice(0, 5).join('; ')}`);
    if (load.failed > 0) notes.push(`replicated: ${load.failed} transfers refused by the ledger (not counted as acknowledged)`);
    notes.push(`replicated: ${report.ok} transfers acknowledged, ${report.unknown} unknown (${report.unknownApplied} of those applied), ${KILLS} leader kills`);
  } finally {
    await c.stop();
    removeDir(c.img.dir);
  }
}

const bench: Bench = {
  name: 'cluster',
  title: 'Cluster: the command log on NATS JetStream (R=3), three nodes, failover',
  figures: FIGURES,
  requires: [CLI],
  async run() {
    const figures: Figures = {};
    const notes: string[] = [];
    await single(figures, notes);
    await replicated(figures, notes);
    figures.replicated_ratio = round(ratio(figures.replicated_tps, figures.single_tps), 3);
    notes.push('all six processes (three NATS servers, three QENEX nodes) and the load generator share this machine\'s cores: '
      + 'with a core per process, the leader\'s fsync and the NATS quorum\'s fsyncs would not queue behind each other');
    return { figures, params: { workers: WORKERS, transfers_per_call: PER_CALL, steady_s: STEADY_S, kills: KILLS }, notes };
  },
};

export default bench;
