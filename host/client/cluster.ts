// host/client/cluster.ts: a frame transport over a QENEX cluster, for
// clients that must ride through a failover. Only the cluster's leader
// listens for clients; when it dies another node starts listening on its
// own address, so a client is given every node's address and moves to the
// next one (round robin) whenever its connection breaks.
//
// A call whose outcome is unknown (the connection broke, or no reply came in
// time) is sent again with the same payload bytes, on the next connection.
// That is safe for the ledger because every account and transfer carries its
// own id: a create that was applied the first time answers `exists` the
// second time, which callers take as success when the fields are the same.
// A reply with an error status is an answer and is not retried, except the
// statuses that say "not taken, try again" (RETRY_STATUSES below).
//
// Usage:
//   const cluster = await ClusterClient.connect({ addresses: ['10.0.0.1:7000', '10.0.0.2:7000'], key });
//   const ledger = new LedgerClient(cluster, 'gateway');
//
// Several calls share one connection (FrameClient multiplexes by request
// id); when it breaks, each call in flight retries on the next connection,
// which the calls open together, once.

import type tls from 'node:tls';
import * as abi from '../../hal/abi.ts';
import { FrameClient, FrameError, encodeAuth, type Reply } from './frames.ts';
import type { LedgerTransport } from './ledger.ts';

export interface ClusterClientOptions {
  /** 'host:port' of each node's binary frame listener (qenex boot --listen), in any order; '[v6]:port' for IPv6. */
  addresses: readonly string[];
  /** API key presented on each new connection (FrameClient.authenticate). */
  key: string;
  /** When the listeners use TLS (FrameClient.connectTls). */
  tls?: tls.ConnectionOptions;
  /** One attempt's wait for a reply, and for a connection to open and authenticate. */
  callTimeoutMs?: number;
  /** How long a call keeps starting attempts across addresses; an attempt already started runs out its own timeout. */
  retryForMs?: number;
  /** Told each time the client (re)connects to an address. */
  onSwitch?: (address: string) => void;
}

/** No node answered within retryForMs: for a write, its outcome is unknown (it may have been applied). */
export class ClusterUnavailable extends Error {
  override name = 'ClusterUnavailable';
  constructor(message: string, readonly addresses: readonly string[], options?: ErrorOptions) {
    super(message, options);
  }
}

const CALL_TIMEOUT_MS_DEFAULT = 2000;
const RETRY_FOR_MS_DEFAULT = 15_000;
// Backoff between attempts of one call: short enough that a failover costs
// little, doubling up to a ceiling so a dead cluster is not spun on.
const BACKOFF_FIRST_MS = 50;
const BACKOFF_CEILING_MS = 500;
// A node answering "unavailable" (shutting down, failed) or "storage" (its
// log could not be made durable; it stops) is asked this many times by one
// call before the call moves on to the next node.
const UNAVAILABLE_TRIES_PER_NODE = 3;

// Statuses that mean "not taken, try again" (hal/frames.ts): busy (a pool,
// queue or rate limit is full, nothing applied), unavailable (not serving:
// starting, stopping or failed) and storage (the log write failed, the
// request may or may not be logged, and the node stops). Every other error
// status is the answer to the request.
const RETRY_STATUSES: ReadonlySet<number> = new Set([abi.FRAME_E_BUSY, abi.FRAME_E_UNAVAILABLE, abi.FRAME_E_STORAGE]);

interface Address { text: string; host: string; port: number }

/** 'host:port' or '[v6]:port' to its parts; throws on anything else. */
function parseAddress(text: string): Address {
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  let host = text.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (colon <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`cluster address "${text}" is not host:port`);
  return { text, host, port };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `p`, or a rejection after `ms` (`p` keeps running: the caller cleans up after it). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** One call's retry state: its deadline, backoff, the addresses it tried and the last error. */
class Retry {
  private readonly deadline: number;
  private backoffMs = BACKOFF_FIRST_MS;
  private lastError: Error | null = null;
  private readonly tried = new Set<string>();

  constructor(private readonly retryForMs: number) {
    this.deadline = Date.now() + retryForMs;
  }

  /** Notes a failed attempt, waits the backoff, and throws ClusterUnavailable once the deadline has passed. */
  async failed(address: string, error: Error): Promise<void> {
    this.tried.add(address);
    this.lastError = error;
    const leftMs = this.deadline - Date.now();
    if (leftMs > 0) await sleep(Math.min(this.backoffMs, leftMs));
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_CEILING_MS);
    if (Date.now() >= this.deadline) {
      const tried = [...this.tried];
      throw new ClusterUnavailable(`no node answered within ${this.retryForMs} ms (tried ${tried.join(', ')}); last error: ${this.lastError.message}`,
        tried, { cause: this.lastError });
    }
  }
}

/** What opening a connection to one address came to: never a rejection, so concurrent callers can share it. */
type Opened = { client: FrameClient; address: string; error: null } | { client: null; address: string; error: Error };

export class ClusterClient implements LedgerTransport {
  private readonly nodes: readonly Address[];
  private readonly callTimeoutMs: number;
  private readonly retryForMs: number;
  private next = 0; // index of the address the next connection tries
  private current: Opened & { client: FrameClient } | null = null;
  private opening: Promise<Opened> | null = null;
  private closed = false;
  private attemptCount = 0;

  private constructor(private readonly o: ClusterClientOptions) {
    if (o.addresses.length === 0) throw new Error('a cluster client needs at least one address');
    this.nodes = o.addresses.map(parseAddress);
    encodeAuth(0, o.key); // throws now on a key no node could take, rather than retrying it for retryForMs
    this.callTimeoutMs = o.callTimeoutMs ?? CALL_TIMEOUT_MS_DEFAULT;
    this.retryForMs = o.retryForMs ?? RETRY_FOR_MS_DEFAULT;
    if (!(this.callTimeoutMs > 0 && this.retryForMs >= 0)) throw new Error('callTimeoutMs must be > 0 and retryForMs >= 0');
  }

  /** Connects to the first address that accepts and authenticates; rejects with ClusterUnavailable after retryForMs. */
  static async connect(o: ClusterClientOptions): Promise<ClusterClient> {
    const cluster = new ClusterClient(o);
    await cluster.connection(new Retry(cluster.retryForMs));
    return cluster;
  }

  /** The address of the current connection, or null between connections. */
  get address(): string | null {
    return this.current?.address ?? null;
  }

  /** Attempts made by calls: each time a call's payload was sent (or its send tried) on a connection. */
  get attempts(): number {
    return this.attemptCount;
  }

  /**
   * Sends one request and resolves with the reply's payload; an error
   * status other than RETRY_STATUSES rejects with FrameError (an answer).
   * Retries on unknown outcomes and "try again" statuses until retryForMs,
   * then rejects with ClusterUnavailable (for a write: outcome unknown).
   */
  async call(service: string, payload: Uint8Array, timeoutMs = this.callTimeoutMs, read = false): Promise<Buffer> {
    const retry = new Retry(this.retryForMs);
    let unavailableHere = 0; // "unavailable"/"storage" answers from the current connection
    let last: FrameClient | null = null;
    for (;;) {
      const { client, address } = await this.connection(retry);
      if (client !== last) { last = client; unavailableHere = 0; }
      this.attemptCount++;
      const reply = await client.request(service, payload, timeoutMs, read ? abi.FRAME_F_READ : 0).catch((e: Error) => e);
      if (reply instanceof Error) {
        // Outcome unknown: the node may be gone or hung. Closing the
        // connection moves every call on it to the next node together.
        this.drop(client);
        await retry.failed(address, reply);
        continue;
      }
      if (reply.status === abi.FRAME_OK) return reply.payload;
      const error = replyError(service, reply);
      if (!RETRY_STATUSES.has(reply.status)) throw error;
      if (reply.status !== abi.FRAME_E_BUSY && ++unavailableHere >= UNAVAILABLE_TRIES_PER_NODE) this.drop(client);
      await retry.failed(address, error);
    }
  }

  /** Closes the connection; calls in flight and later ones reject. */
  close(): void {
    this.closed = true;
    const client = this.current?.client;
    this.current = null;
    client?.close();
  }

  /** The open connection, or a new one (shared by the calls waiting for it), trying addresses round robin until the retry's deadline. */
  private async connection(retry: Retry): Promise<Opened & { client: FrameClient }> {
    for (;;) {
      if (this.closed) throw new Error('the cluster client is closed');
      if (this.current !== null) return this.current;
      this.opening ??= this.open().finally(() => { this.opening = null; });
      const opened = await this.opening;
      if (opened.client !== null) return opened;
      await retry.failed(opened.address, opened.error);
    }
  }

  /** Opens and authenticates a connection to the next address. */
  private async open(): Promise<Opened> {
    const node = this.nodes[this.next];
    this.next = (this.next + 1) % this.nodes.length;
    const pending = this.o.tls === undefined ? FrameClient.connect(node.host, node.port) : FrameClient.connectTls(node.host, node.port, this.o.tls);
    let client: FrameClient;
    try {
      client = await within(pending, this.callTimeoutMs, `connect to ${node.text}`);
      await client.authenticate(this.o.key, this.callTimeoutMs);
    } catch (e) {
      // A connect that completes after its timeout, or one whose auth failed,
      // is closed (FrameClient.connect can't be aborted before it completes).
      pending.then((late) => late.socket.destroy(), () => {});
      return { client: null, address: node.text, error: e as Error };
    }
    if (this.closed) { client.close(); return { client: null, address: node.text, error: new Error('the cluster client is closed') }; }
    const opened = { client, address: node.text, error: null };
    this.current = opened;
    client.socket.once('close', () => { if (this.current === opened) this.current = null; });
    this.o.onSwitch?.(node.text); // a throw from it rejects the calls waiting for this connection
    return opened;
  }

  /** Forgets `client` if it is current and destroys it, which fails its calls in flight (they retry). */
  private drop(client: FrameClient): void {
    if (this.current?.client === client) this.current = null;
    client.socket.destroy();
  }
}

/** The FrameError FrameClient.call would throw for this reply. */
function replyError(service: string, reply: Reply): FrameError {
  return new FrameError(`${service}: ${reply.payload.toString('utf8')} (status ${reply.status})`, reply.status);
}
