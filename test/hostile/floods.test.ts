// Hostile clients that flood a served bank image over real TCP: the largest
// valid transfer batches sent without a key (HTTP and binary), tens of
// thousands of pipelined requests on a socket that never reads its answers,
// and a burst of requests with an unknown key. Each is refused without the
// server taking in what it was sent: nothing unauthenticated reaches the
// command log, the server's memory stays within a stated bound whatever the
// scale, the attacker that does not read is destroyed (its stall timeout is
// shortened here, QENEX_NET_WRITE_STALL_MS), a probe from another address is
// answered while each attack runs, and the log replays to the state hash the
// server stopped with.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as abi from '../../hal/abi.ts';
import { encodeRequest } from '../../host/client/frames.ts';
import { BATCH_EVENTS_MAX, encodeTransfers, transfer } from '../../host/client/ledger.ts';
import { NET_UNSENT_BYTES_MAX } from '../../host/base/limits.ts';
import { Server, removeDir } from '../support/helpers.ts';
import {
  boot, errorCode, logEntryCount, metric, metricsText, mib, MiB, parseResponses, probe, RawConn, request, RssSampler, scaled, sleep,
  stopAndReplay, summary, until, VALID_KEY_ADDRESS, type Booted,
} from './support.ts';

const WRITE_STALL_MS = 3000;
// Failed authentications an address may make before it is refused for a
// while (images/bank/manifest.json, gateway config auth_failure_burst).
const AUTH_FAILURE_BURST = 20;
let b: Booted;
let entriesAtStart = 0;
let logged = 0; // requests this file had admitted and logged
const started = Date.now();

test.before(async () => {
  b = await boot('hostile-floods', {
    keys: { admin: ['--role', 'admin'], operator: ['--role', 'operator'] },
    env: { QENEX_NET_WRITE_STALL_MS: String(WRITE_STALL_MS) },
  });
  entriesAtStart = logEntryCount(b.logPath);
});
test.after(async () => { await Server.killAll(); if (b !== undefined) removeDir(b.img.dir); });

/** The `i`th address of an attack group: at most AUTH_FAILURE_BURST attackers per address, so each refusal is a 401, not the throttle's 429. */
function groupAddress(group: number, i: number): string {
  return `127.0.${group}.${Math.floor(i / AUTH_FAILURE_BURST) + 1}`;
}

/**
 * A valid create_transfers batch of the largest kind: BATCH_EVENTS_MAX
 * transfers, as JSON with every field at its widest (39-digit ids and
 * amounts, indented: about 4 MB, which the gateway accepts and translates
 * for a valid key) and as a binary request (1 MiB).
 */
function largestTransfers(): { json: Buffer; binary: Uint8Array } {
  const wide = '3402823669209384634633746074317682'; // 34 digits; with 5 more, still below 2^128
  const list = Array.from({ length: BATCH_EVENTS_MAX }, (_, i) => ({
    id: wide + String(i).padStart(5, '0'), debit_account_id: `${wide}00001`, credit_account_id: `${wide}00002`, amount: `${wide}00003`,
    pending_id: '0', user_data_128: `${wide}00004`, user_data_64: '18446744073709551615', user_data_32: 4294967295, timeout: 0, ledger: 1, code: 65535, flags: [],
  }));
  const binary = encodeTransfers(list.map((t, i) => transfer({ id: 1_000_000n + BigInt(i), debit_account_id: 1n, credit_account_id: 2n, amount: 1n, ledger: 1, code: 1 })));
  return { json: Buffer.from(JSON.stringify(list, null, 2)), binary };
}

const CHUNK = 64 * 1024;

test('20 largest transfer batches without a key: 401 each before the body, nothing logged, memory flat; others served meanwhile', async () => {
  // Proves admission decides on the head: 20 (x scale) POST /v1/transfers,
  // each a valid 8,189-transfer JSON body and no Authorization, all at once,
  // each uploading its body in paced chunks; every one is answered 401
  // unauthenticated (the body is never read into memory nor translated), a
  // probe from another address is answered while bodies are still being
  // uploaded (ordering), the command log gains no entry, and the server's
  // RSS grows by less than 64 MiB while 80 MB (x scale) is thrown at it.
  const { json } = largestTransfers();
  const n = scaled(20);
  const entries = logEntryCount(b.logPath);
  const rss = new RssSampler(b.server.child.pid!);
  const head = `POST /v1/transfers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`;
  let uploading = 0;
  const attackers = await Promise.all(Array.from({ length: n }, (_, i) => RawConn.open(b.port, { localAddress: groupAddress(1, i), allowHalfOpen: true })));
  const uploads = attackers.map(async (c) => {
    uploading++;
    c.socket.write(head);
    // The body in paced chunks (the attacker keeps pushing after its answer, the server must not keep it).
    for (let at = 0; at < json.length && !c.closed; at += CHUNK) {
      await new Promise<void>((r) => c.socket.write(json.subarray(at, at + CHUNK), () => r()));
      await sleep(10);
    }
    uploading--;
    c.socket.end();
  });
  try {
    await until(() => attackers.some((c) => c.received > 0), 'a first answer');
    const seen = await probe(b.port, () => ({ uploading }));
    assert.ok(seen.uploading > 0, `the probe was answered while ${seen.uploading} of ${n} attackers were still uploading`);
    await Promise.all(uploads);
    await until(() => attackers.every((c) => parseResponses(c.data()).length >= 1), 'every attacker is answered');
  } finally {
    for (const c of attackers) c.socket.destroy();
  }
  const mem = rss.stop();
  for (const c of attackers) {
    const responses = parseResponses(c.data());
    assert.equal(responses.map((r) => r.status), [401], c.data().toString().slice(0, 200));
    assert.is(errorCode(responses[0].body), 'unauthenticated');
    assert.is(responses[0].headers.get('connection'), 'close', 'the connection is closed rather than its body read');
  }
  assert.is(logEntryCount(b.logPath), entries, 'nothing of the refused batches was logged');
  assert.ok(mem.growth < 64 * MiB, `server RSS grew ${mib(mem.growth)} for ${mib(n * json.length)} of refused bodies (bound 64 MiB)`);
  summary('floods', `unauthenticated HTTP batches: ${n} x ${mib(json.length)}, 401 each, RSS +${mib(mem.growth)}`);
});

test('20 largest binary transfer batches without an auth frame: FRAME_E_DENIED each, nothing logged; others served meanwhile', async () => {
  // Proves the binary protocol's admission happens in the host before a
  // frame is copied on: 20 (x scale) frames to the gateway, each a 1 MiB
  // create_transfers batch of 8,189 transfers, on connections that never
  // sent an auth frame, each answered FRAME_E_DENIED "unauthenticated: ...",
  // the connections stay open, a probe from another address is answered
  // while frames are still being sent (ordering), the log gains no entry and
  // the server's RSS grows by less than 32 MiB (20 MB x scale is sent; the
  // host holds at most one incomplete frame per connection).
  const { binary } = largestTransfers();
  const n = scaled(20);
  const perConnection = AUTH_FAILURE_BURST;
  const entries = logEntryCount(b.logPath);
  const rss = new RssSampler(b.server.child.pid!);
  const conns = await Promise.all(Array.from({ length: Math.ceil(n / perConnection) }, (_, k) => RawConn.open(b.port, { localAddress: groupAddress(2, k * perConnection) })));
  const replies = (c: RawConn): { id: number; status: number; text: string }[] => {
    const out = [];
    const d = c.data();
    for (let at = 0; at + 4 <= d.length;) {
      const len = d.readUInt32LE(at);
      if (at + 4 + len > d.length) break;
      out.push({ id: d.readUInt32LE(at + 4), status: d.readUInt16LE(at + 8), text: d.subarray(at + 12, at + 4 + len).toString('utf8') });
      at += 4 + len;
    }
    return out;
  };
  let sent = 0;
  const senders = conns.map(async (c, k) => {
    const count = Math.min(perConnection, n - k * perConnection);
    for (let i = 0; i < count && !c.closed; i++) {
      await new Promise<void>((r) => c.socket.write(encodeRequest(i + 1, 'gateway', binary), () => r()));
      sent++;
      await sleep(20); // paced, so the attack lasts a while: a starved probe would be answered after it
    }
  });
  const answered = () => conns.reduce((a, c) => a + replies(c).length, 0);
  try {
    await until(() => answered() >= 1, 'a first refusal');
    const seen = await probe(b.port, () => ({ sent, answered: answered() }));
    assert.ok(seen.sent < n, `the probe was answered while the attack was still sending (${seen.sent} of ${n} frames sent)`);
    await Promise.all(senders);
    await until(() => answered() >= n, 'every frame is answered');
    for (const c of conns) {
      assert.not.ok(c.closed, 'a refused frame does not close the connection');
      for (const r of replies(c)) {
        assert.is(r.status, abi.FRAME_E_DENIED, r.text);
        assert.match(r.text, /^unauthenticated: /);
      }
    }
  } finally {
    for (const c of conns) c.socket.destroy();
  }
  const mem = rss.stop();
  assert.is(logEntryCount(b.logPath), entries, 'nothing of the refused frames was logged');
  assert.ok(mem.growth < 32 * MiB, `server RSS grew ${mib(mem.growth)} for ${mib(n * binary.length)} of refused frames (bound 32 MiB)`);
  summary('floods', `unauthenticated binary batches: ${n} x ${mib(binary.length)}, denied each, RSS +${mib(mem.growth)}`);
});

test('binary frames that announce 1 MiB without a key: answered at their header, the rest dropped as it comes; memory bounded', async () => {
  // Proves a client without a good key cannot make the host hold the frames
  // it announces: 300 (x scale) connections from 15 addresses each send the
  // header of a 1 MiB create_transfers frame to the gateway and its first
  // 64 KiB, and each is answered (FRAME_E_DENIED, or FRAME_E_BUSY once its
  // address is throttled for failed authentications) while its frame is
  // still incomplete; each then sends the rest but the last byte, which the
  // host drops as it arrives. The server's RSS grows by less than 64 MiB for
  // 300 MiB x scale announced (it held up to 1 MiB per connection until the
  // request timeout when it waited for whole frames), nothing is logged, and
  // a probe from another address is answered while they hold their frames.
  const { binary } = largestTransfers();
  const n = scaled(300);
  const frame = Buffer.from(encodeRequest(1, 'gateway', binary));
  const entries = logEntryCount(b.logPath);
  const rss = new RssSampler(b.server.child.pid!);
  const conns: RawConn[] = [];
  try {
    for (let i = 0; i < n; i++) conns.push(await RawConn.open(b.port, { localAddress: `127.0.11.${(i % 15) + 1}` }));
    await Promise.all(conns.map((c) => new Promise<void>((r) => c.socket.write(frame.subarray(0, CHUNK), () => r()))));
    await until(() => conns.every((c) => c.data().length >= 12), 'every incomplete frame is answered');
    for (const c of conns) {
      const status = c.data().readUInt16LE(8);
      assert.ok(status === abi.FRAME_E_DENIED || status === abi.FRAME_E_BUSY, `refused at its header (status ${status}): ${c.data().subarray(12).toString()}`);
    }
    await Promise.all(conns.map((c) => new Promise<void>((r) => c.socket.write(frame.subarray(CHUNK, frame.length - 1), () => r()))));
    const seen = await probe(b.port, () => ({ open: conns.filter((c) => !c.closed).length }));
    assert.ok(seen.open > 0, 'the probe was answered while the attackers held their frames open');
    await sleep(200); // pacing: the last bytes reach the server before RSS is read
  } finally {
    for (const c of conns) c.socket.destroy();
  }
  const mem = rss.stop();
  assert.is(logEntryCount(b.logPath), entries, 'nothing of the refused frames was logged');
  assert.ok(mem.growth < 64 * MiB, `server RSS grew ${mib(mem.growth)} for ${n} frames of ${mib(frame.length)} announced (bound 64 MiB)`);
  summary('floods', `announced binary frames: ${n} x ${mib(frame.length)} without a key, refused at the header, RSS +${mib(mem.growth)}`);
});

test('30,000 pipelined requests on a socket that never reads: memory bounded, others served, the attacker destroyed', async () => {
  // Proves backpressure on unread answers: 30,000 (x scale) pipelined GET
  // /v1/openapi.json on one socket that never reads (paused at once); the
  // server stops reading it once NET_UNSENT_BYTES_MAX of answers wait, so its
  // RSS grows by less than 150 MiB (before the fix it grew ~640 MB); a probe
  // from another address is answered while the attacker is connected
  // (ordering: the server had stalled on it before the probe and had not
  // destroyed it yet after the answer); after the (shortened) write-stall
  // time the server destroys it, and it got only a fraction of its answers.
  const n = scaled(30_000);
  const rss = new RssSampler(b.server.child.pid!);
  const entries = logEntryCount(b.logPath);
  const stalls = async () => metric(await metricsText(b.port, b.keys.admin), 'qenex_net_connections_closed', 'reason="write_stall"') ?? NaN;
  const served = async () => metric(await metricsText(b.port, b.keys.admin), 'qenex_http_requests_total', 'route="/v1/openapi.json",status="200"') ?? 0;
  const stallsBefore = await stalls();
  const servedBefore = await served();
  const attacker = await RawConn.open(b.port);
  attacker.socket.pause();
  try {
    attacker.socket.write('GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n));
    const doc = await request(b.port, { path: '/v1/openapi.json', localAddress: VALID_KEY_ADDRESS });
    assert.is(doc.status, 200);
    // The server has written more answers than the unsent bound: it is stalled on the attacker.
    await until(async () => (await served()) - servedBefore > NET_UNSENT_BYTES_MAX / doc.body.length, 'the server answers the attacker up to its bound');
    const seen = await probe(b.port, () => ({ open: !attacker.closed }));
    const stallsAtProbe = await stalls();
    assert.ok(seen.open, 'the attacker was connected when the probe was answered');
    assert.is(stallsAtProbe, stallsBefore, 'the server had not destroyed the attacker when the probe was answered');
    await until(async () => (await stalls()) > stallsBefore, `the server destroys the attacker after ${WRITE_STALL_MS} ms of unread answers`);
    attacker.socket.resume();
    await attacker.until(() => attacker.closed, 'the attacker sees its connection gone');
  } finally {
    attacker.socket.destroy();
  }
  const mem = rss.stop();
  const got = parseResponses(attacker.data()).length;
  const made = (await served()) - servedBefore - 1; // the request above
  assert.ok(made < n / 2, `the server made ${made} of ${n} answers, not all`);
  assert.ok(got <= made);
  assert.ok(mem.growth < 150 * MiB, `server RSS grew ${mib(mem.growth)} (bound 150 MiB)`);
  assert.is(logEntryCount(b.logPath), entries, 'open routes are not logged');
  summary('floods', `unread answers: ${n} pipelined, ${made} made, ${got} read, RSS +${mib(mem.growth)}`);
});

test('25 requests with an unknown key from one address: 401 up to the burst, then 429; a valid key from another address is served meanwhile', async () => {
  // Proves the failed-authentication throttle: 25 (x scale) pipelined
  // requests with an unknown key from 127.0.0.3 get 401 unknown_key for the
  // first AUTH_FAILURE_BURST (the bank image's auth_failure_burst) and 429
  // with Retry-After after; a valid key from 127.0.0.4 is served 200 while
  // the attacker is throttled (ordering: its answers are 429 before the
  // valid request and again after it), a probe from 127.0.0.2 is answered
  // while the attacker's connection is open, and the attack logs nothing.
  const n = scaled(25);
  const entries = logEntryCount(b.logPath);
  const bad = `qx_${'A'.repeat(43)}`;
  const attacker = await RawConn.open(b.port, { localAddress: '127.0.0.3' });
  try {
    attacker.socket.write(`GET /v1/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${bad}\r\n\r\n`.repeat(n));
    await attacker.until(() => parseResponses(attacker.data()).length >= n || attacker.closed, 'every attack request is answered');
    const responses = parseResponses(attacker.data());
    assert.is(responses.length, n);
    assert.equal(responses.slice(0, AUTH_FAILURE_BURST).map((r) => r.status), Array(AUTH_FAILURE_BURST).fill(401));
    assert.ok(responses.slice(0, AUTH_FAILURE_BURST).every((r) => errorCode(r.body) === 'unknown_key'));
    assert.equal(responses.slice(AUTH_FAILURE_BURST).map((r) => r.status), Array(n - AUTH_FAILURE_BURST).fill(429));
    for (const r of responses.slice(AUTH_FAILURE_BURST)) {
      assert.is(errorCode(r.body), 'rate_limited');
      assert.match(r.body.toString(), /failed authentications/);
      assert.ok(Number(r.headers.get('retry-after')) >= 1, 'a Retry-After');
    }
    assert.is(logEntryCount(b.logPath), entries, 'the refused requests were not logged');

    // A write, so that it is logged (a lookup would be a read, never logged).
    const valid = await request(b.port, {
      method: 'POST', path: '/v1/accounts', localAddress: VALID_KEY_ADDRESS, body: JSON.stringify([{ id: '9001', ledger: 1, code: 1 }]),
      headers: { authorization: `Bearer ${b.keys.operator}`, 'content-type': 'application/json' },
    });
    assert.is(valid.status, 200, valid.body);
    assert.equal(JSON.parse(valid.body).map((r: { result: string }) => r.result), ['created']);
    logged++;
    attacker.socket.write(`GET /v1/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${bad}\r\n\r\n`);
    await attacker.until(() => parseResponses(attacker.data()).length > n, 'the attacker\'s next answer');
    assert.is(parseResponses(attacker.data())[n].status, 429, 'the attacker is still throttled after the valid key was served');
    const seen = await probe(b.port, () => ({ open: !attacker.closed }));
    assert.ok(seen.open, 'the probe was answered while the throttled attacker was connected');
  } finally {
    attacker.socket.destroy();
  }
});

test('after the floods: the log holds only what was authenticated, and replay rebuilds the state hash the server stopped with', async () => {
  // Proves the floods stored nothing (the log gained exactly the one
  // request a valid key made) and that SIGTERM's `stopped` hash equals
  // `qenex replay --data`.
  assert.is(logEntryCount(b.logPath) - entriesAtStart, logged, 'only the valid key\'s request was logged');
  const { stopped } = await stopAndReplay(b);
  summary('floods', `replay equal (${String(stopped.state_hash).slice(0, 12)}…); file ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test.run();
