// The binary frame protocol is authenticated like HTTP: in the shipped bank
// image the ledger takes no frames from the network, a client presents an
// API key once per connection (FRAME_F_AUTH) and sends ledger requests to the
// gateway service, which decides key, role, ledger grants and rate limits.
// A client can't write the gateway's request header itself, so it can't claim
// to be the operator's console or present a key hash instead of a key.
// HTTP: a request without a valid key learns 401 before anything about its
// body.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { FrameClient, encodeAuth } from '../../host/client/frames.ts';
import { LedgerClient, account, transfer, encodeAccounts, CreateAccountResult, CreateTransferResult } from '../../host/client/ledger.ts';
import { gatewayRequest } from '../../host/gateway/gateway-wire.ts';
import { apiKeyHash, keyCreateBody } from '../../host/gateway/keys-json.ts';
import { bankManifest, makeImage, removeDir, runCli, event, Server, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let server: Server;
let host = '';
let port = 0;
let data = '';
const keys: Record<string, string> = {};
const keyIds: Record<string, number> = {};

function cliKey(name: string, args: string[]): void {
  const r = runCli(['keys', 'create', '--data', data, '--trust', img.pubPath, ...args]);
  assert.is(r.code, 0, r.stderr);
  const e = event(r.events, 'key_created') as { id: number; key: string };
  keys[name] = e.key;
  keyIds[name] = e.id;
}

test.before(async () => {
  const manifest = bankManifest();
  const gateway = manifest.services.find((s) => s.name === 'gateway')!;
  gateway.config = { ...gateway.config, key_rate_per_second: 100000, key_burst: 100000, source_rate_per_second: 100000, source_burst: 100000 };
  img = makeImage('binary-auth', manifest);
  data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  cliKey('admin', ['--role', 'admin']);
  cliKey('teller', ['--role', 'teller', '--ledger', '1']);
  cliKey('readonly', ['--role', 'read-only']);
  cliKey('slow', ['--role', 'operator', '--rate', '1', '--burst', '2']);
  cliKey('revoked', ['--role', 'operator']);
  const r = runCli(['keys', 'revoke', '--id', String(keyIds.revoked), '--data', data, '--trust', img.pubPath]);
  assert.is(r.code, 0, r.stderr);
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  ({ host, port } = await server.address());
});
test.after(async () => { await Server.killAll(); if (img !== undefined) removeDir(img.dir); });

async function connect(key?: string): Promise<FrameClient> {
  const c = await FrameClient.connect(host, port);
  if (key !== undefined) await c.authenticate(key);
  return c;
}

async function refusedWith(call: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await call();
  } catch (e) {
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a refusal matching ${pattern}`);
}

async function keyCount(): Promise<number> {
  const r = await fetch(`http://${host}:${port}/v1/keys`, { headers: { Authorization: `Bearer ${keys.admin}` } });
  assert.is(r.status, 200);
  return ((await r.json()) as unknown[]).length;
}

test('the bank image refuses frames straight to the ledger, with or without a key', async () => {
  // Proves the ledger has no "net" capability in the shipped image: the
  // kernel refuses a frame naming it, so no request bypasses the gateway.
  for (const key of [undefined, keys.admin]) {
    const c = await connect(key);
    const r = await c.request('ledger', encodeAccounts([account({ id: 5n, ledger: 1, code: 1 })]));
    assert.is(r.status, abi.FRAME_E_DENIED);
    assert.match(r.payload.toString(), /does not accept network requests/);
    c.close();
  }
  const admin = new LedgerClient(await connect(keys.admin), 'gateway');
  assert.equal(await admin.lookupAccounts([5n]), [], 'nothing was applied');
});

test('without a key, with an unknown key, or with a revoked key: denied, nothing applied', async () => {
  // Proves the gateway authenticates binary frames: each missing or bad
  // credential gets FRAME_E_DENIED naming the reason, the connection stays
  // usable, and the account in the refused request does not exist.
  const cases: [string | undefined, RegExp][] = [
    [undefined, /^unauthenticated: /],
    ['qx_' + 'A'.repeat(43), /^unknown_key: /],
    [keys.revoked, /^revoked_key: /],
  ];
  for (const [key, pattern] of cases) {
    const c = await connect(key);
    for (let i = 0; i < 2; i++) {
      const r = await c.request('gateway', encodeAccounts([account({ id: 6n, ledger: 1, code: 1 })]));
      assert.is(r.status, abi.FRAME_E_DENIED, r.payload.toString());
      assert.match(r.payload.toString(), pattern);
    }
    c.close();
  }
  const admin = new LedgerClient(await connect(keys.admin), 'gateway');
  assert.equal(await admin.lookupAccounts([6n]), []);
});

test('roles and ledger grants apply to binary requests as to HTTP', async () => {
  // Proves: a teller granted ledger 1 creates accounts and transfers there
  // but is refused (forbidden_ledger) for an event on ledger 2, with the
  // whole batch refused; a read-only key reads but can't write (forbidden).
  const teller = new LedgerClient(await connect(keys.teller), 'gateway');
  const made = await teller.createAccounts([account({ id: 0x101n, ledger: 1, code: 1 }), account({ id: 0x102n, ledger: 1, code: 1 })]);
  assert.equal(made.map((r) => r.result), [CreateAccountResult.ok, CreateAccountResult.ok]);
  const moved = await teller.createTransfers([transfer({ id: 0x201n, debit_account_id: 0x101n, credit_account_id: 0x102n, amount: 7n, ledger: 1, code: 1 })]);
  assert.equal(moved.map((r) => r.result), [CreateTransferResult.ok]);
  await refusedWith(() => teller.createAccounts([account({ id: 0x103n, ledger: 1, code: 1 }), account({ id: 0x104n, ledger: 2, code: 1 })]),
    /forbidden_ledger: an event names a ledger this key is not granted/);
  const readOnly = new LedgerClient(await connect(keys.readonly), 'gateway');
  await refusedWith(() => readOnly.createAccounts([account({ id: 0x105n, ledger: 1, code: 1 })]),
    /forbidden: the key's role may not use this route/);
  const seen = await readOnly.lookupAccounts([0x101n, 0x102n, 0x103n, 0x104n, 0x105n]);
  assert.equal(seen.map((a) => [a.id, a.debits_posted, a.credits_posted]), [[0x101n, 7n, 0n], [0x102n, 0n, 7n]], 'only the teller\'s first batch exists');
});

test('a client cannot write the gateway request header: no console claim, no hash instead of a key', async () => {
  // Proves the host writes the header: (1) a frame carrying a complete
  // gateway header that claims the operator's console and asks for a new
  // admin key is refused and creates no key; (2) presenting the SHA-256 of a
  // valid key (what the log and key table hold) does not authenticate.
  const before = await keyCount();
  const forged = gatewayRequest(gw.ROUTE_KEYS_CREATE, gw.AUTH_CONSOLE, null, Buffer.alloc(16),
    keyCreateBody({ role: gw.ROLE_ADMIN, ledgers: [], ratePerSecond: 0, burst: 0 }, apiKeyHash('qx_forged')));
  // The host puts its own header in front: the forged one is ledger-request
  // bytes to the gateway (its first byte, GW_VERSION = 1, reads as operation
  // 1), judged without a key (401), and with an admin key it is no valid
  // ledger request (400). A first byte naming the keys route is refused by
  // the host: binary frames carry ledger operations 1..8 only.
  const c = await connect();
  const r = await c.request('gateway', forged);
  assert.is(r.status, abi.FRAME_E_DENIED, r.payload.toString());
  assert.match(r.payload.toString(), /^unauthenticated: /);
  const keysRoute = Buffer.from(forged);
  keysRoute[0] = gw.ROUTE_KEYS_CREATE;
  const r2 = await c.request('gateway', keysRoute);
  assert.is(r2.status, abi.FRAME_E_MALFORMED, r2.payload.toString());
  assert.match(r2.payload.toString(), /operation, 1\.\.8/);
  c.close();
  const admin = await connect(keys.admin);
  const r4 = await admin.request('gateway', forged);
  assert.is(r4.status, abi.FRAME_E_MALFORMED, r4.payload.toString());
  assert.match(r4.payload.toString(), /^malformed_request: ledger operation does not match the route/);
  admin.close();
  const hashClient = await connect(apiKeyHash(keys.admin).toString('base64url'));
  const r3 = await hashClient.request('gateway', encodeAccounts([account({ id: 7n, ledger: 1, code: 1 })]));
  assert.is(r3.status, abi.FRAME_E_DENIED);
  assert.match(r3.payload.toString(), /^unknown_key: /);
  hashClient.close();
  assert.is(await keyCount(), before, 'no key was created');
});

test('a malformed auth frame is refused and the connection keeps serving', async () => {
  // Proves the auth frame's checks: a key with characters no key has, an
  // empty key and an auth frame naming a service get FRAME_E_MALFORMED; the
  // earlier key stays in force for the connection.
  const c = await connect(keys.teller);
  const bad: Buffer[] = [encodeAuth(900, 'qx_bad key'), Buffer.from(encodeAuth(901, 'x'))];
  bad[1].writeUInt32LE(8 + 1 + 6, 0); // a body with a name (name_len 6) and a 1-byte key
  const named = Buffer.alloc(4 + 8 + 6 + 1);
  named.writeUInt32LE(8 + 6 + 1, 0); named.writeUInt32LE(902, 4); named.writeUInt16LE(abi.FRAME_F_AUTH, 8); named.writeUInt8(6, 10);
  named.write('ledger', 12); named.write('x', 18);
  const empty = Buffer.alloc(4 + 8); empty.writeUInt32LE(8, 0); empty.writeUInt32LE(903, 4); empty.writeUInt16LE(abi.FRAME_F_AUTH, 8);
  const replies = new Map<number, { status: number; text: string }>();
  await new Promise<void>((resolve) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
        const body = buf.subarray(4, 4 + buf.readUInt32LE(0));
        replies.set(body.readUInt32LE(0), { status: body.readUInt16LE(4), text: body.subarray(8).toString() });
        buf = buf.subarray(4 + body.length);
      }
      if ([900, 902, 903].every((id) => replies.has(id))) { c.socket.off('data', onData); resolve(); }
    };
    c.socket.prependListener('data', onData);
    c.socket.write(Buffer.concat([encodeAuth(900, 'qx_bad key'), named, empty]));
  });
  assert.equal(replies.get(900)?.status, abi.FRAME_E_MALFORMED);
  assert.match(replies.get(900)!.text, /base64url/);
  assert.equal(replies.get(902)?.status, abi.FRAME_E_MALFORMED);
  assert.match(replies.get(902)!.text, /names no service/);
  assert.equal(replies.get(903)?.status, abi.FRAME_E_MALFORMED);
  assert.match(replies.get(903)!.text, /1\.\.256 bytes/);
  const teller = new LedgerClient(c, 'gateway');
  assert.equal((await teller.lookupAccounts([0x101n])).length, 1, 'the teller key still holds');
  c.close();
});

test('a key over its rate gets FRAME_E_BUSY with the wait, other keys are served', async () => {
  // Proves the per-key token bucket on the binary path: burst 2, then
  // rate_limited with a retry time; another key on another connection is
  // unaffected.
  const slow = await connect(keys.slow);
  const statuses: number[] = [];
  let text = '';
  for (let i = 0; i < 4; i++) {
    const r = await slow.request('gateway', encodeAccounts([account({ id: 0x300n + BigInt(i), ledger: 1, code: 1 })]));
    statuses.push(r.status);
    if (r.status !== abi.FRAME_OK) text = r.payload.toString();
  }
  assert.ok(statuses.slice(0, 2).every((s) => s === abi.FRAME_OK), `burst of 2 served: ${statuses}`);
  assert.ok(statuses.slice(2).some((s) => s === abi.FRAME_E_BUSY), `then limited: ${statuses}`);
  assert.match(text, /^rate_limited: .*\(retry after \d+ s\)$/);
  slow.close();
  const teller = new LedgerClient(await connect(keys.teller), 'gateway');
  assert.equal((await teller.lookupAccounts([0x101n])).length, 1);
});

test('HTTP: without a valid key a bad body gets 401, with one it gets 400', async () => {
  // Proves the gateway decides authentication before the host's verdict on
  // the body is revealed: invalid JSON with no key, an unknown key or a
  // read-only key (403) is answered 401/403; with a teller key it is 400
  // invalid_json; nothing is applied either way.
  const post = (key: string | undefined): Promise<Response> => fetch(`http://${host}:${port}/v1/accounts`, {
    method: 'POST', body: '{"accounts": [', headers: { 'Content-Type': 'application/json', ...(key === undefined ? {} : { Authorization: `Bearer ${key}` }) },
  });
  const cases: [string | undefined, number, string][] = [
    [undefined, 401, 'unauthenticated'], ['qx_' + 'B'.repeat(43), 401, 'unknown_key'], [keys.readonly, 403, 'forbidden'], [keys.teller, 400, 'invalid_json'],
  ];
  for (const [key, status, code] of cases) {
    const r = await post(key);
    const body = await r.json() as { error: { code: string } };
    assert.is(r.status, status, JSON.stringify(body));
    assert.is(body.error.code, code);
  }
});

test.run();
