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
// timer involved. The machine writes snapshots (the simulated image's
// kernel.snapshot_interval_entries) to the same simulated disk, so recovery
// starts from them as a real machine's does, through the same faults. What
// each service's workload is and how its results are proven is its
// checker's (host/sim/checker.ts; the ledger's is host/sim/ledger-checker.ts):
// the world asks each in turn. Checks:
//   - every CHECKPOINT_STEPS steps the world drains (clients closed,
//     nothing in flight) and heals: replay of the durable disk (its newest
//     valid snapshot and the log after it; every FULL_REPLAY_CHECKPOINTS-th
//     time the whole log from its start) = the live state, the ledger's
//     money invariants hold in the replayed state, and liveness: every pool
//     of the kernel and the net device is back at its idle level (reply
//     tokens, message slots and descriptors, staged inputs, error frames,
//     timers, pending frames, requests in flight), and
//     every request of the clean checker connection is answered within
//     LIVENESS_STEPS_MAX steps; a leak names the pool;
//   - after every crash: `replay` of the durable disk (read-only) and the
//     rebooted live machine have the same state hash; the ledger's money
//     invariants hold in the replayed state; every transfer a client was told
//     was created is present exactly once, and every balance is the sum of
//     the transfers present (no result a client saw was undone);
//   - reads (no log entry) change no state: a read that did would make the
//     live state differ from the replay at the next heal or crash;
//   - a replay with bit flips on read either refuses, or reports the
//     damage, or ends in the same state (the flip hit unused bytes): silent
//     corruption is a failure;
//   - at the end, the same after a clean stop, the stop hash = a replay of
//     the whole log, and
//     `qenex audit verify` accepts the durable log (hash chain, Merkle tree).
// Fault model declared, not simulated: a durable sector that changes after
// it was made durable (every copy of acknowledged data gone) — the single
// command log cannot recover it; its hash chain detects it at boot.

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine, BootError, LOG_FILE, type SimDevices } from '../machine.ts';
import type { ParsedImage } from '../image.ts';
import * as abi from '../../hal/abi.ts';
import { encodeRequest } from '../client/frames.ts';
import { Prng } from './prng.ts';
import type { Reply, SimChecker, SimContext } from './checker.ts';
import { LedgerChecker } from './ledger-checker.ts';
import { SimDisk, type DiskFaults } from './disk.ts';
import { SegmentedLog, listSegments, segmentFirst, writeLogLayout } from '../devices/segmented-log.ts';
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
  /** The services' checkers (default: the ledger's). */
  checkers?: SimChecker[];
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
// Turns of the Node event loop after each event; more are taken while the
// world waits for something (a boot, the checker's replies).
const TURNS_PER_EVENT = 3;
const IDLE_TURNS_MAX = 2000;
// Every this many steps the world drains and checks live state against a
// replay (from the newest snapshot); every FULL_REPLAY_CHECKPOINTS-th of them,
// and the one at the end, replays the whole log instead.
const CHECKPOINT_STEPS = 75;
const FULL_REPLAY_CHECKPOINTS = 10;
// The chance that a replay check is followed by one through a disk that flips bits on read.
const FLIPPED_REPLAY_CHANCE = 0.25;
// The simulated disk's files: the log's segments (host/devices/segmented-log.ts;
// 64 KiB, so a run's log spans many and entries straddle them), and the
// snapshots beside them.
const SIM_LOG_DIR = 'sim';
const SIM_LOG = `${SIM_LOG_DIR}/${LOG_FILE}`;
const SIM_LOG_SEGMENT_BYTES = 65536;
const SIM_SNAPSHOTS = 'sim/snapshots';
const SIM_GRIDS = 'sim/grids';
// Liveness: a request on the clean checker connection, the world healed (no
// fault, no crash), is answered within this many events. A request takes a
// handful (frame, disk write, sync, reply); a large lookup some dozens.
const LIVENESS_STEPS_MAX = 2000;
// Timers a drained machine may still have set: the ledger keeps one for
// the earliest pending transfer's expiry.
const TIMERS_IDLE_MAX = 1;

interface Event { at: bigint; seq: number; what: string; run: () => void }

interface Pending { onReply: (r: Reply) => void }

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
  private readonly checkers: SimChecker[];
  private readonly ctx: SimContext;
  private readonly traceHash = createHash('sha256');
  private traceLines = 0;
  private step = 0;
  private crashes = 0;
  private checkpoints = 0;
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
    this.disk.open(SIM_LOG, { readOnly: false, create: true }).close();
    this.disk.syncNames();
    this.netFaults = { delayNsMax: 3n * NS, drop: 0.03, duplicate: 0.03, truncate: 0.02, disconnect: 0.02, replyDrop: 0.03 };
    // A ledger without "read" (one on its grid) is read through the log.
    const ledger = opts.image.manifest.services.find((x) => x.name === 'ledger');
    this.checkers = opts.checkers ?? [new LedgerChecker(ledger?.caps.includes('read') ?? true)];
    this.ctx = {
      rng: this.rng,
      messageBytesMax: opts.image.manifest.kernel.message_bytes_max,
      trace: (line) => this.trace(line),
      fail: (message) => this.fail(message),
      fault: (kind) => this.fault(kind),
      clientRequest: (index, service, payload, onReply, read) => this.clientRequest(index, service, payload, onReply, read),
      check: (service, payload, read) => this.check(service, payload, read),
    };
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
      backend: new SegmentedLog(this.disk.directory(SIM_LOG_DIR, readOnly, flipOnRead), null, SIM_LOG_SEGMENT_BYTES,
        { create: !readOnly, lock: false, readOnly }),
      snapshots: this.disk.directory(SIM_SNAPSHOTS, readOnly, flipOnRead),
      clockNs: () => this.machineClock(),
      entropy: (into) => this.rng.fill(into),
      // A grid on the same faulty disk: kept when the boot restored a snapshot, else written again from the log (host/machine.ts openGrid).
      grid: (file, scratch, keep) => {
        const path = `${SIM_GRIDS}/${scratch ? 'replay-' : ''}${file}`;
        if (!keep) this.disk.remove(path);
        return this.disk.open(path, { readOnly: false, create: true, flipOnRead: scratch ? flipOnRead : 0 });
      },
    };
  }

  private async bootMachine(mode: 'live' | 'replay', flipOnRead = 0, snapshots = true): Promise<{ machine: Machine | null; error: string | null; lines: string[] }> {
    const lines: string[] = [];
    let result: Machine | null = null;
    let error: string | null = null;
    let settled = false;
    void Machine.boot({
      image: this.opts.image, imageBytes: this.opts.imageBytes, dataDir: this.opts.dataDir, mode,
      sim: this.devices(mode === 'replay', flipOnRead), snapshots,
      onLine: (line) => { lines.push(line); this.traceSnapshotLine(mode, line); },
      notice: () => {},
    }).then((m) => { result = m; settled = true; }, (e) => {
      if (!(e instanceof BootError)) error = `internal error: ${(e as Error).stack ?? e}`;
      else error = e.message;
      settled = true;
    });
    await this.until(`${mode} boot`, () => settled);
    return { machine: result, error, lines };
  }

  // Snapshot events of a machine (written, loaded, skipped and why, failed) go into the trace.
  private traceSnapshotLine(mode: string, line: string): void {
    if (!line.includes('"snapshot_')) return;
    let o: { event?: unknown; entries?: unknown; reason?: unknown; message?: unknown };
    try { o = JSON.parse(line) as typeof o; } catch { return; }
    if (typeof o.event !== 'string' || !o.event.startsWith('snapshot_')) return;
    const what = o.entries !== undefined ? ` entries=${String(o.entries)}` : '';
    const why = typeof o.reason === 'string' ? `: ${o.reason}` : o.event === 'snapshot_failed' && typeof o.message === 'string' ? `: ${o.message}` : '';
    this.trace(`${mode} ${o.event}${what}${why}`);
  }

  /**
   * Replays the durable disk read-only, from its newest valid snapshot or
   * (`full`) from the log's start: its state hash and the ledger invariant code.
   */
  private async replay(flipOnRead = 0, full = false): Promise<{ hash: string | null; error: string | null; invariants: number; reported: boolean }> {
    const saved = this.machine;
    const r = await this.bootMachine('replay', flipOnRead, !full);
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
      p.onReply({ status, payload });
    }
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

  private request(client: Client, service: string, payload: Uint8Array, pending: Pending, read = false): number {
    const id = client.nextId++;
    client.inFlight.set(id, pending);
    this.send(client, encodeRequest(id, service, payload, read ? abi.FRAME_F_READ : 0));
    return id;
  }

  /** A checker's request on faulty client connection `index` (SimContext.clientRequest). */
  private clientRequest(index: number, service: string, payload: Uint8Array, onReply: (r: Reply) => void, read = false): string {
    let c = this.clients[index];
    if (c === undefined || c.socket.closed) {
      c = this.connect(`client${index}`, false);
      this.clients[index] = c;
    }
    const id = this.request(c, service, payload, { onReply }, read);
    return `${c.name}#${c.socket.id} req ${id}`;
  }

  /**
   * A clean request from the checker connection; resolves with its reply.
   * Liveness: the world has healed around it (no faults on this connection,
   * no crash while it waits), so it must be answered within
   * LIVENESS_STEPS_MAX events.
   */
  private async check(service: string, payload: Uint8Array, read = false): Promise<Reply> {
    if (this.checker === null || this.checker.socket.closed) this.checker = this.connect('checker', true);
    let reply: Reply | null = null;
    this.request(this.checker, service, payload, { onReply: (r) => { reply = r; } }, read);
    let events = 0;
    await this.until('a checker reply', () => {
      if (reply !== null || this.checker!.socket.closed) return true;
      if (++events > LIVENESS_STEPS_MAX) this.fail(`liveness: a checker request to ${service} had no answer within ${LIVENESS_STEPS_MAX} events`);
      return false;
    });
    if (reply === null) this.fail('the checker connection closed without a reply');
    return reply;
  }

  // ---- the workload ----

  /** One unit of client activity, from a checker the PRNG picks. */
  private clientSend(): void {
    if (this.machine === null) return;
    this.checkers[this.rng.int(this.checkers.length)].act(this.ctx);
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
      } else this.clientSend();
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

  /** Every checker's oracle: nothing acknowledged lost or doubled, invariants hold. */
  private async verifyAll(where: string): Promise<void> {
    for (const c of this.checkers) await c.verify(this.ctx, where);
  }

  /**
   * Liveness at rest: the world has drained (clients closed, nothing in
   * flight, no fault pending), so every pool must be back at its idle
   * level. A pool above it leaked: a client would wait for an answer that
   * never comes, or the machine would refuse work sooner each time.
   */
  private checkPools(where: string): void {
    const m = this.machine!;
    const stat = (id: number) => m.kernel.stat(id);
    const net = m.net!.holding();
    const pools: [string, number, number][] = [
      ['client reply tokens', stat(abi.STAT_CLIENT_REQUESTS_IN_FLIGHT), 0],
      ['service reply tokens', stat(abi.STAT_SERVICE_REQUESTS_IN_FLIGHT), 0],
      ['message slots', stat(abi.STAT_MSG_SLOTS_IN_USE), 0],
      ['message descriptors', stat(abi.STAT_MSG_DESCRIPTORS_IN_USE), 0],
      ['staged inputs', stat(abi.STAT_INPUTS_STAGED), 0],
      ['net error frames', stat(abi.STAT_NET_ERROR_FRAMES_IN_USE), 0],
      ['timers', stat(abi.STAT_TIMERS_ACTIVE), TIMERS_IDLE_MAX],
      ['net frames waiting for the kernel', net.pendingFrames, 0],
      ['net completions held', net.heldCompletions, 0],
      ['net requests in flight', net.requestsInFlight, 0],
      ['connections', net.connections, this.checker !== null && !this.checker.socket.closed ? 1 : 0],
      ['block requests', m.block.idle() ? 0 : 1, 0],
    ];
    const leaked = pools.filter(([, level, idle]) => level > idle).map(([name, level, idle]) => `${name} ${level} (idle: at most ${idle})`);
    if (leaked.length > 0) this.fail(`${where}: liveness: pools not back at rest: ${leaked.join(', ')}`);
  }

  private async checkReplay(where: string, liveHash: string | null, full = false): Promise<string> {
    const r = await this.replay(0, full);
    if (r.hash === null) this.fail(`${where}: replay of the durable log refused: ${r.error}`);
    if (r.invariants !== 0) this.fail(`${where}: ledger invariant ${r.invariants} after replay`);
    if (liveHash !== null && r.hash !== liveHash) this.fail(`${where}: replay ${r.hash.slice(0, 16)} != live ${liveHash.slice(0, 16)}`);
    // The same log read through a disk that flips a bit: refused, reported, or unchanged.
    if (this.rng.chance(FLIPPED_REPLAY_CHANCE)) {
      this.fault('disk_bitflip_read_replay');
      const f = await this.replay(0.5);
      if (f.hash !== null && f.hash !== r.hash && !f.reported) this.fail(`${where}: a bit flip on read changed the replayed state silently`);
      this.trace(`check ${where}: replay with read flips: ${f.hash === null ? 'refused' : f.hash === r.hash ? 'same state' : 'damage reported'}`);
    }
    return r.hash;
  }

  /** The durable segments (what a crash leaves) as a data directory's log, for the audit reader. */
  private writeDurableLog(): void {
    for (const s of listSegments(this.opts.dataDir)) rmSync(join(this.opts.dataDir, s.name));
    for (const name of this.disk.list(SIM_LOG_DIR)) {
      if (segmentFirst(name) === null) continue;
      writeFileSync(join(this.opts.dataDir, name), this.disk.durableBytes(`${SIM_LOG_DIR}/${name}`));
    }
    writeLogLayout(this.opts.dataDir, SIM_LOG_SEGMENT_BYTES);
  }

  /** `qenex audit verify` on the durable log: every entry's chain and the Merkle tree check out. */
  private async auditVerify(where: string): Promise<void> {
    type AuditCommand = { main(argv: string[], io: { out(t: string): void; err?(t: string): void }): Promise<number> };
    const audit = await import('../cmd/audit.ts').catch(() => null) as AuditCommand | null;
    if (audit === null) { this.trace(`check ${where}: audit verify not available`); return; }
    this.writeDurableLog();
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
    this.checkPools(`checkpoint at step ${this.step}`);
    const live = this.machine!.stateHash();
    const full = ++this.checkpoints % FULL_REPLAY_CHECKPOINTS === 0;
    await this.checkReplay(`checkpoint at step ${this.step}`, live, full);
    this.trace(`checkpoint: ${full ? 'full ' : ''}replay = live ${live.slice(0, 16)}, invariants hold`);
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
    await this.verifyAll(`crash ${this.crashes}`);
    this.resume();
  }

  // ---- the run ----

  async run(): Promise<SimResult> {
    let failure: string | null = null;
    let known: string | null = null;
    let stateHash = '';
    try {
      await this.bootLive();
      for (const c of this.checkers) await c.setUp(this.ctx);
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
      this.checkPools('end');
      await this.verifyAll('end');
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
      await this.checkReplay('end', stateHash, true);
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
    const counts = this.checkers.map((c) => c.counts());
    return {
      seed: this.opts.seed, ok: failure === null, failure, known, steps: Math.min(this.step, this.opts.steps), crashes: this.crashes,
      acknowledged: counts.reduce((a, c) => a + c.acknowledged, 0), sent: counts.reduce((a, c) => a + c.sent, 0), stateHash, faults: new Map([...this.faults].sort()),
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
