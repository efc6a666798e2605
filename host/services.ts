// host/services.ts: one WebAssembly instance per service, each with its own
// memory. A service may import only the "qenex" syscalls; each import is a
// shim that copies bytes between the service's memory and the kernel's
// syscall area and calls the kernel, which checks the caller's capabilities.
// The shim never decides anything: it copies, calls, and copies back.

import * as abi from '../hal/abi.ts';
import type { Kernel } from './kernel.ts';

export class ServiceFault extends Error {
  override name = 'ServiceFault';
}

interface ServiceExports {
  memory: WebAssembly.Memory;
  qx_inbox(): number;
  qx_inbox_bytes(): number;
  qx_init(len: number): void;
  qx_handle(kind: number, sender: number, token: number, len: number): void;
}

const REQUIRED_EXPORTS = ['memory', 'qx_inbox', 'qx_inbox_bytes', 'qx_init', 'qx_handle'] as const;

export interface SyscallHooks {
  /** Called after a reply syscall: the kernel may have queued a frame in the syscall area. */
  afterReply(): void;
  /** Called after a log syscall: the console ring has a line. */
  afterLog(): void;
}

export class ServiceInstance {
  readonly x: ServiceExports;
  readonly inboxAddr: number;
  readonly inboxBytes: number;

  constructor(readonly index: number, readonly name: string, module: WebAssembly.Module, kernel: Kernel, hooks: SyscallHooks) {
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.module !== 'qenex') {
        throw new ServiceFault(`service ${name}: imports ${imp.module}.${imp.name}; services may import only "qenex"`);
      }
    }
    const shim = new SyscallShim(kernel, () => this.x.memory, hooks);
    const instance = new WebAssembly.Instance(module, { qenex: shim.imports() });
    for (const e of REQUIRED_EXPORTS) {
      if (!(e in instance.exports)) throw new ServiceFault(`service ${name}: does not export ${e}`);
    }
    this.x = instance.exports as unknown as ServiceExports;
    this.inboxAddr = this.x.qx_inbox();
    this.inboxBytes = this.x.qx_inbox_bytes();
    if (this.inboxAddr + this.inboxBytes > this.x.memory.buffer.byteLength) {
      throw new ServiceFault(`service ${name}: inbox ${this.inboxAddr}+${this.inboxBytes} is outside its memory`);
    }
  }

  /** Copies a message from kernel memory into the inbox and runs the handler. */
  deliver(kernel: Kernel, kind: number, addr: number, len: number, sender: number, token: number): void {
    if (len > this.inboxBytes) throw new ServiceFault(`service ${this.name}: message of ${len} bytes exceeds its inbox`);
    new Uint8Array(this.x.memory.buffer, this.inboxAddr, len).set(kernel.mem.slice(addr, len));
    if (kind === abi.MSG_KIND_INIT) this.x.qx_init(len);
    else this.x.qx_handle(kind, sender, token, len);
  }

  memoryBytes(): Uint8Array {
    return new Uint8Array(this.x.memory.buffer);
  }
}

class SyscallShim {
  constructor(private readonly k: Kernel, private readonly memory: () => WebAssembly.Memory, private readonly hooks: SyscallHooks) {}

  // Copies service memory [ptr, ptr+len) into the syscall area; false when the
  // range is outside the service's memory or larger than the area.
  private copyIn(ptr: number, len: number): boolean {
    const mem = this.memory().buffer;
    if (ptr < 0 || len < 0 || ptr + len > mem.byteLength || len > this.k.x.sys_area_bytes()) return false;
    this.k.mem.u8().set(new Uint8Array(mem, ptr, len), this.k.x.sys_area());
    return true;
  }

  imports(): Record<string, (...args: never[]) => unknown> {
    const k = this.k.x;
    return {
      send: (peer: number, ptr: number, len: number): number => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return len >>> 0 > k.sys_area_bytes() ? abi.SYS_E_TOO_LARGE : abi.SYS_E_INVALID;
        return k.sys_send(peer >>> 0, len >>> 0);
      },
      reply: (token: number, status: number, ptr: number, len: number): number => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return len >>> 0 > k.sys_area_bytes() ? abi.SYS_E_TOO_LARGE : abi.SYS_E_INVALID;
        const r = k.sys_reply(token >>> 0, status >>> 0, len >>> 0);
        this.hooks.afterReply();
        return r;
      },
      time: (): bigint => k.sys_time(),
      log: (ptr: number, len: number): number => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return abi.SYS_E_INVALID;
        const r = k.sys_log(len >>> 0);
        this.hooks.afterLog();
        return r;
      },
      random: (ptr: number, len: number): number => {
        const mem = this.memory().buffer;
        if (ptr < 0 || ptr + len > mem.byteLength) return abi.SYS_E_INVALID;
        const r = k.sys_random(len >>> 0);
        if (r === abi.SYS_OK) new Uint8Array(mem, ptr, len).set(this.k.mem.slice(k.sys_area(), len));
        return r;
      },
      timer: (delayNs: bigint, tag: bigint): number => k.sys_timer(delayNs, tag),
      lookup: (ptr: number, len: number): number => {
        if (!this.copyIn(ptr >>> 0, len >>> 0)) return abi.SYS_E_INVALID;
        return k.sys_lookup(len >>> 0);
      },
    };
  }
}
