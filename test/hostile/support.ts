// test/hostile/support.ts: what the hostile-client tests share. Each test
// file boots a real server process (the CLI, as an operator would) and
// attacks it over loopback; while an attack runs, a *probe* from another
// client address is answered, and the test proves it with an ordering: a
// snapshot of the attack's state taken at the moment the probe's answer
// arrived (attacker sockets still open, a slow request still unanswered),
// never with a stopwatch.
//
// Loopback addresses (127.0.0.0/8 is all loopback on Linux; the server
// listens on 127.0.0.1 and sees each client's own source address):
//   127.0.0.1          attackers (the default source)
//   127.0.0.2          probes: a client that is not the attacker
//   127.0.0.3          the failed-authentication attacker
//   127.0.0.4          a client with a valid key (and the tests' own admin calls)
//   127.0.1.x, 127.0.2.x  unauthenticated floods spread over addresses (each
//                      address stays within the failed-auth burst, so each
//                      refusal is a 401, not the throttle's 429)
//   127.0.3.x          the connection table attacked from many addresses
//   127.0.4.x          the tests' own metrics requests while the table is held
//                      (each from an address that holds no connection)
//   127.0.5.x-127.0.10.x  event-stream clients, one address per test round
//   127.0.11.x         binary frames announced without a key (15 addresses)
//
// Scale: QENEX_HOSTILE_SCALE (default 1; `make test-hostile` uses 10)
// multiplies attack sizes. Bounds that do not depend on the attack size
// (memory) stay the same at every scale: that is the point.

import http from 'node:http';
import net from 'node:net';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import type { Manifest } from '../../host/manifest.ts';
import { bankManifest, ENTRY_HEADER_BYTES, ENTRY_MAGIC, event, makeImage, runCli, Server, type TestImage } from '../support/helpers.ts';
import { entryPadded, readEntryHeader } from '../../host/base/log-entry.ts';

export const PROBE_ADDRESS = '127.0.0.2';
export const VALID_KEY_ADDRESS = '127.0.0.4';

/** QENEX_HOSTILE_SCALE: a positive integer multiplier of attack sizes (default 1). */
export const SCALE = ((): number => {
  const raw = process.env.QENEX_HOSTILE_SCALE;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`QENEX_HOSTILE_SCALE must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
})();

/** `n` times the scale. */
export function scaled(n: number): number {
  return n * SCALE;
}

/**
 * How long the tests wait for something that must happen before they call
 * it a failure (a liveness deadline so a broken server fails the test
 * instead of hanging it; never a performance assertion). Grows with the scale.
 */
export const DEADLINE_MS = 30_000 + 6_000 * (SCALE - 1);

// ---- a booted server ----

export interface Booted {
  img: TestImage;
  data: string;
  logPath: string;
  server: Server;
  host: string;
  port: number;
  keys: Record<string, string>;
  keyIds: Record<string, number>;
  ready: Record<string, unknown>;
}

export interface BootOptions {
  manifest?: Manifest;
  /** Environment of the server process (timeouts shortened for the test). */
  env?: Record<string, string>;
  /** API keys to create with the console before serving: name -> `qenex keys create` arguments (e.g. ['--role', 'admin']). */
  keys?: Record<string, string[]>;
}

/** Creates one API key with the console while the machine is stopped. */
export function cliKey(img: TestImage, data: string, args: string[]): { id: number; key: string } {
  const r = runCli(['keys', 'create', '--data', data, '--trust', img.pubPath, ...args]);
  assert.is(r.code, 0, r.stderr);
  const e = event(r.events, 'key_created') as { id: number; key: string } | undefined;
  assert.ok(e !== undefined, `no key_created line: ${r.stdout}`);
  assert.match(e.key, /^qx_[A-Za-z0-9_-]{43}$/);
  return e;
}

/** A fresh image and data dir (first boot --once), keys from the console, then a server on 127.0.0.1:0. */
export async function boot(prefix: string, opts: BootOptions = {}): Promise<Booted> {
  const img = makeImage(prefix, opts.manifest ?? bankManifest());
  const data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  const keys: Record<string, string> = {};
  const keyIds: Record<string, number> = {};
  for (const [name, args] of Object.entries(opts.keys ?? {})) {
    const k = cliKey(img, data, args);
    keys[name] = k.key;
    keyIds[name] = k.id;
  }
  const server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0'], opts.env ?? {});
  const { host, port } = await server.address();
  const ready = await server.waitFor('ready');
  return { img, data, logPath: join(data, 'log.qxl'), server, host, port, keys, keyIds, ready };
}

/**
 * SIGTERM, the `stopped` line's state hash, then `qenex replay --data`: the
 * replayed hash must equal it (what the attacks left in the log rebuilds the
 * same state). Returns both lines.
 */
export async function stopAndReplay(b: Booted): Promise<{ stopped: Record<string, unknown>; replay: Record<string, unknown> }> {
  b.server.child.kill('SIGTERM');
  const stopped = await b.server.waitFor('stopped', DEADLINE_MS);
  const code = await b.server.exited;
  assert.is(code, 0, `the server exits 0 after SIGTERM; stderr: ${b.server.stderr}`);
  const r = runCli(['replay', '--data', b.data], 120_000);
  assert.is(r.code, 0, r.stderr);
  const replay = event(r.events, 'replay');
  assert.ok(replay !== undefined, `no replay line: ${r.stdout}`);
  assert.type(stopped.state_hash, 'string');
  assert.is(replay.state_hash, stopped.state_hash, 'replay rebuilds the state hash the server stopped with');
  assert.is(replay.entries, stopped.entries, 'replay applies as many entries as the server had');
  return { stopped, replay };
}

// ---- the command log ----

/**
 * Entries in the command log (layout: hal/log.ts; the same walk as
 * test/support/helpers.ts logEntries, reading only entry headers, so a
 * preallocated 256 MiB file is not read whole).
 */
export function logEntryCount(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(ENTRY_HEADER_BYTES);
    let off = 0;
    let count = 0;
    for (;;) {
      if (readSync(fd, head, 0, ENTRY_HEADER_BYTES, off) < ENTRY_HEADER_BYTES) return count;
      if (head.readUInt32LE(0) !== ENTRY_MAGIC) return count;
      const total = readEntryHeader(head).total;
      if (total < ENTRY_HEADER_BYTES) return count;
      count++;
      off += entryPadded(total);
    }
  } finally {
    closeSync(fd);
  }
}

// ---- the server's memory ----

/** The resident set of a process in bytes (/proc/<pid>/status VmRSS). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

export const MiB = 1024 * 1024;

/** Samples a process's RSS every few ms while an attack runs; `peak` is the largest seen. */
export class RssSampler {
  readonly baseline: number;
  peak: number;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number, everyMs = 25) {
    this.baseline = rssBytes(pid);
    this.peak = this.baseline;
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref(); // a test that failed before stop() must not be kept alive by it
  }
  sample(): void {
    try { this.peak = Math.max(this.peak, rssBytes(this.pid)); } catch { /* the process is gone */ }
  }
  stop(): { baseline: number; peak: number; growth: number } {
    clearInterval(this.timer);
    this.sample();
    return { baseline: this.baseline, peak: this.peak, growth: this.peak - this.baseline };
  }
}

export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

// ---- probes ----

export interface Answer<T = undefined> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** What `snapshot` returned at the moment the whole answer had arrived. */
  seen: T;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  localAddress?: string;
}

/**
 * One HTTP request on its own connection from `localAddress` (default: the
 * probe address); `snapshot` is called synchronously when the answer's last
 * byte arrived, so what it returns is the attack's state at that moment.
 */
export function request<T = undefined>(port: number, opts: RequestOptions = {}, snapshot?: () => T): Promise<Answer<T>> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/v1/health', agent: false,
      localAddress: opts.localAddress ?? PROBE_ADDRESS, headers: opts.headers ?? {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const seen = snapshot?.() as T;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), seen });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => { req.destroy(new Error(`${opts.method ?? 'GET'} ${opts.path ?? '/v1/health'} from ${opts.localAddress ?? PROBE_ADDRESS}: no answer within ${DEADLINE_MS} ms`)); }, DEADLINE_MS);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.end(opts.body);
  });
}

/** GET /v1/health from the probe address: 200 {"status":"ok"}, with the attack's state when it arrived. */
export async function probe<T>(port: number, snapshot: () => T): Promise<T> {
  const a = await request(port, {}, snapshot);
  assert.is(a.status, 200, `the probe from ${PROBE_ADDRESS} is served: ${a.body}`);
  assert.equal(JSON.parse(a.body), { status: 'ok' });
  return a.seen;
}

/** GET /metrics with a key (from the valid-key address unless given); the Prometheus text. */
export async function metricsText(port: number, key: string, localAddress = VALID_KEY_ADDRESS): Promise<string> {
  const a = await request(port, { path: '/metrics', headers: { authorization: `Bearer ${key}` }, localAddress });
  assert.is(a.status, 200, a.body);
  return a.body;
}

/** One sample's value from Prometheus text: `name{labels} value` (labels exactly as written), or undefined. */
export function metric(text: string, name: string, labels = ''): number | undefined {
  const want = labels === '' ? name : `${name}{${labels}}`;
  for (const line of text.split('\n')) {
    if (line.startsWith(want + ' ')) return Number(line.slice(want.length + 1));
  }
  return undefined;
}

// ---- raw sockets ----

/** A raw TCP client that keeps every byte it got and says whether it was ended or closed. */
export class RawConn {
  readonly chunks: Buffer[] = [];
  received = 0;
  ended = false;
  closed = false;
  error: NodeJS.ErrnoException | null = null;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => { this.chunks.push(d); this.received += d.length; this.wake(); });
    socket.on('end', () => { this.ended = true; this.wake(); });
    socket.on('error', (e: NodeJS.ErrnoException) => { this.error ??= e; this.wake(); });
    socket.on('close', () => { this.closed = true; this.wake(); });
  }

  /** Connects from `localAddress` (default 127.0.0.1); `allowHalfOpen`: the client never ends its side by itself. */
  static open(port: number, opts: { localAddress?: string; allowHalfOpen?: boolean } = {}): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: opts.localAddress ?? '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false, noDelay: true });
      const conn = new RawConn(socket);
      socket.once('connect', () => { socket.off('error', reject); resolve(conn); });
      socket.once('error', reject);
    });
  }

  data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Resolves when `pred` holds (checked at every socket event); fails after the deadline. */
  until(pred: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
    return until(pred, what, timeoutMs, (w) => this.waiters.push(w));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Polls `pred` (and wakes on `subscribe`'s callback) until it holds (an async `pred` is awaited); rejects after `timeoutMs` saying what did not happen. */
export async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = DEADLINE_MS, subscribe?: (wake: () => void) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`${what}: did not happen within ${timeoutMs} ms`);
    await new Promise<void>((r) => { subscribe?.(r); setTimeout(r, 20); });
  }
}

export interface HttpResponse {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** Parses the HTTP/1.1 responses in `data`, in order (Content-Length framing; a trailing partial response is left out). */
export function parseResponses(data: Buffer): HttpResponse[] {
  const out: HttpResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', at, 'latin1');
    if (headEnd < 0) break;
    const lines = data.toString('latin1', at, headEnd).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) /.exec(lines[0]);
    if (m === null) throw new Error(`not an HTTP response at byte ${at}: ${JSON.stringify(lines[0].slice(0, 80))}`);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':');
      headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
    }
    const length = Number(headers.get('content-length') ?? 0);
    const bodyStart = headEnd + 4;
    if (bodyStart + length > data.length) break;
    out.push({ status: Number(m[1]), headers, body: data.subarray(bodyStart, bodyStart + length) });
    at = bodyStart + length;
  }
  return out;
}

/** The error code of a JSON error body ({"error":{"code"}}). */
export function errorCode(body: Buffer | string): string | undefined {
  try { return JSON.parse(body.toString())?.error?.code; } catch { return undefined; }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Prints one line the test runner passes on ("summary: ..."), for people reading `make test`. */
export function summary(file: string, text: string): void {
  // A line of its own: uvu's progress dots have no newline.
  console.log(`\nsummary: hostile/${file}: ${text}`);
}
