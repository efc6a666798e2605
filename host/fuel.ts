// host/fuel.ts: prepares a service module for the machine: a deterministic
// fuel counter and the manifest's memory limit are compiled into it.
//
// Fuel. Binaryen's `log-execution` pass puts a call at every function entry
// and every loop header, the only places where wasm code can start running
// longer: between two of them the code runs straight, bounded by the
// function's size. The pass's import is replaced by an internal function
// that subtracts one from an i64 global exported as `qx_fuel` and executes
// `unreachable` when it goes negative. The kernel names each message's
// budget (dispatch_fuel); the host writes it into qx_fuel before the call.
// The count depends only on the module bytes, this binaryen version (pinned
// by package-lock.json) and the input, so a runaway message stops at the
// same function entry or loop iteration on every run and every platform.
//
// Globals. Every mutable global (AssemblyScript keeps module-level `let`s
// there) is exported as `qx_g<n>`, so a service's state is its linear
// memory plus these values: what supervision restores and the state hash
// covers.
//
// Memory. The memory section's maximum is set to the manifest's
// memory_pages_max, so memory.grow past it returns -1 inside the service
// (AssemblyScript's allocator then aborts: a trap, handled by supervision);
// the host's memory is never at stake.
//
// binaryen is loaded once per process by loadInstrumenter() (Machine.boot
// calls it). Run from source under tsx, it runs in a worker thread started
// without the tsx loader (tsx would spend ~10 s transforming binaryen's
// 13 MB of JavaScript), called synchronously (Atomics.wait on a shared
// flag, then receiveMessageOnPort), so preparing never yields to the event
// loop; the bundled CLI loads binaryen in-thread (~0.7 s).

import { createHash } from 'node:crypto';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import * as limits from './limits.ts';
import { instrument, Refusal, FUEL_EXPORT, GLOBAL_EXPORT_PREFIX, START_FUEL } from './fuel-instrument.mjs';

export { FUEL_EXPORT, GLOBAL_EXPORT_PREFIX, START_FUEL };

export class ModuleRefused extends Error {
  override name = 'ModuleRefused';
}

// Longest wait for the worker (its start, binaryen's load, one module).
const WORKER_WAIT_MS = 120_000;

type Instrument = (bytes: Uint8Array, fuel: boolean) => Uint8Array;
let instrumenter: Instrument | null = null;
let loading: Promise<void> | null = null;

/** Makes prepareModuleSync usable; resolves at once when already loaded (or run from source). */
export function loadInstrumenter(): Promise<void> {
  if (instrumenter !== null) return Promise.resolve();
  if (import.meta.url.endsWith('.ts')) {
    instrumenter = workerInstrumenter();
    return Promise.resolve();
  }
  loading ??= import('binaryen').then((mod) => {
    const b = mod.default;
    instrumenter = (bytes, fuel) => {
      try {
        return instrument(b, bytes, fuel);
      } catch (e) {
        if (e instanceof Refusal) throw new ModuleRefused(e.message);
        throw e;
      }
    };
  });
  return loading;
}

interface WorkerReply { bytes?: Uint8Array; error?: string; refused?: boolean }

function workerInstrumenter(): Instrument {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./fuel-instrument.mjs', import.meta.url), {
    execArgv: [], workerData: { role: 'qenex-fuel', flag, port: port2 }, transferList: [port2 as unknown as MessagePort],
  });
  worker.unref();
  port1.unref();
  return (bytes, fuel) => {
    Atomics.store(flag, 0, 0);
    port1.postMessage({ bytes, fuel });
    if (Atomics.wait(flag, 0, 0, WORKER_WAIT_MS) === 'timed-out') throw new Error(`fuel instrumentation: no answer from the worker within ${WORKER_WAIT_MS} ms`);
    const reply = receiveMessageOnPort(port1)?.message as WorkerReply | undefined;
    if (reply === undefined) throw new Error('fuel instrumentation: the worker signalled without an answer');
    if (reply.bytes !== undefined) return new Uint8Array(reply.bytes);
    if (reply.refused === true) throw new ModuleRefused(reply.error ?? 'refused');
    throw new Error(`fuel instrumentation failed: ${reply.error}`);
  };
}

export interface PrepareOptions {
  memoryPagesMax: number;
  /** false: no fuel counter (benchmarks compare the two). */
  fuel?: boolean;
}

const prepared = new Map<string, Uint8Array>();

/** Instruments `bytes` and sets its memory limit (cached by content and options). After loadInstrumenter(). */
export function prepareModuleSync(bytes: Uint8Array, opts: PrepareOptions): Uint8Array {
  const fuel = opts.fuel ?? true;
  const key = createHash('sha256').update(bytes).update(`|${opts.memoryPagesMax}|${fuel}`).digest('hex');
  const hit = prepared.get(key);
  if (hit !== undefined) return hit;
  limitMemory(bytes, opts.memoryPagesMax); // refuse early, with the module's own numbers
  if (instrumenter === null) throw new Error('prepareModuleSync: loadInstrumenter() was not awaited');
  const out = limitMemory(instrumenter(Uint8Array.from(bytes), fuel), opts.memoryPagesMax);
  if (prepared.size >= limits.PREPARED_MODULES_CACHED_MAX) prepared.delete(prepared.keys().next().value!);
  prepared.set(key, out);
  return out;
}

export async function prepareModule(bytes: Uint8Array, opts: PrepareOptions): Promise<Uint8Array> {
  await loadInstrumenter();
  return prepareModuleSync(bytes, opts);
}

// ---- the memory section ----

function leb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (at >= bytes.length) throw new ModuleRefused('truncated LEB128 in the module');
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, at];
    shift += 7;
  }
  throw new ModuleRefused('LEB128 longer than 5 bytes in the module');
}

function encodeLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Memory limits of a module: its own memory's initial and maximum pages. */
export function memoryLimits(bytes: Uint8Array): { initial: number; maximum: number | null } | null {
  const s = findMemorySection(bytes);
  if (s === null) return null;
  return { initial: s.initial, maximum: s.maximum };
}

function findMemorySection(bytes: Uint8Array) {
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, body] = leb(bytes, at + 1);
    if (id === 5) {
      const [count, p] = leb(bytes, body);
      if (count !== 1) throw new ModuleRefused(`the module defines ${count} memories; a service has exactly one`);
      const flags = bytes[p];
      if ((flags & ~1) !== 0) throw new ModuleRefused('shared or 64-bit memories are not supported for services');
      const [initial, q] = leb(bytes, p + 1);
      let maximum: number | null = null;
      let end = q;
      if ((flags & 1) !== 0) [maximum, end] = leb(bytes, q);
      return { start: at, body, size, flagsAt: p, initial, maximum, end };
    }
    at = body + size;
  }
  return null;
}

/** Sets the memory's maximum to min(its own, pagesMax); refuses an initial size above it. */
export function limitMemory(bytes: Uint8Array, pagesMax: number): Uint8Array {
  const s = findMemorySection(bytes);
  if (s === null) throw new ModuleRefused('the module defines no memory (a service exports its own memory)');
  if (s.initial > pagesMax) {
    throw new ModuleRefused(`the module starts with ${s.initial} memory pages, over its memory_pages_max ${pagesMax}`);
  }
  const maximum = s.maximum === null ? pagesMax : Math.min(s.maximum, pagesMax);
  const limitsBytes = [0x01, ...encodeLeb(s.initial), ...encodeLeb(maximum)];
  const sectionBody = [...encodeLeb(1), ...limitsBytes, ...bytes.subarray(s.end, s.body + s.size)];
  const section = [5, ...encodeLeb(sectionBody.length), ...sectionBody];
  const out = new Uint8Array(bytes.length - (s.body + s.size - s.start) + section.length);
  out.set(bytes.subarray(0, s.start), 0);
  out.set(section, s.start);
  out.set(bytes.subarray(s.body + s.size), s.start + section.length);
  return out;
}
