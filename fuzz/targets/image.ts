// fuzz/targets/image.ts: the image parser (host/image.ts), the first thing
// that reads a file from outside. The oracle: parseImage returns or throws ImageError with a
// message (never a TypeError or RangeError), and openImage accepts the
// bytes only when they are exactly the signed fixture image: every changed
// byte is caught by a section digest, the header and table digest or the
// signature.

import { ImageError, IMAGE_MAGIC, openImage, packImage, parseImage, signImage } from '../../host/image.ts';
import { generateKeyPair, type SigningKey } from '../../host/base/keys.ts';
import { validateManifest } from '../../host/manifest.ts';
import { expect, type FuzzTarget } from '../target.ts';

let fixture: { key: SigningKey; signed: Uint8Array } | null = null;

/** A small signed image (two services of a few bytes) and its key; made once per process. */
export function imageFixture(): { key: SigningKey; signed: Uint8Array } {
  if (fixture !== null) return fixture;
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
  fixture = { key, signed };
  return fixture;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

/** The oracle for one input. */
export function checkImage(bytes: Uint8Array): void {
  const { key, signed } = imageFixture();
  let parsed = false;
  try {
    parseImage(bytes);
    parsed = true;
  } catch (e) {
    if (!(e instanceof ImageError)) throw e;
    expect(e.message.length > 0, 'an ImageError without a message');
  }
  let opened = false;
  try {
    openImage(bytes, key.publicKeys);
    opened = true;
  } catch (e) {
    if (!(e instanceof ImageError)) throw e;
  }
  expect(!opened || parsed, 'openImage accepted what parseImage refuses');
  expect(opened === sameBytes(bytes, signed), opened ? 'openImage accepted bytes that are not the signed image' : 'openImage refused the signed image');
}

export const imageTarget: FuzzTarget = {
  name: 'image',
  about: 'image files: a clear ImageError or the very image that was signed',
  sources: ['host/image.ts'],
  maxLen: 16384,
  dictionary: [IMAGE_MAGIC, '\x00asm\x01\x00\x00\x00', '"services"', '"kernel"', '"manifest"', '"name"', '"module"', '"caps"'],
  setup() { imageFixture(); },
  check: checkImage,
};
