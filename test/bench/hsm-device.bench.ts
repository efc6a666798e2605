// test/bench/hsm-device.bench.ts: what the kernel's HSM device costs.
// ECDSA P-384 signatures per second on a throw-away SoftHSM2 token, asked
// for directly (host/hsm/hsm.ts) and by a service through the whole device
// path (syscall, grant check, ring, HSM, result logged and made durable,
// reply message), 1 and 8 requests in flight, in the same run, so the
// ratio is the price of logging every HSM result before a service sees it.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { Machine } from '../../host/machine.ts';
import { packImage, parseImage } from '../../host/image.ts';
import { validateManifest } from '../../host/manifest.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { openHsm } from '../../host/hsm/hsm.ts';
import { ascIfStale, RELEASE } from '../support/asc.ts';
import { makeSoftHsmToken } from '../support/softhsm.ts';
import { ROOT, round, ratio, tempDir, type Bench, type Figures, type FigureSpec } from './support.ts';

const SIGN_MS = 3000; // per figure

const FIGURES: FigureSpec[] = [
  { key: 'direct_sign_per_s', row: 'ECDSA P-384 sign, host calls the HSM, 1 in flight', col: 'signs/s' },
  { key: 'device_sign_per_s', row: 'ECDSA P-384 sign, service through the HSM device, 1 in flight', col: 'signs/s' },
  { key: 'direct_sign8_per_s', row: 'ECDSA P-384 sign, host calls the HSM, 8 in flight', col: 'signs/s' },
  { key: 'device_sign8_per_s', row: 'ECDSA P-384 sign, service through the HSM device, 8 in flight', col: 'signs/s' },
  { key: 'device_vs_direct_ratio', row: 'device / direct, 1 in flight', col: '× direct' },
  { key: 'device_vs_direct8_ratio', row: 'device / direct, 8 in flight', col: '× direct' },
];

async function rate(op: () => Promise<unknown>, inFlight: number): Promise<number> {
  const started = performance.now();
  let done = 0;
  const worker = async () => {
    while (performance.now() - started < SIGN_MS) { await op(); done++; }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - started) / 1000);
}

const bench: Bench = {
  name: 'hsm-device',
  title: 'HSM device: signing by a service through the kernel vs the host directly',
  figures: FIGURES,
  requires: ['/usr/lib/softhsm/libsofthsm2.so', join(ROOT, 'build/kernel.wasm')],
  async run() {
    const figures: Figures = {};
    const token = makeSoftHsmToken('qenex-bench-dev');
    const dir = tempDir('hsm-device');
    const hsm = await openHsm({ kind: 'pkcs11' });
    let machine: Machine | null = null;
    let client: FrameClient | null = null;
    try {
      await hsm.generateSigningKey('bench');
      const data = randomBytes(48);
      const manifest = validateManifest({
        name: 'bench-hsm', version: 1,
        kernel: { message_slots: 64, message_bytes_max: 4096, queue_depth: 64, timers_max: 0, requests_in_flight_max: 64, batch_bytes_max: 65536, log_preallocate_bytes: 0 },
        services: [{ name: 'signer', module: 'hsmprobe', priority: 0, budget: 16, memory_pages_max: 16, caps: ['net'], hsm_keys: ['bench'] }],
      });
      const probe = new Uint8Array(readFileSync(ascIfStale('test/services/hsmprobe/index.ts', 'build/test/hsmprobe.wasm', ['services/sdk'], [...RELEASE, '--use', 'abort='])));
      const imageBytes = packImage({ manifest, kernel: new Uint8Array(readFileSync(join(ROOT, 'build/kernel.wasm'))), services: new Map([['signer', probe]]) });
      machine = await Machine.boot({ image: parseImage(imageBytes), imageBytes, dataDir: join(dir, 'data'), mode: 'live', hsm });
      const c = await FrameClient.connect('127.0.0.1', (await machine.listen('127.0.0.1', 0)).port);
      client = c;
      const request = Buffer.concat([Buffer.from([abi.OP_HSM_SIGN, 5, 0, 0]), Buffer.from('bench'), data]);
      const viaDevice = async () => {
        const r = await c.request('signer', request, 30_000);
        if (r.status !== abi.FRAME_OK || r.payload.readInt32LE(8) !== abi.HSM_OK) throw new Error(`device sign failed: ${r.payload.toString('utf8')}`);
      };
      figures.direct_sign_per_s = round(await rate(() => hsm.sign('bench', data), 1));
      figures.device_sign_per_s = round(await rate(viaDevice, 1));
      figures.direct_sign8_per_s = round(await rate(() => hsm.sign('bench', data), 8));
      figures.device_sign8_per_s = round(await rate(viaDevice, 8));
      figures.device_vs_direct_ratio = round(ratio(figures.device_sign_per_s, figures.direct_sign_per_s));
      figures.device_vs_direct8_ratio = round(ratio(figures.device_sign8_per_s, figures.direct_sign8_per_s));
    } finally {
      client?.close();
      if (machine !== null) await machine.stop();
      hsm.close();
      token.remove();
    }
    return {
      figures,
      params: { sign_ms: SIGN_MS, data_bytes: 48 },
      notes: ['device path: every result is logged with fdatasync before the service sees it (group commit shares it between requests in flight)'],
    };
  },
};

export default bench;
