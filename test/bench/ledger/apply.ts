// test/bench/ledger/apply.ts: the ledger service's apply rate on one core,
// the wasm driven in-process by the test harness (test/ledger/harness.ts),
// as test/ledger/bench-apply.ts does.
//
// A fresh ledger per pattern gets the workload's accounts and funding, then
// WARMUP_BATCHES untimed batches (V8 compiles wasm with its baseline tier
// first and tiers hot functions up while they run), then full batches of
// BATCH_EVENTS. Only qx_handle is timed (the harness's lastHandleNs): the
// service validating, applying and writing results. Encoding a batch and
// copying it into the inbox happen before the clock starts. Beside the wall
// time, the process's CPU time over each send (inbox copy included, so a
// little more than qx_handle) says what the calls cost one core when other
// processes share the machine's cores and stretch the wall time.

import { Ledger } from '../../ledger/harness.ts';
import {
  BATCH_BYTES, BATCH_EVENTS, LEDGER_ACCOUNTS, Rng, allocPairs, countFailed, encodeBatch, eventCount, failedCodes, fillPairs,
  setupRequests, type Pattern,
} from './workload.ts';

// V8 tiers wasm up within the first few calls of a hot function; eight
// batches (65,512 transfers) is well past that.
export const WARMUP_BATCHES = 8;

export interface ApplyResult {
  transfers: number;
  /** Sum of the timed qx_handle calls (wall time). */
  handleMs: number;
  /**
   * CPU time of this process over the same calls (user + system): what the
   * calls cost one core, whatever else the machine's cores were running.
   */
  handleCpuMs: number;
  /** Events not created (a finding: the workload is meant to succeed in full). */
  failed: number;
  failedCodes: Map<number, number>;
  /** Median batch, for the notes. */
  batchMedianMs: number;
}

function sendChecked(ledger: Ledger, request: Uint8Array, what: string): Uint8Array {
  const reply = ledger.send(request);
  if (reply.status !== 0) throw new Error(`${what}: status ${reply.status}: ${reply.text}`);
  const failed = countFailed(reply.bytes, eventCount(request));
  if (failed !== 0) throw new Error(`${what}: ${failed} events failed: ${JSON.stringify([...failedCodes(reply.bytes)])}`);
  return reply.bytes;
}

/** Boots a ledger with room for `transfers` workload transfers, plus setup and warm-up. */
function bootLedger(transfers: number): Ledger {
  const setup = setupRequests();
  const transfersMax = setup.funding.reduce((n, r) => n + eventCount(r), 0) + (WARMUP_BATCHES * BATCH_EVENTS) + transfers;
  const ledger = new Ledger({ accounts_max: LEDGER_ACCOUNTS, transfers_max: transfersMax, pending_max: 1, history_max: 1 });
  for (const r of setup.accounts) sendChecked(ledger, r, 'create_accounts');
  for (const r of setup.funding) sendChecked(ledger, r, 'funding transfers');
  return ledger;
}

/** Applies `batches` full batches of `pattern` (after the warm-up) and times qx_handle. */
export function runApply(pattern: Pattern, batches: number, seed: number): ApplyResult {
  const ledger = bootLedger(batches * BATCH_EVENTS);
  const rng = new Rng(seed);
  const pairs = allocPairs(BATCH_EVENTS);
  const buffer = new Uint8Array(BATCH_BYTES);
  const result: ApplyResult = { transfers: 0, handleMs: 0, handleCpuMs: 0, failed: 0, failedCodes: new Map(), batchMedianMs: 0 };
  const batchMs: number[] = [];
  for (let b = 0; b < WARMUP_BATCHES + batches; b++) {
    fillPairs(pattern, rng, pairs, 0, BATCH_EVENTS);
    const request = encodeBatch(buffer, b + 1, pairs, 0, BATCH_EVENTS);
    const cpuBefore = process.cpuUsage();
    const reply = ledger.send(request);
    const cpu = process.cpuUsage(cpuBefore);
    if (reply.status !== 0) throw new Error(`apply batch ${b}: status ${reply.status}: ${reply.text}`);
    // Logical time moves on a millisecond per batch, as a kernel tick would.
    ledger.nowNs += 1_000_000n;
    if (b < WARMUP_BATCHES) continue;
    batchMs.push(ledger.lastHandleNs / 1e6);
    result.handleMs += ledger.lastHandleNs / 1e6;
    result.handleCpuMs += (cpu.user + cpu.system) / 1e3;
    result.transfers += BATCH_EVENTS;
    const failed = countFailed(reply.bytes, BATCH_EVENTS);
    if (failed > 0) {
      result.failed += failed;
      for (const [code, n] of failedCodes(reply.bytes)) result.failedCodes.set(code, (result.failedCodes.get(code) ?? 0) + n);
    }
  }
  const invariant = ledger.checkInvariants();
  if (invariant !== 0) throw new Error(`apply (${pattern}): money invariant ${invariant} broken`);
  batchMs.sort((a, b) => a - b);
  result.batchMedianMs = batchMs[Math.floor(batchMs.length / 2)];
  return result;
}
