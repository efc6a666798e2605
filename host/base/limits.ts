// host/base/limits.ts: every limit the host enforces, in one place, each with why.
//
// The bounds a manifest is held to are shared with the kernel, which checks
// the manifest again at boot (KERR_MANIFEST): they live in hal/limits.ts and
// are re-exported here, never retyped; this file adds the limits only the
// host has. The manifest limits are the host's first line, so a bad image is
// refused by `qenex build` and by the loader before anything is instantiated.
//
// Names say their unit last. Relations between limits are asserted at the
// bottom of this file (checkLimits): `make build` runs it, and it runs again
// at import, so an inconsistent edit fails the build, not the first unlucky
// boot.

import { FRAME_BODY_BYTES_MAX, SERVICE_NAME_BYTES_MAX } from '../../hal/abi.ts';
import {
  SERVICES_MAX, IMAGE_SERVICES_MAX, PRIORITY_MAX, BUDGET_MIN, BUDGET_MAX, MEMORY_PAGES_MIN, MEMORY_PAGES_MAX,
  MESSAGE_SLOTS_MIN, MESSAGE_SLOTS_MAX, MESSAGE_BYTES_MIN, MESSAGE_BYTES_MAX, QUEUE_DEPTH_MIN, QUEUE_DEPTH_MAX,
  TIMERS_MIN, TIMERS_MAX, REQUESTS_IN_FLIGHT_MIN, REQUESTS_IN_FLIGHT_MAX, BATCH_BYTES_MIN, BATCH_BYTES_MAX,
  LOG_PREALLOCATE_BYTES_MAX, SNAPSHOT_INTERVAL_ENTRIES_MAX, FUEL_MIN, FUEL_MAX, FUEL_PER_MESSAGE_DEFAULT, FUEL_INIT_DEFAULT,
  RESTARTS_MAX, RESTARTS_MAX_DEFAULT, RESTART_WINDOW_MS_MIN, RESTART_WINDOW_MS_MAX, RESTART_WINDOW_MS_DEFAULT,
} from '../../hal/limits.ts';

export {
  SERVICES_MAX, IMAGE_SERVICES_MAX, PRIORITY_MAX, BUDGET_MIN, BUDGET_MAX, MEMORY_PAGES_MIN, MEMORY_PAGES_MAX,
  MESSAGE_SLOTS_MIN, MESSAGE_SLOTS_MAX, MESSAGE_BYTES_MIN, MESSAGE_BYTES_MAX, QUEUE_DEPTH_MIN, QUEUE_DEPTH_MAX,
  TIMERS_MIN, TIMERS_MAX, REQUESTS_IN_FLIGHT_MIN, REQUESTS_IN_FLIGHT_MAX, BATCH_BYTES_MIN, BATCH_BYTES_MAX,
  LOG_PREALLOCATE_BYTES_MAX, SNAPSHOT_INTERVAL_ENTRIES_MAX, FUEL_MIN, FUEL_MAX, FUEL_PER_MESSAGE_DEFAULT, FUEL_INIT_DEFAULT,
  RESTARTS_MAX, RESTARTS_MAX_DEFAULT, RESTART_WINDOW_MS_MIN, RESTART_WINDOW_MS_MAX, RESTART_WINDOW_MS_DEFAULT,
};

// ---- cluster (host/cluster/) ----

// Room a log stream message's headers take beside its batch within the NATS
// servers' max_payload: the headers of host/cluster/protocol.ts are under
// 200 bytes; 4 KiB leaves room for what NATS adds (message id, expected
// sequence) many times over. A node whose batch_bytes_max and this exceed
// max_payload is refused when it joins.
export const CLUSTER_HEADERS_BYTES_MAX = 4096;

// ---- image file (.qxi), see host/image.ts ----

// 256 MiB. An image holds one kernel and at most SERVICES_MAX service
// modules; today they are each well under 1 MiB. 256 MiB leaves two orders of
// magnitude of room while keeping a whole image comfortably in memory (the
// loader reads it at once and hashes every byte before trusting any), and it
// keeps every offset in a u32 field of the format.
export const IMAGE_BYTES_MAX = 256 * 1024 * 1024;

// The section table has at most 64 entries: manifest + kernel + one per
// service (SERVICES_MAX) still leaves room for later sections (config,
// initial snapshot) without a format change. The table is read in one bounded
// loop, so this also bounds the parser's work before any digest is checked.
export const IMAGE_SECTIONS_MAX = 64;

// manifest + kernel + at least one service: an image that runs nothing is a
// mistake, not a configuration.
export const IMAGE_SECTIONS_MIN = 3;

// Section names are "manifest", "kernel" or "service:<name>". "service:"
// plus SERVICE_NAME_BYTES_MAX is 40 bytes; 64 gives room for later kinds
// ("config:<name>") and keeps a table entry a fixed, small size.
export const SECTION_NAME_BYTES_MAX = 64;

// At most 8 signatures: enough for a key rotation (old + new key), one key
// per algorithm during the move to post-quantum signatures (Ed25519,
// ECDSA P-384 from the HSM, ML-DSA-65) and a release co-signer, while keeping
// verification work small and bounded for every boot.
export const IMAGE_SIGNATURES_MAX = 8;

// 4 KiB per signature: the largest planned algorithm, ML-DSA-65, has
// 3309-byte signatures; Ed25519 has 64 and DER-encoded ECDSA P-384 at most 104.
export const SIGNATURE_BYTES_MAX = 4096;

// Manifest JSON: 1 MiB less 32 bytes, because the kernel's boot area
// (kernel/base/constants.ts BOOT_AREA_BYTES, 1 MiB) holds the 32-byte image digest
// and then the manifest. A full manifest (SERVICES_MAX services, each with
// every capability and a small config) is a few KiB; the bound also keeps a
// hostile image from making the loader parse megabytes of JSON.
export const MANIFEST_BYTES_MAX = 1024 * 1024 - 32;

// ---- manifest: image ----

// At most IMAGE_SERVICES_MAX (32) services per image (hal/limits.ts): it
// covers the planned services (ledger, gateway, payments, trading,
// compliance, risk, audit, ...) several times over and leaves the kernel's
// table (SERVICES_MAX) room for as many loaded live. Every service is one
// section, so it must stay below IMAGE_SECTIONS_MAX - 2 (asserted below).
export const SERVICES_MIN = 1;

// Image and service names: lowercase, start with a letter, at most
// SERVICE_NAME_BYTES_MAX (32) bytes, so a name fits the wire frame's u8
// name_len field and the kernel's fixed name slots. They are also used as
// file names (build/services/<module>.wasm), so no dots or slashes.
export const SERVICE_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
export { SERVICE_NAME_BYTES_MAX };

// The image version is the release number of the image, a u32 so the kernel
// can record it in a fixed field of the command log header.
export const IMAGE_VERSION_MIN = 1;
export const IMAGE_VERSION_MAX = 0xffffffff;

// ---- manifest: kernel section (the bounds themselves: hal/limits.ts) ----

// message_slots * message_bytes_max is reserved in kernel memory at boot.
// Kernel memory is a wasm32 memory (at most 4 GiB), and the kernel's
// allocator gives one block of at most 1 GiB; half of that leaves room for
// the per-slot bookkeeping, rings, log buffers and tables beside the pool.
export const MESSAGE_POOL_BYTES_MAX = 512 * 1024 * 1024;

// A command-log batch must hold at least one whole message plus the batch and
// entry headers (BATCH_OVERHEAD_BYTES, generously rounded up to one page), or
// a maximum-size message could never be logged. At least 64 KiB, the kernel's
// floor, so a batch amortises one fdatasync over many small messages; 64 MiB
// bounds the group-commit buffers, which are allocated once at boot.
export const BATCH_OVERHEAD_BYTES = 4096;

// ---- module signatures (host/modsig.ts: live-loaded service modules) ----

// Signatures per file: two algorithms, a few key sets during a rotation.
export const MODULE_SIGNATURES_MAX = 8;
// The largest signature file: MODULE_SIGNATURES_MAX ML-DSA-65 signatures
// (3309 bytes each, the largest algorithm we sign with) and their headers.
export const MODULE_SIGNATURE_BYTES_MAX = 12 + MODULE_SIGNATURES_MAX * (20 + 3309);

// ---- manifest: services ----

// Capabilities per service: the five plain ones plus one "send:" per other
// service. Duplicates are refused, so this bound can never be exceeded by a
// valid manifest; it exists so the validator's loop is bounded before it
// looks at duplicates.
export const SERVICE_CAPS_MAX = 5 + IMAGE_SERVICES_MAX;

// A service's "config" object is opaque to the host and the kernel; the kernel
// hands its JSON to the service at init (e.g. the ledger's table sizes). The
// kernel's JSON reader nests at most 64 levels and the config sits 3 levels
// down, so 32 levels is safe and far more than any config needs.
export const SERVICE_CONFIG_DEPTH_MAX = 32;

// An optional one-line human description of the image; 1 KiB is plenty, and
// it is only ever shown, never interpreted.
export const DESCRIPTION_BYTES_MAX = 1024;

// The largest asset scale a ledger may have (host/gateway/ledger-json.ts):
// 10^38 minor units (one whole unit) still fit a u128; 10^39 do not.
export const ASSET_SCALE_MAX = 38;
// Ledgers the edge knows asset scales for; a ledger id is a u32, but an
// image with more than a few thousand currencies or assets is a mistake.
export const GATEWAY_LEDGERS_MAX = 4096;
// Audit checkpoints (manifest audit.checkpoint_interval, in log entries). At
// least 2: a checkpoint is itself an entry, so an interval of 1 would seal
// checkpoints of checkpoints forever.
export const AUDIT_CHECKPOINT_INTERVAL_MIN = 2;
export const AUDIT_CHECKPOINT_INTERVAL_MAX = 1_000_000_000;

// ---- net device ----

// Open client connections. Each costs a socket and a parser buffer; beyond
// this the listener refuses new ones instead of slowing everyone down.
export const NET_CONNECTIONS_MAX = 1024;
// Frame bytes received but not yet handed to the kernel (all connections).
// Past it the host stops reading sockets (TCP backpressure) until the kernel
// takes frames; 64 MiB holds 64 full-size frames.
export const NET_PENDING_BYTES_MAX = 64 * 1024 * 1024;
// Frames one connection may have waiting before its socket is paused, so one
// client pipelining thousands of requests can't crowd out the others.
export const NET_PENDING_FRAMES_PER_CONNECTION_MAX = 256;
// Completion events (closed connections) held while the kernel's CQ is full.
export const NET_COMPLETIONS_HELD_MAX = 65536;
// Connections from one client address. A busy integration keeps a pool of
// 16-64; 128 leaves room for that while one address can hold at most an
// eighth of the table.
export const NET_CONNECTIONS_PER_SOURCE_MAX = 128;
// Connections kept for addresses that hold none: once the table is this
// close to full, an address that already has a connection gets no more, so
// a new client (an operator's probe, a failed-over client) still gets in
// while another address hoards idle sockets.
export const NET_CONNECTIONS_RESERVE = 64;
// A request (HTTP head and body, a frame) must arrive within this time of its
// first byte, a new connection must send its first bytes within it, and a TLS
// handshake must finish within it; else the connection is refused (408 for
// HTTP) and closed. 10 s is far above what a 16 MiB body needs on any link we
// serve, and bounds how long a trickling client (slowloris) holds a slot.
export const NET_REQUEST_TIMEOUT_MS = 10_000;
// A keep-alive HTTP connection with nothing in flight is closed after this
// (common proxies use 30-60 s). Event streams are never idle: they get a
// heartbeat (host/gateway/events.ts) well within it.
export const NET_HTTP_IDLE_MS = 60_000;
// A binary connection with nothing in flight is closed after this; client
// libraries reconnect (host/client/frames.ts), and an idle socket no longer
// holds a slot for good.
export const NET_FRAMES_IDLE_MS = 120_000;
// A connection the host ends (a refusal, a timeout) is destroyed this long
// after, whether or not the peer closed its side: a peer that never does
// must not keep the slot in FIN-WAIT-2.
export const NET_CLOSE_GRACE_MS = 2_000;
// Reply bytes a connection may have waiting to be sent before the host stops
// reading its requests (the client is not reading its answers: 30,000
// pipelined requests once grew the process by 640 MiB). A little over one
// largest reply, so a big answer alone does not stall the connection.
export const NET_UNSENT_BYTES_MAX = 2 * 1024 * 1024;
// A connection whose unsent bytes stay above NET_UNSENT_BYTES_MAX this long is
// closed: its client has stopped reading.
export const NET_WRITE_STALL_MS = NET_REQUEST_TIMEOUT_MS;

// ---- run loop ----

// Kernel actions handled in one turn of the event loop before the host
// yields to sockets and timers (a bound, not a scheduling decision: the
// kernel's order is kept, only its pace is cut into turns).
export const RUN_ACTIONS_PER_TURN_MAX = 65536;
// Wall time one turn may run kernel actions before the host yields, checked
// every RUN_TURN_CHECK_ACTIONS actions (outside the simulator, whose devices
// are not the event loop's). A ledger on its grid may run seconds of work
// back to back (several batches in flight, each with its block deliveries);
// without this a client's half-received frame sat that long in the socket
// and was cut off (net.ts frame_timeout, REQUEST_TIMEOUT_MS) though every
// byte had arrived. Well under the net device's timeouts.
export const RUN_TURN_MS_MAX = 50;
export const RUN_TURN_CHECK_ACTIONS = 16;

// ---- supervision and fuel (host/fuel.ts, host/services.ts; kernel/base/constants.ts) ----

// Fuel per message and for qx_init, in units of one function entry or loop
// iteration. The kernel has the same bounds and defaults (FUEL_*). 2^50 keeps
// the i64 counter far from overflow; 2^30 per message is about a second of a
// tight loop while the largest ledger batch uses well under 1% of it.
// Restarts allowed within a window of logical time before a service is
// marked failed; 1000 bounds the restore work a faulty service can cause.
// A restore point (copy of a service's memory and globals) is taken when the
// journal of messages handled since the last one outgrows the service's
// memory, or this many bytes, whichever is larger: the copies then cost at
// most about as much as journaling the input did.
export const SERVICE_JOURNAL_BYTES_MIN = 16 * 1024 * 1024;
// ... but never more than 256 MiB of journal per service, so a service with
// a very large memory is copied more often rather than the host holding
// gigabytes of journal.
export const SERVICE_JOURNAL_BYTES_MAX = 256 * 1024 * 1024;
// ... or holds this many messages (bounds the per-message bookkeeping).
export const SERVICE_JOURNAL_MESSAGES_MAX = 65536;
// Prepared (instrumented) modules kept in memory, keyed by their bytes:
// a machine has at most SERVICES_MAX; tests boot several per process.
export const PREPARED_MODULES_CACHED_MAX = 64;

// ---- the command log's segments, see host/devices/segmented-log.ts ----

// 256 MiB: `qenex log archive` moves whole segments, so this is the grain
// of what can leave a data directory; a busy bank's day of log is a few of
// them, and a segment copied, fsynced and read back by the archive stays a
// few seconds of I/O. It equals the images' log_preallocate_bytes, so a
// preallocation step is one segment, not many small files.
export const LOG_SEGMENT_BYTES_DEFAULT = 2 ** 28;

// 4 KiB, one encrypted sector: tests use segments this small so that a short
// run crosses dozens of boundaries; smaller would only make more files.
export const LOG_SEGMENT_BYTES_MIN = 2 ** 12;

// 1 TiB: offsets stay exact integers, and an encrypted segment (about twice
// its bytes on disk) ends far below 2^53. A log from before segments that is
// longer than the wanted size takes the next power of two up to this.
export const LOG_SEGMENT_BYTES_MAX = 2 ** 40;

// ---- ISO 20022 XML reader (host/payments/xml.ts) ----

// The reader only sees documents the XSD admission check (libxml2) has
// accepted, so these bounds are its second line, not the validator: they
// keep a document that slipped past from costing more than a bounded amount
// of memory and work: any message the admission takes (ISO_MESSAGE_BYTES_MAX).
export const XML_DOCUMENT_BYTES_MAX = 8 * 1024 * 1024;
// The deepest ISO 20022 path we read (Document/.../TxDtls/RltdPties/Dbtr/Pty/
// Id/OrgId/Othr/SchmeNm/Cd) is 14 levels; a FedNow or SWIFT envelope adds
// three. 64 leaves room without letting a nesting attack grow the stack.
export const XML_DEPTH_MAX = 64;
// Elements per document: every element of a pretty-printed ISO 20022
// message takes 20 bytes or more (name twice, brackets, indentation), so a
// largest document has well under 2^19; the bound keeps the tree's memory
// proportional to the bytes even for `<a/><a/>...`.
export const XML_ELEMENTS_MAX = 524288;
// ISO 20022 elements carry one attribute (Ccy) at most; namespace
// declarations and xsi:schemaLocation on a root make a few more.
export const XML_ATTRIBUTES_MAX = 16;
// The longest ISO 20022 element name is under 40 characters; a prefix adds
// a few.
export const XML_NAME_CHARS_MAX = 128;

// ---- SWIFT FIN messages (MT103), see host/payments/fin.ts ----

// 10,000 characters: SWIFT's own ceiling for the text block (block 4) of a
// user-to-user FIN message, so no MT103 the network carries is longer.
export const MT_TEXT_BLOCK_CHARS_MAX = 10_000;

// 12 KiB for a whole request body: the largest text block, plus headers
// (block 1 is 25 characters, block 2 at most 47, a full block 3 a few
// hundred), an optional network ACK in front (RJE logs keep it, under 100
// characters) and a trailer. The bound is checked before a single block is
// read, so a hostile body costs at most one linear pass over 12 KiB.
export const MT_MESSAGE_BYTES_MAX = 12 * 1024;

// ---- ISO 20022 admission, see host/payments/xsd.ts and host/native/src/xml.rs ----

// 8 MiB per message body: a pain.001 of 10,000 transactions (services/payments
// TX_MAX) of up to ~800 bytes each; such a message goes to the payments
// service in parts (services/payments/protocol.ts "message_part"). The
// samples we know are 3-8 KB. libxml2 holds a parsed document in memory at
// about ten times its bytes, so a body costs at most ~80 MiB while it is
// checked, and only an admitted key can send one.
export const ISO_MESSAGE_BYTES_MAX = 8 * 1024 * 1024;
// Elements nested at most 64 deep. An ISO 20022 Document nests about 12
// (camt.053's Ntry/NtryDtls/TxDtls/RltdPties/...), a wrapper adds 1-3 (FedNow
// puts AppHdr and Document three elements down). Below libxml2's own limit
// of 256, so our refusal, with its line, is the one a sender reads.
export const ISO_ELEMENT_DEPTH_MAX = 64;
// A refusal lists at most 20 errors, then counts the rest: enough to fix a
// message, and a message with thousands of errors costs no more to report.
export const ISO_ERRORS_MAX = 20;
// libxml2's parser stops nesting at this depth unless asked for more (we never ask).
export const LIBXML2_DEPTH_MAX = 256;

// ---- sanctions lists, see host/compliance/lists.ts and names.ts ----

// One list file (OFAC's sdn.csv, alt.csv, add.csv, sdn_comments.csv): the
// legacy CSV of 2021 is 2 MB for sdn.csv and OFAC's newest about 4 MiB, so
// 64 MiB is room for a decade of growth while a hostile file is refused
// before a byte of it is parsed. (The UN's XML goes through the XML reader,
// XML_DOCUMENT_BYTES_MAX: 8 MiB against its 2 MB.)
export const LIST_FILE_BYTES_MAX = 64 * 1024 * 1024;
// Entries of one list: OFAC's SDN list had 8,976 in 2021 and about 18,000
// in 2025, the UN's about 1,000; 200,000 is the order of every list of the
// world together.
export const LIST_ENTRIES_MAX = 200_000;
// Names of one entry (its primary name and aliases): the most in these files
// is a few dozen; 1,024 keeps one entry from carrying a whole list.
export const LIST_NAMES_PER_ENTRY_MAX = 1024;
// Addresses of one entry (OFAC lists a few dozen at most).
export const LIST_ADDRESSES_PER_ENTRY_MAX = 4096;
// One CSV field, in characters: OFAC cuts Remarks at 1,000 and its comments
// file holds the rest (a few thousand); 64 KiB is far above any real field.
export const LIST_FIELD_CHARS_MAX = 64 * 1024;
// A name to screen (POST /v1/screening/search): 512 characters, several
// times the longest name the lists hold (under 200); a longer one is no
// one's name and is refused rather than normalised.
export const SCREEN_NAME_CHARS_MAX = 512;
// A compliance report (GET /v1/compliance/reports) is built in the gateway's
// memory and signed whole: 100,000 alerts and decisions is about 60 MB of
// JSON, a month of a busy bank's holds and alerts; a longer period is asked
// for in parts rather than held at once.
export const REPORT_RECORDS_MAX = 100_000;
// The name normaliser reads at most this many UTF-16 units of a name, so a
// huge string costs a bounded amount of work; a list's longest name is a few
// hundred characters and the normalised form keeps 104 bytes of it anyway.
export const NAME_INPUT_CHARS_MAX = 4096;

// ---- relations, checked once at import ----

function assertLimit(condition: boolean, what: string): void {
  if (!condition) throw new Error(`host/base/limits.ts: inconsistent limits: ${what}`);
}

/** Asserts how the limits relate; runs at import and is called by a test. */
export function checkLimits(): void {
  assertLimit(IMAGE_BYTES_MAX <= 0xffffffff, 'IMAGE_BYTES_MAX must fit a u32 offset');
  assertLimit(IMAGE_SERVICES_MAX + 2 <= IMAGE_SECTIONS_MAX, 'each service needs a section');
  assertLimit(IMAGE_SERVICES_MAX <= SERVICES_MAX, 'an image\'s services fit the kernel\'s table');
  assertLimit(SERVICES_MAX <= 64, 'a u64 bit set names every peer');
  assertLimit(MESSAGE_BYTES_MAX === FRAME_BODY_BYTES_MAX, 'a client request is delivered as one message');
  assertLimit(MESSAGE_SLOTS_MAX <= 65536 && QUEUE_DEPTH_MAX <= 65536 && REQUESTS_IN_FLIGHT_MAX <= 65535, 'u16 indices');
  assertLimit(SNAPSHOT_INTERVAL_ENTRIES_MAX <= Number.MAX_SAFE_INTEGER && RESTART_WINDOW_MS_MAX * 1e6 < 2 ** 63, 'exact in a number and an i64 of ns');
  assertLimit(IMAGE_SECTIONS_MAX <= 0xffff, 'section count is a u16');
  assertLimit(IMAGE_SIGNATURES_MAX <= 0xffff, 'signature count is a u16');
  assertLimit(SIGNATURE_BYTES_MAX <= 0xffff, 'signature length is a u16');
  assertLimit(SECTION_NAME_BYTES_MAX <= 0xff, 'section name length is a u8');
  assertLimit('service:'.length + SERVICE_NAME_BYTES_MAX <= SECTION_NAME_BYTES_MAX, 'service section names must fit');
  assertLimit(MANIFEST_BYTES_MAX < IMAGE_BYTES_MAX, 'the manifest is part of the image');
  assertLimit(MESSAGE_BYTES_MIN <= MESSAGE_BYTES_MAX, 'message size range');
  assertLimit(MESSAGE_BYTES_MAX <= FRAME_BODY_BYTES_MAX, 'a message is at most one frame body');
  assertLimit(MESSAGE_BYTES_MAX + BATCH_OVERHEAD_BYTES <= BATCH_BYTES_MAX, 'a largest message fits a batch');
  assertLimit(BATCH_BYTES_MIN <= BATCH_BYTES_MAX, 'batch size range');
  assertLimit(MESSAGE_SLOTS_MIN * MESSAGE_BYTES_MIN <= MESSAGE_POOL_BYTES_MAX, 'a smallest pool fits');
  assertLimit(LOG_PREALLOCATE_BYTES_MAX <= Number.MAX_SAFE_INTEGER, 'exact in a number');
  assertLimit(MEMORY_PAGES_MAX <= 65536, 'wasm32 memory is at most 65536 pages');
  assertLimit(FUEL_PER_MESSAGE_DEFAULT <= FUEL_MAX && FUEL_INIT_DEFAULT <= FUEL_MAX, 'fuel defaults within range');
  assertLimit(FUEL_MAX <= Number.MAX_SAFE_INTEGER, 'fuel exact in a number');
  assertLimit(RESTARTS_MAX_DEFAULT <= RESTARTS_MAX, 'restart default within range');
  assertLimit(SERVICE_JOURNAL_BYTES_MIN <= SERVICE_JOURNAL_BYTES_MAX, 'journal bounds');
  assertLimit(NET_CONNECTIONS_RESERVE < NET_CONNECTIONS_MAX && NET_CONNECTIONS_PER_SOURCE_MAX <= NET_CONNECTIONS_MAX - NET_CONNECTIONS_RESERVE,
    'one address can never take the reserve');
  assertLimit(NET_REQUEST_TIMEOUT_MS < NET_HTTP_IDLE_MS && NET_REQUEST_TIMEOUT_MS < NET_FRAMES_IDLE_MS, 'idle timeouts exceed the request timeout');
  assertLimit(NET_UNSENT_BYTES_MAX > FRAME_BODY_BYTES_MAX, 'a largest reply alone does not stall a connection');
  const powerOfTwo = (n: number) => Number.isInteger(Math.log2(n));
  assertLimit(powerOfTwo(LOG_SEGMENT_BYTES_MIN) && powerOfTwo(LOG_SEGMENT_BYTES_DEFAULT) && powerOfTwo(LOG_SEGMENT_BYTES_MAX), 'log segments are powers of two');
  assertLimit(LOG_SEGMENT_BYTES_MIN <= LOG_SEGMENT_BYTES_DEFAULT && LOG_SEGMENT_BYTES_DEFAULT <= LOG_SEGMENT_BYTES_MAX, 'log segment size range');
  assertLimit(LOG_SEGMENT_BYTES_MAX * 4 <= Number.MAX_SAFE_INTEGER, 'an encrypted segment\'s file offsets stay exact');
  assertLimit(XML_DOCUMENT_BYTES_MAX >= ISO_MESSAGE_BYTES_MAX, 'the XML reader takes any message the admission takes');
  assertLimit(XML_ELEMENTS_MAX * 20 >= XML_DOCUMENT_BYTES_MAX, 'a largest ISO 20022 document (20 bytes or more per element) stays under the element bound');
  assertLimit(MT_TEXT_BLOCK_CHARS_MAX + 1024 <= MT_MESSAGE_BYTES_MAX, 'a largest MT text block fits a request with its headers and an ACK');
  assertLimit(ISO_MESSAGE_BYTES_MAX <= 2 ** 31 - 1, 'libxml2 takes a message\'s length as an int');
  assertLimit(ISO_ELEMENT_DEPTH_MAX >= 16 && ISO_ELEMENT_DEPTH_MAX < LIBXML2_DEPTH_MAX, 'every ISO message fits, and our depth refusal comes before libxml2\'s');
  assertLimit(ISO_ERRORS_MAX >= 1 && ISO_ERRORS_MAX <= 1000, 'a refusal names at least one error and stays short');
}

checkLimits();
