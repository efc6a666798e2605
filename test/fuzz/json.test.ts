// Fuzzing the gateway's JSON parser (host/gateway/json.ts) and the JSON to
// ledger translation (host/gateway/ledger-json.ts): the bytes of every HTTP
// body. Proves:
//   - any bytes: parseJson returns a value or throws JsonError with one of the
//     documented codes, never anything else, never a hang;
//   - differential against JSON.parse: a document the strict parser accepts
//     JSON.parse accepts with the same meaning, and a document JSON.parse
//     accepts (valid UTF-8, no BOM, no duplicate keys, no lone surrogates,
//     within the limits) the strict parser accepts too;
//   - ledgerRequestFromJson on generated and mutated bodies returns a payload
//     of exactly header + count records, or throws LedgerJsonError, and what
//     it encodes decodes back to the fields that were sent.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { JsonError, JsonNumber, parseJson, type JsonValue } from '../../host/gateway/json.ts';
import { LedgerJsonError, ledgerRequestFromJson, type LedgerScales } from '../../host/gateway/ledger-json.ts';
import { HEADER_BYTES, RECORD_BYTES, ID_BYTES, readTransfer, readAccount, type OperationName } from '../../host/client/ledger.ts';
import { count, fuzzParams, mutate, mutationArb, printSummary } from './support.ts';

const LIMITS = { depthMax: 8, itemsMax: 64, valuesMax: 2048 };
const CODES = new Set(['invalid_json', 'duplicate_key', 'nesting_too_deep', 'batch_too_large', 'too_many_values']);
const SCALES: LedgerScales = new Map([[1, { assetScale: 2 }], [2, { assetScale: 0 }], [3, { assetScale: 3 }]]);

function parse(bytes: Uint8Array): JsonValue | JsonError {
  count('json');
  try {
    return parseJson(bytes, LIMITS);
  } catch (e) {
    if (!(e instanceof JsonError)) throw new Error(`parseJson threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.ok(CODES.has(e.code), `documented code, got ${e.code}`);
    assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset} inside the body`);
    return e;
  }
}

/** The strict value as plain JavaScript (numbers compared as JSON.parse reads them). */
function plain(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) { const o: Record<string, unknown> = Object.create(null); for (const [k, x] of v) o[k] = plain(x); return o; }
  return v;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) || a === b;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a !== null && typeof a === 'object') {
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return false;
    const ka = Object.keys(a), kb = Object.keys(b as object);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as object, k) && sameValue((a as any)[k], (b as any)[k]));
  }
  return a === b;
}

/** Differential oracle for one document. */
function differential(bytes: Uint8Array): void {
  const strict = parse(bytes);
  let loose: unknown;
  let looseOk = true;
  const text = Buffer.from(bytes).toString('utf8');
  try { loose = JSON.parse(text); } catch { looseOk = false; }
  if (!(strict instanceof JsonError)) {
    assert.ok(looseOk, 'JSON.parse accepts what the strict parser accepts');
    assert.ok(sameValue(plain(strict), loose), 'same meaning as JSON.parse');
    return;
  }
  if (strict.code === 'invalid_json' && looseOk) {
    // Allowed only for the documented refusals JSON.parse lets through.
    const reencoded = Buffer.from(text, 'utf8');
    const lossy = !reencoded.equals(Buffer.from(bytes));
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    const surrogate = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/.test(text);
    assert.ok(lossy || bom || surrogate, `strict parser refused a valid document: ${strict.message} in ${JSON.stringify(text.slice(0, 200))}`);
  }
}

test('valid JSON documents: accepted with JSON.parse\'s meaning, or refused by a limit', () => {
  fc.assert(fc.property(fc.json({ maxDepth: 6 }), (text) => differential(Buffer.from(text, 'utf8'))), fuzzParams(500));
});

test('mutated JSON documents', () => {
  fc.assert(fc.property(fc.json({ maxDepth: 4 }), fc.array(mutationArb(), { minLength: 1, maxLength: 3 }),
    (text, ms) => differential(mutate(Buffer.from(text, 'utf8'), ms))), fuzzParams(500));
});

test('arbitrary bytes and JSON-ish token soup', () => {
  const token = fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', '\\u', 'd800', 'dc00', '0', '-', '1e', '.5', 'true', 'null', ' ', '\n', '\u00e9', '"a"', '"a":1');
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.array(token, { maxLength: 40 }).map((t) => Buffer.from(t.join(''), 'utf8'))),
    (bytes) => differential(bytes)), fuzzParams(800));
});

test('deep nesting and wide arrays stop at the limits', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5000 }), fc.constantFrom('[', '{"a":'), (depth, open) => {
    const close = open === '[' ? ']' : '}';
    const r = parse(Buffer.from(open.repeat(depth) + '1' + close.repeat(depth)));
    if (depth > LIMITS.depthMax) assert.ok(r instanceof JsonError && r.code === 'nesting_too_deep');
    else assert.not.ok(r instanceof JsonError);
  }), fuzzParams(100));
});

// ---- ledger JSON ----

const u128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map(String);
const transferJson = fc.record({
  id: u128, debit_account_id: u128, credit_account_id: u128,
  amount: fc.oneof(u128, fc.constantFrom('0', '01', '-1', '1.0', '1e3', ' 1', '340282366920938463463374607431768211456')),
  amount_decimal: fc.oneof(fc.constantFrom('10.50', '0.01', '1', '0.001', '1e2', '.5', '5.', '-1', ''), fc.stringMatching(/^[0-9]{1,40}(\.[0-9]{0,40})?$/)),
  pending_id: u128, user_data_128: u128, user_data_64: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(String),
  user_data_32: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(-1, 2 ** 32, 1.5)),
  timeout: fc.integer({ min: 0, max: 0xffffffff }),
  ledger: fc.oneof(fc.constantFrom(1, 2, 3, 4), fc.integer({ min: 0, max: 0xffffffff })),
  code: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constant(65536)),
  flags: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.subarray(['linked', 'pending', 'post_pending_transfer', 'void_pending_transfer', 'balancing_debit', 'balancing_credit', 'closing_debit', 'closing_credit', 'imported', 'nope'])),
  unknown_field: fc.constant(1),
}, { requiredKeys: [] });
const accountJson = fc.record({
  id: u128, ledger: fc.integer({ min: 0, max: 0xffffffff }), code: fc.integer({ min: 0, max: 0xffff }),
  user_data_128: u128, flags: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.subarray(['linked', 'debits_must_not_exceed_credits', 'credits_must_not_exceed_debits', 'history', 'imported', 'closed', 'bogus'])),
  debits_posted: u128, timestamp: fc.constantFrom('0', '1'),
}, { requiredKeys: [] });

function translate(operation: OperationName, bytes: Uint8Array, accountId = 0n): void {
  count('ledger-json');
  const body = parse(bytes);
  if (body instanceof JsonError) return;
  let req;
  try {
    req = ledgerRequestFromJson(operation, body, SCALES, accountId);
  } catch (e) {
    if (!(e instanceof LedgerJsonError)) throw new Error(`ledgerRequestFromJson threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.ok(e.code.length > 0 && e.message.length > 0);
    return;
  }
  const itemBytes = operation.startsWith('create_') ? RECORD_BYTES : operation.startsWith('lookup_') ? ID_BYTES : RECORD_BYTES;
  const items = operation.startsWith('get_') ? 1 : req.count;
  assert.is(req.payload.length, HEADER_BYTES + items * itemBytes, 'payload = header + items');
  assert.ok(req.count >= 1);
  const dv = new DataView(req.payload.buffer, req.payload.byteOffset, req.payload.byteLength);
  assert.is(dv.getUint32(4, true), items, 'the header counts the items');
  if (operation === 'create_transfers') {
    const sent = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>[];
    sent.forEach((_, i) => {
      const t = readTransfer(dv, HEADER_BYTES + i * RECORD_BYTES);
      for (const f of ['id', 'debit_account_id', 'credit_account_id', 'pending_id', 'user_data_128', 'user_data_64'] as const) {
        assert.is(String(t[f]), String(sent[i][f] ?? '0').replace(/^0+(?=\d)/, ''), `events[${i}].${f} round trips`);
      }
    });
  }
  if (operation === 'create_accounts') {
    const sent = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>[];
    sent.forEach((_, i) => assert.is(String(readAccount(dv, HEADER_BYTES + i * RECORD_BYTES).id), String(sent[i].id ?? '0').replace(/^0+(?=\d)/, '')));
  }
}

test('generated transfer batches', () => {
  fc.assert(fc.property(fc.array(transferJson, { minLength: 0, maxLength: 6 }), (batch) => translate('create_transfers', Buffer.from(JSON.stringify(batch)))), fuzzParams(800));
});

test('generated account batches and lookups', () => {
  fc.assert(fc.property(fc.array(accountJson, { maxLength: 6 }), fc.array(fc.oneof(u128, fc.constantFrom('x', '', '-0')), { maxLength: 6 }), (accounts, ids) => {
    translate('create_accounts', Buffer.from(JSON.stringify(accounts)));
    translate('lookup_accounts', Buffer.from(JSON.stringify({ ids })));
    translate('lookup_transfers', Buffer.from(JSON.stringify({ ids, extra: 1 })));
  }), fuzzParams(500));
});

test('filters and mutated bodies for every operation', () => {
  const ops: OperationName[] = ['create_accounts', 'create_transfers', 'lookup_accounts', 'lookup_transfers', 'get_account_transfers', 'get_account_balances'];
  const filter = fc.record({ timestamp_min: u128, timestamp_max: u128, limit: fc.integer({ min: -1, max: 9000 }), flags: fc.subarray(['debits', 'credits', 'reversed', 'x']), code: fc.integer({ min: 0, max: 70000 }) }, { requiredKeys: [] });
  fc.assert(fc.property(fc.constantFrom(...ops), fc.oneof(filter, fc.array(transferJson, { maxLength: 3 })), fc.array(mutationArb(), { maxLength: 3 }), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
    (op, body, ms, accountId) => translate(op, mutate(Buffer.from(JSON.stringify(body)), ms), accountId)), fuzzParams(800));
});

test.after(() => printSummary('json'));
test.run();
