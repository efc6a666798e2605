// test/unit/payments-archive.test.ts: the originals archive
// (host/payments/archive.ts): what is put is got back by its SHA-256 after a
// reopen; the same bytes are kept once; a record torn by a crash (cut short,
// or its bytes not what its digest says) is cut off at open and the records
// before it stay; bytes damaged in place are never served.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, truncateSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBlockBackend } from '../../host/devices/block-backend.ts';
import { OriginalsArchive, ORIGINALS_FILE } from '../../host/payments/archive.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
const open = (dir: string, notices: string[] = []) =>
  new OriginalsArchive(openBlockBackend(join(dir, ORIGINALS_FILE), { create: true, lock: true, readOnly: false, backend: 'pure' }), (l) => notices.push(l));

test('originals come back by digest after a reopen, each kept once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qx-archive-'));
  try {
    const a = open(dir);
    const one = Buffer.from('<Document>one</Document>');
    const two = Buffer.from('{"amount":"1.00"}');
    a.put(one);
    a.put(two);
    a.put(one);
    assert.is(a.size, 2, 'the same bytes are one record');
    assert.equal(a.get(sha(two)), two);
    assert.is(a.get(sha(Buffer.from('never put'))), null);
    const size = statSync(join(dir, ORIGINALS_FILE)).size;
    await a.close();
    const b = open(dir);
    assert.is(b.size, 2);
    assert.equal(b.get(sha(one)), one);
    assert.equal(b.get(sha(two)), two);
    assert.is(statSync(join(dir, ORIGINALS_FILE)).size, size, 'nothing cut from whole records');
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn last record is cut off at open; bytes damaged in place are not served', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qx-archive-'));
  const path = join(dir, ORIGINALS_FILE);
  try {
    const a = open(dir);
    const kept = Buffer.from('kept '.repeat(40));
    const torn = Buffer.from('torn '.repeat(40));
    a.put(kept);
    a.put(torn);
    await a.close();
    truncateSync(path, statSync(path).size - 20); // the crash cut the last record short
    const notices: string[] = [];
    const b = open(dir, notices);
    assert.is(b.size, 1);
    assert.equal(b.get(sha(kept)), kept);
    assert.is(b.get(sha(torn)), null);
    assert.is(notices.length, 1, 'the cut is told');
    b.put(torn); // written again after the good record
    await b.close();
    // A bit flipped in the last record's bytes: its digest no longer matches, so it is cut too.
    const bytes = readFileSync(path);
    bytes[bytes.length - 50] ^= 1;
    writeFileSync(path, bytes);
    const c = open(dir);
    assert.is(c.get(sha(torn)), null);
    assert.equal(c.get(sha(kept)), kept);
    await c.close();
    // Damage to the bytes of the record left: never served.
    const again = readFileSync(path);
    again[45] ^= 1;
    writeFileSync(path, again);
    const d = open(dir);
    assert.is(d.get(sha(kept)), null, 'bytes that do not hash to their digest are not served');
    await d.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
