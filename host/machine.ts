// host/machine.ts: one booted QENEX machine: the kernel instance, one
// instance per service, the devices, and the run loop that drives them.
//
// The run loop follows the kernel: it calls kernel_run and does what the
// returned action says (deliver a message, report readiness, stop), and when
// the kernel is idle it services the devices and waits for the next event
// (a block completion, a frame, a timer deadline the kernel published).
// It never chooses what runs next.

import type { AddressInfo } from 'node:net';
import { OriginalsArchive, ORIGINALS_FILE } from './payments/archive.ts';
import type { TlsListen } from './devices/tls.ts';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as abi from '../hal/abi.ts';
import * as gw from '../services/gateway/protocol.ts';
import * as limits from './base/limits.ts';
import { Kernel, KernelPanic, type AdmissionAnswer } from './base/kernel.ts';
import { compiledModule } from './base/compiled.ts';
import { ServiceInstance, ServiceFault } from './services.ts';
import { checkPreparedInfo, checkPreparedModule, loadInstrumenter, prepareModuleSync, ModuleRefused } from './fuel.ts';
import { ConsoleDevice } from './devices/console.ts';
import { EntropyDevice } from './devices/entropy.ts';
import { BlockDevice, type LogReplication } from './devices/block.ts';
import type { ClusterStats } from './metrics.ts';
import { NetDevice } from './devices/net.ts';
import { EventsDevice } from './devices/events.ts';
import { GridDevice, gridRingPresent, gridFileName } from './devices/grid.ts';
import { EventHub, type EventLimits } from './gateway/events.ts';
import { clockNowNs as nowNs } from './devices/clock.ts';
import { openBlockBackend, type BackendChoice, type BlockBackend, type BlockOpenOptions } from './devices/block-backend.ts';
import { LOG_FILE, SegmentedLog, firstLiveSegment, hasLog, openSegmentedLog } from './devices/segmented-log.ts';
import { magicVersion } from './base/log-entry.ts';
import { logChainFor } from './devices/log-chain.ts';
import { tradingInstruments, type TradingInstrument } from './gateway/trading-front.ts';
import { FixAcceptor } from './fix/acceptor.ts';
import type { FixConfig } from './fix/config.ts';
import { GATEWAY_SERVICE } from './gateway/gateway-wire.ts';
import { parseImage, readImageFile, writeImageFile, type ParsedImage } from './image.ts';
import type { GatewayConfig, GatewayHost } from './gateway/http-config.ts';
import { Observability } from './metrics.ts';
import { configureAudit } from './audit/device.ts';
import { HsmRingDevice, hsmRingPresent } from './hsm/device.ts';
import type { HsmDevice } from './hsm/hsm.ts';
import type { Signer } from './base/keys.ts';
import type { PublicKey } from './base/keys.ts';
import { TrustHistory } from './trust-history.ts';
import { performServiceAction } from './liveload.ts';
import type { SyscallHooks } from './services.ts';
import { checkStorageSwitch, openDataCipher } from './datakey.ts';
import type { DataCipher } from './devices/encrypted-backend.ts';
import type { HsmOptions } from './hsm/hsm.ts';
import {
  SnapshotStore, SnapshotError, type SnapshotDirectory, exportKernelGlobals, kernelGlobals, readRecord, captureInstance, capturePaged, checkInstance, loadInstance, expandMemory,
  type CapturedMachine, type WrittenSnapshot,
} from './snapshot.ts';
import type { Desc } from './base/ring.ts';

/** The command log's first segment (host/devices/segmented-log.ts has the layout). */
export { LOG_FILE };
export const IMAGE_FILE = 'image.qxi';

export class BootError extends Error {
  override name = 'BootError';
}

/**
 * The command log is in another format than this build's (hal/log.ts
 * LOG_FORMAT_VERSION): refused before the kernel reads it, so a live boot
 * never takes a log it cannot read for a torn one and cuts it.
 */
export class LogFormatError extends BootError {
  override name = 'LogFormatError';
  constructor(readonly dataDir: string, readonly found: number) {
    super(`${join(dataDir, LOG_FILE)} is in log format ${found}; this QENEX reads log format ${abi.LOG_FORMAT_VERSION}. `
      + `\`qenex migrate --data ${dataDir}\` says whether it can be migrated`);
  }
}

export interface MachineOptions {
  image: ParsedImage;
  imageBytes: Uint8Array;
  dataDir: string;
  mode: 'live' | 'replay';
  backend?: BackendChoice;
  /** Where archived log segments are read from (`qenex log archive`); default <dataDir>/archive. */
  archiveDir?: string;
  /** The segment size of a new command log (default: QENEX_LOG_SEGMENT_BYTES, else 256 MiB); an existing log keeps its own. */
  logSegmentBytes?: number;
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
  /**
   * Keys a module loaded into the running system must be signed by (host/liveload.ts):
   * the boot's --trust keys. A live machine records them in the data directory
   * with the log position they apply from (host/trust-history.ts), and a command
   * replayed from the log is checked against the keys of the boot that took it,
   * so a key rotation never changes what an old command did.
   */
  trust?: readonly PublicKey[] | null;
  /** Check that every read leaves its service's state digest unchanged (tests, the simulator); default false. */
  verifyReads?: boolean;
  /** false: ignore snapshots and replay the whole log (`qenex replay --no-snapshot`); default true. */
  snapshots?: boolean;
  /** The HSM behind DEV_HSM (live machines whose manifest grants hsm_keys); null/absent: requests get HSM_E_UNAVAILABLE. The caller closes it. */
  hsm?: HsmDevice | null;
  /**
   * The HSM that unwraps the data key of a data directory encrypted at rest
   * (manifest "storage", host/datakey.ts) when `hsm` is not given; default:
   * PKCS#11 from QENEX_PKCS11_*.
   */
  dataKeyHsm?: HsmOptions;
  /**
   * A cluster node (host/cluster/node.ts): the machine boots following the
   * cluster's log (kernel_follow), is ready only once the node leads, and
   * then appends every batch to the cluster's stream before writing it.
   */
  cluster?: LogReplication & {
    attach(machine: Machine, log: BlockBackend): void; stats(): ClusterStats; refusal(): string | null;
    /** A snapshot file was written (a leader shares it as the cluster's checkpoint). */
    snapshotWritten(path: string): void;
  };
}

/** What a simulated world supplies instead of the real devices (host/sim). */
export interface SimDevices {
  /** The command log's storage. */
  backend: BlockBackend;
  /** The clock device: nanoseconds; the caller also drives deadlines (kernel.deadlineNs()). */
  clockNs: () => bigint;
  /** The entropy device's source. */
  entropy: (into: Uint8Array) => void;
  /** Where snapshot files go (absent: the machine keeps none). */
  snapshots?: SnapshotDirectory;
  /**
   * A service's grid file (host/devices/grid.ts): `scratch` for a replay,
   * which must not touch the live machine's grids; `keep` when the machine
   * restored a snapshot that refers to the grid's blocks, else it starts empty.
   */
  grid?: (file: string, scratch: boolean, keep: boolean) => BlockBackend;
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
  /** The services' block grids (null: no service holds "storage"). */
  readonly grid: GridDevice | null;
  /** A replay's grids live here, removed when the machine closes. */
  private gridScratch: string | null = null;
  readonly net: NetDevice | null;
  /** The FIX acceptor (host/fix/acceptor.ts), when `qenex boot` was given a FIX listener. */
  private fix: FixAcceptor | null = null;
  /** The event stream: records the kernel numbered, live and replayed (GET /v1/events). */
  readonly eventHub: EventHub;
  private events: EventsDevice | null = null;
  private originals: OriginalsArchive | null = null;
  /** The HSM device (live machines): key operations for services granted keys, and audit checkpoint signing. */
  readonly hsm: HsmRingDevice | null;
  /** Metrics, request log and system statistics (live machines). */
  readonly observability: Observability | null;
  private readonly backend: BlockBackend;
  /** Snapshot files beside the log (host/snapshot.ts); null for a simulated machine given no directory for them. */
  readonly snapshots: SnapshotStore | null;
  /** The snapshot this boot started from (null: the log was replayed from its start). */
  restoredSnapshot: { path: string; entries: number; bytes: number; restoreMs: number } | null = null;
  /** The last snapshot this machine wrote. */
  lastSnapshot: WrittenSnapshot | null = null;
  private kernelGlobals: WebAssembly.Global[] = [];
  private readonly bootStarted = performance.now();
  bootMs = 0;
  private pumpScheduled = false;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private halt: HaltInfo | null = null;
  private lastError: string | null = null;
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private haltWaiters: ((h: HaltInfo) => void)[] = [];
  private readonly onLine: (line: string, isError: boolean) => void;

  private constructor(private readonly opts: MachineOptions, private readonly prepared: Map<string, Uint8Array>,
    /** The data directory's data key (encryption at rest), or null for plain files. */
    readonly dataCipher: DataCipher | null = null) {
    this.onLine = opts.onLine ?? (() => {});
    const live = opts.mode === 'live';
    this.backend = opts.sim?.backend ?? openLog(opts, live, dataCipher);
    checkLogFormat(this.backend, opts.dataDir);
    try {
      // The kernel's globals are exported so a snapshot can hold its whole state (host/snapshot.ts).
      this.kernel = Kernel.instantiate(compiledModule(opts.image.kernel, exportKernelGlobals), logChainFor().chain);
      this.kernelGlobals = kernelGlobals(this.kernel.x);
      const digest = Buffer.from(opts.image.digestHex, 'hex');
      const rc = this.kernel.boot(digest, opts.image.manifestBytes, live ? abi.BOOT_LIVE : abi.BOOT_REPLAY);
      this.console = new ConsoleDevice(this.kernel, (line, isError) => this.consoleLine(line, isError));
      this.console.service();
      if (rc !== 0) throw new BootError(this.lastError ?? `kernel refused to boot (error ${rc})`);
      this.eventHub = new EventHub(eventLimits(opts.image), (o) => this.hostLine(o, false), ledgerCurrencies(opts.image), imageInstruments(opts.image));
      if (this.kernel.hasAdmission()) {
        const kernel = this.kernel;
        this.eventHub.setAdmission({ generation: () => kernel.x.admission_keys_generation(), check: (h) => kernel.admission(h, abi.ADM_MODE_KEY) });
      }
      this.events = new EventsDevice(this.kernel, (record) => this.eventHub.publish(record));
      this.loadServices();
      this.snapshots = opts.sim === undefined ? new SnapshotStore({
        dataDir: opts.dataDir, imageDigestHex: opts.image.digestHex, backend: opts.backend,
        open: (path, o) => this.openDataFile(path, o), // sealed like the log when the data directory is encrypted
      }) : opts.sim.snapshots === undefined ? null
        : new SnapshotStore({ dataDir: opts.dataDir, imageDigestHex: opts.image.digestHex, directory: opts.sim.snapshots });
      // A replay of a machine with a grid starts from the first entry: it writes
      // a scratch grid, and a snapshot refers to the live one's blocks.
      if (opts.snapshots !== false && (live || !gridRingPresent(this.kernel))) this.restoreSnapshot(live);
      // A live machine with a grid that restored no snapshot writes its grid again from the log (openGrid):
      // until the replay passes a snapshot's point, that snapshot would refer to blocks not yet written.
      if (live && this.restoredSnapshot === null && gridRingPresent(this.kernel)) {
        for (const f of this.snapshots?.dropAll() ?? []) {
          this.hostLine({ event: 'snapshot_dropped', file: f, message: `${f}: the grid is written again from the log, which a snapshot taken before cannot follow` }, false);
        }
      }
      this.entropy = new EntropyDevice(this.kernel, opts.sim?.entropy);
      // After any snapshot restore: the snapshot's kernel globals are those of the leader that took it.
      if (opts.cluster !== undefined) this.kernel.x.kernel_follow(1);
      this.block = new BlockDevice(this.kernel, this.backend, () => this.schedulePump(), (m) => this.hostLine({ event: 'storage_error', message: m }, true),
        (d) => this.takeSnapshot(d), opts.cluster);
      this.grid = gridRingPresent(this.kernel)
        ? new GridDevice(this.kernel, (i) => this.openGrid(i), () => this.schedulePump(), (m) => this.hostLine({ event: 'storage_error', message: m }, true))
        : null;
      // Metrics and the request log watch real machines; a simulated one has no wall clock to time.
      this.observability = live && opts.sim === undefined ? new Observability(this) : null;
      const interval = opts.image.manifest.audit?.checkpoint_interval ?? 0;
      if (live && interval > 0) configureAudit(this.kernel, interval);
      // A replay never asks the HSM: its results come from the log.
      this.hsm = live && hsmRingPresent(this.kernel)
        ? new HsmRingDevice(this.kernel, opts.hsm ?? null, () => this.schedulePump(),
          { checkpointSigner: opts.auditSigner ?? null, notice: (o, e) => this.hostLine(o, e) })
        : null;
      // The payments messages' originals, found again by digest (host/payments/archive.ts): a live machine with a payments service.
      this.originals = live && opts.sim === undefined && opts.image.manifest.services.some((s) => s.name === 'payments')
        ? new OriginalsArchive(this.openDataFile(join(opts.dataDir, ORIGINALS_FILE), { create: true, lock: true, readOnly: false }),
          (line) => this.hostLine({ event: 'originals_archive', message: line }, false))
        : null;
      this.net = live ? new NetDevice(this.kernel, () => this.schedulePump(), (o) => this.hostLine(o, false),
        {
          ...gatewayConfig(opts.image, this.kernel, this.observability ?? undefined, this.eventHub, opts.cluster), originals: this.originals ?? undefined,
          reportSigner: opts.auditSigner ?? null,
        }) : null;
      opts.cluster?.attach(this, this.backend);
    } catch (e) {
      this.originals?.abandon();
      this.backend.close();
      throw e;
    }
  }

  private nowNs(): bigint {
    return this.opts.sim?.clockNs() ?? nowNs();
  }

  /** Boots and runs until the kernel is ready (live) or has replayed the log (replay). */
  static async boot(opts: MachineOptions): Promise<Machine> {
    // A service module the host will not run stops boot before anything is written.
    const prepared = await prepareServices(opts);
    // The storage setting is checked before anything is written, and the data
    // key unwrapped (or made) before the log is opened.
    const storage = opts.sim === undefined ? opts.image.manifest.storage : undefined;
    // Every segment is sealed or none is: the first one still in the data directory says which.
    const logFile = firstLiveSegment(opts.dataDir);
    if (opts.sim === undefined) checkStorageSwitch({ dataDir: opts.dataDir, storage, logFile });
    prepareDataDir(opts);
    const cipher = opts.sim !== undefined ? null : await openDataCipher({
      dataDir: opts.dataDir, storage, logFile, create: opts.mode === 'live',
      hsm: opts.hsm, hsmOptions: opts.dataKeyHsm, notice: opts.notice,
    });
    const machine = new Machine(opts, prepared, cipher);
    await machine.untilReadyOrHalt();
    return machine;
  }

  private loadServices(): void {
    const names = this.kernel.serviceNames();
    const specs = this.opts.image.manifest.services;
    if (names.length !== specs.length) throw new BootError(`kernel registered ${names.length} services, manifest has ${specs.length}`);
    const hooks = this.serviceHooks = {
      afterReply: () => this.net?.service(),
      afterLog: () => this.console.service(),
      afterEmit: () => this.events?.service(),
    };
    specs.forEach((spec, i) => {
      if (names[i] !== spec.name) throw new BootError(`kernel service ${i} is ${names[i]}, manifest says ${spec.name}`);
      const bytes = this.opts.image.services.get(spec.name);
      if (bytes === undefined) throw new BootError(`image has no module for service ${spec.name}`);
      const prepared = this.prepared.get(spec.name);
      if (prepared === undefined) throw new BootError(`service ${spec.name} was not prepared`);
      const instance = new ServiceInstance(i, spec.name, compiledModule(prepared), this.kernel, hooks);
      if (spec.caps.includes('read') && !instance.takesReads()) {
        throw new BootError(`service ${spec.name} has capability read but does not export qx_read, qx_read_area, qx_read_request_max and qx_read_reply_max`);
      }
      this.kernel.x.service_set_inbox(i, instance.inboxBytes);
      this.services.push(instance);
    });
  }

  // ---- snapshots (host/snapshot.ts, kernel/snapshot.ts) ----

  // Starts from the newest valid snapshot, if any: its memories and globals
  // over the fresh kernel and services, then kernel_restored. Snapshots that
  // do not fit are skipped with a line saying why; none: full replay.
  private restoreSnapshot(live: boolean): void {
    const store = this.snapshots;
    if (store === null) return;
    if (live) for (const f of store.removeStale()) this.hostLine({ event: 'snapshot_stale_removed', file: f }, false);
    const started = performance.now();
    const names = this.services.map((s) => s.name);
    const skipped = (path: string, reason: string) => this.hostLine({ event: 'snapshot_skipped', file: path, reason, message: `snapshot ${path} not used: ${reason}` }, false);
    for (;;) {
      // A machine with a grid: the kernel says how far the log may go past a snapshot before its grid moved on.
      const kx = this.kernel.x as unknown as { snapshot_grid_stale_from?(entries: bigint): bigint };
      const staleFrom = (entries: number) => Number(kx.snapshot_grid_stale_from?.(BigInt(entries)) ?? 0n); // older kernels take no snapshots with a grid
      const found = store.findValid(names, this.backend, (s) => skipped(s.path, s.reason), staleFrom);
      if (found === null) return;
      try {
        checkInstance('kernel', this.kernel.x.memory, this.kernelGlobals, found.state.kernel);
        found.state.services.forEach((s, i) => {
          const p = this.services[i].snapshotParts();
          checkInstance(`service ${s.name}`, p.memory, p.globals, s.state);
        });
      } catch (e) {
        if (!(e instanceof SnapshotError)) throw e;
        skipped(found.path, e.message);
        store.exclude(found.path);
        continue;
      }
      loadInstance('kernel', this.kernel.x.memory, this.kernelGlobals, found.state.kernel);
      found.state.services.forEach((s, i) => {
        const svc = this.services[i];
        const p = svc.snapshotParts();
        loadInstance(`service ${s.name}`, p.memory, p.globals, s.state);
        // A service kept incrementally comes back without its cache's blocks (host/snapshot-pages.ts).
        const cacheResetBytes = found.paged.get(i)?.cacheBytes;
        if (cacheResetBytes !== undefined) svc.cacheReset(cacheResetBytes);
        svc.snapshotRestored(() => ({ memory: expandMemory(s.state.memory, s.name), globals: s.state.globals, cacheResetBytes }));
      });
      store.adoptPages(found);
      const x = this.kernel.x as unknown as { kernel_restored(mode: number): number };
      const rc = x.kernel_restored(live ? abi.BOOT_LIVE : abi.BOOT_REPLAY);
      this.console.service();
      if (rc !== 0) throw new BootError(`${found.path}: the kernel refused the restored snapshot (error ${rc})`);
      const restoreMs = performance.now() - started;
      this.restoredSnapshot = { path: found.path, entries: found.entries, bytes: found.bytes, restoreMs };
      this.hostLine({ event: 'snapshot_loaded', file: found.path, entries: found.entries, bytes: found.bytes, restore_ms: Number(restoreMs.toFixed(3)) }, false);
      return;
    }
  }

  // The kernel asked for a snapshot (OP_BLK_SNAPSHOT) at a quiescent point:
  // every memory is copied now, before the kernel runs again; the file is
  // written while it serves on.
  private takeSnapshot(d: Desc): Promise<void> {
    const store = this.snapshots;
    if (store === null) return Promise.reject(new Error('this simulated machine keeps no snapshots'));
    const specs = this.opts.image.manifest.services;
    if (this.services.length !== specs.length || this.services.some((s, i) => s.name !== specs[i].name
      || s.retired || this.kernel.x.service_version(i) > 1)) { // upgraded live: its module is not the image's (image services read 0 or 1)
      return Promise.reject(new Error('the machine runs other services than its image (loaded live): no snapshot is taken'));
    }
    const started = performance.now();
    const record = readRecord(this.kernel.mem.u8(), d.addr);
    const state: CapturedMachine = {
      kernel: captureInstance(this.kernel.x.memory, this.kernelGlobals),
      services: this.services.map((s, i) => {
        const p = s.snapshotParts();
        const cache = s.resettableCacheArea();
        return { name: s.name, state: cache !== null ? capturePaged(store.pages(i), p.memory, p.globals, cache) : captureInstance(p.memory, p.globals) };
      }),
    };
    // The kernel asks only when every grid write the state refers to is at
    // the host (kernel/snapshot.ts maybeSnapshot): a sync makes them durable.
    const grids = this.grid;
    return store.write(record, state, performance.now() - started, async () => { await grids?.syncAll(); }).then((w) => {
      this.lastSnapshot = w;
      this.opts.cluster?.snapshotWritten(w.path);
      this.hostLine({
        event: 'snapshot_written', file: w.path, entries: w.entries, bytes: w.bytes, page_bytes: w.pageBytes, paged_state_bytes: w.pagedStateBytes,
        capture_ms: Number(w.captureMs.toFixed(3)), write_ms: Number(w.writeMs.toFixed(3)),
      }, false);
    });
  }

  // ---- live load (host/liveload.ts, kernel/liveload.ts) ----

  private serviceHooks: SyscallHooks | null = null;
  private trustHistory: TrustHistory | null = null;
  private trustUnrecorded = false;
  private readyEntries = 0;

  // A service command the kernel decided on: load, upgrade or unload.
  private serviceAction(): void {
    const history = this.trustHistory ??= TrustHistory.open(this.opts.dataDir);
    performServiceAction({
      kernel: this.kernel, services: this.services, fuel: this.opts.fuel ?? true,
      // The keys of the boot that took the command (this one's when it is new).
      trustAt: (seq) => (this.trustUnrecorded && seq > this.readyEntries ? [] : history.keysAt(seq) ?? this.opts.trust ?? []),
      hooks: this.serviceHooks!, line: (o, e) => this.hostLine(o, e),
    });
    this.console.service();
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

  /** True while a pump turn is scheduled: the machine has work it has not started yet. */
  busy(): boolean {
    return this.pumpScheduled;
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
      this.kernel.x.kernel_interrupt(abi.IRQ_BLOCK | abi.IRQ_GRID | abi.IRQ_NET | abi.IRQ_ENTROPY | abi.IRQ_CLOCK | abi.IRQ_HSM);
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
    const timed = this.opts.sim === undefined;
    const started = timed ? performance.now() : 0;
    for (let n = 0; n < limits.RUN_ACTIONS_PER_TURN_MAX; n++) {
      // Sockets and timers get their turn: the kernel's order is kept, only its pace is cut.
      if (timed && n % limits.RUN_TURN_CHECK_ACTIONS === 0 && n > 0 && performance.now() - started > limits.RUN_TURN_MS_MAX) return false;
      const act = this.kernel.x.kernel_run();
      if (act === abi.ACT_CALL) { this.call(); this.events?.service(); continue; }
      if (act === abi.ACT_SERVICE) { this.serviceAction(); continue; }
      if (act === abi.ACT_READ) { this.read(); continue; }
      this.console.service();
      if (act === abi.ACT_READY) { this.ready(); continue; }
      if (act === abi.ACT_HALT) { this.stopped(); return true; }
      this.kernel.setClock(this.nowNs());
      const entropy = this.entropy.service();
      const block = this.block.service();
      const grid = this.grid?.service() ?? false;
      const net = this.net?.service() ?? false;
      this.events?.service(); // checkpoint records from applied entries; never a reason to interrupt
      const hsm = this.hsm?.service() ?? false;
      if (!entropy && !block && !grid && !net && !hsm) return true;
      this.kernel.x.kernel_interrupt(abi.IRQ_BLOCK | abi.IRQ_GRID | abi.IRQ_NET | abi.IRQ_ENTROPY | abi.IRQ_HSM);
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

  // A read (hal/rings.ts ACT_READ): the service answers it from its state and
  // changes nothing; the reply goes out through the syscall area.
  private read(): void {
    const d = this.kernel.dispatch();
    const service = this.services[d.service];
    if (service === undefined) throw new KernelPanic(`kernel handed a read to unknown service ${d.service}`);
    const r = service.read(this.kernel.mem.u8().subarray(d.addr, d.addr + d.len), this.kernel.x.dispatch_fuel(), this.opts.verifyReads === true);
    const room = this.kernel.x.sys_area_bytes();
    const answer = r.payload.length <= room ? r
      : { status: abi.FRAME_E_TOO_LARGE, payload: new Uint8Array(Buffer.from(`the read's reply of ${r.payload.length} bytes is over the ${room} a reply may have`)) };
    this.kernel.mem.u8().set(answer.payload, this.kernel.x.sys_area());
    this.kernel.x.kernel_read_done(answer.status, answer.payload.length);
    this.net?.service(); // the reply is in the syscall area: out before anything reuses it
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
    // From here on, service commands are checked against this boot's keys (host/trust-history.ts).
    if (this.opts.mode === 'live' && this.opts.sim === undefined) {
      this.readyEntries = this.entriesApplied();
      try {
        (this.trustHistory ??= TrustHistory.open(this.opts.dataDir)).append(this.readyEntries, this.opts.trust ?? null);
      } catch (e) {
        // Unrecorded keys could not be used again by a replay: no module is loaded in this session.
        this.trustUnrecorded = true;
        this.hostLine({ event: 'trust_history_failed', message: `${(e as Error).message}; service loads are refused until a boot records its keys` }, true);
      }
    }
    this.bootMs = performance.now() - this.bootStarted;
    this.events?.service();
    this.eventHub.syncNext(Number(this.kernel.x.events_emitted()) + 1);
    const w = this.readyWaiters;
    this.readyWaiters = null;
    w?.resolve();
  }

  private stopped(): void {
    this.console.service();
    this.closeGrids(); // a halted kernel makes no more requests
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

  /**
   * Opens a file of this machine's data directory (a snapshot, say) the way
   * the log is opened: encrypted at rest when the data directory is
   * (host/snapshot.ts OpenBackend).
   */
  openDataFile(path: string, o: BlockOpenOptions): BlockBackend {
    return openBlockBackend(path, { notice: this.opts.notice, backend: this.opts.backend, ...o, layer: this.dataCipher ?? undefined });
  }

  // A service's grid, opened at its first request. A live boot that restored
  // a machine snapshot goes on with the grid its state refers to; one that
  // replays the log from its first entry starts the grid empty and writes it
  // again; a replay writes a scratch copy and leaves the live one be.
  private openGrid(index: number): BlockBackend {
    const service = this.services[index];
    if (service === undefined) throw new KernelPanic(`grid request for unknown service ${index}`);
    const file = gridFileName(service.name);
    const replay = this.opts.mode === 'replay';
    const keep = !replay && this.restoredSnapshot !== null;
    if (this.opts.sim !== undefined) {
      if (this.opts.sim.grid === undefined) throw new KernelPanic('this simulated machine has no disk for grids');
      return this.opts.sim.grid(file, replay, keep);
    }
    const dir = replay ? (this.gridScratch ??= mkdtempSync(join(tmpdir(), 'qenex-grid-'))) : this.opts.dataDir;
    const path = join(dir, file);
    if (!keep) rmSync(path, { force: true });
    return this.openDataFile(path, { create: true, lock: !replay, readOnly: false });
  }

  private closeGrids(): void {
    this.grid?.close();
    if (this.gridScratch !== null) rmSync(this.gridScratch, { recursive: true, force: true });
    this.gridScratch = null;
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

  listen(host: string, port: number, tls?: TlsListen) {
    if (this.net === null) throw new Error('replay machines do not listen');
    const net = this.net;
    // Metrics and the request log load when serving starts, not at boot (host/metrics.ts).
    return (this.observability?.enable() ?? Promise.resolve()).then(() => net.listen(host, port, tls));
  }

  /**
   * Starts the FIX acceptor beside the listener (docs/fix.md "The acceptor"):
   * its requests go in through the net device as the host's own frames
   * (inject), answered once durable, like the operator console's.
   */
  fixListen(config: FixConfig): Promise<AddressInfo> {
    if (this.net === null) throw new Error('replay machines do not listen');
    const net = this.net;
    this.fix = new FixAcceptor({
      config, instruments: imageInstruments(this.opts.image), submit: (payload) => net.inject(GATEWAY_SERVICE, payload),
      admit: admitOf(this.kernel, this.opts.cluster), log: (o) => this.hostLine(o, false),
    });
    // From now on the fix service's EVT_FIX records go to the acceptor (those replayed at boot went nowhere:
    // their connections are gone, and what a session missed it asks for again).
    this.eventHub.onFix((_time, items) => this.fixOut(items));
    return this.fix.listen();
  }

  /**
   * The fix service's outbound items (EVT_FIX event items, OUT_BYTES each,
   * back to back) to the FIX acceptor: what the events device hands over for
   * an EVT_FIX record. Without an acceptor they are dropped (the service
   * keeps them for a resend).
   */
  fixOut(items: Buffer): void {
    this.fix?.handleOutItems(items);
  }

  /** The FIX acceptor's counters for /metrics, or null when there is none. */
  fixStats(): Readonly<Record<string, number>> | null {
    return this.fix?.stats ?? null;
  }

  /** The cluster node's figures for /metrics, or null outside a cluster. */
  clusterStats(): ClusterStats | null {
    return this.opts.cluster?.stats() ?? null;
  }

  /** Stops taking input, makes everything durable and applied, then halts. */
  async stop(): Promise<HaltInfo> {
    if (this.halt === null) {
      this.kernel.x.kernel_shutdown();
      this.schedulePump();
    }
    const halt = await this.whenHalted();
    this.eventHub.close();
    await this.fix?.close();
    await this.net?.close();
    await this.originals?.close();
    this.closeGrids();
    this.backend.close();
    return halt;
  }

  /** Releases the data file without a clean stop (tests of crash paths). */
  abandon(): void {
    this.halt ??= { state: abi.KSTATE_HALTED, error: 0, message: 'abandoned' };
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    void this.fix?.close();
    void this.net?.close();
    this.originals?.abandon();
    this.closeGrids();
    this.backend.close();
  }
}

// Each service module with its fuel counter and memory limit (host/fuel.ts),
// before anything is instantiated; a module the host will not run is a BootError.
// An image prepared at build (ParsedImage.prepared) carries them: they are
// checked, not instrumented again, and binaryen is never loaded.
async function prepareServices(opts: MachineOptions): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const prepared = opts.image.prepared ?? null;
  if (prepared === null) await loadInstrumenter();
  else if (opts.fuel === false) throw new BootError('fuel: false needs an image whose services are not prepared at build');
  try {
    if (prepared !== null) checkPreparedInfo(prepared);
  } catch (e) {
    if (e instanceof ModuleRefused) throw new BootError(e.message);
    throw e;
  }
  for (const spec of opts.image.manifest.services) {
    const bytes = opts.image.services.get(spec.name);
    if (bytes === undefined) throw new BootError(`image has no module for service ${spec.name}`);
    try {
      out.set(spec.name, prepared !== null
        ? checkPreparedModule(bytes, spec.memory_pages_max)
        : prepareModuleSync(bytes, { memoryPagesMax: spec.memory_pages_max, fuel: opts.fuel }));
    } catch (e) {
      if (e instanceof ModuleRefused) throw new BootError(`service ${spec.name}: ${e.message}`);
      throw e;
    }
  }
  return out;
}

// The edge's view of each ledger (asset scale and currency) from the manifest:
// the gateway's routes and the event stream's payments render amounts with it.
function ledgerCurrencies(image: ParsedImage): Map<number, { assetScale: number; currency?: string }> {
  const ledgers = new Map<number, { assetScale: number; currency?: string }>();
  for (const l of image.manifest.gateway?.ledgers ?? []) ledgers.set(l.ledger, { assetScale: l.asset_scale, currency: l.currency });
  return ledgers;
}

// The edge's ledgers (above) and the kernel's admission (an image without an
// admission authority refuses every gateway route: there is nothing to admit it).
/** The kernel's admission decision on a gateway request header: what every front end (HTTP, binary, FIX) asks. */
// A cluster node whose log appends wait for the stream's quorum refuses new
// requests (503) instead of letting them queue behind a write that may not
// come (host/cluster/node.ts refusal).
function admitOf(kernel: Kernel, cluster?: { refusal(): string | null }): (header: Buffer, mode: number) => AdmissionAnswer {
  if (!kernel.hasAdmission()) {
    return () => ({ status: 503, error: gw.GW_E_BUSY, retryAfter: 0, keyId: 0, role: 0, message: 'this image has no admission authority (no gateway service)' });
  }
  if (cluster === undefined) return (header, mode) => kernel.admission(header, mode);
  return (header, mode) => {
    const refused = cluster.refusal();
    return refused === null ? kernel.admission(header, mode) : { status: 503, error: gw.GW_E_BUSY, retryAfter: 1, keyId: 0, role: 0, message: refused };
  };
}

function gatewayConfig(image: ParsedImage, kernel: Kernel, host: GatewayHost | undefined, events: EventHub, cluster?: { refusal(): string | null }): GatewayConfig {
  const ledgers = ledgerCurrencies(image);
  const admit = admitOf(kernel, cluster);
  const stat = (id: number) => Number(kernel.x.admission_stat(id));
  const admissionStats = () => ({
    admitted: stat(abi.ADM_STAT_ADMITTED), unauthenticated: stat(abi.ADM_STAT_UNAUTHENTICATED), forbidden: stat(abi.ADM_STAT_FORBIDDEN),
    rate_limited: stat(abi.ADM_STAT_RATE_LIMITED), malformed: stat(abi.ADM_STAT_MALFORMED), sources: stat(abi.ADM_STAT_SOURCES),
  });
  return { ledgers, instruments: imageInstruments(image), admit, admissionStats, host, events };
}

// The edge's view of the trading service's instruments (their scales) from the manifest: the trading routes and the
// event stream's trading events render prices and quantities with it.
function imageInstruments(image: ParsedImage): Map<number, TradingInstrument> {
  return tradingInstruments(image.manifest.services.find((s) => s.name === 'trading')?.config);
}

// The manifest's gateway.events limits (host/gateway/events.ts has the defaults and why).
function eventLimits(image: ParsedImage): Partial<EventLimits> {
  const e = image.manifest.gateway?.events ?? {};
  const out: Partial<EventLimits> = {};
  if (e.ring_events_max !== undefined) out.ringEventsMax = e.ring_events_max;
  if (e.subscribers_max !== undefined) out.subscribersMax = e.subscribers_max;
  if (e.subscribers_per_key_max !== undefined) out.subscribersPerKeyMax = e.subscribers_per_key_max;
  if (e.subscriber_buffer_bytes_max !== undefined) out.subscriberBufferBytesMax = e.subscriber_buffer_bytes_max;
  if (e.heartbeat_ms !== undefined) out.heartbeatMs = e.heartbeat_ms;
  return out;
}

// The keys live-loaded modules must be signed by: the options' (a live
// machine stores them in the data directory), else the stored copy.


function openLog(opts: MachineOptions, live: boolean, layer: DataCipher | null): BlockBackend {
  try {
    return openSegmentedLog(opts.dataDir, {
      create: live, lock: live, readOnly: !live, backend: opts.backend, notice: opts.notice, layer: layer ?? undefined,
      archiveDir: opts.archiveDir, segmentBytes: opts.logSegmentBytes,
    });
  } catch (e) {
    throw new BootError((e as Error).message);
  }
}

// The first entry's magic names the log's format (hal/log.ts): a log of
// another format is refused here, before the kernel could take it for a
// torn log (an empty or zeroed log, or one that is not a log at all, is the
// kernel's to judge). A first segment that was archived was checked by the
// boots before that (the archive keeps its bytes); reading it here would make
// every boot need the archive.
function checkLogFormat(log: BlockBackend, dataDir: string): void {
  if (log instanceof SegmentedLog && log.whereIs(0) !== 'live') return;
  const head = new Uint8Array(4);
  if (log.readAt(0, head) < head.length) return;
  const magic = new DataView(head.buffer).getUint32(0, true);
  if (magic === abi.ENTRY_MAGIC) return;
  const found = magicVersion(magic);
  if (found !== null) throw new LogFormatError(dataDir, found);
}

// The data directory keeps a copy of the image it was created with, so
// `qenex replay --data` needs nothing else, and a different image is refused.
function prepareDataDir(opts: MachineOptions): void {
  const imagePath = join(opts.dataDir, IMAGE_FILE);
  if (opts.mode === 'replay') {
    if (!hasLog(opts.dataDir)) throw new BootError(`${opts.dataDir}: no command log (${LOG_FILE}) to replay`);
    return;
  }
  mkdirSync(opts.dataDir, { recursive: true });
  // The keys live-loaded modules are checked against, for replays (host/liveload.ts).
  if (!existsSync(imagePath)) {
    writeImageFile(imagePath, opts.imageBytes);
    return;
  }
  const stored = parseImage(readImageFile(imagePath));
  if (stored.digestHex !== opts.image.digestHex) {
    throw new BootError(`${opts.dataDir} belongs to image ${stored.digestHex.slice(0, 16)}…, not ${opts.image.digestHex.slice(0, 16)}… (use a new data directory)`);
  }
}
