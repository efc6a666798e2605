// QENEX's FIX 4.4 acceptor (docs/fix.md "The acceptor") against an established engine:
// QuickFIX/J initiators (test/support/fix-initiator.ts) log on to `qenex boot
// --fix-listen … --fix-session QENEX:CLIENT1 --fix-session QENEX:CLIENT2`, trade with
// each other through the order book (settled on the ledger), and recover with resend
// after a disconnect and after QENEX itself restarts; a plain socket sends what no
// engine would (garbled bytes, a wrong CheckSum, a missing required tag, an unknown
// MsgType, a MsgSeqNum too low) and gets the session protocol's answer. Proves:
//   - Logon answered with sequence numbers from 1; NewOrderSingle answered New, a cross
//     reported to both sessions (Trade, CumQty, LastPx in decimals at the instrument's
//     scale), the trade settled on the ledger (balances);
//   - reports made while a session is away reach it on reconnect by its ResendRequest
//     (PossDupFlag), in both QuickFIX/J's sequence checks;
//   - sequence numbers survive QENEX killed with SIGKILL and booted again (the log is the message store);
//   - garbled and wrong-CheckSum messages are ignored (no answer, MsgSeqNum not taken);
//     an unknown MsgType is Rejected (373 = 11), a missing required tag Rejected (373 = 1)
//     naming the tag, an unsupported application message gets a BusinessMessageReject,
//     a MsgSeqNum too low a Logout; an unconfigured CompID is closed without a word.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { FixPeer, fieldOf, fixTools, freePort, type FixField } from '../support/fix-initiator.ts';
import { apiCall, bankTradingManifest, event, makeImage, removeDir, runCli, Server, settledInstrument, setUpTwoTraders, type TestImage } from '../support/helpers.ts';
import { RawFixClient } from '../support/fix-raw.ts';

let img: TestImage;
let data: string;
let server: Server;
let base: string;
let fixPort = 0;
let classpath = '';
let operator = '';
const peers: Record<string, FixPeer> = {};

const FIX_FLAGS = () => ['--fix-listen', `127.0.0.1:${fixPort}`, '--fix-session', 'QENEX:CLIENT1', '--fix-session', 'QENEX:CLIENT2', '--fix-session', 'QENEX:RAW'];

function boot(): Server {
  return Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0', ...FIX_FLAGS()]);
}

function initiator(name: string): Promise<FixPeer> {
  return FixPeer.initiator({ sender: name, target: 'QENEX', port: fixPort, heartbeat: 5, store: join(img.dir, `store-${name}`), classpath });
}

function order(clOrdId: string, side: '1' | '2', qty: number, price: string, account: string): FixField[] {
  const now = new Date().toISOString().replace(/[-]/g, '').replace('T', '-').replace('Z', '');
  return [[11, clOrdId], [1, account], [21, '1'], [55, 'ACME'], [54, side], [60, now], [38, String(qty)], [40, '2'], [44, price], [59, '1']];
}

const exec = (tag: number, value: string, clOrdId: string) => (m: { fields: FixField[] }) => fieldOf(m, 11) === clOrdId && fieldOf(m, tag) === value;

test.before(async () => {
  classpath = fixTools();
  img = makeImage('fix-acceptor', bankTradingManifest(settledInstrument('ACME', 100000)));
  data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  const k = runCli(['keys', 'create', '--data', data, '--role', 'operator']);
  assert.is(k.code, 0, k.stderr);
  operator = (event(k.events, 'key_created') as { key: string }).key;
  fixPort = await freePort();
  server = boot();
  base = `http://127.0.0.1:${(await server.address()).port}`;
  await setUpTwoTraders(base, operator);
});

test.after(async () => {
  await FixPeer.killAll();
  await Server.killAll();
  if (img !== undefined) removeDir(img.dir);
});

test('QuickFIX/J logs on; a cross between two sessions is reported to both and settled on the ledger', async () => {
  peers.seller = await initiator('CLIENT1');
  peers.buyer = await initiator('CLIENT2');
  await Promise.all([peers.seller.logon(), peers.buyer.logon()]);
  await Promise.all([peers.seller.waitFor('logon'), peers.buyer.waitFor('logon')]);
  assert.is((await peers.seller.waitMessage('received', 'A')).seqNum, 1);
  await peers.seller.send('D', order('s-1', '2', 5, '100.00', '101/102'));
  const fresh = await peers.seller.waitMessage('received', '8', { where: exec(150, '0', 's-1') });
  assert.equal([fieldOf(fresh, 39), fieldOf(fresh, 151), fieldOf(fresh, 14), fieldOf(fresh, 55)], ['0', '5', '0', 'ACME']);
  await peers.buyer.send('D', order('b-1', '1', 3, '100.00', '201/202'));
  const filled = await peers.buyer.waitMessage('received', '8', { where: exec(150, 'F', 'b-1') });
  assert.equal([fieldOf(filled, 39), fieldOf(filled, 14), fieldOf(filled, 31), fieldOf(filled, 32), fieldOf(filled, 151)], ['2', '3', '100.00', '3', '0']);
  const maker = await peers.seller.waitMessage('received', '8', { where: exec(150, 'F', 's-1') });
  assert.equal([fieldOf(maker, 39), fieldOf(maker, 14), fieldOf(maker, 151)], ['1', '3', '2']);
  const balances = await apiCall(base, 'POST', '/v1/accounts/lookup', operator, { ids: ['101', '202'] });
  const byId = new Map(balances.json.accounts?.map((a: { id: string }) => [a.id, a]) ?? balances.json.map((a: { id: string }) => [a.id, a]));
  assert.is((byId.get('101') as { credits_posted: string }).credits_posted, '30000', 'the seller was paid 3 × 100.00 (minor units)');
  assert.is((byId.get('202') as { credits_posted: string }).credits_posted, '3', 'the buyer got 3 shares');
  for (const p of [peers.seller, peers.buyer]) assert.is(p.events.filter((e) => e.event === 'reject').length, 0, 'nothing rejected');
  const metrics = await apiCall(base, 'GET', '/metrics', operator);
  const counted = (name: string) => Number(new RegExp(`^qenex_fix_acceptor\\{counter="${name}"\\} (\\d+)`, 'm').exec(metrics.text)?.[1] ?? -1);
  assert.ok(counted('connections') >= 2 && counted('messagesIn') >= 4 && counted('messagesOut') >= 5, 'the acceptor\'s counters are on /metrics');
});

test('a session away gets what happened meanwhile by resend when it comes back (PossDupFlag)', async () => {
  const from = peers.seller.mark();
  await peers.seller.disconnect();
  await peers.buyer.send('D', order('b-2', '1', 2, '100.00', '201/202'));
  await peers.buyer.waitMessage('received', '8', { where: exec(150, 'F', 'b-2') });
  await peers.seller.reconnect();
  const resent = await peers.seller.waitMessage('received', '8', { from, where: exec(150, 'F', 's-1') });
  assert.is(resent.possDup, true, 'resent with PossDupFlag');
  assert.equal([fieldOf(resent, 39), fieldOf(resent, 14), fieldOf(resent, 151)], ['2', '5', '0']);
});

test('sequence numbers survive QENEX killed (SIGKILL) and booted again: both initiators log on again without a reset', async () => {
  const marks = [peers.seller.mark(), peers.buyer.mark()];
  await server.kill('SIGKILL'); // what was sent was durable first: nothing a session saw is forgotten
  server = boot();
  base = `http://127.0.0.1:${(await server.address()).port}`;
  await Promise.all([peers.seller.waitFor('logon', { from: marks[0], timeoutMs: 30_000 }), peers.buyer.waitFor('logon', { from: marks[1], timeoutMs: 30_000 })]);
  const logon = await peers.buyer.waitMessage('received', 'A', { from: marks[1] });
  const last = Math.max(...peers.buyer.messages('incoming').filter((m) => m.msgType !== 'A' || m.seqNum < logon.seqNum).map((m) => m.seqNum).filter((n) => n < logon.seqNum));
  // Numbers go on from before the restart (a heartbeat the old connection's timer made meanwhile may take one: the
  // initiator asks for it and gets a gap fill).
  assert.ok(logon.seqNum >= last + 1 && logon.seqNum <= last + 3, `QENEX goes on from the numbers it had (last ${last}, Logon ${logon.seqNum})`);
  assert.ok(logon.seqNum > 5 && fieldOf(logon, 141) !== 'Y', 'no reset');
  await peers.buyer.send('D', order('b-3', '1', 1, '99.00', '201/202'));
  const fresh = await peers.buyer.waitMessage('received', '8', { from: marks[1], where: exec(150, '0', 'b-3') });
  assert.is(fieldOf(fresh, 39), '0');
  assert.is(peers.buyer.events.filter((e) => e.event === 'reject').length, 0);
});

// ---- a plain socket: what no engine sends ----

test('bad input on the wire: garbled and bad CheckSum ignored, unknown MsgType and missing tags rejected, unsupported messages business-rejected', async () => {
  const raw = await RawFixClient.connect(fixPort, 'RAW');
  raw.write(raw.message('A', [[98, '0'], [108, '30'], [141, 'Y']]));
  const logon = await raw.next();
  assert.is(logon?.type, 'A');
  raw.write('8=FIX.4.4\u00019=5\u000135=0\u000110=000\u0001garbage');
  const bad = raw.message('0', []);
  const badSum = Buffer.from(bad);
  badSum[badSum.length - 2] = badSum[badSum.length - 2] === 0x30 ? 0x31 : 0x30;
  raw.write(badSum);
  assert.ok(await raw.nothingFor(500), 'garbled bytes and a wrong CheckSum get no answer');
  raw.seq--; // the bad-CheckSum message did not take its number
  raw.write(raw.message('1', [[112, 'probe']]));
  const hb = await raw.next();
  assert.equal([hb?.type, hb?.fields.get(112)], ['0', 'probe'], 'the next number after the ignored ones is still expected');
  raw.write(raw.message('ZZ', []));
  const unknown = await raw.next();
  assert.equal([unknown?.type, unknown?.fields.get(373)], ['3', '11']);
  raw.write(raw.message('D', [[11, 'x'], [21, '1'], [54, '1'], [60, '20260101-00:00:00'], [40, '2'], [44, '1']]));
  const missing = await raw.next();
  assert.equal([missing?.type, missing?.fields.get(373), missing?.fields.get(371)], ['3', '1', '55']);
  raw.write(raw.message('E', [[66, 'L1'], [394, '3'], [68, '1'], [73, '1'], [11, 'l1'], [67, '1'], [55, 'ACME'], [54, '1'], [40, '2']]));
  const business = await raw.next();
  assert.equal([business?.type, business?.fields.get(380)], ['j', '3']);
  raw.write(raw.message('0', [], 2));
  const low = await raw.next();
  assert.is(low?.type, '5');
  assert.match(low?.fields.get(58) ?? '', 'MsgSeqNum too low');
  await raw.next(2000);
  assert.ok(raw.closed, 'then the connection is closed');
});

test('a Logon from CompIDs no session is configured for is closed without an answer', async () => {
  const raw = await RawFixClient.connect(fixPort, 'RAW');
  raw.write(raw.message('A', [[98, '0'], [108, '30']], 1, 'STRANGER'));
  const answer = await raw.next(3000);
  assert.is(answer, null);
  assert.ok(raw.closed);
});

test.run();
