// host/audit/device.ts: the host's part in audit checkpoints. The kernel
// decides when a checkpoint is due (kernel/audit.ts) and asks for its
// signature on the HSM ring (OP_HSM_CHECKPOINT); the HSM device
// (host/hsm/device.ts) answers with signCheckpoint (host/audit/checkpoint.ts:
// ECDSA P-384 from the HSM or a key file, and ML-DSA-65). Besides that the
// host only passes the manifest's checkpoint interval to the kernel.

import type { Kernel } from '../base/kernel.ts';

interface AuditExports {
  audit_configure(everyEntries: bigint): void;
  audit_tree_size(): bigint;
  audit_root(): number;
  audit_checkpoints_skipped(): bigint;
}

export function auditExports(kernel: Kernel): AuditExports | null {
  const x = kernel.x as unknown as Partial<AuditExports>;
  return typeof x.audit_configure === 'function' ? (x as AuditExports) : null;
}

/** Tells the kernel to seal a checkpoint every `interval` log entries. */
export function configureAudit(kernel: Kernel, interval: number): void {
  const x = auditExports(kernel);
  if (x === null) throw new Error('kernel.wasm has no audit exports (rebuild it: make wasm)');
  x.audit_configure(BigInt(interval));
}
