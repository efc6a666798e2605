// host/gateway/payment-json.ts: a payment record (services/payments/protocol.ts
// PAYMENT_BYTES, parsed by host/payments/records.ts) as the JSON the API shows: GET
// /v1/payments/{id}, the listing, and payment events on the event stream.

import * as P from '../../services/payments/protocol.ts';
import { decimalFromMinor } from './ledger-json.ts';
import type { PaymentRecord } from '../payments/records.ts';

export type LedgerCurrencies = ReadonlyMap<number, { assetScale: number; currency?: string }>;

/** The sources' names (the listing's ?source= filter and the records' `source`). */
export const SOURCE_CODES: Record<string, number> = {
  'pacs.008': P.SOURCE_PACS008, 'pain.001': P.SOURCE_PAIN001, mt103: P.SOURCE_MT103, json: P.SOURCE_JSON,
};
const SOURCE_NAMES = Object.fromEntries(Object.entries(SOURCE_CODES).map(([k, v]) => [v, k])) as Record<number, string>;

/** A payment record as JSON (GET /v1/payments/{id} and the list). */
export function paymentJson(p: PaymentRecord, ledgers: LedgerCurrencies): Record<string, unknown> {
  const scale = ledgers.get(p.ledger);
  return {
    id: p.id.toString(), state: p.state, source: SOURCE_NAMES[p.source] ?? String(p.source), ...(p.reason === undefined ? {} : { reason: p.reason }),
    ledger: p.ledger, amount: p.amount.toString(),
    ...(scale === undefined ? {} : { amount_decimal: decimalFromMinor(p.amount, scale.assetScale), currency: scale.currency }),
    transfer_id: p.transfer.toString(), debit_account_id: p.debit.toString(), credit_account_id: p.credit.toString(),
    created_ns: p.created.toString(), transfer_timestamp: p.timestamp.toString(), end_to_end_id: p.endToEndId,
    ...(p.uetr === undefined ? {} : { uetr: p.uetr }), ...(p.instrId === undefined ? {} : { instr_id: p.instrId }),
    ...(p.txId === undefined ? {} : { tx_id: p.txId }), ...(p.agent === undefined ? {} : { agent: p.agent }),
    ...(p.ledgerResult === 0 ? {} : { ledger_result: p.ledgerResult }),
    ...(p.compliance === undefined ? {} : { compliance: p.compliance }), ...(p.alert === 0 ? {} : { alert_id: p.alert }),
  };
}

