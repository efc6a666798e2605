// test/unit/fix-acceptor.test.ts: the FIX acceptor's network side
// (host/fix/acceptor.ts) over real sockets, with the kernel stood in for by a
// submit function that records the requests and answers them, and an
// admission function. Proves:
//   - nothing is submitted for a connection whose first message is not a
//     Logon, names no configured session, comes from a source not allowed,
//     or is a second connection of a live session; each is closed with a
//     JSON line saying why; garbled bytes are logged and skipped;
//   - a Logon is submitted on ROUTE_FIX with the console's authority, the
//     configured options in its body and slot 0; messages read before the
//     service's Logon answer are held and submitted after it, with the slot;
//   - the service's Logon item maps the connection to its slot and is
//     written as a valid FIX Logon; items for another slot or an unknown
//     connection are dropped; OUT_DISCONNECT closes the connection, and its
//     end is submitted as an IN_DISCONNECT;
//   - keys=true: a Logon without Username/Password, or with a key admission
//     refuses, is closed unlogged; an accepted one is submitted with
//     AUTH_BEARER and the Password's SHA-256, LO_KEY and the key id;
//   - a refused request closes the connections whose inputs it held;
//   - an event record of the FIX type yields its items, any other none;
//   - tls_client_ca: a client without a certificate from that CA never
//     reaches the log; one with it logs on over TLS.
//
// Run: node test/run.mjs test/unit/fix-acceptor.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as crypto from 'node:crypto';
import * as P from '../../services/fix/protocol.ts';
import * as gw from '../../services/gateway/protocol.ts';
import * as abi from '../../hal/abi.ts';
import { encodeRawMessage, frameMessages, parseFields, validateMessage } from '../../host/fix/codec.ts';
import { FixAcceptor } from '../../host/fix/acceptor.ts';
import { fixConfig } from '../../host/fix/config.ts';
import type { AdmissionAnswer } from '../../host/base/kernel.ts';

const TIME = '20251206-05:46:40.123';
const instruments = new Map([[7, { id: 7, symbol: 'BTC-USD', priceScale: 2, qtyScale: 4 }]]);

interface Rig {
  acceptor: FixAcceptor;
  port: number;
  requests: Buffer[];
  lines: Record<string, unknown>[];
  refuse: boolean;
}

async function rig(options: string[] = [], admit?: (h: Buffer) => AdmissionAnswer): Promise<Rig> {
  const config = fixConfig(undefined, { listen: '127.0.0.1:0', sessions: ['QENEX:CLIENT1', 'QENEX:CLIENT2'], options })!;
  const r: Partial<Rig> = { requests: [], lines: [], refuse: false };
  r.acceptor = new FixAcceptor({
    config, instruments, log: (o) => r.lines!.push(o as Record<string, unknown>),
    admit: admit ?? (() => ({ status: 401, error: 0, retryAfter: 0, keyId: 0, role: 0, message: '' })),
    submit: async (payload) => {
      r.requests!.push(payload);
      const reply = Buffer.alloc(gw.GW_REPLY_HEADER_BYTES + P.REPLY_BYTES);
      reply.writeUInt16LE(r.refuse ? 403 : 200, 0);
      reply.writeUInt32LE(payload.readUInt32LE(gw.GW_REQUEST_HEADER_BYTES + P.HEADER_COUNT), gw.GW_REPLY_HEADER_BYTES);
      return { status: abi.FRAME_OK, payload: reply };
    },
  });
  r.port = (await r.acceptor.listen()).port;
  return r as Rig;
}

const msg = (type: string, seq: number, body: [number, string][] = [], theirs = 'CLIENT1'): Uint8Array =>
  encodeRawMessage([[35, type], [49, theirs], [56, 'QENEX'], [34, String(seq)], [52, TIME], ...body]);
const logon = (theirs = 'CLIENT1', extra: [number, string][] = []): Uint8Array => msg('A', 1, [[98, '0'], [108, '30'], ...extra], theirs);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await sleep(10)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

interface Client { socket: net.Socket; received: Buffer[]; closed: boolean }
async function connect(port: number, ...messages: Uint8Array[]): Promise<Client> {
  const c: Client = { socket: net.connect(port, '127.0.0.1'), received: [], closed: false };
  c.socket.on('data', (d) => c.received.push(d));
  c.socket.on('close', () => { c.closed = true; });
  c.socket.on('error', () => {});
  await new Promise((r) => c.socket.once('connect', r));
  for (const m of messages) c.socket.write(m);
  return c;
}

/** The inputs of a submitted request, and its auth byte and key hash. */
function inputsOf(req: Buffer): { auth: number; route: number; hash: Buffer; inputs: Buffer[] } {
  const body = req.subarray(gw.GW_REQUEST_HEADER_BYTES);
  const n = body.readUInt32LE(P.HEADER_COUNT);
  const inputs = Array.from({ length: n }, (_, i) => body.subarray(P.HEADER_BYTES + i * P.INPUT_BYTES, P.HEADER_BYTES + (i + 1) * P.INPUT_BYTES));
  return { auth: req[2]!, route: req[1]!, hash: req.subarray(gw.GW_KEY_HASH_OFFSET, gw.GW_KEY_HASH_OFFSET + gw.GW_KEY_HASH_BYTES), inputs };
}
const allInputs = (r: Rig): Buffer[] => r.requests.flatMap((q) => inputsOf(q).inputs);

/** The service's Logon answer (or another item) for a connection. */
function outItem(type: string, connection: number, slot: number, seq: number, kind = P.OUT_MESSAGE): Buffer {
  const b = Buffer.alloc(P.OUT_BYTES);
  b[P.OUT_KIND] = kind;
  b[P.OUT_MSG_TYPE] = type.charCodeAt(0);
  b.writeUInt32LE(connection, P.OUT_CONNECTION);
  b.writeUInt32LE(seq, P.OUT_SEQ);
  b.writeUInt16LE(slot, P.OUT_SLOT);
  b.writeBigUInt64LE(1_765_000_000_123_000_000n, P.OUT_SENDING);
  b.writeUInt32LE(30, P.OUT_A);
  b.write('QENEX', P.OUT_ID, 'latin1'); b[P.OUT_ID_LENGTH] = 5;
  b.write('CLIENT1', P.OUT_ID2, 'latin1'); b[P.OUT_ID2_LENGTH] = 7;
  return b;
}

test('refused before anything is logged: not a Logon, no such session, garbled bytes skipped, a second connection', async () => {
  const r = await rig();
  const a = await connect(r.port, msg('0', 1));
  const b = await connect(r.port, logon('NOBODY'));
  await until('both closed', () => a.closed && b.closed);
  assert.is(r.requests.length, 0);
  assert.equal(r.lines.map((l) => l.reason), ['the first message is not a Logon', 'no session QENEX:NOBODY is configured']);
  const c = await connect(r.port, Buffer.from('junk'), logon());
  await until('the Logon submitted', () => r.requests.length === 1);
  assert.ok(r.lines.some((l) => l.event === 'fix_garbled'));
  const d = await connect(r.port, logon());
  await until('the second closed', () => d.closed);
  assert.ok(r.lines.some((l) => l.reason === 'session QENEX:CLIENT1 already has a connection'));
  assert.is(r.requests.length, 1);
  assert.not.ok(c.closed);
  c.socket.destroy();
  await r.acceptor.close();
});

test('a source not allowed is closed at once', async () => {
  const r = await rig(['allowed_sources=10.0.0.0/8']);
  const a = await connect(r.port, logon());
  await until('closed', () => a.closed);
  assert.equal([r.requests.length, r.lines[0]!.reason], [0, 'source not allowed']);
  await r.acceptor.close();
});

test('Logon submitted on ROUTE_FIX as the console; held messages follow the answer with the slot; items out; disconnect in', async () => {
  const r = await rig(['reset_on_logon=true', 'max_latency_s=30']);
  const c = await connect(r.port, logon(), msg('1', 2, [[112, 'T1']]));
  await until('the Logon submitted', () => r.requests.length === 1);
  await sleep(50);
  const first = inputsOf(r.requests[0]!);
  assert.equal([first.route, first.auth, first.inputs.length], [gw.ROUTE_FIX, gw.AUTH_CONSOLE, 1], 'the TestRequest is held until the Logon is answered');
  const li = first.inputs[0]!;
  const conn = li.readUInt32LE(P.IN_CONNECTION);
  assert.equal([li[P.IN_MSG_TYPE], li[P.IN_VERDICT], li.readUInt16LE(P.IN_SLOT), li[P.IN_BODY + P.LOGON_FLAGS], li.readUInt32LE(P.IN_BODY + P.LOGON_MAX_LATENCY)],
    [65, P.V_OK, 0, P.LO_RESET_ON_LOGON, 30]);
  assert.ok(conn !== 0);
  r.acceptor.handleOutItems(Buffer.concat([outItem('A', conn, 9, 1), outItem('0', conn, 8, 2), outItem('0', 12345, 9, 2)]));
  await until('the held TestRequest submitted', () => allInputs(r).length === 2);
  const held = allInputs(r)[1]!;
  assert.equal([held[P.IN_MSG_TYPE], held.readUInt16LE(P.IN_SLOT), held.readUInt32LE(P.IN_CONNECTION)], [49, 9, conn]);
  await until('the Logon answer written', () => c.received.length > 0);
  await sleep(50);
  const got = frameMessages(Buffer.concat(c.received)).messages;
  assert.is(got.length, 1, 'items of another slot or connection are dropped');
  assert.ok(validateMessage(got[0]!.bytes).ok);
  const f = new Map(parseFields(got[0]!.bytes).map((x) => [x.tag, x.value]));
  assert.equal([f.get(35), f.get(49), f.get(56), f.get(34), f.get(108)], ['A', 'QENEX', 'CLIENT1', '1', '30']);
  r.acceptor.handleOutItems(outItem('5', conn, 9, 2, P.OUT_DISCONNECT));
  await until('closed by the service', () => c.closed);
  await until('the disconnect submitted', () => allInputs(r).length === 3);
  const end = allInputs(r)[2]!;
  assert.equal([end[P.IN_KIND], end.readUInt32LE(P.IN_CONNECTION), end.readUInt16LE(P.IN_SLOT)], [P.IN_DISCONNECT, conn, 9]);
  await r.acceptor.close();
});

test('keys=true: Username/Password required, admission decides, the key hash rides the requests', async () => {
  const key = 'qx_good';
  const good = crypto.createHash('sha256').update(key).digest();
  const r = await rig(['keys=true'], (h) => (h.subarray(gw.GW_KEY_HASH_OFFSET, gw.GW_KEY_HASH_OFFSET + 32).equals(good)
    ? { status: 200, error: 0, retryAfter: 0, keyId: 17, role: 0, message: '' } : { status: 401, error: 0, retryAfter: 0, keyId: 0, role: 0, message: 'unknown key' }));
  const none = await connect(r.port, logon());
  const bad = await connect(r.port, logon('CLIENT1', [[553, 'desk'], [554, 'qx_bad']]));
  await until('both closed', () => none.closed && bad.closed);
  assert.is(r.requests.length, 0);
  const ok = await connect(r.port, logon('CLIENT2', [[553, 'desk'], [554, key]]));
  await until('submitted', () => r.requests.length === 1);
  const req = inputsOf(r.requests[0]!);
  assert.equal([req.auth, req.hash.equals(good)], [gw.AUTH_BEARER, true]);
  const li = req.inputs[0]!;
  assert.equal([li[P.IN_BODY + P.LOGON_FLAGS] & P.LO_KEY, li.readUInt32LE(P.IN_BODY + P.LOGON_KEY)], [P.LO_KEY, 17]);
  assert.not.ok(r.requests[0]!.includes(Buffer.from(key)), 'the Password itself is never logged');
  ok.socket.destroy();
  await r.acceptor.close();
});

test('a refused request closes the connections whose inputs it held', async () => {
  const r = await rig();
  r.refuse = true;
  const c = await connect(r.port, logon());
  await until('closed', () => c.closed);
  assert.ok(r.lines.some((l) => l.event === 'fix_request_refused'));
  await r.acceptor.close();
});

/** A throw-away CA with a server certificate for 127.0.0.1 and a client certificate, and a stranger's from another CA. */
function certificates(dir: string): void {
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  for (const ca of ['good', 'other']) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${ca} CA`, '-keyout', `${ca}-ca.key`,
      '-out', `${ca}-ca.pem`]);
  }
  for (const [ca, name, ext] of [['good', 'server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'], ['good', 'client', 'extendedKeyUsage=clientAuth\n'],
    ['other', 'stranger', 'extendedKeyUsage=clientAuth\n']]) {
    writeFileSync(join(dir, `${name}.ext`), ext!);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}-ca.pem`, '-CAkey', `${ca}-ca.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`,
      '-out', `${name}.pem`]);
  }
}

test('mutual TLS: a stranger certificate never reaches the log; a client of the CA logs on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fix-tls-'));
  try {
    certificates(dir);
    const f = (n: string) => join(dir, n);
    const r = await rig([`tls_cert=${f('server.pem')}`, `tls_key=${f('server.key')}`, `tls_client_ca=${f('good-ca.pem')}`]);
    const dial = (name: string) => new Promise<{ socket: tls.TLSSocket; closed: () => boolean }>((resolve) => {
      let closed = false;
      const socket = tls.connect({ port: r.port, host: '127.0.0.1', ca: readFileSync(f('good-ca.pem')), cert: readFileSync(f(`${name}.pem`)),
        key: readFileSync(f(`${name}.key`)) });
      socket.on('error', () => {});
      socket.on('close', () => { closed = true; });
      socket.once('secureConnect', () => { socket.write(logon()); });
      resolve({ socket, closed: () => closed });
    });
    const stranger = await dial('stranger');
    await until('the stranger closed', stranger.closed, 5000);
    assert.is(r.requests.length, 0);
    const client = await dial('client');
    await until('the Logon submitted', () => r.requests.length === 1, 5000);
    client.socket.destroy();
    await r.acceptor.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
