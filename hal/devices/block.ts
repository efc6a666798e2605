// hal/devices/block.ts: the block device (DEV_BLOCK): the command log's
// reads, writes, truncation and preallocation, and snapshot requests
// (drivers/block, host/devices/block.ts, host/snapshot.ts).
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).

export const OP_BLK_READ = 1; // read up to len bytes at arg into addr; completion len = bytes read (0 = end)
export const OP_BLK_WRITE = 2; // write len bytes from addr at arg; DESC_F_FLUSH makes it durable first
export const OP_BLK_TRUNCATE = 3; // cut the device at arg bytes and make that durable
export const OP_BLK_PREALLOCATE = 4; // reserve space up to arg bytes (contents read as zero)

// ---- snapshots (kernel/snapshot.ts, host/snapshot.ts) ----
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
