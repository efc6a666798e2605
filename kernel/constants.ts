// kernel/constants.ts: every compile-time limit of the kernel, in one place.
//
// The image manifest sizes the pools at boot (message slots, queue depth,
// timers, batch bytes); the values here bound what a manifest may ask for, so
// that a hostile or mistaken manifest is refused at boot with a message that
// names the limit, instead of exhausting memory later. host/manifest.ts checks
// the same bounds earlier, at `qenex build`.

// Largest kernel memory the boot-time reservations may reach. WebAssembly's
// 32-bit address space is 4 GiB; leave a quarter for the AssemblyScript data
// segment, the boot area and head room.
export const KERNEL_MEMORY_BYTES_MAX: u64 = 3 << 30;

// The largest single reservation: the stub runtime's allocator gives blocks
// of at most 1 GiB minus its header; one pool bigger than that must be
// refused at boot with a named error, not abort inside the allocator.
export const RESERVATION_BYTES_MAX: u64 = (1 << 30) - 64;

// Boot area: image digest (32 bytes) followed by the manifest JSON. The host
// copies both here before kernel_boot. 1 MiB matches the host's manifest limit.
export const BOOT_DIGEST_BYTES: u32 = 32;
export const BOOT_AREA_BYTES: u32 = 1 << 20;

// Services: a u16 service index on the wire and in log entries, but a kernel
// this small has no business running more than 64 services at once.
export const SERVICES_MAX: u32 = 64;
export const SERVICE_CAPS_MAX: u32 = 64; // capabilities per service (bit set of send peers + flags)
export const PRIORITY_CLASSES: u32 = 8; // priority 0 (first) .. 7 (last) in every round
export const BUDGET_MAX: u32 = 4096; // messages per service per scheduler round

// Messages.
export const MESSAGE_SLOTS_MAX: u32 = 65536;
export const MESSAGE_BYTES_MIN: u32 = 256;
export const MESSAGE_BYTES_MAX: u32 = 1 << 20; // equals hal FRAME_BODY_BYTES_MAX
export const QUEUE_DEPTH_MAX: u32 = 1 << 20; // per-service inbox depth
export const TIMERS_MAX: u32 = 1 << 16;
export const REQUESTS_IN_FLIGHT_MAX: u32 = 65535; // a token's slot index is 16 bits

// Command log batches: one block write each. Four buffers cover the pipeline
// (staging, writing, waiting to apply, applying) so staging never waits on
// application of an earlier batch.
export const BATCH_BUFFERS: u32 = 4;
export const BATCH_BYTES_MAX: u32 = 64 << 20;
export const LOG_PREALLOCATE_BYTES_MAX: u64 = 1 << 40;

// Net device: receive buffers posted to the host at once, and small buffers
// for the kernel's own error frames (unknown service, busy, refused by
// admission, …). A turn refuses at most NET_RX_BUFFERS frames and the host
// returns each buffer the turn after it sent it; 256 (64 KiB) leaves room for
// the errors of aborted requests and storage failures on top.
export const NET_RX_BUFFERS: u32 = 16;
export const NET_ERROR_FRAMES: u32 = 256;
export const NET_ERROR_FRAME_BYTES: u32 = 256;

// Ring capacities (descriptors; powers of two).
export const RING_CONSOLE: u32 = 256;
export const RING_ENTROPY: u32 = 4;
export const RING_BLOCK: u32 = 16;
export const RING_NET: u32 = 256;
// Event records waiting for the host (drivers/events): it drains after every
// emit, so a few suffice; 64 covers a recovery turn of checkpoint records.
export const RING_EVENTS: u32 = 64;

// Scheduler: messages dispatched per kernel_run call sequence before the kernel
// returns to the host so devices are serviced. Bounds every loop.
export const DISPATCH_SCAN_MAX: u32 = PRIORITY_CLASSES * SERVICES_MAX * 2;

// Supervision (kernel/supervise.ts); the host's copy of these bounds is in
// host/limits.ts. Fuel counts function entries and loop iterations (host/fuel.ts).
// 2^30 per message: about a second of a tight loop, while the largest ledger
// batch (8189 transfers) uses well under 1% of it.
export const FUEL_PER_MESSAGE_DEFAULT: u64 = 1 << 30;
// qx_init sizes and clears the service's tables once: 64 times a message.
export const FUEL_INIT_DEFAULT: u64 = 1 << 36;
export const FUEL_MAX: u64 = 1 << 50; // stays far from i64 overflow in the counter
export const RESTARTS_MAX_DEFAULT: u32 = 3;
export const RESTARTS_MAX: u32 = 1000;
export const RESTART_WINDOW_MS_DEFAULT: u64 = 60000;
export const RESTART_WINDOW_MS_MAX: u64 = 86400000 * 365; // a year of logical time

// HSM device (drivers/hsm, kernel/hsm.ts): key operations in flight at once,
// each holding one buffer of hal HSM_BUFFER_BYTES (16 requests: 256 KiB,
// reserved only when the manifest grants some service a key). Services wait
// for HSM results as messages, so a few in flight keep a token busy; more
// would only queue inside the token. The SQ has room for every one of them.
export const HSM_REQUESTS_MAX: u32 = 16;
// One more in flight than HSM_REQUESTS_MAX: the audit checkpoint being signed.
export const RING_HSM: u32 = 32;
// Key labels granted across all services (each service at most hal
// HSM_GRANTS_PER_SERVICE_MAX).
export const HSM_GRANTS_MAX: u32 = 256;
