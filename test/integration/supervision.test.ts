// Supervision, end to end: a Machine booted in-process from a packed image
// with the deliberately faulty test service (test/services/faulty) beside
// echo, talked to over real TCP. Proves that a trap or a runaway loop in one
// service aborts only that message (the client gets FRAME_E_FAULT), that the
// service's state is restored (memory and globals, syscall results replayed
// from its journal), that the restart policy marks a service failed
// (FRAME_E_UNAVAILABLE, SYS_E_UNAVAILABLE) while the others keep serving,
// that memory_pages_max holds inside the service, and that replaying the log
// reaches the same state hash with the same faults.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { Machine } from '../../host/machine.ts';
import { packImage, parseImage } from '../../host/image.ts';
import { validateManifest } from '../../host/manifest.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { buildService, buildTestService, ensureKernel, ROOT, tempDir } from '../services/build.ts';

ensureKernel();
const FAULTY_WASM = buildTestService('faulty');
buildService('echo');

const OP = { add: 1, read: 2, unreachable: 3, outOfBounds: 4, divide: 5, spin: 6, grow: 7, random: 8, sendPeer: 9 } as const;
const FRAGILE = 1;
const PEER = 5;

function request(op: number, arg: bigint = 0n): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(op, 0);
  b.writeBigUInt64LE(arg, 8);
  return b;
}

interface FaultyState { total: bigint; adds: bigint; mixed: bigint; spins: bigint }
function state(p: Buffer): FaultyState {
  return { total: p.readBigUInt64LE(0), adds: p.readBigUInt64LE(8), mixed: p.readBigUInt64LE(16), spins: p.readBigUInt64LE(24) };
}

const manifest = validateManifest({
  name: 'supervision',
  version: 1,
  kernel: {
    message_slots: 64, message_bytes_max: 4096, queue_depth: 64, timers_max: 16,
    requests_in_flight_max: 64, batch_bytes_max: 65536, log_preallocate_bytes: 0,
  },
  services: [
    { name: 'faulty', module: 'faulty', priority: 0, budget: 16, memory_pages_max: 4, caps: ['net', 'random', 'send:peer', 'send:fragile'], fuel_per_message: 200_000, restarts_max: 100, restart_window_ms: 60_000 },
    { name: 'fragile', module: 'faulty', priority: 0, budget: 16, memory_pages_max: 4, caps: ['net'], restarts_max: 2, restart_window_ms: 3_600_000 },
    { name: 'echo', module: 'echo', priority: 1, budget: 16, memory_pages_max: 16, caps: ['net'] },
    { name: 'broken', module: 'faulty', priority: 2, budget: 16, memory_pages_max: 4, caps: ['net'], config: { trap: true } },
    { name: 'resilient', module: 'faulty', priority: 2, budget: 16, memory_pages_max: 4, caps: ['net'], restarts_max: 1, restart_window_ms: 1 },
    { name: 'peer', module: 'faulty', priority: 1, budget: 16, memory_pages_max: 4, caps: [] },
  ],
});

let dir = '';
let imageBytes: Uint8Array;
let machine: Machine;
let client: FrameClient;
const lines: Record<string, unknown>[] = [];
let liveHash = '';

test.before(async () => {
  dir = tempDir('supervision');
  const faulty = new Uint8Array(readFileSync(FAULTY_WASM));
  const echo = new Uint8Array(readFileSync(join(ROOT, 'build/services/echo.wasm')));
  imageBytes = packImage({
    manifest,
    kernel: new Uint8Array(readFileSync(join(ROOT, 'build/kernel.wasm'))),
    services: new Map([['faulty', faulty], ['fragile', faulty], ['echo', echo], ['broken', faulty], ['resilient', faulty], ['peer', faulty]]),
  });
  machine = await Machine.boot({
    image: parseImage(imageBytes), imageBytes, dataDir: join(dir, 'data'), mode: 'live', backend: 'pure',
    onLine: (line) => { try { lines.push(JSON.parse(line)); } catch { lines.push({ message: line }); } },
  });
  client = await FrameClient.connect('127.0.0.1', (await machine.listen('127.0.0.1', 0)).port);
});

test.after(async () => {
  client?.close();
  if (machine !== undefined && machine.haltInfo() === null) await machine.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

async function ok(service: string, payload: Buffer): Promise<Buffer> {
  const r = await client.request(service, payload, 30_000);
  assert.is(r.status, abi.FRAME_OK, `${service}: status ${r.status} ${r.payload.toString('utf8')}`);
  return r.payload;
}

async function echoStillServes(): Promise<void> {
  assert.is((await ok('echo', Buffer.from('still here'))).toString(), 'still here');
}

test('a service whose qx_init traps is failed at boot; the machine still boots and serves', async () => {
  // Proves a fault in qx_init is never retried: broken is marked failed
  // (service_failed line), its requests get FRAME_E_UNAVAILABLE, and the
  // machine became ready with the other services serving.
  assert.is(machine.kernel.x.service_failed(3), 1);
  assert.ok(lines.some((l) => l.event === 'service_failed' && l.service === 'broken'));
  const r = await client.request('broken', request(OP.read), 30_000);
  assert.is(r.status, abi.FRAME_E_UNAVAILABLE);
  await echoStillServes();
});

test('a trap aborts only its message: the client gets FRAME_E_FAULT and the state is rolled back', async () => {
  // Proves an `unreachable` after the service changed its memory aborts the
  // message: the client gets FRAME_E_FAULT naming the trap, the service is
  // restored (its total in memory and its adds global are what they were
  // before), echo keeps answering, and the kernel counts one fault and one restart.
  assert.equal(state(await ok('faulty', request(OP.add, 5n))).total, 5n);
  const r = await client.request('faulty', request(OP.unreachable), 30_000);
  assert.is(r.status, abi.FRAME_E_FAULT);
  assert.match(r.payload.toString(), /unreachable/);
  const after = state(await ok('faulty', request(OP.read)));
  assert.is(after.total, 5n, 'the +1000 before the trap was rolled back');
  assert.is(after.adds, 1n, 'the global is restored too');
  await echoStillServes();
  assert.is(Number(machine.kernel.x.service_faults(0)), 1);
  assert.is(Number(machine.kernel.x.service_restarts(0)), 1);
  assert.ok(lines.some((l) => l.event === 'service_restarted' && l.service === 'faulty' && l.fault === 'unreachable'));
});

test('out-of-bounds access and division by zero are faults of the message, each with its own message', async () => {
  // Proves the other two trap kinds: each aborts its message with
  // FRAME_E_FAULT and a text naming the trap, and each rolls back what the
  // message changed before trapping (adds += 1, total += 7).
  const oob = await client.request('faulty', request(OP.outOfBounds, 16n), 30_000);
  assert.is(oob.status, abi.FRAME_E_FAULT);
  assert.match(oob.payload.toString(), /out of bounds/);
  const div = await client.request('faulty', request(OP.divide, 0n), 30_000);
  assert.is(div.status, abi.FRAME_E_FAULT);
  assert.match(div.payload.toString(), /divided by zero/);
  const s = state(await ok('faulty', request(OP.read)));
  assert.equal([s.total, s.adds], [5n, 1n]);
  assert.equal(state(await ok('faulty', request(OP.divide, 4n))).total, 3n, '(5 + 7) / 4: a good division still works');
});

test('an infinite loop runs out of fuel: the host does not hang, the message gets FRAME_E_FAULT, the system goes on', async () => {
  // Proves fuel: op 6 never ends by itself; with fuel_per_message 200000 it
  // stops, the client is told the fuel ran out, the loop's writes are rolled
  // back, and both the service and echo answer afterwards.
  const r = await client.request('faulty', request(OP.spin), 60_000);
  assert.is(r.status, abi.FRAME_E_FAULT);
  assert.match(r.payload.toString(), /fuel/);
  const s = state(await ok('faulty', request(OP.read)));
  assert.is(s.spins, 0n, 'the loop counter was rolled back with the rest');
  assert.is(s.total, 3n);
  await echoStillServes();
});

test('a restore replays recorded syscall results and starts from the last restore point', async () => {
  // Proves the journal: a random() result is mixed into the state, a restore
  // point is taken, more random state follows, then a trap; the restored
  // state keeps both mixes (the second one replayed from the journal's
  // recorded bytes, not drawn again), so the next read equals the one before the trap.
  await ok('faulty', request(OP.random));
  machine.services[0].checkpoint();
  await ok('faulty', request(OP.add, 10n));
  const before = state(await ok('faulty', request(OP.random)));
  assert.is.not(before.mixed, 0n);
  const r = await client.request('faulty', request(OP.unreachable), 30_000);
  assert.is(r.status, abi.FRAME_E_FAULT);
  assert.equal(state(await ok('faulty', request(OP.read))), before);
});

test('memory_pages_max: growing past it fails inside the service with -1; the host is untouched', async () => {
  // Proves the manifest's 4-page limit is the module's memory maximum:
  // memory.grow(1) from the current size succeeds, growing past 4 pages
  // returns -1 with the size unchanged, and the service goes on.
  const one = await ok('faulty', request(OP.grow, 1n));
  const sizeAfterOne = one.readInt32LE(4);
  assert.ok(one.readInt32LE(0) >= 1 && sizeAfterOne <= 4, `grew from ${one.readInt32LE(0)} to ${sizeAfterOne}`);
  const big = await ok('faulty', request(OP.grow, 100n));
  assert.is(big.readInt32LE(0), -1);
  assert.is(big.readInt32LE(4), sizeAfterOne);
  const past = await ok('faulty', request(OP.grow, BigInt(5 - sizeAfterOne)));
  assert.is(past.readInt32LE(0), -1, 'one page past the limit is refused');
  assert.equal(state(await ok('faulty', request(OP.add, 1n))).total, 14n);
});

test('restart policy: past restarts_max in the window the service fails; its requests get FRAME_E_UNAVAILABLE; others serve', async () => {
  // Proves fragile (restarts_max 2) is restored after its first two faults
  // and marked failed at the third: the kernel prints service_failed, a new
  // request is refused with FRAME_E_UNAVAILABLE ("service failed"), and
  // faulty and echo keep serving.
  await ok('fragile', request(OP.add, 2n));
  for (let i = 0; i < 2; i++) {
    assert.is((await client.request('fragile', request(OP.unreachable), 30_000)).status, abi.FRAME_E_FAULT);
    assert.is(state(await ok('fragile', request(OP.read))).total, 2n);
  }
  assert.is((await client.request('fragile', request(OP.unreachable), 30_000)).status, abi.FRAME_E_FAULT);
  const refused = await client.request('fragile', request(OP.read), 30_000);
  assert.is(refused.status, abi.FRAME_E_UNAVAILABLE);
  assert.match(refused.payload.toString(), /service failed/);
  assert.is(machine.kernel.x.service_failed(1), 1);
  assert.ok(lines.some((l) => l.event === 'service_failed' && l.service === 'fragile'));
  assert.equal(state(await ok('faulty', request(OP.add, 1n))).total, 15n);
  await echoStillServes();
});

test('service to service: a fault in the peer reaches the sender as KIND_FAILED; a failed peer refuses send', async () => {
  // Proves a message is aborted like a request: faulty sends peer a
  // message that traps; instead of a reply, faulty gets KIND_FAILED (5)
  // from peer, and peer, restored, still answers the next message with a
  // reply (KIND_REPLY, 3). A send to fragile, failed above, returns
  // SYS_E_UNAVAILABLE at once.
  const sendPeer = (peer: number, inner: number): Buffer => { const b = request(OP.sendPeer, BigInt(peer)); b[1] = inner; return b; };
  const failed = await ok('faulty', sendPeer(PEER, OP.unreachable));
  assert.equal([failed.readUInt32LE(0), failed.readUInt32LE(4)], [abi.MSG_KIND_FAILED, PEER]);
  const answered = await ok('faulty', sendPeer(PEER, OP.read));
  assert.equal([answered.readUInt32LE(0), answered.readUInt32LE(4)], [abi.MSG_KIND_REPLY, PEER]);
  assert.is(Number(machine.kernel.x.service_restarts(PEER)), 1);
  const refused = await ok('faulty', sendPeer(FRAGILE, OP.read));
  assert.equal([refused.readUInt32LE(0), refused.readInt32LE(4)], [0, abi.SYS_E_UNAVAILABLE]);
});

test('the restart window is logical time: faults further apart than restart_window_ms never fail the service', async () => {
  // Proves the window resets: resilient allows 1 restart per 1 ms window;
  // three faults at least 5 ms apart (their messages' logical times) are
  // each the first in a new window, so all are restored and it still serves.
  await ok('resilient', request(OP.add, 9n));
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 5));
    assert.is((await client.request('resilient', request(OP.unreachable), 30_000)).status, abi.FRAME_E_FAULT);
  }
  assert.is(state(await ok('resilient', request(OP.read))).total, 9n);
  assert.is(machine.kernel.x.service_failed(4), 0);
  assert.is(Number(machine.kernel.x.service_restarts(4)), 3);
});

test('replaying the log faults at the same messages and reaches the same state hash', async () => {
  // Proves determinism: (the kernel's allocator is still sealed, then) after a clean stop, `replay` of the same data
  // directory re-runs every message, traps and runs out of fuel at the
  // same messages, restores and fails the same services, and ends with the
  // state hash the live machine stopped with.
  assert.is(machine.kernel.x.kernel_check_sealed(), 1, 'faults, refusals and restarts allocated nothing after boot');
  client.close();
  const halt = await machine.stop();
  assert.is(halt.state, abi.KSTATE_HALTED, halt.message ?? '');
  liveHash = machine.stateHash();
  const faults = [0, 1, 2, 3, 4, 5].map((i) => Number(machine.kernel.x.service_faults(i)));
  const replay = await Machine.boot({ image: parseImage(imageBytes), imageBytes, dataDir: join(dir, 'data'), mode: 'replay', backend: 'pure' });
  assert.is(replay.stateHash(), liveHash);
  assert.equal([0, 1, 2, 3, 4, 5].map((i) => Number(replay.kernel.x.service_faults(i))), faults);
  assert.is(replay.kernel.x.service_failed(1), 1);
  replay.abandon();
});

test.run();
