// host/base/durable.ts: writing a whole file so that a crash leaves either the
// old file or the new one, never half of it. Every small state file of the
// host (keys, images, the data key, the trust history, the software token)
// goes through here; the command log and snapshots have their own paths.

import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DurableWrite {
  /** File mode of the new file (default 0o644). */
  mode?: number;
  /** Publish with link(), which refuses an existing `path` atomically, instead of rename() over it. */
  exclusive?: boolean;
  /** Also fsync the directory, so the new name itself survives a crash. */
  syncDirectory?: boolean;
}

/**
 * Writes `data` to a fresh temporary file beside `path` (its own name, opened
 * exclusively, so two writers never share one), fsyncs it and publishes it
 * as `path`. The temporary file is gone afterwards, whatever happened.
 */
export function writeFileDurably(path: string, data: string | Uint8Array, opts: DurableWrite = {}): void {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    const fd = openSync(temp, 'wx', opts.mode ?? 0o644);
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (opts.exclusive === true) linkSync(temp, path);
    else renameSync(temp, path);
  } finally {
    if (existsSync(temp)) unlinkSync(temp);
  }
  if (opts.syncDirectory === true) syncDirectory(dirname(path));
}

/** fsync of a directory: makes the names created, renamed or removed in it durable. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
