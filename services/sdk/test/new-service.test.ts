// `qenex new service <name>` (host/cmd/new.ts): proves the scaffold is a
// working service: in a scratch root that shares this repository's SDK,
// toolchain and package.json (symlinks), the generated folder holds the
// source and a test, the test builds the module with asc and passes against
// the SDK's fake kernel (services/sdk/harness.ts), --manifest adds a valid
// entry, and bad names or an existing folder are refused without writing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../host/cmd/new.ts';
import { CliError } from '../../../host/cmd/args.ts';
import { validateManifest } from '../../../host/manifest.ts';
import { ROOT, tempDir } from '../../../test/services/build.ts';

const root = tempDir('new-service');
mkdirSync(join(root, 'services'));
symlinkSync(join(ROOT, 'services/sdk'), join(root, 'services/sdk'));
for (const f of ['node_modules', 'asconfig.json', 'package.json', 'hal', 'lib']) symlinkSync(join(ROOT, f), join(root, f));
const out: string[] = [];
const io = { out: (t: string) => { out.push(t); } };

test.after(() => rmSync(root, { recursive: true, force: true }));

test('the scaffold builds and its own test passes', async () => {
  assert.is(await main(['service', 'wallet', '--root', root], io), 0);
  assert.ok(existsSync(join(root, 'services/wallet/index.ts')));
  assert.ok(existsSync(join(root, 'services/wallet/test/wallet.test.ts')));
  const entry = JSON.parse(out.join('\n').split('\n').find((l) => l.trim().startsWith('{'))!);
  assert.is(entry.name, 'wallet');
  validateManifest({ name: 'x', version: 1, kernel: { message_slots: 8, message_bytes_max: 4096, queue_depth: 8, timers_max: 0, requests_in_flight_max: 8, batch_bytes_max: 65536, log_preallocate_bytes: 0 }, services: [entry] });
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'services/wallet/test/wallet.test.ts'], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Passed:\s+3/);
  assert.ok(existsSync(join(root, 'build/services/wallet.wasm')), 'the test built the module');
});

test('--manifest adds the entry and the manifest stays valid', async () => {
  const path = join(root, 'manifest.json');
  writeFileSync(path, JSON.stringify({ name: 'bank', version: 1, kernel: { message_slots: 8, message_bytes_max: 4096, queue_depth: 8, timers_max: 0, requests_in_flight_max: 8, batch_bytes_max: 65536, log_preallocate_bytes: 0 }, services: [{ name: 'echo', module: 'echo', priority: 1, budget: 16, memory_pages_max: 16, caps: ['net'] }] }));
  assert.is(await main(['service', 'teller', '--root', root, '--manifest', path], io), 0);
  const m = validateManifest(JSON.parse(readFileSync(path, 'utf8')));
  assert.equal(m.services.map((s) => s.name), ['echo', 'teller']);
  assert.is(m.services[1].fuel_per_message, 1_000_000);
});

test('a bad name, an existing folder or a missing kind is refused and writes nothing', async () => {
  const refused = async (argv: string[], pattern: RegExp) => {
    try { await main(argv, io); } catch (e) { assert.ok(e instanceof CliError); assert.match((e as Error).message, pattern); return; }
    assert.unreachable(`accepted ${argv.join(' ')}`);
  };
  await refused(['service', 'Bad.Name', '--root', root], /not a valid service name/);
  await refused(['service', 'sdk', '--root', root], /not a valid service name/);
  await refused(['service', 'wallet', '--root', root], /already exists/);
  await refused(['widget', 'x', '--root', root], /only "service"/);
  assert.not.ok(existsSync(join(root, 'services/Bad.Name')));
});

test.run();
