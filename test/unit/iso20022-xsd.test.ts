// test/unit/iso20022-xsd.test.ts: the ISO 20022 admission check
// (host/payments/xsd.ts over libxml2 in host/native/src/xml.rs). Proves:
// every sample message validates but the one known to be invalid, which is
// refused naming TwnNm; hostile bodies (malformed, unknown or missing
// namespaces, XXE, billion laughs, oversized, too deep, wrong wrapper shapes,
// a bad AppHdr, other encodings, empty, not XML) are each refused with a
// specific error, by the TypeScript pre-check and by the addon alone, and
// nothing reaches stderr; tens of thousands of validations do not leak.
//
// Run: node --import tsx test/unit/iso20022-xsd.test.ts

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkLimits, ISO_MESSAGE_BYTES_MAX } from '../../host/base/limits.ts';
import { nativeAddon, type NativeIsoSchemaSet } from '../../host/devices/block-backend.ts';
import { createIsoValidator, precheckIsoMessage, validateIsoMessage, ISO_ADMISSION_LIMITS, type IsoAdmission } from '../../host/payments/xsd.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/iso20022/', import.meta.url));
const XSD_DIR = fileURLToPath(new URL('../../services/payments/xsd/', import.meta.url));
const ADDON = fileURLToPath(new URL('../../host/native/qenex-native.linux-x64-gnu.node', import.meta.url));
const INVALID_SAMPLE = 'mt101-to-pain.001_pn.01.1.1_A_B.xml';
const ISO = 'urn:iso:std:iso:20022:tech:xsd:';
const { bytesMax, depthMax, errorsMax } = ISO_ADMISSION_LIMITS;

const samples = readdirSync(FIXTURES).filter((name) => name.endsWith('.xml')).sort();
const sample = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const bytes = (text: string) => new TextEncoder().encode(text);

// The parts of one wrapped pacs.008, to build variants from.
const pacs008 = sample('cbprplus_c.105.1.1_pacs.008_AtoB.xml');
const header = pacs008.slice(pacs008.indexOf('<head:AppHdr'), pacs008.indexOf('</head:AppHdr>') + '</head:AppHdr>'.length);
const document = pacs008.slice(pacs008.indexOf('<pacs:Document'), pacs008.indexOf('</pacs:Document>') + '</pacs:Document>'.length);
const envelope = (...parts: string[]) => `<Envelope xmlns="urn:swift:xsd:envelope">\n${parts.join('\n')}\n</Envelope>\n`;
const bare = (inner: string, ns = `${ISO}pacs.008.001.08`) => `<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="${ns}">${inner}</Document>\n`;

function nativeSet(): NativeIsoSchemaSet {
  const IsoSchemaSet = nativeAddon()?.IsoSchemaSet;
  assert.ok(IsoSchemaSet, 'the addon has IsoSchemaSet (make native)');
  const set = new IsoSchemaSet();
  for (const name of readdirSync(XSD_DIR).filter((n) => n.endsWith('.xsd'))) set.add(readFileSync(join(XSD_DIR, name)));
  return set;
}

function refused(result: IsoAdmission): string[] {
  assert.is(result.ok, false, 'refused');
  if (result.ok) return [];
  assert.is(result.reason, 'FF01');
  assert.ok(result.errors.length > 0 && result.errors.length <= errorsMax + 1, 'a refusal says why, briefly');
  return result.errors;
}

test('the limits hold together', () => {
  checkLimits();
  assert.is(bytesMax, ISO_MESSAGE_BYTES_MAX);
  assert.throws(() => createIsoValidator({ limits: { depthMax: 1000 } }), /must be whole numbers from 1 to the defaults/);
});

test('every sample validates, except the pain.001 whose address puts AdrLine before TwnNm', () => {
  assert.is(samples.length, 13, 'the fixtures are all here');
  for (const name of samples) {
    const result = validateIsoMessage(readFileSync(join(FIXTURES, name)));
    if (name === INVALID_SAMPLE) {
      const errors = refused(result);
      assert.ok(errors.every((e) => /^line \d+: Element '\{pain\.001\.001\.09\}TwnNm': This element is not expected/.test(e)), errors.join('\n'));
      assert.is(errors.length, 2, 'both addresses are named');
      continue;
    }
    assert.ok(result.ok, `${name}: ${result.ok ? '' : result.errors.join('; ')}`);
    if (!result.ok) continue;
    assert.ok(name.includes(result.definition.slice(0, 8)), `${name} is a ${result.definition}`);
    assert.is(result.wrapped, !name.startsWith('six_'), `${name}: only the SIX file is a bare Document`);
    if (result.wrapped) assert.is(result.headerNamespace, `${ISO}head.001.001.02`);
  }
});

test('the schemas admitted are exactly the seven QENEX uses', () => {
  const validator = createIsoValidator();
  const want = ['camt.053.001.08', 'camt.054.001.08', 'head.001.001.02', 'pacs.002.001.10', 'pacs.004.001.09', 'pacs.008.001.08', 'pain.001.001.09'];
  assert.equal([...validator.namespaces].sort(), want.map((d) => ISO + d));
});

test('AppHdr and Document are admitted in either order, and a refusal lists at most errorsMax errors then counts', () => {
  const swapped = validateIsoMessage(bytes(envelope(document, header)));
  assert.ok(swapped.ok && swapped.wrapped && swapped.definition === 'pacs.008.001.08');
  const terse = createIsoValidator({ limits: { errorsMax: 1 } }).validate(readFileSync(join(FIXTURES, INVALID_SAMPLE)));
  const errors = refused(terse);
  assert.is(errors.length, 2);
  assert.match(errors[0], /TwnNm/);
  assert.is(errors[1], '... and 1 more errors');
});

// Each hostile body, the error it must be refused with, and whether the
// TypeScript pre-check alone refuses it (the rest need the parser).
const laughs = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`)].join('\n');
const nested = (n: number) => bare(`${'<x>'.repeat(n)}${'</x>'.repeat(n)}`);
const HOSTILE: { name: string; body: Uint8Array; error: RegExp; precheck: boolean }[] = [
  {
    name: 'malformed XML', precheck: false,
    body: bytes(bare('<FIToFICstmrCdtTrf>')),
    error: /^line 2: Opening and ending tag mismatch: FIToFICstmrCdtTrf line 2 and Document/,
  },
  {
    name: 'an undeclared prefix', precheck: false,
    body: bytes('<p:Document xmlns="urn:x"/>'),
    error: /Namespace prefix p on Document is not defined/,
  },
  {
    name: 'an unknown ISO namespace', precheck: false,
    body: bytes(bare('<FIToFICdtTrf/>', `${ISO}pacs.009.001.08`)),
    error: /^line 2: no schema for urn:iso:std:iso:20022:tech:xsd:pacs\.009\.001\.08: pacs\.009\.001\.08 is not admitted \(admitted: .*pacs\.008\.001\.08/,
  },
  {
    name: 'a namespace not ISO', precheck: false,
    body: bytes(bare('', 'urn:example:payments')),
    error: /<Document> is in namespace urn:example:payments, not an ISO 20022 one/,
  },
  {
    name: 'no namespace', precheck: false,
    body: bytes('<Document/>'),
    error: /^line 1: <Document> has no namespace/,
  },
  {
    name: 'a Document not valid', precheck: false,
    body: bytes(bare('<FIToFICstmrCdtTrf><GrpHdr/></FIToFICstmrCdtTrf>')),
    error: /^line 2: Element '\{pacs\.008\.001\.08\}GrpHdr': Missing child element\(s\)/,
  },
  {
    name: 'XXE', precheck: true,
    body: bytes(`<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n${bare('&xxe;').split('\n')[1]}`),
    error: /^line 2: a DOCTYPE declaration: DTDs and entities are refused$/,
  },
  {
    name: 'billion laughs', precheck: true,
    body: bytes(`<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${laughs}\n]>\n<lolz>&lol9;</lolz>`),
    error: /^line 2: a DOCTYPE declaration/,
  },
  {
    name: 'an ENTITY declaration alone', precheck: true,
    body: bytes(`<Document xmlns="${ISO}pacs.008.001.08"><!ENTITY x "y"></Document>`),
    error: /^line 1: an ENTITY declaration/,
  },
  {
    name: 'oversized', precheck: true,
    body: bytes(envelope(header, document) + ' '.repeat(ISO_MESSAGE_BYTES_MAX)),
    error: new RegExp(`^\\d+ bytes: over the limit of ${ISO_MESSAGE_BYTES_MAX} bytes$`),
  },
  {
    name: 'too deep for us', precheck: false,
    body: bytes(nested(depthMax + 10)),
    error: /^line 2: <x> nested deeper than 64 elements$/,
  },
  {
    name: 'too deep for libxml2', precheck: false,
    body: bytes(nested(5000)),
    error: /^line 2: elements nested deeper than 64 \(the parser stopped at its own limit\)$/,
  },
  {
    name: 'a wrapper of three', precheck: false,
    body: bytes(envelope(header, document, '<Extra/>')),
    error: /^line 1: <Envelope> has more than two element children/,
  },
  {
    name: 'a wrapper without AppHdr', precheck: false,
    body: bytes(envelope(document)),
    error: /<Envelope> holds a lone Document: a wrapper holds one AppHdr and one Document/,
  },
  {
    name: 'a wrapper of two Documents', precheck: false,
    body: bytes(envelope(document, document)),
    error: /holds <Document> and <Document>/,
  },
  {
    name: 'an empty root', precheck: false,
    body: bytes('<Envelope/>'),
    error: /<Envelope> is neither a Document nor a wrapper/,
  },
  {
    name: 'an AppHdr not valid', precheck: false,
    body: bytes(envelope(header.replace(/<head:BizMsgIdr>.*<\/head:BizMsgIdr>/, ''), document)),
    error: /Element '\{head\.001\.001\.02\}MsgDefIdr': This element is not expected\. Expected is \( \{head\.001\.001\.02\}BizMsgIdr \)/,
  },
  {
    name: 'an AppHdr naming another message', precheck: false,
    body: bytes(envelope(header.replace('pacs.008.001.08', 'pacs.008.001.09'), document)),
    error: /AppHdr MsgDefIdr "pacs\.008\.001\.09" does not name the Document's message pacs\.008\.001\.08/,
  },
  {
    name: 'an AppHdr in a message namespace', precheck: false,
    body: bytes(envelope(header.replaceAll('head.001.001.02', 'pacs.008.001.08'), document)),
    error: /an AppHdr in the namespace of pacs\.008\.001\.08, not a head\.\* one/,
  },
  {
    name: 'declared ISO-8859-1', precheck: true,
    body: bytes(`<?xml version="1.0" encoding="ISO-8859-1"?>\n${envelope(header, document)}`),
    error: /^line 1: declared encoding "ISO-8859-1": messages are UTF-8$/,
  },
  {
    name: 'UTF-16', precheck: true,
    body: Buffer.from(`\ufeff${envelope(header, document)}`, 'utf16le'),
    error: /^a UTF-16 byte order mark: messages are UTF-8$/,
  },
  {
    name: 'UTF-16 without a byte order mark', precheck: true,
    body: Buffer.from(envelope(header, document), 'utf16le'),
    error: /^line 1: a NUL byte at byte 1: not UTF-8 XML/,
  },
  {
    name: 'bytes not UTF-8', precheck: true,
    body: Uint8Array.of(...bytes('<Document>'), 0xc3, 0x28, ...bytes('</Document>')),
    error: /^(line 1: )?not UTF-8: an invalid byte sequence/,
  },
  {
    name: 'an empty body', precheck: true,
    body: new Uint8Array(0),
    error: /^empty body: an ISO 20022 message is an XML document$/,
  },
  {
    name: 'JSON', precheck: true,
    body: bytes('{"amount": "1.00"}'),
    error: /^not XML: the body begins with "\{\\"amount\\": \\"1\.00"$/,
  },
  {
    name: 'binary bytes', precheck: true,
    body: Uint8Array.from({ length: 512 }, (_, i) => (i * 73 + 41) & 0xff),
    error: /NUL byte|not UTF-8|not XML/,
  },
];

test('hostile bodies are refused with a specific error, by the pre-check and by the addon alone', () => {
  const set = nativeSet();
  for (const { name, body, error, precheck } of HOSTILE) {
    const errors = refused(validateIsoMessage(body));
    assert.ok(errors.some((e) => error.test(e)), `${name}: ${errors.join(' | ')}`);
    assert.not.ok(errors.some((e) => e.includes('root:x:0:0')), `${name}: nothing of /etc/passwd comes back`);
    assert.is(precheckIsoMessage(body) !== null, precheck, `${name}: the pre-check ${precheck ? 'refuses' : 'leaves it to the parser'}`);
    const verdict = set.validate(body, bytesMax, depthMax, errorsMax);
    assert.is(verdict.ok, false, `${name}: the addon refuses it without the pre-check`);
    assert.ok(verdict.errors.some((e) => error.test(e)), `${name} (addon): ${verdict.errors.join(' | ')}`);
  }
});

test('libxml2 writes nothing to stderr, whatever the message', () => {
  // A child process, because libxml2 would write to file descriptor 2 directly.
  const script = `
    const fs = require('node:fs');
    const set = new (require(${JSON.stringify(ADDON)}).IsoSchemaSet)();
    for (const f of fs.readdirSync(${JSON.stringify(XSD_DIR)})) if (f.endsWith('.xsd')) set.add(fs.readFileSync(${JSON.stringify(XSD_DIR)} + f));
    let refusedCount = 0;
    for (const hex of JSON.parse(fs.readFileSync(0, 'utf8'))) refusedCount += set.validate(Buffer.from(hex, 'hex'), ${bytesMax}, ${depthMax}, ${errorsMax}).ok ? 0 : 1;
    process.stdout.write(String(refusedCount));`;
  const input = JSON.stringify([...HOSTILE.map((h) => Buffer.from(h.body).toString('hex')), Buffer.from(sample(INVALID_SAMPLE)).toString('hex')]);
  const child = spawnSync(process.execPath, ['-e', script], { input, encoding: 'utf8' });
  assert.is(child.status, 0, child.stderr);
  assert.is(child.stdout, String(HOSTILE.length + 1), 'every one refused');
  assert.is(child.stderr, '', 'nothing on stderr');
});

test('a schema directory without the header schema, or without schemas, is refused when loaded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qenex-xsd-'));
  try {
    assert.throws(() => createIsoValidator({ xsdDir: dir }), (e: Error & { code?: string }) => e.code === 'ENOSCHEMA' && /no \.xsd files/.test(e.message));
    copyFileSync(join(XSD_DIR, 'pacs.008.001.08.xsd'), join(dir, 'pacs.008.001.08.xsd'));
    assert.throws(() => createIsoValidator({ xsdDir: dir }), /has no schema for urn:iso:std:iso:20022:tech:xsd:head\.001\.001\.02/);
    copyFileSync(join(XSD_DIR, 'pacs.008.001.08.xsd'), join(dir, 'copy.xsd'));
    assert.throws(() => createIsoValidator({ xsdDir: dir }), /pacs\.008\.001\.08.xsd: IsoSchemaSet\.add: urn:iso:std:iso:20022:tech:xsd:pacs\.008\.001\.08 is already loaded/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => nativeSet().add(bytes('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:bogus/></xs:schema>')), /IsoSchemaSet\.add: not a schema/);
});

test('20 000 validations, admitted and refused, leave the resident memory where it was', () => {
  const validator = createIsoValidator();
  const mix = [...samples.map((name) => readFileSync(join(FIXTURES, name))), ...HOSTILE.filter((h) => !h.precheck).map((h) => h.body)];
  const run = (n: number) => {
    let admitted = 0;
    for (let i = 0; i < n; i++) admitted += validator.validate(mix[i % mix.length]).ok ? 1 : 0;
    return admitted;
  };
  run(2_000); // warm: V8's and libxml2's caches reach their working size
  const before = process.memoryUsage.rss();
  const admitted = run(20_000);
  const grownBytes = process.memoryUsage.rss() - before;
  assert.ok(admitted > 0 && admitted < 20_000, 'both kinds ran');
  // A leaked document or context per call would be 20 000 × tens of KB: hundreds of MiB.
  assert.ok(grownBytes < 48 * 1024 * 1024, `resident memory grew by ${(grownBytes / 2 ** 20).toFixed(1)} MiB`);
});

test.run();
