// The grid device end to end (hal/devices/grid.ts, kernel/storage.ts,
// host/devices/grid.ts): a Machine booted in-process from a packed image with
// the test-only service test/services/gridprobe, which writes blocks of a
// known pattern to its grid and reads them back the way a storage engine
// does (ask for the blocks it lacks, get each as a KIND_BLOCK message, then
// the request again). Proves the bytes round-trip through the grid file, the
// per-message limits and contexts, the capability check, faults in the
// middle of a wait, and that a restart and a replay rebuild the same grid
// and state from the log.
//
// Run: node --import tsx test/integration/grid.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { Machine } from '../../host/machine.ts';
import { packImage, parseImage } from '../../host/image.ts';
import { validateManifest, ManifestError } from '../../host/manifest.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { gridFileName } from '../../host/devices/grid.ts';
import { buildService, buildTestService, ensureKernel, ROOT, tempDir } from '../services/build.ts';

ensureKernel();
const PROBE_WASM = buildTestService('gridprobe');
buildService('echo');

const BLOCK = abi.GRID_BLOCK_BYTES;
const OP = { write: 1, sync: 2, read: 3, writes: 4, counters: 5 } as const;
const FLAG = { trapOnBlock: 1, readInBlock: 2, trapAfterAsking: 4 } as const;

const kernel = {
  message_slots: 64, message_bytes_max: 131072, queue_depth: 64, timers_max: 0,
  requests_in_flight_max: 64, batch_bytes_max: 1048576, log_preallocate_bytes: 0,
};
const manifest = validateManifest({
  name: 'grid',
  version: 1,
  kernel,
  services: [
    { name: 'probe', module: 'gridprobe', priority: 0, budget: 16, memory_pages_max: 16, caps: ['net', 'storage', 'read'], restarts_max: 100, restart_window_ms: 60_000 },
    { name: 'nogrid', module: 'gridprobe', priority: 0, budget: 16, memory_pages_max: 16, caps: ['net', 'log'] },
    { name: 'echo', module: 'echo', priority: 1, budget: 16, memory_pages_max: 16, caps: ['net'] },
  ],
});

// The pattern gridprobe writes, and its fingerprint (FNV-1a over u32 words).
function pattern(seed: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  for (let w = 0; w < BLOCK / 4; w++) b.writeUInt32LE((seed ^ Math.imul(w, 0x9e3779b1)) >>> 0, w * 4);
  return b;
}
function fingerprint(block: Buffer): number {
  let h = 2166136261;
  for (let i = 0; i < block.length; i += 4) h = Math.imul(h ^ block.readUInt32LE(i), 16777619) >>> 0;
  return h;
}

let dir = '';
let imageBytes: Uint8Array;
let machine: Machine;
let client: FrameClient;
let lines: Record<string, unknown>[] = [];

async function boot(mode: 'live' | 'replay' = 'live'): Promise<Machine> {
  return Machine.boot({
    image: parseImage(imageBytes), imageBytes, dataDir: join(dir, 'data'), mode, backend: 'pure',
    onLine: (line) => { try { lines.push(JSON.parse(line)); } catch { lines.push({ message: line }); } },
  });
}

test.before(async () => {
  dir = tempDir('grid');
  const probe = new Uint8Array(readFileSync(PROBE_WASM));
  const echo = new Uint8Array(readFileSync(join(ROOT, 'build/services/echo.wasm')));
  imageBytes = packImage({
    manifest,
    kernel: new Uint8Array(readFileSync(join(ROOT, 'build/kernel.wasm'))),
    services: new Map([['probe', probe], ['nogrid', probe], ['echo', echo]]),
  });
  machine = await boot();
  client = await FrameClient.connect('127.0.0.1', (await machine.listen('127.0.0.1', 0)).port);
});

test.after(async () => {
  client?.close();
  // stop() also closes what a machine that halted by itself (the corrupt report) still holds: its listener.
  if (machine !== undefined) await machine.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

async function ok(service: string, payload: Buffer): Promise<Buffer> {
  const r = await client.request(service, payload, 30_000);
  assert.is(r.status, abi.FRAME_OK, `${service}: status ${r.status} ${r.payload.toString('utf8')}`);
  return r.payload;
}

function writeReq(address: number | bigint, seed: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt8(OP.write, 0);
  b.writeBigUInt64LE(BigInt(address), 8);
  b.writeUInt32LE(seed, 16);
  return b;
}

function readReq(addresses: (number | bigint)[], flags = 0): Buffer {
  const b = Buffer.alloc(8 + addresses.length * 8);
  b.writeUInt8(OP.read, 0);
  b.writeUInt8(addresses.length, 1);
  b.writeUInt8(flags, 2);
  addresses.forEach((a, i) => b.writeBigUInt64LE(BigInt(a), 8 + i * 8));
  return b;
}

interface ReadResult { result: number; inner: number; blocks: { address: bigint; status: number; finger: number }[] }
function parseRead(p: Buffer): ReadResult {
  const blocks = [];
  for (let o = 8; o + 16 <= p.length; o += 16) blocks.push({ address: p.readBigUInt64LE(o), status: p.readInt32LE(o + 8), finger: p.readUInt32LE(o + 12) });
  return { result: p.readInt32LE(0), inner: p.readInt32LE(4), blocks };
}

async function counters(): Promise<{ delivered: number; handled: number }> {
  const p = await ok('probe', Buffer.from([OP.counters]));
  return { delivered: p.readUInt32LE(0), handled: p.readUInt32LE(4) };
}

test('blocks written to the grid read back through KIND_BLOCK deliveries, in the order asked', async () => {
  // Proves the write path (bytes captured at the call, in the grid file at
  // address × 64 KiB) and the prefetch step: a read of three blocks is
  // answered only after the kernel delivered each block (counted by the
  // service) and then the request again, with each block's fingerprint that
  // of the pattern written, in the order the request named them.
  for (const [address, seed] of [[4, 40], [5, 50], [9, 90]]) assert.is((await ok('probe', writeReq(address, seed))).readInt32LE(0), abi.SYS_OK);
  assert.is((await ok('probe', Buffer.from([OP.sync]))).readInt32LE(0), abi.SYS_OK);
  const before = await counters();
  const r = parseRead(await ok('probe', readReq([9, 4, 5])));
  assert.is(r.result, 0);
  assert.equal(r.blocks.map((b) => [b.address, b.status, b.finger]),
    [[9n, 0, fingerprint(pattern(90))], [4n, 0, fingerprint(pattern(40))], [5n, 0, fingerprint(pattern(50))]]);
  const after = await counters();
  assert.is(after.delivered - before.delivered, 3, 'each block arrived as one KIND_BLOCK message');
  assert.is(after.handled - before.handled, 3, 'the read was handled twice (asked, then answered) and counters once');
  const file = readFileSync(join(dir, 'data', gridFileName('probe')));
  assert.ok(pattern(90).equals(file.subarray(9 * BLOCK, 10 * BLOCK)), 'block 9 is at 9 × 64 KiB of grid-probe.qxg');
  assert.is(file.subarray(0, 4 * BLOCK).every((b) => b === 0), true, 'nothing was written where nothing was asked to be');
});

test('a block never written reads as zeros; an address past the grid is refused per block', async () => {
  // Proves reads beyond the file's end complete (zeros: the engine's own
  // checksum says such a block is not one it wrote) and an address past
  // GRID_ADDRESS_MAX gets STORAGE_E_RANGE in its block message, while the
  // other blocks of the same request still arrive.
  const far = BigInt(abi.GRID_ADDRESS_MAX) + 1n;
  const r = parseRead(await ok('probe', readReq([1000, far, 4])));
  assert.equal(r.blocks.map((b) => [b.address, b.status]), [[1000n, 0], [far, abi.STORAGE_E_RANGE], [4n, 0]]);
  assert.is(r.blocks[0].finger, fingerprint(Buffer.alloc(BLOCK)));
  assert.is(r.blocks[2].finger, fingerprint(pattern(40)));
});

test('per-message limits and contexts: 128 writes, 64 reads, no read while a block is delivered', async () => {
  // Proves STORAGE_WRITES_PER_MESSAGE (the 33rd write of one message is
  // SYS_E_FULL, decided by the count alone), STORAGE_READS_PER_MESSAGE (65
  // blocks in one ask: SYS_E_FULL, nothing asked) and that a service cannot
  // ask for more blocks while one is being delivered (SYS_E_CONTEXT), while
  // the blocks it asked for still arrive.
  const w = Buffer.alloc(16);
  w.writeUInt8(OP.writes, 0);
  w.writeUInt8(abi.STORAGE_WRITES_PER_MESSAGE + 1, 1);
  w.writeBigUInt64LE(100n, 8);
  const wr = await ok('probe', w);
  assert.equal([wr.readUInt32LE(0), wr.readInt32LE(4)], [abi.STORAGE_WRITES_PER_MESSAGE, abi.SYS_E_FULL]);
  const many = parseRead(await ok('probe', readReq(Array.from({ length: abi.STORAGE_READS_PER_MESSAGE + 1 }, (_, i) => 200 + i))));
  assert.is(many.result, abi.SYS_E_FULL);
  const inner = parseRead(await ok('probe', readReq([100, 131], FLAG.readInBlock)));
  assert.is(inner.inner, abi.SYS_E_CONTEXT);
  assert.equal(inner.blocks.map((b) => b.finger), [fingerprint(pattern(0)), fingerprint(pattern(31))]);
});

test('a service without "storage" is denied, counted and named', async () => {
  // Proves the capability check: the same module as "nogrid" gets
  // SYS_E_DENIED for a write and a sync, the kernel prints syscall_denied
  // naming the call, and nothing of it reaches a grid file.
  assert.is((await ok('nogrid', writeReq(1, 1))).readInt32LE(0), abi.SYS_E_DENIED);
  assert.is((await ok('nogrid', Buffer.from([OP.sync]))).readInt32LE(0), abi.SYS_E_DENIED);
  assert.ok(lines.some((l) => l.event === 'syscall_denied' && l.service === 'nogrid' && l.call === 'storage'));
  assert.is(existsSync(join(dir, 'data', gridFileName('nogrid'))), false);
});

test('a fault while blocks are delivered aborts the request that waited; the service goes on', async () => {
  // Proves the two faults in the middle of a wait: trapping on a delivered
  // block aborts the waiting request (the client gets FRAME_E_FAULT, not
  // silence) and trapping right after asking does too; in both the kernel
  // drops what is still in flight and the next read gets every block, and
  // other services were never held up for good.
  const trapBlock = await client.request('probe', readReq([4, 5], FLAG.trapOnBlock), 30_000);
  assert.is(trapBlock.status, abi.FRAME_E_FAULT, trapBlock.payload.toString());
  const trapAsk = await client.request('probe', readReq([9, 1000], FLAG.trapAfterAsking), 30_000);
  assert.is(trapAsk.status, abi.FRAME_E_FAULT, trapAsk.payload.toString());
  assert.is((await ok('echo', Buffer.from('still here'))).toString(), 'still here');
  const r = parseRead(await ok('probe', readReq([5, 9, 4])));
  assert.equal(r.blocks.map((b) => b.finger), [fingerprint(pattern(50)), fingerprint(pattern(90)), fingerprint(pattern(40))]);
  assert.is(Number(machine.kernel.x.service_restarts(0)), 2);
});

test('a restart replays the log into a fresh grid; a replay writes a scratch grid and reaches the same state', async () => {
  // Proves the grid is state rebuilt from the log (docs/storage.md, stage 1):
  // after a stop, a live boot empties grid-probe.qxg and replays every
  // request, so the same blocks read back; a replay boot reaches the live
  // machine's state hash without touching the live grid file.
  const liveHash = machine.stateHash();
  client.close();
  await machine.stop();
  const gridPath = join(dir, 'data', gridFileName('probe'));
  const liveGrid = readFileSync(gridPath);
  const replay = await boot('replay');
  assert.is(replay.stateHash(), liveHash, 'replay reaches the live state');
  await replay.stop();
  assert.ok(readFileSync(gridPath).equals(liveGrid), 'the replay left the live grid alone');
  lines = [];
  machine = await boot();
  assert.is(machine.stateHash(), liveHash, 'a restart reaches the same state');
  assert.is(statSync(gridPath).size >= 10 * BLOCK, true);
  client = await FrameClient.connect('127.0.0.1', (await machine.listen('127.0.0.1', 0)).port);
  const r = parseRead(await ok('probe', readReq([4, 9, 131])));
  assert.equal(r.blocks.map((b) => b.finger), [fingerprint(pattern(40)), fingerprint(pattern(90)), fingerprint(pattern(31))]);
});

test('the state hash skips the block cache a service exports (qx_cache_area, qx_cache_bytes)', async () => {
  // Proves host/services.ts stateDigest: gridprobe names its cache arrays as
  // its block cache; bytes changed there (as a colder or warmer cache would
  // leave them) do not change the machine's state hash, the same change one
  // byte past the region does, and undoing it restores the hash.
  const svc = machine.services.find((s) => s.name === 'probe')!;
  const cache = svc.cacheArea();
  assert.ok(cache !== null && cache.bytes > 0, 'gridprobe exports its cache region');
  const mem = svc.memoryBytes();
  const before = machine.stateHash();
  const inside = Buffer.from(mem.subarray(cache!.area, cache!.area + cache!.bytes));
  mem.fill(0xa5, cache!.area, cache!.area + cache!.bytes);
  assert.is(machine.stateHash(), before, 'the cache\'s bytes are not state');
  const past = cache!.area + cache!.bytes;
  const kept = mem[past];
  mem[past] = kept ^ 0xff;
  assert.is.not(machine.stateHash(), before, 'a byte past the region is');
  mem[past] = kept;
  mem.set(inside, cache!.area);
  assert.is(machine.stateHash(), before);
});

test('a read without a log entry asks for blocks and is answered once they are in; the state and the log stay as they were', async () => {
  // Proves the prefetch step for reads (kernel/storage.ts CONTEXT_READ): a
  // FRAME_F_READ whose blocks are not cached is answered, after the kernel
  // delivered them, with the fingerprints of the blocks written; nothing was
  // logged for it and the machine's state hash is the one before it (the
  // blocks went into the cache, which is not state). A read may not write or
  // sync (E_CONTEXT), and a read that traps after asking is answered
  // FRAME_E_FAULT, its blocks dropped, the next read still answered.
  const entries = machine.entriesApplied();
  const hash = machine.stateHash();
  const read = await client.request('probe', readReq([9, 4, 5], 8), 30_000, abi.FRAME_F_READ);
  assert.is(read.status, abi.FRAME_OK, read.payload.toString());
  const r = parseRead(read.payload);
  assert.is(r.inner, abi.SYS_E_CONTEXT, 'a read may not write or sync');
  assert.equal(r.blocks.map((b) => [b.address, b.status, b.finger]),
    [[9n, 0, fingerprint(pattern(90))], [4n, 0, fingerprint(pattern(40))], [5n, 0, fingerprint(pattern(50))]]);
  assert.is(machine.entriesApplied(), entries, 'a read logs nothing');
  assert.is(machine.stateHash(), hash, 'the blocks a read brought in are cache, not state');
  const trapped = await client.request('probe', readReq([100, 101], 4), 30_000, abi.FRAME_F_READ);
  assert.is(trapped.status, abi.FRAME_E_FAULT, trapped.payload.toString());
  const again = parseRead((await client.request('probe', readReq([101, 9]), 30_000, abi.FRAME_F_READ)).payload);
  assert.equal(again.blocks.map((b) => b.finger), [fingerprint(pattern(1)), fingerprint(pattern(90))]);
  assert.is(machine.entriesApplied(), entries);
});

test('a service that finds its grid corrupt stops the machine, naming the block', async () => {
  // Proves STORAGE_CORRUPT (hal/devices/grid.ts): the kernel stops the
  // machine after the message (storage_failed, device grid, the service's
  // text in the message), takes no more work, and the machine halts failed.
  const report = Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('storage_corrupt: block 7 of tree probe, level 0, checksum mismatch')]);
  const r = await client.request('probe', report, 30_000);
  assert.is(r.status, abi.FRAME_OK);
  const halt = await machine.whenHalted();
  assert.is(halt.state, abi.KSTATE_FAILED);
  const line = lines.find((l) => l.event === 'storage_failed' && l.device === 'grid');
  assert.ok(line !== undefined && /storage_corrupt: block 7 of tree probe/.test(String(line.message)), JSON.stringify(line));
});

test('a manifest that gives "storage" without room for a block in a message is refused', () => {
  // Proves the host checks the relation before an image is built: a block
  // and its header travel in one message.
  assert.throws(() => validateManifest({
    name: 'small', version: 1, kernel: { ...kernel, message_bytes_max: 65536 },
    services: [{ name: 'probe', module: 'gridprobe', priority: 0, budget: 16, memory_pages_max: 16, caps: ['storage'] }],
  }), (e: unknown) => e instanceof ManifestError && /capability "storage" needs kernel.message_bytes_max >= 65552/.test((e as Error).message));
});

test.run();
