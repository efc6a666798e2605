// A follower's machine without NATS (host/cluster/node.ts's side of
// host/devices/block.ts LogReplication, played by the test): the kernel
// recovers a log that grows one batch at a time (kernel_follow), applies
// each batch as soon as it is there, refuses a damaged one, and goes live
// only when told to lead; its first batch as leader is appended to the
// "stream" before it is written locally.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { Machine, LOG_FILE } from '../../host/machine.ts';
import { parseImage } from '../../host/image.ts';
import type { BlockBackend } from '../../host/devices/block-backend.ts';
import type { ClusterStats } from '../../host/metrics.ts';
import { localBatches, type LocalBatch } from '../../host/cluster/seed.ts';
import { ENTRY_BYTES_MAX, ENTRY_HEADER_BYTES, ENTRY_SEQ, ENTRY_TOTAL } from '../../hal/log.ts';
import { entryPadded } from '../../host/base/log-entry.ts';
import { gatewayRequest, GATEWAY_SERVICE } from '../../host/gateway/gateway-wire.ts';
import { apiKeyHash, keyCreateBody } from '../../host/gateway/keys-json.ts';
import { bankManifest, makeImage, removeDir, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let dir = '';
let batches: LocalBatch[] = [];
let leaderHash = '';
let leaderEntries = 0;

/** The stream's side, played by the test: batches are fed in; appends are recorded. */
class FakeStream {
  end = 0;
  leading = false;
  log: BlockBackend | null = null;
  machine: Machine | null = null;
  readonly appended: { offset: number; bytes: Uint8Array }[] = [];
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  attach(machine: Machine, log: BlockBackend): void { this.machine = machine; this.log = log; }
  readLimit(): number | null { return this.leading ? null : this.end; }
  more(): Promise<void> { return this.leading ? Promise.resolve() : new Promise((resolve, reject) => this.waiters.push({ resolve, reject })); }
  async append(offset: number, data: Uint8Array, writeLocal: () => Promise<void>): Promise<void> {
    this.appended.push({ offset, bytes: Uint8Array.from(data) });
    await writeLocal();
  }
  stats(): ClusterStats { return { term: 1, failovers: 0, seq: 0, stalled: false, lag: {} }; }
  refusal(): string | null { return null; }
  snapshotWritten(): void {}
  async feed(b: LocalBatch): Promise<void> {
    await this.log!.writeDurable(b.offset, b.bytes);
    this.end = b.offset + b.bytes.length;
    for (const w of this.waiters.splice(0)) w.resolve();
  }
  lead(): void {
    this.leading = true;
    for (const w of this.waiters.splice(0)) w.resolve();
  }
}

function options(data: string, cluster?: FakeStream) {
  return { image: parseImage(img.bytes), imageBytes: img.bytes, dataDir: data, mode: 'live' as const, onLine: () => {}, ...(cluster ? { cluster } : {}) };
}

/** Entries in the batches (each entry's length from its header). */
function entriesIn(bs: LocalBatch[]): number {
  let n = 0;
  for (const b of bs) {
    const dv = new DataView(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength);
    for (let at = 0; at < b.bytes.length; n++) at += entryPadded(dv.getUint32(at + ENTRY_TOTAL, true));
  }
  return n;
}

async function until(what: string, f: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 20 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test.before(async () => {
  img = makeImage('cluster-follow', bankManifest());
  dir = mkdtempSync(join(tmpdir(), 'qenex-follow-'));
  // The leader's log: a few batches (keys made through the console, one request each).
  const leader = await Machine.boot(options(join(dir, 'leader')));
  for (let i = 0; i < 4; i++) {
    const body = keyCreateBody({ role: gw.ROLE_OPERATOR, ledgers: [], ratePerSecond: 0, burst: 0 }, apiKeyHash(`qx_follow_test_key_${i}`));
    const r = await leader.net!.inject(GATEWAY_SERVICE, gatewayRequest(gw.ROUTE_KEYS_CREATE, gw.AUTH_CONSOLE, null, Buffer.alloc(gw.GW_SOURCE_BYTES), body));
    assert.is(r.status, abi.FRAME_OK);
  }
  await leader.stop();
  leaderHash = leader.stateHash();
  leaderEntries = leader.entriesApplied();
  const bytes = new Uint8Array(readFileSync(join(dir, 'leader', LOG_FILE)));
  const reader = { readAt: (off: number, into: Uint8Array) => { const part = bytes.subarray(off, off + into.length); into.set(part); return part.length; } };
  batches = [...localBatches(reader as unknown as BlockBackend, ENTRY_BYTES_MAX)];
  assert.ok(batches.length >= 5, `the leader wrote ${batches.length} batches`);
});

test.after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  if (img !== undefined) removeDir(img.dir);
});

test('a follower applies each batch as it arrives, reaches the leader\'s state hash, and leads only when told', async () => {
  // Proves: after each batch fed, the follower's kernel has applied exactly
  // the entries fed so far (no batch waits for the next one); at the end its
  // state hash is the leader's; it is ready only after lead(); its first
  // write as leader goes to the stream first, at the log's end, and is then
  // durable in its own log.
  const stream = new FakeStream();
  let ready = false;
  const booting = Machine.boot(options(join(dir, 'follower'), stream)).then((m) => { ready = true; return m; });
  await until('attach', () => stream.machine !== null);
  for (let i = 0; i < batches.length; i++) {
    await stream.feed(batches[i]);
    const want = entriesIn(batches.slice(0, i + 1));
    await until(`batch ${i} applied`, () => stream.machine!.entriesApplied() === want);
  }
  assert.is(stream.machine!.entriesApplied(), leaderEntries);
  await until('the machine rests', () => !stream.machine!.busy());
  assert.is(stream.machine!.stateHash(), leaderHash);
  await new Promise((r) => setTimeout(r, 100));
  assert.not.ok(ready, 'a follower is not ready before it leads');
  stream.lead();
  const m = await booting;
  assert.is(m.entriesApplied() >= leaderEntries, true);
  const end = stream.end;
  const r = await m.net!.inject(GATEWAY_SERVICE, gatewayRequest(gw.ROUTE_KEYS_CREATE, gw.AUTH_CONSOLE, null, Buffer.alloc(gw.GW_SOURCE_BYTES),
    keyCreateBody({ role: gw.ROLE_OPERATOR, ledgers: [], ratePerSecond: 0, burst: 0 }, apiKeyHash('qx_follow_test_key_new'))));
  assert.is(r.status, abi.FRAME_OK);
  assert.ok(stream.appended.length > 0, 'answered only after the stream took the batch');
  assert.is(stream.appended[0].offset, end, 'the first batch as leader starts where the replicated log ended');
  assert.ok(stream.appended[0].bytes.length >= ENTRY_HEADER_BYTES);
  await m.stop();
  const local = new Uint8Array(readFileSync(join(dir, 'follower', LOG_FILE)));
  assert.equal(local.subarray(end, end + stream.appended[0].bytes.length), stream.appended[0].bytes, 'written locally after the stream took it');
});

test('a damaged batch from the stream is refused, never applied', async () => {
  // Proves: a byte flipped in a fed batch (CRC no longer right) stops the
  // follower's boot with the kernel's corruption error, with the entries
  // before it applied and none of the damaged batch.
  const stream = new FakeStream();
  const booting = Machine.boot(options(join(dir, 'damaged'), stream));
  const failed = booting.then(() => null, (e: Error) => e);
  await until('attach', () => stream.machine !== null);
  await stream.feed(batches[0]);
  await until('batch 0 applied', () => stream.machine!.entriesApplied() === entriesIn(batches.slice(0, 1)));
  const bad = { offset: batches[1].offset, bytes: Uint8Array.from(batches[1].bytes) };
  bad.bytes[ENTRY_SEQ] ^= 0x40; // in the first entry's header, which its CRC covers
  await stream.feed(bad);
  const e = await failed;
  assert.ok(e !== null, 'boot failed');
  assert.match(e!.message, /a replicated entry is not valid: checksum mismatch/);
  assert.is(stream.machine!.entriesApplied(), entriesIn(batches.slice(0, 1)));
});

test.run();
