// test/support/cluster.ts: three QENEX nodes on a NATS cluster
// (test/support/nats-cluster.ts), for the cluster tests and benchmark: the
// first node seeds the cluster with a log holding an admin key, the others
// join with empty data directories; each listens on its own fixed port, which
// only the leader opens.

import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { event, makeImage, runCli, Server, ROOT, CLI, type TestImage } from './helpers.ts';
import type { Netns } from './netns.ts';
import { freePort } from './fix-initiator.ts';
import { startNatsCluster, type NatsCluster } from './nats-cluster.ts';
import { openLink, type ClusterLink } from '../../host/cluster/nats.ts';
import { clusterStatus, type ClusterStatus } from '../../host/cmd/cluster.ts';
import { CHECKPOINT_OBJECT, type Checkpoint } from '../../host/cluster/protocol.ts';
import type { Manifest } from '../../host/manifest.ts';
import { LedgerClient, account, transfer, CreateAccountResult, CreateTransferResult, type Transfer } from '../../host/client/ledger.ts';
import { ClusterClient } from '../../host/client/cluster.ts';
import { History, readBack, type Outcome } from './history.ts';

const DUMP_DIR = join(ROOT, 'build/test-cluster');

export interface QenexNode {
  name: string;
  data: string;
  port: number;
  server: Server | null;
}

export class QenexCluster {
  private link: ClusterLink | null = null;

  private constructor(readonly nats: NatsCluster, readonly img: TestImage, readonly nodes: QenexNode[], readonly key: string,
    /** n1 runs in this network namespace (test/support/netns.ts), reaching NATS through its host address. */
    readonly netns: Netns | null) {}

  /** NATS servers, three nodes, n1 leading once `ready` resolves. */
  static async start(prefix: string, manifest: Manifest, netns: Netns | null = null): Promise<QenexCluster> {
    const nats = await startNatsCluster(netns === null ? {} : { extraIp: netns.hostIp });
    const img = makeImage(prefix, manifest);
    const nodes: QenexNode[] = [];
    for (const name of ['n1', 'n2', 'n3']) nodes.push({ name, data: join(img.dir, name), port: await freePort(), server: null });
    // The seed's log: one boot, then an operator key (no rate limit to speak of) written into it.
    mkdirSync(nodes[0].data, { recursive: true });
    const first = runCli(['boot', img.imagePath, '--data', nodes[0].data, '--trust', img.pubPath, '--once']);
    if (first.code !== 0) throw new Error(`seed boot failed: ${first.stderr}`);
    const key = runCli(['keys', 'create', '--data', nodes[0].data, '--role', 'operator', '--rate', '1000000', '--burst', '1000000']);
    const created = event(key.events, 'key_created') as { key?: string } | undefined;
    if (key.code !== 0 || created?.key === undefined) throw new Error(`admin key: ${key.stderr}`);
    const c = new QenexCluster(nats, img, nodes, created.key, netns);
    c.boot(0, ['--seed']);
    await c.nodes[0].server!.waitFor('ready', 60_000);
    c.boot(1);
    c.boot(2);
    await Promise.all([1, 2].map((i) => c.nodes[i].server!.waitFor('following', 60_000)));
    return c;
  }

  args(i: number): string[] {
    const n = this.nodes[i];
    const urls = this.inNetns(i) ? this.nats.urlsVia(this.netns!.hostIp) : this.nats.urls;
    return ['boot', this.img.imagePath, '--data', n.data, '--trust', this.img.pubPath, '--listen', this.addresses()[i],
      '--cluster', urls.join(','), '--node', n.name, '--nats-creds', this.nats.credsFile(n.name), '--nats-ca', this.nats.caFile];
  }

  private inNetns(i: number): boolean {
    return i === 0 && this.netns !== null;
  }

  // Processes started in the namespace (Server.start spawns node directly, and its killAll knows only those).
  private readonly netnsServers: Server[] = [];

  /** Starts node i (again), with its data directory as it is. */
  boot(i: number, extra: string[] = []): Server {
    const before = this.nodes[i].server;
    if (before !== null) {
      const h = this.history.get(this.nodes[i].name) ?? [];
      h.push(before.events.map((e) => JSON.stringify(e)).join('\n'), before.stderr, '---- booted again ----');
      this.history.set(this.nodes[i].name, h);
    }
    let s: Server;
    if (this.inNetns(i)) {
      const [cmd, ...argv] = this.netns!.command([process.execPath, CLI, ...this.args(i), ...extra]);
      s = new Server(spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
      this.netnsServers.push(s);
    } else {
      s = Server.start([...this.args(i), ...extra]);
    }
    this.nodes[i].server = s;
    return s;
  }

  addresses(): string[] {
    return this.nodes.map((n, i) => `${this.inNetns(i) ? this.netns!.nsIp : '127.0.0.1'}:${n.port}`);
  }

  /** A ledger client over a ClusterClient that knows every node's address. */
  async client(retryForMs = 30_000): Promise<{ client: ClusterClient; ledger: LedgerClient }> {
    const client = await ClusterClient.connect({ addresses: this.addresses(), key: this.key, callTimeoutMs: 3000, retryForMs });
    this.clients.push(client);
    return { client, ledger: new LedgerClient(client, 'gateway') };
  }
  private readonly clients: ClusterClient[] = [];

  /** The cluster's checkpoint (host/cluster/checkpoint.ts), or null while there is none. */
  async checkpoint(): Promise<Checkpoint | null> {
    await this.status();
    const o = await this.link!.checkpoints.info(CHECKPOINT_OBJECT);
    return o === null || o.deleted ? null : JSON.parse(o.description ?? 'null') as Checkpoint;
  }

  async status(): Promise<ClusterStatus> {
    this.link ??= await openLink({ servers: this.nats.urls, name: 'qenex-test', credsFile: this.nats.credsFile('client'), caFile: this.nats.caFile });
    return clusterStatus(this.link);
  }

  /** The node the lease names, once its ready line is out. */
  async leader(timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status().catch(() => null);
      const i = this.nodes.findIndex((n) => n.name === s?.leader);
      const ready = i >= 0 && this.nodes[i].server?.events.some((e) => e.event === 'ready' && e.term === s!.term);
      if (ready) return i;
      if (Date.now() > deadline) throw new Error(`no leader ready within ${timeoutMs} ms: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Waits until every node running reports the stream's last message and a
   * state hash at the same entries: the status then, which the caller checks.
   */
  async settled(timeoutMs = 30_000): Promise<ClusterStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status();
      const running = this.nodes.filter((n) => n.server !== null && n.server.child.exitCode === null && n.server.child.signalCode === null);
      const reports = running.map((n) => s.nodes.find((r) => r.node === n.name));
      const top = Math.max(...reports.map((r) => r?.entries ?? 0));
      if (reports.every((r) => r !== undefined && r.seq === s.stream.last_seq && r.entries === top && r.hash_entries === top && r.state_hash !== null)) return s;
      if (Date.now() > deadline) throw new Error(`the nodes did not settle within ${timeoutMs} ms: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Every node's lines and stderr so far, into build/test-cluster/<prefix>-<node>.log (for a failed run's reader). */
  dump(prefix: string): void {
    mkdirSync(DUMP_DIR, { recursive: true });
    for (const n of this.nodes) {
      const lines = this.history.get(n.name) ?? [];
      if (n.server !== null) lines.push(n.server.events.map((e) => JSON.stringify(e)).join('\n'), n.server.stderr);
      writeFileSync(join(DUMP_DIR, `${prefix}-${n.name}.log`), lines.join('\n') + '\n');
    }
  }
  // The lines of earlier processes of each node (a node booted again replaces its server).
  private readonly history = new Map<string, string[]>();

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.link?.nc.close();
    await Promise.all(this.netnsServers.map((s) => (s.child.exitCode === null && s.child.signalCode === null ? s.kill('SIGKILL') : null)));
    await Server.killAll();
    await this.nats.stop();
  }
}

/** Accounts a load moves money among: its own, so that its history accounts for every transfer on them. */
const LOAD_ACCOUNTS = 8;

/**
 * Workers each sending create_transfers of a few transfers, one call at a
 * time, until stopped; every transfer's outcome goes to the history
 * (test/support/history.ts): ok (created, or exists from an earlier
 * attempt), failed (any other result), unknown (the client gave up).
 */
export class TransferLoad {
  readonly history = new History();
  readonly ids: bigint[] = [];
  readonly latenciesMs: number[] = [];
  acknowledged = 0;
  failed = 0;
  unknown = 0;
  private running = false;
  private done: Promise<void> = Promise.resolve();
  private nextId: bigint;

  readonly accounts: bigint[];

  /** Accounts idBase .. idBase + 7, transfers from idBase + 256 on. */
  constructor(private readonly ledger: LedgerClient, idBase: bigint, private readonly perCall = 8) {
    this.accounts = Array.from({ length: LOAD_ACCOUNTS }, (_, i) => idBase + BigInt(i));
    this.nextId = idBase + 256n;
  }

  async createAccounts(): Promise<void> {
    const made = await this.ledger.createAccounts(this.accounts.map((id) => account({ id })));
    if (!made.every((r) => r.result === CreateAccountResult.ok || r.result === CreateAccountResult.exists)) throw new Error(`accounts: ${JSON.stringify(made)}`);
  }

  /** Creates the accounts, then starts `workers` workers. */
  async start(workers: number): Promise<void> {
    await this.createAccounts();
    this.running = true;
    this.done = Promise.all(Array.from({ length: workers }, () => this.worker())).then(() => {});
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private async worker(): Promise<void> {
    while (this.running) {
      const batch: Transfer[] = [];
      for (let i = 0; i < this.perCall; i++) {
        const id = this.nextId++;
        const debit = this.accounts[Number(id % BigInt(LOAD_ACCOUNTS))];
        const credit = this.accounts[Number((id + 3n) % BigInt(LOAD_ACCOUNTS))];
        batch.push(transfer({ id, debit_account_id: debit, credit_account_id: credit, amount: 1n + (id % 11n) }));
        this.ids.push(id);
      }
      const started = performance.now();
      let outcomes: Outcome[];
      try {
        const results = await this.ledger.createTransfers(batch);
        outcomes = results.map((r) => (r.result === CreateTransferResult.ok || r.result === CreateTransferResult.exists ? 'ok' : 'failed'));
        this.latenciesMs.push(performance.now() - started);
        const failed = outcomes.filter((o) => o === 'failed').length;
        this.acknowledged += batch.length - failed;
        this.failed += failed;
        if (failed > 0) await new Promise((r) => setTimeout(r, 100)); // refused (a full ledger, say): no tight loop either
      } catch {
        outcomes = batch.map(() => 'unknown');
        this.unknown += batch.length;
        await new Promise((r) => setTimeout(r, 100)); // the client gave up (retryForMs): no tight loop of new transfers
      }
      batch.forEach((t, i) => this.history.record({ id: t.id, debit: t.debit_account_id, credit: t.credit_account_id, amount: t.amount, outcome: outcomes[i] }));
    }
  }

  /** Reads everything back and checks the history: the problems (none when nothing acknowledged was lost or applied twice). */
  async check(): Promise<ReturnType<History['check']>> {
    const { present, balances } = await readBack(this.ledger, this.ids, this.accounts);
    return this.history.check(present, balances);
  }
}
