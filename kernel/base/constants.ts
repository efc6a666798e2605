// kernel/base/constants.ts: every compile-time limit of the kernel, in one place.
//
// The image manifest sizes the pools at boot (message slots, queue depth,
// timers, batch bytes); the bounds on what a manifest may ask for are shared
// with the host, which checks the same ones earlier (`qenex build`), and live
// in hal/limits.ts: here they are typed as the kernel uses them, so a
// hostile or mistaken manifest is refused at boot with a message that names
// the limit, instead of exhausting memory later. The limits below that are
// not from hal/limits.ts are the kernel's alone.

import * as hal from "../../hal/limits";

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

// Services: a u16 service index on the wire and in log entries; the table
// (image services and live-loaded ones) and the per-image bound are shared.
export const SERVICES_MAX: u32 = hal.SERVICES_MAX;
export const IMAGE_SERVICES_MAX: u32 = hal.IMAGE_SERVICES_MAX;
export const SERVICE_CAPS_MAX: u32 = 64; // capabilities per service (bit set of send peers + flags)
export const PRIORITY_CLASSES: u32 = hal.PRIORITY_MAX + 1; // priority 0 (first) .. PRIORITY_MAX (last) in every round
export const BUDGET_MIN: u32 = hal.BUDGET_MIN;
export const BUDGET_MAX: u32 = hal.BUDGET_MAX; // messages per service per scheduler round
export const MEMORY_PAGES_MIN: u32 = hal.MEMORY_PAGES_MIN;
export const MEMORY_PAGES_MAX: u32 = hal.MEMORY_PAGES_MAX;

// Messages.
export const MESSAGE_SLOTS_MIN: u32 = hal.MESSAGE_SLOTS_MIN;
export const MESSAGE_SLOTS_MAX: u32 = hal.MESSAGE_SLOTS_MAX;
export const MESSAGE_BYTES_MIN: u32 = hal.MESSAGE_BYTES_MIN;
export const MESSAGE_BYTES_MAX: u32 = hal.MESSAGE_BYTES_MAX;
export const QUEUE_DEPTH_MIN: u32 = hal.QUEUE_DEPTH_MIN;
export const QUEUE_DEPTH_MAX: u32 = hal.QUEUE_DEPTH_MAX; // per-service inbox depth
export const TIMERS_MIN: u32 = hal.TIMERS_MIN;
export const TIMERS_MAX: u32 = hal.TIMERS_MAX;
export const REQUESTS_IN_FLIGHT_MIN: u32 = hal.REQUESTS_IN_FLIGHT_MIN;
export const REQUESTS_IN_FLIGHT_MAX: u32 = hal.REQUESTS_IN_FLIGHT_MAX; // a token's slot index is 16 bits

// A token holds its slot + 1 in 16 bits, so a pool has at most 65535 slots
// (kernel/tokens.ts).
export const TOKEN_SLOTS_MAX: u32 = 65535;
// An audit checkpoint: body + signature block (an ECDSA P-384 and an
// ML-DSA-65 signature with their headers are about 3.5 KiB; kernel/audit.ts).
export const CHECKPOINT_BYTES_MAX: u32 = 8192;

// Command log batches: one block write each. Four buffers cover the pipeline
// (staging, writing, waiting to apply, applying) so staging never waits on
// application of an earlier batch.
export const BATCH_BUFFERS: u32 = 4;
export const BATCH_BYTES_MIN: u32 = hal.BATCH_BYTES_MIN;
export const BATCH_BYTES_MAX: u32 = hal.BATCH_BYTES_MAX;
export const LOG_PREALLOCATE_BYTES_MAX: u64 = hal.LOG_PREALLOCATE_BYTES_MAX;
export const SNAPSHOT_INTERVAL_ENTRIES_MAX: u64 = hal.SNAPSHOT_INTERVAL_ENTRIES_MAX;

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

// Supervision (kernel/supervise.ts): fuel and restart bounds (hal/limits.ts).
export const FUEL_MIN: u64 = hal.FUEL_MIN;
export const FUEL_PER_MESSAGE_DEFAULT: u64 = hal.FUEL_PER_MESSAGE_DEFAULT;
export const FUEL_INIT_DEFAULT: u64 = hal.FUEL_INIT_DEFAULT;
export const FUEL_MAX: u64 = hal.FUEL_MAX;
export const RESTARTS_MAX_DEFAULT: u32 = hal.RESTARTS_MAX_DEFAULT;
export const RESTARTS_MAX: u32 = hal.RESTARTS_MAX;
export const RESTART_WINDOW_MS_MIN: u64 = hal.RESTART_WINDOW_MS_MIN;
export const RESTART_WINDOW_MS_DEFAULT: u64 = hal.RESTART_WINDOW_MS_DEFAULT;
export const RESTART_WINDOW_MS_MAX: u64 = hal.RESTART_WINDOW_MS_MAX;

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

// How the limits above relate, checked once at start (the conditions fold to
// constants, so they cost nothing): a change to one number that breaks what
// another relies on stops the kernel at its first instruction.
assert(SERVICES_MAX <= 64 && IMAGE_SERVICES_MAX <= SERVICES_MAX, "a u64 send mask covers every service, and an image fits the table");
assert(REQUESTS_IN_FLIGHT_MAX <= 65535 && MESSAGE_SLOTS_MAX <= 65536, "token and message slot numbers fit 16 bits");
assert(<u64>MESSAGE_BYTES_MAX < <u64>BATCH_BYTES_MAX && BATCH_BYTES_MIN > MESSAGE_BYTES_MIN, "a batch holds at least one message of each size bound");
assert(RESERVATION_BYTES_MAX < KERNEL_MEMORY_BYTES_MAX && KERNEL_MEMORY_BYTES_MAX < (<u64>1 << 32), "one reservation fits the kernel memory, which fits wasm32");
assert(BOOT_DIGEST_BYTES < BOOT_AREA_BYTES, "the boot area holds the digest and a manifest");
assert((RING_CONSOLE & (RING_CONSOLE - 1)) == 0 && (RING_ENTROPY & (RING_ENTROPY - 1)) == 0 && (RING_BLOCK & (RING_BLOCK - 1)) == 0
  && (RING_NET & (RING_NET - 1)) == 0 && (RING_EVENTS & (RING_EVENTS - 1)) == 0 && (RING_HSM & (RING_HSM - 1)) == 0, "ring capacities are powers of two");
assert(RING_NET > NET_RX_BUFFERS && NET_ERROR_FRAMES >= NET_RX_BUFFERS, "the net SQ holds every receive buffer, and a turn's refusals fit the error frames");
assert(RING_HSM > HSM_REQUESTS_MAX, "the HSM SQ holds every request and the audit checkpoint");
assert(FUEL_MIN <= FUEL_PER_MESSAGE_DEFAULT && FUEL_PER_MESSAGE_DEFAULT <= FUEL_INIT_DEFAULT && FUEL_INIT_DEFAULT <= FUEL_MAX, "fuel defaults within the fuel bounds");
assert(RESTARTS_MAX_DEFAULT <= RESTARTS_MAX && RESTART_WINDOW_MS_MIN <= RESTART_WINDOW_MS_DEFAULT && RESTART_WINDOW_MS_DEFAULT <= RESTART_WINDOW_MS_MAX, "restart defaults within their bounds");
