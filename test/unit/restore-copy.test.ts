// copySparse (host/services.ts), the copy a service's restore point is made
// with. Proves: the copy is byte for byte the memory it was taken of, also
// when the same copy is taken again after chunks went from data to zeros and
// back, and with a last chunk shorter than the others; and the chunks left
// unwritten are exactly the memory's zero chunks, so a memory mostly never
// written costs a copy of what it uses only.
//
// Run: node --import tsx test/unit/restore-copy.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copySparse } from '../../host/services.ts';

const CHUNK = 64 * 1024;

test('the sparse copy equals its source, taken again over an older copy, with a short last chunk', () => {
  const size = 5 * CHUNK + 1000;
  const memory = new Uint8Array(size);
  const copy = new Uint8Array(size);
  const written = new Uint8Array(Math.ceil(size / CHUNK));
  memory[3] = 1;
  memory[2 * CHUNK + 7] = 2;
  memory[size - 1] = 3;
  copySparse(memory, copy, written);
  assert.equal(Buffer.compare(copy, memory), 0, 'first copy');
  assert.equal([...written], [1, 0, 1, 0, 0, 1], 'only the chunks with data were written');
  // Chunk 0 goes back to zeros, chunk 4 gets data: the copy follows both ways.
  memory[3] = 0;
  memory[4 * CHUNK + 9] = 4;
  copySparse(memory, copy, written);
  assert.equal(Buffer.compare(copy, memory), 0, 'second copy');
  assert.equal([...written], [0, 0, 1, 0, 1, 1]);
});

test('sizes that differ are refused', () => {
  assert.throws(() => copySparse(new Uint8Array(CHUNK), new Uint8Array(CHUNK + 1), new Uint8Array(2)), /sizes differ/);
});

test.run();
