// test/unit/http-gateway.test.ts: the HTTP/1.1 + JSON gateway session
// (host/gateway/http.ts), driven without sockets.
//
// A session gets fake hooks that record what it submits and writes. A fake
// kernel answers submits with real binary ledger replies (built with the
// record writers of host/client/ledger.ts) from a tiny in-memory ledger,
// wrapped as the gateway service wraps them (a 16-byte reply header; the
// service itself is tested in test/integration/gateway-e2e.test.ts), so
// every ledger route is exercised end to end: HTTP bytes in, ledger payload
// in a gateway frame to the kernel, binary reply back, HTTP/JSON bytes out.
//
// Run: node --import tsx test/unit/http-gateway.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as abi from '../../hal/abi.ts';
import {
  BATCH_EVENTS_MAX, HEADER_BYTES, ID_BYTES, Operation, RECORD_BYTES,
  readAccount, readTransfer, writeAccount, writeTransfer, type Account, type Transfer,
} from '../../host/client/ledger.ts';
import { HttpSession } from '../../host/gateway/http.ts';
import { looksLikeHttp } from '../../host/gateway/http-head.ts';
import { limits, type GatewayConfig } from '../../host/gateway/http-config.ts';
import { GATEWAY_SERVICE, sourceBytes } from '../../host/gateway/gateway-wire.ts';
import { apiKeyHash } from '../../host/gateway/keys-json.ts';
import * as gw from '../../services/gateway/protocol.ts';
import * as lp from '../../services/ledger/protocol.ts';
import { admitAll, refuseAll } from '../support/admission.ts';

// ---- a fake kernel: a tiny ledger answering with real binary replies ----

interface Reply { status: number; payload: Buffer }

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function recordsReply<T>(records: readonly T[], write: (v: DataView, offset: number, r: T) => void): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES + records.length * RECORD_BYTES);
  view(bytes).setUint32(0, records.length, true);
  records.forEach((r, i) => write(view(bytes), HEADER_BYTES + i * RECORD_BYTES, r));
  return bytes;
}

function resultsReply(results: readonly [number, bigint][]): Buffer {
  const bytes = Buffer.alloc(results.length * 16);
  results.forEach(([result, timestamp], i) => {
    bytes.writeUInt32LE(result, i * 16);
    bytes.writeBigUInt64LE(timestamp, i * 16 + 8);
  });
  return bytes;
}

function writeBalance(v: DataView, offset: number, b: { debits: bigint; credits: bigint; timestamp: bigint }): void {
  v.setBigUint64(offset + 16, b.debits, true); // debits_posted (low half; the fake stays below 2^64)
  v.setBigUint64(offset + 48, b.credits, true); // credits_posted
  v.setBigUint64(offset + 64, b.timestamp, true);
}

class FakeLedger {
  readonly accounts = new Map<bigint, Account>();
  readonly transfers: Transfer[] = [];
  private clock = 1000n;

  handle(payload: Uint8Array): Reply {
    const v = view(payload);
    const operation = payload[0];
    const count = v.getUint32(4, true);
    const item = (i: number, bytes: number) => HEADER_BYTES + i * bytes;
    if (operation === Operation.create_accounts) {
      const results: [number, bigint][] = [];
      for (let i = 0; i < count; i++) {
        const a = readAccount(v, item(i, RECORD_BYTES));
        const timestamp = ++this.clock;
        if (a.id === 0n) results.push([6, timestamp]);
        else if (this.accounts.has(a.id)) results.push([21, timestamp]);
        else { this.accounts.set(a.id, { ...a, timestamp }); results.push([0, timestamp]); }
      }
      return { status: abi.FRAME_OK, payload: resultsReply(results) };
    }
    if (operation === Operation.create_transfers) {
      const results: [number, bigint][] = [];
      for (let i = 0; i < count; i++) {
        const t = readTransfer(v, item(i, RECORD_BYTES));
        const timestamp = ++this.clock;
        const debit = this.accounts.get(t.debit_account_id);
        const credit = this.accounts.get(t.credit_account_id);
        if (debit === undefined) { results.push([21, timestamp]); continue; }
        if (credit === undefined) { results.push([22, timestamp]); continue; }
        debit.debits_posted += t.amount;
        credit.credits_posted += t.amount;
        this.transfers.push({ ...t, timestamp });
        results.push([0, timestamp]);
      }
      return { status: abi.FRAME_OK, payload: resultsReply(results) };
    }
    if (operation === Operation.lookup_accounts || operation === Operation.lookup_transfers) {
      const ids = Array.from({ length: count }, (_, i) => v.getBigUint64(item(i, ID_BYTES), true)
        | (v.getBigUint64(item(i, ID_BYTES) + 8, true) << 64n));
      if (operation === Operation.lookup_accounts) {
        const found = ids.map((id) => this.accounts.get(id)).filter((a): a is Account => a !== undefined);
        return { status: abi.FRAME_OK, payload: recordsReply(found, writeAccount) };
      }
      const found = ids.map((id) => this.transfers.find((t) => t.id === id)).filter((t): t is Transfer => t !== undefined);
      return { status: abi.FRAME_OK, payload: recordsReply(found, writeTransfer) };
    }
    if (operation === Operation.query_accounts || operation === Operation.query_transfers) {
      // The fake's QueryFilter: ledger, code, limit and reversed (the ledger's own tests cover every field).
      const field = (at: number, bytes: 2 | 4) => (bytes === 2 ? v.getUint16(HEADER_BYTES + at, true) : v.getUint32(HEADER_BYTES + at, true));
      const keep = (r: { ledger: number; code: number }) => (field(lp.QUERY_LEDGER, 4) === 0 || r.ledger === field(lp.QUERY_LEDGER, 4))
        && (field(lp.QUERY_CODE, 2) === 0 || r.code === field(lp.QUERY_CODE, 2));
      const order = <T>(records: T[]) => ((field(lp.QUERY_FLAGS, 4) & 1) !== 0 ? records.reverse() : records).slice(0, field(lp.QUERY_LIMIT, 4));
      if (operation === Operation.query_accounts) return { status: abi.FRAME_OK, payload: recordsReply(order([...this.accounts.values()].filter(keep)), writeAccount) };
      return { status: abi.FRAME_OK, payload: recordsReply(order(this.transfers.filter(keep)), writeTransfer) };
    }
    // get_account_transfers / get_account_balances: account_id (low half), limit, flags.
    const accountId = v.getBigUint64(HEADER_BYTES, true);
    const limit = v.getUint32(HEADER_BYTES + 120, true);
    const flags = v.getUint32(HEADER_BYTES + 124, true);
    let touching = this.transfers.filter((t) => ((flags & 1) !== 0 && t.debit_account_id === accountId)
      || ((flags & 2) !== 0 && t.credit_account_id === accountId));
    if ((flags & 4) !== 0) touching = touching.reverse();
    touching = touching.slice(0, limit);
    if (operation === Operation.get_account_transfers) return { status: abi.FRAME_OK, payload: recordsReply(touching, writeTransfer) };
    let debits = 0n;
    let credits = 0n;
    const balances = touching.map((t) => {
      if (t.debit_account_id === accountId) debits += t.amount;
      else credits += t.amount;
      return { debits, credits, timestamp: t.timestamp };
    });
    return { status: abi.FRAME_OK, payload: recordsReply(balances, writeBalance) };
  }
}

// ---- a session with recording hooks ----

/** payload: the ledger request inside the gateway frame; frame: the whole gateway payload. */
interface Submit { requestId: number; service: string; payload: Uint8Array; frame: Uint8Array }

/** A reply as the gateway service sends it: status 200 and the ledger's bytes. */
function gatewayOk(ledgerReply: Uint8Array): Buffer {
  const out = Buffer.alloc(gw.GW_REPLY_HEADER_BYTES + ledgerReply.length);
  out.writeUInt16LE(200, 0);
  out.set(ledgerReply, gw.GW_REPLY_HEADER_BYTES);
  return out;
}

function gatewayAnswer(status: number, error: number, message: string): Buffer {
  const text = Buffer.from(message, 'latin1');
  const out = Buffer.alloc(gw.GW_REPLY_HEADER_BYTES + text.length);
  out.writeUInt16LE(status, 0);
  out.writeUInt16LE(error, 2);
  text.copy(out, gw.GW_REPLY_HEADER_BYTES);
  return out;
}

const CONFIG: GatewayConfig = { ledgers: new Map([[840, { assetScale: 2, currency: 'USD' }], [392, { assetScale: 0 }]]), admit: admitAll() };

class Harness {
  readonly submits: Submit[] = [];
  readonly events: string[] = [];
  private written: Buffer[] = [];
  ended = false;
  readonly session: HttpSession;

  /** `answer`: 'sync' answers inside submit, 'manual' waits for answer(), 'auto' answers on the next answerAll(). */
  constructor(readonly ledger: FakeLedger | null = new FakeLedger(), readonly mode: 'sync' | 'manual' = 'sync') {
    this.session = new HttpSession({
      submit: (requestId, service, header, body) => {
        assert.ok(!this.ended, 'submit after end');
        assert.is(header.length, gw.GW_REQUEST_HEADER_BYTES);
        assert.is(header[0], gw.GW_VERSION);
        assert.is(header[3], 0, 'no flags in a frame: a refused body is answered by admission, never sent');
        this.submits.push({ requestId, service, payload: body, frame: Buffer.concat([header, body]) });
        this.events.push(`submit ${requestId}`);
        if (this.mode === 'sync') this.answer(requestId);
      },
      write: (bytes) => {
        assert.ok(!this.ended, 'write after end');
        this.written.push(bytes);
      },
      end: () => { this.ended = true; this.events.push('end'); },
      pause: () => this.events.push('pause'),
      resume: () => this.events.push('resume'),
    }, CONFIG);
  }

  send(text: string | Buffer): this {
    this.session.receive(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
    return this;
  }

  sendBytewise(text: string): this {
    const bytes = Buffer.from(text, 'latin1');
    for (let i = 0; i < bytes.length; i++) this.session.receive(bytes.subarray(i, i + 1));
    return this;
  }

  /** Answers a submitted request with the fake ledger, or with `reply`. */
  answer(requestId: number, reply?: Reply): void {
    const submit = this.submits.find((s) => s.requestId === requestId);
    assert.ok(submit, `request ${requestId} was submitted`);
    const r = reply ?? this.ledger!.handle(submit!.payload);
    this.session.reply(requestId, r.status, r.status === abi.FRAME_OK ? gatewayOk(r.payload) : r.payload);
  }

  output(): Buffer {
    return Buffer.concat(this.written);
  }

  responses(noBody: ReadonlySet<number> = new Set()): Response[] {
    return parseResponses(this.output(), noBody);
  }
}

interface Response { status: number; reason: string; headers: Map<string, string>; text: string; json: any }

/** Splits concatenated HTTP responses; `noBody` holds the indexes of responses to HEAD requests. */
function parseResponses(bytes: Buffer, noBody: ReadonlySet<number>): Response[] {
  const out: Response[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    assert.ok(end >= 0, 'a complete response head');
    const [statusLine, ...lines] = bytes.toString('latin1', at, end).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) (.+)$/.exec(statusLine);
    assert.ok(m, `status line ${statusLine}`);
    const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const status = Number(m![1]);
    let length = status === 100 ? 0 : Number(headers.get('content-length'));
    if (noBody.has(out.length)) length = 0;
    const text = bytes.toString('utf8', end + 4, end + 4 + length);
    at = end + 4 + length;
    const isJson = (headers.get('content-type') ?? '').startsWith('application/json');
    out.push({ status, reason: m![2], headers, text, json: text === '' || !isJson ? undefined : JSON.parse(text) });
  }
  return out;
}

function request(method: string, path: string, body?: string, headers: Record<string, string> = {}): string {
  let head = `${method} ${path} HTTP/1.1\r\nHost: qenex\r\n`;
  const all: Record<string, string> = body === undefined ? headers
    : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), ...headers };
  for (const [name, value] of Object.entries(all)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n${body ?? ''}`;
}

function post(path: string, body: unknown, headers: Record<string, string> = {}): string {
  return request('POST', path, typeof body === 'string' ? body : JSON.stringify(body), headers);
}

function only(h: Harness): Response {
  const responses = h.responses();
  assert.is(responses.length, 1, `one response, got ${h.output().toString('latin1')}`);
  return responses[0];
}

function expectError(h: Harness, status: number, code: string, message?: RegExp): Response {
  const r = only(h);
  assert.is(r.status, status, r.text);
  assert.is(r.json.error.code, code, r.text);
  assert.type(r.json.error.message, 'string');
  if (message !== undefined) assert.match(r.json.error.message, message);
  assert.is(r.headers.get('content-type'), 'application/json');
  return r;
}

const ACCOUNTS = [
  { id: '1', ledger: 840, code: 1 },
  { id: '2', ledger: 840, code: 1, flags: ['history'] },
];

// ---- detection and health ----

test('looksLikeHttp: whatever is not a frame is HTTP (so bad text gets an HTTP answer)', () => {
  // Proves the sniffing contract the net device relies on: a frame's fourth
  // byte is zero (a body length of at most a few MiB), text's never is, so a
  // lowercase or unknown method or an empty line first still reaches the
  // HTTP parser, which answers 400 or 501 instead of a binary error frame.
  for (const m of ['GET ', 'POST ', 'PUT ', 'DELETE ', 'HEAD ', 'OPTIONS ', 'PATCH ', 'get /', '\r\nGET', 'GETX /', 'POST']) {
    assert.ok(looksLikeHttp(Buffer.from(m)), JSON.stringify(m));
  }
  const frame = Buffer.alloc(16);
  for (const length of [12, 1048576 + 40, 0xffffff]) {
    frame.writeUInt32LE(length, 0);
    assert.not.ok(looksLikeHttp(frame), String(length));
  }
  assert.throws(() => looksLikeHttp(Buffer.from('GE')), /needs 4 bytes/);
});

test('GET / is a small index: name, version, links; no script, a strict CSP', () => {
  // Proves a first visitor (a browser, curl) learns what the server is instead of a 404.
  const h = new Harness().send(request('GET', '/'));
  const r = only(h);
  assert.is(r.status, 200);
  assert.is(r.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.is(r.headers.get('content-security-policy'), "default-src 'none'");
  assert.match(r.text, /<title>QENEX \d+\.\d+\.\d+<\/title>/);
  assert.match(r.text, /href="\/v1\/openapi\.json"/);
  assert.not.match(r.text, /<script/i);
  assert.is(h.submits.length, 0);
});

test('GET /v1/health is answered by the session without a kernel round trip', () => {
  // Proves health needs no kernel and keeps the connection alive.
  const h = new Harness(null, 'manual').send(request('GET', '/v1/health'));
  const r = only(h);
  assert.is(r.status, 200);
  assert.equal(r.json, { status: 'ok' });
  assert.is(r.headers.get('connection'), 'keep-alive');
  assert.is(r.headers.get('content-length'), String(Buffer.byteLength(r.text)));
  assert.is(h.submits.length, 0);
  assert.not.ok(h.ended);
});

// ---- routes end to end ----

test('POST /v1/accounts and /v1/transfers create, with results per event', () => {
  // Proves create requests reach the kernel as ledger payloads and results come back as names in order.
  const h = new Harness();
  h.send(post('/v1/accounts', [...ACCOUNTS, { id: '1', ledger: 840, code: 1 }]));
  h.send(post('/v1/transfers', [
    { id: '10', debit_account_id: '1', credit_account_id: '2', amount_decimal: '10.50', ledger: 840, code: 7 },
    { id: '11', debit_account_id: '1', credit_account_id: '3', amount: '5', ledger: 840, code: 7 },
  ]));
  assert.is(h.submits.length, 2);
  assert.ok(h.submits.every((s) => s.service === GATEWAY_SERVICE));
  assert.is(h.submits[0].payload[0], Operation.create_accounts);
  const [accounts, transfers] = h.responses();
  assert.is(accounts.status, 200);
  assert.equal(accounts.json.map((r: { result: string }) => r.result), ['created', 'created', 'exists']);
  assert.match(accounts.json[0].timestamp, /^[0-9]+$/);
  assert.equal(transfers.json.map((r: { result: string }) => r.result), ['created', 'credit_account_not_found']);
  assert.is(h.ledger!.transfers[0].amount, 1050n);
});

test('lookups, account transfers and balances return records with strings and flag names', () => {
  // Proves the query routes: ids and filters in, decoded records out.
  const h = new Harness();
  h.send(post('/v1/accounts', ACCOUNTS));
  h.send(post('/v1/transfers', [
    { id: '10', debit_account_id: '1', credit_account_id: '2', amount: '1050', ledger: 840, code: 7, flags: ['linked'] },
    { id: '11', debit_account_id: '2', credit_account_id: '1', amount: '50', ledger: 840, code: 7 },
  ]));
  h.send(post('/v1/accounts/lookup', { ids: ['2', '99', '1'] }));
  h.send(post('/v1/transfers/lookup', { ids: ['10'] }));
  h.send(post('/v1/accounts/2/transfers', { limit: 10, flags: ['debits', 'credits', 'reversed'] }));
  h.send(post('/v1/accounts/2/balances', {}));
  const [, , accounts, transfers, history, balances] = h.responses();
  assert.is(accounts.status, 200);
  assert.equal(accounts.json.map((a: { id: string }) => a.id), ['2', '1']);
  assert.equal(accounts.json[0].flags, ['history']);
  assert.is(accounts.json[0].credits_posted, '1050');
  assert.is(accounts.json[0].debits_posted, '50');
  assert.is(accounts.json[0].ledger, 840);
  assert.equal(Object.keys(accounts.json[0]), ['id', 'debits_pending', 'debits_posted', 'credits_pending',
    'credits_posted', 'user_data_128', 'user_data_64', 'user_data_32', 'ledger', 'code', 'flags', 'timestamp',
    'debits_pending_decimal', 'debits_posted_decimal', 'credits_pending_decimal', 'credits_posted_decimal']);
  // Ledger 840 has asset scale 2 (USD): minor units and the decimal amount side by side.
  assert.equal([accounts.json[0].credits_posted_decimal, accounts.json[0].debits_posted_decimal], ['10.50', '0.50']);
  assert.equal(transfers.json, [{
    id: '10', debit_account_id: '1', credit_account_id: '2', amount: '1050', pending_id: '0', user_data_128: '0',
    user_data_64: '0', user_data_32: 0, timeout: 0, ledger: 840, code: 7, flags: ['linked'],
    timestamp: transfers.json[0].timestamp, amount_decimal: '10.50',
  }]);
  assert.equal(history.json.map((t: { id: string }) => t.id), ['11', '10']); // reversed
  assert.equal(balances.json.map((b: { credits_posted: string }) => b.credits_posted), ['1050', '1050']);
  assert.equal(balances.json.map((b: { debits_posted: string }) => b.debits_posted), ['0', '50']);
  const filter = view(h.submits[5].payload);
  assert.is(h.submits[5].payload[0], Operation.get_account_balances);
  assert.is(filter.getUint32(HEADER_BYTES + 120, true), BATCH_EVENTS_MAX); // default limit
});

test('POST /v1/accounts/query and /v1/transfers/query: a QueryFilter in, records out as lookups give them', () => {
  // Proves the two query routes end to end: the JSON filter becomes one 64-byte QueryFilter of the
  // ledger operation (7, 8) in a frame of the query route (19, 20: not the operation's number), and
  // the records come back as the lookups' JSON; a bad filter is a 400 with its code and submits nothing.
  const h = new Harness();
  h.send(post('/v1/accounts', [...ACCOUNTS, { id: '3', ledger: 392, code: 2 }]));
  h.send(post('/v1/transfers', [
    { id: '10', debit_account_id: '1', credit_account_id: '2', amount: '1050', ledger: 840, code: 7 },
    { id: '11', debit_account_id: '2', credit_account_id: '1', amount: '50', ledger: 840, code: 8 },
  ]));
  h.send(post('/v1/accounts/query', { ledger: 840, flags: ['reversed'], limit: 5 }));
  h.send(post('/v1/accounts/lookup', { ids: ['2', '1'] }));
  h.send(post('/v1/transfers/query', { code: 8, user_data_128: '0', timestamp_min: '0' }));
  h.send(post('/v1/transfers/lookup', { ids: ['11'] }));
  const [, , accounts, lookedUp, transfers, lookedUpTransfer] = h.responses();
  assert.is(accounts.status, 200, accounts.text);
  assert.equal(accounts.json, lookedUp.json, 'query_accounts answers the records lookup_accounts gives');
  assert.equal(accounts.json.map((a: { id: string }) => a.id), ['2', '1']);
  assert.equal(transfers.json, lookedUpTransfer.json);
  for (const [i, route, operation] of [[2, gw.ROUTE_QUERY_ACCOUNTS, Operation.query_accounts], [4, gw.ROUTE_QUERY_TRANSFERS, Operation.query_transfers]]) {
    const { frame, payload } = h.submits[i];
    assert.equal([frame[1], payload[0], payload.length], [route, operation, HEADER_BYTES + lp.QUERY_FILTER_BYTES]);
  }
  assert.is(view(h.submits[2].payload).getUint32(HEADER_BYTES + lp.QUERY_LIMIT, true), 5);
  assert.is(view(h.submits[4].payload).getUint32(HEADER_BYTES + lp.QUERY_LIMIT, true), BATCH_EVENTS_MAX, 'the default limit');
  const refusals: [string, unknown, string, RegExp][] = [
    ['/v1/accounts/query', { account_id: '1' }, 'unknown_field', /filter\.account_id/],
    ['/v1/transfers/query', { flags: ['debits'] }, 'unknown_flag', /filter\.flags\[0\]/],
    ['/v1/transfers/query', { limit: 0 }, 'invalid_field', /filter\.limit/],
    ['/v1/accounts/query', { ledger: '840' }, 'invalid_field', /filter\.ledger/],
    ['/v1/accounts/query', [], 'invalid_body', /JSON object/],
  ];
  for (const [path, body, code, message] of refusals) {
    const bad = new Harness();
    expectError(bad.send(post(path, body)), 400, code, message);
    assert.is(bad.submits.length, 0, `${path} ${code}: nothing submitted`);
  }
});

test('a path id above u128 is 400; an id that is not digits is 404', () => {
  // Proves {id} is a decimal u128 and nothing else matches the route.
  const big = (1n << 128n).toString();
  expectError(new Harness().send(post(`/v1/accounts/${big}/transfers`, {})), 400, 'invalid_field', /path/);
  expectError(new Harness().send(post('/v1/accounts/abc/transfers', {})), 404, 'not_found');
  expectError(new Harness().send(post('/v1/accounts/-1/balances', {})), 404, 'not_found');
  expectError(new Harness().send(post('/v1/accounts/%31/balances', {})), 404, 'not_found');
});

// ---- kernel reply statuses ----

test('kernel statuses map to HTTP: service error, busy, unavailable, storage, too large, others', () => {
  // Proves each FRAME_* status gets its documented response.
  const cases: [number, Buffer, number, string, RegExp?][] = [
    [abi.FRAME_E_SERVICE, Buffer.from('count must not be zero'), 400, 'ledger_rejected', /^count must not be zero$/],
    [abi.FRAME_E_BUSY, Buffer.alloc(0), 503, 'busy'],
    [abi.FRAME_E_UNAVAILABLE, Buffer.alloc(0), 503, 'unavailable'],
    [abi.FRAME_E_STORAGE, Buffer.alloc(0), 503, 'storage_failure'],
    [abi.FRAME_E_TOO_LARGE, Buffer.alloc(0), 413, 'too_large'],
    [abi.FRAME_E_MALFORMED, Buffer.alloc(0), 502, 'bad_gateway', /status 3/],
    [abi.FRAME_E_NO_REPLY, Buffer.alloc(0), 502, 'bad_gateway', /status 8/],
    [abi.FRAME_OK, Buffer.alloc(15), 502, 'invalid_ledger_reply'],
  ];
  for (const [status, payload, http, code, message] of cases) {
    const h = new Harness(null, 'manual').send(post('/v1/accounts', ACCOUNTS));
    h.answer(1, { status, payload });
    const r = expectError(h, http, code, message);
    assert.is(r.headers.get('retry-after'), status === abi.FRAME_E_BUSY ? '1' : undefined);
    assert.not.ok(h.ended, 'a kernel error keeps the connection');
  }
});

test('replies for unknown or already answered ids are ignored', () => {
  // Proves a stray or duplicate reply can't produce a second response.
  const h = new Harness(new FakeLedger(), 'manual').send(post('/v1/accounts', ACCOUNTS));
  h.session.reply(77, abi.FRAME_OK, Buffer.alloc(0));
  assert.is(h.output().length, 0);
  h.answer(1);
  h.answer(1);
  assert.is(h.responses().length, 1);
});

// ---- ordering, splitting, flow control ----

test('pipelined requests are answered strictly in request order', () => {
  // Proves an immediate error for request 3 waits for 1 and 2, and out-of-order kernel replies are reordered.
  const h = new Harness(new FakeLedger(), 'manual');
  h.send(post('/v1/accounts', ACCOUNTS) + post('/v1/accounts/lookup', { ids: ['1'] }) + request('GET', '/nope')
    + request('GET', '/v1/health'));
  assert.is(h.submits.length, 2);
  assert.is(h.output().length, 0);
  h.answer(2);
  assert.is(h.output().length, 0, 'reply 2 waits for reply 1');
  h.answer(1);
  assert.equal(h.responses().map((r) => r.status), [200, 200, 404, 200]);
  assert.equal(h.responses()[1].json, []); // the lookup ran before the create in the fake kernel
});

test('byte-by-byte delivery gives the same responses as one chunk', () => {
  // Proves the parser keeps state across arbitrary splits of heads and bodies.
  const input = '\r\n' + post('/v1/accounts', ACCOUNTS) + request('GET', '/v1/health')
    + post('/v1/transfers', [{ id: '9', debit_account_id: '1', credit_account_id: '2', amount_decimal: '1.25', ledger: 840, code: 1 }])
    + post('/v1/accounts', '[1,]') + request('GET', '/v1/health', undefined, { Connection: 'close' });
  const whole = new Harness().send(input);
  const bytewise = new Harness().sendBytewise(input);
  assert.equal(bytewise.output().toString('latin1'), whole.output().toString('latin1'));
  assert.equal(whole.responses().map((r) => r.status), [200, 200, 200, 400, 200]);
  assert.ok(whole.ended && bytewise.ended);
  for (let split = 1; split < input.length; split += 37) {
    const h = new Harness().send(input.slice(0, split)).send(input.slice(split));
    assert.equal(h.output().toString('latin1'), whole.output().toString('latin1'), `split at ${split}`);
  }
});

test('a kernel that answers inside submit keeps the order', () => {
  // Proves re-entrant replies (submit -> reply) don't reorder or re-parse requests.
  const h = new Harness(new FakeLedger(), 'sync');
  h.send(request('GET', '/nope') + post('/v1/accounts', ACCOUNTS) + request('GET', '/v1/health') + post('/v1/accounts/lookup', { ids: ['1'] }));
  const statuses = h.responses().map((r) => r.status);
  assert.equal(statuses, [404, 200, 200, 200]);
  assert.equal(h.responses()[3].json.map((a: { id: string }) => a.id), ['1']);
});

test('in-flight bound: the socket is paused beyond it and resumed when replies drain', () => {
  // Proves at most requestsInFlightMax requests are open and the rest wait, unparsed, in order.
  const max = limits.requestsInFlightMax;
  const h = new Harness(new FakeLedger(), 'manual');
  let input = '';
  for (let i = 0; i < max + 6; i++) input += post('/v1/accounts/lookup', { ids: [String(i + 1)] });
  h.send(input);
  assert.is(h.submits.length, max);
  assert.equal(h.events.filter((e) => e === 'pause'), ['pause']);
  h.answer(1);
  assert.is(h.submits.length, max + 1, 'one reply makes room for one request');
  assert.is(h.events.filter((e) => e === 'resume').length, 0, 'still full: not resumed');
  for (let id = 2; id <= max + 6; id++) h.answer(id);
  assert.is(h.responses().length, max + 6);
  assert.is(h.events.at(-1), 'resume');
  assert.equal(h.events.filter((e) => e === 'pause' || e === 'resume'), ['pause', 'resume']);
  const ids = h.submits.map((s) => view(s.payload).getBigUint64(HEADER_BYTES, true));
  assert.equal(ids, Array.from({ length: max + 6 }, (_, i) => BigInt(i + 1)));
});

test('closed() drops everything: later replies and bytes write nothing', () => {
  // Proves a gone socket leaves no state that could write or submit.
  const h = new Harness(new FakeLedger(), 'manual').send(post('/v1/accounts', ACCOUNTS));
  h.session.closed();
  h.answer(1);
  h.send(request('GET', '/v1/health'));
  assert.is(h.output().length, 0);
  assert.is(h.submits.length, 1);
});

// ---- connection handling ----

test('Connection: close and HTTP/1.0 close after the response; later bytes are ignored', () => {
  // Proves close semantics, including a pending kernel reply before the close.
  const h = new Harness(new FakeLedger(), 'manual');
  h.send(post('/v1/accounts', ACCOUNTS, { Connection: 'close' }) + request('GET', '/v1/health'));
  assert.not.ok(h.ended);
  h.answer(1);
  const r = only(h);
  assert.is(r.headers.get('connection'), 'close');
  assert.ok(h.ended);
  assert.is(h.submits.length, 1);
  const old = new Harness().send('GET /v1/health HTTP/1.0\r\n\r\nGET /v1/health HTTP/1.0\r\n\r\n');
  assert.is(only(old).status, 200);
  assert.is(only(old).headers.get('connection'), 'close');
  assert.ok(old.ended);
  const keep = new Harness().send(request('GET', '/v1/health', undefined, { Connection: 'keep-alive' }).repeat(3));
  assert.is(keep.responses().length, 3);
  assert.not.ok(keep.ended);
});

test('Expect: 100-continue gets an interim response before the body', () => {
  // Proves curl-style clients are not left waiting, and a refused request with a pending body closes.
  const h = new Harness();
  const body = JSON.stringify(ACCOUNTS);
  h.send(`POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
  assert.is(h.output().toString('latin1'), 'HTTP/1.1 100 Continue\r\n\r\n');
  h.send(body);
  assert.equal(h.responses().map((r) => r.status), [100, 200]);
  const refused = new Harness().send(`POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
  assert.is(only(refused).status, 415);
  assert.ok(refused.ended);
});

// ---- refusals of the HTTP layer ----

test('400 and close: invalid request line, header syntax and Content-Length', () => {
  // Proves framing errors refuse the request and end the connection, since nothing after them can be trusted.
  const cases = [
    'GET /v1/health\r\n\r\n',
    'GET  /v1/health HTTP/1.1\r\n\r\n',
    'GET /v1/health HTTP/1.1 \r\n\r\n',
    'GET /v1/héalth HTTP/1.1\r\n\r\n',
    'GET v1/health HTTP/1.1 x\r\n\r\n',
    'GET /v1/health HTTP/1.1\r\nHost : x\r\n\r\n',
    'GET /v1/health HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n',
    'GET /v1/health HTTP/1.1\r\nNoColon\r\n\r\n',
    'GET /v1/health HTTP/1.1\r\nA: b\nC: d\r\n\r\n',
    'GET /v1/health HTTP/1.1\r\nA: b\x01\r\n\r\n',
    'GET /v1/health HTTP/1.1\nHost: x\n\n\r\n\r\n',
  ];
  for (const input of cases) {
    const h = new Harness().send(input);
    expectError(h, 400, 'bad_request');
    assert.is(only(h).headers.get('connection'), 'close');
    assert.ok(h.ended, JSON.stringify(input));
  }
  const lengths = ['abc', '-1', '+5', '1.0', '5, 6', '0x5', ''];
  for (const value of lengths) {
    const h = new Harness().send(`POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${value}\r\n\r\n`);
    expectError(h, 400, 'bad_content_length');
    assert.ok(h.ended);
  }
  const differ = new Harness().send('POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n[]');
  expectError(differ, 400, 'bad_content_length');
  const body = JSON.stringify(ACCOUNTS);
  const same = new Harness().send(`POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  assert.is(only(same).status, 200);
});

test('505 for other HTTP versions', () => {
  // Proves only HTTP/1.0 and HTTP/1.1 are spoken.
  const h = new Harness().send('GET /v1/health HTTP/2.0\r\n\r\n');
  expectError(h, 505, 'http_version_not_supported');
  assert.ok(h.ended);
});

test('431: too many header bytes or header fields', () => {
  // Proves the head bounds, also when the head never ends.
  const long = new Harness().send(`GET /v1/health HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(limits.headerBytesMax)}\r\n\r\n`);
  expectError(long, 431, 'headers_too_large');
  assert.ok(long.ended);
  const endless = new Harness().sendBytewise(`GET /v1/health HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(limits.headerBytesMax + 10)}`);
  expectError(endless, 431, 'headers_too_large');
  let many = 'GET /v1/health HTTP/1.1\r\n';
  for (let i = 0; i <= limits.headerCountMax; i++) many += `X-${i}: 1\r\n`;
  expectError(new Harness().send(many + '\r\n'), 431, 'too_many_headers');
  let enough = 'GET /v1/health HTTP/1.1\r\nHost: x\r\n';
  for (let i = 1; i < limits.headerCountMax; i++) enough += `X-${i}: 1\r\n`;
  assert.is(only(new Harness().send(enough + '\r\n')).status, 200);
});

test('413: a body over the limit is refused before it is buffered', () => {
  // Proves Content-Length is checked first and the connection closes without reading the body.
  const h = new Harness().send(`POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${limits.bodyBytesMax + 1}\r\n\r\n[`);
  expectError(h, 413, 'body_too_large');
  assert.ok(h.ended);
  expectError(new Harness().send('POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n'), 413, 'body_too_large');
});

test('501: any Transfer-Encoding is refused and the connection closed', () => {
  // Proves chunked (or any other) framing never reaches the parser.
  for (const te of ['chunked', 'identity', 'gzip, chunked']) {
    const h = new Harness().send(`POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: ${te}\r\n\r\n2\r\n[]\r\n0\r\n\r\n`);
    expectError(h, 501, 'transfer_encoding_not_supported');
    assert.ok(h.ended);
    assert.is(h.submits.length, 0);
  }
});

test('404 for anything but an exact route: dot segments, encodings, double slashes', () => {
  // Proves there is no path normalisation that could make two spellings mean one route.
  for (const path of ['/v1/../v1/health', '/v1/%2e%2e/health', '/v1/%2E/health', '//v1/health', '/v1//health',
    '/v1/health/', '/v1/health?x=1', '/V1/health', '/v1/accounts/', '/v1/accounts/1/transfers/', '//', '/?', '/index.html', '/v2/health',
    '/v1/accounts/1/../lookup', '/v1/./health']) {
    const h = new Harness().send(request('GET', path));
    expectError(h, 404, 'not_found');
    assert.not.ok(h.ended);
  }
});

test('405 with Allow for a wrong method on a known path; HEAD gets no body', () => {
  // Proves method checks and that a body skipped after a refusal keeps the stream framed.
  const h = new Harness();
  h.send(request('GET', '/v1/accounts') + post('/v1/health', {}) + request('DELETE', '/v1/transfers/lookup', 'xyz')
    + request('HEAD', '/v1/health') + request('GET', '/v1/health'));
  const responses = h.responses(new Set([3]));
  assert.equal(responses.map((r) => r.status), [405, 405, 405, 405, 200]);
  assert.equal(responses.map((r) => r.headers.get('allow')), ['POST', 'GET', 'POST', 'GET', undefined]);
  assert.is(responses[0].json.error.code, 'method_not_allowed');
  assert.is(responses[3].text, '');
  assert.ok(Number(responses[3].headers.get('content-length')) > 0);
});

test('411 without Content-Length, 415 without application/json', () => {
  // Proves a body route needs a length and a JSON media type (a charset parameter may say utf-8).
  expectError(new Harness().send('POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n'), 411, 'length_required');
  const body = JSON.stringify(ACCOUNTS);
  for (const type of [undefined, 'text/plain', 'application/jsonx', 'application/json; charset=latin1', 'text/json']) {
    const headers: Record<string, string> = { 'Content-Length': String(body.length) };
    if (type !== undefined) headers['Content-Type'] = type;
    const h = new Harness().send(request('POST', '/v1/accounts', undefined, headers) + body + request('GET', '/v1/health'));
    const [first, second] = h.responses();
    assert.is(first.status, 415, String(type));
    assert.is(first.json.error.code, 'unsupported_media_type');
    assert.is(second.status, 200, 'the skipped body kept the stream framed');
    assert.is(h.submits.length, 0);
  }
  for (const type of ['application/json; charset=utf-8', 'Application/JSON;charset="UTF-8"', 'application/json ; foo=bar']) {
    assert.is(only(new Harness().send(post('/v1/accounts', ACCOUNTS, { 'Content-Type': type }))).status, 200, type);
  }
});

test('400 for bodies: invalid JSON with its position, duplicate keys, bad UTF-8, nesting, batches, fields', () => {
  // Proves body refusals are whole-request, keep the connection, and submit nothing.
  const cases: [string | Buffer, string, RegExp?][] = [
    ['[{"id":"1",}]', 'invalid_json', /at byte 11/],
    ['', 'invalid_json', /empty body/],
    ['[{"id":"1","id":"2"}]', 'duplicate_key', /"id"/],
    [Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]), 'invalid_json', /UTF-8 at byte 2/],
    ['['.repeat(20) + ']'.repeat(20), 'nesting_too_deep'],
    ['[]', 'empty_batch'],
    ['[' + Array.from({ length: BATCH_EVENTS_MAX + 1 }, () => '{}').join(',') + ']', 'batch_too_large'],
    ['[{"id":"1"},{"id":"2"},{"id":"3"},{"id":"1.5"}]', 'invalid_field', /^events\[3\]\.id: must be a decimal string of an unsigned integer below 2\^128$/],
    ['[{"id":"1","bogus":1}]', 'unknown_field', /events\[0\]\.bogus/],
    ['[{"id":"1","flags":["nope"]}]', 'unknown_flag'],
    ['{"id":"1"}', 'invalid_body'],
  ];
  for (const [body, code, message] of cases) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const h = new Harness();
    h.send(Buffer.concat([Buffer.from(`POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\n\r\n`), bytes]));
    expectError(h, 400, code, message);
    assert.is(h.submits.length, 0, code);
    assert.not.ok(h.ended);
  }
  const transfers: [unknown, string][] = [
    [[{ id: '1', ledger: 840, amount_decimal: '1.005' }], 'amount_not_exact'],
    [[{ id: '1', ledger: 392, amount_decimal: '0.1' }], 'amount_not_exact'],
    [[{ id: '1', ledger: 840, amount: '1', amount_decimal: '1.00' }], 'amount_mismatch'],
    [[{ id: '1', ledger: 5, amount_decimal: '1' }], 'asset_scale_unknown'],
    [[{ id: '1', ledger: 840, amount: 1050 }], 'invalid_field'],
    [[{ id: '1', ledger: 840, amount_decimal: '1e3' }], 'invalid_field'],
  ];
  for (const [body, code] of transfers) {
    const h = new Harness().send(post('/v1/transfers', body));
    expectError(h, 400, code);
    assert.is(h.submits.length, 0);
  }
  expectError(new Harness().send(post('/v1/accounts/lookup', { ids: [] })), 400, 'empty_batch');
  expectError(new Harness().send(post('/v1/accounts/1/transfers', { limit: 0 })), 400, 'invalid_field', /limit/);
});

test('the largest batch fits one frame and is submitted whole', () => {
  // Proves BATCH_EVENTS_MAX events pass every bound (body, JSON values, frame size) end to end.
  const events = Array.from({ length: BATCH_EVENTS_MAX }, (_, i) => ({
    id: String(i + 1), debit_account_id: '340282366920938463463374607431768211454', credit_account_id: '2',
    amount_decimal: '3402823669209384634633746074317682114.55', pending_id: '0', user_data_128: '1', user_data_64: '1',
    user_data_32: 1, timeout: 0, ledger: 840, code: 1, flags: ['linked', 'pending', 'balancing_debit'], timestamp: '0',
  }));
  const h = new Harness(new FakeLedger(), 'manual').send(post('/v1/transfers', events));
  assert.is(h.submits.length, 1, h.output().toString());
  assert.is(h.submits[0].payload.length, HEADER_BYTES + BATCH_EVENTS_MAX * RECORD_BYTES);
  assert.ok(abi.FRAME_REQUEST_HEADER_BYTES + GATEWAY_SERVICE.length + h.submits[0].frame.length <= abi.FRAME_BODY_BYTES_MAX);
  h.answer(1, { status: abi.FRAME_OK, payload: resultsReply(events.map(() => [0, 1n])) });
  assert.is(only(h).json.length, BATCH_EVENTS_MAX);
});

test('a bad gateway config is refused at construction', () => {
  // Proves an asset scale that can't be exact in a u128 never reaches a request.
  const hooks = { submit() {}, write() {}, end() {}, pause() {}, resume() {} };
  assert.throws(() => new HttpSession(hooks, { ledgers: new Map([[1, { assetScale: 39 }]]), admit: admitAll() }), /assetScale/);
  assert.throws(() => new HttpSession(hooks, { ledgers: new Map([[1, { assetScale: 1.5 }]]), admit: admitAll() }), /assetScale/);
  assert.throws(() => new HttpSession(hooks, { ledgers: new Map([[-1, { assetScale: 2 }]]), admit: admitAll() }), /u32/);
});

// ---- the gateway frame: authorization, source, keys, timeouts ----

test('the gateway frame carries the route, the key hash (never the key) and the source', () => {
  // Proves what the offload sends the gateway service for a ledger route.
  const h = new Harness(null, 'manual').send(post('/v1/accounts/lookup', { ids: ['1'] }, { Authorization: 'Bearer qx_secret' }));
  const frame = Buffer.from(h.submits[0].frame);
  assert.equal([frame[0], frame[1], frame[2]], [gw.GW_VERSION, gw.ROUTE_LOOKUP_ACCOUNTS, gw.AUTH_BEARER]);
  assert.equal(frame.subarray(gw.GW_KEY_HASH_OFFSET, gw.GW_KEY_HASH_OFFSET + 32), apiKeyHash('qx_secret'));
  assert.is(frame.indexOf(Buffer.from('qx_secret')), -1, 'the key itself never leaves the host');
  const malformed = new Harness(null, 'manual').send(post('/v1/accounts/lookup', { ids: ['1'] }, { Authorization: 'Basic abc' }));
  assert.is(malformed.submits[0].frame[2], gw.AUTH_MALFORMED);
  assert.equal(sourceBytes('10.1.2.3'), Buffer.from('00000000000000000000ffff0a010203', 'hex'));
  assert.equal(sourceBytes('::ffff:10.1.2.3'), sourceBytes('10.1.2.3'));
  assert.equal(sourceBytes('2001:db8::1'), Buffer.from('20010db8000000000000000000000001', 'hex'));
});

test('keys create: the key is generated here, only its hash goes to the kernel, and is shown once', () => {
  // Proves POST /v1/keys sends KEY_CREATE with a hash and answers the key with the id the gateway gave.
  const h = new Harness(null, 'manual').send(post('/v1/keys', { role: 'teller', ledgers: [840] }, { Authorization: 'Bearer k' }));
  const body = Buffer.from(h.submits[0].payload);
  assert.is(h.submits[0].frame[1], gw.ROUTE_KEYS_CREATE);
  assert.equal([body[0], body[1], body.readUInt32LE(gw.KEY_CREATE_BYTES)], [gw.ROLE_TELLER, 1, 840]);
  const reply = Buffer.alloc(gw.GW_REPLY_HEADER_BYTES + 4);
  reply.writeUInt16LE(200, 0);
  reply.writeUInt32LE(7, gw.GW_REPLY_HEADER_BYTES);
  h.session.reply(1, abi.FRAME_OK, reply);
  const json = only(h).json as { id: number; key: string; role: string };
  assert.equal([json.id, json.role], [7, 'teller']);
  assert.equal(apiKeyHash(json.key), body.subarray(12, 44), 'the answered key is the one whose hash was sent');
  expectError(new Harness(null, 'manual').send(post('/v1/keys', { role: 'root' })), 400, 'invalid_field');
  expectError(new Harness(null, 'manual').send(post('/v1/keys', { role: 'admin', extra: 1 })), 400, 'invalid_field');
});

test('admission decides first: a refused head is answered at once and its body never read', () => {
  // Proves the order of work for a client without a valid key: the head is
  // put to admission (no charge) before any body byte is kept; the refusal
  // is answered at once, nothing is submitted, and the connection closes
  // rather than read the body.
  const written: Buffer[] = [];
  let submitted = 0;
  let ended = false;
  const asked: { route: number; auth: number; mode: number }[] = [];
  const refuse = refuseAll();
  const session = new HttpSession({
    submit: () => { submitted++; },
    write: (bytes) => written.push(bytes), end: () => { ended = true; }, pause: () => {}, resume: () => {},
  }, { ...CONFIG, admit: (header, mode) => { asked.push({ route: header[1], auth: header[2], mode }); return refuse(header, mode); } });
  session.receive(Buffer.from('POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"a":', 'latin1'));
  const [r] = parseResponses(Buffer.concat(written), new Set());
  assert.is(r.status, 401);
  assert.is(r.json.error.code, 'unauthenticated');
  assert.is(r.headers.get('connection'), 'close');
  assert.ok(ended, 'the body is not read: the connection closes');
  assert.is(submitted, 0);
  assert.equal(asked, [{ route: gw.ROUTE_CREATE_ACCOUNTS, auth: gw.AUTH_NONE, mode: abi.ADM_MODE_PEEK }]);
});

test('a body the host refuses is put to admission again: its 429 wins over the body\'s 400', () => {
  // Proves a key admitted at the head is still charged for a body the host
  // can't read (ADM_MODE_TAKE with GW_F_BODY_REFUSED), and only admission's
  // GW_E_BODY_REFUSED lets the host's own 400 through (the other tests of
  // bodies); nothing is submitted either way.
  const written: Buffer[] = [];
  let submitted = 0;
  const asked: { flags: number; mode: number }[] = [];
  const session = new HttpSession({
    submit: () => { submitted++; },
    write: (bytes) => written.push(bytes), end: () => {}, pause: () => {}, resume: () => {},
  }, {
    ...CONFIG,
    admit: (header, mode) => {
      asked.push({ flags: header[3], mode });
      return mode === abi.ADM_MODE_PEEK
        ? { status: 200, error: gw.GW_OK, retryAfter: 0, keyId: 3, role: gw.ROLE_TELLER, message: '' }
        : { status: 429, error: gw.GW_E_RATE_LIMITED_KEY, retryAfter: 2, keyId: 3, role: gw.ROLE_TELLER, message: 'too many requests with this key' };
    },
  });
  session.receive(Buffer.from('POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{"a":', 'latin1'));
  const [r] = parseResponses(Buffer.concat(written), new Set());
  assert.is(r.status, 429);
  assert.is(r.headers.get('retry-after'), '2');
  assert.is(submitted, 0);
  assert.equal(asked, [{ flags: 0, mode: abi.ADM_MODE_PEEK }, { flags: gw.GW_F_BODY_REFUSED, mode: abi.ADM_MODE_TAKE }]);
});

test('gateway refusals become JSON errors with their headers', () => {
  // Proves 401 carries WWW-Authenticate, 429 carries Retry-After, codes are stable.
  const cases: [number, number, number, string, string | undefined, string | undefined][] = [
    [401, gw.GW_E_UNKNOWN_KEY, 0, 'unknown_key', 'Bearer', undefined],
    [403, gw.GW_E_FORBIDDEN_LEDGER, 0, 'forbidden_ledger', undefined, undefined],
    [429, gw.GW_E_RATE_LIMITED_SOURCE, 3, 'rate_limited', undefined, '3'],
    [503, gw.GW_E_BUSY, 1, 'busy', undefined, '1'],
  ];
  for (const [status, error, retry, code, authenticate, retryAfter] of cases) {
    const h = new Harness(null, 'manual').send(post('/v1/accounts/lookup', { ids: ['1'] }));
    const reply = Buffer.alloc(gw.GW_REPLY_HEADER_BYTES + 4);
    reply.writeUInt16LE(status, 0);
    reply.writeUInt16LE(error, 2);
    reply.writeUInt32LE(retry, 4);
    reply.write('why!', gw.GW_REPLY_HEADER_BYTES, 'latin1');
    h.session.reply(1, abi.FRAME_OK, reply);
    const r = expectError(h, status, code, /^why!$/);
    assert.is(r.headers.get('www-authenticate'), authenticate);
    assert.is(r.headers.get('retry-after'), retryAfter);
    assert.match(r.headers.get('x-request-id') ?? '', /^0-1$/);
  }
});

test('a partial request is timed out with 408; a complete one is not', () => {
  // Proves the session reports when a partial request began, answers 408 and
  // closes on timeout(), and is idle once everything is answered.
  const h = new Harness(null, 'manual');
  assert.is(h.session.partialSinceMs(), null);
  assert.ok(h.session.idle());
  h.send('GET /v1/hea');
  assert.type(h.session.partialSinceMs(), 'number');
  h.session.timeout();
  const r = expectError(h, 408, 'request_timeout');
  assert.is(r.headers.get('connection'), 'close');
  assert.ok(h.ended);
  const done = new Harness(null, 'manual').send(request('GET', '/v1/health'));
  assert.is(done.session.partialSinceMs(), null);
  assert.ok(done.session.idle());
});

test.run();
