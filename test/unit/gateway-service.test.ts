// test/unit/gateway-service.test.ts: the gateway service (services/gateway)
// alone, against the SDK's fake kernel (services/sdk/harness.ts): console key
// management, the admission policy and keys it programs into the kernel,
// authentication and role and ledger checks once more at the time of the
// entry, the FIFO relay of ledger replies, the bounded waiting queue (with
// wrap-around) and its 503, malformed frames, and determinism (same inputs,
// same memory). Rate limits are the kernel's admission's
// (test/integration/admission.test.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ServiceHarness, type Reply } from '../../services/sdk/harness.ts';
import * as gw from '../../services/gateway/protocol.ts';
import * as L from '../../services/ledger/protocol.ts';
import { gatewayRequest, parseGatewayReply } from '../../host/gateway/gateway-wire.ts';
import { apiKeyHash, keyCreateBody } from '../../host/gateway/keys-json.ts';
import * as C from '../../services/compliance/protocol.ts';
import * as T from '../../services/trading/protocol.ts';
import * as TR from '../../host/trading/records.ts';
import * as FX from '../../services/fix/protocol.ts';
import { beginRequest, listStatusRequest, namesRequest, searchRequest } from '../../host/compliance/records.ts';
import { accountsScreenRequest, alertsListRequest, caseUpdateRequest, decisionsListRequest, rulesGetRequest } from '../../host/compliance/cases.ts';
import { directoryListRequest, holdReleaseRequest as releaseLines } from '../../host/payments/records.ts';

const WASM = join(new URL('../..', import.meta.url).pathname, 'build/services/gateway.wasm');
const LEDGER = 1; // index of "ledger" in the harness's [name, ...peers]
const SRC = Buffer.from('00000000000000000000ffff0a000001', 'hex'); // ::ffff:10.0.0.1
const CONFIG = { source_rate_per_second: 0, source_burst: 0, key_rate_per_second: 0, key_burst: 0, ledger_in_flight_max: 2 };

async function gateway(config: object = CONFIG): Promise<ServiceHarness> {
  const svc = await ServiceHarness.load(WASM, {
    name: 'gateway', peers: ['ledger'], caps: ['net', 'admit', 'log', 'time', 'send:ledger'],
    memoryPagesMax: 256, messageBytesMax: 1048576 + 65536,
  });
  svc.init(config);
  return svc;
}

function decoded(r: Reply | null) {
  assert.ok(r !== null, 'the gateway answered');
  assert.is(r!.status, 0, 'the gateway always replies with status 0');
  return parseGatewayReply(r!.payload)!;
}

function createKey(svc: ServiceHarness, key: string, role: number, ledgers: number[] = [], rate = 0, burst = 0) {
  const body = keyCreateBody({ role, ledgers, ratePerSecond: rate, burst }, apiKeyHash(key));
  return decoded(svc.request(gatewayRequest(gw.ROUTE_KEYS_CREATE, gw.AUTH_CONSOLE, null, SRC, body)));
}

function asKey(svc: ServiceHarness, key: string | null, route: number, body: Uint8Array = Buffer.alloc(0), source = SRC): Reply | null {
  return svc.request(gatewayRequest(route, key === null ? gw.AUTH_NONE : gw.AUTH_BEARER, key === null ? null : apiKeyHash(key), source, body));
}

function lookupRequest(...ids: number[]): Buffer {
  const b = Buffer.alloc(L.HEADER_BYTES + ids.length * L.ID_BYTES);
  b[L.HEADER_OPERATION] = gw.ROUTE_LOOKUP_ACCOUNTS;
  b.writeUInt32LE(ids.length, L.HEADER_COUNT);
  ids.forEach((id, i) => b.writeUInt32LE(id, L.HEADER_BYTES + i * L.ID_BYTES));
  return b;
}

function accountsRequest(...ledgers: number[]): Buffer {
  const b = Buffer.alloc(L.HEADER_BYTES + ledgers.length * L.RECORD_BYTES);
  b[L.HEADER_OPERATION] = gw.ROUTE_CREATE_ACCOUNTS;
  b.writeUInt32LE(ledgers.length, L.HEADER_COUNT);
  ledgers.forEach((l, i) => {
    const at = L.HEADER_BYTES + i * L.RECORD_BYTES;
    b.writeUInt32LE(i + 1, at + L.ACCOUNT_ID);
    b.writeUInt32LE(l, at + L.ACCOUNT_LEDGER);
  });
  return b;
}

function recordsReply(...ledgers: number[]): Buffer {
  const b = Buffer.alloc(L.HEADER_BYTES + ledgers.length * L.RECORD_BYTES);
  b.writeUInt32LE(ledgers.length, L.REPLY_COUNT);
  ledgers.forEach((l, i) => {
    const at = L.HEADER_BYTES + i * L.RECORD_BYTES;
    b.writeUInt32LE(100 + i, at + L.TRANSFER_ID);
    b.writeUInt32LE(l, at + L.TRANSFER_LEDGER);
  });
  return b;
}

test('config: a bad config stops the service at boot and logs why', async () => {
  // Proves the gateway reads its config with the shared JSON reader
  // (lib/json.ts) and refuses, naming the key or the byte: unknown keys,
  // values that are not non-negative integers, trailing data, bad bounds.
  const cases: [object | string, string][] = [
    [{ ...CONFIG, bogus: 1 }, 'unknown key bogus'],
    ['{"source_rate_per_second":-1}', 'expected a non-negative integer at byte 26'],
    ['{"key_burst":1.5}', 'fraction not allowed in an integer'],
    ['{"key_burst":1} x', 'unexpected data after the document'],
    ['[1]', "expected '{' at byte 0"],
    [{ ...CONFIG, key_rate_per_second: 2000000, key_burst: 1 }, 'rates and bursts are at most 1000000'],
    [{ ...CONFIG, key_rate_per_second: 5, key_burst: 0 }, 'a limited rate needs a burst of at least 1'],
    [{ ...CONFIG, ledger_in_flight_max: 65 }, 'ledger_in_flight_max is 1 to 64'],
  ];
  for (const [config, reason] of cases) {
    const svc = await ServiceHarness.load(WASM, {
      name: 'gateway', peers: ['ledger'], caps: ['net', 'admit', 'log', 'time', 'send:ledger'], memoryPagesMax: 256, messageBytesMax: 1048576 + 65536,
    });
    assert.throws(() => svc.init(typeof config === 'string' ? Buffer.from(config) : config), undefined, `${JSON.stringify(config)} was accepted`);
    assert.ok(svc.logs.some((l) => l.includes(`gateway config: ${reason}`)), `${JSON.stringify(config)}: logged ${JSON.stringify(svc.logs)}`);
  }
  await gateway({ ...CONFIG });
  await gateway({});
});

test('keys: created from the console, found by hash, listed without the key, revoked', async () => {
  // Proves console key management and that only AUTH_CONSOLE may use it without a key.
  const svc = await gateway();
  const created = createKey(svc, 'k-admin', gw.ROLE_ADMIN);
  assert.is(created.status, 200);
  assert.is(created.body.readUInt32LE(0), 1);
  assert.is(createKey(svc, 'k-admin', gw.ROLE_ADMIN).status, 409, 'the same hash twice');
  assert.is(createKey(svc, 'k-teller', gw.ROLE_TELLER).status, 400, 'a teller needs a ledger');
  assert.is(createKey(svc, 'k-op', gw.ROLE_OPERATOR, [1]).status, 400, 'an operator is not limited to ledgers');
  assert.is(decoded(asKey(svc, 'k-admin', gw.ROUTE_SYSTEM_GATEWAY)).status, 200);
  const list = decoded(asKey(svc, 'k-admin', gw.ROUTE_KEYS_LIST));
  assert.is(list.body.length, gw.GW_KEY_RECORD_BYTES);
  assert.not.ok(list.body.includes(apiKeyHash('k-admin')), 'the list carries only a hash prefix');
  const console = decoded(svc.request(gatewayRequest(gw.ROUTE_SYSTEM_GATEWAY, gw.AUTH_CONSOLE, null, SRC, Buffer.alloc(0))));
  assert.equal([console.status, console.error], [403, gw.GW_E_FORBIDDEN_ROLE], 'the console manages keys only');
  const id = Buffer.alloc(4);
  id.writeUInt32LE(1);
  assert.is(decoded(asKey(svc, 'k-admin', gw.ROUTE_KEYS_REVOKE, id)).status, 200);
  const revoked = decoded(asKey(svc, 'k-admin', gw.ROUTE_SYSTEM_GATEWAY));
  assert.equal([revoked.status, revoked.error], [401, gw.GW_E_REVOKED_KEY]);
  assert.not.ok(svc.logs.some((l) => /refused/.test(l)), 'refusals are logged once, by the host\'s request log');
  assert.not.ok(svc.logs.some((l) => l.includes(apiKeyHash('k-admin').toString('hex'))), 'no hash in the logs');
});

test('authentication errors are told apart', async () => {
  // Proves no key, a malformed header and an unknown key get their own codes.
  const svc = await gateway();
  assert.is(decoded(asKey(svc, null, gw.ROUTE_SYSTEM_GATEWAY)).error, gw.GW_E_UNAUTHENTICATED);
  const bad = decoded(svc.request(gatewayRequest(gw.ROUTE_SYSTEM_GATEWAY, gw.AUTH_MALFORMED, null, SRC, Buffer.alloc(0))));
  assert.equal([bad.status, bad.error], [401, gw.GW_E_BAD_AUTHORIZATION]);
  assert.is(decoded(asKey(svc, 'nope', gw.ROUTE_SYSTEM_GATEWAY)).error, gw.GW_E_UNKNOWN_KEY);
  const malformed = decoded(svc.request(Buffer.from([9, 1, 0, 0])));
  assert.equal([malformed.status, malformed.error], [400, gw.GW_E_MALFORMED]);
});

test('the admission table: the policy at init, each key as it is created and revoked', async () => {
  // Proves what the kernel's admission is told (hal/abi.ts "admission"): the
  // manifest's rates, each route's roles from the same roleMay the service
  // checks with (the console for key routes only), the ledger scope of the
  // write routes and balance history, and a key record per change.
  const svc = await gateway({ ...CONFIG, source_rate_per_second: 10, source_burst: 3, key_rate_per_second: 7, key_burst: 5,
    auth_failures_per_minute: 30, auth_failure_burst: 4 });
  assert.is(svc.admissionOps.length, 1);
  const policy = svc.admissionOps[0];
  assert.is(policy.op, gw.ADM_OP_POLICY);
  const p = policy.payload;
  assert.equal([p.readUInt32LE(0), p.readUInt32LE(4), p.readUInt32LE(8), p.readUInt32LE(12), p.readUInt32LE(16), p.readUInt32LE(20), p.readUInt32LE(24)],
    [10, 3, 7, 5, 30, 4, gw.ROUTE_COUNT]);
  assert.is(p.length, gw.ADM_POLICY_HEADER_BYTES + gw.ROUTE_COUNT * gw.ADM_ROUTE_BYTES);
  const route = (r: number) => p.subarray(gw.ADM_POLICY_HEADER_BYTES + r * gw.ADM_ROUTE_BYTES, gw.ADM_POLICY_HEADER_BYTES + (r + 1) * gw.ADM_ROUTE_BYTES);
  const roles = (r: number) => route(r).readUInt32LE(0);
  const bit = (role: number) => 1 << role;
  assert.is(roles(gw.ROUTE_CREATE_TRANSFERS), bit(gw.ROLE_ADMIN) | bit(gw.ROLE_OPERATOR) | bit(gw.ROLE_TELLER));
  assert.is(roles(gw.ROUTE_KEYS_CREATE), bit(gw.ADM_ROLE_CONSOLE) | bit(gw.ROLE_ADMIN));
  assert.is(roles(gw.ROUTE_KEYS_LIST), bit(gw.ADM_ROLE_CONSOLE) | bit(gw.ROLE_ADMIN) | bit(gw.ROLE_AUDITOR));
  assert.is(roles(gw.ROUTE_METRICS), bit(gw.ROLE_ADMIN) | bit(gw.ROLE_OPERATOR) | bit(gw.ROLE_AUDITOR));
  assert.is(roles(gw.ROUTE_EVENTS) & bit(gw.ROLE_TELLER), 0, 'a teller does not watch the stream');
  const everyRole = [gw.ROLE_ADMIN, gw.ROLE_OPERATOR, gw.ROLE_TELLER, gw.ROLE_AUDITOR, gw.ROLE_READ_ONLY, gw.ROLE_COMPLIANCE_OFFICER, gw.ROLE_TRADER]
    .reduce((m, r) => m | bit(r), 0);
  assert.is(roles(gw.ROUTE_SCREENING_SEARCH), everyRole, 'every role screens a name');
  assert.is(roles(gw.ROUTE_LISTS_LOAD), bit(gw.ADM_ROLE_CONSOLE) | bit(gw.ROLE_ADMIN) | bit(gw.ROLE_OPERATOR), 'the operators load the lists, and the console');
  for (const r of [gw.ROUTE_SCREENING_SEARCH, gw.ROUTE_LISTS_LOAD]) assert.is(route(r)[4], gw.ADM_SCOPE_NONE, 'no ledger in a compliance request');
  assert.is(roles(0), 0, 'route 0 is no route');
  const writes = route(gw.ROUTE_CREATE_TRANSFERS);
  assert.equal([writes[4], writes[5], writes[6], writes.readUInt16LE(8), writes.readUInt16LE(10)], [gw.ADM_SCOPE_ITEMS, 8, 4, 128, 112]);
  assert.is(route(gw.ROUTE_ACCOUNT_BALANCES)[4], gw.ADM_SCOPE_DENY);
  assert.is(route(gw.ROUTE_LOOKUP_ACCOUNTS)[4], gw.ADM_SCOPE_NONE, 'reads are limited by the ledger instead, with the grants appended');
  for (const q of [gw.ROUTE_QUERY_ACCOUNTS, gw.ROUTE_QUERY_TRANSFERS]) {
    // The queries: every role, like the lookups; reads answered by the same service, with a limited key's grants appended.
    assert.is(roles(q), roles(gw.ROUTE_LOOKUP_ACCOUNTS), `route ${q}: the lookups' roles`);
    assert.equal([route(q)[4], route(q)[7], route(q).readUInt32LE(12)], [gw.ADM_SCOPE_NONE, gw.ADM_ROUTE_F_READ, route(gw.ROUTE_LOOKUP_ACCOUNTS).readUInt32LE(12)]);
    assert.is(route(gw.ROUTE_LOOKUP_ACCOUNTS)[7], gw.ADM_ROUTE_F_READ);
  }
  createKey(svc, 'tel', gw.ROLE_TELLER, [1, 3], 9, 11);
  const key = svc.admissionOps[1];
  assert.is(key.op, gw.ADM_OP_KEY);
  assert.equal(key.payload.subarray(0, 32), apiKeyHash('tel'));
  assert.equal([key.payload.readUInt32LE(32), key.payload[36], key.payload[37], key.payload[38], key.payload.readUInt32LE(40), key.payload.readUInt32LE(44)],
    [1, gw.ROLE_TELLER, 0, 2, 9, 11]);
  assert.equal([key.payload.readUInt32LE(48), key.payload.readUInt32LE(52), key.payload.readUInt32LE(56)], [1, 3, 0]);
  createKey(svc, 'adm', gw.ROLE_ADMIN);
  const id = Buffer.alloc(4);
  id.writeUInt32LE(1);
  assert.is(decoded(asKey(svc, 'adm', gw.ROUTE_KEYS_REVOKE, id)).status, 200);
  const revoked = svc.admissionOps[svc.admissionOps.length - 1];
  assert.equal([revoked.op, revoked.payload.readUInt32LE(32), revoked.payload[37]], [gw.ADM_OP_KEY, 1, 1], 'the revocation reaches admission');
  assert.is(createKey(svc, 'tel', gw.ROLE_TELLER, [1]).status, 409);
  assert.is(svc.admissionOps.length, 4, 'a refused key is not programmed');
});

test('routes the host answers never reach the gateway: refused as malformed', async () => {
  // Proves the statistics routes and /metrics are admission-only: a frame
  // for one (a host bug) is malformed, not silently allowed.
  const svc = await gateway();
  createKey(svc, 'k', gw.ROLE_ADMIN);
  for (const route of [gw.ROUTE_SYSTEM_SERVICES, gw.ROUTE_SYSTEM_SCHEDULER, gw.ROUTE_SYSTEM_MEMORY, gw.ROUTE_METRICS]) {
    assert.equal([decoded(asKey(svc, 'k', route)).status, decoded(asKey(svc, 'k', route)).error], [400, gw.GW_E_MALFORMED], String(route));
  }
  const flagged = gatewayRequest(gw.ROUTE_KEYS_LIST, gw.AUTH_BEARER, apiKeyHash('k'), SRC, Buffer.alloc(0), gw.GW_F_BODY_REFUSED);
  assert.is(decoded(svc.request(flagged)).error, gw.GW_E_MALFORMED, 'flags are admission\'s, never in a logged request');
});

test('roles per route and a teller limited to its ledgers', async () => {
  // Proves 403 for a role without the route, forbidden_ledger for an event on
  // another ledger (nothing is sent to the ledger), and that a teller's lookup
  // reaches the ledger with its grants as the scope (the ledger answers only
  // records of those ledgers: test/ledger/scope.test.ts) and is relayed whole.
  const svc = await gateway();
  createKey(svc, 'aud', gw.ROLE_AUDITOR);
  createKey(svc, 'tel', gw.ROLE_TELLER, [1, 3]);
  assert.is(decoded(asKey(svc, 'aud', gw.ROUTE_CREATE_ACCOUNTS, accountsRequest(1))).error, gw.GW_E_FORBIDDEN_ROLE);
  assert.is(decoded(asKey(svc, 'tel', gw.ROUTE_KEYS_LIST)).error, gw.GW_E_FORBIDDEN_ROLE);
  assert.is(decoded(asKey(svc, 'tel', gw.ROUTE_CREATE_ACCOUNTS, accountsRequest(1, 2))).error, gw.GW_E_FORBIDDEN_LEDGER);
  assert.is(svc.sent.length, 0, 'nothing reached the ledger');
  assert.is(asKey(svc, 'tel', gw.ROUTE_CREATE_ACCOUNTS, accountsRequest(1, 3)), null, 'forwarded; the answer waits for the ledger');
  assert.is(svc.sent.length, 1);
  const [token] = svc.pending;
  svc.peerReply(LEDGER, Buffer.alloc(2 * 16));
  assert.is(decoded(svc.takeReply(token)).status, 200);
  asKey(svc, 'tel', gw.ROUTE_LOOKUP_ACCOUNTS, lookupRequest(1, 2, 3));
  const sent = svc.sent[svc.sent.length - 1].payload;
  assert.equal([sent.readUInt16LE(2), sent.length], [2, 8 + 3 * 16 + 8], 'the grants as the scope');
  assert.equal([sent.readUInt32LE(8 + 3 * 16), sent.readUInt32LE(8 + 3 * 16 + 4)], [1, 3]);
  const [lookupToken] = svc.pending;
  // What the ledger answers is relayed as it is (a ledger-2 record here would be a ledger bug).
  svc.peerReply(LEDGER, recordsReply(1, 3));
  const seen = decoded(svc.takeReply(lookupToken));
  assert.is(seen.body.readUInt32LE(0), 2);
  assert.equal([seen.body.readUInt32LE(8 + 112), seen.body.readUInt32LE(8 + 128 + 112)], [1, 3]);
});

test('compliance routes: roles, framing, one request at a time to "compliance", replies relayed whole, 503 without the service', async () => {
  // Proves the screening route is every role's and the list route the operators', that a scoped key is not limited by
  // its ledgers here, that a body whose operation is not the route's or whose header or length is wrong is 400 and
  // nothing is sent, that a framed request is sent whole to the compliance service, one at a time (the next waits in
  // the ring, in order) with the reply relayed whole, that an abort is 503 compliance_aborted, and that an image with
  // no compliance service answers 503.
  const COMPLIANCE = 2; // [gateway, ledger, compliance]
  const svc = await ServiceHarness.load(WASM, {
    name: 'gateway', peers: ['ledger', 'compliance'], caps: ['net', 'admit', 'log', 'time', 'send:ledger', 'send:compliance'],
    memoryPagesMax: 256, messageBytesMax: 1048576 + 65536,
  });
  svc.init(CONFIG);
  const roles = { adm: gw.ROLE_ADMIN, op: gw.ROLE_OPERATOR, tel: gw.ROLE_TELLER, aud: gw.ROLE_AUDITOR, ro: gw.ROLE_READ_ONLY };
  for (const [k, role] of Object.entries(roles)) createKey(svc, k, role, role === gw.ROLE_TELLER ? [2] : []);
  const search = searchRequest({ normalized: 'vladimir ivanov' });
  const status = listStatusRequest();
  const reply = (text: string) => Buffer.concat([Buffer.alloc(C.REPLY_HEADER_BYTES), Buffer.from(text)]);
  for (const k of Object.keys(roles)) {
    assert.is(asKey(svc, k, gw.ROUTE_SCREENING_SEARCH, search), null, `${k} may screen: sent, the answer waits`);
    assert.equal(svc.sent[svc.sent.length - 1], { peer: COMPLIANCE, payload: search, token: svc.sent[svc.sent.length - 1].token }, 'sent whole');
    svc.peerReply(COMPLIANCE, reply(k));
    const [token] = svc.pending.slice(-1);
    assert.equal(token, undefined, 'answered');
  }
  for (const k of ['tel', 'aud', 'ro']) assert.is(decoded(asKey(svc, k, gw.ROUTE_LISTS_LOAD, status)).error, gw.GW_E_FORBIDDEN_ROLE, `${k} may not load lists`);
  const malformed: [number, Buffer, RegExp][] = [
    [gw.ROUTE_SCREENING_SEARCH, status, /does not match the route/],
    [gw.ROUTE_LISTS_LOAD, search, /does not match the route/],
    [gw.ROUTE_LISTS_LOAD, Buffer.alloc(8), /shorter than its header/],
    [gw.ROUTE_LISTS_LOAD, Buffer.concat([status, Buffer.alloc(1)]), /length/],
    [gw.ROUTE_SCREENING_SEARCH, search.subarray(0, search.length - 1), /length/],
    [gw.ROUTE_LISTS_LOAD, (() => { const b = Buffer.from(status); b[C.HEADER_LIST] = 1; return b; })(), /list/],
    [gw.ROUTE_LISTS_LOAD, (() => { const b = Buffer.from(status); b[9] = 1; return b; })(), /reserved/],
    [gw.ROUTE_LISTS_LOAD, (() => { const b = namesRequest([{ type: 1, alias: false, weak: false, entityId: '1', normalized: 'a', display: 'A' }], 1); b[C.HEADER_LIST] = 3; return b; })(), /list/],
  ];
  const sentBefore = svc.sent.length;
  for (const [route, body, why] of malformed) {
    const r = decoded(asKey(svc, 'op', route, body));
    assert.equal([r.status, r.error], [400, gw.GW_E_MALFORMED], String(why));
    assert.match(r.body.toString('latin1'), why);
  }
  assert.is(svc.sent.length, sentBefore, 'nothing malformed was sent');
  // One at a time: the second waits until the first is answered, then is sent; each client gets its own reply.
  const begin = beginRequest({ list: C.LIST_UN, version: Buffer.alloc(32, 7), entries: 1, names: 1 });
  assert.is(asKey(svc, 'op', gw.ROUTE_LISTS_LOAD, begin), null);
  assert.is(asKey(svc, 'tel', gw.ROUTE_SCREENING_SEARCH, search), null);
  assert.is(svc.sent.length, sentBefore + 1, 'the second waits');
  const [first, second] = svc.pending;
  svc.peerReply(COMPLIANCE, reply('first'));
  assert.equal(decoded(svc.takeReply(first)).body, reply('first'), 'relayed whole');
  assert.equal(svc.sent.map((x) => x.payload).slice(-1), [search], 'the waiting one sent');
  svc.peerFailed(COMPLIANCE);
  const aborted = decoded(svc.takeReply(second));
  assert.equal([aborted.status, aborted.error], [503, gw.GW_E_COMPLIANCE_ABORTED]);
  // An image without a compliance service.
  const bare = await gateway();
  createKey(bare, 'k', gw.ROLE_ADMIN);
  const none = decoded(asKey(bare, 'k', gw.ROUTE_SCREENING_SEARCH, search));
  assert.equal([none.status, none.error], [503, gw.GW_E_BUSY]);
  assert.is(bare.sent.length, 0);
});

const holdReleaseRequest = (payment: bigint) => releaseLines([{ payment, outcome: 'release' }]);

test('alerts, cases, decisions, rules and reports: roles in the admission policy and at apply time, framing, the hold_release to payments', async () => {
  // Proves the role policy of issue 18: tellers and read-only keys never reach an alert, a case, a decision, the rules or a report
  // (403 from the policy the kernel is given and again at apply time); auditors read them all and change nothing; operators read and
  // set the rules; compliance officers (and admins) work cases and release held payments (ROUTE_HOLD_RELEASE, the payments
  // service's hold_release); admins, operators and officers screen the account owners again (ROUTE_RESCREEN's directory
  // pages, ROUTE_ACCOUNTS_SCREEN's screening); the console may do all of it; a body whose operation is not the route's, or of the wrong length, is 400.
  const PAYMENTS = 2;
  const COMPLIANCE = 3; // [gateway, ledger, payments, compliance]
  const svc = await ServiceHarness.load(WASM, {
    name: 'gateway', peers: ['ledger', 'payments', 'compliance'], caps: ['net', 'admit', 'log', 'time', 'send:ledger', 'send:payments', 'send:compliance'],
    memoryPagesMax: 256, messageBytesMax: 1048576 + 65536,
  });
  svc.init(CONFIG);
  const roles = { adm: gw.ROLE_ADMIN, op: gw.ROLE_OPERATOR, tel: gw.ROLE_TELLER, aud: gw.ROLE_AUDITOR, ro: gw.ROLE_READ_ONLY, co: gw.ROLE_COMPLIANCE_OFFICER, trd: gw.ROLE_TRADER };
  for (const [k, role] of Object.entries(roles)) assert.is(createKey(svc, k, role, role === gw.ROLE_TELLER ? [1] : []).status, 200, k);
  const filter = { after: 0n, from: 0n, to: 0n, limit: 10, state: 0, ledger: 0 };
  const close = caseUpdateRequest({ alert: 1, action: C.CASE_ACT_CLOSE, outcome: C.OUTCOME_RELEASE, reason: C.CLOSE_FALSE_POSITIVE, assignee: '' });
  const rulesSet = Buffer.concat([Buffer.from([C.Op.rules_set, 0, 0, 0, 1, 0, 0, 0]), Buffer.alloc(8), Buffer.alloc(C.RULES_BYTES)]);
  const requests: [number, Buffer, string[], number][] = [
    [gw.ROUTE_RULES_GET, rulesGetRequest(), ['adm', 'op', 'aud', 'co'], COMPLIANCE],
    [gw.ROUTE_RULES_SET, rulesSet, ['adm', 'op'], COMPLIANCE],
    [gw.ROUTE_ALERTS_LIST, alertsListRequest(filter), ['adm', 'op', 'aud', 'co'], COMPLIANCE],
    [gw.ROUTE_CASE_UPDATE, close, ['adm', 'co'], COMPLIANCE],
    [gw.ROUTE_HOLD_RELEASE, holdReleaseRequest(7n), ['adm', 'co'], PAYMENTS],
    [gw.ROUTE_DECISIONS_LIST, decisionsListRequest(filter), ['adm', 'op', 'aud', 'co'], COMPLIANCE],
    [gw.ROUTE_REPORTS, alertsListRequest(filter), ['adm', 'op', 'aud', 'co'], COMPLIANCE],
    [gw.ROUTE_REPORTS, decisionsListRequest(filter), ['adm', 'op', 'aud', 'co'], COMPLIANCE],
    [gw.ROUTE_RESCREEN, directoryListRequest(0, 10), ['adm', 'op', 'co'], PAYMENTS],
    [gw.ROUTE_ACCOUNTS_SCREEN, accountsScreenRequest([{ ledger: 1, account: 9n, name: 'anna meyer' }]), ['adm', 'op', 'co'], COMPLIANCE],
  ];
  const policy = svc.admissionOps[0].payload;
  for (const [route, body, allowed, peer] of requests) {
    const mask = policy.readUInt32LE(gw.ADM_POLICY_HEADER_BYTES + route * gw.ADM_ROUTE_BYTES);
    const want = allowed.reduce((m, k) => m | (1 << roles[k as keyof typeof roles]), 1 << gw.ADM_ROLE_CONSOLE);
    assert.is(mask, want, `route ${route}: the roles admission is told`);
    for (const k of Object.keys(roles)) {
      const r = asKey(svc, k, route, body);
      if (!allowed.includes(k)) { assert.is(decoded(r).error, gw.GW_E_FORBIDDEN_ROLE, `${k} on route ${route}: 403`); continue; }
      assert.is(r, null, `${k} on route ${route}: sent, the answer waits`);
      assert.equal(svc.sent[svc.sent.length - 1].peer, peer, `route ${route} goes to its service`);
      assert.equal(svc.sent[svc.sent.length - 1].payload, body, 'sent whole');
      const reply = Buffer.alloc(C.REPLY_HEADER_BYTES);
      svc.peerReply(peer, reply);
    }
  }
  const malformed: [number, Buffer][] = [
    [gw.ROUTE_ALERTS_LIST, decisionsListRequest(filter)], [gw.ROUTE_DECISIONS_LIST, alertsListRequest(filter)],
    [gw.ROUTE_CASE_UPDATE, close.subarray(0, close.length - 1)], [gw.ROUTE_RULES_GET, Buffer.concat([rulesGetRequest(), Buffer.alloc(1)])],
    [gw.ROUTE_RULES_SET, rulesSet.subarray(0, rulesSet.length - 4)], [gw.ROUTE_HOLD_RELEASE, Buffer.concat([holdReleaseRequest(7n), Buffer.alloc(16)])],
    [gw.ROUTE_REPORTS, close], [gw.ROUTE_RESCREEN, holdReleaseRequest(7n)], [gw.ROUTE_ACCOUNTS_SCREEN, alertsListRequest(filter)],
    [gw.ROUTE_ACCOUNTS_SCREEN, accountsScreenRequest([{ ledger: 1, account: 9n, name: 'anna meyer' }]).subarray(0, C.HEADER_BYTES + 1)],
  ];
  for (const [route, body] of malformed) assert.is(decoded(asKey(svc, 'adm', route, body)).status, 400, `route ${route}: malformed is 400`);
});

test('a scoped key\'s queries carry its grants to the ledger and their replies are not filtered again', async () => {
  // Proves the logged path of ROUTE_QUERY_ACCOUNTS / _TRANSFERS: the body must be ledger operation 7 / 8
  // (not the route's number) with one 64-byte QueryFilter; a teller's request reaches the ledger with its
  // grants appended as the scope (the ledger skips other ledgers inside its scan), and the reply is relayed
  // whole (a filter here would cut a page short); an unscoped key's query goes unchanged.
  const svc = await gateway();
  createKey(svc, 'tel', gw.ROLE_TELLER, [1, 3]);
  createKey(svc, 'aud', gw.ROLE_AUDITOR);
  const query = (operation: number) => {
    const b = Buffer.alloc(L.HEADER_BYTES + L.QUERY_FILTER_BYTES);
    b[L.HEADER_OPERATION] = operation;
    b.writeUInt32LE(1, L.HEADER_COUNT);
    b.writeUInt32LE(5, L.HEADER_BYTES + L.QUERY_LIMIT);
    return b;
  };
  const malformed = (route: number, body: Buffer) => decoded(asKey(svc, 'tel', route, body));
  assert.equal([malformed(gw.ROUTE_QUERY_ACCOUNTS, query(gw.ROUTE_QUERY_ACCOUNTS)).status, svc.sent.length], [400, 0], 'the route number is not the operation');
  assert.is(malformed(gw.ROUTE_QUERY_TRANSFERS, query(L.Operation.query_accounts)).status, 400);
  assert.is(malformed(gw.ROUTE_QUERY_ACCOUNTS, accountsRequest(1)).status, 400, 'a 128-byte item is not a QueryFilter');
  assert.is(svc.sent.length, 0);
  for (const [route, operation] of [[gw.ROUTE_QUERY_ACCOUNTS, L.Operation.query_accounts], [gw.ROUTE_QUERY_TRANSFERS, L.Operation.query_transfers]]) {
    assert.is(asKey(svc, 'tel', route, query(operation)), null, 'forwarded');
    const sent = svc.sent[svc.sent.length - 1].payload;
    assert.equal([sent[0], sent.readUInt16LE(2), sent.length], [operation, 2, L.HEADER_BYTES + L.QUERY_FILTER_BYTES + 8], 'the grants as the scope');
    assert.equal([sent.readUInt32LE(L.HEADER_BYTES + L.QUERY_FILTER_BYTES), sent.readUInt32LE(L.HEADER_BYTES + L.QUERY_FILTER_BYTES + 4)], [1, 3]);
    const [token] = svc.pending;
    // A ledger-2 record in the reply would be a ledger bug; it shows the gateway does not filter the queries' replies.
    svc.peerReply(LEDGER, recordsReply(1, 2, 3));
    assert.is(decoded(svc.takeReply(token)).body.readUInt32LE(0), 3, 'relayed whole');
  }
  assert.is(asKey(svc, 'aud', gw.ROUTE_QUERY_TRANSFERS, query(L.Operation.query_transfers)), null);
  assert.equal(svc.sent[svc.sent.length - 1].payload, query(L.Operation.query_transfers), 'no scope for a key with every ledger');
});

test('replies are relayed in order; requests beyond the window wait and then go', async () => {
  // Proves the FIFO match of ledger replies to clients with 2 in flight and
  // the rest queued in arrival order, and a ledger error relayed as 502.
  const svc = await gateway();
  createKey(svc, 'op', gw.ROLE_OPERATOR);
  for (let i = 1; i <= 5; i++) assert.is(asKey(svc, 'op', gw.ROUTE_LOOKUP_ACCOUNTS, lookupRequest(i)), null);
  assert.is(svc.sent.length, 2, 'two in flight');
  const tokens = svc.pending;
  for (let i = 0; i < 5; i++) {
    assert.is(svc.sent[i].payload.readUInt32LE(8), i + 1, 'sent in arrival order');
    if (i === 4) svc.peerReply(LEDGER, Buffer.from('logical clock exhausted'));
    else svc.peerReply(LEDGER, recordsReply(i));
    assert.is(svc.sent.length, Math.min(5, i + 3));
  }
  const replies = tokens.map((t) => decoded(svc.takeReply(t)));
  assert.equal(replies.map((r) => r.status), [200, 200, 200, 200, 502]);
  assert.equal(replies.slice(0, 4).map((r) => r.body.readUInt32LE(8)), [100, 100, 100, 100], 'one record each, relayed whole');
  assert.is(replies[4].error, gw.GW_E_LEDGER);
  assert.is(replies[4].body.toString(), 'logical clock exhausted');
});

test('a request the ledger aborted gets 503 and frees its slot for the next', async () => {
  // Proves MSG_KIND_FAILED from the ledger (it faulted on the request, or has
  // failed) answers the oldest forwarded request instead of leaving its
  // client waiting forever, and the queued request behind it goes out.
  const svc = await gateway();
  createKey(svc, 'op', gw.ROLE_OPERATOR);
  for (let i = 1; i <= 3; i++) assert.is(asKey(svc, 'op', gw.ROUTE_LOOKUP_ACCOUNTS, lookupRequest(i)), null);
  const tokens = svc.pending;
  assert.is(svc.sent.length, 2);
  svc.peerFailed(LEDGER);
  assert.is(svc.sent.length, 3, 'the waiting request took the freed slot');
  const aborted = decoded(svc.takeReply(tokens[0]));
  assert.equal([aborted.status, aborted.error, aborted.retryAfter], [503, gw.GW_E_LEDGER_ABORTED, 1]);
  svc.peerReply(LEDGER, recordsReply(1));
  svc.peerReply(LEDGER, recordsReply(1));
  assert.equal(tokens.slice(1).map((t) => decoded(svc.takeReply(t)).status), [200, 200], 'later replies still match their requests');
});

test('the waiting queue is bounded, refuses with 503 when full, and wraps around', async () => {
  // Proves large requests fill the 8 MiB queue, the next one gets 503 busy
  // (nothing sent), and after draining, writes wrap to the queue's start
  // while every request still goes out once, in order.
  const svc = await gateway({ ...CONFIG, ledger_in_flight_max: 1 });
  createKey(svc, 'op', gw.ROLE_OPERATOR);
  const big = (n: number) => { const ids = Array.from({ length: 8000 }, () => n); return lookupRequest(...ids); }; // 128 KiB + 8
  let refused = 0;
  let submitted = 0;
  for (let n = 1; n <= 80; n++) {
    const r = asKey(svc, 'op', gw.ROUTE_LOOKUP_ACCOUNTS, big(n));
    if (r === null) submitted++;
    else { assert.is(decoded(r).error, gw.GW_E_BUSY); refused++; }
  }
  assert.ok(refused > 0 && submitted >= 60, `queue holds about 8 MiB: ${submitted} waiting, ${refused} refused`);
  for (let round = 0; round < 3; round++) {
    // Drain half, then add more so the writer wraps behind the reader.
    for (let i = 0; i < 30; i++) svc.peerReply(LEDGER, recordsReply());
    for (let i = 0; i < 30; i++) if (asKey(svc, 'op', gw.ROUTE_LOOKUP_ACCOUNTS, big(1000 + round * 100 + i)) === null) submitted++;
  }
  while (svc.sent.length < submitted) svc.peerReply(LEDGER, recordsReply());
  assert.is(svc.sent.length, submitted, 'every waiting request was sent once');
  const order = svc.sent.map((s) => s.payload.readUInt32LE(8));
  for (let i = 1; i < order.length; i++) assert.ok(order[i] > order[i - 1], `in order at ${i}`);
});

function transfersRequest(...events: [number, number][]): Buffer {
  const b = Buffer.alloc(L.HEADER_BYTES + events.length * L.RECORD_BYTES);
  b[L.HEADER_OPERATION] = gw.ROUTE_CREATE_TRANSFERS;
  b.writeUInt32LE(events.length, L.HEADER_COUNT);
  events.forEach(([id, flags], i) => {
    const at = L.HEADER_BYTES + i * L.RECORD_BYTES;
    b.writeUInt32LE(id, at + L.TRANSFER_ID);
    b.writeUInt32LE(1, at + L.TRANSFER_LEDGER);
    b.writeUInt16LE(flags, at + L.TRANSFER_FLAGS);
  });
  return b;
}

test('transfer_checks: a create_transfers goes to compliance first, later ledger requests wait behind it, refused chains never reach the ledger', async () => {
  // Proves the gateway's half of the ledger's transfers checked (relay.ts, transfer_checks.ts): compliance gets the
  // events as check_transfers; a lookup sent meanwhile waits (order kept); the ledger gets only the events not refused
  // nor linked to a refused one, under its own header; the client gets a result per event in order; an abort of the
  // check is 503 and a refusal of it 502, with nothing sent to the ledger; and an image without compliance fails to boot.
  const COMPLIANCE = 2;
  const load = () => ServiceHarness.load(WASM, {
    name: 'gateway', peers: ['ledger', 'compliance'], caps: ['net', 'admit', 'log', 'time', 'send:ledger', 'send:compliance'],
    memoryPagesMax: 256, messageBytesMax: 1048576 + 65536,
  });
  const svc = await load();
  svc.init({ ...CONFIG, transfer_checks: true });
  createKey(svc, 'op', gw.ROLE_OPERATOR);
  const batch = transfersRequest([1, L.TransferFlags.linked], [2, 0], [3, 0]);
  assert.is(asKey(svc, 'op', gw.ROUTE_CREATE_TRANSFERS, batch), null);
  assert.is(asKey(svc, 'op', gw.ROUTE_LOOKUP_ACCOUNTS, lookupRequest(7)), null);
  assert.is(svc.sent.length, 1, 'the lookup waits while compliance decides');
  const check = svc.sent[0];
  assert.equal([check.peer, check.payload[C.HEADER_OP], check.payload.readUInt32LE(C.HEADER_COUNT)], [COMPLIANCE, C.Op.check_transfers, 3]);
  assert.equal(check.payload.subarray(C.HEADER_BYTES), batch.subarray(L.HEADER_BYTES), 'the events as the ledger would get them');
  const [batchToken, lookupToken] = svc.pending;
  const verdicts = Buffer.alloc(C.REPLY_HEADER_BYTES + 3 * C.VERDICT_BYTES);
  verdicts.writeUInt32LE(3, 0);
  verdicts.writeBigUInt64LE(1n, 8);
  [C.ACTION_ALLOW, C.ACTION_REFUSE, C.ACTION_ALLOW].forEach((a, i) => { verdicts[C.REPLY_HEADER_BYTES + i * C.VERDICT_BYTES] = a; });
  verdicts.writeUInt32LE(C.RULE_PAYMENT_MAX, C.REPLY_HEADER_BYTES + C.VERDICT_BYTES + C.VERDICT_RULE);
  svc.peerReply(COMPLIANCE, verdicts);
  assert.equal(svc.sent.slice(1).map((x) => x.peer), [LEDGER, LEDGER], 'the batch, then the lookup that waited');
  assert.equal(svc.sent[1].payload, transfersRequest([3, 0]), 'only the event outside the refused chain, under the ledger\'s header');
  const result = Buffer.alloc(L.RESULT_BYTES);
  result.writeBigUInt64LE(5n, L.RESULT_TIMESTAMP);
  svc.peerReply(LEDGER, result);
  const answered = decoded(svc.takeReply(batchToken));
  assert.equal(answered.status, 200);
  assert.equal([0, 1, 2].map((i) => [answered.body.readUInt32LE(i * L.RESULT_BYTES), answered.body.readBigUInt64LE(i * L.RESULT_BYTES + L.RESULT_TIMESTAMP)]),
    [[L.TransferResult.linked_event_failed, 0n], [L.TransferResult.compliance_limit, 0n], [L.TransferResult.created, 5n]]);
  svc.peerReply(LEDGER, recordsReply());
  assert.is(decoded(svc.takeReply(lookupToken)).status, 200);
  // The check aborted, then refused: the client is told, and the ledger gets nothing.
  for (const [act, status, error] of [['abort', 503, gw.GW_E_COMPLIANCE_ABORTED], ['refuse', 502, gw.GW_E_COMPLIANCE_REFUSED]] as const) {
    const sent = svc.sent.length;
    assert.is(asKey(svc, 'op', gw.ROUTE_CREATE_TRANSFERS, transfersRequest([4, 0])), null);
    const [token] = svc.pending;
    if (act === 'abort') svc.peerFailed(COMPLIANCE);
    else svc.peerReply(COMPLIANCE, (() => { const b = Buffer.alloc(C.REPLY_HEADER_BYTES + 4); b.writeUInt32LE(C.REPLY_F_REFUSED, 4); return b; })());
    const r = decoded(svc.takeReply(token));
    assert.equal([r.status, r.error], [status, error], act);
    assert.is(svc.sent.length, sent + 1, `${act}: only the check was sent`);
  }
  const bare = await ServiceHarness.load(WASM, { name: 'gateway', peers: ['ledger'], caps: ['net', 'admit', 'log', 'time', 'send:ledger'], memoryPagesMax: 256, messageBytesMax: 1048576 + 65536 });
  assert.throws(() => bare.init({ ...CONFIG, transfer_checks: true }), undefined, 'transfer_checks without a compliance service does not boot');
});

test('trading routes: orders for admins, operators and traders, reads for every role; framing; a scoped key\'s grants appended; one at a time; an abort is 503', async () => {
  // Proves the gateway's half of the trading routes (trading_request.ts, roles.ts, relay.ts): who may use each, that a
  // body whose operation is not the route's or whose length or scope is wrong is 400 and not sent, that a key limited
  // to ledgers has its grants appended as the request's scope, and that a trading request waits for the one before.
  const TRADING = 2; // [gateway, ledger, trading]
  const svc = await ServiceHarness.load(WASM, {
    name: 'gateway', peers: ['ledger', 'trading'], caps: ['net', 'admit', 'log', 'time', 'send:ledger', 'send:trading'], memoryPagesMax: 256, messageBytesMax: 1048576 + 65536,
  });
  svc.init(CONFIG);
  const roles = { adm: gw.ROLE_ADMIN, op: gw.ROLE_OPERATOR, tel: gw.ROLE_TELLER, aud: gw.ROLE_AUDITOR, ro: gw.ROLE_READ_ONLY, co: gw.ROLE_COMPLIANCE_OFFICER, trd: gw.ROLE_TRADER };
  for (const [k, role] of Object.entries(roles)) createKey(svc, k, role, role === gw.ROLE_TELLER ? [1] : []);
  createKey(svc, 'scoped', gw.ROLE_TRADER, [1, 4]);
  const orders = TR.ordersRequest([{ kind: 'new', side: 'buy', instrument: 1, account: 5n, price: 100n, qty: 1n }]);
  const reply = Buffer.alloc(T.REPLY_HEADER_BYTES);
  for (const k of Object.keys(roles)) {
    const r = asKey(svc, k, gw.ROUTE_ORDERS, orders);
    if (!['adm', 'op', 'trd'].includes(k)) { assert.is(decoded(r).error, gw.GW_E_FORBIDDEN_ROLE, `${k} may not place orders`); continue; }
    assert.is(r, null, `${k} places orders: sent`);
    assert.equal(svc.sent[svc.sent.length - 1].payload, orders, 'sent whole, no scope for an unscoped key');
    svc.peerReply(TRADING, reply);
    assert.equal(svc.pending, [], 'answered');
  }
  assert.is(asKey(svc, 'ro', gw.ROUTE_BOOK, TR.bookRequest(1, 5)), null, 'every role reads the book');
  svc.peerReply(TRADING, reply);
  const sentBefore = svc.sent.length;
  for (const [route, body, why] of [[gw.ROUTE_ORDERS, TR.bookRequest(1, 5), /does not match the route/], [gw.ROUTE_ORDERS, orders.subarray(0, orders.length - 1), /length/],
    [gw.ROUTE_ORDERS, TR.ordersRequest([{ kind: 'mass_cancel', account: 5n }], [1]), /scope/]] as const) {
    const r = decoded(asKey(svc, 'op', route, body));
    assert.equal([r.status, r.error], [400, gw.GW_E_MALFORMED]);
    assert.match(r.body.toString('latin1'), why);
  }
  assert.is(svc.sent.length, sentBefore, 'nothing malformed was sent');
  assert.is(asKey(svc, 'scoped', gw.ROUTE_ORDERS, orders), null);
  assert.equal(svc.sent[svc.sent.length - 1].payload, TR.ordersRequest([{ kind: 'new', side: 'buy', instrument: 1, account: 5n, price: 100n, qty: 1n }], [1, 4]),
    'the grants appended, the scope count set');
  assert.is(asKey(svc, 'trd', gw.ROUTE_ORDERS, orders), null);
  assert.is(svc.sent.length, sentBefore + 1, 'the second waits for the first');
  const [first, second] = svc.pending;
  svc.peerReply(TRADING, reply);
  assert.is(decoded(svc.takeReply(first)).status, 200);
  svc.peerFailed(TRADING);
  const aborted = decoded(svc.takeReply(second));
  assert.equal([aborted.status, aborted.error], [503, gw.GW_E_TRADING_ABORTED]);
});

test('the FIX route: the console (a configured session) and admins, operators and traders; framing; relayed whole, one at a time; no fix service is 503', async () => {
  // Proves the gateway's half of ROUTE_FIX (fix_request.ts, roles.ts, relay.ts, admission.ts): who may use it (the
  // console, which only the host writes, for the FIX sessions the operator configured, and the roles that place
  // orders), that a body of the wrong version, reserved bytes or length is 400 and not sent, that the request and the
  // reply go whole, that a second waits for the first, that an abort is 503 fix_aborted, and that an image without
  // a fix service answers 503.
  const FIX = 2; // [gateway, ledger, fix]
  const svc = await ServiceHarness.load(WASM, {
    name: 'gateway', peers: ['ledger', 'fix'], caps: ['net', 'admit', 'log', 'time', 'send:ledger', 'send:fix'], memoryPagesMax: 256, messageBytesMax: 1048576 + 65536,
  });
  svc.init(CONFIG);
  const p = svc.admissionOps[0].payload;
  const policy = p.subarray(gw.ADM_POLICY_HEADER_BYTES + gw.ROUTE_FIX * gw.ADM_ROUTE_BYTES, gw.ADM_POLICY_HEADER_BYTES + (gw.ROUTE_FIX + 1) * gw.ADM_ROUTE_BYTES);
  const bit = (role: number) => 1 << role;
  assert.is(policy.readUInt32LE(0), bit(gw.ADM_ROLE_CONSOLE) | bit(gw.ROLE_ADMIN) | bit(gw.ROLE_OPERATOR) | bit(gw.ROLE_TRADER));
  assert.is(policy[4], gw.ADM_SCOPE_NONE, 'no ledger in a FIX request');
  const roles = { adm: gw.ROLE_ADMIN, op: gw.ROLE_OPERATOR, tel: gw.ROLE_TELLER, aud: gw.ROLE_AUDITOR, ro: gw.ROLE_READ_ONLY, co: gw.ROLE_COMPLIANCE_OFFICER, trd: gw.ROLE_TRADER };
  for (const [k, role] of Object.entries(roles)) createKey(svc, k, role, role === gw.ROLE_TELLER ? [1] : []);
  const request = (count: number) => {
    const b = Buffer.alloc(FX.HEADER_BYTES + count * FX.INPUT_BYTES);
    b[0] = FX.FIX_VERSION;
    b.writeUInt32LE(count, FX.HEADER_COUNT);
    for (let i = 0; i < count; i++) b[FX.HEADER_BYTES + i * FX.INPUT_BYTES + FX.IN_KIND] = FX.IN_MESSAGE;
    return b;
  };
  const reply = Buffer.alloc(FX.REPLY_BYTES);
  reply.writeUInt32LE(2, 0);
  for (const k of Object.keys(roles)) {
    const r = asKey(svc, k, gw.ROUTE_FIX, request(2));
    if (!['adm', 'op', 'trd'].includes(k)) { assert.is(decoded(r).error, gw.GW_E_FORBIDDEN_ROLE, `${k} may not send FIX inputs`); continue; }
    assert.is(r, null, `${k}: sent`);
    assert.equal(svc.sent[svc.sent.length - 1].payload, request(2), 'sent whole');
    svc.peerReply(FIX, reply);
    assert.equal(svc.pending, [], 'answered');
  }
  const asConsole = (body: Buffer) => svc.request(gatewayRequest(gw.ROUTE_FIX, gw.AUTH_CONSOLE, null, SRC, body));
  const sentBefore = svc.sent.length;
  const badVersion = request(1); badVersion[0] = FX.FIX_VERSION + 1;
  const badReserved = request(1); badReserved[2] = 1;
  const badPad = request(1); badPad[12] = 1;
  for (const [body, why] of [[badVersion, /version/], [badReserved, /reserved/], [badPad, /reserved/], [request(2).subarray(0, FX.HEADER_BYTES + FX.INPUT_BYTES), /length/],
    [request(0), /length/], [Buffer.alloc(4), /shorter/]] as const) {
    const r = decoded(asConsole(body));
    assert.equal([r.status, r.error], [400, gw.GW_E_MALFORMED]);
    assert.match(r.body.toString('latin1'), why);
  }
  assert.is(svc.sent.length, sentBefore, 'nothing malformed was sent');
  assert.is(asConsole(request(1)), null, 'the console sends a configured session\'s inputs');
  assert.is(asKey(svc, 'trd', gw.ROUTE_FIX, request(3)), null);
  assert.is(svc.sent.length, sentBefore + 1, 'the second waits for the first');
  const [first, second] = svc.pending;
  svc.peerReply(FIX, reply);
  const answered = decoded(svc.takeReply(first));
  assert.equal([answered.status, answered.body], [200, reply], 'the reply relayed whole');
  assert.equal(svc.sent[svc.sent.length - 1].payload, request(3), 'then the second is sent');
  svc.peerFailed(FIX);
  const aborted = decoded(svc.takeReply(second));
  assert.equal([aborted.status, aborted.error], [503, gw.GW_E_FIX_ABORTED]);
  const bare = await gateway();
  createKey(bare, 'adm', gw.ROLE_ADMIN);
  const none = decoded(asKey(bare, 'adm', gw.ROUTE_FIX, request(1)));
  assert.equal([none.status, none.error], [503, gw.GW_E_BUSY], 'an image without a fix service');
});

test('the same inputs give the same state', async () => {
  // Proves determinism: two instances fed the same inputs at the same logical
  // times end with identical memory (the state hash covers it).
  const run = async () => {
    const svc = await gateway({ ...CONFIG, source_rate_per_second: 5, source_burst: 2 });
    createKey(svc, 'a', gw.ROLE_ADMIN, [], 3, 3);
    for (let i = 0; i < 10; i++) { svc.timeNs += 100_000_000n; asKey(svc, i % 3 === 0 ? null : 'a', gw.ROUTE_SYSTEM_GATEWAY); }
    const memory = (svc as unknown as { x: { memory: WebAssembly.Memory } }).x.memory;
    return createHash('sha256').update(new Uint8Array(memory.buffer)).digest('hex');
  };
  assert.is(await run(), await run());
});

test('the bank manifest leaves a kernel message slot for every request in flight and its reply', async () => {
  // Proves the relation the FIFO relay depends on: a ledger reply can always
  // be queued (2 slots per request in flight), so no reply is ever lost.
  const { readFileSync } = await import('node:fs');
  const manifest = JSON.parse(readFileSync(join(new URL('../..', import.meta.url).pathname, 'images/bank/manifest.json'), 'utf8'));
  const config = manifest.services.find((s: { name: string }) => s.name === 'gateway').config;
  assert.ok(2 * config.ledger_in_flight_max <= manifest.kernel.message_slots);
  assert.ok(config.ledger_in_flight_max <= 64, 'within the PENDING_MAX of the service');
});

test('random traffic: no trap, and every request is answered exactly once', async () => {
  // Proves, over random mixes of routes, auth states, keys, sources, clock
  // steps, garbage frames and ledger replies (fast-check), that the gateway
  // never traps and answers each client request once, in the end, with a
  // status from its table.
  const fc = (await import('fast-check')).default;
  const op = fc.oneof(
    fc.record({ t: fc.constant('req' as const), route: fc.integer({ min: 0, max: gw.ROUTE_COUNT }), auth: fc.integer({ min: 0, max: 3 }),
      key: fc.integer({ min: 0, max: 3 }), src: fc.integer({ min: 0, max: 3 }), n: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ t: fc.constant('reply' as const), n: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
    fc.record({ t: fc.constant('junk' as const), bytes: fc.uint8Array({ maxLength: 80 }) }),
  );
  await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
    const svc = await gateway({ ...CONFIG, source_rate_per_second: 2, source_burst: 3, key_rate_per_second: 3, key_burst: 2 });
    createKey(svc, 'k0', gw.ROLE_ADMIN);
    createKey(svc, 'k1', gw.ROLE_TELLER, [1]);
    createKey(svc, 'k2', gw.ROLE_READ_ONLY, [2]);
    let asked = 0;
    const answered: Reply[] = [];
    const take = (r: Reply | null) => { asked++; if (r !== null) answered.push(r); };
    // A ledger reply answers waiting clients: collect what became answered.
    const ledgerReply = (payload: Buffer) => {
      const waiting = svc.pending;
      svc.peerReply(LEDGER, payload);
      for (const t of waiting) if (!svc.pending.includes(t)) answered.push(svc.takeReply(t)!);
    };
    for (const o of ops) {
      if (o.t === 'tick') svc.timeNs += BigInt(o.ms) * 1_000_000n;
      else if (o.t === 'junk') take(svc.request(o.bytes));
      else if (o.t === 'reply') { if (svc.pending.length > 0) ledgerReply(o.n === 3 ? Buffer.from('err') : recordsReply(...Array(o.n).fill(1))); }
      else {
        const src = Buffer.from(SRC);
        src[15] = o.src;
        const ledgerBody = o.route === gw.ROUTE_CREATE_ACCOUNTS ? accountsRequest(...Array(o.n).fill(1 + (o.n % 2)))
          : o.route >= 3 && o.route <= 4 ? lookupRequest(...Array(o.n).fill(1)) : Buffer.alloc(0);
        take(svc.request(gatewayRequest(o.route, o.auth, o.auth === gw.AUTH_BEARER ? apiKeyHash(`k${o.key}`) : null, src, ledgerBody)));
      }
    }
    // Drain: the ledger answers everything still in flight.
    for (let i = 0; i < 1000 && svc.pending.length > 0; i++) ledgerReply(Buffer.alloc(0));
    assert.is(svc.pending.length, 0, 'no request left unanswered');
    assert.is(answered.length, asked, 'each request answered exactly once');
    for (const r of answered) {
      const g = parseGatewayReply(r.payload)!;
      assert.ok([200, 400, 401, 403, 404, 409, 502, 503].includes(g.status), `status ${g.status}`);
    }
  }), { numRuns: Number(process.env.QENEX_FUZZ_RUNS ?? 60), seed: 8 });
});

test.run();
