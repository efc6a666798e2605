// host/snapshot-pages.ts: the incremental memory part of a service that keeps
// a grid. Proves: a capture names every non-zero page outside the cache and
// copies only those that changed since the base; unchanged pages keep their
// slots and new ones never take a slot the base uses; the map round-trips;
// reading back gives the memory with the cache as zeros; a page whose bytes
// changed in the file is refused, naming it; the native page digests give
// the TypeScript ones' bytes (SHA-256, zeros for zero and skipped pages).
//
// Run: node --import tsx test/unit/snapshot-pages.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAddon, openBlockBackend } from '../../host/devices/block-backend.ts';
import { expandMemory } from '../../host/snapshot.ts';
import { NO_SLOT, PageError, PageSet, decodePageMap, encodePageMap, pageDigests, pagesNamed, readPages, writePages } from '../../host/snapshot-pages.ts';

const PAGE = 65536;

function memoryOf(pages: number, fill: (page: number) => number): Uint8Array {
  const m = new Uint8Array(pages * PAGE);
  for (let p = 0; p < pages; p++) {
    const v = fill(p);
    if (v !== 0) m.fill(v, p * PAGE, p * PAGE + 100); // the rest of the page stays zero
  }
  return m;
}

test('capture, write, read back: only changed pages are written, the cache is left out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qenex-pages-'));
  try {
    const file = openBlockBackend(join(dir, 'service.0.pages'), { create: true, lock: false, readOnly: false });
    // 8 pages: page 2 is zeros, pages 5 and 6 are the cache.
    const cache = { area: 5 * PAGE, bytes: 2 * PAGE };
    const mem = memoryOf(8, (p) => (p === 2 ? 0 : p + 1));
    const set = new PageSet();
    const first = set.capture(mem, cache);
    assert.is(first.fresh.length, 5, 'pages 0, 1, 3, 4, 7: every non-zero page outside the cache');
    assert.is(pagesNamed(first.map), 5);
    assert.equal([first.map.slots[2], first.map.slots[5], first.map.slots[6]], [NO_SLOT, NO_SLOT, NO_SLOT]);
    await writePages(file, first);
    set.adopt(first.map);

    // Page 3 changes, page 2 gets bytes, the cache changes (not state).
    mem.fill(99, 3 * PAGE, 3 * PAGE + 10);
    mem.fill(7, 2 * PAGE, 2 * PAGE + 10);
    mem.fill(42, 5 * PAGE, 6 * PAGE);
    const second = set.capture(mem, cache);
    assert.equal(second.fresh.map((f) => second.map.slots.indexOf(f.slot)).sort(), [2, 3], 'only the pages that changed are copied');
    const baseSlots = new Set([...first.map.slots].filter((s) => s !== NO_SLOT));
    for (const f of second.fresh) assert.not.ok(baseSlots.has(f.slot), `a new page takes a slot the base does not use (${f.slot})`);
    for (const p of [0, 1, 4, 7]) assert.is(second.map.slots[p], first.map.slots[p], `page ${p} keeps its slot`);
    await writePages(file, second);

    const map = decodePageMap(encodePageMap(second.map), 'test');
    assert.equal([...map.slots], [...second.map.slots]);
    const back = expandMemory(readPages(file, map, 'test'), 'test');
    const want = mem.slice();
    want.fill(0, 5 * PAGE, 7 * PAGE);
    assert.ok(Buffer.from(back).equals(Buffer.from(want)), 'the memory comes back, the cache as zeros');

    // A page changed in the file (a bit flipped on disk) is named.
    const flipped = new Uint8Array(1);
    file.readAt(map.slots[3] * PAGE + 5, flipped);
    file.writeAt(map.slots[3] * PAGE + 5, Uint8Array.of(flipped[0] ^ 1));
    assert.throws(() => readPages(file, map, 'service ledger'), (e: Error) => e instanceof PageError && /page 3 \(slot \d+\) does not match its hash/.test(e.message));
    file.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a page map that does not add up is refused', () => {
  const set = new PageSet();
  const m = set.capture(memoryOf(2, (p) => p + 1), { area: 0, bytes: 0 }).map;
  const bytes = encodePageMap(m);
  assert.throws(() => decodePageMap(bytes.subarray(0, bytes.length - 1), 'x'), /a page map of \d+ bytes for 2 pages/);
  assert.throws(() => decodePageMap(Uint8Array.of(1, 0, 0, 0), 'x'), /not a page map/);
});

test('page digests: native and TypeScript agree, over every stripe and thread count', () => {
  assert.ok(nativeAddon()?.pageDigests !== undefined, 'the native addon (make native) has pageDigests');
  const pages = 203; // not a multiple of a thread's stripe
  const mem = memoryOf(pages, (p) => (p % 7 === 3 ? 0 : (p * 13) % 251 + 1));
  mem[150 * PAGE + PAGE - 1] = 9; // data only in a page's last byte
  const pure = new Uint8Array(pages * 32);
  pageDigests(mem, 40, 60, pure, 'pure');
  assert.ok(createHash('sha256').update(mem.subarray(PAGE, 2 * PAGE)).digest().equals(pure.subarray(32, 64)), 'a page with data: its SHA-256');
  assert.ok(pure.subarray(3 * 32, 4 * 32).every((b) => b === 0), 'a page of zeros: no digest');
  assert.ok(pure.subarray(40 * 32, 60 * 32).every((b) => b === 0), 'a skipped page: no digest');
  assert.ok(pure.subarray(150 * 32, 151 * 32).some((b) => b !== 0), 'a page with one byte set is hashed');
  for (const threads of [1, 2, 3, 16]) {
    const native = new Uint8Array(pages * 32);
    nativeAddon()!.pageDigests!(mem, 40, 60, native, threads);
    assert.equal(Buffer.compare(native, pure), 0, `${threads} threads`);
  }
  assert.throws(() => pageDigests(mem.subarray(1), 0, 0, pure), /not whole pages/);
  assert.throws(() => pageDigests(mem, 0, 0, pure.subarray(1)), /bytes of digests for 203 pages/);
});

test.run();
