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
export const DEVICE_COUNT = 5;
export const DEVICE_ENTRY_BYTES = 8;
export const HAL_REGS_OFFSET = 64;

export const IRQ_CONSOLE = 1; // 1 << DEV_CONSOLE
export const IRQ_CLOCK = 2;
export const IRQ_ENTROPY = 4;
export const IRQ_BLOCK = 8;
export const IRQ_NET = 16;

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
