// host/cluster/nats.ts: the connection of a QENEX node (or of `qenex cluster
// status`) to the cluster's NATS servers, and the stream and buckets it
// needs (host/cluster/protocol.ts). Nodes and servers authenticate each
// other: the servers' certificates are checked against --nats-ca, and the
// node presents its own NKey seed or credentials file (--nats-creds).

import { readFileSync } from 'node:fs';
import {
  connect, credsAuthenticator, nkeyAuthenticator, StorageType, DiscardPolicy, RetentionPolicy,
  type NatsConnection, type JetStreamClient, type JetStreamManager, type KV, type NatsError, type ObjectStore,
} from 'nats';
import * as p from './protocol.ts';

export interface NatsOptions {
  /** nats:// or tls:// URLs of the cluster's servers. */
  servers: readonly string[];
  /** This client's name in the servers' connection lists. */
  name: string;
  /** An NKey seed (a line starting "SU") or a NATS credentials file (user JWT and seed). */
  credsFile?: string;
  /** The CA the servers' certificates chain to (TLS). */
  caFile?: string;
}

export class ClusterConfigError extends Error {
  override name = 'ClusterConfigError';
}

export interface ClusterLink {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  lease: KV;
  nodes: KV;
  checkpoints: ObjectStore;
}

/** Connects and makes sure the log stream and both buckets exist with three replicas. */
export async function openLink(o: NatsOptions): Promise<ClusterLink> {
  if (o.servers.length === 0) throw new ClusterConfigError('--cluster names no NATS server');
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: [...o.servers], name: o.name, authenticator: authenticatorOf(o.credsFile),
      ...(o.caFile !== undefined ? { tls: { caFile: o.caFile } } : {}),
      maxReconnectAttempts: -1, reconnectTimeWait: 100, timeout: 5000, pingInterval: 2000, waitOnFirstConnect: false,
    });
  } catch (e) {
    throw new ClusterConfigError(`cannot connect to the NATS servers ${o.servers.join(', ')}: ${(e as Error).message}`);
  }
  // Right after the servers start, JetStream may not have elected its leaders
  // yet, and nodes starting together race to create the same stream.
  const deadline = performance.now() + SETUP_WAIT_MS;
  for (;;) {
    try {
      const jsm = await nc.jetstreamManager({ timeout: 5000 });
      const js = nc.jetstream({ timeout: p.APPEND_TIMEOUT_MS });
      await ensureStream(jsm);
      const lease = await js.views.kv(p.LEASE_BUCKET, { replicas: p.LOG_REPLICAS, history: 1 });
      const nodes = await js.views.kv(p.NODES_BUCKET, { replicas: p.LOG_REPLICAS, history: 1 });
      await ensureObjectStoreStream(jsm);
      // A checkpoint is tens of megabytes in chunks, each stored with an fsync on every server: a wait of its own.
      const checkpoints = await nc.jetstream({ timeout: p.CHECKPOINT_TIMEOUT_MS }).views.os(p.CHECKPOINT_BUCKET);
      return { nc, js, jsm, lease, nodes, checkpoints };
    } catch (e) {
      if (e instanceof ClusterConfigError || performance.now() > deadline) {
        await nc.close();
        throw e instanceof ClusterConfigError ? e : new ClusterConfigError(`the NATS servers ${o.servers.join(', ')} have no usable JetStream: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** How long a node waits for JetStream to be usable when it starts. */
const SETUP_WAIT_MS = 20_000;

function authenticatorOf(credsFile: string | undefined) {
  if (credsFile === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(credsFile, 'utf8');
  } catch (e) {
    throw new ClusterConfigError(`--nats-creds ${credsFile}: ${(e as Error).message}`);
  }
  if (text.includes('BEGIN NATS USER JWT')) return credsAuthenticator(new TextEncoder().encode(text));
  const seed = text.trim();
  if (!/^SU[A-Z2-7]+$/.test(seed)) throw new ClusterConfigError(`--nats-creds ${credsFile}: neither a credentials file nor a user NKey seed (SU…)`);
  return nkeyAuthenticator(new TextEncoder().encode(seed));
}

// The log stream keeps everything (a new node replays it from its start),
// refuses a publish it cannot keep rather than dropping old batches, and
// remembers message ids for two minutes, which makes a retried append after
// a lost acknowledgement a duplicate rather than a second copy.
async function ensureStream(jsm: JetStreamManager): Promise<void> {
  try {
    const info = await jsm.streams.info(p.LOG_STREAM);
    if (info.config.num_replicas !== p.LOG_REPLICAS) {
      throw new ClusterConfigError(`stream ${p.LOG_STREAM} has ${info.config.num_replicas} replicas; QENEX needs ${p.LOG_REPLICAS}`);
    }
    return;
  } catch (e) {
    if (e instanceof ClusterConfigError || !isNotFound(e)) throw e;
  }
  await jsm.streams.add({
    name: p.LOG_STREAM, subjects: [p.LOG_SUBJECT], num_replicas: p.LOG_REPLICAS, storage: StorageType.File,
    retention: RetentionPolicy.Limits, discard: DiscardPolicy.New, duplicate_window: 120_000_000_000, allow_direct: true,
  });
}

// The checkpoints' object store, made here with three replicas: the nats
// client (2.29) sends its `replicas` option inside the stream's config too,
// which nats-server 2.15 refuses as an unknown field. Given an existing
// stream, the client only binds to it.
async function ensureObjectStoreStream(jsm: JetStreamManager): Promise<void> {
  const name = `OBJ_${p.CHECKPOINT_BUCKET}`;
  try {
    await jsm.streams.info(name);
    return;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  await jsm.streams.add({
    name, subjects: [`$O.${p.CHECKPOINT_BUCKET}.C.>`, `$O.${p.CHECKPOINT_BUCKET}.M.>`], num_replicas: p.LOG_REPLICAS, storage: StorageType.File,
    discard: DiscardPolicy.New, allow_direct: true, allow_rollup_hdrs: true,
  });
}

function isNotFound(e: unknown): boolean {
  return (e as NatsError).api_error?.err_code === 10059 || /stream not found/i.test((e as Error).message);
}

/** A publish or key-value update refused because another writer moved the stream or key on first. */
export function isWrongLast(e: unknown): boolean {
  return (e as NatsError).api_error?.err_code === p.JS_WRONG_LAST_SEQUENCE || /wrong last sequence/i.test((e as Error).message ?? '');
}
