// test/integration/snapshots.child.ts: a live machine that takes snapshots
// under a steady ledger load until it is killed; test/integration/
// snapshots.test.ts SIGKILLs it while a snapshot file is being written.
//
// Usage: node --import tsx snapshots.child.ts <image file> <data dir>
// Prints {"event":"child_ready"} once serving; runs until killed.

import { readFileSync } from 'node:fs';
import { parseImage } from '../../host/image.ts';
import { Machine } from '../../host/machine.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { account, encodeAccounts, encodeTransfers, transfer } from '../../host/client/ledger.ts';

const [imagePath, dataDir] = process.argv.slice(2);
const imageBytes = new Uint8Array(readFileSync(imagePath));
const machine = await Machine.boot({
  image: parseImage(imageBytes), imageBytes, dataDir, mode: 'live',
  onLine: (line) => process.stdout.write(line + '\n'),
});
const { port } = await machine.listen('127.0.0.1', 0);
const client = await FrameClient.connect('127.0.0.1', port);
await client.call('ledger', encodeAccounts([1n, 2n].map((id) => account({ id, ledger: 1, code: 1 }))), 30_000);
process.stdout.write(JSON.stringify({ event: 'child_ready' }) + '\n');
for (let n = 1; ; n++) {
  await client.call('ledger', encodeTransfers([transfer({ id: BigInt(n), debit_account_id: 1n, credit_account_id: 2n, amount: 1n, ledger: 1, code: 1 })]), 30_000);
}
