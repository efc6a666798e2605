// A reply that can never be delivered still answers its asker.
//
// The simulator's seeds all hung between steps 1,850 and 2,000: its checker
// looked up every transfer sent so far in one request, and once more than
// 2,047 existed the ledger's reply (128 bytes a record) outgrew the image's
// message size (256 KiB). The kernel refused the reply with SYS_E_TOO_LARGE,
// the ledger ignored the result, and the client waited for an answer that
// never came while its reply token stayed taken for good. Now such a reply
// answers the client with FRAME_E_TOO_LARGE and spends the token.
//
// Proves, on the real kernel and ledger (a machine booted in-process, the
// ledger taking frames directly, message_bytes_max 4 KiB): a lookup whose
// reply would be 40 records (5 KiB) gets FRAME_E_TOO_LARGE; the client
// tokens in use are back to zero; a lookup that fits still works after.
//
// Run: node --import tsx test/integration/undeliverable.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { Machine } from '../../host/machine.ts';
import { packImage, parseImage } from '../../host/image.ts';
import { validateManifest } from '../../host/manifest.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { account, decodeAccounts, decodeCreateResults, encodeAccounts, encodeLookupAccounts } from '../../host/client/ledger.ts';
import { ROOT } from '../support/helpers.ts';

const manifest = validateManifest({
  name: 'undeliverable', version: 1,
  kernel: {
    message_slots: 16, message_bytes_max: 4096, queue_depth: 64, timers_max: 16,
    requests_in_flight_max: 64, batch_bytes_max: 65536, log_preallocate_bytes: 0,
  },
  services: [{
    name: 'ledger', module: 'ledger', priority: 0, budget: 16, memory_pages_max: 1024, caps: ['net', 'log', 'time', 'timer'],
    config: { accounts_max: 64, transfers_max: 64, pending_max: 8, history_max: 8 },
  }],
});

let dir = '';
let machine: Machine;
let client: FrameClient;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qenex-undeliverable-'));
  const imageBytes = packImage({
    manifest, kernel: new Uint8Array(readFileSync(join(ROOT, 'build/kernel.wasm'))),
    services: new Map([['ledger', new Uint8Array(readFileSync(join(ROOT, 'build/services/ledger.wasm')))]]),
  });
  machine = await Machine.boot({ image: parseImage(imageBytes), imageBytes, dataDir: join(dir, 'data'), mode: 'live', onLine: () => {} });
  client = await FrameClient.connect('127.0.0.1', (await machine.listen('127.0.0.1', 0)).port);
});

test.after(async () => {
  client?.close();
  if (machine !== undefined && machine.haltInfo() === null) await machine.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('a reply larger than a message answers FRAME_E_TOO_LARGE and frees its token', async () => {
  const ids = Array.from({ length: 40 }, (_, i) => BigInt(i + 1));
  // 40 accounts in two batches (one batch of 40 records would not fit a 4 KiB message either).
  for (const half of [ids.slice(0, 20), ids.slice(20)]) {
    const created = decodeCreateResults(await client.call('ledger', encodeAccounts(half.map((id) => account({ id, ledger: 1, code: 1 })))));
    assert.ok(created.every((r) => r.result === 0));
  }
  const big = await client.request('ledger', encodeLookupAccounts(ids), 10_000);
  assert.is(big.status, abi.FRAME_E_TOO_LARGE, big.payload.toString('utf8'));
  assert.match(big.payload.toString('utf8'), /larger than the kernel's message size/);
  assert.is(machine.kernel.stat(abi.STAT_CLIENT_REQUESTS_IN_FLIGHT), 0, 'no reply token is left taken');
  const small = decodeAccounts(await client.call('ledger', encodeLookupAccounts(ids.slice(0, 10))));
  assert.is(small.length, 10, 'a lookup that fits still works');
});

test.run();
