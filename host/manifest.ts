// host/manifest.ts: the image manifest, its types and its strict validator.
//
// The manifest says what an image runs and how the kernel sizes itself at
// boot (static allocation: every pool comes from these numbers). It is
// validated strictly: unknown fields, wrong types, non-integers and values
// out of the ranges in host/base/limits.ts are refused with the JSON path of the
// offending value, e.g.
//   manifest: services[1].caps[2]: unknown capability "sned:echo"
//
// Two optional fields exist because the kernel reads them (kernel/boot.ts):
// a top-level "description" (shown only) and a per-service "config" object,
// opaque to host and kernel, which the kernel hands to the service at init.
//
// Use: `validateManifest(JSON.parse(text))` returns a fresh, canonical object
// (fixed key order), so `JSON.stringify(validateManifest(x))` is the canonical
// manifest bytes stored in an image. `loadManifestFile(path)` reads a file.

import { readFileSync, statSync } from 'node:fs';
import * as limits from './base/limits.ts';
import * as abi from '../hal/abi.ts';
import { checkFixManifest, FixConfigError } from './fix/config.ts';

export class ManifestError extends Error {
  override name = 'ManifestError';
}

export type PlainCapability = 'net' | 'log' | 'time' | 'random' | 'timer' | 'emit' | 'system' | 'hsm_random' | 'admit' | 'read' | 'storage';
export type Capability = PlainCapability | `send:${string}`;

export interface KernelSpec {
  message_slots: number;
  message_bytes_max: number;
  queue_depth: number;
  timers_max: number;
  requests_in_flight_max: number;
  batch_bytes_max: number;
  log_preallocate_bytes: number;
  /** Entries between machine snapshots (host/snapshot.ts); absent or 0: none. Kept only when given. */
  snapshot_interval_entries?: number;
}

export interface ServiceSpec {
  name: string;
  module: string;
  priority: number;
  budget: number;
  memory_pages_max: number;
  caps: Capability[];
  /** Fuel units (function entries + loop iterations) per message; default limits.FUEL_PER_MESSAGE_DEFAULT. */
  fuel_per_message?: number;
  /** Fuel units for qx_init; default limits.FUEL_INIT_DEFAULT. */
  fuel_init?: number;
  /** Restarts allowed within restart_window_ms before the service is marked failed; default 3. */
  restarts_max?: number;
  /** The restart window in logical milliseconds; default 60000. */
  restart_window_ms?: number;
  /** HSM key labels the service may use through syscall hsm (kernel/hsm.ts); absent: none. */
  hsm_keys?: string[];
  /** Opaque to host and kernel; handed to the service at init. */
  config?: JsonObject;
}

/** One ledger as the edge (HTTP/JSON) sees it: its asset scale, like ISO 4217 minor units. */
export interface LedgerSpec {
  ledger: number;
  asset_scale: number;
  currency?: string;
}

/** Edge settings: how decimal amounts map to a ledger's integer minor units. */
export interface GatewaySpec {
  ledgers: LedgerSpec[];
  /** Event stream limits (host/gateway/events.ts EventLimits); absent: the defaults. */
  events?: EventsSpec;
}

export interface EventsSpec {
  ring_events_max?: number;
  subscribers_max?: number;
  subscribers_per_key_max?: number;
  subscriber_buffer_bytes_max?: number;
  heartbeat_ms?: number;
}

export interface Manifest {
  name: string;
  version: number;
  description?: string;
  kernel: KernelSpec;
  services: ServiceSpec[];
  gateway?: GatewaySpec;
  /** Audit log checkpoints (kernel/audit.ts); absent: none. */
  audit?: AuditSpec;
  /** Encryption at rest of the data directory (host/datakey.ts); absent: plain files. */
  storage?: StorageSpec;
  /** The FIX acceptor's listener, sessions and options (host/fix/config.ts; `qenex boot --fix-*` flags override). */
  fix?: unknown;
}

/** Encryption at rest: the data key is wrapped by the HSM's AES-256 key `key_label`. */
export interface StorageSpec {
  encryption: 'aes-256-gcm';
  key_label: string;
}

export interface AuditSpec {
  /** Seal a signed checkpoint each time the log grows by this many entries. */
  checkpoint_interval: number;
}

// What each plain capability grants; the kernel checks them on every call.
export const PLAIN_CAPABILITIES: readonly PlainCapability[] = [
  'net', // may receive frames from network clients
  'log', // may write to the console log
  'time', // may read the kernel's logical clock
  'random', // may read logged entropy
  'timer', // may set timers
  'emit', // may emit event records (GET /v1/events)
  'system', // may send service commands: load, upgrade, unload (kernel/liveload.ts; the gateway, for admins)
  'hsm_random', // may ask the HSM for random bytes (syscall hsm, OP_HSM_RANDOM)
  'admit', // the admission authority: programs the kernel's admission table; its frames are admitted before the log (one service, with net)
  'read', // answers reads from its state without a log entry (exports qx_read): frames with FRAME_F_READ (with net), or the authority's read routes (not with admit)
  'storage', // its own grid of blocks on disk (syscall storage, hal/devices/grid.ts); needs kernel.message_bytes_max >= a block and its header
];
const SEND_PREFIX = 'send:';

type Json = unknown;
type Obj = Record<string, Json>;
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject { [key: string]: JsonValue }

function fail(path: string, message: string): never {
  throw new ManifestError(path === '' ? `manifest: ${message}` : `manifest: ${path}: ${message}`);
}

function describe(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isObject(value: Json): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks `value` has every field of `fields`, maybe some of `optional`, nothing else. */
function object(value: Json, path: string, fields: readonly string[], optional: readonly string[] = []): Obj {
  if (!isObject(value)) fail(path, `must be an object, found ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (!fields.includes(key) && !optional.includes(key)) {
      fail(join(path, key), `unknown field (allowed: ${[...fields, ...optional].join(', ')})`);
    }
  }
  for (const field of fields) {
    if (!Object.hasOwn(value, field)) fail(join(path, field), 'missing');
  }
  return value;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function integer(value: Json, path: string, min: number, max: number): number {
  if (typeof value !== 'number') fail(path, `must be an integer, found ${describe(value)}`);
  if (!Number.isSafeInteger(value)) fail(path, `must be an integer, found ${value}`);
  if (value < min || value > max) fail(path, `${value} is out of range ${min}..${max}`);
  return value;
}

function name(value: Json, path: string): string {
  if (typeof value !== 'string') fail(path, `must be a string, found ${describe(value)}`);
  if (!limits.SERVICE_NAME_PATTERN.test(value)) {
    fail(path, `${JSON.stringify(value)} is not a valid name (${limits.SERVICE_NAME_PATTERN.source})`);
  }
  return value;
}

function array(value: Json, path: string, min: number, max: number): Json[] {
  if (!Array.isArray(value)) fail(path, `must be an array, found ${describe(value)}`);
  if (value.length < min || value.length > max) {
    fail(path, `has ${value.length} entries, allowed ${min}..${max}`);
  }
  return value;
}

const KERNEL_FIELDS = [
  'message_slots',
  'message_bytes_max',
  'queue_depth',
  'timers_max',
  'requests_in_flight_max',
  'batch_bytes_max',
  'log_preallocate_bytes',
] as const;

function kernelSpec(value: Json, path: string): KernelSpec {
  const o = object(value, path, KERNEL_FIELDS, ['snapshot_interval_entries']);
  const p = (field: string) => join(path, field);
  const message_slots = integer(o.message_slots, p('message_slots'), limits.MESSAGE_SLOTS_MIN, limits.MESSAGE_SLOTS_MAX);
  const message_bytes_max = integer(o.message_bytes_max, p('message_bytes_max'), limits.MESSAGE_BYTES_MIN, limits.MESSAGE_BYTES_MAX);
  const queue_depth = integer(o.queue_depth, p('queue_depth'), limits.QUEUE_DEPTH_MIN, limits.QUEUE_DEPTH_MAX);
  const timers_max = integer(o.timers_max, p('timers_max'), limits.TIMERS_MIN, limits.TIMERS_MAX);
  const requests_in_flight_max = integer(
    o.requests_in_flight_max, p('requests_in_flight_max'),
    limits.REQUESTS_IN_FLIGHT_MIN, limits.REQUESTS_IN_FLIGHT_MAX,
  );
  // A batch must hold a largest message plus its headers, or that message
  // could be accepted from the network but never logged.
  const batchMin = message_bytes_max + limits.BATCH_OVERHEAD_BYTES;
  const batch_bytes_max = integer(o.batch_bytes_max, p('batch_bytes_max'), limits.BATCH_BYTES_MIN, limits.BATCH_BYTES_MAX);
  if (batch_bytes_max < batchMin) {
    fail(p('batch_bytes_max'), `${batch_bytes_max} is below message_bytes_max + ${limits.BATCH_OVERHEAD_BYTES} (${batchMin})`);
  }
  const poolBytes = message_slots * message_bytes_max;
  if (poolBytes > limits.MESSAGE_POOL_BYTES_MAX) {
    fail(p('message_slots'), `message_slots * message_bytes_max is ${poolBytes} bytes, over the message pool limit ${limits.MESSAGE_POOL_BYTES_MAX}`);
  }
  const log_preallocate_bytes = integer(o.log_preallocate_bytes, p('log_preallocate_bytes'), 0, limits.LOG_PREALLOCATE_BYTES_MAX);
  const spec: KernelSpec = {
    message_slots, message_bytes_max, queue_depth, timers_max,
    requests_in_flight_max, batch_bytes_max, log_preallocate_bytes,
  };
  if (o.snapshot_interval_entries !== undefined) {
    spec.snapshot_interval_entries = integer(o.snapshot_interval_entries, p('snapshot_interval_entries'), 0, limits.SNAPSHOT_INTERVAL_ENTRIES_MAX);
  }
  return spec;
}

const SERVICE_FIELDS = ['name', 'module', 'priority', 'budget', 'memory_pages_max', 'caps'] as const;
const SUPERVISION_FIELDS = ['fuel_per_message', 'fuel_init', 'restarts_max', 'restart_window_ms'] as const;

/** Optional fuel and restart-policy fields (kernel/supervise.ts); kept only when given. */
function supervision(o: Obj, spec: ServiceSpec, path: string): void {
  const ranges: Record<(typeof SUPERVISION_FIELDS)[number], [number, number]> = {
    fuel_per_message: [limits.FUEL_MIN, limits.FUEL_MAX],
    fuel_init: [limits.FUEL_MIN, limits.FUEL_MAX],
    restarts_max: [0, limits.RESTARTS_MAX],
    restart_window_ms: [limits.RESTART_WINDOW_MS_MIN, limits.RESTART_WINDOW_MS_MAX],
  };
  for (const field of SUPERVISION_FIELDS) {
    if (!Object.hasOwn(o, field)) continue;
    const [min, max] = ranges[field];
    spec[field] = integer(o[field], join(path, field), min, max);
  }
}

/** Shape and ranges of one service; `send:` peers are checked by the caller. */
function serviceSpec(value: Json, path: string): ServiceSpec {
  const o = object(value, path, SERVICE_FIELDS, [...SUPERVISION_FIELDS, 'hsm_keys', 'config']);
  const p = (field: string) => join(path, field);
  const spec: ServiceSpec = {
    name: name(o.name, p('name')),
    module: name(o.module, p('module')),
    priority: integer(o.priority, p('priority'), 0, limits.PRIORITY_MAX),
    budget: integer(o.budget, p('budget'), limits.BUDGET_MIN, limits.BUDGET_MAX),
    memory_pages_max: integer(o.memory_pages_max, p('memory_pages_max'), limits.MEMORY_PAGES_MIN, limits.MEMORY_PAGES_MAX),
    caps: [],
  };
  const caps = array(o.caps, p('caps'), 0, limits.SERVICE_CAPS_MAX);
  for (let i = 0; i < caps.length; i++) {
    const cap = caps[i];
    const capPath = `${p('caps')}[${i}]`;
    if (typeof cap !== 'string') fail(capPath, `must be a string, found ${describe(cap)}`);
    if (!isCapabilityShape(cap)) fail(capPath, `unknown capability ${JSON.stringify(cap)}`);
    if (spec.caps.includes(cap)) fail(capPath, `duplicate capability ${JSON.stringify(cap)}`);
    spec.caps.push(cap);
  }
  supervision(o, spec, path);
  if (Object.hasOwn(o, 'hsm_keys')) spec.hsm_keys = hsmKeys(o.hsm_keys, p('hsm_keys'));
  if (Object.hasOwn(o, 'config')) {
    if (!isObject(o.config)) fail(p('config'), `must be an object, found ${describe(o.config)}`);
    spec.config = jsonCopy(o.config, p('config'), 0) as JsonObject;
  }
  return spec;
}

// A lone UTF-16 surrogate has no UTF-8 form; JSON.stringify would write it
// as an escape the kernel's strict JSON reader refuses.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function wellFormed(text: string, path: string): string {
  if (LONE_SURROGATE.test(text)) fail(path, 'string is not well-formed Unicode (lone surrogate)');
  return text;
}

/**
 * Deep-copies an opaque JSON value, refusing what would not survive the trip
 * to the kernel exactly: numbers other than safe integers (money and other
 * decimals belong in strings), malformed strings, non-JSON values, and
 * nesting beyond SERVICE_CONFIG_DEPTH_MAX.
 */
function jsonCopy(value: Json, path: string, depth: number): JsonValue {
  if (depth > limits.SERVICE_CONFIG_DEPTH_MAX) fail(path, `nested deeper than ${limits.SERVICE_CONFIG_DEPTH_MAX} levels`);
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'string') return wellFormed(value, path);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) fail(path, `${value} is not a safe integer (write decimals and large values as strings)`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => jsonCopy(v, `${path}[${i}]`, depth + 1));
  if (!isObject(value)) fail(path, `must be JSON, found ${describe(value)}`);
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) {
    wellFormed(key, join(path, key));
    // defineProperty, so a "__proto__" key stays an ordinary own property.
    const item = jsonCopy(value[key], join(path, key), depth + 1);
    Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

// services[].hsm_keys: unique HSM key labels (the kernel checks the same
// bounds again: hal/abi.ts HSM_LABEL_BYTES_MAX, HSM_GRANTS_PER_SERVICE_MAX).
function hsmKeys(value: Json, path: string): string[] {
  const list = array(value, path, 0, abi.HSM_GRANTS_PER_SERVICE_MAX);
  const labels: string[] = [];
  list.forEach((label, i) => {
    const at = `${path}[${i}]`;
    if (typeof label !== 'string' || !KEY_LABEL_PATTERN.test(label)) {
      fail(at, `must be an HSM key label: 1 to ${abi.HSM_LABEL_BYTES_MAX} of A-Z a-z 0-9 . _ : - (not starting with a symbol), found ${describe(label)}`);
    }
    if (labels.includes(label)) fail(at, `duplicate key label ${JSON.stringify(label)}`);
    labels.push(label);
  });
  return labels;
}

function isCapabilityShape(cap: string): cap is Capability {
  if ((PLAIN_CAPABILITIES as readonly string[]).includes(cap)) return true;
  return cap.startsWith(SEND_PREFIX) && limits.SERVICE_NAME_PATTERN.test(cap.slice(SEND_PREFIX.length));
}

/** Relations across services: unique names, existing `send:` peers, timers. */
function checkServices(services: ServiceSpec[], kernel: KernelSpec): void {
  const names = services.map((s) => s.name);
  const authorities = services.map((s, i) => (s.caps.includes('admit') ? i : -1)).filter((i) => i >= 0);
  if (authorities.length > 1) fail(`services[${authorities[1]}].caps`, 'capability "admit" is given to more than one service');
  if (authorities.length === 1 && !services[authorities[0]].caps.includes('net')) fail(`services[${authorities[0]}].caps`, 'capability "admit" needs "net"');
  // Reads skip the log, and the authority's frames are admitted first: none of them may skip that.
  if (authorities.length === 1 && services[authorities[0]].caps.includes('read')) fail(`services[${authorities[0]}].caps`, 'capability "read" cannot go with "admit"');
  for (let i = 0; i < services.length; i++) {
    const service = services[i];
    if (names.indexOf(service.name) !== i) {
      fail(`services[${i}].name`, `duplicate service name ${JSON.stringify(service.name)}`);
    }
    for (let c = 0; c < service.caps.length; c++) {
      const cap = service.caps[c];
      const capPath = `services[${i}].caps[${c}]`;
      if (cap === 'timer' && kernel.timers_max === 0) {
        fail(capPath, 'capability "timer" needs kernel.timers_max > 0');
      }
      // A block travels in one message both ways (hal/devices/grid.ts).
      const blockMessage = abi.BLOCK_MSG_HEADER_BYTES + abi.GRID_BLOCK_BYTES;
      if (cap === 'storage' && kernel.message_bytes_max < blockMessage) {
        fail(capPath, `capability "storage" needs kernel.message_bytes_max >= ${blockMessage} (a block and its header)`);
      }
      if (!cap.startsWith(SEND_PREFIX)) continue;
      const peer = cap.slice(SEND_PREFIX.length);
      if (peer === service.name) fail(capPath, `${JSON.stringify(cap)}: a service cannot send to itself`);
      if (!names.includes(peer)) fail(capPath, `${JSON.stringify(cap)}: no service named ${JSON.stringify(peer)}`);
    }
  }
}

/**
 * Validates parsed manifest JSON. Returns a new object holding only the
 * validated fields in canonical order; throws ManifestError naming the path.
 */
export function validateManifest(json: unknown): Manifest {
  const o = object(json, '', ['name', 'version', 'kernel', 'services'], ['description', 'gateway', 'audit', 'storage', 'fix']);
  const manifestName = name(o.name, 'name');
  const version = integer(o.version, 'version', limits.IMAGE_VERSION_MIN, limits.IMAGE_VERSION_MAX);
  const description = Object.hasOwn(o, 'description') ? descriptionText(o.description) : undefined;
  const kernel = kernelSpec(o.kernel, 'kernel');
  const list = array(o.services, 'services', limits.SERVICES_MIN, limits.IMAGE_SERVICES_MAX);
  const services = list.map((s, i) => serviceSpec(s, `services[${i}]`));
  checkServices(services, kernel);
  const gateway = Object.hasOwn(o, 'gateway') ? gatewaySpec(o.gateway, 'gateway') : undefined;
  const audit = Object.hasOwn(o, 'audit') ? auditSpec(o.audit, 'audit') : undefined;
  const storage = Object.hasOwn(o, 'storage') ? storageSpec(o.storage, 'storage') : undefined;
  if (Object.hasOwn(o, 'fix')) fixSpec(o.fix);
  // Key order here is the canonical order; optional fields appear only when given.
  const manifest = { name: manifestName, version } as Manifest;
  if (description !== undefined) manifest.description = description;
  manifest.kernel = kernel;
  manifest.services = services;
  if (gateway !== undefined) manifest.gateway = gateway;
  if (audit !== undefined) manifest.audit = audit;
  if (storage !== undefined) manifest.storage = storage;
  if (Object.hasOwn(o, 'fix')) manifest.fix = o.fix;
  return manifest;
}

// The "fix" object is the FIX acceptor's (host/fix/config.ts): checked by its reader, kept as given.
function fixSpec(value: Json): void {
  try {
    checkFixManifest(value);
  } catch (e) {
    if (e instanceof FixConfigError) fail('fix', e.message.replace(/^manifest: /, ''));
    throw e;
  }
}

// An HSM object label: printable, short, no spaces (PKCS#11 labels are bytes; these stay readable).
const KEY_LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function storageSpec(value: Json, path: string): StorageSpec {
  const o = object(value, path, ['encryption', 'key_label']);
  if (o.encryption !== 'aes-256-gcm') fail(join(path, 'encryption'), `must be "aes-256-gcm", found ${describe(o.encryption)}`);
  if (typeof o.key_label !== 'string' || !KEY_LABEL_PATTERN.test(o.key_label)) {
    fail(join(path, 'key_label'), 'must be an HSM key label: 1 to 64 of A-Z a-z 0-9 . _ : - (not starting with a symbol)');
  }
  return { encryption: 'aes-256-gcm', key_label: o.key_label };
}

function auditSpec(value: Json, path: string): AuditSpec {
  const o = object(value, path, ['checkpoint_interval']);
  return {
    checkpoint_interval: integer(o.checkpoint_interval, join(path, 'checkpoint_interval'),
      limits.AUDIT_CHECKPOINT_INTERVAL_MIN, limits.AUDIT_CHECKPOINT_INTERVAL_MAX),
  };
}

// An asset scale is a power of ten below 2^128 (about 3.4e38), so at most 38.
const ASSET_SCALE_MAX = 38;
const CURRENCY_PATTERN = /^[A-Z]{3}$/;

function gatewaySpec(value: Json, path: string): GatewaySpec {
  const o = object(value, path, ['ledgers'], ['events']);
  const list = array(o.ledgers, join(path, 'ledgers'), 0, limits.GATEWAY_LEDGERS_MAX);
  const seen = new Set<number>();
  const ledgers = list.map((item, i) => {
    const p = `${join(path, 'ledgers')}[${i}]`;
    const l = object(item, p, ['ledger', 'asset_scale'], ['currency']);
    const spec: LedgerSpec = {
      ledger: integer(l.ledger, join(p, 'ledger'), 1, 0xffffffff),
      asset_scale: integer(l.asset_scale, join(p, 'asset_scale'), 0, ASSET_SCALE_MAX),
    };
    if (seen.has(spec.ledger)) fail(join(p, 'ledger'), `duplicate ledger ${spec.ledger}`);
    seen.add(spec.ledger);
    if (Object.hasOwn(l, 'currency')) {
      if (typeof l.currency !== 'string' || !CURRENCY_PATTERN.test(l.currency)) fail(join(p, 'currency'), 'must be a three-letter ISO 4217 code');
      spec.currency = l.currency;
    }
    return spec;
  });
  return Object.hasOwn(o, 'events') ? { ledgers, events: eventsSpec(o.events, join(path, 'events')) } : { ledgers };
}

// Bounds: at least one of each; at most what one host process can hold
// (2^24 events of ~128 bytes is 2 GiB), 4096 streams, 64 MiB per stream, an hour.
function eventsSpec(value: Json, path: string): EventsSpec {
  const fields = ['ring_events_max', 'subscribers_max', 'subscribers_per_key_max', 'subscriber_buffer_bytes_max', 'heartbeat_ms'] as const;
  const max = {
    ring_events_max: 1 << 24, subscribers_max: 4096, subscribers_per_key_max: 4096, subscriber_buffer_bytes_max: 64 << 20,
    // A heartbeat keeps an open stream from looking idle to proxies: well under the HTTP idle timeout.
    heartbeat_ms: limits.NET_HTTP_IDLE_MS / 2,
  };
  const o = object(value, path, [], [...fields]);
  const spec: EventsSpec = {};
  for (const f of fields) if (Object.hasOwn(o, f)) spec[f] = integer(o[f], join(path, f), 1, max[f]);
  return spec;
}

function descriptionText(value: Json): string {
  if (typeof value !== 'string') fail('description', `must be a string, found ${describe(value)}`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > limits.DESCRIPTION_BYTES_MAX) fail('description', `${bytes} bytes, over ${limits.DESCRIPTION_BYTES_MAX}`);
  if (/[\u0000-\u001f]/.test(value)) fail('description', 'must be one line without control characters');
  return wellFormed(value, 'description');
}

/** The canonical bytes of a manifest: JSON.stringify of the validated object. */
export function canonicalManifestBytes(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(validateManifest(manifest)));
}

/** Reads, parses and validates a manifest file; errors name the file. */
export function loadManifestFile(path: string): Manifest {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > limits.MANIFEST_BYTES_MAX) {
      throw new ManifestError(`${path}: manifest is ${size} bytes, over MANIFEST_BYTES_MAX (${limits.MANIFEST_BYTES_MAX})`);
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ManifestError) throw e;
    throw new ManifestError(`${path}: cannot read manifest: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(`${path}: manifest is not valid JSON: ${(e as Error).message}`);
  }
  try {
    return validateManifest(json);
  } catch (e) {
    if (e instanceof ManifestError) throw new ManifestError(`${path}: ${e.message}`);
    throw e;
  }
}
