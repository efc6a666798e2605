// hal/log.ts: the command log's entry layout, the one home of it: the
// kernel writes and recovers entries (kernel/log.ts, kernel/recovery.ts), the
// host reads them (host/audit/log.ts for `qenex audit` and `qenex log`,
// host/snapshot.ts to check a snapshot against the log), and tests walk
// them (test/support/helpers.ts).
//
// Compiled twice, like every file in hal/: by AssemblyScript into kernel.wasm
// and by esbuild/tsc into the host, so it holds only integer constants that
// fit an i32, written as plain literals (both languages read the same values).
//
// Entry layout (little-endian, padded to ENTRY_ALIGN bytes on disk):
//   +0  u32 magic   'Q' 'X' 'L' and the log format version as an ASCII digit
//                   (ENTRY_MAGIC: format LOG_FORMAT_VERSION)
//   +4  u32 crc     CRC-32C of bytes [8, total)
//   +8  u32 total   header + payload bytes (without padding)
//   +12 u16 type    ENTRY_*
//   +14 u16 service target service index (0xffff: none)
//   +16 u64 seq     0, 1, 2, … with no gaps
//   +24 u64 time    logical time, ns, strictly increasing
//   +32 u64 batch   entries of one batch are applied together
//   +40 u64 conn    client connection (INPUT), else 0
//   +48 u32 request client's request id (INPUT), else 0
//   +52 u32 index   position of the entry in its batch (0 = first); lets
//                   recovery tell a torn final write from damaged history
//   +56 [32] chain  SHA-256(chain of entry seq-1 ‖ leaf); the entry before
//                   seq 0 has a chain of 32 zero bytes
//   +88 payload
// where leaf = SHA-256(0x00 ‖ bytes [8, 56) ‖ payload) is the entry's leaf
// hash in the RFC 6962 Merkle tree of the log (kernel/audit.ts): entry seq
// is leaf seq.
//
// The format version is in every entry's magic, so a log of another format
// is told apart from a damaged one at its first entry: boot refuses it with
// the version it found and the command that migrates it (host/cmd/migrate.ts).
export const LOG_FORMAT_VERSION = 1;
export const ENTRY_MAGIC_PREFIX = 0x4c5851; // "QXL" in the magic's low three bytes
export const ENTRY_MAGIC = 0x314c5851; // ENTRY_MAGIC_PREFIX | ('0' + LOG_FORMAT_VERSION) << 24
export const ENTRY_HEADER_BYTES = 88;
export const ENTRY_ALIGN = 8;
export const ENTRY_CRC = 4;
export const ENTRY_TOTAL = 8;
export const ENTRY_TYPE = 12;
export const ENTRY_SERVICE = 14;
export const ENTRY_SEQ = 16;
export const ENTRY_TIME = 24;
export const ENTRY_BATCH = 32;
export const ENTRY_CONN = 40;
export const ENTRY_REQUEST = 48;
export const ENTRY_BATCH_INDEX = 52;
export const ENTRY_CHAIN = 56;
export const ENTRY_CHAIN_BYTES = 32;
export const ENTRY_CRC_FROM = 8; // the CRC covers [ENTRY_CRC_FROM, total)
export const ENTRY_LEAF_FROM = 8; // the leaf hashes [ENTRY_LEAF_FROM, ENTRY_CHAIN) ‖ payload
export const ENTRY_SERVICE_NONE = 65535;
// The log's hashing unit (kernel/log.ts logSeal; host/devices/log-chain.ts,
// host/native/src/chain.rs): per entry hashed, it writes leaf [32] ‖ chain
// [32] ‖ u32 CRC-32C ‖ u32 0, LOG_CHAIN_OUT_BYTES in all.
export const LOG_CHAIN_OUT_BYTES = 72;
// The largest entry: a header and the largest message (hal/limits.ts
// MESSAGE_BYTES_MAX); HSM and checkpoint entries are far smaller.
export const ENTRY_BYTES_MAX = 1048664;

// Entry types.
export const ENTRY_GENESIS = 1; // payload: the image digest the log belongs to
export const ENTRY_INPUT = 2; // payload: a client's message to `service`
export const ENTRY_TICK = 3; // no payload: logical time moves on (timers)
export const ENTRY_ENTROPY = 4; // payload: 32 random bytes that reseed the service RNG
export const ENTRY_CHECKPOINT = 5; // payload: a signed audit checkpoint (kernel/audit.ts); changes no state
export const ENTRY_HSM = 6; // payload: an HSM result for `service` (kernel/hsm.ts): u32 request id | i32 status | bytes
export const ENTRY_TYPE_MAX = 6;
