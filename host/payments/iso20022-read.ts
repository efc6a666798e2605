// host/payments/iso20022-read.ts: parsed ISO 20022 Documents (./xml.ts) into
// the shared model (./model.ts), one reader per message definition we take:
// pain.001.001.09, pacs.008.001.08, pacs.002.001.10, pacs.004.001.09,
// camt.053.001.08 and camt.054.001.08, and the head.001.001.02 AppHdr.
//
// Each reader gets the Document element of a schema-valid message (./xsd.ts
// admitted it) and reads the parts the model has fields for; everything
// else is left, not refused. What is mandatory in the schema is still
// checked (need/needText), so a document that slipped past validation
// fails with the element it lacks rather than with undefined values.
//
// Where the model keeps one value that a message may give at two levels
// (the settlement date, instructing agents and payment type of a pacs.008
// transaction or its group header; the debtor side of a pain.001 payment
// information block), the transaction gets the group's value when it has
// none of its own: the model is per transaction.

import type {
  AccountReport, AppHeader, Balance, CashReport, CreditTransfer, Entry, EntryDetails, GroupHeader, Pacs002, Pacs004,
  Pacs008, PaymentInformation, PaymentReturnTx, Pain001, StatusReason, TransactionStatus,
} from './model.ts';
import type { XmlElement } from './xml.ts';
import {
  IsoError, choice, dateChoice, flag, money, moneyAt, need, needText, prune, readAccount, readAgent, readParty, readPartyChoice,
  readReason, text, texts,
} from './iso20022-common.ts';

/** AppHdr (head.001.001.02): sender and receiver BICs (FIId), ids, service and creation date. */
export function readAppHeader(h: XmlElement): AppHeader {
  return prune({
    fromBic: text(h, 'Fr', 'FIId', 'FinInstnId', 'BICFI'), toBic: text(h, 'To', 'FIId', 'FinInstnId', 'BICFI'),
    bizMsgIdr: needText(h, 'BizMsgIdr'), msgDefIdr: needText(h, 'MsgDefIdr'), bizSvc: text(h, 'BizSvc'), creationDate: needText(h, 'CreDt'),
  });
}

/** GroupHeader93 (pacs.008), GroupHeader90 (pacs.004) or GroupHeader85 (pain.001). */
function readGroupHeader(g: XmlElement): GroupHeader {
  const s = g.child('SttlmInf');
  return prune({
    msgId: needText(g, 'MsgId'), creationDateTime: needText(g, 'CreDtTm'), numberOfTransactions: needText(g, 'NbOfTxs'),
    controlSum: text(g, 'CtrlSum'), settlementMethod: text(s, 'SttlmMtd'), settlementAccount: readAccount(s?.child('SttlmAcct')),
    clearingSystem: choice(s?.child('ClrSys')), settlementDate: text(g, 'IntrBkSttlmDt'),
    totalSettlementAmount: moneyAt(g, 'TtlIntrBkSttlmAmt') ?? moneyAt(g, 'TtlRtrdIntrBkSttlmAmt'),
    instructingAgent: readAgent(g.child('InstgAgt')), instructedAgent: readAgent(g.child('InstdAgt')),
    initiatingParty: readParty(g.child('InitgPty')),
  });
}

/** RmtInf: unstructured lines and the first structured creditor reference. */
function readRemittance(r: XmlElement | undefined): { remittance?: string[]; creditorReference?: string } {
  const reference = r?.all('Strd').map((s) => text(s, 'CdtrRefInf', 'Ref')).find((x) => x !== undefined);
  return prune({ remittance: texts(r, 'Ustrd'), creditorReference: reference });
}

/** The parts of a credit transfer pacs.008 (CreditTransferTransaction39) and pain.001 (…34) write alike. */
function readTransferCommon(t: XmlElement) {
  const instructions = [...t.all('InstrForCdtrAgt'), ...t.all('InstrForNxtAgt')].map((i) => text(i, 'InstrInf'));
  const regulatory = t.all('RgltryRptg').flatMap((r) => r.all('Dtls').flatMap((d) => texts(d, 'Inf') ?? []));
  return prune({
    instrId: text(t, 'PmtId', 'InstrId'), endToEndId: needText(t, 'PmtId', 'EndToEndId'), uetr: text(t, 'PmtId', 'UETR'),
    ultimateDebtor: readParty(t.child('UltmtDbtr')), intermediaryAgent1: readAgent(t.child('IntrmyAgt1')),
    creditorAgent: readAgent(t.child('CdtrAgt')), creditorAgentAccount: readAccount(t.child('CdtrAgtAcct')),
    creditor: readParty(t.child('Cdtr')) ?? {}, creditorAccount: readAccount(t.child('CdtrAcct')),
    ultimateCreditor: readParty(t.child('UltmtCdtr')), purpose: choice(t.child('Purp')),
    instructionsForNextAgent: instructions.some((i) => i !== undefined) ? instructions.filter((i) => i !== undefined) : undefined,
    regulatoryReporting: regulatory.length > 0 ? regulatory : undefined,
    ...readRemittance(t.child('RmtInf')),
  });
}

/** pacs.008.001.08: FIToFICstmrCdtTrf. */
export function readPacs008(doc: XmlElement): Pacs008 {
  const root = need(doc, 'FIToFICstmrCdtTrf');
  const g = need(root, 'GrpHdr');
  const header = readGroupHeader(g);
  const transactions = root.all('CdtTrfTxInf').map((t) => readPacs008Transaction(t, g, header));
  if (transactions.length === 0) throw new IsoError('pacs.008 without CdtTrfTxInf');
  return { kind: 'pacs.008', header, transactions };
}

function readPacs008Transaction(t: XmlElement, g: XmlElement, header: GroupHeader): CreditTransfer {
  const type = t.child('PmtTpInf') ?? g.child('PmtTpInf');
  const settlement = g.child('SttlmInf');
  const charges = t.all('ChrgsInf').map((c) => prune({ amount: money(need(c, 'Amt')), agent: readAgent(c.child('Agt')) }));
  return prune({
    ...readTransferCommon(t),
    txId: text(t, 'PmtId', 'TxId'),
    amount: money(need(t, 'IntrBkSttlmAmt')), instructedAmount: moneyAt(t, 'InstdAmt'), exchangeRate: text(t, 'XchgRate'),
    settlementDate: text(t, 'IntrBkSttlmDt') ?? header.settlementDate, chargeBearer: text(t, 'ChrgBr'),
    charges: charges.length > 0 ? charges : undefined,
    serviceLevel: choice(type?.child('SvcLvl')), localInstrument: choice(type?.child('LclInstrm')),
    categoryPurpose: choice(type?.child('CtgyPurp')),
    debtor: readParty(need(t, 'Dbtr'))!, debtorAccount: readAccount(t.child('DbtrAcct')),
    debtorAgent: readAgent(need(t, 'DbtrAgt')), debtorAgentAccount: readAccount(t.child('DbtrAgtAcct')),
    instructingAgent: readAgent(t.child('InstgAgt')) ?? header.instructingAgent,
    instructedAgent: readAgent(t.child('InstdAgt')) ?? header.instructedAgent,
    instructingReimbursementAgent: readAgent(settlement?.child('InstgRmbrsmntAgt')),
    instructingReimbursementAgentAccount: readAccount(settlement?.child('InstgRmbrsmntAgtAcct')),
  });
}

/** pain.001.001.09: CstmrCdtTrfInitn, the debtor side of each PmtInf copied into its transactions. */
export function readPain001(doc: XmlElement): Pain001 {
  const root = need(doc, 'CstmrCdtTrfInitn');
  const header = readGroupHeader(need(root, 'GrpHdr'));
  const paymentInformation = root.all('PmtInf').map(readPaymentInformation);
  if (paymentInformation.length === 0) throw new IsoError('pain.001 without PmtInf');
  return { kind: 'pain.001', header, paymentInformation };
}

function readPaymentInformation(p: XmlElement): PaymentInformation {
  const info: Omit<PaymentInformation, 'transactions'> = prune({
    pmtInfId: needText(p, 'PmtInfId'), method: needText(p, 'PmtMtd'), batchBooking: flag(p, 'BtchBookg'),
    numberOfTransactions: text(p, 'NbOfTxs'), controlSum: text(p, 'CtrlSum'),
    requestedExecutionDate: must(dateChoice(p.child('ReqdExctnDt')), 'PmtInf/ReqdExctnDt'),
    debtor: readParty(need(p, 'Dbtr'))!, debtorAccount: readAccount(need(p, 'DbtrAcct'))!, debtorAgent: readAgent(need(p, 'DbtrAgt'))!,
    chargeBearer: text(p, 'ChrgBr'), serviceLevel: choice(p.at('PmtTpInf', 'SvcLvl')),
    categoryPurpose: choice(p.at('PmtTpInf', 'CtgyPurp')), ultimateDebtor: readParty(p.child('UltmtDbtr')),
  });
  const debtorAgentAccount = readAccount(p.child('DbtrAgtAcct'));
  const localInstrument = choice(p.at('PmtTpInf', 'LclInstrm'));
  const transactions = p.all('CdtTrfTxInf').map((t): CreditTransfer => {
    const type = t.child('PmtTpInf');
    const common = readTransferCommon(t);
    return prune({
      ...common,
      amount: money(t.at('Amt', 'InstdAmt') ?? need(t, 'Amt', 'EqvtAmt', 'Amt')), exchangeRate: text(t, 'XchgRateInf', 'XchgRate'),
      chargeBearer: text(t, 'ChrgBr') ?? info.chargeBearer,
      serviceLevel: choice(type?.child('SvcLvl')) ?? info.serviceLevel,
      localInstrument: choice(type?.child('LclInstrm')) ?? localInstrument,
      categoryPurpose: choice(type?.child('CtgyPurp')) ?? info.categoryPurpose,
      debtor: info.debtor, debtorAccount: info.debtorAccount, debtorAgent: info.debtorAgent, debtorAgentAccount,
      ultimateDebtor: common.ultimateDebtor ?? info.ultimateDebtor,
    });
  });
  if (transactions.length === 0) throw new IsoError(`PmtInf ${info.pmtInfId} without CdtTrfTxInf`);
  return { ...info, transactions };
}

function must<T>(value: T | undefined, path: string): T {
  if (value === undefined) throw new IsoError(`no ${path}`);
  return value;
}

/** The first original-group element of a pacs.002 / pacs.004 (OriginalGroupHeader17/18, OriginalGroupInformation29). */
function readOriginalGroup(o: XmlElement): { msgId: string; msgNameId: string; creationDateTime?: string } {
  return prune({ msgId: needText(o, 'OrgnlMsgId'), msgNameId: needText(o, 'OrgnlMsgNmId'), creationDateTime: text(o, 'OrgnlCreDtTm') });
}

function reasonsOf(e: XmlElement, name: string): StatusReason[] | undefined {
  const reasons = e.all(name).map(readReason);
  return reasons.length > 0 ? reasons : undefined;
}

/** pacs.002.001.10: FIToFIPmtStsRpt. The original group is OrgnlGrpInfAndSts, or else the first transaction's OrgnlGrpInf. */
export function readPacs002(doc: XmlElement): Pacs002 {
  const root = need(doc, 'FIToFIPmtStsRpt');
  const g = need(root, 'GrpHdr');
  const group = root.child('OrgnlGrpInfAndSts');
  const txs = root.all('TxInfAndSts');
  const originalGroup = group ?? txs.map((t) => t.child('OrgnlGrpInf')).find((o) => o !== undefined);
  if (originalGroup === undefined) throw new IsoError('pacs.002 names no original message (OrgnlGrpInfAndSts or TxInfAndSts/OrgnlGrpInf)');
  const original = prune({
    ...readOriginalGroup(originalGroup),
    groupStatus: text(group, 'GrpSts'), reasons: group === undefined ? undefined : reasonsOf(group, 'StsRsnInf'),
  });
  const header = prune({
    msgId: needText(g, 'MsgId'), creationDateTime: needText(g, 'CreDtTm'),
    instructingAgent: readAgent(g.child('InstgAgt')), instructedAgent: readAgent(g.child('InstdAgt')),
  });
  return { kind: 'pacs.002', header, original, transactions: txs.map(readTransactionStatus) };
}

function readTransactionStatus(t: XmlElement): TransactionStatus {
  const status = text(t, 'TxSts');
  if (status === undefined) throw new IsoError('TxInfAndSts without TxSts');
  return prune({
    statusId: text(t, 'StsId'), originalInstrId: text(t, 'OrgnlInstrId'), originalEndToEndId: text(t, 'OrgnlEndToEndId'),
    originalTxId: text(t, 'OrgnlTxId'), originalUetr: text(t, 'OrgnlUETR'), status, reasons: reasonsOf(t, 'StsRsnInf'),
    acceptanceDateTime: text(t, 'AccptncDtTm'), originalAmount: moneyAt(t.child('OrgnlTxRef'), 'IntrBkSttlmAmt'),
    originalSettlementDate: text(t, 'OrgnlTxRef', 'IntrBkSttlmDt'),
    instructingAgent: readAgent(t.child('InstgAgt')), instructedAgent: readAgent(t.child('InstdAgt')),
  });
}

/** pacs.004.001.09: PmtRtr. */
export function readPacs004(doc: XmlElement): Pacs004 {
  const root = need(doc, 'PmtRtr');
  const g = need(root, 'GrpHdr');
  const original = root.child('OrgnlGrpInf');
  return prune({
    kind: 'pacs.004' as const, header: readGroupHeader(g),
    original: original === undefined ? undefined : readOriginalGroup(original),
    transactions: root.all('TxInf').map(readReturnTransaction),
  });
}

function readReturnTransaction(t: XmlElement): PaymentReturnTx {
  const original = t.child('OrgnlGrpInf');
  const reason = t.child('RtrRsnInf');
  return prune({
    returnId: text(t, 'RtrId'), original: original === undefined ? undefined : readOriginalGroup(original),
    originalInstrId: text(t, 'OrgnlInstrId'), originalEndToEndId: text(t, 'OrgnlEndToEndId'), originalTxId: text(t, 'OrgnlTxId'),
    originalUetr: text(t, 'OrgnlUETR'), originalAmount: moneyAt(t, 'OrgnlIntrBkSttlmAmt'),
    returnedAmount: money(need(t, 'RtrdIntrBkSttlmAmt')), settlementDate: text(t, 'IntrBkSttlmDt'), chargeBearer: text(t, 'ChrgBr'),
    reason: reason === undefined ? {} : readReason(reason),
    instructingAgent: readAgent(t.child('InstgAgt')), instructedAgent: readAgent(t.child('InstdAgt')),
    ...readReturnParties(t),
  });
}

type ReturnParties = Pick<PaymentReturnTx, 'debtor' | 'debtorAccount' | 'debtorAgent' | 'creditor' | 'creditorAccount' | 'creditorAgent'>;

/**
 * The original's parties: from OrgnlTxRef when it names any, or else from the return chain (RtrChain, which
 * CBPR+ uses). The return chain runs backwards: its creditor is the original debtor (who gets the money back)
 * and its debtor the original creditor, so the sides are swapped. A side that RtrChain gives as an agent
 * (Party40Choice/Agt) is not a Party and is left out.
 */
function readReturnParties(t: XmlElement): ReturnParties {
  const ref = t.child('OrgnlTxRef');
  const fromRef: ReturnParties = prune({
    debtor: readPartyChoice(ref?.child('Dbtr')), debtorAccount: readAccount(ref?.child('DbtrAcct')), debtorAgent: readAgent(ref?.child('DbtrAgt')),
    creditor: readPartyChoice(ref?.child('Cdtr')), creditorAccount: readAccount(ref?.child('CdtrAcct')), creditorAgent: readAgent(ref?.child('CdtrAgt')),
  });
  const chain = t.child('RtrChain');
  if (Object.keys(fromRef).length > 0 || chain === undefined) return fromRef;
  return prune({
    debtor: readPartyChoice(chain.child('Cdtr')), debtorAgent: readAgent(chain.child('CdtrAgt')),
    creditor: readPartyChoice(chain.child('Dbtr')), creditorAgent: readAgent(chain.child('DbtrAgt')),
  });
}

/** camt.053.001.08 (BkToCstmrStmt/Stmt) or camt.054.001.08 (BkToCstmrDbtCdtNtfctn/Ntfctn). */
export function readCashReport(doc: XmlElement, kind: 'camt.053' | 'camt.054'): CashReport {
  const root = need(doc, kind === 'camt.053' ? 'BkToCstmrStmt' : 'BkToCstmrDbtCdtNtfctn');
  const g = need(root, 'GrpHdr');
  const reports = root.all(kind === 'camt.053' ? 'Stmt' : 'Ntfctn').map(readAccountReport);
  if (reports.length === 0) throw new IsoError(`${kind} without a report`);
  return { kind, header: { msgId: needText(g, 'MsgId'), creationDateTime: needText(g, 'CreDtTm') }, reports };
}

function readAccountReport(r: XmlElement): AccountReport {
  const account = need(r, 'Acct');
  return prune({
    id: needText(r, 'Id'), electronicSequenceNumber: text(r, 'ElctrncSeqNb'), creationDateTime: text(r, 'CreDtTm'),
    fromDateTime: text(r, 'FrToDt', 'FrDtTm'), toDateTime: text(r, 'FrToDt', 'ToDtTm'),
    account: readAccount(account)!, accountOwner: readParty(account.child('Ownr')), accountServicer: readAgent(account.child('Svcr')),
    balances: r.all('Bal').map(readBalance), entries: r.all('Ntry').map(readEntry),
  });
}

function creditDebit(e: XmlElement): 'CRDT' | 'DBIT' {
  const v = needText(e, 'CdtDbtInd');
  if (v !== 'CRDT' && v !== 'DBIT') throw new IsoError(`CdtDbtInd "${v}"`);
  return v;
}

function readBalance(b: XmlElement): Balance {
  return {
    type: must(choice(b.at('Tp', 'CdOrPrtry')), 'Bal/Tp/CdOrPrtry'), amount: money(need(b, 'Amt')), creditDebit: creditDebit(b),
    date: must(dateChoice(b.child('Dt')), 'Bal/Dt'),
  };
}

/** BkTxCd: Domn as "Cd/Fmly/Cd/SubFmlyCd" joined with '/', or else Prtry/Cd. */
function bankTransactionCode(c: XmlElement | undefined): string | undefined {
  const domain = c?.child('Domn');
  if (domain !== undefined) return [needText(domain, 'Cd'), needText(domain, 'Fmly', 'Cd'), needText(domain, 'Fmly', 'SubFmlyCd')].join('/');
  return text(c, 'Prtry', 'Cd');
}

function readEntry(n: XmlElement): Entry {
  return prune({
    reference: text(n, 'NtryRef'), amount: money(need(n, 'Amt')), creditDebit: creditDebit(n), reversal: flag(n, 'RvslInd'),
    status: must(choice(n.child('Sts')), 'Ntry/Sts'), bookingDate: dateChoice(n.child('BookgDt')), valueDate: dateChoice(n.child('ValDt')),
    accountServicerReference: text(n, 'AcctSvcrRef'), bankTransactionCode: bankTransactionCode(n.child('BkTxCd')),
    details: n.all('NtryDtls').flatMap((d) => d.all('TxDtls').map(readEntryDetails)),
  });
}

function readEntryDetails(d: XmlElement): EntryDetails {
  const refs = d.child('Refs');
  const parties = d.child('RltdPties');
  const cd = text(d, 'CdtDbtInd');
  if (cd !== undefined && cd !== 'CRDT' && cd !== 'DBIT') throw new IsoError(`TxDtls/CdtDbtInd "${cd}"`);
  return prune({
    msgId: text(refs, 'MsgId'), accountServicerReference: text(refs, 'AcctSvcrRef'), pmtInfId: text(refs, 'PmtInfId'),
    instrId: text(refs, 'InstrId'), endToEndId: text(refs, 'EndToEndId'), uetr: text(refs, 'UETR'), txId: text(refs, 'TxId'),
    amount: moneyAt(d, 'Amt'), creditDebit: cd,
    debtor: readPartyChoice(parties?.child('Dbtr')), debtorAccount: readAccount(parties?.child('DbtrAcct')),
    creditor: readPartyChoice(parties?.child('Cdtr')), creditorAccount: readAccount(parties?.child('CdtrAcct')),
    debtorAgent: readAgent(d.at('RltdAgts', 'DbtrAgt')), creditorAgent: readAgent(d.at('RltdAgts', 'CdtrAgt')),
    remittance: texts(d, 'RmtInf', 'Ustrd'), returnReason: choice(d.at('RtrInf', 'Rsn')),
  });
}
