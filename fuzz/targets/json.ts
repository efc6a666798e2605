// fuzz/targets/json.ts: the gateway's JSON parser (host/gateway/json.ts) and
// the JSON to ledger translation (host/gateway/ledger-json.ts): the bytes of
// every HTTP body. The oracle:
//   - parseJson returns a value or throws JsonError with a documented code
//     and an offset inside the body, never anything else;
//   - differential against JSON.parse: a document the strict parser accepts
//     JSON.parse accepts with the same meaning, and one JSON.parse accepts
//     is refused only for a documented reason (invalid UTF-8, a BOM, a lone
//     surrogate escape, a duplicate key or a limit);
//   - every operation's translation of an accepted document returns a
//     payload of exactly header + items, the header counting the items, or
//     throws LedgerJsonError with a code and a message; the identifiers of
//     a translated batch round-trip.

import { JsonError, JsonNumber, parseJson, type JsonValue } from '../../host/gateway/json.ts';
import { LedgerJsonError, ledgerRequestFromJson, type LedgerScales } from '../../host/gateway/ledger-json.ts';
import { HEADER_BYTES, RECORD_BYTES, ID_BYTES, QUERY_FILTER_BYTES, readTransfer, readAccount, type OperationName } from '../../host/client/ledger.ts';
import { expect, type FuzzTarget } from '../target.ts';

export const LIMITS = { depthMax: 8, itemsMax: 64, valuesMax: 2048 };
const CODES = new Set(['invalid_json', 'duplicate_key', 'nesting_too_deep', 'batch_too_large', 'too_many_values']);
const SCALES: LedgerScales = new Map([[1, { assetScale: 2 }], [2, { assetScale: 0 }], [3, { assetScale: 3 }]]);
export const OPERATIONS: readonly OperationName[] = ['create_accounts', 'create_transfers', 'lookup_accounts', 'lookup_transfers', 'get_account_transfers', 'get_account_balances',
  'query_accounts', 'query_transfers'];

/** parseJson's value, or its JsonError once the error is checked. */
export function parseChecked(bytes: Uint8Array): JsonValue | JsonError {
  try {
    return parseJson(bytes, LIMITS);
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    expect(CODES.has(e.code), `undocumented code ${e.code}`);
    expect(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset} outside the body`);
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
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as object, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

// A \u escape of a lone surrogate, without a regular expression.
function hasSurrogateEscape(text: string): boolean {
  for (let i = text.indexOf('\\u'); i >= 0; i = text.indexOf('\\u', i + 2)) {
    const c = text.charCodeAt(i + 2) | 0x20, d = text.charCodeAt(i + 3) | 0x20;
    if (c === 0x64 && (d === 0x38 || d === 0x39 || (d >= 0x61 && d <= 0x66))) return true; // d8..df
  }
  return false;
}

/** The differential oracle for one document: returns the strict result. */
export function differential(bytes: Uint8Array): JsonValue | JsonError {
  const strict = parseChecked(bytes);
  let loose: unknown;
  let looseOk = true;
  const text = Buffer.from(bytes).toString('utf8');
  try { loose = JSON.parse(text); } catch { looseOk = false; }
  if (!(strict instanceof JsonError)) {
    expect(looseOk, 'the strict parser accepted what JSON.parse refuses');
    expect(sameValue(plain(strict), loose), 'accepted with another meaning than JSON.parse gives');
    return strict;
  }
  if (strict.code === 'invalid_json' && looseOk) {
    // Allowed only for the documented refusals JSON.parse lets through.
    const lossy = !Buffer.from(text, 'utf8').equals(Buffer.from(bytes));
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    expect(lossy || bom || hasSurrogateEscape(text), `refused a valid document: ${strict.message} in ${JSON.stringify(text.slice(0, 200))}`);
  }
  return strict;
}

const stripZeros = (s: string): string => { let i = 0; while (i < s.length - 1 && s[i] === '0') i++; return s.slice(i); };

/** The ledger translation oracle for one parsed body. */
export function translate(operation: OperationName, body: JsonValue, bytes: Uint8Array, accountId = 0n): void {
  let req;
  try {
    req = ledgerRequestFromJson(operation, body, SCALES, accountId);
  } catch (e) {
    if (!(e instanceof LedgerJsonError)) throw e;
    expect(e.code.length > 0 && e.message.length > 0, 'a LedgerJsonError has a code and a message');
    return;
  }
  const itemBytes = operation.startsWith('create_') ? RECORD_BYTES : operation.startsWith('lookup_') ? ID_BYTES
    : operation.startsWith('query_') ? QUERY_FILTER_BYTES : RECORD_BYTES;
  const items = operation.startsWith('get_') || operation.startsWith('query_') ? 1 : req.count;
  expect(req.payload.length === HEADER_BYTES + items * itemBytes, `${operation}: payload of ${req.payload.length} bytes for ${items} items`);
  expect(req.count >= 1, `${operation}: a request of no items`);
  const dv = new DataView(req.payload.buffer, req.payload.byteOffset, req.payload.byteLength);
  expect(dv.getUint32(4, true) === items, `${operation}: the header counts ${dv.getUint32(4, true)}, not ${items}`);
  if (operation === 'create_transfers' || operation === 'create_accounts') {
    const sent = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>[];
    sent.forEach((_, i) => {
      const fields = operation === 'create_transfers' ? ['id', 'debit_account_id', 'credit_account_id', 'pending_id', 'user_data_128', 'user_data_64'] as const : ['id'] as const;
      const got = operation === 'create_transfers' ? readTransfer(dv, HEADER_BYTES + i * RECORD_BYTES) : readAccount(dv, HEADER_BYTES + i * RECORD_BYTES);
      for (const f of fields) {
        const want = stripZeros(String(sent[i][f] ?? '0'));
        expect(String((got as unknown as Record<string, unknown>)[f]) === want, `${operation}: events[${i}].${f} is ${String((got as unknown as Record<string, unknown>)[f])}, sent ${want}`);
      }
    });
  }
}

export const jsonTarget: FuzzTarget = {
  name: 'json',
  about: 'HTTP bodies: the strict JSON parser against JSON.parse, and every ledger operation\'s translation of what it accepts',
  sources: ['host/gateway/json.ts', 'host/gateway/ledger-json.ts'],
  maxLen: 4096,
  dictionary: ['{', '}', '[', ']', ',', ':', '"', '\\u', '\\ud800', '\\udc00', 'true', 'false', 'null', '-0', '1e5', '.5', '\xef\xbb\xbf',
    '"id"', '"debit_account_id"', '"credit_account_id"', '"amount"', '"amount_decimal"', '"ledger"', '"code"', '"flags"', '"pending_id"',
    '"user_data_128"', '"user_data_64"', '"user_data_32"', '"timeout"', '"ids"', '"limit"', '"timestamp_min"', '"timestamp_max"',
    '"linked"', '"pending"', '"post_pending_transfer"', '"void_pending_transfer"', '"balancing_debit"', '"closing_credit"', '"debits"',
    '"credits"', '"reversed"', '"history"', '"imported"', '"10.50"', '"340282366920938463463374607431768211455"'],
  check(input) {
    const v = differential(input);
    if (v instanceof JsonError) return;
    for (const op of OPERATIONS) translate(op, v, input, 5n);
  },
};
