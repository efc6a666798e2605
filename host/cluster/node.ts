// host/cluster/node.ts: one QENEX node of a cluster (docs/cluster.md).
//
// The command log is the unit of replication. A node starts as a follower:
// its kernel recovers its own log and goes on reading it (kernel_follow)
// while this file appends the batches the leader put in the stream, each at
// the local log's end, checked against the offsets the leader sent; the
// kernel checks every entry (CRC, sequence, hash chain, image) and applies
// them as a replay would. When the lease (protocol.ts) runs out, a follower
// that holds the whole stream takes it by compare-and-set, appends a term
// message with the stream's expected last sequence, and only then lets its
// kernel's recovery end: the kernel goes live, and each batch it writes is
// appended to the stream (expected last sequence again) while it is written
// and fdatasync'd here, and acknowledged only after both. A leader that lost
// the lease (paused, cut off) finds the stream moved on: its append is
// refused, it is deposed, and the boot starts again as a follower. A node
// that joins with an empty data directory starts from the leader's last
// snapshot (checkpoint.ts) rather than from the stream's first message.
//
// <data>/cluster.json says which stream message the local log ends with.
// It is written after each message is durable here (a new file renamed over
// the old), without a sync of its own: it may be behind the log after a
// crash (the messages after it are fetched and written again, the same
// bytes), never ahead.

import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DeliverPolicy, headers as natsHeaders, type ConsumerMessages, type MsgHdrs } from 'nats';
import type { BlockBackend } from '../devices/block-backend.ts';
import type { LogReplication } from '../devices/block.ts';
import type { ClusterStats } from '../metrics.ts';
import * as p from './protocol.ts';
import { isWrongLast, type ClusterLink } from './nats.ts';
import { localBatches } from './seed.ts';
import { putCheckpoint, takeCheckpoint } from './checkpoint.ts';
import { hasLog } from '../devices/segmented-log.ts';
import { ENTRY_BYTES_MAX } from '../../hal/log.ts';
import { CLUSTER_HEADERS_BYTES_MAX } from '../base/limits.ts';

export const POSITION_FILE = 'cluster.json';

/** What the node needs of its machine (host/machine.ts). */
export interface FollowedMachine {
  stateHash(): string;
  entriesApplied(): number;
  busy(): boolean;
}

export interface NodeOptions {
  node: string;
  dataDir: string;
  imageDigestHex: string;
  /** The manifest's batch_bytes_max: a batch is one stream message. */
  batchBytesMax: number;
  /** Offer this data directory's log as the first history of a cluster whose stream is empty (seed.ts). */
  seed?: boolean;
  /** Put snapshots in the cluster's checkpoints, and start an empty data directory from one (checkpoint.ts): plain data directories of images without grids. */
  checkpoints?: boolean;
  line: (o: object, isError: boolean) => void;
}

interface Position { seq: number; end: number; term: number }

export class ClusterRefused extends Error {
  override name = 'ClusterRefused';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const utf8 = (s: string) => new TextEncoder().encode(s);

export class ClusterNode implements LogReplication {
  role: p.NodeReport['role'] = 'follower';
  term: number;
  seq: number;
  end: number;
  /** Why this node stopped leading or following (deposed, refused); null while it is a member in good standing. */
  ended: string | null = null;
  private machine: FollowedMachine | null = null;
  private log: BlockBackend | null = null;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private messages: ConsumerMessages | null = null;
  private following: Promise<void> | null = null;
  private stopped = false;
  private lease: { revision: number; at: number; value: p.Lease | null } | null = null;
  private renewedAt = 0;
  private stalled = false;
  private stallReason = '';
  private hash: { entries: number; value: string; at: number } | null = null;
  private lastEntries = -1;
  private endedListeners: ((why: string) => void)[] = [];
  /** What the other nodes last reported (the leader reads them for its lag figures). */
  private peers: p.NodeReport[] = [];
  private nextCheckpoint: string | null = null;
  private uploading = false;

  private constructor(private readonly link: ClusterLink, private readonly o: NodeOptions, at: Position) {
    this.seq = at.seq;
    this.end = at.end;
    this.term = at.term;
  }

  /**
   * Checks that this node may join: the cluster runs its image, a batch fits
   * a stream message, and its log is a prefix of the stream. Refused
   * (ClusterRefused) before anything is applied otherwise.
   */
  static async join(link: ClusterLink, o: NodeOptions): Promise<ClusterNode> {
    const maxPayload = link.nc.info?.max_payload ?? 0;
    if (o.batchBytesMax + CLUSTER_HEADERS_BYTES_MAX > maxPayload) {
      throw new ClusterRefused(`the manifest's batch_bytes_max (${o.batchBytesMax}) does not fit the NATS servers' max_payload (${maxPayload}); raise max_payload or lower batch_bytes_max`);
    }
    await checkImage(link, o.imageDigestHex);
    const member = existsSync(join(o.dataDir, POSITION_FILE));
    let at = readPosition(o.dataDir);
    if (!member && o.seed !== true && o.checkpoints === true && !hasLog(o.dataDir)) at = await fromCheckpoint(link, o) ?? at;
    await checkPosition(link, at);
    if (o.seed === true && !member) {
      const last = (await link.jsm.streams.info(p.LOG_STREAM)).state.last_seq;
      if (last > 0) throw new ClusterRefused(`--seed: the cluster's stream already holds ${last} messages; a node joins it with an empty data directory`);
    }
    return new ClusterNode(link, o, at);
  }

  /** The machine and its log (host/machine.ts, once both exist); following starts here. */
  attach(machine: FollowedMachine, log: BlockBackend): void {
    this.machine = machine;
    this.log = log;
    const unknownLog = log.size() > 0 && this.seq === 0 && !existsSync(join(this.o.dataDir, POSITION_FILE));
    if (unknownLog && this.o.seed !== true) {
      this.end_(`${this.o.dataDir} holds a command log that did not come from the cluster (no ${POSITION_FILE}); `
        + 'give the node an empty data directory, or --seed to make this log the first history of a new cluster', 'refused');
      return;
    }
    this.following = (unknownLog ? this.seedFrom(log) : Promise.resolve()).then(() => this.follow());
    void this.leaseLoop();
    void this.reportLoop();
  }

  onEnded(f: (why: string) => void): void {
    if (this.ended !== null) f(this.ended);
    else this.endedListeners.push(f);
  }

  // ---- the log (LogReplication, host/devices/block.ts) ----

  readLimit(): number | null {
    return this.role === 'leader' ? null : this.end;
  }

  more(): Promise<void> {
    if (this.ended !== null) return Promise.reject(new Error(this.ended));
    if (this.role === 'leader') return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  async append(offset: number, data: Uint8Array, writeLocal: () => Promise<void>): Promise<void> {
    if (this.role !== 'leader') throw new Error(`node ${this.o.node} is not the leader (${this.ended ?? this.role})`);
    if (offset !== this.end) throw new Error(`log write at byte ${offset}, but the replicated log ends at ${this.end}`);
    const h = this.headers(p.KIND_BATCH);
    h.set(p.H_OFFSET, String(offset));
    h.set(p.H_END, String(offset + data.length));
    // Both at once: the batch is acknowledged only when the quorum and this
    // disk hold it. A local write whose publish fails is past `end`, where
    // no read of this node's kernel looks and a promotion truncates.
    const [seq] = await Promise.all([this.publish(data, h, `t${this.term}-o${offset}`), writeLocal()]);
    this.seq = seq;
    this.end = offset + data.length;
    this.savePosition();
  }

  // Appends one message after this node's last; sent again (same id, which
  // the stream deduplicates) while the quorum does not answer and the lease
  // is this node's. Another writer's message in between deposes it.
  private async publish(data: Uint8Array, h: MsgHdrs, msgID: string): Promise<number> {
    for (;;) {
      if (this.ended !== null) throw new Error(this.ended);
      if (performance.now() - this.renewedAt > p.LEASE_SELF_EXPIRY_MS) {
        this.stall('the lease could not be renewed (NATS unreachable or without quorum)');
        await sleep(p.APPEND_RETRY_MS);
        continue;
      }
      try {
        const ack = await this.link.js.publish(p.LOG_SUBJECT, data, { expect: { lastSequence: this.seq }, msgID, headers: h, timeout: p.APPEND_TIMEOUT_MS });
        this.unstall();
        return ack.seq;
      } catch (e) {
        if (isWrongLast(e)) {
          this.end_(`deposed: the stream moved on past message ${this.seq} without this leader (term ${this.term})`, 'deposed');
          throw new Error(this.ended!);
        }
        this.stall((e as Error).message);
        await sleep(p.APPEND_RETRY_MS);
      }
    }
  }

  private headers(kind: string): MsgHdrs {
    const h = natsHeaders();
    h.set(p.H_KIND, kind);
    h.set(p.H_TERM, String(this.term));
    h.set(p.H_NODE, this.o.node);
    return h;
  }

  /** Why requests are refused now (503): log appends wait for the stream's quorum; null: they are taken. */
  refusal(): string | null {
    return this.stalled ? `this node's log appends wait for the cluster's quorum (${this.stallReason}); try again` : null;
  }

  private stall(why: string): void {
    this.stallReason = why;
    if (this.stalled) return;
    this.stalled = true;
    this.o.line({ event: 'replication_stalled', node: this.o.node, term: this.term, message: `log appends wait: ${why}` }, true);
  }

  private unstall(): void {
    if (!this.stalled) return;
    this.stalled = false;
    this.o.line({ event: 'replication_resumed', node: this.o.node, term: this.term, seq: this.seq }, false);
  }

  // ---- following ----

  // The local log becomes the stream's first messages (term 0), each batch
  // after the one before it: a second seeder finds the stream moved on.
  private async seedFrom(log: BlockBackend): Promise<void> {
    let batches = 0;
    try {
      for (const b of localBatches(log, ENTRY_BYTES_MAX)) {
        const h = this.headers(p.KIND_BATCH);
        h.set(p.H_OFFSET, String(b.offset));
        h.set(p.H_END, String(b.offset + b.bytes.length));
        const ack = await this.link.js.publish(p.LOG_SUBJECT, b.bytes, { expect: { lastSequence: this.seq }, headers: h, timeout: p.APPEND_TIMEOUT_MS });
        this.seq = ack.seq;
        this.end = b.offset + b.bytes.length;
        batches++;
      }
    } catch (e) {
      this.end_(`--seed: ${isWrongLast(e) ? 'another node seeded the cluster first' : (e as Error).message}`, 'refused');
      return;
    }
    if (log.size() > this.end) await log.truncate(this.end);
    this.savePosition();
    this.o.line({ event: 'cluster_seeded', node: this.o.node, batches, seq: this.seq, end: this.end }, false);
    this.wake();
  }

  private async follow(): Promise<void> {
    const consumer = await this.link.js.consumers.get(p.LOG_STREAM, {
      filterSubjects: p.LOG_SUBJECT, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.seq + 1,
    });
    // Heartbeats every two seconds (half of `expires`): a consumer lost with a NATS server is made again within seconds, not 30.
    const messages = this.messages = await consumer.consume({ max_messages: 64, expires: 4000 });
    try {
      for await (const m of messages) {
        if (this.stopped || this.role === 'leader') break;
        if (m.seq <= this.seq) continue;
        await this.take(m.seq, m.headers, m.data);
        if (this.ended !== null) break;
      }
    } catch (e) {
      if (!this.stopped) this.end_(`following the stream failed: ${(e as Error).message}`, 'refused');
    }
  }

  // One stream message into the local log: only where the log ends, and
  // only a batch of this term or a newer one.
  private async take(seq: number, h: MsgHdrs | undefined, data: Uint8Array): Promise<void> {
    const kind = h?.get(p.H_KIND);
    const term = Number(h?.get(p.H_TERM));
    if (!Number.isSafeInteger(term) || term < this.term) return this.end_(`stream message ${seq} has term ${h?.get(p.H_TERM)} after term ${this.term}`, 'refused');
    if (kind === p.KIND_TERM) {
      this.term = term;
      this.seq = seq;
      this.savePosition();
      return;
    }
    const offset = Number(h?.get(p.H_OFFSET));
    const end = Number(h?.get(p.H_END));
    if (kind !== p.KIND_BATCH || offset !== this.end || end !== offset + data.length) {
      return this.end_(`stream message ${seq} (${kind ?? 'no kind'}, bytes ${offset}..${end}) does not continue this node's log, which ends at byte ${this.end}`, 'refused');
    }
    await this.log!.writeDurable(offset, data);
    this.term = term;
    this.seq = seq;
    this.end = end;
    this.savePosition();
    this.wake();
  }

  private async stopFollowing(): Promise<void> {
    this.messages?.stop();
    await this.following?.catch(() => {});
    this.messages = null;
    this.following = null;
  }

  // ---- the lease ----

  private async leaseLoop(): Promise<void> {
    while (!this.stopped && this.ended === null) {
      try {
        if (this.role === 'leader') await this.renew();
        else await this.watchLease();
      } catch (e) {
        // NATS unreachable or without quorum: a follower waits; a leader's appends wait (publish).
        if (this.role !== 'leader') this.lease = null;
        void e;
      }
      await sleep(this.role === 'leader' ? p.LEASE_RENEW_MS : p.LEASE_POLL_MS);
    }
  }

  private async renew(): Promise<void> {
    try {
      const revision = await this.link.lease.update(p.LEASE_KEY, utf8(JSON.stringify({ node: this.o.node, term: this.term } satisfies p.Lease)), this.lease!.revision);
      this.lease = { revision, at: performance.now(), value: { node: this.o.node, term: this.term } };
      this.renewedAt = performance.now();
    } catch (e) {
      if (isWrongLast(e)) this.end_(`deposed: another node took the lease (this node led term ${this.term})`, 'deposed');
      else throw e;
    }
  }

  // A follower takes the lease when its revision has not moved for LEASE_MS
  // (or there is none) and it holds the whole stream.
  private async watchLease(): Promise<void> {
    const e = await this.link.lease.get(p.LEASE_KEY);
    const now = performance.now();
    const held = e !== null && e.operation === 'PUT';
    if (held && e.revision !== this.lease?.revision) {
      this.lease = { revision: e.revision, at: now, value: JSON.parse(new TextDecoder().decode(e.value)) as p.Lease };
      return;
    }
    if (held && now - this.lease!.at < p.LEASE_MS) return;
    const info = await this.link.jsm.streams.info(p.LOG_STREAM);
    if (info.state.last_seq !== this.seq) return; // not everything is here yet
    const term = Math.max(this.term, this.lease?.value?.term ?? 0) + 1;
    const value = utf8(JSON.stringify({ node: this.o.node, term } satisfies p.Lease));
    let revision: number;
    try {
      revision = held ? await this.link.lease.update(p.LEASE_KEY, value, e.revision) : await this.link.lease.create(p.LEASE_KEY, value);
    } catch (err) {
      if (isWrongLast(err) || /exists/i.test((err as Error).message)) return; // another follower was first
      throw err;
    }
    this.lease = { revision, at: now, value: { node: this.o.node, term } };
    this.renewedAt = now;
    await this.promote(term);
  }

  // The term message fences every older leader: any append of theirs now
  // names a last sequence the stream has moved past.
  private async promote(term: number): Promise<void> {
    const h = this.headers(p.KIND_TERM);
    h.set(p.H_TERM, String(term));
    h.set(p.H_END, String(this.end));
    let seq: number;
    try {
      const ack = await this.link.js.publish(p.LOG_SUBJECT, new Uint8Array(0), { expect: { lastSequence: this.seq }, msgID: `t${term}-${this.o.node}`, headers: h });
      seq = ack.seq;
    } catch (e) {
      if (isWrongLast(e)) return; // a batch came in first: the lease is this node's, the next look tries again
      throw e;
    }
    while (this.seq < seq && this.ended === null) await sleep(5); // the follower takes its own term message
    await this.stopFollowing();
    if (this.ended !== null) return;
    // What a deposed leader of this data directory wrote and never replicated goes.
    if (this.log!.size() > this.end) await this.log!.truncate(this.end);
    this.role = 'leader';
    this.o.line({ event: 'cluster_leader', node: this.o.node, term: this.term, seq: this.seq, end: this.end }, false);
    this.wake();
  }

  // ---- checkpoints ----

  /** The machine wrote a snapshot (host/machine.ts): a leader puts the newest in the cluster's checkpoints, one upload at a time. */
  snapshotWritten(path: string): void {
    if (this.o.checkpoints !== true || this.role !== 'leader') return;
    this.nextCheckpoint = path;
    if (this.uploading) return;
    this.uploading = true;
    void (async () => {
      while (this.nextCheckpoint !== null && this.role === 'leader') {
        const next = this.nextCheckpoint;
        this.nextCheckpoint = null;
        try {
          if (await putCheckpoint(this.link, next, this.term)) this.o.line({ event: 'cluster_checkpoint_put', node: this.o.node, file: next }, false);
        } catch (e) {
          this.o.line({ event: 'cluster_checkpoint_failed', node: this.o.node, file: next, message: (e as Error).message }, true);
        }
      }
      this.uploading = false;
    })();
  }

  // ---- reports ----

  /** For /metrics (host/metrics.ts). */
  stats(): ClusterStats {
    const lag: Record<string, number> = {};
    for (const r of this.peers) if (r.node !== this.o.node) lag[r.node] = Math.max(0, this.seq - r.seq);
    return { term: this.term, failovers: Math.max(0, this.term - 1), seq: this.seq, stalled: this.stalled, lag };
  }

  // A follower whose state hash differs from the leader's at the same
  // number of entries applied the same log differently: it stops, reported,
  // rather than serve or lead with that state one day.
  private async compareWithLeader(): Promise<void> {
    const leader = this.lease?.value?.node;
    if (leader === undefined || leader === this.o.node || this.hash === null) return;
    const e = await this.link.nodes.get(leader);
    if (e === null || e.operation !== 'PUT') return;
    const theirs = JSON.parse(new TextDecoder().decode(e.value)) as p.NodeReport;
    if (theirs.hash_entries === this.hash.entries && theirs.state_hash !== null && theirs.state_hash !== this.hash.value) {
      this.end_(`the state hash at ${this.hash.entries} entries is ${this.hash.value.slice(0, 16)}…, the leader ${leader}'s is ${theirs.state_hash.slice(0, 16)}…: `
        + 'this node applied the same log differently', 'refused');
    }
  }

  private async reportLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.link.nodes.put(this.o.node, utf8(JSON.stringify(this.report())));
        if (this.role === 'leader') this.peers = await nodeReports(this.link);
        else await this.compareWithLeader();
      } catch {
        // reports are best effort: NATS may be down, and that is reported elsewhere
      }
      if (this.ended !== null) return;
      await sleep(p.REPORT_MS);
    }
  }

  /** This node's report; the state hash is taken when the machine rested since the last look. */
  report(): p.NodeReport {
    const m = this.machine;
    const entries = m?.entriesApplied() ?? 0;
    const due = this.hash === null || performance.now() - this.hash.at >= p.HASH_EVERY_MS;
    if (m !== null && entries === this.lastEntries && !m.busy() && this.hash?.entries !== entries && due) {
      this.hash = { entries, value: m.stateHash(), at: performance.now() };
    }
    this.lastEntries = entries;
    return {
      node: this.o.node, role: this.role, term: this.term, seq: this.seq, end: this.end, entries,
      state_hash: this.hash?.value ?? null, hash_entries: this.hash?.entries ?? 0, image: this.o.imageDigestHex,
      message: this.ended, at_ms: Date.now(),
    };
  }

  private end_(why: string, role: 'deposed' | 'refused'): void {
    if (this.ended !== null) return;
    this.ended = why;
    this.role = role;
    this.o.line({ event: role === 'deposed' ? 'cluster_deposed' : 'cluster_refused', node: this.o.node, term: this.term, message: why }, true);
    for (const w of this.waiters.splice(0)) w.reject(new Error(why));
    for (const f of this.endedListeners.splice(0)) f(why);
    void this.link.nodes.put(this.o.node, utf8(JSON.stringify(this.report()))).catch(() => {});
  }

  /** Stops following, renewing and reporting (the connection is the caller's). */
  async close(): Promise<void> {
    this.stopped = true;
    await this.stopFollowing();
    for (const w of this.waiters.splice(0)) w.reject(new Error('the cluster node stopped'));
  }

  private savePosition(): void {
    writePosition(this.o.dataDir, { seq: this.seq, end: this.end, term: this.term });
  }
}

// An empty data directory starts from the cluster's checkpoint when there is one.
async function fromCheckpoint(link: ClusterLink, o: NodeOptions): Promise<Position | null> {
  const c = await takeCheckpoint(link, o.dataDir, o.imageDigestHex);
  if (c === null) return null;
  const at = { seq: c.seq, end: c.end, term: c.term };
  writePosition(o.dataDir, at);
  o.line({ event: 'cluster_checkpoint_taken', node: o.node, entries: c.entries, seq: c.seq, end: c.end, bytes: c.bytes }, false);
  return at;
}

function readPosition(dataDir: string): Position {
  const path = join(dataDir, POSITION_FILE);
  if (!existsSync(path)) return { seq: 0, end: 0, term: 0 };
  let o: Partial<Position>;
  try {
    o = JSON.parse(readFileSync(path, 'utf8')) as Partial<Position>;
  } catch (e) {
    throw new ClusterRefused(`${path}: ${(e as Error).message}`);
  }
  const ok = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!ok(o.seq) || !ok(o.end) || !ok(o.term)) throw new ClusterRefused(`${path}: not a cluster position (seq, end, term)`);
  return o as Position;
}

// The stream message the local log ends with must be in the stream, ending
// where the local log ends: otherwise this data directory holds another
// cluster's history (or the stream was replaced), which is never mixed.
async function checkPosition(link: ClusterLink, at: Position): Promise<void> {
  if (at.seq === 0) return;
  const last = (await link.jsm.streams.info(p.LOG_STREAM)).state.last_seq;
  let end: string | undefined;
  try {
    end = (await link.jsm.streams.getMessage(p.LOG_STREAM, { seq: at.seq })).header.get(p.H_END);
  } catch {
    throw new ClusterRefused(`this node's log ends with stream message ${at.seq}, which the cluster's stream (last ${last}) does not hold`);
  }
  if (Number(end) !== at.end) {
    throw new ClusterRefused(`this node's log ends at byte ${at.end} with stream message ${at.seq}, which ends at byte ${end}: the histories differ`);
  }
}

async function checkImage(link: ClusterLink, digestHex: string): Promise<void> {
  try {
    await link.lease.create(p.IMAGE_KEY, utf8(digestHex));
    return;
  } catch (e) {
    if (!/exists|wrong last/i.test((e as Error).message)) throw e;
  }
  const e = await link.lease.get(p.IMAGE_KEY);
  const theirs = e === null ? '' : new TextDecoder().decode(e.value);
  if (theirs !== digestHex) {
    throw new ClusterRefused(`the cluster runs image ${theirs.slice(0, 16)}…; this node booted ${digestHex.slice(0, 16)}…`);
  }
}

// Written whole and renamed over the last: a kill between the two leaves the old position, never half a file.
function writePosition(dataDir: string, at: Position): void {
  const path = join(dataDir, POSITION_FILE);
  writeFileSync(path + '.tmp', JSON.stringify(at) + '\n');
  renameSync(path + '.tmp', path);
}

/** Every node's last report (NODES_BUCKET). */
export async function nodeReports(link: ClusterLink): Promise<p.NodeReport[]> {
  const keys: string[] = [];
  for await (const k of await link.nodes.keys()) keys.push(k); // all keys first: the listing is a consumer of its own
  const out: p.NodeReport[] = [];
  for (const k of keys) {
    const e = await link.nodes.get(k);
    if (e !== null && e.operation === 'PUT') out.push(JSON.parse(new TextDecoder().decode(e.value)) as p.NodeReport);
  }
  return out;
}
