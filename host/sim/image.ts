// host/sim/image.ts: the image a simulation boots: the built kernel and
// ledger modules under a small manifest (capacities sized for a run of a
// few thousand transfers), packed like any image. Simulations parse it but
// need no signature: nothing from outside enters a simulated world.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packImage, parseImage, type ParsedImage } from '../image.ts';
import { validateManifest } from '../manifest.ts';

export const SIM_MANIFEST = {
  name: 'sim', version: 1,
  description: 'The deterministic simulator\'s image: the ledger with small capacities',
  kernel: {
    message_slots: 16, message_bytes_max: 65536, queue_depth: 256, timers_max: 64,
    requests_in_flight_max: 256, batch_bytes_max: 262144, log_preallocate_bytes: 262144,
    snapshot_interval_entries: 256,
  },
  services: [{
    name: 'ledger', module: 'ledger', priority: 0, budget: 64, memory_pages_max: 16384, caps: ['net', 'read', 'log', 'time', 'timer'],
    config: { accounts_max: 64, transfers_max: 32768, pending_max: 8192, history_max: 1024, prefault: false },
  }],
  gateway: { ledgers: [{ ledger: 1, asset_scale: 2, currency: 'USD' }] },
};

/**
 * The same world with the ledger on its grid (docs/storage.md, stage 2): a
 * window of 64 transfers, so most of a run's history is in the trees, a
 * 32-block cache, reads through the log (a grid ledger has no "read").
 * Snapshots every 16 entries, so runs restore incremental snapshots whose
 * grid is on the same faulty disk, and meet stale ones (kernel/snapshot.ts).
 */
export function simGridManifest(): typeof SIM_MANIFEST {
  const m = structuredClone(SIM_MANIFEST);
  m.kernel.message_bytes_max = 131072; // a block and its header travel in one message
  m.kernel.batch_bytes_max = 524288;
  m.kernel.log_preallocate_bytes = 524288;
  m.kernel.snapshot_interval_entries = 16;
  const ledger = m.services[0];
  ledger.caps = [...ledger.caps.filter((c) => c !== 'read'), 'storage'];
  ledger.memory_pages_max = 32768;
  Object.assign(ledger.config, { transfers_max: 64, history_max: 32768, grid_blocks: 4096, cache_blocks: 32 });
  return m;
}

export function simImage(buildDir: string, manifestJson: typeof SIM_MANIFEST = SIM_MANIFEST): { image: ParsedImage; bytes: Uint8Array } {
  const manifest = validateManifest(structuredClone(manifestJson));
  const kernel = new Uint8Array(readFileSync(join(buildDir, 'kernel.wasm')));
  const ledger = new Uint8Array(readFileSync(join(buildDir, 'services', 'ledger.wasm')));
  const bytes = packImage({ manifest, kernel, services: new Map([['ledger', ledger]]) });
  return { image: parseImage(bytes), bytes };
}
