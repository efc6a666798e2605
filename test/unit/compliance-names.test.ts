// test/unit/compliance-names.test.ts: the name normaliser and the name
// records (host/compliance/names.ts), with real names of the OFAC and UN
// lists (test/fixtures/sanctions) and the screening set
// (test/support/screening-set.ts). Proves:
//   - each rule of the normaliser on list names: diacritics, case and
//     punctuation, "SURNAME, Given" put in reading order for individuals
//     (and UN names, given names first, left as they are), legal forms and
//     stop words of entities, transliteration variants, the Arabic article,
//     Cyrillic and Greek spelt out, other scripts dropped, queries of no
//     type, the cut at NORMALIZED_MAX bytes on a token boundary;
//   - every name of both lists normalises to the protocol's alphabet and
//     length, and is a fixed point (normalising again changes nothing);
//   - on any string (lone surrogates, control characters, mixed scripts,
//     megabytes) it never throws, answers in the alphabet and bounds, and
//     is a fixed point (fast-check);
//   - name records: the protocol's fields and bounds (display cut at a UTF-8
//     character boundary), display-only names left out, a name that
//     normalises to nothing and an id too long refused with NameError;
//   - the screening set is reproducible and what it claims: 25 positives per
//     perturbation of real entries, negatives that are no list's name, and
//     the perturbations the normaliser is meant to absorb (diacritics, word
//     order, transliteration, a typed suffix added) absorbed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { NAME_INPUT_CHARS_MAX } from '../../host/base/limits.ts';
import type { ListEntry } from '../../host/compliance/lists.ts';
import { NameError, cutUtf8, nameRecordsOf, normalizeName, recordsOfList, typeCode } from '../../host/compliance/names.ts';
import { DISPLAY_MAX, NORMALIZED_MAX, TYPE_AIRCRAFT, TYPE_ENTITY, TYPE_INDIVIDUAL, TYPE_VESSEL } from '../../services/compliance/protocol.ts';
import { PERTURBATIONS, fixtureLists, screeningSet } from '../support/screening-set.ts';

const [ofac, un] = fixtureLists();
const ALPHABET = /^[a-z0-9]+( [a-z0-9]+)*$/;
const I = TYPE_INDIVIDUAL;
const E = TYPE_ENTITY;

function valid(s: string): boolean {
  return s === '' || (ALPHABET.test(s) && s.length <= NORMALIZED_MAX);
}

test('diacritics, case and punctuation', () => {
  assert.is(normalizeName('JÉRÔME KAKWAVU BUKANDE', I), 'jerome kakwavu bukande');
  assert.is(normalizeName('GÉDÉON KYUNGU MUTANGA WA BAFUNKWA KANONGA', I), 'gedeon kyungu mutanga wa bafunkwa kanonga');
  assert.is(normalizeName('ESTÊVÃO NA MENA', I), 'estevao na mena');
  assert.is(normalizeName('Idriça Djaló', I), 'idrica djalo');
  assert.is(normalizeName('AERO-CARIBBEAN', E), 'aero caribbean');
  assert.is(normalizeName('“Chief Kahwa”', I), 'chief kahwa');
  assert.is(normalizeName("Dr. Adib Sha’ban", I), 'dr adib shaban', 'apostrophes and full stops join');
  assert.is(normalizeName("AL-YAFI'I, Nashwan al-Wali", I), 'nashwan wali yafii');
  assert.is(normalizeName('ＡＢＣ　ＳＨＩＰＰＩＮＧ', E), 'abc shipping', 'full-width forms (NFKD)');
  assert.is(normalizeName('Straße Łódź Ørsted Æther', E), 'strasse lodz orsted aether');
});

test('"SURNAME, Given Names" of individuals is put in reading order; UN names are already', () => {
  assert.is(normalizeName('TIAN, Yinyin', I), 'yinyin tian');
  assert.is(normalizeName('BAHENA MARTINEZ, Rogelio', I), 'rogelio bahena martinez');
  assert.is(normalizeName('MAKENGA, Colonel SULTANI', I), 'colonel sultani makenga');
  assert.is(normalizeName('ERIC BADEGE', I), 'eric badege', 'UN: given names first, left alone');
  assert.is(normalizeName('Eric Badege', I), normalizeName('BADEGE, Eric', I));
  // Only individuals: an entity's comma is punctuation.
  assert.is(normalizeName('CECOEX, S.A.', E), 'cecoex');
  assert.is(normalizeName('TIAN, Yinyin', 0), 'tian yinyin', 'a query of no type is taken as written');
  // Both lists' spelling of the same person meet (OFAC surname first, UN given names first).
  const ofacName = ofac.entries.find((e) => e.entityId === '30219')!;
  assert.is(ofacName.names[0].display, 'AL-BAGHDADI, Hassan');
  assert.is(normalizeName(ofacName.names[0].display, I), 'hasan baghdadi');
  assert.is(normalizeName('Hassan Al-Baghdadi', I), 'hasan baghdadi');
  assert.is(normalizeName('ABU BAKR AL-BAGHDADI', I), 'abu bakr baghdadi');
});

test('entities: legal forms and stop words dropped (anywhere), unless nothing would be left', () => {
  assert.is(normalizeName('ANGLO-CARIBBEAN CO., LTD.', E), 'anglo caribbean');
  assert.is(normalizeName('BANCO NACIONAL DE CUBA', E), 'banco nacional cuba');
  assert.is(normalizeName('NATIONAL BANK OF CUBA', E), 'national bank cuba');
  assert.is(normalizeName('THE ISLAMIC ARMY FOR THE LIBERATION OF THE HOLY PLACES', E), 'islamic army liberation holy places');
  assert.is(normalizeName('CONSTRUCTORA VANIA, S.A. DE C.V.', E), 'constructora vania');
  assert.is(normalizeName('SUPREME SHIPPING COMPANY LIMITED', E), 'supreme shipping');
  assert.is(normalizeName('Acme Holdings L.L.C.', E), 'acme holdings');
  assert.is(normalizeName('HOME AND AWAY LTD.', E), 'home away');
  assert.is(normalizeName('THE BASE', E), 'base');
  assert.is(normalizeName('THE COMPANY', E), 'the company', 'nothing left: the tokens stay');
  // Vessels and aircraft are entities here.
  assert.is(normalizeName('THE SEA OF LIFE', TYPE_VESSEL), 'sea life');
  assert.is(normalizeName('EP-AGA', TYPE_AIRCRAFT), 'ep aga');
  // Individuals keep their particles; a query of no type drops legal forms at the end only.
  assert.is(normalizeName('DE LA CRUZ, Juan', I), 'juan de la cruz');
  assert.is(normalizeName('Juan de la Cruz', 0), 'juan de la cruz');
  assert.is(normalizeName('Anglo-Caribbean Co., Ltd.', 0), 'anglo caribbean');
  assert.is(normalizeName('Co Ltd', 0), 'co ltd');
});

test('transliteration variants: one spelling', () => {
  const same = (names: string[], type: number, expected: string) => {
    for (const n of names) assert.is(normalizeName(n, type), expected, n);
  };
  same(['Mohammed Ali', 'Muhammad Ali', 'Mohamed Ali', 'Mohammad Ali', 'Muhammed Ali', 'MOHAMAD ALI'], I, 'muhammad ali');
  same(['Abdul Rahman', 'Abd al-Rahman', 'Abd el Rahman', 'Abdel Rahman', 'ABD AL RAHMAN', 'Abdal Rahman'], I, 'abdul rahman');
  same(['Hussein Kamel', 'Husain Kamel', 'Hussain Kamel', 'Hossein Kamel'], I, 'husayn kamel');
  same(['Yusuf Omar', 'Youssef Umar', 'Yousef Omar'], I, 'yusuf umar');
  same(['Osama bin Laden', 'Usama bin Laden', 'USAMA IBN LADEN'], I, 'usama bin laden');
  same(['Sergei Ivanov', 'Sergey Ivanov', 'Сергей Иванов'], I, 'sergei ivanov');
  assert.is(normalizeName('SHALAN, Abd Al Nur Ali', I), 'abdul nur ali shalan');
  assert.is(normalizeName("'Abd Al-Rahim Ba'asyir", I), 'abdul rahim baasyir');
  assert.is(normalizeName('ALHMIDAN, Mohamad Alsaied', I), 'muhammad alsaied alhmidan');
  assert.is(normalizeName('AKMAN, Saeed', I), 'said akman');
  // The article "al"/"el" before another name goes; alone or last it stays.
  same(["AL QA'IDA", 'AL QAEDA', 'AL-QAIDA', 'Al Qaida'], E, 'qaida');
  assert.is(normalizeName('AL-FAQIH, Saad', I), 'saad faqih');
  assert.is(normalizeName('Jaysh Khalid Ibn al Waleed', E), 'jaysh khalid bin waleed');
  assert.is(normalizeName('Ali Al', I), 'ali al');
});

test('non-Latin scripts: Cyrillic and Greek spelt out, others dropped', () => {
  assert.is(normalizeName('Лавров Сергей Викторович', I), 'lavrov sergei viktorovich');
  assert.is(normalizeName('Шойгу, Сергей Кужугетович', I), 'sergei kuzhugetovich shoigu');
  assert.is(normalizeName('Αθήνα Ναυτιλιακή', E), 'athina naytiliaki');
  assert.is(normalizeName('صدام حسين التكريتي', I), '', 'Arabic script: dropped');
  assert.is(normalizeName('朝鲜联合机械贸易会社', E), '');
  assert.is(normalizeName('KIM 김정은 Jong Un', I), 'kim jong un', 'mixed scripts keep the Latin part');
  // UN original-script names: the Cyrillic ones normalise, the Arabic and Chinese ones are display only.
  const scripts = un.entries.flatMap((e) => e.names.filter((n) => n.originalScript).map((n) => normalizeName(n.display, typeCode(e.type))));
  assert.is(scripts.length, 378);
  assert.ok(scripts.filter((s) => s !== '').every(valid));
});

test('cut to NORMALIZED_MAX bytes at a token boundary', () => {
  const long = Array.from({ length: 40 }, (_, i) => `name${i}`).join(' ');
  const n = normalizeName(long, I);
  assert.ok(n.length <= NORMALIZED_MAX && n.length > NORMALIZED_MAX - 8, `${n.length}`);
  assert.ok(long.startsWith(n + ' '), 'a prefix of whole tokens');
  assert.is(normalizeName('x'.repeat(500), I), 'x'.repeat(NORMALIZED_MAX), 'one longer token is cut');
  assert.is(normalizeName(`${'a'.repeat(NORMALIZED_MAX - 4)} ltd ${'b'.repeat(10)}`, 0), 'a'.repeat(NORMALIZED_MAX - 4), 'no type: a legal form left last by the cut goes');
  const longest = [...ofac.entries, ...un.entries].flatMap((e) => e.names).reduce((a, b) => (b.display.length > a.display.length ? b : a));
  assert.ok(longest.display.length > NORMALIZED_MAX, longest.display);
});

test('every name of both lists: the alphabet, the bounds, a fixed point', () => {
  let names = 0;
  for (const e of [...ofac.entries, ...un.entries]) {
    const type = typeCode(e.type);
    for (const n of e.names) {
      const once = normalizeName(n.display, type);
      assert.ok(valid(once), `${e.entityId} ${n.display} → ${once}`);
      assert.is(normalizeName(once, type), once, `${e.entityId} ${n.display}`);
      names++;
    }
  }
  assert.is(names, 25019);
});

// Characters a hostile or careless caller may send: any UTF-16 unit (lone surrogates, controls, every script),
// and pieces the rules act on, so that the properties reach them.
const PIECES = [',', ' ', '.', "'", '-', 'al', 'el', 'abd', 'abdel', 'ltd', 'co', 'the', 'de', 'mohammed', 'ß', 'Й', 'é', '\u0301', '\u0000', '\uD800', '\uDC00', '，'];
const hostile = fc.string({
  unit: fc.oneof(fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), fc.constantFrom(...PIECES), fc.constantFrom(...'abcxyz019 ')),
  maxLength: 200,
});
const types = fc.constantFrom(0, TYPE_INDIVIDUAL, TYPE_ENTITY, TYPE_VESSEL, TYPE_AIRCRAFT, 7, -1);

test('never throws on any string; the alphabet, the bounds and a fixed point hold (property)', () => {
  fc.assert(fc.property(hostile, types, (s, t) => {
    const once = normalizeName(s, t);
    return valid(once) && normalizeName(once, t) === once;
  }), { numRuns: 20_000, seed: 18 });
  for (const s of ['', ' ', '\u0000\u0001\u001f', '\uD800', '\uDFFF\uD800', ',', ', ,', '...', '\u200b\u200d\ufeff', '🙂🙂', 'a\u0300\u0301\u0302']) {
    for (const t of [0, I, E]) assert.ok(valid(normalizeName(s, t)), JSON.stringify(s));
  }
  assert.is(normalizeName(undefined as unknown as string), '');
  assert.is(normalizeName(42 as unknown as string), '');
});

test('huge input: bounded work, the first NAME_INPUT_CHARS_MAX units read', () => {
  const huge = 'Mohammed '.repeat(200_000);
  const started = performance.now();
  const n = normalizeName(huge, I);
  assert.ok(performance.now() - started < 1000, 'well under a second');
  assert.ok(valid(n) && n.startsWith('muhammad muhammad'));
  assert.is(normalizeName('a'.repeat(NAME_INPUT_CHARS_MAX) + ' b', I), 'a'.repeat(NORMALIZED_MAX));
});

test('name records: the protocol\'s fields and bounds', () => {
  const entry = ofac.entries.find((e) => e.entityId === '36')!;
  assert.equal(nameRecordsOf(entry), [
    { type: TYPE_ENTITY, alias: false, weak: false, entityId: '36', normalized: 'aerocaribbean airlines', display: 'AEROCARIBBEAN AIRLINES' },
    { type: TYPE_ENTITY, alias: true, weak: false, entityId: '36', normalized: 'aero caribbean', display: 'AERO-CARIBBEAN' },
  ]);
  const weak = un.entries.find((e) => e.names.some((n) => n.weak))!;
  assert.ok(nameRecordsOf(weak).some((r) => r.weak && r.alias && r.type === TYPE_INDIVIDUAL));
  const made = (names: ListEntry['names'], entityId = 'QDi.999'): ListEntry =>
    ({ list: 'un', entityId, type: 'individual', names, programs: [], addresses: [], remarks: '' });
  const long = 'É'.repeat(100); // 200 bytes of UTF-8
  const [r] = nameRecordsOf(made([{ display: long, alias: false, weak: false }]));
  assert.is(r.display, 'É'.repeat(DISPLAY_MAX / 2));
  assert.is(cutUtf8('ab€', 4), 'ab', 'not in the middle of a 3-byte character');
  assert.is(cutUtf8('a🙂', 4), 'a');
  assert.is(cutUtf8('a\uD800b', 4), 'a\uFFFD', 'a lone surrogate counts as the U+FFFD an encoder writes');
  // Display-only names are left out; a name with nothing left and no letter is refused; so is an id too long.
  const script = made([{ display: 'ERIC', alias: false, weak: false }, { display: 'صدام', alias: true, weak: false }]);
  const skipped: ListEntry['names'] = [];
  assert.is(nameRecordsOf(script, skipped).length, 1);
  assert.is(skipped.length, 1);
  assert.throws(() => nameRecordsOf(made([{ display: 'ERIC', alias: false, weak: false }, { display: '- . -', alias: true, weak: false }])),
    (e: unknown) => e instanceof NameError && e.code === 'empty_name' && e.message.includes('QDi.999'));
  assert.throws(() => nameRecordsOf(made([{ display: 'صدام', alias: false, weak: false }])), (e: unknown) => e instanceof NameError && e.code === 'empty_name');
  assert.throws(() => nameRecordsOf(made([{ display: 'ERIC', alias: false, weak: false }], 'Q'.repeat(29))), (e: unknown) => e instanceof NameError && e.code === 'bad_id');
});

test('name records of both lists: 24,644, 375 display-only names left out', () => {
  const a = recordsOfList(ofac.entries);
  const b = recordsOfList(un.entries);
  assert.is(a.records.length, 20886);
  assert.is(a.skipped, 0);
  assert.is(b.records.length + b.skipped, 4133);
  assert.is(b.skipped, 375, '366 of the 378 original-script names and 9 aliases written in Arabic or Chinese script only');
  for (const r of [...a.records, ...b.records]) {
    assert.ok(ALPHABET.test(r.normalized) && r.normalized.length <= NORMALIZED_MAX);
    assert.ok(r.display !== '' && Buffer.byteLength(r.display) <= DISPLAY_MAX);
  }
});

test('the screening set: reproducible, real, and what the normaliser absorbs', () => {
  const lists = [ofac, un];
  const set = screeningSet(lists);
  assert.equal(screeningSet(lists), set, 'same seed, same set');
  assert.not.equal(screeningSet(lists, { seed: 19 }).positives.map((p) => p.query), set.positives.map((p) => p.query));
  const entries = new Map([...ofac.entries, ...un.entries].map((e) => [`${e.list}:${e.entityId}`, e]));
  for (const p of PERTURBATIONS) assert.is(set.positives.filter((x) => x.perturbation === p).length, 25, p);
  assert.ok(new Set(set.positives.map((p) => p.list)).size === 2, 'both lists');
  for (const p of set.positives) {
    const e = entries.get(`${p.list}:${p.entityId}`);
    assert.ok(e !== undefined && e.names[0].display === p.source, p.query);
    assert.is.not(p.query, p.source);
  }
  const absorbed = (kind: string) => set.positives.filter((p) => p.perturbation === kind).every((p) =>
    normalizeName(p.query, p.type ?? 0) === normalizeName(p.source, typeCode(entries.get(`${p.list}:${p.entityId}`)!.type)));
  for (const kind of ['diacritics', 'word_order', 'transliteration']) assert.ok(absorbed(kind), kind);
  assert.is(set.negatives.length, 200);
  const listNames = new Set([...ofac.entries, ...un.entries].flatMap((e) => e.names.map((n) => normalizeName(n.display, typeCode(e.type)))));
  for (const n of set.negatives) for (const t of [0, I, E]) assert.not.ok(listNames.has(normalizeName(n.query, t)), n.query);
});

test.run();
