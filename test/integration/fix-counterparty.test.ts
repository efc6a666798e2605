// The FIX counterparty harness (test/support/fix-initiator.ts, test/fix; docs/fix.md, "The
// counterparty in tests"), proven end to end with QuickFIX/J on both sides: the initiator
// that QENEX's FIX acceptor will be tested against, and the test-only stub acceptor that
// stands in for ours until it exists. Proves that the initiator, driven from TypeScript:
//   - logs on (Logon with HeartBtInt, sequence numbers from 1) and trades: a NewOrderSingle
//     is answered with ExecutionReports NEW then the fill (ExecType TRADE, OrdStatus FILLED);
//   - sends repeating groups in their order (a MarketDataRequest the acceptor validates);
//   - is disconnected without a Logout, and each side keeps sending meanwhile (stored under
//     the next sequence numbers, not lost);
//   - reconnects and recovers with resend, both ways: it sends a ResendRequest for the
//     reports it missed and gets them with PossDupFlag (and a SequenceReset gap fill for the
//     Logon in the range), and resends its own order when the stub asks; both sides end with
//     matching sequence numbers;
//   - logs out (Logout answered), and on a restart with the same --store (a FileStore) logs
//     on again with the sequence numbers it had;
//   - can be set to a MsgSeqNum too low, which the acceptor answers with Logout;
//   - with --reset-on-logon and a username and password, logs on with ResetSeqNumFlag=Y,
//     Username (553), Password (554) at MsgSeqNum 1;
//   - speaks TLS from PEM files: with a client certificate from the acceptor's CA it logs on,
//     without one the handshake fails and no logon happens.
// `make fix-tools` is run first (jars from the cache or Maven Central); a failure fails the
// file with its output, as does a peer that does not start (with its java stderr).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixPeer, fieldOf, fixTools, freePort, type FixField, type FixMessage } from '../support/fix-initiator.ts';

const US = 'CLIENT1';
const THEM = 'QENEX';
let dir = '';
let classpath = '';
let port = 0;
let stub: FixPeer;
let init: FixPeer;

function initiator(): Promise<FixPeer> {
  return FixPeer.initiator({ sender: US, target: THEM, port, heartbeat: 5, store: join(dir, 'initiator-store'), classpath });
}

function order(clOrdId: string, qty: number, price: string): FixField[] {
  const now = new Date().toISOString().replace(/[-]/g, '').replace('T', '-').replace('Z', '');
  return [[11, clOrdId], [21, '1'], [55, 'ACME'], [54, '1'], [60, now], [38, String(qty)], [40, '2'], [44, price]];
}

/** Each side expects next what the other sends next (asked again while a heartbeat may be in flight, up to 5 s). */
async function seqNumsAgree(): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const [a, b] = await Promise.all([init.status(), stub.status()]);
    if (a.nextTargetSeqNum === b.nextSenderSeqNum && b.nextTargetSeqNum === a.nextSenderSeqNum) return;
    if (Date.now() > deadline) assert.unreachable(`sequence numbers disagree: initiator ${JSON.stringify(a)}, stub ${JSON.stringify(b)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const execType = (m: FixMessage): string | undefined => fieldOf(m, 150);
const tagIs = (tag: number, value: string) => (m: FixMessage): boolean => fieldOf(m, tag) === value;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qenex-fixcp-'));
  classpath = fixTools();
  port = await freePort();
  [stub, init] = await Promise.all([
    FixPeer.acceptorStub({ sender: THEM, target: US, port, heartbeat: 5, store: join(dir, 'stub-store'), classpath }),
    initiator(),
  ]);
});

test.after(async () => {
  await Promise.all([init?.exit(), stub?.exit()]);
  await FixPeer.killAll();
  rmSync(dir, { recursive: true, force: true });
});

test('logs on: Logon with HeartBtInt, sequence numbers from 1, both sides see the logon', async () => {
  await init.logon();
  await Promise.all([init.waitFor('logon'), stub.waitFor('logon')]);
  const logon = await init.waitMessage('sent', 'A');
  assert.is(logon.seqNum, 1);
  assert.is(fieldOf(logon, 108), '5');
  assert.is(fieldOf(logon, 49), US);
  assert.is(fieldOf(logon, 56), THEM);
  assert.is((await init.waitMessage('received', 'A')).seqNum, 1);
});

test('trades: NewOrderSingle answered by ExecutionReports NEW then the fill', async () => {
  const from = init.mark();
  const sent = await init.send('D', order('ord-1', 100, '12.50'));
  assert.is(sent.sent, true);
  const isOurs = tagIs(11, 'ord-1');
  const fresh = await init.waitMessage('received', '8', { from, where: (m) => isOurs(m) && execType(m) === '0' });
  const fill = await init.waitMessage('received', '8', { from, where: (m) => isOurs(m) && execType(m) === 'F' });
  assert.is(fieldOf(fresh, 39), '0');
  assert.is(fieldOf(fresh, 151), '100');
  assert.is(fieldOf(fill, 39), '2');
  assert.is(fieldOf(fill, 14), '100');
  assert.is(fieldOf(fill, 31), '12.5');
  assert.ok(fill.seqNum > fresh.seqNum, 'the fill follows NEW');
  assert.is.not(fieldOf(fill, 17), fieldOf(fresh, 17));
  assert.is(init.events.filter((e) => e.event === 'reject').length, 0, 'nothing rejected');
});

test('repeating groups: a MarketDataRequest with its two groups passes the acceptor\'s validation, in the groups\' order', async () => {
  const stubFrom = stub.mark();
  await init.send('V', [[262, 'md-1'], [263, '0'], [264, '1'], [267, [[[269, '0']], [[269, '1']]]], [146, [[[55, 'ACME']], [[55, 'BOLT']]]]]);
  const got = await stub.waitMessage('received', 'V', { from: stubFrom });
  const wire = got.fields.map(([t, v]) => `${t}=${v}`).join('|');
  assert.ok(wire.includes('|267=2|269=0|269=1|'), wire);
  assert.ok(wire.includes('|146=2|55=ACME|55=BOLT|'), wire);
  assert.is(stub.messages('sent', '3', stubFrom).length, 0, 'no Reject from the acceptor');
  const via = await init.command('wait', { msgType: '8', timeoutMs: 2000 });
  assert.is(via.msgType, '8', 'the wait command: the first ExecutionReport received');
  assert.is(init.events.filter((e) => e.event === 'reject').length, 0);
});

let missedExecIds: string[] = [];
let storedOrderSeq = 0;

test('disconnected without Logout: messages sent meanwhile are stored under the next sequence numbers', async () => {
  const from = init.mark();
  const stubFrom = stub.mark();
  await init.disconnect();
  await stub.waitFor('disconnected', { from: stubFrom });
  assert.is(init.messages('sent', '5', from).length, 0, 'no Logout was sent');
  const before = await stub.status();
  missedExecIds = ['away-1', 'away-2'];
  for (const [i, id] of missedExecIds.entries()) {
    const r = await stub.send('8', [[37, 'O-away'], [17, id], [11, 'ord-1'], [150, 'I'], [39, '2'], [55, 'ACME'], [54, '1'], [151, '0'], [14, '100'], [6, '12.5']]);
    assert.is(r.sent, false, 'not on the wire: no connection');
    assert.is(r.seqNum, Number(before.nextSenderSeqNum) + i);
  }
  const own = await init.send('D', order('ord-2', 5, '13.00'));
  assert.is(own.sent, false);
  storedOrderSeq = Number(own.seqNum);
  await new Promise((r) => setTimeout(r, 1500));
  assert.is(init.events.filter((e) => e.event === 'connected').length, 1, 'no reconnect until told');
});

test('reconnects and recovers with resend both ways: ResendRequest, PossDup messages, gap fill', async () => {
  const from = init.mark();
  const stubFrom = stub.mark();
  const expected = Number((await init.status()).nextTargetSeqNum);
  await init.reconnect();
  await init.waitFor('logon', { from, timeoutMs: 10_000 });
  const rr = await init.waitMessage('sent', '2', { from });
  assert.is(fieldOf(rr, 7), String(expected), 'ResendRequest from the first missed sequence number');
  for (const id of missedExecIds) {
    const m = await init.waitMessage('received', '8', { from, where: tagIs(17, id) });
    assert.is(m.possDup, true);
    assert.ok(fieldOf(m, 122) !== undefined, 'OrigSendingTime on a resent message');
  }
  const gapFill = await init.waitMessage('incoming', '4', { from });
  assert.is(fieldOf(gapFill, 123), 'Y');
  // The other way: the stub asked for the order sent while away, and answered it.
  await stub.waitMessage('sent', '2', { from: stubFrom });
  const resent = await stub.waitMessage('received', 'D', { from: stubFrom, where: tagIs(11, 'ord-2') });
  assert.is(resent.seqNum, storedOrderSeq);
  assert.is(resent.possDup, true);
  await init.waitMessage('received', '8', { from, where: (m) => fieldOf(m, 11) === 'ord-2' && execType(m) === 'F' });
  await init.waitFor('resend_request_satisfied', { from });
  await seqNumsAgree();
  assert.is(init.events.filter((e) => e.event === 'reject' || e.event === 'session_error').length, 0, 'no reject, no session error');
});

test('logs out: Logout answered by Logout, then a restart on the same store logs on where it left off', async () => {
  const from = init.mark();
  await init.logout('end of test day');
  await init.waitFor('logout', { from });
  assert.is(fieldOf(await init.waitMessage('sent', '5', { from }), 58), 'end of test day');
  await init.waitMessage('received', '5', { from });
  const left = await init.status();
  await init.exit();
  init = await initiator();
  await init.logon();
  const created = await init.waitFor('created');
  assert.is(created.nextSenderSeqNum, left.nextSenderSeqNum, 'the FileStore kept the sequence numbers');
  assert.is(created.nextTargetSeqNum, left.nextTargetSeqNum);
  const logon = await init.waitMessage('sent', 'A');
  assert.is(logon.seqNum, Number(left.nextSenderSeqNum));
  await init.waitFor('logon');
  await init.logout();
  await init.waitFor('logout');
});

test('MsgSeqNum too low (set by hand): the acceptor answers with Logout, as the session protocol says', async () => {
  const from = init.mark();
  await init.logon();
  await init.waitFor('logon', { from });
  const next = Number((await init.status()).nextSenderSeqNum);
  await init.seq({ nextSender: next - 2 });
  await init.send('1', [[112, 'too-low']]);
  const logout = await init.waitMessage('received', '5', { from });
  assert.match(String(fieldOf(logout, 58)), /MsgSeqNum too low/);
  await init.exit();
});

test('--reset-on-logon, --username, --password: Logon with ResetSeqNumFlag, Username, Password and MsgSeqNum 1', async () => {
  init = await FixPeer.initiator({ sender: US, target: THEM, port, heartbeat: 5, resetOnLogon: true, username: 'trader1', password: 'pw1', classpath });
  const stubFrom = stub.mark();
  await init.logon();
  await init.waitFor('logon');
  const logon = await init.waitMessage('sent', 'A');
  assert.is(logon.seqNum, 1);
  assert.is(fieldOf(logon, 141), 'Y');
  const seen = await stub.waitMessage('received', 'A', { from: stubFrom });
  assert.is(fieldOf(seen, 553), 'trader1');
  assert.is(fieldOf(seen, 554), 'pw1');
  assert.is((await stub.waitFor('logon', { from: stubFrom })).nextTargetSeqNum, 2, 'the acceptor reset too');
  await init.logout();
  await init.waitFor('logout');
  await init.exit();
});

test('TLS from PEM files: a client certificate from the CA logs on; a client without one is refused', async () => {
  const openssl = (args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }); };
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=fix test CA',
    '-keyout', 'ca.key', '-out', 'ca.pem']);
  for (const [name, ext] of [['server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'], ['client', 'extendedKeyUsage=clientAuth\n']]) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
      '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  }
  const pem = (f: string): string => join(dir, f);
  const tlsPort = await freePort();
  const tlsStub = await FixPeer.acceptorStub({ sender: 'TLSX', target: 'TLSC', port: tlsPort, classpath,
    tls: { cert: pem('server.pem'), key: pem('server.key'), ca: pem('ca.pem') } });
  const client = (tls: { cert?: string; key?: string }): Promise<FixPeer> => FixPeer.initiator({ sender: 'TLSC', target: 'TLSX', port: tlsPort, classpath,
    tls: { ...tls, ca: pem('ca.pem'), checkHost: true } });
  const stranger = await client({});
  await stranger.logon();
  const refused = await stranger.waitFor((e) => e.event === 'session_error' && /SSLHandshakeException/.test(String(e.text)), { timeoutMs: 10_000 });
  assert.match(String(refused.text), /bad_certificate|certificate_required|certificate_unknown/, 'refused for its certificate, not for the name');
  assert.is(stranger.events.filter((e) => e.event === 'logon').length, 0, 'no logon without a client certificate');
  await stranger.exit();
  const member = await client({ cert: pem('client.pem'), key: pem('client.key') });
  await member.logon();
  await Promise.all([member.waitFor('logon'), tlsStub.waitFor('logon')]);
  await member.logout();
  await member.waitFor('logout');
  assert.is(tlsStub.events.filter((e) => e.event === 'logon').length, 1);
  await Promise.all([member.exit(), tlsStub.exit()]);
});

test.run();
