// test/bench/trading-fix.ts: FIX 4.4 end to end, part of the trading
// benchmark (test/bench/trading.bench.ts): the bank image with one
// instrument settled on the ledger, booted with --fix-listen and
// SESSIONS sessions; plain-socket clients (test/support/fix-raw.ts) log on
// and send NewOrderSingle / OrderCancelRequest pairs (a limit order that
// rests, then its cancel), each answered by an ExecutionReport once its log
// entry is durable, applied, reserved (or released) on the ledger.
//   - latency: one session, one message at a time: order → ExecutionReport p50/p99;
//   - throughput: one session and SESSIONS sessions, WINDOW messages outstanding each.

import { join } from 'node:path';
import { FrameClient } from '../../host/client/frames.ts';
import { bankTradingManifest, event, makeImage, removeDir, runCli, Server as TestServer, settledInstrument } from '../support/helpers.ts';
import { freePort } from '../support/fix-initiator.ts';
import { fixNow, RawFixClient } from '../support/fix-raw.ts';
import { cashOf, sharesOf, tradingSetUp } from './trading-e2e.ts';
import { percentile, round, type Figures } from './support.ts';

const SESSIONS = 16;
const WINDOW = 32;
const LATENCY_ORDERS = 400;
const THROUGHPUT_MESSAGES = 4000; // per run, split among the sessions
const name = (s: number) => `BENCH${String(s).padStart(2, '0')}`;

async function logon(port: number, s: number): Promise<RawFixClient> {
  const c = await RawFixClient.connect(port, name(s));
  c.write(c.message('A', [[98, '0'], [108, '30'], [141, 'Y']]));
  const a = await c.nextOf('A', 10_000);
  if (a === null) throw new Error(`${name(s)}: no Logon answer`);
  return c;
}

/** Message k of session s: even k a buy that rests (below any sell), odd k the cancel of the order k - 1. */
function message(c: RawFixClient, s: number, k: number): Uint8Array {
  const id = `${s}-${k >> 1}`;
  if ((k & 1) === 0) {
    return c.message('D', [[11, id], [1, `${cashOf(s)}/${sharesOf(s)}`], [21, '1'], [55, 'BENCH'], [54, '1'], [60, fixNow()], [38, '1'], [40, '2'],
      [44, `${10 + (k % 50)}.00`], [59, '1']]);
  }
  return c.message('F', [[11, `${id}c`], [41, id], [55, 'BENCH'], [54, '1'], [60, fixNow()], [38, '1']]);
}

/** One message at a time on one session: the time from writing it to its ExecutionReport. */
async function latency(c: RawFixClient, s: number): Promise<number[]> {
  const times: number[] = [];
  for (let k = 0; k < LATENCY_ORDERS; k++) {
    c.drain();
    const t0 = performance.now();
    c.write(message(c, s, k));
    const er = await c.nextOf('8', 10_000);
    if (er === null) throw new Error('no ExecutionReport');
    times.push(er.at - t0);
  }
  return times;
}

/** `clients` each with WINDOW messages outstanding until `total` are answered: messages/s. */
async function throughput(clients: { c: RawFixClient; s: number; k: number }[], total: number): Promise<number> {
  const per = Math.ceil(total / clients.length);
  const t0 = performance.now();
  await Promise.all(clients.map(async (x) => {
    let sent = 0;
    let answered = 0;
    x.c.drain();
    const done = new Promise<void>((resolve) => {
      x.c.onMessage = (m) => {
        if (m.type !== '8') return;
        answered++;
        if (sent < per) { x.c.write(message(x.c, x.s, x.k++)); sent++; }
        if (answered === per) resolve();
      };
    });
    for (; sent < Math.min(WINDOW, per); sent++) x.c.write(message(x.c, x.s, x.k++));
    await done;
    x.c.onMessage = null;
  }));
  return (per * clients.length) / ((performance.now() - t0) / 1000);
}

export async function fixEndToEnd(figures: Figures, notes: string[]): Promise<void> {
  const img = makeImage('bench-trading-fix', bankTradingManifest(settledInstrument('BENCH', 1_000_000)));
  try {
    const data = join(img.dir, 'data');
    const boot = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
    if (boot.code !== 0) throw new Error(`boot --once: ${boot.stderr}`);
    const key = (event(runCli(['keys', 'create', '--data', data, '--role', 'admin']).events, 'key_created') as { key: string }).key;
    const fixPort = await freePort();
    const sessions = Array.from({ length: SESSIONS }, (_, s) => ['--fix-session', `QENEX:${name(s)}`]).flat();
    const server = TestServer.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0',
      '--fix-listen', `127.0.0.1:${fixPort}`, ...sessions]);
    const { host, port } = await server.address();
    const frames = await FrameClient.connect(host, port);
    await frames.authenticate(key);
    await tradingSetUp(frames);
    frames.close();
    const clients = await Promise.all(Array.from({ length: SESSIONS }, (_, s) => logon(fixPort, s)));
    const times = await latency(clients[0], 0);
    figures.fix_p50_ms = round(percentile(times, 50), 3);
    figures.fix_p99_ms = round(percentile(times, 99), 3);
    const state = clients.map((c, s) => ({ c, s, k: s === 0 ? LATENCY_ORDERS : 0 }));
    figures.fix_one_session_messages_per_s = round(await throughput(state.slice(0, 1), THROUGHPUT_MESSAGES));
    figures.fix_messages_per_s = round(await throughput(state, THROUGHPUT_MESSAGES * 4));
    notes.push(`FIX: plain-socket sessions (NewOrderSingle, then its OrderCancelRequest; each answered by an ExecutionReport after its entry is durable and `
      + `its reservation or release is on the ledger); p50/p99 one message at a time on one session; messages/s with ${WINDOW} outstanding per session, `
      + `1 session (fix_one_session_messages_per_s) and ${SESSIONS} (fix_messages_per_s)`);
    for (const c of clients) c.end();
    await server.kill('SIGTERM');
  } finally {
    await TestServer.killAll();
    removeDir(img.dir);
  }
}
