// The cluster client (host/client/cluster.ts) against a real QENEX server
// over the binary protocol, as a client of a cluster sees a failover: it
// skips an address where nothing listens, rides through the server being
// SIGKILLed under load and restarted on the same address (every call in
// flight completes, each transfer applied exactly once, checked with the
// history checker of test/support/history.ts), and gives up with
// ClusterUnavailable, naming the addresses, when nothing answers.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { join } from 'node:path';
import * as abi from '../../hal/abi.ts';
import { FrameError } from '../../host/client/frames.ts';
import { ClusterClient, ClusterUnavailable, type ClusterClientOptions } from '../../host/client/cluster.ts';
import { LedgerClient, account, transfer, CreateAccountResult, CreateTransferResult, type Transfer } from '../../host/client/ledger.ts';
import { freePort } from '../support/fix-initiator.ts';
import { History, readBack, type Outcome } from '../support/history.ts';
import { bankManifestUnlimited, makeImage, removeDir, runCli, event, Server, type TestImage } from '../support/helpers.ts';

let img: TestImage;
let data = '';
let key = '';
let server: Server;
let live = '';   // the server's address; it listens on a fixed port so a restart comes back on the same one
let closed = ''; // an address where nothing listens
const clients: ClusterClient[] = [];

function bootArgs(port: number): string[] {
  return ['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', `127.0.0.1:${port}`];
}

async function startServer(port: number): Promise<Server> {
  const s = Server.start(bootArgs(port));
  const { host, port: listening } = await s.address();
  assert.is(`${host}:${listening}`, `127.0.0.1:${port}`);
  return s;
}

/** A cluster client the after hook closes; generous timeouts, since these tests are about outcomes, not speed. */
async function cluster(o: Partial<ClusterClientOptions> & { addresses: readonly string[] }): Promise<ClusterClient> {
  const c = await ClusterClient.connect({ key, callTimeoutMs: 5000, retryForMs: 60_000, ...o });
  clients.push(c);
  return c;
}

test.before(async () => {
  img = makeImage('cluster-client', bankManifestUnlimited());
  data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  const made = runCli(['keys', 'create', '--data', data, '--trust', img.pubPath, '--role', 'operator', '--rate', '100000', '--burst', '100000']);
  assert.is(made.code, 0, made.stderr);
  key = (event(made.events, 'key_created') as { key: string }).key;
  const port = await freePort();
  closed = `127.0.0.1:${await freePort()}`;
  server = await startServer(port);
  live = `127.0.0.1:${port}`;
});
test.after(async () => {
  for (const c of clients) c.close();
  await Server.killAll();
  if (img !== undefined) removeDir(img.dir);
});

test('connect skips an address where nothing listens, and the client works as a LedgerClient transport', async () => {
  // Proves: with [a closed port, the server], connect ends on the server
  // (told through onSwitch once), and accounts and a transfer are created
  // through it, each call taking one attempt.
  const switches: string[] = [];
  const c = await cluster({ addresses: [closed, live], onSwitch: (a) => switches.push(a) });
  assert.is(c.address, live);
  assert.equal(switches, [live]);
  const ledger = new LedgerClient(c, 'gateway');
  const made = await ledger.createAccounts([account({ id: 0xa1n }), account({ id: 0xa2n })]);
  assert.equal(made.map((r) => r.result), [CreateAccountResult.ok, CreateAccountResult.ok]);
  const moved = await ledger.createTransfers([transfer({ id: 0xb1n, debit_account_id: 0xa1n, credit_account_id: 0xa2n, amount: 9n })]);
  assert.equal(moved.map((r) => r.result), [CreateTransferResult.ok]);
  const seen = await ledger.lookupAccounts([0xa1n, 0xa2n]);
  assert.equal(seen.map((a) => [a.id, a.debits_posted, a.credits_posted]), [[0xa1n, 9n, 0n], [0xa2n, 0n, 9n]]);
  assert.is(c.attempts, 3);
});

// The load of the failover test: workers each sending calls of a few
// transfers among a handful of accounts, one call at a time per worker.
const WORKERS = 8;
const CALLS_PER_WORKER = 30;
const TRANSFERS_PER_CALL = 4;
const ACCOUNTS = Array.from({ length: 6 }, (_, i) => 0x1000n + BigInt(i));
const KILL_AFTER_CALLS = 40; // settled calls before the SIGKILL: the load is running, most of it still to come

/** An outcome per transfer from a create_transfers reply: `exists` means an earlier attempt applied it (same fields, or the ledger says which differ). */
function outcomesOf(results: { result: number }[]): { outcome: Outcome; exists: boolean }[] {
  return results.map((r) => ({
    outcome: r.result === CreateTransferResult.ok || r.result === CreateTransferResult.exists ? 'ok' : 'failed',
    exists: r.result === CreateTransferResult.exists,
  }));
}

test('SIGKILL under load and a restart on the same address: calls in flight complete, each transfer applied once', async () => {
  // Proves: calls in flight when the server dies are sent again after it is
  // back and all succeed; every acknowledged transfer is present exactly
  // once, nothing is applied twice (History.check: balances equal the sum of
  // the present transfers), and the client made more attempts than calls.
  const switches: string[] = [];
  const c = await cluster({ addresses: [live], onSwitch: (a) => switches.push(a) });
  const ledger = new LedgerClient(c, 'gateway');
  const made = await ledger.createAccounts(ACCOUNTS.map((id) => account({ id })));
  assert.ok(made.every((r) => r.result === CreateAccountResult.ok), JSON.stringify(made.map((r) => r.result)));
  let calls = 1;

  const history = new History();
  const transferIds: bigint[] = [];
  const inFlight = new Set<number>();
  let inFlightAtKill: number[] = [];
  const startedAt = new Map<number, number>(); // call number -> when it was sent
  const settledAt = new Map<number, number>(); // call number -> when it settled
  let settled = 0;
  let exists = 0;
  let restartAt = Infinity;
  let restarted: Promise<void> | null = null;
  let nextId = 0x10_0000n;

  const restart = async (): Promise<void> => {
    inFlightAtKill = [...inFlight];
    server.child.kill('SIGKILL');
    await server.exited;
    restartAt = Date.now();
    server = await startServer(Number(live.split(':')[1]));
  };
  const worker = async (w: number): Promise<void> => {
    for (let k = 0; k < CALLS_PER_WORKER; k++) {
      const call = w * CALLS_PER_WORKER + k;
      const batch: Transfer[] = [];
      for (let i = 0; i < TRANSFERS_PER_CALL; i++) {
        const id = nextId++;
        const debit = ACCOUNTS[Number(id % BigInt(ACCOUNTS.length))];
        const credit = ACCOUNTS[Number((id + 1n) % BigInt(ACCOUNTS.length))];
        batch.push(transfer({ id, debit_account_id: debit, credit_account_id: credit, amount: 1n + (id % 7n) }));
        transferIds.push(id);
      }
      inFlight.add(call);
      startedAt.set(call, Date.now());
      calls++;
      const outcomes = await ledger.createTransfers(batch).then(outcomesOf, () => batch.map(() => ({ outcome: 'unknown' as Outcome, exists: false })));
      inFlight.delete(call);
      settledAt.set(call, Date.now());
      batch.forEach((t, i) => history.record({ id: t.id, debit: t.debit_account_id, credit: t.credit_account_id, amount: t.amount, outcome: outcomes[i].outcome }));
      exists += outcomes.filter((o) => o.exists).length;
      if (++settled === KILL_AFTER_CALLS) restarted = restart();
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  assert.ok(restarted !== null, 'the server was killed');
  await restarted;

  // A call in flight at the SIGKILL may still settle before the restart, from
  // a reply already on its way; calls sent before the restart that settled
  // after it waited out the outage (the workers keep sending during it).
  assert.ok(inFlightAtKill.length > 0, 'calls were in flight at the SIGKILL');
  const waitedOut = [...settledAt].filter(([call, at]) => startedAt.get(call)! < restartAt && at >= restartAt).length;
  assert.ok(waitedOut > 0, 'calls sent before the restart completed after it');
  const { present, balances } = await readBack(ledger, transferIds, ACCOUNTS);
  calls += 2;
  const report = history.check(present, balances);
  assert.equal(report.problems, [], report.problems.join('\n'));
  assert.equal([report.ok, report.failed, report.unknown], [WORKERS * CALLS_PER_WORKER * TRANSFERS_PER_CALL, 0, 0]);
  assert.is(present.size, transferIds.length, 'each transfer is present, once');
  assert.ok(c.attempts > calls, `attempts ${c.attempts} > calls ${calls}`);
  assert.equal(switches, [live, live], 'connected, then reconnected once to the restarted server');
  console.log(`  ${calls} calls, ${c.attempts} attempts, ${inFlightAtKill.length} in flight at the SIGKILL, ${waitedOut} waited out the restart, `
    + `${exists} transfers answered exists on a retry`);
});

test('with nothing answering, connect and calls reject with ClusterUnavailable naming the addresses', async () => {
  // Proves: connect to two closed ports gives up after retryForMs; a client
  // connected before the server died gives up on a call after retryForMs,
  // naming both its addresses and the last error. Bounds are generous.
  const retryForMs = 1500;
  const slackMs = 10_000;
  let t0 = Date.now();
  try {
    await ClusterClient.connect({ addresses: [closed, '127.0.0.1:1'], key, retryForMs });
    assert.unreachable('connected to closed ports');
  } catch (e) {
    assert.instance(e, ClusterUnavailable);
    assert.match((e as Error).message, `tried ${closed}, 127.0.0.1:1`);
    assert.ok(Date.now() - t0 >= retryForMs && Date.now() - t0 < retryForMs + slackMs, `gave up after ${Date.now() - t0} ms`);
  }

  const c = await cluster({ addresses: [closed, live], retryForMs });
  const ledger = new LedgerClient(c, 'gateway');
  assert.equal(await ledger.lookupAccounts([0xa1n]).then((a) => a.length), 1);
  await server.kill('SIGKILL');
  t0 = Date.now();
  try {
    await ledger.lookupAccounts([0xa1n]);
    assert.unreachable('a call succeeded with the server dead');
  } catch (e) {
    assert.instance(e, ClusterUnavailable);
    assert.equal(new Set((e as ClusterUnavailable).addresses), new Set([closed, live]));
    assert.match((e as Error).message, /^no node answered within 1500 ms \(tried .*\); last error: .*(ECONNREFUSED|connection closed|ECONNRESET)/);
    assert.ok(Date.now() - t0 >= retryForMs && Date.now() - t0 < retryForMs + slackMs, `gave up after ${Date.now() - t0} ms`);
  }
});

/**
 * A stand-in node speaking the frame protocol: it takes any auth frame and
 * answers each request as `answer` says (null: never), keeping the payloads.
 */
async function fakeNode(answer: (n: number) => { status: number; text: string } | null): Promise<{ address: string; seen: Buffer[]; stop: () => void }> {
  const seen: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= abi.FRAME_LEN_BYTES && buffered.length >= abi.FRAME_LEN_BYTES + buffered.readUInt32LE(0)) {
        const body = buffered.subarray(abi.FRAME_LEN_BYTES, abi.FRAME_LEN_BYTES + buffered.readUInt32LE(0));
        buffered = buffered.subarray(abi.FRAME_LEN_BYTES + body.length);
        const auth = (body.readUInt16LE(4) & abi.FRAME_F_AUTH) !== 0;
        if (!auth) seen.push(Buffer.from(body.subarray(abi.FRAME_REQUEST_HEADER_BYTES + body.readUInt8(6))));
        const a = auth ? { status: abi.FRAME_OK, text: '' } : answer(seen.length);
        if (a === null) continue;
        const text = Buffer.from(a.text);
        const reply = Buffer.alloc(abi.FRAME_LEN_BYTES + abi.FRAME_REPLY_HEADER_BYTES + text.length);
        reply.writeUInt32LE(abi.FRAME_REPLY_HEADER_BYTES + text.length, 0);
        reply.writeUInt32LE(body.readUInt32LE(0), 4);
        reply.writeUInt16LE(a.status, 8);
        text.copy(reply, abi.FRAME_LEN_BYTES + abi.FRAME_REPLY_HEADER_BYTES);
        socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const stop = (): void => { for (const s of sockets) s.destroy(); srv.close(); };
  return { address: `127.0.0.1:${(srv.address() as net.AddressInfo).port}`, seen, stop };
}

test('statuses: busy is retried on the node, unavailable moves on after three tries, an error is an answer, a silent node is left', async () => {
  // Proves, against stand-in nodes: busy twice then ok is one call of three
  // attempts on one connection; a service error rejects as FrameError after
  // one attempt; a node answering unavailable is asked three times, then the
  // next one answers; a node that never replies is left after callTimeoutMs
  // for the next one. Every retry sends the same payload bytes.
  const payload = Buffer.from('same bytes every time');
  const ok = { status: abi.FRAME_OK, text: 'done' };
  const busy = await fakeNode((n) => (n <= 2 ? { status: abi.FRAME_E_BUSY, text: 'busy' } : ok));
  const failing = await fakeNode(() => ({ status: abi.FRAME_E_SERVICE, text: 'bad request' }));
  const unavailable = await fakeNode(() => ({ status: abi.FRAME_E_UNAVAILABLE, text: 'not serving' }));
  const silent = await fakeNode(() => null);
  const healthy = await fakeNode(() => ok);
  try {
    const b = await cluster({ addresses: [busy.address] });
    assert.is((await b.call('gateway', payload)).toString(), 'done');
    assert.equal([b.attempts, busy.seen.length], [3, 3]);

    const f = await cluster({ addresses: [failing.address, healthy.address] });
    const e = await f.call('gateway', payload).catch((x: Error) => x);
    assert.instance(e, FrameError);
    assert.equal([(e as FrameError).status, (e as Error).message], [abi.FRAME_E_SERVICE, 'gateway: bad request (status 6)']);
    assert.equal([f.attempts, healthy.seen.length], [1, 0]);

    const switches: string[] = [];
    const u = await cluster({ addresses: [unavailable.address, healthy.address], onSwitch: (a) => switches.push(a) });
    assert.is((await u.call('gateway', payload)).toString(), 'done');
    assert.equal([unavailable.seen.length, u.attempts, switches], [3, 4, [unavailable.address, healthy.address]]);

    const s = await cluster({ addresses: [silent.address, healthy.address], callTimeoutMs: 300 });
    assert.is((await s.call('gateway', payload)).toString(), 'done');
    assert.equal([silent.seen.length, s.attempts, s.address], [1, 2, healthy.address]);
    for (const node of [busy, unavailable, silent, healthy]) for (const p of node.seen) assert.equal(p, payload);
  } finally {
    for (const node of [busy, failing, unavailable, silent, healthy]) node.stop();
  }
});

test.run();
