// test/support/payments.ts: ISO 20022 messages for payments tests and the
// payments benchmark, made from the repository's fixtures or written out:
// a pacs.008 from the CBPR+ sample with its identifiers replaced (so each is
// a new message and a new payment), and a pain.001.001.09 of N transactions
// from one debtor (XSD-valid: test/integration/payments.test.ts checks it).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = join(new URL('..', import.meta.url).pathname, 'fixtures');

/** A fixture sample as text. */
export function isoSample(name: string): string {
  return readFileSync(join(FIXTURES, 'iso20022', name), 'utf8');
}

const PACS008 = 'cbprplus_c.105.1.1_pacs.008_AtoB.xml';
const SAMPLE_MSG_ID = 'pacs008bzmsgid-1';
const SAMPLE_UETR = '7a562c67-ca16-48ba-b074-65581be6f001';

/** A UUID v4 made from a number (deterministic: test runs repeat). */
export function uetrOf(n: number): string {
  const h = n.toString(16).padStart(12, '0').slice(-12);
  return `0b7c3f5e-2d41-4e8a-9c3b-${h}`;
}

/** The CBPR+ pacs.008 sample (CBRLGB2LXXX pays GBP 2450 to account 65479512) as message number `n`. */
export function pacs008Numbered(n: number, agent = 'CBRLGB2LXXX'): string {
  return isoSample(PACS008).replaceAll(SAMPLE_MSG_ID, `qx-msg-${n}`).replaceAll(SAMPLE_UETR, uetrOf(n)).replaceAll('CBRLGB2LXXX', agent);
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A pain.001.001.09: `count` credit transfers of `amount` (a decimal) from `debtorIban` to `creditorIban` through `creditorAgent`. */
export function pain001(msgId: string, count: number, opts: { debtorIban: string; creditorIban: string; creditorAgent: string; currency: string; amount: string }): string {
  const txs: string[] = [];
  for (let i = 0; i < count; i++) {
    txs.push(`<CdtTrfTxInf><PmtId><EndToEndId>${escape(msgId)}-${i}</EndToEndId></PmtId>`
      + `<Amt><InstdAmt Ccy="${opts.currency}">${opts.amount}</InstdAmt></Amt>`
      + `<CdtrAgt><FinInstnId><BICFI>${opts.creditorAgent}</BICFI></FinInstnId></CdtrAgt>`
      + `<Cdtr><Nm>Creditor ${i}</Nm></Cdtr><CdtrAcct><Id><IBAN>${opts.creditorIban}</IBAN></Id></CdtrAcct></CdtTrfTxInf>`);
  }
  return '<?xml version="1.0" encoding="UTF-8"?>\n'
    + '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn>'
    + `<GrpHdr><MsgId>${escape(msgId)}</MsgId><CreDtTm>2026-12-07T10:00:00</CreDtTm><NbOfTxs>${count}</NbOfTxs><InitgPty><Nm>Debtor</Nm></InitgPty></GrpHdr>`
    + `<PmtInf><PmtInfId>${escape(msgId)}-P</PmtInfId><PmtMtd>TRF</PmtMtd><NbOfTxs>${count}</NbOfTxs><ReqdExctnDt><Dt>2026-12-07</Dt></ReqdExctnDt>`
    + `<Dbtr><Nm>Debtor</Nm></Dbtr><DbtrAcct><Id><IBAN>${opts.debtorIban}</IBAN></Id></DbtrAcct>`
    + '<DbtrAgt><FinInstnId><BICFI>QNXBGB2LXXX</BICFI></FinInstnId></DbtrAgt>'
    + txs.join('') + '</PmtInf></CstmrCdtTrfInitn></Document>\n';
}
