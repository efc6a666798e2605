// Hostile clients against the HTTP parser and the binary framing, over real
// TCP against a served bank image: a header line built to make a
// backtracking parser freeze (it once froze the process for 22 s), the
// small refusals of a strict HTTP/1.1 head (lowercase method, missing or
// repeated Host, absolute-form target, leading CRLF), /metrics without a
// key, and a binary request id reused while it is in flight. Every attack
// is answered by an HTTP or frame refusal, a probe from another address is
// answered while the attack runs, nothing unauthenticated reaches the
// command log, and the log replays to the state hash the server stopped with.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as abi from '../../hal/abi.ts';
import { encodeAuth, encodeRequest } from '../../host/client/frames.ts';
import { encodeLookupAccounts } from '../../host/client/ledger.ts';
import { Server, removeDir } from '../support/helpers.ts';
import {
  boot, errorCode, logEntryCount, mib, MiB, parseResponses, probe, RawConn, request, RssSampler, scaled, sleep, stopAndReplay, summary, until,
  type Booted,
} from './support.ts';

let b: Booted;
let entriesAtStart = 0;
let rss: RssSampler;
const started = Date.now();

test.before(async () => {
  b = await boot('hostile-parse', { keys: { admin: ['--role', 'admin'] } });
  entriesAtStart = logEntryCount(b.logPath);
  rss = new RssSampler(b.server.child.pid!);
});
test.after(async () => { rss?.stop(); await Server.killAll(); if (b !== undefined) removeDir(b.img.dir); });

/** Sends `bytes` on a fresh connection from 127.0.0.1; resolves with every response once the server closed it. */
async function attack(bytes: string | Buffer): Promise<{ responses: ReturnType<typeof parseResponses>; conn: RawConn }> {
  const conn = await RawConn.open(b.port);
  conn.socket.write(bytes);
  await conn.until(() => conn.closed, 'the server closes the attacker\'s connection');
  return { responses: parseResponses(conn.data()), conn };
}

/** One request on a fresh raw connection: its first response (the connection is closed by us afterwards). */
async function once(bytes: string): Promise<{ status: number; body: Buffer; raw: Buffer; closed: boolean }> {
  const conn = await RawConn.open(b.port);
  conn.socket.write(bytes);
  await conn.until(() => parseResponses(conn.data()).length >= 1 || conn.closed, 'an answer');
  const raw = conn.data();
  const [first] = parseResponses(raw);
  assert.ok(first !== undefined, `an HTTP response, got ${JSON.stringify(raw.toString('latin1').slice(0, 120))}`);
  const closed = conn.closed;
  conn.socket.destroy();
  return { status: first.status, body: first.body, raw, closed };
}

test('a 16 KB header line of spaces ending in DEL (the 22 s backtracking freeze) is a 400 on every connection; others are served meanwhile', async () => {
  // Proves the head parser's work is linear: waves of connections each send
  // `X:` + 16,000 spaces + DEL (a line a backtracking pattern once took 22 s
  // on), every one is answered 400 bad_request and closed, a probe from
  // another address is answered before the last wave is answered (ordering,
  // no stopwatch), the server's memory stays within 64 MiB of where it was,
  // and nothing reaches the command log.
  const payload = `GET /v1/health HTTP/1.1\r\nX:${' '.repeat(16_000)}\x7f\r\n\r\n`;
  const perWave = scaled(8);
  const waves = 10;
  const total = perWave * waves;
  const rss = new RssSampler(b.server.child.pid!);
  const entries = logEntryCount(b.logPath);
  let answered = 0;
  const statuses: number[] = [];
  const codes = new Set<string | undefined>();
  const flood = (async () => {
    for (let w = 0; w < waves; w++) {
      await Promise.all(Array.from({ length: perWave }, async () => {
        const { responses } = await attack(payload);
        for (const r of responses) { statuses.push(r.status); codes.add(errorCode(r.body)); }
        answered++;
      }));
      await sleep(20); // the waves are paced so the attack lasts a while: a starved probe would be answered after it
    }
  })();
  await until(() => answered >= perWave, 'the first wave is answered');
  const seen = await probe(b.port, () => ({ answered }));
  await flood;
  const mem = rss.stop();
  assert.ok(seen.answered < total, `the probe was answered while the attack ran (${seen.answered} of ${total} attacks answered then)`);
  assert.is(statuses.length, total, 'one response per attack connection');
  assert.ok(statuses.every((s) => s === 400), `every attack is a 400: ${[...new Set(statuses)]}`);
  assert.equal([...codes], ['bad_request']);
  assert.ok(mem.growth < 64 * MiB, `server RSS grew ${mib(mem.growth)} (bound 64 MiB)`);
  assert.is(logEntryCount(b.logPath), entries, 'nothing of the attack was logged');
  summary('parse', `header-line backtracking: ${total} attacks, probe answered after ${seen.answered}, RSS +${mib(mem.growth)}`);
});

test('/metrics without a key is 401 unauthenticated, and is not logged', async () => {
  // Proves /metrics is behind admission like every other non-open route:
  // without a key it is 401 with WWW-Authenticate (the connection stays
  // usable, and a probe from another address is answered while it is open),
  // and a refusal there stores nothing.
  const entries = logEntryCount(b.logPath);
  const r = await request(b.port, { path: '/metrics', localAddress: '127.0.0.1' });
  assert.is(r.status, 401, r.body);
  assert.is(errorCode(r.body), 'unauthenticated');
  assert.is(r.headers['www-authenticate'], 'Bearer');
  const held = await RawConn.open(b.port);
  try {
    held.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    await held.until(() => parseResponses(held.data()).length >= 1, 'the 401');
    assert.equal(parseResponses(held.data()).map((x) => x.status), [401]);
    const seen = await probe(b.port, () => ({ open: !held.closed }));
    assert.ok(seen.open, 'the probe was answered while the refused connection was open');
  } finally {
    held.socket.destroy();
  }
  assert.is(logEntryCount(b.logPath), entries);
});

test('a binary request id reused while in flight: the second frame is refused, the first answered, the connection stays usable', async () => {
  // Proves the net device refuses a request id already in flight on the
  // connection (its reply could not be told apart): two lookups with id 7
  // in one write get one FRAME_E_MALFORMED naming "already in flight" and
  // one FRAME_OK; the connection is not closed (a probe from another address
  // is answered while it is still open) and a later request on it is served.
  const conn = await RawConn.open(b.port);
  const lookup = encodeLookupAccounts([1n]);
  conn.socket.write(Buffer.concat([encodeAuth(1, b.keys.admin), encodeRequest(7, 'gateway', lookup), encodeRequest(7, 'gateway', lookup)]));
  const replies = (): { id: number; status: number; text: string }[] => {
    const out = [];
    const d = conn.data();
    for (let at = 0; at + 4 <= d.length;) {
      const len = d.readUInt32LE(at);
      if (at + 4 + len > d.length) break;
      out.push({ id: d.readUInt32LE(at + 4), status: d.readUInt16LE(at + 8), text: d.subarray(at + 12, at + 4 + len).toString('utf8') });
      at += 4 + len;
    }
    return out;
  };
  await conn.until(() => replies().length >= 3 || conn.closed, 'three replies');
  const seen = await probe(b.port, () => ({ open: !conn.closed }));
  assert.ok(seen.open, 'the probe was answered while the connection that reused an id was open');
  const [auth, ...sevens] = replies();
  assert.equal({ id: auth.id, status: auth.status }, { id: 1, status: abi.FRAME_OK });
  assert.equal(sevens.map((r) => r.id), [7, 7]);
  const refused = sevens.filter((r) => r.status === abi.FRAME_E_MALFORMED);
  assert.is(refused.length, 1, JSON.stringify(sevens));
  assert.match(refused[0].text, /already in flight/);
  assert.is(sevens.filter((r) => r.status === abi.FRAME_OK).length, 1, 'the first frame with id 7 was answered');
  conn.socket.write(encodeRequest(8, 'gateway', lookup));
  await conn.until(() => replies().length >= 4 || conn.closed, 'a reply to a later request');
  assert.equal({ id: replies()[3].id, status: replies()[3].status }, { id: 8, status: abi.FRAME_OK });
  assert.not.ok(conn.closed);
  conn.socket.destroy();
});

test('strict HTTP/1.1 heads: leading CRLF and absolute-form are served, lowercase method is an HTTP 501, missing or repeated Host is 400', async () => {
  // Proves the small cases of RFC 9112 the parser decides: empty lines before
  // a request line are ignored (200); an absolute-form target is reduced to
  // its path (200); `get` is an unknown method answered as HTTP (501, not a
  // binary frame, though its bytes are not a known method); a request
  // without Host or with two is 400; none of it is logged, and a probe from
  // another address is answered meanwhile.
  const entries = logEntryCount(b.logPath);
  const crlf = await once('\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.is(crlf.status, 200, crlf.raw.toString());
  assert.equal(JSON.parse(crlf.body.toString()), { status: 'ok' });
  const absolute = await once('GET http://x/v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.is(absolute.status, 200, absolute.raw.toString());
  const lower = await once('get /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.ok(lower.raw.toString('latin1').startsWith('HTTP/1.1 501 '), `an HTTP response: ${lower.raw.toString('latin1').slice(0, 40)}`);
  assert.is(lower.status, 501);
  assert.is(errorCode(lower.body), 'method_not_implemented');
  const noHost = await attack('GET /v1/health HTTP/1.1\r\n\r\n');
  assert.equal(noHost.responses.map((r) => r.status), [400], 'no Host: 400, then closed');
  const twoHosts = await attack('GET /v1/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
  assert.equal(twoHosts.responses.map((r) => r.status), [400], 'two Hosts: 400, then closed');
  assert.match(noHost.responses[0].body.toString(), /Host/);
  assert.match(twoHosts.responses[0].body.toString(), /Host/);
  // The refusals again, held open while a probe from another address is served.
  const held = await RawConn.open(b.port);
  held.socket.write('get /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
  await held.until(() => parseResponses(held.data()).length >= 1, 'the 501');
  const seen = await probe(b.port, () => ({ open: !held.closed }));
  assert.ok(seen.open, 'the probe was answered while the connection with the 501 was still open');
  held.socket.destroy();
  assert.is(logEntryCount(b.logPath), entries, 'no refused head was logged');
});

test('after the attacks: memory bounded, nothing unauthenticated was logged, and replay rebuilds the state hash the server stopped with', async () => {
  // Proves the server's RSS stayed within 64 MiB of where it started over
  // all the attacks above, the command log holds only what was
  // authenticated: nothing (the request-id test's two admitted lookups are
  // reads, answered without a log entry),
  // and SIGTERM's `stopped` hash equals `qenex replay --data`.
  const mem = rss.stop();
  assert.ok(mem.growth < 64 * MiB, `server RSS grew ${mib(mem.growth)} over the attacks (bound 64 MiB)`);
  const entries = logEntryCount(b.logPath);
  assert.is(entries - entriesAtStart, 0, 'nothing was logged (the admitted lookups are reads)');
  const { stopped } = await stopAndReplay(b);
  summary('parse', `replay equal (${String(stopped.state_hash).slice(0, 12)}…, ${stopped.entries} entries); file ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test.run();
