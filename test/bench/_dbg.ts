import { join } from 'node:path';
import { FrameClient } from '../../host/client/frames.ts';
import { bankManifestUnlimited, event, makeImage, runCli, Server as TestServer } from '../support/helpers.ts';
import { freePort } from '../support/fix-initiator.ts';
import { fixNow, RawFixClient } from '../support/fix-raw.ts';
import { cashOf, sharesOf, tradingSetUp } from './trading-e2e.ts';
const m = bankManifestUnlimited();
const trading = m.services.find((s) => s.name === 'trading')!;
trading.config = { ...trading.config, instruments: [{ id: 1, symbol: 'BENCH', price_scale: 2, qty_scale: 0, tick: 1, lot: 1, qty_max: 1_000_000,
  band_bps: 0, cash_ledger: 1, asset_ledger: 4, code: 7, cash_escrow: '10', asset_escrow: '11' }] };
const img = makeImage('dbg-fix', m);
const data = join(img.dir, 'data');
runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
const key = (event(runCli(['keys', 'create', '--data', data, '--role', 'admin']).events, 'key_created') as { key: string }).key;
const fixPort = await freePort();
const server = TestServer.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0', '--fix-listen', `127.0.0.1:${fixPort}`, '--fix-session', 'QENEX:BENCH00']);
const { host, port } = await server.address();
const frames = await FrameClient.connect(host, port); await frames.authenticate(key); await tradingSetUp(frames); frames.close();
const c = await RawFixClient.connect(fixPort, 'BENCH00');
c.write(c.message('A', [[98, '0'], [108, '30'], [141, 'Y']]));
console.log(await c.next());
c.write(c.message('D', [[11, '0-0'], [1, `${cashOf(0)}/${sharesOf(0)}`], [21, '1'], [55, 'BENCH'], [54, '1'], [60, fixNow()], [38, '1'], [40, '2'], [44, '10.00'], [59, '1']]));
c.write(c.message('F', [[11, '0-0c'], [41, '0-0'], [55, 'BENCH'], [54, '1'], [60, fixNow()], [38, '1']]));
for (let i = 0; i < 3; i++) { const x = await c.next(3000); console.log(x && [x.type, [...x.fields.entries()].map(([k, v]) => `${k}=${v}`).join('|')]); }
console.log(server.events.slice(-5));
await TestServer.killAll();
