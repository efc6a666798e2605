// host/cluster/seed.ts: the batches of a local command log, read back for
// `qenex boot --cluster … --seed`, which makes a single machine's log the
// first history of a new cluster (docs/cluster.md "Seeding"). Entries are
// taken while their magic, length and CRC-32C hold; the first that does not
// ends the log (a torn tail). The chain, sequence and image are checked by
// every node's kernel as it applies them, like any stream message.

import * as log from '../../hal/log.ts';
import type { BlockBackend } from '../devices/block-backend.ts';
import { entryCrc, entryPadded, readEntryHeader } from '../base/log-entry.ts';

export interface LocalBatch {
  offset: number;
  bytes: Uint8Array;
}

/** Whole batches from the start of `backend`, in order, up to the first entry that is not valid. */
export function* localBatches(backend: BlockBackend, entryBytesMax: number): Generator<LocalBatch> {
  let offset = 0;
  let batchStart = 0;
  let batch: bigint | null = null;
  const header = new Uint8Array(log.ENTRY_HEADER_BYTES);
  for (;;) {
    const h = backend.readAt(offset, header) === header.length ? readEntryHeader(header) : null;
    const valid = h !== null && h.magic === log.ENTRY_MAGIC && h.total >= log.ENTRY_HEADER_BYTES && h.total <= entryBytesMax;
    const entry = valid ? new Uint8Array(entryPadded(h.total)) : null;
    const whole = entry !== null && backend.readAt(offset, entry) === entry.length && entryCrc(entry.subarray(0, h!.total)) === h!.crc;
    if (!whole || (batch !== null && h!.batch !== batch)) {
      if (batch !== null && offset > batchStart) yield { offset: batchStart, bytes: readSpan(backend, batchStart, offset) };
      if (!whole) return;
      batchStart = offset;
    }
    batch = h!.batch;
    offset += entry!.length;
  }
}

function readSpan(backend: BlockBackend, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from);
  if (backend.readAt(from, out) !== out.length) throw new Error(`the log's bytes ${from}..${to} could not be read again`);
  return out;
}
