// host/payments/model.ts: the payment messages as the host's protocol front
// ends read and write them (docs/payments.md). One shape for every syntax:
// the ISO 20022 reader and writer (./iso20022.ts) and the SWIFT MT103 reader
// and writer (./mt103.ts) meet here, and the payments front end
// (host/gateway/payments-front.ts) turns these into the payments service's binary records
// (services/payments/protocol.ts) and back.
//
// Text is kept as the message wrote it (trimmed of nothing): identifiers,
// names, BICs, IBANs. Amounts are decimal strings exactly as written, with a
// '.' separator (MT's ',' becomes '.'; nothing else changes), never numbers:
// turning them into minor units, with the currency's scale and the refusal
// of extra places, is the front end's job (decimal.js), not a reader's.
// Optional fields are absent (undefined), never empty strings.

/** An amount: ISO 4217 code and a decimal string ("1814.28"). */
export interface Money {
  currency: string;
  value: string;
}

/** A financial institution (FinInstnId): BICFI, or a clearing system member id, and a name. */
export interface Agent {
  bic?: string;
  /** ClrSysMmbId/MmbId (with the clearing system code, ClrSysId/Cd, when given). */
  memberId?: string;
  clearingSystem?: string;
  name?: string;
  address?: PostalAddress;
  /** LEI, when the message gives one. */
  lei?: string;
}

/** An account: IBAN, or another id with its scheme (SchmeNm/Cd or /Prtry), and its currency when given. */
export interface AccountRef {
  iban?: string;
  other?: string;
  scheme?: string;
  currency?: string;
  name?: string;
}

export interface PostalAddress {
  street?: string;
  buildingNumber?: string;
  postCode?: string;
  town?: string;
  countrySubDivision?: string;
  country?: string;
  /** AdrLine, or MT's free-format name-and-address lines after the name. */
  lines?: string[];
}

/** A party (debtor, creditor, ultimate ones, the initiating party). */
export interface Party {
  name?: string;
  address?: PostalAddress;
  /** An organisation's BIC (AnyBIC) or LEI, or another id (OrgId/Othr/Id, PrvtId/Othr/Id). */
  anyBic?: string;
  lei?: string;
  otherId?: string;
}

/** One credit transfer transaction (pacs.008 CdtTrfTxInf, pain.001 CdtTrfTxInf, MT103). */
export interface CreditTransfer {
  instrId?: string;
  endToEndId: string;
  txId?: string;
  /** UUIDv4, lower case as written (MT's :121:). */
  uetr?: string;
  /** IntrBkSttlmAmt (pacs.008, MT :32A:) or InstdAmt / EqvtAmt (pain.001): what moves. */
  amount: Money;
  /** pacs.008 InstdAmt (MT :33B:), when given beside the settlement amount. */
  instructedAmount?: Money;
  exchangeRate?: string;
  /** IntrBkSttlmDt (pacs.008, MT :32A:) as YYYY-MM-DD. */
  settlementDate?: string;
  /** DEBT, CRED, SHAR or SLEV (MT :71A: OUR, BEN, SHA). */
  chargeBearer?: string;
  /** ChrgsInf (MT :71F: and :71G:). */
  charges?: { amount: Money; agent?: Agent }[];
  /** pain.001/pacs.008 PmtTpInf/SvcLvl/Cd, LclInstrm/Cd, CtgyPurp/Cd; MT :23B: and :23E:. */
  serviceLevel?: string;
  localInstrument?: string;
  categoryPurpose?: string;
  /** MT :23B: bank operation code (CRED, SPAY, ...). */
  bankOperationCode?: string;
  /** MT :13C: time indications, as written. */
  timeIndications?: string[];
  debtor: Party;
  debtorAccount?: AccountRef;
  debtorAgent?: Agent;
  debtorAgentAccount?: AccountRef;
  creditor: Party;
  creditorAccount?: AccountRef;
  creditorAgent?: Agent;
  creditorAgentAccount?: AccountRef;
  ultimateDebtor?: Party;
  ultimateCreditor?: Party;
  intermediaryAgent1?: Agent;
  /** pacs.008 InstgAgt / InstdAgt (per transaction, or from the group header). */
  instructingAgent?: Agent;
  instructedAgent?: Agent;
  /** pacs.008 PrvsInstgAgt1 / InstgRmbrsmntAgt (MT :53a:, the sender's correspondent). */
  instructingReimbursementAgent?: Agent;
  instructingReimbursementAgentAccount?: AccountRef;
  /** RmtInf/Ustrd lines (MT :70:). */
  remittance?: string[];
  /** RmtInf/Strd/CdtrRefInf/Ref (a structured creditor reference), when given. */
  creditorReference?: string;
  purpose?: string;
  /** InstrForNxtAgt/InstrInf and InstrForCdtrAgt (MT :72: lines). */
  instructionsForNextAgent?: string[];
  /** pacs.008 RgltryRptg details as free lines (MT :77B:). */
  regulatoryReporting?: string[];
}

/** Group header of a pacs or pain message. */
export interface GroupHeader {
  msgId: string;
  /** CreDtTm as written. */
  creationDateTime: string;
  /** NbOfTxs as written (a decimal string, checked by the front end). */
  numberOfTransactions: string;
  controlSum?: string;
  /** SttlmInf/SttlmMtd (INDA, INGA, COVE, CLRG). */
  settlementMethod?: string;
  settlementAccount?: AccountRef;
  clearingSystem?: string;
  /** IntrBkSttlmDt / TtlIntrBkSttlmAmt at group level (pacs), when given. */
  settlementDate?: string;
  totalSettlementAmount?: Money;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
  /** pain.001 InitgPty. */
  initiatingParty?: Party;
}

/** The business application header (head.001.001.02), when the message is wrapped. */
export interface AppHeader {
  fromBic?: string;
  toBic?: string;
  bizMsgIdr: string;
  msgDefIdr: string;
  bizSvc?: string;
  creationDate: string;
}

/** pacs.008.001.08: FI-to-FI customer credit transfer. */
export interface Pacs008 {
  kind: 'pacs.008';
  header: GroupHeader;
  transactions: CreditTransfer[];
}

/** pain.001.001.09: a customer's credit transfer initiation, in payment information blocks. */
export interface Pain001 {
  kind: 'pain.001';
  header: GroupHeader;
  paymentInformation: PaymentInformation[];
}

export interface PaymentInformation {
  pmtInfId: string;
  /** PmtMtd: TRF (CHK and TRA are refused by the front end). */
  method: string;
  batchBooking?: boolean;
  numberOfTransactions?: string;
  controlSum?: string;
  /** ReqdExctnDt/Dt (or DtTm) as written. */
  requestedExecutionDate: string;
  debtor: Party;
  debtorAccount: AccountRef;
  debtorAgent: Agent;
  chargeBearer?: string;
  serviceLevel?: string;
  categoryPurpose?: string;
  ultimateDebtor?: Party;
  /** Each transaction carries its own creditor side; the debtor side above is copied into it by the reader. */
  transactions: CreditTransfer[];
}

/** pacs.002.001.10: a status report; per transaction, or only for the group. */
export interface Pacs002 {
  kind: 'pacs.002';
  header: { msgId: string; creationDateTime: string; instructingAgent?: Agent; instructedAgent?: Agent };
  original: { msgId: string; msgNameId: string; creationDateTime?: string; groupStatus?: string; reasons?: StatusReason[] };
  transactions: TransactionStatus[];
}

export interface StatusReason {
  /** ISO external status reason code (AC01, AM04, ...) or a proprietary one. */
  code?: string;
  proprietary?: string;
  text?: string[];
}

export interface TransactionStatus {
  statusId?: string;
  originalInstrId?: string;
  originalEndToEndId?: string;
  originalTxId?: string;
  originalUetr?: string;
  /** ACCP, ACSC, ACSP, ACCC, ACWC, PDNG, RJCT, ... */
  status: string;
  reasons?: StatusReason[];
  acceptanceDateTime?: string;
  /** The original's settlement amount and date (OrgnlTxRef), when given. */
  originalAmount?: Money;
  originalSettlementDate?: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
}

/** pacs.004.001.09: a payment return. */
export interface Pacs004 {
  kind: 'pacs.004';
  header: GroupHeader;
  original?: { msgId: string; msgNameId: string; creationDateTime?: string };
  transactions: PaymentReturnTx[];
}

export interface PaymentReturnTx {
  returnId?: string;
  original?: { msgId: string; msgNameId: string; creationDateTime?: string };
  originalInstrId?: string;
  originalEndToEndId?: string;
  originalTxId?: string;
  originalUetr?: string;
  originalAmount?: Money;
  returnedAmount: Money;
  settlementDate?: string;
  chargeBearer?: string;
  /** RtrRsnInf/Rsn/Cd (AC04, AM05, ...), and its text. */
  reason: StatusReason;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
  /** OrgnlTxRef parties, when given: who the original debited and credited. */
  debtor?: Party;
  debtorAccount?: AccountRef;
  debtorAgent?: Agent;
  creditor?: Party;
  creditorAccount?: AccountRef;
  creditorAgent?: Agent;
}

/** camt.053.001.08 (statement) or camt.054.001.08 (debit/credit notification). */
export interface CashReport {
  kind: 'camt.053' | 'camt.054';
  header: { msgId: string; creationDateTime: string };
  /** Stmt (camt.053) or Ntfctn (camt.054). */
  reports: AccountReport[];
}

export interface AccountReport {
  id: string;
  electronicSequenceNumber?: string;
  creationDateTime?: string;
  fromDateTime?: string;
  toDateTime?: string;
  account: AccountRef;
  accountOwner?: Party;
  accountServicer?: Agent;
  /** Bal: OPBD, CLBD, ITBD, CLAV, PRCD, ... (camt.054 has none). */
  balances: Balance[];
  entries: Entry[];
}

export interface Balance {
  /** Tp/CdOrPrtry/Cd. */
  type: string;
  amount: Money;
  creditDebit: 'CRDT' | 'DBIT';
  /** Dt/Dt or Dt/DtTm as written. */
  date: string;
}

export interface Entry {
  reference?: string;
  amount: Money;
  creditDebit: 'CRDT' | 'DBIT';
  reversal?: boolean;
  /** Sts/Cd: BOOK, PDNG, INFO. */
  status: string;
  bookingDate?: string;
  valueDate?: string;
  accountServicerReference?: string;
  /** BkTxCd/Domn (Cd, Fmly/Cd, Fmly/SubFmlyCd) joined with '/', or Prtry/Cd. */
  bankTransactionCode?: string;
  details: EntryDetails[];
}

export interface EntryDetails {
  msgId?: string;
  accountServicerReference?: string;
  pmtInfId?: string;
  instrId?: string;
  endToEndId?: string;
  uetr?: string;
  txId?: string;
  amount?: Money;
  creditDebit?: 'CRDT' | 'DBIT';
  debtor?: Party;
  debtorAccount?: AccountRef;
  creditor?: Party;
  creditorAccount?: AccountRef;
  debtorAgent?: Agent;
  creditorAgent?: Agent;
  remittance?: string[];
  returnReason?: string;
}

export type IsoMessage = Pacs008 | Pain001 | Pacs002 | Pacs004 | CashReport;

/** The message definitions QENEX reads and writes, by their Document namespace's last part. */
export const MESSAGE_DEFINITIONS = {
  'pain.001.001.09': 'pain.001',
  'pacs.008.001.08': 'pacs.008',
  'pacs.002.001.10': 'pacs.002',
  'pacs.004.001.09': 'pacs.004',
  'camt.053.001.08': 'camt.053',
  'camt.054.001.08': 'camt.054',
} as const;

export type MessageDefinition = keyof typeof MESSAGE_DEFINITIONS;

/** The ISO 20022 namespace of a message definition's Document. */
export function documentNamespace(definition: string): string {
  return `urn:iso:std:iso:20022:tech:xsd:${definition}`;
}

/** The head.001.001.02 namespace of the AppHdr. */
export const APP_HEADER_NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:head.001.001.02';
