// host/cluster/checkpoint.ts: a cluster's checkpoints (docs/cluster.md
// "Checkpoints"). The leader puts each machine snapshot it writes
// (host/snapshot.ts) in the object store, with where it stands in the log
// and in the stream. A node that joins with an empty data directory starts
// from it: the snapshot file, and the one batch that ends where the snapshot
// starts (boot checks a snapshot against the entry before it), written at
// its offset; its kernel then restores the snapshot and follows the stream
// from the message after that batch. Everything is checked as ever: the
// snapshot's hashes, image and chain head at boot, every later entry by the
// kernel. Only plain data directories of images without grids take part: a
// snapshot sealed with one node's data key, or referring to its grid's
// blocks, means nothing to another node.

import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openBlockBackend } from '../devices/block-backend.ts';
import { openSegmentedLog } from '../devices/segmented-log.ts';
import { writeFileDurably } from '../base/durable.ts';
import { SNAPSHOT_DIR, snapshotFileName, snapshotPosition } from '../snapshot.ts';
import * as p from './protocol.ts';
import type { ClusterLink } from './nats.ts';

/** The stream message whose batch ends at `offset` (the first message ending there), or null. */
export async function messageEndingAt(link: ClusterLink, offset: number): Promise<{ seq: number; data: Uint8Array; start: number } | null> {
  let lo = 1;
  let hi = (await link.jsm.streams.info(p.LOG_STREAM)).state.last_seq;
  const endOf = async (seq: number) => Number((await link.jsm.streams.getMessage(p.LOG_STREAM, { seq })).header.get(p.H_END));
  while (lo < hi) { // the End headers never decrease along the stream
    const mid = Math.floor((lo + hi) / 2);
    if (await endOf(mid) >= offset) hi = mid;
    else lo = mid + 1;
  }
  if (hi < 1) return null;
  const m = await link.jsm.streams.getMessage(p.LOG_STREAM, { seq: lo });
  const end = Number(m.header.get(p.H_END));
  if (m.header.get(p.H_KIND) !== p.KIND_BATCH || end !== offset) return null;
  return { seq: lo, data: m.data, start: Number(m.header.get(p.H_OFFSET)) };
}

/** Puts the snapshot at `path` in the object store as the cluster's checkpoint; false when the stream has no batch ending where it starts. */
export async function putCheckpoint(link: ClusterLink, path: string, term: number): Promise<boolean> {
  const file = openBlockBackend(path, { create: false, lock: false, readOnly: true });
  let at;
  try {
    at = snapshotPosition(file);
  } finally {
    file.close();
  }
  const m = await messageEndingAt(link, at.logOffset);
  if (m === null) return false;
  const info: p.Checkpoint = { image: at.image, entries: at.entries, log_offset: at.logOffset, seq: m.seq, term, batch_offset: m.start };
  await link.checkpoints.putBlob({ name: p.CHECKPOINT_OBJECT, description: JSON.stringify(info) }, new Uint8Array(readFileSync(path)));
  return true;
}

/**
 * Starts an empty data directory from the cluster's checkpoint: the
 * snapshot in its snapshots directory, the batch before it in the log. The
 * position to follow from, or null when there is no checkpoint of this image.
 */
export async function takeCheckpoint(link: ClusterLink, dataDir: string, imageDigestHex: string): Promise<{ seq: number; end: number; term: number; entries: number; bytes: number } | null> {
  const o = await link.checkpoints.info(p.CHECKPOINT_OBJECT);
  if (o === null || o.deleted) return null;
  const c = JSON.parse(o.description ?? '{}') as p.Checkpoint;
  if (c.image !== imageDigestHex) return null;
  const bytes = await link.checkpoints.getBlob(p.CHECKPOINT_OBJECT);
  const m = await link.jsm.streams.getMessage(p.LOG_STREAM, { seq: c.seq });
  if (bytes === null || Number(m.header.get(p.H_END)) !== c.log_offset || Number(m.header.get(p.H_OFFSET)) !== c.batch_offset) return null;
  mkdirSync(join(dataDir, SNAPSHOT_DIR), { recursive: true });
  writeFileDurably(join(dataDir, SNAPSHOT_DIR, snapshotFileName(c.entries)), bytes, { syncDirectory: true });
  const log = openSegmentedLog(dataDir, { create: true, lock: true, readOnly: false });
  try {
    await log.writeDurable(c.batch_offset, m.data);
  } finally {
    log.close();
  }
  return { seq: c.seq, end: c.log_offset, term: c.term, entries: c.entries, bytes: bytes.length };
}
