// host/base/kernel.ts: instantiates kernel.wasm and gives the host typed access to
// its exports, registers and rings. A kernel assertion (AssemblyScript
// abort) becomes a KernelPanic with the kernel's own message and location.

import * as abi from '../../hal/abi.ts';
import * as log from '../../hal/log.ts';
import { KernelMemory, HostRing } from './ring.ts';

/**
 * The log's hashing unit: over the whole entries of `region`, from the chain
 * `prev`, per entry leaf ‖ chain ‖ CRC-32C ‖ 0 into `out` (LOG_CHAIN_OUT_BYTES
 * each); with `seal`, the chain and CRC written into the entries too.
 * Returns the entries hashed; throws on a region that is not whole entries.
 */
export type LogChainFn = (region: Uint8Array, prev: Uint8Array, out: Uint8Array, seal: boolean) => number;

export class KernelPanic extends Error {
  override name = 'KernelPanic';
}

interface KernelExports {
  memory: WebAssembly.Memory;
  hal_table(): number;
  boot_area(): number;
  boot_area_bytes(): number;
  sys_area(): number;
  sys_area_bytes(): number;
  kernel_boot(manifestLen: number, mode: number): number;
  kernel_run(): number;
  kernel_interrupt(irq: number): void;
  kernel_shutdown(): void;
  kernel_follow(on: number): void;
  kernel_digest(): number;
  kernel_chain_head(): number;
  kernel_check_sealed(): number;
  kernel_stat(id: number): bigint;
  service_count(): number;
  service_name(i: number): number;
  service_name_len(i: number): number;
  service_set_inbox(i: number, bytes: number): void;
  sys_send(peer: number, len: number): number;
  sys_reply(token: number, status: number, len: number): number;
  sys_time(): bigint;
  sys_log(len: number): number;
  sys_random(len: number): number;
  sys_timer(delayNs: bigint, tag: bigint): number;
  sys_lookup(len: number): number;
  sys_hsm(op: number, len: number): number;
  sys_emit(type: number, count: number, len: number): number;
  events_emitted(): bigint;
  events_dropped(): bigint;
  kernel_read_done(status: number, len: number): void;
  dispatch_fuel(): bigint;
  service_fault(code: number): number;
  service_failed(i: number): number;
  service_faults(i: number): bigint;
  service_restarts(i: number): bigint;
  // live load (kernel/liveload.ts, host/liveload.ts)
  service_action_done(result: number, inboxBytes: number): void;
  service_version(i: number): number;
  service_unloaded(i: number): number;
  service_live(i: number): number;
  service_caps(i: number): number;
  service_memory_pages_max(i: number): number;
  service_commands(): bigint;
  // admission (kernel/admission.ts)
  sys_admission(op: number, len: number): number;
  sys_storage(op: number, len: number): number;
  admission_area(): number;
  admission_check(mode: number): number;
  admission_stat(id: number): bigint;
  admission_keys_generation(): number;
  admission_authority(): number;
}

/** The kernel's answer to an admission question (hal/abi.ts "admission"). */
export interface AdmissionAnswer {
  /** HTTP status: 200 admitted, else the refusal's. */
  status: number;
  /** GW_E_* (GW_OK when admitted). */
  error: number;
  retryAfter: number;
  keyId: number;
  role: number;
  message: string;
}

export interface Dispatch {
  service: number;
  kind: number;
  addr: number;
  len: number;
  sender: number;
  token: number;
}

export class Kernel {
  readonly x: KernelExports;
  readonly mem: KernelMemory;
  private regs = 0;

  private constructor(instance: WebAssembly.Instance) {
    this.x = instance.exports as unknown as KernelExports;
    this.mem = new KernelMemory(this.x.memory);
  }

  /**
   * `logChain` is the log's hashing unit the kernel calls when it seals a
   * batch (hal "log_chain"; host/devices/log-chain.ts gives the native one
   * or the TypeScript one, with one contract).
   */
  static instantiate(module: WebAssembly.Module, logChain: LogChainFn): Kernel {
    let memory: WebAssembly.Memory | null = null;
    const readString = (ptr: number): string => {
      if (memory === null || ptr === 0) return '';
      const dv = new DataView(memory.buffer);
      const bytes = dv.getUint32(ptr - 4, true); // AssemblyScript strings: UTF-16, length before
      return Buffer.from(memory.buffer, ptr, bytes).toString('utf16le');
    };
    const env = {
      abort(message: number, file: number, line: number, column: number): never {
        throw new KernelPanic(`kernel panic: ${readString(message)} at ${readString(file)}:${line}:${column}`);
      },
    };
    const hal = {
      log_chain(region: number, len: number, prev: number, out: number, outEntries: number, seal: number): number {
        const bytes = new Uint8Array(memory!.buffer);
        return logChain(bytes.subarray(region, region + len), bytes.subarray(prev, prev + log.ENTRY_CHAIN_BYTES),
          bytes.subarray(out, out + outEntries * log.LOG_CHAIN_OUT_BYTES), seal !== 0);
      },
    };
    const instance = new WebAssembly.Instance(module, { env, hal });
    const kernel = new Kernel(instance);
    memory = kernel.x.memory;
    kernel.regs = kernel.x.hal_table() + abi.HAL_REGS_OFFSET;
    return kernel;
  }

  /** Copies the image digest and manifest into the boot area and boots. */
  boot(digest: Uint8Array, manifest: Uint8Array, mode: number): number {
    if (digest.length !== 32) throw new Error('image digest must be 32 bytes');
    const area = this.x.boot_area();
    if (manifest.length + 32 > this.x.boot_area_bytes()) {
      throw new Error(`manifest of ${manifest.length} bytes does not fit the kernel's boot area`);
    }
    this.mem.u8().set(digest, area);
    this.mem.u8().set(manifest, area + 32);
    return this.x.kernel_boot(manifest.length, mode);
  }

  ring(device: number, which: 'sq' | 'cq'): HostRing {
    return new HostRing(this.mem, this.ringAddr(device, which), `device ${device} ${which}`);
  }

  /** True when the kernel set up both rings of `device` (some devices only when the manifest needs them). */
  hasRings(device: number): boolean {
    return device < abi.DEVICE_COUNT && this.ringAddr(device, 'sq') !== 0 && this.ringAddr(device, 'cq') !== 0;
  }

  private ringAddr(device: number, which: 'sq' | 'cq'): number {
    return this.mem.u32(this.x.hal_table() + device * abi.DEVICE_ENTRY_BYTES + (which === 'sq' ? 0 : 4));
  }

  setClock(ns: bigint): void { this.mem.setU64(this.regs + abi.REG_CLOCK_NS, ns); }
  deadlineNs(): bigint { return this.mem.u64(this.regs + abi.REG_DEADLINE_NS); }
  state(): number { return this.mem.u32(this.regs + abi.REG_STATE); }
  error(): number { return this.mem.u32(this.regs + abi.REG_ERROR); }

  dispatch(): Dispatch {
    const r = this.regs;
    return {
      service: this.mem.u32(r + abi.REG_DISPATCH_SERVICE),
      kind: this.mem.u32(r + abi.REG_DISPATCH_KIND),
      addr: this.mem.u32(r + abi.REG_DISPATCH_ADDR),
      len: this.mem.u32(r + abi.REG_DISPATCH_LEN),
      sender: this.mem.u32(r + abi.REG_DISPATCH_SENDER),
      token: this.mem.u32(r + abi.REG_DISPATCH_TOKEN),
    };
  }

  digest(): Uint8Array {
    return Uint8Array.from(this.mem.slice(this.x.kernel_digest(), 32));
  }

  chainHead(): Uint8Array {
    return Uint8Array.from(this.mem.slice(this.x.kernel_chain_head(), 32));
  }

  stat(id: number): number {
    return Number(this.x.kernel_stat(id));
  }

  /** Whether an admission authority (capability "admit") runs: the host then asks admission() before the log. */
  hasAdmission(): boolean {
    return this.x.admission_authority() !== 0xffff;
  }

  /**
   * The kernel's admission decision on a request header (GW_REQUEST_HEADER_BYTES):
   * ADM_MODE_PEEK asks without charging any bucket (a request head, before
   * its body is read); ADM_MODE_TAKE charges them (requests the host answers
   * without a frame); ADM_MODE_KEY asks whether the credential alone still
   * holds (an open event stream after a key change).
   */
  admission(header: Uint8Array, mode: number): AdmissionAnswer {
    if (header.length !== abi.GW_REQUEST_HEADER_BYTES) throw new Error(`admission: a header is ${abi.GW_REQUEST_HEADER_BYTES} bytes`);
    const area = this.x.admission_area();
    this.mem.u8().set(header, area);
    const status = this.x.admission_check(mode);
    const r = area + abi.ADM_AREA_REPLY;
    const messageLen = this.mem.u32(area + abi.ADM_AREA_MESSAGE_LEN);
    if (messageLen > abi.ADM_MESSAGE_BYTES_MAX) throw new Error(`admission: a message of ${messageLen} bytes`);
    return {
      status, error: this.mem.dv().getUint16(r + 2, true), retryAfter: this.mem.u32(r + 4), keyId: this.mem.u32(r + 8), role: this.mem.u8()[r + 12],
      message: messageLen === 0 ? '' : Buffer.from(this.mem.slice(r + abi.GW_REPLY_HEADER_BYTES, messageLen)).toString('latin1'),
    };
  }

  serviceNames(): string[] {
    const names: string[] = [];
    for (let i = 0; i < this.x.service_count(); i++) {
      names.push(Buffer.from(this.mem.slice(this.x.service_name(i), this.x.service_name_len(i))).toString('utf8'));
    }
    return names;
  }
}
