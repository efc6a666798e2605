// host/metrics.ts: what the host shows about a running machine: Prometheus
// metrics (prom-client), the structured request log (pino), and the answers
// of /v1/system/{services,scheduler,memory}. Observability only: nothing
// here decides anything, and nothing here is in the command log.
//
// Kernel counters come from kernel_stat (hal/abi.ts STAT_*) and are read at
// scrape time; request counts and latencies are recorded as responses leave;
// flush latency and entries per batch are sampled once per run-loop turn
// from the block device and the kernel counters (sample()).
//
// prom-client and pino (and the node:http, https and zlib they load) are
// loaded when the machine starts serving (enable(), from Machine.listen),
// not when it boots: `boot --once` and replays never use them, and loading
// them was ~10 ms of every start (issue 16). Before that there are no
// requests to count or log.

import type { Logger } from 'pino';
import { stdoutLines } from './base/lines.ts';
import type { Counter, Histogram, Registry } from 'prom-client';
import * as abi from '../hal/abi.ts';
import type { Kernel } from './base/kernel.ts';
import type { ServiceSpec } from './manifest.ts';
import type { GatewayHost } from './gateway/http-config.ts';
import type { NetRefusals } from './devices/net.ts';

/** The parts of a machine this module reads. */
export interface MachineView {
  readonly kernel: Kernel;
  readonly services: readonly { name: string; index: number; inboxBytes: number; retired: boolean; memoryBytes(): Uint8Array }[];
  readonly block: { flushes: number; lastFlushMs: number; bytesWritten: number };
  readonly net: { connectionCount(): number; framesIn: number; framesOut: number; refused: number; closedBy: Readonly<Record<keyof NetRefusals, number>> } | null;
  serviceSpecs(): readonly ServiceSpec[];
  isServing(): boolean;
  /** The FIX acceptor's counters (host/fix/acceptor.ts FixAcceptor.stats), or null without one. */
  fixStats(): Readonly<Record<string, number>> | null;
  /** A cluster node's figures (host/cluster/node.ts ClusterNode.stats), or null outside a cluster. */
  clusterStats(): ClusterStats | null;
}

export interface ClusterStats {
  term: number;
  failovers: number;
  seq: number;
  stalled: boolean;
  /** Stream messages each other node's last report is behind this node. */
  lag: Readonly<Record<string, number>>;
}

const KERNEL_STATS: [number, string][] = [
  [abi.STAT_ENTRIES_APPLIED, 'entries_applied'], [abi.STAT_BATCHES_APPLIED, 'batches_applied'],
  [abi.STAT_SCHED_ROUNDS, 'scheduler_rounds'], [abi.STAT_SYSCALLS_DENIED, 'syscalls_denied'],
  [abi.STAT_MSG_DESCRIPTORS_IN_USE, 'message_descriptors_in_use'], [abi.STAT_MSG_SLOTS_IN_USE, 'message_slots_in_use'],
  [abi.STAT_MSG_SLOTS_EXHAUSTED, 'message_slots_exhausted'], [abi.STAT_CONSOLE_DROPPED, 'console_lines_dropped'],
  [abi.STAT_NET_FRAMES_DROPPED, 'net_frames_dropped'], [abi.STAT_CLIENT_REQUESTS_IN_FLIGHT, 'client_requests_in_flight'],
  [abi.STAT_RESERVED_BYTES, 'reserved_bytes'], [abi.STAT_INPUTS_WITHOUT_TOKEN, 'inputs_without_token'],
  [abi.STAT_LOGICAL_TIME_NS, 'logical_time_ns'], [abi.STAT_READS_ANSWERED, 'reads_answered'],
];

/** Request log level: QENEX_LOG_LEVEL (default "warn": refusals by the gateway and server errors). */
function logLevel(): string {
  const level = process.env.QENEX_LOG_LEVEL ?? 'warn';
  return ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level) ? level : 'warn';
}

export class Observability implements GatewayHost {
  private live: Metrics | null = null;
  private loading: Promise<void> | null = null;

  constructor(private readonly m: MachineView) {}

  /** Loads prom-client and pino and starts counting; resolves at once when done before. */
  enable(): Promise<void> {
    this.loading ??= Promise.all([import('prom-client'), import('pino')]).then(([prom, pino]) => {
      this.live = new Metrics(this.m, prom, pino.default);
    });
    return this.loading;
  }

  /** Once per run-loop turn: a new flush is one latency sample and one batch-size sample. */
  sample(): void {
    this.live?.sample();
  }

  // ---- GatewayHost ----

  ready(): boolean {
    return this.m.isServing();
  }

  metrics(): Promise<string> {
    return this.enable().then(() => this.live!.registry.metrics());
  }

  // Requests come only once serving, which enable() preceded (Machine.listen).
  observe(e: RequestDone): void {
    this.live?.observe(e);
  }

  system(what: 'services' | 'scheduler' | 'memory'): unknown {
    const stat = (id: number) => Number(this.m.kernel.stat(id));
    if (what === 'services') {
      const specs = this.m.serviceSpecs();
      return this.m.services.map((s) => ({
        index: s.index, name: s.name, priority: specs[s.index]?.priority, budget: specs[s.index]?.budget,
        caps: specs[s.index]?.caps, memory_bytes: s.memoryBytes().byteLength, inbox_bytes: s.inboxBytes,
        // Live loading (host/liveload.ts): the version (0 for the image's own
        // services), whether it was loaded at run time, and whether it was
        // unloaded or replaced by an upgrade (its instance is kept until restart).
        version: this.m.kernel.x.service_version(s.index), live: this.m.kernel.x.service_live(s.index) === 1, unloaded: s.retired,
      }));
    }
    if (what === 'scheduler') {
      return {
        rounds: stat(abi.STAT_SCHED_ROUNDS), entries_applied: stat(abi.STAT_ENTRIES_APPLIED),
        batches_applied: stat(abi.STAT_BATCHES_APPLIED), logical_time_ns: String(this.m.kernel.x.kernel_stat(abi.STAT_LOGICAL_TIME_NS)),
        client_requests_in_flight: stat(abi.STAT_CLIENT_REQUESTS_IN_FLIGHT), syscalls_denied: stat(abi.STAT_SYSCALLS_DENIED),
        inputs_without_token: stat(abi.STAT_INPUTS_WITHOUT_TOKEN), log_flushes: this.m.block.flushes,
        reads_answered: stat(abi.STAT_READS_ANSWERED),
      };
    }
    return {
      kernel_memory_bytes: this.m.kernel.x.memory.buffer.byteLength, reserved_bytes: stat(abi.STAT_RESERVED_BYTES),
      message_descriptors_in_use: stat(abi.STAT_MSG_DESCRIPTORS_IN_USE), message_slots_in_use: stat(abi.STAT_MSG_SLOTS_IN_USE),
      message_slots_exhausted: stat(abi.STAT_MSG_SLOTS_EXHAUSTED),
      services: Object.fromEntries(this.m.services.map((s) => [s.name, s.memoryBytes().byteLength])),
    };
  }
}

/** A finished request, as the gateway reports it. */
type RequestDone = { requestId: string; method: string; route: string; status: number; ms: number; code?: string };
type PromClient = typeof import('prom-client');
type PinoFactory = typeof import('pino').default;

/** The counters, histograms and request log of a serving machine (Observability.enable). */
class Metrics {
  readonly registry: Registry;
  private readonly log: Logger;
  private readonly requests: Counter<'route' | 'status'>;
  private readonly latency: Histogram<'route'>;
  private readonly flushLatency: Histogram;
  private readonly batchEntries: Histogram;
  private seenFlushes = 0;
  private seenEntries = 0;
  private seenBatches = 0;

  constructor(private readonly m: MachineView, prom: PromClient, pino: PinoFactory) {
    const { Counter, Gauge, Histogram } = prom;
    this.registry = new prom.Registry();
    // Asynchronous and bounded (host/base/lines.ts): a reader that stops reading drops request lines, never stalls the machine.
    this.log = pino({ level: logLevel(), base: { component: 'gateway' } }, stdoutLines());
    const registers = [this.registry];
    this.requests = new Counter({ name: 'qenex_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers });
    this.latency = new Histogram({
      name: 'qenex_http_request_duration_seconds', help: 'HTTP request time from head parsed to response written', labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1], registers,
    });
    this.flushLatency = new Histogram({
      name: 'qenex_log_flush_seconds', help: 'command-log write + fdatasync latency', buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1], registers,
    });
    this.batchEntries = new Histogram({
      name: 'qenex_log_batch_entries', help: 'command-log entries per applied batch (sampled per flush)', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096], registers,
    });
    const stat = (id: number) => Number(m.kernel.stat(id));
    for (const [id, name] of KERNEL_STATS) {
      new Gauge({ name: `qenex_kernel_${name}`, help: `kernel_stat ${name} (hal/abi.ts)`, registers, collect() { this.set(stat(id)); } });
    }
    new Gauge({ name: 'qenex_net_connections', help: 'open TCP connections', registers, collect() { this.set(m.net?.connectionCount() ?? 0); } });
    new Gauge({ name: 'qenex_net_frames_in', help: 'frames received (binary and HTTP)', registers, collect() { this.set(m.net?.framesIn ?? 0); } });
    new Gauge({ name: 'qenex_net_frames_out', help: 'frames sent', registers, collect() { this.set(m.net?.framesOut ?? 0); } });
    new Gauge({
      name: 'qenex_net_connections_closed', help: 'connections the front door refused or closed, by reason', labelNames: ['reason'], registers,
      collect() { for (const [reason, n] of Object.entries(m.net?.closedBy ?? {})) this.set({ reason }, n); },
    });
    new Gauge({
      name: 'qenex_fix_acceptor', help: 'the FIX acceptor\'s counters: connections, refused, garbled, messagesIn, messagesOut, requests, requestsRefused, dropped',
      labelNames: ['counter'], registers,
      collect() { for (const [counter, n] of Object.entries(m.fixStats() ?? {})) this.set({ counter }, n); },
    });
    new Gauge({ name: 'qenex_cluster_term', help: 'the term this node leads (cluster nodes)', registers, collect() { this.set(m.clusterStats()?.term ?? 0); } });
    new Gauge({
      name: 'qenex_cluster_failovers', help: 'leaders the cluster has had after its first (terms begun after term 1)', registers,
      collect() { this.set(m.clusterStats()?.failovers ?? 0); },
    });
    new Gauge({ name: 'qenex_cluster_stream_seq', help: 'the last log stream message in this node\'s log', registers, collect() { this.set(m.clusterStats()?.seq ?? 0); } });
    new Gauge({ name: 'qenex_cluster_stalled', help: '1 while log appends wait for the stream\'s quorum', registers, collect() { this.set(m.clusterStats()?.stalled ? 1 : 0); } });
    new Gauge({
      name: 'qenex_cluster_replication_lag', help: 'stream messages a node\'s last report is behind this leader', labelNames: ['node'], registers,
      collect() { for (const [node, n] of Object.entries(m.clusterStats()?.lag ?? {})) this.set({ node }, n); },
    });
    new Gauge({ name: 'qenex_output_lines_dropped', help: 'output lines dropped because the reader fell behind', registers, collect() { this.set(stdoutLines().dropped); } });
    new Gauge({ name: 'qenex_log_flushes', help: 'command-log flushes', registers, collect() { this.set(m.block.flushes); } });
    new Gauge({ name: 'qenex_log_bytes_written', help: 'command-log bytes written', registers, collect() { this.set(m.block.bytesWritten); } });
    new Gauge({
      name: 'qenex_service_memory_bytes', help: 'linear memory of each service', labelNames: ['service'], registers,
      collect() { for (const s of m.services) this.set({ service: s.name }, s.memoryBytes().byteLength); },
    });
  }

  sample(): void {
    const b = this.m.block;
    if (b.flushes === this.seenFlushes) return;
    this.seenFlushes = b.flushes;
    if (Number.isFinite(b.lastFlushMs) && b.lastFlushMs >= 0) this.flushLatency.observe(b.lastFlushMs / 1000);
    const entries = Number(this.m.kernel.stat(abi.STAT_ENTRIES_APPLIED));
    const batches = Number(this.m.kernel.stat(abi.STAT_BATCHES_APPLIED));
    if (batches > this.seenBatches) this.batchEntries.observe((entries - this.seenEntries) / (batches - this.seenBatches));
    this.seenEntries = entries;
    this.seenBatches = batches;
  }

  observe(e: RequestDone): void {
    this.requests.inc({ route: e.route, status: String(e.status) });
    this.latency.observe({ route: e.route }, e.ms / 1000);
    const level = e.status >= 500 ? 'error' : e.status === 401 || e.status === 403 || e.status === 429 ? 'warn' : 'info';
    // The line is built only when its level is logged (not, by default, for every request answered 200).
    if (!this.log.isLevelEnabled(level)) return;
    const line = { request_id: e.requestId, method: e.method, route: e.route, status: e.status, ms: Number(e.ms.toFixed(3)), code: e.code };
    if (level === 'error') this.log.error(line, 'request failed');
    else if (level === 'warn') this.log.warn(line, 'request refused');
    else this.log.info(line, 'request');
  }
}
