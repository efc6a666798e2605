// host/compliance/lists.ts: the sanctions lists the compliance service
// screens against, read from the files their publishers give out
// (docs/compliance.md "Lists and names"; test/fixtures/sanctions/README.md
// has the layouts):
//   - OFAC's SDN list in its legacy CSV form: sdn.csv (one row per entry),
//     alt.csv (aliases), add.csv (addresses) and, optionally,
//     sdn_comments.csv (the rest of a Remarks field cut at 1,000 characters);
//   - the UN Security Council's consolidated list (one XML file).
//
// Strict, and all or nothing: a file that is not exactly what the publisher
// writes (a wrong column count, a quote left open, a bare LF, a byte that is
// not ASCII in the CSV, an alias or address of an entry that does not exist,
// an id given twice, a DOCTYPE in the XML, a bound of host/base/limits.ts
// exceeded) is refused with a ListError naming the file, the line and a
// code; nothing of a refused list is returned. The CSV reader is RFC 4180 as
// OFAC writes it: CRLF after every record (the last one too), fields quoted
// with "" for a quote inside, ids and the null marker `-0- ` unquoted, one
// 0x1A (DOS end of file) allowed as the very last byte. A line break inside a
// quoted field is refused: OFAC's files have none, and a quote left open would
// otherwise swallow the rest of the file.
//
// The list's version (the protocol's BEGIN_VERSION, 32 bytes): SHA-256 of the
// concatenation of the SHA-256 digests (32 raw bytes each) of the list's
// input files in a fixed order:
//   ofac_sdn: sdn.csv, alt.csv, add.csv   (sdn_comments.csv carries no names
//             and is not part of it)
//   un:       the one XML file            (so SHA-256 of its SHA-256)
// Anyone can recompute it with sha256sum and xxd:
//   cat <(sha256sum sdn.csv alt.csv add.csv | cut -c1-64 | xxd -r -p) | sha256sum

import { createHash } from 'node:crypto';
import {
  LIST_ADDRESSES_PER_ENTRY_MAX, LIST_ENTRIES_MAX, LIST_FIELD_CHARS_MAX, LIST_FILE_BYTES_MAX, LIST_NAMES_PER_ENTRY_MAX, XML_DOCUMENT_BYTES_MAX,
} from '../base/limits.ts';
import { XmlError, parseXml, type XmlElement } from '../payments/xml.ts';
import { ENTITY_ID_MAX } from '../../services/compliance/protocol.ts';

export type ListId = 'ofac_sdn' | 'un';
export type EntryType = 'individual' | 'entity' | 'vessel' | 'aircraft';

/** One name of an entry as its list writes it (whitespace runs made one space, trimmed). */
export interface ListName {
  readonly display: string;
  /** An alias (a.k.a., f.k.a., n.k.a.; for the UN every ALIAS_NAME and the original-script name). */
  readonly alias: boolean;
  /** An alias its list marks of low quality (UN QUALITY "Low"; OFAC "weak" in alt_remarks). */
  readonly weak: boolean;
  /** The UN's NAME_ORIGINAL_SCRIPT: shown, but its normalised form may be empty (then it is not screened). */
  readonly originalScript?: boolean;
}

export interface ListAddress {
  readonly address?: string;
  readonly city?: string;
  readonly country?: string;
}

export interface ListEntry {
  readonly list: ListId;
  /** The list's own id: the SDN ent_num, the UN REFERENCE_NUMBER (ASCII, 1..ENTITY_ID_MAX bytes). */
  readonly entityId: string;
  readonly type: EntryType;
  /** The primary name first, then the aliases in the list's order. */
  readonly names: ListName[];
  readonly programs: string[];
  readonly addresses: ListAddress[];
  remarks: string;
}

export interface ParsedList {
  readonly list: ListId;
  /** See the head of this file. */
  readonly version: Uint8Array;
  readonly versionHex: string;
  readonly entries: ListEntry[];
  /** Every name of every entry (primary names and aliases). */
  readonly names: number;
  readonly aliases: number;
  readonly addresses: number;
}

export type ListErrorCode =
  | 'too_large' | 'not_ascii' | 'control_character' | 'line_end' | 'truncated' | 'quote' | 'field_too_long' | 'columns'
  | 'bad_id' | 'duplicate_id' | 'unknown_id' | 'bad_value' | 'missing_name' | 'too_many_entries' | 'too_many_names'
  | 'dtd' | 'xml' | 'structure';

/** A list file refused; `line` is 1-based (0: the file as a whole). */
export class ListError extends Error {
  override name = 'ListError';
  constructor(readonly code: ListErrorCode, readonly file: string, readonly line: number, detail: string) {
    super(`${file}:${line}: ${detail} [${code}]`);
  }
}

/** SHA-256 of the concatenated SHA-256 digests of `files`, in the order given. */
export function listVersion(files: readonly Uint8Array[]): Uint8Array {
  const outer = createHash('sha256');
  for (const f of files) outer.update(createHash('sha256').update(f).digest());
  return new Uint8Array(outer.digest());
}

/** The line an import prints: list, version, counts. */
export function describeList(p: ParsedList): string {
  return `${p.list}: version ${p.versionHex}, ${p.entries.length} entries, ${p.names} names (${p.aliases} aliases), ${p.addresses} addresses`;
}

function checkSize(bytes: Uint8Array, file: string, max: number): void {
  if (bytes.length > max) throw new ListError('too_large', file, 0, `${bytes.length} bytes, more than ${max}`);
}

/** Whitespace runs made one space, trimmed. */
function clean(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

// ---- CSV (RFC 4180 as OFAC writes it) ----

interface CsvRow {
  readonly line: number;
  /** null for the null marker `-0- ` (or an empty unquoted field). */
  readonly fields: (string | null)[];
}

function lineAt(bytes: Uint8Array, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** Checks the bytes (ASCII, no control characters but CR and LF, a final CRLF) and returns the text without the 0x1A. */
function csvText(bytes: Uint8Array, file: string): string {
  checkSize(bytes, file, LIST_FILE_BYTES_MAX);
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x1a ? bytes.length - 1 : bytes.length;
  for (let i = 0; i < end; i++) {
    const b = bytes[i];
    if (b >= 0x80) throw new ListError('not_ascii', file, lineAt(bytes, i), `byte 0x${b.toString(16)} is not ASCII`);
    if ((b < 0x20 && b !== 0x0d && b !== 0x0a) || b === 0x7f) {
      throw new ListError('control_character', file, lineAt(bytes, i), `control byte 0x${b.toString(16).padStart(2, '0')}`);
    }
  }
  if (end > 0 && (bytes[end - 2] !== 0x0d || bytes[end - 1] !== 0x0a)) {
    throw new ListError('truncated', file, lineAt(bytes, end), 'the last record does not end with CRLF (is the file cut off?)');
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('latin1');
}

/** Every record of a CSV file, each with exactly `columns` fields. */
function readCsv(bytes: Uint8Array, file: string, columns: number): CsvRow[] {
  const text = csvText(bytes, file);
  const rows: CsvRow[] = [];
  let pos = 0;
  let line = 1;
  const fail = (code: ListErrorCode, detail: string): never => {
    throw new ListError(code, file, line, detail);
  };
  while (pos < text.length) {
    const fields: (string | null)[] = [];
    // Where this line ends: a quoted field may not reach past it (found once per record, so a hostile line of
    // many quoted fields costs one pass, not one per field).
    const lf = text.indexOf('\n', pos);
    const lineEnd = lf < 0 ? text.length : lf;
    for (;;) {
      let value: string | null;
      if (text.charCodeAt(pos) === 0x22) [value, pos] = quoted(text, pos, lineEnd, fail);
      else [value, pos] = unquoted(text, pos, fail);
      if (value !== null && value.length > LIST_FIELD_CHARS_MAX) fail('field_too_long', `field ${fields.length + 1} longer than ${LIST_FIELD_CHARS_MAX}`);
      fields.push(value);
      if (fields.length > columns) fail('columns', `more than ${columns} fields`);
      const c = text.charCodeAt(pos);
      pos += 1;
      if (c === 0x2c) continue;
      if (c === 0x0d && text.charCodeAt(pos) === 0x0a) break;
      fail('line_end', c === 0x0a ? 'a bare LF ends the record (CRLF expected)' : 'a bare CR in the record');
    }
    if (fields.length !== columns) fail('columns', `${fields.length} fields, ${columns} expected`);
    rows.push({ line, fields });
    pos += 1;
    line += 1;
  }
  return rows;
}

/** A quoted field at `pos` (on its opening quote), closed before `lineEnd`: its value and the position after its closing quote. */
function quoted(text: string, pos: number, lineEnd: number, fail: (code: ListErrorCode, detail: string) => never): [string, number] {
  let value = '';
  let from = pos + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q < 0 || q > lineEnd) fail('quote', 'a quoted field is not closed on its line');
    const chunk = text.slice(from, q);
    if (chunk.includes('\r')) fail('quote', 'a line break inside a quoted field');
    value += chunk;
    if (text.charCodeAt(q + 1) !== 0x22) {
      const next = text.charCodeAt(q + 1);
      if (next !== 0x2c && next !== 0x0d && next !== 0x0a) fail('quote', 'text after a closing quote');
      return [value, q + 1];
    }
    value += '"';
    from = q + 2;
  }
}

/** An unquoted field at `pos`: null for the null marker or nothing, and the position of what ends it. */
function unquoted(text: string, pos: number, fail: (code: ListErrorCode, detail: string) => never): [string | null, number] {
  let end = pos;
  for (; end < text.length; end++) {
    const c = text.charCodeAt(end);
    if (c === 0x2c || c === 0x0d || c === 0x0a) break;
    if (c === 0x22) fail('quote', 'a quote inside an unquoted field');
  }
  const raw = text.slice(pos, end);
  return [raw === '' || raw.trim() === '-0-' ? null : raw, end];
}

// ---- OFAC SDN (legacy CSV) ----

export interface OfacFiles {
  readonly sdn: Uint8Array;
  readonly alt: Uint8Array;
  readonly add: Uint8Array;
  /** Optional: appended to the entries' remarks. */
  readonly comments?: Uint8Array;
}

const SDN_TYPES: Record<string, EntryType> = { individual: 'individual', vessel: 'vessel', aircraft: 'aircraft' };
const ALT_TYPES = new Set(['aka', 'fka', 'nka']);

/** An unquoted positive integer id (ent_num, alt_num, add_num). */
function numericId(row: CsvRow, index: number, file: string, what: string): string {
  const v = row.fields[index];
  if (v === null || !/^[1-9][0-9]{0,9}$/.test(v)) throw new ListError('bad_id', file, row.line, `${what} ${JSON.stringify(v)} is not a positive integer`);
  return v;
}

function required(row: CsvRow, index: number, file: string, what: string, code: ListErrorCode = 'bad_value'): string {
  const v = row.fields[index];
  const c = v === null ? '' : clean(v);
  if (c === '') throw new ListError(code, file, row.line, `${what} is missing`);
  return c;
}

function optional(v: string | null): string | undefined {
  if (v === null) return undefined;
  const c = clean(v);
  return c === '' ? undefined : c;
}

/** Reads OFAC's SDN list; throws ListError. */
export function parseOfacSdn(files: OfacFiles): ParsedList {
  const byId = new Map<string, ListEntry>();
  const sdnRows = readCsv(files.sdn, 'sdn.csv', 12);
  if (sdnRows.length > LIST_ENTRIES_MAX) throw new ListError('too_many_entries', 'sdn.csv', 0, `${sdnRows.length} entries, more than ${LIST_ENTRIES_MAX}`);
  for (const row of sdnRows) {
    const entityId = numericId(row, 0, 'sdn.csv', 'ent_num');
    if (byId.has(entityId)) throw new ListError('duplicate_id', 'sdn.csv', row.line, `ent_num ${entityId} given twice`);
    const display = required(row, 1, 'sdn.csv', 'SDN_Name', 'missing_name');
    const typeField = row.fields[2];
    const type = typeField === null ? 'entity' : SDN_TYPES[typeField];
    if (type === undefined) throw new ListError('bad_value', 'sdn.csv', row.line, `SDN_Type ${JSON.stringify(typeField)} is not individual, vessel, aircraft or -0-`);
    const programs = (optional(row.fields[3]) ?? '').split(/\]\s*\[/).map((p) => p.trim()).filter((p) => p !== '');
    byId.set(entityId, {
      list: 'ofac_sdn', entityId, type, names: [{ display, alias: false, weak: false }], programs, addresses: [], remarks: optional(row.fields[11]) ?? '',
    });
  }
  const aliases = readAliases(files.alt, byId);
  const addresses = readAddresses(files.add, byId);
  if (files.comments !== undefined) readComments(files.comments, byId);
  const version = listVersion([files.sdn, files.alt, files.add]);
  const entries = [...byId.values()];
  return { list: 'ofac_sdn', version, versionHex: Buffer.from(version).toString('hex'), entries, names: entries.length + aliases, aliases, addresses };
}

/** The entry a row of alt/add/comments belongs to (its ent_num must be in sdn.csv). */
function ownerOf(row: CsvRow, file: string, byId: Map<string, ListEntry>): ListEntry {
  const id = numericId(row, 0, file, 'ent_num');
  const entry = byId.get(id);
  if (entry === undefined) throw new ListError('unknown_id', file, row.line, `ent_num ${id} is not in sdn.csv`);
  return entry;
}

/** Records `id` as seen; an id seen before is refused (duplicate_id). */
function uniqueId(id: string, seen: Set<string>, file: string, line: number, what: string): void {
  if (seen.has(id)) throw new ListError('duplicate_id', file, line, `${what} ${id} given twice`);
  seen.add(id);
}

function readAliases(bytes: Uint8Array, byId: Map<string, ListEntry>): number {
  const file = 'alt.csv';
  const seen = new Set<string>();
  const rows = readCsv(bytes, file, 5);
  for (const row of rows) {
    const entry = ownerOf(row, file, byId);
    uniqueId(numericId(row, 1, file, 'alt_num'), seen, file, row.line, 'alt_num');
    const altType = row.fields[2];
    if (altType === null || !ALT_TYPES.has(altType)) throw new ListError('bad_value', file, row.line, `alt_type ${JSON.stringify(altType)} is not aka, fka or nka`);
    const display = required(row, 3, file, 'alt_name', 'missing_name');
    if (entry.names.length >= LIST_NAMES_PER_ENTRY_MAX) throw new ListError('too_many_names', file, row.line, `ent_num ${entry.entityId} has more than ${LIST_NAMES_PER_ENTRY_MAX} names`);
    entry.names.push({ display, alias: true, weak: /\bweak\b/i.test(row.fields[4] ?? '') });
  }
  return rows.length;
}

function readAddresses(bytes: Uint8Array, byId: Map<string, ListEntry>): number {
  const file = 'add.csv';
  const seen = new Set<string>();
  const rows = readCsv(bytes, file, 6);
  for (const row of rows) {
    const entry = ownerOf(row, file, byId);
    uniqueId(numericId(row, 1, file, 'add_num'), seen, file, row.line, 'add_num');
    if (entry.addresses.length >= LIST_ADDRESSES_PER_ENTRY_MAX) {
      throw new ListError('too_many_names', file, row.line, `ent_num ${entry.entityId} has more than ${LIST_ADDRESSES_PER_ENTRY_MAX} addresses`);
    }
    entry.addresses.push(address(optional(row.fields[2]), optional(row.fields[3]), optional(row.fields[4])));
  }
  return rows.length;
}

function address(street: string | undefined, city: string | undefined, country: string | undefined): ListAddress {
  const a: { address?: string; city?: string; country?: string } = {};
  if (street !== undefined) a.address = street;
  if (city !== undefined) a.city = city;
  if (country !== undefined) a.country = country;
  return a;
}

function readComments(bytes: Uint8Array, byId: Map<string, ListEntry>): void {
  for (const row of readCsv(bytes, 'sdn_comments.csv', 2)) {
    const entry = ownerOf(row, 'sdn_comments.csv', byId);
    // The text goes on where Remarks was cut, mid-word: joined as it is.
    entry.remarks += row.fields[1] ?? '';
  }
}

// ---- UN consolidated list (XML) ----

const UN_FILE = 'UN_consolidated.xml';
const ENTITY_ID = new RegExp(`^[\\x21-\\x7e]{1,${ENTITY_ID_MAX}}$`);

/** Line numbers of each start tag `<name>` / `<name ...>` in `text`, in document order. */
function tagLines(text: string, name: string): number[] {
  const out: number[] = [];
  let line = 1;
  let counted = 0;
  for (let at = text.indexOf(`<${name}`); at >= 0; at = text.indexOf(`<${name}`, at + 1)) {
    const after = text.charCodeAt(at + name.length + 1);
    if (after !== 0x3e && after !== 0x20 && after !== 0x2f && after !== 0x0a && after !== 0x0d && after !== 0x09) continue;
    for (let i = counted; i < at; i++) if (text.charCodeAt(i) === 0x0a) line++;
    counted = at;
    out.push(line);
  }
  return out;
}

function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 0x0a) line++;
  return line;
}

/** The XML document, refused before parsing when it declares a DTD or an entity (XXE), as host/payments/xsd.ts does. */
function unDocument(bytes: Uint8Array): { root: XmlElement; text: string } {
  checkSize(bytes, UN_FILE, Math.min(LIST_FILE_BYTES_MAX, XML_DOCUMENT_BYTES_MAX));
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  for (const what of ['<!DOCTYPE', '<!ENTITY']) {
    const at = text.indexOf(what);
    if (at >= 0) throw new ListError('dtd', UN_FILE, lineOfOffset(text, at), `${what.slice(2)} declaration: DTDs and entities are refused`);
  }
  try {
    return { root: parseXml(bytes), text };
  } catch (e) {
    if (!(e instanceof XmlError)) throw e;
    const offset = /offset (\d+)/.exec(e.message);
    throw new ListError('xml', UN_FILE, offset === null ? 0 : lineOfOffset(text, Number(offset[1])), e.message);
  }
}

/** Reads the UN consolidated list; throws ListError. */
export function parseUnList(bytes: Uint8Array): ParsedList {
  const { root, text } = unDocument(bytes);
  if (root.name !== 'CONSOLIDATED_LIST' || root.ns !== '') throw new ListError('structure', UN_FILE, 1, `root <${root.name}> is not <CONSOLIDATED_LIST>`);
  const entries: ListEntry[] = [];
  const seen = new Set<string>();
  let aliases = 0;
  let addresses = 0;
  for (const [group, tag, type] of [['INDIVIDUALS', 'INDIVIDUAL', 'individual'], ['ENTITIES', 'ENTITY', 'entity']] as const) {
    const elements = root.child(group)?.all(tag) ?? [];
    const lines = tagLines(text, tag);
    if (entries.length + elements.length > LIST_ENTRIES_MAX) throw new ListError('too_many_entries', UN_FILE, 0, `more than ${LIST_ENTRIES_MAX} entries`);
    elements.forEach((el, i) => {
      const entry = unEntry(el, type, lines[i] ?? 0);
      uniqueId(entry.entityId, seen, UN_FILE, lines[i] ?? 0, 'REFERENCE_NUMBER');
      entries.push(entry);
      aliases += entry.names.length - 1;
      addresses += entry.addresses.length;
    });
  }
  if (entries.length === 0) throw new ListError('structure', UN_FILE, 0, 'no INDIVIDUAL or ENTITY');
  const version = listVersion([bytes]);
  return { list: 'un', version, versionHex: Buffer.from(version).toString('hex'), entries, names: entries.length + aliases, aliases, addresses };
}

function textOf(el: XmlElement, name: string): string {
  return clean(el.child(name)?.text ?? '');
}

/** One INDIVIDUAL or ENTITY element. */
function unEntry(el: XmlElement, type: 'individual' | 'entity', line: number): ListEntry {
  const entityId = textOf(el, 'REFERENCE_NUMBER');
  if (!ENTITY_ID.test(entityId)) throw new ListError('bad_id', UN_FILE, line, `REFERENCE_NUMBER ${JSON.stringify(entityId)} is not 1..${ENTITY_ID_MAX} printable ASCII characters`);
  // Given names first, as the UN writes them: FIRST_NAME SECOND_NAME THIRD_NAME FOURTH_NAME.
  const primary = ['FIRST_NAME', 'SECOND_NAME', 'THIRD_NAME', 'FOURTH_NAME'].map((n) => textOf(el, n)).filter((p) => p !== '').join(' ');
  if (primary === '') throw new ListError('missing_name', UN_FILE, line, `${entityId} has no FIRST_NAME..FOURTH_NAME`);
  const names: ListName[] = [{ display: primary, alias: false, weak: false }];
  const original = textOf(el, 'NAME_ORIGINAL_SCRIPT');
  if (original !== '') names.push({ display: original, alias: true, weak: false, originalScript: true });
  for (const a of el.all(type === 'individual' ? 'INDIVIDUAL_ALIAS' : 'ENTITY_ALIAS')) {
    const display = textOf(a, 'ALIAS_NAME');
    if (display === '') continue;
    names.push({ display, alias: true, weak: textOf(a, 'QUALITY') === 'Low' });
  }
  if (names.length > LIST_NAMES_PER_ENTRY_MAX) throw new ListError('too_many_names', UN_FILE, line, `${entityId} has more than ${LIST_NAMES_PER_ENTRY_MAX} names`);
  const places = el.all(type === 'individual' ? 'INDIVIDUAL_ADDRESS' : 'ENTITY_ADDRESS');
  if (places.length > LIST_ADDRESSES_PER_ENTRY_MAX) throw new ListError('too_many_names', UN_FILE, line, `${entityId} has more than ${LIST_ADDRESSES_PER_ENTRY_MAX} addresses`);
  const addresses = places
    .map((a) => address(optional(a.child('STREET')?.text ?? null), optional(a.child('CITY')?.text ?? null), optional(a.child('COUNTRY')?.text ?? null)))
    .filter((a) => a.address !== undefined || a.city !== undefined || a.country !== undefined);
  const program = textOf(el, 'UN_LIST_TYPE');
  return { list: 'un', entityId, type, names, programs: program === '' ? [] : [program], addresses, remarks: textOf(el, 'COMMENTS1') };
}
