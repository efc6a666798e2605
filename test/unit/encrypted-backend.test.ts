// test/unit/encrypted-backend.test.ts: the encrypted block backend
// (host/devices/encrypted-backend.ts) keeps the plain backends' contract,
// keeps plaintext off the disk, and fails safe on damage.
//
// No HSM here: the data key is random bytes (host/datakey.ts and
// test/integration/encryption.test.ts cover the HSM side).
//
// Run: node --import tsx test/unit/encrypted-backend.test.ts

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { nativeAddonStatus, openBlockBackend, type BlockBackend, type BlockOpenOptions } from '../../host/devices/block-backend.ts';
import { SnapshotStore } from '../../host/snapshot.ts';
import {
  DataCipher, EncryptedBackend, FILE_HEADER_BYTES, PAIR_BYTES, RECORD_BYTES, SECTOR_BYTES,
} from '../../host/devices/encrypted-backend.ts';
import { aeadFor, aeadTs } from '../../host/devices/aead.ts';

const WRITER = { create: true, lock: false, readOnly: false, backend: 'pure' } as const;
// The differential test runs over both inner backends when the addon is built.
const KINDS = nativeAddonStatus().available ? (['pure', 'native'] as const) : (['pure'] as const);
const READER = { create: false, lock: false, readOnly: true, backend: 'pure' } as const;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'qenex-enc-'));
}

function openSealed(file: string, cipher: DataCipher, opts: Partial<BlockOpenOptions> = {}, notices: string[] = []): EncryptedBackend {
  return openBlockBackend(file, { ...WRITER, layer: cipher, notice: (l) => notices.push(l), ...opts }) as EncryptedBackend;
}

function readAll(b: BlockBackend): Uint8Array {
  const out = new Uint8Array(b.size());
  assert.is(b.readAt(0, out), out.length);
  return out;
}

function recordAt(sector: number, slot: number): number {
  return FILE_HEADER_BYTES + sector * PAIR_BYTES + slot * RECORD_BYTES;
}

function version(file: string, sector: number, slot: number): bigint {
  const b = fs.readFileSync(file);
  const at = recordAt(sector, slot);
  if (at + RECORD_BYTES > b.length || b.subarray(at, at + RECORD_BYTES).every((x) => x === 0)) return -1n;
  return b.readBigUInt64LE(at + 12);
}

function flip(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  const one = Buffer.alloc(1);
  fs.readSync(fd, one, 0, 1, offset);
  one[0] ^= 0x41;
  fs.writeSync(fd, one, 0, 1, offset);
  fs.closeSync(fd);
}

// ---- the contract, differentially ----

type Op =
  | { op: 'write'; at: number; bytes: number[]; durable: boolean }
  | { op: 'fill'; at: number; length: number; value: number }
  | { op: 'truncate'; length: number }
  | { op: 'preallocate'; length: number }
  | { op: 'read'; at: number; length: number }
  | { op: 'reopen' };

const SPAN = 5 * SECTOR_BYTES;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('write' as const), at: fc.nat(SPAN), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 2 * SECTOR_BYTES + 7 }), durable: fc.boolean() }),
  // Spans more sectors than one read-ahead (64 record pairs) covers.
  fc.record({ op: fc.constant('fill' as const), at: fc.nat(SPAN), length: fc.nat(80 * SECTOR_BYTES), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), length: fc.nat(SPAN) }),
  fc.record({ op: fc.constant('preallocate' as const), length: fc.nat(SPAN) }),
  fc.record({ op: fc.constant('read' as const), at: fc.nat(SPAN + 100), length: fc.nat(3 * SECTOR_BYTES) }),
  fc.constant({ op: 'reopen' as const }),
);

for (const kind of KINDS) test(`random operation sequences: the encrypted backend (over ${kind}) reads exactly what the plain one does`, async () => {
  // Proves the wrapper's semantics equal the plain backend's, including
  // partial-sector writes (read-modify-write), writes past the end (zero
  // gaps), truncate down and up, preallocate, empty writes, and reopening
  // (the size comes back from the records alone). Each reopen switches the
  // AES-GCM implementation (node:crypto's, the addon's when built), so a
  // file written by either reads the same through the other.
  const key = randomBytes(32);
  const ciphers = [new DataCipher(key, undefined, aeadTs), new DataCipher(key, undefined, aeadFor())];
  let cipher = ciphers[0];
  await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 25 }), async (ops) => {
    const dir = tempDir();
    try {
      const plain = openBlockBackend(path.join(dir, 'plain'), WRITER);
      let sealed: BlockBackend = openSealed(path.join(dir, 'sealed'), cipher, { backend: kind });
      for (const o of ops) {
        if (o.op === 'write') {
          const data = Uint8Array.from(o.bytes);
          if (o.durable) { await plain.writeDurable(o.at, data); await sealed.writeDurable(o.at, data); }
          else { plain.writeAt(o.at, data); sealed.writeAt(o.at, data); }
        } else if (o.op === 'fill') {
          const data = new Uint8Array(o.length).fill(o.value);
          plain.writeAt(o.at, data); sealed.writeAt(o.at, data);
        } else if (o.op === 'truncate') {
          await plain.truncate(o.length); await sealed.truncate(o.length);
        } else if (o.op === 'preallocate') {
          await plain.preallocate(o.length); await sealed.preallocate(o.length);
        } else if (o.op === 'read') {
          const a = new Uint8Array(o.length).fill(0xcc);
          const b = new Uint8Array(o.length).fill(0xcc);
          assert.is(sealed.readAt(o.at, b), plain.readAt(o.at, a), 'read count');
          assert.equal(b, a, 'read bytes');
        } else {
          await sealed.sync();
          sealed.close();
          cipher = cipher === ciphers[0] ? ciphers[1] : ciphers[0];
          sealed = openSealed(path.join(dir, 'sealed'), cipher, { backend: kind });
        }
        assert.is(sealed.size(), plain.size(), `size after ${o.op}`);
      }
      assert.equal(readAll(sealed), readAll(plain));
      sealed.close();
      const reader = openSealed(path.join(dir, 'sealed'), cipher, { ...READER, backend: kind });
      assert.equal(readAll(reader), readAll(plain), 'a read-only reopen sees the same bytes');
      reader.close();
      plain.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }), { numRuns: 80 });
});

test('bad arguments, read-only writes and use after close fail like the plain backend', async () => {
  // Proves the wrapper refuses the same calls with the same error codes.
  const dir = tempDir();
  try {
    const cipher = new DataCipher(randomBytes(32));
    const b = openSealed(path.join(dir, 'f'), cipher);
    const code = (f: () => unknown) => { try { f(); } catch (e) { return (e as { code?: string }).code; } return 'none'; };
    assert.is(code(() => b.readAt(-1, new Uint8Array(1))), 'ERR_INVALID_ARG_VALUE');
    assert.is(code(() => b.writeAt(1.5, new Uint8Array(1))), 'ERR_INVALID_ARG_VALUE');
    assert.is(code(() => b.writeAt(0, [1] as unknown as Uint8Array)), 'ERR_INVALID_ARG_TYPE');
    await b.writeDurable(0, new Uint8Array([1, 2, 3]));
    b.close();
    assert.is(code(() => b.size()), 'ECLOSED');
    const r = openSealed(path.join(dir, 'f'), cipher, READER);
    assert.is(code(() => r.writeAt(0, new Uint8Array(1))), 'EBADF');
    assert.is((await r.truncate(0).catch((e) => e)).code, 'EBADF');
    r.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- confidentiality and keys ----

test('no plaintext on disk, and another data key is refused by name', async () => {
  // Proves the file holds no copy of a known payload, and that opening it
  // with a different data key is a clear error (EKEYMISMATCH), not garbage.
  const dir = tempDir();
  try {
    const file = path.join(dir, 'log.qxl');
    const payload = Buffer.from('PAYLOAD-acct-0042-transfer-999999-USD'.repeat(20));
    const b = openSealed(file, new DataCipher(randomBytes(32)));
    await b.writeDurable(100, payload);
    b.close();
    const raw = fs.readFileSync(file);
    assert.is(raw.indexOf(Buffer.from('PAYLOAD-acct')), -1, 'payload visible on disk');
    try {
      openSealed(file, new DataCipher(randomBytes(32)));
      assert.unreachable('opened with another key');
    } catch (e) {
      assert.is((e as { code?: string }).code, 'EKEYMISMATCH');
      assert.match((e as Error).message, /encrypted under another data key/);
    }
    try {
      openSealed(path.join(dir, 'plainfile'), new DataCipher(randomBytes(32)), { create: true });
      fs.writeFileSync(path.join(dir, 'plain2'), 'not encrypted at all, a plain command log');
      openSealed(path.join(dir, 'plain2'), new DataCipher(randomBytes(32)), { create: false });
      assert.unreachable('opened a plain file as encrypted');
    } catch (e) {
      assert.is((e as { code?: string }).code, 'ENOTSEALED');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every rewrite of one sector takes a fresh nonce and alternates slots', async () => {
  // Proves no nonce repeats under the file key across 200 rewrites of the
  // same sector (read-modify-write appends), and that each write goes to the
  // slot not holding the newest version, with the version rising by one.
  const dir = tempDir();
  try {
    const file = path.join(dir, 'f');
    const b = openSealed(file, new DataCipher(randomBytes(32)));
    const nonces = new Set<string>();
    let lastSlot = -1;
    for (let i = 0; i < 200; i++) {
      await b.writeDurable(i * 8, Uint8Array.of(i, i, i, i, i, i, i, i));
      const raw = fs.readFileSync(file);
      const v0 = version(file, 0, 0);
      const v1 = version(file, 0, 1);
      const slot = v0 > v1 ? 0 : 1;
      assert.is.not(slot, lastSlot, 'the write went to the other slot');
      assert.is(v0 > v1 ? v0 : v1, BigInt(i + 1));
      lastSlot = slot;
      nonces.add(raw.subarray(recordAt(0, slot), recordAt(0, slot) + 12).toString('hex'));
    }
    assert.is(nonces.size, 200, 'a nonce was reused');
    b.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- crashes and damage ----

test('a torn rewrite of the last sector reads the previous version, not zeros', async () => {
  // Proves the two-slot rule: the sector that holds acknowledged bytes and
  // is being appended to survives a torn write of its newest record; the
  // torn bytes are simply absent (what recovery expects of a torn tail).
  const dir = tempDir();
  try {
    const file = path.join(dir, 'f');
    const cipher = new DataCipher(randomBytes(32));
    const b = openSealed(file, cipher);
    await b.writeDurable(0, new Uint8Array(1000).fill(7)); // acknowledged
    await b.writeDurable(1000, new Uint8Array(500).fill(9)); // in flight at the "crash"
    b.close();
    const newest = version(file, 0, 0) > version(file, 0, 1) ? 0 : 1;
    flip(file, recordAt(0, newest) + 24 + 1200); // tear it
    const notices: string[] = [];
    const r = openSealed(file, cipher, READER, notices);
    assert.is(r.size(), 1000, 'size of the previous version');
    assert.equal(readAll(r), new Uint8Array(1000).fill(7));
    assert.equal(r.damage(), [{ sector: 0, offsetBytes: 0, readAs: 'previous' }]);
    assert.match(notices.join('\n'), /sector 0 .* failed authentication .* previous version/);
    r.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn growth falls back to the old size; a damaged middle sector reads as zeros', async () => {
  // Proves: a record cut short at the end of the file (a crash while the
  // file grew) leaves the size it had; a sector with no authentic record
  // reads as zeros and is reported, so recovery sees the hole.
  const dir = tempDir();
  try {
    const file = path.join(dir, 'f');
    const cipher = new DataCipher(randomBytes(32));
    const b = openSealed(file, cipher);
    await b.writeDurable(0, new Uint8Array(3 * SECTOR_BYTES).fill(5));
    await b.writeDurable(3 * SECTOR_BYTES, new Uint8Array(100).fill(6));
    b.close();
    fs.truncateSync(file, recordAt(3, 0) + 50); // the last record torn mid-write
    const r = openSealed(file, cipher, READER);
    assert.is(r.size(), 3 * SECTOR_BYTES);
    r.close();
    flip(file, recordAt(1, 0) + 30); // sector 1 was written once: slot 0 only
    const notices: string[] = [];
    const r2 = openSealed(file, cipher, READER, notices);
    const bytes = readAll(r2);
    assert.ok(bytes.subarray(SECTOR_BYTES, 2 * SECTOR_BYTES).every((x) => x === 0), 'damaged sector reads as zeros');
    assert.ok(bytes.subarray(0, SECTOR_BYTES).every((x) => x === 5));
    assert.ok(bytes.subarray(2 * SECTOR_BYTES).every((x) => x === 5));
    assert.equal(r2.damage(), [
      { sector: 1, offsetBytes: SECTOR_BYTES, readAs: 'zeros' },
      { sector: 3, offsetBytes: 3 * SECTOR_BYTES, readAs: 'zeros' }, // the torn tail, found by the size scan
    ]);
    r2.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('records cannot be moved between sectors or slots', async () => {
  // Proves the AAD binds sector and slot: a valid record copied over
  // another sector's record, or into the other slot, does not authenticate
  // there, and scrub() names both.
  const dir = tempDir();
  try {
    const file = path.join(dir, 'f');
    const cipher = new DataCipher(randomBytes(32));
    const b = openSealed(file, cipher);
    await b.writeDurable(0, new Uint8Array(3 * SECTOR_BYTES).fill(1));
    b.close();
    const raw = fs.readFileSync(file);
    raw.copy(raw, recordAt(0, 0), recordAt(1, 0), recordAt(1, 0) + RECORD_BYTES); // sector 1's record over sector 0's
    raw.copy(raw, recordAt(1, 1), recordAt(1, 0), recordAt(1, 0) + RECORD_BYTES); // and into sector 1's other slot
    fs.writeFileSync(file, raw);
    const r = openSealed(file, cipher, READER);
    // Sector 0 has no authentic record; sector 1 still reads (slot 0) but
    // scrub finds the foreign copy in its unused slot.
    assert.equal(r.scrub().map((d) => [d.sector, d.readAs]), [[0, 'zeros'], [1, 'stale']]);
    assert.ok(readAll(r).subarray(0, SECTOR_BYTES).every((x) => x === 0));
    r.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a snapshot written through the sealing opener is sealed too', async () => {
  // Proves the path the machine gives its SnapshotStore (Machine.openDataFile:
  // openBlockBackend with the data directory's DataCipher) seals snapshot
  // files: no plaintext of the captured memory on disk, and the snapshot
  // format's own header comes back through the key.
  const dir = tempDir();
  try {
    const cipher = new DataCipher(randomBytes(32));
    const store = new SnapshotStore({ dataDir: dir, imageDigestHex: 'ab'.repeat(32), open: (p, o) => openBlockBackend(p, { ...o, layer: cipher }) });
    const memory = new Uint8Array(65536);
    memory.set(Buffer.from('SNAPSHOT-MARKER-0123456789'), 100);
    const written = await store.write(
      { entries: 5, logOffset: 1000, lastEntryOffset: 900, timeNs: 5n, batch: 4n, chain: new Uint8Array(32) },
      { kernel: { memory, globals: [1, 2n] }, services: [{ name: 'ledger', state: { memory, globals: [3] } }] },
    );
    const raw = fs.readFileSync(written.path);
    assert.is(raw.subarray(0, 8).toString('latin1'), 'QXSEAL01');
    assert.is(raw.indexOf(Buffer.from('SNAPSHOT-MARKER')), -1, 'snapshot memory on disk in plaintext');
    const r = openSealed(written.path, cipher, READER);
    const head = new Uint8Array(8);
    r.readAt(0, head);
    assert.is(Buffer.from(head).toString('latin1'), 'QXSNAP01');
    r.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
