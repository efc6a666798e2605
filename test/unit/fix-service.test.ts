// The FIX service (services/fix) on its own, with the trading service beside
// it in a second harness: the session rules (logon, sequence numbers too high
// and too low, PossDupFlag, SequenceReset both ways, TestRequest, resend with
// gap fill, heartbeats and TestRequests on the timer, logout), and orders
// through to ExecutionReports for both sides of a trade. Inputs are built
// here as the front end writes them (services/fix/protocol.ts); what the
// service sends is read back from its EVT_FIX items.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as P from '../../services/fix/protocol.ts';
import * as T from '../../services/trading/protocol.ts';
import { EVT_FIX } from '../../hal/devices/events.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const FIX_WASM = join(ROOT, 'build/services/fix.wasm');
const TRADING_WASM = join(ROOT, 'build/services/trading.wasm');
const S = 1_000_000_000n;
const T0 = 1_800_000_000n * S;

interface In {
  msg: string; seq: number; conn?: number; slot?: number; verdict?: number; reason?: number; flags?: number;
  sending?: bigint; orig?: bigint; a?: number; b?: number; id?: string; id2?: string; text?: string; body?: (b: Buffer) => void;
}

function input(x: In): Buffer {
  const r = Buffer.alloc(P.INPUT_BYTES);
  r[P.IN_KIND] = P.IN_MESSAGE;
  r[P.IN_MSG_TYPE] = x.msg.charCodeAt(0);
  r[P.IN_VERDICT] = x.verdict ?? P.V_OK;
  r[P.IN_REASON] = x.reason ?? 0;
  r.writeUInt32LE(x.conn ?? 7, P.IN_CONNECTION);
  r.writeUInt32LE(x.seq, P.IN_SEQ);
  r.writeUInt16LE(x.flags ?? 0, P.IN_FLAGS);
  r.writeUInt16LE(x.slot ?? 1, P.IN_SLOT);
  r.writeBigUInt64LE(x.sending ?? 0n, P.IN_SENDING);
  r.writeBigUInt64LE(x.orig ?? 0n, P.IN_ORIG_SENDING);
  r.writeUInt32LE(x.a ?? 0, P.IN_A);
  r.writeUInt32LE(x.b ?? 0, P.IN_B);
  for (const [at, lenAt, v] of [[P.IN_ID, P.IN_ID_LENGTH, x.id], [P.IN_ID2, P.IN_ID2_LENGTH, x.id2], [P.IN_TEXT, P.IN_TEXT_LENGTH, x.text]] as const) {
    if (v === undefined) continue;
    r.write(v, at, 'latin1');
    r[lenAt] = v.length;
  }
  x.body?.(r.subarray(P.IN_BODY));
  return r;
}

function disconnect(conn: number): Buffer {
  const r = Buffer.alloc(P.INPUT_BYTES);
  r[P.IN_KIND] = P.IN_DISCONNECT;
  r.writeUInt32LE(conn, P.IN_CONNECTION);
  return r;
}

function request(inputs: Buffer[]): Buffer {
  const h = Buffer.alloc(P.HEADER_BYTES);
  h[0] = P.FIX_VERSION;
  h.writeUInt32LE(inputs.length, P.HEADER_COUNT);
  return Buffer.concat([h, ...inputs]);
}

interface Out {
  kind: number; msg: string; flags: number; conn: number; seq: number; slot: number; sending: bigint; orig: bigint;
  a: number; b: number; c: number; d: number; id: string; id2: string; text: string; raw: Buffer;
}

function readOut(b: Buffer): Out {
  const str = (at: number, lenAt: number) => b.toString('latin1', at, at + b[lenAt]);
  return {
    kind: b[P.OUT_KIND], msg: String.fromCharCode(b[P.OUT_MSG_TYPE]), flags: b.readUInt16LE(P.OUT_FLAGS), conn: b.readUInt32LE(P.OUT_CONNECTION),
    seq: b.readUInt32LE(P.OUT_SEQ), slot: b.readUInt16LE(P.OUT_SLOT), sending: b.readBigUInt64LE(P.OUT_SENDING), orig: b.readBigUInt64LE(P.OUT_ORIG_SENDING),
    a: b.readUInt32LE(P.OUT_A), b: b.readUInt32LE(P.OUT_B), c: b[P.OUT_C], d: b.readUInt32LE(P.OUT_D),
    id: str(P.OUT_ID, P.OUT_ID_LENGTH), id2: str(P.OUT_ID2, P.OUT_ID2_LENGTH), text: str(P.OUT_TEXT, P.OUT_TEXT_LENGTH), raw: b,
  };
}

const INSTRUMENT = { id: 1, symbol: 'ACME', price_scale: 2, qty_scale: 0, tick: 1, lot: 1, qty_max: 1000000, band_bps: 0, cash_ledger: 1, asset_ledger: 2 };

class Pair {
  outs: Out[] = [];
  private seen = 0;
  constructor(readonly fix: ServiceHarness, readonly trading: ServiceHarness) {}
  static async make(): Promise<Pair> {
    const fix = await ServiceHarness.load(FIX_WASM, { name: 'fix', caps: ['log', 'time', 'timer', 'emit', 'send:trading'], peers: ['trading'], memoryPagesMax: 4096, messageBytesMax: 1 << 20 });
    const trading = await ServiceHarness.load(TRADING_WASM, { name: 'trading', caps: ['log', 'time', 'send:fix'], peers: ['fix'], memoryPagesMax: 4096, messageBytesMax: 1 << 20 });
    fix.init({ sessions_max: 4, orders_max: 1024 });
    trading.init({ orders_max: 10000, levels_max: 256, instruments: [INSTRUMENT], fix_reports: true });
    fix.timeNs = T0;
    trading.timeNs = T0;
    return new Pair(fix, trading);
  }
  /** Sends the inputs; relays what the fix service sends the trading service until it answers; returns the new outs. */
  send(inputs: Buffer[]): Out[] {
    const token = this.fix.messageLater(2, request(inputs));
    for (let i = 0; i < 100 && this.fix.takeReply(token) === null; i++) this.relay();
    return this.collect();
  }
  relay(): void {
    const s = this.fix.sent.shift();
    assert.ok(s !== undefined, 'the fix service waits for the trading service');
    this.trading.timeNs = this.fix.timeNs;
    const r = this.trading.message(1, s!.payload);
    assert.ok(r !== null, 'the trading service answers at once');
    assert.is(this.trading.sent.length, 0, 'no notice of the fix service\'s own events');
    this.fix.peerReply(1, r!.payload);
  }
  /** An orders request from another client (the gateway) straight to the trading service; its notice relayed to the fix service. */
  other(request: Buffer): Out[] {
    this.trading.timeNs = this.fix.timeNs;
    const r = this.trading.request(request);
    assert.ok(r !== null && r.status === 0, 'the trading service answers');
    for (const n of this.trading.sent.splice(0)) {
      assert.is(n.peer, 1, 'a notice to the fix service');
      this.fix.message(1, n.payload);
    }
    return this.collect();
  }
  collect(): Out[] {
    const fresh: Out[] = [];
    for (const e of this.fix.emitted.slice(this.seen)) {
      assert.is(e.type, EVT_FIX);
      const size = e.payload.length / e.count;
      for (let i = 0; i < e.count; i++) fresh.push(readOut(e.payload.subarray(i * size, (i + 1) * size)));
    }
    this.seen = this.fix.emitted.length;
    this.outs.push(...fresh);
    return fresh;
  }
}

function logonBody(hbMin = 1, hbMax = 300, flags = 0, latency = 120) {
  return (b: Buffer) => { b[P.LOGON_FLAGS] = flags; b.writeUInt32LE(latency, P.LOGON_MAX_LATENCY); b.writeUInt32LE(hbMin, P.LOGON_HB_MIN); b.writeUInt32LE(hbMax, P.LOGON_HB_MAX); };
}

function logon(seq: number, extra: Partial<In> = {}): Buffer {
  return input({ msg: 'A', seq, slot: 0, a: 30, id: 'QENEX', id2: 'CLIENT1', sending: T0, body: logonBody(), ...extra });
}

function order(seq: number, clOrdId: string, side: number, price: bigint, qty: bigint, tif = T.TIF_GTC, extra: Partial<In> = {}): Buffer {
  return input({
    msg: 'D', seq, sending: T0, id: clOrdId, ...extra,
    body: (b) => {
      b.writeUInt32LE(1, P.ORD_INSTRUMENT); b[P.ORD_SIDE] = side; b[P.ORD_TYPE] = T.TYPE_LIMIT; b[P.ORD_TIF] = tif;
      b.writeBigUInt64LE(price, P.ORD_PRICE); b.writeBigUInt64LE(qty, P.ORD_QTY); b.writeBigUInt64LE(BigInt(extra.conn ?? 7), P.ORD_ACCOUNT);
    },
  });
}

const types = (outs: Out[]) => outs.map((o) => o.kind === P.OUT_DISCONNECT ? 'close' : o.msg).join(' ');

test('a Logon in sequence is answered with a Logon (seq 1, HeartBtInt echoed, CompIDs named) and arms the heartbeat timer', async () => {
  const p = await Pair.make();
  const outs = p.send([logon(1)]);
  assert.is(types(outs), 'A');
  assert.equal([outs[0].seq, outs[0].a, outs[0].id, outs[0].id2, outs[0].slot, outs[0].conn], [1, 30, 'QENEX', 'CLIENT1', 1, 7]);
  assert.is(p.fix.timers.length, 1, 'one timer for the session');
});

test('a Logon with MsgSeqNum too high is accepted, then a ResendRequest from the expected number to infinity', async () => {
  const p = await Pair.make();
  const outs = p.send([logon(5)]);
  assert.is(types(outs), 'A 2');
  assert.equal([outs[1].seq, outs[1].a, outs[1].b], [2, 1, 0]);
});

test('a Logon with MsgSeqNum too low is answered Logout naming both numbers, then the connection closed', async () => {
  const p = await Pair.make();
  p.send([logon(1), input({ msg: '0', seq: 2, sending: T0 }), disconnect(7)]);
  const outs = p.send([logon(1, { conn: 8 })]);
  assert.is(types(outs), '5 close');
  assert.match(outs[0].text, 'MsgSeqNum too low, expecting 3 but received 1');
  assert.is(outs[1].conn, 8);
});

test('HeartBtInt outside the configured bounds and SendingTime off by more than max_latency refuse the Logon', async () => {
  const p = await Pair.make();
  let outs = p.send([logon(1, { a: 5, body: logonBody(10, 60) })]);
  assert.is(types(outs), '5 close');
  assert.match(outs[0].text, 'HeartBtInt');
  outs = p.send([logon(1, { conn: 9, sending: T0 - 500n * S })]);
  assert.is(types(outs), '3 5 close', 'as established engines answer: Reject 10 (52), then Logout');
  assert.equal([outs[0].c, outs[0].b], [10, 52]);
  assert.match(outs[1].text, 'SendingTime');
});

test('a message with MsgSeqNum too high asks for a resend once and is not taken; the resent messages are', async () => {
  const p = await Pair.make();
  p.send([logon(1)]);
  let outs = p.send([input({ msg: '1', seq: 4, id: 'T4', sending: T0 }), input({ msg: '1', seq: 5, id: 'T5', sending: T0 })]);
  assert.is(types(outs), '2', 'one ResendRequest for the gap, none for the next too-high message');
  assert.equal([outs[0].a, outs[0].b], [2, 0]);
  outs = p.send([
    input({ msg: '4', seq: 2, flags: P.IF_GAP_FILL | P.IF_NEW_SEQ | P.IF_POSS_DUP, a: 4, sending: T0 }),
    input({ msg: '1', seq: 4, id: 'T4', flags: P.IF_POSS_DUP | P.IF_ORIG_SENDING, orig: T0, sending: T0 }),
  ]);
  assert.is(types(outs), '0', 'the gap filled, the resent TestRequest answered');
  assert.is(outs[0].id, 'T4');
  outs = p.send([input({ msg: '1', seq: 5, id: 'T5', sending: T0 })]);
  assert.is(outs[0].id, 'T5', 'in sequence again');
});

test('MsgSeqNum too low without PossDupFlag ends the session; with it and OrigSendingTime it is ignored; without OrigSendingTime Reject 1 (122)', async () => {
  const p = await Pair.make();
  p.send([logon(1), input({ msg: '0', seq: 2, sending: T0 })]);
  let outs = p.send([input({ msg: '0', seq: 2, flags: P.IF_POSS_DUP | P.IF_ORIG_SENDING, orig: T0, sending: T0 })]);
  assert.is(types(outs), '', 'a possible duplicate already taken is dropped');
  outs = p.send([input({ msg: '0', seq: 3, flags: P.IF_POSS_DUP, sending: T0 })]);
  assert.is(types(outs), '3');
  assert.equal([outs[0].c, outs[0].b, outs[0].a], [1, 122, 3]);
  outs = p.send([input({ msg: '0', seq: 4, flags: P.IF_POSS_DUP | P.IF_ORIG_SENDING, orig: T0 + S, sending: T0 })]);
  assert.is(types(outs), '3 5 close', 'OrigSendingTime after SendingTime: Reject 10, Logout');
  assert.is(outs[0].c, 10);
  const p2 = await Pair.make();
  p2.send([logon(1), input({ msg: '0', seq: 2, sending: T0 })]);
  outs = p2.send([input({ msg: '0', seq: 2, sending: T0 })]);
  assert.is(types(outs), '5 close');
  assert.match(outs[0].text, 'expecting 3 but received 2');
});

test('the front end\'s verdicts: Reject with its reason and tag, BusinessMessageReject, CompID problem (Reject 9 and Logout), wrong BeginString (Logout)', async () => {
  const p = await Pair.make();
  p.send([logon(1)]);
  let outs = p.send([input({ msg: 'D', seq: 2, verdict: P.V_REJECT, reason: 1, a: 11, text: 'Required tag missing', sending: T0 })]);
  assert.is(types(outs), '3');
  assert.equal([outs[0].a, outs[0].b, outs[0].c, outs[0].id, outs[0].text], [2, 11, 1, 'D', 'Required tag missing']);
  outs = p.send([input({ msg: 'E', seq: 3, verdict: P.V_BUSINESS, reason: 3, sending: T0 })]);
  assert.is(types(outs), 'j');
  assert.equal([outs[0].a, outs[0].c, outs[0].id], [3, 3, 'E']);
  outs = p.send([input({ msg: '0', seq: 4, verdict: P.V_COMPID, sending: T0 })]);
  assert.is(types(outs), '3 5 close');
  assert.is(outs[0].c, 9);
  const p2 = await Pair.make();
  p2.send([logon(1)]);
  outs = p2.send([input({ msg: '0', seq: 2, verdict: P.V_BEGIN_STRING, sending: T0 })]);
  assert.is(types(outs), '5 close');
});

test('SequenceReset: reset mode moves the expected number whatever the MsgSeqNum, never lower (Reject 5); gap fill needs NewSeqNo after its MsgSeqNum', async () => {
  const p = await Pair.make();
  p.send([logon(1)]);
  let outs = p.send([input({ msg: '4', seq: 99, flags: P.IF_NEW_SEQ, a: 10, sending: T0 })]);
  assert.is(types(outs), '');
  outs = p.send([input({ msg: '1', seq: 10, id: 'X', sending: T0 })]);
  assert.is(types(outs), '0', 'expected 10 after the reset');
  outs = p.send([input({ msg: '4', seq: 11, flags: P.IF_NEW_SEQ, a: 5, sending: T0 })]);
  assert.is(types(outs), '3');
  assert.equal([outs[0].c, outs[0].b], [5, 36]);
  outs = p.send([input({ msg: '4', seq: 11, flags: P.IF_NEW_SEQ | P.IF_GAP_FILL, a: 11, sending: T0 })]);
  assert.is(types(outs), '3', 'a gap fill to its own number');
});

test('orders: New then Trade reports to both sessions of a cross, a cancel and a replace by ClOrdID, and the rejections', async () => {
  const p = await Pair.make();
  p.send([logon(1), logon(1, { conn: 8, id2: 'CLIENT2' })]);
  let outs = p.send([order(2, 's1', T.SIDE_SELL, 10000n, 5n)]);
  assert.is(types(outs), '8');
  assert.equal([String.fromCharCode(outs[0].raw[P.OUT_BODY + P.EXEC_TYPE]), outs[0].id, outs[0].slot], ['0', 's1', 1]);
  outs = p.send([order(2, 'b1', T.SIDE_BUY, 10000n, 3n, T.TIF_GTC, { conn: 8, slot: 2 })]);
  const summary = outs.map((o) => `${o.slot}:${String.fromCharCode(o.raw[P.OUT_BODY + P.EXEC_TYPE])}${String.fromCharCode(o.raw[P.OUT_BODY + P.EXEC_STATUS])}`
    + `:${o.raw.readBigUInt64LE(P.OUT_BODY + P.EXEC_CUM)}/${o.raw.readBigUInt64LE(P.OUT_BODY + P.EXEC_LEAVES)}`);
  assert.equal(summary, ['2:00:0/3', '1:F1:3/2', '2:F2:3/0'], 'the buyer New, the resting seller partly filled, the buyer filled');
  assert.is(outs[1].raw.readBigUInt64LE(P.OUT_BODY + P.EXEC_AVG_PX), 10000n);
  outs = p.send([input({ msg: 'G', seq: 3, id: 's2', id2: 's1', sending: T0, body: (b) => { b.writeBigUInt64LE(10100n, P.ORD_PRICE); b.writeBigUInt64LE(6n, P.ORD_QTY); } })]);
  assert.is(types(outs), "8", outs[0]?.text);
  assert.equal([String.fromCharCode(outs[0].raw[P.OUT_BODY + P.EXEC_TYPE]), outs[0].id, outs[0].id2, outs[0].raw.readBigUInt64LE(P.OUT_BODY + P.EXEC_LEAVES)], ['5', 's2', 's1', 3n]);
  outs = p.send([input({ msg: 'F', seq: 4, id: 's3', id2: 's1', sending: T0 })]);
  assert.is(types(outs), '9', 's1 is no longer the order\'s ClOrdID');
  assert.equal([outs[0].c, outs[0].d], [1, 1]);
  outs = p.send([input({ msg: 'F', seq: 5, id: 's3', id2: 's2', sending: T0 })]);
  assert.is(types(outs), '8');
  assert.equal([String.fromCharCode(outs[0].raw[P.OUT_BODY + P.EXEC_TYPE]), outs[0].id, outs[0].id2], ['4', 's3', 's2']);
  outs = p.send([order(6, 'x1', T.SIDE_BUY, 10001n, 0n)]);
  assert.equal([String.fromCharCode(outs[0].raw[P.OUT_BODY + P.EXEC_TYPE]), outs[0].text], ['8', 'invalid quantity']);
  p.send([order(7, 'd1', T.SIDE_BUY, 9000n, 1n)]);
  outs = p.send([order(8, 'd1', T.SIDE_BUY, 9000n, 1n)]);
  assert.equal([outs[0].raw[P.OUT_BODY + P.EXEC_REJ_REASON], outs[0].text], [6, 'duplicate ClOrdID']);
});

test('a ResendRequest is answered with the kept reports again (PossDupFlag, OrigSendingTime) and the admin messages gap-filled', async () => {
  const p = await Pair.make();
  p.send([logon(1)]);
  p.send([input({ msg: '1', seq: 2, id: 'a', sending: T0 })]); // our 2: Heartbeat
  p.send([order(3, 'o1', T.SIDE_BUY, 9000n, 1n)]); // our 3: New
  p.fix.timeNs += 5n * S;
  const outs = p.send([input({ msg: '2', seq: 4, a: 1, b: 0, sending: p.fix.timeNs })]);
  assert.equal(outs.map((o) => `${o.msg}${o.seq}${o.msg === '4' ? `>${o.a}` : ''}`), ['41>3', '83']);
  assert.ok((outs[1].flags & P.OF_POSS_DUP) !== 0 && outs[1].orig === T0 && outs[1].sending === T0 + 5n * S);
  assert.ok((outs[0].flags & P.OF_GAP_FILL) !== 0);
});

test('timers: a Heartbeat after HeartBtInt of silence out, a TestRequest after 1.2 × HeartBtInt of silence in, then the end', async () => {
  const p = await Pair.make();
  p.send([logon(1)]);
  const fire = (at: bigint) => { p.fix.timeNs = at; const t = p.fix.timers.at(-1)!; p.fix.fireTimer(t.tag); return p.collect(); };
  let outs = fire(T0 + 30n * S);
  assert.is(types(outs), '0');
  outs = fire(T0 + 36n * S);
  assert.is(types(outs), '1');
  assert.is(outs[0].id, '1');
  outs = fire(T0 + 66n * S);
  assert.is(types(outs), '5 close', 'no answer to the TestRequest within HeartBtInt');
});

test('a resting FIX order filled by another client\'s order (the trading service\'s notice) is reported to its session', async () => {
  const p = await Pair.make();
  p.send([logon(1)]);
  p.send([order(2, 'r1', T.SIDE_SELL, 10000n, 4n)]);
  const op = Buffer.alloc(T.HEADER_BYTES + T.OP_BYTES);
  op[T.HEADER_OP] = T.Op.orders;
  op.writeUInt32LE(1, T.HEADER_COUNT);
  const o = op.subarray(T.HEADER_BYTES);
  o[T.OP_KIND] = T.OP_NEW; o[T.OP_SIDE] = T.SIDE_BUY; o[T.OP_TYPE] = T.TYPE_LIMIT; o[T.OP_TIF] = T.TIF_IOC;
  o.writeUInt32LE(1, T.OP_INSTRUMENT); o.writeBigUInt64LE(10000n, T.OP_PRICE); o.writeBigUInt64LE(4n, T.OP_QTY); o.writeBigUInt64LE(99n, T.OP_ACCOUNT);
  const outs = p.other(op);
  assert.is(types(outs), '8');
  assert.equal([outs[0].id, String.fromCharCode(outs[0].raw[P.OUT_BODY + P.EXEC_TYPE]), String.fromCharCode(outs[0].raw[P.OUT_BODY + P.EXEC_STATUS])], ['r1', 'F', '2']);
});

test('a mass cancel (q, no Account in FIX 4.4) cancels the session\'s live orders, each reported, then the report (r) with their number', async () => {
  const p = await Pair.make();
  p.send([logon(1), logon(1, { conn: 8, id2: 'CLIENT2' })]);
  p.send([order(2, 'm1', T.SIDE_BUY, 9000n, 1n), order(3, 'm2', T.SIDE_SELL, 11000n, 1n), order(2, 'other', T.SIDE_BUY, 9000n, 1n, T.TIF_GTC, { conn: 8, slot: 2 })]);
  const outs = p.send([input({ msg: 'q', seq: 4, id: 'mass', sending: T0, body: (b) => { b[P.ORD_MASS_TYPE] = 7; } })]);
  assert.is(types(outs), '8 8 r');
  assert.equal(outs.slice(0, 2).map((o) => [o.id, String.fromCharCode(o.raw[P.OUT_BODY + P.EXEC_TYPE])]), [['m1', '4'], ['m2', '4']]);
  assert.equal([outs[2].id, outs[2].a, outs[2].c, outs[2].d], ['mass', 2, 7, 7], 'two cancelled, type 7, response 7');
  assert.ok(outs.every((o) => o.slot === 1), 'the other session\'s order is not touched');
});

test('a session\'s answers keep its order: a gathered order\'s report comes before the answer to a later message answered at once', async () => {
  const p = await Pair.make();
  p.send([logon(1)]);
  const outs = p.send([order(2, 'o1', T.SIDE_BUY, 9000n, 1n), input({ msg: 'F', seq: 3, id: 'c1', id2: 'nope', sending: T0 }), input({ msg: '1', seq: 4, id: 't', sending: T0 })]);
  assert.is(types(outs), '8 9 0');
  assert.equal(outs.map((o) => o.seq), [2, 3, 4]);
});

test('replay: the same requests give the same items, byte for byte', async () => {
  const run = async () => {
    const p = await Pair.make();
    p.send([logon(1), logon(1, { conn: 8, id2: 'CLIENT2' })]);
    p.send([order(2, 's1', T.SIDE_SELL, 10000n, 5n), order(2, 'b1', T.SIDE_BUY, 10000n, 3n, T.TIF_IOC, { conn: 8, slot: 2 })]);
    p.send([input({ msg: '5', seq: 3, sending: T0 })]);
    return Buffer.concat(p.outs.map((o) => o.raw));
  };
  const a = await run();
  const b = await run();
  assert.ok(a.length > 0 && a.equals(b));
});

test('a Logout is answered with a Logout and the connection closed; reset_on_logout starts the numbers again', async () => {
  const p = await Pair.make();
  p.send([logon(1, { body: logonBody(1, 300, P.LO_RESET_ON_LOGOUT) })]);
  const outs = p.send([input({ msg: '5', seq: 2, sending: T0 })]);
  assert.is(types(outs), '5 close');
  const again = p.send([logon(1, { conn: 9 })]);
  assert.is(types(again), 'A');
  assert.is(again[0].seq, 1);
});

test.run();
