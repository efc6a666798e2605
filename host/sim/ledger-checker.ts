// host/sim/ledger-checker.ts: the simulator's checker for the ledger
// (host/sim/checker.ts). Workload: batches of 1-8 transfers (15% pending)
// between ACCOUNTS accounts on three faulty connections, and among them
// reads (hal/frames.ts FRAME_F_READ, no log entry) looking up transfers.
// Oracle: every transfer a client was told was created is present exactly
// once; every balance equals the sum of the transfers present; debits equal
// credits; a read finds every transfer acknowledged before it was sent
// (reads are linearizable), and what it finds is what was sent.

import * as abi from '../../hal/abi.ts';
import {
  account, transfer, encodeAccounts, encodeTransfers, encodeLookupAccounts, encodeLookupTransfers,
  decodeCreateResults, decodeAccounts, decodeTransfers, TransferFlags, HEADER_BYTES, RECORD_BYTES, type Transfer,
} from '../client/ledger.ts';
import type { Reply, SimChecker, SimContext } from './checker.ts';

const ACCOUNTS = 8;
const LEDGER_ID = 1;
const CLIENTS = 3;
// The share of client activity that is a read, and the ids one looks up.
const READ_CHANCE = 0.2;
const READ_IDS_MAX = 8;

export class LedgerChecker implements SimChecker {
  readonly service = 'ledger';
  private readonly sent = new Map<bigint, Transfer>();
  private readonly acked = new Set<bigint>();
  // The same ids in the order they were acknowledged, for reads to pick from without copying the set.
  private readonly ackedOrder: bigint[] = [];
  private nextTransferId = 1_000_000n;

  /** `reads`: look transfers and accounts up with reads (no log entry); false: through the log. */
  constructor(private readonly reads = true) {}

  async setUp(ctx: SimContext): Promise<void> {
    // Accounts first, through the clean checker connection.
    const r = await ctx.check(this.service, encodeAccounts(Array.from({ length: ACCOUNTS }, (_, i) => account({ id: BigInt(i + 1), ledger: LEDGER_ID, code: 1 }))));
    if (r.status !== abi.FRAME_OK) ctx.fail(`create_accounts status ${r.status}`);
  }

  act(ctx: SimContext): void {
    if (this.acked.size > 0 && ctx.rng.chance(READ_CHANCE)) { this.read(ctx); return; }
    const size = ctx.rng.range(1, 8);
    const batch: Transfer[] = [];
    for (let i = 0; i < size; i++) {
      const d = ctx.rng.range(1, ACCOUNTS);
      let cr = ctx.rng.range(1, ACCOUNTS);
      if (cr === d) cr = (d % ACCOUNTS) + 1;
      const t = transfer({
        id: this.nextTransferId++, debit_account_id: BigInt(d), credit_account_id: BigInt(cr),
        amount: BigInt(ctx.rng.range(1, 100)), ledger: LEDGER_ID, code: 1,
        flags: ctx.rng.chance(0.15) ? TransferFlags.pending : 0,
      });
      this.sent.set(t.id, t);
      batch.push(t);
    }
    const label = ctx.clientRequest(ctx.rng.int(CLIENTS), this.service, encodeTransfers(batch), (r) => this.reply(ctx, label, batch, r));
    ctx.trace(`${label}: ${size} transfers`);
  }

  // A read of a few transfers: some acknowledged already (each must be
  // found), maybe one still in flight or never created (either answer is right).
  private read(ctx: SimContext): void {
    const ids: bigint[] = [];
    const n = ctx.rng.range(1, READ_IDS_MAX);
    for (let i = 0; i < n; i++) ids.push(ctx.rng.chance(0.8) ? ctx.rng.pick(this.ackedOrder) : BigInt(ctx.rng.range(1_000_000, Number(this.nextTransferId))));
    const mustFind = new Set(ids.filter((id) => this.acked.has(id)));
    const label = ctx.clientRequest(ctx.rng.int(CLIENTS), this.service, encodeLookupTransfers(ids), (r) => {
      if (r.status !== abi.FRAME_OK) { ctx.trace(`${label}: read status ${r.status}`); return; }
      const found = new Map(decodeTransfers(r.payload).map((t) => [t.id, t]));
      for (const id of mustFind) if (!found.has(id)) ctx.fail(`${label}: a read missed transfer ${id}, acknowledged before the read was sent`);
      for (const t of found.values()) {
        const s = this.sent.get(t.id);
        if (s === undefined || s.amount !== t.amount || s.debit_account_id !== t.debit_account_id) ctx.fail(`${label}: a read found transfer ${t.id} other than it was sent`);
      }
      ctx.trace(`${label}: read found ${found.size} of ${ids.length}`);
    }, this.reads);
    ctx.trace(`${label}: read of ${ids.length} transfers`);
  }

  private reply(ctx: SimContext, label: string, batch: Transfer[], r: Reply): void {
    if (r.status !== abi.FRAME_OK) { ctx.trace(`${label}: status ${r.status}`); return; }
    const results = decodeCreateResults(r.payload);
    if (results.length !== batch.length) ctx.fail(`${label}: ${results.length} results for ${batch.length} transfers`);
    let created = 0;
    results.forEach((x, i) => {
      if (x.result !== 0) return;
      created++;
      if (this.acked.has(batch[i].id)) return;
      this.acked.add(batch[i].id);
      this.ackedOrder.push(batch[i].id);
    });
    ctx.trace(`${label}: ${created}/${batch.length} created`);
  }

  async verify(ctx: SimContext, where: string): Promise<void> {
    const found = await this.lookupAll(ctx, where);
    for (const id of this.acked) if (!found.has(id)) ctx.fail(`${where}: acknowledged transfer ${id} is missing (a result a client saw was undone)`);
    const expect = new Map<bigint, bigint[]>();
    for (const t of found.values()) {
      const s = this.sent.get(t.id);
      if (s === undefined || s.amount !== t.amount || s.debit_account_id !== t.debit_account_id) ctx.fail(`${where}: transfer ${t.id} differs from what was sent`);
      const pend = (t.flags & TransferFlags.pending) !== 0;
      const d = expect.get(t.debit_account_id) ?? [0n, 0n, 0n, 0n];
      const c = expect.get(t.credit_account_id) ?? [0n, 0n, 0n, 0n];
      d[pend ? 0 : 1] += t.amount; c[pend ? 2 : 3] += t.amount;
      expect.set(t.debit_account_id, d); expect.set(t.credit_account_id, c);
    }
    const r = await ctx.check(this.service, encodeLookupAccounts(Array.from({ length: ACCOUNTS }, (_, i) => BigInt(i + 1))), this.reads);
    const accounts = decodeAccounts(r.payload);
    if (accounts.length !== ACCOUNTS) ctx.fail(`${where}: ${accounts.length} of ${ACCOUNTS} accounts present`);
    const sum = [0n, 0n, 0n, 0n];
    for (const a of accounts) {
      const e = expect.get(a.id) ?? [0n, 0n, 0n, 0n];
      const got = [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted];
      if (got.some((v, i) => v !== e[i])) ctx.fail(`${where}: account ${a.id} balances ${got.join('/')} != the transfers present ${e.join('/')}`);
      got.forEach((v, i) => { sum[i] += v; });
    }
    if (sum[0] !== sum[2] || sum[1] !== sum[3]) ctx.fail(`${where}: debits != credits (${sum.join('/')})`);
    ctx.trace(`check ${where}: ${found.size} transfers present, ${this.acked.size} acknowledged, debits = credits`);
  }

  /** Every transfer sent, looked up in requests whose replies fit one message. */
  private async lookupAll(ctx: SimContext, where: string): Promise<Map<bigint, Transfer>> {
    const ids = [...this.sent.keys()];
    const found = new Map<bigint, Transfer>();
    const perLookup = Math.floor((ctx.messageBytesMax - HEADER_BYTES) / RECORD_BYTES);
    for (let i = 0; i < ids.length; i += perLookup) {
      const r = await ctx.check(this.service, encodeLookupTransfers(ids.slice(i, i + perLookup)), this.reads);
      if (r.status !== abi.FRAME_OK) ctx.fail(`${where}: lookup_transfers status ${r.status}: ${r.payload.toString('utf8')}`);
      for (const t of decodeTransfers(r.payload)) {
        if (found.has(t.id)) ctx.fail(`${where}: transfer ${t.id} found twice`);
        found.set(t.id, t);
      }
    }
    return found;
  }

  counts(): { acknowledged: number; sent: number } {
    return { acknowledged: this.acked.size, sent: this.sent.size };
  }
}
