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
// Where it runs. `qenex build` prepares every service module and packs the
// prepared bytes into the signed image (prepareImageServices; the image
// says so in a header flag and a "prepared" section, host/image.ts), so
// the signatures cover exactly the code that runs and boot never loads
// binaryen: Machine.boot only checks such a module (checkPreparedModule:
// the fuel counter is there, the memory limit is the manifest's). Images
// packed without preparing (older builds, tests that pack in-process) and
// modules loaded at run time are prepared by prepareModule when loaded.
//
// binaryen is loaded once per process, only when something is prepared in
// this process. Run from source under tsx, it runs in a worker thread
// started without the tsx loader (tsx would spend ~10 s transforming
// binaryen's 13 MB of JavaScript), called synchronously (Atomics.wait on a
// shared flag, then receiveMessageOnPort), so preparing never yields to the
// event loop; loadInstrumenter() makes the bundled CLI load binaryen
// in-thread (~0.7 s). prepareModuleSync without it (a module loaded into a
// machine that booted a prepared image) starts the worker then and there.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import * as limits from './base/limits.ts';
import type { PreparedInfo } from './image.ts';
import { instrument, Refusal, FUEL_EXPORT, GLOBAL_EXPORT_PREFIX, START_FUEL } from './fuel-instrument.mjs';

export { FUEL_EXPORT, GLOBAL_EXPORT_PREFIX, START_FUEL };

export class ModuleRefused extends Error {
  override name = 'ModuleRefused';
}

// The contract between a prepared module and the host that runs it: an i64
// global exported as qx_fuel, decremented at every function entry and loop
// header, trapping below zero; every mutable global exported as qx_g<n>; the
// memory maximum at most memory_pages_max. Images record the number they
// were prepared for, and a host refuses another: raise it whenever any part
// of the contract (or the instrumentation's placement of charges) changes.
export const INSTRUMENTATION_ABI = 1;

// Longest wait for the worker (its start, binaryen's load, one module).
const WORKER_WAIT_MS = 120_000;

type Instrument = (bytes: Uint8Array, fuel: boolean) => Uint8Array;
let instrumenter: Instrument | null = null;
let loading: Promise<void> | null = null;

/** Loads binaryen for prepareModuleSync ahead of use; resolves at once when already loaded (or run from source). */
export function loadInstrumenter(): Promise<void> {
  if (instrumenter !== null) return Promise.resolve();
  if (import.meta.url.endsWith('.ts')) {
    instrumenter = workerInstrumenter();
    return Promise.resolve();
  }
  loading ??= importBinaryen().then((mod) => {
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

// The bundled CLI is compiled by its launcher through node:vm, whose import()
// Node serves only behind a flag: the launcher lends its own (host/cmd/launch.ts).
function importBinaryen(): Promise<typeof import('binaryen')> {
  const lent = (globalThis as Record<symbol, unknown>)[Symbol.for('qenex.import')] as ((s: string) => Promise<unknown>) | undefined;
  return lent !== undefined ? lent('binaryen') as Promise<typeof import('binaryen')> : import('binaryen');
}

interface WorkerReply { bytes?: Uint8Array; error?: string; refused?: boolean }

// The worker's script: beside this module (host/, run from source) or, for
// the bundled CLI in dist/, the same file in host/.
function workerScript(): URL {
  for (const relative of ['./fuel-instrument.mjs', '../host/fuel-instrument.mjs']) {
    const url = new URL(relative, import.meta.url);
    if (existsSync(url)) return url;
  }
  throw new Error(`fuel instrumentation: no fuel-instrument.mjs beside ${fileURLToPath(import.meta.url)} or in ../host/ to run binaryen in a worker`);
}

function workerInstrumenter(): Instrument {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(workerScript(), {
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

/**
 * Instruments `bytes` and sets its memory limit (cached by content and
 * options). Synchronous: in-thread after loadInstrumenter() in the bundled
 * CLI, else on the worker, started by the first call when need be.
 */
export function prepareModuleSync(bytes: Uint8Array, opts: PrepareOptions): Uint8Array {
  const fuel = opts.fuel ?? true;
  const key = createHash('sha256').update(bytes).update(`|${opts.memoryPagesMax}|${fuel}`).digest('hex');
  const hit = prepared.get(key);
  if (hit !== undefined) return hit;
  limitMemory(bytes, opts.memoryPagesMax); // refuse early, with the module's own numbers
  instrumenter ??= workerInstrumenter();
  const out = limitMemory(instrumenter(Uint8Array.from(bytes), fuel), opts.memoryPagesMax);
  if (prepared.size >= limits.PREPARED_MODULES_CACHED_MAX) prepared.delete(prepared.keys().next().value!);
  prepared.set(key, out);
  return out;
}

export async function prepareModule(bytes: Uint8Array, opts: PrepareOptions): Promise<Uint8Array> {
  await loadInstrumenter();
  return prepareModuleSync(bytes, opts);
}

// ---- preparing at build, checking at boot ----

let binaryenVersion: string | null = null;

/** The instrumenter this host prepares with, as images record it: "qenex-fuel/1 binaryen/<version>". */
export function instrumenterName(): string {
  if (binaryenVersion === null) {
    // The version binaryen's own package states; package-lock.json pins it.
    const path = createRequire(import.meta.url).resolve('binaryen/package.json');
    const version = (JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown }).version;
    binaryenVersion = typeof version === 'string' && /^[\x21-\x7e]{1,64}$/.test(version) ? version : 'unknown';
  }
  return `qenex-fuel/${INSTRUMENTATION_ABI} binaryen/${binaryenVersion}`;
}

export interface ServiceModuleSpec {
  name: string;
  memory_pages_max: number;
}

/**
 * What `qenex build` packs: every service module prepared for its manifest
 * entry (fuel counter, exported globals, memory limit), and the record of
 * how, for the image's "prepared" section.
 */
export async function prepareImageServices(specs: readonly ServiceModuleSpec[], modules: ReadonlyMap<string, Uint8Array>): Promise<{
  services: Map<string, Uint8Array>;
  prepared: PreparedInfo;
}> {
  const services = new Map<string, Uint8Array>();
  const sources: PreparedInfo['services'] = [];
  for (const spec of specs) {
    const bytes = modules.get(spec.name);
    if (bytes === undefined) throw new ModuleRefused(`service ${spec.name}: no module to prepare`);
    try {
      services.set(spec.name, await prepareModule(bytes, { memoryPagesMax: spec.memory_pages_max, fuel: true }));
    } catch (e) {
      if (e instanceof ModuleRefused) throw new ModuleRefused(`service ${spec.name}: ${e.message}`);
      throw e;
    }
    sources.push({ name: spec.name, source_sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return { services, prepared: { instrumentation: INSTRUMENTATION_ABI, instrumenter: instrumenterName(), services: sources } };
}

/** Refuses an image whose services were prepared for another contract than this host's. */
export function checkPreparedInfo(info: PreparedInfo): void {
  if (info.instrumentation !== INSTRUMENTATION_ABI) {
    throw new ModuleRefused(`the image's services were prepared for instrumentation ABI ${info.instrumentation} ` +
      `(${info.instrumenter}); this host runs ABI ${INSTRUMENTATION_ABI}: build the image again with this host's qenex build`);
  }
}

/**
 * A module the image says was prepared at build, checked without binaryen
 * before it runs: it exports the qx_fuel global (so a runaway message
 * still stops), and its memory limits are exactly what preparing for
 * `pagesMax` gives. Returns the bytes themselves: what the image's
 * signatures cover is what runs.
 */
export function checkPreparedModule(bytes: Uint8Array, pagesMax: number): Uint8Array {
  const limited = limitMemory(bytes, pagesMax);
  if (!Buffer.from(limited.buffer, limited.byteOffset, limited.byteLength).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
    const own = memoryLimits(bytes);
    throw new ModuleRefused(`the prepared module's memory maximum (${own?.maximum ?? 'none'} pages) is not the one ` +
      `preparing for memory_pages_max ${pagesMax} gives: the image was prepared for another manifest`);
  }
  const fuel = moduleExports(bytes).find((e) => e.name === FUEL_EXPORT);
  if (fuel === undefined || fuel.kind !== EXTERNAL_KIND_GLOBAL) {
    throw new ModuleRefused(`the image says the module is prepared, but it exports no ${FUEL_EXPORT} global (no fuel counter)`);
  }
  return bytes;
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

const SECTION_MEMORY = 5;
const SECTION_EXPORT = 7;
const EXTERNAL_KIND_GLOBAL = 3;

/** The first section with `id`: where it starts, where its body starts, its body's size. */
function findSection(bytes: Uint8Array, id: number): { start: number; body: number; size: number } | null {
  let at = 8;
  while (at < bytes.length) {
    const [size, body] = leb(bytes, at + 1);
    if (body + size > bytes.length) throw new ModuleRefused(`section ${bytes[at]} runs past the end of the module`);
    if (bytes[at] === id) return { start: at, body, size };
    at = body + size;
  }
  return null;
}

function findMemorySection(bytes: Uint8Array) {
  const s = findSection(bytes, SECTION_MEMORY);
  if (s === null) return null;
  const [count, p] = leb(bytes, s.body);
  if (count !== 1) throw new ModuleRefused(`the module defines ${count} memories; a service has exactly one`);
  const flags = bytes[p];
  if ((flags & ~1) !== 0) throw new ModuleRefused('shared or 64-bit memories are not supported for services');
  const [initial, q] = leb(bytes, p + 1);
  let maximum: number | null = null;
  let end = q;
  if ((flags & 1) !== 0) [maximum, end] = leb(bytes, q);
  return { ...s, flagsAt: p, initial, maximum, end };
}

/** The module's exports (name and external kind), read from its export section. */
export function moduleExports(bytes: Uint8Array): { name: string; kind: number }[] {
  const s = findSection(bytes, SECTION_EXPORT);
  if (s === null) return [];
  const end = s.body + s.size;
  let [count, at] = leb(bytes, s.body);
  const out: { name: string; kind: number }[] = [];
  for (; count > 0; count--) {
    const [length, name] = leb(bytes, at);
    if (name + length + 1 > end) throw new ModuleRefused('an export runs past the end of the export section');
    const kind = bytes[name + length];
    out.push({ name: Buffer.from(bytes.subarray(name, name + length)).toString('utf8'), kind });
    [, at] = leb(bytes, name + length + 1);
  }
  return out;
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
