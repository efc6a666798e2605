// test/support/fix-initiator.ts: drives the FIX 4.4 test peers built on QuickFIX/J
// (test/fix; docs/fix.md, "The counterparty in tests"): the initiator, the established
// engine that QENEX's acceptor is tested against, and the stub acceptor that stands in for
// ours until it exists. Each is a java child process: commands go in as JSON lines on its
// stdin, every session event comes out as a JSON line on its stdout (sent, incoming and
// received messages with their fields, logon, logout, resend requests, session errors...).
// A peer that fails to start or exits early fails the waiting test with its stderr.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const CLASSPATH_FILE = join(ROOT, 'build/fix-tools/classpath');
/** Two cores are shared with other tests: a small heap, the client compiler only (starts in well under a second). */
export const JVM_FLAGS = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

/** A field as on the wire. */
export type FixField = [number, string];
/** A field to send: a value, or a repeating group as [countTag, instances], each instance its fields in the group's order. */
export type FixSendField = FixField | [number, FixSendField[][]];
export interface FixEvent { event: string; [key: string]: unknown }
/** A sent, incoming or received message: fields as on the wire, in order. */
export interface FixMessage extends FixEvent { msgType: string; seqNum: number; possDup: boolean; fields: FixField[] }

/** `make fix-tools` (jars from the cache or Maven Central, the peers compiled); the class path to run them with. */
export function fixTools(): string {
  const r = spawnSync('make', ['--no-print-directory', 'fix-tools'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0 || !existsSync(CLASSPATH_FILE)) {
    throw new Error(`make fix-tools failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}`);
  }
  return readFileSync(CLASSPATH_FILE, 'utf8').trim();
}

/** A TCP port free on 127.0.0.1 just now (for the stub acceptor to listen on). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => res(port));
    });
  });
}

/** The value of the first field with this tag, or undefined. */
export function fieldOf(m: { fields: FixField[] }, tag: number): string | undefined {
  return m.fields.find((f) => f[0] === tag)?.[1];
}

export interface PeerOptions {
  sender: string;
  target: string;
  port: number;
  host?: string;
  heartbeat?: number;
  resetOnLogon?: boolean;
  /** A FileStore in this folder: sequence numbers and sent messages survive a restart of the peer. */
  store?: string;
  username?: string;
  password?: string;
  /** TLS from PEM files (test/fix/initiator/qenex/Tls.java): this side's chain and PKCS#8 key, and the CA
   *  the other side must chain to (on the stub acceptor: a client certificate from it is then required). */
  tls?: { cert?: string; key?: string; ca?: string; checkHost?: boolean };
  classpath?: string;
}

function peerArgs(o: PeerOptions): string[] {
  const a = ['--sender', o.sender, '--target', o.target, '--port', String(o.port), '--host', o.host ?? '127.0.0.1'];
  if (o.heartbeat !== undefined) a.push('--heartbeat', String(o.heartbeat));
  if (o.resetOnLogon === true) a.push('--reset-on-logon');
  if (o.store !== undefined) a.push('--store', o.store);
  if (o.username !== undefined) a.push('--username', o.username);
  if (o.password !== undefined) a.push('--password', o.password);
  if (o.tls !== undefined) {
    a.push('--tls');
    if (o.tls.cert !== undefined) a.push('--tls-cert', o.tls.cert);
    if (o.tls.key !== undefined) a.push('--tls-key', o.tls.key);
    if (o.tls.ca !== undefined) a.push('--tls-ca', o.tls.ca);
    if (o.tls.checkHost === true) a.push('--tls-check-host');
  }
  return a;
}

type Match = (e: FixEvent) => boolean;

export class FixPeer {
  readonly events: FixEvent[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private waiters: { from: number; match: Match; resolve: (e: FixEvent) => void }[] = [];
  private nextId = 1;
  private static live = new Set<FixPeer>();

  private constructor(readonly name: string, readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.stderr!.on('data', (d) => { this.stderr += d; });
    child.stdin!.on('error', () => {});
    this.exited = new Promise((res) => child.on('exit', (code) => { this.exitCode = code; res(code); }));
    FixPeer.live.add(this);
    void this.exited.then(() => FixPeer.live.delete(this));
  }

  /** The QuickFIX/J initiator (qenex.FixInitiator), connecting to host:port once told to log on. */
  static initiator(o: PeerOptions): Promise<FixPeer> {
    return FixPeer.start('initiator', 'qenex.FixInitiator', o);
  }

  /** The test-only QuickFIX/J acceptor (qenex.FixAcceptorStub), listening on host:port. */
  static acceptorStub(o: PeerOptions): Promise<FixPeer> {
    return FixPeer.start('acceptor stub', 'qenex.FixAcceptorStub', o);
  }

  private static async start(name: string, main: string, o: PeerOptions): Promise<FixPeer> {
    const cp = o.classpath ?? fixTools();
    const child = spawn('java', [...JVM_FLAGS, '-cp', cp, main, ...peerArgs(o)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const peer = new FixPeer(name, child);
    child.on('error', (err) => { peer.stderr += `spawn java: ${err.message}\n`; });
    await peer.waitFor('ready', { timeoutMs: 20_000 });
    return peer;
  }

  /** SIGKILLs every peer still running: a test.after hook, so a failed test leaves no JVM behind. */
  static async killAll(): Promise<void> {
    await Promise.all([...FixPeer.live].map((p) => p.kill()));
  }

  private onLine(line: string): void {
    if (!line.startsWith('{')) return;
    let e: FixEvent;
    try { e = JSON.parse(line) as FixEvent; } catch { return; }
    const index = this.events.push(e) - 1;
    this.waiters = this.waiters.filter((w) => (index >= w.from && w.match(e) ? (w.resolve(e), false) : true));
  }

  /** Where the event list ends now: wait for something that happens after this point with { from: mark() }. */
  mark(): number {
    return this.events.length;
  }

  /** The first event (from index `from`, default 0) that is named `what` or matches it; waits for it up to timeoutMs. */
  waitFor(what: string | Match, opts: { from?: number; timeoutMs?: number } = {}): Promise<FixEvent> {
    const match: Match = typeof what === 'string' ? (e) => e.event === what : what;
    const from = opts.from ?? 0;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const seen = this.events.slice(from).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    const label = typeof what === 'string' ? `"${what}"` : 'a matching event';
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => reject(new Error(`FIX ${this.name}: ${why} waiting for ${label}\n${this.diagnostics()}`));
      const timer = setTimeout(() => fail(`nothing within ${timeoutMs} ms`), timeoutMs);
      void this.exited.then((code) => { clearTimeout(timer); fail(`java exited (${code})`); });
      this.waiters.push({ from, match, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    });
  }

  /** The next message of this direction and type from `from` on (sent, incoming or received). */
  waitMessage(direction: 'sent' | 'incoming' | 'received', msgType: string, opts: { from?: number; timeoutMs?: number; where?: (m: FixMessage) => boolean } = {}):
    Promise<FixMessage> {
    const where = opts.where ?? (() => true);
    const match: Match = (e) => e.event === direction && e.msgType === msgType && where(e as FixMessage);
    return this.waitFor(match, opts) as Promise<FixMessage>;
  }

  /** Every message of this direction (and type, if given) so far, from index `from`. */
  messages(direction: 'sent' | 'incoming' | 'received', msgType?: string, from = 0): FixMessage[] {
    return this.events.slice(from).filter((e) => e.event === direction && (msgType === undefined || e.msgType === msgType)) as FixMessage[];
  }

  /** Sends one command and resolves with its "ok" event; an "error" event, a timeout or an exit rejects. */
  async command(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<FixEvent> {
    if (this.exitCode !== undefined) throw new Error(`FIX ${this.name}: java exited (${this.exitCode}) before "${cmd}"\n${this.diagnostics()}`);
    const id = this.nextId++;
    const reply = this.waitFor((e) => (e.event === 'ok' || e.event === 'error') && e.id === id, { from: this.mark(), timeoutMs });
    this.child.stdin!.write(JSON.stringify({ id, cmd, ...args }) + '\n');
    const e = await reply;
    if (e.event === 'error') throw new Error(`FIX ${this.name}: "${cmd}" failed: ${String(e.message)}\n${this.diagnostics()}`);
    return e;
  }

  logon(): Promise<FixEvent> { return this.command('logon'); }
  logout(text?: string): Promise<FixEvent> { return this.command('logout', text === undefined ? {} : { text }); }
  /** Header (but MsgType), MsgSeqNum, SendingTime, BodyLength and CheckSum are the engine's; any field given here is set as given. */
  send(msgType: string, fields: FixSendField[]): Promise<FixEvent> { return this.command('send', { msgType, fields }); }
  /** Drops the TCP connection without a Logout; the initiator stays away until reconnect(). */
  disconnect(): Promise<FixEvent> { return this.command('disconnect'); }
  reconnect(): Promise<FixEvent> { return this.command('reconnect'); }
  status(): Promise<FixEvent> { return this.command('status'); }
  /** Sets the next sequence numbers by hand (to provoke the other side's MsgSeqNum too low or too high). */
  seq(next: { nextSender?: number; nextTarget?: number }): Promise<FixEvent> { return this.command('seq', next); }

  /** Asks the peer to stop (its session ended as QuickFIX/J stops it), SIGKILL after timeoutMs. */
  async exit(timeoutMs = 5_000): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.child.stdin!.write(JSON.stringify({ id: this.nextId++, cmd: 'exit' }) + '\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** The java stderr and the last events: what a failed wait shows. */
  diagnostics(): string {
    const last = this.events.slice(-12).map((e) => JSON.stringify(e).slice(0, 300)).join('\n  ');
    return `java stderr: ${this.stderr.trim() === '' ? '(empty)' : this.stderr.trim()}\nlast events:\n  ${last}`;
  }
}
