// test/crash/payments-book.ts: what the payments crash test
// (crash-payments.test.ts) sends and what it learned: every message sent
// (its exact bytes, so a re-send is the same message), the first answer
// acknowledged for it, and every payment an answer named with the state the
// answers left it in. The messages are pacs.008 from an agent (posted on the
// GBP ledger), JSON payments between two customers (posted, or AM04), a
// pain.001 from a customer (pending to the clearing agent's account) and
// pacs.002 reports that settle or reject those pending payments; `expected`
// turns the payments' states into the balances the ledger must show.

import * as assert from 'uvu/assert';
import { pacs008Numbered, pain001, uetrOf } from '../support/payments.ts';
import { writeIsoMessageText } from '../../host/payments/iso20022.ts';

// Ledger 1 USD and 4 GBP (scale 2 each); the accounts and their directory keys.
export const USD = 1;
export const GBP = 4;
export const NOSTRO_CBRL = 4001n; // CBRLGB2LXXX's settlement account: pacs.008 debit it
export const CUSTOMER_GBP = 4002n; // "65479512", the sample pacs.008's creditor
export const ALICE_USD = 1001n; // debits must not exceed credits: JSON and pain.001 may be AM04
export const BOB_USD = 1002n;
export const FUNDING_USD = 1003n;
export const CLEARING_USD = 1004n; // CLRGUS33's: pain.001 reserve to it, pacs.002 from it post or void
export const ALICE_IBAN = 'GB33BUKB20201555555555';
export const BOB_IBAN = 'DE89370400440532013000';
export const FUNDING_MINOR = 100_000n; // alice's start: USD 1000.00
export const ACCOUNTS = [
  { id: NOSTRO_CBRL, ledger: GBP }, { id: CUSTOMER_GBP, ledger: GBP }, { id: ALICE_USD, ledger: USD },
  { id: BOB_USD, ledger: USD }, { id: FUNDING_USD, ledger: USD }, { id: CLEARING_USD, ledger: USD },
];
const PACS008_MINOR = 245_000n; // the CBPR+ sample's GBP 2450.00

export type Kind = 'pacs.008' | 'json' | 'pain.001' | 'pacs.002';
export type State = 'settled' | 'pending' | 'rejected';
const STATE_OF: Record<string, State> = { ACSC: 'settled', ACCP: 'pending', RJCT: 'rejected' };

/** What a transaction of a message should become: its accounts and amount. */
interface Planned { endToEndId: string; debit: bigint; credit: bigint; amountMinor: bigint; paymentId?: string }

export interface Message {
  kind: Kind;
  msgId: string;
  path: string;
  contentType: string;
  body: string;
  planned: Planned[]; // credit transfers: one per transaction
  reports: { paymentId: string; outcome: State }[]; // pacs.002: one per line
  /** The payment ids of the first answer acknowledged (credit transfers); null before one. */
  paymentIds: string[] | null;
  acked: boolean;
  /** Answers acknowledged with repeated: false: the message applied. At most one, ever. */
  applied: number;
  life: number;
}

export interface Payment {
  id: string;
  kind: Kind;
  planned: Planned;
  state: State;
  reason: string | undefined;
  /** A pacs.002 about it is sent but not acknowledged: its state may be this too. */
  unsure: State | null;
  reported: boolean; // a pacs.002 about it was sent (one per payment, ever)
  /** Its message's first answer for it (status/reason): every repeat of the message answers the same. */
  answered: string;
}

export interface Answer { repeated: boolean; transactions?: any[]; statuses?: any[] }

export class PaymentsBook {
  readonly messages: Message[] = [];
  readonly payments = new Map<string, Payment>();
  /** Payments created or changed since the last check, or unsure. */
  dirty = new Set<string>();
  /** Pending pain.001 payments no report names yet, oldest first. */
  private open: Payment[] = [];
  private next = 1;
  /** Answers taken, all lives together. */
  answers = 0;

  constructor(readonly random: () => number) {}

  private add(m: Omit<Message, 'paymentIds' | 'acked' | 'applied' | 'reports' | 'planned'> & Partial<Message>): Message {
    const full: Message = { paymentIds: null, acked: false, applied: 0, reports: [], planned: [], ...m };
    this.messages.push(full);
    return full;
  }

  private minor(maxMinor: number): bigint { return BigInt(1 + Math.floor(this.random() * maxMinor)); }

  /** A new message of a seeded kind, or a re-send of one already sent (acknowledged or not). */
  nextMessage(life: number): Message {
    const r = this.random();
    if (r < 0.2 && this.messages.length > 0) return this.messages[Math.floor(this.random() * this.messages.length)];
    const n = this.next++;
    if (r < 0.45) {
      return this.add({ kind: 'pacs.008', msgId: `qx-msg-${n}`, path: '/v1/payments/iso20022', contentType: 'application/xml', body: pacs008Numbered(n), life,
        planned: [{ endToEndId: uetrOf(n), debit: NOSTRO_CBRL, credit: CUSTOMER_GBP, amountMinor: PACS008_MINOR }] });
    }
    if (r < 0.9) {
      if (r >= 0.8 && this.open.length > 0) return this.report(n, life);
      if (r >= 0.7) return this.initiation(n, life);
    }
    const fromAlice = this.random() < 0.5;
    const amountMinor = this.minor(5000);
    const body = JSON.stringify({ debtor: { iban: fromAlice ? ALICE_IBAN : BOB_IBAN }, creditor: { iban: fromAlice ? BOB_IBAN : ALICE_IBAN },
      amount: decimal(amountMinor), currency: 'USD', end_to_end_id: `J-${n}` });
    return this.add({ kind: 'json', msgId: `J-${n}`, path: '/v1/payments', contentType: 'application/json', body, life,
      planned: [{ endToEndId: `J-${n}`, debit: fromAlice ? ALICE_USD : BOB_USD, credit: fromAlice ? BOB_USD : ALICE_USD, amountMinor }] });
  }

  /** A pain.001 of 1 to 3 transactions from alice, reserved to the clearing agent's account. */
  private initiation(n: number, life: number): Message {
    const count = 1 + Math.floor(this.random() * 3);
    const amountMinor = this.minor(3000);
    const msgId = `P-${n}`;
    const body = pain001(msgId, count, { debtorIban: ALICE_IBAN, creditorIban: BOB_IBAN, creditorAgent: 'CLRGUS33', currency: 'USD', amount: decimal(amountMinor) });
    const planned = Array.from({ length: count }, (_, i) => ({ endToEndId: `${msgId}-${i}`, debit: ALICE_USD, credit: CLEARING_USD, amountMinor }));
    return this.add({ kind: 'pain.001', msgId, path: '/v1/payments/iso20022', contentType: 'application/xml', body, life, planned });
  }

  /** A pacs.002 from the clearing agent settling or rejecting up to 3 pending payments nothing reported on yet. */
  private report(n: number, life: number): Message {
    const chosen = this.open.splice(0, 1 + Math.floor(this.random() * 3));
    const reports = chosen.map((p) => ({ paymentId: p.id, outcome: (this.random() < 0.7 ? 'settled' : 'rejected') as State }));
    const msgId = `S-${n}`;
    const body = writeIsoMessageText({
      kind: 'pacs.002', header: { msgId, creationDateTime: '2026-12-07T10:05:00Z', instructingAgent: { bic: 'CLRGUS33' } },
      original: { msgId: 'QX-unknown', msgNameId: 'pacs.008.001.08' },
      transactions: chosen.map((p, i) => reports[i].outcome === 'settled'
        ? { originalEndToEndId: p.planned.endToEndId, status: 'ACSC' }
        : { originalEndToEndId: p.planned.endToEndId, status: 'RJCT', reasons: [{ code: 'AC04' }] }),
    });
    for (const [i, p] of chosen.entries()) { p.reported = true; p.unsure = reports[i].outcome; this.dirty.add(p.id); }
    return this.add({ kind: 'pacs.002', msgId, path: '/v1/payments/iso20022', contentType: 'application/xml', body, life, reports });
  }

  /**
   * Takes an acknowledged answer to `m`. Holds every time: the same payments
   * as any earlier answer, applied at most once; a repeated answer is the
   * first one, result for result.
   */
  take(m: Message, a: Answer, where: string): void {
    assert.type(a.repeated, 'boolean', `${where}: ${m.msgId}: repeated is said`);
    if (!a.repeated) {
      assert.is(m.applied, 0, `${where}: ${m.msgId} applied once, not again`);
      m.applied++;
    }
    m.acked = true;
    this.answers++;
    if (m.kind === 'pacs.002') this.takeReport(m, a, where);
    else this.takeCredit(m, a, where);
  }

  private takeCredit(m: Message, a: Answer, where: string): void {
    const txs = a.transactions ?? [];
    assert.is(txs.length, m.planned.length, `${where}: ${m.msgId}: one result per transaction`);
    const ids = txs.map((t) => String(t.payment_id));
    if (m.paymentIds === null) m.paymentIds = ids;
    assert.equal(ids, m.paymentIds, `${where}: ${m.msgId}: the same payments as its first answer`);
    for (const [i, t] of txs.entries()) {
      const state = STATE_OF[t.status];
      assert.ok(state !== undefined, `${where}: ${m.msgId}: status ${t.status}`);
      if (m.kind === 'pain.001') assert.ok(state === 'pending' || t.reason === 'AM04', `${where}: ${m.msgId}: ACCP or AM04, got ${t.status} ${t.reason}`);
      if (m.kind === 'pacs.008') assert.is(state, 'settled', `${where}: ${m.msgId}: a pacs.008 from a known agent settles`);
      if (m.kind === 'json') assert.ok(state === 'settled' || t.reason === 'AM04', `${where}: ${m.msgId}: settled or AM04, got ${t.status} ${t.reason}`);
      const p = this.payments.get(ids[i]);
      if (p === undefined) {
        assert.is(m.planned[i].paymentId, undefined, `${where}: ${m.msgId}: one payment per transaction`);
        m.planned[i].paymentId = ids[i];
        const made: Payment = {
          id: ids[i], kind: m.kind, planned: m.planned[i], state, reason: t.reason, unsure: null, reported: false, answered: `${t.status}/${t.reason ?? ''}`,
        };
        this.payments.set(ids[i], made);
        if (m.kind === 'pain.001' && state === 'pending') this.open.push(made);
        this.dirty.add(ids[i]);
      } else {
        assert.is(p.planned, m.planned[i], `${where}: payment ${ids[i]} is ${m.msgId}'s transaction ${i}`);
        // The original answer, whatever happened to the payment since (a pain.001's settled or rejected by a report).
        assert.is(`${t.status}/${t.reason ?? ''}`, p.answered, `${where}: ${m.msgId} again: payment ${p.id} answered as first`);
      }
    }
  }

  private takeReport(m: Message, a: Answer, where: string): void {
    const lines = a.statuses ?? [];
    assert.is(lines.length, m.reports.length, `${where}: ${m.msgId}: one line per status`);
    for (const [i, line] of lines.entries()) {
      const want = m.reports[i];
      assert.is(String(line.payment_id), want.paymentId, `${where}: ${m.msgId} line ${i}: the payment reported on`);
      // The report's first application posted or voided; a repeat finds it done.
      assert.is(STATE_OF[line.payment_state], want.outcome, `${where}: ${m.msgId} line ${i}: the payment is ${want.outcome} (${JSON.stringify(line)})`);
      const p = this.payments.get(want.paymentId)!;
      p.state = want.outcome;
      p.unsure = null;
      if (want.outcome === 'rejected') p.reason = 'AC04';
      this.dirty.add(p.id);
    }
  }

  /** A payment as the service holds it agrees with the book (its state, or the one an unacknowledged report may have made). */
  checkPayment(got: any, where: string): void {
    const p = this.payments.get(String(got.id))!;
    const states = p.unsure === null ? [p.state] : [p.state, p.unsure];
    assert.ok(states.includes(got.state), `${where}: payment ${p.id} is ${got.state}, the book says ${states.join(' or ')}`);
    if (got.state === 'rejected' && got.state === p.state) assert.is(got.reason, p.reason, `${where}: payment ${p.id}'s reason`);
    assert.is(BigInt(got.amount), p.planned.amountMinor, `${where}: payment ${p.id}'s amount`);
    assert.is(BigInt(got.debit_account_id), p.planned.debit, `${where}: payment ${p.id}'s debit account`);
    assert.is(BigInt(got.credit_account_id), p.planned.credit, `${where}: payment ${p.id}'s credit account`);
  }

  /** The balances the payments' states (and alice's funding) add up to, per account. */
  expected(): Map<bigint, { dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }> {
    const e = new Map(ACCOUNTS.map((a) => [a.id, { dp: 0n, dpo: 0n, cp: 0n, cpo: 0n }]));
    e.get(FUNDING_USD)!.dpo += FUNDING_MINOR;
    e.get(ALICE_USD)!.cpo += FUNDING_MINOR;
    for (const p of this.payments.values()) {
      assert.is(p.unsure, null, `payment ${p.id}: its state is known`);
      const { debit, credit, amountMinor } = p.planned;
      if (p.state === 'settled') { e.get(debit)!.dpo += amountMinor; e.get(credit)!.cpo += amountMinor; }
      if (p.state === 'pending') { e.get(debit)!.dp += amountMinor; e.get(credit)!.cp += amountMinor; }
    }
    return e;
  }
}

/** Minor units (scale 2) as the decimal a message carries. */
function decimal(minor: bigint): string {
  return `${minor / 100n}.${String(minor % 100n).padStart(2, '0')}`;
}
