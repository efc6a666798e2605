// test/services/gridprobe: a test-only service that uses its grid
// (capability "storage", hal/devices/grid.ts) the way a storage engine does,
// for test/integration/grid.test.ts. It keeps a small cache of blocks it was
// delivered (address, status, fingerprint); a read request answers from the
// cache when every block is in it, and otherwise asks for the missing ones
// and returns: the kernel delivers them and then the request again. Whether a
// delivery is the first or a repeat never matters, as in a real engine.
//
// Requests (little-endian), op at +0:
//   1 write     +8 u64 address, +16 u32 seed   -> i32 result
//   2 sync                                     -> i32 result
//   3 read      +1 u8 n, +2 u8 flags, +8 n × u64 addresses
//               flags: 1 trap on the next block delivered, 2 try a read while a
//               block is delivered, 4 trap right after asking
//               -> i32 result (of asking, if it failed), i32 inner read result,
//                  then n × (u64 address, i32 status, u32 fingerprint)
//   4 writes    +1 u8 count, +8 u64 first address -> u32 written, i32 first error
//   5 counters                                 -> u32 blocks delivered, u32 requests handled
//   6 corrupt   +8 text                        -> reports the grid corrupt: the machine stops
// Reads without a log entry (capability "read", qx_read) take op 3's layout:
// answered from the cache when every block is in it (the cache is kept),
// otherwise the missing blocks are asked for and the kernel hands the read
// over again once they are in. Flags: 4 trap right after asking, 8 try a
// write and a sync first (the reply's inner result is the sync's).
// Block i's pattern for a seed: word w = seed ^ (w * 0x9e3779b1); the
// fingerprint is FNV-1a over the block's u32 words.

import { reply, storage, storageWrite, storageSync, storageRead, KIND_REQUEST, KIND_BLOCK } from "../../../services/sdk/qenex";
import { GRID_BLOCK_BYTES, BLOCK_MSG_ADDRESS, BLOCK_MSG_STATUS, BLOCK_MSG_HEADER_BYTES, STORAGE_CORRUPT } from "../../../hal/devices/grid";

const INBOX_BYTES: u32 = <u32>(BLOCK_MSG_HEADER_BYTES + GRID_BLOCK_BYTES) + 1024;
const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);
const request: usize = memory.data(8 + GRID_BLOCK_BYTES, 16);
const CACHE: u32 = 64;
// The cache in one region, exported as the service's block cache
// (qx_cache_area/qx_cache_bytes), so the host's state digest skips it: its
// count of blocks and of deliveries, the list of blocks to ask for, then the
// three arrays. What it holds follows the reads made, logged or not.
const CACHE_BYTES: u32 = 16 + CACHE * 24;
const cacheArea: usize = memory.data(<i32>CACHE_BYTES, 16);
const cacheCount: usize = cacheArea; // u32 blocks cached
const cacheDelivered: usize = cacheArea + 4; // u32 blocks delivered since boot
const missing: usize = cacheArea + 16;
const cacheAddress: usize = missing + <usize>CACHE * 8;
const cacheStatus: usize = cacheAddress + <usize>CACHE * 8;
const cacheFinger: usize = cacheStatus + <usize>CACHE * 4;
const out: usize = memory.data(16 + <i32>CACHE * 16, 16);
// u32 0, u32 flags, i32 inner result, u32 0, u32 requests handled
const state: usize = memory.data(32, 16);
// Reads: the request, then room for the reply (qx_read_area).
const READ_REQUEST_MAX: u32 = 8 + CACHE * 8;
const READ_REPLY_MAX: u32 = 8 + CACHE * 16;
const readArea: usize = memory.data(<i32>(READ_REQUEST_MAX + READ_REPLY_MAX), 16);

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }
export function qx_cache_area(): usize { return cacheArea; }
export function qx_cache_bytes(): u32 { return CACHE_BYTES; }
export function qx_init(len: u32): void { memory.fill(state, 0, 32); }
export function qx_read_area(): usize { return readArea; }
export function qx_read_request_max(): u32 { return READ_REQUEST_MAX; }
export function qx_read_reply_max(): u32 { return READ_REPLY_MAX; }

function fingerprint(block: usize): u32 {
  let h: u32 = 2166136261;
  for (let i: usize = 0; i < <usize>GRID_BLOCK_BYTES; i += 4) h = (h ^ load<u32>(block + i)) * 16777619;
  return h;
}

function cached(address: u64): i32 {
  const n = load<u32>(cacheCount);
  for (let i: u32 = 0; i < n; i++) if (load<u64>(cacheAddress + (<usize>i << 3)) == address) return <i32>i;
  return -1;
}

function onBlock(len: u32): void {
  store<u32>(cacheDelivered, load<u32>(cacheDelivered) + 1);
  const flags = load<u32>(state + 4);
  if ((flags & 1) != 0) unreachable();
  if ((flags & 2) != 0) {
    store<u64>(missing, load<u64>(inbox + BLOCK_MSG_ADDRESS));
    store<i32>(state + 8, storageRead(missing, 1));
  }
  const n = load<u32>(cacheCount);
  if (n >= CACHE) return;
  const status = load<i32>(inbox + BLOCK_MSG_STATUS);
  store<u64>(cacheAddress + (<usize>n << 3), load<u64>(inbox + BLOCK_MSG_ADDRESS));
  store<i32>(cacheStatus + (<usize>n << 2), status);
  store<u32>(cacheFinger + (<usize>n << 2), status == 0 && len == <u32>(BLOCK_MSG_HEADER_BYTES + GRID_BLOCK_BYTES) ? fingerprint(inbox + BLOCK_MSG_HEADER_BYTES) : 0);
  store<u32>(cacheCount, n + 1);
}

function read(token: u32): void {
  const n = <u32>load<u8>(inbox + 1);
  store<u32>(state + 4, <u32>load<u8>(inbox + 2) & 3);
  let want: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const address = load<u64>(inbox + 8 + (<usize>i << 3));
    if (cached(address) < 0 && want < CACHE) { store<u64>(missing + (<usize>want << 3), address); want++; }
  }
  if (want > 0 || n > CACHE) {
    const r = storageRead(missing, n > CACHE ? n : want);
    if (r != 0) {
      store<i32>(out, r);
      store<i32>(out + 4, 0);
      reply(token, 0, out, 8);
      return;
    }
    if ((<u32>load<u8>(inbox + 2) & 4) != 0) unreachable();
    return; // delivered again once the blocks are in
  }
  store<i32>(out, 0);
  store<i32>(out + 4, load<i32>(state + 8));
  for (let i: u32 = 0; i < n; i++) {
    const c = cached(load<u64>(inbox + 8 + (<usize>i << 3)));
    const o = out + 8 + (<usize>i << 4);
    store<u64>(o, load<u64>(cacheAddress + (<usize>c << 3)));
    store<i32>(o + 8, load<i32>(cacheStatus + (<usize>c << 2)));
    store<u32>(o + 12, load<u32>(cacheFinger + (<usize>c << 2)));
  }
  store<u32>(cacheCount, 0); // answered: the cache starts over
  store<u32>(state + 4, 0);
  store<i32>(state + 8, 0);
  reply(token, 0, out, 8 + (n << 4));
}

function fill(address: u64, seed: u32): void {
  store<u64>(request, address);
  for (let w: u32 = 0; w < <u32>GRID_BLOCK_BYTES / 4; w++) store<u32>(request + 8 + (<usize>w << 2), seed ^ (w * 0x9e3779b1));
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  if (kind == KIND_BLOCK) { onBlock(len); return; }
  if (kind != KIND_REQUEST || len == 0) return;
  store<u32>(state + 16, load<u32>(state + 16) + 1);
  const op = load<u8>(inbox);
  if (op == 1) {
    fill(load<u64>(inbox + 8), load<u32>(inbox + 16));
    store<i32>(out, storageWrite(request));
    reply(token, 0, out, 4);
  } else if (op == 2) {
    store<i32>(out, storageSync());
    reply(token, 0, out, 4);
  } else if (op == 3) {
    read(token);
  } else if (op == 4) {
    const count = <u32>load<u8>(inbox + 1);
    const first = load<u64>(inbox + 8);
    let written: u32 = 0;
    let error: i32 = 0;
    for (let i: u32 = 0; i < count; i++) {
      fill(first + i, <u32>i);
      const r = storageWrite(request);
      if (r == 0) written++;
      else if (error == 0) error = r;
    }
    store<u32>(out, written);
    store<i32>(out + 4, error);
    reply(token, 0, out, 8);
  } else if (op == 6) {
    store<i32>(out, storage(<u32>STORAGE_CORRUPT, inbox + 8, len > 8 ? len - 8 : 0));
    reply(token, 0, out, 4);
  } else if (op == 5) {
    store<u32>(out, load<u32>(cacheDelivered));
    store<u32>(out + 4, load<u32>(state + 16));
    reply(token, 0, out, 8);
  } else {
    reply(token, 1, inbox, 0);
  }
}

// A read (qx_read): like op 3, but it changes nothing outside the cache and
// the read area, and keeps the cache as it is.
export function qx_read(len: u32): i32 {
  const n = <u32>load<u8>(readArea + 1);
  const flags = <u32>load<u8>(readArea + 2);
  const reply = readArea + READ_REQUEST_MAX;
  assert(len >= 8 && n <= CACHE && len >= 8 + (n << 3), "gridprobe read: a request with its addresses");
  let inner: i32 = 0;
  // A read may not write: both calls are refused (E_CONTEXT) before anything is read.
  if ((flags & 8) != 0) inner = storageWrite(request) == -5 ? storageSync() : -100;
  let want: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const address = load<u64>(readArea + 8 + (<usize>i << 3));
    if (cached(address) < 0) { store<u64>(missing + (<usize>want << 3), address); want++; }
  }
  if (want > 0) {
    const r = storageRead(missing, want);
    if ((flags & 4) != 0) unreachable();
    if (r != 0) { store<i32>(reply, r); store<i32>(reply + 4, inner); return 8; }
    return 0; // handed over again once the blocks are in
  }
  store<i32>(reply, 0);
  store<i32>(reply + 4, inner);
  for (let i: u32 = 0; i < n; i++) {
    const c = cached(load<u64>(readArea + 8 + (<usize>i << 3)));
    const o = reply + 8 + (<usize>i << 4);
    store<u64>(o, load<u64>(cacheAddress + (<usize>c << 3)));
    store<i32>(o + 8, load<i32>(cacheStatus + (<usize>c << 2)));
    store<u32>(o + 12, load<u32>(cacheFinger + (<usize>c << 2)));
  }
  return <i32>(8 + (n << 4));
}
