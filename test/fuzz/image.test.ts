// Fuzzing the image parser (host/image.ts), the first thing that reads a
// file from outside. Proves: for any mutation of a signed image (flips,
// overwrites, insertions, deletions, truncation) and for arbitrary bytes,
// parseImage either returns or throws ImageError with a message (never a
// TypeError/RangeError, never a hang), and openImage accepts the bytes only
// when they are exactly the signed image (every changed byte is caught by a
// section digest, the header/table digest or the signature).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ImageError, IMAGE_MAGIC, openImage, packImage, parseImage, signImage } from '../../host/image.ts';
import { generateKeyPair } from '../../host/keys.ts';
import { validateManifest } from '../../host/manifest.ts';
import { count, equalBytes, fuzzParams, mutate, mutationArb, printSummary } from './support.ts';

const manifest = validateManifest({
  name: 'fuzz', version: 1,
  kernel: { message_slots: 8, message_bytes_max: 65536, queue_depth: 64, timers_max: 16, requests_in_flight_max: 64, batch_bytes_max: 1048576, log_preallocate_bytes: 1048576 },
  services: [
    { name: 'a', module: 'a', priority: 0, budget: 8, memory_pages_max: 16, caps: ['net'] },
    { name: 'b', module: 'b', priority: 1, budget: 8, memory_pages_max: 16, caps: ['log', 'send:a'] },
  ],
});
const key = generateKeyPair();
const signed = signImage(packImage({
  manifest,
  kernel: Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 9, 9, 9),
  services: new Map([['a', Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0)], ['b', Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1)]]),
}), key);

/** The oracle for one input: a clear ImageError or a parsed image; accepted by openImage only if untouched. */
function check(bytes: Uint8Array): void {
  count('image');
  let parsed = false;
  try {
    parseImage(bytes);
    parsed = true;
  } catch (e) {
    if (!(e instanceof ImageError)) throw new Error(`parseImage threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.ok(e.message.length > 0, 'the error says what is wrong');
  }
  let opened = false;
  try {
    openImage(bytes, key.publicKeys);
    opened = true;
  } catch (e) {
    if (!(e instanceof ImageError)) throw new Error(`openImage threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  if (opened) assert.ok(parsed);
  assert.is(opened, equalBytes(bytes, signed), 'only the signed bytes themselves open');
}

test('the fixture opens', () => {
  check(signed);
});

test('mutated signed images: a clear error or the very same image', () => {
  fc.assert(fc.property(fc.array(mutationArb(), { minLength: 1, maxLength: 4 }), (ms) => check(mutate(signed, ms))), fuzzParams(400));
});

test('arbitrary bytes and bytes behind a valid magic', () => {
  const magic = new TextEncoder().encode(IMAGE_MAGIC);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (b, withMagic) => {
    const bytes = withMagic ? Uint8Array.from([...magic, ...b]) : b;
    check(bytes);
  }), fuzzParams(400));
});

test('headers with plausible fields: counts, sizes and offsets near the limits', () => {
  // A valid header prefix with chosen counts and sizes, then random bytes:
  // reaches the table and signature-block checks rather than stopping at the magic.
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }),
    fc.uint8Array({ maxLength: 600 }), (sections, tableBytes, bodyBytes, rest) => {
      const out = new Uint8Array(24 + rest.length);
      const dv = new DataView(out.buffer);
      out.set(new TextEncoder().encode(IMAGE_MAGIC));
      dv.setUint16(4, 1, true);
      dv.setUint16(6, sections, true);
      dv.setUint32(8, tableBytes, true);
      dv.setUint32(12, bodyBytes, true);
      out.set(rest, 24);
      check(out);
    }), fuzzParams(300));
});

test.after(() => printSummary('image'));
test.run();
