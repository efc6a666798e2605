// test/bench/events.bench.ts: what the event stream (issue 8) costs the
// ledger's throughput, measured in one run: the same durable workload of
// full create_transfers batches (8189 transfers each, frames straight to
// the ledger over loopback TCP, several in flight) against three servers
// that differ only in the ledger's config and the clients:
//   off         "events": false: the ledger emits nothing
//   on          "events": true: one emit per batch (the committed transfers'
//               records copied into the kernel's event buffer, out to the
//               host's ring), nobody subscribed
//   subscribed  "events": true and one SSE client (GET /v1/events) reading
//               every event as JSON, in this process
// Each variant runs ROUNDS times, interleaved (off, on, subscribed, off, …)
// so drift of the shared machine falls on all of them; the best round of
// each is reported, and the ratios divide best by best. The subscribed
// variant also checks the client saw every transfer exactly once.

import { join } from 'node:path';
import { FrameClient } from '../../host/client/frames.ts';
import type { JsonObject } from '../../host/manifest.ts';
import { bankManifest, event, makeImage, removeDir, runCli, Server as TestServer } from '../support/helpers.ts';
import {
  BATCH_BYTES, BATCH_EVENTS, LEDGER_ACCOUNTS, Rng, allocPairs, countFailed, encodeBatch, eventCount, fillPairs, setupRequests,
} from './ledger/workload.ts';
import { CLI, ratio, round, sendWindowed, type Bench, type FigureSpec, type Figures } from './support.ts';

const VARIANTS = ['off', 'on', 'subscribed'] as const;
type Variant = (typeof VARIANTS)[number];
const ROUNDS = 2;
// 40 batches = 327,560 transfers per round: about a second at the ledger's
// end-to-end rate, several group commits deep.
const BATCHES = 40;
const WARMUP_BATCHES = 4;
const IN_FLIGHT = 8;
const TRANSFERS_MAX = LEDGER_ACCOUNTS + (WARMUP_BATCHES + BATCHES) * BATCH_EVENTS + 16;

const figures: FigureSpec[] = [
  ...VARIANTS.map((v) => ({ key: `events_${v}_tps`, row: `events ${v}`, col: 'transfers/s' })),
  { key: 'events_on_vs_off_ratio', row: 'events on', col: 'vs off' },
  { key: 'events_subscribed_vs_off_ratio', row: 'events subscribed', col: 'vs off' },
];

function manifestFor(events: boolean) {
  const m = bankManifest();
  const ledger = m.services.find((s) => s.name === 'ledger')!;
  // Frames straight to the ledger: the cheapest client path, so the events' share shows.
  if (!ledger.caps.includes('net')) ledger.caps.push('net');
  if (!ledger.caps.includes('emit')) ledger.caps.push('emit');
  ledger.config = { accounts_max: LEDGER_ACCOUNTS, transfers_max: TRANSFERS_MAX, pending_max: 1, history_max: 1, events } as JsonObject;
  m.kernel.log_preallocate_bytes = 512 * 1024 * 1024;
  return m;
}

/** Counts transfer events on an SSE stream until aborted. */
async function subscribe(base: string, key: string, abort: AbortSignal): Promise<{ count: () => number; done: Promise<void> }> {
  const res = await fetch(`${base}/v1/events?types=transfer`, { headers: { authorization: `Bearer ${key}` }, signal: abort });
  if (res.status !== 200) throw new Error(`GET /v1/events: ${res.status} ${await res.text()}`);
  let count = 0;
  const decoder = new TextDecoder();
  let tail = '';
  const done = (async () => {
    try {
      for await (const chunk of res.body!) {
        const text = tail + decoder.decode(chunk, { stream: true });
        let at = 0;
        for (let i = text.indexOf('\nevent: transfer\n'); i >= 0; i = text.indexOf('\nevent: transfer\n', i + 1)) { count++; at = i + 1; }
        tail = text.slice(Math.max(at, text.length - 32));
      }
    } catch { /* aborted */ }
  })();
  return { count: () => count, done };
}

async function round1(variant: Variant, seed: number, notes: string[]): Promise<number> {
  const img = makeImage(`events-bench-${variant}`, manifestFor(variant !== 'off'));
  const data = join(img.dir, 'data');
  try {
    let key = '';
    if (variant === 'subscribed') {
      const once = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
      if (once.code !== 0) throw new Error(`boot --once: ${once.stderr}`);
      const k = runCli(['keys', 'create', '--data', data, '--role', 'auditor']);
      key = (event(k.events, 'key_created') as { key: string }).key;
    }
    const server = TestServer.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
    const abort = new AbortController();
    try {
      const { host, port } = await server.address();
      const frames = await FrameClient.connect(host, port);
      const setup = setupRequests();
      for (const r of [...setup.accounts, ...setup.funding]) {
        const reply = await frames.call('ledger', r, 60_000);
        if (countFailed(reply, eventCount(r)) !== 0) throw new Error(`${variant}: setup request failed`);
      }
      const pairs = allocPairs((WARMUP_BATCHES + BATCHES) * BATCH_EVENTS);
      fillPairs('uniform', new Rng(seed), pairs, 0, pairs.debit.length);
      const requests = Array.from({ length: WARMUP_BATCHES + BATCHES }, (_, b) =>
        encodeBatch(new Uint8Array(BATCH_BYTES), b + 1, pairs, b * BATCH_EVENTS, BATCH_EVENTS));
      const sub = variant === 'subscribed' ? await subscribe(`http://${host}:${port}`, key, abort.signal) : null;
      const warm = await sendWindowed(frames, { service: 'ledger', total: WARMUP_BATCHES, inFlight: IN_FLIGHT, payload: (i) => requests[i] });
      if (warm.failed.size > 0) throw new Error(`${variant}: warm-up refused`);
      const r = await sendWindowed(frames, { service: 'ledger', total: BATCHES, inFlight: IN_FLIGHT, payload: (i) => requests[WARMUP_BATCHES + i] });
      if (r.failed.size > 0) throw new Error(`${variant}: ${[...r.failed].map(([s, n]) => `${n} × status ${s}`).join(', ')}`);
      const tps = (BATCHES * BATCH_EVENTS) / (r.elapsedMs / 1000);
      if (sub !== null) {
        const expected = (WARMUP_BATCHES + BATCHES) * BATCH_EVENTS;
        const deadline = performance.now() + 60_000;
        while (sub.count() < expected && performance.now() < deadline) await new Promise((res) => setTimeout(res, 50));
        if (sub.count() !== expected) notes.push(`subscribed: the stream had ${sub.count()} of ${expected} transfers`);
      }
      frames.close();
      return tps;
    } finally {
      abort.abort();
      await server.kill('SIGTERM');
    }
  } finally {
    removeDir(img.dir);
  }
}

const bench: Bench = {
  name: 'events',
  title: 'Event stream cost: ledger transfers/s with events off, on, and on with one SSE subscriber (same run)',
  figures,
  requires: [CLI],
  async run() {
    const out: Figures = {};
    const notes: string[] = [];
    const best = new Map<Variant, number>();
    for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex++) {
      for (const v of VARIANTS) {
        const tps = await round1(v, 0x51ed270b + roundIndex, notes);
        best.set(v, Math.max(best.get(v) ?? 0, tps));
      }
    }
    for (const v of VARIANTS) out[`events_${v}_tps`] = round(best.get(v) ?? null, 6);
    out.events_on_vs_off_ratio = round(ratio(best.get('on'), best.get('off')), 3);
    out.events_subscribed_vs_off_ratio = round(ratio(best.get('subscribed'), best.get('off')), 3);
    notes.push(`best of ${ROUNDS} interleaved rounds per variant; ${BATCHES} timed batches of ${BATCH_EVENTS} after ${WARMUP_BATCHES} warm-up, ${IN_FLIGHT} in flight, durable (fdatasync per group commit)`);
    notes.push('subscribed: the SSE client runs in the benchmark process and shares the two cores with the server');
    return { figures: out, params: { batches: BATCHES, batch_events: BATCH_EVENTS, in_flight: IN_FLIGHT, rounds: ROUNDS }, notes };
  },
};

export default bench;
