// host/hsm/device.ts: the HSM device on its ring (DEV_HSM). The kernel
// decides which service may use which key (kernel/hsm.ts) and puts only
// granted requests on the SQ; this device performs each on the HSM (the
// PKCS#11 token through the addon, whose calls run on libuv workers, or the
// soft token), and posts the result on the CQ when it is back. It never
// looks at which service asked. Protocol and layouts: hal/abi.ts, HSM
// section. Without an HSM (none configured) every request is answered
// HSM_E_UNAVAILABLE, so a service learns it instead of waiting forever.
// The kernel's own OP_HSM_CHECKPOINT (an audit checkpoint to sign) is
// answered with the checkpoint signer (HSM or key file, plus ML-DSA-65);
// without one, with an error, and the kernel skips the checkpoint.
//
// Use: `const d = new HsmRingDevice(kernel, hsm, wake)`; call d.service()
// whenever the kernel is idle; it returns true when it posted completions.

import * as abi from '../../hal/abi.ts';
import type { Kernel } from '../base/kernel.ts';
import type { HostRing } from '../base/ring.ts';
import type { HsmDevice } from './hsm.ts';
import type { Signer } from '../base/keys.ts';
import { CHECKPOINT_BODY_BYTES, signCheckpoint } from '../audit/checkpoint.ts';

/** True when the kernel set up the HSM rings (every kernel with an HSM driver: audit checkpoints use them too). */
export function hsmRingPresent(kernel: Kernel): boolean {
  return kernel.hasRings(abi.DEV_HSM);
}

/** A request the kernel passed on, decoded (layout: hal/abi.ts). */
export type HsmRequest =
  | { op: typeof abi.OP_HSM_SIGN; label: string; data: Uint8Array }
  | { op: typeof abi.OP_HSM_VERIFY; label: string; signature: Uint8Array; data: Uint8Array }
  | { op: typeof abi.OP_HSM_ENCRYPT | typeof abi.OP_HSM_DECRYPT; label: string; iv: Uint8Array; aad: Uint8Array; data: Uint8Array }
  | { op: typeof abi.OP_HSM_RANDOM; count: number }
  | { op: typeof abi.OP_HSM_PUBLIC_KEY; label: string };

export class HsmRequestError extends Error {
  override name = 'HsmRequestError';
}

/** Decodes a request; throws HsmRequestError naming what is wrong. */
export function parseHsmRequest(op: number, bytes: Uint8Array): HsmRequest {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string): never => { throw new HsmRequestError(`hsm request (op ${op}): ${why}`); };
  if (bytes.length < abi.HSM_REQUEST_HEADER_BYTES) bad('shorter than its header');
  const labelLen = dv.getUint16(0, true);
  if (dv.getUint16(2, true) !== 0) bad('reserved bytes are not zero');
  const bodyAt = abi.HSM_REQUEST_HEADER_BYTES + labelLen;
  if (bodyAt > bytes.length) bad('label runs past the end');
  const label = Buffer.from(bytes.subarray(abi.HSM_REQUEST_HEADER_BYTES, bodyAt)).toString('latin1');
  const body = bytes.subarray(bodyAt);
  const u32 = (at: number): number => (at + 4 <= body.length ? dv.getUint32(bodyAt + at, true) : bad('truncated'));
  switch (op) {
    case abi.OP_HSM_SIGN: return { op, label, data: body };
    case abi.OP_HSM_PUBLIC_KEY: return { op, label };
    case abi.OP_HSM_RANDOM: return { op, count: u32(0) };
    case abi.OP_HSM_VERIFY: {
      const sigLen = u32(0);
      if (4 + sigLen > body.length) bad('signature runs past the end');
      return { op, label, signature: body.subarray(4, 4 + sigLen), data: body.subarray(4 + sigLen) };
    }
    case abi.OP_HSM_ENCRYPT:
    case abi.OP_HSM_DECRYPT: {
      const aadLen = u32(abi.HSM_IV_BYTES);
      const dataAt = abi.HSM_IV_BYTES + 4 + aadLen;
      if (dataAt > body.length) bad('aad runs past the end');
      return { op, label, iv: body.subarray(0, abi.HSM_IV_BYTES), aad: body.subarray(abi.HSM_IV_BYTES + 4, dataAt), data: body.subarray(dataAt) };
    }
    default: return bad('unknown operation');
  }
}

/** Performs a decoded request on `hsm`; resolves to the result bytes. */
export async function performHsmRequest(hsm: HsmDevice, r: HsmRequest): Promise<Uint8Array> {
  switch (r.op) {
    case abi.OP_HSM_SIGN: return hsm.sign(r.label, r.data);
    case abi.OP_HSM_VERIFY: return Uint8Array.of((await hsm.verify(r.label, r.data, r.signature)) ? 1 : 0);
    case abi.OP_HSM_ENCRYPT: return hsm.encrypt(r.label, r.iv, r.aad, r.data);
    case abi.OP_HSM_DECRYPT: return hsm.decrypt(r.label, r.iv, r.aad, r.data);
    case abi.OP_HSM_RANDOM: return hsm.random(r.count);
    case abi.OP_HSM_PUBLIC_KEY: return hsm.signingPublicKey(r.label);
  }
}

/** The HSM_E_* status for an error from the HSM (HsmError codes). */
export function hsmStatusOf(e: unknown): number {
  const code = (e as { code?: unknown }).code;
  if (code === 'EHSM_NOKEY') return abi.HSM_E_NO_KEY;
  if (code === 'EHSM_AUTH') return abi.HSM_E_AUTH;
  return abi.HSM_E_FAILED;
}

// An HSM call that has not answered in this long is answered HSM_E_FAILED
// for it, so a hung token cannot hold the kernel (a clean stop waits for
// every request) forever. Its late result, if any, is dropped: nothing of
// it was written to the kernel. PKCS#11 signing takes milliseconds.
export const HSM_CALL_TIMEOUT_MS = 30_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the HSM did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

interface Finished { tag: number; op: number; addr: number; cap: number; arg: number; status: number; bytes: Uint8Array }

export interface HsmRingOptions {
  /** Signs audit checkpoints (OP_HSM_CHECKPOINT); null: they are skipped, said once. */
  checkpointSigner?: Signer | null;
  /** Host events (audit_unsigned, audit_sign_failed). */
  notice?: (o: Record<string, unknown>, isError: boolean) => void;
  /** See HSM_CALL_TIMEOUT_MS. */
  timeoutMs?: number;
}

export class HsmRingDevice {
  private readonly sq: HostRing;
  private readonly cq: HostRing;
  private readonly finished: Finished[] = [];
  private pending = 0;
  /** Requests handed to the HSM (tests check that a refused one never was). */
  calls = 0;
  /** Audit checkpoints signed. */
  checkpointsSigned = 0;
  private warnedUnsigned = false;
  private readonly timeoutMs: number;

  constructor(
    private readonly kernel: Kernel,
    private readonly hsm: HsmDevice | null,
    private readonly wake: () => void,
    private readonly options: HsmRingOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? HSM_CALL_TIMEOUT_MS;
    this.sq = kernel.ring(abi.DEV_HSM, 'sq');
    this.cq = kernel.ring(abi.DEV_HSM, 'cq');
  }

  /** Requests on the HSM or waiting to be posted. */
  busy(): boolean {
    return this.pending > 0 || this.finished.length > 0;
  }

  /** Posts finished results, then starts every new request; true when it posted. */
  service(): boolean {
    let posted = false;
    while (this.finished.length > 0 && this.cq.free() > 0) {
      const f = this.finished.shift()!;
      this.kernel.mem.slice(f.addr, f.bytes.length).set(f.bytes);
      this.cq.push({ op: f.op, tag: f.tag, status: f.status, len: f.bytes.length, addr: f.addr, cap: f.cap, arg: f.arg });
      posted = true;
    }
    for (let d = this.sq.peek(); d !== null; d = this.sq.peek()) {
      this.sq.pop();
      const request = Uint8Array.from(this.kernel.mem.slice(d.addr, d.len));
      this.pending++;
      void this.perform(d.op, request, d.cap).then(({ status, bytes }) => {
        this.pending--;
        this.finished.push({ tag: d.tag, op: d.op, addr: d.addr, cap: d.cap, arg: d.arg, status, bytes });
        this.wake();
      });
    }
    return posted;
  }

  // Never rejects: every failure becomes a status and a text for the service.
  private async perform(op: number, request: Uint8Array, cap: number): Promise<{ status: number; bytes: Uint8Array }> {
    const text = (status: number, message: string) => ({ status, bytes: Buffer.from(message, 'utf8').subarray(0, cap) });
    if (op === abi.OP_HSM_CHECKPOINT) return this.checkpoint(request, cap);
    if (this.hsm === null) return text(abi.HSM_E_UNAVAILABLE, 'no HSM on this host (set QENEX_PKCS11_MODULE/TOKEN/PIN, or boot with --hsm)');
    let parsed: HsmRequest;
    try {
      parsed = parseHsmRequest(op, request);
    } catch (e) {
      return text(abi.HSM_E_FAILED, (e as Error).message);
    }
    try {
      this.calls++;
      const bytes = await withTimeout(performHsmRequest(this.hsm, parsed), this.timeoutMs);
      if (bytes.length > cap) return text(abi.HSM_E_FAILED, `hsm result of ${bytes.length} bytes is over the ${cap} the service can take`);
      return { status: abi.HSM_OK, bytes };
    } catch (e) {
      return text(hsmStatusOf(e), (e as Error).message);
    }
  }

  // An audit checkpoint: body ‖ signatures, or an error (and no bytes): skipped.
  private async checkpoint(body: Uint8Array, cap: number): Promise<{ status: number; bytes: Uint8Array }> {
    const notice = this.options.notice ?? (() => {});
    const signer = this.options.checkpointSigner ?? null;
    const skipped = { status: abi.HSM_E_UNAVAILABLE, bytes: new Uint8Array(0) };
    if (signer === null) {
      if (!this.warnedUnsigned) {
        this.warnedUnsigned = true;
        notice({ event: 'audit_unsigned', message: 'audit checkpoints are due but no signing key is configured (--audit-key or --hsm): checkpoints are skipped' }, true);
      }
      return skipped;
    }
    try {
      if (body.length !== CHECKPOINT_BODY_BYTES) throw new Error(`checkpoint body of ${body.length} bytes, not ${CHECKPOINT_BODY_BYTES}`);
      const signed = await withTimeout(signCheckpoint(body, signer), this.timeoutMs);
      if (signed.length > cap) throw new Error(`signed checkpoint of ${signed.length} bytes is over the kernel's ${cap}`);
      this.checkpointsSigned++;
      return { status: abi.HSM_OK, bytes: signed };
    } catch (e) {
      notice({ event: 'audit_sign_failed', message: (e as Error).message }, true);
      return { ...skipped, status: abi.HSM_E_FAILED };
    }
  }
}

/** Services the manifest lets use the HSM (hsm_keys or capability hsm_random), by name. */
export function hsmUsers(manifest: { services: { name: string; caps: readonly string[]; hsm_keys?: readonly string[] }[] }): string[] {
  return manifest.services.filter((s) => (s.hsm_keys?.length ?? 0) > 0 || s.caps.includes('hsm_random')).map((s) => s.name);
}
