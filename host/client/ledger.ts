// Codec for the QENEX ledger service's binary protocol: TigerBeetle's
// 128-byte Account / Transfer / AccountFilter / AccountBalance records,
// the request header, result codes and flags, and time-based ids.
//
// Used by tests, and later by the HTTP gateway and the client. u128 and u64
// fields are bigint; u32 and u16 fields are number. Money never passes
// through a JavaScript number.
//
// Request:  u8 operation | u8 reserved[3] = 0 | u32 count | count items
// Replies:  create_*  count * (u32 result | u32 reserved | u64 timestamp)
//           queries   u32 count | u32 0 | count * 128-byte records

import { randomFillSync } from 'node:crypto';
import { FRAME_E_SERVICE } from '../../hal/abi.ts';

export const RECORD_BYTES = 128;
export const HEADER_BYTES = 8;
export const ID_BYTES = 16;
export const RESULT_BYTES = 16;
/** Events per request: TigerBeetle's batch maximum. */
export const BATCH_EVENTS_MAX = 8189;
/** Reply status for a malformed request (payload: UTF-8 message). */
export const STATUS_SERVICE_ERROR = FRAME_E_SERVICE;

export const U128_MAX = (1n << 128n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;

export const Operation = {
  create_accounts: 1,
  create_transfers: 2,
  lookup_accounts: 3,
  lookup_transfers: 4,
  get_account_transfers: 5,
  get_account_balances: 6,
} as const;
export type OperationName = keyof typeof Operation;

export const AccountFlags = {
  linked: 1 << 0,
  debits_must_not_exceed_credits: 1 << 1,
  credits_must_not_exceed_debits: 1 << 2,
  history: 1 << 3,
  imported: 1 << 4,
  closed: 1 << 5,
} as const;

export const TransferFlags = {
  linked: 1 << 0,
  pending: 1 << 1,
  post_pending_transfer: 1 << 2,
  void_pending_transfer: 1 << 3,
  balancing_debit: 1 << 4,
  balancing_credit: 1 << 5,
  closing_debit: 1 << 6,
  closing_credit: 1 << 7,
  imported: 1 << 8,
} as const;

export const AccountFilterFlags = {
  debits: 1 << 0,
  credits: 1 << 1,
  reversed: 1 << 2,
} as const;

/** Flag names to bits, e.g. flagsFromNames(TransferFlags, ['pending', 'linked']). */
export function flagsFromNames(map: Record<string, number>, names: readonly string[]): number {
  let bits = 0;
  for (const name of names) {
    if (!Object.hasOwn(map, name)) throw new Error(`unknown flag ${name}`);
    const bit = map[name];
    bits |= bit;
  }
  return bits;
}

/** Bits to flag names; bits with no name come back as `bit_N`. */
export function flagsToNames(map: Record<string, number>, bits: number): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const value = 1 << bit;
    if ((bits & value) === 0) continue;
    const name = Object.keys(map).find((key) => map[key] === value);
    names.push(name ?? `bit_${bit}`);
  }
  return names;
}

/** create_accounts results: TigerBeetle's names and numbers, plus QENEX's capacity code. */
export const CreateAccountResult = {
  ok: 0,
  linked_event_failed: 1,
  linked_event_chain_open: 2,
  imported_event_expected: 22,
  imported_event_not_expected: 23,
  timestamp_must_be_zero: 3,
  imported_event_timestamp_out_of_range: 24,
  imported_event_timestamp_must_not_advance: 25,
  reserved_field: 4,
  reserved_flag: 5,
  id_must_not_be_zero: 6,
  id_must_not_be_int_max: 7,
  exists_with_different_flags: 15,
  exists_with_different_user_data_128: 16,
  exists_with_different_user_data_64: 17,
  exists_with_different_user_data_32: 18,
  exists_with_different_ledger: 19,
  exists_with_different_code: 20,
  exists: 21,
  flags_are_mutually_exclusive: 8,
  debits_pending_must_be_zero: 9,
  debits_posted_must_be_zero: 10,
  credits_pending_must_be_zero: 11,
  credits_posted_must_be_zero: 12,
  ledger_must_not_be_zero: 13,
  code_must_not_be_zero: 14,
  imported_event_timestamp_must_not_regress: 26,
  accounts_full: 1000,
} as const;
export type CreateAccountResultName = keyof typeof CreateAccountResult;

/** create_transfers results, in TigerBeetle's order of precedence, plus QENEX's capacity codes. */
export const CreateTransferResult = {
  ok: 0,
  linked_event_failed: 1,
  linked_event_chain_open: 2,
  imported_event_expected: 56,
  imported_event_not_expected: 57,
  timestamp_must_be_zero: 3,
  imported_event_timestamp_out_of_range: 58,
  imported_event_timestamp_must_not_advance: 59,
  reserved_flag: 4,
  id_must_not_be_zero: 5,
  id_must_not_be_int_max: 6,
  exists_with_different_flags: 36,
  exists_with_different_pending_id: 40,
  exists_with_different_timeout: 44,
  exists_with_different_debit_account_id: 37,
  exists_with_different_credit_account_id: 38,
  exists_with_different_amount: 39,
  exists_with_different_user_data_128: 41,
  exists_with_different_user_data_64: 42,
  exists_with_different_user_data_32: 43,
  exists_with_different_ledger: 67,
  exists_with_different_code: 45,
  exists: 46,
  id_already_failed: 68,
  transfers_full: 1000,
  flags_are_mutually_exclusive: 7,
  debit_account_id_must_not_be_zero: 8,
  debit_account_id_must_not_be_int_max: 9,
  credit_account_id_must_not_be_zero: 10,
  credit_account_id_must_not_be_int_max: 11,
  accounts_must_be_different: 12,
  pending_id_must_be_zero: 13,
  pending_id_must_not_be_zero: 14,
  pending_id_must_not_be_int_max: 15,
  pending_id_must_be_different: 16,
  timeout_reserved_for_pending_transfer: 17,
  closing_transfer_must_be_pending: 64,
  ledger_must_not_be_zero: 19,
  code_must_not_be_zero: 20,
  debit_account_not_found: 21,
  credit_account_not_found: 22,
  accounts_must_have_the_same_ledger: 23,
  transfer_must_have_the_same_ledger_as_accounts: 24,
  pending_transfer_not_found: 25,
  pending_transfer_not_pending: 26,
  pending_transfer_has_different_debit_account_id: 27,
  pending_transfer_has_different_credit_account_id: 28,
  pending_transfer_has_different_ledger: 29,
  pending_transfer_has_different_code: 30,
  exceeds_pending_transfer_amount: 31,
  pending_transfer_has_different_amount: 32,
  pending_transfer_already_posted: 33,
  pending_transfer_already_voided: 34,
  pending_transfer_expired: 35,
  imported_event_timestamp_must_not_regress: 60,
  imported_event_timestamp_must_postdate_debit_account: 61,
  imported_event_timestamp_must_postdate_credit_account: 62,
  imported_event_timeout_must_be_zero: 63,
  debit_account_already_closed: 65,
  credit_account_already_closed: 66,
  overflows_debits_pending: 47,
  overflows_credits_pending: 48,
  overflows_debits_posted: 49,
  overflows_credits_posted: 50,
  overflows_debits: 51,
  overflows_credits: 52,
  overflows_timeout: 53,
  exceeds_credits: 54,
  exceeds_debits: 55,
  pending_full: 1001,
  history_full: 1002,
} as const;
export type CreateTransferResultName = keyof typeof CreateTransferResult;

/** Results whose failure is remembered per transfer id (TigerBeetle's transient errors). */
export const TRANSIENT_TRANSFER_RESULTS: readonly CreateTransferResultName[] = [
  'debit_account_not_found', 'credit_account_not_found', 'pending_transfer_not_found',
  'exceeds_credits', 'exceeds_debits', 'debit_account_already_closed', 'credit_account_already_closed',
];

function invert(map: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(map).map(([name, value]) => [value, name]));
}
const accountResultNames = invert(CreateAccountResult);
const transferResultNames = invert(CreateTransferResult);

/** snake_case name of a create_accounts result; success is `created` (TigerBeetle 0.17's name). */
export function createAccountResultName(code: number): string {
  if (code === 0) return 'created';
  return accountResultNames.get(code) ?? `unknown_${code}`;
}

/** snake_case name of a create_transfers result; success is `created`. */
export function createTransferResultName(code: number): string {
  if (code === 0) return 'created';
  return transferResultNames.get(code) ?? `unknown_${code}`;
}

export interface Account {
  id: bigint;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  reserved: number;
  ledger: number;
  code: number;
  flags: number;
  timestamp: bigint;
}

export interface Transfer {
  id: bigint;
  debit_account_id: bigint;
  credit_account_id: bigint;
  amount: bigint;
  pending_id: bigint;
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  timeout: number;
  ledger: number;
  code: number;
  flags: number;
  timestamp: bigint;
}

export interface AccountFilter {
  account_id: bigint;
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  code: number;
  timestamp_min: bigint;
  timestamp_max: bigint;
  limit: number;
  flags: number;
}

export interface AccountBalance {
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
  timestamp: bigint;
}

export interface CreateResult {
  result: number;
  timestamp: bigint;
}

export function account(fields: Partial<Account> & { id: bigint }): Account {
  return {
    debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n,
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, reserved: 0,
    ledger: 1, code: 1, flags: 0, timestamp: 0n, ...fields,
  };
}

export function transfer(fields: Partial<Transfer> & { id: bigint }): Transfer {
  return {
    debit_account_id: 0n, credit_account_id: 0n, amount: 0n, pending_id: 0n,
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, timeout: 0,
    ledger: 1, code: 1, flags: 0, timestamp: 0n, ...fields,
  };
}

export function accountFilter(fields: Partial<AccountFilter> & { account_id: bigint }): AccountFilter {
  return {
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, code: 0,
    timestamp_min: 0n, timestamp_max: 0n, limit: BATCH_EVENTS_MAX,
    flags: AccountFilterFlags.debits | AccountFilterFlags.credits, ...fields,
  };
}

function checkRange(name: string, value: bigint, max: bigint): void {
  if (value < 0n || value > max) throw new RangeError(`${name} ${value} out of range`);
}

function setU128(view: DataView, offset: number, value: bigint, name: string): void {
  checkRange(name, value, U128_MAX);
  view.setBigUint64(offset, value & U64_MAX, true);
  view.setBigUint64(offset + 8, value >> 64n, true);
}

function getU128(view: DataView, offset: number): bigint {
  return view.getBigUint64(offset, true) | (view.getBigUint64(offset + 8, true) << 64n);
}

/** A u32 or u16 field: an integer in range, or a RangeError naming the field
 *  (DataView would silently wrap it). */
function setSmall(view: DataView, offset: number, value: number, name: string, bytes: 2 | 4): void {
  const max = bytes === 4 ? 0xffff_ffff : 0xffff;
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} ${value} out of range 0..${max}`);
  if (bytes === 4) view.setUint32(offset, value, true);
  else view.setUint16(offset, value, true);
}

function setU64(view: DataView, offset: number, value: bigint, name: string): void {
  checkRange(name, value, U64_MAX);
  view.setBigUint64(offset, value, true);
}

export function writeAccount(view: DataView, offset: number, a: Account): void {
  setU128(view, offset, a.id, 'id');
  setU128(view, offset + 16, a.debits_pending, 'debits_pending');
  setU128(view, offset + 32, a.debits_posted, 'debits_posted');
  setU128(view, offset + 48, a.credits_pending, 'credits_pending');
  setU128(view, offset + 64, a.credits_posted, 'credits_posted');
  setU128(view, offset + 80, a.user_data_128, 'user_data_128');
  setU64(view, offset + 96, a.user_data_64, 'user_data_64');
  setSmall(view, offset + 104, a.user_data_32, 'user_data_32', 4);
  setSmall(view, offset + 108, a.reserved, 'reserved', 4);
  setSmall(view, offset + 112, a.ledger, 'ledger', 4);
  setSmall(view, offset + 116, a.code, 'code', 2);
  setSmall(view, offset + 118, a.flags, 'flags', 2);
  setU64(view, offset + 120, a.timestamp, 'timestamp');
}

export function readAccount(view: DataView, offset: number): Account {
  return {
    id: getU128(view, offset),
    debits_pending: getU128(view, offset + 16),
    debits_posted: getU128(view, offset + 32),
    credits_pending: getU128(view, offset + 48),
    credits_posted: getU128(view, offset + 64),
    user_data_128: getU128(view, offset + 80),
    user_data_64: view.getBigUint64(offset + 96, true),
    user_data_32: view.getUint32(offset + 104, true),
    reserved: view.getUint32(offset + 108, true),
    ledger: view.getUint32(offset + 112, true),
    code: view.getUint16(offset + 116, true),
    flags: view.getUint16(offset + 118, true),
    timestamp: view.getBigUint64(offset + 120, true),
  };
}

export function writeTransfer(view: DataView, offset: number, t: Transfer): void {
  setU128(view, offset, t.id, 'id');
  setU128(view, offset + 16, t.debit_account_id, 'debit_account_id');
  setU128(view, offset + 32, t.credit_account_id, 'credit_account_id');
  setU128(view, offset + 48, t.amount, 'amount');
  setU128(view, offset + 64, t.pending_id, 'pending_id');
  setU128(view, offset + 80, t.user_data_128, 'user_data_128');
  setU64(view, offset + 96, t.user_data_64, 'user_data_64');
  setSmall(view, offset + 104, t.user_data_32, 'user_data_32', 4);
  setSmall(view, offset + 108, t.timeout, 'timeout', 4);
  setSmall(view, offset + 112, t.ledger, 'ledger', 4);
  setSmall(view, offset + 116, t.code, 'code', 2);
  setSmall(view, offset + 118, t.flags, 'flags', 2);
  setU64(view, offset + 120, t.timestamp, 'timestamp');
}

export function readTransfer(view: DataView, offset: number): Transfer {
  return {
    id: getU128(view, offset),
    debit_account_id: getU128(view, offset + 16),
    credit_account_id: getU128(view, offset + 32),
    amount: getU128(view, offset + 48),
    pending_id: getU128(view, offset + 64),
    user_data_128: getU128(view, offset + 80),
    user_data_64: view.getBigUint64(offset + 96, true),
    user_data_32: view.getUint32(offset + 104, true),
    timeout: view.getUint32(offset + 108, true),
    ledger: view.getUint32(offset + 112, true),
    code: view.getUint16(offset + 116, true),
    flags: view.getUint16(offset + 118, true),
    timestamp: view.getBigUint64(offset + 120, true),
  };
}

export function writeAccountFilter(view: DataView, offset: number, f: AccountFilter): void {
  setU128(view, offset, f.account_id, 'account_id');
  setU128(view, offset + 16, f.user_data_128, 'user_data_128');
  setU64(view, offset + 32, f.user_data_64, 'user_data_64');
  setSmall(view, offset + 40, f.user_data_32, 'user_data_32', 4);
  setSmall(view, offset + 44, f.code, 'code', 2);
  // 46..104: reserved, zero.
  setU64(view, offset + 104, f.timestamp_min, 'timestamp_min');
  setU64(view, offset + 112, f.timestamp_max, 'timestamp_max');
  setSmall(view, offset + 120, f.limit, 'limit', 4);
  setSmall(view, offset + 124, f.flags, 'flags', 4);
}

export function readAccountBalance(view: DataView, offset: number): AccountBalance {
  return {
    debits_pending: getU128(view, offset),
    debits_posted: getU128(view, offset + 16),
    credits_pending: getU128(view, offset + 32),
    credits_posted: getU128(view, offset + 48),
    timestamp: view.getBigUint64(offset + 64, true),
  };
}

/** A request: the 8-byte header followed by `count` items of `itemBytes`. */
export function encodeRequest(operation: number, count: number, itemBytes: number,
  writeItem: (view: DataView, offset: number, index: number) => void): Uint8Array {
  if (count < 1 || count > BATCH_EVENTS_MAX) throw new RangeError(`count ${count} out of range`);
  const bytes = new Uint8Array(HEADER_BYTES + count * itemBytes);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, operation);
  view.setUint32(4, count, true);
  for (let i = 0; i < count; i++) writeItem(view, HEADER_BYTES + i * itemBytes, i);
  return bytes;
}

export function encodeAccounts(accounts: readonly Account[]): Uint8Array {
  return encodeRequest(Operation.create_accounts, accounts.length, RECORD_BYTES,
    (view, offset, i) => writeAccount(view, offset, accounts[i]));
}

export function encodeTransfers(transfers: readonly Transfer[]): Uint8Array {
  return encodeRequest(Operation.create_transfers, transfers.length, RECORD_BYTES,
    (view, offset, i) => writeTransfer(view, offset, transfers[i]));
}

export function encodeLookupAccounts(ids: readonly bigint[]): Uint8Array {
  return encodeRequest(Operation.lookup_accounts, ids.length, ID_BYTES,
    (view, offset, i) => setU128(view, offset, ids[i], 'id'));
}

export function encodeLookupTransfers(ids: readonly bigint[]): Uint8Array {
  return encodeRequest(Operation.lookup_transfers, ids.length, ID_BYTES,
    (view, offset, i) => setU128(view, offset, ids[i], 'id'));
}

export function encodeGetAccountTransfers(filter: AccountFilter): Uint8Array {
  return encodeRequest(Operation.get_account_transfers, 1, RECORD_BYTES,
    (view, offset) => writeAccountFilter(view, offset, filter));
}

export function encodeGetAccountBalances(filter: AccountFilter): Uint8Array {
  return encodeRequest(Operation.get_account_balances, 1, RECORD_BYTES,
    (view, offset) => writeAccountFilter(view, offset, filter));
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeCreateResults(bytes: Uint8Array): CreateResult[] {
  if (bytes.length % RESULT_BYTES !== 0) throw new Error(`results of ${bytes.length} bytes`);
  const view = viewOf(bytes);
  const results: CreateResult[] = [];
  for (let offset = 0; offset < bytes.length; offset += RESULT_BYTES) {
    results.push({ result: view.getUint32(offset, true), timestamp: view.getBigUint64(offset + 8, true) });
  }
  return results;
}

/**
 * Why a query reply is empty, from the second u32 of its header (the
 * ledger's queries.ts EMPTY_REASON_*): TigerBeetle answers an empty list
 * either way; the JSON API says which it was. null: not said (or records).
 */
export const EMPTY_REASONS: Readonly<Record<number, string>> = { 1: 'account_not_found', 2: 'history_not_kept' };

export function emptyReason(bytes: Uint8Array): string | null {
  if (bytes.length < HEADER_BYTES) return null;
  const view = viewOf(bytes);
  return view.getUint32(0, true) === 0 ? EMPTY_REASONS[view.getUint32(4, true)] ?? null : null;
}

function decodeRecords<T>(bytes: Uint8Array, read: (view: DataView, offset: number) => T): T[] {
  const view = viewOf(bytes);
  const count = view.getUint32(0, true);
  const why = view.getUint32(4, true);
  if (why !== 0 && (count !== 0 || EMPTY_REASONS[why] === undefined)) throw new Error(`reply header: reason ${why} for ${count} records`);
  if (bytes.length !== HEADER_BYTES + count * RECORD_BYTES) {
    throw new Error(`reply of ${bytes.length} bytes for ${count} records`);
  }
  const records: T[] = [];
  for (let i = 0; i < count; i++) records.push(read(view, HEADER_BYTES + i * RECORD_BYTES));
  return records;
}

export function decodeAccounts(bytes: Uint8Array): Account[] {
  return decodeRecords(bytes, readAccount);
}

export function decodeTransfers(bytes: Uint8Array): Transfer[] {
  return decodeRecords(bytes, readTransfer);
}

export function decodeAccountBalances(bytes: Uint8Array): AccountBalance[] {
  return decodeRecords(bytes, readAccountBalance);
}

let idLastMs = 0;
let idLastRandom = 0n;

/**
 * A TigerBeetle-style time-based id: the high 48 bits are milliseconds since
 * the epoch, the low 80 bits random; ids made within one millisecond
 * increase by one, so ids sort by creation order on this process.
 */
export function id(): bigint {
  let ms = Date.now();
  if (ms <= idLastMs) {
    ms = idLastMs;
    idLastRandom += 1n;
    if (idLastRandom >> 80n !== 0n) throw new Error('id: random part exhausted within one millisecond');
  } else {
    const random = new Uint8Array(10);
    randomFillSync(random);
    idLastRandom = random.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
    idLastMs = ms;
  }
  return (BigInt(ms) << 80n) | idLastRandom;
}

/** The minimal transport a LedgerClient needs (FrameClient from ./frames.ts fits). */
export interface LedgerTransport {
  call(service: string, payload: Uint8Array, timeoutMs?: number): Promise<Buffer>;
}

/**
 * Typed calls to the ledger over any frame transport. Each call is one
 * request frame; replies come only after the request's batch is durable.
 * Through the default image the ledger is reached as service 'gateway' on a
 * connection that presented an API key (FrameClient.authenticate): the
 * gateway checks the key's role and ledger grants and relays the request.
 * 'ledger' reaches the service directly, which only an image that gives the
 * ledger the "net" capability allows.
 */
export class LedgerClient {
  constructor(private readonly transport: LedgerTransport, private readonly service = 'ledger') {}

  async createAccounts(accounts: readonly Account[]): Promise<CreateResult[]> {
    return decodeCreateResults(await this.transport.call(this.service, encodeAccounts(accounts)));
  }

  async createTransfers(transfers: readonly Transfer[]): Promise<CreateResult[]> {
    return decodeCreateResults(await this.transport.call(this.service, encodeTransfers(transfers)));
  }

  async lookupAccounts(ids: readonly bigint[]): Promise<Account[]> {
    return decodeAccounts(await this.transport.call(this.service, encodeLookupAccounts(ids)));
  }

  async lookupTransfers(ids: readonly bigint[]): Promise<Transfer[]> {
    return decodeTransfers(await this.transport.call(this.service, encodeLookupTransfers(ids)));
  }

  async getAccountTransfers(filter: AccountFilter): Promise<Transfer[]> {
    return decodeTransfers(await this.transport.call(this.service, encodeGetAccountTransfers(filter)));
  }

  async getAccountBalances(filter: AccountFilter): Promise<AccountBalance[]> {
    return decodeAccountBalances(await this.transport.call(this.service, encodeGetAccountBalances(filter)));
  }
}
