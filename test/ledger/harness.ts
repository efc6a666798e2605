// A fake kernel for ledger tests: builds build/services/ledger.wasm when it
// is missing or older than its sources, instantiates it with a `qenex`
// import object written in JavaScript, and lets a test set the logical
// time, send a request, read the reply and fire due timers.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ascIfStale, RELEASE, ROOT } from '../support/asc.ts';
import { GLOBAL_EXPORT_PREFIX } from '../../host/fuel.ts';
import * as abi from '../../hal/abi.ts';
import { stateDigestOf } from '../../host/services.ts';

export { ROOT };
export const WASM_PATH = join(ROOT, 'build', 'services', 'ledger.wasm');

const KIND_CLIENT_REQUEST = 1;
const KIND_TIMER = 4;
const BLOCK_MESSAGE_BYTES = abi.BLOCK_MSG_HEADER_BYTES + abi.GRID_BLOCK_BYTES;

/** Compiles the service as the Makefile does, unless the wasm is newer than every source. */
export function ensureBuilt(): void {
  ascIfStale('services/ledger/assembly/index.ts', 'build/services/ledger.wasm', ['services/ledger/assembly', 'services/sdk', 'lib', 'hal'], [...RELEASE, '--use', 'abort=']);
}

let compiled: WebAssembly.Module | undefined;

function module(): WebAssembly.Module {
  if (compiled === undefined) {
    ensureBuilt();
    compiled = new WebAssembly.Module(readFileSync(WASM_PATH));
  }
  return compiled;
}

export interface Reply {
  status: number;
  bytes: Uint8Array;
  /** The payload as UTF-8, for error replies. */
  text: string;
}

export interface ArmedTimer {
  dueNs: bigint;
  tag: bigint;
}

interface LedgerExports {
  memory: WebAssembly.Memory;
  qx_inbox(): number;
  qx_inbox_bytes(): number;
  qx_init(len: number): void;
  qx_handle(kind: number, sender: number, token: number, len: number): void;
  qx_check_invariants(): number;
  qx_read_area(): number;
  qx_read_request_max(): number;
  qx_read_reply_max(): number;
  qx_read(len: number): number;
}

export interface Capacity {
  accounts_max?: number;
  transfers_max?: number;
  pending_max?: number;
  history_max?: number;
}

export const SMALL_CAPACITY: Capacity = {
  accounts_max: 1024, transfers_max: 4096, pending_max: 1024, history_max: 4096,
};

export class Ledger {
  /** The logical time (ns) the next message is handled at. */
  nowNs = 1_000_000_000n;
  readonly timers: ArmedTimer[] = [];
  readonly logs: string[] = [];
  /** Event records emitted ("events": true): the committed transfers' 128-byte records of each. */
  readonly events: { count: number; records: Uint8Array }[] = [];
  /** Wall time of the last qx_handle call alone (ns), for benchmarks. */
  lastHandleNs = 0;
  private readonly exports: LedgerExports;
  private replies: Reply[] = [];
  private nextToken = 1;
  /**
   * The ledger's grid (config grid_blocks), played as the kernel plays it
   * (kernel/storage.ts): writes kept by address, reads asked by a message
   * delivered as KIND_BLOCK messages in order, then the message again.
   */
  readonly grid = new Map<bigint, Uint8Array>();
  private asked: bigint[] = [];
  private writesThisMessage = 0;
  private deliveringBlock = false;
  /** What the ledger reported as a corrupt grid (STORAGE_CORRUPT): the machine would stop. */
  readonly corrupt: string[] = [];
  /** Blocks delivered, blocks written, and messages delivered again after their blocks. */
  blocksRead = 0;
  blocksWritten = 0;
  rounds = 0;

  /**
   * Boots a ledger; `config` is the JSON text given to qx_init (default: small
   * capacities). `wasm` runs another build of the service (benchmarks compare builds).
   */
  constructor(config: string | Capacity = SMALL_CAPACITY, wasm?: WebAssembly.Module) {
    const imports = {
      qenex: {
        reply: (token: number, status: number, ptr: number, len: number) => this.onReply(token, status, ptr, len),
        time: () => this.nowNs,
        log: (ptr: number, len: number) => { this.logs.push(this.readText(ptr, len)); return 0; },
        timer: (delayNs: bigint, tag: bigint) => { this.timers.push({ dueNs: this.nowNs + delayNs, tag }); return 0; },
        storage: (op: number, ptr: number, len: number) => this.storage(op, ptr >>> 0, len >>> 0),
        emit: (type: number, count: number, ptr: number, len: number) => {
          if (type !== 1 || len !== count * 128) return -2;
          this.events.push({ count, records: Uint8Array.from(new Uint8Array(this.exports.memory.buffer, ptr, len)) });
          return 0;
        },
      },
    };
    // QX_LEDGER_DEBUG=<wasm built with abort>: assertion messages instead of `unreachable`.
    const debug = process.env.QX_LEDGER_DEBUG;
    const asText = (ptr: number) => {
      const bytes = new Uint32Array(this.exports.memory.buffer, ptr - 4, 1)[0];
      return Buffer.from(new Uint8Array(this.exports.memory.buffer, ptr, bytes)).toString('utf16le');
    };
    const env = { abort: (msg: number, file: number, line: number, col: number) => { throw new Error(`abort: ${asText(msg)} at ${asText(file)}:${line}:${col}`); } };
    const instance = new WebAssembly.Instance(debug ? new WebAssembly.Module(readFileSync(debug)) : wasm ?? module(), debug ? { ...imports, env } : imports);
    this.exports = instance.exports as unknown as LedgerExports;
    const text = typeof config === 'string' ? config : JSON.stringify(config);
    const bytes = new TextEncoder().encode(text);
    this.inbox().set(bytes);
    try {
      this.exports.qx_init(bytes.length);
    } catch (error) {
      throw new Error(`qx_init trapped (${(error as Error).message}); log: ${this.logs.join(' | ')}`);
    }
  }

  private storage(op: number, ptr: number, len: number): number {
    const mem = new Uint8Array(this.exports.memory.buffer);
    if (op === abi.STORAGE_WRITE) {
      if (len !== 8 + abi.GRID_BLOCK_BYTES) return abi.SYS_E_INVALID;
      if (this.writesThisMessage >= abi.STORAGE_WRITES_PER_MESSAGE) return abi.SYS_E_FULL;
      this.writesThisMessage++;
      this.blocksWritten++;
      this.grid.set(new DataView(mem.buffer, ptr, 8).getBigUint64(0, true), mem.slice(ptr + 8, ptr + 8 + abi.GRID_BLOCK_BYTES));
      return abi.SYS_OK;
    }
    if (op === abi.STORAGE_SYNC) return len === 0 ? abi.SYS_OK : abi.SYS_E_INVALID;
    if (op === abi.STORAGE_CORRUPT) {
      this.corrupt.push(Buffer.from(mem.subarray(ptr, ptr + len)).toString('utf8'));
      return abi.SYS_OK;
    }
    if (op === abi.STORAGE_READ) {
      if (this.deliveringBlock) return abi.SYS_E_CONTEXT;
      if (len === 0 || len % 8 !== 0) return abi.SYS_E_INVALID;
      if (len / 8 > abi.STORAGE_READS_PER_MESSAGE - this.asked.length) return abi.SYS_E_FULL;
      for (let i = 0; i < len / 8; i++) this.asked.push(new DataView(mem.buffer, ptr + i * 8, 8).getBigUint64(0, true));
      return abi.SYS_OK;
    }
    return abi.SYS_E_INVALID;
  }

  /** Runs qx_handle for the message in the inbox, then the prefetch step while it asks for blocks. */
  private handle(kind: number, token: number, payload: Uint8Array): void {
    this.asked = [];
    this.writesThisMessage = 0;
    this.exports.qx_handle(kind, 0, token, payload.length);
    // A corrupt report stops the machine: nothing more is delivered.
    while (this.asked.length > 0 && this.corrupt.length === 0) {
      const asked = this.asked;
      this.asked = [];
      for (const address of asked) {
        const message = new Uint8Array(BLOCK_MESSAGE_BYTES);
        const view = new DataView(message.buffer);
        view.setBigUint64(abi.BLOCK_MSG_ADDRESS, address, true);
        const past = address > BigInt(abi.GRID_ADDRESS_MAX);
        view.setInt32(abi.BLOCK_MSG_STATUS, past ? abi.STORAGE_E_RANGE : abi.STORAGE_OK, true);
        const block = this.grid.get(address);
        if (block !== undefined) message.set(block, abi.BLOCK_MSG_HEADER_BYTES);
        const bytes = past ? message.subarray(0, abi.BLOCK_MSG_HEADER_BYTES) : message;
        this.inbox().set(bytes);
        this.deliveringBlock = true;
        this.writesThisMessage = 0;
        try {
          this.exports.qx_handle(abi.MSG_KIND_BLOCK, abi.SENDER_KERNEL, 0, bytes.length);
        } finally {
          this.deliveringBlock = false;
        }
        this.blocksRead++;
      }
      if (this.corrupt.length > 0) return;
      this.rounds++;
      this.inbox().set(payload);
      this.writesThisMessage = 0;
      this.exports.qx_handle(kind, 0, token, payload.length);
    }
  }

  private checkpoints = 0n;
  private onGrid(): boolean {
    return (this.exports as unknown as { qx_cache_area(): number }).qx_cache_area() !== 0;
  }

  private checkpointPayload(n: bigint): Uint8Array {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, n, true);
    this.inbox().set(b);
    return b;
  }

  /** The host's state digest of the ledger (host/services.ts): its memory less its block cache and inbox. */
  stateDigest(): string {
    const x = this.exports as unknown as { qx_cache_area(): number; qx_cache_bytes(): number };
    const cache = { area: x.qx_cache_area() >>> 0, bytes: x.qx_cache_bytes() >>> 0 };
    const inbox = { area: this.exports.qx_inbox() >>> 0, bytes: this.exports.qx_inbox_bytes() >>> 0 };
    return stateDigestOf(new Uint8Array(this.exports.memory.buffer), [], cache, inbox).toString('hex');
  }

  private inbox(): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, this.exports.qx_inbox(), this.exports.qx_inbox_bytes());
  }

  private readText(ptr: number, len: number): string {
    return new TextDecoder().decode(new Uint8Array(this.exports.memory.buffer, ptr, len));
  }

  private onReply(token: number, status: number, ptr: number, len: number): number {
    const bytes = new Uint8Array(this.exports.memory.buffer, ptr, len).slice();
    this.replies.push({ status, bytes, text: status === 0 ? '' : new TextDecoder().decode(bytes) });
    return 0;
  }

  /** Delivers one request (kind 1) and returns its reply. */
  send(payload: Uint8Array): Reply {
    if (payload.length > this.exports.qx_inbox_bytes()) throw new Error('payload larger than the inbox');
    this.inbox().set(payload);
    this.replies = [];
    const started = process.hrtime.bigint();
    this.handle(KIND_CLIENT_REQUEST, this.nextToken++, payload);
    this.lastHandleNs = Number(process.hrtime.bigint() - started);
    // The kernel ends each batch with a checkpoint message to a service with a
    // grid when it takes no snapshots (kernel/snapshot.ts checkpointAfter).
    if (this.corrupt.length === 0 && this.onGrid()) this.handle(abi.MSG_KIND_CHECKPOINT, 0, this.checkpointPayload(++this.checkpoints));
    if (this.corrupt.length > 0) throw new Error(`the machine stopped: ${this.corrupt[0]}`);
    if (this.replies.length !== 1) throw new Error(`expected one reply, got ${this.replies.length}`);
    return this.replies[0];
  }

  /** The largest read request the ledger takes (its qx_read_request_max). */
  readRequestMax(): number {
    return this.exports.qx_read_request_max();
  }

  /** A copy of the whole memory (tests that prove something changed nothing). */
  memorySnapshot(): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer).slice();
  }

  /**
   * A read (services/ledger/assembly/reads.ts), as the host makes it: the
   * request into the read area, qx_read, the reply out, the area zeroed.
   * `ok` false: the service refused it (`bytes` is its message).
   */
  read(payload: Uint8Array): { ok: boolean; bytes: Uint8Array } {
    const x = this.exports;
    const area = x.qx_read_area();
    const max = x.qx_read_request_max();
    if (payload.length > max) throw new Error(`read of ${payload.length} bytes over the ${max} the ledger takes`);
    const memory = new Uint8Array(x.memory.buffer);
    memory.set(payload, area);
    const r = x.qx_read(payload.length);
    const n = Math.abs(r);
    if (n > x.qx_read_reply_max()) throw new Error(`read reply of ${n} bytes over the reply room`);
    const bytes = memory.slice(area + max, area + max + n);
    memory.fill(0, area, area + payload.length);
    memory.fill(0, area + max, area + max + n);
    return { ok: r >= 0, bytes };
  }

  /** Delivers every armed timer that is due at the current logical time. */
  fireDueTimers(): number {
    let fired = 0;
    for (;;) {
      const index = this.timers.findIndex((timer) => timer.dueNs <= this.nowNs);
      if (index < 0) return fired;
      const [timer] = this.timers.splice(index, 1);
      const tag = new Uint8Array(8);
      new DataView(tag.buffer).setBigUint64(0, BigInt.asUintN(64, timer.tag), true);
      this.inbox().set(tag);
      this.exports.qx_handle(KIND_TIMER, 0, 0, 8);
      fired++;
    }
  }

  /** 0 when the money invariants hold, else the service's invariant code. */
  checkInvariants(): number {
    return this.exports.qx_check_invariants();
  }

  /**
   * Makes the current state a restore point and returns a function that goes
   * back to it: the instance's memory, its mutable globals (a module prepared
   * by host/fuel-instrument.mjs exports them as qx_g<n>) and this harness's
   * clock, timers, logs, events and token counter. The fuzzer runs each input
   * from the same freshly initialised ledger this way, without a new instance.
   */
  restorePoint(): () => void {
    const x = this.exports as unknown as Record<string, unknown>;
    const globals = Object.keys(x).filter((k) => k.startsWith(GLOBAL_EXPORT_PREFIX) && x[k] instanceof WebAssembly.Global).map((k) => x[k] as WebAssembly.Global);
    if (globals.length === 0) throw new Error(`restorePoint needs a module whose globals are exported (${GLOBAL_EXPORT_PREFIX}<n>, host/fuel-instrument.mjs)`);
    const memory = new Uint8Array(this.exports.memory.buffer).slice();
    const values = globals.map((g) => g.value as number | bigint);
    const { nowNs, nextToken } = this;
    const timers = this.timers.slice();
    return () => {
      const live = new Uint8Array(this.exports.memory.buffer);
      live.set(memory);
      if (live.length > memory.length) live.fill(0, memory.length);
      globals.forEach((g, i) => { g.value = values[i]; });
      this.nowNs = nowNs;
      this.nextToken = nextToken;
      this.timers.splice(0, this.timers.length, ...timers);
      this.logs.length = 0;
      this.events.length = 0;
      this.replies = [];
    };
  }

  /** The instance's exports (the fuzzer reads an instrumented build's coverage tables from them). */
  wasmExports(): WebAssembly.Exports {
    return this.exports as unknown as WebAssembly.Exports;
  }

  /** Instance memory size in bytes (capacity tests). */
  memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }
}
