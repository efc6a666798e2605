// hal/limits.ts: the bounds the kernel and the host both enforce, the one
// home of each. The host checks a manifest against them first (`qenex
// build`, the image loader: host/manifest.ts) and the kernel again at boot
// (kernel/boot.ts, KERR_MANIFEST), so the two must agree: each side imports
// these (kernel/base/constants.ts types them as the kernel uses them; host/base/limits.ts
// adds the limits only the host has, with the reasons for each). How they
// relate is checked by host/base/limits.ts checkLimits, which `make build` runs.
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host. The values here are integers written as
// plain decimal literals; those above 2^31 are below 2^53, so AssemblyScript
// reads them as i64 and JavaScript exactly.

// ---- services ----

// The kernel's service table: the image's services and those loaded live
// (kernel/liveload.ts). A u64 bit set names every peer a service may send to.
export const SERVICES_MAX = 64;
// Services one image's manifest may declare: room in the table for as many
// loaded live, and each one section of the image file.
export const IMAGE_SERVICES_MAX = 32;
// Scheduling priority: 0 runs first in every round, PRIORITY_MAX last.
export const PRIORITY_MAX = 7;
// Messages a service may handle per scheduler round before the next runs.
export const BUDGET_MIN = 1;
export const BUDGET_MAX = 4096;
// A service's linear memory, in 64 KiB pages (the wasm32 maximum).
export const MEMORY_PAGES_MIN = 1;
export const MEMORY_PAGES_MAX = 65536;

// ---- messages, queues, timers, requests ----

// The preallocated message pool: a slot index is a u16.
export const MESSAGE_SLOTS_MIN = 1;
export const MESSAGE_SLOTS_MAX = 65536;
// A message holds at least a request header, a service name and a useful
// payload, and at most one wire frame body (hal/frames.ts FRAME_BODY_BYTES_MAX).
export const MESSAGE_BYTES_MIN = 256;
export const MESSAGE_BYTES_MAX = 1048576;
// Inbox depth per service: a deeper queue only hides overload that should be
// answered FRAME_E_BUSY.
export const QUEUE_DEPTH_MIN = 1;
export const QUEUE_DEPTH_MAX = 65536;
// Timers (0: an image where no service may set one).
export const TIMERS_MIN = 0;
export const TIMERS_MAX = 65536;
// Client requests awaiting a reply: a token's slot index is 16 bits.
export const REQUESTS_IN_FLIGHT_MIN = 1;
export const REQUESTS_IN_FLIGHT_MAX = 65535;

// ---- the command log ----

// A batch is one block write with one fdatasync: at least 64 KiB so it
// amortises the sync over many small messages, at most 64 MiB (the
// group-commit buffers are reserved at boot).
export const BATCH_BYTES_MIN = 65536;
export const BATCH_BYTES_MAX = 67108864;
// Log preallocation (0: none), 1 TiB at most.
export const LOG_PREALLOCATE_BYTES_MAX = 1099511627776;
// Entries between machine snapshots (0: none), 2^40 at most.
export const SNAPSHOT_INTERVAL_ENTRIES_MAX = 1099511627776;

// ---- supervision and fuel ----

// Fuel counts function entries and loop iterations (host/fuel.ts). 2^50 keeps
// the i64 counter far from overflow; 2^30 per message is about a second of a
// tight loop while the largest ledger batch uses well under 1% of it; qx_init
// sizes and clears the service's tables once: 64 times a message.
export const FUEL_MIN = 1;
export const FUEL_MAX = 1125899906842624;
export const FUEL_PER_MESSAGE_DEFAULT = 1073741824;
export const FUEL_INIT_DEFAULT = 68719476736;
// Restarts allowed within a window of logical time before a service is
// marked failed; 1000 bounds the restore work a faulty service can cause.
export const RESTARTS_MAX = 1000;
export const RESTARTS_MAX_DEFAULT = 3;
export const RESTART_WINDOW_MS_MIN = 1;
export const RESTART_WINDOW_MS_MAX = 31536000000; // a year of logical time
export const RESTART_WINDOW_MS_DEFAULT = 60000;
