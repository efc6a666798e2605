// kernel/boot.ts: reads the manifest the host placed in the boot area and
// turns it into the kernel's configuration and service table.
//
// The host validated the manifest at `qenex build` time; the kernel checks
// again whatever it relies on (sizes against kernel/base/constants.ts, names,
// capabilities, peers), because the kernel never trusts the host's word for
// its own safety. Allocation (strings) is allowed here: boot runs before
// the allocator is sealed.

import { JsonReader, JSON_OBJECT } from "../lib/json";
import {
  IMAGE_SERVICES_MAX, PRIORITY_CLASSES, BUDGET_MIN, BUDGET_MAX, MEMORY_PAGES_MIN, MEMORY_PAGES_MAX,
  MESSAGE_SLOTS_MIN, MESSAGE_SLOTS_MAX, MESSAGE_BYTES_MIN, MESSAGE_BYTES_MAX, QUEUE_DEPTH_MIN, QUEUE_DEPTH_MAX,
  TIMERS_MIN, TIMERS_MAX, REQUESTS_IN_FLIGHT_MIN, REQUESTS_IN_FLIGHT_MAX, BATCH_BYTES_MIN, BATCH_BYTES_MAX,
  LOG_PREALLOCATE_BYTES_MAX, SNAPSHOT_INTERVAL_ENTRIES_MAX, FUEL_MIN, FUEL_PER_MESSAGE_DEFAULT, FUEL_INIT_DEFAULT, FUEL_MAX,
  RESTARTS_MAX_DEFAULT, RESTARTS_MAX, RESTART_WINDOW_MS_MIN, RESTART_WINDOW_MS_DEFAULT, RESTART_WINDOW_MS_MAX,
  BOOT_AREA_BYTES,
} from "./base/constants";
import { ENTRY_HEADER_BYTES } from "./log";
import { reserve, isSealed } from "./base/mem";
import { hsmGrant, hsmGrantRandom } from "./hsm";
import {
  Service, serviceAdd, serviceFind, serviceCount, service, NO_SERVICE,
  CAP_NET, CAP_LOG, CAP_TIME, CAP_RANDOM, CAP_TIMER, CAP_EMIT, CAP_SYSTEM, CAP_ADMIT, CAP_READ, hasCap,
} from "./services";
import { CAP_STORAGE, GRID_BLOCK_BYTES, BLOCK_MSG_HEADER_BYTES } from "../hal/abi";

export class KernelConfig {
  messageSlots: u32 = 64;
  messageBytesMax: u32 = 65536;
  queueDepth: u32 = 1024;
  timersMax: u32 = 1024;
  requestsInFlightMax: u32 = 1024;
  batchBytesMax: u32 = 4 << 20;
  logPreallocateBytes: u64 = 64 << 20;
  snapshotIntervalEntries: u64 = 0; // kernel/snapshot.ts; 0: no snapshots
}

// The boot area (kernel_boot): the image digest (BOOT_DIGEST_BYTES), then
// the manifest JSON the host wrote after it.
export const bootArea: usize = memory.data(<i32>BOOT_AREA_BYTES, 16);

export const config = new KernelConfig();
export let bootError: string = "";

// Send capabilities name peers that may appear later in the manifest, so
// they are resolved after every service is known.
const pendingSendFrom = new Array<u32>();
const pendingSendTo = new Array<string>();

function bounded(r: JsonReader, what: string, min: u64, max: u64): u64 {
  assert(min <= max, "bounded: an empty range");
  const v = r.readU64();
  if (r.error != null) return min;
  if (v < min || v > max) {
    bootError = "manifest: " + what + " = " + v.toString() + " is outside " + min.toString() + ".." + max.toString();
  }
  return v;
}

function readKernel(r: JsonReader): void {
  assert(bootError == "", "readKernel: read only while the manifest is valid");
  if (!r.beginObject()) return;
  for (let key = r.nextKey(); key != null && bootError == ""; key = r.nextKey()) {
    const k = key;
    if (k == "message_slots") config.messageSlots = <u32>bounded(r, "kernel.message_slots", MESSAGE_SLOTS_MIN, MESSAGE_SLOTS_MAX);
    else if (k == "message_bytes_max") config.messageBytesMax = <u32>bounded(r, "kernel.message_bytes_max", MESSAGE_BYTES_MIN, MESSAGE_BYTES_MAX);
    else if (k == "queue_depth") config.queueDepth = <u32>bounded(r, "kernel.queue_depth", QUEUE_DEPTH_MIN, QUEUE_DEPTH_MAX);
    else if (k == "timers_max") config.timersMax = <u32>bounded(r, "kernel.timers_max", TIMERS_MIN, TIMERS_MAX);
    else if (k == "requests_in_flight_max") config.requestsInFlightMax = <u32>bounded(r, "kernel.requests_in_flight_max", REQUESTS_IN_FLIGHT_MIN, REQUESTS_IN_FLIGHT_MAX);
    else if (k == "batch_bytes_max") config.batchBytesMax = <u32>bounded(r, "kernel.batch_bytes_max", BATCH_BYTES_MIN, BATCH_BYTES_MAX);
    else if (k == "log_preallocate_bytes") config.logPreallocateBytes = bounded(r, "kernel.log_preallocate_bytes", 0, LOG_PREALLOCATE_BYTES_MAX);
    else if (k == "snapshot_interval_entries") config.snapshotIntervalEntries = bounded(r, "kernel.snapshot_interval_entries", 0, SNAPSHOT_INTERVAL_ENTRIES_MAX);
    else bootError = "manifest: unknown field kernel." + k;
  }
}

function readCaps(r: JsonReader, s: Service, name: string): void {
  assert(s.index < serviceCount, "readCaps: capabilities of a service in the table");
  if (!r.beginArray()) return;
  while (r.nextItem() && bootError == "") {
    const cap = r.readString();
    if (cap == "net") s.caps |= CAP_NET;
    else if (cap == "log") s.caps |= CAP_LOG;
    else if (cap == "time") s.caps |= CAP_TIME;
    else if (cap == "random") s.caps |= CAP_RANDOM;
    else if (cap == "timer") s.caps |= CAP_TIMER;
    else if (cap == "hsm_random") hsmGrantRandom(s.index);
    else if (cap == "emit") s.caps |= CAP_EMIT;
    else if (cap == "system") s.caps |= CAP_SYSTEM; // service commands (kernel/liveload.ts)
    else if (cap == "admit") s.caps |= CAP_ADMIT; // the admission authority (kernel/admission.ts)
    else if (cap == "read") s.caps |= CAP_READ; // answers reads without a log entry (kernel/ingress.ts)
    else if (cap == "storage") s.caps |= <u32>CAP_STORAGE; // its own grid of blocks (kernel/storage.ts)
    else if (cap.startsWith("send:")) {
      pendingSendFrom.push(s.index);
      pendingSendTo.push(cap.substring(5));
    } else bootError = "manifest: service " + name + ": unknown capability \"" + cap + "\"";
  }
}

// services[].hsm_keys: the HSM key labels the service may use (kernel/hsm.ts).
function readHsmKeys(r: JsonReader, s: Service, name: string): void {
  assert(s.index < serviceCount, "readHsmKeys: key labels of a service in the table");
  if (!r.beginArray()) return;
  while (r.nextItem() && bootError == "") {
    const why = hsmGrant(s.index, r.readString());
    if (why != "") bootError = "manifest: service " + name + ": hsm_keys: " + why;
  }
}

function storeName(name: string): usize {
  const bytes = String.UTF8.encode(name);
  const p = reserve(<usize>bytes.byteLength, "service names");
  assert(p != 0, "storeName: a few name bytes always fit at boot");
  memory.copy(p, changetype<usize>(bytes), bytes.byteLength);
  return p;
}

function readService(r: JsonReader, base: usize): void {
  if (!r.beginObject()) return;
  if (serviceCount >= IMAGE_SERVICES_MAX) { bootError = "manifest: more than " + IMAGE_SERVICES_MAX.toString() + " services"; return; }
  const s = serviceAdd(0, 0);
  s.fuelPerMessage = FUEL_PER_MESSAGE_DEFAULT;
  s.fuelInit = FUEL_INIT_DEFAULT;
  s.restartsMax = RESTARTS_MAX_DEFAULT;
  s.restartWindowNs = RESTART_WINDOW_MS_DEFAULT * 1000000;
  let name = "";
  for (let key = r.nextKey(); key != null && bootError == ""; key = r.nextKey()) {
    const k = key;
    if (k == "name") name = r.readString();
    else if (k == "priority") s.priority = <u32>bounded(r, "services[].priority", 0, PRIORITY_CLASSES - 1);
    else if (k == "budget") s.budget = <u32>bounded(r, "services[].budget", BUDGET_MIN, BUDGET_MAX);
    else if (k == "caps") readCaps(r, s, name);
    else if (k == "config") {
      if (r.peekKind() != JSON_OBJECT) { bootError = "manifest: services[].config must be an object"; return; }
      const start = r.position();
      r.skipValue();
      s.configAddr = base + start;
      s.configLen = r.position() - start;
    }
    else if (k == "memory_pages_max") s.memoryPagesMax = <u32>bounded(r, "services[].memory_pages_max", MEMORY_PAGES_MIN, MEMORY_PAGES_MAX);
    else if (k == "fuel_per_message") s.fuelPerMessage = bounded(r, "services[].fuel_per_message", FUEL_MIN, FUEL_MAX);
    else if (k == "fuel_init") s.fuelInit = bounded(r, "services[].fuel_init", FUEL_MIN, FUEL_MAX);
    else if (k == "restarts_max") s.restartsMax = <u32>bounded(r, "services[].restarts_max", 0, RESTARTS_MAX);
    else if (k == "restart_window_ms") s.restartWindowNs = bounded(r, "services[].restart_window_ms", RESTART_WINDOW_MS_MIN, RESTART_WINDOW_MS_MAX) * 1000000;
    else if (k == "module") r.skipValue();
    else if (k == "hsm_keys") readHsmKeys(r, s, name);
    else bootError = "manifest: unknown field services[]." + k;
  }
  if (bootError != "") return;
  if (name.length == 0 || name.length > 32) { bootError = "manifest: a service has no valid name"; return; }
  const utf8 = String.UTF8.byteLength(name);
  const nameAddr = storeName(name);
  if (serviceFind(nameAddr, <u32>utf8) != NO_SERVICE) { bootError = "manifest: duplicate service " + name; return; }
  s.nameAddr = nameAddr;
  s.nameLen = <u32>utf8;
  if (s.budget == 0) s.budget = 16;
  assert(s.priority < PRIORITY_CLASSES && s.budget >= BUDGET_MIN && s.budget <= BUDGET_MAX, "readService: a valid service is scheduled within bounds");
}

function resolvePeers(): void {
  for (let i = 0; i < pendingSendFrom.length && bootError == ""; i++) {
    const peerName = pendingSendTo[i];
    const bytes = String.UTF8.encode(peerName);
    const peer = serviceFind(changetype<usize>(bytes), <u32>bytes.byteLength);
    const from = service(pendingSendFrom[i]);
    if (peer == NO_SERVICE) bootError = "manifest: capability send:" + peerName + " names no service";
    else if (peer == from.index) bootError = "manifest: a service may not send to itself (send:" + peerName + ")";
    else {
      assert(peer < serviceCount && from.index < serviceCount, "resolvePeers: a send capability between services in the table");
      from.sendMask |= <u64>1 << <u64>peer;
    }
  }
}

// Parses the manifest at base/len. Returns false with bootError set.
// The one service with capability "admit", if any (kernel/admission.ts).
export let admissionAuthority: u32 = NO_SERVICE;

function findAdmissionAuthority(): void {
  for (let i: u32 = 0; i < serviceCount; i++) {
    if (!hasCap(service(i), CAP_ADMIT)) continue;
    if (admissionAuthority != NO_SERVICE) { bootError = "manifest: capability admit is given to more than one service"; return; }
    if (!hasCap(service(i), CAP_NET)) { bootError = "manifest: the service with capability admit needs net"; return; }
    admissionAuthority = i;
  }
  assert(bootError != "" || admissionAuthority == NO_SERVICE || hasCap(service(admissionAuthority), CAP_NET), "findAdmissionAuthority: the authority takes network frames");
}

// A block travels in one message both ways (hal/devices/grid.ts).
function storageNeedsLargerMessages(): bool {
  for (let i: u32 = 0; i < serviceCount; i++) {
    if ((service(i).caps & <u32>CAP_STORAGE) != 0) return config.messageBytesMax < <u32>(BLOCK_MSG_HEADER_BYTES + GRID_BLOCK_BYTES);
  }
  return false;
}

export function parseManifest(base: usize, len: u32): bool {
  assert(!isSealed() && serviceCount == 0, "parseManifest: read once at boot, before the allocator is sealed");
  const r = new JsonReader(base, len);
  if (!r.beginObject()) { bootError = "manifest: not a JSON object"; return false; }
  for (let key = r.nextKey(); key != null && bootError == ""; key = r.nextKey()) {
    const k = key;
    if (k == "kernel") readKernel(r);
    else if (k == "services") {
      if (!r.beginArray()) break;
      while (r.nextItem() && bootError == "") readService(r, base);
    } else if (k == "name" || k == "version" || k == "description" || k == "gateway" || k == "audit" || k == "storage" || k == "fix") r.skipValue(); // audit: the host passes the interval (audit_configure); storage: encryption at rest is the host's (host/datakey.ts); fix: the host's FIX acceptor (host/fix/config.ts)
    else bootError = "manifest: unknown field " + k;
  }
  if (bootError == "" && r.error != null) bootError = "manifest: " + r.error!;
  if (bootError == "" && !r.finish()) bootError = "manifest: " + (r.error != null ? r.error! : "trailing data");
  if (bootError == "") resolvePeers();
  if (bootError == "" && serviceCount == 0) bootError = "manifest: no services";
  if (bootError == "") findAdmissionAuthority();
  if (bootError == "" && storageNeedsLargerMessages()) {
    bootError = "manifest: a service with capability storage needs kernel.message_bytes_max of at least " + (BLOCK_MSG_HEADER_BYTES + GRID_BLOCK_BYTES).toString() + " (a block and its header)";
  }
  if (bootError == "" && <u64>config.messageBytesMax + ENTRY_HEADER_BYTES + 8 > <u64>config.batchBytesMax) {
    bootError = "manifest: kernel.batch_bytes_max must exceed message_bytes_max plus one entry header";
  }
  assert(bootError != "" || (serviceCount >= 1 && serviceCount <= IMAGE_SERVICES_MAX), "parseManifest: a valid manifest has 1..IMAGE_SERVICES_MAX services");
  return bootError == "";
}
