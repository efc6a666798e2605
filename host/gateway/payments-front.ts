// host/gateway/payments-front.ts: the payments routes' front end (docs/payments.md).
// Turns what a client sends (an ISO 20022 message, a SWIFT MT103, JSON) into
// the payments service's request (./records.ts, services/payments/protocol.ts)
// with the original bytes after its records, and the service's reply into
// the answer: JSON with a status and ISO reason per transaction and, for
// ISO 20022, the pacs.002 produced.
//
// Everything that is syntax is decided here, before the log: the XSD
// (host/payments/xsd.ts, libxml2), the MT field formats (host/payments/mt103.ts), NbOfTxs and
// CtrlSum, amounts (decimal.js through the ledger JSON's amountFromDecimal:
// never rounded), identifiers' lengths. A message refused here is answered
// 400 (reason FF01 for an invalid ISO 20022 message) and never logged.
// What is business is the payments service's: an account the directory does
// not know, a closed one, a duplicate, insufficient funds: answered 200 with
// RJCT and the reason. A currency no ledger holds is business too (AM03): the
// transaction goes to the service with ledger 0, which it refuses.

import { createHash } from 'node:crypto';
import Decimal from 'decimal.js';
import { LedgerJsonError, amountFromDecimal, decimalFromMinor, parseUnsignedDecimal, transferToJson } from './ledger-json.ts';
import { isJsonObject, JsonNumber, type JsonValue } from './json.ts';
import { readTransfer, U128_MAX, type Transfer } from '../client/ledger.ts';
import * as P from '../../services/payments/protocol.ts';
import type { AccountRef, Balance, CashReport, CreditTransfer, EntryDetails, Pacs002, Pacs004, Pacs008, Pain001, Party, TransactionStatus } from '../payments/model.ts';
import { partyName } from '../compliance/names.ts';
import { SCREEN_NAME_CHARS_MAX } from '../base/limits.ts';
import { IsoError, readIsoMessage, writeIsoMessageText, XmlError, type ReadMessage } from '../payments/iso20022.ts';
import { IsoAdmissionError, validateIsoMessage, type IsoAdmission } from '../payments/xsd.ts';
import { MtError, readMt103, writeMt103 } from '../payments/mt103.ts';
import {
  creditTransfersRequest, creditTransfersResults, directoryGetEntries, directoryGetRequest, directoryPutRequest, directoryPutResults,
  inParts, paymentList, paymentListRequest, paymentMessagesReply, paymentMessagesRequest, uetrText, PaymentsRefusal, reconcileRequest, RecordError, returnsRequest,
  statementReply, statementRequest, statusReportsRequest, type AccountKey, type DirectoryEntry, type EntryLine, type ListFilter,
  type ReturnLine, type StatementReply,
  type StatusLine, type TxRecord, type TxResult,
} from '../payments/records.ts';
import { paymentJson, SOURCE_CODES, type LedgerCurrencies } from './payment-json.ts';
import type { OriginalsArchive } from '../payments/archive.ts';
export type { LedgerCurrencies };

/** A refused payments body: a LedgerJsonError, so the gateway's body refusal path answers it (400 with `code`). */
export class PaymentsInputError extends LedgerJsonError {
  override name = 'PaymentsInputError';
}

export type PaymentsHandler = 'payments_iso20022' | 'payments_swift_mt' | 'payments_create' | 'payments_get' | 'payment_message' | 'payments_list'
  | 'payment_accounts_put' | 'payment_accounts_lookup' | 'payment_statement';


/** What the answer needs of the request: which route, and for credit transfers (or status lines) the message as read. */
export interface PaymentsContext {
  handler: PaymentsHandler;
  msgId?: string;
  definition?: string;
  transactions?: CreditTransfer[];
  /** A pain.001: its payment information, for the pacs.008 it produces. */
  pain001?: Pain001;
  /** A pacs.002: its lines, in order. */
  statuses?: StatusLine[];
  /** A pacs.004: its lines, in order. */
  returns?: ReturnLine[];
  /** A statement: the account it is of, as asked. */
  statementOf?: AccountKey;
  /** A camt.053 or camt.054: its entries' lines, in order, with the entry each came from. */
  entries?: { line: EntryLine; reference?: string; currency: string; value: string }[];
  /** GET /v1/payments/{id}/message: the document asked for. */
  messageName?: MessageName;
}

const U64_MAX = (1n << 64n) - 1n;
const NO_ACCOUNT: AccountKey = { kind: 'other', text: 'NOTPROVIDED' }; // a key the directory never holds: AC01

/**
 * The payments service's requests for a route's body (`id`: the path's id),
 * in the order they are sent: one, or the message_part requests of a credit
 * transfers request larger than one message (each sent when the service has
 * taken the one before: partTaken).
 */
export function paymentsRequestBody(handler: PaymentsHandler, body: Uint8Array, id: bigint, ledgers: LedgerCurrencies,
  json: () => JsonValue, query = ''): { requests: Buffer[]; context: PaymentsContext } {
  const { request, context } = paymentsRequest(handler, body, id, ledgers, json, query);
  return { requests: request[P.HEADER_OP] === P.Op.credit_transfers ? framed(() => inParts(request)) : [request], context };
}

function paymentsRequest(handler: PaymentsHandler, body: Uint8Array, id: bigint, ledgers: LedgerCurrencies,
  json: () => JsonValue, query: string): { request: Buffer; context: PaymentsContext } {
  switch (handler) {
    case 'payments_iso20022': return isoRequest(body, ledgers);
    case 'payments_swift_mt': return mtRequest(body, ledgers);
    case 'payments_create': return jsonPaymentRequest(json(), body, ledgers);
    case 'payments_get': case 'payment_message': {
      if (id === 0n || id > U64_MAX) throw new PaymentsInputError('invalid_field', 'path: a payment id is a decimal from 1 to 2^64-1');
      const context: PaymentsContext = { handler, ...(handler === 'payment_message' ? { messageName: messageNameOf(query) } : {}) };
      return { request: paymentMessagesRequest(id), context };
    }
    case 'payments_list': return { request: paymentListRequest(listFilter(query)), context: { handler } };
    case 'payment_accounts_put': return { request: directoryPutRequest(entriesFromJson(json(), ledgers)), context: { handler } };
    case 'payment_statement': return statementFromJson(json());
    case 'payment_accounts_lookup': return { request: directoryGetRequest(keysFromJson(json())), context: { handler } };
  }
}

// ---- ISO 20022 ----

function isoRequest(body: Uint8Array, ledgers: LedgerCurrencies): { request: Buffer; context: PaymentsContext } {
  let admission: IsoAdmission;
  try {
    admission = validateIsoMessage(body);
  } catch (e) {
    // This machine cannot check messages (no libxml2, no addon, no schemas): nothing is admitted, and the answer says why.
    if (!(e instanceof IsoAdmissionError)) throw e;
    throw new PaymentsInputError('iso20022_unavailable', `ISO 20022 messages cannot be admitted on this machine: ${e.message}`);
  }
  if (!admission.ok) throw new PaymentsInputError('invalid_message', `${admission.reason}: ${admission.errors.join('; ')}`);
  let read: ReadMessage;
  try {
    read = readIsoMessage(body);
  } catch (e) {
    if (!(e instanceof IsoError) && !(e instanceof XmlError)) throw e;
    throw new PaymentsInputError('invalid_message', `FF01: ${e.message}`);
  }
  const m = read.message;
  if (m.kind === 'pacs.008') {
    const agent = m.header.instructingAgent?.bic ?? m.transactions[0]?.instructingAgent?.bic ?? read.appHeader?.fromBic;
    if (agent === undefined) throw new PaymentsInputError('invalid_message', 'RC01: a pacs.008 names its instructing agent by BIC (GrpHdr/InstgAgt or AppHdr/Fr)');
    return credit('pacs.008', m.header.msgId, agent, m.header.numberOfTransactions, m.header.controlSum, m.transactions, body, ledgers, admission.definition);
  }
  if (m.kind === 'pain.001') return painRequest(m, body, ledgers, admission.definition);
  if (m.kind === 'pacs.002') return statusRequest(m, read.appHeader?.fromBic, body, admission.definition);
  if (m.kind === 'pacs.004') return returnRequest(m, read.appHeader?.fromBic, body, ledgers, admission.definition);
  if (m.kind === 'camt.053' || m.kind === 'camt.054') return reconcileFrom(m, read.appHeader?.fromBic, body, ledgers, admission.definition);
  throw new PaymentsInputError('unsupported_message',
    `${admission.definition} is valid but not applied yet: QENEX takes pacs.008.001.08, pain.001.001.09, pacs.002.001.10 and pacs.004.001.09 here`);
}

/** A pacs.002 about payments QENEX sent: one status line per TxInfAndSts. */
function statusRequest(m: Pacs002, fromBic: string | undefined, body: Uint8Array, definition: string): { request: Buffer; context: PaymentsContext } {
  if (m.transactions.length === 0) {
    throw new PaymentsInputError('unsupported_message', 'a pacs.002 with a group status alone is not applied: give a TxInfAndSts for each payment');
  }
  const statuses: StatusLine[] = m.transactions.map((t, i) => {
    if (t.originalEndToEndId === undefined && t.originalUetr === undefined) {
      throw new PaymentsInputError('invalid_message', `TxInfAndSts ${i + 1}: names no original (OrgnlEndToEndId or OrgnlUETR)`);
    }
    const code = t.reasons?.find((r) => r.code !== undefined)?.code;
    return {
      ...(t.originalEndToEndId === undefined ? {} : { endToEndId: t.originalEndToEndId }),
      ...(t.originalUetr === undefined ? {} : { uetr: t.originalUetr }),
      status: t.status, ...(code === undefined ? {} : { reason: code }),
    };
  });
  const agent = m.header.instructingAgent?.bic ?? fromBic;
  const request = framed(() => statusReportsRequest({
    msgId: m.header.msgId, ...(agent === undefined ? {} : { agent: agent.toUpperCase() }),
    digest: createHash('sha256').update(body).digest(), lines: statuses, original: body,
  }));
  return { request, context: { handler: 'payments_iso20022', msgId: m.header.msgId, definition, statuses } };
}

function painRequest(m: Pain001, body: Uint8Array, ledgers: LedgerCurrencies, definition: string): { request: Buffer; context: PaymentsContext } {
  for (const info of m.paymentInformation) {
    if (info.method !== 'TRF') throw new PaymentsInputError('invalid_message', `PmtInf ${info.pmtInfId}: PmtMtd ${info.method}: only credit transfers (TRF)`);
    if (info.numberOfTransactions !== undefined && Number(info.numberOfTransactions) !== info.transactions.length) {
      throw new PaymentsInputError('invalid_message', `PmtInf ${info.pmtInfId}: NbOfTxs ${info.numberOfTransactions} but ${info.transactions.length} transactions`);
    }
    if (info.controlSum !== undefined) checkControlSum(`PmtInf ${info.pmtInfId}`, info.controlSum, info.transactions);
  }
  const transactions = m.paymentInformation.flatMap((i) => i.transactions);
  const r = credit('pain.001', m.header.msgId, undefined, m.header.numberOfTransactions, m.header.controlSum, transactions, body, ledgers, definition);
  return { request: r.request, context: { ...r.context, pain001: m } };
}

/** A pacs.004 returning payments QENEX sent: one line per TxInf, its amount in the ledger of its currency. */
function returnRequest(m: Pacs004, fromBic: string | undefined, body: Uint8Array, ledgers: LedgerCurrencies,
  definition: string): { request: Buffer; context: PaymentsContext } {
  const lines: ReturnLine[] = m.transactions.map((t, i) => {
    const where = `TxInf ${i + 1}`;
    if (t.originalEndToEndId === undefined && t.originalUetr === undefined) throw new PaymentsInputError('invalid_message', `${where}: names no original (OrgnlEndToEndId or OrgnlUETR)`);
    const { ledger, amount } = minorUnits(t.returnedAmount.currency, t.returnedAmount.value, ledgers, `${where}: RtrdIntrBkSttlmAmt`);
    return {
      ...(t.originalEndToEndId === undefined ? {} : { endToEndId: t.originalEndToEndId }),
      ...(t.originalUetr === undefined ? {} : { uetr: t.originalUetr }),
      ledger, amount, ...(t.reason.code === undefined ? {} : { reason: t.reason.code }),
    };
  });
  const agent = m.header.instructingAgent?.bic ?? fromBic;
  const request = framed(() => returnsRequest({
    msgId: m.header.msgId, ...(agent === undefined ? {} : { agent: agent.toUpperCase() }),
    digest: createHash('sha256').update(body).digest(), lines, original: body,
  }));
  return { request, context: { handler: 'payments_iso20022', msgId: m.header.msgId, definition, returns: lines } };
}

/**
 * A camt.053 or camt.054 from a correspondent: every entry (each of its
 * transaction details, for a batch entry) matched to a payment by the payments
 * service, or reported unmatched. Matching changes nothing.
 */
function reconcileFrom(m: CashReport, fromBic: string | undefined, body: Uint8Array, ledgers: LedgerCurrencies,
  definition: string): { request: Buffer; context: PaymentsContext } {
  const entries: NonNullable<PaymentsContext['entries']> = [];
  for (const report of m.reports) {
    for (const e of report.entries) {
      const details: EntryDetails[] = e.details.length > 0 ? e.details : [{}];
      for (const d of details) {
        const money = d.amount ?? e.amount;
        const { ledger, amount } = minorUnits(money.currency, money.value, ledgers, `entry ${e.reference ?? entries.length + 1}: amount`);
        entries.push({
          line: {
            ...(d.endToEndId === undefined ? {} : { endToEndId: d.endToEndId }), ...(d.uetr === undefined ? {} : { uetr: d.uetr }),
            ledger, amount, side: d.creditDebit ?? e.creditDebit,
          },
          ...(e.reference === undefined ? {} : { reference: e.reference }), currency: money.currency, value: money.value,
        });
      }
    }
  }
  if (entries.length === 0) throw new PaymentsInputError('invalid_message', 'the statement has no entries to reconcile');
  const servicer = m.reports[0]?.accountServicer?.bic ?? fromBic;
  const request = framed(() => reconcileRequest({
    source: m.kind, msgId: m.header.msgId, ...(servicer === undefined ? {} : { agent: servicer.toUpperCase() }),
    digest: createHash('sha256').update(body).digest(), lines: entries.map((e) => e.line), original: body,
  }));
  return { request, context: { handler: 'payments_iso20022', msgId: m.header.msgId, definition, entries } };
}

/** A request built from what was read: a record that cannot hold a value (a text too long, a code not four letters) is an invalid message. */
function framed<T>(make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof RecordError) throw new PaymentsInputError('invalid_message', e.message);
    throw e;
  }
}

// ---- SWIFT MT103 ----

function mtRequest(body: Uint8Array, ledgers: LedgerCurrencies): { request: Buffer; context: PaymentsContext } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new PaymentsInputError('invalid_message', 'the body is not UTF-8 (FIN text is SWIFT\'s character set x)');
  }
  let m: Pacs008;
  try {
    // An input message (block 2 "I") carries no creation time: the time it reached us stands in (the
    // answer's, not a decision's: nothing logged depends on it).
    m = readMt103(text, { receivedAt: new Date().toISOString().slice(0, 19) });
  } catch (e) {
    if (!(e instanceof MtError)) throw e;
    throw new PaymentsInputError('invalid_message', e.message);
  }
  const agent = m.header.instructingAgent?.bic ?? m.transactions[0]?.instructingAgent?.bic;
  if (agent === undefined) throw new PaymentsInputError('invalid_message', 'the MT103 names no sender BIC');
  return credit('mt103', m.header.msgId, agent, m.header.numberOfTransactions, m.header.controlSum, m.transactions, body, ledgers, 'MT103');
}

// ---- JSON ----

function jsonPaymentRequest(value: JsonValue, body: Uint8Array, ledgers: LedgerCurrencies): { request: Buffer; context: PaymentsContext } {
  const o = object(value, 'body');
  known(o, 'body', ['debtor', 'creditor', 'amount', 'currency', 'end_to_end_id', 'msg_id', 'uetr', 'remittance']);
  const amount = text(o, 'amount', 'body', true)!;
  const currency = text(o, 'currency', 'body', true)!;
  const e2e = text(o, 'end_to_end_id', 'body', true)!;
  const remittance = text(o, 'remittance', 'body', false);
  const tx: CreditTransfer = {
    endToEndId: e2e, amount: { currency, value: amount },
    debtor: partyFromJson(o.get('debtor'), 'body.debtor'), debtorAccount: accountFromJson(o.get('debtor'), 'body.debtor'),
    creditor: partyFromJson(o.get('creditor'), 'body.creditor'), creditorAccount: accountFromJson(o.get('creditor'), 'body.creditor'),
    ...(text(o, 'uetr', 'body', false) === undefined ? {} : { uetr: text(o, 'uetr', 'body', false) }),
    ...(remittance === undefined ? {} : { remittance: [remittance] }),
  };
  // The message id is the idempotency key: the same body again is answered as before.
  const msgId = text(o, 'msg_id', 'body', false) ?? e2e;
  return credit('json', msgId, undefined, '1', undefined, [tx], body, ledgers, 'json');
}

function accountFromJson(value: JsonValue | undefined, where: string): AccountRef {
  const o = object(value, where);
  known(o, where, ['iban', 'account_id', 'name', 'country']);
  const iban = text(o, 'iban', where, false);
  const other = text(o, 'account_id', where, false);
  if ((iban === undefined) === (other === undefined)) throw new PaymentsInputError('invalid_field', `${where}: give one of iban or account_id`);
  return iban !== undefined ? { iban } : { other };
}

/** A JSON side's party: its optional name (what is screened) and country (ISO 3166 alpha-2). */
function partyFromJson(value: JsonValue | undefined, where: string): Party {
  const o = object(value, where);
  const name = text(o, 'name', where, false);
  const country = text(o, 'country', where, false);
  if (name !== undefined && (name.length === 0 || name.length > SCREEN_NAME_CHARS_MAX)) {
    throw new PaymentsInputError('invalid_field', `${where}.name: 1 to ${SCREEN_NAME_CHARS_MAX} characters`);
  }
  if (country !== undefined && !/^[A-Z]{2}$/.test(country)) throw new PaymentsInputError('invalid_field', `${where}.country: two upper-case letters (ISO 3166)`);
  return { ...(name === undefined ? {} : { name }), ...(country === undefined ? {} : { address: { country } }) };
}

// ---- credit transfers, whatever the syntax ----

function credit(source: 'pacs.008' | 'pain.001' | 'mt103' | 'json', msgId: string, agent: string | undefined, count: string,
  controlSum: string | undefined, transactions: CreditTransfer[], original: Uint8Array, ledgers: LedgerCurrencies,
  definition: string): { request: Buffer; context: PaymentsContext } {
  if (!/^[0-9]{1,15}$/.test(count) || Number(count) !== transactions.length) {
    throw new PaymentsInputError('invalid_message', `NbOfTxs ${count} but ${transactions.length} transactions`);
  }
  if (transactions.length === 0 || transactions.length > P.TX_MAX) throw new PaymentsInputError('too_many_transactions', `${transactions.length} transactions: 1 to ${P.TX_MAX} a message`);
  if (controlSum !== undefined) checkControlSum('GrpHdr', controlSum, transactions);
  const records: TxRecord[] = transactions.map((t, i) => txRecord(source, t, i, ledgers));
  const request = framed(() => creditTransfersRequest({
    source, msgId, ...(agent === undefined ? {} : { agent: agent.toUpperCase() }),
    digest: createHash('sha256').update(original).digest(), transactions: records, original,
  }));
  return { request, context: { handler: source === 'json' ? 'payments_create' : source === 'mt103' ? 'payments_swift_mt' : 'payments_iso20022', msgId, definition, transactions } };
}

function txRecord(source: string, t: CreditTransfer, i: number, ledgers: LedgerCurrencies): TxRecord {
  const where = `transaction ${i + 1} (${t.endToEndId})`;
  const { ledger, amount } = minorUnits(t.amount.currency, t.amount.value, ledgers, `${where}: amount`);
  const byAgent = source === 'pain.001';
  return {
    endToEndId: t.endToEndId, ledger, amount,
    ...(t.instrId === undefined ? {} : { instrId: t.instrId }),
    ...(t.txId === undefined ? {} : { txId: t.txId }),
    ...(t.uetr === undefined ? {} : { uetr: t.uetr }),
    debtor: source === 'pain.001' || source === 'json' ? accountKey(t.debtorAccount) : undefined,
    creditor: byAgent ? undefined : accountKey(t.creditorAccount),
    ...(t.debtorAgent?.bic === undefined ? {} : { debtorAgent: t.debtorAgent.bic.toUpperCase() }),
    ...(byAgent ? { creditorAgent: creditorAgentBic(t, where) } : t.creditorAgent?.bic === undefined ? {} : { creditorAgent: t.creditorAgent.bic.toUpperCase() }),
    ...partiesOf(t),
  };
}

/** The parties the compliance service screens: each side's name, normalised, and its address's country (upper case, when two letters). */
function partiesOf(t: CreditTransfer): Pick<TxRecord, 'debtorName' | 'creditorName' | 'debtorCountry' | 'creditorCountry'> {
  const country = (p: Party | undefined) => {
    const c = p?.address?.country?.toUpperCase();
    return c !== undefined && /^[A-Z]{2}$/.test(c) ? c : undefined;
  };
  const out: Pick<TxRecord, 'debtorName' | 'creditorName' | 'debtorCountry' | 'creditorCountry'> = {};
  const dn = partyName(t.debtor?.name);
  const cn = partyName(t.creditor?.name);
  if (dn !== '') out.debtorName = dn;
  if (cn !== '') out.creditorName = cn;
  const dc = country(t.debtor);
  const cc = country(t.creditor);
  if (dc !== undefined) out.debtorCountry = dc;
  if (cc !== undefined) out.creditorCountry = cc;
  return out;
}

/**
 * An amount in minor units of the ledger of its currency, never rounded (amount_not_exact otherwise); when
 * no ledger holds the currency, ledger 0 and 1 unit: the service refuses it as AM03.
 */
function minorUnits(currency: string, value: string, ledgers: LedgerCurrencies, where: string): { ledger: number; amount: bigint } {
  for (const [ledger, l] of ledgers) {
    if (l.currency === undefined || l.currency !== currency) continue;
    let amount: bigint;
    try {
      amount = amountFromDecimal(value, l.assetScale, where);
    } catch (e) {
      if (e instanceof LedgerJsonError) throw new PaymentsInputError(e.code, e.message);
      throw e;
    }
    if (amount === 0n) throw new PaymentsInputError('invalid_amount', `${where}: the amount is zero`);
    return { ledger, amount };
  }
  return { ledger: 0, amount: 1n };
}

function creditorAgentBic(t: CreditTransfer, where: string): string {
  const bic = t.creditorAgent?.bic;
  if (bic === undefined) throw new PaymentsInputError('invalid_message', `${where}: a pain.001 transaction names its creditor agent by BIC`);
  return bic.toUpperCase();
}

/** The directory key of an account: its IBAN (upper case, no spaces) or its other id; none: a key that names nothing. */
function accountKey(a: AccountRef | undefined): AccountKey {
  if (a?.iban !== undefined) return { kind: 'iban', text: a.iban.replace(/\s+/g, '').toUpperCase() };
  if (a?.other !== undefined) return { kind: 'other', text: a.other };
  return NO_ACCOUNT;
}

function checkControlSum(where: string, controlSum: string, transactions: CreditTransfer[]): void {
  const sum = transactions.reduce((s, t) => s.plus(new Decimal(t.amount.value)), new Decimal(0));
  if (!sum.equals(new Decimal(controlSum))) throw new PaymentsInputError('invalid_message', `${where}: CtrlSum ${controlSum} but the amounts add up to ${sum.toFixed()}`);
}

// ---- statements ----

/** POST /v1/payment-accounts/statement: {"account": {iban | account_id | bic}, "from_ns"?, "to_ns"?, "limit"?}. */
function statementFromJson(value: JsonValue): { request: Buffer; context: PaymentsContext } {
  const o = object(value, 'body');
  known(o, 'body', ['account', 'from_ns', 'to_ns', 'limit']);
  const account = object(o.get('account'), 'body.account');
  known(account, 'body.account', ['iban', 'account_id', 'bic']);
  const key = keyFromJson(account, 'body.account');
  const ns = (name: string): bigint => {
    const t = text(o, name, 'body', false);
    if (t === undefined) return 0n;
    const v = parseUnsignedDecimal(t, U64_MAX);
    if (v === null) throw new PaymentsInputError('invalid_field', `body.${name}: a ledger timestamp (ns, a decimal string below 2^64)`);
    return v;
  };
  const from = ns('from_ns');
  const to = ns('to_ns');
  if (to !== 0n && to < from) throw new PaymentsInputError('invalid_field', 'body.to_ns: before from_ns');
  const limitValue = o.get('limit');
  const limit = limitValue === undefined ? P.STATEMENT_ENTRIES_MAX : limitValue instanceof JsonNumber && /^[0-9]{1,5}$/.test(limitValue.text) ? Number(limitValue.text) : 0;
  if (limit < 1 || limit > P.STATEMENT_ENTRIES_MAX) throw new PaymentsInputError('invalid_field', `body.limit: 1 to ${P.STATEMENT_ENTRIES_MAX}`);
  return { request: statementRequest(key, from, to, limit), context: { handler: 'payment_statement', statementOf: key } };
}

/** A balance from posted totals: its amount and side (credit when credits are at least debits: what the bank owes the holder). */
function balanceOf(debits: bigint, credits: bigint, scale: number | undefined): { amount: string; credit_debit: 'CRDT' | 'DBIT'; amount_decimal?: string } {
  const credit = credits >= debits;
  const amount = credit ? credits - debits : debits - credits;
  return { amount: amount.toString(), credit_debit: credit ? 'CRDT' : 'DBIT', ...(scale === undefined ? {} : { amount_decimal: decimalFromMinor(amount, scale) }) };
}

/** The statement as JSON, and as a camt.053.001.08 when the ledger has a currency. */
function statementAnswer(context: PaymentsContext, reply: Buffer, ledgers: LedgerCurrencies): unknown {
  const s = statementReply(reply);
  const ledger = ledgers.get(s.ledger);
  const scale = ledger?.assetScale;
  const opening = balanceOf(s.opening.debitsPosted, s.opening.creditsPosted, scale);
  const closing = balanceOf(s.closing.debitsPosted, s.closing.creditsPosted, scale);
  const transfers = s.transfers.map((t) => readTransfer(new DataView(t.buffer, t.byteOffset, t.byteLength), 0));
  const json: Record<string, unknown> = {
    account: { [context.statementOf!.kind === 'iban' ? 'iban' : context.statementOf!.kind === 'agent' ? 'bic' : 'account_id']: context.statementOf!.text },
    ledger_account_id: s.account.toString(), ledger: s.ledger, from_ns: s.from.toString(), to_ns: s.to.toString(),
    opening: { ...opening, debits_posted: s.opening.debitsPosted.toString(), credits_posted: s.opening.creditsPosted.toString() },
    closing: { ...closing, debits_posted: s.closing.debitsPosted.toString(), credits_posted: s.closing.creditsPosted.toString() },
    entries_in_period: s.entriesInPeriod, truncated: s.truncated,
    transfers: transfers.map((t) => transferToJson(t, ledgers)),
  };
  if (ledger?.currency !== undefined && scale !== undefined) {
    json.camt053 = cashReportText('camt.053', context.statementOf!, s, transfers, ledger.currency, scale);
    json.camt054 = cashReportText('camt.054', context.statementOf!, s, transfers, ledger.currency, scale);
  }
  return json;
}

/** A time as ISO 8601 in whole seconds, UTC: of a ledger timestamp (ns), or now. */
const isoTime = (ns: bigint = BigInt(Date.now()) * 1_000_000n): string => new Date(Number(ns / 1_000_000n)).toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * A statement's period as the bank-to-customer cash report of `kind`:
 * camt.053.001.08 (a statement: OPBD and CLBD from the ledger's posted
 * totals, a booked entry per transfer) or camt.054.001.08 (a debit/credit
 * notification: the same entries, no balances). A payment's transfer names
 * the payment's UETR in its entry's details, for the other bank's matching.
 */
function cashReportText(kind: 'camt.053' | 'camt.054', key: AccountKey, s: StatementReply, transfers: Transfer[], currency: string, scale: number): string {
  const money = (v: bigint) => ({ currency, value: decimalFromMinor(v, scale) });
  const side = (t: Transfer): 'CRDT' | 'DBIT' => (t.debit_account_id === s.account ? 'DBIT' : 'CRDT');
  const balance = (type: string, b: { debitsPosted: bigint; creditsPosted: bigint }, at: bigint): Balance => {
    const credit = b.creditsPosted >= b.debitsPosted;
    return { type, amount: money(credit ? b.creditsPosted - b.debitsPosted : b.debitsPosted - b.creditsPosted), creditDebit: credit ? 'CRDT' : 'DBIT', date: isoTime(at) };
  };
  const now = BigInt(Date.now()) * 1_000_000n;
  const to = s.to === U64_MAX ? now : s.to;
  const statement = kind === 'camt.053';
  const report: CashReport = {
    kind,
    header: { msgId: derivedMsgId(statement ? 'SM' : 'NM', `${key.kind}:${key.text}:${s.from}:${to}`), creationDateTime: isoTime(now) },
    reports: [{
      id: derivedMsgId(statement ? 'S' : 'N', `${s.account}:${s.from}:${to}`),
      fromDateTime: isoTime(s.from), toDateTime: isoTime(to),
      account: { ...(key.kind === 'iban' ? { iban: key.text } : { other: key.text }), currency },
      balances: statement ? [balance('OPBD', s.opening, s.from), balance('CLBD', s.closing, to)] : [],
      entries: transfers.map((t) => {
        const uetr = paymentTransfer(t) && t.user_data_128 !== 0n ? uetrOf(t.user_data_128) : undefined;
        // NtryRef takes 35 characters: the transfer's id in hex (32 at most) rather than its 39 decimal digits.
        return {
          reference: t.id.toString(16), amount: money(t.amount), creditDebit: side(t), status: 'BOOK',
          bookingDate: isoTime(t.timestamp), details: uetr === undefined ? [] : [{ uetr }],
        };
      }),
    }],
  };
  return writeIsoMessageText(report);
}

/** Whether a ledger transfer is one a payment made (its id's high 64 bits in the payments' ranges). */
function paymentTransfer(t: Transfer): boolean {
  const hi = Number(t.id >> 64n);
  return hi === P.PAYMENT_TRANSFER_ID_HI || hi === P.PAYMENT_POST_ID_HI || hi === P.PAYMENT_VOID_ID_HI || hi === P.PAYMENT_RETURN_ID_HI;
}

/** A UETR the service copied into a transfer's user_data_128 (its 16 bytes, read as a little-endian u128) in its text form. */
function uetrOf(v: bigint): string | undefined {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(v & 0xffffffffffffffffn, 0);
  b.writeBigUInt64LE(v >> 64n, 8);
  return uetrText(b);
}

// ---- listing ----

const STATE_CODES: Record<string, number> = { settled: P.STATE_SETTLED, pending: P.STATE_PENDING, rejected: P.STATE_REJECTED, returned: P.STATE_RETURNED, held: P.STATE_HELD };
const LIST_DEFAULT = 100;

/** GET /v1/payments' query: after=<id>&limit=<1..1024>&state=<name>&source=<name>&ledger=<u32>, each at most once. */
function listFilter(query: string): ListFilter {
  const f: ListFilter = { after: 0n, limit: LIST_DEFAULT, state: 0, source: 0, ledger: 0 };
  const seen = new Set<string>();
  for (const part of query === '' ? [] : query.split('&')) {
    const eq = part.indexOf('=');
    const [name, value] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    if (seen.has(name)) throw new PaymentsInputError('invalid_query', `${name}: given twice`);
    seen.add(name);
    if (name === 'after') {
      const v = parseUnsignedDecimal(value, U64_MAX);
      if (v === null) throw new PaymentsInputError('invalid_query', 'after: a payment id (a decimal below 2^64)');
      f.after = v;
    } else if (name === 'limit') {
      const v = /^[0-9]{1,4}$/.test(value) ? Number(value) : 0;
      if (v < 1 || v > P.GET_MAX) throw new PaymentsInputError('invalid_query', `limit: 1 to ${P.GET_MAX}`);
      f.limit = v;
    } else if (name === 'state') {
      if (STATE_CODES[value] === undefined) throw new PaymentsInputError('invalid_query', `state: one of ${Object.keys(STATE_CODES).join(', ')}`);
      f.state = STATE_CODES[value];
    } else if (name === 'source') {
      if (SOURCE_CODES[value] === undefined) throw new PaymentsInputError('invalid_query', `source: one of ${Object.keys(SOURCE_CODES).join(', ')}`);
      f.source = SOURCE_CODES[value];
    } else if (name === 'ledger') {
      const v = /^[0-9]{1,10}$/.test(value) ? Number(value) : 0;
      if (v < 1 || v > 0xffffffff) throw new PaymentsInputError('invalid_query', 'ledger: a ledger number');
      f.ledger = v;
    } else {
      throw new PaymentsInputError('invalid_query', `${name.slice(0, 32)}: not a filter (after, limit, state, source, ledger)`);
    }
  }
  return f;
}

// ---- messages in and out of a payment (GET /v1/payments/{id}, /v1/payments/{id}/message?name=) ----

/**
 * The documents of a payment: `original` (the message it came in),
 * `status_report` and `return` (the pacs.002 and pacs.004 that changed it),
 * and what QENEX answered or sent for it: `pacs002` (the status report
 * answering its ISO 20022 message), `pacs008` and `mt103` (the outbound
 * transfer its pain.001 produced). Outbound documents are not stored: they
 * are made again from the original and the service's first answer, dated
 * by the time the message was recorded, so they come out byte for byte as
 * first sent (the log holds everything they are made of).
 */
export type MessageName = 'original' | 'status_report' | 'return' | 'pacs002' | 'pacs008' | 'mt103';
const MESSAGE_NAMES: readonly MessageName[] = ['original', 'status_report', 'return', 'pacs002', 'pacs008', 'mt103'];
const SOURCE_TYPES: Record<number, { type: string; media: string }> = {
  [P.SOURCE_PACS008]: { type: 'pacs.008.001.08', media: 'application/xml' }, [P.SOURCE_PAIN001]: { type: 'pain.001.001.09', media: 'application/xml' },
  [P.SOURCE_MT103]: { type: 'MT103', media: 'text/plain' }, [P.SOURCE_JSON]: { type: 'json', media: 'application/json' },
  [P.SOURCE_PACS002]: { type: 'pacs.002.001.10', media: 'application/xml' }, [P.SOURCE_PACS004]: { type: 'pacs.004.001.09', media: 'application/xml' },
};

/** A document of a payment as the route answers it: its media type and text. */
export class PaymentDocument {
  constructor(readonly contentType: string, readonly text: string) {}
}

/** Why a payment's document cannot be given: HTTP status, stable code, message. */
export class PaymentDocumentError extends Error {
  override name = 'PaymentDocumentError';
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

function messageNameOf(query: string): MessageName {
  const m = /^name=([a-z0-9_]{1,32})$/.exec(query);
  const name = m?.[1] as MessageName | undefined;
  if (name === undefined || !MESSAGE_NAMES.includes(name)) {
    throw new PaymentsInputError('invalid_query', `name: one of ${MESSAGE_NAMES.join(', ')} (the only parameter)`);
  }
  return name;
}

type MessagesRead = NonNullable<ReturnType<typeof paymentMessagesReply>>;

/** Whether a message of `source` was answered with a pacs.002 (an ISO 20022 credit transfer: pacs.008 or pain.001). */
function answeredWithPacs002(source: number): boolean {
  return source === P.SOURCE_PACS008 || source === P.SOURCE_PAIN001;
}

/** Whether the payment's message produced an outbound transfer for it (a pain.001 it accepted). */
function sentOut(read: MessagesRead): boolean {
  const origin = read.messages[0];
  return origin.source === P.SOURCE_PAIN001 && read.results[Number(read.payment.id - origin.first)]?.status === 'ACCP';
}

/** The list of a payment's documents, in and out, each with where to fetch it. */
function paymentMessages(read: MessagesRead): Record<string, unknown>[] {
  const id = read.payment.id;
  const item = (name: MessageName, direction: 'in' | 'out', type: string, msgId: string, time: bigint, extra: Record<string, unknown> = {}) => ({
    name, direction, type, msg_id: msgId, created: isoTime(time), ...extra, href: `/v1/payments/${id}/message?name=${name}`,
  });
  const list: Record<string, unknown>[] = [];
  for (const m of read.messages) {
    const name: MessageName = m.role === 'origin' ? 'original' : m.role === 'status' ? 'status_report' : 'return';
    list.push(item(name, 'in', SOURCE_TYPES[m.source]?.type ?? String(m.source), m.msgId, m.time, {
      ...(m.agent === undefined ? {} : { agent: m.agent }), sha256: m.digest.toString('hex'),
    }));
    if (m.role !== 'origin') continue;
    if (answeredWithPacs002(m.source)) list.push(item('pacs002', 'out', 'pacs.002.001.10', derivedMsgId('ST', m.msgId), m.time));
    if (sentOut(read)) {
      list.push(item('pacs008', 'out', 'pacs.008.001.08', derivedMsgId('P8', m.msgId), m.time));
      list.push(item('mt103', 'out', 'MT103', read.payment.endToEndId.slice(0, 16), m.time));
    }
  }
  return list;
}

/** One document of a payment, read from the originals archive or made again from its original. */
function paymentDocument(read: MessagesRead, name: MessageName, ledgers: LedgerCurrencies, originals: OriginalsArchive | undefined): PaymentDocument {
  const none = () => new PaymentDocumentError(404, 'no_such_message', `payment ${read.payment.id} has no ${name} message`);
  const role = name === 'status_report' ? 'status' : name === 'return' ? 'return' : 'origin';
  const m = read.messages.find((x) => x.role === role);
  if (m === undefined) throw none();
  if (originals === undefined) throw new PaymentDocumentError(503, 'unavailable', 'this host keeps no originals archive');
  const original = originals.get(m.digest);
  if (original === null) {
    throw new PaymentDocumentError(404, 'message_not_archived',
      `message ${m.msgId}: its original is not in this host's archive (the command log holds it: qenex audit proves it from there)`);
  }
  const media = SOURCE_TYPES[m.source]?.media ?? 'application/octet-stream';
  if (name === 'original' || name === 'status_report' || name === 'return') return new PaymentDocument(`${media}; charset=utf-8`, original.toString('utf8'));
  if (name === 'pacs002' && !answeredWithPacs002(m.source)) throw none();
  if ((name === 'pacs008' || name === 'mt103') && !sentOut(read)) throw none();
  // The same front end that first read the message reads it again: the same context, so the same documents.
  const { context } = isoRequest(original, ledgers);
  if (context.transactions?.length !== read.results.length) throw new RecordError(`message ${m.msgId}: ${read.results.length} results for its transactions`);
  if (name === 'pacs002') return new PaymentDocument('application/xml; charset=utf-8', pacs002Text(context, read.results, m.time));
  const out = outboundPacs008(context, acceptedOf(context, read.results), m.time);
  if (name === 'pacs008') return new PaymentDocument('application/xml; charset=utf-8', writeIsoMessageText(out));
  const mt = outboundMt103(out).find((x) => x.end_to_end_id === read.payment.endToEndId);
  if (mt === undefined) throw none();
  if ('error' in mt) throw new PaymentDocumentError(422, 'not_expressible', `MT103: ${mt.error}`);
  return new PaymentDocument('text/plain; charset=utf-8', mt.fin);
}

// ---- the directory ----

function entriesFromJson(value: JsonValue, ledgers: LedgerCurrencies): DirectoryEntry[] {
  const o = object(value, 'body');
  known(o, 'body', ['accounts']);
  const list = o.get('accounts');
  if (!Array.isArray(list) || list.length === 0 || list.length > P.DIRECTORY_PUT_MAX) {
    throw new PaymentsInputError('invalid_field', `body.accounts: a list of 1 to ${P.DIRECTORY_PUT_MAX} accounts`);
  }
  return list.map((v, i) => {
    const where = `body.accounts[${i}]`;
    const e = object(v, where);
    known(e, where, ['iban', 'account_id', 'bic', 'ledger', 'account', 'name', 'closed', 'blocked']);
    const key = keyFromJson(e, where);
    const ledgerText = e.get('ledger');
    const ledger = typeof ledgerText === 'object' && ledgerText !== null && !Array.isArray(ledgerText) && !(ledgerText instanceof Map)
      ? Number(ledgerText.text) : NaN;
    if (!Number.isInteger(ledger) || !ledgers.has(ledger)) throw new PaymentsInputError('invalid_field', `${where}.ledger: one of the gateway's ledgers (${[...ledgers.keys()].join(', ')})`);
    const account = parseUnsignedDecimal(text(e, 'account', where, true)!, U128_MAX);
    if (account === null || account === 0n) throw new PaymentsInputError('invalid_field', `${where}.account: a ledger account id, a decimal string from 1 to 2^128-1`);
    const name = text(e, 'name', where, false);
    return { key, ledger, account, closed: flag(e, 'closed', where), blocked: flag(e, 'blocked', where), ...(name === undefined ? {} : { name }) };
  });
}

function keysFromJson(value: JsonValue): AccountKey[] {
  const o = object(value, 'body');
  known(o, 'body', ['accounts']);
  const list = o.get('accounts');
  if (!Array.isArray(list) || list.length === 0 || list.length > P.GET_MAX) throw new PaymentsInputError('invalid_field', `body.accounts: a list of 1 to ${P.GET_MAX} keys`);
  return list.map((v, i) => {
    const e = object(v, `body.accounts[${i}]`);
    known(e, `body.accounts[${i}]`, ['iban', 'account_id', 'bic']);
    return keyFromJson(e, `body.accounts[${i}]`);
  });
}

const BIC = /^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/;

function keyFromJson(o: Map<string, JsonValue>, where: string): AccountKey {
  const iban = text(o, 'iban', where, false);
  const other = text(o, 'account_id', where, false);
  const bic = text(o, 'bic', where, false);
  const given = [iban, other, bic].filter((x) => x !== undefined).length;
  if (given !== 1) throw new PaymentsInputError('invalid_field', `${where}: give exactly one of iban, account_id or bic`);
  if (bic !== undefined) {
    if (!BIC.test(bic)) throw new PaymentsInputError('invalid_field', `${where}.bic: ${bic} is not a BIC (8 or 11 letters and digits, upper case)`);
    return { kind: 'agent', text: bic };
  }
  if (iban !== undefined) {
    const normal = iban.replace(/\s+/g, '').toUpperCase();
    if (!ibanValid(normal)) throw new PaymentsInputError('invalid_field', `${where}.iban: ${iban} is not an IBAN (country, check digits that pass mod 97, up to 30 letters and digits)`);
    return { kind: 'iban', text: normal };
  }
  if (other!.length === 0 || Buffer.byteLength(other!) > P.TEXT_MAX) throw new PaymentsInputError('invalid_field', `${where}.account_id: 1 to ${P.TEXT_MAX} bytes`);
  return { kind: 'other', text: other! };
}

/** ISO 13616: two letters, two check digits, up to 30 letters and digits, and the whole mod 97 is 1. */
export function ibanValid(iban: string): boolean {
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$/.test(iban)) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const c of moved) {
    const v = c >= 'A' ? c.charCodeAt(0) - 55 : c.charCodeAt(0) - 48;
    rest = v >= 10 ? (rest * 100 + v) % 97 : (rest * 10 + v) % 97;
  }
  return rest === 1;
}

// ---- small JSON readers ----

function object(value: JsonValue | undefined, where: string): Map<string, JsonValue> {
  if (value === undefined || !isJsonObject(value)) throw new PaymentsInputError('invalid_field', `${where}: must be an object`);
  return value;
}

function known(o: Map<string, JsonValue>, where: string, names: string[]): void {
  for (const k of o.keys()) if (!names.includes(k)) throw new PaymentsInputError('unknown_field', `${where}.${k}: not a field (${names.join(', ')})`);
}

function text(o: Map<string, JsonValue>, name: string, where: string, required: boolean): string | undefined {
  const v = o.get(name);
  if (v === undefined) {
    if (required) throw new PaymentsInputError('missing_field', `${where}.${name}: required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new PaymentsInputError('invalid_field', `${where}.${name}: must be a string`);
  return v;
}

function flag(o: Map<string, JsonValue>, name: string, where: string): boolean {
  const v = o.get(name);
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new PaymentsInputError('invalid_field', `${where}.${name}: must be true or false`);
  return v;
}

// ---- answers ----

const DIRECTORY_RESULTS = ['created', 'updated', 'invalid_kind', 'invalid_text', 'invalid_flags', 'unknown_ledger', 'account_zero', 'directory_full', 'reserved_field'];

/** The answer to a payments request as JSON; null for an unknown payment; throws PaymentsRefusal when the service refused the request whole. */
export function paymentsAnswer(context: PaymentsContext, reply: Buffer, ledgers: LedgerCurrencies, originals?: OriginalsArchive): unknown {
  switch (context.handler) {
    case 'payments_iso20022': case 'payments_swift_mt': case 'payments_create': return creditAnswer(context, reply);
    case 'payments_get': {
      const read = paymentMessagesReply(reply);
      return read === null ? null : { ...paymentJson(read.payment, ledgers), messages: paymentMessages(read) };
    }
    case 'payment_message': {
      const read = paymentMessagesReply(reply);
      return read === null ? null : paymentDocument(read, context.messageName!, ledgers, originals);
    }
    case 'payment_statement': return statementAnswer(context, reply, ledgers);
    case 'payments_list': {
      const { last, records } = paymentList(reply);
      return { payments: records.map((p) => paymentJson(p, ledgers)), next_after: last.toString() };
    }
    case 'payment_accounts_put':
      return { results: directoryPutResults(reply).map((r) => DIRECTORY_RESULTS[r] ?? `result_${r}`) };
    case 'payment_accounts_lookup':
      return {
        accounts: directoryGetEntries(reply).map((e) => e === null ? null : {
          [e.key.kind === 'iban' ? 'iban' : e.key.kind === 'agent' ? 'bic' : 'account_id']: e.key.text, ledger: e.ledger,
          account: e.account.toString(), closed: e.closed ?? false, blocked: e.blocked ?? false, ...(e.name === undefined ? {} : { name: e.name }),
        }),
      };
  }
}

function creditAnswer(context: PaymentsContext, reply: Buffer): unknown {
  if (context.statuses !== undefined) {
    return linesAnswer(context, reply, 'statuses', context.statuses, (line, status) => ({ reported: (line as StatusLine).status, payment_state: status }));
  }
  if (context.returns !== undefined) return linesAnswer(context, reply, 'returns', context.returns, (_, status) => ({ status }));
  if (context.entries !== undefined) return reconcileAnswer(context, reply);
  const { repeated, time, results } = creditTransfersResults(reply);
  const txs = context.transactions!;
  if (results.length !== txs.length) throw new RecordError(`${results.length} results for ${txs.length} transactions`);
  const transactions = results.map((r, i) => ({
    end_to_end_id: txs[i].endToEndId, ...(txs[i].uetr === undefined ? {} : { uetr: txs[i].uetr }),
    status: r.status, ...(r.reason === undefined ? {} : { reason: r.reason }),
    payment_id: r.payment.toString(), ...(r.transfer === 0n ? {} : { transfer_id: r.transfer.toString() }),
    ...(r.ledgerResult === 0 ? {} : { ledger_result: r.ledgerResult }),
  }));
  const json: Record<string, unknown> = { msg_id: context.msgId, repeated, transactions };
  if (context.handler === 'payments_iso20022') json.pacs002 = pacs002Text(context, results, time);
  if (context.pain001 !== undefined) {
    const accepted = acceptedOf(context, results);
    if (accepted.length > 0) {
      const out = outboundPacs008(context, accepted, time);
      json.pacs008 = writeIsoMessageText(out);
      json.mt103 = outboundMt103(out);
    }
  }
  return json;
}

/**
 * The same outbound transfers as MT103s, one per transaction, for corridors
 * that take FIN; a transaction MT cannot carry says why instead (the writer
 * refuses rather than drop a field).
 */
function outboundMt103(out: Pacs008): ({ end_to_end_id: string; fin: string } | { end_to_end_id: string; error: string })[] {
  return out.transactions.map((t) => {
    try {
      return { end_to_end_id: t.endToEndId, fin: writeMt103({ ...out, header: { ...out.header, msgId: t.endToEndId.slice(0, 16), numberOfTransactions: '1' }, transactions: [t] }) };
    } catch (e) {
      if (!(e instanceof MtError)) throw e;
      return { end_to_end_id: t.endToEndId, error: e.message };
    }
  });
}

/**
 * The answer to a request of lines about payments QENEX sent (a pacs.002's
 * statuses, a pacs.004's returns): per line its original's identity, the
 * service's status and reason, and the payment and transfer it names.
 */
function linesAnswer(context: PaymentsContext, reply: Buffer, field: 'statuses' | 'returns',
  lines: readonly (StatusLine | ReturnLine)[], extra: (line: StatusLine | ReturnLine, status: string) => Record<string, string>): unknown {
  const { repeated, results } = creditTransfersResults(reply);
  if (results.length !== lines.length) throw new RecordError(`${results.length} results for ${lines.length} ${field}`);
  return {
    msg_id: context.msgId, repeated,
    [field]: results.map((r, i) => ({
      ...(lines[i].endToEndId === undefined ? {} : { original_end_to_end_id: lines[i].endToEndId }),
      ...(lines[i].uetr === undefined ? {} : { original_uetr: lines[i].uetr }),
      ...extra(lines[i], r.status), ...(r.reason === undefined ? {} : { reason: r.reason }),
      ...(r.payment === 0n ? {} : { payment_id: r.payment.toString() }), ...(r.transfer === 0n ? {} : { transfer_id: r.transfer.toString() }),
      ...(r.ledgerResult === 0 ? {} : { ledger_result: r.ledgerResult }),
    })),
  };
}

const MATCH_NAMES: Record<string, string> = { MTCH: 'matched', DIFF: 'differs', UNMT: 'unmatched' };

/** The reconciliation report of a camt.053 or camt.054: each entry matched, differing, or unmatched, and the counts. */
function reconcileAnswer(context: PaymentsContext, reply: Buffer): unknown {
  const { results } = creditTransfersResults(reply); // one result per entry, in the same layout
  const entries = context.entries!;
  if (results.length !== entries.length) throw new RecordError(`${results.length} results for ${entries.length} entries`);
  const counts: Record<string, number> = { matched: 0, differs: 0, unmatched: 0 };
  const out = entries.map((e, i) => {
    const result = MATCH_NAMES[results[i].status];
    if (result === undefined) throw new RecordError(`entry ${i + 1}: an unknown match result`);
    counts[result]++;
    return {
      ...(e.reference === undefined ? {} : { reference: e.reference }), ...(e.line.endToEndId === undefined ? {} : { end_to_end_id: e.line.endToEndId }),
      ...(e.line.uetr === undefined ? {} : { uetr: e.line.uetr }), amount: e.value, currency: e.currency, credit_debit: e.line.side, result,
      ...(results[i].payment === 0n ? {} : { payment_id: results[i].payment.toString() }),
    };
  });
  return { msg_id: context.msgId, definition: context.definition, ...counts, entries: out };
}


/**
 * The pacs.008.001.08 a pain.001 produces: its accepted transactions, from the
 * debtor's agent (this bank) to each creditor agent, settled by the instructed
 * agent's account (INDA). MsgId derived from the pain.001's, so the same
 * message again produces the same pacs.008.
 */
function outboundPacs008(context: PaymentsContext, accepted: CreditTransfer[], time: bigint): Pacs008 {
  const m = context.pain001!;
  const first = m.paymentInformation[0];
  const date = /^\d{4}-\d{2}-\d{2}/.exec(first.requestedExecutionDate)?.[0];
  const transactions = accepted.map((t) => ({
    ...t, chargeBearer: t.chargeBearer ?? 'SHAR', ...(date === undefined ? {} : { settlementDate: date }),
    instructingAgent: t.debtorAgent, instructedAgent: t.creditorAgent,
  }));
  const sum = accepted.reduce((s, t) => s.plus(new Decimal(t.amount.value)), new Decimal(0));
  const out: Pacs008 = {
    kind: 'pacs.008',
    header: {
      msgId: derivedMsgId('P8', context.msgId!), creationDateTime: isoTime(time),
      numberOfTransactions: String(accepted.length), controlSum: sum.toFixed(), settlementMethod: 'INDA',
    },
    transactions,
  };
  return out;
}

/** The pacs.002.001.10 that answers a message recorded at `time`: a status per transaction (and the group's when all agree). */
function pacs002Text(context: PaymentsContext, statuses: readonly { status: string; reason?: string }[], time: bigint): string {
  const txs = context.transactions!;
  const all = (s: string) => statuses.every((x) => x.status === s);
  const groupStatus = all('ACSC') ? 'ACSC' : all('ACCP') ? 'ACCP' : all('RJCT') ? 'RJCT' : 'PART';
  const transactions: TransactionStatus[] = statuses.map((s, i) => ({
    originalEndToEndId: txs[i].endToEndId,
    ...(txs[i].instrId === undefined ? {} : { originalInstrId: txs[i].instrId }),
    ...(txs[i].txId === undefined ? {} : { originalTxId: txs[i].txId }),
    ...(txs[i].uetr === undefined ? {} : { originalUetr: txs[i].uetr }),
    status: s.status, ...(s.reason === undefined ? {} : { reasons: [{ code: s.reason }] }),
  }));
  const report: Pacs002 = {
    kind: 'pacs.002',
    header: { msgId: derivedMsgId('ST', context.msgId!), creationDateTime: isoTime(time) },
    original: { msgId: context.msgId!, msgNameId: context.definition!, groupStatus },
    transactions,
  };
  return writeIsoMessageText(report);
}

/** A pain.001's transactions the service accepted, each under its InstrId or one made of its payment's id (MT's :20: takes 16 characters). */
function acceptedOf(context: PaymentsContext, results: readonly TxResult[]): CreditTransfer[] {
  return context.transactions!.flatMap((t, i) => (results[i].status === 'ACCP' ? [{ ...t, instrId: t.instrId ?? `QXP${results[i].payment}` }] : []));
}

/** A MsgId QENEX writes for a message it answers with: derived from the original's (35 characters), so a repeat gets the same. */
function derivedMsgId(prefix: string, original: string): string {
  return `QX${prefix}-${createHash('sha256').update(original).digest('hex').slice(0, 30)}`;
}

export { PaymentsRefusal };
