// host/snapshot-pages.ts: the incremental part of a machine snapshot, for a
// service that keeps a grid (docs/storage.md "Checkpoints").
//
// Such a service's memory is its hot state (accounts, the newest transfers,
// the trees' descriptors and memtables, its free set) plus a block cache. The
// cache is not state, and most of the rest does not change between two
// snapshots, so a whole-memory copy would rewrite hundreds of MiB to record a
// few. Instead its memory part in the snapshot file is a page map, and the
// pages live in a page file beside the snapshots (snapshots/service.<i>.pages,
// slots of 64 KiB):
//   map      u32 PAGED_MARK, u32 memory pages, u32 cache bytes (what
//            qx_cache_bytes said: qx_cache_reset takes it at restore), u32 0,
//            then per page a u32 slot (NO_SLOT: zeros, or inside the cache),
//            then per page its SHA-256 (zeros for NO_SLOT).
//   capture  (at the quiescent point, synchronous) each page outside the cache
//            that is not all zeros is hashed; one whose hash equals the one
//            the last durable snapshot recorded keeps its slot, any other is
//            copied and gets a slot that snapshot does not use.
//   write    the new pages into their slots, fdatasync, before the snapshot
//            file that names them is written (host/snapshot.ts).
//   restore  each slot read back and checked against its hash; the cache's
//            pages are zeros, and the service's qx_cache_reset lays its cache
//            out again, empty (services/sdk/ABI.md).
// Only the newest snapshot is kept on a machine with such a service, so the
// slots in use are exactly its map's: everything else is free for the next.
// The service's own blocks (its grid) are not copied at all: the snapshot
// refers to them, and the kernel's checkpoint messages keep them from being
// reused while it may (kernel/snapshot.ts).

import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { nativeAddon } from './base/addon.ts';
import type { BlockBackend } from './devices/block-backend.ts';
import type { CacheArea } from './services.ts';

export const PAGED_MARK = 0xffffffff;
export const NO_SLOT = 0xffffffff;
const PAGE_BYTES = 65536;
const HASH_BYTES = 32;
const MAP_HEAD_BYTES = 16;
const ZERO_PAGE = new Uint8Array(PAGE_BYTES);

export interface PageMap {
  pages: number;
  cacheBytes: number;
  /** Per page: its slot in the page file, or NO_SLOT. */
  slots: Uint32Array;
  /** Per page: SHA-256 of its bytes (zeros for NO_SLOT). */
  hashes: Uint8Array;
}

/** What a capture copied: the map, and the pages to write before it is named by a snapshot. */
export interface PagedCapture {
  map: PageMap;
  fresh: { slot: number; bytes: Uint8Array }[];
}

export class PageError extends Error {}

export function pageFileName(serviceIndex: number): string {
  return `service.${serviceIndex}.pages`;
}

/** Whether a snapshot's memory part is a page map (a sparse part starts with its page count, at most 65536). */
export function isPageMap(part: Uint8Array): boolean {
  return part.length >= 4 && new DataView(part.buffer, part.byteOffset, part.byteLength).getUint32(0, true) === PAGED_MARK;
}

export function encodePageMap(m: PageMap): Uint8Array {
  const out = new Uint8Array(MAP_HEAD_BYTES + m.pages * 4 + m.pages * HASH_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, PAGED_MARK, true);
  dv.setUint32(4, m.pages, true);
  dv.setUint32(8, m.cacheBytes, true);
  for (let i = 0; i < m.pages; i++) dv.setUint32(MAP_HEAD_BYTES + i * 4, m.slots[i], true);
  out.set(m.hashes, MAP_HEAD_BYTES + m.pages * 4);
  return out;
}

export function decodePageMap(part: Uint8Array, what: string): PageMap {
  if (!isPageMap(part) || part.length < MAP_HEAD_BYTES) throw new PageError(`${what}: not a page map`);
  const dv = new DataView(part.buffer, part.byteOffset, part.byteLength);
  const pages = dv.getUint32(4, true);
  if (pages > 65536) throw new PageError(`${what}: ${pages} memory pages is more than a wasm memory has`);
  if (part.length !== MAP_HEAD_BYTES + pages * (4 + HASH_BYTES)) throw new PageError(`${what}: a page map of ${part.length} bytes for ${pages} pages`);
  const slots = new Uint32Array(pages);
  for (let i = 0; i < pages; i++) slots[i] = dv.getUint32(MAP_HEAD_BYTES + i * 4, true);
  const hashes = part.slice(MAP_HEAD_BYTES + pages * 4);
  return { pages, cacheBytes: dv.getUint32(8, true), slots, hashes };
}

/**
 * Reads the pages a map names and returns the memory as a sparse part
 * (host/snapshot.ts: u32 pages, a bitmap of stored pages, the pages), each
 * page checked against its hash.
 */
export function readPages(file: BlockBackend, m: PageMap, what: string): Uint8Array {
  const bitmapBytes = Math.ceil(m.pages / 8);
  const out = new Uint8Array(4 + bitmapBytes + pagesNamed(m) * PAGE_BYTES);
  new DataView(out.buffer).setUint32(0, m.pages, true);
  const body = 4 + bitmapBytes;
  const stored: number[] = []; // page numbers, in the order their bytes follow the bitmap
  for (let i = 0; i < m.pages; i++) {
    const slot = m.slots[i];
    if (slot === NO_SLOT) continue;
    const at = body + stored.length * PAGE_BYTES;
    if (file.readAt(slot * PAGE_BYTES, out.subarray(at, at + PAGE_BYTES)) !== PAGE_BYTES) throw new PageError(`${what}: page ${i} (slot ${slot}) lies past the end of the page file`);
    out[4 + (i >> 3)] |= 1 << (i & 7);
    stored.push(i);
  }
  const digests = new Uint8Array(stored.length * HASH_BYTES);
  pageDigests(out.subarray(body), 0, 0, digests);
  for (const [k, i] of stored.entries()) {
    if (Buffer.compare(digests.subarray(k * HASH_BYTES, (k + 1) * HASH_BYTES), m.hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)) !== 0) {
      throw new PageError(`${what}: page ${i} (slot ${m.slots[i]}) does not match its hash`);
    }
  }
  return out;
}

/**
 * Writes into `out` (32 bytes a page) the SHA-256 of each page of `mem`
 * (whole pages), or 32 zero bytes for a page of zeros or one of pages
 * [skipFrom, skipTo). The machine is paused while a capture runs this over
 * all of a service's memory, so it runs natively on every core
 * (host/native/src/pages.rs) when the addon has it; the TypeScript
 * implementation is the same contract (test/unit/snapshot-pages.test.ts).
 */
export function pageDigests(mem: Uint8Array, skipFrom: number, skipTo: number, out: Uint8Array, impl: 'auto' | 'pure' = 'auto'): void {
  if (mem.length % PAGE_BYTES !== 0) throw new PageError(`memory of ${mem.length} bytes is not whole pages`);
  if (out.length !== (mem.length / PAGE_BYTES) * HASH_BYTES) throw new PageError(`${out.length} bytes of digests for ${mem.length / PAGE_BYTES} pages`);
  const native = impl === 'auto' ? nativeAddon()?.pageDigests : undefined;
  if (native !== undefined) return native(mem, skipFrom, skipTo, out, availableParallelism());
  for (let i = 0; i * PAGE_BYTES < mem.length; i++) {
    const page = mem.subarray(i * PAGE_BYTES, (i + 1) * PAGE_BYTES);
    const o = out.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
    if ((i >= skipFrom && i < skipTo) || Buffer.compare(page, ZERO_PAGE) === 0) o.fill(0);
    else o.set(createHash('sha256').update(page).digest());
  }
}

/** Whether digest `i` of `hashes` is all zeros (a page of zeros, or one skipped). */
function noDigest(hashes: Uint8Array, i: number): boolean {
  for (let k = i * HASH_BYTES; k < (i + 1) * HASH_BYTES; k++) if (hashes[k] !== 0) return false;
  return true;
}

/** How many pages a map names in the page file. */
export function pagesNamed(m: PageMap): number {
  return m.slots.reduce((n, s) => n + (s === NO_SLOT ? 0 : 1), 0);
}

/** One service's pages: the map of the newest durable snapshot, whose slots are the ones in use. */
export class PageSet {
  private base: PageMap | null = null;

  /** Copies what changed since the base, at the quiescent point. */
  capture(mem: Uint8Array, cache: CacheArea): PagedCapture {
    if (mem.length % PAGE_BYTES !== 0) throw new PageError(`memory of ${mem.length} bytes is not whole pages`);
    const pages = mem.length / PAGE_BYTES;
    const slots = new Uint32Array(pages).fill(NO_SLOT);
    const hashes = new Uint8Array(pages * HASH_BYTES);
    const span = this.slotsSpan();
    const used = new Uint8Array(Math.ceil(span / 8));
    const base = this.base;
    if (base !== null) for (const s of base.slots) if (s !== NO_SLOT) used[s >> 3] |= 1 << (s & 7);
    let nextFree = 0; // the lowest slot the base does not use: the file stays as small as the pages in use
    const take = (): number => {
      while (nextFree < span && (used[nextFree >> 3] & (1 << (nextFree & 7))) !== 0) nextFree++;
      return nextFree++;
    };
    const fresh: { slot: number; bytes: Uint8Array }[] = [];
    // The cache's whole pages are not state; a page it shares with state is.
    const cacheFrom = cache.bytes > 0 ? Math.ceil(cache.area / PAGE_BYTES) : 0;
    const cacheTo = cache.bytes > 0 ? Math.floor((cache.area + cache.bytes) / PAGE_BYTES) : 0;
    pageDigests(mem, cacheFrom, cacheTo, hashes);
    for (let i = 0; i < pages; i++) {
      if (noDigest(hashes, i)) continue; // zeros, or the cache's
      if (base !== null && i < base.pages && base.slots[i] !== NO_SLOT
        && Buffer.compare(hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), base.hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)) === 0) {
        slots[i] = base.slots[i];
        continue;
      }
      slots[i] = take();
      fresh.push({ slot: slots[i], bytes: mem.slice(i * PAGE_BYTES, (i + 1) * PAGE_BYTES) });
    }
    return { map: { pages, cacheBytes: cache.bytes, slots, hashes }, fresh };
  }

  /** The snapshot naming `map` is durable (or was restored): its slots are the ones in use. */
  adopt(map: PageMap): void {
    this.base = map;
  }

  /** Forgets the base: the next capture writes every page (no snapshot on disk refers to the file any more). */
  reset(): void {
    this.base = null;
  }

  private slotsSpan(): number {
    let max = 0;
    if (this.base !== null) for (const s of this.base.slots) if (s !== NO_SLOT && s + 1 > max) max = s + 1;
    return max;
  }
}

/** Writes a capture's new pages into their slots and makes them durable. */
export async function writePages(file: BlockBackend, c: PagedCapture): Promise<number> {
  let bytes = 0;
  for (const p of c.fresh) {
    file.writeAt(p.slot * PAGE_BYTES, p.bytes);
    bytes += p.bytes.length;
  }
  await file.sync();
  return bytes;
}
