// host/cmd/cluster.ts: a node of a cluster (`qenex boot … --cluster`) and
// `qenex cluster status` (docs/cluster.md).

import { parseArgs, CliError, EXIT_USAGE, processIo, type CommandIo } from './args.ts';
import { Machine, BootError, type MachineOptions } from '../machine.ts';
import { ClusterNode, ClusterRefused, nodeReports } from '../cluster/node.ts';
import { openLink, ClusterConfigError, type ClusterLink, type NatsOptions } from '../cluster/nats.ts';
import * as p from '../cluster/protocol.ts';
import { serve, type Serving } from './serve.ts';

export const USAGE = `usage: qenex cluster status --cluster <nats url,...> [--nats-creds <file>] [--nats-ca <ca.pem>]

Prints one JSON object: the lease (leader and term), the log stream (last
message, bytes, its NATS replicas and their lag) and every node's last
report (role, term, stream position, log bytes, entries applied, the state
hash at a position, lag behind the stream), and whether the nodes that
reported a state hash at the same position agree. Exit 1 when they do not.

A node joins with: qenex boot <file.qxi> --data <dir> --trust <pub>
  --listen host:port --cluster <nats url,...> --node <name>
  [--nats-creds <nkey seed or .creds>] [--nats-ca <ca.pem>] [--seed]
(--seed: this data directory's log becomes the first history of a cluster
whose stream is empty; otherwise a node joins with an empty data directory.)
`;

export interface ClusterFlags extends NatsOptions {
  node: string;
  seed: boolean;
}

/** --cluster, --node, --nats-creds and --nats-ca of `qenex boot` (null: not a cluster node). */
export function clusterFromArgs(values: Map<string, string>, seed = false): ClusterFlags | null {
  const urls = values.get('cluster');
  const node = values.get('node');
  if (urls === undefined) {
    for (const f of ['node', 'nats-creds', 'nats-ca']) if (values.has(f)) throw new CliError(`--${f} needs --cluster`, EXIT_USAGE);
    if (seed) throw new CliError('--seed needs --cluster', EXIT_USAGE);
    return null;
  }
  if (node === undefined || !/^[A-Za-z0-9_-]{1,64}$/.test(node)) throw new CliError('--cluster needs --node <name> (letters, digits, _ and -, at most 64)', EXIT_USAGE);
  const servers = urls.split(',').map((u) => u.trim()).filter((u) => u !== '');
  if (servers.length === 0) throw new CliError('--cluster wants NATS URLs, comma-separated', EXIT_USAGE);
  return { servers, node, name: `qenex-${node}`, credsFile: values.get('nats-creds'), caFile: values.get('nats-ca'), seed };
}

/**
 * Runs a cluster node until a signal: follows the cluster's log, leads when
 * the lease comes to it, and when deposed boots again as a follower.
 */
export async function bootClustered(flags: ClusterFlags, options: MachineOptions, s: Serving, boot: (o: MachineOptions) => Promise<Machine>): Promise<number> {
  const link = await openOrFail(flags);
  let signalled = false;
  const onSignal = (signal: string) => {
    if (signalled) return;
    signalled = true;
    s.print({ event: 'stopping', signal, node: flags.node });
  };
  for (;;) {
    let node: ClusterNode;
    try {
      node = await ClusterNode.join(link, {
        node: flags.node, seed: flags.seed, dataDir: options.dataDir, checkpoints: checkpointsFit(options), imageDigestHex: options.image.digestHex,
        batchBytesMax: options.image.manifest.kernel.batch_bytes_max, line: (o, isError) => options.onLine?.(JSON.stringify(o), isError),
      });
    } catch (e) {
      await link.nc.close();
      if (e instanceof ClusterRefused || e instanceof ClusterConfigError) throw new CliError(`cluster: ${e.message}`);
      throw e;
    }
    s.print({ event: 'following', node: flags.node, term: node.term, seq: node.seq, end: node.end });
    // A follower writes nothing a stop would have to flush: each batch is durable before its position is saved.
    const stopFollowing = () => { onSignal('SIGTERM'); void node.close().then(() => link.nc.close()).then(() => process.exit(0)); };
    process.once('SIGTERM', stopFollowing);
    process.once('SIGINT', stopFollowing);
    let machine: Machine;
    try {
      machine = await boot({ ...options, cluster: node });
    } catch (e) {
      await node.close();
      await link.nc.close();
      throw e instanceof BootError ? new CliError(node.ended ?? e.message) : e;
    } finally {
      process.off('SIGTERM', stopFollowing);
      process.off('SIGINT', stopFollowing);
    }
    const ended = new Promise<string>((resolve) => node.onEnded(resolve));
    const r = await serve(machine, s, ended, { node: flags.node, role: 'leader', term: node.term });
    await node.close();
    if (r.ended === undefined) {
      await link.nc.close();
      return r.code;
    }
    s.print({ event: 'stepped_down', node: flags.node, message: r.ended });
  }
}

// Checkpoints are snapshots other nodes can use: not sealed with this node's
// data key (manifest "storage"), not referring to a grid's blocks.
function checkpointsFit(options: MachineOptions): boolean {
  const m = options.image.manifest;
  return m.storage === undefined && !m.services.some((s) => s.caps.includes('storage'));
}

async function openOrFail(flags: NatsOptions): Promise<ClusterLink> {
  try {
    return await openLink(flags);
  } catch (e) {
    if (e instanceof ClusterConfigError) throw new CliError(`cluster: ${e.message}`);
    throw e;
  }
}

export interface ClusterStatus {
  leader: string | null;
  term: number;
  stream: { last_seq: number; bytes: number; replicas: { name: string; current: boolean; lag: number; leader: boolean }[] };
  nodes: (p.NodeReport & { lag: number })[];
  hashes_agree: boolean;
}

/** The lease, the stream and every node's report. */
export async function clusterStatus(link: ClusterLink): Promise<ClusterStatus> {
  const lease = await link.lease.get(p.LEASE_KEY);
  const value = lease?.operation === 'PUT' ? JSON.parse(new TextDecoder().decode(lease.value)) as p.Lease : null;
  const info = await link.jsm.streams.info(p.LOG_STREAM);
  const c = info.cluster;
  const replicas = [
    ...(c?.leader !== undefined ? [{ name: c.leader, current: true, lag: 0, leader: true }] : []),
    ...(c?.replicas ?? []).map((r) => ({ name: r.name, current: r.current, lag: r.lag ?? 0, leader: false })),
  ];
  const nodes: ClusterStatus['nodes'] = (await nodeReports(link)).map((r) => ({ ...r, lag: Math.max(0, info.state.last_seq - r.seq) }));
  nodes.sort((a, b) => a.node.localeCompare(b.node));
  return { leader: value?.node ?? null, term: value?.term ?? 0, stream: { last_seq: info.state.last_seq, bytes: info.state.bytes, replicas }, nodes, hashes_agree: hashesAgree(nodes) };
}

/** Nodes that reported a state hash at the same number of entries reported the same hash. */
export function hashesAgree(nodes: readonly p.NodeReport[]): boolean {
  const at = new Map<number, string>();
  for (const n of nodes) {
    if (n.state_hash === null) continue;
    const seen = at.get(n.hash_entries);
    if (seen !== undefined && seen !== n.state_hash) return false;
    at.set(n.hash_entries, n.state_hash);
  }
  return true;
}

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, { values: ['cluster', 'nats-creds', 'nats-ca'], positionals: { min: 1, max: 1, names: ['status'] } });
  if (args.help) { io.out(USAGE); return 0; }
  if (args.positionals[0] !== 'status') throw new CliError(`unknown cluster command "${args.positionals[0]}"\n${USAGE}`, EXIT_USAGE);
  const values = new Map(args.values);
  values.set('node', 'status');
  const flags = clusterFromArgs(values);
  if (flags === null) throw new CliError('missing --cluster <nats url,...>', EXIT_USAGE);
  const link = await openOrFail({ ...flags, name: 'qenex-cluster-status' });
  try {
    const status = await clusterStatus(link);
    io.out(JSON.stringify(status) + '\n');
    return status.hashes_agree ? 0 : 1;
  } finally {
    await link.nc.close();
  }
}
