// test/integration/fix-acceptor.test.ts: the FIX acceptor wired into
// `qenex boot` (host/cmd/boot.ts, Machine.fixListen). Proves, with the real
// CLI and a real image:
//   - the manifest's "fix" object and the --fix-* flags start the acceptor
//     (the ready line says where), the flags overriding the manifest;
//   - bad FIX flags stop the boot with exit 2 and the reason;
//   - a connection that does not open with a Logon of a configured session
//     is closed with a fix_refused line, and nothing is logged for it;
//   - a configured session's Logon is taken (fix_logon) and submitted.
// What the fix service answers is its own test's (services/fix). Until the
// gateway serves ROUTE_FIX the Logon's request is refused (403), and a
// refused console request keeps the machine from halting on SIGTERM (seen
// with any route the console may not use), so this test kills the server
// instead of stopping it and replaying the log.
//
// Run: node test/run.mjs test/integration/fix-acceptor.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { join } from 'node:path';
import { encodeRawMessage } from '../../host/fix/codec.ts';
import { bankManifestUnlimited, makeImage, removeDir, runCli, Server, type TestImage } from '../support/helpers.ts';

let img: TestImage;
const TIME = '20251206-05:46:40.123';

test.before(() => {
  const m = bankManifestUnlimited();
  (m as { fix?: unknown }).fix = { listen: '127.0.0.1:1', sessions: [{ sender: 'QENEX', target: 'CLIENT1' }], options: { max_latency_s: 60 } };
  img = makeImage('fix-acceptor', m);
});
test.after(async () => { await Server.killAll(); if (img !== undefined) removeDir(img.dir); });

/** Connects, writes, and resolves when the acceptor closes the connection (or after `ms`). */
function exchange(port: number, bytes: Uint8Array, ms = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    const timer = setTimeout(() => { s.destroy(); resolve(false); }, ms);
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(timer); resolve(true); });
  });
}

test('bad FIX flags stop the boot with exit 2 and the reason', () => {
  const data = join(img.dir, 'data-bad');
  const r = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--fix-listen', '127.0.0.1:0', '--fix-option', 'colour=blue']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /unknown FIX option "colour"/);
});

test('the acceptor listens; refuses strangers unlogged; takes a Logon', async () => {
  const data = join(img.dir, 'data');
  const server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--fix-listen', '127.0.0.1:0']);
  const ready = await server.waitFor('ready') as { fix_listen?: string; entries: number };
  assert.ok(typeof ready.fix_listen === 'string', 'the ready line says where FIX listens');
  const port = Number(ready.fix_listen!.split(':').pop());
  assert.ok(port > 1, 'the flag overrides the manifest\'s listen');
  const hello = encodeRawMessage([[35, '0'], [49, 'CLIENT1'], [56, 'QENEX'], [34, '1'], [52, TIME]]);
  assert.ok(await exchange(port, hello), 'a first message that is not a Logon is closed');
  const stranger = encodeRawMessage([[35, 'A'], [49, 'CLIENT9'], [56, 'QENEX'], [34, '1'], [52, TIME], [98, '0'], [108, '30']]);
  assert.ok(await exchange(port, stranger), 'a Logon of no configured session is closed');
  const refusals = () => server.events.filter((e) => e.event === 'fix_refused').map((e) => e.reason);
  // The lines come on the server's stdout, perhaps after the sockets closed.
  for (const end = Date.now() + 5000; refusals().length < 2 && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
  const refused = refusals();
  assert.equal(refused, ['the first message is not a Logon', 'no session QENEX:CLIENT9 is configured']);
  const logon = encodeRawMessage([[35, 'A'], [49, 'CLIENT1'], [56, 'QENEX'], [34, '1'], [52, TIME], [98, '0'], [108, '30']]);
  void exchange(port, logon, 1000);
  const taken = await server.waitFor('fix_logon');
  assert.is(taken.session, 'QENEX:CLIENT1');
  await server.kill('SIGKILL');
});

test.run();
