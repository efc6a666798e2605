// host/payments/fin.ts: the SWIFT FIN envelope, read and written: the basic
// header {1:}, the application header {2:}, the user header {3:}, the text
// block {4:} cut into `:tag:value` fields, the trailer {5:}, and the network
// ACK/NAK an RJE log keeps in front of a message. It knows nothing of any
// message type's fields: ./mt103-fields.ts checks those.
//
// Input is untrusted (POST /v1/payments/swift-mt), so the reader is one
// left-to-right pass with an index: every loop advances through the text,
// whose size is bounded before anything is read (MT_MESSAGE_BYTES_MAX), and
// the only regular expressions are anchored ones on short, bounded pieces.
// Every refusal is an MtError naming the block, field and line, which the
// HTTP front end returns as a 400.

import { MT_MESSAGE_BYTES_MAX, MT_TEXT_BLOCK_CHARS_MAX } from '../base/limits.ts';

/** A refusal of an MT message: `where` names the block or field (":32A:", "block 2"), the message says what is wrong. */
export class MtError extends Error {
  override name = 'MtError';
  constructor(readonly where: string, message: string) {
    super(`${where}: ${message}`);
  }
}

/** A `{tag:value}` sub-block of block 3, block 5 or an ACK's block 4. */
export interface FinTag {
  tag: string;
  value: string;
}

/** One field of the text block: its tag with the option letter ("32A", "59", "50K"), its lines joined with '\n'. */
export interface MtField {
  tag: string;
  value: string;
  /** The line of block 4 the field starts on (1 = the first line after "{4:"), for error messages. */
  line: number;
}

/** Block 1: application F (FIN), service 01, the logical terminal address, session and sequence numbers. */
export interface BasicHeader {
  ltAddress: string;
  session: string;
  sequence: string;
}

/** Block 2 of a message a bank sends (input to the network). */
export interface InputHeader {
  direction: 'I';
  messageType: string;
  /** The destination's logical terminal address (12 characters). */
  receiverLt: string;
  priority?: string;
  deliveryMonitoring?: string;
  obsolescencePeriod?: string;
}

/** Block 2 of a message the network delivers (output): input time, the message input reference, output date and time. */
export interface OutputHeader {
  direction: 'O';
  messageType: string;
  inputTime: string;
  /** MIR: input date YYMMDD, the sender's LT address, session, sequence (ISN). */
  inputDate: string;
  senderLt: string;
  inputSession: string;
  inputSequence: string;
  outputDate: string;
  outputTime: string;
  priority?: string;
}

/** The network's acknowledgement (F21 service message): 451 is 0 (ACK) or 1 (NAK, with the error code in 405). */
export interface FinAck {
  accepted: boolean;
  basic: BasicHeader;
  fields: FinTag[];
}

/** A FIN user message as its blocks, not yet checked against a message type. */
export interface FinMessage {
  ack?: FinAck;
  basic: BasicHeader;
  application: InputHeader | OutputHeader;
  user: FinTag[];
  fields: MtField[];
  trailer: FinTag[];
}

// ---- the SWIFT character set x ----

// x: a-z A-Z 0-9 / - ? : ( ) . , ' + space, and CrLf between lines. A table
// of the 128 ASCII codes; anything above is outside by construction.
const X_SET = (() => {
  const table = new Uint8Array(128);
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ";
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
})();

/** The index of the first character of `text` outside the character set x, or -1. */
export function outsideX(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || X_SET[c] === 0) return i;
  }
  return -1;
}

/** Refuses a line with a character outside x, naming it by its code point (it may not be printable). */
export function checkX(where: string, line: string): void {
  const at = outsideX(line);
  if (at >= 0) {
    const code = line.codePointAt(at)!.toString(16).toUpperCase().padStart(4, '0');
    throw new MtError(where, `character U+${code} at column ${at + 1} is outside the SWIFT character set x`);
  }
}

// ---- logical terminal addresses and BICs ----

const LT_ADDRESS = /^[A-Z]{6}[A-Z0-9]{2}[A-Z0-9][A-Z0-9]{3}$/;
const BIC = /^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/;

/** A UETR (block 3 field 121): a UUID version 4, lower case as SWIFT gpi writes it. */
export function isUetr(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(text);
}

export function isBic(text: string): boolean {
  return text.length <= 11 && BIC.test(text);
}

/** The BIC of a 12-character LT address: the 8-character BIC and the branch, without the LT code (9th character). */
export function bicOfLt(lt: string): string {
  if (!LT_ADDRESS.test(lt)) throw new MtError('LT address', `'${lt}' is not a 12-character logical terminal address`);
  return lt.slice(0, 8) + lt.slice(9, 12);
}

/** The LT address a BIC sends or receives on: LT code 'X' (the default terminal), branch 'XXX' for an 8-character BIC. */
export function ltOfBic(bic: string): string {
  if (!isBic(bic)) throw new MtError('LT address', `'${bic}' is not a BIC (4!a2!a2!c[3!c])`);
  const lt = bic.slice(0, 8) + 'X' + (bic.length === 11 ? bic.slice(8) : 'XXX');
  return lt;
}

// ---- reading ----

/** A cursor over the message text. */
interface Cursor {
  text: string;
  at: number;
}

/**
 * Reads one FIN user message, with an optional network ACK in front of it
 * (an RJE log's form). Checks the envelope only; the caller checks the
 * message type and the fields.
 */
export function parseFin(text: string): FinMessage {
  if (text.length > MT_MESSAGE_BYTES_MAX) {
    throw new MtError('message', `${text.length} characters is over the limit of ${MT_MESSAGE_BYTES_MAX}`);
  }
  const cursor: Cursor = { text, at: 0 };
  skipLineBreaks(cursor);
  if (!text.startsWith('{1:', cursor.at)) throw new MtError('message', 'not a FIN message: it must start with a basic header block {1:...}');
  let ack: FinAck | undefined;
  let message = readMessage(cursor);
  if ('ackBlock' in message) {
    ack = message.ackBlock;
    skipLineBreaks(cursor);
    if (cursor.at >= text.length) throw new MtError('message', 'a network ACK with no message after it');
    message = readMessage(cursor);
    if ('ackBlock' in message) throw new MtError('message', 'two network ACKs in a row; send the ACK and then the message it acknowledges');
    checkAckMatches(ack, message.basic);
  }
  skipLineBreaks(cursor);
  if (cursor.at < text.length) {
    throw new MtError('message', `unexpected text after the message at offset ${cursor.at}; send one message per request`);
  }
  return { ...message, ack };
}

function skipLineBreaks(cursor: Cursor): void {
  while (cursor.at < cursor.text.length) {
    const c = cursor.text[cursor.at];
    if (c !== '\r' && c !== '\n') return;
    cursor.at++;
  }
}

type ReadMessage = Omit<FinMessage, 'ack'> | { ackBlock: FinAck };

/** Reads blocks 1 to 5 of one message (or an ACK: block 1 F21 and a block 4 of sub-blocks). */
function readMessage(cursor: Cursor): ReadMessage {
  const block1 = readBlock(cursor, '1');
  if (block1.startsWith('F21')) return { ackBlock: readAck(cursor, block1) };
  const basic = parseBasic(block1, 'F01');
  if (!cursor.text.startsWith('{2:', cursor.at)) throw new MtError('block 2', 'the application header {2:...} must follow block 1');
  const application = parseApplication(readBlock(cursor, '2'));
  let user: FinTag[] = [];
  if (cursor.text.startsWith('{3:', cursor.at)) user = readTagBlock(cursor, '3');
  if (!cursor.text.startsWith('{4:', cursor.at)) throw new MtError('block 4', 'the text block {4:...} is missing');
  const fields = readTextBlock(cursor);
  let trailer: FinTag[] = [];
  if (cursor.text.startsWith('{5:', cursor.at)) trailer = readTagBlock(cursor, '5');
  return { basic, application, user, fields, trailer };
}

/** Reads `{id:content}` where content holds no braces (blocks 1 and 2); returns the content. */
function readBlock(cursor: Cursor, id: string): string {
  const where = `block ${id}`;
  const { text } = cursor;
  if (!text.startsWith(`{${id}:`, cursor.at)) throw new MtError(where, `expected {${id}:...} at offset ${cursor.at}`);
  const start = cursor.at + 3;
  let end = start;
  while (end < text.length && text[end] !== '}' && text[end] !== '{') end++;
  if (end >= text.length || text[end] !== '}') throw new MtError(where, 'the block is not closed with }');
  cursor.at = end + 1;
  return text.slice(start, end);
}

/** Reads `{id:{tag:value}{tag:value}...}` (blocks 3 and 5, an ACK's block 4). */
function readTagBlock(cursor: Cursor, id: string): FinTag[] {
  const where = `block ${id}`;
  const { text } = cursor;
  cursor.at += 3;
  const tags: FinTag[] = [];
  while (cursor.at < text.length && text[cursor.at] === '{') {
    const start = cursor.at + 1;
    let end = start;
    while (end < text.length && text[end] !== '}' && text[end] !== '{') end++;
    if (end >= text.length || text[end] !== '}') throw new MtError(where, `sub-block at offset ${cursor.at} is not closed with }`);
    const inner = text.slice(start, end);
    const colon = inner.indexOf(':');
    if (colon < 1) throw new MtError(where, `sub-block '{${inner}}' is not {tag:value}`);
    const tag = inner.slice(0, colon);
    if (!/^[A-Z0-9]{3}$/.test(tag)) throw new MtError(where, `'${tag}' is not a three-character tag`);
    const value = inner.slice(colon + 1);
    checkX(`${where} {${tag}:}`, value);
    tags.push({ tag, value });
    cursor.at = end + 1;
  }
  if (text[cursor.at] !== '}') throw new MtError(where, 'the block is not closed with }');
  cursor.at++;
  return tags;
}

function parseBasic(content: string, kind: 'F01' | 'F21'): BasicHeader {
  if (content.length !== 25 || !content.startsWith(kind)) {
    throw new MtError('block 1', `'${content}' is not a basic header (${kind}, a 12-character LT address, 4-digit session, 6-digit sequence)`);
  }
  const ltAddress = content.slice(3, 15);
  const session = content.slice(15, 19);
  const sequence = content.slice(19, 25);
  if (!LT_ADDRESS.test(ltAddress)) throw new MtError('block 1', `'${ltAddress}' is not a logical terminal address`);
  if (!/^\d{4}$/.test(session) || !/^\d{6}$/.test(sequence)) throw new MtError('block 1', 'session and sequence numbers must be digits');
  return { ltAddress, session, sequence };
}

function parseApplication(content: string): InputHeader | OutputHeader {
  const direction = content[0];
  const messageType = content.slice(1, 4);
  if ((direction !== 'I' && direction !== 'O') || !/^\d{3}$/.test(messageType)) {
    throw new MtError('block 2', `'${content}' is not an application header (I or O, then a 3-digit message type)`);
  }
  return direction === 'I' ? parseInputHeader(content, messageType) : parseOutputHeader(content, messageType);
}

function parseInputHeader(content: string, messageType: string): InputHeader {
  // I + type + LT address (16), then priority S/U/N, delivery monitoring 1-3
  // and a 3-digit obsolescence period, each optional.
  const receiverLt = content.slice(4, 16);
  const rest = content.slice(16);
  const match = /^([SUN])?([123])?(\d{3})?$/.exec(rest);
  if (content.length < 16 || !LT_ADDRESS.test(receiverLt) || match === null) {
    throw new MtError('block 2', `'${content}' is not an input header (I, type, receiver LT address, [priority], [monitoring], [obsolescence])`);
  }
  const header: InputHeader = { direction: 'I', messageType, receiverLt };
  if (match[1] !== undefined) header.priority = match[1];
  if (match[2] !== undefined) header.deliveryMonitoring = match[2];
  if (match[3] !== undefined) header.obsolescencePeriod = match[3];
  return header;
}

function parseOutputHeader(content: string, messageType: string): OutputHeader {
  // O + type + input time HHMM + MIR (date, LT, session, ISN: 28) + output
  // date YYMMDD + output time HHMM = 46, then the priority.
  if (content.length !== 46 && content.length !== 47) {
    throw new MtError('block 2', `'${content}' is not an output header (46 characters and a priority)`);
  }
  const header: OutputHeader = {
    direction: 'O', messageType, inputTime: content.slice(4, 8), inputDate: content.slice(8, 14),
    senderLt: content.slice(14, 26), inputSession: content.slice(26, 30), inputSequence: content.slice(30, 36),
    outputDate: content.slice(36, 42), outputTime: content.slice(42, 46),
  };
  if (content.length === 47) header.priority = content[46];
  const digits = header.inputTime + header.inputDate + header.inputSession + header.inputSequence + header.outputDate + header.outputTime;
  if (!/^\d{30}$/.test(digits) || !LT_ADDRESS.test(header.senderLt) || !/^[SUN]?$/.test(header.priority ?? '')) {
    throw new MtError('block 2', `'${content}' is not an output header (time, MIR, output date and time must be digits, the LT address valid)`);
  }
  if (!validTime(header.inputTime) || !validTime(header.outputTime) || !validYymmdd(header.outputDate) || !validYymmdd(header.inputDate)) {
    throw new MtError('block 2', `'${content}' has an invalid date or time`);
  }
  return header;
}

function readAck(cursor: Cursor, block1: string): FinAck {
  const basic = parseBasic(block1, 'F21');
  if (!cursor.text.startsWith('{4:{', cursor.at)) throw new MtError('ACK', 'a network ACK (F21) must have a block 4 of {tag:value} sub-blocks');
  const fields = readTagBlock(cursor, '4');
  const result = fields.find((f) => f.tag === '451');
  if (result === undefined || (result.value !== '0' && result.value !== '1')) throw new MtError('ACK', 'field 451 (0 accepted, 1 rejected) is missing or invalid');
  if (result.value === '1') {
    const reason = fields.find((f) => f.tag === '405')?.value ?? 'no 405 error code given';
    throw new MtError('ACK', `the network rejected this message (NAK, 451:1, 405:${reason}); a NAKed message is not a payment`);
  }
  return { accepted: true, basic, fields };
}

function checkAckMatches(ack: FinAck, basic: BasicHeader): void {
  const a = ack.basic;
  if (a.ltAddress !== basic.ltAddress || a.session !== basic.session || a.sequence !== basic.sequence) {
    throw new MtError('ACK', `the ACK (${a.ltAddress} ${a.session} ${a.sequence}) is for another message than ${basic.ltAddress} ${basic.session} ${basic.sequence}`);
  }
}

/**
 * Reads the text block: "{4:" CrLf, then `:tag:value` lines, then "-}".
 * '}' is outside x, so the first '}' must be the end, right after a line
 * holding only '-'. Lines end in CRLF or LF; a stray CR is refused by x.
 */
function readTextBlock(cursor: Cursor): MtField[] {
  const { text } = cursor;
  let start = cursor.at + 3;
  if (text.startsWith('\r\n', start)) start += 2;
  else if (text[start] === '\n') start += 1;
  else throw new MtError('block 4', 'the text block must start with a line break after {4:');
  const close = text.indexOf('}', start);
  if (close < 0) throw new MtError('block 4', 'truncated: the text block does not end with a line holding "-}"');
  if (text[close - 1] !== '-' || (text[close - 2] !== '\n' && close - 1 !== start)) {
    throw new MtError('block 4', 'the text block must end with a line holding "-}"');
  }
  const body = text.slice(start, close - 1);
  if (body.length > MT_TEXT_BLOCK_CHARS_MAX) {
    throw new MtError('block 4', `${body.length} characters is over SWIFT's limit of ${MT_TEXT_BLOCK_CHARS_MAX}`);
  }
  cursor.at = close + 1;
  return splitFields(body);
}

/** Cuts the text block's lines into fields; a line starting with ':' opens one, the others continue it. */
function splitFields(body: string): MtField[] {
  const lines = body.split('\n');
  // The body ends with the line break before "-", which leaves one empty last element.
  if (lines.length < 2 || lines[lines.length - 1] !== '') throw new MtError('block 4', 'the text block is empty');
  lines.pop();
  const fields: MtField[] = [];
  let current: { tag: string; lines: string[]; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    const lineNo = i + 1;
    if (line.startsWith(':')) {
      if (current !== undefined) fields.push(finishField(current));
      const close = line.indexOf(':', 1);
      const tag = close < 0 ? '' : line.slice(1, close);
      if (!/^\d{2}[A-Z]?$/.test(tag)) throw new MtError('block 4', `line ${lineNo}: '${line.slice(0, 8)}' does not start a field (:nn: or :nna:)`);
      const first = line.slice(close + 1);
      // Content may not start with ':' or '-' on any line, the first one included, so no value can be taken for a tag or the end.
      if (first === '') throw new MtError(`:${tag}:`, `line ${lineNo}: the field's content must start on its tag's line`);
      if (first[0] === ':' || first[0] === '-') throw new MtError(`:${tag}:`, `line ${lineNo}: content may not start with '${first[0]}'`);
      current = { tag, lines: [first], line: lineNo };
    } else {
      if (current === undefined) throw new MtError('block 4', `line ${lineNo}: text before the first field`);
      if (line === '') throw new MtError(`:${current.tag}:`, `line ${lineNo}: an empty line`);
      if (line.startsWith('-')) throw new MtError(`:${current.tag}:`, `line ${lineNo}: content may not start with '-'`);
      current.lines.push(line);
    }
    checkX(`:${current.tag}: (block 4 line ${lineNo})`, line);
  }
  if (current !== undefined) fields.push(finishField(current));
  return fields;
}

function finishField(current: { tag: string; lines: string[]; line: number }): MtField {
  return { tag: current.tag, value: current.lines.join('\n'), line: current.line };
}

// ---- dates ----

export function validTime(hhmm: string): boolean {
  return /^\d{4}$/.test(hhmm) && Number(hhmm.slice(0, 2)) <= 23 && Number(hhmm.slice(2)) <= 59;
}

/** YYMMDD as a calendar date: 00-79 is 2000-2079, 80-99 is 1980-1999 (the window MT dates are read with). */
export function yymmddToIso(yymmdd: string): string | undefined {
  if (!/^\d{6}$/.test(yymmdd)) return undefined;
  const yy = Number(yymmdd.slice(0, 2));
  const year = yy < 80 ? 2000 + yy : 1900 + yy;
  const month = Number(yymmdd.slice(2, 4));
  const day = Number(yymmdd.slice(4, 6));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return `${year}-${yymmdd.slice(2, 4)}-${yymmdd.slice(4, 6)}`;
}

/** YYYY-MM-DD back to YYMMDD, for years the window reads back the same (1980-2079). */
export function isoToYymmdd(iso: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) return undefined;
  const yymmdd = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  return yymmddToIso(yymmdd) === iso ? yymmdd : undefined;
}

function validYymmdd(yymmdd: string): boolean {
  return yymmddToIso(yymmdd) !== undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

// ---- writing ----

/** Writes a FIN input message: block 1 from the sender's LT address, block 2 "I" + type + receiver + priority, then blocks 3 and 4. */
export function formatFin(message: { senderLt: string; receiverLt: string; messageType: string; user: FinTag[]; fields: { tag: string; value: string }[] }): string {
  const block1 = `{1:F01${message.senderLt}0000000000}`;
  const block2 = `{2:I${message.messageType}${message.receiverLt}N}`;
  const block3 = message.user.length === 0 ? '' : `{3:${message.user.map((t) => `{${t.tag}:${t.value}}`).join('')}}`;
  const lines = message.fields.map((f) => `:${f.tag}:${f.value.split('\n').join('\r\n')}`);
  return `${block1}${block2}${block3}{4:\r\n${lines.join('\r\n')}\r\n-}`;
}
