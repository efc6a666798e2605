// host/audit/merkle.ts: RFC 6962 / RFC 9162 Merkle trees over SHA-256.
//
//   leaf hash  SHA-256(0x00 ‖ data)
//   node hash  SHA-256(0x01 ‖ left ‖ right)
//   MTH({})    SHA-256()            the empty tree
//   MTH(D[n])  for n > 1: k = the largest power of two below n,
//              MTH(D[0:k]) and MTH(D[k:n]) joined by a node hash
//
// Building (roots, inclusion proofs, consistency proofs) works on the list
// of leaf hashes (RFC 6962 §2.1, PATH and PROOF/SUBPROOF). Verifying follows
// RFC 9162 §2.1.3.2 and §2.1.4.2 and needs only hashes, so a third party
// with a proof and a signed root can check it. Every verify function
// returns null when the proof holds and a short reason when it does not.

import { createHash } from 'node:crypto';

export const HASH_BYTES = 32;

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(LEAF, data);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE, left, right);
}

export const EMPTY_ROOT = sha256();

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/** The largest power of two strictly below n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaves[lo, hi). */
function subtreeRoot(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[lo];
  const k = split(n);
  return nodeHash(subtreeRoot(leaves, lo, lo + k), subtreeRoot(leaves, lo + k, hi));
}

/** The root of the tree whose leaf hashes are `leaves` (first `size` of them). */
export function treeRoot(leaves: readonly Uint8Array[], size = leaves.length): Uint8Array {
  checkSize(size, leaves.length);
  return subtreeRoot(leaves, 0, size);
}

function checkSize(size: number, available: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > available) {
    throw new RangeError(`tree size ${size} is not between 0 and ${available}`);
  }
}

/** The audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962 PATH). */
export function inclusionProof(leaves: readonly Uint8Array[], index: number, size = leaves.length): Uint8Array[] {
  checkSize(size, leaves.length);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path: Uint8Array[] = [];
  let lo = 0;
  let hi = size;
  let m = index;
  // Iterative PATH: collect siblings from the root down, then reverse.
  while (hi - lo > 1) {
    const k = split(hi - lo);
    if (m < k) {
      path.push(subtreeRoot(leaves, lo + k, hi));
      hi = lo + k;
    } else {
      path.push(subtreeRoot(leaves, lo, lo + k));
      lo += k;
      m -= k;
    }
  }
  return path.reverse();
}

/** The consistency proof from the tree of `size1` leaves to that of `size2` (RFC 6962 PROOF). */
export function consistencyProof(leaves: readonly Uint8Array[], size1: number, size2 = leaves.length): Uint8Array[] {
  checkSize(size2, leaves.length);
  if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > size2) throw new RangeError(`size ${size1} is not between 0 and ${size2}`);
  if (size1 === size2) return [];
  const out: Uint8Array[] = [];
  const sub = (m: number, lo: number, hi: number, whole: boolean): void => {
    const n = hi - lo;
    if (m === n) {
      if (!whole) out.push(subtreeRoot(leaves, lo, hi));
      return;
    }
    const k = split(n);
    if (m <= k) {
      sub(m, lo, lo + k, whole);
      out.push(subtreeRoot(leaves, lo + k, hi));
    } else {
      sub(m - k, lo + k, hi, false);
      out.push(subtreeRoot(leaves, lo, lo + k));
    }
  };
  sub(size1, 0, size2, true);
  return out;
}

function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === HASH_BYTES;
}

/** RFC 9162 §2.1.3.2: null if `leaf` is leaf `index` of the tree of `size` with `root`. */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): string | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || size < 0) return 'index and size must be non-negative integers';
  if (index >= size) return `leaf index ${index} is not below tree size ${size}`;
  if (!isHash(leaf) || !isHash(root) || !proof.every(isHash)) return 'hashes must be 32 bytes';
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return 'proof is longer than the path';
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return 'proof is shorter than the path';
  return equal(r, root) ? null : 'computed root does not match';
}

/** RFC 9162 §2.1.4.2: null if the tree of `size2` with `root2` extends the tree of `size1` with `root1`. */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): string | null {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < 0) return 'sizes must be non-negative integers';
  if (size2 < size1) return `size2 ${size2} is below size1 ${size1}`;
  // Like transparency-dev: consistency with the empty tree proves nothing and is refused.
  if (size1 === 0) return 'size1 is 0: consistency with the empty tree is meaningless';
  if (size1 === size2) {
    if (proof.length !== 0) return 'equal sizes need an empty proof';
    return equal(root1, root2) ? null : 'equal sizes with different roots';
  }
  if (!isHash(root1) || !isHash(root2) || !proof.every(isHash)) return 'hashes must be 32 bytes';
  if (proof.length === 0) return 'empty proof';
  const path = [...proof];
  let fn = BigInt(size1 - 1);
  let sn = BigInt(size2 - 1);
  if ((BigInt(size1) & (BigInt(size1) - 1n)) === 0n) path.unshift(root1); // size1 is a power of two
  while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return 'proof is longer than needed';
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return 'proof is shorter than needed';
  if (!equal(fr, root1)) return 'proof does not lead to root1';
  if (!equal(sr, root2)) return 'proof does not lead to root2';
  return null;
}
