// Fuzzing the image parser (host/image.ts), the first thing that reads a
// file from outside. Proves: for any mutation of a signed image (flips,
// overwrites, insertions, deletions, truncation) and for arbitrary bytes,
// parseImage either returns or throws ImageError with a message (never a
// TypeError/RangeError, never a hang), and openImage accepts the bytes only
// when they are exactly the signed image (every changed byte is caught by a
// section digest, the header/table digest or the signature).

import { test } from 'uvu';
import fc from 'fast-check';
import { IMAGE_MAGIC } from '../../host/image.ts';
import { checkImage, imageFixture } from '../../fuzz/targets/image.ts';
import { count, fuzzParams, mutate, mutationArb, printSummary } from './support.ts';

// The oracle and the signed fixture are the fuzz target's (fuzz/targets/image.ts).
const { signed } = imageFixture();

function check(bytes: Uint8Array): void {
  count('image');
  checkImage(bytes);
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
