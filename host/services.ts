// host/services.ts: one WebAssembly instance per service, each with its own
// memory. A service may import only the "qenex" syscalls; each import is a
// shim that copies bytes between the service's memory and the kernel's
// syscall area and calls the kernel, which checks the caller's capabilities.
// The shim never decides anything: it copies, calls, and copies back.
//
// Supervision (the kernel decides, kernel/supervise.ts; the host restores).
// Each instance keeps a restore point (a copy of its memory and globals, or
// none: a fresh instance) and a journal of every message it handled since,
// with the result of every syscall the message made. When the kernel says
// "restore" after a trap, the instance is re-instantiated, the restore point
// copied in, and the journal delivered again with each syscall answered from
// the journal instead of the kernel (nothing is sent, replied or logged
// twice). Services are deterministic, so this rebuilds exactly the state the
// service had before the faulting message; a replay that makes other calls
// than the journal says is a restore failure and the service fails.
//
// The state digest (stateDigest) is what replay and read verification
// compare. A service that keeps a block cache (a storage engine, lib/store)
// names it with qx_cache_area/qx_cache_bytes, and the digest skips its bytes:
// what is cached follows the reads made since boot, so a replay from a colder
// cache, or a read that filled it, leaves the same digest.

import { createHash } from 'node:crypto';
import * as abi from '../hal/abi.ts';
import * as limits from './base/limits.ts';
import { FUEL_EXPORT, GLOBAL_EXPORT_PREFIX } from './fuel.ts';
import type { Kernel } from './base/kernel.ts';

export class ServiceFault extends Error {
  override name = 'ServiceFault';
}

/** Restoring a service after a fault did not reproduce its history. */
export class RestoreFailed extends Error {
  override name = 'RestoreFailed';
}

interface ServiceExports {
  memory: WebAssembly.Memory;
  qx_inbox(): number;
  qx_inbox_bytes(): number;
  qx_init(len: number): void;
  qx_handle(kind: number, sender: number, token: number, len: number): void;
}

/** What a service that takes reads (capability "read") exports besides (services/ledger/assembly/reads.ts). */
interface ReadExports {
  qx_read_area(): number;
  qx_read_request_max(): number;
  qx_read_reply_max(): number;
  qx_read(len: number): number;
}

/** A read's answer: a frame status and its payload (the reply, or an error message). */
export interface ReadAnswer { status: number; payload: Uint8Array }

const REQUIRED_EXPORTS = ['memory', 'qx_inbox', 'qx_inbox_bytes', 'qx_init', 'qx_handle'] as const;
// Fuel for the two inbox getters called at instantiation (a handful of units).
const GETTER_FUEL = 1_000_000n;
const PAGE_BYTES = 65536;
const ZERO_PAGE = Buffer.alloc(PAGE_BYTES);

export interface SyscallHooks {
  /** Called after a reply syscall: the kernel may have queued a frame in the syscall area. */
  afterReply(): void;
  /** Called after a log syscall: the console ring has a line. */
  afterLog(): void;
  /** Called after an emit syscall: the event ring has a record to copy out. */
  afterEmit?(): void;
}

const Call = { Send: 0, Reply: 1, Time: 2, Log: 3, Random: 4, Timer: 5, Lookup: 6, Emit: 7, Hsm: 8, Admission: 9, Storage: 10 } as const;
type Call = (typeof Call)[keyof typeof Call];
const CALL_NAMES = ['send', 'reply', 'time', 'log', 'random', 'timer', 'lookup', 'emit', 'hsm', 'admission', 'storage'];

interface CallRecord { call: Call; result: number | bigint; bytes?: Uint8Array }

interface JournalEntry {
  kind: number;
  sender: number;
  token: number;
  payload: Uint8Array;
  fuel: bigint;
  calls: CallRecord[];
}

// cacheResetBytes: the memory came from a machine snapshot that left the
// block cache out; qx_cache_reset(cacheResetBytes) lays it out again.
interface RestorePoint { memory: Uint8Array; globals: (number | bigint)[]; cacheResetBytes?: number }

// A restore point copies a service's memory chunk by chunk and skips the
// chunks that are all zeros (a memory's pages never written, such as a grid
// ledger's filters for tables it does not have yet): the copy then takes
// resident memory only for what the service uses, not its whole size again
// (1.2 GiB for a grid ledger with a 1M-transfer window, most of it never
// touched). Comparing a chunk with zeros reads it; that costs less than
// writing the copy it saves.
const CHECKPOINT_CHUNK_BYTES = 64 * 1024;
const ZERO_CHUNK = Buffer.alloc(CHECKPOINT_CHUNK_BYTES);

/** Copies `from` into `to` (the same length), leaving zero chunks unwritten; `written` marks the chunks of `to` that are not zero. */
export function copySparse(from: Uint8Array, to: Uint8Array, written: Uint8Array): void {
  if (from.length !== to.length || written.length !== Math.ceil(to.length / CHECKPOINT_CHUNK_BYTES)) throw new Error('copySparse: sizes differ');
  for (let c = 0, at = 0; at < from.length; c++, at += CHECKPOINT_CHUNK_BYTES) {
    const end = Math.min(at + CHECKPOINT_CHUNK_BYTES, from.length);
    const chunk = Buffer.from(from.buffer, from.byteOffset + at, end - at);
    if (chunk.equals(end - at === CHECKPOINT_CHUNK_BYTES ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, end - at))) {
      if (written[c] === 1) to.fill(0, at, end);
      written[c] = 0;
    } else {
      to.set(chunk, at);
      written[c] = 1;
    }
  }
}

export class ServiceInstance {
  x!: ServiceExports;
  inboxAddr = 0;
  inboxBytes = 0;
  private globals: WebAssembly.Global[] = [];
  private fuel: WebAssembly.Global | null = null;
  private journal: JournalEntry[] = [];
  private journalBytes = 0;
  private restorePoint: RestorePoint | (() => RestorePoint) | null = null; // a function: built when first needed (a machine snapshot)
  // The memory copy this instance's own checkpoints write; reused while the
  // memory keeps its size (a fresh allocation of a ledger-sized memory costs
  // its page faults on top of the copy, each time).
  private checkpointMemory: Uint8Array | null = null;
  // Which CHECKPOINT_CHUNK_BYTES chunks of that copy were last written with
  // anything but zeros: the others are left as the allocation's zero pages.
  private checkpointChunks: Uint8Array | null = null;
  /** The entry being recorded (live delivery) or replayed (restore). */
  private current: JournalEntry | null = null;
  private replayNext = -1; // index of the next call record while replaying, else -1
  /** Answering a read (qx_read): the one syscall it may make is storage, to ask for blocks (kernel/storage.ts). */
  private reading = false;
  restores = 0;
  /** Unloaded or replaced by an upgrade (host/liveload.ts): the kernel sends it nothing more. */
  retired = false;

  constructor(readonly index: number, readonly name: string, private readonly module: WebAssembly.Module,
    private readonly kernel: Kernel, private readonly hooks: SyscallHooks) {
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.module !== 'qenex') {
        throw new ServiceFault(`service ${name}: imports ${imp.module}.${imp.name}; services may import only "qenex"`);
      }
    }
    this.instantiate();
  }

  private instantiate(): void {
    const shim = new SyscallShim(this.kernel, this, this.hooks);
    const instance = new WebAssembly.Instance(this.module, { qenex: shim.imports() });
    for (const e of REQUIRED_EXPORTS) {
      if (!(e in instance.exports)) throw new ServiceFault(`service ${this.name}: does not export ${e}`);
    }
    this.x = instance.exports as unknown as ServiceExports;
    const fuel = instance.exports[FUEL_EXPORT];
    this.fuel = fuel instanceof WebAssembly.Global ? fuel : null;
    this.globals = Object.entries(instance.exports)
      .filter(([k, v]) => k.startsWith(GLOBAL_EXPORT_PREFIX) && v instanceof WebAssembly.Global)
      .sort(([a], [b]) => Number(a.slice(GLOBAL_EXPORT_PREFIX.length)) - Number(b.slice(GLOBAL_EXPORT_PREFIX.length)))
      .map(([, v]) => v as WebAssembly.Global);
    this.setFuel(GETTER_FUEL);
    this.inboxAddr = this.x.qx_inbox();
    this.inboxBytes = this.x.qx_inbox_bytes();
    if (this.inboxAddr + this.inboxBytes > this.x.memory.buffer.byteLength) {
      throw new ServiceFault(`service ${this.name}: inbox ${this.inboxAddr}+${this.inboxBytes} is outside its memory`);
    }
  }

  private setFuel(fuel: bigint): void {
    if (this.fuel !== null) this.fuel.value = fuel;
  }

  /** Fuel left in the counter (negative after fuel exhaustion); null when not instrumented. */
  fuelLeft(): bigint | null {
    return this.fuel === null ? null : (this.fuel.value as bigint);
  }

  /**
   * Copies a message from kernel memory into the inbox and runs the handler
   * with `fuel` units. A trap propagates (a WebAssembly.RuntimeError or a
   * stack-overflow RangeError); the message is then not in the journal.
   */
  deliver(kernel: Kernel, kind: number, addr: number, len: number, sender: number, token: number, fuel: bigint = BigInt(limits.FUEL_PER_MESSAGE_DEFAULT)): void {
    if (len > this.inboxBytes) throw new ServiceFault(`service ${this.name}: message of ${len} bytes exceeds its inbox`);
    const payload = Uint8Array.from(kernel.mem.slice(addr, len));
    const entry: JournalEntry = { kind, sender, token, payload, fuel, calls: [] };
    this.current = entry;
    try {
      this.run(entry);
    } finally {
      this.current = null;
    }
    this.journal.push(entry);
    this.journalBytes += payload.length + 16 * entry.calls.length + 64;
    const memoryBytes = this.x.memory.buffer.byteLength;
    const journalMax = Math.min(Math.max(limits.SERVICE_JOURNAL_BYTES_MIN, memoryBytes), limits.SERVICE_JOURNAL_BYTES_MAX);
    if (this.journalBytes > journalMax || this.journal.length >= limits.SERVICE_JOURNAL_MESSAGES_MAX) {
      this.checkpoint();
    }
  }

  private run(entry: JournalEntry): void {
    new Uint8Array(this.x.memory.buffer, this.inboxAddr, entry.payload.length).set(entry.payload);
    this.setFuel(entry.fuel);
    if (entry.kind === abi.MSG_KIND_INIT) this.x.qx_init(entry.payload.length);
    else this.x.qx_handle(entry.kind, entry.sender, entry.token, entry.payload.length);
  }

  /** The module exports qx_read, qx_read_area, qx_read_request_max and qx_read_reply_max. */
  takesReads(): boolean {
    const x = this.x as unknown as Partial<ReadExports>;
    return typeof x.qx_read === 'function' && typeof x.qx_read_area === 'function' && typeof x.qx_read_request_max === 'function'
      && typeof x.qx_read_reply_max === 'function';
  }

  /**
   * Answers a read (hal/frames.ts FRAME_F_READ) with the module's qx_read and
   * leaves its state as it was: the request goes into the read area and the
   * reply comes out of it, then what was written there is zeroed again and
   * every mutable global put back. A syscall made during a read gets
   * SYS_E_CONTEXT (no message is being handled), except storage's
   * STORAGE_READ: the kernel then drops this answer, delivers the blocks as
   * messages and hands the read over again (kernel/storage.ts). With `verify` (tests, the
   * simulator) the state digest must be the same afterwards, or it throws:
   * a read that changed the state would make this machine differ from its replay.
   */
  read(request: Uint8Array, fuel: bigint, verify: boolean): ReadAnswer {
    if (!this.takesReads()) return readError(abi.FRAME_E_DENIED, `service ${this.name} does not export qx_read`);
    const x = this.x as unknown as ReadExports & ServiceExports;
    const area = x.qx_read_area() >>> 0;
    const max = x.qx_read_request_max() >>> 0;
    const replyMax = x.qx_read_reply_max() >>> 0;
    const memory = new Uint8Array(x.memory.buffer);
    if (request.length > max) return readError(abi.FRAME_E_TOO_LARGE, `read of ${request.length} bytes is over the ${max} the service takes`);
    if (area + max + replyMax > memory.length) throw new ServiceFault(`service ${this.name}: read area ${area}+${max}+${replyMax} is outside its memory`);
    const before = verify ? this.stateDigest() : null;
    const globals = this.globals.map((g) => g.value as number | bigint);
    memory.set(request, area);
    let written = 0;
    let answer: ReadAnswer;
    try {
      this.setFuel(fuel);
      this.reading = true;
      const r = x.qx_read(request.length) | 0;
      const out = new Uint8Array(x.memory.buffer);
      const n = Math.abs(r);
      if (n > replyMax) throw new ServiceFault(`service ${this.name}: read reply of ${n} bytes is over its ${replyMax}-byte reply room`);
      written = n;
      const payload = out.slice(area + max, area + max + n); // a copy: the reply room is zeroed below
      answer = r >= 0 ? { status: abi.FRAME_OK, payload } : { status: abi.FRAME_E_SERVICE, payload };
    } catch (e) {
      const code = this.faultCode(e);
      if (code === null) throw e;
      written = replyMax; // a trap may have written anywhere in the reply room
      answer = readError(abi.FRAME_E_FAULT, `service ${this.name} trapped answering a read: ${(e as Error).message}`);
    } finally {
      this.reading = false;
      const mem = new Uint8Array(x.memory.buffer);
      mem.fill(0, area, area + request.length);
      mem.fill(0, area + max, area + max + written);
      this.globals.forEach((g, i) => { g.value = globals[i]; });
    }
    if (before !== null && !before.equals(this.stateDigest())) {
      throw new ServiceFault(`service ${this.name}: answering a read changed its state (qx_read may write only its read area)`);
    }
    return answer;
  }

  /** Makes the current state the restore point (a message boundary). */
  checkpoint(): void {
    const bytes = this.memoryBytes();
    if (this.checkpointMemory === null || this.checkpointMemory.byteLength !== bytes.byteLength) {
      this.checkpointMemory = new Uint8Array(bytes.byteLength);
      this.checkpointChunks = new Uint8Array(Math.ceil(bytes.byteLength / CHECKPOINT_CHUNK_BYTES));
    }
    copySparse(bytes, this.checkpointMemory, this.checkpointChunks!);
    this.restorePoint = { memory: this.checkpointMemory, globals: this.globals.map((g) => g.value as number | bigint) };
    this.journal = [];
    this.journalBytes = 0;
  }

  /** The instance's memory and mutable globals, for a machine snapshot (host/snapshot.ts). */
  snapshotParts(): { memory: WebAssembly.Memory; globals: readonly WebAssembly.Global[] } {
    return { memory: this.x.memory, globals: this.globals };
  }

  /** After a machine snapshot was loaded into this fresh instance: it is the restore point (built on first use). */
  snapshotRestored(state: () => RestorePoint): void {
    this.restorePoint = state;
    this.journal = [];
    this.journalBytes = 0;
  }

  /**
   * Rebuilds the state the service had before the message that faulted: a
   * new instance, the restore point, then the journal replayed with its
   * recorded syscall results. Throws RestoreFailed when history diverges.
   */
  restore(): void {
    this.restores++;
    try {
      this.instantiate();
      if (typeof this.restorePoint === 'function') this.restorePoint = this.restorePoint();
      const rp = this.restorePoint;
      if (rp !== null) this.load(rp);
      for (const entry of this.journal) this.replay(entry);
    } catch (e) {
      if (e instanceof RestoreFailed) throw e;
      throw new RestoreFailed(`service ${this.name}: restore failed: ${(e as Error).message}`);
    } finally {
      this.current = null;
      this.replayNext = -1;
    }
  }

  private load(rp: RestorePoint): void {
    const memory = this.x.memory;
    const pages = rp.memory.length / PAGE_BYTES - memory.buffer.byteLength / PAGE_BYTES;
    if (pages < 0) throw new RestoreFailed(`service ${this.name}: its fresh memory is larger than its restore point`);
    if (pages > 0) memory.grow(pages);
    new Uint8Array(memory.buffer).set(rp.memory);
    if (rp.globals.length !== this.globals.length) throw new RestoreFailed(`service ${this.name}: global count changed`);
    rp.globals.forEach((v, i) => { this.globals[i].value = v; });
    if (rp.cacheResetBytes !== undefined) this.cacheReset(rp.cacheResetBytes);
  }

  /**
   * The cache a machine snapshot may leave out (the module exports
   * qx_cache_reset and names a cache that is not empty), or null.
   */
  resettableCacheArea(): CacheArea | null {
    if (typeof (this.x as unknown as Partial<CacheResetExport>).qx_cache_reset !== 'function') return null;
    const cache = this.cacheArea();
    return cache !== null && cache.bytes > 0 ? cache : null;
  }

  /**
   * After a machine snapshot that left the cache out was loaded: the service
   * lays its cache out again, empty (it writes only inside the cache region,
   * which is not state; run with getter fuel, the fuel left put back).
   */
  cacheReset(bytes: number): void {
    const x = this.x as unknown as CacheResetExport;
    withGetterFuel(this.fuel, () => x.qx_cache_reset(bytes));
  }

  private replay(entry: JournalEntry): void {
    this.current = entry;
    this.replayNext = 0;
    this.run(entry);
    if (this.replayNext !== entry.calls.length) {
      throw new RestoreFailed(`service ${this.name}: replayed message made ${this.replayNext} syscalls, the journal has ${entry.calls.length}`);
    }
  }

  /**
   * One syscall: live, it runs `live` and records the result; while
   * restoring, it returns the recorded result (and random bytes) instead.
   */
  syscall<T extends number | bigint>(call: Call, live: () => T, randomOut?: { ptr: number; len: number }): T {
    const entry = this.current;
    // Outside a message (module-level initializers at instantiation, also
    // when a restore re-instantiates) there is no caller: the kernel would
    // say SYS_E_CONTEXT at boot, and must not be asked during a restore.
    // A read may ask for blocks: the kernel decides, and nothing is journaled
    // (a read changes no state; the blocks arrive later as messages).
    if (entry === null && this.reading && call === Call.Storage) return live();
    if (entry === null) return (call === Call.Time ? BigInt(abi.SYS_E_CONTEXT) : abi.SYS_E_CONTEXT) as T;
    if (this.replayNext >= 0) {
      const rec = entry.calls[this.replayNext++];
      if (rec === undefined || rec.call !== call) {
        throw new RestoreFailed(`service ${this.name}: replay called ${CALL_NAMES[call]} where the journal has ${rec === undefined ? 'no call' : CALL_NAMES[rec.call]}`);
      }
      if (rec.bytes !== undefined && randomOut !== undefined) new Uint8Array(this.x.memory.buffer, randomOut.ptr, rec.bytes.length).set(rec.bytes);
      return rec.result as T;
    }
    const result = live();
    const rec: CallRecord = { call, result };
    if (randomOut !== undefined && result === abi.SYS_OK) rec.bytes = Uint8Array.from(new Uint8Array(this.x.memory.buffer, randomOut.ptr, randomOut.len));
    entry.calls.push(rec);
    return result;
  }

  get replaying(): boolean {
    return this.replayNext >= 0;
  }

  /** The FAULT_* code of an error thrown by deliver, or null when it is not a service trap. */
  faultCode(e: unknown): number | null {
    if (e instanceof RangeError && /call stack/i.test(e.message)) return abi.FAULT_TRAP;
    if (!(e instanceof WebAssembly.RuntimeError)) return null;
    const left = this.fuelLeft();
    if (left !== null && left < 0n) return abi.FAULT_FUEL;
    const m = e.message;
    if (/unreachable/i.test(m)) return abi.FAULT_UNREACHABLE;
    if (/out of bounds/i.test(m)) return abi.FAULT_MEMORY;
    if (/divide|remainder|division/i.test(m)) return abi.FAULT_DIVIDE;
    return abi.FAULT_TRAP;
  }

  // ---- live upgrade (host/liveload.ts) ----

  /**
   * Takes over `from`'s state (a fresh instance of the new version): its
   * linear memory, then this module's own data segments written over it (so
   * the new code's static data is its own), and its mutable globals when
   * both versions have the same number. Returns whether the globals were
   * taken. `from` is left untouched, so a failed upgrade keeps it running.
   */
  adoptState(from: ServiceInstance, segments: readonly { offset: number; bytes: Uint8Array }[]): boolean {
    const old = from.memoryBytes();
    const memory = this.x.memory;
    const pages = Math.ceil((old.length - memory.buffer.byteLength) / PAGE_BYTES);
    if (pages > 0) memory.grow(pages); // a RangeError past this module's memory limit
    const mem = new Uint8Array(memory.buffer);
    mem.set(old);
    for (const s of segments) {
      if (s.offset + s.bytes.length > mem.length) throw new ServiceFault(`service ${this.name}: a data segment lies outside its memory`);
      mem.set(s.bytes, s.offset);
    }
    if (from.globals.length !== this.globals.length) return false;
    from.globals.forEach((g, i) => { this.globals[i].value = g.value; });
    return true;
  }

  /**
   * Calls qx_migrate(fromVersion) with `fuel`, with syscalls answered live
   * (it runs as the service, between messages). null: no such export;
   * otherwise its i32 result. A trap propagates.
   */
  migrate(fromVersion: number, fuel: bigint): number | null {
    const fn = (this.x as unknown as Record<string, unknown>).qx_migrate;
    if (typeof fn !== 'function') return null;
    this.current = { kind: abi.MSG_KIND_INIT, sender: abi.SENDER_KERNEL, token: 0, payload: new Uint8Array(0), fuel, calls: [] };
    try {
      this.setFuel(fuel);
      return Number((fn as (v: number) => number)(fromVersion)) | 0;
    } finally {
      this.current = null;
    }
  }

  memoryBytes(): Uint8Array {
    return new Uint8Array(this.x.memory.buffer);
  }

  /**
   * SHA-256 of the service's state (stateDigestOf): its memory and mutable
   * globals, less the block cache the module names with qx_cache_area /
   * qx_cache_bytes (services/sdk/ABI.md). Which blocks a cache holds depends
   * on what was read since boot, not only on the logged input: a replay from
   * a colder cache, or a read (qx_read) that touched it, must hash the same.
   */
  stateDigest(): Buffer {
    return stateDigestOf(this.memoryBytes(), this.globals, this.cacheArea(), { area: this.inboxAddr, bytes: this.inboxBytes });
  }

  /** The region the module exports as its block cache, or null (read with getter fuel; the fuel left is put back). */
  cacheArea(): CacheArea | null {
    return cacheAreaOf(this.x as unknown as Partial<CacheExports>, this.fuel);
  }
}

/** What a service that keeps a block cache exports (services/sdk/ABI.md): one region of its memory that is not state. */
export interface CacheExports {
  qx_cache_area(): number;
  qx_cache_bytes(): number;
}
export interface CacheArea { area: number; bytes: number }
interface CacheResetExport { qx_cache_reset(bytes: number): void }

/** The cache region a module's exports name, or null when it names none. */
export function cacheAreaOf(x: Partial<CacheExports>, fuel: WebAssembly.Global | null): CacheArea | null {
  if (typeof x.qx_cache_area !== 'function' || typeof x.qx_cache_bytes !== 'function') return null;
  return withGetterFuel(fuel, () => ({ area: x.qx_cache_area!() >>> 0, bytes: x.qx_cache_bytes!() >>> 0 }));
}

/** Runs `f` (a call into the module outside any message) with getter fuel, and puts the fuel left back. */
function withGetterFuel<T>(fuel: WebAssembly.Global | null, f: () => T): T {
  const left = fuel?.value as bigint | undefined;
  try {
    if (fuel !== null) fuel.value = GETTER_FUEL;
    return f();
  } finally {
    if (fuel !== null && left !== undefined) fuel.value = left;
  }
}

/**
 * SHA-256 of a service's state: its memory's size, then each 64 KiB page
 * that is not all zeros (its index, then its bytes), then each mutable
 * global. Pages of zeros are most of a service's reserved tables; skipping
 * them (a comparison, not a hash) makes the hash cost what the state holds.
 * The `cache` region's bytes are read as zeros and where it starts is
 * hashed instead, so neither its contents nor its size count but where it
 * is does. Also the
 * harness's (services/sdk/harness.ts), so a service's own tests see the
 * same digest.
 */
export function stateDigestOf(memory: Uint8Array, globals: WebAssembly.Global[], cache: CacheArea | null, inbox: CacheArea | null = null): Buffer {
  const h = createHash('sha256');
  const word = Buffer.alloc(4);
  // A cache's size is not state either: with one, memory is counted up to where
  // the cache starts (a service allocates it last, so two that cache more or
  // less have the same memory before it), every page after it still by index.
  word.writeUInt32LE(cache === null || cache.bytes === 0 ? memory.length / PAGE_BYTES : Math.floor(cache.area / PAGE_BYTES));
  h.update(word);
  // A service with a cache is also delivered blocks (MSG_KIND_BLOCK) a replay
  // may not ask for, and the last one stays in its inbox: the inbox, which
  // holds the message being handled and never state, is skipped with it.
  const skip = (cache === null ? [] : inbox === null ? [cache] : [cache, inbox])
    .map((r) => ({ lo: Math.min(r.area, memory.length), hi: Math.min(r.area + r.bytes, memory.length) }))
    .filter((r) => r.hi > r.lo);
  const scratch = skip.length > 0 ? Buffer.alloc(PAGE_BYTES) : null;
  for (let page = 0; page * PAGE_BYTES < memory.length; page++) {
    const start = page * PAGE_BYTES;
    const end = start + PAGE_BYTES;
    let bytes: Uint8Array = memory.subarray(start, end);
    const overlapping = skip.filter((r) => r.lo < end && r.hi > start);
    if (scratch !== null && overlapping.length > 0) {
      if (overlapping.some((r) => r.lo <= start && r.hi >= end)) continue; // wholly skipped
      scratch.set(bytes);
      for (const r of overlapping) scratch.fill(0, Math.max(r.lo, start) - start, Math.min(r.hi, end) - start);
      bytes = scratch;
    }
    if (ZERO_PAGE.equals(bytes)) continue;
    word.writeUInt32LE(page);
    h.update(word).update(bytes);
  }
  const g = Buffer.alloc(8);
  for (const global of globals) {
    const v = global.value as number | bigint;
    if (typeof v === 'bigint') g.writeBigUInt64LE(BigInt.asUintN(64, v));
    else g.writeDoubleLE(v);
    h.update(g);
  }
  if (cache !== null) {
    const bounds = Buffer.alloc(4);
    bounds.writeUInt32LE(cache.area, 0);
    h.update(bounds);
  }
  return h.digest();
}

function readError(status: number, message: string): ReadAnswer {
  return { status, payload: new Uint8Array(Buffer.from(message, 'utf8')) };
}

class SyscallShim {
  constructor(private readonly k: Kernel, private readonly owner: ServiceInstance, private readonly hooks: SyscallHooks) {}

  private memory(): ArrayBuffer {
    return this.owner.x.memory.buffer;
  }

  // Copies service memory [ptr, ptr+len) into the syscall area; false when the
  // range is outside the service's memory or larger than the area.
  private copyIn(ptr: number, len: number): boolean {
    const mem = this.memory();
    if (ptr < 0 || len < 0 || ptr + len > mem.byteLength || len > this.k.x.sys_area_bytes()) return false;
    this.k.mem.u8().set(new Uint8Array(mem, ptr, len), this.k.x.sys_area());
    return true;
  }

  imports(): Record<string, (...args: never[]) => unknown> {
    const k = this.k.x;
    const o = this.owner;
    return {
      send: (peer: number, ptr: number, len: number): number => o.syscall(Call.Send, () => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return len >>> 0 > k.sys_area_bytes() ? abi.SYS_E_TOO_LARGE : abi.SYS_E_INVALID;
        return k.sys_send(peer >>> 0, len >>> 0);
      }),
      reply: (token: number, status: number, ptr: number, len: number): number => o.syscall(Call.Reply, () => {
        // Too large for the syscall area: the kernel still learns of it (it
        // answers the asker with an error and spends the token); nothing is copied.
        const tooLarge = len >>> 0 > k.sys_area_bytes();
        if (!tooLarge && !this.copyIn(ptr >>> 0, len >>> 0)) return abi.SYS_E_INVALID;
        const r = k.sys_reply(token >>> 0, status >>> 0, len >>> 0);
        this.hooks.afterReply();
        return r;
      }),
      time: (): bigint => o.syscall(Call.Time, () => k.sys_time()),
      log: (ptr: number, len: number): number => o.syscall(Call.Log, () => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return abi.SYS_E_INVALID;
        const r = k.sys_log(len >>> 0);
        this.hooks.afterLog();
        return r;
      }),
      random: (ptr: number, len: number): number => {
        const p = ptr >>> 0;
        const n = len >>> 0;
        return o.syscall(Call.Random, () => {
          const mem = this.memory();
          if (p + n > mem.byteLength) return abi.SYS_E_INVALID;
          const r = k.sys_random(n);
          if (r === abi.SYS_OK) new Uint8Array(mem, p, n).set(this.k.mem.slice(k.sys_area(), n));
          return r;
        }, { ptr: p, len: n });
      },
      timer: (delayNs: bigint, tag: bigint): number => o.syscall(Call.Timer, () => k.sys_timer(delayNs, tag)),
      lookup: (ptr: number, len: number): number => o.syscall(Call.Lookup, () => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return abi.SYS_E_INVALID;
        return k.sys_lookup(len >>> 0);
      }),
      // A restore answers from the journal: an event is never emitted twice.
      emit: (type: number, count: number, ptr: number, len: number): number => o.syscall(Call.Emit, () => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return len >>> 0 > k.sys_area_bytes() ? abi.SYS_E_TOO_LARGE : abi.SYS_E_INVALID;
        const r = k.sys_emit(type >>> 0, count >>> 0, len >>> 0);
        this.hooks.afterEmit?.();
        return r;
      }),
      // The request id is journaled: a restore never asks the HSM again.
      hsm: (op: number, ptr: number, len: number): number => o.syscall(Call.Hsm, () => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return len >>> 0 > k.sys_area_bytes() ? abi.SYS_E_TOO_LARGE : abi.SYS_E_INVALID;
        return k.sys_hsm(op >>> 0, len >>> 0);
      }),
      // A restore answers from the journal: blocks are written and asked for
      // once; the blocks delivered are in the journal as messages.
      storage: (op: number, ptr: number, len: number): number => o.syscall(Call.Storage, () => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return len >>> 0 > k.sys_area_bytes() ? abi.SYS_E_TOO_LARGE : abi.SYS_E_INVALID;
        return k.sys_storage(op >>> 0, len >>> 0);
      }),
      // A restore answers from the journal: the table was programmed the first time.
      admission: (op: number, ptr: number, len: number): number => o.syscall(Call.Admission, () => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return len >>> 0 > k.sys_area_bytes() ? abi.SYS_E_TOO_LARGE : abi.SYS_E_INVALID;
        return k.sys_admission(op >>> 0, len >>> 0);
      }),
    };
  }
}
