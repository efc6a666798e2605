// The SDK's HSM helpers (services/sdk/hsm.ts) build exactly the requests
// the kernel and host read (hal/abi.ts HSM section): the test-only
// hsmprobe service, run against the SDK harness's fake kernel, asks for
// each operation; the host's own decoder (host/hsm/device.ts
// parseHsmRequest) reads back label and fields. The harness applies the
// grants like the kernel, and its answer reaches the service as a kernel
// reply carrying the request id.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as abi from '../../hal/abi.ts';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import { parseHsmRequest } from '../../host/hsm/device.ts';
import { ascIfStale, RELEASE } from '../support/asc.ts';

const PROBE_WASM = ascIfStale('test/services/hsmprobe/index.ts', 'build/test/hsmprobe.wasm', ['services/sdk'], [...RELEASE, '--use', 'abort=']);

function probe(op: number, label: string, args: Uint8Array = new Uint8Array(0)): Buffer {
  const l = Buffer.from(label, 'ascii');
  return Buffer.concat([Buffer.from([op, l.length, 0, 0]), l, args]);
}
const u32le = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };

test('each helper encodes what the host decodes; grants are applied; the answer reaches the service', async () => {
  // Proves the SDK's request layout is the one the host decodes, field by field, for every operation.
  const svc = await ServiceHarness.load(PROBE_WASM, { caps: ['hsm_random'], hsmKeys: ['k-sign', 'k-aes'] });
  svc.init({});
  const iv = Buffer.alloc(12, 9);
  const cases: Array<[Buffer, (r: ReturnType<typeof parseHsmRequest>) => void]> = [
    [probe(abi.OP_HSM_SIGN, 'k-sign', Buffer.from('data')), (r) => {
      assert.is(r.op, abi.OP_HSM_SIGN);
      if (r.op !== abi.OP_HSM_SIGN) return;
      assert.is(r.label, 'k-sign');
      assert.is(Buffer.from(r.data).toString(), 'data');
    }],
    [probe(abi.OP_HSM_VERIFY, 'k-sign', Buffer.concat([u32le(3), Buffer.from('sigdata')])), (r) => {
      assert.is(r.op, abi.OP_HSM_VERIFY);
      if (r.op !== abi.OP_HSM_VERIFY) return;
      assert.is(Buffer.from(r.signature).toString(), 'sig');
      assert.is(Buffer.from(r.data).toString(), 'data');
    }],
    [probe(abi.OP_HSM_ENCRYPT, 'k-aes', Buffer.concat([iv, u32le(2), Buffer.from('adplain')])), (r) => {
      assert.is(r.op, abi.OP_HSM_ENCRYPT);
      if (r.op !== abi.OP_HSM_ENCRYPT) return;
      assert.ok(Buffer.from(r.iv).equals(iv));
      assert.is(r.label, 'k-aes');
      assert.is(Buffer.from(r.aad).toString(), 'ad');
      assert.is(Buffer.from(r.data).toString(), 'plain');
    }],
    [probe(abi.OP_HSM_RANDOM, '', u32le(40)), (r) => assert.equal(r, { op: abi.OP_HSM_RANDOM, count: 40 })],
    [probe(abi.OP_HSM_PUBLIC_KEY, 'k-sign'), (r) => assert.equal(r, { op: abi.OP_HSM_PUBLIC_KEY, label: 'k-sign' })],
  ];
  for (const [request, check] of cases) {
    assert.is(svc.request(request), null, 'the probe waits for the HSM');
    const asked = svc.hsmAsked.at(-1)!;
    check(parseHsmRequest(asked.op, asked.request));
  }
  // Not granted: refused by the syscall, nothing recorded.
  const before = svc.hsmAsked.length;
  assert.is(svc.request(probe(abi.OP_HSM_SIGN, 'k-other', Buffer.from('x')))!.payload.readInt32LE(0), abi.SYS_E_DENIED);
  assert.is(svc.hsmAsked.length, before);
  // The answer to the first request reaches its client.
  const first = svc.hsmAsked[0];
  const waiting = svc.pending[0]; // the sign request's token: the first still open
  svc.hsmAnswer(first.id, abi.HSM_OK, Buffer.alloc(96, 1));
  const answered = svc.takeReply(waiting);
  assert.ok(answered !== null);
  assert.is(answered!.payload.readInt32LE(0), first.id);
  assert.is(answered!.payload.readInt32LE(8), abi.HSM_OK);
  assert.is(answered!.payload.length, 12 + 96);
});

test.run();
