// test/support/history.ts: a history checker for the cluster's failover
// tests. A test records each transfer it tried with the outcome its client
// observed: 'ok' (acknowledged: created, or `exists` with the same fields),
// 'failed' (the ledger answered with an error for it) or 'unknown' (no answer:
// the call may or may not have been applied). After everything has settled it
// reads the transfers and the accounts' balances back (readBack) and checks
// them against the history (History.check): nothing acknowledged was lost,
// nothing refused was applied, and nothing was applied twice.
//
// The balance check assumes the recorded transfers are the only posted
// transfers touching the accounts read back (fresh accounts per test).

import { BATCH_EVENTS_MAX, type LedgerClient } from '../../host/client/ledger.ts';

export type Outcome = 'ok' | 'failed' | 'unknown';
export interface TransferOp { id: bigint; debit: bigint; credit: bigint; amount: bigint; outcome: Outcome; }
export interface PresentTransfer { debit: bigint; credit: bigint; amount: bigint }
export interface Balance { debitsPosted: bigint; creditsPosted: bigint }
export interface HistoryReport { ok: number; failed: number; unknown: number; unknownApplied: number; problems: string[] }

function fieldsOf(t: PresentTransfer): string {
  return `${t.debit}->${t.credit} amount ${t.amount}`;
}

export class History {
  private readonly ops = new Map<bigint, TransferOp>();
  private readonly duplicates: bigint[] = [];

  /** Records one transfer's observed outcome; an id recorded twice is reported by check (a history must not reuse ids). */
  record(op: TransferOp): void {
    if (this.ops.has(op.id)) this.duplicates.push(op.id);
    else this.ops.set(op.id, { ...op });
  }

  /**
   * Checks the final state read back from the ledger (after everything
   * settled): every 'ok' transfer is present with its fields; every 'failed'
   * one is absent; 'unknown' ones present (with their fields) or absent; no id
   * recorded twice and nothing present that was never recorded; for each
   * account the posted debits/credits equal the sum of the present transfers
   * touching it (so nothing applied twice); total debits = total credits.
   * `problems` is empty when the history is linearizable in that sense.
   */
  check(present: ReadonlyMap<bigint, PresentTransfer>, balances: ReadonlyMap<bigint, Balance>): HistoryReport {
    const report: HistoryReport = { ok: 0, failed: 0, unknown: 0, unknownApplied: 0, problems: [] };
    for (const id of this.duplicates) report.problems.push(`transfer ${id} is recorded more than once`);
    for (const op of this.ops.values()) this.checkOp(op, present.get(op.id), report);
    for (const id of present.keys()) if (!this.ops.has(id)) report.problems.push(`transfer ${id} is present but was never recorded`);
    report.problems.push(...balanceProblems(present, balances));
    return report;
  }

  private checkOp(op: TransferOp, found: PresentTransfer | undefined, report: HistoryReport): void {
    report[op.outcome]++;
    if (op.outcome === 'ok' && found === undefined) report.problems.push(`transfer ${op.id} was acknowledged but is absent`);
    if (op.outcome === 'failed' && found !== undefined) report.problems.push(`transfer ${op.id} failed but is present`);
    if (op.outcome === 'unknown' && found !== undefined) report.unknownApplied++;
    if (found !== undefined && fieldsOf(found) !== fieldsOf(op)) {
      report.problems.push(`transfer ${op.id} is present as ${fieldsOf(found)}, recorded as ${fieldsOf(op)}`);
    }
  }
}

/** Each account's posted debits and credits against the present transfers, and the totals against each other. */
function balanceProblems(present: ReadonlyMap<bigint, PresentTransfer>, balances: ReadonlyMap<bigint, Balance>): string[] {
  const problems: string[] = [];
  const expected = new Map<bigint, Balance>();
  const at = (id: bigint): Balance => {
    let b = expected.get(id);
    if (b === undefined) { b = { debitsPosted: 0n, creditsPosted: 0n }; expected.set(id, b); }
    return b;
  };
  for (const t of present.values()) { at(t.debit).debitsPosted += t.amount; at(t.credit).creditsPosted += t.amount; }
  for (const id of expected.keys()) if (!balances.has(id)) problems.push(`account ${id} is touched by present transfers but was not read back`);
  let debits = 0n;
  let credits = 0n;
  for (const [id, b] of balances) {
    const want = expected.get(id) ?? { debitsPosted: 0n, creditsPosted: 0n };
    if (b.debitsPosted !== want.debitsPosted) problems.push(`account ${id} has debits posted ${b.debitsPosted}, the present transfers debit ${want.debitsPosted}`);
    if (b.creditsPosted !== want.creditsPosted) problems.push(`account ${id} has credits posted ${b.creditsPosted}, the present transfers credit ${want.creditsPosted}`);
    debits += b.debitsPosted;
    credits += b.creditsPosted;
  }
  if (debits !== credits) problems.push(`total debits posted ${debits} != total credits posted ${credits}`);
  return problems;
}

/**
 * Looks the transfers and accounts up (in batches of the ledger's
 * BATCH_EVENTS_MAX) and returns what check takes. Throws if the ledger
 * returns an id twice or one not asked for: that is not a history problem
 * but a broken lookup.
 */
export async function readBack(client: LedgerClient, transferIds: bigint[], accountIds: bigint[]):
    Promise<{ present: Map<bigint, PresentTransfer>; balances: Map<bigint, Balance> }> {
  const present = new Map<bigint, PresentTransfer>();
  const balances = new Map<bigint, Balance>();
  const wantTransfers = new Set(transferIds);
  const wantAccounts = new Set(accountIds);
  const tids = [...wantTransfers]; // each id asked once, so an id answered twice is the ledger's doing
  const aids = [...wantAccounts];
  for (let i = 0; i < tids.length; i += BATCH_EVENTS_MAX) {
    for (const t of await client.lookupTransfers(tids.slice(i, i + BATCH_EVENTS_MAX))) {
      if (present.has(t.id) || !wantTransfers.has(t.id)) throw new Error(`lookup_transfers returned transfer ${t.id} twice or unasked`);
      present.set(t.id, { debit: t.debit_account_id, credit: t.credit_account_id, amount: t.amount });
    }
  }
  for (let i = 0; i < aids.length; i += BATCH_EVENTS_MAX) {
    for (const a of await client.lookupAccounts(aids.slice(i, i + BATCH_EVENTS_MAX))) {
      if (balances.has(a.id) || !wantAccounts.has(a.id)) throw new Error(`lookup_accounts returned account ${a.id} twice or unasked`);
      balances.set(a.id, { debitsPosted: a.debits_posted, creditsPosted: a.credits_posted });
    }
  }
  return { present, balances };
}
