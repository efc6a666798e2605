// host/machine.ts: one booted QENEX machine: the kernel instance, one
// instance per service, the devices, and the run loop that drives them.
//
// The run loop follows the kernel: it calls kernel_run and does what the
// returned action says (deliver a message, report readiness, stop), and when
// the kernel is idle it services the devices and waits for the next event
// (a block completion, a frame, a timer deadline the kernel published).
// It never chooses what runs next.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../hal/abi.ts';
import * as limits from './limits.ts';
import { Kernel, KernelPanic } from './kernel.ts';
import { ServiceInstance, ServiceFault } from './services.ts';
import { loadInstrumenter, prepareModuleSync, ModuleRefused } from './fuel.ts';
import { ConsoleDevice } from './devices/console.ts';
import { EntropyDevice } from './devices/entropy.ts';
import { BlockDevice } from './devices/block.ts';
import { NetDevice } from './devices/net.ts';
import { clockNowNs as nowNs } from './devices/clock.ts';
import { openBlockBackend, type BackendChoice, type BlockBackend } from './devices/block-backend.ts';
import { parseImage, readImageFile, writeImageFile, type ParsedImage } from './image.ts';
import type { GatewayConfig, GatewayHost } from './gateway/http.ts';
import { Observability } from './metrics.ts';
import { AuditDevice } from './audit/device.ts';
import type { Signer } from './keys.ts';

export const LOG_FILE = 'log.qxl';
export const IMAGE_FILE = 'image.qxi';

export class BootError extends Error {
  override name = 'BootError';
}

export interface MachineOptions {
  image: ParsedImage;
  imageBytes: Uint8Array;
  dataDir: string;
  mode: 'live' | 'replay';
  backend?: BackendChoice;
  /** Every kernel console line (JSON text) and host event, in order. */
  onLine?: (line: string, isError: boolean) => void;
  /** One-line notices (backend fallback, stale lock). */
  notice?: (line: string) => void;
  /** false: service modules run without the fuel counter (benchmarks only; no runaway protection). */
  fuel?: boolean;
  /** Deterministic simulation (host/sim): devices from the caller; no real timer is armed. */
  sim?: SimDevices;
  /** Signs audit checkpoints (manifest audit.checkpoint_interval); null/absent: they are skipped. */
  auditSigner?: Signer | null;
}

/** What a simulated world supplies instead of the real devices (host/sim). */
export interface SimDevices {
  /** The command log's storage. */
  backend: BlockBackend;
  /** The clock device: nanoseconds; the caller also drives deadlines (kernel.deadlineNs()). */
  clockNs: () => bigint;
  /** The entropy device's source. */
  entropy: (into: Uint8Array) => void;
}

export interface HaltInfo {
  state: number;
  error: number;
  message: string | null;
}


export class Machine {
  readonly kernel: Kernel;
  readonly services: ServiceInstance[] = [];
  private readonly console: ConsoleDevice;
  private readonly entropy: Pick<EntropyDevice, 'service'>;
  readonly block: BlockDevice;
  readonly net: NetDevice | null;
  /** Audit checkpoint signing (live machines whose manifest asks for checkpoints). */
  readonly audit: AuditDevice | null;
  /** Metrics, request log and system statistics (live machines). */
  readonly observability: Observability | null;
  private readonly backend: BlockBackend;
  private readonly bootStarted = performance.now();
  bootMs = 0;
  private pumpScheduled = false;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private halt: HaltInfo | null = null;
  private lastError: string | null = null;
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private haltWaiters: ((h: HaltInfo) => void)[] = [];
  private readonly onLine: (line: string, isError: boolean) => void;

  private constructor(private readonly opts: MachineOptions, private readonly prepared: Map<string, Uint8Array>) {
    this.onLine = opts.onLine ?? (() => {});
    const live = opts.mode === 'live';
    this.backend = opts.sim?.backend ?? openLog(opts, live);
    try {
      this.kernel = Kernel.instantiate(new WebAssembly.Module(opts.image.kernel as Uint8Array<ArrayBuffer>));
      const digest = Buffer.from(opts.image.digestHex, 'hex');
      const rc = this.kernel.boot(digest, opts.image.manifestBytes, live ? abi.BOOT_LIVE : abi.BOOT_REPLAY);
      this.console = new ConsoleDevice(this.kernel, (line, isError) => this.consoleLine(line, isError));
      this.console.service();
      if (rc !== 0) throw new BootError(this.lastError ?? `kernel refused to boot (error ${rc})`);
      this.loadServices();
      this.entropy = new EntropyDevice(this.kernel, opts.sim?.entropy);
      this.block = new BlockDevice(this.kernel, this.backend, () => this.schedulePump(), (m) => this.hostLine({ event: 'storage_error', message: m }, true));
      // Metrics and the request log watch real machines; a simulated one has no wall clock to time.
      this.observability = live && opts.sim === undefined ? new Observability(this) : null;
      const interval = opts.image.manifest.audit?.checkpoint_interval ?? 0;
      this.audit = live && interval > 0
        ? new AuditDevice(this.kernel, interval, opts.auditSigner ?? null, () => this.schedulePump(), (o, e) => this.hostLine(o, e))
        : null;
      this.net = live ? new NetDevice(this.kernel, () => this.schedulePump(), (o) => this.hostLine(o, false),
        gatewayConfig(opts.image, this.observability ?? undefined)) : null;
    } catch (e) {
      this.backend.close();
      throw e;
    }
  }

  private nowNs(): bigint {
    return this.opts.sim?.clockNs() ?? nowNs();
  }

  /** Boots and runs until the kernel is ready (live) or has replayed the log (replay). */
  static async boot(opts: MachineOptions): Promise<Machine> {
    prepareDataDir(opts);
    const machine = new Machine(opts, await prepareServices(opts));
    await machine.untilReadyOrHalt();
    return machine;
  }

  private loadServices(): void {
    const names = this.kernel.serviceNames();
    const specs = this.opts.image.manifest.services;
    if (names.length !== specs.length) throw new BootError(`kernel registered ${names.length} services, manifest has ${specs.length}`);
    const hooks = {
      afterReply: () => this.net?.service(),
      afterLog: () => this.console.service(),
    };
    specs.forEach((spec, i) => {
      if (names[i] !== spec.name) throw new BootError(`kernel service ${i} is ${names[i]}, manifest says ${spec.name}`);
      const bytes = this.opts.image.services.get(spec.name);
      if (bytes === undefined) throw new BootError(`image has no module for service ${spec.name}`);
      const prepared = this.prepared.get(spec.name);
      if (prepared === undefined) throw new BootError(`service ${spec.name} was not prepared`);
      const instance = new ServiceInstance(i, spec.name, new WebAssembly.Module(prepared as Uint8Array<ArrayBuffer>), this.kernel, hooks);
      this.kernel.x.service_set_inbox(i, instance.inboxBytes);
      this.services.push(instance);
    });
  }

  private consoleLine(line: string, isError: boolean): void {
    if (isError) {
      try {
        const parsed = JSON.parse(line) as { message?: string };
        this.lastError = parsed.message ?? line;
      } catch {
        this.lastError = line;
      }
    }
    this.onLine(line, isError);
  }

  private hostLine(o: object, isError: boolean): void {
    this.onLine(JSON.stringify(o), isError);
  }

  private untilReadyOrHalt(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.readyWaiters = { resolve, reject };
      this.schedulePump();
    });
  }

  schedulePump(): void {
    if (this.pumpScheduled || this.halt !== null) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.halt !== null) return;
    try {
      this.kernel.setClock(this.nowNs());
      this.kernel.x.kernel_interrupt(abi.IRQ_BLOCK | abi.IRQ_NET | abi.IRQ_ENTROPY | abi.IRQ_CLOCK);
      if (!this.runActions()) this.schedulePump();
      this.observability?.sample();
    } catch (e) {
      this.panic(e);
      return;
    }
    this.console.service();
    this.armDeadline();
  }

  // Runs kernel actions until idle with nothing to do; false when it stopped
  // at the per-turn bound and must continue in the next turn.
  private runActions(): boolean {
    for (let n = 0; n < limits.RUN_ACTIONS_PER_TURN_MAX; n++) {
      const act = this.kernel.x.kernel_run();
      if (act === abi.ACT_CALL) { this.call(); continue; }
      this.console.service();
      if (act === abi.ACT_READY) { this.ready(); continue; }
      if (act === abi.ACT_HALT) { this.stopped(); return true; }
      this.kernel.setClock(this.nowNs());
      const entropy = this.entropy.service();
      const block = this.block.service();
      const net = this.net?.service() ?? false;
      const audit = this.audit?.service() ?? false;
      if (!entropy && !block && !net && !audit) return true;
      this.kernel.x.kernel_interrupt(abi.IRQ_BLOCK | abi.IRQ_NET | abi.IRQ_ENTROPY);
    }
    return false;
  }

  private call(): void {
    const d = this.kernel.dispatch();
    const service = this.services[d.service];
    if (service === undefined) throw new KernelPanic(`kernel dispatched to unknown service ${d.service}`);
    try {
      service.deliver(this.kernel, d.kind, d.addr, d.len, d.sender, d.token, this.kernel.x.dispatch_fuel());
    } catch (e) {
      if (e instanceof KernelPanic || e instanceof ServiceFault) throw e;
      this.faulted(service, d.kind, e);
    }
  }

  // A trap in one service aborts its message only: the kernel answers the
  // message and decides (restart policy) whether the host restores the
  // service or leaves it failed (kernel/supervise.ts).
  private faulted(service: ServiceInstance, kind: number, e: unknown): void {
    const code = service.faultCode(e);
    if (code === null) throw e; // not a trap: a host bug, not the service's
    this.hostLine({ event: 'service_fault', service: service.name, kind, fault: code, message: (e as Error).message }, true);
    if (this.kernel.x.service_fault(code) !== 1) return;
    try {
      service.restore();
    } catch (r) {
      this.hostLine({ event: 'service_restore_failed', service: service.name, message: (r as Error).message }, true);
      this.kernel.x.service_fault(abi.FAULT_RESTORE);
    }
  }

  private ready(): void {
    this.bootMs = performance.now() - this.bootStarted;
    const w = this.readyWaiters;
    this.readyWaiters = null;
    w?.resolve();
  }

  private stopped(): void {
    this.console.service();
    const state = this.kernel.state();
    this.halt = { state, error: this.kernel.error(), message: state === abi.KSTATE_FAILED ? this.lastError ?? 'kernel failed' : null };
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    const w = this.readyWaiters;
    this.readyWaiters = null;
    if (w !== null) {
      if (state === abi.KSTATE_FAILED) w.reject(new BootError(this.halt.message!));
      else w.resolve();
    }
    for (const h of this.haltWaiters.splice(0)) h(this.halt);
  }

  private panic(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.hostLine({ event: 'panic', message }, true);
    this.halt = { state: abi.KSTATE_FAILED, error: 0, message };
    const w = this.readyWaiters;
    this.readyWaiters = null;
    w?.reject(new BootError(message));
    for (const h of this.haltWaiters.splice(0)) h(this.halt);
  }

  private armDeadline(): void {
    if (this.halt !== null) return;
    const deadline = this.kernel.deadlineNs();
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    if (deadline === 0n) return;
    if (this.opts.sim !== undefined) return; // the simulator fires deadlines on its own clock
    const delayMs = Math.max(0, Number(deadline - this.nowNs()) / 1e6);
    this.deadlineTimer = setTimeout(() => this.schedulePump(), Math.ceil(delayMs));
    this.deadlineTimer.unref();
  }

  /** SHA-256 over the kernel's applied state and every service's memory and globals. */
  stateHash(): string {
    const h = createHash('sha256');
    h.update(this.kernel.digest());
    for (const s of this.services) {
      const name = Buffer.from(s.name, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(name.length);
      h.update(len).update(name);
      h.update(s.stateDigest());
    }
    return h.digest('hex');
  }

  serviceSpecs() {
    return this.opts.image.manifest.services;
  }

  /** Ready and taking input (not starting, draining or stopped). */
  isServing(): boolean {
    return this.halt === null && this.kernel.state() === abi.KSTATE_READY;
  }

  entriesApplied(): number {
    return this.kernel.stat(abi.STAT_ENTRIES_APPLIED);
  }

  haltInfo(): HaltInfo | null {
    return this.halt;
  }

  whenHalted(): Promise<HaltInfo> {
    if (this.halt !== null) return Promise.resolve(this.halt);
    return new Promise((resolve) => this.haltWaiters.push(resolve));
  }

  listen(host: string, port: number) {
    if (this.net === null) throw new Error('replay machines do not listen');
    return this.net.listen(host, port);
  }

  /** Stops taking input, makes everything durable and applied, then halts. */
  async stop(): Promise<HaltInfo> {
    if (this.halt === null) {
      this.kernel.x.kernel_shutdown();
      this.schedulePump();
    }
    const halt = await this.whenHalted();
    await this.net?.close();
    this.backend.close();
    return halt;
  }

  /** Releases the data file without a clean stop (tests of crash paths). */
  abandon(): void {
    this.halt ??= { state: abi.KSTATE_HALTED, error: 0, message: 'abandoned' };
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    void this.net?.close();
    this.backend.close();
  }
}

// Each service module with its fuel counter and memory limit (host/fuel.ts),
// before anything is instantiated; a module the host will not run is a BootError.
async function prepareServices(opts: MachineOptions): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  await loadInstrumenter();
  for (const spec of opts.image.manifest.services) {
    const bytes = opts.image.services.get(spec.name);
    if (bytes === undefined) throw new BootError(`image has no module for service ${spec.name}`);
    try {
      out.set(spec.name, prepareModuleSync(bytes, { memoryPagesMax: spec.memory_pages_max, fuel: opts.fuel }));
    } catch (e) {
      if (e instanceof ModuleRefused) throw new BootError(`service ${spec.name}: ${e.message}`);
      throw e;
    }
  }
  return out;
}

// The edge's view of each ledger (asset scale) from the manifest.
function gatewayConfig(image: ParsedImage, host: GatewayHost | undefined): GatewayConfig {
  const ledgers = new Map<number, { assetScale: number; currency?: string }>();
  for (const l of image.manifest.gateway?.ledgers ?? []) ledgers.set(l.ledger, { assetScale: l.asset_scale, currency: l.currency });
  return { ledgers, host };
}

function openLog(opts: MachineOptions, live: boolean): BlockBackend {
  try {
    return openBlockBackend(join(opts.dataDir, LOG_FILE), {
      create: live, lock: live, readOnly: !live, backend: opts.backend, notice: opts.notice,
    });
  } catch (e) {
    throw new BootError((e as Error).message);
  }
}

// The data directory keeps a copy of the image it was created with, so
// `qenex replay --data` needs nothing else, and a different image is refused.
function prepareDataDir(opts: MachineOptions): void {
  const imagePath = join(opts.dataDir, IMAGE_FILE);
  if (opts.mode === 'replay') {
    if (!existsSync(join(opts.dataDir, LOG_FILE))) throw new BootError(`${opts.dataDir}: no command log (${LOG_FILE}) to replay`);
    return;
  }
  mkdirSync(opts.dataDir, { recursive: true });
  if (!existsSync(imagePath)) {
    writeImageFile(imagePath, opts.imageBytes);
    return;
  }
  const stored = parseImage(readImageFile(imagePath));
  if (stored.digestHex !== opts.image.digestHex) {
    throw new BootError(`${opts.dataDir} belongs to image ${stored.digestHex.slice(0, 16)}…, not ${opts.image.digestHex.slice(0, 16)}… (use a new data directory)`);
  }
}
