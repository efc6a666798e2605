// The NATS cluster harness (test/support/nats-cluster.ts; docs/cluster.md, "The NATS servers
// in tests"), proven against the nats client the cluster mode uses. Proves that the cluster it
// starts (three nats-server v2.15.3, mutual TLS on routes, TLS and NKey users for clients):
//   - serves a client that trusts its CA and signs with a configured NKey: a file-backed stream
//     with three replicas is placed, a publish that expects the stream's last sequence is
//     stored, one that expects a stale last sequence is refused, and a 17 MiB message is taken
//     (max_payload raised to 24 MiB, as the servers announce);
//   - runs each server as configured, by the server's own /varz: JetStream fsyncs every write
//     (sync_interval: always), routes need TLS with verified peers, clients need TLS and auth;
//     and a route dialled without a client certificate is refused in the TLS handshake;
//   - refuses a client without credentials, with an NKey it does not know, or that does not
//     trust the cluster's CA (the TLS handshake fails before any credentials are sent);
//   - survives a SIGKILL of the stream's leader (another takes over and publishes go on), stops
//     acknowledging with two of three servers dead (no quorum), and after both are started
//     again on their store directories acknowledges again with nothing acknowledged lost, each
//     message intact under its sequence, every replica current.
// `make nats-tools` is run first (make test does); without the binary the set-up fails naming it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import {
  connect, nkeyAuthenticator, nkeys, StorageType,
  type ConnectionOptions, type JetStreamClient, type JetStreamManager, type NatsConnection, type PubAck,
} from 'nats';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster.ts';

const STREAM = 'QENEX_LOG';
const SUBJECT = 'qenex.log';
/** How long a publish waits for its acknowledgement before it counts as refused. */
const PUBLISH_TIMEOUT_MS = 2_000;
/** How long the cluster may take to elect a new stream leader, or to come back after a restart. */
const RECOVERY_TIMEOUT_MS = 30_000;

let cluster: NatsCluster;
/** What took how long, printed for people in the summary line (never asserted). */
const timings: string[] = [];
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
/** The parts of a server's /varz (its monitoring endpoint) that the configuration sets. */
interface Varz {
  server_name: string; max_payload: number; tls_required?: boolean; auth_required?: boolean;
  cluster: { tls_required?: boolean; tls_verify?: boolean };
  jetstream: { config: { sync_always?: boolean } };
}
/** Every message the stream acknowledged, by its sequence. */
const acked = new Map<number, Uint8Array>();

const seedOf = (user: string): Uint8Array => new TextEncoder().encode(readFileSync(cluster.credsFile(user), 'utf8').trim());
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const lastAcked = (): number => Math.max(0, ...acked.keys());

/** Options of a client that trusts the CA and signs as user; it reconnects to whichever server is alive. */
function clientOptions(user: string): ConnectionOptions {
  return { servers: cluster.urls, tls: { caFile: cluster.caFile }, authenticator: nkeyAuthenticator(seedOf(user)),
    maxReconnectAttempts: -1, reconnectTimeWait: 100, timeout: PUBLISH_TIMEOUT_MS };
}

/** The error connecting with these options, to one server, once. */
async function refusal(opts: ConnectionOptions): Promise<Error & { code?: string }> {
  try {
    const c = await connect({ servers: cluster.urls[0], reconnect: false, timeout: PUBLISH_TIMEOUT_MS, ...opts });
    await c.close();
  } catch (e) {
    return e as Error & { code?: string };
  }
  return assert.unreachable('the connection was accepted') as never;
}

/** fn's result, asked again until it succeeds or RECOVERY_TIMEOUT_MS passes (then its last error fails the test). */
async function eventually<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) assert.unreachable(`${what} within ${RECOVERY_TIMEOUT_MS} ms: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Publishes data under msgID until the stream acknowledges it; a retry of a stored one is deduplicated, not stored twice. */
async function publishAcked(data: Uint8Array, msgID: string): Promise<PubAck> {
  const ack = await eventually(`publish ${msgID}`, () => js.publish(SUBJECT, data, { msgID, timeout: PUBLISH_TIMEOUT_MS }));
  acked.set(ack.seq, data);
  return ack;
}

/** The server number (s<i>) that leads the stream now. */
async function streamLeader(): Promise<number> {
  const leader = (await jsm.streams.info(STREAM)).cluster?.leader;
  if (leader === undefined || !/^s\d+$/.test(leader)) throw new Error(`no stream leader (${leader})`);
  return Number(leader.slice(1));
}

/** The port a server logged it listens on for what ('http monitor', 'route connections'). */
function loggedPort(i: number, what: string): number {
  const port = new RegExp(`(?:Starting|Listening for) ${what} on 127\\.0\\.0\\.1:(\\d+)`).exec(readFileSync(join(cluster.dir, `s${i}.log`), 'utf8'))?.[1];
  assert.ok(port !== undefined, `s${i} logged the port of its ${what}`);
  return Number(port);
}

/** How a route port ends a TLS connection that trusts the CA but shows no certificate: the error, or that it closed without one. */
function routeWithoutCertificate(port: number): Promise<string> {
  // A route starts TLS first thing (INFO and CONNECT come after the handshake).
  const sock = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(cluster.caFile), servername: 'localhost' });
  sock.resume();
  return new Promise((res) => { sock.once('error', (e) => res(e.message)); sock.once('close', () => res('closed without an error')); });
}

/** fn's result; how long it took goes into the summary line under what. */
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await fn();
  timings.push(`${what} ${Date.now() - started} ms`);
  return result;
}

test.before(async () => {
  cluster = await timed('cluster up', () => startNatsCluster());
  nc = await connect(clientOptions('client'));
  js = nc.jetstream({ timeout: PUBLISH_TIMEOUT_MS });
  jsm = await nc.jetstreamManager({ timeout: PUBLISH_TIMEOUT_MS });
});

test.after(async () => {
  await nc?.close();
  await cluster?.stop();
  console.log(`\nsummary: nats cluster: ${timings.join(', ')}`);
});

test('a trusted client with an NKey: R3 file stream, expected-last-sequence publishes, a stale one refused, 17 MiB taken', async () => {
  assert.is(nc.info?.max_payload, cluster.maxPayload, 'the servers announce the raised max_payload');
  assert.is(cluster.maxPayload, 24 * 1024 * 1024);
  const si = await jsm.streams.add({ name: STREAM, subjects: [SUBJECT], num_replicas: 3, storage: StorageType.File });
  assert.is(si.config.num_replicas, 3);
  assert.is(si.config.storage, StorageType.File);
  assert.is(si.cluster?.replicas?.length, 2, 'a leader and two followers');
  for (const [i, expected] of [[1, 0], [2, 1]]) {
    const data = text(`command ${i}`);
    const ack = await js.publish(SUBJECT, data, { expect: { lastSequence: expected }, timeout: PUBLISH_TIMEOUT_MS });
    assert.is(ack.seq, i);
    acked.set(ack.seq, data);
  }
  const stale = await js.publish(SUBJECT, text('stale'), { expect: { lastSequence: 1 }, timeout: PUBLISH_TIMEOUT_MS }).then(() => null, (e: Error) => e);
  assert.ok(stale !== null, 'a publish expecting a stale last sequence was stored');
  assert.match(stale.message, /wrong last sequence/);
  const big = randomBytes(17 * 1024 * 1024); // above a batch of the bank image (16 MiB), which a stream message carries
  const ack = await js.publish(SUBJECT, big, { expect: { lastSequence: 2 }, timeout: 10_000 });
  assert.is(ack.seq, 3);
  acked.set(ack.seq, big);
  assert.ok(Buffer.from((await jsm.streams.getMessage(STREAM, { seq: 3 })).data).equals(big), 'the 17 MiB message comes back whole');
  assert.is((await jsm.streams.info(STREAM)).state.last_seq, 3);
});

test('each server runs as configured, by its own /varz: fsync always, mutual TLS on routes, TLS and auth for clients, 24 MiB; a route without a certificate is refused', async () => {
  for (let i = 0; i < cluster.urls.length; i++) {
    // The monitoring and route ports as the server reports them in its log (the API leaves them out: only this test needs them).
    const port = loggedPort(i, 'http monitor');
    const varz = await (await fetch(`http://127.0.0.1:${port}/varz`)).json() as Varz;
    assert.is(varz.server_name, `s${i}`);
    assert.is(varz.max_payload, cluster.maxPayload);
    assert.ok(varz.tls_required && varz.auth_required, `s${i}: TLS and authentication required of clients`);
    assert.ok(varz.cluster.tls_required && varz.cluster.tls_verify, `s${i}: routes over TLS with the peer's certificate verified`);
    assert.is(varz.jetstream.config.sync_always, true, `s${i}: every JetStream write fsynced before its acknowledgement`);
    assert.match(await routeWithoutCertificate(loggedPort(i, 'route connections')), /certificate required/, `s${i}: a route needs a certificate`);
  }
});

test('refused: no credentials, an NKey the servers do not know, a client that does not trust the CA', async () => {
  const anonymous = await refusal({ tls: { caFile: cluster.caFile } });
  assert.is(anonymous.code, 'AUTHORIZATION_VIOLATION', anonymous.message);
  const stranger = await refusal({ tls: { caFile: cluster.caFile }, authenticator: nkeyAuthenticator(nkeys.createUser().getSeed()) });
  assert.is(stranger.code, 'AUTHORIZATION_VIOLATION', stranger.message);
  const distrustful = await refusal({ authenticator: nkeyAuthenticator(seedOf('client')) });
  assert.match(`${distrustful.code} ${distrustful.message}`, /certificate|CERT/, 'refused for the server certificate');
  timings.push(`(refused: ${anonymous.code}, ${stranger.code}, ${distrustful.code ?? distrustful.message})`);
});

test('one server killed: still acknowledged; two: refused (no quorum); both started again: acknowledged, nothing lost', async () => {
  const first = await eventually('the stream leader', streamLeader);
  await cluster.kill(first);
  assert.not.ok(cluster.alive(first));
  const before = lastAcked();
  const one = await timed('leader killed to acknowledged', () => publishAcked(text('one server down'), 'one-down'));
  assert.is(one.seq, before + 1);
  const second = await eventually('a new stream leader', streamLeader);
  assert.is.not(second, first, 'the killed leader is not the leader');
  await cluster.kill(second);
  assert.not.ok(cluster.alive(second));
  // The one server left is a follower, and only a stream's leader listens on its subjects: the
  // publish finds no responder (503) or times out, and is not stored then or later.
  const refused = await timed('no-quorum publish refused', () => js.publish(SUBJECT, text('no quorum'), { msgID: 'no-quorum', timeout: PUBLISH_TIMEOUT_MS })
    .then(() => null, (e: Error & { code?: string }) => e));
  assert.ok(refused !== null, 'a publish was acknowledged with two of three servers dead');
  timings.push(`(refused: ${refused.code ?? refused.message})`);
  await timed('two restarted', () => Promise.all([cluster.start(first), cluster.start(second)]));
  assert.ok(cluster.alive(first) && cluster.alive(second));
  const again = await timed('restarted to acknowledged', () => publishAcked(text('both back'), 'both-back'));
  assert.is(again.seq, one.seq + 1, 'the refused publish was not stored');
  const si = await jsm.streams.info(STREAM);
  assert.is(si.state.last_seq, again.seq);
  assert.is(si.state.messages, acked.size);
  for (const [seq, data] of acked) {
    assert.ok(Buffer.from((await jsm.streams.getMessage(STREAM, { seq })).data).equals(data), `message ${seq} intact`);
  }
  await eventually('every replica current', async () => {
    const replicas = (await jsm.streams.info(STREAM)).cluster?.replicas ?? [];
    if (replicas.length !== 2 || !replicas.every((r) => r.current)) throw new Error(JSON.stringify(replicas));
  });
});

test.run();
