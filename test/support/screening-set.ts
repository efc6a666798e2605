// test/support/screening-set.ts: a reproducible screening test set built from
// the real sanctions lists (test/fixtures/sanctions), for the name
// normaliser's tests and the compliance service's matcher:
//   positives: real list names (primary names of individuals, entities and
//     vessels, OFAC and UN), each changed the way a payment's party name
//     differs from the list's spelling, with the entry it must find:
//       case_punctuation  case changed, hyphens and dots added or taken out
//       diacritics        accents added (a → á, e → é, n → ñ, ...)
//       word_order        "LAST, First" ↔ "First Last" (individuals)
//       dropped_middle    a middle name left out (individuals of 3+ names)
//       typo_substitution / typo_insertion / typo_deletion   one letter
//       transposition     two adjacent letters swapped
//       transliteration   a name spelled another common way (Mohamed for
//                         Muhammad, Youssef for Yusuf, Sergey for Sergei...)
//       suffix_added / suffix_removed   a company's legal form (entities)
//     `equivalent` lists the other entries with a name that normalises to the
//     same form as the source name (the same person on both lists, or two
//     entries of one name): a matcher that ranks one of them first is right.
//   negatives: clean names (common given names and surnames, invented
//     company names) none of whose normalised forms, nor their tokens in any
//     order, is a list name's.
// Seeded (test/support/prng.ts): the same seed and lists give the same set.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOfacSdn, parseUnList, type ListEntry, type ListId, type ParsedList } from '../../host/compliance/lists.ts';
import { LEGAL_FORMS, normalizeName, typeCode } from '../../host/compliance/names.ts';
import { ROOT } from './helpers.ts';
import { prng } from './prng.ts';

export const SANCTIONS_FIXTURES = join(ROOT, 'test/fixtures/sanctions');

/** The two lists of test/fixtures/sanctions, parsed: [OFAC SDN, UN]. */
export function fixtureLists(): [ParsedList, ParsedList] {
  const f = (p: string) => readFileSync(join(SANCTIONS_FIXTURES, p));
  const ofac = parseOfacSdn({ sdn: f('ofac/sdn.csv'), alt: f('ofac/alt.csv'), add: f('ofac/add.csv'), comments: f('ofac/sdn_comments.csv') });
  return [ofac, parseUnList(f('un/UN_consolidated.xml'))];
}

export type Perturbation =
  | 'case_punctuation' | 'diacritics' | 'word_order' | 'dropped_middle' | 'typo_substitution' | 'typo_insertion' | 'typo_deletion'
  | 'transposition' | 'transliteration' | 'suffix_added' | 'suffix_removed';

export const PERTURBATIONS: readonly Perturbation[] = [
  'case_punctuation', 'diacritics', 'word_order', 'dropped_middle', 'typo_substitution', 'typo_insertion', 'typo_deletion',
  'transposition', 'transliteration', 'suffix_added', 'suffix_removed',
];

export interface ScreeningPositive {
  readonly query: string;
  /** The protocol's TYPE_* when the query says it (left out for about a third of the queries without a comma). */
  readonly type?: number;
  readonly list: ListId;
  readonly entityId: string;
  readonly perturbation: Perturbation;
  /** The list's name it was made from. */
  readonly source: string;
  readonly equivalent: { list: ListId; entityId: string }[];
}

export interface ScreeningNegative {
  readonly query: string;
}

export interface ScreeningSet {
  readonly positives: ScreeningPositive[];
  readonly negatives: ScreeningNegative[];
}

export interface ScreeningOptions {
  readonly seed?: number;
  /** Positives per perturbation (fewer when fewer names qualify). */
  readonly perPerturbation?: number;
  readonly negatives?: number;
}

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];

/** Spellings of one name a payment may use for another (independent of the normaliser's own table). */
const SPELLINGS: readonly (readonly string[])[] = [
  ['MUHAMMAD', 'MOHAMMED', 'MOHAMED', 'MOHAMMAD', 'MUHAMMED', 'MOHAMAD'],
  ['AHMAD', 'AHMED'], ['HUSSEIN', 'HUSAIN', 'HUSSAIN', 'HOSSEIN', 'HUSAYN'], ['HASAN', 'HASSAN'], ['YUSUF', 'YOUSSEF', 'YOUSEF', 'YOUSUF'],
  ['ABDUL', 'ABDEL', 'ABD AL', 'ABD EL'], ['ABDULLAH', 'ABDALLAH', 'ABDULLA'], ['OMAR', 'UMAR'], ['OSAMA', 'USAMA'], ['KHALID', 'KHALED'],
  ['MAHMOUD', 'MAHMUD'], ['MUSTAFA', 'MOSTAFA', 'MOUSTAFA'], ['SAEED', 'SAID'], ['SERGEI', 'SERGEY'], ['YURI', 'YURIY', 'YURY'],
  ['ALEKSANDR', 'ALEXANDER'], ['QAIDA', 'QAEDA'], ['ABU', 'ABOU'],
];

const ACCENTS: Record<string, string> = { a: 'á', e: 'é', i: 'í', o: 'ö', u: 'ü', n: 'ñ', c: 'ç', s: 'š', z: 'ž' };
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const SUFFIXES = ['LTD', 'LLC', 'GmbH', 'S.A.', 'Co., Ltd.', 'Inc.', 'Limited', 'Corporation'];

/** Primary-name sources: [entry, name] of individuals, entities and vessels whose names have some letters. */
function sources(lists: readonly ParsedList[]): ListEntry[] {
  return lists.flatMap((l) => l.entries).filter((e) => e.type !== 'aircraft' && normalizeName(e.names[0].display, typeCode(e.type)).replace(/ /g, '').length >= 6);
}

/** Tokens in reading order ("LAST, First" → First LAST). */
function readingOrder(display: string): string[] {
  const comma = display.indexOf(',');
  const s = comma < 0 ? display : `${display.slice(comma + 1)} ${display.slice(0, comma)}`;
  return s.split(/\s+/).filter((t) => t !== '');
}

function withinToken(rng: Rng, display: string, minLength: number, change: (token: string) => string | null): string | null {
  const tokens = display.split(' ');
  const eligible = tokens.map((t, i) => [t, i] as const).filter(([t]) => /^[A-Za-z]+$/.test(t) && t.length >= minLength);
  if (eligible.length === 0) return null;
  const [t, i] = pick(rng, eligible);
  const changed = change(t);
  if (changed === null || changed === t) return null;
  tokens[i] = changed;
  return tokens.join(' ');
}

function caseOf(sample: string, letter: string): string {
  return sample === sample.toUpperCase() ? letter.toUpperCase() : letter;
}

/** The query for one perturbation of `e`'s primary name, or null when it does not apply. */
function perturb(rng: Rng, e: ListEntry, p: Perturbation): string | null {
  const d = e.names[0].display;
  switch (p) {
    case 'case_punctuation': {
      const words = d.replace(/[-.]/g, ' ').split(/\s+/).filter((w) => w !== '');
      const cased = words.map((w) => (rng() < 0.5 ? w.toLowerCase() : w[0].toUpperCase() + w.slice(1).toLowerCase()));
      return cased.map((w, i) => (i > 0 && rng() < 0.3 ? '-' : i > 0 ? ' ' : '') + w).join('') + (rng() < 0.5 ? '.' : '');
    }
    case 'diacritics': {
      const chars = [...d];
      const at = chars.map((c, i) => [c, i] as const).filter(([c]) => ACCENTS[c.toLowerCase()] !== undefined);
      if (at.length === 0) return null;
      for (let k = 0; k < Math.min(2, at.length); k++) {
        const [c, i] = pick(rng, at);
        chars[i] = caseOf(c, ACCENTS[c.toLowerCase()]);
      }
      return chars.join('');
    }
    case 'word_order': {
      if (e.type !== 'individual') return null;
      const tokens = readingOrder(d);
      if (tokens.length < 2) return null;
      return d.includes(',') ? tokens.join(' ') : `${tokens[tokens.length - 1]}, ${tokens.slice(0, -1).join(' ')}`;
    }
    case 'dropped_middle': {
      const tokens = readingOrder(d);
      if (e.type !== 'individual' || tokens.length < 3) return null;
      const drop = 1 + Math.floor(rng() * (tokens.length - 2));
      return tokens.filter((_, i) => i !== drop).join(' ');
    }
    case 'typo_substitution':
      return withinToken(rng, d, 5, (t) => {
        const i = 1 + Math.floor(rng() * (t.length - 1));
        const c = pick(rng, [...LETTERS].filter((l) => l !== t[i].toLowerCase()));
        return t.slice(0, i) + caseOf(t[i], c) + t.slice(i + 1);
      });
    case 'typo_insertion':
      return withinToken(rng, d, 5, (t) => {
        const i = 1 + Math.floor(rng() * (t.length - 1));
        return t.slice(0, i) + caseOf(t[i], pick(rng, [...LETTERS])) + t.slice(i);
      });
    case 'typo_deletion':
      return withinToken(rng, d, 5, (t) => {
        const i = 1 + Math.floor(rng() * (t.length - 1));
        return t.slice(0, i) + t.slice(i + 1);
      });
    case 'transposition':
      return withinToken(rng, d, 4, (t) => {
        const i = 1 + Math.floor(rng() * (t.length - 2));
        return t[i] === t[i + 1] ? null : t.slice(0, i) + t[i + 1] + t[i] + t.slice(i + 2);
      });
    default:
      return perturbMore(rng, e, p, d);
  }
}

function perturbMore(rng: Rng, e: ListEntry, p: Perturbation, d: string): string | null {
  switch (p) {
    case 'transliteration': {
      for (const group of SPELLINGS) {
        for (const spelling of group) {
          const re = new RegExp(`(^|[\\s,-])${spelling}(?=$|[\\s,-])`, 'i');
          const m = re.exec(d);
          if (m === null) continue;
          const other = pick(rng, group.filter((s) => s !== spelling));
          const start = m.index + m[1].length;
          const written = d.slice(start, start + spelling.length);
          return d.slice(0, start) + (written === written.toUpperCase() ? other : other[0] + other.slice(1).toLowerCase()) + d.slice(start + spelling.length);
        }
      }
      return null;
    }
    case 'suffix_added': {
      if (e.type !== 'entity') return null;
      const words = d.toLowerCase().replace(/[.,]/g, '').split(/\s+/);
      if (words.some((w) => LEGAL_FORMS.has(w))) return null;
      return `${d} ${pick(rng, SUFFIXES)}`;
    }
    case 'suffix_removed': {
      if (e.type !== 'entity') return null;
      const words = d.split(/\s+/);
      const kept = words.filter((w) => !LEGAL_FORMS.has(w.toLowerCase().replace(/[.,]/g, '')));
      while (kept.length > 0 && /^(DE|Y|AND|OF|&)$/i.test(kept[kept.length - 1])) kept.pop();
      if (kept.length === words.length || kept.length === 0) return null;
      return kept.join(' ').replace(/,$/, '');
    }
    default:
      return null;
  }
}

/** Entries by the normalised forms of their names (under each entry's own type). */
function nameIndex(lists: readonly ParsedList[]): Map<string, ListEntry[]> {
  const index = new Map<string, ListEntry[]>();
  for (const e of lists.flatMap((l) => l.entries)) {
    for (const n of e.names) {
      const key = normalizeName(n.display, typeCode(e.type));
      if (key === '') continue;
      const at = index.get(key) ?? [];
      if (!at.includes(e)) at.push(e);
      index.set(key, at);
    }
  }
  return index;
}

function positives(rng: Rng, lists: readonly ParsedList[], perPerturbation: number, index: Map<string, ListEntry[]>): ScreeningPositive[] {
  const pool = sources(lists);
  const out: ScreeningPositive[] = [];
  for (const p of PERTURBATIONS) {
    const seen = new Set<ListEntry>();
    for (let tries = 0; seen.size < perPerturbation && tries < perPerturbation * 200; tries++) {
      const e = pick(rng, pool);
      if (seen.has(e)) continue;
      const query = perturb(rng, e, p);
      if (query === null || query === e.names[0].display) continue;
      seen.add(e);
      const source = e.names[0].display;
      const equivalent = (index.get(normalizeName(source, typeCode(e.type))) ?? [])
        .filter((x) => x !== e).map((x) => ({ list: x.list, entityId: x.entityId }));
      const typed = query.includes(',') || rng() < 2 / 3;
      out.push({ query, ...(typed ? { type: typeCode(e.type) } : {}), list: e.list, entityId: e.entityId, perturbation: p, source, equivalent });
    }
  }
  return out;
}

const GIVEN = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan',
  'Thomas', 'Jessica', 'Charles', 'Sarah', 'Daniel', 'Karen', 'Matthew', 'Nancy', 'Anthony', 'Lisa', 'Mark', 'Betty', 'Emma', 'Olivia', 'Lukas',
  'Sophie', 'Pierre', 'Camille', 'Giulia', 'Marco', 'Ingrid', 'Lars', 'Hannah', 'Oliver', 'Chloe', 'Henrik',
];
const FAMILY = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor', 'Thomas', 'Moore', 'Martin', 'Thompson',
  'White', 'Harris', 'Clark', 'Lewis', 'Walker', 'Hall', 'Young', 'Allen', 'Wright', 'Scott', 'Green', 'Baker', 'Adams', 'Nelson', 'Mueller',
  'Schmidt', 'Dubois', 'Lefebvre', 'Rossi', 'Bianchi', 'Johansson', 'Lindqvist', 'Jensen', 'Murphy', 'Kelly', 'Fischer',
];
const COMPANY_WORDS = [
  'Blue', 'River', 'Maple', 'Harbor', 'Summit', 'Golden', 'Meadow', 'Silver', 'Oak', 'Bright', 'Northern', 'Cedar', 'Willow', 'Granite', 'Lakeside',
  'Bakery', 'Consulting', 'Dental', 'Landscaping', 'Bookshop', 'Plumbing', 'Veterinary', 'Florist', 'Bicycles', 'Software', 'Catering', 'Pottery',
];

function negatives(rng: Rng, count: number, index: Map<string, ListEntry[]>): ScreeningNegative[] {
  const sorted = new Set([...index.keys()].map((k) => k.split(' ').sort().join(' ')));
  const out: ScreeningNegative[] = [];
  const seen = new Set<string>();
  for (let tries = 0; out.length < count && tries < count * 50; tries++) {
    const r = rng();
    const query = r < 0.45 ? `${pick(rng, GIVEN)} ${pick(rng, FAMILY)}`
      : r < 0.6 ? `${pick(rng, FAMILY).toUpperCase()}, ${pick(rng, GIVEN)} ${pick(rng, GIVEN.slice(0, 20))[0]}.`
        : `${pick(rng, COMPANY_WORDS)} ${pick(rng, COMPANY_WORDS)} ${pick(rng, COMPANY_WORDS)} ${pick(rng, SUFFIXES)}`;
    const forms = [0, 1, 2].map((t) => normalizeName(query, t));
    if (seen.has(query) || forms.some((f) => index.has(f) || sorted.has(f.split(' ').sort().join(' ')))) continue;
    seen.add(query);
    out.push({ query });
  }
  return out;
}

/** The screening set of `lists` (default: both fixture lists) for `seed`. */
export function screeningSet(lists: readonly ParsedList[] = fixtureLists(), options: ScreeningOptions = {}): ScreeningSet {
  const rng = prng(options.seed ?? 18);
  const index = nameIndex(lists);
  return { positives: positives(rng, lists, options.perPerturbation ?? 25, index), negatives: negatives(rng, options.negatives ?? 200, index) };
}
