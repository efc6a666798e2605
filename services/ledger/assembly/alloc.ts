// Boot-time allocation of the service's tables.
//
// The stub runtime aligns blocks to 16 bytes only. A 128-byte record at an
// offset of 16 modulo 64 spans three cache lines instead of two, and half of
// the 32-byte id-table entries would straddle two lines, so every table
// starts on a cache line. Nothing is allocated after boot.

export const CACHE_LINE: usize = 64;

/**
 * `bytes` of zeroed memory starting on a cache line. The bump allocator
 * hands out memory never used, which WebAssembly zeroes; `prefault` writes the
 * zeros anyway, so the pages are resident now, not on first use
 * (config "prefault").
 */
export function allocTable(bytes: usize, prefault: bool): usize {
  const raw = heap.alloc(bytes + CACHE_LINE - 1);
  const ptr = (raw + CACHE_LINE - 1) & ~(CACHE_LINE - 1);
  assert(ptr >= raw && ptr + bytes <= raw + bytes + CACHE_LINE - 1, "aligned table outside its block");
  assert((ptr & (CACHE_LINE - 1)) == 0, "table not on a cache line");
  if (prefault) memory.fill(ptr, 0, bytes);
  return ptr;
}
