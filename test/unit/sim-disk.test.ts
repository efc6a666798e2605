// The simulated disk (host/sim/disk.ts) as the simulator's machines see it:
// several files, and names that are durable only after a directory sync.
// Proves, over many crash seeds:
//   - data a file sync completed and names a directory sync covered survive
//     every crash, byte for byte;
//   - unsynced writes may be lost, and unsynced name changes survive as a
//     prefix of their order (never a later change without the earlier ones),
//     with both outcomes (kept, lost) reached;
//   - a read-only view refuses to write, rename, remove or sync names, and
//     a missing file cannot be opened without `create`;
//   - files grow and shrink: the size a reader sees, zeros past a truncation.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimDisk, type DiskFaults } from '../../host/sim/disk.ts';
import { Prng } from '../../host/sim/prng.ts';

const FAULTS: DiskFaults = {
  latencyNsMin: 1n, latencyNsMax: 10n, loseUnsyncedSector: 0.5, tornSector: 0.3, flipOnWrite: 0.2, ackBeforeFlush: false,
};

// A disk whose delayed operations run when `drain` is called.
function disk(seed: number): { disk: SimDisk; drain: () => void } {
  const queue: (() => void)[] = [];
  const d = new SimDisk(new Prng(seed), { after: (_ns, _what, run) => queue.push(run) }, FAULTS);
  return { disk: d, drain: () => { while (queue.length > 0) queue.shift()!(); } };
}

function bytes(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

function read(d: SimDisk, path: string): Uint8Array {
  const h = d.open(path, { readOnly: true });
  const out = new Uint8Array(h.size());
  h.readAt(0, out);
  h.close();
  return out;
}

test('synced data and synced names survive every crash', async () => {
  for (let seed = 1; seed <= 50; seed++) {
    const { disk: d, drain } = disk(seed);
    const h = d.open('dir/a.tmp', { readOnly: false, create: true });
    const data = bytes(3000, 7);
    const done = h.writeDurable(0, data);
    drain();
    await done;
    d.rename('dir/a.tmp', 'dir/a');
    d.syncNames();
    h.writeAt(3000, bytes(600, 9)); // never synced
    d.crash();
    assert.equal(d.list('dir'), ['a'], `seed ${seed}: the synced rename`);
    const got = read(d, 'dir/a');
    assert.ok(got.length >= 3000, `seed ${seed}: ${got.length} bytes`);
    assert.equal(got.subarray(0, 3000), data, `seed ${seed}: synced bytes`);
  }
});

test('unsynced writes may be lost; unsynced name changes survive as a prefix of their order', () => {
  const outcomes = new Set<string>();
  let lostData = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const { disk: d } = disk(seed);
    d.open('dir/x', { readOnly: false, create: true }).close();
    d.syncNames();
    const h = d.open('dir/x', { readOnly: false });
    h.writeAt(0, bytes(4096, 1));
    // Three changes in order: create y, rename x -> z, remove y.
    d.open('dir/y', { readOnly: false, create: true }).close();
    d.rename('dir/x', 'dir/z');
    d.remove('dir/y');
    assert.equal(d.list('dir'), ['z'], 'the cache sees every change at once');
    d.crash();
    const names = d.list('dir').join(',');
    const prefixes = ['x', 'x,y', 'y,z', 'z'];
    assert.ok(prefixes.includes(names), `seed ${seed}: names ${names} are not a prefix of the changes`);
    outcomes.add(names);
    const file = names.includes('z') ? 'dir/z' : 'dir/x';
    if (read(d, file).length < 4096 || read(d, file).some((b) => b !== 1)) lostData++;
  }
  assert.equal([...outcomes].sort(), ['x', 'x,y', 'y,z', 'z'], 'every prefix is reached');
  assert.ok(lostData > 0, 'some unsynced data was lost');
});

test('a read-only view refuses to change anything; missing files need create', () => {
  const { disk: d } = disk(1);
  assert.throws(() => d.open('dir/none', { readOnly: false }), /no such file/);
  assert.throws(() => d.open('dir/none', { readOnly: true, create: true }), /no such file/);
  d.open('dir/f', { readOnly: false, create: true }).close();
  const ro = d.directory('dir', true);
  assert.equal(ro.names(), ['f']);
  assert.throws(() => ro.rename('f', 'g'), /read-only/);
  assert.throws(() => ro.remove('f'), /read-only/);
  assert.throws(() => ro.sync(), /read-only/);
  const h = ro.open('f', { create: false, lock: false, readOnly: false });
  assert.throws(() => h.writeAt(0, bytes(1, 1)), /readOnly/);
});

test('files grow and shrink: sizes and zeros past a truncation', async () => {
  const { disk: d, drain } = disk(3);
  const h = d.open('f', { readOnly: false, create: true });
  h.writeAt(0, bytes(10_000, 5));
  assert.equal(h.size(), 10_000);
  const cut = h.truncate(100);
  drain();
  await cut;
  assert.equal(h.size(), 100);
  h.writeAt(200, bytes(10, 6));
  const got = read(d, 'f');
  assert.equal(got.length, 210);
  assert.ok(got.subarray(0, 100).every((b) => b === 5) && got.subarray(100, 200).every((b) => b === 0) && got.subarray(200).every((b) => b === 6));
});

test.run();
