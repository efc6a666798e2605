// hal/abi.ts: the one home of the contract between the kernel and the host.
//
// This file is compiled twice: by AssemblyScript into kernel.wasm and by
// esbuild/tsc into the host. It therefore holds only integer constants that
// fit in an i32, written as plain literals, so both languages read the same
// values. Nothing here is retyped by hand on either side.
//
// # Rings
//
// Every device has two rings in kernel memory, virtio-style:
//   SQ (submission): the kernel produces descriptors, the host consumes them.
//   CQ (completion): the host produces descriptors, the kernel consumes them.
//
// Ring header (RING_HEADER_BYTES), followed by `capacity` descriptors:
//   +0  u32 head      producer index (free running, wraps at 2^32)
//   +4  u32 tail      consumer index (free running)
//   +8  u32 capacity  number of descriptors, a power of two
//   +12 u32 reserved
// A ring is empty when head == tail and full when head - tail == capacity.
// Slot of index i is (i & (capacity - 1)).
//
// Descriptor (DESC_BYTES):
//   +0  u16 op        one of the OP_* values of the device
//   +2  u16 flags     DESC_F_* bits
//   +4  i32 status    completion status (0 ok, negative = STATUS_E_*)
//   +8  u32 tag       chosen by the kernel, echoed in the completion
//   +12 u32 len       bytes in the buffer (request) or transferred (completion)
//   +16 u32 addr      address of the buffer in kernel memory
//   +20 u32 cap       capacity of the buffer at addr
//   +24 u64 arg       device argument: byte offset (block), connection id (net)
//
// # Device table
//
// `hal_table()` (a kernel export) returns the address of the device table:
// DEVICE_COUNT entries of DEVICE_ENTRY_BYTES, each { u32 sq, u32 cq } ring
// addresses (0 = no ring), followed at HAL_REGS_OFFSET by the registers.
//
// Registers (offsets from hal_table() + HAL_REGS_OFFSET):
//   REG_CLOCK_NS       u64  host writes wall-clock time (ns since epoch)
//                           before every kernel_run / kernel_interrupt
//   REG_DEADLINE_NS    u64  kernel writes the earliest timer deadline
//                           (0 = none); the host wakes it then
//   REG_STATE          u32  kernel state, KSTATE_*
//   REG_ERROR          u32  error code when KSTATE_FAILED
//   REG_DISPATCH_*          the message the host must deliver on ACT_CALL
//
// # Run loop contract
//
// The host calls kernel_run() until it returns ACT_IDLE, servicing each
// ACT_CALL by copying the message into the named service and calling its
// qx_handle. After ACT_IDLE the host consumes every SQ, performs the I/O,
// posts completions to the CQs and calls kernel_interrupt(irq bits). The host
// never decides what runs next; it only follows the actions.

// ---- ring layout ----
export const RING_HEADER_BYTES = 16;
export const RING_HEAD = 0;
export const RING_TAIL = 4;
export const RING_CAPACITY = 8;

export const DESC_BYTES = 32;
export const DESC_OP = 0;
export const DESC_FLAGS = 2;
export const DESC_STATUS = 4;
export const DESC_TAG = 8;
export const DESC_LEN = 12;
export const DESC_ADDR = 16;
export const DESC_CAP = 20;
export const DESC_ARG = 24;

export const DESC_F_FLUSH = 1; // block write: make durable (fdatasync) before completing
export const DESC_F_ERROR = 2; // console: line is an error
export const DESC_F_NO_COMPLETION = 4; // net tx: the buffer is free once the host consumed the SQ entry; no TX_DONE

// ---- devices (index into the device table; also the IRQ bit number) ----
export const DEV_CONSOLE = 0;
export const DEV_CLOCK = 1;
export const DEV_ENTROPY = 2;
export const DEV_BLOCK = 3;
export const DEV_NET = 4;
export const DEVICE_COUNT = 7; // 5 (DEV_HSM) and 6 (DEV_EVENTS) follow below
export const DEVICE_ENTRY_BYTES = 8;
export const HAL_REGS_OFFSET = 64;

export const IRQ_CONSOLE = 1; // 1 << DEV_CONSOLE
export const IRQ_CLOCK = 2;
export const IRQ_ENTROPY = 4;
export const IRQ_BLOCK = 8;
export const IRQ_NET = 16;
export const DEV_HSM = 5; // HSM (issue 7): key operations for services granted a key label; see the HSM section below
export const IRQ_HSM = 32;
export const DEV_EVENTS = 6; // event stream (issue 8): SQ only, records of committed transfers and checkpoints
export const IRQ_EVENTS = 64;

// ---- registers (offsets from hal_table() + HAL_REGS_OFFSET) ----
export const REG_CLOCK_NS = 0; // u64
export const REG_DEADLINE_NS = 8; // u64
export const REG_STATE = 16; // u32
export const REG_ERROR = 20; // u32
export const REG_DISPATCH_SERVICE = 24; // u32 service index
export const REG_DISPATCH_KIND = 28; // u32 MSG_KIND_*
export const REG_DISPATCH_ADDR = 32; // u32 message bytes in kernel memory
export const REG_DISPATCH_LEN = 36; // u32
export const REG_DISPATCH_SENDER = 40; // u32 service index of the sender, or SENDER_CLIENT
export const REG_DISPATCH_TOKEN = 44; // u32 reply token (0 = no reply possible)
export const REG_DISPATCH_TIME_LO = 48; // u32 low half of the message's logical time
export const REG_DISPATCH_TIME_HI = 52; // u32 high half
export const REG_ENTRIES_LO = 56; // u32 command-log entries applied (low)
export const REG_ENTRIES_HI = 60; // u32 (high)
export const HAL_REGS_BYTES = 64;

// ---- kernel states ----
export const KSTATE_COLD = 0;
export const KSTATE_RECOVERING = 1;
export const KSTATE_READY = 2;
export const KSTATE_DRAINING = 3; // shutdown requested: no new input, flushing
export const KSTATE_HALTED = 4; // clean stop
export const KSTATE_FAILED = 5; // see REG_ERROR and the console

// ---- actions returned by kernel_run() ----
export const ACT_IDLE = 0; // nothing to run: service the SQs, wait for events
export const ACT_CALL = 1; // deliver REG_DISPATCH_* to a service, then call kernel_run again
export const ACT_READY = 2; // recovery finished; report readiness, then call kernel_run again
export const ACT_HALT = 3; // stopped (cleanly or failed: see REG_STATE)

// ---- boot modes (kernel_boot argument) ----
export const BOOT_LIVE = 0; // recover, cut a torn tail, then serve
export const BOOT_REPLAY = 1; // read only: recover and halt, never write

// ---- console ----
export const OP_CON_WRITE = 1; // addr/len: one UTF-8 line (a JSON object)
export const CONSOLE_LINE_BYTES = 512;

// ---- clock ---- (no ring: the clock is the REG_CLOCK_NS register)

// ---- entropy ----
export const OP_ENT_READ = 1; // fill addr/len with random bytes
export const ENTROPY_BYTES = 32;

// ---- block ----
export const OP_BLK_READ = 1; // read up to len bytes at arg into addr; completion len = bytes read (0 = end)
export const OP_BLK_WRITE = 2; // write len bytes from addr at arg; DESC_F_FLUSH makes it durable first
export const OP_BLK_TRUNCATE = 3; // cut the device at arg bytes and make that durable
export const OP_BLK_PREALLOCATE = 4; // reserve space up to arg bytes (contents read as zero)

// ---- net ----
export const OP_NET_RX_BUF = 1; // SQ: an empty receive buffer (addr/cap) for the host to fill
export const OP_NET_TX = 2; // SQ: send len bytes at addr to connection arg; completes with the same tag
export const OP_NET_CLOSE = 3; // SQ: close connection arg after what was already sent
export const OP_NET_RX = 1; // CQ: a frame body (without its length prefix) from connection arg, in buffer tag
export const OP_NET_TX_DONE = 2; // CQ: the tx buffer with this tag is free again
export const OP_NET_CLOSED = 3; // CQ: connection arg is gone; pending replies to it are dropped

// ---- wire frames (TCP; little-endian) ----
// Every frame: u32 body_len, then body_len bytes.
// Request body: u32 request_id | u16 flags (0) | u8 name_len | u8 reserved (0) | name | payload
// Reply body:   u32 request_id | u16 status (FRAME_*) | u16 reserved (0) | payload
// An error reply carries a UTF-8 message as its payload.
export const FRAME_LEN_BYTES = 4;
export const FRAME_REQUEST_HEADER_BYTES = 8;
export const FRAME_REPLY_HEADER_BYTES = 8;
export const FRAME_BODY_BYTES_MAX = 1048576; // 1 MiB: a ledger batch of 8189 128-byte events + header
export const SERVICE_NAME_BYTES_MAX = 32;

export const FRAME_OK = 0;
export const FRAME_E_UNKNOWN_SERVICE = 1;
export const FRAME_E_TOO_LARGE = 2;
export const FRAME_E_MALFORMED = 3;
export const FRAME_E_DENIED = 4;
export const FRAME_E_BUSY = 5; // a pool or queue is full; retry later, nothing was applied
export const FRAME_E_SERVICE = 6; // the service answered with an error (payload says which)
export const FRAME_E_UNAVAILABLE = 7; // shutting down, or the service has failed
export const FRAME_E_NO_REPLY = 8; // the service finished without replying
export const FRAME_E_STORAGE = 9; // the command log could not be made durable; nothing was applied

// ---- messages as services see them (qx_handle kind) ----
export const MSG_KIND_INIT = 0; // boot: call qx_init(len) with the service's config JSON
export const MSG_KIND_REQUEST = 1; // from a network client; reply with the token
export const MSG_KIND_MESSAGE = 2; // from another service; reply with the token goes back to it
export const MSG_KIND_REPLY = 3; // a reply from a service this one sent to
export const MSG_KIND_TIMER = 4; // a timer set with qx timer() fired; payload is the u64 timer tag
export const SENDER_CLIENT = 65535;
export const SENDER_KERNEL = 65534;

// ---- syscall results (returned to services; negative = error) ----
export const SYS_OK = 0;
export const SYS_E_DENIED = -1; // capability missing; recorded by the kernel
export const SYS_E_INVALID = -2; // bad argument (length, unknown service, bad token)
export const SYS_E_FULL = -3; // a pool or queue is full
export const SYS_E_TOO_LARGE = -4; // message over the manifest's message size
export const SYS_E_CONTEXT = -5; // no message is being handled (call outside qx_handle/qx_init)

// ---- status codes in completions (negative) ----
export const STATUS_OK = 0;
export const STATUS_E_IO = -5;
export const STATUS_E_NOSPACE = -28;

// ---- kernel error codes (REG_ERROR) ----
export const KERR_NONE = 0;
export const KERR_MANIFEST = 1; // manifest rejected at boot (see console)
export const KERR_POOL = 2; // a boot-time reservation did not fit the memory limit
export const KERR_LOG_CORRUPT = 3; // an entry in the middle of the command log is corrupt
export const KERR_LOG_IMAGE = 4; // the log was written by another image
export const KERR_STORAGE = 5; // the block device failed

// ---- kernel statistics (kernel_stat(id)) ----
export const STAT_ENTRIES_APPLIED = 0;
export const STAT_BATCHES_APPLIED = 1;
export const STAT_SCHED_ROUNDS = 2;
export const STAT_SYSCALLS_DENIED = 3;
export const STAT_MSG_DESCRIPTORS_IN_USE = 4;
export const STAT_MSG_SLOTS_IN_USE = 5;
export const STAT_MSG_SLOTS_EXHAUSTED = 6;
export const STAT_CONSOLE_DROPPED = 7;
export const STAT_NET_FRAMES_DROPPED = 8;
export const STAT_CLIENT_REQUESTS_IN_FLIGHT = 9;
export const STAT_RESERVED_BYTES = 10;
export const STAT_INPUTS_WITHOUT_TOKEN = 11;
export const STAT_LOGICAL_TIME_NS = 12;

// ---- service supervision (issue 4: faults, fuel, restart policy) ----
// A trap or fuel exhaustion aborts the message being handled. The host
// reports it with kernel export service_fault(FAULT_*); the kernel answers
// the message's token, applies the service's restart policy and returns
// whether the host restores the service (1) or drops it as failed (0).
export const FRAME_E_FAULT = 10; // the service trapped or ran out of fuel handling this request; it was aborted
export const SYS_E_UNAVAILABLE = -6; // the peer service has failed (restart policy exhausted)
export const MSG_KIND_FAILED = 5; // a message this service sent was aborted by a fault in the peer; payload empty
export const FAULT_UNREACHABLE = 1; // wasm `unreachable` (an AssemblyScript abort or assertion)
export const FAULT_MEMORY = 2; // out-of-bounds memory access
export const FAULT_DIVIDE = 3; // integer divide by zero or overflow
export const FAULT_TRAP = 4; // any other trap (bad conversion, indirect call, stack overflow)
export const FAULT_FUEL = 5; // the message's fuel budget ran out
export const FAULT_RESTORE = 6; // restoring the service after a fault failed: it is marked failed
export const STAT_SERVICE_FAULTS = 13; // faults of all services
export const STAT_SERVICE_RESTARTS = 14; // restarts of all services

// ---- authenticated binary protocol (issue 8) ----
// A request frame with FRAME_F_AUTH in its flags is handled by the host and
// never reaches the kernel: its name is empty and its payload is an API key
// (what `qenex keys create` prints). The host keeps only the key's SHA-256
// for the connection and answers FRAME_OK with an empty payload; the next
// frames to the gateway service carry that hash, so the gateway service
// decides (as for HTTP's Authorization header) whether the key exists, what
// its role allows and which ledgers it may touch.
// A frame to the gateway service on a binary connection carries a ledger
// request (operation 1..6 in its first byte); the host adds the gateway
// request header (route, key hash, source address) itself, so a client can
// never write that header, and turns the gateway's reply back into a frame:
// the ledger's reply with FRAME_OK, or an error status with a message.
export const FRAME_F_AUTH = 1;
export const FRAME_AUTH_KEY_BYTES_MAX = 256;

// ---- event stream (issue 8; DEV_EVENTS) ----
// Events are outputs of the deterministic machine, like replies. A service
// with capability "emit" calls emit(type, count, ptr, len) (services/sdk/ABI.md);
// the kernel itself emits EVT_CHECKPOINT when a checkpoint entry is applied.
// The kernel numbers events with a monotonic event id (kernel state, in
// kernel_digest; replay numbers them the same) and pushes one SQ descriptor
// per record: op OP_EVT_RECORD, addr/len the record, arg its first event id.
// Record (little-endian), EVENT_RECORD_HEADER_BYTES then `count` items:
//   +0  u64 first event id   item i has id first + i (ids start at 1)
//   +8  u64 time             logical time (ns) of the message or entry
//   +16 u16 type             EVT_*
//   +18 u16 service          emitting service index (SENDER_KERNEL: the kernel)
//   +20 u32 count            items, each of item bytes = (len - 32) / count
//   +24 u32 item bytes
//   +28 u32 reserved (0)
// The host copies the record out and pops it at once (it must drain the SQ
// after every emit call and every kernel_run turn); a record that finds the
// ring or its buffer full is dropped and counted (events_dropped()), its ids
// stay used, so the host sees the gap and subscribers are told.
export const OP_EVT_RECORD = 1;
export const EVENT_RECORD_HEADER_BYTES = 32;
export const EVT_TRANSFER = 1; // items: the ledger's 128-byte transfer records as stored (timestamp set)
export const EVT_CHECKPOINT = 2; // items: checkpoint body (u64 tree size, u64 time, [32] root) + u64 entry seq
export const EVENT_TRANSFER_BYTES = 128;
export const EVENT_CHECKPOINT_BYTES = 56;
export const EVENT_ITEMS_MAX = 65535; // per record

// ---- HSM device (issue 7; DEV_HSM) ----
// A service whose manifest grants it a key label (services[].hsm_keys) asks
// for a key operation with syscall hsm(op, ptr, len) (services/sdk/ABI.md).
// The kernel checks the grant (a label not granted: SYS_E_DENIED, counted
// and printed), copies the request into one of its HSM buffers and pushes
// one SQ descriptor: op OP_HSM_*, tag the buffer, addr/len the request, cap
// the most result bytes the service can take, arg the request id (the
// syscall's positive result). The host performs it off the JS thread, writes
// the result over the request (at most cap bytes) and completes with the
// same tag: status HSM_OK and len = result bytes, or a negative HSM_E_* with
// len bytes of UTF-8 text saying why. HSM results are not deterministic
// (ECDSA is randomised; on replay there may be no HSM), so the kernel logs
// each result (an HSM entry in the command log) and only when that is
// durable delivers it, as MSG_KIND_REPLY from SENDER_KERNEL with payload
//   u32 request id | i32 status (HSM_OK or HSM_E_*) | result or error text.
// Replay delivers the logged result and never asks the host. A request whose
// result was not logged before a crash is answered HSM_E_INTERRUPTED after
// recovery (none of these operations changes the token, so a retry is safe).
// Request (little-endian), what the service passes to hsm():
//   +0 u16 label_len   1..HSM_LABEL_BYTES_MAX (0 for OP_HSM_RANDOM)
//   +2 u16 reserved    0
//   +4 label           printable ASCII (0x21..0x7e), as granted
//   then by op:                                            result:
//   OP_HSM_SIGN        data                                96-byte ECDSA P-384 r||s over SHA-384(data)
//   OP_HSM_VERIFY      u32 sig_len | sig | data            1 byte: 1 valid, 0 not
//   OP_HSM_ENCRYPT     iv[12] | u32 aad_len | aad | plain  ciphertext || 16-byte tag (AES-256-GCM)
//   OP_HSM_DECRYPT     iv[12] | u32 aad_len | aad | sealed plain (HSM_E_AUTH when the tag fails)
//   OP_HSM_RANDOM      u32 count (1..HSM_BUFFER_BYTES)     count bytes from the HSM's generator
//   OP_HSM_PUBLIC_KEY  nothing                             97-byte uncompressed P-384 point
// OP_HSM_RANDOM names no key: it needs capability "hsm_random" instead.
export const OP_HSM_SIGN = 1;
export const OP_HSM_VERIFY = 2;
export const OP_HSM_ENCRYPT = 3;
export const OP_HSM_DECRYPT = 4;
export const OP_HSM_RANDOM = 5;
export const OP_HSM_PUBLIC_KEY = 6;
// The kernel's own request (never a service's): sign an audit checkpoint
// (kernel/audit.ts). addr/len: the 48-byte checkpoint body; cap: the
// kernel's checkpoint buffer. Result: body ‖ signature block
// (host/audit/checkpoint.ts), which the kernel logs as a checkpoint entry;
// a negative status (no signer, signing failed) skips that checkpoint.
export const OP_HSM_CHECKPOINT = 7;
export const HSM_REQUEST_HEADER_BYTES = 4;
export const HSM_REPLY_HEADER_BYTES = 8;
export const HSM_LABEL_BYTES_MAX = 64;
export const HSM_GRANTS_PER_SERVICE_MAX = 16; // labels in one service's hsm_keys
export const HSM_BUFFER_BYTES = 16384; // the largest request, and the largest result, of one operation
export const HSM_IV_BYTES = 12;
export const HSM_TAG_BYTES = 16;
export const HSM_SIGNATURE_BYTES = 96;
export const HSM_PUBLIC_KEY_BYTES = 97;
export const HSM_OK = 0;
export const HSM_E_FAILED = -1; // the HSM or its module failed; the text says how
export const HSM_E_NO_KEY = -2; // the token has no key of the needed type with that label
export const HSM_E_AUTH = -3; // decrypt: the tag did not verify (wrong key, IV, AAD or bytes)
export const HSM_E_INTERRUPTED = -4; // the machine stopped before the result was logged; retry
export const HSM_E_UNAVAILABLE = -5; // the host has no HSM open

// ---- live service load, upgrade and unload (issue 4; kernel/liveload.ts) ----
// A service with capability "system" (the gateway, for admins) sends a
// service command to peer SYSTEM_PEER with send(). The message is logged
// input's consequence, so replay sends it again. The kernel queues it,
// checks it (name, table, capabilities) and, when it is valid, returns
// ACT_SERVICE from kernel_run with:
//   REG_DISPATCH_SERVICE  the service index (a new one for SVC_OP_LOAD)
//   REG_DISPATCH_KIND     SVC_OP_*
//   REG_DISPATCH_ADDR/LEN the whole command in kernel memory (layout below)
//   REG_DISPATCH_SENDER   the service's version before the command (0 for a load)
//   REG_DISPATCH_TIME_*   the logical time of the command
// and dispatch_fuel() the fuel for qx_init / qx_migrate. The host verifies
// the module's signature, prepares and instantiates it, runs qx_init (load)
// or hands the old instance's state over and runs qx_migrate (upgrade), and
// calls kernel export service_action_done(SVC_OK or SVC_E_*, inbox bytes)
// before it calls kernel_run again; nothing else runs in between, so
// messages that arrive meanwhile wait in the kernel's queues. The kernel
// then commits (or undoes) the table change and replies to the sender:
// MSG_KIND_REPLY from SENDER_KERNEL, payload u32 result (SVC_*) | u32 service
// index | u32 version | UTF-8 text.
// Command (little-endian):
//   +0  u8  op (SVC_OP_*)          +1 u8 name length (1..SERVICE_NAME_BYTES_MAX)
//   +2  u16 reserved (0)           +4 u32 caps (SVC_CAP_* bits; load only)
//   +8  u32 memory pages max (load; 0 = SVC_MEMORY_PAGES_DEFAULT)
//   +12 u32 module bytes           +16 u32 signature bytes   +20 u32 config bytes
//   +24 [32] name (zero padded)
//   +56 module | signature (host/modsig.ts) | config (JSON object text, load only)
export const ACT_SERVICE = 4; // perform the service command in REG_DISPATCH_*; answer with service_action_done
export const SYSTEM_PEER = 65534; // send() to this peer is a service command (capability "system")
export const SVC_OP_LOAD = 1;
export const SVC_OP_UPGRADE = 2;
export const SVC_OP_UNLOAD = 3;
export const SVC_CMD_HEADER_BYTES = 56;
export const SVC_REPLY_HEADER_BYTES = 12;
export const SVC_MEMORY_PAGES_DEFAULT = 16; // 1 MiB
export const SVC_CAP_NET = 1; // the same bits as kernel/services.ts CAP_*
export const SVC_CAP_LOG = 2;
export const SVC_CAP_TIME = 4;
export const SVC_CAP_RANDOM = 8;
export const SVC_CAP_TIMER = 16;
export const SVC_CAP_SYSTEM = 256; // never given to a loaded service
export const SVC_OK = 0;
export const SVC_E_MALFORMED = 1; // the command's framing is wrong
export const SVC_E_EXISTS = 2; // load: a service with that name runs
export const SVC_E_NO_SUCH_SERVICE = 3; // upgrade/unload: no service with that name
export const SVC_E_TABLE_FULL = 4; // load: SERVICES_MAX services, none reusable
export const SVC_E_CAPS_DENIED = 5; // load: a capability the sender does not hold itself, or "system"
export const SVC_E_SIGNATURE = 6; // the module is unsigned or not signed by a trusted key
export const SVC_E_MODULE = 7; // the module is not a service the host will run (imports, exports, memory)
export const SVC_E_INIT = 8; // qx_init trapped or ran out of fuel
export const SVC_E_MIGRATE = 9; // upgrade: state hand-off impossible, or qx_migrate trapped / returned non-zero
export const SVC_E_PROTECTED = 10; // the service cannot be changed so (the sender itself; unload of an image service)
export const SVC_E_BUSY = 11; // the kernel's service command queue was full (the sender's answer; the kernel refuses with SYS_E_FULL from send())
export const SVC_E_COUNT = 12;

// ---- snapshots (issue 4; kernel/snapshot.ts, host/snapshot.ts) ----
// Block SQ: addr/len point at a SNAP_REC_BYTES record in kernel memory; arg =
// entries applied. While consuming the descriptor the host captures the
// kernel's memory and globals and every service's; it then writes them to a
// snapshot file beside the log and completes with the same tag (status only).
// The kernel holds new input until the descriptor has left the SQ.
export const OP_BLK_SNAPSHOT = 5;
export const SNAP_REC_ENTRIES = 0; // u64 entries applied (the snapshot covers entries [0, entries))
export const SNAP_REC_LOG_END = 8; // u64 log byte offset where entry `entries` starts
export const SNAP_REC_LAST_ENTRY = 16; // u64 log byte offset of entry entries-1
export const SNAP_REC_TIME_NS = 24; // u64 logical time of entry entries-1
export const SNAP_REC_BATCH = 32; // u64 batch of entry entries-1
export const SNAP_REC_CHAIN = 40; // [32] chain head after entry entries-1
export const SNAP_REC_BYTES = 72;
export const STAT_SNAPSHOTS_WRITTEN = 15; // snapshots written by this boot
export const STAT_SNAPSHOT_ENTRIES = 16; // entries covered by the newest snapshot written or restored (0: none)
// Resource pools at rest (the simulator's liveness check: after the world
// drains, each returns to its idle level, else a pool leaked).
export const STAT_SERVICE_REQUESTS_IN_FLIGHT = 17; // service-to-service reply tokens taken
export const STAT_TIMERS_ACTIVE = 18; // timers set and not yet fired
export const STAT_INPUTS_STAGED = 19; // client inputs logged but not yet applied
export const STAT_NET_ERROR_FRAMES_IN_USE = 20; // the kernel's error-frame buffers the host has not returned

// ---- admission (issue 12; kernel/admission.ts) ----
// Admission comes before the log. One service may hold capability "admit"
// (the gateway): it is the admission authority. Every frame to it carries the
// request header below, which only the host's protocol front ends write
// (host/gateway/http.ts, host/gateway/binary.ts; never a client), and the
// kernel admits or refuses the frame before it is appended to the command log:
// the key is looked up in the kernel's admission table, the route's roles and
// ledger scope are checked and the per-source, per-key and failed-auth token
// buckets are charged. A refused frame is answered at once with a reply in the
// authority's own reply format and is never logged, so nothing an
// unauthenticated or unauthorised client sends costs disk or replay time.
//
// The table is programmed by the authority with syscall admission(op, ptr,
// len) while it applies logged input (its policy at qx_init, each key when it
// is created or revoked), so it is a function of the log, like the authority's
// own key table, and the authority checks every admitted request again when
// it applies it (a key revoked between admission and application is refused
// there, the same way on replay). Rate buckets and failure counts are
// per-node admission state: never logged, never replicated, not in the state
// hash. The host may ask the same question before it has a frame (kernel
// export admission_check in ADM_MODE_PEEK: a request head, before its body is
// read), and answers routes that never reach the log (metrics, statistics)
// after an ADM_MODE_TAKE check.
//
// Request header (the first GW_REQUEST_HEADER_BYTES of the frame's payload):
//   +0  u8   version (GW_VERSION)
//   +1  u8   route (1 .. ADM_ROUTES_MAX - 1; the authority's route numbers)
//   +2  u8   auth (AUTH_*): what the client presented
//   +3  u8   flags (GW_F_*)
//   +4  u32  reserved (0)
//   +8  [16] source address (IPv6, or IPv4 mapped to ::ffff:a.b.c.d)
//   +24 [32] SHA-256 of the bearer key (zero unless AUTH_BEARER); never the key
//   +56 body (the route's)
// Reply header (the authority's replies, and the kernel's refusals, which
// travel as FRAME_OK replies with this payload: the outcome is inside):
//   +0  u16  HTTP status   +2 u16 error (GW_E_*)   +4 u32 Retry-After seconds
//   +8  u32  key id (0: none)   +12 u8 role (0: none)   +13 u8[3] reserved
//   +16 body (an ASCII message on refusals)
export const GW_VERSION = 1;
export const GW_REQUEST_HEADER_BYTES = 56;
export const GW_REPLY_HEADER_BYTES = 16;
export const GW_SOURCE_OFFSET = 8;
export const GW_SOURCE_BYTES = 16;
export const GW_KEY_HASH_OFFSET = 24;
export const GW_KEY_HASH_BYTES = 32;
export const AUTH_NONE = 0;
export const AUTH_BEARER = 1;
export const AUTH_MALFORMED = 2; // an Authorization header (or auth frame) that is not "Bearer <key>"
// The operator's console: `qenex keys ... --data <dir>` with the system
// stopped, which holds the data directory (and so the log) already. The host
// writes it only for frames it injects itself (host/devices/net.ts inject);
// its routes are those the policy grants ADM_ROLE_CONSOLE.
export const AUTH_CONSOLE = 3;
// GW_F_BODY_REFUSED (admission_check only, never in a frame): the host could
// not turn the body into the route's binary form; once the key passes, the
// answer is 400 GW_E_BODY_REFUSED, so a client without a valid key learns
// 401 first and never how its body would be judged.
export const GW_F_BODY_REFUSED = 1;
// Errors (stable numbers; the host maps each to a snake_case code).
export const GW_OK = 0;
export const GW_E_MALFORMED = 1; // the request header itself is wrong (host bug)
export const GW_E_UNAUTHENTICATED = 2; // 401: no key
export const GW_E_BAD_AUTHORIZATION = 3; // 401: not "Bearer <key>"
export const GW_E_UNKNOWN_KEY = 4; // 401: no such key
export const GW_E_REVOKED_KEY = 5; // 401: the key was revoked
export const GW_E_FORBIDDEN_ROLE = 6; // 403: the key's role may not use the route
export const GW_E_FORBIDDEN_LEDGER = 7; // 403: an item names a ledger (scope) the key is not granted
export const GW_E_RATE_LIMITED_KEY = 8; // 429
export const GW_E_RATE_LIMITED_SOURCE = 9; // 429 (also: too many failed authentications from the address)
export const GW_E_BODY_REFUSED = 17; // 400: the host could not read the body (GW_F_BODY_REFUSED)
// Roles: a role r is bit (1 << r) of a route's mask; bit 0 is the console.
export const ADM_ROLE_CONSOLE = 0;
export const ADM_ROLES_MAX = 8; // roles 1..7 fit a u8 mask with the console bit
// Limits of the table (kernel memory reserved at boot when a service holds "admit").
export const ADM_ROUTES_MAX = 64;
export const ADM_KEYS_MAX = 1024; // API keys of an installation: a few hundred; bounds the list reply (96 KiB)
export const ADM_KEY_GRANTS_MAX = 16; // ledgers one key may be limited to
export const ADM_SOURCES_MAX = 8192; // client addresses with a bucket (oldest reused when full)
// Modes of admission_check(mode): PEEK charges no bucket and knows no body;
// TAKE charges the buckets (the kernel's own check of a frame is TAKE); KEY
// asks only whether the credential still holds for the route (key known, not
// revoked, role allowed), reading and charging no bucket and counting no
// failure: the host's own question about an open event stream after a key
// changed, which no client rate or failed-auth throttle may answer for it.
export const ADM_MODE_PEEK = 0;
export const ADM_MODE_TAKE = 1;
export const ADM_MODE_KEY = 2;
// The host's question (admission_area(), ADM_AREA_BYTES): the request header
// at +0, and after the check the answer at ADM_AREA_REPLY: a reply header
// (GW_REPLY_HEADER_BYTES) then the refusal's ASCII message (ADM_MESSAGE_BYTES_MAX
// at most, its length in the u32 at ADM_AREA_MESSAGE_LEN).
export const ADM_AREA_REPLY = 64;
export const ADM_AREA_MESSAGE_LEN = 60;
export const ADM_MESSAGE_BYTES_MAX = 176;
export const ADM_AREA_BYTES = 256;
// Syscall admission(op, ptr, len), capability "admit":
//   ADM_OP_POLICY  +0 u32 source rate/s | +4 u32 source burst | +8 u32 key rate/s
//                  +12 u32 key burst | +16 u32 failed auths per minute per source
//                  +20 u32 failed-auth burst | +24 u32 route count (<= ADM_ROUTES_MAX)
//                  +28 u32 0 | then ADM_ROUTE_BYTES per route 0 .. count-1:
//                    +0 u32 roles mask | +4 u8 scope (ADM_SCOPE_*) | +5 u8 header bytes
//                    +6 u8 count offset (u32 item count in the body) | +7 u8 0
//                    +8 u16 item bytes | +10 u16 scope field offset (u32 in each item) | +12 u32 0
//                  a rate of 0 is no limit; a limited rate needs a burst >= 1
//   ADM_OP_KEY     ADM_KEY_BYTES: +0 [32] key hash | +32 u32 id (1 .. ADM_KEYS_MAX)
//                  +36 u8 role | +37 u8 revoked | +38 u8 grant count | +39 u8 0
//                  +40 u32 rate/s (0: the policy's) | +44 u32 burst (0: the policy's)
//                  +48 u32 ledgers[ADM_KEY_GRANTS_MAX]
//   A key's id names its slot for good: a later ADM_OP_KEY with the same id
//   must carry the same hash (it changes role, grants, rate or revocation).
export const ADM_OP_POLICY = 1;
export const ADM_OP_KEY = 2;
export const ADM_POLICY_HEADER_BYTES = 32;
export const ADM_ROUTE_BYTES = 16;
export const ADM_KEY_BYTES = 112;
export const ADM_SCOPE_NONE = 0; // the body is not checked against the key's grants
export const ADM_SCOPE_ITEMS = 1; // every item's scope field must be one of a limited key's grants
export const ADM_SCOPE_DENY = 2; // a key limited to ledgers may not use the route at all
// Statistics (admission_stat(id)): per node, since boot.
export const ADM_STAT_ADMITTED = 0;
export const ADM_STAT_UNAUTHENTICATED = 1; // 401s
export const ADM_STAT_FORBIDDEN = 2; // 403s
export const ADM_STAT_RATE_LIMITED = 3; // 429s
export const ADM_STAT_MALFORMED = 4; // 400s
export const ADM_STAT_SOURCES = 5; // addresses with a bucket
export const ADM_STAT_COUNT = 6;
