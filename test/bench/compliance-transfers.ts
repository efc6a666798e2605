// test/bench/compliance-transfers.ts: the ledger's own transfers checked by
// the compliance service (the gateway's transfer_checks), part of the
// compliance benchmark (test/bench/compliance.bench.ts, issue 18).
// JSON POST /v1/transfers in batches of BATCH over HTTP, CONNECTIONS in
// flight, on three images booted side by side from the bank manifest:
//   on     transfer_checks, ledger 1's rule set checks its transfers
//          (RULE_SET of compliance-checks.ts plus "transfers": true): every
//          event screened through its accounts' marks, scored, limited and
//          monitored before the ledger;
//   hop    transfer_checks, but no rule set checks transfers: the cost of
//          the trip through compliance alone (what an image pays for having
//          the hook on a ledger that does not use it);
//   off    transfer_checks false: straight to the ledger.
// Rounds alternate the order of the three; the median round of each.

import * as P from '../../services/compliance/protocol.ts';
import { bankManifestUnlimited, event, makeImage, removeDir, runCli, Server as TestServer, type TestImage } from '../support/helpers.ts';
import { median, percentile, ratio, round, type Figures } from './support.ts';
import { RULE_SET } from './compliance-checks.ts';
import { join } from 'node:path';

const BATCH = 100;
const ROUNDS = 5;
const BATCHES = 100; // per round and image: 10,000 transfers
const WARM_UP = 30;
const CONNECTIONS = 16;
// Disjoint debit and credit accounts (no rapid in-and-out), enough debit
// accounts that none passes the rule set's velocity_count in all the rounds.
const DEBIT_ACCOUNTS = 2000;
const CREDIT_ACCOUNTS = 200;
const AMOUNT = '1000'; // minor units: under every threshold of RULE_SET

type Kind = 'on' | 'hop' | 'off';
interface Variant { kind: Kind; img: TestImage; server: TestServer; base: string; key: string }

function variantImage(kind: Kind): TestImage {
  const m = bankManifestUnlimited();
  const gateway = m.services.find((s) => s.name === 'gateway')!;
  if (gateway.config?.transfer_checks !== true) throw new Error('the bank image ships with the gateway\'s "transfer_checks": true');
  gateway.config = { ...gateway.config, transfer_checks: kind !== 'off' };
  const compliance = m.services.find((s) => s.name === 'compliance')!;
  compliance.config = { ...compliance.config, rules: [{ ...RULE_SET, transfers: kind === 'on' }] };
  return makeImage(`bench-transfers-${kind}`, m);
}

async function bootVariant(kind: Kind): Promise<Variant> {
  const img = variantImage(kind);
  const data = join(img.dir, 'data');
  const boot = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  if (boot.code !== 0) throw new Error(`boot --once: ${boot.stderr}`);
  const key = (event(runCli(['keys', 'create', '--data', data, '--role', 'operator']).events, 'key_created') as { key: string }).key;
  const server = TestServer.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  const base = `http://127.0.0.1:${(await server.address()).port}`;
  const ids = Array.from({ length: DEBIT_ACCOUNTS + CREDIT_ACCOUNTS }, (_, i) => ({ id: String(1000 + i), ledger: 1, code: 1 }));
  const r = await fetch(`${base}/v1/accounts`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(ids) });
  if (r.status !== 200) throw new Error(`accounts: ${r.status} ${await r.text()}`);
  return { kind, img, server, base, key };
}

/** Batch `n`'s body: BATCH transfers with ids from n × BATCH + 1, each from a debit account to a credit account. */
function batchBody(n: number): string {
  return JSON.stringify(Array.from({ length: BATCH }, (_, i) => {
    const k = n * BATCH + i;
    return { id: String(k + 1), debit_account_id: String(1000 + (k % DEBIT_ACCOUNTS)), credit_account_id: String(1000 + DEBIT_ACCOUNTS + (k % CREDIT_ACCOUNTS)),
      amount: AMOUNT, ledger: 1, code: 1 };
  }));
}

interface Round { perSecond: number; latenciesMs: number[]; notCreated: number }

async function sendRound(v: Variant, from: number, count: number): Promise<Round> {
  const latenciesMs: number[] = [];
  let next = 0;
  let notCreated = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (next < count) {
      const body = batchBody(from + next++);
      const t0 = performance.now();
      const res = await fetch(`${v.base}/v1/transfers`, { method: 'POST', headers: { authorization: `Bearer ${v.key}`, 'content-type': 'application/json' }, body });
      const json = await res.json().catch(() => null) as { result: string }[] | null;
      latenciesMs.push(performance.now() - t0);
      notCreated += Array.isArray(json) ? json.filter((x) => x.result !== 'created').length : BATCH;
    }
  }));
  return { perSecond: count * BATCH / ((performance.now() - started) / 1000), latenciesMs, notCreated };
}

/** Transfers/s with the ledger's transfers checked, through compliance unchecked, and straight to the ledger. */
export async function transfersWithChecks(figures: Figures, notes: string[]): Promise<void> {
  const variants: Variant[] = [];
  try {
    for (const kind of ['on', 'hop', 'off'] as const) variants.push(await bootVariant(kind));
    for (const v of variants) await sendRound(v, 1_000_000, WARM_UP);
    const rounds = new Map<Variant, Round[]>(variants.map((v) => [v, []]));
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) rounds.get(v)!.push(await sendRound(v, r * BATCHES, BATCHES));
    }
    for (const [v, rs] of rounds) {
      const all = rs.flatMap((x) => x.latenciesMs);
      figures[`transfers_per_s_checks_${v.kind}`] = round(median(rs.map((x) => x.perSecond)));
      figures[`transfers_checks_${v.kind}_p99_ms`] = round(percentile(all, 99), 3);
      const notCreated = rs.reduce((a, x) => a + x.notCreated, 0);
      notes.push(`transfers ${v.kind}: rounds of ${BATCHES} batches of ${BATCH} at ${rs.map((x) => Math.round(x.perSecond)).join(', ')} transfers/s`
        + (notCreated > 0 ? `; ${notCreated} not created` : ''));
    }
    figures.transfers_with_checks_ratio = round(ratio(figures.transfers_per_s_checks_on, figures.transfers_per_s_checks_off), 3);
    figures.transfers_hop_ratio = round(ratio(figures.transfers_per_s_checks_hop, figures.transfers_per_s_checks_off), 3);
    for (const v of variants) await v.server.kill('SIGTERM');
  } finally {
    await TestServer.killAll();
    for (const v of variants) removeDir(v.img.dir);
  }
}

export const TRANSFERS_PARAMS = { transfers_batch: BATCH, transfers_rounds: ROUNDS, transfers_batches: BATCHES, transfers_connections: CONNECTIONS,
  transfers_per_request_max: P.TRANSFERS_PER_REQUEST };
