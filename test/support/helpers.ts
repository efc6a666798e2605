// test/support/helpers.ts: what the integration tests share: fresh signed
// images in temp dirs, running the real CLI as a child process, reading its
// JSON event lines, and walking a command log file.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { generateKeyPair, writeKeyPair } from '../../host/base/keys.ts';
import { packImage, signImage } from '../../host/image.ts';
import { validateManifest, type JsonObject, type Manifest } from '../../host/manifest.ts';
import { ENTRY_HEADER_BYTES, ENTRY_MAGIC } from '../../hal/log.ts';
import { entryPadded, readEntryHeader } from '../../host/base/log-entry.ts';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const CLI = join(ROOT, 'dist/qenex.js');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `qenex-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function bankManifest(): Manifest {
  return validateManifest(JSON.parse(readFileSync(join(ROOT, 'images/bank/manifest.json'), 'utf8')));
}

/** The bank image's manifest with the gateway's rate limits off (0: none), for tests and benchmarks that load it hard. */
export function bankManifestUnlimited(): Manifest {
  const m = bankManifest();
  const gateway = m.services.find((s) => s.name === 'gateway')!;
  gateway.config = { ...gateway.config, source_rate_per_second: 0, source_burst: 0, key_rate_per_second: 0, key_burst: 0 };
  return m;
}

/**
 * One instrument settled on the ledger, as the trading tests and benchmarks
 * trade it: id 1, cash on ledger 1 (scale 2), the asset on ledger 4 (scale 0),
 * tick and lot 1, no band, transfers of code 7 through escrows 10 and 11.
 */
export function settledInstrument(symbol: string, qtyMax: number): JsonObject {
  return { id: 1, symbol, price_scale: 2, qty_scale: 0, tick: 1, lot: 1, qty_max: qtyMax, band_bps: 0, cash_ledger: 1, asset_ledger: 4, code: 7,
    cash_escrow: '10', asset_escrow: '11' };
}

/** bankManifestUnlimited with the trading service trading `instrument` (settledInstrument), settled on the ledger as the bank image says. */
export function bankTradingManifest(instrument: JsonObject): Manifest {
  const m = bankManifestUnlimited();
  const trading = m.services.find((s) => s.name === 'trading')!;
  trading.config = { ...trading.config, instruments: [instrument] };
  return m;
}

/**
 * The demo image (images/demo): the bank image plus echo and counter, two
 * example services that take unauthenticated frames; for tests of the net
 * device, durability and recovery that need a service anyone can write to.
 */
export function demoManifest(): Manifest {
  return validateManifest(JSON.parse(readFileSync(join(ROOT, 'images/demo/manifest.json'), 'utf8')));
}

/**
 * The demo image with the ledger also taking frames straight from the
 * network (the "net" capability), as no shipped image does: for tests of
 * durability and recovery that drive the ledger with the binary protocol and
 * are not about authentication. Everything else uses bankManifest().
 */
export function directLedgerManifest(): Manifest {
  const m = demoManifest();
  const ledger = m.services.find((s) => s.name === 'ledger');
  if (ledger === undefined) throw new Error('the bank manifest has no ledger service');
  if (!ledger.caps.includes('net')) ledger.caps = ['net', ...ledger.caps];
  return m;
}

export interface TestImage {
  dir: string;
  imagePath: string;
  keyPath: string;
  pubPath: string;
  otherPubPath: string;
  bytes: Uint8Array;
}

/** Packs and signs an image from build/ modules into a fresh temp dir. */
export function makeImage(prefix: string, manifest: Manifest = bankManifest(), extraModules: Record<string, string> = {}): TestImage {
  const dir = tempDir(prefix);
  const keys = writeKeyPair(join(dir, 'keys'));
  const other = writeKeyPair(join(dir, 'other-keys'), { key: generateKeyPair() });
  const services = new Map<string, Uint8Array>();
  for (const s of manifest.services) {
    const path = extraModules[s.module] ?? join(ROOT, 'build/services', `${s.module}.wasm`);
    services.set(s.name, new Uint8Array(readFileSync(path)));
  }
  const kernel = new Uint8Array(readFileSync(join(ROOT, 'build/kernel.wasm')));
  const bytes = signImage(packImage({ manifest, kernel, services }), keys.key);
  const imagePath = join(dir, 'test.qxi');
  writeFileSync(imagePath, bytes);
  return { dir, imagePath, keyPath: keys.keyPath, pubPath: keys.pubPath, otherPubPath: other.pubPath, bytes };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
}

/** Runs the CLI to completion. */
export function runCli(args: string[], timeoutMs = 60_000, env: Record<string, string> = {}): RunResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, events: parseEvents(r.stdout) };
}

export function parseEvents(text: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try { events.push(JSON.parse(line)); } catch { /* not an event line */ }
  }
  return events;
}

export function event(events: Record<string, unknown>[], name: string): Record<string, unknown> | undefined {
  return events.find((e) => e.event === name);
}

/**
 * Stops `server` cleanly (SIGTERM), replays its data directory and returns
 * the state hash of each: equal when the log alone rebuilds the state. A
 * server that did not stop cleanly, or a replay that failed, throws.
 */
/** An HTTP API reply: its status, its body as text and as JSON (null when not JSON), its headers. */
export interface ApiReply { status: number; json: any; text: string; headers: Headers }

/**
 * One request to the API at `base` with `key` (null: none); a body that is a
 * string is sent as it is (with `contentType`), anything else as JSON.
 */
export async function apiCall(base: string, method: string, path: string, key: string | null, body?: unknown, contentType = 'application/json'): Promise<ApiReply> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { 'content-type': contentType }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}

/**
 * Two traders of settledInstrument over the HTTP API with an operator key: the funding accounts 1 (cash) and 2 (shares),
 * the escrows 10 and 11, a seller with cash 101 and 500 shares in 102, a buyer with 1,000.00 in 201 and shares 202
 * (both guarded: debits never exceed credits). Throws with the answer when any of it is not created.
 */
export async function setUpTwoTraders(base: string, operator: string): Promise<void> {
  const guarded = ['debits_must_not_exceed_credits'];
  const accounts = await apiCall(base, 'POST', '/v1/accounts', operator, [
    { id: '1', ledger: 1, code: 1 }, { id: '2', ledger: 4, code: 1 }, { id: '10', ledger: 1, code: 1 }, { id: '11', ledger: 4, code: 1 },
    { id: '101', ledger: 1, code: 1, flags: guarded }, { id: '102', ledger: 4, code: 1, flags: guarded },
    { id: '201', ledger: 1, code: 1, flags: guarded }, { id: '202', ledger: 4, code: 1, flags: guarded },
  ]);
  if (accounts.json?.filter?.((r: { result: string }) => r.result === 'created').length !== 8) throw new Error(`trader accounts: ${accounts.text}`);
  const funded = await apiCall(base, 'POST', '/v1/transfers', operator, [
    { id: '1', debit_account_id: '2', credit_account_id: '102', amount: '500', ledger: 4, code: 1 },
    { id: '2', debit_account_id: '1', credit_account_id: '201', amount: '100000', ledger: 1, code: 1 },
  ]);
  if (funded.json?.filter?.((r: { result: string }) => r.result === 'created').length !== 2) throw new Error(`trader funding: ${funded.text}`);
}

export async function stopAndReplay(server: Server, data: string): Promise<{ stopped: string; replayed: string }> {
  await server.kill('SIGTERM');
  const stopped = server.events.find((e) => e.event === 'stopped') as { state_hash?: string } | undefined;
  if (stopped?.state_hash === undefined) throw new Error(`the server did not stop cleanly: ${server.stderr}`);
  const replay = runCli(['replay', '--data', data]);
  const replayed = event(replay.events, 'replay') as { state_hash?: string } | undefined;
  if (replay.code !== 0 || replayed?.state_hash === undefined) throw new Error(`replay failed (${replay.code}): ${replay.stderr}`);
  return { stopped: stopped.state_hash, replayed: replayed.state_hash };
}

/** A CLI process left running (boot --listen), with its event lines. */
export class Server {
  readonly events: Record<string, unknown>[] = [];
  stderr = '';
  private waiters: { name: string; resolve: (e: Record<string, unknown>) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      let e: Record<string, unknown>;
      try { e = JSON.parse(line); } catch { return; }
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => (w.name === e.event ? (w.resolve(e), false) : true));
    });
    child.stderr!.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((res) => child.on('exit', (code) => res(code)));
  }

  private static live = new Set<Server>();

  static start(args: string[], env: Record<string, string> = {}): Server {
    const server = new Server(spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
    Server.live.add(server);
    void server.exited.then(() => Server.live.delete(server));
    return server;
  }

  /** SIGKILLs every server still running: a test.after hook, so a failed
   *  assertion never leaves a child process holding the test file open. */
  static async killAll(): Promise<void> {
    await Promise.all([...Server.live].map((s) => s.kill('SIGKILL')));
  }

  waitFor(name: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const seen = this.events.find((e) => e.event === name);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${name}" event within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.exited.then((code) => { clearTimeout(timer); reject(new Error(`server exited (${code}) before "${name}"; stderr: ${this.stderr}`)); });
      this.waiters.push({ name, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    });
  }

  /** host and port from the ready line. */
  async address(): Promise<{ host: string; port: number }> {
    const ready = await this.waitFor('ready');
    const m = /^(.*):(\d+)$/.exec(String(ready.listen));
    if (m === null) throw new Error(`ready line has no listen address: ${JSON.stringify(ready)}`);
    return { host: m[1], port: Number(m[2]) };
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

// ---- the command log file (layout: hal/log.ts, read through host/base/log-entry.ts) ----

export { ENTRY_HEADER_BYTES, ENTRY_MAGIC } from '../../hal/log.ts';
export { crc32c } from '../../host/base/log-entry.ts';

export interface LogEntry {
  offset: number;
  total: number;
  padded: number;
  type: number;
  seq: bigint;
  batch: bigint;
}

/** Walks the valid-looking entries from the start (magic and length only). */
export function logEntries(path: string): LogEntry[] {
  const b = readFileSync(path);
  const entries: LogEntry[] = [];
  let off = 0;
  while (off + ENTRY_HEADER_BYTES <= b.length && b.readUInt32LE(off) === ENTRY_MAGIC) {
    const h = readEntryHeader(b, off);
    const padded = entryPadded(h.total);
    entries.push({ offset: off, total: h.total, padded, type: h.type, seq: h.seq, batch: h.batch });
    off += padded;
  }
  return entries;
}

