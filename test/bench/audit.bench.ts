// test/bench/audit.bench.ts: the price of the security features of issue 7.
//
//   - HSM signing rate: ECDSA P-384 signatures per second from a SoftHSM2
//     token through the Rust addon (each a libuv-worker job), one at a time
//     and 8 in flight; and from the software token (node:crypto) for scale.
//   - ML-DSA-65 (@noble/post-quantum) sign and verify time, median.
//   - Checkpoint sealing on ledger-path throughput: counter adds, 1000 in
//     flight, against three images differing only in audit.checkpoint_interval
//     (none, 1024, 64), checkpoints signed with a development key set
//     (P-384 + ML-DSA-65), in the same run.

import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { FrameClient, counterRequest } from '../../host/client/frames.ts';
import { openHsm } from '../../host/hsm/hsm.ts';
import { writeKeyPair } from '../../host/base/keys.ts';
import { demoManifest, makeImage, removeDir, Server as TestServer } from '../support/helpers.ts';
import { makeSoftHsmToken } from '../support/softhsm.ts';
import {
  IN_FLIGHT_MAX, ROOT, median, ratio, round, sendWindowed, describeFailures, tempDir,
  type Bench, type FigureSpec, type Figures,
} from './support.ts';

const SIGN_MS = 2_000;
const MLDSA_RUNS = 40;
const ADDS = 40_000;
const ADDS_MS_MAX = 6_000;
const INTERVALS = [0, 1024, 64] as const;

const FIGURES: FigureSpec[] = [
  { key: 'hsm_pkcs11_sign_per_s', row: 'ECDSA P-384 sign, SoftHSM2 (PKCS#11), 1 in flight', col: 'signs/s' },
  { key: 'hsm_pkcs11_sign8_per_s', row: 'ECDSA P-384 sign, SoftHSM2 (PKCS#11), 8 in flight', col: 'signs/s' },
  { key: 'hsm_soft_sign_per_s', row: 'ECDSA P-384 sign, software token', col: 'signs/s' },
  { key: 'mldsa65_sign_ms', row: 'ML-DSA-65 sign', col: 'median ms' },
  { key: 'mldsa65_verify_ms', row: 'ML-DSA-65 verify', col: 'median ms' },
  ...INTERVALS.flatMap((i) => [
    { key: `adds_interval_${i}_inputs_per_s`, row: `counter adds, checkpoints ${i === 0 ? 'off' : `every ${i}`}`, col: 'inputs/s' },
    { key: `adds_interval_${i}_checkpoints_count`, row: `counter adds, checkpoints ${i === 0 ? 'off' : `every ${i}`}`, col: 'checkpoints' },
    { key: `adds_interval_${i}_vs_off_ratio`, row: `counter adds, checkpoints ${i === 0 ? 'off' : `every ${i}`}`, col: '× off' },
  ]),
];

async function signRate(sign: () => Promise<unknown>, inFlight: number): Promise<number> {
  const started = performance.now();
  let done = 0;
  const worker = async () => {
    while (performance.now() - started < SIGN_MS) { await sign(); done++; }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - started) / 1000);
}

const bench: Bench = {
  name: 'audit',
  title: 'Security: HSM signing, ML-DSA-65, audit checkpoints',
  figures: FIGURES,
  requires: [join(ROOT, 'dist/qenex.js'), join(ROOT, 'build/kernel.wasm'), '/usr/lib/softhsm/libsofthsm2.so'],
  async run() {
    const notes: string[] = [];
    const params: Record<string, number | string> = { sign_ms: SIGN_MS, mldsa_runs: MLDSA_RUNS, adds_max: ADDS, adds_ms_max: ADDS_MS_MAX, in_flight: IN_FLIGHT_MAX };
    const figures: Figures = {};
    const token = makeSoftHsmToken('qenex-bench');
    const softDir = tempDir('soft-hsm');
    try {
      const hsm = await openHsm({ kind: 'pkcs11' });
      await hsm.generateSigningKey('bench');
      const data = randomBytes(48);
      figures.hsm_pkcs11_sign_per_s = round(await signRate(() => hsm.sign('bench', data), 1));
      figures.hsm_pkcs11_sign8_per_s = round(await signRate(() => hsm.sign('bench', data), 8));
      hsm.close();
      const soft = await openHsm({ kind: 'soft', softDir, notice: () => {} });
      await soft.generateSigningKey('bench');
      figures.hsm_soft_sign_per_s = round(await signRate(() => soft.sign('bench', data), 1));
      soft.close();
    } finally {
      token.remove();
      removeDir(softDir);
    }
    const { secretKey, publicKey } = ml_dsa65.keygen(randomBytes(32));
    const signMs: number[] = [];
    const verifyMs: number[] = [];
    for (let i = 0; i < MLDSA_RUNS; i++) {
      const msg = randomBytes(74);
      let t = performance.now();
      const sig = ml_dsa65.sign(msg, secretKey);
      signMs.push(performance.now() - t);
      t = performance.now();
      if (!ml_dsa65.verify(sig, msg, publicKey)) throw new Error('ML-DSA-65 signature did not verify');
      verifyMs.push(performance.now() - t);
    }
    figures.mldsa65_sign_ms = round(median(signMs));
    figures.mldsa65_verify_ms = round(median(verifyMs));

    for (const interval of INTERVALS) {
      const manifest = interval === 0 ? demoManifest() : { ...demoManifest(), audit: { checkpoint_interval: interval } };
      if (interval === 0) delete (manifest as { audit?: unknown }).audit;
      const img = makeImage(`bench-audit-${interval}`, manifest);
      const keys = writeKeyPair(join(img.dir, 'audit-keys'));
      const server = TestServer.start(['boot', img.imagePath, '--data', join(img.dir, 'data'), '--trust', img.pubPath,
        '--listen', '127.0.0.1:0', '--audit-key', keys.keyPath]);
      try {
        const { host, port } = await server.address();
        const client = await FrameClient.connect(host, port);
        const r = await sendWindowed(client, {
          service: 'counter', total: ADDS, inFlight: IN_FLIGHT_MAX, maxMs: ADDS_MS_MAX,
          payload: (i) => counterRequest(1, BigInt(i + 1)),
        });
        client.close();
        const failed = describeFailures(`interval ${interval}`, r);
        if (failed !== null) notes.push(failed);
        figures[`adds_interval_${interval}_inputs_per_s`] = round(r.ok / (r.elapsedMs / 1000));
      } finally {
        await server.kill('SIGTERM');
      }
      const { readAuditLog } = await import('../../host/audit/log.ts');
      const { ENTRY_CHECKPOINT } = await import('../../hal/log.ts');
      figures[`adds_interval_${interval}_checkpoints_count`] = readAuditLog(join(img.dir, 'data')).entries.filter((e) => e.type === ENTRY_CHECKPOINT).length;
      removeDir(img.dir);
    }
    for (const interval of INTERVALS) {
      figures[`adds_interval_${interval}_vs_off_ratio`] = round(ratio(figures[`adds_interval_${interval}_inputs_per_s`], figures.adds_interval_0_inputs_per_s), 3);
    }
    notes.push('HSM rates are sequential awaits of real PKCS#11 calls, each run on a libuv worker; SoftHSM2 is software, a hardware HSM differs');
    notes.push('checkpoint phases use images identical but for audit.checkpoint_interval; each checkpoint is one extra log entry signed with P-384 + ML-DSA-65 off the run loop');
    return { figures, params, notes };
  },
};

export default bench;
