// The simulator's liveness check catches a leak. A test-only service that
// takes requests and never answers (test/services/sink) runs beside the
// ledger, and a checker sends it requests now and then; at the first heal
// the world finds a client reply token still taken and fails naming that
// pool. The same world without the sink passes (so the check is not what
// fails).
//
// Run: node --import tsx test/sim/liveness.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSeeds } from '../../host/sim/run.ts';
import { SIM_MANIFEST } from '../../host/sim/image.ts';
import { LedgerChecker } from '../../host/sim/ledger-checker.ts';
import type { SimChecker, SimContext } from '../../host/sim/checker.ts';
import { packImage, parseImage } from '../../host/image.ts';
import { validateManifest } from '../../host/manifest.ts';
import { buildTestService, ROOT } from '../services/build.ts';

const BUILD = join(ROOT, 'build');

/** Sends the sink a request on a faulty connection now and then; proves nothing itself. */
class SinkChecker implements SimChecker {
  readonly service = 'sink';
  private sent = 0;
  async setUp(): Promise<void> {}
  act(ctx: SimContext): void {
    this.sent++;
    ctx.trace(`${ctx.clientRequest(3, this.service, Buffer.from('anyone?'), () => {})}: to the sink`);
  }
  async verify(): Promise<void> {}
  counts() { return { acknowledged: 0, sent: this.sent }; }
}

function image(withSink: boolean) {
  const manifest = structuredClone(SIM_MANIFEST) as typeof SIM_MANIFEST & { services: unknown[] };
  if (withSink) manifest.services.push({ name: 'sink', module: 'sink', priority: 1, budget: 16, memory_pages_max: 16, caps: ['net'] });
  const m = validateManifest(manifest);
  const services = new Map([['ledger', new Uint8Array(readFileSync(join(BUILD, 'services/ledger.wasm')))]]);
  if (withSink) services.set('sink', new Uint8Array(readFileSync(buildTestService('sink'))));
  const bytes = packImage({ manifest: m, kernel: new Uint8Array(readFileSync(join(BUILD, 'kernel.wasm'))), services });
  return { image: parseImage(bytes), bytes };
}

test('a service that never answers: the first heal names the leaked pool', async () => {
  const lines: string[] = [];
  const totals = await runSeeds({
    seeds: [1], steps: 200, buildDir: BUILD, image: image(true), trace: false, out: (l) => lines.push(l),
    checkers: () => [new LedgerChecker(), new SinkChecker()],
  });
  assert.is(totals.failed.length, 1, lines.join('\n'));
  assert.match(totals.failed[0].failure!, /liveness: pools not back at rest: client reply tokens \d+ \(idle: at most 0\)/);
});

test('the same world without the sink heals every time', async () => {
  const lines: string[] = [];
  const totals = await runSeeds({ seeds: [1], steps: 200, buildDir: BUILD, image: image(false), trace: false, out: (l) => lines.push(l) });
  assert.equal(totals.failed.map((r) => r.failure), [], lines.join('\n'));
});

test.run();
