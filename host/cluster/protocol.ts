// host/cluster/protocol.ts: what QENEX nodes of one cluster agree on in
// NATS JetStream (docs/cluster.md): the stream that holds the command log,
// the key-value buckets of the lease and of the nodes' reports, the headers
// every stream message carries, and the timings of the lease. Written once
// here; the node (node.ts), `qenex cluster status` and the tests import it.

/** The command log: one message per log batch (kind "batch") or per new term (kind "term"). */
export const LOG_STREAM = 'QENEX_LOG';
export const LOG_SUBJECT = 'qenex.log';
/** Three copies: the stream's Raft group survives one NATS server lost and stops (never forks) at two. */
export const LOG_REPLICAS = 3;

/** The lease: key LEASE_KEY holds the leader's name and term; changed only by compare-and-set on its revision. */
export const LEASE_BUCKET = 'qenex_lease';
export const LEASE_KEY = 'leader';
/** The image every node must boot: set by the first node, compared by every other before it applies anything. */
export const IMAGE_KEY = 'image';
/** Each node's report (role, term, position, state hash), under its name. */
export const NODES_BUCKET = 'qenex_nodes';
/**
 * The leader's newest machine snapshot (object CHECKPOINT_OBJECT, its
 * description a Checkpoint): a new node starts from it and the stream after
 * it instead of replaying the stream from its first message.
 */
export const CHECKPOINT_BUCKET = 'qenex_checkpoints';
export const CHECKPOINT_OBJECT = 'latest';

/** Headers of a log stream message. */
export const H_KIND = 'Qenex-Kind';
export const H_TERM = 'Qenex-Term';
export const H_NODE = 'Qenex-Node';
/** Where the batch starts in the log, and where it ends (bytes): a follower appends it only at its own end. */
export const H_OFFSET = 'Qenex-Offset';
export const H_END = 'Qenex-End';
export const KIND_BATCH = 'batch';
export const KIND_TERM = 'term';

/** JetStream's error code for a publish whose expected last sequence is not the stream's: another leader appended. */
export const JS_WRONG_LAST_SEQUENCE = 10071;

// ---- timings (milliseconds) ----

// The lease lasts LEASE_MS from the revision a follower last saw change: a
// leader renews it every LEASE_RENEW_MS, five times per lease, so a few
// late renewals (a slow fsync on the NATS side, a starved core: the tests
// run six processes on two) are no failover; 1 s was, now and then, while
// two nodes booted. A follower looks every LEASE_POLL_MS. Writes resume
// after a kill within about LEASE_MS + LEASE_POLL_MS + the promotion (the
// target is 2 s).
export const LEASE_MS = 1500;
export const LEASE_RENEW_MS = 300;
export const LEASE_POLL_MS = 100;
/** A leader whose last renewal is older than this stops appending: its lease may be another's by now. */
export const LEASE_SELF_EXPIRY_MS = LEASE_MS - LEASE_RENEW_MS;
/** One publish's wait for the stream's quorum; then it is sent again (same message id), until the lease runs out. */
export const APPEND_TIMEOUT_MS = 2000;
export const APPEND_RETRY_MS = 250;
/** The wait for each chunk of a checkpoint put in or taken from the object store. */
export const CHECKPOINT_TIMEOUT_MS = 60_000;
/** Each node reports at most this often; its state hash is computed only when it is idle. */
export const REPORT_MS = 500;
/** A state hash reads every service's memory (tens of milliseconds for the bank image): at most this often. */
export const HASH_EVERY_MS = 2000;

/** A node's report in NODES_BUCKET. */
export interface NodeReport {
  node: string;
  role: 'leader' | 'follower' | 'deposed' | 'refused';
  term: number;
  /** The last stream message in this node's log. */
  seq: number;
  /** Log bytes in this node's log, and entries its kernel applied. */
  end: number;
  entries: number;
  /** The state hash at `hash_entries` entries (computed when the node was idle). */
  state_hash: string | null;
  hash_entries: number;
  image: string;
  message: string | null;
  at_ms: number;
}

/** Where a checkpoint stands: the snapshot's position, and the stream message whose batch ends there. */
export interface Checkpoint {
  image: string;
  entries: number;
  /** Where entry `entries` starts in the log: the end of stream message `seq`. */
  log_offset: number;
  seq: number;
  term: number;
  /** The batch of message `seq` starts here; it holds the entry a snapshot is checked against. */
  batch_offset: number;
}

/** The lease's value. */
export interface Lease {
  node: string;
  term: number;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`host/cluster/protocol.ts: ${what}`);
}
check(LEASE_RENEW_MS * 3 <= LEASE_MS, 'a leader renews its lease at least three times within it');
check(LEASE_POLL_MS < LEASE_RENEW_MS, 'a follower looks at the lease more often than it is renewed');
check(APPEND_RETRY_MS < LEASE_MS, 'a stalled append is tried again within a lease');
