// test/integration/compliance.test.ts: sanctions screening through a booted
// bank image over real TCP (issue 18). Proves: `qenex lists import --data`
// loads the UN list into a stopped system and `--url` the OFAC SDN list into a
// running one, each printing the import contract's line (the version is the
// SHA-256 of the files' digests, computed here independently); both are in
// force (GET /v1/compliance/lists); POST /v1/screening/search finds real
// listed people and entities from perturbed names (word order, diacritics, a
// typo) with the list's own id, honours type and limit, and refuses bad names
// with a clear error; only admin and operator load lists; a malformed list
// file is refused before the log and the list in force stays; a replay of the
// log reaches the same state hash.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall, bankManifestUnlimited, event, makeImage, removeDir, runCli, Server, stopAndReplay, type TestImage } from '../support/helpers.ts';

const FIXTURES = join(new URL('..', import.meta.url).pathname, 'fixtures', 'sanctions');
const SDN = join(FIXTURES, 'ofac', 'sdn.csv');
const ALT = join(FIXTURES, 'ofac', 'alt.csv');
const ADD = join(FIXTURES, 'ofac', 'add.csv');
const UN = join(FIXTURES, 'un', 'UN_consolidated.xml');

let img: TestImage;
let data: string;
let server: Server;
let base: string;
const keys: Record<string, string> = {};

/** The list version as the import contract defines it: SHA-256 of the files' SHA-256 digests, in order. */
function versionOf(paths: string[]): string {
  const outer = createHash('sha256');
  for (const p of paths) outer.update(createHash('sha256').update(readFileSync(p)).digest());
  return outer.digest('hex');
}

function cliKey(args: string[]): string {
  const r = runCli(['keys', 'create', '--data', data, ...args]);
  assert.is(r.code, 0, r.stderr);
  return (event(r.events, 'key_created') as { key: string }).key;
}

const call = (method: string, path: string, key: string | null, body?: unknown) => apiCall(base, method, path, key, body);

const search = (body: unknown, key = keys.teller) => call('POST', '/v1/screening/search', key, body);

test.before(async () => {
  const manifest = bankManifestUnlimited();
  img = makeImage('compliance', manifest);
  data = join(img.dir, 'data');
  const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
  assert.is(first.code, 0, first.stderr);
  keys.admin = cliKey(['--role', 'admin']);
  keys.operator = cliKey(['--role', 'operator']);
  keys.teller = cliKey(['--role', 'teller', '--ledger', '1']);
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

test('qenex lists import --data loads the UN list into a stopped system and prints the contract line', () => {
  const r = runCli(['lists', 'import', '--data', data, '--trust', img.pubPath, '--list', 'un', '--file', UN]);
  assert.is(r.code, 0, r.stderr);
  const line = event(r.events, 'list_imported') as any;
  assert.equal([line.list, line.version, line.entries], ['un', versionOf([UN]), 1003], JSON.stringify(line));
  assert.ok(line.names > 3000, `every primary name and alias with something to screen: ${line.names}`);
});

test('qenex lists import --url loads the OFAC SDN list into the running system; both lists are in force', async () => {
  server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
  base = `http://127.0.0.1:${(await server.address()).port}`;
  const r = runCli(['lists', 'import', '--url', base, '--key', keys.operator, '--list', 'ofac_sdn', '--sdn', SDN, '--alt', ALT, '--add', ADD]);
  assert.is(r.code, 0, r.stderr);
  const line = event(r.events, 'list_imported') as any;
  assert.equal([line.list, line.version, line.entries], ['ofac_sdn', versionOf([SDN, ALT, ADD]), 8976], JSON.stringify(line));
  const status = await call('GET', '/v1/compliance/lists', keys.admin);
  assert.is(status.status, 200, status.text);
  assert.equal(status.json.lists.map((l: any) => [l.list, l.version, l.entries]), [
    ['ofac_sdn', versionOf([SDN, ALT, ADD]), 8976], ['un', versionOf([UN]), 1003],
  ]);
  assert.is((await call('GET', '/v1/compliance/lists', keys.teller)).status, 403, 'list status is for admins and operators');
});

test('screening finds listed names from perturbed spellings, with the list\'s own id, best first', async () => {
  const exact = await search({ name: 'Manuel Antonio Noriega' });
  assert.is(exact.status, 200, exact.text);
  assert.equal([exact.json.matches[0].list, exact.json.matches[0].entity_id, exact.json.matches[0].name], ['ofac_sdn', '1572', 'NORIEGA, Manuel Antonio']);
  assert.ok(exact.json.matches[0].score > 0.95, `score ${exact.json.matches[0].score}`);
  const typo = await search({ name: 'NORIEGA, Manuel Antnio', type: 'individual' });
  assert.is(typo.json.matches[0]?.entity_id, '1572', `a typo still finds him: ${typo.text}`);
  const un = await search({ name: 'Mahfouz Ould al Walid' });
  assert.ok(un.json.matches.some((m: any) => m.list === 'un' && m.entity_id === 'QDi.015'), `the UN's QDi.015: ${un.text}`);
  const diacritics = await search({ name: 'Banco Nacional de Cúba', type: 'entity' });
  assert.is(diacritics.json.matches[0]?.entity_id, '306', diacritics.text);
  for (let i = 1; i < exact.json.matches.length; i++) assert.ok(exact.json.matches[i - 1].score >= exact.json.matches[i].score, 'best first');
  const one = await search({ name: 'Noriega', limit: 1 });
  assert.ok(one.json.matches.length <= 1);
  const vessels = await search({ name: 'Manuel Antonio Noriega', type: 'vessel' });
  assert.ok(vessels.json.matches.every((m: any) => m.type === 'vessel'), 'the type filter holds');
  const clean = await search({ name: 'Johanna Whitfield-Osei' });
  assert.equal(clean.json.matches, [], `a name on no list: ${clean.text}`);
});

test('bad names and bodies are refused with a clear error, nothing searched', async () => {
  const cases: [unknown, number, string][] = [
    [{ name: '' }, 400, 'invalid_field'], [{ name: 'x'.repeat(513) }, 400, 'name_too_long'], [{ name: '\u0000\u0007\u001b' }, 400, 'invalid_name'],
    [{ name: '...---' }, 400, 'invalid_name'], [{ name: 'Noriega', limit: 0 }, 400, 'invalid_field'], [{ name: 'Noriega', limit: 101 }, 400, 'invalid_field'],
    [{ name: 'Noriega', type: 'ship' }, 400, 'invalid_field'], [{ name: 'Noriega', extra: 1 }, 400, 'invalid_field'], [{ name: 42 }, 400, 'invalid_field'],
    [{ name: Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ') }, 400, 'name_too_long'],
  ];
  for (const [body, status, code] of cases) {
    const r = await search(body);
    assert.equal([r.status, r.json?.error?.code], [status, code], `${JSON.stringify(body).slice(0, 80)}: ${r.text.slice(0, 200)}`);
  }
  assert.is((await search({ name: 'Noriega' }, 'not-a-key')).status, 401);
  const mixed = await search({ name: 'Manuel Антонио Noriega' });
  assert.is(mixed.status, 200, 'mixed scripts: the Latin part is screened');
});

test('only admin and operator load lists; a malformed list is refused before the log and the list in force stays', async () => {
  const b64 = (p: string) => readFileSync(p).toString('base64');
  const teller = await call('POST', '/v1/compliance/lists', keys.teller, { list: 'un', files: { file: b64(UN) } });
  assert.is(teller.status, 403, teller.text);
  const broken = readFileSync(SDN).toString('latin1').replace('"NORIEGA, Manuel Antonio"', '"NORIEGA, Manuel Antonio');
  const bad = await call('POST', '/v1/compliance/lists', keys.admin, {
    list: 'ofac_sdn', files: { sdn: Buffer.from(broken, 'latin1').toString('base64'), alt: b64(ALT), add: b64(ADD) },
  });
  assert.equal([bad.status, bad.json?.error?.code], [400, 'invalid_list'], bad.text.slice(0, 300));
  assert.match(bad.json.error.message, /sdn\.csv:44:/, 'the file and line');
  const missing = await call('POST', '/v1/compliance/lists', keys.admin, { list: 'ofac_sdn', files: { sdn: b64(SDN), alt: b64(ALT) } });
  assert.equal([missing.status, missing.json?.error?.code], [400, 'invalid_field']);
  const status = await call('GET', '/v1/compliance/lists', keys.operator);
  assert.is(status.json.lists[0].version, versionOf([SDN, ALT, ADD]), 'the list in force stays');
  assert.is((await search({ name: 'Manuel Antonio Noriega' })).json.matches[0].entity_id, '1572');
});

test('replay of the log reaches the same state hash: the lists are loaded again, the same', async () => {
  const { stopped, replayed } = await stopAndReplay(server, data);
  assert.is(replayed, stopped);
});

test.run();
