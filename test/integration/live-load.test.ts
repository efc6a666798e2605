// Live load, upgrade and unload of services (issue 4), end to end: a Machine
// booted in-process from a signed bank image (the real kernel, ledger and
// gateway), listening on real TCP. Admin requests go over HTTP
// (POST /v1/system/services[/upgrade|/unload]) with an admin key made through
// the console (`qenex keys create --data`); the loaded test service
// test/services/tally (versions v1, v2, bad, trap: same state layout) is
// reached with binary frames. Modules are signed with the image's dev key
// (the boot's trusted key) or, to be refused, with another key.
//
// Run: node --import tsx test/integration/live-load.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { Machine, IMAGE_FILE } from '../../host/machine.ts';
import { loadPublicKeys, loadSigningKey } from '../../host/base/keys.ts';
import { signModule } from '../../host/modsig.ts';
import { parseImage } from '../../host/image.ts';
import { FrameClient, type Reply } from '../../host/client/frames.ts';
import * as keysCmd from '../../host/cmd/keys.ts';
import * as loadCmd from '../../host/cmd/load.ts';
import { bankManifest, makeImage, removeDir, type TestImage } from '../support/helpers.ts';
import { ascIfStale, RELEASE } from '../support/asc.ts';
import { buildService } from '../services/build.ts';

ascIfStale('kernel/main.ts', 'build/kernel.wasm', ['kernel', 'hal', 'drivers']);
buildService('ledger');
buildService('gateway');
const tally = (v: string) => ascIfStale(`test/services/tally/${v}.ts`, `build/test/tally-${v}.wasm`, ['test/services/tally', 'services/sdk'], [...RELEASE, '--use', 'abort=']);
const MODULES = { v1: readFileSync(tally('v1')), v2: readFileSync(tally('v2')), bad: readFileSync(tally('bad')), trap: readFileSync(tally('trap')) };

// The bank image, its ledger small so the test boots quickly.
function image(): TestImage {
  const m = bankManifest();
  m.services = m.services.filter((s) => s.name === 'ledger' || s.name === 'gateway');
  const gateway = m.services.find((s) => s.name === 'gateway')!;
  gateway.caps = gateway.caps.filter((c) => !c.startsWith('send:') || m.services.some((s) => c === `send:${s.name}`)); // no peer left out
  gateway.config = { ...gateway.config, transfer_checks: false }; // no compliance service to check transfers
  const ledger = m.services.find((s) => s.name === 'ledger')!;
  ledger.config = { accounts_max: 1024, transfers_max: 1024, pending_max: 64, history_max: 1024 };
  ledger.memory_pages_max = 1024;
  return makeImage('liveload', m);
}

interface World { img: TestImage; dataDir: string; machine: Machine; base: string; port: number; admin: string; operator: string; lines: string[] }
let w: World;

async function createKey(dataDir: string, role: string): Promise<string> {
  const out: string[] = [];
  await keysCmd.main(['create', '--data', dataDir, '--role', role], { out: (t) => out.push(t), err: () => {} });
  const line = out.map((t) => JSON.parse(t)).find((e) => e.event === 'key_created');
  if (line === undefined) throw new Error(`keys create printed ${out.join('\n')}`);
  return line.key as string;
}

async function boot(img: TestImage, dataDir: string, lines: string[], trustPath = img.pubPath): Promise<Machine> {
  return Machine.boot({
    image: parseImage(img.bytes), imageBytes: img.bytes, dataDir, mode: 'live', trust: loadPublicKeys(trustPath),
    onLine: (l) => lines.push(l),
  });
}

async function start(): Promise<World> {
  const img = image();
  const dataDir = join(img.dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, IMAGE_FILE), img.bytes);
  const admin = await createKey(dataDir, 'admin');
  const operator = await createKey(dataDir, 'operator');
  const lines: string[] = [];
  const machine = await boot(img, dataDir, lines);
  const addr = await machine.listen('127.0.0.1', 0);
  return { img, dataDir, machine, base: `http://127.0.0.1:${addr.port}`, port: addr.port, admin, operator, lines };
}

async function signed(module: Buffer, keyPath = w.img.keyPath): Promise<string> {
  return Buffer.from(await signModule(module, loadSigningKey(keyPath))).toString('base64');
}

async function call(path: string, body: unknown, key = w.admin): Promise<{ status: number; json: Record<string, unknown> & { error?: { code: string; message: string } } }> {
  const res = await fetch(w.base + path, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() as Record<string, unknown> };
}

async function loadTally(name: string, module: Buffer, extra: Record<string, unknown> = {}) {
  return call('/v1/system/services', { name, module: module.toString('base64'), signature: await signed(module), caps: ['net', 'log'], ...extra });
}

async function frame(name: string, op: number): Promise<Reply> {
  const c = await FrameClient.connect('127.0.0.1', w.port);
  try {
    return await c.request(name, Uint8Array.of(op));
  } finally {
    c.close();
  }
}

function tallyState(r: Reply): { count: number; version: number; migratedFrom: number } {
  assert.is(r.status, abi.FRAME_OK, `frame status ${r.status}: ${r.payload.toString()}`);
  return { count: Number(r.payload.readBigUInt64LE(0)), version: r.payload.readUInt32LE(8), migratedFrom: r.payload.readUInt32LE(12) };
}

test.before(async () => { w = await start(); });
test.after(async () => {
  if (w?.machine.haltInfo() === null) await w.machine.stop();
  if (w !== undefined) removeDir(w.img.dir);
});

test('load: a signed module becomes a service that answers requests', async () => {
  // Proves the whole path: admin HTTP request -> gateway -> kernel command
  // -> host verifies, instantiates, runs qx_init -> the service serves frames.
  const before = await frame('tally', 1);
  assert.is(before.status, abi.FRAME_E_UNKNOWN_SERVICE);
  const r = await loadTally('tally', MODULES.v1, { config: { note: 'hello' } });
  assert.is(r.status, 200, JSON.stringify(r.json));
  assert.is(r.json.service, 'tally');
  assert.is(r.json.version, 1);
  assert.is(r.json.result, 'ok');
  assert.equal(tallyState(await frame('tally', 1)), { count: 1, version: 1, migratedFrom: 0 });
  assert.equal(tallyState(await frame('tally', 1)), { count: 2, version: 1, migratedFrom: 0 });
  assert.ok(w.lines.some((l) => l.includes('"service_log"') && l.includes('tally up')), 'qx_init ran with the log capability');
});

test('load: a duplicate name is refused with 409 and changes nothing', async () => {
  const r = await loadTally('tally', MODULES.v2);
  assert.is(r.status, 409);
  assert.is(r.json.error!.code, 'service_exists');
  assert.equal(tallyState(await frame('tally', 2)), { count: 2, version: 1, migratedFrom: 0 });
});

test('unsigned or wrongly signed modules are refused, nothing is loaded', async () => {
  // Signed by a key set the system does not trust.
  const other = await call('/v1/system/services', {
    name: 'rogue', module: MODULES.v1.toString('base64'), signature: await signed(MODULES.v1, join(w.img.dir, 'other-keys', 'signing.key')), caps: ['net'],
  });
  assert.is(other.status, 403, JSON.stringify(other.json));
  assert.is(other.json.error!.code, 'signature_invalid');
  // A valid signature of another module (the bytes were changed after signing).
  const tampered = await call('/v1/system/services', { name: 'rogue', module: MODULES.v2.toString('base64'), signature: await signed(MODULES.v1), caps: ['net'] });
  assert.is(tampered.status, 403);
  assert.is(tampered.json.error!.code, 'signature_invalid');
  // Not a signature at all.
  const garbage = await call('/v1/system/services', { name: 'rogue', module: MODULES.v1.toString('base64'), signature: Buffer.from('not a signature').toString('base64'), caps: ['net'] });
  assert.is(garbage.status, 403);
  assert.is(garbage.json.error!.code, 'signature_invalid');
  assert.is((await frame('rogue', 1)).status, abi.FRAME_E_UNKNOWN_SERVICE);
  assert.ok(w.lines.some((l) => l.includes('service_action_failed') && l.includes('signature')), 'the console says why');
});

test('capability denied: more than the gateway holds, or system, is refused', async () => {
  // The gateway holds net, log, time, send:ledger, system; random, timer and
  // system may not be given to a loaded service.
  for (const caps of [['net', 'random'], ['timer'], ['system'], ['send:ledger']]) {
    const r = await loadTally('greedy', MODULES.v1, { caps });
    assert.is(r.status, 403, `${caps}: ${JSON.stringify(r.json)}`);
    assert.is(r.json.error!.code, 'capability_denied');
  }
  assert.is((await frame('greedy', 1)).status, abi.FRAME_E_UNKNOWN_SERVICE);
});

test('bad requests are refused before the kernel: bad base64, unknown fields, a module larger than a message', async () => {
  const bad = await call('/v1/system/services', { name: 'x', module: 'not base64!', signature: 'AAAA' });
  assert.is(bad.status, 400);
  assert.is(bad.json.error!.code, 'invalid_field');
  const unknown = await call('/v1/system/services/unload', { name: 'x', module: 'AAAA' });
  assert.is(unknown.status, 400);
  // One frame and one logged message hold at most 1 MiB.
  const huge = Buffer.alloc(1_100_000, 1);
  const big = await call('/v1/system/services', { name: 'huge', module: huge.toString('base64'), signature: await signed(MODULES.v1) });
  assert.is(big.status, 400, JSON.stringify(big.json));
  assert.is(big.json.error!.code, 'module_too_large');
  assert.is((await frame('huge', 1)).status, abi.FRAME_E_UNKNOWN_SERVICE);
});

test('only an admin key may change services', async () => {
  const r = await loadTally('other', MODULES.v1, {});
  assert.is(r.status, 200);
  const op = await call('/v1/system/services/unload', { name: 'other' }, w.operator);
  assert.is(op.status, 403);
  assert.is(op.json.error!.code, 'forbidden');
  assert.is((await call('/v1/system/services/unload', { name: 'other' })).status, 200);
});

test('upgrade keeps state: memory and globals handed over, qx_migrate(1) called', async () => {
  const r = await call('/v1/system/services/upgrade', { name: 'tally', module: MODULES.v2.toString('base64'), signature: await signed(MODULES.v2) });
  assert.is(r.status, 200, JSON.stringify(r.json));
  assert.is(r.json.version, 2);
  assert.equal(tallyState(await frame('tally', 1)), { count: 3, version: 2, migratedFrom: 1 });
  // GET /v1/system/services shows the version now serving (an upgrade replaces in place).
  const listed = await fetch(w.base + '/v1/system/services', { headers: { authorization: `Bearer ${w.admin}` } });
  const services = await listed.json() as { name: string; version: number; live: boolean; unloaded: boolean }[];
  const tally = services.filter((s) => s.name === 'tally').map((s) => [s.version, s.live, s.unloaded]);
  assert.equal(tally, [[2, true, false]]);
  const ledger = services.find((s) => s.name === 'ledger')!;
  assert.equal([ledger.live, ledger.unloaded], [false, false]);
});

test('upgrade rolled back: qx_migrate returning non-zero or trapping leaves the old version running', async () => {
  for (const [module, name] of [[MODULES.bad, 'bad'], [MODULES.trap, 'trap']] as const) {
    const r = await call('/v1/system/services/upgrade', { name: 'tally', module: module.toString('base64'), signature: await signed(module) });
    assert.is(r.status, 409, `${name}: ${JSON.stringify(r.json)}`);
    assert.is(r.json.error!.code, 'upgrade_rolled_back');
    assert.match(r.json.error!.message, /old version keeps running/);
    assert.equal(tallyState(await frame('tally', 1)), { count: name === 'bad' ? 4 : 5, version: 2, migratedFrom: 1 });
  }
  const unsigned = await call('/v1/system/services/upgrade', { name: 'tally', module: MODULES.v1.toString('base64'), signature: await signed(MODULES.v2) });
  assert.is(unsigned.status, 403);
  assert.equal(tallyState(await frame('tally', 2)), { count: 5, version: 2, migratedFrom: 1 });
});

test('unload: the service stops answering, the image services are protected, the name is free again', async () => {
  const ledger = await call('/v1/system/services/unload', { name: 'ledger' });
  assert.is(ledger.status, 403);
  assert.is(ledger.json.error!.code, 'service_protected');
  const gone = await call('/v1/system/services/unload', { name: 'nothing' });
  assert.is(gone.status, 404);
  const r = await call('/v1/system/services/unload', { name: 'tally' });
  assert.is(r.status, 200, JSON.stringify(r.json));
  assert.is((await frame('tally', 1)).status, abi.FRAME_E_UNKNOWN_SERVICE);
  const again = await loadTally('tally', MODULES.v1);
  assert.is(again.status, 200);
  // The listing keeps the unloaded instance (until restart), marked so.
  const listed = await (await fetch(w.base + '/v1/system/services', { headers: { authorization: `Bearer ${w.admin}` } })).json() as { name: string; unloaded: boolean }[];
  assert.equal(listed.filter((x) => x.name === 'tally').map((x) => x.unloaded), [true, false]);
  assert.equal(tallyState(await frame('tally', 1)), { count: 1, version: 1, migratedFrom: 0 });
});

test('qenex load / upgrade / unload drive the same routes', async () => {
  const dir = join(w.img.dir, 'cli');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'tally.wasm');
  writeFileSync(path, MODULES.v1);
  writeFileSync(`${path}.sig`, Buffer.from(await signed(MODULES.v1), 'base64'));
  const out: string[] = [];
  const io = { out: (t: string) => out.push(t), err: () => {} };
  const common = ['--url', w.base, '--key', w.admin];
  assert.is(await loadCmd.load.main([path, '--as', 'clitally', '--caps', 'net,log', ...common], io), 0);
  assert.is(JSON.parse(out.pop()!).result, 'ok');
  assert.is(tallyState(await frame('clitally', 1)).count, 1);
  let refused = '';
  try { await loadCmd.load.main([path, '--as', 'clitally', ...common], io); } catch (e) { refused = (e as Error).message; }
  assert.match(refused, /409 service_exists/);
  assert.is(await loadCmd.unload.main(['clitally', ...common], io), 0);
  assert.is((await frame('clitally', 1)).status, abi.FRAME_E_UNKNOWN_SERVICE);
  rmSync(dir, { recursive: true, force: true });
});

test('replay and reboot reproduce every load, upgrade and unload exactly', async () => {
  assert.is(tallyState(await frame('tally', 1)).count, 2);
  const hash = w.machine.stateHash();
  await w.machine.stop();
  const replayed = await Machine.boot({ image: parseImage(w.img.bytes), imageBytes: w.img.bytes, dataDir: w.dataDir, mode: 'replay' });
  assert.is(replayed.stateHash(), hash, 'replay gives the same state hash (using the trusted keys kept in the data directory)');
  await replayed.stop();
  // A reboot serves the loaded service with its state.
  w.lines.length = 0;
  w.machine = await boot(w.img, w.dataDir, w.lines);
  const addr = await w.machine.listen('127.0.0.1', 0);
  w.port = addr.port;
  w.base = `http://127.0.0.1:${addr.port}`;
  assert.equal(tallyState(await frame('tally', 2)), { count: 2, version: 1, migratedFrom: 0 });
});

test('requests in flight during an unload are answered: served before it, refused after it, none lost', async () => {
  // Proves that an unload in the middle of a stream of requests leaves no
  // request unanswered: each gets FRAME_OK (handled before the unload) or
  // FRAME_E_UNKNOWN_SERVICE (queued for it or arriving after), and once one
  // was refused none after it on the same connection is served.
  assert.is((await loadTally('burst', MODULES.v1)).status, 200);
  const c = await FrameClient.connect('127.0.0.1', w.port);
  try {
    // 40: below the kernel's 64 error frames (NET_ERROR_FRAMES), which bound
    // the refusals it can have in flight at once whatever refuses them.
    const replies = Array.from({ length: 40 }, () => c.request('burst', Uint8Array.of(1)));
    const unloaded = call('/v1/system/services/unload', { name: 'burst' });
    const statuses = (await Promise.all(replies)).map((r) => r.status);
    assert.is((await unloaded).status, 200);
    assert.ok(statuses.every((s) => s === abi.FRAME_OK || s === abi.FRAME_E_UNKNOWN_SERVICE), `statuses: ${[...new Set(statuses)]}`);
    const firstRefused = statuses.indexOf(abi.FRAME_E_UNKNOWN_SERVICE);
    if (firstRefused >= 0) assert.ok(statuses.slice(firstRefused).every((s) => s === abi.FRAME_E_UNKNOWN_SERVICE), 'nothing is served after the unload');
    assert.is((await c.request('burst', Uint8Array.of(1))).status, abi.FRAME_E_UNKNOWN_SERVICE);
  } finally {
    c.close();
  }
});

test('a key rotation keeps what was loaded and stops new loads with the old key', async () => {
  // Reboot trusting only another key set: the log's loads (signed by the old
  // key, kept in the data directory) are replayed as before, while a new
  // load signed by the old key is refused.
  const before = tallyState(await frame('tally', 2));
  await w.machine.stop();
  w.machine = await boot(w.img, w.dataDir, w.lines, w.img.otherPubPath);
  const addr = await w.machine.listen('127.0.0.1', 0);
  w.port = addr.port;
  w.base = `http://127.0.0.1:${addr.port}`;
  assert.equal(tallyState(await frame('tally', 2)), before);
  const r = await loadTally('late', MODULES.v1);
  assert.is(r.status, 403);
  assert.is(r.json.error!.code, 'signature_invalid');
  const withNew = await call('/v1/system/services', {
    name: 'late', module: MODULES.v1.toString('base64'), signature: await signed(MODULES.v1, join(w.img.dir, 'other-keys', 'signing.key')), caps: ['net'],
  });
  assert.is(withNew.status, 200, JSON.stringify(withNew.json));
});

test.run();
