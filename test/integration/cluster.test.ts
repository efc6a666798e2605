// The cluster (docs/cluster.md): three NATS servers (JetStream, the log
// stream with three replicas, TLS and an NKey per node) and three QENEX
// nodes on loopback. The first node seeds the cluster with its log; the
// others join empty and follow. Every test checks what clients saw with the
// history checker (test/support/history.ts): no acknowledged transfer lost,
// none applied twice, debits equal to credits; and that every node running
// reports the same state hash at the same position.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_FILE } from '../../host/machine.ts';
import { ENTRY_HEADER_BYTES } from '../../hal/log.ts';
import { QenexCluster, TransferLoad } from '../support/cluster.ts';
import type { LedgerClient } from '../../host/client/ledger.ts';
import { bankManifestUnlimited, demoManifest, makeImage, removeDir, runCli, Server } from '../support/helpers.ts';

let c: QenexCluster;
/** Leader kills in the kill -9 test: two in `make test`, more in `make test-cluster` (QENEX_CLUSTER_KILLS). */
const KILLS = Number(process.env.QENEX_CLUSTER_KILLS ?? 2);
let idBase = 0x100_0000n;
const SNAPSHOT_INTERVAL_ENTRIES = 400;

test.before(async () => {
  // Snapshots every few hundred entries: leaders share them as checkpoints, and nodes booted again restore their own.
  const manifest = bankManifestUnlimited();
  manifest.kernel.snapshot_interval_entries = SNAPSHOT_INTERVAL_ENTRIES;
  c = await QenexCluster.start('cluster', manifest);
});
test.after(async () => {
  await Promise.all(loads.map((l) => l.stop()));
  c?.dump('cluster');
  await c?.stop();
  if (c !== undefined) removeDir(c.img.dir);
});

/** Every node running at the stream's end with one state hash; the status then. */
async function agreed(): Promise<void> {
  const s = await c.settled();
  assert.ok(s.hashes_agree, JSON.stringify(s.nodes));
  const running = s.nodes.filter((n) => c.nodes.some((q) => q.name === n.node && q.server?.child.exitCode === null && q.server?.child.signalCode === null));
  assert.is(new Set(running.map((n) => `${n.hash_entries}:${n.state_hash}`)).size, 1, JSON.stringify(running));
}

async function untilAcknowledged(load: TransferLoad, more: number): Promise<void> {
  const target = load.acknowledged + more;
  const deadline = Date.now() + 60_000;
  while (load.acknowledged < target) {
    if (Date.now() > deadline) throw new Error(`the load acknowledged ${load.acknowledged} of ${target} within 60 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function checked(load: TransferLoad): Promise<void> {
  const report = await load.check();
  assert.equal(report.problems, [], report.problems.join('\n'));
  assert.ok(report.ok > 0);
}

const loads: TransferLoad[] = [];

/** A load with its own accounts and ids; stopped by the after hook too, should an assertion end a test early. */
function newLoad(ledger: LedgerClient): TransferLoad {
  const load = new TransferLoad(ledger, idBase);
  idBase += 0x10_0000n;
  loads.push(load);
  return load;
}

test('followers apply the seeded leader\'s log and report its state hash at the same position', async () => {
  // Proves: n1 leads term 1 with the seeded log; n2 and n3, which started
  // empty, hold the same log and state after the writes, and `qenex cluster
  // status` says so (exit 0, hashes agree, no lag).
  await c.leader();
  const { ledger } = await c.client();
  const load = newLoad(ledger);
  await load.start(4);
  await untilAcknowledged(load, 400);
  await load.stop();
  await checked(load);
  await agreed();
  const r = runCli(['cluster', 'status', '--cluster', c.nats.urls.join(','), '--nats-creds', c.nats.credsFile('client'), '--nats-ca', c.nats.caFile]);
  assert.is(r.code, 0, r.stderr);
  const status = JSON.parse(r.stdout) as { leader: string; term: number; nodes: { node: string; lag: number; role: string }[]; hashes_agree: boolean };
  // n1 led term 1; a starved machine (tests run two files at a time) may have moved the lease on since, which is no error.
  assert.ok(c.nodes[0].server!.events.some((e) => e.event === 'ready' && e.term === 1), 'n1 led term 1');
  assert.ok(status.hashes_agree);
  assert.equal(status.nodes.map((n) => [n.node, n.role === 'leader' ? n.node === status.leader : n.role === 'follower', n.lag]),
    [['n1', true, 0], ['n2', true, 0], ['n3', true, 0]], 'the lease\'s node leads, the others follow, none lags');
});

test(`kill -9 the leader under load, ${KILLS} times: a follower takes over, nothing acknowledged is lost or applied twice`, async () => {
  // Proves: after each SIGKILL another node leads a newer term and the
  // client's retries (same transfer ids) go on there; the killed node comes
  // back as a follower and catches up; the history checks out and all three
  // nodes agree on the state hash.
  const { ledger } = await c.client();
  const load = newLoad(ledger);
  await load.start(4);
  for (let round = 0; round < KILLS; round++) {
    await untilAcknowledged(load, 200);
    const old = await c.leader();
    const term = (await c.status()).term;
    await c.nodes[old].server!.kill('SIGKILL');
    await untilAcknowledged(load, 200); // writes resumed on the new leader
    const now = await c.leader();
    assert.is.not(now, old);
    assert.ok((await c.status()).term > term, 'a newer term');
    c.boot(old);
    await c.nodes[old].server!.waitFor('following', 30_000);
  }
  await load.stop();
  await checked(load);
  await agreed();
});

test('a leader paused past its lease is deposed when it wakes: its writes are refused and it follows', async () => {
  // Proves: SIGSTOP on the leader lets another node take the lease and lead;
  // on SIGCONT the old leader finds the lease and the stream moved on,
  // reports cluster_deposed, steps down and follows, without one write of
  // its own after the new term (the history and the hashes agree).
  const { ledger } = await c.client();
  const load = newLoad(ledger);
  await load.start(4);
  await untilAcknowledged(load, 100);
  const old = await c.leader();
  const paused = c.nodes[old].server!;
  paused.child.kill('SIGSTOP');
  await untilAcknowledged(load, 200);
  const now = await c.leader();
  assert.is.not(now, old);
  paused.child.kill('SIGCONT');
  const deposed = await paused.waitFor('cluster_deposed', 20_000);
  assert.match(String(deposed.message), /deposed/);
  await paused.waitFor('stepped_down', 20_000);
  await untilAcknowledged(load, 100);
  await load.stop();
  await checked(load);
  await agreed();
});

test('one NATS server lost: writes go on; two: they stop with a clear line, and resume, nothing lost, when quorum returns', async () => {
  // Proves: the log stream's quorum is two of three: with one server killed
  // transfers are acknowledged; with two, the leader reports
  // replication_stalled and acknowledges nothing; with the servers back,
  // writes resume and every acknowledged transfer is there once.
  const { ledger } = await c.client(60_000);
  const load = newLoad(ledger);
  await load.start(2);
  await untilAcknowledged(load, 100);
  await c.nats.kill(2);
  await untilAcknowledged(load, 100);
  const leader = c.nodes[await c.leader()].server!;
  await c.nats.kill(1);
  await leader.waitFor('replication_stalled', 20_000);
  const before = load.acknowledged;
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(load.acknowledged - before <= 2 * 8, `at most the calls in flight settle without quorum (${load.acknowledged - before})`);
  await c.nats.start(1);
  await c.nats.start(2);
  await untilAcknowledged(load, 100);
  await load.stop();
  await checked(load);
  await agreed();
});

test('a wiped node starts from the leader\'s checkpoint and the stream after it; a node booting another image is refused before it applies anything', async () => {
  // Proves: the leader put a snapshot in the cluster's checkpoints; a
  // follower whose data directory is removed joins again empty, takes that
  // checkpoint (its log holds nothing before the checkpoint's batch: no
  // genesis entry at byte 0) and reaches the same state hash as the others;
  // a node with another image is refused by the cluster (exit 1, naming both
  // images).
  const leader = await c.leader();
  const checkpoint = await c.checkpoint();
  assert.ok(checkpoint !== null && checkpoint.entries >= SNAPSHOT_INTERVAL_ENTRIES, JSON.stringify(checkpoint));
  const f = [0, 1, 2].find((i) => i !== leader)!;
  await c.nodes[f].server!.kill('SIGKILL');
  rmSync(c.nodes[f].data, { recursive: true, force: true });
  c.boot(f);
  const taken = await c.nodes[f].server!.waitFor('cluster_checkpoint_taken', 30_000);
  assert.ok(Number(taken.entries) >= SNAPSHOT_INTERVAL_ENTRIES && Number(taken.end) > 0, JSON.stringify(taken));
  await c.nodes[f].server!.waitFor('following', 30_000);
  const head = readFileSync(join(c.nodes[f].data, LOG_FILE)).subarray(0, ENTRY_HEADER_BYTES);
  assert.ok(head.every((b) => b === 0), 'the log before the checkpoint was never fetched');
  const { ledger } = await c.client();
  const load = newLoad(ledger);
  await load.start(2);
  await untilAcknowledged(load, 100);
  await load.stop();
  await checked(load);
  await agreed();

  const other = makeImage('cluster-other', demoManifest());
  try {
    const n = { ...c.nodes[f], name: 'n4', data: `${other.dir}/n4` };
    const args = ['boot', other.imagePath, '--data', n.data, '--trust', other.pubPath, '--listen', '127.0.0.1:0',
      '--cluster', c.nats.urls.join(','), '--node', 'n4', '--nats-creds', c.nats.credsFile('client'), '--nats-ca', c.nats.caFile];
    const s = Server.start(args);
    const code = await s.exited;
    assert.is(code, 1);
    assert.match(s.stderr, /the cluster runs image [0-9a-f]{16}…; this node booted [0-9a-f]{16}…/);
  } finally {
    removeDir(other.dir);
  }
});

test.run();
