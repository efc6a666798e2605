// host/payments/mt103.ts: SWIFT MT103 (single customer credit transfer) in
// and out for POST /v1/payments/swift-mt: FIN text to the shared payment
// model (./model.ts) and back. The work is split by job:
//
//   ./fin.ts            the FIN envelope: blocks 1-5, the network ACK, character set x
//   ./mt103-fields.ts   block 4's fields checked against the MT103 formats
//   ./mt103-read.ts     MT103 -> pacs.008 (one CreditTransfer)
//   ./mt103-write.ts    pacs.008 -> MT103
//
// Use: `readMt103(text, { receivedAt })` for a request body, giving the
// Pacs008 the payments front end takes; `writeMt103(pacs008)` for the text
// of a reply or an outgoing message. `parseMt103` gives the checked message
// itself (headers, fields as written, subfields) for callers that need more
// than the model holds. Every refusal is an MtError (an HTTP 400), its
// message naming the block, field and line.
//
// The mapping (MT103 -> pacs.008 as CBPR+ translates it, where the model has
// a home; the writer is its inverse):
//
//   block 2 sender / receiver  instructingAgent.bic / instructedAgent.bic (BIC8 + branch)
//   block 2 output date, time  header.creationDateTime (input messages: the caller's receivedAt)
//   block 3 {121:}             uetr
//   :20:                       instrId and header.msgId
//   :70: /ROC/ref              endToEndId, else NOTPROVIDED (the :70: lines stay whole in remittance)
//   :13C:                      timeIndications, as written
//   :23B:                      bankOperationCode (written CRED when absent)
//   :23E: SDVA | INTC, CORT    serviceLevel | categoryPurpose
//   :23E: other codes          instructionsForNextAgent lines "/CODE/info", ahead of :72:'s
//   :26T:                      purpose, as written
//   :32A:                      settlementDate (YYMMDD, years 1980-2079) and amount ('.' for ',')
//   :33B: / :36:               instructedAmount / exchangeRate
//   :50A: / :50K: / :50F:      debtor (anyBic / name + address lines / 1/ name, 2/ lines, 3/ country, town,
//                              coded id as otherId) and debtorAccount (iban when it passes mod 97, else other)
//   :52A: / :52D:              debtorAgent (bic / name + lines); "//FW..." clearing id, or an account
//   no :53a:                   header.settlementMethod INDA
//   :53B:/account              INDA with header.settlementAccount
//   :53A: / :53B: loc / :53D:  COVE with instructingReimbursementAgent (+ its account)
//   :54A:                      refused: the model has no instructed reimbursement agent
//   :56A:                      intermediaryAgent1
//   :57A: / B / C / D          creditorAgent (bic / location line / clearing id / name + lines)
//   :59: / :59A: / :59F:       creditor and creditorAccount, as for :50a:
//   :70:                       remittance lines, as written
//   :71A: OUR, BEN, SHA        chargeBearer DEBT, CRED, SHAR
//   :71F: / :71G:              charges, the agent being the sender / the receiver
//   :72:                       instructionsForNextAgent lines, as written
//   :77B:                      regulatoryReporting lines, as written

import type { Pacs008 } from './model.ts';
import { MtError, bicOfLt, isUetr, parseFin, type FinTag } from './fin.ts';
import { parseBody, type Mt103 } from './mt103-fields.ts';
import { mt103ToPacs008, type ReadOptions } from './mt103-read.ts';
import { pacs008ToMt103 } from './mt103-write.ts';

export { MtError, type FinAck, type FinTag, type MtField, type BasicHeader, type InputHeader, type OutputHeader } from './fin.ts';
export type { Mt103, Mt103Body, MtMoney, MtPartyField } from './mt103-fields.ts';
export { NOT_PROVIDED, isIban, type ReadOptions } from './mt103-read.ts';
export { mt103ToPacs008, pacs008ToMt103 };

/** Reads FIN text (an optional network ACK, then one MT103) and checks every block and field. */
export function parseMt103(text: string): Mt103 {
  const fin = parseFin(text);
  const app = fin.application;
  if (app.messageType !== '103') {
    throw new MtError('block 2', `message type ${app.messageType} is not MT103; this endpoint takes single customer credit transfers only`);
  }
  const uetr = checkUserHeader(fin.user);
  const body = parseBody(fin.fields);
  const senderLt = app.direction === 'I' ? fin.basic.ltAddress : app.senderLt;
  const receiverLt = app.direction === 'I' ? app.receiverLt : fin.basic.ltAddress;
  const mt: Mt103 = { ...fin, senderBic: bicOfLt(senderLt), receiverBic: bicOfLt(receiverLt), body };
  if (fin.ack === undefined) delete mt.ack;
  if (uetr !== undefined) mt.uetr = uetr;
  return mt;
}

/**
 * Block 3: each tag once, 121 a lower-case UUIDv4 (the UETR), 108 at most
 * 16x, 119 (validation flag) STP only: QENEX reads the core MT103 and
 * MT103+; REMIT needs :77T:, which it does not read. Other tags (113
 * priority, 433/434 screening results the network adds) are kept as written
 * and not mapped.
 */
function checkUserHeader(user: FinTag[]): string | undefined {
  const seen = new Set<string>();
  for (const { tag, value } of user) {
    const where = `block 3 {${tag}:}`;
    if (seen.has(tag)) throw new MtError(where, 'appears twice');
    seen.add(tag);
    if (tag === '121' && !isUetr(value)) throw new MtError(where, `'${value}' is not a lower-case UUID version 4 (the UETR)`);
    if (tag === '108' && (value.length < 1 || value.length > 16)) throw new MtError(where, 'the message user reference is 1 to 16 characters');
    if (tag === '119' && value !== 'STP') throw new MtError(where, `validation flag '${value}' is not read; QENEX takes MT103 and MT103+ (STP)`);
  }
  return user.find((t) => t.tag === '121')?.value;
}

/** Reads an MT103 request body into the payment model. */
export function readMt103(text: string, options: ReadOptions = {}): Pacs008 {
  return mt103ToPacs008(parseMt103(text), options);
}

/** Writes a pacs.008 with one transaction as MT103 FIN text. */
export function writeMt103(doc: Pacs008): string {
  return pacs008ToMt103(doc);
}
