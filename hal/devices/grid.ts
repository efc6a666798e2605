// hal/devices/grid.ts: the grid device (DEV_GRID): fixed-size blocks that a
// service's storage engine (lib/store, docs/storage.md) reads and writes
// through the kernel (drivers/grid, kernel/storage.ts, host/devices/grid.ts).
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).
//
// # What a service sees: syscall storage(op, ptr, len) (capability "storage")
//
// Each service granted "storage" has its own grid: an array of
// GRID_BLOCK_BYTES blocks in its own file in the data directory
// (grid-<service>.qxg), addressed by a u64 block index. The kernel and the
// host move blocks and never look inside them; what a block holds, its
// checksum and who references it are the storage engine's (lib/store).
//
//   STORAGE_WRITE  ptr/len: u64 address | GRID_BLOCK_BYTES of block. The
//                  bytes are captured at the call. At most
//                  STORAGE_WRITES_PER_MESSAGE writes per message handled
//                  (more: SYS_E_FULL, decided by that count alone, so it is
//                  the same live and on replay).
//   STORAGE_SYNC   nothing. A barrier: every write before it is durable
//                  before any storage request after it is performed.
//   STORAGE_READ   ptr/len: u64 addresses (1..STORAGE_READS_PER_MESSAGE).
//                  Once the message being handled returns, the service
//                  handles nothing else until the kernel has delivered each
//                  block, in the order asked, as a MSG_KIND_BLOCK message:
//                    u64 address | i32 status | u32 reserved | block
//                  (status STORAGE_OK and GRID_BLOCK_BYTES of block, or a
//                  negative STORAGE_E_* and no block); then the message that
//                  asked is delivered again, as it came (the prefetch step:
//                  it now finds its blocks in the service's cache). A read
//                  without a log entry (qx_read) may ask too: its answer is
//                  dropped and it is handed over again after its blocks.
//   STORAGE_CORRUPT ptr/len: text naming a block that failed its checks
//                  again and again: the machine stops (below).
// Requests are performed in the order made: a read sees every earlier write.
// A failed write or sync stops the machine (KERR_STORAGE), as a failed
// command-log write does. Reads and deliveries are not logged: they are a
// pure function of the logged input and the state, so replay makes the same
// requests (or fewer, from a warmer cache) and gets the same bytes.
//
// # The device (kernel ↔ host)
//
// SQ descriptor: op OP_GRID_*, tag (kernel's), addr/len a kernel buffer,
// arg the block address; the tag names the service (its high 16 bits,
// GRID_TAG_SERVICE_SHIFT) and the kernel's buffer (its low 16 bits). The
// host keeps one ordered queue per service grid and completes each
// descriptor with the same tag: status STATUS_OK (len = bytes read or
// written) or a negative STATUS_E_* / GRID_E_*.
export const OP_GRID_READ = 1; // read one block at arg into addr (len GRID_BLOCK_BYTES)
export const OP_GRID_WRITE = 2; // write one block from addr at arg
export const OP_GRID_SYNC = 3; // make every earlier write of this grid durable (fdatasync)
export const GRID_TAG_SERVICE_SHIFT = 16;
export const GRID_E_RANGE = -34; // address beyond GRID_ADDRESS_MAX
export const GRID_ADDRESS_MAX = 2147483647; // the last block a grid may have (128 TiB of 64 KiB blocks)

// A block: 64 KiB, the unit of every read, write, cache slot and checksum.
export const GRID_BLOCK_BYTES = 65536;
export const GRID_BLOCK_SHIFT = 16;

// ---- syscall storage(op, ptr, len) ----
export const STORAGE_WRITE = 1;
export const STORAGE_SYNC = 2;
export const STORAGE_READ = 3;
// The service found its grid corrupt beyond retrying (ptr/len: UTF-8 text
// naming the block): the machine stops (KERR_STORAGE, storage_failed with
// the text), as for a failed write; a replay of that disk refuses the same
// way. The command log is intact: a replay on a healthy grid rebuilds it.
export const STORAGE_CORRUPT = 4;
export const STORAGE_WRITES_PER_MESSAGE = 128;
export const STORAGE_READS_PER_MESSAGE = 64;
// MSG_KIND_BLOCK payload: header, then the block.
export const BLOCK_MSG_ADDRESS = 0; // u64
export const BLOCK_MSG_STATUS = 8; // i32 STORAGE_OK or STORAGE_E_*
export const BLOCK_MSG_HEADER_BYTES = 16;
export const STORAGE_OK = 0;
export const STORAGE_E_IO = -1; // the read failed (the device said so); the service decides (a cluster repairs from a peer)
export const STORAGE_E_RANGE = -2; // beyond the grid's capacity
