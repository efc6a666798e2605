// host/gateway/ledger-json.ts: JSON <-> the ledger's binary protocol, as pure
// functions. The HTTP gateway (host/gateway/http-handlers.ts) uses them; tests call
// them directly.
//
// The JSON shape is TigerBeetle's, field names in snake_case:
//   - u128 and u64 fields are decimal strings of an integer ("1050"): no sign,
//     no spaces, no fraction, no exponent, no hex. A JSON number is refused,
//     because a JavaScript number never holds money or an id.
//   - u32 and u16 fields are JSON numbers written as plain integers
//     (no fraction, no exponent), within the field's range.
//   - flags are an array of flag names, or the raw integer bit set (so an
//     undefined bit reaches the ledger and is refused there with reserved_flag).
//   - omitted fields are zero; unknown fields are refused.
//   - transfers may give `amount_decimal` ("10.50"), scaled by the ledger's
//     asset scale with decimal.js and refused unless the result is exact.
// Nothing is partial: the first bad field refuses the whole request with a
// LedgerJsonError naming it (`events[3].amount: ...`), and nothing is encoded.
//
// Replies go the other way: create results become {"result", "timestamp"}
// with TigerBeetle's result names (success is "created"), records become
// objects with strings for u128/u64, numbers for u32/u16 and flag names.

import Decimal from 'decimal.js';
import {
  AccountFilterFlags, AccountFlags, BATCH_EVENTS_MAX, TransferFlags, U128_MAX, U64_MAX,
  createAccountResultName, createTransferResultName, decodeAccountBalances, decodeAccounts,
  decodeCreateResults, decodeTransfers, encodeAccounts, encodeGetAccountBalances,
  encodeGetAccountTransfers, encodeLookupAccounts, encodeLookupTransfers, encodeQueryAccounts, encodeQueryTransfers,
  encodeTransfers, flagsToNames, queryFilter, QueryFilterFlags, RESULT_BYTES,
  type Account, type AccountBalance, type AccountFilter, type OperationName, type QueryFilter, type Transfer,
} from '../client/ledger.ts';
import { JsonNumber, isJsonObject, type JsonObject, type JsonValue } from './json.ts';

// Precision 60 with rounding down: every amount that can be valid has at most
// 39 significant digits (2^128 < 10^39), so a product of 60 digits is exact for
// it; a value so long that it is rounded is already far beyond 2^128 and is
// refused as out of range, and rounding down never brings it below.
const D = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_DOWN });

import { ASSET_SCALE_MAX } from '../base/limits.ts';
export { ASSET_SCALE_MAX };

/** A refused request: `code` is stable snake_case, the message names the field. */
export class LedgerJsonError extends Error {
  override name = 'LedgerJsonError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export interface LedgerScale { assetScale: number; currency?: string }
export type LedgerScales = ReadonlyMap<number, LedgerScale>;

const U128_TEXT = 'must be a decimal string of an unsigned integer below 2^128';
const U64_TEXT = 'must be a decimal string of an unsigned integer below 2^64';

function refuse(code: string, message: string): never {
  throw new LedgerJsonError(code, message);
}

function invalid(where: string, message: string): never {
  refuse('invalid_field', `${where}: ${message}`);
}

// ---- field readers ----

/** A decimal string of digits only (leading zeros allowed) as a bigint up to `max`, or null. */
export function parseUnsignedDecimal(text: string, max: bigint): bigint | null {
  if (!/^[0-9]+$/.test(text)) return null;
  const digits = text.charCodeAt(0) === 0x30 ? text.replace(/^0+(?=[0-9])/, '') : text;
  // Bound the work before BigInt: max has at most 39 digits.
  if (digits.length > digitsOf(max)) return null;
  const value = BigInt(digits);
  return value <= max ? value : null;
}

// The bounds' digit counts, counted once: writing U128_MAX out for every id
// parsed was the largest part of parsing one.
const U128_DIGITS = U128_MAX.toString().length;
const U64_DIGITS = U64_MAX.toString().length;

function digitsOf(max: bigint): number {
  return max === U128_MAX ? U128_DIGITS : max === U64_MAX ? U64_DIGITS : max.toString().length;
}

export function readU128(value: JsonValue, where: string): bigint {
  const parsed = typeof value === 'string' ? parseUnsignedDecimal(value, U128_MAX) : null;
  return parsed ?? invalid(where, U128_TEXT);
}

export function readU64(value: JsonValue, where: string): bigint {
  const parsed = typeof value === 'string' ? parseUnsignedDecimal(value, U64_MAX) : null;
  return parsed ?? invalid(where, U64_TEXT);
}

/** A JSON number written as a plain integer in 0..max (u32: 0xffffffff, u16: 0xffff). */
export function readUint(value: JsonValue, where: string, max: number): number {
  const bits = max === 0xffff ? 16 : 32;
  const text = value instanceof JsonNumber ? value.text : '';
  if (!/^(0|[1-9][0-9]{0,9})$/.test(text) || Number(text) > max) {
    invalid(where, `must be a JSON integer from 0 to ${max} (u${bits})`);
  }
  return Number(text);
}

/**
 * Flags as an array of names from `names` (each at most once), or the raw
 * bit set as an integer up to `max` (unknown bits pass: the ledger refuses
 * them with a result code, as TigerBeetle does).
 */
export function readFlags(value: JsonValue, where: string, names: Record<string, number>, max: number): number {
  if (value instanceof JsonNumber) return readUint(value, where, max);
  if (!Array.isArray(value)) invalid(where, 'must be an array of flag names or an integer bit set');
  let bits = 0;
  for (let i = 0; i < value.length; i++) {
    const name = value[i];
    if (typeof name !== 'string') invalid(`${where}[${i}]`, 'must be a flag name (a string)');
    if (!Object.hasOwn(names, name)) {
      refuse('unknown_flag', `${where}[${i}]: unknown flag ${JSON.stringify(name)}; known: ${Object.keys(names).join(', ')}`);
    }
    if ((bits & names[name]) !== 0) invalid(`${where}[${i}]`, `flag ${name} is given twice`);
    bits |= names[name];
  }
  return bits;
}

/**
 * amount_decimal × 10^assetScale as an exact integer below 2^128. The text is
 * digits with an optional fraction ("10.50"); it is never rounded: a fraction
 * finer than the scale, or a result of 2^128 or more, is amount_not_exact.
 */
export function amountFromDecimal(text: string, assetScale: number, where: string): bigint {
  if (!Number.isInteger(assetScale) || assetScale < 0 || assetScale > ASSET_SCALE_MAX) {
    throw new RangeError(`asset scale ${assetScale} is not an integer from 0 to ${ASSET_SCALE_MAX}`);
  }
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text)) {
    invalid(where, 'must be a decimal string such as "10.50" (digits, an optional fraction; no sign or exponent)');
  }
  const value = new D(text); // the constructor keeps every digit; only arithmetic rounds
  if (value.decimalPlaces() > assetScale) {
    refuse('amount_not_exact', `${where}: ${text} has more decimal places than the ledger's asset scale ${assetScale}`);
  }
  const minor = value.times(new D(10).pow(assetScale));
  if (!minor.isInteger() || minor.gte(new D(U128_MAX.toString()).plus(1))) {
    refuse('amount_not_exact', `${where}: ${text} × 10^${assetScale} is not an integer below 2^128`);
  }
  const amount = BigInt(minor.toFixed(0));
  if (amount < 0n || amount > U128_MAX) throw new Error('amountFromDecimal: range check and conversion disagree');
  return amount;
}

// ---- events ----

type FieldKind = 'u128' | 'u64' | 'u32' | 'u16' | 'flags';

// `reserved` is taken so that a non-zero one reaches the ledger and is
// answered with TigerBeetle's result reserved_field, as balances and a
// timestamp reach it to be refused with theirs.
const ACCOUNT_FIELDS: Record<string, FieldKind> = {
  id: 'u128', debits_pending: 'u128', debits_posted: 'u128', credits_pending: 'u128',
  credits_posted: 'u128', user_data_128: 'u128', user_data_64: 'u64', user_data_32: 'u32',
  reserved: 'u32', ledger: 'u32', code: 'u16', flags: 'flags', timestamp: 'u64',
};

const TRANSFER_FIELDS: Record<string, FieldKind> = {
  id: 'u128', debit_account_id: 'u128', credit_account_id: 'u128', amount: 'u128',
  pending_id: 'u128', user_data_128: 'u128', user_data_64: 'u64', user_data_32: 'u32',
  timeout: 'u32', ledger: 'u32', code: 'u16', flags: 'flags', timestamp: 'u64',
};

const FILTER_FIELDS: Record<string, FieldKind> = {
  user_data_128: 'u128', user_data_64: 'u64', user_data_32: 'u32', code: 'u16',
  timestamp_min: 'u64', timestamp_max: 'u64', limit: 'u32', flags: 'flags',
};

const QUERY_FIELDS: Record<string, FieldKind> = {
  user_data_128: 'u128', user_data_64: 'u64', user_data_32: 'u32', ledger: 'u32', code: 'u16',
  timestamp_min: 'u64', timestamp_max: 'u64', limit: 'u32', flags: 'flags',
};

function readField(kind: FieldKind, value: JsonValue, where: string, flagNames: Record<string, number>,
  flagsMax: number): bigint | number {
  switch (kind) {
    case 'u128': return readU128(value, where);
    case 'u64': return readU64(value, where);
    case 'u32': return readUint(value, where, 0xffffffff);
    case 'u16': return readUint(value, where, 0xffff);
    case 'flags': return readFlags(value, where, flagNames, flagsMax);
  }
}

/**
 * Reads the members of `object` per `fields` into `target` (which holds the
 * zero defaults); `skip` names members the caller reads itself.
 */
function readObject(object: JsonValue, where: string, fields: Record<string, FieldKind>, target: object,
  flagNames: Record<string, number>, flagsMax: number, skip: readonly string[] = []): void {
  if (!isJsonObject(object)) invalid(where, 'must be a JSON object');
  const record = target as Record<string, bigint | number>;
  for (const [key, value] of object) {
    if (skip.includes(key)) continue;
    const kind = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (kind === undefined) refuse('unknown_field', `${where}.${key}: unknown field`);
    record[key] = readField(kind, value, `${where}.${key}`, flagNames, flagsMax);
  }
}

/** The batch array of a create request: 1..BATCH_EVENTS_MAX items. */
function readBatch(body: JsonValue, what: string): JsonValue[] {
  if (!Array.isArray(body)) refuse('invalid_body', `body: must be a JSON array of ${what}`);
  if (body.length === 0) refuse('empty_batch', `body: the array of ${what} is empty`);
  if (body.length > BATCH_EVENTS_MAX) {
    refuse('batch_too_large', `body: ${body.length} ${what} exceed the batch maximum of ${BATCH_EVENTS_MAX}`);
  }
  return body;
}

export function accountFromJson(value: JsonValue, where: string): Account {
  const a: Account = {
    id: 0n, debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n,
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, reserved: 0, ledger: 0, code: 0, flags: 0, timestamp: 0n,
  };
  readObject(value, where, ACCOUNT_FIELDS, a, AccountFlags, 0xffff);
  return a;
}

export function transferFromJson(value: JsonValue, where: string, ledgers: LedgerScales): Transfer {
  const t: Transfer = {
    id: 0n, debit_account_id: 0n, credit_account_id: 0n, amount: 0n, pending_id: 0n,
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, timeout: 0, ledger: 0, code: 0, flags: 0, timestamp: 0n,
  };
  readObject(value, where, TRANSFER_FIELDS, t, TransferFlags, 0xffff, ['amount_decimal']);
  const decimal = (value as JsonObject).get('amount_decimal');
  if (decimal === undefined) return t;
  if (typeof decimal !== 'string') invalid(`${where}.amount_decimal`, 'must be a decimal string such as "10.50"');
  const scale = ledgers.get(t.ledger);
  if (scale === undefined) {
    refuse('asset_scale_unknown', `${where}.amount_decimal: ledger ${t.ledger} has no configured asset scale; send amount in minor units`);
  }
  const amount = amountFromDecimal(decimal, scale.assetScale, `${where}.amount_decimal`);
  if ((value as JsonObject).has('amount') && amount !== t.amount) {
    refuse('amount_mismatch',
      `${where}: amount ${t.amount} and amount_decimal ${decimal} (= ${amount} at scale ${scale.assetScale}) disagree`);
  }
  t.amount = amount;
  return t;
}

export function accountsFromJson(body: JsonValue): Account[] {
  return readBatch(body, 'accounts').map((event, i) => accountFromJson(event, `events[${i}]`));
}

export function transfersFromJson(body: JsonValue, ledgers: LedgerScales): Transfer[] {
  return readBatch(body, 'transfers').map((event, i) => transferFromJson(event, `events[${i}]`, ledgers));
}

/** `{"ids": ["1", "2"]}` for the lookups. */
export function idsFromJson(body: JsonValue): bigint[] {
  if (!isJsonObject(body)) refuse('invalid_body', 'body: must be a JSON object {"ids": [...]}');
  for (const key of body.keys()) {
    if (key !== 'ids') refuse('unknown_field', `${key}: unknown field`);
  }
  const ids = body.get('ids');
  if (ids === undefined) refuse('missing_field', 'ids: required');
  if (!Array.isArray(ids)) invalid('ids', 'must be an array of decimal strings');
  if (ids.length === 0) refuse('empty_batch', 'ids: the array is empty');
  if (ids.length > BATCH_EVENTS_MAX) refuse('batch_too_large', `ids: ${ids.length} ids exceed the batch maximum of ${BATCH_EVENTS_MAX}`);
  return ids.map((id, i) => readU128(id, `ids[${i}]`));
}

/**
 * An AccountFilter for `accountId` from a JSON object of TigerBeetle's
 * filter fields, all optional. `limit` defaults to (and may not exceed) the
 * batch maximum and must be at least 1 (TigerBeetle treats 0 as an invalid
 * filter and answers nothing; here it is a clear error instead); `flags`
 * defaults to debits and credits.
 */
export function filterFromJson(accountId: bigint, body: JsonValue): AccountFilter {
  if (accountId < 0n || accountId > U128_MAX) throw new RangeError('filterFromJson: account id out of range');
  const f: AccountFilter = {
    account_id: accountId, user_data_128: 0n, user_data_64: 0n, user_data_32: 0, code: 0,
    timestamp_min: 0n, timestamp_max: 0n, limit: BATCH_EVENTS_MAX,
    flags: AccountFilterFlags.debits | AccountFilterFlags.credits,
  };
  if (!isJsonObject(body)) refuse('invalid_body', 'body: must be a JSON object of filter fields');
  readObject(body, 'filter', FILTER_FIELDS, f, AccountFilterFlags, 0xffffffff);
  if (f.limit < 1 || f.limit > BATCH_EVENTS_MAX) invalid('filter.limit', `must be from 1 to ${BATCH_EVENTS_MAX}`);
  return f;
}

/**
 * A QueryFilter (query_accounts, query_transfers) from a JSON object of
 * TigerBeetle's QueryFilter fields, all optional: zero (omitted) matches
 * any. `limit` defaults to (and may not exceed) the batch maximum and must
 * be at least 1, as in filterFromJson; `flags` is ["reversed"] or the bit
 * set (an unknown bit reaches the ledger, whose answer is then empty, as
 * TigerBeetle's is for an invalid filter).
 */
export function queryFromJson(body: JsonValue): QueryFilter {
  const f = queryFilter();
  if (!isJsonObject(body)) refuse('invalid_body', 'body: must be a JSON object of query filter fields');
  readObject(body, 'filter', QUERY_FIELDS, f, QueryFilterFlags, 0xffffffff);
  if (f.limit < 1 || f.limit > BATCH_EVENTS_MAX) invalid('filter.limit', `must be from 1 to ${BATCH_EVENTS_MAX}`);
  return f;
}

// ---- requests ----

/** A ledger request ready for the kernel: the payload and how many items it names. */
export interface LedgerRequest {
  operation: OperationName;
  payload: Uint8Array;
  /** Events (create), ids (lookup) or the filter's limit (queries): bounds the reply. */
  count: number;
}

/** Turns a parsed body into the ledger payload of `operation`; throws LedgerJsonError. */
export function ledgerRequestFromJson(operation: OperationName, body: JsonValue, ledgers: LedgerScales,
  accountId = 0n): LedgerRequest {
  switch (operation) {
    case 'create_accounts': {
      const events = accountsFromJson(body);
      return { operation, payload: encodeAccounts(events), count: events.length };
    }
    case 'create_transfers': {
      const events = transfersFromJson(body, ledgers);
      return { operation, payload: encodeTransfers(events), count: events.length };
    }
    case 'lookup_accounts': {
      const ids = idsFromJson(body);
      return { operation, payload: encodeLookupAccounts(ids), count: ids.length };
    }
    case 'lookup_transfers': {
      const ids = idsFromJson(body);
      return { operation, payload: encodeLookupTransfers(ids), count: ids.length };
    }
    case 'get_account_transfers': {
      const filter = filterFromJson(accountId, body);
      return { operation, payload: encodeGetAccountTransfers(filter), count: filter.limit };
    }
    case 'get_account_balances': {
      const filter = filterFromJson(accountId, body);
      return { operation, payload: encodeGetAccountBalances(filter), count: filter.limit };
    }
    case 'query_accounts': {
      const filter = queryFromJson(body);
      return { operation, payload: encodeQueryAccounts(filter), count: filter.limit };
    }
    case 'query_transfers': {
      const filter = queryFromJson(body);
      return { operation, payload: encodeQueryTransfers(filter), count: filter.limit };
    }
  }
}

// ---- replies ----

export interface CreateResultJson { result: string; timestamp: string }

export interface AccountJson {
  id: string; debits_pending: string; debits_posted: string; credits_pending: string; credits_posted: string;
  user_data_128: string; user_data_64: string; user_data_32: number; ledger: number; code: number;
  flags: string[]; timestamp: string;
  /** The balances in the ledger's currency units, when the ledger has an asset scale (gateway.ledgers). */
  debits_pending_decimal?: string; debits_posted_decimal?: string; credits_pending_decimal?: string; credits_posted_decimal?: string;
}

export interface TransferJson {
  id: string; debit_account_id: string; credit_account_id: string; amount: string; pending_id: string;
  user_data_128: string; user_data_64: string; user_data_32: number; timeout: number; ledger: number;
  code: number; flags: string[]; timestamp: string;
  /** The amount in the ledger's currency units, when the ledger has an asset scale. */
  amount_decimal?: string;
}

/**
 * Minor units as a decimal string at `assetScale` places, exactly:
 * 1050 at scale 2 is "10.50", at scale 0 "1050". The inverse of
 * amountFromDecimal for every amount it accepts.
 */
export function decimalFromMinor(minor: bigint, assetScale: number): string {
  if (minor < 0n || !Number.isInteger(assetScale) || assetScale < 0 || assetScale > ASSET_SCALE_MAX) {
    throw new RangeError(`decimalFromMinor: ${minor} at scale ${assetScale}`);
  }
  if (assetScale === 0) return minor.toString();
  const digits = minor.toString().padStart(assetScale + 1, '0');
  return `${digits.slice(0, digits.length - assetScale)}.${digits.slice(digits.length - assetScale)}`;
}

export interface AccountBalanceJson {
  debits_pending: string; debits_posted: string; credits_pending: string; credits_posted: string; timestamp: string;
}

/** An account as JSON; with `ledgers`, its balances also in the ledger's currency units. */
export function accountToJson(a: Account, ledgers?: LedgerScales): AccountJson {
  const json: AccountJson = {
    id: a.id.toString(), debits_pending: a.debits_pending.toString(), debits_posted: a.debits_posted.toString(),
    credits_pending: a.credits_pending.toString(), credits_posted: a.credits_posted.toString(),
    user_data_128: a.user_data_128.toString(), user_data_64: a.user_data_64.toString(),
    user_data_32: a.user_data_32, ledger: a.ledger, code: a.code,
    flags: flagsToNames(AccountFlags, a.flags), timestamp: a.timestamp.toString(),
  };
  const scale = ledgers?.get(a.ledger)?.assetScale;
  if (scale !== undefined) {
    json.debits_pending_decimal = decimalFromMinor(a.debits_pending, scale);
    json.debits_posted_decimal = decimalFromMinor(a.debits_posted, scale);
    json.credits_pending_decimal = decimalFromMinor(a.credits_pending, scale);
    json.credits_posted_decimal = decimalFromMinor(a.credits_posted, scale);
  }
  return json;
}

/** A transfer as JSON; with `ledgers`, its amount also in the ledger's currency units. */
export function transferToJson(t: Transfer, ledgers?: LedgerScales): TransferJson {
  const json: TransferJson = {
    id: t.id.toString(), debit_account_id: t.debit_account_id.toString(),
    credit_account_id: t.credit_account_id.toString(), amount: t.amount.toString(),
    pending_id: t.pending_id.toString(), user_data_128: t.user_data_128.toString(),
    user_data_64: t.user_data_64.toString(), user_data_32: t.user_data_32, timeout: t.timeout,
    ledger: t.ledger, code: t.code, flags: flagsToNames(TransferFlags, t.flags), timestamp: t.timestamp.toString(),
  };
  const scale = ledgers?.get(t.ledger)?.assetScale;
  if (scale !== undefined) json.amount_decimal = decimalFromMinor(t.amount, scale);
  return json;
}

export function balanceToJson(b: AccountBalance): AccountBalanceJson {
  return {
    debits_pending: b.debits_pending.toString(), debits_posted: b.debits_posted.toString(),
    credits_pending: b.credits_pending.toString(), credits_posted: b.credits_posted.toString(),
    timestamp: b.timestamp.toString(),
  };
}

/** A reply that does not fit its request: the kernel or ledger broke the protocol. */
export class LedgerReplyError extends Error {
  override name = 'LedgerReplyError';
}

/**
 * Decodes a FRAME_OK reply payload of `request` into JSON-ready values.
 * Throws LedgerReplyError when the payload does not fit the request (wrong
 * size, more records than asked for).
 */
export function ledgerReplyToJson(request: Pick<LedgerRequest, 'operation' | 'count'>, payload: Uint8Array, ledgers?: LedgerScales):
  CreateResultJson[] | AccountJson[] | TransferJson[] | AccountBalanceJson[] {
  const { operation, count } = request;
  try {
    if (operation === 'create_accounts' || operation === 'create_transfers') {
      if (payload.length !== count * RESULT_BYTES) {
        throw new LedgerReplyError(`${operation}: reply of ${payload.length} bytes for ${count} events`);
      }
      const name = operation === 'create_accounts' ? createAccountResultName : createTransferResultName;
      return decodeCreateResults(payload).map((r) => ({ result: name(r.result), timestamp: r.timestamp.toString() }));
    }
    const accounts = operation === 'lookup_accounts' || operation === 'query_accounts';
    const transfers = operation === 'lookup_transfers' || operation === 'get_account_transfers' || operation === 'query_transfers';
    const records = accounts ? decodeAccounts(payload).map((a) => accountToJson(a, ledgers))
      : transfers ? decodeTransfers(payload).map((t) => transferToJson(t, ledgers))
        : decodeAccountBalances(payload).map(balanceToJson);
    if (records.length > count) throw new LedgerReplyError(`${operation}: ${records.length} records for at most ${count}`);
    return records;
  } catch (e) {
    if (e instanceof LedgerReplyError) throw e;
    throw new LedgerReplyError(`${operation}: malformed reply: ${(e as Error).message}`);
  }
}
