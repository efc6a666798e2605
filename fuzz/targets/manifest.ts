// fuzz/targets/manifest.ts: the manifest validator (host/manifest.ts), which
// reads the JSON an image builder and the image loader get from outside.
// The oracle: validateManifest throws ManifestError naming what is wrong, or
// returns a manifest that is its own canonical form and a fixed point
// (validating it again gives the same bytes), never another exception.

import { ManifestError, canonicalManifestBytes, validateManifest, type Manifest } from '../../host/manifest.ts';
import { expect, type FuzzTarget } from '../target.ts';

/** The oracle for one JSON value. */
export function checkManifest(json: unknown): void {
  let m: Manifest;
  try {
    m = validateManifest(json);
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    expect(e.message.length > 0, 'a ManifestError without a message');
    return;
  }
  const once = JSON.stringify(m);
  expect(new TextDecoder().decode(canonicalManifestBytes(m)) === once, 'a valid manifest is not its own canonical form');
  expect(JSON.stringify(validateManifest(JSON.parse(once))) === once, 'validation is not a fixed point');
}

export const manifestTarget: FuzzTarget = {
  name: 'manifest',
  about: 'manifest JSON: a ManifestError that says what is wrong, or a manifest that is a fixed point of validation',
  sources: ['host/manifest.ts'],
  maxLen: 8192,
  dictionary: ['{', '}', '[', ']', ',', ':', 'null', 'true', '0', '-1', '4294967296', '1.5', '"__proto__"', '"constructor"',
    '"name"', '"version"', '"kernel"', '"services"', '"module"', '"priority"', '"budget"', '"memory_pages_max"', '"caps"', '"net"', '"log"', '"send:ledger"',
    '"message_slots"', '"message_bytes_max"', '"queue_depth"', '"timers_max"', '"requests_in_flight_max"', '"batch_bytes_max"', '"config"'],
  check(input) {
    let json: unknown;
    try { json = JSON.parse(Buffer.from(input).toString('utf8')); } catch { return; } // not JSON: loadManifestFile's own refusal
    checkManifest(json);
  },
};
