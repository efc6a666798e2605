// hal/kernel.ts: what the kernel reports: its error code (REG_ERROR) and its
// statistics (kernel_stat(id)).
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).

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
export const STAT_SERVICE_FAULTS = 13; // faults of all services
export const STAT_SERVICE_RESTARTS = 14; // restarts of all services
export const STAT_SNAPSHOTS_WRITTEN = 15; // snapshots written by this boot
export const STAT_SNAPSHOT_ENTRIES = 16; // entries covered by the newest snapshot written or restored (0: none)
// Resource pools at rest (the simulator's liveness check: after the world
// drains, each returns to its idle level, else a pool leaked).
export const STAT_SERVICE_REQUESTS_IN_FLIGHT = 17; // service-to-service reply tokens taken
export const STAT_TIMERS_ACTIVE = 18; // timers set and not yet fired
export const STAT_INPUTS_STAGED = 19; // client inputs logged but not yet applied
export const STAT_NET_ERROR_FRAMES_IN_USE = 20; // the kernel's error-frame buffers the host has not returned
export const STAT_READS_ANSWERED = 21; // reads (hal/frames.ts FRAME_F_READ) answered by this boot, without a log entry
