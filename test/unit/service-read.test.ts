// ServiceInstance.read (host/services.ts), on a small module written here:
// its qx_read copies the request into its reply and bumps a mutable global;
// given a request starting with 1 it also writes one byte outside its read
// area. Proves:
//   - the reply comes back, the read area is zeros again and the global is
//     back at its value: the state digest is what it was before;
//   - with verify, a read that wrote outside its area is caught (it throws
//     a ServiceFault naming the service), and without verify the same read
//     is answered (the check costs two digests, so production skips it);
//   - a request over qx_read_request_max is refused (FRAME_E_TOO_LARGE) and
//     a negative return is the service's error message (FRAME_E_SERVICE).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import binaryen from 'binaryen';
import * as abi from '../../hal/abi.ts';
import { ServiceInstance, ServiceFault } from '../../host/services.ts';
import type { Kernel } from '../../host/base/kernel.ts';

const AREA = 4096;
const REQUEST_MAX = 256;
const REPLY_MAX = 512;

const WAT = `(module
  (memory (export "memory") 1)
  (global $reads (mut i32) (i32.const 0))
  (export "qx_g0" (global $reads))
  (func (export "qx_inbox") (result i32) (i32.const 8192))
  (func (export "qx_inbox_bytes") (result i32) (i32.const 1024))
  (func (export "qx_init") (param i32))
  (func (export "qx_handle") (param i32 i32 i32 i32))
  (func (export "qx_read_area") (result i32) (i32.const ${AREA}))
  (func (export "qx_read_request_max") (result i32) (i32.const ${REQUEST_MAX}))
  (func (export "qx_read_reply_max") (result i32) (i32.const ${REPLY_MAX}))
  (func (export "qx_read") (param $len i32) (result i32)
    (global.set $reads (i32.add (global.get $reads) (i32.const 1)))
    (if (i32.eq (i32.load8_u (i32.const ${AREA})) (i32.const 1))
      (then (i32.store8 (i32.const 100) (i32.const 7))))
    (if (i32.eq (i32.load8_u (i32.const ${AREA})) (i32.const 2))
      (then
        (i32.store8 (i32.const ${AREA + REQUEST_MAX}) (i32.const 110))
        (i32.store8 (i32.const ${AREA + REQUEST_MAX + 1}) (i32.const 111))
        (return (i32.const -2))))
    (memory.copy (i32.const ${AREA + REQUEST_MAX}) (i32.const ${AREA}) (local.get $len))
    (local.get $len)))`;

function instance(): ServiceInstance {
  const m = binaryen.parseText(WAT);
  m.setFeatures(binaryen.Features.All);
  const bytes = m.emitBinary();
  m.dispose();
  const hooks = { afterReply() {}, afterLog() {} };
  return new ServiceInstance(0, 'probe', new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {} as Kernel, hooks);
}

test('a read answers, then the area is zeros and the globals are back: the digest is unchanged', () => {
  const s = instance();
  const before = s.stateDigest();
  const r = s.read(Uint8Array.of(5, 6, 7, 8), 1_000_000n, true);
  assert.is(r.status, abi.FRAME_OK);
  assert.equal([...r.payload], [5, 6, 7, 8]);
  assert.ok(s.stateDigest().equals(before), 'state digest unchanged');
  const mem = s.memoryBytes();
  assert.ok(mem.subarray(AREA, AREA + REQUEST_MAX + REPLY_MAX).every((b) => b === 0), 'read area zeroed');
});

test('verify catches a read that wrote outside its area; without verify it is answered', () => {
  const s = instance();
  assert.throws(() => s.read(Uint8Array.of(1, 0), 1_000_000n, true), (e: Error) => e instanceof ServiceFault && /probe: answering a read changed its state/.test(e.message));
  const t = instance();
  assert.is(t.read(Uint8Array.of(1, 0), 1_000_000n, false).status, abi.FRAME_OK);
});

test('a request over the maximum is refused; a negative return is the service error message', () => {
  const s = instance();
  const big = s.read(new Uint8Array(REQUEST_MAX + 1), 1_000_000n, true);
  assert.is(big.status, abi.FRAME_E_TOO_LARGE);
  assert.match(Buffer.from(big.payload).toString(), /over the 256 the service takes/);
  const err = s.read(Uint8Array.of(2), 1_000_000n, true);
  assert.is(err.status, abi.FRAME_E_SERVICE);
  assert.is(Buffer.from(err.payload).toString(), 'no');
});

test.run();
