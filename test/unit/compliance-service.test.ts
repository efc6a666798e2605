// test/unit/compliance-service.test.ts: the compliance service
// (services/compliance) against the SDK's fake kernel. Proves: a list loaded
// in several list_names requests and committed is in force (status: version,
// entries, names, time); searches find a name exactly, with its words in
// another order, with a typo, with a transposition, without its middle name,
// and keep to the type filter, the limit and the threshold, one match per
// entry (its best name, an alias included), best first, ties by list then
// entity id; the scores are the formula of services/compliance/assembly/
// match.ts (a reference written here from that comment agrees on many
// pairs); the candidate index scores a small part of a list and still finds
// typos in the first letters and swapped letters in short words, and scores
// no name that holds keys of too few of the query's words; a second load replaces the first only at its
// commit; refusals (names before a begin, a commit short of names or of
// another version, malformed records of every kind, more names than
// names_max or than announced, entries that do not add up) change nothing;
// a search of a full list of the bank's names_max fits the fuel of a
// message; and the same inputs give the same memory.
//
// Normalised text is written by hand here (lower-case tokens): the
// normaliser is host/compliance/names.ts's.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as P from '../../services/compliance/protocol.ts';
import {
  beginReply, beginRequest, commitReply, commitRequest, ComplianceRefusal, listStatusReply, listStatusRequest, nameRecord, namesReply,
  namesRequest, namesRequests, searchReply, searchRequest, type ListLoad, type NameRecord, type SearchQuery, type SearchResult,
} from '../../host/compliance/records.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const WASM = join(ROOT, 'build/services/compliance.wasm');
// The bank image's compliance service: its names_max and memory_pages_max.
const BANK = JSON.parse(readFileSync(join(ROOT, 'images/bank/manifest.json'), 'utf8')).services.find((s: { name: string }) => s.name === 'compliance');
const BANK_NAMES_MAX: number = BANK.config.names_max;
const BANK_PAGES: number = BANK.memory_pages_max;

async function service(namesMax = 8000, threshold?: number): Promise<ServiceHarness> {
  const svc = await ServiceHarness.load(WASM, { name: 'compliance', peers: ['gateway'], caps: ['log', 'time'], memoryPagesMax: BANK_PAGES, messageBytesMax: 1 << 20 });
  svc.init({ names_max: namesMax, ...(threshold !== undefined ? { threshold } : {}) });
  return svc;
}

function call(svc: ServiceHarness, request: Buffer): Buffer {
  const r = svc.request(request);
  assert.ok(r !== null && r.status === 0, 'the service answered with status 0');
  return r!.payload;
}

function version(label: string): Uint8Array {
  return createHash('sha256').update(label).digest();
}

function person(id: string, normalized: string, display: string, more: Partial<NameRecord> = {}): NameRecord {
  return { type: P.TYPE_INDIVIDUAL, alias: false, weak: false, entityId: id, normalized, display, ...more };
}

// The specials: the entries the searches are about.
const SDN: NameRecord[] = [
  person('1001', 'vladimir petrovich ivanov', 'IVANOV, Vladimir Petrovich'),
  person('1001', 'volodya ivanov', 'Volodya IVANOV', { alias: true }),
  person('1001', 'vova', 'Vova', { alias: true, weak: true }),
  person('1002', 'john william smith', 'SMITH, John William'),
  { type: P.TYPE_ENTITY, alias: false, weak: false, entityId: '1003', normalized: 'golden star trading', display: 'GOLDEN STAR TRADING CO., LTD.' },
  { type: P.TYPE_VESSEL, alias: false, weak: false, entityId: '1004', normalized: 'ocean voyager', display: 'OCEAN VOYAGER' },
  { type: P.TYPE_ENTITY, alias: false, weak: false, entityId: '1005', normalized: 'ocean voyager shipping', display: 'Ocean Voyager Shipping LLC' },
  person('1006', 'maria elena gonzalez rodriguez', 'GONZALEZ RODRIGUEZ, María Elena'),
  person('100', 'ahmed hassan ali', 'ALI, Ahmed Hassan'),
  person('20', 'ahmed hassan ali', 'ALI, Ahmed Hassan'),
  { type: P.TYPE_AIRCRAFT, alias: false, weak: false, entityId: '1007', normalized: 'ep tqa', display: 'EP-TQA' },
];
const UN: NameRecord[] = [
  person('QDi.001', 'john william smith', 'John William Smith'),
  person('QDi.002', 'abu bakr al baghdadi', 'Abu Bakr al-Baghdadi'),
];

/** A deterministic filler of plausible names (two or three words of syllables), ids from 5000 up. */
function filler(count: number, seed = 7): NameRecord[] {
  const syll = ['ka', 'ro', 'mi', 'tan', 'sel', 'vor', 'ba', 'den', 'lu', 'shi', 'gar', 'no', 'pe', 'zu', 'fa', 'kim', 'ol', 'rak', 'ti', 'mus',
    'he', 'dra', 'qi', 'wen', 'jo', 'ur', 'bek', 'sa', 'lin', 'go', 'av', 'ish', 'ev', 'ov', 'ez', 'ing', 'ski', 'ul', 'ah', 'er', 'mo', 'kh',
    'ye', 'bu', 'dim', 'ax', 'ny', 'pol', 'cu', 'an', 'iko', 'vi', 'ram', 'ud', 'ja', 'ott', 'sem', 'ya', 'hir', 'ep'];
  let s = seed;
  const rnd = (n: number) => { s = (s * 1103515245 + 12345) % 2147483648; return s % n; };
  const word = () => Array.from({ length: 2 + rnd(2) }, () => syll[rnd(syll.length)]).join('');
  return Array.from({ length: count }, (_, i) => {
    const words = Array.from({ length: 2 + rnd(2) }, word).join(' ');
    return person(String(5000 + i), words, words.toUpperCase());
  });
}

function entriesOf(records: NameRecord[]): number {
  return new Set(records.map((r) => r.entityId)).size;
}

/** Loads `records` as list `list` in requests of `per` names, committed; the load's record. */
function load(svc: ServiceHarness, list: number, records: NameRecord[], label: string, per = 1000): ListLoad {
  const l: ListLoad = { list, version: version(label), entries: entriesOf(records), names: records.length };
  beginReply(call(svc, beginRequest(l)));
  let staged = 0;
  for (const r of namesRequests(records, list, per)) {
    staged = namesReply(call(svc, r));
  }
  assert.is(staged, records.length, 'every name staged');
  assert.is(commitReply(call(svc, commitRequest(l))), records.length, 'every name in force');
  return l;
}

function search(svc: ServiceHarness, q: SearchQuery): SearchResult {
  return searchReply(call(svc, searchRequest(q)));
}

function refused(svc: ServiceHarness, request: Buffer, code: number, why: RegExp, what = ''): void {
  const reply = call(svc, request);
  assert.throws(() => { beginReply(reply); searchReply(reply); }, (e: Error) => e instanceof ComplianceRefusal && e.code === code && why.test(e.message),
    `${what} refused ${code} ${why}: ${reply.toString('latin1', 16)}`);
}

async function loaded(): Promise<{ svc: ServiceHarness; sdn: ListLoad; un: ListLoad }> {
  const svc = await service();
  const sdn = load(svc, P.LIST_OFAC_SDN, [...SDN, ...filler(5000)], 'sdn-1');
  const un = load(svc, P.LIST_UN, UN, 'un-1');
  return { svc, sdn, un };
}

// ---- a reference of the scoring comment (services/compliance/assembly/match.ts), in integers ----

function jaroWinkler(a: string, b: string): number {
  const window = Math.max(0, Math.floor(Math.max(a.length, b.length) / 2) - 1);
  const af = new Array(a.length).fill(false);
  const bf = new Array(b.length).fill(false);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = Math.max(0, i - window); j < Math.min(b.length, i + window + 1); j++) {
      if (!bf[j] && b[j] === a[i]) { af[i] = bf[j] = true; m++; break; }
    }
  }
  if (m === 0) return 0;
  const am = a.split('').filter((_, i) => af[i]);
  const bm = b.split('').filter((_, j) => bf[j]);
  const t2 = am.filter((c, i) => c !== bm[i]).length;
  const [M, T, A, B] = [BigInt(m), BigInt(t2), BigInt(a.length), BigInt(b.length)];
  const jaro = Number((2n * M * M * B + 2n * M * M * A + (2n * M - T) * A * B) * 1000000n / (6n * A * B * M));
  if (jaro < 700000) return jaro;
  let l = 0;
  while (l < 4 && l < a.length && l < b.length && a[l] === b[l]) l++;
  return jaro + Math.floor(l * (1000000 - jaro) / 10);
}

function referenceScore(query: string, name: string): number {
  const q = query.split(' ');
  const n = name.split(' ');
  const s = q.map((x) => n.map((y) => jaroWinkler(x, y)));
  const qu = new Array(q.length).fill(false);
  const nu = new Array(n.length).fill(false);
  let num = 0n;
  for (;;) {
    let best = 0; let bq = -1; let bn = -1;
    for (let i = 0; i < q.length; i++) for (let j = 0; j < n.length; j++) if (!qu[i] && !nu[j] && s[i][j] > best) { best = s[i][j]; bq = i; bn = j; }
    if (bq < 0 || best < 700000) break;
    qu[bq] = nu[bn] = true;
    num += BigInt(q[bq].length) * BigInt(best);
  }
  let den = 0n;
  q.forEach((x, i) => { den += BigInt(x.length) * (qu[i] ? 1000000n : 500000n); });
  n.forEach((y, j) => { if (!nu[j]) den += BigInt(y.length) * 100000n; });
  return Number(num * 1000000n / den);
}

/** The score of `query` against a one-name list holding `name` (threshold 1, so every candidate is answered). */
async function scoreOf(query: string, name: string): Promise<number> {
  const svc = await service(16);
  load(svc, P.LIST_OFAC_SDN, [person('1', name, name)], `one ${name}`);
  const r = search(svc, { normalized: query, threshold: 1 });
  return r.matches.length === 0 ? 0 : r.matches[0].score;
}

// ---- tests ----

test('a list loaded in several requests and committed is in force; status says which', async () => {
  // Proves the staged load end to end: names staged across requests (the reply counts them), nothing in force
  // before the commit, and after it the status record: the version, the entries (ids), the names, the logical time.
  const svc = await service();
  const records = [...SDN, ...filler(3000)];
  const l: ListLoad = { list: P.LIST_OFAC_SDN, version: version('sdn-1'), entries: entriesOf(records), names: records.length };
  beginReply(call(svc, beginRequest(l)));
  const staged = namesRequests(records, P.LIST_OFAC_SDN, 1200).map((r) => namesReply(call(svc, r)));
  assert.equal(staged, [1200, 2400, records.length], 'three requests, staged in order');
  const before = listStatusReply(call(svc, listStatusRequest()));
  assert.equal(before.map((s) => [s.version, s.names, s.staged]), [[null, 0, records.length], [null, 0, 0]], 'staged, nothing in force');
  assert.is(search(svc, { normalized: 'vladimir petrovich ivanov' }).matches.length, 0, 'a staged list answers nothing');
  svc.timeNs = 1_800_000_000_000_000_000n;
  assert.is(commitReply(call(svc, commitRequest(l))), records.length);
  const after = listStatusReply(call(svc, listStatusRequest()));
  assert.equal(after[0], {
    list: 1, version: Buffer.from(l.version).toString('hex'), entries: l.entries, names: records.length, time: 1_800_000_000_000_000_000n, staged: 0,
  });
  assert.equal(after[1].version, null, 'the UN list is untouched');
  assert.is(l.entries, records.length - 2, 'entry 1001 has three names');
});

test('searches: exact, word order, typo, transposition, dropped middle name', async () => {
  // Proves each variant finds the entry, best first, with the score of the formula, and that the exact name scores one.
  const { svc, sdn } = await loaded();
  const top = (q: string) => search(svc, { normalized: q }).matches[0];
  const exact = top('vladimir petrovich ivanov');
  assert.equal([exact.list, exact.entityId, exact.score, exact.display, exact.alias, exact.type], [1, '1001', P.SCORE_ONE, 'IVANOV, Vladimir Petrovich', false, P.TYPE_INDIVIDUAL]);
  assert.is(exact.version, Buffer.from(sdn.version).subarray(0, 4).toString('hex'), 'the version that decided');
  assert.is(top('ivanov vladimir petrovich').score, P.SCORE_ONE, 'word order is free');
  for (const [q, name] of [['vladimir petrovich ivanof', 'typo'], ['vladimri petrovich ivanov', 'transposition'], ['vladimir ivanov', 'dropped middle name'],
    ['bladimir petrovich ivanov', 'typo in the first letter'], ['jon william smyth', 'two typos']] as const) {
    const m = top(q);
    const target = name === 'two typos' ? '1002' : '1001';
    assert.ok(m !== undefined && m.entityId === target, `${name}: ${q} finds ${target}`);
    assert.ok(m.score < P.SCORE_ONE && m.score >= 850000, `${name}: ${m.score} under one, over the threshold`);
    assert.is(m.score, referenceScore(q, m.entityId === '1001' ? 'vladimir petrovich ivanov' : 'john william smith'), `${name}: the formula's score`);
  }
  assert.is(search(svc, { normalized: 'vladimir' }).matches.length, 0, 'a given name alone is no match');
  assert.is(search(svc, { normalized: 'john brown' }).matches.length, 0, 'one word of two is no match');
});

test('the scores are the formula of match.ts, and the figures its comment gives', async () => {
  // Proves the service and a reference written from the comment agree, pair after pair (both integer millionths).
  const figures: [string, string, number][] = [
    ['john smith', 'john william smith', 928], ['jon smyth', 'john smith', 908], ['john william smith', 'john smith', 720], ['john brown', 'john smith', 571],
  ];
  for (const [q, n, thousandths] of figures) {
    const s = await scoreOf(q, n);
    assert.is(s, referenceScore(q, n), `${q} / ${n}`);
    assert.is(Math.round(s / 1000), thousandths, `${q} / ${n}: ${s}`);
  }
  const names = filler(40, 11).map((r) => r.normalized);
  const svc = await service(64);
  load(svc, P.LIST_OFAC_SDN, names.map((n, i) => person(String(i + 1), n, n)), 'reference');
  for (const q of names.slice(0, 10).map((n) => n.split(' ').reverse().join(' ').replace(/a/g, 'e'))) {
    const r = search(svc, { normalized: q, threshold: 1, limit: P.MATCHES_MAX });
    assert.ok(r.matches.length > 0, `${q} scores some name`);
    for (const m of r.matches) assert.is(m.score, referenceScore(q, names[Number(m.entityId) - 1]), `${q} / ${names[Number(m.entityId) - 1]}`);
  }
});

test('type filter, limit and threshold', async () => {
  // Proves the type filter keeps other types out, the limit cuts the answer but the total says how many reached the threshold,
  // and the threshold (given, or the configured default when 0) decides what is answered.
  const { svc } = await loaded();
  const any = search(svc, { normalized: 'ocean voyager' });
  assert.equal(any.matches.map((m) => m.entityId), ['1004', '1005'], 'the vessel, then the company that holds more words');
  assert.equal(search(svc, { normalized: 'ocean voyager', type: P.TYPE_VESSEL }).matches.map((m) => m.entityId), ['1004']);
  assert.equal(search(svc, { normalized: 'ocean voyager', type: P.TYPE_INDIVIDUAL }).matches, []);
  const one = search(svc, { normalized: 'ahmed hassan ali', limit: 1 });
  assert.equal([one.matches.length, one.total], [1, 2], 'one answered of two at the threshold');
  const typo = search(svc, { normalized: 'vladimir petrovich ivanof' }).matches[0].score;
  assert.equal(search(svc, { normalized: 'vladimir petrovich ivanof', threshold: typo + 1 }).matches, [], 'a threshold over the score');
  assert.is(search(svc, { normalized: 'vladimir petrovich ivanof', threshold: typo }).matches.length, 1, 'a threshold at the score');
  assert.is(search(svc, { normalized: 'vladimir ivanov', threshold: 0 }).matches.length, 1, 'the default (850000)');
  const strict = await service(8000, 990000);
  load(strict, P.LIST_OFAC_SDN, SDN, 'strict');
  assert.equal(search(strict, { normalized: 'vladimir ivanov' }).matches, [], 'the configured default decides when the search gives 0');
});

test('one match per entry, its best name; ties by list, then entity id', async () => {
  // Proves aliases do not repeat an entry (the alias that scores best is the one answered, flagged), and the order of equal scores.
  const { svc } = await loaded();
  const alias = search(svc, { normalized: 'volodya ivanov', limit: P.MATCHES_MAX });
  assert.equal(alias.matches.filter((m) => m.entityId === '1001').length, 1, 'entry 1001 once');
  assert.equal([alias.matches[0].entityId, alias.matches[0].display, alias.matches[0].alias, alias.matches[0].score], ['1001', 'Volodya IVANOV', true, P.SCORE_ONE]);
  const weak = search(svc, { normalized: 'vova' }).matches[0];
  assert.equal([weak.entityId, weak.alias, weak.weak], ['1001', true, true], 'a weak alias says so');
  const both = search(svc, { normalized: 'smith john william' });
  assert.equal(both.matches.map((m) => [m.list, m.entityId, m.score]), [[1, '1002', P.SCORE_ONE], [2, 'QDi.001', P.SCORE_ONE]], 'the SDN first');
  assert.equal(search(svc, { normalized: 'ahmed hassan ali' }).matches.map((m) => m.entityId), ['20', '100'], 'a shorter id first: numbers in order');
});

test('the candidate index: a search scores a small part of the list, and a typo in the first letters is still found', async () => {
  // Proves the blocking: the names scored (reply header) are few against 5011 names for typical queries, yet a name whose every
  // word has a typo in its first letters is found by its last ones.
  const { svc } = await loaded();
  const queries = ['vladimir petrovich ivanov', 'maria gonzalez', 'golden star trading', 'abu bakr al baghdadi', 'john smith', 'olga petrova',
    'li wei', 'kwame mensah'];
  const scored = queries.map((q) => search(svc, { normalized: q }).scored);
  const mean = scored.reduce((a, b) => a + b, 0) / scored.length;
  // The filler's words are made of 60 syllables, so its own names share keys far more than real names do: the worst case here.
  const own = search(svc, { normalized: filler(5000)[1234].normalized }).scored;
  console.log(`  names scored of 5013: ${queries.map((q, i) => `${q} ${scored[i]}`).join(', ')} (mean ${mean.toFixed(0)}); a filler name ${own}`);
  for (const [i, n] of scored.entries()) assert.ok(n < 250, `${queries[i]}: ${n} names scored of 5013`);
  assert.ok(mean < 100, `a typical query scores about 1% of the list (${mean})`);
  assert.ok(own < 2500, `a filler name's own syllables: under half the list (${own})`);
  const m = search(svc, { normalized: 'naria elena gonsalez rodriguez' }).matches[0];
  assert.equal(m?.entityId, '1006', 'first letters wrong in two words, found by the others');
  const single = search(svc, { normalized: 'xcean voyager', type: P.TYPE_VESSEL }).matches[0];
  assert.equal(single?.entityId, '1004', 'a typo in the first letter of one word: found by its last letters');
});

test('the candidate index: a name is scored only when it holds keys of enough of the query (or has words with no keys); short words swapped are keys', async () => {
  // Proves search.ts's bar: "vladimir xqzjw" shares only "vladimir" (8 letters of 13) with any name, so at the default
  // threshold no name can reach it and none is scored, while asking for every score (threshold 1) scores them; and that
  // a word of four letters with its first or last two letters swapped ("voav" and "ovva" for VOVA), which shares
  // no prefix, suffix or ends with the listed one, still finds it.
  const { svc } = await loaded();
  const lone = search(svc, { normalized: 'vladimir xqzjw' });
  assert.equal([lone.scored, lone.matches.length], [0, 0], 'one word of two held: nothing scored');
  assert.ok(search(svc, { normalized: 'vladimir xqzjw', threshold: 1 }).scored >= 1, 'threshold 1: every candidate scored');
  assert.ok(search(svc, { normalized: 'vladimir ivanov' }).scored >= 1, 'both words held: scored');
  const vova = search(svc, { normalized: 'voav' }).matches[0];
  assert.equal([vova?.entityId, vova?.score], ['1001', referenceScore('voav', 'vova')], 'the last two letters of a short word swapped');
  const first = search(svc, { normalized: 'ovva' }).matches[0];
  assert.equal([first?.entityId, first?.score], ['1001', referenceScore('ovva', 'vova')], 'the first two letters of a short word swapped');
  // A name's words past the 12th have no keys, so the bar cannot tell what they pair: such a name is scored anyway.
  const long = await service(64);
  const words = 'kozlowski a b c d e f g h i j k vladislav';
  load(long, P.LIST_OFAC_SDN, [person('1', words, 'KOZLOWSKI, Vladislav')], 'long');
  const past = search(long, { normalized: 'kozlowski vladislav' }).matches[0];
  assert.equal([past?.entityId, past?.score], ['1', referenceScore('kozlowski vladislav', words)], 'a query word paired with a name\'s 13th word');
});

test('a second load replaces the first only at its commit', async () => {
  // Proves searches and status during a load see the list in force, the commit swaps whole, and a begin drops what was staged.
  const { svc, sdn } = await loaded();
  const second: NameRecord[] = [person('2001', 'kwame mensah', 'MENSAH, Kwame'), person('2002', 'ivan drago', 'DRAGO, Ivan')];
  const l: ListLoad = { list: P.LIST_OFAC_SDN, version: version('sdn-2'), entries: 2, names: 2 };
  beginReply(call(svc, beginRequest(l)));
  assert.is(namesReply(call(svc, namesRequest(second.slice(0, 1), P.LIST_OFAC_SDN))), 1);
  assert.is(search(svc, { normalized: 'vladimir petrovich ivanov' }).matches[0].entityId, '1001', 'the old list answers during the load');
  assert.equal(search(svc, { normalized: 'kwame mensah' }).matches, [], 'the staged names do not');
  const status = listStatusReply(call(svc, listStatusRequest()))[0];
  assert.equal([status.version, status.staged], [Buffer.from(sdn.version).toString('hex'), 1]);
  // A begin drops the staged name: the load starts again from nothing.
  beginReply(call(svc, beginRequest(l)));
  assert.is(namesReply(call(svc, namesRequest(second, P.LIST_OFAC_SDN))), 2, 'staged from nothing again');
  assert.is(commitReply(call(svc, commitRequest(l))), 2);
  assert.is(search(svc, { normalized: 'kwame mensah' }).matches[0].entityId, '2001');
  assert.equal(search(svc, { normalized: 'vladimir petrovich ivanov' }).matches, [], 'the old list is gone');
  assert.equal(search(svc, { normalized: 'abu bakr al baghdadi' }).matches.map((m) => m.list), [2], 'the UN list untouched');
  // A third load puts the spare index back to use: the first list's area again.
  load(svc, P.LIST_OFAC_SDN, SDN, 'sdn-3');
  assert.is(search(svc, { normalized: 'vladimir petrovich ivanov' }).matches[0].entityId, '1001');
  assert.equal(search(svc, { normalized: 'kwame mensah' }).matches, []);
});

/** Corrupts a byte of a name record inside a list_names request of one record. */
function corrupted(r: NameRecord, edit: (b: Buffer) => void): Buffer {
  const b = namesRequest([r], P.LIST_OFAC_SDN);
  edit(b.subarray(P.HEADER_BYTES));
  return b;
}

test('refusals change nothing: the list in force and what was staged stay', async () => {
  // Proves each refusal's code and reason, and that after all of them the list in force answers as before and the staged
  // load holds what it held (a malformed record stages nothing of its request).
  const { svc, sdn } = await loaded();
  const good = person('3001', 'kwame mensah', 'MENSAH, Kwame');
  const l: ListLoad = { list: P.LIST_OFAC_SDN, version: version('sdn-2'), entries: 2, names: 2 };
  refused(svc, namesRequest([good], P.LIST_OFAC_SDN), P.REFUSED_NO_LOAD, /no load begun/);
  refused(svc, commitRequest(l), P.REFUSED_NO_LOAD, /no load begun/);
  beginReply(call(svc, beginRequest(l)));
  // A good record before a malformed one in the same request: neither staged.
  const mixed = namesRequest([{ ...good, entityId: '3002' }, good], P.LIST_OFAC_SDN);
  mixed[P.HEADER_BYTES + P.NAME_BYTES + P.NAME_TYPE] = 9;
  refused(svc, mixed, P.REFUSED_MALFORMED, /type/);
  assert.is(listStatusReply(call(svc, listStatusRequest()))[0].staged, 0, 'nothing staged from the refused request');
  assert.is(namesReply(call(svc, namesRequest([good], P.LIST_OFAC_SDN))), 1);
  refused(svc, commitRequest(l), P.REFUSED_INCOMPLETE, /before every name/);
  refused(svc, commitRequest({ ...l, version: version('sdn-other') }), P.REFUSED_NO_LOAD, /another version/);
  refused(svc, commitRequest({ ...l, entries: 1 }), P.REFUSED_NO_LOAD, /another version/);
  const malformed: [string, Buffer][] = [
    ['upper case', corrupted(good, (b) => { b[P.NAME_NORMALIZED] = 'K'.charCodeAt(0); })],
    ['punctuation', corrupted(good, (b) => { b[P.NAME_NORMALIZED + 5] = '-'.charCodeAt(0); })],
    ['a double space', namesRequest([{ ...good, normalized: 'kwame x y' }], 1).fill(32, P.HEADER_BYTES + P.NAME_NORMALIZED + 6, P.HEADER_BYTES + P.NAME_NORMALIZED + 7)],
    ['a leading space', corrupted({ ...good, normalized: 'x kwame' }, (b) => { b[P.NAME_NORMALIZED] = 32; })],
    ['a trailing space', corrupted({ ...good, normalized: 'kwame x' }, (b) => { b[P.NAME_NORMALIZED + 6] = 32; })],
    ['normalised length 0', corrupted(good, (b) => { b.fill(0, P.NAME_NORMALIZED, P.NAME_NORMALIZED + 12); b[P.NAME_NORMALIZED_LENGTH] = 0; })],
    ['normalised length over NORMALIZED_MAX', corrupted(good, (b) => { b[P.NAME_NORMALIZED_LENGTH] = P.NORMALIZED_MAX + 1; })],
    ['a byte after the normalised text', corrupted(good, (b) => { b[P.NAME_NORMALIZED + 20] = 'a'.charCodeAt(0); })],
    ['entity id length 0', corrupted(good, (b) => { b.fill(0, P.NAME_ID, P.NAME_ID + 4); b[P.NAME_ID_LENGTH] = 0; })],
    ['entity id length over ENTITY_ID_MAX', corrupted(good, (b) => { b[P.NAME_ID_LENGTH] = P.ENTITY_ID_MAX + 1; })],
    ['a space in the entity id', corrupted(good, (b) => { b[P.NAME_ID + 1] = 32; })],
    ['display length 0', corrupted(good, (b) => { b.fill(0, P.NAME_DISPLAY, P.NAME_DISPLAY + 20); b[P.NAME_DISPLAY_LENGTH] = 0; })],
    ['display length over DISPLAY_MAX', corrupted(good, (b) => { b[P.NAME_DISPLAY_LENGTH] = P.DISPLAY_MAX + 1; })],
    ['a reserved byte', corrupted(good, (b) => { b[P.NAME_DISPLAY_LENGTH + 3] = 1; })],
    ['type 0', corrupted(good, (b) => { b[P.NAME_TYPE] = 0; })],
    ['type 5', corrupted(good, (b) => { b[P.NAME_TYPE] = 5; })],
    ['an unknown flag', corrupted(good, (b) => { b[P.NAME_FLAGS] = 4; })],
    ['weak, not an alias', corrupted(good, (b) => { b[P.NAME_FLAGS] = P.NAME_F_WEAK; })],
  ];
  for (const [what, request] of malformed) refused(svc, request, P.REFUSED_MALFORMED, /compliance: (a name|a weak name)/, what);
  refused(svc, namesRequest([good, good], P.LIST_OFAC_SDN), P.REFUSED_MALFORMED, /more names than list_begin announced/);
  assert.is(listStatusReply(call(svc, listStatusRequest()))[0].staged, 1, 'nothing staged from the refused requests');
  // Entries that do not add up, and one id of two types: refused at commit, the list in force kept.
  assert.is(namesReply(call(svc, namesRequest([{ ...good, normalized: 'kwame mensah junior' }], P.LIST_OFAC_SDN))), 2);
  refused(svc, commitRequest(l), P.REFUSED_MALFORMED, /count of entries/);
  const typed: ListLoad = { ...l, entries: 1 };
  beginReply(call(svc, beginRequest(typed)));
  namesReply(call(svc, namesRequest([good, { ...good, type: P.TYPE_ENTITY }], P.LIST_OFAC_SDN)));
  refused(svc, commitRequest(typed), P.REFUSED_MALFORMED, /two types/);
  // Headers and begins.
  refused(svc, beginRequest({ ...l, version: new Uint8Array(32) }), P.REFUSED_MALFORMED, /zeros/);
  refused(svc, beginRequest({ ...l, entries: 3 }), P.REFUSED_MALFORMED, /at least one name an entry/);
  refused(svc, beginRequest({ ...l, names: 8001, entries: 1 }), P.REFUSED_FULL, /names_max/);
  const header = listStatusRequest();
  header[P.HEADER_LIST] = 1;
  refused(svc, header, P.REFUSED_MALFORMED, /header's list/);
  refused(svc, Buffer.concat([listStatusRequest(), Buffer.alloc(4)]), P.REFUSED_MALFORMED, /length/);
  const op = listStatusRequest();
  op[P.HEADER_OP] = P.Op.check_transfers + 1;
  refused(svc, op, P.REFUSED_MALFORMED, /unknown operation/);
  const reserved = searchRequest({ normalized: 'kwame' });
  reserved[P.HEADER_BYTES + 10] = 1;
  refused(svc, reserved, P.REFUSED_MALFORMED, /search reserved/);
  refused(svc, searchRequest({ normalized: Array.from({ length: 17 }, (_, i) => `w${i}`).join(' ') }), P.REFUSED_MALFORMED, /more than SEARCH_TOKENS_MAX/);
  // The list in force is the first load's, whole.
  const status = listStatusReply(call(svc, listStatusRequest()))[0];
  assert.equal([status.version, status.names, status.staged], [Buffer.from(sdn.version).toString('hex'), sdn.names, 2]);
  assert.is(search(svc, { normalized: 'vladimir petrovich ivanov' }).matches[0].entityId, '1001');
  assert.equal(search(svc, { normalized: 'kwame mensah' }).matches, []);
});

test('a list of the bank\'s names_max: loaded, committed and searched within a message\'s fuel', async () => {
  // Proves the bank image's sizes work: names_max 40000 in the memory_pages_max of the manifest, each request (a list_names of
  // NAMES_PER_REQUEST, the commit that builds the index, a search whose every query word is in every name) within the kernel's
  // default fuel per message; and that no request allocates (the memory does not grow after boot).
  const svc = await service(BANK_NAMES_MAX);
  const pages = svc.memory.buffer.byteLength / 65536;
  const names = filler(BANK_NAMES_MAX, 3).map((r, i) => ({ ...r, normalized: `al ${r.normalized} bin ${i % 7 === 0 ? 'x' : 'abd'}` }));
  load(svc, P.LIST_UN, names, 'big', P.NAMES_PER_REQUEST);
  const worst = search(svc, { normalized: 'al bin abd al bin abd al bin abd al bin abd al bin abd al', limit: P.MATCHES_MAX, threshold: 1 });
  assert.is(worst.scored, BANK_NAMES_MAX, 'every name a candidate');
  assert.is(worst.matches.length, P.MATCHES_MAX);
  assert.is(svc.memory.buffer.byteLength / 65536, pages, 'no page added after boot');
  assert.ok(pages <= BANK_PAGES, `${pages} pages`);
});

test('the same inputs give the same memory', async () => {
  // Proves replay determinism: two services fed the same loads and searches end with the same memory, byte for byte.
  const digests = [];
  for (let run = 0; run < 2; run++) {
    const { svc } = await loaded();
    search(svc, { normalized: 'vladimir ivanov' });
    search(svc, { normalized: 'ocean voyager', type: P.TYPE_VESSEL });
    call(svc, namesRequest([person('9', 'x', 'x')], 1));
    digests.push(svc.stateDigest().toString('hex'));
  }
  assert.is(digests[0], digests[1]);
});

test('name records: display cut at a character boundary; bad records refused by the builder', () => {
  // Proves the host's builder keeps a display of many-byte characters whole and refuses what the service would.
  const r = nameRecord(person('1', 'a', 'é'.repeat(60)));
  assert.is(r[P.NAME_DISPLAY_LENGTH], 112, '56 characters of two bytes');
  const three = nameRecord(person('1', 'a', '€'.repeat(40)));
  assert.is(three[P.NAME_DISPLAY_LENGTH], 111, '37 characters of three bytes, not 37 and a part');
  assert.is(Buffer.from(three.subarray(P.NAME_DISPLAY, P.NAME_DISPLAY + 111)).toString('utf8'), '€'.repeat(37));
  assert.throws(() => nameRecord(person('1', 'Ivanov', 'x')), /normalised/);
  assert.throws(() => nameRecord(person('a b', 'x', 'x')), /entity id/);
  assert.throws(() => nameRecord(person('1', 'x', 'x', { weak: true })), /weak/);
  assert.throws(() => searchRequest({ normalized: 'x', limit: 0 }), /limit/);
});

test.run();
