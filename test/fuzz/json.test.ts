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
import { JsonError, type JsonValue } from '../../host/gateway/json.ts';
import type { OperationName } from '../../host/client/ledger.ts';
import { LIMITS, parseChecked, differential as differentialOracle, translate as translateOracle } from '../../fuzz/targets/json.ts';
import { count, fuzzParams, mutate, mutationArb, printSummary } from './support.ts';

// The oracles are the fuzz target's (fuzz/targets/json.ts); these properties feed them generated documents.
function parse(bytes: Uint8Array): JsonValue | JsonError {
  count('json');
  return parseChecked(bytes);
}

function differential(bytes: Uint8Array): void {
  count('json');
  differentialOracle(bytes);
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
  const body = parseChecked(bytes);
  if (body instanceof JsonError) return;
  translateOracle(operation, body, bytes, accountId);
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
  const ops: OperationName[] = ['create_accounts', 'create_transfers', 'lookup_accounts', 'lookup_transfers', 'get_account_transfers', 'get_account_balances',
    'query_accounts', 'query_transfers'];
  const filter = fc.record({ timestamp_min: u128, timestamp_max: u128, limit: fc.integer({ min: -1, max: 9000 }), flags: fc.subarray(['debits', 'credits', 'reversed', 'x']), code: fc.integer({ min: 0, max: 70000 }) }, { requiredKeys: [] });
  fc.assert(fc.property(fc.constantFrom(...ops), fc.oneof(filter, fc.array(transferJson, { maxLength: 3 })), fc.array(mutationArb(), { maxLength: 3 }), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
    (op, body, ms, accountId) => translate(op, mutate(Buffer.from(JSON.stringify(body)), ms), accountId)), fuzzParams(800));
});

test.after(() => printSummary('json'));
test.run();
