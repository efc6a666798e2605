// host/liveload.ts: the host's half of a live service command (issue 4;
// the kernel's half and the decisions are in kernel/liveload.ts, the
// contract in hal/abi.ts "live service load").
//
// On ACT_SERVICE the machine calls performServiceAction, which:
//   load     verifies the module's signature (host/modsig.ts) against the
//            keys of the boot that took the command (host/trust-history.ts:
//            the same keys live and on every replay), prepares it (host/fuel.ts: fuel counter and
//            the memory limit the kernel names), instantiates it and runs
//            qx_init with the command's config and the kernel's init fuel;
//   upgrade  the same checks, then hands the running instance's state over
//            to a fresh instance of the new version (ServiceInstance
//            .adoptState: memory, the new data segments over it, the mutable
//            globals when both versions have as many) and calls
//            qx_migrate(from_version) if the new version exports it. With
//            different globals qx_migrate is required. A trap, fuel
//            exhaustion or a non-zero result rolls back: the old instance,
//            never touched, keeps running;
//   unload   retires the instance (its slot keeps a placeholder so indices
//            stay stable);
// and reports SVC_OK or SVC_E_* with kernel export service_action_done.
// Every step is a function of the command bytes, the trusted keys and the
// module, so replay and reboot take the same decisions. Details (which
// import, which trap) go to the console; the kernel's reply carries a fixed
// text per result, so the state (the sender's memory) never depends on a
// host's wording.

import * as abi from '../hal/abi.ts';
import type { Kernel } from './base/kernel.ts';
import { ServiceInstance, ServiceFault, type SyscallHooks } from './services.ts';
import { prepareModuleSync, ModuleRefused } from './fuel.ts';
import { verifyModule, ModuleSignatureError } from './modsig.ts';
import type { PublicKey } from './base/keys.ts';
import { SERVICE_RESULT_CODES } from './gateway/services-json.ts';

export { encodeServiceCommand, LOADABLE_CAPS, SERVICE_RESULT_CODES } from './gateway/services-json.ts';

export interface LiveLoadContext {
  kernel: Kernel;
  /** The machine's instances by kernel service index; a load appends or replaces. */
  services: ServiceInstance[];
  /**
   * Keys a module must be signed by, for a command applied after `seq` log
   * entries: those of the boot that took it (host/trust-history.ts), so a
   * replay under other --trust keys decides exactly as the live run did.
   */
  trustAt(seq: number): readonly PublicKey[];
  /** Instrument with the fuel counter (false only in benchmarks). */
  fuel: boolean;
  hooks: SyscallHooks;
  line(o: object, isError: boolean): void;
}

export interface ServiceCommand {
  op: number;
  name: string;
  caps: number;
  memoryPagesMax: number;
  module: Uint8Array;
  signature: Uint8Array;
  config: Uint8Array;
  /** Offsets of the parts inside the command. */
  configOffset: number;
}

/** A command's parts (the kernel checked the framing before ACT_SERVICE). */
export function parseServiceCommand(cmd: Uint8Array): ServiceCommand {
  const b = Buffer.from(cmd.buffer, cmd.byteOffset, cmd.byteLength);
  if (b.length < abi.SVC_CMD_HEADER_BYTES) throw new Error('service command shorter than its header');
  const nameLen = b[1];
  const moduleLen = b.readUInt32LE(12);
  const sigLen = b.readUInt32LE(16);
  const configLen = b.readUInt32LE(20);
  const m0 = abi.SVC_CMD_HEADER_BYTES;
  if (m0 + moduleLen + sigLen + configLen !== b.length) throw new Error('service command lengths do not add up');
  return {
    op: b[0], name: b.toString('utf8', 24, 24 + nameLen), caps: b.readUInt32LE(4), memoryPagesMax: b.readUInt32LE(8),
    module: b.subarray(m0, m0 + moduleLen), signature: b.subarray(m0 + moduleLen, m0 + moduleLen + sigLen),
    config: b.subarray(m0 + moduleLen + sigLen), configOffset: m0 + moduleLen + sigLen,
  };
}

/** The active data segments of a module: offset and bytes (what instantiation writes). */
export function dataSegments(module: Uint8Array): { offset: number; bytes: Uint8Array }[] {
  let at = 8;
  const leb = (): number => {
    let v = 0; let shift = 0;
    for (;;) {
      const byte = module[at++];
      if (byte === undefined) throw new Error('module truncated');
      v += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) return v;
    }
  };
  const sleb32 = (): number => {
    let v = 0; let shift = 0; let byte: number;
    do {
      byte = module[at++];
      if (byte === undefined) throw new Error('module truncated');
      v |= (byte & 0x7f) << shift;
      shift += 7;
    } while ((byte & 0x80) !== 0 && shift < 35);
    if (shift < 32 && (byte & 0x40) !== 0) v |= -1 << shift;
    return v;
  };
  const out: { offset: number; bytes: Uint8Array }[] = [];
  while (at < module.length) {
    const id = module[at++];
    const size = leb();
    const end = at + size;
    if (id !== 11) { at = end; continue; }
    const count = leb();
    for (let i = 0; i < count; i++) {
      const flags = leb();
      if (flags === 1) { const n = leb(); at += n; continue; } // passive
      if (flags === 2) leb(); // memory index
      if (flags !== 0 && flags !== 2) throw new Error(`data segment ${i}: flags ${flags}`);
      if (module[at++] !== 0x41) throw new Error(`data segment ${i}: offset is not an i32.const`);
      const offset = sleb32() >>> 0;
      if (module[at++] !== 0x0b) throw new Error(`data segment ${i}: offset expression is not one constant`);
      const n = leb();
      out.push({ offset, bytes: module.subarray(at, at + n) });
      at += n;
    }
    at = end;
  }
  return out;
}

/** Performs the kernel's ACT_SERVICE and answers it. Never throws for a module's fault. */
export function performServiceAction(ctx: LiveLoadContext): void {
  const k = ctx.kernel;
  const d = k.dispatch();
  const cmd = parseServiceCommand(Uint8Array.from(k.mem.slice(d.addr, d.len)));
  const started = performance.now();
  let result: number = abi.SVC_OK;
  let inbox = 0;
  let detail = '';
  try {
    if (d.kind === abi.SVC_OP_UNLOAD) {
      const old = ctx.services[d.service];
      if (old === undefined) throw new Error(`unload: no instance for service ${d.service}`);
      old.retired = true; // indices stay stable; the kernel refuses its messages
    } else {
      const r = d.kind === abi.SVC_OP_LOAD ? load(ctx, d, cmd) : upgrade(ctx, d, cmd);
      result = r.result;
      inbox = r.inbox;
      detail = r.detail;
    }
  } catch (e) {
    if (e instanceof Error && e.name === 'KernelPanic') throw e;
    result = abi.SVC_E_MODULE;
    detail = (e as Error).message;
  }
  ctx.line({
    event: result === abi.SVC_OK ? 'service_action' : 'service_action_failed', op: opName(d.kind), service: cmd.name,
    index: d.service, result: SERVICE_RESULT_CODES[result], ms: Math.round((performance.now() - started) * 1000) / 1000,
    ...(detail === '' ? {} : { message: detail }),
  }, result !== abi.SVC_OK);
  k.x.service_action_done(result, inbox);
}

function opName(op: number): string {
  return op === abi.SVC_OP_LOAD ? 'load' : op === abi.SVC_OP_UPGRADE ? 'upgrade' : 'unload';
}

interface Outcome { result: number; inbox: number; detail: string }
interface Made { instance: ServiceInstance; prepared: Uint8Array }

function fail(result: number, detail: string): Outcome {
  return { result, inbox: 0, detail };
}

/** Signature, preparation and instantiation; an Outcome when refused. */
function instantiate(ctx: LiveLoadContext, index: number, cmd: ServiceCommand, pagesMax: number): Made | Outcome {
  try {
    verifyModule(cmd.module, cmd.signature, ctx.trustAt(ctx.kernel.stat(abi.STAT_ENTRIES_APPLIED)));
  } catch (e) {
    if (e instanceof ModuleSignatureError) return fail(abi.SVC_E_SIGNATURE, e.message);
    throw e;
  }
  let prepared: Uint8Array;
  try {
    prepared = prepareModuleSync(cmd.module, { memoryPagesMax: pagesMax, fuel: ctx.fuel });
  } catch (e) {
    if (e instanceof ModuleRefused) return fail(abi.SVC_E_MODULE, e.message);
    throw e;
  }
  try {
    const module = new WebAssembly.Module(prepared as Uint8Array<ArrayBuffer>);
    return { instance: new ServiceInstance(index, cmd.name, module, ctx.kernel, ctx.hooks), prepared };
  } catch (e) {
    if (e instanceof ServiceFault || e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError
      || e instanceof WebAssembly.RuntimeError || e instanceof RangeError) return fail(abi.SVC_E_MODULE, (e as Error).message);
    throw e;
  }
}

function load(ctx: LiveLoadContext, d: ReturnType<Kernel['dispatch']>, cmd: ServiceCommand): Outcome {
  const k = ctx.kernel;
  if (d.service > ctx.services.length) throw new Error(`load: service index ${d.service} skips an entry`);
  const m = instantiate(ctx, d.service, cmd, k.x.service_memory_pages_max(d.service));
  if ('result' in m) return m;
  const made = m.instance;
  try {
    made.deliver(k, abi.MSG_KIND_INIT, d.addr + cmd.configOffset, cmd.config.length, abi.SENDER_KERNEL, 0, k.x.dispatch_fuel());
  } catch (e) {
    if (made.faultCode(e) === null && !(e instanceof ServiceFault)) throw e;
    return fail(abi.SVC_E_INIT, (e as Error).message);
  }
  if (d.service === ctx.services.length) ctx.services.push(made);
  else ctx.services[d.service] = made;
  return { result: abi.SVC_OK, inbox: made.inboxBytes, detail: '' };
}

function upgrade(ctx: LiveLoadContext, d: ReturnType<Kernel['dispatch']>, cmd: ServiceCommand): Outcome {
  const k = ctx.kernel;
  const old = ctx.services[d.service];
  if (old === undefined) throw new Error(`upgrade: no instance for service ${d.service}`);
  const m = instantiate(ctx, d.service, cmd, k.x.service_memory_pages_max(d.service));
  if ('result' in m) return m;
  const made = m.instance;
  const fromVersion = d.sender;
  try {
    const globalsTaken = made.adoptState(old, dataSegments(m.prepared));
    const r = made.migrate(fromVersion, k.x.dispatch_fuel());
    if (r === null && !globalsTaken) {
      return fail(abi.SVC_E_MIGRATE, 'the new version has other globals than the old one and no qx_migrate export to rebuild its state');
    }
    if (r !== null && r !== 0) return fail(abi.SVC_E_MIGRATE, `qx_migrate(${fromVersion}) returned ${r}`);
  } catch (e) {
    if (made.faultCode(e) === null && !(e instanceof ServiceFault) && !(e instanceof RangeError)) throw e;
    return fail(abi.SVC_E_MIGRATE, (e as Error).message);
  }
  made.checkpoint(); // the restore point of the new version is the handed-over state
  old.retired = true;
  ctx.services[d.service] = made;
  return { result: abi.SVC_OK, inbox: made.inboxBytes, detail: '' };
}
