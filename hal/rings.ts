// hal/rings.ts: how the kernel and the host talk: rings of descriptors, the
// device table, the registers, the run loop, and the kernel's states,
// actions and boot modes.
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).
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
export const DEVICE_COUNT = 8; // 5 (DEV_HSM), 6 (DEV_EVENTS) and 7 (DEV_GRID) follow below
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
export const DEV_GRID = 7; // the services' block grids (issue 16): hal/devices/grid.ts
export const IRQ_GRID = 128;

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
export const ACT_SERVICE = 4; // perform the service command in REG_DISPATCH_*; answer with service_action_done (hal/liveload.ts)
// Answer the read (hal/frames.ts FRAME_F_READ) of REG_DISPATCH_LEN bytes at
// REG_DISPATCH_ADDR with service REG_DISPATCH_SERVICE's qx_read, changing none
// of its state (REG_DISPATCH_KIND is MSG_KIND_REQUEST, the fuel dispatch_fuel);
// put the reply payload at sys_area() and call kernel_read_done(status, len).
export const ACT_READ = 5;

// ---- status codes in completions (negative) ----
export const STATUS_OK = 0;
export const STATUS_E_IO = -5;
export const STATUS_E_NOSPACE = -28;
