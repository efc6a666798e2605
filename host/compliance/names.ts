// host/compliance/names.ts: the name normaliser, the one place that turns a
// name as written (a list's, a payment party's) into the form the compliance
// service matches (services/compliance/protocol.ts: lower-case ASCII tokens
// a-z 0-9 separated by one space, at most NORMALIZED_MAX bytes). Pure and
// deterministic: the same string and type give the same bytes on any host
// with the same Unicode tables of String.prototype.normalize (the normalised
// form is what goes into the log, so a replay never normalises again).
// It never throws; it answers '' when nothing is left, and callers refuse
// an empty name (nameRecordsOf below, with NameError).
//
// The steps, in order (docs/compliance.md "Lists and names" says why):
//  1. at most NAME_INPUT_CHARS_MAX UTF-16 units are read; lone surrogates
//     become U+FFFD (and then spaces);
//  2. lower case, Unicode NFKD, combining marks removed (é → e, ﬁ → fi,
//     full-width letters → ASCII);
//  3. individuals written "SURNAME, Given Names" (OFAC's way; the UN writes
//     given names first) are put in reading order: "given names surname",
//     split at the first comma;
//  4. letters NFKD leaves alone are spelled in ASCII: ß ss, æ ae, œ oe, ø o,
//     ł l, đ/ð d, þ th, ı i, ħ h; Cyrillic and Greek letter by letter (BGN
//     style, й → i because NFKD has taken its breve); other scripts (Arabic,
//     Hebrew, CJK, Hangul...) are dropped: a transliteration of unvowelled
//     Arabic or of Chinese is not a cheap table;
//  5. apostrophes (' ’ ‘ ʼ ʻ ` ´) and full stops are deleted, joining what
//     they stood between (O'BRIEN → obrien, S.A. → sa, L.L.C. → llc);
//     every other character that is not a-z 0-9 separates tokens;
//  6. common transliteration variants become one spelling (VARIANTS below:
//     mohammed/mohamed/muhammed... → muhammad; abd al / abd el / abdel /
//     abdul → abdul; ...);
//  7. the Arabic article "al"/"el" before another token is dropped
//     (AL-QAIDA, AL QAIDA → qaida; "al" alone or last stays);
//  8. entities, vessels and aircraft: legal forms (LEGAL_FORMS) and stop
//     words (STOP_WORDS) are dropped wherever they stand; individuals keep
//     every token. When dropping would leave nothing the tokens are kept
//     ("THE COMPANY" stays "the company");
//  9. the tokens that fit NORMALIZED_MAX bytes with one space between them
//     are kept, the rest cut at a token boundary (a single longer token is
//     cut to NORMALIZED_MAX);
// 10. a query of no known type (0): legal forms at the end are dropped
//     (unless nothing would be left); not its stop words, because a person's
//     name holds particles (de, la, al) an entity's stop words would drop.
// The result is a fixed point: normalizeName(normalizeName(x, t), t) ===
// normalizeName(x, t) for every x and t (the tests check it on hostile
// strings), so a name already normalised can be sent as it is.

import type { NameRecord } from './records.ts';
import { NAME_INPUT_CHARS_MAX } from '../base/limits.ts';
import {
  DISPLAY_MAX, ENTITY_ID_MAX, NORMALIZED_MAX, SEARCH_TOKENS_MAX, TYPE_AIRCRAFT, TYPE_ENTITY, TYPE_INDIVIDUAL, TYPE_VESSEL,
} from '../../services/compliance/protocol.ts';
import type { EntryType, ListEntry, ListId, ListName } from './lists.ts';

// ---- step 4: letters NFKD does not take apart ----

const LATIN: Record<string, string> = {
  'ß': 'ss', 'æ': 'ae', 'œ': 'oe', 'ø': 'o', 'ł': 'l', 'đ': 'd', 'ð': 'd', 'þ': 'th', 'ı': 'i', 'ħ': 'h', 'ŧ': 't', 'ŋ': 'n', 'ĸ': 'k', 'ƒ': 'f',
};
// Russian, Ukrainian, Belarusian, Serbian and Bulgarian Cyrillic (lower case; ё, й, ї, ў arrive as base letter + mark).
const CYRILLIC: Record<string, string> = {
  'а': 'a', 'б': 'b', 'в': 'v', 'г': 'g', 'д': 'd', 'е': 'e', 'ж': 'zh', 'з': 'z', 'и': 'i', 'к': 'k', 'л': 'l', 'м': 'm', 'н': 'n',
  'о': 'o', 'п': 'p', 'р': 'r', 'с': 's', 'т': 't', 'у': 'u', 'ф': 'f', 'х': 'kh', 'ц': 'ts', 'ч': 'ch', 'ш': 'sh', 'щ': 'shch',
  'ъ': '', 'ы': 'y', 'ь': '', 'э': 'e', 'ю': 'yu', 'я': 'ya', 'і': 'i', 'є': 'ye', 'ґ': 'g', 'ђ': 'dj', 'ј': 'j', 'љ': 'lj',
  'њ': 'nj', 'ћ': 'c', 'џ': 'dz', 'ѕ': 'dz',
};
const GREEK: Record<string, string> = {
  'α': 'a', 'β': 'v', 'γ': 'g', 'δ': 'd', 'ε': 'e', 'ζ': 'z', 'η': 'i', 'θ': 'th', 'ι': 'i', 'κ': 'k', 'λ': 'l', 'μ': 'm', 'ν': 'n',
  'ξ': 'x', 'ο': 'o', 'π': 'p', 'ρ': 'r', 'σ': 's', 'ς': 's', 'τ': 't', 'υ': 'y', 'φ': 'f', 'χ': 'ch', 'ψ': 'ps', 'ω': 'o',
};
const LETTERS = new Map<string, string>([...Object.entries(LATIN), ...Object.entries(CYRILLIC), ...Object.entries(GREEK)]);
// Deleted rather than made a separator (step 5).
const JOINERS = new Set(["'", '’', '‘', 'ʼ', 'ʻ', '`', '´', '.', 'ʹ', '′']);

// ---- step 6: one spelling for common transliteration variants ----
// The canonical spelling is the one Library of Congress / ISO 233-style
// romanisation gives; what matters is only that every variant maps to it and
// that it maps to itself. Kept short: each line is a name that is frequent
// on the lists and spelled many ways across them (and across payments).
const VARIANT_GROUPS: readonly (readonly string[])[] = [
  ['muhammad', 'mohammed', 'mohammad', 'mohamed', 'mohamad', 'muhammed', 'muhamed', 'muhamad', 'mohammod', 'mouhamed', 'mohamud', 'mohd', 'muhamet'],
  ['ahmad', 'ahmed', 'ahmet', 'achmed'],
  ['mahmud', 'mahmoud', 'mahmood', 'mehmood'],
  ['mustafa', 'mostafa', 'moustafa', 'mustapha', 'mostapha'],
  ['husayn', 'hussein', 'husein', 'hussain', 'husain', 'hossein', 'hosein', 'husseyn'],
  ['hasan', 'hassan'],
  ['yusuf', 'youssef', 'yousef', 'yousif', 'yusef', 'yousuf', 'youssouf', 'yussuf'],
  ['abdullah', 'abdallah', 'abdulla', 'abdullahi', 'abdellah', 'abdollah'],
  ['abdul', 'abdel', 'abdal', 'abdol', 'abdoul'],
  ['usama', 'osama', 'oussama'],
  ['umar', 'omar', 'omer'],
  ['uthman', 'othman', 'osman', 'usman', 'othmane'],
  ['khalid', 'khaled'],
  ['said', 'saeed', 'saied', 'saaid'],
  ['qaida', 'qaeda', 'qaedah', 'qaidah'],
  ['abu', 'abou', 'abo'],
  ['bin', 'ibn'],
  ['sergei', 'sergey', 'serguei'],
  ['yuri', 'yury', 'yuriy', 'iouri', 'iuri'],
  ['aleksandr', 'alexander', 'aleksander', 'alexandr'],
  ['evgeny', 'yevgeny', 'evgeniy', 'yevgeniy', 'evgenii', 'yevgeni'],
];
const VARIANTS = new Map<string, string>(VARIANT_GROUPS.flatMap((g) => g.map((v) => [v, g[0]] as [string, string])));
// Two tokens that are one name: abd al rahman = abdul rahman (after step 6, abd el / abd ul too).
const ABD_ARTICLES = new Set(['al', 'el', 'ul', 'il']);
const ARTICLES = new Set(['al', 'el']);

// ---- step 8: what an entity's name drops ----
// Legal forms (written out and abbreviated, after step 5: S.A. → sa, L.L.C. → llc).
export const LEGAL_FORMS: ReadonlySet<string> = new Set([
  'ltd', 'limited', 'llc', 'llp', 'lp', 'inc', 'incorporated', 'co', 'corp', 'corporation', 'company', 'plc', 'gmbh', 'ag', 'kg', 'sa', 'sas', 'sarl',
  'srl', 'spa', 'bv', 'nv', 'ab', 'oy', 'aps', 'pte', 'pty', 'pvt', 'ltda', 'cia', 'cv', 'jsc', 'ojsc', 'cjsc', 'pjsc', 'oao', 'zao', 'ooo', 'fze', 'fzco',
  'fzc', 'fzllc', 'bhd', 'sdn', 'doo', 'kft', 'sl', 'est', 'establishment',
]);
// Articles, prepositions and conjunctions of English, French, Spanish, Portuguese, Italian, German and Arabic that entity names hold.
export const STOP_WORDS: ReadonlySet<string> = new Set([
  'the', 'of', 'and', 'for', 'a', 'an', 'de', 'del', 'della', 'des', 'du', 'da', 'do', 'dos', 'das', 'la', 'le', 'les', 'los', 'las', 'el', 'al',
  'y', 'e', 'et', 'und', 'der', 'die',
]);

// The entry types and the protocol's TYPE_* of each.
const TYPE_CODES: Record<EntryType, number> = { individual: TYPE_INDIVIDUAL, entity: TYPE_ENTITY, vessel: TYPE_VESSEL, aircraft: TYPE_AIRCRAFT };
export const ENTRY_TYPES = Object.keys(TYPE_CODES) as EntryType[];

/** The protocol's TYPE_* of an entry type. */
export function typeCode(type: EntryType): number {
  return TYPE_CODES[type];
}

/** The entry type of a protocol TYPE_*, or undefined. */
export function typeName(code: number): EntryType | undefined {
  return ENTRY_TYPES.find((t) => TYPE_CODES[t] === code);
}

/** Steps 1-5: the name as ASCII tokens (type decides the reordering). */
function tokensOf(display: string, type: number): string[] {
  let s = display.length > NAME_INPUT_CHARS_MAX ? display.slice(0, NAME_INPUT_CHARS_MAX) : display;
  s = wellFormed(s).normalize('NFKD').toLowerCase().replace(/\p{M}/gu, '');
  if (type === TYPE_INDIVIDUAL) {
    const comma = s.indexOf(',');
    if (comma >= 0) s = `${s.slice(comma + 1)} ${s.slice(0, comma)}`;
  }
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) out += ch;
    else if (JOINERS.has(ch)) continue;
    else out += LETTERS.get(ch) ?? ' ';
  }
  return out.split(' ').filter((t) => t !== '');
}

/** Steps 6-7. */
function fold(tokens: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    let t = VARIANTS.get(tokens[i]) ?? tokens[i];
    if (t === 'abd' && i + 1 < tokens.length && ABD_ARTICLES.has(tokens[i + 1])) {
      t = 'abdul';
      i += 1;
    }
    if (ARTICLES.has(t) && i + 1 < tokens.length) continue;
    out.push(t);
  }
  return out;
}

/** Step 8 for entities, vessels and aircraft (individuals and queries of no type keep their words here). */
function dropWords(tokens: string[], type: number): string[] {
  if (type !== TYPE_ENTITY && type !== TYPE_VESSEL && type !== TYPE_AIRCRAFT) return tokens;
  const kept = tokens.filter((t) => !LEGAL_FORMS.has(t) && !STOP_WORDS.has(t));
  return kept.length > 0 ? kept : tokens;
}

/** Step 9: the tokens that fit NORMALIZED_MAX bytes with their spaces (a first token longer than that is cut). */
function cut(tokens: string[]): string[] {
  const out: string[] = [];
  let bytes = -1;
  for (const t of tokens) {
    if (out.length === 0 && t.length > NORMALIZED_MAX) return [t.slice(0, NORMALIZED_MAX)];
    if (bytes + 1 + t.length > NORMALIZED_MAX) break;
    bytes += 1 + t.length;
    out.push(t);
  }
  return out;
}

/** Step 8 for a query of no known type: legal forms at the end, after the cut (so the result stays a fixed point). */
function dropTrailingLegalForms(tokens: string[], type: number): string[] {
  if (type === TYPE_INDIVIDUAL || type === TYPE_ENTITY || type === TYPE_VESSEL || type === TYPE_AIRCRAFT) return tokens;
  let end = tokens.length;
  while (end > 0 && LEGAL_FORMS.has(tokens[end - 1])) end--;
  return end > 0 ? tokens.slice(0, end) : tokens;
}

/**
 * The normalised form of a name (see the head of this file): lower-case a-z 0-9 tokens separated by one space,
 * at most NORMALIZED_MAX bytes; '' when nothing is left. `type` is a TYPE_* of the protocol, 0 when unknown.
 * Never throws.
 */
export function normalizeName(display: string, type = 0): string {
  if (typeof display !== 'string' || display === '') return '';
  return dropTrailingLegalForms(cut(dropWords(fold(tokensOf(display, type)), type)), type).join(' ');
}

/**
 * A payment party's name as the compliance service screens it: normalised
 * with no type (a party may be a person or a company), its first
 * SEARCH_TOKENS_MAX words (a party's name is what its bank wrote, often with
 * more than a listed name has; the first words are the name). '' when
 * nothing is left or there is no name.
 */
export function partyName(display: string | undefined): string {
  if (display === undefined) return '';
  return normalizeName(display, 0).split(' ').slice(0, SEARCH_TOKENS_MAX).join(' ');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `s` with every lone surrogate made U+FFFD (what a UTF-8 encoder writes for it). */
function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

/** `s` cut to at most `max` UTF-8 bytes at a character boundary (lone surrogates made U+FFFD first). */
export function cutUtf8(s: string, max: number): string {
  const w = wellFormed(s);
  let bytes = 0;
  let end = 0;
  for (const ch of w) {
    const c = ch.codePointAt(0)!;
    const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (bytes + n > max) break;
    bytes += n;
    end += ch.length;
  }
  return w.slice(0, end);
}

/** A name that cannot become a record. */
export class NameError extends Error {
  override name = 'NameError';
  constructor(readonly code: 'empty_name' | 'bad_id' | 'empty_display', readonly list: ListId, readonly entityId: string, detail: string) {
    super(`${list} ${entityId}: ${detail} [${code}]`);
  }
}

const ENTITY_ID = new RegExp(`^[\\x21-\\x7e]{1,${ENTITY_ID_MAX}}$`);

/**
 * Whether a name that normalises to '' is one to show but not screen: the UN's original-script name, or a name
 * written wholly in a script step 4 drops (the UN gives some aliases in Arabic script only). A name with no letter
 * at all ("-", "...") is a list's mistake, not a script, and is refused.
 */
function displayOnly(name: ListName): boolean {
  return name.originalScript === true || /\p{L}/u.test(name.display);
}

/**
 * The name records of one entry, primary name first. A name whose normalised form is empty is left out when it is
 * display only (displayOnly above: `skipped` receives it, if given); any other one refuses the entry with NameError,
 * as does an entity id the protocol cannot carry.
 */
export function nameRecordsOf(entry: ListEntry, skipped?: ListName[]): NameRecord[] {
  if (!ENTITY_ID.test(entry.entityId)) throw new NameError('bad_id', entry.list, entry.entityId, `entity id is not 1..${ENTITY_ID_MAX} printable ASCII characters`);
  const type = typeCode(entry.type);
  const out: NameRecord[] = [];
  for (const name of entry.names) {
    const normalized = normalizeName(name.display, type);
    if (normalized === '') {
      if (displayOnly(name)) {
        skipped?.push(name);
        continue;
      }
      throw new NameError('empty_name', entry.list, entry.entityId, `name ${JSON.stringify(name.display)} has nothing left once normalised`);
    }
    const display = cutUtf8(name.display, DISPLAY_MAX);
    if (display === '') throw new NameError('empty_display', entry.list, entry.entityId, 'a name with no display text');
    out.push({ type, alias: name.alias, weak: name.weak, entityId: entry.entityId, normalized, display });
  }
  if (out.length === 0) throw new NameError('empty_name', entry.list, entry.entityId, 'no name of the entry has anything left once normalised');
  return out;
}

/** Every name record of a list, entry by entry, and the display-only names left out. */
export function recordsOfList(entries: readonly ListEntry[]): { records: NameRecord[]; skipped: number } {
  const records: NameRecord[] = [];
  const skipped: ListName[] = [];
  for (const e of entries) for (const r of nameRecordsOf(e, skipped)) records.push(r);
  return { records, skipped: skipped.length };
}
