// The net device under bad clients, over real TCP against the real CLI:
// oversized frames, malformed headers, unknown services, abrupt disconnects
// mid-frame and mid-request: each gets a clear error frame or a closed
// connection, and other clients keep being served.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { FrameClient, encodeRequest, counterRequest, counterReply } from '../../host/client/frames.ts';
import { spawn } from 'node:child_process';
import { CLI, makeImage, removeDir, Server, type TestImage, demoManifest } from '../support/helpers.ts';

let img: TestImage;
let server: Server;
let addr: { host: string; port: number };

test.before(async () => {
  img = makeImage('net', demoManifest());
  server = Server.start(['boot', img.imagePath, '--data', join(img.dir, 'data'), '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  addr = await server.address();
});
test.after(async () => {
  await server.kill('SIGTERM');
  removeDir(img.dir);
});

/** Sends raw bytes; resolves with everything received until the server closes (or timeout). */
function raw(bytes: Buffer, waitMs = 1500): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(addr.port, addr.host);
    const chunks: Buffer[] = [];
    let closed = false;
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => { closed = true; finish(); });
    const timer = setTimeout(() => { s.destroy(); finish(); }, waitMs);
    let done = false;
    function finish() {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed });
    }
    s.write(bytes);
  });
}

function decodeReply(data: Buffer): { requestId: number; status: number; message: string } {
  const len = data.readUInt32LE(0);
  const body = data.subarray(4, 4 + len);
  return { requestId: body.readUInt32LE(0), status: body.readUInt16LE(4), message: body.subarray(8).toString('utf8') };
}

test('an oversized frame gets a TOO_LARGE error frame and the connection is closed', async () => {
  // Proves: a length prefix over the limit is answered with an error that
  // says so, carrying the request id, and the connection is closed.
  const header = Buffer.alloc(8);
  header.writeUInt32LE(abi.FRAME_BODY_BYTES_MAX + 100, 0);
  header.writeUInt32LE(77, 4);
  const r = await raw(header);
  assert.ok(r.closed, 'connection closed');
  const reply = decodeReply(r.data);
  assert.is(reply.status, abi.FRAME_E_TOO_LARGE);
  assert.is(reply.requestId, 77);
  assert.match(reply.message, /exceeds the limit/);
});

test('malformed and misaddressed frames get specific errors and the connection stays usable', async () => {
  // Proves: the kernel answers unknown services, reserved bits and bad name
  // lengths with distinct status codes, without closing the connection.
  const unknown = encodeRequest(1, 'nosuch', Buffer.from('x'));
  const reserved = encodeRequest(2, 'echo', Buffer.from('x'));
  reserved.writeUInt16LE(1, 8);
  const badName = encodeRequest(3, 'echo', Buffer.from('x'));
  badName.writeUInt8(200, 10);
  const tooShort = Buffer.from([3, 0, 0, 0, 4, 0, 0]);
  const good = encodeRequest(5, 'echo', Buffer.from('fine'));
  const r = await raw(Buffer.concat([unknown, reserved, badName, tooShort, good]));
  const replies = [];
  for (let off = 0; off < r.data.length;) {
    const len = r.data.readUInt32LE(off);
    replies.push(decodeReply(r.data.subarray(off, off + 4 + len)));
    off += 4 + len;
  }
  const byId = new Map(replies.map((x) => [x.requestId, x]));
  assert.is(byId.get(1)?.status, abi.FRAME_E_UNKNOWN_SERVICE);
  assert.is(byId.get(2)?.status, abi.FRAME_E_MALFORMED);
  assert.is(byId.get(3)?.status, abi.FRAME_E_MALFORMED);
  assert.is(byId.get(0)?.status, abi.FRAME_E_MALFORMED, 'a 3-byte body is shorter than the header (no request id: 0)');
  assert.is(byId.get(5)?.status, abi.FRAME_OK);
  assert.is(byId.get(5)?.message, 'fine');
  assert.not.ok(r.closed, 'the connection was not closed for bad frames');
});

test('a client that disconnects mid-frame or with requests in flight does not disturb others', async () => {
  // Proves: abrupt disconnects (half a frame; pipelined requests then
  // close) leave the server healthy, and a concurrent client's requests all
  // complete in order with the right counter totals.
  const steady = await FrameClient.connect(addr.host, addr.port);
  const before = counterReply(await steady.call('counter', counterRequest(2)));
  const half = net.connect(addr.port, addr.host);
  half.on('error', () => {});
  half.write(encodeRequest(9, 'echo', Buffer.alloc(1000)).subarray(0, 500));
  const rude = await FrameClient.connect(addr.host, addr.port);
  for (let i = 0; i < 100; i++) rude.request('counter', counterRequest(1, 1n)).catch(() => {});
  rude.socket.destroy();
  half.destroy();
  const replies = await Promise.all(Array.from({ length: 50 }, () => steady.call('counter', counterRequest(1, 2n))));
  const totals = replies.map((p) => counterReply(p).total);
  for (let i = 1; i < totals.length; i++) assert.ok(totals[i] > totals[i - 1], 'totals increase in request order');
  const after = counterReply(await steady.call('counter', counterRequest(2)));
  assert.ok(after.total >= before.total + 100n, 'all 50 adds of 2 applied');
  assert.ok(after.total <= before.total + 200n, 'at most the rude client\'s 100 adds of 1 on top');
  assert.is(after.adds - before.adds >= 50n, true);
  steady.close();
});

test('many clients at once are all answered', async () => {
  // Proves: 20 connections with 25 requests each in flight all get their
  // own echoes back (no cross-talk between connections).
  const clients = await Promise.all(Array.from({ length: 20 }, () => FrameClient.connect(addr.host, addr.port)));
  await Promise.all(clients.map(async (c, ci) => {
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => c.call('echo', Buffer.from(`c${ci}-r${i}`))));
    answers.forEach((a, i) => assert.is(a.toString(), `c${ci}-r${i}`));
  }));
  clients.forEach((c) => c.close());
});

test('a binary client that stops mid-frame is timed out while others are served', async () => {
  // Proves the frame protocol has a request timeout like HTTP's (slowloris):
  // half a frame, then nothing, gets FRAME_E_MALFORMED naming the timeout and
  // a closed connection after QENEX_NET_REQUEST_TIMEOUT_MS (shortened here),
  // while another client is answered meanwhile.
  const child = new Server(spawn(process.execPath, [CLI, 'boot', img.imagePath, '--data', join(img.dir, 'slow'), '--trust', img.pubPath, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QENEX_NET_REQUEST_TIMEOUT_MS: '500' },
  }));
  try {
    const { port } = await child.address();
    const frame = encodeRequest(41, 'echo', Buffer.from('never finished'));
    const s = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('error', () => {});
    const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
    s.write(frame.subarray(0, 10));
    const other = await FrameClient.connect('127.0.0.1', port);
    const r = await other.request('echo', Buffer.from('meanwhile'));
    assert.is(r.status, abi.FRAME_OK);
    other.close();
    await closed;
    const reply = Buffer.concat(got);
    assert.ok(reply.length >= 12, 'an error frame before the close');
    assert.is(reply.readUInt16LE(8), abi.FRAME_E_MALFORMED);
    assert.match(reply.subarray(12).toString(), /did not arrive within 500 ms/);
  } finally {
    await child.kill('SIGKILL');
  }
});

test.run();
