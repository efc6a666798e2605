// lib/store/block.ts: the header of every grid block, its seal and its
// check: the one home of the block layout (docs/storage.md#blocks).
//
// A block is GRID_BLOCK_BYTES (hal/devices/grid.ts). Its first 64 bytes:
//
//    0 [16] checksum of bytes [16, GRID_BLOCK_BYTES)  (checksum.ts)
//   16 u64  the block's own address (index in the grid)
//   24 u64  sequence of the checkpoint that wrote it
//   32 u16  kind (BLOCK_KIND_*)
//   34 u8   tree (the engine's id of the tree; 0: none, e.g. the free set)
//   35 u8   level in that tree it was written at (a table moved down
//           without rewriting keeps it; errors name the level its referrer knows)
//   36 u32  records in the block
//   40 u32  bytes used after the header
//   44 [20] reserved, zero
//
// The checksum is also kept by whoever references the block (an index block
// keeps its data blocks', the manifest its index blocks'), and a block is
// used only when it matches that copy AND names the address it was read
// from. The stored copy says what went wrong when they differ: a block that
// matches its own checksum but is not the one expected is whole, so another
// block was written there (misdirected) or the expected write never landed
// (lost); one that does not match its own checksum is torn or flipped.
// Bytes after `used` are zero, so a block's checksum depends on its content
// alone, not on what its buffer held before.

import { GRID_BLOCK_BYTES } from "../../hal/devices/grid";
import { checksum, checksumEqual, CHECKSUM_BYTES } from "./checksum";

export const BLOCK_BYTES: usize = <usize>GRID_BLOCK_BYTES;
export const BLOCK_HEADER_BYTES: usize = 64;
export const BLOCK_BODY_BYTES: usize = BLOCK_BYTES - BLOCK_HEADER_BYTES;

const OFF_CHECKSUM: usize = 0;
const OFF_ADDRESS: usize = 16;
const OFF_SEQUENCE: usize = 24;
const OFF_KIND: usize = 32;
const OFF_TREE: usize = 34;
const OFF_LEVEL: usize = 35;
const OFF_RECORDS: usize = 36;
const OFF_USED: usize = 40;
const OFF_RESERVED: usize = 44;

export const BLOCK_KIND_SUPERBLOCK: u16 = 1;
export const BLOCK_KIND_MANIFEST: u16 = 2;
export const BLOCK_KIND_INDEX: u16 = 3;
export const BLOCK_KIND_DATA: u16 = 4;
export const BLOCK_KIND_FILTER: u16 = 5;
export const BLOCK_KIND_FREE_SET: u16 = 6;
export const BLOCK_KIND_HOT_STATE: u16 = 7;
const BLOCK_KIND_LAST: u16 = 7;

// blockVerify's answers.
export const BLOCK_OK: i32 = 0;
export const BLOCK_E_CHECKSUM: i32 = 1; // the bytes do not match their own checksum: torn or corrupted
export const BLOCK_E_MISDIRECTED: i32 = 2; // a whole block, but it names another address
export const BLOCK_E_STALE: i32 = 3; // a whole block of this address, but not the one expected (a lost write)

// @ts-ignore: decorator
@inline export function blockAddress(b: usize): u64 { return load<u64>(b + OFF_ADDRESS); }
// @ts-ignore: decorator
@inline export function blockSequence(b: usize): u64 { return load<u64>(b + OFF_SEQUENCE); }
// @ts-ignore: decorator
@inline export function blockKind(b: usize): u16 { return load<u16>(b + OFF_KIND); }
// @ts-ignore: decorator
@inline export function blockTree(b: usize): u8 { return load<u8>(b + OFF_TREE); }
// @ts-ignore: decorator
@inline export function blockLevel(b: usize): u8 { return load<u8>(b + OFF_LEVEL); }
// @ts-ignore: decorator
@inline export function blockRecords(b: usize): u32 { return load<u32>(b + OFF_RECORDS); }
// @ts-ignore: decorator
@inline export function blockUsed(b: usize): u32 { return load<u32>(b + OFF_USED); }
// @ts-ignore: decorator
@inline export function blockBody(b: usize): usize { return b + BLOCK_HEADER_BYTES; }
// @ts-ignore: decorator
@inline export function blockChecksum(b: usize): usize { return b + OFF_CHECKSUM; }

/**
 * Fills the header of the block at `b` (whose body holds `used` bytes of
 * content), zeroes the rest of the body and computes the checksum. The
 * checksum is then at blockChecksum(b), for the referrer to keep.
 */
export function blockSeal(b: usize, address: u64, sequence: u64, kind: u16, tree: u8, level: u8, records: u32, used: u32): void {
  assert(kind >= BLOCK_KIND_SUPERBLOCK && kind <= BLOCK_KIND_LAST, "block: an unknown kind");
  assert(<usize>used <= BLOCK_BODY_BYTES, "block: more bytes used than a body holds");
  memory.fill(blockBody(b) + <usize>used, 0, BLOCK_BODY_BYTES - <usize>used);
  store<u64>(b + OFF_ADDRESS, address);
  store<u64>(b + OFF_SEQUENCE, sequence);
  store<u16>(b + OFF_KIND, kind);
  store<u8>(b + OFF_TREE, tree);
  store<u8>(b + OFF_LEVEL, level);
  store<u32>(b + OFF_RECORDS, records);
  store<u32>(b + OFF_USED, used);
  memory.fill(b + OFF_RESERVED, 0, BLOCK_HEADER_BYTES - OFF_RESERVED);
  checksum(b + CHECKSUM_BYTES, BLOCK_BYTES - CHECKSUM_BYTES, b + OFF_CHECKSUM);
}

// Scratch for the checksum computed by blockVerify, zeroed after each use:
// which block was verified last depends on what the cache held, which is not
// a service's state (services/sdk/ABI.md qx_cache_area).
const computed: usize = memory.data(<i32>CHECKSUM_BYTES, 16);

/**
 * Whether the block at `b`, read from `address`, is the one its referrer
 * expects (`expected`: the 16-byte checksum the referrer kept): BLOCK_OK, or
 * the BLOCK_E_* that says what is wrong with it.
 */
export function blockVerify(b: usize, address: u64, expected: usize): i32 {
  assert(b != 0 && expected != 0, "block: verify at address 0");
  checksum(b + CHECKSUM_BYTES, BLOCK_BYTES - CHECKSUM_BYTES, computed);
  const whole = checksumEqual(computed, b + OFF_CHECKSUM);
  const matches = checksumEqual(computed, expected);
  memory.fill(computed, 0, CHECKSUM_BYTES);
  if (matches) {
    // The referrer's checksum covers the header's address, so a match names this address.
    assert(whole && blockAddress(b) == address, "block: a block matches its referrer but names another address");
    return BLOCK_OK;
  }
  if (!whole) return BLOCK_E_CHECKSUM;
  return blockAddress(b) != address ? BLOCK_E_MISDIRECTED : BLOCK_E_STALE;
}

/** What blockVerify's answer means, for the error message. */
export function blockErrorReason(status: i32): string {
  assert(status != BLOCK_OK, "block: no error to describe");
  if (status == BLOCK_E_CHECKSUM) return "checksum mismatch (torn or corrupted)";
  if (status == BLOCK_E_MISDIRECTED) return "another block's content (misdirected write)";
  if (status == BLOCK_E_STALE) return "an older block (lost write)";
  return "unknown error";
}

/** The error that names a corrupt block: "storage_corrupt: block 1234 of tree transfers.id, level 2, checksum mismatch ...". */
export function blockErrorMessage(status: i32, address: u64, tree: string, level: u8): string {
  assert(status != BLOCK_OK, "block: no error to describe");
  return "storage_corrupt: block " + address.toString() + " of tree " + tree + ", level " + level.toString() + ", " + blockErrorReason(status);
}
