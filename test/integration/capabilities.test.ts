// Capabilities, end to end: a Machine booted in-process from a packed image
// (the real kernel.wasm, three instances of the test-only probe service in
// test/services/probe), talked to over real TCP with FrameClient.
//
//   alpha  caps net, log, time, random, timer, send:beta   (index 0)
//   beta   caps net                                        (index 1)
//   gamma  no caps at all                                  (index 2)
//
// Each probe performs the system call a request names and replies with the
// kernel's result, so the tests see exactly what a service sees. Kernel
// console lines are collected through Machine's onLine.
//
// Run: node --import tsx test/integration/capabilities.test.ts
// kernel.wasm and probe.wasm are rebuilt first when missing or stale.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { Machine } from '../../host/machine.ts';
import { packImage, parseImage } from '../../host/image.ts';
import { validateManifest } from '../../host/manifest.ts';
import { FrameClient, type Reply } from '../../host/client/frames.ts';
import { ascIfStale, RELEASE } from '../support/asc.ts';

// Same commands as the Makefile's kernel and service rules.
const KERNEL_WASM = ascIfStale('kernel/main.ts', 'build/kernel.wasm', ['kernel', 'hal', 'drivers']);
const PROBE_WASM = ascIfStale('test/services/probe/index.ts', 'build/test/probe.wasm', ['services/sdk'], [...RELEASE, '--use', 'abort=']);

// ---- probe requests (layout: test/services/probe/index.ts) ----

const OP = { send: 1, time: 2, log: 3, random: 4, timer: 5, lookup: 6, stale: 7, stats: 8 } as const;
const ALPHA = 0;
const BETA = 1;
const GAMMA = 2;
const PEER_MAGIC = 0x52454550;

function probeRequest(op: number, arg = 0, args: Uint8Array = new Uint8Array(0)): Buffer {
  const b = Buffer.alloc(4 + args.length);
  b.writeUInt8(op, 0);
  b.writeUInt8(arg, 1);
  b.set(args, 4);
  return b;
}

function timerRequest(delayNs: bigint, tag: bigint): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt8(OP.timer, 0);
  b.writeBigInt64LE(delayNs, 8);
  b.writeBigInt64LE(tag, 16);
  return b;
}

const i32s = (payload: Buffer, n: number): number[] => Array.from({ length: n }, (_, i) => payload.readInt32LE(i * 4));

// ---- the machine ----

const manifest = validateManifest({
  name: 'capabilities',
  version: 1,
  kernel: {
    message_slots: 64, message_bytes_max: 4096, queue_depth: 64, timers_max: 16,
    requests_in_flight_max: 64, batch_bytes_max: 65536, log_preallocate_bytes: 0,
  },
  services: [
    { name: 'alpha', module: 'probe', priority: 0, budget: 16, memory_pages_max: 16, caps: ['net', 'log', 'time', 'random', 'timer', 'send:beta'] },
    { name: 'beta', module: 'probe', priority: 1, budget: 16, memory_pages_max: 16, caps: ['net'] },
    { name: 'gamma', module: 'probe', priority: 2, budget: 16, memory_pages_max: 16, caps: [] },
  ],
});

interface Line { event?: string; service?: string; call?: string; count?: number; message?: string }

let dir = '';
let machine: Machine;
let client: FrameClient;
let port = 0;
const lines: Line[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qenex-capabilities-'));
  const probe = new Uint8Array(readFileSync(PROBE_WASM));
  const imageBytes = packImage({
    manifest,
    kernel: new Uint8Array(readFileSync(KERNEL_WASM)),
    services: new Map(manifest.services.map((s) => [s.name, probe])),
  });
  machine = await Machine.boot({
    image: parseImage(imageBytes), imageBytes, dataDir: join(dir, 'data'), mode: 'live',
    onLine: (line) => { try { lines.push(JSON.parse(line) as Line); } catch { lines.push({ message: line }); } },
  });
  port = (await machine.listen('127.0.0.1', 0)).port;
  client = await FrameClient.connect('127.0.0.1', port);
});

test.after(async () => {
  client?.close();
  if (machine !== undefined && machine.haltInfo() === null) await machine.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

async function call(service: string, payload: Uint8Array): Promise<Buffer> {
  const r = await client.request(service, payload, 5_000);
  assert.is(r.status, abi.FRAME_OK, `${service}: status ${r.status} ${r.payload.toString('utf8')}`);
  return r.payload;
}

async function result(service: string, payload: Uint8Array): Promise<number> {
  return (await call(service, payload)).readInt32LE(0);
}

const denials = (): Line[] => lines.filter((l) => l.event === 'syscall_denied');

/** Waits (briefly) for a console line; lines arrive in the same pump as the reply. */
async function lineMatching(pred: (l: Line) => boolean, what: string): Promise<Line> {
  for (let waited = 0; waited < 2_000; waited += 10) {
    const found = lines.find(pred);
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no console line: ${what}; saw ${JSON.stringify(lines.slice(-5))}`);
}

// ---- system calls ----

test('a call without the capability returns SYS_E_DENIED and the kernel logs syscall_denied naming service and call', async () => {
  // Proves every capability-checked call (log, time, random, timer) is
  // refused to beta, which lacks them: the service sees SYS_E_DENIED (-1),
  // nothing happens (no log line, no random bytes, no timer), and the kernel
  // prints one syscall_denied error line per call naming beta and the call,
  // with beta's running count; the kernel's denied counter agrees.
  const deniedBefore = machine.kernel.stat(abi.STAT_SYSCALLS_DENIED);
  assert.is(await result('beta', probeRequest(OP.log, 0, Buffer.from('beta should not log'))), abi.SYS_E_DENIED);
  assert.is((await call('beta', probeRequest(OP.time))).readBigInt64LE(0), BigInt(abi.SYS_E_DENIED));
  const random = await call('beta', probeRequest(OP.random));
  assert.is(random.readInt32LE(0), abi.SYS_E_DENIED);
  assert.ok(random.subarray(4, 20).every((b) => b === 0), 'no random bytes given');
  assert.is(await result('beta', timerRequest(1_000_000n, 5n)), abi.SYS_E_DENIED);
  const calls = ['log', 'time', 'random', 'timer'];
  for (const [i, name] of calls.entries()) {
    const line = await lineMatching((l) => l.event === 'syscall_denied' && l.service === 'beta' && l.call === name, `beta ${name} denied`);
    assert.is(line.count, i + 1, `beta's denial count at ${name}`);
  }
  assert.is(denials().length, 4);
  assert.is(machine.kernel.stat(abi.STAT_SYSCALLS_DENIED) - deniedBefore, 4);
  assert.not.ok(lines.some((l) => l.event === 'service_log' && l.service === 'beta'), 'beta logged nothing');
  const stats = i32s(await call('beta', probeRequest(OP.stats)), 4);
  assert.is(stats[3], 0, 'no timer fired for beta');
});

test('with the capability the same calls succeed', async () => {
  // Proves alpha, which holds log, time, random and timer, gets SYS_OK and
  // the effect: a service_log line with its text, the logical time of its
  // message (wall-clock ns), 16 fresh random bytes per call, and a timer
  // message after 1 ms carrying its tag; lookup needs no capability.
  const deniedBefore = denials().length;
  assert.is(await result('alpha', probeRequest(OP.log, 0, Buffer.from('hello from alpha'))), abi.SYS_OK);
  await lineMatching((l) => l.event === 'service_log' && l.service === 'alpha' && l.message === 'hello from alpha', 'alpha log line');
  const timeNs = (await call('alpha', probeRequest(OP.time))).readBigInt64LE(0);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  assert.ok(timeNs > nowNs - 60_000_000_000n && timeNs <= nowNs + 1_000_000_000n, `logical time ${timeNs} is near wall time ${nowNs}`);
  const r1 = await call('alpha', probeRequest(OP.random));
  const r2 = await call('alpha', probeRequest(OP.random));
  assert.is(r1.readInt32LE(0), abi.SYS_OK);
  assert.is(r2.readInt32LE(0), abi.SYS_OK);
  assert.is.not(r1.subarray(4, 20).toString('hex'), r2.subarray(4, 20).toString('hex'), 'fresh bytes each call');
  const fired = await call('alpha', timerRequest(1_000_000n, 0x1234_5678_9abcn));
  assert.is(fired.readInt32LE(0), abi.SYS_OK);
  assert.is(fired.readBigUInt64LE(4), 0x1234_5678_9abcn, 'the timer message carries its tag');
  assert.is(await result('beta', probeRequest(OP.lookup, 0, Buffer.from('alpha'))), ALPHA);
  assert.is(await result('alpha', probeRequest(OP.lookup, 0, Buffer.from('gamma'))), GAMMA);
  assert.is(await result('alpha', probeRequest(OP.lookup, 0, Buffer.from('nobody'))), abi.SYS_E_INVALID);
  assert.is(denials().length, deniedBefore, 'nothing denied');
});

test('send: a granted peer gets the message and answers; ungranted peers are denied; an unknown index is invalid', async () => {
  // Proves send:beta lets alpha reach beta (beta sees sender alpha and the
  // bytes, and its reply comes back to alpha as a reply message), while
  // alpha -> gamma, alpha -> itself and beta -> alpha (a grant is one-way)
  // return SYS_E_DENIED with a syscall_denied line naming the sender and
  // "send"; a peer index past the service table is SYS_E_INVALID, not a
  // denial.
  const sent = await call('alpha', probeRequest(OP.send, BETA, Buffer.from('ping beta')));
  assert.equal(i32s(sent, 2), [abi.SYS_OK, BETA], 'sent, and the reply came from beta');
  assert.is(sent.readUInt32LE(8), PEER_MAGIC, 'beta answered as a peer');
  assert.is(sent.readUInt32LE(12), ALPHA, 'beta saw alpha as the sender');
  assert.is(sent.readUInt32LE(16), 9);
  assert.is(sent.subarray(20).toString('utf8'), 'ping beta');
  const [betaRequests, betaMessages, , , betaLastSender, betaLastLen] = i32s(await call('beta', probeRequest(OP.stats)), 6);
  assert.ok(betaRequests > 0);
  assert.equal([betaMessages, betaLastSender, betaLastLen], [1, ALPHA, 9]);
  assert.is(i32s(await call('alpha', probeRequest(OP.stats)), 3)[2], 1, 'alpha got one reply message');

  const before = denials().length;
  assert.is(await result('alpha', probeRequest(OP.send, GAMMA, Buffer.from('x'))), abi.SYS_E_DENIED);
  assert.is(await result('alpha', probeRequest(OP.send, ALPHA, Buffer.from('x'))), abi.SYS_E_DENIED);
  assert.is(await result('beta', probeRequest(OP.send, ALPHA, Buffer.from('x'))), abi.SYS_E_DENIED);
  await lineMatching((l) => l.event === 'syscall_denied' && l.service === 'beta' && l.call === 'send', 'beta send denied');
  const sendDenials = denials().slice(before);
  assert.equal(sendDenials.map((l) => [l.service, l.call]), [['alpha', 'send'], ['alpha', 'send'], ['beta', 'send']]);
  assert.is(await result('alpha', probeRequest(OP.send, 9, Buffer.from('x'))), abi.SYS_E_INVALID);
  assert.is(denials().length, before + 3, 'an unknown index is not a denial');
  const betaAfter = i32s(await call('beta', probeRequest(OP.stats)), 2);
  assert.is(betaAfter[1], 1, 'beta still saw exactly one message');
});

test('reply with a stale, other-generation, wrong-pool or zero token fails and reaches no client', async () => {
  // Proves a token is good for one reply by its holder: the previous
  // request's token (already answered), the current token with another
  // generation, the current token marked as a service token, and token 0
  // all return SYS_E_INVALID, and no stray frame reaches the client.
  await call('alpha', probeRequest(OP.lookup, 0, Buffer.from('beta')));
  const r = i32s(await call('alpha', probeRequest(OP.stale)), 4);
  assert.equal(r, [abi.SYS_E_INVALID, abi.SYS_E_INVALID, abi.SYS_E_INVALID, abi.SYS_E_INVALID]);
  await call('alpha', probeRequest(OP.stats));
  assert.equal(client.unmatched, [], 'no frame for a request nobody made');
});

// ---- frames ----

test('frames: no net capability gets FRAME_E_DENIED, an unknown service FRAME_E_UNKNOWN_SERVICE, an oversized payload FRAME_E_TOO_LARGE', async () => {
  // Proves the kernel's admission checks answer on the connection with the
  // right status and a message, and that gamma (no net) never sees the frame.
  const denied = await client.request('gamma', probeRequest(OP.stats), 5_000);
  assert.is(denied.status, abi.FRAME_E_DENIED);
  assert.match(denied.payload.toString('utf8'), /network/);
  const unknown = await client.request('nosuch', probeRequest(OP.stats), 5_000);
  assert.is(unknown.status, abi.FRAME_E_UNKNOWN_SERVICE);
  const large = await client.request('alpha', Buffer.alloc(4097), 5_000);
  assert.is(large.status, abi.FRAME_E_TOO_LARGE);
  assert.equal(i32s(await call('beta', probeRequest(OP.stats)), 2)[1], 1, 'beta unchanged');
});

/** Writes a raw frame body (with its length prefix) and waits for the reply with `requestId`. */
async function rawFrame(c: FrameClient, body: Buffer, requestId: number): Promise<Reply> {
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  c.socket.write(frame);
  for (let waited = 0; waited < 5_000; waited += 5) {
    const i = c.unmatched.findIndex((r) => r.requestId === requestId);
    if (i >= 0) return c.unmatched.splice(i, 1)[0];
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no reply to raw frame ${requestId}`);
}

function header(requestId: number, flags: number, nameLen: number, reserved: number, rest: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(8 + rest.length);
  b.writeUInt32LE(requestId, 0);
  b.writeUInt16LE(flags, 4);
  b.writeUInt8(nameLen, 6);
  b.writeUInt8(reserved, 7);
  rest.copy(b, 8);
  return b;
}

test('frames: malformed request headers get FRAME_E_MALFORMED and the connection stays usable', async () => {
  // Proves each header check: an empty body, a body shorter than the 8-byte
  // header, nonzero flags, a nonzero reserved byte, a zero name length, a
  // name longer than 32 bytes and a name running past the body are each
  // answered FRAME_E_MALFORMED with the request id (0 when there is none),
  // and a well-formed request on the same connection still works.
  const raw = await FrameClient.connect('127.0.0.1', port);
  const name = Buffer.from('alpha');
  const cases: Array<[string, Buffer, number]> = [
    ['empty body', Buffer.alloc(0), 0],
    ['4-byte body', header(0x1001, 0, 0, 0).subarray(0, 4), 0x1001],
    ['7-byte body', header(0x1002, 0, 5, 0).subarray(0, 7), 0x1002],
    ['nonzero flags', header(0x1003, 1, 5, 0, name), 0x1003],
    ['nonzero reserved byte', header(0x1004, 0, 5, 9, name), 0x1004],
    ['zero name length', header(0x1005, 0, 0, 0, name), 0x1005],
    ['name over 32 bytes', header(0x1006, 0, 33, 0, Buffer.alloc(40, 0x61)), 0x1006],
    ['name past the body', header(0x1007, 0, 9, 0, name), 0x1007],
  ];
  for (const [what, body, requestId] of cases) {
    const r = await rawFrame(raw, body, requestId);
    assert.is(r.status, abi.FRAME_E_MALFORMED, what);
  }
  const ok = await raw.request('alpha', probeRequest(OP.lookup, 0, Buffer.from('beta')), 5_000);
  assert.is(ok.status, abi.FRAME_OK);
  assert.is(ok.payload.readInt32LE(0), BETA);
  raw.close();
});

test('after all that the machine still serves, allocated nothing after boot, and stops cleanly', async () => {
  // Proves refusals left no damage: a new connection gets normal answers from
  // alpha and beta (including a send round trip), the kernel's allocator is
  // still sealed, and a clean stop halts without error.
  const fresh = await FrameClient.connect('127.0.0.1', port);
  const r = await fresh.request('alpha', probeRequest(OP.send, BETA, Buffer.from('again')), 5_000);
  assert.is(r.status, abi.FRAME_OK);
  assert.equal(i32s(r.payload, 2), [abi.SYS_OK, BETA]);
  const stats = await fresh.request('beta', probeRequest(OP.stats), 5_000);
  assert.is(stats.payload.readInt32LE(4), 2, 'beta saw the second message');
  fresh.close();
  assert.is(machine.kernel.x.kernel_check_sealed(), 1, 'nothing allocated after boot');
  client.close();
  const halt = await machine.stop();
  assert.is(halt.state, abi.KSTATE_HALTED, halt.message ?? '');
  assert.not.ok(lines.some((l) => l.event === 'service_fault' || l.event === 'panic'), 'no faults');
});

test.run();
