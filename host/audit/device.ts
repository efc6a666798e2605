// host/audit/device.ts: the host side of audit checkpoints. The kernel
// decides when a checkpoint is due (kernel/audit.ts); this device only
// obeys: it takes the 48-byte body the kernel offers (audit_pending), signs
// it off the run loop (HSM ECDSA P-384 and ML-DSA-65, host/keys.ts Signer),
// writes body ‖ signatures into the kernel's buffer and reports the length
// (audit_signed). Without a signer it answers with len 0 and the kernel
// skips the checkpoint (said once on the console by the caller's notice).

import type { Kernel } from '../kernel.ts';
import type { Signer } from '../keys.ts';
import { CHECKPOINT_BODY_BYTES, signCheckpoint } from './checkpoint.ts';

interface AuditExports {
  audit_configure(everyEntries: bigint): void;
  audit_pending(): number;
  audit_buffer(): number;
  audit_buffer_bytes(): number;
  audit_signed(len: number): number;
  audit_tree_size(): bigint;
  audit_root(): number;
  audit_checkpoints_skipped(): bigint;
}

export function auditExports(kernel: Kernel): AuditExports | null {
  const x = kernel.x as unknown as Partial<AuditExports>;
  return typeof x.audit_pending === 'function' ? (x as AuditExports) : null;
}

export class AuditDevice {
  private readonly x: AuditExports;
  private signing = false;
  private warned = false;
  signed = 0;

  constructor(
    private readonly kernel: Kernel,
    interval: number,
    private readonly signer: Signer | null,
    private readonly wake: () => void,
    private readonly notice: (o: Record<string, unknown>, isError: boolean) => void,
  ) {
    const x = auditExports(kernel);
    if (x === null) throw new Error('kernel.wasm has no audit exports (rebuild it: make wasm)');
    this.x = x;
    this.x.audit_configure(BigInt(interval));
  }

  /** Picks up a due checkpoint; true when it finished one synchronously (never: signing is async). */
  service(): boolean {
    if (this.signing) return false;
    const at = this.x.audit_pending();
    if (at === 0) return false;
    const body = this.kernel.mem.slice(at, CHECKPOINT_BODY_BYTES).slice();
    if (this.signer === null) {
      if (!this.warned) {
        this.warned = true;
        this.notice({ event: 'audit_unsigned', message: 'audit checkpoints are due but no signing key is configured (--audit-key or --hsm): checkpoints are skipped' }, true);
      }
      this.x.audit_signed(0);
      return true;
    }
    this.signing = true;
    void signCheckpoint(body, this.signer).then((signed) => {
      const cap = this.x.audit_buffer_bytes();
      if (signed.length > cap) throw new Error(`signed checkpoint of ${signed.length} bytes is over the kernel's ${cap}`);
      this.kernel.mem.slice(this.x.audit_buffer(), signed.length).set(signed);
      this.x.audit_signed(signed.length);
      this.signed++;
    }).catch((e: unknown) => {
      this.notice({ event: 'audit_sign_failed', message: (e as Error).message }, true);
      this.x.audit_signed(0);
    }).finally(() => {
      this.signing = false;
      this.wake();
    });
    return false;
  }
}
