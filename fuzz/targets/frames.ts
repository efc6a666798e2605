// fuzz/targets/frames.ts: the binary protocol's framing and the host's part
// of the gateway for it (host/gateway/frame-session.ts over
// host/gateway/binary.ts and host/base/bytes.ts): the raw bytes of a binary
// connection. The oracle is a reference framer (u32 length, then a body of
// that length) run beside the session:
//   - every whole frame before the first over the limit has exactly one
//     outcome, in order: submitted to the kernel (unchanged, or wrapped for
//     the gateway with the request id, the name `gateway`, the gateway header
//     the host writes, the credential of the last good auth frame and the
//     same payload) or answered by the host with a well-formed reply frame of
//     the same request id;
//   - a frame over the limit ends the stream with FRAME_E_TOO_LARGE naming
//     its request id, and nothing comes after it;
//   - a frame to the gateway that admission refuses is answered as soon as
//     its route is in, whole or not;
//   - no two requests of one id are in flight at once;
//   - the same outcomes whatever the chunking, and the kernel's replies come
//     back to the client as well-formed frames of the request's id, also
//     when each request is answered before the next piece arrives.

import { createHash } from 'node:crypto';
import * as abi from '../../hal/abi.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { FrameSession, type FrameSessionConfig } from '../../host/gateway/frame-session.ts';
import type { Admit } from '../../host/gateway/gateway-wire.ts';
import { expect, type FuzzTarget } from '../target.ts';

const LIMIT = 2048;
const SOURCE = Buffer.from('00000000000000000000ffff7f000001', 'hex');

// Admission: balances are refused (403), everything else admitted.
const admit: Admit = (header) => (header[1] === gw.ROUTE_ACCOUNT_BALANCES
  ? { status: 403, error: gw.GW_E_FORBIDDEN_ROLE, retryAfter: 0, keyId: 1, role: gw.ROLE_ADMIN, message: 'not this route' }
  : { status: 200, error: gw.GW_OK, retryAfter: 0, keyId: 1, role: gw.ROLE_ADMIN, message: '' });

type Outcome = { kind: 'submit'; body: Buffer } | { kind: 'write'; frame: Buffer; refusal: boolean } | { kind: 'fail'; frame: Buffer };

/**
 * The session's outcomes for `chunks`. With `answerBetween`, each submitted
 * request is answered by the kernel after the chunk it came in (so an id can
 * be used again once answered); without, all are answered after the last.
 */
function drive(chunks: readonly Uint8Array[], answerBetween: boolean, gather?: FrameSessionConfig['gather']): { outcomes: Outcome[]; replies: Buffer[] } {
  const outcomes: Outcome[] = [];
  const replies: Buffer[] = [];
  let pending: Buffer[] = [];
  let failed = false;
  const session = new FrameSession({
    submit: (body) => { expect(!failed, 'submitted after the stream failed'); outcomes.push({ kind: 'submit', body: Buffer.from(body) }); pending.push(body); },
    write: (frame, refusal) => { expect(!failed, 'wrote after the stream failed'); outcomes.push({ kind: 'write', frame: Buffer.from(frame), refusal }); },
    fail: (frame) => { expect(!failed, 'failed twice'); failed = true; outcomes.push({ kind: 'fail', frame: Buffer.from(frame) }); },
    requestIdInUse: () => {},
  }, { admit, limit: () => LIMIT, source: () => SOURCE, gather });
  for (let k = 0; k < chunks.length; k++) {
    const c = chunks[k];
    session.receive(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    if (!answerBetween && k < chunks.length - 1) continue;
    const answering = pending;
    pending = [];
    for (const body of answering) {
      if (body.length < 4) continue; // the kernel refuses it without an id to answer
      const id = body.readUInt32LE(0);
      // The kernel's answer: a gateway reply header and an empty ledger result for wrapped requests, an error for the rest.
      const wrapped = body.length >= abi.FRAME_REQUEST_HEADER_BYTES && body[6] === 7 && body.toString('latin1', 8, 15) === 'gateway';
      const payload = wrapped ? Buffer.alloc(gw.GW_REPLY_HEADER_BYTES + 8) : Buffer.from('unknown service', 'latin1');
      if (wrapped) payload.writeUInt16LE(200, 0);
      const frame = Buffer.alloc(abi.FRAME_LEN_BYTES + abi.FRAME_REPLY_HEADER_BYTES + payload.length);
      frame.writeUInt32LE(abi.FRAME_REPLY_HEADER_BYTES + payload.length, 0);
      frame.writeUInt32LE(id, 4);
      frame.writeUInt16LE(wrapped ? abi.FRAME_OK : abi.FRAME_E_UNKNOWN_SERVICE, 8);
      payload.copy(frame, 12);
      const out = session.answered(frame);
      checkReplyFrame(out, id, 'the answer to the client');
      replies.push(out);
    }
  }
  return { outcomes, replies };
}

function checkReplyFrame(f: Buffer, id: number, what: string): void {
  expect(f.length >= abi.FRAME_LEN_BYTES + abi.FRAME_REPLY_HEADER_BYTES, `${what}: a reply frame of ${f.length} bytes`);
  expect(f.readUInt32LE(0) === f.length - abi.FRAME_LEN_BYTES, `${what}: length prefix ${f.readUInt32LE(0)} for ${f.length - 4} bytes`);
  expect(f.readUInt32LE(4) === id, `${what}: request id ${f.readUInt32LE(4)}, not ${id}`);
  expect(f.readUInt16LE(8) <= abi.FRAME_E_FAULT, `${what}: unknown status ${f.readUInt16LE(8)}`);
}

/** The reference framer against the session's outcomes for one stream. */
function checkOutcomes(bytes: Uint8Array, outcomes: readonly Outcome[]): void {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let k = 0;
  let keyHash: Buffer | null = null;
  const inFlight = new Set<number>();
  while (at + abi.FRAME_LEN_BYTES <= b.length) {
    const len = b.readUInt32LE(at);
    if (len > LIMIT) {
      if (at + abi.FRAME_LEN_BYTES + 4 > b.length) break; // refused once its request id is in
      const o = outcomes[k++];
      expect(o?.kind === 'fail', `frame at ${at}: ${len} bytes over the limit, and the stream did not fail`);
      checkReplyFrame(o.frame, b.readUInt32LE(at + 4), 'the refusal of a frame over the limit');
      expect(o.frame.readUInt16LE(8) === abi.FRAME_E_TOO_LARGE, 'a frame over the limit is refused FRAME_E_TOO_LARGE');
      break;
    }
    if (at + abi.FRAME_LEN_BYTES + len > b.length) {
      // An incomplete frame to the gateway that admission refuses is answered once its route is in.
      const part = b.subarray(at + abi.FRAME_LEN_BYTES);
      if (part.length > abi.FRAME_REQUEST_HEADER_BYTES + part[6] && part.readUInt16LE(4) === 0 && part[6] === 7
          && part.toString('latin1', 8, 15) === 'gateway' && !inFlight.has(part.readUInt32LE(0))
          && part[8 + part[6]] === gw.ROUTE_ACCOUNT_BALANCES) {
        const o = outcomes[k++];
        expect(o?.kind === 'write' && o.refusal, 'a refused frame to the gateway is answered once its route is in');
        checkReplyFrame(o.frame, part.readUInt32LE(0), 'the early refusal');
      }
      break;
    }
    const body = b.subarray(at + abi.FRAME_LEN_BYTES, at + abi.FRAME_LEN_BYTES + len);
    at += abi.FRAME_LEN_BYTES + len;
    const o = outcomes[k++];
    expect(o !== undefined, `a whole frame (ending at ${at}) with no outcome`);
    expect(o.kind !== 'fail', `the stream failed at a frame within the limit (ending at ${at})`);
    if (body.length < abi.FRAME_REQUEST_HEADER_BYTES || abi.FRAME_REQUEST_HEADER_BYTES + body[6] > body.length) {
      expect(o.kind === 'submit' && o.body.equals(body), 'a frame too short for its header goes to the kernel unchanged');
      continue;
    }
    const id = body.readUInt32LE(0);
    const flags = body.readUInt16LE(4);
    const name = body.subarray(8, 8 + body[6]);
    const payload = body.subarray(8 + body[6]);
    if (o.kind === 'write') {
      checkReplyFrame(o.frame, id, `the host's answer to frame ${id}`);
      if ((flags & abi.FRAME_F_AUTH) !== 0 && o.frame.readUInt16LE(8) === abi.FRAME_OK) {
        keyHash = createHash('sha256').update(payload).digest();
      }
      continue;
    }
    expect((flags & abi.FRAME_F_AUTH) === 0, 'an auth frame went to the kernel');
    expect(!inFlight.has(id), `request id ${id} submitted twice while in flight`);
    const gateway = name.toString('latin1') === 'gateway' && flags === 0;
    if (!gateway) {
      expect(o.body.equals(body), 'a frame to another service goes to the kernel unchanged');
    } else {
      const s = o.body;
      const at2 = abi.FRAME_REQUEST_HEADER_BYTES + 7;
      expect(s.length === at2 + gw.GW_REQUEST_HEADER_BYTES + payload.length, 'a wrapped frame is header, name, gateway header and payload');
      expect(s.readUInt32LE(0) === id && s.toString('latin1', 8, 15) === 'gateway', 'a wrapped frame keeps its id and names the gateway');
      expect(s[at2 + 1] === gw.operationRoute(payload[0]), 'the gateway route is the ledger operation\'s (the queries\' are not their numbers)');
      expect(s[at2 + 2] === (keyHash === null ? gw.AUTH_NONE : gw.AUTH_BEARER), 'the credential is the last good auth frame\'s');
      if (keyHash !== null) expect(s.subarray(at2 + gw.GW_KEY_HASH_OFFSET, at2 + gw.GW_KEY_HASH_OFFSET + 32).equals(keyHash), 'the key hash is the SHA-256 of the key');
      expect(s.subarray(at2 + gw.GW_SOURCE_OFFSET, at2 + gw.GW_SOURCE_OFFSET + 16).equals(SOURCE), 'the source is the connection\'s');
      expect(s.subarray(at2 + gw.GW_REQUEST_HEADER_BYTES).equals(payload), 'the payload follows unchanged');
      expect(s.length <= LIMIT, 'a wrapped frame over the limit was submitted');
    }
    inFlight.add(id);
  }
  expect(k === outcomes.length, `${outcomes.length - k} outcomes with no whole frame for them`);
}

function hashOf(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/**
 * The oracle for one stream: the reference framer on the whole stream; the
 * same outcomes, byte for byte, when it comes in pieces; and in pieces with
 * each request answered as its chunk is done (ids used again once answered),
 * outcomes and replies that are still well-formed frames.
 */
export function checkFrames(input: Uint8Array): void {
  const whole = drive([input], false);
  checkOutcomes(input, whole.outcomes);
  const h = hashOf(input);
  const cuts = [...new Set([h % (input.length + 1), (h >>> 11) % (input.length + 1), (h >>> 22) % (input.length + 1)])].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let prev = 0;
  for (const c of cuts) { pieces.push(input.subarray(prev, c)); prev = c; }
  pieces.push(input.subarray(prev));
  const cut = drive(pieces, false);
  const same = (a: Outcome, b: Outcome): boolean => a.kind === b.kind
    && (a.kind === 'submit' ? a.body.equals((b as typeof a).body) : a.frame.equals((b as { frame: Buffer }).frame));
  expect(cut.outcomes.length === whole.outcomes.length, `in pieces ${cut.outcomes.length} outcomes, whole ${whole.outcomes.length}`);
  cut.outcomes.forEach((o, i) => expect(same(o, whole.outcomes[i]), `outcome ${i} differs in pieces`));
  // Gathering large frames piece by piece (frame-session.ts), with thresholds
  // small enough for these frames, in small uneven pieces: the same outcomes.
  const small: Uint8Array[] = [];
  for (let at = 0, k = 0; at < input.length; k++) {
    const n = 1 + ((h >>> (k % 24)) % 37);
    small.push(input.subarray(at, at + n));
    at += n;
  }
  const gathered = drive(small, false, { fromBytes: 64, pieceBytes: 16 });
  expect(gathered.outcomes.length === whole.outcomes.length, `gathered in pieces ${gathered.outcomes.length} outcomes, whole ${whole.outcomes.length}`);
  gathered.outcomes.forEach((o, i) => expect(same(o, whole.outcomes[i]), `outcome ${i} differs when gathered in pieces`));
  const answered = drive(pieces, true);
  for (const o of answered.outcomes) if (o.kind !== 'submit') checkReplyFrame(o.frame, o.frame.readUInt32LE(4), 'an outcome with answers between pieces');
}

export const framesTarget: FuzzTarget = {
  name: 'frames',
  about: 'binary protocol streams: one outcome per whole frame as a reference framer says, the gateway header the host writes, the same in pieces',
  sources: ['host/gateway/frame-session.ts', 'host/gateway/binary.ts', 'host/base/bytes.ts'],
  maxLen: 4096,
  dictionary: [Uint8Array.of(0xff, 0xff, 0xff, 0xff), Uint8Array.of(0x00, 0x08, 0x00, 0x00), Uint8Array.of(1, 0), Uint8Array.of(7, 0), Buffer.from('gateway'), Buffer.from('ledger'),
    Buffer.from('qx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), Uint8Array.of(1, 2, 3, 4, 5, 6)],
  check: checkFrames,
};
