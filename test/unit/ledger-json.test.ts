// test/unit/ledger-json.test.ts: the gateway's strict JSON parser and the
// JSON <-> ledger binary conversions (host/gateway/json.ts, ledger-json.ts).
//
// Requests are checked by decoding the binary payload they produce with the
// ledger codec's own readers; replies are built with its writers, so both
// directions meet the real wire format.
//
// Run: node --import tsx test/unit/ledger-json.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AccountFilterFlags, AccountFlags, BATCH_EVENTS_MAX, HEADER_BYTES, Operation, QueryFilterFlags, QUERY_FILTER_BYTES,
  RECORD_BYTES, TransferFlags, U128_MAX,
  account, readAccount, readTransfer, transfer, writeAccount, writeTransfer,
  type Account, type AccountBalance, type Transfer,
} from '../../host/client/ledger.ts';
import * as p from '../../services/ledger/protocol.ts';
import { JsonError, JsonNumber, invalidUtf8Offset, parseJson, type JsonValue } from '../../host/gateway/json.ts';
import {
  LedgerJsonError, LedgerReplyError, accountsFromJson, amountFromDecimal, decimalFromMinor, filterFromJson, idsFromJson,
  ledgerReplyToJson, ledgerRequestFromJson, queryFromJson, readU128, readU64, readUint, transfersFromJson,
  type LedgerScales,
} from '../../host/gateway/ledger-json.ts';

// ---- helpers ----

const LIMITS = { depthMax: 16, itemsMax: BATCH_EVENTS_MAX, valuesMax: BATCH_EVENTS_MAX * 32 };
const LEDGERS: LedgerScales = new Map([[840, { assetScale: 2, currency: 'USD' }], [392, { assetScale: 0, currency: 'JPY' }],
  [414, { assetScale: 3, currency: 'KWD' }], [7, { assetScale: 38 }]]);

function json(text: string): JsonValue {
  return parseJson(Buffer.from(text, 'utf8'), LIMITS);
}

/** Runs `body`, expects a LedgerJsonError or JsonError with `code` and a message matching `message`. */
function refused(body: () => unknown, code: string, message?: RegExp): void {
  try {
    body();
  } catch (e) {
    if (!(e instanceof LedgerJsonError) && !(e instanceof JsonError)) throw e;
    assert.is(e.code, code, `code for: ${e.message}`);
    if (message !== undefined) assert.match(e.message, message);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

function oneTransfer(fields: string, ledgers = LEDGERS): Transfer {
  return transfersFromJson(json(`[{${fields}}]`), ledgers)[0];
}

function oneAccount(fields: string): Account {
  return accountsFromJson(json(`[{${fields}}]`))[0];
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function createResults(results: readonly [number, bigint][]): Uint8Array {
  const bytes = new Uint8Array(results.length * 16);
  results.forEach(([result, timestamp], i) => {
    view(bytes).setUint32(i * 16, result, true);
    view(bytes).setBigUint64(i * 16 + 8, timestamp, true);
  });
  return bytes;
}

function recordsReply<T>(records: readonly T[], write: (v: DataView, offset: number, r: T) => void): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + records.length * RECORD_BYTES);
  view(bytes).setUint32(0, records.length, true);
  records.forEach((r, i) => write(view(bytes), HEADER_BYTES + i * RECORD_BYTES, r));
  return bytes;
}

function writeBalance(v: DataView, offset: number, b: AccountBalance): void {
  const put128 = (at: number, x: bigint) => {
    v.setBigUint64(offset + at, x & ((1n << 64n) - 1n), true);
    v.setBigUint64(offset + at + 8, x >> 64n, true);
  };
  put128(0, b.debits_pending);
  put128(16, b.debits_posted);
  put128(32, b.credits_pending);
  put128(48, b.credits_posted);
  v.setBigUint64(offset + 64, b.timestamp, true);
}

// ---- the JSON parser ----

test('parser: reads every JSON type, keeps numbers as text and objects as Maps', () => {
  // Proves the parser's values: numbers are never floats, "__proto__" is a plain key.
  const value = json(' {"a": [1, -0.5e+3, "x\\u00e9\\ud83d\\ude00\\n"], "__proto__": null, "t": true, "f": false} ');
  assert.ok(value instanceof Map);
  const a = (value as Map<string, JsonValue>).get('a') as JsonValue[];
  assert.equal((a[0] as JsonNumber).text, '1');
  assert.equal((a[1] as JsonNumber).text, '-0.5e+3');
  assert.is(a[2], 'x\u00e9\u{1F600}\n');
  assert.is((value as Map<string, JsonValue>).get('__proto__'), null);
  assert.equal([...(value as Map<string, JsonValue>).keys()], ['a', '__proto__', 't', 'f']);
  assert.is(json('"é"'), 'é');
});

test('parser: invalid JSON is invalid_json with the byte position', () => {
  // Proves the grammar is strict (no trailing commas, leading zeros, single quotes, NaN...) and positions are bytes.
  refused(() => json('[1,]'), 'invalid_json', /at byte 3/);
  refused(() => json('{"a":1,}'), 'invalid_json', /at byte 7/);
  refused(() => json('[01]'), 'invalid_json', /leading zero/);
  refused(() => json("{'a':1}"), 'invalid_json', /at byte 1/);
  refused(() => json('[NaN]'), 'invalid_json');
  refused(() => json('[1.]'), 'invalid_json');
  refused(() => json('[.5]'), 'invalid_json');
  refused(() => json('[1e]'), 'invalid_json');
  refused(() => json('"a\tb"'), 'invalid_json', /control character/);
  refused(() => json('"\\x"'), 'invalid_json', /invalid escape/);
  refused(() => json('"\\ud800"'), 'invalid_json', /surrogate/);
  refused(() => json('"\\udc00"'), 'invalid_json', /surrogate/);
  refused(() => json('"abc'), 'invalid_json', /unterminated/);
  refused(() => json('[1] 2'), 'invalid_json', /after the JSON value/);
  refused(() => json(''), 'invalid_json', /empty body/);
  refused(() => json('  '), 'invalid_json', /empty body/);
  refused(() => json('[tru]'), 'invalid_json');
  refused(() => json('"é" x'), 'invalid_json', /at byte 5/); // é is two bytes
});

test('parser: duplicate keys are refused, also when spelled with escapes', () => {
  // Proves two readers can never disagree about which of two values counts.
  refused(() => json('{"amount":"1","amount":"2"}'), 'duplicate_key', /"amount" at byte 14/);
  refused(() => json('{"a":1,"\\u0061":2}'), 'duplicate_key');
  assert.ok(json('[{"a":1},{"a":2}]')); // the same key in two objects is fine
});

test('parser: invalid UTF-8, a BOM, deep nesting and too many values or items are refused', () => {
  // Proves the parser's bounds and its UTF-8 check (overlong, surrogate, truncated, above U+10FFFF).
  const bad = (bytes: number[]) => parseJson(Uint8Array.from(bytes), LIMITS);
  refused(() => bad([0x22, 0xc3, 0x28, 0x22]), 'invalid_json', /UTF-8 at byte 1/);
  refused(() => bad([0x22, 0xc0, 0xaf, 0x22]), 'invalid_json', /UTF-8/); // overlong '/'
  refused(() => bad([0x22, 0xed, 0xa0, 0x80, 0x22]), 'invalid_json', /UTF-8/); // encoded surrogate
  refused(() => bad([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), 'invalid_json', /UTF-8/); // above U+10FFFF
  refused(() => bad([0x22, 0xe2, 0x82]), 'invalid_json', /UTF-8 at byte 1/); // truncated
  assert.is(invalidUtf8Offset(Buffer.from('aé€😀', 'utf8')), -1);
  refused(() => bad([0xef, 0xbb, 0xbf, 0x5b, 0x5d]), 'invalid_json', /byte order mark/);
  assert.ok(json('['.repeat(16) + ']'.repeat(16)));
  refused(() => json('['.repeat(17) + ']'.repeat(17)), 'nesting_too_deep');
  refused(() => json('{"a":'.repeat(17) + '1' + '}'.repeat(17)), 'nesting_too_deep');
  refused(() => parseJson(Buffer.from('[1,2,3]'), { ...LIMITS, itemsMax: 2 }), 'batch_too_large');
  refused(() => parseJson(Buffer.from('[[1],[2]]'), { ...LIMITS, valuesMax: 4 }), 'too_many_values');
});

// ---- field types ----

test('u128 and u64 fields: decimal strings only, in range', () => {
  // Proves every non-canonical spelling of an integer is refused and the bounds are exact.
  assert.is(readU128('0', 'f'), 0n);
  assert.is(readU128('340282366920938463463374607431768211455', 'f'), U128_MAX);
  assert.is(readU128('0007', 'f'), 7n);
  assert.is(readU64('18446744073709551615', 'f'), (1n << 64n) - 1n);
  for (const bad of ['340282366920938463463374607431768211456', '+1', ' 1', '1 ', '1.0', '1e3', '0x10', '-1', '', '١']) {
    refused(() => readU128(bad, 'events[3].amount'), 'invalid_field',
      /^events\[3\]\.amount: must be a decimal string of an unsigned integer below 2\^128$/);
  }
  refused(() => readU64('18446744073709551616', 'x'), 'invalid_field', /below 2\^64/);
  refused(() => readU128(new JsonNumber('5'), 'x'), 'invalid_field'); // a JSON number never holds a u128
  refused(() => readU128(null, 'x'), 'invalid_field');
  refused(() => readU128('9'.repeat(1000), 'x'), 'invalid_field');
});

test('u32 and u16 fields: JSON integers in range', () => {
  // Proves the bounds of u32/u16 and that strings, fractions, exponents and negatives are refused.
  assert.is(readUint(new JsonNumber('4294967295'), 'f', 0xffffffff), 4294967295);
  assert.is(readUint(new JsonNumber('65535'), 'f', 0xffff), 65535);
  assert.is(readUint(new JsonNumber('0'), 'f', 0xffff), 0);
  for (const bad of ['4294967296', '-1', '1.0', '1e2', '-0', '12345678901']) {
    refused(() => readUint(new JsonNumber(bad), 'events[0].ledger', 0xffffffff), 'invalid_field', /^events\[0\]\.ledger: .*u32/);
  }
  refused(() => readUint(new JsonNumber('65536'), 'events[0].code', 0xffff), 'invalid_field', /u16/);
  refused(() => readUint('1', 'events[0].code', 0xffff), 'invalid_field');
  refused(() => oneAccount('"ledger": 4294967296'), 'invalid_field', /events\[0\]\.ledger/);
  refused(() => oneAccount('"code": 65536'), 'invalid_field', /events\[0\]\.code/);
  refused(() => oneTransfer('"timeout": -1'), 'invalid_field', /events\[0\]\.timeout/);
});

test('accounts: every field lands in its place; omitted fields are zero', () => {
  // Proves the JSON names map to the right record fields by decoding the encoded payload.
  const body = json(`[{"id":"340282366920938463463374607431768211454","debits_pending":"1","debits_posted":"2",
    "credits_pending":"3","credits_posted":"4","user_data_128":"5","user_data_64":"6","user_data_32":7,
    "ledger":8,"code":9,"flags":["linked","history"],"timestamp":"10"}, {}]`);
  const request = ledgerRequestFromJson('create_accounts', body, LEDGERS);
  assert.is(request.count, 2);
  assert.is(request.payload[0], Operation.create_accounts);
  assert.is(view(request.payload).getUint32(4, true), 2);
  const a = readAccount(view(request.payload), HEADER_BYTES);
  assert.equal(a, {
    id: U128_MAX - 1n, debits_pending: 1n, debits_posted: 2n, credits_pending: 3n, credits_posted: 4n,
    user_data_128: 5n, user_data_64: 6n, user_data_32: 7, reserved: 0, ledger: 8, code: 9,
    flags: AccountFlags.linked | AccountFlags.history, timestamp: 10n,
  });
  const zero = readAccount(view(request.payload), HEADER_BYTES + RECORD_BYTES);
  assert.equal(zero, account({ id: 0n, ledger: 0, code: 0 }));
});

test('transfers: every field lands in its place', () => {
  // Proves the transfer field mapping through the real binary layout.
  const body = json(`[{"id":"1","debit_account_id":"2","credit_account_id":"3","amount":"1050","pending_id":"4",
    "user_data_128":"5","user_data_64":"6","user_data_32":7,"timeout":8,"ledger":9,"code":10,
    "flags":["pending","linked"],"timestamp":"11"}]`);
  const request = ledgerRequestFromJson('create_transfers', body, LEDGERS);
  assert.is(request.payload[0], Operation.create_transfers);
  assert.equal(readTransfer(view(request.payload), HEADER_BYTES), {
    id: 1n, debit_account_id: 2n, credit_account_id: 3n, amount: 1050n, pending_id: 4n, user_data_128: 5n,
    user_data_64: 6n, user_data_32: 7, timeout: 8, ledger: 9, code: 10,
    flags: TransferFlags.pending | TransferFlags.linked, timestamp: 11n,
  });
});

test('accounts: reserved is read and sent to the ledger, which answers a non-zero one with reserved_field', () => {
  // Proves `reserved` is a known account field (u32, in its place in the record), not refused as
  // unknown: the ledger's own answer (test/ledger/results.test.ts, and over HTTP in
  // test/integration/reads.test.ts) is TigerBeetle's reserved_field.
  const request = ledgerRequestFromJson('create_accounts', json('[{"id":"1","ledger":1,"code":1,"reserved":7}]'), LEDGERS);
  assert.is(readAccount(view(request.payload), HEADER_BYTES).reserved, 7);
  assert.is(view(request.payload).getUint32(HEADER_BYTES + p.ACCOUNT_RESERVED, true), 7);
  assert.is(oneAccount('"reserved":0').reserved, 0);
  refused(() => oneAccount('"reserved":4294967296'), 'invalid_field', /events\[0\]\.reserved: .*u32/);
  refused(() => oneAccount('"reserved":"1"'), 'invalid_field', /events\[0\]\.reserved/);
});

test('query filters: every field in its place; omitted is zero; flags by name or bits; limit bounded', () => {
  // Proves the QueryFilter JSON of POST /v1/accounts/query and /v1/transfers/query: each field lands
  // at its protocol offset in a one-filter request of the right operation, defaults (zero fields,
  // limit 8189, no flags), and the refusals with their codes (unknown field, unknown flag, bad types, limit).
  const f = queryFromJson(json(`{"user_data_128":"7","user_data_64":"8","user_data_32":9,"ledger":10,"code":11,
    "timestamp_min":"5","timestamp_max":"6","limit":12,"flags":["reversed"]}`));
  assert.equal(f, {
    user_data_128: 7n, user_data_64: 8n, user_data_32: 9, ledger: 10, code: 11, timestamp_min: 5n, timestamp_max: 6n,
    limit: 12, flags: QueryFilterFlags.reversed,
  });
  assert.equal(queryFromJson(json('{}')), {
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, ledger: 0, code: 0, timestamp_min: 0n, timestamp_max: 0n,
    limit: BATCH_EVENTS_MAX, flags: 0,
  });
  assert.is(queryFromJson(json('{"flags":1}')).flags, QueryFilterFlags.reversed);
  assert.is(queryFromJson(json('{"flags":6}')).flags, 6, 'unknown bits pass: the ledger answers an empty list');
  for (const [operation, code] of [['query_accounts', Operation.query_accounts], ['query_transfers', Operation.query_transfers]] as const) {
    const request = ledgerRequestFromJson(operation, json(`{"user_data_128":"${U128_MAX}","user_data_64":"8","user_data_32":9,
      "ledger":10,"code":11,"timestamp_min":"5","timestamp_max":"6","limit":3,"flags":["reversed"]}`), LEDGERS);
    const v = view(request.payload);
    assert.is(request.payload.length, HEADER_BYTES + QUERY_FILTER_BYTES);
    assert.equal([request.payload[0], v.getUint32(4, true), request.count], [code, 1, 3]);
    const at = HEADER_BYTES;
    assert.is(v.getBigUint64(at + p.QUERY_USER_DATA_128, true) | (v.getBigUint64(at + p.QUERY_USER_DATA_128 + 8, true) << 64n), U128_MAX);
    assert.is(v.getBigUint64(at + p.QUERY_USER_DATA_64, true), 8n);
    assert.equal([v.getUint32(at + p.QUERY_USER_DATA_32, true), v.getUint32(at + p.QUERY_LEDGER, true), v.getUint16(at + p.QUERY_CODE, true)], [9, 10, 11]);
    assert.equal(request.payload.subarray(at + p.QUERY_RESERVED, at + p.QUERY_RESERVED + p.QUERY_RESERVED_BYTES), new Uint8Array(6));
    assert.equal([v.getBigUint64(at + p.QUERY_TIMESTAMP_MIN, true), v.getBigUint64(at + p.QUERY_TIMESTAMP_MAX, true)], [5n, 6n]);
    assert.equal([v.getUint32(at + p.QUERY_LIMIT, true), v.getUint32(at + p.QUERY_FLAGS, true)], [3, QueryFilterFlags.reversed]);
  }
  refused(() => queryFromJson(json('{"account_id":"1"}')), 'unknown_field', /^filter\.account_id: unknown field/);
  refused(() => queryFromJson(json('{"reserved":0}')), 'unknown_field');
  refused(() => queryFromJson(json('{"flags":["debits"]}')), 'unknown_flag', /filter\.flags\[0\]/);
  refused(() => queryFromJson(json('{"ledger":"1"}')), 'invalid_field', /filter\.ledger/);
  refused(() => queryFromJson(json('{"code":65536}')), 'invalid_field', /filter\.code/);
  refused(() => queryFromJson(json('{"timestamp_max":6}')), 'invalid_field', /filter\.timestamp_max/);
  refused(() => queryFromJson(json('{"limit":0}')), 'invalid_field', /filter\.limit/);
  refused(() => queryFromJson(json(`{"limit":${BATCH_EVENTS_MAX + 1}}`)), 'invalid_field', /filter\.limit/);
  refused(() => queryFromJson(json('[]')), 'invalid_body');
});

test('events: unknown fields, non-objects, empty and oversized batches are refused', () => {
  // Proves the batch shape rules and that the error names the event index.
  refused(() => accountsFromJson(json('[{"id":"1"},{"id":"2","amount":"5"}]')), 'unknown_field', /^events\[1\]\.amount: unknown field/);
  refused(() => transfersFromJson(json('[{"id":"1","__proto__":"1"}]'), LEDGERS), 'unknown_field');
  refused(() => accountsFromJson(json('[1]')), 'invalid_field', /^events\[0\]: must be a JSON object/);
  refused(() => accountsFromJson(json('{"id":"1"}')), 'invalid_body');
  refused(() => accountsFromJson(json('[]')), 'empty_batch');
  const many = '[' + Array.from({ length: BATCH_EVENTS_MAX + 1 }, () => '{}').join(',') + ']';
  refused(() => accountsFromJson(json(many)), 'batch_too_large'); // the parser's item bound
  const most = '[' + Array.from({ length: BATCH_EVENTS_MAX }, () => '{}').join(',') + ']';
  assert.is(accountsFromJson(json(most)).length, BATCH_EVENTS_MAX);
  refused(() => accountsFromJson(Array.from({ length: BATCH_EVENTS_MAX + 1 }, () => new Map())), 'batch_too_large');
});

test('flags: names both ways, raw integers, unknown names and repeats', () => {
  // Proves flags accept names or the raw bit set (undefined bits pass to the ledger) and refuse the rest.
  assert.is(oneTransfer('"flags":["post_pending_transfer","imported"]').flags,
    TransferFlags.post_pending_transfer | TransferFlags.imported);
  assert.is(oneAccount('"flags":["closed"]').flags, AccountFlags.closed);
  assert.is(oneAccount('"flags":[]').flags, 0);
  assert.is(oneAccount('"flags":32768').flags, 32768); // an undefined bit: the ledger answers reserved_flag
  refused(() => oneAccount('"flags":65536'), 'invalid_field', /u16/);
  refused(() => oneAccount('"flags":["pending"]'), 'unknown_flag', /events\[0\]\.flags\[0\]: unknown flag "pending"/);
  refused(() => oneAccount('"flags":["toString"]'), 'unknown_flag');
  refused(() => oneAccount('"flags":["__proto__"]'), 'unknown_flag');
  refused(() => oneAccount('"flags":["linked","linked"]'), 'invalid_field', /twice/);
  refused(() => oneAccount('"flags":[1]'), 'invalid_field');
  refused(() => oneAccount('"flags":"linked"'), 'invalid_field');
  const reply = ledgerReplyToJson({ operation: 'lookup_accounts', count: 1 },
    recordsReply([account({ id: 1n, flags: AccountFlags.linked | AccountFlags.closed })], writeAccount));
  assert.equal((reply[0] as { flags: string[] }).flags, ['linked', 'closed']);
});

// ---- amount_decimal ----

test('amount_decimal: scaled exactly by the ledger asset scale (0, 2, 3)', () => {
  // Proves the conversion is exact and never rounds.
  assert.is(oneTransfer('"ledger":840,"amount_decimal":"10.50"').amount, 1050n);
  assert.is(oneTransfer('"ledger":840,"amount_decimal":"10.5"').amount, 1050n);
  assert.is(oneTransfer('"ledger":840,"amount_decimal":"10"').amount, 1000n);
  assert.is(oneTransfer('"ledger":840,"amount_decimal":"0.01"').amount, 1n);
  assert.is(oneTransfer('"ledger":840,"amount_decimal":"10.500"').amount, 1050n); // trailing zeros are exact
  assert.is(oneTransfer('"ledger":392,"amount_decimal":"1500"').amount, 1500n);
  assert.is(oneTransfer('"ledger":414,"amount_decimal":"1.005"').amount, 1005n);
  assert.is(oneTransfer('"ledger":840,"amount_decimal":"0"').amount, 0n);
  refused(() => oneTransfer('"ledger":840,"amount_decimal":"1.005"'), 'amount_not_exact', /events\[0\]\.amount_decimal/);
  refused(() => oneTransfer('"ledger":392,"amount_decimal":"0.1"'), 'amount_not_exact');
  refused(() => oneTransfer('"ledger":414,"amount_decimal":"0.0001"'), 'amount_not_exact');
});

test('amount_decimal: values near 2^128', () => {
  // Proves the upper bound is exact at every scale, including digits past decimal.js's precision.
  const max = U128_MAX.toString(); // 39 digits
  assert.is(amountFromDecimal(max, 0, 'a'), U128_MAX);
  assert.is(amountFromDecimal(`${max.slice(0, -2)}.${max.slice(-2)}`, 2, 'a'), U128_MAX);
  assert.is(amountFromDecimal('3.40282366920938463463374607431768211455', 38, 'a'), U128_MAX);
  refused(() => amountFromDecimal((U128_MAX + 1n).toString(), 0, 'a'), 'amount_not_exact', /below 2\^128/);
  refused(() => amountFromDecimal(`${max.slice(0, -2)}.${max.slice(-2)}`.replace(/5$/, '6'), 2, 'a'), 'amount_not_exact');
  refused(() => amountFromDecimal('1' + '0'.repeat(70), 0, 'a'), 'amount_not_exact');
  refused(() => amountFromDecimal('3.40282366920938463463374607431768211456', 38, 'a'), 'amount_not_exact');
  // 61 significant digits: 60-digit arithmetic must not round this into an integer.
  refused(() => amountFromDecimal('1.' + '0'.repeat(59) + '1', 2, 'a'), 'amount_not_exact');
  assert.is(amountFromDecimal('1.' + '0'.repeat(80), 2, 'a'), 100n);
});

test('amount_decimal: malformed strings, numbers and unscaled ledgers are refused', () => {
  // Proves only digits with an optional fraction are money, and a ledger needs a configured scale.
  for (const bad of ['1e3', '-1', '+1', ' 1', '1.', '.5', '1,5', '0x10', '', 'NaN', 'Infinity', '1.5.0']) {
    refused(() => oneTransfer(`"ledger":840,"amount_decimal":${JSON.stringify(bad)}`), 'invalid_field', /amount_decimal/);
  }
  refused(() => oneTransfer('"ledger":840,"amount_decimal":10.5'), 'invalid_field', /amount_decimal/);
  refused(() => oneTransfer('"ledger":999,"amount_decimal":"1"'), 'asset_scale_unknown', /ledger 999/);
  refused(() => oneTransfer('"amount_decimal":"1"'), 'asset_scale_unknown'); // ledger omitted is 0
  refused(() => oneTransfer('"amount":1050'), 'invalid_field', /events\[0\]\.amount: must be a decimal string/);
  refused(() => oneTransfer('"amount":"10.50"'), 'invalid_field');
});

test('amount and amount_decimal: agreeing is fine, disagreeing is amount_mismatch', () => {
  // Proves a request can't carry two different amounts.
  assert.is(oneTransfer('"ledger":840,"amount":"1050","amount_decimal":"10.50"').amount, 1050n);
  assert.is(oneTransfer('"ledger":840,"amount_decimal":"10.50","amount":"1050"').amount, 1050n);
  refused(() => oneTransfer('"ledger":840,"amount":"1051","amount_decimal":"10.50"'), 'amount_mismatch', /events\[0\]/);
  refused(() => oneTransfer('"ledger":840,"amount":"0","amount_decimal":"10.50"'), 'amount_mismatch');
});

test('nothing partial: one bad event refuses the batch', () => {
  // Proves a bad event at the end of a batch still refuses the whole request.
  const events = Array.from({ length: 100 }, (_, i) => `{"id":"${i + 1}","ledger":840,"amount_decimal":"1.00"}`);
  events.push('{"id":"101","ledger":840,"amount_decimal":"1.001"}');
  refused(() => ledgerRequestFromJson('create_transfers', json(`[${events.join(',')}]`), LEDGERS), 'amount_not_exact', /events\[100\]/);
});

// ---- lookups and filters ----

test('lookups: {"ids": [...]} becomes a lookup request', () => {
  // Proves the id list encoding and its refusals.
  const request = ledgerRequestFromJson('lookup_transfers', json('{"ids":["1","340282366920938463463374607431768211455"]}'), LEDGERS);
  assert.is(request.payload[0], Operation.lookup_transfers);
  assert.is(request.count, 2);
  assert.is(request.payload.length, HEADER_BYTES + 32);
  assert.is(view(request.payload).getBigUint64(HEADER_BYTES, true), 1n);
  assert.is(view(request.payload).getBigUint64(HEADER_BYTES + 24, true), (1n << 64n) - 1n);
  assert.is(ledgerRequestFromJson('lookup_accounts', json('{"ids":["5"]}'), LEDGERS).payload[0], Operation.lookup_accounts);
  refused(() => idsFromJson(json('{"ids":[]}')), 'empty_batch');
  refused(() => idsFromJson(json('{"ids":["1",2]}')), 'invalid_field', /^ids\[1\]: must be a decimal string/);
  refused(() => idsFromJson(json('{"ids":"1"}')), 'invalid_field');
  refused(() => idsFromJson(json('{}')), 'missing_field');
  refused(() => idsFromJson(json('{"ids":["1"],"x":1}')), 'unknown_field');
  refused(() => idsFromJson(json('["1"]')), 'invalid_body');
  refused(() => idsFromJson(Array.from({ length: BATCH_EVENTS_MAX + 1 }, () => '1')), 'invalid_body');
  refused(() => idsFromJson(new Map([['ids', Array.from({ length: BATCH_EVENTS_MAX + 1 }, () => '1')]])), 'batch_too_large');
});

test('filters: every field, the defaults and the refusals', () => {
  // Proves the AccountFilter layout (TigerBeetle's offsets) and its field rules.
  const f = filterFromJson(42n, json(`{"timestamp_min":"5","timestamp_max":"6","limit":10,"flags":["debits","reversed"],
    "user_data_128":"7","user_data_64":"8","user_data_32":9,"code":11}`));
  assert.equal(f, {
    account_id: 42n, user_data_128: 7n, user_data_64: 8n, user_data_32: 9, code: 11, timestamp_min: 5n,
    timestamp_max: 6n, limit: 10, flags: AccountFilterFlags.debits | AccountFilterFlags.reversed,
  });
  const d = filterFromJson(1n, json('{}'));
  assert.is(d.limit, BATCH_EVENTS_MAX);
  assert.is(d.flags, AccountFilterFlags.debits | AccountFilterFlags.credits);
  const request = ledgerRequestFromJson('get_account_balances', json('{"limit":3,"flags":7,"timestamp_min":"99"}'), LEDGERS, 42n);
  const v = view(request.payload);
  assert.is(request.payload[0], Operation.get_account_balances);
  assert.is(request.count, 3);
  assert.is(v.getUint32(4, true), 1);
  assert.is(v.getBigUint64(HEADER_BYTES, true), 42n);
  assert.is(v.getBigUint64(HEADER_BYTES + 104, true), 99n);
  assert.is(v.getUint32(HEADER_BYTES + 120, true), 3);
  assert.is(v.getUint32(HEADER_BYTES + 124, true), 7);
  assert.is(ledgerRequestFromJson('get_account_transfers', json('{}'), LEDGERS, 1n).payload[0], Operation.get_account_transfers);
  refused(() => filterFromJson(1n, json('{"limit":0}')), 'invalid_field', /filter\.limit/);
  refused(() => filterFromJson(1n, json(`{"limit":${BATCH_EVENTS_MAX + 1}}`)), 'invalid_field', /filter\.limit/);
  refused(() => filterFromJson(1n, json('{"flags":["pending"]}')), 'unknown_flag');
  refused(() => filterFromJson(1n, json('{"timestamp_min":5}')), 'invalid_field', /filter\.timestamp_min/);
  refused(() => filterFromJson(1n, json('{"account_id":"1"}')), 'unknown_field');
  refused(() => filterFromJson(1n, json('[]')), 'invalid_body');
});

// ---- replies ----

test('create results: names per operation, success is created, timestamps are strings', () => {
  // Proves result codes map to TigerBeetle's snake_case names for accounts and transfers separately.
  const transfers = ledgerReplyToJson({ operation: 'create_transfers', count: 4 },
    createResults([[0, 1700000000000000001n], [21, 2n], [54, 3n], [4242, 4n]]));
  assert.equal(transfers, [
    { result: 'created', timestamp: '1700000000000000001' },
    { result: 'debit_account_not_found', timestamp: '2' },
    { result: 'exceeds_credits', timestamp: '3' },
    { result: 'unknown_4242', timestamp: '4' },
  ]);
  const accounts = ledgerReplyToJson({ operation: 'create_accounts', count: 2 }, createResults([[0, 1n], [21, 2n]]));
  assert.equal(accounts, [{ result: 'created', timestamp: '1' }, { result: 'exists', timestamp: '2' }]);
});

test('records: accounts, transfers and balances with u128/u64 as strings', () => {
  // Proves record replies decode into JSON with exact big values.
  const a = account({ id: U128_MAX, credits_posted: 1n << 100n, user_data_64: (1n << 64n) - 1n, ledger: 840, code: 1, timestamp: 9n });
  assert.equal(ledgerReplyToJson({ operation: 'lookup_accounts', count: 1 }, recordsReply([a], writeAccount)), [{
    id: U128_MAX.toString(), debits_pending: '0', debits_posted: '0', credits_pending: '0',
    credits_posted: (1n << 100n).toString(), user_data_128: '0', user_data_64: '18446744073709551615',
    user_data_32: 0, ledger: 840, code: 1, flags: [], timestamp: '9',
  }]);
  const t = transfer({ id: 5n, debit_account_id: 1n, credit_account_id: 2n, amount: 1050n, timeout: 30, flags: TransferFlags.pending });
  const expected = {
    id: '5', debit_account_id: '1', credit_account_id: '2', amount: '1050', pending_id: '0', user_data_128: '0',
    user_data_64: '0', user_data_32: 0, timeout: 30, ledger: 1, code: 1, flags: ['pending'], timestamp: '0',
  };
  assert.equal(ledgerReplyToJson({ operation: 'lookup_transfers', count: 3 }, recordsReply([t], writeTransfer)), [expected]);
  assert.equal(ledgerReplyToJson({ operation: 'get_account_transfers', count: 10 }, recordsReply([t, t], writeTransfer)), [expected, expected]);
  assert.equal(ledgerReplyToJson({ operation: 'query_transfers', count: 10 }, recordsReply([t, t], writeTransfer)), [expected, expected]);
  assert.equal(ledgerReplyToJson({ operation: 'query_accounts', count: 10 }, recordsReply([a], writeAccount)),
    ledgerReplyToJson({ operation: 'lookup_accounts', count: 1 }, recordsReply([a], writeAccount)), 'query_accounts answers as lookups do');
  const b: AccountBalance = { debits_pending: 1n, debits_posted: 2n, credits_pending: 3n, credits_posted: U128_MAX, timestamp: 77n };
  assert.equal(ledgerReplyToJson({ operation: 'get_account_balances', count: 1 }, recordsReply([b], writeBalance)), [{
    debits_pending: '1', debits_posted: '2', credits_pending: '3', credits_posted: U128_MAX.toString(), timestamp: '77',
  }]);
  assert.equal(ledgerReplyToJson({ operation: 'lookup_accounts', count: 1 }, recordsReply([], writeAccount)), []);
});

test('replies that do not fit their request are LedgerReplyError', () => {
  // Proves a broken reply never becomes a 200 with made-up content.
  const bad = (operation: Parameters<typeof ledgerReplyToJson>[0]['operation'], count: number, payload: Uint8Array) => {
    assert.throws(() => ledgerReplyToJson({ operation, count }, payload), (e: unknown) => e instanceof LedgerReplyError);
  };
  bad('create_accounts', 2, createResults([[0, 1n]]));
  bad('create_transfers', 1, new Uint8Array(15));
  bad('lookup_accounts', 1, recordsReply([account({ id: 1n }), account({ id: 2n })], writeAccount));
  bad('lookup_transfers', 1, new Uint8Array(4));
  bad('get_account_transfers', 5, new Uint8Array(HEADER_BYTES + 1));
  bad('query_accounts', 1, recordsReply([account({ id: 1n }), account({ id: 2n })], writeAccount));
});

test('decimalFromMinor: exact at every scale, the inverse of amountFromDecimal', () => {
  // Proves lookups can show amounts in currency units without rounding.
  assert.is(decimalFromMinor(1050n, 2), '10.50');
  assert.is(decimalFromMinor(5n, 3), '0.005');
  assert.is(decimalFromMinor(0n, 2), '0.00');
  assert.is(decimalFromMinor(1050n, 0), '1050');
  const max = (1n << 128n) - 1n;
  for (const scale of [0, 2, 3, 18, 38]) {
    for (const minor of [0n, 1n, 999n, 10n ** 20n + 7n, max]) {
      assert.is(amountFromDecimal(decimalFromMinor(minor, scale), scale, 'x'), minor, `${minor} at ${scale}`);
    }
  }
  assert.throws(() => decimalFromMinor(-1n, 2), /decimalFromMinor/);
  assert.throws(() => decimalFromMinor(1n, 39), /decimalFromMinor/);
});

test.run();
