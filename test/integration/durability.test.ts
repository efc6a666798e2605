// Durability of the booted machine, through the real CLI over real TCP:
// acknowledged inputs survive SIGKILL, the state hash after reboot equals
// `qenex replay`, a clean stop's hash equals replay too, and a second host
// can't open a data directory that is in use.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { FrameClient, counterRequest, counterReply } from '../../host/client/frames.ts';
import { makeImage, removeDir, runCli, event, Server, type TestImage, demoManifest } from '../support/helpers.ts';

let img: TestImage;
test.before(() => { img = makeImage('durability', demoManifest()); });
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

function bootArgs(data: string, extra: string[] = []): string[] {
  return ['boot', img.imagePath, '--data', data, '--trust', img.pubPath, ...extra];
}

test('acknowledged counter adds survive SIGKILL under load, and reboot hash equals replay', async () => {
  // Proves: every input acknowledged before a SIGKILL is applied after reboot
  // (total >= sum of acknowledged values), nothing is invented (total <= sum
  // of everything sent), and the rebooted state hash equals qenex replay's.
  const data = join(img.dir, 'crash');
  const server = Server.start(bootArgs(data, ['--listen', '127.0.0.1:0']));
  const { host, port } = await server.address();
  const client = await FrameClient.connect(host, port);
  let ackedSum = 0n; let ackedCount = 0n; let sentSum = 0n;
  const inFlight = new Set<Promise<void>>();
  const started = Date.now();
  let value = 1n;
  let killed = false;
  while (!killed) {
    while (inFlight.size < 200 && !killed) {
      const v = value++;
      sentSum += v;
      const p = client.call('counter', counterRequest(1, v), 10_000).then(() => { ackedSum += v; ackedCount++; }, () => {});
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await Promise.race(inFlight);
    if (Date.now() - started > 700 && ackedCount > 500n) {
      killed = true;
      server.child.kill('SIGKILL');
    }
  }
  await server.exited;
  await Promise.allSettled([...inFlight]);
  client.close();
  assert.ok(ackedCount > 500n, `load reached the server (${ackedCount} acknowledged)`);

  const reboot = runCli(bootArgs(data, ['--once']));
  assert.is(reboot.code, 0, reboot.stderr);
  const ready = event(reboot.events, 'ready')!;
  const replay = runCli(['replay', '--data', data]);
  assert.is(replay.code, 0, replay.stderr);
  assert.is(event(replay.events, 'replay')!.state_hash, ready.state_hash, 'replay hash equals the rebooted hash');
  assert.is(event(replay.events, 'replay')!.entries, ready.entries);

  const again = Server.start(bootArgs(data, ['--listen', '127.0.0.1:0']));
  const addr = await again.address();
  const c2 = await FrameClient.connect(addr.host, addr.port);
  const state = counterReply(await c2.call('counter', counterRequest(2)));
  c2.close();
  await again.kill('SIGTERM');
  assert.ok(state.total >= ackedSum, `total ${state.total} >= acknowledged ${ackedSum}`);
  assert.ok(state.adds >= ackedCount, `adds ${state.adds} >= acknowledged ${ackedCount}`);
  assert.ok(state.total <= sentSum, `total ${state.total} <= sent ${sentSum}`);
});

test('a clean stop (SIGTERM) prints a stopped hash that replay reproduces', async () => {
  // Proves: graceful shutdown flushes and applies everything, and the hash
  // it reports is exactly what the log alone rebuilds.
  const data = join(img.dir, 'clean');
  const server = Server.start(bootArgs(data, ['--listen', '127.0.0.1:0']));
  const { host, port } = await server.address();
  const client = await FrameClient.connect(host, port);
  for (let i = 0; i < 50; i++) await client.call('counter', counterRequest(1, BigInt(i)));
  assert.equal((await client.call('echo', Buffer.from('still here'))).toString(), 'still here');
  client.close();
  assert.is(await server.kill('SIGTERM'), 0);
  const stopped = server.events.find((e) => e.event === 'stopped')!;
  const replay = runCli(['replay', '--data', data]);
  assert.is(replay.code, 0, replay.stderr);
  assert.is(event(replay.events, 'replay')!.state_hash, stopped.state_hash);
});

test('the state hash depends on the inputs: a different history gives a different hash', () => {
  // Proves: the hash is not a constant — two data dirs with different
  // histories (one empty, one with inputs) hash differently.
  const empty = runCli(bootArgs(join(img.dir, 'empty'), ['--once']));
  const clean = runCli(['replay', '--data', join(img.dir, 'clean')]);
  assert.is(empty.code, 0, empty.stderr);
  assert.is.not(event(empty.events, 'ready')!.state_hash, event(clean.events, 'replay')!.state_hash);
});

test('a second host cannot open a data directory in use', async () => {
  // Proves: the exclusive lock on the log refuses a second boot with a clear
  // message, and the first host keeps serving.
  const data = join(img.dir, 'locked');
  const server = Server.start(bootArgs(data, ['--listen', '127.0.0.1:0']));
  const { host, port } = await server.address();
  const second = runCli(bootArgs(data, ['--once']));
  assert.is(second.code, 1);
  assert.match(second.stderr, /locked by another qenex process/);
  assert.is(second.stderr.trim().split('\n').filter((l) => l.startsWith('qenex:')).length, 1, 'one error line');
  const client = await FrameClient.connect(host, port);
  assert.equal((await client.call('echo', Buffer.from('ok'))).toString(), 'ok');
  client.close();
  await server.kill('SIGTERM');
});

test.run();
