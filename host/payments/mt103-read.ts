// host/payments/mt103-read.ts: an MT103 (checked by ./mt103-fields.ts)
// mapped to the shared payment model as a pacs.008 with one transaction,
// following the MT103 -> pacs.008 translation CBPR+ uses where the model has
// a home for a field; ./mt103-write.ts is the inverse, and the two are
// tested as a round trip. ./mt103.ts has the table of the mapping.
//
// A field the model cannot hold (54A, a /C/ or /D/ mark on an account, 50F
// lines 4/ to 8/, ...) is refused with an MtError naming it: a payment is
// never passed on with part of its instruction silently dropped.

import type { AccountRef, Agent, CreditTransfer, GroupHeader, Pacs008, Party, PostalAddress } from './model.ts';
import { MtError, yymmddToIso } from './fin.ts';
import type { Mt103, Mt103Body, MtPartyField } from './mt103-fields.ts';

/** ISO 20022 ChargeBearer codes for :71A:. */
export const CHARGE_BEARERS: Readonly<Record<string, string>> = { OUR: 'DEBT', BEN: 'CRED', SHA: 'SHAR' };

/**
 * MT clearing codes ("//FW021000018") and the ISO external clearing system
 * codes CBPR+ translates them to (ClrSysId/Cd). A code outside the table is
 * refused rather than passed on in MT's own spelling, which no ISO reader
 * would understand.
 */
export const CLEARING_CODES: Readonly<Record<string, string>> = {
  AT: 'ATBLZ', AU: 'AUBSB', BL: 'DEBLZ', CC: 'CACPA', CN: 'CNAPS', CP: 'USPID', ES: 'ESNCC', FW: 'USABA', GR: 'GRBIC', HK: 'HKNCC',
  IE: 'IENCC', IN: 'INFSC', IT: 'ITNCC', NZ: 'NZNCC', PL: 'PLKNR', PT: 'PTNCC', RU: 'RUCBC', SC: 'GBDSC', SW: 'CHBCC', ZA: 'ZANCC',
};

/** :23E: codes that become instruction lines ("/HOLD/", "/PHOB/0049 1234"); SDVA is a service level, INTC and CORT category purposes. */
export const INSTRUCTION_LINE_CODES = new Set(['CHQB', 'HOLD', 'PHOB', 'PHOI', 'PHON', 'REPA', 'TELB', 'TELE', 'TELI']);

export const NOT_PROVIDED = 'NOTPROVIDED';

export interface ReadOptions {
  /**
   * CreDtTm for an input message (block 2 "I"), which carries no date: the
   * time the front end received it. An output message uses its block 2
   * output date and time instead.
   */
  receivedAt?: string;
}

/** Maps a checked MT103 to a pacs.008 with one credit transfer. */
export function mt103ToPacs008(mt: Mt103, options: ReadOptions = {}): Pacs008 {
  const body = mt.body;
  const header: GroupHeader = {
    msgId: body.reference,
    creationDateTime: creationDateTime(mt, options),
    numberOfTransactions: '1',
  };
  const tx: CreditTransfer = {
    instrId: body.reference,
    endToEndId: rocOf(body.remittance) ?? NOT_PROVIDED,
    amount: { ...body.settlement },
    settlementDate: body.valueDate,
    chargeBearer: CHARGE_BEARERS[body.detailsOfCharges],
    bankOperationCode: body.bankOperationCode,
    debtor: customer(body.orderingCustomer, ':50a:'),
    creditor: customer(body.beneficiary, ':59a:'),
    instructingAgent: { bic: mt.senderBic },
    instructedAgent: { bic: mt.receiverBic },
  };
  if (mt.uetr !== undefined) tx.uetr = mt.uetr;
  if (body.instructed !== undefined) tx.instructedAmount = { ...body.instructed };
  if (body.exchangeRate !== undefined) tx.exchangeRate = body.exchangeRate;
  if (body.timeIndications.length > 0) tx.timeIndications = [...body.timeIndications];
  if (body.transactionTypeCode !== undefined) tx.purpose = body.transactionTypeCode;
  setAccount(tx, 'debtorAccount', body.orderingCustomer.account);
  setAccount(tx, 'creditorAccount', body.beneficiary.account);
  mapInstitutions(body, tx, header);
  mapCharges(mt, tx);
  mapInstructions(body, tx);
  if (body.remittance !== undefined) tx.remittance = [...body.remittance];
  if (body.regulatoryReporting !== undefined) tx.regulatoryReporting = [...body.regulatoryReporting];
  return { kind: 'pacs.008', header, transactions: [tx] };
}

/** Block 2's output date and time (the receiver's local time, as the network writes it), else the caller's receivedAt. */
function creationDateTime(mt: Mt103, options: ReadOptions): string {
  const app = mt.application;
  if (app.direction === 'O') {
    return `${yymmddToIso(app.outputDate)}T${app.outputTime.slice(0, 2)}:${app.outputTime.slice(2)}:00`;
  }
  if (options.receivedAt === undefined) {
    throw new MtError('block 2', 'an input message carries no creation time; the caller must give receivedAt');
  }
  return options.receivedAt;
}

/**
 * The end-to-end id the ordering customer gave, from :70:'s /ROC/ code
 * ("reference of the ordering customer"): on a line of its own or after
 * '//', up to the end of the line or the next '//'. Absent means the
 * translation's NOTPROVIDED.
 */
export function rocOf(remittance: string[] | undefined): string | undefined {
  for (const line of remittance ?? []) {
    const after = line.indexOf('//ROC/');
    const at = line.startsWith('/ROC/') ? 5 : after < 0 ? -1 : after + 6;
    if (at < 0) continue;
    const rest = line.slice(at);
    const end = rest.indexOf('//');
    const roc = end < 0 ? rest : rest.slice(0, end);
    if (roc !== '') return roc;
  }
  return undefined;
}

// ---- parties ----

/** :50a: or :59a: as a Party. */
function customer(field: MtPartyField, where: string): Party {
  if (field.bic !== undefined) return { anyBic: field.bic };
  if (field.numbered !== undefined) return optionF(field, where);
  const [name, ...lines] = field.nameAddress!;
  const party: Party = { name };
  if (lines.length > 0) party.address = { lines };
  return party;
}

/** Option F: 1/ lines joined into the name (the writer cuts a long name at 33), 2/ address lines, 3/ country and town. */
function optionF(field: MtPartyField, where: string): Party {
  let name = '';
  const address: PostalAddress = {};
  for (const line of field.numbered!) {
    const number = line[0];
    const text = line.slice(2);
    if (number === '1') name += text;
    else if (number === '2') (address.lines ??= []).push(text);
    else if (number === '3') {
      if (address.country !== undefined) throw new MtError(where, `a second 3/ line '${line}'; QENEX reads one country-and-town line`);
      address.country = text.slice(0, 2);
      if (text.length > 3) address.town = text.slice(3);
    } else {
      throw new MtError(where, `line '${line}' (code ${number}/: birth, customer or national id, details) has no place in the payment model`);
    }
  }
  const party: Party = { name };
  if (Object.keys(address).length > 0) party.address = address;
  if (field.partyIdentifier !== undefined) party.otherId = field.partyIdentifier;
  return party;
}

/** An account line as an AccountRef: an IBAN when it passes the IBAN check, else another id. */
export function accountRef(account: string): AccountRef {
  return isIban(account) ? { iban: account } : { other: account };
}

function setAccount(tx: CreditTransfer, slot: 'debtorAccount' | 'creditorAccount' | 'debtorAgentAccount' | 'creditorAgentAccount' | 'instructingReimbursementAgentAccount',
  account: string | undefined): void {
  if (account !== undefined) tx[slot] = accountRef(account);
}

/** ISO 13616: two letters, two check digits, up to 30 letters and digits, and the whole mod 97 is 1. */
export function isIban(text: string): boolean {
  if (text.length < 15 || text.length > 34 || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(text)) return false;
  const moved = text.slice(4) + text.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < moved.length; i++) {
    const c = moved.charCodeAt(i);
    // A letter counts as two digits (A = 10 ... Z = 35); the remainder stays below 97, so the arithmetic stays exact.
    const value = c <= 57 ? c - 48 : c - 55;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder === 1;
}

// ---- institutions ----

/** A party identifier on an institution field: a clearing member id, or an account (no /C/ or /D/ mark). */
function institutionId(id: string | undefined, where: string): { clearing?: { system: string; member: string }; account?: string } {
  if (id === undefined) return {};
  if (id.startsWith('/')) {
    const code = id.slice(1, 3);
    const member = id.slice(3);
    const system = CLEARING_CODES[code];
    if (system === undefined || member === '') throw new MtError(where, `clearing code '//${id.slice(1)}' is not one QENEX translates (${Object.keys(CLEARING_CODES).join(', ')}) with a member id`);
    return { clearing: { system, member } };
  }
  if (/^[CD]\//.test(id)) throw new MtError(where, `party identifier '/${id}' carries a /C/ or /D/ mark, which the payment model cannot hold`);
  return { account: id };
}

/** An institution field as an Agent and its account. */
function institution(field: MtPartyField, where: string): { agent: Agent; account?: string } {
  const id = institutionId(field.partyIdentifier, where);
  const agent: Agent = {};
  if (field.bic !== undefined) agent.bic = field.bic;
  if (id.clearing !== undefined) {
    agent.clearingSystem = id.clearing.system;
    agent.memberId = id.clearing.member;
  }
  if (field.location !== undefined) agent.address = { lines: [field.location] };
  if (field.nameAddress !== undefined) {
    const [name, ...lines] = field.nameAddress;
    agent.name = name;
    if (lines.length > 0) agent.address = { lines };
  }
  if (Object.keys(agent).length === 0) throw new MtError(where, 'an account alone names no institution');
  return { agent, account: id.account };
}

/** :52a: debtor agent, :53a: settlement, :54A: refused, :56A: intermediary, :57a: creditor agent. */
function mapInstitutions(body: Mt103Body, tx: CreditTransfer, header: GroupHeader): void {
  if (body.orderingInstitution !== undefined) {
    const { agent, account } = institution(body.orderingInstitution, `:52${body.orderingInstitution.option}:`);
    tx.debtorAgent = agent;
    setAccount(tx, 'debtorAgentAccount', account);
  }
  mapSettlement(body, tx, header);
  if (body.receiversCorrespondent !== undefined) {
    throw new MtError(':54A:', "the receiver's correspondent (pacs.008 InstdRmbrsmntAgt) has no place in the payment model yet");
  }
  if (body.intermediary !== undefined) {
    const { agent, account } = institution(body.intermediary, ':56A:');
    if (account !== undefined) throw new MtError(':56A:', "an intermediary's account has no place in the payment model");
    tx.intermediaryAgent1 = agent;
  }
  if (body.accountWithInstitution !== undefined) {
    const { agent, account } = institution(body.accountWithInstitution, `:57${body.accountWithInstitution.option}:`);
    tx.creditorAgent = agent;
    setAccount(tx, 'creditorAgentAccount', account);
  }
}

/**
 * The settlement method, by the translation's rule: no :53a: is INDA (the
 * receiver debits the sender's account it services); :53B: with only an
 * account is INDA on that account (SttlmAcct); :53A:, :53D: or :53B: with a
 * location name the sender's correspondent, which reimburses the receiver
 * through a cover: COVE with InstgRmbrsmntAgt.
 */
function mapSettlement(body: Mt103Body, tx: CreditTransfer, header: GroupHeader): void {
  const field = body.sendersCorrespondent;
  if (field === undefined) {
    header.settlementMethod = 'INDA';
    return;
  }
  const where = `:53${field.option}:`;
  if (field.option === 'B' && field.location === undefined) {
    const id = institutionId(field.partyIdentifier, where);
    if (id.account === undefined) throw new MtError(where, 'a clearing code alone names no settlement account');
    header.settlementMethod = 'INDA';
    header.settlementAccount = accountRef(id.account);
    return;
  }
  const { agent, account } = institution(field, where);
  header.settlementMethod = 'COVE';
  tx.instructingReimbursementAgent = agent;
  setAccount(tx, 'instructingReimbursementAgentAccount', account);
}

// ---- charges and instructions ----

/** :71F: charges the sender's side took (ChrgsInf with the sender as agent); :71G: charges for the receiver (the receiver as agent). */
function mapCharges(mt: Mt103, tx: CreditTransfer): void {
  const charges: { amount: { currency: string; value: string }; agent: Agent }[] = [];
  for (const amount of mt.body.sendersCharges) charges.push({ amount: { ...amount }, agent: { bic: mt.senderBic } });
  if (mt.body.receiversCharges !== undefined) charges.push({ amount: { ...mt.body.receiversCharges }, agent: { bic: mt.receiverBic } });
  if (charges.length > 0) tx.charges = charges;
}

/**
 * :23E: SDVA is the service level, INTC or CORT the category purpose, the
 * others instruction lines "/CODE/info" ahead of :72:'s lines (the
 * translation's InstrForCdtrAgt and InstrForNxtAgt, which the model keeps in
 * one list). So the writer can tell them apart again, a :72: whose first
 * line starts with such a code is refused: MT103 wants that code in :23E:.
 */
function mapInstructions(body: Mt103Body, tx: CreditTransfer): void {
  const lines: string[] = [];
  for (const raw of body.instructionCodes) {
    const code = raw.slice(0, 4);
    if (code === 'SDVA') tx.serviceLevel = code;
    else if (code === 'INTC' || code === 'CORT') {
      if (tx.categoryPurpose !== undefined) throw new MtError(':23E:', 'INTC and CORT both given; pacs.008 has one category purpose');
      tx.categoryPurpose = code;
    } else lines.push(`/${code}/${raw.slice(5)}`);
  }
  const first = body.senderToReceiver?.[0];
  if (first !== undefined && startsWithInstructionCode(first)) {
    throw new MtError(':72:', `line 1 '${first}' starts with a code that belongs in :23E:`);
  }
  lines.push(...(body.senderToReceiver ?? []));
  if (lines.length > 0) tx.instructionsForNextAgent = lines;
}

export function startsWithInstructionCode(line: string): boolean {
  return line[0] === '/' && line[5] === '/' && INSTRUCTION_LINE_CODES.has(line.slice(1, 5));
}
