// Images whose service modules were prepared at build (host/image.ts flag
// PREPARED, host/fuel.ts prepareImageServices). Proves that a prepared image
// carries exactly the bytes boot would have prepared from the same modules,
// that its "prepared" section records the source modules' SHA-256, and that
// nothing in it can be swapped without the image being refused: a section
// replaced by other code, the flag cleared or set, the "prepared" section
// edited (digests and signatures), a module packed as prepared that has no
// fuel counter or another memory limit, an image prepared for another
// instrumentation ABI (the boot-time checks, without binaryen).
//
// Run: node --import tsx test/unit/prepared-image.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  IMAGE_FLAG_PREPARED, ImageError, openImage, packImage, parseImage, signImage,
  type PreparedInfo,
} from '../../host/image.ts';
import {
  FUEL_EXPORT, INSTRUMENTATION_ABI, ModuleRefused, checkPreparedInfo, checkPreparedModule, instrumenterName,
  limitMemory, memoryLimits, moduleExports, prepareImageServices, prepareModule,
} from '../../host/fuel.ts';
import { generateKeyPair } from '../../host/base/keys.ts';
import { validateManifest, type Manifest } from '../../host/manifest.ts';
import { ROOT } from '../support/asc.ts';

const MANIFEST: Manifest = validateManifest({
  name: 'bank', version: 1,
  kernel: {
    message_slots: 256, message_bytes_max: 65536, queue_depth: 1024, timers_max: 1024,
    requests_in_flight_max: 1024, batch_bytes_max: 4194304, log_preallocate_bytes: 67108864,
  },
  services: [
    { name: 'echo', module: 'echo', priority: 1, budget: 16, memory_pages_max: 16, caps: ['net', 'log'] },
    { name: 'counter', module: 'counter', priority: 0, budget: 32, memory_pages_max: 12, caps: ['net', 'log', 'time'] },
  ],
});
const KERNEL = new Uint8Array(readFileSync(join(ROOT, 'build/kernel.wasm')));
const SOURCES = new Map(MANIFEST.services.map((s) => [s.name, new Uint8Array(readFileSync(join(ROOT, 'build/services', `${s.module}.wasm`)))]));
const KEY = generateKeyPair();
const TRUST = [...KEY.publicKeys];

let prepared: Awaited<ReturnType<typeof prepareImageServices>>;
let image: Uint8Array;

test.before(async () => {
  prepared = await prepareImageServices(MANIFEST.services, SOURCES);
  image = signImage(packImage({ manifest: MANIFEST, kernel: KERNEL, ...prepared }), KEY);
});

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function errorOf(fn: () => unknown, type: new (...a: never[]) => Error = ImageError): string {
  try {
    fn();
  } catch (e) {
    assert.instance(e, type, `expected ${type.name}, got ${String(e)}`);
    return (e as Error).message;
  }
  throw new assert.Assertion({ message: `expected a ${type.name}, nothing was thrown`, operator: 'throws', expects: 'an error', actual: 'none' });
}

/** `image` with section `name`'s data replaced and its table digest recomputed (still signed by KEY's old signatures). */
function swapSection(bytes: Uint8Array, name: string, data: Uint8Array): Uint8Array {
  const parsed = parseImage(bytes);
  const contents = {
    manifest: parsed.manifest, kernel: parsed.kernel, services: new Map(parsed.services),
    ...(parsed.prepared == null ? {} : { prepared: parsed.prepared }),
  };
  contents.services.set(name, data);
  const repacked = packImage(contents);
  const body = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
  const out = new Uint8Array(repacked.length - 8 + (bytes.length - body));
  out.set(repacked.subarray(0, repacked.length - 8), 0);
  out.set(bytes.subarray(body), repacked.length - 8);
  return out;
}

test('a prepared image carries exactly what boot prepares, and says from what', async () => {
  // Proves: each service section is byte-for-byte prepareModule(source) for
  // its manifest entry (so booting it runs what boot-time preparation would
  // run), the flag is set, and the "prepared" section names this host's ABI
  // and instrumenter and each source module's SHA-256, in manifest order.
  const parsed = openImage(image, TRUST);
  assert.is(new DataView(image.buffer, image.byteOffset).getUint32(16, true), IMAGE_FLAG_PREPARED);
  assert.equal(parsed.sections.map((s) => s.name), ['manifest', 'kernel', 'service:echo', 'service:counter', 'prepared']);
  for (const spec of MANIFEST.services) {
    const source = SOURCES.get(spec.name)!;
    const atBoot = await prepareModule(source, { memoryPagesMax: spec.memory_pages_max });
    assert.equal(Buffer.from(parsed.services.get(spec.name)!), Buffer.from(atBoot), `${spec.name}: image bytes = boot-time preparation`);
    assert.equal(memoryLimits(atBoot)!.maximum, spec.memory_pages_max);
    assert.equal(checkPreparedModule(parsed.services.get(spec.name)!, spec.memory_pages_max), parsed.services.get(spec.name));
  }
  const info: PreparedInfo = parsed.prepared!;
  assert.is(info.instrumentation, INSTRUMENTATION_ABI);
  assert.is(info.instrumenter, instrumenterName());
  assert.match(info.instrumenter, /^qenex-fuel\/\d+ binaryen\/\S+$/);
  assert.equal(info.services, MANIFEST.services.map((s) => ({ name: s.name, source_sha256: sha256(SOURCES.get(s.name)!).toString('hex') })));
});

test('swapping a prepared module for other code is refused (digest, then signature)', () => {
  // Proves: the section's SHA-256 is checked against the table, and with the
  // table fixed up to match, the image digest moves and no signature
  // verifies: the uninstrumented source, or another service's prepared
  // module, cannot take a prepared module's place.
  const parsed = parseImage(image);
  const echo = parsed.sections.find((s) => s.name === 'service:echo')!;
  const flipped = image.slice();
  flipped[echo.offset + echo.length - 1] ^= 1;
  assert.match(errorOf(() => parseImage(flipped)), "section 'service:echo' digest mismatch");
  for (const other of [SOURCES.get('echo')!, parsed.services.get('counter')!]) {
    const swapped = swapSection(image, 'echo', other);
    assert.ok(parseImage(swapped).services.get('echo')!.length === other.length, 'the swap is well formed');
    assert.match(errorOf(() => openImage(swapped, TRUST)), /signature by key .* does not verify/);
  }
});

test('the PREPARED flag and the "prepared" section are covered by the digest and checked', () => {
  // Proves: clearing or setting the flag leaves the section table and the
  // flag out of step (refused before any signature is looked at); an
  // edited "prepared" section fails its digest, and a re-packed one with
  // other contents fails the signature; unknown flag bits are refused.
  const at = 16;
  const cleared = image.slice();
  new DataView(cleared.buffer).setUint32(at, 0, true);
  assert.match(errorOf(() => parseImage(cleared)), /^section table: 5 sections, the manifest needs 4/);
  const unknown = image.slice();
  new DataView(unknown.buffer).setUint32(at, IMAGE_FLAG_PREPARED | 4, true);
  assert.match(errorOf(() => parseImage(unknown)), /^header: unknown flags 0x4 /);
  const plain = signImage(packImage({ manifest: MANIFEST, kernel: KERNEL, services: SOURCES }), KEY);
  const set = plain.slice();
  new DataView(set.buffer).setUint32(at, IMAGE_FLAG_PREPARED, true);
  assert.match(errorOf(() => parseImage(set)), /^section table: 4 sections, the manifest needs 5/);
  const section = parseImage(image).sections.at(-1)!;
  assert.is(section.name, 'prepared');
  const edited = image.slice();
  edited[section.offset + 20] ^= 1;
  assert.match(errorOf(() => parseImage(edited)), "section 'prepared' digest mismatch");
  const other = { ...prepared.prepared, instrumenter: 'qenex-fuel/1 binaryen/other' };
  const relabelled = signImage(packImage({ manifest: MANIFEST, kernel: KERNEL, services: prepared.services, prepared: other }), generateKeyPair());
  assert.match(errorOf(() => openImage(relabelled, TRUST)), /no signature from a trusted key/);
});

test('a "prepared" section that is not exactly right is refused when packing and parsing', () => {
  // Proves the section's checks: keys and order, the ABI, the instrumenter's
  // characters, one entry per manifest service in manifest order, lowercase
  // hex SHA-256s; packImage makes the same checks, so it never writes one a
  // reader would refuse.
  const good = prepared.prepared;
  const cases: [string, unknown, RegExp][] = [
    ['keys', { instrumenter: good.instrumenter, instrumentation: good.instrumentation, services: good.services }, /keys are instrumenter,instrumentation,services/],
    ['abi', { ...good, instrumentation: 0 }, /instrumentation must be a positive integer/],
    ['instrumenter', { ...good, instrumenter: 'a\nb' }, /instrumenter must be 1\.\.128 printable ASCII/],
    ['count', { ...good, services: good.services.slice(1) }, /services must list the manifest's 2 service/],
    ['order', { ...good, services: [...good.services].reverse() }, /services\[0\] must be \{"name":"echo"/],
    ['sha', { ...good, services: [good.services[0], { ...good.services[1], source_sha256: 'AB'.repeat(32) }] }, /services\[1\] \(counter\): source_sha256 must be 64 lowercase hex/],
  ];
  for (const [what, info, pattern] of cases) {
    assert.match(errorOf(() => packImage({ manifest: MANIFEST, kernel: KERNEL, services: prepared.services, prepared: info as PreparedInfo })), pattern, what);
  }
});

test('boot-time checks: a fuel counter, the manifest\'s memory limit, this host\'s ABI', () => {
  // Proves what Machine.boot checks in a prepared image without binaryen: a
  // module with no qx_fuel global (say, the source packed as prepared by a
  // careless or hostile build) is refused, as is one prepared for another
  // memory_pages_max, and an image prepared for another instrumentation ABI.
  const echo = prepared.services.get('echo')!;
  assert.ok(moduleExports(echo).some((e) => e.name === FUEL_EXPORT && e.kind === 3));
  assert.not.ok(moduleExports(SOURCES.get('echo')!).some((e) => e.name === FUEL_EXPORT));
  assert.match(errorOf(() => checkPreparedModule(SOURCES.get('echo')!, 16), ModuleRefused), /memory maximum \(none pages\)/);
  assert.match(errorOf(() => checkPreparedModule(limitMemory(SOURCES.get('echo')!, 16), 16), ModuleRefused), /exports no qx_fuel global/);
  assert.match(errorOf(() => checkPreparedModule(echo, 15), ModuleRefused), /memory maximum \(16 pages\) is not the one preparing for memory_pages_max 15 gives/);
  // A maximum below the manifest's is the module's own, kept as boot-time preparation keeps it.
  const counter = prepared.services.get('counter')!;
  assert.is(checkPreparedModule(counter, 16), counter);
  assert.not.throws(() => checkPreparedInfo(prepared.prepared));
  assert.match(errorOf(() => checkPreparedInfo({ ...prepared.prepared, instrumentation: INSTRUMENTATION_ABI + 1 }), ModuleRefused),
    `prepared for instrumentation ABI ${INSTRUMENTATION_ABI + 1}`);
});

test.run();
