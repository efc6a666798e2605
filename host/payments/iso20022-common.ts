// host/payments/iso20022-common.ts: the ISO 20022 components every message
// shares (amounts, agents, parties, accounts, postal addresses, code-or-
// proprietary choices), read from parsed elements into the model
// (./model.ts) and written back as XmlNode trees (./xml.ts).
//
// The message readers (./iso20022-read.ts) and writers
// (./iso20022-write.ts) are built from these, so each component has one
// reading and one writing, and the element order of a component (its XSD
// sequence, the same in every message definition we handle: PostalAddress24,
// PartyIdentification135, CashAccount38/39,
// BranchAndFinancialInstitutionIdentification6) is typed out once.
//
// Readers keep text exactly as written and never produce empty strings
// (an empty element reads as absent). Writers emit only what the model has,
// and throw IsoError when the schema needs a value the model lacks, so a
// writer never produces a document the XSD would refuse for a missing part.

import type { AccountRef, Agent, Money, Party, PostalAddress, StatusReason } from './model.ts';
import { element, textElement, type XmlElement, type XmlNode } from './xml.ts';

/** A message the reader cannot map into the model, or a model the writer cannot express. */
export class IsoError extends Error {
  override name = 'IsoError';
}

/** Removes the keys whose value is undefined, so absent fields are absent (and deep equality holds). */
export function prune<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

// ---- reading ----

/** Text at a path below `e`, or undefined (also for an empty element). */
export function text(e: XmlElement | undefined, ...path: string[]): string | undefined {
  const t = e?.textAt(...path);
  return t === '' ? undefined : t;
}

/** Text at a path that the schema makes mandatory. */
export function needText(e: XmlElement, ...path: string[]): string {
  const t = text(e, ...path);
  if (t === undefined) throw new IsoError(`<${e.name}> has no ${path.join('/')}`);
  return t;
}

/** An element at a path that the schema makes mandatory. */
export function need(e: XmlElement, ...path: string[]): XmlElement {
  const c = e.at(...path);
  if (c === undefined) throw new IsoError(`<${e.name}> has no ${path.join('/')}`);
  return c;
}

/** Every text of the elements at the last step of a path (`texts(rmtInf, 'Ustrd')`); undefined when none. */
export function texts(e: XmlElement | undefined, ...path: string[]): string[] | undefined {
  const parent = path.length > 1 ? e?.at(...path.slice(0, -1)) : e;
  const out = (parent?.all(path[path.length - 1]) ?? []).map((c) => c.text).filter((t) => t !== '');
  return out.length > 0 ? out : undefined;
}

/** A code-or-proprietary choice (Cd | Prtry): the code, or else the proprietary value. */
export function choice(e: XmlElement | undefined): string | undefined {
  return text(e, 'Cd') ?? text(e, 'Prtry');
}

/** A date-or-date-time choice (Dt | DtTm), as written. */
export function dateChoice(e: XmlElement | undefined): string | undefined {
  return text(e, 'Dt') ?? text(e, 'DtTm');
}

/** An xs:boolean (TrueFalseIndicator, BatchBookingIndicator). */
export function flag(e: XmlElement | undefined, name: string): boolean | undefined {
  const t = text(e, name);
  if (t === undefined) return undefined;
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw new IsoError(`${name} "${t}" is not a boolean`);
}

// An amount is kept as written; the front end turns it into minor units.
// The XSD (xs:decimal, at most 5 places) also lets through a sign or
// surrounding blanks, which no market practice writes: those are refused
// here rather than passed on in a form the front end would have to guess at.
const AMOUNT = /^[0-9]{1,18}(\.[0-9]{1,5})?$/;
const CURRENCY = /^[A-Z]{3}$/;

/** An amount element with its Ccy attribute. */
export function money(e: XmlElement): Money {
  const currency = e.attr('Ccy');
  if (currency === undefined || !CURRENCY.test(currency)) throw new IsoError(`<${e.name}> has no ISO 4217 Ccy`);
  if (!AMOUNT.test(e.text)) throw new IsoError(`<${e.name}> amount "${e.text}" is not a plain decimal`);
  return { currency, value: e.text };
}

export function moneyAt(e: XmlElement | undefined, name: string): Money | undefined {
  const c = e?.child(name);
  return c === undefined ? undefined : money(c);
}

export function readAddress(e: XmlElement | undefined): PostalAddress | undefined {
  if (e === undefined) return undefined;
  return prune({
    street: text(e, 'StrtNm'), buildingNumber: text(e, 'BldgNb'), postCode: text(e, 'PstCd'), town: text(e, 'TwnNm'),
    countrySubDivision: text(e, 'CtrySubDvsn'), country: text(e, 'Ctry'), lines: texts(e, 'AdrLine'),
  });
}

/** BranchAndFinancialInstitutionIdentification6 (its FinInstnId; a branch is not kept). */
export function readAgent(e: XmlElement | undefined): Agent | undefined {
  if (e === undefined) return undefined;
  const f = need(e, 'FinInstnId');
  return prune({
    bic: text(f, 'BICFI'), memberId: text(f, 'ClrSysMmbId', 'MmbId'), clearingSystem: choice(f.at('ClrSysMmbId', 'ClrSysId')),
    name: text(f, 'Nm'), address: readAddress(f.child('PstlAdr')), lei: text(f, 'LEI'),
  });
}

/** PartyIdentification135: the first organisation (or else private) Othr/Id is the party's other id. */
export function readParty(e: XmlElement | undefined): Party | undefined {
  if (e === undefined) return undefined;
  const org = e.at('Id', 'OrgId');
  return prune({
    name: text(e, 'Nm'), address: readAddress(e.child('PstlAdr')), anyBic: text(org, 'AnyBIC'), lei: text(org, 'LEI'),
    otherId: text(org, 'Othr', 'Id') ?? text(e, 'Id', 'PrvtId', 'Othr', 'Id'),
  });
}

/** Party40Choice: the party (Pty); an agent in the party's place (Agt) is not a Party and is not kept. */
export function readPartyChoice(e: XmlElement | undefined): Party | undefined {
  return readParty(e?.child('Pty'));
}

/** CashAccount38 / CashAccount39 (Ownr and Svcr of the latter are read by the report reader). */
export function readAccount(e: XmlElement | undefined): AccountRef | undefined {
  if (e === undefined) return undefined;
  const id = need(e, 'Id');
  return prune({
    iban: text(id, 'IBAN'), other: text(id, 'Othr', 'Id'), scheme: choice(id.at('Othr', 'SchmeNm')),
    currency: text(e, 'Ccy'), name: text(e, 'Nm'),
  });
}

/** StatusReasonInformation12 / PaymentReturnReason6: Rsn (Cd | Prtry) and AddtlInf lines. */
export function readReason(e: XmlElement): StatusReason {
  return prune({ code: text(e, 'Rsn', 'Cd'), proprietary: text(e, 'Rsn', 'Prtry'), text: texts(e, 'AddtlInf') });
}

// ---- writing ----

/** A mandatory value; IsoError names it when the model lacks it. */
export function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new IsoError(`${what} is mandatory in the schema but missing from the model`);
  return value;
}

/** A text element when there is a value. */
export function opt(name: string, value: string | undefined): XmlNode | undefined {
  return value === undefined ? undefined : textElement(name, value);
}

/** An aggregate only when one of its parts is present. */
export function group(name: string, ...children: (XmlNode | undefined)[]): XmlNode | undefined {
  return children.some((c) => c !== undefined) ? element(name, ...children) : undefined;
}

export function writeMoney(name: string, m: Money): XmlNode {
  if (!CURRENCY.test(m.currency)) throw new IsoError(`${name}: "${m.currency}" is not an ISO 4217 code`);
  if (!AMOUNT.test(m.value)) throw new IsoError(`${name}: "${m.value}" is not a plain decimal amount`);
  return textElement(name, m.value, [['Ccy', m.currency]]);
}

export function optMoney(name: string, m: Money | undefined): XmlNode | undefined {
  return m === undefined ? undefined : writeMoney(name, m);
}

// The longest value of the External*Code type behind each code choice the
// writers emit (the XSDs' maxLength), by the choice's element name: a
// property of the schemas, not a tunable bound. Choices not named take 4.
const CODE_CHARS_MAX_OF: Readonly<Record<string, number>> = {
  ClrSys: 3, // ExternalCashClearingSystem1Code (GrpHdr/SttlmInf/ClrSys)
  ClrSysId: 5, // ExternalClearingSystemIdentification1Code (ClrSysMmbId/ClrSysId)
  LclInstrm: 35, // ExternalLocalInstrument1Code
};
const CODE_CHARS_MAX_DEFAULT = 4;

/**
 * The Cd or Prtry of the code-or-proprietary choice `choiceName` holding
 * `code`. The model keeps one string and not which it was, so a value that
 * fits the code type is written as Cd and a longer one as Prtry (Max35Text):
 * both read back as the same string, and a proprietary value never lands in
 * a Cd the schema would refuse. Lengths are in characters, as XSD counts.
 */
export function codeOrProprietary(choiceName: string, code: string): XmlNode {
  const max = Object.hasOwn(CODE_CHARS_MAX_OF, choiceName) ? CODE_CHARS_MAX_OF[choiceName] : CODE_CHARS_MAX_DEFAULT;
  return textElement([...code].length <= max ? 'Cd' : 'Prtry', code);
}

/** A code choice (Cd | Prtry) named `name`, as codeOrProprietary writes it. */
export function writeCode(name: string, code: string | undefined): XmlNode | undefined {
  return code === undefined ? undefined : element(name, codeOrProprietary(name, code));
}

/**
 * A date-or-date-time choice: DtTm for an xs:dateTime, Dt for an xs:date.
 * The model keeps the text only; an xs:dateTime always has a 'T' and an
 * xs:date never does (not even with a zone, '2025-03-14+01:00', or a year
 * of more than four digits), so the 'T' tells which element it came from.
 */
export function writeDateChoice(name: string, value: string | undefined): XmlNode | undefined {
  if (value === undefined) return undefined;
  return element(name, textElement(value.includes('T') ? 'DtTm' : 'Dt', value));
}

/** PostalAddress24, in its sequence: AdrLine last (at most 7). */
export function writeAddress(name: string, a: PostalAddress | undefined): XmlNode | undefined {
  if (a === undefined) return undefined;
  const lines = a.lines ?? [];
  if (lines.length > 7) throw new IsoError(`${name}: ${lines.length} address lines, the schema allows 7`);
  return element(name,
    opt('StrtNm', a.street), opt('BldgNb', a.buildingNumber), opt('PstCd', a.postCode), opt('TwnNm', a.town),
    opt('CtrySubDvsn', a.countrySubDivision), opt('Ctry', a.country), ...lines.map((l) => textElement('AdrLine', l)));
}

/** BranchAndFinancialInstitutionIdentification6: FinInstnId (BICFI, ClrSysMmbId, LEI, Nm, PstlAdr). */
export function writeAgent(name: string, a: Agent | undefined): XmlNode | undefined {
  if (a === undefined) return undefined;
  if (a.clearingSystem !== undefined && a.memberId === undefined) throw new IsoError(`${name}: a clearing system without a member id`);
  const member = a.memberId === undefined ? undefined
    : element('ClrSysMmbId', writeCode('ClrSysId', a.clearingSystem), textElement('MmbId', a.memberId));
  return element(name, element('FinInstnId',
    opt('BICFI', a.bic), member, opt('LEI', a.lei), opt('Nm', a.name), writeAddress('PstlAdr', a.address)));
}

/** PartyIdentification135: Nm, PstlAdr, Id/OrgId (AnyBIC, LEI, Othr/Id). */
export function writeParty(name: string, p: Party | undefined): XmlNode | undefined {
  if (p === undefined) return undefined;
  const org = group('OrgId', opt('AnyBIC', p.anyBic), opt('LEI', p.lei), group('Othr', opt('Id', p.otherId)));
  return element(name, opt('Nm', p.name), writeAddress('PstlAdr', p.address), org && element('Id', org));
}

/** Party40Choice holding a party. */
export function writePartyChoice(name: string, p: Party | undefined): XmlNode | undefined {
  return p === undefined ? undefined : element(name, writeParty('Pty', p));
}

/** CashAccount38's Id (IBAN | Othr), Ccy and Nm; `extra` are CashAccount39's Ownr and Svcr, which follow. */
export function writeAccount(name: string, a: AccountRef | undefined, ...extra: (XmlNode | undefined)[]): XmlNode | undefined {
  if (a === undefined) return undefined;
  if ((a.iban === undefined) === (a.other === undefined)) throw new IsoError(`${name}: an account needs exactly one of iban and other`);
  if (a.scheme !== undefined && a.other === undefined) throw new IsoError(`${name}: a scheme belongs to an other id`);
  const id = a.iban !== undefined ? textElement('IBAN', a.iban)
    : element('Othr', textElement('Id', a.other!), writeCode('SchmeNm', a.scheme));
  return element(name, element('Id', id), opt('Ccy', a.currency), opt('Nm', a.name), ...extra);
}

/** StatusReasonInformation12 / PaymentReturnReason6: Rsn (Cd or Prtry) and AddtlInf lines. */
export function writeReason(name: string, r: StatusReason): XmlNode {
  if (r.code !== undefined && r.proprietary !== undefined) throw new IsoError(`${name}: a reason is a code or a proprietary one, not both`);
  const rsn = r.code !== undefined ? element('Rsn', textElement('Cd', r.code))
    : r.proprietary !== undefined ? element('Rsn', textElement('Prtry', r.proprietary)) : undefined;
  return element(name, rsn, ...(r.text ?? []).map((t) => textElement('AddtlInf', t)));
}
