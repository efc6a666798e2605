// host/payments/iso20022-write.ts: the shared model (./model.ts) written as
// ISO 20022 Documents: pacs.008.001.08, pacs.002.001.10, pacs.004.001.09,
// camt.053.001.08, camt.054.001.08, and the head.001.001.02 AppHdr.
//
// Every builder lists its elements in the order of the XSD's sequence
// (comments name the complex type), emits an optional element only when the
// model has a value for it, and throws IsoError when the schema makes a part
// mandatory that the model lacks: the output is schema-valid or there is
// none. What reading and then writing changes, so that a read of the output
// gives the same model back:
//   - group-level values the reader copied into each transaction are written
//     per transaction (a pacs.008's reimbursement agent, which only the
//     group's SttlmInf can carry, must then be the same in every
//     transaction);
//   - code-or-proprietary choices are written as Cd when the value fits the
//     code type and as Prtry when it is longer (the model keeps one string),
//     and both kinds of instruction line as InstrForNxtAgt;
//   - a pacs.004's original parties are written in OrgnlTxRef, as the model
//     describes them, even when they were read from RtrChain.

import type {
  AccountReport, AppHeader, Balance, CashReport, CreditTransfer, Entry, EntryDetails, GroupHeader, Pacs002, Pacs004, Pacs008,
  PaymentReturnTx, TransactionStatus,
} from './model.ts';
import { element, textElement, type XmlNode } from './xml.ts';
import {
  IsoError, codeOrProprietary, group, must, opt, optMoney, writeAccount, writeAgent, writeCode, writeDateChoice, writeMoney, writeParty,
  writePartyChoice, writeReason,
} from './iso20022-common.ts';

/** AppHdr (BusinessApplicationHeaderV02): Fr, To (FIId/FinInstnId/BICFI), BizMsgIdr, MsgDefIdr, BizSvc, CreDt. */
export function appHeaderElement(h: AppHeader): XmlNode {
  const fi = (name: string, bic: string | undefined) =>
    element(name, element('FIId', element('FinInstnId', textElement('BICFI', must(bic, `AppHdr/${name} BIC`)))));
  return element('AppHdr', fi('Fr', h.fromBic), fi('To', h.toBic), textElement('BizMsgIdr', h.bizMsgIdr),
    textElement('MsgDefIdr', h.msgDefIdr), opt('BizSvc', h.bizSvc), textElement('CreDt', h.creationDate));
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** SettlementInstruction7: SttlmMtd, SttlmAcct, ClrSys, InstgRmbrsmntAgt, InstgRmbrsmntAgtAcct. */
function settlement(h: GroupHeader, txs: readonly CreditTransfer[]): XmlNode {
  const first = txs[0];
  for (const t of txs) {
    if (!same(t.instructingReimbursementAgent, first.instructingReimbursementAgent) ||
      !same(t.instructingReimbursementAgentAccount, first.instructingReimbursementAgentAccount)) {
      throw new IsoError('pacs.008 carries one instructing reimbursement agent (GrpHdr/SttlmInf); the transactions differ');
    }
  }
  return element('SttlmInf', textElement('SttlmMtd', must(h.settlementMethod, 'GrpHdr/SttlmInf/SttlmMtd')),
    writeAccount('SttlmAcct', h.settlementAccount), writeCode('ClrSys', h.clearingSystem),
    writeAgent('InstgRmbrsmntAgt', first?.instructingReimbursementAgent),
    writeAccount('InstgRmbrsmntAgtAcct', first?.instructingReimbursementAgentAccount));
}

/** pacs.008.001.08 Document. */
export function pacs008Element(m: Pacs008): XmlNode {
  if (m.transactions.length === 0) throw new IsoError('a pacs.008 needs at least one transaction');
  const h = m.header;
  // GroupHeader93: MsgId, CreDtTm, NbOfTxs, CtrlSum, TtlIntrBkSttlmAmt, IntrBkSttlmDt, SttlmInf, InstgAgt, InstdAgt.
  const header = element('GrpHdr', textElement('MsgId', h.msgId), textElement('CreDtTm', h.creationDateTime),
    textElement('NbOfTxs', h.numberOfTransactions), opt('CtrlSum', h.controlSum), optMoney('TtlIntrBkSttlmAmt', h.totalSettlementAmount),
    opt('IntrBkSttlmDt', h.settlementDate), settlement(h, m.transactions),
    writeAgent('InstgAgt', h.instructingAgent), writeAgent('InstdAgt', h.instructedAgent));
  return element('Document', element('FIToFICstmrCdtTrf', header, ...m.transactions.map(creditTransfer)));
}

/** CreditTransferTransaction39, in its sequence. */
function creditTransfer(t: CreditTransfer): XmlNode {
  const type = group('PmtTpInf', writeCode('SvcLvl', t.serviceLevel), writeCode('LclInstrm', t.localInstrument),
    writeCode('CtgyPurp', t.categoryPurpose));
  const charges = (t.charges ?? []).map((c) =>
    element('ChrgsInf', writeMoney('Amt', c.amount), writeAgent('Agt', must(c.agent, 'CdtTrfTxInf/ChrgsInf/Agt'))));
  const regulatory = t.regulatoryReporting === undefined ? undefined
    : element('RgltryRptg', element('Dtls', ...t.regulatoryReporting.map((l) => textElement('Inf', l))));
  const remittance = group('RmtInf', ...(t.remittance ?? []).map((l) => textElement('Ustrd', l)),
    t.creditorReference === undefined ? undefined : element('Strd', element('CdtrRefInf', textElement('Ref', t.creditorReference))));
  return element('CdtTrfTxInf',
    element('PmtId', opt('InstrId', t.instrId), textElement('EndToEndId', t.endToEndId), opt('TxId', t.txId), opt('UETR', t.uetr)),
    type, writeMoney('IntrBkSttlmAmt', t.amount), opt('IntrBkSttlmDt', t.settlementDate),
    optMoney('InstdAmt', t.instructedAmount), opt('XchgRate', t.exchangeRate),
    textElement('ChrgBr', must(t.chargeBearer, 'CdtTrfTxInf/ChrgBr')), ...charges,
    writeAgent('InstgAgt', t.instructingAgent), writeAgent('InstdAgt', t.instructedAgent), writeAgent('IntrmyAgt1', t.intermediaryAgent1),
    writeParty('UltmtDbtr', t.ultimateDebtor), writeParty('Dbtr', t.debtor), writeAccount('DbtrAcct', t.debtorAccount),
    writeAgent('DbtrAgt', must(t.debtorAgent, 'CdtTrfTxInf/DbtrAgt')), writeAccount('DbtrAgtAcct', t.debtorAgentAccount),
    writeAgent('CdtrAgt', must(t.creditorAgent, 'CdtTrfTxInf/CdtrAgt')), writeAccount('CdtrAgtAcct', t.creditorAgentAccount),
    writeParty('Cdtr', t.creditor), writeAccount('CdtrAcct', t.creditorAccount), writeParty('UltmtCdtr', t.ultimateCreditor),
    ...(t.instructionsForNextAgent ?? []).map((l) => element('InstrForNxtAgt', textElement('InstrInf', l))),
    writeCode('Purp', t.purpose), regulatory, remittance);
}

/**
 * pacs.002.001.10 Document. The original message goes in OrgnlGrpInfAndSts when the model has a group
 * status or group reasons (or no transactions); otherwise in each TxInfAndSts/OrgnlGrpInf, as CBPR+ has it.
 */
export function pacs002Element(m: Pacs002): XmlNode {
  const o = m.original;
  const atGroup = o.groupStatus !== undefined || o.reasons !== undefined || m.transactions.length === 0;
  const originalGroup = element('OrgnlGrpInf', textElement('OrgnlMsgId', o.msgId), textElement('OrgnlMsgNmId', o.msgNameId),
    opt('OrgnlCreDtTm', o.creationDateTime));
  // GroupHeader91: MsgId, CreDtTm, InstgAgt, InstdAgt.
  const header = element('GrpHdr', textElement('MsgId', m.header.msgId), textElement('CreDtTm', m.header.creationDateTime),
    writeAgent('InstgAgt', m.header.instructingAgent), writeAgent('InstdAgt', m.header.instructedAgent));
  // OriginalGroupHeader17: OrgnlMsgId, OrgnlMsgNmId, OrgnlCreDtTm, GrpSts, StsRsnInf.
  const groupStatus = atGroup && element('OrgnlGrpInfAndSts', ...(originalGroup.children ?? []), opt('GrpSts', o.groupStatus),
    ...(o.reasons ?? []).map((r) => writeReason('StsRsnInf', r)));
  const txs = m.transactions.map((t) => transactionStatus(t, atGroup ? undefined : originalGroup));
  return element('Document', element('FIToFIPmtStsRpt', header, groupStatus, ...txs));
}

/** PaymentTransaction110, in its sequence (OrgnlTxRef: IntrBkSttlmAmt, IntrBkSttlmDt). */
function transactionStatus(t: TransactionStatus, originalGroup: XmlNode | undefined): XmlNode {
  return element('TxInfAndSts', opt('StsId', t.statusId), originalGroup, opt('OrgnlInstrId', t.originalInstrId),
    opt('OrgnlEndToEndId', t.originalEndToEndId), opt('OrgnlTxId', t.originalTxId), opt('OrgnlUETR', t.originalUetr),
    textElement('TxSts', t.status), ...(t.reasons ?? []).map((r) => writeReason('StsRsnInf', r)),
    opt('AccptncDtTm', t.acceptanceDateTime), writeAgent('InstgAgt', t.instructingAgent), writeAgent('InstdAgt', t.instructedAgent),
    group('OrgnlTxRef', optMoney('IntrBkSttlmAmt', t.originalAmount), opt('IntrBkSttlmDt', t.originalSettlementDate)));
}

/** pacs.004.001.09 Document. */
export function pacs004Element(m: Pacs004): XmlNode {
  const h = m.header;
  // GroupHeader90: MsgId, CreDtTm, NbOfTxs, CtrlSum, TtlRtrdIntrBkSttlmAmt, IntrBkSttlmDt, SttlmInf, InstgAgt, InstdAgt.
  const header = element('GrpHdr', textElement('MsgId', h.msgId), textElement('CreDtTm', h.creationDateTime),
    textElement('NbOfTxs', h.numberOfTransactions), opt('CtrlSum', h.controlSum),
    optMoney('TtlRtrdIntrBkSttlmAmt', h.totalSettlementAmount), opt('IntrBkSttlmDt', h.settlementDate),
    element('SttlmInf', textElement('SttlmMtd', must(h.settlementMethod, 'GrpHdr/SttlmInf/SttlmMtd')),
      writeAccount('SttlmAcct', h.settlementAccount), writeCode('ClrSys', h.clearingSystem)),
    writeAgent('InstgAgt', h.instructingAgent), writeAgent('InstdAgt', h.instructedAgent));
  const original = m.original === undefined ? undefined : originalGroup(m.original);
  return element('Document', element('PmtRtr', header, original, ...m.transactions.map(returnTransaction)));
}

function originalGroup(o: { msgId: string; msgNameId: string; creationDateTime?: string }): XmlNode {
  return element('OrgnlGrpInf', textElement('OrgnlMsgId', o.msgId), textElement('OrgnlMsgNmId', o.msgNameId),
    opt('OrgnlCreDtTm', o.creationDateTime));
}

/** PaymentTransaction112, in its sequence; the original's parties in OrgnlTxRef (OriginalTransactionReference28). */
function returnTransaction(t: PaymentReturnTx): XmlNode {
  const reason = t.reason.code === undefined && t.reason.proprietary === undefined && t.reason.text === undefined
    ? undefined : writeReason('RtrRsnInf', t.reason);
  const ref = group('OrgnlTxRef', writePartyChoice('Dbtr', t.debtor), writeAccount('DbtrAcct', t.debtorAccount),
    writeAgent('DbtrAgt', t.debtorAgent), writeAgent('CdtrAgt', t.creditorAgent), writePartyChoice('Cdtr', t.creditor),
    writeAccount('CdtrAcct', t.creditorAccount));
  return element('TxInf', opt('RtrId', t.returnId), t.original && originalGroup(t.original),
    opt('OrgnlInstrId', t.originalInstrId), opt('OrgnlEndToEndId', t.originalEndToEndId), opt('OrgnlTxId', t.originalTxId),
    opt('OrgnlUETR', t.originalUetr), optMoney('OrgnlIntrBkSttlmAmt', t.originalAmount),
    writeMoney('RtrdIntrBkSttlmAmt', t.returnedAmount), opt('IntrBkSttlmDt', t.settlementDate), opt('ChrgBr', t.chargeBearer),
    writeAgent('InstgAgt', t.instructingAgent), writeAgent('InstdAgt', t.instructedAgent), reason, ref);
}

/** camt.053.001.08 or camt.054.001.08 Document. */
export function cashReportElement(m: CashReport): XmlNode {
  const statement = m.kind === 'camt.053';
  if (m.reports.length === 0) throw new IsoError(`a ${m.kind} needs at least one report`);
  // GroupHeader81: MsgId, CreDtTm.
  const header = element('GrpHdr', textElement('MsgId', m.header.msgId), textElement('CreDtTm', m.header.creationDateTime));
  const reports = m.reports.map((r) => accountReport(r, statement));
  return element('Document', element(statement ? 'BkToCstmrStmt' : 'BkToCstmrDbtCdtNtfctn', header, ...reports));
}

/** AccountStatement9 / AccountNotification17: Id, ElctrncSeqNb, CreDtTm, FrToDt, Acct, Bal (camt.053 only), Ntry. */
function accountReport(r: AccountReport, statement: boolean): XmlNode {
  if (statement && r.balances.length === 0) throw new IsoError(`statement ${r.id}: a camt.053 statement needs at least one balance`);
  if (!statement && r.balances.length > 0) throw new IsoError(`notification ${r.id}: a camt.054 notification has no balances`);
  if ((r.fromDateTime === undefined) !== (r.toDateTime === undefined)) throw new IsoError(`report ${r.id}: FrToDt needs both ends`);
  const period = r.fromDateTime === undefined ? undefined
    : element('FrToDt', textElement('FrDtTm', r.fromDateTime), textElement('ToDtTm', r.toDateTime!));
  return element(statement ? 'Stmt' : 'Ntfctn', textElement('Id', r.id), opt('ElctrncSeqNb', r.electronicSequenceNumber),
    opt('CreDtTm', r.creationDateTime), period,
    writeAccount('Acct', r.account, writeParty('Ownr', r.accountOwner), writeAgent('Svcr', r.accountServicer)),
    ...r.balances.map(balance), ...r.entries.map(entry));
}

/** CashBalance8: Tp/CdOrPrtry/Cd, Amt, CdtDbtInd, Dt. */
function balance(b: Balance): XmlNode {
  return element('Bal', element('Tp', element('CdOrPrtry', codeOrProprietary('CdOrPrtry', b.type))), writeMoney('Amt', b.amount),
    textElement('CdtDbtInd', b.creditDebit), writeDateChoice('Dt', b.date));
}

// A bank transaction code the reader joined from Domn/Fmly/SubFmlyCd: three
// ISO codes of at most four characters. Anything else was a proprietary code.
const DOMAIN_CODE = /^([A-Z0-9]{1,4})\/([A-Z0-9]{1,4})\/([A-Z0-9]{1,4})$/;

/** BankTransactionCodeStructure4: mandatory in an entry, and may be empty. */
function bankTransactionCode(code: string | undefined): XmlNode {
  if (code === undefined) return element('BkTxCd');
  const d = DOMAIN_CODE.exec(code);
  if (d === null) return element('BkTxCd', element('Prtry', textElement('Cd', code)));
  return element('BkTxCd', element('Domn', textElement('Cd', d[1]), element('Fmly', textElement('Cd', d[2]), textElement('SubFmlyCd', d[3]))));
}

/** ReportEntry10: NtryRef, Amt, CdtDbtInd, RvslInd, Sts, BookgDt, ValDt, AcctSvcrRef, BkTxCd, NtryDtls. */
function entry(n: Entry): XmlNode {
  const details = n.details.length === 0 ? undefined : element('NtryDtls', ...n.details.map(entryDetails));
  return element('Ntry', opt('NtryRef', n.reference), writeMoney('Amt', n.amount), textElement('CdtDbtInd', n.creditDebit),
    n.reversal === undefined ? undefined : textElement('RvslInd', String(n.reversal)), element('Sts', codeOrProprietary('Sts', n.status)),
    writeDateChoice('BookgDt', n.bookingDate), writeDateChoice('ValDt', n.valueDate), opt('AcctSvcrRef', n.accountServicerReference),
    bankTransactionCode(n.bankTransactionCode), details);
}

/** EntryTransaction10: Refs, Amt, CdtDbtInd, RltdPties, RltdAgts, RmtInf, RtrInf. */
function entryDetails(d: EntryDetails): XmlNode {
  const refs = group('Refs', opt('MsgId', d.msgId), opt('AcctSvcrRef', d.accountServicerReference), opt('PmtInfId', d.pmtInfId),
    opt('InstrId', d.instrId), opt('EndToEndId', d.endToEndId), opt('UETR', d.uetr), opt('TxId', d.txId));
  const parties = group('RltdPties', writePartyChoice('Dbtr', d.debtor), writeAccount('DbtrAcct', d.debtorAccount),
    writePartyChoice('Cdtr', d.creditor), writeAccount('CdtrAcct', d.creditorAccount));
  const agents = group('RltdAgts', writeAgent('DbtrAgt', d.debtorAgent), writeAgent('CdtrAgt', d.creditorAgent));
  const remittance = group('RmtInf', ...(d.remittance ?? []).map((l) => textElement('Ustrd', l)));
  const returned = d.returnReason === undefined ? undefined : element('RtrInf', writeCode('Rsn', d.returnReason));
  return element('TxDtls', refs, optMoney('Amt', d.amount), opt('CdtDbtInd', d.creditDebit), parties, agents, remittance, returned);
}
