// test/bench/http.bench.ts: the HTTP API with keep-alive, against a minimal
// Node `http` server that does no work, measured in the same run with the
// same load generator.
//
// The load generator (below, no dependency) opens C keep-alive connections
// and keeps one request in flight on each, for a fixed time after a warm-up;
// it counts responses and records each request's latency. Rows:
//   node:http          GET / answered with a constant JSON body (the peer)
//   QENEX health       GET /v1/health: the HTTP offload alone (no kernel)
//   QENEX lookup       POST /v1/accounts/lookup with a key (an image whose
//                      per-address limit is above the load): offload, kernel
//                      admission (key, role, rate limit), then a read: the
//                      ledger answers from the applied state, no log entry
//                      (docs/architecture.md) — the full authenticated path
// plus single-request latency (one connection, one request at a time) for
// the peer and the authenticated lookup. The generator runs in this process
// for every row, so its own cost is shared alike.

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import type { Manifest } from '../../host/manifest.ts';
import { bankManifest, writeBenchImage } from './ledger/image.ts';
import { CLI, MACHINE_FILES, Server, percentile, ratio, round, tempDir, timeChild, type Bench, type FigureSpec, type Figures } from './support.ts';

const CONNECTIONS = 16;
const MANY_CONNECTIONS = 64; // more requests share each flush (group commit)
const WARMUP_MS = 1000;
const DURATION_MS = 5000;
const LATENCY_REQUESTS = 2000;

const RATE = 'requests/s';
const P50 = 'p50 ms';
const P99 = 'p99 ms';
const VS = '× node:http req/s';

const FIGURES: FigureSpec[] = [
  { key: 'node_requests_per_s', row: 'node:http (no work), 16 conns', col: RATE },
  { key: 'node_p50_ms', row: 'node:http (no work), 16 conns', col: P50 },
  { key: 'node_p99_ms', row: 'node:http (no work), 16 conns', col: P99 },
  { key: 'health_requests_per_s', row: 'QENEX GET /v1/health, 16 conns', col: RATE },
  { key: 'health_p50_ms', row: 'QENEX GET /v1/health, 16 conns', col: P50 },
  { key: 'health_p99_ms', row: 'QENEX GET /v1/health, 16 conns', col: P99 },
  { key: 'health_vs_node_ratio', row: 'QENEX GET /v1/health, 16 conns', col: VS },
  { key: 'lookup_requests_per_s', row: 'QENEX lookup (key, admission, read), 16 conns', col: RATE },
  { key: 'lookup_p50_ms', row: 'QENEX lookup (key, admission, read), 16 conns', col: P50 },
  { key: 'lookup_p99_ms', row: 'QENEX lookup (key, admission, read), 16 conns', col: P99 },
  { key: 'lookup_vs_node_ratio', row: 'QENEX lookup (key, admission, read), 16 conns', col: VS },
  { key: 'lookup64_requests_per_s', row: 'QENEX lookup, 64 conns', col: RATE },
  { key: 'lookup64_p50_ms', row: 'QENEX lookup, 64 conns', col: P50 },
  { key: 'lookup64_p99_ms', row: 'QENEX lookup, 64 conns', col: P99 },
  { key: 'node_single_p50_ms', row: 'node:http single request', col: P50 },
  { key: 'node_single_p99_ms', row: 'node:http single request', col: P99 },
  { key: 'lookup_single_p50_ms', row: 'QENEX lookup single request', col: P50 },
  { key: 'lookup_single_p99_ms', row: 'QENEX lookup single request', col: P99 },
];

// ---- a keep-alive load generator ----

interface LoadResult { requests: number; seconds: number; latenciesMs: number[]; errors: number }

/** One connection sending `request` again and again, one at a time, until `until()` is false. */
function connectionLoop(port: number, request: Buffer, record: (ms: number, ok: boolean) => void, until: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let buffer = Buffer.alloc(0);
    let sentAt = 0;
    const send = () => {
      if (!until()) { socket.end(); return; }
      sentAt = performance.now();
      socket.write(request);
    };
    socket.on('connect', send);
    socket.on('data', (chunk) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.toString('latin1', 0, end);
        const m = /\r\ncontent-length: *(\d+)/i.exec(head);
        const total = end + 4 + (m === null ? 0 : Number(m[1]));
        if (buffer.length < total) return;
        record(performance.now() - sentAt, head.startsWith('HTTP/1.1 200'));
        buffer = buffer.subarray(total);
        send();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

async function load(port: number, request: Buffer, connections: number, warmupMs: number, durationMs: number): Promise<LoadResult> {
  const started = performance.now();
  const measureFrom = started + warmupMs;
  const stopAt = measureFrom + durationMs;
  const latenciesMs: number[] = [];
  let requests = 0;
  let errors = 0;
  // Only answered lookups count: a refusal (a 429 from a limit, say) is not the path being measured.
  const record = (ms: number, ok: boolean) => {
    if (performance.now() < measureFrom) return;
    if (!ok) { errors++; return; }
    requests++;
    latenciesMs.push(ms);
  };
  await Promise.all(Array.from({ length: connections }, () => connectionLoop(port, request, record, () => performance.now() < stopAt)));
  return { requests, seconds: durationMs / 1000, latenciesMs, errors };
}

async function single(port: number, request: Buffer, count: number): Promise<number[]> {
  const latencies: number[] = [];
  let n = 0;
  await connectionLoop(port, request, (ms, ok) => { if (!ok) throw new Error('single request failed'); if (n++ >= 100) latencies.push(ms); }, () => n < count + 100);
  return latencies;
}

// ---- servers ----

const NODE_PEER = `require('http').createServer((q, s) => {
  q.resume();
  q.on('end', () => { s.setHeader('Content-Type', 'application/json'); s.end('{"status":"ok"}'); });
}).listen(0, '127.0.0.1', function () { console.log(JSON.stringify({ event: 'ready', port: this.address().port })); });`;

function startPeer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', NODE_PEER], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`node:http peer exited (${code})`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, port: (JSON.parse(line) as { port: number }).port }));
  });
}

function httpRequest(method: string, path: string, headers: Record<string, string>, body = ''): Buffer {
  let text = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  if (body !== '') text += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  return Buffer.from(`${text}\r\n${body}`, 'latin1');
}

/** The bank manifest with the gateway's per-address rate and burst at the most a key may have. */
function unlimitedSourceManifest(): Manifest {
  return bankManifest((_, service) => {
    const gateway = service('gateway');
    if (gateway.config === undefined) throw new Error('images/bank/manifest.json: no gateway config');
    gateway.config = { ...gateway.config, source_rate_per_second: 1_000_000, source_burst: 1_000_000 };
  });
}

function fill(figures: Figures, prefix: string, r: LoadResult): void {
  figures[`${prefix}_requests_per_s`] = round(r.requests / r.seconds, 6);
  figures[`${prefix}_p50_ms`] = round(percentile(r.latenciesMs, 50), 4);
  figures[`${prefix}_p99_ms`] = round(percentile(r.latenciesMs, 99), 4);
}

const bench: Bench = {
  name: 'http',
  title: 'HTTP API with keep-alive vs a minimal node:http server',
  figures: FIGURES,
  requires: MACHINE_FILES,
  async run() {
    const figures: Figures = {};
    const notes: string[] = [];
    const data = tempDir('http-bench');
    // The bank image, but with the per-address limit of its gateway above what
    // one load generator sends (the shipped 20,000/s would cap the figure).
    const image = tempDir('http-bench-image');
    const { imagePath, pubPath } = writeBenchImage(image, unlimitedSourceManifest());
    const first = await timeChild([CLI, 'boot', imagePath, '--data', data, '--trust', pubPath, '--once'], 'ready');
    if (first.code !== 0) throw new Error(`boot --once failed: ${first.stderr}`);
    const created = await timeChild([CLI, 'keys', 'create', '--data', data, '--trust', pubPath, '--role', 'operator', '--rate', '1000000', '--burst', '1000000']);
    const key = (created.events.find((e) => e.event === 'key_created') as { key: string } | undefined)?.key;
    if (key === undefined) throw new Error(`keys create failed: ${created.stderr}`);
    const server = Server.start(data, imagePath, pubPath);
    const peer = await startPeer();
    try {
      const { port } = await server.address();
      const auth = { Authorization: `Bearer ${key}` };
      const accounts = JSON.stringify([{ id: '1', ledger: 1, code: 1 }, { id: '2', ledger: 1, code: 1 }]);
      const setup = await load(port, httpRequest('POST', '/v1/accounts', auth, accounts), 1, 0, 200);
      if (setup.errors > 0) notes.push('account setup answered non-200');
      const lookup = httpRequest('POST', '/v1/accounts/lookup', auth, JSON.stringify({ ids: ['1', '2'] }));
      const nodeLoad = await load(peer.port, httpRequest('GET', '/', {}), CONNECTIONS, WARMUP_MS, DURATION_MS);
      const health = await load(port, httpRequest('GET', '/v1/health', {}), CONNECTIONS, WARMUP_MS, DURATION_MS);
      const looked = await load(port, lookup, CONNECTIONS, WARMUP_MS, DURATION_MS);
      const many = await load(port, lookup, MANY_CONNECTIONS, WARMUP_MS, DURATION_MS);
      for (const [name, r] of [['node', nodeLoad], ['health', health], ['lookup', looked], ['lookup64', many]] as const) {
        fill(figures, name, r);
        if (r.errors > 0) notes.push(`${name}: ${r.errors} responses were not 200`);
      }
      figures.health_vs_node_ratio = round(ratio(figures.health_requests_per_s, figures.node_requests_per_s), 4);
      figures.lookup_vs_node_ratio = round(ratio(figures.lookup_requests_per_s, figures.node_requests_per_s), 4);
      const nodeSingle = await single(peer.port, httpRequest('GET', '/', {}), LATENCY_REQUESTS);
      const lookupSingle = await single(port, lookup, LATENCY_REQUESTS);
      figures.node_single_p50_ms = round(percentile(nodeSingle, 50), 4);
      figures.node_single_p99_ms = round(percentile(nodeSingle, 99), 4);
      figures.lookup_single_p50_ms = round(percentile(lookupSingle, 50), 4);
      figures.lookup_single_p99_ms = round(percentile(lookupSingle, 99), 4);
      notes.push('a lookup is a read: admitted (key, role, rate), then answered by the ledger from the applied state, without a log entry or a flush');
      notes.push('target from the issue: >= 0.7 x node:http requests/s');
    } finally {
      peer.child.kill('SIGKILL');
      await server.stop();
    }
    return {
      figures, notes,
      params: { connections: CONNECTIONS, many_connections: MANY_CONNECTIONS, warmup_ms: WARMUP_MS, duration_ms: DURATION_MS, single_requests: LATENCY_REQUESTS },
    };
  },
};

export default bench;
