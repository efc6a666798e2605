// services/sdk/harness.ts: runs one service module against a fake kernel, so
// a service's own uvu tests need no image, no log and no network. This file
// is host TypeScript (run by tsx), not AssemblyScript.
//
// The module is prepared exactly as the machine prepares it (host/fuel.ts:
// fuel counter, memory_pages_max), and the fake kernel answers the "qenex"
// imports with the kernel's rules: capabilities (E_DENIED without them),
// tokens good for one reply, the syscall area's size limit. Time is a field
// the test sets; random bytes come from a seeded counter, so tests repeat.
//
//   const svc = await ServiceHarness.load('build/services/wallet.wasm', { caps: ['log', 'time'] });
//   svc.init({});
//   const r = svc.request(bytes);       // { status, payload } or null when the service did not reply
//   assert.is(r!.status, 0);
//
// Capability "storage" (hal/devices/grid.ts, kernel/storage.ts): the service
// gets a grid (`grid`, a Map from address to block; blocks never written read
// as zeros) and the kernel's rules: at most STORAGE_WRITES_PER_MESSAGE writes
// and STORAGE_READS_PER_MESSAGE reads a message (E_FULL), no read while a
// block is delivered (E_CONTEXT), an inbox that holds a block. A message that
// asked for blocks is followed, as the kernel does, by each block as a
// KIND_BLOCK message in the order asked and then by the message again, until
// it asks for none (the prefetch step). `failRead(address)` makes that
// block's delivery STORAGE_E_IO; corrupt a block by changing `grid` itself.
// stateDigest() is the host's (host/services.ts), block cache excluded.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as abi from '../../hal/abi.ts';
import { FUEL_EXPORT, GLOBAL_EXPORT_PREFIX, prepareModule } from '../../host/fuel.ts';
import { cacheAreaOf, stateDigestOf, type CacheExports } from '../../host/services.ts';

export interface HarnessOptions {
  /** Capabilities as in the manifest: net, log, time, random, timer, send:<peer>. */
  caps?: string[];
  /** Names of the other services, by index (for lookup and send:<peer>); the service itself is `name`. */
  peers?: string[];
  name?: string;
  memoryPagesMax?: number;
  fuelPerMessage?: number;
  fuelInit?: number;
  /** Largest message (the kernel's message_bytes_max); default 65536, or a block message's size with "storage". */
  messageBytesMax?: number;
  /** The bytes were already prepared with host/fuel.ts prepareModule (benchmarks): use them as they are. */
  prepared?: boolean;
  /** HSM key labels granted (manifest hsm_keys); capability hsm_random goes in caps. */
  hsmKeys?: string[];
  /** The service's grid (capability "storage"), to share one between harnesses; default a new, empty one. */
  grid?: Map<bigint, Buffer>;
}

/** An HSM request the service made (answer it with hsmAnswer). */
export interface HsmAsked { id: number; op: number; label: string; request: Buffer }

export interface Reply { status: number; payload: Buffer }
export interface Sent { peer: number; payload: Buffer; token: number }
export interface TimerSet { delayNs: bigint; tag: bigint }

interface Exports {
  memory: WebAssembly.Memory;
  qx_inbox(): number;
  qx_inbox_bytes(): number;
  qx_init(len: number): void;
  qx_handle(kind: number, sender: number, token: number, len: number): void;
}

const SERVICE_TOKEN_BIT = 0x80000000;
// The event types a service may emit and their item sizes, as kernel/syscalls.ts emitItemBytes has them.
const EMIT_ITEM_BYTES: Record<number, number> = {
  [abi.EVT_TRANSFER]: abi.EVENT_TRANSFER_BYTES, [abi.EVT_PAYMENT]: abi.EVENT_PAYMENT_BYTES, [abi.EVT_ALERT]: abi.EVENT_ALERT_BYTES,
  [abi.EVT_TRADING]: abi.EVENT_TRADING_BYTES, [abi.EVT_FIX]: abi.EVENT_FIX_BYTES,
};
// What the message being handled may do with its grid (kernel/storage.ts).
type StorageContext = 'none' | 'message' | 'block';

export class ServiceHarness {
  /** HSM requests the kernel accepted, in order; nothing is performed until the test answers. */
  readonly hsmAsked: HsmAsked[] = [];
  private nextHsmId = 1;
  /** Logical time the service sees (ns). */
  timeNs = 1_700_000_000_000_000_000n;
  readonly logs: string[] = [];
  /** Event records the service emitted (capability "emit"): type, item count, bytes. */
  readonly emitted: { type: number; count: number; payload: Buffer }[] = [];
  /** What the service programmed into the kernel's admission table (capability "admit"), in order. */
  readonly admissionOps: { op: number; payload: Buffer }[] = [];
  readonly sent: Sent[] = [];
  readonly timers: TimerSet[] = [];
  readonly denied: string[] = [];
  private replies = new Map<number, Reply>();
  private open = new Set<number>();
  private nextToken = 1;
  private randomCounter = 0n;
  private readonly x: Exports;
  private readonly fuel: WebAssembly.Global | null;
  private readonly caps: Set<string>;
  private readonly names: string[];
  private readonly messageBytesMax: number;
  /** The service's grid (capability "storage"): address to block. */
  readonly grid: Map<bigint, Buffer>;
  /** Blocks delivered (asked for), written, syncs, and prefetch rounds (messages delivered again after their blocks). */
  blocksRead = 0;
  blocksWritten = 0;
  syncs = 0;
  rounds = 0;
  private readonly failing = new Set<bigint>();
  private context: StorageContext = 'none';
  // The block messages of the reads asked by the message being handled, read
  // when asked: the kernel performs requests in the order made, so a write
  // made later (while a block is delivered) is not in them.
  private asked: Buffer[] = [];
  private messageWrites = 0;
  private inboxBytes = 0; // of the message being handled (a syscall must not spend the service's fuel asking)
  private readonly globals: WebAssembly.Global[];

  private constructor(module: WebAssembly.Module, private readonly opts: HarnessOptions) {
    this.caps = new Set(opts.caps ?? []);
    this.names = [opts.name ?? 'service', ...(opts.peers ?? [])];
    // A block and its header travel in one message: the manifest refuses "storage" with less (host/manifest.ts).
    const blockMessage = abi.BLOCK_MSG_HEADER_BYTES + abi.GRID_BLOCK_BYTES;
    this.messageBytesMax = opts.messageBytesMax ?? (this.caps.has('storage') ? blockMessage : 65536);
    if (this.caps.has('storage') && this.messageBytesMax < blockMessage) {
      throw new Error(`capability "storage" needs messageBytesMax >= ${blockMessage}`);
    }
    const instance = new WebAssembly.Instance(module, { qenex: this.imports() });
    this.x = instance.exports as unknown as Exports;
    const fuel = instance.exports[FUEL_EXPORT];
    this.fuel = fuel instanceof WebAssembly.Global ? fuel : null;
    this.grid = opts.grid ?? new Map();
    this.globals = Object.entries(instance.exports)
      .filter(([k, v]) => k.startsWith(GLOBAL_EXPORT_PREFIX) && v instanceof WebAssembly.Global)
      .sort(([a], [b]) => Number(a.slice(GLOBAL_EXPORT_PREFIX.length)) - Number(b.slice(GLOBAL_EXPORT_PREFIX.length)))
      .map(([, v]) => v as WebAssembly.Global);
  }

  /** The host's state digest of the service (host/services.ts); `excludeCache` false hashes its block cache too. */
  stateDigest(excludeCache = true): Buffer {
    const cache = excludeCache ? cacheAreaOf(this.x as unknown as Partial<CacheExports>, this.fuel) : null;
    const inbox = { area: this.callGetter(() => this.x.qx_inbox()) >>> 0, bytes: this.callGetter(() => this.x.qx_inbox_bytes()) >>> 0 };
    return stateDigestOf(new Uint8Array(this.x.memory.buffer), this.globals, cache, inbox);
  }

  /** From now on, every read of the block at `address` asked says STORAGE_E_IO (the device failed); `false` heals it. */
  failRead(address: bigint, failing = true): void {
    if (failing) this.failing.add(address);
    else this.failing.delete(address);
  }

  /** Loads and prepares a module (a path or its bytes). */
  static async load(module: string | Uint8Array, opts: HarnessOptions = {}): Promise<ServiceHarness> {
    const bytes = typeof module === 'string' ? new Uint8Array(readFileSync(module)) : module;
    const prepared = opts.prepared === true ? bytes : await prepareModule(bytes, { memoryPagesMax: opts.memoryPagesMax ?? 256 });
    return new ServiceHarness(new WebAssembly.Module(prepared as Uint8Array<ArrayBuffer>), opts);
  }

  get memory(): WebAssembly.Memory { return this.x.memory; }

  /** Calls qx_init with the config JSON (an object, or raw bytes). */
  init(config: object | Uint8Array = {}): void {
    const bytes = config instanceof Uint8Array ? config : Buffer.from(JSON.stringify(config));
    this.deliver(abi.MSG_KIND_INIT, abi.SENDER_KERNEL, 0, bytes, this.opts.fuelInit ?? 2 ** 36);
  }

  /** A client request; returns the service's reply, or null when it did not reply (yet). */
  request(payload: Uint8Array): Reply | null {
    const token = this.token(false);
    this.deliver(abi.MSG_KIND_REQUEST, abi.SENDER_CLIENT, token, payload);
    return this.takeReply(token);
  }

  /** A message from service `from` (an index into [name, ...peers]); returns the reply, if any. */
  message(from: number, payload: Uint8Array): Reply | null {
    const token = this.token(true);
    this.deliver(abi.MSG_KIND_MESSAGE, from, token, payload);
    return this.takeReply(token);
  }

  /** A message from service `from` whose reply may come later (after a peer's answer): its token, for takeReply. */
  messageLater(from: number, payload: Uint8Array): number {
    const token = this.token(true);
    this.deliver(abi.MSG_KIND_MESSAGE, from, token, payload);
    return token;
  }

  /** A reply from a peer this service sent to. */
  peerReply(from: number, payload: Uint8Array): void {
    this.deliver(abi.MSG_KIND_REPLY, from, 0, payload);
  }

  /** The kernel tells this service that a message it sent to `from` was
   *  aborted (the peer faulted on it, or has failed): MSG_KIND_FAILED. */
  peerFailed(from: number): void {
    this.deliver(abi.MSG_KIND_FAILED, from, 0, new Uint8Array(0));
  }

  /** The kernel's answer to HSM request `id`: MSG_KIND_REPLY from SENDER_KERNEL, u32 id | i32 status | bytes. */
  hsmAnswer(id: number, status: number, result: Uint8Array): void {
    const b = Buffer.alloc(abi.HSM_REPLY_HEADER_BYTES + result.length);
    b.writeUInt32LE(id, 0);
    b.writeInt32LE(status, 4);
    b.set(result, abi.HSM_REPLY_HEADER_BYTES);
    this.deliver(abi.MSG_KIND_REPLY, abi.SENDER_KERNEL, 0, b);
  }

  /** The kernel's checkpoint message number `n` (MSG_KIND_CHECKPOINT, to a service with "storage"). */
  checkpoint(n: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, n));
    this.deliver(abi.MSG_KIND_CHECKPOINT, abi.SENDER_KERNEL, 0, b);
  }

  /** The timer with `tag` fires. */
  fireTimer(tag: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, tag));
    this.deliver(abi.MSG_KIND_TIMER, abi.SENDER_KERNEL, 0, b);
  }

  /** A reply to a request answered later (after a timer or a peer's reply). */
  takeReply(token: number): Reply | null {
    const r = this.replies.get(token) ?? null;
    this.replies.delete(token);
    return r;
  }

  /** Tokens of requests still waiting for a reply. */
  get pending(): number[] { return [...this.open]; }

  private token(service: boolean): number {
    const t = (this.nextToken++ & 0xffff) | (service ? SERVICE_TOKEN_BIT : 0);
    this.open.add(t >>> 0);
    // The top bit tells a service's token from a client's, as the kernel's do.
    assert(((t & SERVICE_TOKEN_BIT) !== 0) === service, 'harness: token kind bit wrong');
    return t >>> 0;
  }

  /**
   * Delivers a message, then, while it asks for blocks, each block as a
   * KIND_BLOCK message in the order asked and the message again, as it came
   * (kernel/storage.ts storageStep). A trap ends the wait, as a fault does.
   */
  private deliver(kind: number, sender: number, token: number, payload: Uint8Array, fuel = this.opts.fuelPerMessage ?? 2 ** 30): void {
    try {
      this.deliverOnce('message', kind, sender, token, payload, fuel);
      while (this.asked.length > 0) {
        const asked = this.asked;
        this.asked = [];
        for (const m of asked) this.deliverOnce('block', abi.MSG_KIND_BLOCK, abi.SENDER_KERNEL, 0, m, this.opts.fuelPerMessage ?? 2 ** 30);
        this.rounds++;
        this.deliverOnce('message', kind, sender, token, payload, fuel);
      }
    } finally {
      this.context = 'none';
      this.asked = [];
    }
  }

  /** The KIND_BLOCK message for `address`: u64 address | i32 status | u32 0 | block (the block only when status is OK). */
  private blockMessage(address: bigint): Buffer {
    const status = address > BigInt(abi.GRID_ADDRESS_MAX) ? abi.STORAGE_E_RANGE : this.failing.has(address) ? abi.STORAGE_E_IO : abi.STORAGE_OK;
    const m = Buffer.alloc(abi.BLOCK_MSG_HEADER_BYTES + (status === abi.STORAGE_OK ? abi.GRID_BLOCK_BYTES : 0));
    m.writeBigUInt64LE(address, abi.BLOCK_MSG_ADDRESS);
    m.writeInt32LE(status, abi.BLOCK_MSG_STATUS);
    if (status === abi.STORAGE_OK) this.grid.get(address)?.copy(m, abi.BLOCK_MSG_HEADER_BYTES);
    this.blocksRead++;
    return m;
  }

  private deliverOnce(context: StorageContext, kind: number, sender: number, token: number, payload: Uint8Array, fuel: number): void {
    // Only requests and messages carry a token a reply can spend; the rest carry 0.
    assert(token === 0 || kind === abi.MSG_KIND_REQUEST || kind === abi.MSG_KIND_MESSAGE, 'harness: token on a message kind that takes no reply');
    const inbox = this.callGetter(() => this.x.qx_inbox());
    const inboxBytes = this.callGetter(() => this.x.qx_inbox_bytes());
    if (payload.length > inboxBytes) throw new Error(`message of ${payload.length} bytes exceeds the service's inbox (${inboxBytes})`);
    new Uint8Array(this.x.memory.buffer, inbox, payload.length).set(payload);
    if (this.fuel !== null) this.fuel.value = BigInt(fuel);
    this.inboxBytes = inboxBytes;
    this.context = context;
    this.messageWrites = 0;
    try {
      if (kind === abi.MSG_KIND_INIT) this.x.qx_init(payload.length);
      else this.x.qx_handle(kind, sender, token, payload.length);
    } finally {
      this.context = 'none';
    }
  }

  private callGetter(f: () => number): number {
    if (this.fuel !== null) this.fuel.value = 1_000_000n;
    return f();
  }

  private bytes(ptr: number, len: number): Buffer | null {
    const mem = this.x.memory.buffer;
    if (ptr < 0 || len < 0 || ptr + len > mem.byteLength) return null;
    const b = Buffer.from(new Uint8Array(mem, ptr, len));
    // A copy, so the service's later writes cannot change what the test saw.
    assert(b.length === len && b.buffer !== mem, 'harness: syscall bytes not copied out of the service memory');
    return b;
  }

  private allowed(cap: string, call: string): boolean {
    if (this.caps.has(cap)) return true;
    this.denied.push(call);
    return false;
  }

  // The same checks, in the same order, as kernel/storage.ts sysStorage.
  private storage(op: number, ptr: number, len: number): number {
    const b = this.bytes(ptr, len);
    if (b === null) return abi.SYS_E_INVALID;
    if (!this.allowed('storage', 'storage')) return abi.SYS_E_DENIED;
    if (this.context === 'none') return abi.SYS_E_CONTEXT;
    if (len > this.messageBytesMax) return abi.SYS_E_TOO_LARGE;
    if (op === abi.STORAGE_WRITE) {
      if (len !== 8 + abi.GRID_BLOCK_BYTES) return abi.SYS_E_INVALID;
      if (this.messageWrites >= abi.STORAGE_WRITES_PER_MESSAGE) return abi.SYS_E_FULL;
      const address = b.readBigUInt64LE(0);
      // The host fails such a write, and a failed write stops the machine.
      if (address > BigInt(abi.GRID_ADDRESS_MAX)) throw new Error(`harness: a block written past the grid (${address}) stops the machine`);
      this.grid.set(address, b.subarray(8));
      this.messageWrites++;
      this.blocksWritten++;
      return abi.SYS_OK;
    }
    if (op === abi.STORAGE_SYNC) {
      if (len !== 0) return abi.SYS_E_INVALID;
      this.syncs++;
      return abi.SYS_OK;
    }
    if (op === abi.STORAGE_READ) {
      if (this.context !== 'message') return abi.SYS_E_CONTEXT;
      if (len === 0 || (len & 7) !== 0) return abi.SYS_E_INVALID;
      if (this.inboxBytes < abi.BLOCK_MSG_HEADER_BYTES + abi.GRID_BLOCK_BYTES) return abi.SYS_E_TOO_LARGE;
      const n = len >>> 3;
      if (n > abi.STORAGE_READS_PER_MESSAGE - this.asked.length) return abi.SYS_E_FULL;
      for (let i = 0; i < n; i++) this.asked.push(this.blockMessage(b.readBigUInt64LE(i * 8)));
      return abi.SYS_OK;
    }
    return abi.SYS_E_INVALID;
  }

  private imports(): Record<string, (...args: never[]) => unknown> {
    return {
      send: (peer: number, ptr: number, len: number): number => {
        if (len >>> 0 > this.messageBytesMax) return abi.SYS_E_TOO_LARGE;
        const b = this.bytes(ptr >>> 0, len >>> 0);
        if (b === null) return abi.SYS_E_INVALID;
        if (peer >>> 0 >= this.names.length) return abi.SYS_E_INVALID;
        if (!this.allowed(`send:${this.names[peer >>> 0]}`, 'send')) return abi.SYS_E_DENIED;
        this.sent.push({ peer: peer >>> 0, payload: b, token: this.nextToken++ });
        return abi.SYS_OK;
      },
      // As the kernel: a reply over the message size spends the token and the
      // asker gets an error (here: a reply with status FRAME_E_TOO_LARGE).
      reply: (token: number, status: number, ptr: number, len: number): number => {
        if (len >>> 0 > this.messageBytesMax) {
          if (!this.open.delete(token >>> 0)) return abi.SYS_E_INVALID;
          this.replies.set(token >>> 0, { status: abi.FRAME_E_TOO_LARGE, payload: Buffer.alloc(0) });
          return abi.SYS_E_TOO_LARGE;
        }
        const b = this.bytes(ptr >>> 0, len >>> 0);
        if (b === null) return abi.SYS_E_INVALID;
        if (!this.open.delete(token >>> 0)) return abi.SYS_E_INVALID;
        this.replies.set(token >>> 0, { status: status >>> 0, payload: b });
        return abi.SYS_OK;
      },
      time: (): bigint => (this.allowed('time', 'time') ? this.timeNs : BigInt(abi.SYS_E_DENIED)),
      log: (ptr: number, len: number): number => {
        const b = this.bytes(ptr >>> 0, len >>> 0);
        if (b === null) return abi.SYS_E_INVALID;
        if (!this.allowed('log', 'log')) return abi.SYS_E_DENIED;
        this.logs.push(b.toString('utf8'));
        return abi.SYS_OK;
      },
      random: (ptr: number, len: number): number => {
        const mem = this.x.memory.buffer;
        if ((ptr >>> 0) + (len >>> 0) > mem.byteLength) return abi.SYS_E_INVALID;
        if (!this.allowed('random', 'random')) return abi.SYS_E_DENIED;
        const out = new Uint8Array(mem, ptr >>> 0, len >>> 0);
        for (let done = 0; done < out.length; done += 32) {
          const block = createHash('sha256').update(`qenex-harness-${this.randomCounter++}`).digest();
          out.set(block.subarray(0, Math.min(32, out.length - done)), done);
        }
        return abi.SYS_OK;
      },
      timer: (delayNs: bigint, tag: bigint): number => {
        if (!this.allowed('timer', 'timer')) return abi.SYS_E_DENIED;
        if (delayNs < 0n) return abi.SYS_E_INVALID;
        this.timers.push({ delayNs, tag });
        return abi.SYS_OK;
      },
      // The grant check only; the request layout is checked by the real kernel.
      hsm: (op: number, ptr: number, len: number): number => {
        const b = this.bytes(ptr >>> 0, len >>> 0);
        if (b === null || b.length < abi.HSM_REQUEST_HEADER_BYTES) return abi.SYS_E_INVALID;
        if (b.length > abi.HSM_BUFFER_BYTES || b.length > this.messageBytesMax) return abi.SYS_E_TOO_LARGE;
        const label = b.subarray(abi.HSM_REQUEST_HEADER_BYTES, abi.HSM_REQUEST_HEADER_BYTES + b.readUInt16LE(0)).toString('latin1');
        const granted = op >>> 0 === abi.OP_HSM_RANDOM ? this.caps.has('hsm_random') : (this.opts.hsmKeys ?? []).includes(label);
        if (!granted) { this.denied.push('hsm'); return abi.SYS_E_DENIED; }
        const id = this.nextHsmId++;
        // Success is a request id above 0: a negative result is an E_* code.
        assert(id > 0, 'harness: HSM request id not positive');
        this.hsmAsked.push({ id, op: op >>> 0, label, request: b });
        return id;
      },
      // The same checks as kernel/syscalls.ts sysEmit.
      emit: (type: number, count: number, ptr: number, len: number): number => {
        if (len >>> 0 > this.messageBytesMax) return abi.SYS_E_TOO_LARGE;
        const b = this.bytes(ptr >>> 0, len >>> 0);
        if (b === null) return abi.SYS_E_INVALID;
        if (!this.allowed('emit', 'emit')) return abi.SYS_E_DENIED;
        const n = count >>> 0;
        const itemBytes = EMIT_ITEM_BYTES[type >>> 0] ?? 0;
        if (itemBytes === 0 || n === 0 || n > abi.EVENT_ITEMS_MAX || b.length !== n * itemBytes) return abi.SYS_E_INVALID;
        this.emitted.push({ type: type >>> 0, count: n, payload: b });
        return abi.SYS_OK;
      },
      // The capability check only; the kernel validates the records (kernel/admission.ts).
      admission: (op: number, ptr: number, len: number): number => {
        if (len >>> 0 > this.messageBytesMax) return abi.SYS_E_TOO_LARGE;
        const b = this.bytes(ptr >>> 0, len >>> 0);
        if (b === null) return abi.SYS_E_INVALID;
        if (!this.allowed('admit', 'admission')) return abi.SYS_E_DENIED;
        if (op >>> 0 !== abi.ADM_OP_POLICY && op >>> 0 !== abi.ADM_OP_KEY) return abi.SYS_E_INVALID;
        this.admissionOps.push({ op: op >>> 0, payload: b });
        return abi.SYS_OK;
      },
      storage: (op: number, ptr: number, len: number): number => this.storage(op >>> 0, ptr >>> 0, len >>> 0),
      lookup: (ptr: number, len: number): number => {
        const b = this.bytes(ptr >>> 0, len >>> 0);
        if (b === null || b.length === 0 || b.length > 32) return abi.SYS_E_INVALID;
        const i = this.names.indexOf(b.toString('utf8'));
        return i < 0 ? abi.SYS_E_INVALID : i;
      },
    };
  }
}
