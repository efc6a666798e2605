// test/integration/gateway-e2e.test.ts: the API gateway of the booted bank
// image over real TCP with Node's fetch (and raw sockets for broken HTTP):
// API keys created through the command log (`qenex keys --data` with the
// system stopped, and the admin routes while it runs), every route for every
// role, 401/403/429 with their stable codes, ledger grants of a teller, the
// open routes (health, readiness, OpenAPI, metrics), the bad-input suite
// (each refusal is a 4xx, the server stays up, other clients are served,
// nothing partial is applied), slow clients timed out, and a replay that
// rebuilds the same state hash (key table and rate limits are in the log).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { bankManifest, CLI, event, makeImage, removeDir, runCli, Server, stopAndReplay, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let server: Server;
let base = '';
let port = 0;
let data = '';
const keys: Record<string, string> = {};

function cliKey(args: string[]): { id: number; key: string } {
  const r = runCli(['keys', 'create', '--data', data, ...args]);
  assert.is(r.code, 0, r.stderr);
  const e = event(r.events, 'key_created') as { id: number; key: string };
  assert.match(e.key, /^qx_[A-Za-z0-9_-]{43}$/);
  return e;
}

test.before(async () => {
  // Small in-flight window so concurrent requests wait in the gateway's queue.
  const manifest = bankManifest();
  const gateway = manifest.services.find((s) => s.name === 'gateway')!;
  // Many failed authentications from one address on purpose: no failed-auth throttle here (test/hostile has its own).
  gateway.config = { source_rate_per_second: 100000, source_burst: 100000, key_rate_per_second: 100000, key_burst: 100000, auth_failures_per_minute: 0, ledger_in_flight_max: 2 };
  img = makeImage('gateway-e2e', manifest);
  data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  keys.admin = cliKey(['--role', 'admin']).key;
  keys.operator = cliKey(['--role', 'operator']).key;
  keys.teller = cliKey(['--role', 'teller', '--ledger', '1']).key;
  keys.auditor = cliKey(['--role', 'auditor']).key;
  keys['read-only'] = cliKey(['--role', 'read-only']).key;
  keys.slow = cliKey(['--role', 'operator', '--rate', '1', '--burst', '2']).key;
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  port = (await server.address()).port;
  base = `http://127.0.0.1:${port}`;
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

interface Reply { status: number; json: any; headers: Headers; text: string }

async function call(method: string, path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* metrics are text */ }
  return { status: res.status, json, headers: res.headers, text };
}

function expectError(r: Reply, status: number, code: string): void {
  assert.is(r.status, status, r.text);
  assert.is(r.json?.error?.code, code, r.text);
  assert.type(r.json.error.message, 'string');
}

let nextId = 1000;
const fresh = () => String(nextId++);

test('open routes answer without a key: health, readiness, OpenAPI; metrics need an operator or auditor key', async () => {
  // Proves the three open routes need no Authorization and say what they
  // are, and that /metrics is admission's like every other route (refused
  // without a key, allowed for admin, operator and auditor, never logged).
  assert.equal((await call('GET', '/v1/health', null)).json, { status: 'ok' });
  assert.equal((await call('GET', '/v1/ready', null)).json, { status: 'ready' });
  const doc = await call('GET', '/v1/openapi.json', null);
  assert.is(doc.json.openapi, '3.1.0');
  expectError(await call('GET', '/metrics', null), 401, 'unauthenticated');
  expectError(await call('GET', '/metrics', keys.teller), 403, 'forbidden');
  const metrics = await call('GET', '/metrics', keys.auditor);
  assert.is(metrics.status, 200);
  assert.match(metrics.headers.get('content-type')!, /^text\/plain/);
  for (const name of ['qenex_http_requests_total', 'qenex_log_flush_seconds_bucket', 'qenex_log_batch_entries_bucket',
    'qenex_kernel_scheduler_rounds', 'qenex_kernel_message_slots_in_use', 'qenex_kernel_client_requests_in_flight']) {
    assert.ok(metrics.text.includes(name), `metrics has ${name}`);
  }
  assert.match(metrics.text, /qenex_http_requests_total\{route="\/v1\/health",status="200"\} [1-9]/);
});

test('without a valid key every other route is 401 with a stable code', async () => {
  // Proves authentication is required on each protected route, that a
  // malformed header and an unknown key are told apart, and that nothing is applied.
  const protectedRoutes: [string, string, unknown?][] = [
    ['POST', '/v1/accounts', [{ id: '9', ledger: 1, code: 1 }]], ['POST', '/v1/transfers', [{ id: '9', debit_account_id: '1', credit_account_id: '2', amount: '1', ledger: 1, code: 1 }]],
    ['POST', '/v1/accounts/lookup', { ids: ['9'] }], ['POST', '/v1/transfers/lookup', { ids: ['9'] }],
    ['POST', '/v1/accounts/9/transfers', { limit: 1, flags: ['debits'] }], ['POST', '/v1/accounts/9/balances', { limit: 1, flags: ['debits'] }],
    ['GET', '/v1/system/services'], ['GET', '/v1/system/scheduler'], ['GET', '/v1/system/memory'], ['GET', '/v1/system/gateway'],
    ['POST', '/v1/keys', { role: 'admin' }], ['GET', '/v1/keys'], ['DELETE', '/v1/keys/1'], ['GET', '/metrics'],
  ];
  for (const [method, path, body] of protectedRoutes) {
    const none = await call(method, path, null, body);
    expectError(none, 401, 'unauthenticated');
    assert.is(none.headers.get('www-authenticate'), 'Bearer');
    expectError(await call(method, path, null, body, { authorization: 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' }), 401, 'invalid_authorization');
    expectError(await call(method, path, 'qx_not_a_key', body), 401, 'unknown_key');
  }
  const looked = await call('POST', '/v1/accounts/lookup', keys.admin, { ids: ['9'] });
  assert.equal(looked.json, [], 'refused requests applied nothing');
});

test('each role may use exactly its routes', async () => {
  // Proves the role table: writes for admin/operator/teller, reads for all,
  // system statistics for admin/operator/auditor, keys list for admin/auditor,
  // key changes for admin only; a refused role gets 403 forbidden.
  const a = fresh();
  const b = fresh();
  assert.is((await call('POST', '/v1/accounts', keys.admin, [{ id: a, ledger: 1, code: 1 }, { id: b, ledger: 1, code: 1, flags: ['history'] }])).status, 200);
  const routes: { method: string; path: string; body?: () => unknown; allowed: string[] }[] = [
    { method: 'POST', path: '/v1/accounts', body: () => [{ id: fresh(), ledger: 1, code: 1 }], allowed: ['admin', 'operator', 'teller'] },
    { method: 'POST', path: '/v1/transfers', body: () => [{ id: fresh(), debit_account_id: a, credit_account_id: b, amount: '1', ledger: 1, code: 1 }], allowed: ['admin', 'operator', 'teller'] },
    { method: 'POST', path: '/v1/accounts/lookup', body: () => ({ ids: [a] }), allowed: ['admin', 'operator', 'teller', 'auditor', 'read-only'] },
    { method: 'POST', path: '/v1/transfers/lookup', body: () => ({ ids: ['1'] }), allowed: ['admin', 'operator', 'teller', 'auditor', 'read-only'] },
    { method: 'POST', path: `/v1/accounts/${a}/transfers`, body: () => ({ limit: 10, flags: ['debits'] }), allowed: ['admin', 'operator', 'teller', 'auditor', 'read-only'] },
    { method: 'POST', path: `/v1/accounts/${b}/balances`, body: () => ({ limit: 10, flags: ['credits'] }), allowed: ['admin', 'operator', 'auditor', 'read-only'] },
    { method: 'GET', path: '/v1/system/services', allowed: ['admin', 'operator', 'auditor'] },
    { method: 'GET', path: '/v1/system/scheduler', allowed: ['admin', 'operator', 'auditor'] },
    { method: 'GET', path: '/v1/system/memory', allowed: ['admin', 'operator', 'auditor'] },
    { method: 'GET', path: '/v1/system/gateway', allowed: ['admin', 'operator', 'auditor'] },
    { method: 'GET', path: '/v1/keys', allowed: ['admin', 'auditor'] },
    { method: 'POST', path: '/v1/keys', body: () => ({ role: 'read-only' }), allowed: ['admin'] },
  ];
  for (const r of routes) {
    for (const role of ['admin', 'operator', 'teller', 'auditor', 'read-only']) {
      const reply = await call(r.method, r.path, keys[role], r.body?.());
      if (r.allowed.includes(role)) assert.is(reply.status, 200, `${role} ${r.method} ${r.path}: ${reply.text}`);
      else if (role === 'teller' && r.path.endsWith('/balances')) expectError(reply, 403, 'forbidden_ledger');
      else expectError(reply, 403, 'forbidden');
    }
  }
  const services = await call('GET', '/v1/system/services', keys.auditor);
  assert.equal(services.json.map((s: any) => s.name), ['ledger', 'payments', 'gateway', 'compliance', 'trading', 'fix']);
  const scheduler = await call('GET', '/v1/system/scheduler', keys.operator);
  assert.ok(scheduler.json.rounds > 0 && scheduler.json.entries_applied > 0);
  const memory = await call('GET', '/v1/system/memory', keys.admin);
  assert.ok(memory.json.reserved_bytes > 0);
  const gateway = await call('GET', '/v1/system/gateway', keys.admin);
  assert.ok(gateway.json.forbidden > 0 && gateway.json.unauthenticated > 0 && gateway.json.keys >= 6);
});

test('a teller works only on its granted ledgers', async () => {
  // Proves a teller can't create on another ledger (nothing of the batch is
  // applied) and sees only its ledgers' records in lookups.
  const mine = fresh();
  const other = fresh();
  assert.is((await call('POST', '/v1/accounts', keys.admin, [{ id: other, ledger: 2, code: 1 }])).status, 200);
  const refused = await call('POST', '/v1/accounts', keys.teller, [{ id: mine, ledger: 1, code: 1 }, { id: fresh(), ledger: 2, code: 1 }]);
  expectError(refused, 403, 'forbidden_ledger');
  assert.equal((await call('POST', '/v1/accounts/lookup', keys.admin, { ids: [mine] })).json, [], 'nothing of the refused batch applied');
  const created = await call('POST', '/v1/accounts', keys.teller, [{ id: mine, ledger: 1, code: 1 }]);
  assert.equal(created.json.map((r: any) => r.result), ['created']);
  const seen = await call('POST', '/v1/accounts/lookup', keys.teller, { ids: [mine, other] });
  assert.equal(seen.json.map((x: any) => x.id), [mine], 'the ledger-2 account is filtered out');
  const all = await call('POST', '/v1/accounts/lookup', keys.auditor, { ids: [mine, other] });
  assert.equal(all.json.map((x: any) => x.id), [mine, other]);
});

test('rate limits per key answer 429 with Retry-After', async () => {
  // Proves the token bucket (burst 2, 1 per second) refuses the request after
  // the burst with 429 and a Retry-After, and other keys are unaffected.
  const statuses: number[] = [];
  let limited: Reply | null = null;
  for (let i = 0; i < 4; i++) {
    const r = await call('POST', '/v1/accounts/lookup', keys.slow, { ids: ['1'] });
    statuses.push(r.status);
    if (r.status === 429) limited = r;
  }
  assert.ok(statuses.includes(429), JSON.stringify(statuses));
  expectError(limited!, 429, 'rate_limited');
  assert.ok(Number(limited!.headers.get('retry-after')) >= 1);
  assert.is((await call('POST', '/v1/accounts/lookup', keys.operator, { ids: ['1'] })).status, 200);
});

test('keys through the admin routes and the CLI: create, use, list, revoke', async () => {
  // Proves a key created over HTTP works at once, the list never shows a key
  // (only a hash prefix), a revoked key gets 401 revoked_key, the CLI talks
  // to the running system with --url, and --data is refused while it runs.
  const created = await call('POST', '/v1/keys', keys.admin, { role: 'operator' });
  assert.is(created.status, 200, created.text);
  assert.is((await call('GET', '/v1/system/scheduler', created.json.key)).status, 200);
  const list = await call('GET', '/v1/keys', keys.auditor);
  const mine = list.json.find((k: any) => k.id === created.json.id);
  assert.is(mine.role, 'operator');
  assert.not.ok(list.text.includes(created.json.key), 'the list never contains a key');
  assert.is((await call('DELETE', `/v1/keys/${created.json.id}`, keys.admin)).status, 200);
  expectError(await call('GET', '/v1/system/scheduler', created.json.key), 401, 'revoked_key');
  expectError(await call('DELETE', '/v1/keys/99999', keys.admin), 404, 'not_found');
  expectError(await call('POST', '/v1/keys', keys.admin, { role: 'teller' }), 400, 'invalid_field');
  expectError(await call('POST', '/v1/keys', keys.admin, { role: 'root' }), 400, 'invalid_field');
  const viaCli = runCli(['keys', 'create', '--url', base, '--key', keys.admin, '--role', 'auditor']);
  assert.is(viaCli.code, 0, viaCli.stderr);
  const cliKeyValue = (event(viaCli.events, 'key_created') as { key: string }).key;
  assert.is((await call('GET', '/v1/keys', cliKeyValue)).status, 200);
  const listed = runCli(['keys', 'list', '--url', base, '--key', keys.admin]);
  assert.is(listed.code, 0, listed.stderr);
  assert.ok((event(listed.events, 'keys') as { keys: unknown[] }).keys.length >= 8);
  const busy = runCli(['keys', 'list', '--data', data]);
  assert.is(busy.code, 1);
  assert.match(busy.stderr, /running host|lock/);
});

test('concurrent requests beyond the in-flight window all complete in order', async () => {
  // Proves requests waiting in the gateway's queue (ledger_in_flight_max 2)
  // are all forwarded and answered with their own results.
  const ids = Array.from({ length: 40 }, () => fresh());
  const replies = await Promise.all(ids.map((id) => call('POST', '/v1/accounts', keys.operator, [{ id, ledger: 3, code: 7 }])));
  assert.ok(replies.every((r) => r.status === 200 && r.json[0].result === 'created'), replies.map((r) => r.text).join('\n'));
  const looked = await call('POST', '/v1/accounts/lookup', keys.operator, { ids });
  assert.equal(looked.json.map((a: any) => a.id), ids);
});

/** Raw bytes to the listener; resolves with everything the server sent before closing (or after `waitMs`). */
function raw(bytes: string | Buffer, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    const done = () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); };
    const timer = setTimeout(() => { socket.destroy(); done(); }, waitMs);
    socket.on('close', done);
    socket.on('error', () => {});
    socket.write(bytes);
  });
}

test('bad input: each gets its 4xx, the server stays up, nothing partial is applied', async () => {
  // Proves the bad-input suite end to end over TCP.
  const before = await call('GET', '/v1/system/gateway', keys.admin);
  const auth = `Authorization: Bearer ${keys.admin}\r\n`;
  const id = fresh();
  const json = (body: string) => `POST /v1/accounts HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const cases: [string, string, RegExp][] = [
    ['malformed request line', 'GET /v1/health HTTP/1.1 extra\r\n\r\n', /^HTTP\/1\.1 400 .*"bad_request"/s],
    ['bad HTTP version', 'GET /v1/health HTTP/2.0\r\n\r\n', /^HTTP\/1\.1 505 /],
    ['oversized headers', `GET /v1/health HTTP/1.1\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`, /^HTTP\/1\.1 431 /],
    ['oversized body', `POST /v1/accounts HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n`, /^HTTP\/1\.1 413 /],
    ['chunked body', `POST /v1/accounts HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, /^HTTP\/1\.1 501 /],
    ['invalid JSON', json(`[{"id":"${id}","ledger":1,`), /^HTTP\/1\.1 400 .*"invalid_json"/s],
    ['duplicate keys', json(`[{"id":"${id}","ledger":1,"code":1,"code":2}]`), /^HTTP\/1\.1 400 .*"duplicate_key"/s],
    ['huge number', json(`[{"id":"340282366920938463463374607431768211456","ledger":1,"code":1}]`), /^HTTP\/1\.1 400 .*"invalid_field"/s],
    ['number for a u128', json(`[{"id":1e40,"ledger":1,"code":1}]`), /^HTTP\/1\.1 400 .*"invalid_field"/s],
    ['wrong content type', `POST /v1/accounts HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]`, /^HTTP\/1\.1 415 /],
    ['path traversal', `GET /v1/../v1/keys HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`, /^HTTP\/1\.1 404 /],
    ['encoded traversal', `POST /v1/accounts/%2e%2e/transfers HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`, /^HTTP\/1\.1 404 /],
    ['wrong method', `PUT /v1/accounts HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`, /^HTTP\/1\.1 405 /],
  ];
  for (const [name, bytes, expected] of cases) {
    const reply = await raw(bytes);
    assert.match(reply, expected, `${name}: ${reply.slice(0, 200)}`);
    assert.is((await call('GET', '/v1/health', null)).status, 200, `${name}: the server stays up`);
  }
  assert.equal((await call('POST', '/v1/accounts/lookup', keys.admin, { ids: [id] })).json, [], 'no refused request applied anything');
  const after = await call('GET', '/v1/system/gateway', keys.admin);
  // The lookup is a read (the kernel hands it to the ledger, not logged: the
  // gateway never sees it); the stats read before this one is the one it counted.
  assert.is(after.json.allowed, before.json.allowed + 1, 'refused requests never reached the gateway (one stats read did; the lookup is a read)');
});

test('a slow client is timed out while others are served', async () => {
  // Proves slowloris: a request head trickled byte by byte is answered 408
  // and closed after the request timeout (shortened for this server), while
  // another client is served meanwhile.
  const child = new Server(spawn(process.execPath, [CLI, 'boot', img.imagePath, '--data', join(img.dir, 'slow'), '--trust', img.pubPath, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QENEX_NET_REQUEST_TIMEOUT_MS: '500' },
  }));
  const slowPort = (await child.address()).port;
  const socket = net.connect(slowPort, '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (d) => received.push(d));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const head = 'GET /v1/health HTTP/1.1\r\nHost: x\r\n';
  let i = 0;
  const drip = setInterval(() => { if (i < head.length && !socket.destroyed) socket.write(head[i++]); }, 100);
  const other = await fetch(`http://127.0.0.1:${slowPort}/v1/health`);
  assert.is(other.status, 200, 'another client is served while the slow one trickles');
  await closed;
  clearInterval(drip);
  const text = Buffer.concat(received).toString('latin1');
  assert.match(text, /^HTTP\/1\.1 408 .*"request_timeout"/s);
  assert.ok(i < head.length, 'closed before the slow head was complete');
  await child.kill('SIGKILL');
});

test('replay rebuilds the same state: keys and rate limits come from the log', async () => {
  // Proves the gateway's decisions are replayable: the stopped system's state
  // hash (key table, buckets, counters included) equals the replay's.
  const { stopped, replayed } = await stopAndReplay(server, data);
  assert.is(replayed, stopped);
  const list = runCli(['keys', 'list', '--data', data]);
  assert.is(list.code, 0, list.stderr);
  const listed = (event(list.events, 'keys') as { keys: { revoked: boolean }[] }).keys;
  assert.ok(listed.length >= 8 && listed.some((k) => k.revoked), 'the key table survived the restart');
});

test.run();
