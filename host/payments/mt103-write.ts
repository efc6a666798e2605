// host/payments/mt103-write.ts: a pacs.008 with one credit transfer written
// as an MT103 FIN input message, the inverse of ./mt103-read.ts: reading
// what this writes gives back every field MT carries (the round trip the
// tests check).
//
// MT is narrower than the model: 35-character lines, 16-character
// references, no LEI, no structured address. What does not fit is refused
// with an MtError naming the model field (transactions[0].debtor.name, ...),
// never truncated or dropped: a shortened name or a lost instruction would
// change the payment. The one thing wrapped is what the MT103 specification
// itself wraps: a party name longer than 35 characters goes into option F,
// cut into "1/" lines of 33.

import type { AccountRef, Agent, CreditTransfer, Money, Pacs008, Party } from './model.ts';
import { MtError, checkX, formatFin, isBic, isUetr, isoToYymmdd, ltOfBic, parseFin, type FinTag } from './fin.ts';
import { bodyToFields, decimal, parseBody, type Mt103Body, type MtMoney, type MtPartyField } from './mt103-fields.ts';
import {
  CHARGE_BEARERS, CLEARING_CODES, INSTRUCTION_LINE_CODES, NOT_PROVIDED, isIban, rocOf, startsWithInstructionCode,
} from './mt103-read.ts';

const TX = 'transactions[0]';

/** Writes a pacs.008 with exactly one transaction as MT103 FIN text (CRLF line ends, block 3 with the UETR when there is one). */
export function pacs008ToMt103(doc: Pacs008): string {
  if (doc.kind !== 'pacs.008' || doc.transactions.length !== 1) {
    throw new MtError('transactions', `an MT103 carries exactly one credit transfer, not ${doc.transactions.length}`);
  }
  const tx = doc.transactions[0];
  refuseUncarried(doc, tx);
  const sender = onlyBic(tx.instructingAgent ?? doc.header.instructingAgent, `${TX}.instructingAgent`);
  const receiver = onlyBic(tx.instructedAgent ?? doc.header.instructedAgent, `${TX}.instructedAgent`);
  const body = toBody(doc, tx, sender, receiver);
  const user: FinTag[] = [];
  if (tx.uetr !== undefined) {
    if (!isUetr(tx.uetr)) throw new MtError(`${TX}.uetr`, `'${tx.uetr}' is not a lower-case UUID version 4`);
    user.push({ tag: '121', value: tx.uetr });
  }
  const text = formatFin({ senderLt: ltOfBic(sender), receiverLt: ltOfBic(receiver), messageType: '103', user, fields: bodyToFields(body) });
  // Postcondition: what was written reads back as a valid MT103.
  parseBody(parseFin(text).fields);
  return text;
}

/** Model fields with no MT103 home: refused, so nothing is lost on the way. */
function refuseUncarried(doc: Pacs008, tx: CreditTransfer): void {
  const uncarried: [string, unknown][] = [
    ['txId', tx.txId], ['localInstrument', tx.localInstrument], ['ultimateDebtor', tx.ultimateDebtor], ['ultimateCreditor', tx.ultimateCreditor],
    ['creditorReference', tx.creditorReference],
  ];
  for (const [name, value] of uncarried) {
    if (value !== undefined) throw new MtError(`${TX}.${name}`, 'MT103 has no field for it');
  }
  const h = doc.header;
  if (h.clearingSystem !== undefined || h.initiatingParty !== undefined) throw new MtError('header', 'a clearing system or initiating party has no MT103 field');
  if (h.settlementDate !== undefined && h.settlementDate !== tx.settlementDate) throw new MtError('header.settlementDate', 'differs from the transaction\'s');
  if (h.totalSettlementAmount !== undefined && (h.totalSettlementAmount.value !== tx.amount.value || h.totalSettlementAmount.currency !== tx.amount.currency)) {
    throw new MtError('header.totalSettlementAmount', 'differs from the one transaction\'s amount');
  }
}

function toBody(doc: Pacs008, tx: CreditTransfer, sender: string, receiver: string): Mt103Body {
  if (tx.settlementDate === undefined) throw new MtError(`${TX}.settlementDate`, 'is required: it is :32A:\'s value date');
  const valueDate = isoToYymmdd(tx.settlementDate);
  if (valueDate === undefined) throw new MtError(`${TX}.settlementDate`, `'${tx.settlementDate}' is not a date MT's YYMMDD carries (1980-2079)`);
  const chargeCode = Object.keys(CHARGE_BEARERS).find((k) => CHARGE_BEARERS[k] === tx.chargeBearer);
  if (chargeCode === undefined) throw new MtError(`${TX}.chargeBearer`, `'${tx.chargeBearer}' is not DEBT, CRED or SHAR (:71A: OUR, BEN, SHA)`);
  const body: Mt103Body = {
    reference: reference(tx.instrId),
    timeIndications: [...(tx.timeIndications ?? [])],
    bankOperationCode: tx.bankOperationCode ?? 'CRED',
    instructionCodes: [],
    valueDate: tx.settlementDate,
    settlement: money(tx.amount, `${TX}.amount`),
    orderingCustomer: customerField(tx.debtor, tx.debtorAccount, '50', `${TX}.debtor`),
    beneficiary: customerField(tx.creditor, tx.creditorAccount, '59', `${TX}.creditor`),
    detailsOfCharges: chargeCode,
    sendersCharges: [],
  };
  if (tx.purpose !== undefined) body.transactionTypeCode = tx.purpose;
  if (tx.instructedAmount !== undefined) body.instructed = money(tx.instructedAmount, `${TX}.instructedAmount`);
  if (tx.exchangeRate !== undefined) body.exchangeRate = rate(tx.exchangeRate);
  if (tx.debtorAgent !== undefined) body.orderingInstitution = agentField(tx.debtorAgent, tx.debtorAgentAccount, 'AD', `${TX}.debtorAgent`);
  else if (tx.debtorAgentAccount !== undefined) throw new MtError(`${TX}.debtorAgentAccount`, 'an account with no debtor agent has no MT103 field');
  setSettlement(doc, tx, body);
  if (tx.intermediaryAgent1 !== undefined) body.intermediary = agentField(tx.intermediaryAgent1, undefined, 'A', `${TX}.intermediaryAgent1`);
  if (tx.creditorAgent !== undefined) body.accountWithInstitution = agentField(tx.creditorAgent, tx.creditorAgentAccount, 'ABCD', `${TX}.creditorAgent`);
  else if (tx.creditorAgentAccount !== undefined) throw new MtError(`${TX}.creditorAgentAccount`, 'an account with no creditor agent has no MT103 field');
  setRemittance(tx, body);
  setCharges(tx, body, sender, receiver);
  setInstructions(tx, body);
  if (tx.regulatoryReporting !== undefined) body.regulatoryReporting = lines(tx.regulatoryReporting, 3, `${TX}.regulatoryReporting`);
  return body;
}

// ---- simple values ----

/** Text for MT: 1 to `max` characters of the character set x. */
function text(value: string, max: number, where: string): string {
  if (value.length < 1 || value.length > max) throw new MtError(where, `'${value}' must be 1 to ${max} characters for MT`);
  checkX(where, value);
  return value;
}

/** A whole line of MT text: also not starting with ':' or '-' (which would open a field or end the block). */
function line(value: string, max: number, where: string): string {
  if (value[0] === ':' || value[0] === '-') throw new MtError(where, `'${value}' may not start with '${value[0]}' in MT`);
  return text(value, max, where);
}

function lines(values: string[], max: number, where: string): string[] {
  if (values.length < 1 || values.length > max) throw new MtError(where, `${values.length} lines; MT carries 1 to ${max} of 35 characters`);
  return values.map((v, i) => line(v, 35, `${where}[${i}]`));
}

function reference(instrId: string | undefined): string {
  const where = `${TX}.instrId`;
  if (instrId === undefined) throw new MtError(where, 'is required: it is :20:, the sender\'s reference');
  line(instrId, 16, where);
  if (instrId.startsWith('/') || instrId.endsWith('/') || instrId.includes('//')) throw new MtError(where, `'${instrId}' may not start or end with '/' nor contain '//' (:20:)`);
  return instrId;
}

function money(m: Money, where: string): MtMoney {
  if (!/^[A-Z]{3}$/.test(m.currency)) throw new MtError(`${where}.currency`, `'${m.currency}' is not 3 upper-case letters`);
  if (!/^\d+(\.\d+)?$/.test(m.value) || decimal(m.value).length > 15) {
    throw new MtError(`${where}.value`, `'${m.value}' is not a decimal MT's 15d carries (digits, one '.', 15 characters with the separator)`);
  }
  return { currency: m.currency, value: m.value };
}

function rate(value: string): string {
  if (!/^\d+(\.\d+)?$/.test(value) || decimal(value).length > 12) throw new MtError(`${TX}.exchangeRate`, `'${value}' is not a decimal MT's 12d carries`);
  return value;
}

function onlyBic(agent: Agent | undefined, where: string): string {
  if (agent?.bic === undefined || !isBic(agent.bic)) throw new MtError(where, 'a BIC is required: it is the FIN header\'s sender or receiver');
  if (Object.keys(agent).length !== 1) throw new MtError(where, 'the FIN header carries only a BIC');
  return agent.bic;
}

function accountText(account: AccountRef, where: string): string {
  const { iban, other } = account;
  if (account.scheme !== undefined || account.currency !== undefined || account.name !== undefined) {
    throw new MtError(where, 'an account\'s scheme, currency or name has no MT field');
  }
  if ((iban === undefined) === (other === undefined)) throw new MtError(where, 'exactly one of iban and other');
  if (iban !== undefined && !isIban(iban)) throw new MtError(`${where}.iban`, `'${iban}' fails the IBAN check`);
  // Written after a '/', so it may start with any character of x.
  return text(iban ?? other!, 34, where);
}

// ---- customers ----

/** Debtor or creditor as :50a: or :59a:: A for a BIC, K (or 59's no letter) when name and lines fit 35, else F. */
function customerField(party: Party, account: AccountRef | undefined, number: '50' | '59', where: string): MtPartyField {
  const { street, buildingNumber, postCode, countrySubDivision } = party.address ?? {};
  if (party.lei !== undefined) throw new MtError(`${where}.lei`, 'MT103 has no field for an LEI');
  if ([street, buildingNumber, postCode, countrySubDivision].some((v) => v !== undefined)) {
    throw new MtError(`${where}.address`, 'MT carries address lines, a country and a town, not a structured address');
  }
  const field: MtPartyField = { option: '' };
  if (account !== undefined) field.account = accountText(account, `${where}Account`);
  if (party.anyBic !== undefined) {
    if (party.name !== undefined || party.address !== undefined || party.otherId !== undefined || !isBic(party.anyBic)) {
      throw new MtError(where, 'option A carries a BIC and an account only; a name, address or other id beside the BIC has no place');
    }
    return { ...field, option: 'A', bic: party.anyBic };
  }
  if (party.name === undefined) throw new MtError(`${where}.name`, 'a name or a BIC is required');
  const addressLines = party.address?.lines ?? [];
  const needsF = party.otherId !== undefined || party.address?.country !== undefined || party.address?.town !== undefined
    || party.name.length > 35 || addressLines.length > 3 || addressLines.some((l) => l.length > 35);
  if (!needsF) {
    if (account === undefined && party.name.startsWith('/')) throw new MtError(`${where}.name`, 'a name starting with \'/\' would read back as an account');
    field.option = number === '50' ? 'K' : '';
    field.nameAddress = [line(party.name, 35, `${where}.name`), ...addressLines.map((l, i) => line(l, 35, `${where}.address.lines[${i}]`))];
    return field;
  }
  return optionF(party, field, number, where);
}

function optionF(party: Party, field: MtPartyField, number: '50' | '59', where: string): MtPartyField {
  field.option = 'F';
  if (party.otherId !== undefined) {
    if (number === '59') throw new MtError(`${where}.otherId`, ':59F: carries an account, not another id');
    if (field.account !== undefined) throw new MtError(`${where}.otherId`, ':50F: carries an account or another id, not both');
    if (!/^(ARNU|CCPT|CUST|DRLC|EMPL|NIDN|SOSE|TXID)\/[A-Z]{2}\/.{1,27}$/.test(party.otherId)) {
      throw new MtError(`${where}.otherId`, `'${party.otherId}' is not CODE/CC/id with a :50F: code`);
    }
    field.partyIdentifier = line(party.otherId, 35, `${where}.otherId`);
  } else if (number === '50' && field.account === undefined) {
    throw new MtError(where, ':50F: needs an account or another id');
  }
  const name = party.name!;
  const numbered: string[] = [];
  for (let at = 0; at < name.length; at += 33) numbered.push(`1/${name.slice(at, at + 33)}`);
  (party.address?.lines ?? []).forEach((l, i) => numbered.push(`2/${line(l, 33, `${where}.address.lines[${i}]`)}`));
  const { country, town } = party.address ?? {};
  if (town !== undefined && country === undefined) throw new MtError(`${where}.address.town`, 'option F writes a town after its country');
  if (country !== undefined) {
    if (!/^[A-Z]{2}$/.test(country)) throw new MtError(`${where}.address.country`, `'${country}' is not a 2-letter country code`);
    numbered.push(town === undefined ? `3/${country}` : `3/${country}/${town}`);
  }
  if (numbered.length > 4) throw new MtError(where, `name, address and country need ${numbered.length} lines; option F has 4`);
  numbered.forEach((l, i) => line(l, 35, `${where} (option F line ${i + 1})`));
  field.numbered = numbered;
  return field;
}

// ---- institutions ----

/** An agent as an institution field, in the first of `options` that carries everything it holds. */
function agentField(agent: Agent, account: AccountRef | undefined, options: string, where: string): MtPartyField {
  const { street, buildingNumber, postCode, town, countrySubDivision, country } = agent.address ?? {};
  if (agent.lei !== undefined) throw new MtError(`${where}.lei`, 'MT103 has no field for an LEI');
  if ([street, buildingNumber, postCode, town, countrySubDivision, country].some((v) => v !== undefined)) {
    throw new MtError(`${where}.address`, 'MT carries name-and-address lines, not a structured address');
  }
  const field: MtPartyField = { option: '' };
  const id = institutionIdentifier(agent, account, where);
  if (id !== undefined) field.partyIdentifier = id;
  const addressLines = agent.address?.lines;
  if (agent.bic !== undefined) {
    if (agent.name !== undefined || addressLines !== undefined || !isBic(agent.bic)) throw new MtError(where, 'option A carries a BIC and an identifier only');
    return pick({ ...field, option: 'A', bic: agent.bic }, options, where);
  }
  if (agent.name !== undefined) {
    if (id === undefined && agent.name.startsWith('/')) throw new MtError(`${where}.name`, 'a name starting with \'/\' would read back as an identifier');
    const nameAddress = lines([agent.name, ...(addressLines ?? [])], 4, `${where} (name and address)`);
    return pick({ ...field, option: 'D', nameAddress }, options, where);
  }
  if (addressLines !== undefined) {
    if (addressLines.length !== 1) throw new MtError(`${where}.address`, 'without a name, one location line (option B)');
    if (id === undefined && addressLines[0].startsWith('/')) throw new MtError(`${where}.address`, 'a location starting with \'/\' would read back as an identifier');
    return pick({ ...field, option: 'B', location: line(addressLines[0], 35, `${where}.address.lines[0]`) }, options, where);
  }
  if (agent.memberId !== undefined && account === undefined) return pick({ ...field, option: 'C' }, options, where);
  throw new MtError(where, 'needs a BIC, a name, a location or a clearing member id');
}

function pick(field: MtPartyField, options: string, where: string): MtPartyField {
  if (!options.includes(field.option)) throw new MtError(where, `needs option ${field.option}, which this field does not have (options ${options.split('').join(', ')})`);
  return field;
}

/** The party identifier line of an institution: "//FW021000018" for a clearing member, or the account. */
function institutionIdentifier(agent: Agent, account: AccountRef | undefined, where: string): string | undefined {
  if ((agent.memberId === undefined) !== (agent.clearingSystem === undefined)) throw new MtError(where, 'a member id and its clearing system go together');
  if (agent.memberId !== undefined) {
    if (account !== undefined) throw new MtError(where, 'MT carries a clearing member id or an account, not both');
    const code = Object.keys(CLEARING_CODES).find((k) => CLEARING_CODES[k] === agent.clearingSystem);
    if (code === undefined) throw new MtError(`${where}.clearingSystem`, `'${agent.clearingSystem}' has no MT clearing code`);
    return line(`/${code}${agent.memberId}`, 34, `${where}.memberId`);
  }
  if (account === undefined) return undefined;
  const text = accountText(account, `${where}Account`);
  if (text.startsWith('/') || /^[CD]\//.test(text)) throw new MtError(`${where}Account`, `'${text}' would read back as a clearing code or a /C/ /D/ mark`);
  return text;
}

/** :53a: from the settlement method: COVE with the reimbursement agent, INDA with at most a settlement account (:53B:). */
function setSettlement(doc: Pacs008, tx: CreditTransfer, body: Mt103Body): void {
  const method = doc.header.settlementMethod ?? 'INDA';
  const agent = tx.instructingReimbursementAgent;
  if (method === 'COVE') {
    if (agent === undefined || doc.header.settlementAccount !== undefined) {
      throw new MtError('header.settlementMethod', 'COVE is written as :53a: with the instructing reimbursement agent, and no settlement account');
    }
    body.sendersCorrespondent = agentField(agent, tx.instructingReimbursementAgentAccount, 'ABD', `${TX}.instructingReimbursementAgent`);
    return;
  }
  if (method !== 'INDA') throw new MtError('header.settlementMethod', `'${method}' has no MT103 form; QENEX writes INDA and COVE`);
  if (agent !== undefined || tx.instructingReimbursementAgentAccount !== undefined) {
    throw new MtError(`${TX}.instructingReimbursementAgent`, 'a reimbursement agent goes with COVE');
  }
  const account = doc.header.settlementAccount;
  if (account !== undefined) {
    const text = accountText(account, 'header.settlementAccount');
    if (text.startsWith('/') || /^[CD]\//.test(text)) throw new MtError('header.settlementAccount', `'${text}' would read back as a clearing code or a mark`);
    body.sendersCorrespondent = { option: 'B', partyIdentifier: text };
  }
}

// ---- remittance, charges, instructions ----

/** :70:, with the end-to-end id as its /ROC/ when the lines do not already carry it. */
function setRemittance(tx: CreditTransfer, body: Mt103Body): void {
  const remittance = [...(tx.remittance ?? [])];
  const roc = rocOf(remittance);
  if (tx.endToEndId === NOT_PROVIDED) {
    if (roc !== undefined) throw new MtError(`${TX}.remittance`, `carries /ROC/${roc}, which would read back as the end-to-end id, but endToEndId is NOTPROVIDED`);
  } else if (roc === undefined) {
    remittance.unshift(line(`/ROC/${tx.endToEndId}`, 35, `${TX}.endToEndId`));
  } else if (roc !== tx.endToEndId) {
    throw new MtError(`${TX}.endToEndId`, `'${tx.endToEndId}' differs from the remittance's /ROC/${roc}`);
  }
  if (remittance.length > 0) body.remittance = lines(remittance, 4, `${TX}.remittance`);
}

/** Charges taken by the instructing agent are :71F:, the one for the instructed agent :71G:. */
function setCharges(tx: CreditTransfer, body: Mt103Body, sender: string, receiver: string): void {
  (tx.charges ?? []).forEach((charge, i) => {
    const where = `${TX}.charges[${i}]`;
    const amount = money(charge.amount, `${where}.amount`);
    const bic = charge.agent?.bic;
    if (charge.agent === undefined || Object.keys(charge.agent).length !== 1 || (bic !== sender && bic !== receiver)) {
      throw new MtError(`${where}.agent`, 'MT103 carries charges of the instructing agent (:71F:) or the instructed agent (:71G:), named by BIC only');
    }
    if (bic === sender) body.sendersCharges.push(amount);
    else if (body.receiversCharges !== undefined) throw new MtError(where, ':71G: appears once');
    else body.receiversCharges = amount;
  });
}

/** serviceLevel SDVA and categoryPurpose INTC/CORT become :23E:, then the leading "/CODE/info" instruction lines; the rest is :72:. */
function setInstructions(tx: CreditTransfer, body: Mt103Body): void {
  if (tx.serviceLevel !== undefined) {
    if (tx.serviceLevel !== 'SDVA') throw new MtError(`${TX}.serviceLevel`, `'${tx.serviceLevel}' has no MT103 field (only SDVA, as :23E:)`);
    body.instructionCodes.push('SDVA');
  }
  if (tx.categoryPurpose !== undefined) {
    if (tx.categoryPurpose !== 'INTC' && tx.categoryPurpose !== 'CORT') throw new MtError(`${TX}.categoryPurpose`, `'${tx.categoryPurpose}' has no MT103 field (only INTC, CORT)`);
    body.instructionCodes.push(tx.categoryPurpose);
  }
  const rest = [...(tx.instructionsForNextAgent ?? [])];
  while (rest.length > 0 && startsWithInstructionCode(rest[0])) {
    const code = rest[0].slice(1, 5);
    const info = rest[0].slice(6);
    if (!INSTRUCTION_LINE_CODES.has(code) || info.length > 30 || (info !== '' && code === 'CHQB')) {
      throw new MtError(`${TX}.instructionsForNextAgent`, `'${rest[0]}' looks like an instruction code but does not fit :23E: (4!c[/30x])`);
    }
    body.instructionCodes.push(info === '' ? code : `${code}/${line(info, 30, `${TX}.instructionsForNextAgent`)}`);
    rest.shift();
  }
  if (rest.length > 0) body.senderToReceiver = lines(rest, 6, `${TX}.instructionsForNextAgent`);
}
