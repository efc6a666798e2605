// `qenex build` packs the service modules prepared (fuel counter, exported
// globals, memory limit), and `qenex boot` runs those bytes without
// preparing them again. Proves, through the real CLI: the built image is
// flagged prepared and `inspect` says by what and from which source
// modules; it boots and serves its ledger; `replay` of its log gives the
// state hash the live run reported; and a prepared image whose ledger
// module was swapped for code without the fuel counter does not boot, even
// signed by the trusted key, with one line naming the service and nothing
// written.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { limitMemory } from '../../host/fuel.ts';
import { packImage, parseImage, signImage } from '../../host/image.ts';
import { loadSigningKey } from '../../host/base/keys.ts';
import { ROOT, event, makeImage, removeDir, runCli, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let built: string;
test.before(() => {
  img = makeImage('prepared'); // for its keys
  built = join(img.dir, 'built.qxi');
  const r = runCli(['build', join(ROOT, 'images/bank'), '-o', built, '--modules', join(ROOT, 'build'), '--key', img.keyPath], 120_000);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /services prepared by qenex-fuel\/1 binaryen\//);
});
test.after(() => removeDir(img.dir));

test('the built image is prepared and inspect says by what, from which modules', () => {
  const parsed = parseImage(new Uint8Array(readFileSync(built)));
  assert.ok(parsed.prepared != null);
  const ledgerSource = readFileSync(join(ROOT, 'build/services/ledger.wasm'));
  assert.is(parsed.prepared!.services[0].source_sha256, createHash('sha256').update(ledgerSource).digest('hex'));
  const text = runCli(['inspect', built]);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /prepared   at build by qenex-fuel\/1 binaryen\/\S+ \(instrumentation ABI 1\)/);
  assert.match(text.stdout, `  ledger                   sha256:${parsed.prepared!.services[0].source_sha256}`);
  const json = JSON.parse(runCli(['inspect', built, '--json']).stdout);
  assert.equal(json.prepared, parsed.prepared);
});

test('a prepared image boots, and its log replays to the same state hash', () => {
  const data = join(img.dir, 'data-built');
  const live = runCli(['boot', built, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(live.code, 0, live.stderr);
  const ready = event(live.events, 'ready');
  assert.ok(ready !== undefined, live.stdout);
  const stopped = event(live.events, 'stopped')!;
  const replay = runCli(['replay', '--data', data]);
  assert.is(replay.code, 0, replay.stderr);
  assert.is(event(replay.events, 'replay')!.state_hash, stopped.state_hash);
  const again = runCli(['boot', built, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(again.code, 0, again.stderr);
  assert.is(event(again.events, 'ready')!.state_hash, stopped.state_hash);
});

test('a module packed as prepared without the fuel counter is refused, even when signed', () => {
  // The signer's build would have to be broken or hostile: the ledger's
  // source module (its memory limit set, so only the counter is missing)
  // in place of the prepared one, flagged prepared and signed by the trusted key.
  const parsed = parseImage(new Uint8Array(readFileSync(built)));
  const services = new Map(parsed.services);
  const ledger = parsed.manifest.services.find((s) => s.name === 'ledger')!;
  services.set('ledger', limitMemory(new Uint8Array(readFileSync(join(ROOT, 'build/services/ledger.wasm'))), ledger.memory_pages_max));
  const forged = signImage(packImage({ manifest: parsed.manifest, kernel: parsed.kernel, services, prepared: parsed.prepared! }), loadSigningKey(img.keyPath));
  const path = join(img.dir, 'forged.qxi');
  writeFileSync(path, forged);
  const data = join(img.dir, 'data-forged');
  const r = runCli(['boot', path, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stderr, /^qenex: service ledger: the image says the module is prepared, but it exports no qx_fuel global/);
  assert.is(r.stderr.trim().split('\n').length, 1, 'one line on stderr');
  assert.not.ok(existsSync(data), 'nothing was written');
});

test.run();
