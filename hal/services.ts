// hal/services.ts: the kernel as services see it (services/sdk/ABI.md):
// message kinds, senders, syscall results, and supervision (faults, fuel,
// restart policy).
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).

// ---- messages as services see them (qx_handle kind) ----
export const MSG_KIND_INIT = 0; // boot: call qx_init(len) with the service's config JSON
export const MSG_KIND_REQUEST = 1; // from a network client; reply with the token
export const MSG_KIND_MESSAGE = 2; // from another service; reply with the token goes back to it
export const MSG_KIND_REPLY = 3; // a reply from a service this one sent to
export const MSG_KIND_TIMER = 4; // a timer set with qx timer() fired; payload is the u64 timer tag
export const SENDER_CLIENT = 65535;
export const SENDER_KERNEL = 65534;
export const MSG_KIND_FAILED = 5; // a message this service sent was aborted by a fault in the peer; payload empty
export const MSG_KIND_BLOCK = 6; // a grid block this service asked for with storage(STORAGE_READ) (hal/devices/grid.ts)
// Sent to every service holding "storage" after each entry whose count is a
// multiple of the machine's checkpoint interval (kernel/snapshot.ts; every
// entry when snapshots are off); payload u64 checkpoint number. Blocks the
// service released before the previous one may be reused now (docs/storage.md).
export const MSG_KIND_CHECKPOINT = 7;

// ---- capabilities (a manifest's caps; a live load's command, hal/liveload.ts) ----
// Bits of a service's capability set; the kernel checks them on every call.
// (32 is not a bit: "hsm_random" is granted in the HSM's key table.)
export const CAP_NET = 1; // receives frames from network clients
export const CAP_LOG = 2; // writes lines to the console
export const CAP_TIME = 4; // reads the logical clock
export const CAP_RANDOM = 8; // draws from the logged entropy
export const CAP_TIMER = 16; // sets timers
export const CAP_EMIT = 64; // emits event records
export const CAP_SYSTEM = 256; // sends service commands to SYSTEM_PEER (hal/liveload.ts); never given to a loaded service
// The admission authority (kernel/admission.ts): programs the admission table,
// and every network frame to it is admitted first. At most one service holds it.
export const CAP_ADMIT = 512;
export const CAP_READ = 1024; // answers reads (hal/frames.ts FRAME_F_READ) with its qx_read, without a log entry
export const CAP_STORAGE = 2048; // its own grid of blocks: syscall storage (hal/devices/grid.ts)

// ---- syscall results (returned to services; negative = error) ----
export const SYS_OK = 0;
export const SYS_E_DENIED = -1; // capability missing; recorded by the kernel
export const SYS_E_INVALID = -2; // bad argument (length, unknown service, bad token)
export const SYS_E_FULL = -3; // a pool or queue is full
export const SYS_E_TOO_LARGE = -4; // message over the manifest's message size
export const SYS_E_CONTEXT = -5; // no message is being handled (call outside qx_handle/qx_init)
export const SYS_E_UNAVAILABLE = -6; // the peer service has failed (restart policy exhausted)

// ---- service supervision ----
// A trap or fuel exhaustion aborts the message being handled. The host
// reports it with kernel export service_fault(FAULT_*); the kernel answers
// the message's token, applies the service's restart policy and returns
// whether the host restores the service (1) or drops it as failed (0).
export const FAULT_UNREACHABLE = 1; // wasm `unreachable` (an AssemblyScript abort or assertion)
export const FAULT_MEMORY = 2; // out-of-bounds memory access
export const FAULT_DIVIDE = 3; // integer divide by zero or overflow
export const FAULT_TRAP = 4; // any other trap (bad conversion, indirect call, stack overflow)
export const FAULT_FUEL = 5; // the message's fuel budget ran out
export const FAULT_RESTORE = 6; // restoring the service after a fault failed: it is marked failed
