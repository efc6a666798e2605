// test/unit/compliance-lists.test.ts: the sanctions lists' readers
// (host/compliance/lists.ts) on the real files of test/fixtures/sanctions.
// Proves:
//   - OFAC's SDN list (legacy CSV, 2021) reads with exactly the README's
//     counts: 8,976 entries by type, 11,910 aliases on 4,139 entries, 13,837
//     addresses on every entry, 67 program tags; the comments file extends
//     the cut remarks; names as written (primary first, aliases after);
//   - the UN list (XML, 2026-02-27) reads with 1,003 entries (730
//     individuals, 273 entities), primary names from FIRST..FOURTH_NAME in
//     order, 2,752 aliases of which 615 weak (QUALITY Low), 378
//     original-script names;
//   - both lists' versions are the documented digest (SHA-256 of the files'
//     SHA-256 digests, in order), stable, and change with a byte of any file;
//   - every malformed variant (wrong column count, a quote left open, a bare
//     LF, non-ASCII, a cut-off file, an unknown or duplicate id, an unknown
//     type, a DOCTYPE, an ENTITY, broken XML, a missing name, too many names
//     or a file too large) is refused whole with its ListError code, file
//     and line.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIST_FILE_BYTES_MAX, LIST_NAMES_PER_ENTRY_MAX } from '../../host/base/limits.ts';
import { ListError, describeList, listVersion, parseOfacSdn, parseUnList, type ListErrorCode, type OfacFiles } from '../../host/compliance/lists.ts';
import { SANCTIONS_FIXTURES } from '../support/screening-set.ts';

const file = (p: string): Buffer => readFileSync(join(SANCTIONS_FIXTURES, p));
const OFAC = { sdn: file('ofac/sdn.csv'), alt: file('ofac/alt.csv'), add: file('ofac/add.csv'), comments: file('ofac/sdn_comments.csv') } satisfies OfacFiles;
const UN = file('un/UN_consolidated.xml');
const ofac = parseOfacSdn(OFAC);
const un = parseUnList(UN);

const OFAC_VERSION = '6b9a44bd96b3c49e6a3bfbaf9bcb376d31852b5a764748b7a18e8d93090bf182';
const UN_VERSION = '338050514ee29e7189cf1d914ea73f6168e4a8b674383b849f0acb6589a2e149';

function byType(entries: readonly { type: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) out[e.type] = (out[e.type] ?? 0) + 1;
  return out;
}

test('OFAC SDN: the README counts, exactly', () => {
  assert.is(ofac.list, 'ofac_sdn');
  assert.is(ofac.entries.length, 8976);
  assert.equal(byType(ofac.entries), { entity: 3673, individual: 4620, vessel: 406, aircraft: 277 });
  assert.is(ofac.aliases, 11910);
  assert.is(ofac.names, 8976 + 11910);
  assert.is(ofac.addresses, 13837);
  assert.is(ofac.entries.filter((e) => e.names.length > 1).length, 4139);
  assert.ok(ofac.entries.every((e) => e.addresses.length >= 1), 'every SDN has an address');
  const aliasesByType = byType(ofac.entries.flatMap((e) => e.names.slice(1).map(() => ({ type: e.type }))));
  assert.equal(aliasesByType, { entity: 5457, individual: 6272, vessel: 180, aircraft: 1 });
  assert.is(new Set(ofac.entries.flatMap((e) => e.programs)).size, 67);
  assert.is(ofac.entries.filter((e) => e.programs.includes('SDNTK')).length, 1770);
  assert.is(ofac.entries.filter((e) => e.names.some((n) => n.weak)).length, 0, 'alt_remarks is -0- throughout');
  assert.is(ofac.entries.reduce((n, e) => n + e.addresses.filter((a) => a.country === 'Mexico').length, 0), 1746);
});

test('OFAC SDN: entries as written', () => {
  const at = (id: string) => ofac.entries.find((e) => e.entityId === id)!;
  assert.equal(at('36'), {
    list: 'ofac_sdn', entityId: '36', type: 'entity', programs: ['CUBA'], remarks: '',
    names: [{ display: 'AEROCARIBBEAN AIRLINES', alias: false, weak: false }, { display: 'AERO-CARIBBEAN', alias: true, weak: false }],
    addresses: [{ city: 'Havana', country: 'Cuba' }],
  });
  assert.is(at('173').names[0].display, 'ANGLO-CARIBBEAN CO., LTD.');
  assert.equal(at('173').addresses[0], { address: 'Ibex House, The Minories', city: 'London EC3N 1DY', country: 'United Kingdom' });
  assert.is(at('306').remarks, "a.k.a. 'BNC'.");
  assert.is(at('28263').names[0].display, 'TIAN, Yinyin');
  assert.equal(at('28263').programs, ['DPRK3', 'CYBER2']);
  assert.ok(at('28263').remarks.endsWith("hn'; Linked To: LAZARUS GROUP."), 'sdn_comments.csv continues the remarks');
  const multi = ofac.entries.find((e) => e.programs.length > 1 && e.programs.includes('NPWMD'))!;
  assert.ok(multi.programs.every((p) => /^[A-Z0-9-]+$/.test(p)), multi.programs.join('|'));
  // Without the comments file the names are the same and the remarks stop at the cut.
  const bare = parseOfacSdn({ sdn: OFAC.sdn, alt: OFAC.alt, add: OFAC.add });
  assert.is(bare.versionHex, ofac.versionHex);
  assert.is(bare.entries.find((e) => e.entityId === '28263')!.remarks.length, 1000);
});

test('UN: the README counts, exactly', () => {
  assert.is(un.list, 'un');
  assert.is(un.entries.length, 1003);
  assert.equal(byType(un.entries), { individual: 730, entity: 273 });
  const names = un.entries.flatMap((e) => e.names);
  assert.is(names.filter((n) => n.originalScript === true).length, 378);
  assert.is(un.entries.filter((e) => e.type === 'individual').reduce((n, e) => n + e.names.filter((x) => x.alias && !x.originalScript).length, 0), 2139);
  assert.is(un.entries.filter((e) => e.type === 'entity').reduce((n, e) => n + e.names.filter((x) => x.alias && !x.originalScript).length, 0), 613);
  assert.is(un.aliases, 2139 + 613 + 378);
  assert.is(names.filter((n) => n.weak).length, 615);
  assert.is(un.names, 4133);
  assert.is(ofac.names + un.names, 25019, 'names with aliases in all (24,641 without the original-script ones)');
  assert.is(un.entries.filter((e) => e.programs[0] === 'Al-Qaida').length, 341);
  assert.is(new Set(un.entries.map((e) => e.entityId)).size, 1003);
});

test('UN: names in the order the list gives them', () => {
  const at = (id: string) => un.entries.find((e) => e.entityId === id)!;
  assert.equal(at('CDi.001').names, [{ display: 'ERIC BADEGE', alias: false, weak: false }]);
  assert.equal(at('CDi.001').addresses, [{ country: 'Rwanda' }]);
  assert.equal(at('CDi.002').names.map((n) => n.display), ['FRANK KAKOLELE BWAMBALE', 'FRANK KAKORERE', 'FRANK KAKORERE BWAMBALE', 'AIGLE BLANC']);
  const four = un.entries.find((e) => e.names[0].display.split(' ').length >= 4 && e.type === 'individual')!;
  assert.ok(four !== undefined);
  const script = un.entries.find((e) => e.names.some((n) => n.originalScript))!;
  assert.is(script.names[1].originalScript, true);
  assert.ok(/[\u0600-\u06ff]/.test(script.names[1].display), script.names[1].display);
  const weak = un.entries.find((e) => e.names.some((n) => n.weak))!;
  assert.ok(weak.names.filter((n) => n.weak).every((n) => n.alias));
  assert.ok(un.entries.some((e) => e.type === 'entity' && e.entityId.startsWith('QDe.')));
});

test('versions: SHA-256 of the files\' SHA-256 digests, in the documented order; stable hex', () => {
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
  assert.is(ofac.versionHex, createHash('sha256').update(Buffer.concat([sha(OFAC.sdn), sha(OFAC.alt), sha(OFAC.add)])).digest('hex'));
  assert.is(un.versionHex, createHash('sha256').update(sha(UN)).digest('hex'));
  assert.is(ofac.versionHex, OFAC_VERSION);
  assert.is(un.versionHex, UN_VERSION);
  assert.is(Buffer.from(ofac.version).toString('hex'), OFAC_VERSION);
  assert.is(ofac.version.length, 32);
  assert.is(parseOfacSdn(OFAC).versionHex, OFAC_VERSION, 'the same files, the same version');
  assert.is.not(Buffer.from(listVersion([OFAC.alt, OFAC.sdn, OFAC.add])).toString('hex'), OFAC_VERSION, 'order matters');
  const changed = Buffer.from(OFAC.add);
  changed[changed.indexOf('Havana')] = 0x68; // 'havana'
  assert.is.not(parseOfacSdn({ ...OFAC, add: changed }).versionHex, OFAC_VERSION);
  assert.match(describeList(ofac), `ofac_sdn: version ${OFAC_VERSION}, 8976 entries, 20886 names (11910 aliases), 13837 addresses`);
});

/** Asserts that `fn` throws a ListError with this code, file and line. */
function refused(fn: () => unknown, code: ListErrorCode, fileName: string, line: number): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ListError);
    const err = e as ListError;
    assert.equal([err.code, err.file, err.line], [code, fileName, line], err.message);
    assert.ok(err.message.startsWith(`${fileName}:${line}: `), err.message);
    return;
  }
  assert.unreachable(`no ${code} error`);
}

/** The file with line `n` (1-based) replaced by `text` (CRLF kept). */
function withLine(b: Buffer, n: number, text: string): Buffer {
  const lines = b.toString('latin1').split('\r\n');
  lines[n - 1] = text;
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** The file with `rows` appended before its 0x1A. */
function appended(b: Buffer, rows: string): Buffer {
  return Buffer.concat([b.subarray(0, b.length - 1), Buffer.from(rows, 'latin1'), Buffer.from([0x1a])]);
}

const sdnLines = OFAC.sdn.toString('latin1').split('\r\n').length - 1; // 8,976 rows, then the 0x1A
const altLines = OFAC.alt.toString('latin1').split('\r\n').length - 1;

test('OFAC: malformed CSV is refused with its code and line', () => {
  const sdn = (b: Buffer) => () => parseOfacSdn({ ...OFAC, sdn: b });
  refused(sdn(withLine(OFAC.sdn, 3, '306,"BANCO NACIONAL DE CUBA",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')), 'columns', 'sdn.csv', 3);
  refused(sdn(withLine(OFAC.sdn, 4, '424,"BOUTIQUE LA MAISON,-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')), 'quote', 'sdn.csv', 4);
  refused(sdn(withLine(OFAC.sdn, 4, '424,"BOUTIQUE LA MAISON')), 'quote', 'sdn.csv', 4);
  refused(sdn(withLine(OFAC.sdn, 5, '475,"CASA" DE CUBA",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')), 'quote', 'sdn.csv', 5);
  refused(sdn(withLine(OFAC.sdn, 5, '475,CASA "DE" CUBA,-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')), 'quote', 'sdn.csv', 5);
  refused(sdn(withLine(OFAC.sdn, 6, '480,"CÉCOEX, S.A.",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')), 'not_ascii', 'sdn.csv', 6);
  refused(sdn(withLine(OFAC.sdn, 6, '480,"CECOEX,\tS.A.",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')), 'control_character', 'sdn.csv', 6);
  refused(sdn(withLine(OFAC.sdn, 7, '36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')), 'duplicate_id', 'sdn.csv', 7);
  refused(sdn(withLine(OFAC.sdn, 7, 'x36,"A",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')), 'bad_id', 'sdn.csv', 7);
  refused(sdn(withLine(OFAC.sdn, 8, '9999999,"A",person,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')), 'bad_value', 'sdn.csv', 8);
  refused(sdn(withLine(OFAC.sdn, 8, '9999999,-0- ,individual,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')), 'missing_name', 'sdn.csv', 8);
  refused(sdn(Buffer.from(OFAC.sdn.toString('latin1').replace('\r\n', '\n'), 'latin1')), 'line_end', 'sdn.csv', 1);
  refused(sdn(Buffer.from(OFAC.sdn.toString('latin1').replace('\r\n', '\r'), 'latin1')), 'line_end', 'sdn.csv', 1);
  refused(sdn(withLine(OFAC.sdn, 9, '')), 'columns', 'sdn.csv', 9);
  // Cut off mid-record (a download that stopped): the last record has no CRLF.
  const cut = OFAC.sdn.subarray(0, 1000);
  refused(sdn(cut), 'truncated', 'sdn.csv', cut.toString('latin1').split('\n').length);
  refused(sdn(OFAC.sdn.subarray(0, OFAC.sdn.length - 2)), 'truncated', 'sdn.csv', sdnLines);
  // The 0x1A is allowed last only.
  refused(sdn(Buffer.concat([OFAC.sdn, Buffer.from([0x1a])])), 'control_character', 'sdn.csv', sdnLines + 1);
  assert.is(parseOfacSdn({ ...OFAC, sdn: OFAC.sdn.subarray(0, OFAC.sdn.length - 1) }).entries.length, 8976, 'without the 0x1A');
});

test('OFAC: aliases, addresses and comments of entries that do not exist, and ids given twice, are refused', () => {
  refused(() => parseOfacSdn({ ...OFAC, alt: appended(OFAC.alt, '99999999,99999999,"aka","NOBODY",-0- \r\n') }), 'unknown_id', 'alt.csv', altLines + 1);
  refused(() => parseOfacSdn({ ...OFAC, alt: appended(OFAC.alt, '36,12,"aka","AERO-CARIBBEAN",-0- \r\n') }), 'duplicate_id', 'alt.csv', altLines + 1);
  refused(() => parseOfacSdn({ ...OFAC, alt: withLine(OFAC.alt, 2, '173,57,"alias","AVIA IMPORT",-0- ') }), 'bad_value', 'alt.csv', 2);
  refused(() => parseOfacSdn({ ...OFAC, alt: withLine(OFAC.alt, 2, '173,57,"aka",-0- ,-0- ') }), 'missing_name', 'alt.csv', 2);
  refused(() => parseOfacSdn({ ...OFAC, alt: withLine(OFAC.alt, 2, '173,57,"aka","AVIA IMPORT"') }), 'columns', 'alt.csv', 2);
  refused(() => parseOfacSdn({ ...OFAC, add: withLine(OFAC.add, 3, '99999999,129,"Ibex House","London","United Kingdom",-0- ') }), 'unknown_id', 'add.csv', 3);
  refused(() => parseOfacSdn({ ...OFAC, add: withLine(OFAC.add, 3, '173,25,"Ibex House","London","United Kingdom",-0- ') }), 'duplicate_id', 'add.csv', 3);
  refused(() => parseOfacSdn({ ...OFAC, comments: withLine(OFAC.comments, 2, '99999999,"more"') }), 'unknown_id', 'sdn_comments.csv', 2);
  // A weak alias (OFAC's quality note in alt_remarks) is flagged.
  const weak = parseOfacSdn({ ...OFAC, alt: withLine(OFAC.alt, 2, '173,57,"aka","AVIA IMPORT","weak aka"') });
  assert.equal(weak.entries.find((e) => e.entityId === '173')!.names[1], { display: 'AVIA IMPORT', alias: true, weak: true });
});

test('OFAC: bounds (file size, names per entry) refuse hostile input', () => {
  refused(() => parseOfacSdn({ ...OFAC, sdn: new Uint8Array(LIST_FILE_BYTES_MAX + 1) }), 'too_large', 'sdn.csv', 0);
  let rows = '';
  for (let i = 0; i < LIST_NAMES_PER_ENTRY_MAX; i++) rows += `36,${90000000 + i},"aka","NAME ${i}",-0- \r\n`;
  refused(() => parseOfacSdn({ ...OFAC, alt: appended(OFAC.alt, rows) }), 'too_many_names', 'alt.csv', altLines + LIST_NAMES_PER_ENTRY_MAX - 1);
  refused(() => parseOfacSdn({ ...OFAC, sdn: withLine(OFAC.sdn, 2, `173,"${'A'.repeat(70000)}",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- `) }),
    'field_too_long', 'sdn.csv', 2);
  // One line of a million quoted fields: refused at the 13th, in one pass.
  const started = performance.now();
  refused(() => parseOfacSdn({ ...OFAC, sdn: withLine(OFAC.sdn, 2, '"a",'.repeat(1_000_000)) }), 'columns', 'sdn.csv', 2);
  assert.ok(performance.now() - started < 2000, 'linear');
  refused(() => parseOfacSdn({ ...OFAC, sdn: withLine(OFAC.sdn, 2, '173,"ANGLO\rCARIBBEAN",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ') }),
    'quote', 'sdn.csv', 2);
});

/** The UN file with `from` replaced by `to` (first occurrence). */
function unWith(from: string, to: string): Buffer {
  const s = UN.toString('utf8');
  assert.ok(s.includes(from), from);
  return Buffer.from(s.replace(from, to), 'utf8');
}

test('UN: malformed XML is refused with its code and line', () => {
  const decl = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
  refused(() => parseUnList(unWith(decl, `${decl}<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n`)), 'dtd', 'UN_consolidated.xml', 2);
  refused(() => parseUnList(unWith('<INDIVIDUALS>', '<!ENTITY e "x"><INDIVIDUALS>')), 'dtd', 'UN_consolidated.xml', 3);
  refused(() => parseUnList(unWith('<FIRST_NAME>ERIC</FIRST_NAME>', '<FIRST_NAME>ERIC</FIRST>')), 'xml', 'UN_consolidated.xml', 7);
  refused(() => parseUnList(unWith('<FIRST_NAME>ERIC</FIRST_NAME>', '<FIRST_NAME>ERIC &bogus;</FIRST_NAME>')), 'xml', 'UN_consolidated.xml', 7);
  refused(() => parseUnList(UN.subarray(0, 100_000)), 'xml', 'UN_consolidated.xml', UN.subarray(0, 100_000).toString('utf8').split('\n').length);
  refused(() => parseUnList(unWith('<REFERENCE_NUMBER>CDi.002</REFERENCE_NUMBER>', '<REFERENCE_NUMBER>CDi.001</REFERENCE_NUMBER>')),
    'duplicate_id', 'UN_consolidated.xml', 42); // the second <INDIVIDUAL>'s start tag
  refused(() => parseUnList(unWith('<REFERENCE_NUMBER>CDi.001</REFERENCE_NUMBER>', '<REFERENCE_NUMBER/>')), 'bad_id', 'UN_consolidated.xml', 4);
  refused(() => parseUnList(unWith('<REFERENCE_NUMBER>CDi.001</REFERENCE_NUMBER>', `<REFERENCE_NUMBER>${'Q'.repeat(29)}</REFERENCE_NUMBER>`)),
    'bad_id', 'UN_consolidated.xml', 4);
  refused(() => parseUnList(unWith('<FIRST_NAME>ERIC</FIRST_NAME>\n      <SECOND_NAME>BADEGE</SECOND_NAME>', '<FIRST_NAME> </FIRST_NAME>')),
    'missing_name', 'UN_consolidated.xml', 4);
  refused(() => parseUnList(Buffer.from('<?xml version="1.0"?>\n<LIST><INDIVIDUALS/></LIST>\n')), 'structure', 'UN_consolidated.xml', 1);
  refused(() => parseUnList(Buffer.from('<CONSOLIDATED_LIST><INDIVIDUALS/><ENTITIES/></CONSOLIDATED_LIST>')), 'structure', 'UN_consolidated.xml', 0);
  refused(() => parseUnList(new Uint8Array(64 * 1024 * 1024)), 'too_large', 'UN_consolidated.xml', 0);
  let aliases = '';
  for (let i = 0; i < LIST_NAMES_PER_ENTRY_MAX; i++) aliases += `<INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>N ${i}</ALIAS_NAME></INDIVIDUAL_ALIAS>`;
  refused(() => parseUnList(unWith('<INDIVIDUAL_ALIAS>', `${aliases}<INDIVIDUAL_ALIAS>`)), 'too_many_names', 'UN_consolidated.xml', 4);
});

test.run();
