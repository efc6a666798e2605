// test/bench/live-load.bench.ts: what loading a service into a running
// system costs (issue 4), end to end and on the host.
//
// A Machine booted in-process from a signed image (kernel, a small ledger,
// the gateway), listening on TCP. Each round loads a signed module through
// the admin route (POST /v1/system/services), sends it one frame, upgrades
// it (tally only) and unloads it. "HTTP" figures are the admin request's
// round trip: HTTP parse, the gateway's checks, the command log's group
// commit (an fdatasync), the kernel's checks, the host's signature check
// (ECDSA P-384 + ML-DSA-65), fuel instrumentation, compile, instantiate and
// qx_init, and the reply. "host" figures are the host's part alone, from
// its service_action console line. Modules: test/services/tally (a few
// hundred bytes) and services/echo. Instantiating a service outside a
// running system is in services.bench.ts.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine, IMAGE_FILE } from '../../host/machine.ts';
import { packImage, parseImage, signImage } from '../../host/image.ts';
import { loadPublicKeys, writeKeyPair } from '../../host/base/keys.ts';
import { validateManifest } from '../../host/manifest.ts';
import { signModule } from '../../host/modsig.ts';
import { FrameClient } from '../../host/client/frames.ts';
import * as keysCmd from '../../host/cmd/keys.ts';
import { ascIfStale, RELEASE } from '../support/asc.ts';
import { buildService } from '../services/build.ts';
import { ROOT, median, round, tempDir, type Bench, type FigureSpec, type Figures } from './support.ts';

const ROUNDS = 20; // per module, after one warm-up round
const MEDIAN = 'median ms';
const P90 = 'p90 ms';
const MODULES = ['tally', 'echo'] as const;

const FIGURES: FigureSpec[] = [
  ...MODULES.flatMap((m) => [
    { key: `${m}_load_http_ms_median`, row: `${m}: load, admin request round trip`, col: MEDIAN },
    { key: `${m}_load_http_ms_p90`, row: `${m}: load, admin request round trip`, col: P90 },
    { key: `${m}_load_host_ms_median`, row: `${m}: load, host part (verify, prepare, instantiate, qx_init)`, col: MEDIAN },
    { key: `${m}_unload_http_ms_median`, row: `${m}: unload, admin request round trip`, col: MEDIAN },
  ]),
  { key: 'tally_upgrade_http_ms_median', row: 'tally: upgrade (state hand-off + qx_migrate), round trip', col: MEDIAN },
  { key: 'tally_upgrade_host_ms_median', row: 'tally: upgrade, host part', col: MEDIAN },
];

function p90(samples: number[]): number | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))];
}

const bench: Bench = {
  name: 'live-load',
  title: 'Live load: load, upgrade and unload a signed service in a running system',
  figures: FIGURES,
  requires: [join(ROOT, 'build/kernel.wasm')],
  async run() {
    buildService('ledger');
    buildService('gateway');
    buildService('echo');
    const wasm = {
      tally: readFileSync(ascIfStale('test/services/tally/v1.ts', 'build/test/tally-v1.wasm', ['test/services/tally', 'services/sdk'], [...RELEASE, '--use', 'abort='])),
      tally2: readFileSync(ascIfStale('test/services/tally/v2.ts', 'build/test/tally-v2.wasm', ['test/services/tally', 'services/sdk'], [...RELEASE, '--use', 'abort='])),
      echo: readFileSync(join(ROOT, 'build/services/echo.wasm')),
    };
    const dir = tempDir('liveload-bench');
    const keys = writeKeyPair(join(dir, 'keys'));
    const manifest = validateManifest(JSON.parse(readFileSync(join(ROOT, 'images/bank/manifest.json'), 'utf8')));
    manifest.services = manifest.services.filter((s) => s.name === 'ledger' || s.name === 'gateway');
    const gateway = manifest.services.find((s) => s.name === 'gateway')!;
    gateway.caps = gateway.caps.filter((c) => !c.startsWith('send:') || manifest.services.some((s) => c === `send:${s.name}`)); // no peer left out
    gateway.config = { ...gateway.config, transfer_checks: false }; // no compliance service to check transfers
    const ledger = manifest.services.find((s) => s.name === 'ledger')!;
    ledger.config = { accounts_max: 1024, transfers_max: 1024, pending_max: 64, history_max: 1024 };
    ledger.memory_pages_max = 1024;
    const services = new Map(manifest.services.map((s) => [s.name, new Uint8Array(readFileSync(join(ROOT, 'build/services', `${s.module}.wasm`)))]));
    const bytes = signImage(packImage({ manifest, kernel: new Uint8Array(readFileSync(join(ROOT, 'build/kernel.wasm'))), services }), keys.key);
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, IMAGE_FILE), bytes);
    const out: string[] = [];
    await keysCmd.main(['create', '--data', dataDir, '--role', 'admin'], { out: (t) => out.push(t), err: () => {} });
    const admin = out.map((t) => JSON.parse(t)).find((e) => e.event === 'key_created').key as string;
    const hostMs: number[] = [];
    const machine = await Machine.boot({
      image: parseImage(bytes), imageBytes: bytes, dataDir, mode: 'live', trust: loadPublicKeys(keys.pubPath),
      onLine: (l) => { if (l.includes('"service_action"')) hostMs.push(JSON.parse(l).ms as number); },
    });
    const figures: Figures = {};
    const notes: string[] = [];
    try {
      const addr = await machine.listen('127.0.0.1', 0);
      const base = `http://127.0.0.1:${addr.port}`;
      const post = async (path: string, body: unknown): Promise<number> => {
        const t = performance.now();
        const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
        return performance.now() - t;
      };
      const sig = async (m: Buffer) => Buffer.from(await signModule(m, keys.key)).toString('base64');
      const signed = { tally: await sig(wasm.tally), tally2: await sig(wasm.tally2), echo: await sig(wasm.echo) };
      const client = await FrameClient.connect('127.0.0.1', addr.port);
      const upgradeHttp: number[] = [];
      const upgradeHost: number[] = [];
      for (const m of MODULES) {
        const load: number[] = [];
        const loadHost: number[] = [];
        const unload: number[] = [];
        for (let r = 0; r <= ROUNDS; r++) {
          const name = `${m}-bench`;
          hostMs.length = 0;
          const l = await post('/v1/system/services', { name, module: wasm[m].toString('base64'), signature: signed[m], caps: ['net', 'log'] });
          const lh = hostMs.pop() ?? NaN;
          const reply = await client.request(name, m === 'tally' ? Uint8Array.of(1) : Buffer.from('ping'));
          if (reply.status !== 0) throw new Error(`${name}: frame status ${reply.status}`);
          if (m === 'tally') {
            const u = await post('/v1/system/services/upgrade', { name, module: wasm.tally2.toString('base64'), signature: signed.tally2 });
            if (r > 0) { upgradeHttp.push(u); upgradeHost.push(hostMs.pop() ?? NaN); }
          }
          const ul = await post('/v1/system/services/unload', { name });
          if (r === 0) continue;
          load.push(l); loadHost.push(lh); unload.push(ul);
        }
        figures[`${m}_load_http_ms_median`] = round(median(load), 2);
        figures[`${m}_load_http_ms_p90`] = round(p90(load), 2);
        figures[`${m}_load_host_ms_median`] = round(median(loadHost), 2);
        figures[`${m}_unload_http_ms_median`] = round(median(unload), 2);
      }
      figures.tally_upgrade_http_ms_median = round(median(upgradeHttp), 2);
      figures.tally_upgrade_host_ms_median = round(median(upgradeHost), 2);
      client.close();
      notes.push(`module bytes: tally ${wasm.tally.length}, echo ${wasm.echo.length}; every command is logged and made durable before it is applied (one fdatasync in the round trip)`);
      notes.push('a module\'s instrumentation is cached by content (host/fuel.ts), so only the warm-up round of each module pays for binaryen; each round unloads what it loaded');
    } finally {
      await machine.stop();
    }
    return { figures, params: { rounds: ROUNDS }, notes };
  },
};

export default bench;
