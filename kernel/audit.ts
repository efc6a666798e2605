// kernel/audit.ts: the command log as an RFC 6962 / RFC 9162 Merkle tree,
// and the signed checkpoints that seal it.
//
// Entry seq is leaf seq; its leaf hash is SHA-256(0x00 ‖ entry bytes [8, 56)
// ‖ payload), computed once by kernel/log.ts for the hash chain too. The
// kernel keeps only the frontier: for each set bit of the tree size, the
// root of that perfect subtree (at most 64 hashes), so appending costs
// O(log n) node hashes (SHA-256(0x01 ‖ left ‖ right)) and the root is a fold
// of the frontier.
//
// Checkpoints: with a checkpoint interval (manifest audit.checkpoint_interval,
// given to the kernel by the host through audit_configure), once the tree
// has grown by that many leaves since the last checkpoint, the kernel
// snapshots a checkpoint body
//   +0  u64 tree size   leaves covered: entries 0 .. size-1
//   +8  u64 time        logical time (ns) of entry size-1
//   +16 [32] root       the Merkle root of those leaves
// and asks the host to sign it on the HSM ring (kernel/hsm.ts,
// OP_HSM_CHECKPOINT): auditTakeWanted() puts the body in the checkpoint
// buffer, the host (which never decides when) signs it with the HSM (ECDSA
// P-384) and ML-DSA-65 and writes body ‖ signature block over it, and the
// completion calls auditSigned(len). The kernel then logs that as an
// ENTRY_CHECKPOINT entry, which is durable like any other and changes no
// state. At most one checkpoint is in flight; a host that cannot sign
// answers with an error and the checkpoint is skipped (the host says so).
// A replay never asks.
// When a checkpoint entry is applied (live or replayed), kernel/apply.ts emits an
// EVT_CHECKPOINT event (the body and the entry's seq) on the event stream
// (drivers/events), so only checkpoints that reached the log are announced,
// with the same event ids on every replay.

import { sha256Init, sha256Update, sha256Final, SHA256_CTX_BYTES } from "../lib/sha256";

export const CHECKPOINT_BODY_BYTES: u32 = 48;
import { CHECKPOINT_BYTES_MAX } from "./base/constants";
export { CHECKPOINT_BYTES_MAX };
const LEVELS: u32 = 64;

const PENDING_NONE: u32 = 0;
const PENDING_WANTED: u32 = 1; // snapshot taken, the host has not picked it up
const PENDING_SIGNING: u32 = 2; // the host is signing
const PENDING_SIGNED: u32 = 3; // buffer holds the signed checkpoint, to be logged

const frontier: usize = memory.data(<i32>(LEVELS * 32), 16);
const hashCtx: usize = memory.data(<i32>SHA256_CTX_BYTES, 16);
const nodePrefix: usize = memory.data<u8>([1]);
const carry: usize = memory.data(32, 16);
const body: usize = memory.data(<i32>CHECKPOINT_BODY_BYTES, 16);

export let treeSize: u64 = 0;
let interval: u64 = 0; // 0: no checkpoints
let lastSealedSize: u64 = 0;
let armed: bool = false; // only a live, serving kernel asks for checkpoints
let pending: u32 = PENDING_NONE;
const buffer: usize = memory.data(<i32>CHECKPOINT_BYTES_MAX, 16);
const rootOut: usize = memory.data(32, 16);
let signedLen: u32 = 0;
export let checkpointsSkipped: u64 = 0;

// out = SHA-256(0x01 ‖ left ‖ right); out may alias left or right.
function nodeHash(left: usize, right: usize, out: usize): void {
  assert(left != 0 && right != 0 && out != 0, "nodeHash: both children and the output are in memory");
  sha256Init(hashCtx);
  sha256Update(hashCtx, nodePrefix, 1);
  sha256Update(hashCtx, left, 32);
  sha256Update(hashCtx, right, 32);
  sha256Final(hashCtx, out);
}

// Adds the next leaf (its leaf hash) to the tree.
export function auditAppend(leaf: usize, timeNs: u64): void {
  assert(leaf != 0 && lastSealedSize <= treeSize, "auditAppend: a leaf, on a tree at least as large as its last checkpoint");
  memory.copy(carry, leaf, 32);
  let size = treeSize;
  let level: u32 = 0;
  while ((size & 1) != 0) {
    nodeHash(frontier + <usize>level * 32, carry, carry);
    size >>= 1;
    level++;
  }
  assert(level < LEVELS, "audit tree deeper than 64 levels");
  memory.copy(frontier + <usize>level * 32, carry, 32);
  treeSize++;
  if (armed && interval > 0 && pending == PENDING_NONE && treeSize - lastSealedSize >= interval) {
    store<u64>(body, treeSize);
    store<u64>(body + 8, timeNs);
    auditRoot(body + 16);
    lastSealedSize = treeSize;
    pending = PENDING_WANTED;
  }
  assert(!armed || interval == 0 || pending != PENDING_NONE || treeSize - lastSealedSize < interval, "auditAppend: a due checkpoint is never missed");
}

// The Merkle root of the current tree into out (32 zero bytes hashed per
// RFC 6962 for the empty tree: SHA-256 of nothing).
export function auditRoot(out: usize): void {
  assert(out != 0, "auditRoot: output at address 0");
  if (treeSize == 0) {
    sha256Init(hashCtx);
    sha256Final(hashCtx, out);
    return;
  }
  let size = treeSize;
  let level: u32 = 0;
  while ((size & 1) == 0) { size >>= 1; level++; }
  memory.copy(out, frontier + <usize>level * 32, 32);
  size >>= 1;
  level++;
  while (size != 0) {
    if ((size & 1) != 0) nodeHash(frontier + <usize>level * 32, out, out);
    size >>= 1;
    level++;
  }
  assert(level <= LEVELS, "auditRoot: the frontier has at most 64 levels");
}

// The current root, in a static buffer (for the host and tests).
export function auditRootNow(): usize {
  auditRoot(rootOut);
  return rootOut;
}

// interval 0 disables checkpoints.
export function auditConfigure(everyEntries: u64): void {
  interval = everyEntries;
}

// Called when the kernel starts serving: checkpoints count from here.
export function auditArm(): void {
  if (armed) return;
  assert(pending == PENDING_NONE, "auditArm: no checkpoint is in flight before serving");
  armed = true;
  lastSealedSize = treeSize;
}

// After a snapshot restore (kernel/snapshot.ts): a checkpoint the old host
// was signing is dropped, and checkpoints count from when serving starts
// again, as after a boot without a snapshot.
export function auditRestoredReset(): void {
  assert(lastSealedSize <= treeSize, "auditRestoredReset: the restored tree covers its last checkpoint");
  armed = false;
  pending = PENDING_NONE;
}

// A signed checkpoint too large for one batch cannot be logged: skip it.
export function auditDrop(): void {
  assert(pending == PENDING_SIGNED, "auditDrop: only a signed checkpoint is dropped");
  pending = PENDING_NONE;
  checkpointsSkipped++;
}

// A due checkpoint, once: its body copied to the start of the checkpoint
// buffer, whose address is returned (the HSM request), else 0.
export function auditTakeWanted(): usize {
  if (pending != PENDING_WANTED) return 0;
  assert(armed && load<u64>(body) <= treeSize, "auditTakeWanted: a checkpoint of leaves in the tree, asked by a serving kernel");
  pending = PENDING_SIGNING;
  memory.copy(buffer, body, <usize>CHECKPOINT_BODY_BYTES);
  return buffer;
}

export function auditBuffer(): usize { return buffer; }

// The host wrote `len` bytes (body ‖ signatures) into the buffer; 0 = skip.
// The body must come back unchanged.
export function auditSigned(len: u32): bool {
  if (pending != PENDING_SIGNING) return false;
  if (len == 0 || len < CHECKPOINT_BODY_BYTES || len > CHECKPOINT_BYTES_MAX
      || memory.compare(buffer, body, <usize>CHECKPOINT_BODY_BYTES) != 0) {
    pending = PENDING_NONE;
    checkpointsSkipped++;
    return false;
  }
  signedLen = len;
  pending = PENDING_SIGNED;
  assert(signedLen >= CHECKPOINT_BODY_BYTES && signedLen <= CHECKPOINT_BYTES_MAX, "auditSigned: the signed checkpoint fits its buffer");
  return true;
}

// A checkpoint the host is signing or that waits to be logged: a clean stop
// waits for it (the host always answers, with an error when it cannot sign).
export function auditBusy(): bool { return pending == PENDING_SIGNING || pending == PENDING_SIGNED; }

// A signed checkpoint waiting to be logged: its length, else 0.
export function auditReadyBytes(): u32 {
  assert(pending != PENDING_SIGNED || (signedLen >= CHECKPOINT_BODY_BYTES && signedLen <= CHECKPOINT_BYTES_MAX), "auditReadyBytes: a signed checkpoint within its buffer");
  return pending == PENDING_SIGNED ? signedLen : 0;
}
export function auditLogged(): void {
  assert(pending == PENDING_SIGNED, "audit checkpoint logged twice");
  pending = PENDING_NONE;
}
