// host/payments/mt103-fields.ts: the fields of an MT103 text block, checked
// against their SWIFT formats and split into subfields (Mt103Body), and
// written back (bodyToFields). ./fin.ts has cut the block into `:tag:value`
// fields; ./mt103-read.ts and ./mt103-write.ts map a body to and from the
// payment model.
//
// The formats are those of the MT103 specification (Standards MT, Category
// 1): n digits, a upper-case letters, c upper-case letters and digits, x the
// SWIFT character set (checked line by line in ./fin.ts), d a decimal with a
// comma; "!" fixed length, "4*35x" up to 4 lines of up to 35. Fields must
// come in the specification's order; only 13C, 23E and 71F repeat. Options
// QENEX does not read (51A, 54B/D, 55a, 56C/D, 77T) are refused by name
// rather than carried unread.

import { MtError, isBic, yymmddToIso, type BasicHeader, type FinAck, type FinTag, type InputHeader, type MtField, type OutputHeader } from './fin.ts';

/** An MT103 as read: the envelope, the parties of block 2 as BICs, and the checked text block. */
export interface Mt103 {
  /** The network ACK in front of the message, when the text came from an RJE log. */
  ack?: FinAck;
  basic: BasicHeader;
  application: InputHeader | OutputHeader;
  /** Block 1's LT address for an input message, the MIR's for an output one, as a BIC (8 characters and the branch). */
  senderBic: string;
  /** Block 2's LT address for an input message, block 1's for an output one. */
  receiverBic: string;
  /** Block 3 as written. */
  user: FinTag[];
  /** Block 3 field 121, the UETR. */
  uetr?: string;
  /** Block 4 as written, field by field. */
  fields: MtField[];
  body: Mt103Body;
  trailer: FinTag[];
}

/** A decimal amount with its currency, the amount with a '.' as the model wants it. */
export interface MtMoney {
  currency: string;
  value: string;
}

/** A party or institution field (50a, 52a-57a, 59a) split by its option's format. */
export interface MtPartyField {
  /** The option letter: '' (59), 'A', 'B', 'C', 'D', 'F', 'K'. */
  option: string;
  /** Customer fields (50a, 59a): the account line without its '/'. */
  account?: string;
  /** Institution fields: the party identifier line without its leading '/' ("D/123", "/FW021000018", "00123456789"); 50F: "CODE/CC/id". */
  partyIdentifier?: string;
  bic?: string;
  /** Option B's location line. */
  location?: string;
  /** Options D, K and 59: name and address lines (the first is the name). */
  nameAddress?: string[];
  /** Options F: the numbered lines ("1/FOO") as written. */
  numbered?: string[];
}

export interface Mt103Body {
  reference: string;
  timeIndications: string[];
  bankOperationCode: string;
  instructionCodes: string[];
  transactionTypeCode?: string;
  valueDate: string;
  settlement: MtMoney;
  instructed?: MtMoney;
  exchangeRate?: string;
  orderingCustomer: MtPartyField;
  orderingInstitution?: MtPartyField;
  sendersCorrespondent?: MtPartyField;
  receiversCorrespondent?: MtPartyField;
  intermediary?: MtPartyField;
  accountWithInstitution?: MtPartyField;
  beneficiary: MtPartyField;
  remittance?: string[];
  detailsOfCharges: string;
  sendersCharges: MtMoney[];
  receiversCharges?: MtMoney;
  senderToReceiver?: string[];
  regulatoryReporting?: string[];
}

// ---- the field table ----

type Slot = keyof Mt103Body;

/** One field of MT103 in specification order: its options, whether it is mandatory or repeats, where it goes in the body. */
interface FieldSpec {
  number: string;
  options: string[];
  mandatory: boolean;
  repeats: boolean;
}

const SPEC: FieldSpec[] = [
  { number: '20', options: [''], mandatory: true, repeats: false },
  { number: '13', options: ['C'], mandatory: false, repeats: true },
  { number: '23', options: ['B'], mandatory: true, repeats: false },
  { number: '23', options: ['E'], mandatory: false, repeats: true },
  { number: '26', options: ['T'], mandatory: false, repeats: false },
  { number: '32', options: ['A'], mandatory: true, repeats: false },
  { number: '33', options: ['B'], mandatory: false, repeats: false },
  { number: '36', options: [''], mandatory: false, repeats: false },
  { number: '50', options: ['A', 'F', 'K'], mandatory: true, repeats: false },
  { number: '52', options: ['A', 'D'], mandatory: false, repeats: false },
  { number: '53', options: ['A', 'B', 'D'], mandatory: false, repeats: false },
  { number: '54', options: ['A'], mandatory: false, repeats: false },
  { number: '56', options: ['A'], mandatory: false, repeats: false },
  { number: '57', options: ['A', 'B', 'C', 'D'], mandatory: false, repeats: false },
  { number: '59', options: ['', 'A', 'F'], mandatory: true, repeats: false },
  { number: '70', options: [''], mandatory: false, repeats: false },
  { number: '71', options: ['A'], mandatory: true, repeats: false },
  { number: '71', options: ['F'], mandatory: false, repeats: true },
  { number: '71', options: ['G'], mandatory: false, repeats: false },
  { number: '72', options: [''], mandatory: false, repeats: false },
  { number: '77', options: ['B'], mandatory: false, repeats: false },
];

/** Fields of the MT103 specification QENEX does not read, so their refusal says so rather than "unknown field". */
const NOT_READ = new Set(['51A', '54B', '54D', '55A', '55B', '55D', '56C', '56D', '77T']);

function specName(spec: FieldSpec): string {
  return spec.options.map((o) => `:${spec.number}${o}:`).join('/');
}

/** Checks every field of an MT103 text block and splits it into subfields. */
export function parseBody(fields: MtField[]): Mt103Body {
  const seen = placeFields(fields);
  const one = (i: number) => seen[i][0];
  const valued = parseValueDateAmount(one(5));
  const body: Mt103Body = {
    reference: parseReference(one(0)),
    timeIndications: seen[1].map(parseTimeIndication),
    bankOperationCode: parseBankOperationCode(one(2)),
    instructionCodes: seen[3].map(parseInstructionCode),
    valueDate: valued.date,
    settlement: valued.money,
    orderingCustomer: parseCustomer(one(8), true),
    beneficiary: parseCustomer(one(14), false),
    detailsOfCharges: parseDetailsOfCharges(one(16)),
    sendersCharges: seen[17].map((f) => parseCurrencyAmount(f)),
  };
  if (one(4) !== undefined) body.transactionTypeCode = parseFixed(one(4), /^[A-Z0-9]{3}$/, '3!c');
  if (one(6) !== undefined) body.instructed = parseCurrencyAmount(one(6));
  if (one(7) !== undefined) body.exchangeRate = parseDecimal(one(7), one(7).value, 12, 'rate');
  setAgent(body, 'orderingInstitution', one(9));
  setAgent(body, 'sendersCorrespondent', one(10));
  setAgent(body, 'receiversCorrespondent', one(11));
  setAgent(body, 'intermediary', one(12));
  setAgent(body, 'accountWithInstitution', one(13));
  if (one(15) !== undefined) body.remittance = parseLines(one(15), 4, 35);
  if (one(18) !== undefined) body.receiversCharges = parseCurrencyAmount(one(18));
  if (one(19) !== undefined) body.senderToReceiver = parseLines(one(19), 6, 35);
  if (one(20) !== undefined) body.regulatoryReporting = parseLines(one(20), 3, 35);
  return body;
}

/**
 * Places each field in its slot of SPEC, refusing unknown tags, fields out
 * of the specification's order, a second instance of a field that does not
 * repeat, and a missing mandatory field. One pass: the slot index only moves
 * forward.
 */
function placeFields(fields: MtField[]): MtField[][] {
  const seen: MtField[][] = SPEC.map(() => []);
  let slot = 0;
  for (const field of fields) {
    const name = `:${field.tag}:`;
    const index = SPEC.findIndex((s) => s.options.some((o) => s.number + o === field.tag));
    if (index < 0) {
      if (NOT_READ.has(field.tag)) throw new MtError(name, `line ${field.line}: field ${field.tag} is valid in MT103 but QENEX does not read it`);
      throw new MtError(name, `line ${field.line}: not a field of MT103`);
    }
    if (index < slot) throw new MtError(name, `line ${field.line}: out of order; it must come before ${specName(SPEC[slot])}`);
    if (seen[index].length > 0 && !SPEC[index].repeats) {
      throw new MtError(name, `line ${field.line}: duplicate field; ${specName(SPEC[index])} appears once (first on line ${seen[index][0].line})`);
    }
    seen[index].push(field);
    slot = index;
  }
  SPEC.forEach((spec, i) => {
    if (spec.mandatory && seen[i].length === 0) throw new MtError(specName(spec), 'mandatory field is missing');
  });
  return seen;
}

function setAgent(body: Mt103Body, slot: Slot & ('orderingInstitution' | 'sendersCorrespondent' | 'receiversCorrespondent' | 'intermediary' | 'accountWithInstitution'),
  field: MtField | undefined): void {
  if (field !== undefined) body[slot] = parseInstitution(field);
}

// ---- simple fields ----

function where(field: MtField): string {
  return `:${field.tag}: (line ${field.line})`;
}

function singleLine(field: MtField): string {
  if (field.value.includes('\n')) throw new MtError(where(field), 'must be one line');
  return field.value;
}

function parseFixed(field: MtField, format: RegExp, formatName: string): string {
  const value = singleLine(field);
  if (!format.test(value)) throw new MtError(where(field), `'${value}' does not match ${formatName}`);
  return value;
}

/** :20: 16x, not starting or ending with '/', no '//'. */
function parseReference(field: MtField): string {
  const value = singleLine(field);
  if (value.length < 1 || value.length > 16) throw new MtError(where(field), `sender's reference must be 1 to 16 characters, not ${value.length}`);
  if (value.startsWith('/') || value.endsWith('/') || value.includes('//')) {
    throw new MtError(where(field), `sender's reference '${value}' must not start or end with '/' nor contain '//'`);
  }
  return value;
}

const TIME_CODES = new Set(['CLSTIME', 'RNCTIME', 'SNDTIME']);

/** :13C: /8c/4!n1!x4!n: a code, a time, a sign and an offset ("/RNCTIME/1356+0000"), kept as written. */
function parseTimeIndication(field: MtField): string {
  const value = singleLine(field);
  const match = /^\/([A-Z0-9]{1,8})\/(\d{2})(\d{2})([+-])(\d{2})(\d{2})$/.exec(value);
  if (match === null) throw new MtError(where(field), `'${value}' does not match /8c/4!n1!x4!n`);
  if (!TIME_CODES.has(match[1])) throw new MtError(where(field), `time indication code '${match[1]}' is not CLSTIME, RNCTIME or SNDTIME`);
  if (Number(match[2]) > 23 || Number(match[3]) > 59 || Number(match[5]) > 13 || Number(match[6]) > 59) {
    throw new MtError(where(field), `'${value}' has an invalid time or offset`);
  }
  return value;
}

const BANK_OPERATION_CODES = new Set(['CRED', 'CRTS', 'SPAY', 'SPRI', 'SSTD']);

function parseBankOperationCode(field: MtField): string {
  const value = singleLine(field);
  if (!BANK_OPERATION_CODES.has(value)) throw new MtError(where(field), `bank operation code '${value}' is not CRED, CRTS, SPAY, SPRI or SSTD`);
  return value;
}

/** :23E: codes; only those listed in WITH_INFO may carry "/30x" after the code (network rule D98). */
export const INSTRUCTION_CODES = new Set(['CHQB', 'CORT', 'HOLD', 'INTC', 'PHOB', 'PHOI', 'PHON', 'REPA', 'SDVA', 'TELB', 'TELE', 'TELI']);
const WITH_INFO = new Set(['HOLD', 'PHOB', 'PHOI', 'PHON', 'REPA', 'TELB', 'TELE', 'TELI']);

/** :23E: 4!c[/30x], kept as written ("SDVA", "PHOB/0049 1234"). */
function parseInstructionCode(field: MtField): string {
  const value = singleLine(field);
  const code = value.slice(0, 4);
  if (!INSTRUCTION_CODES.has(code)) throw new MtError(where(field), `instruction code '${code}' is not one of ${[...INSTRUCTION_CODES].join(', ')}`);
  if (value.length > 4) {
    if (value[4] !== '/' || value.length < 6 || value.length > 35) throw new MtError(where(field), `'${value}' does not match 4!c[/30x]`);
    if (!WITH_INFO.has(code)) throw new MtError(where(field), `instruction code ${code} takes no additional information`);
  }
  return value;
}

/** :32A: 6!n3!a15d: value date, currency, settlement amount. */
function parseValueDateAmount(field: MtField): { date: string; money: MtMoney } {
  const value = singleLine(field);
  const date = yymmddToIso(value.slice(0, 6));
  if (date === undefined) throw new MtError(where(field), `value date '${value.slice(0, 6)}' is not a valid YYMMDD date`);
  return { date, money: currencyAmount(field, value.slice(6)) };
}

/** :33B:, :71F:, :71G: 3!a15d. */
function parseCurrencyAmount(field: MtField): MtMoney {
  return currencyAmount(field, singleLine(field));
}

function currencyAmount(field: MtField, text: string): MtMoney {
  const currency = text.slice(0, 3);
  if (!/^[A-Z]{3}$/.test(currency)) throw new MtError(where(field), `currency '${currency}' is not 3 upper-case letters (3!a)`);
  return { currency, value: parseDecimal(field, text.slice(3), 15, 'amount') };
}

/**
 * An MT decimal (15d, 12d): digits with exactly one comma, at least one
 * digit before it, at most `max` characters counting the comma. Returned
 * with '.' and no other change ("1814,28" is "1814.28", "1000," is "1000").
 */
export function parseDecimal(field: MtField, text: string, max: number, what: string): string {
  const comma = text.indexOf(',');
  if (comma < 0) throw new MtError(where(field), `${what} '${text}' has no decimal comma (MT amounts are written "1000," or "1814,28")`);
  if (text.length > max) throw new MtError(where(field), `${what} '${text}' is longer than ${max} characters including the comma`);
  const whole = text.slice(0, comma);
  const fraction = text.slice(comma + 1);
  if (!/^\d+$/.test(whole) || !/^\d*$/.test(fraction)) throw new MtError(where(field), `${what} '${text}' is not digits with one decimal comma`);
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

function parseDetailsOfCharges(field: MtField): string {
  const value = singleLine(field);
  if (value !== 'OUR' && value !== 'BEN' && value !== 'SHA') throw new MtError(where(field), `details of charges '${value}' is not OUR, BEN or SHA`);
  return value;
}

/** n*35x narrative: 1 to `linesMax` lines of at most `widthMax` characters, kept as written. */
function parseLines(field: MtField, linesMax: number, widthMax: number): string[] {
  const lines = field.value.split('\n');
  if (lines.length > linesMax) throw new MtError(where(field), `${lines.length} lines; at most ${linesMax} of ${widthMax} characters`);
  lines.forEach((line, i) => {
    if (line.length > widthMax) throw new MtError(where(field), `line ${i + 1} is ${line.length} characters; at most ${widthMax}`);
  });
  return lines;
}

// ---- party and institution fields ----

/** [/34x] then the rest: splits off a first line starting with '/' (customer fields: an account). */
function accountLine(field: MtField, lines: string[]): string | undefined {
  if (!lines[0].startsWith('/')) return undefined;
  const account = lines.shift()!.slice(1);
  if (account.length < 1 || account.length > 34) throw new MtError(where(field), `account '/${account}' must be 1 to 34 characters after the '/'`);
  return account;
}

/** [/1!a][/34x]: an institution's party identifier line ("/D/123", "//FW021000018", "/123"). */
function partyIdentifierLine(field: MtField, lines: string[]): string | undefined {
  if (!lines[0].startsWith('/')) return undefined;
  const line = lines.shift()!;
  const mark = /^\/[A-Z]\//.test(line) && !line.startsWith('//');
  const rest = mark ? line.slice(3) : line.slice(1);
  if (rest.length < 1 || rest.length > 34) throw new MtError(where(field), `party identifier '${line}' must have 1 to 34 characters after its '/'`);
  if (mark && line[1] !== 'C' && line[1] !== 'D') throw new MtError(where(field), `party identifier '${line}': the mark must be /C/ or /D/`);
  return line.slice(1);
}

function bicLine(field: MtField, lines: string[]): string {
  if (lines.length !== 1 || !isBic(lines[0])) throw new MtError(where(field), `'${lines.join(' ')}' is not a BIC (4!a2!a2!c[3!c])`);
  return lines[0];
}

function nameAddress(field: MtField, lines: string[], linesMax: number): string[] {
  if (lines.length < 1 || lines.length > linesMax) throw new MtError(where(field), `name and address must be 1 to ${linesMax} lines`);
  lines.forEach((line, i) => {
    if (line.length < 1 || line.length > 35) throw new MtError(where(field), `name and address line ${i + 1} must be 1 to 35 characters`);
  });
  return lines;
}

/** A customer field: :50A:, :50F:, :50K: (`ordering`) or :59:, :59A:, :59F:; option F's coded lines differ between the two. */
function parseCustomer(field: MtField, ordering: boolean): MtPartyField {
  const option = field.tag.slice(2);
  const lines = field.value.split('\n');
  if (option === 'F') return parseOptionF(field, lines, ordering);
  const result: MtPartyField = { option };
  const account = accountLine(field, lines);
  if (account !== undefined) result.account = account;
  if (option === 'A') result.bic = bicLine(field, lines);
  else result.nameAddress = nameAddress(field, lines, 4);
  return result;
}

const PARTY_ID_CODES = new Set(['ARNU', 'CCPT', 'CUST', 'DRLC', 'EMPL', 'NIDN', 'SOSE', 'TXID']);

/**
 * Option F: a party identifier line (50F: "/34x" or "4!a/2!a/27x"; 59F:
 * optional "/34x"), then 1 to 4 numbered lines "1!n/33x": 1 name, 2
 * address, 3 country and town ("3/ES/MADRID"), 4-8 (50F only) birth,
 * customer and national ids, more details. The first numbered line is a
 * name, and numbers never go down.
 */
function parseOptionF(field: MtField, lines: string[], ordering: boolean): MtPartyField {
  const result: MtPartyField = { option: 'F' };
  if (ordering) {
    const first = lines.shift() ?? '';
    const code = first.slice(0, 4);
    const ok = first.startsWith('/') ? first.length >= 2 && first.length <= 35
      : PARTY_ID_CODES.has(code) && /^[A-Z]{4}\/[A-Z]{2}\/.{1,27}$/.test(first);
    if (!ok) throw new MtError(where(field), `party identifier '${first}' is neither /34x nor CODE/CC/id with a 50F code`);
    if (first.startsWith('/')) result.account = first.slice(1);
    else result.partyIdentifier = first;
  } else {
    const account = accountLine(field, lines);
    if (account !== undefined) result.account = account;
  }
  if (lines.length < 1 || lines.length > 4) throw new MtError(where(field), 'option F has 1 to 4 numbered lines after the identifier');
  let last = 0;
  for (const line of lines) {
    const number = Number(line[0]);
    const top = ordering ? 8 : 3;
    if (!/^[1-8]\/.{1,33}$/.test(line) || number > top) throw new MtError(where(field), `'${line}' is not a numbered line 1/ to ${top}/ of at most 33 characters`);
    if (number < last || (last === 0 && number !== 1)) throw new MtError(where(field), `'${line}': numbered lines start with 1/ and never go down`);
    if (number === 3 && !/^3\/[A-Z]{2}(\/.+)?$/.test(line)) throw new MtError(where(field), `'${line}': line 3/ starts with a country code (3/CC/town)`);
    last = number;
  }
  result.numbered = lines;
  return result;
}

/** :52a: to :57a:: option A (BIC), B (location), C (identifier only), D (name and address). */
function parseInstitution(field: MtField): MtPartyField {
  const option = field.tag.slice(2);
  const lines = field.value.split('\n');
  const result: MtPartyField = { option };
  const party = partyIdentifierLine(field, lines);
  if (party !== undefined) result.partyIdentifier = party;
  if (option === 'A') {
    result.bic = bicLine(field, lines);
  } else if (option === 'B') {
    if (lines.length > 1 || (lines.length === 1 && (lines[0].length < 1 || lines[0].length > 35))) throw new MtError(where(field), 'option B has at most one location line of 35 characters');
    if (lines.length === 1) result.location = lines[0];
    if (party === undefined && lines.length === 0) throw new MtError(where(field), 'option B needs a party identifier or a location');
  } else if (option === 'C') {
    if (party === undefined || lines.length > 0) throw new MtError(where(field), 'option C is one party identifier line (/34x)');
  } else {
    result.nameAddress = nameAddress(field, lines, 4);
  }
  return result;
}

// ---- writing ----

/** Writes a body back as block 4 fields, in specification order. The caller has checked what it put in the body. */
export function bodyToFields(body: Mt103Body): { tag: string; value: string }[] {
  const out: { tag: string; value: string }[] = [];
  const add = (tag: string, value: string) => out.push({ tag, value });
  add('20', body.reference);
  body.timeIndications.forEach((t) => add('13C', t));
  add('23B', body.bankOperationCode);
  body.instructionCodes.forEach((c) => add('23E', c));
  if (body.transactionTypeCode !== undefined) add('26T', body.transactionTypeCode);
  add('32A', yymmdd(body.valueDate) + money(body.settlement));
  if (body.instructed !== undefined) add('33B', money(body.instructed));
  if (body.exchangeRate !== undefined) add('36', decimal(body.exchangeRate));
  addParty(out, '50', body.orderingCustomer);
  for (const [number, party] of [['52', body.orderingInstitution], ['53', body.sendersCorrespondent], ['54', body.receiversCorrespondent],
    ['56', body.intermediary], ['57', body.accountWithInstitution]] as const) {
    if (party !== undefined) addParty(out, number, party);
  }
  addParty(out, '59', body.beneficiary);
  if (body.remittance !== undefined) add('70', body.remittance.join('\n'));
  add('71A', body.detailsOfCharges);
  body.sendersCharges.forEach((m) => add('71F', money(m)));
  if (body.receiversCharges !== undefined) add('71G', money(body.receiversCharges));
  if (body.senderToReceiver !== undefined) add('72', body.senderToReceiver.join('\n'));
  if (body.regulatoryReporting !== undefined) add('77B', body.regulatoryReporting.join('\n'));
  return out;
}

function addParty(out: { tag: string; value: string }[], number: string, party: MtPartyField): void {
  const lines: string[] = [];
  if (party.account !== undefined) lines.push(`/${party.account}`);
  if (party.partyIdentifier !== undefined) {
    // 50F's coded identifier ("NIDN/DE/123") is written as it is; an institution's identifier is a '/' line.
    lines.push(number === '50' ? party.partyIdentifier : `/${party.partyIdentifier}`);
  }
  if (party.bic !== undefined) lines.push(party.bic);
  if (party.location !== undefined) lines.push(party.location);
  if (party.nameAddress !== undefined) lines.push(...party.nameAddress);
  if (party.numbered !== undefined) lines.push(...party.numbered);
  out.push({ tag: number + party.option, value: lines.join('\n') });
}

function yymmdd(iso: string): string {
  return iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
}

function money(m: MtMoney): string {
  return m.currency + decimal(m.value);
}

/** '.' to ',' and a trailing ',' for a whole number: "1814.28" is "1814,28", "1000" is "1000,". */
export function decimal(value: string): string {
  return value.includes('.') ? value.replace('.', ',') : `${value},`;
}
