// Admission before the log (kernel/admission.ts, hal/abi.ts "admission"),
// against the real kernel: a machine booted in-process from the bank image
// (the real kernel.wasm, gateway and ledger), keys made with the operator's
// console (NetDevice.inject, as `qenex keys create --data` does), questions
// put to the kernel directly (Kernel.admission) and frames sent over TCP.
//
// Proves: the table follows the log (keys, roles, revocation; rebuilt by
// replay at the next boot); rate buckets per key and per source and the
// failed-auth allowance are charged only by TAKE (and by refusals), each
// source apart; a frame the kernel refuses is answered and never logged.
//
// Run: node --import tsx test/integration/admission.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { Machine } from '../../host/machine.ts';
import { parseImage } from '../../host/image.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { account, encodeAccounts, encodeLookupAccounts } from '../../host/client/ledger.ts';
import { gatewayRequest, sourceBytes, writeGatewayHeader, GATEWAY_SERVICE } from '../../host/gateway/gateway-wire.ts';
import { apiKeyHash, keyCreateBody } from '../../host/gateway/keys-json.ts';
import { bankManifest, logEntries, makeImage, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let dir = '';
let machine: Machine;

const SOURCE_A = sourceBytes('10.9.0.1');
const SOURCE_B = sourceBytes('10.9.0.2');

function bootOptions(dataDir: string) {
  return { image: parseImage(img.bytes), imageBytes: img.bytes, dataDir, mode: 'live' as const, onLine: () => {} };
}

/** A key made with the console (the system's own injected frame), as `qenex keys create --data` does. */
async function consoleKey(key: string, role: number, ledgers: number[] = [], rate = 0, burst = 0): Promise<number> {
  const body = keyCreateBody({ role, ledgers, ratePerSecond: rate, burst }, apiKeyHash(key));
  const r = await machine.net!.inject(GATEWAY_SERVICE, gatewayRequest(gw.ROUTE_KEYS_CREATE, gw.AUTH_CONSOLE, null, Buffer.alloc(gw.GW_SOURCE_BYTES), body));
  assert.is(r.status, abi.FRAME_OK);
  assert.is(r.payload.readUInt16LE(0), 200, r.payload.subarray(16).toString('latin1'));
  return r.payload.readUInt32LE(gw.GW_REPLY_HEADER_BYTES);
}

async function consoleRevoke(id: number): Promise<void> {
  const body = Buffer.alloc(4);
  body.writeUInt32LE(id);
  const r = await machine.net!.inject(GATEWAY_SERVICE, gatewayRequest(gw.ROUTE_KEYS_REVOKE, gw.AUTH_CONSOLE, null, Buffer.alloc(gw.GW_SOURCE_BYTES), body));
  assert.is(r.payload.readUInt16LE(0), 200);
}

/** The kernel's answer for `route` with `key` (null: none) from `source`. */
function ask(route: number, key: string | null, mode: number, source = SOURCE_A, auth?: number) {
  const header = Buffer.alloc(gw.GW_REQUEST_HEADER_BYTES);
  writeGatewayHeader(header, 0, route, auth ?? (key === null ? gw.AUTH_NONE : gw.AUTH_BEARER), key === null ? null : apiKeyHash(key), source);
  const a = machine.kernel.admission(header, mode);
  return [a.status, a.error] as [number, number];
}

test.before(async () => {
  const manifest = bankManifest();
  const ledger = manifest.services.find((s) => s.name === 'ledger')!;
  ledger.config = { accounts_max: 1000, transfers_max: 1000, pending_max: 100, history_max: 1000 };
  const gateway = manifest.services.find((s) => s.name === 'gateway')!;
  gateway.config = { source_rate_per_second: 100000, source_burst: 100000, key_rate_per_second: 100000, key_burst: 100000,
    auth_failures_per_minute: 60, auth_failure_burst: 5, ledger_in_flight_max: 4 };
  img = makeImage('admission', manifest);
  dir = mkdtempSync(join(tmpdir(), 'qenex-admission-'));
  machine = await Machine.boot(bootOptions(join(dir, 'data')));
});

test.after(async () => {
  if (machine !== undefined && machine.haltInfo() === null) await machine.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  if (img !== undefined) removeDir(img.dir);
});

function removeDir(path: string): void { rmSync(path, { recursive: true, force: true }); }

test('the table follows the log: keys, roles, revocation, and replay rebuilds it', async () => {
  const admin = 'qx_admission_admin';
  const teller = 'qx_admission_teller';
  await consoleKey(admin, gw.ROLE_ADMIN);
  const tellerId = await consoleKey(teller, gw.ROLE_TELLER, [1]);
  const generation = machine.kernel.x.admission_keys_generation();
  assert.equal(ask(gw.ROUTE_CREATE_TRANSFERS, admin, abi.ADM_MODE_PEEK), [200, gw.GW_OK]);
  assert.equal(ask(gw.ROUTE_CREATE_TRANSFERS, teller, abi.ADM_MODE_PEEK), [200, gw.GW_OK]);
  assert.equal(ask(gw.ROUTE_KEYS_LIST, teller, abi.ADM_MODE_PEEK), [403, gw.GW_E_FORBIDDEN_ROLE]);
  assert.equal(ask(gw.ROUTE_ACCOUNT_BALANCES, teller, abi.ADM_MODE_PEEK), [403, gw.GW_E_FORBIDDEN_LEDGER], 'balance history is not scoped');
  assert.equal(ask(gw.ROUTE_METRICS, teller, abi.ADM_MODE_PEEK), [403, gw.GW_E_FORBIDDEN_ROLE]);
  assert.equal(ask(gw.ROUTE_METRICS, admin, abi.ADM_MODE_PEEK), [200, gw.GW_OK]);
  assert.equal(ask(gw.ROUTE_KEYS_LIST, null, abi.ADM_MODE_PEEK, SOURCE_A, gw.AUTH_CONSOLE), [200, gw.GW_OK], 'the console manages keys');
  assert.equal(ask(gw.ROUTE_CREATE_TRANSFERS, null, abi.ADM_MODE_PEEK, SOURCE_A, gw.AUTH_CONSOLE), [403, gw.GW_E_FORBIDDEN_ROLE], 'and nothing else');
  await consoleRevoke(tellerId);
  assert.ok(machine.kernel.x.admission_keys_generation() !== generation, 'a revocation moves the generation (open streams are checked again)');
  assert.equal(ask(gw.ROUTE_CREATE_TRANSFERS, teller, abi.ADM_MODE_PEEK, SOURCE_B), [401, gw.GW_E_REVOKED_KEY]);
  // The next boot replays the log: the same keys, the same revocation.
  await machine.stop();
  machine = await Machine.boot(bootOptions(join(dir, 'data')));
  assert.equal(ask(gw.ROUTE_CREATE_TRANSFERS, admin, abi.ADM_MODE_PEEK, SOURCE_B), [200, gw.GW_OK]);
  assert.equal(ask(gw.ROUTE_CREATE_TRANSFERS, teller, abi.ADM_MODE_PEEK, SOURCE_B), [401, gw.GW_E_REVOKED_KEY]);
});

test('buckets: a key\'s rate is charged by TAKE, not by PEEK; each source apart; failed authentications throttle their source', async () => {
  const slow = 'qx_admission_slow';
  await consoleKey(slow, gw.ROLE_OPERATOR, [], 1, 2); // one request a second, a burst of two
  for (let i = 0; i < 10; i++) assert.equal(ask(gw.ROUTE_LOOKUP_ACCOUNTS, slow, abi.ADM_MODE_PEEK), [200, gw.GW_OK], 'a question charges nothing');
  assert.equal(ask(gw.ROUTE_LOOKUP_ACCOUNTS, slow, abi.ADM_MODE_TAKE), [200, gw.GW_OK]);
  assert.equal(ask(gw.ROUTE_LOOKUP_ACCOUNTS, slow, abi.ADM_MODE_TAKE), [200, gw.GW_OK]);
  assert.equal(ask(gw.ROUTE_LOOKUP_ACCOUNTS, slow, abi.ADM_MODE_TAKE), [429, gw.GW_E_RATE_LIMITED_KEY], 'the burst is spent');
  assert.equal(ask(gw.ROUTE_LOOKUP_ACCOUNTS, slow, abi.ADM_MODE_PEEK, SOURCE_B), [429, gw.GW_E_RATE_LIMITED_KEY], 'a key\'s bucket is the key\'s, from any address');
  // Failed authentications: the manifest allows a burst of 5 per address.
  const attacker = sourceBytes('10.9.9.9');
  for (let i = 0; i < 5; i++) assert.equal(ask(gw.ROUTE_LOOKUP_ACCOUNTS, `qx_guess_${i}`, abi.ADM_MODE_PEEK, attacker), [401, gw.GW_E_UNKNOWN_KEY]);
  const [status, error] = ask(gw.ROUTE_LOOKUP_ACCOUNTS, 'qx_admission_admin', abi.ADM_MODE_PEEK, attacker);
  assert.equal([status, error], [429, gw.GW_E_RATE_LIMITED_SOURCE], 'after the allowance even a good key waits at that address');
  assert.equal(ask(gw.ROUTE_LOOKUP_ACCOUNTS, 'qx_admission_admin', abi.ADM_MODE_PEEK, SOURCE_B), [200, gw.GW_OK], 'other addresses are not affected');
  const stats = { unauthenticated: Number(machine.kernel.x.admission_stat(abi.ADM_STAT_UNAUTHENTICATED)), limited: Number(machine.kernel.x.admission_stat(abi.ADM_STAT_RATE_LIMITED)) };
  assert.ok(stats.unauthenticated >= 5 && stats.limited >= 3, JSON.stringify(stats));
});

test('a frame the kernel refuses is answered and never logged; an admitted one is', async () => {
  const admin = 'qx_admission_frames';
  const teller = 'qx_admission_frames_teller';
  await consoleKey(admin, gw.ROLE_ADMIN);
  await consoleKey(teller, gw.ROLE_TELLER, [1]);
  const port = (await machine.listen('127.0.0.1', 0)).port;
  const log = join(dir, 'data', 'log.qxl');
  const entries = () => logEntries(log).length;
  const anonymous = await FrameClient.connect('127.0.0.1', port);
  const tellerClient = await FrameClient.connect('127.0.0.1', port);
  await tellerClient.authenticate(teller);
  try {
    const before = entries();
    const none = await anonymous.request('gateway', encodeAccounts([account({ id: 5n, ledger: 1, code: 1 })]));
    assert.is(none.status, abi.FRAME_E_DENIED);
    assert.match(none.payload.toString('utf8'), /^unauthenticated: /);
    const other = await tellerClient.request('gateway', encodeAccounts([account({ id: 6n, ledger: 1, code: 1 }), account({ id: 7n, ledger: 2, code: 1 })]));
    assert.is(other.status, abi.FRAME_E_DENIED);
    assert.match(other.payload.toString('utf8'), /^forbidden_ledger: /);
    assert.is(entries(), before, 'nothing refused reached the log');
    const adminClient = await FrameClient.connect('127.0.0.1', port);
    await adminClient.authenticate(admin);
    const created = await adminClient.request('gateway', encodeAccounts([account({ id: 8n, ledger: 1, code: 1 })]));
    assert.is(created.status, abi.FRAME_OK);
    assert.ok(entries() > before, 'an admitted frame is logged');
    const looked = await adminClient.request('gateway', encodeLookupAccounts([5n, 6n, 7n, 8n]));
    assert.is(looked.payload.readUInt32LE(0), 1, 'only the admitted account exists');
    adminClient.close();
  } finally {
    anonymous.close();
    tellerClient.close();
  }
});

test('a refused frame leaves nothing claimed in the log: the machine stops at once after it, with no entry since', async () => {
  // The kernel makes room in the log for a frame before it asks admission (so a frame that must wait is never
  // charged twice); a refused frame gives that room back. Kept, it counted as a write in progress, and a stop
  // (SIGTERM) waited for a next entry that might never come.
  const fresh = await Machine.boot(bootOptions(join(dir, 'data-refused')));
  const r = await fresh.net!.inject(GATEWAY_SERVICE, gatewayRequest(gw.ROUTE_ORDERS, gw.AUTH_CONSOLE, null, Buffer.alloc(gw.GW_SOURCE_BYTES), Buffer.alloc(0)));
  assert.is(r.payload.readUInt16LE(0), 403, 'the console may not place orders: refused before the log');
  const halted = await Promise.race([fresh.stop().then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 10_000))]);
  assert.ok(halted, 'the machine halted');
  assert.is(fresh.haltInfo()?.state, abi.KSTATE_HALTED);
});

test.run();
