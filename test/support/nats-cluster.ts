// test/support/nats-cluster.ts: a throw-away NATS JetStream cluster for tests (docs/cluster.md,
// "The NATS servers in tests"), made as QENEX's cluster mode would meet one in production:
// mutual TLS between the servers' routes, TLS to clients (which verify the server against a CA
// made for the cluster), NKey users only (no passwords, no anonymous access), every JetStream
// write fsynced before it is acknowledged, and a max_payload of 24 MiB.
//
//   const cluster = await startNatsCluster();           // 3 servers; resolves once an R3 stream can be placed
//   const nc = await connect({ servers: cluster.urls, tls: { caFile: cluster.caFile },
//     authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(cluster.credsFile('client'), 'utf8').trim())) });
//   await cluster.kill(0); await cluster.start(0);        // SIGKILL a server, start it again on its ports and store
//   await cluster.stop();                                  // in test.after
//
// The servers are nats-server v2.15.3 from the cache `make nats-tools` fills (scripts/nats-server.sh).
// Each writes its stdout and stderr to s<i>.log in the cluster's directory; a cluster that does
// not come up throws with the tail of every log. Servers die with the test process: on Linux each
// is started under `setpriv --pdeathsig KILL` (so even a SIGKILLed test leaves none behind), and
// an exit handler kills whatever is still running.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, nkeys, StorageType, type NatsConnection } from 'nats';
import { freePort } from './fix-initiator.ts';

const NATS_VERSION = '2.15.3';
/**
 * The servers' max_payload: 24 MiB. One stream message is one command-log
 * batch, and the bank image's batch_bytes_max is 16 MiB (a node refuses to
 * join servers whose max_payload is smaller than a batch). nats-server warns
 * above 8 MiB and takes up to 64 MiB.
 */
const MAX_PAYLOAD_BYTES = 24 * 1024 * 1024;
/** How long a cluster, or one restarted server, may take to come up before the test fails with the logs. */
const READY_TIMEOUT_MS = 20_000;
const POLL_MS = 100;
const SETPRIV = '/usr/bin/setpriv';

/** The cached nats-server binary (scripts/nats-server.sh puts it there); throws naming `make nats-tools` if absent. */
export function natsServerPath(): string {
  const path = join(process.env.QENEX_CACHE ?? join(homedir(), '.cache', 'qenex'), `nats-server-v${NATS_VERSION}`, 'nats-server');
  if (!existsSync(path)) throw new Error(`nats-server v${NATS_VERSION} is not at ${path}: run \`make nats-tools\` (scripts/nats-server.sh builds it with Go)`);
  return path;
}

export interface NatsCluster {
  /** Client URLs, 'tls://127.0.0.1:<port>', one per server; the index is the server's number (server_name s<i>). */
  readonly urls: string[];
  /** The temporary directory holding configs, certificates, store directories and logs. */
  readonly dir: string;
  /** PEM of the throw-away CA that signed every server certificate. */
  readonly caFile: string;
  /** The servers' max_payload in bytes (24 MiB). */
  readonly maxPayload: number;
  /** A file holding the NKey seed (one line, 'SU...') of a configured user. */
  credsFile(user: string): string;
  /** The client URLs through another address of this machine (startNatsCluster's extraIp). */
  urlsVia(host: string): string[];
  /** Signals server i (SIGKILL unless told); resolves once its process has exited. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** (Re)starts server i on its same ports and store directory; resolves once it serves clients with JetStream enabled. */
  start(i: number): Promise<void>;
  alive(i: number): boolean;
  /** Kills every server and removes dir (kept when QENEX_KEEP_NATS=1). */
  stop(): Promise<void>;
}

interface Ports { client: number; http: number; route: number }

/** Every server process of every cluster in this test process, for the exit handler. */
const live = new Set<ChildProcess>();
process.on('exit', () => { for (const child of live) child.kill('SIGKILL'); });

/** n * 3 distinct ports free on 127.0.0.1 just now (freePort may hand out the same one twice). */
async function freePorts(n: number): Promise<Ports[]> {
  const seen = new Set<number>();
  while (seen.size < n * 3) seen.add(await freePort());
  const all = [...seen];
  return Array.from({ length: n }, (_, i) => ({ client: all[3 * i], http: all[3 * i + 1], route: all[3 * i + 2] }));
}

/** The CA and one certificate per server (P-256), each for 127.0.0.1 and localhost, usable both to serve and to dial a route. */
function makeCerts(dir: string, servers: number, extraIp?: string): void {
  const openssl = (args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }); };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=qenex nats test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  const ips = ['127.0.0.1', ...(extraIp !== undefined ? [extraIp] : [])].map((ip) => `IP:${ip}`).join(',');
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=${ips},DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n`);
  for (let i = 0; i < servers; i++) {
    openssl(['req', ...ec, '-subj', `/CN=s${i}`, '-keyout', `s${i}.key`, '-out', `s${i}.csr`]);
    openssl(['x509', '-req', '-in', `s${i}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
      '-extfile', 'server.ext', '-out', `s${i}.pem`]);
  }
}

/** Server i's configuration (nats-server's own format; JSON strings are valid there). */
function serverConf(dir: string, i: number, ports: Ports[], publicKeys: string[], anyHost: boolean): string {
  const q = (s: string): string => JSON.stringify(s);
  const tls = (verify: boolean): string =>
    `tls { cert_file: ${q(join(dir, `s${i}.pem`))}, key_file: ${q(join(dir, `s${i}.key`))}, ca_file: ${q(join(dir, 'ca.pem'))}, ` +
    (verify ? 'verify: true, timeout: 2 }' : 'timeout: 2 }');
  const routes = ports.filter((_, j) => j !== i).map((p) => q(`nats-route://127.0.0.1:${p.route}`));
  return [
    `server_name: s${i}`,
    // Clients on another address too (a node in a network namespace, test/support/netns.ts): every interface.
    `listen: "${anyHost ? '0.0.0.0' : '127.0.0.1'}:${ports[i].client}"`,
    `http: "127.0.0.1:${ports[i].http}"`,
    // The 24 MiB must match MAX_PAYLOAD_BYTES; max_pending (a slow client's buffer) must stay above it.
    'max_payload: 24MB',
    'max_pending: 64MB',
    // sync_interval: always fsyncs each JetStream write before it is acknowledged, as a command log needs.
    `jetstream { store_dir: ${q(join(dir, `s${i}`, 'store'))}, sync_interval: always }`,
    tls(false),
    `cluster { name: qenex, listen: "127.0.0.1:${ports[i].route}", routes: [${routes.join(', ')}], ${tls(true)} }`,
    `authorization { users: [ ${publicKeys.map((k) => `{ nkey: ${k} }`).join(', ')} ] }`,
    '',
  ].join('\n');
}

/** The last lines of every server's log, for an error message. */
function logTails(dir: string, servers: number): string {
  return Array.from({ length: servers }, (_, i) => {
    const log = join(dir, `s${i}.log`);
    const lines = existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15) : ['(no log)'];
    return `--- s${i}.log (last ${lines.length} lines)\n${lines.join('\n')}`;
  }).join('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether server i's monitoring endpoint says it is healthy with JetStream enabled. */
async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz?js-enabled-only=true`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Until the JetStream meta leader can place a stream on every server: create and delete an R<n> stream. */
async function waitForMetaLeader(nc: NatsConnection, replicas: number, deadline: number): Promise<void> {
  // No API check when made: that asks the meta leader too, before there may be one.
  const jsm = await nc.jetstreamManager({ timeout: 2_000, checkAPI: false });
  for (let lastError = '';;) {
    try {
      await jsm.streams.add({ name: 'qenex_nats_ready', subjects: ['qenex.nats.ready'], num_replicas: replicas, storage: StorageType.File });
      await jsm.streams.delete('qenex_nats_ready');
      return;
    } catch (e) {
      lastError = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`no JetStream meta leader placed an R${replicas} stream within ${READY_TIMEOUT_MS} ms: ${lastError}`);
    await sleep(POLL_MS * 2);
  }
}

class Cluster implements NatsCluster {
  readonly urls: string[];
  readonly caFile: string;
  readonly maxPayload = MAX_PAYLOAD_BYTES;
  private readonly procs: (ChildProcess | undefined)[];
  private readonly exits: Promise<void>[];

  constructor(readonly dir: string, private readonly ports: Ports[], private readonly seeds: Map<string, string>, private readonly binary: string) {
    this.urls = ports.map((p) => `tls://127.0.0.1:${p.client}`);
    this.caFile = join(dir, 'ca.pem');
    this.procs = ports.map(() => undefined);
    this.exits = ports.map(() => Promise.resolve());
  }

  urlsVia(host: string): string[] {
    return this.ports.map((p) => `tls://${host}:${p.client}`);
  }

  credsFile(user: string): string {
    if (!this.seeds.has(user)) throw new Error(`no NATS user ${JSON.stringify(user)} in this cluster (users: ${[...this.seeds.keys()].join(', ')})`);
    return join(this.dir, `${user}.nk`);
  }

  alive(i: number): boolean {
    const child = this.procs[this.check(i)];
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.alive(i)) this.procs[i]!.kill(signal);
    await this.exits[i];
  }

  async start(i: number): Promise<void> {
    this.launch(i);
    try {
      await this.ready(i, Date.now() + READY_TIMEOUT_MS);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logTails(this.dir, this.ports.length)}`);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.ports.map((_, i) => this.kill(i)));
    if (process.env.QENEX_KEEP_NATS !== '1') rmSync(this.dir, { recursive: true, force: true });
  }

  /** Spawns server i (not yet running) with its log appended to s<i>.log. */
  launch(i: number): void {
    if (this.alive(i)) throw new Error(`nats server s${i} is already running`);
    const conf = join(this.dir, `s${i}.conf`);
    const fd = openSync(join(this.dir, `s${i}.log`), 'a');
    const [cmd, args] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', this.binary, '-c', conf]] : [this.binary, ['-c', conf]];
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(child);
    this.procs[i] = child;
    this.exits[i] = new Promise((res) => child.on('exit', () => { live.delete(child); res(); }));
    child.on('error', (err) => { writeFileSync(join(this.dir, `s${i}.log`), `spawn ${cmd}: ${err.message}\n`, { flag: 'a' }); });
  }

  /** Until server i answers its health check; throws with the logs if it exits first or the deadline passes. */
  async ready(i: number, deadline: number): Promise<void> {
    while (!(await healthy(this.ports[i].http))) {
      if (!this.alive(i)) throw new Error(`nats server s${i} exited while starting`);
      if (Date.now() > deadline) throw new Error(`nats server s${i} not healthy within ${READY_TIMEOUT_MS} ms`);
      await sleep(POLL_MS);
    }
  }

  private check(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.ports.length) throw new Error(`no nats server s${i} (servers 0..${this.ports.length - 1})`);
    return i;
  }
}

/** Starts the servers and resolves once they serve clients and a JetStream meta leader places an R<servers> stream. */
/**
 * `extraIp`: an address of this machine besides 127.0.0.1 where clients reach
 * the servers (their client ports then listen on every interface, and their
 * certificates name it too); `urlsVia(extraIp)` gives those URLs.
 */
export async function startNatsCluster(opts: { servers?: number; users?: string[]; extraIp?: string } = {}): Promise<NatsCluster> {
  const servers = opts.servers ?? 3;
  const users = opts.users ?? ['n1', 'n2', 'n3', 'client'];
  if (servers < 1 || users.length === 0) throw new Error('a NATS cluster needs a server and a user');
  const binary = natsServerPath();
  const dir = mkdtempSync(join(tmpdir(), 'qenex-nats-'));
  const seeds = new Map<string, string>();
  const publicKeys: string[] = [];
  for (const user of users) {
    const kp = nkeys.createUser();
    seeds.set(user, new TextDecoder().decode(kp.getSeed()));
    publicKeys.push(kp.getPublicKey());
    writeFileSync(join(dir, `${user}.nk`), `${seeds.get(user)}\n`, { mode: 0o600 });
  }
  makeCerts(dir, servers, opts.extraIp);
  const ports = await freePorts(servers);
  for (let i = 0; i < servers; i++) {
    mkdirSync(join(dir, `s${i}`, 'store'), { recursive: true });
    writeFileSync(join(dir, `s${i}.conf`), serverConf(dir, i, ports, publicKeys, opts.extraIp !== undefined));
  }
  const cluster = new Cluster(dir, ports, seeds, binary);
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (let i = 0; i < servers; i++) cluster.launch(i);
    for (let i = 0; i < servers; i++) await cluster.ready(i, deadline);
    const nc = await connect({ servers: cluster.urls, tls: { caFile: cluster.caFile }, authenticator: nkeyAuthenticator(kpSeed(seeds, users[0])) });
    try { await waitForMetaLeader(nc, servers, deadline); } finally { await nc.close(); }
  } catch (e) {
    const tails = logTails(dir, servers);
    await cluster.stop();
    throw new Error(`the NATS cluster in ${dir} did not come up (QENEX_KEEP_NATS=1 keeps the directory): ${(e as Error).message}\n${tails}`);
  }
  return cluster;
}

const kpSeed = (seeds: Map<string, string>, user: string): Uint8Array => new TextEncoder().encode(seeds.get(user)!);
