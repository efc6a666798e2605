// test/qemu/cpio.ts: writes a cpio archive in the "newc" format, the one the
// Linux kernel unpacks as an initramfs (Documentation/driver-api/
// early-userspace/buffer-format.rst): per entry a 110-byte ASCII header
// ("070701" and thirteen 8-digit hex fields), the NUL-terminated name padded
// to 4 bytes, then the data padded to 4 bytes; "TRAILER!!!" ends it.

import { readFileSync, statSync } from 'node:fs';

export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  name: string;
  kind: 'file' | 'dir' | 'symlink';
  /** Permission bits (0o755, 0o644, ...). */
  mode: number;
  /** File bytes, or the symlink's target. */
  data?: Uint8Array | string;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(ino: number, mode: number, nlink: number, size: number, nameBytes: number): Buffer {
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, nameBytes, 0];
  return Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'ascii');
}

export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => { parts.push(b); offset += b.length; };
  const entry = (ino: number, mode: number, nlink: number, name: string, data: Buffer) => {
    const nameBuf = Buffer.from(name + '\0', 'utf8');
    push(header(ino, mode, nlink, data.length, nameBuf.length));
    push(nameBuf);
    push(Buffer.alloc(pad4(offset)));
    push(data);
    push(Buffer.alloc(pad4(offset)));
  };
  entries.forEach((e, i) => {
    if (e.name.startsWith('/') || e.name === '') throw new Error(`cpio: entry name must be relative: "${e.name}"`);
    const typeBits = e.kind === 'file' ? S_IFREG : e.kind === 'dir' ? S_IFDIR : S_IFLNK;
    const data = e.kind === 'dir' ? Buffer.alloc(0) : typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : Buffer.from(e.data ?? new Uint8Array(0));
    entry(i + 1, typeBits | (e.mode & 0o7777), e.kind === 'dir' ? 2 : 1, e.name, data);
  });
  entry(0, 0, 1, 'TRAILER!!!', Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** A host file as an archive entry, keeping its permission bits. */
export function hostFile(hostPath: string, name: string): CpioEntry {
  return { name, kind: 'file', mode: statSync(hostPath).mode & 0o777, data: readFileSync(hostPath) };
}
