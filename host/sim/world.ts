// host/sim/world.ts: the deterministic simulator. One seeded PRNG drives a
// simulated world around the real host code: the real kernel.wasm and
// service modules in the real Machine (host/machine.ts), its real block,
// net and console devices, with a simulated disk (host/sim/disk.ts) behind
// the block device, simulated connections (host/sim/net.ts) behind the net
// device, a simulated clock that jumps, and crashes at arbitrary points.
// Nothing in a run depends on wall time or the operating system: the same
// seed gives the same trace, byte for byte.
//
// The world is a discrete-event loop: every event (a client sending a
// batch, a frame arriving, a disk operation completing, a kernel deadline,
// a clock jump, a crash) has a simulated time; after each, the Node event
// loop is turned a few times so the machine reacts, with no real I/O or
// timer involved. Checks:
//   - every CHECKPOINT_STEPS steps the world drains (clients closed,
//     nothing in flight): replay of the durable log = the live state, and
//     the ledger's money invariants hold in the replayed state;
//   - after every crash: `replay` of the durable disk (read-only) and the
//     rebooted live machine have the same state hash; the ledger's money
//     invariants hold in the replayed state; every transfer a client was told
//     was created is present exactly once, and every balance is the sum of
//     the transfers present (no result a client saw was undone);
//   - a replay with bit flips on read either refuses, or reports the
//     damage, or ends in the same state (the flip hit unused bytes): silent
//     corruption is a failure;
//   - at the end, the same after a clean stop, the stop hash = replay, and
//     `qenex audit verify` accepts the durable log (hash chain, Merkle tree).
// Fault model declared, not simulated: a durable sector that changes after
// it was made durable (every copy of acknowledged data gone) — the single
// command log cannot recover it; its hash chain detects it at boot.

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine, BootError, LOG_FILE, type SimDevices } from '../machine.ts';
import type { ParsedImage } from '../image.ts';
import * as abi from '../../hal/abi.ts';
import { encodeRequest } from '../client/frames.ts';
import {
  account, transfer, encodeAccounts, encodeTransfers, encodeLookupAccounts, encodeLookupTransfers,
  decodeCreateResults, decodeAccounts, decodeTransfers, TransferFlags, HEADER_BYTES, RECORD_BYTES, type Transfer,
} from '../client/ledger.ts';
import { Prng } from './prng.ts';
import { SimDisk, type DiskFaults } from './disk.ts';
import { SimSocket, type NetFaults } from './net.ts';

export interface SimOptions {
  seed: number;
  steps: number;
  image: ParsedImage;
  imageBytes: Uint8Array;
  /** A directory for the machine's copy of the image (the log lives on the simulated disk). */
  dataDir: string;
  /** Test-only bugs the simulator must catch. */
  bug?: 'ack-before-flush';
  /** Each trace line, as it happens. */
  trace?: (line: string) => void;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  failure: string | null;
  /** A known issue (KNOWN_ISSUES key) that ended the seed early, or null. */
  known: string | null;
  steps: number;
  crashes: number;
  acknowledged: number;
  sent: number;
  stateHash: string;
  faults: Map<string, number>;
  traceSha256: string;
  traceLines: number;
}

class SimFailure extends Error {
  override name = 'SimFailure';
}

/**
 * An outcome the simulator recognises as a known limitation of the code
 * under test (listed in KNOWN_ISSUES): the seed stops there, counted apart
 * from failures, so the limitation stays visible in every summary.
 */
class KnownIssue extends Error {
  override name = 'KnownIssue';
  constructor(readonly key: string, message: string) { super(message); }
}

/**
 * Known limitations found by the simulator, each with what it is and where.
 * Empty now. (torn_final_batch_refused, a crash tearing the last batch write
 * while a later sector of it survived, made recovery refuse to boot; recovery
 * now cuts that unacknowledged batch: kernel/recovery.ts inTornBatch.)
 */
export const KNOWN_ISSUES: Record<string, string> = {};

const NS = 1_000_000n;
const LEDGER = 'ledger';
const ACCOUNTS = 8;
const LEDGER_ID = 1;
// Turns of the Node event loop after each event; more are taken while the
// world waits for something (a boot, the checker's replies).
const TURNS_PER_EVENT = 3;
const IDLE_TURNS_MAX = 2000;
// Every this many steps the world drains and checks live state against a replay.
const CHECKPOINT_STEPS = 75;

interface Event { at: bigint; seq: number; what: string; run: () => void }

interface Pending { kind: 'transfers' | 'check'; batch?: Transfer[]; resolve?: (r: { status: number; payload: Buffer }) => void }

/** A client connection: the client's end of a SimSocket, with its requests in flight. */
class Client {
  rx = Buffer.alloc(0);
  readonly inFlight = new Map<number, Pending>();
  nextId = 1;
  constructor(readonly name: string, readonly socket: SimSocket, readonly clean: boolean) {}
}

export class World {
  private readonly rng: Prng;
  private now = 1_700_000_000_000_000_000n; // simulated ns
  private clockOffset = 0n; // clock jumps: what the machine reads is now + offset + skew
  private skewPpm = 0n; // clock skew: parts per million of the time since skewSince
  private skewSince = 0n;
  private seq = 0;
  private events: Event[] = [];
  private readonly disk: SimDisk;
  private machine: Machine | null = null;
  private clients: Client[] = [];
  private checker: Client | null = null;
  private nextSocketId = 1;
  private readonly sent = new Map<bigint, Transfer>();
  private readonly acked = new Set<bigint>();
  private nextTransferId = 1_000_000n;
  private readonly traceHash = createHash('sha256');
  private traceLines = 0;
  private step = 0;
  private crashes = 0;
  private readonly faults = new Map<string, number>();
  private readonly netFaults: NetFaults;
  private lines: string[] = []; // console lines of the current machine (for reported corruption)

  constructor(private readonly opts: SimOptions) {
    this.rng = new Prng(opts.seed);
    const diskFaults: DiskFaults = {
      latencyNsMin: 50_000n, latencyNsMax: 5n * NS,
      loseUnsyncedSector: 0.5, tornSector: 0.3, flipOnWrite: 0.2,
      ackBeforeFlush: opts.bug === 'ack-before-flush',
    };
    this.disk = new SimDisk(this.rng, { after: (d, w, r) => this.after(d, `disk ${w}`, r) }, diskFaults);
    // The log lives on the simulated disk; the file only marks the directory as a data directory for replay.
    mkdirSync(opts.dataDir, { recursive: true });
    writeFileSync(join(opts.dataDir, LOG_FILE), '');
    this.netFaults = { delayNsMax: 3n * NS, drop: 0.03, duplicate: 0.03, truncate: 0.02, disconnect: 0.02, replyDrop: 0.03 };
  }

  // ---- trace and faults ----

  private trace(line: string): void {
    const text = `${String(this.step).padStart(5)} t=${(this.now - 1_700_000_000_000_000_000n) / 1000n}us ${line}`;
    this.traceHash.update(text).update('\n');
    this.traceLines++;
    this.opts.trace?.(text);
  }

  private fault(kind: string, n = 1): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + n);
  }

  private fail(message: string): never {
    this.trace(`FAIL ${message}`);
    throw new SimFailure(message);
  }

  // ---- the event queue ----

  private after(delayNs: bigint, what: string, run: () => void): void {
    this.events.push({ at: this.now + delayNs, seq: this.seq++, what, run });
  }

  private nextEvent(): Event | null {
    if (this.events.length === 0) return null;
    let best = 0;
    for (let i = 1; i < this.events.length; i++) {
      const e = this.events[i], b = this.events[best];
      if (e.at < b.at || (e.at === b.at && e.seq < b.seq)) best = i;
    }
    return this.events.splice(best, 1)[0];
  }

  private async turns(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
  }

  /** Processes one event (or a kernel deadline due first); false when nothing is left. */
  private async tick(): Promise<boolean> {
    const deadline = this.machine?.kernel.deadlineNs() ?? 0n;
    const ev = this.nextEvent();
    const machineDeadline = deadline !== 0n && deadline !== this.deadlineFired ? this.simTimeOf(deadline) : 0n;
    if (machineDeadline !== 0n && (ev === null || machineDeadline < ev.at)) {
      this.deadlineFired = deadline;
      if (ev !== null) this.events.push(ev);
      if (machineDeadline > this.now) this.now = machineDeadline;
      this.trace('deadline');
      this.machine!.schedulePump();
      await this.turns(TURNS_PER_EVENT);
      return true;
    }
    if (ev === null) return false;
    if (ev.at > this.now) this.now = ev.at;
    this.trace(ev.what);
    ev.run();
    await this.turns(TURNS_PER_EVENT);
    return true;
  }

  /** Runs the world until `done()`; a world with nothing left to do before that has hung. */
  private async until(what: string, done: () => boolean): Promise<void> {
    let idle = 0;
    while (!done()) {
      if (await this.tick()) { idle = 0; continue; }
      await this.turns(1);
      if (++idle > IDLE_TURNS_MAX) this.fail(`hang: nothing left to do while waiting for ${what}`);
    }
  }

  // ---- machines ----

  /** The simulated time at which the machine's clock reads `machineNs` (at or just after). */
  private simTimeOf(machineNs: bigint): bigint {
    const num = (machineNs - this.clockOffset) * 1_000_000n + this.skewSince * this.skewPpm;
    const den = 1_000_000n + this.skewPpm;
    return (num + den - 1n) / den + 1n;
  }

  /** What the machine's clock device reads: simulated time, jumped and skewed. */
  private machineClock(): bigint {
    return this.now + this.clockOffset + ((this.now - this.skewSince) * this.skewPpm) / 1_000_000n;
  }

  private devices(readOnly: boolean, flipOnRead = 0): SimDevices {
    return {
      backend: this.disk.open('sim/log.qxl', readOnly, flipOnRead),
      clockNs: () => this.machineClock(),
      entropy: (into) => this.rng.fill(into),
    };
  }

  private async bootMachine(mode: 'live' | 'replay', flipOnRead = 0): Promise<{ machine: Machine | null; error: string | null; lines: string[] }> {
    const lines: string[] = [];
    let result: Machine | null = null;
    let error: string | null = null;
    let settled = false;
    void Machine.boot({
      image: this.opts.image, imageBytes: this.opts.imageBytes, dataDir: this.opts.dataDir, mode,
      sim: this.devices(mode === 'replay', flipOnRead),
      onLine: (line) => { lines.push(line); },
      notice: () => {},
    }).then((m) => { result = m; settled = true; }, (e) => {
      if (!(e instanceof BootError)) error = `internal error: ${(e as Error).stack ?? e}`;
      else error = e.message;
      settled = true;
    });
    await this.until(`${mode} boot`, () => settled);
    return { machine: result, error, lines };
  }

  /** Replays the durable disk read-only: its state hash and the ledger invariant code. */
  private async replay(flipOnRead = 0): Promise<{ hash: string | null; error: string | null; invariants: number; reported: boolean }> {
    const saved = this.machine;
    const r = await this.bootMachine('replay', flipOnRead);
    this.machine = saved;
    const reported = r.lines.some((l) => /tail_cut|corrupt|mismatch|refus/i.test(l));
    if (r.machine === null) return { hash: null, error: r.error, invariants: -1, reported: true };
    const m = r.machine;
    const halt = m.haltInfo();
    if (halt !== null && halt.message !== null) return { hash: null, error: halt.message, invariants: -1, reported: true };
    const hash = m.stateHash();
    const ledger = m.services.find((s) => s.name === LEDGER) as unknown as { x: { qx_check_invariants?: () => number } } | undefined;
    const invariants = ledger?.x.qx_check_invariants?.() ?? 0;
    m.abandon();
    return { hash, error: null, invariants, reported };
  }

  private async bootLive(): Promise<string> {
    const r = await this.bootMachine('live');
    if (r.machine === null) this.fail(`live boot refused: ${r.error}`);
    this.machine = r.machine;
    this.lines = r.lines;
    const hash = r.machine.stateHash();
    this.trace(`ready ${hash.slice(0, 16)}`);
    return hash;
  }

  // ---- connections and clients ----

  private connect(name: string, clean: boolean): Client {
    const net = this.machine!.net!;
    const id = this.nextSocketId++;
    let client!: Client;
    const socket = new SimSocket(id, (bytes) => this.toClient(client, bytes), () => this.trace(`${name}#${id} closed`));
    client = new Client(name, socket, clean);
    // The real device takes the connection as it would from its listener.
    net.attach(socket as unknown as import('node:net').Socket);
    return client;
  }

  private toClient(client: Client, bytes: Buffer): void {
    if (!client.clean && this.rng.chance(this.netFaults.replyDrop)) { this.fault('net_reply_drop'); return; }
    const delay = client.clean ? 1000n : BigInt(this.rng.int(Number(this.netFaults.delayNsMax)));
    if (!client.clean) this.fault('net_delay');
    // Bytes on one connection arrive in order (TCP): each delivery carries the
    // socket's bytes so far in order, reassembled by the client.
    this.after(delay, `reply to ${client.name}#${client.socket.id} (${bytes.length} B)`, () => this.clientReceive(client, bytes));
  }

  private clientReceive(client: Client, bytes: Buffer): void {
    client.rx = Buffer.concat([client.rx, bytes]);
    while (client.rx.length >= 4) {
      const len = client.rx.readUInt32LE(0);
      if (client.rx.length < 4 + len) return;
      const body = client.rx.subarray(4, 4 + len);
      client.rx = client.rx.subarray(4 + len);
      const id = body.readUInt32LE(0);
      const status = body.readUInt16LE(4);
      const payload = Buffer.from(body.subarray(8));
      const p = client.inFlight.get(id);
      if (p === undefined) { this.trace(`${client.name}: reply to unknown request ${id} (status ${status})`); continue; }
      client.inFlight.delete(id);
      if (p.kind === 'check') { p.resolve!({ status, payload }); continue; }
      this.transfersReply(client, id, p.batch!, status, payload);
    }
  }

  private transfersReply(client: Client, id: number, batch: Transfer[], status: number, payload: Buffer): void {
    if (status !== abi.FRAME_OK) { this.trace(`${client.name} req ${id}: status ${status}`); return; }
    const results = decodeCreateResults(payload);
    if (results.length !== batch.length) this.fail(`${client.name} req ${id}: ${results.length} results for ${batch.length} transfers`);
    let created = 0;
    results.forEach((r, i) => { if (r.result === 0) { this.acked.add(batch[i].id); created++; } });
    this.trace(`${client.name} req ${id}: ${created}/${batch.length} created`);
  }

  /** A client sends bytes through the faulty link. */
  private send(client: Client, frame: Buffer): void {
    const socket = client.socket;
    if (client.clean) { this.after(1000n, `${client.name} frame`, () => socket.deliver(frame)); return; }
    if (this.rng.chance(this.netFaults.drop)) {
      // A dropped frame on TCP means the connection broke: nothing after it arrives.
      this.fault('net_drop');
      this.after(BigInt(this.rng.int(Number(this.netFaults.delayNsMax))), `${client.name}#${socket.id} link broken`, () => socket.close());
      return;
    }
    if (this.rng.chance(this.netFaults.truncate)) {
      this.fault('net_truncate');
      const cut = frame.subarray(0, this.rng.int(frame.length));
      this.after(BigInt(this.rng.int(Number(this.netFaults.delayNsMax))), `${client.name}#${socket.id} truncated frame (${cut.length}/${frame.length} B) then close`, () => {
        socket.deliver(cut);
        socket.close();
      });
      return;
    }
    const copies = this.rng.chance(this.netFaults.duplicate) ? 2 : 1;
    if (copies === 2) this.fault('net_duplicate');
    const delay = BigInt(this.rng.int(Number(this.netFaults.delayNsMax)));
    this.fault('net_delay');
    for (let c = 0; c < copies; c++) this.after(delay + BigInt(c), `${client.name}#${socket.id} frame${c ? ' (dup)' : ''}`, () => socket.deliver(frame));
    if (this.rng.chance(this.netFaults.disconnect)) {
      this.fault('net_disconnect');
      this.after(BigInt(this.rng.int(Number(this.netFaults.delayNsMax))), `${client.name}#${socket.id} disconnect`, () => socket.close());
    }
  }

  private request(client: Client, payload: Uint8Array, pending: Pending): number {
    const id = client.nextId++;
    client.inFlight.set(id, pending);
    this.send(client, encodeRequest(id, LEDGER, payload));
    return id;
  }

  /** A clean request from the checker; resolves with its reply. */
  private async check(payload: Uint8Array): Promise<{ status: number; payload: Buffer }> {
    if (this.checker === null || this.checker.socket.closed) this.checker = this.connect('checker', true);
    let reply: { status: number; payload: Buffer } | null = null;
    this.request(this.checker, payload, { kind: 'check', resolve: (r) => { reply = r; } });
    await this.until('a checker reply', () => reply !== null || this.checker!.socket.closed);
    if (reply === null) this.fail('the checker connection closed without a reply');
    return reply;
  }

  // ---- the workload ----

  private clientSend(index: number): void {
    const m = this.machine;
    if (m === null) return;
    let c = this.clients[index];
    if (c === undefined || c.socket.closed) {
      c = this.connect(`client${index}`, false);
      this.clients[index] = c;
    }
    const size = this.rng.range(1, 8);
    const batch: Transfer[] = [];
    for (let i = 0; i < size; i++) {
      const d = this.rng.range(1, ACCOUNTS);
      let cr = this.rng.range(1, ACCOUNTS);
      if (cr === d) cr = (d % ACCOUNTS) + 1;
      const t = transfer({
        id: this.nextTransferId++, debit_account_id: BigInt(d), credit_account_id: BigInt(cr),
        amount: BigInt(this.rng.range(1, 100)), ledger: LEDGER_ID, code: 1,
        flags: this.rng.chance(0.15) ? TransferFlags.pending : 0,
      });
      this.sent.set(t.id, t);
      batch.push(t);
    }
    const id = this.request(c, encodeTransfers(batch), { kind: 'transfers', batch });
    this.trace(`${c.name}#${c.socket.id} sends req ${id}: ${size} transfers`);
  }

  /** Schedules the next thing the world does on its own: a client send, a clock jump, a crash. */
  private scheduleActivity(): void {
    this.activityScheduled = true;
    this.after(BigInt(this.rng.range(1, 400)) * NS / 100n, 'activity', () => {
      this.activityScheduled = false;
      if (this.quiet) return; // checks in progress: resumed after them
      const roll = this.rng.float();
      if (roll < 0.03) this.pendingCrash = true;
      else if (roll < 0.06) {
        const jump = BigInt(this.rng.range(-5_000, 60_000)) * NS;
        this.clockOffset += jump;
        this.fault('clock_jump');
        this.trace(`clock jumps ${jump / NS} ms`);
      } else if (roll < 0.07) {
        // A new skew: fold the old one into the offset, then drift at the new rate.
        this.clockOffset = this.machineClock() - this.now;
        this.skewSince = this.now;
        this.skewPpm = BigInt(this.rng.range(-200_000, 200_000));
        this.fault('clock_skew');
        this.trace(`clock skew ${this.skewPpm} ppm`);
      } else this.clientSend(this.rng.int(3));
      this.scheduleActivity();
    });
  }

  private pendingCrash = false;
  private deadlineFired = 0n;
  private quiet = false;
  private activityScheduled = false;

  /** Stops new client activity, closes the clients, and lets everything in flight finish. */
  private async quiesce(): Promise<void> {
    this.quiet = true;
    for (const c of this.clients) c?.socket.close();
    await this.until('the world to drain', () => this.events.length === 0);
  }

  private resume(): void {
    this.quiet = false;
    if (!this.activityScheduled) this.scheduleActivity();
  }

  // ---- checks ----

  /** Every acknowledged transfer present once; balances = sums of the transfers present; debits = credits. */
  private async verifyLedger(where: string): Promise<void> {
    const ids = [...this.sent.keys()];
    const found = new Map<bigint, Transfer>();
    // As many ids per lookup as the reply can hold records within the
    // image's message size (a larger reply is refused with FRAME_E_TOO_LARGE).
    const perLookup = Math.floor((this.opts.image.manifest.kernel.message_bytes_max - HEADER_BYTES) / RECORD_BYTES);
    for (let i = 0; i < ids.length; i += perLookup) {
      const r = await this.check(encodeLookupTransfers(ids.slice(i, i + perLookup)));
      if (r.status !== abi.FRAME_OK) this.fail(`${where}: lookup_transfers status ${r.status}: ${r.payload.toString('utf8')}`);
      for (const t of decodeTransfers(r.payload)) {
        if (found.has(t.id)) this.fail(`${where}: transfer ${t.id} found twice`);
        found.set(t.id, t);
      }
    }
    for (const id of this.acked) if (!found.has(id)) this.fail(`${where}: acknowledged transfer ${id} is missing (a result a client saw was undone)`);
    const expect = new Map<bigint, bigint[]>();
    for (const t of found.values()) {
      const s = this.sent.get(t.id);
      if (s === undefined || s.amount !== t.amount || s.debit_account_id !== t.debit_account_id) this.fail(`${where}: transfer ${t.id} differs from what was sent`);
      const pend = (t.flags & TransferFlags.pending) !== 0;
      const d = expect.get(t.debit_account_id) ?? [0n, 0n, 0n, 0n];
      const c = expect.get(t.credit_account_id) ?? [0n, 0n, 0n, 0n];
      d[pend ? 0 : 1] += t.amount; c[pend ? 2 : 3] += t.amount;
      expect.set(t.debit_account_id, d); expect.set(t.credit_account_id, c);
    }
    const r = await this.check(encodeLookupAccounts(Array.from({ length: ACCOUNTS }, (_, i) => BigInt(i + 1))));
    const accounts = decodeAccounts(r.payload);
    if (accounts.length !== ACCOUNTS) this.fail(`${where}: ${accounts.length} of ${ACCOUNTS} accounts present`);
    const sum = [0n, 0n, 0n, 0n];
    for (const a of accounts) {
      const e = expect.get(a.id) ?? [0n, 0n, 0n, 0n];
      const got = [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted];
      if (got.some((v, i) => v !== e[i])) this.fail(`${where}: account ${a.id} balances ${got.join('/')} != the transfers present ${e.join('/')}`);
      got.forEach((v, i) => { sum[i] += v; });
    }
    if (sum[0] !== sum[2] || sum[1] !== sum[3]) this.fail(`${where}: debits != credits (${sum.join('/')})`);
    this.trace(`check ${where}: ${found.size} transfers present, ${this.acked.size} acknowledged, debits = credits`);
  }

  private async checkReplay(where: string, liveHash: string | null): Promise<string> {
    const r = await this.replay();
    if (r.hash === null) this.fail(`${where}: replay of the durable log refused: ${r.error}`);
    if (r.invariants !== 0) this.fail(`${where}: ledger invariant ${r.invariants} after replay`);
    if (liveHash !== null && r.hash !== liveHash) this.fail(`${where}: replay ${r.hash.slice(0, 16)} != live ${liveHash.slice(0, 16)}`);
    // The same log read through a disk that flips a bit: refused, reported, or unchanged.
    if (this.rng.chance(0.5)) {
      this.fault('disk_bitflip_read_replay');
      const f = await this.replay(0.5);
      if (f.hash !== null && f.hash !== r.hash && !f.reported) this.fail(`${where}: a bit flip on read changed the replayed state silently`);
      this.trace(`check ${where}: replay with read flips: ${f.hash === null ? 'refused' : f.hash === r.hash ? 'same state' : 'damage reported'}`);
    }
    return r.hash;
  }

  /** `qenex audit verify` on the durable log: every entry's chain and the Merkle tree check out. */
  private async auditVerify(where: string): Promise<void> {
    type AuditCommand = { main(argv: string[], io: { out(t: string): void; err?(t: string): void }): Promise<number> };
    const audit = await import('../cmd/audit.ts').catch(() => null) as AuditCommand | null;
    if (audit === null) { this.trace(`check ${where}: audit verify not available`); return; }
    writeFileSync(join(this.opts.dataDir, LOG_FILE), this.disk.durableBytes());
    let out = '';
    const io = { out: (t: string) => { out += t; }, err: (t: string) => { out += t; } };
    let code: number;
    try {
      code = await audit.main(['verify', '--data', this.opts.dataDir], io);
    } catch (e) {
      this.fail(`${where}: audit verify failed: ${(e as Error).message}`);
    }
    if (code !== 0) this.fail(`${where}: audit verify failed: ${out.trim().slice(0, 300)}`);
    this.trace(`check ${where}: audit chain verifies`);
  }

  /** Drains the world, then: replay of the durable log = the live state, and the invariants hold. */
  private async checkpoint(): Promise<void> {
    await this.quiesce();
    const live = this.machine!.stateHash();
    await this.checkReplay(`checkpoint at step ${this.step}`, live);
    this.trace(`checkpoint: replay = live ${live.slice(0, 16)}, invariants hold`);
    this.resume();
  }

  private async crashAndRestart(): Promise<void> {
    this.crashes++;
    this.fault('crash');
    const m = this.machine!;
    this.machine = null;
    m.abandon();
    for (const c of this.clients) c?.socket.close();
    this.checker?.socket.close();
    this.checker = null;
    const what = this.disk.crash();
    this.trace(`CRASH ${what}`);
    this.quiet = true;
    const replayed = await this.checkReplay(`crash ${this.crashes}`, null);
    const ready = await this.bootLive();
    if (ready !== replayed) this.fail(`crash ${this.crashes}: reboot hash ${ready.slice(0, 16)} != replay ${replayed.slice(0, 16)}`);
    await this.verifyLedger(`crash ${this.crashes}`);
    this.resume();
  }

  // ---- the run ----

  async run(): Promise<SimResult> {
    let failure: string | null = null;
    let known: string | null = null;
    let stateHash = '';
    try {
      await this.bootLive();
      // Accounts first, through the clean checker, until all exist.
      const r = await this.check(encodeAccounts(Array.from({ length: ACCOUNTS }, (_, i) => account({ id: BigInt(i + 1), ledger: LEDGER_ID, code: 1 }))));
      if (r.status !== abi.FRAME_OK) this.fail(`create_accounts status ${r.status}`);
      this.scheduleActivity();
      for (this.step = 1; this.step <= this.opts.steps; this.step++) {
        if (this.pendingCrash) {
          this.pendingCrash = false;
          await this.crashAndRestart();
          continue;
        }
        if (this.step % CHECKPOINT_STEPS === 0) {
          await this.checkpoint();
          continue;
        }
        if (!(await this.tick())) this.fail('the world ran out of events');
        const halt = this.machine?.haltInfo();
        if (halt && halt.message !== null) this.fail(`the machine halted: ${halt.message}`);
      }
      this.step = this.opts.steps + 1;
      await this.quiesce();
      await this.verifyLedger('end');
      // A clean stop: everything durable; then replay must give the same state.
      const m = this.machine!;
      for (const c of this.clients) c?.socket.close();
      this.checker?.socket.close();
      let stopped = false;
      void m.stop().then(() => { stopped = true; });
      await this.until('the clean stop', () => stopped);
      stateHash = m.stateHash();
      this.machine = null;
      this.trace(`stopped ${stateHash.slice(0, 16)}`);
      await this.checkReplay('end', stateHash);
      await this.auditVerify('end');
    } catch (e) {
      if (e instanceof KnownIssue) {
        known = e.key;
        this.trace(`KNOWN ISSUE ${e.key}: ${e.message}`);
      } else if (!(e instanceof SimFailure)) {
        this.trace(`FAIL internal: ${(e as Error).stack ?? e}`);
        failure = `internal: ${(e as Error).message}`;
      } else failure = e.message;
      this.machine?.abandon();
    }
    for (const [k, v] of this.disk.counts) this.faults.set(k, (this.faults.get(k) ?? 0) + v);
    return {
      seed: this.opts.seed, ok: failure === null, failure, known, steps: Math.min(this.step, this.opts.steps), crashes: this.crashes,
      acknowledged: this.acked.size, sent: this.sent.size, stateHash, faults: new Map([...this.faults].sort()),
      traceSha256: this.traceHash.digest('hex'), traceLines: this.traceLines,
    };
  }
}

export async function simulate(opts: SimOptions): Promise<SimResult> {
  // The instrumenter loads once, before any simulated time passes, so its
  // (real, asynchronous) loading never interleaves with the world.
  const fuel = await import('../fuel.ts').catch(() => null) as { loadInstrumenter?: () => Promise<void> } | null;
  await fuel?.loadInstrumenter?.();
  return new World(opts).run();
}
